//! The journal's search index: derived rows in `tapin.db` that let a search, a listing or an id
//! lookup answer without loading the journal's documents.
//!
//! Everything here is computed from the journal's week documents
//! ([`tapin_core::DocId::JournalWeek`]) by [`tapin_core::views::journal_index`], and is kept
//! up to date by the same transaction that writes a week document ([`update_written`], from
//! [`crate::Txn`]'s commit). It is checked before use: `journal_indexed` records, per
//! document, the version the rows were made from, and a document whose version moved without
//! its rows (a writer that did not index, damage, rows deleted by hand) is indexed again
//! ([`crate::Txn::refresh_journal_index`]). It is never synced and never exported; deleting an
//! entry deletes its rows in the same transaction, and FTS5's `secure-delete` plus
//! `PRAGMA secure_delete` leave no copy of its words in the file (docs/FORMAT.md, "Deleting").
//!
//! Search itself ([`search`]) asks SQLite for candidates (the text's trigrams, tags and people
//! by equality, the star) in the journal's order, then applies search's own text test to each
//! ([`tapin_core::views::journal::contains_all`]), so its answer is exactly what searching the
//! documents gives.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use automerge::{Automerge, ChangeHash};
use rusqlite::{Connection, OptionalExtension, params};
use tapin_core::model::JournalEntry;
use tapin_core::views::journal::{Matcher, Query, folded_parts};
use tapin_core::views::journal_index::{self, IndexedEntry, trigram_match};
use tapin_core::{DocId, Id};

/// The layout of the index's rows; rows of another layout are made again.
const FORMAT: i64 = 1;

