//! `tapin import` reads nothing on trust: it never pairs, never mixes two people's data, checks
//! every record as a command would, and writes all of a file or none of it.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tapin_core::Id;
use tapin_e2e::{Home, free_udp_ports, pair};

/// The relationship named `name` in an export (its id and its JSON).
fn relationship<'a>(export: &'a mut Value, name: &str) -> (String, &'a mut Value) {
    let rels = export["private"]["relationships"]
        .as_object_mut()
        .expect("relationships");
    let (id, rel) = rels
        .iter_mut()
        .find(|(_, r)| r["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in the export"));
    (id.clone(), rel)
}

/// The pairing a home keeps for `name`: `(person, [device keys])`, or `None` if unpaired.
fn pairing(home: &Home, name: &str) -> Option<(String, Vec<String>)> {
    let people = home.json(&["people", "--all"]);
    let row = people
        .as_array()
        .expect("people")
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no {name}"))
        .clone();
    let peer = row.get("peer").filter(|p| !p.is_null())?;
    if !peer["unpaired"].is_null() {
        return None;
    }
    let devices = peer["devices"]
        .as_object()
        .expect("devices")
        .keys()
        .cloned()
        .collect();
    Some((peer["person"].as_str().expect("person").to_owned(), devices))
}

/// `tapin import` of a file whose relationship carried another `peer` re-paired that friend to
/// the file's device, with no invitation and no safety code: the real friend was then refused
/// and the impostor received the side. An import now never creates, changes or removes a
/// pairing.
#[test]
fn an_import_never_creates_changes_or_removes_a_pairing() {
    let [maya_port, jordan_port] = free_udp_ports::<2>();
    let maya = Home::init_net("Maya", "maya-laptop", maya_port);
    let jordan = Home::init_net("Jordan", "jordan-phone", jordan_port);
    pair(&maya, &jordan);
    maya.ok(&["person", "add", "Sam"]);
    let jordan_before = pairing(&maya, "Jordan").expect("paired with Jordan");

    // Maya's own export, with Jordan's pairing swapped for an impostor's device, Sam given a
    // pairing he never had, and a new relationship that claims one.
    let eve = Home::init("Eve");
    let eve_id = eve.json(&["whoami"]);
    let mut crafted = maya.export_json();
    let impostor = json!({
        "person": eve_id["person"],
        "name": "Jordan",
        "devices": { eve_id["device"].as_str().expect("device"): {
            "name": "not Jordan's phone", "cert": "00", "addrs": ["127.0.0.1:1"], "added": 1
        } },
        "paired": 1,
        "unpaired": null
    });
    relationship(&mut crafted, "Jordan").1["peer"] = impostor.clone();
    relationship(&mut crafted, "Sam").1["peer"] = impostor.clone();
    let (_, jordan_rel) = relationship(&mut crafted, "Jordan");
    let mut newcomer = jordan_rel.clone();
    newcomer["name"] = json!("Newcomer");
    newcomer["peer"] = impostor;
    crafted["private"]["relationships"][Id::named("newcomer").to_string()] = newcomer;
    let summary = maya.import_json(&crafted);
    assert_eq!(summary["changed"], true, "{summary}");

    assert_eq!(
        pairing(&maya, "Jordan"),
        Some(jordan_before),
        "Jordan was re-paired"
    );
    assert_eq!(pairing(&maya, "Sam"), None, "Sam was paired by a file");
    assert_eq!(
        pairing(&maya, "Newcomer"),
        None,
        "a new relationship came in paired"
    );

    // And the real Jordan still syncs.
    jordan.ok(&["thanks", "Maya", "Still me"]);
    let _serve = jordan.start_serve();
    maya.sync_with("Jordan");
    assert!(
        maya.json(&["show", "Jordan"])["thanks"]
            .to_string()
            .contains("Still me")
    );

    // An export in which Jordan is not paired does not unpair him either.
    let mut unpaired = maya.export_json();
    relationship(&mut unpaired, "Jordan").1["peer"] = Value::Null;
    maya.import_json(&unpaired);
    assert!(pairing(&maya, "Jordan").is_some(), "a file unpaired Jordan");
}

