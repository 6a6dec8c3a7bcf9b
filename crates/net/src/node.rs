//! The long-running node behind `tapin serve`: accepts paired devices, dials friends at their last
//! known addresses with backoff, and pushes local changes — including those written by other
//! processes on the same home — to connected friends as they happen.
//!
//! The node takes its endpoint, its home and its shutdown signal from the caller and never binds a
//! socket itself, so tests own their ports.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use iroh::endpoint::Connection;
use iroh::{Endpoint, EndpointAddr, PublicKey, TransportAddr};
use tapin_core::DocId;
use tapin_core::identity::{DeviceId, DeviceKey};
use tapin_store::Store;

use crate::SYNC_ALPN;
use crate::sync::{self, Link, LinkCache, SyncError, SyncStats};

/// How often the node looks for local writes (a cheap `PRAGMA data_version`).
pub const POLL: Duration = Duration::from_millis(5);
/// The longest wait between two dials of an unreachable friend.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Two connections to one device registered within this window are simultaneous dials.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(3);
/// How long one dial may take.
pub const DIAL_TIMEOUT: Duration = Duration::from_secs(5);

/// Something the node reports as it runs (for logs and the CLI's progress lines).
#[derive(Debug, Clone)]
pub enum Event {
    /// A friend's device connected or was dialled.
    Connected {
        /// The friend.
        name: String,
    },
    /// An exchange finished.
    Synced {
        /// The friend.
        name: String,
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
}

struct Peer {
    conn: Connection,
    /// When it was registered: a duplicate of a connection older than [`DUPLICATE_WINDOW`] means
    /// the other side has lost it (a restart), not that both sides dialled at once.
    since: tokio::time::Instant,
    link: Link,
    /// One exchange at a time per connection from this side.
    busy: Arc<tokio::sync::Mutex<()>>,
}

struct Shared {
    /// A std Mutex, not a Tokio one: store calls are synchronous and never span an await.
    store: Mutex<Store>,
    /// The paired relationships, for the accept path (lock after `store`).
    links: Mutex<LinkCache>,
    me: DeviceKey,
    peers: Mutex<HashMap<[u8; 32], Arc<Peer>>>,
    events: Option<tokio::sync::mpsc::UnboundedSender<Event>>,
}

impl Shared {
    fn emit(&self, e: Event) {
        if let Some(tx) = &self.events {
            let _ = tx.send(e);
        }
    }
}

fn device_of(conn: &Connection) -> Option<DeviceId> {
    DeviceId::from_bytes(conn.remote_id().as_bytes()).ok()
}

/// Runs an exchange as initiator on a new stream of `peer`'s connection.
async fn push(shared: &Shared, peer: &Peer) -> Result<SyncStats, SyncError> {
    let _turn = peer.busy.lock().await;
    let device = device_of(&peer.conn).ok_or(SyncError::Timeout)?;
    let (mut send, mut recv) = peer
        .conn
        .open_bi()
        .await
        .map_err(|e| SyncError::Frame(crate::frame::FrameError::Io(e.to_string())))?;
    let stats = sync::exchange(
        &shared.store,
        &shared.me,
        &peer.link,
        device,
        &mut send,
        &mut recv,
        true,
        None,
    )
    .await?;
    let _ = send.finish();
    Ok(stats)
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
                shared.emit(Event::Disconnected {
                    name: peer.link.name.clone(),
                    reason: e.to_string(),
                });
                break;
            }
        };
        let result = {
            let _turn = peer.busy.lock().await;
            sync::exchange(
                &shared.store,
                &shared.me,
                &peer.link,
                device,
                &mut send,
                &mut recv,
                false,
                None,
            )
            .await
        };
        match result {
            Ok(stats) => {
                let _ = send.finish();
                shared.emit(Event::Synced {
                    name: peer.link.name.clone(),
                    stats,
                });
            }
            Err(err) => {
                sync::refuse(&peer.conn, &err);
                shared.emit(Event::Disconnected {
                    name: peer.link.name.clone(),
                    reason: err.to_string(),
                });
                break;
            }
        }
    }
    if let Ok(mut peers) = shared.peers.lock()
        && peers
            .get(&device.to_bytes())
            .is_some_and(|p| p.conn.stable_id() == peer.conn.stable_id())
    {
        peers.remove(&device.to_bytes());
    }
}

/// The device that dialled a connection.
fn dialer(shared: &Shared, conn: &Connection) -> [u8; 32] {
    if conn.side().is_client() {
        shared.me.id().to_bytes()
    } else {
        *conn.remote_id().as_bytes()
    }
}

