//! How use cases read documents: [`Reader`] outside a transaction (through the store's checked
//! cache of decoded documents), [`Writer`] inside one (the latest state, under the write lock),
//! both behind [`Docs`] so that lookups are written once. Also the lookups themselves: a person by
//! name, a record by id prefix, a relationship's records from every place.

use automerge::{AutoCommit, Automerge, ChangeHash};
use serde::Serialize;
use tapin_core::docs::{self, DocError, JournalDoc, Place, PrivateDoc};
use tapin_core::model::{JournalEntry, Records, Relationship, SideRecords};
use tapin_core::time::Day;
use tapin_core::views::journal::{Query, search};
use tapin_core::{DocId, Id};
use tapin_store::JournalHits;
use tapin_store::{Store, Txn};

use crate::error::{Error, Result};

/// The format of the decoded documents cached in the store's `views` table; a release that
/// changes the record types changes this, and older caches are simply decoded again. Version 2:
/// records keyed by id and read one by one (a document with unreadable records is never cached).
const VIEW_CACHE_FORMAT: &[u8] = b"tapin-view-json-2\n";

/// A decoded document, as the view cache keeps it.
pub(crate) trait Decoded: Default + Serialize + serde::de::DeserializeOwned {
    /// Whether every record of the document was read: only then may it be cached.
    fn fully_read(&self) -> bool;
}

impl Decoded for PrivateDoc {
    fn fully_read(&self) -> bool {
        self.unreadable() == 0
    }
}

impl Decoded for SideRecords {
    fn fully_read(&self) -> bool {
        self.unreadable() == 0
    }
}

/// Where a use case reads documents from.
pub(crate) trait Docs {
    /// Its cached decoded form, checked against the document as it is now (`None` for a
    /// document that is not stored). Asking costs a small query, never a load of the document.
    fn cached(&mut self, doc: &DocId) -> Result<Option<Vec<u8>>>;

    /// Decodes the document itself (`None` if it is not stored), and offers the decoded form to
    /// the cache.
    fn decode<T: Decoded>(
        &mut self,
        doc: &DocId,
        decode: impl FnOnce(&Automerge) -> Result<T, DocError>,
    ) -> Result<Option<T>>;

    /// A document's decoded contents: decoding a large automerge document into records costs far
    /// more than reading JSON, so the decoded form is kept beside the document, keyed by the
    /// document's version, and used while it is current.
    fn view<T: Decoded>(
        &mut self,
        doc: DocId,
        decode: impl FnOnce(&Automerge) -> Result<T, DocError>,
    ) -> Result<T> {
        if let Some(bytes) = self.cached(&doc)?
            && let Some(json) = bytes.strip_prefix(VIEW_CACHE_FORMAT)
            && let Ok(value) = serde_json::from_slice(json)
        {
            return Ok(value);
        }
        Ok(self.decode(&doc, decode)?.unwrap_or_default())
    }

    /// The private document.
    fn private(&mut self) -> Result<PrivateDoc> {
        self.view(DocId::Private, docs::read_private)
    }

    /// The journal's documents, each read whole (no view cache: the journal's index serves
    /// searches, and whole reads are for exports, imports and a relationship's deletion): every
    /// week document, and the single `journal` of a home not split yet (a read-only one).
    fn journal_parts(&mut self) -> Result<Vec<(DocId, JournalDoc)>>;

    /// The whole journal, every document's entries together (unreadable ones counted).
    fn journal(&mut self) -> Result<JournalDoc> {
        let mut whole = JournalDoc::default();
        for (_, part) in self.journal_parts()? {
            whole.entries.absorb(part.entries);
        }
        Ok(whole)
    }

    /// The journal entries `by` finds in the search index, each with its document; `None` when
    /// the index cannot answer as it is (a reader of a home whose index is stale or missing).
    fn journal_index_lookup(&mut self, by: &Lookup) -> Result<Option<Vec<(Id, DocId)>>>;

