//! `tapin goal …`: goals, their steps, and their reassessment.

use std::io::Write;

use anyhow::Result;
use tapin_app::Home;
use tapin_app::core::model::GoalStatus;
use tapin_app::core::views::mutual::Owner;
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
            let title = paint(BOLD, &saved_goal.title);
            let text = match (&saved_goal.friend, saved_goal.my_part, &saved_goal.goal) {
                (Some(friend), Some(GoalStatus::Dropped), _) => format!(
                    "You left {friend}'s goal {title}; it is no longer mutual once you sync."
                ),
                (Some(friend), Some(GoalStatus::Achieved), _) => format!(
                    "{friend}'s goal {title}: your part achieved — worth celebrating. {friend} sees it once you sync."
                ),
                (Some(friend), Some(_), _) => format!(
                    "{friend}'s goal {title}: your part is active again. {friend} sees it once you sync."
                ),
                (_, _, Some(g)) if g.status == GoalStatus::Achieved => {
                    format!("Goal {title}: achieved — worth celebrating.")
                }
                (_, _, Some(g)) => format!("Goal {title}: now {}.", words::goal_status(g.status)),
                (_, _, None) => format!("Goal {title}: saved."),
            };
            let by = match (&change.by, saved_goal.goal.as_ref().and_then(|g| g.by)) {
                (Some(_), Some(day)) => format!(" It is now due by {}.", describe_day(day)),
                _ => String::new(),
            };
            saved(json, &saved_goal, format!("{text}{by}"))?;
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
            } else if let Some(friend) = &shared.was_taken_up_by {
                format!(
                    "Goal {} is now {place}. {friend} had taken it up: it is no longer mutual once you sync. What they already received stays on their devices.",
                    shared.title
                )
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
        let mine = row.my_steps();
        let done = mine.iter().filter(|o| o.done).count();
        let by = row
            .goal
            .by
            .map(|d| format!(" by {}", describe_day(d)))
            .unwrap_or_default();
        let overdue = if row.overdue {
            format!(", {}", paint(BAD, "overdue"))
        } else {
            String::new()
        };
        // Whose it is, when it is mutual: the status is its owner's, the progress mine.
        let whose = match (&row.mutual, row.owner) {
            (Some(_), Owner::Me) => format!(", mutual: {} took it up", row.person),
            (Some(_), Owner::Them) => format!(", mutual: {}'s goal you took up", row.person),
            (None, _) => String::new(),
        };
        let part = match &row.mutual {
            Some(m) if m.joiner_achieved.is_some() && row.owner == Owner::Them => {
                ", your part achieved"
            }
            Some(m) if m.joiner_achieved.is_some() => ", their part achieved",
            _ => "",
        };
        writeln!(
            out,
            "  {}  {}{by}{overdue}  [{}{part}, {}{whose}, {done}/{}]",
            paint(DIM, row.id.short()),
            row.goal.title,
            words::goal_status(row.goal.status),
            if row.shared { "shared" } else { "private" },
            mine.len(),
        )?;
        // My steps are numbered: those are the ones `goal step done ID N` marks. The friend's
        // are theirs to mark, so they are listed without numbers.
        let theirs = row.their_steps();
        if row.mutual.is_some() && !mine.is_empty() {
            writeln!(out, "      Your steps")?;
        }
        for (n, o) in mine.iter().enumerate() {
            writeln!(out, "      {} {}. {}", mark(o.done), n + 1, o.text)?;
        }
        if !theirs.is_empty() {
            writeln!(out, "      {}'s steps", row.person)?;
            for o in theirs {
                writeln!(out, "      {} {}", mark(o.done), o.text)?;
            }
        }
    }
    Ok(())
}

fn mark(done: bool) -> String {
    if done {
        paint(GOOD, "[x]")
    } else {
        "[ ]".to_owned()
    }
}
