//! What the journal's search index keeps of each entry, and which entries a change touched.
//!
//! The index (tables `journal_*` in `tapin.db`, kept by `tapin-store`) is derived data: rows
//! computed here from the week documents, never the other way round. Search asks the index for
//! candidates and then applies [`super::journal`]'s own test to them, so the index can narrow a
//! search but never change its answer.
//!
//! **Text** is indexed folded by [`fold`] (the same fold search compares with), by an SQLite FTS5
//! table with the `trigram` tokenizer and no folding of its own. A term of three characters or
//! more becomes the AND of its distinct trigrams ([`trigram_match`]): every entry that contains
//! the term contains all of them, so no match is ever missed; the few candidates that hold the
//! trigrams apart are dropped by the exact test. Shorter terms narrow nothing and are tested on
//! every candidate.
//!
//! **Tags** are indexed folded as search compares them, and matched by equality.

use std::collections::BTreeSet;

use automerge::{Automerge, ChangeHash, ROOT};

use super::journal::fold;
use crate::docs::{self, ReadDoc};
use crate::ids::{DocId, Id};
use crate::model::JournalEntry;

/// One readable entry as the index keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedEntry {
    /// The entry's id.
    pub id: Id,
    /// The entry, as read (and validated) from its document.
    pub entry: JournalEntry,
    /// Its text, folded for search.
    pub folded: String,
    /// Its tags, folded as search compares them (without `@`), each once.
    pub tags: Vec<String>,
}

impl IndexedEntry {
    fn of(id: Id, entry: JournalEntry) -> IndexedEntry {
        let mut tags: Vec<String> = entry
            .tags
            .iter()
            .map(|t| fold(t.strip_prefix('@').unwrap_or(t)))
            .collect();
        tags.sort();
        tags.dedup();
        IndexedEntry {
            id,
            folded: fold(&entry.text),
            tags,
            entry,
        }
    }
}

/// The keys of a journal document's `entries` map (readable or not).
pub fn entry_keys(d: &Automerge) -> Vec<String> {
    let Ok(Some((_, entries))) = d.get(&ROOT, "entries") else {
        return Vec::new();
    };
    d.map_range(&entries, ..)
        .map(|i| i.key.into_owned())
        .collect()
}

/// The entry under `key` of the journal document `doc`, as the index keeps it; `None` if it is
/// not there or this build cannot read it (an index holds readable entries only; the document
/// still counts the others).
pub fn indexed(d: &Automerge, doc: DocId, key: &str) -> Option<IndexedEntry> {
    let id: Id = key.parse().ok()?;
    let entry = docs::get_entry(d, doc, id).ok()??;
    Some(IndexedEntry::of(id, entry))
}

/// The keys of the entries that the changes made after `before` touched: added, edited
/// inside, or removed. Read from the changes' operations (which objects they wrote to), so it
/// costs a walk of the changes since `before`, not of the document's history.
pub fn changed_entries(d: &Automerge, before: &[ChangeHash]) -> BTreeSet<String> {
    let Ok(Some((_, entries))) = d.get(&ROOT, "entries") else {
        return BTreeSet::new();
    };
    let entries_id = entries.to_string();
    let mut keys = BTreeSet::new();
    let mut inside = BTreeSet::new();
    for change in d.get_changes(before) {
        for op in change.decode().operations {
            let obj = op.obj.to_string();
            if obj == entries_id {
                if let automerge::legacy::Key::Map(key) = &op.key {
                    keys.insert(key.to_string());
                }
            } else if obj != "_root" {
                inside.insert(obj);
            }
        }
    }
    if inside.is_empty() {
        return keys;
    }
    // Which entry holds each object written to: the entry's own map, or an object under it.
    for item in d.map_range(&entries, ..) {
        if matches!(item.value, automerge::ValueRef::Object(_)) && holds_any(d, &item.id(), &inside)
        {
            keys.insert(item.key.into_owned());
        }
    }
    keys
}

