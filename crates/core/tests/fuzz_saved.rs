//! `SavedDoc::load` and `saved::check_strict`, fuzzed from valid automerge data.
//!
//! The corpus is one document written by two devices (a branch and a merge, map, list, text and
//! counter operations, one change large enough to be stored compressed), an unrelated document,
//! and a "twin" of the first whose device wrote a different change under the same sequence
//! number. Its chunks are whole documents (at every point of the history) and single changes,
//! plain and compressed. Every case concatenates some of them in any order (dropping, repeating
//! and reordering chunks) and then may damage them: a bit flipped in a chunk's magic, checksum,
//! type, length or data; a changed chunk type; a chunk cut short, or bytes removed from its
//! middle; garbage appended.
//!
//! Properties. Nothing panics. Damaged bytes (judged from the final bytes alone: not a sequence
//! of chunks, an unknown type, a checksum that does not match) are refused by both functions.
//! Undamaged bytes pass `check_strict`, and `load` accepts them exactly when their changes are
//! complete (every dependency present), with exactly those changes and the heads they imply;
//! otherwise it says `MissingDeps`. Both refuse the twin with the change it forks from.
//! Whatever `load` accepts loads completely: no missing
//! dependencies, every change one of the corpus's, the heads those of the changes it holds, and
//! the bytes kept as given.
//!
//! Left out: chunks changed and then given a valid checksum again, which reach the parser behind
//! the checksum. automerge 0.12 panics on many of them, and accepts some it never parses; see
//! `found_loader_panics.rs`.
//!
//! `TAPIN_FUZZ_CASES=100000 cargo test --release -p tapin-core --test fuzz_saved`

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use automerge::transaction::Transactable;
use automerge::{
    ActorId, AutoCommit, Automerge, AutomergeError, Change, ChangeHash, ObjType, ROOT, ReadDoc,
};
use proptest::prelude::*;
use support::{Chunk, MAGIC, chunks, config, reseal, sha256};
use tapin_core::saved::{SavedDoc, check_strict};

/// One chunk of the corpus and the changes it holds.
#[derive(Debug)]
struct Piece {
    bytes: Vec<u8>,
    changes: BTreeSet<ChangeHash>,
}

#[derive(Debug)]
struct Corpus {
    pieces: Vec<Piece>,
    /// Every change of the corpus, with its dependencies.
    deps: BTreeMap<ChangeHash, Vec<ChangeHash>>,
    /// Every change of the corpus, with its device and sequence number.
    seqs: BTreeMap<ChangeHash, (ActorId, u64)>,
    /// The changes each chunk of the corpus holds, by its bytes.
    by_bytes: BTreeMap<Vec<u8>, BTreeSet<ChangeHash>>,
}

impl Corpus {
    /// Whether two of these changes share a device and sequence number (only the twin does).
    fn conflicting(&self, set: &BTreeSet<ChangeHash>) -> bool {
        let seqs: BTreeSet<&(ActorId, u64)> = set.iter().map(|h| &self.seqs[h]).collect();
        seqs.len() != set.len()
    }
}

fn actor(n: u8) -> ActorId {
    ActorId::from([n; 32].as_slice())
}

