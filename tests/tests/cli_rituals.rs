//! Rituals through the real binary: recurrence, next due day, streaks, retirement.

use serde_json::{Value, json};
use tapin_e2e::{Home, NOW};

fn maya_with(people: &[&str]) -> Home {
    let home = Home::init("Maya");
    for person in people {
        home.ok(&["person", "add", person]);
    }
    home
}

fn listed_at(home: &Home, now: &str, id: &str) -> Value {
    home.json_at(now, &["ritual", "list"])
        .as_array()
        .expect("ritual list is an array")
        .iter()
        .find(|r| r["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("ritual {id} not listed at {now}"))
}

#[test]
fn ritual_add_works_out_the_next_due_day_for_each_recurrence() {
    let home = maya_with(&["Jordan"]);
    // Today is Sunday 2026-11-22.
    let cases: [(&[&str], Value, &str, &str, &str); 7] = [
        (
            &["--monthly-on", "31"],
            json!({ "every": "monthly-on", "day": 31 }),
            "2026-11-30",
            "upcoming",
            "month",
        ),
        (
            &["--monthly-on", "4"],
            json!({ "every": "monthly-on", "day": 4 }),
            "2026-12-04",
            "upcoming",
            "month",
        ),
        (
            &["--monthly-on", "22"],
            json!({ "every": "monthly-on", "day": 22 }),
            "2026-11-22",
            "due-today",
            "month",
        ),
        (
            &["--weekly-on", "friday"],
            json!({ "every": "weekly-on", "weekday": 4 }),
            "2026-11-27",
            "upcoming",
            "week",
        ),
        (
            &["--weekly-on", "Sunday"],
            json!({ "every": "weekly-on", "weekday": 6 }),
            "2026-11-22",
            "due-today",
            "week",
        ),
        (
            &["--every", "10"],
            json!({ "every": "every-days", "days": 10 }),
            "2026-11-22",
            "due-today",
            "10 days",
        ),
        (
            &["--monthly-on", "31", "--start", "2027-02-01"],
            json!({ "every": "monthly-on", "day": 31 }),
            "2027-02-28",
            "upcoming",
            "month",
        ),
    ];
    for (flags, recurrence, next_due, state, period) in cases {
        let mut args = vec!["ritual", "add", "Jordan", "Time together"];
        args.extend_from_slice(flags);
        let added = home.json(&args);
        assert_eq!(added["ritual"]["recurrence"], recurrence, "{flags:?}");
        assert_eq!(added["schedule"]["next_due"], next_due, "{flags:?}");
        assert_eq!(added["schedule"]["state"], state, "{flags:?}");
        assert_eq!(added["schedule"]["period"], period, "{flags:?}");
        assert_eq!(added["schedule"]["streak"], 0, "{flags:?}");
        let id = added["id"].as_str().expect("id");
        assert_eq!(
            listed_at(&home, NOW, id)["schedule"]["next_due"],
            next_due,
            "{flags:?}"
        );
    }
}

#[test]
fn ritual_add_keeps_minutes_guidelines_and_sharing() {
    let home = maya_with(&["Jordan"]);
    let added = home.json(&[
        "ritual",
        "add",
        "Jordan",
        "One-on-one time",
        "--monthly-on",
        "31",
        "--minutes",
        "20",
        "--guideline",
        "no vehicle travel",
        "--guideline",
        "no money spent",
        "--share",
    ]);
    assert_eq!(added["shared"], true);
    assert_eq!(added["ritual"]["minutes"], 20);
    assert_eq!(
        added["ritual"]["guidelines"],
        json!(["no vehicle travel", "no money spent"])
    );
    assert_eq!(added["ritual"]["start"], "2026-11-22");
    let id = added["id"].as_str().expect("id");
    let row = listed_at(&home, NOW, id);
    assert_eq!(row["person"], "Jordan");
    assert_eq!(row["shared"], true);
    assert_eq!(row["title"], "One-on-one time");

    let private = home.json(&["ritual", "add", "Jordan", "Walk", "--weekly-on", "friday"]);
    assert_eq!(private["shared"], false);
    assert_eq!(private["ritual"]["minutes"], Value::Null);

    let text = home.ok(&["ritual", "list"]);
    assert!(text.contains("One-on-one time with Jordan"), "{text}");
    assert!(text.contains("· no money spent"), "{text}");
}

#[test]
fn ritual_done_counts_the_streak_in_periods_not_days() {
    let home = maya_with(&["Jordan"]);
    let id = home.id(&[
        "ritual",
        "add",
        "Jordan",
        "One-on-one",
        "--monthly-on",
        "31",
    ]);

    let done = home.json(&["ritual", "done", &id[..6]]);
    assert_eq!(done["ritual"]["occurrences"], json!(["2026-11-22"]));
    assert_eq!(done["schedule"]["streak"], 1);
    assert_eq!(done["schedule"]["kept_this_period"], true);
    assert_eq!(done["schedule"]["next_due"], "2026-12-31");

    // Done twice on one day records it once.
    let again = home.json(&["ritual", "done", &id]);
    assert_eq!(again["ritual"]["occurrences"], json!(["2026-11-22"]));

    let dec31 = "2026-12-31T18:00:00Z";
    let done = home.json_at(dec31, &["ritual", "done", &id]);
    assert_eq!(done["schedule"]["streak"], 2);
    assert_eq!(done["schedule"]["last_done"], "2026-12-31");
    assert_eq!(done["schedule"]["next_due"], "2027-01-31");

    let cases = [
        // Mid-January: this month is still open, so the streak stands.
        ("2027-01-15T12:00:00Z", 2, "upcoming", "2027-01-31"),
        // February 1st: January was missed.
        ("2027-02-01T12:00:00Z", 0, "upcoming", "2027-02-28"),
    ];
    for (now, streak, state, next_due) in cases {
        let row = listed_at(&home, now, &id);
        assert_eq!(row["schedule"]["streak"], streak, "{now}");
        assert_eq!(row["schedule"]["state"], state, "{now}");
        assert_eq!(row["schedule"]["next_due"], next_due, "{now}");
        assert_eq!(row["schedule"]["period"], "month");
    }

    // A ritual kept is contact: it resets the staying-in-touch clock.
    let people = home.json_at(dec31, &["people"]);
    assert_eq!(people[0]["touch"]["last_contact"], "2026-12-31");
}

#[test]
fn an_overdue_ritual_is_reported_overdue_until_its_period_ends() {
    let home = maya_with(&["Jordan"]);
    let id = home.id(&["ritual", "add", "Jordan", "Walk", "--weekly-on", "monday"]);
    // Monday 2026-11-23 is the slot; on Wednesday it is overdue, the next week it is due again.
    let row = listed_at(&home, "2026-11-25T12:00:00Z", &id);
    assert_eq!(row["schedule"]["state"], "overdue");
    assert_eq!(row["schedule"]["since"], "2026-11-23");
    assert_eq!(row["schedule"]["days"], 2);
    let row = listed_at(&home, "2026-11-30T12:00:00Z", &id);
    assert_eq!(row["schedule"]["state"], "due-today");

    let done = home.json_at(
        "2026-11-25T12:00:00Z",
        &["ritual", "done", &id, "--on", "yesterday"],
    );
    assert_eq!(done["ritual"]["occurrences"], json!(["2026-11-24"]));
    assert_eq!(done["schedule"]["state"], "upcoming");
    assert_eq!(done["schedule"]["next_due"], "2026-11-30");
}

#[test]
fn ritual_done_refuses_the_future_and_bad_dates() {
    let home = maya_with(&["Jordan"]);
    let id = home.id(&["ritual", "add", "Jordan", "Walk", "--weekly-on", "friday"]);
    for (on, want) in [
        ("tomorrow", "Monday 23 November 2026 is in the future"),
        ("2026-12-01", "Tuesday 1 December 2026 is in the future"),
    ] {
        let err = home.refuses(&["ritual", "done", &id, "--on", on]);
        assert!(err.contains(want), "--on {on}: {err}");
    }
    for (on, want) in [
        ("someday", "could not understand the date"),
        ("2026-11-31", "November has 30 days in 2026"),
    ] {
        let err = home.refuses_with(2, &["ritual", "done", &id, "--on", on]);
        assert!(err.contains(want), "--on {on}: {err}");
    }
    let err = home.refuses(&["ritual", "done", "ffffffff"]);
    assert!(err.contains("no ritual with id"), "{err}");
}

#[test]
fn ritual_list_filters_by_person_and_retired_rituals_sort_last_with_their_history() {
    let home = maya_with(&["Jordan", "Sam"]);
    let walk = home.id(&[
        "ritual",
        "add",
        "Jordan",
        "Walk",
        "--weekly-on",
        "friday",
        "--start",
        "2026-11-01",
    ]);
    let call = home.id(&["ritual", "add", "Sam", "Call", "--every", "10"]);
    let dinner = home.id(&["ritual", "add", "Jordan", "Dinner", "--monthly-on", "4"]);
    home.ok(&["ritual", "done", &walk, "--on", "yesterday"]);

    let ids = |args: &[&str]| -> Vec<String> {
        home.json(args)
            .as_array()
            .expect("array")
            .iter()
            .map(|r| r["id"].as_str().expect("id").to_owned())
            .collect()
    };
    // By next due day: the call today, the walk on Friday, dinner on December 4th.
    assert_eq!(
        ids(&["ritual", "list"]),
        vec![call.clone(), walk.clone(), dinner.clone()]
    );
    assert_eq!(
        ids(&["ritual", "list", "Jordan"]),
        vec![walk.clone(), dinner.clone()]
    );

    let retired = home.json(&["ritual", "retire", &walk]);
    assert_eq!(retired["ritual"]["retired"], true);
    assert_eq!(retired["schedule"]["state"], "retired");
    assert_eq!(retired["schedule"]["next_due"], Value::Null);
    assert_eq!(
        ids(&["ritual", "list"]),
        vec![call.clone(), dinner.clone(), walk.clone()]
    );
    let row = listed_at(&home, NOW, &walk);
    assert_eq!(
        row["occurrences"],
        json!(["2026-11-21"]),
        "its history stays"
    );
    assert_eq!(row["schedule"]["last_done"], "2026-11-21");
    assert!(home.ok(&["ritual", "list"]).contains("retired"));

    let history = home.json(&["history", "Jordan"]);
    let kinds: Vec<&str> = history["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "ritual-done").count(),
        1,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "ritual").count(),
        2,
        "{kinds:?}"
    );
}

#[test]
fn ritual_add_refuses_a_missing_or_bad_recurrence() {
    let home = maya_with(&["Jordan"]);
    let usage: [&[&str]; 6] = [
        &["--monthly-on", "32"],
        &["--monthly-on", "0"],
        &["--every", "0"],
        &["--monthly-on", "4", "--weekly-on", "friday"],
        &["--minutes", "0", "--every", "7"],
        &["--every", "7", "--start", "someday"],
    ];
    for flags in usage {
        let mut args = vec!["ritual", "add", "Jordan", "Walk"];
        args.extend_from_slice(flags);
        home.refuses_with(2, &args);
    }
    // What clap cannot see but tapin reads as malformed: no recurrence, a day that is no weekday.
    for (flags, want) in [
        (&[][..], "say how often"),
        (&["--weekly-on", "funday"], "\"funday\" is not a weekday"),
    ] {
        let mut args = vec!["ritual", "add", "Jordan", "Walk"];
        args.extend_from_slice(flags);
        let err = home.refuses_with(2, &args);
        assert!(err.contains(want), "{flags:?}: {err}");
    }
    let failures: [(&str, &[&str], &str); 1] =
        [("  ", &["--every", "7", "--share"], "a ritual needs a title")];
    for (title, flags, want) in failures {
        let mut args = vec!["ritual", "add", "Jordan", title];
        args.extend_from_slice(flags);
        let err = home.refuses(&args);
        assert!(err.contains(want), "{title:?} {flags:?}: {err}");
    }
}
