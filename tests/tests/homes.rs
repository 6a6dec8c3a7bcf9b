//! Homes on disk, through the real binary: where `init` may create one, that it appears whole
//! or not at all, that its files are private to their owner, and that a home that cannot be
//! written can still be read and exported.
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use tapin_e2e::{Home, tapin_bin};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

fn init(home: &Path) -> tapin_e2e::Run {
    Command::new(tapin_bin())
        .args(["--json", "init", "--name", "Maya"])
        .env("TAPIN_HOME", home)
        .env("TAPIN_NOW", tapin_e2e::NOW)
        .stdin(Stdio::null())
        .output()
        .expect("spawn tapin")
        .into()
}

/// `init` set the mode of any existing directory to 0700, even a shared 1777 one, and `--home /`
/// did that to `/`. It now uses an empty directory as it is, makes a new one private, and
/// refuses anything else.
#[test]
fn init_uses_an_empty_directory_as_it_is_and_refuses_one_that_is_not_a_home() {
    let root = tempfile::tempdir().expect("a temporary directory");
    let shared = root.path().join("shared");
    std::fs::create_dir(&shared).expect("mkdir");
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).expect("chmod");
    let run = init(&shared);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        mode(&shared),
        0o1777,
        "init changed the mode of a directory it did not make"
    );
    assert_eq!(mode(&shared.join("tapin.db")), 0o600);

    let new = root.path().join("new/deeper/home");
    let run = init(&new);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(mode(&new), 0o700, "a new home is private to its owner");
    assert_eq!(mode(&new.join("tapin.db")), 0o600);

    let full = root.path().join("full");
    std::fs::create_dir(&full).expect("mkdir");
    std::fs::write(full.join("notes.txt"), "mine").expect("write");
    std::fs::set_permissions(&full, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let run = init(&full);
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr
            .contains("is not empty and is not a tapin home; choose a new or empty directory"),
        "{}",
        run.stderr
    );
    assert_eq!(mode(&full), 0o755);
    let left: Vec<_> = std::fs::read_dir(&full)
        .expect("read")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(left, ["notes.txt"], "init left something behind");

    let again = init(&shared);
    assert_eq!(again.code, Some(1));
    assert!(
        again.stderr.contains("already holds a tapin home"),
        "{}",
        again.stderr
    );

    let root_mode = mode(Path::new("/"));
    let run = init(Path::new("/"));
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(mode(Path::new("/")), root_mode);
    assert!(!Path::new("/tapin.db").exists());
}

/// Four `init`s racing on one new home: 52 of 200 trials had more than one report success, each
/// with a key that was never stored. Now exactly one succeeds, and the home holds its key.
#[test]
fn of_inits_racing_on_one_home_exactly_one_succeeds_and_its_identity_is_the_one_stored() {
    for trial in 0..20 {
        let root = tempfile::tempdir().expect("a temporary directory");
        let home = root.path().join("home");
        let racers: Vec<_> = (0..4)
            .map(|_| {
                Command::new(tapin_bin())
                    .args(["--json", "init", "--name", "Maya"])
                    .env("TAPIN_HOME", &home)
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("spawn tapin")
            })
            .collect();
        let runs: Vec<tapin_e2e::Run> = racers
            .into_iter()
            .map(|c| c.wait_with_output().expect("wait").into())
            .collect();
        let won: Vec<&tapin_e2e::Run> = runs.iter().filter(|r| r.code == Some(0)).collect();
        assert_eq!(won.len(), 1, "trial {trial}: {runs:#?}");
        for lost in runs.iter().filter(|r| r.code != Some(0)) {
            assert_eq!(lost.code, Some(1), "trial {trial}: {lost:?}");
            assert!(
                lost.stderr.contains("already holds a tapin home"),
                "trial {trial}: {}",
                lost.stderr
            );
        }
        let printed: serde_json::Value =
            serde_json::from_str(&won[0].stdout).expect("the winner's JSON");
        let whoami: tapin_e2e::Run = Command::new(tapin_bin())
            .args(["--json", "whoami"])
            .env("TAPIN_HOME", &home)
            .stdin(Stdio::null())
            .output()
            .expect("spawn tapin")
            .into();
        let stored: serde_json::Value = serde_json::from_str(&whoami.stdout).expect("JSON");
        assert_eq!(stored["person"], printed["person"], "trial {trial}");
        assert_eq!(stored["device"], printed["device"], "trial {trial}");
    }
}

