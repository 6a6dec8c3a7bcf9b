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
    /// This person did not confirm the safety code.
    #[error("you did not confirm the safety code; nothing was paired")]
    Declined,
    /// The friend's side ended the pairing before it was made, and said how.
    #[error(transparent)]
    Ended(#[from] FriendEnded),
}

/// QUIC application close code of a pairing both people confirmed (the joiner closes with it).
pub const PAIRED: u32 = 0;
/// Close code: the joiner read a refusal from the inviter.
pub const REFUSED: u32 = 1;
/// Close code: this person declined the safety code (the codes did not match for them, or they
/// did not answer in time).
pub const DECLINED: u32 = 2;
/// Close code: this person cancelled the pairing (Ctrl-C), or their command stopped.
pub const CANCELLED: u32 = 3;
/// Close code: this side cannot store the pairing (the name is taken by another person); the
/// reason says why, in words.
pub const CANNOT_STORE: u32 = 4;

/// How the friend's side ended a pairing before it was made, in words.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FriendEnded {
    /// They declined the safety code.
    #[error(
        "{0} did not confirm the safety code (for them the codes did not match, or they did not answer); nothing was paired"
    )]
    Declined(String),
    /// They cancelled.
    #[error("{0} cancelled the pairing; nothing was paired")]
    Cancelled(String),
    /// Their side could not store the pairing.
    #[error("{name}'s tapin could not take the pairing: {why}; nothing was paired")]
    CannotStore {
        /// The friend.
        name: String,
        /// Why, as they said it.
        why: String,
    },
    /// Their device refused the pairing connection: no invitation is open there.
    #[error("{0}'s device has no invitation open (is `tapin invite` still running there?)")]
    NotInviting(String),
    /// The connection ended without a word from them.
    #[error("the connection to {0}'s device was lost ({1}); nothing was paired")]
    Lost(String, String),
}

impl FriendEnded {
    /// How the friend `name` ended the pairing connection, from the way it closed.
    pub fn of(err: &iroh::endpoint::ConnectionError, name: &str) -> FriendEnded {
        use iroh::endpoint::ConnectionError as E;
        let name = name.to_owned();
        match err {
            E::ApplicationClosed(close) => match close.error_code.into_inner() {
                c if c == u64::from(DECLINED) => FriendEnded::Declined(name),
                c if c == u64::from(CANCELLED) => FriendEnded::Cancelled(name),
                c if c == u64::from(crate::endpoint::REFUSED) => FriendEnded::NotInviting(name),
                c if c == u64::from(CANNOT_STORE) => FriendEnded::CannotStore {
                    name,
                    why: String::from_utf8_lossy(&close.reason)
                        .chars()
                        .take(300)
                        .collect(),
                },
                _ => FriendEnded::Lost(name, "their device closed it".to_owned()),
            },
            E::TimedOut => FriendEnded::Lost(name, "no answer in time".to_owned()),
            E::LocallyClosed => FriendEnded::Lost(name, "closed on this device".to_owned()),
            _ => FriendEnded::Lost(name, "the network failed".to_owned()),
        }
    }
}

/// How this side ends a pairing it will not finish.
#[derive(Debug, Clone)]
pub enum Ending {
    /// This person declined the safety code.
    Declined,
    /// This person cancelled.
    Cancelled,
    /// This side cannot store it, and why (sent to the friend).
    CannotStore(String),
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
    /// Whether it was finished or ended: one dropped before that tells the friend it was
    /// cancelled (the command stopped, Ctrl-C), so they are not left waiting.
    answered: bool,
}

impl Drop for PendingPairing {
    fn drop(&mut self) {
        if !self.answered {
            self.conn.close(CANCELLED.into(), b"cancelled");
        }
    }
}

