//! Cold start at realistic scale: every row of issue 14's table, each with its baseline measured
//! in the same run, in a home holding 150 relationships, 2,000 interactions and 10,000 journal
//! entries, then again in a home with 30,000.
//!
//! ```sh
//! cargo bench -p tapin-e2e --bench cold_start
//! ```
//!
//! The bench builds the release binary first (`cargo build --release -p tapin-cli`, a no-op when it
//! is fresh; setting `TAPIN_BIN` skips the build and times that binary instead). For each journal
//! size in [`SCALES`] it runs `tapin init` in a temporary home and fills it through `tapin-store`
//! as the device's own actor, in the order the records were made ([`populate`]): one
//! `Txn::update` per record, so one automerge change per record, [`BATCH`] of them per SQLite
//! transaction to save time, except the first and last [`TIMED_WRITES`] journal entries, which
//! are written one `Store::update` each, as a command writes them, and timed (row 5). It then
//! counts the changes the journal's history holds, so that "at least one change per entry" is
//! checked, not assumed.
//!
//! Then it times whole processes, spawn to exit, stdout to `/dev/null`, in two round-robin phases
//! (each round in a rotated order, after warm-up rounds):
//! - reads: `--version`, `whoami`, `people`, `today`, `show NAME`, and the two searches with the
//!   decoded-document cache warm;
//! - writes and the reads right after them: `whoami`; `journal add` followed by the first
//!   `journal search WORD`; `journal add` followed by the first `journal search @tag`; every
//!   journal document compacted and the view cache and recorded heads emptied (untimed), then
//!   `journal search WORD` (a cold cache: what a compaction and a restart leave); `log NAME`;
//!   and every derived table lost ([`derived_tables`], untimed), then `journal search WORD`,
//!   which rebuilds the journal's index from its documents.
//!
//! Every figure is also a ratio to `tapin whoami` (opens the store and reads the identity, loads
//! no document) from the same phase: the machine is shared and noisy. "Cold" means a new process
//! each time; the operating system's page cache is warm, as it is for someone who uses the app
//! every day. It prints markdown for `docs/PERFORMANCE.md` on stdout (the issue's rows per size,
//! then the 30,000 figures against the 10,000 ones), progress on stderr.
//!
//! `TAPIN_BENCH_HOME=DIR` (10,000 entries) and `TAPIN_BENCH_HOME_30K=DIR` (30,000) make the home
//! in `DIR` and keep it; a later run with the same `DIR` reuses it and skips populating (each run's
//! write rows then add a few records to it, and row 5, measured while populating, is missing).
//! `TAPIN_BENCH_ENTRIES=10000` (or `30000`) runs one size only.
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

use automerge::{ActorId, AutoCommit, Automerge};
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

/// The scale the issue asks for, besides the journal.
const RELATIONSHIPS: usize = 150;
const INTERACTIONS: usize = 2_000;
/// The journal sizes measured, each in a home of its own, and the variable that names a directory
/// to keep (and reuse) that home in.
const SCALES: [(usize, &str); 2] = [
    (10_000, "TAPIN_BENCH_HOME"),
    (30_000, "TAPIN_BENCH_HOME_30K"),
];

/// Records written per SQLite transaction while populating: one `Txn::update` (one automerge
/// change, one chunk) each, so the history is the one a command per record leaves; only the
/// commits are shared.
const BATCH: usize = 100;
/// Journal entries at each end of the journal written one `Store::update` each and timed: row 5
/// is the median of the last ones against the median of the first ones.
const TIMED_WRITES: usize = 500;

/// Tables that hold only what the store derives from the documents and rebuilds when it is
/// missing: emptied (plain SQL, between runs, untimed) before each "cold cache" search, as after
/// a compaction, on a new device or after a restart that lost them: the store's own list
/// (`tapin_store::DERIVED_TABLES`: the view cache and the journal's search index; for FTS5 the
/// virtual table, whose `DELETE FROM` keeps its shadow tables consistent) and the recorded heads.
fn derived_tables() -> impl Iterator<Item = &'static str> {
    tapin_store::DERIVED_TABLES.into_iter().chain(["doc_heads"])
}

