//! The sync session between one of my devices and one of a friend's devices, as a sans-IO state
//! machine: frames in, frames out. Two documents are in play, and only two: my shared side of our
//! relationship (I write it; the friend holds a read-only replica) and the friend's side (they
//! write it; I hold a read-only replica). Nothing on the wire can name any other document — the
//! frame's document field is [`WireDoc`], not a [`crate::DocId`] — so private documents and the
//! sides I keep with other people have no path to this session.
//!
//! Per document the automerge sync protocol runs unchanged. On top of it the session enforces
//! write authority: a message about *my* side may not carry changes, and a message about *their*
//! side may carry only changes authored by one of their certified devices (automerge actor id =
//! device key). A violation rejects the whole message before anything of it is applied.
//!
//! Each side also signs the heads of its own side with its device key ([`Frame::Heads`]), so a
//! replica can later show whose devices vouched for what it holds.
//!
//! A first sync is where nearly all the bytes and time go: automerge answers an empty replica by
//! encoding the whole document again (`save()`). Instead, a peer that has never heard from this
//! device that it holds any of my side opens its first batch with my side exactly as my store
//! keeps it ([`Frame::Snapshot`]). The receiver checks it like any whole document and, if its
//! replica is still empty, takes it as the replica; automerge's sync then starts from there and
//! sends only what the snapshot lacked. Of automerge's sync state, the receiver only records the
//! snapshot's heads as shared, as automerge does for changes it receives; so however stale,
//! lost or ignored a snapshot is, the documents still converge.
//!
//! On `tapin/sync/4` the snapshot travels in parts ([`Frame::SnapshotPart`], at most [`PART`]
//! bytes each), so that a first sync cut short keeps what arrived: the receiver stages the bytes
//! ([`Session::staged`], which the caller persists) and, next time, tells the sender how many it
//! holds and their digest ([`staged_digest`]); the sender resumes where they end when its own
//! bytes start with exactly those ([`resume_offset`]), and from the start otherwise. The staged
//! bytes are opaque until complete, because an automerge document is checked (checksum, every
//! change's author) only whole: nothing of them reaches the replica before that check, which is
//! the one [`Frame::Snapshot`] gets.

use std::collections::BTreeSet;

use automerge::sync::{self, ChunkList, SyncDoc};
use automerge::{ActorId, Automerge, AutomergeError, ChangeHash, ReadDoc};
use ed25519_dalek::{Signature, Verifier};
use serde::{Deserialize, Serialize};

use crate::identity::{DeviceId, DeviceKey};
use crate::saved::{self, SavedDoc};

const HEADS_CONTEXT: &[u8] = b"tapin side heads v1\0";

/// Which of the two documents a frame is about, from the *sender's* point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WireDoc {
    /// The sender's own side (the receiver's replica).
    SenderSide,
    /// The receiver's own side (the sender's replica).
    ReceiverSide,
}

/// One frame of the sync protocol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Frame {
    /// An automerge sync message.
    Sync {
        /// About which document.
        doc: WireDoc,
        /// The encoded `automerge::sync::Message`.
        message: Vec<u8>,
    },
    /// The heads of the sender's side, signed by the sender's device key.
    Heads {
        /// The change hashes.
        heads: Vec<[u8; 32]>,
        /// Ed25519 signature over `"tapin side heads v1\0"` followed by the sorted heads.
        signature: Vec<u8>,
    },
    /// The end of one batch; the other side answers with its own.
    EndOfBatch,
    /// The sender's side as it stores it (a saved document, possibly followed by changes written
    /// since), offered to fill an empty replica without automerge re-encoding the whole document.
    /// Only ever the first frame a peer sends in a session; see [`Session::offers_snapshot`].
    Snapshot {
        /// Bytes that load as the sender's side, or as an earlier state of it.
        bytes: Vec<u8>,
    },
    /// One part of a snapshot (`tapin/sync/4` only): `bytes` are the snapshot's bytes from
    /// `offset` on, of `total` in all. The parts of one snapshot are the first frames a peer
    /// sends in a session, in order; the first one starts at 0, or where the bytes the receiver
    /// said it kept from an earlier session end. Like [`Frame::Snapshot`], the whole is checked
    /// and taken once the last part is in.
    SnapshotPart {
        /// Where in the snapshot these bytes start.
        offset: u64,
        /// The snapshot's length.
        total: u64,
        /// At most [`PART`] of its bytes.
        bytes: Vec<u8>,
    },
}

/// The most bytes one [`Frame::SnapshotPart`] carries: small enough that an exchange cut short
/// loses little of what arrived, large enough that the frames' own overhead is nothing.
pub const PART: usize = 16 * 1024;

/// The digest by which a receiver names the snapshot bytes it staged, and a sender checks that
/// its own bytes start with them: BLAKE3 of the bytes.
pub fn staged_digest(bytes: &[u8]) -> [u8; 32] {
    *blake3::hash(bytes).as_bytes()
}

/// Where to resume sending `stored` (my side as stored) to a peer that says it staged `held`
/// bytes of my snapshot with digest `digest`: after them, if `stored` starts with exactly those
/// bytes; from the start otherwise (a snapshot of another state, or of another of my devices).
pub fn resume_offset(stored: &[u8], held: u64, digest: &[u8; 32]) -> usize {
    match usize::try_from(held) {
        Ok(held)
            if held > 0 && held <= stored.len() && staged_digest(&stored[..held]) == *digest =>
        {
            held
        }
        _ => 0,
    }
}

/// `stored` (my side as stored) as [`Frame::SnapshotPart`]s from `offset` on: at least one part,
/// an empty one if the peer already staged every byte (it then takes the snapshot).
pub fn snapshot_parts(stored: &[u8], offset: usize) -> Vec<Frame> {
    let total = stored.len() as u64;
    let rest = stored.get(offset..).unwrap_or_default();
    let mut parts: Vec<Frame> = rest
        .chunks(PART)
        .enumerate()
        .map(|(i, bytes)| Frame::SnapshotPart {
            offset: (offset + i * PART) as u64,
            total,
            bytes: bytes.to_vec(),
        })
        .collect();
    if parts.is_empty() {
        parts.push(Frame::SnapshotPart {
            offset: total,
            total,
            bytes: Vec::new(),
        });
    }
    parts
}

/// A peer broke the protocol's rules. The session must end; nothing of the offending message was
/// applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    /// Changes sent for a document the sender does not own.
    #[error("the peer tried to write into your side of the relationship")]
    WriteToMySide,
    /// Changes to their side authored by a device that is not theirs.
    #[error("the peer sent changes made by device {0}, which is not one of theirs")]
    ForeignAuthor(String),
    /// Bytes that are not a valid sync message or change.
    #[error("the peer sent a malformed sync message: {0}")]
    Malformed(String),
    /// Signed heads whose signature does not verify.
    #[error("the peer's signature over its heads does not verify")]
    BadSignature,
    /// A snapshot of their side anywhere but first.
    #[error("the peer sent a snapshot of its side after other frames")]
    LateSnapshot,
    /// A snapshot part that does not continue the bytes staged so far.
    #[error("the peer sent a part of its snapshot out of place")]
    MisplacedPart,
}

/// Signed heads of the friend's side, as received and verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedHeads {
    /// The device that signed (hex).
    pub device: String,
    /// The heads (hex).
    pub heads: Vec<String>,
    /// The signature (hex).
    pub signature: String,
}

impl SignedHeads {
    /// Checks the signature, and that `replica` holds every signed head.
    pub fn verify(&self, replica: &Automerge) -> bool {
        let Ok(device) = self.device.parse::<DeviceId>() else {
            return false;
        };
        let heads: Option<Vec<ChangeHash>> = self.heads.iter().map(|h| h.parse().ok()).collect();
        let Some(heads) = heads else { return false };
        let Some(sig) = hex::decode(&self.signature)
            .ok()
            .and_then(|b| <[u8; 64]>::try_from(b).ok())
        else {
            return false;
        };
        let raw: Vec<[u8; 32]> = heads.iter().map(|h| h.0).collect();
        device
            .0
            .verify(&heads_message(&raw), &Signature::from_bytes(&sig))
            .is_ok()
            && heads
                .iter()
                .all(|h| replica.get_change_by_hash(h).is_some())
    }
}

/// Whether an automerge chunk is a whole document: 4 magic bytes, a 4-byte checksum, then the
/// chunk type, 0 for a document.
fn is_document(chunk: &[u8]) -> bool {
    chunk.get(8) == Some(&0)
}

fn sorted(mut heads: Vec<ChangeHash>) -> Vec<ChangeHash> {
    heads.sort_unstable();
    heads.dedup();
    heads
}

/// Whether `msg`, about my side, says the friend holds exactly `heads` (sorted) and needs
/// nothing: automerge, holding my side at `heads`, would then have no change to send, now or
/// after taking the message in. Every summary of what they have must be of changes since exactly
/// `heads` (automerge sends changes since the summaries' heads that the summaries lack, and
/// there are none), and they may ask for nothing.
fn takes_snapshot(msg: &sync::Message, heads: &[ChangeHash]) -> bool {
    msg.need.is_empty()
        && sorted(msg.heads.clone()) == heads
        && msg
            .have
            .iter()
            .all(|have| sorted(have.last_sync.clone()) == heads)
}

fn heads_message(heads: &[[u8; 32]]) -> Vec<u8> {
    let mut sorted = heads.to_vec();
    sorted.sort();
    let mut msg = HEADS_CONTEXT.to_vec();
    for h in sorted {
        msg.extend_from_slice(&h);
    }
    msg
}

