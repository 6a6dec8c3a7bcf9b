//! The node: iroh's `Router` on the caller's endpoint, with one protocol handler per ALPN family
//! (sync, pairing) as its [`Options`] ask. Behind `tapin serve` it accepts paired devices, dials
//! friends at their last known addresses and relay with backoff, pushes local changes — including
//! those written by other processes on the same home — to connected friends as they happen, and
//! answers joiners for an invitation opened in its process. Behind `tapin invite` it answers
//! joiners. Also the one-shot [`sync_once`] behind `tapin sync`.
//!
//! A device may have several endpoints at once (its node, and a command beside it that could not
//! take the home's port), so a node keeps every live connection of a friend's device, pushes to
//! each, and never closes one the friend dialled for being a second one.
//!
//! Both speak every sync version this build knows: a connection runs the version its handshake
//! chose (`tapin/sync/3`, or `tapin/sync/2` with release c2a9253), and one that chose
//! `tapin/sync/1` is closed at once with [`version::OUTDATED`], saying so on both sides.
//!
//! The node takes its endpoint, its home and its shutdown signal from the caller and never binds a
//! socket itself, so tests own their ports.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use iroh::Endpoint;
use iroh::endpoint::{ConnectError, ConnectOptions, Connection};
use iroh::protocol::{AcceptError, ProtocolHandler, Router};
use tapin_core::Id;
use tapin_core::identity::{DeviceCertificate, DeviceId, DeviceKey};
use tapin_core::pairing::Reach;
use tapin_store::CacheStats;

use crate::endpoint::{self, Advertise, DialError, Relay};
use crate::frame::FrameError;
use crate::invitations::{OpenInvitations, PairHandler};
use crate::shared::{BlockingError, OpenStoreError, SharedStore, off_runtime};
use crate::sync::{self, Link, LinkCache, SyncError, SyncStats, Wire};
use crate::version::{self, SyncVersion};
use crate::{
    PAIR_ALPNS, SYNC_ALPN, SYNC_ALPN_V1, SYNC_ALPN_V2, SYNC_ALPN_V3, SYNC_ALPNS, Timeouts,
};

mod once;
mod watcher;

pub use once::sync_once;

/// What a node says about itself, and how it may dial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Local {
    /// This person's name, for the message a friend on an older tapin reads.
    pub name: String,
    /// This home's relay setting: whether it can dial through a friend's relay at all, and which
    /// relay it tells friends about.
    pub relay: Relay,
    /// Which direct addresses it tells friends about.
    pub advertise: Advertise,
    /// Whether it looks for friends on the local network (mDNS), so a friend at a new address
    /// there can still be found.
    pub mdns: bool,
}

