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

fn heads_message(heads: &[[u8; 32]]) -> Vec<u8> {
    let mut sorted = heads.to_vec();
    sorted.sort();
    let mut msg = HEADS_CONTEXT.to_vec();
    for h in sorted {
        msg.extend_from_slice(&h);
    }
    msg
}

/// What one received frame did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Received {
    /// Changes newly applied to the friend's side.
    pub changes: usize,
    /// Whether it ended a batch.
    pub end_of_batch: bool,
}

/// The state of one sync session. See the module docs.
#[derive(Debug)]
pub struct Session {
    mine: Automerge,
    theirs: Automerge,
    mine_state: sync::State,
    theirs_state: sync::State,
    authors: BTreeSet<ActorId>,
    friend_device: DeviceId,
    last_signed: Option<Vec<ChangeHash>>,
    received_heads: Option<SignedHeads>,
    /// Their whole side, when it arrived in one piece into an empty replica.
    received_whole: Option<SavedDoc>,
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
        }
    }

    /// Replaces my side with its latest state (after local writes), keeping the sync state.
    pub fn set_mine(&mut self, mine: Automerge) {
        self.mine = mine;
    }

    /// My side as the session knows it.
    pub fn mine(&self) -> &Automerge {
        &self.mine
    }

    /// The friend's side as received so far.
    pub fn theirs(&self) -> &Automerge {
        &self.theirs
    }

    /// The sync states to persist: (mine, theirs).
    pub fn states(&self) -> (Vec<u8>, Vec<u8>) {
        (self.mine_state.encode(), self.theirs_state.encode())
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
        if let Some(m) = self.mine.generate_sync_message(&mut self.mine_state) {
            out.push(Frame::Sync {
                doc: WireDoc::SenderSide,
                message: m.encode(),
            });
        }
        if let Some(m) = self.theirs.generate_sync_message(&mut self.theirs_state) {
            out.push(Frame::Sync {
                doc: WireDoc::ReceiverSide,
                message: m.encode(),
            });
        }
        let heads = self.mine.get_heads();
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
            saved::check_strict(chunk).map_err(malformed)?;
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
        let mut saved = SavedDoc::load(bytes).map_err(|e| Violation::Malformed(e.to_string()))?;
        let changes = saved.document().get_changes_meta(&[]);
        if let Some(meta) = changes
            .iter()
            .find(|meta| !self.authors.contains(meta.actor.as_ref()))
        {
            return Err(Violation::ForeignAuthor(meta.actor.to_hex_string()));
        }
        let count = changes.len();
        Ok((saved, count))
    }

    /// Takes in their whole side, already loaded by [`Session::check_whole`], as my empty
    /// replica: the same outcome as `receive_sync_message`, which would load it a second time.
    /// The caller checked that the replica is empty and that every head `msg` advertises is in
    /// the document.
    fn receive_whole(
        &mut self,
        mut saved: SavedDoc,
        changes: usize,
        mut msg: sync::Message,
    ) -> Result<Received, Violation> {
        self.theirs = saved
            .document()
            .clone()
            .with_actor(self.theirs.get_actor().clone());
        // With the document in place and every advertised head in it, automerge's bookkeeping is
        // what it does after applying the changes, except that for a message without changes it
        // also takes their heads as the ones we last sent: restore those.
        msg.changes = ChunkList::empty();
        let last_sent = self.theirs_state.last_sent_heads.clone();
        self.theirs
            .receive_sync_message(&mut self.theirs_state, msg)
            .map_err(|e| Violation::Malformed(e.to_string()))?;
        self.theirs_state.last_sent_heads = last_sent;
        self.received_whole = Some(saved);
        Ok(Received {
            changes,
            end_of_batch: false,
        })
    }

    /// Applies one received frame, or refuses it whole.
    pub fn receive(&mut self, frame: Frame) -> Result<Received, Violation> {
        match frame {
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
                        self.mine
                            .receive_sync_message(&mut self.mine_state, msg)
                            .map_err(|e| Violation::Malformed(e.to_string()))?;
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
        m.set_mine(maya_side.document().clone());
        let mut taken = 0;
        for _ in 0..4 {
            let from_m = m.batch(&maya);
            for f in from_m {
                taken += j.receive(f).unwrap().changes;
            }
            for f in j.batch(&jordan) {
                m.receive(f).unwrap();
            }
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
        assert_eq!(
            m.mine().get_heads(),
            maya_side.get_heads(),
            "nothing applied"
        );
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
        }
    }
}
