//! `tapin export` and `tapin import`: the person's data is never locked in.
//!
//! JSON round-trips through `import`; Markdown is for reading; `--format automerge` writes each
//! document as a standard `.automerge` file that any automerge implementation opens.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use tapin_core::docs::{self, JournalDoc, Place, PrivateDoc};
use tapin_core::model::{Initiator, Relationship, SideRecords};
use tapin_core::{DocId, Id};
use tapin_store::MetaKey;

use crate::app::App;
use crate::args::{ExportArgs, ExportFormat};
use crate::commands::goal::status_word;
use crate::commands::ritual::recurrence_words;
use crate::output;

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

/// Everything of the home, read from the documents themselves (never from the view cache: an
/// export is a backup, and must fail on a damaged document rather than repeat a cached copy),
/// and how many records could not be read into it.
fn collect(app: &App) -> Result<(Export, usize)> {
    let private = app.private_uncached()?;
    let mut unreadable = private.unreadable();
    let mut sides = BTreeMap::new();
    for &rel in private.relationships.keys() {
        let side = app.side_uncached(rel)?;
        unreadable += side.unreadable();
        if !side.is_empty() {
            sides.insert(rel, side);
        }
    }
    let journal = app.journal_uncached()?;
    unreadable += journal.entries.unreadable().len();
    let export = Export {
        format: FORMAT.to_owned(),
        version: VERSION,
        exported_at: app.now,
        name: app.name.clone(),
        person: app.person.id().to_string(),
        private,
        journal,
        sides,
    };
    Ok((export, unreadable))
}

/// Tells the person that what could not be read is not in a JSON or Markdown export.
fn warn_unreadable(unreadable: usize) -> Result<()> {
    if unreadable == 0 {
        return Ok(());
    }
    output::note(format!(
        "{} could not be read by this version of tapin and {} not in this export; \
         `tapin export --format automerge --out DIR` keeps everything, or export again after \
         updating tapin.",
        if unreadable == 1 {
            "1 record".to_owned()
        } else {
            format!("{unreadable} records")
        },
        if unreadable == 1 { "is" } else { "are" }
    ))
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, then a rename, so a failure
/// never leaves a half-written export.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("could not write in {}", dir.display()))?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path)
        .with_context(|| format!("could not write {}", path.display()))?;
    Ok(())
}

pub(crate) fn export(app: &App, args: ExportArgs, json: bool) -> Result<()> {
    match args.format {
        ExportFormat::Json => {
            let (export, unreadable) = collect(app)?;
            let mut bytes = serde_json::to_vec_pretty(&export)?;
            bytes.push(b'\n');
            warn_unreadable(unreadable)?;
            emit(args.out.as_deref(), &bytes, json)
        }
        ExportFormat::Markdown => {
            let (export, unreadable) = collect(app)?;
            warn_unreadable(unreadable)?;
            let md = markdown(&export)?;
            if json && args.out.is_none() {
                return output::json(&serde_json::json!({ "markdown": md }));
            }
            emit(args.out.as_deref(), md.as_bytes(), json)
        }
        ExportFormat::Automerge => {
            let dir = args.out.context(
                "--format automerge needs --out DIR, a directory for the .automerge files",
            )?;
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("could not create {}", dir.display()))?;
            let mut written = Vec::new();
            for doc in app.store.documents()? {
                let Some(am) = app
                    .store
                    .load(&doc)
                    .with_context(|| format!("could not load document {doc}"))?
                else {
                    continue;
                };
                let path = dir.join(format!("{doc}.automerge"));
                write_atomic(&path, &am.save())?;
                written.push(path);
            }
            if written.is_empty() {
                output::note("Nothing to export yet.")?;
            }
            if json {
                return output::json(&serde_json::json!({ "files": written }));
            }
            for path in &written {
                writeln!(output::stdout(), "{}", path.display())?;
            }
            Ok(())
        }
    }
}

fn emit(out: Option<&Path>, bytes: &[u8], json: bool) -> Result<()> {
    match out {
        Some(path) => {
            write_atomic(path, bytes)?;
            if json {
                return output::json(&serde_json::json!({ "files": [path] }));
            }
            output::note(format!("Exported to {}.", path.display()))
        }
        None => {
            std::io::stdout().lock().write_all(bytes)?;
            Ok(())
        }
    }
}

