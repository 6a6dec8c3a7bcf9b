//! The private journal through the real binary: writing (argument or stdin), tags, listing,
//! searching and stars.

use serde_json::{Value, json};
use tapin_e2e::Home;

fn maya_and_jordan() -> Home {
    let home = Home::init("Maya");
    home.ok(&["person", "add", "Jordan"]);
    home.ok(&["person", "add", "Sam"]);
    home
}

/// Entries written one minute apart, so "newest first" is well defined. Returns their ids.
fn write_at_minutes(home: &Home, entries: &[&[&str]]) -> Vec<String> {
    entries
        .iter()
        .enumerate()
        .map(|(n, args)| {
            let now = format!("2026-11-22T12:{n:02}:00Z");
            let mut all = vec!["journal", "add"];
            all.extend_from_slice(args);
            home.json_at(&now, &all)["id"]
                .as_str()
                .expect("id")
                .to_owned()
        })
        .collect()
}

fn texts(list: &Value) -> Vec<&str> {
    list["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["text"].as_str().expect("text"))
        .collect()
}

fn jordan_id(home: &Home) -> String {
    home.json(&["people"])
        .as_array()
        .expect("people")
        .iter()
        .find(|p| p["name"] == "Jordan")
        .expect("Jordan")["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

#[test]
fn journal_add_keeps_text_tags_people_and_star() {
    let home = maya_and_jordan();
    let added = home.json(&[
        "journal",
        "add",
        "  Tired after @Work but @grateful, mail me at a@b.com  ",
        "--about",
        "Jordan",
        "--about",
        "sam",
        "--tag",
        "Family",
        "--tag",
        "@work",
        "--star",
    ]);
    let entry = &added["entry"];
    assert_eq!(
        entry["text"], "Tired after @Work but @grateful, mail me at a@b.com",
        "trimmed"
    );
    assert_eq!(
        entry["tags"],
        json!(["family", "grateful", "work"]),
        "lowercase, sorted, once each"
    );
    assert_eq!(entry["starred"], true);
    assert_eq!(entry["about"].as_array().map(Vec::len), Some(2));
    assert_eq!(entry["about"][0], jordan_id(&home).as_str());
    assert_eq!(entry["at"], 1_795_348_800_000_i64);

    let list = home.json(&["journal", "list"]);
    assert_eq!(list["total"], 1);
    let row = &list["entries"][0];
    assert_eq!(row["id"], added["id"]);
    assert_eq!(row["about_names"], json!(["Jordan", "Sam"]));
    assert_eq!(row["written"], "2026-11-22 12:00");

    let text = home.ok(&["journal", "add", "Plain entry"]);
    assert!(text.contains("private"), "{text}");
    let listing = home.ok(&["journal", "list"]);
    assert!(
        listing.contains("about Jordan, Sam") && listing.contains("  Plain entry"),
        "{listing}"
    );
}

#[test]
fn journal_add_reads_the_entry_from_stdin_when_no_text_is_given() {
    let home = maya_and_jordan();
    let run = home.run_with_input(
        &["--json", "journal", "add", "--about", "Jordan"],
        "Long talk with Jordan tonight.\n@grateful that we can be honest.\n\n",
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let added: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(
        added["entry"]["text"],
        "Long talk with Jordan tonight.\n@grateful that we can be honest."
    );
    assert_eq!(added["entry"]["tags"], json!(["grateful"]));
    assert_eq!(
        texts(&home.json(&["journal", "list", "--about", "Jordan"])).len(),
        1
    );
}

#[test]
fn an_empty_journal_entry_is_refused_and_saves_nothing() {
    let home = maya_and_jordan();
    let err = home.refuses(&["journal", "add", "   "]);
    assert!(err.contains("the entry is empty"), "{err}");
    // No text and nothing on stdin (the harness gives the null device).
    let err = home.refuses(&["journal", "add", "--about", "Jordan"]);
    assert!(err.contains("the entry is empty"), "{err}");
    for input in ["", " \n\t\n"] {
        let before = home.snapshot();
        let run = home.run_with_input(&["journal", "add"], input);
        assert_eq!(run.code, Some(1), "{input:?}");
        assert!(
            run.stderr.contains("the entry is empty"),
            "{input:?}: {}",
            run.stderr
        );
        assert!(home.snapshot() == before, "{input:?} changed the home");
    }
    let err = home.refuses(&["journal", "add", "About nobody", "--about", "Nobody"]);
    assert!(err.contains("no one called \"Nobody\""), "{err}");
    assert_eq!(home.json(&["journal", "list"])["total"], 0);
}

#[test]
fn journal_list_is_newest_first_and_filters_by_tag_star_person_and_limit() {
    let home = maya_and_jordan();
    write_at_minutes(
        &home,
        &[
            &["first @work"],
            &["second", "--tag", "Work", "--star"],
            &["third about Jordan", "--about", "Jordan"],
            &["fourth @home", "--star", "--about", "Jordan"],
        ],
    );
    let all = home.json(&["journal", "list"]);
    assert_eq!(
        texts(&all),
        [
            "fourth @home",
            "third about Jordan",
            "second",
            "first @work"
        ]
    );
    assert_eq!(all["total"], 4);

    let cases: [(&[&str], &[&str]); 6] = [
        (&["--tag", "work"], &["second", "first @work"]),
        (&["--tag", "@WORK"], &["second", "first @work"]),
        (&["--starred"], &["fourth @home", "second"]),
        (
            &["--about", "Jordan"],
            &["fourth @home", "third about Jordan"],
        ),
        (&["--about", "Jordan", "--starred"], &["fourth @home"]),
        (&["--tag", "nothing"], &[]),
    ];
    for (flags, want) in cases {
        let mut args = vec!["journal", "list"];
        args.extend_from_slice(flags);
        let list = home.json(&args);
        assert_eq!(texts(&list), want, "{flags:?}");
        assert_eq!(list["total"], want.len(), "{flags:?}");
    }

    let limited = home.run(&["--json", "journal", "list", "--limit", "1"]);
    let list: Value = serde_json::from_str(&limited.stdout).expect("JSON");
    assert_eq!(texts(&list), ["fourth @home"]);
    assert_eq!(
        list["total"], 4,
        "total counts every match, not just those shown"
    );
    let text = home.run(&["journal", "list", "--limit", "2"]);
    assert!(
        text.stderr.contains("2 more"),
        "the rest is mentioned on stderr: {}",
        text.stderr
    );
    assert!(
        home.ok(&["journal", "list", "--tag", "nothing"])
            .contains("No entries found")
    );
}

#[test]
fn journal_search_needs_every_word_and_every_at_tag() {
    let home = maya_and_jordan();
    write_at_minutes(
        &home,
        &[
            &["Tired after @work"],
            &["Tired of waiting @family"],
            &["work was tiring"],
            &["@WORK went well, grateful", "--about", "Jordan"],
        ],
    );
    let cases: [(&str, &[&str]); 9] = [
        ("@work", &["@WORK went well, grateful", "Tired after @work"]),
        ("@work tired", &["Tired after @work"]),
        ("tired", &["Tired of waiting @family", "Tired after @work"]),
        (
            "work",
            &[
                "@WORK went well, grateful",
                "work was tiring",
                "Tired after @work",
            ],
        ),
        ("TIRED @family", &["Tired of waiting @family"]),
        ("@work @family", &[]),
        ("\"was tiring\"", &["work was tiring"]),
        ("\"tiring was\"", &[]),
        ("@nothing", &[]),
    ];
    for (query, want) in cases {
        let found = home.json(&["journal", "search", query]);
        assert_eq!(texts(&found), want, "search {query:?}");
        assert_eq!(found["total"], want.len(), "search {query:?}");
    }
    // The query may also come as separate words.
    assert_eq!(
        texts(&home.json(&["journal", "search", "@work", "tired"])),
        ["Tired after @work"]
    );
    assert_eq!(
        texts(&home.json(&["journal", "search", "@work", "--about", "Jordan"])),
        ["@WORK went well, grateful"]
    );

    // No query is a malformed command line.
    let err = home.refuses_with(2, &["journal", "search"]);
    assert!(err.contains("search for something"), "{err}");
}

#[test]
fn journal_star_and_unstar_by_id_prefix() {
    let home = maya_and_jordan();
    let ids = write_at_minutes(&home, &[&["one"], &["two"]]);
    let starred = home.json(&["journal", "star", &ids[0][..6]]);
    assert_eq!(starred["id"], ids[0].as_str());
    assert_eq!(starred["entry"]["starred"], true);
    assert_eq!(
        texts(&home.json(&["journal", "list", "--starred"])),
        ["one"]
    );

    home.ok(&["journal", "star", &ids[1]]);
    assert_eq!(
        texts(&home.json(&["journal", "list", "--starred"])),
        ["two", "one"]
    );

    let unstarred = home.json(&["journal", "unstar", &ids[0][..4]]);
    assert_eq!(unstarred["entry"]["starred"], false);
    assert_eq!(
        unstarred["entry"]["text"], "one",
        "the rest of the entry is kept"
    );
    assert_eq!(
        texts(&home.json(&["journal", "list", "--starred"])),
        ["two"]
    );
}

/// A home whose journal holds two entries whose ids share the prefix `abcd`.
fn two_entries_sharing_a_prefix() -> Home {
    let home = Home::init("Maya");
    let mut export = home.export_json();
    let entry = |text: &str| json!({ "at": 1_795_348_800_000_i64, "text": text, "tags": [], "about": [], "starred": false, "principles": [] });
    export["journal"]["entries"] = json!({
        "abcd0000000000000000000000000001": entry("one"),
        "abcd0000000000000000000000000002": entry("two"),
    });
    home.import_json(&export);
    home
}

#[test]
fn journal_star_refuses_an_ambiguous_short_or_unknown_id() {
    let home = two_entries_sharing_a_prefix();
    let cases = [
        ("abcd", 1, "ambiguous"),
        ("ABCD0000", 1, "ambiguous"),
        ("abc", 2, "too short"),
        ("ffff", 1, "no journal entry with id \"ffff\""),
    ];
    for (prefix, code, want) in cases {
        for cmd in ["star", "unstar"] {
            let err = home.refuses_with(code, &["journal", cmd, prefix]);
            assert!(err.contains(want), "{cmd} {prefix}: {err}");
        }
    }
    // Enough characters pick one.
    let starred = home.json(&["journal", "star", "abcd0000000000000000000000000002"]);
    assert_eq!(starred["entry"]["text"], "two");
    assert_eq!(
        texts(&home.json(&["journal", "list", "--starred"])),
        ["two"]
    );
}

#[test]
fn an_ambiguous_entry_id_is_reported_in_plain_english() {
    // Regression guard for "it matches 2 journal entrys".
    let home = two_entries_sharing_a_prefix();
    let err = home.refuses(&["journal", "star", "abcd"]);
    assert!(err.contains("matches 2 ids"), "{err}");
    assert!(!err.contains("entrys"), "{err}");
}
