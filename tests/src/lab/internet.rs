//! A simulated internet: a public network with a relay on it, and homes that reach it only
//! through NAT routers, built from namespaces the way iroh's own lab crate `patchbay` builds
//! them (n0-computer/patchbay, `docs/reference/holepunching.md`).
//!
//! ```text
//!     internet (bridge br0, 198.18.0.1/24: relay on :3340, address discovery on udp :7842)
//!                  │                              │
//!     wire 1 (forwards, proxy ARP, .111)    wire 2 (forwards, proxy ARP, .112)
//!                  │                              │
//!   router 1: wan 198.18.0.11 (NAT)   router 2: wan 198.18.0.12 (NAT)
//!        lan 10.0.1.1/24                   lan 10.0.2.1/24
//!                  │                              │
//!   home 1: 10.0.1.2, default via .1   home 2: 10.0.2.2, default via .1
//! ```
//!
//! 198.18.0.0/15 is the benchmarking range (RFC 2544), which nobody routes; 10.0.0.0/8 is
//! private. Both exist only inside these namespaces: nothing here is routed off the machine.
//!
//! The routers' public addresses share one subnet, so two routers reach each other directly, as
//! two homes on the internet do; what keeps the homes apart is each router's NAT ([`Nat`]).
//! The lab also observes which path traffic takes, from outside the programs under test:
//! [`Internet::relay_bytes`] counts the bytes to and from the relay, and
//! [`Site::direct_packets_in`] the UDP packets a router let in from another router (a
//! hole-punched path: nothing else reaches a home from outside). [`Site::uplink_bytes`] counts
//! what a site's uplink carried, each way.
//!
//! # The wire: where an uplink is impaired
//!
//! Each router's `wan` reaches the bridge through a namespace of its own, the site's *wire*: a
//! plain IPv4 forwarder with no NAT and no filter. It answers ARP for the router's address on
//! the bridge's side and for everything else on the router's side (proxy ARP), so the router
//! and the internet still see one subnet, as the diagram shows; packets cross it with one hop
//! more on their TTL, nothing else changed. While a site is impaired ([`Site::impair`]), policy
//! routing in the wire (`ip rule add iif rtr lookup 100`, `ip rule add iif isp to PUBLIC
//! lookup 100`, table 100 `default dev tun0`) sends every packet of the uplink, both ways, into
//! a TUN device held by `tapin-test-link`, which writes each one back into the device after the
//! delay, or drops it; a packet written back is routed by the main table, out the other side.
//! Loss and delay live in that one program. The rule on the bridge's side names the router's
//! address because proxy ARP decides by the same lookup: a rule for everything from `isp`
//! would make the wire answer ARP on the bridge for every address, the relay's and the other
//! routers' included.
//!
//! Why a namespace of its own, and not the rules inside the router: a packet routed through a
//! TUN device in the router would cross the router's conntrack twice, and the NAT binding is
//! decided on the first pass, where `oif "wan"` (the condition of the masquerade and `snat`
//! rules) does not yet hold: the router would silently stop translating. The wire has no
//! conntrack state anyone depends on. And why user space: the kernel's `netem` qdisc
//! (CONFIG_NET_SCH_NETEM) is missing from some kernels, this project's reference VM among
//! them, and so is NFQUEUE; TUN devices are everywhere.
//!
//! ```no_run
//! use std::time::Duration;
//! use tapin_e2e::lab::internet::{Impairment, Internet, Nat};
//! let internet = Internet::start();
//! let home = internet.site(Nat::Home);
//! let office = internet.site(Nat::Corporate);
//! // 150 ms round trip and 3 % loss between the two homes, half of it on each uplink.
//! for site in [&home, &office] {
//!     site.impair(Impairment { delay: Duration::from_micros(37_500), loss_percent: 1.5 });
//! }
//! // Run `tapin` inside `home.home` and `office.home` with `--relay internet.relay_url()`.
//! ```

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, PoisonError, mpsc};
use std::time::Duration;

