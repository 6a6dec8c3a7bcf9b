//! `tapin report PERSON --html FILE`: one relationship as one self-contained HTML page — the
//! reciprocity trend as bar charts, the 30/90/365-day windows and their words, goals and their
//! progress (mine, theirs, mutual), and a calendar of rituals for this month and the next.
//!
//! The figures are the ones `tapin show` prints, from the same `tapin_core::views` calls over the
//! same documents: my shared side, my private records, and my replica of what they share. Nothing
//! of theirs that is not in their shared side exists on this device, so none can reach the page.
//! Reflections and their red flags are left out: a file is easily passed on, and red flags are
//! only ever for the person who answered (see docs/REPORT.md).
//!
//! The page needs no network: CSS and SVG are inline, there are no fonts, images or external
//! scripts, and a Content-Security-Policy (`default-src 'none'`) makes sure a browser fetches
//! nothing even if something slipped in. The one small inline script only checks that the chart
//! is complete and marks `<html data-ready="1">`, so a headless browser can tell that scripts
//! ran without errors. Every piece of user text is escaped; the style and script carry a fresh
//! random nonce, so markup smuggled into a title (a friend's goal title, say) could not run even
//! if escaping ever failed.
//!
//! The chart is machine-checkable: each bar is
//! `<rect data-series="mine|theirs" data-period="week|month" data-start="YYYY-MM-DD"
//! data-count="N">` inside `<svg id="reciprocity-chart">` (weeks) or
//! `<svg id="reciprocity-months">` (months).

use std::fmt::{self, Display, Write as _};
use std::path::Path;

use std::path::PathBuf;

use serde::Serialize;
use tapin_core::model::{GoalKind, Objective, Ritual};
use tapin_core::time::Day;
use tapin_core::views::mutual::{Owner, Progress};
use tapin_core::views::reciprocity::{Bucket, Window};
use tapin_core::views::ritual::{RitualState, period_of, slots_between};
use tapin_core::views::touch::TouchState;

use crate::error::Result;
use crate::exchange::write_atomic;
use crate::home::{Home, random_secret};
use crate::pages::{GoalItem, RelationshipPage, RitualItem};
use crate::words::{
    goal_status as status_word, recurrence as recurrence_words, streak as streak_words,
};

/// The page, with the rituals in the report's order (mine first, retired last).
struct Report<'a> {
    page: &'a RelationshipPage,
    rituals: Vec<&'a RitualItem>,
}

impl std::ops::Deref for Report<'_> {
    type Target = RelationshipPage;

    fn deref(&self) -> &RelationshipPage {
        self.page
    }
}

/// Where a report was written.
#[derive(Debug, Clone, Serialize)]
pub struct ReportWritten {
    /// The file.
    pub file: PathBuf,
}

/// The page as one self-contained HTML document. `nonce` guards its one style and script.
pub fn render_html(page: &RelationshipPage, nonce: &str) -> String {
    let mut rituals: Vec<&RitualItem> = page.rituals.iter().collect();
    rituals.sort_by(|a, b| {
        (a.ritual.retired, a.whose != "mine", &a.ritual.title, a.id).cmp(&(
            b.ritual.retired,
            b.whose != "mine",
            &b.ritual.title,
            b.id,
        ))
    });
    let report = Report { page, rituals };
    let mut out = String::with_capacity(48 * 1024);
    // Writing into a String cannot fail.
    let _ = render(&mut out, &report, nonce);
    out
}

impl Home {
    /// Writes one relationship as one HTML page to `file` (atomically: the file is whole or
    /// untouched). The page is [`Home::relationship_page`], without my red flags.
    /// One read: if the file cannot be written, nothing is kept, not even a cache.
    pub fn report(&self, person: &str, file: &Path) -> Result<ReportWritten> {
        let nonce = data_encoding::BASE64URL_NOPAD.encode(&random_secret()?[..16]);
        self.read(|r| {
            let page = self.page_of(r, person)?;
            write_atomic(file, render_html(&page, &nonce).as_bytes())?;
            Ok(ReportWritten {
                file: file.to_owned(),
            })
        })
    }
}