/// The index's tables. `journal_text` keeps the folded text itself (FTS5's own content table),
/// so a delete by rowid knows what to remove and `secure-delete` can overwrite it.
const TABLES: &str = "
CREATE TABLE IF NOT EXISTS journal_entries (
    rowid   INTEGER PRIMARY KEY,
    id      TEXT NOT NULL UNIQUE,
    doc     TEXT NOT NULL,
    at      INTEGER NOT NULL,
    starred INTEGER NOT NULL,
    entry   BLOB NOT NULL,
    digest  BLOB NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS journal_entries_by_at ON journal_entries (at DESC, id);
CREATE INDEX IF NOT EXISTS journal_entries_by_doc ON journal_entries (doc);
CREATE TABLE IF NOT EXISTS journal_tags (
    tag   TEXT NOT NULL,
    entry INTEGER NOT NULL,
    PRIMARY KEY (tag, entry)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS journal_tags_by_entry ON journal_tags (entry);
CREATE TABLE IF NOT EXISTS journal_about (
    rel   TEXT NOT NULL,
    entry INTEGER NOT NULL,
    PRIMARY KEY (rel, entry)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS journal_about_by_entry ON journal_about (entry);
CREATE VIRTUAL TABLE IF NOT EXISTS journal_text
    USING fts5(folded, detail = none, tokenize = 'trigram case_sensitive 1');
CREATE TABLE IF NOT EXISTS journal_indexed (
    doc     TEXT PRIMARY KEY NOT NULL,
    version INTEGER NOT NULL,
    format  INTEGER NOT NULL
) STRICT;
";

/// The tables of `tapin.db` that hold only what tapin derives from its documents and makes
/// again when they are missing or stale: the view cache and the journal's search index. Emptying
/// them loses nothing (a benchmark of a cold start does exactly that).
pub const DERIVED_TABLES: [&str; 6] = [
    "view_cache",
    "journal_entries",
    "journal_tags",
    "journal_about",
    "journal_text",
    "journal_indexed",
];

/// The index's tables (for FTS5, the virtual table, which owns its `journal_text_*` tables).
const NAMES: [&str; 5] = [
    "journal_entries",
    "journal_tags",
    "journal_about",
    "journal_text",
    "journal_indexed",
];

/// Whether all of the index's tables exist.
pub(crate) fn exists(conn: &Connection) -> rusqlite::Result<bool> {
    let found: i64 = conn.query_row(
        &format!(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN ({})",
            NAMES.map(|n| format!("'{n}'")).join(", ")
        ),
        [],
        |row| row.get(0),
    )?;
    Ok(found == NAMES.len() as i64)
}

/// Creates the index's tables that are missing, in the caller's write transaction. Their rows
/// are made when a search first needs them.
pub(crate) fn create(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(TABLES)?;
    // Deleting an entry rewrites the index pages that held its words, rather than only marking
    // them deleted until a later merge.
    conn.execute(
        "INSERT INTO journal_text (journal_text, rank) VALUES ('secure-delete', 1)",
        [],
    )?;
    Ok(())
}

/// The version each journal week document is stored at, by name.
fn stored_versions(conn: &Connection) -> rusqlite::Result<BTreeMap<String, i64>> {
    let mut statement = conn.prepare_cached(
        "SELECT doc, max(v) FROM (
             SELECT doc, max(id) AS v FROM chunks WHERE doc GLOB 'journal-*' GROUP BY doc
             UNION ALL
             SELECT doc, covers_upto FROM snapshots WHERE doc GLOB 'journal-*')
         GROUP BY doc",
    )?;
    let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
    rows.collect()
}

/// The version the index's rows of each document were made from (rows of the current layout).
fn indexed_versions(conn: &Connection) -> rusqlite::Result<BTreeMap<String, i64>> {
    let mut statement =
        conn.prepare_cached("SELECT doc, version FROM journal_indexed WHERE format = ?1")?;
    let rows = statement.query_map([FORMAT], |row| Ok((row.get(0)?, row.get(1)?)))?;
    rows.collect()
}

/// The journal documents whose rows in the index are missing or out of date, and those indexed
/// but no longer stored. Names that are not journal week documents are left out.
pub(crate) fn stale(conn: &Connection) -> rusqlite::Result<Vec<DocId>> {
    let stored = stored_versions(conn)?;
    let indexed = indexed_versions(conn)?;
    let mut rows_of_gone: Vec<String> = conn
        .prepare_cached("SELECT DISTINCT doc FROM journal_entries")?
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    rows_of_gone.retain(|doc| !stored.contains_key(doc));
    let names: BTreeSet<&String> = stored
        .iter()
        .filter(|(doc, version)| indexed.get(*doc) != Some(version))
        .map(|(doc, _)| doc)
        .chain(indexed.keys().filter(|doc| !stored.contains_key(*doc)))
        .chain(rows_of_gone.iter())
        .collect();
    Ok(names
        .into_iter()
        .filter_map(|name| name.parse::<DocId>().ok())
        .filter(DocId::is_journal_week)
        .collect())
}

/// The version the index's rows of `doc` were made from, if they are of the current layout.
pub(crate) fn indexed_version(conn: &Connection, doc: &DocId) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT version FROM journal_indexed WHERE doc = ?1 AND format = ?2")?
        .query_row(params![doc.to_string(), FORMAT], |row| row.get(0))
        .optional()
}

/// Removes the rows of the entry `id`, wherever they came from.
fn remove_entry(conn: &Connection, id: &str) -> rusqlite::Result<()> {
    let rowid: Option<i64> = conn
        .prepare_cached("SELECT rowid FROM journal_entries WHERE id = ?1")?
        .query_row([id], |row| row.get(0))
        .optional()?;
    if let Some(rowid) = rowid {
        remove_row(conn, rowid)?;
    }
    Ok(())
}

fn remove_row(conn: &Connection, rowid: i64) -> rusqlite::Result<()> {
    for sql in [
        "DELETE FROM journal_text WHERE rowid = ?1",
        "DELETE FROM journal_tags WHERE entry = ?1",
        "DELETE FROM journal_about WHERE entry = ?1",
        "DELETE FROM journal_entries WHERE rowid = ?1",
    ] {
        conn.prepare_cached(sql)?.execute([rowid])?;
    }
    Ok(())
}

/// An entry's row as stored: its JSON and the row's digest.
fn row_of(doc: &str, e: &IndexedEntry) -> rusqlite::Result<(Vec<u8>, [u8; 32])> {
    let json = serde_json::to_vec(&e.entry)
        .map_err(|err| rusqlite::Error::ToSqlConversionFailure(Box::new(err)))?;
    let digest = row_digest(&e.id.to_string(), doc, &json);
    Ok((json, digest))
}

fn insert(
    conn: &Connection,
    doc: &str,
    e: &IndexedEntry,
    json: &[u8],
    digest: &[u8; 32],
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO journal_entries (id, doc, at, starred, entry, digest)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        e.id.to_string(),
        doc,
        e.entry.at.0,
        e.entry.starred,
        json,
        digest.as_slice()
    ])?;
    let rowid = conn.last_insert_rowid();
    conn.prepare_cached("INSERT INTO journal_text (rowid, folded) VALUES (?1, ?2)")?
        .execute(params![rowid, e.folded])?;
    for tag in &e.tags {
        conn.prepare_cached("INSERT OR IGNORE INTO journal_tags (tag, entry) VALUES (?1, ?2)")?
            .execute(params![tag, rowid])?;
    }
    for rel in &e.entry.about {
        conn.prepare_cached("INSERT OR IGNORE INTO journal_about (rel, entry) VALUES (?1, ?2)")?
            .execute(params![rel.to_string(), rowid])?;
    }
    Ok(())
}