use super::{Netns, TestRelay};

/// How a router maps its homes' connections to its public address, after RFC 4787 and the
/// presets of `patchbay`'s `Nat` of the same names. Both filter alike (address- and
/// port-dependent: a packet from outside gets in only as the reply to one sent out); they
/// differ in the mapping, which is what decides whether a hole can be punched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nat {
    /// A home router (FritzBox, OpenWRT): endpoint-independent mapping, port-preserving. A
    /// socket keeps one public port whatever it sends to, so a peer that learnt it can answer
    /// it: hole punching works by a simultaneous open.
    ///
    /// Plain `snat`/`masquerade` (even `persistent`) does not keep the port across conntrack
    /// entries (patchbay's finding), so this is patchbay's "fullcone map": the router records
    /// each UDP source port's inside address as it goes out and sends packets to that port
    /// back to it; the forward filter still lets in only established flows.
    Home,
    /// A corporate firewall (Cisco ASA, Palo Alto): endpoint-dependent mapping, `masquerade
    /// random`. Each destination sees another, random public port, so no peer can predict
    /// where to punch: reach is through a relay only.
    Corporate,
}

/// A link's impairment, on both directions of a site's uplink, done in user space by
/// `tapin-test-link` in the site's wire (see the module docs). Between two impaired sites,
/// the two uplinks add up: a round trip from one home to the other crosses each uplink twice, so
/// two uplinks each delayed by `d` make a round trip of `4 d`, and a one-way loss of `p` on each
/// loses about `2 p` one way.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Impairment {
    /// One-way delay added in each direction (the round trip through this uplink grows by twice
    /// this). Kept to the microsecond.
    pub delay: Duration,
    /// The share of packets dropped in each direction, in percent (kept to 0.01 %).
    pub loss_percent: f32,
}

/// The simulated internet: a namespace with the public network's bridge and the relay.
/// Everything in it, and every [`Site`] made from it, is deleted when dropped.
#[derive(Debug)]
pub struct Internet {
    /// Dropped before the namespace.
    relay: TestRelay,
    /// The internet itself.
    pub ns: Netns,
    /// Sites made so far, for their numbers.
    sites: AtomicU8,
}

impl Internet {
    /// The relay's address: the internet namespace's own, on the bridge.
    pub const RELAY_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
    /// The relay's port.
    pub const RELAY_PORT: u16 = 3340;

