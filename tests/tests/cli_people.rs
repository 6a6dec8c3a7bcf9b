//! Relationships end to end: `person …`, `people`, staying in touch, `log`, `thanks`,
//! `boundary`, `reflect` and `history`, through the real binary.

use serde_json::{Value, json};
use tapin_e2e::{Home, NOW};

/// Maya's home with Jordan in it (rhythm 2 weeks, at most 6).
fn maya_and_jordan() -> Home {
    let home = Home::init("Maya");
    home.ok(&[
        "person",
        "add",
        "Jordan",
        "--importance",
        "5",
        "--risk",
        "high",
        "--rhythm",
        "2w",
        "--max",
        "6w",
    ]);
    home
}

fn names(people: &Value) -> Vec<&str> {
    people
        .as_array()
        .expect("people is an array")
        .iter()
        .map(|p| p["name"].as_str().expect("name"))
        .collect()
}

fn row<'a>(people: &'a Value, name: &str) -> &'a Value {
    people
        .as_array()
        .expect("people is an array")
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in {people:#}"))
}

#[test]
fn person_add_prints_the_relationship_and_people_lists_it() {
    let home = Home::init("Maya");
    assert_eq!(home.json(&["people"]), json!([]));
    assert!(home.ok(&["people"]).contains("No one yet"));

    let added = home.json(&[
        "person",
        "add",
        "Jordan",
        "--importance",
        "5",
        "--risk",
        "high",
        "--rhythm",
        "2w",
        "--max",
        "6w",
    ]);
    let id = added["id"].as_str().expect("id");
    assert_eq!(id.len(), 32, "ids are 32 hex digits: {id}");
    assert_eq!(added["relationship"]["name"], "Jordan");
    assert_eq!(
        added["relationship"]["rhythm"],
        json!({ "ideal": 14, "max": 42 })
    );

    let people = home.json(&["people"]);
    assert_eq!(people.as_array().map(Vec::len), Some(1));
    let jordan = &people[0];
    assert_eq!(jordan["id"], id);
    assert_eq!(jordan["name"], "Jordan");
    assert_eq!(jordan["importance"], 5);
    assert_eq!(jordan["risk"], "high");
    assert_eq!(jordan["rhythm"], json!({ "ideal": 14, "max": 42 }));
    assert_eq!(jordan["status"], "active");
    assert_eq!(jordan["touch"]["state"], "fine");
    assert_eq!(jordan["touch"]["due_on"], "2026-12-06");
    assert_eq!(jordan["touch"]["in_days"], 14);
    assert_eq!(jordan["touch"]["last_contact"], Value::Null);

    // Defaults: importance 3, medium risk, no rhythm; --max defaults to three times the rhythm.
    let sam = home.json(&["person", "add", "Sam"]);
    assert_eq!(sam["relationship"]["importance"], 3);
    assert_eq!(sam["relationship"]["risk"], "medium");
    assert_eq!(sam["relationship"]["rhythm"], Value::Null);
    let ada = home.json(&["person", "add", "Ada", "--rhythm", "10d"]);
    assert_eq!(
        ada["relationship"]["rhythm"],
        json!({ "ideal": 10, "max": 30 })
    );
    assert_eq!(
        row(&home.json(&["people"]), "Sam")["touch"]["state"],
        "no-rhythm"
    );

    let text = home.ok(&["people"]);
    for name in ["Jordan", "Sam", "Ada"] {
        assert!(text.contains(name), "{name} missing from:\n{text}");
    }
}

#[test]
fn people_are_listed_most_important_first_then_by_name() {
    let home = Home::init("Maya");
    for (name, importance) in [
        ("bea", "3"),
        ("Dan", "1"),
        ("Cy", "5"),
        ("Al", "3"),
        ("Eve", "5"),
    ] {
        home.ok(&["person", "add", name, "--importance", importance]);
    }
    assert_eq!(
        names(&home.json(&["people"])),
        ["Cy", "Eve", "Al", "bea", "Dan"]
    );
}

