//! The on-disk format: tables, version stamps, migrations, and opening a database file safely.
//!
//! `docs/FORMAT.md` describes the same format for people; the two change together.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::{Connection, ErrorCode, OpenFlags, TransactionBehavior};

use crate::error::OpenError;
use crate::home::{self, Tightened};
use crate::{heads, rows};

/// The store format this version of tapin writes, kept in `PRAGMA user_version`.
pub const FORMAT_VERSION: u32 = 1;

/// Marks the file as a tapin store (`PRAGMA application_id`): the ASCII bytes `tapn`.
pub(crate) const APPLICATION_ID: i32 = 0x7461_706e;

/// How long a writer waits for another process's write transaction before giving up. Writes are
/// short (one document's load, edit and append), so anything near this is a stuck process.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// The tables of format 1 as release c2a9253 created them, less its `views` table (which
/// [`ADDITIONS`] retires). `AUTOINCREMENT` matters: chunk ids must never be reused after
/// compaction deletes the highest ones, or a new chunk could get an id at or below a snapshot's
/// `covers_upto` and be skipped on load.
const SCHEMA_V1: &str = "
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL
) STRICT;
CREATE TABLE snapshots (
    doc         TEXT PRIMARY KEY NOT NULL,
    bytes       BLOB NOT NULL,
    covers_upto INTEGER NOT NULL
) STRICT;
CREATE TABLE chunks (
    id    INTEGER PRIMARY KEY AUTOINCREMENT,
    doc   TEXT NOT NULL,
    bytes BLOB NOT NULL
) STRICT;
CREATE INDEX chunks_by_doc ON chunks (doc, id);
CREATE TABLE sync_states (
    doc   TEXT NOT NULL,
    peer  BLOB NOT NULL,
    state BLOB NOT NULL,
    PRIMARY KEY (doc, peer)
) STRICT;
";

/// Format 1's additions, which keep `user_version` at 1 because a format-1 tapin that ignores
/// them still reads and writes correctly (docs/FORMAT.md, "How the format evolves"):
///
/// - `doc_heads`: each document's heads at a version. An older tapin appends chunks without
///   touching it, which moves the document's version past the row's, so the row then reads as
///   unknown rather than wrong.
/// - `view_cache`: the checked cache of decoded documents that replaces `views`.
/// - `views` becomes an SQL view with release c2a9253's columns and no rows: that release's
///   `SELECT bytes FROM views WHERE doc = ?1 AND version = ?2` finds nothing (so it decodes the
///   document itself), and its `INSERT INTO views …` fails, which it treats as a cache it could
///   not fill. It can no longer read a cache that nothing checks.
///
/// Every statement is idempotent apart from the `views` swap, which [`migrate`] does only while
/// `views` is still a table.
const ADDITIONS: &str = "
CREATE TABLE IF NOT EXISTS doc_heads (
    doc     TEXT PRIMARY KEY NOT NULL,
    version INTEGER NOT NULL,
    heads   BLOB NOT NULL,
    digest  BLOB NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS view_cache (
    doc     TEXT PRIMARY KEY NOT NULL,
    version INTEGER NOT NULL,
    heads   BLOB NOT NULL,
    digest  BLOB NOT NULL,
    bytes   BLOB NOT NULL
) STRICT;
CREATE VIEW IF NOT EXISTS views (doc, version, bytes) AS SELECT NULL, NULL, NULL WHERE 0;
";

/// What the version stamps of a database file say about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stamp {
    /// A database with no tables and no stamps: new, ready to be initialised.
    Empty,
    /// A tapin store of a format this version reads and writes; `additions` says whether it has
    /// the format-1 additions yet.
    Current { additions: bool },
}

/// An open connection and what opening it found.
#[derive(Debug)]
pub(crate) struct Opened {
    pub(crate) conn: Connection,
    /// Files whose permissions opening tightened.
    pub(crate) tightened: Vec<Tightened>,
}

