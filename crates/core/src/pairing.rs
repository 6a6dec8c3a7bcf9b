//! Pairing two people's devices: invitations, proofs of the invitation secret, safety codes, and
//! the messages of the pairing protocol. Sans-IO: the network half lives in `tapin-net`.
//!
//! 1. The inviter makes an [`Invitation`]: its person key, display name, endpoint (device) id and
//!    direct addresses, a one-time random secret and an expiry, all signed by the person key. It
//!    travels out of band as a [`Ticket`] string (and QR code).
//! 2. The joiner checks the ticket (signature, expiry), connects to the inviter's endpoint (the
//!    QUIC handshake proves both endpoint ids), and sends a [`JoinRequest`]: its name, its device
//!    certificate and a MAC keyed by the secret over both endpoint ids and the certificate. The
//!    secret itself never crosses the wire, so someone who saw the QR code after the fact cannot
//!    pair in the friend's place once the invitation is used, and a recorded request is useless
//!    from any other endpoint.
//! 3. The inviter answers with a [`JoinResponse`] carrying its own certificate and MAC. Both
//!    sides show the same [`safety_code`], derived from the secret and both identities, and each
//!    person confirms it ([`Confirm`]) before anything is stored.

mod ended;

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use ed25519_dalek::{Signature, Verifier};
use serde::{Deserialize, Serialize};

use crate::identity::{DeviceCertificate, DeviceId, IdentityError, PersonId, PersonKey};
use crate::time::Timestamp;

pub use ended::{EndNotice, MAX_CLOSE_REASON, NOTICE_MARK};

/// Every ticket string starts with this, so a ticket is recognisable at a glance.
pub const TICKET_PREFIX: &str = "TAPIN";
/// The ticket format version this build writes and reads.
pub const TICKET_VERSION: u8 = 1;
/// The compact ticket's version ([`Invitation::compact_ticket`]), which this build also reads.
pub const COMPACT_VERSION: u8 = 2;
/// How many bytes of the secret a compact ticket carries; an invitation meant to have one has
/// zeros in the rest (128 random bits are plenty for a secret that lives minutes and is used once).
pub const COMPACT_SECRET: usize = 16;
/// The most addresses a compact ticket carries.
const COMPACT_ADDRS: usize = 2;
/// The longest relay URL a compact ticket carries, in bytes; a longer one is left out.
const COMPACT_RELAY: usize = 64;
/// The most characters a compact ticket takes with its relay: a version 6 QR code at level L
/// (41 modules, 23 terminal rows with a quiet zone of two), which leaves a line of an 80×24
/// terminal for what is said under it. Without the relay it is smaller still.
const COMPACT_MAX_CHARS: usize = 202;
const SIGN_CONTEXT: &[u8] = b"tapin invitation v1\0";
const JOIN_CONTEXT: &str = "tapin pairing 2026-11 join proof v1";
const WELCOME_CONTEXT: &str = "tapin pairing 2026-11 welcome proof v1";
const SAFETY_CONTEXT: &str = "tapin pairing 2026-11 safety code v1";
const INVITE_ID_CONTEXT: &str = "tapin pairing 2026-11 invitation id v1";
/// Bounds that keep a ticket small enough for a QR code and parsing cheap.
const MAX_NAME: usize = 64;
/// The most direct addresses a ticket, a join request or a reach frame carries.
pub const MAX_ADDRS: usize = 16;
/// The longest relay URL, in bytes, a ticket, a join request or a reach frame carries.
pub const MAX_RELAY: usize = 256;

/// Why a ticket or a pairing message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PairError {
    /// Not a tapin ticket at all.
    #[error("this is not a tapin invitation (it should start with {TICKET_PREFIX})")]
    NotATicket,
    /// A tapin ticket of a version this build does not know. Ticket versions only grow, and a
    /// build reads every version it ever wrote, so this is an invitation from a newer tapin.
    #[error("this invitation was made by a newer tapin (ticket version {0}); update tapin to join")]
    UnknownVersion(u8),
    /// A tapin ticket that was cut short, padded or garbled.
    #[error("this invitation is incomplete or garbled; copy the whole line again")]
    Malformed,
    /// The signature does not match the contents.
    #[error("this invitation was altered or damaged (its signature does not match)")]
    BadSignature,
    /// Past its expiry.
    #[error("this invitation expired at {0}; ask for a new one")]
    Expired(String),
    /// The proof of the secret does not verify.
    #[error("the other device could not prove it holds this invitation")]
    BadProof,
    /// A device certificate failed to verify or does not match the connection.
    #[error("the other device's certificate is invalid: {0}")]
    BadCertificate(String),
    /// The inviter refused the join.
    #[error("the inviter refused: {0}")]
    Refused(String),
    /// The other device's addresses or relay are not usable.
    #[error("the other device sent unusable addresses: {0}")]
    BadReach(#[from] ReachError),
}

/// An invitation to pair: who is inviting, where to reach them, and the one-time secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Invitation {
    /// The inviter's person key; `None` from a compact ticket ([`Invitation::compact_ticket`]),
    /// which leaves it to the inviter's certificate, proved by the welcome.
    pub person: Option<PersonId>,
    /// The inviter's display name.
    pub name: String,
    /// The inviter's device: its iroh endpoint id.
    pub endpoint: DeviceId,
    /// Direct addresses the inviter listens on.
    pub addrs: Vec<SocketAddr>,
    /// A relay URL, if the inviter uses one.
    pub relay: Option<String>,
    /// The one-time secret.
    pub secret: [u8; 32],
    /// When it stops being valid.
    pub expires: Timestamp,
    signature: Signature,
}

impl fmt::Debug for Invitation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secret.
        f.debug_struct("Invitation")
            .field("person", &self.person)
            .field("name", &self.name)
            .field("endpoint", &self.endpoint)
            .field("addrs", &self.addrs)
            .field("relay", &self.relay)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

/// The id of an invitation: a hash of its secret, so it can be named without revealing it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InviteId(pub [u8; 16]);

impl fmt::Debug for InviteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InviteId({self})")
    }
}

impl fmt::Display for InviteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&data_encoding::HEXLOWER.encode(&self.0))
    }
}

/// The id of the invitation with this secret.
pub fn invite_id(secret: &[u8; 32]) -> InviteId {
    let hash = blake3::derive_key(INVITE_ID_CONTEXT, secret);
    let mut id = [0u8; 16];
    id.copy_from_slice(&hash[..16]);
    InviteId(id)
}

