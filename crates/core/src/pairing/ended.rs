//! The notice that ends a pairing: who ended it, with whom, and when, signed by the person key of
//! the one who ended it. The friend's device checks it against the key it learned when the two
//! paired, so no one else can end a pairing in their name; it carries no reason and nothing else.
//!
//! It travels as the reason of the QUIC close with which the ending side's gate answers the
//! friend's next sync connection (see "Ending a pairing" in docs/PROTOCOL.md): words an older
//! tapin shows as they are, then [`NOTICE_MARK`] and the notice in base32.
//!
//! ```
//! use tapin_core::identity::PersonKey;
//! use tapin_core::pairing::EndNotice;
//! use tapin_core::time::Timestamp;
//!
//! let (maya, jordan) = (PersonKey::from_secret([1; 32]), PersonKey::from_secret([2; 32]));
//! let notice = EndNotice::new(&maya, jordan.id(), Timestamp(1_795_000_000_000));
//! let reason = notice.close_reason("Maya");
//! assert!(reason.starts_with("Maya ended the pairing"));
//! let read = EndNotice::from_close_reason(reason.as_bytes()).unwrap().unwrap();
//! read.verify(&maya.id(), &jordan.id()).unwrap();
//! assert!(read.verify(&jordan.id(), &maya.id()).is_err());
//! ```

use ed25519_dalek::{Signature, Verifier};

use super::PairError;
use crate::identity::{PersonId, PersonKey};
use crate::time::Timestamp;

const END_CONTEXT: &[u8] = b"tapin pairing ended v1\0";
/// What separates the words of a close reason from the notice it carries.
pub const NOTICE_MARK: &str = " tapin-notice:";
/// The longest close reason that carries a notice, in characters: a name of at most 64
/// characters, the words, and the notice, well within one QUIC packet.
pub const MAX_CLOSE_REASON: usize = 600;
const NOTICE_LEN: usize = 32 + 32 + 8 + 64;

/// A signed notice that `from` ended the pairing with `to` at `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndNotice {
    /// Who ended it.
    pub from: PersonId,
    /// With whom.
    pub to: PersonId,
    /// When, by the clock of the one who ended it.
    pub at: Timestamp,
    signature: Signature,
}

impl EndNotice {
    /// The notice that `key`'s person ended the pairing with `to` at `at`, signed.
    pub fn new(key: &PersonKey, to: PersonId, at: Timestamp) -> Self {
        let mut notice = EndNotice {
            from: key.id(),
            to,
            at,
            signature: Signature::from_bytes(&[0; 64]),
        };
        notice.signature = key.sign_raw(&notice.signed());
        notice
    }

    fn body(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(NOTICE_LEN);
        out.extend_from_slice(&self.from.to_bytes());
        out.extend_from_slice(&self.to.to_bytes());
        out.extend_from_slice(&self.at.0.to_be_bytes());
        out
    }

    fn signed(&self) -> Vec<u8> {
        let mut out = END_CONTEXT.to_vec();
        out.extend_from_slice(&self.body());
        out
    }

    /// The notice's bytes: both person keys, the time, the signature.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.body();
        out.extend_from_slice(&self.signature.to_bytes());
        out
    }

    /// Reads a notice's bytes (its signature is checked by [`EndNotice::verify`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PairError> {
        if bytes.len() != NOTICE_LEN {
            return Err(PairError::Malformed);
        }
        let key = |range: std::ops::Range<usize>| -> Result<PersonId, PairError> {
            let raw: [u8; 32] = bytes[range].try_into().map_err(|_| PairError::Malformed)?;
            PersonId::from_bytes(&raw).map_err(|_| PairError::Malformed)
        };
        let at: [u8; 8] = bytes[64..72].try_into().map_err(|_| PairError::Malformed)?;
        let signature: [u8; 64] = bytes[72..].try_into().map_err(|_| PairError::Malformed)?;
        Ok(EndNotice {
            from: key(0..32)?,
            to: key(32..64)?,
            at: Timestamp(i64::from_be_bytes(at)),
            signature: Signature::from_bytes(&signature),
        })
    }

    /// The close reason that carries it: words an older tapin shows as they are ("Maya ended the
    /// pairing with you."), then the notice. `me` is cut to 64 characters.
    pub fn close_reason(&self, me: &str) -> String {
        let me: String = me.chars().take(64).collect();
        format!(
            "{me} ended the pairing with you; nothing syncs between you any more.{NOTICE_MARK}{}",
            data_encoding::BASE32_NOPAD.encode(&self.to_bytes())
        )
    }

    /// The notice a close reason carries: `None` if it carries none, an error if it carries one
    /// that does not read.
    pub fn from_close_reason(reason: &[u8]) -> Option<Result<Self, PairError>> {
        let reason = std::str::from_utf8(reason).ok()?;
        let (_, encoded) = reason.rsplit_once(NOTICE_MARK)?;
        Some(
            data_encoding::BASE32_NOPAD
                .decode(encoded.trim().as_bytes())
                .map_err(|_| PairError::Malformed)
                .and_then(|bytes| EndNotice::from_bytes(&bytes)),
        )
    }

    /// Checks that `from` signed it, about the pairing with `to`.
    pub fn verify(&self, from: &PersonId, to: &PersonId) -> Result<(), PairError> {
        if self.from != *from || self.to != *to {
            return Err(PairError::BadSignature);
        }
        from.0
            .verify(&self.signed(), &self.signature)
            .map_err(|_| PairError::BadSignature)
    }
}
