//! Mistakes undone, through the real binary: `tapin edit ID` and `tapin delete ID` for every kind
//! of record, a shared record leaving a friend's replica (on this tapin and on the previous
//! release), a relationship deleted once unpaired, rituals edited and backfilled, a snooze lifted,
//! and the editor a person gets when none is set.

use std::path::Path;

use serde_json::Value;
use tapin_core::DocId;
use tapin_e2e::{Background, Home, NET_TIMEOUT, Run, eventually, free_udp_ports, pair};

/// Maya's home with Jordan in it.
fn maya() -> Home {
    let home = Home::init("Maya");
    home.ok(&["person", "add", "Jordan"]);
    home
}

/// The items of `tapin --json history Jordan`.
fn history(home: &Home) -> Vec<Value> {
    home.json(&["history", "Jordan"])["items"]
        .as_array()
        .expect("history items")
        .clone()
}

/// The history item with id `id`, if listed.
fn item(home: &Home, id: &str) -> Option<Value> {
    history(home).into_iter().find(|i| i["id"] == id)
}

/// `reflect Jordan` with every question answered, and `more`.
fn reflect<'a>(more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["reflect", "Jordan"];
    for q in [
        "--q1a", "--q1b", "--q2a", "--q2b", "--q3a", "--q3b", "--q4a", "--q4b",
    ] {
        args.extend([q, "yes"]);
    }
    args.extend_from_slice(more);
    args
}

/// Deletes `id` with `--yes`; the record must then be gone from history and from the export.
#[track_caller]
fn delete_gone(home: &Home, id: &str, words: &str) {
    let out = home.ok(&["delete", &id[..8], "--yes"]);
    assert!(out.starts_with("Deleted the "), "{out}");
    assert!(
        out.contains("remain in the document's history"),
        "a delete says what it cannot undo:\n{out}"
    );
    assert!(item(home, id).is_none(), "{id} still in history");
    let export = home.export_json().to_string();
    assert!(!export.contains(id), "{id} still exported");
    assert!(!export.contains(words), "{words:?} still exported");
}

