//! Goals, their steps, taking up a friend's goal, and moving a goal between private and shared.

use serde::Serialize;
use tapin_core::Id;
use tapin_core::docs::{self, Collection, Place};
use tapin_core::model::{Goal, GoalJoin, GoalKind, GoalStatus, Objective, Records, SideRecords};
use tapin_core::time::{Day, Timestamp};
use tapin_core::views::mutual::{MutualGoal, Owner, mutual_goals};

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

/// A goal reassessed: one of mine, or my part of a friend's goal I took up.
#[derive(Debug, Clone, Serialize)]
pub struct GoalSaved {
    /// Its id.
    pub id: Id,
    /// The goal as now stored; `None` for a friend's goal I took up (the goal is theirs: only
    /// my part of it changed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub goal: Option<Goal>,
    /// For a friend's goal I took up, where my part of it stands now: active, achieved, or
    /// dropped (I left it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub my_part: Option<GoalStatus>,
    /// The goal's title.
    #[serde(skip)]
    pub title: String,
    /// For a friend's goal I took up, what I call the friend.
    #[serde(skip)]
    pub friend: Option<String>,
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

/// One row of the goal list: one of my goals, or a friend's goal I took up. A mutual goal is
/// one row, on both sides, carrying both parts of it.
#[derive(Debug, Clone, Serialize)]
pub struct GoalRow {
    /// The goal's id (in its owner's side).
    pub id: Id,
    /// The relationship.
    pub relationship: String,
    /// What I call the person.
    pub person: String,
    /// Whether it is shared.
    pub shared: bool,
    /// Whose goal it is: `me`, or `them` for a friend's goal I took up.
    pub owner: Owner,
    /// Whether its timeframe ended before today while it is still open.
    pub overdue: bool,
    /// Both parts of it, when it is mutual (the friend took up my goal, or I took up theirs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mutual: Option<MutualGoal>,
    /// The goal, as its owner holds it.
    #[serde(flatten)]
    pub goal: Goal,
}

impl GoalRow {
    /// Whether the goal is still in play for me: open as its owner set it, and, for a friend's
    /// goal I took up, my part not marked achieved.
    pub fn is_open(&self) -> bool {
        match (&self.mutual, self.owner) {
            (Some(m), Owner::Them) => m.is_open(),
            _ => self.goal.status.is_open(),
        }
    }

    /// My steps toward it: the goal's own for my goal, my part's for a friend's goal I took up.
    pub fn my_steps(&self) -> Vec<&Objective> {
        match (&self.mutual, self.owner) {
            (Some(m), Owner::Them) => m.joiner_steps.iter().collect(),
            _ => self.goal.steps().into_iter().map(|(_, o)| o).collect(),
        }
    }

