//! The journal kept as one document per week, and its search index: a home from before the
//! split moves its journal once, losing nothing, and every search answers exactly as searching
//! the single document did.

mod common;

use std::collections::BTreeMap;

use automerge::transaction::Transactable;
use automerge::{ActorId, ReadDoc};
use tapin_app::journal::Find;
use tapin_app::{Clock, Home};
use tapin_core::docs::{self, JournalDoc};
use tapin_core::model::JournalEntry;
use tapin_core::time::Timestamp;
use tapin_core::views::journal::{Query, search};
use tapin_core::{DocId, Id};
use tapin_store::Store;

/// The clock the tests' homes run on (as `common::home`).
fn clock() -> Clock {
    Clock::Fixed("2026-11-22T12:00:00Z".parse().expect("a time"))
}

/// A small, fixed pseudo-random sequence, so the generated journal is the same every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const WORDS: &[&str] = &[
    "walk",
    "lighthouse",
    "tired",
    "ferries",
    "come",
    "home",
    "café",
    "Straße",
    "ΟΔΟΣ",
    "quiet",
    "evening",
    "the",
    "river",
    "called",
    "mum",
    "worried",
    "laughed",
    "naïve",
    "über",
    "zoë",
    "plans",
    "work",
    "a",
    "to",
    "of",
    "ok",
    "İstanbul",
    "ﬁne",
    "rain",
    "sun",
];
const TAGS: &[&str] = &["grateful", "work", "walks", "día", "Self-care", "worry"];

/// `n` entries over three years, written the way releases before the split wrote them: all in
/// the single `journal` document. About a third are about Jordan or Sam, some are starred, and
/// some share a time with another (ties are ordered by id).
fn generated(n: usize, people: &[Id]) -> Vec<(Id, JournalEntry)> {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let start = Timestamp::from_datetime("2023-11-22T08:00:00Z".parse().expect("a time")).0;
    let span = 3 * 365 * 24 * 3600 * 1000_i64;
    (0..n)
        .map(|i| {
            let mut bytes = [0u8; 16];
            bytes[..8].copy_from_slice(&rng.next().to_le_bytes());
            bytes[8..].copy_from_slice(&(i as u64).to_le_bytes());
            let words: Vec<&str> = (0..4 + rng.below(30))
                .map(|_| WORDS[rng.below(WORDS.len())])
                .collect();
            let mut text = words.join(" ");
            let mut tags = Vec::new();
            if rng.below(4) == 0 {
                let tag = TAGS[rng.below(TAGS.len())];
                text.push_str(&format!(" @{tag}"));
                tags.push(tag.to_lowercase());
            }
            if rng.below(10) == 0 {
                tags.push("given-apart".to_owned());
            }
            tags.sort();
            tags.dedup();
            let about = match rng.below(6) {
                0 => vec![people[0]],
                1 => vec![people[1]],
                2 => people.to_vec(),
                _ => Vec::new(),
            };
            // Every twentieth entry shares the previous one's minute.
            let at = start + (span / n as i64) * (i - usize::from(i % 20 == 19)) as i64;
            let entry = JournalEntry {
                at: Timestamp(at),
                text,
                tags,
                about,
                starred: rng.below(20) == 0,
                principles: Vec::new(),
            };
            (Id::from_bytes(bytes), entry)
        })
        .collect()
}

/// Maya's home with Jordan and Sam and a journal of `n` entries in the single `journal`
/// document, as the release before the split left it, plus `extra` written into it raw.
fn old_home(
    n: usize,
    extra: impl FnOnce(&mut automerge::AutoCommit),
) -> (tempfile::TempDir, std::path::PathBuf, Vec<Id>, JournalDoc) {
    let (dir, home) = common::home();
    let path = home.path().to_owned();
    let settings = tapin_app::people::PersonSettings::default();
    let people: Vec<Id> = ["Jordan", "Sam"]
        .iter()
        .map(|name| home.add_person(name, &settings).expect("added").id)
        .collect();
    drop(home);
    let store = Store::open(&path).expect("store");
    let actor = ActorId::from(b"the release before".as_slice());
    store
        .update(&DocId::Journal, &actor, |d| {
            docs::init(d, DocId::Journal)?;
            for (id, entry) in generated(n, &people) {
                docs::put_entry(d, id, &entry)?;
            }
            extra(d);
            Ok::<_, docs::DocError>(())
        })
        .expect("the old journal written");
    // Empty when `extra` made it unreadable (the callers that need it count its entries).
    let old = docs::read_journal(&store.load(&DocId::Journal).expect("load").expect("stored"))
        .unwrap_or_default();
    (dir, path, people, old)
}