#[test]
fn every_kind_of_record_can_be_edited_and_deleted_by_id() {
    let home = maya();
    let log = home.id(&["log", "Jordan", "--by", "me", "--note", "lunch typo"]);
    let thanks = home.id(&["thanks", "Jordan", "thanks for teh soup"]);
    let boundary = home.id(&["boundary", "Jordan", "no calls after 9", "--private"]);
    let checkin = home.id(&[
        "checkin",
        "Jordan",
        "--rating",
        "2",
        "--went-well",
        "we talkd",
    ]);
    let goal = home.id(&["goal", "add", "Jordan", "Plan a trpi", "--share"]);
    let ritual = home.id(&["ritual", "add", "Jordan", "Walk", "--weekly-on", "sunday"]);
    let reflection = home.id(&reflect(&["--note", "first note"]));
    let entry = home.id(&["journal", "add", "Dinner with J @food", "--about", "Jordan"]);

    // Every id is shown where a person looks: history for a relationship's records.
    for id in [
        &log,
        &thanks,
        &boundary,
        &checkin,
        &goal,
        &ritual,
        &reflection,
    ] {
        assert!(item(&home, id).is_some(), "{id} not in history");
    }

    home.ok(&[
        "edit",
        &log[..8],
        "--note",
        "lunch",
        "--via",
        "in-person",
        "--on",
        "2026-11-20",
    ]);
    let i = item(&home, &log).expect("the interaction");
    assert_eq!(i["record"]["note"], "lunch");
    assert_eq!(i["record"]["via"], "in-person");
    assert_eq!(i["day"], "2026-11-20");

    let out = home.ok(&["edit", &thanks[..8], "--text", "thanks for the soup"]);
    assert!(
        out.contains("next time they sync"),
        "a shared edit says so:\n{out}"
    );
    assert_eq!(
        item(&home, &thanks).expect("thanks")["record"]["text"],
        "thanks for the soup"
    );

    home.ok(&["edit", &boundary[..8], "--text", "no calls after 10"]);
    let out = home.ok(&["edit", &boundary[..8], "--text", "no calls after 10"]);
    assert!(out.starts_with("Nothing changed"), "{out}");
    assert_eq!(
        item(&home, &boundary).expect("boundary")["record"]["text"],
        "no calls after 10"
    );

    home.ok(&[
        "edit",
        &checkin[..8],
        "--went-well",
        "we talked",
        "--rating",
        "4",
    ]);
    let c = item(&home, &checkin).expect("check-in");
    assert_eq!(c["record"]["went_well"], "we talked");
    assert_eq!(c["record"]["rating"], 4);

    home.ok(&["edit", &goal[..8], "--title", "Plan a trip", "--why", "sun"]);
    let g = item(&home, &goal).expect("goal");
    assert_eq!(g["record"]["title"], "Plan a trip");
    assert_eq!(g["record"]["why"], "sun");

    home.ok(&[
        "edit",
        &ritual[..8],
        "--title",
        "Long walk",
        "--minutes",
        "90",
    ]);
    let r = item(&home, &ritual).expect("ritual");
    assert_eq!(r["record"]["title"], "Long walk");
    assert_eq!(r["record"]["minutes"], 90);

    home.ok(&["edit", &reflection[..8], "--note", "second note"]);
    assert_eq!(
        item(&home, &reflection).expect("reflection")["record"]["note"],
        "second note"
    );

    home.ok(&[
        "edit",
        &entry[..8],
        "--text",
        "Dinner with Jordan @food @home",
    ]);
    let entries = home.json(&["journal", "list"]);
    assert_eq!(
        entries["entries"][0]["text"],
        "Dinner with Jordan @food @home"
    );
    assert_eq!(
        entries["entries"][0]["tags"],
        serde_json::json!(["food", "home"])
    );

    // With no flags and no terminal, the new text comes on standard input.
    let run = home.run_with_input(&["edit", &boundary[..8]], "no calls after 11\n");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        item(&home, &boundary).expect("boundary")["record"]["text"],
        "no calls after 11"
    );
    home.refuses(&["edit", &boundary[..8]]);
    home.ok(&["edit", &boundary[..8], "--text", "no calls after 10"]);

    // A flag of another kind is refused, naming what the kind has.
    let err = home.refuses(&["edit", &thanks[..8], "--rating", "3"]);
    assert!(
        err.contains("--rating does not apply to a thanks note"),
        "{err}"
    );
    // An id that is not hex is a malformed command line.
    home.refuses_with(2, &["edit", "zzzz", "--text", "x"]);
    home.refuses(&["delete", "ffffffff", "--yes"]);

    delete_gone(&home, &log, "lunch");
    delete_gone(&home, &thanks, "thanks for the soup");
    delete_gone(&home, &boundary, "no calls after 10");
    delete_gone(&home, &checkin, "we talked");
    delete_gone(&home, &goal, "Plan a trip");
    delete_gone(&home, &ritual, "Long walk");
    delete_gone(&home, &reflection, "second note");
    home.ok(&["delete", &entry[..8], "--yes"]);
    assert_eq!(
        home.json(&["journal", "list"])["total"],
        0,
        "the entry is gone"
    );
    assert!(history(&home).is_empty(), "{:#?}", history(&home));

    // A relationship has its id in `people`, and goes by it too.
    let people = home.json(&["people"]);
    let jordan = people[0]["id"].as_str().expect("an id").to_owned();
    let out = home.ok(&["delete", &jordan[..8], "--yes"]);
    assert!(out.contains("Deleted Jordan"), "{out}");
    assert_eq!(home.json(&["people", "--all"]), serde_json::json!([]));
}

#[test]
fn a_delete_without_a_terminal_asks_for_yes_and_changes_nothing() {
    let home = maya();
    let thanks = home.id(&["thanks", "Jordan", "keep me"]);
    let err = home.refuses(&["delete", &thanks[..8]]);
    assert!(err.contains("--yes"), "{err}");
    assert!(item(&home, &thanks).is_some());
    let err = home.refuses(&["person", "delete", "Jordan"]);
    assert!(err.contains("--yes"), "{err}");
    let help = home.ok(&["delete", "--help"]);
    assert!(
        help.contains("your friend may already have read them"),
        "the help says what a delete means:\n{help}"
    );
}

/// The store overwrites deleted content, and the cached decoded form of a document loses a
/// deleted record's words in the same transaction.
#[test]
fn deleted_words_leave_the_cache_and_secure_delete_is_on() {
    let home = maya();
    let thanks = home.id(&["thanks", "Jordan", "canary-words-7731"]);
    // `show` reads the side and caches its decoded form.
    home.ok(&["show", "Jordan"]);
    let rel = home.relationship("Jordan");
    let (store, _) = home.store_and_key();
    assert!(
        store.secure_delete().expect("the pragma"),
        "secure_delete is off"
    );
    let cached = store
        .cached_view(&DocId::Side(rel))
        .expect("the cache")
        .expect("a cached view of the side");
    assert!(tapin_e2e::contains_bytes(&cached, b"canary-words-7731"));
    drop(store);
    home.ok(&["delete", &thanks[..8], "--yes"]);
    let (store, _) = home.store_and_key();
    let cached = store.cached_view(&DocId::Side(rel)).expect("the cache");
    assert!(
        !cached.is_some_and(|c| tapin_e2e::contains_bytes(&c, b"canary-words-7731")),
        "the deleted words are still in the view cache"
    );
}

