//! Syncing the shared sides of paired homes, end to end: real homes on disk, real iroh endpoints on
//! 127.0.0.1 (no relay, no mDNS), the real binary wherever a person would use it (`tapin serve`,
//! `tapin sync`, `tapin show`), and the library where a test must see the bytes on the wire.
//!
//! Each home listens on a stable port chosen at `tapin init`, because a friend dials the address
//! it learned at pairing. A background `tapin serve` is killed (SIGKILL) when dropped.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use automerge::sync::SyncDoc;
use iroh::endpoint::{ConnectError, ConnectionError, RecvStream};
use iroh::{EndpointAddr, PublicKey, TransportAddr};
use serde_json::Value;
use tapin_core::identity::DeviceId;
use tapin_core::model::SideRecords;
use tapin_core::sync::{Frame, WireDoc};
use tapin_core::{DocId, docs};
use tapin_e2e::gates::Nobody;
use tapin_e2e::{
    Background, Home, NET_TIMEOUT, contains_bytes, eventually, free_udp_port, id_of, pair,
};
use tapin_net::endpoint::{self, Advertise, Gate, NetConfig, REFUSED, Relay};
use tapin_net::gate::HomeGate;
use tapin_net::shared::SharedStore;
use tapin_net::sync::{Tap, Wire, exchange, link_for};
use tapin_net::{SYNC_ALPN, Timeouts, frame};
use tapin_store::Store;

/// How long a write may take to reach a connected friend's replica with both nodes online.
const LIVE: Duration = Duration::from_secs(10);

/// Two free UDP ports, distinct.
fn two_ports() -> (u16, u16) {
    let a = free_udp_port();
    loop {
        let b = free_udp_port();
        if b != a {
            return (a, b);
        }
    }
}

/// Maya and Jordan, paired through the real binary (Maya invited).
struct Friends {
    maya: Home,
    jordan: Home,
    /// The ticket Jordan used.
    ticket: String,
    /// Where Maya's home listens, as Jordan learned it.
    maya_addr: SocketAddr,
}

/// Maya and Jordan, each on a stable loopback port, paired.
fn paired() -> Friends {
    let (maya_port, jordan_port) = two_ports();
    let maya = Home::init_net("Maya", "maya-laptop", maya_port);
    let jordan = Home::init_net("Jordan", "jordan-phone", jordan_port);
    let ticket = pair(&maya, &jordan).ticket;
    Friends {
        maya,
        jordan,
        ticket,
        maya_addr: SocketAddr::from(([127, 0, 0, 1], maya_port)),
    }
}

/// `tapin --json show PERSON`: the relationship's page.
fn show(home: &Home, person: &str) -> Value {
    home.json(&["show", person])
}

/// The records of document `doc` of `home` (empty if never written).
fn records(home: &Home, doc: DocId) -> SideRecords {
    let (store, _) = home.store_and_key();
    match (store.load(&doc).expect("load the document"), doc) {
        (None, _) => SideRecords::default(),
        (Some(d), DocId::Side(rel)) => docs::read_side(&d, rel).expect("read the side"),
        (Some(d), DocId::Replica(rel)) => docs::read_replica(&d, rel).expect("read the replica"),
        (Some(_), other) => panic!("{other} is not a side"),
    }
}

/// What `home` shares with `person`: its side of their relationship.
fn shared_with(home: &Home, person: &str) -> SideRecords {
    records(home, DocId::Side(home.relationship(person)))
}

/// The friend's side as `reader` holds it must be exactly what the writer shares, and verified
/// as signed by the writer's device.
#[track_caller]
fn holds_exactly(reader: &Home, writer_name: &str, writer: &Home, reader_name: &str) {
    assert_eq!(
        reader.replica_of(writer_name),
        shared_with(writer, reader_name),
        "{reader_name}'s replica of {writer_name}'s side differs from what {writer_name} shares"
    );
    let seen = show(reader, writer_name);
    assert_eq!(
        seen["their_side"]["verified"], true,
        "{reader_name} cannot verify {writer_name}'s side:\n{seen:#}"
    );
    assert_eq!(
        seen["their_side"]["device"],
        writer.json(&["whoami"])["device"],
        "the heads should be signed by {writer_name}'s device"
    );
}

#[track_caller]
fn assert_reached(report: &Value, name: &str) {
    assert_eq!(report["name"], name, "{report:#}");
    assert_eq!(report["reached"], true, "{report:#}");
}

