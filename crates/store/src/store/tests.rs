//! Unit tests of the store: writes, loads, compaction, the in-memory cache.

use automerge::transaction::Transactable;
use automerge::{AutomergeError, ROOT, ReadDoc, ScalarValue, Value};
use tapin_core::Id;

use super::*;
use crate::error::TxnError;
use crate::rows::{MAX_CHUNKS, MIN_COMPACT_BYTES};

fn device() -> ActorId {
    ActorId::from(b"device one".as_slice())
}

fn put(key: &str, value: i64) -> impl FnOnce(&mut AutoCommit) -> Result<(), AutomergeError> {
    move |doc| doc.put(ROOT, key, value)
}

fn get(doc: &Automerge, key: &str) -> Option<i64> {
    match doc.get(ROOT, key).ok()?? {
        (Value::Scalar(scalar), _) => match scalar.as_ref() {
            ScalarValue::Int(n) => Some(*n),
            _ => None,
        },
        _ => None,
    }
}

fn stats_of(store: &Store, doc: DocId) -> Option<DocStats> {
    store
        .stats()
        .unwrap()
        .documents
        .into_iter()
        .find(|stats| stats.doc == doc)
}

/// Guards the durability and concurrency settings every connection must have.
#[test]
fn connections_are_set_up_for_durability() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::open(home.path()).unwrap();
    let pragma = |name| {
        store
            .conn
            .pragma_query_value(None, name, |row| row.get::<_, rusqlite::types::Value>(0))
            .unwrap()
    };
    use rusqlite::types::Value::{Integer, Text};
    assert_eq!(pragma("journal_mode"), Text("wal".into()));
    assert_eq!(pragma("synchronous"), Integer(2), "synchronous is not FULL");
    assert_eq!(pragma("foreign_keys"), Integer(1));
    assert_eq!(pragma("busy_timeout"), Integer(30_000));
    assert_eq!(
        pragma("secure_delete"),
        Integer(1),
        "deleted words must not linger in free pages"
    );
    assert!(store.secure_delete().unwrap());
    assert_eq!(
        pragma("user_version"),
        Integer(schema::FORMAT_VERSION.into())
    );
    assert_eq!(
        pragma("application_id"),
        Integer(schema::APPLICATION_ID.into())
    );
}

#[test]
fn update_then_load_round_trips() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::open(home.path()).unwrap();
    assert!(store.load(&DocId::Private).unwrap().is_none());

    store
        .update(&DocId::Private, &device(), put("a", 1))
        .unwrap();
    store
        .update(&DocId::Private, &device(), put("b", 2))
        .unwrap();

    let private = store.load(&DocId::Private).unwrap().unwrap();
    assert_eq!(get(&private, "a"), Some(1));
    assert_eq!(get(&private, "b"), Some(2));
    assert!(store.load(&DocId::Journal).unwrap().is_none());
    assert_eq!(store.documents().unwrap(), [DocId::Private]);
}

/// The stored bytes load as the document, before and after a compaction, and reading them
/// loads nothing.
#[test]
fn stored_bytes_load_as_the_document() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::open(home.path()).unwrap();
    let doc = DocId::Journal;
    assert!(store.stored_bytes(&doc).unwrap().is_none());
    for i in 0..3 {
        store.update(&doc, &device(), put("n", i)).unwrap();
    }
    store.compact(&doc).unwrap();
    for i in 3..5 {
        store.update(&doc, &device(), put("n", i)).unwrap();
    }
    let chunks = stats_of(&store, doc).unwrap().chunks;
    assert_eq!(chunks, 2, "a snapshot with chunks after it");
    let fresh = Store::open(home.path()).unwrap();
    let bytes = fresh.stored_bytes(&doc).unwrap().unwrap();
    let cache = fresh.cache_stats();
    assert_eq!(
        (cache.documents, cache.hits, cache.misses),
        (0, 0, 0),
        "nothing was loaded"
    );
    let loaded = Automerge::load(&bytes).unwrap();
    let stored = store.load(&doc).unwrap().unwrap();
    assert_eq!(loaded.get_heads(), stored.get_heads());
    assert_eq!(get(&loaded, "n"), Some(4));
}