#[test]
fn archived_and_ended_people_show_only_with_all_until_restored() {
    let home = maya_and_jordan();
    home.ok(&["person", "add", "Sam"]);
    home.ok(&["person", "add", "Ada"]);

    let archived = home.json(&["person", "archive", "Sam"]);
    assert_eq!(archived["relationship"]["status"], "archived");
    let ended = home.json(&["person", "end", "ada"]);
    assert_eq!(ended["relationship"]["status"], "ended");

    assert_eq!(names(&home.json(&["people"])), ["Jordan"]);
    let all = home.json(&["people", "--all"]);
    assert_eq!(names(&all), ["Jordan", "Ada", "Sam"]);
    assert_eq!(row(&all, "Sam")["status"], "archived");
    assert_eq!(
        row(&all, "Sam")["touch"],
        json!({ "last_contact": null, "clock_start": "2026-11-22", "state": "inactive", "status": "archived" })
    );
    assert_eq!(row(&all, "Ada")["status"], "ended");
    assert_eq!(row(&all, "Ada")["touch"]["state"], "inactive");

    let restored = home.json(&["person", "restore", "Sam"]);
    assert_eq!(restored["relationship"]["status"], "active");
    home.ok(&["person", "restore", "Ada"]);
    assert_eq!(names(&home.json(&["people"])), ["Jordan", "Ada", "Sam"]);
}

#[test]
fn person_edit_changes_name_and_settings_and_no_rhythm_removes_the_rhythm() {
    let home = maya_and_jordan();
    let id = row(&home.json(&["people"]), "Jordan")["id"]
        .as_str()
        .expect("id")
        .to_owned();

    let edited = home.json(&[
        "person",
        "edit",
        "jordan",
        "--name",
        "Jordan B",
        "--importance",
        "2",
        "--risk",
        "low",
        "--rhythm",
        "1m",
        "--max",
        "2m",
    ]);
    assert_eq!(edited["id"], id.as_str());
    let people = home.json(&["people"]);
    let jordan = row(&people, "Jordan B");
    assert_eq!(jordan["id"], id.as_str());
    assert_eq!(jordan["importance"], 2);
    assert_eq!(jordan["risk"], "low");
    assert_eq!(jordan["rhythm"], json!({ "ideal": 30, "max": 60 }));

    // A person can also be named by an id prefix.
    home.ok(&["person", "edit", &id[..6], "--no-rhythm"]);
    let people = home.json(&["people"]);
    assert_eq!(row(&people, "Jordan B")["rhythm"], Value::Null);
    assert_eq!(row(&people, "Jordan B")["touch"]["state"], "no-rhythm");
    assert_eq!(
        row(&people, "Jordan B")["importance"],
        2,
        "unrelated settings stay"
    );
}

#[test]
fn renaming_someone_to_a_name_already_taken_is_refused() {
    // `person add` refuses a second "Jordan"; `person edit --name` must too, or neither Jordan
    // can be named any more.
    let home = maya_and_jordan();
    home.ok(&["person", "add", "Sam"]);
    let err = home.refuses(&["person", "edit", "Sam", "--name", "JORDAN"]);
    assert!(err.contains("Jordan") || err.contains("JORDAN"), "{err}");
    assert_eq!(names(&home.json(&["people"])), ["Jordan", "Sam"]);
    // Renaming to one's own name in another case is not a clash.
    home.ok(&["person", "edit", "Sam", "--name", "SAM"]);
    assert_eq!(names(&home.json(&["people"])), ["Jordan", "SAM"]);
}

#[test]
fn staying_in_touch_goes_fine_due_overdue_and_a_log_resets_the_clock() {
    let home = maya_and_jordan(); // added 2026-11-22, rhythm 14 days, at most 42
    let touch = |now: &str| row(&home.json_at(now, &["people"]), "Jordan")["touch"].clone();
    let cases = [
        (
            NOW,
            json!({ "state": "fine", "due_on": "2026-12-06", "in_days": 14 }),
        ),
        (
            "2026-12-05T12:00:00Z",
            json!({ "state": "fine", "due_on": "2026-12-06", "in_days": 1 }),
        ),
        (
            "2026-12-06T12:00:00Z",
            json!({ "state": "due", "since": "2026-12-06", "days_over": 0 }),
        ),
        (
            "2027-01-02T12:00:00Z",
            json!({ "state": "due", "since": "2026-12-06", "days_over": 27 }),
        ),
        (
            "2027-01-03T12:00:00Z",
            json!({ "state": "overdue", "since": "2027-01-03", "days_over": 0 }),
        ),
        (
            "2027-01-10T12:00:00Z",
            json!({ "state": "overdue", "since": "2027-01-03", "days_over": 7 }),
        ),
    ];
    for (now, want) in cases {
        let mut got = touch(now);
        assert_eq!(got["last_contact"], Value::Null, "{now}");
        assert_eq!(got["clock_start"], "2026-11-22", "{now}");
        let obj = got.as_object_mut().expect("touch is an object");
        obj.remove("last_contact");
        obj.remove("clock_start");
        assert_eq!(got, want, "touch at {now}");
    }

    // A private log counts as contact just as much as a shared one.
    let late = "2027-01-10T12:00:00Z";
    home.ok_at(
        late,
        &[
            "log",
            "Jordan",
            "--by",
            "me",
            "--on",
            "yesterday",
            "--private",
        ],
    );
    let t = touch(late);
    assert_eq!(t["last_contact"], "2027-01-09");
    assert_eq!(t["state"], "fine");
    assert_eq!(t["due_on"], "2027-01-23");
    assert_eq!(t["in_days"], 13);

    // An older interaction logged later does not move the clock back.
    home.ok_at(
        late,
        &["log", "Jordan", "--by", "them", "--on", "2026-12-01"],
    );
    assert_eq!(touch(late)["last_contact"], "2027-01-09");
}

