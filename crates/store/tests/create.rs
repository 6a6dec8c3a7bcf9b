//! Creating a home: only in a new or empty directory, never changing a directory it did not
//! make, and atomically: a home appears whole or not at all, and of racing creates exactly one
//! succeeds.
//!
//! The racing and killed creates are this test binary re-executed with `--exact child_creator`
//! and [`CHILD_ENV`] set; see [`child_creator`].

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use automerge::transaction::Transactable;
use automerge::{ActorId, ROOT, ReadDoc};
use tapin_core::DocId;
use tapin_store::{CreateError, DB_FILE, MetaKey, Store, StoreError, UpdateError};

/// Set (to the home to create) only in child processes.
const CHILD_ENV: &str = "TAPIN_STORE_TEST_CREATE_HOME";
/// The child's name for itself, written into the home it creates.
const WHO_ENV: &str = "TAPIN_STORE_TEST_CREATE_WHO";
/// `hang` makes the child stop inside `init` until killed.
const MODE_ENV: &str = "TAPIN_STORE_TEST_CREATE_MODE";

const DEADLINE: Duration = Duration::from_secs(120);

/// Everything a create can fail with, as a caller of the CLI's kind would collect it.
#[derive(Debug)]
enum InitError {
    Create(CreateError),
    Store(#[allow(dead_code)] String),
}

impl From<CreateError> for InitError {
    fn from(err: CreateError) -> Self {
        InitError::Create(err)
    }
}

impl From<StoreError> for InitError {
    fn from(err: StoreError) -> Self {
        InitError::Store(err.to_string())
    }
}

impl<E: std::fmt::Debug> From<UpdateError<E>> for InitError {
    fn from(err: UpdateError<E>) -> Self {
        InitError::Store(format!("{err:?}"))
    }
}

/// What `tapin init` will do inside `create`: keys and meta, then a first document.
fn init(store: &Store, who: &str) -> Result<String, InitError> {
    store.set_meta(MetaKey::PersonSecret, &[7; 32])?;
    store.set_meta(MetaKey::DeviceCert, who.as_bytes())?;
    let device = ActorId::from(who.as_bytes());
    store.update(&DocId::Private, &device, |d| d.put(ROOT, "who", who))?;
    store.set_meta(MetaKey::Name, who.as_bytes())?;
    Ok(who.to_owned())
}

fn leftovers(home: &Path) -> Vec<String> {
    fs::read_dir(home)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|name| !name.starts_with(DB_FILE))
                .collect()
        })
        .unwrap_or_default()
}

/// Who created the home, checked the way `tapin` opens one: every entry there, in agreement.
fn creator(home: &Path) -> String {
    let store = Store::open(home).unwrap();
    let who =
        String::from_utf8(store.get_meta(MetaKey::DeviceCert).unwrap().expect("who")).unwrap();
    assert_eq!(
        store.get_meta(MetaKey::Name).unwrap().as_deref(),
        Some(who.as_bytes())
    );
    let private = store.load(&DocId::Private).unwrap().expect("private");
    let (value, _) = private.get(ROOT, "who").unwrap().expect("who");
    assert_eq!(value.as_str(), Some(who.as_str()));
    who
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[cfg(unix)]
fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn creates_a_new_home_whole() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("new parent").join("home");
    let (store, who) = Store::create(&home, |store| init(store, "maya")).unwrap();
    assert_eq!(who, "maya");
    assert_eq!(store.db_path(), home.join(DB_FILE));
    assert!(!store.is_read_only());
    drop(store);
    assert_eq!(creator(&home), "maya");
    assert!(leftovers(&home).is_empty(), "{:?}", leftovers(&home));
    #[cfg(unix)]
    {
        assert_eq!(mode(&home), 0o700);
        assert_eq!(mode(&home.join(DB_FILE)), 0o600);
    }
}

/// Regression test for "`init` takes any directory": it set the mode of any existing
/// directory to 0700, even a shared 1777 one, and `--home /` did it to `/`.
#[cfg(unix)]
#[test]
fn an_empty_directory_is_used_and_keeps_its_mode() {
    for shared in [0o755, 0o1777] {
        let dir = tempfile::tempdir().unwrap();
        chmod(dir.path(), shared);
        Store::create(dir.path(), |store| init(store, "maya")).unwrap();
        assert_eq!(mode(dir.path()), shared);
        assert_eq!(creator(dir.path()), "maya");
    }
}

