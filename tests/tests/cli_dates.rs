//! Dates mean what a person means, through the real binary: phrases resolve backwards for a
//! record of something that happened and forwards for a plan; what happened cannot be in the
//! future; a plan in the past is kept with a warning; every date is echoed back; a date that
//! does not exist says why (exit 2); and a day stays the day its writer recorded, whatever the
//! reader's time zone.

use serde_json::Value;
use tapin_e2e::{Home, Run, free_udp_ports, pair};

/// Sunday 22 November 2026, noon UTC (the harness's `NOW`).
const SUNDAY: &str = "2026-11-22T12:00:00Z";
/// Saturday 31 January 2026: a month end, a month before a short February.
const MONTH_END: &str = "2026-01-31T12:00:00Z";
/// Tuesday 29 February 2028: a leap day.
const LEAP_DAY: &str = "2028-02-29T12:00:00Z";

/// Maya's home with Jordan in it.
fn maya_and_jordan() -> Home {
    let home = Home::init("Maya");
    home.ok(&["person", "add", "Jordan"]);
    home
}

fn run_at(home: &Home, now: &str, args: &[&str]) -> Run {
    home.run_at(now, args)
}

/// What a happening resolves to: the day, or `Err(stderr)` when it was refused.
fn logged_on(home: &Home, now: &str, phrase: &str) -> Result<String, String> {
    let run = run_at(
        home,
        now,
        &["--json", "log", "Jordan", "--by", "me", "--on", phrase],
    );
    match run.code {
        Some(0) => {
            let v: Value = serde_json::from_str(&run.stdout).expect("JSON");
            Ok(v["interaction"]["on"].as_str().expect("on").to_owned())
        }
        Some(1) => Err(run.stderr),
        other => panic!(
            "log --on {phrase:?} at {now}: exit {other:?}\n{}",
            run.stderr
        ),
    }
}

/// What a plan resolves to, and the warning it printed (if any).
fn goal_by(home: &Home, now: &str, phrase: &str) -> (String, String) {
    let run = run_at(
        home,
        now,
        &["--json", "goal", "add", "Jordan", "A goal", "--by", phrase],
    );
    assert_eq!(
        run.code,
        Some(0),
        "goal add --by {phrase:?} at {now}: {}",
        run.stderr
    );
    let v: Value = serde_json::from_str(&run.stdout).expect("JSON");
    (v["goal"]["by"].as_str().expect("by").to_owned(), run.stderr)
}

#[test]
fn date_phrases_resolve_backwards_for_what_happened_and_forwards_for_plans() {
    let home = maya_and_jordan();
    // (clock, phrase, the day it means for something that happened (None: in the future, so
    // refused), the day it means for a plan, whether that plan is past and so warned about).
    let rows: [(&str, &str, Option<&str>, &str, bool); 14] = [
        (SUNDAY, "friday", Some("2026-11-20"), "2026-11-27", false),
        // On a Sunday, "last sunday" is a week ago, never today.
        (
            SUNDAY,
            "last sunday",
            Some("2026-11-15"),
            "2026-11-15",
            true,
        ),
        (SUNDAY, "sunday", Some("2026-11-22"), "2026-11-22", false),
        (SUNDAY, "tomorrow", None, "2026-11-23", false),
        (SUNDAY, "2 weeks", Some("2026-11-08"), "2026-12-06", false),
        (SUNDAY, "3 days ago", Some("2026-11-19"), "2026-11-19", true),
        (SUNDAY, "next week", None, "2026-11-29", false),
        (MONTH_END, "next month", None, "2026-02-28", false),
        (
            MONTH_END,
            "a month ago",
            Some("2025-12-31"),
            "2025-12-31",
            true,
        ),
        (MONTH_END, "sunday", Some("2026-01-25"), "2026-02-01", false),
        (
            LEAP_DAY,
            "a year ago",
            Some("2027-02-28"),
            "2027-02-28",
            true,
        ),
        (LEAP_DAY, "tuesday", Some("2028-02-29"), "2028-02-29", false),
        (LEAP_DAY, "next year", None, "2029-02-28", false),
        (
            LEAP_DAY,
            "29 february",
            Some("2028-02-29"),
            "2028-02-29",
            false,
        ),
    ];
    for (now, phrase, happened, planned, warned) in rows {
        match (logged_on(&home, now, phrase), happened) {
            (Ok(day), Some(want)) => assert_eq!(day, want, "log --on {phrase:?} at {now}"),
            (Err(err), None) => assert!(
                err.contains("is in the future"),
                "log --on {phrase:?} at {now}: {err}"
            ),
            (got, want) => panic!("log --on {phrase:?} at {now}: got {got:?}, want {want:?}"),
        }
        let (day, stderr) = goal_by(&home, now, phrase);
        assert_eq!(day, planned, "goal add --by {phrase:?} at {now}");
        assert_eq!(
            stderr.contains("warning:") && stderr.contains("already past"),
            warned,
            "goal add --by {phrase:?} at {now}: stderr {stderr:?}"
        );
    }
}