/// Why a friend was not synced with. `Clone` (for [`Event`]), so the causes it carries are
/// shared.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Unsynced {
    /// Their tapin speaks only a sync version this build no longer syncs on.
    #[error("{name}'s tapin is older; they need to update to sync with you")]
    TheirsOlder {
        /// The friend.
        name: String,
    },
    /// Their tapin no longer syncs on any version this build offered: it closed the connection
    /// with [`version::OUTDATED`].
    #[error("{name}'s tapin is newer and no longer syncs with this version; update tapin")]
    TheirsNewer {
        /// The friend.
        name: String,
    },
    /// Not reachable at their addresses, and they have a relay this home cannot use because it
    /// has no relay of its own.
    #[error(
        "not reachable at their addresses; they can also be reached through their relay {relay}, \
         but this home uses no relay (relay: none): sync with `--relay default` or `--relay URL`"
    )]
    RelayOff {
        /// Their relay.
        relay: String,
        /// Why the addresses failed.
        #[source]
        source: Arc<DialError>,
    },
    /// Not reachable at the addresses this home knows for them, and it did not look further:
    /// local-network discovery (mDNS) is off and no relay leads to them.
    #[error(
        "not reachable at the addresses you know for them ({addrs}), and tapin did not look for \
         them on this network because local-network discovery is off (mdns: off); if they moved \
         to a new address here, sync with `--mdns listen`"
    )]
    NotLookedFor {
        /// The addresses tried.
        addrs: String,
        /// Why they failed.
        #[source]
        source: Arc<DialError>,
    },
    /// Something answered at their address, but it does not serve tapin sync.
    #[error(
        "not reachable now: what answers at their address does not serve tapin sync (another \
         tapin command such as `tapin invite`, or another program, may be using their port)"
    )]
    NotServing,
    /// None of their devices could be reached.
    #[error("not reachable now")]
    Unreachable(#[source] Arc<DialError>),
    /// Their device ended the pairing with a notice ([`endpoint::ENDED`]): the close reason,
    /// which carries the signed notice, for the caller to check and record.
    #[error("{name} ended the pairing")]
    Ended {
        /// The friend.
        name: String,
        /// The close reason their device sent.
        reason: Arc<Vec<u8>>,
    },

    /// Reached, but the exchange failed.
    #[error("sync failed")]
    Failed(#[source] Arc<SyncError>),
}

impl Unsynced {
    /// Whether this is a version difference (the message then names the friend itself).
    pub fn is_version(&self) -> bool {
        matches!(
            self,
            Unsynced::TheirsOlder { .. } | Unsynced::TheirsNewer { .. }
        )
    }

    /// Which of two reasons to report for a friend with several devices: the one that tells the
    /// person most about what to do.
    fn rank(&self) -> u8 {
        match self {
            Unsynced::Ended { .. } => 6,
            Unsynced::TheirsOlder { .. } | Unsynced::TheirsNewer { .. } => 5,
            Unsynced::Failed(_) => 4,
            Unsynced::RelayOff { .. } | Unsynced::NotLookedFor { .. } => 3,
            Unsynced::NotServing => 2,
            Unsynced::Unreachable { .. } => 1,
        }
    }

    /// Why the friend's device closed a sync connection, when it closed it because it no longer
    /// pairs with this one: [`Unsynced::Ended`] with their notice, or, refused as a device it
    /// does not know ([`endpoint::REFUSED`]: they ended the pairing quietly, or are unpairing
    /// right now), exactly what a device that does not answer gives, which is what `unpair
    /// --quietly` promises the friend sees.
    fn of_close(
        err: &iroh::endpoint::ConnectionError,
        name: &str,
        offline: impl FnOnce() -> Unsynced,
    ) -> Option<Unsynced> {
        let iroh::endpoint::ConnectionError::ApplicationClosed(close) = err else {
            return None;
        };
        let code = close.error_code.into_inner();
        if code == u64::from(endpoint::ENDED) {
            Some(Unsynced::Ended {
                name: name.to_owned(),
                reason: Arc::new(close.reason.to_vec()),
            })
        } else if code == u64::from(endpoint::REFUSED) {
            Some(offline())
        } else {
            None
        }
    }
}

/// Something the node reports as it runs (for logs and the CLI's progress lines).
#[derive(Debug, Clone)]
pub enum Event {
    /// A friend's device connected or was dialled.
    Connected {
        /// The friend.
        name: String,
        /// Their device.
        device: DeviceId,
    },
    /// An exchange finished.
    Synced {
        /// The friend.
        name: String,
        /// Their device.
        device: DeviceId,
        /// What moved.
        stats: SyncStats,
    },
    /// A connection ended.
    Disconnected {
        /// The friend.
        name: String,
        /// Why.
        reason: String,
    },
    /// A friend's device speaks only a version this build no longer syncs on, or no longer syncs
    /// on any version this build speaks. Reported once per device until it syncs again.
    Version(Unsynced),
    /// A friend's device answered with the notice that its person ended the pairing: the
    /// front-end checks it against their person key and records it, and the node stops dialling
    /// them once the store says so.
    Ended {
        /// The relationship.
        rel: Id,
        /// The friend.
        name: String,
        /// The close reason, which carries the signed notice.
        reason: Arc<Vec<u8>>,
    },
}

struct Peer {
    conn: Connection,
    /// The version the handshake chose (one this build syncs on).
    version: SyncVersion,
    /// When it was registered: only connections this recent can be the two halves of a
    /// simultaneous dial.
    since: tokio::time::Instant,
    link: Link,
    /// One exchange at a time per connection from this side.
    busy: Arc<tokio::sync::Mutex<()>>,
}

struct Shared {
    /// A std Mutex, not a Tokio one: store calls are synchronous and never span an await.
    store: SharedStore,
    /// The paired relationships, for the accept path: a std Mutex, locked only inside the store's
    /// blocking work (after the store's own lock), never across an await.
    links: Arc<Mutex<LinkCache>>,
    me: DeviceKey,
    ep: Endpoint,
    local: Local,
    timeouts: Timeouts,
    /// The live connections with each friend device: a device may have several endpoints (its
    /// node, and a `tapin sync` or pairing command beside it), so several connections.
    peers: Mutex<HashMap<[u8; 32], Vec<Arc<Peer>>>>,
    /// Devices already reported as on another version (until they sync again), so a dial every
    /// minute does not repeat it.
    told: Mutex<HashSet<[u8; 32]>>,
    /// The devices an exchange finished with since the node started.
    exchanged: tokio::sync::watch::Sender<HashSet<[u8; 32]>>,
    events: Option<tokio::sync::mpsc::UnboundedSender<Event>>,
    /// Turns to answer a friend's exchange, and to start one (a push): see
    /// [`EXCHANGES_AT_ONCE`].
    answers: Arc<tokio::sync::Semaphore>,
    pushes: Arc<tokio::sync::Semaphore>,
    /// Exchanges running or waiting for a turn: when it falls to 0 the node is quiet, and says
    /// what its store's cache holds ([`STATS`]).
    active: Arc<AtomicUsize>,
}

/// The target of the line a node logs at INFO whenever its last exchange ends: what its store
/// keeps of documents and how many reads it served from memory (`TAPIN_LOG=tapin_net::stats=info`).
pub const STATS: &str = "tapin_net::stats";

/// How many exchanges a node answers at once, and how many it starts at once; the others wait for
/// a turn, their connections open.
///
/// Answers and pushes take turns apart so that no two nodes can wait on each other: an answer
/// waits only on the friend's side of the same exchange, whose push already holds its turn there.
/// With one pool, two nodes each pushing to the other with every turn would wait until the frame
/// timeout.
///
/// Every store call of an exchange already takes turns on the store's one lock, and a 2-core
/// device gains nothing from more than a few exchanges loading and merging at once; but each one
/// running holds its session (both documents, both sync states) and its blocking thread, and the
/// allocator keeps the peak. 150 friends syncing at once took `tapin serve` from 39 to 110 MiB
/// and on by 12–26 MiB a round (docs/PERFORMANCE.md, section 4).
const EXCHANGES_AT_ONCE: usize = 4;

/// The most documents a node's store keeps in memory: the two of every exchange that may run at
/// once (my side and my replica of theirs, in both pools of [`EXCHANGES_AT_ONCE`]).
///
/// An exchange reads both documents, then writes what arrived into the replica, and the write
/// finds it still in memory; the next exchange with the same friend comes minutes later, after
/// others. A node that kept every document it read (all 301 of the 150-friend bench, within the
/// store's 8 MiB budget) grew with every change its friends made, about 0.5 MiB a round, and the
/// freed encoders of their compactions were trapped between them; bounded to what is in flight,
/// it loads each friend's documents afresh per exchange (docs/PERFORMANCE.md, section 4).
pub const DOCUMENTS_KEPT: usize = 2 * 2 * EXCHANGES_AT_ONCE;

/// How many friend devices a node dials at once; the others due stay due, and are dialled as
/// earlier dials end.
///
/// A dial holds a QUIC connection in its handshake (tens of KiB in noq and iroh) and its task
/// until it connects or times out ([`Timeouts::dial`]), and a node dials every paired device it
/// is not connected to, at once when it starts and again right after each one disconnects: 150
/// friends who sync with `tapin sync` and leave meant 150 dials in flight after every round,
/// about 35 MiB of live heap at the moment, and more kept by the allocator afterwards.
const DIALS_AT_ONCE: usize = 8;

/// One exchange's turn: held while it runs; the node's cache line is logged when the last ends.
struct Turn {
    _permit: Option<tokio::sync::OwnedSemaphorePermit>,
    active: Arc<AtomicUsize>,
    store: SharedStore,
}

impl Drop for Turn {
    fn drop(&mut self) {
        if self.active.fetch_sub(1, Ordering::AcqRel) == 1
            && tracing::enabled!(target: STATS, tracing::Level::INFO)
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            let store = self.store.clone();
            rt.spawn(async move {
                if let Ok(c) = store.run(|s| s.cache_stats()).await {
                    tracing::info!(
                        target: STATS,
                        hits = c.hits,
                        misses = c.misses,
                        documents = c.documents,
                        bytes = c.bytes,
                        budget = c.budget,
                        evictions = c.evictions,
                        oversized = c.oversized,
                        "quiet; store cache hit rate {:.1}%",
                        c.hit_rate().unwrap_or(0.0) * 100.0
                    );
                }
            });
        }
    }
}

