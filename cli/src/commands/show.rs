//! `tapin show PERSON`: one relationship on one page — my side next to theirs, mutual goals,
//! rituals, check-ins, thanks, boundaries, reciprocity, my red flags (only ever shown to me),
//! staying in touch, and whether their side is verified.
//!
//! Everything here is derived by `tapin_core::views` from my documents and my replica of their
//! shared side; nothing private of theirs exists on this device to be shown.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;
use tapin_core::DocId;
use tapin_core::model::{Goal, Relationship, SideRecords};
use tapin_core::views::mutual::{MutualGoal, Owner, mutual_goals};
use tapin_core::views::reciprocity::{Bucket, Reciprocity, reciprocity};
use tapin_core::views::reflection::{RedFlag, latest_reflection, red_flags};
use tapin_core::views::ritual::{RitualSchedule, schedule};
use tapin_core::views::touch::{self, Touch, TouchState};
use tapin_net::sync::StoredHeads;
use tapin_store::MetaKey;

use crate::app::{App, Unreadable};
use crate::commands::goal::status_word;
use crate::commands::ritual::streak_words;
use crate::output::{self, BAD, BOLD, DIM, GOOD, WARN, paint};

/// Whether the friend's side is what their devices signed.
#[derive(Debug, Serialize)]
pub(crate) struct Verification {
    /// Whether the replica holds exactly what one of their certified devices signed.
    pub(crate) verified: bool,
    /// The signing device.
    pub(crate) device: Option<String>,
    /// When the signed heads arrived (ms since the epoch): "as of when it was last synced".
    pub(crate) as_of: Option<i64>,
}

#[derive(Serialize)]
struct GoalRow<'a> {
    id: tapin_core::Id,
    shared: bool,
    #[serde(flatten)]
    goal: &'a Goal,
}

#[derive(Serialize)]
struct RitualRow<'a> {
    id: tapin_core::Id,
    whose: &'static str,
    shared: bool,
    title: &'a str,
    schedule: RitualSchedule,
    recent: Vec<tapin_core::time::Day>,
}

#[derive(Serialize)]
struct RedFlags {
    last_reflected: Option<i64>,
    flags: Vec<RedFlag>,
}

/// The whole page, as `--json` prints it (schema in docs/JSON.md).
#[derive(Serialize)]
struct Page<'a> {
    relationship: String,
    name: &'a str,
    paired: bool,
    friend: Option<&'a str>,
    touch: Touch,
    my_goals: Vec<GoalRow<'a>>,
    their_goals: Vec<GoalRow<'a>>,
    mutual_goals: Vec<MutualGoal>,
    rituals: Vec<RitualRow<'a>>,
    checkins: Vec<serde_json::Value>,
    thanks: Vec<serde_json::Value>,
    boundaries: Vec<serde_json::Value>,
    reciprocity: Reciprocity,
    red_flags: RedFlags,
    their_side: Verification,
    unreadable: Unreadable,
}

/// Whether the replica of `rel`'s friend side is verified, and as of when.
pub(crate) fn verification(
    app: &App,
    rel_id: tapin_core::Id,
    rel: &Relationship,
) -> Result<Verification> {
    let replica_doc = app.store.load(&DocId::Replica(rel_id))?;
    let stored: Option<StoredHeads> = app
        .store
        .get_meta(MetaKey::ReplicaHeads(rel_id))?
        .and_then(|b| serde_json::from_slice(&b).ok());
    Ok(Verification {
        verified: match (&stored, &replica_doc) {
            (Some(s), Some(d)) => {
                s.signed.verify(d) && rel.paired_devices().any(|(dev, _)| dev == s.signed.device)
            }
            _ => false,
        },
        device: stored.as_ref().map(|s| s.signed.device.clone()),
        as_of: stored.as_ref().map(|s| s.at),
    })
}

