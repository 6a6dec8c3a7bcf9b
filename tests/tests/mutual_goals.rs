//! A mutual goal behaves as one goal (issue 13): a goal Jordan proposes and Maya takes up goes
//! through every goal command on Maya's side, within what is hers to change, and shows once on
//! every page of both homes; and lists mark goals whose timeframe has passed.

use serde_json::Value;
use tapin_e2e::{Home, free_udp_ports, pair};

/// Two paired homes on loopback: Jordan invites, Maya joins.
fn paired() -> (Home, Home) {
    let [p1, p2] = free_udp_ports::<2>();
    let jordan = Home::init_net("Jordan", "phone", p1);
    let maya = Home::init_net("Maya", "laptop", p2);
    pair(&jordan, &maya);
    (jordan, maya)
}

/// One exchange, both directions: Jordan serves, Maya dials.
fn sync(jordan: &Home, maya: &Home) {
    let _serve = jordan.start_serve();
    maya.sync_with("Jordan");
}

/// The row of `goal list` (with `extra` arguments) for `id`, if it is listed.
fn row(home: &Home, extra: &[&str], id: &str) -> Option<Value> {
    let mut args = vec!["goal", "list"];
    args.extend_from_slice(extra);
    let rows = home.json(&args);
    let rows = rows.as_array().expect("goal list is an array");
    let found: Vec<&Value> = rows.iter().filter(|r| r["id"] == id).collect();
    assert!(found.len() <= 1, "goal {id} listed twice: {rows:#?}");
    found.first().map(|r| (*r).clone())
}

/// How many times `id` appears among a `show --json` page's goals, by section.
fn sections(page: &Value, id: &str) -> (usize, usize, usize) {
    let count = |key: &str, field: &str| {
        page[key]
            .as_array()
            .unwrap_or_else(|| panic!("{key} in {page:#}"))
            .iter()
            .filter(|g| g[field] == id)
            .count()
    };
    (
        count("mutual_goals", "goal_id"),
        count("my_goals", "id"),
        count("their_goals", "id"),
    )
}

/// `today --json`, and its goal lines for `goal`.
fn today_goals(home: &Home, goal: &str) -> (Value, Vec<Value>) {
    let glance = home.json(&["today"]);
    let nudges = glance["goals"]
        .as_array()
        .expect("goals")
        .iter()
        .filter(|g| g["goal"] == goal)
        .cloned()
        .collect();
    (glance, nudges)
}

/// The step texts with their done flags, in order.
fn texts(steps: &Value) -> Vec<(String, bool)> {
    steps
        .as_array()
        .unwrap_or_else(|| panic!("steps: {steps:#}"))
        .iter()
        .map(|o| {
            (
                o["text"].as_str().expect("text").to_owned(),
                o["done"].as_bool().expect("done"),
            )
        })
        .collect()
}

/// `tapin goal …` must be refused (exit 1: understood, not done) with `words` in its message.
#[track_caller]
fn refused(home: &Home, args: &[&str], words: &[&str]) {
    let run = home.run(args);
    assert_eq!(
        run.code,
        Some(1),
        "tapin {args:?} should be refused:\nstdout: {}\nstderr: {}",
        run.stdout,
        run.stderr
    );
    for w in words {
        assert!(
            run.stderr.contains(w),
            "tapin {args:?}: {w:?} not in the message:\n{}",
            run.stderr
        );
    }
    assert!(
        !run.stderr.contains("no goal with id"),
        "a goal I can see is not \"no such goal\": {}",
        run.stderr
    );
}

