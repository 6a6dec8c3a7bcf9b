//! Property tests of the loader, structure-aware: start from documents stored by real writes
//! (snapshots and chunks, some holding several changes), damage one document's rows the way a
//! disk, a bad copy or a hostile edit would (bit flips, truncations, garbage, chunks reordered,
//! duplicated or dropped, a snapshot dropped or swapped for another document's, `covers_upto`
//! moved, the heads record dropped), write them into the database, and load.
//!
//! Loading must never panic, must name the document when it refuses, must refuse where the rules
//! of docs/FORMAT.md say so (a row that does not parse whole, missing dependencies, rows that
//! contradict the recorded heads), must never return less than the intact rows it read, and must
//! leave the other documents loading as before.
//!
//! `TAPIN_FUZZ_CASES` sets the number of cases (default 64). The long run:
//!
//! ```text
//! TAPIN_FUZZ_CASES=100000 cargo test --release -p tapin-store --test loader
//! ```

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::OnceLock;

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, Automerge, ChangeHash, ROOT};
use proptest::prelude::*;
use proptest::sample::Index;
use rusqlite::{Connection, params};
use tapin_core::saved::SavedDoc;
use tapin_core::{DocId, Id};
use tapin_store::{DB_FILE, LoadError, Store, TxnError};

fn cases() -> u32 {
    std::env::var("TAPIN_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(64)
}

/// Where a row's bytes came from.
#[derive(Debug, Clone)]
enum Origin {
    /// Exactly the bytes of a row a real write stored (of this or another document), holding
    /// these changes.
    Intact(BTreeSet<ChangeHash>),
    /// Cut short: may still parse, as fewer changes.
    Truncated,
    /// A flipped bit or garbage after the end: must never load.
    Broken,
}

#[derive(Debug, Clone)]
struct Row {
    id: i64,
    bytes: Vec<u8>,
    origin: Origin,
    /// The bytes a real write stored, and their changes: damage undone is no damage.
    pristine: (Vec<u8>, BTreeSet<ChangeHash>),
}

impl Row {
    fn intact(id: i64, bytes: Vec<u8>, changes: BTreeSet<ChangeHash>) -> Row {
        Row {
            id,
            origin: Origin::Intact(changes.clone()),
            pristine: (bytes.clone(), changes),
            bytes,
        }
    }

    /// After a change to the bytes: `damaged` unless they are the pristine bytes again.
    fn settle(&mut self, damaged: Origin) {
        self.origin = if self.bytes == self.pristine.0 {
            Origin::Intact(self.pristine.1.clone())
        } else if self.bytes.is_empty() {
            // Nothing at all is a row with no changes.
            Origin::Intact(BTreeSet::new())
        } else {
            damaged
        };
    }
}

/// One document's rows, as stored.
#[derive(Debug, Clone)]
struct DocRows {
    /// The snapshot (its `id` unused) and its `covers_upto`.
    snapshot: Option<(Row, i64)>,
    chunks: Vec<Row>,
}

/// A `doc_heads` row, as stored.
#[derive(Debug, Clone)]
struct Record {
    version: i64,
    heads: Vec<u8>,
    digest: Vec<u8>,
}

struct Base {
    /// The database file the real writes made.
    db: Vec<u8>,
    docs: Vec<(DocId, DocRows, Record, Vec<ChangeHash>)>,
    /// Every change of every document.
    universe: BTreeSet<ChangeHash>,
}

fn docs() -> [DocId; 4] {
    [
        DocId::Private,
        DocId::Journal,
        DocId::Side(Id::from_bytes([1; 16])),
        DocId::Replica(Id::from_bytes([1; 16])),
    ]
}

fn hashes(doc: &Automerge) -> BTreeSet<ChangeHash> {
    doc.get_changes(&[]).iter().map(|c| c.hash()).collect()
}

/// Stores the four documents with real writes, interleaved so their chunk ids interleave: the
/// private document compacted into a snapshot and chunks, the journal chunks only, the side a
/// snapshot and a few chunks, the replica a whole document taken as it came plus chunks of
/// several changes each.
fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        let home = tempfile::tempdir().unwrap();
        let store = Store::open(home.path()).unwrap();
        let device = ActorId::from(b"loader fuzz device".as_slice());
        let [private, journal, side, replica] = docs();
        let mut friend = AutoCommit::new().with_actor(ActorId::from(b"friend".as_slice()));
        for i in 0..3 {
            friend.put(ROOT, format!("f{i}"), i).unwrap();
            friend.commit();
        }
        store
            .apply_saved(&replica, SavedDoc::load(friend.save()).unwrap())
            .unwrap();
        for i in 0..30_i64 {
            store
                .update(&private, &device, |d| d.put(ROOT, format!("p{}", i % 7), i))
                .unwrap();
            if i % 6 == 0 {
                store
                    .update(&journal, &device, |d| d.put(ROOT, format!("j{i}"), i * 3))
                    .unwrap();
            }
            if i < 12 || i % 10 == 0 {
                store
                    .update(&side, &device, |d| d.put(ROOT, "s", i * 5))
                    .unwrap();
            }
            if i == 12 {
                store.compact(&side).unwrap();
            }
            if i % 11 == 5 {
                let before = friend.get_heads();
                for k in 0..3 {
                    friend.put(ROOT, format!("g{i}-{k}"), k).unwrap();
                    friend.commit();
                }
                store
                    .apply_changes(&replica, &friend.save_after(&before))
                    .unwrap();
            }
        }
        drop(store);

        let conn = Connection::open(home.path().join(DB_FILE)).unwrap();
        let mut universe = BTreeSet::new();
        let mut out = Vec::new();
        for doc in docs() {
            let name = doc.to_string();
            let snapshot: Option<(Vec<u8>, i64)> = conn
                .query_row(
                    "SELECT bytes, covers_upto FROM snapshots WHERE doc = ?1",
                    [&name],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .ok();
            let mut statement = conn
                .prepare("SELECT id, bytes FROM chunks WHERE doc = ?1 ORDER BY id")
                .unwrap();
            let chunks: Vec<(i64, Vec<u8>)> = statement
                .query_map([&name], |row| Ok((row.get(0)?, row.get(1)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let record = conn
                .query_row(
                    "SELECT version, heads, digest FROM doc_heads WHERE doc = ?1",
                    [&name],
                    |row| {
                        Ok(Record {
                            version: row.get(0)?,
                            heads: row.get(1)?,
                            digest: row.get(2)?,
                        })
                    },
                )
                .unwrap();

            // Each row's changes: what loading it added to the rows before it.
            let mut prefix = Vec::new();
            let mut seen = BTreeSet::new();
            let mut changes_of = |bytes: &[u8]| {
                prefix.extend_from_slice(bytes);
                let now = hashes(&Automerge::load(&prefix).unwrap());
                let added: BTreeSet<_> = now.difference(&seen).copied().collect();
                seen = now;
                added
            };
            let snapshot = snapshot.map(|(bytes, covers_upto)| {
                let changes = changes_of(&bytes);
                (Row::intact(0, bytes, changes), covers_upto)
            });
            let chunks = chunks
                .into_iter()
                .map(|(id, bytes)| {
                    let changes = changes_of(&bytes);
                    Row::intact(id, bytes, changes)
                })
                .collect();
            let full = Automerge::load(&prefix).unwrap();
            universe.extend(hashes(&full));
            out.push((doc, DocRows { snapshot, chunks }, record, full.get_heads()));
        }
        let layout: Vec<_> = out
            .iter()
            .map(|(doc, rows, _, _)| (doc, rows.snapshot.is_some(), rows.chunks.len()))
            .collect();
        assert!(
            layout
                .iter()
                .filter(|(_, snapshot, chunks)| *snapshot && *chunks > 0)
                .count()
                >= 2
                && layout.iter().any(|(_, snapshot, _)| !snapshot),
            "the base should hold snapshots with chunks and chunks alone: {layout:?}"
        );
        Base {
            db: std::fs::read(home.path().join(DB_FILE)).unwrap(),
            docs: out,
            universe,
        }
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    FlipSnapshot(Index, u8),
    FlipChunk(Index, Index, u8),
    TruncateSnapshot(Index),
    TruncateChunk(Index, Index),
    GarbageAfterChunk(Index, Vec<u8>),
    SwapChunkOrder(Index, Index),
    DuplicateChunk(Index),
    DropChunk(Index),
    DropSnapshot,
    ForeignSnapshot(Index),
    MoveCoversUpto(Index),
    EmptyChunk,
}

impl Mutation {
    /// Mutations after which the document is still all there.
    fn is_benign(&self) -> bool {
        matches!(
            self,
            Mutation::SwapChunkOrder(..) | Mutation::DuplicateChunk(..)
        )
    }
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), 0..8_u8).prop_map(|(at, bit)| Mutation::FlipSnapshot(at, bit)),
        (any::<Index>(), any::<Index>(), 0..8_u8)
            .prop_map(|(which, at, bit)| Mutation::FlipChunk(which, at, bit)),
        any::<Index>().prop_map(Mutation::TruncateSnapshot),
        (any::<Index>(), any::<Index>()).prop_map(|(w, at)| Mutation::TruncateChunk(w, at)),
        (any::<Index>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(w, garbage)| Mutation::GarbageAfterChunk(w, garbage)),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapChunkOrder(a, b)),
        any::<Index>().prop_map(Mutation::DuplicateChunk),
        any::<Index>().prop_map(Mutation::DropChunk),
        Just(Mutation::DropSnapshot),
        any::<Index>().prop_map(Mutation::ForeignSnapshot),
        any::<Index>().prop_map(Mutation::MoveCoversUpto),
        Just(Mutation::EmptyChunk),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    target: usize,
    mutations: Vec<Mutation>,
    /// Delete the document's `doc_heads` row too: the loader then has nothing to check against.
    drop_record: bool,
    /// Also load it inside a transaction (a fresh store's `Txn::doc`).
    in_transaction: bool,
}

fn case() -> impl Strategy<Value = Case> {
    (
        0..docs().len(),
        prop::collection::vec(mutation(), 1..=3),
        prop::bool::weighted(0.25),
        prop::bool::weighted(0.25),
    )
        .prop_map(|(target, mutations, drop_record, in_transaction)| Case {
            target,
            mutations,
            drop_record,
            in_transaction,
        })
}

fn flip(row: &mut Row, at: Index, bit: u8) {
    if row.bytes.is_empty() {
        return;
    }
    let at = at.index(row.bytes.len());
    row.bytes[at] ^= 1 << bit;
    row.settle(Origin::Broken);
}

fn truncate(row: &mut Row, at: Index) {
    if row.bytes.is_empty() {
        return;
    }
    let keep = at.index(row.bytes.len());
    row.bytes.truncate(keep);
    // Whatever it was, a prefix may parse: a flip or garbage may be what was cut off.
    row.settle(Origin::Truncated);
}

/// Applies the mutations to the target's rows; `fresh` hands out ids for new chunks.
fn apply(case: &Case, rows: &mut DocRows, fresh: &mut i64) {
    let base = base();
    for mutation in &case.mutations {
        let n = rows.chunks.len();
        match mutation {
            Mutation::FlipSnapshot(at, bit) => {
                if let Some((row, _)) = &mut rows.snapshot {
                    flip(row, *at, *bit);
                }
            }
            Mutation::FlipChunk(which, at, bit) if n > 0 => {
                flip(&mut rows.chunks[which.index(n)], *at, *bit);
            }
            Mutation::TruncateSnapshot(at) => {
                if let Some((row, _)) = &mut rows.snapshot {
                    truncate(row, *at);
                }
            }
            Mutation::TruncateChunk(which, at) if n > 0 => {
                truncate(&mut rows.chunks[which.index(n)], *at);
            }
            Mutation::GarbageAfterChunk(which, garbage) if n > 0 => {
                let row = &mut rows.chunks[which.index(n)];
                row.bytes.extend_from_slice(garbage);
                row.settle(Origin::Broken);
            }
            Mutation::SwapChunkOrder(a, b) if n > 0 => {
                let (a, b) = (a.index(n), b.index(n));
                let (id_a, id_b) = (rows.chunks[a].id, rows.chunks[b].id);
                rows.chunks[a].id = id_b;
                rows.chunks[b].id = id_a;
            }
            Mutation::DuplicateChunk(which) if n > 0 => {
                let mut copy = rows.chunks[which.index(n)].clone();
                *fresh += 1;
                copy.id = *fresh;
                rows.chunks.push(copy);
            }
            Mutation::DropChunk(which) if n > 0 => {
                rows.chunks.remove(which.index(n));
            }
            Mutation::DropSnapshot => rows.snapshot = None,
            Mutation::ForeignSnapshot(which) => {
                let others: Vec<&Row> = base
                    .docs
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != case.target)
                    .filter_map(|(_, (_, rows, _, _))| rows.snapshot.as_ref().map(|(row, _)| row))
                    .collect();
                if !others.is_empty() {
                    let foreign = others[which.index(others.len())].clone();
                    let covers_upto = rows
                        .snapshot
                        .as_ref()
                        .map_or(0, |(_, covers_upto)| *covers_upto);
                    rows.snapshot = Some((foreign, covers_upto));
                }
            }
            Mutation::MoveCoversUpto(to) => {
                if let Some((_, covers_upto)) = &mut rows.snapshot {
                    let mut candidates = vec![0, *covers_upto - 1, *covers_upto + 1];
                    for chunk in &rows.chunks {
                        candidates.extend([chunk.id - 1, chunk.id, chunk.id + 1]);
                    }
                    candidates.push(*fresh + 10);
                    *covers_upto = candidates[to.index(candidates.len())].max(0);
                }
            }
            Mutation::EmptyChunk => {
                *fresh += 1;
                rows.chunks
                    .push(Row::intact(*fresh, Vec::new(), BTreeSet::new()));
            }
            _ => {}
        }
    }
}

