//! The [`Store`]: documents as a snapshot plus incremental chunks, and the meta table.

use std::convert::Infallible;
use std::fmt;
use std::path::{Path, PathBuf};

use automerge::{ActorId, AutoCommit, Automerge, AutomergeError, ReadDoc};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use tapin_core::DocId;

use crate::error::{LoadError, OpenError, StoreError, UpdateError};
use crate::schema;

/// The database file's name inside a home directory.
pub const DB_FILE: &str = "tapin.db";

/// A document is compacted once it has more incremental chunks than this. Loading costs one
/// automerge change application per change in the chunks, so this bounds the work a load does
/// beyond reading the snapshot.
const MAX_CHUNKS: usize = 64;

/// Chunks are also compacted once they hold more bytes than the snapshot, but only past this
/// floor: below it, applying them costs less than rewriting the snapshot on every few writes.
const MIN_COMPACT_BYTES: usize = 16 * 1024;

/// tapin's documents and settings in one SQLite database inside a home directory.
///
/// Every method is one SQLite transaction, so several processes (and several `Store`s in one
/// process) may use the same home at once: writes serialise on the database's write lock and
/// reads see a consistent state. A `Store` is [`Send`] but not [`Sync`]; share one between threads
/// behind a mutex, or open one per thread.
pub struct Store {
    conn: Connection,
    home: PathBuf,
    path: PathBuf,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

/// Sizes of the store, for benchmarks and diagnostics.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreStats {
    /// The size of the database in bytes: its page count times its page size. This is the
    /// database file's size once the write-ahead log has been checkpointed into it.
    pub db_bytes: u64,
    /// One entry per stored document, in the order of their names.
    pub documents: Vec<DocStats>,
}

/// Sizes of one stored document.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DocStats {
    /// The document.
    pub doc: DocId,
    /// Bytes in its compacted snapshot (0 if it has none yet).
    pub snapshot_bytes: u64,
    /// Incremental chunks written since the snapshot.
    pub chunks: u64,
    /// Bytes in those chunks.
    pub chunk_bytes: u64,
}

/// A document's rows as read in one transaction: the snapshot followed by the chunks after it,
/// concatenated into one buffer automerge can load in a single pass.
struct Stored {
    bytes: Vec<u8>,
    snapshot_bytes: usize,
    chunks: usize,
    chunk_bytes: usize,
    /// The id of the newest chunk, or the snapshot's `covers_upto` when there are no chunks.
    last_chunk: i64,
}

impl Stored {
    /// Loads the bytes strictly, for reading: any damaged chunk is an error, not a partial
    /// document.
    fn load(&self, doc: &DocId) -> Result<Automerge, LoadError> {
        // `load` (unlike `load_incremental`) refuses data that only partly parses.
        let loaded = Automerge::load(&self.bytes).map_err(corrupt(doc))?;
        check_complete(doc, &loaded)?;
        Ok(loaded)
    }

    /// Loads the bytes strictly, for changing.
    fn load_for_update(&self, doc: &DocId) -> Result<AutoCommit, LoadError> {
        let mut loaded = AutoCommit::load(&self.bytes).map_err(corrupt(doc))?;
        check_complete(doc, loaded.document())?;
        Ok(loaded)
    }
}

/// Small documents (most side documents) are compacted once they have more chunks than this:
/// rewriting their snapshot is cheap, and a load of one snapshot beats applying many chunks.
const MAX_CHUNKS_SMALL: usize = 8;

/// Below this snapshot size a document counts as small.
const SMALL_SNAPSHOT: usize = 64 * 1024;

/// Whether a document with these sizes should be compacted into a new snapshot.
fn needs_compaction(snapshot_bytes: usize, chunks: usize, chunk_bytes: usize) -> bool {
    chunks > MAX_CHUNKS
        || (chunks > MAX_CHUNKS_SMALL && snapshot_bytes < SMALL_SNAPSHOT)
        || chunk_bytes > snapshot_bytes.max(MIN_COMPACT_BYTES)
}

fn corrupt(doc: &DocId) -> impl FnOnce(AutomergeError) -> LoadError {
    let doc = *doc;
    move |source| LoadError::Corrupt {
        doc,
        source: Box::new(source),
    }
}

/// `Automerge::load` accepts changes whose dependencies are missing when a snapshot comes first,
/// queueing them silently. In a stored document that means a chunk row has gone missing.
fn check_complete(doc: &DocId, loaded: &Automerge) -> Result<(), LoadError> {
    if loaded.get_missing_deps(&[]).is_empty() {
        Ok(())
    } else {
        Err(corrupt(doc)(AutomergeError::MissingDeps))
    }
}