impl Shared {
    /// Waits for a turn to run an exchange from `pool` ([`EXCHANGES_AT_ONCE`]).
    async fn turn(&self, pool: &Arc<tokio::sync::Semaphore>) -> Turn {
        self.active.fetch_add(1, Ordering::AcqRel);
        Turn {
            // The semaphore is never closed, so a permit always comes.
            _permit: pool.clone().acquire_owned().await.ok(),
            active: self.active.clone(),
            store: self.store.clone(),
        }
    }

    fn emit(&self, e: Event) {
        if let Some(tx) = &self.events {
            let _ = tx.send(e);
        }
    }

    /// Reports a version difference with `device`, once until it syncs again.
    fn tell_version(&self, device: DeviceId, what: Unsynced) {
        tracing::info!(device = %device, "{what}");
        let first = self
            .told
            .lock()
            .map(|mut told| told.insert(device.to_bytes()))
            .unwrap_or(true);
        if first {
            self.emit(Event::Version(what));
        }
    }

    /// Reports an exchange with `device` (a sync: any version difference is over).
    fn synced(&self, device: DeviceId, link: &Link, stats: SyncStats) {
        if let Some(path) = stats.path {
            let (store, rel) = (self.store.clone(), link.rel);
            tokio::spawn(async move { sync::remember_path(&store, rel, path).await });
        }
        let name = &link.name;
        if let Ok(mut told) = self.told.lock() {
            told.remove(&device.to_bytes());
        }
        self.exchanged
            .send_if_modified(|done| done.insert(device.to_bytes()));
        self.emit(Event::Synced {
            name: name.to_owned(),
            device,
            stats,
        });
    }

    /// The wire for an exchange with `peer`: its version, with this device's reach as of now.
    fn wire(&self, peer: &Peer) -> Wire {
        Wire::of(peer.version, || {
            endpoint::my_reach(&self.ep, &self.local.relay, self.local.advertise)
        })
        .unwrap_or(Wire::V2)
    }

    /// The relationship `device` is paired through, as the store has it now (its devices' reach
    /// included); `None` if it is not paired, or the store cannot say.
    async fn link_for(&self, device: DeviceId) -> Option<Link> {
        let links = self.links.clone();
        let found = self
            .store
            .run(move |store| {
                links
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .link_for(store, device)
            })
            .await;
        match found.map_err(SyncError::from).and_then(|link| link) {
            Ok(link) => link,
            Err(err) => {
                tracing::warn!(device = %device, "cannot read pairings: {}", crate::chain(&err));
                None
            }
        }
    }

    /// The friend's relationship as the store has it now, or as it was when the connection was
    /// made if it cannot be read.
    async fn current_link(&self, peer: &Peer, device: DeviceId) -> Link {
        self.link_for(device)
            .await
            .unwrap_or_else(|| peer.link.clone())
    }
}

fn device_of(conn: &Connection) -> Option<DeviceId> {
    DeviceId::from_bytes(conn.remote_id().as_bytes()).ok()
}

