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
use tapin_core::model::{Initiator, SideRecords};
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
    sides: BTreeMap<String, SideRecords>,
}

fn collect(app: &App) -> Result<Export> {
    let private = app.private()?;
    let mut sides = BTreeMap::new();
    for id in private.relationships.keys() {
        let rel: Id = id
            .parse()
            .with_context(|| format!("relationship id {id:?} is damaged"))?;
        let side = app.side(rel)?;
        if !side.is_empty() {
            sides.insert(id.clone(), side);
        }
    }
    Ok(Export {
        format: FORMAT.to_owned(),
        version: VERSION,
        exported_at: app.now,
        name: app.name.clone(),
        person: app.person.id().to_string(),
        private,
        journal: app.journal()?,
        sides,
    })
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
            let mut bytes = serde_json::to_vec_pretty(&collect(app)?)?;
            bytes.push(b'\n');
            emit(args.out.as_deref(), &bytes, json)
        }
        ExportFormat::Markdown => {
            let md = markdown(&collect(app)?)?;
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

/// The word an enum is written as in JSON ("in-person", "just-because").
fn word<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
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
        writeln!(md, "## {}\n", rel.name)?;
        writeln!(
            md,
            "Importance {}/5 · {} risk · {}\n",
            rel.importance,
            word(&rel.risk),
            word(&rel.status)
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
                let who = if i.by == Initiator::Me {
                    "I reached out"
                } else {
                    "They reached out"
                };
                writeln!(
                    md,
                    "- {}: {who} ({:?}, {:?}) {}",
                    i.on, i.via, i.reason, i.note
                )?;
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
            .filter(|r| r.relationship.to_string() == *id)
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
    let export: Export = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a tapin JSON export", file.display()))?;
    if export.format != FORMAT {
        bail!(
            "{} is not a tapin export (format {:?})",
            file.display(),
            export.format
        );
    }
    if export.version > VERSION {
        bail!(
            "{} was written by a newer tapin (export version {}); upgrade tapin to import it",
            file.display(),
            export.version
        );
    }
    // Validate every id before writing anything.
    let rel_ids: Vec<Id> = export
        .private
        .relationships
        .keys()
        .map(|k| {
            k.parse()
                .with_context(|| format!("relationship id {k:?} in the export is malformed"))
        })
        .collect::<Result<_>>()?;
    for key in export.sides.keys().chain(export.private.records.keys()) {
        if !export.private.relationships.contains_key(key) {
            bail!("the export has records for relationship {key:?}, which it does not list");
        }
    }
    for key in export
        .private
        .reflections
        .keys()
        .chain(export.journal.entries.keys())
    {
        key.parse::<Id>()
            .with_context(|| format!("record id {key:?} in the export is malformed"))?;
    }
    let before: usize = heads_count(app)?;
    app.update(DocId::Private, |d| {
        for (id, (key, rel)) in rel_ids.iter().zip(&export.private.relationships) {
            docs::put_relationship(d, *id, rel)?;
            if let Some(recs) = export.private.records.get(key) {
                docs::put_records(d, Place::Private(*id), recs)?;
            }
        }
        for (key, r) in &export.private.reflections {
            docs::put_reflection(d, key.parse()?, r)?;
        }
        Ok(())
    })?;
    app.update(DocId::Journal, |d| {
        for (key, e) in &export.journal.entries {
            docs::put_entry(d, key.parse()?, e)?;
        }
        Ok(())
    })?;
    for (key, recs) in &export.sides {
        let id: Id = key.parse()?;
        app.update(DocId::Side(id), |d| {
            Ok(docs::put_records(d, Place::Shared(id), recs)?)
        })?;
    }
    let changed = heads_count(app)? != before;
    let summary = serde_json::json!({
        "relationships": export.private.relationships.len(),
        "reflections": export.private.reflections.len(),
        "journal_entries": export.journal.entries.len(),
        "shared_sides": export.sides.len(),
        "changed": changed,
    });
    if json {
        return output::json(&summary);
    }
    writeln!(
        output::stdout(),
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
    Ok(())
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