/// `s` cut to at most `max` bytes, at a character boundary.
fn truncate(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

struct Reader<'a>(&'a [u8]);

/// Writes a list of at most 255 addresses as a ticket holds them: a count, then each as its IP
/// version (4 or 6), its octets and its port, big-endian. [`Reader::addrs`] reads it back.
fn put_addrs(out: &mut Vec<u8>, addrs: &[SocketAddr]) {
    out.push(addrs.len().min(usize::from(u8::MAX)) as u8);
    for addr in addrs.iter().take(usize::from(u8::MAX)) {
        match addr.ip() {
            IpAddr::V4(ip) => {
                out.push(4);
                out.extend_from_slice(&ip.octets());
            }
            IpAddr::V6(ip) => {
                out.push(6);
                out.extend_from_slice(&ip.octets());
            }
        }
        out.extend_from_slice(&addr.port().to_be_bytes());
    }
}

impl Reader<'_> {
    /// A list of addresses as [`put_addrs`] writes it, of at most `max`.
    fn addrs(&mut self, max: usize) -> Result<Vec<SocketAddr>, PairError> {
        let n = self.u8()? as usize;
        if n > max {
            return Err(PairError::Malformed);
        }
        let mut addrs = Vec::with_capacity(n);
        for _ in 0..n {
            let ip = match self.u8()? {
                4 => IpAddr::from(self.array::<4>()?),
                6 => IpAddr::from(self.array::<16>()?),
                _ => return Err(PairError::Malformed),
            };
            addrs.push(SocketAddr::new(ip, u16::from_be_bytes(self.array()?)));
        }
        Ok(addrs)
    }

    fn take(&mut self, n: usize) -> Result<&[u8], PairError> {
        if self.0.len() < n {
            return Err(PairError::Malformed);
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], PairError> {
        self.take(N)?.try_into().map_err(|_| PairError::Malformed)
    }

    fn u8(&mut self) -> Result<u8, PairError> {
        Ok(self.array::<1>()?[0])
    }

    fn string(&mut self, len: usize, max: usize) -> Result<String, PairError> {
        if len > max {
            return Err(PairError::Malformed);
        }
        String::from_utf8(self.take(len)?.to_vec()).map_err(|_| PairError::Malformed)
    }
}

impl Invitation {
    /// Makes and signs an invitation.
    pub fn new(
        key: &PersonKey,
        name: &str,
        endpoint: DeviceId,
        addrs: Vec<SocketAddr>,
        relay: Option<String>,
        secret: [u8; 32],
        expires: Timestamp,
    ) -> Self {
        let mut inv = Invitation {
            person: Some(key.id()),
            name: truncate(name, MAX_NAME),
            endpoint,
            addrs: addrs.into_iter().take(MAX_ADDRS).collect(),
            relay: relay.filter(|r| r.len() <= MAX_RELAY),
            secret,
            expires,
            signature: Signature::from_bytes(&[0; 64]),
        };
        let mut signed = SIGN_CONTEXT.to_vec();
        signed.extend_from_slice(&inv.body());
        inv.signature = key.sign_raw(&signed);
        inv
    }

    /// The id of this invitation.
    pub fn id(&self) -> InviteId {
        invite_id(&self.secret)
    }

    /// The signed contents: everything but the signature.
    fn body(&self) -> Vec<u8> {
        let mut out = vec![TICKET_VERSION];
        out.extend_from_slice(&self.person.map(|p| p.to_bytes()).unwrap_or([0; 32]));
        out.extend_from_slice(&self.endpoint.to_bytes());
        out.extend_from_slice(&self.secret);
        out.extend_from_slice(&self.expires.0.to_be_bytes());
        out.push(self.name.len() as u8);
        out.extend_from_slice(self.name.as_bytes());
        put_addrs(&mut out, &self.addrs);
        let relay = self.relay.as_deref().unwrap_or("");
        out.extend_from_slice(&(relay.len() as u16).to_be_bytes());
        out.extend_from_slice(relay.as_bytes());
        out
    }

    /// The ticket: the whole invitation as one copy-pasteable string.
    pub fn ticket(&self) -> Ticket {
        let mut bytes = self.body();
        bytes.extend_from_slice(&self.signature.to_bytes());
        Ticket(format!(
            "{TICKET_PREFIX}{}",
            data_encoding::BASE32_NOPAD.encode(&bytes)
        ))
    }

    /// Decodes a ticket and checks its signature (not its expiry: see [`Invitation::check_fresh`]).
    pub fn from_ticket(ticket: &str) -> Result<Self, PairError> {
        // A long ticket wraps in a terminal, a chat or an email: whitespace anywhere in it (line
        // breaks, the indent a mail client adds) is not part of it.
        let t: String = ticket
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        let body = t.strip_prefix(TICKET_PREFIX).ok_or(PairError::NotATicket)?;
        let bytes = data_encoding::BASE32_NOPAD
            .decode(body.as_bytes())
            .map_err(|_| PairError::Malformed)?;
        let mut r = Reader(&bytes);
        let version = r.u8()?;
        if version == COMPACT_VERSION {
            return Invitation::from_compact(&bytes);
        }
        if version > COMPACT_VERSION {
            return Err(PairError::UnknownVersion(version));
        }
        if version != TICKET_VERSION {
            // No build ever wrote version 0.
            return Err(PairError::Malformed);
        }
        let person = PersonId::from_bytes(&r.array()?).map_err(|_| PairError::Malformed)?;
        let endpoint = DeviceId::from_bytes(&r.array()?).map_err(|_| PairError::Malformed)?;
        let secret = r.array()?;
        let expires = Timestamp(i64::from_be_bytes(r.array()?));
        let name_len = r.u8()? as usize;
        let name = r.string(name_len, MAX_NAME)?;
        let addrs = r.addrs(MAX_ADDRS)?;
        let relay_len = u16::from_be_bytes(r.array()?) as usize;
        let relay = r.string(relay_len, MAX_RELAY)?;
        let signature = Signature::from_bytes(&r.array()?);
        if !r.0.is_empty() {
            return Err(PairError::Malformed);
        }
        let inv = Invitation {
            person: Some(person),
            name,
            endpoint,
            addrs,
            relay: (!relay.is_empty()).then_some(relay),
            secret,
            expires,
            signature,
        };
        let mut signed = SIGN_CONTEXT.to_vec();
        signed.extend_from_slice(&inv.body());
        if inv.body() != bytes[..bytes.len() - 64] {
            // Re-encoding must give the same bytes: no two tickets mean the same invitation.
            return Err(PairError::Malformed);
        }
        person
            .0
            .verify(&signed, &inv.signature)
            .map_err(|_| PairError::BadSignature)?;
        Ok(inv)
    }