/// Runs an exchange as initiator on a new stream of `peer`'s connection.
async fn push(shared: &Shared, peer: &Peer) -> Result<SyncStats, SyncError> {
    let _busy = peer.busy.lock().await;
    let _turn = shared.turn(&shared.pushes).await;
    let device = device_of(&peer.conn).ok_or(SyncError::Timeout)?;
    let (mut send, mut recv) = peer.conn.open_bi().await.map_err(FrameError::from)?;
    let link = shared.current_link(peer, device).await;
    // Boxed, as in `serve_streams`: only the exchanges running hold one.
    let stats = Box::pin(sync::exchange(
        &shared.store,
        &shared.me,
        &link,
        device,
        &mut send,
        &mut recv,
        true,
        &shared.wire(peer),
        None,
        &shared.timeouts,
    ))
    .await?;
    let _ = send.finish();
    Ok(SyncStats {
        path: sync::path_of(&peer.conn),
        ..stats
    })
}

/// Serves the friend's exchanges on a connection until it closes.
async fn serve_streams(shared: Arc<Shared>, peer: Arc<Peer>) {
    let Some(device) = device_of(&peer.conn) else {
        return;
    };
    loop {
        let (mut send, mut recv) = match peer.conn.accept_bi().await {
            Ok(s) => s,
            Err(e) => {
                match Unsynced::of_close(&e, &peer.link.name, || Unsynced::NotServing) {
                    Some(why @ Unsynced::Ended { .. }) => tell_unpaired(&shared, &peer.link, &why),
                    _ => shared.emit(Event::Disconnected {
                        name: peer.link.name.clone(),
                        reason: closed_words(&e),
                    }),
                }
                break;
            }
        };
        let result = {
            let _busy = peer.busy.lock().await;
            let _turn = shared.turn(&shared.answers).await;
            let link = shared.current_link(&peer, device).await;
            // An exchange's future is tens of KiB (its frames, session and store calls); inline,
            // every connection's task would be that large for its whole life, waiting for the
            // friend's next exchange or for a turn: 150 friends connecting at once held ~4.7 MiB
            // of it. Boxed, only the exchanges running hold one.
            Box::pin(sync::exchange(
                &shared.store,
                &shared.me,
                &link,
                device,
                &mut send,
                &mut recv,
                false,
                &shared.wire(&peer),
                None,
                &shared.timeouts,
            ))
            .await
        };
        match result {
            Ok(mut stats) => {
                let _ = send.finish();
                stats.path = sync::path_of(&peer.conn);
                shared.synced(device, &peer.link, stats);
            }
            Err(err) => {
                sync::refuse(&peer.conn, &err);
                shared.emit(Event::Disconnected {
                    name: peer.link.name.clone(),
                    reason: crate::chain(&err),
                });
                break;
            }
        }
    }
    if let Ok(mut peers) = shared.peers.lock()
        && let Some(live) = peers.get_mut(&device.to_bytes())
    {
        live.retain(|p| p.conn.stable_id() != peer.conn.stable_id());
        if live.is_empty() {
            peers.remove(&device.to_bytes());
        }
    }
}

/// Registers a connection with a friend's device, beside any others it has: a friend's device
/// may reach this node from its own node and, meanwhile, from a `tapin sync` or pairing command
/// on a second endpoint, and all of them are served. A connection the friend dialled is never
/// closed here (it may be one of those commands); a stale one ends when QUIC gives up on it, or
/// when a push on it fails.
///
/// When both nodes dial each other at once there are two connections between them: both sides
/// keep the one dialled by the smaller device id, and each closes only its own dial, so they
/// agree without talking about it. Returns `None` if `conn`, dialled here, was that duplicate.
fn register(
    shared: &Arc<Shared>,
    conn: Connection,
    version: SyncVersion,
    link: Link,
) -> Option<Arc<Peer>> {
    let device = device_of(&conn)?;
    let mut peers = shared.peers.lock().ok()?;
    let live = peers.entry(device.to_bytes()).or_default();
    live.retain(|p| p.conn.close_reason().is_none());
    let they_win = device.to_bytes() < shared.me.id().to_bytes();
    let recent = |p: &Peer| p.since.elapsed() < shared.timeouts.duplicate_window;
    if they_win {
        if conn.side().is_client() && live.iter().any(|p| p.conn.side().is_server() && recent(p)) {
            conn.close(0u32.into(), b"duplicate connection");
            return None;
        }
        if conn.side().is_server() {
            live.retain(|p| {
                let duplicate = p.conn.side().is_client() && recent(p);
                if duplicate {
                    p.conn.close(0u32.into(), b"duplicate connection");
                }
                !duplicate
            });
        }
    }
    let peer = Arc::new(Peer {
        conn,
        version,
        since: tokio::time::Instant::now(),
        link,
        busy: Arc::new(tokio::sync::Mutex::new(())),
    });
    live.push(peer.clone());
    Some(peer)
}

/// How a dial to one friend device ended.
enum Dialled {
    /// Connected on a version this build syncs on.
    Connected(Connection, SyncVersion),
    /// Not synced with, and why.
    Not(Unsynced),
}

/// Why a friend's device at `reach` was not reached, as what was tried says it.
fn unreachable(local: &Local, reach: &Reach, why: DialError) -> Unsynced {
    match &reach.relay {
        Some(relay) if !local.relay.enabled() => Unsynced::RelayOff {
            relay: relay.clone(),
            source: Arc::new(why),
        },
        // Nothing but the stored addresses was tried: no relay leads to them, and no lookup on
        // the local network.
        _ if !local.mdns && (reach.relay.is_none() || !local.relay.enabled()) => {
            Unsynced::NotLookedFor {
                addrs: if reach.addrs.is_empty() {
                    "none".to_owned()
                } else {
                    let addrs: Vec<String> = reach.addrs.iter().map(ToString::to_string).collect();
                    addrs.join(", ")
                },
                source: Arc::new(why),
            }
        }
        _ => Unsynced::Unreachable(Arc::new(why)),
    }
}