impl Home {
    /// One relationship as one HTML page, the same page [`Home::report`] writes, for a front-end
    /// to put where the person asked (`tapin report --html -` prints it).
    pub fn report_html(&self, person: &str) -> Result<String> {
        let nonce = data_encoding::BASE64URL_NOPAD.encode(&random_secret()?[..16]);
        self.read(|r| Ok(render_html(&self.page_of(r, person)?, &nonce)))
    }
}

/// Text escaped for HTML, in element content and in quoted attribute values alike.
struct Esc<'a>(&'a str);

impl Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(['&', '<', '>', '"', '\'']) {
            f.write_str(&rest[..at])?;
            f.write_str(match rest.as_bytes()[at] {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                _ => "&#39;",
            })?;
            rest = &rest[at + 1..];
        }
        f.write_str(rest)
    }
}

/// The stylesheet: system fonts, colours for light and dark schemes, print-friendly.
const STYLE: &str = include_str!("report/style.css");

/// Checks that the chart is whole and marks the page ready; see the module docs.
const SCRIPT: &str = include_str!("report/check.js");

fn render(out: &mut String, p: &Report<'_>, nonce: &str) -> fmt::Result {
    let name = Esc(&p.name);
    write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; base-uri 'none'; \
         form-action 'none'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"color-scheme\" content=\"light dark\">\n\
         <meta name=\"generator\" content=\"tapin {version}\">\n\
         <title>{me} and {name} — tapin, {today}</title>\n\
         <style nonce=\"{nonce}\">{STYLE}</style>\n</head>\n<body>\n<main>\n",
        version = env!("CARGO_PKG_VERSION"),
        me = Esc(&p.me),
        today = p.today,
    )?;
    header(out, p)?;
    reciprocity_section(out, p)?;
    goals_section(out, p)?;
    rituals_section(out, p)?;
    write!(
        out,
        "<footer>\n<p>Made by tapin on {today} from {me}'s records of {name}: your shared side, \
         your private records, and what {name} shared with you{synced}. Items marked \
         <span class=\"badge private\">private</span> never left your devices and {name} has \
         not seen them; think before you pass this page on.</p>\n<p>Your reflections and their \
         red flags are not part of this page; <code>tapin show</code> shows them to you \
         alone.</p>\n</footer>\n</main>\n<script nonce=\"{nonce}\">{SCRIPT}</script>\n\
         </body>\n</html>\n",
        today = p.today,
        me = Esc(&p.me),
        synced = match p.their_side.as_of {
            Some(at) => format!(" (as of {})", crate::words::local_minute(at)),
            None => String::new(),
        },
    )
}

