//! The [`Store`]: documents as a snapshot plus incremental chunks, and the meta table.

use std::cell::RefCell;
use std::convert::Infallible;
use std::fmt;
use std::path::{Path, PathBuf};

use automerge::{ActorId, AutoCommit, Automerge, ChangeHash};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use tapin_core::DocId;
use tapin_core::saved::SavedDoc;

use crate::cache::{CacheStats, DEFAULT_CACHE_BUDGET, DocCache};
use crate::error::{LoadError, OpenError, StoreError, UpdateError};
use crate::home::Tightened;
use crate::meta::{self, MetaKey};
use crate::rows::{self, Layout, corrupt};
use crate::{heads, schema};

/// The database file's name inside a home directory.
pub const DB_FILE: &str = "tapin.db";

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
/// inside its transaction. What it keeps is bounded by a budget of bytes of stored documents,
/// least recently used out first ([`Store::set_cache_budget`], [`Store::cache_stats`]).
pub struct Store {
    pub(crate) conn: Connection,
    pub(crate) home: PathBuf,
    pub(crate) path: PathBuf,
    pub(crate) cache: RefCell<DocCache>,
    /// Opened read-only: every write fails with a `ReadOnly` error naming the home.
    pub(crate) read_only: bool,
    /// Whether `doc_heads` and `view_cache` exist (always, unless read-only; see `schema`).
    pub(crate) additions: bool,
    /// Whether the journal's search index tables exist (always, once a writable store opened).
    pub(crate) index: bool,
    tightened: Vec<Tightened>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("read_only", &self.read_only)
            .finish()
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

impl Store {
    /// Opens the store in `home`, creating the directory (mode 0700 on Unix; missing parents
    /// with default permissions) and the database (`home/tapin.db`, mode 0600) if they are
    /// missing. The mode of an existing directory is left as it is. To create a new home for a
    /// person, use [`Store::create`], which never leaves a half-made one.
    ///
    /// A file written by a newer tapin is refused with [`OpenError::TooNew`] and left untouched;
    /// a file that is not a tapin store, or is damaged, is refused naming its path. A format-1
    /// file from an older tapin is migrated in place (docs/FORMAT.md, "How the format evolves").
    /// A database file that others could read or write is made private to its owner, and
    /// [`Store::tightened`] says so.
    ///
    /// A database that cannot be written (a read-only file or mount, a directory where SQLite
    /// cannot make its shared-memory file) is opened read-only: [`Store::is_read_only`] is then
    /// true, every read works, and every write fails naming the home. Nothing is migrated or
    /// tightened then.
    pub fn open(home: &Path) -> Result<Store, OpenError> {
        let not_a_home = |source| OpenError::CreateHome {
            path: home.to_owned(),
            source,
        };
        match std::fs::metadata(home) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(not_a_home(std::io::Error::new(
                    std::io::ErrorKind::NotADirectory,
                    "not a directory",
                )));
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                crate::home::create_home_dir(home).map_err(not_a_home)?;
            }
            Err(err) => return Err(not_a_home(err)),
        }
        Store::open_file(home, &home.join(DB_FILE))
    }

    /// Opens the database file `path` as the store of `home`.
    pub(crate) fn open_file(home: &Path, path: &Path) -> Result<Store, OpenError> {
        let opened = schema::open(path)?;
        let index = crate::index::exists(&opened.conn).unwrap_or(false);
        Ok(Store {
            index,
            conn: opened.conn,
            home: home.to_owned(),
            path: path.to_owned(),
            cache: RefCell::new(DocCache::new(DEFAULT_CACHE_BUDGET)),
            read_only: opened.read_only,
            additions: opened.additions,
            tightened: opened.tightened,
        })
    }

    /// Closes the database, reporting what SQLite reports (dropping a `Store` ignores it). The
    /// last connection to close checkpoints the log into the file and removes it.
    pub(crate) fn close(self) -> Result<(), rusqlite::Error> {
        self.conn.close().map_err(|(_, err)| err)
    }

    /// The home directory this store lives in.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// The database file.
    pub fn db_path(&self) -> &Path {
        &self.path
    }

    /// Whether the store was opened read-only because its database cannot be written; see
    /// [`Store::open`].
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// The files [`Store::open`] made private to their owner because group or others could read
    /// or write them, with their modes before and after. Empty on platforms without Unix modes.
    pub fn tightened(&self) -> &[Tightened] {
        &self.tightened
    }

    /// Fails with `err` when the store is read-only.
    pub(crate) fn writable<E>(&self, err: impl FnOnce(PathBuf) -> E) -> Result<(), E> {
        if self.read_only {
            Err(err(self.home.clone()))
        } else {
            Ok(())
        }
    }

    /// Loads a document: its snapshot plus every change written since. `Ok(None)` if it was never
    /// written.
    ///
    /// A document whose bytes do not load gives [`LoadError::Corrupt`] naming it, and one whose
    /// rows contradict the heads recorded for it [`LoadError::Rewritten`]; other documents are
    /// unaffected.
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
        Ok(self.stored_bytes_and_heads(doc)?.map(|(bytes, _)| bytes))
    }

    /// Like [`Store::stored_bytes`], with the heads the store recorded for exactly those bytes
    /// (`doc_heads`, read in the same transaction), still without loading them: no heads (an
    /// empty list) when there is no intact record of this version. For a first sync, whose
    /// sender can then tell whether the friend took its snapshot whole without loading its side.
    #[allow(clippy::type_complexity)]
    pub fn stored_bytes_and_heads(
        &self,
        doc: &DocId,
    ) -> Result<Option<(Vec<u8>, Vec<ChangeHash>)>, LoadError> {
        let sqlite = |source| LoadError::Sqlite { doc: *doc, source };
        // One read transaction, so the chunks are those after this very snapshot, and the heads
        // those of this very version.
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Deferred)
            .map_err(sqlite)?;
        let Some(layout) = rows::read_layout(&tx, doc).map_err(sqlite)? else {
            return Ok(None);
        };
        let bytes = rows::read_stored(&tx, doc, layout).map_err(sqlite)?;
        let recorded = if self.additions {
            heads::read(&tx, doc).map_err(sqlite)?
        } else {
            None
        };
        tx.commit().map_err(sqlite)?;
        let heads = recorded
            .filter(|(version, _)| *version == layout.last_chunk)
            .and_then(|(_, encoded)| heads::decode(&encoded))
            .unwrap_or_default();
        Ok(Some((bytes, heads)))
    }

    /// Runs `f` on the document as stored now, read in the caller's transaction `tx`: from memory
    /// plus the chunks written since when this `Store` has it cached and it has not been compacted
    /// since, otherwise loaded in full. Either way strictly: damaged bytes are an error, not a
    /// partial document. Keeps the result in the cache, so `tx` must see only committed rows (a
    /// read, or a write transaction that has written nothing yet); `f` sees the document that is
    /// kept, so it copies what it keeps and changes nothing.
    fn with_current<R>(
        &self,
        tx: &Connection,
        doc: &DocId,
        f: impl FnOnce(&mut AutoCommit, Layout) -> R,
    ) -> Result<Option<R>, LoadError> {
        let sqlite = |source| LoadError::Sqlite { doc: *doc, source };
        let Some(layout) = rows::read_layout(tx, doc).map_err(sqlite)? else {
            return Ok(None);
        };
        // Out of the cache while it is brought up to date: a failure leaves nothing stale there.
        let taken = self.cache.borrow_mut().take(doc, layout);
        let mut current = match taken {
            Some((mut cached, version)) => {
                if version < layout.last_chunk {
                    let bytes = rows::read_chunks(tx, doc, version).map_err(sqlite)?;
                    rows::merge_strict(&mut cached, &bytes).map_err(corrupt(doc))?;
                    self.check_recorded(tx, doc, layout, &mut cached)?;
                }
                cached
            }
            None => self.load_full(tx, doc, layout)?,
        };
        let value = f(&mut current, layout);
        self.cache.borrow_mut().keep(*doc, layout, current);
        Ok(Some(value))
    }

    /// A copy of the document as `tx` sees it, loaded as strictly as [`Store::with_current`] but
    /// leaving this `Store`'s memory alone: `tx` may hold rows that are not committed (yet, or
    /// ever). See [`crate::Txn`].
    pub(crate) fn load_detached(
        &self,
        tx: &Connection,
        doc: &DocId,
    ) -> Result<Option<(AutoCommit, Layout)>, LoadError> {
        let sqlite = |source| LoadError::Sqlite { doc: *doc, source };
        let Some(layout) = rows::read_layout(tx, doc).map_err(sqlite)? else {
            return Ok(None);
        };
        let from_memory = self.cache.borrow_mut().copy(doc, layout);
        if let Some((mut copy, version)) = from_memory {
            if version < layout.last_chunk {
                let bytes = rows::read_chunks(tx, doc, version).map_err(sqlite)?;
                rows::merge_strict(&mut copy, &bytes).map_err(corrupt(doc))?;
                self.check_recorded(tx, doc, layout, &mut copy)?;
            }
            return Ok(Some((copy, layout)));
        }
        Ok(Some((self.load_full(tx, doc, layout)?, layout)))
    }

    /// Loads the document laid out as `layout` from its rows, strictly, and checks it against
    /// the heads recorded for it.
    fn load_full(
        &self,
        tx: &Connection,
        doc: &DocId,
        layout: Layout,
    ) -> Result<AutoCommit, LoadError> {
        let bytes = rows::read_stored(tx, doc, layout)
            .map_err(|source| LoadError::Sqlite { doc: *doc, source })?;
        let mut loaded = rows::load_strict(doc, &bytes)?;
        self.check_recorded(tx, doc, layout, &mut loaded)?;
        Ok(loaded)
    }

    /// Refuses a document whose rows no longer hold what the store recorded of them in
    /// `doc_heads` (heads `H` at version `v`). Rows only ever grow: a chunk id is never reused, a
    /// compaction keeps the version and the changes, and an older tapin that does not know
    /// `doc_heads` only appends. So a document now at a version below `v`, at `v` with other heads,
    /// or past `v` without every head in `H`, lost or swapped rows: a silently different document
    /// otherwise. Without an intact record (a new or migrated-from-damage document, a read-only
    /// unmigrated file) there is nothing to check against.
    fn check_recorded(
        &self,
        tx: &Connection,
        doc: &DocId,
        layout: Layout,
        current: &mut AutoCommit,
    ) -> Result<(), LoadError> {
        if !self.additions {
            return Ok(());
        }
        let recorded =
            heads::read(tx, doc).map_err(|source| LoadError::Sqlite { doc: *doc, source })?;
        let Some((version, encoded)) = recorded else {
            return Ok(());
        };
        let rewritten = match layout.last_chunk.cmp(&version) {
            std::cmp::Ordering::Less => true,
            std::cmp::Ordering::Equal => heads::encode(&current.get_heads()) != encoded,
            std::cmp::Ordering::Greater => heads::decode(&encoded).is_none_or(|heads| {
                heads
                    .iter()
                    .any(|head| current.get_change_by_hash(head).is_none())
            }),
        };
        if rewritten {
            return Err(LoadError::Rewritten {
                doc: *doc,
                recorded: version,
                found: layout.last_chunk,
            });
        }
        Ok(())
    }

    /// Remembers documents as a committed transaction left them, each with its layout then (its
    /// version is the layout's newest chunk), within the cache's budget.
    pub(crate) fn remember(&self, docs: impl IntoIterator<Item = (DocId, Layout, AutoCommit)>) {
        let mut cache = self.cache.borrow_mut();
        for (doc, layout, current) in docs {
            cache.keep(doc, layout, current);
        }
    }

    /// Sets the most this `Store` keeps of documents in memory, in bytes of their stored size
    /// (snapshot plus chunks; the heap they take is 7–20 times that, see
    /// [`DEFAULT_CACHE_BUDGET`](crate::DEFAULT_CACHE_BUDGET)), and drops the least recently used
    /// documents until it keeps no more. A document larger than the budget is not kept; 0 keeps
    /// nothing, so every read loads in full. A new `Store` has `DEFAULT_CACHE_BUDGET`.
    pub fn set_cache_budget(&self, bytes: usize) {
        self.cache.borrow_mut().set_budget(bytes);
    }

    /// Sets the most documents this `Store` keeps in memory, whatever their size, and drops the
    /// least recently used until it keeps no more; the budget in bytes still applies. A new
    /// `Store` is bounded by its budget alone. For a process whose reads go round many documents,
    /// each read again only after all the others (`tapin serve` answering friends in turn): it
    /// gains nothing from keeping more than it uses at once, and keeping them all makes its memory
    /// grow with every friend's history.
    pub fn set_cache_documents(&self, max: usize) {
        self.cache.borrow_mut().set_max_documents(max);
    }

    /// What this `Store` keeps of documents in memory, and how many reads it served from there
    /// since it was opened.
    pub fn cache_stats(&self) -> CacheStats {
        self.cache.borrow().stats()
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
    /// This is [`Store::transaction`] with one [`crate::Txn::update`].
    pub fn update<T, E>(
        &self,
        doc: &DocId,
        actor: &ActorId,
        f: impl FnOnce(&mut AutoCommit) -> Result<T, E>,
    ) -> Result<T, UpdateError<E>> {
        self.transaction(actor, |txn| {
            txn.update(doc, |current| f(current).map_err(UpdateError::Inner))
        })
    }

    /// Merges changes made elsewhere (an import, a peer) into a document, in the same atomic,
    /// durable way as [`Store::update`]. `bytes` may be any concatenation of automerge changes or
    /// saved documents. Changes the document already has are ignored.
    ///
    /// Bytes that are not valid automerge data, or changes whose dependencies the document lacks,
    /// give [`UpdateError::Automerge`] and write nothing. Into a document not stored yet, the
    /// bytes must be a whole document, and are stored as they are (see [`Store::apply_saved`]).
    pub fn apply_changes(&self, doc: &DocId, bytes: &[u8]) -> Result<(), UpdateError<Infallible>> {
        self.run(None, |txn| Ok(txn.apply_changes(doc, bytes)?))
    }

    /// Like [`Store::apply_changes`] for a whole document that has already been loaded (and so
    /// checked): the load is not repeated. Into a document not stored yet, its bytes are stored
    /// as they are, as the snapshot.
    pub fn apply_saved(&self, doc: &DocId, saved: SavedDoc) -> Result<(), UpdateError<Infallible>> {
        self.run(None, |txn| Ok(txn.apply_saved(doc, saved)?))
    }

    /// Compacts one document now: writes a full snapshot and deletes the chunks it covers. Does
    /// nothing for a document with no chunks or one never written.
    pub fn compact(&self, doc: &DocId) -> Result<(), UpdateError<Infallible>> {
        self.writable(|home| UpdateError::ReadOnly { home })?;
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
            .map_err(UpdateError::sqlite(doc))?;
        // Nothing to fold in: no need to load the document at all.
        let layout = rows::read_layout(&tx, doc).map_err(UpdateError::sqlite(doc))?;
        if layout.is_none_or(|layout| layout.chunks == 0) {
            return Ok(());
        }
        let Some((bytes, last_chunk, heads)) = self.with_current(&tx, doc, |current, layout| {
            (
                rows::snapshot_of(doc, current, layout),
                layout.last_chunk,
                current.get_heads(),
            )
        })?
        else {
            return Ok(());
        };
        rows::write_snapshot(&tx, doc, &bytes, last_chunk).map_err(UpdateError::sqlite(doc))?;
        heads::write(&tx, doc, last_chunk, &heads).map_err(UpdateError::sqlite(doc))?;
        tx.commit().map_err(UpdateError::sqlite(doc))
    }

    /// Every document stored, in the order of their names. Rows whose name is not a document tapin
    /// knows (written by something else, or by a newer tapin in the same format) are skipped with a
    /// warning.
    pub fn documents(&self) -> Result<Vec<DocId>, StoreError> {
        rows::documents(&self.conn, &self.path).map_err(|source| StoreError::Sqlite {
            path: self.path.clone(),
            source,
        })
    }

    /// Whether this store has the journal's search index (every writable store does; a
    /// read-only store opened on a home last written by an older tapin may not).
    pub fn has_journal_index(&self) -> bool {
        self.index
    }

    /// The journal documents whose rows in the search index are missing or out of date:
    /// [`Txn::refresh_journal_index`] makes them again. Empty without an index.
    pub fn stale_journal_index(&self) -> Result<Vec<DocId>, StoreError> {
        if !self.index {
            return Ok(Vec::new());
        }
        crate::index::stale(&self.conn).map_err(|source| StoreError::Sqlite {
            path: self.path.clone(),
            source,
        })
    }

    /// Searches the journal through its index: the entries
    /// [`tapin_core::views::journal::search`] finds in the documents, in the same order, how many
    /// in all and the first `limit`. Only as current as the index: refresh a stale one first
    /// ([`Store::stale_journal_index`]). `None` when the index cannot answer: there is none, or
    /// a row of it was found damaged, in which case it is marked stale (so
    /// [`Txn::refresh_journal_index`](crate::Txn::refresh_journal_index) makes it again) and
    /// the caller reads the documents or asks again after refreshing.
    pub fn search_journal(
        &self,
        query: &tapin_core::views::journal::Query,
        limit: usize,
    ) -> Result<Option<crate::JournalHits>, StoreError> {
        let sqlite = |source| StoreError::Sqlite {
            path: self.path.clone(),
            source,
        };
        if !self.index {
            return Ok(None);
        }
        match crate::index::search(&self.conn, query, limit).map_err(sqlite)? {
            Ok(hits) => Ok(Some(hits)),
            Err(damaged) => {
                if !self.read_only {
                    let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
                        .map_err(sqlite)?;
                    crate::index::forget(&tx, &damaged).map_err(sqlite)?;
                    tx.commit().map_err(sqlite)?;
                }
                Ok(None)
            }
        }
    }

    /// The journal entries `by` finds, each with its document, from the search index (empty
    /// without one). Only as current as the index, as [`Store::search_journal`].
    pub fn journal_lookup(
        &self,
        by: &crate::JournalLookup,
    ) -> Result<Vec<(tapin_core::Id, DocId)>, StoreError> {
        if !self.index {
            return Ok(Vec::new());
        }
        crate::index::lookup(&self.conn, by).map_err(|source| StoreError::Sqlite {
            path: self.path.clone(),
            source,
        })
    }

    /// The value stored under `key` in the meta table, if any.
    pub fn get_meta(&self, key: MetaKey) -> Result<Option<Vec<u8>>, StoreError> {
        read_meta(&self.conn, key).map_err(meta_error(key))
    }

    /// The secret key stored under `key` ([`MetaKey::PersonSecret`] or
    /// [`MetaKey::DeviceSecret`]), if any: 32 bytes, or [`StoreError::MetaLength`] for a value of
    /// another length.
    pub fn get_secret(&self, key: MetaKey) -> Result<Option<[u8; 32]>, StoreError> {
        let Some(value) = self.get_meta(key)? else {
            return Ok(None);
        };
        let found = value.len();
        value
            .try_into()
            .map(Some)
            .map_err(|_| StoreError::MetaLength {
                key: key.to_string(),
                expected: meta::SECRET_LEN,
                found,
            })
    }

    /// Stores `value` under `key` in the meta table, replacing any previous value, durably.
    pub fn set_meta(&self, key: MetaKey, value: &[u8]) -> Result<(), StoreError> {
        self.writable(|home| StoreError::ReadOnly { home })?;
        put_meta(&self.conn, key, value).map_err(meta_error(key))
    }

    /// The persisted automerge sync state for `doc` with one peer device, if any.
    pub fn get_sync_state(&self, doc: &DocId, peer: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        read_sync_state(&self.conn, doc, peer).map_err(|source| StoreError::Meta {
            key: format!("sync state of {doc}"),
            source,
        })
    }

    /// Persists the automerge sync state for `doc` with one peer device, durably.
    pub fn set_sync_state(&self, doc: &DocId, peer: &[u8], state: &[u8]) -> Result<(), StoreError> {
        self.writable(|home| StoreError::ReadOnly { home })?;
        put_sync_state(&self.conn, doc, peer, state).map_err(|source| StoreError::Meta {
            key: format!("sync state of {doc}"),
            source,
        })
    }

    /// Starts writing several meta entries and sync states as one transaction: one commit, one
    /// flush to disk, all or nothing.
    pub fn settings(&self) -> Result<Settings<'_>, StoreError> {
        self.writable(|home| StoreError::ReadOnly { home })?;
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
        rows::read_version(&self.conn, doc).map_err(|source| StoreError::Sqlite {
            path: self.path.clone(),
            source,
        })
    }

    /// Whether SQLite overwrites deleted content on this connection (`PRAGMA secure_delete`),
    /// as every writable store does.
    pub fn secure_delete(&self) -> Result<bool, StoreError> {
        self.conn
            .query_row("PRAGMA secure_delete", [], |row| row.get::<_, i64>(0))
            .map(|on| on == 1)
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
    pub fn set_meta(&self, key: MetaKey, value: &[u8]) -> Result<(), StoreError> {
        put_meta(&self.tx, key, value).map_err(meta_error(key))
    }

    /// Like [`Store::set_sync_state`], durable on [`Settings::commit`].
    pub fn set_sync_state(&self, doc: &DocId, peer: &[u8], state: &[u8]) -> Result<(), StoreError> {
        put_sync_state(&self.tx, doc, peer, state).map_err(|source| StoreError::Meta {
            key: format!("sync state of {doc}"),
            source,
        })
    }

    /// Writes everything set, durably.
    pub fn commit(self) -> Result<(), StoreError> {
        let path = self.path.to_owned();
        self.tx
            .commit()
            .map_err(|source| StoreError::Sqlite { path, source })
    }
}

