//! Protocol versions, told apart by ALPN, and what each side says when the other's tapin is too
//! old or too new. See "Compatibility" in docs/PROTOCOL.md.
//!
//! postcard is positional, so a message whose shape changes needs a new ALPN; both ends then
//! agree on the shape during the QUIC handshake, before any byte of it is read. The serving side
//! lists every ALPN it accepts, newest first, and picks the first one the dialler offers; a
//! dialler offers every ALPN it speaks. A version too old to serve is still *accepted*, and the
//! connection closed right after the handshake with [`OUTDATED`] and a reason the old build shows
//! its person, so neither person ever reads "not reachable" for what is a version difference.
//!
//! ```
//! use tapin_net::version::SyncVersion;
//! assert_eq!(SyncVersion::of(b"tapin/sync/3"), Some(SyncVersion::V3));
//! assert_eq!(SyncVersion::of(b"tapin/sync/4"), Some(SyncVersion::V4));
//! assert!(!SyncVersion::V1.is_spoken());
//! assert_eq!(SyncVersion::of(b"tapin/chat/1"), None);
//! ```

use iroh::endpoint::{ConnectError, ConnectingError, ConnectionError, TransportErrorCode};

use crate::{PAIR_ALPN, PAIR_ALPN_V1, SYNC_ALPN, SYNC_ALPN_V1, SYNC_ALPN_V2, SYNC_ALPN_V3};

/// QUIC application close code: "your tapin is too old for mine" (as HTTP's 426 Upgrade
/// Required). Sent by the newer side, on either end of the connection, right after the
/// handshake; the reason is [`outdated_reason`].
pub const OUTDATED: u32 = 426;

/// TLS alert 120, `no_application_protocol`: the serving side speaks none of the ALPNs offered.
const NO_APPLICATION_PROTOCOL: u8 = 120;

/// A sync protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncVersion {
    /// `tapin/sync/1`: no longer spoken; accepted only to answer [`OUTDATED`].
    V1,
    /// `tapin/sync/2` (release c2a9253): the session's frames only.
    V2,
    /// `tapin/sync/3`: each exchange opens with both sides' reach (addresses and relay).
    V3,
    /// `tapin/sync/4`: each exchange opens with both sides' hello (reach, and what each holds of
    /// the other's side); a first sync's snapshot travels in parts and resumes.
    V4,
}

impl SyncVersion {
    /// The version an ALPN names, if it is a sync ALPN this build knows.
    pub fn of(alpn: &[u8]) -> Option<SyncVersion> {
        match alpn {
            a if a == SYNC_ALPN => Some(SyncVersion::V4),
            a if a == SYNC_ALPN_V3 => Some(SyncVersion::V3),
            a if a == SYNC_ALPN_V2 => Some(SyncVersion::V2),
            a if a == SYNC_ALPN_V1 => Some(SyncVersion::V1),
            _ => None,
        }
    }

    /// Its ALPN.
    pub fn alpn(self) -> &'static [u8] {
        match self {
            SyncVersion::V1 => SYNC_ALPN_V1,
            SyncVersion::V2 => SYNC_ALPN_V2,
            SyncVersion::V3 => SYNC_ALPN_V3,
            SyncVersion::V4 => SYNC_ALPN,
        }
    }

    /// Whether this build still syncs on it (rather than answering [`OUTDATED`]).
    pub fn is_spoken(self) -> bool {
        self != SyncVersion::V1
    }
}

/// A pairing protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairVersion {
    /// `tapin/pair/1` (release c2a9253): the join request has no relay.
    V1,
    /// `tapin/pair/2`: the join request carries the joiner's relay.
    V2,
}

impl PairVersion {
    /// The version an ALPN names, if it is a pairing ALPN this build knows.
    pub fn of(alpn: &[u8]) -> Option<PairVersion> {
        match alpn {
            a if a == PAIR_ALPN => Some(PairVersion::V2),
            a if a == PAIR_ALPN_V1 => Some(PairVersion::V1),
            _ => None,
        }
    }
}

/// The reason sent with [`OUTDATED`], as the older side's person reads it: `me` is this side's
/// name (at most 64 characters of it, so the reason fits a close frame).
pub fn outdated_reason(me: &str) -> Vec<u8> {
    let me: String = me.chars().take(64).collect();
    format!("{me}'s tapin is newer; update tapin to sync with {me}").into_bytes()
}

/// Whether a connection ended because the other side closed it with [`OUTDATED`]: its tapin
/// is newer and no longer speaks any version this build offered.
pub fn closed_as_outdated(err: &ConnectionError) -> bool {
    matches!(err, ConnectionError::ApplicationClosed(close)
        if close.error_code.into_inner() == u64::from(OUTDATED))
}

/// The connection error inside a failed dial, if the dial got as far as a connection.
pub fn connection_error(err: &ConnectError) -> Option<&ConnectionError> {
    match err {
        ConnectError::Connection { source, .. }
        | ConnectError::Connecting {
            source: ConnectingError::ConnectionError { source, .. },
            ..
        } => Some(source),
        _ => None,
    }
}

/// Whether a dial failed because the endpoint that answered speaks none of the ALPNs offered
/// (TLS alert 120). Between tapin builds that keep the rules in docs/PROTOCOL.md this is never a
/// version difference, since every build accepts every sync ALPN ever defined: whatever answered
/// is not serving tapin sync (a `tapin invite` or `tapin join` holding the home's port, or
/// another program). The answer comes before the answering endpoint has proved who it is.
pub fn no_common_protocol(err: &ConnectError) -> bool {
    let code = TransportErrorCode::crypto(NO_APPLICATION_PROTOCOL);
    match connection_error(err) {
        Some(ConnectionError::ConnectionClosed(close)) => close.error_code == code,
        Some(ConnectionError::TransportError(e)) => e.code == code,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_alpn_names_its_version_and_back() {
        for v in [
            SyncVersion::V1,
            SyncVersion::V2,
            SyncVersion::V3,
            SyncVersion::V4,
        ] {
            assert_eq!(SyncVersion::of(v.alpn()), Some(v));
        }
        assert_eq!(
            crate::SYNC_ALPNS.map(SyncVersion::of),
            [
                Some(SyncVersion::V4),
                Some(SyncVersion::V3),
                Some(SyncVersion::V2),
                Some(SyncVersion::V1)
            ],
            "newest first: the serving side picks the first it shares with the dialler"
        );
        assert_eq!(
            crate::PAIR_ALPNS.map(PairVersion::of),
            [Some(PairVersion::V2), Some(PairVersion::V1)]
        );
        assert_eq!(SyncVersion::of(b"tapin/sync/5"), None);
        assert_eq!(PairVersion::of(SYNC_ALPN), None);
    }

    #[test]
    fn the_outdated_reason_names_this_side_and_stays_short() {
        assert_eq!(
            outdated_reason("Maya"),
            b"Maya's tapin is newer; update tapin to sync with Maya".to_vec()
        );
        let long = "é".repeat(10_000);
        assert!(outdated_reason(&long).len() < 400);
    }
}
