//! `tapin invite`, `tapin join` and `tapin sync` while `tapin serve` runs on the same home: each
//! is a process of its own, on a second endpoint for the same device (the server holds the home's
//! port), which tells friends only the addresses it is bound to. The servers correct that at
//! their first exchange. Real binary, real homes, 127.0.0.1.

use serde_json::Value;
use tapin_core::pairing::Invitation;
use tapin_core::{DocId, docs};
use tapin_e2e::{
    Background, Home, NET_TIMEOUT, both_paired, eventually, free_udp_ports, ticket_of,
};

/// `tapin serve` for `home`, started and listening. Its dials are shortened (a dial that finds
/// nothing gives up after 1 s, and tries again within 2 s), so a test sits out no long backoff.
#[track_caller]
fn serve(home: &Home) -> Background {
    let mut cmd = home.net_cmd(&["serve"]);
    cmd.env("TAPIN_TIMEOUTS", "dial=1s,max_backoff=2s");
    let mut serve = Background::spawn(cmd, None);
    eventually(NET_TIMEOUT, "`tapin serve` to listen", || {
        serve.stderr().contains("Serving as") || !serve.running()
    });
    assert!(serve.running(), "tapin serve stopped:\n{}", serve.stderr());
    serve
}

/// Where `home` keeps `person`'s one device: its stored addresses.
fn stored_addrs(home: &Home, person: &str) -> Vec<String> {
    let (store, _) = home.store_and_key();
    let rel = home.relationship(person);
    let private = store
        .load(&DocId::Private)
        .expect("load the private document")
        .map(|d| docs::read_private(&d).expect("read the private document"))
        .unwrap_or_default();
    private.relationships[&rel]
        .peer
        .as_ref()
        .and_then(|p| p.devices.values().next())
        .map(|d| d.addrs.clone())
        .unwrap_or_default()
}

/// Whether `home`'s replica of `person`'s side holds a goal called `title`.
fn has_goal(home: &Home, person: &str, title: &str) -> bool {
    home.replica_of(person)
        .goals
        .values()
        .any(|g| g.title == title)
}

#[test]
fn invite_join_and_sync_work_while_both_homes_serve_and_the_servers_find_each_other() {
    let [maya_port, jordan_port] = free_udp_ports();
    let maya = Home::init_net("Maya", "maya-laptop", maya_port);
    let jordan = Home::init_net("Jordan", "jordan-phone", jordan_port);
    let maya_serve = serve(&maya);
    let jordan_serve = serve(&jordan);

    // Each pairing command runs beside its home's server, on a port of its own, and the ticket
    // names only where `tapin invite` listens.
    let mut invite = maya.spawn(&["--json", "invite", "--yes", "--expires", "2m"]);
    let ticket = ticket_of(&invite.next_line(NET_TIMEOUT));
    let inv = Invitation::from_ticket(&ticket).expect("a ticket");
    assert!(
        !inv.addrs.is_empty() && inv.addrs.iter().all(|a| a.port() != maya_port),
        "the invitation names the home's port, which `tapin invite` was not bound to: {:?}",
        inv.addrs
    );
    let join = jordan.net_run(&["--json", "join", &ticket, "--yes"]);
    let invite = invite.wait(NET_TIMEOUT);
    both_paired(ticket, &invite, &join);
    // Each stayed up until the other home's server, which noticed the new pairing, synced with
    // it: that first exchange told it where that server listens.
    for (run, friend) in [(&invite, "Jordan"), (&join, "Maya")] {
        assert!(
            run.stderr.contains(&format!(
                "{friend}'s device synced; your `tapin serve` takes it"
            )),
            "{}",
            run.stderr
        );
    }

    // Each server noticed the new pairing, reached the other side, and told it where it listens:
    // both now know each other at their homes' ports.
    eventually(NET_TIMEOUT, "Maya to know Jordan at his home port", || {
        stored_addrs(&maya, "Jordan") == [format!("127.0.0.1:{jordan_port}")]
    });
    eventually(NET_TIMEOUT, "Jordan to know Maya at her home port", || {
        stored_addrs(&jordan, "Maya") == [format!("127.0.0.1:{maya_port}")]
    });

    // Nothing restarted: a goal Maya shares reaches Jordan's server by itself.
    maya.ok(&["goal", "add", "Jordan", "Learn to sail", "--share"]);
    eventually(NET_TIMEOUT, "Maya's goal to reach Jordan's replica", || {
        has_goal(&jordan, "Maya", "Learn to sail")
    });

    // And `tapin sync` works beside the server too, both ways.
    jordan.ok(&["goal", "add", "Maya", "Cook together", "--share"]);
    let row: Value = maya.sync_with("Jordan");
    assert_eq!(row["reached"], true, "{row:#}");
    assert!(has_goal(&maya, "Jordan", "Cook together"));
    jordan.sync_with("Maya");

    let (mut maya_serve, mut jordan_serve) = (maya_serve, jordan_serve);
    assert!(maya_serve.running(), "{}", maya_serve.stderr());
    assert!(jordan_serve.running(), "{}", jordan_serve.stderr());
    // The sync said nothing that moved either home's address away from its server's.
    assert_eq!(
        stored_addrs(&maya, "Jordan"),
        [format!("127.0.0.1:{jordan_port}")]
    );
    assert_eq!(
        stored_addrs(&jordan, "Maya"),
        [format!("127.0.0.1:{maya_port}")]
    );
}
