//! The [`Store`]: documents as a snapshot plus incremental chunks, and the meta table.

use std::cell::RefCell;
use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::path::{Path, PathBuf};

use automerge::{ActorId, AutoCommit, Automerge, AutomergeError, ChangeHash, ReadDoc};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use tapin_core::DocId;
use tapin_core::saved::{self, SavedDoc};

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
///
/// Each `Store` keeps the documents it has read or written in memory, with the version they were
/// at. The next read of one costs a small query plus the chunks other writers appended since,
/// instead of a full load; a compaction by another writer, which removes those chunks, makes it
/// load in full once. The database stays the only truth: every read and write still checks it
/// inside its transaction.
pub struct Store {
    conn: Connection,
    home: PathBuf,
    path: PathBuf,
    cache: RefCell<HashMap<DocId, Cached>>,
}

/// A document as of one version ([`Store::doc_version`]).
struct Cached {
    version: i64,
    doc: AutoCommit,
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

/// The shape of a stored document, read in one transaction: its snapshot's size and the chunks
/// written since.
#[derive(Debug, Clone, Copy)]
struct Layout {
    snapshot_bytes: usize,
    /// The newest chunk the snapshot contains (0 without a snapshot).
    covers_upto: i64,
    chunks: usize,
    chunk_bytes: usize,
    /// The id of the newest chunk, or `covers_upto` when there are no chunks: the version.
    last_chunk: i64,
}

/// What a write leaves behind, for [`Store::write`] to persist.
enum Written {
    /// `doc` with the changes made after `before`; nothing to persist if there are none.
    Changes {
        doc: AutoCommit,
        before: Vec<ChangeHash>,
    },
    /// A document that was not stored yet, taken in whole: its bytes become the snapshot.
    Whole(SavedDoc),
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

/// Merges `bytes` (changes or saved documents) into `current`, refusing anything that does not
/// parse whole or leaves dependencies missing.
fn merge_strict(current: &mut AutoCommit, bytes: &[u8]) -> Result<(), AutomergeError> {
    // `load_incremental` skips whatever it cannot parse with only a log line.
    saved::check_strict(bytes)?;
    current.load_incremental(bytes)?;
    if !current.document().get_missing_deps(&[]).is_empty() {
        return Err(AutomergeError::MissingDeps);
    }
    Ok(())
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
            cache: RefCell::new(HashMap::new()),
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
        Ok(self.load_versioned(doc)?.map(|(doc, _)| doc))
    }

    /// Like [`Store::load`], with the document's version ([`Store::doc_version`]) read in the same
    /// transaction, so the two agree.
    pub fn load_versioned(&self, doc: &DocId) -> Result<Option<(Automerge, i64)>, LoadError> {
        let sqlite = |source| LoadError::Sqlite { doc: *doc, source };
        // A read transaction, so that a compaction committed by another process between the
        // SELECTs cannot leave us with an old snapshot and the chunks after a newer one.
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Deferred)
            .map_err(sqlite)?;
        let current = self.with_current(&tx, doc, |current, layout| {
            (current.document().clone(), layout.last_chunk)
        })?;
        tx.commit().map_err(sqlite)?;
        Ok(current)
    }

