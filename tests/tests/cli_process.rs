//! The binary as a process: identity, completions, the demo, the `--json` contract, colour,
//! closed pipes, and several processes writing one home at once.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use serde_json::{Value, json};
use tapin_e2e::Home;

#[test]
fn init_and_whoami_report_one_identity() {
    let home = Home::new("maya");
    let init = home.json(&["init", "--name", "  Maya  ", "--device", "laptop"]);
    assert_eq!(init["name"], "Maya", "the name is trimmed");
    assert_eq!(init["home"], home.path().to_str().expect("UTF-8"));
    let me = home.json(&["whoami"]);
    assert_eq!(me["name"], "Maya");
    assert_eq!(me["device_name"], "laptop");
    assert_eq!(me["home"], init["home"]);
    for key in ["person", "device"] {
        let id = me[key].as_str().unwrap_or_else(|| panic!("{key} in {me}"));
        assert_eq!(id.len(), 64, "{key} is a 32-byte key in hex: {id}");
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{key}: {id}");
        assert_eq!(me[key], init[key], "whoami and init agree on {key}");
    }
    assert_ne!(me["person"], me["device"]);

    let text = home.ok(&["whoami"]);
    assert!(text.starts_with("Maya\n"), "{text}");
    assert!(
        text.contains(me["person"].as_str().expect("person")),
        "{text}"
    );
    assert!(text.contains("(laptop)"), "{text}");

    // Another home is another person.
    let other = Home::init("Jordan").json(&["whoami"]);
    assert_ne!(other["person"], me["person"]);
    assert_ne!(other["device"], me["device"]);

    // The --home flag wins over TAPIN_HOME.
    let flagged = home.scratch().join("elsewhere");
    let run = home
        .cmd(&[
            "--json",
            "--home",
            flagged.to_str().expect("UTF-8"),
            "init",
            "--name",
            "Ada",
        ])
        .output()
        .expect("run");
    assert_eq!(run.status.code(), Some(0));
    assert!(flagged.join("tapin.db").exists());
    assert_eq!(home.json(&["whoami"])["name"], "Maya");
}

#[test]
fn completions_print_a_script_without_needing_a_home() {
    let home = Home::new("nobody");
    let bash = home.ok(&["completions", "bash"]);
    assert!(bash.contains("_tapin()"), "a bash function:\n{bash}");
    assert!(
        bash.contains("complete -F _tapin"),
        "registered with complete:\n{bash}"
    );
    for sub in ["journal", "ritual", "checkin", "--monthly-on"] {
        assert!(
            bash.contains(sub),
            "{sub} missing from the bash completions"
        );
    }
    let cases = [
        ("zsh", "#compdef tapin"),
        ("fish", "complete -c tapin"),
        ("elvish", "tapin"),
        ("powershell", "tapin"),
    ];
    for (shell, want) in cases {
        let script = home.ok(&["completions", shell]);
        assert!(script.contains(want), "{shell}: {want:?} missing");
    }
    assert!(!home.path().exists(), "completions created a home");
}

#[test]
fn the_demo_runs_end_to_end_and_leaves_nothing_behind() {
    let home = Home::new("untouched");
    let tmp = home.scratch().join("tmp");
    std::fs::create_dir(&tmp).expect("tmp dir");
    let run: tapin_e2e::Run = home
        .cmd(&["demo"])
        .env("TMPDIR", &tmp)
        .output()
        .expect("run the demo")
        .into();
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    for want in [
        "maya $ tapin init --name Maya",
        "jordan $ tapin init --name Jordan",
        "maya $ tapin invite",
        "jordan $ tapin join TAPIN",
        "Paired with Maya",
        "maya $ tapin sync",
        "new changes)",
        "Plan one weekend trip",
        "Communicate more openly",
        "Their side is verified",
        "maya's private journal entry (maya-private-7f3a) is in no file of jordan's home",
        "jordan's private journal entry (jordan-private-c91e) is in no file of maya's home",
    ] {
        assert!(
            run.stdout.contains(want),
            "{want:?} missing from the demo:\n{}",
            run.stdout
        );
    }
    assert!(
        !run.stdout.contains("\x1b["),
        "no colour when not on a terminal"
    );
    assert_eq!(
        std::fs::read_dir(&tmp).expect("tmp").count(),
        0,
        "the demo's temporary home was removed"
    );
    assert!(!home.path().exists(), "the demo does not touch TAPIN_HOME");
}