/// Loads bytes claiming to be their whole side, strictly, and checks that every change in it was
/// made by one of `authors`. Returns the loaded document and its number of changes.
fn check_whole(
    authors: &BTreeSet<ActorId>,
    bytes: Vec<u8>,
) -> Result<(SavedDoc, usize), Violation> {
    let mut saved = SavedDoc::load(bytes).map_err(|e| Violation::Malformed(e.to_string()))?;
    let count = saved
        .check_authors(|actor| authors.contains(actor))
        .map_err(|actor| Violation::ForeignAuthor(actor.to_hex_string()))?;
    Ok((saved, count))
}

/// Their snapshot, arrived whole into my empty replica, to be loaded and checked before the
/// session takes it: see [`Session::receive_deferred`].
#[derive(Debug)]
pub struct SnapshotCheck {
    bytes: Vec<u8>,
    authors: BTreeSet<ActorId>,
}

impl SnapshotCheck {
    /// Loads the snapshot strictly and checks that every change in it was made by one of their
    /// certified devices: the slow part of a first sync (a full load), with no session borrowed.
    /// A panic in automerge is caught and refuses the snapshot as malformed.
    pub fn run(self) -> Checked {
        let SnapshotCheck { bytes, authors } = self;
        Checked(match saved::guard(|| Ok(check_whole(&authors, bytes))) {
            Ok(result) => result,
            Err(panicked) => Err(Violation::Malformed(panicked.to_string())),
        })
    }
}

/// The outcome of a [`SnapshotCheck`], for [`Session::take_checked`].
#[derive(Debug)]
pub struct Checked(Result<(SavedDoc, usize), Violation>);

/// What [`Session::receive_deferred`] made of a frame.
#[derive(Debug)]
pub enum Deferred {
    /// Applied, as [`Session::receive`] applies it.
    Done(Received),
    /// It completed their snapshot into my empty replica: run the check, then give its outcome
    /// to [`Session::take_checked`] before anything else.
    Check(SnapshotCheck),
}

/// What one received frame did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Received {
    /// Changes newly applied to the friend's side.
    pub changes: usize,
    /// Whether it ended a batch.
    pub end_of_batch: bool,
}

/// My side as a session holds it.
#[derive(Debug)]
enum Mine {
    /// Loaded: automerge's sync runs on it.
    Loaded(Box<Automerge>),
    /// Known only by its heads as stored: a first sync's sender whose snapshot is its whole side
    /// needs nothing else of it, if the friend takes the snapshot. See [`Session::unloaded`].
    Heads {
        /// The heads of the snapshot sent, sorted.
        heads: Vec<ChangeHash>,
        /// The friend's messages about my side so far, in order: automerge takes them in if my
        /// side is loaded after all, and its sync state is then what it would have been had it
        /// held back each of its messages until now.
        received: Vec<sync::Message>,
        /// Whether the friend said it holds exactly `heads` and needs nothing.
        confirmed: bool,
        /// Whether something arrived that only automerge can answer: my side must be loaded.
        needs_load: bool,
    },
}

/// The state of one sync session. See the module docs.
#[derive(Debug)]
pub struct Session {
    mine: Mine,
    theirs: Automerge,
    mine_state: sync::State,
    theirs_state: sync::State,
    authors: BTreeSet<ActorId>,
    friend_device: DeviceId,
    last_signed: Option<Vec<ChangeHash>>,
    received_heads: Option<SignedHeads>,
    /// Their whole side, when it arrived in one piece into an empty replica.
    received_whole: Option<SavedDoc>,
    /// Whether any frame has arrived yet, snapshot parts aside (a snapshot may only come first).
    received_any: bool,
    /// Bytes of their snapshot received so far in parts, or kept from an earlier session.
    staged: Vec<u8>,
    /// My first batch began with a snapshot of my side, and automerge has not yet been held back
    /// from sending the whole document a second time.
    snapshot_pending: bool,
    /// Their snapshot is whole and out being checked ([`Session::receive_deferred`]).
    checking: bool,
}

impl Session {
    /// A session over my side and my replica of theirs, resuming from persisted sync states
    /// (empty slices for a first sync). `authors` are the friend's certified device ids; the
    /// connected device must be one of them.
    pub fn new(
        mine: Automerge,
        theirs: Automerge,
        mine_state: &[u8],
        theirs_state: &[u8],
        authors: impl IntoIterator<Item = DeviceId>,
        friend_device: DeviceId,
    ) -> Self {
        Self::with(
            Mine::Loaded(Box::new(mine)),
            theirs,
            mine_state,
            theirs_state,
            authors,
            friend_device,
        )
    }

    /// A first sync's session whose sender does not load its side: it sent my side whole, as
    /// stored, as a snapshot (and calls [`Session::snapshot_sent`]), and `heads` are the heads
    /// of exactly those bytes. If the friend takes the snapshot, it answers with those heads and
    /// needs nothing, and the session ends with automerge's sync state for my side as automerge
    /// would have left it, having sent no message about my side: the snapshot and the signed
    /// heads say all there is. Anything else the friend says of my side (other heads, a need, a
    /// summary of changes from elsewhere) makes [`Session::needs_mine`] true: the caller then
    /// loads my side and hands it over with [`Session::set_mine`], and automerge goes on from
    /// there. Only for a first sync: with a persisted state that shares any heads (or no heads
    /// to go by), my side is needed from the start.
    pub fn unloaded(
        heads: Vec<ChangeHash>,
        theirs: Automerge,
        mine_state: &[u8],
        theirs_state: &[u8],
        authors: impl IntoIterator<Item = DeviceId>,
        friend_device: DeviceId,
    ) -> Self {
        let needs_load = heads.is_empty() || !Self::offers_snapshot(mine_state);
        Self::with(
            Mine::Heads {
                heads: sorted(heads),
                received: Vec::new(),
                confirmed: false,
                needs_load,
            },
            theirs,
            mine_state,
            theirs_state,
            authors,
            friend_device,
        )
    }

    fn with(
        mine: Mine,
        theirs: Automerge,
        mine_state: &[u8],
        theirs_state: &[u8],
        authors: impl IntoIterator<Item = DeviceId>,
        friend_device: DeviceId,
    ) -> Self {
        let mut mine_state = sync::State::decode(mine_state).unwrap_or_default();
        // The friend may never write my side: automerge ignores their changes, and the session
        // refuses any message that carries some.
        mine_state.set_read_only(true);
        let theirs_state = sync::State::decode(theirs_state).unwrap_or_default();
        Session {
            mine,
            theirs,
            mine_state,
            theirs_state,
            authors: authors
                .into_iter()
                .map(|d| ActorId::from(d.to_bytes().as_slice()))
                .collect(),
            friend_device,
            last_signed: None,
            received_heads: None,
            received_whole: None,
            received_any: false,
            staged: Vec::new(),
            snapshot_pending: false,
            checking: false,
        }
    }

    /// Gives the session the bytes of their snapshot kept from an earlier session cut short
    /// (what [`Session::staged`] held then), so parts resuming after them complete it.
    pub fn stage(&mut self, bytes: Vec<u8>) {
        self.staged = bytes;
    }

    /// The bytes of their snapshot received in parts so far and not yet complete: what to keep
    /// if the session is cut short. Empty once the snapshot is taken or refused.
    pub fn staged(&self) -> &[u8] {
        &self.staged
    }

    /// Whether a session resuming from `mine_state` (as persisted; empty for none) should open
    /// its first batch with my side as stored, [`Frame::Snapshot`]: when the friend's device has
    /// never confirmed holding any of it, so its replica is most likely empty. It depends on the
    /// persisted state alone, so the snapshot can be on its way before my side is even loaded.
    pub fn offers_snapshot(mine_state: &[u8]) -> bool {
        sync::State::decode(mine_state).map_or(true, |state| state.shared_heads.is_empty())
    }

    /// Tells the session that my first batch began with a [`Frame::Snapshot`] of my side, sent
    /// before [`Session::batch`] was first called. If the friend has meanwhile said their
    /// replica is empty, the next batch then leaves out the message in which automerge would send
    /// the whole document again; they answer with the heads the snapshot gave them. Only once: if
    /// they still hold nothing after that, automerge sends the document itself.
    pub fn snapshot_sent(&mut self) {
        self.snapshot_pending = true;
    }

    /// Replaces my side with its latest state (after local writes), keeping the sync state; or,
    /// in a session that did not load it ([`Session::unloaded`]), gives it my side as stored now,
    /// and automerge takes in what the friend said of it so far. Refused only if automerge
    /// refuses one of those messages (the session must then end, as after any violation).
    pub fn set_mine(&mut self, mine: Automerge) -> Result<(), Violation> {
        let before = std::mem::replace(&mut self.mine, Mine::Loaded(Box::new(mine)));
        let Mine::Heads { received, .. } = before else {
            return Ok(());
        };
        let Mine::Loaded(doc) = &mut self.mine else {
            return Ok(());
        };
        let state = &mut self.mine_state;
        for msg in received {
            match saved::guard(|| doc.receive_sync_message(state, msg)) {
                Ok(()) => {}
                Err(e) => return Err(Violation::Malformed(e.to_string())),
            }
        }
        Ok(())
    }

    /// Whether the session cannot go on without my side: it was started without it
    /// ([`Session::unloaded`]) and the friend said something of it that only automerge can
    /// answer. Load it and give it with [`Session::set_mine`] before the next
    /// [`Session::batch`].
    pub fn needs_mine(&self) -> bool {
        matches!(
            self.mine,
            Mine::Heads {
                needs_load: true,
                ..
            }
        )
    }

    /// My side as the session knows it: `None` while it holds only its heads
    /// ([`Session::unloaded`]).
    pub fn mine(&self) -> Option<&Automerge> {
        match &self.mine {
            Mine::Loaded(doc) => Some(doc.as_ref()),
            Mine::Heads { .. } => None,
        }
    }

