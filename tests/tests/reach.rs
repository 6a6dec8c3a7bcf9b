//! Reaching a friend: through their relay when their addresses cannot be reached, at their new
//! address after it changed, and with a clear word when one side's tapin is too old.
//!
//! The relay tests run in the network lab (`tapin_e2e::lab`): two homes in two network namespaces
//! that reach a hub running iroh's relay server and never each other, as two homes behind two
//! NATs would. Everything else runs on 127.0.0.1.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use iroh::endpoint::{ConnectError, Connection, ConnectionError};
use iroh::{Endpoint, EndpointAddr};
use tapin_core::identity::{DeviceCertificate, DeviceId, DeviceKey, PersonKey};
use tapin_core::pairing::{
    self, Confirm, Invitation, InviteId, JoinRequestV1, JoinResponse, Reach,
};
use tapin_core::time::Timestamp;
use tapin_core::{DocId, Id, docs};
use tapin_e2e::gates::Anyone;
use tapin_e2e::lab::{RelayLab, TestRelay};
use tapin_e2e::{
    Background, Home, NET_TIMEOUT, Run, both_paired, eventually, free_udp_ports, last_json, pair,
    ticket_of,
};
use tapin_net::endpoint::{self, NetConfig};
use tapin_net::pair::{FRAME_CAP, InvitationError, Invitations};
use tapin_net::shared::SharedStore;
use tapin_net::sync::{REACH_CAP, VIOLATION, Wire};
use tapin_net::version::OUTDATED;
use tapin_net::{
    PAIR_ALPN_V1, SYNC_ALPN, SYNC_ALPN_V1, SYNC_ALPN_V2, SYNC_ALPN_V3, Timeouts, frame,
};

/// A home for the lab, with the lab's relay as its own.
fn lab_home(name: &str, device: &str, relay: &str) -> Home {
    Home::init_lab(name, device, relay)
}

/// `tapin ARGS` for a lab home, with the lab's relay.
fn lab_cmd(home: &Home, relay: &str, args: &[&str]) -> Command {
    home.lab_cmd(relay, args)
}

/// Whether `home`'s replica of `person`'s side holds a thanks saying `text`.
fn has_thanks(home: &Home, person: &str, text: &str) -> bool {
    home.replica_of(person)
        .thanks
        .values()
        .any(|t| t.text == text)
}

#[test]
fn the_lab_keeps_its_two_sides_apart_and_both_reach_the_relay() {
    if !tapin_e2e::lab::available() {
        return;
    }
    let lab = RelayLab::start();
    let relay = SocketAddr::from((RelayLab::RELAY_IP, lab.relay_port()));
    assert!(
        RelayLab::connects(&lab.a, relay),
        "a cannot reach the relay"
    );
    assert!(
        RelayLab::connects(&lab.b, relay),
        "b cannot reach the relay"
    );
    // Something listening on b's own address: b reaches it, a does not.
    let on_b = SocketAddr::from((RelayLab::B_IP, 3341));
    let _listener = TestRelay::start(&lab.b, on_b);
    assert!(RelayLab::connects(&lab.b, on_b), "b cannot reach itself");
    assert!(!RelayLab::connects(&lab.a, on_b), "a reaches b directly");
    let on_a = SocketAddr::from((RelayLab::A_IP, 3341));
    let _listener = TestRelay::start(&lab.a, on_a);
    assert!(!RelayLab::connects(&lab.b, on_a), "b reaches a directly");
}