/// Maya and Jordan, paired over loopback (Maya invited).
fn friends() -> (Home, Home) {
    let [maya_port, jordan_port] = free_udp_ports::<2>();
    let maya = Home::init_net("Maya", "maya-laptop", maya_port);
    let jordan = Home::init_net("Jordan", "jordan-phone", jordan_port);
    pair(&maya, &jordan);
    (maya, jordan)
}

/// Jordan serves while Maya syncs with him.
fn sync(maya: &Home, jordan: &Home) {
    let _serve = jordan.start_serve();
    maya.sync_with("Jordan");
}

#[test]
fn a_deleted_shared_record_leaves_the_friends_replica_and_an_edit_reaches_it() {
    let (maya, jordan) = friends();
    let thanks = maya.id(&["thanks", "Jordan", "thank you for the soup"]);
    let goal = maya.id(&["goal", "add", "Jordan", "Plan a trpi", "--share"]);
    let kept = maya.id(&["thanks", "Jordan", "and for the walk"]);
    sync(&maya, &jordan);
    let theirs = jordan.replica_of("Maya");
    assert_eq!(theirs.thanks.len(), 2);
    assert_eq!(theirs.goals.len(), 1);

    maya.ok(&["delete", &thanks[..8], "--yes"]);
    maya.ok(&["edit", &goal[..8], "--title", "Plan a trip"]);
    sync(&maya, &jordan);
    let theirs = jordan.replica_of("Maya");
    let ids: Vec<String> = theirs.thanks.keys().map(|k| k.to_string()).collect();
    assert_eq!(
        ids,
        std::slice::from_ref(&kept),
        "the deleted thanks is still in Jordan's replica"
    );
    assert_eq!(
        theirs.goals.values().next().expect("the goal").title,
        "Plan a trip"
    );
    let page = jordan.json(&["show", "Maya"]).to_string();
    assert!(!page.contains("thank you for the soup"), "{page}");
    // What Maya shared is hers: Jordan cannot edit or delete it.
    let err = jordan.refuses(&["delete", &kept[..8], "--yes"]);
    assert!(err.contains("only they can change or delete it"), "{err}");

    // While paired, Maya cannot delete Jordan; after unpairing she can, and nothing of the
    // relationship is left in her store but journal entries, without the link to him.
    let err = maya.refuses(&["person", "delete", "Jordan", "--yes"]);
    assert!(err.contains("tapin unpair"), "{err}");
    let entry = maya.id(&["journal", "add", "Thinking of J", "--about", "Jordan"]);
    maya.id(&reflect(&[]));
    let rel = maya.relationship("Jordan");
    maya.ok(&["unpair", "Jordan"]);
    // The notice Jordan's devices have not fetched yet goes with the relationship: said first.
    let out = maya.ok(&["person", "delete", "Jordan", "--yes"]);
    assert!(out.contains("Deleted Jordan"), "{out}");
    assert!(
        out.contains("if Jordan's devices have not fetched it yet, they never will"),
        "{out}"
    );
    assert!(out.contains("1 journal entry stays about them"), "{out}");
    assert_eq!(maya.json(&["people", "--all"]), serde_json::json!([]));
    let (store, _) = maya.store_and_key();
    let docs = store.documents().expect("the documents");
    assert!(
        !docs.contains(&DocId::Side(rel)) && !docs.contains(&DocId::Replica(rel)),
        "{docs:?}"
    );
    let journal = maya.json(&["journal", "list"]);
    assert_eq!(journal["entries"][0]["id"], entry.as_str());
    assert_eq!(journal["entries"][0]["about"], serde_json::json!([]));
    assert!(
        maya.export_json()["private"]
            .to_string()
            .find(&rel.to_string())
            .is_none()
    );
}

/// The previous release, for a friend who has not upgraded.
const OLD_TAPIN: &str = "/work/old/tapin-c2a9253";