#[test]
fn a_goal_taken_up_goes_through_every_goal_command_within_what_is_the_joiners() {
    let (jordan, maya) = paired();
    // Due two days before the fixed clock's Sunday: overdue on both sides while open.
    let goal = jordan.id(&[
        "goal",
        "add",
        "Maya",
        "Walk on Sundays",
        "--share",
        "--by",
        "2026-11-20",
        "--step",
        "Pick a route",
        "--step",
        "Buy boots",
    ]);
    let short = &goal[..8];
    sync(&jordan, &maya);

    // Before Maya takes it up, it is Jordan's: her commands say so, in words.
    refused(
        &maya,
        &["goal", "status", short, "achieved"],
        &["Jordan's goal", "not taken it up", "tapin goal join"],
    );
    refused(
        &maya,
        &["goal", "step", "add", short, "Bring snacks"],
        &["Jordan's goal", "tapin goal join"],
    );
    refused(&maya, &["goal", "leave", short], &["nothing to leave"]);

    maya.ok(&["goal", "join", short]);

    // `goal list`: the goal I took up is listed, once, as mutual and overdue.
    let listed = row(&maya, &[], &goal).expect("the goal Maya took up is in her goal list");
    assert_eq!(listed["owner"], "them", "{listed:#}");
    assert_eq!(listed["person"], "Jordan");
    assert_eq!(listed["title"], "Walk on Sundays");
    assert_eq!(listed["overdue"], true, "{listed:#}");
    assert_eq!(
        texts(&listed["mutual"]["owner_steps"]),
        [
            ("Pick a route".to_owned(), false),
            ("Buy boots".to_owned(), false)
        ]
    );
    let text = maya.ok(&["goal", "list"]);
    assert_eq!(text.matches("Walk on Sundays").count(), 1, "{text}");
    assert!(text.contains("overdue"), "{text}");
    assert!(text.contains("Jordan's steps"), "{text}");

    // Steps: the goal's own are Jordan's to mark; hers are her own.
    refused(
        &maya,
        &["goal", "step", "done", short, "1"],
        &[
            "Jordan's to mark",
            "no steps of your own",
            "tapin goal step add",
        ],
    );
    maya.ok(&["goal", "step", "add", short, "Bring snacks"]);
    maya.ok(&["goal", "step", "add", short, "Check the weather"]);
    maya.ok(&["goal", "step", "done", short, "1"]);
    maya.ok(&["goal", "step", "done", short, "2"]);
    maya.ok(&["goal", "step", "undo", short, "2"]);
    refused(
        &maya,
        &["goal", "step", "done", short, "3"],
        &["Jordan's to mark", "1 to 2"],
    );
    let listed = row(&maya, &[], &goal).expect("listed");
    assert_eq!(
        texts(&listed["mutual"]["joiner_steps"]),
        [
            ("Bring snacks".to_owned(), true),
            ("Check the weather".to_owned(), false)
        ]
    );
    let text = maya.ok(&["goal", "list", "Jordan"]);
    assert!(text.contains("[x] 1. Bring snacks"), "{text}");
    assert!(text.contains("[ ] 2. Check the weather"), "{text}");

    // `today` reminds Maya of it once, by Jordan's date, counting her own steps.
    let (glance, nudges) = today_goals(&maya, &goal);
    assert_eq!(nudges.len(), 1, "{glance:#}");
    assert_eq!(nudges[0]["owner"], "them");
    assert_eq!(nudges[0]["days_left"], -2);
    assert_eq!(nudges[0]["progress"]["done"], 1);
    assert_eq!(nudges[0]["progress"]["total"], 2);
    let text = maya.ok(&["today"]);
    assert!(
        text.contains(
            "Walk on Sundays (Jordan's goal, you took it up) — overdue, was due Friday 20 \
             November 2026, 1 of 2 steps done"
        ),
        "{text}"
    );

    // What is Jordan's to change, Maya is told so.
    refused(
        &maya,
        &[
            "goal",
            "status",
            short,
            "active",
            "--title",
            "Walk on Saturdays",
        ],
        &["Jordan proposed \"Walk on Sundays\"; only Jordan can rename it"],
    );
    refused(
        &maya,
        &["goal", "status", short, "active", "--by", "2026-12-31"],
        &["only Jordan can change its date"],
    );
    refused(
        &maya,
        &["goal", "status", short, "adjusted"],
        &["only Jordan can adjust it"],
    );
    refused(
        &maya,
        &["goal", "share", short, "--private"],
        &["only Jordan can decide whether it is shared"],
    );
    refused(
        &maya,
        &["goal", "share", short],
        &["only Jordan can decide whether it is shared"],
    );

    // Her part, achieved: the goal leaves her default list and stays in --all.
    let saved = maya.json(&["goal", "status", short, "achieved"]);
    assert_eq!(saved["my_part"], "achieved", "{saved:#}");
    let text = maya.ok(&["goal", "status", short, "achieved"]);
    assert!(text.contains("your part achieved"), "{text}");
    assert!(row(&maya, &[], &goal).is_none(), "achieved: not open");
    let listed = row(&maya, &["--all"], &goal).expect("listed with --all");
    assert!(
        listed["mutual"]["joiner_achieved"].is_number(),
        "{listed:#}"
    );
    assert_eq!(listed["overdue"], false, "my part is achieved: {listed:#}");
    assert_eq!(
        listed["status"], "active",
        "the goal's own status stays Jordan's"
    );

    // Her history and her Markdown export carry her part of it, once.
    let text = maya.ok(&["history", "Jordan"]);
    assert_eq!(
        text.matches(
            "took up their goal \"Walk on Sundays\" (1/2 of your steps, your part achieved)"
        )
        .count(),
        1,
        "{text}"
    );
    let md = maya.ok(&["export", "--format", "markdown"]);
    assert_eq!(
        md.matches("I took up: **Walk on Sundays** (my part: 1 of 2 steps done, achieved)")
            .count(),
        1,
        "{md}"
    );

    // `show` lists it once on Maya's side, as mutual.
    let page = maya.json(&["show", "Jordan"]);
    assert_eq!(sections(&page, &goal), (1, 0, 0), "{page:#}");
    let text = maya.ok(&["show", "Jordan"]);
    assert_eq!(text.matches("Walk on Sundays").count(), 1, "{text}");
    assert!(text.contains(short), "the mutual goal shows its id: {text}");

    sync(&jordan, &maya);

    // On Jordan's side: once, mutual, with Maya's part; his own goal as he left it.
    let page = jordan.json(&["show", "Maya"]);
    assert_eq!(sections(&page, &goal), (1, 0, 0), "{page:#}");
    let m = &page["mutual_goals"][0];
    assert_eq!(m["owner"], "me");
    assert_eq!(m["joiner_progress"]["done"], 1);
    assert_eq!(m["joiner_progress"]["total"], 2);
    assert!(m["joiner_achieved"].is_number(), "{m:#}");
    let text = jordan.ok(&["show", "Maya"]);
    assert_eq!(text.matches("Walk on Sundays").count(), 1, "{text}");
    assert!(text.contains("their part achieved"), "{text}");
    let his = row(&jordan, &[], &goal).expect("Jordan's goal is in his list");
    assert_eq!(his["owner"], "me");
    assert_eq!(his["status"], "active");
    assert_eq!(his["title"], "Walk on Sundays");
    assert_eq!(his["by"], "2026-11-20");
    assert_eq!(his["overdue"], true, "still open on Jordan's side: {his:#}");
    assert!(
        his["objectives"]
            .as_object()
            .expect("objectives")
            .values()
            .all(|o| o["done"] == false),
        "Maya never wrote Jordan's steps: {his:#}"
    );
    assert_eq!(
        texts(&his["mutual"]["joiner_steps"]),
        [
            ("Bring snacks".to_owned(), true),
            ("Check the weather".to_owned(), false)
        ]
    );
    let text = jordan.ok(&["goal", "list"]);
    assert_eq!(text.matches("Walk on Sundays").count(), 1, "{text}");
    assert!(text.contains("Maya's steps"), "{text}");
    assert!(text.contains("overdue"), "{text}");
    let (glance, nudges) = today_goals(&jordan, &goal);
    assert_eq!(nudges.len(), 1, "once on Jordan's side too: {glance:#}");
    assert_eq!(nudges[0]["owner"], "me");

    // The HTML report draws it once, on both sides.
    for (home, friend) in [(&jordan, "Maya"), (&maya, "Jordan")] {
        let html = home.scratch().join("report.html");
        home.ok(&[
            "report",
            friend,
            "--html",
            html.to_str().expect("UTF-8 path"),
        ]);
        let page = std::fs::read_to_string(&html).expect("the report");
        assert_eq!(
            page.matches(&format!("data-goal=\"{goal}\"")).count(),
            1,
            "one card for the mutual goal in {friend}'s report"
        );
        assert!(page.contains("Bring snacks"), "Maya's steps are drawn");
        assert!(page.contains("Pick a route"), "Jordan's steps are drawn");
    }

    // Active again, then dropped: dropping a goal I took up leaves it.
    let text = maya.ok(&["goal", "status", short, "active"]);
    assert!(text.contains("your part is active again"), "{text}");
    assert_eq!(
        row(&maya, &[], &goal).expect("open again")["mutual"]["joiner_achieved"],
        Value::Null
    );
    let text = maya.ok(&["goal", "status", short, "dropped"]);
    assert!(text.contains("You left Jordan's goal"), "{text}");
    assert!(
        row(&maya, &["--all"], &goal).is_none(),
        "no longer taken up"
    );
    refused(&maya, &["goal", "leave", short], &["already left"]);
    refused(
        &maya,
        &["goal", "step", "done", short, "1"],
        &["you left it", "take it up again with `tapin goal join"],
    );
    assert_eq!(
        sections(&maya.json(&["show", "Jordan"]), &goal),
        (0, 0, 1),
        "Jordan's again, not mutual"
    );
    sync(&jordan, &maya);
    assert_eq!(
        sections(&jordan.json(&["show", "Maya"]), &goal),
        (0, 1, 0),
        "Jordan's own again, not mutual"
    );
    assert!(row(&jordan, &[], &goal).expect("his")["mutual"].is_null());
}

