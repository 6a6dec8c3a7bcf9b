//! `tapin report PERSON --html FILE` through the real binary, then opened in headless Chromium:
//! the page must load offline with no console message at all, run its one script (which marks
//! `<html data-ready="1">`), and carry exactly the history the test logged.
//!
//! Chromium is Debian's `chromium` package (`scripts/test` installs it when missing);
//! `TAPIN_CHROMIUM` names another binary. These tests fail, rather than skip, without it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tapin_e2e::{Home, free_udp_ports, pair};

/// How long one Chromium run may take before it is killed and the test fails.
const CHROMIUM_TIMEOUT: Duration = Duration::from_secs(30);

/// The Chromium binary: `TAPIN_CHROMIUM`, else `chromium` on the `PATH`.
fn chromium() -> PathBuf {
    if let Some(bin) = std::env::var_os("TAPIN_CHROMIUM") {
        return PathBuf::from(bin);
    }
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("chromium"))
            .find(|bin| bin.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "the HTML report is tested in headless Chromium, and `chromium` is not on the PATH; \
             install Debian's `chromium` package (scripts/test does) or set TAPIN_CHROMIUM"
        )
    })
}

/// What Chromium made of a page.
struct Loaded {
    /// The DOM after scripts ran (`--dump-dom`).
    dom: String,
    /// Chromium's own log, which includes every console message of the page.
    log: String,
}

impl Loaded {
    /// The lines of the log that are the page's console messages or uncaught errors.
    ///
    /// Chromium logs each console message as `[…:INFO:CONSOLE:<line>] "text", source: …`; it
    /// does not say whether the page called `console.log` or `console.error`, so any such line
    /// counts. The page logs nothing when all is well: a script error, a blocked load (the
    /// Content-Security-Policy reports every one in the console) or the page's own check failing
    /// all show up here.
    fn console(&self) -> Vec<&str> {
        self.log
            .lines()
            .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught"))
            .collect()
    }
}

/// Opens `page` in headless Chromium with a fresh profile and no network, and dumps its DOM.
#[track_caller]
fn load(page: &Path) -> Loaded {
    let scratch = tempfile::tempdir().expect("temp dir");
    let profile = scratch.path().join("profile");
    let (dom_path, log_path) = (scratch.path().join("dom"), scratch.path().join("log"));
    let file = |p: &Path| std::fs::File::create(p).expect("create output file");
    let page = page.canonicalize().expect("the report exists");
    let mut child = Command::new(chromium())
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            // Containers often have a tiny /dev/shm; Chromium then crashes without this.
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args([
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=2000",
            "--dump-dom",
        ])
        .arg(format!("file://{}", page.display()))
        .env("HOME", scratch.path())
        .env("TZ", "UTC")
        .stdin(Stdio::null())
        .stdout(file(&dom_path))
        .stderr(file(&log_path))
        .spawn()
        .expect("spawn chromium");
    let deadline = Instant::now() + CHROMIUM_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            panic!("chromium did not finish within {CHROMIUM_TIMEOUT:?}; its log:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let loaded = Loaded {
        dom: std::fs::read_to_string(&dom_path).expect("read the dumped DOM"),
        log: std::fs::read_to_string(&log_path).expect("read chromium's log"),
    };
    assert!(
        status.success(),
        "chromium exited with {status}; its log:\n{}",
        loaded.log
    );
    assert!(
        loaded.dom.contains("</html>"),
        "chromium dumped no page; its log:\n{}",
        loaded.log
    );
    loaded
}

/// One start tag: its attributes in order, as serialised (entities left as they are).
#[derive(Debug)]
struct Tag {
    /// Where the tag starts in the document.
    at: usize,
    attrs: Vec<(String, String)>,
}

