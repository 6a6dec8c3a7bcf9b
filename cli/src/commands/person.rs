//! `tapin person …`, `tapin people` and `tapin snooze`.

use std::io::Write;

use anyhow::Result;
use tapin_app::Home;
use tapin_app::core::model::RelationshipStatus;
use tapin_app::core::views::touch::TouchState;
use tapin_app::people::{PersonEdit, PersonSaved, PersonSettings, parse_interval};
use tapin_app::words::{self, describe_day};

use crate::args::{self, PersonCommand};
use crate::commands::saved;
use crate::output::{self, BAD, BOLD, DIM, GOOD, WARN, paint};

fn settings(args: &args::PersonSettings) -> Result<PersonSettings> {
    Ok(PersonSettings {
        importance: args.importance,
        risk: args.risk.map(Into::into),
        rhythm: args
            .rhythm
            .as_deref()
            .map(|r| parse_interval("--rhythm", r))
            .transpose()?,
        max: args
            .max
            .as_deref()
            .map(|m| parse_interval("--max", m))
            .transpose()?,
    })
}

/// "importance 5, medium risk, in touch every week, at most 2 weeks apart".
fn settings_words(saved: &PersonSaved) -> String {
    let rel = &saved.relationship;
    let rhythm = match rel.rhythm {
        Some(_) => format!("in touch {}", words::rhythm(rel.rhythm)),
        None => words::rhythm(None),
    };
    format!(
        "importance {}, {} risk, {rhythm}",
        rel.importance,
        words::risk(rel.risk)
    )
}

fn said(json: bool, saved: &PersonSaved, what: &str) -> Result<()> {
    let name = paint(BOLD, &saved.relationship.name);
    self::saved(json, saved, format!("{name} {what}."))
}

pub(crate) fn run(home: &Home, cmd: PersonCommand, json: bool) -> Result<()> {
    match cmd {
        PersonCommand::Add { name, settings: s } => {
            let added = home.add_person(&name, &settings(&s)?)?;
            let text = format!(
                "Added {}: {}.",
                paint(BOLD, &added.relationship.name),
                settings_words(&added)
            );
            saved(json, &added, text)
        }
        PersonCommand::Edit {
            person,
            name,
            settings: s,
            no_rhythm,
        } => {
            let edit = PersonEdit {
                name,
                settings: settings(&s)?,
                no_rhythm,
            };
            let edited = home.edit_person(&person, &edit)?;
            let text = format!("updated: {}", settings_words(&edited));
            said(json, &edited, &text)
        }
        PersonCommand::Archive { person } => said(
            json,
            &home.set_person_status(&person, RelationshipStatus::Archived)?,
            "is archived: their history stays, and nudges about them stop",
        ),
        PersonCommand::End { person } => said(
            json,
            &home.set_person_status(&person, RelationshipStatus::Ended)?,
            "is marked as ended: their history stays",
        ),
        PersonCommand::Restore { person } => said(
            json,
            &home.set_person_status(&person, RelationshipStatus::Active)?,
            "is active again",
        ),
        PersonCommand::Delete { person, yes } => {
            crate::commands::records::delete_person(home, &person, yes, json)
        }
    }
}

/// `tapin snooze PERSON FOR`: nudges about them stay quiet until then; `--off` lifts it.
pub(crate) fn snooze(
    home: &Home,
    person: &str,
    duration: Option<&str>,
    off: bool,
    json: bool,
) -> Result<()> {
    let duration = match duration {
        Some(d) if !off => d,
        _ => {
            let lifted = home.lift_snooze(person)?;
            return said(
                json,
                &lifted,
                "is no longer snoozed; nudges about them are back",
            );
        }
    };
    let snoozed = home.snooze(person, duration)?;
    let rel = &snoozed.saved.relationship;
    let name = paint(BOLD, &rel.name);
    let text = match rel.snoozed_until {
        // An end that is not after today quiets nothing (the engine's warning says so).
        Some(until) if snoozed.warning.is_some() => {
            format!(
                "{name}'s snooze ends {}: nothing is quieted.",
                describe_day(until)
            )
        }
        Some(until) => format!("{name} is snoozed until {}.", describe_day(until)),
        None => format!("{name} is not snoozed."),
    };
    saved(json, &snoozed, text)?;
    output::warn(snoozed.warning.as_deref())
}

/// Every relationship with its staying-in-touch state, most important first.
pub(crate) fn people(home: &Home, all: bool, json: bool) -> Result<()> {
    let people = home.people(all)?;
    if people.unreadable_rows > 0 {
        output::note(format!(
            "{} of your relationships or reflections could not be read by this version of \
             tapin (written by a newer version, or damaged); they are kept as they are.",
            people.unreadable_rows
        ))?;
    }
    let rows = &people.rows;
    if json {
        return output::json(rows);
    }
    let mut out = output::stdout();
    if rows.is_empty() {
        writeln!(out, "No one yet. Add someone with `tapin person add NAME`.")?;
        return Ok(());
    }
    let width = rows
        .iter()
        .map(|r| output::width(&r.relationship.name))
        .max()
        .unwrap_or(0)
        .clamp(4, output::NAME_COLUMN);
    let head = format!(
        "{:<8}  {}  imp  risk    last contact  {:<24}  {:<10}  touch",
        "id",
        output::cell("name", width),
        "paired",
        "ritual"
    );
    writeln!(out, "{}", paint(DIM, head))?;
    for row in rows {
        let rel = &row.relationship;
        let last = row
            .touch
            .last_contact
            .map_or_else(|| "never".to_owned(), |d| d.to_string());
        let (style, state) = match &row.touch.state {
            TouchState::NoRhythm => (DIM, "no rhythm".to_owned()),
            TouchState::Fine { due_on, .. } => (GOOD, format!("fine until {due_on}")),
            TouchState::Due { days_over, .. } => {
                (WARN, format!("due ({days_over} days past ideal)"))
            }
            TouchState::Overdue { days_over, .. } => {
                (BAD, format!("overdue ({days_over} days past max)"))
            }
            TouchState::Snoozed { until } => (DIM, format!("snoozed until {until}")),
            TouchState::Inactive { status } => (DIM, words::person_status(*status)),
        };
        let paired = match &rel.peer {
            Some(p) if p.ended.is_some() => "ended by them".to_owned(),
            Some(p) if p.unpaired.is_some() => "unpaired".to_owned(),
            Some(p) => {
                let devices: Vec<&str> = p.devices.values().map(|d| d.name.as_str()).collect();
                let devices = words::devices(&devices);
                // Their own name only when it is not the one in the name column.
                if p.name == rel.name {
                    devices
                } else {
                    format!("as {} ({devices})", output::fit(&p.name, 12))
                }
            }
            None => "-".to_owned(),
        };
        let ritual = row
            .next_ritual
            .map_or_else(|| "-".to_owned(), |d| d.to_string());
        let flag = if row.red_flag {
            paint(WARN, "  ⚑ red flag (private)")
        } else {
            String::new()
        };
        writeln!(
            out,
            "{:<8}  {}  {:>3}  {:<6}  {:<12}  {}  {ritual:<10}  {}{flag}",
            row.id.short(),
            output::cell(&rel.name, width),
            rel.importance,
            words::risk(rel.risk),
            last,
            output::cell(&paired, 24),
            paint(style, state),
        )?;
    }
    let total = tapin_app::Unreadable::total(rows.iter().map(|r| &r.unreadable));
    for line in total.lines() {
        writeln!(out, "{}", paint(DIM, line))?;
    }
    Ok(())
}