#[test]
fn the_owner_is_told_what_is_theirs_and_what_is_the_friends() {
    let (jordan, maya) = paired();
    let goal = jordan.id(&["goal", "add", "Maya", "Cook together", "--share"]);
    let short = &goal[..8];
    refused(&jordan, &["goal", "join", short], &["is your own goal"]);
    refused(
        &jordan,
        &["goal", "leave", short],
        &["is your own goal", "dropped"],
    );
    sync(&jordan, &maya);
    maya.ok(&["goal", "join", short]);
    maya.ok(&["goal", "step", "add", short, "Buy spices"]);
    sync(&jordan, &maya);
    // Jordan's step numbers are his own steps; Maya's are hers to mark.
    refused(
        &jordan,
        &["goal", "step", "done", short, "1"],
        &["no step 1"],
    );
    jordan.ok(&["goal", "step", "add", short, "Pick a recipe"]);
    jordan.ok(&["goal", "step", "done", short, "1"]);
    jordan.ok(&[
        "goal",
        "status",
        short,
        "adjusted",
        "--title",
        "Cook on Fridays",
    ]);
    sync(&jordan, &maya);
    let theirs = row(&maya, &[], &goal).expect("listed on Maya's side");
    assert_eq!(theirs["title"], "Cook on Fridays");
    assert_eq!(theirs["status"], "adjusted");
    assert_eq!(
        texts(&theirs["mutual"]["owner_steps"]),
        [("Pick a recipe".to_owned(), true)]
    );
    assert_eq!(
        texts(&theirs["mutual"]["joiner_steps"]),
        [("Buy spices".to_owned(), false)]
    );
    // Taking it back to private ends it being mutual, and Jordan is told so.
    let text = jordan.ok(&["goal", "share", short, "--private"]);
    assert!(
        text.contains("Maya had taken it up: it is no longer mutual once you sync"),
        "{text}"
    );
}

