//! The pairing protocol over QUIC (ALPN `tapin/pair/1`): one bidirectional stream, four
//! messages. The message contents and their checks are in `tapin_core::pairing`; this module
//! moves them and bounds every wait. See docs/PROTOCOL.md.
//!
//! ```text
//! joiner                                   inviter
//!   ── JoinRequest {invite, name, cert, proof, addrs} ──►
//!   ◄── JoinResponse::Welcome {cert, proof} | Refused ──
//!        (both show the safety code; each person confirms)
//!   ── Confirm {accepted} ──►
//!   ◄── Confirm {accepted} ──
//!   (joiner closes)
//! ```

use std::net::SocketAddr;
use std::time::Duration;

use iroh::endpoint::{Connection, RecvStream, SendStream};
use iroh::{Endpoint, EndpointAddr, PublicKey, RelayUrl, TransportAddr};
use tapin_core::identity::{DeviceCertificate, DeviceId};
use tapin_core::pairing::{
    self, Confirm, Invitation, InviteId, JoinRequest, JoinResponse, PairError, PairedDevice,
};
use tapin_core::time::Timestamp;

use crate::PAIR_ALPN;
use crate::frame::{self, FrameError};

/// Pairing messages are small; anything larger is hostile.
pub const FRAME_CAP: u32 = 16 * 1024;
/// How long to wait for the other device to connect and answer.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(20);
/// How long to wait for the other person to compare the codes.
pub const CONFIRM_TIMEOUT: Duration = Duration::from_secs(600);

