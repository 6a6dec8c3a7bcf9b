//! A home that cannot be written can still be read: a read-only mount, or (when not root, since
//! root ignores permission bits) a read-only directory and file.
//!
//! As root, the homes are bind-mounted read-only in a private mount namespace
//! (`unshare --mount`), and this test binary runs again inside it with `--exact child_read_only`
//! and [`CHILD_ENV`] set; the checks run there. Nothing here is skipped: a machine where neither
//! works fails the test.
#![cfg(unix)]

mod support;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use automerge::transaction::Transactable;
use automerge::{ActorId, ROOT};
use tapin_core::DocId;
use tapin_store::{DB_FILE, MetaKey, OpenError, Store, StoreError, TxnError, UpdateError};

use support::get;

/// Set (to the directory holding the homes) only in the child process.
const CHILD_ENV: &str = "TAPIN_STORE_TEST_READ_ONLY_ROOT";

fn device() -> ActorId {
    ActorId::from(b"read-only test".as_slice())
}

const VIEW: &[u8] = b"tapin-view-json-1\n{}";

/// A home as this tapin leaves it after a command: closed cleanly, so only `tapin.db` is left
/// (no `-wal`, no `-shm`): SQLite can then read it read-only only as immutable.
fn clean_home(home: &Path) {
    let store = Store::open(home).unwrap();
    for i in 0..10 {
        for doc in [DocId::Private, DocId::Journal] {
            store
                .update(&doc, &device(), |d| d.put(ROOT, format!("k{i}"), i))
                .unwrap();
        }
    }
    store.set_meta(MetaKey::Name, b"Maya").unwrap();
    let (journal, version) = store.load_versioned(&DocId::Journal).unwrap().unwrap();
    assert!(
        store
            .put_view(&DocId::Journal, version, &journal.get_heads(), VIEW)
            .unwrap()
    );
    drop(store);
    assert!(!home.join(format!("{DB_FILE}-wal")).exists());
}

/// A home with its `-wal` and `-shm` files beside it, as a home looks while another process has
/// it open (an empty log, and a shared-memory index SQLite rebuilds from it): SQLite reads it
/// with `SQLITE_OPEN_READONLY`. It is also an unmigrated format-1 file, written by release
/// c2a9253.
fn old_home(home: &Path) {
    fs::create_dir_all(home).unwrap();
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/homes/c2a9253/jordan");
    fs::copy(fixture.join(DB_FILE), home.join(DB_FILE)).unwrap();
    fs::write(home.join(format!("{DB_FILE}-wal")), b"").unwrap();
    fs::write(home.join(format!("{DB_FILE}-shm")), vec![0u8; 32 * 1024]).unwrap();
}

/// A home whose log holds commits but whose `-shm` file is gone: read-only, SQLite could only
/// read it as immutable, which would ignore the log. It must be refused, not shown stale.
fn home_with_unread_log(home: &Path) {
    clean_home(home);
    let db = home.join(DB_FILE);
    let writer = rusqlite::Connection::open(&db).unwrap();
    // Keep the log: do not checkpoint it into the file when this connection closes.
    writer.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
    writer
        .execute("INSERT INTO meta (key, value) VALUES ('late', x'01')", [])
        .unwrap();
    // Copy the file and its log while the writer still holds them, as a crash would leave them.
    let copy = home.with_extension("copy");
    fs::create_dir_all(&copy).unwrap();
    fs::copy(&db, copy.join(DB_FILE)).unwrap();
    let wal = format!("{DB_FILE}-wal");
    fs::copy(home.join(&wal), copy.join(&wal)).unwrap();
    drop(writer);
    fs::remove_dir_all(home).unwrap();
    fs::rename(&copy, home).unwrap();
    assert!(fs::metadata(home.join(&wal)).unwrap().len() > 0);
    assert!(!home.join(format!("{DB_FILE}-shm")).exists());
}

/// The homes the checks run on, inside `root`.
fn prepare(root: &Path) {
    clean_home(&root.join("clean"));
    old_home(&root.join("old"));
    home_with_unread_log(&root.join("unread-log"));
    fs::create_dir_all(root.join("empty")).unwrap();
    fs::write(root.join("empty").join(DB_FILE), b"").unwrap();
}

fn snapshot_files(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    for home in fs::read_dir(root).unwrap() {
        for file in fs::read_dir(home.unwrap().path()).unwrap() {
            let path = file.unwrap().path();
            files.push((path.clone(), fs::read(&path).unwrap()));
        }
    }
    files.sort();
    files
}

/// Every write fails with the read-only error naming the home, and none panics.
fn check_writes_refused(store: &Store, home: &Path) {
    let names_home = |message: String| {
        assert!(
            message.contains(&home.display().to_string()) && message.contains("read-only"),
            "{message}"
        );
    };
    let err = store
        .update(&DocId::Journal, &device(), |d| d.put(ROOT, "no", 1))
        .unwrap_err();
    assert!(matches!(err, UpdateError::ReadOnly { .. }), "{err:?}");
    names_home(err.to_string());
    let err = store
        .transaction(&device(), |txn| txn.set_meta(MetaKey::NetMdns, b"1"))
        .unwrap_err();
    assert!(matches!(err, TxnError::ReadOnly { .. }), "{err:?}");
    names_home(err.to_string());
    let err = store.apply_changes(&DocId::Journal, b"x").unwrap_err();
    assert!(matches!(err, UpdateError::ReadOnly { .. }), "{err:?}");
    let err = store.compact(&DocId::Journal).unwrap_err();
    assert!(matches!(err, UpdateError::ReadOnly { .. }), "{err:?}");
    for err in [
        store.set_meta(MetaKey::NetMdns, b"1").unwrap_err(),
        store
            .set_sync_state(&DocId::Journal, b"peer", b"s")
            .unwrap_err(),
        store.settings().unwrap_err(),
        store.put_view(&DocId::Journal, 1, &[], b"no").unwrap_err(),
    ] {
        assert!(matches!(err, StoreError::ReadOnly { .. }), "{err:?}");
        names_home(err.to_string());
    }
}

