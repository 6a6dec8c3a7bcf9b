//! A simulated internet: a public network with a relay on it, and homes that reach it only
//! through NAT routers, built from namespaces the way iroh's own lab crate `patchbay` builds
//! them (n0-computer/patchbay, `docs/reference/holepunching.md`).
//!
//! ```text
//!     internet (bridge br0, 198.18.0.1/24: relay on :3340, address discovery on udp :7842)
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
//! The routers' public addresses share one bridge, so two routers reach each other directly, as
//! two homes on the internet do; what keeps the homes apart is each router's NAT ([`Nat`]).
//! The lab also observes which path traffic takes, from outside the programs under test:
//! [`Internet::relay_bytes`] counts the bytes to and from the relay, and
//! [`Site::direct_packets_in`] the UDP packets a router let in from another router (a
//! hole-punched path: nothing else reaches a home from outside).
//!
//! ```no_run
//! use tapin_e2e::lab::internet::{Internet, Nat};
//! let internet = Internet::start();
//! let home = internet.site(Nat::Home);
//! let office = internet.site(Nat::Corporate);
//! // Run `tapin` inside `home.home` and `office.home` with `--relay internet.relay_url()`.
//! # let _ = (home, office);
//! ```

use std::cell::Cell;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::atomic::{AtomicU8, Ordering};
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

/// A link's impairment, on both directions of a site's uplink: loss by nftables (`numgen
/// random … drop` in the router's forward path, on any kernel with nf_tables), delay by `tc
/// netem`, which needs a kernel with `sch_netem` (CONFIG_NET_SCH_NETEM; some VM kernels lack
/// it, and then [`Site::impair`] with a delay fails saying so).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Impairment {
    /// One-way delay added in each direction (the round trip grows by twice this).
    pub delay: Duration,
    /// The share of packets dropped in each direction, in percent.
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

    /// Builds the internet and starts the relay on it. Needs root, `ip`, `nft` and `tc`.
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
    /// (198.18.0.1N) and a home namespace on its LAN (10.0.N.2/24). At most 200 per internet.
    #[track_caller]
    pub fn site(&self, nat: Nat) -> Site<'_> {
        let n = self.sites.fetch_add(1, Ordering::SeqCst) + 1;
        assert!(n <= 200, "an internet has room for 200 sites");
        let router = Netns::new(&format!("router{n}"));
        let home = Netns::new(&format!("home{n}"));
        let public = Ipv4Addr::new(198, 18, 0, 10 + n);
        let lan = Ipv4Addr::new(10, 0, n, 2);
        let port = format!("site{n}");
        for ns in [&router, &home] {
            // IPv4 only: link-local IPv6 addresses would only add paths that lead nowhere.
            ns.sysctl("net.ipv6.conf.all.disable_ipv6=1");
        }
        // The uplink: the router's `wan`, its other end a port of the internet's bridge.
        super::ip(&[
            "link",
            "add",
            "name",
            "wan",
            "netns",
            router.name(),
            "type",
            "veth",
            "peer",
            "name",
            &port,
            "netns",
            self.ns.name(),
        ]);
        self.ns.ip(&["link", "set", &port, "master", "br0"]);
        self.ns.ip(&["link", "set", &port, "up"]);
        router.ip(&["addr", "add", &format!("{public}/24"), "dev", "wan"]);
        router.ip(&["link", "set", "wan", "up"]);
        // The LAN: one home behind the router.
        super::ip(&[
            "link",
            "add",
            "name",
            "eth0",
            "netns",
            home.name(),
            "type",
            "veth",
            "peer",
            "name",
            "lan",
            "netns",
            router.name(),
        ]);
        router.ip(&["addr", "add", &format!("10.0.{n}.1/24"), "dev", "lan"]);
        router.ip(&["link", "set", "lan", "up"]);
        home.ip(&["addr", "add", &format!("{lan}/24"), "dev", "eth0"]);
        home.ip(&["link", "set", "eth0", "up"]);
        home.ip(&["route", "add", "default", "via", &format!("10.0.{n}.1")]);
        router.sysctl("net.ipv4.ip_forward=1");
        router.nft(&nat_rules(nat, public));
        Site {
            internet: self,
            home,
            router,
            nat,
            public,
            lan,
            port,
            delayed: Cell::new(false),
        }
    }
}