fn header(out: &mut String, p: &Report<'_>) -> fmt::Result {
    let name = Esc(&p.name);
    write!(out, "<header>\n<h1>You and {name}</h1>\n<p class=\"meta\">")?;
    match (p.paired, p.friend.as_deref()) {
        (true, Some(friend)) if friend != p.name => {
            write!(out, "Paired with {} · ", Esc(friend))?;
        }
        (true, _) => out.push_str("Paired · "),
        (false, _) => out.push_str("Not paired · "),
    }
    write!(out, "as of {}</p>\n<p>", p.today)?;
    match p.touch.last_contact {
        Some(day) => write!(out, "Last contact {day}. ")?,
        None => out.push_str("No contact logged yet. "),
    }
    match &p.touch.state {
        TouchState::NoRhythm => out.push_str("No rhythm set for staying in touch."),
        TouchState::Fine { due_on, .. } => write!(out, "Next contact due around {due_on}.")?,
        TouchState::Due { since, .. } => write!(out, "A contact has been due since {since}.")?,
        TouchState::Overdue { since, .. } => {
            write!(out, "Longer than your longest gap since {since}.")?;
        }
        TouchState::Snoozed { until } => write!(out, "Nudges are snoozed until {until}.")?,
        TouchState::Inactive { .. } => out.push_str("This relationship is archived or ended."),
    }
    out.push_str("</p>\n<p class=\"meta\">Their side: ");
    let v = &p.their_side;
    if v.verified {
        write!(
            out,
            "verified — signed by their device <code>{}</code>, as of {}.",
            Esc(&v
                .device
                .as_deref()
                .map_or_else(|| "?".to_owned(), |d| d.chars().take(8).collect())),
            v.as_of.map(crate::words::local_minute).unwrap_or_default()
        )?;
    } else if p.paired && v.device.is_some() {
        out.push_str("not verified: what is here does not match what their device signed.");
    } else if p.paired {
        out.push_str("not synced yet.");
    } else {
        out.push_str("not paired, so nothing of theirs is here.");
    }
    if let Some(last) = p.last_exchange.filter(|l| l.relayed()) {
        write!(
            out,
            " {} {}",
            Esc(&crate::words::relayed_last(last.at)),
            Esc(crate::words::RELAY_SEES)
        )?;
    }
    out.push_str("</p>\n");
    for line in p.unreadable.lines() {
        writeln!(out, "<p class=\"meta unreadable\">{}</p>", Esc(&line))?;
    }
    out.push_str("</header>\n");
    Ok(())
}