/// Dials `device` of the friend called `name` at `reach`, offering every sync version this build
/// knows, newest first, and settles what the handshake chose: a version too old to sync on is
/// closed at once with [`version::OUTDATED`], and a friend who closed with it is newer.
async fn dial_device(
    ep: &Endpoint,
    local: &Local,
    name: &str,
    device: DeviceId,
    reach: &Reach,
    timeouts: &Timeouts,
) -> Dialled {
    let Some(addr) = endpoint::dial_addr(device, reach, local.relay.enabled()) else {
        return Dialled::Not(Unsynced::Unreachable(Arc::new(DialError::NotAnEndpoint {
            device: device.to_string(),
        })));
    };
    let unreachable = |why: DialError| unreachable(local, reach, why);
    if reach.addrs.is_empty() && (reach.relay.is_none() || !local.relay.enabled()) {
        return Dialled::Not(unreachable(DialError::NoAddress));
    }
    let options = ConnectOptions::new().with_additional_alpns(vec![
        SYNC_ALPN_V3.to_vec(),
        SYNC_ALPN_V2.to_vec(),
        SYNC_ALPN_V1.to_vec(),
    ]);
    let dial = async {
        let connecting = ep.connect_with_opts(addr, SYNC_ALPN, options).await?;
        Ok::<_, ConnectError>(connecting.await?)
    };
    let conn = match tokio::time::timeout(timeouts.dial, dial).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(err)) => {
            let closed = version::connection_error(&err);
            let offline = || unreachable(DialError::TimedOut(timeouts.dial));
            if let Some(ended) = closed.and_then(|e| Unsynced::of_close(e, name, offline)) {
                return Dialled::Not(ended);
            }
            return Dialled::Not(match closed {
                Some(e) if version::closed_as_outdated(e) => Unsynced::TheirsNewer {
                    name: name.to_owned(),
                },
                _ if version::no_common_protocol(&err) => Unsynced::NotServing,
                _ => unreachable(err.into()),
            });
        }
        Err(_) => return Dialled::Not(unreachable(DialError::TimedOut(timeouts.dial))),
    };
    match SyncVersion::of(conn.alpn()) {
        Some(v) if v.is_spoken() => Dialled::Connected(conn, v),
        Some(_) => {
            conn.close(
                version::OUTDATED.into(),
                &version::outdated_reason(&local.name),
            );
            Dialled::Not(Unsynced::TheirsOlder {
                name: name.to_owned(),
            })
        }
        None => {
            conn.close(0u32.into(), b"unknown protocol");
            Dialled::Not(Unsynced::NotServing)
        }
    }
}

/// Whether the friend closed `conn` because its tapin is newer: a peer that accepted an old
/// ALPN only to say so.
fn closed_as_newer(conn: &Connection) -> bool {
    conn.close_reason()
        .is_some_and(|e| version::closed_as_outdated(&e))
}

/// The close reason of a node that stops, and of a connection whose pairing ended here.
const STOPPING: &[u8] = b"shutting down";

/// Why a connection with a friend's device ended, in words a person reads: every close code and
/// reason a tapin sends (docs/PROTOCOL.md), and what QUIC itself reports.
pub fn closed_words(err: &iroh::endpoint::ConnectionError) -> String {
    use iroh::endpoint::ConnectionError as E;
    match err {
        E::ApplicationClosed(close) => {
            let reason = String::from_utf8_lossy(&close.reason);
            match close.error_code.into_inner() {
                0 if close.reason.as_ref() == b"done" => "their sync finished".to_owned(),
                0 if close.reason.as_ref() == STOPPING => {
                    "their tapin stopped syncing with this device".to_owned()
                }
                0 if close.reason.as_ref() == b"duplicate connection" => {
                    "replaced by another connection between your devices".to_owned()
                }
                0 if close.reason.as_ref() == b"paired" => "the pairing finished".to_owned(),
                0 => "their device closed the connection".to_owned(),
                c if c == u64::from(endpoint::REFUSED) => {
                    "their device did not accept this one".to_owned()
                }
                c if c == u64::from(endpoint::ENDED) => "they ended the pairing".to_owned(),
                c if c == u64::from(version::OUTDATED) => reason.into_owned(),
                c if c == u64::from(sync::VIOLATION) => {
                    format!("their device refused what this one sent ({reason})")
                }
                _ => format!("their device closed the connection ({reason})"),
            }
        }
        E::LocallyClosed => "closed on this device".to_owned(),
        E::TimedOut => "the connection went quiet (no answer in time)".to_owned(),
        E::Reset => {
            "their device no longer knew this connection (it may have restarted)".to_owned()
        }
        _ => "the connection failed".to_owned(),
    }
}

/// Why the friend closed `conn`, when it closed it because it no longer pairs with this device
/// (see [`Unsynced::of_close`]); `reach` is where it was dialled.
fn closed_as_unpaired(
    conn: &Connection,
    name: &str,
    local: &Local,
    reach: &Reach,
    timeouts: &Timeouts,
) -> Option<Unsynced> {
    conn.close_reason().and_then(|e| {
        Unsynced::of_close(&e, name, || {
            unreachable(local, reach, DialError::TimedOut(timeouts.dial))
        })
    })
}

