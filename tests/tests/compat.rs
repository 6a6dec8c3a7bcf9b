//! Compatibility across versions, end to end: what a friend on a newer tapin writes reaches this
//! one over a real sync, and every page still works.
//!
//! A newer tapin is played by writing into the friend's own side with the friend's device key,
//! exactly as their devices would (so the changes pass the sync's authorship check), then
//! syncing over real iroh endpoints on 127.0.0.1.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ROOT, ReadDoc};
use serde_json::Value;
use tapin_core::{DocId, Id};
use tapin_e2e::{Home, free_udp_ports, pair};

/// Maya and Jordan, paired over loopback (Maya invited).
fn friends() -> (Home, Home) {
    let [maya_port, jordan_port] = free_udp_ports::<2>();
    let maya = Home::init_net("Maya", "maya-laptop", maya_port);
    let jordan = Home::init_net("Jordan", "jordan-phone", jordan_port);
    pair(&maya, &jordan);
    (maya, jordan)
}

/// Changes `person`'s own side of the relationship with `friend` the way their device would.
fn write_side(person: &Home, friend: &str, f: impl FnOnce(&mut AutoCommit)) {
    let rel = person.relationship(friend);
    let (store, key) = person.store_and_key();
    store
        .update(&DocId::Side(rel), &key.actor(), |d| {
            f(d);
            Ok::<_, std::convert::Infallible>(())
        })
        .expect("write the side");
}

/// The map under `key` in `parent`.
fn map(d: &AutoCommit, parent: &ObjId, key: &str) -> ObjId {
    match d.get(parent, key).expect("read the side") {
        Some((automerge::Value::Object(ObjType::Map), id)) => id,
        other => panic!("{key} is not a map: {other:?}"),
    }
}

/// A record under `key` in the collection `collection`, with `fields`.
fn put_record(d: &mut AutoCommit, collection: &str, key: &str, fields: &[(&str, Value)]) {
    let coll = map(d, &ROOT, collection);
    let rec = d.put_object(&coll, key, ObjType::Map).expect("a record");
    for (field, value) in fields {
        match value {
            Value::String(s) => d.put(&rec, *field, s.as_str()),
            Value::Number(n) => d.put(&rec, *field, n.as_i64().expect("an integer")),
            Value::Bool(b) => d.put(&rec, *field, *b),
            Value::Array(items) if items.is_empty() => {
                d.put_object(&rec, *field, ObjType::List).map(drop)
            }
            other => panic!("no such value in these tests: {other}"),
        }
        .expect("a field");
    }
}

fn sync(maya: &Home, jordan: &Home) {
    let _serve = jordan.start_serve();
    maya.sync_with("Jordan");
}