    /// One journal entry, read from its document as this reader sees it.
    fn journal_entry(&mut self, doc: DocId, id: Id) -> Result<Option<JournalEntry>>;

    /// The journal entries an id prefix or a relationship finds, each with its document: from
    /// the search index when it can answer, else by reading the journal's documents.
    fn journal_lookup(&mut self, by: &Lookup) -> Result<Vec<(Id, DocId, JournalEntry)>> {
        let Some(found) = self.journal_index_lookup(by)? else {
            let mut out = Vec::new();
            for (doc, part) in self.journal_parts()? {
                for (id, e) in part.entries.iter() {
                    if finds(by, *id, e) {
                        out.push((*id, doc, e.clone()));
                    }
                }
            }
            out.sort_by_key(|(id, _, _)| *id);
            return Ok(out);
        };
        let mut out = Vec::with_capacity(found.len());
        for (id, doc) in found {
            if let Some(entry) = self.journal_entry(doc, id)? {
                out.push((id, doc, entry));
            }
        }
        Ok(out)
    }

    /// Searches the journal: the entries [`search`] finds, newest first, how many in all and the
    /// first `limit`. Through the index when it is current, else over the documents.
    fn search_journal(&mut self, query: &Query, limit: usize) -> Result<JournalHits>;

    /// [`Docs::search_journal`] by reading every journal document.
    fn search_journal_read(&mut self, query: &Query, limit: usize) -> Result<JournalHits> {
        let journal = self.journal()?;
        let found = search(&journal, query);
        Ok(JournalHits {
            total: found.len(),
            entries: found
                .into_iter()
                .take(limit)
                .map(|(id, e)| (id, e.clone()))
                .collect(),
        })
    }

    /// My shared side of one relationship.
    fn side(&mut self, rel: Id) -> Result<SideRecords> {
        self.view(DocId::Side(rel), |d| docs::read_side(d, rel))
    }

    /// My replica of the friend's side of one relationship (empty until synced). A replica this
    /// build cannot read at all (written under a newer schema, or damaged here) does not fail the
    /// use case: it comes back empty, with the reason, and everything else still shows.
    fn replica(&mut self, rel: Id) -> Result<TheirSide> {
        match self.view(DocId::Replica(rel), |d| docs::read_replica(d, rel)) {
            Ok(records) => Ok(TheirSide {
                records,
                unreadable: None,
            }),
            Err(err) => {
                let why = match &err {
                    Error::Doc(DocError::TooNew { found, .. }) => format!(
                        "their side was written by a newer tapin (document schema {found}); update tapin to read it"
                    ),
                    _ => format!(
                        "their side cannot be read on this device: {}",
                        crate::error::chain(&err)
                    ),
                };
                tracing::warn!(relationship = %rel, "{why}");
                Ok(TheirSide {
                    records: SideRecords::default(),
                    unreadable: Some(why),
                })
            }
        }
    }

    /// The records of every relationship, from both places: `(place, records)` for the private
    /// records and for the shared side of each relationship.
    fn all_records(&mut self, private: &PrivateDoc) -> Result<Vec<(Place, SideRecords)>> {
        let mut out = Vec::new();
        for (&rel, recs) in &private.records {
            out.push((Place::Private(rel), recs.clone()));
            out.push((Place::Shared(rel), self.side(rel)?));
        }
        Ok(out)
    }

    /// The records to list: those of `person` if given (whatever its status), else of every
    /// active relationship; from both places, each with its relationship.
    fn listed_records(
        &mut self,
        private: &PrivateDoc,
        person: Option<&str>,
    ) -> Result<Vec<(Place, Relationship, SideRecords)>> {
        let only = person.map(|p| find_person(private, p)).transpose()?;
        let mut out = Vec::new();
        for (&id, rel) in &private.relationships {
            let wanted = match &only {
                Some((only, _)) => *only == id,
                None => rel.is_active(),
            };
            if !wanted {
                continue;
            }
            let mine = private.records.get(&id).cloned().unwrap_or_default();
            out.push((Place::Private(id), rel.clone(), mine));
            out.push((Place::Shared(id), rel.clone(), self.side(id)?));
        }
        Ok(out)
    }
}

