//! `tapin ritual …`: recurring, simple time together.

use std::io::Write;

use anyhow::Result;
use chrono::Weekday;
use tapin_app::Home;
use tapin_app::core::model::Recurrence;
use tapin_app::core::views::ritual::RitualState;
use tapin_app::rituals::{NewRitual, RitualSaved};
use tapin_app::words::{self, describe_day, recurrence, streak};

use crate::args::RitualCommand;
use crate::commands::{malformed, saved};
use crate::output::{self, BAD, BOLD, DIM, GOOD, WARN, paint};

pub(crate) fn weekday(s: &str) -> Result<u8> {
    let day: Weekday = s.trim().parse().map_err(|_| {
        malformed(format!(
            "{s:?} is not a weekday; use monday, tuesday, … sunday"
        ))
    })?;
    Ok(day.num_days_from_monday() as u8)
}

fn ritual_saved(json: bool, r: &RitualSaved, what: String) -> Result<()> {
    saved(
        json,
        r,
        format!("Ritual {}: {what}.", paint(BOLD, &r.ritual.title)),
    )
}

/// "**Sunday walk** with Jordan", or just "**Call Jordan**" when the title names them.
fn titled(title: &str, person: &str) -> String {
    let bold = paint(BOLD, title);
    if words::mentions(title, person) {
        bold
    } else {
        format!("{bold} with {}", output::fit(person, output::NAME_COLUMN))
    }
}

pub(crate) fn run(home: &Home, cmd: RitualCommand, json: bool) -> Result<()> {
    match cmd {
        RitualCommand::Add {
            person,
            title,
            monthly_on,
            weekly_on,
            every,
            minutes,
            guidelines,
            start,
            share,
        } => {
            let recurrence_given = match (monthly_on, weekly_on.as_deref(), every) {
                (Some(day), None, None) => Recurrence::MonthlyOn { day },
                (None, Some(w), None) => Recurrence::WeeklyOn {
                    weekday: weekday(w)?,
                },
                (None, None, Some(days)) => Recurrence::EveryDays { days },
                _ => {
                    return Err(malformed(
                        "say how often: --monthly-on N, --weekly-on DAY or --every N",
                    ));
                }
            };
            let new = NewRitual {
                person,
                title,
                recurrence: recurrence_given,
                minutes,
                guidelines,
                start,
                share,
            };
            let added = home.add_ritual(&new)?;
            let text = format!(
                "Ritual {}, {}{}, from {}; next on {}. Id {}.",
                titled(&added.ritual.title, &added.person),
                recurrence(added.ritual.recurrence),
                minutes
                    .map(|m| format!(", about {m} minutes"))
                    .unwrap_or_default(),
                describe_day(added.ritual.start),
                added
                    .schedule
                    .next_due
                    .map_or_else(|| "-".to_owned(), describe_day),
                added.id.short()
            );
            saved(json, &added, text)?;
            output::warn(added.warning.as_deref())
        }
        RitualCommand::Done { ritual, on } => {
            let done = home.ritual_done(&ritual, on.as_deref())?;
            let day = done.day.unwrap_or(home.today());
            let what = if let Some(was) = done.moved_start {
                format!(
                    "done on {}, before it started on {}, so it now starts then; {}",
                    describe_day(day),
                    describe_day(was),
                    streak(&done.schedule)
                )
            } else if done.changed {
                format!("done on {}; {}", describe_day(day), streak(&done.schedule))
            } else {
                format!("already recorded on {}", describe_day(day))
            };
            ritual_saved(json, &done, what)
        }
        RitualCommand::Undo { ritual, on } => {
            let undone = home.ritual_undone(&ritual, on.as_deref())?;
            let day = describe_day(undone.day.unwrap_or(home.today()));
            let what = if undone.changed {
                format!("{day} taken back; {}", streak(&undone.schedule))
            } else {
                format!("{day} was not recorded; nothing changed")
            };
            ritual_saved(json, &undone, what)
        }
        RitualCommand::Retire { ritual } => ritual_saved(
            json,
            &home.retire_ritual(&ritual)?,
            "retired; its history stays".to_owned(),
        ),
        RitualCommand::List { person } => list(home, person.as_deref(), json),
        RitualCommand::Edit {
            ritual,
            title,
            fields,
        } => {
            let change = crate::commands::records::ritual_edit(title, fields)?;
            crate::commands::records::edited(json, &home.edit_ritual(&ritual, &change)?)
        }
    }
}

fn list(home: &Home, person: Option<&str>, json: bool) -> Result<()> {
    let rows = home.rituals(person)?;
    if json {
        return output::json(&rows);
    }
    let mut out = output::stdout();
    if rows.is_empty() {
        writeln!(
            out,
            "No rituals yet. Add one with `tapin ritual add PERSON TITLE --monthly-on 4`."
        )?;
    }
    for row in &rows {
        let s = &row.schedule;
        let state = match &s.state {
            RitualState::Retired => paint(DIM, "retired"),
            RitualState::Unscheduled => paint(DIM, "no schedule this version of tapin knows"),
            RitualState::DueToday => paint(WARN.bold(), "due today"),
            RitualState::Overdue { since, .. } => {
                paint(BAD, format!("overdue since {}", describe_day(*since)))
            }
            RitualState::Upcoming { .. } => paint(
                GOOD,
                format!(
                    "next {}",
                    s.next_due.map_or_else(|| "-".to_owned(), describe_day)
                ),
            ),
        };
        writeln!(
            out,
            "{}  {} — {}, {state}, {}",
            paint(DIM, row.id.short()),
            titled(&row.ritual.title, &row.person),
            recurrence(row.ritual.recurrence),
            streak(s),
        )?;
        for g in &row.ritual.guidelines {
            writeln!(out, "          · {g}")?;
        }
    }
    Ok(())
}
