//! Taking in automerge bytes from elsewhere — a friend's replica, an import, rows on disk — and
//! [`SavedDoc`]: a whole saved document together with the document it strictly loads as.
//!
//! automerge 0.12 trusts its input further than tapin can:
//!
//! - it **panics** on some chunks whose contents were changed and whose checksum was then made
//!   valid again (the checksum is the first four bytes of a SHA-256 anyone can compute);
//! - it **inflates** compressed data (a compressed change chunk, the DEFLATE-coded columns of a
//!   document or a bundle) whole, with no limit, before it checks anything: a few kilobytes can
//!   stand for gigabytes;
//! - it **skips**, unparsed and unchecked, a document chunk whose heads it already holds, so
//!   damaged bytes can be taken in whole.
//!
//! So every byte from elsewhere goes through [`check_strict`] first, which walks the chunks
//! itself: it verifies every chunk's checksum, and inflates what is compressed with a budget in
//! proportion to the input ([`MAX_INFLATION`], [`MAX_INFLATED`]) before automerge sees it. And
//! every call into automerge's parsing runs under [`guard`], which turns a panic into an error
//! ([`BytesError::Panicked`]) instead of taking the process down.
//!
//! Loading is the expensive step of taking in a document from elsewhere (a friend's first sync,
//! an import). Whoever checks the bytes has to load them anyway; keeping the loaded document next
//! to its bytes lets the next step (checking who wrote it, storing it) use that one load instead
//! of repeating it. The only way to build a [`SavedDoc`] is [`SavedDoc::load`], so the bytes and
//! the document always agree.

use std::cell::Cell;
use std::fmt;
use std::io::Read;
use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind};

use automerge::{ActorId, AutoCommit, Automerge, AutomergeError, ReadDoc};
use sha2::{Digest, Sha256};

/// The four bytes every automerge chunk starts with.
const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];

/// Compressed data in one input may inflate to at most this many times the input's size (plus
/// [`INFLATION_FLOOR`]). automerge's own compression of tapin's documents stays far below it:
/// its columns are already run-length and delta coded, and DEFLATE gains a few times more (4.6
/// times for a side of 5,000 interactions; a list of one string repeated 50,000 times, 170
/// times, but in a kilobyte that the floor covers).
pub const MAX_INFLATION: usize = 64;

/// What small inputs may always inflate to, whatever their size.
pub const INFLATION_FLOOR: usize = 1024 * 1024;

/// The most compressed data in one input may inflate to, whatever its size.
pub const MAX_INFLATED: usize = 512 * 1024 * 1024;

/// Bytes from elsewhere that are not taken in.
#[derive(Debug, thiserror::Error)]
pub enum BytesError {
    /// automerge refused them.
    #[error(transparent)]
    Automerge(#[from] AutomergeError),
    /// They are not well-formed automerge chunks, or one fails its checksum.
    #[error("malformed automerge data at byte {at}: {why}")]
    Malformed {
        /// Where the offending chunk starts in the input.
        at: usize,
        /// What is wrong with it.
        why: &'static str,
    },
    /// Their compressed data inflates beyond the budget for their size.
    #[error(
        "compressed automerge data at byte {at} inflates beyond {budget} bytes; refused as a \
         decompression bomb"
    )]
    TooInflated {
        /// Where the offending chunk starts in the input.
        at: usize,
        /// The budget it went over.
        budget: usize,
    },
    /// automerge panicked on them (it does on some crafted chunks); the panic was caught.
    #[error("automerge could not parse them: {0}")]
    Panicked(String),
}

impl BytesError {
    /// Whether this is automerge's `MissingDeps`: changes that build on others not in the input.
    pub fn is_missing_deps(&self) -> bool {
        matches!(self, BytesError::Automerge(AutomergeError::MissingDeps))
    }
}

thread_local! {
    /// Set while [`guard`] runs on this thread, so a panic hook can keep quiet about a panic
    /// that [`guard`] will catch and report as an error.
    static GUARDED: Cell<bool> = const { Cell::new(false) };
}

