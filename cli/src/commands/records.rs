//! `tapin edit ID`, `tapin delete ID` and `tapin person delete NAME`: mistakes undone.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Result, bail};
use clap::ValueEnum;
use tapin_app::Home;
use tapin_app::core::model::Recurrence;
use tapin_app::records::{Edited, Kind, RecordEdit, RitualEdit};
use tapin_app::words::{self, DELETE_MEANS, PERSON_DELETE_MEANS, plural};

use crate::args::{EditArgs, InitiatorArg, RitualFields};
use crate::output::{self, BOLD, paint};

/// `tapin delete --help`: what a delete means.
pub(crate) fn delete_help() -> String {
    format!("What deleting means:\n  {}", DELETE_MEANS.join("\n  "))
}

/// `tapin person delete --help`: what goes with a relationship.
pub(crate) fn person_delete_help() -> String {
    format!(
        "What goes with it:\n  {}\n\nAnd as with any delete:\n  {}",
        PERSON_DELETE_MEANS.join("\n  "),
        DELETE_MEANS.join("\n  ")
    )
}

/// Asks `question` (y/N) on the terminal, or, with no terminal to ask on, requires `--yes`.
fn confirmed(question: &str, yes: bool) -> Result<bool> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "not deleted: there is no terminal to confirm on; pass --yes to delete without asking"
        );
    }
    let mut err = std::io::stderr();
    write!(err, "{question} [y/N] ")?;
    err.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim().to_lowercase().as_str(), "y" | "yes"))
}

/// `tapin delete ID`.
pub(crate) fn delete(home: &Home, id: &str, yes: bool, json: bool) -> Result<()> {
    let found = home.find_any(id)?;
    if found.kind == Kind::Relationship {
        return delete_person(home, &found.id.to_string(), yes, json);
    }
    if !confirmed(&format!("Delete {}?", found.describe()), yes)? {
        output::note("Nothing was deleted.")?;
        return Ok(());
    }
    let deleted = home.delete(&found.id.to_string())?;
    if json {
        return output::json(&deleted);
    }
    let mut out = output::stdout();
    let what = deleted.record.describe();
    writeln!(out, "Deleted {what}.")?;
    for line in &deleted.means {
        writeln!(out, "  {line}")?;
    }
    Ok(())
}

/// `tapin person delete NAME`, and `tapin delete ID` with a relationship's id.
pub(crate) fn delete_person(home: &Home, person: &str, yes: bool, json: bool) -> Result<()> {
    let what = home.person_deletion(person)?;
    let mut goes = Vec::new();
    for (n, word, suffix) in [
        (what.records, "record", " of yours"),
        (what.reflections, "reflection", ""),
        (what.theirs, "record", " they shared with you"),
    ] {
        if n > 0 {
            goes.push(format!("{}{suffix}", plural(n, word)));
        }
    }
    let goes = if goes.is_empty() {
        String::new()
    } else {
        format!(" with {}", goes.join(", "))
    };
    let mut question = format!(
        "Delete {}{goes}? Journal entries about them stay, without the link to them.",
        what.name
    );
    if what.notice_goes {
        question = format!("{}\n{question}", words::notice_goes(&what.name));
    }
    if !confirmed(&question, yes)? {
        output::note("Nothing was deleted.")?;
        return Ok(());
    }
    let gone = home.delete_person(&what.id.to_string())?;
    if json {
        return output::json(&gone);
    }
    let mut out = output::stdout();
    writeln!(
        out,
        "Deleted {} and everything recorded about them ({} of yours, {}, {} of theirs).",
        paint(BOLD, &gone.name),
        plural(gone.records, "record"),
        plural(gone.reflections, "reflection"),
        plural(gone.theirs, "record"),
    )?;
    if gone.journal_mentions > 0 {
        writeln!(
            out,
            "  {} about them, without the link to them.",
            if gone.journal_mentions == 1 {
                "1 journal entry stays".to_owned()
            } else {
                format!("{} journal entries stay", gone.journal_mentions)
            }
        )?;
    }
    for line in &gone.means {
        writeln!(out, "  {line}")?;
    }
    Ok(())
}

/// The ritual fields given, as the engine takes them.
pub(crate) fn ritual_edit(title: Option<String>, f: RitualFields) -> Result<RitualEdit> {
    let recurrence = match (f.monthly_on, f.weekly_on.as_deref(), f.every) {
        (Some(day), _, _) => Some(Recurrence::MonthlyOn { day }),
        (_, Some(w), _) => Some(Recurrence::WeeklyOn {
            weekday: crate::commands::ritual::weekday(w)?,
        }),
        (_, _, Some(days)) => Some(Recurrence::EveryDays { days }),
        _ => None,
    };
    Ok(RitualEdit {
        title,
        recurrence,
        minutes: f.minutes,
        guidelines: (!f.guidelines.is_empty()).then_some(f.guidelines),
        start: f.start,
    })
}

/// What an edit did, in words.
pub(crate) fn edited(json: bool, e: &Edited) -> Result<()> {
    if json {
        return output::json(e);
    }
    let mut out = output::stdout();
    if !e.changed {
        writeln!(out, "Nothing changed in {}.", e.record.describe())?;
        return Ok(());
    }
    writeln!(out, "Edited {}.", e.record.describe())?;
    if e.record.shared {
        let who = e.record.person.as_deref().unwrap_or("Your friend");
        writeln!(
            out,
            "  {who}'s devices get the change the next time they sync with you."
        )?;
    }
    output::warn(e.warning.as_deref())
}

/// `tapin edit ID`.
pub(crate) fn edit(home: &Home, args: EditArgs, json: bool) -> Result<()> {
    let ritual = ritual_edit(None, args.ritual)?;
    let mut change = RecordEdit {
        text: args.text,
        on: args.on,
        via: args.via.map(Into::into),
        reason: args.reason.map(Into::into),
        rating: args.rating,
        to_change: args.to_change,
        why: args.why,
        ritual,
        ..RecordEdit::default()
    };
    if let Some(by) = args.by.as_deref() {
        // `--by` is who reached out for an interaction and a deadline for a goal, as in `log`
        // and `goal add`.
        if home.find_any(&args.id)?.kind == Kind::Interaction {
            let who = InitiatorArg::from_str(by, true)
                .map_err(|_| anyhow::anyhow!("--by {by:?}: say me or them"))?;
            change.by = Some(who.into());
        } else {
            change.deadline = Some(by.to_owned());
        }
    }
    if change.is_empty() && !std::io::stdin().is_terminal() {
        // No terminal for an editor: the new main text comes on standard input, as with
        // `journal add`.
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)?;
        if text.trim().is_empty() {
            bail!(
                "nothing to change: give the fields to change (see `tapin edit --help`), pipe the \
                 new text in, or run it on a terminal to open your editor"
            );
        }
        change.text = Some(text.trim().to_owned());
    } else if change.is_empty() {
        let found = home.find_any(&args.id)?;
        let hint = format!(
            "Edit the text of {} below.",
            found.describe().trim_start_matches("the ")
        );
        match crate::editor::compose(home.path(), &hint, &found.text)? {
            Some(text) => change.text = Some(text),
            None => {
                output::note("The text was empty; nothing was changed.")?;
                return Ok(());
            }
        }
    }
    edited(json, &home.edit(&args.id, &change)?)
}
