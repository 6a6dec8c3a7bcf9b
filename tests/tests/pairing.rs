//! Pairing two people's devices through the real binary: `tapin invite` in the background, its
//! ticket read from its first line, `tapin join TICKET` in a second home. Real iroh endpoints on
//! 127.0.0.1, no relay, no mDNS, real homes on disk.
//!
//! Every refusal must leave both homes as they were: the joiner's byte for byte, the inviter's
//! relationships and documents (its store legitimately records the invitation it is serving).

use std::process::Command;

use serde_json::Value;
use tapin_e2e::{
    Background, Home, NET_TIMEOUT, Run, free_udp_port, free_udp_ports, last_json, pair, ticket_of,
};

fn whoami(home: &Home) -> Value {
    home.json(&["whoami"])
}

/// The one relationship in `home`'s `tapin --json people --all`, which must be called `name`.
#[track_caller]
fn only_relationship(home: &Home, name: &str) -> Value {
    let people = home.json(&["people", "--all"]);
    let rows = people.as_array().expect("people is an array");
    assert_eq!(rows.len(), 1, "want only {name}:\n{people:#}");
    assert_eq!(rows[0]["name"], name, "{people:#}");
    rows[0].clone()
}

/// What a refused pairing must not change in a home: its relationships as `people --all` lists
/// them, and every document as the JSON export shows it.
fn relationships(home: &Home) -> (Value, Value) {
    (home.json(&["people", "--all"]), home.export_json())
}

/// The six digits in "123 456".
#[track_caller]
fn assert_is_code(code: &str) {
    let digits: Vec<char> = code.chars().collect();
    assert!(
        digits.len() == 7
            && digits[3] == ' '
            && digits
                .iter()
                .enumerate()
                .all(|(i, c)| i == 3 || c.is_ascii_digit()),
        "a safety code is six digits in two groups: {code:?}"
    );
}

/// The code in a text-mode result line, "✓ Paired with NAME (…). Code 123 456. …".
#[track_caller]
fn code_in_paired_line(stdout: &str) -> (String, String) {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("✓ Paired with "))
        .unwrap_or_else(|| panic!("no \"✓ Paired with\" line in:\n{stdout}"))
        .to_owned();
    let code = line
        .split_once(". Code ")
        .and_then(|(_, rest)| rest.split_once('.'))
        .map(|(code, _)| code.to_owned())
        .unwrap_or_else(|| panic!("no code in {line:?}"));
    (line, code)
}

/// Runs `join` (a command for `joiner`), which must be refused naming `want`: exit code 1,
/// nothing on stdout, an `error:` line on stderr, no panic, the joiner's home byte for byte as
/// it was and the inviter's relationships and documents as they were.
#[track_caller]
fn refused(join: Command, joiner: &Home, inviter: &Home, want: &str) -> Run {
    let joiner_before = joiner.snapshot();
    let inviter_before = relationships(inviter);
    let run = Background::spawn(join, None).wait(NET_TIMEOUT);
    assert_eq!(
        run.code,
        Some(1),
        "the join should have been refused ({want}):\nstdout: {}\nstderr: {}",
        run.stdout,
        run.stderr
    );
    assert_eq!(run.stdout, "", "a refused join printed on stdout");
    assert!(
        run.stderr.contains("error: ") && run.stderr.contains(want),
        "want an error saying {want:?}:\n{}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(
        joiner.snapshot() == joiner_before,
        "a refused join ({want}) changed the joiner's home"
    );
    assert_eq!(
        relationships(inviter),
        inviter_before,
        "a refused join ({want}) changed the inviter's relationships"
    );
    run
}

const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// `ticket` with one bit of byte `byte` of the invitation flipped (bytes counted from the
/// version byte, as docs/PROTOCOL.md lays them out): the lowest bit of the base32 digit whose
/// lowest bit falls in that byte.
fn flip_bit_in_byte(ticket: &str, byte: usize) -> String {
    let digit = (8 * byte + 3) / 5;
    let at = "TAPIN".len() + digit;
    let mut chars = ticket.as_bytes().to_vec();
    let value = BASE32
        .iter()
        .position(|c| *c == chars[at])
        .expect("a base32 digit");
    chars[at] = BASE32[value ^ 1];
    String::from_utf8(chars).expect("ASCII")
}