/// Opens the database file at `path`, checks that it is a tapin store this version can use,
/// sets the connection up, and creates the schema if the file is new or migrates it if it lacks
/// the format-1 additions.
///
/// A missing file is created private to its owner (0600 on Unix) before SQLite opens it; an
/// existing one that others may read or write is made private (see [`home::tighten`]).
///
/// The version check happens before anything is written, so refusing a file leaves it untouched.
pub(crate) fn open(path: &Path) -> Result<Opened, OpenError> {
    home::create_private_file(path).map_err(|source| OpenError::CreateFile {
        path: path.to_owned(),
        source,
    })?;
    let sqlite = |source| classify(path, source);
    // No SQLITE_OPEN_CREATE: the file was created above with the right mode, and a file that
    // vanished since should not silently come back with another.
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(sqlite)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sqlite)?;

    // The first real read: a file that is not SQLite, or whose header promises more pages than
    // the file holds (truncation), fails here.
    let stamp = read_stamp(&conn, path)?;

    enable_wal(&conn, path).map_err(sqlite)?;
    // FULL makes every commit durable once it returns: an acknowledged write survives power loss,
    // not only a crash of the process.
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(sqlite)?;
    conn.pragma_update(None, "foreign_keys", true)
        .map_err(sqlite)?;

    match stamp {
        Stamp::Empty => initialise(&conn, path)?,
        Stamp::Current { additions: false } => migrate(&conn, path)?,
        Stamp::Current { additions: true } => {}
    }
    // Last, so that the `-wal` and `-shm` files SQLite has just made (with the main file's mode)
    // are tightened too.
    let tightened = home::tighten(path);
    Ok(Opened { conn, tightened })
}

/// Puts the file in WAL mode, so that readers never block the writer and a commit is one append
/// to the log.
///
/// The mode is persistent, so this only changes anything for a new file. Changing it needs an
/// exclusive lock, and SQLite reports `SQLITE_BUSY` for that without calling the busy handler
/// when several processes open a new home at once, hence the retry here.
fn enable_wal(conn: &Connection, path: &Path) -> rusqlite::Result<()> {
    let mode = |sql| conn.query_row(sql, [], |row| row.get::<_, String>(0));
    let current = mode("PRAGMA journal_mode")?;
    if current.eq_ignore_ascii_case("wal") {
        return Ok(());
    }
    let deadline = Instant::now() + BUSY_TIMEOUT;
    loop {
        match mode("PRAGMA journal_mode = WAL") {
            Ok(new) => {
                if !new.eq_ignore_ascii_case("wal") {
                    let path = path.display();
                    tracing::warn!(%path, mode = new, "could not switch the store to WAL mode");
                }
                return Ok(());
            }
            Err(source)
                if source.sqlite_error_code() == Some(ErrorCode::DatabaseBusy)
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(source) => return Err(source),
        }
    }
}

/// Creates the schema in a new file. Two processes may open a new home at once, so this runs
/// under the write lock and looks at the stamps again: whoever comes second finds the work done.
fn initialise(conn: &Connection, path: &Path) -> Result<(), OpenError> {
    let sqlite = |source| classify(path, source);
    let tx = rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Immediate)
        .map_err(sqlite)?;
    match read_stamp(&tx, path)? {
        Stamp::Empty => {
            tx.execute_batch(SCHEMA_V1).map_err(sqlite)?;
            tx.execute_batch(ADDITIONS).map_err(sqlite)?;
            tx.pragma_update(None, "application_id", APPLICATION_ID)
                .map_err(sqlite)?;
            tx.pragma_update(None, "user_version", FORMAT_VERSION)
                .map_err(sqlite)?;
            tracing::info!(path = %path.display(), format = FORMAT_VERSION, "created store");
        }
        // Another process initialised it first; it may have been an older tapin.
        Stamp::Current { additions: false } => add_to_format_1(&tx, path)?,
        Stamp::Current { additions: true } => {}
    }
    tx.commit().map_err(sqlite)
}

