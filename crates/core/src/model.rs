//! The records a person keeps, as they are stored in automerge documents.
//!
//! Each type derives autosurgeon's [`Reconcile`] and [`Hydrate`] (to and from the document) and
//! serde (for the JSON export and `--json` output). Fields added after the first release carry
//! `#[autosurgeon(missing = ...)]` so older documents still hydrate.
//!
//! Where a record lives decides who may see it, not a field on the record: the same
//! [`SideRecords`] shape is used for a relationship's shared side document and for its private
//! records inside the private document (see [`crate::docs`]).

use std::collections::BTreeMap;

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use crate::ids::Id;
use crate::time::{Day, Interval, Timestamp};

/// One relationship a person wants to nurture. It exists with or without a paired device.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Relationship {
    /// The name the person uses for them.
    pub name: String,
    /// How much it matters, 1 (a little) to 5 (most).
    pub importance: u8,
    /// How likely it is to weaken.
    pub risk: Risk,
    /// The ideal and maximum interval between contacts, if the person set one.
    pub rhythm: Option<Rhythm>,
    /// Active, archived or ended.
    pub status: RelationshipStatus,
    /// When it was added.
    pub created: Timestamp,
    /// Nudges about this relationship are quiet until this day.
    #[autosurgeon(missing = "Option::default")]
    #[serde(default)]
    pub snoozed_until: Option<Day>,
    /// The friend's identity and devices, once paired.
    #[autosurgeon(missing = "Option::default")]
    #[serde(default)]
    pub peer: Option<Peer>,
}

impl Relationship {
    /// The friend's devices allowed to connect: none unless paired and not unpaired since.
    pub fn paired_devices(&self) -> impl Iterator<Item = (&str, &PeerDevice)> {
        self.peer
            .iter()
            .filter(|p| p.unpaired.is_none())
            .flat_map(|p| p.devices.iter().map(|(id, d)| (id.as_str(), d)))
    }

    /// Whether the relationship is currently paired.
    pub fn is_paired(&self) -> bool {
        self.peer.as_ref().is_some_and(|p| p.unpaired.is_none())
    }
}

/// The friend on the other side of a paired relationship.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Peer {
    /// Their person key, hex.
    pub person: String,
    /// Their display name, as they gave it.
    pub name: String,
    /// Their devices, by device key (hex).
    pub devices: BTreeMap<String, PeerDevice>,
    /// When the pairing happened.
    pub paired: Timestamp,
    /// When this side ended the pairing; nothing syncs after it.
    pub unpaired: Option<Timestamp>,
}

/// One of the friend's devices.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct PeerDevice {
    /// What they call it.
    pub name: String,
    /// Its certificate from their person key, hex (checked when it was added).
    pub cert: String,
    /// The addresses it was last known at.
    pub addrs: Vec<String>,
    /// When it was added.
    pub added: Timestamp,
    /// The URL of its home relay, when it uses one (learned at pairing, kept current by sync).
    #[autosurgeon(missing = "Option::default")]
    #[serde(default)]
    pub relay: Option<String>,
}

/// How likely a relationship is to weaken: neglect, imbalance, distance.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Reconcile,
    Hydrate,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    /// Unlikely to weaken.
    Low,
    /// Could weaken.
    Medium,
    /// Likely to weaken without attention.
    High,
}

/// Where a relationship stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Reconcile, Hydrate, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RelationshipStatus {
    /// Being nurtured.
    Active,
    /// Set aside for now; hidden from nudges.
    Archived,
    /// Ended, after open dialogue showed it is no longer right. Its history stays.
    Ended,
}

/// The staying-in-touch rhythm of a relationship.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Rhythm {
    /// After this long without contact the relationship is due.
    pub ideal: Interval,
    /// After this long without contact it is overdue.
    pub max: Interval,
}

/// One of the four paired reflection questions, answered.
#[derive(Debug, Clone, PartialEq, Eq, Default, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct PairedAnswer {
    /// "A": how the other person shows up for me.
    pub about_them: String,
    /// "B": how I show up for them.
    pub about_me: String,
}

/// A reflection on one relationship: the four paired questions, answered at one time.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Reflection {
    /// The relationship reflected on.
    pub relationship: Id,
    /// When.
    pub at: Timestamp,
    /// Answers to questions 1–4, in order (always four; a missing one reads as unanswered).
    pub answers: Vec<PairedAnswer>,
    /// A free note.
    pub note: String,
}

impl Reflection {
    /// The answer to question `n` (1–4); unanswered if missing.
    pub fn answer(&self, n: usize) -> PairedAnswer {
        n.checked_sub(1)
            .and_then(|i| self.answers.get(i))
            .cloned()
            .unwrap_or_default()
    }
}

