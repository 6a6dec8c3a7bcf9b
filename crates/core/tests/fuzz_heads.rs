//! Signed heads, fuzzed from genuine ones: `SignedHeads::verify` (what the store keeps and
//! `show` checks) and `Frame::Heads` through `Session::receive` (what the wire brings).
//!
//! The genuine heads come from a real exchange in which Jordan's device `j1` signed the two
//! heads of his side. Each case changes them: the device (another of Jordan's devices, Maya's,
//! Eve's; a hex digit, its case, its length), the heads (one dropped, repeated, replaced by
//! another change of the replica, by an unknown hash, by a hash in upper case; their order;
//! none at all), the signature (a bit, its case, its length; another device's signature over the
//! same heads; `j1`'s over other heads), and the replica it is checked against (the whole
//! replica, an earlier state of it, an empty document).
//!
//! `verify` is true exactly when the stated device signed the stated heads (checked here with
//! ed25519 directly; only the test's devices sign, so this is a statement one of them made) and
//! the replica holds every head; `j1`'s own statement written with other hex case or heads in
//! another order still verifies, as the heads are signed sorted. A session takes a `Heads` frame
//! exactly when `j1` signed those heads, keeps it as received, and otherwise refuses it with
//! `BadSignature` and keeps what it had.
//!
//! `TAPIN_FUZZ_CASES=100000 cargo test --release -p tapin-core --test fuzz_heads`

mod support;

use std::sync::OnceLock;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, Automerge, ChangeHash, ROOT, ReadDoc};
use ed25519_dalek::{Signature, Verifier};
use proptest::prelude::*;
use proptest::sample::Index;
use support::{config, heads_message, key};
use tapin_core::identity::{DeviceId, DeviceKey};
use tapin_core::sync::{Frame, Session, SignedHeads, Violation};

#[derive(Debug)]
struct World {
    j1: DeviceKey,
    /// Devices that are not `j1`: Jordan's other one, Maya's, Eve's.
    others: Vec<DeviceKey>,
    /// Maya's replica of Jordan's side, and earlier states of it.
    replicas: Vec<Automerge>,
    /// What Maya's session kept from `j1`'s heads frame.
    signed: SignedHeads,
    /// The frame it came in.
    frame: (Vec<[u8; 32]>, Vec<u8>),
    /// Every change of the replica.
    hashes: Vec<ChangeHash>,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let (maya, j1, j2, eve) = (key(1), key(2), key(3), key(4));
        let mut a = AutoCommit::new().with_actor(j1.actor());
        a.put(ROOT, "a", 1).expect("put");
        a.commit();
        let mut b = a.fork().with_actor(j2.actor());
        a.put(ROOT, "b", 2).expect("put");
        a.commit();
        b.put(ROOT, "c", 3).expect("put");
        b.commit();
        a.merge(&mut b).expect("merge");
        let side = a.document().clone();
        assert_eq!(side.get_heads().len(), 2);

        let mut j = Session::new(
            side.clone(),
            Automerge::new(),
            &[],
            &[],
            [maya.id()],
            maya.id(),
        );
        let mut m = Session::new(
            Automerge::new(),
            Automerge::new(),
            &[],
            &[],
            [j1.id(), j2.id()],
            j1.id(),
        );
        let mut frame = None;
        for _ in 0..4 {
            for f in j.batch(&j1) {
                if let Frame::Heads { heads, signature } = &f {
                    frame = Some((heads.clone(), signature.clone()));
                }
                m.receive(f).expect("an honest frame");
            }
            for f in m.batch(&maya) {
                j.receive(f).expect("an honest frame");
            }
        }
        let signed = m.received_heads().expect("j1 signed its heads").clone();
        let replica = m.theirs().clone();
        assert!(signed.verify(&replica));
        let hashes: Vec<ChangeHash> = replica.get_changes(&[]).iter().map(|c| c.hash()).collect();
        let earlier = replica.fork_at(&[hashes[0]]).expect("fork");
        World {
            j1,
            others: vec![j2, maya, eve],
            replicas: vec![replica, earlier, Automerge::new()],
            signed,
            frame: frame.expect("a heads frame"),
            hashes,
        }
    })
}

/// A change to one hex string.
#[derive(Debug, Clone)]
enum HexEdit {
    /// Replaces one digit by another hex digit.
    Digit(Index, u8),
    Upper,
    DropLast,
    Append(String),
    Replace(String),
}

