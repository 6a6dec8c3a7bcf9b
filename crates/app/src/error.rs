//! The engine's error: what went wrong in a use case, typed, with its cause as `source`.

use std::path::PathBuf;

use tapin_core::DocId;

/// A boxed cause from a layer below the engine (the store, the network), kept whole as `source`
/// so a front-end can print the chain or look inside it, without the engine's API naming those
/// layers' types.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a use case failed. Messages are lowercase sentences a person can act on; the cause, where
/// there is one, is the `source`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// What the person asked for cannot be done as asked: a value out of range, an empty text, a
    /// name already taken, a date in the future. The message names the problem and what to do.
    #[error("{0}")]
    Invalid(String),
    /// Something the person typed cannot be read as what it stands for: a date, an interval, an
    /// id that is not hex. The message names the value and the forms that are understood.
    /// Front-ends treat it as a mistake in the command itself (the CLI exits 2, like a flag it
    /// does not know).
    #[error("{0}")]
    Malformed(String),
    /// Nothing matches what the person named (a person, a goal id), or several things do.
    #[error("{0}")]
    NotFound(String),
    /// There is no home at the path.
    #[error(
        "no tapin home at {}; create one with `tapin init --name NAME` (or choose one with --home)",
        .0.display()
    )]
    NoHome(PathBuf),
    /// The home is there but damaged or incomplete.
    #[error("{what}")]
    Damaged {
        /// What is wrong, naming the home.
        what: String,
    },
    /// The home could not be opened.
    #[error("could not open the home at {}", path.display())]
    Open {
        /// The home.
        path: PathBuf,
        /// Why.
        #[source]
        source: Cause,
    },
    /// The home could not be created.
    #[error("could not create a home at {}", path.display())]
    Create {
        /// The home.
        path: PathBuf,
        /// Why.
        #[source]
        source: Cause,
    },
    /// A document could not be loaded.
    #[error("could not load document {doc}")]
    Load {
        /// The document.
        doc: DocId,
        /// Why.
        #[source]
        source: Cause,
    },
    /// The store failed to read or write (the message names the document or the file).
    #[error(transparent)]
    Store(Cause),
    /// A document does not have the shape this build reads, or an edit could not be made.
    #[error(transparent)]
    Doc(#[from] tapin_core::docs::DocError),
    /// A file outside the store could not be read or written.
    #[error("{what}")]
    Io {
        /// What was being done, naming the file.
        what: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Data could not be encoded (a record as JSON, a page as text): a bug, not bad input.
    #[error("could not encode {what}")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// Why.
        #[source]
        source: Cause,
    },
    /// The operating system has no randomness to give.
    #[error("no randomness available: {0}")]
    NoRandomness(getrandom::Error),
    /// A network operation failed, and says what and why itself.
    #[error(transparent)]
    Network(Cause),
    /// A network operation failed.
    #[error("{what}")]
    Net {
        /// What was being done.
        what: String,
        /// Why.
        #[source]
        source: Cause,
    },
}

/// The engine's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// [`Error::Invalid`] from anything printable.
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Error::Invalid(message.into())
    }

    /// [`Error::Malformed`] from anything printable.
    pub(crate) fn malformed(message: impl Into<String>) -> Self {
        Error::Malformed(message.into())
    }

    /// Whether the fault is in how the command was written rather than in what it asked for:
    /// front-ends answer it as they answer a malformed command line.
    pub fn is_usage(&self) -> bool {
        matches!(self, Error::Malformed(_))
    }

    /// What kind of failure this is, as a stable word for scripts (a front-end's JSON error
    /// carries it): "malformed", "invalid", "not-found", "no-home", "damaged", "io", "network"
    /// or "failed".
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Malformed(_) => "malformed",
            Error::Invalid(_) => "invalid",
            Error::NotFound(_) => "not-found",
            Error::NoHome(_) => "no-home",
            Error::Damaged { .. } | Error::Load { .. } | Error::Doc(_) => "damaged",
            Error::Io { .. } | Error::Open { .. } | Error::Create { .. } | Error::Store(_) => "io",
            Error::Network(_) | Error::Net { .. } => "network",
            Error::Encode { .. } | Error::NoRandomness(_) => "failed",
        }
    }

    /// [`Error::NotFound`] from anything printable.
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Error::NotFound(message.into())
    }
}

macro_rules! from_store {
    ($($ty:ty),*) => {$(
        impl From<$ty> for Error {
            fn from(err: $ty) -> Self {
                Error::Store(Box::new(err))
            }
        }
    )*};
}

from_store!(
    tapin_store::TxnError,
    tapin_store::StoreError,
    tapin_store::LoadError,
    tapin_store::CreateError
);

/// Returns early with [`Error::Invalid`], formatted like `format!`.
macro_rules! invalid {
    ($($arg:tt)*) => {
        return Err($crate::error::Error::Invalid(format!($($arg)*)))
    };
}

pub(crate) use invalid;

/// An error and its causes on one line, as `a: b: c`.
pub(crate) use tapin_core::chain;
