//! Invitation tickets, fuzzed from valid ones (docs/PROTOCOL.md, "Invitation tickets").
//!
//! Every case starts from a ticket made by [`Invitation::new`] for random keys, names (non-ASCII
//! included, up to the 64-byte cap), 0–16 v4/v6 addresses and an optional relay, then changes it:
//! the decoded bytes field by field (version, lengths, counts, address families, truncation at
//! and around every field boundary) and blindly (bit flips, insertions, removals, repeats), with
//! the signature kept or made again by the person key; and the text (case, white space, single
//! characters, the prefix, trailing bits of the last character).
//!
//! `from_ticket` must agree exactly with a decoder written here from the specification alone:
//! the same error for a refused ticket, the same invitation for an accepted one, which must be
//! the very bytes it re-encodes to (no two tickets mean one invitation) and carry a signature
//! that verifies under its person key.
//!
//! `TAPIN_FUZZ_CASES=100000 cargo test --release -p tapin-core --test fuzz_ticket`

mod support;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use data_encoding::BASE32_NOPAD;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use proptest::prelude::*;
use support::{Mutation, config, mutation};
use tapin_core::identity::{DeviceKey, PersonKey};
use tapin_core::pairing::{Invitation, PairError};
use tapin_core::time::Timestamp;

/// What the person key signs: this context, then every field before the signature.
const SIGN_CONTEXT: &[u8] = b"tapin invitation v1\0";

/// Everything `Invitation::new` takes, and the person key's secret to sign again with.
#[derive(Debug, Clone)]
struct Spec {
    person: [u8; 32],
    device: [u8; 32],
    name: String,
    addrs: Vec<SocketAddr>,
    relay: Option<String>,
    secret: [u8; 32],
    expires: i64,
}

impl Spec {
    fn invitation(&self) -> Invitation {
        Invitation::new(
            &PersonKey::from_secret(self.person),
            &self.name,
            DeviceKey::from_secret(self.device).id(),
            self.addrs.clone(),
            self.relay.clone(),
            self.secret,
            Timestamp(self.expires),
        )
    }
}