/// Whether the current thread is inside [`guard`]: a process's panic hook uses this to leave out
/// the message of a panic that becomes an error.
pub fn guarded() -> bool {
    GUARDED.with(Cell::get)
}

/// Runs `f`, a call into automerge's parsing of untrusted bytes, turning a panic into
/// [`BytesError::Panicked`]. Whatever `f` was working on when it panicked must be thrown away
/// (the callers here only ever panic on fresh documents or on copies).
pub fn guard<T>(f: impl FnOnce() -> Result<T, AutomergeError>) -> Result<T, BytesError> {
    let was = GUARDED.with(|g| g.replace(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(was));
    match result {
        Ok(result) => result.map_err(BytesError::Automerge),
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".to_owned());
            Err(BytesError::Panicked(message))
        }
    }
}

/// Checks that `bytes` (changes, bundles or saved documents, in any concatenation) are
/// well-formed chunks with valid checksums whose compressed parts stay within the budget, and
/// that automerge parses all of them whole, without keeping them. `load_incremental` and the sync
/// protocol skip what they cannot parse with only a log line; call this first to refuse it
/// instead. Changes that build on others not in `bytes` are fine here: whoever applies them
/// checks the dependencies.
pub fn check_strict(bytes: &[u8]) -> Result<(), BytesError> {
    let documents = check_chunks(bytes)?;
    // `load` refuses data that only partly parses; on its own it reports changes whose
    // predecessors are elsewhere as `MissingDeps`, which is expected.
    match guard(|| Automerge::load(bytes).map(drop)) {
        Err(e) if e.is_missing_deps() => {}
        other => other?,
    }
    parse_later_documents(bytes, &documents)
}

/// automerge skips, unparsed, a document chunk whose heads it already holds: parse every
/// document chunk after the first on its own, so that one that does not parse is refused.
fn parse_later_documents(bytes: &[u8], documents: &[Range<usize>]) -> Result<(), BytesError> {
    for range in documents.iter().skip(1) {
        guard(|| Automerge::load(&bytes[range.clone()]).map(drop))?;
    }
    Ok(())
}

/// Walks the chunks of `bytes`: each must be a whole chunk of a known type with a valid
/// checksum, and what is compressed in them must inflate within the budget for `bytes`' size.
/// Nothing is handed to automerge. Returns where the document chunks are.
pub fn check_chunks(bytes: &[u8]) -> Result<Vec<Range<usize>>, BytesError> {
    Ok(walk_chunks(bytes)?.documents)
}

/// What [`walk_chunks`] read on its way through some bytes.
struct Walk {
    /// Where the document chunks are.
    documents: Vec<Range<usize>>,
    /// Every actor that can have made a change in the bytes: the actors each document chunk
    /// lists (a document names each change's author by its place in that list, so no change in
    /// it is by anyone else) and each change chunk's author. `None` if a chunk's authors are not
    /// read here (a bundle).
    actors: Option<Vec<Vec<u8>>>,
    /// How many changes the bytes hold, when they are one document chunk whose count could be
    /// read (the rows of its changes' actor column).
    changes: Option<usize>,
}

/// [`check_chunks`], also reading who can have written the changes (see [`Walk`]), in the same
/// pass.
fn walk_chunks(bytes: &[u8]) -> Result<Walk, BytesError> {
    let budget = bytes
        .len()
        .saturating_mul(MAX_INFLATION)
        .saturating_add(INFLATION_FLOOR)
        .min(MAX_INFLATED);
    let mut inflated = Inflated { left: budget };
    let mut documents = Vec::new();
    let mut actors = Some(Vec::new());
    let mut changes = None;
    let mut chunks = 0;
    let mut at = 0;
    while at < bytes.len() {
        let chunk = Chunk::parse(&bytes[at..]).map_err(|why| BytesError::Malformed { at, why })?;
        let seen = chunk
            .check(&mut inflated)
            .map_err(|problem| problem.at(at, budget))?;
        match (&mut actors, seen.actors) {
            (Some(all), Some(these)) => all.extend(these),
            _ => actors = None,
        }
        changes = seen.changes;
        chunks += 1;
        if chunk.kind == DOCUMENT {
            documents.push(at..at + chunk.len);
        }
        at += chunk.len;
    }
    if let Some(all) = &mut actors {
        all.sort();
        all.dedup();
    }
    Ok(Walk {
        documents,
        actors,
        changes: changes.filter(|_| chunks == 1),
    })
}

