//! Several processes on one home: concurrent writers, a writer killed mid-stream, and a
//! transaction over several documents killed before, during and after its commit.
//!
//! The child processes are this test binary re-executed with `--exact child_writer` (or
//! `child_transactor`) and [`CHILD_ENV`] set; see [`child_writer`] and [`child_transactor`].

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, ROOT, ReadDoc, ScalarValue, Value};
use tapin_core::{DocId, Id};
use tapin_store::{MetaKey, Store, TxnError};

/// Set (to the home directory) only in child processes.
const CHILD_ENV: &str = "TAPIN_STORE_TEST_CHILD_HOME";
const ACTOR_ENV: &str = "TAPIN_STORE_TEST_CHILD_ACTOR";
const PREFIX_ENV: &str = "TAPIN_STORE_TEST_CHILD_PREFIX";
const COUNT_ENV: &str = "TAPIN_STORE_TEST_CHILD_COUNT";

/// Generous: 500 fsync'd writes take a few seconds on a laptop, much longer on a loaded CI box.
const CHILD_DEADLINE: Duration = Duration::from_secs(300);

/// The child process's entry point; does nothing in a normal test run.
///
/// Waits for a line on stdin (so that the parent can start several children writing at the same
/// moment), then writes `COUNT` entries `PREFIX-i = i` into the journal with `ACTOR`, printing
/// `ack i` after each `update` has returned, that is, after the write is committed.
#[test]
fn child_writer() {
    let Ok(home) = std::env::var(CHILD_ENV) else {
        return;
    };
    let var = |name| std::env::var(name).unwrap_or_else(|_| panic!("{name} not set"));
    let actor: ActorId = var(ACTOR_ENV).parse().unwrap();
    let prefix = var(PREFIX_ENV);
    let count: u64 = var(COUNT_ENV).parse().unwrap();

    let store = Store::open(Path::new(&home)).unwrap();
    std::io::stdin().lines().next().unwrap().unwrap();
    let mut stdout = std::io::stdout().lock();
    for i in 0..count {
        store
            .update(&DocId::Journal, &actor, |doc| {
                doc.put(ROOT, format!("{prefix}-{i}"), i)
            })
            .unwrap();
        writeln!(stdout, "ack {i}").unwrap();
        stdout.flush().unwrap();
    }
}

/// The documents every transaction of [`child_transactor`] writes.
fn transacted() -> [DocId; 3] {
    [
        DocId::Private,
        DocId::Journal,
        DocId::Side(Id::from_bytes([5; 16])),
    ]
}

/// The other child process's entry point; does nothing in a normal test run.
///
/// Waits for a line on stdin, then runs `COUNT` transactions; transaction `i` writes `n = i`
/// into each of [`transacted`] (five edits each, so that it is long and sometimes compacts) and
/// into the meta entry `net.port`, printing `ack i` once it has committed. If `PREFIX` is `hang`, the
/// last transaction prints `inside` after editing every document and then waits for stdin to
/// close, inside the transaction, to be killed there.
#[test]
fn child_transactor() {
    let Ok(home) = std::env::var(CHILD_ENV) else {
        return;
    };
    let var = |name| std::env::var(name).unwrap_or_else(|_| panic!("{name} not set"));
    let actor: ActorId = var(ACTOR_ENV).parse().unwrap();
    let hang = var(PREFIX_ENV) == "hang";
    let count: u64 = var(COUNT_ENV).parse().unwrap();

    let store = Store::open(Path::new(&home)).unwrap();
    let mut stdin = std::io::stdin().lines();
    stdin.next().unwrap().unwrap();
    let mut stdout = std::io::stdout().lock();
    for i in 0..count {
        store
            .transaction(&actor, |txn| {
                for doc in transacted() {
                    for _ in 0..5 {
                        txn.update(&doc, |d| {
                            d.put(ROOT, "n", i).expect("put");
                            Ok::<_, TxnError>(())
                        })?;
                    }
                }
                txn.set_meta(MetaKey::NetPort, i.to_string().as_bytes())?;
                if hang && i + 1 == count {
                    writeln!(stdout, "inside").unwrap();
                    stdout.flush().unwrap();
                    for _ in stdin.by_ref() {}
                }
                Ok::<_, TxnError>(())
            })
            .unwrap();
        writeln!(stdout, "ack {i}").unwrap();
        stdout.flush().unwrap();
    }
}

struct Writer {
    child: Child,
    acks: BufReader<ChildStdout>,
}