    /// Builds the internet and starts the relay on it. Needs root, `ip` and `nft` (and, for
    /// [`Site::impair`], a kernel with TUN devices).
    #[track_caller]
    pub fn start() -> Internet {
        let ns = Netns::new("inet");
        // The relay's host routes nothing: homes meet only through their routers' addresses.
        ns.sysctl("net.ipv4.ip_forward=0");
        ns.sysctl("net.ipv6.conf.all.disable_ipv6=1");
        ns.ip(&["link", "add", "br0", "type", "bridge"]);
        ns.ip(&["addr", "add", "198.18.0.1/24", "dev", "br0"]);
        ns.ip(&["link", "set", "br0", "up"]);
        // Counts what reaches the relay and what it sends, both ways, for `relay_bytes`.
        ns.nft(&format!(
            "table ip lab {{
                counter relay {{}}
                chain input {{
                    type filter hook input priority 0; policy accept;
                    tcp dport {port} counter name relay
                }}
                chain output {{
                    type filter hook output priority 0; policy accept;
                    tcp sport {port} counter name relay
                }}
            }}",
            port = Self::RELAY_PORT
        ));
        let relay = TestRelay::start_with_qad(
            &ns,
            SocketAddr::from((Ipv4Addr::UNSPECIFIED, Self::RELAY_PORT)),
            Self::RELAY_IP.into(),
        );
        Internet {
            relay,
            ns,
            sites: AtomicU8::new(0),
        }
    }

    /// The relay's URL, as a home's `--relay` setting takes it.
    pub fn relay_url(&self) -> String {
        self.relay.url(Self::RELAY_IP.into())
    }

    /// The relay's certificate, which homes trust through `TAPIN_RELAY_CA` for its QUIC
    /// address discovery.
    pub fn relay_ca(&self) -> PathBuf {
        self.relay
            .ca_file()
            .expect("the internet's relay serves QUIC address discovery")
    }

    /// The bytes (IP packets, headers included) that went to and from the relay so far.
    pub fn relay_bytes(&self) -> u64 {
        self.ns.counter("ip", "lab", "relay").1
    }

    /// Starts capturing every packet that crosses the internet (`tcpdump -i any` in its
    /// namespace: the relay's traffic and every router's uplink), until [`Capture::finish`].
    #[track_caller]
    pub fn capture(&self) -> Capture {
        self.ns.capture()
    }

    /// A new site on the internet: a router doing `nat` between its public address
    /// (198.18.0.1N) and a home namespace on its LAN (10.0.N.2/24), and the wire between the
    /// router and the internet (which asks the bridge as 198.18.0.(110+N)). At most 100 per
    /// internet.
    #[track_caller]
    pub fn site(&self, nat: Nat) -> Site<'_> {
        let n = self.sites.fetch_add(1, Ordering::SeqCst) + 1;
        assert!(n <= 100, "an internet has room for 100 sites");
        let router = Netns::new(&format!("router{n}"));
        let home = Netns::new(&format!("home{n}"));
        let wire = Netns::new(&format!("wire{n}"));
        let public = Ipv4Addr::new(198, 18, 0, 10 + n);
        let lan = Ipv4Addr::new(10, 0, n, 2);
        let port = format!("site{n}");
        for ns in [&router, &home, &wire] {
            // IPv4 only: link-local IPv6 addresses would only add paths that lead nowhere.
            ns.sysctl("net.ipv6.conf.all.disable_ipv6=1");
        }
        // The uplink: the router's `wan` to the wire's `rtr`, the wire's `isp` to a port of the
        // internet's bridge.
        super::veth(&router, "wan", &wire, "rtr");
        super::veth(&wire, "isp", &self.ns, &port);
        self.ns.ip(&["link", "set", &port, "master", "br0"]);
        self.ns.ip(&["link", "set", &port, "up"]);
        wire_up(&wire, public, Ipv4Addr::new(198, 18, 0, 110 + n));
        router.ip(&["addr", "add", &format!("{public}/24"), "dev", "wan"]);
        router.ip(&["link", "set", "wan", "up"]);
        // The LAN: one home behind the router.
        super::veth(&home, "eth0", &router, "lan");
        router.ip(&["addr", "add", &format!("10.0.{n}.1/24"), "dev", "lan"]);
        router.ip(&["link", "set", "lan", "up"]);
        home.ip(&["addr", "add", &format!("{lan}/24"), "dev", "eth0"]);
        home.ip(&["link", "set", "eth0", "up"]);
        home.ip(&["route", "add", "default", "via", &format!("10.0.{n}.1")]);
        router.sysctl("net.ipv4.ip_forward=1");
        router.nft(&nat_rules(nat, public));
        Site {
            home,
            router,
            wire,
            nat,
            public,
            lan,
            link: Mutex::new(None),
            internet: std::marker::PhantomData,
        }
    }
}

/// The policy-routing table through which an impaired wire sends its packets to the link.
const LINK_TABLE: &str = "100";