#[test]
fn update_returns_the_closure_value_and_uses_the_actor() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::open(home.path()).unwrap();
    let actor = store
        .update(&DocId::Journal, &device(), |doc| {
            doc.put(ROOT, "k", 1)?;
            Ok::<_, AutomergeError>(doc.get_actor().clone())
        })
        .unwrap();
    assert_eq!(actor, device());
    let journal = store.load(&DocId::Journal).unwrap().unwrap();
    let changes = journal.get_changes(&[]);
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].actor_id(), &device());
}

/// Guards "if `f` returns Err, roll back: nothing written", for a new and an existing doc.
#[test]
fn update_whose_closure_errs_writes_nothing() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::open(home.path()).unwrap();
    store
        .update(&DocId::Private, &device(), put("kept", 1))
        .unwrap();
    let before = store.stats().unwrap();

    for doc in [DocId::Private, DocId::Journal] {
        let result = store.update(&doc, &device(), |doc| {
            doc.put(ROOT, "lost", 2).unwrap();
            Err::<(), _>("changed my mind")
        });
        assert!(matches!(result, Err(UpdateError::Inner("changed my mind"))));
    }

    assert_eq!(store.stats().unwrap(), before);
    assert_eq!(store.documents().unwrap(), [DocId::Private]);
    let private = store.load(&DocId::Private).unwrap().unwrap();
    assert_eq!(get(&private, "kept"), Some(1));
    assert_eq!(get(&private, "lost"), None);
    assert!(store.load(&DocId::Journal).unwrap().is_none());
    // The connection is usable again: the failed transaction did not stay open.
    store
        .update(&DocId::Private, &device(), put("after", 3))
        .unwrap();
}

#[test]
fn update_that_changes_nothing_writes_nothing() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::open(home.path()).unwrap();
    store
        .update(&DocId::Journal, &device(), |_| Ok::<_, Infallible>(()))
        .unwrap();
    assert!(store.documents().unwrap().is_empty());

    store
        .update(&DocId::Journal, &device(), put("a", 1))
        .unwrap();
    store
        .update(&DocId::Journal, &device(), |doc| {
            doc.get(ROOT, "a").map(drop)
        })
        .unwrap();
    assert_eq!(stats_of(&store, DocId::Journal).unwrap().chunks, 1);
}

#[test]
fn many_writes_are_compacted_and_load_the_same() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::open(home.path()).unwrap();
    for i in 0..200 {
        store
            .update(&DocId::Private, &device(), put(&format!("k{i}"), i))
            .unwrap();
        let stats = stats_of(&store, DocId::Private).unwrap();
        assert!(
            stats.chunks <= MAX_CHUNKS as u64,
            "{stats:?} after {i} writes"
        );
    }
    let stats = stats_of(&store, DocId::Private).unwrap();
    assert!(stats.snapshot_bytes > 0, "{stats:?}");
    assert!(stats.chunks > 0, "{stats:?}");

    let before = store.load(&DocId::Private).unwrap().unwrap();
    store.compact(&DocId::Private).unwrap();
    let stats = stats_of(&store, DocId::Private).unwrap();
    assert_eq!((stats.chunks, stats.chunk_bytes), (0, 0));
    let after = store.load(&DocId::Private).unwrap().unwrap();
    assert_eq!(after.get_heads(), before.get_heads());
    assert_eq!(after.hydrate(None), before.hydrate(None));
    for i in 0..200 {
        assert_eq!(get(&after, &format!("k{i}")), Some(i));
    }
}