/// ▁▂▃▄▅▆▇█ for a row of counts, scaled to the largest.
pub(crate) fn sparkline(values: &[u32], max: u32) -> String {
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

fn stamp_day(ms: i64) -> String {
    tapin_core::time::Timestamp(ms)
        .to_datetime()
        .with_timezone(&chrono::Local)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

pub(crate) fn run(app: &App, person: &str, json: bool) -> Result<()> {
    let private = app.private()?;
    let both = crate::app::BothSides::load(app, &private, person)?;
    let (id, rel) = (both.id, &both.rel);
    let (shared, kept, replica) = (&both.shared, &both.kept, &both.replica);
    let theirs: Option<&SideRecords> = both.theirs();
    let today = app.today();

    let last = both.last_contact();
    let touch = touch::touch_status(rel, last, today, &chrono::Local);

    let mut my_goals: Vec<GoalRow<'_>> = shared
        .goals
        .iter()
        .map(|(id, g)| GoalRow {
            id: *id,
            shared: true,
            goal: g,
        })
        .chain(kept.goals.iter().map(|(id, g)| GoalRow {
            id: *id,
            shared: false,
            goal: g,
        }))
        .collect();
    my_goals.sort_by_key(|r| (!r.goal.status.is_open(), r.goal.created));
    let mut their_goals: Vec<GoalRow<'_>> = replica
        .goals
        .iter()
        .map(|(id, g)| GoalRow {
            id: *id,
            shared: true,
            goal: g,
        })
        .collect();
    their_goals.sort_by_key(|r| (!r.goal.status.is_open(), r.goal.created));
    let mutual = mutual_goals(shared, kept, theirs);

    let mut rituals = Vec::new();
    for (whose, recs, is_shared) in [
        ("mine", &shared, true),
        ("mine", &kept, false),
        ("theirs", &replica, true),
    ] {
        for (rid, r) in &recs.rituals {
            let mut recent = r.occurrences.clone();
            recent.sort();
            recent.reverse();
            recent.truncate(3);
            rituals.push(RitualRow {
                id: *rid,
                whose,
                shared: is_shared,
                title: &r.title,
                schedule: schedule(r, today),
                recent,
            });
        }
    }

    let mut checkins = Vec::new();
    for (whose, recs, is_shared) in [
        ("mine", &shared, true),
        ("mine", &kept, false),
        ("theirs", &replica, true),
    ] {
        for c in recs.checkins.values() {
            checkins.push((
                c.on,
                serde_json::json!({ "whose": whose, "shared": is_shared, "checkin": c }),
            ));
        }
    }
    checkins.sort_by_key(|c| std::cmp::Reverse(c.0));
    let checkins: Vec<serde_json::Value> = checkins.into_iter().take(5).map(|(_, v)| v).collect();

    let mut thanks = Vec::new();
    for (direction, recs) in [("given", &shared), ("given", &kept), ("received", &replica)] {
        for t in recs.thanks.values() {
            thanks.push((
                t.on,
                serde_json::json!({ "direction": direction, "on": t.on, "text": t.text }),
            ));
        }
    }
    thanks.sort_by_key(|t| std::cmp::Reverse(t.0));
    let thanks: Vec<serde_json::Value> = thanks.into_iter().take(6).map(|(_, v)| v).collect();

    let boundaries: Vec<serde_json::Value> =
        [("mine", &shared), ("mine", &kept), ("theirs", &replica)]
            .iter()
            .flat_map(|(whose, recs)| {
                recs.boundaries
                    .values()
                    .map(move |b| serde_json::json!({ "whose": whose, "text": b.text }))
            })
            .collect();

    let recip = reciprocity(&[shared, kept], theirs, today);
    let latest = latest_reflection(private.reflections.iter().map(|(k, r)| (*k, r)), id);
    let flags = RedFlags {
        last_reflected: latest.map(|(_, r)| r.at.0),
        flags: latest.map(|(_, r)| red_flags(r)).unwrap_or_default(),
    };
    let their_side = verification(app, id, rel)?;
    let unreadable = both.unreadable();

    let page = Page {
        relationship: id.to_string(),
        name: &rel.name,
        paired: rel.is_paired(),
        friend: rel.peer.as_ref().map(|p| p.name.as_str()),
        touch,
        my_goals,
        their_goals,
        mutual_goals: mutual,
        rituals,
        checkins,
        thanks,
        boundaries,
        reciprocity: recip,
        red_flags: flags,
        their_side,
        unreadable,
    };
    if json {
        return output::json(&page);
    }
    print(&page)
}

fn print(p: &Page<'_>) -> Result<()> {
    let mut out = output::stdout();
    let paired = match (p.paired, p.friend) {
        (true, Some(f)) => format!("paired with {f}"),
        _ => "not paired".to_owned(),
    };
    writeln!(out, "{}  {}", paint(BOLD, p.name), paint(DIM, paired))?;

    let state = match &p.touch.state {
        TouchState::NoRhythm => paint(DIM, "no rhythm set"),
        TouchState::Fine { due_on, .. } => {
            paint(GOOD, format!("in touch; next contact due {due_on}"))
        }
        TouchState::Due { since, .. } => paint(WARN, format!("due since {since}")),
        TouchState::Overdue { since, .. } => {
            paint(BAD, format!("past your longest gap since {since}"))
        }
        TouchState::Snoozed { until } => paint(DIM, format!("snoozed until {until}")),
        TouchState::Inactive { .. } => paint(DIM, "archived or ended"),
    };
    let last = p
        .touch
        .last_contact
        .map_or_else(|| "none logged".to_owned(), |d| d.to_string());
    writeln!(out, "\nStaying in touch: last contact {last}; {state}")?;

    writeln!(out, "\n{}", paint(BOLD, "Goals"))?;
    if !p.mutual_goals.is_empty() {
        writeln!(out, "  Mutual")?;
        for m in &p.mutual_goals {
            let (you, them) = match m.owner {
                Owner::Me => (m.owner_progress, m.joiner_progress),
                Owner::Them => (m.joiner_progress, m.owner_progress),
            };
            writeln!(
                out,
                "    {} [{}] — you {}/{}, them {}/{}",
                m.title,
                status_word(m.status),
                you.done,
                you.total,
                them.done,
                them.total
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
        writeln!(
            out,
            "    {} {} [{}, {d}/{t}]{private}",
            paint(DIM, g.id.short()),
            g.goal.title,
            status_word(g.goal.status)
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
            "    {} {} [{}, {d}/{t}]",
            paint(DIM, g.id.short()),
            g.goal.title,
            status_word(g.goal.status)
        )?;
    }

    if !p.rituals.is_empty() {
        writeln!(out, "\n{}", paint(BOLD, "Rituals"))?;
        for r in &p.rituals {
            let next = r
                .schedule
                .next_due
                .map_or_else(|| "retired".to_owned(), |d| format!("next {d}"));
            let recent: Vec<String> = r.recent.iter().map(ToString::to_string).collect();
            writeln!(
                out,
                "  {} ({}) — {next}, streak {}{}",
                r.title,
                r.whose,
                streak_words(&r.schedule),
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
            let ci = &c["checkin"];
            writeln!(
                out,
                "  {} ({}) {}/5 {}",
                ci["on"].as_str().unwrap_or(""),
                c["whose"].as_str().unwrap_or(""),
                ci["rating"],
                ci["went_well"].as_str().unwrap_or("")
            )?;
        }
    }
    if !p.thanks.is_empty() {
        writeln!(out, "\n{}", paint(BOLD, "Thanks"))?;
        for t in &p.thanks {
            let arrow = if t["direction"] == "given" {
                "you →"
            } else {
                "→ you"
            };
            writeln!(
                out,
                "  {} {arrow} {}",
                t["on"].as_str().unwrap_or(""),
                t["text"].as_str().unwrap_or("")
            )?;
        }
    }
    if !p.boundaries.is_empty() {
        writeln!(out, "\n{}", paint(BOLD, "Boundaries"))?;
        for b in &p.boundaries {
            writeln!(
                out,
                "  ({}) {}",
                b["whose"].as_str().unwrap_or(""),
                b["text"].as_str().unwrap_or("")
            )?;
        }
    }

    let r = &p.reciprocity;
    writeln!(out, "\n{}", paint(BOLD, "Reciprocity"))?;
    for w in &r.windows {
        writeln!(
            out,
            "  {:>3} days: you reached out {}, they reached out {}; thanks {} given, {} received; {} check-in(s)",
            w.days,
            w.i_reached_out,
            w.they_reached_out,
            w.thanks_given,
            w.thanks_received,
            w.checkins
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
            paint(DIM, format!("({}, only you see this)", stamp_day(at)))
        )?;
        if p.red_flags.flags.is_empty() {
            writeln!(out, "  no red flags")?;
        }
        for f in &p.red_flags.flags {
            writeln!(
                out,
                "  {} {}A: {:?} — {}",
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
                v.as_of.map(stamp_day).unwrap_or_default()
            ),
        ),
        (v, true) if v.device.is_some() => paint(
            WARN,
            "not verified: what is here does not match what their device signed",
        ),
        (_, true) => paint(DIM, "not synced yet"),
        (_, false) => paint(DIM, "not paired"),
    };
    writeln!(out, "\nTheir side is {line}")?;
    for line in p.unreadable.lines() {
        writeln!(out, "{}", paint(WARN, line))?;
    }
    Ok(())
}
