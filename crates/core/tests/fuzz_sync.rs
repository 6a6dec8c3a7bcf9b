//! Sync frames and sessions (`tapin_core::sync`), fuzzed from real exchanges.
//!
//! Maya's session with Jordan's device `j1` receives what Jordan's device sent in three recorded
//! exchanges between two real sessions: a first sync that opens with a snapshot, a first sync
//! where automerge sends the whole document, and a later sync resumed from persisted states
//! after both of Jordan's devices (`j1`, `j2`) wrote concurrently. Each case changes that
//! sequence of frames and feeds it to Maya's session from the exchange's starting point:
//!
//! - the sequence: frames dropped, repeated, swapped, reversed, cut short; frames inserted from a
//!   pool of forgeries (Eve's changes in Jordan's side, whole or as one more change; Maya's own
//!   device writing into Jordan's side; Jordan writing into Maya's side; Maya's side offered as
//!   Jordan's; stale, foreign, empty and mixed snapshots; heads signed by `j2`, by Eve, or by
//!   `j1` over other heads);
//! - a frame's `WireDoc` swapped;
//! - an automerge message's fields: heads and needs replaced, its Bloom filters dropped, its
//!   change chunks replaced, added, dropped, repeated, reordered, joined into one, split, or
//!   damaged;
//! - a frame's postcard encoding, bytes mutated (a frame that no longer decodes ends the
//!   session, as in `tapin-net`).
//!
//! After every frame, and whatever came before: nothing panics; Maya's own side is unchanged;
//! a refused frame changed neither the replica nor the signed heads, and its error is the one
//! the rules give (`LateSnapshot` for a snapshot after the first frame, `WriteToMySide` for
//! changes about Maya's side, `BadSignature` for heads `j1` did not sign, `ForeignAuthor` naming
//! a device that is not Jordan's); an accepted frame added exactly the changes it reports, heads
//! are taken only when `j1` signed them; and the replica holds only changes made by Jordan's
//! devices, all of them Jordan's real ones. A refused frame ends the session. At the end, a
//! whole side the session kept to store holds only Jordan's changes, all in the replica.
//!
//! Changes given a valid checksum after being damaged are left out: automerge 0.12 panics on
//! many (see `found_loader_panics.rs`).
//!
//! `TAPIN_FUZZ_CASES=100000 cargo test --release -p tapin-core --test fuzz_sync`

mod support;

use std::collections::BTreeSet;
use std::sync::OnceLock;

use automerge::sync::{self, ChunkList, SyncDoc};
use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, Automerge, ChangeHash, ROOT, ReadDoc};
use ed25519_dalek::{Signature, Verifier};
use proptest::prelude::*;
use proptest::sample::Index;
use support::{Mutation, config, heads_message, key, mutations};
use tapin_core::identity::DeviceKey;
use tapin_core::sync::{Frame, Received, Session, SignedHeads, Violation, WireDoc};

/// `doc` with `n` more changes by `by`.
fn extend(doc: &Automerge, by: &DeviceKey, n: usize, tag: &str) -> Automerge {
    let mut d = AutoCommit::load(&doc.save())
        .expect("a saved document loads")
        .with_actor(by.actor());
    for i in 0..n {
        d.put(ROOT, format!("{tag}{i}"), i as i64).expect("put");
        d.commit();
    }
    d.document().clone()
}

fn merge(a: &Automerge, b: &Automerge, by: &DeviceKey) -> Automerge {
    let mut a = a.clone().with_actor(by.actor());
    let mut b = b.clone();
    a.merge(&mut b).expect("merge");
    a
}

/// The message `from` sends to a peer holding `to`, answering that peer's first message.
fn offer(from: &Automerge, to: &Automerge) -> sync::Message {
    let hello = to
        .generate_sync_message(&mut sync::State::new())
        .expect("a first message");
    let mut state = sync::State::new();
    let mut sender = from.clone();
    sender
        .receive_sync_message(&mut state, hello)
        .expect("a genuine message");
    sender.generate_sync_message(&mut state).expect("an answer")
}