fn reciprocity_section(out: &mut String, p: &Report<'_>) -> fmt::Result {
    let r = &p.reciprocity;
    let name = Esc(&p.name);
    write!(
        out,
        "<section id=\"reciprocity\">\n<h2>Reaching out</h2>\n<p class=\"words\">{}</p>\n",
        Esc(&r.words)
    )?;
    if !r.their_side_synced {
        if p.paired {
            writeln!(
                out,
                "<p class=\"meta\">{name}'s side has not synced to this device yet: these \
                 figures come from your own logs alone.</p>"
            )?;
        } else {
            out.push_str(
                "<p class=\"meta\">These figures come from your own logs, which record who \
                 reached out either way.</p>\n",
            );
        }
    }
    writeln!(
        out,
        "<ul class=\"legend\"><li><span class=\"swatch mine\"></span>You reached out</li>\
         <li><span class=\"swatch theirs\"></span>{name} reached out</li></ul>"
    )?;
    chart(
        out,
        "reciprocity-chart",
        "week",
        &format!("The last {} weeks, Monday to Sunday", r.trend.weeks.len()),
        &r.trend.weeks,
        p,
    )?;
    chart(
        out,
        "reciprocity-months",
        "month",
        &format!("The last {} months", r.trend.months.len()),
        &r.trend.months,
        p,
    )?;

    out.push_str(
        "<table class=\"windows\" id=\"reciprocity-windows\">\n<thead><tr><th>In the last</th>",
    );
    for w in &r.windows {
        write!(
            out,
            "<th scope=\"col\" data-window=\"{}\" title=\"{} to {}\">{} days</th>",
            w.days, w.from, r.today, w.days
        )?;
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    type Measure = fn(&Window) -> u32;
    let rows: [(&str, String, Measure); 5] = [
        ("i_reached_out", "You reached out".to_owned(), |w| {
            w.i_reached_out
        }),
        ("they_reached_out", format!("{name} reached out"), |w| {
            w.they_reached_out
        }),
        ("thanks_given", "Thanks you wrote".to_owned(), |w| {
            w.thanks_given
        }),
        ("thanks_received", format!("Thanks {name} wrote"), |w| {
            w.thanks_received
        }),
        ("checkins", "Check-ins".to_owned(), |w| w.checkins),
    ];
    for (measure, label, value) in rows {
        write!(
            out,
            "<tr data-measure=\"{measure}\"><th scope=\"row\">{label}</th>"
        )?;
        for w in &r.windows {
            write!(
                out,
                "<td data-window=\"{}\" data-measure=\"{measure}\">{}</td>",
                w.days,
                value(w)
            )?;
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
    Ok(())
}

/// The largest value on a chart's axis and the step between its gridlines: at most five steps
/// of 1, 2 or 5 times a power of ten, never below 2 so an empty chart still has an axis.
fn axis(max: u32) -> (u32, u32) {
    let max = max.max(2);
    let mut unit = 1u32;
    loop {
        for step in [unit, unit.saturating_mul(2), unit.saturating_mul(5)] {
            let steps = max.div_ceil(step);
            if steps <= 5 {
                return (steps * step, step);
            }
        }
        unit = unit.saturating_mul(10);
    }
}

/// Grouped bars, mine then theirs, for each bucket; see the module docs for the attributes.
fn chart(
    out: &mut String,
    id: &str,
    period: &str,
    caption: &str,
    buckets: &[Bucket],
    p: &Report<'_>,
) -> fmt::Result {
    const W: f64 = 720.0;
    const H: f64 = 230.0;
    const LEFT: f64 = 30.0;
    const RIGHT: f64 = 6.0;
    const TOP: f64 = 14.0;
    const BOTTOM: f64 = 42.0;
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let base = TOP + plot_h;
    let max = buckets
        .iter()
        .map(|b| b.i_reached_out.max(b.they_reached_out))
        .max()
        .unwrap_or(0);
    let (top, step) = axis(max);
    let y = |v: u32| base - f64::from(v) / f64::from(top) * plot_h;
    let group = plot_w / buckets.len().max(1) as f64;
    let bar = (group * 0.32).min(22.0);
    let name = Esc(&p.name);

    write!(
        out,
        "<figure>\n<figcaption id=\"{id}-caption\">{caption}</figcaption>\n\
         <svg id=\"{id}\" class=\"chart\" viewBox=\"0 0 {W} {H}\" role=\"img\" \
         aria-labelledby=\"{id}-caption\">\n<g class=\"grid\">"
    )?;
    let mut tick = 0;
    while tick <= top {
        write!(
            out,
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{tick}</text>",
            W - RIGHT,
            LEFT - 6.0,
            y(tick) + 4.0,
            y = y(tick),
        )?;
        tick += step;
    }
    out.push_str("</g>\n");
    for (i, b) in buckets.iter().enumerate() {
        let x0 = LEFT + group * i as f64;
        let mid = x0 + group / 2.0;
        let current = i + 1 == buckets.len();
        if current {
            write!(
                out,
                "<rect class=\"now\" x=\"{x0:.1}\" y=\"{TOP}\" width=\"{group:.1}\" \
                 height=\"{plot_h}\"/>"
            )?;
        }
        let when = match period {
            "week" => format!("Week of {}", b.start.0.format("%-d %b %Y")),
            _ => b.start.0.format("%B %Y").to_string(),
        };
        for (series, count, x, who) in [
            (
                "mine",
                b.i_reached_out,
                mid - bar - 1.0,
                "you reached out".to_owned(),
            ),
            (
                "theirs",
                b.they_reached_out,
                mid + 1.0,
                format!("{name} reached out"),
            ),
        ] {
            let times = if count == 1 {
                "once".to_owned()
            } else {
                format!("{count} times")
            };
            write!(
                out,
                "<rect class=\"bar {series}\" data-series=\"{series}\" data-period=\"{period}\" \
                 data-start=\"{start}\" data-count=\"{count}\" x=\"{x:.1}\" y=\"{top:.1}\" \
                 width=\"{bar:.1}\" height=\"{h:.1}\" rx=\"2\"><title>{when}: {who} {times}\
                 </title></rect>",
                start = b.start,
                top = y(count),
                h = base - y(count),
            )?;
            if count > 0 {
                write!(
                    out,
                    "<text class=\"value\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{count}</text>",
                    x + bar / 2.0,
                    y(count) - 3.0
                )?;
            }
        }
        let (label, sub) = match period {
            "week" => (
                b.start.0.format("%-d %b").to_string(),
                if current {
                    "this week".to_owned()
                } else {
                    String::new()
                },
            ),
            _ => (
                b.start.0.format("%b").to_string(),
                if i == 0 || b.start.0.format("%m").to_string() == "01" {
                    b.start.0.format("%Y").to_string()
                } else if current {
                    "this month".to_owned()
                } else {
                    String::new()
                },
            ),
        };
        write!(
            out,
            "<text x=\"{mid:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{label}</text>",
            base + 16.0
        )?;
        if !sub.is_empty() {
            write!(
                out,
                "<text x=\"{mid:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{sub}</text>",
                base + 30.0
            )?;
        }
    }
    write!(
        out,
        "<line class=\"axis\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{base}\" y2=\"{base}\"/>\n</svg>\n",
        W - RIGHT
    )?;

    // The same numbers as a table, for screen readers and for copying.
    write!(
        out,
        "<details><summary>The numbers</summary><table><thead><tr><th>{}</th>\
         <th>You reached out</th><th>{name} reached out</th></tr></thead><tbody>",
        if period == "week" { "Week of" } else { "Month" }
    )?;
    for b in buckets {
        write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            if period == "week" {
                b.start.to_string()
            } else {
                b.start.0.format("%Y-%m").to_string()
            },
            b.i_reached_out,
            b.they_reached_out
        )?;
    }
    out.push_str("</tbody></table></details>\n</figure>\n");
    Ok(())
}

fn kind_word(kind: GoalKind) -> Option<&'static str> {
    match kind {
        GoalKind::EmotionalSupport => Some("emotional support"),
        GoalKind::SharedExperience => Some("shared experience"),
        GoalKind::PracticalHelp => Some("practical help"),
        GoalKind::Other | GoalKind::Unknown(_) => None,
    }
}

/// A progress bar and "n of m steps done".
fn progress(out: &mut String, who: &str, series: &str, p: Progress) -> fmt::Result {
    let width = if p.total == 0 {
        0.0
    } else {
        100.0 * p.done as f64 / p.total as f64
    };
    let words = match p.total {
        0 => "no steps yet".to_owned(),
        1 => format!("{} of 1 step done", p.done),
        n => format!("{} of {n} steps done", p.done),
    };
    write!(
        out,
        "<div class=\"progress-row\" data-series=\"{series}\" data-done=\"{}\" \
         data-total=\"{}\"><svg class=\"progress\" viewBox=\"0 0 100 6\" \
         preserveAspectRatio=\"none\" aria-hidden=\"true\"><rect class=\"track\" width=\"100\" \
         height=\"6\" rx=\"3\"/><rect class=\"fill {series}\" width=\"{width:.1}\" height=\"6\" \
         rx=\"3\"/></svg><span>{who}{words}</span></div>",
        p.done, p.total
    )
}

fn goal_card(out: &mut String, g: &GoalItem, whose: &str, today: Day) -> fmt::Result {
    let goal = &g.goal;
    write!(
        out,
        "<article class=\"card goal\" data-goal=\"{}\" data-whose=\"{whose}\" \
         data-private=\"{}\" data-status=\"{}\">\n<h4>{}",
        g.id,
        !g.shared,
        Esc(&status_word(goal.status)),
        Esc(&goal.title)
    )?;
    if !g.shared {
        out.push_str("<span class=\"badge private\">private</span>");
    }
    out.push_str("</h4>\n<p class=\"meta\">");
    write!(out, "{}", Esc(&status_word(goal.status)))?;
    if let Some(by) = goal.by {
        write!(out, " · by {by}")?;
    }
    // Overdue is mine to mind: the friend's goals are theirs to date.
    if whose == "mine" && goal.is_overdue(today) {
        out.push_str(" · <strong class=\"overdue\">overdue</strong>");
    }
    if let Some(kind) = kind_word(goal.kind) {
        write!(out, " · {kind}")?;
    }
    out.push_str("</p>\n");
    if !goal.why.trim().is_empty() {
        writeln!(out, "<p class=\"why\">{}</p>", Esc(&goal.why))?;
    }
    let series = if whose == "theirs" { "theirs" } else { "mine" };
    progress(out, "", series, Progress::of_goal(goal))?;
    let steps: Vec<Objective> = goal.steps().into_iter().map(|(_, o)| o.clone()).collect();
    steps_list(out, &steps)?;
    out.push_str("\n</article>\n");
    Ok(())
}

/// A goal's steps, in order, done ones marked.
fn steps_list(out: &mut String, steps: &[Objective]) -> fmt::Result {
    if !steps.is_empty() {
        out.push_str("\n<ul class=\"steps\">");
        for step in steps {
            write!(
                out,
                "<li{}>{}</li>",
                if step.done { " class=\"done\"" } else { "" },
                Esc(&step.text)
            )?;
        }
        out.push_str("</ul>");
    }
    Ok(())
}

fn goals_section(out: &mut String, p: &Report<'_>) -> fmt::Result {
    let name = Esc(&p.name);
    out.push_str("<section id=\"goals\">\n<h2>Goals</h2>\n");
    if !p.mutual_goals.is_empty() {
        out.push_str("<h3>Goals you both took up</h3>\n");
        for m in &p.mutual_goals {
            let (you, them, owner) = match m.owner {
                Owner::Me => (m.owner_progress, m.joiner_progress, "yours"),
                Owner::Them => (m.joiner_progress, m.owner_progress, "theirs"),
            };
            write!(
                out,
                "<article class=\"card goal mutual\" data-goal=\"{}\" data-whose=\"mutual\" \
                 data-owner=\"{owner}\" data-status=\"{}\">\n<h4>{}</h4>\n<p class=\"meta\">{} · \
                 {}",
                m.goal_id,
                status_word(m.status),
                Esc(&m.title),
                status_word(m.status),
                if m.owner == Owner::Me {
                    format!("your goal, which {name} took up")
                } else {
                    format!("{name}'s goal, which you took up")
                }
            )?;
            if let Some(by) = m.by {
                write!(out, " · by {by}")?;
            }
            if m.is_overdue(p.today) {
                out.push_str(" · <strong class=\"overdue\">overdue</strong>");
            }
            if m.joiner_achieved.is_some() {
                match m.owner {
                    Owner::Me => write!(out, " · {name} marked their part achieved")?,
                    Owner::Them => out.push_str(" · you marked your part achieved"),
                }
            }
            out.push_str("</p>\n");
            let (your_steps, their_steps) = match m.owner {
                Owner::Me => (&m.owner_steps, &m.joiner_steps),
                Owner::Them => (&m.joiner_steps, &m.owner_steps),
            };
            progress(out, "You: ", "mine", you)?;
            steps_list(out, your_steps)?;
            progress(out, &format!("{name}: "), "theirs", them)?;
            steps_list(out, their_steps)?;
            out.push_str("\n</article>\n");
        }
    }
    out.push_str("<div class=\"grid2\">\n<div>\n<h3>Yours</h3>\n");
    if p.my_goals.is_empty() {
        out.push_str("<p class=\"empty\">No goals set yet.</p>\n");
    }
    for g in &p.my_goals {
        goal_card(out, g, "mine", p.today)?;
    }
    write!(
        out,
        "</div>\n<div>\n<h3>{name}'s, as shared with you</h3>\n"
    )?;
    if p.their_goals.is_empty() {
        writeln!(
            out,
            "<p class=\"empty\">{name} has not shared any goals with you yet.</p>"
        )?;
    }
    for g in &p.their_goals {
        goal_card(out, g, "theirs", p.today)?;
    }
    out.push_str("</div>\n</div>\n</section>\n");
    Ok(())
}

/// How one day of one ritual shows on the calendar.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Mark {
    /// It happened that day.
    Kept,
    /// A day it is due, today or later, in a period not kept yet.
    Planned,
    /// A past day it was due, in a period with nothing marked kept.
    Open,
}