    /// The heads of my side as the session knows it.
    pub fn mine_heads(&self) -> Vec<ChangeHash> {
        match &self.mine {
            Mine::Loaded(doc) => doc.get_heads(),
            Mine::Heads { heads, .. } => heads.clone(),
        }
    }

    /// The friend's side as received so far.
    pub fn theirs(&self) -> &Automerge {
        &self.theirs
    }

    /// The sync states to persist: (mine, theirs).
    pub fn states(&self) -> (Vec<u8>, Vec<u8>) {
        let mine = match &self.mine {
            // The friend said it holds exactly my heads: automerge, taking that message in, would
            // have recorded them as shared, and a sync state keeps nothing else.
            Mine::Heads {
                heads,
                confirmed: true,
                needs_load: false,
                ..
            } => {
                let mut state = self.mine_state.clone();
                state.shared_heads.clone_from(heads);
                state.encode()
            }
            // Nothing taken in: the state as the session began (for a first sync, no heads
            // shared, which is what the friend's messages with no heads leave too).
            Mine::Heads { .. } | Mine::Loaded(_) => self.mine_state.encode(),
        };
        (mine, self.theirs_state.encode())
    }

    /// Their whole side as it arrived, when the replica was empty and it came as one saved
    /// document (a first sync): its bytes and the document they load as, so that storing it needs
    /// no second load. Taken once; whatever arrived after it is in [`Session::theirs`] only.
    pub fn take_received_whole(&mut self) -> Option<SavedDoc> {
        self.received_whole.take()
    }

    /// The friend's latest verified signed heads, if any arrived in this session.
    pub fn received_heads(&self) -> Option<&SignedHeads> {
        self.received_heads.as_ref()
    }

    /// The next batch to send: a sync message per document that has something to say, my signed
    /// heads when they changed, and [`Frame::EndOfBatch`]. The batch is "empty" when it holds
    /// only the end marker.
    pub fn batch(&mut self, me: &DeviceKey) -> Vec<Frame> {
        let mut out = Vec::new();
        match &self.mine {
            // Without my side, nothing to say of it: the snapshot says it all, unless the friend
            // says otherwise (and then my side is loaded before this is called again).
            Mine::Heads { .. } => {}
            Mine::Loaded(mine) => {
                let hold_back =
                    self.snapshot_pending && self.mine_state.their_heads.as_deref() == Some(&[]);
                if hold_back {
                    self.snapshot_pending = false;
                } else if let Some(m) = mine.generate_sync_message(&mut self.mine_state) {
                    out.push(Frame::Sync {
                        doc: WireDoc::SenderSide,
                        message: m.encode(),
                    });
                }
            }
        }
        if let Some(m) = self.theirs.generate_sync_message(&mut self.theirs_state) {
            out.push(Frame::Sync {
                doc: WireDoc::ReceiverSide,
                message: m.encode(),
            });
        }
        let heads = self.mine_heads();
        if !heads.is_empty() && self.last_signed.as_ref() != Some(&heads) {
            let raw: Vec<[u8; 32]> = heads.iter().map(|h| h.0).collect();
            let signature = me.sign_raw(&heads_message(&raw)).to_bytes().to_vec();
            out.push(Frame::Heads {
                heads: raw,
                signature,
            });
            self.last_signed = Some(heads);
        }
        out.push(Frame::EndOfBatch);
        out
    }

    /// Applies a message about their side to a copy of my replica, and keeps the copy only if
    /// every change that became part of it was made by one of their devices. Whatever shape
    /// automerge gives the changes (one per chunk, several concatenated, a whole document), the
    /// check is on what was actually applied; changes it queues for missing dependencies are
    /// checked in the message that completes them.
    fn receive_changes(&mut self, msg: sync::Message) -> Result<Received, Violation> {
        let malformed = |e: AutomergeError| Violation::Malformed(e.to_string());
        if msg.changes.is_empty() {
            self.theirs
                .receive_sync_message(&mut self.theirs_state, msg)
                .map_err(malformed)?;
            return Ok(Received::default());
        }
        // automerge skips what it cannot parse with only a log line; refuse it instead.
        for chunk in msg.changes.iter() {
            saved::check_strict(chunk).map_err(|e| Violation::Malformed(e.to_string()))?;
        }
        let mut theirs = self.theirs.clone();
        let mut state = self.theirs_state.clone();
        let before = theirs.get_heads();
        theirs
            .receive_sync_message(&mut state, msg)
            .map_err(malformed)?;
        let mut changes = 0;
        if theirs.get_heads() != before {
            let added = theirs.get_changes_meta(&before);
            if let Some(meta) = added
                .iter()
                .find(|meta| !self.authors.contains(meta.actor.as_ref()))
            {
                return Err(Violation::ForeignAuthor(meta.actor.to_hex_string()));
            }
            changes = added.len();
        }
        self.theirs = theirs;
        self.theirs_state = state;
        Ok(Received {
            changes,
            end_of_batch: false,
        })
    }

    /// Loads bytes claiming to be their whole side, strictly, and checks that every change in it
    /// was made by one of their devices. Returns the loaded document and its number of changes.
    fn check_whole(&self, bytes: Vec<u8>) -> Result<(SavedDoc, usize), Violation> {
        check_whole(&self.authors, bytes)
    }

    /// Makes their whole side, checked by [`Session::check_whole`], my (empty) replica, and keeps
    /// its bytes for [`Session::take_received_whole`].
    fn adopt(&mut self, mut saved: SavedDoc) {
        self.theirs = saved
            .document()
            .clone()
            .with_actor(self.theirs.get_actor().clone());
        self.received_whole = Some(saved);
    }

    /// Takes in their whole side, already loaded by [`Session::check_whole`], as my empty
    /// replica: the same outcome as `receive_sync_message`, which would load it a second time.
    /// The caller checked that the replica is empty and that every head `msg` advertises is in
    /// the document.
    fn receive_whole(
        &mut self,
        saved: SavedDoc,
        changes: usize,
        mut msg: sync::Message,
    ) -> Result<Received, Violation> {
        self.adopt(saved);
        // With the document in place and every advertised head in it, automerge's bookkeeping is
        // what it does after applying the changes, except that for a message without changes it
        // also takes their heads as the ones we last sent: restore those.
        msg.changes = ChunkList::empty();
        let last_sent = self.theirs_state.last_sent_heads.clone();
        self.theirs
            .receive_sync_message(&mut self.theirs_state, msg)
            .map_err(|e| Violation::Malformed(e.to_string()))?;
        self.theirs_state.last_sent_heads = last_sent;
        Ok(Received {
            changes,
            end_of_batch: false,
        })
    }

    /// Applies one received frame, or refuses it whole.
    ///
    /// automerge panics on some crafted messages; such a panic is caught and refuses the frame
    /// as malformed. The session must then end, as after any violation: what it holds may be
    /// half-changed.
    pub fn receive(&mut self, frame: Frame) -> Result<Received, Violation> {
        match self.receive_deferred(frame)? {
            Deferred::Done(received) => Ok(received),
            Deferred::Check(check) => self.take_checked(check.run()),
        }
    }

    /// Like [`Session::receive`], except that a frame completing their snapshot into my empty
    /// replica is not loaded and checked here: that is a full load, which a caller on an async
    /// runtime runs on a blocking thread ([`SnapshotCheck::run`]) and hands back with
    /// [`Session::take_checked`] before giving the session anything else.
    pub fn receive_deferred(&mut self, frame: Frame) -> Result<Deferred, Violation> {
        match saved::guard(|| Ok(self.receive_frame(frame))) {
            Ok(result) => result,
            Err(panicked) => Err(Violation::Malformed(panicked.to_string())),
        }
    }

    /// Takes their snapshot, as checked by the [`SnapshotCheck`] that
    /// [`Session::receive_deferred`] returned, into my replica: exactly what
    /// [`Session::receive`] does with the frame that completed it. A refusal refuses that frame.
    pub fn take_checked(&mut self, checked: Checked) -> Result<Received, Violation> {
        let (saved, changes) = checked.0?;
        // Only the check this session asked for, and only into a replica still empty.
        if !std::mem::take(&mut self.checking) || !self.theirs.is_empty() {
            return Ok(Received::default());
        }
        if changes == 0 {
            return Err(Violation::Malformed("an empty snapshot".to_owned()));
        }
        self.adopt(saved);
        // As automerge does when it applies changes that came from the peer: what they sent,
        // both have. My next message then summarises only what came after it, instead of a
        // Bloom filter of every change for them to walk.
        self.theirs_state.shared_heads = self.theirs.get_heads();
        Ok(Received {
            changes,
            end_of_batch: false,
        })
    }

    /// Their whole side, as a snapshot, to be checked and taken into my replica if it is still
    /// empty.
    fn receive_snapshot(&mut self, bytes: Vec<u8>) -> Result<Deferred, Violation> {
        // A replica that already holds some of their side gets the rest through automerge's
        // sync, which sends only what it lacks.
        if !self.theirs.is_empty() {
            return Ok(Deferred::Done(Received::default()));
        }
        self.checking = true;
        Ok(Deferred::Check(SnapshotCheck {
            bytes,
            authors: self.authors.clone(),
        }))
    }