/// Builds the corpus once per test binary.
fn corpus() -> &'static Corpus {
    static CORPUS: OnceLock<Corpus> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let mut a = AutoCommit::new().with_actor(actor(1));
        a.put(ROOT, "name", "Maya").unwrap();
        a.commit();
        let list = a.put_object(ROOT, "list", ObjType::List).unwrap();
        a.insert(&list, 0, 1).unwrap();
        a.insert(&list, 1, "two").unwrap();
        a.commit();
        let fork_point = a.get_heads();
        let mut b = a.fork().with_actor(actor(2));
        let text = b.put_object(ROOT, "text", ObjType::Text).unwrap();
        b.splice_text(&text, 0, 0, "hello from the other device")
            .unwrap();
        b.commit();
        b.put(ROOT, "count", automerge::ScalarValue::counter(1))
            .unwrap();
        b.commit();
        let mut twin = a.fork().with_actor(actor(1));
        a.put(ROOT, "name", "Maya R.").unwrap();
        a.commit();
        a.merge(&mut b).unwrap();
        a.increment(ROOT, "count", 5).unwrap();
        a.delete(&list, 0).unwrap();
        a.commit();
        // Large enough that automerge stores it compressed.
        a.splice_text(&text, 5, 0, &"a long paragraph ".repeat(40))
            .unwrap();
        a.commit();
        // The twin: the same device, from the same point, writes something else.
        twin.put(ROOT, "name", "someone else").unwrap();
        twin.commit();
        let mut other = AutoCommit::new().with_actor(actor(9));
        other.put(ROOT, "unrelated", true).unwrap();
        other.commit();
        other.put(ROOT, "unrelated", false).unwrap();
        other.commit();

        let a = a.document().clone();
        let twin = twin.document().clone();
        let other = other.document().clone();
        assert_eq!(twin.get_changes(&fork_point).len(), 1);

        let mut deps = BTreeMap::new();
        let mut seqs = BTreeMap::new();
        let mut pieces = Vec::new();
        for doc in [&a, &twin, &other] {
            for c in doc.get_changes(&[]) {
                deps.insert(c.hash(), c.deps().to_vec());
                seqs.insert(c.hash(), (c.actor_id().clone(), c.seq()));
                pieces.push(Piece {
                    bytes: c.raw_bytes().to_vec(),
                    changes: BTreeSet::from([c.hash()]),
                });
                let mut c = c.clone();
                let stored = c.bytes().to_vec();
                if stored != c.raw_bytes() {
                    assert_eq!(stored[8], 2, "a compressed change chunk");
                    pieces.push(Piece {
                        bytes: stored,
                        changes: BTreeSet::from([c.hash()]),
                    });
                }
                // The document as of this change.
                let upto = doc.fork_at(&[c.hash()]).unwrap();
                pieces.push(whole(&upto));
            }
        }
        pieces.push(whole(&a));
        pieces.push(whole(&twin));
        let all: BTreeSet<ChangeHash> = deps.keys().copied().collect();
        assert_eq!(all.len(), seqs.len());
        assert!(
            pieces.iter().any(|p| p.bytes[8] == 2),
            "the corpus has a compressed change"
        );
        for p in &pieces {
            assert_eq!(chunks(&p.bytes).map(|c| c.len()), Some(1), "one chunk each");
        }
        let by_bytes = pieces
            .iter()
            .map(|p| (p.bytes.clone(), p.changes.clone()))
            .collect();
        let corpus = Corpus {
            pieces,
            deps,
            seqs,
            by_bytes,
        };
        assert!(corpus.conflicting(&all), "the corpus has a twin");
        corpus
    })
}

fn whole(doc: &Automerge) -> Piece {
    Piece {
        bytes: doc.save(),
        changes: doc.get_changes(&[]).iter().map(|c| c.hash()).collect(),
    }
}

/// Where in a chunk a mutation lands.
#[derive(Debug, Clone, Copy)]
enum Region {
    Magic,
    Checksum,
    Type,
    Length,
    Data,
}

fn region() -> impl Strategy<Value = Region> {
    prop_oneof![
        1 => Just(Region::Magic),
        1 => Just(Region::Checksum),
        1 => Just(Region::Type),
        1 => Just(Region::Length),
        4 => Just(Region::Data),
    ]
}

/// A position inside `region` of `chunk`, from an arbitrary number.
fn position(chunk: &Chunk, region: Region, n: usize) -> usize {
    let (from, to) = match region {
        Region::Magic => (0, 4),
        Region::Checksum => (4, 8),
        Region::Type => (8, 9),
        Region::Length => (9, chunk.header),
        Region::Data => (chunk.header, chunk.end - chunk.start),
    };
    chunk.start + from + n % (to - from).max(1)
}

/// A change to the concatenated chunks. None makes a chunk's checksum valid again after
/// changing it: automerge 0.12 panics on many such chunks (see `found_loader_panics.rs`).
#[derive(Debug, Clone)]
enum Damage {
    /// Flips a bit.
    Flip {
        chunk: usize,
        region: Region,
        at: usize,
        bit: u8,
    },
    /// Sets the chunk type byte.
    Type { chunk: usize, value: u8 },
    /// Cuts the bytes inside a chunk (everything after it goes).
    Truncate {
        chunk: usize,
        region: Region,
        at: usize,
    },
    /// Removes bytes from the middle of a chunk, keeping what follows.
    Hole { chunk: usize, at: usize, len: usize },
    /// Appends bytes that are not a chunk.
    Garbage(Vec<u8>),
}

