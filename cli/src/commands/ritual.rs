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
use crate::dates::parse_day;
use crate::output::{self, BAD, BOLD, DIM, GOOD, WARN, paint};

fn weekday(s: &str) -> Result<u8> {
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
                start: start.map(|s| parse_day(&s, home.now())).transpose()?,
                share,
            };
            let added = home.add_ritual(&new)?;
            let text = format!(
                "Ritual {}, {}{}; next on {}. Id {}.",
                titled(&added.ritual.title, &added.person),
                recurrence(added.ritual.recurrence),
                minutes
                    .map(|m| format!(", about {m} minutes"))
                    .unwrap_or_default(),
                added
                    .schedule
                    .next_due
                    .map_or_else(|| "-".to_owned(), describe_day),
                added.id.short()
            );
            saved(json, &added, text)
        }
        RitualCommand::Done { ritual, on } => {
            let day = on.map(|s| parse_day(&s, home.now())).transpose()?;
            let done = home.ritual_done(&ritual, day)?;
            let day = done.day.unwrap_or(home.today());
            let what = if done.changed {
                format!(
                    "done on {}; streak {}",
                    describe_day(day),
                    streak(&done.schedule)
                )
            } else {
                format!("already recorded on {}", describe_day(day))
            };
            ritual_saved(json, &done, what)
        }
        RitualCommand::Retire { ritual } => ritual_saved(
            json,
            &home.retire_ritual(&ritual)?,
            "retired; its history stays".to_owned(),
        ),
        RitualCommand::List { person } => list(home, person.as_deref(), json),
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
            RitualState::Overdue { since, .. } => paint(BAD, format!("overdue since {since}")),
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
            "{}  {} — {}, {state}, streak {}",
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
