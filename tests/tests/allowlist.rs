//! The allowlist on real iroh endpoints on 127.0.0.1: a home's node, guarded by its store
//! ([`HomeGate`]), and devices dialing it. Every incoming connection is judged right after the
//! handshake: the sync ALPN admits only currently paired devices, the pairing ALPN anyone but
//! only while an invitation is open, and every other ALPN no one. A refused connection is closed
//! with application error 403 before the node ever sees a stream.
//!
//! The homes are real (made and paired with the binary), so the gate reads what `tapin` wrote,
//! and `tapin unpair` run while the node is up applies to the very next connection.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use iroh::endpoint::{ConnectError, ConnectingError, ConnectionError};
use iroh::{Endpoint, EndpointAddr, TransportAddr};
use tapin_core::pairing::{Invitation, InviteId};
use tapin_e2e::gates::Anyone;
use tapin_e2e::{Home, NET_TIMEOUT, pair};
use tapin_net::endpoint::{self, Gate, NetConfig, REFUSED};
use tapin_net::gate::HomeGate;
use tapin_net::pair::{InvitationError, Invitations};
use tapin_net::{PAIR_ALPN, SYNC_ALPN};
use tapin_store::{MetaKey, Store};

/// A device key no home has ever paired with.
const STRANGER: [u8; 32] = [0x5a; 32];

/// The device key `tapin init` stored in `home`.
fn device_secret(home: &Home) -> [u8; 32] {
    Store::open(&home.path())
        .expect("open the store")
        .get_secret(MetaKey::DeviceSecret)
        .expect("read the store's device key")
        .expect("the home has a device key")
}

/// What a node's accept loop saw.
#[derive(Debug, Default)]
struct Seen {
    /// Connections that came through the gate.
    connections: AtomicUsize,
    /// Connections the gate refused.
    refused: AtomicUsize,
    /// Streams accepted on admitted connections.
    streams: AtomicUsize,
}

impl Seen {
    fn counts(&self) -> (usize, usize, usize) {
        (
            self.connections.load(Ordering::SeqCst),
            self.refused.load(Ordering::SeqCst),
            self.streams.load(Ordering::SeqCst),
        )
    }
}

/// A home's endpoint with its own key, guarded by a [`HomeGate`] over its store, and an accept
/// loop that counts what gets through and echoes each stream.
struct Node {
    ep: Endpoint,
    gate: Arc<HomeGate>,
    seen: Arc<Seen>,
    accept: tokio::task::JoinHandle<()>,
}

impl Node {
    async fn start(home: &Home, alpns: &[&[u8]]) -> Node {
        let gate = Arc::new(HomeGate::new(
            Store::open(&home.path()).expect("open the store"),
        ));
        let ep = endpoint::bind(
            device_secret(home),
            &NetConfig::loopback(),
            gate.clone() as Arc<dyn Gate>,
            alpns.iter().map(|a| a.to_vec()).collect(),
        )
        .await
        .expect("bind the node");
        let seen = Arc::new(Seen::default());
        let accept = tokio::spawn(accept_loop(ep.clone(), seen.clone()));
        Node {
            ep,
            gate,
            seen,
            accept,
        }
    }

    async fn stop(self) {
        self.ep.close().await;
        self.accept.abort();
    }

    /// Waits until the accept loop has judged `n` connections in all.
    async fn judged(&self, n: usize) -> (usize, usize, usize) {
        eventually(|| {
            let (admitted, refused, _) = self.seen.counts();
            admitted + refused >= n
        })
        .await;
        self.seen.counts()
    }
}

async fn accept_loop(ep: Endpoint, seen: Arc<Seen>) {
    while let Some(incoming) = ep.accept().await {
        let seen = seen.clone();
        tokio::spawn(async move {
            let Ok(conn) = incoming.await else {
                seen.refused.fetch_add(1, Ordering::SeqCst);
                return;
            };
            seen.connections.fetch_add(1, Ordering::SeqCst);
            while let Ok((mut send, mut recv)) = conn.accept_bi().await {
                seen.streams.fetch_add(1, Ordering::SeqCst);
                if let Ok(bytes) = recv.read_to_end(1024).await {
                    let _ = send.write_all(&bytes).await;
                    let _ = send.finish();
                }
            }
        });
    }
}

