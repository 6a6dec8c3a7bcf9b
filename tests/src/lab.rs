//! A network lab for end-to-end tests: Linux network namespaces joined by veth pairs, built with
//! `ip netns` (the tests run as root), so a test can put homes where they reach only what a real
//! network would let them reach. Everything here lives in namespaces the lab made, on private
//! addresses no one else uses; nothing is ever routed off the machine, and no test reaches the
//! internet.
//!
//! - [`Netns::loopback`]: one fresh namespace with only loopback, for a test that needs fixed
//!   ports (a fixture home's) to be free.
//! - [`RelayLab::start`]: two namespaces, `a` and `b`, each linked only to a hub namespace that
//!   runs a relay ([`TestRelay`]) and does not forward, so `a` and `b` reach the relay and never
//!   each other: two homes behind two NATs.
//!
//! - [`lan::Lan::start`]: a LAN without internet (a wifi whose router has no uplink), where
//!   devices find each other by their addresses or by mDNS, and take new addresses.
//! - [`internet::Internet::start`]: a simulated internet with a relay on it, and sites on it
//!   ([`internet::Site`]): a home behind a NAT router ([`internet::Nat`]: a home router's or a
//!   corporate firewall's), whose uplink can be impaired or cut.
//! - [`people::Person`]: a person's home on such a site, and what they do there with the real
//!   binary.
//!
//! Before its first namespace, a process checks that the machine can build the lab
//! ([`preflight()`]); a lab test starts with `if !lab::available() { return; }`, which skips it,
//! visibly, only when `TAPIN_SKIP_NETLAB=1` is set.
//!
//! Names are unique per test process and per lab, and every namespace is deleted when its
//! [`Netns`] is dropped (processes still inside keep it alive until they end; [`crate::Background`]
//! kills its process when dropped).
//!
//! ```no_run
//! use tapin_e2e::{Home, lab::RelayLab};
//! let lab = RelayLab::start();
//! let maya = Home::new("maya");
//! let run = lab.a.run(maya.cmd(&["--version"]));
//! assert_eq!(run.code, Some(0));
//! ```

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use crate::{Background, Run};

pub mod internet;
pub mod lan;
pub mod people;
pub mod preflight;
pub mod roam;

pub use preflight::{SKIP_VAR, available, check_machine, preflight};

/// Namespaces made by this process so far, for unique names.
static MADE: AtomicUsize = AtomicUsize::new(0);

/// Runs `ip ARGS`, panicking with its stderr if it fails: a lab that cannot be built is a broken
/// test machine, not a result.
#[track_caller]
fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run `ip` (iproute2 is needed for the lab): {e}"));
    assert!(
        out.status.success(),
        "`ip {}` failed (the lab needs root and iproute2): {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    );
}

/// A veth pair: `a_name` inside `a`, its other end `b_name` inside `b`. Made directly inside the
/// two namespaces, so nothing is ever added to the machine's own.
#[track_caller]
fn veth(a: &Netns, a_name: &str, b: &Netns, b_name: &str) {
    ip(&[
        "link",
        "add",
        "name",
        a_name,
        "netns",
        a.name(),
        "type",
        "veth",
        "peer",
        "name",
        b_name,
        "netns",
        b.name(),
    ]);
}

