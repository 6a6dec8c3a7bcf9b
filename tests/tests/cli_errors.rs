//! Bad input through the real binary: every refusal names what was wrong, exits 1 (or 2 for a
//! command line clap rejects), prints nothing on stdout, never panics, and leaves the home
//! byte-for-byte as it was.

use serde_json::json;
use tapin_e2e::Home;

/// Maya's home with Jordan and Joanne, two goals whose ids share the prefix `abcd` (one shared,
/// one private) and two rituals whose ids share the prefix `beef`.
fn home_with_lookalikes() -> Home {
    let home = Home::init("Maya");
    home.ok(&["person", "add", "Jordan", "--rhythm", "2w"]);
    home.ok(&["person", "add", "Joanne"]);
    let jordan = home
        .json(&["people"])
        .as_array()
        .expect("people")
        .iter()
        .find(|p| p["name"] == "Jordan")
        .expect("Jordan")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let goal = |title: &str| {
        json!({ "title": title, "why": "", "kind": "other", "by": null, "status": "active", "objectives": {},
                "created": 1_795_348_800_000_i64, "updated": 1_795_348_800_000_i64 })
    };
    let ritual = |title: &str| {
        json!({ "title": title, "recurrence": { "every": "weekly-on", "weekday": 4 }, "minutes": null,
                "guidelines": [], "start": "2026-11-01", "occurrences": [], "retired": false })
    };
    let mut export = home.export_json();
    export["sides"][&jordan] = json!({
        "goals": { "abcd0000000000000000000000000001": goal("Shared goal") },
        "rituals": { "beef0000000000000000000000000001": ritual("Walk") },
    });
    export["private"]["records"][&jordan] = json!({
        "goals": { "abcd0000000000000000000000000002": goal("Private goal") },
        "rituals": { "beef0000000000000000000000000002": ritual("Call") },
    });
    assert_eq!(home.import_json(&export)["changed"], true);
    assert_eq!(
        home.json(&["goal", "list"]).as_array().map(Vec::len),
        Some(2)
    );
    home
}

