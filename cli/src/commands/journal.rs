//! `tapin journal …`: the private journal. Entries live in the journal document, which has no
//! path to any other device.

use std::io::{IsTerminal, Read, Write};

use anyhow::{Context, Result, bail};
use tapin_app::Home;
use tapin_app::journal::{EntrySaved, Find};

use crate::args::JournalCommand;
use crate::commands::saved;
use crate::output::{self, BOLD, DIM, WARN, paint};

pub(crate) fn run(home: &Home, cmd: JournalCommand, json: bool) -> Result<()> {
    match cmd {
        JournalCommand::Add {
            text,
            about,
            tags,
            star,
        } => {
            let text = read_text(home, text, &about)?;
            let saved_entry = home.add_entry(&text, &about, &tags, star)?;
            let tags = &saved_entry.entry.tags;
            let tags = if tags.is_empty() {
                String::new()
            } else {
                let tags: Vec<String> = tags.iter().map(|t| format!("@{t}")).collect();
                format!(" tagged {}", tags.join(" "))
            };
            let text = format!(
                "Journal entry saved{tags} (private, stays on your devices). Id {}.",
                saved_entry.id.short()
            );
            saved(json, &saved_entry, text)
        }
        JournalCommand::List {
            about,
            tag,
            starred,
            limit,
        } => show(
            home,
            &Find {
                tags: tag.into_iter().collect(),
                about,
                starred,
                limit,
                ..Find::default()
            },
            json,
        ),
        JournalCommand::Search {
            query,
            about,
            starred,
            limit,
        } => show(
            home,
            &Find {
                text: Some(query.join(" ")),
                about,
                starred,
                limit,
                ..Find::default()
            },
            json,
        ),
        JournalCommand::Star { entry } => star(json, &home.star_entry(&entry, true)?, "starred"),
        JournalCommand::Unstar { entry } => {
            star(json, &home.star_entry(&entry, false)?, "unstarred")
        }
    }
}

fn star(json: bool, e: &EntrySaved, what: &str) -> Result<()> {
    saved(json, e, format!("Entry {} {what}.", e.id.short()))
}

/// The entry's text: the argument, else the editor on a terminal, else standard input.
/// The people it is about are looked up before an editor opens, so a wrong name fails before the
/// entry is written, not after.
fn read_text(home: &Home, text: Option<String>, about: &[String]) -> Result<String> {
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
    for person in about {
        home.find_person(person)?;
    }
    let hint = "Write your journal entry below. It stays on your own devices; @words become tags.";
    match crate::editor::compose(home.path(), hint, "")? {
        Some(text) => Ok(text),
        None => bail!("the entry is empty; nothing was saved"),
    }
}

fn show(home: &Home, find: &Find, json: bool) -> Result<()> {
    let found = home.find_entries(find)?;
    if json {
        return output::json(&found);
    }
    let mut out = output::stdout();
    let filtered = find.text.is_some() || !find.tags.is_empty() || find.about.is_some();
    if found.total == 0 && !filtered && !find.starred {
        writeln!(
            out,
            "Your journal is empty. Write in it with `tapin journal add TEXT`."
        )?;
    } else if found.entries.is_empty() {
        writeln!(out, "No entries found.")?;
    }
    for row in &found.entries {
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
        let (written, id) = (paint(BOLD, &row.written), paint(DIM, row.id.short()));
        writeln!(out, "{star}{written}  {id}{about}")?;
        for line in row.entry.text.lines() {
            writeln!(out, "  {line}")?;
        }
    }
    if found.total > found.entries.len() {
        let more = found.total - found.entries.len();
        output::note(format!("({more} more; raise --limit to see them)"))?;
    }
    Ok(())
}