#[test]
fn goal_list_show_and_today_mark_open_goals_past_their_date_as_overdue() {
    let maya = Home::init("Maya");
    maya.ok(&["person", "add", "Jordan"]);
    // The fixed clock is Sunday 2026-11-22.
    let past = maya.id(&["goal", "add", "Jordan", "Past", "--by", "2026-11-20"]);
    let today = maya.id(&["goal", "add", "Jordan", "Today", "--by", "2026-11-22"]);
    let ahead = maya.id(&["goal", "add", "Jordan", "Ahead", "--by", "2026-11-25"]);
    let done = maya.id(&["goal", "add", "Jordan", "Done", "--by", "2026-11-01"]);
    maya.ok(&["goal", "status", &done, "achieved"]);
    let dropped = maya.id(&["goal", "add", "Jordan", "Dropped", "--by", "2026-11-01"]);
    maya.ok(&["goal", "status", &dropped, "dropped"]);
    let undated = maya.id(&["goal", "add", "Jordan", "Undated"]);

    let overdue = |id: &str| row(&maya, &["--all"], id).expect("listed")["overdue"].clone();
    assert_eq!(overdue(&past), true);
    assert_eq!(overdue(&today), false, "due today is not overdue yet");
    assert_eq!(overdue(&ahead), false);
    assert_eq!(overdue(&done), false, "an achieved goal is not overdue");
    assert_eq!(overdue(&dropped), false, "a dropped goal is not overdue");
    assert_eq!(overdue(&undated), false);

    let text = maya.ok(&["goal", "list", "--all"]);
    let marked: Vec<&str> = text.lines().filter(|l| l.contains("overdue")).collect();
    assert_eq!(marked.len(), 1, "{text}");
    assert!(
        marked[0].contains("Past by Friday 20 November 2026, overdue"),
        "{text}"
    );

    let text = maya.ok(&["show", "Jordan"]);
    let marked: Vec<&str> = text.lines().filter(|l| l.contains("overdue")).collect();
    assert_eq!(marked.len(), 1, "{text}");
    assert!(marked[0].contains("Past"), "{text}");

    let text = maya.ok(&["today"]);
    assert!(
        text.contains("Past with Jordan — overdue, was due Friday 20 November 2026"),
        "{text}"
    );
}