fn hex_edit() -> impl Strategy<Value = HexEdit> {
    prop_oneof![
        3 => (any::<Index>(), 0u8..16).prop_map(|(i, d)| HexEdit::Digit(i, d)),
        1 => Just(HexEdit::Upper),
        1 => Just(HexEdit::DropLast),
        1 => prop_oneof![Just("0".to_owned()), Just("00".to_owned()), Just("zz".to_owned())]
            .prop_map(HexEdit::Append),
        1 => prop_oneof![Just(String::new()), Just("not hex".to_owned()), Just("00".repeat(32))]
            .prop_map(HexEdit::Replace),
    ]
}

fn edit_hex(s: &str, e: &HexEdit) -> String {
    match e {
        HexEdit::Digit(i, d) => {
            let mut chars: Vec<char> = s.chars().collect();
            if !chars.is_empty() {
                let i = i.index(chars.len());
                chars[i] = char::from_digit(u32::from(*d), 16).expect("a hex digit");
            }
            chars.into_iter().collect()
        }
        HexEdit::Upper => s.to_ascii_uppercase(),
        HexEdit::DropLast => s[..s.len().saturating_sub(1)].to_owned(),
        HexEdit::Append(t) => format!("{s}{t}"),
        HexEdit::Replace(t) => t.clone(),
    }
}

/// A change to signed heads.
#[derive(Debug, Clone)]
enum Edit {
    Device(HexEdit),
    /// Another device's id in its place.
    OtherDevice(Index),
    Head(Index, HexEdit),
    DropHead(Index),
    RepeatHead(Index),
    /// Adds a change of the replica (or an unknown one) as a head.
    AddHead(Index),
    /// Replaces a head by another change of the replica.
    ReplaceHead(Index, Index),
    Reverse,
    NoHeads,
    Signature(HexEdit),
    /// Another device's signature over the same heads.
    SignedByOther(Index),
    /// `j1`'s signature over other heads.
    SignedOther(Vec<Index>),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        hex_edit().prop_map(Edit::Device),
        any::<Index>().prop_map(Edit::OtherDevice),
        (any::<Index>(), hex_edit()).prop_map(|(i, e)| Edit::Head(i, e)),
        any::<Index>().prop_map(Edit::DropHead),
        any::<Index>().prop_map(Edit::RepeatHead),
        any::<Index>().prop_map(Edit::AddHead),
        (any::<Index>(), any::<Index>()).prop_map(|(i, j)| Edit::ReplaceHead(i, j)),
        Just(Edit::Reverse),
        Just(Edit::NoHeads),
        hex_edit().prop_map(Edit::Signature),
        any::<Index>().prop_map(Edit::SignedByOther),
        proptest::collection::vec(any::<Index>(), 0..3).prop_map(Edit::SignedOther),
    ]
}

/// A hash of the replica, or (one time in four) one it does not hold.
fn some_hash(w: &World, i: &Index) -> [u8; 32] {
    let n = w.hashes.len();
    match i.index(n + n / 3 + 1) {
        k if k < n => w.hashes[k].0,
        k => [k as u8; 32],
    }
}

fn apply(w: &World, s: &mut SignedHeads, e: &Edit) {
    match e {
        Edit::Device(h) => s.device = edit_hex(&s.device, h),
        Edit::OtherDevice(i) => s.device = w.others[i.index(w.others.len())].id().to_string(),
        Edit::Head(i, h) if !s.heads.is_empty() => {
            let i = i.index(s.heads.len());
            s.heads[i] = edit_hex(&s.heads[i], h);
        }
        Edit::DropHead(i) if !s.heads.is_empty() => {
            s.heads.remove(i.index(s.heads.len()));
        }
        Edit::RepeatHead(i) if !s.heads.is_empty() => {
            let h = s.heads[i.index(s.heads.len())].clone();
            s.heads.push(h);
        }
        Edit::AddHead(i) => s.heads.push(hex::encode(some_hash(w, i))),
        Edit::ReplaceHead(i, j) if !s.heads.is_empty() => {
            let i = i.index(s.heads.len());
            s.heads[i] = hex::encode(some_hash(w, j));
        }
        Edit::Reverse => s.heads.reverse(),
        Edit::NoHeads => s.heads.clear(),
        Edit::Signature(h) => s.signature = edit_hex(&s.signature, h),
        Edit::SignedByOther(i) => {
            let raw = decode_heads(&s.heads).unwrap_or_default();
            let other = &w.others[i.index(w.others.len())];
            s.signature = hex::encode(other.sign_raw(&heads_message(&raw)).to_bytes());
        }
        Edit::SignedOther(ix) => {
            let raw: Vec<[u8; 32]> = ix.iter().map(|i| some_hash(w, i)).collect();
            s.signature = hex::encode(w.j1.sign_raw(&heads_message(&raw)).to_bytes());
        }
        Edit::Head(..) | Edit::DropHead(_) | Edit::RepeatHead(_) | Edit::ReplaceHead(..) => {}
    }
}