#[test]
fn the_demo_keeps_its_home_only_where_it_was_told() {
    let home = Home::new("untouched");
    let keep = home.scratch().join("keep");
    let keep_str = keep.to_str().expect("UTF-8");
    home.ok(&["demo", "--keep", keep_str]);
    for (who, friend) in [("maya", "Jordan"), ("jordan", "Maya")] {
        let kept_home = keep.join(who);
        let people = home.json(&["--home", kept_home.to_str().expect("UTF-8"), "people"]);
        let names: Vec<&str> = people
            .as_array()
            .expect("people")
            .iter()
            .map(|p| p["name"].as_str().expect("name"))
            .collect();
        assert_eq!(names, [friend], "{who}'s kept home");
        assert!(people[0]["peer"].is_object(), "{who} is paired");
    }
    let mut beside: Vec<String> = std::fs::read_dir(home.scratch())
        .expect("scratch")
        .map(|e| e.expect("entry").file_name().into_string().expect("UTF-8"))
        .collect();
    beside.sort();
    assert_eq!(beside, ["keep"], "the demo wrote outside --keep DIR");
}

#[test]
fn the_demo_follows_tapin_now() {
    // The README: TAPIN_NOW fixes the clock for tests and demos.
    let home = Home::new("untouched");
    let run: tapin_e2e::Run = home
        .cmd(&["demo"])
        .env("TAPIN_NOW", "2030-01-15T12:00:00Z")
        .output()
        .expect("run the demo")
        .into();
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stdout
            .contains("just because) on Monday 14 January 2030"),
        "`log --on yesterday` in the demo should resolve against TAPIN_NOW:\n{}",
        run.stdout
    );
}

/// Runs `args` with `--json` and checks stdout is exactly one JSON document.
#[track_caller]
fn one_json_document(home: &Home, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let run = home.run(&all);
    assert_eq!(run.code, Some(0), "tapin {all:?}: {}", run.stderr);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "tapin {all:?} did not print one JSON document ({e}):\n{}",
            run.stdout
        )
    })
}

#[test]
fn json_prints_one_document_for_every_command() {
    let home = Home::new("maya");
    one_json_document(&home, &["init", "--name", "Maya"]);
    let id = |v: Value| v["id"].as_str().expect("id").to_owned();
    let steps: &[&[&str]] = &[
        &["whoami"],
        &["person", "add", "Jordan", "--rhythm", "2w"],
        &["person", "add", "Sam"],
        &["person", "edit", "Sam", "--importance", "4"],
        &["person", "archive", "Sam"],
        &["person", "end", "Sam"],
        &["person", "restore", "Sam"],
        &["people"],
        &["people", "--all"],
        &["log", "Jordan", "--by", "me"],
        &["thanks", "Jordan", "Thanks"],
        &["boundary", "Jordan", "Mornings are mine"],
        &[
            "reflect", "Jordan", "--q1a", "a", "--q1b", "b", "--q2a", "c", "--q2b", "d", "--q3a",
            "e", "--q3b", "f", "--q4a", "g", "--q4b", "h",
        ],
        &["checkin", "Jordan", "--rating", "3"],
        &["goal", "list"],
        &["ritual", "list"],
        &["history", "Jordan"],
        &["journal", "list"],
        &["journal", "search", "@tag"],
        &["export", "--format", "json"],
    ];
    for args in steps {
        one_json_document(&home, args);
    }
    let goal = id(one_json_document(
        &home,
        &["goal", "add", "Jordan", "Walk", "--step", "Go"],
    ));
    for args in [
        vec!["goal", "step", "add", &goal, "Again"],
        vec!["goal", "step", "done", &goal, "1"],
        vec!["goal", "step", "undo", &goal, "1"],
        vec!["goal", "status", &goal, "adjusted"],
        vec!["goal", "share", &goal],
        vec!["goal", "share", &goal, "--private"],
        vec![
            "checkin",
            "Jordan",
            "--rating",
            "5",
            "--review",
            &format!("{goal}=achieved"),
        ],
    ] {
        one_json_document(&home, &args);
    }
    let ritual = id(one_json_document(
        &home,
        &["ritual", "add", "Jordan", "Walk", "--every", "7"],
    ));
    one_json_document(&home, &["ritual", "done", &ritual]);
    one_json_document(&home, &["ritual", "retire", &ritual]);
    let entry = id(one_json_document(&home, &["journal", "add", "Words @tag"]));
    one_json_document(&home, &["journal", "star", &entry]);
    one_json_document(&home, &["journal", "unstar", &entry]);
    let export = home.scratch().join("export.json");
    home.ok(&[
        "export",
        "--format",
        "json",
        "--out",
        export.to_str().expect("UTF-8"),
    ]);
    one_json_document(&home, &["import", export.to_str().expect("UTF-8")]);
}