#[test]
fn pairing_through_the_real_binary_links_both_homes_and_both_show_the_same_code() {
    let [maya_port, jordan_port] = free_udp_ports();
    let maya = Home::init_net("Maya", "maya-laptop", maya_port);
    let jordan = Home::init_net("Jordan", "jordan-phone", jordan_port);
    let (me_maya, me_jordan) = (whoami(&maya), whoami(&jordan));

    let mut invite = maya.spawn(&["--json", "invite", "--yes", "--expires", "2m"]);
    let ticket = ticket_of(&invite.next_line(NET_TIMEOUT));
    assert!(ticket.starts_with("TAPIN"), "{ticket}");
    let join = jordan.net_run(&["--json", "join", &ticket, "--yes"]);
    let invite = invite.wait(NET_TIMEOUT);
    assert_eq!(join.code, Some(0), "join failed:\n{}", join.stderr);
    assert_eq!(invite.code, Some(0), "invite failed:\n{}", invite.stderr);

    // Each prints the friend it paired with, and the same code.
    let (at_maya, at_jordan) = (last_json(&invite.stdout), last_json(&join.stdout));
    let code = at_maya["code"].as_str().expect("code").to_owned();
    assert_is_code(&code);
    assert_eq!(at_jordan["code"], code.as_str(), "the codes differ");
    for run in [&invite, &join] {
        assert!(
            run.stderr.contains(&format!("Safety code: {code}")),
            "no safety code on stderr:\n{}",
            run.stderr
        );
    }
    assert_eq!(at_maya["paired"], "Jordan");
    assert_eq!(at_maya["friend"], "Jordan");
    assert_eq!(at_maya["person"], me_jordan["person"]);
    assert_eq!(at_maya["device"], me_jordan["device"]);
    assert_eq!(at_maya["device_name"], "jordan-phone");
    assert_eq!(at_maya["new_relationship"], true);
    assert_eq!(at_jordan["paired"], "Maya");
    assert_eq!(at_jordan["friend"], "Maya");
    assert_eq!(at_jordan["person"], me_maya["person"]);
    assert_eq!(at_jordan["device"], me_maya["device"]);
    assert_eq!(at_jordan["device_name"], "maya-laptop");
    assert_eq!(at_jordan["new_relationship"], true);

    // Both homes list each other as paired, with the friend's name and device.
    for (home, friend, them, device_name) in [
        (&maya, "Jordan", &me_jordan, "jordan-phone"),
        (&jordan, "Maya", &me_maya, "maya-laptop"),
    ] {
        let row = only_relationship(home, friend);
        let peer = &row["peer"];
        assert_eq!(peer["person"], them["person"], "{row:#}");
        assert_eq!(peer["name"], friend, "{row:#}");
        assert_eq!(peer["unpaired"], Value::Null, "{row:#}");
        let devices = peer["devices"].as_object().expect("devices");
        let ids: Vec<&String> = devices.keys().collect();
        assert_eq!(ids, [them["device"].as_str().expect("device")], "{row:#}");
        let device = &devices[them["device"].as_str().expect("device")];
        assert_eq!(device["name"], device_name, "{row:#}");
        assert!(
            device["cert"].as_str().is_some_and(|c| !c.is_empty()),
            "{row:#}"
        );
        // The paired column names their device; their name, the same as the relationship's,
        // is not said twice.
        let text = home.ok(&["people"]);
        assert!(
            text.contains(&format!("{friend}  ")) && text.contains(device_name),
            "`tapin people` should show the pairing:\n{text}"
        );
        assert!(
            !text.contains(&format!("{friend} ({device_name})")),
            "{text}"
        );
    }
    // Each knows where the other's device listens: its home's stable port.
    for (home, friend, them, port) in [
        (&jordan, "Maya", &me_maya, maya_port),
        (&maya, "Jordan", &me_jordan, jordan_port),
    ] {
        let row = only_relationship(home, friend);
        let addrs = &row["peer"]["devices"][them["device"].as_str().expect("device")]["addrs"];
        assert_eq!(
            addrs,
            &serde_json::json!([format!("127.0.0.1:{port}")]),
            "want {friend}'s home port {port}"
        );
    }
}

/// Where `home` keeps `person`'s one device: its stored addresses.
#[track_caller]
fn stored_addrs(home: &Home, person: &str, device: &str) -> Value {
    only_relationship(home, person)["peer"]["devices"][device]["addrs"].clone()
}

/// Regression test for "a join beside a running server tells the inviter a port it is not bound
/// to": `tapin join` gave the home's port while `tapin serve` held it. Now it gives only where it
/// listens, and Jordan's server tells Maya its own address at their first exchange.
#[test]
fn a_joiner_whose_server_holds_its_port_still_gives_the_friend_its_stable_address() {
    let [maya_port, jordan_port] = free_udp_ports();
    let maya = Home::init_net("Maya", "maya-laptop", maya_port);
    let jordan = Home::init_net("Jordan", "jordan-phone", jordan_port);
    // Jordan's device is online: `tapin serve` listens on his home's port, so `tapin join`
    // dials from another one. His server dials Maya soon and often, for this test.
    let mut serve = jordan.net_cmd(&["serve"]);
    serve.env("TAPIN_TIMEOUTS", "dial=1s,max_backoff=1s");
    let mut serve = Background::spawn(serve, None);
    let listening = format!("Serving as Jordan on 127.0.0.1:{jordan_port}");
    tapin_e2e::eventually(NET_TIMEOUT, "Jordan's server to listen", || {
        serve.stderr().contains(&listening)
    });

    // Maya runs no server, so nothing dials Jordan's join once paired: it waits one short
    // hand-over for her node, then leaves it to his server.
    let mut invite = maya.spawn(&["--json", "invite", "--yes", "--expires", "2m"]);
    let ticket = ticket_of(&invite.next_line(NET_TIMEOUT));
    let mut join = jordan.net_cmd(&["--json", "join", &ticket, "--yes"]);
    join.env("TAPIN_TIMEOUTS", "handover=1s");
    let join = Background::spawn(join, None).wait(NET_TIMEOUT);
    assert_eq!(join.code, Some(0), "tapin join failed:\n{}", join.stderr);
    assert!(
        join.stderr.contains("did not sync in time"),
        "the join should have waited for Maya's node:\n{}",
        join.stderr
    );
    assert_eq!(invite.wait(NET_TIMEOUT).code, Some(0));
    assert!(serve.running(), "the server stopped:\n{}", serve.stderr());
    let device = whoami(&jordan)["device"]
        .as_str()
        .expect("device")
        .to_owned();
    let home_port = Value::from(format!("127.0.0.1:{jordan_port}"));
    let told = stored_addrs(&maya, "Jordan", &device);
    assert!(
        !told.as_array().expect("addrs").contains(&home_port),
        "the join was not bound to Jordan's home port, and must not have said it was: {told}"
    );

    // Maya comes online: Jordan's server, which noticed the pairing, reaches her node and tells
    // it where it listens.
    let _maya_serve = maya.start_serve();
    tapin_e2e::eventually(NET_TIMEOUT, "Maya to learn Jordan's home port", || {
        stored_addrs(&maya, "Jordan", &device)
            .as_array()
            .is_some_and(|a| a.contains(&home_port))
    });
    assert!(serve.running(), "the server stopped:\n{}", serve.stderr());
}

