//! One use case, one transaction: what a command changes it reads inside its write, and a use case
//! that touches several documents writes all of it or none, however it is interrupted.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use tapin_e2e::Home;

/// Two processes adding steps to one shared goal at once: every step of both is kept (each reads
/// the goal inside its own write, so neither overwrites the other's steps).
#[test]
fn two_processes_adding_steps_to_one_shared_goal_lose_nothing() {
    let home = Home::init("Maya");
    home.ok(&["person", "add", "Jordan"]);
    let goal = home.id(&["goal", "add", "Jordan", "Walk more", "--share"]);
    std::thread::scope(|s| {
        for writer in ["a", "b"] {
            let (home, goal) = (&home, &goal);
            s.spawn(move || {
                for i in 0..20 {
                    home.ok(&["goal", "step", "add", goal, &format!("step {writer}{i}")]);
                }
            });
        }
    });
    let goals = home.json(&["goal", "list"]);
    let goal = &goals.as_array().expect("goals")[0];
    assert_eq!(goal["shared"], true);
    let steps: BTreeSet<String> = goal["objectives"]
        .as_object()
        .expect("steps")
        .values()
        .map(|o| o["text"].as_str().expect("text").to_owned())
        .collect();
    let want: BTreeSet<String> = ["a", "b"]
        .iter()
        .flat_map(|w| (0..20).map(move |i| format!("step {w}{i}")))
        .collect();
    assert_eq!(steps, want);
}

/// What of a check-in with reviews a home holds: (check-ins, goals reviewed to achieved).
fn held(home: &Home) -> (usize, usize) {
    let history = home.json(&["history", "Jordan", "--limit", "1000"]);
    let checkins = history["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| i["kind"] == "checkin")
        .count();
    let achieved = home
        .json(&["goal", "list", "--all"])
        .as_array()
        .expect("goals")
        .iter()
        .filter(|g| g["status"] == "achieved")
        .count();
    (checkins, achieved)
}

/// A copy of `template`'s home, as it is on disk.
fn copy_of(template: &Home) -> Home {
    let home = Home::new("maya");
    std::fs::create_dir_all(home.path()).expect("home dir");
    for entry in std::fs::read_dir(template.path()).expect("template home") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), home.path().join(entry.file_name())).expect("copy");
    }
    home
}

/// A check-in that reviews goals writes the check-in (in my private document) and each reviewed
/// goal (private ones there, shared ones in my side document). It used to be several
/// transactions, so a crash between them left a check-in whose reviews never happened. Killed at
/// moments spread over its run, 24 times, it leaves all of it or none of it.
#[test]
fn a_checkin_with_reviews_killed_at_any_moment_is_all_or_nothing() {
    const GOALS: usize = 24;
    let template = Home::init("Maya");
    template.ok(&["person", "add", "Jordan"]);
    let mut reviews = Vec::new();
    for n in 0..GOALS {
        let mut args = vec!["goal", "add", "Jordan"];
        let title = format!("Goal {n}");
        args.push(&title);
        if n % 2 == 0 {
            args.push("--share");
        }
        let id = template.id(&args);
        reviews.push(format!("{id}=achieved"));
    }
    let mut checkin = vec![
        "checkin",
        "Jordan",
        "--rating",
        "4",
        "--went-well",
        "a walk",
    ];
    for review in &reviews {
        checkin.extend(["--review", review.as_str()]);
    }

    // How long the whole check-in takes here, to spread the kills over it.
    let timing = copy_of(&template);
    let started = Instant::now();
    timing.ok(&checkin);
    let whole = started.elapsed();
    assert_eq!(held(&timing), (1, GOALS));

    let (mut none, mut all) = (0, 0);
    for attempt in 0..24u32 {
        let home = copy_of(&template);
        let mut child = home
            .cmd(&checkin)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn tapin");
        // Kill points spread over the check-in's run, the last few past its end.
        let at = whole.mul_f64(f64::from(attempt) / 20.0);
        std::thread::sleep(at.min(Duration::from_secs(20)));
        let _ = child.kill();
        let _ = child.wait();
        match held(&home) {
            (0, 0) => none += 1,
            (1, n) if n == GOALS => all += 1,
            partial => panic!(
                "attempt {attempt}, killed after {at:?} of {whole:?}: a partial check-in \
                 (check-ins, goals achieved) = {partial:?}"
            ),
        }
    }
    assert!(
        none > 0 && all > 0,
        "the kills all fell on one side: {none} none, {all} all"
    );
}