/// Replaces a document's rows (and its `doc_heads` row) in the database.
fn write_rows(conn: &Connection, doc: &DocId, rows: &DocRows, record: Option<&Record>) {
    let name = doc.to_string();
    let tx = conn.unchecked_transaction().unwrap();
    for table in ["snapshots", "chunks", "doc_heads", "view_cache"] {
        tx.execute(&format!("DELETE FROM {table} WHERE doc = ?1"), [&name])
            .unwrap();
    }
    if let Some((row, covers_upto)) = &rows.snapshot {
        tx.execute(
            "INSERT INTO snapshots (doc, bytes, covers_upto) VALUES (?1, ?2, ?3)",
            params![name, row.bytes, covers_upto],
        )
        .unwrap();
    }
    for row in &rows.chunks {
        tx.execute(
            "INSERT INTO chunks (id, doc, bytes) VALUES (?1, ?2, ?3)",
            params![row.id, name, row.bytes],
        )
        .unwrap();
    }
    if let Some(record) = record {
        tx.execute(
            "INSERT INTO doc_heads (doc, version, heads, digest) VALUES (?1, ?2, ?3, ?4)",
            params![name, record.version, record.heads, record.digest],
        )
        .unwrap();
    }
    tx.commit().unwrap();
}

fn decode_heads(bytes: &[u8]) -> Vec<ChangeHash> {
    bytes
        .chunks_exact(32)
        .map(|h| ChangeHash::try_from(h).unwrap())
        .collect()
}