#[test]
fn bad_input_is_refused_clearly_and_changes_nothing() {
    let home = home_with_lookalikes();
    let cases: &[(&[&str], i32, &str)] = &[
        // Unknown and ambiguous people.
        (
            &["thanks", "Nobody", "Thanks"],
            1,
            "no one called \"Nobody\"",
        ),
        (&["history", "Nobody"], 1, "no one called \"Nobody\""),
        (&["goal", "list", "Nobody"], 1, "no one called \"Nobody\""),
        (
            &["journal", "list", "--about", "Nobody"],
            1,
            "no one called \"Nobody\"",
        ),
        (
            &["--json", "person", "archive", "Nobody"],
            1,
            // In JSON, the quotes of the name are escaped.
            r#"{"error":"no one called \"Nobody\";"#,
        ),
        (
            &["log", "Jo", "--by", "me"],
            1,
            "\"Jo\" matches several people: ",
        ),
        (
            &["reflect", "Jo", "--q1a", "yes"],
            1,
            "matches several people",
        ),
        // Ambiguous, short and unknown record ids.
        (
            &["goal", "status", "abcd", "achieved"],
            1,
            "goal id \"abcd\" is ambiguous",
        ),
        (&["goal", "share", "abcd0000"], 1, "is ambiguous"),
        (
            &["goal", "step", "add", "ABCD", "A step"],
            1,
            "is ambiguous",
        ),
        (
            &[
                "checkin",
                "Jordan",
                "--rating",
                "3",
                "--review",
                "abcd=achieved",
            ],
            1,
            "is ambiguous",
        ),
        (
            &["ritual", "done", "beef"],
            1,
            "ritual id \"beef\" is ambiguous",
        ),
        (&["ritual", "retire", "beef"], 1, "is ambiguous"),
        (&["goal", "status", "ab", "achieved"], 2, "too short"),
        (
            &["goal", "status", "ffffffff", "achieved"],
            1,
            "no goal with id \"ffffffff\"",
        ),
        // Dates: one that cannot be read is a malformed command (exit 2); one in the future
        // for something that happened is understood, and refused (exit 1).
        (
            &["log", "Jordan", "--by", "me", "--on", "someday"],
            2,
            "could not understand the date \"someday\"",
        ),
        (
            &["log", "Jordan", "--by", "me", "--on", "2026-13-45"],
            2,
            "\"2026-13-45\" is not a date: there is no month 13",
        ),
        (
            &["thanks", "Jordan", "Thanks", "--on", "someday"],
            2,
            "could not understand the date",
        ),
        (
            &["goal", "add", "Jordan", "A goal", "--by", "2026-13-45"],
            2,
            "there is no month 13",
        ),
        (
            &["checkin", "Jordan", "--rating", "3", "--on", "the 45th"],
            2,
            "could not understand the date",
        ),
        (
            &["log", "Jordan", "--by", "me", "--on", "tomorrow"],
            1,
            "in the future",
        ),
        // Flag values.
        (
            &["person", "add", "Zed", "--importance", "9"],
            2,
            "--importance",
        ),
        (
            &["person", "add", "Zed", "--importance", "0"],
            2,
            "--importance",
        ),
        (
            &["person", "edit", "Jordan", "--importance", "6"],
            2,
            "--importance",
        ),
        (&["person", "add", "Zed", "--risk", "extreme"], 2, "extreme"),
        (&["checkin", "Jordan", "--rating", "0"], 2, "--rating"),
        (&["checkin", "Jordan", "--rating", "6"], 2, "--rating"),
        (&["checkin", "Jordan"], 2, "--rating"),
        (&["log", "Jordan"], 2, "--by"),
        (&["log", "Jordan", "--by", "someone"], 2, "someone"),
        (
            &["log", "Jordan", "--by", "me", "--via", "pigeon"],
            2,
            "pigeon",
        ),
        (&["journal", "list", "--limit", "many"], 2, "--limit"),
        (
            &[
                "checkin",
                "Jordan",
                "--rating",
                "3",
                "--principle",
                "kindness",
            ],
            2,
            "unknown principle \"kindness\"; choose from",
        ),
        (
            &[
                "checkin",
                "Jordan",
                "--rating",
                "3",
                "--review",
                "abcd0000000000000000000000000001",
            ],
            2,
            "GOAL=STATUS",
        ),
        (
            &[
                "checkin",
                "Jordan",
                "--rating",
                "3",
                "--review",
                "abcd0000000000000000000000000001=won",
            ],
            2,
            "status must be",
        ),
        // Rhythms.
        (
            &["person", "add", "Zed", "--rhythm", "2w", "--max", "1w"],
            1,
            "--max 1w is shorter than --rhythm 2w",
        ),
        (
            &["person", "edit", "Jordan", "--rhythm", "3w", "--max", "20d"],
            1,
            "--max 20d is shorter than --rhythm 3w",
        ),
        (
            &["person", "add", "Zed", "--rhythm", "often"],
            2,
            "--rhythm \"often\" is not a length of time",
        ),
        (
            &["person", "add", "Zed", "--rhythm", "0d"],
            2,
            "--rhythm \"0d\" is not a length of time",
        ),
        (&["person", "add", "Zed", "--max", "2w"], 2, "--rhythm"),
        (
            &["person", "edit", "Jordan", "--no-rhythm", "--rhythm", "2w"],
            2,
            "--no-rhythm",
        ),
        // Names and texts.
        (
            &["person", "add", "jordan"],
            1,
            "you already have someone called \"Jordan\"",
        ),
        (
            &["person", "add", "   "],
            1,
            "a person's name cannot be empty",
        ),
        (
            &["person", "edit", "Jordan", "--name", " "],
            1,
            "a person's name cannot be empty",
        ),
        (&["goal", "add", "Jordan", " "], 1, "a goal needs a title"),
        (&["journal", "add", ""], 1, "the entry is empty"),
        // The command line itself.
        (&["frobnicate"], 2, "frobnicate"),
        (&["people", "--bogus"], 2, "--bogus"),
        (&["completions", "tcsh"], 2, "tcsh"),
        (&["init"], 2, "--name"),
    ];
    for (args, code, want) in cases {
        let err = home.refuses_with(*code, args);
        assert!(
            err.contains(want),
            "tapin {args:?}: {want:?} not in:\n{err}"
        );
    }
}

