//! The store across reopening, damage and version skew: what a user's disk can throw at it.

mod support;

use std::fs;
use std::path::Path;

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, AutomergeError, ROOT};
use tapin_core::{DocId, Id};
use tapin_store::{DB_FILE, FORMAT_VERSION, LoadError, MetaKey, OpenError, Store, UpdateError};

use support::get;

fn device() -> ActorId {
    ActorId::from(b"durability test device".as_slice())
}

fn put(key: String, value: i64) -> impl FnOnce(&mut AutoCommit) -> Result<(), AutomergeError> {
    move |doc| doc.put(ROOT, key, value)
}

fn raw(home: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(home.join(DB_FILE)).unwrap()
}

#[test]
fn writes_survive_reopening_and_compaction_keeps_the_value() {
    let home = tempfile::tempdir().unwrap();
    let writes = 300;
    let before = {
        let store = Store::open(home.path()).unwrap();
        for i in 0..writes {
            store
                .update(&DocId::Private, &device(), put(format!("k{i}"), i))
                .unwrap();
        }
        store.set_meta(MetaKey::NetRelay, b"kept").unwrap();
        let stats = store.stats().unwrap();
        let private = &stats.documents[0];
        assert!(private.snapshot_bytes > 0, "never compacted: {stats:?}");
        assert!(private.chunks <= 64, "chunks not bounded: {stats:?}");
        store.load(&DocId::Private).unwrap().unwrap()
    };

    let store = Store::open(home.path()).unwrap();
    let after = store.load(&DocId::Private).unwrap().unwrap();
    for i in 0..writes {
        assert_eq!(get(&after, &format!("k{i}")), Some(i), "k{i}");
    }
    assert_eq!(after.get_heads(), before.get_heads());
    assert_eq!(after.hydrate(None), before.hydrate(None));
    assert_eq!(
        store.get_meta(MetaKey::NetRelay).unwrap().as_deref(),
        Some(&b"kept"[..])
    );

    store.compact(&DocId::Private).unwrap();
    assert_eq!(store.stats().unwrap().documents[0].chunks, 0);
    let compacted = store.load(&DocId::Private).unwrap().unwrap();
    assert_eq!(compacted.get_heads(), before.get_heads());
    assert_eq!(compacted.hydrate(None), before.hydrate(None));
}

#[test]
fn garbage_file_is_refused_naming_its_path() {
    let long: Vec<u8> = b"this is not a database, it is a shopping list\n"
        .iter()
        .copied()
        .cycle()
        .take(16 * 1024)
        .collect();
    for garbage in [&long[..], b"short"] {
        let home = tempfile::tempdir().unwrap();
        let path = home.path().join(DB_FILE);
        fs::write(&path, garbage).unwrap();

        let err = Store::open(home.path()).unwrap_err();
        assert!(
            matches!(&err, OpenError::Damaged { path: p, .. } if *p == path),
            "{err:?}"
        );
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
        assert_eq!(
            fs::read(&path).unwrap(),
            garbage,
            "a refused file was modified"
        );
    }
}

#[test]
fn truncated_file_is_refused_naming_its_path() {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join(DB_FILE);
    {
        let store = Store::open(home.path()).unwrap();
        for i in 0..40 {
            store
                .update(&DocId::Journal, &device(), |doc| {
                    doc.put(ROOT, format!("entry {i}"), format!("{i}").repeat(2000))
                })
                .unwrap();
        }
    }
    let len = fs::metadata(&path).unwrap().len();
    assert!(
        len > 64 * 1024,
        "test needs a multi-page file, got {len} bytes"
    );
    fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len / 2)
        .unwrap();

    let err = Store::open(home.path()).unwrap_err();
    assert!(
        matches!(&err, OpenError::Damaged { path: p, .. } if *p == path),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
}