impl Tag {
    fn get(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Every `<name …>` start tag in `html`, with its attributes (double-quoted values, as both
/// tapin and Chromium's serialiser write them).
fn tags(html: &str, name: &str) -> Vec<Tag> {
    let open = format!("<{name}");
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(found) = html[from..].find(&open) {
        let at = from + found;
        let rest = &html[at + open.len()..];
        from = at + open.len();
        // `<rect` must not match `<rectangle`.
        if !rest.starts_with(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/') {
            continue;
        }
        let mut attrs = Vec::new();
        let mut s = rest;
        loop {
            s = s.trim_start();
            if s.is_empty() || s.starts_with('>') || s.starts_with("/>") {
                break;
            }
            let end = s
                .find(|c: char| c == '=' || c == '>' || c.is_ascii_whitespace())
                .unwrap_or(s.len());
            let attr = s[..end].to_owned();
            s = &s[end..];
            if let Some(value) = s.strip_prefix("=\"") {
                let close = value.find('"').expect("a closed attribute value");
                attrs.push((attr, value[..close].to_owned()));
                s = &value[close + 1..];
            } else {
                attrs.push((attr, String::new()));
            }
        }
        out.push(Tag { at, attrs });
    }
    out
}

/// The page as written refers to nothing outside itself: no address, no attribute that loads
/// anything, no stylesheet import; and its Content-Security-Policy forbids loading anyway.
#[track_caller]
fn assert_self_contained(html: &str) {
    // Attribute values are always quoted, so `src="` catches every source (user text that
    // merely reads `src=x` has no quote once escaped).
    for remote in [
        "http://", "https://", "src=\"", "href=\"", "url(", "@import",
    ] {
        assert!(!html.contains(remote), "the page refers to {remote:?}");
    }
    assert!(
        html.contains("content=\"default-src 'none';"),
        "no Content-Security-Policy"
    );
}

/// Text with the entities a serialiser writes turned back into characters.
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The markup of the element whose start tag is at `tag.at`, up to the first `</name>` after
/// it (enough for the elements checked here, which do not nest in themselves).
fn element<'a>(html: &'a str, tag: &Tag, name: &str) -> &'a str {
    let close = format!("</{name}>");
    let end = html[tag.at..]
        .find(&close)
        .map_or(html.len(), |e| tag.at + e + close.len());
    &html[tag.at..end]
}

/// Reach-outs per bucket start from the chart's bars: `{start: (mine, theirs)}`, checking that
/// each bucket has exactly one bar per series.
#[track_caller]
fn bars(dom: &str, period: &str) -> BTreeMap<String, (u32, u32)> {
    let mut out: BTreeMap<String, (Option<u32>, Option<u32>)> = BTreeMap::new();
    for t in tags(dom, "rect") {
        let Some(series) = t.get("data-series") else {
            continue;
        };
        if t.get("data-period") != Some(period) {
            continue;
        }
        let start = t
            .get("data-start")
            .expect("a bar has data-start")
            .to_owned();
        let count: u32 = t
            .get("data-count")
            .expect("a bar has data-count")
            .parse()
            .expect("data-count is a number");
        let entry = out.entry(start.clone()).or_default();
        let slot = match series {
            "mine" => &mut entry.0,
            "theirs" => &mut entry.1,
            other => panic!("unknown series {other:?}"),
        };
        assert!(slot.is_none(), "two {series} bars for {period} {start}");
        *slot = Some(count);
    }
    out.into_iter()
        .map(|(start, (mine, theirs))| {
            let both = mine.zip(theirs);
            let (m, t) = both.unwrap_or_else(|| panic!("{period} {start} lacks a bar"));
            (start, (m, t))
        })
        .collect()
}

/// The chart's buckets as `tapin --json show` reports them: `{start: (mine, theirs)}`.
fn trend(show: &Value, key: &str) -> BTreeMap<String, (u32, u32)> {
    show["reciprocity"]["trend"][key]
        .as_array()
        .expect("trend buckets")
        .iter()
        .map(|b| {
            let n = |f: &str| u32::try_from(b[f].as_u64().expect("a count")).expect("small");
            (
                b["start"].as_str().expect("start").to_owned(),
                (n("i_reached_out"), n("they_reached_out")),
            )
        })
        .collect()
}

/// The state of each ritual mark on `day` in the calendar: `[(ritual id, state)]`.
fn marks_on(dom: &str, day: &str) -> Vec<(String, String)> {
    let cell = tags(dom, "td")
        .into_iter()
        .find(|t| t.get("data-day") == Some(day))
        .unwrap_or_else(|| panic!("no calendar cell for {day}"));
    let inner = element(dom, &cell, "td");
    tags(inner, "span")
        .into_iter()
        .filter_map(|t| {
            Some((
                t.get("data-ritual")?.to_owned(),
                t.get("data-state")?.to_owned(),
            ))
        })
        .collect()
}

/// The `<article>` of the goal titled `title`.
#[track_caller]
fn goal_card<'a>(dom: &'a str, title: &str) -> (&'a str, Tag) {
    tags(dom, "article")
        .into_iter()
        .filter(|t| t.get("data-goal").is_some())
        .map(|t| (element(dom, &t, "article"), t))
        .find(|(html, _)| html.contains(title))
        .unwrap_or_else(|| panic!("no goal card titled {title:?}"))
}

