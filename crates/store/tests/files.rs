//! The database holds secret keys: its files are private to their owner, and opening a home whose
//! files others can read makes them private and says so.
#![cfg(unix)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use automerge::transaction::Transactable;
use automerge::{ActorId, ROOT};
use tapin_core::DocId;
use tapin_store::{DB_FILE, Store, Tightened};

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn write(store: &Store) {
    let device = ActorId::from(b"files test".as_slice());
    store
        .update(&DocId::Journal, &device, |d| d.put(ROOT, "k", 1))
        .unwrap();
}

/// Regression test for "`tapin.db`, which holds the person and device secret keys, is 0644".
#[test]
fn a_new_store_and_its_log_files_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("nested").join("home");
    let store = Store::open(&home).unwrap();
    write(&store);
    assert!(store.tightened().is_empty(), "{:?}", store.tightened());
    assert_eq!(mode(&home), 0o700, "a home the store created");
    for suffix in ["", "-wal", "-shm"] {
        let file = home.join(format!("{DB_FILE}{suffix}"));
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
}

#[test]
fn an_existing_home_directory_keeps_its_mode() {
    let dir = tempfile::tempdir().unwrap();
    chmod(dir.path(), 0o755);
    let store = Store::open(dir.path()).unwrap();
    write(&store);
    assert_eq!(mode(dir.path()), 0o755);
    assert_eq!(mode(&dir.path().join(DB_FILE)), 0o600);
}

#[test]
fn opening_makes_loose_files_private_and_reports_them() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join(DB_FILE);
    write(&Store::open(home.path()).unwrap());
    chmod(&db, 0o644);
    // A connection that stays open keeps the `-wal` and `-shm` files, which SQLite makes with the
    // main file's mode: 0644 now. One is made looser still.
    // (It writes, so that the log is not empty: SQLite gives an empty one the main file's mode
    // again when it opens it.)
    let keep = rusqlite::Connection::open(&db).unwrap();
    keep.execute("INSERT INTO meta (key, value) VALUES ('k', x'00')", [])
        .unwrap();
    let wal = home.path().join(format!("{DB_FILE}-wal"));
    let shm = home.path().join(format!("{DB_FILE}-shm"));
    assert_eq!(mode(&shm), 0o644);
    chmod(&wal, 0o666);

    let store = Store::open(home.path()).unwrap();
    let mut tightened = store.tightened().to_vec();
    tightened.sort_by(|a, b| a.path.cmp(&b.path));
    let expected = [
        (db.clone(), 0o644),
        (shm.clone(), 0o644),
        (wal.clone(), 0o666),
    ];
    assert_eq!(tightened.len(), expected.len(), "{tightened:?}");
    for (
        Tightened {
            path,
            before,
            after,
            ..
        },
        (want_path, want_before),
    ) in tightened.iter().zip(expected)
    {
        assert_eq!((path, *before, *after), (&want_path, want_before, 0o600));
    }
    for file in [&db, &wal, &shm] {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
    // Private now: nothing more to report.
    assert!(Store::open(home.path()).unwrap().tightened().is_empty());
    drop(keep);
}