/// A network namespace this process made. Deleted when dropped.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// A new namespace with only loopback, up. Its name says which test process made it and for
    /// what (`role`), so a leftover one is easy to trace.
    #[track_caller]
    pub fn new(role: &str) -> Netns {
        preflight::before_namespace();
        let n = MADE.fetch_add(1, Ordering::SeqCst);
        let name = format!("tapin-{}-{n}-{role}", std::process::id());
        ip(&["netns", "add", &name]);
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// A fresh namespace with only loopback, for a test whose homes need fixed ports: every
    /// port is free in it, whatever else the machine runs.
    #[track_caller]
    pub fn loopback() -> Netns {
        Netns::new("lo")
    }

    /// The namespace's name (`ip netns exec NAME …`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `ip -n NAME ARGS`.
    #[track_caller]
    pub fn ip(&self, args: &[&str]) {
        let mut all = vec!["-n", self.name.as_str()];
        all.extend_from_slice(args);
        ip(&all);
    }

    /// Sets a sysctl inside the namespace (`net.ipv4.ip_forward=0`).
    #[track_caller]
    pub fn sysctl(&self, setting: &str) {
        let out = self
            .command("sysctl")
            .args(["-q", "-w", setting])
            .stdin(Stdio::null())
            .output()
            .expect("run sysctl in the namespace");
        assert!(
            out.status.success(),
            "sysctl -w {setting} in {} failed: {}",
            self.name,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }

    /// A command that runs `program` inside the namespace.
    pub fn command(&self, program: impl Into<OsString>) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name]).arg(program.into());
        cmd
    }

    /// `cmd` (a [`crate::Home::cmd`] or [`crate::Home::net_cmd`]), run inside the namespace
    /// instead: the same program, arguments, environment and directory; stdin closed.
    pub fn wrap(&self, cmd: &Command) -> Command {
        let mut inside = self.command(cmd.get_program());
        inside.args(cmd.get_args());
        for (key, value) in cmd.get_envs() {
            match value {
                Some(value) => inside.env(key, value),
                None => inside.env_remove(key),
            };
        }
        if let Some(dir) = cmd.get_current_dir() {
            inside.current_dir(dir);
        }
        inside.stdin(Stdio::null());
        inside
    }

    /// Runs `cmd` inside the namespace to its end (within [`crate::NET_TIMEOUT`]).
    #[track_caller]
    pub fn run(&self, cmd: Command) -> Run {
        self.spawn(cmd, None).wait(crate::NET_TIMEOUT)
    }

    /// Starts `cmd` inside the namespace in the background, with `input` on its stdin if given.
    pub fn spawn(&self, cmd: Command, input: Option<&str>) -> Background {
        Background::spawn(self.wrap(&cmd), input)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Best effort: a panic in drop would hide the test's own failure.
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .stdin(Stdio::null())
            .output();
    }
}

/// A relay for tests: `tapin-test-relay` (iroh's relay server over plain HTTP) running inside a
/// namespace. Stopped when dropped.
#[derive(Debug)]
pub struct TestRelay {
    child: Child,
    /// Held open: the relay stops when its stdin closes, so it cannot outlive this process.
    _stdin: ChildStdin,
    /// Where it listens, as the namespace sees it.
    pub listening: SocketAddr,
    /// With QUIC address discovery: the directory holding its certificate (`relay-ca.pem`),
    /// which homes trust through `TAPIN_RELAY_CA`. Deleted with the relay.
    qad: Option<tempfile::TempDir>,
}

/// The relay binary built with this package.
pub fn relay_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("TAPIN_TEST_RELAY") {
        return PathBuf::from(bin);
    }
    test_bin("tapin-test-relay")
}

/// A helper binary of this package (`tapin-test-relay`, `tapin-test-udp`): beside the tapin
/// binary (target/<profile>/NAME), else beside the test executable's directory.
pub(crate) fn test_bin(name: &str) -> PathBuf {
    let file = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    let bin = crate::tapin_bin().with_file_name(&file);
    if bin.exists() {
        return bin;
    }
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(std::path::Path::parent)
        .expect("target dir");
    profile_dir.join(file)
}

/// Starts `cmd`, a helper that prints `listening on ADDR` on stdout once it serves and stops
/// when its stdin closes; returns it, its stdin (to hold open) and the address.
#[track_caller]
pub(crate) fn start_listener(mut cmd: Command, what: &str) -> (Child, ChildStdin, SocketAddr) {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let stdin = child.stdin.take().expect("the helper's stdin");
    let stdout = child.stdout.take().expect("the helper's stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(crate::NET_TIMEOUT)
        .unwrap_or_else(|_| panic!("{what} did not start"));
    let listening = line
        .trim()
        .strip_prefix("listening on ")
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("{what} did not say where it listens: {line:?}"));
    (child, stdin, listening)
}