/// Importing another person's export adopted their pairings and their private journal.
#[test]
fn another_persons_export_is_refused_naming_whose_it_is() {
    let sam = Home::init("Sam");
    sam.ok(&["person", "add", "Ada"]);
    sam.ok(&["journal", "add", "Sam's private words"]);
    let file = sam.scratch().join("sam.json");
    sam.ok(&[
        "export",
        "--format",
        "json",
        "--out",
        file.to_str().expect("UTF-8"),
    ]);

    let maya = Home::init("Maya");
    maya.ok(&["person", "add", "Jordan"]);
    let err = maya.refuses(&["import", file.to_str().expect("UTF-8")]);
    let sam_key = sam.json(&["whoami"])["person"]
        .as_str()
        .expect("person")
        .to_owned();
    assert!(
        err.contains(&format!(
            "it is Sam's export (person {}), not yours",
            &sam_key[..8]
        )),
        "{err}"
    );
    assert!(err.contains("restores one into a new, empty home"), "{err}");
    assert!(maya.files_containing("Sam's private words").is_empty());

    // Into a new home it is a restore, which says what it does not bring back.
    let fresh = Home::init("Sam");
    let text = fresh.ok(&["import", file.to_str().expect("UTF-8")]);
    assert!(text.contains("Pairings are never imported"), "{text}");
    assert_eq!(fresh.json(&["journal", "list"])["total"], 1);
    // And importing it again is not taken for someone else's.
    let again = fresh.json(&["import", file.to_str().expect("UTF-8")]);
    assert_eq!(again["changed"], false);
}

