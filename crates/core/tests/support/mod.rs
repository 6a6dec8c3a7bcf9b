//! What the `fuzz_*` and `hostile_*` tests share: how many cases to run, byte-level mutations that
//! each test's structure-aware strategies combine with their own, and encodings written from the
//! specifications (LEB128 lengths, chunk checksums, the signed-heads message).
//!
//! A `mod.rs` rather than `tests/support.rs`: Cargo builds every file directly in `tests/` as a
//! test binary of its own, and this module has no tests.
//!
//! Run every fuzz test of the workspace with, for example, a hundred thousand cases each:
//!
//! ```text
//! TAPIN_FUZZ_CASES=100000 cargo test --release --workspace fuzz_
//! ```

#![allow(dead_code, unreachable_pub)] // Each test binary uses a different part of this module.

use proptest::prelude::*;
use proptest::test_runner::Config;

/// The environment variable that sets the number of cases of every fuzz test.
pub const CASES_VAR: &str = "TAPIN_FUZZ_CASES";

/// The proptest configuration of a fuzz test: `TAPIN_FUZZ_CASES` cases, or `default` (small
/// enough for `cargo test` in debug).
pub fn config(default: u32) -> Config {
    let cases = std::env::var(CASES_VAR)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default);
    Config::with_cases(cases)
}

/// One structure-blind change to a byte string. Positions are taken modulo the length they
/// apply to, so any `usize` names some position.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// Flips one bit.
    FlipBit { at: usize, bit: u8 },
    /// Overwrites one byte.
    SetByte { at: usize, value: u8 },
    /// Keeps only the first `len % (n + 1)` bytes.
    Truncate { len: usize },
    /// Inserts bytes.
    Insert { at: usize, bytes: Vec<u8> },
    /// Removes up to `len` bytes.
    Remove { at: usize, len: usize },
    /// Copies a range to another position (a repeated field or chunk).
    Duplicate { from: usize, len: usize, to: usize },
    /// Appends bytes.
    Append(Vec<u8>),
}

/// Byte values that sit on the edges of length and tag fields.
pub fn interesting_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        Just(0u8),
        Just(1),
        Just(2),
        Just(3),
        Just(4),
        Just(6),
        Just(16),
        Just(17),
        Just(63),
        Just(64),
        Just(65),
        Just(0x7f),
        Just(0x80),
        Just(0xfe),
        Just(0xff),
        any::<u8>(),
    ]
}

/// Short byte strings, mostly of edge values.
pub fn some_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(interesting_byte(), 0..=max)
}

/// One [`Mutation`].
pub fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::FlipBit { at, bit }),
        2 => (any::<usize>(), interesting_byte()).prop_map(|(at, value)| Mutation::SetByte { at, value }),
        2 => any::<usize>().prop_map(|len| Mutation::Truncate { len }),
        1 => (any::<usize>(), some_bytes(8)).prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        1 => (any::<usize>(), 1usize..16).prop_map(|(at, len)| Mutation::Remove { at, len }),
        1 => (any::<usize>(), 1usize..64, any::<usize>())
            .prop_map(|(from, len, to)| Mutation::Duplicate { from, len, to }),
        1 => some_bytes(16).prop_map(Mutation::Append),
    ]
}

/// One to four [`Mutation`]s.
pub fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    proptest::collection::vec(mutation(), 1..=4)
}

/// Applies `m` to `bytes`.
pub fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let n = bytes.len();
    match m {
        Mutation::FlipBit { at, bit } if n > 0 => bytes[at % n] ^= 1 << (bit % 8),
        Mutation::SetByte { at, value } if n > 0 => bytes[at % n] = *value,
        Mutation::FlipBit { .. } | Mutation::SetByte { .. } => {}
        Mutation::Truncate { len } => bytes.truncate(len % (n + 1)),
        Mutation::Insert { at, bytes: new } => {
            let at = at % (n + 1);
            bytes.splice(at..at, new.iter().copied());
        }
        Mutation::Remove { at, len } => {
            let at = at % (n + 1);
            bytes.drain(at..(at + len).min(n));
        }
        Mutation::Duplicate { from, len, to } if n > 0 => {
            let from = from % n;
            let copy = bytes[from..(from + len).min(n)].to_vec();
            let to = to % (n + 1);
            bytes.splice(to..to, copy);
        }
        Mutation::Duplicate { .. } => {}
        Mutation::Append(more) => bytes.extend_from_slice(more),
    }
}