#[test]
fn a_check_in_reviews_my_part_of_a_goal_i_took_up() {
    let (jordan, maya) = paired();
    let goal = jordan.id(&[
        "goal",
        "add",
        "Maya",
        "Cook together",
        "--share",
        "--step",
        "Pick a recipe",
    ]);
    let short = &goal[..8];
    sync(&jordan, &maya);
    maya.ok(&["goal", "join", short]);

    // Adjusting is Jordan's to do, and a refused review writes no check-in at all.
    refused(
        &maya,
        &[
            "checkin",
            "Jordan",
            "--rating",
            "4",
            "--review",
            &format!("{short}=adjusted"),
        ],
        &["Jordan's goal", "active, achieved or dropped"],
    );
    let history = maya.json(&["history", "Jordan"]);
    assert!(
        !history.to_string().contains("check-in"),
        "a refused check-in left a record: {history:#}"
    );

    let text = maya.ok(&[
        "checkin",
        "Jordan",
        "--rating",
        "4",
        "--share",
        "--review",
        &format!("{short}=achieved"),
    ]);
    assert!(text.contains("Cook together"), "{text}");
    let mine = row(&maya, &["--all"], &goal).expect("the goal I took up is listed");
    assert!(
        !mine["mutual"]["joiner_achieved"].is_null(),
        "the review marked my part achieved: {mine:#}"
    );

    // Jordan's goal itself is untouched; he sees my part achieved after a sync.
    sync(&jordan, &maya);
    let his = row(&jordan, &["--all"], &goal).expect("Jordan's goal is listed");
    assert_eq!(his["status"], "active", "{his:#}");
    assert!(!his["mutual"]["joiner_achieved"].is_null(), "{his:#}");
}
