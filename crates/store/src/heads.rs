//! Each document's heads as the store last computed them (`doc_heads`), and the digests that
//! let a row of `doc_heads` or `view_cache` prove it is what the store wrote.
//!
//! The digests are keyed BLAKE3 hashes (`derive_key` mode, one context string per table) over
//! the row's document name, version, heads and (for views) bytes. Their key is no secret: they
//! catch damage (a flipped bit, a torn page, a row moved to another document), not someone who
//! can write the database, who could as well rewrite the documents themselves.

use automerge::ChangeHash;
use rusqlite::{Connection, OptionalExtension, params};
use tapin_core::DocId;

/// The `derive_key` context of a `doc_heads` row's digest.
const HEADS_CONTEXT: &str = "tapin-store 2025-11-29 doc_heads row";

/// The `derive_key` context of a `view_cache` row's digest.
const VIEW_CONTEXT: &str = "tapin-store 2025-11-29 view_cache row";

/// The bytes of one head.
const HASH_LEN: usize = 32;

/// The heads as stored: their 32-byte hashes, sorted, concatenated. Sorting makes the encoding
/// canonical, so two encodings are equal exactly when the sets of heads are.
pub(crate) fn encode(heads: &[ChangeHash]) -> Vec<u8> {
    let mut sorted = heads.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    sorted.iter().flat_map(|hash| hash.0).collect()
}

/// The heads in an encoding made by [`encode`]; `None` if it is not one.
pub(crate) fn decode(bytes: &[u8]) -> Option<Vec<ChangeHash>> {
    if !bytes.len().is_multiple_of(HASH_LEN) {
        return None;
    }
    let heads: Vec<ChangeHash> = bytes
        .chunks_exact(HASH_LEN)
        .map(ChangeHash::try_from)
        .collect::<Result<_, _>>()
        .ok()?;
    (encode(&heads) == bytes).then_some(heads)
}

/// Feeds `parts` to a hasher with each part's length in front, so no two different rows hash
/// the same bytes.
fn digest(context: &str, parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new_derive_key(context);
    for part in parts {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    *hasher.finalize().as_bytes()
}

/// The digest of a `doc_heads` row.
fn heads_digest(doc: &str, version: i64, heads: &[u8]) -> [u8; 32] {
    digest(
        HEADS_CONTEXT,
        &[doc.as_bytes(), &version.to_le_bytes(), heads],
    )
}

/// The digest of a `view_cache` row.
pub(crate) fn view_digest(doc: &str, version: i64, heads: &[u8], bytes: &[u8]) -> [u8; 32] {
    digest(
        VIEW_CONTEXT,
        &[doc.as_bytes(), &version.to_le_bytes(), heads, bytes],
    )
}

/// Whether `digest` is the digest of a `view_cache` row with these contents.
pub(crate) fn view_digest_matches(
    doc: &str,
    version: i64,
    heads: &[u8],
    bytes: &[u8],
    digest: &[u8],
) -> bool {
    <[u8; 32]>::try_from(digest)
        .is_ok_and(|digest| digest == view_digest(doc, version, heads, bytes))
}

/// Records `heads` as the heads of `doc` at `version`. Only ever called with heads the store
/// computed itself, from a write it is committing or a strict load, in the same transaction.
pub(crate) fn write(
    conn: &Connection,
    doc: &DocId,
    version: i64,
    heads: &[ChangeHash],
) -> rusqlite::Result<()> {
    let name = doc.to_string();
    let heads = encode(heads);
    let digest = heads_digest(&name, version, &heads);
    conn.prepare_cached(
        "INSERT INTO doc_heads (doc, version, heads, digest) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (doc) DO UPDATE SET version = excluded.version, heads = excluded.heads,
                                         digest = excluded.digest",
    )?
    .execute(params![name, version, heads, digest])
    .map(drop)
}

/// The heads recorded for `doc` and the version they are of, if there is a row and it is intact.
/// A damaged row reads as none (with a warning): the heads are then unknown, which costs a
/// cache miss, never a wrong answer.
pub(crate) fn read(conn: &Connection, doc: &DocId) -> rusqlite::Result<Option<(i64, Vec<u8>)>> {
    let name = doc.to_string();
    let row = conn
        .prepare_cached("SELECT version, heads, digest FROM doc_heads WHERE doc = ?1")?
        .query_row([&name], |row| {
            // Read loosely: a damaged row is not an error of the read, only not to be used.
            Ok((
                row.get::<_, i64>(0).ok(),
                row.get::<_, Vec<u8>>(1).ok(),
                row.get::<_, Vec<u8>>(2).ok(),
            ))
        })
        .optional()?;
    let Some((version, heads, digest)) = row else {
        return Ok(None);
    };
    if let (Some(version), Some(heads), Some(digest)) = (version, heads, digest)
        && digest == heads_digest(&name, version, &heads)
        && decode(&heads).is_some()
    {
        return Ok(Some((version, heads)));
    }
    tracing::warn!(%doc, "ignoring a damaged record of the document's heads");
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(n: u8) -> ChangeHash {
        ChangeHash([n; 32])
    }

    #[test]
    fn heads_encode_canonically_and_decode_only_what_encode_makes() {
        let forward = encode(&[hash(1), hash(2)]);
        assert_eq!(forward, encode(&[hash(2), hash(1)]));
        assert_eq!(forward, encode(&[hash(2), hash(1), hash(2)]));
        assert_eq!(decode(&forward), Some(vec![hash(1), hash(2)]));
        assert_eq!(decode(&[]), Some(vec![]));

        let mut backward = hash(2).0.to_vec();
        backward.extend(hash(1).0);
        assert_eq!(decode(&backward), None, "not sorted");
        assert_eq!(decode(&forward[1..]), None, "not whole hashes");
        let mut twice = forward.clone();
        twice.extend(hash(2).0);
        assert_eq!(decode(&twice), None, "a repeated head");
    }

    #[test]
    fn digests_cover_every_field() {
        let base = view_digest("journal", 7, &[1; 32], b"bytes");
        assert!(view_digest_matches("journal", 7, &[1; 32], b"bytes", &base));
        for other in [
            view_digest("private", 7, &[1; 32], b"bytes"),
            view_digest("journal", 8, &[1; 32], b"bytes"),
            view_digest("journal", 7, &[2; 32], b"bytes"),
            view_digest("journal", 7, &[1; 32], b"bytez"),
            // Moving bytes from one field to the next changes the digest too.
            view_digest("journa", 7, &[1; 32], b"bytes"),
        ] {
            assert_ne!(other, base);
        }
        assert!(!view_digest_matches(
            "journal",
            7,
            &[1; 32],
            b"bytes",
            &base[..31]
        ));
        assert_ne!(heads_digest("journal", 7, &[1; 32]), base);
    }
}
