//! `tapin today`: the daily glance across all relationships.

use std::io::Write;

use anyhow::Result;
use tapin_app::Home;
use tapin_app::core::views::mutual::Owner;
use tapin_app::core::views::touch::TouchState;
use tapin_app::pages::TodayPage;
use tapin_app::words::{self, describe_day};

use crate::output::{self, BAD, BOLD, DIM, WARN, paint};

pub(crate) fn run(home: &Home, json: bool) -> Result<()> {
    let page = home.today_page()?;
    if json {
        return output::json(&page);
    }
    print(&page)
}

fn print(page: &TodayPage) -> Result<()> {
    let (t, unreadable) = (&page.today, &page.unreadable);
    let mut out = output::stdout();
    writeln!(
        out,
        "{}",
        paint(BOLD, format!("Today, {}", describe_day(t.date)))
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
                paint(
                    BAD,
                    format!("{} overdue", words::days(r.days_overdue.into())),
                )
            };
            let what = words::with_person(&r.title, &output::fit(&r.name, output::NAME_COLUMN));
            writeln!(out, "  {what} — {when}")?;
        }
    }
    if !t.people.is_empty() {
        writeln!(out, "\nStaying in touch")?;
        for p in &t.people {
            let (style, what) = match p.touch.state {
                TouchState::Overdue { days_over, .. } => (
                    BAD,
                    format!("past your longest gap by {}", words::days(days_over.into())),
                ),
                TouchState::Due { days_over, .. } => {
                    (WARN, format!("due for {}", words::days(days_over.into())))
                }
                _ => (DIM, String::new()),
            };
            let last = p.touch.last_contact.map_or_else(
                || "no contact logged".to_owned(),
                |d| format!("last contact {}", describe_day(d)),
            );
            writeln!(
                out,
                "  {} — {} ({last})",
                paint(BOLD, output::fit(&p.name, output::NAME_COLUMN)),
                paint(style, what)
            )?;
        }
    }
    if !t.goals.is_empty() {
        writeln!(out, "\nGoals ending soon")?;
        for g in &t.goals {
            let when = if g.days_left < 0 {
                format!("{}, was due {}", paint(BAD, "overdue"), describe_day(g.by))
            } else if g.days_left == 0 {
                "due today".to_owned()
            } else {
                format!(
                    "by {} (in {})",
                    describe_day(g.by),
                    words::days(g.days_left)
                )
            };
            // A friend's goal I took up: its date is theirs, the steps counted are mine.
            let name = output::fit(&g.name, output::NAME_COLUMN);
            let what = match g.owner {
                Owner::Me => words::with_person(&g.title, &name),
                Owner::Them => format!("{} ({name}'s goal, you took it up)", g.title),
            };
            let steps = words::steps(g.progress.done, g.progress.total);
            writeln!(out, "  {what} — {when}, {steps}")?;
        }
    }
    if !t.checkins.is_empty() {
        writeln!(out, "\nCheck-ins worth having")?;
        for c in &t.checkins {
            let last = c.last_checkin.map_or_else(
                || "none yet".to_owned(),
                |d| format!("last {}", describe_day(d)),
            );
            writeln!(
                out,
                "  {} — {}, {last}",
                output::fit(&c.name, output::NAME_COLUMN),
                words::count(c.open_goals as usize, "open goal", "open goals")
            )?;
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
    if !page.pairings_ended.is_empty() {
        writeln!(out, "\nPairings")?;
        for ended in &page.pairings_ended {
            writeln!(out, "  {ended}")?;
        }
    }
    for line in unreadable.lines() {
        writeln!(out, "\n{}", paint(DIM, line))?;
    }
    Ok(())
}
