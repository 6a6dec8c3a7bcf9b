//! `tapin goal …`: goals, their steps, and their reassessment.

use std::io::Write;

use anyhow::{Result, bail};
use serde::Serialize;
use tapin_core::docs::{self, Collection, Place};
use tapin_core::model::{Goal, GoalKind, GoalStatus, Objective};

use crate::app::{self, App, all_records, find_record, listed_records};
use crate::args::{GoalCommand, GoalKindArg, GoalStatusArg, StepCommand};
use crate::commands::saved;
use crate::dates::{describe, parse_day};
use crate::output::{self, BOLD, DIM, GOOD, paint};

pub(crate) fn status(arg: GoalStatusArg) -> GoalStatus {
    match arg {
        GoalStatusArg::Active => GoalStatus::Active,
        GoalStatusArg::Achieved => GoalStatus::Achieved,
        GoalStatusArg::Adjusted => GoalStatus::Adjusted,
        GoalStatusArg::Dropped => GoalStatus::Dropped,
    }
}

fn kind(arg: GoalKindArg) -> GoalKind {
    match arg {
        GoalKindArg::EmotionalSupport => GoalKind::EmotionalSupport,
        GoalKindArg::SharedExperience => GoalKind::SharedExperience,
        GoalKindArg::PracticalHelp => GoalKind::PracticalHelp,
        GoalKindArg::Other => GoalKind::Other,
    }
}

/// How a status reads: "active", "achieved", … (a status written by a newer tapin reads as its
/// own name).
pub(crate) fn status_word(s: GoalStatus) -> String {
    s.json_name()
}

fn where_word(place: Place) -> &'static str {
    if place.is_shared() {
        "shared"
    } else {
        "private"
    }
}