fn sync_frame(doc: WireDoc, msg: sync::Message) -> Frame {
    Frame::Sync {
        doc,
        message: msg.encode(),
    }
}

fn heads_frame(by: &DeviceKey, heads: &[ChangeHash]) -> Frame {
    let raw: Vec<[u8; 32]> = heads.iter().map(|h| h.0).collect();
    Frame::Heads {
        signature: by.sign_raw(&heads_message(&raw)).to_bytes().to_vec(),
        heads: raw,
    }
}

/// Where Maya's session starts, and what Jordan's device sent in the honest exchange.
#[derive(Debug)]
struct Scenario {
    theirs: Automerge,
    mine_state: Vec<u8>,
    theirs_state: Vec<u8>,
    frames: Vec<Frame>,
}

#[derive(Debug)]
struct World {
    maya: DeviceKey,
    j1: DeviceKey,
    j2: DeviceKey,
    maya_side: Automerge,
    scenarios: Vec<Scenario>,
    /// Forged frames.
    pool: Vec<Frame>,
    /// Chunks for automerge messages: Jordan's changes, and forged ones.
    chunks: Vec<Vec<u8>>,
    /// Change hashes to put in heads and needs.
    hashes: Vec<ChangeHash>,
    /// Every change Jordan's devices really made.
    genuine: BTreeSet<ChangeHash>,
}

impl World {
    fn authors(&self) -> BTreeSet<ActorId> {
        [self.j1.actor(), self.j2.actor()].into()
    }

    /// Maya's session at the start of `s`; `unloaded`: one that sent her side as a snapshot and
    /// holds only its heads until a frame makes it load her side ([`Session::unloaded`]).
    fn session_of(&self, s: &Scenario, unloaded: bool) -> Session {
        if unloaded {
            let mut m = Session::unloaded(
                self.maya_side.get_heads(),
                s.theirs.clone(),
                &s.mine_state,
                &s.theirs_state,
                [self.j1.id(), self.j2.id()],
                self.j1.id(),
            );
            m.snapshot_sent();
            return m;
        }
        self.session(s)
    }

    fn session(&self, s: &Scenario) -> Session {
        Session::new(
            self.maya_side.clone(),
            s.theirs.clone(),
            &s.mine_state,
            &s.theirs_state,
            [self.j1.id(), self.j2.id()],
            self.j1.id(),
        )
    }
}

