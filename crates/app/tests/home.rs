//! The engine as a front-end uses it: one `Home`, shared between threads, one call per use case.

use std::sync::Arc;

use tapin_app::core::model::GoalStatus;
use tapin_app::goals::NewGoal;
use tapin_app::notes::NewCheckIn;
use tapin_app::people::PersonSettings;
use tapin_app::{Clock, Error, Home};

mod common;
use common::home;

fn goal(person: &str, title: &str, share: bool) -> NewGoal {
    NewGoal {
        person: person.into(),
        title: title.into(),
        why: String::new(),
        kind: tapin_app::core::model::GoalKind::Other,
        by: None,
        steps: Vec::new(),
        share,
    }
}

/// A web server's handlers and a sync node share one `Home`: it is `Send + Sync`, and use cases
/// from several threads at once all land.
#[test]
fn one_home_serves_several_threads_at_once() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Home>();
    let (_dir, home) = home();
    home.add_person("Jordan", &PersonSettings::default())
        .expect("added");
    let id = home
        .add_goal(&goal("Jordan", "Walk", true))
        .expect("goal")
        .id;
    let home = Arc::new(home);
    let id = id.to_string();
    std::thread::scope(|s| {
        for t in 0..4 {
            let (home, id) = (home.clone(), &id);
            s.spawn(move || {
                for i in 0..10 {
                    home.add_step(id, &format!("step {t}-{i}"))
                        .expect("step added");
                }
            });
        }
    });
    let goals = home.goals(None, false).expect("goals");
    assert_eq!(goals[0].goal.objectives.len(), 40);
}

/// A use case is one transaction: a check-in whose second review names another relationship's
/// goal fails whole, leaving the first goal's status and the check-ins as they were.
#[test]
fn a_use_case_that_fails_part_way_writes_nothing() {
    let (_dir, home) = home();
    home.add_person("Jordan", &PersonSettings::default())
        .expect("added");
    home.add_person("Sam", &PersonSettings::default())
        .expect("added");
    let mine = home
        .add_goal(&goal("Jordan", "Walk", true))
        .expect("goal")
        .id;
    let sams = home.add_goal(&goal("Sam", "Cook", false)).expect("goal").id;
    let checkin = NewCheckIn {
        person: "Jordan".into(),
        on: None,
        rating: 4,
        went_well: String::new(),
        to_change: String::new(),
        reviews: vec![
            (mine.to_string(), GoalStatus::Achieved),
            (sams.to_string(), GoalStatus::Achieved),
        ],
        principles: Vec::new(),
        share: false,
    };
    let err = home
        .check_in(&checkin)
        .expect_err("Sam's goal is not Jordan's");
    assert!(matches!(err, Error::Invalid(_)), "{err:?}");
    assert!(
        err.to_string().contains("belongs to another relationship"),
        "{err}"
    );
    let history = home.history("Jordan", 100).expect("history");
    assert!(history.items.iter().all(|i| i.kind != "checkin"));
    let goals = home.goals(None, true).expect("goals");
    assert!(goals.iter().all(|g| g.goal.status == GoalStatus::Active));
}

/// Errors keep their cause: a home that is not there is its own variant, and a damaged one
/// names the problem.
#[test]
fn errors_are_typed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let err = Home::open(&dir.path().join("nobody"), Clock::System).expect_err("no home");
    assert!(matches!(err, Error::NoHome(_)), "{err:?}");
    std::fs::write(dir.path().join(tapin_app::DB_FILE), b"").expect("empty db");
    let err = Home::open(dir.path(), Clock::System).expect_err("damaged");
    assert!(matches!(err, Error::Damaged { .. }), "{err:?}");
    assert!(err.to_string().contains("is empty"), "{err}");
}
