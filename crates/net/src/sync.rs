//! One sync exchange over one QUIC stream (ALPN `tapin/sync/2`), wired to the store: load my side
//! and my replica of theirs, run [`tapin_core::sync::Session`] in alternating batches until a
//! round trip carries nothing, and persist what arrived (durably, before answering), the sync
//! states and the friend's signed heads. See docs/PROTOCOL.md.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use iroh::endpoint::{Connection, RecvStream, SendStream};
use tapin_core::identity::{DeviceId, DeviceKey};
use tapin_core::sync::{Frame, Session, SignedHeads, Violation};
use tapin_core::{DocId, Id, docs};
use tapin_store::Store;

use crate::frame::{self, FrameError};

/// A sync frame may carry a whole document on first sync; beyond this it is hostile.
pub const FRAME_CAP: u32 = 64 * 1024 * 1024;
/// At most this many frames in one batch (two documents, heads and the end marker, with room).
pub const BATCH_FRAMES: usize = 8;
/// An exchange that has not converged after this many round trips is abandoned.
pub const MAX_ROUNDS: usize = 32;
/// The longest wait for the next frame.
pub const FRAME_TIMEOUT: Duration = Duration::from_secs(30);
/// QUIC close code for a peer that broke the protocol.
pub const VIOLATION: u32 = 400;

/// The store meta key holding the friend's latest verified signed heads for a relationship.
pub fn heads_key(rel: Id) -> String {
    format!("replica.{rel}.heads")
}

/// The friend's signed heads as stored, with when they arrived.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StoredHeads {
    /// The signed heads.
    pub signed: SignedHeads,
    /// When they were received (ms since the epoch).
    pub at: i64,
}

/// One friend relationship as sync sees it.
#[derive(Debug, Clone)]
pub struct Link {
    /// My relationship id.
    pub rel: Id,
    /// What I call them.
    pub name: String,
    /// Their certified devices.
    pub devices: Vec<DeviceId>,
}

/// Finds the relationship a device belongs to (only while paired).
pub fn link_for(store: &Store, device: DeviceId) -> Result<Option<Link>, SyncError> {
    Ok(links(store)?
        .into_iter()
        .find(|l| l.devices.contains(&device)))
}

/// Every paired relationship.
pub fn links(store: &Store) -> Result<Vec<Link>, SyncError> {
    Ok(pairings(store)?.0)
}

/// Where each paired device was last known to listen.
type Addrs = HashMap<DeviceId, Vec<SocketAddr>>;

/// Every paired relationship, and the addresses each paired device was last known at.
fn pairings(store: &Store) -> Result<(Vec<Link>, Addrs), SyncError> {
    let Some(doc) = store.load(&DocId::Private).map_err(store_err)? else {
        return Ok(Default::default());
    };
    let private = docs::read_private(&doc).map_err(store_err)?;
    let mut out = Vec::new();
    let mut addrs = Addrs::new();
    for (&rel_id, rel) in &private.relationships {
        let mut devices = Vec::new();
        for (device, paired) in rel.paired_devices() {
            let Ok(device) = device.parse::<DeviceId>() else {
                continue;
            };
            devices.push(device);
            addrs.entry(device).or_default().extend(
                paired
                    .addrs
                    .iter()
                    .filter_map(|a| a.parse::<SocketAddr>().ok()),
            );
        }
        if !devices.is_empty() {
            out.push(Link {
                rel: rel_id,
                name: rel.name.clone(),
                devices,
            });
        }
    }
    Ok((out, addrs))
}

/// The paired relationships of a home, read again only when its private document changed. Reading
/// them means hydrating every relationship, which a node would otherwise do on every incoming
/// connection and every local write.
#[derive(Debug, Default)]
pub struct LinkCache {
    /// The private document's version the links were read at, once read.
    version: Option<i64>,
    links: Vec<Link>,
    addrs: Addrs,
}

impl LinkCache {
    /// The paired relationships as of now.
    pub fn get(&mut self, store: &Store) -> Result<&[Link], SyncError> {
        let version = store.doc_version(&DocId::Private).map_err(store_err)?;
        if self.version != Some(version) {
            (self.links, self.addrs) = pairings(store)?;
            self.version = Some(version);
        }
        Ok(&self.links)
    }

