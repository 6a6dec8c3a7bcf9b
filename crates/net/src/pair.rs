//! The pairing protocol over QUIC (ALPNs `tapin/pair/2` and `tapin/pair/1`): one bidirectional
//! stream, four messages. The message contents and their checks are in `tapin_core::pairing`;
//! this module moves them and bounds every wait. See docs/PROTOCOL.md.
//!
//! The two versions differ only in the join request: version 2's carries the joiner's relay. A
//! joiner offers both and an inviter serves both, so either side may still run release c2a9253.
//!
//! ```text
//! joiner                                   inviter
//!   ── JoinRequest {invite, name, cert, proof, addrs, relay} ──►
//!   ◄── JoinResponse::Welcome {cert, proof} | Refused ──
//!        (both show the safety code; each person confirms)
//!   ── Confirm {accepted} ──►
//!   ◄── Confirm {accepted} ──
//!   (joiner closes)
//! ```

use std::sync::Arc;
use std::time::Duration;

use iroh::endpoint::{ConnectError, ConnectOptions, Connection, RecvStream, SendStream};
use iroh::{Endpoint, EndpointAddr};
use tapin_core::identity::{DeviceCertificate, DeviceId};
use tapin_core::pairing::{
    self, Confirm, Invitation, InviteId, JoinRequest, JoinRequestV1, JoinResponse, PairError,
    PairedDevice, Reach,
};
use tapin_core::time::Timestamp;

use crate::endpoint::DialError;
use crate::frame::{self, FrameError};
use crate::shared::{BlockingError, off_runtime};
use crate::version::PairVersion;
use crate::{PAIR_ALPN, PAIR_ALPN_V1, Timeouts};

/// Pairing messages are small; anything larger is hostile.
pub const FRAME_CAP: u32 = 16 * 1024;

