//! `tapin person …` and `tapin people`.

use std::io::Write;

use anyhow::{Context, Result, bail};
use serde::Serialize;
use tapin_core::docs;
use tapin_core::model::{Relationship, RelationshipStatus, Rhythm, Risk};
use tapin_core::time::Interval;
use tapin_core::views::touch::{self, Touch, TouchState};
use tapin_core::{DocId, Id};

use crate::app::{self, App, Unreadable};
use crate::args::{PersonCommand, PersonSettings, RiskArg};
use crate::commands::saved;
use crate::output::{self, BAD, BOLD, DIM, GOOD, WARN, paint};

pub(crate) fn risk(arg: RiskArg) -> Risk {
    match arg {
        RiskArg::Low => Risk::Low,
        RiskArg::Medium => Risk::Medium,
        RiskArg::High => Risk::High,
    }
}

fn rhythm(settings: &PersonSettings) -> Result<Option<Rhythm>> {
    let Some(ideal) = settings.rhythm.as_deref() else {
        return Ok(None);
    };
    let ideal: Interval = ideal.parse().context("--rhythm")?;
    let max = match settings.max.as_deref() {
        Some(max) => max.parse().context("--max")?,
        None => Interval::days(ideal.days.saturating_mul(3)),
    };
    if max < ideal {
        bail!(
            "--max {max} is shorter than --rhythm {ideal}; the maximum must be at least the ideal interval"
        );
    }
    Ok(Some(Rhythm { ideal, max }))
}

fn describe_rhythm(r: Option<Rhythm>) -> String {
    r.map_or_else(
        || "no rhythm".to_owned(),
        |r| format!("every {} (at most {})", r.ideal, r.max),
    )
}

pub(crate) fn run(app: &App, cmd: PersonCommand, json: bool) -> Result<()> {
    match cmd {
        PersonCommand::Add { name, settings } => add(app, &name, &settings, json),
        PersonCommand::Edit {
            person,
            name,
            settings,
            no_rhythm,
        } => {
            if let Some(new) = name.as_deref() {
                let private = app.private()?;
                let (id, _) = app.find_person(&private, &person)?;
                refuse_taken_name(&private, &clean_name(new)?, Some(id))?;
            }
            edit(app, &person, json, |rel| {
                if let Some(name) = name.as_deref() {
                    rel.name = clean_name(name)?;
                }
                if let Some(i) = settings.importance {
                    rel.importance = i;
                }
                if let Some(r) = settings.risk {
                    rel.risk = risk(r);
                }
                if no_rhythm {
                    rel.rhythm = None;
                } else if let Some(r) = rhythm(&settings)? {
                    rel.rhythm = Some(r);
                }
                Ok("updated")
            })
        }
        PersonCommand::Archive { person } => {
            set_status(app, &person, RelationshipStatus::Archived, json)
        }
        PersonCommand::End { person } => set_status(app, &person, RelationshipStatus::Ended, json),
        PersonCommand::Restore { person } => {
            set_status(app, &person, RelationshipStatus::Active, json)
        }
    }
}

fn clean_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        bail!("a person's name cannot be empty");
    }
    Ok(name.to_owned())
}

/// Names are how people are found (case-insensitively), so two relationships may not share one.
fn refuse_taken_name(private: &docs::PrivateDoc, name: &str, except: Option<Id>) -> Result<()> {
    let wanted = name.to_lowercase();
    let taken = private
        .relationships
        .iter()
        .any(|(id, r)| r.name.to_lowercase() == wanted && except != Some(*id));
    if taken {
        bail!("you already have someone called {name:?}; use `tapin person edit` or another name");
    }
    Ok(())
}