/// Tells the front-end that the friend of `link` ended the pairing, or logs a refusal.
fn tell_unpaired(shared: &Shared, link: &Link, why: &Unsynced) {
    match why {
        Unsynced::Ended { reason, .. } => shared.emit(Event::Ended {
            rel: link.rel,
            name: link.name.clone(),
            reason: reason.clone(),
        }),
        other => tracing::debug!(friend = %link.name, "dial failed: {other}"),
    }
}

/// Dials one friend device; on success registers the connection, serves its streams and pushes.
/// `turn` is one of the [`DIALS_AT_ONCE`], given back once the dial has an answer.
async fn dial(
    shared: Arc<Shared>,
    link: Link,
    device: DeviceId,
    turn: tokio::sync::OwnedSemaphorePermit,
) -> bool {
    // The link comes from the watcher's latest reading of the store: its reach is current.
    let reach = link.reach_of(device);
    let (conn, version) = match dial_device(
        &shared.ep,
        &shared.local,
        &link.name,
        device,
        &reach,
        &shared.timeouts,
    )
    .await
    {
        Dialled::Connected(conn, version) => {
            drop(turn);
            (conn, version)
        }
        Dialled::Not(why) => {
            if why.is_version() {
                shared.tell_version(device, why);
            } else if matches!(why, Unsynced::Ended { .. }) {
                tell_unpaired(&shared, &link, &why);
            } else {
                tracing::debug!(device = %device, "dial failed: {why}");
            }
            return false;
        }
    };
    let Some(peer) = register(&shared, conn, version, link) else {
        return false;
    };
    shared.emit(Event::Connected {
        name: peer.link.name.clone(),
        device,
    });
    tokio::spawn(serve_streams(shared.clone(), peer.clone()));
    match push(&shared, &peer).await {
        Ok(stats) => shared.synced(device, &peer.link, stats),
        Err(_) if closed_as_newer(&peer.conn) => {
            shared.tell_version(
                device,
                Unsynced::TheirsNewer {
                    name: peer.link.name.clone(),
                },
            );
        }
        Err(_) if peer.conn.close_reason().is_some() => {
            let closed = closed_as_unpaired(
                &peer.conn,
                &peer.link.name,
                &shared.local,
                &reach,
                &shared.timeouts,
            );
            match closed {
                Some(why) => tell_unpaired(&shared, &peer.link, &why),
                None => tracing::debug!(device = %device, "push failed: the connection closed"),
            }
        }
        Err(err) => sync::refuse(&peer.conn, &err),
    }
    true
}

/// What a node does on its endpoint. Every node serves through one iroh [`Router`], with one
/// protocol handler per ALPN family it takes on.
#[derive(Debug, Clone)]
pub struct Options {
    /// What it says about itself, and how it may dial.
    pub local: Local,
    /// How long it waits for each thing.
    pub timeouts: Timeouts,
    /// Serve paired devices on every sync ALPN ([`crate::SYNC_ALPNS`]).
    pub accept_sync: bool,
    /// Dial paired devices it is not connected to, with backoff, and push local changes to
    /// connected ones: the node watches its home for writes.
    pub dial: bool,
    /// Answer joiners on every pairing ALPN ([`crate::PAIR_ALPNS`]) for the invitations open in
    /// this process.
    pub pairing: Option<Pairing>,
    /// Where it reports what happens.
    pub events: Option<tokio::sync::mpsc::UnboundedSender<Event>>,
}

impl Options {
    /// A node that does nothing yet: no protocol served, no dialling. Turn on what it should do.
    pub fn new(local: Local, timeouts: Timeouts) -> Self {
        Options {
            local,
            timeouts,
            accept_sync: false,
            dial: false,
            pairing: None,
            events: None,
        }
    }

    /// What `tapin serve` runs: serves and dials paired devices and pushes local changes.
    pub fn serve(local: Local, timeouts: Timeouts) -> Self {
        Options {
            accept_sync: true,
            dial: true,
            ..Options::new(local, timeouts)
        }
    }
}

/// What a node needs to answer joiners.
#[derive(Debug, Clone)]
pub struct Pairing {
    /// The invitations open in this process (the gate's: [`crate::gate::HomeGate::invitations`]).
    pub invitations: OpenInvitations,
    /// This device's certificate, sent to joiners.
    pub cert: DeviceCertificate,
}