#[test]
fn damaged_document_is_named_and_others_still_load() {
    let home = tempfile::tempdir().unwrap();
    let side = DocId::Side(Id::from_bytes([9; 16]));
    {
        let store = Store::open(home.path()).unwrap();
        for i in 0..3 {
            for doc in [DocId::Private, DocId::Journal, side] {
                store
                    .update(&doc, &device(), put(format!("k{i}"), i))
                    .unwrap();
            }
        }
        // Give the side document a snapshot, to damage that instead of a chunk.
        store.compact(&side).unwrap();
    }
    let conn = raw(home.path());
    // Flip bytes in the middle of the journal's newest chunk and of the side's snapshot.
    let flip = |bytes: Vec<u8>| -> Vec<u8> {
        let mut bytes = bytes;
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
        bytes
    };
    let (id, chunk): (i64, Vec<u8>) = conn
        .query_row(
            "SELECT id, bytes FROM chunks WHERE doc = 'journal' ORDER BY id DESC LIMIT 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    conn.execute(
        "UPDATE chunks SET bytes = ?1 WHERE id = ?2",
        rusqlite::params![flip(chunk), id],
    )
    .unwrap();
    let snapshot: Vec<u8> = conn
        .query_row(
            "SELECT bytes FROM snapshots WHERE doc = ?1",
            [side.to_string()],
            |row| row.get(0),
        )
        .unwrap();
    conn.execute(
        "UPDATE snapshots SET bytes = ?1 WHERE doc = ?2",
        rusqlite::params![flip(snapshot), side.to_string()],
    )
    .unwrap();
    drop(conn);

    let store = Store::open(home.path()).unwrap();
    for doc in [DocId::Journal, side] {
        let err = store.load(&doc).unwrap_err();
        assert!(
            matches!(&err, LoadError::Corrupt { doc: d, .. } if *d == doc),
            "{err:?}"
        );
        assert!(err.to_string().contains(&doc.to_string()), "{err}");

        // Writing to a damaged document is refused too, and writes nothing.
        let stats = store.stats().unwrap();
        let err = store
            .update(&doc, &device(), put("more".into(), 1))
            .unwrap_err();
        assert!(
            matches!(&err, UpdateError::Corrupt { doc: d, .. } if *d == doc),
            "{err:?}"
        );
        assert_eq!(store.stats().unwrap(), stats);
    }
    let private = store.load(&DocId::Private).unwrap().unwrap();
    assert_eq!(get(&private, "k2"), Some(2));
    assert_eq!(store.documents().unwrap().len(), 3);
}

/// A chunk row that disappears leaves later changes without their dependencies: that is damage,
/// not a document that silently lacks them.
#[test]
fn missing_chunk_is_reported_as_damage() {
    let home = tempfile::tempdir().unwrap();
    {
        let store = Store::open(home.path()).unwrap();
        for i in 0..3 {
            store
                .update(&DocId::Journal, &device(), put(format!("k{i}"), i))
                .unwrap();
        }
        store.compact(&DocId::Journal).unwrap();
        for i in 3..6 {
            store
                .update(&DocId::Journal, &device(), put(format!("k{i}"), i))
                .unwrap();
        }
    }
    raw(home.path())
        .execute(
            "DELETE FROM chunks WHERE id = (SELECT min(id) FROM chunks WHERE doc = 'journal')",
            [],
        )
        .unwrap();
    let store = Store::open(home.path()).unwrap();
    let err = store.load(&DocId::Journal).unwrap_err();
    assert!(
        matches!(
            err,
            LoadError::Corrupt {
                doc: DocId::Journal,
                ..
            }
        ),
        "{err:?}"
    );
}

/// Rows that load but no longer hold what the store recorded: the newest chunk gone (the
/// document would silently lose the last write), or a snapshot swapped for another document's
/// (it would load as that document).
#[test]
fn rows_that_contradict_the_recorded_heads_are_damage() {
    let home = tempfile::tempdir().unwrap();
    let side = DocId::Side(Id::from_bytes([4; 16]));
    {
        let store = Store::open(home.path()).unwrap();
        for i in 0..3 {
            // Different values per document: the same edits by the same device would otherwise
            // be the very same changes, and a swap would change nothing.
            for (n, doc) in [DocId::Journal, side, DocId::Private]
                .into_iter()
                .enumerate()
            {
                store
                    .update(&doc, &device(), put(format!("k{i}"), i + 10 * n as i64))
                    .unwrap();
            }
        }
        store.compact(&side).unwrap();
        store.compact(&DocId::Private).unwrap();
    }
    let conn = raw(home.path());
    conn.execute(
        "DELETE FROM chunks WHERE id = (SELECT max(id) FROM chunks WHERE doc = 'journal')",
        [],
    )
    .unwrap();
    conn.execute(
        "UPDATE snapshots SET bytes = (SELECT bytes FROM snapshots WHERE doc = 'private')
         WHERE doc = ?1",
        [side.to_string()],
    )
    .unwrap();
    drop(conn);

    let store = Store::open(home.path()).unwrap();
    for doc in [DocId::Journal, side] {
        let err = store.load(&doc).unwrap_err();
        assert!(
            matches!(&err, LoadError::Rewritten { doc: d, .. } if *d == doc),
            "{err:?}"
        );
        assert!(err.to_string().contains(&doc.to_string()), "{err}");
        let err = store
            .update(&doc, &device(), put("more".into(), 1))
            .unwrap_err();
        assert!(
            matches!(&err, UpdateError::Rewritten { doc: d, .. } if *d == doc),
            "{err:?}"
        );
    }
    assert_eq!(
        get(&store.load(&DocId::Private).unwrap().unwrap(), "k2"),
        Some(22)
    );
}

