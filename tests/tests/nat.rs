//! Reaching a friend across a simulated internet (`tapin_e2e::lab::internet`): two homes, each
//! behind its own NAT router, and iroh's relay server on the public network between them. The
//! homes pair with a ticket that carries the relay, then sync a shared goal both ways.
//!
//! The relay also serves QUIC address discovery, so each home learns the public address its NAT
//! gave it, and two homes behind Home NATs punch a hole and go direct.
//!
//! Which path each exchange took is observed twice: by the lab, outside tapin (the bytes the
//! relay carried, and the UDP packets each router let in from the other: a hole-punched path),
//! and by tapin (`sync`'s `path`, `show`'s `last_exchange`). Each test checks the two agree.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use tapin_e2e::lab::internet::{Impairment, Internet, Nat, Site, UdpEcho, udp_probe};
use tapin_e2e::{Background, Home, NET_TIMEOUT, both_paired, eventually, last_json, ticket_of};

/// A person's home on a site of the internet.
struct Person<'a> {
    name: &'static str,
    home: Home,
    site: Site<'a>,
    relay: String,
    /// The relay's certificate, trusted for its QUIC address discovery.
    relay_ca: PathBuf,
}

impl<'a> Person<'a> {
    fn new(internet: &'a Internet, nat: Nat, name: &'static str, device: &str) -> Self {
        let relay = internet.relay_url();
        Person {
            name,
            home: Home::init_lab(name, device, &relay),
            site: internet.site(nat),
            relay,
            relay_ca: internet.relay_ca(),
        }
    }

    /// `tapin ARGS` for this person, with the internet's relay, to run in their home namespace.
    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = self.home.lab_cmd(&self.relay, args);
        cmd.env("TAPIN_RELAY_CA", &self.relay_ca);
        cmd
    }

    /// `tapin serve` in the person's home namespace, listening.
    #[track_caller]
    fn serve(&self) -> Background {
        let mut serve = self.site.home.spawn(self.cmd(&["serve"]), None);
        eventually(NET_TIMEOUT, "`tapin serve` to listen", || {
            serve.stderr().contains("Serving as") || !serve.running()
        });
        assert!(serve.running(), "tapin serve stopped:\n{}", serve.stderr());
        serve
    }

    /// `tapin --json sync FRIEND`, which must reach them; returns their row of the report.
    #[track_caller]
    fn sync(&self, friend: &str) -> Value {
        let run = self.site.home.run(self.cmd(&["--json", "sync", friend]));
        assert_eq!(
            run.code,
            Some(0),
            "{} could not sync with {friend}:\nstdout: {}\nstderr: {}",
            self.name,
            run.stdout,
            run.stderr
        );
        let row = last_json(&run.stdout)["friends"][0].clone();
        assert_eq!(row["reached"], true, "{row:#}");
        row
    }

    /// Adds a goal shared with `friend`; returns its id.
    fn share_goal(&self, friend: &str, title: &str) -> String {
        self.home.id(&["goal", "add", friend, title, "--share"])
    }

    /// How the person's last exchange with `friend` went, as `tapin show` has it.
    fn last_exchange(&self, friend: &str) -> Value {
        self.home.json(&["show", friend])["last_exchange"].clone()
    }

    /// The path of the person's last exchange with `friend`, as `tapin show` has it.
    fn last_path(&self, friend: &str) -> Option<String> {
        self.last_exchange(friend)["path"]
            .as_str()
            .map(str::to_owned)
    }

    /// The person's page of `friend`, as text.
    fn show_text(&self, friend: &str) -> String {
        self.home.ok(&["show", friend])
    }

    /// Whether the person's page of `friend` shows the friend's goal `id`.
    fn sees_goal(&self, friend: &str, id: &str) -> bool {
        self.home.json(&["show", friend])["their_goals"]
            .to_string()
            .contains(id)
    }
}