impl Mark {
    fn class(self) -> &'static str {
        match self {
            Mark::Kept => "kept",
            Mark::Planned => "planned",
            Mark::Open => "open",
        }
    }

    fn words(self) -> &'static str {
        match self {
            Mark::Kept => "kept",
            Mark::Planned => "planned",
            Mark::Open => "not marked as kept",
        }
    }
}

/// The marks of one ritual between `from` and `to`, by day.
fn marks(r: &Ritual, from: Day, to: Day, today: Day) -> Vec<(Day, Mark)> {
    let happened: Vec<Day> = r
        .occurrences
        .iter()
        .copied()
        .filter(|d| *d >= r.start && *d <= today)
        .collect();
    let mut out: Vec<(Day, Mark)> = happened
        .iter()
        .filter(|d| **d >= from && **d <= to)
        .map(|d| (*d, Mark::Kept))
        .collect();
    if !r.retired {
        for slot in slots_between(r, from, to) {
            let period = period_of(r, slot).start;
            if happened.iter().any(|d| period_of(r, *d).start == period) {
                continue; // the kept day shows for its period
            }
            out.push((
                slot,
                if slot >= today {
                    Mark::Planned
                } else {
                    Mark::Open
                },
            ));
        }
    }
    out.sort();
    out.dedup_by_key(|(d, _)| *d);
    out
}