/// Pairing over the network failed.
#[derive(Debug, thiserror::Error)]
pub enum PairNetError {
    /// The invitation or a message was refused.
    #[error(transparent)]
    Pair(#[from] PairError),
    /// The inviter's device could not be reached.
    #[error("could not reach {name}'s device (is `tapin invite` still running there?)")]
    Unreachable {
        /// The inviter's name.
        name: String,
        /// Why.
        #[source]
        source: DialError,
    },
    /// The inviter's device could not be reached at its addresses, and its relay cannot be used
    /// because this home has none.
    #[error(
        "could not reach {name}'s device at its addresses; it can also be reached through its \
         relay {relay}, but this home uses no relay (relay: none): join again with \
         `--relay default` or `--relay URL`"
    )]
    RelayOff {
        /// The inviter's name.
        name: String,
        /// The relay the ticket names.
        relay: String,
        /// Why the addresses failed.
        #[source]
        source: DialError,
    },
    /// This side (the inviter) refused a device's join request, and told it why.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The invitations could not be consulted: the work handed to a blocking thread did not
    /// finish.
    #[error(transparent)]
    Blocking(#[from] BlockingError),
    /// A message could not be exchanged.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The other side took too long.
    #[error("the other device did not answer in time ({0})")]
    Timeout(&'static str),
    /// Someone did not confirm the safety code.
    #[error("{0} did not confirm the safety code; nothing was paired")]
    Declined(&'static str),
}

async fn timed<T, E: Into<PairNetError>>(
    what: &'static str,
    limit: Duration,
    fut: impl Future<Output = Result<T, E>>,
) -> Result<T, PairNetError> {
    match tokio::time::timeout(limit, fut).await {
        Ok(r) => r.map_err(Into::into),
        Err(_) => Err(PairNetError::Timeout(what)),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Joiner,
    Inviter,
}

/// A pairing that both devices verified, waiting for the people to confirm the safety code.
#[derive(Debug)]
pub struct PendingPairing {
    conn: Connection,
    send: SendStream,
    recv: RecvStream,
    role: Role,
    timeouts: Timeouts,
    /// The friend's device, verified.
    pub peer: PairedDevice,
    /// Where the friend's device can be dialled (checked): from the ticket on the joiner's side,
    /// from the join request on the inviter's.
    pub peer_reach: Reach,
    /// The code both people compare.
    pub code: String,
    /// The invitation this pairing used.
    pub invite: InviteId,
}

impl PendingPairing {
    /// Sends this person's answer and learns the other's. `Ok` only if both confirmed. Waits
    /// for the other person as long as the timeouts it was made with allow (`pair_confirm`).
    pub async fn finish(mut self, accepted: bool) -> Result<PairedDevice, PairNetError> {
        let mine = Confirm { accepted };
        let Timeouts {
            pair_step,
            pair_confirm,
            ..
        } = self.timeouts;
        let theirs: Confirm = match self.role {
            Role::Joiner => {
                timed(
                    "sending confirmation",
                    pair_step,
                    frame::write(&mut self.send, &mine),
                )
                .await?;
                let theirs = timed(
                    "confirmation",
                    pair_confirm,
                    frame::read(&mut self.recv, FRAME_CAP),
                )
                .await?;
                self.conn.close(0u32.into(), b"paired");
                theirs
            }
            Role::Inviter => {
                // Read theirs before writing ours; the joiner closes only after reading ours, so
                // waiting for that close means both confirmations arrived.
                let theirs = timed(
                    "confirmation",
                    pair_confirm,
                    frame::read(&mut self.recv, FRAME_CAP),
                )
                .await?;
                timed(
                    "sending confirmation",
                    pair_step,
                    frame::write(&mut self.send, &mine),
                )
                .await?;
                let _ = self.send.finish();
                let _ = tokio::time::timeout(pair_step, self.conn.closed()).await;
                theirs
            }
        };
        if !accepted {
            return Err(PairNetError::Declined("you"));
        }
        if !theirs.accepted {
            return Err(PairNetError::Declined("your friend"));
        }
        Ok(self.peer)
    }
}

/// Where to dial the inviter: the ticket's addresses, and its relay when this endpoint can use
/// one.
fn inviter_addr(inv: &Invitation, relay_enabled: bool) -> Result<EndpointAddr, PairNetError> {
    crate::endpoint::dial_addr(inv.endpoint, &inv.reach(), relay_enabled)
        .ok_or(PairNetError::Pair(PairError::Malformed))
}

fn device_of(conn: &Connection) -> Result<DeviceId, PairNetError> {
    DeviceId::from_bytes(conn.remote_id().as_bytes())
        .map_err(|_| PairNetError::Pair(PairError::Malformed))
}

/// The joiner's half: connects to the inviter (offering both pairing versions), proves the
/// invitation, verifies the inviter. `my_reach` is where the inviter will dial this device;
/// `relay_enabled` says whether this endpoint can use the inviter's relay. Each step waits at
/// most `timeouts.pair_step`.
#[allow(clippy::too_many_arguments)]
pub async fn join(
    ep: &Endpoint,
    inv: &Invitation,
    my_name: &str,
    my_cert: &DeviceCertificate,
    my_reach: Reach,
    relay_enabled: bool,
    now: Timestamp,
    timeouts: &Timeouts,
) -> Result<PendingPairing, PairNetError> {
    let pair_step = timeouts.pair_step;
    inv.check_fresh(now)?;
    let addr = inviter_addr(inv, relay_enabled)?;
    let unreachable = |why: DialError| match inv.reach().relay {
        Some(relay) if !relay_enabled => PairNetError::RelayOff {
            name: inv.name.clone(),
            relay,
            source: why,
        },
        _ => PairNetError::Unreachable {
            name: inv.name.clone(),
            source: why,
        },
    };
    let options = ConnectOptions::new().with_additional_alpns(vec![PAIR_ALPN_V1.to_vec()]);
    let dial = async {
        let connecting = ep.connect_with_opts(addr, PAIR_ALPN, options).await?;
        Ok::<_, ConnectError>(connecting.await?)
    };
    let conn = match tokio::time::timeout(pair_step, dial).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(err)) => return Err(unreachable(err.into())),
        Err(_) => return Err(unreachable(DialError::TimedOut(pair_step))),
    };
    let version = PairVersion::of(conn.alpn());
    let remote = device_of(&conn)?;
    let (mut send, mut recv) = timed("opening a stream", pair_step, async {
        conn.open_bi().await.map_err(FrameError::from)
    })
    .await?;
    let req = pairing::join_request(inv, my_name, my_cert, my_reach);
    match version {
        Some(PairVersion::V2) => {
            timed(
                "sending the request",
                pair_step,
                frame::write(&mut send, &req),
            )
            .await?;
        }
        Some(PairVersion::V1) => {
            // An inviter on release c2a9253: the same request without the relay.
            timed(
                "sending the request",
                pair_step,
                frame::write(&mut send, &JoinRequestV1::from(req)),
            )
            .await?;
        }
        None => return Err(PairNetError::Pair(PairError::Malformed)),
    }
    let resp: JoinResponse = timed("answer", pair_step, frame::read(&mut recv, FRAME_CAP)).await?;
    let peer = match pairing::check_welcome(inv, &resp, remote, my_cert.device) {
        Ok(peer) => peer,
        Err(e) => {
            conn.close(1u32.into(), b"refused");
            return Err(e.into());
        }
    };
    let code = pairing::safety_code(&inv.secret, my_cert, &peer.cert);
    Ok(PendingPairing {
        conn,
        send,
        recv,
        role: Role::Joiner,
        timeouts: *timeouts,
        peer,
        peer_reach: inv.reach(),
        code,
        invite: inv.id(),
    })
}

/// The inviter's view of its invitations. Called on a blocking thread, never on the async
/// runtime, so it may read and write a store.
pub trait Invitations: std::fmt::Debug + Send + Sync + 'static {
    /// The open invitation with this id, or why it cannot be used (unknown, used, expired).
    fn lookup(&self, id: &InviteId) -> Result<Invitation, InvitationError>;
    /// Marks the invitation used, atomically; fails if it already was.
    fn claim(&self, id: &InviteId) -> Result<(), InvitationError>;
}