/// `inviter` invites with a ticket that carries the relay; `joiner` joins through it.
#[track_caller]
fn pair(inviter: &Person<'_>, joiner: &Person<'_>) {
    let mut invite = inviter.site.home.spawn(
        inviter.cmd(&["--json", "invite", "--yes", "--expires", "2m"]),
        None,
    );
    let ticket = ticket_of(&invite.next_line(NET_TIMEOUT));
    let join = joiner
        .site
        .home
        .run(joiner.cmd(&["--json", "join", &ticket, "--yes"]));
    both_paired(ticket, &invite.wait(NET_TIMEOUT), &join);
}

/// The path one exchange took, as the lab saw it, and as tapin said it.
#[derive(Debug)]
struct Took {
    what: String,
    /// The `path` of the friend's row of `tapin --json sync` (`direct` or `relay`), for a sync.
    said: Option<String>,
    /// Bytes to and from the relay.
    relay_bytes: u64,
    /// UDP packets let in by the two routers from each other.
    direct_packets: u64,
    wall: Duration,
}

impl std::fmt::Display for Took {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} bytes through the relay, {} direct packets, {:.1?}, tapin said {:?}",
            self.what, self.relay_bytes, self.direct_packets, self.wall, self.said
        )
    }
}

impl Took {
    fn relayed_only(&self) -> bool {
        self.relay_bytes > 0 && self.direct_packets == 0
    }

    /// Whether what tapin said of a sync's path is what the lab saw: `relay` when no packet
    /// came in direct, `direct` when the exchange ended on a direct path.
    fn said_truly(&self) -> bool {
        match self.said.as_deref() {
            None => true,
            Some("relay") => self.relay_bytes > 0,
            Some("direct") => self.direct_packets > 0,
            Some(_) => false,
        }
    }
}

