//! Reading and writing a document's rows (`snapshots` and `chunks`), and loading them strictly.
//!
//! Everything here runs inside a caller's transaction; none of it keeps state.

use std::path::Path;

use automerge::{AutoCommit, Automerge, AutomergeError, ReadDoc};
use rusqlite::{Connection, OptionalExtension, params};
use tapin_core::DocId;
use tapin_core::saved::{self, BytesError};

use crate::error::LoadError;

/// A document is compacted once it has more incremental chunks than this. Loading costs one
/// automerge change application per change in the chunks, so this bounds the work a load does
/// beyond reading the snapshot.
pub(crate) const MAX_CHUNKS: usize = 64;

/// Chunks are also compacted once they hold more bytes than the snapshot, but only past this
/// floor: below it, applying them costs less than rewriting the snapshot on every few writes.
pub(crate) const MIN_COMPACT_BYTES: usize = 16 * 1024;

/// Small documents (most side documents) are compacted once they have more chunks than this:
/// rewriting their snapshot is cheap, and a load of one snapshot beats applying many chunks.
const MAX_CHUNKS_SMALL: usize = 8;

/// Below this snapshot size a document counts as small.
const SMALL_SNAPSHOT: usize = 64 * 1024;

/// A compaction's new snapshot of `current`, the document `doc` whose rows (as laid out before
/// it) are `layout`: a small side or replica is saved without DEFLATE, everything else with it.
///
/// automerge's `save` runs every column of more than 256 bytes through a new DEFLATE encoder, one
/// allocation of about 300 KiB each: for a snapshot of a few KiB that is a hundred times the
/// bytes it saves, and `tapin serve` compacting 150 friends' replicas in one round left the freed
/// encoders as holes the allocator keeps (docs/PERFORMANCE.md, section 4). Such a snapshot is
/// about twice as large uncompressed; automerge loads either form. Sides and replicas are what a
/// serving node writes, many at a time; a journal week is written by one command at a time and is
/// mostly text, which DEFLATE shrinks 2.5 times, so it keeps it.
pub(crate) fn snapshot_of(doc: &DocId, current: &mut AutoCommit, layout: Layout) -> Vec<u8> {
    let synced = matches!(doc, DocId::Side(_) | DocId::Replica(_));
    if synced && layout.stored_bytes() < SMALL_SNAPSHOT {
        current.save_nocompress()
    } else {
        current.save()
    }
}

/// Whether a document with these sizes should be compacted into a new snapshot.
pub(crate) fn needs_compaction(snapshot_bytes: usize, chunks: usize, chunk_bytes: usize) -> bool {
    chunks > MAX_CHUNKS
        || (chunks > MAX_CHUNKS_SMALL && snapshot_bytes < SMALL_SNAPSHOT)
        || chunk_bytes > snapshot_bytes.max(MIN_COMPACT_BYTES)
}

/// The shape of a stored document, read in one transaction: its snapshot's size and the chunks
/// written since.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    pub(crate) snapshot_bytes: usize,
    /// The newest chunk the snapshot contains (0 without a snapshot).
    pub(crate) covers_upto: i64,
    pub(crate) chunks: usize,
    pub(crate) chunk_bytes: usize,
    /// The id of the newest chunk, or `covers_upto` when there are no chunks: the version.
    pub(crate) last_chunk: i64,
}

impl Layout {
    pub(crate) const EMPTY: Layout = Layout {
        snapshot_bytes: 0,
        covers_upto: 0,
        chunks: 0,
        chunk_bytes: 0,
        last_chunk: 0,
    };

    /// The layout right after a snapshot of `bytes` bytes covering everything up to `chunk`.
    pub(crate) fn compacted(snapshot_bytes: usize, chunk: i64) -> Layout {
        Layout {
            snapshot_bytes,
            covers_upto: chunk,
            chunks: 0,
            chunk_bytes: 0,
            last_chunk: chunk,
        }
    }

    /// The bytes a full load of the document reads: its snapshot and the chunks after it.
    pub(crate) fn stored_bytes(&self) -> usize {
        self.snapshot_bytes.saturating_add(self.chunk_bytes)
    }
}

pub(crate) fn corrupt<E: Into<BytesError>>(doc: &DocId) -> impl FnOnce(E) -> LoadError {
    let doc = *doc;
    move |source| LoadError::Corrupt {
        doc,
        source: Box::new(source.into()),
    }
}