/// Brings a format-1 file without the additions up to date, under the write lock, looking again
/// once it holds it: of several processes opening an old home at once, one migrates it.
fn migrate(conn: &Connection, path: &Path) -> Result<(), OpenError> {
    let sqlite = |source| classify(path, source);
    let tx = rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Immediate)
        .map_err(sqlite)?;
    if read_stamp(&tx, path)? == (Stamp::Current { additions: false }) {
        add_to_format_1(&tx, path)?;
    }
    tx.commit().map_err(sqlite)
}

/// Creates the format-1 additions in the caller's write transaction, retires the old `views`
/// table (a cache: its rows are only dropped), and records the heads of every document that
/// loads strictly. A damaged document gets no heads, so nothing cached is ever checked against
/// it; loading it still reports the damage.
fn add_to_format_1(tx: &Connection, path: &Path) -> Result<(), OpenError> {
    let sqlite = |source| classify(path, source);
    let views_is_table: bool = tx
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'views'",
            [],
            |row| row.get::<_, i64>(0),
        )
        .map_err(sqlite)?
        > 0;
    if views_is_table {
        tx.execute_batch("DROP TABLE views").map_err(sqlite)?;
    }
    tx.execute_batch(ADDITIONS).map_err(sqlite)?;

    let mut recorded = 0;
    for doc in rows::documents(tx, path).map_err(sqlite)? {
        let Some(layout) = rows::read_layout(tx, &doc).map_err(sqlite)? else {
            continue;
        };
        let bytes = rows::read_stored(tx, &doc, layout).map_err(sqlite)?;
        match rows::load_strict(&doc, &bytes) {
            Ok(mut loaded) => {
                heads::write(tx, &doc, layout.last_chunk, &loaded.get_heads()).map_err(sqlite)?;
                recorded += 1;
            }
            Err(err) => {
                let err = &err as &dyn std::error::Error;
                tracing::warn!(%doc, err, "document does not load; recording no heads for it");
            }
        }
    }
    tracing::info!(path = %path.display(), recorded, "added format 1's checked caches to the store");
    Ok(())
}

/// Reads `application_id`, `user_version`, whether any tables exist and whether the format-1
/// additions do, and decides what the file is. Refuses files of other applications and of newer
/// formats.
fn read_stamp(conn: &Connection, path: &Path) -> Result<Stamp, OpenError> {
    // One statement, so one read transaction: another process initialising the file between
    // separate reads would otherwise show us a half-stamped file and we would call it foreign.
    let (application_id, user_version, objects, additions): (i32, i64, i64, i64) = conn
        .query_row(
            "SELECT (SELECT application_id FROM pragma_application_id),
                    (SELECT user_version FROM pragma_user_version),
                    (SELECT count(*) FROM sqlite_schema),
                    (SELECT count(*) FROM sqlite_schema
                     WHERE (type = 'table' AND name IN ('doc_heads', 'view_cache'))
                        OR (type = 'view' AND name = 'views'))",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
        )
        .map_err(|source| classify(path, source))?;

    let foreign = || OpenError::Foreign {
        path: path.to_owned(),
    };
    match (application_id, user_version) {
        (0, 0) if objects == 0 => Ok(Stamp::Empty),
        (0, _) => Err(foreign()),
        (APPLICATION_ID, version) => {
            let found = u32::try_from(version).map_err(|_| foreign())?;
            if found > FORMAT_VERSION {
                Err(OpenError::TooNew {
                    found,
                    supported: FORMAT_VERSION,
                    path: path.to_owned(),
                })
            } else if found == 0 {
                // Stamped as ours but never given a format: not something tapin writes.
                Err(foreign())
            } else {
                // Format 1 is the only format so far; a migration from older ones goes here.
                Ok(Stamp::Current {
                    additions: additions == 3,
                })
            }
        }
        _ => Err(foreign()),
    }
}

/// Sorts an SQLite error met while opening into "damaged file" or "could not open".
fn classify(path: &Path, source: rusqlite::Error) -> OpenError {
    match source.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => OpenError::Damaged {
            path: path.to_owned(),
            source,
        },
        _ => OpenError::Sqlite {
            path: path.to_owned(),
            source,
        },
    }
}
