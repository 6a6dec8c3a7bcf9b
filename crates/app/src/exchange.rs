//! Export and import: the person's data is never locked in.
//!
//! JSON round-trips through import; Markdown is for reading; the automerge export writes each
//! document as a standard `.automerge` file that any automerge implementation opens.
//!
//! An import file is untrusted input: it is read into typed records, naming the JSON path of
//! whatever does not have the expected shape, every record is checked as a command would check
//! it, and only then is all of it written, in one transaction with the checks that depend on the
//! home (whose export it is, whether a name is taken).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tapin_core::docs::{self, JournalDoc, Place, PrivateDoc};
use tapin_core::model::{Initiator, JournalEntry, Relationship, SideRecords};
use tapin_core::{DocId, Id};
use tapin_store::MetaKey;

use crate::error::{Error, Result};
use crate::home::Home;
use crate::reading::{Docs, Writer};
use crate::words::recurrence as recurrence_words;

const FORMAT: &str = "tapin-export";
const VERSION: u32 = 1;

/// The JSON export. Documented in docs/FORMAT.md.
#[derive(Serialize, Deserialize)]
struct Export {
    format: String,
    version: u32,
    exported_at: chrono::DateTime<chrono::Utc>,
    name: String,
    person: String,
    private: PrivateDoc,
    journal: JournalDoc,
    /// The shared side of each relationship, by relationship id.
    sides: BTreeMap<Id, SideRecords>,
}

/// An export made.
#[derive(Debug, Clone)]
pub struct Exported {
    /// The file's contents.
    pub bytes: Vec<u8>,
    /// How many records could not be read by this build, so are not in it.
    pub unreadable: usize,
}

impl Exported {
    /// What to tell the person when records could not be read into the export.
    pub fn note(&self) -> Option<String> {
        let n = self.unreadable;
        (n > 0).then(|| {
            format!(
                "{} could not be read by this version of tapin and {} not in this export; \
                 `tapin export --format automerge --out DIR` keeps everything, or export again \
                 after updating tapin.",
                if n == 1 {
                    "1 record".to_owned()
                } else {
                    format!("{n} records")
                },
                if n == 1 { "is" } else { "are" }
            )
        })
    }
}

/// Whose export an import was.
#[derive(Debug, Clone, Serialize)]
pub struct RestoredFrom {
    /// Their display name.
    pub name: String,
    /// Their person key.
    pub person: String,
}

/// What an import did. `--json` of `import` is this.
#[derive(Debug, Clone, Serialize)]
pub struct Imported {
    /// Relationships in the file.
    pub relationships: usize,
    /// Reflections in the file.
    pub reflections: usize,
    /// Journal entries in the file.
    pub journal_entries: usize,
    /// Shared sides in the file.
    pub shared_sides: usize,
    /// Whether anything in the home changed (false: it was all here already).
    pub changed: bool,
    /// Another person's export restored into this new home, if it was.
    pub restored_from: Option<RestoredFrom>,
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, then a rename, so a failure
/// never leaves a half-written file. A folder, or a file in a folder that does not exist, is
/// refused in words that name what the person gave, never the temporary file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if path.as_os_str().is_empty() {
        return Err(Error::malformed("no file given; name the file to write"));
    }
    if path.is_dir() {
        return Err(Error::invalid(format!(
            "{} is a folder; name a file in it",
            path.display()
        )));
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(Error::invalid(format!(
            "cannot write {}: the folder {} does not exist",
            path.display(),
            dir.display()
        )));
    }
    // tempfile names its temporary file in its errors; the person gave `path`, so only what
    // went wrong ("permission denied") is kept.
    let io = |what: String| {
        move |source: std::io::Error| Error::Io {
            what,
            source: std::io::Error::new(source.kind(), crate::words::io_error(&source)),
        }
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(io(format!("could not write in {}", dir.display())))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(io(format!("could not write {}", path.display())))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .map_err(io(format!("could not write {}", path.display())))?;
    Ok(())
}