    fn receive_frame(&mut self, frame: Frame) -> Result<Deferred, Violation> {
        let done = |received| Ok(Deferred::Done(received));
        let first = !self.received_any;
        if let Frame::SnapshotPart {
            offset,
            total,
            bytes,
        } = frame
        {
            if !first {
                return Err(Violation::LateSnapshot);
            }
            if !self.theirs.is_empty() {
                self.staged = Vec::new();
                return done(Received::default());
            }
            if offset == 0 {
                // A snapshot from the start: whatever was staged is another state's.
                self.staged.clear();
            }
            let end = (self.staged.len() as u64).checked_add(bytes.len() as u64);
            if offset != self.staged.len() as u64 || end.is_none_or(|end| end > total) {
                return Err(Violation::MisplacedPart);
            }
            self.staged.extend_from_slice(&bytes);
            if (self.staged.len() as u64) < total {
                return done(Received::default());
            }
            // The last part: the snapshot is whole, and checked as one.
            self.received_any = true;
            let whole = std::mem::take(&mut self.staged);
            return self.receive_snapshot(whole);
        }
        self.received_any = true;
        match frame {
            Frame::Snapshot { .. } if !first => Err(Violation::LateSnapshot),
            Frame::Snapshot { bytes } => self.receive_snapshot(bytes),
            other => self.receive_other(other).map(Deferred::Done),
        }
    }

