//! `tapin-netlab`: the end-to-end tests' network lab ([`tapin_e2e::lab::internet`]) brought up
//! by hand: a simulated internet with iroh's relay on it, and two sites on it, each a home
//! behind a NAT router. The same code builds it as builds the tests' labs. `scripts/netlab`
//! builds and runs it.
//!
//! ```text
//! tapin-netlab [up] [--corporate] [--dir DIR]   # bring the lab up, say how to use it, wait
//! tapin-netlab demo [--corporate] [--dir DIR]   # pair two homes through the relay, sync, leave
//! ```
//!
//! - `up` waits for Enter, the end of its standard input, Ctrl-C (SIGINT), SIGTERM or SIGHUP.
//! - `demo` runs `tapin` in the two homes as a person would: init, invite and join through the
//!   relay, share a goal, serve and sync; it prints each command and what it printed, and exits
//!   0 only if the goal reached the other home.
//! - `--corporate` puts the second home behind a corporate NAT (endpoint-dependent mapping: no
//!   hole can be punched); the first is always behind a home NAT.
//! - `--dir DIR` keeps the two homes under DIR, which must exist, instead of a temporary
//!   directory removed at the end.
//!
//! However it ends, the lab comes down through its own `Drop`s, which delete its namespaces;
//! first, whatever still runs inside them (a `tapin serve` or a shell a person started) is
//! stopped, so no namespace lives on unnamed. A signal does the same, at once: it stops what
//! runs inside the lab, which ends the step in flight, and the drops follow. Only SIGKILL skips
//! all this; `scripts/netlab` then deletes the namespaces named `tapin-<pid>-…` itself.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::BufRead;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tapin_e2e::lab::internet::{Internet, Nat, Site};
use tapin_e2e::lab::{self, Netns};
use tapin_e2e::{NET_TIMEOUT, Run, tapin_bin};

const USAGE: &str = "usage: tapin-netlab [up|demo] [--corporate] [--dir DIR]";

/// Set once a signal has asked the lab to come down. A step that then fails failed because the
/// signal stopped it, which is not worth a panic message.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// What to do with the lab once it is up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Wait for a person to use it.
    Up,
    /// Run the demo in it.
    Demo,
}

#[derive(Debug)]
struct Options {
    mode: Mode,
    /// The second site's NAT.
    second: Nat,
    /// Where the homes go, if not in a temporary directory.
    dir: Option<PathBuf>,
}

fn parse(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        mode: Mode::Up,
        second: Nat::Home,
        dir: None,
    };
    let mut args = args.into_iter();
    let mut first = true;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "up" if first => options.mode = Mode::Up,
            "demo" if first => options.mode = Mode::Demo,
            "--corporate" => options.second = Nat::Corporate,
            "--dir" => {
                let dir = args.next().ok_or("--dir needs a directory")?;
                options.dir = Some(PathBuf::from(dir));
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unexpected argument {other:?}")),
        }
        first = false;
    }
    Ok(options)
}

/// Why the lab is coming down.
#[derive(Debug)]
enum Stop {
    /// A person pressed Enter.
    Enter,
    /// Standard input closed.
    EndOfInput,
    /// A signal, by name.
    Signal(&'static str),
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::Enter => f.write_str("Enter"),
            Stop::EndOfInput => f.write_str("standard input closed"),
            Stop::Signal(name) => f.write_str(name),
        }
    }
}

fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(why) => {
            if why.is_empty() {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            eprintln!("tapin-netlab: {why}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if lab::preflight::skipping() {
        eprintln!(
            "tapin-netlab: {} is set, which keeps the lab from being built; unset it",
            lab::SKIP_VAR
        );
        return ExitCode::FAILURE;
    }
    if let Err(message) = lab::check_machine() {
        eprintln!("tapin-netlab: {message}");
        return ExitCode::FAILURE;
    }
    let (stops, stopped) = mpsc::channel();
    // Before the first namespace: a signal from now on takes the lab down.
    if let Err(e) = watch_signals(stops.clone()) {
        eprintln!("tapin-netlab: cannot handle signals: {e}");
        return ExitCode::FAILURE;
    }
    let quiet = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if !INTERRUPTED.load(Ordering::SeqCst) {
            quiet(info);
        }
    }));
    let temporary;
    let dir = match &options.dir {
        Some(dir) => dir.clone(),
        None => match tempfile::Builder::new().prefix("tapin-netlab-").tempdir() {
            Ok(dir) => {
                temporary = dir;
                temporary.path().to_owned()
            }
            Err(e) => {
                eprintln!("tapin-netlab: cannot make a temporary directory: {e}");
                return ExitCode::FAILURE;
            }
        },
    };

    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        run(&options, &dir, || {
            if options.mode == Mode::Up {
                watch_stdin(stops.clone());
            }
            stopped.recv().unwrap_or(Stop::EndOfInput)
        })
    }));

    let left = our_namespaces();
    if !left.is_empty() {
        eprintln!(
            "tapin-netlab: namespaces left behind: {}; delete them with `ip netns del NAME`",
            left.join(" ")
        );
        return ExitCode::FAILURE;
    }
    println!(
        "The lab is down: no namespace tapin-{}-* is left.",
        std::process::id()
    );
    match outcome {
        // For `up`, a signal is one of the ways to end it.
        Ok(Ok(())) => ExitCode::SUCCESS,
        _ if INTERRUPTED.load(Ordering::SeqCst) => ExitCode::from(130),
        Ok(Err(why)) => {
            eprintln!("tapin-netlab: {why}");
            ExitCode::FAILURE
        }
        // The panic has said what went wrong.
        Err(_) => ExitCode::FAILURE,
    }
}

/// Builds the lab, says what it is, and waits (`up`, with `wait`) or runs the demo. Everything
/// it built is dropped on the way out, by return or by panic.
fn run(options: &Options, dir: &Path, wait: impl FnOnce() -> Stop) -> Result<(), String> {
    let internet = Internet::start();
    let sites = [internet.site(Nat::Home), internet.site(options.second)];
    // Dropped before the sites and the internet, whose drops delete the namespaces.
    let _stop_inside = StopInside;
    let people = [
        Person::new("Maya", "maya-laptop", &sites[0], dir, internet.relay_ca()),
        Person::new(
            "Jordan",
            "jordan-phone",
            &sites[1],
            dir,
            internet.relay_ca(),
        ),
    ];
    describe(&internet, &people);
    match options.mode {
        Mode::Up => {
            instructions(&internet, &people, options.dir.is_none());
            let stop = wait();
            println!("\nTaking the lab down ({stop}).");
            Ok(())
        }
        Mode::Demo => demo(&internet, &people),
    }
}

/// One person's home in the lab.
struct Person<'a> {
    name: &'static str,
    device: &'static str,
    site: &'a Site<'a>,
    /// `--home`.
    home: PathBuf,
    /// The relay's self-signed certificate (`TAPIN_RELAY_CA`): trusted, it lets the home learn
    /// its public address from the relay (QUIC address discovery) and punch holes.
    relay_ca: PathBuf,
}

impl<'a> Person<'a> {
    fn new(
        name: &'static str,
        device: &'static str,
        site: &'a Site<'a>,
        dir: &Path,
        relay_ca: PathBuf,
    ) -> Self {
        Person {
            name,
            device,
            site,
            home: dir.join(name.to_lowercase()),
            relay_ca,
        }
    }

    fn ns(&self) -> &Netns {
        &self.site.home
    }

