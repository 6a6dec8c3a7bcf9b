//! The node is iroh's `Router`: `tapin serve`'s node carries the pairing handler beside the sync
//! handler, so an invitation opened in its process is answered on its own endpoint, and the gate
//! admits joiners only while one is open. Real endpoints on 127.0.0.1, a real store.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tapin_core::identity::{DeviceCertificate, DeviceKey, PersonKey};
use tapin_core::pairing::{Invitation, InviteId, JoinResponse};
use tapin_core::time::Timestamp;
use tapin_net::endpoint::{self, Advertise, Gate, NetConfig, REFUSED, Relay};
use tapin_net::gate::HomeGate;
use tapin_net::node::{Local, Node, Options, Pairing};
use tapin_net::pair::{self, InvitationError, Invitations, PairNetError};
use tapin_net::{PAIR_ALPN, Timeouts, frame};
use tapin_store::Store;

/// How long any step here may take.
const BOUND: Duration = Duration::from_secs(30);

/// A dialler's gate: it judges only incoming connections, and a dialler has none.
#[derive(Debug)]
struct Nobody;

impl Gate for Nobody {
    fn allow_sync(&self, _device: &[u8; 32]) -> bool {
        false
    }
    fn allow_pairing(&self) -> bool {
        false
    }
}

/// One invitation, kept in memory.
#[derive(Debug)]
struct OneInvitation {
    inv: Invitation,
    used: Mutex<bool>,
}

impl Invitations for OneInvitation {
    fn lookup(&self, id: &InviteId) -> Result<Invitation, InvitationError> {
        if *id != self.inv.id() {
            return Err(InvitationError::Unknown);
        }
        if *self.used.lock().expect("not poisoned") {
            return Err(InvitationError::Used);
        }
        Ok(self.inv.clone())
    }
    fn claim(&self, id: &InviteId) -> Result<(), InvitationError> {
        self.lookup(id)?;
        *self.used.lock().expect("not poisoned") = true;
        Ok(())
    }
}

/// A person with one device.
struct Device {
    person: PersonKey,
    key: DeviceKey,
    cert: DeviceCertificate,
}

fn device(seed: u8, name: &str) -> Device {
    let person = PersonKey::from_secret([seed; 32]);
    let key = DeviceKey::from_secret([seed + 1; 32]);
    let cert = person.certify(key.id(), name, now());
    Device { person, key, cert }
}

fn now() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis();
    Timestamp(i64::try_from(ms).expect("a millisecond count fits"))
}

fn local(name: &str) -> Local {
    Local {
        name: name.to_owned(),
        relay: Relay::None,
        advertise: Advertise::Bound,
        mdns: false,
    }
}

async fn bounded<T>(fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(BOUND, fut)
        .await
        .expect("a step took too long")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_serving_node_answers_a_pairing_for_an_invitation_opened_in_its_process() {
    let home = tempfile::tempdir().expect("a temporary home");
    let maya = device(0x10, "maya-laptop");
    let jordan = device(0x20, "jordan-phone");

    // Maya's node, as `tapin serve` runs it: the gate over her store, sync and pairing handlers.
    let gate = Arc::new(HomeGate::new(
        Store::open(home.path()).expect("open Maya's store"),
    ));
    let ep = endpoint::bind(
        maya.key.secret(),
        &NetConfig::loopback(),
        gate.clone() as Arc<dyn Gate>,
        vec![],
    )
    .await
    .expect("bind Maya's endpoint");
    let addrs = endpoint::direct_addrs(&ep);
    let node = Node::spawn(
        ep,
        home.path(),
        maya.key.clone(),
        Options {
            pairing: Some(Pairing {
                invitations: gate.invitations().clone(),
                cert: maya.cert.clone(),
            }),
            ..Options::serve(local("Maya"), Timeouts::default())
        },
    )
    .await
    .expect("start Maya's node");

    let inv = Invitation::new(
        &maya.person,
        "Maya",
        maya.key.id(),
        addrs,
        None,
        [0x33; 32],
        Timestamp(now().0 + 600_000),
    );
    let joiner = endpoint::bind(
        jordan.key.secret(),
        &NetConfig::loopback(),
        Arc::new(Nobody),
        vec![],
    )
    .await
    .expect("bind Jordan's endpoint");

    // No invitation open yet: the gate closes the pairing connection before any stream.
    let refused = bounded(pair::join(
        &joiner,
        &inv,
        "Jordan",
        &jordan.cert,
        Default::default(),
        false,
        now(),
        &Timeouts::default(),
    ))
    .await
    .expect_err("no invitation is open");
    assert!(
        matches!(
            &refused,
            PairNetError::Ended(pair::FriendEnded::NotInviting(_))
                | PairNetError::Frame(_)
                | PairNetError::Timeout(_)
        ),
        "{refused:?}"
    );

    // Maya opens the invitation in her node's process; Jordan joins through her node's router.
    let mut open = gate.invitations().open(Arc::new(OneInvitation {
        inv: inv.clone(),
        used: Mutex::new(false),
    }));
    let joining = tokio::spawn({
        let (joiner, inv, cert) = (joiner.clone(), inv.clone(), jordan.cert.clone());
        async move {
            let pending = pair::join(
                &joiner,
                &inv,
                "Jordan",
                &cert,
                Default::default(),
                false,
                now(),
                &Timeouts::default(),
            )
            .await?;
            let code = pending.code.clone();
            pending.finish(true).await.map(|peer| (peer, code))
        }
    });
    let pending = bounded(open.next())
        .await
        .expect("the invitation is open")
        .expect("Jordan's request checks");
    drop(open);
    let code = pending.code.clone();
    assert_eq!(pending.peer.cert.device, jordan.key.id());
    let at_maya = bounded(pending.finish(true)).await.expect("both confirmed");
    let (at_jordan, jordans_code) = bounded(joining)
        .await
        .expect("the joiner's task")
        .expect("Jordan paired");
    assert_eq!(code, jordans_code, "both show the same safety code");
    assert_eq!(at_maya.cert.person, jordan.person.id());
    assert_eq!(at_jordan.cert.person, maya.person.id());

    // Closed again: a stranger's pairing connection is refused by the gate, with its reason.
    let stranger = device(0x40, "stranger");
    let ep = endpoint::bind(
        stranger.key.secret(),
        &NetConfig::loopback(),
        Arc::new(Nobody),
        vec![],
    )
    .await
    .expect("bind the stranger's endpoint");
    let to = endpoint::dial_addr(maya.key.id(), &inv.reach(), false).expect("an address");
    let closed = bounded(async {
        let conn = ep.connect(to, PAIR_ALPN).await?;
        let (mut send, mut recv) = conn.open_bi().await?;
        let _ = frame::write(&mut send, &0u8).await;
        let _ = frame::read::<JoinResponse>(&mut recv, pair::FRAME_CAP).await;
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(conn.closed().await)
    })
    .await;
    match closed {
        Ok(iroh::endpoint::ConnectionError::ApplicationClosed(close)) => {
            assert_eq!(close.error_code.into_inner(), u64::from(REFUSED));
            assert_eq!(&close.reason[..], b"no open invitation");
        }
        Err(_) => {} // refused during the handshake itself
        Ok(other) => panic!("want the gate's refusal, got {other:?}"),
    }
    ep.close().await;
    joiner.close().await;
    bounded(node.shutdown()).await;
}