    /// Any frame but a snapshot, or a part of one.
    fn receive_other(&mut self, frame: Frame) -> Result<Received, Violation> {
        match frame {
            // Handled by the caller.
            Frame::Snapshot { .. } | Frame::SnapshotPart { .. } => Ok(Received::default()),
            Frame::EndOfBatch => Ok(Received {
                changes: 0,
                end_of_batch: true,
            }),
            Frame::Heads { heads, signature } => {
                let sig: [u8; 64] = signature
                    .as_slice()
                    .try_into()
                    .map_err(|_| Violation::BadSignature)?;
                self.friend_device
                    .0
                    .verify(&heads_message(&heads), &Signature::from_bytes(&sig))
                    .map_err(|_| Violation::BadSignature)?;
                self.received_heads = Some(SignedHeads {
                    device: self.friend_device.to_string(),
                    heads: heads.iter().map(|h| ChangeHash(*h).to_string()).collect(),
                    signature: hex::encode(sig),
                });
                Ok(Received::default())
            }
            Frame::Sync { doc, message } => {
                let msg = sync::Message::decode(&message)
                    .map_err(|e| Violation::Malformed(e.to_string()))?;
                match doc {
                    // Their frame about *their* side: my replica.
                    WireDoc::SenderSide => {
                        // A first sync: their whole side, in one piece, into an empty replica.
                        let whole = match msg.changes.iter().next() {
                            Some(chunk)
                                if self.theirs.is_empty()
                                    && msg.changes.len() == 1
                                    && is_document(chunk) =>
                            {
                                Some(chunk.to_vec())
                            }
                            _ => None,
                        };
                        if let Some(whole) = whole {
                            let (mut saved, changes) = self.check_whole(whole)?;
                            if msg
                                .heads
                                .iter()
                                .all(|h| saved.document().get_change_by_hash(h).is_some())
                            {
                                return self.receive_whole(saved, changes, msg);
                            }
                        }
                        self.receive_changes(msg)
                    }
                    // Their frame about *my* side: heads and bloom filters only.
                    WireDoc::ReceiverSide => {
                        if !msg.changes.is_empty() {
                            return Err(Violation::WriteToMySide);
                        }
                        match &mut self.mine {
                            Mine::Loaded(mine) => {
                                mine.receive_sync_message(&mut self.mine_state, msg)
                                    .map_err(|e| Violation::Malformed(e.to_string()))?;
                            }
                            Mine::Heads {
                                heads,
                                received,
                                confirmed,
                                needs_load,
                            } => {
                                if takes_snapshot(&msg, heads) {
                                    *confirmed = true;
                                } else if *confirmed || !msg.heads.is_empty() {
                                    // Not an empty replica about to take the snapshot (its
                                    // heads then are none), and not the snapshot taken.
                                    *needs_load = true;
                                }
                                received.push(msg);
                            }
                        }
                        Ok(Received::default())
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ROOT};

    fn key(seed: u8) -> DeviceKey {
        DeviceKey::from_secret([seed; 32])
    }

    fn doc_by(device: &DeviceKey, entries: usize) -> Automerge {
        let mut d = AutoCommit::new().with_actor(device.actor());
        for i in 0..entries {
            d.put(ROOT, format!("k{i}"), i as i64).unwrap();
            d.commit();
        }
        d.document().clone()
    }

    /// A first session over `mine`, with an empty replica of `friend`'s side.
    fn first_session(mine: Automerge, friend: &DeviceKey) -> Session {
        Session::new(mine, Automerge::new(), &[], &[], [friend.id()], friend.id())
    }

    /// Runs alternating batches between two sessions until a round trip carries nothing.
    fn converge(a: &mut Session, ka: &DeviceKey, b: &mut Session, kb: &DeviceKey) -> usize {
        for round in 0..20 {
            let from_a = a.batch(ka);
            let a_empty = from_a.len() == 1;
            for f in from_a {
                b.receive(f).unwrap();
            }
            let from_b = b.batch(kb);
            let b_empty = from_b.len() == 1;
            for f in from_b {
                a.receive(f).unwrap();
            }
            if a_empty && b_empty {
                return round;
            }
        }
        panic!("did not converge");
    }

    #[test]
    fn both_sides_replicate_and_signed_heads_verify() {
        let (maya, jordan) = (key(1), key(2));
        let maya_side = doc_by(&maya, 5);
        let jordan_side = doc_by(&jordan, 3);
        let mut m = first_session(maya_side.clone(), &jordan);
        let mut j = first_session(jordan_side.clone(), &maya);
        converge(&mut m, &maya, &mut j, &jordan);
        assert_eq!(j.theirs().get_heads(), maya_side.get_heads());
        assert_eq!(m.theirs().get_heads(), jordan_side.get_heads());
        assert!(m.received_heads().unwrap().verify(m.theirs()));
        assert!(j.received_heads().unwrap().verify(j.theirs()));
    }

    /// A first sync takes their whole side with one load; afterwards the replica, the sync state
    /// and every message that follows are what automerge's own `receive_sync_message` gives.
    #[test]
    fn a_whole_side_into_an_empty_replica_matches_automerge() {
        let (maya, jordan) = (key(1), key(2));
        let maya_side = doc_by(&maya, 40);
        // Jordan's empty replica asks; Maya's side answers with the whole document.
        let mut plain = Automerge::new();
        let mut plain_state = sync::State::new();
        let hello = plain.generate_sync_message(&mut plain_state).unwrap();
        let mut maya_state = sync::State::new();
        let mut sender = maya_side.clone();
        sender.receive_sync_message(&mut maya_state, hello).unwrap();
        let whole = sender.generate_sync_message(&mut maya_state).unwrap();
        assert_eq!(
            whole.changes.len(),
            1,
            "automerge sends the document in one piece"
        );

        let mut j = first_session(doc_by(&jordan, 1), &maya);
        // Bring the session's replica state to where `plain` is: it sent its first message.
        let first = j.batch(&jordan);
        assert!(first.len() > 1);
        let received = j
            .receive(Frame::Sync {
                doc: WireDoc::SenderSide,
                message: whole.clone().encode(),
            })
            .unwrap();
        plain.receive_sync_message(&mut plain_state, whole).unwrap();

        assert_eq!(received.changes, 40);
        assert_eq!(j.theirs().get_heads(), maya_side.get_heads());
        assert_eq!(j.theirs_state.encode(), plain_state.encode());
        assert_eq!(j.theirs_state.last_sent_heads, plain_state.last_sent_heads);
        assert_eq!(j.theirs_state.shared_heads, plain_state.shared_heads);
        assert_eq!(j.theirs_state.their_heads, plain_state.their_heads);
        let next = j.theirs.generate_sync_message(&mut j.theirs_state.clone());
        let plain_next = plain.generate_sync_message(&mut plain_state.clone());
        assert_eq!(
            next.map(|m| m.encode()),
            plain_next.map(|m| m.encode()),
            "the acknowledgement is the same"
        );
        // The bytes to store are the document exactly as sent, taken once.
        let mut saved = j.take_received_whole().unwrap();
        assert_eq!(saved.document().get_heads(), maya_side.get_heads());
        assert!(j.take_received_whole().is_none());

        // And the session goes on converging with Maya's.
        let mut m = first_session(maya_side.clone(), &jordan);
        converge(&mut m, &maya, &mut j, &jordan);
        assert_eq!(j.theirs().get_heads(), maya_side.get_heads());
    }

    /// After a first sync, automerge sends later changes to a peer that speaks its second message
    /// format concatenated into one chunk.
    #[test]
    fn several_new_changes_in_one_message_are_taken() {
        let (maya, jordan) = (key(1), key(2));
        let mut maya_side = AutoCommit::load(&doc_by(&maya, 30).save())
            .unwrap()
            .with_actor(maya.actor());
        let mut m = first_session(maya_side.document().clone(), &jordan);
        let mut j = first_session(doc_by(&jordan, 1), &maya);
        converge(&mut m, &maya, &mut j, &jordan);
        for i in 0..5 {
            maya_side.put(ROOT, "later", i).unwrap();
            maya_side.commit();
        }
        m.set_mine(maya_side.document().clone()).unwrap();
        let mut taken = 0;
        for _ in 0..4 {
            let from_m = m.batch(&maya);
            for f in from_m {
                taken += j.receive(f).unwrap().changes;
            }
            deliver(&mut m, j.batch(&jordan));
        }
        assert_eq!(taken, 5);
        assert_eq!(j.theirs().get_heads(), maya_side.get_heads());

        // The same shape of message with one change by Eve's device among Maya's is refused
        // whole.
        let eve = key(3);
        let before = maya_side.get_heads();
        maya_side.put(ROOT, "later", 5).unwrap();
        maya_side.commit();
        maya_side.set_actor(eve.actor());
        maya_side.put(ROOT, "eve", true).unwrap();
        maya_side.commit();
        // Jordan's replica as it resumes from its stored sync state.
        let mut state = sync::State::decode(&j.theirs_state.encode()).unwrap();
        let hello = j.theirs.generate_sync_message(&mut state).unwrap();
        let mut sender_state = sync::State::new();
        let mut sender = maya_side.document().clone();
        sender
            .receive_sync_message(&mut sender_state, hello)
            .unwrap();
        let msg = sender.generate_sync_message(&mut sender_state).unwrap();
        assert_eq!(msg.changes.len(), 1, "both changes in one chunk");
        let err = j
            .receive(Frame::Sync {
                doc: WireDoc::SenderSide,
                message: msg.encode(),
            })
            .unwrap_err();
        assert!(matches!(err, Violation::ForeignAuthor(_)), "{err:?}");
        assert_eq!(j.theirs().get_heads(), before, "nothing applied");
    }

    #[test]
    fn changes_into_my_side_are_refused_whole() {
        let (maya, jordan) = (key(1), key(2));
        let maya_side = doc_by(&maya, 2);
        let mut m = first_session(maya_side.clone(), &jordan);
        // Jordan forges a change to Maya's side and offers it in a sync message.
        let mut forged = AutoCommit::load(&maya_side.save())
            .unwrap()
            .with_actor(jordan.actor());
        forged.put(ROOT, "evil", true).unwrap();
        forged.commit();
        let mut state = sync::State::new();
        let mut evil_state = sync::State::new();
        let honest = maya_side.clone();
        // Let automerge produce a genuine message carrying the forged change.
        let hello = honest.generate_sync_message(&mut evil_state).unwrap();
        forged
            .sync()
            .receive_sync_message(&mut state, hello)
            .unwrap();
        let msg = forged.sync().generate_sync_message(&mut state).unwrap();
        assert!(!msg.changes.is_empty());
        let err = m.receive(Frame::Sync {
            doc: WireDoc::ReceiverSide,
            message: msg.encode(),
        });
        assert_eq!(err, Err(Violation::WriteToMySide));
        assert_eq!(m.mine_heads(), maya_side.get_heads(), "nothing applied");
        let _ = honest.get_heads();
    }

    #[test]
    fn changes_to_their_side_by_someone_else_are_refused_whole() {
        let (maya, jordan, eve) = (key(1), key(2), key(3));
        let mut m = first_session(doc_by(&maya, 1), &jordan);
        // Jordan's side, but containing a change authored by Eve's device.
        let mut mixed = AutoCommit::load(&doc_by(&jordan, 2).save())
            .unwrap()
            .with_actor(eve.actor());
        mixed.put(ROOT, "eve", 1).unwrap();
        mixed.commit();
        let mut state = sync::State::new();
        // A fresh replica: automerge sends the whole document.
        let hello = Automerge::new()
            .generate_sync_message(&mut sync::State::new())
            .unwrap();
        mixed
            .sync()
            .receive_sync_message(&mut state, hello)
            .unwrap();
        let msg = mixed.sync().generate_sync_message(&mut state).unwrap();
        let err = m
            .receive(Frame::Sync {
                doc: WireDoc::SenderSide,
                message: msg.encode(),
            })
            .unwrap_err();
        assert!(matches!(err, Violation::ForeignAuthor(_)), "{err:?}");
        assert!(m.theirs().get_heads().is_empty(), "nothing applied");
    }

    #[test]
    fn garbage_and_forged_heads_are_refused() {
        let (maya, jordan) = (key(1), key(2));
        let mut m = first_session(doc_by(&maya, 1), &jordan);
        assert!(matches!(
            m.receive(Frame::Sync {
                doc: WireDoc::SenderSide,
                message: vec![1, 2, 3]
            }),
            Err(Violation::Malformed(_))
        ));
        // Well-formed sync messages whose change chunks are garbage, of either kind.
        let genuine = doc_by(&jordan, 3);
        let mut state = sync::State::new();
        let hello = Automerge::new()
            .generate_sync_message(&mut sync::State::new())
            .unwrap();
        let mut sender = genuine.clone();
        sender.receive_sync_message(&mut state, hello).unwrap();
        let template = sender.generate_sync_message(&mut state).unwrap();
        let whole = genuine.save();
        let mut broken_doc = whole.clone();
        let end = broken_doc.len() - 1;
        broken_doc[end] ^= 0xff;
        let change = genuine.get_changes(&[])[0].raw_bytes().to_vec();
        let mut broken_change = change.clone();
        broken_change[4] ^= 0xff;
        for chunk in [
            broken_doc,
            broken_change,
            vec![0u8; 12],
            b"not a chunk".to_vec(),
        ] {
            let mut msg = template.clone();
            msg.changes = ChunkList::from(chunk);
            assert!(matches!(
                m.receive(Frame::Sync {
                    doc: WireDoc::SenderSide,
                    message: msg.encode(),
                }),
                Err(Violation::Malformed(_))
            ));
            assert!(m.theirs().is_empty(), "nothing applied");
        }
        let forged = Frame::Heads {
            heads: vec![[9; 32]],
            signature: maya.sign_raw(b"x").to_bytes().to_vec(),
        };
        assert_eq!(m.receive(forged), Err(Violation::BadSignature));
        assert_eq!(
            m.receive(Frame::Heads {
                heads: vec![],
                signature: vec![1]
            }),
            Err(Violation::BadSignature)
        );
    }

    #[test]
    fn a_resumed_session_with_nothing_new_converges_in_one_round() {
        let (maya, jordan) = (key(1), key(2));
        let (ms, js) = (doc_by(&maya, 50), doc_by(&jordan, 50));
        let mut m = first_session(ms.clone(), &jordan);
        let mut j = first_session(js.clone(), &maya);
        converge(&mut m, &maya, &mut j, &jordan);
        let (m1, m2) = m.states();
        let (j1, j2) = j.states();
        let mut m = Session::new(ms, m.theirs().clone(), &m1, &m2, [jordan.id()], jordan.id());
        let mut j = Session::new(js, j.theirs().clone(), &j1, &j2, [maya.id()], maya.id());
        let mut bytes = 0;
        for f in m.batch(&maya) {
            bytes += postcard_len(&f);
            j.receive(f).unwrap();
        }
        assert!(bytes < 1024, "{bytes} bytes for nothing new");
        assert!(converge(&mut m, &maya, &mut j, &jordan) <= 2);
    }

    fn postcard_len(f: &Frame) -> usize {
        match f {
            Frame::Sync { message, .. } => message.len() + 2,
            Frame::Heads { heads, signature } => heads.len() * 32 + signature.len() + 2,
            Frame::EndOfBatch => 1,
            Frame::Snapshot { bytes } => bytes.len() + 4,
            Frame::SnapshotPart { bytes, .. } => bytes.len() + 12,
        }
    }

    /// Whether a frame is an automerge message carrying a whole document.
    fn carries_whole_document(f: &Frame) -> bool {
        let Frame::Sync { message, .. } = f else {
            return false;
        };
        let msg = sync::Message::decode(message).unwrap();
        msg.changes.iter().any(|chunk| chunk.get(8) == Some(&0))
    }

    /// Delivers `frames` to `to`, returning their size and whether any was an automerge message
    /// carrying a whole document.
    fn deliver(to: &mut Session, frames: Vec<Frame>) -> (usize, bool) {
        let mut size = 0;
        let mut whole = false;
        for f in frames {
            size += postcard_len(&f);
            whole |= carries_whole_document(&f);
            to.receive(f).unwrap();
        }
        (size, whole)
    }

    /// The first 30 of 40 changes saved as a snapshot, then the other 10 as change chunks: what a
    /// store that compacted a while ago holds.
    fn stored_with_chunks(author: &DeviceKey) -> (Automerge, Vec<u8>) {
        let full = doc_by(author, 40);
        let first = first_changes(&full, 30);
        let mut bytes = first.save();
        bytes.extend(full.save_after(&first.get_heads()));
        (full, bytes)
    }

    /// `doc` as of its first `n` changes (its history is one device's, so a line).
    fn first_changes(doc: &Automerge, n: usize) -> Automerge {
        let nth = doc.get_changes(&[])[n - 1].hash();
        doc.fork_at(&[nth]).unwrap()
    }

    #[test]
    fn only_a_device_that_never_confirmed_my_side_is_offered_a_snapshot() {
        let (maya, jordan) = (key(1), key(2));
        assert!(Session::offers_snapshot(&[]));
        assert!(Session::offers_snapshot(b"not a sync state"));
        let mut m = first_session(doc_by(&maya, 3), &jordan);
        let mut j = first_session(Automerge::new(), &maya);
        converge(&mut m, &maya, &mut j, &jordan);
        let (mine_state, _) = m.states();
        assert!(!Session::offers_snapshot(&mine_state));
    }

    /// The sender dials: its first batch opens with its side as stored (a snapshot plus changes
    /// written since), and automerge never sends the document again.
    #[test]
    fn a_snapshot_opening_the_first_batch_fills_an_empty_replica() {
        let (maya, jordan) = (key(1), key(2));
        let (maya_side, stored) = stored_with_chunks(&maya);
        let mut m = first_session(maya_side.clone(), &jordan);
        let mut j = first_session(doc_by(&jordan, 2), &maya);
        m.snapshot_sent();
        let mut first = vec![Frame::Snapshot {
            bytes: stored.clone(),
        }];
        first.extend(m.batch(&maya));
        let received = j.receive(first.remove(0)).unwrap();
        assert_eq!(received.changes, 40);
        let (mut size, mut whole) = deliver(&mut j, first);
        assert_eq!(j.theirs().get_heads(), maya_side.get_heads());
        for _ in 0..4 {
            // Jordan's own side goes to Maya whole, as automerge sends it: not what is checked.
            let (s, _) = deliver(&mut m, j.batch(&jordan));
            let (s2, w) = deliver(&mut j, m.batch(&maya));
            (size, whole) = (size + s + s2, whole | w);
        }
        assert!(!whole, "automerge sent the whole document again");
        assert_eq!(j.theirs().get_heads(), maya_side.get_heads());
        assert_eq!(m.theirs().get_heads(), j.mine_heads());
        // The bytes to store are the snapshot exactly as sent.
        let mut saved = j.take_received_whole().unwrap();
        assert_eq!(saved.bytes(), stored);
        assert_eq!(saved.document().get_heads(), maya_side.get_heads());
        assert!(size < stored.len() / 2, "{size} bytes besides the snapshot");
    }

    /// The receiver dials and says first that it holds nothing; the sender's first batch opens
    /// with a snapshot that is older than its side. Automerge holds back the whole document once
    /// and sends only the changes the snapshot lacks.
    #[test]
    fn a_stale_snapshot_is_completed_by_automerge_not_resent() {
        let (maya, jordan) = (key(1), key(2));
        let (maya_side, _) = stored_with_chunks(&maya);
        // Ten changes were written after the snapshot was read (automerge would send the whole
        // document again if over a third were missing).
        let stale = first_changes(&maya_side, 30).save();
        let mut j = first_session(doc_by(&jordan, 2), &maya);
        let mut m = first_session(maya_side.clone(), &jordan);
        deliver(&mut m, j.batch(&jordan));
        m.snapshot_sent();
        let mut first = vec![Frame::Snapshot { bytes: stale }];
        first.extend(m.batch(&maya));
        assert!(
            !first.iter().any(carries_whole_document),
            "the whole document was held back"
        );
        let (_, mut whole) = deliver(&mut j, first);
        for _ in 0..4 {
            deliver(&mut m, j.batch(&jordan));
            whole |= deliver(&mut j, m.batch(&maya)).1;
        }
        assert!(!whole, "automerge sent the whole document again");
        assert_eq!(j.theirs().get_heads(), maya_side.get_heads());
    }

    /// A snapshot lost on the way costs a round, not convergence: after holding back once,
    /// automerge sends the whole document itself.
    #[test]
    fn a_lost_snapshot_still_converges() {
        let (maya, jordan) = (key(1), key(2));
        let maya_side = doc_by(&maya, 20);
        let mut j = first_session(Automerge::new(), &maya);
        let mut m = first_session(maya_side.clone(), &jordan);
        deliver(&mut m, j.batch(&jordan));
        m.snapshot_sent();
        deliver(&mut j, m.batch(&maya));
        converge(&mut j, &jordan, &mut m, &maya);
        assert_eq!(j.theirs().get_heads(), maya_side.get_heads());
    }

    #[test]
    fn a_snapshot_into_a_replica_that_holds_some_is_left_to_automerge() {
        let (maya, jordan) = (key(1), key(2));
        let maya_side = doc_by(&maya, 12);
        let partial = first_changes(&maya_side, 5);
        let mut j = Session::new(
            Automerge::new(),
            partial.clone(),
            &[],
            &[],
            [maya.id()],
            maya.id(),
        );
        let got = j
            .receive(Frame::Snapshot {
                bytes: maya_side.save(),
            })
            .unwrap();
        assert_eq!(got.changes, 0);
        assert_eq!(j.theirs().get_heads(), partial.get_heads());
        assert!(j.take_received_whole().is_none());
        let mut m = first_session(maya_side.clone(), &jordan);
        converge(&mut m, &maya, &mut j, &jordan);
        assert_eq!(j.theirs().get_heads(), maya_side.get_heads());
    }

    #[test]
    fn bad_or_late_snapshots_are_refused_and_apply_nothing() {
        let (maya, jordan, eve) = (key(1), key(2), key(3));
        // Jordan's side with one change by Eve's device in it.
        let mut mixed = AutoCommit::load(&doc_by(&jordan, 2).save())
            .unwrap()
            .with_actor(eve.actor());
        mixed.put(ROOT, "eve", 1).unwrap();
        mixed.commit();
        let mut damaged = doc_by(&jordan, 3).save();
        let end = damaged.len() - 1;
        damaged[end] ^= 0xff;
        let mut cut = doc_by(&jordan, 3).save();
        cut.truncate(cut.len() / 2);
        for (bytes, foreign) in [
            (mixed.save(), true),
            (doc_by(&maya, 2).save(), true),
            (damaged, false),
            (cut, false),
            (b"not automerge".to_vec(), false),
            (Vec::new(), false),
            (Automerge::new().save(), false),
        ] {
            let mut m = first_session(doc_by(&maya, 1), &jordan);
            let err = m.receive(Frame::Snapshot { bytes }).unwrap_err();
            assert_eq!(
                matches!(err, Violation::ForeignAuthor(_)),
                foreign,
                "{err:?}"
            );
            assert!(foreign || matches!(err, Violation::Malformed(_)), "{err:?}");
            assert!(m.theirs().is_empty(), "nothing applied");
            assert!(m.take_received_whole().is_none());
        }
        // A genuine snapshot, but not first.
        let mut m = first_session(doc_by(&maya, 1), &jordan);
        let mut j = first_session(doc_by(&jordan, 3), &maya);
        deliver(&mut m, j.batch(&jordan));
        assert_eq!(
            m.receive(Frame::Snapshot {
                bytes: doc_by(&jordan, 3).save()
            }),
            Err(Violation::LateSnapshot)
        );
    }

    /// A side large enough for several [`PART`]s, as stored: a snapshot of most of it, then
    /// change chunks.
    fn large_stored(author: &DeviceKey) -> (Automerge, Vec<u8>) {
        let mut d = AutoCommit::new().with_actor(author.actor());
        for i in 0..6_000 {
            // Hashes, so that the document does not compress to a part or two.
            let value = blake3::hash(&(i as u64).to_le_bytes()).to_hex().to_string();
            d.put(ROOT, format!("key {i}"), value).unwrap();
            if i % 3 == 0 {
                d.commit();
            }
        }
        d.commit();
        let full = d.document().clone();
        let n = full.get_changes(&[]).len();
        let first = first_changes(&full, n - 10);
        let mut bytes = first.save();
        bytes.extend(full.save_after(&first.get_heads()));
        assert!(
            bytes.len() > 3 * PART,
            "{} bytes: too few parts",
            bytes.len()
        );
        (full, bytes)
    }

    fn part_len(f: &Frame) -> usize {
        match f {
            Frame::SnapshotPart { bytes, .. } => bytes.len(),
            other => panic!("not a snapshot part: {other:?}"),
        }
    }

    /// The parts of a snapshot, in order, fill an empty replica as the snapshot in one frame
    /// does, and nothing of it is taken before the last part.
    #[test]
    fn a_snapshot_in_parts_fills_an_empty_replica() {
        let (maya, jordan) = (key(1), key(2));
        let (maya_side, stored) = large_stored(&maya);
        let parts = snapshot_parts(&stored, 0);
        assert_eq!(parts.len(), stored.len().div_ceil(PART));
        assert!(parts.iter().all(|p| part_len(p) <= PART));
        let mut m = first_session(maya_side.clone(), &jordan);
        let mut j = first_session(doc_by(&jordan, 2), &maya);
        m.snapshot_sent();
        let count = parts.len();
        for (i, part) in parts.into_iter().enumerate() {
            let got = j.receive(part).unwrap();
            if i + 1 < count {
                assert_eq!(got.changes, 0);
                assert!(j.theirs().is_empty(), "taken before it was whole");
                assert!(!j.staged().is_empty());
            } else {
                assert_eq!(got.changes, maya_side.get_changes(&[]).len());
            }
        }
        assert!(
            j.staged().is_empty(),
            "staged bytes left after the snapshot was taken"
        );
        let (_, mut whole) = deliver(&mut j, m.batch(&maya));
        for _ in 0..4 {
            deliver(&mut m, j.batch(&jordan));
            whole |= deliver(&mut j, m.batch(&maya)).1;
        }
        assert!(!whole, "automerge sent the whole document again");
        assert_eq!(j.theirs().get_heads(), maya_side.get_heads());
        assert_eq!(j.take_received_whole().unwrap().bytes(), stored);
    }

    /// A session cut after two parts keeps them; the next session, told of them by their length
    /// and digest, is sent only the rest, and completes the replica.
    #[test]
    fn a_session_cut_mid_snapshot_resumes_with_only_the_rest() {
        let (maya, jordan) = (key(1), key(2));
        let (maya_side, stored) = large_stored(&maya);
        let mut cut = first_session(Automerge::new(), &maya);
        for part in snapshot_parts(&stored, 0).into_iter().take(2) {
            cut.receive(part).unwrap();
        }
        // The connection died here: the rest never arrived.
        let staged = cut.staged().to_vec();
        assert_eq!(staged.len(), 2 * PART);
        assert!(cut.theirs().is_empty());

        let mut j = first_session(doc_by(&jordan, 2), &maya);
        j.stage(staged.clone());
        let from = resume_offset(&stored, staged.len() as u64, &staged_digest(&staged));
        assert_eq!(from, staged.len());
        let rest = snapshot_parts(&stored, from);
        let resent: usize = rest.iter().map(part_len).sum();
        assert_eq!(resent, stored.len() - staged.len());
        let mut m = first_session(maya_side.clone(), &jordan);
        m.snapshot_sent();
        for part in rest {
            j.receive(part).unwrap();
        }
        converge(&mut m, &maya, &mut j, &jordan);
        assert_eq!(j.theirs().get_heads(), maya_side.get_heads());
        assert_eq!(j.take_received_whole().unwrap().bytes(), stored);
    }

    /// Staged bytes that are not how the sender's snapshot starts (another state of its side,
    /// or damaged) are not resumed: the snapshot comes again from the start and replaces them.
    #[test]
    fn staged_bytes_of_another_snapshot_are_replaced_from_the_start() {
        let (maya, jordan) = (key(1), key(2));
        let (maya_side, stored) = large_stored(&maya);
        let mut other = stored[..PART].to_vec();
        other[100] ^= 1;
        assert_eq!(
            resume_offset(&stored, PART as u64, &staged_digest(&other)),
            0
        );
        assert_eq!(resume_offset(&stored, stored.len() as u64 + 1, &[0; 32]), 0);
        assert_eq!(resume_offset(&stored, 0, &staged_digest(&[])), 0);
        let mut j = first_session(Automerge::new(), &maya);
        j.stage(other);
        for part in snapshot_parts(&stored, 0) {
            j.receive(part).unwrap();
        }
        assert_eq!(j.theirs().get_heads(), maya_side.get_heads());
        // Every byte already staged: one empty part completes it.
        let mut k = first_session(Automerge::new(), &maya);
        k.stage(stored.clone());
        let last = snapshot_parts(&stored, stored.len());
        assert_eq!(last.len(), 1);
        assert_eq!(part_len(&last[0]), 0);
        k.receive(last.into_iter().next().unwrap()).unwrap();
        assert_eq!(k.theirs().get_heads(), maya_side.get_heads());
        let _ = jordan;
    }

    /// Write authority holds for a snapshot in parts as for one in a frame: the whole is checked
    /// when the last part is in, and a foreign change refuses it all; parts out of place, or
    /// after other frames, are refused.
    #[test]
    fn parts_are_checked_whole_and_in_place() {
        let (maya, jordan, eve) = (key(1), key(2), key(3));
        // Jordan's side with changes by Eve's device in it, large enough for several parts.
        let (_, jordan_bytes) = large_stored(&jordan);
        let mut mixed = AutoCommit::load(&jordan_bytes)
            .unwrap()
            .with_actor(eve.actor());
        mixed.put(ROOT, "eve", 1).unwrap();
        mixed.commit();
        let mixed = mixed.save();
        let mut m = first_session(doc_by(&maya, 1), &jordan);
        let parts = snapshot_parts(&mixed, 0);
        let count = parts.len();
        let mut refused = None;
        for (i, part) in parts.into_iter().enumerate() {
            match m.receive(part) {
                Ok(_) => assert!(i + 1 < count, "the last part was taken"),
                Err(e) => refused = Some(e),
            }
        }
        assert!(
            matches!(refused, Some(Violation::ForeignAuthor(_))),
            "{refused:?}"
        );
        assert!(m.theirs().is_empty(), "nothing applied");
        assert!(m.staged().is_empty());
        assert!(m.take_received_whole().is_none());

        let (_, stored) = large_stored(&jordan);
        let parts = snapshot_parts(&stored, 0);
        // A gap.
        let mut m = first_session(doc_by(&maya, 1), &jordan);
        m.receive(parts[0].clone()).unwrap();
        assert_eq!(m.receive(parts[2].clone()), Err(Violation::MisplacedPart));
        // Past the total.
        let mut m = first_session(doc_by(&maya, 1), &jordan);
        assert_eq!(
            m.receive(Frame::SnapshotPart {
                offset: 0,
                total: 3,
                bytes: vec![0; 4]
            }),
            Err(Violation::MisplacedPart)
        );
        // After another frame.
        let mut m = first_session(doc_by(&maya, 1), &jordan);
        let mut j = first_session(doc_by(&jordan, 3), &maya);
        deliver(&mut m, j.batch(&jordan));
        assert_eq!(m.receive(parts[0].clone()), Err(Violation::LateSnapshot));
        // Into a replica that holds some of their side: ignored, automerge sends the rest.
        let mut m = Session::new(
            Automerge::new(),
            doc_by(&jordan, 1),
            &[],
            &[],
            [jordan.id()],
            jordan.id(),
        );
        m.receive(parts[0].clone()).unwrap();
        assert!(m.staged().is_empty());
    }

    /// An older peer (tapin/sync/2 and /3) knows the first four frames only: their encoding is
    /// unchanged by the new one, which comes after them.
    #[test]
    fn the_older_frames_encode_as_before() {
        let enc = |f: &Frame| postcard::to_stdvec(f).unwrap();
        assert_eq!(
            enc(&Frame::Sync {
                doc: WireDoc::ReceiverSide,
                message: vec![7]
            }),
            vec![0, 1, 1, 7]
        );
        assert_eq!(enc(&Frame::EndOfBatch), vec![2]);
        assert_eq!(enc(&Frame::Snapshot { bytes: vec![9] }), vec![3, 1, 9]);
        assert_eq!(
            enc(&Frame::SnapshotPart {
                offset: 1,
                total: 2,
                bytes: vec![9]
            }),
            vec![4, 1, 2, 1, 9]
        );
    }

    /// Alternating batches between two sessions until a round trip carries nothing, as an
    /// exchange runs them, loading a session's side (`sides`: a's, b's) whenever it needs it.
    /// Returns how many times a side was loaded, and the bytes of the frames.
    fn converge_loading(
        a: &mut Session,
        ka: &DeviceKey,
        b: &mut Session,
        kb: &DeviceKey,
        sides: [&Automerge; 2],
    ) -> (usize, usize) {
        let mut loads = 0;
        let mut size = 0;
        let mut step = |from: &mut Session, to: &mut Session, key: &DeviceKey, side: &Automerge| {
            if from.needs_mine() {
                from.set_mine(side.clone()).unwrap();
                loads += 1;
            }
            let batch = from.batch(key);
            let empty = batch.len() == 1;
            size += deliver(to, batch).0;
            empty
        };
        for _ in 0..20 {
            let a_empty = step(a, b, ka, sides[0]);
            let b_empty = step(b, a, kb, sides[1]);
            if a_empty && b_empty {
                return (loads, size);
            }
        }
        panic!("did not converge");
    }

    /// Maya's session for a first sync that sends her side as stored and never loads it.
    fn unloaded_session(side: &Automerge, friend: &DeviceKey) -> Session {
        let mut m = Session::unloaded(
            side.get_heads(),
            Automerge::new(),
            &[],
            &[],
            [friend.id()],
            friend.id(),
        );
        m.snapshot_sent();
        m
    }

    fn is_about_my_side(f: &Frame) -> bool {
        matches!(
            f,
            Frame::Sync {
                doc: WireDoc::SenderSide,
                ..
            }
        )
    }

    /// A first sync whose sender never loads its side, either way round: the friend takes the
    /// snapshot, says it holds exactly its heads, and the rounds end with the replica complete,
    /// the signed heads verified and both sync states exactly what the session that loaded its
    /// side persists. A reconnect from those states, then new changes on both sides, converge.
    #[test]
    fn a_first_sync_whose_sender_never_loads_its_side_converges() {
        let (maya, jordan) = (key(1), key(2));
        let (maya_side, stored) = stored_with_chunks(&maya);
        let jordan_side = doc_by(&jordan, 3);
        for maya_dials in [true, false] {
            // The same exchange with Maya's side loaded, as before: the states to match.
            let mut loaded = first_session(maya_side.clone(), &jordan);
            loaded.snapshot_sent();
            let mut j0 = first_session(jordan_side.clone(), &maya);
            // And without.
            let mut m = unloaded_session(&maya_side, &jordan);
            let mut j = first_session(jordan_side.clone(), &maya);
            for (m, j) in [(&mut loaded, &mut j0), (&mut m, &mut j)] {
                if !maya_dials {
                    // Jordan's empty replica speaks first: Maya's side has no heads to it.
                    deliver(m, j.batch(&jordan));
                    assert!(!m.needs_mine(), "an empty replica's hello needs no load");
                }
                let mut first = snapshot_parts(&stored, 0);
                first.extend(m.batch(&maya));
                deliver(j, first);
                converge_loading(j, &jordan, m, &maya, [&jordan_side, &maya_side]);
                assert_eq!(j.theirs().get_heads(), maya_side.get_heads());
                assert_eq!(m.theirs().get_heads(), jordan_side.get_heads());
                assert!(j.received_heads().unwrap().verify(j.theirs()));
                assert!(m.received_heads().unwrap().verify(m.theirs()));
            }
            assert!(m.mine().is_none(), "Maya's side was loaded");
            assert_eq!(m.mine_heads(), maya_side.get_heads());
            assert_eq!(m.states(), loaded.states(), "Maya's states");
            assert_eq!(j.states(), j0.states(), "Jordan's states");
            let shared = sync::State::decode(&m.states().0).unwrap().shared_heads;
            assert_eq!(shared, maya_side.get_heads());

            // A reconnect with nothing new: a few hundred bytes, no document.
            let (m_mine, m_theirs) = m.states();
            let (j_mine, j_theirs) = j.states();
            let reconnect = |maya_side: &Automerge, jordan_side: &Automerge| {
                let m = Session::new(
                    maya_side.clone(),
                    m.theirs().clone(),
                    &m_mine,
                    &m_theirs,
                    [jordan.id()],
                    jordan.id(),
                );
                let j = Session::new(
                    jordan_side.clone(),
                    j.theirs().clone(),
                    &j_mine,
                    &j_theirs,
                    [maya.id()],
                    maya.id(),
                );
                (m, j)
            };
            let (mut m2, mut j2) = reconnect(&maya_side, &jordan_side);
            let (loads, size) =
                converge_loading(&mut m2, &maya, &mut j2, &jordan, [&maya_side, &jordan_side]);
            assert_eq!(loads, 0);
            assert!(size < 1024, "{size} bytes to say nothing is new");
            // New changes on both sides.
            let mut maya_more = AutoCommit::load(&maya_side.save())
                .unwrap()
                .with_actor(maya.actor());
            let mut jordan_more = AutoCommit::load(&jordan_side.save())
                .unwrap()
                .with_actor(jordan.actor());
            for i in 0..3 {
                maya_more.put(ROOT, "later", i).unwrap();
                maya_more.commit();
                jordan_more.put(ROOT, "later", i).unwrap();
                jordan_more.commit();
            }
            let (maya_more, jordan_more) = (maya_more.document(), jordan_more.document());
            let (mut m3, mut j3) = reconnect(maya_more, jordan_more);
            converge_loading(&mut m3, &maya, &mut j3, &jordan, [maya_more, jordan_more]);
            assert_eq!(j3.theirs().get_heads(), maya_more.get_heads());
            assert_eq!(m3.theirs().get_heads(), jordan_more.get_heads());
        }
    }

    /// A sender that did not load its side, whose friend ignores the snapshot (its replica
    /// holds some of the side already) and so reports other heads, loads its side and converges
    /// through automerge as if it had held back its messages until then.
    #[test]
    fn a_sender_told_other_heads_loads_its_side_and_converges() {
        let (maya, jordan) = (key(1), key(2));
        let (maya_side, stored) = stored_with_chunks(&maya);
        let jordan_side = doc_by(&jordan, 2);
        for maya_dials in [true, false] {
            let mut m = unloaded_session(&maya_side, &jordan);
            let mut j = Session::new(
                jordan_side.clone(),
                first_changes(&maya_side, 5),
                &[],
                &[],
                [maya.id()],
                maya.id(),
            );
            if !maya_dials {
                deliver(&mut m, j.batch(&jordan));
                assert!(
                    m.needs_mine(),
                    "a replica with other heads needs Maya's side"
                );
            }
            let mut first = vec![Frame::Snapshot {
                bytes: stored.clone(),
            }];
            if m.needs_mine() {
                m.set_mine(maya_side.clone()).unwrap();
            }
            first.extend(m.batch(&maya));
            deliver(&mut j, first);
            let (loads, _) =
                converge_loading(&mut j, &jordan, &mut m, &maya, [&jordan_side, &maya_side]);
            assert_eq!(loads, usize::from(maya_dials), "Maya's side loaded once");
            assert!(m.mine().is_some());
            assert_eq!(j.theirs().get_heads(), maya_side.get_heads());
            assert_eq!(m.theirs().get_heads(), jordan_side.get_heads());
            let shared = sync::State::decode(&m.states().0).unwrap().shared_heads;
            assert_eq!(shared, maya_side.get_heads());
        }
    }

    /// Maya writes to her side during a first sync that did not load it, before the friend said
    /// it took the snapshot or after: the session is given her side as it is now, and the
    /// friend gets the new changes in the same exchange.
    #[test]
    fn a_local_write_during_an_unloaded_first_sync_is_sent() {
        let (maya, jordan) = (key(1), key(2));
        let (maya_side, stored) = stored_with_chunks(&maya);
        let mut later = AutoCommit::load(&maya_side.save())
            .unwrap()
            .with_actor(maya.actor());
        for i in 0..3 {
            later.put(ROOT, "later", i).unwrap();
            later.commit();
        }
        let later = later.document().clone();
        for confirmed_first in [false, true] {
            let mut m = unloaded_session(&maya_side, &jordan);
            let mut j = first_session(doc_by(&jordan, 1), &maya);
            let mut first = vec![Frame::Snapshot {
                bytes: stored.clone(),
            }];
            first.extend(m.batch(&maya));
            assert!(!first.iter().any(is_about_my_side), "nothing of my side");
            deliver(&mut j, first);
            if confirmed_first {
                deliver(&mut m, j.batch(&jordan));
                assert!(!m.needs_mine());
                assert!(m.mine().is_none());
            }
            m.set_mine(later.clone()).unwrap();
            converge(&mut m, &maya, &mut j, &jordan);
            assert_eq!(j.theirs().get_heads(), later.get_heads());
            let shared = sync::State::decode(&m.states().0).unwrap().shared_heads;
            assert_eq!(shared, later.get_heads());
            assert!(j.received_heads().unwrap().verify(j.theirs()));
            assert_eq!(j.received_heads().unwrap().heads.len(), 1);
        }
    }

    /// Only a message saying the friend holds exactly my heads, summarising nothing since others
    /// and needing nothing, spares my side its load; anything else about it needs automerge.
    #[test]
    fn only_the_snapshot_taken_exactly_spares_the_load() {
        let maya = key(1);
        let side = doc_by(&maya, 4);
        let heads = side.get_heads();
        let older = first_changes(&side, 2).get_heads();
        let mut state = sync::State::new();
        state.shared_heads.clone_from(&heads);
        // What an empty replica that took the snapshot says.
        let taken = side.generate_sync_message(&mut state).unwrap();
        assert!(takes_snapshot(&taken, &heads));
        let mut need = taken.clone();
        need.need = older.clone();
        let mut other = taken.clone();
        other.heads.clone_from(&older);
        let mut since = taken.clone();
        since.have[0].last_sync.clone_from(&older);
        let mut none = taken.clone();
        none.have.clear();
        assert!(takes_snapshot(&none, &heads));
        for (msg, why) in [
            (need, "a need"),
            (other, "other heads"),
            (since, "older summary"),
        ] {
            assert!(!takes_snapshot(&msg, &heads), "{why}");
            let mut m = unloaded_session(&side, &key(2));
            m.receive(Frame::Sync {
                doc: WireDoc::ReceiverSide,
                message: msg.encode(),
            })
            .unwrap();
            assert!(m.needs_mine(), "{why}");
        }
        // After the snapshot was taken, a replica that says it holds nothing lost it.
        let mut m = unloaded_session(&side, &key(2));
        let empty = Automerge::new()
            .generate_sync_message(&mut sync::State::new())
            .unwrap();
        for (msg, needs) in [(empty.clone(), false), (taken, false), (empty, true)] {
            m.receive(Frame::Sync {
                doc: WireDoc::ReceiverSide,
                message: msg.encode(),
            })
            .unwrap();
            assert_eq!(m.needs_mine(), needs);
        }
        // A session resuming from a state that shares heads needs my side from the start.
        let shared = sync::State {
            shared_heads: heads.clone(),
            ..sync::State::new()
        };
        let m = Session::unloaded(
            heads,
            Automerge::new(),
            &shared.encode(),
            &[],
            [key(2).id()],
            key(2).id(),
        );
        assert!(m.needs_mine());
    }

    /// The check `session` leaves for a whole snapshot of `bytes` into its empty replica.
    fn left_to_check(session: &mut Session, bytes: Vec<u8>) -> SnapshotCheck {
        match session.receive_deferred(Frame::Snapshot { bytes }).unwrap() {
            Deferred::Check(check) => check,
            Deferred::Done(_) => {
                panic!("a whole snapshot into an empty replica was not left to check")
            }
        }
    }

    /// A frame completing their snapshot can be checked away from the session (on a blocking
    /// thread, in tapin-net): taking the outcome leaves the session exactly as `receive` does,
    /// a refusal refuses the same way, and an outcome the session did not ask for is ignored.
    #[test]
    fn a_snapshot_checked_apart_is_taken_as_receive_takes_it() {
        let (maya, jordan, eve) = (key(1), key(2), key(3));
        let (maya_side, stored) = large_stored(&maya);
        for parts in [false, true] {
            let frames = if parts {
                snapshot_parts(&stored, 0)
            } else {
                vec![Frame::Snapshot {
                    bytes: stored.clone(),
                }]
            };
            let mut inline = first_session(doc_by(&jordan, 1), &maya);
            let mut apart = first_session(doc_by(&jordan, 1), &maya);
            let last = frames.len() - 1;
            for (i, f) in frames.into_iter().enumerate() {
                let want = inline.receive(f.clone()).unwrap();
                let got = match apart.receive_deferred(f).unwrap() {
                    Deferred::Done(got) => {
                        assert!(i < last, "the last frame was not left to check");
                        got
                    }
                    Deferred::Check(check) => {
                        assert_eq!(i, last, "checked before it was whole");
                        let checked = std::thread::spawn(move || check.run()).join().unwrap();
                        apart.take_checked(checked).unwrap()
                    }
                };
                assert_eq!(got, want);
            }
            assert_eq!(apart.theirs().get_heads(), maya_side.get_heads());
            assert_eq!(apart.states(), inline.states());
            assert_eq!(
                apart.take_received_whole().unwrap().bytes(),
                inline.take_received_whole().unwrap().bytes()
            );
        }
        // A snapshot with a change by Eve's device: refused, nothing applied.
        let mut mixed = AutoCommit::load(&doc_by(&maya, 2).save())
            .unwrap()
            .with_actor(eve.actor());
        mixed.put(ROOT, "eve", 1).unwrap();
        mixed.commit();
        let mut j = first_session(doc_by(&jordan, 1), &maya);
        let check = left_to_check(&mut j, mixed.save());
        let err = j.take_checked(check.run()).unwrap_err();
        assert!(matches!(err, Violation::ForeignAuthor(_)), "{err:?}");
        assert!(j.theirs().is_empty());
        assert!(j.take_received_whole().is_none());
        // An outcome this session never asked for: ignored.
        let mut other = first_session(doc_by(&jordan, 1), &maya);
        let check = left_to_check(&mut other, stored.clone());
        let mut k = first_session(doc_by(&jordan, 1), &maya);
        assert_eq!(k.take_checked(check.run()).unwrap(), Received::default());
        assert!(k.theirs().is_empty());
    }
}
