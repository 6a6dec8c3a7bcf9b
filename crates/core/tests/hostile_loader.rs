//! Found while fuzzing `SavedDoc::load`, `check_strict` and `Session::receive`: automerge 0.12's
//! loader panics on chunks whose contents were changed and whose checksum was then made valid
//! again, and takes in some it never parses. The checksum is the first four bytes of SHA-256
//! over the chunk, which anyone can compute, so these are inputs a paired friend can send (in a
//! `Sync` frame's changes or a `Snapshot`) and a store can hold: they are not random damage.
//!
//! Every input here is one of three genuine chunks (one document by the device `[1; 32]`, its two
//! changes made with time 0), with one bit flipped and the checksum recomputed.
//!
//! tapin's decoders now catch automerge's panics at the boundary (`tapin_core::saved::guard`) and
//! refuse such input as an error; these tests keep it that way.

mod support;

use std::panic::{AssertUnwindSafe, catch_unwind};

use automerge::Automerge;
use automerge::sync::{self, ChunkList, SyncDoc};
use support::reseal;
use tapin_core::identity::DeviceKey;
use tapin_core::saved::{SavedDoc, check_strict};
use tapin_core::sync::{Frame, Session, WireDoc};

/// The first change: `put(ROOT, "name", "Maya")`.
const FIRST: &str = "856f4a830409daa90145002001010101010101010101010101010101010101010101010101010101010101010101000000061506340142025602570470027f046e616d65017f017f464d6179617f00";
/// The second change: `put(ROOT, "name", "Maya R.")`.
const SECOND: &str = "856f4a83b0d5ed470170010409daa97334dad4f249bd3c46e4ba74c9dbe72347ccf399aaba4145ca4707d0200101010101010101010101010101010101010101010101010101010101010101020200000008150634014202560257077002710273027f046e616d65017f017f764d61796120522e7f017f007f01";
/// The document holding both, as `save()` writes it.
const SAVED: &str = "856f4a83e3da0b85009c010120010101010101010101010101010101010101010101010101010101010101010101b0d5ed470e24b7f0465a2a9a1cb23b623f530f2e005926b94727d2b9b563ee2f0701020302130223024003430256020a150621022302340142025603570b80010381010283010202000201020102007e00017f00020702046e616d65020002010202017e46764d6179614d61796120522e7e01007f007f0201";

fn bytes(hex: &str) -> Vec<u8> {
    hex::decode(hex).expect("hex")
}

/// `chunk` with bit `bit` of byte `at` flipped and its checksum made valid again.
fn flipped(chunk: &str, at: usize, bit: u8) -> Vec<u8> {
    let mut b = bytes(chunk);
    b[at] ^= 1 << bit;
    reseal(&mut b);
    b
}

/// One input per place in automerge (and hexane) that panicked, with what it said.
fn cases() -> Vec<(&'static str, Vec<u8>)> {
    let after_first = |m: Vec<u8>| [bytes(FIRST), m].concat();
    vec![
        (
            // The actor id's length set to 0.
            "FIRST, byte 11 bit 5: op_set2/change/batch.rs:1121 unwrap on None",
            flipped(FIRST, 11, 5),
        ),
        (
            "FIRST then SECOND with byte 119 bit 0: op_set2/change/batch.rs:859 InvalidActorIndex(1)",
            after_first(flipped(SECOND, 119, 0)),
        ),
        (
            "FIRST then SECOND with byte 76 bit 0: change_graph.rs:569 assertion left == right (2, 3)",
            after_first(flipped(SECOND, 76, 0)),
        ),
        (
            "SAVED, byte 129 bit 1: change_graph.rs:1007 index out of bounds (len 2, index 2)",
            flipped(SAVED, 129, 1),
        ),
        (
            "SAVED, byte 131 bit 4: change_graph.rs:1673 range end index 1 out of range for slice of length 0",
            flipped(SAVED, 131, 4),
        ),
        (
            "SAVED, byte 129 bit 0: op_set2/change/collector.rs:214 unwrap on None",
            flipped(SAVED, 129, 0),
        ),
        (
            "SAVED, byte 117 bit 6: hexane lib.rs:354 InvalidNumber(UnexpectedEof)",
            flipped(SAVED, 117, 6),
        ),
        (
            "SAVED, byte 119 bit 1: hexane lib.rs:364 unexpected null in non-nullable column",
            flipped(SAVED, 119, 1),
        ),
        (
            "SAVED, byte 146 bit 4: hexane raw.rs:622 RawColumnIter::take would cross slab boundary",
            flipped(SAVED, 146, 4),
        ),
    ]
}