/// Regression test for "a friend behind a router is unreachable after pairing": a pairing stored
/// only the friend's direct addresses, and dialling used only those, so two homes that reach
/// each other only through a relay paired (the ticket carries the inviter's relay) and then
/// never synced.
#[test]
fn two_homes_that_reach_each_other_only_through_a_relay_pair_and_then_sync_both_ways() {
    if !tapin_e2e::lab::available() {
        return;
    }
    let lab = RelayLab::start();
    let relay = lab.relay_url();
    let maya = lab_home("Maya", "maya-laptop", &relay);
    let jordan = lab_home("Jordan", "jordan-phone", &relay);

    // Maya (in a) invites; Jordan (in b) joins through the relay the ticket names.
    let mut invite = lab.a.spawn(
        lab_cmd(
            &maya,
            &relay,
            &["--json", "invite", "--yes", "--expires", "2m"],
        ),
        None,
    );
    let ticket = ticket_of(&invite.next_line(NET_TIMEOUT));
    let join = lab.b.run(lab_cmd(
        &jordan,
        &relay,
        &["--json", "join", &ticket, "--yes"],
    ));
    both_paired(ticket, &invite.wait(NET_TIMEOUT), &join);

    // Maya dials Jordan's node: his direct address is unreachable from her namespace.
    maya.ok(&["thanks", "Jordan", "Thanks for the lift, via the relay"]);
    {
        let mut serve = lab.b.spawn(lab_cmd(&jordan, &relay, &["serve"]), None);
        eventually(NET_TIMEOUT, "Jordan's `tapin serve` to listen", || {
            serve.stderr().contains("Serving as") || !serve.running()
        });
        assert!(serve.running(), "tapin serve stopped:\n{}", serve.stderr());
        // Without a relay of her own, Maya's tapin cannot use his, and says so.
        let off = lab.a.run(lab_cmd(&maya, "none", &["sync", "Jordan"]));
        assert_eq!(off.code, Some(1), "{}\n{}", off.stdout, off.stderr);
        assert!(
            off.stderr.contains(&format!(
                "they can also be reached through their relay {relay}/, but this home uses no \
                 relay (relay: none)"
            )),
            "{}",
            off.stderr
        );
        let sync = lab
            .a
            .run(lab_cmd(&maya, &relay, &["--json", "sync", "Jordan"]));
        assert_eq!(
            sync.code,
            Some(0),
            "Maya could not sync with Jordan through the relay:\nstdout: {}\nstderr: {}",
            sync.stdout,
            sync.stderr
        );
        assert!(
            has_thanks(&jordan, "Maya", "Thanks for the lift, via the relay"),
            "Maya's thanks did not reach Jordan"
        );
    }

    // And back: Jordan dials Maya's node.
    jordan.ok(&["thanks", "Maya", "Thanks for dinner, via the relay"]);
    let mut serve = lab.a.spawn(lab_cmd(&maya, &relay, &["serve"]), None);
    eventually(NET_TIMEOUT, "Maya's `tapin serve` to listen", || {
        serve.stderr().contains("Serving as") || !serve.running()
    });
    let sync = lab
        .b
        .run(lab_cmd(&jordan, &relay, &["--json", "sync", "Maya"]));
    assert_eq!(
        sync.code,
        Some(0),
        "Jordan could not sync with Maya through the relay:\nstdout: {}\nstderr: {}",
        sync.stdout,
        sync.stderr
    );
    assert!(
        has_thanks(&maya, "Jordan", "Thanks for dinner, via the relay"),
        "Jordan's thanks did not reach Maya"
    );
    assert!(serve.running(), "Maya's node stopped:\n{}", serve.stderr());

    // Both nodes online: `tapin serve`'s dialler goes through the relay too, and a write on one
    // side is pushed to the other as it happens.
    let mut jordan_serve = lab.b.spawn(lab_cmd(&jordan, &relay, &["serve"]), None);
    eventually(
        NET_TIMEOUT,
        "the two nodes to connect through the relay",
        || jordan_serve.stderr().contains("Maya: connected") || !jordan_serve.running(),
    );
    assert!(jordan_serve.running(), "{}", jordan_serve.stderr());
    jordan.ok(&["thanks", "Maya", "Pushed live, via the relay"]);
    eventually(NET_TIMEOUT, "Jordan's write to reach Maya live", || {
        has_thanks(&maya, "Jordan", "Pushed live, via the relay")
    });
}

// ---------------------------------------------------------------------------------------------
// On 127.0.0.1: two homes paired through the binary, and endpoints in this process playing a
// friend's device on another version.

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Maya and Jordan on stable loopback ports, paired through the binary (Maya invited).
struct Friends {
    maya: Home,
    jordan: Home,
    maya_port: u16,
    jordan_port: u16,
}

fn paired() -> Friends {
    let [maya_port, jordan_port] = free_udp_ports::<2>();
    let maya = Home::init_net("Maya", "maya-laptop", maya_port);
    let jordan = Home::init_net("Jordan", "jordan-phone", jordan_port);
    pair(&maya, &jordan);
    Friends {
        maya,
        jordan,
        maya_port,
        jordan_port,
    }
}

/// Where `home` last knew `person`'s one device to be: its addresses and relay, as stored.
fn known_reach(home: &Home, person: &str) -> (Vec<String>, Option<String>) {
    let rel = home.relationship(person);
    let (store, _) = home.store_and_key();
    let doc = store
        .load(&DocId::Private)
        .expect("load the private document")
        .expect("a private document");
    let private = docs::read_private(&doc).expect("read the private document");
    let peer = private.relationships[&rel].peer.clone().expect("paired");
    let (_, device) = peer.devices.into_iter().next().expect("one device");
    (device.addrs, device.relay)
}