    /// The invitation as a compact ticket (version 2), for a QR code small enough for a
    /// terminal: the inviter's device, the first [`COMPACT_SECRET`] bytes of the secret, the
    /// expiry to the second, the name, at most two addresses and a relay of at most
    /// [`COMPACT_RELAY`] bytes; no person key and no signature. `None` unless the secret's other
    /// bytes are zero (an invitation made for one: `tapin invite` makes them so).
    ///
    /// What it leaves out costs nothing: the joiner dials exactly the device it names (the QUIC
    /// handshake proves it), and the welcome, keyed by the secret, proves that device holds the
    /// invitation; the person key then comes from that device's certificate. A signature over a
    /// ticket only ever showed the ticket was whole, which the QR code's own checks do.
    pub fn compact_ticket(&self) -> Option<Ticket> {
        if self.secret[COMPACT_SECRET..].iter().any(|b| *b != 0) {
            return None;
        }
        Some(Ticket(format!(
            "{TICKET_PREFIX}{}",
            data_encoding::BASE32_NOPAD.encode(&self.compact_body())
        )))
    }

    fn compact_body(&self) -> Vec<u8> {
        let mut out = vec![COMPACT_VERSION];
        out.extend_from_slice(&self.endpoint.to_bytes());
        out.extend_from_slice(&self.secret[..COMPACT_SECRET]);
        let secs = u32::try_from(self.expires.0.div_euclid(1000)).unwrap_or(u32::MAX);
        out.extend_from_slice(&secs.to_be_bytes());
        out.push(self.name.len() as u8);
        out.extend_from_slice(self.name.as_bytes());
        put_addrs(&mut out, &self.addrs[..self.addrs.len().min(COMPACT_ADDRS)]);
        // The relay only while the code stays small enough for a terminal: a joiner on the
        // inviter's network needs none, and one elsewhere can use the long ticket.
        let relay = self
            .relay
            .as_deref()
            .filter(|r| r.len() <= COMPACT_RELAY)
            .filter(|r| {
                let bytes = out.len() + 1 + r.len();
                TICKET_PREFIX.len() + (bytes * 8).div_ceil(5) <= COMPACT_MAX_CHARS
            })
            .unwrap_or("");
        out.push(relay.len() as u8);
        out.extend_from_slice(relay.as_bytes());
        out
    }

    fn from_compact(bytes: &[u8]) -> Result<Self, PairError> {
        let mut r = Reader(bytes);
        if r.u8()? != COMPACT_VERSION {
            return Err(PairError::Malformed);
        }
        let endpoint = DeviceId::from_bytes(&r.array()?).map_err(|_| PairError::Malformed)?;
        let mut secret = [0u8; 32];
        secret[..COMPACT_SECRET].copy_from_slice(r.take(COMPACT_SECRET)?);
        let secs = u32::from_be_bytes(r.array()?);
        let name_len = r.u8()? as usize;
        let name = r.string(name_len, MAX_NAME)?;
        let addrs = r.addrs(COMPACT_ADDRS)?;
        let relay_len = r.u8()? as usize;
        let relay = r.string(relay_len, COMPACT_RELAY)?;
        if !r.0.is_empty() {
            return Err(PairError::Malformed);
        }
        let inv = Invitation {
            person: None,
            name,
            endpoint,
            addrs,
            relay: (!relay.is_empty()).then_some(relay),
            secret,
            expires: Timestamp(i64::from(secs) * 1000),
            signature: Signature::from_bytes(&[0; 64]),
        };
        // Re-encoding must give the same bytes: no two tickets mean the same invitation.
        if inv.compact_body() != bytes {
            return Err(PairError::Malformed);
        }
        Ok(inv)
    }

    /// Where to dial the inviter: the ticket's addresses, and its relay if that is a usable relay
    /// URL. A ticket is signed by the inviter, so its contents are theirs; a relay this build
    /// cannot use is left out rather than refusing the ticket, and the addresses may still work.
    pub fn reach(&self) -> Reach {
        Reach {
            addrs: self.addrs.iter().copied().filter(usable).collect(),
            relay: self.relay.as_deref().and_then(|r| relay_url(r).ok()),
        }
    }

    /// Refuses an invitation past its expiry.
    pub fn check_fresh(&self, now: Timestamp) -> Result<(), PairError> {
        if now >= self.expires {
            return Err(PairError::Expired(
                self.expires
                    .to_datetime()
                    .format("%Y-%m-%d %H:%M UTC")
                    .to_string(),
            ));
        }
        Ok(())
    }
}

/// An invitation as text: `TAPIN` followed by base32 (upper case, so QR codes can use their
/// compact alphanumeric mode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket(pub String);

impl fmt::Display for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Invitation {
    type Err = PairError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Invitation::from_ticket(s)
    }
}

fn proof(
    context: &str,
    secret: &[u8; 32],
    inviter: DeviceId,
    joiner: DeviceId,
    cert: &[u8],
) -> [u8; 32] {
    let key = blake3::derive_key(context, secret);
    let mut mac = blake3::Hasher::new_keyed(&key);
    mac.update(&inviter.to_bytes());
    mac.update(&joiner.to_bytes());
    mac.update(&(cert.len() as u64).to_be_bytes());
    mac.update(cert);
    *mac.finalize().as_bytes()
}

/// The joiner's first message (`tapin/pair/2`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinRequest {
    /// Which invitation.
    pub invite: InviteId,
    /// The joiner's display name.
    pub name: String,
    /// The joiner's device certificate (its bytes).
    pub cert: Vec<u8>,
    /// MAC keyed by the secret over both endpoint ids and the certificate.
    pub proof: [u8; 32],
    /// Where the joiner's device listens, so the inviter can reach it later.
    pub addrs: Vec<SocketAddr>,
    /// The joiner's home relay, so the inviter can reach it when its addresses cannot be.
    pub relay: Option<String>,
}

