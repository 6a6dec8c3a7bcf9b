//! Found while reading what `check_strict` and `SavedDoc::load` reach in automerge 0.12: a
//! compressed change chunk (type 2) is inflated whole, with no limit, while its header is
//! parsed, before its checksum is checked. A few bytes of DEFLATE can stand for a great many:
//! with fixed Huffman codes each 13 bits repeat 258 bytes (about 160 to 1; dynamic codes reach
//! about 1,000 to 1). A paired friend's `Sync` frame or `Snapshot` (up to the 64 MiB frame cap)
//! can thus make a node inflate some 10 to 60 GB, and `Session::receive` does so before it can
//! refuse anything. In a debug build, a 1 MiB chunk took 10.7 s and raised the peak resident
//! memory by 420 MiB before `check_strict` refused it.
//!
//! tapin now inflates what is compressed itself first, within a budget in proportion to the
//! input (`tapin_core::saved::check_chunks`), and refuses the rest before automerge sees it. The
//! test (its own binary, since it measures the process's peak memory) keeps it that way.

mod support;

use tapin_core::saved::{self, check_strict};

/// The process's peak resident memory so far, in KiB (Linux).
fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("VmHWM")
}

/// Writes bits least significant first, as DEFLATE does.
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    fn put(&mut self, value: u64, n: u32) {
        self.acc |= value << self.n;
        self.n += n;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    /// A Huffman code, which DEFLATE writes most significant bit first.
    fn code(&mut self, code: u64, n: u32) {
        let reversed = (0..n).fold(0, |r, i| r | ((code >> i) & 1) << (n - 1 - i));
        self.put(reversed, n);
    }

    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

/// One DEFLATE block with fixed codes: a zero byte, then `repeats` copies of "258 bytes from
/// distance 1". It inflates to `1 + 258 * repeats` zero bytes.
fn deflate_zeros(repeats: usize) -> Vec<u8> {
    let mut b = Bits::default();
    b.put(1, 1); // the last block
    b.put(1, 2); // fixed Huffman codes
    b.code(0x30, 8); // literal 0
    for _ in 0..repeats {
        b.code(0xc5, 8); // length 258 (code 285)
        b.code(0, 5); // distance 1
    }
    b.code(0, 7); // end of block
    b.finish()
}

/// A compressed change chunk holding `data`: magic, a checksum (any: it is checked after
/// inflating), type 2, LEB128 length, data.
fn compressed_chunk(data: &[u8]) -> Vec<u8> {
    let mut chunk = vec![0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, 2];
    chunk.extend_from_slice(&support::leb128_bytes(data.len() as u64));
    chunk.extend_from_slice(data);
    chunk
}

#[test]
fn a_compressed_chunk_costs_memory_in_proportion_to_its_size() {
    // 128 KiB that inflate to about 21 MB.
    let chunk = compressed_chunk(&deflate_zeros(80_000));
    let before = peak_kib();
    let refused = check_strict(&chunk).is_err();
    let grown = peak_kib().saturating_sub(before);
    assert!(refused, "zeros are not a change");
    // The budget the input gets (tapin_core::saved), twice over for a growing buffer, and a
    // little for the rest.
    let budget = chunk.len() * saved::MAX_INFLATION + saved::INFLATION_FLOOR;
    let allowed = 2 * budget as u64 / 1024 + 2 * 1024;
    assert!(
        grown <= allowed,
        "checking a {} KiB chunk raised peak memory by {grown} KiB (allowed {allowed} KiB)",
        chunk.len() / 1024
    );
}