impl Home {
    /// Everything of the home, read from the documents themselves (never from the view cache:
    /// an export is a backup, and must fail on a damaged document rather than repeat a cached
    /// copy), and how many records could not be read into it.
    fn collect(&self) -> Result<(Export, usize)> {
        self.read(|r| {
            let private = r.uncached(DocId::Private, docs::read_private)?;
            let mut unreadable = private.unreadable();
            let mut sides = BTreeMap::new();
            for &rel in private.relationships.keys() {
                let side = r.uncached(DocId::Side(rel), |d| docs::read_side(d, rel))?;
                unreadable += side.unreadable();
                if !side.is_empty() {
                    sides.insert(rel, side);
                }
            }
            // Every week document, read from the document itself (as `uncached` reads).
            let journal = r.journal()?;
            unreadable += journal.entries.unreadable().len();
            let export = Export {
                format: FORMAT.to_owned(),
                version: VERSION,
                exported_at: self.now(),
                name: self.name.clone(),
                person: self.person.id().to_string(),
                private,
                journal,
                sides,
            };
            Ok((export, unreadable))
        })
    }

    /// The JSON export (docs/FORMAT.md), which `import` reads back.
    pub fn export_json(&self) -> Result<Exported> {
        let (export, unreadable) = self.collect()?;
        let mut bytes = serde_json::to_vec_pretty(&export).map_err(|e| Error::Encode {
            what: "the export",
            source: Box::new(e),
        })?;
        bytes.push(b'\n');
        Ok(Exported { bytes, unreadable })
    }

    /// The Markdown export, for reading.
    pub fn export_markdown(&self) -> Result<Exported> {
        let (export, unreadable) = self.collect()?;
        let md = markdown(&export).map_err(|e| Error::Encode {
            what: "the Markdown export",
            source: Box::new(e),
        })?;
        Ok(Exported {
            bytes: md.into_bytes(),
            unreadable,
        })
    }

    /// Writes each document into `dir` as a standard `.automerge` file; returns the files.
    pub fn export_automerge(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            what: format!("could not create {}", dir.display()),
            source,
        })?;
        let docs = self.read(|r| {
            let mut out = Vec::new();
            for doc in r.store().documents()? {
                if let Some(am) = r.store().load(&doc).map_err(|e| Error::Load {
                    doc,
                    source: Box::new(e),
                })? {
                    out.push((doc, am.save()));
                }
            }
            Ok(out)
        })?;
        let mut written = Vec::new();
        for (doc, bytes) in docs {
            let path = dir.join(format!("{doc}.automerge"));
            write_atomic(&path, &bytes)?;
            written.push(path);
        }
        Ok(written)
    }

    /// Imports a JSON export, `text`, read from `shown` (named in errors). It is checked whole
    /// before anything is written, then written in one transaction: all of it, or (on any error,
    /// or a crash) none of it. It never creates, changes or removes a pairing, and it refuses
    /// another person's export unless the home is new (a restore).
    pub fn import(&self, text: &str, shown: &str) -> Result<Imported> {
        let refused = |err: Error| {
            Error::Invalid(format!(
                "{shown} cannot be imported: {}",
                crate::error::chain(&err)
            ))
        };
        let export = parse_export(text).map_err(refused)?;
        validate_export(&export).map_err(refused)?;
        let (whose, changed) = self.write(|w| {
            let whose = check_whose(self, w, &export).map_err(refused)?;
            check_names(&w.private()?, &export).map_err(refused)?;
            let changed = write_import(w, &export, &whose)?;
            Ok((whose, changed))
        })?;
        Ok(Imported {
            relationships: export.private.relationships.len(),
            reflections: export.private.reflections.len(),
            journal_entries: export.journal.entries.len(),
            shared_sides: export.sides.len(),
            changed,
            restored_from: match whose {
                Whose::Mine => None,
                Whose::Restore => Some(RestoredFrom {
                    name: export.name,
                    person: export.person,
                }),
            },
        })
    }
}

