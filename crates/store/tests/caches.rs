//! The store's checked caches: each document's heads (`doc_heads`) and the decoded views built on
//! them (`view_cache`). A cache may be missing or stale; it may never yield something that differs
//! from what was made from its document.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ChangeHash, ROOT};
use rusqlite::{Connection, OptionalExtension, params};
use tapin_core::saved::SavedDoc;
use tapin_core::{DocId, Id};
use tapin_store::{DB_FILE, LoadError, Store};

fn device() -> ActorId {
    ActorId::from(b"cache test device".as_slice())
}

fn raw(home: &Path) -> Connection {
    let conn = Connection::open(home.join(DB_FILE)).unwrap();
    // Only this test's own edits go through here; no need to wait for the disk.
    conn.pragma_update(None, "synchronous", "OFF").unwrap();
    conn
}

fn write(store: &Store, doc: &DocId, key: &str, value: i64) {
    store
        .update(doc, &device(), |d| d.put(ROOT, key, value))
        .unwrap();
}

/// What release c2a9253's `Store::update` did, for a store that has since been migrated: load
/// under the write lock, edit, append the new changes as a chunk. It knows nothing of
/// `doc_heads` or `view_cache`.
fn write_as_older_tapin(home: &Path, doc: &DocId, key: &str, value: i64) {
    let mut conn = raw(home);
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .unwrap();
    let name = doc.to_string();
    let (snapshot, covers_upto): (Vec<u8>, i64) = tx
        .query_row(
            "SELECT bytes, covers_upto FROM snapshots WHERE doc = ?1",
            [&name],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()
        .unwrap()
        .unwrap_or_default();
    let mut bytes = snapshot;
    {
        let mut statement = tx
            .prepare("SELECT bytes FROM chunks WHERE doc = ?1 AND id > ?2 ORDER BY id")
            .unwrap();
        let mut rows = statement.query(params![name, covers_upto]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            bytes.extend(row.get::<_, Vec<u8>>(0).unwrap());
        }
    }
    let mut current = AutoCommit::load(&bytes).unwrap().with_actor(device());
    let before = current.get_heads();
    current.put(ROOT, key, value).unwrap();
    tx.execute(
        "INSERT INTO chunks (doc, bytes) VALUES (?1, ?2)",
        params![name, current.save_after(&before)],
    )
    .unwrap();
    tx.commit().unwrap();
}

fn loaded_heads(store: &Store, doc: &DocId) -> Vec<ChangeHash> {
    store.load(doc).unwrap().unwrap().get_heads()
}

fn view_rows(home: &Path) -> i64 {
    raw(home)
        .query_row("SELECT count(*) FROM view_cache", [], |row| row.get(0))
        .unwrap()
}

#[test]
fn heads_are_recorded_with_every_write() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::open(home.path()).unwrap();
    let side = DocId::Side(Id::from_bytes([1; 16]));
    let replica = DocId::Replica(Id::from_bytes([2; 16]));
    assert_eq!(store.heads(&DocId::Journal).unwrap(), None);

    write(&store, &DocId::Journal, "a", 1);
    for i in 0..30 {
        // Enough to compact along the way.
        write(&store, &side, "n", i);
    }
    let mut elsewhere = AutoCommit::new();
    elsewhere.put(ROOT, "a", 1).unwrap();
    store
        .apply_saved(&replica, SavedDoc::load(elsewhere.save()).unwrap())
        .unwrap();
    elsewhere.put(ROOT, "b", 1).unwrap();
    store.apply_changes(&replica, &elsewhere.save()).unwrap();
    store.compact(&DocId::Journal).unwrap();
    store
        .transaction(&device(), |txn| {
            txn.update(&DocId::Private, |d| anyhow::Ok(d.put(ROOT, "a", 1)?))?;
            txn.update(&DocId::Journal, |d| anyhow::Ok(d.put(ROOT, "b", 1)?))?;
            anyhow::Ok(())
        })
        .unwrap();

    // A fresh store has nothing in memory: these come from `doc_heads`.
    let fresh = Store::open(home.path()).unwrap();
    for doc in [DocId::Private, DocId::Journal, side, replica] {
        let heads = fresh.heads(&doc).unwrap();
        assert_eq!(heads, Some(loaded_heads(&store, &doc)), "{doc}");
        assert!(!heads.unwrap().is_empty());
    }
}

#[test]
fn heads_an_older_tapin_made_stale_are_unknown_until_loaded_again() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::open(home.path()).unwrap();
    write(&store, &DocId::Journal, "a", 1);
    let before = store.heads(&DocId::Journal).unwrap();
    assert!(before.is_some());

    write_as_older_tapin(home.path(), &DocId::Journal, "b", 2);
    let fresh = Store::open(home.path()).unwrap();
    assert_eq!(
        fresh.heads(&DocId::Journal).unwrap(),
        None,
        "stale heads reported"
    );
    // A strict load computes them; this store then knows them.
    let heads = loaded_heads(&fresh, &DocId::Journal);
    assert_ne!(Some(&heads), before.as_ref());
    assert_eq!(fresh.heads(&DocId::Journal).unwrap(), Some(heads.clone()));
    // And the next write records them again for everyone.
    write(&fresh, &DocId::Private, "x", 1);
    fresh
        .transaction(&device(), |txn| {
            txn.doc(&DocId::Journal)?;
            Ok::<_, tapin_store::TxnError>(())
        })
        .unwrap();
    assert_eq!(
        Store::open(home.path())
            .unwrap()
            .heads(&DocId::Journal)
            .unwrap(),
        Some(heads)
    );
}

