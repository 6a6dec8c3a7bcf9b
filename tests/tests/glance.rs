//! Both sides at a glance: mutual goals across two real homes over loopback, and `tapin today`
//! ordering and snooze on a fixed clock.

use serde_json::Value;
use tapin_e2e::{Home, free_udp_ports, pair};

/// Two paired homes, Maya (inviter) and Jordan (joiner).
fn paired() -> (Home, Home) {
    let [p1, p2] = free_udp_ports::<2>();
    let maya = Home::init_net("Maya", "laptop", p1);
    let jordan = Home::init_net("Jordan", "phone", p2);
    pair(&maya, &jordan);
    (maya, jordan)
}

fn mutual(show: &Value) -> Vec<(String, String, u64, u64, u64, u64)> {
    show["mutual_goals"]
        .as_array()
        .expect("mutual_goals")
        .iter()
        .map(|m| {
            (
                m["title"].as_str().expect("title").to_owned(),
                m["owner"].as_str().expect("owner").to_owned(),
                m["owner_progress"]["done"].as_u64().expect("done"),
                m["owner_progress"]["total"].as_u64().expect("total"),
                m["joiner_progress"]["done"].as_u64().expect("done"),
                m["joiner_progress"]["total"].as_u64().expect("total"),
            )
        })
        .collect()
}

/// Both directions of one sync: Jordan serves, Maya dials once (one exchange moves both sides).
fn sync(maya: &Home, jordan: &Home) {
    let _serve = jordan.start_serve();
    maya.sync_with("Jordan");
}

#[test]
fn a_shared_goal_joined_by_the_friend_is_mutual_on_both_sides_until_they_leave() {
    let (maya, jordan) = paired();
    let goal = maya.id(&[
        "goal",
        "add",
        "Jordan",
        "Walk on Sundays",
        "--share",
        "--step",
        "Pick a route",
        "--step",
        "Buy boots",
    ]);
    maya.ok(&["goal", "step", "done", &goal, "1"]);
    // A private goal can never become mutual: it does not leave Maya's home.
    maya.ok(&["goal", "add", "Jordan", "Be patient"]);
    sync(&maya, &jordan);

    let theirs = jordan.json(&["show", "Maya"]);
    let titles: Vec<&str> = theirs["their_goals"]
        .as_array()
        .expect("goals")
        .iter()
        .map(|g| g["title"].as_str().expect("title"))
        .collect();
    assert_eq!(
        titles,
        ["Walk on Sundays"],
        "only the shared goal reached Jordan"
    );
    assert!(
        mutual(&theirs).is_empty(),
        "not mutual before Jordan takes it up"
    );

    jordan.ok(&["goal", "join", &goal[..8]]);
    jordan.ok(&["goal", "step", "add", &goal[..8], "Check the weather"]);
    // Jordan sees it as mutual at once (both documents are on his device) …
    let want_jordan = vec![("Walk on Sundays".to_owned(), "them".to_owned(), 1, 2, 0, 1)];
    assert_eq!(mutual(&jordan.json(&["show", "Maya"])), want_jordan);
    // … and Maya once his side has synced.
    assert!(
        mutual(&maya.json(&["show", "Jordan"])).is_empty(),
        "Maya cannot know before syncing"
    );
    sync(&maya, &jordan);
    let want_maya = vec![("Walk on Sundays".to_owned(), "me".to_owned(), 1, 2, 0, 1)];
    assert_eq!(mutual(&maya.json(&["show", "Jordan"])), want_maya);

    // Progress on either side shows on both after the next sync.
    maya.ok(&["goal", "step", "done", &goal, "2"]);
    jordan.ok(&["goal", "step", "done", &goal[..8], "1"]);
    sync(&maya, &jordan);
    assert_eq!(
        mutual(&maya.json(&["show", "Jordan"])),
        vec![("Walk on Sundays".to_owned(), "me".to_owned(), 2, 2, 1, 1)]
    );
    assert_eq!(
        mutual(&jordan.json(&["show", "Maya"])),
        vec![("Walk on Sundays".to_owned(), "them".to_owned(), 2, 2, 1, 1)]
    );

    // Leaving works the same way: Jordan writes only his own side.
    jordan.ok(&["goal", "leave", &goal[..8]]);
    assert!(mutual(&jordan.json(&["show", "Maya"])).is_empty());
    sync(&maya, &jordan);
    assert!(
        mutual(&maya.json(&["show", "Jordan"])).is_empty(),
        "no longer mutual on Maya's side"
    );
}