fn add(app: &App, name: &str, settings: &PersonSettings, json: bool) -> Result<()> {
    let name = clean_name(name)?;
    let private = app.private()?;
    refuse_taken_name(&private, &name, None)?;
    let rel = Relationship {
        name: name.clone(),
        importance: settings.importance.unwrap_or(3),
        risk: settings.risk.map_or(Risk::Medium, risk),
        rhythm: rhythm(settings)?,
        status: RelationshipStatus::Active,
        created: app.stamp(),
        snoozed_until: None,
        peer: None,
    };
    let rel = app::checked("person", rel)?;
    let id = app::random_id()?;
    app.update(DocId::Private, |d| Ok(docs::put_relationship(d, id, &rel)?))?;
    saved(
        json,
        id,
        format!(
            "Added {} (importance {}, {} risk, {}).",
            paint(BOLD, &name),
            rel.importance,
            risk_word(rel.risk),
            describe_rhythm(rel.rhythm)
        ),
        serde_json::json!({ "relationship": rel }),
    )
}

fn edit(
    app: &App,
    person: &str,
    json: bool,
    change: impl FnOnce(&mut Relationship) -> Result<&'static str>,
) -> Result<()> {
    let private = app.private()?;
    let (id, _) = app.find_person(&private, person)?;
    let (rel, what) = app.update(DocId::Private, |d| {
        let mut rel = docs::get_relationship(d, id)?
            .ok_or_else(|| anyhow::anyhow!("{person:?} was removed meanwhile"))?;
        let what = change(&mut rel)?;
        let rel = app::checked("person", rel)?;
        docs::put_relationship(d, id, &rel)?;
        Ok((rel, what))
    })?;
    saved(
        json,
        id,
        format!("{} {what}.", paint(BOLD, &rel.name)),
        serde_json::json!({ "relationship": rel }),
    )
}

fn set_status(app: &App, person: &str, status: RelationshipStatus, json: bool) -> Result<()> {
    edit(app, person, json, |rel| {
        rel.status = status;
        Ok(match status {
            RelationshipStatus::Active => "is active again",
            RelationshipStatus::Archived => "is archived; its history stays and nudges stop",
            RelationshipStatus::Ended => "is marked as ended; its history stays",
            // A command only ever sets the three it knows.
            RelationshipStatus::Unknown(_) => "has a new status",
        })
    })
}

/// How a risk reads: "low", "medium", "high" (or the name a newer tapin gave it).
pub(crate) fn risk_word(r: Risk) -> String {
    r.json_name()
}

#[derive(Serialize)]
struct PersonRow {
    id: Id,
    #[serde(flatten)]
    relationship: Relationship,
    touch: Touch,
    /// Whether my latest reflection on them has red flags (private: only I see my own people).
    red_flag: bool,
    /// The next day one of my rituals with them is due.
    next_ritual: Option<tapin_core::time::Day>,
    /// What of this relationship's records could not be read.
    unreadable: Unreadable,
}