/// What checking one chunk read of it.
#[derive(Default)]
struct Seen {
    /// The actors that can have made its changes (see [`Walk::actors`]); `None` if not read.
    actors: Option<Vec<Vec<u8>>>,
    /// How many changes a document chunk holds, if its changes' actor column could be read.
    changes: Option<usize>,
}

/// The budget left for inflating compressed data.
struct Inflated {
    left: usize,
}

impl Inflated {
    /// Inflates `data` (raw DEFLATE) within what is left of the budget.
    fn inflate(&mut self, data: &[u8]) -> Result<Vec<u8>, Problem> {
        let mut out = Vec::new();
        flate2::bufread::DeflateDecoder::new(data)
            .take(self.left as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|_| Problem::Malformed("compressed data that does not inflate"))?;
        if out.len() > self.left {
            return Err(Problem::TooInflated);
        }
        self.left -= out.len();
        Ok(out)
    }
}

/// What is wrong with one chunk, before it is placed in the input.
enum Problem {
    Malformed(&'static str),
    TooInflated,
}

impl Problem {
    fn at(self, at: usize, budget: usize) -> BytesError {
        match self {
            Problem::Malformed(why) => BytesError::Malformed { at, why },
            Problem::TooInflated => BytesError::TooInflated { at, budget },
        }
    }
}

/// Chunk types, as automerge numbers them.
const DOCUMENT: u8 = 0;
const CHANGE: u8 = 1;
const COMPRESSED: u8 = 2;
const BUNDLE: u8 = 3;

/// One chunk: magic, checksum, type, LEB128 length, data.
struct Chunk<'a> {
    checksum: [u8; 4],
    kind: u8,
    data: &'a [u8],
    /// Its whole length in the input, header included.
    len: usize,
}