#[test]
fn refuses_a_home_and_a_directory_that_is_not_empty() {
    let dir = tempfile::tempdir().unwrap();
    Store::create(dir.path(), |store| init(store, "first")).unwrap();
    let err = Store::create(dir.path(), |store| init(store, "second")).unwrap_err();
    let InitError::Create(err) = err else {
        panic!("{err:?}")
    };
    assert!(
        matches!(&err, CreateError::AlreadyHome { path } if path == dir.path()),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!("{} already holds a tapin home", dir.path().display())
    );
    assert_eq!(creator(dir.path()), "first");

    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("notes.txt"), b"mine").unwrap();
    #[cfg(unix)]
    chmod(dir.path(), 0o1777);
    let err = Store::create(dir.path(), |store| init(store, "second")).unwrap_err();
    let InitError::Create(err) = err else {
        panic!("{err:?}")
    };
    assert!(
        matches!(&err, CreateError::NotEmpty { path } if path == dir.path()),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(&dir.path().display().to_string())
            && err.to_string().contains("not a tapin home"),
        "{err}"
    );
    assert_eq!(leftovers(dir.path()), ["notes.txt"]);
    assert!(!dir.path().join(DB_FILE).exists());
    #[cfg(unix)]
    assert_eq!(
        mode(dir.path()),
        0o1777,
        "the mode of a directory it did not make"
    );

    let file = dir.path().join("notes.txt");
    let err = Store::create(&file, |store| init(store, "second")).unwrap_err();
    assert!(
        matches!(&err, InitError::Create(CreateError::NotADirectory { path }) if *path == file),
        "{err:?}"
    );
}

#[test]
fn a_failed_or_panicking_init_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let err = Store::create(&home, |store| {
        init(store, "maya")?;
        Err::<(), _>(InitError::Store("the caller gave up".into()))
    })
    .unwrap_err();
    assert!(matches!(err, InitError::Store(_)), "{err:?}");
    assert!(
        !home.exists(),
        "a home it made for a failed create is removed"
    );

    let existing = tempfile::tempdir().unwrap();
    let panicked = std::panic::catch_unwind(|| {
        Store::create(existing.path(), |store| -> Result<(), InitError> {
            init(store, "maya")?;
            panic!("init panics half-way");
        })
    });
    assert!(panicked.is_err());
    assert!(existing.path().exists());
    assert!(
        fs::read_dir(existing.path()).unwrap().next().is_none(),
        "left behind: {:?}",
        leftovers(existing.path())
    );
    // And the directory is still good for a home.
    Store::create(existing.path(), |store| init(store, "maya")).unwrap();
}

/// The child process's entry point; does nothing in a normal test run.
///
/// Waits for a line on stdin (so that the parent can start several at the same moment), then
/// creates the home, printing `created` or `refused: <debug of the error>`. With `MODE=hang` it
/// prints `inside` from within `init`, after writing, and waits there to be killed.
#[test]
fn child_creator() {
    let Ok(home) = std::env::var(CHILD_ENV) else {
        return;
    };
    let who = std::env::var(WHO_ENV).unwrap();
    let hang = std::env::var(MODE_ENV).is_ok_and(|mode| mode == "hang");
    let mut stdin = std::io::stdin().lines();
    stdin.next().unwrap().unwrap();
    let result = Store::create(Path::new(&home), |store| {
        let who = init(store, &who)?;
        if hang {
            let mut stdout = std::io::stdout().lock();
            writeln!(stdout, "inside").unwrap();
            stdout.flush().unwrap();
            for _ in stdin.by_ref() {}
        }
        Ok::<_, InitError>(who)
    });
    let mut stdout = std::io::stdout().lock();
    match result {
        Ok(_) => writeln!(stdout, "created").unwrap(),
        Err(err) => writeln!(stdout, "refused: {err:?}").unwrap(),
    }
}