fn rituals_section(out: &mut String, p: &Report<'_>) -> fmt::Result {
    let name = Esc(&p.name);
    out.push_str("<section id=\"rituals\">\n<h2>Rituals</h2>\n");
    if p.rituals.is_empty() {
        out.push_str(
            "<p class=\"empty\">No rituals yet. <code>tapin ritual add</code> sets one up: \
             recurring, simple time together.</p>\n</section>\n",
        );
        return Ok(());
    }
    out.push_str("<ul class=\"rituals\">\n");
    for (i, item) in p.rituals.iter().enumerate() {
        let r = &item.ritual;
        let s = &item.schedule;
        write!(
            out,
            "<li class=\"card ritual\" data-ritual=\"{}\" data-whose=\"{}\" data-private=\"{}\">\
             <h4><span class=\"mark kept r{}\">{}</span> {}",
            item.id,
            item.whose,
            !item.shared,
            i % 6,
            i + 1,
            Esc(&r.title)
        )?;
        if !item.shared {
            out.push_str("<span class=\"badge private\">private</span>");
        }
        if item.whose != "mine" {
            write!(out, "<span class=\"badge\">{name}'s</span>")?;
        }
        write!(
            out,
            "</h4>\n<p class=\"meta\">{}",
            recurrence_words(r.recurrence)
        )?;
        if let Some(m) = r.minutes {
            write!(out, " · about {m} minutes")?;
        }
        match (&s.state, s.next_due) {
            (RitualState::Unscheduled, _) => out.push_str(" · no schedule this version knows"),
            (RitualState::Retired, _) | (_, None) => out.push_str(" · retired"),
            (RitualState::DueToday, _) => out.push_str(" · due today"),
            (RitualState::Overdue { since, .. }, _) => write!(out, " · due since {since}")?,
            (RitualState::Upcoming { .. }, Some(next)) => write!(out, " · next {next}")?,
        }
        write!(out, " · {}", streak_words(s))?;
        if let Some(last) = s.last_done {
            write!(out, " · last kept {last}")?;
        }
        out.push_str("</p>\n");
        if !r.guidelines.is_empty() {
            out.push_str("<p class=\"key\">");
            for (n, g) in r.guidelines.iter().enumerate() {
                if n > 0 {
                    out.push_str(" · ");
                }
                write!(out, "{}", Esc(g))?;
            }
            out.push_str("</p>\n");
        }
        out.push_str("</li>\n");
    }
    out.push_str("</ul>\n");

    let this_month = p.today.month_start();
    let next_month = p.today.plus_months_start(1);
    let end = next_month.plus_days(u64::from(next_month.days_in_month() - 1));
    let all: Vec<Vec<(Day, Mark)>> = p
        .rituals
        .iter()
        .map(|item| marks(&item.ritual, this_month, end, p.today))
        .collect();
    out.push_str(
        "<h3>Calendar</h3>\n<p class=\"key\"><span class=\"mark kept r5\">#</span> kept · \
         <span class=\"mark planned r5\">#</span> planned · \
         <span class=\"mark open r5\">#</span> due, not marked as kept · numbers as in the list \
         above</p>\n<div class=\"grid2\" id=\"ritual-calendar\">\n",
    );
    for month in [this_month, next_month] {
        calendar_month(out, p, month, &all)?;
    }
    out.push_str("</div>\n</section>\n");
    Ok(())
}

