//! One error type per operation, each naming what it was working on.
//!
//! Messages are lowercase without a trailing period and do not repeat their source: print the
//! chain (`{err:#}` with anyhow) to see the underlying SQLite or automerge error. Automerge's
//! errors are boxed because they are large and these travel through every `Result` here.

use std::path::PathBuf;

use tapin_core::DocId;
use tapin_core::saved::BytesError;

/// [`Store::open`](crate::Store::open) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The home directory could not be created.
    #[error("cannot create home directory {}", path.display())]
    CreateHome {
        /// The home directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// SQLite could not open or set up the database file (permissions, a full disk, a lock held
    /// for longer than the busy timeout, …).
    #[error("cannot open store {}", path.display())]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// Why.
        #[source]
        source: rusqlite::Error,
    },
    /// The file is not an SQLite database, or it is truncated or otherwise damaged.
    #[error("store {} is damaged or not an SQLite database; restore it from a backup or move it aside", path.display())]
    Damaged {
        /// The database file.
        path: PathBuf,
        /// What SQLite found.
        #[source]
        source: rusqlite::Error,
    },
    /// The file is an SQLite database, but not one tapin wrote.
    #[error("{} is an SQLite database but not a tapin store; move it aside", path.display())]
    Foreign {
        /// The database file.
        path: PathBuf,
    },
    /// The database file did not exist and could not be created (private to its owner) in the
    /// home directory.
    #[error("cannot create store {}", path.display())]
    CreateFile {
        /// The database file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The home cannot be written, and its database has never been set up: there is nothing to
    /// read.
    #[error("store {} is empty and its home cannot be written", path.display())]
    ReadOnlyEmpty {
        /// The database file.
        path: PathBuf,
    },
    /// The home cannot be written, and its write-ahead log holds commits that SQLite can read
    /// only with a writable home (its shared-memory file is missing). Opening it regardless would
    /// show an older state as if it were current.
    #[error(
        "store {} cannot be read without its write-ahead log, which needs a writable home; make the home writable and try again",
        path.display()
    )]
    ReadOnlyWal {
        /// The database file.
        path: PathBuf,
    },
    /// The store was written by a newer tapin, in a format this version does not know. Nothing
    /// was modified.
    #[error(
        "store {} has format {found}, but this tapin supports formats up to {supported}; upgrade tapin to open it",
        path.display()
    )]
    TooNew {
        /// The format version found in the file.
        found: u32,
        /// The newest format version this build reads.
        supported: u32,
        /// The database file.
        path: PathBuf,
    },
}

/// [`Store::load`](crate::Store::load) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The document's rows could not be read.
    #[error("cannot read document {doc}")]
    Sqlite {
        /// The document.
        doc: DocId,
        /// Why.
        #[source]
        source: rusqlite::Error,
    },
    /// The document's stored bytes do not load: a checksum mismatch, a malformed chunk, or
    /// changes whose dependencies are missing.
    #[error("document {doc} is damaged")]
    Corrupt {
        /// The document.
        doc: DocId,
        /// What automerge found.
        #[source]
        source: Box<BytesError>,
    },
    /// The document's rows load, but no longer hold what the store recorded of them (its heads
    /// at a version): rows went missing or were swapped for others.
    #[error(
        "document {doc} is damaged: its rows (version {found}) no longer hold the changes recorded at version {recorded}"
    )]
    Rewritten {
        /// The document.
        doc: DocId,
        /// The version the recorded heads are of.
        recorded: i64,
        /// The document's version now.
        found: i64,
    },
}