/// What [`Docs::journal_lookup`] looks for.
pub(crate) use tapin_store::JournalLookup as Lookup;

/// Whether `by` finds the entry `id`, `e` (reading the documents rather than the index).
fn finds(by: &Lookup, id: Id, e: &JournalEntry) -> bool {
    match by {
        Lookup::Prefix(prefix) => id.to_string().starts_with(prefix.as_str()),
        Lookup::About(rel) => e.about.contains(rel),
    }
}

/// The journal's documents as `names` lists them, in order: week documents, and the single
/// `journal` (which reads as empty once retired).
fn journal_docs(names: Vec<DocId>) -> Vec<DocId> {
    names
        .into_iter()
        .filter(|d| matches!(d, DocId::Journal | DocId::JournalWeek(_)))
        .collect()
}

/// Reads one of the journal's documents.
fn read_part(doc: DocId, am: &Automerge) -> Result<JournalDoc, DocError> {
    match doc {
        DocId::Journal => docs::read_journal(am),
        _ => docs::read_journal_week(am, doc),
    }
}

/// Reads outside a transaction, through the view cache. What it decoded is cached by
/// [`Reader::finish`], once the use case has succeeded: a failed one writes nothing, not even a
/// cache.
pub(crate) struct Reader<'s> {
    store: &'s Store,
    pending: Vec<Pending>,
    /// Whether the journal's search index is current, once known.
    index_current: Option<bool>,
}

/// A decoded document to cache, with the version and heads it was decoded at.
pub(crate) type Pending = (DocId, i64, Vec<ChangeHash>, Vec<u8>);

/// The view-cache bytes of a decoded document, if it may be cached: the JSON holds the readable
/// records only, so a document with records this build could not read is decoded every time and
/// the count of them is never lost.
fn cacheable<T: Decoded>(value: &T) -> Option<Vec<u8>> {
    let mut bytes = VIEW_CACHE_FORMAT.to_vec();
    (value.fully_read() && serde_json::to_writer(&mut bytes, value).is_ok()).then_some(bytes)
}

/// Stores decoded documents for the next use case. The store keeps one only if it is of the
/// document's current version and heads, so one made before a later write is dropped.
pub(crate) fn keep(store: &Store, pending: Vec<Pending>) {
    for (doc, version, heads, bytes) in pending {
        if let Err(err) = store.put_view(&doc, version, &heads, &bytes) {
            // Only a cache: the next read decodes again.
            tracing::debug!("could not cache the decoded {doc}: {err}");
        }
    }
}

impl<'s> Reader<'s> {
    pub(crate) fn new(store: &'s Store) -> Self {
        Reader {
            store,
            pending: Vec::new(),
            index_current: None,
        }
    }

    /// The store itself, for what is not a document (signed heads, stored bytes).
    pub(crate) fn store(&self) -> &'s Store {
        self.store
    }

    /// Stores the decoded documents read, for the next use case.
    pub(crate) fn finish(self) {
        keep(self.store, self.pending);
    }

    /// A document's decoded contents read from the document itself, never from the view cache:
    /// for what must fail on a damaged document rather than repeat a cached copy (an export,
    /// which people keep as their backup).
    pub(crate) fn uncached<T: Default>(
        &self,
        doc: DocId,
        decode: impl FnOnce(&Automerge) -> Result<T, DocError>,
    ) -> Result<T> {
        match self.store.load(&doc).map_err(|e| Error::Load {
            doc,
            source: Box::new(e),
        })? {
            Some(am) => Ok(decode(&am)?),
            None => Ok(T::default()),
        }
    }
}