impl Store {
    /// Opens the store in `home`, creating the directory and the database (`home/tapin.db`) if
    /// they are missing.
    ///
    /// A file written by a newer tapin is refused with [`OpenError::TooNew`] and left untouched;
    /// a file that is not a tapin store, or is damaged, is refused naming its path.
    pub fn open(home: &Path) -> Result<Store, OpenError> {
        std::fs::create_dir_all(home).map_err(|source| OpenError::CreateHome {
            path: home.to_owned(),
            source,
        })?;
        let path = home.join(DB_FILE);
        let conn = schema::open(&path)?;
        Ok(Store {
            conn,
            home: home.to_owned(),
            path,
        })
    }

    /// The home directory this store lives in.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// The database file.
    pub fn db_path(&self) -> &Path {
        &self.path
    }

    /// Loads a document: its snapshot plus every change written since. `Ok(None)` if it was never
    /// written.
    ///
    /// A document whose bytes do not load gives [`LoadError::Corrupt`] naming it; other documents
    /// are unaffected.
    pub fn load(&self, doc: &DocId) -> Result<Option<Automerge>, LoadError> {
        let sqlite = |source| LoadError::Sqlite { doc: *doc, source };
        // A read transaction, so that a compaction committed by another process between the two
        // SELECTs cannot leave us with an old snapshot and the chunks after a newer one.
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Deferred)
            .map_err(sqlite)?;
        let stored = read_stored(&tx, doc).map_err(sqlite)?;
        tx.commit().map_err(sqlite)?;
        stored.map(|stored| stored.load(doc)).transpose()
    }

    /// Like [`Store::load`], with the document's version ([`Store::doc_version`]) read in the same
    /// transaction, so the two agree.
    pub fn load_versioned(&self, doc: &DocId) -> Result<Option<(Automerge, i64)>, LoadError> {
        let sqlite = |source| LoadError::Sqlite { doc: *doc, source };
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Deferred)
            .map_err(sqlite)?;
        let stored = read_stored(&tx, doc).map_err(sqlite)?;
        tx.commit().map_err(sqlite)?;
        stored
            .map(|stored| {
                let version = stored.last_chunk;
                stored.load(doc).map(|d| (d, version))
            })
            .transpose()
    }

    /// A cached, derived rendering of a document (the app keeps its decoded contents here) if it
    /// was made from `version` of the document; `None` when missing or stale.
    pub fn cached_view(&self, doc: &DocId, version: i64) -> Result<Option<Vec<u8>>, StoreError> {
        self.conn
            .prepare_cached("SELECT bytes FROM views WHERE doc = ?1 AND version = ?2")
            .and_then(|mut s| {
                s.query_row(params![doc.to_string(), version], |row| row.get(0))
                    .optional()
            })
            .map_err(|source| StoreError::Meta {
                key: format!("cached view of {doc}"),
                source,
            })
    }

    /// Stores a derived rendering of `version` of a document. It is only ever a cache: losing it
    /// costs a slower read, never data.
    pub fn put_view(&self, doc: &DocId, version: i64, bytes: &[u8]) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO views (doc, version, bytes) VALUES (?1, ?2, ?3)
                 ON CONFLICT (doc) DO UPDATE SET version = excluded.version, bytes = excluded.bytes
                 WHERE excluded.version >= views.version",
                params![doc.to_string(), version, bytes],
            )
            .map(drop)
            .map_err(|source| StoreError::Meta {
                key: format!("cached view of {doc}"),
                source,
            })
    }

    /// Changes one document atomically and durably.
    ///
    /// Under the database's write lock (so concurrent processes take turns), loads the current
    /// document or an empty one, sets its actor to `actor`, and runs `f` on it. If `f` returns
    /// `Ok`, the changes it made are appended as one incremental chunk and committed before this
    /// returns; if it made none, nothing is written. If `f` returns `Err`, nothing is written and
    /// the error comes back as [`UpdateError::Inner`].
    ///
    /// Loading under the lock is what makes it safe for two processes of one device to write with
    /// the same actor: each sees the other's changes, so their sequence numbers never collide.
    /// `f` runs while the lock is held, so keep it short and do no I/O in it.
    ///
    /// When the document has accumulated enough chunks it is compacted in the same transaction.
    pub fn update<T, E>(
        &self,
        doc: &DocId,
        actor: &ActorId,
        f: impl FnOnce(&mut AutoCommit) -> Result<T, E>,
    ) -> Result<T, UpdateError<E>> {
        self.write(doc, Some(actor), |current| {
            f(current).map_err(UpdateError::Inner)
        })
    }

    /// Merges changes made elsewhere (an import, a peer) into a document, in the same atomic,
    /// durable way as [`Store::update`]. `bytes` may be any concatenation of automerge changes or
    /// saved documents. Changes the document already has are ignored.
    ///
    /// Bytes that are not valid automerge data, or changes whose dependencies the document lacks,
    /// give [`UpdateError::Automerge`] and write nothing.
    pub fn apply_changes(&self, doc: &DocId, bytes: &[u8]) -> Result<(), UpdateError<Infallible>> {
        self.write(doc, None, |current| {
            let invalid = |source| UpdateError::Automerge {
                doc: *doc,
                source: Box::new(source),
            };
            // `load_incremental` skips whatever it cannot parse with only a log line, so check the
            // bytes strictly first. Loading them on their own fails with `MissingDeps` when they
            // build on changes the document already has, which is expected here.
            match Automerge::load(bytes) {
                Ok(_) | Err(AutomergeError::MissingDeps) => {}
                Err(source) => return Err(invalid(source)),
            }
            current.load_incremental(bytes).map_err(invalid)?;
            if !current.get_missing_deps(&[]).is_empty() {
                return Err(invalid(AutomergeError::MissingDeps));
            }
            Ok(())
        })
    }

    /// Compacts one document now: writes a full snapshot and deletes the chunks it covers. Does
    /// nothing for a document with no chunks or one never written.
    pub fn compact(&self, doc: &DocId) -> Result<(), UpdateError<Infallible>> {
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
            .map_err(UpdateError::sqlite(doc))?;
        let Some(stored) = read_stored(&tx, doc).map_err(UpdateError::sqlite(doc))? else {
            return Ok(());
        };
        if stored.chunks == 0 {
            return Ok(());
        }
        let mut current = stored.load_for_update(doc)?;
        write_snapshot(&tx, doc, &mut current, stored.last_chunk)
            .map_err(UpdateError::sqlite(doc))?;
        tx.commit().map_err(UpdateError::sqlite(doc))
    }

    /// The shared read-modify-write path of [`Store::update`] and [`Store::apply_changes`].
    fn write<T, E>(
        &self,
        doc: &DocId,
        actor: Option<&ActorId>,
        f: impl FnOnce(&mut AutoCommit) -> Result<T, UpdateError<E>>,
    ) -> Result<T, UpdateError<E>> {
        // IMMEDIATE takes the write lock before reading, so no other writer can slip a change in
        // between our load and our append.
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
            .map_err(UpdateError::sqlite(doc))?;
        let stored = read_stored(&tx, doc).map_err(UpdateError::sqlite(doc))?;
        let mut current = match &stored {
            Some(stored) => stored.load_for_update(doc)?,
            None => AutoCommit::new(),
        };
        if let Some(actor) = actor {
            current.set_actor(actor.clone());
        }
        let before = current.get_heads();

        // On `Err` the transaction is dropped, which rolls it back: nothing was written anyway.
        let value = f(&mut current)?;

        // Everything not already stored: the closure's own changes and any it merged in.
        let new = current.save_after(&before);
        if new.is_empty() {
            return Ok(value);
        }
        tx.execute(
            "INSERT INTO chunks (doc, bytes) VALUES (?1, ?2)",
            params![doc.to_string(), new],
        )
        .map_err(UpdateError::sqlite(doc))?;
        let chunk = tx.last_insert_rowid();

        let (snapshot_bytes, chunks, chunk_bytes) = stored.map_or((0, 0, 0), |stored| {
            (stored.snapshot_bytes, stored.chunks, stored.chunk_bytes)
        });
        if needs_compaction(snapshot_bytes, chunks + 1, chunk_bytes + new.len()) {
            write_snapshot(&tx, doc, &mut current, chunk).map_err(UpdateError::sqlite(doc))?;
        }
        tx.commit().map_err(UpdateError::sqlite(doc))?;
        Ok(value)
    }

    /// Every document stored, in the order of their names. Rows whose name is not a document tapin
    /// knows (written by something else, or by a newer tapin in the same format) are skipped with a
    /// warning.
    pub fn documents(&self) -> Result<Vec<DocId>, StoreError> {
        let sqlite = |source| StoreError::Sqlite {
            path: self.path.clone(),
            source,
        };
        let mut statement = self
            .conn
            .prepare_cached("SELECT doc FROM snapshots UNION SELECT doc FROM chunks ORDER BY doc")
            .map_err(sqlite)?;
        let names = statement
            .query_map([], |row| row.get::<_, String>(0))
            .map_err(sqlite)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(sqlite)?;
        Ok(names
            .into_iter()
            .filter_map(|name| match name.parse() {
                Ok(doc) => Some(doc),
                Err(err) => {
                    tracing::warn!(path = %self.path.display(), %err, "skipping unknown document");
                    None
                }
            })
            .collect())
    }

    /// The value stored under `key` in the meta table, if any.
    pub fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |row| {
                row.get(0)
            })
            .optional()
            .map_err(|source| StoreError::Meta {
                key: key.to_owned(),
                source,
            })
    }

    /// Stores `value` under `key` in the meta table, replacing any previous value, durably.
    pub fn set_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
            .map(drop)
            .map_err(|source| StoreError::Meta {
                key: key.to_owned(),
                source,
            })
    }

    /// The persisted automerge sync state for `doc` with one peer device, if any.
    pub fn get_sync_state(&self, doc: &DocId, peer: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.conn
            .query_row(
                "SELECT state FROM sync_states WHERE doc = ?1 AND peer = ?2",
                params![doc.to_string(), peer],
                |row| row.get(0),
            )
            .optional()
            .map_err(|source| StoreError::Meta {
                key: format!("sync state of {doc}"),
                source,
            })
    }

    /// Persists the automerge sync state for `doc` with one peer device, durably.
    pub fn set_sync_state(&self, doc: &DocId, peer: &[u8], state: &[u8]) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO sync_states (doc, peer, state) VALUES (?1, ?2, ?3)
                 ON CONFLICT (doc, peer) DO UPDATE SET state = excluded.state",
                params![doc.to_string(), peer, state],
            )
            .map(drop)
            .map_err(|source| StoreError::Meta {
                key: format!("sync state of {doc}"),
                source,
            })
    }

    /// A number that grows whenever `doc` changes (the id of its newest stored chunk, or of the
    /// last chunk its snapshot covers); 0 for a document never written.
    pub fn doc_version(&self, doc: &DocId) -> Result<i64, StoreError> {
        self.conn
            .query_row(
                "SELECT COALESCE(MAX(v), 0) FROM (
                     SELECT MAX(id) AS v FROM chunks WHERE doc = ?1
                     UNION ALL SELECT covers_upto FROM snapshots WHERE doc = ?1)",
                [doc.to_string()],
                |row| row.get(0),
            )
            .map_err(|source| StoreError::Sqlite {
                path: self.path.clone(),
                source,
            })
    }

    /// A counter that changes whenever *another* connection (another process, or another `Store`
    /// on the same home) commits. Cheap to poll: this is how a long-running process notices
    /// writes made by a CLI command.
    pub fn data_version(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("PRAGMA data_version", [], |row| row.get(0))
            .map_err(|source| StoreError::Sqlite {
                path: self.path.clone(),
                source,
            })
    }

    /// Sizes of the database and of each document.
    pub fn stats(&self) -> Result<StoreStats, StoreError> {
        let sqlite = |source| StoreError::Sqlite {
            path: self.path.clone(),
            source,
        };
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Deferred)
            .map_err(sqlite)?;
        let db_bytes: i64 = tx
            .query_row(
                "SELECT page_count * page_size FROM pragma_page_count, pragma_page_size",
                [],
                |row| row.get(0),
            )
            .map_err(sqlite)?;
        let mut statement = tx
            .prepare(
                "SELECT names.doc,
                        coalesce((SELECT length(bytes) FROM snapshots WHERE doc = names.doc), 0),
                        (SELECT count(*) FROM chunks WHERE doc = names.doc),
                        (SELECT coalesce(sum(length(bytes)), 0) FROM chunks WHERE doc = names.doc)
                 FROM (SELECT doc FROM snapshots UNION SELECT doc FROM chunks) AS names
                 ORDER BY names.doc",
            )
            .map_err(sqlite)?;
        let rows = statement
            .query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, i64>(3)?,
                ))
            })
            .map_err(sqlite)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(sqlite)?;
        drop(statement);
        tx.commit().map_err(sqlite)?;

        // Sizes and counts from SQLite are never negative; clamp rather than trust that blindly.
        let size = |n: i64| u64::try_from(n).unwrap_or(0);
        let documents = rows
            .into_iter()
            .filter_map(|(name, snapshot_bytes, chunks, chunk_bytes)| {
                let doc = name.parse().ok()?;
                Some(DocStats {
                    doc,
                    snapshot_bytes: size(snapshot_bytes),
                    chunks: size(chunks),
                    chunk_bytes: size(chunk_bytes),
                })
            })
            .collect();
        Ok(StoreStats {
            db_bytes: size(db_bytes),
            documents,
        })
    }
}