    /// `TAPIN_RELAY_CA=FILE tapin --home HOME ARGS`, as a person types it: no other tapin
    /// setting of the environment applies, and output has no colour (it is captured, then
    /// shown).
    fn tapin(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(tapin_bin());
        cmd.arg("--home").arg(&self.home).args(args);
        for var in [
            "TAPIN_HOME",
            "TAPIN_BIND",
            "TAPIN_PORT",
            "TAPIN_RELAY",
            "TAPIN_MDNS",
            "TAPIN_TIMEOUTS",
            "TAPIN_NOW",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("TAPIN_RELAY_CA", &self.relay_ca)
            .env("NO_COLOR", "1");
        cmd
    }

    /// `ip netns exec NS env TAPIN_RELAY_CA=FILE tapin --home HOME`: the prefix of every command
    /// in this home.
    fn prefix(&self) -> String {
        format!(
            "ip netns exec {} env TAPIN_RELAY_CA={} {} --home {}",
            self.ns().name(),
            self.relay_ca.display(),
            tapin_bin().display(),
            self.home.display()
        )
    }
}

fn nat_words(nat: Nat) -> &'static str {
    match nat {
        Nat::Home => "a home NAT (endpoint-independent mapping)",
        Nat::Corporate => "a corporate NAT (endpoint-dependent mapping)",
    }
}