/// `bytes` with every mutation of `ms` applied in turn.
pub fn mutated(bytes: &[u8], ms: &[Mutation]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for m in ms {
        apply(&mut out, m);
    }
    out
}

/// SHA-256 (FIPS 180-4), for re-sealing mutated automerge chunks with a valid checksum so that a
/// mutation reaches the parser behind the checksum. Kept here so the tests need no new
/// dependency; checked against the standard's test vectors below.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in msg.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 32];
    for (i, word) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&word.to_be_bytes());
    }
    out
}

/// The automerge chunks of a concatenation, each as (start, header length, end): magic (4),
/// checksum (4), type (1), LEB128 length, data. `None` if the bytes are not a well-formed
/// sequence of chunks.
pub fn chunks(bytes: &[u8]) -> Option<Vec<Chunk>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let rest = &bytes[at..];
        if rest.len() < 9 || rest[..4] != MAGIC {
            return None;
        }
        let (len, leb) = leb128(&rest[9..])?;
        let header = 9 + leb;
        let end = at
            .checked_add(header)?
            .checked_add(usize::try_from(len).ok()?)?;
        if end > bytes.len() {
            return None;
        }
        out.push(Chunk {
            start: at,
            header,
            end,
        });
        at = end;
    }
    Some(out)
}

/// Where one automerge chunk sits in a byte string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk {
    /// Offset of its magic bytes.
    pub start: usize,
    /// Length of its header (magic, checksum, type, length).
    pub header: usize,
    /// Offset just past its data.
    pub end: usize,
}

impl Chunk {
    /// Its bytes within `all`.
    pub fn bytes<'a>(&self, all: &'a [u8]) -> &'a [u8] {
        &all[self.start..self.end]
    }
}

/// automerge's chunk magic bytes.
pub const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];

fn leb128(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, b) in bytes.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// Rewrites the checksum of the single chunk `chunk` (type byte, length and data as they are
/// now), so that automerge gets past its checksum check and parses the contents. A chunk whose
/// header no longer parses is left alone.
pub fn reseal(chunk: &mut [u8]) {
    if chunk.len() < 9 {
        return;
    }
    let Some((len, leb)) = leb128(&chunk[9..]) else {
        return;
    };
    let header = 9 + leb;
    let Some(end) = usize::try_from(len)
        .ok()
        .and_then(|len| header.checked_add(len))
    else {
        return;
    };
    if end > chunk.len() {
        return;
    }
    // The checksum is the first four bytes of SHA-256 over the type, the length (as automerge
    // writes it: shortest LEB128) and the data.
    let mut hashed = vec![chunk[8]];
    hashed.extend_from_slice(&leb128_bytes(len));
    hashed.extend_from_slice(&chunk[header..end]);
    let sum = sha256(&hashed);
    chunk[4..8].copy_from_slice(&sum[..4]);
}

/// `n` as unsigned LEB128, shortest form, as automerge writes lengths.
pub fn leb128_bytes(mut n: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

/// The device key made from `seed` repeated: distinct seeds, distinct devices.
pub fn key(seed: u8) -> tapin_core::identity::DeviceKey {
    tapin_core::identity::DeviceKey::from_secret([seed; 32])
}

/// What a device signs over its side's heads, as docs/PROTOCOL.md gives it: this context, then
/// the heads in ascending order. Written from the specification, not taken from
/// `tapin_core::sync`, so that the tests check the code against it.
pub fn heads_message(heads: &[[u8; 32]]) -> Vec<u8> {
    const HEADS_CONTEXT: &[u8] = b"tapin side heads v1\0";
    let mut sorted = heads.to_vec();
    sorted.sort();
    let mut msg = HEADS_CONTEXT.to_vec();
    for h in sorted {
        msg.extend_from_slice(&h);
    }
    msg
}