/// Sets up a site's wire, whose `rtr` faces the router at `public` and `isp` the internet's
/// bridge: forwarding with proxy ARP both ways, so the router and the bridge still share one
/// subnet, and the counters [`Site::uplink_bytes`] reads. `own` is the wire's own address on
/// the bridge, which its ARP requests come from.
#[track_caller]
fn wire_up(wire: &Netns, public: Ipv4Addr, own: Ipv4Addr) {
    wire.sysctl("net.ipv4.ip_forward=1");
    // The wire only passes packets on: no redirects (each side is one subnet, a redirect would
    // name the wire's other side), and no reverse-path check, which would refuse what comes
    // back out of the TUN device (its sources are routed out `rtr` or `isp`, not `tun0`).
    for conf in ["all", "default", "rtr", "isp"] {
        wire.sysctl(&format!("net.ipv4.conf.{conf}.rp_filter=0"));
        wire.sysctl(&format!("net.ipv4.conf.{conf}.send_redirects=0"));
        // A cut cable (`Site::uplink(false)`) leaves `rtr` without carrier: then the wire must
        // not answer for the router, so that the internet sees the router gone, as before.
        wire.sysctl(&format!(
            "net.ipv4.conf.{conf}.ignore_routes_with_linkdown=1"
        ));
    }
    for side in ["rtr", "isp"] {
        wire.sysctl(&format!("net.ipv4.conf.{side}.proxy_arp=1"));
        // Answer at once: by default proxy ARP waits up to 0.8 s for a real host to answer first.
        wire.sysctl(&format!("net.ipv4.neigh.{side}.proxy_delay=0"));
        wire.ip(&["link", "set", "dev", side, "up"]);
    }
    wire.ip(&["route", "add", &format!("{public}/32"), "dev", "rtr"]);
    // An address of its own on the bridge: without one, the wire asks the bridge who has an
    // address (another router's) from 0.0.0.0, which the other wire's proxy ARP cannot route
    // an answer to, so two routers never reach each other direct and no hole is ever punched.
    wire.ip(&["addr", "add", &format!("{own}/32"), "dev", "isp"]);
    wire.ip(&["route", "add", "198.18.0.0/24", "dev", "isp"]);
    // What the uplink delivered, each way, counted where it leaves the wire: after the link
    // dropped what it dropped, whether or not the site is impaired.
    wire.nft(
        r#"table ip lab {
            counter up {}
            counter down {}
            chain forward {
                type filter hook forward priority 0; policy accept;
                oif "isp" counter name up
                oif "rtr" counter name down
            }
        }"#,
    );
}

/// A router's nftables rules for `nat` on its uplink `wan` with address `public`, after
/// patchbay's `generate_nat_rules` (mapping) with address- and port-dependent filtering, plus
/// the counter [`Site::direct_packets_in`] reads.
fn nat_rules(nat: Nat, public: Ipv4Addr) -> String {
    let (map, prerouting, postrouting) = match nat {
        Nat::Home => (
            "map fullcone {
                type inet_service : ipv4_addr . inet_service
                flags dynamic,timeout
                timeout 300s
                size 65536
            }",
            r#"iif "wan" meta l4proto udp dnat to udp dport map @fullcone"#.to_owned(),
            format!(
                r#"oif "wan" meta l4proto udp update @fullcone {{ udp sport timeout 300s : ip saddr . udp sport }}
                oif "wan" snat to {public}"#
            ),
        ),
        // The empty prerouting chain still matters: without a nat prerouting hook the kernel
        // does not reverse-NAT replies (patchbay's pitfall).
        Nat::Corporate => (
            "",
            String::new(),
            r#"oif "wan" masquerade random"#.to_owned(),
        ),
    };
    format!(
        r#"table ip nat {{
            {map}
            chain prerouting {{
                type nat hook prerouting priority dstnat; policy accept;
                {prerouting}
            }}
            chain postrouting {{
                type nat hook postrouting priority srcnat; policy accept;
                {postrouting}
            }}
        }}
        table ip filter {{
            counter direct_in {{}}
            chain forward {{
                type filter hook forward priority 0; policy accept;
                iif "wan" ip saddr != {relay} meta l4proto udp ct state established counter name direct_in accept
                iif "wan" ct state established,related accept
                iif "wan" drop
            }}
        }}"#,
        relay = Internet::RELAY_IP,
    )
}