/// Rounds of the read commands: the first `WARMUP` are not counted.
const WARMUP: usize = 2;
const ROUNDS: usize = 20;
/// Repetitions of each in-process component.
const COMPONENT_RUNS: usize = 5;
/// Rounds of the write phase (after one warm-up round), timed last because it changes the home.
const WRITE_ROUNDS: usize = 10;

/// "Now" for the CLI and the generated history: three years of records end here.
const NOW: &str = "2026-11-22T09:00:00Z";
const HISTORY_DAYS: i64 = 3 * 365;

/// A word only the generator's "lighthouse" sentences contain (about 3% of entries), and a tag on
/// about 4% of entries: searches that find a few hundred entries among 10,000.
const SEARCH_WORD: &str = "lighthouse";
const SEARCH_TAG: &str = "@grateful";
/// What `journal add` writes in the write phase.
const ADD_TEXT: &str = "Quiet evening, early night. @tired";

/// The 30,000-entry figures may be this many times the 10,000-entry ones (issue 14, last row).
const SCALE_TARGET: f64 = 1.5;

/// The journal document an entry written at `at` goes to (its ISO week, UTC): the one place
/// populating chooses it.
fn journal_doc(at: Timestamp) -> DocId {
    DocId::journal_for(at)
}

/// Whether `doc` holds journal entries.
fn is_journal(doc: &DocId) -> bool {
    matches!(doc, DocId::Journal | DocId::JournalWeek(_))
}

/// Every journal document the store holds, by name: what loading "the journal" means.
fn journal_docs(store: &Store) -> Result<Vec<DocId>> {
    Ok(store.documents()?.into_iter().filter(is_journal).collect())
}

fn main() -> Result<()> {
    let bin = tapin_bin()?;
    let started = Instant::now();
    let now: DateTime<Utc> = NOW.parse()?;
    // Removed when dropped, at the end of main.
    let temp = tempfile::tempdir()?;
    let only: Option<Vec<usize>> = match std::env::var("TAPIN_BENCH_ENTRIES") {
        Ok(list) => Some(
            list.split(',')
                .map(|n| n.trim().replace('_', "").parse())
                .collect::<Result<_, _>>()
                .map_err(|e| format!("TAPIN_BENCH_ENTRIES={list}: {e}"))?,
        ),
        Err(_) => None,
    };
    let mut scales = Vec::new();
    for (entries, var) in SCALES {
        if only.as_ref().is_some_and(|o| !o.contains(&entries)) {
            continue;
        }
        let home = match std::env::var_os(var) {
            Some(dir) => PathBuf::from(dir),
            None => temp.path().join(format!("bench-{entries}")),
        };
        eprintln!("=== {entries} journal entries, home {} ===", home.display());
        scales.push(Scale::run(&bin, home, entries, now)?);
    }
    let took = started.elapsed();

    let mut out = String::new();
    for scale in &scales {
        out.push_str(&report(&bin, scale));
    }
    if let [small, large] = &scales[..] {
        out.push_str(&comparison(small, large));
    }
    let populating: Duration = scales
        .iter()
        .filter_map(|s| s.population.as_ref())
        .map(|p| p.took)
        .sum();
    let _ = writeln!(
        out,
        "Bench run: {:.0} s after the build, {:.0} s of it populating.",
        took.as_secs_f64(),
        populating.as_secs_f64()
    );
    print!("{out}");
    Ok(())
}

/// Everything measured on one home.
struct Scale {
    /// The journal size asked for.
    entries: usize,
    population: Option<Population>,
    history: History,
    sizes: Sizes,
    components: Components,
    reads: Vec<Timed>,
    writes: Vec<Timed>,
    took: Duration,
}

/// Indexes into [`Scale::reads`].
const R_WHOAMI: usize = 1;
const R_PEOPLE: usize = 2;
const R_TODAY: usize = 4;
const R_SHOW: usize = 5;
/// Indexes into [`Scale::writes`].
const W_WHOAMI: usize = 0;
const W_ADD: usize = 1;
const W_WORD_AFTER: usize = 2;
const W_TAG_AFTER: usize = 3;
const W_COLD: usize = 4;
const W_LOG: usize = 5;
const W_LOST: usize = 6;