    /// The friend's steps toward it, when it is mutual: their part of my goal, or the goal's
    /// own steps for their goal I took up.
    pub fn their_steps(&self) -> Vec<&Objective> {
        match (&self.mutual, self.owner) {
            (Some(m), Owner::Me) => m.joiner_steps.iter().collect(),
            (Some(m), Owner::Them) => m.owner_steps.iter().collect(),
            (None, _) => Vec::new(),
        }
    }
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
    /// Who had taken it up, when taking it back to private ends a mutual goal.
    #[serde(skip)]
    pub was_taken_up_by: Option<String>,
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

/// What a goal id names, from where I stand. A mutual goal has one id, its owner's, on both
/// sides: my goal the friend took up is [`Named::Mine`]; the friend's goal I took up is
/// [`Named::TakenUp`], and what of it is mine to change lives in my join records.
#[derive(Debug, Clone)]
enum Named {
    /// One of my goals.
    Mine {
        /// Its title.
        title: String,
    },
    /// A friend's goal I took up (a join of mine names it and is not left).
    TakenUp {
        /// What I call the friend.
        friend: String,
        /// The goal's title, as they have it (or as it was when I took it up).
        title: String,
    },
    /// A goal a friend shared that I have not taken up, or left.
    Theirs {
        /// What I call the friend.
        friend: String,
        /// The goal's title.
        title: String,
        /// Whether I took it up once and left it.
        left: bool,
    },
}

/// "\"Walk on Sundays\" is Jordan's goal, and you have not taken it up: …", for what needs it.
fn not_taken_up(friend: &str, title: &str, left: bool, id: Id, what: &str) -> Error {
    let (not, again) = if left {
        ("you left it", " again")
    } else {
        ("you have not taken it up", "")
    };
    Error::invalid(format!(
        "{title:?} is {friend}'s goal, and {not}; {what}take it up{again} with `tapin goal join {}`",
        id.short()
    ))
}

/// "Jordan proposed \"Walk on Sundays\"; only Jordan can rename it. …": something on a goal I
/// took up that is its owner's to change.
fn theirs_to_change(friend: &str, title: &str, what: &str) -> Error {
    Error::invalid(format!(
        "{friend} proposed {title:?}; only {friend} can {what}. What is yours: your own steps \
         (`tapin goal step`), marking your part achieved or active (`tapin goal status`), or \
         leaving it (`tapin goal leave`)"
    ))
}

/// The steps of mine a step number or id on a friend's goal I took up can name; said when it
/// names none of them.
fn not_my_step(friend: &str, title: &str, id: Id, step: &str, mine: &Records<Objective>) -> Error {
    let yours = match mine.len() {
        0 => format!(
            "you have no steps of your own toward it yet; add one with `tapin goal step add {} \
             TEXT`",
            id.short()
        ),
        n => format!(
            "yours are numbered 1 to {n} in `tapin goal list` ({})",
            crate::words::plural(n, "step")
        ),
    };
    Error::not_found(format!(
        "{title:?} has no step {step:?} of yours: its own steps are {friend}'s to mark, and {yours}"
    ))
}

/// Sets my part of the friend's goal `goal`, which I took up in relationship `rel`: every join of
/// mine naming it that is not left (two devices may have taken it up at once). `Dropped` leaves
/// it, `Achieved` marks my part achieved, anything else makes it active again. Returns whether a
/// join named it. Shared by `goal status` and a check-in's `--review`, so both mean the same.
pub(crate) fn set_my_part(
    w: &mut Writer<'_, '_>,
    rel: Id,
    goal: Id,
    my_part: GoalStatus,
    now: Timestamp,
) -> Result<bool> {
    let mut found = false;
    for (jid, mut j) in w.side(rel)?.joins {
        if j.goal != goal || j.left.is_some() {
            continue;
        }
        found = true;
        match my_part {
            // Leaving is how a goal I took up is let go: every tapin, older ones too, then sees
            // it is no longer mutual.
            GoalStatus::Dropped => j.left = Some(now),
            GoalStatus::Achieved => {
                j.achieved.get_or_insert(now);
            }
            _ => j.achieved = None,
        }
        let j = checked("goal", j)?;
        let place = Place::Shared(rel);
        w.update(place.doc(), |d| {
            Ok(docs::put_record(d, place, Collection::Joins, jid, &j)?)
        })?;
    }
    Ok(found)
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

    /// What `goal` (an id prefix) names: one of my goals, a friend's goal I took up, or one a
    /// friend shared that I have not. Read outside any write: a replica that cannot be read is
    /// skipped (with its reason elsewhere) rather than failing the use case.
    fn name_goal(&self, goal: &str) -> Result<(Id, Named)> {
        self.peek(|r| {
            let private = r.private()?;
            let mut mine: Vec<(Id, Named)> = Vec::new();
            let mut add_mine = |recs: &SideRecords| {
                mine.extend(recs.goals.iter().map(|(id, g)| {
                    let title = g.title.clone();
                    (*id, Named::Mine { title })
                }));
            };
            for recs in private.records.values() {
                add_mine(recs);
            }
            let mut taken: Vec<(Id, Named)> = Vec::new();
            let mut theirs: Vec<(Id, Named)> = Vec::new();
            for (&rel, relationship) in &private.relationships {
                let side = r.side(rel)?;
                add_mine(&side);
                let replica = r.replica(rel)?.records;
                let friend = &relationship.name;
                for j in side.joins.values().filter(|j| j.left.is_none()) {
                    let title = replica
                        .goals
                        .get(&j.goal)
                        .map_or_else(|| j.title.clone(), |g| g.title.clone());
                    taken.push((
                        j.goal,
                        Named::TakenUp {
                            friend: friend.clone(),
                            title,
                        },
                    ));
                }
                for (gid, g) in &replica.goals {
                    let left = side.joins.values().any(|j| j.goal == *gid);
                    theirs.push((
                        *gid,
                        Named::Theirs {
                            friend: friend.clone(),
                            title: g.title.clone(),
                            left,
                        },
                    ));
                }
            }
            let all = mine.iter().chain(&taken).chain(&theirs).map(|(id, _)| *id);
            let id = unique_prefix(all, goal, "goal")?;
            // Mine first: a goal of mine is mine to change, whatever else names it.
            let named = mine
                .into_iter()
                .chain(taken)
                .chain(theirs)
                .find(|(gid, _)| *gid == id)
                .map(|(_, named)| named)
                .ok_or_else(|| Error::not_found(format!("no goal with id {goal:?}")))?;
            Ok((id, named))
        })
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

    /// Changes a goal's status (and optionally its title or date). On a friend's goal I took
    /// up, it changes my part only: achieved or active again, or dropped (which leaves it); the
    /// goal's title, date and own status are the friend's, and asking to change them says so.
    pub fn set_goal_status(&self, goal: &str, change: &GoalChange) -> Result<GoalSaved> {
        let title = match change.title.as_deref().map(str::trim) {
            Some("") => invalid!("a goal needs a title"),
            other => other.map(str::to_owned),
        };
        let (id, named) = self.name_goal(goal)?;
        let (friend, their_title) = match named {
            Named::Mine { .. } => return self.set_my_goal_status(id, change, title),
            Named::Theirs {
                friend,
                title,
                left,
            } => {
                return Err(not_taken_up(
                    &friend,
                    &title,
                    left,
                    id,
                    "to mark your part of it, ",
                ));
            }
            Named::TakenUp { friend, title } => (friend, title),
        };
        if title.is_some() {
            return Err(theirs_to_change(&friend, &their_title, "rename it"));
        }
        if change.by.is_some() {
            return Err(theirs_to_change(&friend, &their_title, "change its date"));
        }
        let now = self.stamp();
        let my_part = match change.status {
            GoalStatus::Achieved | GoalStatus::Active | GoalStatus::Dropped => change.status,
            GoalStatus::Adjusted => {
                return Err(theirs_to_change(&friend, &their_title, "adjust it"));
            }
            other => invalid!(
                "{:?} is not a status for your part of {friend}'s goal; use active, achieved or dropped",
                crate::words::goal_status(other)
            ),
        };
        self.write(|w| {
            let private = w.private()?;
            for &rel in private.relationships.keys() {
                set_my_part(w, rel, id, my_part, now)?;
            }
            Ok(GoalSaved {
                id,
                goal: None,
                my_part: Some(my_part),
                title: their_title.clone(),
                friend: Some(friend.clone()),
                warning: None,
            })
        })
    }

    /// [`Home::set_goal_status`] on one of my goals.
    fn set_my_goal_status(
        &self,
        id: Id,
        change: &GoalChange,
        title: Option<String>,
    ) -> Result<GoalSaved> {
        let goal = id.to_string();
        let goal = goal.as_str();
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
            Ok(GoalSaved {
                id,
                title: goal.title.clone(),
                goal: Some(goal),
                my_part: None,
                friend: None,
                warning,
            })
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
    /// processes adding steps at once both keep theirs. On a friend's goal I took up, the steps
    /// are my own, kept in my join; the goal's own steps are the friend's, and naming one of
    /// them says so.
    fn edit_steps(&self, goal: &str, edit: &StepEdit<'_>) -> Result<StepSaved> {
        let updated = self.stamp();
        let (target, named) = self.name_goal(goal)?;
        let (friend, their_title) = match named {
            Named::Mine { .. } => {
                return self.write(|w| {
                    let (place, id) = find_goal(w, &target.to_string())?;
                    w.update(place.doc(), |d| {
                        let mut g: Goal = docs::get_record(d, place, Collection::Goals, id)?
                            .ok_or_else(|| {
                                Error::not_found(format!("goal {goal:?} was removed"))
                            })?;
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
                    })
                });
            }
            Named::Theirs {
                friend,
                title,
                left,
            } => {
                return Err(not_taken_up(
                    &friend,
                    &title,
                    left,
                    target,
                    "its steps are theirs to mark; to add steps of your own, ",
                ));
            }
            Named::TakenUp { friend, title } => (friend, title),
        };
        self.write(|w| {
            let private = w.private()?;
            let mut joins: Vec<(Place, Id, GoalJoin)> = Vec::new();
            for &rel in private.relationships.keys() {
                for (jid, j) in w.side(rel)?.joins {
                    if j.goal == target && j.left.is_none() {
                        joins.push((Place::Shared(rel), jid, j));
                    }
                }
            }
            // With several joins (two devices took it up at once), my steps are those of all of
            // them, merged by id as the mutual view merges them: a step is numbered in that
            // merged list, and marked in every join that holds it; a new one goes to the first.
            joins.sort_by_key(|(_, jid, j)| (j.joined, *jid));
            let mut merged: Records<Objective> = Records::new();
            for (_, _, j) in &joins {
                for (k, o) in &j.objectives {
                    if o.done || !merged.contains_key(k) {
                        merged.insert(*k, o.clone());
                    }
                }
            }
            let step = match edit.apply(&their_title, &mut merged) {
                Ok(step) => step,
                Err(Error::NotFound(_)) => {
                    let StepEdit::Set { step, .. } = edit else {
                        return Err(Error::not_found(format!("goal {goal:?} was left")));
                    };
                    return Err(not_my_step(&friend, &their_title, target, step, &merged));
                }
                Err(other) => return Err(other),
            };
            for (n, (place, jid, mut j)) in joins.into_iter().enumerate() {
                let mut changed = false;
                for (k, o) in &merged {
                    let adds = n == 0
                        && !j.objectives.contains_key(k)
                        && matches!(edit, StepEdit::Add { id, .. } if *id == *k);
                    let marks = j.objectives.get(k).is_some_and(|mine| mine.done != o.done);
                    if adds || marks {
                        j.objectives.insert(*k, o.clone());
                        changed = true;
                    }
                }
                if changed {
                    let j = checked("goal", j)?;
                    w.update(place.doc(), |d| {
                        Ok(docs::put_record(d, place, Collection::Joins, jid, &j)?)
                    })?;
                }
            }
            Ok(StepSaved {
                id: target,
                goal: None,
                title: their_title.clone(),
                mutual: true,
                step,
                progress: progress(&merged),
                done: matches!(edit, StepEdit::Set { done: true, .. }),
            })
        })
    }

    /// My goals and the friends' goals I took up (open ones unless `all`), of one person or of
    /// every active relationship. A mutual goal is one row with both parts; a goal whose
    /// timeframe ended before today while it is still open is marked overdue.
    pub fn goals(&self, person: Option<&str>, all: bool) -> Result<Vec<GoalRow>> {
        let today = self.today();
        self.read(|r| {
            let private = r.private()?;
            let only = person.map(|p| find_person(&private, p)).transpose()?;
            let mut rows = Vec::new();
            for (&rel_id, rel) in &private.relationships {
                let wanted = match &only {
                    Some((only, _)) => *only == rel_id,
                    None => rel.is_active(),
                };
                if !wanted {
                    continue;
                }
                let shared = r.side(rel_id)?;
                let kept = private.records.get(&rel_id).cloned().unwrap_or_default();
                let replica = r.replica(rel_id)?.records;
                let theirs = (!replica.is_empty()).then_some(&replica);
                let mut mutual = mutual_goals(&shared, &kept, theirs);
                let row = |id: Id, is_shared: bool, owner: Owner, goal: &Goal, mutual| GoalRow {
                    id,
                    relationship: rel_id.to_string(),
                    person: rel.name.clone(),
                    shared: is_shared,
                    owner,
                    overdue: false,
                    mutual,
                    goal: goal.clone(),
                };
                for (recs, is_shared) in [(&shared, true), (&kept, false)] {
                    for (id, goal) in &recs.goals {
                        let m = mutual
                            .iter()
                            .position(|m| m.owner == Owner::Me && m.goal_id == *id)
                            .map(|at| mutual.remove(at));
                        rows.push(row(*id, is_shared, Owner::Me, goal, m));
                    }
                }
                for m in mutual {
                    if let Some(goal) = replica.goals.get(&m.goal_id) {
                        rows.push(row(m.goal_id, true, Owner::Them, goal, Some(m)));
                    }
                }
            }
            rows.retain(|row| all || row.is_open());
            for row in &mut rows {
                row.overdue = match (&row.mutual, row.owner) {
                    (Some(m), Owner::Them) => m.is_overdue(today),
                    _ => row.goal.is_overdue(today),
                };
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
        if let Ok((_, Named::Mine { title })) = self.name_goal(goal) {
            invalid!(
                "{title:?} is your own goal; it becomes mutual when your friend takes it up on their side"
            );
        }
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
                    achieved: None,
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
        match self.name_goal(goal) {
            Ok((id, Named::Mine { title })) => invalid!(
                "{title:?} is your own goal; to let it go, `tapin goal status {} dropped`",
                id.short()
            ),
            Ok((
                _,
                Named::Theirs {
                    friend,
                    title,
                    left,
                },
            )) => {
                let not = if left { "already left" } else { "not taken up" };
                invalid!("you have {not} {friend}'s goal {title:?}, so there is nothing to leave")
            }
            _ => {}
        }
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
        let id = match self.name_goal(goal)? {
            (id, Named::Mine { .. }) => id,
            (_, Named::TakenUp { friend, title } | Named::Theirs { friend, title, .. }) => {
                return Err(Error::invalid(format!(
                    "{friend} proposed {title:?}; only {friend} can decide whether it is shared"
                )));
            }
        };
        // Whether the friend took it up: taking it back to private ends that, which is worth
        // saying. Read from my replicas, outside the write (sync alone changes them).
        let taken_up_by = self.peek(|r| {
            let private = r.private()?;
            for (&rel, relationship) in &private.relationships {
                let joined = r
                    .replica(rel)?
                    .records
                    .joins
                    .values()
                    .any(|j| j.goal == id && j.left.is_none());
                if joined {
                    return Ok(Some(relationship.name.clone()));
                }
            }
            Ok(None)
        })?;
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
                was_taken_up_by: taken_up_by.filter(|_| from.is_shared() && !to.is_shared()),
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
