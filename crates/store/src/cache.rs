//! Each [`Store`](crate::Store)'s memory of documents: least recently used first out, bounded
//! by a budget of bytes.
//!
//! A `Store` keeps the documents it has read or written, each as of the version it was at, so
//! that the next read of one costs a small query plus the chunks written since instead of a full
//! load. A long-running process (`tapin serve` with a hundred friends) reads many documents, so
//! what it keeps is bounded: when keeping a document takes the cache over its budget, the least
//! recently used documents are dropped until it fits, and a document larger than the whole budget
//! is not kept at all. A budget of 0 keeps nothing. The budget is [`DEFAULT_CACHE_BUDGET`] unless
//! [`Store::set_cache_budget`](crate::Store::set_cache_budget) changes it.
//!
//! The cache may also be bounded by a number of documents
//! ([`Store::set_cache_documents`](crate::Store::set_cache_documents); unbounded unless set): a
//! process whose reads go round many documents, each read again only after all the others (a
//! `tapin serve` answering a hundred friends in turn), gains nothing from keeping more of them
//! than it uses at once, and keeping them all makes its memory grow with every friend's history.
//!
//! **The cost of a document is its stored size**: the bytes of its snapshot and of the chunks
//! after it, as of the version kept ([`Layout::stored_bytes`]). The store knows it from every
//! load without walking the document, it is the same for the same version in every process, and
//! it grows with the document's history, as its memory does. It is not the memory itself, which
//! automerge does not report: a loaded document takes 7–20 times its compressed stored encoding
//! (measured: see [`DEFAULT_CACHE_BUDGET`]), so the heap a full cache takes is that multiple of
//! its budget.
//!
//! The cache is only ever a shortcut. A document taken from it is used only after the caller has
//! checked, in the same SQL transaction, that no compaction replaced chunks it has not seen
//! ([`Cached`]'s version against the [`Layout`] read there), and only committed state is put in.

use automerge::{AutoCommit, ChangeHash};
use lru::LruCache;
use tapin_core::DocId;

use crate::rows::Layout;

/// The cache budget of a newly opened [`Store`](crate::Store): 8 MiB of stored documents.
///
/// A document costs its stored size (its snapshot and the chunks after it), which the store
/// knows from every load; automerge does not report the memory a document takes. Measured with a
/// counting allocator on automerge 0.12, a loaded document takes 18–20 times its stored size when
/// it holds records with short fields (a side, the private document) and 7–9 times when it holds
/// mostly long text (a journal), so a full cache takes roughly 60–160 MiB of heap.
///
/// The benchmark's home after three years of busy use stores 4.4 MiB of documents in all (a
/// 1.9 MiB journal, 143 sides of at most 6 KiB), so every document of a home like it stays in
/// memory for a command. A long-running process that goes round many documents bounds their
/// number as well ([`Store::set_cache_documents`](crate::Store::set_cache_documents)): `tapin
/// serve` keeps only those of the exchanges it may run at once.
pub const DEFAULT_CACHE_BUDGET: usize = 8 * 1024 * 1024;

/// What a [`Store`](crate::Store)'s memory of documents holds and how well it has served, since
/// the store was opened; see [`Store::cache_stats`](crate::Store::cache_stats).
///
/// A *read* is the first use of a stored document by a load, a compaction or a transaction: a
/// hit when it came from memory (plus any chunks written since), a miss when it was loaded in
/// full. Reading a document that is not stored counts as neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// The most bytes (stored size, see the module docs) the cache keeps.
    pub budget: usize,
    /// The bytes it keeps now; never more than `budget`.
    pub bytes: usize,
    /// The documents it keeps now.
    pub documents: usize,
    /// Reads served from memory.
    pub hits: u64,
    /// Reads that loaded the document in full: not kept, or compacted since it was kept.
    pub misses: u64,
    /// Documents dropped, least recently used first, to make room for another.
    pub evictions: u64,
    /// Documents not kept because they alone are larger than the budget.
    pub oversized: u64,
    /// The most documents it keeps, whatever their size; `usize::MAX` when only the budget
    /// bounds it.
    pub max_documents: usize,
}

impl CacheStats {
    /// The share of reads served from memory, from 0 to 1; `None` before any read.
    pub fn hit_rate(&self) -> Option<f64> {
        let reads = self.hits + self.misses;
        (reads > 0).then(|| self.hits as f64 / reads as f64)
    }
}

/// A document as of one version ([`Store::doc_version`](crate::Store::doc_version)).
pub(crate) struct Cached {
    version: i64,
    doc: AutoCommit,
    /// Its stored size at `version`.
    cost: usize,
}

impl Cached {
    /// Whether this is a state of the document laid out as `layout` that loading the chunks after
    /// `version` brings up to date: the chunks up to `version` are in it, and no snapshot covers
    /// chunks past `version` (a compaction that replaced chunks it never saw).
    fn usable(&self, layout: Layout) -> bool {
        layout.covers_upto <= self.version && self.version <= layout.last_chunk
    }
}