impl Scale {
    fn run(bin: &Path, home: PathBuf, entries: usize, now: DateTime<Utc>) -> Result<Scale> {
        let started = Instant::now();
        let cli = Cli {
            bin: bin.to_owned(),
            home: home.clone(),
        };
        let population = if home.join(tapin_store::DB_FILE).exists() {
            eprintln!("reusing the populated home at {}", home.display());
            None
        } else {
            cli.run_ok(&["init", "--name", "Bench"])?;
            eprintln!("populating {} ...", home.display());
            Some(populate(&home, now, entries)?)
        };
        let history = History::count(&home)?;
        eprintln!(
            "the journal's history: {} changes in {} documents (counted in {:.1} s)",
            history.changes,
            history.documents,
            history.took.as_secs_f64()
        );
        let sizes = Sizes::measure(&home)?;
        eprintln!("timing the steps in-process ...");
        let components = Components::measure(&home)?;
        let someone = components.facts.someone.clone();

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
            Timed::new("tapin today", "the daily glance", &["today"]),
            Timed::new(
                &format!("tapin show {someone}"),
                "one relationship",
                &["show", &someone],
            ),
            Timed::new(
                &format!("tapin journal search {SEARCH_WORD}"),
                "cache warm",
                &["journal", "search", SEARCH_WORD],
            ),
            Timed::new(
                &format!("tapin journal search {SEARCH_TAG}"),
                "cache warm",
                &["journal", "search", SEARCH_TAG],
            ),
        ];
        let units: Vec<Vec<Step>> = (0..reads.len()).map(|i| vec![Step::Run(i)]).collect();
        eprintln!("timing {} read commands ...", reads.len());
        let reads = cli.time_round_robin(reads, &units, WARMUP, ROUNDS)?;

        let writes: Vec<Timed> = vec![
            Timed::new(
                "tapin whoami",
                "opens the store, reads the identity",
                &["whoami"],
            ),
            Timed::new(
                "tapin journal add TEXT",
                "a journal write",
                &["journal", "add", ADD_TEXT],
            ),
            Timed::new(
                &format!("tapin journal search {SEARCH_WORD}"),
                "the first read after `journal add`",
                &["journal", "search", SEARCH_WORD],
            ),
            Timed::new(
                &format!("tapin journal search {SEARCH_TAG}"),
                "the first read after `journal add`",
                &["journal", "search", SEARCH_TAG],
            ),
            Timed::new(
                &format!("tapin journal search {SEARCH_WORD}"),
                "cold cache: every journal document compacted, the view cache and recorded heads \
                 emptied first",
                &["journal", "search", SEARCH_WORD],
            ),
            Timed::new(
                &format!("tapin log {someone} --by me"),
                "a side write",
                &["log", &someone, "--by", "me", "--via", "call"],
            ),
            Timed::new(
                &format!("tapin journal search {SEARCH_WORD}"),
                "index lost: every derived table dropped or emptied first (the search rebuilds \
                 the index from every journal document)",
                &["journal", "search", SEARCH_WORD],
            ),
        ];
        // A write and the read right after it always run together, in that order.
        let units = vec![
            vec![Step::Run(W_WHOAMI)],
            vec![Step::Run(W_ADD), Step::Run(W_WORD_AFTER)],
            vec![Step::Run(W_ADD), Step::Run(W_TAG_AFTER)],
            vec![Step::Compact, Step::Run(W_COLD)],
            vec![Step::Run(W_LOG)],
            vec![Step::ClearDerived, Step::Run(W_LOST)],
        ];
        eprintln!("timing writes and the reads after them ...");
        let writes = cli.time_round_robin(writes, &units, 1, WRITE_ROUNDS)?;
        let took = started.elapsed();
        eprintln!("done in {:.0} s", took.as_secs_f64());
        Ok(Scale {
            entries,
            population,
            history,
            sizes,
            components,
            reads,
            writes,
            took,
        })
    }
}

/// The journal's history as stored: how many automerge changes its documents hold.
struct History {
    documents: usize,
    changes: usize,
    took: Duration,
}

