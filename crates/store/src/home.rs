//! The home directory and the database's files in it: private modes, and creating a home
//! atomically ([`Store::create`]).
//!
//! The database holds the person's and the device's secret keys, so its files are readable by
//! their owner only (0600 on Unix) and a home tapin creates is a 0700 directory. Modes are a Unix
//! notion; elsewhere these are no-ops and files get the platform's defaults.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::CreateError;
use crate::store::{DB_FILE, Store};

/// The mode of a home directory tapin creates.
#[cfg(unix)]
const HOME_MODE: u32 = 0o700;

/// The mode of a database file tapin creates.
#[cfg(unix)]
const FILE_MODE: u32 = 0o600;

/// Names of the temporary databases [`Store::create`] builds a home in start with this; with
/// their `-wal`, `-shm` and `-journal` files they are the only entries a directory may hold and
/// still count as empty.
const TEMP_PREFIX: &str = ".tapin.db.new-";

/// A database file that others could read or write, which opening the store made private to its
/// owner. The app should tell the person: the file holds their secret keys.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Tightened {
    /// The file: `tapin.db`, or its `-wal` or `-shm` file.
    pub path: PathBuf,
    /// Its Unix permission bits before (e.g. `0o644`).
    pub before: u32,
    /// Its Unix permission bits now (`0o600`, or `0o400` for a file its owner could not write).
    pub after: u32,
}

/// `path` with `suffix` appended to its file name: `tapin.db` → `tapin.db-wal`.
pub(crate) fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

/// Creates `path` as an empty file private to its owner, unless something is already there.
/// SQLite would create it with the umask's mode (usually 0644), and it gives the `-wal` and
/// `-shm` files it makes later the main file's mode.
pub(crate) fn create_private_file(path: &Path) -> io::Result<()> {
    if fs::symlink_metadata(path).is_ok() {
        return Ok(());
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(FILE_MODE);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        // Another process made it between our look and our create.
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(err) => Err(err),
    }
}

/// Makes `tapin.db` and its `-wal` and `-shm` files private to their owner where group or others
/// have any access, and returns what it changed. A file it cannot change is left with a warning:
/// the store still opens.
#[cfg(unix)]
pub(crate) fn tighten(path: &Path) -> Vec<Tightened> {
    use std::os::unix::fs::PermissionsExt;
    let mut changed = Vec::new();
    for file in [
        path.to_owned(),
        sibling(path, "-wal"),
        sibling(path, "-shm"),
    ] {
        let Ok(meta) = fs::metadata(&file) else {
            continue;
        };
        let before = meta.permissions().mode() & 0o7777;
        if before & 0o077 == 0 {
            continue;
        }
        // Keep the owner's own read and write bits: a file its owner made read-only stays so.
        let after = before & 0o600;
        match fs::set_permissions(&file, fs::Permissions::from_mode(after)) {
            Ok(()) => {
                tracing::info!(path = %file.display(), before = format!("{before:o}"), "made the file private");
                changed.push(Tightened {
                    path: file,
                    before,
                    after,
                });
            }
            Err(err) => {
                let err = &err as &dyn std::error::Error;
                tracing::warn!(path = %file.display(), err, "others can read this file and it cannot be made private");
            }
        }
    }
    changed
}

/// Modes are a Unix notion.
#[cfg(not(unix))]
pub(crate) fn tighten(_path: &Path) -> Vec<Tightened> {
    Vec::new()
}

/// Creates the directory `home` (mode 0700 on Unix), its parents with default permissions.
/// `Ok(false)` if it already existed.
pub(crate) fn create_home_dir(home: &Path) -> io::Result<bool> {
    if let Some(parent) = home.parent()
        && !parent.as_os_str().is_empty()
    {
        fs::create_dir_all(parent)?;
    }
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(HOME_MODE);
    }
    match builder.create(home) {
        Ok(()) => Ok(true),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(err) => Err(err),
    }
}

/// Flushes a directory's entries (a link, an unlink, a new subdirectory) to disk.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

/// Directories cannot be opened as files everywhere; their entries are flushed with the files.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// Whether a directory entry is what an interrupted or concurrent [`Store::create`] leaves.
fn is_leftover(name: &std::ffi::OsStr) -> bool {
    name.to_str()
        .is_some_and(|name| name.starts_with(TEMP_PREFIX))
}

/// Refuses a directory that holds a home or anything else than leftovers of a create.
fn check_empty(home: &Path) -> Result<(), CreateError> {
    let io = |source| CreateError::Io {
        path: home.to_owned(),
        source,
    };
    let mut other = false;
    for entry in fs::read_dir(home).map_err(io)? {
        let name = entry.map_err(io)?.file_name();
        if name == DB_FILE {
            return Err(CreateError::AlreadyHome {
                path: home.to_owned(),
            });
        }
        other |= !is_leftover(&name);
    }
    if other {
        return Err(CreateError::NotEmpty {
            path: home.to_owned(),
        });
    }
    Ok(())
}