fn garbage() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 1..24),
        proptest::collection::vec(any::<u8>(), 0..24).prop_map(|tail| [&MAGIC[..], &tail].concat()),
        // A header announcing more data than follows.
        (any::<u8>(), 1u8..0x7f)
            .prop_map(|(t, len)| [&MAGIC[..], &[0, 0, 0, 0, t % 4, len]].concat()),
        Just(vec![0; 12]),
    ]
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        4 => (any::<usize>(), region(), any::<usize>(), 0u8..8)
            .prop_map(|(chunk, region, at, bit)| Damage::Flip { chunk, region, at, bit }),
        1 => (any::<usize>(), 0u8..6).prop_map(|(chunk, value)| Damage::Type { chunk, value }),
        2 => (any::<usize>(), region(), any::<usize>())
            .prop_map(|(chunk, region, at)| Damage::Truncate { chunk, region, at }),
        1 => (any::<usize>(), any::<usize>(), 1usize..32)
            .prop_map(|(chunk, at, len)| Damage::Hole { chunk, at, len }),
        1 => garbage().prop_map(Damage::Garbage),
    ]
}

/// Applies `d` to `bytes`, whose chunks were `layout` before any damage (later damage to an
/// already damaged string is applied where it falls).
fn apply(bytes: &mut Vec<u8>, layout: &[Chunk], d: &Damage) {
    let Some(c) = (match d {
        Damage::Flip { chunk, .. }
        | Damage::Type { chunk, .. }
        | Damage::Truncate { chunk, .. }
        | Damage::Hole { chunk, .. } => layout.get(chunk % layout.len().max(1)).copied(),
        Damage::Garbage(g) => {
            bytes.extend_from_slice(g);
            return;
        }
    }) else {
        return;
    };
    if c.end > bytes.len() {
        return;
    }
    match d {
        Damage::Flip {
            region, at, bit, ..
        } => bytes[position(&c, *region, *at)] ^= 1 << bit,
        Damage::Type { value, .. } => bytes[c.start + 8] = *value,
        Damage::Truncate { region, at, .. } => {
            // Cutting at the start of a chunk only drops chunks, which `picks` already does.
            let at = position(&c, *region, *at);
            if at != c.start {
                bytes.truncate(at);
            }
        }
        Damage::Hole { at, len, .. } => {
            let at = c.start + at % (c.end - c.start);
            bytes.drain(at..(at + len).min(c.end));
        }
        Damage::Garbage(_) => unreachable!("appended above"),
    }
}

/// What the final bytes are, whatever was done to them.
#[derive(Debug)]
enum Verdict {
    /// Chunks of the corpus, untouched, holding these changes.
    Pristine(BTreeSet<ChangeHash>),
    /// Certain to be refused: not a sequence of chunks, an unknown chunk type, or a checksum
    /// that does not match.
    Broken,
    /// Some chunk is new but its checksum matches: what it means is the parser's to say. These
    /// are the changes such chunks hold, when they parse as one.
    Unknown(BTreeSet<ChangeHash>),
}

fn verdict(corpus: &Corpus, bytes: &[u8]) -> Verdict {
    let Some(layout) = chunks(bytes) else {
        return Verdict::Broken;
    };
    let mut known = BTreeSet::new();
    let mut new = BTreeSet::new();
    let mut unknown = false;
    for c in &layout {
        let chunk = c.bytes(bytes);
        if let Some(changes) = corpus.by_bytes.get(chunk) {
            known.extend(changes.iter().copied());
            continue;
        }
        match chunk[8] {
            // A compressed change's checksum is that of the change it inflates to.
            2 => {}
            0 | 1 | 3 => {
                let mut resealed = chunk.to_vec();
                reseal(&mut resealed);
                if resealed != chunk {
                    return Verdict::Broken;
                }
            }
            _ => return Verdict::Broken,
        }
        unknown = true;
        if let Ok(change) = Change::from_bytes(chunk.to_vec()) {
            new.insert(change.hash());
        }
    }
    if unknown {
        Verdict::Unknown(new)
    } else {
        Verdict::Pristine(known)
    }
}

/// The heads of a set of changes closed under dependencies: those no other change depends on.
fn heads_of(
    set: &BTreeSet<ChangeHash>,
    deps: &BTreeMap<ChangeHash, Vec<ChangeHash>>,
) -> Vec<ChangeHash> {
    let depended: BTreeSet<ChangeHash> = set.iter().flat_map(|h| deps[h].iter().copied()).collect();
    set.iter()
        .filter(|h| !depended.contains(h))
        .copied()
        .collect()
}

fn closed(set: &BTreeSet<ChangeHash>, deps: &BTreeMap<ChangeHash, Vec<ChangeHash>>) -> bool {
    set.iter().all(|h| deps[h].iter().all(|d| set.contains(d)))
}

