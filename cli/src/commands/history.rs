//! `tapin history PERSON`: everything recorded about one relationship, newest first.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;
use tapin_core::docs::Place;
use tapin_core::model::{Initiator, SideRecords};
use tapin_core::time::Day;
use tapin_core::views::reflection::red_flags;

use crate::app::{App, Unreadable};
use crate::commands::goal::status_word;
use crate::output::{self, BOLD, DIM, WARN, paint};

#[derive(Serialize)]
struct Item {
    kind: &'static str,
    id: tapin_core::Id,
    day: Day,
    shared: bool,
    summary: String,
    record: serde_json::Value,
}

fn day_of(ts: tapin_core::time::Timestamp) -> Day {
    Day(ts.to_datetime().with_timezone(&chrono::Local).date_naive())
}

fn items_of(place: Place, recs: &SideRecords, out: &mut Vec<Item>) -> Result<()> {
    let shared = place.is_shared();
    let mut push = |kind, id: &tapin_core::Id, day, summary: String, record: serde_json::Value| {
        out.push(Item {
            kind,
            id: *id,
            day,
            shared,
            summary,
            record,
        });
    };
    for (id, g) in &recs.goals {
        let (d, t) = g.progress();
        push(
            "goal",
            id,
            day_of(g.created),
            format!(
                "goal {:?} ({}, {d}/{t} steps)",
                g.title,
                status_word(g.status)
            ),
            serde_json::to_value(g)?,
        );
    }
    for (id, r) in &recs.rituals {
        push(
            "ritual",
            id,
            r.start,
            format!("ritual {:?} started", r.title),
            serde_json::to_value(r)?,
        );
        for day in &r.occurrences {
            push(
                "ritual-done",
                id,
                *day,
                format!("ritual {:?} kept", r.title),
                serde_json::Value::Null,
            );
        }
    }
    for (id, c) in &recs.checkins {
        let mut s = format!("check-in, rated {}/5", c.rating);
        if !c.went_well.is_empty() {
            s += &format!("; went well: {}", c.went_well);
        }
        if !c.to_change.is_empty() {
            s += &format!("; to change: {}", c.to_change);
        }
        push("checkin", id, c.on, s, serde_json::to_value(c)?);
    }
    for (id, i) in &recs.interactions {
        let who = match i.by {
            Initiator::Me => "you reached out".to_owned(),
            Initiator::Them => "they reached out".to_owned(),
            other => format!("reached out: {other}"),
        };
        push(
            "interaction",
            id,
            i.on,
            format!("{who} ({}, {})", i.via, i.reason),
            serde_json::to_value(i)?,
        );
    }
    for (id, t) in &recs.thanks {
        push(
            "thanks",
            id,
            t.on,
            format!("thanks: {}", t.text),
            serde_json::to_value(t)?,
        );
    }
    for (id, b) in &recs.boundaries {
        push(
            "boundary",
            id,
            day_of(b.created),
            format!("boundary: {}", b.text),
            serde_json::to_value(b)?,
        );
    }
    Ok(())
}

pub(crate) fn run(app: &App, person: &str, limit: usize, json: bool) -> Result<()> {
    let private = app.private()?;
    let (rel_id, rel) = app.find_person(&private, person)?;
    let mut items = Vec::new();
    let side = app.side(rel_id)?;
    let mut unreadable = Unreadable {
        mine: side.unreadable(),
        ..Unreadable::default()
    };
    if let Some(recs) = private.records.get(&rel_id) {
        unreadable.mine += recs.unreadable();
        items_of(Place::Private(rel_id), recs, &mut items)?;
    }
    items_of(Place::Shared(rel_id), &side, &mut items)?;
    for (id, r) in private
        .reflections
        .iter()
        .filter(|(_, r)| r.relationship == rel_id)
    {
        let flags = red_flags(r);
        let summary = if flags.is_empty() {
            "reflection".to_owned()
        } else {
            format!(
                "reflection ({} red flag{})",
                flags.len(),
                if flags.len() == 1 { "" } else { "s" }
            )
        };
        items.push(Item {
            kind: "reflection",
            id: *id,
            day: day_of(r.at),
            shared: false,
            summary,
            record: serde_json::to_value(r)?,
        });
    }
    items.sort_by(|a, b| b.day.cmp(&a.day).then(a.kind.cmp(b.kind)));
    items.truncate(limit);
    if json {
        return output::json(&serde_json::json!({
            "relationship": rel_id.to_string(), "name": rel.name, "items": items,
            "unreadable": unreadable,
        }));
    }
    let mut out = output::stdout();
    writeln!(out, "{}", paint(BOLD, &rel.name))?;
    if items.is_empty() {
        writeln!(out, "Nothing recorded yet.")?;
    }
    for item in &items {
        let summary = if item.summary.contains("red flag") {
            paint(WARN, &item.summary)
        } else {
            item.summary.clone()
        };
        writeln!(
            out,
            "{}  {}  {summary}",
            item.day,
            paint(
                DIM,
                format!(
                    "{:<8} {:<7}",
                    item.id.short(),
                    if item.shared { "shared" } else { "private" }
                )
            ),
        )?;
    }
    for line in unreadable.lines() {
        writeln!(out, "{}", paint(DIM, line))?;
    }
    Ok(())
}
