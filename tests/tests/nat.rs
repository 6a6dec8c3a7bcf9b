//! Reaching a friend across a simulated internet (`tapin_e2e::lab::internet`): two homes, each
//! behind its own NAT router, and iroh's relay server on the public network between them. The
//! homes pair with a ticket that carries the relay, then sync a shared goal both ways.
//!
//! Which path each exchange took is observed by the lab, outside tapin: the bytes the relay
//! carried, and the UDP packets each router let in from the other (a hole-punched path). tapin
//! does not report it itself yet.

use std::net::{Ipv4Addr, SocketAddr};
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
}

impl<'a> Person<'a> {
    fn new(internet: &'a Internet, nat: Nat, name: &'static str, device: &str) -> Self {
        let relay = internet.relay_url();
        Person {
            name,
            home: Home::init_lab(name, device, &relay),
            site: internet.site(nat),
            relay,
        }
    }

    /// `tapin serve` in the person's home namespace, listening.
    #[track_caller]
    fn serve(&self) -> Background {
        let mut serve = self
            .site
            .home
            .spawn(self.home.lab_cmd(&self.relay, &["serve"]), None);
        eventually(NET_TIMEOUT, "`tapin serve` to listen", || {
            serve.stderr().contains("Serving as") || !serve.running()
        });
        assert!(serve.running(), "tapin serve stopped:\n{}", serve.stderr());
        serve
    }

    /// `tapin --json sync FRIEND`, which must reach them; returns their row of the report.
    #[track_caller]
    fn sync(&self, friend: &str) -> Value {
        let run = self
            .site
            .home
            .run(self.home.lab_cmd(&self.relay, &["--json", "sync", friend]));
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
        inviter.home.lab_cmd(
            &inviter.relay,
            &["--json", "invite", "--yes", "--expires", "2m"],
        ),
        None,
    );
    let ticket = ticket_of(&invite.next_line(NET_TIMEOUT));
    let join = joiner.site.home.run(
        joiner
            .home
            .lab_cmd(&joiner.relay, &["--json", "join", &ticket, "--yes"]),
    );
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

/// Maya (behind `maya_nat`) and Jordan (behind `jordan_nat`) pair through the relay, then each
/// shares a goal and syncs it to the other's `tapin serve`. Returns the path of each step.
fn pair_and_sync_both_ways(maya_nat: Nat, jordan_nat: Nat) -> Vec<Took> {
    let internet = Internet::start();
    let maya = Person::new(&internet, maya_nat, "Maya", "maya-laptop");
    let jordan = Person::new(&internet, jordan_nat, "Jordan", "jordan-phone");
    let sites = [&maya.site, &jordan.site];
    let mut took = vec![observe(&internet, sites, "pair", || {
        pair(&maya, &jordan);
        None
    })];

    let goal = maya.share_goal("Jordan", "Swim in the lake, across two NATs");
    {
        let _serve = jordan.serve();
        took.push(observe(&internet, sites, "Maya syncs to Jordan", || {
            maya.sync("Jordan")["path"].as_str().map(str::to_owned)
        }));
    }
    assert!(
        jordan.sees_goal("Maya", &goal),
        "Maya's shared goal did not reach Jordan ({took:?})"
    );

    let goal = jordan.share_goal("Maya", "Cook together, across two NATs");
    let _serve = maya.serve();
    took.push(observe(&internet, sites, "Jordan syncs to Maya", || {
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
fn two_homes_behind_home_nats_pair_through_the_relay_and_sync_a_shared_goal_both_ways() {
    let took = pair_and_sync_both_ways(Nat::Home, Nat::Home);
    // The relay carries every step. Not asserted either way yet: a direct path after it. Hole
    // punching needs each side to learn its public address, which iroh does by QUIC address
    // discovery against the relay, and `tapin-test-relay` serves plain HTTP without it; so
    // today every exchange here stays relayed (see the report with `--nocapture`).
    assert!(took.iter().all(|t| t.relay_bytes > 0), "{took:#?}");
    // Whatever path it took, `tapin sync` says which, and truly.
    assert!(took.iter().skip(1).all(|t| t.said.is_some()), "{took:#?}");
    assert!(took.iter().all(Took::said_truly), "{took:#?}");
}

#[test]
fn a_home_nat_and_a_corporate_nat_sync_both_ways_through_the_relay() {
    let took = pair_and_sync_both_ways(Nat::Home, Nat::Corporate);
    // A corporate NAT maps each destination to another port: no hole can be punched, and
    // everything goes through the relay.
    assert!(took.iter().all(Took::relayed_only), "{took:#?}");
    // And `tapin sync` tells the person the friend was reached only through the relay.
    let said: Vec<_> = took.iter().skip(1).map(|t| t.said.as_deref()).collect();
    assert_eq!(said, [Some("relay"), Some("relay")], "{took:#?}");
}