/// Runs `step`, and reports what the lab saw of the path while it ran.
fn observe(
    internet: &Internet,
    sites: [&Site<'_>; 2],
    what: &str,
    step: impl FnOnce() -> Option<String>,
) -> Took {
    let direct = || sites.iter().map(|s| s.direct_packets_in()).sum::<u64>();
    let (relay_before, direct_before, started) = (internet.relay_bytes(), direct(), Instant::now());
    let said = step();
    let took = Took {
        what: what.to_owned(),
        said,
        relay_bytes: internet.relay_bytes() - relay_before,
        direct_packets: direct() - direct_before,
        wall: started.elapsed(),
    };
    // Shown with `--nocapture`: the path is the result this test exists to report.
    #[allow(clippy::print_stderr)]
    {
        eprintln!("{took}");
    }
    took
}

/// Maya (behind `maya_nat`) and Jordan (behind `jordan_nat`) on one internet.
fn maya_and_jordan(internet: &Internet, maya_nat: Nat, jordan_nat: Nat) -> [Person<'_>; 2] {
    [
        Person::new(internet, maya_nat, "Maya", "maya-laptop"),
        Person::new(internet, jordan_nat, "Jordan", "jordan-phone"),
    ]
}

/// Maya and Jordan pair through the relay, then each shares a goal and syncs it to the other's
/// `tapin serve`. Returns the path of each step.
fn pair_and_sync_both_ways(
    internet: &Internet,
    maya: &Person<'_>,
    jordan: &Person<'_>,
) -> Vec<Took> {
    let sites = [&maya.site, &jordan.site];
    let mut took = vec![observe(internet, sites, "pair", || {
        pair(maya, jordan);
        None
    })];

    let goal = maya.share_goal("Jordan", "Swim in the lake, across two NATs");
    {
        let _serve = jordan.serve();
        took.push(observe(internet, sites, "Maya syncs to Jordan", || {
            maya.sync("Jordan")["path"].as_str().map(str::to_owned)
        }));
    }
    assert!(
        jordan.sees_goal("Maya", &goal),
        "Maya's shared goal did not reach Jordan ({took:?})"
    );

    let goal = jordan.share_goal("Maya", "Cook together, across two NATs");
    let _serve = maya.serve();
    took.push(observe(internet, sites, "Jordan syncs to Maya", || {
        jordan.sync("Maya")["path"].as_str().map(str::to_owned)
    }));
    assert!(
        maya.sees_goal("Jordan", &goal),
        "Jordan's shared goal did not reach Maya ({took:?})"
    );
    took
}

/// How long a probe waits for an answer that must come: across veth pairs on one machine it
/// takes well under a millisecond, and the wait ends as soon as it comes.
const ANSWER: Duration = Duration::from_secs(5);

/// How long a probe listens for an answer that must not come: what arrives in half a second on
/// one machine's veth pairs arrives at once.
const SILENCE: Duration = Duration::from_millis(500);

/// The lab itself, checked before any result that depends on it: a home router keeps a socket's
/// public address and port whatever it sends to; a corporate one does not; neither lets in what
/// nobody inside asked for; a home never reaches another's LAN address; and an uplink can be
/// slowed and cut.
#[test]
fn the_lab_s_routers_map_and_filter_as_their_kind_of_nat_does() {
    if !tapin_e2e::lab::available() {
        return;
    }
    let internet = Internet::start();
    let home = internet.site(Nat::Home);
    let corporate = internet.site(Nat::Corporate);
    let relay_host = |port| SocketAddr::from((Internet::RELAY_IP, port));
    let _echoes = [7001, 7002].map(|port| UdpEcho::start(&internet.ns, relay_host(port)));
    let from = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 5000));
    let targets = [relay_host(7001), relay_host(7002)];

    let seen = udp_probe(&home.home, from, &targets, ANSWER);
    let kept = Some(SocketAddr::from((home.public, 5000)));
    assert_eq!(
        seen,
        vec![kept, kept],
        "a home router maps independently of the endpoint"
    );

    let seen = udp_probe(&corporate.home, from, &targets, ANSWER);
    assert!(
        seen.iter()
            .all(|s| s.is_some_and(|s| s.ip() == corporate.public)),
        "{seen:?}"
    );
    let ports: Vec<_> = seen.iter().flatten().map(SocketAddr::port).collect();
    assert_ne!(
        ports,
        [5000, 5000],
        "a corporate router maps each destination anew"
    );

    // An uplink that loses everything carries nothing until the loss is lifted; a cut one
    // nothing until it is back. (Delay and partial loss are measured in `impaired.rs`.)
    home.impair(Impairment {
        delay: Duration::ZERO,
        loss_percent: 100.0,
    });
    assert_eq!(
        udp_probe(&home.home, from, &targets[..1], SILENCE),
        vec![None]
    );
    home.unimpair();
    assert_eq!(
        udp_probe(&home.home, from, &targets[..1], ANSWER),
        vec![kept]
    );
    home.uplink(false);
    assert_eq!(
        udp_probe(&home.home, from, &targets[..1], SILENCE),
        vec![None]
    );
    home.uplink(true);
    assert_eq!(
        udp_probe(&home.home, from, &targets[..1], ANSWER),
        vec![kept]
    );

    for site in [&home, &corporate] {
        let inside = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 6000));
        let _echo = UdpEcho::start(&site.home, inside);
        let unsolicited = udp_probe(
            &internet.ns,
            relay_host(0),
            &[SocketAddr::from((site.public, 6000))],
            SILENCE,
        );
        assert_eq!(
            unsolicited,
            vec![None],
            "{:?} let in an unsolicited datagram",
            site.nat
        );
        let other = if site.nat == Nat::Home {
            &corporate
        } else {
            &home
        };
        let across = udp_probe(
            &other.home,
            from,
            &[SocketAddr::from((site.lan, 6000))],
            SILENCE,
        );
        assert_eq!(across, vec![None], "a home reached another's LAN");
    }
}

