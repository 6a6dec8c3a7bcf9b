//! `tapin history PERSON`: everything recorded about one relationship, newest first.

use std::io::Write;

use anyhow::Result;
use tapin_app::Home;

use crate::output::{self, BOLD, DIM, WARN, paint};

pub(crate) fn run(home: &Home, person: &str, limit: usize, json: bool) -> Result<()> {
    let page = home.history(person, limit)?;
    if json {
        return output::json(&page);
    }
    let mut out = output::stdout();
    writeln!(
        out,
        "{}",
        paint(BOLD, output::fit(&page.name, output::NAME_COLUMN))
    )?;
    if page.items.is_empty() {
        writeln!(out, "Nothing recorded yet.")?;
    }
    for item in &page.items {
        let summary = if item.summary.contains("red flag") {
            paint(WARN, &item.summary)
        } else {
            item.summary.clone()
        };
        let place = if item.shared { "shared" } else { "private" };
        let meta = paint(DIM, format!("{:<8} {place:<7}", item.id.short()));
        writeln!(out, "{}  {meta}  {summary}", item.day)?;
    }
    for line in page.unreadable.lines() {
        writeln!(out, "{}", paint(DIM, line))?;
    }
    Ok(())
}
