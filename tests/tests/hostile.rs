//! A paired friend turned hostile. Maya pairs with Jordan and with Sam through the real binary and
//! runs `tapin serve`; Jordan's device key then speaks to her node from this process, frame by
//! frame (`tapin_net::frame`, `tapin_core::sync::Frame`), saying what an honest node never would.
//!
//! Whatever Jordan sends, Maya's node must give him nothing but her side for him, apply nothing
//! he was not entitled to write, close his connection when he breaks the protocol (code 400), and
//! keep serving everyone else: after every case Sam, paired and honest, still syncs.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use automerge::sync::{self as am_sync, SyncDoc};
use automerge::transaction::Transactable;
use automerge::{AutoCommit, Automerge, ChangeHash, ROOT, ReadDoc};
use iroh::endpoint::{Connection, ConnectionError, RecvStream, SendStream};
use iroh::{Endpoint, EndpointAddr, PublicKey, TransportAddr};
use serde_json::Value;
use tapin_core::identity::{DeviceId, DeviceKey};
use tapin_core::pairing::Reach;
use tapin_core::sync::{Frame, WireDoc};
use tapin_core::{DocId, Id, docs};
use tapin_e2e::gates::Nobody;
use tapin_e2e::{Background, Home, NET_TIMEOUT, contains_bytes, free_udp_port, pair};
use tapin_net::endpoint::{self, NetConfig};
use tapin_net::sync::{FRAME_CAP, REACH_CAP, VIOLATION};
use tapin_net::{SYNC_ALPN_V3, frame};

/// In Maya's shared side for Jordan: what Jordan may receive.
const JORDAN_SIDE: &str = "for-jordan-side-5b1e07";
/// In Maya's shared side for Sam: what Jordan must never receive.
const SAM_SIDE: &str = "for-sam-side-c4d2a9";
/// In Maya's private journal and private goal: what nobody may receive.
const PRIVATE: &str = "maya-private-91af3c";
/// In the changes Jordan forges: what must never land in Maya's home.
const FORGED: &str = "forged-by-jordan-0e77b2";

/// How long Maya's node may take to refuse a broken frame. Far below its 30 s frame timeout, so
/// a node that merely waits the hostile peer out does not pass.
const REFUSAL: Duration = Duration::from_secs(10);
/// How long an honest friend's sync may take while a hostile one stalls.
const HONEST_SYNC: Duration = Duration::from_secs(20);

/// A document as stored in `home` (empty if never written).
fn load(home: &Home, doc: DocId) -> Automerge {
    let (store, _) = home.store_and_key();
    store
        .load(&doc)
        .expect("load the document")
        .unwrap_or_default()
}

/// Every change hash in `doc`.
fn hashes(doc: &Automerge) -> Vec<ChangeHash> {
    doc.get_changes(&[]).iter().map(|c| c.hash()).collect()
}

/// Reads what arrives on `recv` until it ends, fails, or is quiet for `quiet`.
async fn drain(recv: &mut RecvStream, quiet: Duration) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(Ok(Some(n))) = tokio::time::timeout(quiet, recv.read(&mut buf)).await {
        got.extend_from_slice(&buf[..n]);
    }
    got
}

/// What a hostile peer puts on a stream.
enum Payload {
    /// Raw bytes, length prefixes included (or not).
    Raw(Vec<u8>),
    /// Well-formed frames.
    Frames(Vec<Frame>),
}

