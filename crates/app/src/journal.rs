//! The private journal. Entries live in one document per ISO week of the UTC date they were
//! written on ([`DocId::journal_for`]), none of which has a path to any other device: writing an
//! entry touches one small document however long the journal is. Searches, listings and id lookups
//! go through the journal's search index in `tapin.db` (derived from the documents, kept by the
//! store in the same transaction as every journal write, rebuilt when stale), so they load no
//! journal document at all.
//!
//! A home from before the split keeps its journal in one `journal` document: opening the home
//! moves its entries into week documents, once ([`split_journal`]).

use automerge::ActorId;
use serde::Serialize;
use tapin_core::docs;
use tapin_core::model::JournalEntry;
use tapin_core::views::journal::{Query, extract_tags};
use tapin_core::{DocId, Id};
use tapin_store::{MetaKey, Store};

use crate::error::{Error, Result, invalid};
use crate::home::{Home, checked, random_id};
use crate::reading::{Docs, Lookup, find_person, unique_prefix};

/// A journal entry saved.
#[derive(Debug, Clone, Serialize)]
pub struct EntrySaved {
    /// Its id.
    pub id: Id,
    /// The entry.
    pub entry: JournalEntry,
}

/// What to find in the journal.
#[derive(Debug, Clone, Default)]
pub struct Find {
    /// Words and `@tags` to search for (empty: list).
    pub text: Option<String>,
    /// Tags to list by.
    pub tags: Vec<String>,
    /// Only entries about this person.
    pub about: Option<String>,
    /// Only starred entries.
    pub starred: bool,
    /// At most this many.
    pub limit: usize,
}

/// One entry found.
#[derive(Debug, Clone, Serialize)]
pub struct EntryRow {
    /// Its id.
    pub id: Id,
    /// The entry.
    #[serde(flatten)]
    pub entry: JournalEntry,
    /// When it was written, local time, to the minute.
    pub written: String,
    /// Who it is about, by name.
    pub about_names: Vec<String>,
}

/// Entries found, newest first.
#[derive(Debug, Clone, Serialize)]
pub struct Found {
    /// How many match in all.
    pub total: usize,
    /// The first `limit` of them.
    pub entries: Vec<EntryRow>,
}

impl Home {
    /// Writes a journal entry. Tags are the `@words` in it plus `tags`; `about` names people.
    pub fn add_entry(
        &self,
        text: &str,
        about: &[String],
        tags: &[String],
        star: bool,
    ) -> Result<EntrySaved> {
        let text = text.trim().to_owned();
        if text.is_empty() {
            invalid!("the entry is empty; nothing was saved");
        }
        let mut all_tags = extract_tags(&text);
        for t in tags {
            let t = t.trim().trim_start_matches('@').to_lowercase();
            if !t.is_empty() && !all_tags.contains(&t) {
                all_tags.push(t);
            }
        }
        all_tags.sort();
        let at = self.stamp();
        let id = random_id()?;
        self.write(|w| {
            // The private document is needed only to resolve `about`: a large one costs a read.
            let about = if about.is_empty() {
                Vec::new()
            } else {
                let private = w.private()?;
                about
                    .iter()
                    .map(|p| find_person(&private, p).map(|(id, _)| id))
                    .collect::<Result<Vec<Id>>>()?
            };
            let entry = checked(
                "journal entry",
                JournalEntry {
                    at,
                    text,
                    tags: all_tags,
                    about,
                    starred: star,
                    principles: Vec::new(),
                },
            )?;
            w.update(DocId::journal_for(at), |d| {
                Ok(docs::put_entry(d, id, &entry)?)
            })?;
            Ok(EntrySaved { id, entry })
        })
    }

    /// Stars or unstars an entry, by id prefix.
    pub fn star_entry(&self, entry: &str, starred: bool) -> Result<EntrySaved> {
        self.write(|w| {
            let found = w.journal_lookup(&Lookup::Prefix(entry.trim().to_ascii_lowercase()))?;
            let id = unique_prefix(found.iter().map(|(id, _, _)| *id), entry, "journal entry")?;
            let doc = found
                .iter()
                .find(|(i, _, _)| *i == id)
                .map(|(_, doc, _)| *doc)
                .ok_or_else(|| Error::not_found(format!("journal entry {entry:?} was removed")))?;
            let e = w.update(doc, |d| {
                let mut e: JournalEntry = docs::get_entry(d, doc, id)?.ok_or_else(|| {
                    Error::not_found(format!("journal entry {entry:?} was removed"))
                })?;
                e.starred = starred;
                docs::put_entry(d, id, &e)?;
                Ok(e)
            })?;
            Ok(EntrySaved { id, entry: e })
        })
    }