fn markdown(e: &Export) -> Result<String> {
    let mut md = String::new();
    writeln!(
        md,
        "# tapin — {}\n\nExported {}.\n",
        e.name,
        e.exported_at.format("%Y-%m-%d %H:%M UTC")
    )?;
    let empty = SideRecords::default();
    for (id, rel) in &e.private.relationships {
        let rel_name = rel.name.as_str();
        writeln!(md, "## {}\n", rel.name)?;
        writeln!(
            md,
            "Importance {}/5 · {} risk · {}\n",
            rel.importance, rel.risk, rel.status
        )?;
        for (label, recs) in [
            ("Shared", e.sides.get(id).unwrap_or(&empty)),
            ("Private", e.private.records.get(id).unwrap_or(&empty)),
        ] {
            if recs.is_empty() {
                continue;
            }
            writeln!(md, "### {label}\n")?;
            for g in recs.goals.values() {
                let (d, t) = g.progress();
                writeln!(
                    md,
                    "- Goal: **{}** ({}, {d}/{t} steps{})",
                    g.title,
                    status_word(g.status),
                    g.by.map(|b| format!(", by {b}")).unwrap_or_default()
                )?;
                for (_, o) in g.steps() {
                    writeln!(md, "  - [{}] {}", if o.done { "x" } else { " " }, o.text)?;
                }
            }
            for r in recs.rituals.values() {
                writeln!(
                    md,
                    "- Ritual: **{}**, {} (kept {} times)",
                    r.title,
                    recurrence_words(r.recurrence),
                    r.occurrences.len()
                )?;
            }
            for c in recs.checkins.values() {
                writeln!(
                    md,
                    "- Check-in {}: {}/5. Went well: {}. To change: {}.",
                    c.on, c.rating, c.went_well, c.to_change
                )?;
            }
            for i in recs.interactions.values() {
                let who = match i.by {
                    Initiator::Me => "I reached out".to_owned(),
                    Initiator::Them => format!("{rel_name} reached out"),
                    other => format!("Reached out ({other})"),
                };
                writeln!(md, "- {}: {who} ({}, {}) {}", i.on, i.via, i.reason, i.note)?;
            }
            for t in recs.thanks.values() {
                writeln!(md, "- Thanks {}: {}", t.on, t.text)?;
            }
            for b in recs.boundaries.values() {
                writeln!(md, "- Boundary: {}", b.text)?;
            }
            writeln!(md)?;
        }
        for r in e
            .private
            .reflections
            .values()
            .filter(|r| r.relationship == *id)
        {
            writeln!(
                md,
                "### Reflection, {}\n",
                r.at.to_datetime().format("%Y-%m-%d")
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
            writeln!(md)?;
        }
    }
    if !e.journal.entries.is_empty() {
        writeln!(md, "## Journal\n")?;
        let mut entries: Vec<_> = e.journal.entries.values().collect();
        entries.sort_by_key(|x| std::cmp::Reverse(x.at));
        for x in entries {
            writeln!(
                md,
                "### {}{}\n\n{}\n",
                x.at.to_datetime().format("%Y-%m-%d %H:%M UTC"),
                if x.starred { " ★" } else { "" },
                x.text
            )?;
        }
    }
    Ok(md)
}

pub(crate) fn import(app: &App, file: &Path, json: bool) -> Result<()> {
    let mut text = String::new();
    if file == Path::new("-") {
        std::io::stdin()
            .read_to_string(&mut text)
            .context("could not read the export from standard input")?;
    } else {
        text = std::fs::read_to_string(file)
            .with_context(|| format!("could not read {}", file.display()))?;
    }
    let shown = file.display();
    let export = parse_export(&text).with_context(|| format!("{shown} cannot be imported"))?;
    let whose = check_whose(app, &export).with_context(|| format!("{shown} cannot be imported"))?;
    check_export(app, &export).with_context(|| format!("{shown} cannot be imported"))?;

    let before: usize = heads_count(app)?;
    write_import(app, &export, &whose)?;
    let changed = heads_count(app)? != before;
    let summary = serde_json::json!({
        "relationships": export.private.relationships.len(),
        "reflections": export.private.reflections.len(),
        "journal_entries": export.journal.entries.len(),
        "shared_sides": export.sides.len(),
        "changed": changed,
        "restored_from": match whose {
            Whose::Mine => None,
            Whose::Restore => Some(serde_json::json!({ "name": export.name, "person": export.person })),
        },
    });
    if json {
        return output::json(&summary);
    }
    let mut out = output::stdout();
    writeln!(
        out,
        "Imported {} relationships, {} reflections, {} journal entries, {} shared sides{}.",
        export.private.relationships.len(),
        export.private.reflections.len(),
        export.journal.entries.len(),
        export.sides.len(),
        if changed {
            ""
        } else {
            " (all already here; nothing changed)"
        }
    )?;
    if let Whose::Restore = whose {
        writeln!(
            out,
            "This restored {}'s export into this new home. Pairings are never imported: pair \
             with each friend again (`tapin invite` / `tapin join`).",
            export.name
        )?;
    }
    Ok(())
}

/// Reads an export, naming the JSON path of whatever does not have the expected shape.
fn parse_export(text: &str) -> Result<Export> {
    #[derive(Deserialize)]
    struct Header {
        format: Option<String>,
        version: Option<u32>,
    }
    let header: Header = serde_json::from_str(text).context("it is not a tapin JSON export")?;
    if header.format.as_deref() != Some(FORMAT) {
        bail!(
            "it is not a tapin export (format {:?})",
            header.format.unwrap_or_default()
        );
    }
    if let Some(version) = header.version
        && version > VERSION
    {
        bail!(
            "it was written by a newer tapin (export version {version}); update tapin to import it"
        );
    }
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|err| {
        // serde_json ends its messages with "at line L column C"; the path says more.
        let inner = err.inner().to_string();
        let what = inner.split(" at line ").next().unwrap_or_default();
        anyhow::anyhow!("{}: {what}", err.path())
    })
}