fn decode_heads(heads: &[String]) -> Option<Vec<[u8; 32]>> {
    heads
        .iter()
        .map(|h| {
            hex::decode(h)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
        })
        .collect()
}

/// What a signed-heads record states: device, sorted heads, signature.
type Meaning = ([u8; 32], Vec<[u8; 32]>, [u8; 64]);

/// What `s` states, independent of hex case and the order of heads; `None` if any part does not
/// decode.
fn meaning(s: &SignedHeads) -> Option<Meaning> {
    let device: [u8; 32] = hex::decode(&s.device).ok()?.try_into().ok()?;
    DeviceId::from_bytes(&device).ok()?;
    let mut heads = decode_heads(&s.heads)?;
    heads.sort();
    let sig: [u8; 64] = hex::decode(&s.signature).ok()?.try_into().ok()?;
    Some((device, heads, sig))
}

/// A change to a heads frame's fields.
#[derive(Debug, Clone)]
enum FrameEdit {
    FlipHead(Index, Index, u8),
    FlipSignature(Index, u8),
    DropHead(Index),
    RepeatHead(Index),
    AddHead(Index),
    Swap,
    NoHeads,
    CutSignature(Index),
    ExtendSignature(Vec<u8>),
    SignedByOther(Index),
    SignedOther(Vec<Index>),
}

fn frame_edit() -> impl Strategy<Value = FrameEdit> {
    prop_oneof![
        (any::<Index>(), any::<Index>(), 0u8..8).prop_map(|(i, j, b)| FrameEdit::FlipHead(i, j, b)),
        (any::<Index>(), 0u8..8).prop_map(|(i, b)| FrameEdit::FlipSignature(i, b)),
        any::<Index>().prop_map(FrameEdit::DropHead),
        any::<Index>().prop_map(FrameEdit::RepeatHead),
        any::<Index>().prop_map(FrameEdit::AddHead),
        Just(FrameEdit::Swap),
        Just(FrameEdit::NoHeads),
        any::<Index>().prop_map(FrameEdit::CutSignature),
        proptest::collection::vec(any::<u8>(), 1..4).prop_map(FrameEdit::ExtendSignature),
        any::<Index>().prop_map(FrameEdit::SignedByOther),
        proptest::collection::vec(any::<Index>(), 0..3).prop_map(FrameEdit::SignedOther),
    ]
}

fn apply_frame(w: &World, heads: &mut Vec<[u8; 32]>, sig: &mut Vec<u8>, e: &FrameEdit) {
    match e {
        FrameEdit::FlipHead(i, j, b) if !heads.is_empty() => {
            let i = i.index(heads.len());
            heads[i][j.index(32)] ^= 1 << b;
        }
        FrameEdit::FlipSignature(i, b) if !sig.is_empty() => {
            let i = i.index(sig.len());
            sig[i] ^= 1 << b;
        }
        FrameEdit::DropHead(i) if !heads.is_empty() => {
            heads.remove(i.index(heads.len()));
        }
        FrameEdit::RepeatHead(i) if !heads.is_empty() => {
            let h = heads[i.index(heads.len())];
            heads.push(h);
        }
        FrameEdit::AddHead(i) => heads.push(some_hash(w, i)),
        FrameEdit::Swap => heads.reverse(),
        FrameEdit::NoHeads => heads.clear(),
        FrameEdit::CutSignature(i) => sig.truncate(i.index(sig.len() + 1)),
        FrameEdit::ExtendSignature(more) => sig.extend_from_slice(more),
        FrameEdit::SignedByOther(i) => {
            let other = &w.others[i.index(w.others.len())];
            *sig = other.sign_raw(&heads_message(heads)).to_bytes().to_vec();
        }
        FrameEdit::SignedOther(ix) => {
            let raw: Vec<[u8; 32]> = ix.iter().map(|i| some_hash(w, i)).collect();
            *sig = w.j1.sign_raw(&heads_message(&raw)).to_bytes().to_vec();
        }
        FrameEdit::FlipHead(..)
        | FrameEdit::FlipSignature(..)
        | FrameEdit::DropHead(_)
        | FrameEdit::RepeatHead(_) => {}
    }
}

