//! Goals, their steps, taking up a friend's goal, and moving a goal between private and shared.

use serde::Serialize;
use tapin_core::Id;
use tapin_core::docs::{self, Collection, Place};
use tapin_core::model::{Goal, GoalJoin, GoalKind, GoalStatus, Objective, Records};
use tapin_core::time::{Day, Timestamp};

use crate::error::{Error, Result, invalid};
use crate::home::{Home, checked, random_id};
use crate::reading::{Docs, Writer, find_person, find_record, unique_prefix};

/// A new goal.
#[derive(Debug, Clone)]
pub struct NewGoal {
    /// The person it is with.
    pub person: String,
    /// What it is.
    pub title: String,
    /// Why it matters.
    pub why: String,
    /// What kind of goal.
    pub kind: GoalKind,
    /// When it should be reached, as the person typed it (a plan: a phrase looks ahead, and a
    /// past day is kept with a warning; see [`crate::dates`]).
    pub by: Option<String>,
    /// Its first steps, in order.
    pub steps: Vec<String>,
    /// Whether the friend sees it.
    pub share: bool,
}

/// A goal added.
#[derive(Debug, Clone, Serialize)]
pub struct GoalAdded {
    /// Its id.
    pub id: Id,
    /// The relationship.
    pub relationship: String,
    /// What I call the person.
    #[serde(skip)]
    pub person: String,
    /// Whether it is shared.
    pub shared: bool,
    /// The goal.
    pub goal: Goal,
    /// What the person should know about the deadline they gave (it is already past).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// A goal changed.
#[derive(Debug, Clone, Serialize)]
pub struct GoalSaved {
    /// Its id.
    pub id: Id,
    /// The goal as now stored.
    pub goal: Goal,
    /// What the person should know about the deadline they gave (it is already past).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// A step changed: on one of my goals, or on a friend's goal I took up (my own steps toward it
/// live in my join record).
#[derive(Debug, Clone, Serialize)]
pub struct StepSaved {
    /// The goal's id.
    pub id: Id,
    /// The goal as now stored; `None` for a friend's goal I took up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub goal: Option<Goal>,
    /// The goal's title.
    #[serde(skip)]
    pub title: String,
    /// Whether it is a friend's goal I took up.
    #[serde(skip)]
    pub mutual: bool,
    /// The step's text.
    #[serde(skip)]
    pub step: String,
    /// Steps done and all steps, after the change.
    #[serde(skip)]
    pub progress: (usize, usize),
    /// Whether the change did anything (false: the step was already in that state).
    #[serde(skip)]
    pub done: bool,
}

/// A change to a goal's status, title or date.
#[derive(Debug, Clone)]
pub struct GoalChange {
    /// The new status.
    pub status: GoalStatus,
    /// A new title.
    pub title: Option<String>,
    /// A new end of its timeframe, as the person typed it (as [`NewGoal::by`]).
    pub by: Option<String>,
}

/// One row of the goal list.
#[derive(Debug, Clone, Serialize)]
pub struct GoalRow {
    /// The goal's id.
    pub id: Id,
    /// The relationship.
    pub relationship: String,
    /// What I call the person.
    pub person: String,
    /// Whether it is shared.
    pub shared: bool,
    /// The goal.
    #[serde(flatten)]
    pub goal: Goal,
}

/// Taking up a friend's goal.
#[derive(Debug, Clone, Serialize)]
pub struct Joined {
    /// The friend's goal id.
    pub id: Id,
    /// The relationship.
    pub relationship: String,
    /// Whether this took it up (false: already taken up).
    pub joined: bool,
    /// The friend's name as I call them.
    #[serde(skip)]
    pub friend: String,
    /// The goal's title.
    #[serde(skip)]
    pub title: String,
}

/// Leaving a friend's goal.
#[derive(Debug, Clone, Serialize)]
pub struct Left {
    /// The friend's goal id.
    pub id: Id,
    /// Always true.
    pub left: bool,
    /// The titles of the join records ended.
    #[serde(skip)]
    pub titles: Vec<String>,
}

/// A goal moved between private and shared.
#[derive(Debug, Clone, Serialize)]
pub struct Shared {
    /// The goal's id.
    pub id: Id,
    /// Whether it is shared now.
    pub shared: bool,
    /// Whether it moved (false: it already was there).
    #[serde(skip)]
    pub moved: bool,
    /// Its title.
    #[serde(skip)]
    pub title: String,
}

/// Which step of a goal: its number (1-based, in the order they were added) or an id prefix.
fn step_key(g: &Goal, step: &str) -> Result<Id> {
    // A number up to the step count is a step number; anything else is an id prefix (ids are
    // hex, so an id prefix can be all digits).
    let count = g.objectives.len();
    match step
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=count).contains(n) || step.len() < 4)
    {
        Some(n) => g
            .steps()
            .get(n.wrapping_sub(1))
            .map(|(k, _)| *k)
            .ok_or_else(|| {
                Error::not_found(format!(
                    "goal {:?} has no step {n}; it has {}",
                    g.title,
                    crate::words::plural(count, "step")
                ))
            }),
        None => unique_prefix(g.objectives.keys().copied(), step, "step"),
    }
}