/// Removes the temporary database when the create ends, however it ends (once the home is in
/// place, that only removes the temporary name), and on failure the directory made for it, if
/// empty.
struct Cleanup {
    temp: PathBuf,
    /// The home, if this create made it.
    made_home: Option<PathBuf>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        remove_database(&self.temp);
        if let Some(home) = &self.made_home {
            // Only if empty: another create may be using it by now.
            let _ = fs::remove_dir(home);
        }
    }
}

/// Removes a database file and what SQLite keeps beside it, ignoring files already gone.
fn remove_database(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let _ = fs::remove_file(sibling(path, suffix));
    }
}

/// A name for a temporary database no other create in this or another process uses.
fn temp_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{TEMP_PREFIX}{}-{nanos}-{n}", std::process::id())
}

/// Builds the database in `temp` with `init`, closes it cleanly, and links it into place as `db`,
/// failing rather than replacing anything there.
fn build_and_link<T, E>(
    home: &Path,
    temp: &Path,
    db: &Path,
    init: impl FnOnce(&Store) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<CreateError>,
{
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| CreateError::Io { path, source }
    };
    let store = Store::open_file(home, temp).map_err(CreateError::from)?;
    let value = init(&store)?;
    store.close().map_err(|source| CreateError::Unclean {
        path: temp.to_owned(),
        source: Some(source),
    })?;
    // The last connection's close checkpoints the log into the file and deletes it; a log still
    // there holds commits the file lacks.
    if fs::symlink_metadata(sibling(temp, "-wal")).is_ok() {
        return Err(CreateError::Unclean {
            path: temp.to_owned(),
            source: None,
        }
        .into());
    }
    let _ = fs::remove_file(sibling(temp, "-shm"));
    fs::File::open(temp)
        .and_then(|file| file.sync_all())
        .map_err(io(temp))?;
    // A new name for the same, complete file, made only if nothing has the name yet: this is
    // the moment the home exists, whole.
    fs::hard_link(temp, db).map_err(|err| {
        if err.kind() == io::ErrorKind::AlreadyExists {
            CreateError::AlreadyHome {
                path: home.to_owned(),
            }
        } else {
            io(db)(err)
        }
    })?;
    Ok(value)
}

impl Store {
    /// Creates a new home in `home` and returns it opened, with what `init` returned.
    ///
    /// `home` must not exist (it is created, mode 0700 on Unix; missing parents get default
    /// permissions) or be an empty directory, whose mode is left as it is. Leftovers of an
    /// interrupted create do not count. Anything else is refused: [`CreateError::AlreadyHome`]
    /// for a directory that holds a `tapin.db`, [`CreateError::NotEmpty`] for any other
    /// non-empty directory, [`CreateError::NotADirectory`] for a file.
    ///
    /// The database is built in a temporary file inside `home` (0600): `init` writes what a new
    /// home needs into it (keys, meta, documents). It is then closed, flushed, and linked into
    /// place as `tapin.db` in one step that never replaces an existing file, so a home appears
    /// whole or not at all: a failed `init`, an error, a panic or a killed process leave no
    /// `tapin.db`, and of several processes creating the same home at once exactly one succeeds
    /// (the others get [`CreateError::AlreadyHome`]). The winner removes what interrupted
    /// creates left behind.
    ///
    /// The file system must support hard links (every Unix file system does); where it does not,
    /// this fails rather than risk replacing a home.
    pub fn create<T, E>(
        home: &Path,
        init: impl FnOnce(&Store) -> Result<T, E>,
    ) -> Result<(Store, T), E>
    where
        E: From<CreateError>,
    {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| CreateError::Io { path, source }
        };
        match fs::metadata(home) {
            Ok(meta) if !meta.is_dir() => {
                return Err(CreateError::NotADirectory {
                    path: home.to_owned(),
                }
                .into());
            }
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(io(home)(err).into()),
        }
        let made_home = create_home_dir(home).map_err(io(home))?;
        let mut cleanup = Cleanup {
            temp: home.join(temp_name()),
            made_home: made_home.then(|| home.to_owned()),
        };
        check_empty(home)?;

        let db = home.join(DB_FILE);
        let value = match build_and_link(home, &cleanup.temp, &db, init) {
            Ok(value) => value,
            // A home that appeared meanwhile is the answer, whatever else went wrong: the
            // winner of a race removes the losers' temporary databases, so a loser may fail
            // anywhere after that.
            Err(_) if db.exists() => {
                return Err(CreateError::AlreadyHome {
                    path: home.to_owned(),
                }
                .into());
            }
            Err(err) => return Err(err),
        };
        // From here on the home exists: nothing may remove it.
        cleanup.made_home = None;
        drop(cleanup);

        // Other creates' temporary databases: they are doomed (their link finds `tapin.db`) or
        // dead, and may hold secret keys.
        if let Ok(entries) = fs::read_dir(home) {
            for entry in entries.flatten() {
                if is_leftover(&entry.file_name()) {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
        sync_dir(home).map_err(io(home))?;
        if made_home && let Some(parent) = home.parent() {
            let parent = if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            };
            sync_dir(parent).map_err(io(parent))?;
        }
        let store = Store::open(home).map_err(CreateError::from)?;
        Ok((store, value))
    }
}