/// One site on the [`Internet`]: a home namespace behind a NAT router, whose uplink crosses
/// the site's wire. Its namespaces are deleted when dropped.
#[derive(Debug)]
pub struct Site<'a> {
    /// Where the person's devices run: `home.spawn(..)`, `home.run(..)`.
    pub home: Netns,
    /// The router, doing [`Site::nat`].
    pub router: Netns,
    /// Between the router's `wan` and the internet's bridge: where the uplink is impaired and
    /// counted (see the module docs).
    pub wire: Netns,
    /// The router's NAT.
    pub nat: Nat,
    /// The router's public address.
    pub public: Ipv4Addr,
    /// The home's address on its LAN.
    pub lan: Ipv4Addr,
    /// The user-space link in the wire, started by the first [`Site::impair`], and whether the
    /// wire routes the uplink through it now.
    /// A mutex, not a cell, so that a test can probe two sites from two threads.
    link: Mutex<Option<(Link, bool)>>,
    /// A site lives on its internet's bridge: it must not outlive it.
    internet: std::marker::PhantomData<&'a Internet>,
}

/// What an uplink carried, in bytes of IP packets (headers included), each way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Carried {
    /// From the site to the internet.
    pub up: u64,
    /// From the internet to the site.
    pub down: u64,
}

impl Carried {
    /// Both ways.
    pub fn total(self) -> u64 {
        self.up + self.down
    }
}

impl std::ops::Sub for Carried {
    type Output = Carried;

    /// What was carried between two readings (`later - earlier`).
    fn sub(self, earlier: Carried) -> Carried {
        Carried {
            up: self.up - earlier.up,
            down: self.down - earlier.down,
        }
    }
}

/// What a site's user-space link did with the packets it read, both ways together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Packets delivered after their delay.
    pub forwarded: u64,
    /// Packets dropped by the impairment's loss.
    pub lost: u64,
    /// Packets dropped because the link's queue was full (a real router's tail drop): any at
    /// all means the link itself, not the impairment asked for, shaped the traffic.
    pub overflowed: u64,
}

impl Site<'_> {
    /// The UDP packets the router let in to its home from another address on the internet than
    /// the relay's: each one arrived on a hole-punched, direct path.
    pub fn direct_packets_in(&self) -> u64 {
        self.router.counter("ip", "filter", "direct_in").0
    }

    /// What the uplink delivered so far, each way (after any loss of [`Site::impair`]).
    pub fn uplink_bytes(&self) -> Carried {
        Carried {
            up: self.wire.counter("ip", "lab", "up").1,
            down: self.wire.counter("ip", "lab", "down").1,
        }
    }

    /// Impairs the uplink in both directions, replacing any earlier impairment: from now on,
    /// every packet that crosses the wire either way is delayed by `how.delay` or, with the
    /// chance `how.loss_percent`, dropped. Packets already in the link keep the delay they got.
    #[track_caller]
    pub fn impair(&self, how: Impairment) {
        // In ten-thousandths, so 0.01 % steps are kept.
        let per_10k = (how.loss_percent * 100.0).round().clamp(0.0, 10_000.0) as u32;
        let delay = u64::try_from(how.delay.as_micros()).expect("a delay under 500,000 years");
        let mut link = self.link.lock().unwrap_or_else(PoisonError::into_inner);
        let (link, routed) = link.get_or_insert_with(|| (Link::start(&self.wire), false));
        link.ask(&format!("set {delay} {per_10k}"), "set");
        if !*routed {
            self.link_rules("add");
            *routed = true;
        }
    }

    /// Lifts [`Site::impair`]'s impairment: the wire forwards in the kernel again (packets still
    /// in the link leave when their delay is over).
    #[track_caller]
    pub fn unimpair(&self) {
        if let Some((link, routed)) = self
            .link
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
        {
            if *routed {
                self.link_rules("del");
                *routed = false;
            }
            link.ask("set 0 0", "set");
        }
    }

    /// Adds or deletes (`add_or_del`) the wire's policy-routing rules that send the uplink
    /// through the link: everything from the router, and what comes from the bridge for the
    /// router (not everything from the bridge: see the module docs on proxy ARP).
    #[track_caller]
    fn link_rules(&self, add_or_del: &str) {
        let to = format!("{}/32", self.public);
        self.wire
            .ip(&["rule", add_or_del, "iif", "rtr", "lookup", LINK_TABLE]);
        self.wire.ip(&[
            "rule", add_or_del, "iif", "isp", "to", &to, "lookup", LINK_TABLE,
        ]);
    }

    /// What the site's link has done so far (all zero before the first [`Site::impair`]).
    #[track_caller]
    pub fn link_stats(&self) -> LinkStats {
        let mut link = self.link.lock().unwrap_or_else(PoisonError::into_inner);
        let Some((link, _)) = link.as_mut() else {
            return LinkStats::default();
        };
        let answer = link.ask("stats", "stats");
        let numbers: Vec<u64> = answer
            .split_whitespace()
            .skip(1)
            .map(|n| n.parse().expect("tapin-test-link prints counts"))
            .collect();
        let [forwarded, lost, overflowed] = numbers[..] else {
            panic!("tapin-test-link answered {answer:?} to stats");
        };
        LinkStats {
            forwarded,
            lost,
            overflowed,
        }
    }

    /// Takes the uplink down (`false`: the cable pulled, the router keeps its state) or brings
    /// it back up (`true`).
    #[track_caller]
    pub fn uplink(&self, up: bool) {
        self.router
            .ip(&["link", "set", "wan", if up { "up" } else { "down" }]);
    }
}