/// Every relationship with its staying-in-touch state, most important first.
pub(crate) fn people(app: &App, all: bool, json: bool) -> Result<()> {
    let private = app.private()?;
    let today = app.today();
    let mut rows = Vec::new();
    for (&rid, rel) in &private.relationships {
        if !all && !rel.is_active() {
            continue;
        }
        let side = app.side(rid)?;
        let empty = Default::default();
        let mine = private.records.get(&rid).unwrap_or(&empty);
        let theirs = if rel.peer.is_some() {
            Some(app.replica(rid)?)
        } else {
            None
        };
        let mut unreadable = Unreadable {
            mine: side.unreadable() + mine.unreadable(),
            ..Unreadable::default()
        };
        if let Some(theirs) = &theirs {
            unreadable.add_theirs(rid, &rel.name, theirs);
        }
        let last = touch::last_contact(mine, Some(&side)).max(
            theirs
                .as_ref()
                .and_then(|t| touch::last_contact(&t.records, None)),
        );
        let t = touch::touch_status(rel, last, today, &chrono::Local);
        let red_flag = tapin_core::views::reflection::latest_reflection(
            private.reflections.iter().map(|(k, r)| (*k, r)),
            rid,
        )
        .is_some_and(|(_, r)| !tapin_core::views::reflection::red_flags(r).is_empty());
        let next_ritual = mine
            .rituals
            .values()
            .chain(side.rituals.values())
            .filter_map(|r| tapin_core::views::ritual::schedule(r, today).next_due)
            .min();
        rows.push(PersonRow {
            id: rid,
            relationship: rel.clone(),
            touch: t,
            red_flag,
            next_ritual,
            unreadable,
        });
    }
    // Relationships and reflections that could not be read have no row: say so.
    let unrows = private.relationships.unreadable().len() + private.reflections.unreadable().len();
    if unrows > 0 {
        output::note(format!(
            "{unrows} of your relationships or reflections could not be read by this version of \
             tapin (written by a newer version, or damaged); they are kept as they are."
        ))?;
    }
    rows.sort_by(|a, b| {
        b.relationship
            .importance
            .cmp(&a.relationship.importance)
            .then(
                a.relationship
                    .name
                    .to_lowercase()
                    .cmp(&b.relationship.name.to_lowercase()),
            )
    });
    if json {
        return output::json(&rows);
    }
    let mut out = output::stdout();
    if rows.is_empty() {
        writeln!(out, "No one yet. Add someone with `tapin person add NAME`.")?;
        return Ok(());
    }
    let width = rows
        .iter()
        .map(|r| r.relationship.name.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(4, output::NAME_COLUMN);
    writeln!(
        out,
        "{}",
        paint(
            DIM,
            format!(
                "{:<8}  {:<width$}  imp  risk    last contact  {:<24}  {:<10}  touch",
                "id", "name", "paired", "ritual"
            )
        )
    )?;
    for row in &rows {
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
            TouchState::Inactive { status } => (DIM, status_word(*status)),
        };
        let paired = match &rel.peer {
            Some(p) if p.unpaired.is_some() => "unpaired".to_owned(),
            Some(p) => {
                let devices: Vec<&str> = p.devices.values().map(|d| d.name.as_str()).collect();
                format!("{} ({})", output::fit(&p.name, 12), devices.join(", "))
            }
            None => "-".to_owned(),
        };
        writeln!(
            out,
            "{:<8}  {:<width$}  {:>3}  {:<6}  {:<12}  {:<24}  {:<10}  {}{}",
            row.id.short(),
            output::fit(&rel.name, width),
            rel.importance,
            risk_word(rel.risk),
            last,
            paired,
            row.next_ritual
                .map_or_else(|| "-".to_owned(), |d| d.to_string()),
            paint(style, state),
            if row.red_flag {
                paint(WARN, "  ⚑ red flag (private)")
            } else {
                String::new()
            }
        )?;
    }
    let total = Unreadable {
        mine: rows.iter().map(|r| r.unreadable.mine).sum(),
        theirs: rows.iter().map(|r| r.unreadable.theirs).sum(),
        sides: rows
            .iter()
            .flat_map(|r| r.unreadable.sides.iter().cloned())
            .collect(),
    };
    for line in total.lines() {
        writeln!(out, "{}", paint(DIM, line))?;
    }
    Ok(())
}

/// How a status reads: "active", "archived", "ended" (or the name a newer tapin gave it).
pub(crate) fn status_word(s: RelationshipStatus) -> String {
    s.json_name()
}

/// `tapin snooze PERSON FOR`: nudges about them stay quiet until then.
pub(crate) fn snooze(app: &App, person: &str, duration: &str, json: bool) -> Result<()> {
    let today = app.today();
    let until = match duration.parse::<Interval>() {
        Ok(i) => today.plus_days(u64::from(i.days)),
        Err(_) => crate::dates::parse_day(duration, app.now)
            .with_context(|| format!("{duration:?} is neither a length (3d, 1w, 2m) nor a date"))?,
    };
    if until <= today {
        bail!(
            "{} is not in the future; snooze until a later day",
            crate::dates::describe(until)
        );
    }
    edit(app, person, json, move |rel| {
        rel.snoozed_until = Some(until);
        Ok("is snoozed")
    })?;
    if !json {
        output::note(format!("Quiet until {}.", crate::dates::describe(until)))?;
    }
    Ok(())
}