#[test]
fn the_report_shows_the_logged_history_goals_and_rituals_in_chromium() {
    // Today is Sunday 2026-11-22 (the harness's clock).
    let home = Home::init("Maya");
    home.ok(&["person", "add", "Jordan", "--rhythm", "2w"]);
    // The week of 2026-11-16: three by me, one by them. The week before: two by them, one of
    // them kept in my private records (it counts all the same). In September: one by me.
    for (by, on, extra) in [
        ("me", "2026-11-16", None),
        ("me", "2026-11-18", None),
        ("me", "2026-11-20", None),
        ("them", "2026-11-19", None),
        ("them", "2026-11-10", None),
        ("them", "2026-11-13", Some("--private")),
        ("me", "2026-09-03", None),
    ] {
        let mut args = vec!["log", "Jordan", "--by", by, "--on", on, "--via", "call"];
        args.extend(extra);
        home.ok(&args);
    }
    let shared_goal = home.id(&[
        "goal",
        "add",
        "Jordan",
        "Talk more openly",
        "--share",
        "--why",
        "We drift apart when we are busy",
        "--step",
        "Ask how their week went",
        "--step",
        "Share one worry",
        "--step",
        "Plan a long walk",
    ]);
    home.ok(&["goal", "step", "done", &shared_goal, "1"]);
    home.ok(&["goal", "step", "done", &shared_goal, "3"]);
    let private_goal = home.id(&[
        "goal",
        "add",
        "Jordan",
        "Say thank you more",
        "--step",
        "Write one note",
    ]);
    let walk = home.id(&[
        "ritual",
        "add",
        "Jordan",
        "Sunday walk",
        "--weekly-on",
        "sunday",
        "--minutes",
        "30",
        "--guideline",
        "no money spent",
        "--start",
        "2026-10-01",
        "--share",
    ]);
    for on in ["2026-11-08", "2026-11-15", "2026-11-22"] {
        home.ok(&["ritual", "done", &walk, "--on", on]);
    }
    let one_on_one = home.id(&[
        "ritual",
        "add",
        "Jordan",
        "One-on-one time",
        "--monthly-on",
        "4",
        "--start",
        "2026-09-01",
    ]);

    // A reflection with two red flags: private by nature, and left out of the page.
    home.ok(&[
        "reflect",
        "Jordan",
        "--q1a",
        "yes",
        "--q1b",
        "yes",
        "--q2a",
        "not really, they brush me off",
        "--q2b",
        "yes",
        "--q3a",
        "sometimes",
        "--q3b",
        "often",
        "--q4a",
        "drained and uneasy",
        "--q4b",
        "happy, I think",
    ]);

    let file = home.scratch().join("jordan.html");
    let printed = home.ok(&["report", "Jordan", "--html", file.to_str().expect("UTF-8")]);
    assert_eq!(
        printed.trim(),
        file.display().to_string(),
        "prints the path"
    );
    assert_self_contained(&std::fs::read_to_string(&file).expect("read the report"));
    let loaded = load(&file);
    let dom = &loaded.dom;

    assert_eq!(
        loaded.console(),
        Vec::<&str>::new(),
        "the page logged to the console"
    );
    let html = tags(dom, "html");
    assert_eq!(
        html.first().and_then(|t| t.get("data-ready")),
        Some("1"),
        "the page's script did not run to its end"
    );
    assert!(
        tags(dom, "svg")
            .iter()
            .any(|t| t.get("id") == Some("reciprocity-chart")),
        "no #reciprocity-chart"
    );

    // The weekly bars: the logged history, and exactly what `tapin show` computes.
    let show = home.json(&["show", "Jordan"]);
    let weeks = bars(dom, "week");
    assert_eq!(weeks, trend(&show, "weeks"), "weekly bars differ from show");
    assert_eq!(weeks.len(), 12);
    assert_eq!(weeks.keys().next().map(String::as_str), Some("2026-08-31"));
    let nonzero: Vec<(&str, (u32, u32))> = weeks
        .iter()
        .filter(|(_, c)| **c != (0, 0))
        .map(|(s, c)| (s.as_str(), *c))
        .collect();
    assert_eq!(
        nonzero,
        [
            ("2026-08-31", (1, 0)),
            ("2026-11-09", (0, 2)),
            ("2026-11-16", (3, 1)),
        ]
    );
    let months = bars(dom, "month");
    assert_eq!(
        months,
        trend(&show, "months"),
        "monthly bars differ from show"
    );
    assert_eq!(months.len(), 12);
    assert_eq!(months.get("2026-11-01"), Some(&(3, 3)));
    assert_eq!(months.get("2026-09-01"), Some(&(1, 0)));
    assert_eq!(months.values().map(|c| c.0 + c.1).sum::<u32>(), 7);

    // The windows, and the words.
    let cell = |window: &str, measure: &str| -> String {
        let t = tags(dom, "td")
            .into_iter()
            .find(|t| {
                t.get("data-window") == Some(window) && t.get("data-measure") == Some(measure)
            })
            .unwrap_or_else(|| panic!("no {measure} cell for {window} days"));
        let inner = element(dom, &t, "td");
        inner[inner.find('>').expect("tag end") + 1..inner.len() - "</td>".len()].to_owned()
    };
    for (window, mine, theirs) in [("30", "3", "3"), ("90", "4", "3"), ("365", "4", "3")] {
        assert_eq!(cell(window, "i_reached_out"), mine, "{window} days, mine");
        assert_eq!(
            cell(window, "they_reached_out"),
            theirs,
            "{window} days, theirs"
        );
    }
    let words = show["reciprocity"]["words"].as_str().expect("words");
    assert_eq!(words, "Fairly balanced over the last 90 days.");
    assert!(dom.contains(words), "the words are missing");

    // Goals: the shared one with its progress, the private one marked private.
    let (card, tag) = goal_card(dom, "Talk more openly");
    assert_eq!(tag.get("data-goal"), Some(shared_goal.as_str()));
    assert_eq!(tag.get("data-private"), Some("false"));
    assert!(!card.contains(">private<"), "a shared goal marked private");
    assert!(card.contains("2 of 3 steps done") && card.contains("Share one worry"));
    assert!(card.contains("We drift apart when we are busy"));
    let (card, tag) = goal_card(dom, "Say thank you more");
    assert_eq!(tag.get("data-goal"), Some(private_goal.as_str()));
    assert_eq!(tag.get("data-private"), Some("true"));
    assert!(card.contains(">private<"), "the private goal is not marked");
    assert!(card.contains("0 of 1 step done"));
    assert!(dom.contains("Jordan has not shared any goals with you yet."));

    // Rituals, and the calendar of this month and the next.
    assert!(dom.contains("Sunday walk") && dom.contains("One-on-one time"));
    assert!(dom.contains("no money spent") && dom.contains("streak 3 weeks"));
    let state = |id: &str, s: &str| vec![(id.to_owned(), s.to_owned())];
    for day in ["2026-11-08", "2026-11-15", "2026-11-22"] {
        assert_eq!(marks_on(dom, day), state(&walk, "kept"), "{day}");
    }
    assert_eq!(marks_on(dom, "2026-11-01"), state(&walk, "open"));
    assert_eq!(marks_on(dom, "2026-11-29"), state(&walk, "planned"));
    assert_eq!(marks_on(dom, "2026-12-27"), state(&walk, "planned"));
    assert_eq!(marks_on(dom, "2026-11-04"), state(&one_on_one, "open"));
    assert_eq!(marks_on(dom, "2026-12-04"), state(&one_on_one, "planned"));
    assert_eq!(marks_on(dom, "2026-11-23"), Vec::new());
    let days = tags(dom, "td")
        .iter()
        .filter(|t| t.get("data-day").is_some())
        .count();
    assert_eq!(days, 30 + 31, "November and December");

    // Reflections and their red flags stay out of the page (`tapin show` has them).
    assert_eq!(show["red_flags"]["flags"].as_array().map(Vec::len), Some(2));
    for answer in ["they brush me off", "drained and uneasy", "happy, I think"] {
        assert!(
            !dom.contains(answer),
            "the page shows the answer {answer:?}"
        );
    }
}