#[test]
fn json_prints_one_document_for_file_exports_and_the_demo_too() {
    // The README: `--json` on any command prints one JSON document on stdout. Exports that write
    // files (and the demo) printed plain text or nothing.
    let home = Home::init("Maya");
    home.ok(&["person", "add", "Jordan"]);
    let dir = home.scratch().join("automerge");
    let file = home.scratch().join("export.json");
    let md = home.scratch().join("export.md");
    let mut failures = Vec::new();
    for args in [
        vec![
            "export",
            "--format",
            "automerge",
            "--out",
            dir.to_str().expect("UTF-8"),
        ],
        vec![
            "export",
            "--format",
            "json",
            "--out",
            file.to_str().expect("UTF-8"),
        ],
        vec![
            "export",
            "--format",
            "markdown",
            "--out",
            md.to_str().expect("UTF-8"),
        ],
        vec!["demo"],
    ] {
        let mut all = vec!["--json"];
        all.extend_from_slice(&args);
        let run = home.run(&all);
        assert_eq!(run.code, Some(0), "tapin {all:?}: {}", run.stderr);
        if serde_json::from_str::<Value>(&run.stdout).is_err() {
            failures.push(format!(
                "tapin {all:?} printed:\n{}",
                run.stdout.lines().take(3).collect::<Vec<_>>().join("\n")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "not one JSON document on stdout:\n{}",
        failures.join("\n")
    );
}

/// A home where every kind of styled output appears: due and overdue people, done steps, a
/// starred entry, red flags, retired rituals.
fn colourful_home() -> Home {
    let home = Home::init("Maya");
    home.ok(&["person", "add", "Jordan", "--rhythm", "1d", "--max", "2d"]);
    home.ok(&["person", "add", "Sam", "--rhythm", "1d", "--max", "30d"]);
    let goal = home.id(&["goal", "add", "Jordan", "Walk", "--step", "Go"]);
    home.ok(&["goal", "step", "done", &goal, "1"]);
    let ritual = home.id(&["ritual", "add", "Jordan", "Walk", "--every", "7"]);
    home.ok(&["ritual", "add", "Jordan", "Call", "--weekly-on", "monday"]);
    home.ok(&["ritual", "retire", &ritual]);
    home.ok(&["journal", "add", "Starred @tag", "--star"]);
    home
}

#[test]
fn output_has_no_colour_with_no_color_or_off_a_terminal() {
    let home = colourful_home();
    let later = "2026-12-01T12:00:00Z";
    let commands: &[&[&str]] = &[
        &["people"],
        &["goal", "list"],
        &["ritual", "list"],
        &["journal", "list"],
        &["history", "Jordan"],
        &["whoami"],
        &[
            "reflect", "Jordan", "--q1a", "no", "--q1b", "no", "--q2a", "no", "--q2b", "no",
            "--q3a", "no", "--q3b", "no", "--q4a", "sad", "--q4b", "sad",
        ],
        &["thanks", "Nobody", "x"],
        &["people", "--bogus"],
        &["goal", "add", "Jordan", "A goal", "--by", "someday"],
    ];
    for no_color in [true, false] {
        for args in commands {
            let mut cmd = home.cmd(args);
            cmd.env("TAPIN_NOW", later)
                .env("TERM", "xterm-256color")
                .env_remove("CLICOLOR_FORCE");
            if !no_color {
                cmd.env_remove("NO_COLOR");
            }
            let run: tapin_e2e::Run = cmd.output().expect("run").into();
            assert!(
                !run.stdout.is_empty() || !run.stderr.is_empty(),
                "{args:?} printed nothing"
            );
            for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
                assert!(
                    !text.contains("\x1b["),
                    "{args:?} (NO_COLOR {no_color}) wrote an ANSI escape on {stream}:\n{text:?}"
                );
            }
        }
    }
    // The states that would be coloured are really in the output.
    let people = home.ok_at(later, &["people"]);
    assert!(
        people.contains("overdue") && people.contains("due ("),
        "{people}"
    );
}

/// A home whose journal holds `n` entries of about 2 KB each, written through an import.
fn big_journal(n: usize) -> Home {
    let home = Home::init("Maya");
    let mut export = home.export_json();
    let mut entries = serde_json::Map::new();
    for i in 0..n {
        let text = format!(
            "Entry {i} @bulk\n{}",
            "All work and no play makes a dull day. ".repeat(50)
        );
        entries.insert(
            format!("{:032x}", i + 1),
            json!({ "at": 1_795_348_800_000_i64 - i as i64 * 60_000, "text": text, "tags": ["bulk"], "about": [], "starred": false, "principles": [] }),
        );
    }
    export["journal"]["entries"] = Value::Object(entries);
    home.import_json(&export);
    home
}

#[test]
fn a_reader_that_closes_the_pipe_early_is_not_an_error() {
    let home = big_journal(200);
    let commands: &[&[&str]] = &[
        &["journal", "list", "--limit", "1000"],
        &["--json", "journal", "list", "--limit", "1000"],
        &["journal", "search", "@bulk", "--limit", "1000"],
        &["export", "--format", "json"],
        &["export", "--format", "markdown"],
    ];
    for args in commands {
        // The whole output is far larger than a pipe's buffer, so the writer is still writing
        // when the reader goes away.
        let full = home.ok(args);
        assert!(
            full.len() > 256 * 1024,
            "{args:?} printed only {} bytes",
            full.len()
        );

        let mut child = home
            .cmd(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
        let mut first = String::new();
        reader.read_line(&mut first).expect("read one line");
        assert!(!first.is_empty(), "{args:?} printed nothing");
        drop(reader);
        let out = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?} exit status after the pipe closed; stderr:\n{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}:\n{stderr}");
        assert!(
            !stderr.to_lowercase().contains("broken pipe"),
            "{args:?}:\n{stderr}"
        );
        assert!(!stderr.contains("error"), "{args:?}:\n{stderr}");
    }
}

#[test]
fn two_processes_writing_at_once_lose_nothing() {
    let home = Home::init("Maya");
    home.ok(&["person", "add", "Jordan"]);
    std::thread::scope(|s| {
        for writer in ["a", "b"] {
            let home = &home;
            s.spawn(move || {
                for i in 0..50 {
                    let text = format!("Thanks {writer}{i}");
                    home.ok(&["thanks", "Jordan", &text]);
                }
            });
        }
    });
    let history = home.json(&["history", "Jordan", "--limit", "1000"]);
    let mut texts: Vec<String> = history["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| i["kind"] == "thanks")
        .map(|i| i["record"]["text"].as_str().expect("text").to_owned())
        .collect();
    texts.sort();
    let mut want: Vec<String> = ["a", "b"]
        .iter()
        .flat_map(|w| (0..50).map(move |i| format!("Thanks {w}{i}")))
        .collect();
    want.sort();
    assert_eq!(texts.len(), 100);
    assert_eq!(texts, want);
}

#[test]
fn two_processes_writing_the_journal_at_once_lose_nothing() {
    let home = Home::init("Maya");
    std::thread::scope(|s| {
        for writer in ["a", "b"] {
            let home = &home;
            s.spawn(move || {
                for i in 0..25 {
                    let text = format!("Entry {writer}{i} @{writer}");
                    home.ok(&["journal", "add", &text]);
                }
            });
        }
    });
    let list = home.json(&["journal", "list", "--limit", "1000"]);
    assert_eq!(list["total"], 50);
    for writer in ["a", "b"] {
        let tagged = home.json(&["journal", "list", "--tag", writer, "--limit", "1000"]);
        assert_eq!(tagged["total"], 25, "entries by writer {writer}");
    }
}
