//! Ending a pairing, as both people see it, through the real binary on loopback: by default the
//! friend's home learns it at the next contact, from a notice signed by the person who ended it;
//! `unpair --quietly` sends nothing, and to the friend it looks as if the device were offline.

use tapin_e2e::{Home, NET_TIMEOUT, Run, free_udp_ports, pair};

/// Maya and Jordan, paired, with one sync behind them, and Maya's `tapin serve` running.
fn paired_and_serving() -> (Home, Home, tapin_e2e::Background) {
    let [maya_port, jordan_port] = free_udp_ports();
    let maya = Home::init_net("Maya", "maya-laptop", maya_port);
    let jordan = Home::init_net("Jordan", "jordan-phone", jordan_port);
    pair(&maya, &jordan);
    let serve = maya.start_serve();
    jordan.sync_with("Maya");
    (maya, jordan, serve)
}

/// Everything a command printed, for messages.
fn all(run: &Run) -> String {
    format!("stdout: {}\nstderr: {}", run.stdout, run.stderr)
}

/// No raw transport words reach a person.
#[track_caller]
fn no_raw_words(run: &Run) {
    for raw in ["closed by peer", "(code ", "WARN", "noq"] {
        assert!(!run.stdout.contains(raw), "{raw:?} in {}", all(run));
        assert!(!run.stderr.contains(raw), "{raw:?} in {}", all(run));
    }
}

#[test]
fn the_friend_learns_that_the_pairing_ended_and_says_so_everywhere() {
    let (maya, jordan, _serve) = paired_and_serving();

    let said = maya.ok(&["unpair", "Jordan"]);
    assert!(said.contains("Unpaired Jordan"), "{said}");
    assert!(
        said.contains("Jordan's tapin will be told at the next contact"),
        "{said}"
    );

    // Jordan's next sync meets Maya's device, which answers with her signed notice.
    let sync = jordan.net_run(&["sync", "Maya"]);
    assert_eq!(
        sync.code,
        Some(1),
        "a refused sync must fail: {}",
        all(&sync)
    );
    assert!(
        sync.stderr
            .contains("Maya ended the pairing on 22 November 2026"),
        "{}",
        all(&sync)
    );
    no_raw_words(&sync);

    // Recorded: every view says it, and nothing claims the pairing holds.
    let show = jordan.ok(&["show", "Maya"]);
    let first = show.lines().next().unwrap_or_default();
    assert!(
        first.contains("Maya ended the pairing on 22 November 2026"),
        "{show}"
    );
    assert!(!first.contains("paired with"), "{show}");
    assert!(show.contains("Their side"), "{show}");
    assert!(!show.contains("Their side is"), "{show}");
    let people = jordan.ok(&["people"]);
    assert!(people.contains("ended by them"), "{people}");
    let today = jordan.ok(&["today"]);
    assert!(
        today.contains("Pairings\n  Maya ended the pairing on 22 November 2026"),
        "{today}"
    );
    let json = jordan.json(&["show", "Maya"]);
    assert_eq!(json["paired"], false, "{json:#}");
    assert_eq!(
        json["pairing_ended"], "Maya ended the pairing on 22 November 2026",
        "{json:#}"
    );

    // Jordan's home no longer dials her: a named sync says why without reaching out.
    let again = jordan.net_run(&["sync", "Maya"]);
    assert_eq!(again.code, Some(1), "{}", all(&again));
    assert!(
        again
            .stderr
            .contains("Maya ended the pairing on 22 November 2026"),
        "{}",
        all(&again)
    );
    no_raw_words(&again);
    // A sync with everyone does not pretend they were never paired.
    let everyone = jordan.net_run(&["sync"]);
    assert_eq!(everyone.code, Some(0), "{}", all(&everyone));
    assert!(
        everyone.stdout.contains("No one is paired with you now"),
        "{}",
        all(&everyone)
    );
    // And unpairing on his side too has nothing left to end.
    let unpair = jordan.run(&["unpair", "Maya"]);
    assert_eq!(unpair.code, Some(1), "{}", all(&unpair));
    assert!(
        unpair
            .stderr
            .contains("Maya already ended the pairing with you"),
        "{}",
        all(&unpair)
    );

    // Maya's side says who ended it.
    let hers = maya.ok(&["show", "Jordan"]);
    assert!(
        hers.lines()
            .next()
            .unwrap_or_default()
            .contains("You ended the pairing on 22 November 2026"),
        "{hers}"
    );
}

#[test]
fn a_quiet_unpairing_looks_to_the_friend_like_a_device_that_is_offline() {
    let (maya, jordan, serve) = paired_and_serving();

    let said = maya.ok(&["unpair", "Jordan", "--quietly"]);
    assert!(said.contains("Nothing is sent"), "{said}");
    let help = maya.ok(&["unpair", "--help"]);
    assert!(help.contains("--quietly"), "{help}");
    assert!(
        help.contains("just as when\nit is offline") || help.contains("offline"),
        "{help}"
    );

    let refused = jordan.net_run(&["sync", "Maya"]);
    assert_eq!(refused.code, Some(1), "{}", all(&refused));
    no_raw_words(&refused);
    assert!(!refused.stderr.contains("ended"), "{}", all(&refused));

    // The same words as when her device is really off.
    drop(serve);
    let offline = jordan.net_run(&["sync", "Maya"]);
    assert_eq!(offline.code, Some(1), "{}", all(&offline));
    assert_eq!(
        refused.stderr, offline.stderr,
        "a quiet unpairing must read as an offline device"
    );

    // Nothing changed in Jordan's home.
    let show = jordan.ok(&["show", "Maya"]);
    assert!(!show.contains("ended"), "{show}");
    assert_eq!(jordan.json(&["show", "Maya"])["paired"], true);
}

#[test]
fn a_friend_ending_the_pairing_while_serving_is_told_by_the_running_node() {
    let (maya, jordan, _maya_serve) = paired_and_serving();
    let mut jordan_serve = jordan.start_serve();
    maya.ok(&["unpair", "Jordan"]);
    tapin_e2e::eventually(
        NET_TIMEOUT,
        "Jordan's serve to learn the pairing ended",
        || {
            jordan_serve
                .stderr()
                .contains("Maya ended the pairing on 22 November 2026")
        },
    );
    assert!(jordan_serve.running());
    assert_eq!(jordan.json(&["show", "Maya"])["paired"], false);
    assert!(!jordan_serve.stderr().contains("closed by peer"));
}
