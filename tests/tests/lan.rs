//! Two homes on a LAN without internet (`tapin_e2e::lab::lan`): no route out, no relay. They pair
//! by the addresses in the ticket; after one of them takes a new address (a new DHCP lease), the
//! other finds it again by mDNS, and only by mDNS: with it off, tapin says why it could not.

use std::net::Ipv4Addr;
use std::process::Command;

use tapin_e2e::lab::lan::Lan;
use tapin_e2e::lab::{LAB_PORT, Netns};
use tapin_e2e::{Background, Home, NET_TIMEOUT, both_paired, eventually, last_json, ticket_of};

/// A person's home on a LAN device: every address of it at [`LAB_PORT`], no relay, mDNS as
/// `tapin init --mdns MDNS` keeps it.
struct Person {
    home: Home,
    device: Netns,
}

impl Person {
    fn new(lan: &Lan, name: &str, device_name: &str, mdns: &str) -> Person {
        let home = Home::init_lab_with(name, device_name, "none", mdns);
        Person {
            home,
            device: lan.device(),
        }
    }

    /// `tapin ARGS` with the home's own mDNS setting (the harness turns it off by default).
    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = self.home.net_cmd(args);
        cmd.env_remove("TAPIN_MDNS");
        cmd
    }

    /// `tapin ARGS` with mDNS off, for a sync that must fail to reach a friend: a dial of an
    /// address nobody holds on one machine's veth pairs fails at once or never, so a second is
    /// enough.
    fn cmd_without_mdns(&self, args: &[&str]) -> Command {
        let mut cmd = self.home.net_cmd(args);
        cmd.env("TAPIN_MDNS", "off")
            .env("TAPIN_TIMEOUTS", "dial=1s");
        cmd
    }

    /// The device id as mDNS announces it: the key in unpadded base32, lower case.
    fn announced_id(&self) -> String {
        let hex = self.home.json(&["whoami"])["device"]
            .as_str()
            .expect("whoami names the device")
            .to_owned();
        let key: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("a hex device id"))
            .collect();
        data_encoding::BASE32_NOPAD
            .encode(&key)
            .to_ascii_lowercase()
    }
}

/// Maya keeps the default (look for friends, never announce her laptop); Jordan's laptop
/// announces itself, as on a network he trusts. A capture of the LAN holds his device id and
/// never hers.
#[test]
fn two_homes_on_a_lan_without_internet_find_each_other_by_mdns_after_an_address_change() {
    if !tapin_e2e::lab::available() {
        return;
    }
    let lan = Lan::start();
    let capture = lan.router.capture();
    let maya = Person::new(&lan, "Maya", "maya-laptop", "listen");
    let jordan = Person::new(&lan, "Jordan", "jordan-laptop", "on");

    let mut invite = maya.device.spawn(
        maya.cmd(&["--json", "invite", "--yes", "--expires", "2m"]),
        None,
    );
    let ticket = ticket_of(&invite.next_line(NET_TIMEOUT));
    let join = jordan
        .device
        .run(jordan.cmd(&["--json", "join", &ticket, "--yes"]));
    both_paired(ticket, &invite.wait(NET_TIMEOUT), &join);

    // Jordan's laptop serves, then gets a new lease: the address Maya knows is gone.
    let mut serve: Background = jordan.device.spawn(jordan.cmd(&["serve"]), None);
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
        .run(maya.cmd_without_mdns(&["--json", "sync", "Jordan"]));
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    let row = &last_json(&run.stdout)["friends"][0];
    assert_eq!(row["reason"], "mdns-off", "{row:#}");
    let run = maya.device.run(maya.cmd_without_mdns(&["sync", "Jordan"]));
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "could not sync with Jordan: not reachable at the addresses you know for them \
             (10.2.0.12:{LAB_PORT}), and tapin did not look for them on this network because \
             local-network discovery is off (mdns: off); if they moved to a new address here, \
             sync with `--mdns listen`"
        )),
        "{}",
        run.stderr
    );

    // Listening, as by default, it finds Jordan at his new address.
    let run = maya.device.run(maya.cmd(&["--json", "sync", "Jordan"]));
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

    // Everyone on the LAN heard Jordan's laptop announce its id; nobody heard Maya's.
    drop(serve);
    let packets = capture.finish();
    let holds = |id: String| packets.windows(id.len()).any(|w| w == id.as_bytes());
    assert!(
        holds(jordan.announced_id()),
        "the capture misses Jordan's announcement ({} bytes captured)",
        packets.len()
    );
    assert!(
        !holds(maya.announced_id()),
        "Maya's laptop announced itself, though it only listens"
    );
}