/// The checks, run where the homes in `root` cannot be written.
fn check_read_only(root: &Path) {
    // Really read-only: not even a new file can be made here.
    assert!(
        fs::write(root.join("clean").join("probe"), b"").is_err(),
        "the home is writable; the test would prove nothing"
    );

    let home = root.join("clean");
    let store = Store::open(&home).unwrap();
    assert!(store.is_read_only());
    assert!(store.tightened().is_empty());
    assert_eq!(store.documents().unwrap(), [DocId::Journal, DocId::Private]);
    for doc in [DocId::Private, DocId::Journal] {
        let loaded = store.load(&doc).unwrap().unwrap();
        assert_eq!(get(&loaded, "k9"), Some(9), "{doc}");
        assert!(store.heads(&doc).unwrap().is_some(), "{doc}");
    }
    assert_eq!(
        store.get_meta(MetaKey::Name).unwrap().as_deref(),
        Some(&b"Maya"[..])
    );
    assert_eq!(
        store.cached_view(&DocId::Journal).unwrap().as_deref(),
        Some(VIEW)
    );
    assert!(store.stored_bytes(&DocId::Journal).unwrap().is_some());
    assert!(store.stats().unwrap().db_bytes > 0);
    check_writes_refused(&store, &home);

    // Unmigrated and with a live-looking log: read as it is; no cache to use.
    let home = root.join("old");
    let store = Store::open(&home).unwrap();
    assert!(store.is_read_only());
    let documents = store.documents().unwrap();
    assert_eq!(documents.len(), 4, "{documents:?}");
    for doc in &documents {
        assert!(store.cached_view(doc).unwrap().is_none(), "{doc}");
        store.load(doc).unwrap().unwrap();
    }
    assert!(store.get_meta(MetaKey::PersonSecret).unwrap().is_some());
    check_writes_refused(&store, &home);

    let err = Store::open(&root.join("unread-log")).unwrap_err();
    assert!(matches!(err, OpenError::ReadOnlyWal { .. }), "{err:?}");
    let err = Store::open(&root.join("empty")).unwrap_err();
    assert!(matches!(err, OpenError::ReadOnlyEmpty { .. }), "{err:?}");
    let err = Store::open(&root.join("missing")).unwrap_err();
    assert!(matches!(err, OpenError::CreateHome { .. }), "{err:?}");
}

/// The child process's entry point; does nothing in a normal test run.
#[test]
fn child_read_only() {
    if let Ok(root) = std::env::var(CHILD_ENV) {
        check_read_only(Path::new(&root));
    }
}

fn is_root(dir: &Path) -> bool {
    let probe = dir.join("owner-probe");
    fs::write(&probe, b"").unwrap();
    let root = fs::metadata(&probe).unwrap().uid() == 0;
    fs::remove_file(probe).unwrap();
    root
}

/// Regression test for "a home that cannot be written can still be read and exported".
#[test]
fn a_home_that_cannot_be_written_can_still_be_read() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("homes");
    prepare(&root);
    let before = snapshot_files(&root);

    if is_root(dir.path()) {
        // Root writes through permission bits; only a read-only mount stops it.
        let mount = dir.path().join("mount");
        fs::create_dir(&mount).unwrap();
        let status = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-ec"])
            .arg(r#"mount --bind "$1" "$2"; mount -o remount,bind,ro "$2"; exec "$3" --exact child_read_only --nocapture --test-threads=1"#)
            .arg("sh")
            .arg(&root)
            .arg(&mount)
            .arg(std::env::current_exe().unwrap())
            .env(CHILD_ENV, &mount)
            .status()
            .expect("run unshare: a read-only mount needs util-linux's unshare and mount");
        assert!(status.success(), "the read-only checks failed: {status}");
    } else {
        let set = |mode_dir: u32, mode_file: u32| {
            for home in fs::read_dir(&root).unwrap() {
                let home = home.unwrap().path();
                for file in fs::read_dir(&home).unwrap() {
                    let path = file.unwrap().path();
                    fs::set_permissions(&path, fs::Permissions::from_mode(mode_file)).unwrap();
                }
                fs::set_permissions(&home, fs::Permissions::from_mode(mode_dir)).unwrap();
            }
            fs::set_permissions(&root, fs::Permissions::from_mode(mode_dir)).unwrap();
        };
        set(0o555, 0o444);
        let result = std::panic::catch_unwind(|| check_read_only(&root));
        set(0o755, 0o644);
        if let Err(panic) = result {
            std::panic::resume_unwind(panic);
        }
    }
    assert_eq!(
        snapshot_files(&root),
        before,
        "a read-only open changed a file"
    );
}
