//! Device certificates, fuzzed from valid ones (docs/FORMAT.md, `identity.device_cert`).
//!
//! Every case certifies a random device for a random person, with a name of up to 64
//! characters (non-ASCII included) and any issue time, then changes the certificate: its bytes
//! field by field (the name length, truncation and insertion at and around every field
//! boundary) and blindly, with the signature kept or made again by the person key; or its
//! decoded fields, before calling `verify`.
//!
//! `DeviceCertificate::from_bytes` must agree exactly with a decoder written here from the
//! format alone: the same error for refused bytes, the same certificate for accepted ones, which
//! re-encode to exactly those bytes. Not checked, because the decoder does not enforce it: the
//! format's 64-character limit on names (see `found_certificate_name_limit.rs`).
//!
//! `TAPIN_FUZZ_CASES=100000 cargo test --release -p tapin-core --test fuzz_certificate`

mod support;

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use proptest::prelude::*;
use support::{Mutation, config, mutation};
use tapin_core::identity::{DeviceCertificate, DeviceKey, IdentityError, PersonKey};
use tapin_core::time::Timestamp;

/// What the person key signs: this context, then every field before the signature.
const CERT_CONTEXT: &[u8] = b"tapin device certificate v1\0";

#[derive(Debug, Clone)]
struct Spec {
    person: [u8; 32],
    device: [u8; 32],
    name: String,
    issued: i64,
}

impl Spec {
    fn certificate(&self) -> DeviceCertificate {
        PersonKey::from_secret(self.person).certify(
            DeviceKey::from_secret(self.device).id(),
            &self.name,
            Timestamp(self.issued),
        )
    }
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 '-]{0,64}",
        "[a-zé漢😀 \u{301}]{0,64}",
        Just("😀".repeat(64)),
        Just(String::new()),
    ]
}

fn spec() -> impl Strategy<Value = Spec> {
    (any::<[u8; 32]>(), any::<[u8; 32]>(), name(), any::<i64>()).prop_map(
        |(person, device, name, issued)| Spec {
            person,
            device,
            name,
            issued,
        },
    )
}

/// The fields of a certificate as the format lays them out.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fields {
    person: [u8; 32],
    device: [u8; 32],
    issued: i64,
    name: String,
}

fn fields(cert: &DeviceCertificate) -> Fields {
    Fields {
        person: cert.person.to_bytes(),
        device: cert.device.to_bytes(),
        issued: cert.issued.0,
        name: cert.device_name.clone(),
    }
}

