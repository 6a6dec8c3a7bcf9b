//! `tapin show PERSON`: one relationship on one page — my side next to theirs, mutual goals,
//! rituals, check-ins, thanks, boundaries, reciprocity, my red flags (only ever shown to me),
//! staying in touch, and whether their side is verified. The page is the engine's
//! [`RelationshipPage`], the same model the HTML report draws.

use std::io::Write;

use anyhow::Result;
use tapin_app::Home;
use tapin_app::core::views::mutual::Owner;
use tapin_app::core::views::reciprocity::Bucket;
use tapin_app::core::views::touch::TouchState;
use tapin_app::pages::RelationshipPage;
use tapin_app::words::{self, describe_day};

use crate::output::{self, BAD, BOLD, DIM, GOOD, WARN, paint};

pub(crate) fn run(home: &Home, person: &str, json: bool) -> Result<()> {
    let page = home.relationship_page(person)?;
    if json {
        return output::json(&page);
    }
    print(&page)
}

/// ▁▂▃▄▅▆▇█ for a row of counts, scaled to the largest.
fn sparkline(values: &[u32], max: u32) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    values
        .iter()
        .map(|&v| {
            if v == 0 {
                '·'
            } else {
                BARS[((v * 8).div_ceil(max.max(1)) as usize).clamp(1, 8) - 1]
            }
        })
        .collect()
}

fn trend_lines(weeks: &[Bucket]) -> (String, String) {
    let max = weeks
        .iter()
        .map(|b| b.i_reached_out.max(b.they_reached_out))
        .max()
        .unwrap_or(0);
    let mine: Vec<u32> = weeks.iter().map(|b| b.i_reached_out).collect();
    let theirs: Vec<u32> = weeks.iter().map(|b| b.they_reached_out).collect();
    (sparkline(&mine, max), sparkline(&theirs, max))
}