/// What the lab is made of, and where.
fn describe(internet: &Internet, people: &[Person<'_>; 2]) {
    println!(
        "The lab is up: namespaces tapin-{}-*, on addresses nothing routes off this machine.\n",
        std::process::id()
    );
    println!(
        "  internet  198.18.0.0/24, iroh's relay at {}   (namespace {})",
        internet.relay_url(),
        internet.ns.name()
    );
    println!(
        "            its certificate, for QUIC address discovery: {}",
        internet.relay_ca().display()
    );
    for (n, person) in people.iter().enumerate() {
        let site = person.site;
        println!(
            "  site {}    behind {}, public address {}   (router {})",
            n + 1,
            nat_words(site.nat),
            site.public,
            site.router.name()
        );
        println!(
            "            {}'s home, {}   (namespace {})",
            person.name,
            site.lan,
            site.home.name()
        );
    }
}

/// How a person uses the lab from another terminal.
fn instructions(internet: &Internet, people: &[Person<'_>; 2], temporary: bool) {
    let relay = internet.relay_url();
    let [maya, jordan] = people;
    println!(
        "\nIn other terminals, as root, run tapin in each home (paste these lines into bash):\n"
    );
    println!("  maya=\"{}\"", maya.prefix());
    println!("  jordan=\"{}\"", jordan.prefix());
    for person in people {
        println!(
            "  ${} init --name {} --device {} --relay {relay} --no-mdns",
            person.name.to_lowercase(),
            person.name,
            person.device
        );
    }
    println!("  $maya invite                  # prints an invitation, then waits for Jordan");
    println!("  $jordan join INVITATION       # in another terminal; both confirm one code");
    println!("  $maya goal add Jordan \"Swim in the lake\" --share");
    println!("  $jordan serve                 # stays online; Ctrl-C stops it");
    println!("  $maya sync Jordan             # says when only the relay reached Jordan");
    println!(
        "\nA shell in a home (or in a router or the internet: their namespaces are above):\n\n  \
         ip netns exec {} bash\n",
        maya.ns().name()
    );
    println!(
        "Press Enter or Ctrl-C here to take the lab down: every namespace above is deleted, \
         and what still runs in them is stopped.{}",
        if temporary {
            format!(
                " The homes under {} are removed.",
                people[0].home.parent().unwrap_or(Path::new("/")).display()
            )
        } else {
            String::new()
        }
    );
}

/// Why a demo step did not go as it should.
type Failed = String;

/// Runs `tapin ARGS` in `person`'s home to its end, showing it as `tapin SHOWN` and then what
/// it printed; fails if it does.
fn step(person: &Person<'_>, shown: &str, args: &[&str]) -> Result<Run, Failed> {
    before_step()?;
    println!("\n{} $ tapin {shown}", person.name);
    let run = person.ns().run(person.tapin(args));
    show(&run);
    after_step(&run, shown)?;
    Ok(run)
}

fn before_step() -> Result<(), Failed> {
    if INTERRUPTED.load(Ordering::SeqCst) {
        return Err("interrupted".to_owned());
    }
    Ok(())
}

fn after_step(run: &Run, shown: &str) -> Result<(), Failed> {
    before_step()?;
    if run.code != Some(0) {
        return Err(format!("`tapin {shown}` failed (exit {:?})", run.code));
    }
    Ok(())
}

/// What a command printed, indented: its notes (stderr) first, then its output; a QR code is
/// named rather than drawn.
fn show(run: &Run) {
    let mut qr = false;
    for line in run.stderr.lines().chain(run.stdout.lines()) {
        // A QR code's rows, and the blank rows of its quiet zone.
        if line.contains(['█', '▀', '▄']) || (line.len() > 20 && line.trim().is_empty()) {
            if !qr {
                println!("  [a QR code of the invitation]");
            }
            qr = true;
            continue;
        }
        println!("  {line}");
    }
}

/// Two people pair through the relay, one shares a goal and syncs it to the other's `tapin
/// serve`, and the other sees it.
fn demo(internet: &Internet, people: &[Person<'_>; 2]) -> Result<(), Failed> {
    let relay = internet.relay_url();
    let [maya, jordan] = people;
    println!(
        "\nEach command below runs in its person's home namespace, as `ip netns exec NAMESPACE \
         env TAPIN_RELAY_CA=FILE tapin --home DIR …`\n(tapin is {}).",
        tapin_bin().display()
    );
    for person in people {
        step(
            person,
            &format!(
                "init --name {} --device {} --relay {relay} --no-mdns",
                person.name, person.device
            ),
            &[
                "init",
                "--name",
                person.name,
                "--device",
                person.device,
                "--relay",
                &relay,
                "--no-mdns",
            ],
        )?;
    }

    before_step()?;
    let invite_args = ["invite", "--yes", "--expires", "2m"];
    println!(
        "\nMaya $ tapin {}   (waits for Jordan)",
        invite_args.join(" ")
    );
    let mut invite = maya.ns().spawn(maya.tapin(&invite_args), None);
    let ticket = invite.next_line(NET_TIMEOUT);
    println!("  {ticket}");
    step(jordan, "join INVITATION --yes", &["join", &ticket, "--yes"])?;
    let invited = invite.wait(NET_TIMEOUT);
    println!("\nMaya's `tapin invite` ends:");
    show(&Run {
        code: invited.code,
        // Its first line, the invitation, is shown above.
        stdout: invited
            .stdout
            .lines()
            .skip(1)
            .collect::<Vec<_>>()
            .join("\n"),
        stderr: invited.stderr.clone(),
    });
    after_step(&invited, "invite")?;

    let goal = "Swim in the lake, across two NATs";
    step(
        maya,
        &format!("goal add Jordan {goal:?} --share"),
        &["goal", "add", "Jordan", goal, "--share"],
    )?;

    before_step()?;
    println!("\nJordan $ tapin serve   (stays online until stopped)");
    let mut serve = jordan.ns().spawn(jordan.tapin(&["serve"]), None);
    let deadline = Instant::now() + NET_TIMEOUT;
    while !serve.stderr().contains("Serving as") && serve.running() {
        if Instant::now() > deadline {
            return Err("Jordan's `tapin serve` did not start serving".to_owned());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    for line in serve.stderr().lines() {
        println!("  {line}");
    }
    before_step()?;
    if !serve.running() {
        return Err("Jordan's `tapin serve` stopped".to_owned());
    }
    step(maya, "sync Jordan", &["sync", "Jordan"])?;
    // Stopped as a person stops it, so it says what it saw.
    let _ = Command::new("kill")
        .args(["-INT", &serve.id().to_string()])
        .status();
    let served = serve.wait(NET_TIMEOUT);
    println!("\nJordan's `tapin serve`, stopped with Ctrl-C, went on to say:");
    let after: Vec<&str> = served
        .stderr
        .lines()
        .skip_while(|l| !l.starts_with("Serving as"))
        .skip(1)
        .collect();
    for line in after
        .iter()
        .chain(served.stdout.lines().collect::<Vec<_>>().iter())
    {
        println!("  {line}");
    }

    let shown = step(jordan, "show Maya", &["show", "Maya"])?;
    if !shown.stdout.contains(goal) {
        return Err(format!("Jordan's page of Maya does not show {goal:?}"));
    }
    println!("\nThe goal Maya shared reached Jordan's home, across the lab's two NATs.");
    Ok(())
}

/// Stops what still runs inside this process's namespaces when dropped.
struct StopInside;

impl Drop for StopInside {
    fn drop(&mut self) {
        stop_inside();
    }
}

/// The namespaces this process made that still exist (`tapin-<pid>-…`).
fn our_namespaces() -> Vec<String> {
    let prefix = format!("tapin-{}-", std::process::id());
    let Ok(out) = Command::new("ip")
        .args(["netns", "list"])
        .stdin(Stdio::null())
        .output()
    else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| name.starts_with(&prefix))
        .map(str::to_owned)
        .collect()
}

/// The processes inside the namespaces `names`.
fn pids_inside(names: &[String]) -> Vec<String> {
    names
        .iter()
        .filter_map(|name| {
            Command::new("ip")
                .args(["netns", "pids", name])
                .stdin(Stdio::null())
                .output()
                .ok()
        })
        .flat_map(|out| {
            String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Stops every process inside this process's namespaces: SIGTERM, then SIGKILL to what is
/// left after three seconds. Names what it stopped, but for the lab's own relay, which its
/// drop stops anyway.
fn stop_inside() {
    let names = our_namespaces();
    let pids = pids_inside(&names);
    if pids.is_empty() {
        return;
    }
    let named: Vec<String> = pids
        .iter()
        .filter_map(|pid| {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
            let comm = comm.trim();
            (!comm.starts_with("tapin-test-rel")).then(|| format!("{comm} (pid {pid})"))
        })
        .collect();
    let signal = |sig: &str, pids: &[String]| {
        let _ = Command::new("kill")
            .arg(format!("-{sig}"))
            .args(pids)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .status();
    };
    signal("TERM", &pids);
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut left = pids_inside(&names);
    while !left.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        left = pids_inside(&names);
    }
    if !left.is_empty() {
        signal("KILL", &left);
    }
    if !named.is_empty() {
        eprintln!(
            "tapin-netlab: stopped what still ran inside the lab: {}",
            named.join(", ")
        );
    }
}

/// Watches for SIGINT, SIGTERM and SIGHUP from now on: the first one marks the lab
/// [`INTERRUPTED`], stops what runs inside it (which ends the step in flight) and says
/// [`Stop::Signal`] on `stops`; later ones are ignored, so the teardown is not cut short.
fn watch_signals(stops: mpsc::Sender<Stop>) -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let (ready, is_ready) = mpsc::channel();
    std::thread::spawn(move || {
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        runtime.block_on(async move {
            let handlers = (|| {
                Ok::<_, std::io::Error>((
                    signal(SignalKind::interrupt())?,
                    signal(SignalKind::terminate())?,
                    signal(SignalKind::hangup())?,
                ))
            })();
            let (mut int, mut term, mut hup) = match handlers {
                Ok(handlers) => handlers,
                Err(e) => {
                    let _ = ready.send(Err(e));
                    return;
                }
            };
            let _ = ready.send(Ok(()));
            let name = tokio::select! {
                _ = int.recv() => "SIGINT",
                _ = term.recv() => "SIGTERM",
                _ = hup.recv() => "SIGHUP",
            };
            INTERRUPTED.store(true, Ordering::SeqCst);
            eprintln!("\ntapin-netlab: {name}: taking the lab down");
            let _ = stops.send(Stop::Signal(name));
            stop_inside();
            // Holding the handlers keeps later signals from killing the teardown.
            std::future::pending::<()>().await;
        });
    });
    is_ready
        .recv()
        .unwrap_or_else(|_| Err(std::io::Error::other("the signal thread ended")))
}

/// Watches standard input: a line (Enter) or its end says [`Stop`] on `stops`.
fn watch_stdin(stops: mpsc::Sender<Stop>) {
    std::thread::spawn(move || {
        let mut line = String::new();
        let stop = match std::io::stdin().lock().read_line(&mut line) {
            Ok(0) | Err(_) => Stop::EndOfInput,
            Ok(_) => Stop::Enter,
        };
        let _ = stops.send(stop);
    });
}