/// A packet capture of the whole internet ([`Internet::capture`]). Stopped when dropped.
#[derive(Debug)]
pub struct Capture {
    child: Child,
    file: PathBuf,
    _dir: tempfile::TempDir,
}

impl Capture {
    /// Stops the capture (SIGINT, so tcpdump writes out what it holds) and returns the capture
    /// file's bytes: every packet, headers and payload, as pcap.
    #[track_caller]
    pub fn finish(mut self) -> Vec<u8> {
        let pid = self.child.id().to_string();
        let stopped = std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .is_ok_and(|s| s.success());
        assert!(stopped, "cannot stop tcpdump");
        let _ = self.child.wait();
        std::fs::read(&self.file).expect("read the capture")
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `tapin-test-link` in a site's wire, holding its TUN device `tun0`. Stopped when dropped.
#[derive(Debug)]
struct Link {
    child: Child,
    /// Commands go here; the link also stops when it closes.
    stdin: ChildStdin,
    /// The link's answers, a line each.
    answers: mpsc::Receiver<String>,
}

impl Link {
    /// Starts the link in `wire` and routes table [`LINK_TABLE`] into its device; the wire's
    /// rules send nothing there until [`Site::impair`] adds them.
    #[track_caller]
    fn start(wire: &Netns) -> Link {
        let bin = super::test_bin("tapin-test-link");
        assert!(
            bin.exists(),
            "{} does not exist; `cargo build -p tapin-e2e --bins` builds it",
            bin.display()
        );
        let mut child = wire
            .command(bin)
            .arg("tun0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start tapin-test-link: {e}"));
        let stdin = child.stdin.take().expect("the link's stdin");
        let stdout = child.stdout.take().expect("the link's stdout");
        let (tx, answers) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let mut link = Link {
            child,
            stdin,
            answers,
        };
        let ready = link.answer("to say it is ready");
        assert_eq!(ready, "ready tun0", "tapin-test-link did not start");
        wire.sysctl("net.ipv4.conf.tun0.rp_filter=0");
        wire.ip(&[
            "route", "add", "default", "dev", "tun0", "table", LINK_TABLE,
        ]);
        // If the link ever dies, its device and the route above go with it: the uplink is then
        // cut, not silently unimpaired.
        wire.ip(&[
            "route",
            "add",
            "blackhole",
            "default",
            "metric",
            "1000",
            "table",
            LINK_TABLE,
        ]);
        link
    }

    /// Sends `command` and returns the link's answer, which must start with `expect`.
    #[track_caller]
    fn ask(&mut self, command: &str, expect: &str) -> String {
        writeln!(self.stdin, "{command}")
            .and_then(|()| self.stdin.flush())
            .unwrap_or_else(|e| panic!("tapin-test-link stopped taking commands: {e}"));
        let answer = self.answer(&format!("to answer {command:?}"));
        assert!(
            answer.starts_with(expect),
            "tapin-test-link answered {answer:?} to {command:?}"
        );
        answer
    }

    #[track_caller]
    fn answer(&mut self, what: &str) -> String {
        self.answers
            .recv_timeout(crate::NET_TIMEOUT)
            .unwrap_or_else(|_| {
                panic!(
                    "tapin-test-link did not answer {what} (exit: {:?})",
                    self.child.try_wait()
                )
            })
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A UDP echo in a namespace (`tapin-test-udp echo`): answers each datagram with the address
/// it came from, as the echo saw it: what a NAT made of the sender's. Stopped when dropped.
#[derive(Debug)]
pub struct UdpEcho {
    child: Child,
    /// Held open: the echo stops when its stdin closes.
    _stdin: ChildStdin,
    /// Where it listens.
    pub listening: SocketAddr,
}

impl UdpEcho {
    /// Starts an echo inside `ns` on `bind`.
    #[track_caller]
    pub fn start(ns: &Netns, bind: SocketAddr) -> UdpEcho {
        let mut cmd = ns.command(super::test_bin("tapin-test-udp"));
        cmd.args(["echo", &bind.to_string()]);
        let (child, stdin, listening) = super::start_listener(cmd, "tapin-test-udp echo");
        UdpEcho {
            child,
            _stdin: stdin,
            listening,
        }
    }
}

impl Drop for UdpEcho {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends one datagram from `bind` inside `ns` to each of `targets` in turn, from one socket;
/// returns where each target saw it come from (`None`: no answer within `wait`). An answer
/// ends the wait for it, so `wait` costs its whole length only when no answer comes.
#[track_caller]
pub fn udp_probe(
    ns: &Netns,
    bind: SocketAddr,
    targets: &[SocketAddr],
    wait: Duration,
) -> Vec<Option<SocketAddr>> {
    let out = ns
        .command(super::test_bin("tapin-test-udp"))
        .arg("probe")
        .arg(wait.as_millis().to_string())
        .arg(bind.to_string())
        .args(targets.iter().map(ToString::to_string))
        .stdin(Stdio::null())
        .output()
        .expect("run tapin-test-udp probe");
    assert!(
        out.status.success(),
        "tapin-test-udp probe failed: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| line.parse().ok())
        .collect()
}

/// What [`udp_rtt`] measured: how many datagrams were answered, and their round trips.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundTrips {
    /// Datagrams sent.
    pub sent: usize,
    /// The round trip of each one answered, in the order sent.
    pub answered: Vec<Duration>,
}

impl RoundTrips {
    /// The share of datagrams that got no answer, either way lost.
    pub fn loss(&self) -> f64 {
        1.0 - self.answered.len() as f64 / self.sent.max(1) as f64
    }

    /// The `p`th percentile (0 to 100) of the round trips answered; zero if none was.
    pub fn percentile(&self, p: usize) -> Duration {
        let mut sorted = self.answered.clone();
        sorted.sort();
        sorted
            .get((sorted.len().saturating_sub(1)) * p.min(100) / 100)
            .copied()
            .unwrap_or_default()
    }
}

/// Sends `count` numbered datagrams from `bind` inside `ns` to the [`UdpEcho`] at `target`,
/// `gap` apart, from one socket, and times each answer; listens until all are answered or
/// `wait` has passed since the last was sent.
#[track_caller]
pub fn udp_rtt(
    ns: &Netns,
    bind: SocketAddr,
    target: SocketAddr,
    count: usize,
    gap: Duration,
    wait: Duration,
) -> RoundTrips {
    let out = ns
        .command(super::test_bin("tapin-test-udp"))
        .arg("rtt")
        .arg(count.to_string())
        .arg(gap.as_micros().to_string())
        .arg(wait.as_millis().to_string())
        .arg(bind.to_string())
        .arg(target.to_string())
        .stdin(Stdio::null())
        .output()
        .expect("run tapin-test-udp rtt");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "tapin-test-udp rtt failed: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    let mut lines = stdout.lines();
    let head = lines.next().unwrap_or_default();
    let sent = head
        .strip_prefix("sent ")
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("tapin-test-udp rtt printed {head:?} first"));
    let answered = lines
        .map(|l| {
            Duration::from_micros(
                l.parse()
                    .unwrap_or_else(|e| panic!("tapin-test-udp rtt printed {l:?}: {e}")),
            )
        })
        .collect();
    RoundTrips { sent, answered }
}

impl Netns {
    /// Starts capturing every packet on every interface of the namespace (`tcpdump -i any`),
    /// until [`Capture::finish`].
    #[track_caller]
    pub fn capture(&self) -> Capture {
        let dir = tempfile::tempdir().expect("a directory for the capture");
        let file = dir.path().join("capture.pcap");
        let mut child = self
            .command("tcpdump")
            // Every interface, whole packets, written as they come, no name lookups.
            .args(["-i", "any", "-s", "0", "-U", "-n", "-w"])
            .arg(&file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run `tcpdump` (Debian's tcpdump package; scripts/test installs it): {e}"
                )
            });
        // It says "listening on any" once it captures.
        let stderr = child.stderr.take().expect("tcpdump's stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            let mut said = String::new();
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                let listening = line.contains("listening on");
                said.push_str(&line);
                said.push('\n');
                if listening {
                    let _ = tx.send(Ok(()));
                    return;
                }
            }
            let _ = tx.send(Err(said));
        });
        match rx.recv_timeout(crate::NET_TIMEOUT) {
            Ok(Ok(())) => {}
            Ok(Err(said)) => panic!("tcpdump did not start capturing:\n{said}"),
            Err(_) => panic!("tcpdump did not start capturing in time"),
        }
        Capture {
            child,
            file,
            _dir: dir,
        }
    }