impl PendingPairing {
    /// Resolves when the friend's side ends the connection before the pairing is made, with how
    /// it ended: a front-end waits on it beside its question, so the person is told at once.
    pub fn friend_ended(&self) -> impl Future<Output = FriendEnded> + Send + 'static {
        let (conn, name) = (self.conn.clone(), self.peer.name.clone());
        async move { FriendEnded::of(&conn.closed().await, &name) }
    }

    /// Ends the pairing unmade, and tells the friend's side how at once: a "no" on the stream
    /// for a tapin that only reads that, then the close whose code says why.
    pub async fn end(mut self, how: Ending) {
        self.answered = true;
        let (code, reason): (u32, Vec<u8>) = match &how {
            Ending::Declined => (DECLINED, b"declined".to_vec()),
            Ending::Cancelled => (CANCELLED, b"cancelled".to_vec()),
            Ending::CannotStore(why) => (
                CANNOT_STORE,
                why.chars().take(300).collect::<String>().into_bytes(),
            ),
        };
        let no = Confirm { accepted: false };
        let _ = tokio::time::timeout(
            self.timeouts.pair_refused,
            frame::write(&mut self.send, &no),
        )
        .await;
        let _ = self.send.finish();
        if !matches!(how, Ending::Cancelled) {
            // A moment for the friend's side to read the welcome and the "no" before the close
            // (which discards what it has not read), so it shows the code it was asked about.
            let _ = tokio::time::timeout(self.timeouts.pair_refused, self.conn.closed()).await;
        }
        self.conn.close(code.into(), &reason);
    }

    /// What a failed step means: the friend's side closed the connection (and how), or the
    /// step's own error.
    fn failed(&self, err: PairNetError) -> PairNetError {
        match self.conn.close_reason() {
            Some(closed) => FriendEnded::of(&closed, &self.peer.name).into(),
            None => err,
        }
    }

    /// Sends this person's answer and learns the other's. `Ok` only if both confirmed. Waits
    /// for the other person as long as the timeouts it was made with allow (`pair_confirm`);
    /// a "no" is sent at once, without waiting ([`PendingPairing::end`]).
    pub async fn finish(mut self, accepted: bool) -> Result<PairedDevice, PairNetError> {
        self.answered = true;
        if !accepted {
            self.end(Ending::Declined).await;
            return Err(PairNetError::Declined);
        }
        match self.exchange_confirms().await {
            Ok(theirs) if theirs.accepted => Ok(self.peer.clone()),
            Ok(_) => {
                // Their "no"; a tapin that says why closes with it right after: within its
                // `pair_refused` of writing it, so wait a whole step for that close, not the same
                // `pair_refused` (a loaded machine delays the close past it, and the reason
                // would be lost to "did not confirm").
                let closed =
                    tokio::time::timeout(self.timeouts.pair_step, self.conn.closed()).await;
                let name = self.peer.name.clone();
                Err(match closed.map(|c| FriendEnded::of(&c, &name)) {
                    Ok(said @ (FriendEnded::Cancelled(_) | FriendEnded::CannotStore { .. })) => {
                        said.into()
                    }
                    _ => FriendEnded::Declined(name).into(),
                })
            }
            Err(err) => Err(self.failed(err)),
        }
    }

    async fn exchange_confirms(&mut self) -> Result<Confirm, PairNetError> {
        let mine = Confirm { accepted: true };
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
                let theirs: Confirm = timed(
                    "confirmation",
                    pair_confirm,
                    frame::read(&mut self.recv, FRAME_CAP),
                )
                .await?;
                if theirs.accepted {
                    self.conn.close(PAIRED.into(), b"paired");
                }
                theirs
            }
            Role::Inviter => {
                // Read theirs before writing ours; the joiner closes only after reading ours, so
                // waiting for that close means both confirmations arrived.
                let theirs: Confirm = timed(
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
                if theirs.accepted {
                    let _ = tokio::time::timeout(pair_step, self.conn.closed()).await;
                }
                theirs
            }
        };
        Ok(theirs)
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
    let asked = async {
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
        let resp: JoinResponse =
            timed("answer", pair_step, frame::read(&mut recv, FRAME_CAP)).await?;
        Ok((remote, send, recv, resp))
    }
    .await;
    // The inviter's side may end it before it answers (its person declined, or cancelled): say so.
    let (remote, send, recv, resp) = match asked {
        Ok(asked) => asked,
        Err(err) => {
            return Err(match conn.close_reason() {
                Some(closed) => FriendEnded::of(&closed, &inv.name).into(),
                None => err,
            });
        }
    };
    let peer = match pairing::check_welcome(inv, &resp, remote, my_cert.device) {
        Ok(peer) => peer,
        Err(e) => {
            conn.close(REFUSED.into(), b"refused");
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
        answered: false,
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
        answered: false,
    })
}