fn meta_error(key: MetaKey) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |source| StoreError::Meta {
        key: key.to_string(),
        source,
    }
}

pub(crate) fn read_meta(conn: &Connection, key: MetaKey) -> rusqlite::Result<Option<Vec<u8>>> {
    conn.prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key.name()], |row| row.get(0))
        .optional()
}

pub(crate) fn put_meta(conn: &Connection, key: MetaKey, value: &[u8]) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![key.name(), value])
    .map(drop)
}

pub(crate) fn read_sync_state(
    conn: &Connection,
    doc: &DocId,
    peer: &[u8],
) -> rusqlite::Result<Option<Vec<u8>>> {
    conn.prepare_cached("SELECT state FROM sync_states WHERE doc = ?1 AND peer = ?2")?
        .query_row(params![doc.to_string(), peer], |row| row.get(0))
        .optional()
}

pub(crate) fn put_sync_state(
    conn: &Connection,
    doc: &DocId,
    peer: &[u8],
    state: &[u8],
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO sync_states (doc, peer, state) VALUES (?1, ?2, ?3)
         ON CONFLICT (doc, peer) DO UPDATE SET state = excluded.state",
    )?
    .execute(params![doc.to_string(), peer, state])
    .map(drop)
}

#[cfg(test)]
mod tests;
