//! Command-line arguments (clap derive). The command and flag names here are a public interface:
//! people's scripts rely on them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use tapin_app::core::model::{Channel, GoalKind, GoalStatus, Initiator, Reason, Risk};

/// An argument that stands for a domain enum: the values clap accepts (kebab-case), each the
/// domain variant of the same name. The domain enums are open (they keep a variant a newer tapin
/// wrote), so clap cannot derive on them directly.
macro_rules! domain_arg {
    ($arg:ident => $domain:ident { $($(#[$doc:meta])* $variant:ident,)+ }) => {
        #[derive(Debug, Clone, Copy, ValueEnum)]
        pub(crate) enum $arg {
            $($(#[$doc])* $variant,)+
        }

        impl From<$arg> for $domain {
            fn from(arg: $arg) -> Self {
                match arg {
                    $($arg::$variant => $domain::$variant,)+
                }
            }
        }
    };
}

/// tapin: nurture reciprocal relationships — local-first, peer-to-peer, private by default.
#[derive(Debug, Parser)]
#[command(name = "tapin", version, about, propagate_version = true)]
pub(crate) struct Cli {
    /// The data directory (one per person). Defaults to the platform's data directory.
    #[arg(long, global = true, env = "TAPIN_HOME", value_name = "DIR")]
    pub(crate) home: Option<PathBuf>,

    /// Print one JSON document on stdout instead of text (messages go to stderr).
    #[arg(long, global = true)]
    pub(crate) json: bool,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create your home: your identity and this device's key.
    Init {
        /// Your display name, as friends will see it.
        #[arg(long)]
        name: String,
        /// What to call this device, as friends will see it (default: this machine's host name).
        #[arg(long)]
        device: Option<String>,
        /// The UDP port this home listens on for friends (default: a random port, kept).
        #[arg(long)]
        port: Option<u16>,
        /// The address to listen on: 0.0.0.0 (every interface) or 127.0.0.1 (this machine only).
        #[arg(long, default_value = "0.0.0.0")]
        bind: std::net::IpAddr,
        /// Relays for reaching friends across the internet: none, default or a URL.
        #[arg(long, default_value = "none")]
        relay: String,
        /// Local-network discovery (mDNS), kept for this home.
        #[arg(long, default_value = "listen", conflicts_with = "no_mdns")]
        mdns: MdnsArg,
        /// The same as `--mdns off`.
        #[arg(long)]
        no_mdns: bool,
    },
    /// Invite a friend to pair: prints an invitation (text and QR code) and waits for them.
    Invite {
        /// The relationship to pair (an existing person, or the name for a new one).
        #[arg(long = "for", value_name = "NAME")]
        for_person: Option<String>,
        /// How long the invitation stays valid: 10m, 1h, …
        #[arg(long, default_value = "10m", value_name = "DURATION")]
        expires: String,
        /// Accept the safety code without asking (for scripts).
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        net: NetArgs,
    },
    /// Join a friend's invitation.
    Join {
        /// The invitation, as printed by `tapin invite` (line breaks and spaces in it do not
        /// matter), or `-` to paste it on standard input.
        ticket: String,
        /// The relationship to pair (an existing person, or the name for a new one; default:
        /// the inviter's name).
        #[arg(long = "as", value_name = "NAME")]
        as_person: Option<String>,
        /// Accept the safety code without asking (for scripts).
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        net: NetArgs,
    },
    /// Sync with paired friends that can be reached now, and report what moved.
    Sync {
        /// Only this friend (exits non-zero if they cannot be reached).
        person: Option<String>,
        #[command(flatten)]
        net: NetArgs,
    },
    /// Stay online: accept paired friends, dial them, and push changes as they happen, until
    /// Ctrl-C or SIGTERM.
    Serve {
        #[command(flatten)]
        net: NetArgs,
    },
    /// The daily glance: rituals due, people past their rhythm, goals ending soon, check-ins worth
    /// having, and one long-lost relationship worth reflecting on.
    Today,
    /// Quiet the nudges about someone for a while (logging an interaction also resets the clock),
    /// or with --off let them come back now.
    Snooze {
        /// The relationship.
        person: String,
        /// For how long: 3d, 1w, 2m … or until a date or a phrase, read forwards ("friday" is
        /// the coming one).
        #[arg(value_name = "FOR", required_unless_present = "off")]
        duration: Option<String>,
        /// Lift the snooze: nudges about them come back now.
        #[arg(long, conflicts_with = "duration")]
        off: bool,
    },
    /// One relationship at a glance: your side and what they shared with you.
    Show {
        /// The relationship.
        person: String,
    },
    /// Write one relationship as a self-contained HTML page: the reciprocity trend as a chart,
    /// goals and their progress, and the ritual calendar. Opens offline in any browser.
    Report {
        /// The relationship.
        person: String,
        /// The HTML file to write (replaced atomically if it exists), or `-` for standard output.
        #[arg(long, value_name = "FILE")]
        html: PathBuf,
    },
    /// End the pairing with a friend: nothing syncs again. What they already received stays
    /// with them.
    ///
    /// By default their tapin is told, at the next contact between your devices: their home then
    /// says "NAME ended the pairing on DAY" (in `show`, `people` and `sync`), stops trying to
    /// sync, and keeps what it already has. The notice is signed with your key and says only that
    /// you ended it, and when.
    ///
    /// With --quietly nothing is sent: your devices refuse theirs as they would any device they do
    /// not know, and their tapin says only that your device cannot be reached now, just as when
    /// it is offline. Their home keeps showing the pairing, and keeps trying now and then.
    #[command(verbatim_doc_comment)]
    Unpair {
        /// The relationship.
        person: String,
        /// End it without telling them: to them your devices look offline.
        #[arg(long)]
        quietly: bool,
    },
    /// Show who you are on this device.
    Whoami,
    /// Add or change a relationship.
    #[command(subcommand)]
    Person(PersonCommand),
    /// List your relationships.
    People {
        /// Include archived and ended relationships.
        #[arg(long)]
        all: bool,
    },
    /// Reflect on a relationship with the four paired questions (private).
    Reflect(ReflectArgs),
    /// Goals and their steps.
    #[command(subcommand)]
    Goal(GoalCommand),
    /// Rituals: recurring, simple time together.
    #[command(subcommand)]
    Ritual(RitualCommand),
    /// Record a check-in: how it felt, what went well, what to change, goals reviewed.
    Checkin(CheckinArgs),
    /// Log an interaction: who reached out, how, and why.
    Log(LogArgs),
    /// Write a thank-you note (shared with them unless --private).
    Thanks(NoteArgs),
    /// Write down a boundary you want them to know (shared unless --private).
    Boundary(NoteArgs),
    /// Everything recorded about one relationship, newest first.
    History {
        /// The relationship.
        person: String,
        /// How many items at most.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// The private journal. Entries never leave your own devices.
    #[command(subcommand)]
    Journal(JournalCommand),
    /// Change any record by its id, as `history`, `journal list`, `goal list`, `ritual list` and
    /// `people` show it. With no flags, opens your editor on its main text (or reads the new
    /// text from standard input when it is not a terminal).
    Edit(EditArgs),
    /// Delete any record by its id (a relationship too, once unpaired), after asking.
    #[command(after_help = crate::commands::records::delete_help())]
    Delete {
        /// The record's id, or a unique prefix of it (at least 4 characters).
        id: String,
        /// Delete without asking (required when there is no terminal to ask on).
        #[arg(long)]
        yes: bool,
    },
    /// Export everything: JSON or Markdown, or each document as a standard .automerge file.
    Export(ExportArgs),
    /// Import a JSON export. Importing the same export twice adds nothing twice.
    Import {
        /// The export file, or - for standard input.
        file: PathBuf,
    },
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Run the demo: a home with relationships, goals, rituals and a journal, end to end.
    Demo {
        /// Keep what the demo writes in DIR (the home is DIR/maya) instead of a temporary
        /// directory that is removed afterwards.
        #[arg(long, value_name = "DIR")]
        keep: Option<PathBuf>,
    },
}

/// Network settings for one command, overriding the home's (set at `tapin init`).
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct NetArgs {
    /// Listen on this address instead of the home's setting.
    #[arg(long, env = "TAPIN_BIND", value_name = "IP")]
    pub(crate) bind: Option<std::net::IpAddr>,
    /// Listen on this port instead of the home's (0: any free port).
    #[arg(long, env = "TAPIN_PORT")]
    pub(crate) port: Option<u16>,
    /// Relays: none, default or a URL.
    #[arg(long, env = "TAPIN_RELAY")]
    pub(crate) relay: Option<String>,
    /// Local-network discovery (mDNS) for this command instead of the home's setting.
    #[arg(long, env = "TAPIN_MDNS")]
    pub(crate) mdns: Option<MdnsArg>,
    /// Also trust these root certificates (a PEM file) for the relay: a self-hosted relay
    /// whose certificate comes from your own CA.
    #[arg(long, env = "TAPIN_RELAY_CA", value_name = "FILE")]
    pub(crate) relay_ca: Option<PathBuf>,
}

impl NetArgs {
    /// These flags as the engine takes them.
    pub(crate) fn overrides(&self) -> tapin_app::NetOverrides {
        tapin_app::NetOverrides {
            bind: self.bind,
            port: self.port,
            relay: self.relay.clone(),
            mdns: self.mdns.map(tapin_app::Mdns::from),
            relay_ca: self.relay_ca.clone(),
            // For tests only: shorter network waits (README, "Testing").
            timeouts: std::env::var("TAPIN_TIMEOUTS").ok(),
        }
    }
}

/// `--mdns`: local-network discovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum MdnsArg {
    /// Look for friends' devices, and announce this one (its id and addresses) to everyone on
    /// the network: for a network you trust, such as home.
    On,
    /// Look for friends' devices that announce themselves; never announce this one.
    Listen,
    /// Neither.
    Off,
}

impl From<MdnsArg> for tapin_app::Mdns {
    fn from(m: MdnsArg) -> Self {
        match m {
            MdnsArg::On => tapin_app::Mdns::On,
            MdnsArg::Listen => tapin_app::Mdns::Listen,
            MdnsArg::Off => tapin_app::Mdns::Off,
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum PersonCommand {
    /// Add a relationship (a paired device is not needed).
    Add {
        /// Their name.
        name: String,
        #[command(flatten)]
        settings: PersonSettings,
    },
    /// Change a relationship's name, importance, risk or rhythm.
    Edit {
        /// The relationship.
        person: String,
        /// A new name.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        settings: PersonSettings,
        /// Remove the staying-in-touch rhythm.
        #[arg(long, conflicts_with_all = ["rhythm", "max"])]
        no_rhythm: bool,
    },
    /// Archive a relationship: it stays, nudges stop.
    Archive {
        /// The relationship.
        person: String,
    },
    /// Mark a relationship as ended. Its history stays.
    End {
        /// The relationship.
        person: String,
    },
    /// Make an archived or ended relationship active again.
    Restore {
        /// The relationship.
        person: String,
    },
    /// Delete a relationship and everything recorded about it, after saying what goes with it.
    /// Unpair first if you are paired.
    #[command(after_help = crate::commands::records::person_delete_help())]
    Delete {
        /// The relationship.
        person: String,
        /// Delete without asking (required when there is no terminal to ask on).
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Args)]
pub(crate) struct PersonSettings {
    /// How much it matters, 1 to 5.
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=5))]
    pub(crate) importance: Option<u8>,
    /// How likely it is to weaken.
    #[arg(long)]
    pub(crate) risk: Option<RiskArg>,
    /// Ideal interval between contacts: 10d, 2w, 3m, 1y.
    #[arg(long, value_name = "INTERVAL")]
    pub(crate) rhythm: Option<String>,
    /// Maximum interval between contacts (defaults to three times the rhythm).
    #[arg(long, value_name = "INTERVAL", requires = "rhythm")]
    pub(crate) max: Option<String>,
}

domain_arg! {
    RiskArg => Risk {
        Low,
        Medium,
        High,
    }
}

#[derive(Debug, Args)]
pub(crate) struct ReflectArgs {
    /// The relationship.
    pub(crate) person: String,
    /// 1A: Is this who I (want to) call when I'm deeply stressed?
    #[arg(long)]
    pub(crate) q1a: Option<String>,
    /// 1B: Do I make myself available to them in a similar state?
    #[arg(long)]
    pub(crate) q1b: Option<String>,
    /// 2A: Is their response to me typically empathetic and supportive?
    #[arg(long)]
    pub(crate) q2a: Option<String>,
    /// 2B: Am I able to respond the same way when they come to me?
    #[arg(long)]
    pub(crate) q2b: Option<String>,
    /// 3A: Do they reach out just because?
    #[arg(long)]
    pub(crate) q3a: Option<String>,
    /// 3B: How often do I do the same for them?
    #[arg(long)]
    pub(crate) q3b: Option<String>,
    /// 4A: How do I usually feel after time around them?
    #[arg(long)]
    pub(crate) q4a: Option<String>,
    /// 4B: How do they seem to feel after time around me?
    #[arg(long)]
    pub(crate) q4b: Option<String>,
    /// A free note.
    #[arg(long, default_value = "", hide_default_value = true)]
    pub(crate) note: String,
}

#[derive(Debug, Subcommand)]
pub(crate) enum GoalCommand {
    /// Set a goal for a relationship (private unless --share).
    Add {
        /// The relationship.
        person: String,
        /// What: "communicate more openly".
        title: String,
        /// Why it matters.
        #[arg(long, default_value = "", hide_default_value = true)]
        why: String,
        /// What kind of goal.
        #[arg(long, value_enum, default_value = "other")]
        kind: GoalKindArg,
        /// The end of its timeframe: YYYY-MM-DD or a phrase, read forwards ("friday" is the
        /// coming one, "next month", "in 2 weeks"). A past day is kept, with a warning.
        #[arg(long, value_name = "DATE")]
        by: Option<String>,
        /// An action step (repeatable).
        #[arg(long = "step", value_name = "TEXT")]
        steps: Vec<String>,
        /// Share it with them (written to your shared side).
        #[arg(long)]
        share: bool,
    },
    /// List goals, for one relationship or all: yours and the friends' goals you took up (a
    /// mutual goal once, with both parts), overdue ones marked.
    List {
        /// The relationship.
        person: Option<String>,
        /// Include achieved and dropped goals.
        #[arg(long)]
        all: bool,
    },
    /// Add, complete or reopen a goal's steps.
    #[command(subcommand)]
    Step(StepCommand),
    /// Reassess a goal: active, achieved, adjusted or dropped. On a friend's goal you took up,
    /// your part of it: achieved, active again, or dropped (which leaves it).
    Status {
        /// The goal (id or unique id prefix).
        goal: String,
        /// Its new status.
        #[arg(value_enum)]
        status: GoalStatusArg,
        /// A new title, when adjusting it.
        #[arg(long)]
        title: Option<String>,
        /// A new end of its timeframe (as for `goal add --by`).
        #[arg(long, value_name = "DATE")]
        by: Option<String>,
    },
    /// Share a private goal with them, or with --private take a shared goal back home.
    /// (What they already received stays on their devices.)
    Share {
        /// The goal.
        goal: String,
        /// Move it back to your private records.
        #[arg(long)]
        private: bool,
    },
    /// Take up a goal a friend shared: it becomes a mutual goal once synced. Writes only your
    /// side (a record that refers to their goal).
    Join {
        /// The friend's goal (id prefix, as `tapin show` lists it).
        goal: String,
    },
    /// Leave a mutual goal you took up.
    Leave {
        /// The friend's goal (id prefix).
        goal: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum StepCommand {
    /// Add a step to a goal.
    Add {
        /// The goal.
        goal: String,
        /// The step.
        text: String,
    },
    /// Mark a step done (by its number in `goal list`, or its id).
    Done {
        /// The goal.
        goal: String,
        /// The step's number or id.
        step: String,
    },
    /// Mark a step not done.
    Undo {
        /// The goal.
        goal: String,
        /// The step's number or id.
        step: String,
    },
}

domain_arg! {
    GoalKindArg => GoalKind {
        EmotionalSupport,
        SharedExperience,
        PracticalHelp,
        Other,
    }
}

domain_arg! {
    GoalStatusArg => GoalStatus {
        Active,
        Achieved,
        Adjusted,
        Dropped,
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum RitualCommand {
    /// Add a ritual (private unless --share).
    Add {
        /// The relationship.
        person: String,
        /// What: "one-on-one time".
        title: String,
        /// Monthly on this day (1–31; short months use their last day).
        #[arg(long, value_name = "N", group = "recurrence",
              value_parser = clap::value_parser!(u8).range(1..=31))]
        monthly_on: Option<u8>,
        /// Weekly on this weekday (monday … sunday).
        #[arg(long, value_name = "DAY", group = "recurrence")]
        weekly_on: Option<String>,
        /// Every N days.
        #[arg(long, value_name = "N", group = "recurrence",
              value_parser = clap::value_parser!(u32).range(1..=3650))]
        every: Option<u32>,
        /// About how long, in minutes.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1440))]
        minutes: Option<u32>,
        /// A guideline that keeps it easy (repeatable): "no vehicle travel".
        #[arg(long = "guideline", value_name = "TEXT")]
        guidelines: Vec<String>,
        /// The first day it applies (default today): YYYY-MM-DD or a phrase, read forwards
        /// ("monday" is the coming one). A past day is kept, with a warning.
        #[arg(long, value_name = "DATE")]
        start: Option<String>,
        /// Share it with them.
        #[arg(long)]
        share: bool,
    },
    /// Record that a ritual happened.
    Done {
        /// The ritual (id or unique id prefix).
        ritual: String,
        /// The day it happened (default today): YYYY-MM-DD or a phrase, read backwards
        /// ("yesterday", "saturday" is the last one). Never in the future.
        #[arg(long, value_name = "DATE")]
        on: Option<String>,
    },
    /// Take back a day recorded by mistake.
    Undo {
        /// The ritual (id or unique id prefix).
        ritual: String,
        /// The day to take back (default today).
        #[arg(long, value_name = "DATE")]
        on: Option<String>,
    },
    /// List rituals with their next due date and streak.
    List {
        /// The relationship.
        person: Option<String>,
    },
    /// Retire a ritual. Its history stays.
    Retire {
        /// The ritual.
        ritual: String,
    },
    /// Change a ritual: its title, rhythm, length, guidelines or first day.
    Edit {
        /// The ritual (id or unique id prefix).
        ritual: String,
        /// A new title.
        #[arg(long)]
        title: Option<String>,
        #[command(flatten)]
        fields: RitualFields,
    },
}

/// The fields of a ritual an edit can change (each left as it is when not given).
#[derive(Debug, Args)]
pub(crate) struct RitualFields {
    /// Monthly on this day (1–31; short months use their last day).
    #[arg(long, value_name = "N", conflicts_with_all = ["weekly_on", "every"],
          value_parser = clap::value_parser!(u8).range(1..=31))]
    pub(crate) monthly_on: Option<u8>,
    /// Weekly on this weekday (monday … sunday).
    #[arg(long, value_name = "DAY", conflicts_with = "every")]
    pub(crate) weekly_on: Option<String>,
    /// Every N days.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub(crate) every: Option<u32>,
    /// About how long, in minutes.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1440))]
    pub(crate) minutes: Option<u32>,
    /// A guideline (repeatable); the ones given replace the old ones.
    #[arg(long = "guideline", value_name = "TEXT")]
    pub(crate) guidelines: Vec<String>,
    /// The first day it counts from (not after a day it was kept).
    #[arg(long, value_name = "DATE")]
    pub(crate) start: Option<String>,
}

/// `tapin edit ID`: the fields of every kind of record; each applies to the kinds it names.
#[derive(Debug, Args)]
pub(crate) struct EditArgs {
    /// The record's id, or a unique prefix of it (at least 4 characters).
    pub(crate) id: String,
    /// The main text: a thanks note's or boundary's text, an interaction's or reflection's note,
    /// a check-in's "went well", a goal's or ritual's title, a journal entry, a person's name.
    #[arg(long, visible_aliases = ["note", "title", "name", "went-well"])]
    pub(crate) text: Option<String>,
    /// The day (interactions, thanks, check-ins).
    #[arg(long, value_name = "DATE")]
    pub(crate) on: Option<String>,
    /// Who reached out, me or them (interactions); the end of its timeframe, a date (goals).
    #[arg(long, value_name = "WHO|DATE")]
    pub(crate) by: Option<String>,
    /// How (interactions).
    #[arg(long, value_enum)]
    pub(crate) via: Option<ChannelArg>,
    /// Why (interactions).
    #[arg(long, value_enum)]
    pub(crate) reason: Option<ReasonArg>,
    /// How it felt, 1 to 5 (check-ins).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=5))]
    pub(crate) rating: Option<u8>,
    /// What to change (check-ins).
    #[arg(long)]
    pub(crate) to_change: Option<String>,
    /// Why it matters (goals).
    #[arg(long)]
    pub(crate) why: Option<String>,
    #[command(flatten, next_help_heading = "Rituals")]
    pub(crate) ritual: RitualFields,
}

#[derive(Debug, Args)]
pub(crate) struct CheckinArgs {
    /// The relationship.
    pub(crate) person: String,
    /// How it felt, 1 to 5.
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=5))]
    pub(crate) rating: u8,
    /// What went well.
    #[arg(long, default_value = "", hide_default_value = true)]
    pub(crate) went_well: String,
    /// What to change.
    #[arg(long, default_value = "", hide_default_value = true)]
    pub(crate) to_change: String,
    /// Review a goal: GOAL=STATUS (repeatable), e.g. 3fa2=achieved. Updates the goal too.
    #[arg(long = "review", value_name = "GOAL=STATUS")]
    pub(crate) reviews: Vec<String>,
    /// A principle it relates to (repeatable): appreciation, trust, …
    #[arg(long = "principle", value_name = "PRINCIPLE")]
    pub(crate) principles: Vec<String>,
    /// The day it happened (default today): YYYY-MM-DD or a phrase, read backwards ("yesterday",
    /// "friday" is the last one, "3 days ago"). Never in the future.
    #[arg(long, value_name = "DATE")]
    pub(crate) on: Option<String>,
    /// Share it with them.
    #[arg(long)]
    pub(crate) share: bool,
}

