//! The home directory and the database's files in it: private modes.
//!
//! The database holds the person's and the device's secret keys, so its files are readable by
//! their owner only (0600 on Unix) and a home tapin creates is a 0700 directory. Modes are a Unix
//! notion; elsewhere these are no-ops and files get the platform's defaults.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The mode of a home directory tapin creates.
#[cfg(unix)]
const HOME_MODE: u32 = 0o700;

/// The mode of a database file tapin creates.
#[cfg(unix)]
const FILE_MODE: u32 = 0o600;

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
