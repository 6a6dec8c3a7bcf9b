//! [`Txn`]: one write transaction over several documents, the meta table and sync states.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;

use automerge::{ActorId, AutoCommit, Automerge, ChangeHash};
use rusqlite::{Connection, Transaction, TransactionBehavior};
use tapin_core::DocId;
use tapin_core::saved::SavedDoc;

use crate::error::TxnError;
use crate::index::{self, JournalHits};
use crate::meta::MetaKey;
use crate::rows::{self, Layout};
use crate::store::{self, Store};
use crate::{heads, rows::documents};

/// A write transaction in progress; see [`Store::transaction`].
///
/// It holds the database's write lock from the start, so what it reads is the latest state and
/// stays so until it ends. Each document it touches is loaded once, strictly, and then kept here:
/// later reads and edits of it in the same transaction see the edits made before them.
pub struct Txn<'s> {
    store: &'s Store,
    tx: Transaction<'s>,
    /// The actor edits are made with; `None` for transactions that only merge changes.
    actor: Option<ActorId>,
    /// Every document read or written so far, as of this transaction.
    docs: HashMap<DocId, Working>,
    /// An operation failed in a way that may have left the SQL transaction in any state: it can
    /// only be rolled back now.
    failed: bool,
}

/// One document as of the transaction.
struct Working {
    doc: AutoCommit,
    /// `None` while it is not stored: never written (and not written yet by this transaction).
    layout: Option<Layout>,
    /// Whether this transaction wrote rows of it.
    written: bool,
    /// Its heads and version when this transaction first read it, for the journal index to
    /// find what changed since ([`crate::index::update_written`]).
    loaded: (Vec<ChangeHash>, i64),
}

impl fmt::Debug for Txn<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Txn")
            .field("store", &self.store)
            .field("docs", &self.docs.keys().collect::<Vec<_>>())
            .field("failed", &self.failed)
            .finish()
    }
}

impl Store {
    /// Runs `f` as one atomic, durable transaction over any number of documents, meta entries and
    /// sync states.
    ///
    /// Takes the database's write lock (`BEGIN IMMEDIATE`), so concurrent writers take turns and
    /// `f` sees the latest state. In `f`, [`Txn::doc`] reads a document as of the transaction,
    /// including what `f` changed before; [`Txn::update`] edits one with `actor` just as
    /// [`Store::update`] does (loaded under the lock, only the new changes appended as a chunk,
    /// compacted by the same rules); [`Txn::apply_changes`], [`Txn::apply_saved`] and
    /// [`Txn::set_meta`] write the rest. If `f` returns `Ok`, everything is committed at once,
    /// durably, before this returns. If `f` returns `Err` or panics, or the process dies before
    /// the commit, nothing is written at all. This `Store`'s memory of documents changes only
    /// after the commit succeeded.
    ///
    /// Errors of the store inside `f` come back from each [`Txn`] call as [`TxnError`], which `f`
    /// can pass on with `?` to its own error type `E` (with `anyhow` that needs nothing more);
    /// once one has occurred, the transaction is rolled back even if `f` ignores it and returns
    /// `Ok` ([`TxnError::Aborted`]). Starting or committing the transaction fails the same way.
    ///
    /// `f` runs while the lock is held, so keep it short and do no I/O in it.
    pub fn transaction<T, E>(
        &self,
        actor: &ActorId,
        f: impl FnOnce(&mut Txn<'_>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<TxnError>,
    {
        self.run(Some(actor), f)
    }

    /// [`Store::transaction`], with no actor for transactions that only merge changes.
    pub(crate) fn run<T, E>(
        &self,
        actor: Option<&ActorId>,
        f: impl FnOnce(&mut Txn<'_>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<TxnError>,
    {
        self.writable(|home| TxnError::ReadOnly { home })?;
        // IMMEDIATE takes the write lock before reading, so no other writer can slip a change in
        // between our loads and our appends.
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate).map_err(
            |source| TxnError::Store {
                path: self.path.clone(),
                source,
            },
        )?;
        let mut txn = Txn {
            store: self,
            tx,
            actor: actor.cloned(),
            docs: HashMap::new(),
            failed: false,
        };
        // On `Err` or a panic, `txn` is dropped, which rolls the SQL transaction back.
        let value = f(&mut txn)?;
        txn.commit()?;
        Ok(value)
    }
}

/// The document as of the transaction, loaded on first use. A load that fails marks the
/// transaction `failed`: it can then only be rolled back.
fn working<'a>(
    docs: &'a mut HashMap<DocId, Working>,
    failed: &mut bool,
    store: &Store,
    tx: &Connection,
    doc: &DocId,
) -> Result<&'a mut Working, TxnError> {
    load_working(docs, store, tx, doc).inspect_err(|_| *failed = true)
}

fn load_working<'a>(
    docs: &'a mut HashMap<DocId, Working>,
    store: &Store,
    tx: &Connection,
    doc: &DocId,
) -> Result<&'a mut Working, TxnError> {
    match docs.entry(*doc) {
        Entry::Occupied(entry) => Ok(entry.into_mut()),
        Entry::Vacant(entry) => {
            // Not from `Store::with_current`: that would put rows this transaction wrote into the
            // store's memory before they are committed.
            let working = match store.load_detached(tx, doc)? {
                Some((mut current, layout)) => Working {
                    loaded: (current.get_heads(), layout.last_chunk),
                    doc: current,
                    layout: Some(layout),
                    written: false,
                },
                None => Working {
                    doc: AutoCommit::new(),
                    layout: None,
                    written: false,
                    loaded: (Vec::new(), 0),
                },
            };
            Ok(entry.insert(working))
        }
    }
}