#[test]
fn every_record_of_what_happened_refuses_a_future_day_naming_it_and_echoes_its_day() {
    let home = maya_and_jordan();
    let ritual = home.id(&[
        "ritual",
        "add",
        "Jordan",
        "Walk",
        "--every",
        "1",
        "--start",
        "2026-11-01",
    ]);
    let commands: [Vec<&str>; 5] = [
        vec!["log", "Jordan", "--by", "me"],
        vec!["thanks", "Jordan", "Thank you for the soup"],
        vec!["checkin", "Jordan", "--rating", "4"],
        vec!["boundary", "Jordan", "No calls after ten"],
        vec!["ritual", "done", &ritual],
    ];
    for command in &commands {
        let mut future = command.clone();
        future.extend(["--on", "next friday"]);
        let err = home.refuses(&future);
        assert!(
            err.contains("Friday 27 November 2026 is in the future"),
            "{future:?}: {err}"
        );

        let mut past = command.clone();
        past.extend(["--on", "friday"]);
        let out = home.ok(&past);
        assert!(
            out.contains("on Friday 20 November 2026"),
            "{past:?} echoes the day it resolved to: {out}"
        );
    }
    // Without --on, the day is today, and it is echoed too (a boundary included).
    let out = home.ok(&["boundary", "Jordan", "Ask before visiting"]);
    assert!(out.contains("on Sunday 22 November 2026"), "{out}");
}

#[test]
fn every_plan_accepts_the_future_and_warns_on_a_past_day() {
    let home = maya_and_jordan();
    let goal = home.id(&["goal", "add", "Jordan", "Cook together"]);
    let commands: [Vec<&str>; 4] = [
        vec!["goal", "add", "Jordan", "Plan a trip", "--by"],
        vec!["goal", "status", &goal, "adjusted", "--by"],
        vec!["ritual", "add", "Jordan", "Call", "--every", "7", "--start"],
        vec!["snooze", "Jordan"],
    ];
    for command in &commands {
        let mut future = command.clone();
        future.push("friday");
        let run = home.run(&future);
        assert_eq!(run.code, Some(0), "{future:?}: {}", run.stderr);
        assert!(
            run.stdout.contains("Friday 27 November 2026"),
            "{future:?} echoes the day: {}",
            run.stdout
        );
        assert!(
            !run.stderr.contains("warning"),
            "{future:?}: {}",
            run.stderr
        );

        let mut past = command.clone();
        past.push("2026-11-01");
        let run = home.run(&past);
        assert_eq!(run.code, Some(0), "{past:?}: {}", run.stderr);
        assert!(
            run.stdout.contains("Sunday 1 November 2026"),
            "{past:?} echoes the day: {}",
            run.stdout
        );
        assert!(
            run.stderr.starts_with("warning:") && run.stderr.contains("Sunday 1 November 2026"),
            "{past:?} warns on stderr: {}",
            run.stderr
        );
    }
    // With --json the warning is in the result too, and stdout stays one document.
    let added = home.json(&["goal", "add", "Jordan", "Late", "--by", "yesterday"]);
    assert!(
        added["warning"]
            .as_str()
            .is_some_and(|w| w.contains("Saturday 21 November 2026")),
        "{added:#}"
    );
}