/// Pairing over the network failed.
#[derive(Debug, thiserror::Error)]
pub enum PairNetError {
    /// The invitation or a message was refused.
    #[error(transparent)]
    Pair(#[from] PairError),
    /// The inviter's device could not be reached.
    #[error("could not reach {name}'s device (is `tapin invite` still running there?): {why}")]
    Unreachable {
        /// The inviter's name.
        name: String,
        /// Why.
        why: String,
    },
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
    /// The friend's device, verified.
    pub peer: PairedDevice,
    /// Where the friend's device listens.
    pub peer_addrs: Vec<SocketAddr>,
    /// The code both people compare.
    pub code: String,
    /// The invitation this pairing used.
    pub invite: InviteId,
}

impl PendingPairing {
    /// Sends this person's answer and learns the other's. `Ok` only if both confirmed.
    pub async fn finish(mut self, accepted: bool) -> Result<PairedDevice, PairNetError> {
        let mine = Confirm { accepted };
        let theirs: Confirm = match self.role {
            Role::Joiner => {
                timed(
                    "sending confirmation",
                    STEP_TIMEOUT,
                    frame::write(&mut self.send, &mine),
                )
                .await?;
                let theirs = timed(
                    "confirmation",
                    CONFIRM_TIMEOUT,
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
                    CONFIRM_TIMEOUT,
                    frame::read(&mut self.recv, FRAME_CAP),
                )
                .await?;
                timed(
                    "sending confirmation",
                    STEP_TIMEOUT,
                    frame::write(&mut self.send, &mine),
                )
                .await?;
                let _ = self.send.finish();
                let _ = tokio::time::timeout(STEP_TIMEOUT, self.conn.closed()).await;
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

/// Where to dial the inviter.
fn inviter_addr(inv: &Invitation) -> Result<EndpointAddr, PairNetError> {
    let id = PublicKey::from_bytes(&inv.endpoint.to_bytes()).map_err(|_| PairError::Malformed)?;
    let mut addrs: Vec<TransportAddr> = inv.addrs.iter().copied().map(TransportAddr::Ip).collect();
    if let Some(relay) = inv
        .relay
        .as_deref()
        .and_then(|r| r.parse::<RelayUrl>().ok())
    {
        addrs.push(TransportAddr::Relay(relay));
    }
    Ok(EndpointAddr::from_parts(id, addrs))
}

fn device_of(conn: &Connection) -> Result<DeviceId, PairNetError> {
    DeviceId::from_bytes(conn.remote_id().as_bytes())
        .map_err(|_| PairNetError::Pair(PairError::Malformed))
}

/// The joiner's half: connects to the inviter, proves the invitation, verifies the inviter.
pub async fn join(
    ep: &Endpoint,
    inv: &Invitation,
    my_name: &str,
    my_cert: &DeviceCertificate,
    my_addrs: Vec<SocketAddr>,
    now: Timestamp,
) -> Result<PendingPairing, PairNetError> {
    inv.check_fresh(now)?;
    let addr = inviter_addr(inv)?;
    let conn = match tokio::time::timeout(STEP_TIMEOUT, ep.connect(addr, PAIR_ALPN)).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => {
            return Err(PairNetError::Unreachable {
                name: inv.name.clone(),
                why: e.to_string(),
            });
        }
        Err(_) => {
            return Err(PairNetError::Unreachable {
                name: inv.name.clone(),
                why: "timed out".to_owned(),
            });
        }
    };
    let remote = device_of(&conn)?;
    let (mut send, mut recv) = timed("opening a stream", STEP_TIMEOUT, async {
        conn.open_bi()
            .await
            .map_err(|e| FrameError::Io(e.to_string()))
    })
    .await?;
    let req = pairing::join_request(inv, my_name, my_cert, my_addrs);
    timed(
        "sending the request",
        STEP_TIMEOUT,
        frame::write(&mut send, &req),
    )
    .await?;
    let resp: JoinResponse =
        timed("answer", STEP_TIMEOUT, frame::read(&mut recv, FRAME_CAP)).await?;
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
        peer,
        peer_addrs: inv.addrs.clone(),
        code,
        invite: inv.id(),
    })
}

/// The inviter's view of its invitations.
pub trait Invitations {
    /// The open invitation with this id, or why it cannot be used (unknown, used, expired).
    fn lookup(&self, id: &InviteId) -> Result<Invitation, String>;
    /// Marks the invitation used, atomically; fails if it already was.
    fn claim(&self, id: &InviteId) -> Result<(), String>;
}

/// The inviter's half for one incoming connection on the pairing ALPN.
///
/// The invitation is claimed (used up) only once the joiner has proved the secret, so a device
/// that does not know it cannot burn an invitation.
pub async fn accept(
    conn: Connection,
    invitations: &dyn Invitations,
    my_cert: &DeviceCertificate,
) -> Result<PendingPairing, PairNetError> {
    let remote = device_of(&conn)?;
    let (mut send, mut recv) = timed("opening a stream", STEP_TIMEOUT, async {
        conn.accept_bi()
            .await
            .map_err(|e| FrameError::Io(e.to_string()))
    })
    .await?;
    let req: JoinRequest =
        timed("request", STEP_TIMEOUT, frame::read(&mut recv, FRAME_CAP)).await?;
    let checked = invitations
        .lookup(&req.invite)
        .and_then(|inv| {
            pairing::check_join(&inv, &req, remote)
                .map(|peer| (inv, peer))
                .map_err(|e| e.to_string())
        })
        .and_then(|found| invitations.claim(&req.invite).map(|()| found));
    let (inv, peer) = match checked {
        Ok(found) => found,
        Err(why) => {
            let _ = frame::write(&mut send, &JoinResponse::Refused(why.clone())).await;
            let _ = send.finish();
            let _ = tokio::time::timeout(Duration::from_secs(2), conn.closed()).await;
            return Err(PairNetError::Pair(PairError::Refused(why)));
        }
    };
    let resp = pairing::welcome(&inv, my_cert, remote);
    timed(
        "sending the welcome",
        STEP_TIMEOUT,
        frame::write(&mut send, &resp),
    )
    .await?;
    let code = pairing::safety_code(&inv.secret, my_cert, &peer.cert);
    Ok(PendingPairing {
        conn,
        send,
        recv,
        role: Role::Inviter,
        peer,
        peer_addrs: req.addrs,
        code,
        invite: inv.id(),
    })
}