impl TestRelay {
    /// Starts the relay inside `ns`, listening on `bind`, and waits until it accepts connections.
    #[track_caller]
    pub fn start(ns: &Netns, bind: SocketAddr) -> TestRelay {
        TestRelay::spawn(ns.command(relay_bin()), bind, None)
    }

    /// [`TestRelay::start`], also serving QUIC address discovery (UDP 7842) with a self-signed
    /// certificate for `host`, the address its URL names: what lets homes behind NATs learn
    /// their public addresses and punch holes. Homes trust it through [`TestRelay::ca_file`].
    #[track_caller]
    pub fn start_with_qad(ns: &Netns, bind: SocketAddr, host: std::net::IpAddr) -> TestRelay {
        TestRelay::spawn(ns.command(relay_bin()), bind, Some(host))
    }

    /// Starts the relay in the machine's own namespace, for tests on 127.0.0.1: `bind` must be a
    /// loopback address, so it is never reachable from outside.
    #[track_caller]
    pub fn start_on_loopback(bind: SocketAddr) -> TestRelay {
        assert!(
            bind.ip().is_loopback(),
            "a relay outside the lab listens on loopback only"
        );
        TestRelay::spawn(Command::new(relay_bin()), bind, None)
    }

    #[track_caller]
    fn spawn(mut cmd: Command, bind: SocketAddr, qad_host: Option<std::net::IpAddr>) -> TestRelay {
        let bin = relay_bin();
        assert!(
            bin.exists(),
            "{} does not exist; `cargo test -p tapin-e2e` builds it",
            bin.display()
        );
        cmd.arg(bind.to_string()).env("RUST_LOG", "warn");
        let qad = qad_host.map(|host| {
            let dir = tempfile::tempdir().expect("a directory for the relay's certificate");
            cmd.arg("--qad")
                .arg(host.to_string())
                .arg(dir.path().join("relay-ca.pem"));
            dir
        });
        let (child, stdin, listening) = start_listener(cmd, "tapin-test-relay");
        TestRelay {
            child,
            _stdin: stdin,
            listening,
            qad,
        }
    }

    /// The relay's self-signed certificate (PEM), with QUIC address discovery on.
    pub fn ca_file(&self) -> Option<PathBuf> {
        self.qad.as_ref().map(|dir| dir.path().join("relay-ca.pem"))
    }

    /// The relay's URL as a home's `--relay` setting takes it, reached at `ip`.
    pub fn url(&self, ip: std::net::IpAddr) -> String {
        format!("http://{}", SocketAddr::new(ip, self.listening.port()))
    }
}

impl Drop for TestRelay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Two homes behind two NATs: namespaces `a` and `b`, each joined by one veth pair to a hub
/// namespace that runs a relay and does not forward packets. `a` and `b` reach the relay at
/// [`RelayLab::RELAY_IP`] (routed to the hub over their own link) and nothing else: a packet
/// from one addressed to the other goes to the hub, which drops it.
///
/// ```text
///   a: 10.99.1.2/24 ── 10.99.1.1 ┐
///                               hub (lo: 10.99.0.1, relay on :3340, ip_forward=0)
///   b: 10.99.2.2/24 ── 10.99.2.1 ┘
/// ```
#[derive(Debug)]
pub struct RelayLab {
    /// The relay; dropped before the namespaces.
    relay: TestRelay,
    /// One side.
    pub a: Netns,
    /// The other side.
    pub b: Netns,
    /// The hub, where the relay runs.
    pub hub: Netns,
}

