//! Each `Store`'s memory of documents: bounded by a budget of bytes of stored documents, least
//! recently used out first, and never a reason to read anything but what the database holds.

mod support;

use std::path::Path;

use automerge::transaction::Transactable;
use automerge::{ActorId, ROOT};
use tapin_core::{DocId, Id};
use tapin_store::{DEFAULT_CACHE_BUDGET, Store};

use support::get;

type Error = Box<dyn std::error::Error>;

fn device() -> ActorId {
    ActorId::from(b"memory test device".as_slice())
}

fn side(n: u8) -> DocId {
    DocId::Side(Id::from_bytes([n; 16]))
}

fn write(store: &Store, doc: &DocId, key: &str, value: i64) {
    store
        .update(doc, &device(), |d| d.put(ROOT, key, value))
        .unwrap();
}

fn read(store: &Store, doc: &DocId, key: &str) -> Option<i64> {
    get(&store.load(doc).unwrap().unwrap(), key)
}

/// A document's stored size, which is what it costs in the cache.
fn stored_size(store: &Store, doc: DocId) -> usize {
    let stats = store
        .stats()
        .unwrap()
        .documents
        .into_iter()
        .find(|stats| stats.doc == doc)
        .unwrap();
    usize::try_from(stats.snapshot_bytes + stats.chunk_bytes).unwrap()
}

/// A store on `home` that has read nothing yet, with `budget`.
fn reader(home: &Path, budget: usize) -> Store {
    let store = Store::open(home).unwrap();
    store.set_cache_budget(budget);
    store
}

#[test]
fn a_new_store_has_the_default_budget_and_an_empty_cache() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::open(home.path()).unwrap();
    let stats = store.cache_stats();
    assert_eq!(stats.budget, DEFAULT_CACHE_BUDGET);
    assert_eq!(
        (stats.bytes, stats.documents, stats.hits, stats.misses),
        (0, 0, 0, 0)
    );
    assert_eq!(stats.hit_rate(), None);
}

/// Whatever is read or written, in whatever order, the cache keeps at most its budget.
#[test]
fn the_cache_never_holds_more_than_its_budget() {
    let home = tempfile::tempdir().unwrap();
    let writer = Store::open(home.path()).unwrap();
    // Documents of different sizes: side n holds n * 4 keys.
    for n in 1..=12u8 {
        writer
            .update(&side(n), &device(), |d| {
                for k in 0..usize::from(n) * 4 {
                    d.put(ROOT, format!("k{k}"), i64::from(n))?;
                }
                Ok::<_, automerge::AutomergeError>(())
            })
            .unwrap();
    }
    let sizes: Vec<usize> = (1..=12).map(|n| stored_size(&writer, side(n))).collect();
    let budget = sizes.iter().sum::<usize>() / 3;
    let store = reader(home.path(), budget);
    let mut order = 7u8;
    for step in 0..200 {
        order = (order * 5 + 3) % 12 + 1;
        let doc = side(order);
        if step % 4 == 0 {
            write(&store, &doc, "step", step);
        } else {
            assert_eq!(read(&store, &doc, "k0"), Some(i64::from(order)));
        }
        let stats = store.cache_stats();
        assert!(stats.bytes <= budget, "step {step}: {stats:?}");
        assert!(stats.documents < 12, "step {step}: {stats:?}");
    }
    let stats = store.cache_stats();
    assert!(
        stats.evictions > 0 && stats.hits > 0 && stats.misses > 0,
        "{stats:?}"
    );

    // Lowering the budget drops documents at once.
    store.set_cache_budget(budget / 2);
    assert!(store.cache_stats().bytes <= budget / 2);
}