/// The documents one `Store` keeps, least recently used first out.
pub(crate) struct DocCache {
    /// Unbounded by count: the budget in bytes bounds it.
    entries: LruCache<DocId, Cached>,
    budget: usize,
    /// The most entries, whatever their cost.
    max_documents: usize,
    /// The sum of the entries' costs.
    bytes: usize,
    hits: u64,
    misses: u64,
    evictions: u64,
    oversized: u64,
}

impl DocCache {
    pub(crate) fn new(budget: usize) -> DocCache {
        DocCache {
            entries: LruCache::unbounded(),
            budget,
            max_documents: usize::MAX,
            bytes: 0,
            hits: 0,
            misses: 0,
            evictions: 0,
            oversized: 0,
        }
    }

    /// Takes `doc` out of the cache for a caller that will [`DocCache::keep`] it again once it is
    /// brought up to `layout`: the document and the version it is at, if it is kept and usable
    /// with `layout` (a hit); `None` otherwise (a miss), dropping what was kept if it is of no
    /// use any more.
    pub(crate) fn take(&mut self, doc: &DocId, layout: Layout) -> Option<(AutoCommit, i64)> {
        let taken = self.entries.pop(doc).and_then(|cached| {
            self.bytes -= cached.cost;
            cached
                .usable(layout)
                .then_some((cached.doc, cached.version))
        });
        self.count(taken.is_some());
        taken
    }

    /// A copy of `doc` and the version it is at, if it is kept and usable with `layout` (a hit,
    /// which makes it the most recently used); `None` otherwise (a miss). What is kept stays as
    /// it is: for a caller whose transaction may hold rows that are never committed.
    pub(crate) fn copy(&mut self, doc: &DocId, layout: Layout) -> Option<(AutoCommit, i64)> {
        let copy = self
            .entries
            .get(doc)
            .filter(|cached| cached.usable(layout))
            .map(|cached| (cached.doc.clone(), cached.version));
        self.count(copy.is_some());
        copy
    }

    fn count(&mut self, hit: bool) {
        if hit {
            self.hits += 1;
        } else {
            self.misses += 1;
        }
    }

    /// The heads of `doc` at `version`, if it is kept at that version. Not a read: neither
    /// counted nor made more recently used.
    pub(crate) fn heads_at(&mut self, doc: &DocId, version: i64) -> Option<Vec<ChangeHash>> {
        self.entries
            .peek_mut(doc)
            .filter(|cached| cached.version == version)
            .map(|cached| cached.doc.get_heads())
    }

    /// Keeps `current` as `doc` laid out as `layout` (committed rows only: its version is
    /// `layout.last_chunk`), the most recently used, in place of what was kept of it; then drops
    /// the least recently used documents until the cache is within its budget. A document larger
    /// than the budget is not kept.
    pub(crate) fn keep(&mut self, doc: DocId, layout: Layout, current: AutoCommit) {
        if let Some(old) = self.entries.pop(&doc) {
            self.bytes -= old.cost;
        }
        let cost = layout.stored_bytes();
        if cost > self.budget {
            self.oversized += 1;
            return;
        }
        self.entries.put(
            doc,
            Cached {
                version: layout.last_chunk,
                doc: current,
                cost,
            },
        );
        self.bytes += cost;
        self.fit();
    }

    /// Drops documents, least recently used first, until the cache is within its budget and its
    /// number of documents.
    fn fit(&mut self) {
        while self.bytes > self.budget || self.entries.len() > self.max_documents {
            let Some((_, dropped)) = self.entries.pop_lru() else {
                break;
            };
            self.bytes -= dropped.cost;
            self.evictions += 1;
        }
    }

    /// Changes the budget, dropping the least recently used documents until the cache is within
    /// it.
    pub(crate) fn set_budget(&mut self, budget: usize) {
        self.budget = budget;
        self.fit();
    }

    /// Changes the most documents kept, dropping the least recently used until the cache holds
    /// no more.
    pub(crate) fn set_max_documents(&mut self, max: usize) {
        self.max_documents = max;
        self.fit();
    }

    pub(crate) fn stats(&self) -> CacheStats {
        CacheStats {
            budget: self.budget,
            bytes: self.bytes,
            documents: self.entries.len(),
            hits: self.hits,
            misses: self.misses,
            evictions: self.evictions,
            oversized: self.oversized,
            max_documents: self.max_documents,
        }
    }
}

#[cfg(test)]
mod tests {
    use automerge::ROOT;
    use automerge::transaction::Transactable;
    use tapin_core::Id;

    use super::*;

    fn side(n: u8) -> DocId {
        DocId::Side(Id::from_bytes([n; 16]))
    }

    /// A layout at version `version` whose stored size is `bytes`.
    fn sized(version: i64, bytes: usize) -> Layout {
        Layout::compacted(bytes, version)
    }

