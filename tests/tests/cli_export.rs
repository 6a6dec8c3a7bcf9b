//! Export and import through the real binary: JSON round trips into a fresh home, importing twice
//! adds nothing twice, Markdown is readable, and each document exports as a standard
//! `.automerge` file.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{Value, json};
use tapin_core::DocId;
use tapin_e2e::Home;

/// A home with something of every kind in it: people (one archived), shared and private goals
/// with steps, a kept ritual, a check-in, interactions, thanks, a boundary, reflections and
/// journal entries.
fn rich_home() -> Home {
    let home = Home::init("Maya");
    home.ok(&[
        "person",
        "add",
        "Jordan",
        "--importance",
        "5",
        "--rhythm",
        "2w",
    ]);
    home.ok(&["person", "add", "Ada", "--risk", "high"]);
    home.ok(&["person", "add", "Old Friend"]);
    home.ok(&["person", "archive", "Old Friend"]);
    let goal = home.id(&[
        "goal",
        "add",
        "Jordan",
        "Communicate more openly",
        "--by",
        "in 4 weeks",
        "--step",
        "Ask how their week went",
        "--step",
        "Share one worry",
        "--share",
    ]);
    home.ok(&["goal", "step", "done", &goal, "1"]);
    home.ok(&["goal", "add", "Jordan", "Be less defensive"]);
    home.ok(&["goal", "add", "Old Friend", "Write a letter"]);
    let ritual = home.id(&[
        "ritual",
        "add",
        "Ada",
        "One-on-one time",
        "--monthly-on",
        "31",
        "--guideline",
        "no money spent",
    ]);
    home.ok(&["ritual", "done", &ritual]);
    home.ok(&[
        "checkin",
        "Jordan",
        "--rating",
        "4",
        "--went-well",
        "We laughed",
        "--review",
        &format!("{goal}=active"),
    ]);
    home.ok(&[
        "log",
        "Jordan",
        "--by",
        "them",
        "--via",
        "call",
        "--reason",
        "just-because",
        "--on",
        "yesterday",
    ]);
    home.ok(&["log", "Ada", "--by", "me", "--private"]);
    home.ok(&["thanks", "Jordan", "Thank you for checking on me"]);
    home.ok(&["boundary", "Ada", "No calls after 10pm"]);
    home.ok(&[
        "reflect",
        "Ada",
        "--q1a",
        "not lately",
        "--q1b",
        "yes",
        "--q2a",
        "sometimes",
        "--q2b",
        "I try",
        "--q3a",
        "rarely",
        "--q3b",
        "monthly",
        "--q4a",
        "drained",
        "--q4b",
        "heard",
    ]);
    home.ok_at(
        "2026-11-22T13:00:00Z",
        &[
            "journal",
            "add",
            "Long talk with Jordan @grateful",
            "--about",
            "Jordan",
        ],
    );
    home.ok_at(
        "2026-11-22T14:00:00Z",
        &["journal", "add", "Stretched thin @self-care", "--star"],
    );
    home
}

/// Everything a person sees, as JSON: people, goals, rituals, the journal, and each history.
fn views(home: &Home) -> Vec<(String, Value)> {
    let mut views: Vec<(String, Value)> = [
        vec!["people", "--all"],
        vec!["goal", "list", "--all"],
        vec!["ritual", "list"],
        vec!["journal", "list", "--limit", "1000"],
    ]
    .into_iter()
    .map(|args| (args.join(" "), home.json(&args)))
    .collect();
    for person in ["Jordan", "Ada", "Old Friend"] {
        views.push((format!("history {person}"), home.json(&["history", person])));
        views.push((
            format!("goal list {person} --all"),
            home.json(&["goal", "list", person, "--all"]),
        ));
    }
    views
}