#[test]
fn shared_goals_steps_checkins_and_thanks_reach_the_friend_and_private_ones_do_not() {
    let Friends { maya, jordan, .. } = paired();
    let goal = maya.id(&[
        "goal",
        "add",
        "Jordan",
        "Run a 10k together",
        "--step",
        "Pick a race",
        "--step",
        "Train twice a week",
        "--share",
    ]);
    maya.ok(&["goal", "step", "done", &goal, "1"]);
    let checkin = maya.id(&[
        "checkin",
        "Jordan",
        "--rating",
        "4",
        "--went-well",
        "We laughed a lot",
        "--share",
    ]);
    let thanks = maya.id(&["thanks", "Jordan", "Thank you for the soup"]);
    let private_goal = maya.id(&["goal", "add", "Jordan", "Be less defensive, quietly"]);
    let private_checkin = maya.id(&[
        "checkin",
        "Jordan",
        "--rating",
        "2",
        "--went-well",
        "I felt unheard, privately",
    ]);
    let jordan_goal = jordan.id(&["goal", "add", "Maya", "Plan a weekend trip", "--share"]);

    let _serve = jordan.start_serve();
    let report = maya.sync_with("Jordan");
    assert_reached(&report, "Jordan");
    assert!(
        report["sent_bytes"].as_u64() > Some(0),
        "Maya sent nothing:\n{report:#}"
    );
    assert!(
        report["received_changes"].as_u64() >= Some(1),
        "Jordan's goal did not come back in the same exchange:\n{report:#}"
    );

    let theirs = jordan.replica_of("Maya");
    let g = &theirs.goals[&id_of(&goal)];
    assert_eq!(g.title, "Run a 10k together");
    let mut steps: Vec<(&str, bool)> = g
        .objectives
        .values()
        .map(|o| (o.text.as_str(), o.done))
        .collect();
    steps.sort();
    assert_eq!(
        steps,
        [("Pick a race", true), ("Train twice a week", false)],
        "the goal's steps, one done"
    );
    assert_eq!(theirs.checkins[&id_of(&checkin)].rating, 4);
    assert_eq!(
        theirs.checkins[&id_of(&checkin)].went_well,
        "We laughed a lot"
    );
    assert_eq!(
        theirs.thanks[&id_of(&thanks)].text,
        "Thank you for the soup"
    );
    // The private records: not under their ids, nowhere on Jordan's page, in no file.
    assert!(
        !theirs.goals.contains_key(&id_of(&private_goal)),
        "{theirs:#?}"
    );
    assert!(
        !theirs.checkins.contains_key(&id_of(&private_checkin)),
        "{theirs:#?}"
    );
    let page = show(&jordan, "Maya");
    assert!(
        page["their_goals"].to_string().contains(&goal),
        "Maya's shared goal is not on Jordan's page:\n{page:#}"
    );
    for private in ["Be less defensive, quietly", "I felt unheard, privately"] {
        assert!(
            !page.to_string().contains(private),
            "{private:?} reached Jordan:\n{page:#}"
        );
        assert_eq!(
            jordan.files_containing(private),
            Vec::<std::path::PathBuf>::new(),
            "{private:?} is in Jordan's home"
        );
    }
    assert_eq!(page["their_side"]["verified"], true, "{page:#}");
    holds_exactly(&jordan, "Maya", &maya, "Jordan");

    // The same exchange carried Jordan's side to Maya.
    assert_eq!(
        maya.replica_of("Jordan").goals[&id_of(&jordan_goal)].title,
        "Plan a weekend trip"
    );
    holds_exactly(&maya, "Jordan", &jordan, "Maya");
}

#[test]
fn edits_made_apart_on_both_sides_converge_after_reconnecting() {
    let Friends { maya, jordan, .. } = paired();
    maya.ok(&["thanks", "Jordan", "Before we lost touch"]);
    let goal = maya.id(&[
        "goal",
        "add",
        "Jordan",
        "Call every Sunday",
        "--step",
        "Set a reminder",
        "--share",
    ]);
    // Enough history that the edits made apart are under a third of it: automerge then sends
    // them as changes (several concatenated in one chunk), not as the whole document again.
    for i in 0..10 {
        maya.ok(&["thanks", "Jordan", &format!("Earlier thanks {i}")]);
    }
    {
        let _serve = jordan.start_serve();
        maya.sync_with("Jordan");
    }

    // Apart: both write, neither online.
    maya.ok(&["thanks", "Jordan", "Written apart by Maya"]);
    maya.ok(&["goal", "step", "done", &goal, "1"]);
    maya.ok(&[
        "checkin",
        "Jordan",
        "--rating",
        "5",
        "--went-well",
        "Long walk",
        "--share",
    ]);
    jordan.ok(&["thanks", "Maya", "Written apart by Jordan"]);
    jordan.ok(&["goal", "add", "Maya", "Cook together", "--share"]);
    jordan.ok(&["boundary", "Maya", "No calls after ten"]);

    // Back together, roles swapped: Maya's node is online, Jordan dials.
    let _serve = maya.start_serve();
    let report = jordan.sync_with("Maya");
    assert_reached(&report, "Maya");
    assert_eq!(
        report["received_changes"].as_u64(),
        Some(3),
        "Maya's three edits made apart should arrive, and nothing else:\n{report:#}"
    );
    holds_exactly(&jordan, "Maya", &maya, "Jordan");
    holds_exactly(&maya, "Jordan", &jordan, "Maya");
    let at_jordan = jordan.replica_of("Maya");
    assert!(
        at_jordan.goals[&id_of(&goal)]
            .objectives
            .values()
            .all(|o| o.done),
        "the step Maya completed apart is not done at Jordan's:\n{at_jordan:#?}"
    );
}