    /// The addresses a paired device was last known at.
    pub fn addrs(&mut self, store: &Store, device: DeviceId) -> Result<Vec<SocketAddr>, SyncError> {
        self.get(store)?;
        Ok(self.addrs.get(&device).cloned().unwrap_or_default())
    }

    /// The relationship a device belongs to (only while paired).
    pub fn link_for(&mut self, store: &Store, device: DeviceId) -> Result<Option<Link>, SyncError> {
        Ok(self
            .get(store)?
            .iter()
            .find(|l| l.devices.contains(&device))
            .cloned())
    }
}

/// A sync exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The peer broke the rules; the connection was closed with the reason.
    #[error("refused the peer: {0}")]
    Violation(#[from] Violation),
    /// The connection failed or a frame was bad.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The peer went quiet.
    #[error("the peer stopped answering")]
    Timeout,
    /// The exchange did not settle within the round limit.
    #[error("sync did not settle after {MAX_ROUNDS} rounds")]
    NoConvergence,
    /// The peer sent more frames in one batch than the protocol allows.
    #[error("the peer sent an oversized batch")]
    BatchTooLong,
    /// The store failed.
    #[error("store error: {0}")]
    Store(String),
}

/// What one exchange moved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncStats {
    /// Bytes written to the stream.
    pub sent_bytes: u64,
    /// Bytes read from the stream.
    pub received_bytes: u64,
    /// Changes newly applied to the friend's side.
    pub received_changes: u64,
    /// Round trips.
    pub rounds: u32,
}

/// A copy of every byte sent, for tests that prove what never crossed the wire.
pub type Tap = Mutex<Vec<u8>>;

fn store_err(e: impl std::fmt::Display) -> SyncError {
    SyncError::Store(e.to_string())
}

/// Runs one exchange with `peer` on an open stream. The initiator sends the first batch.
#[allow(clippy::too_many_arguments)]
pub async fn exchange(
    store: &Mutex<Store>,
    me: &DeviceKey,
    link: &Link,
    peer: DeviceId,
    send: &mut SendStream,
    recv: &mut RecvStream,
    initiator: bool,
    tap: Option<&Tap>,
) -> Result<SyncStats, SyncError> {
    let side = DocId::Side(link.rel);
    let replica = DocId::Replica(link.rel);
    let peer_key = peer.to_bytes();
    let mut stats = SyncStats::default();
    // A device that never confirmed holding my side gets it as stored, first thing: no
    // re-encoding, and no need to have loaded it yet (see `Session::offers_snapshot`).
    let (mine_state, mut snapshot) = {
        let store = store.lock().map_err(store_err)?;
        let mine_state = store
            .get_sync_state(&side, &peer_key)
            .map_err(store_err)?
            .unwrap_or_default();
        let snapshot = if Session::offers_snapshot(&mine_state) {
            store.stored_bytes(&side).map_err(store_err)?
        } else {
            None
        };
        (mine_state, snapshot.map(|bytes| Frame::Snapshot { bytes }))
    };
    let offered = snapshot.is_some();
    // The initiator sends first, so its snapshot can travel (and the friend load it) while this
    // side loads its own documents. A responder speaks only after reading the initiator's batch,
    // which keeps the two directions from waiting on each other's flow control.
    if initiator && let Some(f) = snapshot.take() {
        send_frame(send, &f, &mut stats, tap).await?;
    }
    let mut session = {
        let store = store.lock().map_err(store_err)?;
        let mine = store.load(&side).map_err(store_err)?.unwrap_or_default();
        let theirs = store.load(&replica).map_err(store_err)?.unwrap_or_default();
        let theirs_state = store
            .get_sync_state(&replica, &peer_key)
            .map_err(store_err)?
            .unwrap_or_default();
        Session::new(
            mine,
            theirs,
            &mine_state,
            &theirs_state,
            link.devices.iter().copied(),
            peer,
        )
    };
    if offered {
        session.snapshot_sent();
    }
    let mut sent_empty;
    let mut got_empty = false;
    if !initiator {
        got_empty = receive_batch(store, &mut session, link, recv, &mut stats).await?;
    }
    loop {
        let batch = session.batch(me);
        sent_empty = batch.len() == 1 && snapshot.is_none();
        for f in snapshot.take().iter().chain(&batch) {
            send_frame(send, f, &mut stats, tap).await?;
        }
        stats.rounds += 1;
        if !initiator && sent_empty && got_empty {
            break;
        }
        got_empty = receive_batch(store, &mut session, link, recv, &mut stats).await?;
        if initiator && sent_empty && got_empty {
            break;
        }
        if stats.rounds as usize >= MAX_ROUNDS {
            return Err(SyncError::NoConvergence);
        }
    }
    let (mine_state, theirs_state) = session.states();
    let store = store.lock().map_err(store_err)?;
    // One transaction: both sync states and the friend's heads become durable together.
    let settings = store.settings().map_err(store_err)?;
    settings
        .set_sync_state(&side, &peer_key, &mine_state)
        .map_err(store_err)?;
    settings
        .set_sync_state(&replica, &peer_key, &theirs_state)
        .map_err(store_err)?;
    if let Some(signed) = session
        .received_heads()
        .filter(|s| s.verify(session.theirs()))
    {
        let stored = StoredHeads {
            signed: signed.clone(),
            at: chrono_now_ms(),
        };
        let bytes = serde_json::to_vec(&stored).map_err(store_err)?;
        settings
            .set_meta(&heads_key(link.rel), &bytes)
            .map_err(store_err)?;
    }
    settings.commit().map_err(store_err)?;
    Ok(stats)
}