#[test]
fn resealed_chunks_do_not_panic_the_loader() {
    let mut panicked = Vec::new();
    for (what, input) in cases() {
        let strict = catch_unwind(|| check_strict(&input).is_ok());
        let load = catch_unwind(|| SavedDoc::load(input.clone()).is_ok());
        if strict.is_err() || load.is_err() {
            panicked.push(format!("{what}\n    input: {}", hex::encode(&input)));
        }
        assert_eq!(strict.ok(), Some(false), "{what}: accepted");
        assert_eq!(load.ok(), Some(false), "{what}: loaded");
    }
    assert!(
        panicked.is_empty(),
        "{} of {} inputs panicked:\n{}",
        panicked.len(),
        cases().len(),
        panicked.join("\n")
    );
}

/// The same panic reached from the network: a paired friend's first frame.
#[test]
fn a_friend_cannot_make_a_session_panic() {
    let friend = DeviceKey::from_secret([1; 32]);
    let new_session = || {
        Session::new(
            Automerge::new(),
            Automerge::new(),
            &[],
            &[],
            [friend.id()],
            friend.id(),
        )
    };
    let poison = flipped(FIRST, 11, 5);
    let mut msg = Automerge::new()
        .generate_sync_message(&mut sync::State::new())
        .expect("a first message");
    msg.changes = ChunkList::from(poison.clone());
    let frames = [
        (
            "a Sync frame",
            Frame::Sync {
                doc: WireDoc::SenderSide,
                message: msg.encode(),
            },
        ),
        ("a Snapshot frame", Frame::Snapshot { bytes: poison }),
    ];
    let mut panicked = Vec::new();
    for (what, frame) in frames {
        let mut session = new_session();
        match catch_unwind(AssertUnwindSafe(|| session.receive(frame))) {
            Err(_) => panicked.push(what),
            Ok(received) => assert!(
                matches!(received, Err(tapin_core::sync::Violation::Malformed(_))),
                "{what}: {received:?}"
            ),
        }
        assert!(
            session.theirs().is_empty(),
            "{what}: the replica took something"
        );
    }
    assert!(
        panicked.is_empty(),
        "Session::receive panicked on {panicked:?}"
    );
}

/// A document chunk after one that already holds its heads is skipped without being parsed, so
/// bytes that do not parse whole are accepted, and kept as they came (a snapshot is stored as
/// it arrived).
#[test]
fn a_document_chunk_that_does_not_parse_is_refused_after_another() {
    let damaged = flipped(SAVED, 13, 0);
    assert!(
        check_strict(&damaged).is_err(),
        "on its own, the chunk is refused"
    );
    let both = [bytes(SAVED), damaged].concat();
    assert!(
        check_strict(&both).is_err(),
        "check_strict accepted a chunk that does not parse"
    );
    let loaded = SavedDoc::load(both);
    assert!(
        loaded.is_err(),
        "SavedDoc::load accepted a chunk that does not parse, with {} changes",
        loaded
            .map(|mut s| s.document().get_changes(&[]).len())
            .unwrap_or(0)
    );
}

proptest::proptest! {
    #![proptest_config(support::config(64))]

    /// Any bits of these chunks flipped and the checksum made valid again: the loader never
    /// panics, and what it accepts loads again as the same document.
    #[test]
    fn fuzz_resealed_chunks_never_panic_the_loader(
        pick in 0..3usize,
        flips in proptest::collection::vec((proptest::prelude::any::<proptest::sample::Index>(), 0..8u8), 1..4),
        prefix in proptest::prelude::any::<bool>(),
    ) {
        let mut chunk = bytes([FIRST, SECOND, SAVED][pick]);
        for (at, bit) in &flips {
            // Past the header (magic, checksum, type): the flips land where a hostile peer
            // would put them.
            let at = 9 + at.index(chunk.len() - 9);
            chunk[at] ^= 1 << bit;
        }
        reseal(&mut chunk);
        let input = if prefix { [bytes(FIRST), chunk].concat() } else { chunk };
        let strict = catch_unwind(|| check_strict(&input).is_ok());
        proptest::prop_assert!(strict.is_ok(), "check_strict panicked on {}", hex::encode(&input));
        let loaded = catch_unwind(|| SavedDoc::load(input.clone()));
        proptest::prop_assert!(loaded.is_ok(), "SavedDoc::load panicked on {}", hex::encode(&input));
        if let Ok(Ok(mut saved)) = loaded {
            let heads = saved.document().get_heads();
            let again = SavedDoc::load(saved.bytes().to_vec());
            proptest::prop_assert_eq!(again.map(|mut s| s.document().get_heads()).ok(), Some(heads));
        }
    }
}