impl Reader<'_> {
    /// Tells this reader whether the journal's search index is current, as its caller just
    /// found (bringing it up to date if it could): it is not looked up again.
    pub(crate) fn journal_index_is_current(&mut self, current: bool) {
        self.index_current = Some(current);
    }

    /// Whether the search index can answer as it is: it exists and nothing changed since it
    /// was made (a reader cannot bring it up to date; [`crate::Home`] does that before reading).
    /// Looked up once per reader.
    fn index_current(&mut self) -> Result<bool> {
        if let Some(current) = self.index_current {
            return Ok(current);
        }
        let current =
            self.store.has_journal_index() && self.store.stale_journal_index()?.is_empty();
        self.index_current = Some(current);
        Ok(current)
    }
}

impl Docs for Reader<'_> {
    fn cached(&mut self, doc: &DocId) -> Result<Option<Vec<u8>>> {
        Ok(self.store.cached_view(doc)?)
    }

    fn journal_parts(&mut self) -> Result<Vec<(DocId, JournalDoc)>> {
        let mut parts = Vec::new();
        for doc in journal_docs(self.store.documents()?) {
            parts.push((doc, self.uncached(doc, |am| read_part(doc, am))?));
        }
        Ok(parts)
    }

    fn journal_index_lookup(&mut self, by: &Lookup) -> Result<Option<Vec<(Id, DocId)>>> {
        if !self.index_current()? {
            return Ok(None);
        }
        Ok(Some(self.store.journal_lookup(by)?))
    }

    fn journal_entry(&mut self, doc: DocId, id: Id) -> Result<Option<JournalEntry>> {
        self.uncached(doc, |am| docs::get_entry(am, doc, id))
    }

    fn search_journal(&mut self, query: &Query, limit: usize) -> Result<JournalHits> {
        if self.index_current()?
            && let Some(hits) = self.store.search_journal(query, limit)?
        {
            return Ok(hits);
        }
        self.search_journal_read(query, limit)
    }

    fn decode<T: Decoded>(
        &mut self,
        doc: &DocId,
        decode: impl FnOnce(&Automerge) -> Result<T, DocError>,
    ) -> Result<Option<T>> {
        let Some((am, version)) = self.store.load_versioned(doc).map_err(|e| Error::Load {
            doc: *doc,
            source: Box::new(e),
        })?
        else {
            return Ok(None);
        };
        let value = decode(&am)?;
        if let Some(bytes) = cacheable(&value) {
            self.pending.push((*doc, version, am.get_heads(), bytes));
        }
        Ok(Some(value))
    }
}

/// Reads and writes inside one transaction: every read is of the latest state, under the write
/// lock, so what a use case changes it has read inside its write. What it decoded is offered to
/// the view cache once the transaction has committed ([`Writer::decoded`]).
pub(crate) struct Writer<'t, 's> {
    txn: &'t mut Txn<'s>,
    pending: Vec<Pending>,
}

impl<'t, 's> Writer<'t, 's> {
    pub(crate) fn new(txn: &'t mut Txn<'s>) -> Self {
        Writer {
            txn,
            pending: Vec::new(),
        }
    }

    /// The documents decoded in this transaction, to [`keep`] once it has committed.
    pub(crate) fn decoded(self) -> Vec<Pending> {
        self.pending
    }

    /// Edits one document in this transaction.
    pub(crate) fn update<T>(
        &mut self,
        doc: DocId,
        f: impl FnOnce(&mut AutoCommit) -> Result<T>,
    ) -> Result<T> {
        self.txn.update(&doc, f)
    }

    /// One record as of this transaction.
    pub(crate) fn record<H: autosurgeon::Hydrate + tapin_core::validate::Validate>(
        &mut self,
        place: Place,
        collection: docs::Collection,
        id: Id,
    ) -> Result<Option<H>> {
        match self.txn.doc(&place.doc())? {
            Some(d) => Ok(docs::get_record(d, place, collection, id)?),
            None => Ok(None),
        }
    }