fn all(find: Find) -> Find {
    Find {
        limit: usize::MAX,
        ..find
    }
}

/// Regression test for the journal that was one automerge document, loaded whole by every
/// command that touched it: on a generated 10,000-entry journal, every kind of search gives the
/// same entries in the same order through the week documents' index as the single document's
/// search gave before the split.
#[test]
fn searches_of_a_ten_thousand_entry_journal_are_the_same_before_and_after_the_split() {
    let (_dir, path, people, old) = old_home(10_000, |_| {});
    assert_eq!(old.entries.len(), 10_000);
    let home = Home::open(&path, clock()).expect("opened, and the journal split");

    let texts: &[&str] = &[
        "lighthouse",
        "house",
        "café",
        "CAFÉ",
        "straße",
        "οδος",
        "ΟΔΟΣ",
        "ok",
        "a",
        "zoë",
        "naïve über",
        "\"ferries come\"",
        "\"come ferries\"",
        "İstanbul",
        "ﬁne",
        "@grateful",
        "@GRATEFUL",
        "@día",
        "@self-care",
        "@given-apart",
        "@grateful walk",
        "@work @walks",
        "nothing-like-this",
        "the",
    ];
    let mut cases: Vec<(String, Find, Query)> = Vec::new();
    for text in texts {
        cases.push((
            format!("search {text:?}"),
            all(Find {
                text: Some((*text).to_owned()),
                ..Find::default()
            }),
            Query::parse(text),
        ));
    }
    for (name, rel) in [("Jordan", people[0]), ("Sam", people[1])] {
        let about = |text: Option<&str>, starred: bool| {
            let mut q = text.map(Query::parse).unwrap_or_default();
            q.about = Some(rel);
            q.starred_only = starred;
            q
        };
        cases.push((
            format!("list --about {name}"),
            all(Find {
                about: Some(name.to_owned()),
                ..Find::default()
            }),
            about(None, false),
        ));
        cases.push((
            format!("search river --about {name} --starred"),
            all(Find {
                text: Some("river".into()),
                about: Some(name.to_owned()),
                starred: true,
                ..Find::default()
            }),
            about(Some("river"), true),
        ));
    }
    cases.push((
        "list --starred".into(),
        all(Find {
            starred: true,
            ..Find::default()
        }),
        Query {
            starred_only: true,
            ..Query::default()
        },
    ));
    cases.push((
        "list --tag walks".into(),
        all(Find {
            tags: vec!["walks".into()],
            ..Find::default()
        }),
        Query {
            tags: vec!["walks".into()],
            ..Query::default()
        },
    ));
    cases.push(("list".into(), all(Find::default()), Query::default()));

    for (what, find, query) in cases {
        let before: Vec<Id> = search(&old, &query).into_iter().map(|(id, _)| id).collect();
        let found = home.find_entries(&find).expect(&what);
        let after: Vec<Id> = found.entries.iter().map(|e| e.id).collect();
        assert_eq!(found.total, before.len(), "{what}: how many");
        assert_eq!(after, before, "{what}: which, in which order");
        for row in &found.entries {
            assert_eq!(
                &row.entry, &old.entries[&row.id],
                "{what}: entry {}",
                row.id
            );
        }
    }
    // The first 20, as the CLI asks.
    let found = home
        .find_entries(&Find {
            text: Some("walk".into()),
            limit: 20,
            ..Find::default()
        })
        .expect("search");
    let before = search(&old, &Query::parse("walk"));
    assert_eq!(found.total, before.len());
    assert_eq!(
        found.entries.iter().map(|e| e.id).collect::<Vec<_>>(),
        before
            .iter()
            .take(20)
            .map(|(id, _)| *id)
            .collect::<Vec<_>>()
    );
}