/// Everything a sync with the friend of relationship `rel` (device `device`) could write in
/// `home`: the versions of the three documents involved, the sync states and the friend's
/// signed heads. Equal before and after: nothing was written.
fn sync_footprint(home: &Home, rel: Id, device: DeviceId) -> impl PartialEq + std::fmt::Debug {
    let (store, _) = home.store_and_key();
    let key = device.to_bytes();
    let version = |doc: DocId| store.doc_version(&doc).expect("a document version");
    let state = |doc: DocId| store.get_sync_state(&doc, &key).expect("a sync state");
    (
        [
            version(DocId::Private),
            version(DocId::Side(rel)),
            version(DocId::Replica(rel)),
        ],
        state(DocId::Side(rel)),
        state(DocId::Replica(rel)),
        store
            .get_meta(tapin_store::MetaKey::ReplicaHeads(rel))
            .expect("the heads meta key"),
    )
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// Where to dial `home`'s device on 127.0.0.1:`port`.
fn dial_at(home: &Home, port: u16) -> EndpointAddr {
    endpoint::dial_addr(
        home.store_and_key().1.id(),
        &Reach {
            addrs: vec![loopback(port)],
            relay: None,
        },
        false,
    )
    .expect("a device id is an endpoint id")
}

/// An endpoint with `key` on 127.0.0.1:`port` (0: any), accepting `alpns` from anyone.
async fn endpoint_as(key: &DeviceKey, port: u16, alpns: &[&[u8]]) -> Endpoint {
    let config = NetConfig {
        port,
        ..NetConfig::loopback()
    };
    endpoint::bind(
        key.secret(),
        &config,
        Arc::new(Anyone),
        alpns.iter().map(|a| a.to_vec()).collect(),
    )
    .await
    .expect("bind a test endpoint")
}

/// An application close code and its reason.
type Closed = Option<(u64, String)>;

/// What a [`FakePeer`] saw of one connection: the ALPN chosen, and how it ended.
type Seen = (Vec<u8>, Closed);

/// The application close code and reason a connection ended with, if it was closed with one.
fn closed_with(err: &ConnectionError) -> Closed {
    match err {
        ConnectionError::ApplicationClosed(close) => Some((
            close.error_code.into_inner(),
            String::from_utf8_lossy(&close.reason).into_owned(),
        )),
        _ => None,
    }
}

/// How a connection a test endpoint dialled or accepted ended.
async fn ending(conn: &Connection) -> Closed {
    let err = tokio::time::timeout(NET_TIMEOUT, conn.closed())
        .await
        .expect("the connection was closed in time");
    closed_with(&err)
}

/// A friend's device on an older or newer tapin, at its stable address: accepts connections
/// on `alpns` and, for each, either closes it with `close` right after the handshake (a
/// future build's answer) or waits for the other side to close it. Records how each ended.
struct FakePeer {
    ep: Endpoint,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl FakePeer {
    async fn start(
        key: &DeviceKey,
        port: u16,
        alpns: &[&[u8]],
        close: Option<(u32, &str)>,
    ) -> Self {
        let ep = endpoint_as(key, port, alpns).await;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let close = close.map(|(code, why)| (code, why.as_bytes().to_vec()));
        let task = tokio::spawn({
            let (ep, seen) = (ep.clone(), seen.clone());
            async move {
                while let Some(incoming) = ep.accept().await {
                    let Ok(conn) = incoming.await else { continue };
                    let (seen, close) = (seen.clone(), close.clone());
                    tokio::spawn(async move {
                        if let Some((code, why)) = &close {
                            conn.close((*code).into(), why);
                        }
                        let ended = closed_with(&conn.closed().await);
                        if let Ok(mut seen) = seen.lock() {
                            seen.push((conn.alpn().to_vec(), ended));
                        }
                    });
                }
            }
        });
        FakePeer { ep, seen, task }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    async fn stop(self) {
        self.ep.close().await;
        self.task.abort();
    }
}

/// `tapin sync PERSON` in text mode, and again with `--json`.
fn sync_twice(home: &Home, person: &str) -> (Run, Run) {
    (
        home.net_run(&["sync", person]),
        home.net_run(&["--json", "sync", person]),
    )
}

/// Regression test for "a friend's address changes and they are never found again": a
/// pairing stored the addresses a friend had then, and nothing ever updated them. Now each
/// sync/3 exchange opens with both sides saying where they are, and the store keeps that current.
#[test]
fn a_friend_whose_address_and_relay_changed_since_pairing_is_updated_at_the_next_contact() {
    let Friends {
        maya,
        jordan,
        jordan_port,
        ..
    } = paired();
    let [moved] = free_udp_ports::<1>();
    assert_eq!(
        known_reach(&maya, "Jordan"),
        (vec![loopback(jordan_port).to_string()], None)
    );
    // Jordan's home now listens elsewhere and uses a relay (one on loopback, for this test).
    let relay = TestRelay::start_on_loopback(loopback(0));
    let relay_url = relay.url(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let moved_cmd = |args: &[&str]| {
        let mut cmd = jordan.net_cmd(args);
        cmd.env("TAPIN_PORT", moved.to_string())
            .env("TAPIN_RELAY", &relay_url);
        cmd
    };

    // Before any contact, Maya dials where Jordan was, and finds nobody.
    {
        let mut serve = Background::spawn(moved_cmd(&["serve"]), None);
        eventually(NET_TIMEOUT, "Jordan's node to listen", || {
            serve.stderr().contains("Serving as") || !serve.running()
        });
        let run = maya.net_run(&["--json", "sync", "Jordan"]);
        assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
        // Not at the address Maya knows; with mDNS off and no relay, tapin looked nowhere else.
        assert_eq!(last_json(&run.stdout)["friends"][0]["reason"], "mdns-off");
    }

    // Jordan syncs with Maya's node: he says where he is now, and her node stores it.
    let private_version = || {
        maya.store_and_key()
            .0
            .doc_version(&DocId::Private)
            .expect("a version")
    };
    {
        let _serve = maya.start_serve();
        let run = Background::spawn(moved_cmd(&["--json", "sync", "Maya"]), None).wait(NET_TIMEOUT);
        assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
        let want = (
            vec![loopback(moved).to_string()],
            Some(format!("{relay_url}/")),
        );
        eventually(NET_TIMEOUT, "Maya to store Jordan's new address", || {
            known_reach(&maya, "Jordan") == want
        });
        // Once known, the same news writes nothing.
        let before = private_version();
        let run = Background::spawn(moved_cmd(&["--json", "sync", "Maya"]), None).wait(NET_TIMEOUT);
        assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
        assert_eq!(
            private_version(),
            before,
            "an unchanged address was written again"
        );
        assert_eq!(known_reach(&maya, "Jordan"), want);
    }

    // And Maya now reaches him where he is.
    let mut serve = Background::spawn(moved_cmd(&["serve"]), None);
    eventually(NET_TIMEOUT, "Jordan's node to listen", || {
        serve.stderr().contains("Serving as") || !serve.running()
    });
    maya.ok(&["thanks", "Jordan", "Found you at your new address"]);
    maya.sync_with("Jordan");
    assert!(has_thanks(&jordan, "Maya", "Found you at your new address"));
}

/// A friend still on `tapin/sync/1` dials `tapin serve`: both people read why they do not sync,
/// and nothing is written.
#[test]
fn a_friend_on_sync_1_dialling_tapin_serve_hears_to_update_and_serve_says_they_are_older() {
    let Friends {
        maya,
        jordan,
        maya_port,
        ..
    } = paired();
    let rel = maya.relationship("Jordan");
    let (_, jordan_key) = jordan.store_and_key();
    let serve = maya.start_serve();
    let before = sync_footprint(&maya, rel, jordan_key.id());

    let rt = runtime();
    let ended = rt.block_on(async {
        let ep = endpoint_as(&jordan_key, 0, &[]).await;
        let ended = match tokio::time::timeout(
            NET_TIMEOUT,
            ep.connect(dial_at(&maya, maya_port), SYNC_ALPN_V1),
        )
        .await
        .expect("the dial finished in time")
        {
            Ok(conn) => {
                assert_eq!(conn.alpn(), SYNC_ALPN_V1);
                ending(&conn).await
            }
            Err(ConnectError::Connection { source, .. }) => closed_with(&source),
            Err(other) => panic!("the dial failed: {other:#}"),
        };
        ep.close().await;
        ended
    });
    assert_eq!(
        ended,
        Some((
            u64::from(OUTDATED),
            "Maya's tapin is newer; update tapin to sync with Maya".to_owned()
        ))
    );
    let mut serve = serve;
    eventually(NET_TIMEOUT, "Maya's node to say why", || {
        serve
            .stderr()
            .contains("Jordan's tapin is older; they need to update to sync with you")
    });
    assert!(serve.running(), "{}", serve.stderr());
    assert!(
        !serve.stderr().contains("not reachable"),
        "{}",
        serve.stderr()
    );
    assert_eq!(sync_footprint(&maya, rel, jordan_key.id()), before);
}

/// `tapin sync` dials a friend whose device only speaks `tapin/sync/1`: it says they are older
/// (on both ends), exits 1, and writes nothing; `tapin serve`'s dialler says it once.
#[test]
fn tapin_sync_to_a_friend_on_sync_1_says_they_are_older_exits_1_and_writes_nothing() {
    let Friends {
        maya,
        jordan,
        jordan_port,
        ..
    } = paired();
    let (_, jordan_key) = jordan.store_and_key();
    let rt = runtime();
    let old = rt.block_on(FakePeer::start(
        &jordan_key,
        jordan_port,
        &[SYNC_ALPN_V1],
        None,
    ));
    let before = maya.snapshot();

    let (text, json) = sync_twice(&maya, "Jordan");
    for run in [&text, &json] {
        assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
        assert!(
            run.stderr
                .contains("Jordan's tapin is older; they need to update to sync with you"),
            "{}",
            run.stderr
        );
        assert!(!run.stderr.contains("not reachable"), "{}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
    assert!(
        text.stdout
            .contains("Jordan's tapin is older; they need to update to sync with you"),
        "{}",
        text.stdout
    );
    let row = &last_json(&json.stdout)["friends"][0];
    assert_eq!(row["reached"], false, "{row:#}");
    assert_eq!(row["reason"], "their-tapin-is-older", "{row:#}");
    assert_eq!(
        maya.snapshot(),
        before,
        "a sync that did not happen wrote to Maya's home"
    );
    eventually(
        NET_TIMEOUT,
        "the old device to see both connections end",
        || old.seen().len() == 2,
    );
    for (alpn, ended) in old.seen() {
        assert_eq!(alpn, SYNC_ALPN_V1);
        assert_eq!(
            ended,
            Some((
                u64::from(OUTDATED),
                "Maya's tapin is newer; update tapin to sync with Maya".to_owned()
            ))
        );
    }

    // Maya's node dials him with backoff, and says so once, not at every dial.
    let mut serve = maya.start_serve();
    eventually(NET_TIMEOUT, "Maya's node to dial Jordan twice", || {
        old.seen().len() >= 4
    });
    let said = serve
        .stderr()
        .matches("Jordan's tapin is older; they need to update to sync with you")
        .count();
    assert_eq!(said, 1, "{}", serve.stderr());
    assert!(serve.running());
    rt.block_on(old.stop());
}

/// A friend whose tapin is newer and no longer syncs on any version this build offers answers
/// with close code 426: the message says to update, not that they are unreachable.
#[test]
fn a_friend_whose_tapin_no_longer_syncs_with_this_version_says_to_update_tapin() {
    let Friends {
        maya,
        jordan,
        jordan_port,
        ..
    } = paired();
    let (_, jordan_key) = jordan.store_and_key();
    let rt = runtime();
    // A future build: sync/3 and sync/2 are served only to say "update".
    let newer = rt.block_on(FakePeer::start(
        &jordan_key,
        jordan_port,
        &[SYNC_ALPN, SYNC_ALPN_V2],
        Some((
            OUTDATED,
            "Jordan's tapin is newer; update tapin to sync with Jordan",
        )),
    ));
    let before = maya.snapshot();
    let (text, json) = sync_twice(&maya, "Jordan");
    for run in [&text, &json] {
        assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains(
                // Text says "error: …", and `--json` puts the same words in {"error": …}.
                "Jordan's tapin is newer and no longer syncs with this version; update tapin"
            ),
            "{}",
            run.stderr
        );
    }
    assert_eq!(
        last_json(&json.stdout)["friends"][0]["reason"],
        "their-tapin-is-newer"
    );
    assert_eq!(maya.snapshot(), before);
    assert!(
        newer.seen().iter().all(|(alpn, _)| alpn == SYNC_ALPN),
        "the newest version both speak is chosen: {:?}",
        newer.seen()
    );
    rt.block_on(newer.stop());
}

/// Something at the friend's address that speaks no sync ALPN at all (here the friend's own
/// `tapin invite`, holding his home's port) is not taken for a version difference.
#[test]
fn a_handshake_with_no_common_protocol_says_what_answered_is_not_serving_sync() {
    let Friends { maya, jordan, .. } = paired();
    let mut invite = jordan.spawn(&["--json", "invite", "--yes", "--expires", "2m"]);
    let _ticket = invite.next_line(NET_TIMEOUT);
    let run = maya.net_run(&["sync", "Jordan"]);
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("does not serve tapin sync"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("tapin is older"), "{}", run.stderr);
}

/// Release c2a9253's half of sync: `tapin/sync/2`, no reach frame, offered alone. This build
/// still syncs with it both ways, as dialler and as node.
#[test]
fn a_friend_on_sync_2_still_syncs_with_this_build_both_ways() {
    let Friends {
        maya,
        jordan,
        maya_port,
        jordan_port,
    } = paired();
    maya.ok(&["thanks", "Jordan", "From the new build, over sync/2"]);
    jordan.ok(&["thanks", "Maya", "From the old build, over sync/2"]);
    let (jordan_store, jordan_key) = jordan.store_and_key();
    let link = tapin_net::sync::link_for(&jordan_store, maya.store_and_key().1.id())
        .expect("Jordan's links")
        .expect("Jordan is paired with Maya's device");
    let maya_device = maya.store_and_key().1.id();
    let jordan_store = SharedStore::new(jordan_store);
    let rt = runtime();

    // Jordan's old device dials Maya's `tapin serve`, offering only sync/2.
    let serve = maya.start_serve();
    let stats = rt.block_on(async {
        let ep = endpoint_as(&jordan_key, 0, &[]).await;
        let conn = tokio::time::timeout(
            NET_TIMEOUT,
            ep.connect(dial_at(&maya, maya_port), SYNC_ALPN_V2),
        )
        .await
        .expect("in time")
        .expect("Maya's node accepts sync/2");
        assert_eq!(conn.alpn(), SYNC_ALPN_V2);
        let (mut send, mut recv) = conn.open_bi().await.expect("a stream");
        let stats = tapin_net::sync::exchange(
            &jordan_store,
            &jordan_key,
            &link,
            maya_device,
            &mut send,
            &mut recv,
            true,
            &Wire::V2,
            None,
            &Timeouts::default(),
        )
        .await
        .expect("an exchange on sync/2");
        let _ = send.finish();
        conn.close(0u32.into(), b"done");
        ep.close().await;
        stats
    });
    assert!(stats.received_changes > 0, "{stats:?}");
    assert!(has_thanks(
        &jordan,
        "Maya",
        "From the new build, over sync/2"
    ));
    eventually(NET_TIMEOUT, "Maya's node to store Jordan's side", || {
        has_thanks(&maya, "Jordan", "From the old build, over sync/2")
    });
    drop(serve);

    // Maya's `tapin sync` dials Jordan's old node, which serves only sync/2.
    maya.ok(&["thanks", "Jordan", "Second, as dialler"]);
    let store = jordan_store.clone();
    let node = rt.block_on(async {
        let ep = endpoint_as(&jordan_key, jordan_port, &[SYNC_ALPN_V2]).await;
        let (store, key, link) = (store.clone(), jordan_key.clone(), link.clone());
        let task = tokio::spawn({
            let ep = ep.clone();
            async move {
                let conn = ep
                    .accept()
                    .await
                    .expect("Maya dials")
                    .await
                    .expect("handshake");
                let alpn = conn.alpn().to_vec();
                let (mut send, mut recv) = conn.accept_bi().await.expect("Maya's stream");
                let result = tapin_net::sync::exchange(
                    &store,
                    &key,
                    &link,
                    maya_device,
                    &mut send,
                    &mut recv,
                    false,
                    &Wire::V2,
                    None,
                    &Timeouts::default(),
                )
                .await
                .map_err(|e| e.to_string());
                let _ = send.finish();
                let _ = tokio::time::timeout(NET_TIMEOUT, conn.closed()).await;
                (alpn, result)
            }
        });
        (ep, task)
    });
    let report = maya.sync_with("Jordan");
    assert_eq!(report["reached"], true);
    let (alpn, result) = rt
        .block_on(async { tokio::time::timeout(NET_TIMEOUT, node.1).await })
        .expect("the old node finished")
        .expect("the old node's task");
    assert_eq!(alpn, SYNC_ALPN_V2, "this build must fall back to sync/2");
    result.expect("the old node's exchange");
    assert!(has_thanks(&jordan, "Maya", "Second, as dialler"));
    rt.block_on(node.0.close());
}

/// Release c2a9253's joiner: `tapin/pair/1`, a join request without a relay, offered alone, played
/// here byte for byte. This build's `tapin invite` pairs with it and stores its address.
#[test]
fn a_joiner_on_pair_1_pairs_with_this_builds_invitation() {
    let [maya_port, jordan_port] = free_udp_ports::<2>();
    let maya = Home::init_net("Maya", "maya-laptop", maya_port);
    let jordan = Home::init_net("Jordan", "jordan-phone", jordan_port);
    let (jordan_store, jordan_key) = jordan.store_and_key();
    let cert = DeviceCertificate::from_bytes(
        &jordan_store
            .get_meta(tapin_store::MetaKey::DeviceCert)
            .expect("read the store")
            .expect("a certificate"),
    )
    .expect("a valid certificate");

    let mut invite = maya.spawn(&["--json", "invite", "--yes", "--expires", "2m"]);
    let ticket = ticket_of(&invite.next_line(NET_TIMEOUT));
    let inv = Invitation::from_ticket(&ticket).expect("the ticket parses");
    let rt = runtime();
    let (alpn, code) = rt.block_on(async {
        let ep = endpoint_as(&jordan_key, 0, &[]).await;
        let to = endpoint::dial_addr(inv.endpoint, &inv.reach(), false).expect("an address");
        let conn = tokio::time::timeout(NET_TIMEOUT, ep.connect(to, PAIR_ALPN_V1))
            .await
            .expect("in time")
            .expect("Maya's invitation accepts pair/1");
        let alpn = conn.alpn().to_vec();
        let (mut send, mut recv) = conn.open_bi().await.expect("a stream");
        let reach = Reach {
            addrs: vec![loopback(jordan_port)],
            relay: None,
        };
        let request = JoinRequestV1::from(pairing::join_request(&inv, "Jordan", &cert, reach));
        frame::write(&mut send, &request).await.expect("send");
        let welcome: JoinResponse = frame::read(&mut recv, FRAME_CAP).await.expect("an answer");
        let maya_device = pairing::check_welcome(&inv, &welcome, inv.endpoint, jordan_key.id())
            .expect("Maya's welcome verifies");
        frame::write(&mut send, &Confirm { accepted: true })
            .await
            .expect("confirm");
        let theirs: Confirm = frame::read(&mut recv, FRAME_CAP)
            .await
            .expect("her confirmation");
        assert!(theirs.accepted);
        conn.close(0u32.into(), b"paired");
        ep.close().await;
        (
            alpn,
            pairing::safety_code(&inv.secret, &cert, &maya_device.cert),
        )
    });
    assert_eq!(alpn, PAIR_ALPN_V1);
    let invited = invite.wait(NET_TIMEOUT);
    assert_eq!(invited.code, Some(0), "{}", invited.stderr);
    assert_eq!(last_json(&invited.stdout)["code"], code.as_str());
    assert_eq!(
        known_reach(&maya, "Jordan"),
        (vec![loopback(jordan_port).to_string()], None)
    );
}

/// The invitations of an inviter played in this process.
#[derive(Debug)]
struct OneInvitation(Invitation, Mutex<bool>);

impl Invitations for OneInvitation {
    fn lookup(&self, id: &InviteId) -> Result<Invitation, InvitationError> {
        (*id == self.0.id())
            .then(|| self.0.clone())
            .ok_or(InvitationError::Unknown)
    }
    fn claim(&self, _id: &InviteId) -> Result<(), InvitationError> {
        let mut used = self.1.lock().expect("not poisoned");
        if std::mem::replace(&mut *used, true) {
            return Err(InvitationError::Used);
        }
        Ok(())
    }
}

/// Release c2a9253's inviter, which serves only `tapin/pair/1`: this build's `tapin join` falls
/// back to it and pairs, and stores the relay the ticket names.
#[test]
fn this_builds_joiner_pairs_with_an_inviter_on_pair_1() {
    let [jordan_port, old_port] = free_udp_ports::<2>();
    let jordan = Home::init_net("Jordan", "jordan-phone", jordan_port);
    let olive = PersonKey::from_secret([0x61; 32]);
    let device = DeviceKey::from_secret([0x62; 32]);
    let now = Timestamp::from_datetime(chrono::Utc::now());
    let cert = olive.certify(device.id(), "old-laptop", now);
    let inv = Invitation::new(
        &olive,
        "Olive",
        device.id(),
        vec![loopback(old_port)],
        Some("http://relay.example.invalid".to_owned()),
        [0x63; 32],
        Timestamp(now.0 + 3_600_000),
    );
    let ticket = inv.ticket().to_string();
    // `pair::accept`'s future borrows the invitations (not `Sync`): it runs on a thread of its
    // own, and reports back on a channel the test waits on with a bound.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn({
        let (inv, cert, device) = (inv.clone(), cert.clone(), device.clone());
        move || {
            let result = runtime().block_on(async {
                let ep = endpoint_as(&device, old_port, &[PAIR_ALPN_V1]).await;
                let conn = ep
                    .accept()
                    .await
                    .expect("Jordan dials")
                    .await
                    .expect("handshake");
                let alpn = conn.alpn().to_vec();
                let invitations = Arc::new(OneInvitation(inv, Mutex::new(false)));
                let pending =
                    tapin_net::pair::accept(conn, invitations, &cert, &Timeouts::default())
                        .await
                        .expect("Jordan's request checks");
                let reach = pending.peer_reach.clone();
                pending.finish(true).await.expect("both confirmed");
                ep.close().await;
                (alpn, reach)
            });
            let _ = tx.send(result);
        }
    });
    // The relay in the ticket cannot be reached from here, and this home has none of its own:
    // the direct address is what works.
    let join = jordan.net_run(&["--json", "join", &ticket, "--yes"]);
    assert_eq!(join.code, Some(0), "{}\n{}", join.stdout, join.stderr);
    let (alpn, reach) = rx.recv_timeout(NET_TIMEOUT).expect("the inviter finished");
    assert_eq!(alpn, PAIR_ALPN_V1);
    assert_eq!(reach.relay, None, "pair/1 has no relay");
    assert_eq!(reach.addrs, vec![loopback(jordan_port)]);
    assert_eq!(
        known_reach(&jordan, "Olive"),
        (
            vec![loopback(old_port).to_string()],
            Some("http://relay.example.invalid/".to_owned())
        )
    );
}

/// A paired friend's reach frame that breaks the caps is refused like any broken frame: the
/// connection is closed with 400 and nothing of it is stored.
#[test]
fn a_reach_frame_over_its_caps_is_refused_and_nothing_is_stored() {
    let Friends {
        maya,
        jordan,
        maya_port,
        ..
    } = paired();
    let rel = maya.relationship("Jordan");
    let (_, jordan_key) = jordan.store_and_key();
    let _serve = maya.start_serve();
    let before = (
        known_reach(&maya, "Jordan"),
        sync_footprint(&maya, rel, jordan_key.id()),
    );
    let too_many = Reach {
        addrs: (1..=17).map(|p| loopback(40_000 + p)).collect(),
        relay: None,
    };
    let bad_relay = Reach {
        addrs: vec![loopback(40_000)],
        relay: Some("http://relay.example.org:99999".to_owned()),
    };
    let rt = runtime();
    let mut oversized = (REACH_CAP + 1).to_be_bytes().to_vec();
    oversized.extend(std::iter::repeat_n(0u8, 64));
    // Each payload, and what the refusal says: at once, not after the 30 s a silent peer gets.
    let payloads: Vec<(Vec<u8>, &str)> = vec![
        (
            framed(&too_many),
            "refused the peer's addresses: 17 addresses",
        ),
        (
            framed(&bad_relay),
            "refused the peer's addresses: relay URL",
        ),
        (oversized, "over the 2048-byte cap"),
        // A sync/2 first frame where sync/3 wants the reach.
        (
            framed(&tapin_core::sync::Frame::EndOfBatch),
            "malformed message",
        ),
    ];
    for (payload, why) in payloads {
        let started = std::time::Instant::now();
        let (got, ended) = rt.block_on(async {
            let ep = endpoint_as(&jordan_key, 0, &[]).await;
            let conn = ep
                .connect(dial_at(&maya, maya_port), SYNC_ALPN_V3)
                .await
                .expect("Maya's node accepts Jordan");
            let (mut send, mut recv) = conn.open_bi().await.expect("a stream");
            let _ = send.write_all(&payload).await;
            let mut got = Vec::new();
            let _ = tokio::time::timeout(REFUSAL, async {
                let mut buf = [0u8; 1024];
                while let Ok(Some(n)) = recv.read(&mut buf).await {
                    got.extend_from_slice(&buf[..n]);
                }
            })
            .await;
            let ended = ending(&conn).await;
            ep.close().await;
            (got, ended)
        });
        assert!(
            started.elapsed() < REFUSAL,
            "{why}: took {:?}",
            started.elapsed()
        );
        assert_eq!(got, Vec::<u8>::new(), "{why}: Maya's node answered");
        let (code, reason) = ended.unwrap_or_else(|| panic!("{why}: not closed with a code"));
        assert_eq!(code, u64::from(VIOLATION), "{why}: {reason}");
        assert!(reason.contains(why), "want {why:?} in {reason:?}");
    }
    assert_eq!(
        (
            known_reach(&maya, "Jordan"),
            sync_footprint(&maya, rel, jordan_key.id())
        ),
        before
    );
}

/// How soon a broken frame must be refused: well under the 30 s a silent peer is given.
const REFUSAL: Duration = Duration::from_secs(10);

/// A frame as the wire carries it: length, then the postcard body.
fn framed(msg: &impl serde::Serialize) -> Vec<u8> {
    let body = postcard::to_stdvec(msg).expect("encode");
    let mut out = (body.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(&body);
    out
}