/// Guards the compaction's encoding: a small side or replica is saved without DEFLATE (no
/// encoder of a few hundred KiB for a few KiB of snapshot, in a serve that compacts many), a
/// large one and every other document with it, and all load as the document they were made
/// from.
#[test]
fn small_sides_and_replicas_are_saved_uncompressed_and_the_rest_compressed() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::open(home.path()).unwrap();
    let (side, replica) = (DocId::Side(Id::named("s")), DocId::Replica(Id::named("r")));
    let week = DocId::journal_for(tapin_core::time::Timestamp(1_795_000_000_000));
    let words = "the same words again and again ";
    for doc in [side, replica, week] {
        for i in 0..12 {
            store
                .update(&doc, &device(), |d| {
                    d.put(ROOT, format!("note {i}"), words.repeat(20))
                })
                .unwrap();
        }
    }
    // Large: 300 KB of hex digits, which DEFLATE halves, past the size under which a side counts
    // as small.
    let large = DocId::Side(Id::named("large"));
    let digits: String = (0..40_000u64)
        .map(|n| format!("{:08x}", n.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32))
        .collect();
    store
        .update(&large, &device(), |d| d.put(ROOT, "big", digits))
        .unwrap();
    for doc in [side, replica, week, large] {
        store.compact(&doc).unwrap();
        assert_eq!(stats_of(&store, doc).unwrap().chunks, 0);
        let stored = store.stored_bytes(&doc).unwrap().unwrap();
        let current = store.load(&doc).unwrap().unwrap();
        if doc == side || doc == replica {
            assert_eq!(stored, current.save_nocompress(), "{doc}: saved as it is");
        } else {
            assert_eq!(stored, current.save(), "{doc}: DEFLATE-coded columns");
            assert!(stored.len() < current.save_nocompress().len(), "{doc}");
        }
        let loaded = Automerge::load(&stored).unwrap();
        assert_eq!(loaded.get_heads(), current.get_heads());
        assert_eq!(loaded.hydrate(None), current.hydrate(None));
    }
}

#[test]
fn large_chunks_are_compacted_by_size() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::open(home.path()).unwrap();
    // One write bigger than the floor: its chunk outweighs the (absent) snapshot.
    store
        .update(&DocId::Journal, &device(), |doc| {
            doc.put(ROOT, "big", "x".repeat(MIN_COMPACT_BYTES * 2))
        })
        .unwrap();
    let stats = stats_of(&store, DocId::Journal).unwrap();
    assert_eq!(stats.chunks, 0, "{stats:?}");
    assert!(stats.snapshot_bytes > 0, "{stats:?}");
}

#[test]
fn compact_of_an_unwritten_or_compacted_document_does_nothing() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::open(home.path()).unwrap();
    store.compact(&DocId::Journal).unwrap();
    assert!(store.documents().unwrap().is_empty());

    store
        .update(&DocId::Journal, &device(), put("a", 1))
        .unwrap();
    store.compact(&DocId::Journal).unwrap();
    let once = store.stats().unwrap();
    store.compact(&DocId::Journal).unwrap();
    assert_eq!(store.stats().unwrap(), once);
}

/// Two connections to one home writing as the same actor, interleaved: each must see the
/// other's changes, or they would both write sequence number 2 and the document would not
/// load.
#[test]
fn two_stores_with_one_actor_do_not_collide() {
    let home = tempfile::tempdir().unwrap();
    let first = Store::open(home.path()).unwrap();
    let second = Store::open(home.path()).unwrap();
    for i in 0..100 {
        let store = if i % 2 == 0 { &first } else { &second };
        store
            .update(&DocId::Journal, &device(), put(&format!("k{i}"), i))
            .unwrap();
    }
    let journal = second.load(&DocId::Journal).unwrap().unwrap();
    for i in 0..100 {
        assert_eq!(get(&journal, &format!("k{i}")), Some(i));
    }
    assert_eq!(journal.get_changes(&[]).len(), 100);
}

#[test]
fn apply_changes_merges_changes_from_elsewhere() {
    let mine = tempfile::tempdir().unwrap();
    let theirs = tempfile::tempdir().unwrap();
    let mine = Store::open(mine.path()).unwrap();
    let theirs = Store::open(theirs.path()).unwrap();
    let side = DocId::Side(Id::from_bytes([3; 16]));
    let friend = ActorId::from(b"friend".as_slice());

    theirs.update(&side, &friend, put("a", 1)).unwrap();
    let first = theirs.load(&side).unwrap().unwrap().save();
    theirs.update(&side, &friend, put("b", 2)).unwrap();
    let everything = theirs.load(&side).unwrap().unwrap();

    mine.apply_changes(&side, &first).unwrap();
    mine.apply_changes(&side, &everything.save_after(&[]))
        .unwrap();
    // Already known: nothing new to write.
    let before = mine.stats().unwrap();
    mine.apply_changes(&side, &first).unwrap();
    assert_eq!(mine.stats().unwrap(), before);

    let merged = mine.load(&side).unwrap().unwrap();
    assert_eq!(merged.get_heads(), everything.get_heads());
    assert_eq!((get(&merged, "a"), get(&merged, "b")), (Some(1), Some(2)));
}

