//! Two homes on a LAN without internet (`tapin_e2e::lab::lan`): no route out, no relay. They pair
//! by the addresses in the ticket; after one of them takes a new address (a new DHCP lease), the
//! other finds it again by mDNS, and only by mDNS: with it off, tapin says why it could not.

use std::net::Ipv4Addr;
use std::process::Command;

use tapin_e2e::lab::lan::Lan;
use tapin_e2e::lab::{LAB_PORT, Netns};
use tapin_e2e::{Background, Home, NET_TIMEOUT, both_paired, eventually, last_json, ticket_of};

/// A person's home on a LAN device: every address of it at [`LAB_PORT`], no relay, mDNS as
/// `tapin init` leaves it (on).
struct Person {
    home: Home,
    device: Netns,
}

impl Person {
    fn new(lan: &Lan, name: &str, device_name: &str) -> Person {
        let home = Home::new(&name.to_lowercase());
        home.ok(&[
            "init",
            "--name",
            name,
            "--device",
            device_name,
            "--bind",
            "0.0.0.0",
            "--port",
            &LAB_PORT.to_string(),
            "--relay",
            "none",
        ]);
        Person {
            home,
            device: lan.device(),
        }
    }

    /// `tapin ARGS` with mDNS `on` or `off` (the harness turns it off by default).
    fn cmd(&self, mdns: &str, args: &[&str]) -> Command {
        let mut cmd = self.home.net_cmd(args);
        cmd.env("TAPIN_MDNS", mdns);
        cmd
    }

    /// [`Person::cmd`] for a sync that must fail to reach a friend: a dial of an address
    /// nobody holds on one machine's veth pairs fails at once or never, so a second is enough.
    fn failing_cmd(&self, mdns: &str, args: &[&str]) -> Command {
        let mut cmd = self.cmd(mdns, args);
        cmd.env("TAPIN_TIMEOUTS", "dial=1s");
        cmd
    }
}

#[test]
fn two_homes_on_a_lan_without_internet_find_each_other_by_mdns_after_an_address_change() {
    let lan = Lan::start();
    let maya = Person::new(&lan, "Maya", "maya-laptop");
    let jordan = Person::new(&lan, "Jordan", "jordan-laptop");

    let mut invite = maya.device.spawn(
        maya.cmd("on", &["--json", "invite", "--yes", "--expires", "2m"]),
        None,
    );
    let ticket = ticket_of(&invite.next_line(NET_TIMEOUT));
    let join = jordan
        .device
        .run(jordan.cmd("on", &["--json", "join", &ticket, "--yes"]));
    both_paired(ticket, &invite.wait(NET_TIMEOUT), &join);

    // Jordan's laptop serves, then gets a new lease: the address Maya knows is gone.
    let mut serve: Background = jordan.device.spawn(jordan.cmd("on", &["serve"]), None);
    eventually(NET_TIMEOUT, "Jordan's node to listen", || {
        serve.stderr().contains("Serving as") || !serve.running()
    });
    assert!(serve.running(), "tapin serve stopped:\n{}", serve.stderr());
    lan.renew(&jordan.device, Ipv4Addr::new(10, 2, 0, 99));
    let goal = maya
        .home
        .id(&["goal", "add", "Jordan", "Picnic on the lawn", "--share"]);

    // With mDNS off, Maya's tapin tries only where Jordan was, and says why it looked no further.
    let run = maya
        .device
        .run(maya.failing_cmd("off", &["--json", "sync", "Jordan"]));
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    let row = &last_json(&run.stdout)["friends"][0];
    assert_eq!(row["reason"], "mdns-off", "{row:#}");
    let run = maya
        .device
        .run(maya.failing_cmd("off", &["sync", "Jordan"]));
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "could not sync with Jordan: not reachable at the addresses you know for them \
             (10.2.0.12:{LAB_PORT}), and tapin did not look for them on this network because \
             local-network discovery is off (mdns: off); if they moved to a new address here, \
             sync with `--mdns on`"
        )),
        "{}",
        run.stderr
    );

    // With mDNS on, it finds Jordan at his new address.
    let run = maya
        .device
        .run(maya.cmd("on", &["--json", "sync", "Jordan"]));
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    let row = &last_json(&run.stdout)["friends"][0];
    assert_eq!(row["reached"], true, "{row:#}");
    assert_eq!(row["path"], "direct", "{row:#}");
    assert!(
        jordan.home.json(&["show", "Maya"])["their_goals"]
            .to_string()
            .contains(&goal),
        "Maya's goal did not reach Jordan"
    );
}