/// The joiner's first message as `tapin/pair/1` has it: [`JoinRequest`] without the relay.
/// postcard is positional, so the two shapes are told apart by the ALPN, never guessed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinRequestV1 {
    /// Which invitation.
    pub invite: InviteId,
    /// The joiner's display name.
    pub name: String,
    /// The joiner's device certificate (its bytes).
    pub cert: Vec<u8>,
    /// MAC keyed by the secret over both endpoint ids and the certificate.
    pub proof: [u8; 32],
    /// Where the joiner's device listens.
    pub addrs: Vec<SocketAddr>,
}

impl From<JoinRequestV1> for JoinRequest {
    fn from(v1: JoinRequestV1) -> Self {
        JoinRequest {
            invite: v1.invite,
            name: v1.name,
            cert: v1.cert,
            proof: v1.proof,
            addrs: v1.addrs,
            relay: None,
        }
    }
}

impl From<JoinRequest> for JoinRequestV1 {
    /// For an inviter that speaks only `tapin/pair/1`: the relay is left out.
    fn from(req: JoinRequest) -> Self {
        JoinRequestV1 {
            invite: req.invite,
            name: req.name,
            cert: req.cert,
            proof: req.proof,
            addrs: req.addrs,
        }
    }
}

impl JoinRequest {
    /// Where the joiner says it can be dialled, checked like a reach frame.
    pub fn reach(&self) -> Result<Reach, ReachError> {
        Reach {
            addrs: self.addrs.clone(),
            relay: self.relay.clone(),
        }
        .checked()
    }
}

/// The inviter's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum JoinResponse {
    /// Go ahead: here is who I am.
    Welcome {
        /// The inviter's device certificate.
        cert: Vec<u8>,
        /// MAC keyed by the secret (the inviter knows it too).
        proof: [u8; 32],
    },
    /// No, and why (shown to the joiner).
    Refused(String),
}

/// Each side's final word, after its person compared the safety codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirm {
    /// Whether the codes matched for this person.
    pub accepted: bool,
}

/// A verified friend device, learned through pairing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairedDevice {
    /// Their display name.
    pub name: String,
    /// Their certificate, verified, whose device is the connection's remote endpoint.
    pub cert: DeviceCertificate,
}

fn check_cert(bytes: &[u8], remote: DeviceId) -> Result<DeviceCertificate, PairError> {
    let cert = DeviceCertificate::from_bytes(bytes)
        .map_err(|e: IdentityError| PairError::BadCertificate(e.to_string()))?;
    if cert.device != remote {
        return Err(PairError::BadCertificate(
            "it certifies a different device than the one connected".to_owned(),
        ));
    }
    Ok(cert)
}

/// The joiner's request, given the invitation, this device's certificate and where it can be
/// dialled (cut to what a request may carry).
pub fn join_request(
    inv: &Invitation,
    my_name: &str,
    my_cert: &DeviceCertificate,
    my_reach: Reach,
) -> JoinRequest {
    let cert = my_cert.to_bytes();
    let my_reach = my_reach.capped();
    JoinRequest {
        addrs: my_reach.addrs,
        relay: my_reach.relay,
        invite: inv.id(),
        name: truncate(my_name, MAX_NAME),
        proof: proof(
            JOIN_CONTEXT,
            &inv.secret,
            inv.endpoint,
            my_cert.device,
            &cert,
        ),
        cert,
    }
}

/// The inviter's check of a join request arriving from endpoint `remote`. The caller has already
/// checked that the invitation is open (not used, not expired). Where the joiner can be dialled
/// ([`JoinRequest::reach`]) is checked too, so a request that would store unusable addresses
/// uses up no invitation.
pub fn check_join(
    inv: &Invitation,
    req: &JoinRequest,
    remote: DeviceId,
) -> Result<PairedDevice, PairError> {
    if req.invite != inv.id() {
        return Err(PairError::BadProof);
    }
    let expected = proof(JOIN_CONTEXT, &inv.secret, inv.endpoint, remote, &req.cert);
    // Constant-time comparison: blake3's Hash equality is constant time.
    if blake3::Hash::from(expected) != blake3::Hash::from(req.proof) {
        return Err(PairError::BadProof);
    }
    let cert = check_cert(&req.cert, remote)?;
    if Some(cert.person) == inv.person {
        return Err(PairError::BadCertificate(
            "you cannot pair with yourself".to_owned(),
        ));
    }
    req.reach()?;
    Ok(PairedDevice {
        name: truncate(&req.name, MAX_NAME),
        cert,
    })
}

/// The inviter's welcome for a verified joiner.
pub fn welcome(inv: &Invitation, my_cert: &DeviceCertificate, joiner: DeviceId) -> JoinResponse {
    let cert = my_cert.to_bytes();
    JoinResponse::Welcome {
        proof: proof(WELCOME_CONTEXT, &inv.secret, inv.endpoint, joiner, &cert),
        cert,
    }
}

/// The joiner's check of the inviter's welcome, arriving from endpoint `remote`.
pub fn check_welcome(
    inv: &Invitation,
    resp: &JoinResponse,
    remote: DeviceId,
    me: DeviceId,
) -> Result<PairedDevice, PairError> {
    let (cert, got) = match resp {
        JoinResponse::Welcome { cert, proof } => (cert, proof),
        JoinResponse::Refused(why) => {
            return Err(PairError::Refused(why.chars().take(200).collect()));
        }
    };
    if remote != inv.endpoint {
        return Err(PairError::BadCertificate(
            "the device that answered is not the one invited from".to_owned(),
        ));
    }
    let expected = proof(WELCOME_CONTEXT, &inv.secret, inv.endpoint, me, cert);
    if blake3::Hash::from(expected) != blake3::Hash::from(*got) {
        return Err(PairError::BadProof);
    }
    let cert = check_cert(cert, remote)?;
    if inv.person.is_some_and(|p| p != cert.person) {
        return Err(PairError::BadCertificate(
            "it belongs to someone other than the inviter".to_owned(),
        ));
    }
    Ok(PairedDevice {
        name: inv.name.clone(),
        cert,
    })
}

/// The short code both people compare: six digits derived from the invitation secret and both
/// identities, so a device in the middle (which could not know the secret anyway) would show a
/// different code.
pub fn safety_code(secret: &[u8; 32], a: &DeviceCertificate, b: &DeviceCertificate) -> String {
    let mut ids = [
        (a.person.to_bytes(), a.device.to_bytes()),
        (b.person.to_bytes(), b.device.to_bytes()),
    ];
    ids.sort();
    let mut h = blake3::Hasher::new_derive_key(SAFETY_CONTEXT);
    h.update(secret);
    for (person, device) in ids {
        h.update(&person);
        h.update(&device);
    }
    let hash = h.finalize();
    let n = u32::from_be_bytes([
        hash.as_bytes()[0],
        hash.as_bytes()[1],
        hash.as_bytes()[2],
        hash.as_bytes()[3],
    ]) % 1_000_000;
    format!("{:03} {:03}", n / 1000, n % 1000)
}