/// Per document: (name, stored chunks, snapshot bytes, chunk bytes, automerge changes).
fn store_counts(home: &Home) -> Vec<(String, u64, u64, u64, usize)> {
    let store = tapin_store::Store::open(&home.path()).expect("open the store");
    let stats = store.stats().expect("store stats");
    stats
        .documents
        .iter()
        .map(|d| {
            let doc = store.load(&d.doc).expect("load").expect("stored");
            (
                d.doc.to_string(),
                d.chunks,
                d.snapshot_bytes,
                d.chunk_bytes,
                doc.get_changes(&[]).len(),
            )
        })
        .collect()
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

#[test]
fn a_json_export_imported_into_a_fresh_home_shows_the_same_everything() {
    let maya = rich_home();
    let file = maya.scratch().join("maya.json");
    let run = maya.run(&["export", "--format", "json", "--out", path_str(&file)]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, "", "the export went to the file");
    assert!(run.stderr.contains("Exported to"), "{}", run.stderr);
    let export: Value =
        serde_json::from_slice(&std::fs::read(&file).expect("export written")).expect("JSON");
    assert_eq!(export["format"], "tapin-export");
    assert_eq!(export["version"], 1);
    assert_eq!(export["name"], "Maya");
    assert_eq!(export["exported_at"], "2026-11-22T12:00:00Z");
    assert_eq!(
        export["private"]["relationships"]
            .as_object()
            .map(|o| o.len()),
        Some(3)
    );
    assert_eq!(
        export["journal"]["entries"].as_object().map(|o| o.len()),
        Some(2)
    );
    // Stdout and --out give the same document.
    assert_eq!(maya.export_json(), export);

    let fresh = Home::init("Maya");
    let summary = fresh.json(&["import", path_str(&file)]);
    assert_eq!(
        summary,
        json!({
            "relationships": 3, "reflections": 1, "journal_entries": 2, "shared_sides": 2,
            "changed": true, "restored_from": { "name": "Maya", "person": export["person"] },
        })
    );
    for ((what, want), (_, got)) in views(&maya).into_iter().zip(views(&fresh)) {
        assert_eq!(got, want, "`{what}` differs after the round trip");
    }
    let again = fresh.export_json();
    for part in ["private", "journal", "sides"] {
        assert_eq!(
            again[part], export[part],
            "{part} differs after the round trip"
        );
    }
}

#[test]
fn importing_the_same_export_twice_adds_nothing_twice() {
    let maya = rich_home();
    let export = maya.export_json();
    let fresh = Home::init("Maya");
    assert_eq!(fresh.import_json(&export)["changed"], true);
    let after_first = store_counts(&fresh);
    let views_first = views(&fresh);

    let second = fresh.import_json(&export);
    assert_eq!(second["changed"], false, "{second}");
    assert_eq!(second["relationships"], 3);
    assert_eq!(
        store_counts(&fresh),
        after_first,
        "the second import wrote to the store"
    );
    assert_eq!(views(&fresh), views_first);

    let text = fresh.ok(&[
        "import",
        path_str(&fresh.scratch().join("import-maya.json")),
    ]);
    assert!(text.contains("nothing changed"), "{text}");

    // Importing a home's own export into itself changes nothing either.
    assert_eq!(maya.import_json(&export)["changed"], false);
}

#[test]
fn import_reads_standard_input_with_a_dash() {
    let maya = rich_home();
    let export = maya.ok(&["export", "--format", "json"]);
    let fresh = Home::init("Maya");
    let run = fresh.run_with_input(&["--json", "import", "-"], &export);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let summary: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(summary["changed"], true);
    assert_eq!(
        fresh.json(&["people", "--all"]),
        maya.json(&["people", "--all"])
    );
}

#[test]
fn a_bad_import_is_refused_before_anything_is_written() {
    let maya = rich_home();
    let good = maya.export_json();
    let fresh = Home::init("Maya");
    let mut newer = good.clone();
    newer["version"] = json!(99);
    let mut other_format = good.clone();
    other_format["format"] = json!("someone-else");
    let mut unlisted = good.clone();
    unlisted["sides"]["00000000000000000000000000000005"] = json!({});
    let mut bad_entry_id = good.clone();
    bad_entry_id["journal"]["entries"]["not-an-id"] = good["journal"]["entries"]
        .as_object()
        .and_then(|o| o.values().next())
        .cloned()
        .expect("an entry");
    let mut bad_relationship_id = good.clone();
    let rel = bad_relationship_id["private"]["relationships"]
        .as_object_mut()
        .and_then(|o| o.values().next().cloned())
        .expect("a relationship");
    bad_relationship_id["private"]["relationships"]["xyz"] = rel;

    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "not-json",
            b"this is not json".to_vec(),
            "is not a tapin JSON export",
        ),
        ("empty", Vec::new(), "is not a tapin JSON export"),
        (
            "other-format",
            serde_json::to_vec(&other_format).expect("json"),
            "is not a tapin export (format \"someone-else\")",
        ),
        (
            "newer",
            serde_json::to_vec(&newer).expect("json"),
            "newer tapin",
        ),
        (
            "unlisted",
            serde_json::to_vec(&unlisted).expect("json"),
            "which it does not list",
        ),
        (
            "bad-entry-id",
            serde_json::to_vec(&bad_entry_id).expect("json"),
            "journal.entries.not-an-id: invalid id \"not-an-id\": expected 32 hex digits",
        ),
        (
            "bad-rel-id",
            serde_json::to_vec(&bad_relationship_id).expect("json"),
            "private.relationships.xyz: invalid id \"xyz\"",
        ),
    ];
    for (name, bytes, want) in cases {
        let file = fresh.scratch().join(format!("{name}.json"));
        std::fs::write(&file, bytes).expect("write");
        let err = fresh.refuses(&["import", path_str(&file)]);
        assert!(err.contains(want), "{name}: {err}");
    }
    let missing = fresh.scratch().join("missing.json");
    let err = fresh.refuses(&["import", path_str(&missing)]);
    assert!(
        err.contains("could not read") && err.contains("missing.json"),
        "{err}"
    );
    assert_eq!(fresh.json(&["people", "--all"]), json!([]));
}

