//! Cold start at realistic scale: how long `tapin people` and `tapin journal search` take as fresh
//! processes in a home holding 150 relationships, 2,000 interactions and 10,000 journal entries.
//!
//! ```sh
//! cargo bench -p tapin-e2e --bench cold_start
//! ```
//!
//! The bench builds the release binary first (`cargo build --release -p tapin-cli`, a no-op when it
//! is fresh; setting `TAPIN_BIN` skips the build and times that binary instead), runs `tapin init`
//! in a temporary home, fills it through `tapin-store` the way the CLI writes (one `Store::update`
//! per record, as the device's own actor), then times whole processes, spawn to exit, stdout to
//! `/dev/null`. It prints markdown tables for `docs/PERFORMANCE.md` on stdout, progress on
//! stderr. Populating takes most of its ten-odd minutes; with `TAPIN_BENCH_HOME=DIR` the home is
//! made in `DIR` and kept, and a later run with the same `DIR` reuses it and skips populating
//! (each run's write rows then add a few records to it).
//!
//! The machine is shared and noisy, so the commands are run round-robin (each round in a rotated
//! order) after warm-up rounds, and every figure is also given as a ratio against two baselines
//! measured in the same rounds: `tapin --version` (process start, nothing opened) and
//! `tapin whoami` (opens the store and reads the identity, loads no document). "Cold" means a new
//! process each time; the operating system's page cache is warm, as it is for someone who uses
//! the app every day.
//!
//! The data is generated from a fixed seed, so every run writes the same records; only the device
//! key (the actor id) differs from run to run.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use automerge::AutoCommit;
use chrono::{DateTime, Utc};
use tapin_core::docs::{self, Collection, Place};
use tapin_core::identity::DeviceKey;
use tapin_core::model::{
    Boundary, Channel, CheckIn, Goal, GoalKind, GoalStatus, Initiator, Interaction, JournalEntry,
    Objective, PairedAnswer, Reason, Recurrence, Reflection, Relationship, RelationshipStatus,
    Rhythm, Risk, Ritual, Thanks,
};
use tapin_core::time::{Day, Interval, Timestamp};
use tapin_core::views::journal::{Query, extract_tags, search};
use tapin_core::{DocId, Id};
use tapin_e2e::Rng;
use tapin_store::{MetaKey, Store};

type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

/// The scale the issue asks for.
const RELATIONSHIPS: usize = 150;
const INTERACTIONS: usize = 2_000;
const JOURNAL_ENTRIES: usize = 10_000;

/// Rounds of every command: the first `WARMUP` are not counted.
const WARMUP: usize = 2;
const ROUNDS: usize = 20;
/// Repetitions of each in-process component.
const COMPONENT_RUNS: usize = 10;
/// Rounds of the write commands, timed last because they change the home.
const WRITE_ROUNDS: usize = 10;

/// "Now" for the CLI and the generated history: three years of records end here.
const NOW: &str = "2026-11-22T09:00:00Z";
const HISTORY_DAYS: i64 = 3 * 365;

/// A word only the generator's "lighthouse" sentences contain (about 3% of entries), and a tag on
/// about 4% of entries: searches that find a few hundred entries among 10,000.
const SEARCH_WORD: &str = "lighthouse";
const SEARCH_TAG: &str = "@grateful";

/// The target from the issue, per command, on the 2-core machine.
const TARGET: Duration = Duration::from_millis(150);