#[test]
fn a_first_whole_document_is_stored_as_it_came() {
    let source = tempfile::tempdir().unwrap();
    let source = Store::open(source.path()).unwrap();
    let side = DocId::Side(Id::from_bytes([4; 16]));
    let friend = ActorId::from(b"friend".as_slice());
    for i in 0..20 {
        source
            .update(&side, &friend, put(&format!("k{i}"), i))
            .unwrap();
    }
    let whole = source.load(&side).unwrap().unwrap();
    let bytes = whole.save();

    for by_saved in [false, true] {
        let home = tempfile::tempdir().unwrap();
        let store = Store::open(home.path()).unwrap();
        if by_saved {
            let saved = SavedDoc::load(bytes.clone()).unwrap();
            store.apply_saved(&side, saved).unwrap();
        } else {
            store.apply_changes(&side, &bytes).unwrap();
        }
        // The bytes are the snapshot, unchanged, under a version of their own.
        let stats = stats_of(&store, side).unwrap();
        assert_eq!(
            (stats.snapshot_bytes, stats.chunks),
            (bytes.len() as u64, 0)
        );
        assert!(store.doc_version(&side).unwrap() > 0);
        let fresh = Store::open(home.path()).unwrap();
        assert_eq!(
            fresh.load(&side).unwrap().unwrap().get_heads(),
            whole.get_heads()
        );
        assert_eq!(
            store.load(&side).unwrap().unwrap().get_heads(),
            whole.get_heads()
        );

        // Into a document that exists, a whole document merges like any changes.
        let mut more = AutoCommit::load(&bytes).unwrap().with_actor(friend.clone());
        more.put(ROOT, "late", 99).unwrap();
        let saved = SavedDoc::load(more.save()).unwrap();
        store.apply_saved(&side, saved).unwrap();
        let merged = fresh.load(&side).unwrap().unwrap();
        assert_eq!(merged.get_heads(), more.get_heads());
        assert_eq!(get(&merged, "late"), Some(99));
    }
}

#[test]
fn a_first_apply_that_is_not_a_whole_document_writes_nothing() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::open(home.path()).unwrap();
    let side = DocId::Side(Id::from_bytes([5; 16]));
    let mut d = AutoCommit::new();
    d.put(ROOT, "a", 1).unwrap();
    d.commit();
    let first = d.get_heads();
    d.put(ROOT, "a", 2).unwrap();
    let second = d.save_after(&first);
    let err = store.apply_changes(&side, &second).unwrap_err();
    assert!(matches!(err, UpdateError::Automerge { .. }), "{err:?}");
    assert!(store.load(&side).unwrap().is_none());
    assert_eq!(store.doc_version(&side).unwrap(), 0);
}

/// A store reads what other stores (other processes) wrote since it last looked, whether
/// they appended chunks or compacted them away.
#[test]
fn a_cached_document_follows_other_writers() {
    let home = tempfile::tempdir().unwrap();
    let reader = Store::open(home.path()).unwrap();
    let writer = Store::open(home.path()).unwrap();
    let journal = DocId::Journal;
    writer.update(&journal, &device(), put("n", 0)).unwrap();
    assert_eq!(get(&reader.load(&journal).unwrap().unwrap(), "n"), Some(0));

    for n in 1..=200 {
        writer.update(&journal, &device(), put("n", n)).unwrap();
        // Read every few writes, so some reads see only new chunks and some a compaction.
        if n % 7 == 0 || n == 200 {
            let (doc, version) = reader.load_versioned(&journal).unwrap().unwrap();
            assert_eq!(get(&doc, "n"), Some(n));
            assert_eq!(version, writer.doc_version(&journal).unwrap());
            assert_eq!(
                doc.get_heads(),
                writer.load(&journal).unwrap().unwrap().get_heads()
            );
        }
    }
    // And it writes on top of all of it, with the same actor, without colliding.
    reader.update(&journal, &device(), put("n", 201)).unwrap();
    let fresh = Store::open(home.path()).unwrap();
    assert_eq!(get(&fresh.load(&journal).unwrap().unwrap(), "n"), Some(201));
    assert_eq!(
        get(&writer.load(&journal).unwrap().unwrap(), "n"),
        Some(201)
    );
}