fn addr() -> impl Strategy<Value = SocketAddr> {
    let ip = prop_oneof![
        any::<[u8; 4]>().prop_map(|o| IpAddr::V4(Ipv4Addr::from(o))),
        any::<[u8; 16]>().prop_map(|o| IpAddr::V6(Ipv6Addr::from(o))),
        Just(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        Just(IpAddr::V6(Ipv6Addr::LOCALHOST)),
    ];
    (ip, any::<u16>()).prop_map(|(ip, port)| SocketAddr::new(ip, port))
}

/// `s` cut to at most `max` bytes at a character boundary: the inputs `Invitation::new` keeps
/// whole, so a fresh ticket round-trips to what was asked for.
fn cut(s: String, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

fn spec() -> impl Strategy<Value = Spec> {
    let name = prop_oneof![
        "[a-zA-Z ]{0,64}",
        // Non-ASCII, several bytes a character, often right at the cap.
        "[a-zé漢字😀 \u{301}]{0,40}",
        Just("é".repeat(32)),
    ]
    .prop_map(|s| cut(s, 64));
    let relay = prop_oneof![
        Just(None),
        "https://[a-z0-9.]{1,40}/".prop_map(Some),
        "[ -~é]{1,256}".prop_map(|s| Some(cut(s, 256))),
    ];
    (
        any::<[u8; 32]>(),
        any::<[u8; 32]>(),
        name,
        proptest::collection::vec(addr(), 0..=16),
        relay,
        any::<[u8; 32]>(),
        any::<i64>(),
    )
        .prop_map(
            |(person, device, name, addrs, relay, secret, expires)| Spec {
                person,
                device,
                name,
                addrs,
                relay,
                secret,
                expires,
            },
        )
}

/// The fields of a ticket as the specification lays them out, or why it is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fields {
    person: [u8; 32],
    endpoint: [u8; 32],
    secret: [u8; 32],
    expires: i64,
    name: String,
    addrs: Vec<SocketAddr>,
    relay: Option<String>,
}

/// A decoder written from docs/PROTOCOL.md alone.
fn reference(bytes: &[u8]) -> Result<Fields, PairError> {
    let malformed = PairError::Malformed;
    let mut rest = bytes;
    let mut take = |n: usize| -> Result<&[u8], PairError> {
        if rest.len() < n {
            return Err(PairError::Malformed);
        }
        let (head, tail) = rest.split_at(n);
        rest = tail;
        Ok(head)
    };
    // A version above this build's is a newer tapin's; below it (0) is no version tapin wrote.
    let version = take(1)?[0];
    // Version 2 is the compact ticket, checked apart (`check_agrees`).
    if version > 2 {
        return Err(PairError::UnknownVersion(version));
    }
    if version != 1 {
        return Err(PairError::Malformed);
    }
    let key = |b: &[u8]| -> Result<[u8; 32], PairError> {
        let k: [u8; 32] = b.try_into().map_err(|_| PairError::Malformed)?;
        VerifyingKey::from_bytes(&k).map_err(|_| PairError::Malformed)?;
        Ok(k)
    };
    let person = key(take(32)?)?;
    let endpoint = key(take(32)?)?;
    let secret: [u8; 32] = take(32)?.try_into().map_err(|_| malformed.clone())?;
    let expires = i64::from_be_bytes(take(8)?.try_into().map_err(|_| malformed.clone())?);
    let name_len = take(1)?[0] as usize;
    if name_len > 64 {
        return Err(malformed);
    }
    let name = String::from_utf8(take(name_len)?.to_vec()).map_err(|_| malformed.clone())?;
    let count = take(1)?[0] as usize;
    if count > 16 {
        return Err(malformed);
    }
    let mut addrs = Vec::new();
    for _ in 0..count {
        let ip = match take(1)?[0] {
            4 => IpAddr::from(<[u8; 4]>::try_from(take(4)?).map_err(|_| malformed.clone())?),
            6 => IpAddr::from(<[u8; 16]>::try_from(take(16)?).map_err(|_| malformed.clone())?),
            _ => return Err(malformed),
        };
        let port = u16::from_be_bytes(take(2)?.try_into().map_err(|_| malformed.clone())?);
        addrs.push(SocketAddr::new(ip, port));
    }
    let relay_len = u16::from_be_bytes(take(2)?.try_into().map_err(|_| malformed.clone())?);
    if relay_len > 256 {
        return Err(malformed);
    }
    let relay =
        String::from_utf8(take(relay_len as usize)?.to_vec()).map_err(|_| malformed.clone())?;
    let signature: [u8; 64] = take(64)?.try_into().map_err(|_| malformed.clone())?;
    if !rest.is_empty() {
        return Err(malformed);
    }
    let signed = [SIGN_CONTEXT, &bytes[..bytes.len() - 64]].concat();
    VerifyingKey::from_bytes(&person)
        .map_err(|_| PairError::Malformed)?
        .verify(&signed, &Signature::from_bytes(&signature))
        .map_err(|_| PairError::BadSignature)?;
    Ok(Fields {
        person,
        endpoint,
        secret,
        expires,
        name,
        addrs,
        relay: (!relay.is_empty()).then_some(relay),
    })
}

fn fields(inv: &Invitation) -> Fields {
    Fields {
        person: inv.person.map(|p| p.to_bytes()).unwrap_or([0; 32]),
        endpoint: inv.endpoint.to_bytes(),
        secret: inv.secret,
        expires: inv.expires.0,
        name: inv.name.clone(),
        addrs: inv.addrs.clone(),
        relay: inv.relay.clone(),
    }
}

/// The bytes a ticket string carries.
fn ticket_bytes(inv: &Invitation) -> Vec<u8> {
    let text = inv.ticket().0;
    BASE32_NOPAD
        .decode(text.strip_prefix("TAPIN").expect("prefix").as_bytes())
        .expect("a ticket is base32")
}

/// Where each field of a ticket starts, in order, and where the signature starts: the
/// boundaries that field-aware mutations aim at.
fn boundaries(bytes: &[u8]) -> Vec<usize> {
    let mut at = vec![0, 1, 33, 65, 97, 105, 106];
    let name_len = bytes[105] as usize;
    let mut pos = 106 + name_len;
    at.push(pos);
    let count = bytes[pos] as usize;
    pos += 1;
    for _ in 0..count {
        at.push(pos);
        pos += if bytes[pos] == 4 { 7 } else { 19 };
    }
    at.push(pos);
    at.push(pos + 2);
    at.push(bytes.len() - 64);
    at.push(bytes.len());
    at
}

/// A change to a ticket's bytes that knows where the fields are.
#[derive(Debug, Clone)]
enum Edit {
    Version(u8),
    NameLen(u8),
    AddrCount(u8),
    /// The family byte of one address (ignored without addresses).
    Family(usize, u8),
    RelayLen(u16),
    /// Cuts at a field boundary, moved by a few bytes either way.
    CutNear(usize, i8),
    /// Inserts bytes at a field boundary.
    InsertAt(usize, Vec<u8>),
    /// Swaps two addresses of the same family.
    SwapAddrs(usize, usize),
    Blind(Mutation),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        1 => prop_oneof![Just(0u8), Just(2), any::<u8>()].prop_map(Edit::Version),
        2 => support::interesting_byte().prop_map(Edit::NameLen),
        2 => support::interesting_byte().prop_map(Edit::AddrCount),
        1 => (any::<usize>(), support::interesting_byte()).prop_map(|(i, f)| Edit::Family(i, f)),
        2 => prop_oneof![Just(0u16), Just(1), Just(255), Just(256), Just(257), any::<u16>()]
            .prop_map(Edit::RelayLen),
        2 => (any::<usize>(), -3i8..=3).prop_map(|(i, d)| Edit::CutNear(i, d)),
        1 => (any::<usize>(), support::some_bytes(20)).prop_map(|(i, b)| Edit::InsertAt(i, b)),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::SwapAddrs(a, b)),
        6 => mutation().prop_map(Edit::Blind),
    ]
}

