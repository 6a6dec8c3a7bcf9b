//! One transaction over several documents: all of it is written, or none of it.

mod support;

use std::convert::Infallible;
use std::panic::{AssertUnwindSafe, catch_unwind};

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ROOT, ReadDoc, Value};
use tapin_core::saved::SavedDoc;
use tapin_core::{DocId, Id};
use tapin_store::{DB_FILE, MetaKey, Store, TxnError, UpdateError};

use support::get;

fn device() -> ActorId {
    ActorId::from(b"transaction test device".as_slice())
}

fn side() -> DocId {
    DocId::Side(Id::from_bytes([7; 16]))
}

fn load(store: &Store, doc: &DocId, key: &str) -> Option<i64> {
    get(&store.load(doc).unwrap()?, key)
}

/// What a caller of the CLI's kind looks like: its closures return `anyhow::Error`.
#[test]
fn a_transaction_writes_several_documents_and_meta_at_once() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::open(home.path()).unwrap();
    store
        .update(&DocId::Private, &device(), |d| d.put(ROOT, "before", 1))
        .unwrap();

    let seen = store
        .transaction(&device(), |txn| -> anyhow::Result<_> {
            txn.update(&DocId::Private, |d| {
                d.put(ROOT, "n", 1)?;
                anyhow::Ok(())
            })?;
            // Reads see the transaction's own edits, and documents it has not touched.
            let private = txn.doc(&DocId::Private)?.expect("stored");
            let seen = (get(private, "before"), get(private, "n"));
            assert!(txn.doc(&DocId::Journal)?.is_none());
            txn.update(&DocId::Journal, |d| {
                Ok::<_, anyhow::Error>(d.put(ROOT, "n", 1)?)
            })?;
            txn.update(&side(), |d| Ok::<_, anyhow::Error>(d.put(ROOT, "n", 1)?))?;
            // A second edit of the same document builds on the first.
            txn.update(&DocId::Private, |d| {
                let n = match d.get(ROOT, "n")? {
                    Some((Value::Scalar(s), _)) => s.as_i64().unwrap_or_default(),
                    _ => 0,
                };
                Ok::<_, anyhow::Error>(d.put(ROOT, "n", n + 1)?)
            })?;
            txn.set_meta(MetaKey::RestoredFrom, b"yes")?;
            assert_eq!(
                txn.get_meta(MetaKey::RestoredFrom)?.as_deref(),
                Some(&b"yes"[..])
            );
            txn.set_sync_state(&side(), b"peer", b"state")?;
            Ok(seen)
        })
        .unwrap();
    assert_eq!(seen, (Some(1), Some(1)));

    for reader in [&store, &Store::open(home.path()).unwrap()] {
        assert_eq!(load(reader, &DocId::Private, "n"), Some(2));
        assert_eq!(load(reader, &DocId::Private, "before"), Some(1));
        assert_eq!(load(reader, &DocId::Journal, "n"), Some(1));
        assert_eq!(load(reader, &side(), "n"), Some(1));
        assert_eq!(
            reader.get_meta(MetaKey::RestoredFrom).unwrap().as_deref(),
            Some(&b"yes"[..])
        );
        assert_eq!(
            reader.get_sync_state(&side(), b"peer").unwrap().as_deref(),
            Some(&b"state"[..])
        );
    }
    // Every change was made by the transaction's actor.
    let private = store.load(&DocId::Private).unwrap().unwrap();
    assert!(
        private
            .get_changes(&[])
            .iter()
            .all(|change| change.actor_id() == &device())
    );
}