impl Writer {
    fn spawn(home: &Path, actor: &ActorId, prefix: &str, count: u64) -> Writer {
        Writer::spawn_test("child_writer", home, actor, prefix, count)
    }

    fn spawn_test(test: &str, home: &Path, actor: &ActorId, prefix: &str, count: u64) -> Writer {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", test, "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, home)
            .env(ACTOR_ENV, actor.to_hex_string())
            .env(PREFIX_ENV, prefix)
            .env(COUNT_ENV, count.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let acks = BufReader::new(child.stdout.take().unwrap());
        Writer { child, acks }
    }

    /// Reads lines until one is exactly `wanted` (after the harness's own text on its line).
    fn expect_line(&mut self, wanted: &str) {
        let mut line = String::new();
        loop {
            line.clear();
            assert!(
                self.acks.read_line(&mut line).unwrap() > 0,
                "child exited before printing {wanted:?}"
            );
            if line.trim_end().ends_with(wanted) {
                return;
            }
        }
    }

    fn go(&mut self) {
        writeln!(self.child.stdin.as_mut().unwrap(), "go").unwrap();
    }

    /// The next acknowledged write, or `None` once the child's stdout is closed. Lines that are
    /// not acks (the test harness's own output) are skipped; the first ack shares its line with
    /// the harness's unfinished `test child_writer ... `.
    fn next_ack(&mut self) -> Option<u64> {
        let mut line = String::new();
        loop {
            line.clear();
            if self.acks.read_line(&mut line).unwrap() == 0 {
                return None;
            }
            if let Some((_, n)) = line.trim_end().rsplit_once("ack ") {
                return Some(n.parse().unwrap());
            }
        }
    }