#[test]
fn a_cached_view_is_used_only_while_it_is_current() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::open(home.path()).unwrap();
    assert_eq!(store.cached_view(&DocId::Journal).unwrap(), None);
    write(&store, &DocId::Journal, "a", 1);
    let (doc, version) = store.load_versioned(&DocId::Journal).unwrap().unwrap();
    assert!(
        store
            .put_view(&DocId::Journal, version, &doc.get_heads(), b"view one")
            .unwrap()
    );
    for reader in [&store, &Store::open(home.path()).unwrap()] {
        assert_eq!(
            reader.cached_view(&DocId::Journal).unwrap().as_deref(),
            Some(&b"view one"[..])
        );
        assert_eq!(reader.cached_view(&DocId::Private).unwrap(), None);
    }

    // A write makes it stale: not used, but not damage either, so it stays until replaced.
    write(&store, &DocId::Journal, "b", 2);
    assert_eq!(store.cached_view(&DocId::Journal).unwrap(), None);
    assert_eq!(view_rows(home.path()), 1);
    // So does a write by an older tapin, which knows nothing of the cache.
    let (doc, version) = store.load_versioned(&DocId::Journal).unwrap().unwrap();
    assert!(
        store
            .put_view(&DocId::Journal, version, &doc.get_heads(), b"view two")
            .unwrap()
    );
    write_as_older_tapin(home.path(), &DocId::Journal, "c", 3);
    assert_eq!(store.cached_view(&DocId::Journal).unwrap(), None);
    assert_eq!(
        Store::open(home.path())
            .unwrap()
            .cached_view(&DocId::Journal)
            .unwrap(),
        None
    );
}

#[test]
fn put_view_stores_only_views_of_the_current_document() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::open(home.path()).unwrap();
    assert!(!store.put_view(&DocId::Journal, 0, &[], b"nothing").unwrap());
    write(&store, &DocId::Journal, "a", 1);
    let (doc, old_version) = store.load_versioned(&DocId::Journal).unwrap().unwrap();
    let old_heads = doc.get_heads();
    write(&store, &DocId::Journal, "a", 2);
    let version = store.doc_version(&DocId::Journal).unwrap();
    let heads = loaded_heads(&store, &DocId::Journal);

    // An older version, or the current version with other heads (an older state, or a state
    // that never was).
    assert!(
        !store
            .put_view(&DocId::Journal, old_version, &old_heads, b"old")
            .unwrap()
    );
    assert!(
        !store
            .put_view(&DocId::Journal, version, &old_heads, b"old")
            .unwrap()
    );
    assert!(
        !store
            .put_view(&DocId::Journal, version + 1, &heads, b"future")
            .unwrap()
    );
    let mut forked = AutoCommit::load(&doc.save()).unwrap();
    forked.put(ROOT, "fork", 1).unwrap();
    assert!(
        !store
            .put_view(&DocId::Journal, version, &forked.get_heads(), b"fork")
            .unwrap()
    );
    assert_eq!(view_rows(home.path()), 0);
    // Heads in any order are the same heads.
    let mut reversed = heads.clone();
    reversed.reverse();
    assert!(
        store
            .put_view(&DocId::Journal, version, &reversed, b"now")
            .unwrap()
    );
    assert_eq!(
        store.cached_view(&DocId::Journal).unwrap().as_deref(),
        Some(&b"now"[..])
    );
}