struct Creator {
    child: Child,
    out: BufReader<ChildStdout>,
}

impl Creator {
    fn spawn(home: &Path, who: &str, mode: &str) -> Creator {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "child_creator",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, home)
            .env(WHO_ENV, who)
            .env(MODE_ENV, mode)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        Creator { child, out }
    }

    fn go(&mut self) {
        writeln!(self.child.stdin.as_mut().unwrap(), "go").unwrap();
    }

    /// The child's verdict line (`created`, `refused: …`, `inside`), skipping the harness's.
    fn verdict(&mut self) -> Option<String> {
        let mut line = String::new();
        loop {
            line.clear();
            if self.out.read_line(&mut line).unwrap() == 0 {
                return None;
            }
            for word in ["created", "refused: ", "inside"] {
                if let Some(at) = line.find(word) {
                    return Some(line[at..].trim_end().to_owned());
                }
            }
        }
    }

    fn wait(mut self) -> std::process::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if start.elapsed() > DEADLINE {
                self.child.kill().unwrap();
                panic!("child creator still running after {DEADLINE:?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Regression test for "four `init`s racing on one new home: 52 of 200 trials had more than one
/// report success, each with a key that was never stored".
#[test]
fn of_racing_creates_exactly_one_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let trials = 20;
    for trial in 0..trials {
        // Half on a home that does not exist yet (they race to make it), half on an empty one.
        let home = dir.path().join(format!("trial-{trial}")).join("home");
        if trial % 2 == 1 {
            fs::create_dir_all(&home).unwrap();
        }
        let mut racers: Vec<Creator> = (0..4)
            .map(|i| Creator::spawn(&home, &format!("racer-{i}"), "race"))
            .collect();
        for racer in &mut racers {
            racer.go();
        }
        let mut winners = Vec::new();
        for (i, mut racer) in racers.into_iter().enumerate() {
            let verdict = racer.verdict().expect("a verdict");
            let status = racer.wait();
            assert!(
                status.success(),
                "trial {trial}: racer {i} failed: {status}"
            );
            if verdict == "created" {
                winners.push(format!("racer-{i}"));
            } else {
                assert!(
                    verdict.contains("AlreadyHome"),
                    "trial {trial}: racer {i}: {verdict}"
                );
            }
        }
        assert_eq!(winners.len(), 1, "trial {trial}: {winners:?}");
        // The one that said so is the one whose keys are stored.
        assert_eq!(creator(&home), winners[0], "trial {trial}");
        assert!(
            leftovers(&home).is_empty(),
            "trial {trial}: {:?}",
            leftovers(&home)
        );
    }
}

/// A create killed inside `init`, after it wrote keys and a document, leaves no home; the next
/// create there succeeds and clears what the killed one left.
#[test]
fn a_killed_create_leaves_no_home() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let mut creator_child = Creator::spawn(&home, "killed", "hang");
    creator_child.go();
    assert_eq!(creator_child.verdict().as_deref(), Some("inside"));
    creator_child.child.kill().unwrap();
    assert!(!creator_child.wait().success());
    assert!(!home.join(DB_FILE).exists());
    assert!(
        !leftovers(&home).is_empty(),
        "the killed create left its temporary database"
    );

    Store::create(&home, |store| init(store, "next")).unwrap();
    assert_eq!(creator(&home), "next");
    assert!(leftovers(&home).is_empty(), "{:?}", leftovers(&home));
}

/// Creates killed at arbitrary moments: afterwards there is either no `tapin.db`, or a whole one.
#[test]
fn creates_killed_at_any_moment_leave_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for trial in 0..12_u64 {
        let home = dir.path().join(format!("trial-{trial}"));
        let mut child = Creator::spawn(&home, "killed", "race");
        child.go();
        std::thread::sleep(Duration::from_millis(2 * trial));
        child.child.kill().unwrap();
        child.wait();
        if home.join(DB_FILE).exists() {
            assert_eq!(creator(&home), "killed", "trial {trial}");
        } else {
            Store::create(&home, |store| init(store, "next")).unwrap();
            assert_eq!(creator(&home), "next", "trial {trial}");
        }
    }
}
