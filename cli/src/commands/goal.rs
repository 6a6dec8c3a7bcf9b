//! `tapin goal …`: goals, their steps, and their reassessment.

use std::io::Write;

use anyhow::Result;
use tapin_app::Home;
use tapin_app::core::model::GoalStatus;
use tapin_app::goals::{GoalChange, NewGoal, StepSaved};
use tapin_app::words::{self, describe_day, plural};

use crate::args::{GoalCommand, StepCommand};
use crate::commands::saved;
use crate::output::{self, BAD, BOLD, DIM, GOOD, paint};

pub(crate) fn run(home: &Home, cmd: GoalCommand, json: bool) -> Result<()> {
    match cmd {
        GoalCommand::Add {
            person,
            title,
            why,
            kind,
            by,
            steps,
            share,
        } => {
            let new = NewGoal {
                person,
                title,
                why,
                kind: kind.into(),
                by,
                steps,
                share,
            };
            let added = home.add_goal(&new)?;
            let goal = &added.goal;
            let by = goal
                .by
                .map(|d| format!(" by {}", describe_day(d)))
                .unwrap_or_default();
            let whom = if words::mentions(&goal.title, &added.person) {
                String::new()
            } else {
                format!(" for {}", added.person)
            };
            let text = format!(
                "Goal {}{whom}{by}, {} ({}). Id {}.",
                paint(BOLD, &goal.title),
                words::shared(share),
                match goal.objectives.len() {
                    0 => "no steps yet".to_owned(),
                    n => plural(n, "step"),
                },
                added.id.short()
            );
            saved(json, &added, text)?;
            output::warn(added.warning.as_deref())
        }
        GoalCommand::List { person, all } => list(home, person.as_deref(), all, json),
        GoalCommand::Step(StepCommand::Add { goal, text }) => {
            step_saved(json, &home.add_step(&goal, &text)?, |s| {
                format!("added step {:?}", s.step)
            })
        }
        GoalCommand::Step(StepCommand::Done { goal, step }) => {
            step_saved(json, &home.set_step(&goal, &step, true)?, step_words)
        }
        GoalCommand::Step(StepCommand::Undo { goal, step }) => {
            step_saved(json, &home.set_step(&goal, &step, false)?, step_words)
        }
        GoalCommand::Status {
            goal,
            status,
            title,
            by,
        } => {
            let change = GoalChange {
                status: status.into(),
                title,
                by,
            };
            let saved_goal = home.set_goal_status(&goal, &change)?;
            let what = match saved_goal.goal.status {
                GoalStatus::Achieved => "achieved — worth celebrating".to_owned(),
                other => format!("now {}", words::goal_status(other)),
            };
            let by = match (&change.by, saved_goal.goal.by) {
                (Some(_), Some(day)) => format!(", by {}", describe_day(day)),
                _ => String::new(),
            };
            let text = format!("Goal {}: {what}{by}.", paint(BOLD, &saved_goal.goal.title));
            saved(json, &saved_goal, text)?;
            output::warn(saved_goal.warning.as_deref())
        }
        GoalCommand::Join { goal } => {
            let joined = home.join_goal(&goal)?;
            let (friend, title) = (&joined.friend, paint(BOLD, &joined.title));
            let text = if joined.joined {
                format!(
                    "You took up {friend}'s goal {title}. It becomes mutual on both sides once you sync."
                )
            } else {
                format!("You already took up {friend}'s goal {title}.")
            };
            saved(json, &joined, text)
        }
        GoalCommand::Leave { goal } => {
            let left = home.leave_goal(&goal)?;
            let text = format!(
                "You left the goal {}; it is no longer mutual once you sync.",
                left.titles.join(", ")
            );
            saved(json, &left, text)
        }
        GoalCommand::Share { goal, private } => {
            let shared = home.share_goal(&goal, !private)?;
            let place = if shared.shared { "shared" } else { "private" };
            let text = if !shared.moved {
                format!("Goal {} is already {place}.", shared.title)
            } else if private {
                format!(
                    "Goal {} is now {place}. What they already received stays on their devices.",
                    shared.title
                )
            } else {
                format!("Goal {} is now {place}.", shared.title)
            };
            saved(json, &shared, text)
        }
    }
}

fn step_words(s: &StepSaved) -> String {
    let (d, t) = s.progress;
    let done = if s.done { "done" } else { "reopened" };
    format!("step {:?} {done} ({})", s.step, words::steps(d, t))
}

fn step_saved(json: bool, s: &StepSaved, what: impl FnOnce(&StepSaved) -> String) -> Result<()> {
    let mutual = if s.mutual { " (mutual)" } else { "" };
    let text = format!("Goal {}{mutual}: {}.", paint(BOLD, &s.title), what(s));
    saved(json, s, text)
}

fn list(home: &Home, person: Option<&str>, all: bool, json: bool) -> Result<()> {
    let rows = home.goals(person, all)?;
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
    let today = home.today();
    let mut last_person = None;
    for row in &rows {
        if last_person != Some(&row.person) {
            writeln!(
                out,
                "{}",
                paint(BOLD, output::fit(&row.person, output::NAME_COLUMN))
            )?;
            last_person = Some(&row.person);
        }
        let (done, total) = row.goal.progress();
        let by = match row.goal.by {
            Some(d) if row.goal.is_overdue(today) => {
                paint(BAD, format!(" by {}, overdue", describe_day(d)))
            }
            Some(d) => format!(" by {}", describe_day(d)),
            None => String::new(),
        };
        writeln!(
            out,
            "  {}  {}{}  [{}, {}, {done}/{total}]",
            paint(DIM, row.id.short()),
            row.goal.title,
            by,
            words::goal_status(row.goal.status),
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
