//! The on-disk format: tables, version stamps, migrations, and opening a database file safely,
//! for writing when the home can be written and for reading when it cannot.
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
    /// The file could not be opened for writing; see [`open`].
    pub(crate) read_only: bool,
    /// Whether `doc_heads` and `view_cache` exist. Always true for a writable store (opening
    /// migrates it); a read-only one may be an unmigrated format-1 file.
    pub(crate) additions: bool,
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
/// A file that cannot be written (a read-only file, a directory where SQLite cannot create its
/// shared-memory file, a read-only mount) is opened read-only instead: first with
/// `SQLITE_OPEN_READONLY`, then, when SQLite cannot set up even that, as `immutable`. Nothing is
/// migrated or tightened then.
///
/// The version check happens before anything is written, so refusing a file leaves it untouched.
pub(crate) fn open(path: &Path) -> Result<Opened, OpenError> {
    home::create_private_file(path).map_err(|source| OpenError::CreateFile {
        path: path.to_owned(),
        source,
    })?;
    if let Some(opened) = open_read_write(path)? {
        return Ok(opened);
    }
    tracing::info!(path = %path.display(), "the store cannot be written; opening it read-only");
    open_read_only(path)
}

/// Whether an SQLite error means the file (or its directory, or the mount) cannot be written,
/// rather than that it is damaged or foreign.
fn cannot_write(source: &rusqlite::Error) -> bool {
    matches!(
        source.sqlite_error_code(),
        Some(ErrorCode::ReadOnly | ErrorCode::CannotOpen | ErrorCode::PermissionDenied)
    )
}

/// Turns "the file cannot be written" into `Ok(None)` and anything else into an error.
fn writable<T>(path: &Path, result: rusqlite::Result<T>) -> Result<Option<T>, OpenError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(source) if cannot_write(&source) => Ok(None),
        Err(source) => Err(classify(path, source)),
    }
}

/// The read-write open; `Ok(None)` when the file turns out not to be writable.
fn open_read_write(path: &Path) -> Result<Option<Opened>, OpenError> {
    let sqlite = |source| classify(path, source);
    // No SQLITE_OPEN_CREATE: `open` created the file with the right mode, and a file that
    // vanished since should not silently come back with another.
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let Some(conn) = writable(path, Connection::open_with_flags(path, flags))? else {
        return Ok(None);
    };
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sqlite)?;

    // The first real read: a file that is not SQLite, or whose header promises more pages than
    // the file holds (truncation), fails here.
    let stamp = match read_stamp(&conn, path) {
        Ok(stamp) => stamp,
        Err(OpenError::Sqlite { source, .. }) if cannot_write(&source) => return Ok(None),
        Err(err) => return Err(err),
    };
    // SQLite opens a file it may not write read-only without an error.
    if conn.is_readonly(rusqlite::MAIN_DB).map_err(sqlite)? {
        return Ok(None);
    }

    if writable(path, enable_wal(&conn, path))?.is_none() {
        return Ok(None);
    }
    // FULL makes every commit durable once it returns: an acknowledged write survives power loss,
    // not only a crash of the process.
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(sqlite)?;
    conn.pragma_update(None, "foreign_keys", true)
        .map_err(sqlite)?;
    // A deleted record's words must not linger in free pages of the file: SQLite overwrites
    // deleted content with zeros (docs/FORMAT.md, "Deleting").
    conn.pragma_update(None, "secure_delete", true)
        .map_err(sqlite)?;

    let set_up = match stamp {
        Stamp::Empty => initialise(&conn, path),
        Stamp::Current { additions: false } => migrate(&conn, path),
        Stamp::Current { additions: true } => Ok(()),
    };
    match set_up.and_then(|()| add_index(&conn, path)) {
        Ok(()) => {}
        Err(OpenError::Sqlite { source, .. }) if cannot_write(&source) => return Ok(None),
        Err(err) => return Err(err),
    }

    // Last, so that the `-wal` and `-shm` files SQLite has just made (with the main file's mode)
    // are tightened too.
    let tightened = home::tighten(path);
    Ok(Some(Opened {
        conn,
        read_only: false,
        additions: true,
        tightened,
    }))
}

/// Opens a file that cannot be written, for reading only.
fn open_read_only(path: &Path) -> Result<Opened, OpenError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if let Some(conn) = writable(path, Connection::open_with_flags(path, flags))? {
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|source| classify(path, source))?;
        match read_stamp(&conn, path) {
            Ok(stamp) => return read_only(conn, stamp, path),
            // SQLite reads a WAL file read-only only if its `-shm` and `-wal` files exist or can
            // be created; otherwise only as immutable, below.
            Err(OpenError::Sqlite { source, .. }) if cannot_write(&source) => {}
            Err(err) => return Err(err),
        }
    }

    // `immutable` makes SQLite read the main file alone, without locks and ignoring any `-wal`
    // file. That is only the truth when there is no log with commits in it.
    let wal = home::sibling(path, "-wal");
    if std::fs::metadata(&wal).is_ok_and(|meta| meta.len() > 0) {
        return Err(OpenError::ReadOnlyWal {
            path: path.to_owned(),
        });
    }
    let uri = immutable_uri(path).map_err(|source| OpenError::CreateFile {
        path: path.to_owned(),
        source,
    })?;
    let flags = flags | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(uri, flags).map_err(|source| classify(path, source))?;
    let stamp = read_stamp(&conn, path)?;
    tracing::info!(path = %path.display(), "opened the store as immutable");
    read_only(conn, stamp, path)
}

fn read_only(conn: Connection, stamp: Stamp, path: &Path) -> Result<Opened, OpenError> {
    match stamp {
        Stamp::Empty => Err(OpenError::ReadOnlyEmpty {
            path: path.to_owned(),
        }),
        Stamp::Current { additions } => Ok(Opened {
            conn,
            read_only: true,
            additions,
            tightened: Vec::new(),
        }),
    }
}

/// A `file:` URI for `path` with `immutable=1`, every byte outside the unreserved set escaped
/// (a `?` or `#` in a home's path must not end the path).
fn immutable_uri(path: &Path) -> std::io::Result<String> {
    let absolute = std::path::absolute(path)?;
    #[cfg(unix)]
    let bytes = {
        use std::os::unix::ffi::OsStrExt;
        absolute.as_os_str().as_bytes().to_vec()
    };
    #[cfg(not(unix))]
    let bytes = {
        let text = absolute.to_string_lossy().replace('\\', "/");
        if text.starts_with('/') {
            text.into_bytes()
        } else {
            format!("/{text}").into_bytes()
        }
    };
    let mut uri = String::from("file:");
    for byte in bytes {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            uri.push(char::from(byte));
        } else {
            uri.push_str(&format!("%{byte:02X}"));
        }
    }
    uri.push_str("?immutable=1");
    Ok(uri)
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

/// Creates the journal's search index tables that are missing: derived rows a format-1 tapin
/// that does not know them ignores (it cannot write the journal documents they index), so they
/// keep `user_version` at 1 like the other additions. Their rows are made on first use.
fn add_index(conn: &Connection, path: &Path) -> Result<(), OpenError> {
    let sqlite = |source| classify(path, source);
    if crate::index::exists(conn).map_err(sqlite)? {
        return Ok(());
    }
    let tx = rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Immediate)
        .map_err(sqlite)?;
    crate::index::create(&tx).map_err(sqlite)?;
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