    /// Loads nftables `rules` (`nft -f -`) inside the namespace.
    #[track_caller]
    pub fn nft(&self, rules: &str) {
        let mut child = self
            .command("nft")
            .args(["-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run `nft` (nftables is needed for the lab): {e}"));
        child
            .stdin
            .take()
            .expect("nft stdin")
            .write_all(rules.as_bytes())
            .expect("write the rules to nft");
        let out = child.wait_with_output().expect("wait for nft");
        assert!(
            out.status.success(),
            "nft in {} refused the rules: {}\n{rules}",
            self.name(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }

    /// The packets and bytes of the named nftables counter in `family` `table`.
    #[track_caller]
    pub fn counter(&self, family: &str, table: &str, name: &str) -> (u64, u64) {
        let out = self
            .command("nft")
            .args(["-j", "list", "counter", family, table, name])
            .stdin(Stdio::null())
            .output()
            .expect("run nft");
        assert!(
            out.status.success(),
            "nft list counter {family} {table} {name} in {}: {}",
            self.name(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
        let listing: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("nft -j prints JSON");
        listing["nftables"]
            .as_array()
            .into_iter()
            .flatten()
            .find_map(|item| {
                let counter = &item["counter"];
                Some((counter["packets"].as_u64()?, counter["bytes"].as_u64()?))
            })
            .unwrap_or_else(|| panic!("no counter {name} in nft's listing: {listing}"))
    }
}