pub(crate) fn run(app: &App, cmd: GoalCommand, json: bool) -> Result<()> {
    match cmd {
        GoalCommand::Add {
            person,
            title,
            why,
            kind: k,
            by,
            steps,
            share,
        } => {
            let title = title.trim().to_owned();
            if title.is_empty() {
                bail!("a goal needs a title");
            }
            let private = app.private()?;
            let (rel_id, rel) = app.find_person(&private, &person)?;
            let by = by.map(|s| parse_day(&s, app.now)).transpose()?;
            let now = app.stamp();
            let mut objectives = tapin_core::model::Records::new();
            for (n, text) in steps.iter().enumerate() {
                // Steps added together are ordered by their position on the command line.
                let created = tapin_core::time::Timestamp(now.0 + n as i64);
                objectives.insert(
                    app::random_id()?,
                    Objective {
                        text: text.clone(),
                        done: false,
                        created,
                        done_at: None,
                    },
                );
            }
            let goal = Goal {
                title,
                why,
                kind: kind(k),
                by,
                status: GoalStatus::Active,
                objectives,
                created: now,
                updated: now,
            };
            let goal = app::checked("goal", goal)?;
            let id = app::random_id()?;
            let place = Place::choose(rel_id, share);
            app.update(place.doc(), |d| {
                Ok(docs::put_record(d, place, Collection::Goals, id, &goal)?)
            })?;
            let by_text = goal
                .by
                .map(|d| format!(" by {}", describe(d)))
                .unwrap_or_default();
            saved(
                json,
                id,
                format!(
                    "Goal {} for {}{by_text}, {} ({}). Id {}.",
                    paint(BOLD, &goal.title),
                    rel.name,
                    if share { "shared with them" } else { "private" },
                    plural(goal.objectives.len(), "step"),
                    id.short()
                ),
                serde_json::json!({ "relationship": rel_id.to_string(), "shared": share, "goal": goal }),
            )
        }
        GoalCommand::List { person, all } => list(app, person.as_deref(), all, json),
        GoalCommand::Step(step) => step_cmd(app, step, json),
        GoalCommand::Status {
            goal,
            status: s,
            title,
            by,
        } => {
            let by = by.map(|s| parse_day(&s, app.now)).transpose()?;
            modify(app, &goal, json, |g| {
                g.status = status(s);
                if let Some(t) = title.as_deref() {
                    if t.trim().is_empty() {
                        bail!("a goal needs a title");
                    }
                    g.title = t.trim().to_owned();
                }
                if by.is_some() {
                    g.by = by;
                }
                Ok(match g.status {
                    GoalStatus::Achieved => "achieved — worth celebrating".to_owned(),
                    other => format!("now {}", status_word(other)),
                })
            })
        }
        GoalCommand::Join { goal } => join(app, &goal, json),
        GoalCommand::Leave { goal } => leave(app, &goal, json),
        GoalCommand::Share {
            goal,
            private: to_private,
        } => {
            let home = app.private()?;
            let places = all_records(app, &home)?;
            let (from, id, g) = find_record(&places, &goal, "goal", |r| &r.goals)?;
            let to = Place::choose(from.relationship(), !to_private);
            if from == to {
                return saved(
                    json,
                    id,
                    format!("Goal {} is already {}.", g.title, where_word(to)),
                    serde_json::json!({ "shared": to.is_shared() }),
                );
            }
            // Write the new copy before removing the old one: a crash in between leaves the goal in
            // both places, never in neither.
            app.update(to.doc(), |d| {
                Ok(docs::put_record(d, to, Collection::Goals, id, &g)?)
            })?;
            app.update(from.doc(), |d| {
                Ok(docs::delete_record(d, from, Collection::Goals, id)?)
            })?;
            let extra = if to_private {
                " What they already received stays on their devices."
            } else {
                ""
            };
            saved(
                json,
                id,
                format!("Goal {} is now {}.{extra}", g.title, where_word(to)),
                serde_json::json!({ "shared": !to_private }),
            )
        }
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Finds a goal by id prefix, then changes it with `change` inside the write transaction (on
/// the latest state, so a concurrent edit is not lost) and writes it back where it lives.
fn modify(
    app: &App,
    goal: &str,
    json: bool,
    change: impl FnOnce(&mut Goal) -> Result<String>,
) -> Result<()> {
    let private = app.private()?;
    let places = all_records(app, &private)?;
    let (place, id, _) = find_record(&places, goal, "goal", |r| &r.goals)?;
    modify_at(app, place, id, goal, json, change)
}

/// Like [`modify`] for steps, which may also belong to a friend's goal I took up: then `GOAL`
/// is the friend's goal id, and my own steps toward it live in my join record.
fn modify_steps(
    app: &App,
    goal: &str,
    json: bool,
    change: impl FnOnce(&mut Goal) -> Result<String>,
) -> Result<()> {
    let private = app.private()?;
    let places = all_records(app, &private)?;
    let prefix = goal.trim().to_lowercase();
    let starts = |id: &tapin_core::Id| id.to_string().starts_with(&prefix);
    let mine_match = places.iter().any(|(_, recs)| recs.goals.keys().any(starts));
    let joined_match = places.iter().any(|(_, recs)| {
        recs.joins
            .values()
            .any(|j| j.left.is_none() && starts(&j.goal))
    });
    if mine_match || !joined_match {
        // One of my goals (or nothing at all): the usual lookup, with its errors.
        let (place, id, _) = find_record(&places, goal, "goal", |r| &r.goals)?;
        return modify_at(app, place, id, goal, json, change);
    }
    // My joins, keyed by the friend's goal id they refer to.
    let joins: Vec<(Place, tapin_core::Id, tapin_core::Id)> = places
        .iter()
        .filter(|(place, _)| place.is_shared())
        .flat_map(|(place, recs)| {
            recs.joins
                .iter()
                .filter(|(_, j)| j.left.is_none())
                .map(move |(jid, j)| (*place, *jid, j.goal))
        })
        .collect();
    let target = app::unique_prefix(joins.iter().map(|(_, _, g)| *g), goal, "goal")?;
    let Some((place, jid, _)) = joins.into_iter().find(|(_, _, g)| *g == target) else {
        bail!("no goal with id {goal:?}");
    };
    let (title, what) = app.update(place.doc(), |d| {
        let mut j: tapin_core::model::GoalJoin =
            docs::get_record(d, place, Collection::Joins, jid)?
                .ok_or_else(|| anyhow::anyhow!("goal {goal:?} was left meanwhile"))?;
        // The step logic works on a goal; a join is a goal's title and my own steps.
        let mut as_goal = Goal {
            title: j.title.clone(),
            why: String::new(),
            kind: GoalKind::Other,
            by: None,
            status: GoalStatus::Active,
            objectives: std::mem::take(&mut j.objectives),
            created: j.joined,
            updated: j.joined,
        };
        let what = change(&mut as_goal)?;
        let as_goal = app::checked("goal", as_goal)?;
        j.objectives = as_goal.objectives;
        docs::put_record(d, place, Collection::Joins, jid, &j)?;
        Ok((j.title, what))
    })?;
    saved(
        json,
        target,
        format!("Goal {} (mutual): {what}.", paint(BOLD, &title)),
        serde_json::json!({}),
    )
}

fn modify_at(
    app: &App,
    place: Place,
    id: tapin_core::Id,
    goal: &str,
    json: bool,
    change: impl FnOnce(&mut Goal) -> Result<String>,
) -> Result<()> {
    let updated = app.stamp();
    let (g, what) = app.update(place.doc(), |d| {
        let mut g: Goal = docs::get_record(d, place, Collection::Goals, id)?
            .ok_or_else(|| anyhow::anyhow!("goal {goal:?} was removed meanwhile"))?;
        let what = change(&mut g)?;
        g.updated = updated;
        let g = app::checked("goal", g)?;
        docs::put_record(d, place, Collection::Goals, id, &g)?;
        Ok((g, what))
    })?;
    saved(
        json,
        id,
        format!("Goal {}: {what}.", paint(BOLD, &g.title)),
        serde_json::json!({ "goal": g }),
    )
}

fn step_cmd(app: &App, cmd: StepCommand, json: bool) -> Result<()> {
    match cmd {
        StepCommand::Add { goal, text } => {
            let text = text.trim().to_owned();
            if text.is_empty() {
                bail!("a step needs some text");
            }
            let step_id = app::random_id()?;
            let now = app.stamp();
            modify_steps(app, &goal, json, |g| {
                // Steps are numbered by when they were added; a clock that stands still or steps
                // back must not slip a new step in before older ones.
                let last = g.objectives.values().map(|o| o.created).max();
                let created = last.map_or(now, |l| now.max(tapin_core::time::Timestamp(l.0 + 1)));
                g.objectives.insert(
                    step_id,
                    Objective {
                        text: text.clone(),
                        done: false,
                        created,
                        done_at: None,
                    },
                );
                Ok(format!("added step {text:?}"))
            })
        }
        StepCommand::Done { goal, step } => set_step(app, &goal, &step, true, json),
        StepCommand::Undo { goal, step } => set_step(app, &goal, &step, false, json),
    }
}

fn set_step(app: &App, goal: &str, step: &str, done: bool, json: bool) -> Result<()> {
    let at = app.stamp();
    modify_steps(app, goal, json, |g| {
        // A number up to the step count is a step number; anything else is an id prefix (ids
        // are hex, so an id prefix can be all digits).
        let count = g.objectives.len();
        let key = match step
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=count).contains(n) || step.len() < 4)
        {
            Some(n) => g
                .steps()
                .get(n.wrapping_sub(1))
                .map(|(k, _)| *k)
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "goal {:?} has no step {n}; it has {}",
                        g.title,
                        plural(g.objectives.len(), "step")
                    )
                })?,
            None => app::unique_prefix(g.objectives.keys().copied(), step, "step")?,
        };
        let Some(o) = g.objectives.get_mut(&key) else {
            bail!("no step {step:?}")
        };
        o.done = done;
        o.done_at = done.then_some(at);
        let text = o.text.clone();
        let (d, t) = g.progress();
        Ok(format!(
            "step {text:?} {} ({d}/{t} done)",
            if done { "done" } else { "reopened" }
        ))
    })
}

