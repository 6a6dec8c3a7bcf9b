//! The node's watch on its home: a thread of its own polls the store's `PRAGMA data_version`
//! (it moves whenever another connection commits: `tapin` commands, or the node's own writes of
//! what friends sent) and, when it moved, reads the pairings and the version of each shared side
//! again. The async side reads the latest reading from a channel, so no SQLite call of the watch
//! runs on the async runtime.

use std::collections::HashMap;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tapin_core::{DocId, Id};
use tapin_store::Store;
use tokio::sync::watch;

use crate::sync::{Link, LinkCache, SyncError};

/// What the store said at one reading.
#[derive(Debug, Default)]
pub(super) struct Reading {
    /// The paired relationships, with where each friend device was last known to be.
    pub(super) links: Vec<Link>,
    /// The version of my side of each of them.
    pub(super) sides: HashMap<Id, i64>,
}

/// Reads the pairings and the side versions.
fn read(store: &Store, cache: &mut LinkCache) -> Result<Reading, SyncError> {
    let links = cache.get(store)?.to_vec();
    let mut sides = HashMap::new();
    for link in &links {
        sides.insert(link.rel, store.doc_version(&DocId::Side(link.rel))?);
    }
    Ok(Reading { links, sides })
}

/// Takes a first reading (so the caller starts from what the store says now), then starts the
/// thread that takes a new one whenever `data_version` moves, looking every `poll`. The thread
/// ends, within one `poll`, once the returned receiver is dropped. Blocking: call it off the
/// runtime.
pub(super) fn start(
    store: Store,
    poll: Duration,
) -> std::io::Result<(watch::Receiver<Arc<Reading>>, JoinHandle<()>)> {
    let mut cache = LinkCache::default();
    let mut version = store.data_version().ok();
    let first = read(&store, &mut cache).unwrap_or_else(|err| {
        tracing::warn!("cannot read the pairings: {}", crate::chain(&err));
        Reading::default()
    });
    let (tx, rx) = watch::channel(Arc::new(first));
    let thread = std::thread::Builder::new()
        .name("tapin-watch".to_owned())
        .spawn(move || {
            while !tx.is_closed() {
                std::thread::sleep(poll);
                match store.data_version() {
                    Ok(now) if Some(now) == version => continue,
                    Ok(now) => version = Some(now),
                    Err(err) => {
                        tracing::debug!("cannot read data_version: {}", crate::chain(&err));
                        continue;
                    }
                }
                match read(&store, &mut cache) {
                    Ok(reading) => {
                        tx.send_replace(Arc::new(reading));
                    }
                    Err(err) => tracing::warn!("cannot read the pairings: {}", crate::chain(&err)),
                }
            }
        })?;
    Ok((rx, thread))
}