/// What a step command does to a goal's steps.
enum StepEdit<'a> {
    Add {
        id: Id,
        text: &'a str,
        at: Timestamp,
    },
    Set {
        step: &'a str,
        done: bool,
        at: Timestamp,
    },
}

impl StepEdit<'_> {
    /// Applies the edit; returns the step's text.
    fn apply(&self, title: &str, objectives: &mut Records<Objective>) -> Result<String> {
        match *self {
            StepEdit::Add { id, text, at } => {
                // Steps are numbered by when they were added; a clock that stands still or steps
                // back must not slip a new step in before older ones.
                let last = objectives.values().map(|o| o.created).max();
                let created = last.map_or(at, |l| at.max(Timestamp(l.0 + 1)));
                objectives.insert(
                    id,
                    Objective {
                        text: text.to_owned(),
                        done: false,
                        created,
                        done_at: None,
                    },
                );
                Ok(text.to_owned())
            }
            StepEdit::Set { step, done, at } => {
                let as_goal = Goal {
                    title: title.to_owned(),
                    why: String::new(),
                    kind: GoalKind::Other,
                    by: None,
                    status: GoalStatus::Active,
                    objectives: objectives.clone(),
                    created: at,
                    updated: at,
                };
                let key = step_key(&as_goal, step)?;
                let Some(o) = objectives.get_mut(&key) else {
                    return Err(Error::not_found(format!("no step {step:?}")));
                };
                o.done = done;
                o.done_at = done.then_some(at);
                Ok(o.text.clone())
            }
        }
    }
}

fn progress(objectives: &Records<Objective>) -> (usize, usize) {
    (
        objectives.values().filter(|o| o.done).count(),
        objectives.len(),
    )
}

impl Home {
    /// A goal's deadline as typed, resolved as a plan, and the warning when it is past.
    fn deadline(&self, by: Option<&str>) -> Result<(Option<Day>, Option<String>)> {
        match by {
            Some(by) => {
                let (day, warning) = self.planned_for(by, "the deadline")?;
                Ok((Some(day), warning))
            }
            None => Ok((None, None)),
        }
    }

    /// Sets a goal with someone, private or shared.
    pub fn add_goal(&self, new: &NewGoal) -> Result<GoalAdded> {
        let title = new.title.trim().to_owned();
        if title.is_empty() {
            invalid!("a goal needs a title");
        }
        let (by, warning) = self.deadline(new.by.as_deref())?;
        let now = self.stamp();
        let mut objectives = Records::new();
        for (n, text) in new.steps.iter().enumerate() {
            // Steps added together are ordered by their position.
            objectives.insert(
                random_id()?,
                Objective {
                    text: text.clone(),
                    done: false,
                    created: Timestamp(now.0 + n as i64),
                    done_at: None,
                },
            );
        }
        let goal = checked(
            "goal",
            Goal {
                title,
                why: new.why.clone(),
                kind: new.kind,
                by,
                status: GoalStatus::Active,
                objectives,
                created: now,
                updated: now,
            },
        )?;
        let id = random_id()?;
        self.write(|w| {
            let private = w.private()?;
            let (rel_id, rel) = find_person(&private, &new.person)?;
            let place = Place::choose(rel_id, new.share);
            w.update(place.doc(), |d| {
                Ok(docs::put_record(d, place, Collection::Goals, id, &goal)?)
            })?;
            Ok(GoalAdded {
                id,
                relationship: rel_id.to_string(),
                person: rel.name,
                shared: new.share,
                goal,
                warning,
            })
        })
    }