#[test]
fn pairing_in_text_mode_prints_ticket_qr_code_and_matching_codes_and_can_choose_relationships() {
    let maya = Home::init_net("Maya", "maya-laptop", 0);
    let jordan = Home::init_net("Jordan", "jordan-phone", 0);
    maya.ok(&["person", "add", "Jo", "--importance", "5"]);

    // Maya pairs her existing "Jo"; Jordan keeps Maya under another name.
    let mut invite = maya.spawn(&["invite", "--for", "Jo", "--yes", "--expires", "2m"]);
    let ticket = invite.next_line(NET_TIMEOUT);
    assert!(ticket.starts_with("TAPIN"), "first line: {ticket}");
    let join = jordan.net_run(&["join", ticket.trim(), "--as", "Maya R", "--yes"]);
    let invite = invite.wait(NET_TIMEOUT);
    assert_eq!(join.code, Some(0), "join failed:\n{}", join.stderr);
    assert_eq!(invite.code, Some(0), "invite failed:\n{}", invite.stderr);

    // Then the same invitation as a QR code, drawn with half blocks.
    let qr: Vec<&str> = invite
        .stdout
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with('✓'))
        .collect();
    assert!(
        qr.len() > 10 && qr.iter().any(|l| l.contains(['█', '▀', '▄'])),
        "the ticket should be followed by a QR code:\n{}",
        invite.stdout
    );
    let (maya_line, maya_code) = code_in_paired_line(&invite.stdout);
    let (jordan_line, jordan_code) = code_in_paired_line(&join.stdout);
    assert_is_code(&maya_code);
    assert_eq!(maya_code, jordan_code, "{maya_line}\n{jordan_line}");
    assert_eq!(
        maya_line,
        format!(
            "✓ Paired with Jo (who calls themselves Jordan, device jordan-phone). Code {maya_code}."
        )
    );
    assert_eq!(
        jordan_line,
        format!(
            "✓ Paired with Maya R (who calls themselves Maya, device maya-laptop). Code \
             {maya_code}. A new relationship was added."
        )
    );
    // The people column names their devices, and their own name only where it differs.
    let people = jordan.ok(&["people"]);
    assert!(people.contains("as Maya (maya-laptop)"), "{people}");
    for run in [&invite, &join] {
        assert!(
            run.stderr.contains(&format!("Safety code: {maya_code}")),
            "{}",
            run.stderr
        );
    }

    let jo = only_relationship(&maya, "Jo");
    assert_eq!(jo["importance"], 5, "the existing relationship was kept");
    assert_eq!(jo["peer"]["name"], "Jordan");
    assert_eq!(jo["peer"]["person"], whoami(&jordan)["person"]);
    let maya_r = only_relationship(&jordan, "Maya R");
    assert_eq!(maya_r["peer"]["name"], "Maya");
    assert_eq!(maya_r["peer"]["person"], whoami(&maya)["person"]);
}

/// The QR code on a terminal: dark modules on an explicit light ground (so it scans on a dark
/// terminal too), never wider than an 80-column terminal; and no colour codes when colour is
/// off (`NO_COLOR`) or the output is not a terminal.
#[test]
fn the_qr_code_is_drawn_dark_on_light_and_fits_an_80_column_terminal() {
    let maya = Home::init_net("Maya", "maya-laptop", 0);
    let mut cmd = maya.net_cmd(&["invite", "--expires", "2m"]);
    cmd.env("CLICOLOR_FORCE", "1").env_remove("NO_COLOR");
    let mut invite = Background::spawn(cmd, None);
    invite.next_line(NET_TIMEOUT);
    let visible = |row: &str| -> String {
        row.split('\u{1b}')
            .map(|p| p.split_once('m').map_or(p, |(_, t)| t))
            .collect()
    };
    // A QR code is square, two modules a row: as many rows as half its width.
    let first = invite.next_line(NET_TIMEOUT);
    let side = visible(&first).chars().count();
    let mut rows = vec![first];
    while rows.len() < side.div_ceil(2) {
        rows.push(invite.next_line(NET_TIMEOUT));
    }
    assert!(rows.len() > 10, "no QR code rows: {rows:?}");
    // With the line after it ("Waiting for your friend…"), the whole code stays on an 80×24
    // screen: it carries the compact ticket.
    assert!(
        rows.len() < 24,
        "{} rows do not fit a 24-row terminal",
        rows.len()
    );
    for row in &rows {
        assert!(
            row.contains("\u{1b}[30m") || row.contains("\u{1b}[30;"),
            "dark modules must be drawn black: {row:?}"
        );
        assert!(row.contains("107m"), "on a bright white ground: {row:?}");
        let visible = visible(row);
        assert!(
            visible.chars().count() <= 80,
            "{} columns",
            visible.chars().count()
        );
        // The quiet zone: light at both ends.
        assert!(
            visible.starts_with("  ") && visible.ends_with("  "),
            "{visible:?}"
        );
    }
    drop(invite);

    let mut cmd = maya.net_cmd(&["invite", "--expires", "2m"]);
    cmd.env("CLICOLOR_FORCE", "1").env("NO_COLOR", "1");
    let mut plain = Background::spawn(cmd, None);
    plain.next_line(NET_TIMEOUT);
    let row = plain.next_line(NET_TIMEOUT);
    assert!(!row.contains('\u{1b}'), "NO_COLOR: {row:?}");
}

/// What the QR code carries, the compact ticket, is an invitation a joiner can use like the
/// long one: the person key comes from the inviter's certificate.
#[test]
fn the_qr_codes_compact_ticket_pairs_like_the_long_one() {
    let maya = Home::init_net("Maya", "maya-laptop", 0);
    let jordan = Home::init_net("Jordan", "jordan-phone", 0);
    let mut invite = maya.spawn(&["--json", "invite", "--yes", "--expires", "2m"]);
    let first: Value = serde_json::from_str(&invite.next_line(NET_TIMEOUT)).expect("JSON");
    let (ticket, qr) = (
        first["ticket"].as_str().expect("ticket"),
        first["qr"]
            .as_str()
            .expect("a compact ticket for the QR code"),
    );
    assert!(
        qr.starts_with("TAPIN") && qr.len() < ticket.len() / 2,
        "{qr}"
    );
    let join = jordan.net_run(&["--json", "join", qr, "--yes"]);
    let paired = tapin_e2e::both_paired(qr.to_owned(), &invite.wait(NET_TIMEOUT), &join);
    assert_eq!(paired.joiner["paired"], "Maya");
    assert_eq!(paired.joiner["person"], whoami(&maya)["person"]);
    assert_eq!(paired.inviter["person"], whoami(&jordan)["person"]);
}

