//! The allowlist as the store sees it: a friend's device may sync while its relationship is
//! paired (and not unpaired since). Read from the store on every check, so a pairing or an
//! `unpair` made by another process on the same home applies to the very next connection.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use tapin_core::DocId;
use tapin_core::docs;
use tapin_store::Store;

use crate::endpoint::Gate;

/// A [`Gate`] backed by a home's store.
#[derive(Debug)]
pub struct HomeGate {
    /// A std Mutex, not a Tokio one: the store is synchronous and no await happens while it is held.
    store: Mutex<Store>,
    home: PathBuf,
    pairing_open: AtomicBool,
}

impl HomeGate {
    /// A gate over the home's store, with pairing closed.
    pub fn new(store: Store) -> Self {
        HomeGate {
            home: store.home().to_owned(),
            store: Mutex::new(store),
            pairing_open: AtomicBool::new(false),
        }
    }

    /// Opens or closes pairing to unknown devices (while an invitation is being served).
    pub fn set_pairing_open(&self, open: bool) {
        self.pairing_open.store(open, Ordering::SeqCst);
    }

    fn paired(&self, device: &[u8; 32]) -> bool {
        let wanted = tapin_core::identity::DeviceId::from_bytes(device).map(|d| d.to_string());
        let Ok(wanted) = wanted else { return false };
        let Ok(store) = self.store.lock() else {
            return false;
        };
        let private = match store.load(&DocId::Private) {
            Ok(Some(doc)) => docs::read_private(&doc),
            Ok(None) => return false,
            Err(err) => {
                tracing::warn!(home = %self.home.display(), "cannot read pairings: {err}");
                return false;
            }
        };
        match private {
            Ok(private) => private
                .relationships
                .values()
                .any(|rel| rel.paired_devices().any(|(id, _)| *id == wanted)),
            Err(err) => {
                tracing::warn!(home = %self.home.display(), "cannot read pairings: {err}");
                false
            }
        }
    }
}

impl Gate for HomeGate {
    fn allow_sync(&self, device: &[u8; 32]) -> bool {
        self.paired(device)
    }

    fn allow_pairing(&self) -> bool {
        self.pairing_open.load(Ordering::SeqCst)
    }
}
