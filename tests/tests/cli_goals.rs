//! Goals, their steps, sharing and check-ins, through the real binary.

use serde_json::{Value, json};
use tapin_e2e::Home;

fn maya_with(people: &[&str]) -> Home {
    let home = Home::init("Maya");
    for person in people {
        home.ok(&["person", "add", person]);
    }
    home
}

/// The goal with `id` in `goal list` (with `extra` arguments), if it is listed.
fn listed(home: &Home, extra: &[&str], id: &str) -> Option<Value> {
    let mut args = vec!["goal", "list"];
    args.extend_from_slice(extra);
    home.json(&args)
        .as_array()
        .expect("goal list is an array")
        .iter()
        .find(|g| g["id"] == id)
        .cloned()
}

/// The texts of a goal's steps in the order they are numbered, with their done flags.
fn steps(home: &Home, id: &str) -> Vec<(String, bool)> {
    let goal = listed(home, &["--all"], id).expect("goal listed");
    let mut steps: Vec<(i64, String, String, bool)> = goal["objectives"]
        .as_object()
        .expect("objectives")
        .iter()
        .map(|(sid, o)| {
            (
                o["created"].as_i64().expect("created"),
                sid.clone(),
                o["text"].as_str().expect("text").to_owned(),
                o["done"].as_bool().expect("done"),
            )
        })
        .collect();
    steps.sort();
    steps
        .into_iter()
        .map(|(_, _, text, done)| (text, done))
        .collect()
}

fn step_ids(home: &Home, id: &str) -> Vec<String> {
    let goal = listed(home, &["--all"], id).expect("goal listed");
    let mut ids: Vec<(i64, String)> = goal["objectives"]
        .as_object()
        .expect("objectives")
        .iter()
        .map(|(sid, o)| (o["created"].as_i64().expect("created"), sid.clone()))
        .collect();
    ids.sort();
    ids.into_iter().map(|(_, sid)| sid).collect()
}

#[test]
fn goal_add_resolves_by_keeps_its_steps_and_shares_on_request() {
    let home = maya_with(&["Jordan"]);
    let added = home.json(&[
        "goal",
        "add",
        "Jordan",
        "Communicate more openly",
        "--by",
        "in 2 weeks",
        "--kind",
        "emotional-support",
        "--why",
        "We drifted",
        "--step",
        "Ask how their week went",
        "--step",
        "Check in on the unresolved concern",
        "--share",
    ]);
    let id = added["id"].as_str().expect("id").to_owned();
    assert_eq!(added["shared"], true);
    assert_eq!(added["goal"]["by"], "2026-12-06");
    assert_eq!(added["goal"]["status"], "active");
    assert_eq!(added["goal"]["kind"], "emotional-support");
    assert_eq!(added["goal"]["why"], "We drifted");

    let row = listed(&home, &[], &id).expect("listed");
    assert_eq!(row["person"], "Jordan");
    assert_eq!(row["shared"], true);
    assert_eq!(row["title"], "Communicate more openly");
    assert_eq!(row["by"], "2026-12-06");
    assert_eq!(
        steps(&home, &id),
        [
            ("Ask how their week went".to_owned(), false),
            ("Check in on the unresolved concern".to_owned(), false)
        ]
    );

    let private = home.json(&["goal", "add", "Jordan", "Plan a trip"]);
    assert_eq!(private["shared"], false);
    assert_eq!(private["goal"]["by"], Value::Null);
    assert_eq!(private["goal"]["objectives"], json!({}));

    let text = home.ok(&["goal", "add", "Jordan", "Cook together", "--by", "friday"]);
    assert!(
        text.contains("Friday 27 November 2026"),
        "the resolved date is echoed: {text}"
    );
}

#[test]
fn goal_by_accepts_dates_and_phrases() {
    let home = maya_with(&["Jordan"]);
    let cases = [
        ("in 2 weeks", "2026-12-06"),
        ("2 weeks", "2026-12-06"),
        ("tomorrow", "2026-11-23"),
        ("friday", "2026-11-27"),
        ("in 4 weeks", "2026-12-20"),
        ("2027-02-28", "2027-02-28"),
    ];
    for (phrase, day) in cases {
        let added = home.json(&["goal", "add", "Jordan", "A goal", "--by", phrase]);
        assert_eq!(added["goal"]["by"], day, "{phrase:?}");
    }
}