#[test]
fn log_resolves_dates_and_refuses_the_future() {
    let home = maya_and_jordan();
    let cases = [
        (vec!["--on", "yesterday"], "2026-11-21"),
        (vec!["--on", "2026-11-01"], "2026-11-01"),
        (vec!["--on", "today"], "2026-11-22"),
        (vec![], "2026-11-22"),
    ];
    for (extra, day) in cases {
        let mut args = vec![
            "log",
            "Jordan",
            "--by",
            "them",
            "--via",
            "call",
            "--reason",
            "just-because",
        ];
        args.extend(extra.iter().copied());
        let logged = home.json(&args);
        assert_eq!(logged["interaction"]["on"], day, "{extra:?}");
        assert_eq!(logged["interaction"]["by"], "them");
        assert_eq!(logged["interaction"]["via"], "call");
        assert_eq!(logged["interaction"]["reason"], "just-because");
        assert_eq!(logged["shared"], true);
    }
    let text = home.ok(&["log", "Jordan", "--by", "me", "--on", "yesterday"]);
    assert!(
        text.contains("Saturday 21 November 2026"),
        "the resolved date is echoed back: {text}"
    );

    for future in ["tomorrow", "2026-11-23", "in 2 weeks"] {
        let err = home.refuses(&["log", "Jordan", "--by", "me", "--on", future]);
        assert!(err.contains("future"), "{future}: {err}");
    }
    let interactions = home.json(&["history", "Jordan"])["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| i["kind"] == "interaction")
        .count();
    assert_eq!(interactions, 5);
}

#[test]
fn log_thanks_and_boundary_are_shared_unless_private() {
    let home = maya_and_jordan();
    let cases: [(&[&str], &str, bool); 6] = [
        (&["log", "Jordan", "--by", "me"], "interaction", true),
        (
            &["log", "Jordan", "--by", "them", "--private"],
            "interaction",
            false,
        ),
        (
            &["thanks", "Jordan", "Thank you for checking on me"],
            "thanks",
            true,
        ),
        (
            &["thanks", "Jordan", "Thanks, privately", "--private"],
            "thanks",
            false,
        ),
        (
            &["boundary", "Jordan", "No calls after 10pm"],
            "boundary",
            true,
        ),
        (
            &["boundary", "Jordan", "I need a day to reply", "--private"],
            "boundary",
            false,
        ),
    ];
    let mut ids = Vec::new();
    for (args, kind, shared) in cases {
        let saved = home.json(args);
        assert_eq!(saved["shared"], shared, "{args:?}");
        ids.push((saved["id"].as_str().expect("id").to_owned(), kind, shared));
    }
    let history = home.json(&["history", "Jordan"]);
    let items = history["items"].as_array().expect("items");
    for (id, kind, shared) in ids {
        let item = items
            .iter()
            .find(|i| i["id"] == id.as_str())
            .unwrap_or_else(|| panic!("{kind} {id} missing from history"));
        assert_eq!(item["kind"], kind);
        assert_eq!(item["shared"], shared, "{kind} {id}");
    }
    let thanks = items
        .iter()
        .find(|i| i["kind"] == "thanks" && i["shared"] == true)
        .expect("shared thanks");
    assert_eq!(thanks["record"]["text"], "Thank you for checking on me");
    assert_eq!(thanks["record"]["on"], "2026-11-22");
}

#[test]
fn thanks_and_boundary_need_text() {
    let home = maya_and_jordan();
    for cmd in ["thanks", "boundary"] {
        let err = home.refuses(&[cmd, "Jordan", "   "]);
        assert!(err.contains("empty"), "{cmd}: {err}");
    }
}

#[test]
fn reflect_raises_red_flags_for_a_hedged_2a_or_an_unhappy_4a() {
    let home = maya_and_jordan();
    let cases: [(&str, &str, &[u64]); 6] = [
        ("yes", "happy", &[]),
        ("Yes, always", "loved and fulfilled", &[]),
        ("sometimes", "drained", &[2, 4]),
        ("yes", "drained", &[4]),
        ("no", "happy", &[2]),
        ("yes, but not lately", "not happy", &[2, 4]),
    ];
    for (q2a, q4a, want) in cases {
        let out = home.json(&[
            "reflect", "Jordan", "--q1a", "yes", "--q1b", "yes", "--q2a", q2a, "--q2b", "yes",
            "--q3a", "often", "--q3b", "often", "--q4a", q4a, "--q4b", "fine",
        ]);
        let flags: Vec<u64> = out["red_flags"]
            .as_array()
            .expect("red_flags")
            .iter()
            .map(|f| f["question"].as_u64().expect("question"))
            .collect();
        assert_eq!(flags, want, "2A {q2a:?}, 4A {q4a:?}");
        for flag in out["red_flags"].as_array().expect("red_flags") {
            let answer = if flag["question"] == 2 { q2a } else { q4a };
            assert_eq!(flag["answer"], answer);
            assert!(!flag["why"].as_str().unwrap_or_default().is_empty());
        }
        assert_eq!(out["reflection"]["answers"][1]["about_them"], q2a);
        assert_eq!(out["reflection"]["answers"][3]["about_them"], q4a);
    }

    let text = home.ok(&[
        "reflect",
        "Jordan",
        "--q1a",
        "yes",
        "--q1b",
        "yes",
        "--q2a",
        "sometimes",
        "--q2b",
        "yes",
        "--q3a",
        "often",
        "--q3b",
        "often",
        "--q4a",
        "drained",
        "--q4b",
        "fine",
    ]);
    assert!(
        text.contains("red flag 2A") && text.contains("red flag 4A"),
        "{text}"
    );
    let text = home.ok(&[
        "reflect", "Jordan", "--q1a", "yes", "--q1b", "yes", "--q2a", "yes", "--q2b", "yes",
        "--q3a", "often", "--q3b", "often", "--q4a", "happy", "--q4b", "fine",
    ]);
    assert!(text.contains("No red flags"), "{text}");

    // Reflections are private, and history says how many flags each raised.
    let history = home.json(&["history", "Jordan"]);
    let reflections: Vec<&Value> = history["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| i["kind"] == "reflection")
        .collect();
    assert_eq!(reflections.len(), 8);
    assert!(reflections.iter().all(|r| r["shared"] == false));
    assert!(
        reflections
            .iter()
            .any(|r| r["summary"] == "reflection (2 red flags)")
    );
    assert!(reflections.iter().any(|r| r["summary"] == "reflection"));
}

#[test]
fn reflect_reads_the_eight_answers_from_stdin() {
    let home = maya_and_jordan();
    let run = home.run_with_input(
        &["--json", "reflect", "Jordan", "--note", "after the move"],
        "yes\nalways\nsometimes\nI try\noften\nrarely\ndrained\nheard, I think\n",
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let out: Value = serde_json::from_str(&run.stdout).expect("one JSON document on stdout");
    assert_eq!(
        out["reflection"]["answers"],
        json!([
            { "about_them": "yes", "about_me": "always" },
            { "about_them": "sometimes", "about_me": "I try" },
            { "about_them": "often", "about_me": "rarely" },
            { "about_them": "drained", "about_me": "heard, I think" },
        ])
    );
    assert_eq!(out["reflection"]["note"], "after the move");
    assert_eq!(out["red_flags"].as_array().map(Vec::len), Some(2));
    // The questions are asked on stderr, so stdout stays one JSON document.
    assert!(
        run.stderr
            .contains("How do I usually feel after spending time around them?"),
        "{}",
        run.stderr
    );

    // Flags given on the command line are not asked again: only the missing ones are read.
    let run = home.run_with_input(
        &[
            "--json", "reflect", "Jordan", "--q1a", "yes", "--q1b", "yes", "--q2a", "yes", "--q2b",
            "yes",
        ],
        "often\noften\nhappy\nhappy\n",
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let out: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(
        out["reflection"]["answers"][3],
        json!({ "about_them": "happy", "about_me": "happy" })
    );
    assert_eq!(out["red_flags"], json!([]));
}

#[test]
fn reflect_with_too_few_answers_saves_nothing() {
    let home = maya_and_jordan();
    let before = home.snapshot();
    let run = home.run_with_input(&["reflect", "Jordan"], "yes\nyes\nsometimes\n");
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("no answer to 2B"), "{}", run.stderr);
    assert!(
        home.snapshot() == before,
        "a half-answered reflection changed the home"
    );
}

#[test]
fn history_lists_a_relationship_newest_first_and_honours_limit() {
    let home = maya_and_jordan();
    home.ok(&["person", "add", "Sam"]);
    home.ok(&["log", "Jordan", "--by", "me", "--on", "2026-11-01"]);
    home.ok(&["thanks", "Jordan", "For the soup", "--on", "2026-11-10"]);
    home.ok(&["log", "Jordan", "--by", "them", "--on", "yesterday"]);
    home.ok(&["thanks", "Sam", "Not about Jordan"]);

    let history = home.json(&["history", "jor"]);
    assert_eq!(history["name"], "Jordan");
    let days: Vec<&str> = history["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["day"].as_str().expect("day"))
        .collect();
    assert_eq!(days, ["2026-11-21", "2026-11-10", "2026-11-01"]);
    assert!(!history.to_string().contains("Not about Jordan"));

    let limited = home.json(&["history", "Jordan", "--limit", "1"]);
    assert_eq!(limited["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(limited["items"][0]["day"], "2026-11-21");

    let text = home.ok(&["history", "Jordan"]);
    assert!(text.starts_with("Jordan\n"), "{text}");
    assert!(text.contains("thanks: For the soup"), "{text}");
    assert!(home.ok(&["history", "Sam"]).contains("Not about Jordan"));
}

#[test]
fn names_that_differ_only_in_case_are_one_person_whatever_the_alphabet() {
    // `person add` compared names with ASCII case folding while lookups fold all of Unicode, so
    // "Émile" and "émile" could both be added and then neither could be named.
    let home = Home::init("Maya");
    home.ok(&["person", "add", "Émile"]);
    let err = home.refuses(&["person", "add", "émile"]);
    assert!(err.contains("already have someone called"), "{err}");
    home.ok(&["thanks", "ÉMILE", "Merci"]);
}

#[test]
fn an_exact_name_wins_over_a_longer_name_it_prefixes() {
    let home = Home::init("Maya");
    home.ok(&["person", "add", "Jo"]);
    home.ok(&["person", "add", "Jordan"]);
    let jo = home.json(&["thanks", "jo", "Thanks, Jo"]);
    let jordan = home.json(&["thanks", "jor", "Thanks, Jordan"]);
    assert_ne!(jo["relationship"], jordan["relationship"]);
    assert_eq!(
        home.json(&["history", "Jo"])["items"][0]["record"]["text"],
        "Thanks, Jo"
    );
    assert_eq!(
        home.json(&["history", "Jordan"])["items"][0]["record"]["text"],
        "Thanks, Jordan"
    );
}

#[test]
fn today_is_the_day_in_the_local_time_zone() {
    let home = maya_and_jordan();
    // POSIX TZ strings need no time zone database: "XXX-13" is 13 hours ahead of UTC.
    let cases = [
        ("UTC", "2026-11-22T12:00:00Z", "2026-11-22"),
        ("XXX-13", "2026-11-22T12:00:00Z", "2026-11-23"),
        ("XXX+8", "2026-11-22T03:00:00Z", "2026-11-21"),
    ];
    for (tz, now, today) in cases {
        let run: tapin_e2e::Run = home
            .cmd(&["--json", "log", "Jordan", "--by", "me", "--on", today])
            .env("TZ", tz)
            .env("TAPIN_NOW", now)
            .output()
            .expect("run")
            .into();
        assert_eq!(
            run.code,
            Some(0),
            "TZ={tz}: {today} is today there, not the future: {}",
            run.stderr
        );
        let run: tapin_e2e::Run = home
            .cmd(&["--json", "log", "Jordan", "--by", "me"])
            .env("TZ", tz)
            .env("TAPIN_NOW", now)
            .output()
            .expect("run")
            .into();
        let logged: Value = serde_json::from_str(&run.stdout).expect("JSON");
        assert_eq!(logged["interaction"]["on"], today, "TZ={tz} at {now}");
    }
}