/// The four paired questions, in the words people are asked them (A about them, B about me).
pub const QUESTIONS: [(&str, &str); 4] = [
    (
        "Is this who I (want to) call when I'm deeply stressed or need attention right away?",
        "Do I make myself available to them when they are in a similar state?",
    ),
    (
        "Is their response to me typically empathetic and supportive?",
        "Am I able to respond the same way when they come to me for help?",
    ),
    (
        "Do they reach out just because — to brighten my day, or to let me know I'm on their mind?",
        "How often do I do the same for them?",
    ),
    (
        "How do I usually feel after spending time around them?",
        "What sense do I have of how they feel after spending time around me?",
    ),
];

/// What a person wants from a relationship through a goal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Reconcile, Hydrate, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GoalKind {
    /// Emotional support.
    EmotionalSupport,
    /// Shared experiences.
    SharedExperience,
    /// Practical help.
    PracticalHelp,
    /// Anything else.
    Other,
}

/// Where a goal stands after the last reassessment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Reconcile, Hydrate, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GoalStatus {
    /// Being worked on.
    Active,
    /// Reached — worth celebrating.
    Achieved,
    /// Reworked and still being worked on.
    Adjusted,
    /// Let go.
    Dropped,
}

impl GoalStatus {
    /// Whether the goal is still in play.
    pub fn is_open(self) -> bool {
        matches!(self, GoalStatus::Active | GoalStatus::Adjusted)
    }
}

/// A concrete aim for one relationship.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Goal {
    /// What: "communicate more openly".
    pub title: String,
    /// Why it matters.
    pub why: String,
    /// What kind of support or time it is about.
    pub kind: GoalKind,
    /// The end of its timeframe, if it has one.
    pub by: Option<Day>,
    /// Where it stands.
    pub status: GoalStatus,
    /// Its action steps, by id.
    pub objectives: BTreeMap<String, Objective>,
    /// When it was set.
    pub created: Timestamp,
    /// When it was last changed.
    pub updated: Timestamp,
}

/// One action step of a goal.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Objective {
    /// "Ask how their day went".
    pub text: String,
    /// Whether it is done.
    pub done: bool,
    /// When it was added (orders the steps).
    pub created: Timestamp,
    /// When it was marked done.
    pub done_at: Option<Timestamp>,
}

impl Goal {
    /// The objectives in the order they were added.
    pub fn steps(&self) -> Vec<(&str, &Objective)> {
        let mut steps: Vec<_> = self
            .objectives
            .iter()
            .map(|(id, o)| (id.as_str(), o))
            .collect();
        steps.sort_by_key(|(id, o)| (o.created, *id));
        steps
    }

    /// (done, total) objectives.
    pub fn progress(&self) -> (usize, usize) {
        let done = self.objectives.values().filter(|o| o.done).count();
        (done, self.objectives.len())
    }
}

/// How often a ritual recurs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "every")]
pub enum Recurrence {
    /// Monthly on a day of the month (1–31); a day the month lacks falls on its last day.
    MonthlyOn {
        /// Day of the month.
        day: u8,
    },
    /// Weekly on a weekday (0 = Monday … 6 = Sunday).
    WeeklyOn {
        /// Days since Monday.
        weekday: u8,
    },
    /// Every N days from the ritual's start.
    EveryDays {
        /// Period length in days (at least 1).
        days: u32,
    },
}

/// Recurring, deliberately simple time together.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Ritual {
    /// "One-on-one time".
    pub title: String,
    /// How often.
    pub recurrence: Recurrence,
    /// About how long, in minutes.
    pub minutes: Option<u32>,
    /// What keeps it easy: "no vehicle travel", "no money spent".
    pub guidelines: Vec<String>,
    /// The first day it applies.
    pub start: Day,
    /// The days it happened.
    pub occurrences: Vec<Day>,
    /// Whether it was retired.
    pub retired: bool,
}

/// One goal reviewed in a check-in.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct GoalReview {
    /// The goal reviewed.
    pub goal: Id,
    /// The status it was given.
    pub status: GoalStatus,
    /// A note.
    pub note: String,
}

/// A regular check-in: evaluate progress, celebrate, reassess.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct CheckIn {
    /// The day it took place.
    pub on: Day,
    /// How it felt, 1 to 5.
    pub rating: u8,
    /// What went well.
    pub went_well: String,
    /// What to change.
    pub to_change: String,
    /// Goals reviewed.
    pub reviews: Vec<GoalReview>,
    /// Principles it refers to.
    pub principles: Vec<Principle>,
    /// When it was recorded.
    pub created: Timestamp,
}

/// Who reached out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Reconcile, Hydrate, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Initiator {
    /// I reached out.
    Me,
    /// They reached out.
    Them,
}

/// How an interaction happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Reconcile, Hydrate, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Channel {
    /// A phone or voice call.
    Call,
    /// A video call.
    Video,
    /// A text or chat message.
    Text,
    /// Time in person.
    InPerson,
    /// A letter, card or email.
    Letter,
    /// Anything else.
    Other,
}