/// The Markdown export: people by name, and within each place the records in date order, oldest
/// first, as a person reads a record of their own life.
fn markdown(e: &Export) -> Result<String, std::fmt::Error> {
    use crate::words;

    let mut md = String::new();
    writeln!(
        md,
        "# tapin — {}\n\nExported {}.\n",
        e.name,
        e.exported_at.format("%Y-%m-%d %H:%M UTC")
    )?;
    let empty = SideRecords::default();
    let mut people: Vec<(&Id, &Relationship)> = e.private.relationships.iter().collect();
    people.sort_by_cached_key(|(id, rel)| (words::fold(&rel.name), rel.name.clone(), **id));
    for (id, rel) in people {
        let rel_name = rel.name.as_str();
        writeln!(md, "## {}\n", rel.name)?;
        let rhythm = words::rhythm(rel.rhythm);
        writeln!(
            md,
            "Importance {}/5 · {} risk · {} · {rhythm}\n",
            rel.importance,
            words::risk(rel.risk),
            words::person_status(rel.status)
        )?;
        for (label, recs) in [
            ("Shared", e.sides.get(id).unwrap_or(&empty)),
            ("Private", e.private.records.get(id).unwrap_or(&empty)),
        ] {
            if recs.is_empty() {
                continue;
            }
            writeln!(md, "### {label}\n")?;
            let mut goals: Vec<_> = recs.goals.values().collect();
            goals.sort_by_key(|g| (g.created, g.title.clone()));
            for g in goals {
                let (d, t) = g.progress();
                writeln!(
                    md,
                    "- Goal: **{}** ({}, {}{})",
                    g.title,
                    words::goal_status(g.status),
                    words::steps(d, t),
                    g.by.map(|b| format!(", by {b}")).unwrap_or_default()
                )?;
                for (_, o) in g.steps() {
                    writeln!(md, "  - [{}] {}", if o.done { "x" } else { " " }, o.text)?;
                }
            }
            // A goal of theirs I took up: my part of it (the goal itself is in their export).
            for j in recs.joins.values().filter(|j| j.left.is_none()) {
                let mut steps: Vec<_> = j.objectives.values().collect();
                steps.sort_by_key(|o| o.created);
                let done = steps.iter().filter(|o| o.done).count();
                writeln!(
                    md,
                    "- Goal of {rel_name}'s I took up: **{}** (my part: {}{})",
                    j.title,
                    words::steps(done, steps.len()),
                    if j.achieved.is_some() {
                        ", achieved"
                    } else {
                        ""
                    }
                )?;
                for o in steps {
                    writeln!(md, "  - [{}] {}", if o.done { "x" } else { " " }, o.text)?;
                }
            }
            let mut rituals: Vec<_> = recs.rituals.values().collect();
            rituals.sort_by_key(|r| (r.start, r.title.clone()));
            for r in rituals {
                let kept = match r.occurrences.len() {
                    0 => "not kept yet".to_owned(),
                    n => format!("kept {}", words::times(n)),
                };
                writeln!(
                    md,
                    "- Ritual: **{}**, {} since {} ({kept}){}",
                    r.title,
                    recurrence_words(r.recurrence),
                    r.start,
                    if r.retired { ", retired" } else { "" }
                )?;
            }
            // Everything with a day, in one list by day.
            let mut dated: Vec<(tapin_core::time::Day, String)> = Vec::new();
            for c in recs.checkins.values() {
                let mut line = format!("Check-in, rated {}/5.", c.rating);
                if !c.went_well.is_empty() {
                    line += &format!(" Went well: {}.", c.went_well.trim_end_matches('.'));
                }
                if !c.to_change.is_empty() {
                    line += &format!(" To change: {}.", c.to_change.trim_end_matches('.'));
                }
                dated.push((c.on, line));
            }
            for i in recs.interactions.values() {
                let mut line = match i.by {
                    Initiator::Me => "I reached out".to_owned(),
                    Initiator::Them => format!("{rel_name} reached out"),
                    ref other => format!("Reached out ({})", other.json_name().replace('-', " ")),
                };
                let how = words::how(i.via, i.reason);
                if !how.is_empty() {
                    line += &format!(" ({how})");
                }
                if !i.note.is_empty() {
                    line += &format!(": {}", i.note);
                }
                dated.push((i.on, line));
            }
            for t in recs.thanks.values() {
                dated.push((t.on, format!("Thanks: {}", t.text)));
            }
            for b in recs.boundaries.values() {
                let day = crate::pages::boundary_day(b);
                dated.push((day, format!("Boundary: {}", b.text)));
            }
            dated.sort();
            for (day, line) in dated {
                writeln!(md, "- {day}: {line}")?;
            }
            writeln!(md)?;
        }
        let mut reflections: Vec<_> = e
            .private
            .reflections
            .values()
            .filter(|r| r.relationship == *id)
            .collect();
        reflections.sort_by_key(|r| r.at);
        for r in reflections {
            writeln!(
                md,
                "### Reflection, {}\n",
                // The writer's calendar day, as every day is, not the day in UTC.
                r.at.to_datetime()
                    .with_timezone(&chrono::Local)
                    .format("%Y-%m-%d")
            )?;
            for (n, (qa, qb)) in tapin_core::model::QUESTIONS.iter().enumerate() {
                let a = r.answer(n + 1);
                writeln!(
                    md,
                    "{}. *{qa}* {}\n   *{qb}* {}",
                    n + 1,
                    a.about_them,
                    a.about_me
                )?;
            }
            if !r.note.is_empty() {
                writeln!(md, "\n{}", r.note)?;
            }
            writeln!(md)?;
        }
    }
    if !e.journal.entries.is_empty() {
        writeln!(md, "## Journal\n")?;
        let mut entries: Vec<_> = e.journal.entries.values().collect();
        entries.sort_by_key(|x| (x.at, x.text.clone()));
        for x in entries {
            writeln!(
                md,
                "### {}{}\n",
                x.at.to_datetime().format("%Y-%m-%d %H:%M UTC"),
                if x.starred { " ★" } else { "" },
            )?;
            let about: Vec<&str> = x
                .about
                .iter()
                .map(|id| {
                    e.private
                        .relationships
                        .get(id)
                        .map_or("someone no longer here", |r| r.name.as_str())
                })
                .collect();
            let mut meta = Vec::new();
            if !about.is_empty() {
                meta.push(format!("About {}", about.join(", ")));
            }
            if !x.tags.is_empty() {
                let tags: Vec<String> = x.tags.iter().map(|t| format!("@{t}")).collect();
                meta.push(format!("tagged {}", tags.join(" ")));
            }
            if !x.principles.is_empty() {
                let names: Vec<String> = x.principles.iter().map(|p| p.json_name()).collect();
                meta.push(format!("principles: {}", names.join(", ")));
            }
            if !meta.is_empty() {
                writeln!(md, "*{}.*\n", meta.join(" · "))?;
            }
            writeln!(md, "{}\n", x.text.trim_end())?;
        }
    }
    Ok(md)
}