/// Where one device can be dialled: its direct addresses and its home relay. A pairing learns the
/// friend's (from the ticket, or from the join request), and every `tapin/sync/3` exchange opens
/// with each side sending its own, so both stay current.
///
/// What comes from the network is read only through [`Reach::checked`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reach {
    /// Direct addresses (IP and UDP port), at most [`MAX_ADDRS`]. Empty means "none to give":
    /// the receiver keeps the addresses it knows.
    pub addrs: Vec<SocketAddr>,
    /// The home relay's URL, at most [`MAX_RELAY`] bytes. `None` means "none to give": the
    /// receiver keeps the relay it knows.
    pub relay: Option<String>,
}

/// Why a reach (addresses and relay) from another device was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReachError {
    /// More addresses than any device gives.
    #[error("{0} addresses, more than the {MAX_ADDRS} allowed")]
    TooManyAddrs(usize),
    /// A relay URL longer than allowed.
    #[error("a relay URL of {0} bytes, more than the {MAX_RELAY} allowed")]
    RelayTooLong(usize),
    /// A relay that is not an `http://` or `https://` URL tapin can use.
    #[error("{0}")]
    BadRelay(String),
}

impl Reach {
    /// Checks a reach read from the network or a document: at most [`MAX_ADDRS`] addresses and a
    /// relay URL of at most [`MAX_RELAY`] bytes that parses ([`relay_url`]), or it is refused
    /// whole. What is kept: the addresses a device could be dialled at (no unspecified, multicast
    /// or broadcast IP, no port 0), each once, in the order given; the relay in canonical form.
    pub fn checked(self) -> Result<Reach, ReachError> {
        if self.addrs.len() > MAX_ADDRS {
            return Err(ReachError::TooManyAddrs(self.addrs.len()));
        }
        let relay = self.relay.as_deref().map(relay_url).transpose()?;
        let mut addrs: Vec<SocketAddr> = Vec::with_capacity(self.addrs.len());
        for addr in self.addrs.into_iter().filter(usable) {
            if !addrs.contains(&addr) {
                addrs.push(addr);
            }
        }
        Ok(Reach { addrs, relay })
    }

    /// This device's own reach cut to what a message may carry: the first [`MAX_ADDRS`] usable
    /// addresses, and the relay only if it passes [`relay_url`].
    pub fn capped(self) -> Reach {
        let mut addrs: Vec<SocketAddr> = Vec::new();
        for addr in self.addrs.into_iter().filter(usable) {
            if addrs.len() < MAX_ADDRS && !addrs.contains(&addr) {
                addrs.push(addr);
            }
        }
        Reach {
            addrs,
            relay: self.relay.as_deref().and_then(|r| relay_url(r).ok()),
        }
    }
}

/// Whether a device could be dialled at `addr`.
fn usable(addr: &SocketAddr) -> bool {
    let ip = addr.ip();
    let broadcast = matches!(ip, IpAddr::V4(v4) if v4.is_broadcast());
    addr.port() != 0 && !ip.is_unspecified() && !ip.is_multicast() && !broadcast
}