#[test]
fn init_twice_is_refused_and_keeps_the_first_identity() {
    let home = Home::init("Maya");
    let me = home.json(&["whoami"]);
    let err = home.refuses(&["init", "--name", "Someone Else"]);
    assert!(err.contains("already holds a tapin home"), "{err}");
    assert!(
        err.contains(home.path().to_str().expect("UTF-8")),
        "names the home: {err}"
    );
    assert_eq!(home.json(&["whoami"]), me);
    let empty = Home::new("nobody");
    let err = empty.refuses(&["init", "--name", "  "]);
    assert!(err.contains("--name cannot be empty"), "{err}");
}

#[test]
fn every_command_on_an_uninitialised_home_fails_and_creates_nothing() {
    let home = Home::new("nobody");
    let export = home.scratch().join("export.json");
    std::fs::write(
        &export,
        Home::init("Maya").ok(&["export", "--format", "json"]),
    )
    .expect("write export");
    let export = export.to_str().expect("UTF-8").to_owned();
    let automerge_dir = home.scratch().join("automerge");
    let automerge_dir = automerge_dir.to_str().expect("UTF-8").to_owned();
    let commands: Vec<Vec<&str>> = vec![
        vec!["whoami"],
        vec!["people"],
        vec!["people", "--all"],
        vec!["person", "add", "Jordan"],
        vec!["person", "edit", "Jordan", "--importance", "4"],
        vec!["person", "archive", "Jordan"],
        vec!["person", "end", "Jordan"],
        vec!["person", "restore", "Jordan"],
        vec!["reflect", "Jordan", "--q1a", "yes"],
        vec!["goal", "add", "Jordan", "A goal"],
        vec!["goal", "list"],
        vec!["goal", "step", "add", "abcd", "A step"],
        vec!["goal", "step", "done", "abcd", "1"],
        vec!["goal", "step", "undo", "abcd", "1"],
        vec!["goal", "status", "abcd", "achieved"],
        vec!["goal", "share", "abcd"],
        vec!["ritual", "add", "Jordan", "Walk", "--weekly-on", "friday"],
        vec!["ritual", "done", "abcd"],
        vec!["ritual", "list"],
        vec!["ritual", "retire", "abcd"],
        vec!["checkin", "Jordan", "--rating", "4"],
        vec!["log", "Jordan", "--by", "me"],
        vec!["thanks", "Jordan", "Thanks"],
        vec!["boundary", "Jordan", "No calls at night"],
        vec!["history", "Jordan"],
        vec!["journal", "add", "An entry"],
        vec!["journal", "list"],
        vec!["journal", "search", "word"],
        vec!["journal", "star", "abcd"],
        vec!["journal", "unstar", "abcd"],
        vec!["export", "--format", "json"],
        vec!["export", "--format", "markdown"],
        vec!["export", "--format", "automerge", "--out", &automerge_dir],
        vec!["import", &export],
        vec!["--json", "people"],
    ];
    let scratch_before: Vec<_> = std::fs::read_dir(home.scratch())
        .expect("scratch")
        .map(|e| e.expect("entry").path())
        .collect();
    for args in &commands {
        let err = home.refuses(args);
        assert!(err.contains("no tapin home at"), "{args:?}: {err}");
        assert!(
            err.contains("tapin init --name"),
            "{args:?} says what to do: {err}"
        );
        assert!(!home.path().exists(), "{args:?} created the home directory");
    }
    // Journal text from stdin is not read into a home that is not there.
    let run = home.run_with_input(&["journal", "add"], "A private thought\n");
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("no tapin home at"), "{}", run.stderr);
    assert!(!home.path().exists());
    let scratch_after: Vec<_> = std::fs::read_dir(home.scratch())
        .expect("scratch")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(
        scratch_after, scratch_before,
        "nothing was created beside the home either"
    );
}

/// Deterministic junk bytes (a linear congruential generator), so failures reproduce.
fn junk(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (x >> 24) as u8
        })
        .collect()
}