impl<'a> Chunk<'a> {
    fn parse(bytes: &'a [u8]) -> Result<Self, &'static str> {
        if bytes.len() < 9 || bytes[..4] != MAGIC {
            return Err("not an automerge chunk");
        }
        let checksum = [bytes[4], bytes[5], bytes[6], bytes[7]];
        let kind = bytes[8];
        let mut r = Reader(&bytes[9..]);
        let len = r.leb()?;
        let header = bytes.len() - r.0.len();
        let data = r.take(len)?;
        Ok(Chunk {
            checksum,
            kind,
            data,
            len: header + data.len(),
        })
    }

    fn check(&self, inflated: &mut Inflated) -> Result<Seen, Problem> {
        match self.kind {
            DOCUMENT | CHANGE | BUNDLE => {
                if checksum(self.kind, self.data) != self.checksum {
                    return Err(Problem::Malformed("a checksum that does not match"));
                }
                match self.kind {
                    DOCUMENT => inflate_columns(self.data, Layout::Document, inflated),
                    BUNDLE => {
                        inflate_columns(self.data, Layout::Bundle, inflated)?;
                        Ok(Seen::default())
                    }
                    _ => Ok(change_author(self.data)),
                }
            }
            COMPRESSED => {
                // The checksum is that of the change chunk the data inflates to.
                let change = inflated.inflate(self.data)?;
                if checksum(CHANGE, &change) != self.checksum {
                    return Err(Problem::Malformed("a checksum that does not match"));
                }
                Ok(change_author(&change))
            }
            _ => Err(Problem::Malformed("a chunk of an unknown type")),
        }
    }
}

/// The author of a change chunk (its data, after the header): the actor after its dependencies.
/// Unread (`None`) if the data does not start that way; automerge refuses such a chunk anyway.
fn change_author(data: &[u8]) -> Seen {
    let mut r = Reader(data);
    let author = r.hashes().and_then(|()| {
        let len = r.leb()?;
        r.take(len)
    });
    Seen {
        actors: author.ok().map(|a| vec![a.to_vec()]),
        changes: None,
    }
}

/// The first four bytes of SHA-256 over the chunk type, the data's length (LEB128) and the data.
fn checksum(kind: u8, data: &[u8]) -> [u8; 4] {
    let mut header = vec![kind];
    push_leb128(&mut header, data.len() as u64);
    let hash = Sha256::new()
        .chain_update(&header)
        .chain_update(data)
        .finalize();
    [hash[0], hash[1], hash[2], hash[3]]
}

/// Appends `n` as unsigned LEB128, shortest form, as automerge writes lengths.
fn push_leb128(out: &mut Vec<u8>, mut n: u64) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Where a chunk keeps its columns.
#[derive(Clone, Copy)]
enum Layout {
    /// Actors, heads, change column metadata, op column metadata, then both columns' data.
    Document,
    /// Dependencies, actors, change column metadata and data, op column metadata and data.
    Bundle,
}

/// The column bit that says its data is DEFLATE-coded.
const DEFLATE: u64 = 0b1000;

/// The column spec of a document's changes' actor column (column 0, of actor indices), without
/// the DEFLATE bit.
const CHANGE_ACTOR_COLUMN: u64 = 1;

/// Inflates, within the budget, every DEFLATE-coded column of a document or bundle chunk. Of a
/// document, returns the actors it lists and how many changes its actor column holds.
fn inflate_columns(data: &[u8], layout: Layout, inflated: &mut Inflated) -> Result<Seen, Problem> {
    let malformed = Problem::Malformed;
    let mut r = Reader(data);
    let mut seen = Seen::default();
    match layout {
        Layout::Document => {
            seen.actors = Some(r.actors().map_err(malformed)?);
            r.hashes().map_err(malformed)?;
            let changes = r.columns().map_err(malformed)?;
            let ops = r.columns().map_err(malformed)?;
            seen.changes = r.inflate_columns(&changes, inflated)?;
            r.inflate_columns(&ops, inflated)?;
        }
        Layout::Bundle => {
            r.hashes().map_err(malformed)?;
            r.actors().map_err(malformed)?;
            let changes = r.columns().map_err(malformed)?;
            r.inflate_columns(&changes, inflated)?;
            let ops = r.columns().map_err(malformed)?;
            r.inflate_columns(&ops, inflated)?;
        }
    }
    // What follows (a document's head indices) is automerge's to check.
    Ok(seen)
}

/// The rows of a run-length coded column of unsigned numbers, as automerge writes them: runs of
/// a signed count, then one value repeated (count > 0), that many values (count < 0), or a
/// count of nulls (count 0). `None` if `data` is not that.
fn rle_rows(data: &[u8]) -> Option<usize> {
    let mut r = Reader(data);
    let mut rows: usize = 0;
    while !r.0.is_empty() {
        let count = r.sleb().ok()?;
        let n = match count {
            0 => usize::try_from(r.leb().ok()?).ok()?,
            c if c > 0 => {
                r.leb().ok()?;
                usize::try_from(c).ok()?
            }
            c => {
                let n = usize::try_from(c.unsigned_abs()).ok()?;
                for _ in 0..n {
                    r.leb().ok()?;
                }
                n
            }
        };
        rows = rows.checked_add(n)?;
    }
    Some(rows)
}

/// Reads the parts of a chunk.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    /// An unsigned LEB128 number, as automerge writes them (at most 64 bits).
    fn leb(&mut self) -> Result<u64, &'static str> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = self.0.split_first().ok_or("a number cut short")?;
            self.0 = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("a number too large")
    }

    fn take(&mut self, len: u64) -> Result<&'a [u8], &'static str> {
        let len = usize::try_from(len).map_err(|_| "a length too large")?;
        if len > self.0.len() {
            return Err("a chunk cut short");
        }
        let (head, tail) = self.0.split_at(len);
        self.0 = tail;
        Ok(head)
    }

    /// A count of items, each at least `min` bytes long: never more than the bytes left allow.
    fn count(&mut self, min: usize) -> Result<usize, &'static str> {
        let n = usize::try_from(self.leb()?).map_err(|_| "a count too large")?;
        if n.saturating_mul(min) > self.0.len() {
            return Err("a count larger than the chunk");
        }
        Ok(n)
    }

    /// A signed LEB128 number (at most 64 bits).
    fn sleb(&mut self) -> Result<i64, &'static str> {
        let mut value = 0i64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = self.0.split_first().ok_or("a number cut short")?;
            self.0 = rest;
            value |= i64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                if shift + 7 < 64 && byte & 0x40 != 0 {
                    value |= -1i64 << (shift + 7);
                }
                return Ok(value);
            }
        }
        Err("a number too large")
    }

    fn actors(&mut self) -> Result<Vec<Vec<u8>>, &'static str> {
        let n = self.count(1)?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let len = self.leb()?;
            out.push(self.take(len)?.to_vec());
        }
        Ok(out)
    }

    fn hashes(&mut self) -> Result<(), &'static str> {
        let n = self.count(32)?;
        self.take(32 * n as u64)?;
        Ok(())
    }

    /// Column metadata: (spec, data length) per column.
    fn columns(&mut self) -> Result<Vec<(u64, u64)>, &'static str> {
        let n = self.count(2)?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push((self.leb()?, self.leb()?));
        }
        Ok(out)
    }

    /// Inflates, within the budget, each of `columns` that is DEFLATE-coded; returns the rows
    /// of a document's changes' actor column, if it is among them and reads as one.
    fn inflate_columns(
        &mut self,
        columns: &[(u64, u64)],
        inflated: &mut Inflated,
    ) -> Result<Option<usize>, Problem> {
        let mut rows = None;
        for &(spec, len) in columns {
            let data = self.take(len).map_err(Problem::Malformed)?;
            let actor_column = spec & !DEFLATE == CHANGE_ACTOR_COLUMN;
            if spec & DEFLATE != 0 {
                let plain = inflated.inflate(data)?;
                if actor_column {
                    rows = rle_rows(&plain);
                }
            } else if actor_column {
                rows = rle_rows(data);
            }
        }
        Ok(rows)
    }
}