/// Applies `edit` to the bytes of a well-formed ticket, `layout` being that ticket's
/// [`boundaries`] (positions refer to the original layout; edits apply one after another).
fn apply_edit(bytes: &mut Vec<u8>, layout: &[usize], edit: &Edit) {
    let name_len_at = 105;
    let count_at = layout[7];
    let addr_starts = &layout[8..layout.len() - 4];
    let relay_len_at = layout[layout.len() - 4];
    let set = |bytes: &mut Vec<u8>, at: usize, value: &[u8]| {
        if at + value.len() <= bytes.len() {
            bytes[at..at + value.len()].copy_from_slice(value);
        }
    };
    match edit {
        Edit::Version(v) => set(bytes, 0, &[*v]),
        Edit::NameLen(n) => set(bytes, name_len_at, &[*n]),
        Edit::AddrCount(n) => set(bytes, count_at, &[*n]),
        Edit::Family(i, f) if !addr_starts.is_empty() => {
            set(bytes, addr_starts[i % addr_starts.len()], &[*f])
        }
        Edit::Family(..) => {}
        Edit::RelayLen(n) => set(bytes, relay_len_at, &n.to_be_bytes()),
        Edit::CutNear(i, d) => {
            let at = layout[i % layout.len()] as isize + *d as isize;
            bytes.truncate(at.clamp(0, bytes.len() as isize) as usize);
        }
        Edit::InsertAt(i, new) => {
            let at = layout[i % layout.len()].min(bytes.len());
            bytes.splice(at..at, new.iter().copied());
        }
        Edit::SwapAddrs(a, b) if !addr_starts.is_empty() => {
            let (a, b) = (
                addr_starts[a % addr_starts.len()],
                addr_starts[b % addr_starts.len()],
            );
            let len = if bytes.get(a) == Some(&4) { 7 } else { 19 };
            let len_b = if bytes.get(b) == Some(&4) { 7 } else { 19 };
            if len == len_b && a.max(b) + len <= bytes.len() && a != b {
                let x = bytes[a..a + len].to_vec();
                let y = bytes[b..b + len].to_vec();
                bytes[a..a + len].copy_from_slice(&y);
                bytes[b..b + len].copy_from_slice(&x);
            }
        }
        Edit::SwapAddrs(..) => {}
        Edit::Blind(m) => support::apply(bytes, m),
    }
}

/// Replaces the last 64 bytes by the person key's signature over the rest, as the inviter's own
/// (patched) tapin would: the decoder must then stand on its structural checks alone.
fn sign_again(bytes: &mut [u8], person: &[u8; 32]) {
    if bytes.len() < 64 {
        return;
    }
    let body = bytes.len() - 64;
    let signed = [SIGN_CONTEXT, &bytes[..body]].concat();
    let sig = SigningKey::from_bytes(person).sign(&signed).to_bytes();
    bytes[body..].copy_from_slice(&sig);
}

