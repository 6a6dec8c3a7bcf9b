//! Found by `fuzz_certificate`: a device certificate whose name is longer than the format allows
//! is accepted. docs/FORMAT.md gives the name as "UTF-8, ≤ 64 chars", and `certify` cuts names
//! to 64 characters, but `DeviceCertificate::from_bytes` takes any length the u16 field holds, as
//! long as the person key signed it. A friend's patched tapin can thus pair with a device name of
//! up to ~16,000 bytes (the pairing frame cap); the CLI stores it as the pairing's device name
//! and prints it (`cli/src/commands/pair.rs`).
//!
//! `from_bytes` now refuses such names; this test keeps it that way.

use ed25519_dalek::{Signer, SigningKey};
use tapin_core::identity::{DeviceCertificate, DeviceKey, IdentityError, PersonKey};

/// Bytes of a certificate for `name`, signed by the person key, laid out as docs/FORMAT.md says.
fn signed_certificate(person: &[u8; 32], name: &str) -> Vec<u8> {
    let key = SigningKey::from_bytes(person);
    let mut body = key.verifying_key().to_bytes().to_vec();
    body.extend_from_slice(&DeviceKey::from_secret([2; 32]).id().to_bytes());
    body.extend_from_slice(&1i64.to_be_bytes());
    body.extend_from_slice(&(name.len() as u16).to_be_bytes());
    body.extend_from_slice(name.as_bytes());
    let signed = [b"tapin device certificate v1\0".as_slice(), &body].concat();
    body.extend_from_slice(&key.sign(&signed).to_bytes());
    body
}

#[test]
fn a_certificate_with_a_name_over_64_characters_is_refused() {
    let person = [1; 32];
    // The layout is right: a 64-character name is accepted, as certify writes it.
    let ok = signed_certificate(&person, &"x".repeat(64));
    let cert = DeviceCertificate::from_bytes(&ok).expect("a 64-character name");
    assert_eq!(cert.person, PersonKey::from_secret(person).id());
    for len in [65, 1_000, 16_000] {
        let long = signed_certificate(&person, &"x".repeat(len));
        assert_eq!(
            DeviceCertificate::from_bytes(&long).map(|c| c.device_name.len()),
            Err(IdentityError::Malformed),
            "a {len}-character device name was accepted"
        );
    }
}