/// Appends `new`, the changes made to `w` since it was last stored, as one chunk, and compacts
/// the document in the same transaction when it has accumulated enough.
fn append(tx: &Connection, doc: &DocId, w: &mut Working, new: &[u8]) -> rusqlite::Result<()> {
    let chunk = rows::insert_chunk(tx, doc, new)?;
    let layout = w.layout.unwrap_or(Layout::EMPTY);
    let mut next = Layout {
        chunks: layout.chunks + 1,
        chunk_bytes: layout.chunk_bytes + new.len(),
        last_chunk: chunk,
        ..layout
    };
    if rows::needs_compaction(next.snapshot_bytes, next.chunks, next.chunk_bytes) {
        let bytes = rows::snapshot_of(doc, &mut w.doc, next);
        rows::write_snapshot(tx, doc, &bytes, chunk)?;
        next = Layout::compacted(bytes.len(), chunk);
    }
    w.layout = Some(next);
    w.written = true;
    Ok(())
}

impl Txn<'_> {
    fn usable(&self) -> Result<(), TxnError> {
        if self.failed {
            Err(TxnError::Aborted {
                path: self.store.path.clone(),
            })
        } else {
            Ok(())
        }
    }

    /// Marks the transaction as failed (a statement failed; SQLite may even have rolled the
    /// whole transaction back already) and forgets `doc`'s state here, which may not match its
    /// rows any more.
    fn fail(&mut self, doc: &DocId, err: TxnError) -> TxnError {
        self.failed = true;
        self.docs.remove(doc);
        err
    }

    /// A document as of this transaction, edits made earlier in it included; `None` if it is not
    /// stored (and not written by this transaction).
    ///
    /// A document whose stored bytes do not load is [`TxnError::Corrupt`], as with
    /// [`Store::load`].
    pub fn doc(&mut self, doc: &DocId) -> Result<Option<&Automerge>, TxnError> {
        self.usable()?;
        let w = working(&mut self.docs, &mut self.failed, self.store, &self.tx, doc)?;
        Ok(w.layout.is_some().then(|| w.doc.document()))
    }

    /// A cached rendering of a document ([`Store::cached_view`]), if one was made from the
    /// document as it is in this transaction: after this transaction changed the document, it is
    /// stale and `None`. A damaged row is `None` too (the next read outside a transaction deletes
    /// it).
    pub fn cached_view(&mut self, doc: &DocId) -> Result<Option<Vec<u8>>, TxnError> {
        self.usable()?;
        match self.store.checked_view(&self.tx, doc) {
            Ok(bytes) => Ok(bytes),
            Err(source) => Err(self.fail(doc, TxnError::Sqlite { doc: *doc, source })),
        }
    }

    /// The version ([`Store::doc_version`]) a document has as of this transaction: 0 if it is not
    /// stored.
    pub fn version(&mut self, doc: &DocId) -> Result<i64, TxnError> {
        self.usable()?;
        let w = working(&mut self.docs, &mut self.failed, self.store, &self.tx, doc)?;
        Ok(w.layout.map_or(0, |layout| layout.last_chunk))
    }

    /// Edits one document, as [`Store::update`] does: the document as of this transaction (or an
    /// empty one), with the transaction's actor, is handed to `f`; if `f` returns `Ok`, the
    /// changes it made are appended as one chunk (nothing if it made none) and the document is
    /// compacted if it needs to be. All of it is committed with the transaction.
    ///
    /// If `f` returns `Err`, its error comes back and the document is as it was before `f` ran;
    /// the transaction goes on. A store error comes back converted into `E`, and aborts the
    /// transaction.
    pub fn update<T, E>(
        &mut self,
        doc: &DocId,
        f: impl FnOnce(&mut AutoCommit) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<TxnError>,
    {
        self.usable()?;
        let w = working(&mut self.docs, &mut self.failed, self.store, &self.tx, doc)?;
        if let Some(actor) = &self.actor {
            w.doc.set_actor(actor.clone());
        }
        let before = w.doc.get_heads();
        let value = match f(&mut w.doc) {
            Ok(value) => value,
            Err(err) => {
                // `f` may have changed the document before failing: forget it, so the next use
                // loads it again from this transaction's rows.
                self.docs.remove(doc);
                return Err(err);
            }
        };
        // Everything not already stored: the closure's own changes and any it merged in.
        let new = w.doc.save_after(&before);
        if !new.is_empty()
            && let Err(source) = append(&self.tx, doc, w, &new)
        {
            return Err(self
                .fail(doc, TxnError::Sqlite { doc: *doc, source })
                .into());
        }
        Ok(value)
    }

    /// Merges changes made elsewhere into a document, as [`Store::apply_changes`] does. Invalid
    /// bytes are [`TxnError::Automerge`] and leave the document and the transaction as they were.
    pub fn apply_changes(&mut self, doc: &DocId, bytes: &[u8]) -> Result<(), TxnError> {
        self.usable()?;
        let invalid = |source| TxnError::Automerge {
            doc: *doc,
            source: Box::new(source),
        };
        let w = working(&mut self.docs, &mut self.failed, self.store, &self.tx, doc)?;
        if w.layout.is_none() {
            // Not stored yet: the bytes must be a whole document on their own, and the strict
            // load that checks them is the document to keep.
            let saved = SavedDoc::load(bytes.to_vec()).map_err(invalid)?;
            return self.store_whole(doc, saved);
        }
        let before = w.doc.get_heads();
        if let Err(source) = rows::merge_strict(&mut w.doc, bytes) {
            // Part of the bytes may have been merged before the error.
            self.docs.remove(doc);
            return Err(invalid(source));
        }
        let new = w.doc.save_after(&before);
        if !new.is_empty()
            && let Err(source) = append(&self.tx, doc, w, &new)
        {
            return Err(self.fail(doc, TxnError::Sqlite { doc: *doc, source }));
        }
        Ok(())
    }

    /// Like [`Txn::apply_changes`] for a whole document that has already been loaded (and so
    /// checked), as [`Store::apply_saved`] does: into a document not stored yet, its bytes are
    /// stored as they are, as the snapshot.
    pub fn apply_saved(&mut self, doc: &DocId, saved: SavedDoc) -> Result<(), TxnError> {
        self.usable()?;
        let w = working(&mut self.docs, &mut self.failed, self.store, &self.tx, doc)?;
        if w.layout.is_none() {
            return self.store_whole(doc, saved);
        }
        let before = w.doc.get_heads();
        let (_, mut other) = saved.into_parts();
        if let Err(source) = tapin_core::saved::guard(|| w.doc.merge(&mut other).map(drop)) {
            self.docs.remove(doc);
            return Err(TxnError::Automerge {
                doc: *doc,
                source: Box::new(source),
            });
        }
        let new = w.doc.save_after(&before);
        if !new.is_empty()
            && let Err(source) = append(&self.tx, doc, w, &new)
        {
            return Err(self.fail(doc, TxnError::Sqlite { doc: *doc, source }));
        }
        Ok(())
    }

    /// Stores a whole document, not stored before, as it came: its bytes become the snapshot,
    /// under an empty chunk's id (which the snapshot then covers and deletes) so that it has a
    /// version of its own.
    fn store_whole(&mut self, doc: &DocId, saved: SavedDoc) -> Result<(), TxnError> {
        let (bytes, current) = saved.into_parts();
        let written = rows::insert_chunk(&self.tx, doc, &[]).and_then(|chunk| {
            rows::write_snapshot(&self.tx, doc, &bytes, chunk)?;
            Ok(chunk)
        });
        match written {
            Ok(chunk) => {
                self.docs.insert(
                    *doc,
                    Working {
                        doc: current,
                        layout: Some(Layout::compacted(bytes.len(), chunk)),
                        written: true,
                        loaded: (Vec::new(), 0),
                    },
                );
                Ok(())
            }
            Err(source) => Err(self.fail(doc, TxnError::Sqlite { doc: *doc, source })),
        }
    }

    /// Drops the cached decoded form of `doc` ([`Store::cached_view`]) with the transaction: for
    /// a delete, whose words must not outlive it in a cache.
    pub fn drop_view(&mut self, doc: &DocId) -> Result<(), TxnError> {
        self.usable()?;
        if !self.store.additions {
            return Ok(());
        }
        let deleted = self
            .tx
            .prepare_cached("DELETE FROM view_cache WHERE doc = ?1")
            .and_then(|mut s| s.execute([doc.to_string()]));
        match deleted {
            Ok(_) => Ok(()),
            Err(source) => Err(self.fail(doc, TxnError::Sqlite { doc: *doc, source })),
        }
    }

    /// Removes a whole document from the store with the transaction: its snapshot, chunks (so
    /// its history on this device too), heads, sync states and cached view. For a document
    /// nothing will sync again: a deleted relationship's side and replica.
    pub fn remove_document(&mut self, doc: &DocId) -> Result<(), TxnError> {
        self.usable()?;
        let mut tables = vec!["snapshots", "chunks", "sync_states"];
        if self.store.additions {
            tables.extend(["doc_heads", "view_cache"]);
        }
        if doc.is_journal_week()
            && self.store.index
            && let Err(source) = index::reindex(&self.tx, doc, None, 0)
        {
            return Err(self.fail(doc, TxnError::Sqlite { doc: *doc, source }));
        }
        let name = doc.to_string();
        for table in tables {
            let deleted = self
                .tx
                .prepare_cached(&format!("DELETE FROM {table} WHERE doc = ?1"))
                .and_then(|mut s| s.execute([&name]));
            if let Err(source) = deleted {
                return Err(self.fail(doc, TxnError::Sqlite { doc: *doc, source }));
            }
        }
        self.docs.remove(doc);
        Ok(())
    }

    /// Every document stored, as of this transaction ([`Store::documents`]).
    pub fn documents(&mut self) -> Result<Vec<DocId>, TxnError> {
        self.usable()?;
        documents(&self.tx, &self.store.path)
            .map_err(|source| self.meta_failed("the list of documents", source))
    }

    /// Brings the journal's search index up to date with every journal document as of this
    /// transaction: each whose rows are missing or stale is indexed again from the document.
    /// Returns how many were. Nothing to do without the index (a read-only store's older home).
    pub fn refresh_journal_index(&mut self) -> Result<usize, TxnError> {
        self.usable()?;
        if !self.store.index {
            return Ok(0);
        }
        let stale = index::stale(&self.tx).map_err(|source| self.index_failed(source))?;
        for doc in &stale {
            let w = working(&mut self.docs, &mut self.failed, self.store, &self.tx, doc)?;
            let version = w.layout.map_or(0, |layout| layout.last_chunk);
            let current = w.layout.is_some().then(|| w.doc.document());
            if let Err(source) = index::reindex(&self.tx, doc, current, version) {
                return Err(self.fail(doc, TxnError::Sqlite { doc: *doc, source }));
            }
        }
        Ok(stale.len())
    }

    /// The journal entries `by` finds, each with its document, from the search index as of this
    /// transaction (call [`Txn::refresh_journal_index`] first).
    pub fn journal_lookup(
        &mut self,
        by: &index::JournalLookup,
    ) -> Result<Vec<(tapin_core::Id, DocId)>, TxnError> {
        self.usable()?;
        if !self.store.index {
            return Ok(Vec::new());
        }
        index::lookup(&self.tx, by).map_err(|source| self.index_failed(source))
    }

    /// Searches the journal's index as of this transaction ([`Store::search_journal`]), after
    /// bringing it up to date; a damaged index is made again from the documents and asked once
    /// more. `None` when it still cannot answer (or there is no index): read the documents.
    pub fn search_journal(
        &mut self,
        query: &tapin_core::views::journal::Query,
        limit: usize,
    ) -> Result<Option<JournalHits>, TxnError> {
        for _ in 0..2 {
            self.refresh_journal_index()?;
            if !self.store.index {
                return Ok(None);
            }
            match index::search(&self.tx, query, limit) {
                Ok(Ok(hits)) => return Ok(Some(hits)),
                Ok(Err(damaged)) => {
                    index::forget(&self.tx, &damaged).map_err(|source| self.index_failed(source))?
                }
                Err(source) => return Err(self.index_failed(source)),
            }
        }
        Ok(None)
    }

    fn index_failed(&mut self, source: rusqlite::Error) -> TxnError {
        self.meta_failed("the journal's search index", source)
    }

    /// The value stored under `key` in the meta table, as of this transaction.
    pub fn get_meta(&mut self, key: MetaKey) -> Result<Option<Vec<u8>>, TxnError> {
        self.usable()?;
        store::read_meta(&self.tx, key).map_err(|source| self.meta_failed(&key.name(), source))
    }

    /// Stores `value` under `key` in the meta table, with the transaction.
    pub fn set_meta(&mut self, key: MetaKey, value: &[u8]) -> Result<(), TxnError> {
        self.usable()?;
        store::put_meta(&self.tx, key, value)
            .map_err(|source| self.meta_failed(&key.name(), source))
    }

    /// Removes `key` from the meta table with the transaction (a no-op if it is not there).
    pub fn delete_meta(&mut self, key: MetaKey) -> Result<(), TxnError> {
        self.usable()?;
        let deleted = self
            .tx
            .prepare_cached("DELETE FROM meta WHERE key = ?1")
            .and_then(|mut s| s.execute(rusqlite::params![key.name()]));
        match deleted {
            Ok(_) => Ok(()),
            Err(source) => Err(self.meta_failed(&key.name(), source)),
        }
    }

    /// The automerge sync state for `doc` with one peer device, as of this transaction.
    pub fn get_sync_state(
        &mut self,
        doc: &DocId,
        peer: &[u8],
    ) -> Result<Option<Vec<u8>>, TxnError> {
        self.usable()?;
        store::read_sync_state(&self.tx, doc, peer)
            .map_err(|source| self.meta_failed(&format!("sync state of {doc}"), source))
    }

    /// Stores the automerge sync state for `doc` with one peer device, with the transaction.
    pub fn set_sync_state(
        &mut self,
        doc: &DocId,
        peer: &[u8],
        state: &[u8],
    ) -> Result<(), TxnError> {
        self.usable()?;
        store::put_sync_state(&self.tx, doc, peer, state)
            .map_err(|source| self.meta_failed(&format!("sync state of {doc}"), source))
    }

    fn meta_failed(&mut self, key: &str, source: rusqlite::Error) -> TxnError {
        self.failed = true;
        TxnError::Meta {
            key: key.to_owned(),
            source,
        }
    }

    /// Records the heads of every document written (and of every document read whose recorded
    /// heads are not current), commits, and only then lets the store remember the documents.
    fn commit(self) -> Result<(), TxnError> {
        let Txn {
            store,
            tx,
            docs,
            failed,
            ..
        } = self;
        if failed {
            // Dropping `tx` rolls back whatever the failed transaction still holds.
            return Err(TxnError::Aborted {
                path: store.path.clone(),
            });
        }
        let mut remembered = Vec::with_capacity(docs.len());
        for (doc, mut w) in docs {
            let Some(layout) = w.layout else {
                continue;
            };
            let version = layout.last_chunk;
            let current = w.doc.get_heads();
            let recorded = if w.written {
                None
            } else {
                heads::read(&tx, &doc).ok().flatten()
            };
            if recorded.is_none_or(|(v, h)| v != version || h != heads::encode(&current)) {
                heads::write(&tx, &doc, version, &current)
                    .map_err(|source| TxnError::Sqlite { doc, source })?;
            }
            // The journal's search index changes with the journal, in the same commit.
            if w.written && doc.is_journal_week() && store.index {
                let (heads, loaded_version) = &w.loaded;
                index::update_written(
                    &tx,
                    &doc,
                    w.doc.document(),
                    (heads, *loaded_version),
                    version,
                )
                .map_err(|source| TxnError::Sqlite { doc, source })?;
            }
            remembered.push((doc, layout, w.doc));
        }
        tx.commit().map_err(|source| TxnError::Store {
            path: store.path.clone(),
            source,
        })?;
        store.remember(remembered);
        Ok(())
    }
}
