//! Durable storage of tapin's automerge documents.
//!
//! A [`Store`] is one SQLite database, `tapin.db`, in a home directory. It keeps each document
//! ([`tapin_core::DocId`]) as a compacted snapshot plus the incremental chunks of changes written
//! since, and a small key/value meta table for identity keys and configuration, each key typed
//! in [`meta`]. The format is described, versioned, in `docs/FORMAT.md`.
//!
//! Every write is one SQLite transaction taken with `BEGIN IMMEDIATE`: [`Store::update`] loads the
//! document under the write lock, lets the caller change it, appends only the new changes, and
//! commits with `synchronous = FULL`. So when `update` returns, the write is on disk; when it
//! fails, nothing was written; and any number of tapin processes can share a home, even writing
//! with the same actor, because each reloads the document after taking the lock. Every few dozen
//! writes a document is compacted into a new snapshot in the same transaction, so loading stays
//! one snapshot plus a bounded number of changes. [`Store::transaction`] does the same for any
//! number of documents and meta entries at once ([`Txn`]): one commit, all or nothing, even if
//! the process is killed half-way.
//!
//! What the store derives from a document and keeps is checked before it is used: each document's
//! heads as of its version ([`Store::heads`]), recorded with every write, and the app's cache of
//! decoded documents ([`Store::cached_view`]), used only while it was made from the document's
//! current version and heads and its digest verifies.
//!
//! Each `Store` keeps the documents it reads and writes in memory, so reading one again costs
//! only the changes written since; what it keeps is bounded by a budget of stored bytes, least
//! recently used out first ([`DEFAULT_CACHE_BUDGET`], [`Store::set_cache_budget`],
//! [`Store::cache_stats`]).
//!
//! A new home is made with [`Store::create`], which puts `tapin.db` in place only once the
//! caller has written everything a home needs into it, so a home is there whole or not at all.
//! A home that cannot be written (a read-only file or mount) opens read-only
//! ([`Store::is_read_only`]): every read works and every write is an error naming the home.
//!
//! The store never prints and has no network access. Damage is reported, not papered over: a file
//! that is not a tapin store, or was written by a newer tapin, is refused at [`Store::open`], and a
//! document whose bytes do not load gives an error naming it while the others still load.
//!
//! # Example
//!
//! ```
//! use automerge::transaction::Transactable;
//! use automerge::{ActorId, ROOT, ReadDoc};
//! use tapin_core::DocId;
//! use tapin_store::{MetaKey, Store};
//!
//! let home = tempfile::tempdir()?;
//! let store = Store::open(home.path())?;
//! let device = ActorId::from(b"this device".as_slice());
//!
//! store.update(&DocId::Journal, &device, |doc| doc.put(ROOT, "mood", "calm"))?;
//!
//! let journal = store.load(&DocId::Journal)?.expect("written above");
//! let (mood, _) = journal.get(ROOT, "mood")?.expect("written above");
//! assert_eq!(mood.as_str(), Some("calm"));
//! assert_eq!(store.documents()?, [DocId::Journal]);
//!
//! // Several documents and a meta entry (every key is a `MetaKey`), all or nothing. Store
//! // errors convert into the closures' own error type.
//! type Error = Box<dyn std::error::Error>;
//! store.transaction(&device, |txn| {
//!     txn.update(&DocId::Private, |doc| Ok::<_, Error>(doc.put(ROOT, "mood", "calm")?))?;
//!     txn.update(&DocId::Journal, |doc| Ok::<_, Error>(doc.put(ROOT, "mood", "glad")?))?;
//!     txn.set_meta(MetaKey::Name, b"Maya")?;
//!     Ok::<_, Error>(())
//! })?;
//! assert_eq!(store.documents()?, [DocId::Journal, DocId::Private]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod cache;
mod error;
mod heads;
mod home;
mod index;
pub mod meta;
mod rows;
mod schema;
mod store;
mod txn;
mod views;

pub use cache::{CacheStats, DEFAULT_CACHE_BUDGET};
pub use error::{CreateError, LoadError, OpenError, StoreError, TxnError, UpdateError};
pub use home::Tightened;
pub use index::{DERIVED_TABLES, JournalHits, JournalLookup};
pub use meta::MetaKey;
pub use schema::FORMAT_VERSION;
pub use store::{DB_FILE, DocStats, Settings, Store, StoreStats};
pub use txn::Txn;