    /// A document's bytes exactly as stored, without loading them: its snapshot followed by the
    /// chunks written since, which together load as the whole document. `Ok(None)` if it was
    /// never written. For handing a document on as it is (a first sync sends a side this way).
    pub fn stored_bytes(&self, doc: &DocId) -> Result<Option<Vec<u8>>, LoadError> {
        let sqlite = |source| LoadError::Sqlite { doc: *doc, source };
        // One read transaction, so the chunks are those after this very snapshot.
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Deferred)
            .map_err(sqlite)?;
        let Some(layout) = read_layout(&tx, doc).map_err(sqlite)? else {
            return Ok(None);
        };
        let bytes = read_stored(&tx, doc, layout).map_err(sqlite)?;
        tx.commit().map_err(sqlite)?;
        Ok(Some(bytes))
    }

    /// A copy of the document as stored now; see [`Store::with_current`].
    fn current(
        &self,
        tx: &Connection,
        doc: &DocId,
    ) -> Result<Option<(AutoCommit, Layout)>, LoadError> {
        self.with_current(tx, doc, |current, layout| (current.clone(), layout))
    }

    /// Runs `f` on the document as stored now, read in the caller's transaction `tx`: from memory
    /// plus the chunks written since when this `Store` has it cached and it has not been compacted
    /// since, otherwise loaded in full. Either way strictly: damaged bytes are an error, not a
    /// partial document. Refreshes the cache; `f` sees the cached document, so it copies what it
    /// keeps.
    fn with_current<R>(
        &self,
        tx: &Connection,
        doc: &DocId,
        f: impl FnOnce(&mut AutoCommit, Layout) -> R,
    ) -> Result<Option<R>, LoadError> {
        let sqlite = |source| LoadError::Sqlite { doc: *doc, source };
        let Some(layout) = read_layout(tx, doc).map_err(sqlite)? else {
            return Ok(None);
        };
        let mut cache = self.cache.borrow_mut();
        if let Some(cached) = cache.get_mut(doc) {
            // Chunks up to the cached version are in the cached document; a snapshot covering
            // more than that replaced chunks it never saw.
            if layout.covers_upto <= cached.version && cached.version <= layout.last_chunk {
                if cached.version < layout.last_chunk {
                    let bytes = read_chunks(tx, doc, cached.version).map_err(sqlite)?;
                    if let Err(source) = merge_strict(&mut cached.doc, &bytes) {
                        cache.remove(doc);
                        return Err(corrupt(doc)(source));
                    }
                    cached.version = layout.last_chunk;
                }
                return Ok(Some(f(&mut cached.doc, layout)));
            }
        }
        let bytes = read_stored(tx, doc, layout).map_err(sqlite)?;
        // `load` (unlike `load_incremental`) refuses data that only partly parses.
        let mut loaded = AutoCommit::load(&bytes).map_err(corrupt(doc))?;
        check_complete(doc, loaded.document())?;
        let cached = cache.entry(*doc).insert_entry(Cached {
            version: layout.last_chunk,
            doc: loaded,
        });
        Ok(Some(f(&mut cached.into_mut().doc, layout)))
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
        self.write(doc, |current| {
            let mut current = current.unwrap_or_default();
            current.set_actor(actor.clone());
            let before = current.get_heads();
            let value = f(&mut current).map_err(UpdateError::Inner)?;
            Ok((
                Written::Changes {
                    doc: current,
                    before,
                },
                value,
            ))
        })
    }

    /// Merges changes made elsewhere (an import, a peer) into a document, in the same atomic,
    /// durable way as [`Store::update`]. `bytes` may be any concatenation of automerge changes or
    /// saved documents. Changes the document already has are ignored.
    ///
    /// Bytes that are not valid automerge data, or changes whose dependencies the document lacks,
    /// give [`UpdateError::Automerge`] and write nothing.
    pub fn apply_changes(&self, doc: &DocId, bytes: &[u8]) -> Result<(), UpdateError<Infallible>> {
        let invalid = |source| UpdateError::Automerge {
            doc: *doc,
            source: Box::new(source),
        };
        self.write(doc, |current| {
            let written = match current {
                // Not stored yet: the bytes must be a whole document on their own, and the
                // strict load that checks them is the document to keep.
                None => Written::Whole(SavedDoc::load(bytes.to_vec()).map_err(invalid)?),
                Some(mut current) => {
                    let before = current.get_heads();
                    merge_strict(&mut current, bytes).map_err(invalid)?;
                    Written::Changes {
                        doc: current,
                        before,
                    }
                }
            };
            Ok((written, ()))
        })
    }

    /// Like [`Store::apply_changes`] for a whole document that has already been loaded (and so
    /// checked): the load is not repeated. Into a document not stored yet, its bytes are stored
    /// as they are, as the snapshot.
    pub fn apply_saved(&self, doc: &DocId, saved: SavedDoc) -> Result<(), UpdateError<Infallible>> {
        self.write(doc, |current| {
            let written = match current {
                None => Written::Whole(saved),
                Some(mut current) => {
                    let before = current.get_heads();
                    let (_, mut other) = saved.into_parts();
                    current
                        .merge(&mut other)
                        .map_err(|source| UpdateError::Automerge {
                            doc: *doc,
                            source: Box::new(source),
                        })?;
                    Written::Changes {
                        doc: current,
                        before,
                    }
                }
            };
            Ok((written, ()))
        })
    }

    /// Compacts one document now: writes a full snapshot and deletes the chunks it covers. Does
    /// nothing for a document with no chunks or one never written.
    pub fn compact(&self, doc: &DocId) -> Result<(), UpdateError<Infallible>> {
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
            .map_err(UpdateError::sqlite(doc))?;
        // Nothing to fold in: no need to load the document at all.
        let layout = read_layout(&tx, doc).map_err(UpdateError::sqlite(doc))?;
        if layout.is_none_or(|layout| layout.chunks == 0) {
            return Ok(());
        }
        let Some((bytes, last_chunk)) = self.with_current(&tx, doc, |current, layout| {
            (current.save(), layout.last_chunk)
        })?
        else {
            return Ok(());
        };
        write_snapshot(&tx, doc, &bytes, last_chunk).map_err(UpdateError::sqlite(doc))?;
        tx.commit().map_err(UpdateError::sqlite(doc))
    }

    /// The shared read-modify-write path of [`Store::update`] and [`Store::apply_changes`]: under
    /// the write lock, hands `f` the current document (`None` if never written) and persists
    /// what it returns.
    fn write<T, E>(
        &self,
        doc: &DocId,
        f: impl FnOnce(Option<AutoCommit>) -> Result<(Written, T), UpdateError<E>>,
    ) -> Result<T, UpdateError<E>> {
        let sqlite = UpdateError::sqlite(doc);
        // IMMEDIATE takes the write lock before reading, so no other writer can slip a change in
        // between our load and our append.
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
            .map_err(UpdateError::sqlite(doc))?;
        let current = self.current(&tx, doc)?;
        let layout = current.as_ref().map(|(_, layout)| *layout);

        // On `Err` the transaction is dropped, which rolls it back: nothing was written anyway.
        let (written, value) = f(current.map(|(current, _)| current))?;

        let (version, current) = match written {
            Written::Changes {
                doc: mut current,
                before,
            } => {
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
                let layout = layout.unwrap_or(Layout::EMPTY);
                if needs_compaction(
                    layout.snapshot_bytes,
                    layout.chunks + 1,
                    layout.chunk_bytes + new.len(),
                ) {
                    let bytes = current.save();
                    write_snapshot(&tx, doc, &bytes, chunk).map_err(UpdateError::sqlite(doc))?;
                }
                (chunk, current)
            }
            Written::Whole(saved) => {
                // An empty chunk gives the snapshot a version of its own; the snapshot then
                // replaces it.
                tx.execute(
                    "INSERT INTO chunks (doc, bytes) VALUES (?1, x'')",
                    [doc.to_string()],
                )
                .map_err(UpdateError::sqlite(doc))?;
                let chunk = tx.last_insert_rowid();
                let (bytes, current) = saved.into_parts();
                write_snapshot(&tx, doc, &bytes, chunk).map_err(UpdateError::sqlite(doc))?;
                (chunk, current)
            }
        };
        tx.commit().map_err(sqlite)?;
        self.cache.borrow_mut().insert(
            *doc,
            Cached {
                version,
                doc: current,
            },
        );
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
        put_meta(&self.conn, key, value)
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
        put_sync_state(&self.conn, doc, peer, state)
    }

    /// Starts writing several meta entries and sync states as one transaction: one commit, one
    /// flush to disk, all or nothing.
    pub fn settings(&self) -> Result<Settings<'_>, StoreError> {
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate).map_err(
            |source| StoreError::Sqlite {
                path: self.path.clone(),
                source,
            },
        )?;
        Ok(Settings {
            tx,
            path: &self.path,
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

/// Meta entries and sync states written together; see [`Store::settings`]. Dropped without
/// [`Settings::commit`], it writes nothing.
pub struct Settings<'a> {
    tx: Transaction<'a>,
    path: &'a Path,
}

impl fmt::Debug for Settings<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("path", &self.path)
            .finish()
    }
}