/// Sets up a home with one entry in each of three documents and a meta entry, then runs a
/// transaction that edits all of them and fails (by `fail`), and checks that nothing changed:
/// not the rows, not this store's memory, not a fresh store's view.
fn failing_transaction_writes_nothing(fail: impl FnOnce(&Store)) {
    let home = tempfile::tempdir().unwrap();
    let store = Store::open(home.path()).unwrap();
    for doc in [DocId::Private, DocId::Journal] {
        store
            .update(&doc, &device(), |d| d.put(ROOT, "kept", 1))
            .unwrap();
    }
    store.set_meta(MetaKey::NetPort, b"1").unwrap();
    // Read everything once, so this store holds it in memory.
    for doc in [DocId::Private, DocId::Journal] {
        store.load(&doc).unwrap().unwrap();
    }
    let stats = store.stats().unwrap();
    let versions: Vec<i64> = [DocId::Private, DocId::Journal, side()]
        .iter()
        .map(|doc| store.doc_version(doc).unwrap())
        .collect();

    fail(&store);

    for reader in [&store, &Store::open(home.path()).unwrap()] {
        assert_eq!(reader.stats().unwrap(), stats);
        for doc in [DocId::Private, DocId::Journal] {
            assert_eq!(load(reader, &doc, "kept"), Some(1));
            assert_eq!(
                load(reader, &doc, "lost"),
                None,
                "{doc} kept a rolled-back edit"
            );
        }
        assert!(reader.load(&side()).unwrap().is_none());
        assert_eq!(
            reader.get_meta(MetaKey::NetPort).unwrap().as_deref(),
            Some(&b"1"[..])
        );
        assert_eq!(reader.get_meta(MetaKey::NetRelay).unwrap(), None);
        let now: Vec<i64> = [DocId::Private, DocId::Journal, side()]
            .iter()
            .map(|doc| reader.doc_version(doc).unwrap())
            .collect();
        assert_eq!(now, versions);
    }
    // The connection is usable again: the failed transaction did not stay open.
    store
        .update(&DocId::Journal, &device(), |d| d.put(ROOT, "after", 1))
        .unwrap();
    assert_eq!(load(&store, &DocId::Journal, "after"), Some(1));
    assert_eq!(load(&store, &DocId::Journal, "lost"), None);
}

/// A caller's own error type, as a library caller would have one.
#[derive(Debug)]
enum Mine {
    ChangedMyMind,
    Edit(#[allow(dead_code)] automerge::AutomergeError),
    Store(TxnError),
}

impl From<TxnError> for Mine {
    fn from(err: TxnError) -> Self {
        Mine::Store(err)
    }
}

impl From<automerge::AutomergeError> for Mine {
    fn from(err: automerge::AutomergeError) -> Self {
        Mine::Edit(err)
    }
}

/// Edits every document of the test and a meta entry; enough edits of the journal to compact
/// it, so that a snapshot write is rolled back too.
fn edit_everything(txn: &mut tapin_store::Txn<'_>) -> Result<(), Mine> {
    for i in 0..80 {
        txn.update(&DocId::Journal, |d| Ok::<_, Mine>(d.put(ROOT, "lost", i)?))?;
    }
    txn.update(&DocId::Private, |d| Ok::<_, Mine>(d.put(ROOT, "lost", 1)?))?;
    txn.update(&side(), |d| Ok::<_, Mine>(d.put(ROOT, "lost", 1)?))?;
    txn.set_meta(MetaKey::NetRelay, b"1")?;
    Ok(())
}

#[test]
fn a_transaction_whose_closure_errs_writes_nothing() {
    failing_transaction_writes_nothing(|store| {
        let result = store.transaction(&device(), |txn| {
            edit_everything(txn)?;
            Err::<(), _>(Mine::ChangedMyMind)
        });
        assert!(matches!(result, Err(Mine::ChangedMyMind)), "{result:?}");
    });
}

#[test]
fn a_transaction_whose_closure_panics_writes_nothing() {
    failing_transaction_writes_nothing(|store| {
        let result = catch_unwind(AssertUnwindSafe(|| {
            store.transaction(&device(), |txn| {
                edit_everything(txn)?;
                panic!("the closure panics after editing three documents");
                #[allow(unreachable_code)]
                Ok::<(), Mine>(())
            })
        }));
        assert!(result.is_err());
    });
}

/// A store error inside the transaction (here, a damaged document) aborts it, even when the
/// closure ignores the error and returns `Ok`.
#[test]
fn a_store_error_aborts_the_transaction_even_if_ignored() {
    failing_transaction_writes_nothing(|store| {
        let damaged = DocId::Replica(Id::from_bytes([9; 16]));
        let raw = rusqlite::Connection::open(store.db_path()).unwrap();
        raw.execute(
            "INSERT INTO chunks (doc, bytes) VALUES (?1, x'856f4a83deadbeef')",
            [damaged.to_string()],
        )
        .unwrap();
        let result = store.transaction(&device(), |txn| {
            edit_everything(txn)?;
            let err = txn.doc(&damaged).unwrap_err();
            assert!(
                matches!(err, TxnError::Corrupt { doc, .. } if doc == damaged),
                "{err:?}"
            );
            // Everything after it fails too.
            let err = txn.set_meta(MetaKey::NetMdns, b"1").unwrap_err();
            assert!(matches!(err, TxnError::Aborted { .. }), "{err:?}");
            Ok::<_, Mine>(())
        });
        assert!(
            matches!(result, Err(Mine::Store(TxnError::Aborted { .. }))),
            "{result:?}"
        );
        raw.execute("DELETE FROM chunks WHERE doc = ?1", [damaged.to_string()])
            .unwrap();
    });
}

/// An edit whose own closure fails leaves its document as it was and the transaction going;
/// what the closure half-did must not reach the rows, or later chunks would depend on changes
/// that were never stored.
#[test]
fn a_failed_edit_inside_a_transaction_leaves_no_trace() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::open(home.path()).unwrap();
    store
        .update(&DocId::Journal, &device(), |d| d.put(ROOT, "kept", 1))
        .unwrap();
    store
        .transaction(&device(), |txn| {
            txn.update(&DocId::Journal, |d| {
                d.put(ROOT, "first", 1).map_err(anyhow::Error::from)
            })?;
            let failed: anyhow::Result<()> = txn.update(&DocId::Journal, |d| {
                d.put(ROOT, "half", 1)?;
                d.commit();
                d.put(ROOT, "half", 2)?;
                anyhow::bail!("changed my mind")
            });
            assert!(failed.is_err());
            let journal = txn.doc(&DocId::Journal)?.expect("stored");
            assert_eq!(get(journal, "half"), None);
            assert_eq!(get(journal, "first"), Some(1));
            txn.update(&DocId::Journal, |d| {
                d.put(ROOT, "last", 1).map_err(anyhow::Error::from)
            })?;
            anyhow::Ok(())
        })
        .unwrap();
    for reader in [&store, &Store::open(home.path()).unwrap()] {
        let journal = reader.load(&DocId::Journal).unwrap().unwrap();
        assert_eq!(
            (
                get(&journal, "kept"),
                get(&journal, "first"),
                get(&journal, "last")
            ),
            (Some(1), Some(1), Some(1))
        );
        assert_eq!(get(&journal, "half"), None);
    }
}