/// `home` run by the previous release, with the settings [`Home::net_cmd`] gives.
fn old_cmd(home: &Home, args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new(OLD_TAPIN);
    cmd.args(args)
        .env("TAPIN_HOME", home.path())
        .env("TAPIN_NOW", tapin_e2e::NOW)
        .env("TZ", "UTC")
        .env("NO_COLOR", "1")
        .env("TAPIN_MDNS", "off")
        .env("TAPIN_RELAY", "none")
        .env_remove("TAPIN_BIND")
        .env_remove("TAPIN_PORT")
        .env_remove("TAPIN_TIMEOUTS")
        .stdin(std::process::Stdio::null());
    cmd
}

/// A friend still on the previous release drops a record Maya deleted: the delete removes the
/// key, which any reader of the document honours, not a flag only this release knows.
#[test]
fn a_friend_on_the_previous_release_drops_a_deleted_record_too() {
    assert!(
        Path::new(OLD_TAPIN).exists(),
        "the previous release's binary is missing at {OLD_TAPIN}"
    );
    let (maya, jordan) = friends();
    let thanks = maya.id(&["thanks", "Jordan", "old-friend-canary"]);
    let serve_old = |jordan: &Home| {
        let mut serve = Background::spawn(old_cmd(jordan, &["serve"]), None);
        eventually(NET_TIMEOUT, "the old `tapin serve` to listen", || {
            serve.stderr().contains("Serving as") || !serve.running()
        });
        assert!(
            serve.running(),
            "the old serve stopped:\n{}",
            serve.stderr()
        );
        serve
    };
    let old_show = |jordan: &Home| -> String {
        let run: Run = old_cmd(jordan, &["--json", "show", "Maya"])
            .output()
            .expect("run the old tapin")
            .into();
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        run.stdout
    };
    {
        let _serve = serve_old(&jordan);
        maya.sync_with("Jordan");
    }
    assert!(old_show(&jordan).contains("old-friend-canary"));
    maya.ok(&["delete", &thanks[..8], "--yes"]);
    {
        let _serve = serve_old(&jordan);
        maya.sync_with("Jordan");
    }
    let page = old_show(&jordan);
    assert!(
        !page.contains("old-friend-canary"),
        "the previous release still shows the deleted thanks:\n{page}"
    );
}

#[test]
fn a_ritual_can_be_backfilled_before_its_start_and_edited() {
    let home = maya();
    // Today is Sunday 2026-11-22; the ritual is years old but starts in tapin today.
    let id = home.id(&[
        "ritual",
        "add",
        "Jordan",
        "Sunday call",
        "--weekly-on",
        "sunday",
    ]);
    let out = home.ok(&["ritual", "done", &id[..8], "--on", "2024-03-03"]);
    assert!(out.contains("now starts then"), "{out}");
    home.ok(&["ritual", "done", &id[..8], "--on", "2026-11-15"]);
    let listed = |home: &Home| -> Value {
        home.json(&["ritual", "list"])
            .as_array()
            .expect("rituals")
            .iter()
            .find(|r| r["id"] == id.as_str())
            .cloned()
            .expect("the ritual")
    };
    let r = listed(&home);
    assert_eq!(r["start"], "2024-03-03");
    assert_eq!(
        r["occurrences"],
        serde_json::json!(["2024-03-03", "2026-11-15"])
    );

    home.ok(&[
        "ritual",
        "edit",
        &id[..8],
        "--title",
        "Call",
        "--every",
        "14",
        "--minutes",
        "30",
        "--guideline",
        "no phones",
    ]);
    let r = listed(&home);
    assert_eq!(r["title"], "Call");
    assert_eq!(r["recurrence"]["days"], 14);
    assert_eq!(r["minutes"], 30);
    assert_eq!(r["guidelines"], serde_json::json!(["no phones"]));
    // A day recorded by mistake can be taken back.
    let out = home.ok(&["ritual", "undo", &id[..8], "--on", "2026-11-15"]);
    assert!(out.contains("taken back"), "{out}");
    assert_eq!(
        listed(&home)["occurrences"],
        serde_json::json!(["2024-03-03"])
    );
    // A start after a day it was kept is refused.
    let err = home.refuses(&["ritual", "edit", &id[..8], "--start", "2025-01-01"]);
    assert!(err.contains("before"), "{err}");
    home.ok(&["ritual", "edit", &id[..8], "--start", "2024-01-07"]);
    assert_eq!(listed(&home)["start"], "2024-01-07");
}