/// Guards the order of eviction: reading a document makes it the most recently used, so the
/// one dropped for a newcomer is the one read longest ago.
#[test]
fn the_least_recently_used_document_is_evicted() {
    let home = tempfile::tempdir().unwrap();
    let writer = Store::open(home.path()).unwrap();
    let [a, b, c] = [side(1), side(2), side(3)];
    for doc in [a, b, c] {
        write(&writer, &doc, "n", 1);
    }
    let total: usize = [a, b, c].map(|doc| stored_size(&writer, doc)).iter().sum();
    // Room for any two, not for all three.
    let store = reader(home.path(), total - 1);
    for doc in [a, b, a] {
        read(&store, &doc, "n");
    }
    let stats = store.cache_stats();
    assert_eq!((stats.documents, stats.hits, stats.misses), (2, 1, 2));
    assert_eq!(stats.evictions, 0);

    // b is the least recently used: c takes its place.
    read(&store, &c, "n");
    let stats = store.cache_stats();
    assert_eq!((stats.documents, stats.evictions), (2, 1));
    read(&store, &a, "n");
    read(&store, &c, "n");
    assert_eq!(store.cache_stats().hits, stats.hits + 2, "a and c are kept");
    read(&store, &b, "n");
    let after = store.cache_stats();
    assert_eq!(after.misses, stats.misses + 1, "b was dropped");
    assert_eq!(after.evictions, 2, "and drops the least recently used, a");
}

/// An evicted document comes back from the database as it is now: with what another store wrote
/// meanwhile, appended or compacted.
#[test]
fn an_evicted_document_reads_again_as_the_database_has_it() {
    let home = tempfile::tempdir().unwrap();
    let writer = Store::open(home.path()).unwrap();
    let [a, b] = [side(1), side(2)];
    write(&writer, &a, "n", 0);
    // b is large, a small: the cache has room for b, or for a, but not for both.
    writer
        .update(&b, &device(), |d| {
            for k in 0..2000 {
                d.put(ROOT, format!("k{k}"), format!("value {k}"))?;
            }
            d.put(ROOT, "n", 0)
        })
        .unwrap();
    // a only grows, so it never fits beside b.
    let budget = stored_size(&writer, b) + stored_size(&writer, a) - 1;
    let store = reader(home.path(), budget);
    for round in 1..=30 {
        assert_eq!(read(&store, &a, "n"), Some(round - 1));
        // Reading b drops a; then another store writes a (and now and then compacts it).
        read(&store, &b, "n");
        write(&writer, &a, "n", round);
        if round % 10 == 0 {
            writer.compact(&a).unwrap();
        }
        let (doc, version) = store.load_versioned(&a).unwrap().unwrap();
        assert_eq!(get(&doc, "n"), Some(round));
        assert_eq!(version, writer.doc_version(&a).unwrap());
        assert_eq!(
            doc.get_heads(),
            writer.load(&a).unwrap().unwrap().get_heads()
        );
        // And this store writes on top of it, with the same actor, without colliding.
        write(&store, &a, "mine", round);
        assert_eq!(
            read(&writer, &a, "mine"),
            Some(round),
            "round {round}: the writer sees it"
        );
        write(&writer, &a, "n", round);
    }
    let stats = store.cache_stats();
    assert!(stats.evictions >= 60 && stats.oversized == 0, "{stats:?}");
}

/// With a budget of 0 nothing is kept, and everything still works: every read is a full load of
/// what the database holds.
#[test]
fn a_budget_of_zero_keeps_nothing() {
    let home = tempfile::tempdir().unwrap();
    let store = reader(home.path(), 0);
    let other = Store::open(home.path()).unwrap();
    let journal = DocId::Journal;
    for n in 0..100 {
        write(&store, &journal, "n", n);
        if n % 3 == 0 {
            write(&other, &journal, "other", n);
        }
        assert_eq!(read(&store, &journal, "n"), Some(n));
        let stats = store.cache_stats();
        assert_eq!((stats.bytes, stats.documents, stats.hits), (0, 0, 0));
    }
    assert_eq!(read(&store, &journal, "other"), Some(99));
    store.compact(&journal).unwrap();
    store
        .transaction(&device(), |txn| {
            for doc in [journal, DocId::Private] {
                txn.update(&doc, |d| Ok::<_, Error>(d.put(ROOT, "both", 1)?))?;
            }
            Ok::<_, Error>(())
        })
        .unwrap();
    let fresh = Store::open(home.path()).unwrap();
    assert_eq!(read(&fresh, &journal, "n"), Some(99));
    assert_eq!(read(&fresh, &DocId::Private, "both"), Some(1));
    assert_eq!(
        fresh.load(&journal).unwrap().unwrap().get_heads(),
        store.load(&journal).unwrap().unwrap().get_heads()
    );
    let stats = store.cache_stats();
    assert_eq!((stats.bytes, stats.documents, stats.hits), (0, 0, 0));
    assert!(stats.oversized > 0 && stats.misses > 0, "{stats:?}");
}
