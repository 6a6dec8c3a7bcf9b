//! `tapin show PERSON`: one relationship, my side next to what they shared.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;
use tapin_core::DocId;
use tapin_core::docs;
use tapin_core::model::SideRecords;
use tapin_net::sync::{StoredHeads, heads_key};

use crate::app::App;
use crate::commands::goal::status_word;
use crate::output::{self, BOLD, DIM, GOOD, WARN, paint};

#[derive(Serialize)]
struct Verification {
    /// Whether the replica holds exactly what the friend's device signed.
    verified: bool,
    /// The signing device.
    device: Option<String>,
    /// When the signed heads arrived (ms since the epoch).
    as_of: Option<i64>,
}

fn summary(out: &mut impl Write, recs: &SideRecords) -> Result<()> {
    let mut goals: Vec<_> = recs.goals.values().collect();
    goals.sort_by_key(|g| g.created);
    for g in goals {
        let (d, t) = g.progress();
        writeln!(
            out,
            "    goal {} [{}, {d}/{t}]",
            g.title,
            status_word(g.status)
        )?;
    }
    let mut checkins: Vec<_> = recs.checkins.values().collect();
    checkins.sort_by_key(|c| std::cmp::Reverse(c.on));
    for c in checkins.iter().take(3) {
        writeln!(
            out,
            "    check-in {} rated {}/5 {}",
            c.on, c.rating, c.went_well
        )?;
    }
    for t in recs.thanks.values() {
        writeln!(out, "    thanks {}: {}", t.on, t.text)?;
    }
    for b in recs.boundaries.values() {
        writeln!(out, "    boundary: {}", b.text)?;
    }
    for r in recs.rituals.values() {
        writeln!(
            out,
            "    ritual {} (kept {} times)",
            r.title,
            r.occurrences.len()
        )?;
    }
    if recs.is_empty() {
        writeln!(out, "    {}", paint(DIM, "nothing yet"))?;
    }
    Ok(())
}

pub(crate) fn run(app: &App, person: &str, json: bool) -> Result<()> {
    let private = app.private()?;
    let (id, rel) = app.find_person(&private, person)?;
    let mine = app.side(id)?;
    let kept = private
        .records
        .get(&id.to_string())
        .cloned()
        .unwrap_or_default();
    let replica_doc = app.store.load(&DocId::Replica(id))?;
    let theirs = match &replica_doc {
        Some(d) => docs::read_replica(d, id)?,
        None => SideRecords::default(),
    };
    let stored: Option<StoredHeads> = app
        .store
        .get_meta(&heads_key(id))?
        .and_then(|b| serde_json::from_slice(&b).ok());
    let verification = Verification {
        verified: match (&stored, &replica_doc) {
            (Some(s), Some(d)) => {
                s.signed.verify(d) && rel.paired_devices().any(|(dev, _)| dev == s.signed.device)
            }
            _ => false,
        },
        device: stored.as_ref().map(|s| s.signed.device.clone()),
        as_of: stored.as_ref().map(|s| s.at),
    };
    if json {
        return output::json(&serde_json::json!({
            "relationship": id.to_string(), "name": rel.name, "paired": rel.is_paired(),
            "mine": { "shared": mine, "private": kept }, "theirs": theirs, "their_side": verification,
        }));
    }
    let mut out = output::stdout();
    writeln!(out, "{}", paint(BOLD, &rel.name))?;
    writeln!(out, "  Your side, shared with them:")?;
    summary(&mut out, &mine)?;
    writeln!(out, "  Your side, private:")?;
    summary(&mut out, &kept)?;
    writeln!(out, "  Their side, as they shared it:")?;
    summary(&mut out, &theirs)?;
    let line = match (&verification, &stored) {
        (v, Some(s)) if v.verified => paint(
            GOOD,
            format!(
                "verified: signed by their device {}, as of {}",
                &s.signed.device[..8],
                tapin_core::time::Timestamp(s.at)
                    .to_datetime()
                    .with_timezone(&chrono::Local)
                    .format("%Y-%m-%d %H:%M")
            ),
        ),
        (_, Some(_)) => paint(
            WARN,
            "not verified: what is here does not match what their device signed",
        ),
        (_, None) if rel.is_paired() => paint(DIM, "not synced yet"),
        _ => paint(DIM, "not paired"),
    };
    writeln!(out, "  Their side is {line}")?;
    Ok(())
}
