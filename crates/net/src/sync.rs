//! One sync exchange over one QUIC stream (ALPNs `tapin/sync/3` and `tapin/sync/2`), wired to
//! the store: load my side (on a first sync, only if the friend does not take my snapshot as it
//! is: [`Session::unloaded`]) and my replica of theirs, run [`tapin_core::sync::Session`] in
//! alternating batches until a round trip carries nothing, and persist what arrived (durably,
//! before answering), the sync states and the friend's signed heads. On `tapin/sync/3` each side
//! first says where it can be dialled ([`Reach`]), and what the friend's device says is stored
//! when it changed. See docs/PROTOCOL.md.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Mutex;

use iroh::endpoint::{Connection, RecvStream, SendStream};
use tapin_core::docs::DocError;
use tapin_core::identity::{DeviceId, DeviceKey};
use tapin_core::pairing::{Reach, ReachError, relay_url};
use tapin_core::sync::{
    Deferred, Frame, Session, SignedHeads, Violation, resume_offset, snapshot_parts,
};
use tapin_core::{DocId, Id, docs};
use tapin_store::{LoadError, MetaKey, OpenError, Store, StoreError, UpdateError};

use crate::Timeouts;
use crate::frame::{self, FrameError};
use crate::shared::{BlockingError, OpenStoreError, SharedStore, off_runtime};
use crate::version::SyncVersion;

/// A sync frame may carry a whole document on first sync; beyond this it is hostile.
pub const FRAME_CAP: u32 = 64 * 1024 * 1024;
/// At most this many frames in one batch (two documents, heads and the end marker, with room).
pub const BATCH_FRAMES: usize = 8;
/// An exchange that has not converged after this many round trips is abandoned.
pub const MAX_ROUNDS: usize = 32;
/// QUIC close code for a peer that broke the protocol.
pub const VIOLATION: u32 = 400;
/// A reach frame is at most 16 addresses and a 256-byte URL; anything near this is hostile.
pub const REACH_CAP: u32 = 2 * 1024;

/// The friend's signed heads as stored, with when they arrived: the value of
/// [`MetaKey::ReplicaHeads`], as JSON.
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
    /// Where each of their devices was last known to be reachable, as stored (the addresses
    /// and relay that do not parse left out).
    pub reach: HashMap<DeviceId, Reach>,
}

impl Link {
    /// Where `device` was last known to be reachable (nothing, if it is not one of theirs).
    pub fn reach_of(&self, device: DeviceId) -> Reach {
        self.reach.get(&device).cloned().unwrap_or_default()
    }
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

/// For each device of a friend this side ended the pairing with (not quietly), the close reason
/// carrying the signed notice its gate answers that device with.
type Notices = Vec<(DeviceId, Vec<u8>)>;

/// Every paired relationship, and the notices of the pairings this side ended.
fn pairings(store: &Store) -> Result<(Vec<Link>, Notices), SyncError> {
    let Some(doc) = store.load(&DocId::Private)? else {
        return Ok((Vec::new(), Vec::new()));
    };
    let private = docs::read_private(&doc).map_err(SyncError::Pairings)?;
    let mut notices = Vec::new();
    for rel in private.relationships.values() {
        let Some(peer) = rel.peer.as_ref().filter(|p| p.unpaired.is_some()) else {
            continue;
        };
        let Some(notice) = &peer.notice else {
            continue;
        };
        for device in peer.devices.keys() {
            if let Ok(device) = device.parse::<DeviceId>() {
                notices.push((device, notice.as_bytes().to_vec()));
            }
        }
    }
    let mut out = Vec::new();
    for (&rel_id, rel) in &private.relationships {
        let mut devices = Vec::new();
        let mut reach = HashMap::new();
        for (device, paired) in rel.paired_devices() {
            let Ok(device) = device.parse::<DeviceId>() else {
                continue;
            };
            devices.push(device);
            // Read nothing on trust: a document may come from an older version or an import.
            let known = Reach {
                addrs: paired
                    .addrs
                    .iter()
                    .filter_map(|a| a.parse::<SocketAddr>().ok())
                    .collect(),
                relay: paired.relay.as_deref().and_then(|r| relay_url(r).ok()),
            };
            reach.insert(device, known.capped());
        }
        if !devices.is_empty() {
            out.push(Link {
                rel: rel_id,
                name: rel.name.clone(),
                devices,
                reach,
            });
        }
    }
    Ok((out, notices))
}

/// The paired relationships of a home, read again only when its private document changed. Reading
/// them means hydrating every relationship, which a node would otherwise do on every incoming
/// connection and every local write.
#[derive(Debug, Default)]
pub struct LinkCache {
    /// The private document's version the links were read at, once read.
    version: Option<i64>,
    links: Vec<Link>,
    notices: Notices,
}

impl LinkCache {
    /// The paired relationships as of now.
    pub fn get(&mut self, store: &Store) -> Result<&[Link], SyncError> {
        let version = store.doc_version(&DocId::Private)?;
        if self.version != Some(version) {
            (self.links, self.notices) = pairings(store)?;
            self.version = Some(version);
        }
        Ok(&self.links)
    }