#[test]
fn a_damaged_database_is_reported_with_its_path_and_left_alone() {
    let real = Home::init("Maya");
    real.ok(&["person", "add", "Jordan"]);
    real.ok(&["journal", "add", "Something private"]);
    let db = real.path().join("tapin.db");
    let real_bytes = std::fs::read(&db).expect("read the database");
    assert!(real_bytes.len() > 8192, "the database has several pages");

    let damages: Vec<(&str, Vec<u8>)> = vec![
        (
            "text",
            b"this is not a database, it is garbage\n".repeat(50),
        ),
        ("junk", junk(8192)),
        (
            "sqlite header then junk",
            [&real_bytes[..100], &junk(8092)].concat(),
        ),
        ("truncated to one page", real_bytes[..4096].to_vec()),
        (
            "truncated to half",
            real_bytes[..real_bytes.len() / 2].to_vec(),
        ),
    ];
    for (what, bytes) in damages {
        let home = Home::init("Maya");
        let db = home.path().join("tapin.db");
        std::fs::write(&db, &bytes).expect("damage the database");
        let db = db.to_str().expect("UTF-8").to_owned();
        for args in [
            &["people"][..],
            &["whoami"],
            &["--json", "journal", "list"],
            &["journal", "add", "More words"],
            &["person", "add", "Sam"],
            &["export", "--format", "json"],
        ] {
            let err = home.refuses(args);
            assert!(
                err.contains(&db),
                "{what}, {args:?}: the error names the file:\n{err}"
            );
            assert!(
                err.contains("damaged") || err.contains("not a tapin store"),
                "{what}, {args:?}: {err}"
            );
            assert_eq!(
                err.lines().count(),
                1,
                "{what}, {args:?}: one clear line, no backtrace:\n{err}"
            );
        }
        let err = home.refuses(&["init", "--name", "Maya"]);
        assert!(err.contains("already holds a tapin home"), "{what}: {err}");
    }
}

#[test]
fn an_empty_database_file_is_refused_without_being_written() {
    // A zero-byte tapin.db (a disk that filled up, a copy that failed) must be reported, not
    // silently turned into a new, identity-less store by a read-only command.
    let home = Home::init("Maya");
    std::fs::write(home.path().join("tapin.db"), b"").expect("empty the database");
    let err = home.refuses(&["people"]);
    assert!(err.contains(home.path().to_str().expect("UTF-8")), "{err}");
}

#[test]
fn a_bad_tapin_now_is_a_clear_error() {
    let home = Home::init("Maya");
    let before = home.snapshot();
    let run = home.run_at("next tuesday", &["people"]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr
            .contains("TAPIN_NOW=\"next tuesday\" is not an RFC 3339 time"),
        "{}",
        run.stderr
    );
    assert!(home.snapshot() == before);
}

/// `people` panicked on a 65,536-character name ("Formatting argument out of range"). A name that
/// long is refused now, with its length and the limit, and one already in a home (a release
/// before the limit accepted it) is shown cut to the column.
#[test]
fn a_very_long_name_is_refused_and_one_already_stored_does_not_break_people() {
    let home = Home::init("Maya");
    let long = "x".repeat(65_536);
    let err = home.refuses(&["person", "add", &long]);
    assert!(
        err.contains("the person's name is 65536 characters long; the limit is 100"),
        "{err}"
    );

    // As a release without the limit stored it.
    let (store, key) = home.store_and_key();
    let id = tapin_core::Id::named("long name");
    let rel = tapin_core::model::Relationship {
        name: long.clone(),
        importance: 3,
        risk: tapin_core::model::Risk::Medium,
        rhythm: None,
        status: tapin_core::model::RelationshipStatus::Active,
        created: tapin_core::time::Timestamp(1),
        snoozed_until: None,
        peer: None,
    };
    store
        .update(&tapin_core::DocId::Private, &key.actor(), |d| {
            tapin_core::docs::put_relationship(d, id, &rel)
        })
        .expect("store a long name");
    let run = home.run(&["people"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let line = run
        .stdout
        .lines()
        .find(|l| l.contains("xxxx"))
        .expect("the row");
    assert!(line.contains(&format!("{}…", "x".repeat(31))), "{line}");
    assert!(line.chars().count() < 200, "{line}");
    assert_eq!(home.json(&["people"])[0]["name"], long);
}

/// `tapin completions bash | head -1` panicked when the reader went away.
#[test]
fn completions_on_a_closed_pipe_exit_0() {
    use std::io::BufRead;
    let home = Home::new("maya");
    for shell in ["bash", "zsh", "fish"] {
        let mut child = home
            .cmd(&["completions", shell])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn tapin");
        let mut first = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut first)
            .expect("read the first line");
        // The reader goes away, as `head -1` does, before the script is all written.
        let out = child.wait_with_output().expect("wait for tapin");
        assert!(!first.is_empty(), "{shell}: nothing printed");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{shell}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("panicked"),
            "{shell}"
        );
    }
}