/// The split keeps every entry exactly: fields this build does not know, and entries it cannot
/// read, move with the rest; the old document is retired (an older tapin refuses it by its
/// schema rather than showing an empty journal); and it happens once.
#[test]
fn splitting_the_journal_moves_every_entry_whole_and_once() {
    let unknown = Id::named("from a newer tapin");
    let (_dir, path, _people, old) = old_home(300, |d| {
        let entries = match d.get(automerge::ROOT, "entries").expect("get") {
            Some((_, obj)) => obj,
            None => panic!("no entries"),
        };
        // An entry with a field this build does not know, and one it cannot read.
        let e = d
            .put_object(&entries, unknown.to_string(), automerge::ObjType::Map)
            .expect("put");
        d.put(
            &e,
            "at",
            automerge::ScalarValue::Timestamp(1_700_000_000_000),
        )
        .expect("put");
        d.put(&e, "text", "written by a newer tapin").expect("put");
        d.put_object(&e, "tags", automerge::ObjType::List)
            .expect("put");
        d.put_object(&e, "about", automerge::ObjType::List)
            .expect("put");
        d.put(&e, "starred", false).expect("put");
        d.put(&e, "mood", "calm").expect("put");
        d.put(&entries, "not-an-id", "damaged").expect("put");
    });
    assert_eq!(old.entries.len(), 301);
    assert_eq!(old.entries.unreadable().len(), 1);

    let home = Home::open(&path, clock()).expect("opened, and the journal split");
    drop(home);
    let store = Store::open(&path).expect("store");
    let docs_now = store.documents().expect("documents");
    let weeks: Vec<DocId> = docs_now
        .iter()
        .copied()
        .filter(DocId::is_journal_week)
        .collect();
    assert!(weeks.len() >= 150, "{weeks:?}");
    assert!(weeks.contains(&"journal-undated".parse().expect("a name")));

    // Every entry, readable or not, is in the week of its time, whole.
    let mut moved = JournalDoc::default();
    let mut by_doc = BTreeMap::new();
    for doc in &weeks {
        let am = store.load(doc).expect("load").expect("stored");
        let part = docs::read_journal_week(&am, *doc).expect("read");
        for (id, e) in part.entries.iter() {
            assert_eq!(*doc, DocId::journal_for(e.at), "{id} is in the wrong week");
            by_doc.insert(*id, *doc);
        }
        moved.entries.absorb(part.entries);
    }
    assert_eq!(moved.entries.len(), 301);
    assert_eq!(
        moved
            .entries
            .unreadable()
            .iter()
            .map(|u| u.key.as_str())
            .collect::<Vec<_>>(),
        ["not-an-id"]
    );
    for (id, e) in old.entries.iter() {
        assert_eq!(&moved.entries[id], e);
    }
    let week = by_doc[&unknown];
    let mood = |store: &Store| {
        let am = store.load(&week).expect("load").expect("stored");
        let (_, entries) = am
            .get(automerge::ROOT, "entries")
            .expect("get")
            .expect("map");
        let (_, entry) = am
            .get(&entries, unknown.to_string())
            .expect("get")
            .expect("the entry");
        am.get(&entry, "mood")
            .expect("get")
            .map(|(v, _)| v.as_str().map(str::to_owned))
    };
    assert_eq!(mood(&store), Some(Some("calm".to_owned())));

    // The old document is retired: a newer schema, which the release before refuses.
    let retired = store.load(&DocId::Journal).expect("load").expect("kept");
    assert_eq!(docs::schema_of(&retired), docs::RETIRED_JOURNAL_SCHEMA);
    assert!(docs::journal_retired(&retired));
    let version = store.doc_version(&DocId::Journal).expect("version");
    drop(store);

    // Opening again moves nothing; starring the newer tapin's entry keeps its unknown field.
    let home = Home::open(&path, clock()).expect("opened again");
    home.star_entry(&unknown.to_string()[..8], true)
        .expect("starred");
    drop(home);
    let store = Store::open(&path).expect("store");
    assert_eq!(
        store.doc_version(&DocId::Journal).expect("version"),
        version
    );
    assert_eq!(mood(&store), Some(Some("calm".to_owned())));

    // A new entry is written to its own week and to no other document.
    let versions = |store: &Store| -> BTreeMap<DocId, i64> {
        store
            .documents()
            .expect("documents")
            .into_iter()
            .map(|d| (d, store.doc_version(&d).expect("version")))
            .collect()
    };
    let before = versions(&store);
    drop(store);
    let home = Home::open(&path, clock()).expect("opened");
    home.add_entry("One more", &[], &[], false).expect("saved");
    drop(home);
    let after = versions(&Store::open(&path).expect("store"));
    let now = DocId::journal_for(Timestamp::from_datetime(
        "2026-11-22T12:00:00Z".parse().expect("a time"),
    ));
    let changed: Vec<DocId> = after
        .iter()
        .filter(|(d, v)| before.get(*d) != Some(*v))
        .map(|(d, _)| *d)
        .collect();
    assert_eq!(changed, [now]);
}