fn no_panic(home: &Home, args: &[&str]) -> String {
    let run = home.run(args);
    assert_eq!(
        run.code,
        Some(0),
        "tapin {args:?} failed:\n{}\n{}",
        run.stdout,
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    run.stdout
}

/// One record a newer tapin (or damage) made unreadable in a friend's side used to make `show`,
/// `people`, `today` and `report` fail for every relationship ("document replica-… does not match
/// its schema"), and a record keyed "x" made `show` panic on `&id[..8]`.
#[test]
fn records_this_version_cannot_read_in_a_friends_side_leave_the_rest_readable() {
    let (maya, jordan) = friends();
    jordan.ok(&["thanks", "Maya", "Thank you for the soup"]);
    jordan.ok(&["goal", "add", "Maya", "Plan a trip", "--share"]);
    let when = serde_json::json!(1_763_000_000_000i64);
    write_side(&jordan, "Maya", |d| {
        let paused = Id::named("paused goal").to_string();
        put_record(
            d,
            "goals",
            &paused,
            &[
                ("title", "Learn to sail".into()),
                ("why", "".into()),
                ("kind", "Mentoring".into()),
                ("status", "Paused".into()),
                ("created", when.clone()),
                ("updated", when.clone()),
            ],
        );
        d.put(
            map(d, &map(d, &ROOT, "goals"), &paused),
            "by",
            automerge::ScalarValue::Null,
        )
        .expect("by");
        d.put_object(
            map(d, &map(d, &ROOT, "goals"), &paused),
            "objectives",
            ObjType::Map,
        )
        .expect("objectives");
        // A key that is not an id; a field of another type; a date that is not one; a value out
        // of range.
        put_record(
            d,
            "thanks",
            "x",
            &[
                ("on", "2026-11-20".into()),
                ("text", "keyed x".into()),
                ("created", when.clone()),
            ],
        );
        let ids: Vec<String> = (0..3)
            .map(|n| Id::named(&format!("bad{n}")).to_string())
            .collect();
        put_record(
            d,
            "thanks",
            &ids[0],
            &[
                ("on", "2026-11-20".into()),
                ("text", 42.into()),
                ("created", when.clone()),
            ],
        );
        put_record(
            d,
            "thanks",
            &ids[1],
            &[
                ("on", "someday".into()),
                ("text", "when?".into()),
                ("created", when.clone()),
            ],
        );
        put_record(
            d,
            "checkins",
            &ids[2],
            &[
                ("on", "2026-11-20".into()),
                ("rating", 99.into()),
                ("went_well", "".into()),
                ("to_change", "".into()),
                ("reviews", serde_json::json!([])),
                ("principles", serde_json::json!([])),
                ("created", when.clone()),
            ],
        );
        // A kind of record this version does not know.
        let letters = d
            .put_object(ROOT, "letters", ObjType::Map)
            .expect("letters");
        for n in 0..2 {
            let letter = d
                .put_object(
                    &letters,
                    Id::named(&format!("letter{n}")).to_string(),
                    ObjType::Map,
                )
                .expect("a letter");
            d.put(&letter, "text", "Dear Maya").expect("text");
        }
    });
    sync(&maya, &jordan);

    let page = maya.json(&["show", "Jordan"]);
    let titles: Vec<&str> = page["their_goals"]
        .as_array()
        .expect("their goals")
        .iter()
        .filter_map(|g| g["title"].as_str())
        .collect();
    assert!(titles.contains(&"Plan a trip"), "{page:#}");
    let sail = page["their_goals"]
        .as_array()
        .and_then(|goals| goals.iter().find(|g| g["title"] == "Learn to sail"))
        .unwrap_or_else(|| panic!("a goal with a newer status is shown:\n{page:#}"));
    assert_eq!(sail["status"], "paused");
    assert_eq!(sail["kind"], "mentoring");
    assert!(
        page["thanks"]
            .to_string()
            .contains("Thank you for the soup"),
        "{page:#}"
    );
    // The thanks keyed "x", the two broken ones, the check-in out of range and two letters.
    assert_eq!(page["unreadable"]["theirs"], 6, "{page:#}");
    assert_eq!(page["unreadable"]["mine"], 0, "{page:#}");

    let text = no_panic(&maya, &["show", "Jordan"]);
    assert!(text.contains("Learn to sail [paused"), "{text}");
    assert!(
        text.contains(
            "6 records shared with you could not be read by this version of tapin (written by a \
             newer version, or damaged); they are kept as they are."
        ),
        "{text}"
    );
    let people = maya.json(&["people"]);
    assert_eq!(people[0]["name"], "Jordan");
    assert_eq!(people[0]["unreadable"]["theirs"], 6, "{people:#}");
    assert!(no_panic(&maya, &["people"]).contains("6 records shared with you"));
    assert_eq!(maya.json(&["today"])["unreadable"]["theirs"], 6);
    no_panic(&maya, &["today"]);
    let html = maya.scratch().join("jordan.html");
    no_panic(
        &maya,
        &["report", "Jordan", "--html", html.to_str().expect("UTF-8")],
    );
    let page = std::fs::read_to_string(&html).expect("the report");
    assert!(page.contains("Learn to sail"), "the report shows the goal");
    assert!(page.contains("6 records shared with you could not be read"));

    // Their side from a newer schema altogether: shown as such, and everything else works.
    write_side(&jordan, "Maya", |d| {
        d.put(ROOT, "schema", 2u64).expect("schema");
    });
    sync(&maya, &jordan);
    let page = maya.json(&["show", "Jordan"]);
    assert_eq!(page["their_goals"], serde_json::json!([]), "{page:#}");
    let why = page["unreadable"]["sides"][0]["why"]
        .as_str()
        .unwrap_or_default();
    assert!(
        why.contains("their side was written by a newer tapin (document schema 2)"),
        "{page:#}"
    );
    let text = no_panic(&maya, &["show", "Jordan"]);
    assert!(
        text.contains(
            "Jordan: their side was written by a newer tapin (document schema 2); update tapin \
             to read it."
        ),
        "{text}"
    );
    no_panic(&maya, &["people"]);
    no_panic(&maya, &["today"]);
    no_panic(
        &maya,
        &["report", "Jordan", "--html", html.to_str().expect("UTF-8")],
    );
    maya.ok(&["thanks", "Jordan", "Still here"]);
}

/// Every release's fixture homes (tests/fixtures/homes/<release>/), copied into a temporary
/// directory so the committed files are never touched.
fn fixture_releases() -> Vec<(String, tempfile::TempDir)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/homes");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&root).expect("tests/fixtures/homes") {
        let entry = entry.expect("a fixture");
        let release = entry.file_name().to_string_lossy().into_owned();
        let copy = tempfile::tempdir().expect("a temporary directory");
        copy_dir(&entry.path(), copy.path());
        out.push((release, copy));
    }
    assert!(!out.is_empty(), "no fixture homes in {}", root.display());
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("create");
    for entry in std::fs::read_dir(from).expect("read the fixture") {
        let entry = entry.expect("an entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// The real binary on a fixture home, with the clock the fixture was written at.
fn tapin_at(dir: &std::path::Path, args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new(tapin_e2e::tapin_bin());
    cmd.args(args)
        .env("TAPIN_HOME", dir)
        .env("TAPIN_NOW", tapin_e2e::NOW)
        .env("TZ", "UTC")
        .env("NO_COLOR", "1")
        .env("TAPIN_MDNS", "off")
        .env("TAPIN_RELAY", "none")
        .env_remove("TAPIN_PORT")
        .env_remove("TAPIN_BIND")
        .stdin(std::process::Stdio::null());
    cmd
}

fn at_home(dir: &std::path::Path, args: &[&str]) -> tapin_e2e::Run {
    tapin_at(dir, args).output().expect("spawn tapin").into()
}

fn ok_at(dir: &std::path::Path, args: &[&str]) -> String {
    let run = at_home(dir, args);
    assert_eq!(
        run.code,
        Some(0),
        "tapin {args:?} on {} failed:\n{}\n{}",
        dir.display(),
        run.stdout,
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    run.stdout
}

/// Whether `now` holds everything `then` does: the same scalars, the same arrays element by
/// element, and every key of an object (with what it holds), beside keys `then` does not have.
/// The error is the path of the first difference.
fn holds(now: &Value, then: &Value, at: &str) -> Result<(), String> {
    match (now, then) {
        (Value::Object(now), Value::Object(then)) => then.iter().try_for_each(|(key, value)| {
            let at = format!("{at}.{key}");
            match now.get(key) {
                Some(got) => holds(got, value, &at),
                None => Err(at),
            }
        }),
        (Value::Array(now), Value::Array(then)) if now.len() == then.len() => now
            .iter()
            .zip(then)
            .enumerate()
            .try_for_each(|(i, (a, b))| holds(a, b, &format!("{at}[{i}]"))),
        (now, then) if now == then => Ok(()),
        _ => Err(at.to_owned()),
    }
}

/// A home every earlier release wrote opens, shows everything it holds, exports exactly what that
/// release exported, and takes new writes.
#[test]
fn every_release_fixture_home_opens_and_reads_as_it_was_written() {
    for (release, dir) in fixture_releases() {
        for (home, friend) in [("maya", "Jordan"), ("jordan", "Maya")] {
            let path = dir.path().join(home);
            let what = format!("{release}/{home}");
            for args in [
                &["whoami"][..],
                &["people", "--all"],
                &["today"],
                &["show", friend],
                &["history", friend],
                &["journal", "list"],
                &["goal", "list"],
                &["ritual", "list"],
            ] {
                ok_at(&path, args);
            }
            let html = dir.path().join(format!("{home}.html"));
            ok_at(
                &path,
                &["report", friend, "--html", html.to_str().expect("UTF-8")],
            );

            // The export holds exactly what the release exported.
            let then: Value = serde_json::from_slice(
                &std::fs::read(dir.path().join(format!("{home}-export.json")))
                    .expect("the release's export"),
            )
            .expect("JSON");
            let now: Value =
                serde_json::from_str(&ok_at(&path, &["--json", "export", "--format", "json"]))
                    .expect("JSON");
            // Fields are added, never changed: everything the release exported is there, the
            // same, and a later release may add fields beside it.
            for part in ["name", "person", "private", "journal", "sides"] {
                if let Err(at) = holds(&now[part], &then[part], part) {
                    panic!("{what}: the export's {at} differs from the release's");
                }
            }
            let page: Value =
                serde_json::from_str(&ok_at(&path, &["--json", "show", friend])).expect("JSON");
            assert_eq!(page["unreadable"]["mine"], 0, "{what}: {page:#}");
            assert_eq!(page["unreadable"]["theirs"], 0, "{what}: {page:#}");
            assert_eq!(page["paired"], true, "{what}");
            assert_eq!(page["their_side"]["verified"], true, "{what}: {page:#}");

            // And it takes new writes, which read back.
            ok_at(&path, &["thanks", friend, "Written by a later release"]);
            let page: Value =
                serde_json::from_str(&ok_at(&path, &["--json", "show", friend])).expect("JSON");
            assert!(
                page["thanks"]
                    .to_string()
                    .contains("Written by a later release"),
                "{what}: {page:#}"
            );
        }
    }
}

/// Two paired homes every earlier release wrote sync with each other through this build, at the
/// addresses and ports the release stored, in a network namespace of their own where those ports
/// are free: what each writes now reaches the other, and both stay verified.
#[test]
fn every_release_fixture_pair_syncs_through_this_build() {
    if !tapin_e2e::lab::available() {
        return;
    }
    for (release, dir) in fixture_releases() {
        let (maya, jordan) = (dir.path().join("maya"), dir.path().join("jordan"));
        ok_at(&maya, &["thanks", "Jordan", "From Maya, after upgrading"]);
        ok_at(&jordan, &["thanks", "Maya", "From Jordan, after upgrading"]);

        let ns = tapin_e2e::lab::Netns::loopback();
        let mut serve = ns.spawn(tapin_at(&jordan, &["serve"]), None);
        tapin_e2e::eventually(tapin_e2e::NET_TIMEOUT, "Jordan's serve to listen", || {
            serve.stderr().contains("Serving as") || !serve.running()
        });
        assert!(
            serve.running(),
            "{release}: serve stopped:\n{}",
            serve.stderr()
        );
        let run = ns.run(tapin_at(&maya, &["--json", "sync", "Jordan"]));
        assert_eq!(
            run.code,
            Some(0),
            "{release}: {}\n{}",
            run.stdout,
            run.stderr
        );
        let report: Value = serde_json::from_str(&run.stdout).expect("JSON");
        assert_eq!(
            report["friends"][0]["reached"], true,
            "{release}: {report:#}"
        );
        drop(serve);

        for (home, friend, theirs) in [
            (&maya, "Jordan", "From Jordan, after upgrading"),
            (&jordan, "Maya", "From Maya, after upgrading"),
        ] {
            let page: Value =
                serde_json::from_str(&ok_at(home, &["--json", "show", friend])).expect("JSON");
            assert!(
                page["thanks"].to_string().contains(theirs),
                "{release}: {theirs:?} did not arrive:\n{page:#}"
            );
            assert_eq!(page["their_side"]["verified"], true, "{release}: {page:#}");
        }
    }
}