#[test]
fn tickets_that_are_not_the_invitation_are_refused_and_change_nothing_on_either_side() {
    let maya = Home::init_net("Maya", "maya-laptop", 0);
    let jordan = Home::init_net("Jordan", "jordan-phone", 0);
    // Maya waits the whole time: each refusal happens while the real invitation is open.
    let mut invite = maya.spawn(&["--json", "invite", "--yes", "--expires", "2m"]);
    let ticket = ticket_of(&invite.next_line(NET_TIMEOUT));
    let bytes = (ticket.len() - "TAPIN".len()) * 5 / 8;

    let not_a_ticket = "not a tapin invitation";
    let garbled = "incomplete or garbled";
    let altered = "altered or damaged";
    let cases: Vec<(&str, String, &str)> = vec![
        ("garbage", "hello".to_owned(), not_a_ticket),
        ("empty", String::new(), not_a_ticket),
        (
            "a link",
            "https://example.com/join".to_owned(),
            not_a_ticket,
        ),
        (
            "an iroh endpoint ticket",
            "endpointadrs4pujdjhpoz3ivp62n2ptqnl2ylcqhezp7gdaeaaaaaaaaaaaa".to_owned(),
            not_a_ticket,
        ),
        (
            "another prefix",
            format!("TAPIM{}", &ticket["TAPIN".len()..]),
            not_a_ticket,
        ),
        ("the prefix alone", "TAPIN".to_owned(), garbled),
        (
            "cut short by ten digits",
            ticket[..ticket.len() - 10].to_owned(),
            garbled,
        ),
        (
            "cut in half",
            ticket[..ticket.len() / 2].to_owned(),
            garbled,
        ),
        ("two digits too many", format!("{ticket}AA"), garbled),
        (
            "one bit of the secret flipped",
            flip_bit_in_byte(&ticket, 80),
            altered,
        ),
        (
            "one bit of the expiry flipped",
            flip_bit_in_byte(&ticket, 102),
            altered,
        ),
        (
            "one bit of the signature flipped",
            flip_bit_in_byte(&ticket, bytes - 32),
            altered,
        ),
    ];
    for (what, bad, want) in &cases {
        assert_ne!(bad, &ticket, "{what}: the case must differ from the ticket");
        let run = refused(
            jordan.net_cmd(&["join", bad, "--yes"]),
            &jordan,
            &maya,
            want,
        );
        assert!(
            !run.stderr.contains("Connecting"),
            "{what}: a bad ticket must be refused before dialing anyone:\n{}",
            run.stderr
        );
        assert!(invite.running(), "{what}: the inviter stopped waiting");
    }
    // Maya cannot join her own invitation.
    refused(
        maya.net_cmd(&["join", &ticket, "--yes"]),
        &maya,
        &jordan,
        "your own invitation",
    );

    // None of that used the invitation up: the genuine ticket still pairs, even retyped in
    // lower case with blanks around it.
    let retyped = format!("  {}\n", ticket.to_lowercase());
    let join = jordan.net_run(&["--json", "join", &retyped, "--yes"]);
    assert_eq!(join.code, Some(0), "{}", join.stderr);
    assert_eq!(invite.wait(NET_TIMEOUT).code, Some(0));
    only_relationship(&jordan, "Maya");
    only_relationship(&maya, "Jordan");
}

#[test]
fn a_ticket_past_its_expiry_on_the_joiners_clock_is_refused_before_dialing() {
    let maya = Home::init_net("Maya", "maya-laptop", 0);
    let jordan = Home::init_net("Jordan", "jordan-phone", 0);
    let mut invite = maya.spawn(&["--json", "invite", "--yes", "--expires", "2m"]);
    let ticket = ticket_of(&invite.next_line(NET_TIMEOUT));

    // Made at 12:00 for two minutes; Jordan's clock says 12:03.
    let mut late = jordan.net_cmd(&["join", &ticket, "--yes"]);
    late.env("TAPIN_NOW", "2026-11-22T12:03:00Z");
    let run = refused(
        late,
        &jordan,
        &maya,
        "this invitation expired at 2026-11-22 12:02 UTC; ask for a new one",
    );
    assert!(!run.stderr.contains("Connecting"), "{}", run.stderr);
    assert!(invite.running(), "the inviter stopped waiting");
}

#[test]
fn an_invitation_nobody_joins_ends_at_its_expiry_and_its_ticket_is_refused_afterwards() {
    let maya = Home::init_net("Maya", "maya-laptop", 0);
    let jordan = Home::init_net("Jordan", "jordan-phone", 0);
    let mut invite = maya.spawn(&["--json", "invite", "--yes", "--expires", "1s"]);
    let ticket = ticket_of(&invite.next_line(NET_TIMEOUT));
    let ended = invite.wait(NET_TIMEOUT);
    assert_eq!(ended.code, Some(1), "{}", ended.stderr);
    assert!(
        ended.stderr.contains("expired before anyone joined"),
        "{}",
        ended.stderr
    );
    // Jordan comes by later.
    let mut late = jordan.net_cmd(&["join", &ticket, "--yes"]);
    late.env("TAPIN_NOW", "2026-11-22T12:00:05Z");
    refused(
        late,
        &jordan,
        &maya,
        "this invitation expired at 2026-11-22 12:00 UTC",
    );
}

#[test]
fn a_ticket_whose_inviter_stopped_waiting_fails_in_bounded_time_and_stores_nothing() {
    let maya = Home::init_net("Maya", "maya-laptop", 0);
    let jordan = Home::init_net("Jordan", "jordan-phone", 0);
    let mut invite = maya.spawn(&["--json", "invite", "--yes", "--expires", "2m"]);
    let ticket = ticket_of(&invite.next_line(NET_TIMEOUT));
    drop(invite); // Maya gives up (the process is killed).

    // Nothing answers at the ticket's address, so the join gives up after one pairing step:
    // shortened from 20 s here, so the test does not sit it out.
    let mut join = jordan.net_cmd(&["join", &ticket, "--yes"]);
    join.env("TAPIN_TIMEOUTS", "pair_step=2s");
    refused(join, &jordan, &maya, "could not reach Maya's device");
}