    /// A document's version as of this transaction (0 if it is not stored). This loads the
    /// document into the transaction: for documents the use case writes anyway.
    pub(crate) fn version(&mut self, doc: &DocId) -> Result<i64> {
        Ok(self.txn.version(doc)?)
    }

    /// The transaction, for meta entries and changes from elsewhere.
    pub(crate) fn txn(&mut self) -> &mut Txn<'s> {
        self.txn
    }
}

impl Docs for Writer<'_, '_> {
    fn cached(&mut self, doc: &DocId) -> Result<Option<Vec<u8>>> {
        Ok(self.txn.cached_view(doc)?)
    }

    fn journal_parts(&mut self) -> Result<Vec<(DocId, JournalDoc)>> {
        let mut parts = Vec::new();
        for doc in journal_docs(self.txn.documents()?) {
            if let Some(am) = self.txn.doc(&doc)? {
                parts.push((doc, read_part(doc, am)?));
            }
        }
        Ok(parts)
    }

    fn journal_index_lookup(&mut self, by: &Lookup) -> Result<Option<Vec<(Id, DocId)>>> {
        // A writable store always has the index; under the write lock it can be made current.
        self.txn.refresh_journal_index()?;
        Ok(Some(self.txn.journal_lookup(by)?))
    }

    fn journal_entry(&mut self, doc: DocId, id: Id) -> Result<Option<JournalEntry>> {
        match self.txn.doc(&doc)? {
            Some(am) => Ok(docs::get_entry(am, doc, id)?),
            None => Ok(None),
        }
    }

    fn search_journal(&mut self, query: &Query, limit: usize) -> Result<JournalHits> {
        match self.txn.search_journal(query, limit)? {
            Some(hits) => Ok(hits),
            None => self.search_journal_read(query, limit),
        }
    }

    fn decode<T: Decoded>(
        &mut self,
        doc: &DocId,
        decode: impl FnOnce(&Automerge) -> Result<T, DocError>,
    ) -> Result<Option<T>> {
        let (value, heads) = match self.txn.doc(doc)? {
            Some(am) => (decode(am)?, am.get_heads()),
            None => return Ok(None),
        };
        if let Some(bytes) = cacheable(&value) {
            let version = self.txn.version(doc)?;
            self.pending.push((*doc, version, heads, bytes));
        }
        Ok(Some(value))
    }
}

/// My replica of a friend's side, as the views read it.
#[derive(Debug, Default)]
pub(crate) struct TheirSide {
    /// What of it this build could read (empty until it first arrives).
    pub(crate) records: SideRecords,
    /// Why none of it could be read, when the whole document could not be.
    pub(crate) unreadable: Option<String>,
}

/// What a page could not read: records of mine and of friends' sides that this build could not
/// read (written by a newer tapin, or damaged), and friends' sides it could not read at all. Part
/// of every page's `--json`, and said in words by [`Unreadable::lines`].
#[derive(Debug, Default, Clone, Serialize)]
pub struct Unreadable {
    /// My records that could not be read.
    pub mine: usize,
    /// Records of friends' sides that could not be read.
    pub theirs: usize,
    /// Friends' sides that could not be read at all.
    pub sides: Vec<UnreadableSide>,
}

/// A friend's side this build could not read at all.
#[derive(Debug, Clone, Serialize)]
pub struct UnreadableSide {
    /// My relationship with them.
    pub relationship: Id,
    /// What I call them.
    pub name: String,
    /// Why.
    pub why: String,
}

impl Unreadable {
    /// Counts what of `theirs`, the side of the friend I call `name`, could not be read.
    pub(crate) fn add_theirs(&mut self, relationship: Id, name: &str, theirs: &TheirSide) {
        self.theirs += theirs.records.unreadable();
        if let Some(why) = &theirs.unreadable {
            self.sides.push(UnreadableSide {
                relationship,
                name: name.to_owned(),
                why: why.clone(),
            });
        }
    }