/// An invitation that lets the gate open pairing and knows no invitation id: these tests look
/// only at what the gate admits, and the accept loop here never answers a join request.
#[derive(Debug)]
struct NoInvitations;

impl Invitations for NoInvitations {
    fn lookup(&self, _id: &InviteId) -> Result<Invitation, InvitationError> {
        Err(InvitationError::Unknown)
    }
    fn claim(&self, _id: &InviteId) -> Result<(), InvitationError> {
        Err(InvitationError::Unknown)
    }
}

/// How a dial ended.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// Admitted: a stream went there and back.
    Admitted,
    /// Closed by the node with this application error code and reason.
    Refused(u64, String),
    /// Failed some other way (no common ALPN, …).
    Failed(String),
}

fn refused(reason: &str) -> Outcome {
    Outcome::Refused(REFUSED.into(), reason.to_owned())
}

fn outcome_of(err: &ConnectionError) -> Outcome {
    match err {
        ConnectionError::ApplicationClosed(close) => Outcome::Refused(
            close.error_code.into_inner(),
            String::from_utf8_lossy(&close.reason).into_owned(),
        ),
        other => Outcome::Failed(other.to_string()),
    }
}

/// Dials `node` from a fresh endpoint with device key `secret` on `alpn`, then tries one stream
/// there and back.
async fn dial(secret: [u8; 32], node: &Node, alpn: &[u8]) -> Outcome {
    let client = endpoint::bind(secret, &NetConfig::loopback(), Arc::new(Anyone), vec![])
        .await
        .expect("bind the dialer");
    let addr = EndpointAddr::from_parts(
        node.ep.id(),
        endpoint::direct_addrs(&node.ep)
            .into_iter()
            .map(TransportAddr::Ip),
    );
    let outcome = match bounded(client.connect(addr, alpn)).await {
        Err(ConnectError::Connection { source, .. })
        | Err(ConnectError::Connecting {
            source: ConnectingError::ConnectionError { source, .. },
            ..
        }) => outcome_of(&source),
        Err(other) => Outcome::Failed(other.to_string()),
        Ok(conn) => {
            let round_trip = async {
                let (mut send, mut recv) = conn.open_bi().await.ok()?;
                send.write_all(b"hello").await.ok()?;
                send.finish().ok()?;
                recv.read_to_end(1024).await.ok()
            };
            match bounded(round_trip).await {
                Some(echo) if echo == b"hello" => Outcome::Admitted,
                _ => outcome_of(&bounded(conn.closed()).await),
            }
        }
    };
    client.close().await;
    outcome
}

/// `fut`, or a panic after [`NET_TIMEOUT`].
async fn bounded<T>(fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(NET_TIMEOUT, fut)
        .await
        .expect("a network step took too long")
}