/// A decoder written from docs/FORMAT.md alone, refusing in the order the fields come.
fn reference(bytes: &[u8]) -> Result<Fields, IdentityError> {
    let take = |at: usize, n: usize| bytes.get(at..at + n).ok_or(IdentityError::Malformed);
    let key = |at: usize, what: &'static str| -> Result<[u8; 32], IdentityError> {
        let k: [u8; 32] = take(at, 32)?.try_into().expect("32 bytes");
        VerifyingKey::from_bytes(&k).map_err(|_| IdentityError::BadKey { what })?;
        Ok(k)
    };
    let person = key(0, "person key")?;
    let device = key(32, "device key")?;
    let issued = i64::from_be_bytes(take(64, 8)?.try_into().expect("8 bytes"));
    let len = u16::from_be_bytes(take(72, 2)?.try_into().expect("2 bytes")) as usize;
    let name = std::str::from_utf8(take(74, len)?).map_err(|_| IdentityError::Malformed)?;
    // FORMAT.md: the name is at most 64 characters.
    if name.chars().count() > 64 {
        return Err(IdentityError::Malformed);
    }
    let sig: [u8; 64] = take(74 + len, 64)?.try_into().expect("64 bytes");
    if bytes.len() != 74 + len + 64 {
        return Err(IdentityError::Malformed);
    }
    let signed = [CERT_CONTEXT, &bytes[..74 + len]].concat();
    VerifyingKey::from_bytes(&person)
        .expect("checked above")
        .verify(&signed, &Signature::from_bytes(&sig))
        .map_err(|_| IdentityError::BadSignature {
            device: hex(&device),
        })?;
    Ok(Fields {
        person,
        device,
        issued,
        name: name.to_owned(),
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A change to a certificate's bytes that knows where the fields are.
#[derive(Debug, Clone)]
enum Edit {
    NameLen(u16),
    /// Cuts at a field boundary, moved by a few bytes either way.
    CutNear(usize, i8),
    /// Inserts bytes at a field boundary.
    InsertAt(usize, Vec<u8>),
    /// Overwrites the person or device key with another valid key.
    Key(bool, [u8; 32]),
    Blind(Mutation),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        2 => prop_oneof![Just(0u16), Just(1), Just(64), Just(65), Just(256), Just(u16::MAX), any::<u16>()]
            .prop_map(Edit::NameLen),
        2 => (any::<usize>(), -3i8..=3).prop_map(|(i, d)| Edit::CutNear(i, d)),
        1 => (any::<usize>(), support::some_bytes(12)).prop_map(|(i, b)| Edit::InsertAt(i, b)),
        1 => (any::<bool>(), any::<[u8; 32]>()).prop_map(|(p, k)| Edit::Key(p, k)),
        5 => mutation().prop_map(Edit::Blind),
    ]
}

fn apply_edit(bytes: &mut Vec<u8>, layout: &[usize], edit: &Edit) {
    match edit {
        Edit::NameLen(n) => {
            if bytes.len() >= 74 {
                bytes[72..74].copy_from_slice(&n.to_be_bytes());
            }
        }
        Edit::CutNear(i, d) => {
            let at = layout[i % layout.len()] as isize + *d as isize;
            bytes.truncate(at.clamp(0, bytes.len() as isize) as usize);
        }
        Edit::InsertAt(i, new) => {
            let at = layout[i % layout.len()].min(bytes.len());
            bytes.splice(at..at, new.iter().copied());
        }
        Edit::Key(person, secret) => {
            let at = if *person { 0 } else { 32 };
            if bytes.len() >= at + 32 {
                let key = SigningKey::from_bytes(secret).verifying_key().to_bytes();
                bytes[at..at + 32].copy_from_slice(&key);
            }
        }
        Edit::Blind(m) => support::apply(bytes, m),
    }
}

/// Replaces the last 64 bytes by the person key's signature over the rest.
fn sign_again(bytes: &mut [u8], person: &[u8; 32]) {
    if bytes.len() < 64 {
        return;
    }
    let body = bytes.len() - 64;
    let signed = [CERT_CONTEXT, &bytes[..body]].concat();
    let sig = SigningKey::from_bytes(person).sign(&signed).to_bytes();
    bytes[body..].copy_from_slice(&sig);
}

/// `from_bytes` agrees with the reference decoder; an accepted certificate re-encodes to exactly
/// these bytes and verifies.
fn check_agrees(bytes: &[u8]) -> Result<Option<DeviceCertificate>, TestCaseError> {
    let got = DeviceCertificate::from_bytes(bytes);
    let want = reference(bytes);
    match (&got, &want) {
        (Ok(cert), Ok(f)) => {
            prop_assert_eq!(&fields(cert), f);
            prop_assert_eq!(
                cert.to_bytes(),
                bytes.to_vec(),
                "one encoding per certificate"
            );
            prop_assert!(cert.verify().is_ok());
        }
        (Err(g), Err(w)) => prop_assert_eq!(g, w),
        _ => prop_assert!(false, "from_bytes gave {:?}, the format {:?}", got, want),
    }
    Ok(got.ok())
}

/// A change to a decoded certificate's fields.
#[derive(Debug, Clone)]
enum FieldEdit {
    Person([u8; 32]),
    Device([u8; 32]),
    Name(String),
    /// Adds to the issue time (wrapping).
    Issued(i64),
}

fn field_edit() -> impl Strategy<Value = FieldEdit> {
    prop_oneof![
        any::<[u8; 32]>().prop_map(FieldEdit::Person),
        any::<[u8; 32]>().prop_map(FieldEdit::Device),
        name().prop_map(FieldEdit::Name),
        prop_oneof![Just(0i64), Just(1), Just(-1), Just(i64::MIN), any::<i64>()]
            .prop_map(FieldEdit::Issued),
    ]
}

proptest! {
    // Signing and verifying in a debug build take milliseconds: fewer cases by default here.
    #![proptest_config(config(32))]

    /// A fresh certificate decodes to itself, its bytes are its only encoding, and the
    /// reference decoder reads the same fields.
    #[test]
    fn fuzz_certificate_round_trips(spec in spec()) {
        let cert = spec.certificate();
        let bytes = cert.to_bytes();
        let back = check_agrees(&bytes)?.expect("a fresh certificate decodes");
        prop_assert_eq!(&back, &cert);
        prop_assert_eq!(&back.device_name, &spec.name);
        prop_assert_eq!(back.person, PersonKey::from_secret(spec.person).id());
        prop_assert_eq!(back.device, DeviceKey::from_secret(spec.device).id());
    }

    /// Changed fields of a decoded certificate never verify, unless the change left it as it
    /// was.
    #[test]
    fn fuzz_certificate_changed_fields_never_verify(spec in spec(), edits in proptest::collection::vec(field_edit(), 1..=2)) {
        let cert = spec.certificate();
        let mut changed = cert.clone();
        for e in &edits {
            match e {
                FieldEdit::Person(s) => changed.person = PersonKey::from_secret(*s).id(),
                FieldEdit::Device(s) => changed.device = DeviceKey::from_secret(*s).id(),
                FieldEdit::Name(n) => changed.device_name = n.clone(),
                FieldEdit::Issued(d) => changed.issued = Timestamp(changed.issued.0.wrapping_add(*d)),
            }
        }
        prop_assert_eq!(changed.verify().is_ok(), changed == cert);
        // Its bytes are refused too, with the same verdict as the reference decoder.
        let got = check_agrees(&changed.to_bytes())?;
        prop_assert_eq!(got.is_some(), changed == cert);
    }
}

proptest! {
    #![proptest_config(config(128))]

    /// Mutated bytes, with the original signature: nothing but the original is accepted, and
    /// every refusal is the one the format gives.
    #[test]
    fn fuzz_certificate_mutated_bytes_are_refused(spec in spec(), edits in proptest::collection::vec(edit(), 1..=3)) {
        let cert = spec.certificate();
        let original = cert.to_bytes();
        let len = cert.device_name.len();
        let layout = [0, 32, 64, 72, 74, 74 + len, 74 + len + 64];
        let mut bytes = original.clone();
        for e in &edits {
            apply_edit(&mut bytes, &layout, e);
        }
        let got = check_agrees(&bytes)?;
        if bytes == original {
            prop_assert_eq!(got, Some(cert));
        } else {
            prop_assert!(got.is_none(), "a changed certificate was accepted");
        }
    }

    /// Mutated bytes signed again by the person key: accepted exactly when the format reads
    /// them, as the very bytes they are, and always for that person.
    #[test]
    fn fuzz_certificate_resigned_bytes_decode_canonically(spec in spec(), edits in proptest::collection::vec(edit(), 1..=3)) {
        let cert = spec.certificate();
        let len = cert.device_name.len();
        let layout = [0, 32, 64, 72, 74, 74 + len, 74 + len + 64];
        let mut bytes = cert.to_bytes();
        for e in &edits {
            apply_edit(&mut bytes, &layout, e);
        }
        sign_again(&mut bytes, &spec.person);
        if let Some(back) = check_agrees(&bytes)? {
            prop_assert_eq!(back.person, cert.person);
        }
    }
}