    /// The close reason carrying the notice that this side ended the pairing with `device`'s
    /// person, if it did so with a notice (and the device is not paired again since).
    pub fn notice_for(
        &mut self,
        store: &Store,
        device: DeviceId,
    ) -> Result<Option<Vec<u8>>, SyncError> {
        if self.link_for(store, device)?.is_some() {
            return Ok(None);
        }
        Ok(self
            .notices
            .iter()
            .find(|(d, _)| *d == device)
            .map(|(_, n)| n.clone()))
    }

    /// Where a paired device was last known to be reachable.
    pub fn reach(&mut self, store: &Store, device: DeviceId) -> Result<Reach, SyncError> {
        Ok(self
            .link_for(store, device)?
            .map(|l| l.reach_of(device))
            .unwrap_or_default())
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

/// A sync exchange failed, or the pairings could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The peer broke the rules; the connection was closed with the reason.
    #[error("refused the peer")]
    Violation(#[from] Violation),
    /// The connection failed or a frame was bad.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The peer went quiet.
    #[error("the peer stopped answering")]
    Timeout,
    /// The connection closed during the exchange: how, in words
    /// (`tapin_net::node::closed_words`).
    #[error("{0}")]
    Closed(String),
    /// The exchange did not settle within the round limit.
    #[error("sync did not settle after {MAX_ROUNDS} rounds")]
    NoConvergence,
    /// The peer sent more frames in one batch than the protocol allows.
    #[error("the peer sent an oversized batch")]
    BatchTooLong,
    /// The peer's reach frame (its addresses and relay) was refused.
    #[error("refused the peer's addresses")]
    BadReach(#[from] ReachError),
    /// The home's store could not be opened.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// A document could not be read.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// A sync state, a meta entry or a version could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// What arrived could not be written to the replica.
    #[error(transparent)]
    Write(#[from] UpdateError<Infallible>),
    /// The private document does not read as tapin's: the pairings are unknown.
    #[error("cannot read the pairings in the private document")]
    Pairings(#[source] DocError),
    /// Where the friend's device can be reached could not be stored.
    #[error("cannot store where the friend's device can be reached")]
    RememberReach(#[source] UpdateError<DocError>),
    /// The friend's signed heads could not be encoded for the store.
    #[error("cannot encode the friend's signed heads")]
    Heads(#[source] serde_json::Error),
    /// Store work handed to a blocking thread did not finish.
    #[error(transparent)]
    Blocking(#[from] BlockingError),
}

impl From<OpenStoreError> for SyncError {
    fn from(err: OpenStoreError) -> Self {
        match err {
            OpenStoreError::Open(e) => SyncError::Open(e),
            OpenStoreError::Blocking(e) => SyncError::Blocking(e),
        }
    }
}

/// Which way an exchange's packets went at its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Path {
    /// Straight between the two devices (a LAN, a reachable address, or a hole punched
    /// through both NATs).
    Direct,
    /// Through a relay: it forwards the encrypted packets and sees who talks to whom, and when.
    Relay,
}

/// The path `conn` sends on now (the one iroh selected among its open paths), if it has one.
pub fn path_of(conn: &iroh::endpoint::Connection) -> Option<Path> {
    conn.paths().iter().find(|p| p.is_selected()).map(|p| {
        if p.is_relay() {
            Path::Relay
        } else {
            Path::Direct
        }
    })
}

/// How the last exchange with a friend went, as stored: the value of [`MetaKey::ReplicaPath`],
/// as JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredPath {
    /// The path it ended on.
    pub path: Path,
    /// When (ms since the epoch).
    pub at: i64,
}

impl StoredPath {
    /// The record as stored, if it is one: a damaged or unknown value is no record.
    pub fn read(store: &Store, rel: Id) -> Result<Option<StoredPath>, StoreError> {
        Ok(store
            .get_meta(MetaKey::ReplicaPath(rel))?
            .and_then(|bytes| serde_json::from_slice(&bytes).ok()))
    }
}

/// Keeps how an exchange with the friend of `rel` went, now, for `show` to tell. Best effort:
/// the exchange itself is durable already, so a failure to note its path is only logged.
pub async fn remember_path(store: &SharedStore, rel: Id, path: Path) {
    let stored = StoredPath {
        path,
        at: chrono_now_ms(),
    };
    let written = store
        .run(move |store| {
            let bytes = serde_json::to_vec(&stored).map_err(|e| e.to_string())?;
            store
                .set_meta(MetaKey::ReplicaPath(rel), &bytes)
                .map_err(|e| crate::chain(&e))
        })
        .await;
    match written {
        Ok(Ok(())) => {}
        Ok(Err(why)) => tracing::debug!("could not note the path of an exchange: {why}"),
        Err(e) => tracing::debug!(
            "could not note the path of an exchange: {}",
            crate::chain(&e)
        ),
    }
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
    /// Whether the friend's device said it can now be reached at other addresses or through
    /// another relay, and that was stored.
    pub learned_reach: bool,
    /// The path the connection used when the exchange ended.
    pub path: Option<Path>,
}

/// What a connection's protocol version adds to the session's frames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wire {
    /// `tapin/sync/2`: the session's frames only, exactly as release c2a9253 speaks it.
    V2,
    /// `tapin/sync/3`: each side's first frame is its [`Reach`]; this side's is `mine`.
    V3 {
        /// Where this device can be dialled now.
        mine: Reach,
    },
    /// `tapin/sync/4`: each side's first frame is its [`Hello`], whose reach is `mine`; a
    /// snapshot travels in parts ([`Frame::SnapshotPart`]) and resumes after an exchange cut
    /// short.
    V4 {
        /// Where this device can be dialled now.
        mine: Reach,
    },
}

impl Wire {
    /// The wire of a version this build syncs on (`None` for one it only answers with
    /// [`crate::version::OUTDATED`]).
    pub fn of(version: SyncVersion, mine: impl FnOnce() -> Reach) -> Option<Wire> {
        match version {
            SyncVersion::V1 => None,
            SyncVersion::V2 => Some(Wire::V2),
            SyncVersion::V3 => Some(Wire::V3 { mine: mine() }),
            SyncVersion::V4 => Some(Wire::V4 { mine: mine() }),
        }
    }
}

/// The first frame of each side on `tapin/sync/4`: where it can be dialled, and what it holds of
/// the other's side, so that the other sends a snapshot only to a replica that holds none of it,
/// and only the part of it not yet received.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Hello {
    /// Where the sender can be dialled, as on `tapin/sync/3`.
    pub reach: Reach,
    /// Whether the sender's replica of the receiver's side holds any of it. If it does,
    /// automerge's sync sends the rest, and a snapshot would be wasted.
    pub holds_yours: bool,
    /// How many bytes of the receiver's snapshot the sender kept from an exchange cut short
    /// (`replica.<id>.staged`), 0 for none.
    pub staged: u64,
    /// Their digest ([`tapin_core::sync::staged_digest`]), all zeros for none.
    pub staged_digest: [u8; 32],
}

/// How long a snapshot arriving in parts may stall before what arrived of it is stored: never on
/// a working link, and well before a lost one ends the exchange.
pub const STALL: std::time::Duration = std::time::Duration::from_secs(1);

/// A hello is a reach and a few fixed fields: anything near this is hostile.
pub const HELLO_CAP: u32 = REACH_CAP + 64;

/// A copy of every byte sent, for tests that prove what never crossed the wire.
pub type Tap = Mutex<Vec<u8>>;

/// What this side knows before the exchange's first frame: read from the store in one go.
struct Opening {
    mine_state: Vec<u8>,
    /// My side as stored, when it may be offered as a snapshot.
    stored: Option<Vec<u8>>,
    /// Bytes of their snapshot kept from an exchange cut short.
    staged: Vec<u8>,
    /// Whether my replica of their side holds any of it.
    holds_theirs: bool,
}

/// Runs one exchange with `peer` on an open stream, in the shape `wire` gives (the version the
/// connection's ALPN chose). The initiator sends the first batch. Each frame read waits at most
/// `timeouts.frame`. Every store call runs on a blocking thread.
///
/// If the exchange fails with parts of their snapshot received, those are kept
/// (`replica.<id>.staged`) for the next exchange to complete.
#[allow(clippy::too_many_arguments)]
pub async fn exchange(
    store: &SharedStore,
    me: &DeviceKey,
    link: &Link,
    peer: DeviceId,
    send: &mut SendStream,
    recv: &mut RecvStream,
    initiator: bool,
    wire: &Wire,
    tap: Option<&Tap>,
    timeouts: &Timeouts,
) -> Result<SyncStats, SyncError> {
    let side = DocId::Side(link.rel);
    let replica = DocId::Replica(link.rel);
    let rel = link.rel;
    let peer_key = peer.to_bytes();
    let mut stats = SyncStats::default();
    let v4 = matches!(wire, Wire::V4 { .. });
    // On sync/3 each side's first frame is its reach: the initiator's opens the exchange, the
    // responder's opens its first batch. On sync/4 both hellos come first of all.
    let (mut my_reach, reach_to_read) = match wire {
        Wire::V2 => (None, false),
        Wire::V3 { mine } => (Some(mine), true),
        Wire::V4 { .. } => (None, false),
    };
    let mut their_reach = None;
    if initiator && let Some(mine) = my_reach.take() {
        send_reach(send, mine, &mut stats, tap).await?;
    }
    // Before sync/4, a device that never confirmed holding my side gets it as stored, first
    // thing: no re-encoding, and no need to have loaded it yet (see `Session::offers_snapshot`).
    // On sync/4 the friend's hello says what it holds instead, and the snapshot waits for it.
    let opening = store
        .run(move |store| -> Result<_, SyncError> {
            let mine_state = store.get_sync_state(&side, &peer_key)?.unwrap_or_default();
            let stored = if !v4 && Session::offers_snapshot(&mine_state) {
                store.stored_bytes(&side)?
            } else {
                None
            };
            let (staged, holds_theirs) = if v4 {
                let staged = store
                    .get_meta(MetaKey::ReplicaStaged(rel))?
                    .unwrap_or_default();
                (staged, store.doc_version(&replica)? != 0)
            } else {
                (Vec::new(), true)
            };
            Ok(Opening {
                mine_state,
                stored,
                staged,
                holds_theirs,
            })
        })
        .await??;
    let Opening {
        mine_state,
        stored,
        staged,
        holds_theirs,
    } = opening;
    let had_staged = !staged.is_empty();
    // Bytes staged for a replica that holds some of their side already are moot.
    let staged = if holds_theirs { Vec::new() } else { staged };
    let mut snapshot: Vec<Frame> = stored
        .map(|bytes| vec![Frame::Snapshot { bytes }])
        .unwrap_or_default();
    // The heads of my side as sent whole in the snapshot, when the session may go without it.
    let mut unloaded = None;
    if let Wire::V4 { mine } = wire {
        let hello = Hello {
            reach: mine.clone(),
            holds_yours: holds_theirs,
            staged: staged.len() as u64,
            staged_digest: if staged.is_empty() {
                [0; 32]
            } else {
                tapin_core::sync::staged_digest(&staged)
            },
        };
        // The initiator's hello opens the exchange; the responder answers it at once, before
        // either sends anything large, so neither waits on the other's flow control.
        if initiator {
            send_hello(send, &hello, &mut stats, tap).await?;
        }
        let theirs = read_hello(recv, &mut stats, timeouts).await?;
        if !initiator {
            send_hello(send, &hello, &mut stats, tap).await?;
        }
        if !theirs.holds_yours {
            let stored = store
                .run(move |store| store.stored_bytes_and_heads(&side))
                .await??;
            if let Some((bytes, heads)) = stored.filter(|(b, _)| !b.is_empty()) {
                let from = resume_offset(&bytes, theirs.staged, &theirs.staged_digest);
                tracing::debug!(
                    staged = theirs.staged,
                    from,
                    total = bytes.len(),
                    "sending my side as a snapshot in parts"
                );
                snapshot = snapshot_parts(&bytes, from);
                // A first sync: the snapshot is my whole side, so unless the friend says it did
                // not take it, my side need not be loaded at all (see `Session::unloaded`).
                if Session::offers_snapshot(&mine_state) {
                    unloaded = Some(heads).filter(|h| !h.is_empty());
                }
            }
        }
        their_reach = Some(theirs.reach.checked()?);
    }
    let offered = !snapshot.is_empty();
    // The initiator sends first, so its snapshot can travel (and the friend load it) while this
    // side loads its own documents. A responder speaks only after reading the initiator's batch,
    // which keeps the two directions from waiting on each other's flow control.
    if initiator {
        for f in snapshot.drain(..) {
            send_frame(send, &f, &mut stats, tap).await?;
        }
    }
    // Loading both documents is the slow part of a store's work here: off the runtime, and the
    // session built there too.
    let devices = link.devices.clone();
    let mut session = store
        .run(move |store| -> Result<_, SyncError> {
            let theirs = store.load(&replica)?.unwrap_or_default();
            let theirs_state = store
                .get_sync_state(&replica, &peer_key)?
                .unwrap_or_default();
            if let Some(heads) = unloaded {
                return Ok(Session::unloaded(
                    heads,
                    theirs,
                    &mine_state,
                    &theirs_state,
                    devices,
                    peer,
                ));
            }
            let mine = store.load(&side)?.unwrap_or_default();
            Ok(Session::new(
                mine,
                theirs,
                &mine_state,
                &theirs_state,
                devices,
                peer,
            ))
        })
        .await??;
    if offered {
        session.snapshot_sent();
    }
    session.stage(staged);
    let rounds = run_rounds(
        store,
        me,
        &mut session,
        link,
        send,
        recv,
        initiator,
        Pending {
            my_reach,
            reach_to_read,
            snapshot,
        },
        &mut their_reach,
        &mut stats,
        tap,
        timeouts,
    )
    .await;
    if let Err(err) = rounds {
        tracing::debug!(staged = session.staged().len(), "exchange failed: {err}");
        if !session.staged().is_empty() {
            // Keep what arrived of their snapshot: the next exchange asks only for the rest.
            let staged = session.staged().to_vec();
            tracing::debug!(
                kept = staged.len(),
                "exchange failed: keeping their snapshot's parts"
            );
            let kept = store
                .run(move |store| store.set_meta(MetaKey::ReplicaStaged(rel), &staged))
                .await;
            if !matches!(kept, Ok(Ok(()))) {
                tracing::debug!("could not keep the parts of a snapshot received");
            }
        }
        return Err(err);
    }
    load_mine_if_needed(store, &mut session, side).await?;
    let (mine_state, theirs_state) = session.states();
    let heads = match session
        .received_heads()
        .filter(|s| s.verify(session.theirs()))
    {
        Some(signed) => {
            let stored = StoredHeads {
                signed: signed.clone(),
                at: chrono_now_ms(),
            };
            Some(serde_json::to_vec(&stored).map_err(SyncError::Heads)?)
        }
        None => None,
    };
    store
        .run(move |store| -> Result<(), SyncError> {
            // One transaction: both sync states and the friend's heads become durable together.
            let settings = store.settings()?;
            settings.set_sync_state(&side, &peer_key, &mine_state)?;
            settings.set_sync_state(&replica, &peer_key, &theirs_state)?;
            if let Some(bytes) = heads {
                settings.set_meta(MetaKey::ReplicaHeads(rel), &bytes)?;
            }
            if had_staged {
                // Taken into the replica (or made moot by it): nothing to resume.
                settings.set_meta(MetaKey::ReplicaStaged(rel), &[])?;
            }
            Ok(settings.commit()?)
        })
        .await??;
    if let Some(theirs) = their_reach {
        stats.learned_reach = remember_reach(store, me, link, peer, theirs).await?;
    }
    Ok(stats)
}

/// What is still to be sent or read at the start of an exchange's rounds.
struct Pending<'a> {
    /// My reach frame, if it opens my first batch (a sync/3 responder's).
    my_reach: Option<&'a Reach>,
    /// Whether the friend's reach frame opens their first batch.
    reach_to_read: bool,
    /// My snapshot frames, if they open my first batch (a responder's).
    snapshot: Vec<Frame>,
}

/// The exchange's batches, alternating until a round trip carries nothing.
#[allow(clippy::too_many_arguments)]
async fn run_rounds(
    store: &SharedStore,
    me: &DeviceKey,
    session: &mut Session,
    link: &Link,
    send: &mut SendStream,
    recv: &mut RecvStream,
    initiator: bool,
    pending: Pending<'_>,
    their_reach: &mut Option<Reach>,
    stats: &mut SyncStats,
    tap: Option<&Tap>,
    timeouts: &Timeouts,
) -> Result<(), SyncError> {
    let Pending {
        mut my_reach,
        mut reach_to_read,
        mut snapshot,
    } = pending;
    let mut sent_empty;
    let mut got_empty = false;
    if !initiator {
        if reach_to_read {
            *their_reach = Some(read_reach(recv, stats, timeouts).await?);
            reach_to_read = false;
        }
        got_empty = receive_batch(store, session, link, recv, stats, timeouts).await?;
    }
    loop {
        load_mine_if_needed(store, session, DocId::Side(link.rel)).await?;
        let batch = session.batch(me);
        sent_empty = batch.len() == 1 && snapshot.is_empty();
        if let Some(mine) = my_reach.take() {
            send_reach(send, mine, stats, tap).await?;
        }
        for f in snapshot.drain(..).chain(batch) {
            send_frame(send, &f, stats, tap).await?;
        }
        stats.rounds += 1;
        if !initiator && sent_empty && got_empty {
            break;
        }
        if reach_to_read {
            *their_reach = Some(read_reach(recv, stats, timeouts).await?);
            reach_to_read = false;
        }
        got_empty = receive_batch(store, session, link, recv, stats, timeouts).await?;
        if initiator && sent_empty && got_empty {
            break;
        }
        if stats.rounds as usize >= MAX_ROUNDS {
            return Err(SyncError::NoConvergence);
        }
    }
    Ok(())
}

/// Loads my side into a session that went without it ([`Session::unloaded`]) once the friend
/// said something of it that only automerge can answer: my side as stored now, so that whatever
/// was written to it meanwhile goes out too.
async fn load_mine_if_needed(
    store: &SharedStore,
    session: &mut Session,
    side: DocId,
) -> Result<(), SyncError> {
    if !session.needs_mine() {
        return Ok(());
    }
    tracing::debug!("the friend did not take my snapshot as it is: loading my side");
    let mine = store.run(move |store| store.load(&side)).await??;
    session.set_mine(mine.unwrap_or_default())?;
    Ok(())
}

/// Writes this side's hello (its first frame on `tapin/sync/4`).
async fn send_hello(
    send: &mut SendStream,
    hello: &Hello,
    stats: &mut SyncStats,
    tap: Option<&Tap>,
) -> Result<(), SyncError> {
    stats.sent_bytes += frame::write(send, hello).await? as u64;
    if let Some(tap) = tap
        && let Ok(mut t) = tap.lock()
    {
        t.extend_from_slice(&postcard::to_stdvec(hello).unwrap_or_default());
    }
    Ok(())
}

/// Reads the friend's hello (its first frame on `tapin/sync/4`); its reach is checked by the
/// caller.
async fn read_hello(
    recv: &mut RecvStream,
    stats: &mut SyncStats,
    timeouts: &Timeouts,
) -> Result<Hello, SyncError> {
    let hello: Hello =
        match tokio::time::timeout(timeouts.frame, frame::read(recv, HELLO_CAP)).await {
            Ok(r) => r?,
            Err(_) => return Err(SyncError::Timeout),
        };
    stats.received_bytes += postcard::to_stdvec(&hello)
        .map(|v| v.len() as u64 + 4)
        .unwrap_or_default();
    Ok(hello)
}

/// Writes this side's reach frame.
async fn send_reach(
    send: &mut SendStream,
    mine: &Reach,
    stats: &mut SyncStats,
    tap: Option<&Tap>,
) -> Result<(), SyncError> {
    stats.sent_bytes += frame::write(send, mine).await? as u64;
    if let Some(tap) = tap
        && let Ok(mut t) = tap.lock()
    {
        t.extend_from_slice(&postcard::to_stdvec(mine).unwrap_or_default());
    }
    Ok(())
}

/// Reads and checks the friend's reach frame (its first frame on `tapin/sync/3`).
async fn read_reach(
    recv: &mut RecvStream,
    stats: &mut SyncStats,
    timeouts: &Timeouts,
) -> Result<Reach, SyncError> {
    let reach: Reach =
        match tokio::time::timeout(timeouts.frame, frame::read(recv, REACH_CAP)).await {
            Ok(r) => r?,
            Err(_) => return Err(SyncError::Timeout),
        };
    stats.received_bytes += postcard::to_stdvec(&reach)
        .map(|v| v.len() as u64 + 4)
        .unwrap_or_default();
    Ok(reach.checked()?)
}

/// What is known of a device after it said `theirs`: addresses it gave replace the known ones,
/// and so does a relay it gave; what it left out (no addresses, no relay) stays as it was.
fn updated(known: &Reach, theirs: &Reach) -> Reach {
    Reach {
        addrs: if theirs.addrs.is_empty() {
            known.addrs.clone()
        } else {
            theirs.addrs.clone()
        },
        relay: theirs.relay.clone().or_else(|| known.relay.clone()),
    }
}

/// Stores where the friend's device `peer` says it can be dialled (already checked), when that
/// changes what the store holds: one small write to that device's entry in the private document,
/// and nothing else. This is the only write the network makes to the private document. Returns
/// whether it wrote.
async fn remember_reach(
    store: &SharedStore,
    me: &DeviceKey,
    link: &Link,
    peer: DeviceId,
    theirs: Reach,
) -> Result<bool, SyncError> {
    let known = link.reach_of(peer);
    if updated(&known, &theirs) == known {
        // The common case, decided without a transaction.
        return Ok(false);
    }
    let (rel, actor) = (link.rel, me.actor());
    store
        .run(move |store| {
            store.update(&DocId::Private, &actor, |d| {
                let Some(mut rel_now) = docs::get_relationship(d, rel)? else {
                    return Ok(false);
                };
                let Some(device) = rel_now
                    .peer
                    .as_mut()
                    .filter(|p| p.unpaired.is_none())
                    .and_then(|p| p.devices.get_mut(&peer.to_string()))
                else {
                    // Unpaired meanwhile: nothing to keep current.
                    return Ok(false);
                };
                let addrs: Vec<String> = if theirs.addrs.is_empty() {
                    device.addrs.clone()
                } else {
                    theirs.addrs.iter().map(ToString::to_string).collect()
                };
                let relay = theirs.relay.clone().or_else(|| device.relay.clone());
                if device.addrs == addrs && device.relay == relay {
                    return Ok(false);
                }
                device.addrs = addrs;
                device.relay = relay;
                docs::put_relationship(d, rel, &rel_now)?;
                Ok::<_, DocError>(true)
            })
        })
        .await?
        .map_err(SyncError::RememberReach)
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
    store: &SharedStore,
    session: &mut Session,
    link: &Link,
    recv: &mut RecvStream,
    stats: &mut SyncStats,
    timeouts: &Timeouts,
) -> Result<bool, SyncError> {
    let before = session.theirs().get_heads();
    let mut frames = 0;
    // The bytes of snapshot parts in this batch: however the parts are placed, no more than one
    // snapshot's cap (a replica that holds their side already ignores parts, so the session's
    // own bound on a snapshot's length does not apply to those).
    let mut part_bytes: u64 = 0;
    // How much of their snapshot the store holds: what the session was given at its start.
    let mut kept = session.staged().len();
    loop {
        let mut read = std::pin::pin!(tokio::time::timeout(
            timeouts.frame,
            frame::read::<Frame>(recv, FRAME_CAP)
        ));
        let read = if session.staged().len() > kept {
            match tokio::time::timeout(STALL, &mut read).await {
                Ok(read) => read,
                Err(_) => {
                    // Their snapshot stalled mid-way: keep what arrived now, while the link may
                    // be gone, so that a reconnect (perhaps while this exchange still waits)
                    // asks only for the rest.
                    let staged = session.staged().to_vec();
                    kept = staged.len();
                    tracing::debug!(kept, "their snapshot stalled: keeping what arrived");
                    let rel = link.rel;
                    store
                        .run(move |store| store.set_meta(MetaKey::ReplicaStaged(rel), &staged))
                        .await??;
                    read.await
                }
            }
        } else {
            read.await
        };
        let f = match read {
            Ok(r) => r?,
            Err(_) => return Err(SyncError::Timeout),
        };
        let len = frame_len(&f);
        stats.received_bytes += len;
        // A snapshot in parts is held to the cap of a snapshot in one frame, not to the count of
        // frames in a batch.
        let part = match &f {
            Frame::SnapshotPart { total, .. } if *total > u64::from(FRAME_CAP) => {
                return Err(FrameError::TooLarge {
                    len: u32::try_from(*total).unwrap_or(u32::MAX),
                    cap: FRAME_CAP,
                }
                .into());
            }
            Frame::SnapshotPart { .. } => true,
            _ => false,
        };
        if part {
            part_bytes += len;
            if part_bytes > u64::from(FRAME_CAP) {
                return Err(FrameError::TooLarge {
                    len: u32::try_from(part_bytes).unwrap_or(u32::MAX),
                    cap: FRAME_CAP,
                }
                .into());
            }
        }
        let r = match session.receive_deferred(f)? {
            Deferred::Done(r) => r,
            // Their snapshot is whole: loading and checking it is a full load, off the runtime
            // (not on the store's thread either: the store has nothing to do with it).
            Deferred::Check(check) => {
                let checked = off_runtime(move || check.run()).await?;
                session.take_checked(checked)?
            }
        };
        stats.received_changes += r.changes as u64;
        if r.end_of_batch {
            break;
        }
        if !part {
            frames += 1;
        }
        if frames >= BATCH_FRAMES {
            return Err(SyncError::BatchTooLong);
        }
    }
    let mut stored = before;
    let replica = DocId::Replica(link.rel);
    if let Some(mut whole) = session.take_received_whole() {
        // A first sync: their whole side, stored as it came, without loading it again.
        let heads = whole.document().get_heads();
        store
            .run(move |store| store.apply_saved(&replica, whole))
            .await??;
        stored = heads;
    }
    if session.theirs().get_heads() != stored {
        // Durable before we answer: what we acknowledge, we have.
        let bytes = session.theirs().save_after(&stored);
        store
            .run(move |store| store.apply_changes(&replica, &bytes))
            .await??;
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
    let reason = crate::chain(err);
    match err {
        SyncError::Frame(FrameError::Io(_)) | SyncError::Timeout => {
            tracing::info!(remote = %conn.remote_id().fmt_short(), "sync connection ended: {reason}");
        }
        _ => {
            tracing::warn!(remote = %conn.remote_id().fmt_short(), "closing sync connection: {reason}")
        }
    }
    // A close reason must fit one packet: cut at a character boundary.
    let mut end = reason.len().min(100);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    conn.close(VIOLATION.into(), &reason.as_bytes()[..end]);
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use iroh::RelayUrl;
    use proptest::prelude::*;
    use tapin_core::pairing::{
        InviteId, JoinRequest, JoinRequestV1, MAX_ADDRS, MAX_RELAY, Reach, ReachError, relay_url,
    };

    use super::{REACH_CAP, updated};
    use crate::frame::{self, FrameError};

    fn v6(i: u16) -> SocketAddr {
        SocketAddr::from(([0x2001, 0xdb8, 0, 0, 0, 0, 0, i], 65535))
    }

    /// The largest reach a device may send.
    fn largest() -> Reach {
        Reach {
            addrs: (1..=MAX_ADDRS as u16).map(v6).collect(),
            relay: Some(format!(
                "https://{}",
                "r".repeat(MAX_RELAY - "https://".len())
            )),
        }
    }

    #[test]
    fn the_largest_reach_fits_its_frame_cap_with_room() {
        let bytes = postcard::to_stdvec(&largest()).unwrap();
        assert!(
            bytes.len() * 2 < REACH_CAP as usize,
            "{} bytes",
            bytes.len()
        );
    }

    #[test]
    fn a_reach_frame_decodes_exactly_and_is_checked() {
        let good = Reach {
            addrs: vec!["10.99.1.2:4433".parse().unwrap()],
            relay: Some("http://10.99.0.1:3340".to_owned()),
        };
        let bytes = postcard::to_stdvec(&good).unwrap();
        let back: Reach = frame::decode(&bytes).unwrap();
        assert_eq!(
            back.checked().unwrap().relay.as_deref(),
            Some("http://10.99.0.1:3340/")
        );

        // Anything after the message is refused, so no frame passes for another shape.
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            frame::decode::<Reach>(&longer),
            Err(FrameError::Decode(_))
        ));
        assert!(frame::decode::<Reach>(&bytes[..bytes.len() - 1]).is_err());

        let mut many = largest();
        many.addrs.push(v6(999));
        let back: Reach = frame::decode(&postcard::to_stdvec(&many).unwrap()).unwrap();
        assert_eq!(back.checked(), Err(ReachError::TooManyAddrs(MAX_ADDRS + 1)));

        for relay in [
            "relay.example.org",
            "http://relay.example.org:0",
            "file:///etc/passwd",
        ] {
            let bad = Reach {
                addrs: vec![],
                relay: Some(relay.to_owned()),
            };
            let back: Reach = frame::decode(&postcard::to_stdvec(&bad).unwrap()).unwrap();
            assert!(
                matches!(back.checked(), Err(ReachError::BadRelay(_))),
                "{relay}"
            );
        }
    }

    #[test]
    fn the_two_join_request_shapes_never_pass_for_each_other() {
        let v2 = JoinRequest {
            invite: InviteId([1; 16]),
            name: "Jordan".to_owned(),
            cert: vec![7; 150],
            proof: [3; 32],
            addrs: vec!["10.99.2.2:4433".parse().unwrap()],
            relay: Some("http://10.99.0.1:3340/".to_owned()),
        };
        let v1 = JoinRequestV1::from(v2.clone());
        let v1_bytes = postcard::to_stdvec(&v1).unwrap();
        let v2_bytes = postcard::to_stdvec(&v2).unwrap();
        assert_eq!(frame::decode::<JoinRequestV1>(&v1_bytes).unwrap(), v1);
        assert_eq!(frame::decode::<JoinRequest>(&v2_bytes).unwrap(), v2);
        assert!(frame::decode::<JoinRequest>(&v1_bytes).is_err());
        assert!(frame::decode::<JoinRequestV1>(&v2_bytes).is_err());
    }

    #[test]
    fn what_a_device_says_replaces_what_it_gives_and_keeps_what_it_leaves_out() {
        let known = Reach {
            addrs: vec!["10.0.0.1:1".parse().unwrap()],
            relay: Some("http://a/".to_owned()),
        };
        let moved = Reach {
            addrs: vec!["10.0.0.2:2".parse().unwrap()],
            relay: None,
        };
        assert_eq!(
            updated(&known, &moved),
            Reach {
                addrs: moved.addrs.clone(),
                relay: known.relay.clone()
            }
        );
        let relay_only = Reach {
            addrs: vec![],
            relay: Some("http://b/".to_owned()),
        };
        assert_eq!(
            updated(&known, &relay_only),
            Reach {
                addrs: known.addrs.clone(),
                relay: relay_only.relay.clone()
            }
        );
        assert_eq!(updated(&known, &Reach::default()), known);
    }

    /// A reach frame as it may arrive: a valid one, then mutated the way a broken or hostile
    /// peer would (bytes flipped, cut, inserted), so decoding gets past the first byte.
    fn mutated_reach() -> impl Strategy<Value = Vec<u8>> {
        let addr = (any::<[u8; 4]>(), any::<u16>()).prop_map(|(ip, p)| SocketAddr::from((ip, p)));
        let reach = (
            proptest::collection::vec(addr, 0..24),
            proptest::option::of("(?i)https?://[a-z0-9.:\\[\\]-]{0,40}(/[a-z/]{0,10})?"),
        )
            .prop_map(|(addrs, relay)| Reach { addrs, relay });
        (
            reach,
            proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 0..4),
        )
            .prop_map(|(reach, edits)| {
                let mut bytes = postcard::to_stdvec(&reach).unwrap_or_default();
                for (at, byte, kind) in edits {
                    let at = at % (bytes.len() + 1);
                    match kind {
                        0 if at < bytes.len() => bytes[at] = byte,
                        1 => bytes.truncate(at),
                        _ => bytes.insert(at, byte),
                    }
                }
                bytes
            })
    }

    /// Cases per property: 2,000 in the suite; `TAPIN_FUZZ_CASES` for a longer run (see
    /// docs/FUZZING.md).
    fn cases() -> u32 {
        std::env::var("TAPIN_FUZZ_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(2_000)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

        #[test]
        fn fuzz_a_reach_frame_is_refused_or_yields_only_what_a_device_could_be_dialled_at(
            bytes in mutated_reach(),
        ) {
            if let Ok(reach) = frame::decode::<Reach>(&bytes)
                && let Ok(checked) = reach.checked()
            {
                prop_assert!(checked.addrs.len() <= MAX_ADDRS);
                for a in &checked.addrs {
                    prop_assert!(a.port() != 0 && !a.ip().is_unspecified() && !a.ip().is_multicast());
                }
                if let Some(relay) = &checked.relay {
                    prop_assert!(relay.parse::<RelayUrl>().is_ok(), "iroh cannot use {relay}");
                }
            }
        }

        #[test]
        fn every_relay_url_tapin_accepts_is_one_iroh_accepts(
            url in "(?i)https?://([a-z0-9-]{1,12}\\.){0,3}[a-z0-9-]{1,12}(:[0-9]{1,5})?(/[a-zA-Z0-9/%._~-]{0,20})?",
        ) {
            if let Ok(canonical) = relay_url(&url) {
                prop_assert!(canonical.parse::<RelayUrl>().is_ok(), "iroh cannot use {canonical}");
            }
        }

        #[test]
        fn fuzz_random_bytes_never_panic_a_reach_or_join_request_decoder(
            bytes in proptest::collection::vec(any::<u8>(), 0..600),
        ) {
            let _ = frame::decode::<Reach>(&bytes).map(Reach::checked);
            let _ = frame::decode::<JoinRequest>(&bytes).map(|r| r.reach());
            let _ = frame::decode::<JoinRequestV1>(&bytes);
        }
    }
}