/// The node could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The home's store could not be opened.
    #[error(transparent)]
    Open(#[from] OpenStoreError),
    /// The thread that watches the home for writes could not start.
    #[error("cannot start the thread that watches the home")]
    Watch(#[source] std::io::Error),
    /// Store work handed to a blocking thread did not finish.
    #[error(transparent)]
    Blocking(#[from] BlockingError),
}

/// A running node: an iroh [`Router`] on the caller's endpoint, with the protocol handlers its
/// [`Options`] ask for, and (when it dials) the loop that watches the home and dials friends.
pub struct Node {
    router: Router,
    shared: Arc<Shared>,
    /// The loop that follows the home's writes and dials friends, if the node dials.
    dialler: Option<tokio::task::JoinHandle<()>>,
    /// The thread that watches the home, if the node dials.
    watcher: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("endpoint", &self.router.endpoint().id())
            .field("dials", &self.dialler.is_some())
            .finish()
    }
}

impl Node {
    /// Starts a node on `ep` for the home at `home` as device `me`. The endpoint's gate stays the
    /// first check of every incoming connection; the node never binds a socket itself.
    pub async fn spawn(
        ep: Endpoint,
        home: &Path,
        me: DeviceKey,
        options: Options,
    ) -> Result<Node, NodeError> {
        let Options {
            local,
            timeouts,
            accept_sync,
            dial,
            pairing,
            events,
        } = options;
        let store = SharedStore::open(home).await?;
        store
            .run(|store| store.set_cache_documents(DOCUMENTS_KEPT))
            .await?;
        let shared = Arc::new(Shared {
            store,
            links: Arc::new(Mutex::new(LinkCache::default())),
            me,
            ep: ep.clone(),
            local,
            timeouts,
            peers: Mutex::new(HashMap::new()),
            told: Mutex::new(HashSet::new()),
            exchanged: tokio::sync::watch::Sender::new(HashSet::new()),
            events,
            answers: Arc::new(tokio::sync::Semaphore::new(EXCHANGES_AT_ONCE)),
            pushes: Arc::new(tokio::sync::Semaphore::new(EXCHANGES_AT_ONCE)),
            active: Arc::new(AtomicUsize::new(0)),
        });
        let (dialler, watcher) = if dial {
            // A second connection for the watch, which polls it from a thread of its own.
            let watch_store = crate::shared::open_store(home).await?;
            let (readings, watcher) = off_runtime({
                let poll = timeouts.poll;
                move || watcher::start(watch_store, poll)
            })
            .await?
            .map_err(NodeError::Watch)?;
            let dialler = tokio::spawn(watch_and_dial(shared.clone(), readings));
            (Some(dialler), Some(watcher))
        } else {
            (None, None)
        };
        let mut router = Router::builder(ep);
        if accept_sync {
            let handler = SyncHandler {
                shared: shared.clone(),
            };
            for alpn in SYNC_ALPNS {
                router = router.accept(alpn, handler.clone());
            }
        }
        if let Some(Pairing { invitations, cert }) = pairing {
            let handler = PairHandler::new(invitations, cert, timeouts);
            for alpn in PAIR_ALPNS {
                router = router.accept(alpn, handler.clone());
            }
        }
        Ok(Node {
            router: router.spawn(),
            shared,
            dialler,
            watcher,
        })
    }

    /// The endpoint the node serves on.
    pub fn endpoint(&self) -> &Endpoint {
        self.router.endpoint()
    }

    /// What the node's store keeps of documents in memory, and how many of its reads came from
    /// there, since the node started (at most [`DOCUMENTS_KEPT`] documents).
    pub async fn cache_stats(&self) -> Result<CacheStats, BlockingError> {
        self.shared.store.run(|store| store.cache_stats()).await
    }

    /// Waits until an exchange with `device` has finished (in either direction, since the node
    /// started), at most `wait`; whether one did. A pairing command on a second endpoint waits so
    /// for the new friend's node, whose first exchange tells this home where it listens.
    pub async fn wait_for_exchange(&self, device: DeviceId, wait: Duration) -> bool {
        let key = device.to_bytes();
        let mut done = self.shared.exchanged.subscribe();
        matches!(
            tokio::time::timeout(wait, done.wait_for(|d| d.contains(&key))).await,
            Ok(Ok(_))
        )
    }

    /// Closes every connection, stops the router (which closes the endpoint) and the watch.
    pub async fn shutdown(self) {
        if let Some(dialler) = &self.dialler {
            dialler.abort();
        }
        let peers: Vec<Arc<Peer>> = self
            .shared
            .peers
            .lock()
            .map(|p| p.values().flatten().cloned().collect())
            .unwrap_or_default();
        for peer in peers {
            peer.conn.close(0u32.into(), STOPPING);
        }
        match self.router.shutdown().await {
            Err(err) if err.is_panic() => tracing::warn!("a protocol handler panicked: {err}"),
            // The runtime is shutting down under us (a command that ended its node from a task
            // it spawned, then returned): the router's task was cancelled, not broken.
            Err(err) => tracing::debug!("the router stopped with its runtime: {err}"),
            Ok(()) => {}
        }
        if let Some(dialler) = self.dialler {
            let _ = dialler.await;
        }
        // The watch's receiver went with the dialler: its thread ends within one poll.
        if let Some(watcher) = self.watcher {
            let _ = off_runtime(move || watcher.join()).await;
        }
    }
}

/// Runs a node until `shutdown` resolves (`tapin serve`: [`Options::serve`], and the pairing
/// handler so an invitation opened in its process is answered). Every wait is bounded by the
/// options' timeouts.
pub async fn run(
    ep: Endpoint,
    home: &Path,
    me: DeviceKey,
    options: Options,
    shutdown: impl Future<Output = ()>,
) -> Result<(), NodeError> {
    let node = Node::spawn(ep, home, me, options).await?;
    shutdown.await;
    node.shutdown().await;
    Ok(())
}

/// The protocol handler for every sync ALPN: a connection that passed the gate is mapped to its
/// relationship, its version settled, and the friend's exchanges served until it closes.
#[derive(Clone)]
struct SyncHandler {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for SyncHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncHandler")
            .field("me", &self.shared.me.id())
            .finish()
    }
}

impl ProtocolHandler for SyncHandler {
    async fn accept(&self, conn: Connection) -> Result<(), AcceptError> {
        accept_sync(self.shared.clone(), conn).await;
        Ok(())
    }
}

