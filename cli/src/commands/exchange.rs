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
/// record set and reflection belonging to a relationship the export lists, and no name that
/// another relationship of this home already has.
fn check_export(app: &App, export: &Export) -> Result<()> {
    use tapin_core::validate::{Mode, Validate};
    let listed = &export.private.relationships;
    let name_of = |id: &Id| {
        listed
            .get(id)
            .map_or_else(|| id.short(), |r| format!("{} ({})", r.name, id.short()))
    };
    for (id, rel) in listed {
        rel.validate(Mode::Input)
            .with_context(|| format!("relationship {}", name_of(id)))?;
    }
    for (id, records) in &export.private.records {
        if !listed.contains_key(id) {
            bail!("it has private records of relationship {id}, which it does not list");
        }
        records
            .validate(Mode::Input)
            .with_context(|| format!("the private records of {}", name_of(id)))?;
    }
    for (id, side) in &export.sides {
        if !listed.contains_key(id) {
            bail!("it has a shared side of relationship {id}, which it does not list");
        }
        side.validate(Mode::Input)
            .with_context(|| format!("the shared side of {}", name_of(id)))?;
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
    // Names are how people are found: no two relationships may share one, in the export or
    // against this home.
    let here = app.private_uncached()?;
    let mut seen: BTreeMap<String, Id> = here
        .relationships
        .iter()
        .map(|(id, r)| (r.name.to_lowercase(), *id))
        .collect();
    for (id, rel) in listed {
        match seen.insert(rel.name.to_lowercase(), *id) {
            Some(other) if other != *id => bail!(
                "relationship {} has the same name as {} {}",
                name_of(id),
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
    // A home restored from an export keeps the person key it came from, so that importing the
    // same export (or a later one of that person) again is not taken for someone else's.
    let mut from = restored_from(app)?;
    if let Whose::Restore = whose {
        from.push(export.person.clone());
    }
    app.transaction(|txn| {
        if let Whose::Restore = whose {
            txn.set_meta(META_RESTORED_FROM, &serde_json::to_vec(&from)?)?;
        }
        txn.update(DocId::Private, |d| {
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
        txn.update(DocId::Journal, |d| {
            for (&id, e) in &export.journal.entries {
                docs::put_entry(d, id, e)?;
            }
            Ok(())
        })?;
        for (&id, recs) in &export.sides {
            txn.update(DocId::Side(id), |d| {
                Ok(docs::put_records(d, Place::Shared(id), recs)?)
            })?;
        }
        Ok(())
    })
}

/// The meta key listing the person keys (hex) whose exports restored this home.
const META_RESTORED_FROM: &str = "import.restored_from";

/// The person keys whose exports restored this home (none for most homes).
fn restored_from(app: &App) -> Result<Vec<String>> {
    match app.store.get_meta(META_RESTORED_FROM)? {
        None => Ok(Vec::new()),
        Some(bytes) => serde_json::from_slice(&bytes)
            .with_context(|| format!("the home's {META_RESTORED_FROM} is damaged")),
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