fn calendar_month(
    out: &mut String,
    p: &Report<'_>,
    month: Day,
    marks: &[Vec<(Day, Mark)>],
) -> fmt::Result {
    use chrono::Datelike;
    write!(
        out,
        "<table class=\"month\" data-month=\"{}\"><caption>{}</caption><thead><tr>",
        month.0.format("%Y-%m"),
        month.0.format("%B %Y")
    )?;
    for d in ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] {
        write!(out, "<th scope=\"col\">{d}</th>")?;
    }
    out.push_str("</tr></thead><tbody>\n<tr>");
    let lead = month.0.weekday().num_days_from_monday();
    for _ in 0..lead {
        out.push_str("<td class=\"pad\"></td>");
    }
    let days = month.days_in_month();
    for n in 0..days {
        let day = month.plus_days(u64::from(n));
        let col = (lead + n) % 7;
        if col == 0 && n > 0 {
            out.push_str("</tr>\n<tr>");
        }
        let class = if day == p.today {
            " class=\"today\""
        } else if day < p.today {
            " class=\"past\""
        } else {
            ""
        };
        write!(
            out,
            "<td data-day=\"{day}\"{class}><span class=\"n\">{}</span>",
            n + 1
        )?;
        for (i, (item, list)) in p.rituals.iter().zip(marks).enumerate() {
            if let Some((_, mark)) = list.iter().find(|(d, _)| *d == day) {
                write!(
                    out,
                    "<span class=\"mark {} r{}\" data-ritual=\"{}\" data-state=\"{}\" \
                     title=\"{}: {}\">{}</span>",
                    mark.class(),
                    i % 6,
                    item.id,
                    mark.class(),
                    Esc(&item.ritual.title),
                    mark.words(),
                    i + 1
                )?;
            }
        }
        out.push_str("</td>");
    }
    let trail = (7 - (lead + days) % 7) % 7;
    for _ in 0..trail {
        out.push_str("<td class=\"pad\"></td>");
    }
    out.push_str("</tr>\n</tbody></table>\n");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_both_quotes() {
        let cases = [
            ("plain", "plain"),
            (
                "<script>alert(1)</script>",
                "&lt;script&gt;alert(1)&lt;/script&gt;",
            ),
            ("a & b", "a &amp; b"),
            ("\"quoted\" 'single'", "&quot;quoted&quot; &#39;single&#39;"),
            ("café ☕ <b>", "café ☕ &lt;b&gt;"),
            ("", ""),
        ];
        for (input, want) in cases {
            assert_eq!(Esc(input).to_string(), want, "{input:?}");
        }
    }

    #[test]
    fn the_axis_has_at_most_five_round_steps() {
        let cases = [
            (0, (2, 1)),
            (1, (2, 1)),
            (3, (3, 1)),
            (5, (5, 1)),
            (6, (6, 2)),
            (9, (10, 2)),
            (11, (15, 5)),
            (26, (30, 10)),
            (240, (250, 50)),
        ];
        for (max, want) in cases {
            let got = axis(max);
            assert_eq!(got, want, "max {max}");
            assert!(got.0 >= max && got.0 / got.1 <= 5, "max {max}: {got:?}");
        }
    }
}
