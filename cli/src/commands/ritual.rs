//! `tapin ritual …`: recurring, simple time together.

use std::io::Write;

use anyhow::{Result, bail};
use chrono::Weekday;
use serde::Serialize;
use tapin_core::docs::{self, Collection, Place};
use tapin_core::model::{Recurrence, Ritual};
use tapin_core::views::ritual::{RitualSchedule, RitualState, schedule};

use crate::app::{self, App, all_records, find_record, listed_records};
use crate::args::RitualCommand;
use crate::commands::saved;
use crate::dates::{day_or_today, describe};
use crate::output::{self, BAD, BOLD, DIM, GOOD, WARN, paint};

fn weekday(s: &str) -> Result<u8> {
    let day: Weekday = s
        .trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("{s:?} is not a weekday; use monday, tuesday, … sunday"))?;
    Ok(day.num_days_from_monday() as u8)
}

/// "1 month", "3 weeks", "2 × 10 days": a streak in the ritual's own periods.
pub(crate) fn streak_words(s: &RitualSchedule) -> String {
    match (s.streak, s.period.as_str()) {
        (1, unit) => format!("1 {unit}"),
        (n, unit) if !unit.contains(' ') => format!("{n} {unit}s"),
        (n, unit) => format!("{n} × {unit}"),
    }
}

pub(crate) fn recurrence_words(r: Recurrence) -> String {
    match r {
        Recurrence::MonthlyOn { day } => format!("monthly on day {day}"),
        Recurrence::WeeklyOn { weekday } => {
            let name =
                Weekday::try_from(weekday).map_or_else(|_| "?".to_owned(), |w| format!("{w:?}"));
            format!("weekly on {name}")
        }
        Recurrence::EveryDays { days } => format!("every {days} days"),
        Recurrence::Unknown(name) => {
            format!("on a schedule this version of tapin does not know ({name})")
        }
    }
}

pub(crate) fn run(app: &App, cmd: RitualCommand, json: bool) -> Result<()> {
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
            let title = title.trim().to_owned();
            if title.is_empty() {
                bail!("a ritual needs a title");
            }
            let recurrence = match (monthly_on, weekly_on.as_deref(), every) {
                (Some(day), None, None) => Recurrence::MonthlyOn { day },
                (None, Some(w), None) => Recurrence::WeeklyOn {
                    weekday: weekday(w)?,
                },
                (None, None, Some(days)) => Recurrence::EveryDays { days },
                _ => bail!("say how often: --monthly-on N, --weekly-on DAY or --every N"),
            };
            let private = app.private()?;
            let (rel_id, rel) = app.find_person(&private, &person)?;
            let start = day_or_today(start.as_deref(), app.now, app.today())?;
            let ritual = Ritual {
                title,
                recurrence,
                minutes,
                guidelines: guidelines
                    .into_iter()
                    .map(|g| g.trim().to_owned())
                    .filter(|g| !g.is_empty())
                    .collect(),
                start,
                occurrences: Vec::new(),
                retired: false,
            };
            let ritual = app::checked("ritual", ritual)?;
            let id = app::random_id()?;
            let place = Place::choose(rel_id, share);
            app.update(place.doc(), |d| {
                Ok(docs::put_record(
                    d,
                    place,
                    Collection::Rituals,
                    id,
                    &ritual,
                )?)
            })?;
            let next = schedule(&ritual, app.today());
            saved(
                json,
                id,
                format!(
                    "Ritual {} with {}, {}{}; next on {}. Id {}.",
                    paint(BOLD, &ritual.title),
                    rel.name,
                    recurrence_words(recurrence),
                    minutes
                        .map(|m| format!(", about {m} minutes"))
                        .unwrap_or_default(),
                    next.next_due.map_or_else(|| "-".to_owned(), describe),
                    id.short()
                ),
                serde_json::json!({ "relationship": rel_id.to_string(), "shared": share, "ritual": ritual, "schedule": next }),
            )
        }
        RitualCommand::Done { ritual, on } => {
            let day = day_or_today(on.as_deref(), app.now, app.today())?;
            if day > app.today() {
                bail!(
                    "{} is in the future; a ritual can only be marked done on a day that has come",
                    describe(day)
                );
            }
            let today = app.today();
            modify(app, &ritual, json, move |r| {
                if day < r.start {
                    bail!(
                        "{} is before the ritual started ({}); use `--on` with a later day",
                        describe(day),
                        describe(r.start)
                    );
                }
                if r.occurrences.contains(&day) {
                    return Ok(format!("already recorded on {}", describe(day)));
                }
                r.occurrences.push(day);
                r.occurrences.sort();
                let s = schedule(r, today);
                Ok(format!(
                    "done on {}; streak {}",
                    describe(day),
                    streak_words(&s)
                ))
            })
        }
        RitualCommand::Retire { ritual } => modify(app, &ritual, json, |r| {
            r.retired = true;
            Ok("retired; its history stays".to_owned())
        }),
        RitualCommand::List { person } => list(app, person.as_deref(), json),
    }
}

fn modify(
    app: &App,
    ritual: &str,
    json: bool,
    change: impl FnOnce(&mut Ritual) -> Result<String>,
) -> Result<()> {
    let private = app.private()?;
    let places = all_records(app, &private)?;
    let (place, id, _) = find_record(&places, ritual, "ritual", |r| &r.rituals)?;
    let (r, what) = app.update(place.doc(), |d| {
        let mut r: Ritual = docs::get_record(d, place, Collection::Rituals, id)?
            .ok_or_else(|| anyhow::anyhow!("ritual {ritual:?} was removed meanwhile"))?;
        let what = change(&mut r)?;
        let r = app::checked("ritual", r)?;
        docs::put_record(d, place, Collection::Rituals, id, &r)?;
        Ok((r, what))
    })?;
    let s = schedule(&r, app.today());
    saved(
        json,
        id,
        format!("Ritual {}: {what}.", paint(BOLD, &r.title)),
        serde_json::json!({ "ritual": r, "schedule": s }),
    )
}

#[derive(Serialize)]
struct RitualRow {
    id: tapin_core::Id,
    relationship: String,
    person: String,
    shared: bool,
    #[serde(flatten)]
    ritual: Ritual,
    schedule: RitualSchedule,
}

fn list(app: &App, person: Option<&str>, json: bool) -> Result<()> {
    let private = app.private()?;
    let today = app.today();
    let mut rows = Vec::new();
    for (place, rel, recs) in listed_records(app, &private, person)? {
        let rel_id = place.relationship();
        for (id, ritual) in recs.rituals {
            let schedule = schedule(&ritual, today);
            rows.push(RitualRow {
                id,
                relationship: rel_id.to_string(),
                person: rel.name.clone(),
                shared: place.is_shared(),
                ritual,
                schedule,
            });
        }
    }
    rows.sort_by_key(|r| (r.ritual.retired, r.schedule.next_due, r.person.clone()));
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
                    s.next_due.map_or_else(|| "-".to_owned(), describe)
                ),
            ),
        };
        writeln!(
            out,
            "{}  {} with {} — {}, {state}, streak {}",
            paint(DIM, row.id.short()),
            paint(BOLD, &row.ritual.title),
            row.person,
            recurrence_words(row.ritual.recurrence),
            streak_words(s),
        )?;
        for g in &row.ritual.guidelines {
            writeln!(out, "          · {g}")?;
        }
    }
    Ok(())
}