/// How many times a `tapin serve` said that `friend` connected.
fn connections(serve: &Background, friend: &str) -> usize {
    serve
        .stderr()
        .matches(&format!("{friend}: connected"))
        .count()
}

#[test]
fn a_node_killed_right_after_acknowledging_keeps_what_it_acknowledged_and_resumes_on_restart() {
    let Friends { maya, jordan, .. } = paired();

    // Acknowledged, then Jordan's node dies at once (SIGKILL): the replica is on disk.
    maya.ok(&["thanks", "Jordan", "Before the crash"]);
    let serve = jordan.start_serve();
    maya.sync_with("Jordan");
    drop(serve);
    holds_exactly(&jordan, "Maya", &maya, "Jordan");

    // Restarted on its port, Jordan's node carries on where it was.
    let serve = jordan.start_serve();
    maya.ok(&["thanks", "Jordan", "After the restart"]);
    maya.ok(&["goal", "add", "Jordan", "Swim in the lake", "--share"]);
    maya.sync_with("Jordan");
    drop(serve);
    holds_exactly(&jordan, "Maya", &maya, "Jordan");

    // The other way: Maya's node receives Jordan's side and dies right after acknowledging it.
    jordan.ok(&["thanks", "Maya", "Jordan's note before Maya's crash"]);
    let serve = maya.start_serve();
    let report = jordan.sync_with("Maya");
    assert!(
        report["sent_bytes"].as_u64() > Some(0),
        "Jordan sent nothing:\n{report:#}"
    );
    drop(serve);
    holds_exactly(&maya, "Jordan", &jordan, "Maya");
}