/// Loads a document's stored bytes strictly: `load` (unlike `load_incremental`) refuses data that
/// only partly parses, and changes still waiting for missing dependencies mean a chunk row went
/// missing. Either way the document is damaged, never partial.
pub(crate) fn load_strict(doc: &DocId, bytes: &[u8]) -> Result<AutoCommit, LoadError> {
    // Rows on disk are input too: automerge's panics on crafted bytes become damage.
    let mut loaded = saved::guard(|| AutoCommit::load(bytes)).map_err(corrupt(doc))?;
    check_complete(doc, loaded.document())?;
    Ok(loaded)
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
///
/// If it fails, `current` may be half-changed: throw it away.
pub(crate) fn merge_strict(current: &mut AutoCommit, bytes: &[u8]) -> Result<(), BytesError> {
    // `load_incremental` skips whatever it cannot parse with only a log line.
    saved::check_strict(bytes)?;
    saved::guard(|| current.load_incremental(bytes))?;
    if !current.document().get_missing_deps(&[]).is_empty() {
        return Err(AutomergeError::MissingDeps.into());
    }
    Ok(())
}

/// Reads the shape of a document without its bytes. `None` if it has neither snapshot nor chunks.
pub(crate) fn read_layout(conn: &Connection, doc: &DocId) -> rusqlite::Result<Option<Layout>> {
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

/// A document's version: the id of its newest stored chunk, or of the last chunk its snapshot
/// covers; 0 for a document never written.
pub(crate) fn read_version(conn: &Connection, doc: &DocId) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "SELECT COALESCE(MAX(v), 0) FROM (
             SELECT MAX(id) AS v FROM chunks WHERE doc = ?1
             UNION ALL SELECT covers_upto FROM snapshots WHERE doc = ?1)",
    )?
    .query_row([doc.to_string()], |row| row.get(0))
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
pub(crate) fn read_stored(
    conn: &Connection,
    doc: &DocId,
    layout: Layout,
) -> rusqlite::Result<Vec<u8>> {
    let mut bytes = read_snapshot(conn, doc)?;
    bytes.extend(read_chunks(conn, doc, layout.covers_upto)?);
    Ok(bytes)
}

/// A document's chunks after `after`, in order, concatenated into one buffer automerge can load
/// in a single pass.
pub(crate) fn read_chunks(conn: &Connection, doc: &DocId, after: i64) -> rusqlite::Result<Vec<u8>> {
    let mut statement =
        conn.prepare_cached("SELECT bytes FROM chunks WHERE doc = ?1 AND id > ?2 ORDER BY id")?;
    let mut rows = statement.query(params![doc.to_string(), after])?;
    let mut bytes = Vec::new();
    while let Some(row) = rows.next()? {
        bytes.extend_from_slice(row.get_ref(0)?.as_blob()?);
    }
    Ok(bytes)
}

/// Appends one chunk of changes and returns its id.
pub(crate) fn insert_chunk(conn: &Connection, doc: &DocId, bytes: &[u8]) -> rusqlite::Result<i64> {
    conn.prepare_cached("INSERT INTO chunks (doc, bytes) VALUES (?1, ?2)")?
        .execute(params![doc.to_string(), bytes])?;
    Ok(conn.last_insert_rowid())
}

/// Replaces the document's snapshot with `bytes`, a full save, and deletes the chunks it now
/// covers: those up to `covers_upto`, the newest chunk read or written in this transaction. Both
/// happen in the caller's write transaction, so a chunk is only ever deleted in the same commit
/// that writes a snapshot containing it.
pub(crate) fn write_snapshot(
    conn: &Connection,
    doc: &DocId,
    bytes: &[u8],
    covers_upto: i64,
) -> rusqlite::Result<()> {
    let name = doc.to_string();
    conn.prepare_cached(
        "INSERT INTO snapshots (doc, bytes, covers_upto) VALUES (?1, ?2, ?3)
         ON CONFLICT (doc) DO UPDATE SET bytes = excluded.bytes, covers_upto = excluded.covers_upto",
    )?
    .execute(params![name, bytes, covers_upto])?;
    let deleted = conn
        .prepare_cached("DELETE FROM chunks WHERE doc = ?1 AND id <= ?2")?
        .execute(params![name, covers_upto])?;
    tracing::debug!(%doc, snapshot_bytes = bytes.len(), deleted, "compacted document");
    Ok(())
}

/// The names in `snapshots` and `chunks`, parsed; names tapin does not know (written by something
/// else, or by a newer tapin in the same format) are skipped with a warning naming the store.
pub(crate) fn documents(conn: &Connection, path: &Path) -> rusqlite::Result<Vec<DocId>> {
    let mut statement =
        conn.prepare_cached("SELECT doc FROM snapshots UNION SELECT doc FROM chunks ORDER BY doc")?;
    let names = statement
        .query_map([], |row| row.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(names
        .into_iter()
        .filter_map(|name| match name.parse() {
            Ok(doc) => Some(doc),
            Err(err) => {
                tracing::warn!(path = %path.display(), %err, "skipping unknown document");
                None
            }
        })
        .collect())
}