fn text(bytes: &[u8]) -> String {
    format!("TAPIN{}", BASE32_NOPAD.encode(bytes))
}

/// `from_ticket` on `bytes` agrees with the reference decoder; an accepted ticket re-encodes to
/// exactly these bytes and its signature verifies.
fn check_agrees(bytes: &[u8]) -> Result<Option<Invitation>, TestCaseError> {
    let got = Invitation::from_ticket(&text(bytes));
    if bytes.first() == Some(&2) {
        // A compact ticket: read without a panic, and one ticket per invitation.
        if let Ok(inv) = &got {
            prop_assert_eq!(inv.compact_ticket().map(|t| t.0), Some(text(bytes)));
        }
        return Ok(got.ok());
    }
    let want = reference(bytes);
    match (&got, &want) {
        (Ok(inv), Ok(f)) => {
            prop_assert_eq!(&fields(inv), f);
            prop_assert_eq!(inv.ticket().0, text(bytes), "one ticket per invitation");
            let signed = [SIGN_CONTEXT, &bytes[..bytes.len() - 64]].concat();
            let sig: [u8; 64] = bytes[bytes.len() - 64..].try_into().expect("64 bytes");
            prop_assert!(
                inv.person
                    .is_some_and(|p| p.0.verify(&signed, &Signature::from_bytes(&sig)).is_ok())
            );
            prop_assert!(inv.name.len() <= 64 && inv.addrs.len() <= 16);
            prop_assert!(
                inv.relay
                    .as_ref()
                    .is_none_or(|r| !r.is_empty() && r.len() <= 256)
            );
        }
        (Err(g), Err(w)) => prop_assert_eq!(g, w),
        _ => prop_assert!(false, "from_ticket gave {:?}, the spec {:?}", got, want),
    }
    Ok(got.ok())
}

/// Changes to a ticket's text.
#[derive(Debug, Clone)]
enum TextEdit {
    /// Lower-cases the characters whose index bit is set (cycling through the mask).
    Case(u64),
    /// Surrounds the ticket with white space.
    Surround(String, String),
    /// Inserts a character (white space, base32 or not) inside.
    InsertChar(usize, char),
    /// Replaces a character.
    ReplaceChar(usize, char),
    /// Replaces the last character by another base32 digit: with no padding, its low bits are
    /// not part of any byte, so only one choice is canonical.
    Last(char),
    /// Drops characters from the end.
    DropEnd(usize),
    /// Replaces the prefix.
    Prefix(String),
}

fn base32_char() -> impl Strategy<Value = char> {
    proptest::sample::select(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
            .chars()
            .collect::<Vec<_>>(),
    )
}

fn text_edit() -> impl Strategy<Value = TextEdit> {
    let space = "[ \t\n\r\u{a0}\u{2003}\u{feff}]{0,3}";
    let any_char = prop_oneof![
        base32_char(),
        Just(' '),
        Just('='),
        Just('0'),
        Just('1'),
        Just('8'),
        Just('é'),
        any::<char>()
    ];
    prop_oneof![
        any::<u64>().prop_map(TextEdit::Case),
        (space, space).prop_map(|(a, b)| TextEdit::Surround(a, b)),
        (any::<usize>(), any_char.clone()).prop_map(|(i, c)| TextEdit::InsertChar(i, c)),
        (any::<usize>(), any_char).prop_map(|(i, c)| TextEdit::ReplaceChar(i, c)),
        base32_char().prop_map(TextEdit::Last),
        (1usize..12).prop_map(TextEdit::DropEnd),
        prop_oneof![
            Just(String::new()),
            Just("tapin".to_owned()),
            Just("TAPlN".to_owned()),
            Just("TAPIN ".to_owned()),
            Just("TAPINTAPIN".to_owned()),
            Just("TAP".to_owned()),
        ]
        .prop_map(TextEdit::Prefix),
    ]
}