/// Starts `tapin --json sync PERSON` in `home` and kills it (SIGKILL) the moment `serve` (the
/// friend's node) reports the connection, so it dies mid-exchange (or, on a fast machine, just
/// after).
fn kill_a_sync_mid_way(home: &Home, person: &str, serve: &Background, friend: &str) {
    let before = connections(serve, friend);
    let mut sync = home.spawn(&["--json", "sync", person]);
    let deadline = Instant::now() + NET_TIMEOUT;
    // A tight poll rather than `eventually`: the exchange itself takes only milliseconds.
    while connections(serve, friend) == before && sync.running() {
        assert!(
            Instant::now() < deadline,
            "the friend's node never saw the sync"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    drop(sync);
}

#[test]
fn a_sync_killed_mid_way_can_be_run_again_at_once_and_completes() {
    let Friends { maya, jordan, .. } = paired();
    for i in 0..10 {
        maya.ok(&["thanks", "Jordan", &format!("Note {i} of a long evening")]);
    }
    let serve = jordan.start_serve();
    // A few times, so that at least one kill lands mid-exchange.
    for round in 0..3 {
        kill_a_sync_mid_way(&maya, "Jordan", &serve, "Maya");
        maya.ok(&["thanks", "Jordan", &format!("Written after kill {round}")]);
        // Regression: Jordan's node kept the killed process's connection as Maya's and closed
        // every new one as a duplicate until the old one timed out (30 s).
        let run = maya.net_run(&["--json", "sync", "Jordan"]);
        assert_eq!(
            run.code,
            Some(0),
            "a sync run right after a killed one failed (round {round}):\n{}{}\nJordan's node:\n{}",
            run.stdout,
            run.stderr,
            serve.stderr()
        );
        // On loopback, with no relay, the exchange went straight to Jordan's device.
        let report = tapin_e2e::last_json(&run.stdout);
        assert_eq!(report["friends"][0]["path"], "direct", "{report:#}");
        holds_exactly(&jordan, "Maya", &maya, "Jordan");
    }
}

#[test]
fn a_node_killed_mid_sync_loses_nothing_and_the_next_sync_after_its_restart_completes() {
    let Friends { maya, jordan, .. } = paired();
    for i in 0..10 {
        maya.ok(&["thanks", "Jordan", &format!("Note {i} sent into a crash")]);
    }
    jordan.ok(&["thanks", "Maya", "Jordan's side, also in flight"]);
    let serve = jordan.start_serve();
    let before = connections(&serve, "Maya");
    let mut sync = maya.spawn(&["--json", "sync", "Jordan"]);
    let deadline = Instant::now() + NET_TIMEOUT;
    while connections(&serve, "Maya") == before && sync.running() {
        assert!(
            Instant::now() < deadline,
            "Jordan's node never saw the sync"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    drop(serve); // SIGKILL while Maya's sync runs
    // Restarted on its port. Maya's interrupted sync is left to its frame timeout (30 s, a
    // dead peer sends no close) and killed: what matters is what the next sync finds.
    let _serve = jordan.start_serve();
    drop(sync);
    // Jordan's home still opens, and its replica reads, whatever arrived.
    jordan.replica_of("Maya");
    show(&jordan, "Maya");

    maya.sync_with("Jordan");
    holds_exactly(&jordan, "Maya", &maya, "Jordan");
    holds_exactly(&maya, "Jordan", &jordan, "Maya");
}

#[test]
fn two_serving_homes_push_a_write_to_each_other_without_a_manual_sync() {
    let Friends { maya, jordan, .. } = paired();
    let maya_serve = maya.start_serve();
    let jordan_serve = jordan.start_serve();
    eventually(NET_TIMEOUT, "the two nodes to connect", || {
        connections(&maya_serve, "Jordan") > 0 && connections(&jordan_serve, "Maya") > 0
    });

    // A write by another process on Maya's home (the CLI), while both nodes run.
    let (at_jordan, at_maya) = (
        DocId::Replica(jordan.relationship("Maya")),
        DocId::Replica(maya.relationship("Jordan")),
    );
    let written = Instant::now();
    let thanks = maya.id(&["thanks", "Jordan", "Pushed while we were both online"]);
    eventually(
        LIVE,
        "Maya's note to reach Jordan's replica by itself",
        || {
            records(&jordan, at_jordan)
                .thanks
                .contains_key(&id_of(&thanks))
        },
    );
    let first = written.elapsed();

    let goal = jordan.id(&["goal", "add", "Maya", "Learn to juggle", "--share"]);
    eventually(
        LIVE,
        "Jordan's goal to reach Maya's replica by itself",
        || records(&maya, at_maya).goals.contains_key(&id_of(&goal)),
    );
    holds_exactly(&jordan, "Maya", &maya, "Jordan");
    holds_exactly(&maya, "Jordan", &jordan, "Maya");
    assert!(first < LIVE, "{first:?}");
    drop((maya_serve, jordan_serve));
}

#[test]
fn a_serving_node_restarted_after_a_crash_resumes_live_sync_at_once() {
    let Friends { maya, jordan, .. } = paired();
    let mut maya_serve = maya.start_serve();
    let mut jordan_serve = jordan.start_serve();
    eventually(NET_TIMEOUT, "the two nodes to connect", || {
        connections(&maya_serve, "Jordan") > 0 && connections(&jordan_serve, "Maya") > 0
    });
    let at_jordan = DocId::Replica(jordan.relationship("Maya"));
    let at_maya = DocId::Replica(maya.relationship("Jordan"));
    let first = maya.id(&["thanks", "Jordan", "Before any crash"]);
    eventually(LIVE, "Maya's first note to reach Jordan", || {
        records(&jordan, at_jordan)
            .thanks
            .contains_key(&id_of(&first))
    });

    // Each node in turn dies without a word (SIGKILL), comes back on its port, and its person
    // writes at once. Both turns, because which connection a node keeps depends on the order of
    // the two (random) device ids.
    for crashed in ["Maya", "Jordan"] {
        let (writer, friend, reader, replica) = if crashed == "Maya" {
            drop(maya_serve);
            maya_serve = maya.start_serve();
            (&maya, "Jordan", &jordan, at_jordan)
        } else {
            drop(jordan_serve);
            jordan_serve = jordan.start_serve();
            (&jordan, "Maya", &maya, at_maya)
        };
        let note = writer.id(&["thanks", friend, &format!("Back after {crashed}'s crash")]);
        // Regression: the friend's node kept the dead connection and closed every connection of
        // the restarted node as a duplicate until the dead one timed out (30 s).
        let deadline = Instant::now() + LIVE;
        while !records(reader, replica).thanks.contains_key(&id_of(&note)) {
            assert!(
                Instant::now() < deadline,
                "after {crashed}'s node restarted, a write did not reach {friend} within \
                 {LIVE:?}\nMaya's node:\n{}\nJordan's node:\n{}",
                maya_serve.stderr(),
                jordan_serve.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    holds_exactly(&jordan, "Maya", &maya, "Jordan");
    holds_exactly(&maya, "Jordan", &jordan, "Maya");
}

// ---------------------------------------------------------------------------------------------
// In-process: the library, where a test can see every byte.

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn addr_of(device: DeviceId, addr: SocketAddr) -> EndpointAddr {
    let id = PublicKey::from_bytes(&device.to_bytes()).expect("a device id is an endpoint id");
    EndpointAddr::from_parts(id, [TransportAddr::Ip(addr)])
}

/// The wire of `tapin/sync/4` for an endpoint a test bound on a passing port: it says where it
/// can be reached as a home without a stable port would (no address), or the friend would
/// store that passing port and dial it later.
fn no_address(ep: &tapin_net::Endpoint) -> Wire {
    Wire::V4 {
        mine: endpoint::my_reach(ep, &Relay::None, Advertise::Nothing),
    }
}

/// Maya's and Jordan's sides of one exchange run in this process over real endpoints, each with
/// its own store and device key, as their nodes would. Returns every byte each side sent.
async fn exchange_with_taps(maya: &Home, jordan: &Home) -> (Vec<u8>, Vec<u8>) {
    let (m_store, m_key) = maya.store_and_key();
    let (j_store, j_key) = jordan.store_and_key();
    let m_link = link_for(&m_store, j_key.id())
        .expect("read Maya's links")
        .expect("Maya is paired with Jordan's device");
    let j_link = link_for(&j_store, m_key.id())
        .expect("read Jordan's links")
        .expect("Jordan is paired with Maya's device");
    let gate = |home: &Home| -> Arc<dyn Gate> {
        Arc::new(HomeGate::new(
            Store::open(&home.path()).expect("open store"),
        ))
    };
    let config = NetConfig::loopback();
    let j_ep = endpoint::bind(
        j_key.secret(),
        &config,
        gate(jordan),
        vec![SYNC_ALPN.to_vec()],
    )
    .await
    .expect("bind Jordan's endpoint");
    let m_ep = endpoint::bind(m_key.secret(), &config, gate(maya), vec![])
        .await
        .expect("bind Maya's endpoint");
    let j_addr = EndpointAddr::from_parts(
        j_ep.id(),
        endpoint::direct_addrs(&j_ep)
            .into_iter()
            .map(TransportAddr::Ip),
    );
    let (m_store, j_store) = (SharedStore::new(m_store), SharedStore::new(j_store));
    let (m_tap, j_tap) = (Tap::default(), Tap::default());
    let maya_side = async {
        let conn = m_ep
            .connect(j_addr, SYNC_ALPN)
            .await
            .expect("Maya dials Jordan");
        let (mut send, mut recv) = conn.open_bi().await.expect("open a stream");
        let stats = exchange(
            &m_store,
            &m_key,
            &m_link,
            j_key.id(),
            &mut send,
            &mut recv,
            true,
            &no_address(&m_ep),
            Some(&m_tap),
            &Timeouts::default(),
        )
        .await
        .expect("Maya's half of the exchange");
        let _ = send.finish();
        (conn, stats)
    };
    let jordan_side = async {
        let incoming = j_ep.accept().await.expect("an incoming connection");
        let conn = incoming.await.expect("Maya's handshake");
        let (mut send, mut recv) = conn.accept_bi().await.expect("Maya's stream");
        let stats = exchange(
            &j_store,
            &j_key,
            &j_link,
            m_key.id(),
            &mut send,
            &mut recv,
            false,
            &no_address(&j_ep),
            Some(&j_tap),
            &Timeouts::default(),
        )
        .await
        .expect("Jordan's half of the exchange");
        let _ = send.finish();
        (conn, stats)
    };
    let ((m_conn, m_stats), (_j_conn, j_stats)) =
        tokio::time::timeout(NET_TIMEOUT, async { tokio::join!(maya_side, jordan_side) })
            .await
            .expect("the exchange finished in time");
    assert!(j_stats.received_changes > 0, "{j_stats:?}");
    assert!(m_stats.received_changes > 0, "{m_stats:?}");
    m_conn.close(0u32.into(), b"done");
    m_ep.close().await;
    j_ep.close().await;
    (
        m_tap.into_inner().expect("Maya's tap"),
        j_tap.into_inner().expect("Jordan's tap"),
    )
}

/// Unique strings Maya writes where only she may read them.
const PRIVATE_MARKERS: [&str; 4] = [
    "canary-journal-2b9f0c",
    "canary-reflection-77d1ae",
    "canary-private-goal-e45b03",
    "canary-private-thanks-1c8d6f",
];
/// A unique string Maya shares with Jordan: proof that the checks see real content.
const SHARED_MARKER: &str = "canary-shared-thanks-a0f3d9";
/// A unique string Jordan shares with Maya.
const JORDAN_SHARED_MARKER: &str = "canary-jordan-shared-5e6a21";

#[test]
fn private_words_cross_no_wire_and_reach_no_file_of_the_friends_home() {
    let Friends { maya, jordan, .. } = paired();
    let [journal, reflection, private_goal, private_thanks] = PRIVATE_MARKERS;
    let run = maya.run_with_input(
        &["journal", "add", "--about", "Jordan"],
        &format!("{journal}: I worry I talk too much when we meet"),
    );
    assert_eq!(run.code, Some(0), "journal add failed:\n{}", run.stderr);
    maya.ok(&[
        "reflect",
        "Jordan",
        "--q1a",
        &format!("{reflection} yes, always"),
        "--q1b",
        "mostly",
        "--q2a",
        "yes",
        "--q2b",
        "I try",
        "--q3a",
        "often",
        "--q3b",
        "less than I would like",
        "--q4a",
        "lighter",
        "--q4b",
        "happy, I think",
        "--note",
        &format!("{reflection} note"),
    ]);
    maya.ok(&[
        "goal",
        "add",
        "Jordan",
        &format!("{private_goal} stop interrupting"),
    ]);
    maya.ok(&[
        "thanks",
        "Jordan",
        &format!("{private_thanks} kept to myself"),
        "--private",
    ]);
    maya.ok(&["thanks", "Jordan", &format!("{SHARED_MARKER} for the soup")]);
    jordan.ok(&[
        "thanks",
        "Maya",
        &format!("{JORDAN_SHARED_MARKER} for the walk"),
    ]);
    // The canaries are where Maya keeps them, as written: otherwise the search proves nothing.
    for marker in PRIVATE_MARKERS {
        assert!(
            !maya.files_containing(marker).is_empty(),
            "{marker} is not in Maya's own home as written; the canary would prove nothing"
        );
    }

    // The wire: every frame either side sent in a full exchange.
    let rt = runtime();
    let (maya_sent, jordan_sent) = rt.block_on(exchange_with_taps(&maya, &jordan));
    assert!(
        contains_bytes(&maya_sent, SHARED_MARKER.as_bytes()),
        "the tap does not see Maya's shared note; it would not see a leak either"
    );
    assert!(
        contains_bytes(&jordan_sent, JORDAN_SHARED_MARKER.as_bytes()),
        "the tap does not see Jordan's shared note"
    );
    for marker in PRIVATE_MARKERS {
        assert!(
            !contains_bytes(&maya_sent, marker.as_bytes()),
            "{marker} crossed the wire from Maya"
        );
        assert!(
            !contains_bytes(&jordan_sent, marker.as_bytes()),
            "{marker} crossed the wire from Jordan"
        );
    }

    // And through the binary, both directions.
    {
        let _serve = jordan.start_serve();
        maya.sync_with("Jordan");
    }
    {
        let _serve = maya.start_serve();
        jordan.sync_with("Maya");
    }
    holds_exactly(&jordan, "Maya", &maya, "Jordan");
    holds_exactly(&maya, "Jordan", &jordan, "Maya");
    assert!(
        !jordan.files_containing(SHARED_MARKER).is_empty(),
        "Maya's shared note should be in Jordan's home"
    );
    // Structurally too, whatever the encoding on disk: no change of Maya's private documents
    // is in any document of Jordan's home.
    let (maya_store, _) = maya.store_and_key();
    let private_docs: Vec<DocId> = maya_store
        .documents()
        .expect("Maya's documents")
        .into_iter()
        .filter(|d| !d.is_shareable() && !matches!(d, DocId::Replica(_)))
        .collect();
    assert!(
        private_docs.iter().any(DocId::is_journal_week),
        "{private_docs:?}"
    );
    let private_changes: Vec<automerge::ChangeHash> = private_docs
        .iter()
        .flat_map(|doc| {
            let d = maya_store.load(doc).expect("load").expect("written");
            d.get_changes(&[])
                .iter()
                .map(|c| c.hash())
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(!private_changes.is_empty());
    let (jordan_store, _) = jordan.store_and_key();
    for doc in jordan_store.documents().expect("Jordan's documents") {
        let d = jordan_store.load(&doc).expect("load").unwrap_or_default();
        for change in d.get_changes(&[]) {
            assert!(
                !private_changes.contains(&change.hash()),
                "a change of Maya's private documents is in Jordan's {doc}"
            );
        }
    }
    for marker in PRIVATE_MARKERS {
        assert_eq!(
            jordan.files_containing(marker),
            Vec::<std::path::PathBuf>::new(),
            "{marker} reached Jordan's home"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// A third home.

/// Reads what arrives on `recv` until it ends, fails or goes quiet for `NET_TIMEOUT`.
async fn drain(recv: &mut RecvStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(Ok(Some(n))) = tokio::time::timeout(NET_TIMEOUT, recv.read(&mut buf)).await {
        got.extend_from_slice(&buf[..n]);
    }
    got
}

/// The application close code in a connection error, if the peer closed it with one.
fn close_code(err: &ConnectionError) -> Option<u64> {
    match err {
        ConnectionError::ApplicationClosed(close) => Some(close.error_code.into_inner()),
        _ => None,
    }
}

/// Knocks on `to`'s sync protocol from an endpoint with `secret`, asking the way a new friend
/// would ("I have nothing of your side: send it all"). Returns every byte that came back and the
/// close code the connection ended with (or the error that ended the dial).
async fn knock(secret: [u8; 32], to: EndpointAddr) -> (Vec<u8>, Result<Option<u64>, String>) {
    let ep = endpoint::bind(secret, &NetConfig::loopback(), Arc::new(Nobody), vec![])
        .await
        .expect("bind an endpoint");
    let conn = match tokio::time::timeout(NET_TIMEOUT, ep.connect(to, SYNC_ALPN)).await {
        Err(_) => return (Vec::new(), Err("the dial timed out".to_owned())),
        Ok(Err(ConnectError::Connection { source, .. })) => {
            ep.close().await;
            return (Vec::new(), Ok(close_code(&source)));
        }
        Ok(Err(err)) => {
            ep.close().await;
            return (Vec::new(), Err(format!("{err:#}")));
        }
        Ok(Ok(conn)) => conn,
    };
    let mut got = Vec::new();
    if let Ok(Ok((mut send, mut recv))) = tokio::time::timeout(NET_TIMEOUT, conn.open_bi()).await {
        let hello = automerge::Automerge::new()
            .generate_sync_message(&mut automerge::sync::State::new())
            .expect("an empty document asks for everything");
        for f in [
            Frame::Sync {
                doc: WireDoc::ReceiverSide,
                message: hello.encode(),
            },
            Frame::EndOfBatch,
        ] {
            let _ = frame::write(&mut send, &f).await;
        }
        got = drain(&mut recv).await;
    }
    let ended = tokio::time::timeout(NET_TIMEOUT, conn.closed())
        .await
        .map(|e| close_code(&e))
        .map_err(|_| "the connection stayed open".to_owned());
    ep.close().await;
    (got, ended)
}

#[test]
fn a_third_home_that_is_not_paired_obtains_nothing() {
    const SHARED: &str = "only-for-jordan-3d7c19";
    const PRIVATE: &str = "only-for-maya-8e02b4";
    let Friends {
        maya,
        jordan,
        ticket,
        maya_addr,
    } = paired();
    maya.ok(&["thanks", "Jordan", &format!("{SHARED}: thank you")]);
    let run = maya.run_with_input(&["journal", "add", "--about", "Jordan"], PRIVATE);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let sam = Home::init_net("Sam", "sam-tablet", free_udp_port());

    // The ticket Jordan used is spent: refused even while Maya has a new invitation open on the
    // same port...
    {
        let mut invite = maya.spawn(&["--json", "invite", "--yes", "--expires", "2m"]);
        invite.next_line(NET_TIMEOUT);
        let join = sam.net_run(&["join", &ticket, "--yes"]);
        assert_eq!(
            join.code,
            Some(1),
            "a used ticket should be refused:\nstdout: {}\nstderr: {}",
            join.stdout,
            join.stderr
        );
        assert!(join.stderr.contains("already used"), "{}", join.stderr);
        assert!(invite.running(), "the refusal ended Maya's new invitation");
    } // Maya gives up on that invitation (killed).

    let mut serve = maya.start_serve();
    // There is something to be had: Jordan, paired, gets it.
    jordan.sync_with("Maya");
    assert!(!jordan.files_containing(SHARED).is_empty());
    // ...and while Maya's node serves, which speaks only the sync protocol.
    let join = sam.net_run(&["join", &ticket, "--yes"]);
    assert_eq!(
        join.code,
        Some(1),
        "a used ticket should be refused:\nstdout: {}\nstderr: {}",
        join.stdout,
        join.stderr
    );
    assert!(!join.stderr.contains("panicked"), "{}", join.stderr);
    assert_eq!(sam.json(&["people", "--all"]), serde_json::json!([]));

    // The sync protocol itself, dialled directly: with a key nobody paired, and with Sam's own
    // device key. Both are closed with 403 after the handshake, before a byte is read.
    let maya_device: DeviceId = maya.json(&["whoami"])["device"]
        .as_str()
        .expect("device")
        .parse()
        .expect("a device id");
    let to = addr_of(maya_device, maya_addr);
    let (_, sam_key) = sam.store_and_key();
    let rt = runtime();
    for (who, secret) in [("a stranger", [0x5a; 32]), ("Sam", sam_key.secret())] {
        let (got, ended) = rt.block_on(knock(secret, to.clone()));
        assert_eq!(got, Vec::<u8>::new(), "{who} received bytes from Maya");
        assert_eq!(
            ended,
            Ok(Some(u64::from(REFUSED))),
            "{who}'s connection should be closed with {REFUSED}"
        );
    }
    assert!(serve.running(), "Maya's node stopped:\n{}", serve.stderr());

    // Sam has no one to sync with, and nothing of Maya's is in Sam's home.
    assert_eq!(
        sam.net_run(&["--json", "sync"])
            .stdout
            .parse::<Value>()
            .ok(),
        Some(serde_json::json!({ "friends": [] }))
    );
    for marker in [SHARED, PRIVATE] {
        assert_eq!(
            sam.files_containing(marker),
            Vec::<std::path::PathBuf>::new(),
            "{marker} reached Sam's home"
        );
    }
    // Maya's node still serves her friend.
    maya.ok(&["thanks", "Jordan", "Still here"]);
    jordan.sync_with("Maya");
    holds_exactly(&jordan, "Maya", &maya, "Jordan");
}

/// A first sync cut short mid-snapshot (issue 12): Maya's half sends her hello and the first
/// three parts of her side, then her connection closes. Jordan's exchange fails and keeps the
/// three parts (`replica.<id>.staged`), and nothing of them reaches his replica. The next
/// exchange, both halves real, sends only the parts after them, and ends with his replica all of
/// her side and nothing staged.
#[test]
fn a_first_sync_cut_mid_snapshot_resumes_with_only_the_rest() {
    use tapin_core::sync::{PART, snapshot_parts};
    use tapin_net::sync::{HELLO_CAP, Hello};
    use tapin_store::MetaKey;

    let Friends { maya, jordan, .. } = paired();
    let side = maya.grow_side("Jordan", 5_000);
    jordan.ok(&["goal", "add", "Maya", "Write back soon", "--share"]);
    let rel_at_jordan = jordan.relationship("Maya");
    let (m_store, m_key) = maya.store_and_key();
    let (j_store, j_key) = jordan.store_and_key();
    let stored = m_store
        .stored_bytes(&DocId::Side(maya.relationship("Jordan")))
        .expect("read Maya's side")
        .expect("Maya's side is stored");
    assert!(
        stored.len() > 6 * PART,
        "{} bytes: too few parts",
        stored.len()
    );
    let kept = 3 * PART;

    let rt = runtime();
    rt.block_on(async {
        let j_link = link_for(&j_store, m_key.id())
            .expect("read Jordan's links")
            .expect("Jordan is paired with Maya's device");
        let config = NetConfig::loopback();
        let j_ep = endpoint::bind(
            j_key.secret(),
            &config,
            Arc::new(HomeGate::new(
                Store::open(&jordan.path()).expect("open store"),
            )),
            vec![SYNC_ALPN.to_vec()],
        )
        .await
        .expect("bind Jordan's endpoint");
        let m_ep = endpoint::bind(m_key.secret(), &config, Arc::new(Nobody), vec![])
            .await
            .expect("bind Maya's endpoint");
        let j_addr = EndpointAddr::from_parts(
            j_ep.id(),
            endpoint::direct_addrs(&j_ep)
                .into_iter()
                .map(TransportAddr::Ip),
        );
        let j_shared = SharedStore::new(Store::open(&jordan.path()).expect("open store"));
        let cut = async {
            let conn = m_ep.connect(j_addr, SYNC_ALPN).await.expect("Maya dials");
            let (mut send, mut recv) = conn.open_bi().await.expect("a stream");
            let hello = Hello {
                reach: Default::default(),
                holds_yours: false,
                staged: 0,
                staged_digest: [0; 32],
            };
            frame::write(&mut send, &hello).await.expect("Maya's hello");
            let theirs: Hello = frame::read(&mut recv, HELLO_CAP)
                .await
                .expect("Jordan's hello");
            assert!(!theirs.holds_yours, "Jordan's replica is empty: {theirs:?}");
            assert_eq!(theirs.staged, 0);
            for part in snapshot_parts(&stored, 0).into_iter().take(3) {
                frame::write(&mut send, &part).await.expect("a part");
            }
            // The link goes quiet: a second later (`STALL`) Jordan keeps what arrived, and only
            // then is the connection gone, as when a cut link times out.
            let watch = Store::open(&jordan.path()).expect("open store");
            let deadline = Instant::now() + NET_TIMEOUT;
            while watch
                .get_meta(MetaKey::ReplicaStaged(rel_at_jordan))
                .expect("read Jordan's meta")
                .is_none_or(|b| b.len() < kept)
            {
                assert!(
                    Instant::now() < deadline,
                    "Jordan did not keep the parts of a stalled snapshot"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            conn.close(0u32.into(), b"cut");
        };
        let jordan_half = async {
            let conn = j_ep
                .accept()
                .await
                .expect("an incoming connection")
                .await
                .expect("Maya's handshake");
            let (mut send, mut recv) = conn.accept_bi().await.expect("Maya's stream");
            exchange(
                &j_shared,
                &j_key,
                &j_link,
                m_key.id(),
                &mut send,
                &mut recv,
                false,
                &no_address(&j_ep),
                None,
                &Timeouts::default(),
            )
            .await
        };
        let ((), result) =
            tokio::time::timeout(NET_TIMEOUT, async { tokio::join!(cut, jordan_half) })
                .await
                .expect("the cut exchange ended in time");
        assert!(result.is_err(), "the cut exchange succeeded: {result:?}");
        m_ep.close().await;
        j_ep.close().await;
    });
    let staged = j_store
        .get_meta(MetaKey::ReplicaStaged(rel_at_jordan))
        .expect("read Jordan's meta")
        .expect("Jordan kept the parts that arrived");
    assert_eq!(staged, stored[..kept], "what Jordan kept is the parts sent");
    assert!(
        j_store
            .load(&DocId::Replica(rel_at_jordan))
            .expect("load Jordan's replica")
            .is_none_or(|d| d.get_heads().is_empty()),
        "staged parts reached the replica"
    );

    let (maya_sent, _) = rt.block_on(exchange_with_taps(&maya, &jordan));
    // Besides the rest: her hello, heads and automerge's first message, which carries a Bloom
    // filter of her changes (about 10 bits each), together less than one more part.
    let rest = stored.len() - kept;
    assert!(
        maya_sent.len() >= rest && maya_sent.len() < rest + PART,
        "Maya sent {} bytes; the rest of her side is {rest}",
        maya_sent.len()
    );
    let replica = j_store
        .load(&DocId::Replica(rel_at_jordan))
        .expect("load Jordan's replica")
        .expect("Jordan's replica");
    let heads: Vec<String> = replica
        .get_heads()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        heads, side.heads,
        "Jordan's replica is not all of Maya's side"
    );
    assert_eq!(
        j_store
            .get_meta(MetaKey::ReplicaStaged(rel_at_jordan))
            .expect("read Jordan's meta")
            .unwrap_or_default(),
        Vec::<u8>::new(),
        "staged bytes left after the snapshot was taken"
    );
}