impl History {
    fn count(home: &Path) -> Result<History> {
        let started = Instant::now();
        let store = Store::open(home)?;
        let ids = journal_docs(&store)?;
        let mut changes = 0;
        for id in &ids {
            let doc = store
                .load(id)?
                .ok_or(format!("{id} is listed but not stored"))?;
            changes += doc.get_changes(&[]).len();
        }
        Ok(History {
            documents: ids.len(),
            changes,
            took: started.elapsed(),
        })
    }
}

/// Compacts every journal document (`Store::compact`: a new snapshot, the chunks it covers
/// deleted) and empties the view cache and the recorded heads: the caches a compaction and a
/// restart leave cold. The journal's index names each document's version, which a compaction
/// keeps, so it stays.
fn compact_journal(home: &Path) -> Result<()> {
    let store = Store::open(home)?;
    for doc in journal_docs(&store)? {
        store.compact(&doc)?;
    }
    drop(store);
    let conn = rusqlite::Connection::open(home.join(tapin_store::DB_FILE))?;
    for table in ["view_cache", "doc_heads"] {
        conn.execute(&format!("DELETE FROM {table}"), [])?;
    }
    Ok(())
}

/// Empties every [`derived_tables`] table with plain SQL, as if the store had never built them:
/// the journal's index is dropped, as on a device that never had it (the store lays the tables
/// out again on its next open, and the search fills them), the other tables are emptied.
fn clear_derived(home: &Path) -> Result<()> {
    let conn = rusqlite::Connection::open(home.join(tapin_store::DB_FILE))?;
    for table in derived_tables() {
        let sql = if table.starts_with("journal_") {
            format!("DROP TABLE IF EXISTS {table}")
        } else {
            format!("DELETE FROM {table}")
        };
        conn.execute(&sql, [])
            .map_err(|e| format!("emptying the derived table {table}: {e}"))?;
    }
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

    /// Runs every unit once per round, in an order rotated each round so that no unit always
    /// follows the same one, and keeps the samples of the rounds after `warmup`. A unit's steps
    /// always run together and in order: a write and the read right after it.
    fn time_round_robin(
        &self,
        mut timed: Vec<Timed>,
        units: &[Vec<Step>],
        warmup: usize,
        rounds: usize,
    ) -> Result<Vec<Timed>> {
        for round in 0..warmup + rounds {
            for k in 0..units.len() {
                for step in &units[(round + k) % units.len()] {
                    match *step {
                        Step::ClearDerived => clear_derived(&self.home)?,
                        Step::Compact => compact_journal(&self.home)?,
                        Step::Run(i) => {
                            let took = self.run_ok(&timed[i].args)?;
                            if round >= warmup {
                                timed[i].samples.push(took);
                            }
                        }
                    }
                }
            }
        }
        Ok(timed)
    }
}

/// One step of a round-robin unit.
enum Step {
    /// Run and time `timed[i]`.
    Run(usize),
    /// Empty the derived tables (untimed).
    ClearDerived,
    /// Compact every journal document and empty the view cache and the recorded heads (untimed):
    /// what a compaction and a restart leave.
    Compact,
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
    /// Records written, one `Txn::update` (one automerge change) each.
    records: usize,
    /// SQLite transactions they were written in.
    transactions: usize,
    took: Duration,
    /// Per kind of record: (label, records, time).
    kinds: Vec<(&'static str, usize, Duration)>,
    /// Median `Store::update` of one journal entry over the first and the last [`TIMED_WRITES`]
    /// entries.
    journal_first: Duration,
    journal_last: Duration,
}

/// One edit of a document, kept until its batch is written.
type Edit = Box<dyn FnOnce(&mut AutoCommit) -> Result<(), docs::DocError>>;

/// Writes records in batches of [`BATCH`] per SQLite transaction, each its own `Txn::update`:
/// `Txn::update` commits the closure's edits as one automerge change and appends it as one chunk
/// (with compaction checked after it), exactly as a `Store::update` does.
struct Writer<'s> {
    store: &'s Store,
    actor: ActorId,
    pending: Vec<(DocId, Edit)>,
    records: usize,
    transactions: usize,
}