/// Checks a relay URL and returns it in canonical form, so two spellings of one relay compare
/// equal: `http://` or `https://` (any case), then a host (a DNS name, an IPv4 address, or an
/// IPv6 address in brackets), an optional port (1–65535), and an optional path; printable ASCII
/// only, no user name or password, no query or fragment, at most [`MAX_RELAY`] bytes. The
/// canonical form has the scheme and host in lower case and the path `/` when there is none.
pub fn relay_url(url: &str) -> Result<String, ReachError> {
    let bad = |why: &str| ReachError::BadRelay(format!("relay URL {url:?}: {why}"));
    if url.len() > MAX_RELAY {
        return Err(ReachError::RelayTooLong(url.len()));
    }
    if !url.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad("it must be printable ASCII without spaces"));
    }
    let lower = url.to_ascii_lowercase();
    let scheme = if lower.starts_with("https://") {
        "https"
    } else if lower.starts_with("http://") {
        "http"
    } else {
        return Err(bad("it must start with http:// or https://"));
    };
    // ASCII only, so byte offsets are the same in `url` and `lower`; the path keeps its case.
    let rest = &url[scheme.len() + "://".len()..];
    if rest.contains(['?', '#', '@', '\\']) {
        return Err(bad("it may not hold a user name, a query or a fragment"));
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (ip, after) = v6.split_once(']').ok_or_else(|| bad("unclosed ["))?;
        ip.parse::<std::net::Ipv6Addr>()
            .map_err(|_| bad("not an IPv6 address in brackets"))?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or_else(|| bad("junk after ]"))?),
        };
        (format!("[{}]", ip.to_ascii_lowercase()), port)
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        let host = host.to_ascii_lowercase();
        let labels_ok = !host.is_empty()
            && host.len() <= 253
            && host.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !labels_ok {
            return Err(bad("not a host name or an IP address"));
        }
        // As URLs are parsed (WHATWG), a host whose last label is a number is an IPv4 address
        // ("a.0" included), and must be one.
        let last = host.rsplit('.').next().unwrap_or_default();
        let numeric = last.bytes().all(|b| b.is_ascii_digit())
            || last
                .strip_prefix("0x")
                .is_some_and(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()));
        if numeric && host.parse::<std::net::Ipv4Addr>().is_err() {
            return Err(bad("not an IPv4 address"));
        }
        (host, port)
    };
    let port = match port {
        None => String::new(),
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 && !p.starts_with('0') => format!(":{n}"),
            _ => return Err(bad("the port must be a number from 1 to 65535")),
        },
    };
    let canonical = format!("{scheme}://{host}{port}{path}");
    if canonical.len() > MAX_RELAY {
        return Err(ReachError::RelayTooLong(canonical.len()));
    }
    Ok(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::DeviceKey;
    use proptest::prelude::*;

    struct Side {
        person: PersonKey,
        device: DeviceKey,
        cert: DeviceCertificate,
    }

    fn side(seed: u8) -> Side {
        let person = PersonKey::from_secret([seed; 32]);
        let device = DeviceKey::from_secret([seed + 1; 32]);
        let cert = person.certify(device.id(), "laptop", Timestamp(1));
        Side {
            person,
            device,
            cert,
        }
    }

    /// The compact ticket a QR code carries: only for a secret made for it, it reads back as the
    /// same invitation without a person key, the welcome still checks, and for a name and two
    /// addresses it fits a version 5 QR code (154 alphanumeric characters at level L: 21
    /// terminal rows with its quiet zone).
    #[test]
    fn a_compact_ticket_reads_back_joins_and_fits_a_small_qr_code() {
        let (maya, jordan) = (side(1), side(3));
        assert_eq!(invitation(&maya).compact_ticket(), None, "a full secret");
        let mut secret = [42u8; 32];
        secret[COMPACT_SECRET..].fill(0);
        let inv = Invitation::new(
            &maya.person,
            "Maya Rivera",
            maya.device.id(),
            vec![
                "192.168.1.20:4433".parse().unwrap(),
                "[fd00::20]:4433".parse().unwrap(),
                "10.0.0.20:4433".parse().unwrap(),
            ],
            None,
            secret,
            Timestamp(1_795_000_000_000),
        );
        let compact = inv.compact_ticket().expect("a compact ticket");
        assert!(compact.0.len() <= 154, "{} characters", compact.0.len());
        let read = Invitation::from_ticket(&compact.0).expect("reads");
        assert_eq!(read.person, None);
        assert_eq!(read.endpoint, inv.endpoint);
        assert_eq!(read.secret, inv.secret);
        assert_eq!(read.id(), inv.id());
        assert_eq!(read.name, "Maya Rivera");
        assert_eq!(read.addrs, inv.addrs[..2]);
        assert_eq!(read.expires, inv.expires);
        // The welcome of the real inviter checks against it, and names her person key.
        let hers = welcome(&inv, &maya.cert, jordan.device.id());
        let peer = check_welcome(&read, &hers, maya.device.id(), jordan.device.id())
            .expect("the welcome checks");
        assert_eq!(peer.cert.person, maya.person.id());
        // Another device answering does not.
        let impostor = side(5);
        let theirs = welcome(&inv, &impostor.cert, jordan.device.id());
        assert!(check_welcome(&read, &theirs, impostor.device.id(), jordan.device.id()).is_err());
        // A relay goes in only while the code stays that small.
        let with_relay = |relay: &str| {
            let mut inv = inv.clone();
            inv.relay = Some(relay.to_owned());
            Invitation::from_ticket(&inv.compact_ticket().expect("compact").0)
                .expect("reads")
                .relay
        };
        assert_eq!(
            with_relay("https://relay.example/"),
            Some("https://relay.example/".to_owned())
        );
        assert_eq!(
            with_relay("https://use1-1.relay.n0.iroh-canary.iroh.link.example/"),
            None
        );
        // Damaged: refused, never misread.
        let mut damaged = compact.0.clone();
        damaged.push('A');
        assert!(Invitation::from_ticket(&damaged).is_err());
    }

    fn invitation(maya: &Side) -> Invitation {
        Invitation::new(
            &maya.person,
            "Maya",
            maya.device.id(),
            vec![
                "127.0.0.1:4433".parse().unwrap(),
                "[::1]:4433".parse().unwrap(),
            ],
            None,
            [42; 32],
            Timestamp(10_000),
        )
    }

    #[test]
    fn a_ticket_round_trips() {
        let maya = side(1);
        let inv = invitation(&maya);
        let ticket = inv.ticket().to_string();
        assert!(ticket.starts_with("TAPIN"));
        let back = Invitation::from_ticket(&ticket).unwrap();
        assert_eq!(back, inv);
        // Case and surrounding whitespace do not matter (people retype and paste).
        assert_eq!(
            Invitation::from_ticket(&format!("  {}\n", ticket.to_lowercase())).unwrap(),
            inv
        );
        // Nor does whitespace inside it: a ticket wrapped at 80 columns by a terminal, and again
        // with the indent and CRLF line ends a mail client adds.
        let lines: Vec<&str> = ticket
            .as_bytes()
            .chunks(80)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        for wrapped in [lines.join("\n"), lines.join("\r\n    "), lines.join(" \t ")] {
            assert_eq!(
                Invitation::from_ticket(&wrapped).unwrap(),
                inv,
                "{wrapped:?}"
            );
        }
    }

    #[test]
    fn refusals_name_what_is_wrong() {
        let maya = side(1);
        let ticket = invitation(&maya).ticket().to_string();
        assert_eq!(Invitation::from_ticket("hello"), Err(PairError::NotATicket));
        assert_eq!(Invitation::from_ticket(""), Err(PairError::NotATicket));
        assert_eq!(
            Invitation::from_ticket(&ticket[..ticket.len() - 10]),
            Err(PairError::Malformed)
        );
        assert_eq!(
            Invitation::from_ticket(&format!("{ticket}AA")),
            Err(PairError::Malformed)
        );
        // Flip one character in the middle (the secret) to another base32 digit.
        let mut chars: Vec<char> = ticket.chars().collect();
        let i = 60;
        chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
        let tampered: String = chars.into_iter().collect();
        assert_eq!(
            Invitation::from_ticket(&tampered),
            Err(PairError::BadSignature)
        );
    }

    #[test]
    fn a_ticket_of_a_newer_version_says_to_update_and_version_0_is_garbled() {
        let ticket = invitation(&side(1)).ticket().to_string();
        let mut bytes = data_encoding::BASE32_NOPAD
            .decode(&ticket.as_bytes()["TAPIN".len()..])
            .unwrap();
        let with_version = |bytes: &mut Vec<u8>, v: u8| {
            bytes[0] = v;
            format!("TAPIN{}", data_encoding::BASE32_NOPAD.encode(bytes))
        };
        let newer = Invitation::from_ticket(&with_version(&mut bytes, COMPACT_VERSION + 1));
        assert_eq!(newer, Err(PairError::UnknownVersion(COMPACT_VERSION + 1)));
        let said = newer.unwrap_err().to_string();
        assert!(
            said.contains("newer tapin") && said.contains("update tapin"),
            "{said}"
        );
        assert_eq!(
            Invitation::from_ticket(&with_version(&mut bytes, 0)),
            Err(PairError::Malformed)
        );
    }

    #[test]
    fn expiry_is_checked_against_the_clock_given() {
        let inv = invitation(&side(1));
        assert!(inv.check_fresh(Timestamp(9_999)).is_ok());
        assert!(matches!(
            inv.check_fresh(Timestamp(10_000)),
            Err(PairError::Expired(_))
        ));
    }

    #[test]
    fn both_sides_verify_each_other_and_agree_on_the_code() {
        let (maya, jordan) = (side(1), side(3));
        let inv = invitation(&maya);
        let req = join_request(&inv, "Jordan", &jordan.cert, Reach::default());
        let joined = check_join(&inv, &req, jordan.device.id()).unwrap();
        assert_eq!(joined.cert.person, jordan.person.id());
        let resp = welcome(&inv, &maya.cert, jordan.device.id());
        let inviter = check_welcome(&inv, &resp, maya.device.id(), jordan.device.id()).unwrap();
        assert_eq!(inviter.cert.person, maya.person.id());
        let a = safety_code(&inv.secret, &maya.cert, &joined.cert);
        let b = safety_code(&inv.secret, &inviter.cert, &jordan.cert);
        assert_eq!(a, b);
        assert_eq!(a.len(), 7);
    }

    #[test]
    fn a_request_replayed_from_another_endpoint_is_refused() {
        let (maya, jordan, eve) = (side(1), side(3), side(5));
        let inv = invitation(&maya);
        let req = join_request(&inv, "Jordan", &jordan.cert, Reach::default());
        assert_eq!(
            check_join(&inv, &req, eve.device.id()),
            Err(PairError::BadProof)
        );
    }

    #[test]
    fn a_request_without_the_secret_is_refused() {
        let (maya, eve) = (side(1), side(5));
        let inv = invitation(&maya);
        let mut wrong = inv.clone();
        wrong.secret = [7; 32];
        let req = join_request(&wrong, "Eve", &eve.cert, Reach::default());
        assert_eq!(
            check_join(&inv, &req, eve.device.id()),
            Err(PairError::BadProof)
        );
    }

    #[test]
    fn a_certificate_for_another_device_is_refused() {
        let (maya, jordan, eve) = (side(1), side(3), side(5));
        let inv = invitation(&maya);
        // Eve knows the secret but presents Jordan's certificate from her own endpoint.
        let mut req = join_request(&inv, "Jordan", &jordan.cert, Reach::default());
        req.proof = proof(
            JOIN_CONTEXT,
            &inv.secret,
            inv.endpoint,
            eve.device.id(),
            &req.cert,
        );
        assert!(matches!(
            check_join(&inv, &req, eve.device.id()),
            Err(PairError::BadCertificate(_))
        ));
    }

    #[test]
    fn codes_differ_when_anything_differs() {
        let (maya, jordan, eve) = (side(1), side(3), side(5));
        let code = safety_code(&[1; 32], &maya.cert, &jordan.cert);
        assert_ne!(code, safety_code(&[2; 32], &maya.cert, &jordan.cert));
        assert_ne!(code, safety_code(&[1; 32], &maya.cert, &eve.cert));
        assert_eq!(code, safety_code(&[1; 32], &jordan.cert, &maya.cert));
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn relay_urls_are_checked_and_made_canonical() {
        let accepted = [
            ("http://10.99.0.1:3340", "http://10.99.0.1:3340/"),
            ("HTTPS://Relay.Example.org", "https://relay.example.org/"),
            ("https://relay.example.org/", "https://relay.example.org/"),
            (
                "https://relay.example.org:443/Path/x",
                "https://relay.example.org:443/Path/x",
            ),
            ("http://[::1]:3340", "http://[::1]:3340/"),
            ("http://[FE80::1]", "http://[fe80::1]/"),
            ("http://localhost", "http://localhost/"),
        ];
        for (url, canonical) in accepted {
            assert_eq!(relay_url(url).as_deref(), Ok(canonical), "{url}");
            assert_eq!(relay_url(canonical).as_deref(), Ok(canonical), "{url}");
        }
        let refused = [
            "",
            "relay.example.org",
            "ftp://relay.example.org",
            "http://",
            "http:///path",
            "http://relay example.org",
            "http://relay.example.org:0",
            "http://relay.example.org:65536",
            "http://relay.example.org:080",
            "http://relay.example.org:",
            "http://relay.example.org:port",
            "http://user:pw@relay.example.org",
            "http://relay.example.org/?q=1",
            "http://relay.example.org/#x",
            "http://-relay.example.org",
            "http://relay..example.org",
            "http://999.1.1.1",
            "http://a.0",
            "http://relay.0x1f",
            "http://relay.example.0x",
            "http://01.2.3.4",
            "http://[::1",
            "http://[not-v6]",
            "http://[::1]x",
            "http://relay\u{e9}.example.org",
            "http://relay.example.org\n",
        ];
        for url in refused {
            assert!(
                matches!(relay_url(url), Err(ReachError::BadRelay(_))),
                "{url:?} should be refused: {:?}",
                relay_url(url)
            );
        }
        let long = format!("https://relay.example.org/{}", "a".repeat(MAX_RELAY));
        assert_eq!(relay_url(&long), Err(ReachError::RelayTooLong(long.len())));
        // Exactly at the limit once canonical: "/" added to a URL without a path counts.
        let host = "a".repeat(63);
        let at_limit = format!(
            "http://{host}.{host}.{host}.{}",
            "b".repeat(MAX_RELAY - 7 - 3 * 64)
        );
        assert_eq!(at_limit.len(), MAX_RELAY);
        assert!(matches!(
            relay_url(&at_limit),
            Err(ReachError::RelayTooLong(_))
        ));
    }

    #[test]
    fn a_reach_from_the_network_is_capped_and_cleaned() {
        let many = Reach {
            addrs: (1..=17).map(|p| addr(&format!("10.0.0.1:{p}"))).collect(),
            relay: None,
        };
        assert_eq!(many.clone().checked(), Err(ReachError::TooManyAddrs(17)));
        // This device's own reach is cut rather than refused.
        assert_eq!(many.capped().addrs.len(), MAX_ADDRS);

        let got = Reach {
            addrs: vec![
                addr("10.0.0.1:4433"),
                addr("0.0.0.0:4433"),
                addr("10.0.0.1:0"),
                addr("224.0.0.251:5353"),
                addr("255.255.255.255:4433"),
                addr("[::]:4433"),
                addr("10.0.0.1:4433"),
                addr("[fd00::1]:4433"),
                addr("127.0.0.1:4433"),
            ],
            relay: Some("HTTP://Relay.example.org".to_owned()),
        }
        .checked()
        .unwrap();
        assert_eq!(
            got,
            Reach {
                addrs: vec![
                    addr("10.0.0.1:4433"),
                    addr("[fd00::1]:4433"),
                    addr("127.0.0.1:4433")
                ],
                relay: Some("http://relay.example.org/".to_owned()),
            }
        );

        let bad = Reach {
            addrs: vec![],
            relay: Some("javascript:alert(1)".to_owned()),
        };
        assert!(matches!(
            bad.clone().checked(),
            Err(ReachError::BadRelay(_))
        ));
        assert_eq!(bad.capped().relay, None);
        assert_eq!(Reach::default().checked(), Ok(Reach::default()));
    }

    #[test]
    fn a_join_request_with_unusable_addresses_or_relay_is_refused() {
        let (maya, jordan) = (side(1), side(3));
        let inv = invitation(&maya);
        let good = Reach {
            addrs: vec![addr("10.0.0.2:4433")],
            relay: Some("http://relay.example.org".to_owned()),
        };
        let req = join_request(&inv, "Jordan", &jordan.cert, good);
        assert_eq!(req.relay.as_deref(), Some("http://relay.example.org/"));
        assert!(check_join(&inv, &req, jordan.device.id()).is_ok());
        assert_eq!(req.reach().unwrap().addrs, vec![addr("10.0.0.2:4433")]);

        let mut too_many = req.clone();
        too_many.addrs = (1..=40).map(|p| addr(&format!("10.0.0.2:{p}"))).collect();
        assert_eq!(
            check_join(&inv, &too_many, jordan.device.id()),
            Err(PairError::BadReach(ReachError::TooManyAddrs(40)))
        );
        let mut bad_relay = req.clone();
        bad_relay.relay = Some("http://relay.example.org:99999".to_owned());
        assert!(matches!(
            check_join(&inv, &bad_relay, jordan.device.id()),
            Err(PairError::BadReach(ReachError::BadRelay(_)))
        ));
        // The proof is checked first: without the secret, nothing else is looked at.
        let mut forged = too_many;
        forged.proof = [0; 32];
        assert_eq!(
            check_join(&inv, &forged, jordan.device.id()),
            Err(PairError::BadProof)
        );

        // pair/1's request is the same without the relay, and converts both ways.
        let v1 = JoinRequestV1::from(req.clone());
        let back = JoinRequest::from(v1);
        assert_eq!(back.relay, None);
        assert!(check_join(&inv, &back, jordan.device.id()).is_ok());
    }

    #[test]
    fn a_tickets_unusable_relay_is_left_out_of_where_to_dial() {
        let maya = side(1);
        let mut inv = invitation(&maya);
        assert_eq!(inv.reach().relay, None);
        inv.relay = Some("http://10.99.0.1:3340".to_owned());
        assert_eq!(inv.reach().relay.as_deref(), Some("http://10.99.0.1:3340/"));
        inv.relay = Some("not a url".to_owned());
        assert_eq!(inv.reach().relay, None);
        assert_eq!(inv.reach().addrs, inv.addrs);
    }

    proptest! {
        #[test]
        fn relay_url_never_panics_and_its_canonical_form_is_a_fixed_point(s in "\\PC{0,300}") {
            if let Ok(canonical) = relay_url(&s) {
                prop_assert!(canonical.len() <= MAX_RELAY);
                prop_assert_eq!(relay_url(&canonical), Ok(canonical.clone()));
            }
        }

        #[test]
        fn relay_like_strings_are_accepted_or_refused_never_misread(
            scheme in "(?i)https?",
            host in "[a-zA-Z0-9.:\\[\\]-]{0,40}",
            port in proptest::option::of("[0-9]{0,6}"),
            path in "(/[a-zA-Z0-9/?#@%._-]{0,30})?",
        ) {
            let url = match &port {
                Some(p) => format!("{scheme}://{host}:{p}{path}"),
                None => format!("{scheme}://{host}{path}"),
            };
            if let Ok(canonical) = relay_url(&url) {
                prop_assert!(canonical.starts_with("http://") || canonical.starts_with("https://"));
                prop_assert!(!canonical.contains(['?', '#', '@']));
                prop_assert_eq!(relay_url(&canonical), Ok(canonical.clone()));
            }
        }

        #[test]
        fn a_checked_reach_keeps_only_dialable_addresses_each_once(
            addrs in proptest::collection::vec(
                (any::<[u8; 4]>(), 0u16..4).prop_map(|(ip, port)| SocketAddr::from((ip, port))),
                0..40,
            ),
        ) {
            let n = addrs.len();
            match (Reach { addrs: addrs.clone(), relay: None }).checked() {
                Err(e) => prop_assert_eq!(e, ReachError::TooManyAddrs(n)),
                Ok(reach) => {
                    prop_assert!(n <= MAX_ADDRS);
                    for (i, a) in reach.addrs.iter().enumerate() {
                        prop_assert!(addrs.contains(a));
                        prop_assert!(usable(a));
                        prop_assert!(!reach.addrs[..i].contains(a));
                    }
                }
            }
            let capped = Reach { addrs, relay: None }.capped();
            prop_assert!(capped.addrs.len() <= MAX_ADDRS);
            prop_assert_eq!(capped.clone().checked(), Ok(capped));
        }
    }

    proptest! {
        #[test]
        fn parsing_random_text_never_panics(s in ".{0,400}") {
            let _ = Invitation::from_ticket(&s);
        }

        #[test]
        fn parsing_random_base32_after_the_prefix_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let t = format!("TAPIN{}", data_encoding::BASE32_NOPAD.encode(&bytes));
            let _ = Invitation::from_ticket(&t);
        }

        #[test]
        fn no_mutation_of_a_valid_ticket_is_accepted_as_different(pos in 0usize..400, c in "[A-Z2-7]", cut in 0usize..400) {
            let maya = side(1);
            let inv = invitation(&maya);
            let ticket = inv.ticket().to_string();
            let mut chars: Vec<char> = ticket.chars().collect();
            let pos = pos % chars.len();
            chars[pos] = c.chars().next().unwrap();
            let mutated: String = chars.into_iter().collect();
            // A mutation either is refused or (a no-op mutation) decodes to the same invitation.
            if let Ok(back) = Invitation::from_ticket(&mutated) {
                prop_assert_eq!(back, inv.clone());
            }
            let cut = cut % ticket.len();
            prop_assert!(Invitation::from_ticket(&ticket[..cut]).is_err());
        }
    }
}