/// Memory is no excuse for missing damage: a bad chunk written after a document was cached
/// fails the next read, as it would in a fresh process.
#[test]
fn a_damaged_chunk_after_a_cached_read_is_an_error() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::open(home.path()).unwrap();
    store
        .update(&DocId::Journal, &device(), put("a", 1))
        .unwrap();
    store.load(&DocId::Journal).unwrap().unwrap();
    let raw = Connection::open(home.path().join(DB_FILE)).unwrap();
    raw.execute(
        "INSERT INTO chunks (doc, bytes) VALUES ('journal', x'856f4a83deadbeef')",
        [],
    )
    .unwrap();
    for _ in 0..2 {
        let err = store.load(&DocId::Journal).unwrap_err();
        assert!(matches!(err, LoadError::Corrupt { .. }), "{err:?}");
    }
    let err = store
        .update(&DocId::Journal, &device(), put("b", 2))
        .unwrap_err();
    assert!(matches!(err, UpdateError::Corrupt { .. }), "{err:?}");
}

#[test]
fn apply_changes_refuses_garbage_and_missing_dependencies() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::open(home.path()).unwrap();
    store
        .update(&DocId::Journal, &device(), put("a", 1))
        .unwrap();
    let before = store.stats().unwrap();

    let mut elsewhere = AutoCommit::new();
    elsewhere.put(ROOT, "x", 1).unwrap();
    let heads = elsewhere.get_heads();
    elsewhere.put(ROOT, "y", 2).unwrap();
    let orphan = elsewhere.save_after(&heads);
    let mut valid_then_garbage = elsewhere.save_after(&[]);
    valid_then_garbage.extend_from_slice(b"garbage");

    for bytes in [&b"garbage"[..], &orphan, &valid_then_garbage] {
        for doc in [DocId::Journal, DocId::Private] {
            let result = store.apply_changes(&doc, bytes);
            assert!(
                matches!(result, Err(UpdateError::Automerge { doc: d, .. }) if d == doc),
                "{result:?}"
            );
        }
    }
    assert_eq!(store.stats().unwrap(), before);
}

#[test]
fn unknown_document_names_are_skipped() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::open(home.path()).unwrap();
    store
        .update(&DocId::Journal, &device(), put("a", 1))
        .unwrap();
    store
        .conn
        .execute(
            "INSERT INTO chunks (doc, bytes) VALUES ('from-the-future', x'00')",
            [],
        )
        .unwrap();
    assert_eq!(store.documents().unwrap(), [DocId::Journal]);
    let stats = store.stats().unwrap();
    assert_eq!(stats.documents.len(), 1);
    assert!(stats.db_bytes > 0);
}

#[test]
fn settings_are_written_together_or_not_at_all() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::open(home.path()).unwrap();
    let side = DocId::Side(Id::from_bytes([6; 16]));
    {
        let settings = store.settings().unwrap();
        settings.set_meta(MetaKey::NetPort, b"dropped").unwrap();
        settings.set_sync_state(&side, b"peer", b"dropped").unwrap();
    }
    assert_eq!(store.get_meta(MetaKey::NetPort).unwrap(), None);
    assert_eq!(store.get_sync_state(&side, b"peer").unwrap(), None);

    let settings = store.settings().unwrap();
    settings.set_meta(MetaKey::NetPort, b"v").unwrap();
    settings.set_sync_state(&side, b"peer", b"s").unwrap();
    settings.commit().unwrap();
    let fresh = Store::open(home.path()).unwrap();
    assert_eq!(
        fresh.get_meta(MetaKey::NetPort).unwrap().as_deref(),
        Some(&b"v"[..])
    );
    assert_eq!(
        fresh.get_sync_state(&side, b"peer").unwrap().as_deref(),
        Some(&b"s"[..])
    );
}