/// `tapin.db`, which holds the secret keys, was 0644. Its files are 0600 now, and a home whose
/// files others can read is tightened, and the person told.
#[test]
fn the_database_files_are_private_and_loose_ones_are_tightened_and_said() {
    let home = Home::init("Maya");
    home.ok(&["person", "add", "Jordan"]);
    let db = home.path().join("tapin.db");
    assert_eq!(mode(&db), 0o600);
    // While a process has the home open its log and index exist: they are private too.
    let mut serve = home.spawn(&["serve"]);
    tapin_e2e::eventually(tapin_e2e::NET_TIMEOUT, "the log to exist", || {
        home.path().join("tapin.db-wal").exists() || !serve.running()
    });
    for suffix in ["-wal", "-shm"] {
        let file = home.path().join(format!("tapin.db{suffix}"));
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    drop(serve);

    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let run = home.run(&["people"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        // The log files SQLite keeps beside the database come and go with the processes using it.
        run.stderr.starts_with("tapin.db ")
            && run.stderr.contains(
                "was open to other users of this computer (mode 644); it is now private to you \
                 (600)."
            ),
        "{}",
        run.stderr
    );
    assert_eq!(mode(&db), 0o600);
    let quiet = home.run(&["people"]);
    assert_eq!(quiet.stderr, "", "said twice");
}

/// Runs `script` (sh) with `home` read-only: as root, in a private mount namespace where the home
/// is bind-mounted read-only (root ignores permission bits); otherwise with the home's directory
/// and files made read-only.
fn read_only(home: &Path, script: &str) -> tapin_e2e::Run {
    let bin = tapin_bin();
    let root = is_root();
    let mut cmd = if root {
        let mut c = Command::new("unshare");
        c.args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg(format!(
                "mount --bind -o ro \"$TAPIN_HOME\" \"$TAPIN_HOME\" && {script}"
            ));
        c
    } else {
        for entry in std::fs::read_dir(home).expect("the home") {
            let path = entry.expect("an entry").path();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).expect("chmod");
        }
        std::fs::set_permissions(home, std::fs::Permissions::from_mode(0o500)).expect("chmod");
        let mut c = Command::new("sh");
        c.arg("-c").arg(script);
        c
    };
    let run: tapin_e2e::Run = cmd
        .env("TAPIN_HOME", home)
        .env("TAPIN", bin)
        .env("TAPIN_NOW", tapin_e2e::NOW)
        .env("TZ", "UTC")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run the script")
        .into();
    if !root {
        std::fs::set_permissions(home, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    }
    run
}

/// Whether this process runs as root, read from `id -u` (no unsafe code, no libc).
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A home that cannot be written can still be read and exported; a write says why it fails.
#[test]
fn a_home_that_cannot_be_written_can_still_be_read_and_exported() {
    let home = Home::init("Maya");
    home.ok(&["person", "add", "Jordan"]);
    home.ok(&["thanks", "Jordan", "Thank you for the soup", "--private"]);
    home.ok(&["journal", "add", "A calm day @grateful"]);
    let before = home.export_json();
    let out = home.scratch().join("backup.json");
    let run = read_only(
        &home.path(),
        &format!(
            "\"$TAPIN\" people && \"$TAPIN\" show Jordan && \"$TAPIN\" journal search @grateful \
             && \"$TAPIN\" export --format json --out {out} \
             && if \"$TAPIN\" thanks Jordan again 2>{err}; then exit 9; else cat {err} >&2; fi",
            out = out.display(),
            err = home.scratch().join("write.err").display(),
        ),
    );
    assert_eq!(
        run.code,
        Some(0),
        "stdout: {}\nstderr: {}",
        run.stdout,
        run.stderr
    );
    assert!(run.stdout.contains("Jordan"), "{}", run.stdout);
    assert!(run.stdout.contains("A calm day"), "{}", run.stdout);
    assert!(
        run.stderr
            .contains("cannot be written; it is open read-only"),
        "{}",
        run.stderr
    );
    let exported: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out).expect("the export")).expect("JSON");
    for part in ["private", "journal", "sides"] {
        assert_eq!(exported[part], before[part], "{part}");
    }
}
