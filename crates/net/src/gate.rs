//! The allowlist as the store sees it: a friend's device may sync while its relationship is
//! paired (and not unpaired since), and an unknown device may try to pair while an invitation is
//! open in this process ([`OpenInvitations`]). Checked against the store on every connection — the pairings
//! are read again whenever the private document's version moved — so a pairing or an `unpair`
//! made by another process on the same home applies to the very next connection. A device of a
//! friend this home unpaired with a notice is answered with that notice ([`Gate::ended`]).

use std::path::PathBuf;
use std::sync::Mutex;

use tapin_core::identity::DeviceId;
use tapin_store::Store;

use crate::endpoint::Gate;
use crate::invitations::OpenInvitations;
use crate::sync::LinkCache;

/// A [`Gate`] backed by a home's store. The endpoint's hook consults it on a blocking thread,
/// so its SQLite reads never run on the async runtime.
#[derive(Debug)]
pub struct HomeGate {
    /// A std Mutex, not a Tokio one: it is locked only on the hook's blocking thread, and no
    /// await happens while it is held.
    store: Mutex<(Store, LinkCache)>,
    home: PathBuf,
    invitations: OpenInvitations,
}

impl HomeGate {
    /// A gate over the home's store, with no invitation open.
    pub fn new(store: Store) -> Self {
        HomeGate {
            home: store.home().to_owned(),
            store: Mutex::new((store, LinkCache::default())),
            invitations: OpenInvitations::default(),
        }
    }

    /// The invitations open in this process: while one is, unknown devices may try to pair.
    /// Give the same to the node's pairing handler.
    pub fn invitations(&self) -> &OpenInvitations {
        &self.invitations
    }

    fn paired(&self, device: &[u8; 32]) -> bool {
        let Ok(device) = DeviceId::from_bytes(device) else {
            return false;
        };
        let Ok(mut guard) = self.store.lock() else {
            return false;
        };
        let (store, links) = &mut *guard;
        match links.link_for(store, device) {
            Ok(link) => link.is_some(),
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

    fn ended(&self, device: &[u8; 32]) -> Option<Vec<u8>> {
        let device = DeviceId::from_bytes(device).ok()?;
        let mut guard = self.store.lock().ok()?;
        let (store, links) = &mut *guard;
        match links.notice_for(store, device) {
            Ok(notice) => notice,
            Err(err) => {
                tracing::warn!(home = %self.home.display(), "cannot read pairings: {err}");
                None
            }
        }
    }

    fn allow_pairing(&self) -> bool {
        self.invitations.is_open()
    }
}