#[test]
fn goal_list_filters_by_person_orders_by_date_and_all_shows_closed_goals() {
    let home = maya_with(&["Jordan", "Sam"]);
    let undated = home.id(&["goal", "add", "Jordan", "Undated"]);
    let later = home.id(&["goal", "add", "Jordan", "Later", "--by", "2027-01-01"]);
    let sooner = home.id(&[
        "goal",
        "add",
        "Jordan",
        "Sooner",
        "--by",
        "2026-12-01",
        "--share",
    ]);
    let sams = home.id(&["goal", "add", "Sam", "Sam's goal"]);

    let ids = |args: &[&str]| -> Vec<String> {
        home.json(args)
            .as_array()
            .expect("array")
            .iter()
            .map(|g| g["id"].as_str().expect("id").to_owned())
            .collect()
    };
    assert_eq!(
        ids(&["goal", "list"]),
        vec![sooner.clone(), later.clone(), undated.clone(), sams.clone()]
    );
    assert_eq!(ids(&["goal", "list", "Sam"]), vec![sams.clone()]);
    assert_eq!(
        ids(&["goal", "list", "jordan"]),
        vec![sooner.clone(), later.clone(), undated.clone()]
    );

    home.ok(&["goal", "status", &later, "achieved"]);
    home.ok(&["goal", "status", &sams, "dropped"]);
    assert_eq!(
        ids(&["goal", "list"]),
        vec![sooner.clone(), undated.clone()]
    );
    assert_eq!(
        ids(&["goal", "list", "--all"]),
        vec![sooner.clone(), later.clone(), undated.clone(), sams.clone()]
    );
    assert_eq!(ids(&["goal", "list", "Sam"]), Vec::<String>::new());
    assert_eq!(ids(&["goal", "list", "Sam", "--all"]), vec![sams.clone()]);

    // An archived relationship's goals leave the overall list, but asking for it by name shows them.
    home.ok(&["person", "archive", "Jordan"]);
    assert_eq!(ids(&["goal", "list"]), Vec::<String>::new());
    assert_eq!(
        ids(&["goal", "list", "Jordan"]),
        vec![sooner.clone(), undated.clone()]
    );
}

#[test]
fn goal_list_text_numbers_the_steps() {
    let home = maya_with(&["Jordan"]);
    let id = home.id(&[
        "goal",
        "add",
        "Jordan",
        "Talk more",
        "--step",
        "Call on Sunday",
        "--step",
        "Ask about work",
    ]);
    home.ok(&["goal", "step", "done", &id, "2"]);
    let text = home.ok(&["goal", "list"]);
    assert!(text.contains(&id[..8]), "{text}");
    assert!(text.contains("[ ] 1. Call on Sunday"), "{text}");
    assert!(text.contains("[x] 2. Ask about work"), "{text}");
    assert!(text.contains("1/2"), "{text}");
    assert!(
        Home::init("Empty")
            .ok(&["goal", "list"])
            .contains("No goals yet")
    );
}

#[test]
fn goal_steps_are_added_done_and_undone_by_number_or_id() {
    let home = maya_with(&["Jordan"]);
    let id = home.id(&[
        "goal",
        "add",
        "Jordan",
        "Talk more",
        "--step",
        "First",
        "--step",
        "Second",
    ]);

    let done = home.json(&["goal", "step", "done", &id[..6], "1"]);
    assert_eq!(done["id"], id.as_str());
    assert_eq!(
        steps(&home, &id),
        [("First".to_owned(), true), ("Second".to_owned(), false)]
    );
    let first = &step_ids(&home, &id)[0];
    let done_at = &listed(&home, &[], &id).expect("listed")["objectives"][first]["done_at"];
    assert_eq!(
        *done_at,
        json!(1_795_348_800_000_i64),
        "done_at is the time it was marked"
    );

    let second = step_ids(&home, &id)[1].clone();
    home.ok(&["goal", "step", "done", &id, &second]);
    assert_eq!(
        steps(&home, &id),
        [("First".to_owned(), true), ("Second".to_owned(), true)]
    );

    home.ok(&["goal", "step", "undo", &id, "1"]);
    home.ok(&["goal", "step", "undo", &id, &second]);
    assert_eq!(
        steps(&home, &id),
        [("First".to_owned(), false), ("Second".to_owned(), false)]
    );
    let undone = listed(&home, &[], &id).expect("listed");
    assert!(
        undone["objectives"]
            .as_object()
            .expect("objectives")
            .values()
            .all(|o| o["done_at"].is_null())
    );

    let later = "2026-11-23T08:00:00Z";
    home.ok_at(later, &["goal", "step", "add", &id, "Third"]);
    assert_eq!(steps(&home, &id).len(), 3);
    home.ok_at(later, &["goal", "step", "done", &id, "3"]);
    assert_eq!(steps(&home, &id)[2], ("Third".to_owned(), true));

    for (step, code, want) in [
        ("4", 1, "no step 4"),
        ("0", 1, "no step 0"),
        ("abc", 2, "too short"),
        ("ffff", 1, "no step"),
    ] {
        let err = home.refuses_with(code, &["goal", "step", "done", &id, step]);
        assert!(err.contains(want), "step {step}: {err}");
    }
    let err = home.refuses(&["goal", "step", "add", &id, "   "]);
    assert!(err.contains("step needs some text"), "{err}");
}