/// Serves a connection that came through the gate on a sync ALPN: maps the device to its
/// relationship, settles the version, then serves the friend's exchanges until it closes.
async fn accept_sync(shared: Arc<Shared>, conn: Connection) {
    let Some(device) = device_of(&conn) else {
        return;
    };
    let Some(link) = shared.link_for(device).await else {
        // The gate already refused unpaired devices; this is the race with unpair.
        conn.close(sync::VIOLATION.into(), b"not paired");
        return;
    };
    let version = match SyncVersion::of(conn.alpn()) {
        Some(v) if v.is_spoken() => v,
        Some(_) => {
            conn.close(
                version::OUTDATED.into(),
                &version::outdated_reason(&shared.local.name),
            );
            shared.tell_version(device, Unsynced::TheirsOlder { name: link.name });
            return;
        }
        None => {
            conn.close(sync::VIOLATION.into(), b"unknown protocol");
            return;
        }
    };
    if let Some(peer) = register(&shared, conn, version, link) {
        shared.emit(Event::Connected {
            name: peer.link.name.clone(),
            device,
        });
        serve_streams(shared, peer).await;
    }
}

/// Follows the watch's readings of the home: drops connections of friends no longer paired,
/// pushes a side that changed to the friend's connected devices, and dials friends' devices not
/// connected, with backoff (at once again when a device's stored reach changed).
async fn watch_and_dial(
    shared: Arc<Shared>,
    mut readings: tokio::sync::watch::Receiver<Arc<watcher::Reading>>,
) {
    let first = readings.borrow_and_update().clone();
    let mut links = first.links.clone();
    let mut pushed = first.sides.clone();
    let mut known = reach_by_device(&links);
    let mut next_dial: HashMap<[u8; 32], (tokio::time::Instant, Duration)> = HashMap::new();
    let dials = Arc::new(tokio::sync::Semaphore::new(DIALS_AT_ONCE));
    let mut tick = tokio::time::interval(shared.timeouts.poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if readings.has_changed().unwrap_or(false) {
            let reading = readings.borrow_and_update().clone();
            links = reading.links.clone();
            // Drop connections of friends no longer paired.
            let allowed: Vec<[u8; 32]> = links
                .iter()
                .flat_map(|l| l.devices.iter().map(|d| d.to_bytes()))
                .collect();
            if let Ok(mut peers) = shared.peers.lock() {
                peers.retain(|device, live| {
                    let keep = allowed.contains(device);
                    if !keep {
                        // As when this node stops: the friend's node dials again, and the
                        // gate answers it with the notice, or (unpaired quietly) refuses it,
                        // which their tapin shows as a device that cannot be reached.
                        for peer in live {
                            peer.conn.close(0u32.into(), STOPPING);
                        }
                    }
                    keep
                });
            }
            for link in &links {
                let v = reading.sides.get(&link.rel).copied().unwrap_or_default();
                if pushed.get(&link.rel) == Some(&v) {
                    continue;
                }
                pushed.insert(link.rel, v);
                // Every live connection of theirs: a push on one that is gone fails and closes
                // it, and the others still get it.
                let targets: Vec<Arc<Peer>> = match shared.peers.lock() {
                    Ok(peers) => peers
                        .values()
                        .flatten()
                        .filter(|p| p.link.rel == link.rel && p.conn.close_reason().is_none())
                        .cloned()
                        .collect(),
                    Err(_) => Vec::new(),
                };
                for peer in targets {
                    let shared = shared.clone();
                    tokio::spawn(async move {
                        match push(&shared, &peer).await {
                            Ok(stats) => {
                                if let Some(device) = device_of(&peer.conn) {
                                    shared.synced(device, &peer.link, stats);
                                }
                            }
                            Err(err) => sync::refuse(&peer.conn, &err),
                        }
                    });
                }
            }
            // A device now known somewhere else (a first exchange told this home where a friend
            // who paired from a second endpoint really listens) is worth a dial at once.
            let now_known = reach_by_device(&links);
            for (device, reach) in &now_known {
                if known.get(device) != Some(reach) {
                    next_dial.remove(device);
                }
            }
            known = now_known;
        }
        // Dial friends we are not connected to, with backoff.
        let now = tokio::time::Instant::now();
        for link in &links {
            for device in &link.devices {
                let key = device.to_bytes();
                let connected = shared
                    .peers
                    .lock()
                    .map(|p| {
                        p.get(&key)
                            .is_some_and(|v| v.iter().any(|p| p.conn.close_reason().is_none()))
                    })
                    .unwrap_or(true);
                if connected {
                    next_dial.remove(&key);
                    continue;
                }
                let (due, backoff) = next_dial
                    .get(&key)
                    .copied()
                    .unwrap_or((now, shared.timeouts.first_backoff));
                if due > now {
                    continue;
                }
                // Every turn taken: it stays due, for the next tick.
                let Ok(turn) = dials.clone().try_acquire_owned() else {
                    continue;
                };
                next_dial.insert(
                    key,
                    (
                        now + backoff + shared.timeouts.dial,
                        (backoff * 2).min(shared.timeouts.max_backoff),
                    ),
                );
                tokio::spawn(dial(shared.clone(), link.clone(), *device, turn));
            }
        }
    }
}

/// Where each paired device was last known to be.
fn reach_by_device(links: &[Link]) -> HashMap<[u8; 32], Reach> {
    links
        .iter()
        .flat_map(|l| l.devices.iter().map(|d| (d.to_bytes(), l.reach_of(*d))))
        .collect()
}