    fn kept(cache: &DocCache) -> Vec<DocId> {
        // Least recently used first.
        cache.entries.iter().rev().map(|(doc, _)| *doc).collect()
    }

    #[test]
    fn keeping_drops_the_least_recently_used_until_within_the_budget() {
        let mut cache = DocCache::new(100);
        for n in 1..=3 {
            cache.keep(side(n), sized(1, 30), AutoCommit::new());
        }
        assert_eq!(cache.stats().bytes, 90);
        // Reading 1 makes 2 the least recently used.
        assert!(cache.copy(&side(1), sized(1, 30)).is_some());
        cache.keep(side(4), sized(1, 30), AutoCommit::new());
        assert_eq!(kept(&cache), [side(3), side(1), side(4)]);
        // One large enough to need two places.
        cache.keep(side(5), sized(1, 60), AutoCommit::new());
        assert_eq!(kept(&cache), [side(4), side(5)]);
        let stats = cache.stats();
        assert_eq!((stats.bytes, stats.documents, stats.evictions), (90, 2, 3));
    }

    #[test]
    fn a_document_larger_than_the_budget_is_not_kept_nor_its_older_version() {
        let mut cache = DocCache::new(100);
        cache.keep(side(1), sized(1, 40), AutoCommit::new());
        cache.keep(side(2), sized(1, 40), AutoCommit::new());
        cache.keep(side(1), sized(2, 101), AutoCommit::new());
        assert_eq!(kept(&cache), [side(2)]);
        let stats = cache.stats();
        assert_eq!((stats.bytes, stats.oversized, stats.evictions), (40, 1, 0));
        // Exactly the budget fits.
        cache.keep(side(1), sized(3, 100), AutoCommit::new());
        assert_eq!(kept(&cache), [side(1)]);
        assert_eq!(cache.stats().bytes, 100);
    }

    #[test]
    fn a_budget_of_zero_keeps_nothing_and_shrinking_the_budget_evicts() {
        let mut cache = DocCache::new(100);
        cache.keep(side(1), sized(1, 50), AutoCommit::new());
        cache.keep(side(2), sized(1, 50), AutoCommit::new());
        cache.set_budget(60);
        assert_eq!(kept(&cache), [side(2)]);
        cache.set_budget(0);
        assert!(kept(&cache).is_empty());
        assert_eq!(cache.stats().bytes, 0);
        cache.keep(side(3), sized(1, 1), AutoCommit::new());
        assert!(kept(&cache).is_empty());
        assert!(cache.take(&side(3), sized(1, 1)).is_none());
        let stats = cache.stats();
        assert_eq!((stats.evictions, stats.oversized, stats.misses), (2, 1, 1));
    }

    #[test]
    fn a_number_of_documents_bounds_the_cache_as_well_as_its_budget() {
        let mut cache = DocCache::new(100);
        for n in 1..=4 {
            cache.keep(side(n), sized(1, 10), AutoCommit::new());
        }
        cache.set_max_documents(3);
        assert_eq!(kept(&cache), [side(2), side(3), side(4)]);
        assert!(cache.copy(&side(2), sized(1, 10)).is_some());
        cache.keep(side(5), sized(1, 10), AutoCommit::new());
        assert_eq!(kept(&cache), [side(4), side(2), side(5)]);
        let stats = cache.stats();
        assert_eq!(
            (
                stats.documents,
                stats.bytes,
                stats.evictions,
                stats.max_documents
            ),
            (3, 30, 2, 3)
        );
        // The budget still bounds it too: 120 bytes in three documents is over it.
        cache.keep(side(6), sized(1, 90), AutoCommit::new());
        assert_eq!(kept(&cache), [side(5), side(6)]);
    }

    /// Guards the version check: a kept document is handed out only while the rows after its
    /// version are all chunks, and a taken one is kept again only by its caller.
    #[test]
    fn only_usable_versions_are_hits() {
        let mut cache = DocCache::new(1000);
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "n", 1).unwrap();
        cache.keep(side(1), sized(5, 10), doc);
        let chunks_since = Layout {
            chunks: 2,
            chunk_bytes: 4,
            last_chunk: 7,
            ..sized(5, 10)
        };
        assert_eq!(cache.copy(&side(1), chunks_since).map(|(_, v)| v), Some(5));
        // A snapshot covering chunk 6 replaced chunks the kept version never saw.
        assert!(cache.copy(&side(1), sized(6, 12)).is_none());
        // A version below the kept one: rows went missing.
        assert!(cache.copy(&side(1), sized(4, 10)).is_none());
        assert_eq!(kept(&cache), [side(1)], "a copy leaves it kept");
        assert!(cache.take(&side(1), sized(6, 12)).is_none());
        assert!(kept(&cache).is_empty(), "an unusable one is dropped");
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.misses, stats.bytes), (1, 3, 0));
        assert_eq!(stats.hit_rate(), Some(0.25));
    }
}
