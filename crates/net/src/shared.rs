//! A home's store as the network's async code uses it: never on the async runtime. Every SQLite
//! call is blocking I/O (a commit waits for fsync), so each runs in
//! `tokio::task::spawn_blocking`, under a std Mutex that no await ever crosses. `Store` is `Send`
//! but not `Sync` (its cache is a `RefCell`), so one lock around it is also what lets several
//! tasks share it.
//!
//! ```no_run
//! # async fn example(store: tapin_store::Store) -> Result<(), Box<dyn std::error::Error>> {
//! use tapin_net::shared::SharedStore;
//! let store = SharedStore::new(store);
//! let version = store.run(|s| s.data_version()).await??;
//! println!("data version {version}");
//! # Ok(()) }
//! ```

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use tapin_store::{OpenError, Store};

/// A store that async code hands to a blocking thread for each use. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SharedStore {
    /// A std Mutex, not a Tokio one: it is locked only inside `spawn_blocking`, never across an
    /// await.
    store: Arc<Mutex<Store>>,
}

/// Work handed to a blocking thread did not finish: it panicked, or the runtime is shutting
/// down.
#[derive(Debug, thiserror::Error)]
#[error("store work on a blocking thread did not finish")]
pub struct BlockingError(#[source] tokio::task::JoinError);

impl SharedStore {
    /// Shares `store`.
    pub fn new(store: Store) -> Self {
        SharedStore {
            store: Arc::new(Mutex::new(store)),
        }
    }

    /// Opens the home's store on a blocking thread.
    pub async fn open(home: &Path) -> Result<Self, OpenStoreError> {
        Ok(SharedStore::new(open_store(home).await?))
    }

    /// Runs `f` with the store on a blocking thread and returns what it returned.
    ///
    /// A panic in an earlier `f` poisons the lock, but leaves the store consistent (a transaction
    /// a panic interrupts writes nothing, and the store caches only what was committed), so the
    /// poison is ignored.
    pub async fn run<T, F>(&self, f: F) -> Result<T, BlockingError>
    where
        F: FnOnce(&Store) -> T + Send + 'static,
        T: Send + 'static,
    {
        let store = self.store.clone();
        off_runtime(move || f(&store.lock().unwrap_or_else(PoisonError::into_inner))).await
    }
}

/// The home's store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenStoreError {
    /// The store refused to open.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// Opening it did not finish.
    #[error(transparent)]
    Blocking(#[from] BlockingError),
}

/// Opens the home's store on a blocking thread.
pub(crate) async fn open_store(home: &Path) -> Result<Store, OpenStoreError> {
    let home = home.to_owned();
    Ok(off_runtime(move || Store::open(&home)).await??)
}

/// Runs `f` on a blocking thread.
pub(crate) async fn off_runtime<T, F>(f: F) -> Result<T, BlockingError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f).await.map_err(BlockingError)
}