/// An operation inside a [`Store::transaction`](crate::Store::transaction) failed, or the
/// transaction itself could not start or commit. Whatever the variant, the transaction writes
/// nothing: once one of its operations has failed, later ones fail with [`TxnError::Aborted`] and
/// it is rolled back instead of committed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TxnError {
    /// The store was opened read-only ([`Store::is_read_only`](crate::Store::is_read_only)).
    #[error("the home {} cannot be written; it is open read-only", home.display())]
    ReadOnly {
        /// The home directory.
        home: PathBuf,
    },
    /// Starting or committing the transaction failed (a full disk, a lock held for longer than
    /// the busy timeout, …).
    #[error("cannot write store {}", path.display())]
    Store {
        /// The database file.
        path: PathBuf,
        /// Why.
        #[source]
        source: rusqlite::Error,
    },
    /// An earlier operation of this transaction failed, so it can only be rolled back.
    #[error("an earlier error aborted this transaction; nothing was written to store {}", path.display())]
    Aborted {
        /// The database file.
        path: PathBuf,
    },
    /// The document's rows could not be read or written.
    #[error("cannot write document {doc}")]
    Sqlite {
        /// The document.
        doc: DocId,
        /// Why.
        #[source]
        source: rusqlite::Error,
    },
    /// The document already on disk does not load, so it cannot be read or changed safely.
    #[error("document {doc} is damaged")]
    Corrupt {
        /// The document.
        doc: DocId,
        /// What automerge found.
        #[source]
        source: Box<BytesError>,
    },
    /// The document already on disk no longer holds what the store recorded of it; see
    /// [`LoadError::Rewritten`].
    #[error(
        "document {doc} is damaged: its rows (version {found}) no longer hold the changes recorded at version {recorded}"
    )]
    Rewritten {
        /// The document.
        doc: DocId,
        /// The version the recorded heads are of.
        recorded: i64,
        /// The document's version now.
        found: i64,
    },
    /// Changes handed to [`Txn::apply_changes`](crate::Txn::apply_changes) or
    /// [`Txn::apply_saved`](crate::Txn::apply_saved) are not valid automerge data, or depend on
    /// changes the document does not have.
    #[error("invalid changes for document {doc}")]
    Automerge {
        /// The document.
        doc: DocId,
        /// What automerge found.
        #[source]
        source: Box<BytesError>,
    },
    /// Reading or writing one meta entry or sync state failed.
    #[error("cannot access meta entry {key:?}")]
    Meta {
        /// The entry's key.
        key: String,
        /// Why.
        #[source]
        source: rusqlite::Error,
    },
}

impl From<LoadError> for TxnError {
    fn from(err: LoadError) -> Self {
        match err {
            LoadError::Sqlite { doc, source } => TxnError::Sqlite { doc, source },
            LoadError::Corrupt { doc, source } => TxnError::Corrupt { doc, source },
            LoadError::Rewritten {
                doc,
                recorded,
                found,
            } => TxnError::Rewritten {
                doc,
                recorded,
                found,
            },
        }
    }
}

/// [`Store::update`](crate::Store::update), [`Store::apply_changes`](crate::Store::apply_changes)
/// or [`Store::compact`](crate::Store::compact) failed. Whatever the variant, nothing was written.
///
/// `E` is the error type of the caller's closure; operations without a closure use
/// [`std::convert::Infallible`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpdateError<E> {
    /// The closure passed to [`Store::update`](crate::Store::update) returned this error.
    #[error(transparent)]
    Inner(E),
    /// The document's rows could not be read or written.
    #[error("cannot write document {doc}")]
    Sqlite {
        /// The document.
        doc: DocId,
        /// Why.
        #[source]
        source: rusqlite::Error,
    },
    /// The document already on disk does not load, so it cannot be changed safely.
    #[error("document {doc} is damaged")]
    Corrupt {
        /// The document.
        doc: DocId,
        /// What automerge found.
        #[source]
        source: Box<BytesError>,
    },
    /// The document already on disk no longer holds what the store recorded of it; see
    /// [`LoadError::Rewritten`].
    #[error(
        "document {doc} is damaged: its rows (version {found}) no longer hold the changes recorded at version {recorded}"
    )]
    Rewritten {
        /// The document.
        doc: DocId,
        /// The version the recorded heads are of.
        recorded: i64,
        /// The document's version now.
        found: i64,
    },
    /// The changes handed to [`Store::apply_changes`](crate::Store::apply_changes) are not valid
    /// automerge data, or depend on changes the document does not have.
    #[error("invalid changes for document {doc}")]
    Automerge {
        /// The document.
        doc: DocId,
        /// What automerge found.
        #[source]
        source: Box<BytesError>,
    },
    /// The store was opened read-only ([`Store::is_read_only`](crate::Store::is_read_only)).
    #[error("the home {} cannot be written; it is open read-only", home.display())]
    ReadOnly {
        /// The home directory.
        home: PathBuf,
    },
    /// The transaction around the write could not start or commit.
    #[error(transparent)]
    Transaction(TxnError),
}