#[test]
fn meta_round_trips_and_overwrites() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::open(home.path()).unwrap();
    let heads = MetaKey::ReplicaHeads(Id::from_bytes([3; 16]));
    assert_eq!(store.get_meta(MetaKey::Name).unwrap(), None);
    store.set_meta(MetaKey::Name, b"first").unwrap();
    store.set_meta(MetaKey::Name, b"second").unwrap();
    store.set_meta(heads, b"").unwrap();
    assert_eq!(
        store.get_meta(MetaKey::Name).unwrap().as_deref(),
        Some(&b"second"[..])
    );
    assert_eq!(store.get_meta(heads).unwrap().as_deref(), Some(&b""[..]));
    assert_eq!(
        store
            .get_meta(MetaKey::ReplicaHeads(Id::from_bytes([4; 16])))
            .unwrap(),
        None,
        "another relationship's key"
    );
    drop(store);
    let store = Store::open(home.path()).unwrap();
    assert_eq!(
        store.get_meta(MetaKey::Name).unwrap().as_deref(),
        Some(&b"second"[..])
    );
    // Stored under the key's documented string.
    let stored: Vec<u8> = store
        .conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'identity.name'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(stored, b"second");
}

/// A secret key reads back as its 32 bytes; any other length is damage, named.
#[test]
fn secrets_are_32_bytes() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::open(home.path()).unwrap();
    assert_eq!(store.get_secret(MetaKey::DeviceSecret).unwrap(), None);
    store.set_meta(MetaKey::DeviceSecret, &[7; 32]).unwrap();
    assert_eq!(
        store.get_secret(MetaKey::DeviceSecret).unwrap(),
        Some([7; 32])
    );
    for damaged in [&[7; 31][..], &[7; 33], &[]] {
        store.set_meta(MetaKey::PersonSecret, damaged).unwrap();
        let err = store.get_secret(MetaKey::PersonSecret).unwrap_err();
        assert!(
            matches!(&err, StoreError::MetaLength { key, expected: 32, found }
                if key == "identity.person_secret" && *found == damaged.len()),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "meta entry \"identity.person_secret\" is damaged: it holds {} bytes, not 32",
                damaged.len()
            )
        );
    }
}

#[test]
fn errors_name_what_failed() {
    let doc = DocId::Side(Id::from_bytes([1; 16]));
    let err = LoadError::Corrupt {
        doc,
        source: Box::new(AutomergeError::MissingDeps.into()),
    };
    assert_eq!(
        err.to_string(),
        "document side-01010101010101010101010101010101 is damaged"
    );
    assert!(std::error::Error::source(&err).is_some());
    let err: UpdateError<Infallible> = err.into();
    assert!(matches!(err, UpdateError::Corrupt { doc: d, .. } if d == doc));
}

/// Removing a document takes every row of it, and a transaction can drop a cached view.
#[test]
fn a_removed_document_leaves_no_rows() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::open(home.path()).unwrap();
    let doc = DocId::Side(Id::named("gone"));
    let kept = DocId::Side(Id::named("kept"));
    for d in [doc, kept] {
        store.update(&d, &device(), put("x", 1)).unwrap();
        store
            .put_view(
                &d,
                store.doc_version(&d).unwrap(),
                &store.heads(&d).unwrap().unwrap(),
                b"view",
            )
            .unwrap();
        store.set_sync_state(&d, b"peer", b"state").unwrap();
    }
    store
        .transaction(&device(), |txn| -> Result<(), TxnError> {
            txn.remove_document(&doc)?;
            txn.drop_view(&kept)
        })
        .unwrap();
    assert!(store.load(&doc).unwrap().is_none());
    assert_eq!(store.get_sync_state(&doc, b"peer").unwrap(), None);
    assert_eq!(store.cached_view(&doc).unwrap(), None);
    assert_eq!(
        store.cached_view(&kept).unwrap(),
        None,
        "the view was dropped"
    );
    assert_eq!(get(&store.load(&kept).unwrap().unwrap(), "x"), Some(1));
    assert!(!store.documents().unwrap().contains(&doc));
}