/// Makes the rows of `doc` agree with the document as it is (`None`: no longer stored), and
/// records `version` as what they reflect. A row whose entry is unchanged (the same digest) is
/// kept: deleting a row rewrites the FTS5 pages that hold each of its trigrams (secure-delete),
/// which costs far more than comparing.
pub(crate) fn reindex(
    conn: &Connection,
    doc: &DocId,
    current: Option<&Automerge>,
    version: i64,
) -> rusqlite::Result<()> {
    let name = doc.to_string();
    let mut old: HashMap<String, (i64, Vec<u8>)> = conn
        .prepare_cached("SELECT id, rowid, digest FROM journal_entries WHERE doc = ?1")?
        .query_map([&name], |row| Ok((row.get(0)?, (row.get(1)?, row.get(2)?))))?
        .collect::<rusqlite::Result<_>>()?;
    if let Some(current) = current {
        for key in journal_index::entry_keys(current) {
            // An entry this build cannot read has no row: if it had one, it goes below.
            let Some(entry) = journal_index::indexed(current, *doc, &key) else {
                continue;
            };
            let (json, digest) = row_of(&name, &entry)?;
            match old.remove(&key) {
                Some((_, kept)) if kept == digest => continue,
                Some((rowid, _)) => remove_row(conn, rowid)?,
                // The same id in another document's rows (damage, or an entry moved).
                None => remove_entry(conn, &key)?,
            }
            insert(conn, &name, &entry, &json, &digest)?;
        }
    }
    for (rowid, _) in old.into_values() {
        remove_row(conn, rowid)?;
    }
    match current {
        Some(_) => mark(conn, doc, version),
        None => {
            conn.prepare_cached("DELETE FROM journal_indexed WHERE doc = ?1")?
                .execute([&name])?;
            Ok(())
        }
    }
}

/// Brings the rows of the entry under `key` in line with `current`.
fn update_entry(
    conn: &Connection,
    doc: &DocId,
    current: &Automerge,
    key: &str,
) -> rusqlite::Result<()> {
    remove_entry(conn, key)?;
    if let Some(entry) = journal_index::indexed(current, *doc, key) {
        let name = doc.to_string();
        let (json, digest) = row_of(&name, &entry)?;
        insert(conn, &name, &entry, &json, &digest)?;
    }
    Ok(())
}

fn mark(conn: &Connection, doc: &DocId, version: i64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO journal_indexed (doc, version, format) VALUES (?1, ?2, ?3)
         ON CONFLICT (doc) DO UPDATE SET version = excluded.version, format = excluded.format",
    )?
    .execute(params![doc.to_string(), version, FORMAT])?;
    Ok(())
}

/// Brings the index in line with a journal document a transaction wrote: only the entries that
/// changed since `loaded` (its heads and version when the transaction read it) when the index
/// reflected that version, else all of it.
pub(crate) fn update_written(
    conn: &Connection,
    doc: &DocId,
    current: &Automerge,
    loaded: (&[ChangeHash], i64),
    version: i64,
) -> rusqlite::Result<()> {
    let (heads, loaded_version) = loaded;
    if indexed_version(conn, doc)? != Some(loaded_version) {
        return reindex(conn, doc, Some(current), version);
    }
    for key in journal_index::changed_entries(current, heads) {
        update_entry(conn, doc, current, &key)?;
    }
    mark(conn, doc, version)
}

/// What a row's digest covers: the entry's id, its document and the entry as the row keeps it.
/// A row whose digest does not verify is damage, never shown.
fn row_digest(id: &str, doc: &str, entry: &[u8]) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new_derive_key("tapin journal index row v1");
    for part in [id.as_bytes(), doc.as_bytes(), entry] {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    *hasher.finalize().as_bytes()
}

/// A row of the index that does not agree with itself: its digest, or its columns against the
/// entry it keeps. The index is then made again from the documents.
#[derive(Debug, thiserror::Error)]
#[error("the journal's search index is damaged (row {rowid}: {why})")]
pub(crate) struct Damaged {
    rowid: i64,
    why: &'static str,
}

/// Drops the whole index after finding it damaged, in the caller's write transaction, and lays
/// it out again empty: every document is indexed again before the next search. Dropping (with
/// `PRAGMA secure_delete`, which zeroes the freed pages) rather than deleting row by row, whose
/// FTS5 secure-delete rewrites index pages for each trigram of each entry.
pub(crate) fn forget(conn: &Connection, damaged: &Damaged) -> rusqlite::Result<()> {
    tracing::warn!("{damaged}; making it again from the journal's documents");
    for table in NAMES {
        conn.execute(&format!("DROP TABLE IF EXISTS {table}"), [])?;
    }
    create(conn)
}