#[derive(Debug, Args)]
pub(crate) struct LogArgs {
    /// The relationship.
    pub(crate) person: String,
    /// Who reached out.
    #[arg(long, value_enum)]
    pub(crate) by: InitiatorArg,
    /// How.
    #[arg(long, value_enum, default_value = "other")]
    pub(crate) via: ChannelArg,
    /// Why.
    #[arg(long, value_enum, default_value = "other")]
    pub(crate) reason: ReasonArg,
    /// The day it happened (default today): YYYY-MM-DD or a phrase, read backwards ("yesterday",
    /// "friday" is the last one, "3 days ago"). Never in the future.
    #[arg(long, value_name = "DATE")]
    pub(crate) on: Option<String>,
    /// A note.
    #[arg(long, default_value = "", hide_default_value = true)]
    pub(crate) note: String,
    /// Keep it in your private records instead of your shared side.
    #[arg(long)]
    pub(crate) private: bool,
}

domain_arg! {
    InitiatorArg => Initiator {
        Me,
        Them,
    }
}

domain_arg! {
    ChannelArg => Channel {
        Call,
        Video,
        Text,
        InPerson,
        Letter,
        Other,
    }
}

domain_arg! {
    ReasonArg => Reason {
        JustBecause,
        Support,
        Plan,
        Celebration,
        Other,
    }
}