fn apply_text(s: &str, e: &TextEdit) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    match e {
        TextEdit::Case(mask) => chars
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if mask >> (i % 64) & 1 == 1 {
                    c.to_ascii_lowercase()
                } else {
                    *c
                }
            })
            .collect(),
        TextEdit::Surround(a, b) => format!("{a}{s}{b}"),
        TextEdit::InsertChar(i, c) => {
            chars.insert(i % (chars.len() + 1), *c);
            chars.into_iter().collect()
        }
        TextEdit::ReplaceChar(i, c) => {
            if !chars.is_empty() {
                let i = i % chars.len();
                chars[i] = *c;
            }
            chars.into_iter().collect()
        }
        TextEdit::Last(c) => {
            chars.pop();
            chars.push(*c);
            chars.into_iter().collect()
        }
        TextEdit::DropEnd(n) => chars[..chars.len().saturating_sub(*n)].iter().collect(),
        TextEdit::Prefix(p) => match s.strip_prefix("TAPIN") {
            Some(rest) => format!("{p}{rest}"),
            None => s.to_owned(),
        },
    }
}

proptest! {
    // Signing and verifying in a debug build take milliseconds: fewer cases by default here.
    #![proptest_config(config(32))]

    /// A fresh ticket decodes to the invitation it was made from, its text is its canonical
    /// encoding, and the reference decoder reads the same fields.
    #[test]
    fn fuzz_ticket_round_trips(spec in spec()) {
        let inv = spec.invitation();
        let ticket = inv.ticket().0;
        let back = Invitation::from_ticket(&ticket).expect("a fresh ticket decodes");
        prop_assert_eq!(&back, &inv);
        prop_assert_eq!(back.ticket().0, ticket);
        prop_assert_eq!(reference(&ticket_bytes(&inv)), Ok(fields(&inv)));
        // What was asked for is what travels (the inputs are within the caps).
        prop_assert_eq!(&inv.name, &spec.name);
        prop_assert_eq!(&inv.addrs, &spec.addrs);
        prop_assert_eq!(&inv.relay, &spec.relay);
    }
}

proptest! {
    #![proptest_config(config(128))]

    /// Mutated bytes, with the original signature: nothing but the original is accepted, and
    /// every refusal is the one the specification gives.
    #[test]
    fn fuzz_ticket_mutated_bytes_are_refused(spec in spec(), edits in proptest::collection::vec(edit(), 1..=3)) {
        let inv = spec.invitation();
        let original = ticket_bytes(&inv);
        let layout = boundaries(&original);
        let mut bytes = original.clone();
        for e in &edits {
            apply_edit(&mut bytes, &layout, e);
        }
        let got = check_agrees(&bytes)?;
        if bytes == original {
            prop_assert_eq!(got, Some(inv));
        } else {
            prop_assert!(got.is_none(), "a changed ticket was accepted");
        }
    }

    /// Mutated bytes signed again by the person key: accepted exactly when the specification
    /// reads them, and then as the very bytes they are.
    #[test]
    fn fuzz_ticket_resigned_bytes_decode_canonically(spec in spec(), edits in proptest::collection::vec(edit(), 1..=3)) {
        let inv = spec.invitation();
        let original = ticket_bytes(&inv);
        let layout = boundaries(&original);
        let mut bytes = original.clone();
        for e in &edits {
            apply_edit(&mut bytes, &layout, e);
        }
        sign_again(&mut bytes, &spec.person);
        if let Some(back) = check_agrees(&bytes)? {
            // Only the person key signed, so only its own person field verifies.
            prop_assert_eq!(back.person, inv.person);
        }
    }

    /// Edited text: accepted only when it is the canonical ticket up to case and white space
    /// anywhere (a wrapped ticket's line breaks), and then as the same invitation.
    #[test]
    fn fuzz_ticket_text_edits(spec in spec(), edits in proptest::collection::vec(text_edit(), 1..=3)) {
        let inv = spec.invitation();
        let ticket = inv.ticket().0;
        let mut s = ticket.clone();
        for e in &edits {
            s = apply_text(&s, e);
        }
        let normal: String = s
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        match Invitation::from_ticket(&s) {
            Ok(back) => {
                prop_assert_eq!(&normal, &ticket, "only the canonical text is accepted");
                prop_assert_eq!(back, inv);
            }
            Err(e) => {
                prop_assert_ne!(&normal, &ticket, "the canonical text was refused: {}", e);
                prop_assert_eq!(
                    e == PairError::NotATicket,
                    !normal.starts_with("TAPIN"),
                    "{:?} for {:?}", e, s
                );
            }
        }
    }
}