/// Whether `obj` or any object under it is one of `ids`.
fn holds_any(d: &Automerge, obj: &automerge::ObjId, ids: &BTreeSet<String>) -> bool {
    if ids.contains(&obj.to_string()) {
        return true;
    }
    let children: Vec<automerge::ObjId> = match automerge::ReadDoc::object_type(d, obj) {
        Ok(automerge::ObjType::Map | automerge::ObjType::Table) => d
            .map_range(obj, ..)
            .filter(|i| matches!(i.value, automerge::ValueRef::Object(_)))
            .map(|i| i.id())
            .collect(),
        Ok(automerge::ObjType::List) => d
            .list_range(obj, ..)
            .filter(|i| matches!(i.value, automerge::ValueRef::Object(_)))
            .map(|i| i.id())
            .collect(),
        _ => Vec::new(),
    };
    children.iter().any(|child| holds_any(d, child, ids))
}

/// The FTS5 query that finds every entry containing all the folded `terms`: the AND of their
/// distinct trigrams, each quoted. `None` when no term has three characters (nothing narrows).
pub fn trigram_match(terms: &[String]) -> Option<String> {
    let mut grams = BTreeSet::new();
    for term in terms {
        let chars: Vec<char> = term.chars().collect();
        for w in chars.windows(3) {
            grams.insert(w.iter().collect::<String>());
        }
    }
    if grams.is_empty() {
        return None;
    }
    let quoted: Vec<String> = grams
        .into_iter()
        .map(|g| format!("\"{}\"", g.replace('"', "\"\"")))
        .collect();
    Some(quoted.join(" AND "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;
    use automerge::AutoCommit;

    fn entry(at: i64, text: &str, tags: &[&str]) -> JournalEntry {
        JournalEntry {
            at: Timestamp(at),
            text: text.to_owned(),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            about: Vec::new(),
            starred: false,
            principles: Vec::new(),
        }
    }

    #[test]
    fn changed_entries_names_added_edited_and_removed_entries_only() {
        let (a, b, c) = (Id::named("a"), Id::named("b"), Id::named("c"));
        let mut d = AutoCommit::new();
        let doc = DocId::journal_for(Timestamp(0));
        docs::put_entry(&mut d, a, &entry(0, "first", &[])).unwrap();
        docs::put_entry(&mut d, b, &entry(1, "second", &["work"])).unwrap();
        d.commit();
        let before = d.get_heads();
        let mut edited = entry(1, "second, edited", &["work"]);
        edited.starred = true;
        docs::put_entry(&mut d, b, &edited).unwrap();
        docs::put_entry(&mut d, c, &entry(2, "third", &[])).unwrap();
        docs::delete_entry(&mut d, doc, a).unwrap();
        d.commit();
        let after = d.get_heads();
        let changed = changed_entries(d.document(), &before);
        let want: BTreeSet<String> = [a, b, c].iter().map(Id::to_string).collect();
        assert_eq!(changed, want);
        assert!(changed_entries(d.document(), &after).is_empty());
        // A change to an object under an entry (its tags) names the entry.
        let mut tagged = edited.clone();
        tagged.tags.push("rest".to_owned());
        docs::put_entry(&mut d, b, &tagged).unwrap();
        d.commit();
        let b_only: BTreeSet<String> = [b.to_string()].into();
        assert_eq!(changed_entries(d.document(), &after), b_only);
        // From the start: every key ever written, the removed one too.
        assert_eq!(changed_entries(d.document(), &[]), want);
    }

    #[test]
    fn indexed_entries_are_folded_as_search_folds() {
        let mut d = AutoCommit::new();
        let id = Id::named("e");
        let doc = DocId::journal_for(Timestamp(0));
        docs::put_entry(
            &mut d,
            id,
            &entry(0, "ΟΔΟΣ to the Café @Work", &["work", "Día"]),
        )
        .unwrap();
        let got = indexed(d.document(), doc, &id.to_string()).unwrap();
        assert_eq!(got.folded, "οδοσ to the café @work");
        assert_eq!(got.tags, ["día", "work"]);
        assert_eq!(indexed(d.document(), doc, "not-an-id"), None);
        assert_eq!(
            indexed(d.document(), doc, &Id::named("x").to_string()),
            None
        );
    }

    #[test]
    fn a_trigram_query_needs_three_characters_and_quotes_each_gram() {
        assert_eq!(trigram_match(&["ab".into()]), None);
        assert_eq!(trigram_match(&[]), None);
        assert_eq!(
            trigram_match(&["abcd".into(), "a\"b".into()]),
            Some(r#""a""b" AND "abc" AND "bcd""#.to_owned())
        );
    }
}