/// Whose export is being imported.
enum Whose {
    /// This person's own: the same person key, or that of a home this one was restored from.
    Mine,
    /// Someone's, into a home that holds nothing yet: a restore into a new home.
    Restore,
}

/// An import never mixes two people's data: the export must be this person's own, or the home
/// must be new and empty (restoring a backup into a new home, which has a new person key).
fn check_whose(app: &App, export: &Export) -> Result<Whose> {
    let person: tapin_core::identity::PersonId = export
        .person
        .parse()
        .context("its person key is malformed")?;
    if person == app.person.id() || restored_from(app)?.contains(&export.person) {
        return Ok(Whose::Mine);
    }
    let private = app.private_uncached()?;
    let journal = app.journal_uncached()?;
    let empty = private.relationships.is_empty()
        && private.reflections.is_empty()
        && private.unreadable() == 0
        && journal.entries.is_empty()
        && journal.entries.unreadable().is_empty();
    if empty {
        return Ok(Whose::Restore);
    }
    bail!(
        "it is {}'s export (person {}), not yours ({}, person {}); tapin imports only your own \
         exports, or restores one into a new, empty home (`tapin --home NEW-DIR init --name …` \
         then `tapin --home NEW-DIR import FILE`)",
        export.name,
        person.short(),
        app.name,
        app.person.id().short()
    )
}

/// Everything a command would check, before anything is written: every record valid, every
/// record set and reflection belonging to a relationship the export lists, and no two
/// relationships with one name, in the export or against this home.
fn check_export(app: &App, export: &Export) -> Result<()> {
    validate_export(export)?;
    check_names(&app.private_uncached()?, export)
}