#[derive(Debug, Args)]
pub(crate) struct NoteArgs {
    /// The relationship.
    pub(crate) person: String,
    /// The note.
    pub(crate) text: String,
    /// The day it was given or set (default today): YYYY-MM-DD or a phrase, read backwards
    /// ("yesterday", "friday" is the last one, "3 days ago"). Never in the future.
    #[arg(long, value_name = "DATE")]
    pub(crate) on: Option<String>,
    /// Keep it private instead of sharing it with them.
    #[arg(long)]
    pub(crate) private: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum JournalCommand {
    /// Write an entry. With no TEXT, opens $VISUAL or $EDITOR (else editor, nano or vi), or reads
    /// standard input when it is not a terminal, so private words stay out of shell history.
    Add {
        /// The entry. @tags in it become tags.
        text: Option<String>,
        /// Who it is about (repeatable).
        #[arg(long = "about", value_name = "PERSON")]
        about: Vec<String>,
        /// A tag (repeatable), in addition to @tags in the text.
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
        /// Star it.
        #[arg(long)]
        star: bool,
    },
    /// List entries, newest first.
    List {
        /// Only entries about this person.
        #[arg(long, value_name = "PERSON")]
        about: Option<String>,
        /// Only entries with this tag.
        #[arg(long)]
        tag: Option<String>,
        /// Only starred entries.
        #[arg(long)]
        starred: bool,
        /// How many at most.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Search entries: words must all appear; @tag must be a tag.
    Search {
        /// The query, e.g. "@work tired".
        query: Vec<String>,
        /// Only entries about this person.
        #[arg(long, value_name = "PERSON")]
        about: Option<String>,
        /// Only starred entries.
        #[arg(long)]
        starred: bool,
        /// How many at most.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Star an entry.
    Star {
        /// The entry (id or unique id prefix).
        entry: String,
    },
    /// Remove the star from an entry.
    Unstar {
        /// The entry.
        entry: String,
    },
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// What to write.
    #[arg(long, value_enum)]
    pub(crate) format: ExportFormat,
    /// Where: a file for json and markdown (default stdout), a directory for automerge.
    #[arg(long, value_name = "PATH")]
    pub(crate) out: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ExportFormat {
    Json,
    Markdown,
    Automerge,
}