    /// The sum of several.
    pub fn total<'a>(all: impl IntoIterator<Item = &'a Unreadable>) -> Unreadable {
        let mut total = Unreadable::default();
        for u in all {
            total.mine += u.mine;
            total.theirs += u.theirs;
            total.sides.extend(u.sides.iter().cloned());
        }
        total
    }

    /// The same in words, one line each (none when everything was read).
    pub fn lines(&self) -> Vec<String> {
        let records = |n: usize| {
            if n == 1 {
                "1 record".to_owned()
            } else {
                format!("{n} records")
            }
        };
        let mut out = Vec::new();
        if self.mine > 0 {
            out.push(format!(
                "{} of yours could not be read by this version of tapin (written by a newer \
                 version, or damaged); they are kept as they are.",
                records(self.mine)
            ));
        }
        if self.theirs > 0 {
            out.push(format!(
                "{} shared with you could not be read by this version of tapin (written by a \
                 newer version, or damaged); they are kept as they are.",
                records(self.theirs)
            ));
        }
        for side in &self.sides {
            out.push(format!("{}: {}.", side.name, side.why));
        }
        out
    }
}

/// Finds a relationship by exact name, then unique name prefix, then id prefix. Names match
/// whatever their case and accents ("zoe" finds "Zoë"). A name that matches no one is answered
/// with the closest name there is, if one is close.
pub(crate) fn find_person(private: &PrivateDoc, query: &str) -> Result<(Id, Relationship)> {
    let q = crate::words::fold(query);
    if q.is_empty() {
        return Err(Error::malformed(
            "no person given; name someone, e.g. `Jordan`",
        ));
    }
    let all: Vec<(Id, &Relationship, String)> = private
        .relationships
        .iter()
        .map(|(id, r)| (*id, r, crate::words::fold(&r.name)))
        .collect();
    let pick = |matches: Vec<&(Id, &Relationship, String)>| -> Option<Result<(Id, Relationship)>> {
        match matches.as_slice() {
            [] => None,
            [(id, rel, _)] => Some(Ok((*id, (*rel).clone()))),
            _ => {
                let names: Vec<String> = matches
                    .iter()
                    .map(|(id, r, _)| format!("{} ({})", r.name, id.short()))
                    .collect();
                Some(Err(Error::not_found(format!(
                    "{query:?} matches several people: {}; be more specific or use the id",
                    names.join(", ")
                ))))
            }
        }
    };
    let matching = |f: &dyn Fn(&(Id, &Relationship, String)) -> bool| {
        all.iter().filter(|r| f(r)).collect::<Vec<_>>()
    };
    if let Some(found) = pick(matching(&|(_, _, name)| *name == q)) {
        return found;
    }
    if let Some(found) = pick(matching(&|(_, _, name)| name.starts_with(&q))) {
        return found;
    }
    if let Some(found) = pick(matching(&|(id, _, _)| id.to_string().starts_with(&q))) {
        return found;
    }
    let closest = all
        .iter()
        .map(|(_, r, name)| (strsim::normalized_damerau_levenshtein(name, &q), &r.name))
        .filter(|(score, _)| *score >= 0.5)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    Err(Error::not_found(match closest {
        Some((_, name)) => format!(
            "no one called {query:?}; did you mean {name:?}? (`tapin people` lists everyone)"
        ),
        None => format!(
            "no one called {query:?}; see `tapin people`, or add them with `tapin person add {query:?}`"
        ),
    }))
}

