//! [`SavedDoc`]: a whole saved document together with the document it strictly loads as.
//!
//! Loading is the expensive step of taking in a document from elsewhere (a friend's first sync,
//! an import). Whoever checks the bytes has to load them anyway; keeping the loaded document next
//! to its bytes lets the next step (checking who wrote it, storing it) use that one load instead
//! of repeating it. The only way to build one is [`SavedDoc::load`], so the bytes and the document
//! always agree.

use std::fmt;

use automerge::{AutoCommit, Automerge, AutomergeError, ReadDoc};

/// Bytes that load, strictly and completely, as a document — and that document. See the module
/// docs.
#[derive(Clone)]
pub struct SavedDoc {
    bytes: Vec<u8>,
    doc: AutoCommit,
}

impl fmt::Debug for SavedDoc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SavedDoc")
            .field("bytes", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

/// Checks that `bytes` (changes or saved documents, in any concatenation) parse whole, without
/// keeping them. `load_incremental` and the sync protocol skip what they cannot parse with only a
/// log line; call this first to refuse it instead. Changes that build on others not in `bytes`
/// are fine here: whoever applies them checks the dependencies.
pub fn check_strict(bytes: &[u8]) -> Result<(), AutomergeError> {
    // `load` refuses data that only partly parses; on its own it reports changes whose
    // predecessors are elsewhere as `MissingDeps`, which is expected.
    match Automerge::load(bytes) {
        Ok(_) | Err(AutomergeError::MissingDeps) => Ok(()),
        Err(e) => Err(e),
    }
}

impl SavedDoc {
    /// Loads `bytes` strictly: anything that does not parse whole, whose head hashes do not
    /// verify, or whose changes depend on changes it lacks, is an error.
    pub fn load(bytes: Vec<u8>) -> Result<Self, AutomergeError> {
        // `load` refuses data that only partly parses (`load_incremental` would skip it).
        let mut doc = AutoCommit::load(&bytes)?;
        if !doc.document().get_missing_deps(&[]).is_empty() {
            return Err(AutomergeError::MissingDeps);
        }
        Ok(SavedDoc { bytes, doc })
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
        assert!(matches!(
            SavedDoc::load(second),
            Err(AutomergeError::MissingDeps)
        ));
    }
}