impl RelayLab {
    /// The relay's address, on the hub's loopback, as both sides route to it.
    pub const RELAY_IP: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 1);
    /// `a`'s address.
    pub const A_IP: Ipv4Addr = Ipv4Addr::new(10, 99, 1, 2);
    /// `b`'s address.
    pub const B_IP: Ipv4Addr = Ipv4Addr::new(10, 99, 2, 2);
    /// The relay's port.
    pub const RELAY_PORT: u16 = 3340;

    /// Builds the namespaces and starts the relay.
    #[track_caller]
    pub fn start() -> RelayLab {
        let hub = Netns::new("hub");
        let a = Netns::new("a");
        let b = Netns::new("b");
        // The hub never forwards: that is what keeps a and b apart.
        hub.sysctl("net.ipv4.ip_forward=0");
        hub.ip(&["addr", "add", "10.99.0.1/32", "dev", "lo"]);
        for (side, net) in [(&a, 1), (&b, 2)] {
            let (outer, inner) = (format!("hub{net}"), format!("eth{net}"));
            // Created directly inside the two namespaces: nothing is added to the machine's own.
            veth(side, &inner, &hub, &outer);
            // IPv4 only: link-local IPv6 addresses would only add paths that lead nowhere.
            side.sysctl("net.ipv6.conf.all.disable_ipv6=1");
            side.ip(&["addr", "add", &format!("10.99.{net}.2/24"), "dev", &inner]);
            side.ip(&["link", "set", &inner, "up"]);
            side.ip(&["route", "add", "default", "via", &format!("10.99.{net}.1")]);
            hub.ip(&["addr", "add", &format!("10.99.{net}.1/24"), "dev", &outer]);
            hub.ip(&["link", "set", &outer, "up"]);
        }
        let relay = TestRelay::start(
            &hub,
            SocketAddr::from((Ipv4Addr::UNSPECIFIED, Self::RELAY_PORT)),
        );
        RelayLab { relay, a, b, hub }
    }

    /// The relay's URL, as a home's `--relay` setting takes it.
    pub fn relay_url(&self) -> String {
        self.relay.url(Self::RELAY_IP.into())
    }

    /// The relay's port.
    pub fn relay_port(&self) -> u16 {
        self.relay.listening.port()
    }

    /// Whether a TCP connection from inside `from` to `to` succeeds within two seconds: the
    /// check that the lab keeps its two sides apart, made before trusting any result that
    /// depends on it.
    pub fn connects(from: &Netns, to: SocketAddr) -> bool {
        from.command("timeout")
            .args(["2", "bash", "-c"])
            .arg(format!("exec 3<>/dev/tcp/{}/{}", to.ip(), to.port()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }
}

/// The port every lab home listens on: each namespace has all its ports free.
pub const LAB_PORT: u16 = 4433;

impl crate::Home {
    /// A home for the lab: `tapin init` listening on every address of its namespace at
    /// [`LAB_PORT`], mDNS off, with `relay` as its own.
    #[track_caller]
    pub fn init_lab(name: &str, device: &str, relay: &str) -> crate::Home {
        crate::Home::init_lab_with(name, device, relay, "off")
    }

    /// [`crate::Home::init_lab`] with `mdns` (`on`, `listen` or `off`) kept for the home.
    #[track_caller]
    pub fn init_lab_with(name: &str, device: &str, relay: &str, mdns: &str) -> crate::Home {
        let home = crate::Home::new(&name.to_lowercase());
        home.ok(&[
            "init",
            "--name",
            name,
            "--device",
            device,
            "--bind",
            "0.0.0.0",
            "--port",
            &LAB_PORT.to_string(),
            "--mdns",
            mdns,
            "--relay",
            relay,
        ]);
        home
    }

    /// `tapin ARGS` for a lab home, with `relay` (the harness's network commands default to no
    /// relay), to run inside a namespace ([`Netns::run`], [`Netns::spawn`]).
    pub fn lab_cmd(&self, relay: &str, args: &[&str]) -> Command {
        let mut cmd = self.net_cmd(args);
        cmd.env("TAPIN_RELAY", relay);
        cmd
    }
}