    /// Lists or searches the journal, newest first.
    pub fn find_entries(&self, find: &Find) -> Result<Found> {
        let current = self.refresh_journal_index()?;
        self.read(|r| {
            r.journal_index_is_current(current);
            let private = r.private()?;
            let mut query = match &find.text {
                Some(text) => {
                    let q = Query::parse(text);
                    if q.terms.is_empty() && q.tags.is_empty() {
                        return Err(Error::malformed(
                            "search for something: words, or @tags (`tapin journal search walk @work`)",
                        ));
                    }
                    q
                }
                None => Query {
                    tags: find
                        .tags
                        .iter()
                        .map(|t| t.trim_start_matches('@').to_lowercase())
                        .collect(),
                    ..Query::default()
                },
            };
            query.about = find
                .about
                .as_deref()
                .map(|p| find_person(&private, p))
                .transpose()?
                .map(|(id, _)| id);
            query.starred_only = find.starred;
            let found = r.search_journal(&query, find.limit)?;
            let total = found.total;
            let entries = found
                .entries
                .into_iter()
                .map(|(id, entry)| EntryRow {
                    id,
                    written: crate::words::local_minute(entry.at.0),
                    about_names: entry
                        .about
                        .iter()
                        .map(|a| {
                            private
                                .relationships
                                .get(a)
                                .map_or_else(|| a.short(), |r| r.name.clone())
                        })
                        .collect(),
                    entry,
                })
                .collect();
            Ok(Found { total, entries })
        })
    }

    /// Brings the journal's search index up to date when a journal document changed without it
    /// (a home just split, an index deleted, a write by a tapin that did not index): one write
    /// transaction, only when something is stale, re-indexing only the documents that are.
    /// Returns whether the index is current now; a read-only home's stale index is not, and it
    /// is searched through its documents instead.
    pub(crate) fn refresh_journal_index(&self) -> Result<bool> {
        let store = self.store();
        if !store.has_journal_index() {
            return Ok(false);
        }
        if store.stale_journal_index()?.is_empty() {
            return Ok(true);
        }
        if store.is_read_only() {
            return Ok(false);
        }
        store.transaction(&self.device.actor(), |txn| {
            let n = txn.refresh_journal_index()?;
            tracing::debug!(documents = n, "re-indexed the journal");
            Ok::<_, Error>(true)
        })
    }
}

/// Moves the entries of a home's single `journal` document (releases before the split) into
/// week documents, and retires it, in one transaction: a crash leaves either the old journal as
/// it was or every entry moved. Each entry is copied value for value, fields this build does not
/// know and unreadable entries included. Returns whether it moved anything.
///
/// Cheap when there is nothing to do: two small queries, no load, on every open.
pub(crate) fn split_journal(store: &Store, actor: &ActorId) -> Result<bool> {
    if store.is_read_only() {
        return Ok(false);
    }
    let version = store.doc_version(&DocId::Journal)?;
    let done = version.to_string().into_bytes();
    if version == 0 || store.get_meta(MetaKey::JournalRetired)?.as_ref() == Some(&done) {
        return Ok(false);
    }
    store.transaction(actor, |txn| {
        // Under the write lock, again: another process may have done it.
        let Some(old) = txn.doc(&DocId::Journal)? else {
            return Ok(false);
        };
        let retired = docs::journal_retired(old);
        if !retired && docs::schema_of(old) > docs::SCHEMA {
            // Written by a newer tapin in a way this build does not know: left as it is (its
            // commands say so when they read it), and the home still opens.
            tracing::warn!("the journal document has a newer schema; not moving it");
            let version = txn.version(&DocId::Journal)?;
            txn.set_meta(MetaKey::JournalRetired, version.to_string().as_bytes())?;
            return Ok(false);
        }
        let plan = if retired {
            None
        } else {
            Some((docs::journal_split_plan(old)?, old.clone()))
        };
        if let Some((plan, old)) = plan {
            let entries: usize = plan.values().map(Vec::len).sum();
            for (week, keys) in &plan {
                txn.update(week, |d| {
                    docs::copy_journal_entries(&old, keys, d, *week).map_err(Error::from)
                })?;
            }
            txn.update(&DocId::Journal, |d| {
                docs::retire_journal(d).map_err(Error::from)
            })?;
            // The old journal's cached decoded copy holds every entry's words: it goes too.
            txn.drop_view(&DocId::Journal)?;
            tracing::info!(
                entries,
                weeks = plan.len(),
                "moved the journal into one document per week"
            );
        }
        let version = txn.version(&DocId::Journal)?;
        txn.set_meta(MetaKey::JournalRetired, version.to_string().as_bytes())?;
        Ok::<_, Error>(!retired)
    })
}