/// Picks the one id that starts with `prefix` from `ids`, naming `what` in errors.
pub(crate) fn unique_prefix(ids: impl Iterator<Item = Id>, prefix: &str, what: &str) -> Result<Id> {
    let p = prefix.trim().to_lowercase();
    if !p.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Error::malformed(format!(
            "{what} id {prefix:?} is not an id; ids are hex digits (0-9 and a-f), like 3fa2c81e"
        )));
    }
    if p.len() < 4 {
        return Err(Error::malformed(format!(
            "{what} id {prefix:?} is too short; give at least 4 characters of the id"
        )));
    }
    let mut found: Vec<Id> = ids.filter(|id| id.to_string().starts_with(&p)).collect();
    found.sort();
    found.dedup();
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(Error::not_found(format!("no {what} with id {prefix:?}"))),
        _ => Err(Error::not_found(format!(
            "{what} id {prefix:?} is ambiguous: it matches {} ids; give more characters",
            found.len()
        ))),
    }
}

/// Finds one record by id prefix across every place, with `pick` choosing the collection.
pub(crate) fn find_record<T: Clone>(
    places: &[(Place, SideRecords)],
    prefix: &str,
    what: &str,
    pick: impl Fn(&SideRecords) -> &Records<T>,
) -> Result<(Place, Id, T)> {
    let ids = places
        .iter()
        .flat_map(|(_, recs)| pick(recs).keys().copied());
    let id = unique_prefix(ids, prefix, what)?;
    for (place, recs) in places {
        if let Some(found) = pick(recs).get(&id) {
            return Ok((*place, id, found.clone()));
        }
    }
    Err(Error::not_found(format!("no {what} with id {prefix:?}")))
}

/// One relationship's three record sets, as the views that show both sides read them.
pub(crate) struct BothSides {
    pub(crate) id: Id,
    pub(crate) rel: Relationship,
    /// My shared side.
    pub(crate) shared: SideRecords,
    /// My private records.
    pub(crate) kept: SideRecords,
    /// My replica of their shared side (empty until it arrives).
    pub(crate) replica: SideRecords,
    /// Why their side could not be read at all, if it could not.
    pub(crate) replica_unreadable: Option<String>,
}

impl BothSides {
    /// Loads `person`'s relationship and its records from both places and the replica.
    pub(crate) fn load(docs: &mut impl Docs, private: &PrivateDoc, person: &str) -> Result<Self> {
        let (id, rel) = find_person(private, person)?;
        let theirs = docs.replica(id)?;
        Ok(BothSides {
            id,
            rel,
            shared: docs.side(id)?,
            kept: private.records.get(&id).cloned().unwrap_or_default(),
            replica: theirs.records,
            replica_unreadable: theirs.unreadable,
        })
    }

    /// What of this relationship's records could not be read.
    pub(crate) fn unreadable(&self) -> Unreadable {
        let mut u = Unreadable {
            mine: self.shared.unreadable() + self.kept.unreadable(),
            theirs: self.replica.unreadable(),
            ..Unreadable::default()
        };
        if let Some(why) = &self.replica_unreadable {
            u.sides.push(UnreadableSide {
                relationship: self.id,
                name: self.rel.name.clone(),
                why: why.clone(),
            });
        }
        u
    }

    /// Their side, if anything of it ever arrived: views then read from my logs alone.
    pub(crate) fn theirs(&self) -> Option<&SideRecords> {
        (!self.replica.is_empty()).then_some(&self.replica)
    }

    /// The last contact either side logged (interactions and kept rituals).
    pub(crate) fn last_contact(&self) -> Option<Day> {
        last_contact(&self.kept, &self.shared, self.theirs())
    }
}

/// The last contact logged with a friend, by me in either place or by them on their side: the
/// one rule every page uses.
pub(crate) fn last_contact(
    kept: &SideRecords,
    shared: &SideRecords,
    theirs: Option<&SideRecords>,
) -> Option<Day> {
    use tapin_core::views::touch;
    touch::last_contact(kept, Some(shared)).max(theirs.and_then(|t| touch::last_contact(t, None)))
}