    /// Waits for the child to exit, killing it and failing if it takes longer than `deadline`.
    fn wait(mut self, deadline: Duration) -> std::process::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if start.elapsed() > deadline {
                self.child.kill().unwrap();
                panic!("child writer still running after {deadline:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn get(doc: &Automerge, key: &str) -> Option<u64> {
    match doc.get(ROOT, key).ok()?? {
        (Value::Scalar(scalar), _) => match scalar.as_ref() {
            ScalarValue::Uint(n) => Some(*n),
            _ => None,
        },
        _ => None,
    }
}

/// Runs two children writing 500 entries each into one journal at the same time, then checks
/// every entry is there.
fn two_concurrent_writers(first: &ActorId, second: &ActorId) -> Automerge {
    let home = tempfile::tempdir().unwrap();
    // Create the store before the children race to.
    drop(Store::open(home.path()).unwrap());
    let count = 500;
    let mut writers = [
        Writer::spawn(home.path(), first, "a", count),
        Writer::spawn(home.path(), second, "b", count),
    ];
    for writer in &mut writers {
        writer.go();
    }
    for mut writer in writers {
        let mut acks = 0;
        while writer.next_ack().is_some() {
            acks += 1;
        }
        let status = writer.wait(CHILD_DEADLINE);
        assert!(status.success(), "child writer failed: {status}");
        assert_eq!(acks, count);
    }

    let store = Store::open(home.path()).unwrap();
    let journal = store.load(&DocId::Journal).unwrap().unwrap();
    for prefix in ["a", "b"] {
        for i in 0..count {
            assert_eq!(
                get(&journal, &format!("{prefix}-{i}")),
                Some(i),
                "{prefix}-{i}"
            );
        }
    }
    assert_eq!(journal.get_changes(&[]).len(), 2 * count as usize);
    let stats = store.stats().unwrap();
    assert!(stats.documents[0].chunks <= 64, "{stats:?}");
    journal
}

#[test]
fn two_processes_with_their_own_actors_lose_no_writes() {
    two_concurrent_writers(
        &ActorId::from(b"process one".as_slice()),
        &ActorId::from(b"process two".as_slice()),
    );
}

/// The real case: two tapin processes of one device share the device's actor. Without reloading
/// under the write lock, both would write the same sequence numbers and the journal would no
/// longer load.
#[test]
fn two_processes_with_one_actor_lose_no_writes() {
    let device = ActorId::from(b"one device".as_slice());
    let journal = two_concurrent_writers(&device, &device);
    let changes = journal.get_changes(&[]);
    let mut seqs: Vec<u64> = changes.iter().map(|change| change.seq()).collect();
    seqs.sort_unstable();
    assert!(
        seqs.iter().copied().eq(1..=1000),
        "sequence numbers not 1..=1000"
    );
}

#[test]
fn every_acknowledged_write_survives_sigkill() {
    let home = tempfile::tempdir().unwrap();
    drop(Store::open(home.path()).unwrap());
    let actor = ActorId::from(b"killed process".as_slice());
    let mut writer = Writer::spawn(home.path(), &actor, "k", u64::MAX);
    writer.go();

    let mut acked = Vec::new();
    while acked.len() < 200 {
        match writer.next_ack() {
            Some(n) => acked.push(n),
            None => panic!("child writer exited after {} acks", acked.len()),
        }
    }
    // `Child::kill` is SIGKILL on Unix: no destructors, no chance to finish the write in flight.
    writer.child.kill().unwrap();
    // Acks the child printed before it died count too.
    while let Some(n) = writer.next_ack() {
        acked.push(n);
    }
    let status = writer.wait(CHILD_DEADLINE);
    assert!(!status.success(), "child writer was not killed: {status}");

    let store = Store::open(home.path()).unwrap();
    let journal = store.load(&DocId::Journal).unwrap().unwrap();
    for &i in &acked {
        assert_eq!(
            get(&journal, &format!("k-{i}")),
            Some(i),
            "acknowledged k-{i} lost"
        );
    }
    // The store is still writable, with the same actor, after the crash.
    store
        .update(&DocId::Journal, &actor, |doc| doc.put(ROOT, "after", 1_u64))
        .unwrap();
    let journal = store.load(&DocId::Journal).unwrap().unwrap();
    assert_eq!(get(&journal, "after"), Some(1));
}

/// What the transactions of [`child_transactor`] left: the `n` of every document and of the
/// meta entry, which must all be the same.
fn transacted_n(home: &Path) -> Option<u64> {
    let store = Store::open(home).unwrap();
    let meta = store
        .get_meta(MetaKey::NetPort)
        .unwrap()
        .map(|bytes| String::from_utf8(bytes).unwrap().parse::<u64>().unwrap());
    for doc in transacted() {
        let n = store
            .load(&doc)
            .unwrap()
            .and_then(|loaded| get(&loaded, "n"));
        assert_eq!(
            n, meta,
            "{doc} disagrees with the meta entry: half a transaction"
        );
    }
    meta
}

/// A transaction killed inside its closure, after editing every document, leaves nothing.
#[test]
fn a_transaction_killed_inside_writes_nothing() {
    let home = tempfile::tempdir().unwrap();
    drop(Store::open(home.path()).unwrap());
    let actor = ActorId::from(b"killed transaction".as_slice());
    let mut child = Writer::spawn_test("child_transactor", home.path(), &actor, "hang", 4);
    child.go();
    for i in 0..3 {
        assert_eq!(child.next_ack(), Some(i));
    }
    child.expect_line("inside");
    child.child.kill().unwrap();
    let status = child.wait(CHILD_DEADLINE);
    assert!(!status.success(), "child was not killed: {status}");
    assert_eq!(transacted_n(home.path()), Some(2));
}

/// Transactions killed at arbitrary moments (before, during or after a commit) are each there
/// whole or not at all, and every acknowledged one is there.
#[test]
fn transactions_killed_at_any_moment_are_all_or_nothing() {
    let home = tempfile::tempdir().unwrap();
    drop(Store::open(home.path()).unwrap());
    let actor = ActorId::from(b"killed transactions".as_slice());
    let mut done = None;
    for trial in 0..10_u64 {
        let mut child =
            Writer::spawn_test("child_transactor", home.path(), &actor, "run", u64::MAX);
        child.go();
        // Let it commit a few (more each trial), then kill it at a moment that varies.
        let mut acked = None;
        for _ in 0..(1 + trial % 4) {
            acked = child.next_ack();
        }
        std::thread::sleep(Duration::from_micros(700 * trial + 100));
        child.child.kill().unwrap();
        while let Some(n) = child.next_ack() {
            acked = Some(n);
        }
        let status = child.wait(CHILD_DEADLINE);
        assert!(!status.success(), "child was not killed: {status}");

        let n = transacted_n(home.path());
        // Each child starts again at 0: what it acknowledged is there, or a later one of its own.
        let acked = acked.expect("the child acknowledged at least one transaction");
        assert!(
            n.is_some_and(|n| n >= acked),
            "trial {trial}: acked {acked}, found {n:?}"
        );
        done = n;
    }
    assert!(done.is_some());
}
