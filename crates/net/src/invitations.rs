//! The invitations open in this process, and the protocol handler that answers joiners with
//! them. The gate ([`crate::gate::HomeGate`]) admits unknown devices on a pairing ALPN only while
//! one is open here, and [`PairHandler`] answers each join request against them; a pairing that
//! checks goes to whoever opened the invitation, who asks its person to compare the safety code.
//!
//! Any node can carry the pairing handler: `tapin serve`'s node does, so an invitation opened in
//! its process is answered by it, and `tapin invite`'s node does.
//!
//! ```no_run
//! # async fn example(
//! #     book: std::sync::Arc<dyn tapin_net::pair::Invitations>,
//! # ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! use tapin_net::invitations::OpenInvitations;
//!
//! let open = OpenInvitations::default();
//! assert!(!open.is_open());
//! let mut invitation = open.open(book);
//! assert!(open.is_open());
//! // A node with `PairHandler::new(open.clone(), …)` answers joiners now.
//! if let Some(joined) = invitation.next().await {
//!     let pending = joined?;
//!     println!("safety code {}", pending.code);
//!     pending.finish(true).await?;
//! }
//! drop(invitation); // closed: the gate refuses joiners again
//! assert!(!open.is_open());
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use iroh::endpoint::Connection;
use iroh::protocol::{AcceptError, ProtocolHandler};
use tapin_core::identity::DeviceCertificate;
use tapin_core::pairing::{Invitation, InviteId};
use tokio::sync::mpsc;

use crate::Timeouts;
use crate::endpoint::REFUSED;
use crate::pair::{self, InvitationError, Invitations, PairNetError, PendingPairing};

/// What an open invitation hears: a pairing that checked (to confirm), or a device that tried to
/// join and was refused (shared: every invitation open here hears of it).
pub type Joined = Result<PendingPairing, Arc<PairNetError>>;

/// The invitations open in this process. Cheap to clone: clones share them.
#[derive(Debug, Clone, Default)]
pub struct OpenInvitations {
    /// A std Mutex, not a Tokio one: held only to read or change the list, never across an
    /// await nor while an invitation book reads its store.
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    next_key: u64,
    open: Vec<Slot>,
    /// Which open invitation answered a lookup for an invitation id, so the claim and the
    /// pairing go to it.
    answered: HashMap<InviteId, u64>,
}

#[derive(Debug)]
struct Slot {
    key: u64,
    book: Arc<dyn Invitations>,
    tx: mpsc::UnboundedSender<Joined>,
}

impl OpenInvitations {
    fn inner(&self) -> MutexGuard<'_, Inner> {
        // Nothing held under this lock can be left half-changed by a panic.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether an invitation is open, so unknown devices may try to pair.
    pub fn is_open(&self) -> bool {
        !self.inner().open.is_empty()
    }

    /// Opens an invitation whose ids `book` knows (looks up and claims). It stays open until the
    /// returned handle is dropped.
    pub fn open(&self, book: Arc<dyn Invitations>) -> OpenInvitation {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut inner = self.inner();
        let key = inner.next_key;
        inner.next_key += 1;
        inner.open.push(Slot { key, book, tx });
        OpenInvitation {
            key,
            registry: self.clone(),
            rx,
        }
    }

    fn books(&self) -> Vec<(u64, Arc<dyn Invitations>)> {
        self.inner()
            .open
            .iter()
            .map(|s| (s.key, s.book.clone()))
            .collect()
    }

    /// Hands what became of a join request to the invitation it was for: a pairing to the one
    /// that answered for its id, a refusal to every open one.
    fn deliver(&self, joined: Result<PendingPairing, PairNetError>) {
        let mut inner = self.inner();
        match joined {
            Ok(pending) => {
                let key = inner.answered.remove(&pending.invite);
                if let Some(slot) = inner.open.iter().find(|s| Some(s.key) == key) {
                    // A closed receiver drops the pairing, and with it the connection.
                    let _ = slot.tx.send(Ok(pending));
                }
            }
            Err(err) => {
                let err = Arc::new(err);
                for slot in &inner.open {
                    let _ = slot.tx.send(Err(err.clone()));
                }
            }
        }
    }
}

impl Invitations for OpenInvitations {
    fn lookup(&self, id: &InviteId) -> Result<Invitation, InvitationError> {
        let mut refusal = None;
        for (key, book) in self.books() {
            match book.lookup(id) {
                Ok(inv) => {
                    self.inner().answered.insert(*id, key);
                    return Ok(inv);
                }
                // "Unknown" says least: keep what another book knows about this id.
                Err(InvitationError::Unknown) => {}
                Err(err) => refusal = Some(err),
            }
        }
        Err(refusal.unwrap_or(InvitationError::Unknown))
    }

    fn claim(&self, id: &InviteId) -> Result<(), InvitationError> {
        let key = self.inner().answered.get(id).copied();
        let book = self
            .books()
            .into_iter()
            .find(|(k, _)| Some(*k) == key)
            .map(|(_, book)| book)
            .ok_or(InvitationError::Unknown)?;
        book.claim(id)
    }
}

/// One invitation open in this process. Closed when dropped.
#[derive(Debug)]
pub struct OpenInvitation {
    key: u64,
    registry: OpenInvitations,
    rx: mpsc::UnboundedReceiver<Joined>,
}

impl OpenInvitation {
    /// The next device that tried to join: a pairing that checked, waiting for the person to
    /// confirm the safety code, or a refusal. Waits as long as it takes; bound it with the
    /// invitation's expiry.
    pub async fn next(&mut self) -> Option<Joined> {
        self.rx.recv().await
    }
}

impl Drop for OpenInvitation {
    fn drop(&mut self) {
        let mut inner = self.registry.inner();
        inner.open.retain(|s| s.key != self.key);
        let key = self.key;
        inner.answered.retain(|_, k| *k != key);
    }
}

/// The protocol handler for every pairing ALPN: answers each joiner against the invitations
/// open in this process ([`pair::accept`]) and hands the result to the invitation it was for.
#[derive(Debug, Clone)]
pub struct PairHandler {
    invitations: OpenInvitations,
    cert: DeviceCertificate,
    timeouts: Timeouts,
}

impl PairHandler {
    /// A handler answering for `invitations` as the device `cert` certifies.
    pub fn new(invitations: OpenInvitations, cert: DeviceCertificate, timeouts: Timeouts) -> Self {
        PairHandler {
            invitations,
            cert,
            timeouts,
        }
    }
}

impl ProtocolHandler for PairHandler {
    async fn accept(&self, conn: Connection) -> Result<(), AcceptError> {
        if !self.invitations.is_open() {
            // The gate admitted it a moment before the invitation closed.
            conn.close(REFUSED.into(), b"no open invitation");
            return Ok(());
        }
        let books: Arc<dyn Invitations> = Arc::new(self.invitations.clone());
        let joined = pair::accept(conn, books, &self.cert, &self.timeouts).await;
        self.invitations.deliver(joined);
        Ok(())
    }
}