/// Maya and Jordan paired through Maya's stable port, then Maya inviting again on that port.
struct InvitingAgain {
    maya: Home,
    jordan: Home,
    old_ticket: String,
    new_ticket: String,
    invite: Background,
}

fn paired_then_inviting_again() -> InvitingAgain {
    let port = free_udp_port();
    let maya = Home::init_net("Maya", "maya-laptop", port);
    let jordan = Home::init_net("Jordan", "jordan-phone", 0);
    let first = pair(&maya, &jordan);
    let mut invite = maya.spawn(&["--json", "invite", "--yes", "--expires", "2m"]);
    let new_ticket = ticket_of(&invite.next_line(NET_TIMEOUT));
    assert_ne!(new_ticket, first.ticket);
    InvitingAgain {
        maya,
        jordan,
        old_ticket: first.ticket,
        new_ticket,
        invite,
    }
}

#[test]
fn a_used_ticket_is_refused_when_the_friend_presents_it_again() {
    let mut s = paired_then_inviting_again();
    // The old ticket reaches the same device on the same port, now serving a new invitation.
    refused(
        s.jordan.net_cmd(&["join", &s.old_ticket, "--yes"]),
        &s.jordan,
        &s.maya,
        "already used",
    );
    assert!(s.invite.running(), "the refusal ended the new invitation");
    only_relationship(&s.maya, "Jordan");
    only_relationship(&s.jordan, "Maya");
}

