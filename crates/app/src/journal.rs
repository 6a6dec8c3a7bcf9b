//! The private journal. Entries live in the journal document, which has no path to any other
//! device.

use serde::Serialize;
use tapin_core::docs;
use tapin_core::model::JournalEntry;
use tapin_core::views::journal::{Query, extract_tags, search};
use tapin_core::{DocId, Id};

use crate::error::{Error, Result, invalid};
use crate::home::{Home, checked, random_id};
use crate::reading::{Docs, find_person, unique_prefix};

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
            w.update(DocId::Journal, |d| Ok(docs::put_entry(d, id, &entry)?))?;
            Ok(EntrySaved { id, entry })
        })
    }

    /// Stars or unstars an entry, by id prefix.
    pub fn star_entry(&self, entry: &str, starred: bool) -> Result<EntrySaved> {
        self.write(|w| {
            let journal = w.journal()?;
            let id = unique_prefix(journal.entries.keys().copied(), entry, "journal entry")?;
            let e = w.update(DocId::Journal, |d| {
                let mut e: JournalEntry = docs::get_entry(d, id)?.ok_or_else(|| {
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
        self.read(|r| {
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
            let journal = r.journal()?;
            let found = search(&journal, &query);
            let total = found.len();
            let entries = found
                .into_iter()
                .take(find.limit)
                .map(|(id, entry)| EntryRow {
                    id,
                    entry: entry.clone(),
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
                })
                .collect();
            Ok(Found { total, entries })
        })
    }
}
