//! Records about one relationship: check-ins, interactions, thanks and boundaries.

use anyhow::{Result, bail};
use tapin_core::Id;
use tapin_core::docs::{self, Collection, Place};
use tapin_core::model::{
    Boundary, Channel, CheckIn, Goal, GoalReview, Initiator, Interaction, Principle, Reason, Thanks,
};

use crate::app::{self, App, all_records, find_record};
use crate::args::{
    ChannelArg, CheckinArgs, GoalStatusArg, InitiatorArg, LogArgs, NoteArgs, ReasonArg,
};
use crate::commands::goal::{status, status_word};
use crate::commands::saved;
use crate::dates::{day_or_today, describe};
use crate::output::{BOLD, paint};

fn shared_word(place: Place) -> &'static str {
    if place.is_shared() {
        "shared with them"
    } else {
        "private"
    }
}

/// Writes one new record of `rel` into `place` and returns its id.
fn write_new<R: docs::Reconcile + tapin_core::validate::Validate>(
    app: &App,
    place: Place,
    collection: Collection,
    what: &str,
    value: &R,
) -> Result<Id> {
    let value = app::checked(what, value)?;
    let id = app::random_id()?;
    app.update(place.doc(), |d| {
        Ok(docs::put_record(d, place, collection, id, value)?)
    })?;
    Ok(id)
}

pub(crate) fn parse_principle(s: &str) -> Result<Principle> {
    let wanted = s.trim().to_lowercase().replace([' ', '_'], "-");
    Principle::KNOWN
        .iter()
        .copied()
        .find(|p| p.json_name() == wanted)
        .ok_or_else(|| {
            let names: Vec<String> = Principle::KNOWN.iter().map(Principle::json_name).collect();
            anyhow::anyhow!("unknown principle {s:?}; choose from {}", names.join(", "))
        })
}

pub(crate) fn checkin(app: &App, args: CheckinArgs, json: bool) -> Result<()> {
    let private = app.private()?;
    let (rel_id, rel) = app.find_person(&private, &args.person)?;
    let on = day_or_today(args.on.as_deref(), app.now, app.today())?;
    let principles = args
        .principles
        .iter()
        .map(|p| parse_principle(p))
        .collect::<Result<Vec<_>>>()?;
    // Resolve every review before writing anything: a bad one fails the whole check-in.
    let places = all_records(app, &private)?;
    let mut reviews = Vec::new();
    let mut goal_places = Vec::new();
    for review in &args.reviews {
        let Some((goal, st)) = review.split_once('=') else {
            bail!("--review {review:?} should look like GOAL=STATUS, e.g. 3fa2=achieved");
        };
        let st: GoalStatusArg = clap::ValueEnum::from_str(st.trim(), true).map_err(|_| {
            anyhow::anyhow!(
                "--review {review:?}: status must be active, achieved, adjusted or dropped"
            )
        })?;
        let (place, goal_id, g) = find_record(&places, goal.trim(), "goal", |r| &r.goals)?;
        if place.relationship() != rel_id {
            bail!(
                "--review {review:?}: goal {:?} belongs to another relationship",
                g.title
            );
        }
        reviews.push(GoalReview {
            goal: goal_id,
            status: status(st),
            note: String::new(),
        });
        goal_places.push((place, goal_id));
    }
    let record = CheckIn {
        on,
        rating: args.rating,
        went_well: args.went_well,
        to_change: args.to_change,
        reviews,
        principles,
        created: app.stamp(),
    };
    let place = Place::choose(rel_id, args.share);
    let id = write_new(app, place, Collection::CheckIns, "check-in", &record)?;
    let updated = app.stamp();
    let mut reviewed = Vec::new();
    for ((goal_place, goal_id), review) in goal_places.iter().zip(&record.reviews) {
        let title = app.update(goal_place.doc(), |d| {
            let mut g: Goal = docs::get_record(d, *goal_place, Collection::Goals, *goal_id)?
                .ok_or_else(|| anyhow::anyhow!("goal {goal_id} was removed meanwhile"))?;
            g.status = review.status;
            g.updated = updated;
            docs::put_record(d, *goal_place, Collection::Goals, *goal_id, &g)?;
            Ok(g.title)
        })?;
        reviewed.push(format!("{title}: {}", status_word(review.status)));
    }
    let reviewed = if reviewed.is_empty() {
        String::new()
    } else {
        format!(" Reviewed {}.", reviewed.join("; "))
    };
    saved(
        json,
        id,
        format!(
            "Check-in with {} on {}, rated {}/5, {}.{reviewed}",
            paint(BOLD, &rel.name),
            describe(on),
            record.rating,
            shared_word(place)
        ),
        serde_json::json!({ "relationship": rel_id.to_string(), "shared": place.is_shared(), "checkin": record }),
    )
}