/// Entries found by [`search`]: how many match in all, and the first of them, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalHits {
    /// How many entries match.
    pub total: usize,
    /// The first `limit`, newest first (ties by id).
    pub entries: Vec<(Id, JournalEntry)>,
}

/// Runs `query` over the index: the same entries, in the same order, as
/// [`tapin_core::views::journal::search`] over the documents.
///
/// SQLite narrows the candidates (the terms' trigrams, tags and people by equality, the star);
/// each candidate's row is then verified (its digest, and its columns against the entry it keeps)
/// and the entry itself is tested with search's own [`Matcher`]. So a damaged row is an error,
/// never a wrong result shown; what damage could still do is hide an entry whose text, tag or
/// person rows were lost, until the index is made again.
pub(crate) fn search(
    conn: &Connection,
    query: &Query,
    limit: usize,
) -> rusqlite::Result<Result<JournalHits, Damaged>> {
    let (terms, tags) = folded_parts(query);
    let mut sql = String::from(
        "SELECT e.rowid, e.id, e.doc, e.at, e.starred, e.entry, e.digest FROM journal_entries e
         WHERE 1",
    );
    let mut args: Vec<String> = Vec::new();
    if let Some(expr) = trigram_match(&terms) {
        args.push(expr);
        sql.push_str(&format!(
            " AND e.rowid IN (SELECT rowid FROM journal_text WHERE journal_text MATCH ?{})",
            args.len()
        ));
    }
    for tag in tags {
        args.push(tag);
        sql.push_str(&format!(
            " AND e.rowid IN (SELECT entry FROM journal_tags WHERE tag = ?{})",
            args.len()
        ));
    }
    if let Some(rel) = query.about {
        args.push(rel.to_string());
        sql.push_str(&format!(
            " AND e.rowid IN (SELECT entry FROM journal_about WHERE rel = ?{})",
            args.len()
        ));
    }
    if query.starred_only {
        sql.push_str(" AND e.starred = 1");
    }
    sql.push_str(" ORDER BY e.at DESC, e.id ASC");

    let matcher = Matcher::new(query);
    let mut buf = String::new();
    let mut statement = conn.prepare_cached(&sql)?;
    let mut rows = statement.query(rusqlite::params_from_iter(args.iter()))?;
    let (mut total, mut entries) = (0, Vec::new());
    while let Some(row) = rows.next()? {
        let rowid: i64 = row.get(0)?;
        let damaged = |why| Ok(Err(Damaged { rowid, why }));
        let (id, doc) = (row.get_ref(1)?.as_str()?, row.get_ref(2)?.as_str()?);
        let json = row.get_ref(5)?.as_blob()?;
        if row.get_ref(6)?.as_blob()? != row_digest(id, doc, json).as_slice() {
            return damaged("its digest does not verify");
        }
        let (Ok(id), Ok(entry)) = (
            id.parse::<Id>(),
            serde_json::from_slice::<JournalEntry>(json),
        ) else {
            return damaged("its entry does not read");
        };
        if row.get::<_, i64>(3)? != entry.at.0 || row.get::<_, bool>(4)? != entry.starred {
            return damaged("its columns differ from its entry");
        }
        if !matcher.matches(&entry, &mut buf) {
            continue;
        }
        total += 1;
        if entries.len() < limit {
            entries.push((id, entry));
        }
    }
    Ok(Ok(JournalHits { total, entries }))
}

/// Which journal entries to find by [`crate::Store::journal_lookup`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalLookup {
    /// Those whose id starts with these hex digits.
    Prefix(String),
    /// Those about this relationship.
    About(Id),
}

/// The journal entries `by` finds, each with the document it is in, by id.
pub(crate) fn lookup(conn: &Connection, by: &JournalLookup) -> rusqlite::Result<Vec<(Id, DocId)>> {
    let (sql, arg) = match by {
        // Ids are lowercase hex: every id starting with `prefix` sorts between it and
        // `prefix` + 'g'.
        JournalLookup::Prefix(prefix) => (
            "SELECT id, doc FROM journal_entries WHERE id >= ?1 AND id < ?1 || 'g' ORDER BY id",
            prefix.to_ascii_lowercase(),
        ),
        JournalLookup::About(rel) => (
            "SELECT e.id, e.doc FROM journal_about a JOIN journal_entries e ON e.rowid = a.entry
             WHERE a.rel = ?1 ORDER BY e.id",
            rel.to_string(),
        ),
    };
    let mut statement = conn.prepare_cached(sql)?;
    let rows = statement.query_map([arg], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, doc) = row?;
        // A row that does not parse is damage; the entry is still found through its document
        // when the index is made again.
        if let (Ok(id), Ok(doc)) = (id.parse(), doc.parse()) {
            out.push((id, doc));
        }
    }
    Ok(out)
}