#[test]
fn merges_and_whole_documents_inside_a_transaction() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::open(home.path()).unwrap();
    let friend = ActorId::from(b"friend".as_slice());
    let mut theirs = AutoCommit::new().with_actor(friend.clone());
    theirs.put(ROOT, "a", 1).unwrap();
    let whole = theirs.save();
    let heads = theirs.get_heads();
    theirs.put(ROOT, "b", 2).unwrap();
    let more = theirs.save_after(&heads);

    let replica = DocId::Replica(Id::from_bytes([3; 16]));
    let other = DocId::Replica(Id::from_bytes([4; 16]));
    store
        .transaction(&device(), |txn| {
            // Into a document not stored: a whole document, stored as it came.
            txn.apply_saved(&replica, SavedDoc::load(whole.clone()).unwrap())?;
            txn.apply_changes(&replica, &more)?;
            // Invalid bytes are refused, and leave the transaction usable.
            let err = txn.apply_changes(&other, &more).unwrap_err();
            assert!(
                matches!(err, TxnError::Automerge { doc, .. } if doc == other),
                "{err:?}"
            );
            txn.apply_changes(&other, &whole)?;
            assert!(txn.version(&replica)? > 0);
            assert_eq!(txn.version(&DocId::Journal)?, 0);
            Ok::<_, TxnError>(())
        })
        .unwrap();
    let fresh = Store::open(home.path()).unwrap();
    assert_eq!(load(&fresh, &replica, "b"), Some(2));
    assert_eq!(load(&fresh, &other, "a"), Some(1));
    assert_eq!(
        fresh.load(&replica).unwrap().unwrap().get_heads(),
        theirs.get_heads()
    );
}

/// `update`, `apply_changes` and `apply_saved` keep their own error types on top of
/// transactions.
#[test]
fn single_document_writes_keep_their_errors() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::open(home.path()).unwrap();
    let result = store.update(&DocId::Journal, &device(), |_| Err::<(), _>("no"));
    assert!(
        matches!(result, Err(UpdateError::Inner("no"))),
        "{result:?}"
    );
    let result: Result<(), UpdateError<Infallible>> =
        store.apply_changes(&DocId::Journal, b"garbage");
    assert!(
        matches!(
            result,
            Err(UpdateError::Automerge {
                doc: DocId::Journal,
                ..
            })
        ),
        "{result:?}"
    );
    assert!(store.documents().unwrap().is_empty());
    assert!(home.path().join(DB_FILE).exists());
}