#[test]
fn a_step_id_prefix_made_of_digits_is_read_as_an_id() {
    // Step ids are random hex, so a prefix is often all digits ("55509483"); it must still pick
    // that step rather than be read as step number 55,509,483.
    let home = maya_with(&["Jordan"]);
    let jordan = home.json(&["people"])[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let step = |text: &str, created: i64| json!({ "text": text, "done": false, "created": created, "done_at": null });
    let mut export = home.export_json();
    export["private"]["records"][&jordan] = json!({ "goals": { "feed0000000000000000000000000001": {
        "title": "Talk more", "why": "", "kind": "other", "by": null, "status": "active",
        "created": 1_795_348_800_000_i64, "updated": 1_795_348_800_000_i64,
        "objectives": {
            "a0000000000000000000000000000001": step("First", 1_795_348_800_000),
            "55509483000000000000000000000002": step("Second", 1_795_348_800_001),
        },
    } } });
    home.import_json(&export);
    let goal = "feed0000000000000000000000000001";

    home.ok(&["goal", "step", "done", goal, "55509483"]);
    assert_eq!(
        steps(&home, goal),
        [("First".to_owned(), false), ("Second".to_owned(), true)]
    );
    home.ok(&["goal", "step", "undo", goal, "5550948300"]);
    home.ok(&["goal", "step", "done", goal, "1"]);
    assert_eq!(
        steps(&home, goal),
        [("First".to_owned(), true), ("Second".to_owned(), false)]
    );
}

#[test]
fn adding_a_step_never_renumbers_existing_steps() {
    // Steps are numbered by when they were added; a step added later (here at the same fixed
    // clock, as in tests and demos, or after the clock stepped back) must still come last, or
    // `goal step done GOAL 2` suddenly means another step.
    let home = maya_with(&["Jordan"]);
    let id = home.id(&[
        "goal",
        "add",
        "Jordan",
        "Talk more",
        "--step",
        "First",
        "--step",
        "Second",
    ]);
    home.ok(&["goal", "step", "add", &id, "Third"]);
    let done = home.json(&["goal", "step", "done", &id, "3"]);
    let marked: Vec<&str> = done["goal"]["objectives"]
        .as_object()
        .expect("objectives")
        .values()
        .filter(|o| o["done"] == true)
        .map(|o| o["text"].as_str().expect("text"))
        .collect();
    assert_eq!(marked, ["Third"], "step 3 should be the step added third");
    let text = home.ok(&["goal", "list"]);
    assert!(
        text.contains("1. First") && text.contains("2. Second") && text.contains("3. Third"),
        "{text}"
    );
}

#[test]
fn goal_status_reassesses_and_achieved_goals_leave_the_default_list() {
    let home = maya_with(&["Jordan"]);
    let id = home.id(&["goal", "add", "Jordan", "Walk more", "--by", "2026-12-01"]);

    let adjusted = home.json(&[
        "goal",
        "status",
        &id,
        "adjusted",
        "--title",
        "Walk every week",
        "--by",
        "in 4 weeks",
    ]);
    assert_eq!(adjusted["goal"]["status"], "adjusted");
    assert_eq!(adjusted["goal"]["title"], "Walk every week");
    assert_eq!(adjusted["goal"]["by"], "2026-12-20");
    assert!(
        listed(&home, &[], &id).is_some(),
        "an adjusted goal is still in play"
    );

    let text = home.ok(&["goal", "status", &id, "achieved"]);
    assert!(text.contains("achieved"), "{text}");
    assert!(
        listed(&home, &[], &id).is_none(),
        "achieved goals leave the default list"
    );
    let all = listed(&home, &["--all"], &id).expect("--all shows achieved goals");
    assert_eq!(all["status"], "achieved");
    assert_eq!(
        all["by"], "2026-12-20",
        "the timeframe stays when --by is not given"
    );

    home.ok(&["goal", "status", &id, "active"]);
    assert_eq!(
        listed(&home, &[], &id).expect("active again")["status"],
        "active"
    );

    home.refuses_with(2, &["goal", "status", &id, "finished"]);
    home.refuses_with(2, &["goal", "status", &id, "active", "--by", "someday"]);
}

#[test]
fn the_achieved_message_ends_in_one_punctuation_mark() {
    // Regression guard for "Goal …: achieved — worth celebrating!." (a "!" and then a ".").
    let home = maya_with(&["Jordan"]);
    let id = home.id(&["goal", "add", "Jordan", "Walk more"]);
    let text = home.ok(&["goal", "status", &id, "achieved"]);
    assert!(text.contains("worth celebrating"), "{text}");
    assert!(!text.contains("!."), "doubled punctuation in: {text}");
}

#[test]
fn goal_status_refuses_an_empty_title() {
    // `goal add` refuses a goal without a title; adjusting one to a blank title must too.
    let home = maya_with(&["Jordan"]);
    let id = home.id(&["goal", "add", "Jordan", "Walk more"]);
    let err = home.refuses(&["goal", "status", &id, "adjusted", "--title", "   "]);
    assert!(err.contains("title"), "{err}");
    assert_eq!(
        listed(&home, &[], &id).expect("listed")["title"],
        "Walk more"
    );
}

#[test]
fn goal_share_moves_a_goal_between_shared_and_private() {
    let home = maya_with(&["Jordan"]);
    let id = home.id(&[
        "goal",
        "add",
        "Jordan",
        "Walk more",
        "--step",
        "Pick a route",
    ]);
    home.ok(&["goal", "step", "done", &id, "1"]);
    let shared_in_history = |home: &Home| -> Vec<bool> {
        home.json(&["history", "Jordan"])["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|i| i["kind"] == "goal")
            .map(|i| i["shared"].as_bool().expect("shared"))
            .collect()
    };
    assert_eq!(listed(&home, &[], &id).expect("listed")["shared"], false);
    assert_eq!(shared_in_history(&home), [false]);

    let moved = home.json(&["goal", "share", &id[..5]]);
    assert_eq!(moved["id"], id.as_str());
    assert_eq!(moved["shared"], true);
    let row = listed(&home, &[], &id).expect("same id after the move");
    assert_eq!(row["shared"], true);
    assert_eq!(
        steps(&home, &id),
        [("Pick a route".to_owned(), true)],
        "steps move with the goal"
    );
    assert_eq!(shared_in_history(&home), [true], "in one place, not both");

    let back = home.ok(&["goal", "share", &id, "--private"]);
    assert!(
        back.contains("already received stays on their devices"),
        "{back}"
    );
    assert_eq!(listed(&home, &[], &id).expect("listed")["shared"], false);
    assert_eq!(shared_in_history(&home), [false]);
}

#[test]
fn goal_share_reports_where_the_goal_is_even_when_it_was_already_there() {
    // Scripts read `shared` from `goal share --json`; it must be there whether or not the goal
    // moved.
    let home = maya_with(&["Jordan"]);
    let id = home.id(&["goal", "add", "Jordan", "Walk more", "--share"]);
    let already = home.json(&["goal", "share", &id]);
    assert_eq!(already["id"], id.as_str());
    assert_eq!(already["shared"], true, "{already}");
    let moved = home.json(&["goal", "share", &id, "--private"]);
    assert_eq!(moved["shared"], false);
    let already = home.json(&["goal", "share", &id, "--private"]);
    assert_eq!(already["shared"], false, "{already}");
}

#[test]
fn checkin_records_the_review_and_updates_the_goal() {
    let home = maya_with(&["Jordan"]);
    let walk = home.id(&["goal", "add", "Jordan", "Walk more", "--share"]);
    let talk = home.id(&["goal", "add", "Jordan", "Talk more"]);

    let review_walk = format!("{}=achieved", &walk[..6]);
    let review_talk = format!("{} = Adjusted", &talk[..8]);
    let checkin = home.json(&[
        "checkin",
        "Jordan",
        "--rating",
        "4",
        "--went-well",
        "We laughed",
        "--to-change",
        "Call earlier",
        "--review",
        &review_walk,
        "--review",
        &review_talk,
        "--principle",
        "appreciation",
        "--principle",
        "active listening",
        "--on",
        "yesterday",
    ]);
    assert_eq!(checkin["shared"], false, "check-ins are private by default");
    let c = &checkin["checkin"];
    assert_eq!(c["on"], "2026-11-21");
    assert_eq!(c["rating"], 4);
    assert_eq!(c["went_well"], "We laughed");
    assert_eq!(c["to_change"], "Call earlier");
    assert_eq!(c["principles"], json!(["appreciation", "active-listening"]));
    assert_eq!(
        c["reviews"],
        json!([
            { "goal": walk, "status": "achieved", "note": "" },
            { "goal": talk, "status": "adjusted", "note": "" },
        ])
    );

    assert!(
        listed(&home, &[], &walk).is_none(),
        "the achieved goal left the default list"
    );
    let walk_row = listed(&home, &["--all"], &walk).expect("listed with --all");
    assert_eq!(walk_row["status"], "achieved");
    assert_eq!(
        walk_row["shared"], true,
        "reviewing a goal does not move it"
    );
    assert_eq!(
        listed(&home, &[], &talk).expect("listed")["status"],
        "adjusted"
    );

    let shared = home.json(&["checkin", "Jordan", "--rating", "5", "--share"]);
    assert_eq!(shared["shared"], true);
    let history = home.json(&["history", "Jordan"]);
    let checkins: Vec<(bool, i64)> = history["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| i["kind"] == "checkin")
        .map(|i| {
            (
                i["shared"].as_bool().expect("shared"),
                i["record"]["rating"].as_i64().expect("rating"),
            )
        })
        .collect();
    assert_eq!(checkins, [(true, 5), (false, 4)]);
}

#[test]
fn a_checkin_with_a_bad_review_or_principle_writes_nothing() {
    let home = maya_with(&["Jordan", "Sam"]);
    let walk = home.id(&["goal", "add", "Jordan", "Walk more"]);
    let sams = home.id(&["goal", "add", "Sam", "Sam's goal"]);
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--review".into(), walk[..8].to_owned()],
            "should look like GOAL=STATUS",
        ),
        (
            vec!["--review".into(), format!("{}=won", &walk[..8])],
            "status must be active, achieved",
        ),
        (
            vec!["--review".into(), format!("{}=achieved", &sams[..8])],
            "belongs to another relationship",
        ),
        (
            vec!["--review".into(), "0000000000=achieved".into()],
            "no goal with id",
        ),
        (
            vec![
                "--review".into(),
                format!("{}=achieved", &walk[..8]),
                "--principle".into(),
                "kindness".into(),
            ],
            "unknown principle \"kindness\"",
        ),
    ];
    for (extra, want) in cases {
        let mut args = vec!["checkin", "Jordan", "--rating", "3"];
        args.extend(extra.iter().map(String::as_str));
        // A value that cannot be read is a malformed command line (exit 2).
        let malformed = ["GOAL=STATUS", "status must be", "unknown principle"]
            .iter()
            .any(|m| want.contains(m));
        let err = home.refuses_with(if malformed { 2 } else { 1 }, &args);
        assert!(err.contains(want), "{extra:?}: {err}");
    }
    // A date that cannot be read is a malformed command: exit 2, and nothing written either.
    let err = home.refuses_with(
        2,
        &[
            "checkin",
            "Jordan",
            "--rating",
            "3",
            "--review",
            &format!("{}=achieved", &walk[..8]),
            "--on",
            "someday",
        ],
    );
    assert!(
        err.contains("could not understand the date \"someday\""),
        "{err}"
    );
    assert_eq!(
        listed(&home, &[], &walk).expect("listed")["status"],
        "active"
    );
}