pub(crate) fn log(app: &App, args: LogArgs, json: bool) -> Result<()> {
    let private = app.private()?;
    let (rel_id, rel) = app.find_person(&private, &args.person)?;
    let on = day_or_today(args.on.as_deref(), app.now, app.today())?;
    if on > app.today() {
        bail!(
            "{} is in the future; log interactions that happened",
            describe(on)
        );
    }
    let record = Interaction {
        on,
        by: match args.by {
            InitiatorArg::Me => Initiator::Me,
            InitiatorArg::Them => Initiator::Them,
        },
        via: match args.via {
            ChannelArg::Call => Channel::Call,
            ChannelArg::Video => Channel::Video,
            ChannelArg::Text => Channel::Text,
            ChannelArg::InPerson => Channel::InPerson,
            ChannelArg::Letter => Channel::Letter,
            ChannelArg::Other => Channel::Other,
        },
        reason: match args.reason {
            ReasonArg::JustBecause => Reason::JustBecause,
            ReasonArg::Support => Reason::Support,
            ReasonArg::Plan => Reason::Plan,
            ReasonArg::Celebration => Reason::Celebration,
            ReasonArg::Other => Reason::Other,
        },
        note: args.note,
        created: app.stamp(),
    };
    let place = Place::choose(rel_id, !args.private);
    let id = write_new(app, place, Collection::Interactions, "note", &record)?;
    // A command only ever writes the two it knows.
    let who = match record.by {
        Initiator::Me => "You reached out to",
        Initiator::Them | Initiator::Unknown(_) => "They reached out:",
    };
    saved(
        json,
        id,
        format!(
            "{who} {} on {} ({}).",
            paint(BOLD, &rel.name),
            describe(on),
            shared_word(place)
        ),
        serde_json::json!({ "relationship": rel_id.to_string(), "shared": place.is_shared(), "interaction": record }),
    )
}

fn note_text(args: &NoteArgs) -> Result<String> {
    let text = args.text.trim();
    if text.is_empty() {
        bail!("the note is empty");
    }
    Ok(text.to_owned())
}

pub(crate) fn thanks(app: &App, args: NoteArgs, json: bool) -> Result<()> {
    let private = app.private()?;
    let (rel_id, rel) = app.find_person(&private, &args.person)?;
    let on = day_or_today(args.on.as_deref(), app.now, app.today())?;
    let record = Thanks {
        on,
        text: note_text(&args)?,
        created: app.stamp(),
    };
    let place = Place::choose(rel_id, !args.private);
    let id = write_new(app, place, Collection::Thanks, "thank-you note", &record)?;
    saved(
        json,
        id,
        format!(
            "Thanks to {} on {} ({}).",
            paint(BOLD, &rel.name),
            describe(on),
            shared_word(place)
        ),
        serde_json::json!({ "relationship": rel_id.to_string(), "shared": place.is_shared(), "thanks": record }),
    )
}

pub(crate) fn boundary(app: &App, args: NoteArgs, json: bool) -> Result<()> {
    let private = app.private()?;
    let (rel_id, rel) = app.find_person(&private, &args.person)?;
    let record = Boundary {
        text: note_text(&args)?,
        created: app.stamp(),
    };
    let place = Place::choose(rel_id, !args.private);
    let id = write_new(app, place, Collection::Boundaries, "boundary", &record)?;
    saved(
        json,
        id,
        format!(
            "Boundary with {} noted ({}).",
            paint(BOLD, &rel.name),
            shared_word(place)
        ),
        serde_json::json!({ "relationship": rel_id.to_string(), "shared": place.is_shared(), "boundary": record }),
    )
}