/// The index is derived: deleted, or left behind by a write that did not maintain it, it is made
/// again from the documents before the next search, which then answers as before.
#[test]
fn a_missing_or_stale_index_is_rebuilt_from_the_documents() {
    let (_dir, home) = common::home();
    for text in [
        "Walked to the lighthouse @grateful",
        "Rain all day",
        "Lighthouse again",
    ] {
        home.add_entry(text, &[], &[], false).expect("saved");
    }
    let lighthouse = || {
        home.find_entries(&Find {
            text: Some("lighthouse".into()),
            limit: 20,
            ..Find::default()
        })
        .expect("search")
        .total
    };
    assert_eq!(lighthouse(), 2);
    let path = home.path().to_owned();

    // Rows deleted by hand: the index is stale, rebuilt on the next search.
    let db = rusqlite::Connection::open(path.join(tapin_store::DB_FILE)).expect("open");
    for table in tapin_store::DERIVED_TABLES {
        db.execute(&format!("DELETE FROM {table}"), [])
            .expect("delete");
    }
    assert_eq!(lighthouse(), 2);

    // A write straight into a week document, as a tapin that did not index would make it.
    let store = Store::open(&path).expect("store");
    let week = store
        .documents()
        .expect("documents")
        .into_iter()
        .find(DocId::is_journal_week)
        .expect("a week");
    let entry = JournalEntry {
        at: Timestamp::from_datetime("2026-11-22T12:00:00Z".parse().expect("a time")),
        text: "A lighthouse, written without the index".into(),
        tags: Vec::new(),
        about: Vec::new(),
        starred: false,
        principles: Vec::new(),
    };
    let id = Id::named("unindexed");
    store
        .update(&week, &ActorId::random(), |d| {
            docs::put_entry(d, id, &entry)
        })
        .expect("written");
    db.execute("DELETE FROM journal_indexed", [])
        .expect("delete");
    assert_eq!(lighthouse(), 3);
}

/// Deleting an entry removes its words from the search index in the same transaction, and FTS5's
/// secure-delete leaves none of its trigrams in the index (docs/FORMAT.md, "Deleting").
#[test]
fn a_deleted_entry_leaves_no_word_in_the_index() {
    let (_dir, home) = common::home();
    let gone = home
        .add_entry("Xylqvz is the word only this entry has", &[], &[], false)
        .expect("saved");
    home.add_entry("Another entry stays", &[], &[], false)
        .expect("saved");
    let db = rusqlite::Connection::open(home.path().join(tapin_store::DB_FILE)).expect("open");
    db.execute_batch("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, journal_text, 'row')")
        .expect("vocab");
    let grams = |db: &rusqlite::Connection| -> i64 {
        db.query_row(
            "SELECT count(*) FROM temp.vocab WHERE term IN ('xyl', 'ylq', 'lqv', 'qvz')",
            [],
            |r| r.get(0),
        )
        .expect("count")
    };
    assert_eq!(grams(&db), 4);
    home.delete(&gone.id.to_string()[..8]).expect("deleted");
    assert_eq!(
        grams(&db),
        0,
        "the deleted entry's trigrams are still indexed"
    );
    let left: i64 = db
        .query_row(
            "SELECT count(*) FROM journal_text_content WHERE c0 LIKE '%xylqvz%'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(left, 0);
    let found = home
        .find_entries(&Find {
            text: Some("xylqvz".into()),
            limit: 20,
            ..Find::default()
        })
        .expect("search");
    assert_eq!(found.total, 0);
}

/// A single journal a newer tapin marked with a schema this build does not know is left as it
/// is: the home still opens and everything else works; what reads that document says why.
#[test]
fn a_journal_of_a_newer_schema_is_left_alone_and_the_home_opens() {
    let (_dir, path, _people, _old) = old_home(3, |d| {
        d.put(automerge::ROOT, "schema", docs::RETIRED_JOURNAL_SCHEMA + 1)
            .expect("put");
    });
    let home = Home::open(&path, clock()).expect("the home opens");
    home.add_entry("Written after", &[], &[], false)
        .expect("a new entry goes to its week");
    let err = home
        .export_json()
        .expect_err("the export reads the old journal");
    assert!(err.to_string().contains("journal"), "{err}");
}