#[derive(Serialize)]
struct GoalRow {
    id: tapin_core::Id,
    relationship: String,
    person: String,
    shared: bool,
    #[serde(flatten)]
    goal: Goal,
}

fn list(app: &App, person: Option<&str>, all: bool, json: bool) -> Result<()> {
    let private = app.private()?;
    let mut rows = Vec::new();
    for (place, rel, recs) in listed_records(app, &private, person)? {
        let rel_id = place.relationship();
        for (id, goal) in recs.goals {
            if all || goal.status.is_open() {
                rows.push(GoalRow {
                    id,
                    relationship: rel_id.to_string(),
                    person: rel.name.clone(),
                    shared: place.is_shared(),
                    goal,
                });
            }
        }
    }
    rows.sort_by(|a, b| {
        (&a.person, a.goal.by.is_none(), a.goal.by, a.goal.created).cmp(&(
            &b.person,
            b.goal.by.is_none(),
            b.goal.by,
            b.goal.created,
        ))
    });
    if json {
        return output::json(&rows);
    }
    let mut out = output::stdout();
    if rows.is_empty() {
        writeln!(
            out,
            "No goals yet. Set one with `tapin goal add PERSON TITLE`."
        )?;
    }
    let mut last_person = None;
    for row in &rows {
        if last_person != Some(&row.person) {
            writeln!(out, "{}", paint(BOLD, &row.person))?;
            last_person = Some(&row.person);
        }
        let (done, total) = row.goal.progress();
        let by = row.goal.by.map(|d| format!(" by {d}")).unwrap_or_default();
        writeln!(
            out,
            "  {}  {}{}  [{}, {}, {done}/{total}]",
            paint(DIM, row.id.short()),
            row.goal.title,
            by,
            status_word(row.goal.status),
            if row.shared { "shared" } else { "private" },
        )?;
        for (n, (_, o)) in row.goal.steps().iter().enumerate() {
            let mark = if o.done {
                paint(GOOD, "[x]")
            } else {
                "[ ]".to_owned()
            };
            writeln!(out, "      {mark} {}. {}", n + 1, o.text)?;
        }
    }
    Ok(())
}

