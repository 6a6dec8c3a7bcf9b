//! A document's heads as the store knows them, and the checked cache of decoded documents
//! (`view_cache`) built on them.
//!
//! The cache may never yield bytes that differ from what was made from the document as it is:
//! a row is used only when its version is the document's current version, its heads are the
//! heads the store itself computed for that version, and its digest (over document name,
//! version, heads and bytes) verifies. A row that fails the heads or digest check is damage: it
//! is deleted with a warning. A stale row (an older version) is simply not used.

use automerge::ChangeHash;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use tapin_core::DocId;

use crate::error::StoreError;
use crate::store::Store;
use crate::{heads, rows};

/// A `view_cache` row as read, each field `None` if SQLite holds something of the wrong type.
struct ViewRow {
    version: Option<i64>,
    heads: Option<Vec<u8>>,
    digest: Option<Vec<u8>>,
    bytes: Option<Vec<u8>>,
}

/// What checking a cached row found.
enum Verdict {
    Use(Vec<u8>),
    /// Missing, stale, or not checkable now (heads unknown).
    Skip,
    /// Damaged or not made from this document: to be deleted. Holds the digest read, to delete
    /// exactly that row.
    Damaged(Option<Vec<u8>>),
}

impl Store {
    /// The heads of `doc` at its current version ([`Store::doc_version`]), as the store computed
    /// them when it last wrote or strictly loaded it: from the `doc_heads` table when its row is
    /// of the current version, else from this `Store`'s memory when that is. `None` when they are
    /// not known (a document never written, or one an older tapin wrote to since), never stale.
    pub fn heads(&self, doc: &DocId) -> Result<Option<Vec<ChangeHash>>, StoreError> {
        let sqlite = |source| StoreError::Sqlite {
            path: self.path.clone(),
            source,
        };
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Deferred)
            .map_err(sqlite)?;
        let version = rows::read_version(&tx, doc).map_err(sqlite)?;
        let known = self.known_heads(&tx, doc, version).map_err(sqlite)?;
        tx.commit().map_err(sqlite)?;
        Ok(known.and_then(|(encoded, _)| heads::decode(&encoded)))
    }

    /// The encoded heads of `doc` at `version` and whether they came from memory rather than
    /// `doc_heads`; `None` if not known.
    fn known_heads(
        &self,
        conn: &Connection,
        doc: &DocId,
        version: i64,
    ) -> rusqlite::Result<Option<(Vec<u8>, bool)>> {
        if version == 0 {
            return Ok(None);
        }
        if self.additions
            && let Some((recorded, encoded)) = heads::read(conn, doc)?
            && recorded == version
        {
            return Ok(Some((encoded, false)));
        }
        Ok(self
            .cache
            .borrow_mut()
            .heads_at(doc, version)
            .map(|known| (heads::encode(&known), true)))
    }

    /// A cached rendering of a document (the app keeps its decoded contents here), if one was
    /// made from the document as it is now: see the module docs for the checks. `None` when
    /// missing, stale, not checkable, or damaged (damaged rows are deleted, with a warning naming
    /// the document, unless the store is read-only).
    ///
    /// This vouches for the cache against the heads the store computed, not for the document's
    /// stored bytes: a caller that must know the document still loads ([`Store::load`]), which
    /// reports damage to its rows whatever the cache holds.
    pub fn cached_view(&self, doc: &DocId) -> Result<Option<Vec<u8>>, StoreError> {
        if !self.additions {
            // A read-only, unmigrated format-1 file: no checked cache to read.
            return Ok(None);
        }
        let sqlite = |source| StoreError::Sqlite {
            path: self.path.clone(),
            source,
        };
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Deferred)
            .map_err(sqlite)?;
        let verdict = self.check_view(&tx, doc).map_err(sqlite)?;
        tx.commit().map_err(sqlite)?;
        match verdict {
            Verdict::Use(bytes) => Ok(Some(bytes)),
            Verdict::Skip => Ok(None),
            Verdict::Damaged(digest) => {
                tracing::warn!(%doc, "discarding a damaged cached view of the document");
                if !self.read_only {
                    // Only the row we judged: another process may have replaced it since.
                    let deleted = self.conn.execute(
                        "DELETE FROM view_cache WHERE doc = ?1 AND digest IS ?2",
                        params![doc.to_string(), digest],
                    );
                    if let Err(err) = deleted {
                        let err = &err as &dyn std::error::Error;
                        tracing::warn!(%doc, err, "could not delete the damaged cached view");
                    }
                }
                Ok(None)
            }
        }
    }

    /// The cached view of `doc` as of `tx`, if it is usable; damage is not repaired here.
    pub(crate) fn checked_view(
        &self,
        tx: &Connection,
        doc: &DocId,
    ) -> rusqlite::Result<Option<Vec<u8>>> {
        if !self.additions {
            return Ok(None);
        }
        Ok(match self.check_view(tx, doc)? {
            Verdict::Use(bytes) => Some(bytes),
            Verdict::Skip | Verdict::Damaged(_) => None,
        })
    }

    fn check_view(&self, tx: &Connection, doc: &DocId) -> rusqlite::Result<Verdict> {
        let name = doc.to_string();
        let row = tx
            .prepare_cached("SELECT version, heads, digest, bytes FROM view_cache WHERE doc = ?1")?
            .query_row([&name], |row| {
                // Loosely: a value of the wrong type is damage to report, not a failed read.
                Ok(ViewRow {
                    version: row.get(0).ok(),
                    heads: row.get(1).ok(),
                    digest: row.get(2).ok(),
                    bytes: row.get(3).ok(),
                })
            })
            .optional()?;
        let Some(row) = row else {
            return Ok(Verdict::Skip);
        };
        let (Some(version), Some(row_heads), Some(digest), Some(bytes)) =
            (row.version, row.heads, row.digest.clone(), row.bytes)
        else {
            return Ok(Verdict::Damaged(row.digest));
        };
        if !heads::view_digest_matches(&name, version, &row_heads, &bytes, &digest) {
            return Ok(Verdict::Damaged(Some(digest)));
        }
        // Intact; now is it of the document as it is?
        let current = rows::read_version(tx, doc)?;
        if version != current {
            return Ok(Verdict::Skip);
        }
        match self.known_heads(tx, doc, current)? {
            None => Ok(Verdict::Skip),
            Some((known, _)) if known == row_heads => Ok(Verdict::Use(bytes)),
            // Made at this version from other heads: the store never writes such a row.
            Some(_) => Ok(Verdict::Damaged(Some(digest))),
        }
    }

    /// Stores a derived rendering of a document, made from it at `version` with `heads`. It is
    /// stored only if those are the document's current version and the heads the store knows for
    /// it ([`Store::heads`]); returns whether it was. It is only ever a cache: losing it costs a
    /// slower read, never data.
    ///
    /// When `doc_heads` is not current (an older tapin wrote since) but this `Store` loaded the
    /// document at `version`, that load's heads are recorded here too.
    pub fn put_view(
        &self,
        doc: &DocId,
        version: i64,
        heads: &[ChangeHash],
        bytes: &[u8],
    ) -> Result<bool, StoreError> {
        self.writable(|home| StoreError::ReadOnly { home })?;
        let failed = |source| StoreError::Meta {
            key: format!("cached view of {doc}"),
            source,
        };
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
            .map_err(failed)?;
        let current = rows::read_version(&tx, doc).map_err(failed)?;
        if version != current {
            return Ok(false);
        }
        let Some((known, from_memory)) = self.known_heads(&tx, doc, current).map_err(failed)?
        else {
            return Ok(false);
        };
        let given = heads::encode(heads);
        if given != known {
            tracing::debug!(%doc, version, "not caching a view made from other heads");
            return Ok(false);
        }
        if from_memory {
            heads::write(&tx, doc, version, heads).map_err(failed)?;
        }
        let name = doc.to_string();
        let digest = heads::view_digest(&name, version, &given, bytes);
        tx.execute(
            "INSERT INTO view_cache (doc, version, heads, digest, bytes) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (doc) DO UPDATE SET version = excluded.version, heads = excluded.heads,
                                             digest = excluded.digest, bytes = excluded.bytes",
            params![name, version, given, digest, bytes],
        )
        .map_err(failed)?;
        tx.commit().map_err(failed)?;
        Ok(true)
    }
}