/// Writes one frame, counting it, and copying it to the tap if there is one.
async fn send_frame(
    send: &mut SendStream,
    f: &Frame,
    stats: &mut SyncStats,
    tap: Option<&Tap>,
) -> Result<(), SyncError> {
    stats.sent_bytes += frame::write(send, f).await? as u64;
    if let Some(tap) = tap
        && let Ok(mut t) = tap.lock()
    {
        t.extend_from_slice(&postcard::to_stdvec(f).unwrap_or_default());
    }
    Ok(())
}

fn chrono_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// Reads one batch, applying each frame; persists what arrived before returning. Returns whether
/// the batch was empty.
async fn receive_batch(
    store: &Mutex<Store>,
    session: &mut Session,
    link: &Link,
    recv: &mut RecvStream,
    stats: &mut SyncStats,
) -> Result<bool, SyncError> {
    let before = session.theirs().get_heads();
    let mut frames = 0;
    loop {
        let f: Frame = match tokio::time::timeout(FRAME_TIMEOUT, frame::read(recv, FRAME_CAP)).await
        {
            Ok(r) => r?,
            Err(_) => return Err(SyncError::Timeout),
        };
        stats.received_bytes += frame_len(&f);
        let r = session.receive(f)?;
        stats.received_changes += r.changes as u64;
        if r.end_of_batch {
            break;
        }
        frames += 1;
        if frames >= BATCH_FRAMES {
            return Err(SyncError::BatchTooLong);
        }
    }
    let mut stored = before;
    if let Some(mut whole) = session.take_received_whole() {
        // A first sync: their whole side, stored as it came, without loading it again.
        let heads = whole.document().get_heads();
        let store = store.lock().map_err(store_err)?;
        store
            .apply_saved(&DocId::Replica(link.rel), whole)
            .map_err(store_err)?;
        stored = heads;
    }
    if session.theirs().get_heads() != stored {
        // Durable before we answer: what we acknowledge, we have.
        let bytes = session.theirs().save_after(&stored);
        let store = store.lock().map_err(store_err)?;
        store
            .apply_changes(&DocId::Replica(link.rel), &bytes)
            .map_err(store_err)?;
    }
    Ok(frames == 0)
}

fn frame_len(f: &Frame) -> u64 {
    postcard::to_stdvec(f)
        .map(|v| v.len() as u64 + 4)
        .unwrap_or_default()
}

/// Closes a connection because of a violation, with the reason, and logs it.
pub fn refuse(conn: &Connection, err: &SyncError) {
    match err {
        SyncError::Frame(FrameError::Io(_)) | SyncError::Timeout => {
            tracing::info!(remote = %conn.remote_id().fmt_short(), "sync connection ended: {err}");
        }
        _ => {
            tracing::warn!(remote = %conn.remote_id().fmt_short(), "closing sync connection: {err}")
        }
    }
    let reason = err.to_string();
    conn.close(
        VIOLATION.into(),
        &reason.as_bytes()[..reason.len().min(100)],
    );
}