/// Why someone reached out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Reconcile, Hydrate, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// To brighten their day.
    JustBecause,
    /// Support in a hard moment.
    Support,
    /// Making a plan.
    Plan,
    /// A celebration.
    Celebration,
    /// Anything else.
    Other,
}

/// One contact, logged from the author's side.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Interaction {
    /// The day.
    pub on: Day,
    /// Who reached out.
    pub by: Initiator,
    /// How.
    pub via: Channel,
    /// Why.
    pub reason: Reason,
    /// A note.
    pub note: String,
    /// When it was logged.
    pub created: Timestamp,
}

/// An appreciation note: "thank you for …".
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Thanks {
    /// The day.
    pub on: Day,
    /// What for.
    pub text: String,
    /// When it was written.
    pub created: Timestamp,
}

/// A boundary the person wants the other to know.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Boundary {
    /// The boundary, in the person's words.
    pub text: String,
    /// When it was written.
    pub created: Timestamp,
}

/// A principle that check-ins and journal entries can refer to.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Reconcile,
    Hydrate,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Principle {
    /// Authenticity.
    Authenticity,
    /// Active listening and empathy.
    ActiveListening,
    /// Honest, respectful communication.
    HonestCommunication,
    /// Appreciation and gratitude.
    Appreciation,
    /// Support and encouragement.
    Support,
    /// Flexibility and compromise.
    Flexibility,
    /// Respect for boundaries.
    Boundaries,
    /// Investing time and effort.
    Investment,
    /// Accepting imperfection.
    AcceptingImperfection,
    /// Welcoming vulnerability.
    Vulnerability,
    /// Celebrating diversity.
    Diversity,
    /// Active positivity.
    Positivity,
    /// Trust and reliability (keeping commitments).
    Trust,
}

impl Principle {
    /// Every principle, in the order the brief lists them.
    pub const ALL: [Principle; 13] = [
        Principle::Authenticity,
        Principle::ActiveListening,
        Principle::HonestCommunication,
        Principle::Appreciation,
        Principle::Support,
        Principle::Flexibility,
        Principle::Boundaries,
        Principle::Investment,
        Principle::AcceptingImperfection,
        Principle::Vulnerability,
        Principle::Diversity,
        Principle::Positivity,
        Principle::Trust,
    ];
}

/// An entry in the private journal.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct JournalEntry {
    /// When it was written.
    pub at: Timestamp,
    /// The entry.
    pub text: String,
    /// Tags, without the `@`, lowercase.
    pub tags: Vec<String>,
    /// The relationships it is about.
    pub about: Vec<Id>,
    /// Starred entries stand out.
    pub starred: bool,
    /// Principles it refers to.
    #[autosurgeon(missing = "Vec::new")]
    #[serde(default)]
    pub principles: Vec<Principle>,
}

/// The records of one relationship that a person keeps on one side of the privacy line.
///
/// A relationship has two of these: the shared side (its own document, the only thing a paired
/// friend may ever receive) and the private records (inside the private document). Which one a
/// record is written to is the whole of "sharing".
#[derive(Debug, Clone, PartialEq, Eq, Default, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct SideRecords {
    /// Goals, by id.
    #[serde(default)]
    pub goals: BTreeMap<String, Goal>,
    /// Rituals, by id.
    #[serde(default)]
    pub rituals: BTreeMap<String, Ritual>,
    /// Check-ins, by id.
    #[serde(default)]
    pub checkins: BTreeMap<String, CheckIn>,
    /// Interactions, by id.
    #[serde(default)]
    pub interactions: BTreeMap<String, Interaction>,
    /// Thanks notes, by id.
    #[serde(default)]
    pub thanks: BTreeMap<String, Thanks>,
    /// Boundaries, by id.
    #[serde(default)]
    pub boundaries: BTreeMap<String, Boundary>,
    /// Goals of the friend's that this person took up, by id.
    #[autosurgeon(missing = "BTreeMap::new")]
    #[serde(default)]
    pub joins: BTreeMap<String, GoalJoin>,
}

/// Taking up a goal the friend shared: a record in *my* side that refers to *their* goal. The
/// goal becomes mutual once both sides are synced; neither side ever writes the other's document.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct GoalJoin {
    /// The id of the friend's goal, in their side.
    pub goal: String,
    /// Its title when joined (so the join reads well even before their side syncs).
    pub title: String,
    /// My own steps toward it.
    pub objectives: BTreeMap<String, Objective>,
    /// When I took it up.
    pub joined: Timestamp,
    /// When I left it, if I did.
    pub left: Option<Timestamp>,
}

impl SideRecords {
    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.goals.is_empty()
            && self.rituals.is_empty()
            && self.checkins.is_empty()
            && self.interactions.is_empty()
            && self.thanks.is_empty()
            && self.boundaries.is_empty()
            && self.joins.is_empty()
    }
}