/// Writes through `tracing` into a buffer the test can read.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A small deterministic generator, so that a failure names a case that can be replayed.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn cases(default: u32) -> u32 {
    std::env::var("TAPIN_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

/// Regression test for "the view cache is trusted": random bit flips in a cached row (its
/// version, heads, digest or bytes) gave an export with altered text. Now the row never
/// verifies: it is deleted, with a warning naming the document, and never returned.
#[test]
fn flipped_bits_in_a_cached_row_are_never_returned() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::open(home.path()).unwrap();
    let doc = DocId::Side(Id::from_bytes([0xab; 16]));
    for i in 0..3 {
        write(&store, &doc, &format!("k{i}"), i);
    }
    let (loaded, version) = store.load_versioned(&doc).unwrap().unwrap();
    let view = b"tapin-view-json-1\n{\"goals\":{\"0123\":{\"title\":\"call mum on sundays\"}}}";
    assert!(
        store
            .put_view(&doc, version, &loaded.get_heads(), view)
            .unwrap()
    );
    let conn = raw(home.path());
    let (version, heads, digest, bytes): (i64, Vec<u8>, Vec<u8>, Vec<u8>) = conn
        .query_row(
            "SELECT version, heads, digest, bytes FROM view_cache WHERE doc = ?1",
            [doc.to_string()],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
        )
        .unwrap();
    let restore = || {
        conn.execute(
            "INSERT OR REPLACE INTO view_cache (doc, version, heads, digest, bytes)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![doc.to_string(), version, heads, digest, bytes],
        )
        .unwrap();
    };

    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer({
            let logs = logs.clone();
            move || logs.clone()
        })
        .with_ansi(false)
        .finish();
    let mut rng = XorShift(0x7461_706e_2025_1129);
    let cases = cases(400);
    tracing::subscriber::with_default(subscriber, || {
        for case in 0..cases {
            restore();
            let field = ["version", "heads", "digest", "bytes"][rng.below(4)];
            let flips = 1 + rng.below(3);
            if field == "version" {
                let mut flipped = version;
                for _ in 0..flips {
                    flipped ^= 1 << rng.below(64);
                }
                if flipped == version {
                    continue;
                }
                conn.execute(
                    "UPDATE view_cache SET version = ?1 WHERE doc = ?2",
                    params![flipped, doc.to_string()],
                )
                .unwrap();
            } else {
                let mut value = match field {
                    "heads" => heads.clone(),
                    "digest" => digest.clone(),
                    _ => bytes.clone(),
                };
                for _ in 0..flips {
                    let bit = rng.below(value.len() * 8);
                    value[bit / 8] ^= 1 << (bit % 8);
                }
                if rng.below(8) == 0 {
                    // Sometimes a torn value instead: cut short.
                    let len = rng.below(value.len());
                    value.truncate(len);
                }
                conn.execute(
                    &format!("UPDATE view_cache SET {field} = ?1 WHERE doc = ?2"),
                    params![value, doc.to_string()],
                )
                .unwrap();
            }
            let got = store.cached_view(&doc).unwrap();
            assert_eq!(got, None, "case {case}: a damaged {field} was returned");
            let left: i64 = conn
                .query_row("SELECT count(*) FROM view_cache", [], |row| row.get(0))
                .unwrap();
            assert_eq!(left, 0, "case {case}: a damaged {field} was not deleted");
        }
    });
    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("damaged cached view") && logs.contains(&doc.to_string()),
        "no warning naming the document: {logs}"
    );
    // Intact, it is used again.
    restore();
    assert_eq!(store.cached_view(&doc).unwrap().as_deref(), Some(&view[..]));
}

/// A row copied to another document, or into a document whose heads it was not made from, is
/// refused even though its digest is one the store wrote.
#[test]
fn a_cached_row_of_another_document_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::open(home.path()).unwrap();
    write(&store, &DocId::Journal, "a", 1);
    write(&store, &DocId::Private, "a", 1);
    let (journal, version) = store.load_versioned(&DocId::Journal).unwrap().unwrap();
    assert!(
        store
            .put_view(&DocId::Journal, version, &journal.get_heads(), b"journal")
            .unwrap()
    );
    raw(home.path())
        .execute(
            "INSERT INTO view_cache (doc, version, heads, digest, bytes)
             SELECT 'private', version, heads, digest, bytes FROM view_cache WHERE doc = 'journal'",
            [],
        )
        .unwrap();
    assert_eq!(store.cached_view(&DocId::Private).unwrap(), None);
    assert_eq!(
        store.cached_view(&DocId::Journal).unwrap().as_deref(),
        Some(&b"journal"[..])
    );
}

/// Regression test for "a damaged snapshot still exports fine from the cache": the cache does
/// not stand in for the document. A caller who loads gets the damage, cache or no cache.
#[test]
fn a_damaged_snapshot_is_refused_whatever_the_cache_holds() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::open(home.path()).unwrap();
    let side = DocId::Side(Id::from_bytes([3; 16]));
    for i in 0..3 {
        write(&store, &side, "n", i);
    }
    store.compact(&side).unwrap();
    let (loaded, version) = store.load_versioned(&side).unwrap().unwrap();
    assert!(
        store
            .put_view(&side, version, &loaded.get_heads(), b"view")
            .unwrap()
    );

    let conn = raw(home.path());
    let mut snapshot: Vec<u8> = conn
        .query_row(
            "SELECT bytes FROM snapshots WHERE doc = ?1",
            [side.to_string()],
            |row| row.get(0),
        )
        .unwrap();
    let middle = snapshot.len() / 2;
    snapshot[middle] ^= 0x10;
    conn.execute(
        "UPDATE snapshots SET bytes = ?1 WHERE doc = ?2",
        params![snapshot, side.to_string()],
    )
    .unwrap();

    // A fresh process, as every command is. (A long-running one keeps the document it already
    // loaded and checked, and reads only rows written after it.)
    let fresh = Store::open(home.path()).unwrap();
    let err = fresh.load(&side).unwrap_err();
    assert!(
        matches!(&err, LoadError::Corrupt { doc, .. } if *doc == side),
        "{err:?}"
    );
    let err = fresh.load_versioned(&side).unwrap_err();
    assert!(
        matches!(&err, LoadError::Corrupt { doc, .. } if *doc == side),
        "{err:?}"
    );
    drop(store);
}