/// Reads an export, naming the JSON path of whatever does not have the expected shape.
fn parse_export(text: &str) -> Result<Export> {
    #[derive(Deserialize)]
    struct Header {
        format: Option<String>,
        version: Option<u32>,
    }
    let header: Header = serde_json::from_str(text)
        .map_err(|e| Error::Invalid(format!("it is not a tapin JSON export: {e}")))?;
    if header.format.as_deref() != Some(FORMAT) {
        return Err(Error::Invalid(format!(
            "it is not a tapin export (format {:?})",
            header.format.unwrap_or_default()
        )));
    }
    if let Some(version) = header.version
        && version > VERSION
    {
        return Err(Error::Invalid(format!(
            "it was written by a newer tapin (export version {version}); update tapin to import it"
        )));
    }
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|err| {
        // serde_json ends its messages with "at line L column C"; the path says more.
        let inner = err.inner().to_string();
        let what = inner.split(" at line ").next().unwrap_or_default();
        Error::Invalid(format!("{}: {what}", err.path()))
    })
}

/// Whose export is being imported.
enum Whose {
    /// This person's own: the same person key, or that of a home this one was restored from.
    Mine,
    /// Someone's, into a home that holds nothing yet: a restore into a new home.
    Restore,
}

/// The person keys whose exports restored this home (none for most homes).
fn restored_from(w: &mut Writer<'_, '_>) -> Result<Vec<String>> {
    match w.txn().get_meta(MetaKey::RestoredFrom)? {
        None => Ok(Vec::new()),
        Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::Damaged {
            what: format!("the home's {} is damaged: {e}", MetaKey::RestoredFrom),
        }),
    }
}