#[test]
fn a_third_home_with_a_ticket_copied_after_the_pairing_is_refused() {
    let mut s = paired_then_inviting_again();
    let sam = Home::init_net("Sam", "sam-tablet", 0);
    refused(
        sam.net_cmd(&["join", &s.old_ticket, "--yes"]),
        &sam,
        &s.maya,
        "already used",
    );
    assert!(s.invite.running(), "the refusal ended the new invitation");
    assert_eq!(sam.json(&["people", "--all"]), serde_json::json!([]));

    // The refusal did not touch Maya's open invitation: Sam can still use the new one.
    let join = sam.net_run(&["--json", "join", &s.new_ticket, "--yes"]);
    assert_eq!(join.code, Some(0), "{}", join.stderr);
    assert_eq!(s.invite.wait(NET_TIMEOUT).code, Some(0));
    only_relationship(&sam, "Maya");
    let people = s.maya.json(&["people"]);
    let names: Vec<&str> = people
        .as_array()
        .expect("people")
        .iter()
        .map(|p| p["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["Jordan", "Sam"]);
    only_relationship(&s.jordan, "Maya");
}

/// One side answers "n" to "Do the codes match?": both commands fail and neither home changes.
fn declined(inviter_declines: bool) {
    let maya = Home::init_net("Maya", "maya-laptop", 0);
    let jordan = Home::init_net("Jordan", "jordan-phone", 0);
    let (maya_before, jordan_before) = (relationships(&maya), jordan.snapshot());

    let mut invite = if inviter_declines {
        maya.spawn_with_input(&["--json", "invite", "--expires", "2m"], "n\n")
    } else {
        maya.spawn(&["--json", "invite", "--yes", "--expires", "2m"])
    };
    let ticket = ticket_of(&invite.next_line(NET_TIMEOUT));
    let join = if inviter_declines {
        jordan.net_run(&["join", &ticket, "--yes"])
    } else {
        jordan
            .spawn_with_input(&["join", &ticket], "n\n")
            .wait(NET_TIMEOUT)
    };
    let invite = invite.wait(NET_TIMEOUT);

    let (decliner, other) = if inviter_declines {
        (&invite, &join)
    } else {
        (&join, &invite)
    };
    assert!(
        decliner.stderr.contains("Do the codes match? [y/N]"),
        "{}",
        decliner.stderr
    );
    assert!(
        decliner
            .stderr
            .contains("you did not confirm the safety code; nothing was paired"),
        "{}",
        decliner.stderr
    );
    // The other side is told who declined, in words, at once.
    let who = if inviter_declines { "Maya" } else { "Jordan" };
    assert!(
        other
            .stderr
            .contains(&format!("{who} did not confirm the safety code")),
        "{}",
        other.stderr
    );
    for (who, run) in [("invite", &invite), ("join", &join)] {
        assert_eq!(run.code, Some(1), "{who} should fail:\n{}", run.stderr);
        assert!(
            run.stderr.contains("Safety code: "),
            "{who} showed no code:\n{}",
            run.stderr
        );
        assert!(!run.stdout.contains("Paired"), "{who}: {}", run.stdout);
    }
    assert_eq!(relationships(&maya), maya_before, "Maya's home changed");
    assert!(jordan.snapshot() == jordan_before, "Jordan's home changed");
}

#[test]
fn when_the_joiner_says_the_codes_differ_nothing_is_paired_on_either_side() {
    declined(false);
}

#[test]
fn when_the_inviter_says_the_codes_differ_nothing_is_paired_on_either_side() {
    declined(true);
}

/// Regression test for "an unanswered safety-code prompt holds the command for ever": the person
/// has as long as the friend waits for them (`pair_confirm`, shortened here), then it counts as
/// a no, and the command ends even though its prompt is still reading the terminal.
#[test]
fn a_person_who_never_answers_the_prompt_declines_once_the_friend_stops_waiting() {
    let maya = Home::init_net("Maya", "maya-laptop", 0);
    let jordan = Home::init_net("Jordan", "jordan-phone", 0);
    let (maya_before, jordan_before) = (relationships(&maya), jordan.snapshot());

    // Maya's terminal stays open and silent.
    let mut cmd = maya.net_cmd(&["--json", "invite", "--expires", "2m"]);
    cmd.stdin(std::process::Stdio::piped())
        .env("TAPIN_TIMEOUTS", "pair_confirm=1s");
    let mut invite = Background::spawn(cmd, None);
    let ticket = ticket_of(&invite.next_line(NET_TIMEOUT));
    let join = jordan.net_run(&["join", &ticket, "--yes"]);
    let invite = invite.wait(NET_TIMEOUT);

    assert_eq!(invite.code, Some(1), "{}", invite.stderr);
    assert!(
        invite.stderr.contains("No answer within 1s"),
        "{}",
        invite.stderr
    );
    assert!(
        invite
            .stderr
            .contains("you did not confirm the safety code; nothing was paired"),
        "{}",
        invite.stderr
    );
    assert_eq!(join.code, Some(1), "{}", join.stderr);
    assert!(
        join.stderr.contains("Maya did not confirm the safety code"),
        "{}",
        join.stderr
    );
    assert_eq!(relationships(&maya), maya_before, "Maya's home changed");
    assert!(jordan.snapshot() == jordan_before, "Jordan's home changed");
}

/// Both people confirmed the code; then each side stores the pairing. The two homes must never
/// disagree: either both list each other as paired, or both commands fail and neither home
/// changed. (A check that can refuse the pairing, like a name already taken, belongs before the
/// confirmation exchange, while both sides can still say no.)
#[track_caller]
fn both_sides_agree(inviter: &Home, invite_args: &[&str], joiner: &Home, join_args: &[&str]) {
    let (inviter_before, joiner_before) = (relationships(inviter), joiner.snapshot());
    let mut invite = inviter.spawn(invite_args);
    let ticket = ticket_of(&invite.next_line(NET_TIMEOUT));
    let mut args = join_args.to_vec();
    args.insert(
        args.iter().position(|a| *a == "join").expect("join") + 1,
        &ticket,
    );
    let join = joiner.net_run(&args);
    let invite = invite.wait(NET_TIMEOUT);
    let (inviter_ok, joiner_ok) = (invite.code == Some(0), join.code == Some(0));
    assert_eq!(
        inviter_ok, joiner_ok,
        "one side stored the pairing and the other did not:\n\
         invite (exit {:?}): {}{}\njoin (exit {:?}): {}{}",
        invite.code, invite.stdout, invite.stderr, join.code, join.stdout, join.stderr
    );
    if !inviter_ok {
        assert_eq!(
            relationships(inviter),
            inviter_before,
            "the inviter's home changed"
        );
        assert!(
            joiner.snapshot() == joiner_before,
            "the joiner's home changed"
        );
    }
}

#[test]
fn a_pairing_the_inviter_cannot_store_under_the_friends_name_is_stored_on_neither_side() {
    let maya = Home::init_net("Maya", "maya-laptop", 0);
    let jordan = Home::init_net("Jordan", "jordan-phone", 0);
    // Another Jordan, never paired: the friend's name is taken in Maya's home.
    maya.ok(&["person", "add", "Jordan"]);
    both_sides_agree(
        &maya,
        &["--json", "invite", "--yes", "--expires", "2m"],
        &jordan,
        &["--json", "join", "--yes"],
    );
}

/// Regression test for "a joiner who already has someone called Maya sits at Connecting… while
/// the inviter compares a code and is told, falsely, that the friend did not confirm": the clash
/// is caught from the ticket before connecting, the inviter keeps waiting (no one joined), and
/// `--as` settles it, linking the pairing to the Maya already there.
#[test]
fn a_joiner_who_already_has_someone_of_the_inviters_name_is_asked_before_connecting() {
    let maya = Home::init_net("Maya", "maya-laptop", 0);
    let jordan = Home::init_net("Jordan", "jordan-phone", 0);
    jordan.ok(&["person", "add", "Maya"]);
    let jordan_before = jordan.snapshot();
    let mut invite = maya.spawn(&["--json", "invite", "--yes", "--expires", "2m"]);
    let ticket = ticket_of(&invite.next_line(NET_TIMEOUT));

    let clash = jordan.net_run(&["join", &ticket, "--yes"]);
    assert_eq!(clash.code, Some(1), "{}", clash.stderr);
    assert!(
        clash
            .stderr
            .contains("you already have someone called Maya; nothing was sent to Maya"),
        "{}",
        clash.stderr
    );
    assert!(clash.stderr.contains("--as \"Maya\""), "{}", clash.stderr);
    assert!(!clash.stderr.contains("Connecting"), "{}", clash.stderr);
    assert!(jordan.snapshot() == jordan_before, "Jordan's home changed");
    assert!(invite.running(), "the inviter should still be waiting");
    assert!(
        !invite.stderr().contains("Safety code"),
        "{}",
        invite.stderr()
    );

    // Linked to the Maya already there: still one relationship, now paired.
    let join = jordan.net_run(&["--json", "join", &ticket, "--yes", "--as", "Maya"]);
    let paired = tapin_e2e::both_paired(ticket, &invite.wait(NET_TIMEOUT), &join);
    assert_eq!(
        paired.joiner["new_relationship"], false,
        "{:#}",
        paired.joiner
    );
    let row = only_relationship(&jordan, "Maya");
    assert!(!row["peer"].is_null(), "{row:#}");
}

/// The inviter's home has someone of the joiner's name, and no terminal to ask on: both sides
/// are told what really happened, and neither stores anything.
///
/// Regression test for "on a loaded machine the joiner says Maya did not confirm": the inviter
/// closes with its reason only after giving the joiner time to read its "no" (`pair_refused`),
/// and a joiner that waited no longer than that for the close lost the reason whenever the
/// close came late. Here Maya's tapin waits 4 s, longer than the 2 s default, as a busy machine
/// would.
#[test]
fn an_inviter_who_already_has_someone_of_the_joiners_name_tells_both_sides_why() {
    let maya = Home::init_net("Maya", "maya-laptop", 0);
    let jordan = Home::init_net("Jordan", "jordan-phone", 0);
    maya.ok(&["person", "add", "Jordan"]);
    let (maya_before, jordan_before) = (relationships(&maya), jordan.snapshot());
    let mut cmd = maya.net_cmd(&["--json", "invite", "--yes", "--expires", "2m"]);
    cmd.env("TAPIN_TIMEOUTS", "pair_refused=4s");
    let mut invite = Background::spawn(cmd, None);
    let ticket = ticket_of(&invite.next_line(NET_TIMEOUT));
    let join = jordan.net_run(&["join", &ticket, "--yes"]);
    let invite = invite.wait(NET_TIMEOUT);
    assert_eq!(invite.code, Some(1), "{}", invite.stderr);
    assert!(
        invite.stderr.contains(
            "you already have someone called Jordan; nothing was paired, and Jordan was told why"
        ),
        "{}",
        invite.stderr
    );
    assert!(
        // Text, or escaped inside `--json`'s {"error": …}.
        invite.stderr.contains("--for \"Jordan\"") || invite.stderr.contains(r#"--for \"Jordan\""#),
        "{}",
        invite.stderr
    );
    assert_eq!(join.code, Some(1), "{}", join.stderr);
    assert!(
        join.stderr.contains(
            "Maya's tapin could not take the pairing: Maya already has someone called Jordan"
        ),
        "{}",
        join.stderr
    );
    assert!(!join.stderr.contains("did not confirm"), "{}", join.stderr);
    assert_eq!(relationships(&maya), maya_before, "Maya's home changed");
    assert!(jordan.snapshot() == jordan_before, "Jordan's home changed");
}

/// Pairing again with someone paired before (she unpaired; they meet again) goes to the same
/// relationship by their key, whatever it is called: no clash, no duplicate.
#[test]
fn pairing_again_with_the_same_person_goes_to_their_relationship() {
    let maya = Home::init_net("Maya", "maya-laptop", 0);
    let jordan = Home::init_net("Jordan", "jordan-phone", 0);
    pair(&maya, &jordan);
    maya.ok(&["unpair", "Jordan"]);
    jordan.ok(&["person", "edit", "Maya", "--name", "Maya R"]);
    let again = pair(&maya, &jordan);
    assert_eq!(again.joiner["paired"], "Maya R", "{:#}", again.joiner);
    assert_eq!(again.joiner["new_relationship"], false);
    assert_eq!(again.inviter["new_relationship"], false);
    only_relationship(&jordan, "Maya R");
    only_relationship(&maya, "Jordan");
    assert_eq!(maya.json(&["show", "Jordan"])["paired"], true);
}

/// Ctrl-C on one side while both look at the code: the other side is told at once, in words,
/// and no raw transport warning is printed.
fn interrupted(inviter_interrupted: bool) {
    let maya = Home::init_net("Maya", "maya-laptop", 0);
    let jordan = Home::init_net("Jordan", "jordan-phone", 0);
    let (maya_before, jordan_before) = (relationships(&maya), jordan.snapshot());
    // Both terminals stay open and silent at the prompt.
    let mut cmd = maya.net_cmd(&["--json", "invite", "--expires", "2m"]);
    cmd.stdin(std::process::Stdio::piped());
    let mut invite = Background::spawn(cmd, None);
    let ticket = ticket_of(&invite.next_line(NET_TIMEOUT));
    let mut cmd = jordan.net_cmd(&["join", &ticket]);
    cmd.stdin(std::process::Stdio::piped());
    let join = Background::spawn(cmd, None);
    // (The prompt itself ends no line, so it is not seen before the command ends.)
    tapin_e2e::eventually(NET_TIMEOUT, "both sides to show the code", || {
        invite.stderr().contains("Safety code: ") && join.stderr().contains("Safety code: ")
    });
    let (stopped, other, who) = if inviter_interrupted {
        (invite, join, "Maya")
    } else {
        (join, invite, "Jordan")
    };
    let sigint = Command::new("kill")
        .args(["-INT", &stopped.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(sigint.success());
    let started = std::time::Instant::now();
    let other = other.wait(NET_TIMEOUT);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "the other side took {:?} to learn of the Ctrl-C",
        started.elapsed()
    );
    let stopped = stopped.wait(NET_TIMEOUT);
    assert_eq!(stopped.code, Some(1), "{}", stopped.stderr);
    assert!(
        stopped.stderr.contains("cancelled; nothing was paired"),
        "{}",
        stopped.stderr
    );
    assert_eq!(other.code, Some(1), "{}", other.stderr);
    assert!(
        other
            .stderr
            .contains(&format!("{who} cancelled the pairing; nothing was paired")),
        "{}",
        other.stderr
    );
    for run in [&stopped, &other] {
        assert!(!run.stderr.contains("WARN"), "{}", run.stderr);
        assert!(!run.stderr.contains("closed by peer"), "{}", run.stderr);
    }
    assert_eq!(relationships(&maya), maya_before, "Maya's home changed");
    assert!(jordan.snapshot() == jordan_before, "Jordan's home changed");
}

#[test]
fn ctrl_c_on_the_inviters_side_tells_the_joiner_at_once() {
    interrupted(true);
}

#[test]
fn ctrl_c_on_the_joiners_side_tells_the_inviter_at_once() {
    interrupted(false);
}

#[test]
fn inviting_for_a_relationship_paired_with_someone_else_is_stored_on_neither_side() {
    let maya = Home::init_net("Maya", "maya-laptop", 0);
    let jordan = Home::init_net("Jordan", "jordan-phone", 0);
    pair(&maya, &jordan);
    // Maya means to add Jordan's second device, but Sam joins.
    let sam = Home::init_net("Sam", "sam-tablet", 0);
    both_sides_agree(
        &maya,
        &[
            "--json",
            "invite",
            "--for",
            "Jordan",
            "--yes",
            "--expires",
            "2m",
        ],
        &sam,
        &["--json", "join", "--yes"],
    );
}

/// The dialing side's gate: it judges only incoming connections, and a dialer has none.
#[derive(Debug)]
struct Anyone;

impl tapin_net::endpoint::Gate for Anyone {
    fn allow_sync(&self, _device: &[u8; 32]) -> bool {
        true
    }
    fn allow_pairing(&self) -> bool {
        true
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_request_replayed_from_another_device_is_refused_and_leaves_the_invitation_open() {
    use tapin_core::identity::DeviceCertificate;
    use tapin_core::pairing::{Invitation, JoinResponse, Reach, join_request};
    use tapin_net::endpoint::{self, NetConfig};
    use tapin_net::{PAIR_ALPN, frame, pair::FRAME_CAP};

    let (maya, jordan) = tokio::task::block_in_place(|| {
        (
            Home::init_net("Maya", "maya-laptop", 0),
            Home::init_net("Jordan", "jordan-phone", 0),
        )
    });
    let maya_before = tokio::task::block_in_place(|| relationships(&maya));
    let mut invite = maya.spawn(&["--json", "invite", "--yes", "--expires", "2m"]);
    let ticket = tokio::task::block_in_place(|| ticket_of(&invite.next_line(NET_TIMEOUT)));

    // Exactly the request Jordan's device sends, as someone who recorded it would hold it.
    let inv = Invitation::from_ticket(&ticket).expect("the ticket parses");
    let cert = tapin_store::Store::open(&jordan.path())
        .expect("open Jordan's store")
        .get_meta(tapin_store::MetaKey::DeviceCert)
        .expect("read Jordan's store")
        .expect("Jordan's device certificate");
    let cert = DeviceCertificate::from_bytes(&cert).expect("a certificate");
    let recorded = join_request(&inv, "Jordan", &cert, Reach::default());

    // Eve replays it from her own device.
    let eve = endpoint::bind(
        [0x5a; 32],
        &NetConfig::loopback(),
        std::sync::Arc::new(Anyone),
        vec![],
    )
    .await
    .expect("bind Eve's endpoint");
    let maya_device = iroh::EndpointAddr::from_parts(
        iroh::PublicKey::from_bytes(&inv.endpoint.to_bytes()).expect("an endpoint id"),
        inv.addrs.iter().copied().map(iroh::TransportAddr::Ip),
    );
    let answer = tokio::time::timeout(NET_TIMEOUT, async {
        let conn = eve.connect(maya_device, PAIR_ALPN).await.expect("connect");
        let (mut send, mut recv) = conn.open_bi().await.expect("open a stream");
        frame::write(&mut send, &recorded).await.expect("send");
        frame::read::<JoinResponse>(&mut recv, FRAME_CAP).await
    })
    .await
    .expect("Maya's device answered in time")
    .expect("an answer");
    eve.close().await;
    assert!(
        matches!(&answer, JoinResponse::Refused(why) if why.contains("could not prove")),
        "{answer:?}"
    );

    // Nothing was stored, and the invitation is still Jordan's to use.
    tokio::task::block_in_place(|| {
        tapin_e2e::eventually(NET_TIMEOUT, "the inviter to report the refusal", || {
            invite.stderr().contains("was refused")
        });
        assert_eq!(relationships(&maya), maya_before);
        let join = jordan.net_run(&["--json", "join", &ticket, "--yes"]);
        assert_eq!(join.code, Some(0), "{}", join.stderr);
        assert_eq!(invite.wait(NET_TIMEOUT).code, Some(0));
        only_relationship(&maya, "Jordan");
    });
}

/// A long ticket wraps when it is copied from a terminal or a chat. Pasted with its line breaks
/// (as the argument, or on stdin with `join -`), it still pairs; and after a ticket on stdin,
/// the safety-code question is still answered on stdin. An invitation for days says its date.
#[test]
fn a_ticket_pasted_with_its_line_breaks_pairs_as_an_argument_and_on_stdin() {
    let maya = Home::init_net("Maya", "maya-laptop", 0);
    let jordan = Home::init_net("Jordan", "jordan-phone", 0);
    let sam = Home::init_net("Sam", "sam-tablet", 0);
    let wrapped = |ticket: &str| -> String {
        ticket
            .as_bytes()
            .chunks(60)
            .map(|c| std::str::from_utf8(c).expect("a ticket is ASCII"))
            .collect::<Vec<_>>()
            .join("\n  ")
    };

    let mut invite = maya.spawn(&["invite", "--yes", "--expires", "2d"]);
    let ticket = invite.next_line(NET_TIMEOUT).trim().to_owned();
    let join = jordan.net_run(&["join", &wrapped(&ticket), "--yes"]);
    let invite = invite.wait(NET_TIMEOUT);
    assert_eq!(join.code, Some(0), "join failed:\n{}", join.stderr);
    assert_eq!(invite.code, Some(0), "invite failed:\n{}", invite.stderr);
    // "valid until Tue 24 Nov 12:00": two days ahead is not today, so the day is named.
    let until = invite
        .stderr
        .split("valid until ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap_or_else(|| panic!("no expiry in:\n{}", invite.stderr));
    let words: Vec<&str> = until.split(' ').collect();
    assert!(
        words.len() == 4
            && words[0].len() == 3
            && words[1].parse::<u8>().is_ok()
            && words[2].len() == 3
            && words[3].len() == 5,
        "the expiry should name its day: {until:?}"
    );

    let mut invite = maya.spawn(&["invite", "--yes", "--expires", "2m"]);
    let ticket = invite.next_line(NET_TIMEOUT).trim().to_owned();
    let join = sam
        .spawn_with_input(&["join", "-"], &format!("\n{}\n\ny\n", wrapped(&ticket)))
        .wait(NET_TIMEOUT);
    let invite = invite.wait(NET_TIMEOUT);
    assert_eq!(join.code, Some(0), "join - failed:\n{}", join.stderr);
    assert_eq!(invite.code, Some(0), "invite failed:\n{}", invite.stderr);
    assert!(
        join.stderr.contains("Do the codes match? [y/N]"),
        "the code was asked on stdin:\n{}",
        join.stderr
    );
    assert!(
        join.stdout.contains("✓ Paired with Maya"),
        "{}",
        join.stdout
    );

    // Nothing on stdin: a clear refusal, nothing stored.
    let run = sam.run_with_input(&["join", "-"], "\n\n");
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("no invitation on standard input: paste the text `tapin invite` printed"),
        "{}",
        run.stderr
    );
}

/// Regression test for "Paired with Maya (Maya's this device)": a home made without `--device`
/// names its device after the machine, which is what a friend reads.
#[test]
fn a_device_is_named_after_the_machine_unless_told() {
    let maya = Home::new("maya");
    let run: Run = maya
        .cmd(&["init", "--name", "Maya"])
        .env("HOSTNAME", "maya-laptop.local")
        .output()
        .expect("spawn tapin")
        .into();
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(whoami(&maya)["device_name"], "maya-laptop");
}