/// What can be checked of an export on its own: see [`check_export`].
fn validate_export(export: &Export) -> Result<()> {
    use tapin_core::validate::{Mode, Validate};
    let listed = &export.private.relationships;
    for (id, rel) in listed {
        rel.validate(Mode::Input)
            .with_context(|| format!("relationship {}", name_of(export, id)))?;
    }
    for (id, records) in &export.private.records {
        if !listed.contains_key(id) {
            bail!("it has private records of relationship {id}, which it does not list");
        }
        records
            .validate(Mode::Input)
            .with_context(|| format!("the private records of {}", name_of(export, id)))?;
    }
    for (id, side) in &export.sides {
        if !listed.contains_key(id) {
            bail!("it has a shared side of relationship {id}, which it does not list");
        }
        side.validate(Mode::Input)
            .with_context(|| format!("the shared side of {}", name_of(export, id)))?;
    }
    for (id, r) in &export.private.reflections {
        if !listed.contains_key(&r.relationship) {
            bail!(
                "reflection {id} is about relationship {}, which it does not list",
                r.relationship
            );
        }
        r.validate(Mode::Input)
            .with_context(|| format!("reflection {id}"))?;
    }
    for (id, e) in &export.journal.entries {
        e.validate(Mode::Input)
            .with_context(|| format!("journal entry {id}"))?;
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
        .map(|(id, r)| (r.name.to_lowercase(), *id))
        .collect();
    for (id, rel) in &export.private.relationships {
        match seen.insert(rel.name.to_lowercase(), *id) {
            Some(other) if other != *id => bail!(
                "relationship {} has the same name as {} {}",
                name_of(export, id),
                if here.relationships.contains_key(&other) {
                    "this home's"
                } else {
                    "the export's"
                },
                other.short()
            ),
            _ => {}
        }
    }
    Ok(())
}

/// Writes the export in one transaction: all of it, or (on any error, or a crash) none of it.
/// A pairing is never created, changed or removed: a relationship already here keeps its own,
/// and a new one comes in unpaired. Pairings come only from an invitation and two confirmed codes.
fn write_import(app: &App, export: &Export, whose: &Whose) -> Result<()> {
    app.transaction(|txn| {
        // A home restored from an export keeps the person key it came from, so that importing
        // the same export (or a later one of that person) again is not taken for someone else's.
        if let Whose::Restore = whose {
            let mut from = parse_restored_from(txn.get_meta(MetaKey::RestoredFrom)?)?;
            from.push(export.person.clone());
            txn.set_meta(MetaKey::RestoredFrom, &serde_json::to_vec(&from)?)?;
        }
        txn.update(&DocId::Private, |d| -> Result<()> {
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
        txn.update(&DocId::Journal, |d| -> Result<()> {
            for (&id, e) in &export.journal.entries {
                docs::put_entry(d, id, e)?;
            }
            Ok(())
        })?;
        for (&id, recs) in &export.sides {
            txn.update(&DocId::Side(id), |d| -> Result<()> {
                Ok(docs::put_records(d, Place::Shared(id), recs)?)
            })?;
        }
        Ok(())
    })
}

/// The person keys whose exports restored this home (none for most homes).
fn restored_from(app: &App) -> Result<Vec<String>> {
    parse_restored_from(app.store.get_meta(MetaKey::RestoredFrom)?)
}

fn parse_restored_from(value: Option<Vec<u8>>) -> Result<Vec<String>> {
    match value {
        None => Ok(Vec::new()),
        Some(bytes) => serde_json::from_slice(&bytes)
            .with_context(|| format!("the home's {} is damaged", MetaKey::RestoredFrom)),
    }
}

/// A fingerprint of the store's state: total number of changes across documents.
fn heads_count(app: &App) -> Result<usize> {
    let mut n = 0;
    for doc in app.store.documents()? {
        if let Some(d) = app
            .store
            .load(&doc)
            .with_context(|| format!("could not load document {doc}"))?
        {
            n += d.get_changes(&[]).len();
        }
    }
    Ok(n)
}

/// Structure-aware property tests of reading an import: a valid export with any part of its JSON
/// changed (replaced by another value, deleted, renamed, or given a key it does not know) is read
/// and checked without panicking, and whatever passes every check is written and reads back as
/// exactly the records it held: nothing invalid reaches a document.
///
/// `TAPIN_FUZZ_CASES=100000 cargo test --release -p tapin-cli fuzz_` runs it at length.
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