fn main() -> Result<()> {
    let bin = tapin_bin()?;
    let now: DateTime<Utc> = NOW.parse()?;
    // Removed when dropped, at the end of main.
    let temp = tempfile::tempdir()?;
    let home = match std::env::var_os("TAPIN_BENCH_HOME") {
        Some(dir) => PathBuf::from(dir),
        None => temp.path().join("bench"),
    };
    let cli = Cli {
        bin: bin.clone(),
        home: home.clone(),
    };
    let population = if home.join(tapin_store::DB_FILE).exists() {
        eprintln!("reusing the populated home at {}", home.display());
        None
    } else {
        cli.run_ok(&["init", "--name", "Bench"])?;
        eprintln!("populating {} ...", home.display());
        Some(populate(&home, now)?)
    };
    let sizes = Sizes::measure(&home)?;
    let components = Components::measure(&home)?;

    let reads: Vec<Timed> = vec![
        Timed::new("tapin --version", "process start only", &["--version"]),
        Timed::new(
            "tapin whoami",
            "opens the store, reads the identity",
            &["whoami"],
        ),
        Timed::new(
            "tapin people",
            "private doc + every active side",
            &["people"],
        ),
        Timed::new(
            "tapin --json people",
            "the same, as JSON",
            &["--json", "people"],
        ),
        Timed::new(
            &format!("tapin journal search {SEARCH_WORD}"),
            "private doc + journal",
            &["journal", "search", SEARCH_WORD],
        ),
        Timed::new(
            &format!("tapin journal search {SEARCH_TAG}"),
            "private doc + journal",
            &["journal", "search", SEARCH_TAG],
        ),
    ];
    eprintln!("timing {} read commands ...", reads.len());
    let reads = cli.time_round_robin(reads, WARMUP, ROUNDS)?;

    let someone = components.facts.someone.clone();
    let writes: Vec<Timed> = vec![
        Timed::new(
            "tapin whoami",
            "opens the store, reads the identity",
            &["whoami"],
        ),
        Timed::new(
            "tapin journal add TEXT",
            "private doc + journal write",
            &["journal", "add", "Quiet evening, early night. @tired"],
        ),
        Timed::new(
            &format!("tapin log {someone} --by me"),
            "private doc + side write",
            &["log", &someone, "--by", "me", "--via", "call"],
        ),
    ];
    eprintln!("timing {} write commands ...", writes.len());
    let writes = cli.time_round_robin(writes, 1, WRITE_ROUNDS)?;

    print!(
        "{}",
        report(
            &bin,
            population.as_ref(),
            &sizes,
            &components,
            &reads,
            &writes
        )
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The binary and how it is run.

/// The release `tapin`: `TAPIN_BIN`, or built beside this bench executable.
///
/// `cargo bench -p tapin-e2e` does not build `tapin-cli`'s binary (it is not a dependency of this
/// package), so build it here; cargo makes this a no-op when the binary is fresh.
fn tapin_bin() -> Result<PathBuf> {
    tapin_e2e::release_tapin_bin().map_err(|e| e.to_string().into())
}

/// Runs `tapin` in the bench's home, as the end-to-end tests do.
struct Cli {
    bin: PathBuf,
    home: PathBuf,
}

/// One command to time, and its samples.
struct Timed {
    label: String,
    loads: &'static str,
    args: Vec<String>,
    samples: Vec<Duration>,
}

impl Timed {
    fn new(label: &str, loads: &'static str, args: &[&str]) -> Timed {
        Timed {
            label: label.to_owned(),
            loads,
            args: args.iter().map(|&a| a.to_owned()).collect(),
            samples: Vec::new(),
        }
    }

    fn median(&self) -> Duration {
        median(&self.samples)
    }

    fn p90(&self) -> Duration {
        percentile(&self.samples, 90)
    }
}

impl Cli {
    fn command<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.args(args)
            .env("TAPIN_HOME", &self.home)
            .env("TAPIN_NOW", NOW)
            .env("TZ", "UTC")
            .env("NO_COLOR", "1")
            .env_remove("TAPIN_LOG")
            .env_remove("EDITOR")
            .env_remove("VISUAL")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        cmd
    }

    /// Runs a command that must succeed; returns its wall time, spawn to exit.
    fn run_ok<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Result<Duration> {
        let mut cmd = self.command(args);
        let start = Instant::now();
        let out = cmd.output()?;
        let took = start.elapsed();
        if !out.status.success() {
            let args: Vec<_> = args.iter().map(|a| a.as_ref().to_string_lossy()).collect();
            return Err(format!(
                "tapin {} failed ({}): {}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
        Ok(took)
    }

    /// Runs every command once per round, in an order rotated each round so that no command
    /// always follows the same one, and keeps the samples of the rounds after `warmup`.
    fn time_round_robin(
        &self,
        mut timed: Vec<Timed>,
        warmup: usize,
        rounds: usize,
    ) -> Result<Vec<Timed>> {
        for round in 0..warmup + rounds {
            for k in 0..timed.len() {
                let i = (round + k) % timed.len();
                let took = self.run_ok(&timed[i].args)?;
                if round >= warmup {
                    timed[i].samples.push(took);
                }
            }
        }
        Ok(timed)
    }
}

fn median(samples: &[Duration]) -> Duration {
    let mut s = samples.to_vec();
    s.sort();
    match s.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2,
    }
}

/// Nearest-rank percentile.
fn percentile(samples: &[Duration], p: usize) -> Duration {
    let mut s = samples.to_vec();
    s.sort();
    if s.is_empty() {
        return Duration::ZERO;
    }
    let rank = (p * s.len()).div_ceil(100).max(1);
    s[rank - 1]
}

/// The median of `runs` runs of `f`, and its last result.
fn time_in_process<T>(runs: usize, mut f: impl FnMut() -> Result<T>) -> Result<(Duration, T)> {
    let mut samples = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        let value = f()?;
        samples.push(start.elapsed());
        last = Some(value);
    }
    let last = last.ok_or("no runs")?;
    Ok((median(&samples), last))
}

// ---------------------------------------------------------------------------------------------
// Generating a realistic home.

const FIRST_NAMES: [&str; 30] = [
    "Jordan", "Maya", "Sam", "Alex", "Priya", "Tomás", "Lena", "Kofi", "Aiko", "Noor", "Ben",
    "Chloé", "Dmitri", "Esra", "Farah", "Gus", "Hana", "Ivan", "Jess", "Kai", "Lucía", "Mateo",
    "Nia", "Oskar", "Pia", "Quinn", "Rosa", "Sven", "Tariq", "Uma",
];
const SURNAMES: [&str; 5] = ["Moreno", "Okafor", "Lindqvist", "Sato", "Brennan"];

/// The words journal entries are made of, drawn at random: text about as compressible as real
/// prose (DEFLATE gets it to about a third), which matters because automerge compresses what it
/// saves. "lighthouse" is deliberately missing, so only [`RARE_SENTENCE`] contains it.
const WORDS: &str = "the a and to of i it was in that my me we with for on but so not they at this \
    had just about all be have what like when up out more time day today again feel felt really \
    think thought know want need still back after work home friend friends family call called \
    talk talked talking walk walked long week weekend morning evening night tired happy sad angry \
    calm better worse sleep slept dinner lunch coffee tea plans plan trip weather rain sun sunny \
    cold warm late early hard easy good bad great little lot much many some every never always \
    maybe because though while before then now something nothing everything anyone someone \
    everyone message text sent reply replied laughed cried listened remembered forgot wondered \
    worried hoped wished tried managed finished started noticed realised decided asked told said \
    heard saw met visited missed helped thanked apologised promised argued agreed mother father \
    sister brother partner colleague neighbour kids dog garden kitchen train bus car office park \
    river beach city town house room book film music song game project meeting deadline email \
    phone birthday party holiday summer winter autumn spring money rent doctor gym run swim bike \
    cook bake clean read write draw honest open kind patient grateful proud lonely anxious \
    relieved nervous excited bored curious quiet loud slow fast small big old new first last next \
    whole own other same different together alone around through over under between without \
    within enough almost only even also very too quite rather bit moment hour minute year month \
    yesterday tomorrow tonight soon later once twice often sometimes";
/// Words a third of the entries mix in: non-ASCII text, which search folds the slow way.
const NON_ASCII_WORDS: [&str; 18] = [
    "café",
    "naïve",
    "día",
    "mañana",
    "über",
    "Straße",
    "façade",
    "crème",
    "jalapeño",
    "résumé",
    "señora",
    "Grüße",
    "déjà-vu",
    "fiancée",
    "piñata",
    "São",
    "Zürich",
    "Malmö",
];
/// The sentence [`SEARCH_WORD`] finds, in about 3% of entries.
const RARE_SENTENCE: &str = "Walked out to the lighthouse at dusk and watched the ferries come in.";
const TAGS: [&str; 10] = [
    "@work",
    "@family",
    "@tired",
    "@self-care",
    "@walk",
    "@día-libre",
    "@conflict",
    "@joy",
    "@health",
    "@plans",
];
const NOTES: [&str; 6] = [
    "",
    "",
    "caught up on everything",
    "quick one, will call again on Sunday",
    "they needed to vent about work",
    "planned the trip in March",
];

/// What populating the home wrote and how long it took.
struct Population {
    /// `Store::update` calls, one per record.
    updates: usize,
    took: Duration,
    /// Per kind of record: (label, records, time).
    kinds: Vec<(&'static str, usize, Duration)>,
    /// Median `Store::update` of one journal entry over the first and the last 500 entries.
    journal_first: Duration,
    journal_last: Duration,
}

/// Fills the home with three years of a busy person's use, one `Store::update` per record, the
/// way the CLI writes each one.
fn populate(home: &Path, now: DateTime<Utc>) -> Result<Population> {
    let store = Store::open(home)?;
    let secret = store
        .get_secret(MetaKey::DeviceSecret)?
        .ok_or("the home has no device secret")?;
    let actor = DeviceKey::from_secret(secret).actor();
    let mut rng = Rng(0x7A91_2026_1122);
    let now_ms = now.timestamp_millis();
    let span_ms = HISTORY_DAYS * 86_400_000;
    // The instant `i`/`n` of the way through the history, with up to a day of jitter.
    let at = |rng: &mut Rng, i: usize, n: usize| -> Timestamp {
        let base = now_ms - span_ms + span_ms * i as i64 / n as i64;
        Timestamp((base + (rng.next_u64() % 86_400_000) as i64).min(now_ms - 1))
    };
    let day = |t: Timestamp| Day(t.to_datetime().date_naive());
    let mut updates = 0;
    let mut kinds = Vec::new();
    let started = Instant::now();

    let write = |doc: DocId, f: &mut dyn FnMut(&mut AutoCommit) -> Result<(), docs::DocError>| {
        store
            .update(&doc, &actor, |d| f(d))
            .map_err(|e| format!("writing to {doc}: {e}"))
    };

    // Relationships, added over the first half of the history.
    let t = Instant::now();
    let mut people: Vec<(Id, Relationship)> = Vec::new();
    for i in 0..RELATIONSHIPS {
        let id = rng.id();
        let ideal = rng.pick(&[7u32, 14, 14, 30, 30, 60, 90]);
        let rel = Relationship {
            name: format!(
                "{} {}",
                FIRST_NAMES[i % FIRST_NAMES.len()],
                SURNAMES[i / FIRST_NAMES.len()]
            ),
            importance: rng.between(1, 5) as u8,
            risk: rng.pick(&[Risk::Low, Risk::Medium, Risk::Medium, Risk::High]),
            rhythm: rng.percent(80).then(|| Rhythm {
                ideal: Interval::days(ideal),
                max: Interval::days(ideal * 3),
            }),
            status: match rng.below(100) {
                0..=89 => RelationshipStatus::Active,
                90..=96 => RelationshipStatus::Archived,
                _ => RelationshipStatus::Ended,
            },
            created: at(&mut rng, i, RELATIONSHIPS * 2),
            snoozed_until: None,
            peer: None,
        };
        write(DocId::Private, &mut |d| docs::put_relationship(d, id, &rel))?;
        updates += 1;
        people.push((id, rel));
    }
    kinds.push(("relationships", RELATIONSHIPS, t.elapsed()));
    // Close friends get most of the attention: a skewed pick.
    let person = |rng: &mut Rng| -> Id {
        let bound = rng.between(1, RELATIONSHIPS);
        people[rng.below(bound)].0
    };
    let place = |rng: &mut Rng, rel: Id, shared_percent: usize| {
        Place::choose(rel, rng.percent(shared_percent))
    };

    // Goals (with steps), rituals (with their occurrences), check-ins, thanks, boundaries and
    // reflections: the records around the interactions.
    let t = Instant::now();
    let mut records = 0;
    let mut goals_of: BTreeMap<Id, Vec<Id>> = BTreeMap::new();
    for g in 0..120 {
        let rel = person(&mut rng);
        let created = at(&mut rng, g, 120);
        let objectives = (0..rng.between(1, 4))
            .map(|k| {
                let done = rng.percent(50);
                (
                    rng.id(),
                    Objective {
                        text: format!("Step {} towards it", k + 1),
                        done,
                        created: Timestamp(created.0 + k as i64),
                        done_at: done.then_some(Timestamp(created.0 + 86_400_000)),
                    },
                )
            })
            .collect();
        let goal = Goal {
            title: (rng.pick(&[
                "Communicate more openly",
                "See each other once a month",
                "Be there after the move",
                "Plan the summer trip",
            ]))
            .to_owned(),
            why: "Because it matters to both of us".to_owned(),
            kind: rng.pick(&[
                GoalKind::EmotionalSupport,
                GoalKind::SharedExperience,
                GoalKind::PracticalHelp,
                GoalKind::Other,
            ]),
            by: rng.percent(60).then(|| day(created).plus_days(90)),
            status: rng.pick(&[
                GoalStatus::Active,
                GoalStatus::Active,
                GoalStatus::Achieved,
                GoalStatus::Adjusted,
                GoalStatus::Dropped,
            ]),
            objectives,
            created,
            updated: created,
        };
        let id = rng.id();
        let where_ = place(&mut rng, rel, 40);
        write(where_.doc(), &mut |d| {
            docs::put_record(d, where_, Collection::Goals, id, &goal)
        })?;
        goals_of.entry(rel).or_default().push(id);
        records += 1;
    }
    for r in 0..50 {
        let rel = person(&mut rng);
        let start = day(at(&mut rng, r, 100));
        let period = rng.between(7, 30) as u64;
        let ritual = Ritual {
            title: (rng.pick(&["Walk together", "Sunday call", "Board game night"])).to_owned(),
            recurrence: Recurrence::EveryDays {
                days: period as u32,
            },
            minutes: Some(rng.between(20, 90) as u32),
            guidelines: vec!["no money spent".to_owned()],
            start,
            occurrences: (0..rng.between(3, 40))
                .map(|k| start.plus_days(k as u64 * period))
                .filter(|d| d.0 <= now.date_naive())
                .collect(),
            retired: rng.percent(10),
        };
        let id = rng.id();
        let where_ = place(&mut rng, rel, 60);
        write(where_.doc(), &mut |d| {
            docs::put_record(d, where_, Collection::Rituals, id, &ritual)
        })?;
        records += 1;
    }
    for c in 0..200 {
        let rel = person(&mut rng);
        let created = at(&mut rng, c, 200);
        let reviews = goals_of
            .get(&rel)
            .into_iter()
            .flatten()
            .map(|&goal| tapin_core::model::GoalReview {
                goal,
                status: GoalStatus::Active,
                note: "still going".to_owned(),
            })
            .collect();
        let checkin = CheckIn {
            on: day(created),
            rating: rng.between(2, 5) as u8,
            went_well: "We laughed a lot and listened to each other".to_owned(),
            to_change: "Call a little earlier in the week".to_owned(),
            reviews,
            principles: Vec::new(),
            created,
        };
        let id = rng.id();
        let where_ = place(&mut rng, rel, 30);
        write(where_.doc(), &mut |d| {
            docs::put_record(d, where_, Collection::CheckIns, id, &checkin)
        })?;
        records += 1;
    }
    for n in 0..300 {
        let rel = person(&mut rng);
        let created = at(&mut rng, n, 300);
        let thanks = Thanks {
            on: day(created),
            text: "Thank you for checking on me when things were hard".to_owned(),
            created,
        };
        let id = rng.id();
        let where_ = place(&mut rng, rel, 80);
        write(where_.doc(), &mut |d| {
            docs::put_record(d, where_, Collection::Thanks, id, &thanks)
        })?;
        records += 1;
    }
    for b in 0..30 {
        let rel = person(&mut rng);
        let boundary = Boundary {
            on: None,
            text: "Please ask before bringing someone new along".to_owned(),
            created: at(&mut rng, b, 30),
        };
        let id = rng.id();
        let where_ = place(&mut rng, rel, 80);
        write(where_.doc(), &mut |d| {
            docs::put_record(d, where_, Collection::Boundaries, id, &boundary)
        })?;
        records += 1;
    }
    for f in 0..100 {
        let rel = person(&mut rng);
        let answer = PairedAnswer {
            about_them: "Usually yes, and quickly".to_owned(),
            about_me: "Less than I would like".to_owned(),
        };
        let reflection = Reflection {
            relationship: rel,
            at: at(&mut rng, f, 100),
            answers: vec![answer; 4],
            note: "Worth a real conversation soon".to_owned(),
        };
        let id = rng.id();
        write(DocId::Private, &mut |d| {
            docs::put_reflection(d, id, &reflection)
        })?;
        records += 1;
    }
    updates += records;
    kinds.push((
        "goals, rituals, check-ins, thanks, boundaries, reflections",
        records,
        t.elapsed(),
    ));

    // Interactions: 70% on the shared side (the CLI's default), 30% private.
    let t = Instant::now();
    for n in 0..INTERACTIONS {
        let rel = person(&mut rng);
        let created = at(&mut rng, n, INTERACTIONS);
        let interaction = Interaction {
            on: day(created),
            by: rng.pick(&[Initiator::Me, Initiator::Them]),
            via: rng.pick(&[
                Channel::Call,
                Channel::Video,
                Channel::Text,
                Channel::Text,
                Channel::InPerson,
                Channel::Letter,
            ]),
            reason: rng.pick(&[
                Reason::JustBecause,
                Reason::Support,
                Reason::Plan,
                Reason::Celebration,
                Reason::Other,
            ]),
            note: (rng.pick(&NOTES)).to_owned(),
            created,
        };
        let id = rng.id();
        let where_ = place(&mut rng, rel, 70);
        write(where_.doc(), &mut |d| {
            docs::put_record(d, where_, Collection::Interactions, id, &interaction)
        })?;
    }
    updates += INTERACTIONS;
    kinds.push(("interactions", INTERACTIONS, t.elapsed()));

    // The journal, in the order it was written.
    let t = Instant::now();
    let words: Vec<&str> = WORDS.split_whitespace().collect();
    let mut per_entry = Vec::with_capacity(JOURNAL_ENTRIES);
    for n in 0..JOURNAL_ENTRIES {
        let mut about = Vec::new();
        let mut text = String::new();
        if rng.percent(25) {
            let (id, rel) = &people[rng.below(RELATIONSHIPS)];
            about.push(*id);
            let _ = write!(text, "Thinking about {}. ", rel.name);
        }
        let target = rng.between(200, 600);
        let non_ascii = rng.percent(33);
        let rare = rng.percent(3);
        while text.len() < target {
            if rare && text.len() > target / 2 && !text.contains(RARE_SENTENCE) {
                text.push_str(RARE_SENTENCE);
                text.push(' ');
            }
            for k in 0..rng.between(6, 16) {
                let word = if non_ascii && rng.percent(12) {
                    rng.pick(&NON_ASCII_WORDS)
                } else {
                    rng.pick(&words)
                };
                if k == 0 {
                    let mut chars = word.chars();
                    text.extend(chars.next().map(|c| c.to_ascii_uppercase()));
                    text.push_str(chars.as_str());
                } else {
                    text.push(' ');
                    text.push_str(word);
                }
            }
            text.push_str(". ");
        }
        if rng.percent(4) {
            text.push_str(SEARCH_TAG);
            text.push(' ');
        }
        for _ in 0..rng.below(3) {
            if rng.percent(40) {
                text.push_str(rng.pick(&TAGS));
                text.push(' ');
            }
        }
        let text = text.trim_end().to_owned();
        let entry = JournalEntry {
            at: at(&mut rng, n, JOURNAL_ENTRIES),
            tags: extract_tags(&text),
            text,
            about,
            starred: rng.percent(5),
            principles: Vec::new(),
        };
        let id = rng.id();
        let one = Instant::now();
        write(DocId::Journal, &mut |d| docs::put_entry(d, id, &entry))?;
        per_entry.push(one.elapsed());
        if (n + 1) % 1000 == 0 {
            eprintln!(
                "  {} journal entries, {:.1} ms per write lately",
                n + 1,
                ms(median(&per_entry[n + 1 - 1000..]))
            );
        }
    }
    updates += JOURNAL_ENTRIES;
    kinds.push(("journal entries", JOURNAL_ENTRIES, t.elapsed()));

    Ok(Population {
        updates,
        took: started.elapsed(),
        kinds,
        journal_first: median(&per_entry[..500]),
        journal_last: median(&per_entry[per_entry.len() - 500..]),
    })
}

// ---------------------------------------------------------------------------------------------
// What the home weighs, and where a command's time goes.

/// Sizes on disk after populating.
struct Sizes {
    db_file: u64,
    wal_file: u64,
    db_bytes: u64,
    /// (label, documents, snapshot bytes, chunks, chunk bytes)
    docs: Vec<(String, usize, u64, u64, u64)>,
}

impl Sizes {
    fn measure(home: &Path) -> Result<Sizes> {
        let file = |name: &str| std::fs::metadata(home.join(name)).map_or(0, |m| m.len());
        let db_file = file(tapin_store::DB_FILE);
        let wal_file = file(&format!("{}-wal", tapin_store::DB_FILE));
        let stats = Store::open(home)?.stats()?;
        let mut docs = Vec::new();
        let mut sides = (0, 0, 0, 0);
        let mut largest_side = 0;
        for d in &stats.documents {
            match d.doc {
                DocId::Side(_) => {
                    sides.0 += 1;
                    sides.1 += d.snapshot_bytes;
                    sides.2 += d.chunks;
                    sides.3 += d.chunk_bytes;
                    largest_side = largest_side.max(d.snapshot_bytes + d.chunk_bytes);
                }
                doc => docs.push((
                    format!("`{doc}`"),
                    1,
                    d.snapshot_bytes,
                    d.chunks,
                    d.chunk_bytes,
                )),
            }
        }
        docs.push((
            format!("`side-…`, all (largest {})", kib(largest_side)),
            sides.0,
            sides.1,
            sides.2,
            sides.3,
        ));
        Ok(Sizes {
            db_file,
            wal_file,
            db_bytes: stats.db_bytes,
            docs,
        })
    }
}

/// What the home holds, read back from it (so that a reused home is described as it is).
struct Facts {
    relationships: usize,
    active: usize,
    interactions: usize,
    entries: usize,
    /// Bytes of journal text.
    text_bytes: usize,
    /// An active relationship's name, for `tapin log`.
    someone: String,
}

/// The steps of the two commands, timed in this process with the library calls the CLI makes.
struct Components {
    rows: Vec<(&'static str, Duration)>,
    /// Other ways to read the same documents, for comparison.
    comparisons: Vec<(&'static str, Duration)>,
    facts: Facts,
    search_word_hits: usize,
    search_tag_hits: usize,
}

impl Components {
    fn measure(home: &Path) -> Result<Components> {
        let runs = COMPONENT_RUNS;
        let mut rows = Vec::new();
        let (open, store) = time_in_process(runs, || Ok(Store::open(home)?))?;
        rows.push(("`Store::open`", open));

        // A store keeps each document it has loaded in memory, so every run of a load opens the
        // store again: a process loads each document once, and that first load is what it pays.
        let (load, private_doc) = time_in_process(runs, || {
            Store::open(home)?
                .load(&DocId::Private)?
                .ok_or("no private document".into())
        })?;
        rows.push(("load `private` (`Store::load`)", load));
        let (hydrate, private) = time_in_process(runs, || Ok(docs::read_private(&private_doc)?))?;
        rows.push(("hydrate `private` (`read_private`)", hydrate));

        let active: Vec<Id> = private
            .relationships
            .iter()
            .filter(|(_, r)| r.status == RelationshipStatus::Active)
            .map(|(id, _)| *id)
            .collect();
        let (sides, _) = time_in_process(runs, || {
            let store = Store::open(home)?;
            let mut n = 0;
            for &id in &active {
                if let Some(doc) = store.load(&DocId::Side(id))? {
                    n += docs::read_side(&doc, id)?.interactions.len();
                }
            }
            Ok(n)
        })?;
        rows.push(("load + hydrate every active side", sides));

        let (load, journal_doc) = time_in_process(runs, || {
            Store::open(home)?
                .load(&DocId::Journal)?
                .ok_or("no journal".into())
        })?;
        rows.push(("load `journal` (`Store::load`)", load));
        let (hydrate, journal) = time_in_process(runs, || Ok(docs::read_journal(&journal_doc)?))?;
        rows.push(("hydrate `journal` (`read_journal`)", hydrate));
        let word = Query::parse(SEARCH_WORD);
        let (find, search_word_hits) = time_in_process(runs, || Ok(search(&journal, &word).len()))?;
        rows.push(("`views::journal::search` for the word", find));
        let tag = Query::parse(SEARCH_TAG);
        let (find, search_tag_hits) = time_in_process(runs, || Ok(search(&journal, &tag).len()))?;
        rows.push(("`views::journal::search` for the tag", find));

        // Not steps of a command: automerge's own whole-document read, one ordered pass with no
        // lookups by key, against which to weigh the per-field hydration above.
        let mut comparisons = Vec::new();
        let (one_pass, _) = time_in_process(runs, || Ok(private_doc.hydrate(None)))?;
        comparisons.push(("`Automerge::hydrate(None)` of `private`", one_pass));
        let (one_pass, _) = time_in_process(runs, || Ok(journal_doc.hydrate(None)))?;
        comparisons.push(("`Automerge::hydrate(None)` of `journal`", one_pass));
        // What a cache of the hydrated documents (for instance a table keyed by the newest chunk
        // id, which every write changes) would cost to read back instead of automerge.
        let json = serde_json::to_vec(&journal)?;
        let (cached, _) = time_in_process(runs, || {
            Ok(serde_json::from_slice::<docs::JournalDoc>(&json)?)
        })?;
        comparisons.push(("`serde_json::from_slice` of the hydrated `journal`", cached));
        let json = serde_json::to_vec(&private)?;
        let (cached, _) = time_in_process(runs, || {
            Ok(serde_json::from_slice::<docs::PrivateDoc>(&json)?)
        })?;
        comparisons.push(("`serde_json::from_slice` of the hydrated `private`", cached));
        let ids: Vec<Id> = private.relationships.keys().copied().collect();
        let (only, _) = time_in_process(runs, || {
            let mut n = 0;
            for &id in &ids {
                n += usize::from(docs::get_relationship(&private_doc, id)?.is_some());
            }
            Ok(n)
        })?;
        comparisons.push((
            "`docs::get_relationship` of each relationship (no records)",
            only,
        ));
        // Side documents are small, so they rarely reach the compaction thresholds and load as a
        // dozen chunks each. Compact every one in a copy of the database and load them again.
        let copy = tempfile::tempdir()?;
        for suffix in ["", "-wal"] {
            let name = format!("{}{suffix}", tapin_store::DB_FILE);
            if home.join(&name).exists() {
                std::fs::copy(home.join(&name), copy.path().join(&name))?;
            }
        }
        let compacted = Store::open(copy.path())?;
        for &id in &ids {
            compacted.compact(&DocId::Side(id))?;
        }
        drop(compacted);
        let (sides, _) = time_in_process(runs, || {
            let compacted = Store::open(copy.path())?;
            let mut n = 0;
            for &id in &active {
                if let Some(doc) = compacted.load(&DocId::Side(id))? {
                    n += docs::read_side(&doc, id)?.interactions.len();
                }
            }
            Ok(n)
        })?;
        comparisons.push((
            "load + hydrate every active side, each compacted first (in a copy)",
            sides,
        ));

        let mut interactions: usize = private.records.values().map(|r| r.interactions.len()).sum();
        for &id in private.relationships.keys() {
            if let Some(doc) = store.load(&DocId::Side(id))? {
                interactions += docs::read_side(&doc, id)?.interactions.len();
            }
        }
        let facts = Facts {
            relationships: private.relationships.len(),
            active: active.len(),
            interactions,
            entries: journal.entries.len(),
            text_bytes: journal.entries.values().map(|e| e.text.len()).sum(),
            someone: active
                .first()
                .and_then(|id| private.relationships.get(id))
                .map(|r| r.name.clone())
                .ok_or("no active relationship")?,
        };
        Ok(Components {
            rows,
            comparisons,
            facts,
            search_word_hits,
            search_tag_hits,
        })
    }

    fn get(&self, label: &str) -> Duration {
        self.rows
            .iter()
            .find(|(l, _)| l.contains(label))
            .map_or(Duration::ZERO, |(_, d)| *d)
    }
}

// ---------------------------------------------------------------------------------------------
// The report.

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn kib(bytes: u64) -> String {
    format!("{:.0} KiB", bytes as f64 / 1024.0)
}

fn ratio(a: Duration, b: Duration) -> String {
    if b.is_zero() {
        "–".to_owned()
    } else {
        format!("{:.1}×", a.as_secs_f64() / b.as_secs_f64())
    }
}

fn report(
    bin: &Path,
    population: Option<&Population>,
    sizes: &Sizes,
    components: &Components,
    reads: &[Timed],
    writes: &[Timed],
) -> String {
    let mut out = String::new();
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let facts = &components.facts;
    let _ = writeln!(
        out,
        "Home: {} relationships ({} active), {} interactions, {} journal entries ({:.1} MB of \
         text), and goals, rituals, check-ins, thanks, boundaries and reflections, over \
         {HISTORY_DAYS} days up to {NOW}. Binary: `{}`. {cores} cores available.\n",
        facts.relationships,
        facts.active,
        facts.interactions,
        facts.entries,
        facts.text_bytes as f64 / 1e6,
        bin.display()
    );

    let version = reads[0].median();
    let whoami = reads[1].median();
    let _ = writeln!(
        out,
        "#### Cold process wall time ({ROUNDS} runs each after {WARMUP} warm-up rounds, round-robin)\n"
    );
    let _ = writeln!(
        out,
        "| command | loads | median | p90 | × `--version` | × `whoami` | target |"
    );
    let _ = writeln!(out, "|---|---|--:|--:|--:|--:|---|");
    for t in reads {
        let target = if t.label.contains("people") || t.label.contains("search") {
            if t.p90() < TARGET {
                "< 150 ms: met"
            } else if t.median() < TARGET {
                "< 150 ms: median only"
            } else {
                "< 150 ms: **missed**"
            }
        } else {
            "baseline"
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {:.1} ms | {:.1} ms | {} | {} | {target} |",
            t.label,
            t.loads,
            ms(t.median()),
            ms(t.p90()),
            ratio(t.median(), version),
            ratio(t.median(), whoami),
        );
    }
    let _ = writeln!(
        out,
        "\nThe word search matches {} entries and the tag search {} (the CLI prints the newest 20).\n",
        components.search_word_hits, components.search_tag_hits
    );

    let people = reads
        .iter()
        .find(|t| t.label == "tapin people")
        .map_or(Duration::ZERO, Timed::median);
    let _ = writeln!(
        out,
        "#### Where the time goes (in-process, median of {COMPONENT_RUNS})\n"
    );
    let _ = writeln!(out, "| step | median | × `whoami` process |");
    let _ = writeln!(out, "|---|--:|--:|");
    for (label, d) in &components.rows {
        let _ = writeln!(
            out,
            "| {label} | {:.1} ms | {} |",
            ms(*d),
            ratio(*d, whoami)
        );
    }
    for (label, d) in &components.comparisons {
        let _ = writeln!(
            out,
            "| *for comparison:* {label} | {:.1} ms | {} |",
            ms(*d),
            ratio(*d, whoami)
        );
    }
    let people_steps = components.get("Store::open")
        + components.get("load `private`")
        + components.get("hydrate `private`")
        + components.get("every active side");
    let search_steps = components.get("Store::open")
        + components.get("load `private`")
        + components.get("hydrate `private`")
        + components.get("load `journal`")
        + components.get("hydrate `journal`")
        + components.get("for the word");
    let search = reads
        .iter()
        .find(|t| t.label.contains(SEARCH_WORD))
        .map_or(Duration::ZERO, Timed::median);
    let _ = writeln!(
        out,
        "\nSum of the steps `tapin people` takes: {:.1} ms ({} of its process median, which also \
         pays process start and the identity); `tapin journal search {SEARCH_WORD}`: {:.1} ms ({}).\n",
        ms(people_steps),
        percent(people_steps, people),
        ms(search_steps),
        percent(search_steps, search),
    );

    let _ = writeln!(out, "#### Store size\n");
    let _ = writeln!(
        out,
        "| what | documents | snapshot | chunks | chunk bytes |"
    );
    let _ = writeln!(out, "|---|--:|--:|--:|--:|");
    for (label, n, snapshot, chunks, chunk_bytes) in &sizes.docs {
        let _ = writeln!(
            out,
            "| {label} | {n} | {} | {chunks} | {} |",
            kib(*snapshot),
            kib(*chunk_bytes)
        );
    }
    let journal_stored = sizes
        .docs
        .iter()
        .find(|d| d.0 == "`journal`")
        .map_or(0, |d| d.2 + d.4);
    let _ = writeln!(
        out,
        "\n`tapin.db`: {} on disk (+ {} of write-ahead log), {} by page count. The journal's \
         stored bytes are {:.2}× the text it holds.\n",
        kib(sizes.db_file),
        kib(sizes.wal_file),
        kib(sizes.db_bytes),
        journal_stored as f64 / facts.text_bytes as f64,
    );

    match population {
        Some(population) => write_population(&mut out, population),
        None => {
            let _ = writeln!(
                out,
                "#### Populating\n\nSkipped: the home in `TAPIN_BENCH_HOME` was already populated.\n"
            );
        }
    }

    let whoami_w = writes[0].median();
    let _ = writeln!(
        out,
        "#### Writes at this scale (cold process, {WRITE_ROUNDS} runs each, round-robin, timed last)\n"
    );
    let _ = writeln!(out, "| command | writes | median | p90 | × `whoami` |");
    let _ = writeln!(out, "|---|---|--:|--:|--:|");
    for t in writes {
        let _ = writeln!(
            out,
            "| `{}` | {} | {:.1} ms | {:.1} ms | {} |",
            t.label,
            t.loads,
            ms(t.median()),
            ms(t.p90()),
            ratio(t.median(), whoami_w)
        );
    }
    out
}

fn write_population(out: &mut String, population: &Population) {
    let _ = writeln!(out, "#### Populating (one `Store::update` per record)\n");
    let _ = writeln!(out, "| records | count | time | per record |");
    let _ = writeln!(out, "|---|--:|--:|--:|");
    for (label, n, d) in &population.kinds {
        let _ = writeln!(
            out,
            "| {label} | {n} | {:.1} s | {:.2} ms |",
            d.as_secs_f64(),
            ms(*d) / *n as f64
        );
    }
    let _ = writeln!(
        out,
        "| **all** | {} | {:.1} s | {:.2} ms |",
        population.updates,
        population.took.as_secs_f64(),
        ms(population.took) / population.updates as f64
    );
    let _ = writeln!(
        out,
        "\nOne journal write (median): {:.1} ms over the first 500 entries, {:.1} ms over the last \
         500 ({}).\n",
        ms(population.journal_first),
        ms(population.journal_last),
        ratio(population.journal_last, population.journal_first)
    );
}

fn percent(part: Duration, whole: Duration) -> String {
    if whole.is_zero() {
        "–".to_owned()
    } else {
        format!("{:.0}%", 100.0 * part.as_secs_f64() / whole.as_secs_f64())
    }
}