/// Ranges were not checked: importance 0 or 9, rating 99. Every record is now checked as a
/// command would check it, and nothing is written.
#[test]
fn an_import_checks_every_record_as_a_command_would() {
    let maya = Home::init("Maya");
    maya.ok(&["person", "add", "Jordan"]);
    maya.ok(&[
        "checkin",
        "Jordan",
        "--rating",
        "4",
        "--went-well",
        "fine",
        "--share",
    ]);
    maya.ok(&["ritual", "add", "Jordan", "Walk", "--monthly-on", "4"]);
    let good = maya.export_json();
    let jordan = relationship(&mut good.clone(), "Jordan").0;
    let checkin = good["sides"][&jordan]["checkins"]
        .as_object()
        .and_then(|o| o.keys().next().cloned())
        .expect("a check-in");
    let ritual = good["private"]["records"][&jordan]["rituals"]
        .as_object()
        .and_then(|o| o.keys().next().cloned())
        .expect("a ritual");
    /// What a case is, how it changes the export, and what the refusal must say.
    type Case = (&'static str, Box<dyn Fn(&mut Value)>, String);
    let cases: Vec<Case> = vec![
        (
            "importance 0",
            Box::new(|v: &mut Value| relationship(v, "Jordan").1["importance"] = json!(0)),
            "importance: 0 is out of range 1–5".into(),
        ),
        (
            "importance 9",
            Box::new(|v: &mut Value| relationship(v, "Jordan").1["importance"] = json!(9)),
            "importance: 9 is out of range 1–5".into(),
        ),
        (
            "rating 99",
            Box::new({
                let (j, c) = (jordan.clone(), checkin.clone());
                move |v: &mut Value| v["sides"][&j]["checkins"][&c]["rating"] = json!(99)
            }),
            "rating: 99 is out of range 1–5".into(),
        ),
        (
            "monthly day 40",
            Box::new({
                let (j, r) = (jordan.clone(), ritual.clone());
                move |v: &mut Value| {
                    v["private"]["records"][&j]["rituals"][&r]["recurrence"]["day"] = json!(40)
                }
            }),
            "recurrence.day: 40 is out of range 1–31".into(),
        ),
        (
            "a name too long",
            Box::new(|v: &mut Value| relationship(v, "Jordan").1["name"] = json!("x".repeat(101))),
            "name: is 101 characters long; the limit is 100".into(),
        ),
        (
            "two people with one name",
            Box::new(|v: &mut Value| {
                let (_, rel) = relationship(v, "Jordan");
                let twin = rel.clone();
                v["private"]["relationships"][Id::named("twin").to_string()] = twin;
            }),
            "has the same name as the export's".into(),
        ),
        (
            "a date that is not one",
            Box::new({
                let (j, c) = (jordan.clone(), checkin.clone());
                move |v: &mut Value| v["sides"][&j]["checkins"][&c]["on"] = json!("someday")
            }),
            format!("sides.{jordan}.checkins.{checkin}.on"),
        ),
    ];
    let fresh = Home::init("Maya");
    fresh.import_json(&good);
    for (what, change, want) in cases {
        let mut bad = good.clone();
        change(&mut bad);
        let file = fresh.scratch().join("bad.json");
        std::fs::write(&file, serde_json::to_vec(&bad).expect("JSON")).expect("write");
        let err = fresh.refuses(&["import", file.to_str().expect("UTF-8")]);
        assert!(err.contains(&want), "{what}: {err}");
    }
}

/// An export big enough that importing it takes a while: `n` people, each with a shared side of
/// ten thanks notes, and `n` journal entries.
fn big_export(home: &Home, n: usize) -> Value {
    let mut export = home.export_json();
    let template = relationship(&mut export, "Template").1.clone();
    let rels = export["private"]["relationships"]
        .as_object_mut()
        .expect("relationships");
    rels.clear();
    let mut sides = serde_json::Map::new();
    let mut entries = serde_json::Map::new();
    for i in 0..n {
        let id = Id::named(&format!("person {i}")).to_string();
        let mut rel = template.clone();
        rel["name"] = json!(format!("Person {i}"));
        rels.insert(id.clone(), rel);
        let thanks: serde_json::Map<String, Value> = (0..10)
            .map(|k| {
                (
                    Id::named(&format!("thanks {i} {k}")).to_string(),
                    json!({ "on": "2026-11-20", "text": format!("Thank you, {i}, for {k}"), "created": 1 }),
                )
            })
            .collect();
        sides.insert(id, json!({ "thanks": thanks }));
        entries.insert(
            Id::named(&format!("entry {i}")).to_string(),
            json!({ "at": i, "text": format!("Entry {i} @tag{}", i % 7), "tags": [format!("tag{}", i % 7)],
                    "about": [], "starred": false, "principles": [] }),
        );
    }
    export["sides"] = Value::Object(sides);
    export["private"]["records"] = json!({});
    export["private"]["reflections"] = json!({});
    export["journal"]["entries"] = Value::Object(entries);
    export
}

/// What of the big export a home holds: (relationships, journal entries).
fn held(home: &Home) -> (usize, u64) {
    let people = home
        .json(&["people", "--all"])
        .as_array()
        .map_or(0, Vec::len);
    let entries = home.json(&["journal", "list"])["total"]
        .as_u64()
        .expect("a total");
    (people, entries)
}

/// A crash mid-import left a partial import in 13 of 15 tries. An import is one transaction now:
/// killed at any moment, the home holds all of the file or none of it.
#[test]
fn an_import_killed_at_any_moment_leaves_all_of_it_or_none() {
    const PEOPLE: usize = 150;
    let source = Home::init("Maya");
    source.ok(&["person", "add", "Template"]);
    let export = big_export(&source, PEOPLE);
    let file = source.scratch().join("big.json");
    std::fs::write(&file, serde_json::to_vec(&export).expect("JSON")).expect("write");
    let file = file.to_str().expect("UTF-8").to_owned();

    // How long a whole import takes here, to spread the kills over it.
    let timing = Home::init("Maya");
    let started = Instant::now();
    timing.ok(&["import", &file]);
    let whole = started.elapsed();
    assert_eq!(held(&timing), (PEOPLE, PEOPLE as u64));

    let (mut none, mut all) = (0, 0);
    for attempt in 0..20u32 {
        let home = Home::init("Maya");
        let mut child = home
            .cmd(&["import", &file])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn tapin");
        // Kill points spread over the import's run, the last few past its end.
        let at = whole.mul_f64(f64::from(attempt) / 16.0);
        std::thread::sleep(at.min(Duration::from_secs(20)));
        let _ = child.kill();
        let _ = child.wait();
        match held(&home) {
            (0, 0) => none += 1,
            (PEOPLE, n) if n == PEOPLE as u64 => all += 1,
            partial => panic!(
                "attempt {attempt}, killed after {at:?} of {whole:?}: a partial import {partial:?}"
            ),
        }
    }
    assert!(
        none > 0 && all > 0,
        "the kills all fell on one side: {none} none, {all} all"
    );
}