fn print(p: &RelationshipPage) -> Result<()> {
    let mut out = output::stdout();
    let paired = match (p.paired, p.friend.as_deref(), &p.pairing_ended) {
        // What they call themselves, when it is not what I call them.
        (true, Some(f), _) if words::fold(f) != words::fold(&p.name) => {
            format!("paired; they go by {}", output::fit(f, output::NAME_COLUMN))
        }
        (true, _, _) => "paired".to_owned(),
        (false, _, Some(ended)) => ended.clone(),
        (false, _, None) => "not paired".to_owned(),
    };
    writeln!(
        out,
        "{}  {}",
        paint(BOLD, output::fit(&p.name, output::NAME_COLUMN)),
        paint(DIM, paired)
    )?;

    let state = match &p.touch.state {
        TouchState::NoRhythm => paint(DIM, "no rhythm set"),
        TouchState::Fine { due_on, .. } => paint(
            GOOD,
            format!("in touch; next contact due {}", describe_day(*due_on)),
        ),
        TouchState::Due { since, .. } => paint(WARN, format!("due since {}", describe_day(*since))),
        TouchState::Overdue { since, .. } => paint(
            BAD,
            format!("past your longest gap since {}", describe_day(*since)),
        ),
        TouchState::Snoozed { until } => {
            paint(DIM, format!("snoozed until {}", describe_day(*until)))
        }
        TouchState::Inactive { .. } => paint(DIM, "archived or ended"),
    };
    let last = p
        .touch
        .last_contact
        .map_or_else(|| "none logged".to_owned(), describe_day);
    writeln!(out, "\nStaying in touch: last contact {last}; {state}")?;

    writeln!(out, "\n{}", paint(BOLD, "Goals"))?;
    if !p.mutual_goals.is_empty() {
        writeln!(out, "  Mutual")?;
        for m in &p.mutual_goals {
            let (you, them, whose) = match m.owner {
                Owner::Me => (
                    m.owner_progress,
                    m.joiner_progress,
                    format!("your goal, {} took it up", p.name),
                ),
                Owner::Them => (
                    m.joiner_progress,
                    m.owner_progress,
                    format!("{}'s goal, you took it up", p.name),
                ),
            };
            let mut state = vec![words::goal_status(m.status)];
            state.extend(m.by.map(|by| format!("by {by}")));
            if m.is_overdue(p.today) {
                state.push(paint(BAD, "overdue"));
            }
            if m.joiner_achieved.is_some() {
                state.push(match m.owner {
                    Owner::Me => "their part achieved".to_owned(),
                    Owner::Them => "your part achieved".to_owned(),
                });
            }
            writeln!(
                out,
                "    {} {} [{}] — {whose}; you {}, {} {}",
                paint(DIM, m.goal_id.short()),
                m.title,
                state.join(", "),
                steps_done(you.done, you.total),
                p.name,
                steps_done(them.done, them.total)
            )?;
        }
    }
    writeln!(out, "  Yours")?;
    if p.my_goals.is_empty() {
        writeln!(out, "    {}", paint(DIM, "none yet"))?;
    }
    for g in &p.my_goals {
        let (d, t) = g.goal.progress();
        let private = if g.shared {
            String::new()
        } else {
            paint(DIM, " (private)")
        };
        let overdue = if g.goal.is_overdue(p.today) {
            format!(", {}", paint(BAD, "overdue"))
        } else {
            String::new()
        };
        writeln!(
            out,
            "    {} {} [{}, {}{overdue}]{private}",
            paint(DIM, g.id.short()),
            g.goal.title,
            words::goal_status(g.goal.status),
            steps_done(d, t)
        )?;
    }
    writeln!(out, "  Theirs")?;
    if p.their_goals.is_empty() {
        writeln!(out, "    {}", paint(DIM, "none shared with you yet"))?;
    }
    for g in &p.their_goals {
        let (d, t) = g.goal.progress();
        writeln!(
            out,
            "    {} {} [{}, {}]",
            paint(DIM, g.id.short()),
            g.goal.title,
            words::goal_status(g.goal.status),
            steps_done(d, t)
        )?;
    }

    if !p.rituals.is_empty() {
        writeln!(out, "\n{}", paint(BOLD, "Rituals"))?;
        for r in &p.rituals {
            let next = r.schedule.next_due.map_or_else(
                || "retired".to_owned(),
                |d| format!("next {}", describe_day(d)),
            );
            let recent: Vec<String> = r.recent.iter().map(ToString::to_string).collect();
            writeln!(
                out,
                "  {} ({}) — {next}, {}{}",
                r.title,
                r.whose,
                words::streak(&r.schedule),
                if recent.is_empty() {
                    String::new()
                } else {
                    format!("; last {}", recent.join(", "))
                }
            )?;
        }
    }
    if !p.checkins.is_empty() {
        writeln!(out, "\n{}", paint(BOLD, "Check-ins"))?;
        for c in &p.checkins {
            let ci = &c.checkin;
            writeln!(
                out,
                "  {} ({}) {}/5 {}",
                ci.on, c.whose, ci.rating, ci.went_well
            )?;
        }
    }
    if !p.thanks.is_empty() {
        writeln!(out, "\n{}", paint(BOLD, "Thanks"))?;
        for t in &p.thanks {
            let arrow = if t.direction == "given" {
                "you →"
            } else {
                "→ you"
            };
            writeln!(out, "  {} {arrow} {}", t.on, t.text)?;
        }
    }
    if !p.boundaries.is_empty() {
        writeln!(out, "\n{}", paint(BOLD, "Boundaries"))?;
        for b in &p.boundaries {
            writeln!(out, "  ({}) {}", b.whose, b.text)?;
        }
    }

    let r = &p.reciprocity;
    writeln!(out, "\n{}", paint(BOLD, "Reciprocity"))?;
    for w in &r.windows {
        let n = |n: u32| n as usize;
        // "reached out: you once, they never": a count of zero reads as a word too.
        let times = |n: u32| match n {
            0 => "never".to_owned(),
            n => words::times(n as usize),
        };
        writeln!(
            out,
            "  {:>3} days: reached out: you {}, they {}; thanks: {} given, {} received; {}",
            w.days,
            times(w.i_reached_out),
            times(w.they_reached_out),
            w.thanks_given,
            w.thanks_received,
            words::plural(n(w.checkins), "check-in")
        )?;
    }
    let (you, them) = trend_lines(&r.trend.weeks);
    writeln!(out, "  last 12 weeks  you  {you}")?;
    writeln!(out, "                 them {them}")?;
    writeln!(out, "  {}", r.words)?;
    if !r.their_side_synced && p.paired {
        writeln!(
            out,
            "  {}",
            paint(
                DIM,
                "(their side has not synced yet: this is from your logs alone)"
            )
        )?;
    }

    if let Some(at) = p.red_flags.last_reflected {
        writeln!(
            out,
            "\n{} {}",
            paint(BOLD, "Your last reflection"),
            paint(
                DIM,
                format!("({}, only you see this)", words::local_minute(at))
            )
        )?;
        if p.red_flags.flags.is_empty() {
            writeln!(out, "  no red flags")?;
        }
        for f in &p.red_flags.flags {
            writeln!(
                out,
                "  {} {}A: \"{}\" — {}",
                paint(WARN, "red flag"),
                f.question,
                f.answer,
                f.why
            )?;
        }
    }

    let line = match (&p.their_side, p.paired) {
        (v, _) if v.verified => paint(
            GOOD,
            format!(
                "verified: signed by their device {}, as of {}",
                v.device
                    .as_deref()
                    .map_or_else(|| "?".to_owned(), |d| d.chars().take(8).collect()),
                v.as_of.map(words::local_minute).unwrap_or_default()
            ),
        ),
        (v, true) if v.device.is_some() => paint(
            WARN,
            "not verified: what is here does not match what their device signed",
        ),
        (_, true) => paint(DIM, "not synced yet"),
        (v, false) if v.device.is_some() => paint(
            WARN,
            "not verified: what is here does not match what their device signed",
        ),
        // Never paired: the first line says so already, and there is no side of theirs to
        // speak of.
        (_, false) => String::new(),
    };
    if p.pairing_ended.is_some() && p.their_side.device.is_some() {
        writeln!(
            out,
            "\nTheir side, as it was when the pairing ended, is {line}"
        )?;
    } else if p.pairing_ended.is_some() {
        writeln!(
            out,
            "\nTheir side: {}",
            paint(DIM, "nothing of theirs synced while you were paired")
        )?;
    } else if !line.is_empty() {
        writeln!(out, "\nTheir side is {line}")?;
    }
    if let Some(last) = p.last_exchange.filter(|l| l.relayed()) {
        writeln!(out, "{}", paint(DIM, words::relayed_last(last.at)))?;
        writeln!(out, "{}", paint(DIM, words::RELAY_SEES))?;
    }
    for line in p.unreadable.lines() {
        writeln!(out, "{}", paint(WARN, line))?;
    }
    Ok(())
}

/// Steps done as a short count in a goal's line, "1/2", or "no steps" when there are none (a
/// "0/0" reads as a fraction of nothing).
fn steps_done(done: usize, total: usize) -> String {
    if total == 0 {
        "no steps".to_owned()
    } else {
        format!("{done}/{total}")
    }
}