/// Registers a connection with a friend's device. When both nodes dial each other at once there
/// are two connections; both sides keep the one dialled by the smaller device id and close the
/// other, so they agree without talking about it. A newer connection dialled by the same side as
/// the registered one replaces it.
fn register(shared: &Arc<Shared>, conn: Connection, link: Link) -> Option<Arc<Peer>> {
    let device = device_of(&conn)?;
    let mut peers = shared.peers.lock().ok()?;
    if let Some(existing) = peers.get(&device.to_bytes())
        && existing.conn.close_reason().is_none()
    {
        let (old_dialer, new_dialer) = (dialer(shared, &existing.conn), dialer(shared, &conn));
        // Both nodes dialled each other at once: keep the one the smaller device id dialled, as
        // the other node does. Otherwise the older connection is stale (a restart, a killed
        // `tapin sync`) and may still look open until it times out: the new one wins.
        let simultaneous = old_dialer != new_dialer && existing.since.elapsed() < DUPLICATE_WINDOW;
        let preferred = shared.me.id().to_bytes().min(device.to_bytes());
        if simultaneous && old_dialer == preferred {
            conn.close(0u32.into(), b"duplicate connection");
            return None;
        }
        existing
            .conn
            .close(0u32.into(), b"replaced by a newer connection");
    }
    let peer = Arc::new(Peer {
        conn,
        since: tokio::time::Instant::now(),
        link,
        busy: Arc::new(tokio::sync::Mutex::new(())),
    });
    peers.insert(device.to_bytes(), peer.clone());
    Some(peer)
}

/// Dials one friend device; on success registers the connection, serves its streams and pushes.
async fn dial(shared: Arc<Shared>, ep: Endpoint, link: Link, device: DeviceId) -> bool {
    let addrs = match (shared.store.lock(), shared.links.lock()) {
        (Ok(store), Ok(mut links)) => links.addrs(&store, device).unwrap_or_default(),
        _ => return false,
    };
    let Ok(id) = PublicKey::from_bytes(&device.to_bytes()) else {
        return false;
    };
    let addr = EndpointAddr::from_parts(id, addrs.into_iter().map(TransportAddr::Ip));
    let conn = match tokio::time::timeout(DIAL_TIMEOUT, ep.connect(addr, SYNC_ALPN)).await {
        Ok(Ok(conn)) => conn,
        _ => return false,
    };
    let Some(peer) = register(&shared, conn, link) else {
        return false;
    };
    shared.emit(Event::Connected {
        name: peer.link.name.clone(),
    });
    tokio::spawn(serve_streams(shared.clone(), peer.clone()));
    match push(&shared, &peer).await {
        Ok(stats) => shared.emit(Event::Synced {
            name: peer.link.name.clone(),
            stats,
        }),
        Err(err) => sync::refuse(&peer.conn, &err),
    }
    true
}