/// A raw frame: a length prefix and `body`.
fn framed(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

/// What an empty replica says first: "I have nothing, send me everything".
fn send_me_everything() -> Vec<u8> {
    Automerge::new()
        .generate_sync_message(&mut am_sync::State::new())
        .expect("an empty document asks for everything")
        .encode()
}

/// The same request, naming the changes it wants by hash.
fn send_me(need: Vec<ChangeHash>) -> Vec<u8> {
    let mut msg = Automerge::new()
        .generate_sync_message(&mut am_sync::State::new())
        .expect("an empty document asks for everything");
    msg.need = need;
    msg.encode()
}

/// A sync message for a peer holding `honest` that carries `forged`'s extra changes, as
/// automerge itself would produce it.
fn offering(forged: &mut AutoCommit, honest: &Automerge) -> Vec<u8> {
    let hello = honest
        .generate_sync_message(&mut am_sync::State::new())
        .unwrap_or_else(|| {
            Automerge::new()
                .generate_sync_message(&mut am_sync::State::new())
                .expect("a first message")
        });
    let mut state = am_sync::State::new();
    forged
        .sync()
        .receive_sync_message(&mut state, hello)
        .expect("receive the honest heads");
    let mut msg = forged
        .sync()
        .generate_sync_message(&mut state)
        .expect("a message offering the forged change");
    // automerge leaves out a change the peer's Bloom filter wrongly claims it has (about one in a
    // hundred): put the forged change in, as a hostile peer would.
    msg.changes = am_sync::ChunkList::from(forged.save_after(&honest.get_heads()));
    assert!(!msg.changes.is_empty(), "the message must carry changes");
    msg.encode()
}

/// `doc` plus one change by `author` carrying the [`FORGED`] marker.
fn forge(doc: &Automerge, author: automerge::ActorId) -> AutoCommit {
    let mut forged = AutoCommit::load(&doc.save())
        .expect("reload the document")
        .with_actor(author);
    forged
        .put(ROOT, "note", FORGED)
        .expect("write the forged field");
    forged.commit();
    forged
}

/// Maya (serving), Jordan (whose key turns hostile here) and Sam (honest), Maya paired with both.
struct World {
    /// Maya's `tapin serve`; killed first when the world is dropped.
    serve: Background,
    /// Jordan's endpoint in this process: his real device key, dialling only.
    ep: Endpoint,
    rt: tokio::runtime::Runtime,
    maya: Home,
    jordan: Home,
    sam: Home,
    /// Maya's node, as Jordan learned it at pairing.
    maya_at: EndpointAddr,
    jordan_key: DeviceKey,
    maya_device: DeviceId,
    sam_device: DeviceId,
    /// Maya's relationship with Jordan and with Sam; Jordan's and Sam's with Maya.
    maya_jordan: Id,
    maya_sam: Id,
    jordan_maya: Id,
    sam_maya: Id,
    /// Notes Maya wrote Sam so far, to prove each honest sync carries something new.
    notes: usize,
}

impl Drop for World {
    fn drop(&mut self) {
        self.rt.block_on(self.ep.close());
    }
}

fn three_ports() -> [u16; 3] {
    let mut ports = Vec::new();
    while ports.len() < 3 {
        let p = free_udp_port();
        if !ports.contains(&p) {
            ports.push(p);
        }
    }
    [ports[0], ports[1], ports[2]]
}

fn world() -> World {
    let [maya_port, jordan_port, sam_port] = three_ports();
    let maya = Home::init_net("Maya", "maya-laptop", maya_port);
    let jordan = Home::init_net("Jordan", "jordan-phone", jordan_port);
    let sam = Home::init_net("Sam", "sam-tablet", sam_port);
    pair(&maya, &jordan);
    pair(&maya, &sam);

    maya.ok(&["thanks", "Jordan", &format!("{JORDAN_SIDE}: thank you")]);
    maya.ok(&["thanks", "Sam", &format!("{SAM_SIDE}: thank you")]);
    maya.ok(&["goal", "add", "Sam", &format!("{SAM_SIDE} goal"), "--share"]);
    maya.ok(&["goal", "add", "Jordan", &format!("{PRIVATE} goal")]);
    let run = maya.run_with_input(
        &["journal", "add", "--about", "Jordan"],
        &format!("{PRIVATE}: what I think of Jordan"),
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    jordan.ok(&["thanks", "Maya", "Jordan's honest note"]);

    let serve = maya.start_serve();
    // Jordan holds Maya's side for him, honestly synced, before he turns.
    jordan.sync_with("Maya");

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let (_, jordan_key) = jordan.store_and_key();
    let ep = rt
        .block_on(endpoint::bind(
            jordan_key.secret(),
            &NetConfig::loopback(),
            Arc::new(Nobody),
            vec![],
        ))
        .expect("bind Jordan's hostile endpoint");
    let device = |home: &Home| -> DeviceId {
        home.json(&["whoami"])["device"]
            .as_str()
            .expect("device")
            .parse()
            .expect("a device id")
    };
    let maya_device = device(&maya);
    let maya_at = EndpointAddr::from_parts(
        PublicKey::from_bytes(&maya_device.to_bytes()).expect("an endpoint id"),
        [TransportAddr::Ip(SocketAddr::from((
            [127, 0, 0, 1],
            maya_port,
        )))],
    );
    World {
        maya_jordan: maya.relationship("Jordan"),
        maya_sam: maya.relationship("Sam"),
        jordan_maya: jordan.relationship("Maya"),
        sam_maya: sam.relationship("Maya"),
        sam_device: device(&sam),
        serve,
        ep,
        rt,
        maya,
        jordan,
        sam,
        maya_at,
        jordan_key,
        maya_device,
        notes: 0,
    }
}

/// How a hostile connection ended.
#[derive(Debug, PartialEq, Eq)]
enum Ended {
    /// Maya's node closed it with this application code.
    ClosedWith(u64),
    /// It ended some other way.
    Otherwise(String),
    /// It was still open after [`REFUSAL`].
    StillOpen,
}

impl World {
    /// A fresh connection from Jordan's hostile endpoint to Maya's node, on `tapin/sync/3`:
    /// whose first frame is a bare reach, which the cases here break.
    async fn connect(&self) -> Connection {
        tokio::time::timeout(
            NET_TIMEOUT,
            self.ep.connect(self.maya_at.clone(), SYNC_ALPN_V3),
        )
        .await
        .expect("the dial timed out")
        .expect("Maya's node accepts Jordan: he is paired")
    }

    /// Heads of Maya's side for Jordan and of her replica of his side, as stored.
    fn maya_heads(&self) -> (Vec<ChangeHash>, Vec<ChangeHash>) {
        (
            load(&self.maya, DocId::Side(self.maya_jordan)).get_heads(),
            load(&self.maya, DocId::Replica(self.maya_jordan)).get_heads(),
        )
    }

    /// Puts `payload` on a stream of a fresh connection (finishing the stream if `finish`), then
    /// reads until Maya's node ends it. Returns every byte she sent back and how it ended.
    fn send(&self, payload: &Payload, finish: bool) -> (Vec<u8>, Ended) {
        self.rt.block_on(async {
            let conn = self.connect().await;
            let (mut send, mut recv): (SendStream, RecvStream) =
                conn.open_bi().await.expect("open a stream");
            // tapin/sync/3 opens with where the device can be reached; the payload comes where
            // the first batch does.
            frame::write(&mut send, &Reach::default())
                .await
                .expect("send the reach frame");
            match payload {
                Payload::Raw(bytes) => {
                    let _ = send.write_all(bytes).await;
                }
                Payload::Frames(frames) => {
                    for f in frames {
                        if frame::write(&mut send, f).await.is_err() {
                            break;
                        }
                    }
                }
            }
            if finish {
                let _ = send.finish();
            }
            let got = drain(&mut recv, REFUSAL).await;
            let ended = match tokio::time::timeout(REFUSAL, conn.closed()).await {
                Ok(ConnectionError::ApplicationClosed(close)) => {
                    Ended::ClosedWith(close.error_code.into_inner())
                }
                Ok(other) => Ended::Otherwise(other.to_string()),
                Err(_) => Ended::StillOpen,
            };
            conn.close(0u32.into(), b"bye");
            (got, ended)
        })
    }

    /// `payload` must make Maya's node close the connection with 400 within [`REFUSAL`], having
    /// sent nothing back and changed neither of the documents she shares with Jordan.
    #[track_caller]
    fn assert_refused(&self, what: &str, payload: Payload, finish: bool) {
        let before = self.maya_heads();
        let started = Instant::now();
        let (got, ended) = self.send(&payload, finish);
        assert_eq!(
            ended,
            Ended::ClosedWith(u64::from(VIOLATION)),
            "{what}: Maya's node should close the connection with {VIOLATION}"
        );
        assert!(
            started.elapsed() < REFUSAL,
            "{what}: refused only after {:?}",
            started.elapsed()
        );
        assert_eq!(
            got,
            Vec::<u8>::new(),
            "{what}: Maya's node answered a broken request"
        );
        assert_eq!(
            self.maya_heads(),
            before,
            "{what}: Maya's documents changed"
        );
    }

    /// Maya's node still serves her other friend: she writes Sam a new note, Sam syncs with the
    /// real binary, and the note arrives.
    #[track_caller]
    fn others_still_sync(&mut self) {
        assert!(
            self.serve.running(),
            "Maya's node stopped:\n{}",
            self.serve.stderr()
        );
        self.notes += 1;
        let note = self
            .maya
            .id(&["thanks", "Sam", &format!("Still here, note {}", self.notes)]);
        let started = Instant::now();
        let run = Background::spawn(self.sam.net_cmd(&["--json", "sync", "Maya"]), None)
            .wait(HONEST_SYNC);
        assert_eq!(
            run.code,
            Some(0),
            "Sam could not sync with Maya:\n{}\n{}",
            run.stdout,
            run.stderr
        );
        let report: Value = serde_json::from_str(&run.stdout).expect("sync --json");
        assert_eq!(report["friends"][0]["reached"], true, "{report:#}");
        let seen = load(&self.sam, DocId::Replica(self.sam_maya));
        let seen = docs::read_replica(&seen, self.sam_maya).expect("read Sam's replica");
        assert!(
            seen.thanks.contains_key(&tapin_e2e::id_of(&note)),
            "Maya's new note did not reach Sam:\n{seen:#?}"
        );
        assert!(
            started.elapsed() < HONEST_SYNC,
            "Sam's sync took {:?}",
            started.elapsed()
        );
    }

    /// No file of `home` holds `marker`.
    #[track_caller]
    fn assert_absent(home: &Home, marker: &str, what: &str) {
        assert_eq!(
            home.files_containing(marker),
            Vec::<PathBuf>::new(),
            "{what}"
        );
    }
}

#[test]
fn a_private_document_cannot_be_named_on_the_wire() {
    let mut w = world();
    // The document field of a frame has two values, "your side" and "mine". Everything else
    // fails to decode, before a session looks at it.
    let named = |name: &str| {
        let mut body = vec![0u8, name.len() as u8];
        body.extend_from_slice(name.as_bytes());
        body
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("a third kind of document", vec![0, 2, 0]),
        ("a document named \"private\"", named("private")),
        ("a document named \"journal\"", named("journal")),
        (
            "Maya's side for Sam, by its store name",
            named(&DocId::Side(w.maya_sam).to_string()),
        ),
        ("a frame type that does not exist", vec![4, 0, 0]),
        (
            "a frame type far out of range",
            vec![0xff, 0xff, 0xff, 0x0f],
        ),
    ];
    for (what, body) in cases {
        w.assert_refused(what, Payload::Raw(framed(&body)), false);
    }
    w.others_still_sync();
    World::assert_absent(&w.jordan, PRIVATE, "Maya's private words reached Jordan");
}

/// Plays Jordan's part of the protocol to the end, starting with `first` in the first batch and
/// then answering like an empty replica of Maya's side. Returns what Maya's node sent (the
/// messages and signed heads, as bytes) and the replica built from it.
async fn fetch(conn: &Connection, first: Vec<Frame>) -> Result<(Vec<u8>, Automerge), String> {
    let (mut send, mut recv) = conn.open_bi().await.map_err(|e| e.to_string())?;
    // tapin/sync/3: each side's first frame is its reach.
    frame::write(&mut send, &Reach::default())
        .await
        .map_err(|e| e.to_string())?;
    let mut their_reach = true;
    let mut replica = Automerge::new();
    let mut state = am_sync::State::new();
    let mut received = Vec::new();
    let mut extra = first;
    for _round in 0..16 {
        let mut batch = std::mem::take(&mut extra);
        if let Some(m) = replica.generate_sync_message(&mut state) {
            batch.push(Frame::Sync {
                doc: WireDoc::ReceiverSide,
                message: m.encode(),
            });
        }
        let sent_empty = batch.is_empty();
        batch.push(Frame::EndOfBatch);
        for f in &batch {
            frame::write(&mut send, f)
                .await
                .map_err(|e| e.to_string())?;
        }
        let mut got_empty = true;
        if std::mem::take(&mut their_reach) {
            tokio::time::timeout(REFUSAL, frame::read::<Reach>(&mut recv, REACH_CAP))
                .await
                .map_err(|_| "Maya's node went quiet".to_owned())?
                .map_err(|e| e.to_string())?;
        }
        loop {
            let f: Frame = tokio::time::timeout(REFUSAL, frame::read(&mut recv, FRAME_CAP))
                .await
                .map_err(|_| "Maya's node went quiet".to_owned())?
                .map_err(|e| e.to_string())?;
            match f {
                Frame::EndOfBatch => break,
                Frame::Sync { doc, message } => {
                    got_empty = false;
                    received.extend_from_slice(&message);
                    if doc == WireDoc::SenderSide {
                        let msg = am_sync::Message::decode(&message).map_err(|e| e.to_string())?;
                        replica
                            .receive_sync_message(&mut state, msg)
                            .map_err(|e| e.to_string())?;
                    }
                }
                Frame::Heads { heads, signature } => {
                    got_empty = false;
                    for h in heads {
                        received.extend_from_slice(&h);
                    }
                    received.extend_from_slice(&signature);
                }
                // Not on tapin/sync/3, but kept as what came.
                Frame::SnapshotPart { bytes, .. } => {
                    got_empty = false;
                    received.extend_from_slice(&bytes);
                }
                Frame::Snapshot { bytes } => {
                    got_empty = false;
                    received.extend_from_slice(&bytes);
                    if replica.is_empty() {
                        replica = Automerge::load(&bytes).map_err(|e| e.to_string())?;
                    }
                }
            }
        }
        if sent_empty && got_empty {
            let _ = send.finish();
            return Ok((received, replica));
        }
    }
    Err("the exchange did not settle".to_owned())
}

#[test]
fn a_friend_receives_only_the_side_kept_for_him_never_the_one_kept_for_someone_else() {
    let mut w = world();
    let for_sam = load(&w.maya, DocId::Side(w.maya_sam));
    let private = load(&w.maya, DocId::Private);
    let (maya_store, _) = w.maya.store_and_key();
    let journal: Vec<Automerge> = maya_store
        .documents()
        .expect("documents")
        .into_iter()
        .filter(DocId::is_journal_week)
        .map(|doc| load(&w.maya, doc))
        .collect();
    assert!(!journal.is_empty(), "Maya's journal has a week");
    let for_jordan = load(&w.maya, DocId::Side(w.maya_jordan));
    assert!(!hashes(&for_sam).is_empty() && !hashes(&private).is_empty());
    // Jordan knows (say Sam told him) the hashes of every change Maya made to her side for Sam,
    // and of her private documents, and asks for them by hash, about both documents the
    // protocol can name, before asking like an honest empty replica.
    let mut wanted = hashes(&for_sam);
    wanted.extend(hashes(&private));
    for week in &journal {
        wanted.extend(hashes(week));
    }
    wanted.sort();
    wanted.dedup();
    let first = vec![
        Frame::Sync {
            doc: WireDoc::ReceiverSide,
            message: send_me(wanted.clone()),
        },
        Frame::Sync {
            doc: WireDoc::SenderSide,
            message: send_me(wanted.clone()),
        },
    ];
    let (received, replica) =
        w.rt.block_on(async {
            let conn = w.connect().await;
            let result = fetch(&conn, first).await;
            conn.close(0u32.into(), b"done");
            result
        })
        .expect("Maya's node completes the exchange with her paired friend");

    // He got what is his: Maya's side for him, whole.
    assert_eq!(
        replica.get_heads(),
        for_jordan.get_heads(),
        "Jordan did not receive Maya's side for him"
    );
    assert!(
        contains_bytes(&received, JORDAN_SIDE.as_bytes()),
        "the bytes received do not show Maya's side for Jordan; the check would prove nothing"
    );
    // And nothing else.
    for marker in [SAM_SIDE, PRIVATE] {
        assert!(
            !contains_bytes(&received, marker.as_bytes()),
            "{marker} reached Jordan on the wire"
        );
    }
    for h in &wanted {
        assert!(
            replica.get_change_by_hash(h).is_none(),
            "change {h} of another document reached Jordan"
        );
    }
    World::assert_absent(
        &w.jordan,
        SAM_SIDE,
        "Maya's side for Sam reached Jordan's home",
    );

    // Jordan's honest device, the binary, still syncs; Sam too, and he holds his side.
    w.jordan.sync_with("Maya");
    World::assert_absent(
        &w.jordan,
        SAM_SIDE,
        "Maya's side for Sam reached Jordan's home",
    );
    w.others_still_sync();
    assert!(!w.sam.files_containing(SAM_SIDE).is_empty());
    World::assert_absent(&w.sam, JORDAN_SIDE, "Maya's side for Jordan reached Sam");
}

#[test]
fn changes_sent_into_the_owners_side_are_refused_whole_and_change_nothing() {
    let mut w = world();
    // Maya's side as Jordan holds it, and his own side.
    let maya_side = load(&w.jordan, DocId::Replica(w.jordan_maya));
    let jordan_side = load(&w.jordan, DocId::Side(w.jordan_maya));
    assert!(
        !maya_side.get_heads().is_empty(),
        "Jordan synced Maya's side first"
    );
    let maya_actor = automerge::ActorId::from(w.maya_device.to_bytes().as_slice());
    let sam_actor = automerge::ActorId::from(w.sam_device.to_bytes().as_slice());
    let cases: Vec<(&str, WireDoc, Vec<u8>)> = vec![
        (
            "a change to Maya's side, by Jordan's device",
            WireDoc::ReceiverSide,
            offering(&mut forge(&maya_side, w.jordan_key.actor()), &maya_side),
        ),
        (
            "a change to Maya's side, claiming to be by Maya's device",
            WireDoc::ReceiverSide,
            offering(&mut forge(&maya_side, maya_actor.clone()), &maya_side),
        ),
        (
            "a change to Jordan's side, claiming to be by Sam's device",
            WireDoc::SenderSide,
            offering(&mut forge(&jordan_side, sam_actor), &Automerge::new()),
        ),
        (
            "a change to Jordan's side, claiming to be by Maya's device",
            WireDoc::SenderSide,
            offering(&mut forge(&jordan_side, maya_actor), &Automerge::new()),
        ),
    ];
    let records = |w: &World| {
        let side = load(&w.maya, DocId::Side(w.maya_jordan));
        let replica = load(&w.maya, DocId::Replica(w.maya_jordan));
        (
            docs::read_side(&side, w.maya_jordan).expect("read Maya's side"),
            docs::read_replica(&replica, w.maya_jordan).expect("read Maya's replica"),
        )
    };
    let maya_before = records(&w);
    for (what, doc, message) in cases {
        w.assert_refused(
            what,
            Payload::Frames(vec![Frame::Sync { doc, message }, Frame::EndOfBatch]),
            false,
        );
    }
    assert_eq!(records(&w), maya_before, "Maya's side or replica changed");
    World::assert_absent(&w.maya, FORGED, "a forged change reached Maya's home");
    w.others_still_sync();
    // Jordan's honest device still syncs, and sees no forged change on Maya's side.
    w.jordan.sync_with("Maya");
    let seen = w.jordan.json(&["show", "Maya"]);
    assert!(!seen.to_string().contains(FORGED), "{seen:#}");
    World::assert_absent(&w.jordan, FORGED, "a forged change came back to Jordan");
}

#[test]
fn a_frame_announced_over_the_cap_is_refused_before_it_is_read() {
    let mut w = world();
    for (what, len) in [
        ("one byte over the cap", FRAME_CAP + 1),
        ("four gigabytes", u32::MAX),
    ] {
        // The announced body never comes: 64 KiB of it, then nothing.
        let mut bytes = len.to_be_bytes().to_vec();
        bytes.extend(std::iter::repeat_n(0u8, 64 * 1024));
        w.assert_refused(what, Payload::Raw(bytes), false);
    }
    w.others_still_sync();
}

#[test]
fn garbage_on_the_sync_protocol_is_refused() {
    let mut w = world();
    let heads_forged = Frame::Heads {
        heads: vec![[9; 32]],
        signature: vec![0; 64],
    };
    let cases: Vec<(&str, Payload, bool)> = vec![
        (
            "a line of text",
            Payload::Raw(b"hello, is this tapin?\r\n".to_vec()),
            false,
        ),
        (
            "a body that is not a frame",
            Payload::Raw(framed(&[0xff; 8])),
            false,
        ),
        (
            "a frame cut short, then the end of the stream",
            Payload::Raw({
                let mut b = 100u32.to_be_bytes().to_vec();
                b.extend_from_slice(&[0; 10]);
                b
            }),
            true,
        ),
        (
            "a sync frame whose message is not automerge",
            Payload::Frames(vec![
                Frame::Sync {
                    doc: WireDoc::SenderSide,
                    message: vec![1, 2, 3],
                },
                Frame::EndOfBatch,
            ]),
            false,
        ),
        (
            "a snapshot of his side after another frame",
            Payload::Frames(vec![
                Frame::Sync {
                    doc: WireDoc::ReceiverSide,
                    message: send_me_everything(),
                },
                Frame::Snapshot {
                    bytes: load(&w.jordan, DocId::Side(w.jordan_maya)).save(),
                },
                Frame::EndOfBatch,
            ]),
            false,
        ),
        (
            "signed heads whose signature does not verify",
            Payload::Frames(vec![heads_forged, Frame::EndOfBatch]),
            false,
        ),
        (
            "more frames in one batch than the protocol allows",
            Payload::Frames(
                (0..64)
                    .map(|_| Frame::Sync {
                        doc: WireDoc::ReceiverSide,
                        message: send_me_everything(),
                    })
                    .collect(),
            ),
            false,
        ),
    ];
    for (what, payload, finish) in cases {
        w.assert_refused(what, payload, finish);
    }
    w.others_still_sync();
}

#[test]
fn a_friend_that_opens_many_streams_and_stalls_does_not_hold_up_anyone_else() {
    let mut w = world();
    const STREAMS: usize = 50;
    let (conn, streams) = w.rt.block_on(async {
        let conn = w.connect().await;
        let mut streams = Vec::new();
        for _ in 0..STREAMS {
            let Ok(Ok((mut send, recv))) =
                tokio::time::timeout(Duration::from_secs(5), conn.open_bi()).await
            else {
                break;
            };
            // Half a length prefix, then nothing: the stream exists and stalls.
            let _ = send.write_all(&[0, 0]).await;
            streams.push((send, recv));
        }
        (conn, streams)
    });
    assert_eq!(streams.len(), STREAMS, "could not open every stream");

    // While Jordan stalls, Sam syncs as usual, within a bounded time, twice.
    w.others_still_sync();
    w.others_still_sync();
    // And Maya's own writes go on.
    w.maya
        .ok(&["thanks", "Jordan", "Written while Jordan stalls"]);
    w.others_still_sync();
    drop(streams);
    conn.close(0u32.into(), b"done");
}

/// On `tapin/sync/4` a friend sends its snapshot in parts before anything else. Maya already holds
/// Jordan's side, so her session ignores the parts; what stops a friend who streams them without
/// end is the cap on a batch's parts: one snapshot's (64 MiB). A part claiming a longer snapshot
/// is refused at once. Either way the connection is closed as a violation, nothing of Maya's
/// changes, and she still serves Sam.
#[test]
fn snapshot_parts_without_end_on_sync_4_are_refused_at_one_snapshots_cap() {
    const PART: usize = 16 * 1024;
    let mut w = world();
    let before = w.maya_heads();
    for (what, total, parts) in [
        (
            "parts past one snapshot's cap",
            u64::from(FRAME_CAP),
            FRAME_CAP as usize / PART + 64,
        ),
        (
            "a part of a snapshot longer than the cap",
            u64::from(FRAME_CAP) + 1,
            1,
        ),
    ] {
        let started = Instant::now();
        let ended = w.rt.block_on(async {
            let conn = tokio::time::timeout(
                NET_TIMEOUT,
                w.ep.connect(w.maya_at.clone(), tapin_net::SYNC_ALPN),
            )
            .await
            .expect("the dial timed out")
            .expect("Maya's node accepts Jordan: he is paired");
            let (mut send, mut recv): (SendStream, RecvStream) =
                conn.open_bi().await.expect("open a stream");
            let hello = tapin_net::sync::Hello {
                reach: Reach::default(),
                holds_yours: true,
                staged: 0,
                staged_digest: [0; 32],
            };
            frame::write(&mut send, &hello)
                .await
                .expect("send the hello");
            // Her hello comes back; read whatever she sends, so her side never waits on us.
            let reader = tokio::spawn(async move { drain(&mut recv, REFUSAL).await });
            for i in 0..parts {
                let part = Frame::SnapshotPart {
                    offset: (i * PART) as u64,
                    total,
                    bytes: vec![0x5a; PART],
                };
                if frame::write(&mut send, &part).await.is_err() {
                    break;
                }
            }
            let ended = match tokio::time::timeout(REFUSAL, conn.closed()).await {
                Ok(ConnectionError::ApplicationClosed(close)) => {
                    Ended::ClosedWith(close.error_code.into_inner())
                }
                Ok(other) => Ended::Otherwise(other.to_string()),
                Err(_) => Ended::StillOpen,
            };
            reader.abort();
            ended
        });
        assert_eq!(
            ended,
            Ended::ClosedWith(u64::from(VIOLATION)),
            "{what}: Maya's node should close the connection with {VIOLATION}"
        );
        assert!(
            started.elapsed() < REFUSAL * 3,
            "{what}: refused only after {:?}",
            started.elapsed()
        );
        assert_eq!(w.maya_heads(), before, "{what}: Maya's documents changed");
    }
    w.others_still_sync();
}