/// Runs an exchange that Jordan's session `j` opens, until a round trip carries nothing,
/// returning every frame Jordan sent.
fn exchange(
    j: &mut Session,
    jk: &DeviceKey,
    m: &mut Session,
    mk: &DeviceKey,
    snapshot: Option<Vec<u8>>,
) -> Vec<Frame> {
    let mut sent = Vec::new();
    let mut first = Vec::new();
    if let Some(bytes) = snapshot {
        j.snapshot_sent();
        first.push(Frame::Snapshot { bytes });
    }
    first.extend(j.batch(jk));
    let mut from_j = first;
    for _ in 0..20 {
        let j_empty = from_j.len() == 1;
        for f in from_j {
            m.receive(f.clone()).expect("an honest frame");
            sent.push(f);
        }
        let from_m = m.batch(mk);
        let m_empty = from_m.len() == 1;
        for f in from_m {
            j.receive(f).expect("an honest frame");
        }
        if j_empty && m_empty {
            return sent;
        }
        from_j = j.batch(jk);
    }
    panic!("the honest exchange did not converge");
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let (maya, j1, j2, eve) = (key(1), key(2), key(3), key(4));
        let maya_side = extend(&Automerge::new(), &maya, 3, "m");
        // Jordan's side: j1 writes, j2 branches off and writes, j1 merges and writes again.
        let base = extend(&Automerge::new(), &j1, 1, "a");
        let left = extend(&base, &j1, 2, "b");
        let right = extend(&base, &j2, 2, "c");
        let side1 = extend(&merge(&left, &right, &j1), &j1, 1, "d");
        // Later, both devices write concurrently: two heads.
        let side2 = merge(
            &extend(&side1, &j1, 1, "e"),
            &extend(&side1, &j2, 2, "f"),
            &j1,
        );
        assert_eq!(side2.get_heads().len(), 2);
        // As Jordan's store keeps it: a snapshot and the changes written since.
        let early = side1.fork_at(&left.get_heads()).expect("fork");
        let mut stored = early.save();
        stored.extend(side1.save_after(&early.get_heads()));
        let authors = [j1.id(), j2.id()];

        let fresh = |mine: &Automerge, friend: &[tapin_core::identity::DeviceId]| {
            Session::new(
                mine.clone(),
                Automerge::new(),
                &[],
                &[],
                friend.to_vec(),
                friend[0],
            )
        };
        let mut scenarios = Vec::new();
        // A first sync opening with a snapshot.
        let mut j = fresh(&side1, &[maya.id()]);
        let mut m = fresh(&maya_side, &authors);
        let frames = exchange(&mut j, &j1, &mut m, &maya, Some(stored.clone()));
        assert!(matches!(frames[0], Frame::Snapshot { .. }));
        scenarios.push(Scenario {
            theirs: Automerge::new(),
            mine_state: vec![],
            theirs_state: vec![],
            frames,
        });
        // The same, later: resumed from the states both stored.
        let (m_mine, m_theirs) = m.states();
        let (j_mine, j_theirs) = j.states();
        let replica = m.theirs().clone();
        let mut j = Session::new(
            side2.clone(),
            j.theirs().clone(),
            &j_mine,
            &j_theirs,
            [maya.id()],
            maya.id(),
        );
        let mut m = Session::new(
            maya_side.clone(),
            replica.clone(),
            &m_mine,
            &m_theirs,
            authors,
            j1.id(),
        );
        let frames = exchange(&mut j, &j1, &mut m, &maya, None);
        assert_eq!(m.theirs().get_heads(), side2.get_heads());
        scenarios.push(Scenario {
            theirs: replica,
            mine_state: m_mine,
            theirs_state: m_theirs,
            frames,
        });
        // A first sync where automerge sends the whole document.
        let mut j = fresh(&side2, &[maya.id()]);
        let mut m = fresh(&maya_side, &authors);
        let frames = exchange(&mut j, &j1, &mut m, &maya, None);
        scenarios.push(Scenario {
            theirs: Automerge::new(),
            mine_state: vec![],
            theirs_state: vec![],
            frames,
        });

        // Forgeries.
        let with_eve = extend(&side1, &eve, 1, "eve");
        let with_maya = extend(&side1, &maya, 1, "maya");
        let into_mine = extend(&maya_side, &j1, 1, "jordan");
        let eve_change = with_eve.save_after(&side1.get_heads());
        let maya_change = with_maya.save_after(&side1.get_heads());
        let pool = vec![
            sync_frame(WireDoc::SenderSide, offer(&with_eve, &Automerge::new())),
            sync_frame(WireDoc::SenderSide, offer(&with_eve, &side1)),
            sync_frame(WireDoc::SenderSide, offer(&with_maya, &side1)),
            sync_frame(WireDoc::SenderSide, offer(&maya_side, &Automerge::new())),
            sync_frame(WireDoc::SenderSide, offer(&into_mine, &Automerge::new())),
            sync_frame(WireDoc::ReceiverSide, offer(&into_mine, &maya_side)),
            sync_frame(WireDoc::ReceiverSide, offer(&side1, &Automerge::new())),
            sync_frame(
                WireDoc::ReceiverSide,
                maya_side
                    .generate_sync_message(&mut sync::State::new())
                    .expect("a first message"),
            ),
            Frame::Snapshot {
                bytes: with_eve.save(),
            },
            Frame::Snapshot {
                bytes: maya_side.save(),
            },
            Frame::Snapshot {
                bytes: [side1.save(), eve_change.clone()].concat(),
            },
            Frame::Snapshot {
                bytes: early.save(),
            },
            Frame::Snapshot {
                bytes: side2.save(),
            },
            Frame::Snapshot {
                bytes: side1.save_after(&[]),
            },
            Frame::Snapshot {
                bytes: Automerge::new().save(),
            },
            Frame::Snapshot { bytes: vec![] },
            heads_frame(&j1, &side2.get_heads()),
            heads_frame(&j2, &side2.get_heads()),
            heads_frame(&eve, &side1.get_heads()),
            heads_frame(&maya, &side1.get_heads()),
            heads_frame(&j1, &maya_side.get_heads()),
            heads_frame(&j1, &[]),
            Frame::EndOfBatch,
        ];

        let mut chunks: Vec<Vec<u8>> = side2
            .get_changes(&[])
            .iter()
            .map(|c| c.raw_bytes().to_vec())
            .collect();
        chunks.extend([
            eve_change,
            maya_change,
            into_mine.save_after(&maya_side.get_heads()),
            maya_side.save_after(&[]),
            side1.save(),
            side2.save(),
            with_eve.save(),
            side2.save_after(&side1.get_heads()),
            with_eve.save_after(&early.get_heads()),
        ]);
        let mut hashes: Vec<ChangeHash> = [&side2, &with_eve, &with_maya, &into_mine]
            .iter()
            .flat_map(|d| {
                d.get_changes(&[])
                    .iter()
                    .map(|c| c.hash())
                    .collect::<Vec<_>>()
            })
            .collect();
        hashes.push(ChangeHash([7; 32]));
        let genuine = side2.get_changes(&[]).iter().map(|c| c.hash()).collect();
        let world = World {
            maya,
            j1,
            j2,
            maya_side,
            scenarios,
            pool,
            chunks,
            hashes,
            genuine,
        };
        // Every recorded exchange replays on a session rebuilt from its starting point.
        for s in &world.scenarios {
            let mut m = world.session(s);
            for f in &s.frames {
                m.receive(f.clone()).expect("an honest frame replays");
            }
        }
        world
    })
}