#[test]
fn the_report_is_self_contained_and_escapes_what_people_typed() {
    let home = Home::init("Maya");
    let name = "Jo \"<b>\" & 'Co'";
    home.ok(&["person", "add", name]);
    let hostile = "<script>document.documentElement.setAttribute('data-pwned','1')</script>";
    home.ok(&[
        "goal",
        "add",
        "Jo",
        &format!("Plan {hostile} trip"),
        "--share",
        "--why",
        "<img src=x onerror=alert(1)>",
        "--step",
        "</li><li>fake step",
    ]);
    let ritual = home.id(&[
        "ritual",
        "add",
        "Jo",
        &format!("Walk {hostile}"),
        "--weekly-on",
        "monday",
        "--guideline",
        "\"><svg onload=alert(1)>",
    ]);
    home.ok(&["log", "Jo", "--by", "them", "--note", hostile]);

    let file = home.scratch().join("report.html");
    let json = home.json(&["report", "Jo", "--html", file.to_str().expect("UTF-8")]);
    assert_eq!(json, serde_json::json!({ "file": file }));
    let leftovers: Vec<_> = std::fs::read_dir(home.scratch())
        .expect("read scratch")
        .map(|e| e.expect("entry").file_name())
        .filter(|n| n != "report.html" && n != "maya")
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");

    let html = std::fs::read_to_string(&file).expect("read the report");
    assert_self_contained(&html);
    assert_eq!(
        html.matches("<script").count(),
        1,
        "only the page's own script"
    );
    assert!(!html.contains("<img") && !html.contains("<svg onload") && !html.contains("<b>"));
    assert!(!html.contains("</li><li>fake"));
    assert!(html.contains(
        "Plan &lt;script&gt;document.documentElement.setAttribute(&#39;data-pwned&#39;,&#39;1&#39;)&lt;/script&gt; trip"
    ));
    assert!(html.contains("You and Jo &quot;&lt;b&gt;&quot; &amp; &#39;Co&#39;"));
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(html.contains("&quot;&gt;&lt;svg onload=alert(1)&gt;"));

    let loaded = load(&file);
    assert_eq!(
        loaded.console(),
        Vec::<&str>::new(),
        "the page logged to the console"
    );
    let root = tags(&loaded.dom, "html");
    let root = root.first().expect("an <html> element");
    assert_eq!(
        root.get("data-ready"),
        Some("1"),
        "the page's script did not run"
    );
    assert_eq!(
        root.get("data-pwned"),
        None,
        "text from a title ran as script"
    );
    // The calendar names the ritual by id, and its title, escaped, in a tooltip.
    let marks: Vec<Tag> = tags(&loaded.dom, "span")
        .into_iter()
        .filter(|t| t.get("data-ritual") == Some(ritual.as_str()))
        .collect();
    assert!(!marks.is_empty(), "the ritual is not on the calendar");
    let walk = format!("Walk {hostile}: ");
    assert!(
        marks.iter().all(|t| t
            .get("title")
            .is_some_and(|title| unescape(title).starts_with(&walk))),
        "{marks:?}"
    );
}