/// Reads a document's snapshot and the chunks after it. `None` if it has neither.
fn read_stored(conn: &Connection, doc: &DocId) -> rusqlite::Result<Option<Stored>> {
    let name = doc.to_string();
    let snapshot = conn
        .prepare_cached("SELECT bytes, covers_upto FROM snapshots WHERE doc = ?1")?
        .query_row([&name], |row| {
            Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, i64>(1)?))
        })
        .optional()?;
    let has_snapshot = snapshot.is_some();
    let (mut bytes, covers_upto) = snapshot.unwrap_or_default();
    let snapshot_bytes = bytes.len();

    let mut statement =
        conn.prepare_cached("SELECT id, bytes FROM chunks WHERE doc = ?1 AND id > ?2 ORDER BY id")?;
    let mut rows = statement.query(params![name, covers_upto])?;
    let mut chunks = 0;
    let mut last_chunk = covers_upto;
    while let Some(row) = rows.next()? {
        last_chunk = row.get(0)?;
        let chunk = row.get_ref(1)?.as_blob()?;
        bytes.extend_from_slice(chunk);
        chunks += 1;
    }
    if !has_snapshot && chunks == 0 {
        return Ok(None);
    }
    Ok(Some(Stored {
        chunk_bytes: bytes.len() - snapshot_bytes,
        bytes,
        snapshot_bytes,
        chunks,
        last_chunk,
    }))
}