/// A change to an automerge sync message.
#[derive(Debug, Clone)]
enum MsgEdit {
    Heads(Vec<Index>),
    Need(Vec<Index>),
    DropHave,
    Changes(Vec<Index>),
    AddChunk(Index),
    DropChunk(Index),
    RepeatChunk(Index),
    ReverseChunks,
    /// All chunks in one element, as automerge's second message format sends them.
    Join,
    /// Every chunk its own element.
    Split,
    /// Byte mutations of one chunk (its checksum left as it is).
    Damage(Index, Vec<Mutation>),
}

fn msg_edit() -> impl Strategy<Value = MsgEdit> {
    let indices = || proptest::collection::vec(any::<Index>(), 0..4);
    prop_oneof![
        1 => indices().prop_map(MsgEdit::Heads),
        1 => indices().prop_map(MsgEdit::Need),
        1 => Just(MsgEdit::DropHave),
        1 => proptest::collection::vec(any::<Index>(), 1..4).prop_map(MsgEdit::Changes),
        2 => any::<Index>().prop_map(MsgEdit::AddChunk),
        1 => any::<Index>().prop_map(MsgEdit::DropChunk),
        1 => any::<Index>().prop_map(MsgEdit::RepeatChunk),
        1 => Just(MsgEdit::ReverseChunks),
        1 => Just(MsgEdit::Join),
        1 => Just(MsgEdit::Split),
        2 => (any::<Index>(), mutations()).prop_map(|(i, m)| MsgEdit::Damage(i, m)),
    ]
}

/// A change to the sequence of frames.
#[derive(Debug, Clone)]
enum Op {
    Drop(Index),
    Repeat(Index, Index),
    Swap(Index, Index),
    Reverse,
    Cut(Index),
    /// Inserts a forged frame from the pool.
    Insert(Index, Index),
    SwapDoc(Index),
    Edit(Index, MsgEdit),
    /// Mutates the frame's postcard encoding.
    Bytes(Index, Vec<Mutation>),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => any::<Index>().prop_map(Op::Drop),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Op::Repeat(a, b)),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Op::Swap(a, b)),
        1 => Just(Op::Reverse),
        1 => any::<Index>().prop_map(Op::Cut),
        3 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Op::Insert(a, b)),
        1 => any::<Index>().prop_map(Op::SwapDoc),
        4 => (any::<Index>(), msg_edit()).prop_map(|(i, e)| Op::Edit(i, e)),
        2 => (any::<Index>(), mutations()).prop_map(|(i, m)| Op::Bytes(i, m)),
    ]
}