impl Writer<'_> {
    fn push(
        &mut self,
        doc: DocId,
        edit: impl FnOnce(&mut AutoCommit) -> Result<(), docs::DocError> + 'static,
    ) -> Result<()> {
        self.pending.push((doc, Box::new(edit)));
        if self.pending.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        let n = pending.len();
        self.store.transaction(&self.actor, |txn| {
            for (doc, edit) in pending {
                txn.update(&doc, |d| {
                    edit(d).map_err(|e| Box::<dyn Error>::from(format!("writing to {doc}: {e}")))
                })?;
            }
            Ok::<_, Box<dyn Error>>(())
        })?;
        self.records += n;
        self.transactions += 1;
        Ok(())
    }

    /// Writes one record on its own, after everything pending (so the order is kept), with one
    /// `Store::update` as a command does, and returns how long that took.
    fn write_alone(
        &mut self,
        doc: DocId,
        edit: impl FnOnce(&mut AutoCommit) -> Result<(), docs::DocError>,
    ) -> Result<Duration> {
        self.flush()?;
        let started = Instant::now();
        self.store
            .update(&doc, &self.actor, edit)
            .map_err(|e| format!("writing to {doc}: {e}"))?;
        let took = started.elapsed();
        self.records += 1;
        self.transactions += 1;
        Ok(took)
    }
}