    /// Changes a goal's status (and optionally its title or date).
    pub fn set_goal_status(&self, goal: &str, change: &GoalChange) -> Result<GoalSaved> {
        let title = match change.title.as_deref().map(str::trim) {
            Some("") => invalid!("a goal needs a title"),
            other => other.map(str::to_owned),
        };
        let (by, warning) = self.deadline(change.by.as_deref())?;
        let updated = self.stamp();
        self.write(|w| {
            let (place, id) = find_goal(w, goal)?;
            let goal = w.update(place.doc(), |d| {
                let mut g: Goal = docs::get_record(d, place, Collection::Goals, id)?
                    .ok_or_else(|| Error::not_found(format!("goal {goal:?} was removed")))?;
                g.status = change.status;
                if let Some(t) = &title {
                    g.title.clone_from(t);
                }
                if by.is_some() {
                    g.by = by;
                }
                g.updated = updated;
                let g = checked("goal", g)?;
                docs::put_record(d, place, Collection::Goals, id, &g)?;
                Ok(g)
            })?;
            Ok(GoalSaved { id, goal, warning })
        })
    }

    /// Adds a step to one of my goals, or to my own steps toward a friend's goal I took up.
    pub fn add_step(&self, goal: &str, text: &str) -> Result<StepSaved> {
        let text = text.trim();
        if text.is_empty() {
            invalid!("a step needs some text");
        }
        let edit = StepEdit::Add {
            id: random_id()?,
            text,
            at: self.stamp(),
        };
        self.edit_steps(goal, &edit)
    }

    /// Marks a step done (or not done): by its number or id prefix.
    pub fn set_step(&self, goal: &str, step: &str, done: bool) -> Result<StepSaved> {
        let edit = StepEdit::Set {
            step,
            done,
            at: self.stamp(),
        };
        self.edit_steps(goal, &edit)
    }

    /// One step edit, inside one write: the goal is found and changed on the latest state, so two
    /// processes adding steps at once both keep theirs.
    fn edit_steps(&self, goal: &str, edit: &StepEdit<'_>) -> Result<StepSaved> {
        let updated = self.stamp();
        self.write(|w| {
            let private = w.private()?;
            let places = w.all_records(&private)?;
            let prefix = goal.trim().to_lowercase();
            let starts = |id: &Id| id.to_string().starts_with(&prefix);
            let mine_match = places.iter().any(|(_, recs)| recs.goals.keys().any(starts));
            let joined_match = places.iter().any(|(_, recs)| {
                recs.joins
                    .values()
                    .any(|j| j.left.is_none() && starts(&j.goal))
            });
            if mine_match || !joined_match {
                // One of my goals (or nothing at all): the usual lookup, with its errors.
                let (place, id, _) = find_record(&places, goal, "goal", |r| &r.goals)?;
                return w.update(place.doc(), |d| {
                    let mut g: Goal = docs::get_record(d, place, Collection::Goals, id)?
                        .ok_or_else(|| Error::not_found(format!("goal {goal:?} was removed")))?;
                    let step = edit.apply(&g.title, &mut g.objectives)?;
                    g.updated = updated;
                    let g = checked("goal", g)?;
                    docs::put_record(d, place, Collection::Goals, id, &g)?;
                    Ok(StepSaved {
                        id,
                        title: g.title.clone(),
                        progress: progress(&g.objectives),
                        goal: Some(g),
                        mutual: false,
                        step,
                        done: matches!(edit, StepEdit::Set { done: true, .. }),
                    })
                });
            }
            // My joins, keyed by the friend's goal id they refer to.
            let joins: Vec<(Place, Id, Id)> = places
                .iter()
                .filter(|(place, _)| place.is_shared())
                .flat_map(|(place, recs)| {
                    recs.joins
                        .iter()
                        .filter(|(_, j)| j.left.is_none())
                        .map(move |(jid, j)| (*place, *jid, j.goal))
                })
                .collect();
            let target = unique_prefix(joins.iter().map(|(_, _, g)| *g), goal, "goal")?;
            let Some((place, jid, _)) = joins.into_iter().find(|(_, _, g)| *g == target) else {
                return Err(Error::not_found(format!("no goal with id {goal:?}")));
            };
            w.update(place.doc(), |d| {
                let mut j: GoalJoin = docs::get_record(d, place, Collection::Joins, jid)?
                    .ok_or_else(|| Error::not_found(format!("goal {goal:?} was left")))?;
                let step = edit.apply(&j.title, &mut j.objectives)?;
                let j = checked("goal", j)?;
                docs::put_record(d, place, Collection::Joins, jid, &j)?;
                Ok(StepSaved {
                    id: target,
                    goal: None,
                    title: j.title.clone(),
                    mutual: true,
                    step,
                    progress: progress(&j.objectives),
                    done: matches!(edit, StepEdit::Set { done: true, .. }),
                })
            })
        })
    }