/// Polls `condition` until it holds, for at most [`NET_TIMEOUT`].
async fn eventually(mut condition: impl FnMut() -> bool) {
    bounded(async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

/// Maya and Jordan, paired with the real binary.
fn paired() -> (Home, Home) {
    let maya = Home::init_net("Maya", "maya-laptop", 0);
    let jordan = Home::init_net("Jordan", "jordan-phone", 0);
    pair(&maya, &jordan);
    (maya, jordan)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpaired_device_on_the_sync_alpn_is_refused_before_any_stream() {
    let (maya, _jordan) = tokio::task::block_in_place(paired);
    let node = Node::start(&maya, &[PAIR_ALPN, SYNC_ALPN]).await;

    assert_eq!(
        dial(STRANGER, &node, SYNC_ALPN).await,
        refused("not paired")
    );
    let (admitted, refused_n, streams) = node.judged(1).await;
    assert_eq!(
        (admitted, refused_n, streams),
        (0, 1, 0),
        "the node must never see the stranger's connection nor a stream"
    );
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_paired_friends_device_is_admitted_on_the_sync_alpn() {
    let (maya, jordan) = tokio::task::block_in_place(paired);
    let node = Node::start(&maya, &[PAIR_ALPN, SYNC_ALPN]).await;

    assert_eq!(
        dial(device_secret(&jordan), &node, SYNC_ALPN).await,
        Outcome::Admitted
    );
    assert_eq!(node.judged(1).await, (1, 0, 1));
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_unpair_the_friend_is_refused_on_the_next_connection() {
    let (maya, jordan) = tokio::task::block_in_place(paired);
    let node = Node::start(&maya, &[PAIR_ALPN, SYNC_ALPN]).await;
    let friend = device_secret(&jordan);
    assert_eq!(dial(friend, &node, SYNC_ALPN).await, Outcome::Admitted);

    // Another process ends the pairing while the node runs: the gate reads the store per check.
    // Quietly: the gate refuses the friend as it would any device it does not know.
    let said = tokio::task::block_in_place(|| maya.ok(&["unpair", "Jordan", "--quietly"]));
    assert!(said.contains("Unpaired Jordan"), "{said}");
    assert!(said.contains("stays on their devices"), "{said}");
    let people = tokio::task::block_in_place(|| maya.json(&["people"]));
    assert!(
        !people[0]["peer"]["unpaired"].is_null(),
        "the relationship should be marked unpaired:\n{people:#}"
    );

    assert_eq!(dial(friend, &node, SYNC_ALPN).await, refused("not paired"));
    assert_eq!(
        node.judged(2).await,
        (1, 1, 1),
        "after unpair, no new connection nor stream from the friend"
    );
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pairing_alpn_admits_unknown_devices_only_while_an_invitation_is_open() {
    let maya = tokio::task::block_in_place(|| Home::init_net("Maya", "maya-laptop", 0));
    let node = Node::start(&maya, &[PAIR_ALPN, SYNC_ALPN]).await;

    assert_eq!(
        dial(STRANGER, &node, PAIR_ALPN).await,
        refused("no open invitation")
    );
    let invitation = node.gate.invitations().open(Arc::new(NoInvitations));
    assert_eq!(dial(STRANGER, &node, PAIR_ALPN).await, Outcome::Admitted);
    // An open invitation does not open the sync ALPN.
    assert_eq!(
        dial(STRANGER, &node, SYNC_ALPN).await,
        refused("not paired")
    );
    drop(invitation);
    assert_eq!(
        dial(STRANGER, &node, PAIR_ALPN).await,
        refused("no open invitation")
    );
    assert_eq!(node.judged(4).await, (1, 3, 1));
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_alpn_is_refused_even_from_the_paired_friend() {
    let (maya, jordan) = tokio::task::block_in_place(paired);
    let friend = device_secret(&jordan);

    // A protocol the node does not speak: the handshake itself fails.
    let node = Node::start(&maya, &[PAIR_ALPN, SYNC_ALPN]).await;
    let _invitation = node.gate.invitations().open(Arc::new(NoInvitations));
    let outcome = dial(friend, &node, b"tapin/chat/1").await;
    assert!(matches!(outcome, Outcome::Failed(_)), "{outcome:?}");
    let (admitted, _, streams) = node.seen.counts();
    assert_eq!((admitted, streams), (0, 0), "the node saw a connection");
    node.stop().await;

    // A protocol the endpoint is bound to but the gate does not know (say, a future sync
    // version added to the endpoint before the gate learnt it): refused by default.
    let node = Node::start(&maya, &[PAIR_ALPN, SYNC_ALPN, b"tapin/sync/99"]).await;
    let _invitation = node.gate.invitations().open(Arc::new(NoInvitations));
    assert_eq!(
        dial(friend, &node, b"tapin/sync/99").await,
        refused("unknown protocol")
    );
    assert_eq!(node.judged(1).await, (0, 1, 0));
    node.stop().await;
}