fn edit_message(w: &World, message: &[u8], edit: &MsgEdit) -> Vec<u8> {
    let Ok(mut msg) = sync::Message::decode(message) else {
        return message.to_vec();
    };
    // Sorted: `Message::encode` asserts it (and byte mutations reach the unsorted case).
    let hashes = |ix: &[Index]| -> Vec<ChangeHash> {
        let set: BTreeSet<ChangeHash> = ix
            .iter()
            .map(|i| w.hashes[i.index(w.hashes.len())])
            .collect();
        set.into_iter().collect()
    };
    let mut chunks: Vec<Vec<u8>> = msg.changes.iter().map(<[u8]>::to_vec).collect();
    match edit {
        MsgEdit::Heads(ix) => msg.heads = hashes(ix),
        MsgEdit::Need(ix) => msg.need = hashes(ix),
        MsgEdit::DropHave => msg.have.clear(),
        MsgEdit::Changes(ix) => {
            chunks = ix
                .iter()
                .map(|i| w.chunks[i.index(w.chunks.len())].clone())
                .collect()
        }
        MsgEdit::AddChunk(i) => chunks.push(w.chunks[i.index(w.chunks.len())].clone()),
        MsgEdit::DropChunk(i) if !chunks.is_empty() => {
            chunks.remove(i.index(chunks.len()));
        }
        MsgEdit::RepeatChunk(i) if !chunks.is_empty() => {
            let c = chunks[i.index(chunks.len())].clone();
            chunks.push(c);
        }
        MsgEdit::ReverseChunks => chunks.reverse(),
        MsgEdit::Join if !chunks.is_empty() => chunks = vec![chunks.concat()],
        MsgEdit::Split => {
            chunks = chunks
                .iter()
                .flat_map(|c| match support::chunks(c) {
                    Some(parts) => parts.iter().map(|p| p.bytes(c).to_vec()).collect(),
                    None => vec![c.clone()],
                })
                .collect()
        }
        MsgEdit::Damage(i, ms) if !chunks.is_empty() => {
            let i = i.index(chunks.len());
            chunks[i] = support::mutated(&chunks[i], ms);
        }
        MsgEdit::DropChunk(_) | MsgEdit::RepeatChunk(_) | MsgEdit::Join | MsgEdit::Damage(..) => {}
    }
    msg.changes = ChunkList::from(chunks);
    msg.encode()
}

/// A frame as the sequence carries it: decoded, or bytes that no longer decode.
#[derive(Debug, Clone)]
enum Wire {
    Frame(Frame),
    Garbled,
}