#[test]
fn goal_list_marks_a_goal_past_its_deadline_as_overdue() {
    let home = maya_and_jordan();
    home.ok(&["goal", "add", "Jordan", "Late one", "--by", "2026-11-01"]);
    home.ok(&["goal", "add", "Jordan", "On time", "--by", "2026-12-01"]);
    let list = home.ok(&["goal", "list"]);
    let line = |title: &str| {
        list.lines()
            .find(|l| l.contains(title))
            .unwrap_or_else(|| panic!("{title} listed:\n{list}"))
            .to_owned()
    };
    assert!(
        line("Late one").contains("by Sunday 1 November 2026, overdue"),
        "{list}"
    );
    assert!(
        line("On time").contains("by Tuesday 1 December 2026")
            && !line("On time").contains("overdue"),
        "{list}"
    );
}

#[test]
fn a_date_that_cannot_be_read_is_a_usage_error_saying_why() {
    let home = maya_and_jordan();
    let cases = [
        ("2026-02-30", "February has 28 days in 2026"),
        ("2028-02-30", "February has 29 days in 2028"),
        ("2026-04-31", "April has 30 days in 2026"),
        ("2026-13-01", "there is no month 13"),
        ("30 february", "February has at most 29 days"),
        ("someday", "could not understand the date \"someday\""),
    ];
    for (input, want) in cases {
        for command in [
            vec!["log", "Jordan", "--by", "me", "--on", input],
            vec!["thanks", "Jordan", "Thanks", "--on", input],
            vec!["goal", "add", "Jordan", "A goal", "--by", input],
            vec!["snooze", "Jordan", input],
        ] {
            let err = home.refuses_with(2, &command);
            assert!(err.contains(want), "{command:?}: {err}");
        }
    }
    let err = home.refuses_with(2, &["log", "Jordan", "--by", "me", "--on", "someday"]);
    assert!(
        err.contains("YYYY-MM-DD") && err.contains("last sunday"),
        "the forms understood are named: {err}"
    );
}

/// A day is the writer's calendar day, stored as such: a friend thirteen hours behind sees the
/// day Maya recorded, not that instant converted into their own calendar.
#[test]
fn a_friend_in_another_time_zone_sees_the_day_as_it_was_recorded() {
    // Stable ports: each side dials the address the other had when they paired.
    let [maya_port, jordan_port] = free_udp_ports::<2>();
    let maya = Home::init_net("Maya", "maya-laptop", maya_port);
    let jordan = Home::init_net("Jordan", "jordan-phone", jordan_port);
    pair(&maya, &jordan);
    // At 12:00 UTC it is already Monday 23 November 01:00 at UTC+13, and still Sunday 22
    // November 04:00 at UTC-8. POSIX TZ strings need no time zone database.
    let in_zone = |home: &Home, tz: &str, args: &[&str]| -> Run {
        home.net_cmd(args)
            .env("TZ", tz)
            .output()
            .expect("run tapin")
            .into()
    };
    for args in [
        &["thanks", "Jordan", "Thank you for the soup"][..],
        &["boundary", "Jordan", "No calls after ten"],
        &["checkin", "Jordan", "--rating", "4", "--share"],
    ] {
        let run = in_zone(&maya, "XXX-13", args);
        assert_eq!(run.code, Some(0), "{args:?}: {}", run.stderr);
        assert!(
            run.stdout.contains("Monday 23 November 2026"),
            "{args:?}: Maya's today at UTC+13: {}",
            run.stdout
        );
    }
    let _serve = jordan.start_serve();
    maya.sync_with("Jordan");

    let run = in_zone(&jordan, "XXX+8", &["--json", "show", "Maya"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let page: Value = serde_json::from_str(&run.stdout).expect("JSON");
    let days = |list: &str| -> Vec<String> {
        page[list]
            .as_array()
            .unwrap_or_else(|| panic!("no {list} in {page:#}"))
            .iter()
            .filter(|i| i["whose"] == "theirs" || i["direction"] == "received")
            .map(|i| {
                i["on"]
                    .as_str()
                    .or_else(|| i["checkin"]["on"].as_str())
                    .unwrap_or_else(|| panic!("no day in {i:#}"))
                    .to_owned()
            })
            .collect()
    };
    assert_eq!(days("thanks"), ["2026-11-23"], "{page:#}");
    assert_eq!(days("boundaries"), ["2026-11-23"], "{page:#}");
    assert_eq!(days("checkins"), ["2026-11-23"], "{page:#}");
}