/// The friends' shared goals, from every replica: (relationship, friend's name, goal id, goal).
fn friends_goals(app: &App) -> Result<Vec<(tapin_core::Id, String, tapin_core::Id, Goal)>> {
    let private = app.private()?;
    let mut out = Vec::new();
    for (&id, rel) in &private.relationships {
        for (gid, g) in app.replica(id)?.records.goals {
            out.push((id, rel.name.clone(), gid, g));
        }
    }
    Ok(out)
}

fn join(app: &App, goal: &str, json: bool) -> Result<()> {
    let goals = friends_goals(app)?;
    let gid = app::unique_prefix(goals.iter().map(|(_, _, g, _)| *g), goal, "friend's goal")?;
    let Some((rel, friend, _, g)) = goals.into_iter().find(|(_, _, id, _)| *id == gid) else {
        bail!("no friend's goal with id {goal:?}");
    };
    let place = Place::Shared(rel);
    let now = app.stamp();
    let join_id = app::random_id()?;
    let already = app.update(place.doc(), |d| {
        let mine = docs::read_side(d, rel)?;
        if mine
            .joins
            .values()
            .any(|j| j.goal == gid && j.left.is_none())
        {
            return Ok(true);
        }
        let record = tapin_core::model::GoalJoin {
            goal: gid,
            title: g.title.clone(),
            objectives: Default::default(),
            joined: now,
            left: None,
        };
        docs::put_record(d, place, Collection::Joins, join_id, &record)?;
        Ok(false)
    })?;
    let text = if already {
        format!(
            "You already took up {}'s goal {}.",
            friend,
            paint(BOLD, &g.title)
        )
    } else {
        format!(
            "You took up {}'s goal {}. It becomes mutual on both sides once you sync.",
            friend,
            paint(BOLD, &g.title)
        )
    };
    saved(
        json,
        gid,
        text,
        serde_json::json!({ "relationship": rel.to_string(), "joined": !already }),
    )
}

fn leave(app: &App, goal: &str, json: bool) -> Result<()> {
    let private = app.private()?;
    let mut found = Vec::new();
    for &rel in private.relationships.keys() {
        for (jid, j) in app.side(rel)?.joins {
            if j.left.is_none() {
                found.push((rel, jid, j));
            }
        }
    }
    let gid = app::unique_prefix(found.iter().map(|(_, _, j)| j.goal), goal, "joined goal")?;
    let now = app.stamp();
    let mut left = Vec::new();
    for (rel, jid, mut j) in found.into_iter().filter(|(_, _, j)| j.goal == gid) {
        j.left = Some(now);
        let place = Place::Shared(rel);
        app.update(place.doc(), |d| {
            Ok(docs::put_record(d, place, Collection::Joins, jid, &j)?)
        })?;
        left.push(j.title);
    }
    saved(
        json,
        gid,
        format!(
            "You left the goal {}; it is no longer mutual once you sync.",
            left.join(", ")
        ),
        serde_json::json!({ "left": true }),
    )
}