impl Settings<'_> {
    /// Like [`Store::set_meta`], durable on [`Settings::commit`].
    pub fn set_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        put_meta(&self.tx, key, value)
    }

    /// Like [`Store::set_sync_state`], durable on [`Settings::commit`].
    pub fn set_sync_state(&self, doc: &DocId, peer: &[u8], state: &[u8]) -> Result<(), StoreError> {
        put_sync_state(&self.tx, doc, peer, state)
    }

    /// Writes everything set, durably.
    pub fn commit(self) -> Result<(), StoreError> {
        let path = self.path.to_owned();
        self.tx
            .commit()
            .map_err(|source| StoreError::Sqlite { path, source })
    }
}

fn put_meta(conn: &Connection, key: &str, value: &[u8]) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .and_then(|mut s| s.execute(params![key, value]))
    .map(drop)
    .map_err(|source| StoreError::Meta {
        key: key.to_owned(),
        source,
    })
}

fn put_sync_state(
    conn: &Connection,
    doc: &DocId,
    peer: &[u8],
    state: &[u8],
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO sync_states (doc, peer, state) VALUES (?1, ?2, ?3)
         ON CONFLICT (doc, peer) DO UPDATE SET state = excluded.state",
    )
    .and_then(|mut s| s.execute(params![doc.to_string(), peer, state]))
    .map(drop)
    .map_err(|source| StoreError::Meta {
        key: format!("sync state of {doc}"),
        source,
    })
}