/// Bytes that load, strictly and completely, as a document — and that document. See the module
/// docs.
#[derive(Clone)]
pub struct SavedDoc {
    bytes: Vec<u8>,
    doc: AutoCommit,
    /// Who can have written its changes, read from the chunks' headers ([`Walk::actors`]).
    actors: Option<Vec<ActorId>>,
    /// How many changes it holds, if read from its one document chunk ([`Walk::changes`]).
    changes: Option<usize>,
}

impl fmt::Debug for SavedDoc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SavedDoc")
            .field("bytes", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

impl SavedDoc {
    /// Loads `bytes` strictly: anything that is not well-formed chunks with valid checksums,
    /// inflates beyond the budget, does not parse whole, whose head hashes do not verify, or
    /// whose changes depend on changes it lacks, is an error; so is a panic in automerge.
    pub fn load(bytes: Vec<u8>) -> Result<Self, BytesError> {
        let walk = walk_chunks(&bytes)?;
        // `load` refuses data that only partly parses (`load_incremental` would skip it).
        let mut doc = guard(|| AutoCommit::load(&bytes))?;
        if !doc.document().get_missing_deps(&[]).is_empty() {
            return Err(AutomergeError::MissingDeps.into());
        }
        parse_later_documents(&bytes, &walk.documents)?;
        Ok(SavedDoc {
            bytes,
            doc,
            actors: walk
                .actors
                .map(|all| all.iter().map(|a| ActorId::from(a.as_slice())).collect()),
            changes: walk.changes,
        })
    }

    /// Checks that every change in the document was made by an actor `allowed` admits, and
    /// returns how many changes it holds; or the first actor that made one and is not admitted.
    ///
    /// When every actor its chunks name is admitted, no change can be by anyone else, and the
    /// chunk headers read while checking the bytes answer without walking the changes; a
    /// document that also names others (or a chunk whose authors were not read) is walked
    /// change by change, as is one whose number of changes was not read.
    pub fn check_authors(&mut self, allowed: impl Fn(&ActorId) -> bool) -> Result<usize, ActorId> {
        if self
            .actors
            .as_ref()
            .is_some_and(|actors| actors.iter().all(&allowed))
            && let Some(changes) = self.changes
        {
            return Ok(changes);
        }
        let changes = self.doc.document().get_changes_meta(&[]);
        if let Some(meta) = changes.iter().find(|meta| !allowed(meta.actor.as_ref())) {
            return Err(meta.actor.as_ref().clone());
        }
        Ok(changes.len())
    }

    /// The bytes, exactly as given to [`SavedDoc::load`].
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The loaded document.
    pub fn document(&mut self) -> &Automerge {
        self.doc.document()
    }

    /// The bytes and the loaded document.
    pub fn into_parts(self) -> (Vec<u8>, AutoCommit) {
        (self.bytes, self.doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::ROOT;
    use automerge::transaction::Transactable;

    fn saved() -> Vec<u8> {
        let mut d = AutoCommit::new();
        d.put(ROOT, "k", 1).unwrap();
        d.commit();
        d.put(ROOT, "k", 2).unwrap();
        d.save()
    }

    /// `chunk` with its checksum made valid again after a change.
    fn reseal(chunk: &mut [u8]) {
        let parsed = Chunk::parse(chunk).unwrap();
        let (kind, sum) = (parsed.kind, checksum(parsed.kind, parsed.data));
        assert_ne!(kind, COMPRESSED);
        chunk[4..8].copy_from_slice(&sum);
    }

    #[test]
    fn keeps_the_bytes_and_their_document() {
        let bytes = saved();
        let heads = Automerge::load(&bytes).unwrap().get_heads();
        let mut s = SavedDoc::load(bytes.clone()).unwrap();
        assert_eq!(s.bytes(), bytes);
        assert_eq!(s.document().get_changes(&[]).len(), 2);
        let (b, mut doc) = s.into_parts();
        assert_eq!(b, bytes);
        assert_eq!(doc.get_heads(), heads);
    }

    #[test]
    fn refuses_damaged_partial_and_incomplete_bytes() {
        let bytes = saved();
        let mut flipped = bytes.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0xff;
        assert!(SavedDoc::load(flipped).is_err());
        let mut trailing = bytes.clone();
        trailing.extend_from_slice(b"garbage");
        assert!(SavedDoc::load(trailing).is_err());
        assert!(SavedDoc::load(bytes[..bytes.len() / 2].to_vec()).is_err());

        // A change on its own whose predecessor is missing.
        let mut d = AutoCommit::new();
        d.put(ROOT, "a", 1).unwrap();
        d.commit();
        let first = d.get_heads();
        d.put(ROOT, "a", 2).unwrap();
        d.commit();
        let second = d.save_after(&first);
        assert!(
            SavedDoc::load(second.clone())
                .unwrap_err()
                .is_missing_deps()
        );
        check_strict(&second).unwrap();
    }

    /// automerge skips a document chunk whose heads it already holds, unparsed: a damaged one
    /// after a good one was taken in whole, with or without a checksum made to match.
    #[test]
    fn a_damaged_chunk_after_a_good_one_is_refused() {
        let bytes = saved();
        let mut damaged = bytes.clone();
        let middle = damaged.len() / 2;
        damaged[middle] ^= 0x20;
        let twice = [bytes.clone(), damaged.clone()].concat();
        assert!(matches!(
            check_strict(&twice),
            Err(BytesError::Malformed { at, .. }) if at == bytes.len()
        ));
        assert!(SavedDoc::load(twice).is_err());
        reseal(&mut damaged);
        assert!(
            check_strict(&damaged).is_err(),
            "on its own it does not parse"
        );
        let resealed = [bytes.clone(), damaged].concat();
        assert!(check_strict(&resealed).is_err());
        assert!(SavedDoc::load(resealed).is_err());
        check_strict(&[bytes.clone(), bytes.clone()].concat()).unwrap();
    }

    /// automerge 0.12 panics on this change with its actor id's length set to 0 and its checksum
    /// made valid again (found by fuzzing; `crates/core/tests/found_loader_panics.rs` has more).
    #[test]
    fn a_panic_in_automerge_is_an_error() {
        let mut d = AutoCommit::new().with_actor(automerge::ActorId::from([1u8; 32].as_slice()));
        d.put(ROOT, "name", "Maya").unwrap();
        let mut change = d.save_after(&[]);
        change[11] ^= 1 << 5;
        reseal(&mut change);
        assert!(matches!(
            check_strict(&change),
            Err(BytesError::Panicked(_))
        ));
        assert!(matches!(
            SavedDoc::load(change),
            Err(BytesError::Panicked(_))
        ));
        assert!(!guarded());
    }

    /// The authors read from the chunks' headers answer as walking every change does: the same
    /// count, and a foreign author found, whatever the shape of the bytes.
    #[test]
    fn authors_read_from_the_headers_agree_with_the_walk() {
        let (a, b, c) = (
            ActorId::from([1u8; 32].as_slice()),
            ActorId::from([2u8; 32].as_slice()),
            ActorId::from([3u8; 32].as_slice()),
        );
        // Two devices taking turns irregularly, so the actor column holds runs of one value and
        // runs of literals; enough changes that automerge compresses the columns.
        let mut d = AutoCommit::new().with_actor(a.clone());
        for i in 0..3_000 {
            let actor = if i % 7 == 0 || i % 11 == 0 { &b } else { &a };
            d.set_actor(actor.clone());
            d.put(ROOT, format!("key {}", i % 50), i as i64).unwrap();
            d.commit();
        }
        let heads = d.get_heads();
        d.set_actor(a.clone());
        d.put(ROOT, "later", 1).unwrap();
        d.commit();
        let count = d.get_changes(&[]).len();
        let whole = d.save();
        let uncompressed = d.save_nocompress();
        let mut at_heads = AutoCommit::load(&whole).unwrap();
        let older = at_heads.fork_at(&heads).unwrap().save();
        let with_chunks = [older, d.save_after(&heads)].concat();
        let ours = |x: &ActorId| *x == a || *x == b;
        for (bytes, one_document) in [(whole, true), (uncompressed, true), (with_chunks, false)] {
            let mut s = SavedDoc::load(bytes).unwrap();
            // Read from the headers: the walk is left for when they do not answer.
            assert_eq!(s.changes, one_document.then_some(count));
            assert_eq!(s.actors, Some(vec![a.clone(), b.clone()]));
            assert_eq!(s.check_authors(ours), Ok(count));
            assert_eq!(s.check_authors(|x| *x == a || *x == c), Err(b.clone()));
        }
        assert_eq!(at_heads.get_changes(&[]).len(), count);
    }

    #[test]
    fn compressed_data_inflates_only_within_its_budget() {
        // Raw DEFLATE of 4 MiB of zeros: a few kilobytes.
        let mut zeros = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut zeros, &vec![0u8; 4 * 1024 * 1024]).unwrap();
        let data = zeros.finish().unwrap();
        let mut chunk = MAGIC.to_vec();
        chunk.extend_from_slice(&[0, 0, 0, 0, COMPRESSED]);
        push_leb128(&mut chunk, data.len() as u64);
        chunk.extend_from_slice(&data);
        let err = check_strict(&chunk).unwrap_err();
        assert!(matches!(err, BytesError::TooInflated { .. }), "{err}");

        // Real documents, compressed by automerge, are well within it.
        let mut d = AutoCommit::new();
        for i in 0..2_000 {
            d.put(ROOT, format!("key {i}"), "the same words again and again")
                .unwrap();
        }
        let bytes = d.save();
        check_strict(&bytes).unwrap();
        SavedDoc::load(bytes).unwrap();
        let compressed = d.save_after(&[]);
        check_strict(&compressed).unwrap();
        // A bundle (automerge's experimental format, with DEFLATE-coded columns when large).
        let hashes = d
            .get_changes(&[])
            .iter()
            .map(|c| c.hash())
            .collect::<Vec<_>>();
        let bundle = d.bundle(hashes).unwrap();
        check_chunks(bundle.bytes()).unwrap();
    }
}