/// An import never mixes two people's data: the export must be this person's own, or the home
/// must be new and empty (restoring a backup into a new home, which has a new person key).
fn check_whose(home: &Home, w: &mut Writer<'_, '_>, export: &Export) -> Result<Whose> {
    let person: tapin_core::identity::PersonId = export
        .person
        .parse()
        .map_err(|e| Error::Invalid(format!("its person key is malformed: {e}")))?;
    if person == home.person.id() || restored_from(w)?.contains(&export.person) {
        return Ok(Whose::Mine);
    }
    let private = w.private()?;
    let journal = w.journal()?;
    let empty = private.relationships.is_empty()
        && private.reflections.is_empty()
        && private.unreadable() == 0
        && journal.entries.is_empty()
        && journal.entries.unreadable().is_empty();
    if empty {
        return Ok(Whose::Restore);
    }
    Err(Error::Invalid(format!(
        "it is {}'s export (person {}), not yours ({}, person {}); tapin imports only your own \
         exports, or restores one into a new, empty home (`tapin --home NEW-DIR init --name …` \
         then `tapin --home NEW-DIR import FILE`)",
        export.name,
        person.short(),
        home.name,
        home.person.id().short()
    )))
}

/// Everything a command would check that can be checked of an export on its own: every record
/// valid, every record set and reflection belonging to a relationship the export lists, and no
/// two relationships with one name.
fn validate_export(export: &Export) -> Result<()> {
    use tapin_core::validate::{Mode, Validate};
    let bad = |what: String| {
        move |e: tapin_core::validate::Invalid| Error::Invalid(format!("{what}: {e}"))
    };
    let listed = &export.private.relationships;
    for (id, rel) in listed {
        rel.validate(Mode::Input)
            .map_err(bad(format!("relationship {}", name_of(export, id))))?;
    }
    for (id, records) in &export.private.records {
        if !listed.contains_key(id) {
            return Err(Error::Invalid(format!(
                "it has private records of relationship {id}, which it does not list"
            )));
        }
        records.validate(Mode::Input).map_err(bad(format!(
            "the private records of {}",
            name_of(export, id)
        )))?;
    }
    for (id, side) in &export.sides {
        if !listed.contains_key(id) {
            return Err(Error::Invalid(format!(
                "it has a shared side of relationship {id}, which it does not list"
            )));
        }
        side.validate(Mode::Input)
            .map_err(bad(format!("the shared side of {}", name_of(export, id))))?;
    }
    for (id, r) in &export.private.reflections {
        if !listed.contains_key(&r.relationship) {
            return Err(Error::Invalid(format!(
                "reflection {id} is about relationship {}, which it does not list",
                r.relationship
            )));
        }
        r.validate(Mode::Input)
            .map_err(bad(format!("reflection {id}")))?;
    }
    for (id, e) in &export.journal.entries {
        e.validate(Mode::Input)
            .map_err(bad(format!("journal entry {id}")))?;
    }
    check_names(&PrivateDoc::default(), export)
}

/// "Jordan (1a2b3c4d)", or the short id of a relationship the export does not list.
fn name_of(export: &Export, id: &Id) -> String {
    export
        .private
        .relationships
        .get(id)
        .map_or_else(|| id.short(), |r| format!("{} ({})", r.name, id.short()))
}