    /// My goals (open ones unless `all`), of one person or of every active relationship.
    pub fn goals(&self, person: Option<&str>, all: bool) -> Result<Vec<GoalRow>> {
        self.read(|r| {
            let private = r.private()?;
            let mut rows = Vec::new();
            for (place, rel, recs) in r.listed_records(&private, person)? {
                for (id, goal) in recs.goals {
                    if all || goal.status.is_open() {
                        rows.push(GoalRow {
                            id,
                            relationship: place.relationship().to_string(),
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
            Ok(rows)
        })
    }

    /// Takes up a friend's shared goal: a join record on my side makes it mutual on both sides
    /// once it syncs. Taking it up twice does nothing.
    pub fn join_goal(&self, goal: &str) -> Result<Joined> {
        let now = self.stamp();
        let join_id = random_id()?;
        // Their goals come from my replicas, which only sync writes and this use case does not
        // change: read outside the write, where one replica that cannot be read is skipped (with
        // its reason) instead of failing the transaction.
        let goals = self.peek(|r| {
            let private = r.private()?;
            let mut goals = Vec::new();
            for (&id, rel) in &private.relationships {
                for (gid, g) in r.replica(id)?.records.goals {
                    goals.push((id, rel.name.clone(), gid, g));
                }
            }
            Ok(goals)
        })?;
        let gid = unique_prefix(goals.iter().map(|(_, _, g, _)| *g), goal, "friend's goal")?;
        let Some((rel, friend, _, g)) = goals.into_iter().find(|(_, _, id, _)| *id == gid) else {
            return Err(Error::not_found(format!(
                "no friend's goal with id {goal:?}"
            )));
        };
        self.write(|w| {
            let place = Place::Shared(rel);
            let already = w
                .side(rel)?
                .joins
                .values()
                .any(|j| j.goal == gid && j.left.is_none());
            if !already {
                let record = GoalJoin {
                    goal: gid,
                    title: g.title.clone(),
                    objectives: Records::new(),
                    joined: now,
                    left: None,
                };
                w.update(place.doc(), |d| {
                    Ok(docs::put_record(
                        d,
                        place,
                        Collection::Joins,
                        join_id,
                        &record,
                    )?)
                })?;
            }
            Ok(Joined {
                id: gid,
                relationship: rel.to_string(),
                joined: !already,
                friend: friend.clone(),
                title: g.title.clone(),
            })
        })
    }

    /// Leaves a friend's goal I took up: it is no longer mutual once it syncs.
    pub fn leave_goal(&self, goal: &str) -> Result<Left> {
        let now = self.stamp();
        self.write(|w| {
            let private = w.private()?;
            let mut found = Vec::new();
            for &rel in private.relationships.keys() {
                for (jid, j) in w.side(rel)?.joins {
                    if j.left.is_none() {
                        found.push((rel, jid, j));
                    }
                }
            }
            let gid = unique_prefix(found.iter().map(|(_, _, j)| j.goal), goal, "joined goal")?;
            let mut titles = Vec::new();
            for (rel, jid, mut j) in found.into_iter().filter(|(_, _, j)| j.goal == gid) {
                j.left = Some(now);
                let place = Place::Shared(rel);
                w.update(place.doc(), |d| {
                    Ok(docs::put_record(d, place, Collection::Joins, jid, &j)?)
                })?;
                titles.push(j.title);
            }
            Ok(Left {
                id: gid,
                left: true,
                titles,
            })
        })
    }

    /// Shares a private goal with the friend, or takes a shared one back to private: a move
    /// between two documents, in one transaction, of the goal as it is inside it.
    pub fn share_goal(&self, goal: &str, share: bool) -> Result<Shared> {
        self.write(|w| {
            let (from, id) = find_goal(w, goal)?;
            let to = Place::choose(from.relationship(), share);
            let g: Goal = w
                .record(from, Collection::Goals, id)?
                .ok_or_else(|| Error::not_found(format!("goal {goal:?} was removed")))?;
            if from != to {
                w.update(to.doc(), |d| {
                    Ok(docs::put_record(d, to, Collection::Goals, id, &g)?)
                })?;
                w.update(from.doc(), |d| {
                    Ok(docs::delete_record(d, from, Collection::Goals, id)?)
                })?;
            }
            Ok(Shared {
                id,
                shared: to.is_shared(),
                moved: from != to,
                title: g.title,
            })
        })
    }
}

/// Finds one of my goals by id prefix, inside a write.
fn find_goal(w: &mut Writer<'_, '_>, goal: &str) -> Result<(Place, Id)> {
    let private = w.private()?;
    let places = w.all_records(&private)?;
    let (place, id, _) = find_record(&places, goal, "goal", |r| &r.goals)?;
    Ok((place, id))
}
