//! `tapin today`: the daily glance across all relationships.

use std::io::Write;

use anyhow::Result;
use tapin_core::Id;
use tapin_core::model::SideRecords;
use tapin_core::views::today::{RelationshipInput, today};
use tapin_core::views::touch::TouchState;

use crate::app::{App, Unreadable};
use crate::dates::describe;
use crate::output::{self, BAD, BOLD, DIM, WARN, paint};

/// Everything one relationship contributes to the views: my two record sets and the replica.
pub(crate) struct Loaded {
    pub(crate) id: Id,
    pub(crate) shared: SideRecords,
    pub(crate) private: SideRecords,
    pub(crate) theirs: Option<SideRecords>,
}

/// Loads every relationship's records once, counting what could not be read.
pub(crate) fn load_all(
    app: &App,
    private: &tapin_core::docs::PrivateDoc,
) -> Result<(Vec<Loaded>, Unreadable)> {
    let mut out = Vec::new();
    let mut unreadable = Unreadable {
        mine: private.unreadable(),
        ..Unreadable::default()
    };
    for (&id, rel) in &private.relationships {
        let theirs = app.replica(id)?;
        unreadable.add_theirs(id, &rel.name, &theirs);
        let shared = app.side(id)?;
        unreadable.mine += shared.unreadable();
        out.push(Loaded {
            id,
            shared,
            private: private.records.get(&id).cloned().unwrap_or_default(),
            theirs: (!theirs.records.is_empty()).then_some(theirs.records),
        });
    }
    Ok((out, unreadable))
}

/// The glance as `--json` prints it: the view, and what could not be read.
#[derive(serde::Serialize)]
struct Page<'a> {
    #[serde(flatten)]
    today: &'a tapin_core::views::today::Today,
    unreadable: &'a Unreadable,
}

pub(crate) fn run(app: &App, json: bool) -> Result<()> {
    let private = app.private()?;
    let (loaded, unreadable) = load_all(app, &private)?;
    let inputs: Vec<RelationshipInput<'_>> = loaded
        .iter()
        .filter_map(|l| {
            let rel = private.relationships.get(&l.id)?;
            let last_reflection = private
                .reflections
                .values()
                .filter(|r| r.relationship == l.id)
                .map(|r| r.at)
                .max();
            Some(RelationshipInput {
                id: l.id,
                rel,
                mine: vec![&l.shared, &l.private],
                theirs: l.theirs.as_ref(),
                last_reflection,
            })
        })
        .collect();
    let t = today(&inputs, app.today(), &chrono::Local);
    if json {
        return output::json(&Page {
            today: &t,
            unreadable: &unreadable,
        });
    }
    print(&t, &unreadable)
}

fn print(t: &tapin_core::views::today::Today, unreadable: &Unreadable) -> Result<()> {
    let mut out = output::stdout();
    writeln!(
        out,
        "{}",
        paint(BOLD, format!("Today, {}", describe(t.date)))
    )?;
    if t.is_empty() {
        writeln!(out, "Nothing needs you today.")?;
    }
    if !t.rituals.is_empty() {
        writeln!(out, "\nRituals")?;
        for r in &t.rituals {
            let when = if r.days_overdue == 0 {
                paint(WARN, "today")
            } else {
                paint(BAD, format!("{} days overdue", r.days_overdue))
            };
            writeln!(out, "  {} with {} — {when}", r.title, r.name)?;
        }
    }
    if !t.people.is_empty() {
        writeln!(out, "\nStaying in touch")?;
        for p in &t.people {
            let (style, what) = match p.touch.state {
                TouchState::Overdue { days_over, .. } => {
                    (BAD, format!("past your longest gap by {days_over} days"))
                }
                TouchState::Due { days_over, .. } => (WARN, format!("due for {days_over} days")),
                _ => (DIM, String::new()),
            };
            let last = p.touch.last_contact.map_or_else(
                || "no contact logged".to_owned(),
                |d| format!("last contact {d}"),
            );
            writeln!(
                out,
                "  {} — {} ({last})",
                paint(BOLD, &p.name),
                paint(style, what)
            )?;
        }
    }
    if !t.goals.is_empty() {
        writeln!(out, "\nGoals ending soon")?;
        for g in &t.goals {
            let when = if g.days_left < 0 {
                format!("was due {}", g.by)
            } else if g.days_left == 0 {
                "due today".to_owned()
            } else {
                format!("by {} ({} days)", g.by, g.days_left)
            };
            writeln!(
                out,
                "  {} with {} — {when}, {}/{} steps",
                g.title, g.name, g.progress.done, g.progress.total
            )?;
        }
    }
    if !t.checkins.is_empty() {
        writeln!(out, "\nCheck-ins worth having")?;
        for c in &t.checkins {
            let last = c
                .last_checkin
                .map_or_else(|| "none yet".to_owned(), |d| format!("last {d}"));
            writeln!(out, "  {} — {} open goal(s), {last}", c.name, c.open_goals)?;
        }
    }
    if let Some(l) = &t.long_lost {
        writeln!(out, "\nSomeone to think of")?;
        writeln!(out, "  {}", l.hint)?;
        writeln!(
            out,
            "  {}",
            paint(DIM, format!("tapin reflect {:?}", l.name))
        )?;
    }
    for line in unreadable.lines() {
        writeln!(out, "\n{}", paint(DIM, line))?;
    }
    Ok(())
}