#[test]
fn a_snooze_can_be_lifted_and_today_shows_them_again() {
    let home = maya();
    home.ok(&["person", "edit", "Jordan", "--rhythm", "1w"]);
    home.ok(&["log", "Jordan", "--by", "me", "--on", "2026-10-01"]);
    let names = |home: &Home| home.json(&["today"]).to_string().contains("Jordan");
    assert!(names(&home), "Jordan is overdue, so today names him");
    home.ok(&["snooze", "Jordan", "2w"]);
    assert!(!names(&home), "a snooze quiets him");
    let out = home.ok(&["snooze", "Jordan", "--off"]);
    assert!(out.contains("no longer snoozed"), "{out}");
    assert!(names(&home), "lifting the snooze brings him back");
    home.refuses_with(2, &["snooze", "Jordan"]);
}

/// `tapin COMMAND` under a pseudo-terminal (`script`), with `PATH` set to `path` alone and no
/// $VISUAL or $EDITOR.
fn in_terminal(home: &Home, path: &Path, command: &str) -> Run {
    let tapin = tapin_e2e::tapin_bin();
    std::process::Command::new("/usr/bin/script")
        .args([
            "-qec",
            &format!("{} {command}", tapin.display()),
            "/dev/null",
        ])
        .env("TAPIN_HOME", home.path())
        .env("TAPIN_NOW", tapin_e2e::NOW)
        .env("TZ", "UTC")
        .env("NO_COLOR", "1")
        .env("SHELL", "/bin/sh")
        .env("PATH", path)
        .env_remove("EDITOR")
        .env_remove("VISUAL")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run script")
        .into()
}

#[test]
fn with_no_editor_set_the_fallback_opens_with_a_hint_and_its_lines_are_dropped() {
    let home = maya();
    let thanks = home.id(&["thanks", "Jordan", "thanks for teh soup"]);
    let bin = home.scratch().join("bin");
    std::fs::create_dir_all(&bin).expect("a bin directory");
    let seen = home.scratch().join("seen.txt");
    // A stand-in for Debian's `editor`: keeps what it was shown and writes a new text under a
    // comment line of its own.
    let script = format!(
        "#!/bin/sh\n/bin/cp \"$1\" {seen}\nprintf '# mine\\nthanks for the soup\\n' > \"$1\"\n",
        seen = seen.display()
    );
    let editor = bin.join("editor");
    std::fs::write(&editor, script).expect("write the editor");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let run = in_terminal(&home, &bin, &format!("edit {}", &thanks[..8]));
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    let shown = std::fs::read_to_string(&seen).expect("the editor ran");
    assert!(
        shown.contains("# Lines starting with # are dropped"),
        "{shown}"
    );
    assert!(shown.contains("save an empty file"), "{shown}");
    assert!(shown.contains("\nthanks for teh soup\n"), "{shown}");
    assert_eq!(
        item(&home, &thanks).expect("thanks")["record"]["text"],
        "thanks for the soup"
    );

    // No editor anywhere: a clear error, nothing changed.
    let empty = home.scratch().join("empty");
    std::fs::create_dir_all(&empty).expect("an empty directory");
    let run = in_terminal(&home, &empty, &format!("edit {}", &thanks[..8]));
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    assert!(run.stdout.contains("no editor found"), "{}", run.stdout);
    assert!(run.stdout.contains("EDITOR"), "{}", run.stdout);
}

#[test]
fn an_edited_day_follows_the_same_rule_as_a_new_one() {
    let home = maya();
    // Something that happened: never in the future, and a phrase reads backwards.
    let thanks = home.id(&["thanks", "Jordan", "For the soup"]);
    let err = home.refuses(&["edit", &thanks[..8], "--on", "tomorrow"]);
    assert!(err.contains("is in the future"), "{err}");
    let out = home.ok(&["edit", &thanks[..8], "--on", "friday"]);
    assert!(out.contains("Friday 20 November 2026"), "{out}");
    // A plan: kept when past, with a warning on stderr and in JSON.
    let goal = home.id(&["goal", "add", "Jordan", "Walk more"]);
    let run = home.run(&["edit", &goal[..8], "--by", "2026-11-01"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stderr.contains("already past"), "{}", run.stderr);
    let edited = home.json(&["edit", &goal[..8], "--by", "2026-10-01"]);
    assert!(
        edited["warning"]
            .as_str()
            .is_some_and(|w| w.contains("already past")),
        "{edited:#}"
    );
    let err = home.refuses_with(2, &["edit", &goal[..8], "--by", "2026-02-30"]);
    assert!(err.contains("February has 28 days in 2026"), "{err}");
}