/// An invitation cannot be used. Its message (without the causes) is what the joiner is told.
#[derive(Debug, thiserror::Error)]
pub enum InvitationError {
    /// No invitation with this id was made here.
    #[error("this invitation is unknown here")]
    Unknown,
    /// It was used already.
    #[error("this invitation was already used; ask for a new one")]
    Used,
    /// It is expired, or what was kept of it does not read as an invitation.
    #[error(transparent)]
    Invalid(#[from] PairError),
    /// The inviter could not read or record its invitations.
    #[error("the inviter could not read or record its invitations")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Why this side (the inviter) refused a join request: the message the joiner is told.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// The invitation cannot be used.
    #[error(transparent)]
    Invitation(#[from] InvitationError),
    /// The request does not check: no proof of the secret, a bad certificate, unusable
    /// addresses.
    #[error(transparent)]
    Request(#[from] PairError),
}

/// The inviter's half for one incoming connection on a pairing ALPN (the join request's shape
/// follows the ALPN the handshake chose).
///
/// The invitation is claimed (used up) only once the joiner has proved the secret, so a device
/// that does not know it cannot burn an invitation. Each step waits at most `timeouts.pair_step`.
pub async fn accept(
    conn: Connection,
    invitations: Arc<dyn Invitations>,
    my_cert: &DeviceCertificate,
    timeouts: &Timeouts,
) -> Result<PendingPairing, PairNetError> {
    let pair_step = timeouts.pair_step;
    let remote = device_of(&conn)?;
    let (mut send, mut recv) = timed("opening a stream", pair_step, async {
        conn.accept_bi().await.map_err(FrameError::from)
    })
    .await?;
    let req: JoinRequest = match PairVersion::of(conn.alpn()) {
        Some(PairVersion::V2) => {
            timed("request", pair_step, frame::read(&mut recv, FRAME_CAP)).await?
        }
        Some(PairVersion::V1) => {
            let v1: JoinRequestV1 =
                timed("request", pair_step, frame::read(&mut recv, FRAME_CAP)).await?;
            v1.into()
        }
        None => return Err(PairNetError::Pair(PairError::Malformed)),
    };
    // The invitations live in a store: off the runtime, lookup, check and claim together.
    let checked = off_runtime(move || -> Result<_, Refusal> {
        let inv = invitations.lookup(&req.invite)?;
        let peer = pairing::check_join(&inv, &req, remote)?;
        let reach = req.reach().map_err(PairError::from)?;
        invitations.claim(&req.invite)?;
        Ok((inv, peer, reach))
    })
    .await?;
    let (inv, peer, peer_reach) = match checked {
        Ok(found) => found,
        Err(why) => {
            // The message alone: the causes (a store error, say) are this side's business.
            let _ = frame::write(&mut send, &JoinResponse::Refused(why.to_string())).await;
            let _ = send.finish();
            let _ = tokio::time::timeout(timeouts.pair_refused, conn.closed()).await;
            return Err(why.into());
        }
    };
    let resp = pairing::welcome(&inv, my_cert, remote);
    timed(
        "sending the welcome",
        pair_step,
        frame::write(&mut send, &resp),
    )
    .await?;
    let code = pairing::safety_code(&inv.secret, my_cert, &peer.cert);
    Ok(PendingPairing {
        conn,
        send,
        recv,
        role: Role::Inviter,
        timeouts: *timeouts,
        peer,
        peer_reach,
        code,
        invite: inv.id(),
    })
}