/// Replaces the document's snapshot with a full save of `current` and deletes the chunks it now
/// covers: those up to `covers_upto`, the newest chunk read or written in this transaction. Both
/// happen in the caller's write transaction, so a chunk is only ever deleted in the same commit
/// that writes a snapshot containing it.
fn write_snapshot(
    tx: &Transaction<'_>,
    doc: &DocId,
    current: &mut AutoCommit,
    covers_upto: i64,
) -> rusqlite::Result<()> {
    let name = doc.to_string();
    let bytes = current.save();
    tx.execute(
        "INSERT INTO snapshots (doc, bytes, covers_upto) VALUES (?1, ?2, ?3)
         ON CONFLICT (doc) DO UPDATE SET bytes = excluded.bytes, covers_upto = excluded.covers_upto",
        params![name, bytes, covers_upto],
    )?;
    let deleted = tx.execute(
        "DELETE FROM chunks WHERE doc = ?1 AND id <= ?2",
        params![name, covers_upto],
    )?;
    tracing::debug!(%doc, snapshot_bytes = bytes.len(), deleted, "compacted document");
    Ok(())
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use automerge::{ROOT, ScalarValue, Value};
    use tapin_core::Id;

    use super::*;

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
    fn meta_round_trips_and_overwrites() {
        let home = tempfile::tempdir().unwrap();
        let store = Store::open(home.path()).unwrap();
        assert_eq!(store.get_meta("identity").unwrap(), None);
        store.set_meta("identity", b"first").unwrap();
        store.set_meta("identity", b"second").unwrap();
        store.set_meta("empty", b"").unwrap();
        assert_eq!(
            store.get_meta("identity").unwrap().as_deref(),
            Some(&b"second"[..])
        );
        assert_eq!(store.get_meta("empty").unwrap().as_deref(), Some(&b""[..]));
        drop(store);
        let store = Store::open(home.path()).unwrap();
        assert_eq!(
            store.get_meta("identity").unwrap().as_deref(),
            Some(&b"second"[..])
        );
    }

    #[test]
    fn errors_name_what_failed() {
        let doc = DocId::Side(Id::from_bytes([1; 16]));
        let err = LoadError::Corrupt {
            doc,
            source: Box::new(AutomergeError::MissingDeps),
        };
        assert_eq!(
            err.to_string(),
            "document side-01010101010101010101010101010101 is damaged"
        );
        assert!(std::error::Error::source(&err).is_some());
        let err: UpdateError<Infallible> = err.into();
        assert!(matches!(err, UpdateError::Corrupt { doc: d, .. } if d == doc));
    }
}