impl Layout {
    const EMPTY: Layout = Layout {
        snapshot_bytes: 0,
        covers_upto: 0,
        chunks: 0,
        chunk_bytes: 0,
        last_chunk: 0,
    };
}

/// Reads the shape of a document without its bytes. `None` if it has neither snapshot nor chunks.
fn read_layout(conn: &Connection, doc: &DocId) -> rusqlite::Result<Option<Layout>> {
    let name = doc.to_string();
    let snapshot = conn
        .prepare_cached("SELECT length(bytes), covers_upto FROM snapshots WHERE doc = ?1")?
        .query_row([&name], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?))
        })
        .optional()?;
    let (snapshot_bytes, covers_upto) = snapshot.unwrap_or_default();
    let (chunks, chunk_bytes, last) = conn
        .prepare_cached(
            "SELECT count(*), coalesce(sum(length(bytes)), 0), max(id)
             FROM chunks WHERE doc = ?1 AND id > ?2",
        )?
        .query_row(params![name, covers_upto], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, Option<i64>>(2)?,
            ))
        })?;
    if snapshot.is_none() && chunks == 0 {
        return Ok(None);
    }
    let size = |n: i64| usize::try_from(n).unwrap_or(0);
    Ok(Some(Layout {
        snapshot_bytes: size(snapshot_bytes),
        covers_upto,
        chunks: size(chunks),
        chunk_bytes: size(chunk_bytes),
        last_chunk: last.unwrap_or(covers_upto),
    }))
}

/// A document's snapshot bytes (empty without one).
fn read_snapshot(conn: &Connection, doc: &DocId) -> rusqlite::Result<Vec<u8>> {
    Ok(conn
        .prepare_cached("SELECT bytes FROM snapshots WHERE doc = ?1")?
        .query_row([doc.to_string()], |row| row.get(0))
        .optional()?
        .unwrap_or_default())
}

/// A document's snapshot followed by the chunks written after it (as `layout` read them): bytes
/// that load as the whole document.
fn read_stored(conn: &Connection, doc: &DocId, layout: Layout) -> rusqlite::Result<Vec<u8>> {
    let mut bytes = read_snapshot(conn, doc)?;
    bytes.extend(read_chunks(conn, doc, layout.covers_upto)?);
    Ok(bytes)
}

/// A document's chunks after `after`, in order, concatenated into one buffer automerge can load
/// in a single pass.
fn read_chunks(conn: &Connection, doc: &DocId, after: i64) -> rusqlite::Result<Vec<u8>> {
    let mut statement =
        conn.prepare_cached("SELECT bytes FROM chunks WHERE doc = ?1 AND id > ?2 ORDER BY id")?;
    let mut rows = statement.query(params![doc.to_string(), after])?;
    let mut bytes = Vec::new();
    while let Some(row) = rows.next()? {
        bytes.extend_from_slice(row.get_ref(0)?.as_blob()?);
    }
    Ok(bytes)
}

/// Replaces the document's snapshot with `bytes`, a full save, and deletes the chunks it now
/// covers: those up to `covers_upto`, the newest chunk read or written in this transaction. Both
/// happen in the caller's write transaction, so a chunk is only ever deleted in the same commit
/// that writes a snapshot containing it.
fn write_snapshot(
    tx: &Transaction<'_>,
    doc: &DocId,
    bytes: &[u8],
    covers_upto: i64,
) -> rusqlite::Result<()> {
    let name = doc.to_string();
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
        assert!(fresh.cache.borrow().is_empty(), "nothing was loaded");
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
            settings.set_meta("k", b"dropped").unwrap();
            settings.set_sync_state(&side, b"peer", b"dropped").unwrap();
        }
        assert_eq!(store.get_meta("k").unwrap(), None);
        assert_eq!(store.get_sync_state(&side, b"peer").unwrap(), None);

        let settings = store.settings().unwrap();
        settings.set_meta("k", b"v").unwrap();
        settings.set_sync_state(&side, b"peer", b"s").unwrap();
        settings.commit().unwrap();
        let fresh = Store::open(home.path()).unwrap();
        assert_eq!(fresh.get_meta("k").unwrap().as_deref(), Some(&b"v"[..]));
        assert_eq!(
            fresh.get_sync_state(&side, b"peer").unwrap().as_deref(),
            Some(&b"s"[..])
        );
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
