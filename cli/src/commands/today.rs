//! `tapin today`: the daily glance across all relationships.

use std::io::Write;

use anyhow::Result;
use tapin_app::Home;
use tapin_app::core::views::touch::TouchState;
use tapin_app::pages::TodayPage;
use tapin_app::words::describe_day;

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
