//! Records about one relationship: check-ins, interactions, thanks and boundaries.

use anyhow::Result;
use tapin_app::Home;
use tapin_app::core::model::Initiator;
use tapin_app::notes::{self as engine, NewCheckIn, NewInteraction, NewNote, Noted};
use tapin_app::words::{self, describe_day};

use crate::args::{CheckinArgs, GoalStatusArg, LogArgs, NoteArgs};
use crate::commands::{malformed, saved};
use crate::output::{BOLD, paint};

fn said<T: serde::Serialize>(json: bool, noted: &Noted<T>, text: String) -> Result<()> {
    saved(json, noted, text)
}

pub(crate) fn checkin(home: &Home, args: CheckinArgs, json: bool) -> Result<()> {
    let principles = args
        .principles
        .iter()
        .map(|p| engine::parse_principle(p))
        .collect::<Result<Vec<_>, _>>()?;
    let mut reviews = Vec::new();
    for review in &args.reviews {
        let Some((goal, st)) = review.split_once('=') else {
            return Err(malformed(format!(
                "--review {review:?} should look like GOAL=STATUS, e.g. 3fa2=achieved"
            )));
        };
        let st: GoalStatusArg = clap::ValueEnum::from_str(st.trim(), true).map_err(|_| {
            malformed(format!(
                "--review {review:?}: status must be active, achieved, adjusted or dropped"
            ))
        })?;
        reviews.push((goal.to_owned(), st.into()));
    }
    let new = NewCheckIn {
        person: args.person,
        on: args.on,
        rating: args.rating,
        went_well: args.went_well,
        to_change: args.to_change,
        reviews,
        principles,
        share: args.share,
    };
    let noted = home.check_in(&new)?;
    let record = &noted.record;
    let reviewed: Vec<String> = record
        .reviewed
        .iter()
        .map(|(title, status)| format!("{title}: {}", words::goal_status(*status)))
        .collect();
    let reviewed = if reviewed.is_empty() {
        String::new()
    } else {
        format!(" Reviewed {}.", reviewed.join("; "))
    };
    let text = format!(
        "Check-in with {} on {}, rated {}/5, {}.{reviewed}",
        paint(BOLD, &noted.person),
        describe_day(record.checkin.on),
        record.checkin.rating,
        words::shared(noted.shared)
    );
    said(json, &noted, text)
}

pub(crate) fn log(home: &Home, args: LogArgs, json: bool) -> Result<()> {
    let new = NewInteraction {
        person: args.person,
        on: args.on,
        by: args.by.into(),
        via: args.via.into(),
        reason: args.reason.into(),
        note: args.note,
        private: args.private,
    };
    let noted = home.log_interaction(&new)?;
    let i = &noted.record.interaction;
    // A command only ever writes the two it knows.
    let name = paint(BOLD, &noted.person);
    let who = match i.by {
        Initiator::Me => format!("You reached out to {name}"),
        Initiator::Them | Initiator::Unknown(_) => format!("{name} reached out"),
    };
    let how = words::how(i.via, i.reason);
    let how = if how.is_empty() {
        String::new()
    } else {
        format!(" ({how})")
    };
    let text = format!(
        "{who}{how} on {}; {}.",
        describe_day(i.on),
        words::shared(noted.shared)
    );
    said(json, &noted, text)
}

fn note(args: NoteArgs) -> NewNote {
    NewNote {
        on: args.on,
        person: args.person,
        text: args.text,
        private: args.private,
    }
}

pub(crate) fn thanks(home: &Home, args: NoteArgs, json: bool) -> Result<()> {
    let noted = home.thank(&note(args))?;
    let text = format!(
        "Thanks to {} on {}; {}.",
        paint(BOLD, &noted.person),
        describe_day(noted.record.thanks.on),
        words::shared(noted.shared)
    );
    said(json, &noted, text)
}

pub(crate) fn boundary(home: &Home, args: NoteArgs, json: bool) -> Result<()> {
    let noted = home.add_boundary(&note(args))?;
    let on = noted
        .record
        .boundary
        .on
        .map(|d| format!(" on {}", describe_day(d)))
        .unwrap_or_default();
    let text = format!(
        "Boundary with {} noted{on} ({}).",
        paint(BOLD, &noted.person),
        words::shared(noted.shared)
    );
    said(json, &noted, text)
}