fn apply(w: &World, frames: &mut Vec<Wire>, op: &Op) {
    let n = frames.len();
    let at = |i: &Index| i.index(n.max(1));
    match op {
        Op::Drop(i) if n > 0 => {
            frames.remove(at(i));
        }
        Op::Repeat(i, to) if n > 0 => {
            let f = frames[at(i)].clone();
            frames.insert(to.index(n + 1), f);
        }
        Op::Swap(a, b) if n > 0 => frames.swap(at(a), at(b)),
        Op::Reverse => frames.reverse(),
        Op::Cut(i) => frames.truncate(i.index(n + 1)),
        Op::Insert(i, p) => {
            let f = w.pool[p.index(w.pool.len())].clone();
            frames.insert(i.index(n + 1), Wire::Frame(f));
        }
        Op::SwapDoc(i) if n > 0 => {
            if let Wire::Frame(Frame::Sync { doc, .. }) = &mut frames[at(i)] {
                *doc = match doc {
                    WireDoc::SenderSide => WireDoc::ReceiverSide,
                    WireDoc::ReceiverSide => WireDoc::SenderSide,
                };
            }
        }
        Op::Edit(i, e) if n > 0 => {
            if let Wire::Frame(Frame::Sync { message, .. }) = &mut frames[at(i)] {
                *message = edit_message(w, message, e);
            }
        }
        Op::Bytes(i, ms) if n > 0 => {
            let i = at(i);
            if let Wire::Frame(f) = &frames[i] {
                let bytes = postcard::to_stdvec(f).expect("a frame encodes");
                frames[i] = match postcard::from_bytes::<Frame>(&support::mutated(&bytes, ms)) {
                    Ok(f) => Wire::Frame(f),
                    Err(_) => Wire::Garbled,
                };
            }
        }
        Op::Drop(_)
        | Op::Repeat(..)
        | Op::Swap(..)
        | Op::SwapDoc(_)
        | Op::Edit(..)
        | Op::Bytes(..) => {}
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Feeds `frames` to a session at the scenario's start and checks every rule of the module
/// docs after each. An `unloaded` session is given Maya's side whenever it needs it, as
/// tapin-net does before each batch: what the frames said of it so far must not panic it, nor
/// change it; refused, the session ends.
fn run(w: &World, s: &Scenario, frames: &[Wire], unloaded: bool) -> Result<(), TestCaseError> {
    let mut m = w.session_of(s, unloaded);
    let authors = w.authors();
    let mine_heads = w.maya_side.get_heads();
    let mut first = true;
    for wire in frames {
        let Wire::Frame(f) = wire else {
            // tapin-net ends the session on a frame that does not decode.
            break;
        };
        let before = m.theirs().get_heads();
        let before_count = m.theirs().get_changes_meta(&[]).len();
        let before_signed = m.received_heads().cloned();
        let got = m.receive(f.clone());
        prop_assert_eq!(m.mine_heads(), mine_heads.clone(), "my side changed");
        let after_count = m.theirs().get_changes_meta(&[]).len();
        for meta in m.theirs().get_changes_meta(&[]) {
            prop_assert!(
                authors.contains(meta.actor.as_ref()),
                "the replica holds a change by {}",
                meta.actor
            );
            prop_assert!(w.genuine.contains(&meta.hash), "a change Jordan never made");
        }
        let signed_by_j1 = match f {
            Frame::Heads { heads, signature } => <[u8; 64]>::try_from(signature.as_slice())
                .is_ok_and(|sig| {
                    w.j1.id()
                        .0
                        .verify(&heads_message(heads), &Signature::from_bytes(&sig))
                        .is_ok()
                }),
            _ => false,
        };
        let carries_changes = match f {
            Frame::Sync { message, .. } => {
                sync::Message::decode(message).is_ok_and(|m| !m.changes.is_empty())
            }
            _ => false,
        };
        match got {
            Err(v) => {
                prop_assert_eq!(
                    m.theirs().get_heads(),
                    before,
                    "a refused frame applied changes"
                );
                prop_assert_eq!(after_count, before_count);
                prop_assert_eq!(m.received_heads(), before_signed.as_ref());
                match (f, &v) {
                    (Frame::Snapshot { .. }, Violation::LateSnapshot) => prop_assert!(!first),
                    (Frame::Snapshot { .. }, _) => prop_assert!(first, "{:?}", v),
                    (Frame::Heads { .. }, Violation::BadSignature) => prop_assert!(!signed_by_j1),
                    (
                        Frame::Sync {
                            doc: WireDoc::ReceiverSide,
                            ..
                        },
                        Violation::WriteToMySide,
                    ) => {
                        prop_assert!(carries_changes)
                    }
                    (
                        Frame::Sync {
                            doc: WireDoc::ReceiverSide,
                            ..
                        },
                        Violation::Malformed(_),
                    ) => {
                        prop_assert!(!carries_changes)
                    }
                    (
                        Frame::Sync {
                            doc: WireDoc::SenderSide,
                            ..
                        },
                        Violation::ForeignAuthor(a),
                    ) => {
                        prop_assert!(
                            !authors.iter().any(|x| x.to_hex_string() == *a),
                            "{} is Jordan's",
                            a
                        )
                    }
                    (
                        Frame::Sync {
                            doc: WireDoc::SenderSide,
                            ..
                        },
                        Violation::Malformed(_),
                    ) => {}
                    _ => prop_assert!(false, "{:?} for {:?}", v, f),
                }
                // The connection closes on any violation.
                break;
            }
            Ok(Received {
                changes,
                end_of_batch,
            }) => {
                prop_assert_eq!(changes, after_count - before_count, "changes reported");
                prop_assert_eq!(end_of_batch, matches!(f, Frame::EndOfBatch));
                match f {
                    Frame::Snapshot { .. } => prop_assert!(first, "a late snapshot was taken"),
                    Frame::Heads { heads, signature } => {
                        prop_assert!(signed_by_j1, "heads j1 did not sign were taken");
                        let want = SignedHeads {
                            device: w.j1.id().to_string(),
                            heads: heads.iter().map(|h| ChangeHash(*h).to_string()).collect(),
                            signature: hex(signature),
                        };
                        prop_assert_eq!(m.received_heads(), Some(&want));
                    }
                    Frame::Sync {
                        doc: WireDoc::ReceiverSide,
                        ..
                    } => {
                        prop_assert!(!carries_changes, "changes to my side were taken")
                    }
                    _ => {}
                }
                if !matches!(f, Frame::Heads { .. }) {
                    prop_assert_eq!(m.received_heads(), before_signed.as_ref());
                }
                if end_of_batch {
                    if m.needs_mine() {
                        let loaded = m.set_mine(w.maya_side.clone());
                        prop_assert_eq!(m.mine_heads(), mine_heads.clone(), "my side changed");
                        if loaded.is_err() {
                            break;
                        }
                    }
                    // Maya answers each batch, as tapin-net does.
                    let _ = m.batch(&w.maya);
                }
            }
        }
        first = false;
    }
    if let Some(mut whole) = m.take_received_whole() {
        let doc = whole.document();
        for meta in doc.get_changes_meta(&[]) {
            prop_assert!(authors.contains(meta.actor.as_ref()));
        }
        for h in doc.get_heads() {
            prop_assert!(
                m.theirs().get_change_by_hash(&h).is_some(),
                "stored but not in the replica"
            );
        }
    }
    Ok(())
}

proptest! {
    // Signing and verifying heads in a debug build take milliseconds: fewer cases by default.
    #![proptest_config(config(64))]

    /// The honest exchanges, changed: see the module docs.
    #[test]
    fn fuzz_sync_session_takes_only_what_the_rules_allow(
        scenario in any::<Index>(),
        ops in proptest::collection::vec(op(), 0..=5),
        unloaded in any::<bool>(),
    ) {
        let w = world();
        let s = &w.scenarios[scenario.index(w.scenarios.len())];
        let mut frames: Vec<Wire> = s.frames.iter().cloned().map(Wire::Frame).collect();
        for op in &ops {
            apply(w, &mut frames, op);
        }
        run(w, s, &frames, unloaded)?;
    }

    /// Every frame of the pool, alone, first into each starting point.
    #[test]
    fn fuzz_sync_forged_frame_first(scenario in any::<Index>(), pick in any::<Index>(), edit in proptest::option::of(msg_edit()), unloaded in any::<bool>()) {
        let w = world();
        let s = &w.scenarios[scenario.index(w.scenarios.len())];
        let mut f = w.pool[pick.index(w.pool.len())].clone();
        if let (Frame::Sync { message, .. }, Some(e)) = (&mut f, &edit) {
            *message = edit_message(w, message, e);
        }
        run(w, s, &[Wire::Frame(f)], unloaded)?;
    }
}

/// The signed heads kept from an honest exchange verify against the replica, and mean only
/// what `j1` signed.
#[test]
fn honest_exchanges_keep_j1s_signed_heads() {
    let w = world();
    for s in &w.scenarios {
        let mut m = w.session(s);
        for f in &s.frames {
            m.receive(f.clone()).expect("an honest frame");
        }
        let signed = m.received_heads().expect("heads arrived").clone();
        assert_eq!(signed.device, w.j1.id().to_string());
        assert!(signed.verify(m.theirs()));
        assert!(
            !signed.verify(&Automerge::new()),
            "the replica must hold the heads"
        );
    }
}