impl<E> UpdateError<E> {
    pub(crate) fn sqlite(doc: &DocId) -> impl FnOnce(rusqlite::Error) -> Self {
        let doc = *doc;
        move |source| UpdateError::Sqlite { doc, source }
    }
}

impl<E> From<LoadError> for UpdateError<E> {
    fn from(err: LoadError) -> Self {
        match err {
            LoadError::Sqlite { doc, source } => UpdateError::Sqlite { doc, source },
            LoadError::Corrupt { doc, source } => UpdateError::Corrupt { doc, source },
            LoadError::Rewritten {
                doc,
                recorded,
                found,
            } => UpdateError::Rewritten {
                doc,
                recorded,
                found,
            },
        }
    }
}

impl<E> From<TxnError> for UpdateError<E> {
    fn from(err: TxnError) -> Self {
        match err {
            TxnError::Sqlite { doc, source } => UpdateError::Sqlite { doc, source },
            TxnError::Corrupt { doc, source } => UpdateError::Corrupt { doc, source },
            TxnError::Automerge { doc, source } => UpdateError::Automerge { doc, source },
            TxnError::Rewritten {
                doc,
                recorded,
                found,
            } => UpdateError::Rewritten {
                doc,
                recorded,
                found,
            },
            TxnError::ReadOnly { home } => UpdateError::ReadOnly { home },
            other => UpdateError::Transaction(other),
        }
    }
}

/// An operation on the store as a whole ([`Store::documents`](crate::Store::documents),
/// [`Store::stats`](crate::Store::stats), the meta table) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Reading the store failed.
    #[error("cannot read store {}", path.display())]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// Why.
        #[source]
        source: rusqlite::Error,
    },
    /// Reading or writing one meta entry failed.
    #[error("cannot access meta entry {key:?}")]
    Meta {
        /// The entry's key.
        key: String,
        /// Why.
        #[source]
        source: rusqlite::Error,
    },
    /// A write to a store opened read-only ([`Store::is_read_only`](crate::Store::is_read_only)).
    #[error("the home {} cannot be written; it is open read-only", home.display())]
    ReadOnly {
        /// The home directory.
        home: PathBuf,
    },
    /// A meta entry's value does not have the length its key's values have (a secret key that
    /// is not 32 bytes, [`Store::get_secret`](crate::Store::get_secret)).
    #[error("meta entry {key:?} is damaged: it holds {found} bytes, not {expected}")]
    MetaLength {
        /// The entry's key.
        key: String,
        /// The length its values have.
        expected: usize,
        /// The length of the value found.
        found: usize,
    },
}

/// [`Store::create`](crate::Store::create) did not create a home. Whatever the variant, no
/// `tapin.db` was put in place.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CreateError {
    /// The directory already holds a tapin home (possibly one created a moment ago by another
    /// process).
    #[error("{} already holds a tapin home", path.display())]
    AlreadyHome {
        /// The home directory.
        path: PathBuf,
    },
    /// The directory holds other files: it is not a tapin home, and a new one is not made there.
    #[error("{} is not empty and is not a tapin home; choose a new or empty directory", path.display())]
    NotEmpty {
        /// The directory.
        path: PathBuf,
    },
    /// The path exists and is not a directory.
    #[error("{} exists and is not a directory", path.display())]
    NotADirectory {
        /// The path.
        path: PathBuf,
    },
    /// A file system operation failed.
    #[error("cannot create home {}", path.display())]
    Io {
        /// The file or directory it failed on.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The new database did not close cleanly: its write-ahead log was left behind.
    #[error("the new store {} did not close cleanly", path.display())]
    Unclean {
        /// The temporary database file.
        path: PathBuf,
        /// What SQLite reported, if anything.
        #[source]
        source: Option<rusqlite::Error>,
    },
    /// Opening the new database (or the finished home) failed.
    #[error(transparent)]
    Open(#[from] OpenError),
}
