//! What a person reads when something goes wrong, through the real binary: exit codes (2 for a
//! command line that is malformed, 1 for one understood that failed), `--json` failures as one
//! JSON object on stderr, `report --html -` and the paths it cannot write, and names found
//! whatever their accents, with the closest one suggested.

use tapin_e2e::Home;

fn maya() -> Home {
    let maya = Home::init("Maya");
    maya.ok(&["person", "add", "Jordan", "--rhythm", "1w"]);
    maya.ok(&["person", "add", "Zoë"]);
    maya
}

/// Exit 2: the command line itself is malformed (clap's or tapin's own reading of a value).
/// Exit 1: understood, and failed. Each case also names what was wrong.
#[test]
fn exit_codes_tell_a_malformed_command_from_a_failed_one() {
    let maya = maya();
    let goal = maya.id(&["goal", "add", "Jordan", "Walk", "--step", "Route"]);
    let cases: &[(&[&str], i32, &str)] = &[
        // Malformed: clap.
        (&["people", "--bogus"], 2, "--bogus"),
        (&["show"], 2, "<PERSON>"),
        (
            &["person", "add", "Sam", "--importance", "9"],
            2,
            "--importance",
        ),
        (&["journal", "list", "--limit", "many"], 2, "--limit"),
        // Malformed: a value only tapin reads.
        (
            &["person", "add", "Sam", "--rhythm", "3x"],
            2,
            "--rhythm \"3x\" is not a length of time",
        ),
        (
            &["person", "add", "Sam", "--rhythm", "w"],
            2,
            "--rhythm \"w\" is not a length of time",
        ),
        (
            &[
                "person", "edit", "Jordan", "--rhythm", "1w", "--max", "often",
            ],
            2,
            "--max \"often\"",
        ),
        (
            &["snooze", "Jordan", "3x"],
            2,
            "or a length from today, like 3d",
        ),
        (&["journal", "search"], 2, "search for something"),
        (&["journal", "search", "  "], 2, "search for something"),
        (&["show", ""], 2, "no person given"),
        (&["goal", "status", "ab", "achieved"], 2, "too short"),
        (&["goal", "status", "xyz!", "achieved"], 2, "is not an id"),
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
            "unknown principle",
        ),
        (
            &["checkin", "Jordan", "--rating", "3", "--review", "abcd"],
            2,
            "GOAL=STATUS",
        ),
        (
            &["checkin", "Jordan", "--rating", "3", "--review", "abcd=won"],
            2,
            "status must be",
        ),
        (&["ritual", "add", "Jordan", "Walk"], 2, "say how often"),
        (
            &["ritual", "add", "Jordan", "Walk", "--weekly-on", "funday"],
            2,
            "not a weekday",
        ),
        (&["export", "--format", "automerge"], 2, "needs --out"),
        (
            &["invite", "--expires", "x"],
            2,
            "--expires \"x\": expected a number",
        ),
        (&["invite", "--expires", "3y"], 2, "the unit must be"),
        // Understood, and failed.
        (&["show", "Nobody"], 1, "no one called \"Nobody\""),
        (
            &["goal", "status", "ffffffff", "achieved"],
            1,
            "no goal with id \"ffffffff\"",
        ),
        (
            &["goal", "step", "done", &goal, "5"],
            1,
            "has no step 5; it has 1 step",
        ),
        (
            &["person", "add", "jordan"],
            1,
            "you already have someone called \"Jordan\"",
        ),
        (
            &["person", "add", "Zed", "--rhythm", "2w", "--max", "1w"],
            1,
            "is shorter than",
        ),
    ];
    let mut wrong = Vec::new();
    for (args, code, says) in cases {
        let run = maya.run(args);
        if run.code != Some(*code) || !run.stderr.contains(says) || !run.stdout.is_empty() {
            wrong.push(format!(
                "tapin {args:?}: want exit {code} saying {says:?}; got {:?}\n  stdout: {}\n  stderr: {}",
                run.code,
                run.stdout.trim(),
                run.stderr.trim()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// With `--json`, a failure is one JSON object on stderr with the message and a stable kind, and
/// stdout stays empty: for a failure of the engine, a malformed value, and one clap refuses.
#[test]
fn a_failure_under_json_is_one_json_object_on_stderr() {
    let maya = maya();
    let cases: &[(&[&str], i32, &str, &str)] = &[
        (
            &["--json", "show", "Jordon"],
            1,
            "not-found",
            "did you mean \"Jordan\"?",
        ),
        (
            &["--json", "person", "add", "Sam", "--rhythm", "3x"],
            2,
            "malformed",
            "--rhythm",
        ),
        (&["--json", "people", "--bogus"], 2, "usage", "--bogus"),
        (&["people", "--json", "--bogus"], 2, "usage", "--bogus"),
    ];
    for (args, code, kind, says) in cases {
        let run = maya.run(args);
        assert_eq!(run.code, Some(*code), "tapin {args:?}: {}", run.stderr);
        assert_eq!(run.stdout, "", "tapin {args:?} printed on stdout");
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "tapin {args:?}: one line on stderr:\n{}",
            run.stderr
        );
        let err: serde_json::Value = serde_json::from_str(lines[0])
            .unwrap_or_else(|e| panic!("tapin {args:?}: stderr is not JSON ({e}): {}", run.stderr));
        let message = err["error"].as_str().expect("an error message");
        assert!(message.contains(says), "tapin {args:?}: {message}");
        assert!(!message.starts_with("error"), "tapin {args:?}: {message}");
        assert_eq!(err["kind"], *kind, "tapin {args:?}: {err}");
    }
    // Without --json, the same failure is a line of text.
    let run = maya.run(&["show", "Jordon"]);
    assert!(
        run.stderr.starts_with("error: no one called"),
        "{}",
        run.stderr
    );
}

#[test]
fn report_writes_the_page_to_stdout_and_refuses_paths_it_cannot_write_in_plain_words() {
    let maya = maya();
    // Run where a file called "-" would show, were one written.
    let out = maya
        .cmd(&["report", "Jordan", "--html", "-"])
        .current_dir(maya.scratch())
        .output()
        .expect("spawn tapin");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = String::from_utf8(out.stdout).expect("UTF-8");
    assert!(
        page.starts_with("<!DOCTYPE html>"),
        "{}",
        &page[..page.len().min(200)]
    );
    assert!(page.contains("Jordan"));
    assert!(!maya.scratch().join("-").exists(), "wrote a file called -");

    let folder = maya.scratch().join("reports");
    std::fs::create_dir(&folder).expect("a folder");
    let folder = folder.to_str().expect("UTF-8").to_owned();
    let missing = maya.scratch().join("no-such-folder").join("jordan.html");
    let missing = missing.to_str().expect("UTF-8").to_owned();
    for (file, says) in [
        (folder.as_str(), "is a folder; name a file in it"),
        (missing.as_str(), "the folder"),
    ] {
        let err = maya.refuses(&["report", "Jordan", "--html", file]);
        assert!(err.contains(says), "{file}: {err}");
        assert!(err.contains(file), "names what the person gave: {err}");
        // The test's own folder is a temporary one: what is beside it must not be.
        let beside = err.replace(maya.scratch().to_str().expect("UTF-8"), "");
        assert!(!beside.contains(".tmp"), "names a temporary file: {err}");
        assert!(err.lines().count() == 1, "one line: {err}");
    }
    let err = maya.refuses(&["export", "--format", "json", "--out", &folder]);
    assert!(err.contains("is a folder"), "{err}");
}

#[test]
fn names_match_whatever_their_accents_and_a_near_miss_is_answered_with_the_closest() {
    let maya = maya();
    // "Zoe" finds "Zoë", and so do other spellings of the same name.
    // "Zoe\u{308}" is "Zoë" typed decomposed, as some systems send it.
    for typed in ["Zoe", "zoe", "ZOË", "Zoë", "Zoe\u{308}", "zo"] {
        let show = maya.json(&["show", typed]);
        assert_eq!(show["name"], "Zoë", "{typed}");
    }
    maya.ok(&["thanks", "Zoe", "The postcard"]);
    // … and is taken by "Zoë", so it cannot be added a second time.
    let err = maya.refuses(&["person", "add", "Zoe"]);
    assert!(
        err.contains("you already have someone called \"Zoë\""),
        "{err}"
    );

    let err = maya.refuses(&["show", "Jordon"]);
    assert!(
        err.contains("no one called \"Jordon\"; did you mean \"Jordan\"?"),
        "{err}"
    );
    let err = maya.refuses(&["log", "Zoey", "--by", "me"]);
    assert!(err.contains("did you mean \"Zoë\"?"), "{err}");
    // Nothing close: no guess.
    let err = maya.refuses(&["show", "Bartholomew"]);
    assert!(!err.contains("did you mean"), "{err}");
    assert!(err.contains("tapin person add \"Bartholomew\""), "{err}");
}

/// A name as long as tapin takes (100 characters), far wider than a terminal, and one with an emoji, in every table and list: cut to a
/// bounded width, and the columns after them line up.
#[test]
fn long_and_wide_names_do_not_break_tables() {
    let maya = Home::init("Maya");
    let long = "L".repeat(100);
    maya.ok(&["person", "add", &long, "--rhythm", "1w"]);
    maya.ok(&["person", "add", "Sam 🌻", "--rhythm", "1w"]);
    maya.ok(&["person", "add", "Sam", "--rhythm", "1w"]);
    maya.ok(&["log", &long[..10], "--by", "me", "--on", "2026-10-01"]);
    maya.ok(&[
        "ritual",
        "add",
        &long[..10],
        "Walk",
        "--every",
        "7",
        "--start",
        "2026-11-01",
    ]);
    maya.ok(&["goal", "add", &long[..10], "Call", "--by", "2026-11-25"]);

    for args in [
        &["people"][..],
        &["today"],
        &["ritual", "list"],
        &["goal", "list"],
        &["show", &long[..10]],
        &["history", &long[..10]],
    ] {
        let out = maya.ok(args);
        for line in out.lines() {
            assert!(
                line.chars().count() <= 140,
                "tapin {args:?} prints a line of {} characters:\n{line}",
                line.chars().count()
            );
        }
    }
    // The columns after the name start at the same terminal column on every row.
    let people = maya.ok(&["people"]);
    let width = |s: &str| {
        s.chars()
            .map(|c| if c == '🌻' { 2 } else { 1 })
            .sum::<usize>()
    };
    let starts: Vec<usize> = people
        .lines()
        .skip(1)
        .map(|line| width(&line[..line.find("  3  ").expect("importance column")]))
        .collect();
    assert!(
        starts.windows(2).all(|w| w[0] == w[1]),
        "columns shift:\n{people}"
    );
}