/// What holds of anything `load` accepted, however it was made.
fn check_loaded(
    saved: &mut SavedDoc,
    input: &[u8],
    allowed: impl Fn(&ChangeHash) -> bool,
) -> Result<BTreeSet<ChangeHash>, TestCaseError> {
    prop_assert_eq!(saved.bytes(), input, "the bytes are kept as given");
    let doc = saved.document();
    prop_assert!(
        doc.get_missing_deps(&[]).is_empty(),
        "loaded with missing dependencies"
    );
    let metas = doc.get_changes_meta(&[]);
    let set: BTreeSet<ChangeHash> = metas.iter().map(|m| m.hash).collect();
    for m in &metas {
        prop_assert!(allowed(&m.hash), "a change from nowhere: {}", m.hash);
        for d in &m.deps {
            prop_assert!(
                set.contains(d),
                "change {} lacks its dependency {}",
                m.hash,
                d
            );
        }
    }
    let depended: BTreeSet<ChangeHash> =
        metas.iter().flat_map(|m| m.deps.iter().copied()).collect();
    let mut want: Vec<ChangeHash> = set
        .iter()
        .filter(|h| !depended.contains(h))
        .copied()
        .collect();
    let mut heads = doc.get_heads();
    want.sort();
    heads.sort();
    prop_assert_eq!(heads, want, "heads are those of the changes held");
    Ok(set)
}

proptest! {
    #![proptest_config(config(256))]

    /// Chunks in any number, order and repetition, possibly damaged: see the module docs.
    #[test]
    fn fuzz_saved_doc_from_chunks(
        picks in proptest::collection::vec(any::<proptest::sample::Index>(), 0..=6),
        damages in proptest::collection::vec(damage(), 0..=2),
    ) {
        let corpus = corpus();
        let chosen: Vec<&Piece> = picks.iter().map(|i| &corpus.pieces[i.index(corpus.pieces.len())]).collect();
        let mut bytes: Vec<u8> = chosen.iter().flat_map(|p| p.bytes.iter().copied()).collect();
        let layout = chunks(&bytes).expect("the corpus is well formed");
        for d in &damages {
            apply(&mut bytes, &layout, d);
        }

        let strict = check_strict(&bytes);
        let loaded = SavedDoc::load(bytes.clone());
        if loaded.is_ok() {
            prop_assert!(strict.is_ok(), "load accepted what check_strict refuses: {:?}", strict);
        }
        match verdict(corpus, &bytes) {
            Verdict::Broken => {
                prop_assert!(strict.is_err(), "check_strict accepted damaged bytes");
                prop_assert!(loaded.is_err(), "load accepted damaged bytes");
            }
            Verdict::Pristine(set) if !corpus.conflicting(&set) => {
                prop_assert!(strict.is_ok(), "check_strict refused whole chunks: {:?}", strict);
                match loaded {
                    Ok(mut saved) => {
                        prop_assert!(closed(&set, &corpus.deps), "accepted with missing dependencies");
                        let held = check_loaded(&mut saved, &bytes, |h| corpus.deps.contains_key(h))?;
                        prop_assert_eq!(&held, &set, "holds exactly the changes given");
                        let mut heads = saved.document().get_heads();
                        heads.sort();
                        prop_assert_eq!(heads, heads_of(&set, &corpus.deps));
                    }
                    Err(e) => {
                        prop_assert!(!closed(&set, &corpus.deps), "complete changes refused: {}", e);
                        prop_assert!(e.is_missing_deps(), "{:?}", e);
                    }
                }
            }
            Verdict::Pristine(_) => {
                // One device's history forked: never taken in.
                prop_assert!(strict.is_err(), "check_strict accepted a forked history");
                prop_assert!(
                    matches!(loaded, Err(tapin_core::saved::BytesError::Automerge(AutomergeError::DuplicateSeqNumber(..)))),
                    "{:?}", loaded.map(|_| ())
                );
            }
            Verdict::Unknown(new) => {
                if let Ok(mut saved) = loaded {
                    check_loaded(&mut saved, &bytes, |h| {
                        corpus.deps.contains_key(h) || new.contains(h)
                    })?;
                }
            }
        }
    }
}

#[test]
fn sha256_matches_the_standard_vectors() {
    let hex = |b: [u8; 32]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    assert_eq!(
        hex(sha256(b"")),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        hex(sha256(b"abc")),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        hex(sha256(
            b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
        )),
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    );
}

/// The checksum computed here is automerge's, so `verdict` knows which chunks it refuses.
#[test]
fn resealing_an_unchanged_chunk_keeps_it_valid() {
    for p in &corpus().pieces {
        let mut bytes = p.bytes.clone();
        bytes[4..8].fill(0);
        if bytes[8] != 2 {
            reseal(&mut bytes);
            assert_eq!(bytes, p.bytes);
        }
    }
}