fn sorted(heads: &[[u8; 32]]) -> Vec<[u8; 32]> {
    let mut h = heads.to_vec();
    h.sort();
    h
}

proptest! {
    // Verifying signatures in a debug build takes milliseconds: few cases by default.
    #![proptest_config(config(64))]

    /// `verify` holds exactly for `j1`'s statement, against a replica holding its heads.
    #[test]
    fn fuzz_heads_verify_only_what_was_signed(
        edits in proptest::collection::vec(edit(), 0..=3),
        replica in any::<Index>(),
    ) {
        let w = world();
        let replica = &w.replicas[replica.index(w.replicas.len())];
        let mut s = w.signed.clone();
        for e in &edits {
            apply(w, &mut s, e);
        }
        // Whether the stated device signed the stated heads, checked here with ed25519 itself.
        let signed = meaning(&s).is_some_and(|(device, heads, sig)| {
            DeviceId::from_bytes(&device)
                .is_ok_and(|d| d.0.verify(&heads_message(&heads), &Signature::from_bytes(&sig)).is_ok())
        });
        let held = decode_heads(&s.heads)
            .is_some_and(|hs| hs.iter().all(|h| replica.get_change_by_hash(&ChangeHash(*h)).is_some()));
        prop_assert_eq!(s.verify(replica), signed && held, "{:?}", s);
        if meaning(&s) == meaning(&w.signed) {
            prop_assert!(signed, "j1's own statement, only written differently");
        }
    }

    /// A session takes a heads frame exactly when `j1` signed those heads.
    #[test]
    fn fuzz_heads_frame_taken_only_when_signed(
        edits in proptest::collection::vec(frame_edit(), 0..=3),
        received_before in any::<bool>(),
    ) {
        let w = world();
        let (mut heads, mut sig) = w.frame.clone();
        for e in &edits {
            apply_frame(w, &mut heads, &mut sig, e);
        }
        let replica = w.replicas[0].clone();
        let mut m = Session::new(Automerge::new(), replica.clone(), &[], &[], [w.j1.id()], w.j1.id());
        if received_before {
            let (h, s) = w.frame.clone();
            m.receive(Frame::Heads { heads: h, signature: s }).expect("genuine heads");
        }
        let before = m.received_heads().cloned();
        let genuine = <[u8; 64]>::try_from(sig.as_slice()).is_ok_and(|s| {
            w.j1.id().0.verify(&heads_message(&heads), &Signature::from_bytes(&s)).is_ok()
        });
        if sorted(&heads) == sorted(&w.frame.0) && sig == w.frame.1 {
            prop_assert!(genuine, "j1's own frame, heads in another order");
        }
        let got = m.receive(Frame::Heads { heads: heads.clone(), signature: sig.clone() });
        prop_assert_eq!(m.theirs().get_heads(), replica.get_heads());
        if genuine {
            prop_assert!(got.is_ok(), "{:?}", got);
            let kept = m.received_heads().expect("kept");
            prop_assert_eq!(kept.device.clone(), w.j1.id().to_string());
            prop_assert_eq!(
                kept.heads.clone(),
                heads.iter().map(|h| ChangeHash(*h).to_string()).collect::<Vec<_>>()
            );
            prop_assert_eq!(kept.signature.clone(), hex::encode(&sig));
            // Heads j1 signed but the replica lacks are kept, and do not verify against it.
            let held = heads.iter().all(|h| replica.get_change_by_hash(&ChangeHash(*h)).is_some());
            prop_assert_eq!(kept.verify(&replica), held);
        } else {
            prop_assert_eq!(got, Err(Violation::BadSignature));
            prop_assert_eq!(m.received_heads().cloned(), before);
        }
    }
}