/// A router's nftables rules for `nat` on its uplink `wan` with address `public`, after
/// patchbay's `generate_nat_rules` (mapping) with address- and port-dependent filtering, plus
/// the counter [`Site::direct_packets_in`] reads and the chain [`Site::impair`] fills.
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
        table ip impair {{
            chain forward {{
                type filter hook forward priority -10; policy accept;
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

/// One site on the [`Internet`]: a home namespace behind a NAT router. Both namespaces are
/// deleted when dropped.
#[derive(Debug)]
pub struct Site<'a> {
    internet: &'a Internet,
    /// Where the person's devices run: `home.spawn(..)`, `home.run(..)`.
    pub home: Netns,
    /// The router, doing [`Site::nat`].
    pub router: Netns,
    /// The router's NAT.
    pub nat: Nat,
    /// The router's public address.
    pub public: Ipv4Addr,
    /// The home's address on its LAN.
    pub lan: Ipv4Addr,
    /// The uplink's port on the internet's bridge.
    port: String,
    /// Whether the uplink has a `netem` delay to lift.
    delayed: Cell<bool>,
}

impl Site<'_> {
    /// The UDP packets the router let in to its home from another address on the internet than
    /// the relay's: each one arrived on a hole-punched, direct path.
    pub fn direct_packets_in(&self) -> u64 {
        self.router.counter("ip", "filter", "direct_in").0
    }

    /// Impairs the uplink in both directions, replacing any earlier impairment.
    #[track_caller]
    pub fn impair(&self, how: Impairment) {
        self.unimpair();
        // In ten-thousandths, so 0.01 % steps are kept.
        let per_10k = (how.loss_percent * 100.0).round().clamp(0.0, 10_000.0) as u32;
        if let Some(below) = per_10k.checked_sub(1) {
            // `mod 10000` ranges over 0..=9999: a packet whose draw is at most `below` drops.
            self.router.nft(&format!(
                r#"add rule ip impair forward iif "wan" numgen random mod 10000 <= {below} drop
                add rule ip impair forward oif "wan" numgen random mod 10000 <= {below} drop"#
            ));
        }
        if !how.delay.is_zero() {
            let delay = format!("{}ms", how.delay.as_millis());
            for (ns, dev) in self.uplink_ends() {
                if let Err(e) = ns.try_tc(&[
                    "qdisc", "replace", "dev", dev, "root", "netem", "delay", &delay,
                ]) {
                    panic!(
                        "cannot delay the uplink with `tc … netem` ({e}): the kernel needs \
                         sch_netem (CONFIG_NET_SCH_NETEM)"
                    );
                }
            }
            self.delayed.set(true);
        }
    }

    /// Lifts [`Site::impair`]'s impairment.
    #[track_caller]
    pub fn unimpair(&self) {
        self.router.nft("flush chain ip impair forward");
        if self.delayed.replace(false) {
            for (ns, dev) in self.uplink_ends() {
                ns.tc(&["qdisc", "del", "dev", dev, "root"]);
            }
        }
    }

    /// The uplink's two ends: the router's `wan`, and its port on the internet's bridge.
    fn uplink_ends(&self) -> [(&Netns, &str); 2] {
        [
            (&self.router, "wan"),
            (&self.internet.ns, self.port.as_str()),
        ]
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

    /// Runs `tc ARGS` inside the namespace.
    #[track_caller]
    pub fn tc(&self, args: &[&str]) {
        if let Err(e) = self.try_tc(args) {
            panic!("`tc {}` in {} failed: {e}", args.join(" "), self.name());
        }
    }

    /// Runs `tc ARGS` inside the namespace; its error message if it fails.
    pub fn try_tc(&self, args: &[&str]) -> Result<(), String> {
        let out = self
            .command("tc")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run `tc` (iproute2 is needed for the lab): {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
        }
    }
}