#[test]
fn two_homes_behind_home_nats_pair_through_the_relay_then_go_direct_once_a_hole_is_punched() {
    if !tapin_e2e::lab::available() {
        return;
    }
    let internet = Internet::start();
    let [maya, jordan] = maya_and_jordan(&internet, Nat::Home, Nat::Home);
    let mut took = pair_and_sync_both_ways(&internet, &maya, &jordan);
    // Each `tapin sync` is a new connection that starts on the relay and ends before a hole is
    // punched, or after: whichever it was, `tapin sync` says which, and truly.
    assert!(took.iter().all(|t| t.relay_bytes > 0), "{took:#?}");
    assert!(took.iter().skip(1).all(|t| t.said.is_some()), "{took:#?}");

    // Two running nodes keep their connection: once both have learnt their public addresses
    // from the relay (QUIC address discovery) and punched through both NATs, what Maya shares
    // next goes straight to Jordan.
    let sites = [&maya.site, &jordan.site];
    let _serves = [maya.serve(), jordan.serve()];
    let started = Instant::now();
    for round in 1.. {
        let goal = maya.share_goal("Jordan", &format!("Round {round} of a walk, direct"));
        let before = jordan.last_exchange("Maya");
        let step = observe(
            &internet,
            sites,
            &format!("Maya's node pushes goal {round}"),
            || {
                // Jordan's node notes the exchange's path just after it applies the goal.
                eventually(NET_TIMEOUT, "the goal to reach Jordan's node", || {
                    jordan.sees_goal("Maya", &goal) && jordan.last_exchange("Maya") != before
                });
                jordan.last_path("Maya")
            },
        );
        let direct = step.said.as_deref() == Some("direct");
        took.push(step);
        if direct {
            break;
        }
        assert!(
            started.elapsed() < NET_TIMEOUT,
            "no exchange went direct between two Home NATs: {took:#?}"
        );
    }
    assert!(took.iter().all(Took::said_truly), "{took:#?}");
    let last = took.last().expect("a step");
    assert!(last.direct_packets > 0, "{took:#?}");
    // Jordan's page no longer says the relay was the only way to Maya.
    let page = jordan.show_text("Maya");
    assert!(!page.contains("went through a relay"), "{page}");
}

#[test]
fn a_home_nat_and_a_corporate_nat_sync_both_ways_through_the_relay() {
    if !tapin_e2e::lab::available() {
        return;
    }
    let internet = Internet::start();
    let [maya, jordan] = maya_and_jordan(&internet, Nat::Home, Nat::Corporate);
    let took = pair_and_sync_both_ways(&internet, &maya, &jordan);
    // A corporate NAT maps each destination to another port: no hole can be punched, and
    // everything goes through the relay.
    assert!(took.iter().all(Took::relayed_only), "{took:#?}");
    // `tapin sync` tells the person the friend was reached only through the relay,
    let said: Vec<_> = took.iter().skip(1).map(|t| t.said.as_deref()).collect();
    assert_eq!(said, [Some("relay"), Some("relay")], "{took:#?}");
    // and so does `tapin show`, afterwards, on both sides.
    for (person, friend) in [(&maya, "Jordan"), (&jordan, "Maya")] {
        assert_eq!(person.last_path(friend).as_deref(), Some("relay"));
        let page = person.show_text(friend);
        // The one line that says so, word for word, around the minute of the sync.
        let said = page.lines().find_map(|line| {
            let rest = line.strip_prefix("The last sync with them (")?;
            let (minute, rest) = rest.split_at_checked(16)?;
            let minute_ok = minute.len() == 16 && minute.as_bytes()[10] == b' ';
            (minute_ok
                && rest
                    == ") went through a relay: no direct path to them was found. The relay \
                        cannot read what you share, but it sees that your devices talk.")
                .then_some(())
        });
        assert!(
            said.is_some(),
            "{}'s page of {friend}:\n{page}",
            person.name
        );
    }
}