#[test]
fn the_markdown_export_names_people_goals_rituals_and_the_journal() {
    let maya = rich_home();
    let md = maya.ok(&["export", "--format", "markdown"]);
    for want in [
        "# tapin — Maya",
        "## Jordan",
        "## Ada",
        "## Old Friend",
        "### Shared",
        "### Private",
        "Goal: **Communicate more openly**",
        "  - [x] Ask how their week went",
        "  - [ ] Share one worry",
        "Goal: **Be less defensive**",
        "Ritual: **One-on-one time**, monthly on day 31 since 2026-11-22 (kept once)",
        "2026-11-22: Thanks: Thank you for checking on me",
        "2026-11-22: Boundary: No calls after 10pm",
        "### Reflection, 2026-11-22",
        "## Journal",
        "Long talk with Jordan @grateful",
        "Stretched thin @self-care",
    ] {
        assert!(
            md.contains(want),
            "{want:?} missing from the Markdown export:\n{md}"
        );
    }
    let file = maya.scratch().join("maya.md");
    maya.ok(&["export", "--format", "markdown", "--out", path_str(&file)]);
    assert_eq!(std::fs::read_to_string(&file).expect("written"), md);
}

#[test]
fn the_automerge_export_writes_one_standard_file_per_document() {
    let maya = rich_home();
    let dir = maya.scratch().join("automerge");
    let out = maya.ok(&["export", "--format", "automerge", "--out", path_str(&dir)]);

    let documents: Vec<DocId> = tapin_store::Store::open(&maya.path())
        .expect("open")
        .documents()
        .expect("documents");
    let want: BTreeSet<String> = documents.iter().map(|d| format!("{d}.automerge")).collect();
    let written: BTreeSet<String> = std::fs::read_dir(&dir)
        .expect("export dir")
        .map(|e| e.expect("entry").file_name().into_string().expect("UTF-8"))
        .collect();
    assert_eq!(written, want);
    // private, the journal's week, and the shared side of Jordan and Ada (Old Friend shares
    // nothing).
    assert_eq!(written.len(), 4, "{written:?}");
    assert!(
        written.contains("private.automerge") && written.contains("journal-2026-W47.automerge"),
        "{written:?}"
    );
    assert_eq!(written.iter().filter(|n| n.starts_with("side-")).count(), 2);

    let printed: BTreeSet<String> = out.lines().map(str::to_owned).collect();
    let paths: BTreeSet<String> = written
        .iter()
        .map(|n| path_str(&dir.join(n)).to_owned())
        .collect();
    assert_eq!(printed, paths, "stdout lists the files written");

    for name in &written {
        let bytes = std::fs::read(dir.join(name)).expect("read");
        assert_eq!(
            &bytes[..4],
            &[0x85, 0x6f, 0x4a, 0x83],
            "{name} starts with automerge's magic bytes"
        );
        let doc = automerge::Automerge::load(&bytes)
            .unwrap_or_else(|e| panic!("{name} does not load: {e}"));
        assert!(!doc.get_changes(&[]).is_empty(), "{name} has no history");
    }
    // What the journal's week file holds is that week of the journal: its entries are in there.
    let journal = std::fs::read(dir.join("journal-2026-W47.automerge")).expect("read");
    let journal = automerge::Automerge::load(&journal).expect("load");
    let week: DocId = "journal-2026-W47".parse().expect("a week");
    let entries = tapin_core::docs::read_journal_week(&journal, week).expect("a journal document");
    assert_eq!(entries.entries.len(), 2);

    // Exporting again into the same directory replaces the files.
    maya.ok(&["export", "--format", "automerge", "--out", path_str(&dir)]);
    assert_eq!(std::fs::read_dir(&dir).expect("dir").count(), 4);
}

#[test]
fn the_automerge_export_needs_a_directory() {
    let maya = rich_home();
    let err = maya.refuses_with(2, &["export", "--format", "automerge"]);
    assert!(err.contains("--out DIR"), "{err}");
    maya.refuses_with(2, &["export", "--format", "yaml"]);
    maya.refuses_with(2, &["export"]);
}