#[test]
fn newer_format_is_refused_and_left_untouched() {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join(DB_FILE);
    {
        let store = Store::open(home.path()).unwrap();
        store
            .update(&DocId::Journal, &device(), put("k".into(), 1))
            .unwrap();
    }
    raw(home.path())
        .pragma_update(None, "user_version", 999)
        .unwrap();
    let before = fs::read(&path).unwrap();

    let err = Store::open(home.path()).unwrap_err();
    match &err {
        OpenError::TooNew {
            found,
            supported,
            path: p,
        } => {
            assert_eq!((*found, *supported), (999, FORMAT_VERSION));
            assert_eq!(p, &path);
        }
        other => panic!("expected TooNew, got {other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains("999") && message.contains("upgrade tapin"),
        "{message}"
    );
    assert_eq!(
        fs::read(&path).unwrap(),
        before,
        "a refused file was modified"
    );
}

#[test]
fn another_applications_database_is_refused() {
    let home = tempfile::tempdir().unwrap();
    raw(home.path())
        .execute_batch("CREATE TABLE recipes (name TEXT)")
        .unwrap();
    let err = Store::open(home.path()).unwrap_err();
    assert!(matches!(err, OpenError::Foreign { .. }), "{err:?}");
}

#[test]
fn empty_file_is_a_new_store() {
    // SQLite leaves a zero-byte file when a process dies between creating the file and its first
    // commit; that is a store that was never written, not damage.
    let home = tempfile::tempdir().unwrap();
    fs::write(home.path().join(DB_FILE), b"").unwrap();
    let store = Store::open(home.path()).unwrap();
    assert!(store.documents().unwrap().is_empty());
}

#[test]
fn home_that_is_a_file_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    fs::write(&home, b"").unwrap();
    let err = Store::open(&home).unwrap_err();
    assert!(
        matches!(&err, OpenError::CreateHome { path, .. } if *path == home),
        "{err:?}"
    );
}

/// Several processes may run tapin for the first time at once: exactly one creates the schema,
/// and none fails for finding it half-made.
#[test]
fn simultaneous_first_opens_all_succeed() {
    let home = tempfile::tempdir().unwrap();
    let openers = 4;
    let barrier = std::sync::Barrier::new(openers);
    std::thread::scope(|scope| {
        for i in 0..openers {
            let (home, barrier) = (home.path(), &barrier);
            scope.spawn(move || {
                barrier.wait();
                let store = Store::open(home).unwrap();
                store
                    .update(&DocId::Journal, &device(), put(format!("k{i}"), 1))
                    .unwrap();
            });
        }
    });
    let store = Store::open(home.path()).unwrap();
    let journal = store.load(&DocId::Journal).unwrap().unwrap();
    for i in 0..openers {
        assert_eq!(get(&journal, &format!("k{i}")), Some(1));
    }
}

/// Loading must not get slower with every change ever made: a document of 10,000 changes, written
/// in many chunks, ends up as a snapshot plus a bounded tail and loads whole.
#[test]
fn ten_thousand_changes_end_up_in_a_snapshot() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::open(home.path()).unwrap();
    let mut elsewhere = AutoCommit::new().with_actor(device());
    let mut heads = Vec::new();
    for batch in 0..10 {
        for i in 0..1000 {
            elsewhere.put(ROOT, format!("k{batch}-{i}"), i).unwrap();
            elsewhere.commit();
        }
        store
            .apply_changes(&DocId::Journal, &elsewhere.save_after(&heads))
            .unwrap();
        heads = elsewhere.get_heads();
    }
    let stats = store.stats().unwrap();
    let journal = &stats.documents[0];
    assert!(journal.snapshot_bytes > 0, "{stats:?}");
    assert!(
        journal.chunk_bytes <= journal.snapshot_bytes.max(16 * 1024),
        "{stats:?}"
    );

    let loaded = store.load(&DocId::Journal).unwrap().unwrap();
    assert_eq!(loaded.get_changes(&[]).len(), 10_000);
    assert_eq!(loaded.get_heads(), heads);
}