/// Fills the home with three years of a busy person's use and `entries` journal entries, one
/// automerge change per record in the order they were made, batched as [`Writer`] says.
fn populate(home: &Path, now: DateTime<Utc>, entries: usize) -> Result<Population> {
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
    let mut kinds = Vec::new();
    let started = Instant::now();
    let mut w = Writer {
        store: &store,
        actor,
        pending: Vec::new(),
        records: 0,
        transactions: 0,
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
        let r = rel.clone();
        w.push(DocId::Private, move |d| docs::put_relationship(d, id, &r))?;
        people.push((id, rel));
    }
    w.flush()?;
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
        w.push(where_.doc(), move |d| {
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
        w.push(where_.doc(), move |d| {
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
        w.push(where_.doc(), move |d| {
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
        w.push(where_.doc(), move |d| {
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
        w.push(where_.doc(), move |d| {
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
        w.push(DocId::Private, move |d| {
            docs::put_reflection(d, id, &reflection)
        })?;
        records += 1;
    }
    w.flush()?;
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
        w.push(where_.doc(), move |d| {
            docs::put_record(d, where_, Collection::Interactions, id, &interaction)
        })?;
    }
    w.flush()?;
    kinds.push(("interactions", INTERACTIONS, t.elapsed()));

    // The journal, in the order it was written.
    let t = Instant::now();
    let words: Vec<&str> = WORDS.split_whitespace().collect();
    let mut first = Vec::with_capacity(TIMED_WRITES);
    let mut last = Vec::with_capacity(TIMED_WRITES);
    for n in 0..entries {
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
            at: at(&mut rng, n, entries),
            tags: extract_tags(&text),
            text,
            about,
            starred: rng.percent(5),
            principles: Vec::new(),
        };
        let id = rng.id();
        let doc = journal_doc(entry.at);
        if n < TIMED_WRITES {
            first.push(w.write_alone(doc, |d| docs::put_entry(d, id, &entry))?);
        } else if n >= entries - TIMED_WRITES {
            last.push(w.write_alone(doc, |d| docs::put_entry(d, id, &entry))?);
        } else {
            w.push(doc, move |d| docs::put_entry(d, id, &entry))?;
        }
        if (n + 1) % 5000 == 0 {
            eprintln!(
                "  {} journal entries, {:.1} s",
                n + 1,
                started.elapsed().as_secs_f64()
            );
        }
    }
    w.flush()?;
    kinds.push(("journal entries", entries, t.elapsed()));

    Ok(Population {
        records: w.records,
        transactions: w.transactions,
        took: started.elapsed(),
        kinds,
        journal_first: median(&first),
        journal_last: median(&last),
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
        // Sides and journal documents are summed, each kind in one row.
        let mut sides = Group::default();
        let mut journal = Group::default();
        for d in &stats.documents {
            let group = match d.doc {
                DocId::Side(_) => &mut sides,
                doc if is_journal(&doc) => &mut journal,
                doc => {
                    docs.push((
                        format!("`{doc}`"),
                        1,
                        d.snapshot_bytes,
                        d.chunks,
                        d.chunk_bytes,
                    ));
                    continue;
                }
            };
            group.documents += 1;
            group.snapshot += d.snapshot_bytes;
            group.chunks += d.chunks;
            group.chunk_bytes += d.chunk_bytes;
            group.largest = group.largest.max(d.snapshot_bytes + d.chunk_bytes);
        }
        for (label, g) in [("journal documents", journal), ("`side-…`", sides)] {
            docs.push((
                format!("{label}, all (largest {})", kib(g.largest)),
                g.documents,
                g.snapshot,
                g.chunks,
                g.chunk_bytes,
            ));
        }
        Ok(Sizes {
            db_file,
            wal_file,
            db_bytes: stats.db_bytes,
            docs,
        })
    }
}

/// Several documents' sizes, summed.
#[derive(Default)]
struct Group {
    documents: usize,
    snapshot: u64,
    chunks: u64,
    chunk_bytes: u64,
    largest: u64,
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

        let journal_ids = journal_docs(&store)?;
        let (load, journal_loaded) = time_in_process(runs, || {
            let store = Store::open(home)?;
            journal_ids
                .iter()
                .map(|id| store.load(id)?.ok_or_else(|| format!("no {id}").into()))
                .collect::<Result<Vec<Automerge>>>()
        })?;
        rows.push(("load every journal document (`Store::load`)", load));
        let (hydrate, journal) = time_in_process(runs, || {
            journal_loaded
                .iter()
                .zip(&journal_ids)
                .map(|(d, id)| Ok(docs::read_journal_week(d, *id)?))
                .collect::<Result<Vec<docs::JournalDoc>>>()
        })?;
        rows.push((
            "hydrate every journal document (`read_journal_week`)",
            hydrate,
        ));
        let word = Query::parse(SEARCH_WORD);
        let (find, search_word_hits) = time_in_process(runs, || {
            Ok(journal.iter().map(|j| search(j, &word).len()).sum())
        })?;
        rows.push(("`views::journal::search` for the word", find));
        let tag = Query::parse(SEARCH_TAG);
        let (find, search_tag_hits) = time_in_process(runs, || {
            Ok(journal.iter().map(|j| search(j, &tag).len()).sum())
        })?;
        rows.push(("`views::journal::search` for the tag", find));

        // Not steps of a command: automerge's own whole-document read, one ordered pass with no
        // lookups by key, against which to weigh the per-field hydration above.
        let mut comparisons = Vec::new();
        let (one_pass, _) = time_in_process(runs, || Ok(private_doc.hydrate(None)))?;
        comparisons.push(("`Automerge::hydrate(None)` of `private`", one_pass));
        let (one_pass, _) = time_in_process(runs, || {
            Ok(journal_loaded
                .iter()
                .map(|d| d.hydrate(None))
                .collect::<Vec<_>>())
        })?;
        comparisons.push((
            "`Automerge::hydrate(None)` of every journal document",
            one_pass,
        ));
        // What a cache of the hydrated documents (for instance a table keyed by the newest chunk
        // id, which every write changes) would cost to read back instead of automerge.
        let json = serde_json::to_vec(&journal)?;
        let (cached, _) = time_in_process(runs, || {
            Ok(serde_json::from_slice::<Vec<docs::JournalDoc>>(&json)?)
        })?;
        comparisons.push(("`serde_json::from_slice` of the hydrated journal", cached));
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
            entries: journal.iter().map(|j| j.entries.len()).sum(),
            text_bytes: journal
                .iter()
                .flat_map(|j| j.entries.values())
                .map(|e| e.text.len())
                .sum(),
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

/// One row of issue 14's table, as measured in one home.
struct IssueRow {
    row: &'static str,
    case: String,
    /// The time the figure is made of (for row 5, the last writes' median).
    median: Duration,
    /// The figure the target is about: a ratio to `whoami`, or for row 5 last ÷ first.
    figure: f64,
    target: f64,
    /// What `figure` is a ratio to.
    of: &'static str,
}

fn issue_rows(s: &Scale) -> Vec<IssueRow> {
    let mut rows = Vec::new();
    let whoami_w = s.writes[W_WHOAMI].median();
    let whoami_r = s.reads[R_WHOAMI].median();
    let mut push = |row, case: String, t: &Timed, whoami: Duration, target| {
        rows.push(IssueRow {
            row,
            case,
            median: t.median(),
            figure: t.median().as_secs_f64() / whoami.as_secs_f64(),
            target,
            of: "`whoami`",
        });
    };
    push(
        "1",
        "`journal add` (median of cold processes)".to_owned(),
        &s.writes[W_ADD],
        whoami_w,
        8.0,
    );
    push(
        "2",
        format!("the first `journal search {SEARCH_WORD}` after a write"),
        &s.writes[W_WORD_AFTER],
        whoami_w,
        10.0,
    );
    push(
        "3",
        format!("the first `journal search {SEARCH_TAG}` after a write"),
        &s.writes[W_TAG_AFTER],
        whoami_w,
        10.0,
    );
    push(
        "4",
        format!(
            "`journal search {SEARCH_WORD}` with a cold cache (every journal document compacted, \
             the view cache and recorded heads emptied, a new process)"
        ),
        &s.writes[W_COLD],
        whoami_w,
        30.0,
    );
    for (i, name) in [
        (R_TODAY, "`today`"),
        (R_PEOPLE, "`people`"),
        (R_SHOW, "`show NAME`"),
    ] {
        push("6", name.to_owned(), &s.reads[i], whoami_r, 10.0);
    }
    if let Some(p) = &s.population {
        let row5 = IssueRow {
            row: "5",
            case: format!(
                "one journal write, store-level: median of the last {TIMED_WRITES} of {} ÷ the \
                 first {TIMED_WRITES} ({:.2} ms ÷ {:.2} ms)",
                s.entries,
                ms(p.journal_last),
                ms(p.journal_first)
            ),
            median: p.journal_last,
            figure: p.journal_last.as_secs_f64() / p.journal_first.as_secs_f64(),
            target: 2.0,
            of: "the first writes",
        };
        rows.insert(4, row5);
    }
    rows
}

fn verdict(figure: f64, target: f64) -> &'static str {
    if figure <= target {
        "met"
    } else {
        "**missed**"
    }
}

fn report(bin: &Path, s: &Scale) -> String {
    let mut out = String::new();
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let facts = &s.components.facts;
    let _ = writeln!(out, "### {} journal entries\n", s.entries);
    let _ = writeln!(
        out,
        "Home: {} relationships ({} active), {} interactions, {} journal entries ({:.1} MB of \
         text), and goals, rituals, check-ins, thanks, boundaries and reflections, over \
         {HISTORY_DAYS} days up to {NOW}. Binary: `{}`. {cores} cores available. Measured in \
         {:.0} s.\n",
        facts.relationships,
        facts.active,
        facts.interactions,
        facts.entries,
        facts.text_bytes as f64 / 1e6,
        bin.display(),
        s.took.as_secs_f64(),
    );
    let h = &s.history;
    let _ = writeln!(
        out,
        "The journal's history holds {} changes in {} document(s), counted after populating \
         (`get_changes(&[])` of each): {} per entry.\n",
        h.changes,
        h.documents,
        if facts.entries == 0 {
            "–".to_owned()
        } else {
            format!("{:.2}", h.changes as f64 / facts.entries as f64)
        }
    );

    let _ = writeln!(out, "#### The issue's rows\n");
    let _ = writeln!(out, "| row | case | median | figure | target | |");
    let _ = writeln!(out, "|---|---|--:|--:|--:|---|");
    for r in issue_rows(s) {
        let _ = writeln!(
            out,
            "| {} | {} | {:.1} ms | {:.1}× {} | ≤ {}× | {} |",
            r.row,
            r.case,
            ms(r.median),
            r.figure,
            r.of,
            r.target,
            verdict(r.figure, r.target)
        );
    }
    if s.population.is_none() {
        let _ = writeln!(
            out,
            "\nRow 5 is measured while populating, which this run skipped (a reused home)."
        );
    }
    let _ = writeln!(out);

    let version = s.reads[0].median();
    let whoami = s.reads[R_WHOAMI].median();
    let _ = writeln!(
        out,
        "#### Reads, cold processes ({ROUNDS} runs each after {WARMUP} warm-up rounds, round-robin)\n"
    );
    let _ = writeln!(
        out,
        "| command | what | median | p90 | × `--version` | × `whoami` |"
    );
    let _ = writeln!(out, "|---|---|--:|--:|--:|--:|");
    for t in &s.reads {
        let _ = writeln!(
            out,
            "| `{}` | {} | {:.1} ms | {:.1} ms | {} | {} |",
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
        s.components.search_word_hits, s.components.search_tag_hits
    );

    let whoami_w = s.writes[W_WHOAMI].median();
    let _ = writeln!(
        out,
        "#### Writes and the reads right after them (cold processes, {WRITE_ROUNDS} rounds after \
         one warm-up round, round-robin, timed last)\n"
    );
    let _ = writeln!(
        out,
        "Each round runs, in a rotated order: `whoami`; `journal add` then `journal search \
         {SEARCH_WORD}`; `journal add` then `journal search {SEARCH_TAG}`; the derived tables \
         ({}) emptied, then `journal search {SEARCH_WORD}`; `log`. `journal add` is timed in both \
         of its units.\n",
        derived_tables()
            .map(|t| format!("`{t}`"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(out, "| command | what | median | p90 | × `whoami` |");
    let _ = writeln!(out, "|---|---|--:|--:|--:|");
    for t in &s.writes {
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
    let _ = writeln!(out);

    let components = &s.components;
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
        + components.get("load every journal")
        + components.get("hydrate every journal")
        + components.get("for the word");
    let _ = writeln!(
        out,
        "\nSum of the steps `tapin people` takes without a cache: {:.1} ms; `tapin journal \
         search {SEARCH_WORD}`: {:.1} ms (against {:.1} ms for the cold-cache process).\n",
        ms(people_steps),
        ms(search_steps),
        ms(s.writes[W_COLD].median()),
    );

    let sizes = &s.sizes;
    let _ = writeln!(out, "#### Store size, before any command ran\n");
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
        .find(|d| d.0.starts_with("journal"))
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

    match &s.population {
        Some(population) => write_population(&mut out, population),
        None => {
            let _ = writeln!(
                out,
                "#### Populating\n\nSkipped: the home was already populated (a reused home).\n"
            );
        }
    }
    out
}

/// Each row's figure with 30,000 entries against its figure with 10,000 (issue 14, last row).
fn comparison(small: &Scale, large: &Scale) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### {} entries against {}\n\nEach row's figure (its ratio to `whoami` in the same run, or \
         for row 5 last ÷ first) with {} entries, divided by the same figure with {}.\n",
        large.entries, small.entries, large.entries, small.entries
    );
    let _ = writeln!(
        out,
        "| row | case | {} | {} | ÷ | target | |",
        small.entries, large.entries
    );
    let _ = writeln!(out, "|---|---|--:|--:|--:|--:|---|");
    let large_rows = issue_rows(large);
    for a in issue_rows(small) {
        let Some(b) = large_rows
            .iter()
            .find(|b| b.row == a.row && b.of == a.of && (a.row == "5" || b.case == a.case))
        else {
            continue;
        };
        let times = b.figure / a.figure;
        let case = if a.row == "5" {
            "one journal write, store-level, last ÷ first".to_owned()
        } else {
            a.case.clone()
        };
        let _ = writeln!(
            out,
            "| {} | {case} | {:.1}× | {:.1}× | {times:.2} | ≤ {SCALE_TARGET} | {} |",
            a.row,
            a.figure,
            b.figure,
            verdict(times, SCALE_TARGET)
        );
    }
    let _ = writeln!(out);
    out
}

fn write_population(out: &mut String, population: &Population) {
    let _ = writeln!(
        out,
        "#### Populating ({} records, one `Txn::update` each, in {} transactions: {BATCH} records \
         per transaction, the first and last {TIMED_WRITES} journal entries one `Store::update` \
         each)\n",
        population.records, population.transactions
    );
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
        population.records,
        population.took.as_secs_f64(),
        ms(population.took) / population.records as f64
    );
    let _ = writeln!(
        out,
        "\nOne journal write (`Store::update`, median): {:.2} ms over the first {TIMED_WRITES} \
         entries, {:.2} ms over the last {TIMED_WRITES} ({}).\n",
        ms(population.journal_first),
        ms(population.journal_last),
        ratio(population.journal_last, population.journal_first)
    );
}
