//! `tapin journal …`: the private journal. Entries live in the journal document, which has no
//! path to any other device.

use std::io::{IsTerminal, Read, Write};

use anyhow::{Context, Result, bail};
use serde::Serialize;
use tapin_core::docs::{self, JournalDoc, PrivateDoc};
use tapin_core::model::JournalEntry;
use tapin_core::views::journal::{Query, extract_tags, search};
use tapin_core::{DocId, Id};

use crate::app::{self, App};
use crate::args::JournalCommand;
use crate::commands::saved;
use crate::output::{self, BOLD, DIM, WARN, paint};

pub(crate) fn run(app: &App, cmd: JournalCommand, json: bool) -> Result<()> {
    match cmd {
        JournalCommand::Add {
            text,
            about,
            tags,
            star,
        } => add(app, text, &about, &tags, star, json),
        JournalCommand::List {
            about,
            tag,
            starred,
            limit,
        } => {
            let private = app.private()?;
            let query = Query {
                about: about
                    .map(|p| app.find_person(&private, &p))
                    .transpose()?
                    .map(|(id, _)| id),
                tags: tag
                    .into_iter()
                    .map(|t| t.trim_start_matches('@').to_lowercase())
                    .collect(),
                starred_only: starred,
                ..Query::default()
            };
            show(app, &private, &query, limit, json)
        }
        JournalCommand::Search {
            query,
            about,
            starred,
            limit,
        } => {
            let private = app.private()?;
            let text = query.join(" ");
            let mut q = Query::parse(&text);
            if q.terms.is_empty() && q.tags.is_empty() {
                bail!("search for something: words, or @tags");
            }
            q.about = about
                .map(|p| app.find_person(&private, &p))
                .transpose()?
                .map(|(id, _)| id);
            q.starred_only = starred;
            show(app, &private, &q, limit, json)
        }
        JournalCommand::Star { entry } => set_star(app, &entry, true, json),
        JournalCommand::Unstar { entry } => set_star(app, &entry, false, json),
    }
}

/// The entry's text: the argument, else `$VISUAL`/`$EDITOR` on a terminal, else standard input.
fn read_text(app: &App, text: Option<String>) -> Result<String> {
    if let Some(t) = text {
        return Ok(t);
    }
    if !std::io::stdin().is_terminal() {
        let mut buf = String::new();
        std::io::stdin()
            .read_to_string(&mut buf)
            .context("could not read the entry from standard input")?;
        return Ok(buf);
    }
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .context("no entry text given and neither $VISUAL nor $EDITOR is set; pass the text, pipe it in, or set $EDITOR")?;
    // The draft lives inside the home (private, same permissions) rather than a shared /tmp.
    let draft = tempfile::Builder::new()
        .prefix(".journal-draft-")
        .suffix(".md")
        .tempfile_in(&app.home)
        .context("could not create a draft file for the editor")?;
    let mut parts = editor.split_whitespace();
    let program = parts.next().context("$EDITOR is empty")?;
    let status = std::process::Command::new(program)
        .args(parts)
        .arg(draft.path())
        .status()
        .with_context(|| format!("could not start the editor {editor:?}"))?;
    if !status.success() {
        bail!("the editor {editor:?} exited with {status}; nothing was saved");
    }
    std::fs::read_to_string(draft.path()).context("could not read the draft back")
}

fn add(
    app: &App,
    text: Option<String>,
    about: &[String],
    extra_tags: &[String],
    star: bool,
    json: bool,
) -> Result<()> {
    // The private document is needed only to resolve --about: a large one costs a write.
    let private = if about.is_empty() {
        Default::default()
    } else {
        app.private()?
    };
    let about_ids = about
        .iter()
        .map(|p| app.find_person(&private, p).map(|(id, _)| id))
        .collect::<Result<Vec<Id>>>()?;
    let text = read_text(app, text)?.trim().to_owned();
    if text.is_empty() {
        bail!("the entry is empty; nothing was saved");
    }
    let mut tags = extract_tags(&text);
    for t in extra_tags {
        let t = t.trim().trim_start_matches('@').to_lowercase();
        if !t.is_empty() && !tags.contains(&t) {
            tags.push(t);
        }
    }
    tags.sort();
    let entry = JournalEntry {
        at: app.stamp(),
        text,
        tags,
        about: about_ids,
        starred: star,
        principles: Vec::new(),
    };
    let entry = app::checked("journal entry", entry)?;
    let id = app::random_id()?;
    app.update(DocId::Journal, |d| Ok(docs::put_entry(d, id, &entry)?))?;
    let tags = if entry.tags.is_empty() {
        String::new()
    } else {
        format!(
            " tagged {}",
            entry
                .tags
                .iter()
                .map(|t| format!("@{t}"))
                .collect::<Vec<_>>()
                .join(" ")
        )
    };
    saved(
        json,
        id,
        format!(
            "Journal entry saved{tags} (private, stays on your devices). Id {}.",
            id.short()
        ),
        serde_json::json!({ "entry": entry }),
    )
}

fn set_star(app: &App, entry: &str, starred: bool, json: bool) -> Result<()> {
    let journal = app.journal()?;
    let id = app::unique_prefix(journal.entries.keys().copied(), entry, "journal entry")?;
    let e = app.update(DocId::Journal, |d| {
        let mut e: JournalEntry = docs::get_entry(d, id)?
            .ok_or_else(|| anyhow::anyhow!("journal entry {entry:?} was removed meanwhile"))?;
        e.starred = starred;
        docs::put_entry(d, id, &e)?;
        Ok(e)
    })?;
    saved(
        json,
        id,
        format!(
            "Entry {} {}.",
            id.short(),
            if starred { "starred" } else { "unstarred" }
        ),
        serde_json::json!({ "entry": e }),
    )
}

#[derive(Serialize)]
struct EntryRow<'a> {
    id: Id,
    #[serde(flatten)]
    entry: &'a JournalEntry,
    written: String,
    about_names: Vec<String>,
}

fn show(app: &App, private: &PrivateDoc, query: &Query, limit: usize, json: bool) -> Result<()> {
    let journal: JournalDoc = app.journal()?;
    let found = search(&journal, query);
    let total = found.len();
    let rows: Vec<EntryRow<'_>> = found
        .into_iter()
        .take(limit)
        .map(|(id, entry)| EntryRow {
            id,
            entry,
            written: entry
                .at
                .to_datetime()
                .with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M")
                .to_string(),
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
    if json {
        return output::json(&serde_json::json!({ "total": total, "entries": rows }));
    }
    let mut out = output::stdout();
    if rows.is_empty() {
        writeln!(out, "No entries found.")?;
    }
    for row in &rows {
        let star = if row.entry.starred {
            paint(WARN, "★ ")
        } else {
            String::new()
        };
        let about = if row.about_names.is_empty() {
            String::new()
        } else {
            format!(" · about {}", row.about_names.join(", "))
        };
        writeln!(
            out,
            "{star}{}  {}{about}",
            paint(BOLD, &row.written),
            paint(DIM, row.id.short())
        )?;
        for line in row.entry.text.lines() {
            writeln!(out, "  {line}")?;
        }
    }
    if total > rows.len() {
        output::note(format!(
            "({} more; raise --limit to see them)",
            total - rows.len()
        ))?;
    }
    Ok(())
}