/// Names the document, and is the kind a damaged document gives.
fn check_error(err: &LoadError, doc: &DocId) -> Result<(), TestCaseError> {
    let named = match err {
        LoadError::Corrupt { doc: d, .. } | LoadError::Rewritten { doc: d, .. } => d == doc,
        other => return Err(TestCaseError::fail(format!("unexpected error {other:?}"))),
    };
    prop_assert!(named, "{err:?} does not name {doc}");
    prop_assert!(err.to_string().contains(&doc.to_string()), "{err}");
    Ok(())
}

fn check_case(case: &Case, home: &Path, conn: &Connection) -> Result<(), TestCaseError> {
    let base = base();
    let (doc, original, record, original_heads) = &base.docs[case.target];
    let mut rows = original.clone();
    let mut fresh = 1_000_000;
    apply(case, &mut rows, &mut fresh);
    let record = (!case.drop_record).then_some(record);
    write_rows(conn, doc, &rows, record);

    // What the rules say about these rows.
    let covers_upto = rows.snapshot.as_ref().map(|(_, c)| *c);
    let mut belonging: Vec<&Row> = rows
        .chunks
        .iter()
        .filter(|row| covers_upto.is_none_or(|c| row.id > c))
        .collect();
    belonging.sort_by_key(|row| row.id);
    let snapshot_row = rows.snapshot.as_ref().map(|(row, _)| row);
    let belonging: Vec<&Row> = snapshot_row.into_iter().chain(belonging).collect();
    let version = rows
        .chunks
        .iter()
        .map(|row| row.id)
        .chain(covers_upto)
        .max()
        .unwrap_or(0);
    let broken = belonging
        .iter()
        .any(|row| matches!(row.origin, Origin::Broken));
    let benign = case.mutations.iter().all(Mutation::is_benign);

    let store = Store::open(home).unwrap();
    let result = store.load(doc);
    match &result {
        Err(err) => {
            check_error(err, doc)?;
            prop_assert!(!benign, "refused after only {:?}: {err:?}", case.mutations);
        }
        Ok(None) => {
            prop_assert!(
                rows.snapshot.is_none() && rows.chunks.is_empty(),
                "no document from rows that exist"
            );
        }
        Ok(Some(loaded)) => {
            prop_assert!(!broken, "loaded a document from a damaged row");
            let got = hashes(loaded);
            prop_assert!(got.is_subset(&base.universe), "changes from nowhere");
            for row in &belonging {
                if let Origin::Intact(changes) = &row.origin {
                    prop_assert!(
                        changes.is_subset(&got),
                        "silently partial: row {} read whole but its changes are missing",
                        row.id
                    );
                }
            }
            if let Some(record) = record {
                prop_assert!(version >= record.version, "loaded rows that went back");
                let recorded = decode_heads(&record.heads);
                if version == record.version {
                    let mut heads = loaded.get_heads();
                    heads.sort();
                    prop_assert_eq!(heads, recorded, "other heads at the recorded version");
                } else {
                    prop_assert!(recorded.iter().all(|h| got.contains(h)));
                }
            }
            if benign {
                prop_assert_eq!(&loaded.get_heads(), original_heads);
            }
        }
    }
    if benign {
        prop_assert!(matches!(result, Ok(Some(_))));
    }

    // The other documents are untouched by one document's damage.
    for (other, _, _, heads) in base.docs.iter().filter(|(d, ..)| d != doc) {
        let loaded = store.load(other);
        prop_assert!(
            matches!(&loaded, Ok(Some(d)) if d.get_heads() == *heads),
            "{other}: {loaded:?}"
        );
    }

    // A transaction reads it the same way.
    if case.in_transaction {
        let fresh = Store::open(home).unwrap();
        let device = ActorId::from(b"loader fuzz device".as_slice());
        let in_txn = fresh.transaction(&device, |txn| {
            Ok::<_, TxnError>(txn.doc(doc)?.map(|d| d.get_heads()))
        });
        match (&result, &in_txn) {
            (Ok(a), Ok(b)) => {
                prop_assert_eq!(a.as_ref().map(|d| d.get_heads()), b.clone());
            }
            (Err(_), Err(err)) => {
                let named = matches!(
                    err,
                    TxnError::Corrupt { doc: d, .. } | TxnError::Rewritten { doc: d, .. } if d == doc
                );
                prop_assert!(named, "{err:?}");
            }
            (a, b) => {
                return Err(TestCaseError::fail(format!(
                    "load gave {a:?}, a transaction {b:?}"
                )));
            }
        }
    }
    drop(store);

    write_rows(conn, doc, original, Some(&base.docs[case.target].2));
    Ok(())
}

#[test]
fn fuzz_the_loader_refuses_damage_and_never_returns_a_partial_document() {
    let base = base();
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join(DB_FILE), &base.db).unwrap();
    let conn = Connection::open(home.path().join(DB_FILE)).unwrap();
    // Only this test's rewrites of rows go through here; they need not reach the disk.
    conn.pragma_update(None, "synchronous", "OFF").unwrap();

    let config = ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(case in case())| {
        let result = check_case(&case, home.path(), &conn);
        if result.is_err() {
            // Leave the next case (and shrinking) a clean base.
            let (doc, rows, record, _) = &base.docs[case.target];
            write_rows(&conn, doc, rows, Some(record));
        }
        result?;
    });
}