#[test]
fn neither_side_can_mark_the_other_as_having_joined() {
    // Regression guard: a join recorded in my own side for my own goal does not make it mutual.
    let (maya, jordan) = paired();
    let goal = maya.id(&["goal", "add", "Jordan", "Cook together", "--share"]);
    let refused = maya.run(&["goal", "join", &goal[..8]]);
    assert_ne!(
        refused.code,
        Some(0),
        "one cannot take up one's own goal: {}",
        refused.stdout
    );
    sync(&maya, &jordan);
    assert!(mutual(&maya.json(&["show", "Jordan"])).is_empty());
    assert!(mutual(&jordan.json(&["show", "Maya"])).is_empty());
}

fn today_names(home: &Home, now: &str, key: &str) -> Vec<String> {
    home.json_at(now, &["today"])[key]
        .as_array()
        .expect(key)
        .iter()
        .map(|n| n["name"].as_str().expect("name").to_owned())
        .collect()
}

#[test]
fn today_orders_people_overdue_first_then_importance_and_risk_and_honours_snooze() {
    let home = Home::init("Maya");
    let add = |name: &str, imp: &str, risk: &str, rhythm: &str, max: &str| {
        home.ok(&[
            "person",
            "add",
            name,
            "--importance",
            imp,
            "--risk",
            risk,
            "--rhythm",
            rhythm,
            "--max",
            max,
        ]);
    };
    add("Ada", "3", "low", "1w", "2w");
    add("Ben", "5", "low", "1w", "4w");
    add("Cleo", "3", "high", "1w", "4w");
    add("Dev", "1", "low", "1w", "4w");
    add("Eli", "5", "high", "2m", "3m");
    // Everyone was last in touch on the day they were added (2026-11-22); three weeks later
    // Ada is past her two-week maximum, the others are due, and Eli is fine.
    let later = "2026-12-13T12:00:00Z";
    assert_eq!(
        today_names(&home, later, "people"),
        ["Ada", "Ben", "Cleo", "Dev"]
    );

    // Logging an interaction resets that person's clock.
    home.ok_at(later, &["log", "Ben", "--by", "them"]);
    assert_eq!(today_names(&home, later, "people"), ["Ada", "Cleo", "Dev"]);

    // Snoozing quiets a person until the day given.
    let snoozed = home.run_at(later, &["snooze", "Ada", "1w"]);
    assert_eq!(snoozed.code, Some(0), "{}", snoozed.stderr);
    assert_eq!(today_names(&home, later, "people"), ["Cleo", "Dev"]);
    assert_eq!(
        today_names(&home, "2026-12-20T12:00:00Z", "people"),
        // Four weeks on: Cleo, Ada and Dev are past their maximum (overdue first, then by
        // importance and risk); Ben, in touch a week ago, is due again.
        ["Cleo", "Ada", "Dev", "Ben"],
        "the snooze ended"
    );
    let bad = home.run_at(later, &["snooze", "Ada", "whenever"]);
    assert_eq!(
        bad.code,
        Some(2),
        "a value that cannot be read is a usage error"
    );
    assert!(bad.stderr.contains("whenever"), "{}", bad.stderr);
}

#[test]
fn today_lists_rituals_due_and_goals_ending_soon() {
    let home = Home::init("Maya");
    home.ok(&["person", "add", "Kid"]);
    home.ok(&[
        "ritual",
        "add",
        "Kid",
        "One-on-one",
        "--monthly-on",
        "4",
        "--minutes",
        "20",
        "--start",
        "2026-11-01",
    ]);
    home.ok(&["goal", "add", "Kid", "Read together", "--by", "2026-11-25"]);
    home.ok(&["goal", "add", "Kid", "Far away", "--by", "2027-06-01"]);
    let t = home.json_at("2026-12-04T09:00:00Z", &["today"]);
    let rituals: Vec<&str> = t["rituals"]
        .as_array()
        .expect("rituals")
        .iter()
        .map(|r| r["title"].as_str().expect("title"))
        .collect();
    assert_eq!(rituals, ["One-on-one"], "due on the 4th");
    let goals: Vec<(&str, i64)> = t["goals"]
        .as_array()
        .expect("goals")
        .iter()
        .map(|g| {
            (
                g["title"].as_str().expect("title"),
                g["days_left"].as_i64().expect("days"),
            )
        })
        .collect();
    assert_eq!(
        goals,
        [("Read together", -9)],
        "a past timeframe shows; a far one does not"
    );
    home.ok_at(
        "2026-12-04T09:00:00Z",
        &[
            "ritual",
            "done",
            &home.json(&["ritual", "list"])[0]["id"]
                .as_str()
                .expect("id")[..8],
        ],
    );
    let t = home.json_at("2026-12-04T09:00:00Z", &["today"]);
    assert!(
        t["rituals"].as_array().expect("rituals").is_empty(),
        "kept for this month"
    );
}