/// Runs the node until `shutdown` resolves.
pub async fn run(
    ep: Endpoint,
    home: &Path,
    me: DeviceKey,
    events: Option<tokio::sync::mpsc::UnboundedSender<Event>>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), SyncError> {
    let store = Store::open(home).map_err(|e| SyncError::Store(e.to_string()))?;
    // A second connection for watching, so the node's own writes (received changes) do not look
    // like local edits: data_version moves only for other connections' commits.
    let watch = Store::open(home).map_err(|e| SyncError::Store(e.to_string()))?;
    let shared = Arc::new(Shared {
        store: Mutex::new(store),
        links: Mutex::new(LinkCache::default()),
        me,
        peers: Mutex::new(HashMap::new()),
        events,
    });

    let accept = {
        let (shared, ep) = (shared.clone(), ep.clone());
        async move {
            while let Some(incoming) = ep.accept().await {
                let shared = shared.clone();
                tokio::spawn(async move {
                    let Ok(conn) = incoming.await else { return };
                    let Some(device) = device_of(&conn) else {
                        return;
                    };
                    let link = match (shared.store.lock(), shared.links.lock()) {
                        (Ok(store), Ok(mut links)) => links.link_for(&store, device).ok().flatten(),
                        _ => None,
                    };
                    let Some(link) = link else {
                        // The gate already refused unpaired devices; this is the race with unpair.
                        conn.close(sync::VIOLATION.into(), b"not paired");
                        return;
                    };
                    if let Some(peer) = register(&shared, conn, link) {
                        shared.emit(Event::Connected {
                            name: peer.link.name.clone(),
                        });
                        serve_streams(shared, peer).await;
                    }
                });
            }
        }
    };

    let watch_and_dial = {
        let (shared, ep) = (shared.clone(), ep.clone());
        async move {
            let mut data_version = watch.data_version().unwrap_or_default();
            let mut pushed: HashMap<tapin_core::Id, i64> = HashMap::new();
            let mut next_dial: HashMap<[u8; 32], (tokio::time::Instant, Duration)> = HashMap::new();
            let mut tick = tokio::time::interval(POLL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut link_cache = LinkCache::default();
            let mut links = link_cache
                .get(&watch)
                .map(<[Link]>::to_vec)
                .unwrap_or_default();
            for link in &links {
                pushed.insert(
                    link.rel,
                    watch
                        .doc_version(&DocId::Side(link.rel))
                        .unwrap_or_default(),
                );
            }
            loop {
                tick.tick().await;
                let now_version = watch.data_version().unwrap_or(data_version);
                let changed = now_version != data_version;
                data_version = now_version;
                if changed {
                    if let Ok(now) = link_cache.get(&watch) {
                        links = now.to_vec();
                    }
                    // Drop connections of friends no longer paired.
                    let allowed: Vec<[u8; 32]> = links
                        .iter()
                        .flat_map(|l| l.devices.iter().map(|d| d.to_bytes()))
                        .collect();
                    if let Ok(mut peers) = shared.peers.lock() {
                        peers.retain(|device, peer| {
                            let keep = allowed.contains(device);
                            if !keep {
                                peer.conn.close(sync::VIOLATION.into(), b"unpaired");
                            }
                            keep
                        });
                    }
                    for link in &links {
                        let v = watch
                            .doc_version(&DocId::Side(link.rel))
                            .unwrap_or_default();
                        if pushed.get(&link.rel) == Some(&v) {
                            continue;
                        }
                        pushed.insert(link.rel, v);
                        let targets: Vec<Arc<Peer>> = match shared.peers.lock() {
                            Ok(peers) => peers
                                .values()
                                .filter(|p| p.link.rel == link.rel)
                                .cloned()
                                .collect(),
                            Err(_) => Vec::new(),
                        };
                        for peer in targets {
                            let shared = shared.clone();
                            tokio::spawn(async move {
                                match push(&shared, &peer).await {
                                    Ok(stats) => shared.emit(Event::Synced {
                                        name: peer.link.name.clone(),
                                        stats,
                                    }),
                                    Err(err) => sync::refuse(&peer.conn, &err),
                                }
                            });
                        }
                    }
                }
                // Dial friends we are not connected to, with backoff.
                let now = tokio::time::Instant::now();
                for link in &links {
                    for device in &link.devices {
                        let key = device.to_bytes();
                        let connected = shared
                            .peers
                            .lock()
                            .map(|p| p.contains_key(&key))
                            .unwrap_or(true);
                        if connected {
                            next_dial.remove(&key);
                            continue;
                        }
                        let (due, backoff) = next_dial
                            .get(&key)
                            .copied()
                            .unwrap_or((now, Duration::from_millis(500)));
                        if due > now {
                            continue;
                        }
                        next_dial.insert(
                            key,
                            (now + backoff + DIAL_TIMEOUT, (backoff * 2).min(MAX_BACKOFF)),
                        );
                        tokio::spawn(dial(shared.clone(), ep.clone(), link.clone(), *device));
                    }
                }
            }
        }
    };

    tokio::select! {
        () = accept => {}
        () = watch_and_dial => {}
        () = shutdown => {}
    }
    let peers: Vec<Arc<Peer>> = shared
        .peers
        .lock()
        .map(|p| p.values().cloned().collect())
        .unwrap_or_default();
    for peer in peers {
        peer.conn.close(0u32.into(), b"shutting down");
    }
    ep.close().await;
    Ok(())
}

/// Syncs once with every device of the given links that can be reached (the `tapin sync`
/// command): dial, one exchange, close. Returns per link the stats, or why it failed.
pub async fn sync_once(
    ep: &Endpoint,
    home: &Path,
    me: &DeviceKey,
    links: &[Link],
) -> Vec<(Link, Result<SyncStats, String>)> {
    let store = match Store::open(home) {
        Ok(s) => Mutex::new(s),
        Err(e) => {
            return links
                .iter()
                .map(|l| (l.clone(), Err(e.to_string())))
                .collect();
        }
    };
    let mut pairings = LinkCache::default();
    let mut out = Vec::new();
    for link in links {
        let mut total: Option<SyncStats> = None;
        let mut last_err = "no known address".to_owned();
        for device in &link.devices {
            let addrs = match store.lock() {
                Ok(s) => pairings.addrs(&s, *device).unwrap_or_default(),
                Err(_) => Vec::new(),
            };
            let Ok(id) = PublicKey::from_bytes(&device.to_bytes()) else {
                continue;
            };
            let addr = EndpointAddr::from_parts(id, addrs.into_iter().map(TransportAddr::Ip));
            let conn = match tokio::time::timeout(DIAL_TIMEOUT, ep.connect(addr, SYNC_ALPN)).await {
                Ok(Ok(conn)) => conn,
                Ok(Err(e)) => {
                    last_err = e.to_string();
                    continue;
                }
                Err(_) => {
                    last_err = "timed out".to_owned();
                    continue;
                }
            };
            let result = async {
                let (mut send, mut recv) = conn
                    .open_bi()
                    .await
                    .map_err(|e| SyncError::Frame(crate::frame::FrameError::Io(e.to_string())))?;
                let stats =
                    sync::exchange(&store, me, link, *device, &mut send, &mut recv, true, None)
                        .await?;
                let _ = send.finish();
                Ok::<_, SyncError>(stats)
            }
            .await;
            match result {
                Ok(stats) => {
                    conn.close(0u32.into(), b"done");
                    let t = total.get_or_insert_with(SyncStats::default);
                    t.sent_bytes += stats.sent_bytes;
                    t.received_bytes += stats.received_bytes;
                    t.received_changes += stats.received_changes;
                    t.rounds += stats.rounds;
                }
                Err(err) => {
                    sync::refuse(&conn, &err);
                    last_err = err.to_string();
                }
            }
        }
        out.push((link.clone(), total.ok_or(last_err)));
    }
    out
}