#[test]
fn the_report_refuses_an_unknown_person_and_writes_nothing() {
    let home = Home::init("Maya");
    home.ok(&["person", "add", "Jordan"]);
    let file = home.scratch().join("nobody.html");
    let err = home.refuses(&["report", "Nobody", "--html", file.to_str().expect("UTF-8")]);
    assert!(err.contains("Nobody"), "{err}");
    assert!(!file.exists(), "a report was written for nobody");
    let err = home.refuses_with(2, &["report", "Jordan"]);
    assert!(err.contains("--html"), "{err}");
}

#[test]
fn the_report_shows_what_a_paired_friend_shared_and_nothing_they_kept() {
    let [p1, p2] = free_udp_ports::<2>();
    let maya = Home::init_net("Maya", "laptop", p1);
    let jordan = Home::init_net("Jordan", "phone", p2);
    pair(&maya, &jordan);

    // Jordan's side: a shared goal and ritual, two reach-outs by him that he logs, and — kept
    // on his own devices — a goal, a ritual and a reach-out of his that Maya must never see.
    let cook = jordan.id(&[
        "goal",
        "add",
        "Maya",
        "Cook together",
        "--share",
        "--step",
        "Pick a recipe",
        "--step",
        "Buy the food",
    ]);
    jordan.ok(&["goal", "step", "done", &cook, "1"]);
    jordan.ok(&["goal", "add", "Maya", "SECRET-GOAL-kept-by-Jordan"]);
    let call = jordan.id(&[
        "ritual",
        "add",
        "Maya",
        "Friday call",
        "--weekly-on",
        "friday",
        "--start",
        "2026-11-01",
        "--share",
    ]);
    jordan.ok(&["ritual", "done", &call, "--on", "2026-11-20"]);
    jordan.ok(&[
        "ritual",
        "add",
        "Maya",
        "SECRET-RITUAL-kept-by-Jordan",
        "--monthly-on",
        "3",
        "--start",
        "2026-09-01",
    ]);
    for on in ["2026-11-17", "2026-11-03"] {
        jordan.ok(&["log", "Maya", "--by", "me", "--on", on]);
    }
    jordan.ok(&[
        "log",
        "Maya",
        "--by",
        "me",
        "--on",
        "2026-11-18",
        "--private",
    ]);
    // Maya's side: one reach-out of hers the same week.
    maya.ok(&["log", "Jordan", "--by", "me", "--on", "2026-11-16"]);

    {
        let _serve = jordan.start_serve();
        maya.sync_with("Jordan");
    }
    maya.ok(&["goal", "join", &cook[..8]]);

    let file = maya.scratch().join("jordan.html");
    maya.ok(&["report", "Jordan", "--html", file.to_str().expect("UTF-8")]);
    let html = std::fs::read_to_string(&file).expect("read the report");
    assert_self_contained(&html);
    let loaded = load(&file);
    let dom = &loaded.dom;
    assert_eq!(loaded.console(), Vec::<&str>::new(), "the page logged");
    assert_eq!(
        tags(dom, "html").first().and_then(|t| t.get("data-ready")),
        Some("1")
    );

    for secret in ["SECRET-GOAL", "SECRET-RITUAL"] {
        assert!(
            !html.contains(secret),
            "Jordan's private {secret} is on the page"
        );
    }
    // Their logs count, from their side; their private log does not exist here.
    let show = maya.json(&["show", "Jordan"]);
    let weeks = bars(dom, "week");
    assert_eq!(weeks, trend(&show, "weeks"));
    assert_eq!(weeks.get("2026-11-16"), Some(&(1, 1)));
    assert_eq!(weeks.get("2026-11-02"), Some(&(0, 1)));
    assert!(
        dom.contains("verified"),
        "their side is not shown as verified"
    );

    // Their goal, once: as the goal both took up, not again among theirs (issue 13).
    let cards: Vec<(String, String)> = tags(dom, "article")
        .iter()
        .filter(|t| t.get("data-goal") == Some(cook.as_str()))
        .map(|t| {
            (
                t.get("data-whose").unwrap_or_default().to_owned(),
                t.get("data-owner").unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(cards, [("mutual".to_owned(), "theirs".to_owned())]);
    let (card, _) = goal_card(dom, "Cook together");
    assert!(card.contains("You: no steps yet") && card.contains("Jordan: 1 of 2 steps done"));

    // Their ritual, on the calendar too.
    assert_eq!(
        marks_on(dom, "2026-11-20"),
        [(call.clone(), "kept".to_owned())]
    );
    assert_eq!(
        marks_on(dom, "2026-11-27"),
        [(call.clone(), "planned".to_owned())]
    );
}
