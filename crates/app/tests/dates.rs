//! The date rule as any front-end gets it: each use case that takes a date is given the text the
//! person typed, and reads it the way its record means it (issue 13).

use tapin_app::core::model::{Channel, GoalKind, GoalStatus, Initiator, Reason, Recurrence};
use tapin_app::core::time::Day;
use tapin_app::goals::{GoalChange, NewGoal};
use tapin_app::notes::{NewCheckIn, NewInteraction, NewNote};
use tapin_app::people::PersonSettings;
use tapin_app::rituals::NewRitual;
use tapin_app::{Error, Home};

mod common;

/// Maya's home ([`common::home`]) with Jordan.
fn home() -> (tempfile::TempDir, Home) {
    let (dir, home) = common::home();
    home.add_person("Jordan", &PersonSettings::default())
        .expect("added");
    (dir, home)
}

fn day(s: &str) -> Day {
    s.parse().expect("a day")
}

/// Each record of something that happened, written on the day `on` says: the day it stored.
fn happened(home: &Home, on: &str) -> Vec<Result<Day, Error>> {
    let on = Some(on.to_owned());
    let note = |text: &str| NewNote {
        person: "Jordan".into(),
        text: text.into(),
        on: on.clone(),
        private: false,
    };
    let ritual = home
        .add_ritual(&NewRitual {
            person: "Jordan".into(),
            title: "Walk".into(),
            recurrence: Recurrence::EveryDays { days: 1 },
            minutes: None,
            guidelines: Vec::new(),
            start: Some("2026-01-01".into()),
            share: false,
        })
        .expect("ritual")
        .id
        .to_string();
    vec![
        home.log_interaction(&NewInteraction {
            person: "Jordan".into(),
            on: on.clone(),
            by: Initiator::Me,
            via: Channel::Call,
            reason: Reason::JustBecause,
            note: String::new(),
            private: false,
        })
        .map(|n| n.record.interaction.on),
        home.thank(&note("Thanks")).map(|n| n.record.thanks.on),
        home.add_boundary(&note("No calls after ten"))
            .map(|n| n.record.boundary.on.expect("a boundary has its day")),
        home.check_in(&NewCheckIn {
            person: "Jordan".into(),
            on: on.clone(),
            rating: 4,
            went_well: String::new(),
            to_change: String::new(),
            reviews: Vec::new(),
            principles: Vec::new(),
            share: false,
        })
        .map(|n| n.record.checkin.on),
        home.ritual_done(&ritual, on.as_deref())
            .map(|r| r.day.expect("the day it was kept")),
    ]
}

/// Each plan, set for the day `by` says: the day it stored, and its warning.
fn planned(home: &Home, by: &str) -> Vec<(Day, Option<String>)> {
    let new_goal = |by: Option<&str>| NewGoal {
        person: "Jordan".into(),
        title: "Cook together".into(),
        why: String::new(),
        kind: GoalKind::Other,
        by: by.map(str::to_owned),
        steps: Vec::new(),
        share: false,
    };
    let added = home.add_goal(&new_goal(Some(by))).expect("goal added");
    let undated = home.add_goal(&new_goal(None)).expect("goal added");
    let changed = home
        .set_goal_status(
            &undated.id.to_string(),
            &GoalChange {
                status: GoalStatus::Adjusted,
                title: None,
                by: Some(by.into()),
            },
        )
        .expect("goal changed");
    let ritual = home
        .add_ritual(&NewRitual {
            person: "Jordan".into(),
            title: "Call".into(),
            recurrence: Recurrence::EveryDays { days: 7 },
            minutes: None,
            guidelines: Vec::new(),
            start: Some(by.into()),
            share: false,
        })
        .expect("ritual added");
    let snoozed = home.snooze("Jordan", by).expect("snoozed");
    vec![
        (added.goal.by.expect("by"), added.warning),
        (
            changed.goal.expect("my own goal").by.expect("by"),
            changed.warning,
        ),
        (ritual.ritual.start, ritual.warning),
        (
            snoozed.saved.relationship.snoozed_until.expect("until"),
            snoozed.warning,
        ),
    ]
}

#[test]
fn what_happened_reads_backwards_and_is_never_in_the_future() {
    let (_dir, home) = home();
    // On a Sunday, "last sunday" is a week ago, and "friday" the one just gone.
    for (on, want) in [("last sunday", "2026-11-15"), ("friday", "2026-11-20")] {
        for stored in happened(&home, on) {
            assert_eq!(stored.expect("recorded"), day(want), "{on:?}");
        }
    }
    for refused in happened(&home, "next friday") {
        match refused {
            Err(err @ Error::Invalid(_)) => assert!(
                err.to_string()
                    .starts_with("Friday 27 November 2026 is in the future"),
                "{err}"
            ),
            other => panic!("a future day must be refused as invalid: {other:?}"),
        }
    }
    for malformed in happened(&home, "2026-02-30") {
        match malformed {
            Err(err) if err.is_usage() => assert!(
                err.to_string().contains("February has 28 days in 2026"),
                "{err}"
            ),
            other => panic!("a day that does not exist is malformed: {other:?}"),
        }
    }
}

#[test]
fn a_plan_reads_forwards_and_a_past_one_is_kept_with_a_warning() {
    let (_dir, home) = home();
    for (day_set, warning) in planned(&home, "friday") {
        assert_eq!(day_set, day("2026-11-27"));
        assert_eq!(warning, None);
    }
    for (day_set, warning) in planned(&home, "last friday") {
        assert_eq!(day_set, day("2026-11-20"));
        let warning = warning.expect("a past plan is warned about");
        assert!(warning.contains("Friday 20 November 2026"), "{warning}");
    }
}