/// Names are how people are found: no two relationships may share one, in the export or against
/// `here`, the home's private document.
fn check_names(here: &PrivateDoc, export: &Export) -> Result<()> {
    let mut seen: BTreeMap<String, Id> = here
        .relationships
        .iter()
        .map(|(id, r)| (crate::words::fold(&r.name), *id))
        .collect();
    for (id, rel) in &export.private.relationships {
        match seen.insert(crate::words::fold(&rel.name), *id) {
            Some(other) if other != *id => {
                return Err(Error::Invalid(format!(
                    "relationship {} has the same name as {} {}",
                    name_of(export, id),
                    if here.relationships.contains_key(&other) {
                        "this home's"
                    } else {
                        "the export's"
                    },
                    other.short()
                )));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Writes the export inside the use case's one transaction; returns whether anything changed.
/// A pairing is never created, changed or removed: a relationship already here keeps its own,
/// and a new one comes in unpaired. Pairings come only from an invitation and two confirmed codes.
fn write_import(w: &mut Writer<'_, '_>, export: &Export, whose: &Whose) -> Result<bool> {
    // A home restored from an export keeps the person key it came from, so that importing the
    // same export (or a later one of that person) again is not taken for someone else's.
    if let Whose::Restore = whose {
        let mut from = restored_from(w)?;
        from.push(export.person.clone());
        let bytes = serde_json::to_vec(&from).map_err(|e| Error::Encode {
            what: "the restored-from list",
            source: Box::new(e),
        })?;
        w.txn().set_meta(MetaKey::RestoredFrom, &bytes)?;
    }
    // Each entry goes to the week document of when it was written.
    let mut weeks: BTreeMap<DocId, Vec<(Id, &JournalEntry)>> = BTreeMap::new();
    for (&id, e) in &export.journal.entries {
        weeks
            .entry(DocId::journal_for(e.at))
            .or_default()
            .push((id, e));
    }
    let docs: Vec<DocId> = [DocId::Private]
        .into_iter()
        .chain(weeks.keys().copied())
        .chain(export.sides.keys().map(|id| DocId::Side(*id)))
        .collect();
    let mut before = Vec::new();
    for doc in &docs {
        before.push(w.version(doc)?);
    }
    w.update(DocId::Private, |d| {
        for (&id, rel) in &export.private.relationships {
            let here: Option<Relationship> = docs::get_relationship(d, id)?;
            let mut rel = rel.clone();
            rel.peer = here.and_then(|r| r.peer);
            docs::put_relationship(d, id, &rel)?;
            if let Some(recs) = export.private.records.get(&id) {
                docs::put_records(d, Place::Private(id), recs)?;
            }
        }
        for (&id, r) in &export.private.reflections {
            docs::put_reflection(d, id, r)?;
        }
        Ok(())
    })?;
    for (&week, entries) in &weeks {
        w.update(week, |d| {
            for (id, e) in entries {
                docs::put_entry(d, *id, e)?;
            }
            Ok(())
        })?;
    }
    for (&id, recs) in &export.sides {
        w.update(DocId::Side(id), |d| {
            Ok(docs::put_records(d, Place::Shared(id), recs)?)
        })?;
    }
    let mut changed = false;
    for (doc, before) in docs.iter().zip(before) {
        changed |= w.version(doc)? != before;
    }
    Ok(changed)
}

/// Structure-aware property tests of reading an import: a valid export with any part of its JSON
/// changed (replaced by another value, deleted, renamed, or given a key it does not know) is read
/// and checked without panicking, and whatever passes every check is written and reads back as
/// exactly the records it held: nothing invalid reaches a document.
///
/// `TAPIN_FUZZ_CASES=100000 cargo test --release -p tapin-app fuzz_` runs it at length.
#[cfg(test)]
mod fuzz {
    use automerge::AutoCommit;
    use proptest::prelude::*;
    use serde_json::{Value, json};
    use tapin_core::model::*;
    use tapin_core::time::{Day, Timestamp};

    use super::*;

    fn day(s: &str) -> Day {
        s.parse().unwrap()
    }

    /// A valid export with one record of every kind.
    fn base() -> Value {
        let (jordan, sam) = (Id::named("jordan"), Id::named("sam"));
        let rel = |name: &str| Relationship {
            name: name.into(),
            importance: 4,
            risk: Risk::Medium,
            rhythm: Some(Rhythm {
                ideal: "2w".parse().unwrap(),
                max: "6w".parse().unwrap(),
            }),
            status: RelationshipStatus::Active,
            created: Timestamp(1),
            snoozed_until: Some(day("2026-12-01")),
            peer: None,
        };
        let mut side = SideRecords::default();
        side.goals.insert(
            Id::named("g"),
            Goal {
                title: "Talk more".into(),
                why: String::new(),
                kind: GoalKind::EmotionalSupport,
                by: Some(day("2026-12-20")),
                status: GoalStatus::Active,
                objectives: [(
                    Id::named("s"),
                    Objective {
                        text: "Ask".into(),
                        done: true,
                        created: Timestamp(2),
                        done_at: Some(Timestamp(3)),
                    },
                )]
                .into_iter()
                .collect(),
                created: Timestamp(2),
                updated: Timestamp(3),
            },
        );
        side.rituals.insert(
            Id::named("r"),
            Ritual {
                title: "Walk".into(),
                recurrence: Recurrence::MonthlyOn { day: 4 },
                minutes: Some(20),
                guidelines: vec!["no money spent".into()],
                start: day("2026-01-01"),
                occurrences: vec![day("2026-02-04")],
                retired: false,
            },
        );
        side.checkins.insert(
            Id::named("c"),
            CheckIn {
                on: day("2026-11-21"),
                rating: 4,
                went_well: "laughed".into(),
                to_change: String::new(),
                reviews: vec![GoalReview {
                    goal: Id::named("g"),
                    status: GoalStatus::Active,
                    note: String::new(),
                }],
                principles: vec![Principle::Trust],
                created: Timestamp(4),
            },
        );
        side.interactions.insert(
            Id::named("i"),
            Interaction {
                on: day("2026-11-20"),
                by: Initiator::Them,
                via: Channel::InPerson,
                reason: Reason::JustBecause,
                note: String::new(),
                created: Timestamp(5),
            },
        );
        side.thanks.insert(
            Id::named("t"),
            Thanks {
                on: day("2026-11-19"),
                text: "thank you".into(),
                created: Timestamp(6),
            },
        );
        side.boundaries.insert(
            Id::named("b"),
            Boundary {
                on: Some(day("2026-11-20")),
                text: "no calls late".into(),
                created: Timestamp(7),
            },
        );
        side.joins.insert(
            Id::named("j"),
            GoalJoin {
                goal: Id::named("their goal"),
                title: "Trip".into(),
                objectives: Records::new(),
                joined: Timestamp(8),
                left: None,
                achieved: None,
            },
        );
        let reflection = Reflection {
            relationship: jordan,
            at: Timestamp(9),
            answers: vec![PairedAnswer {
                about_them: "yes".into(),
                about_me: "mostly".into(),
            }],
            note: String::new(),
        };
        let entry = JournalEntry {
            at: Timestamp(10),
            text: "Grateful @walks".into(),
            tags: vec!["walks".into()],
            about: vec![jordan],
            starred: true,
            principles: vec![Principle::Appreciation],
        };
        let export = Export {
            format: FORMAT.to_owned(),
            version: VERSION,
            exported_at: chrono::DateTime::UNIX_EPOCH,
            name: "Maya".into(),
            person: "1111111111111111111111111111111111111111111111111111111111111111".into(),
            private: PrivateDoc {
                relationships: [(jordan, rel("Jordan")), (sam, rel("Sam"))]
                    .into_iter()
                    .collect(),
                reflections: [(Id::named("f"), reflection)].into_iter().collect(),
                records: [(sam, side.clone())].into_iter().collect(),
            },
            journal: JournalDoc {
                entries: [(Id::named("e"), entry)].into_iter().collect(),
            },
            sides: [(jordan, side)].into_iter().collect(),
        };
        serde_json::to_value(&export).unwrap()
    }

    #[derive(Debug, Clone)]
    enum Op {
        Replace(Value),
        Delete,
        AddKey(String, Value),
        RenameKey(String),
    }

    fn json_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            prop_oneof![
                Just(0i64),
                Just(1),
                Just(5),
                Just(6),
                Just(99),
                Just(-1),
                any::<i64>()
            ]
            .prop_map(Value::from),
            any::<f64>().prop_map(|f| json!(f)),
            prop_oneof![
                Just("in-person".to_owned()),
                Just("e-mail".to_owned()),
                Just("Upper".to_owned()),
                Just("2026-11-20".to_owned()),
                Just("1899-01-01".to_owned()),
                Just(Id::named("x").to_string()),
                Just("x".repeat(6_000)),
                Just(String::new()),
                "[a-z -]{0,12}",
            ]
            .prop_map(Value::from),
            Just(json!([])),
            Just(json!({})),
            Just(json!({ "every": "yearly-on", "month": 3 })),
            Just(json!({ "every": "monthly-on", "day": 40 })),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => json_value().prop_map(Op::Replace),
            2 => Just(Op::Delete),
            1 => ("[a-z_]{1,8}", json_value()).prop_map(|(k, v)| Op::AddKey(k, v)),
            1 => prop_oneof![Just(Id::named("y").to_string()), "[a-z]{0,4}"].prop_map(Op::RenameKey),
        ]
    }

    /// Every path in `v`, as JSON pointers.
    fn paths(v: &Value, at: String, out: &mut Vec<String>) {
        out.push(at.clone());
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    paths(
                        child,
                        format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                        out,
                    );
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    paths(child, format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
    }

    fn apply(v: &mut Value, path: &str, op: &Op) {
        let (parent, last) = match path.rfind('/') {
            Some(i) => (
                &path[..i],
                path[i + 1..].replace("~1", "/").replace("~0", "~"),
            ),
            None => ("", String::new()),
        };
        match op {
            Op::Replace(new) => {
                if let Some(slot) = v.pointer_mut(path) {
                    *slot = new.clone();
                }
            }
            Op::AddKey(key, new) => {
                if let Some(Value::Object(map)) = v.pointer_mut(path) {
                    map.insert(key.clone(), new.clone());
                }
            }
            Op::Delete => match v.pointer_mut(parent) {
                Some(Value::Object(map)) => {
                    map.remove(&last);
                }
                Some(Value::Array(items)) => {
                    if let Ok(i) = last.parse::<usize>()
                        && i < items.len()
                    {
                        items.remove(i);
                    }
                }
                _ => {}
            },
            Op::RenameKey(to) => {
                if let Some(Value::Object(map)) = v.pointer_mut(parent)
                    && let Some(moved) = map.remove(&last)
                {
                    map.insert(to.clone(), moved);
                }
            }
        }
    }

    fn cases() -> u32 {
        std::env::var("TAPIN_FUZZ_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(64)
    }

    /// The property below is only as good as its starting point: the unchanged export, and one
    /// with a value from a newer tapin, must be accepted.
    #[test]
    fn the_base_export_and_a_newer_variant_are_accepted() {
        let v = base();
        let export = parse_export(&v.to_string()).unwrap();
        validate_export(&export).unwrap();
        let mut newer = v.clone();
        let jordan = Id::named("jordan").to_string();
        newer["sides"][&jordan]["interactions"][Id::named("i").to_string()]["via"] =
            json!("e-mail");
        let export = parse_export(&newer.to_string()).unwrap();
        validate_export(&export).unwrap();
        let via = export.sides[&Id::named("jordan")].interactions[&Id::named("i")].via;
        assert_eq!(via.stored_name(), "EMail");
        let mut out_of_range = v;
        out_of_range["sides"][&jordan]["checkins"][Id::named("c").to_string()]["rating"] =
            json!(99);
        let export = parse_export(&out_of_range.to_string()).unwrap();
        let err = validate_export(&export).unwrap_err();
        assert!(
            format!("{err:#}").contains("rating: 99 is out of range 1–5"),
            "{err:#}"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

        #[test]
        fn fuzz_an_import_is_checked_whole_and_writes_only_valid_records(
            changes in proptest::collection::vec((any::<prop::sample::Index>(), op()), 1..5),
        ) {
            let mut v = base();
            for (pick, op) in &changes {
                let mut all = Vec::new();
                paths(&v, String::new(), &mut all);
                let path = all[pick.index(all.len())].clone();
                apply(&mut v, &path, op);
            }
            let text = v.to_string();
            let Ok(export) = parse_export(&text) else { return Ok(()) };
            if validate_export(&export).is_err() {
                return Ok(());
            }
            // Accepted: it all writes, and reads back exactly.
            let mut private = AutoCommit::new();
            let mut journal = AutoCommit::new();
            for (&id, rel) in &export.private.relationships {
                docs::put_relationship(&mut private, id, rel).unwrap();
                if let Some(recs) = export.private.records.get(&id) {
                    docs::put_records(&mut private, Place::Private(id), recs).unwrap();
                }
            }
            for (&id, r) in &export.private.reflections {
                docs::put_reflection(&mut private, id, r).unwrap();
            }
            for (&id, e) in &export.journal.entries {
                docs::put_entry(&mut journal, id, e).unwrap();
            }
            let read = docs::read_private(&private).unwrap();
            prop_assert_eq!(read.unreadable(), 0);
            prop_assert_eq!(&read.relationships, &export.private.relationships);
            prop_assert_eq!(&read.reflections, &export.private.reflections);
            for (id, recs) in &export.private.records {
                prop_assert_eq!(&read.records[id], recs);
            }
            prop_assert_eq!(&docs::read_journal(&journal).unwrap().entries, &export.journal.entries);
            for (&id, recs) in &export.sides {
                let mut side = AutoCommit::new();
                docs::put_records(&mut side, Place::Shared(id), recs).unwrap();
                let back = docs::read_side(&side, id).unwrap();
                prop_assert_eq!(back.unreadable(), 0);
                prop_assert_eq!(&back, recs);
            }
        }
    }
}