/// What friends share crosses the relay end-to-end encrypted, and what one keeps private never
/// leaves the device: a capture of every packet on the internet (the relay's, and both routers'
/// uplinks), through a pairing and a relayed sync, holds no byte of either. The capture is
/// checked first: it does hold a marker sent in the clear.
#[test]
fn a_capture_of_the_internet_holds_no_byte_of_a_shared_or_a_private_marker() {
    if !tapin_e2e::lab::available() {
        return;
    }
    let internet = Internet::start();
    // A corporate NAT on one side: every byte goes through the relay.
    let [maya, jordan] = maya_and_jordan(&internet, Nat::Home, Nat::Corporate);
    let nonce = std::process::id();
    let canary = format!("clear-canary-{nonce}");
    let shared = format!("shared-marker-{nonce}");
    let private = format!("private-marker-{nonce}");
    let capture = internet.capture();

    let clear = maya.site.home.run({
        let mut cmd = Command::new("bash");
        cmd.arg("-c").arg(format!(
            "exec 3<>/dev/tcp/{}/{} && printf 'GET /{canary} HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3",
            Internet::RELAY_IP,
            Internet::RELAY_PORT
        ));
        cmd
    });
    assert_eq!(clear.code, Some(0), "{}", clear.stderr);

    pair(&maya, &jordan);
    let goal = maya.share_goal("Jordan", &shared);
    maya.home
        .ok(&["goal", "add", "Jordan", &format!("{private} goal")]);
    maya.home.ok(&[
        "journal",
        "add",
        &format!("{private} entry"),
        "--about",
        "Jordan",
    ]);
    {
        let _serve = jordan.serve();
        assert_eq!(maya.sync("Jordan")["path"], "relay");
    }
    assert!(
        jordan.sees_goal("Maya", &goal),
        "the shared goal did not cross"
    );
    let packets = capture.finish();

    let holds = |marker: &str| {
        packets
            .windows(marker.len())
            .any(|w| w == marker.as_bytes())
    };
    assert!(
        holds(&canary),
        "the capture misses what crossed in the clear ({} bytes captured)",
        packets.len()
    );
    assert!(internet.relay_bytes() > 0, "nothing went through the relay");
    assert!(
        !holds(&shared),
        "a shared record crossed the relay readable"
    );
    assert!(!holds(&private), "a private record left Maya's device");
    // Nor any part of it a shorter window would find: the marker's distinctive middle.
    assert!(!holds(&format!("marker-{nonce}")));
}

/// A path that changes: Jordan's laptop leaves its home wifi for a phone's hotspot (another
/// router, another public address) while both nodes run. Nothing restarts, and the next change
/// each way still arrives.
#[test]
fn a_device_whose_uplink_switches_mid_serve_still_gets_the_next_change_without_a_restart() {
    if !tapin_e2e::lab::available() {
        return;
    }
    let internet = Internet::start();
    let [maya, jordan] = maya_and_jordan(&internet, Nat::Home, Nat::Home);
    let hotspot = internet.site(Nat::Home);
    pair(&maya, &jordan);
    let mut serves = [maya.serve(), jordan.serve()];
    let goal = maya.share_goal("Jordan", "Before the switch");
    eventually(NET_TIMEOUT, "the first goal to reach Jordan", || {
        jordan.sees_goal("Maya", &goal)
    });

    jordan.site.roam_to(&hotspot);
    let switched = Instant::now();
    let goal = maya.share_goal("Jordan", "After the switch");
    eventually(NET_TIMEOUT, "Maya's next goal to reach Jordan", || {
        jordan.sees_goal("Maya", &goal)
    });
    let goal = jordan.share_goal("Maya", "From the hotspot");
    eventually(NET_TIMEOUT, "Jordan's goal to reach Maya", || {
        maya.sees_goal("Jordan", &goal)
    });
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "both changes arrived {:.1?} after the switch",
            switched.elapsed()
        );
    }
    for serve in &mut serves {
        assert!(serve.running(), "a node stopped:\n{}", serve.stderr());
    }
    // And they went the new way: through the hotspot's router.
    assert!(jordan.site.packets_through(&hotspot) > 0);
}
