//! Test harness for tapin's end-to-end tests: runs the real `tapin` binary in temporary homes,
//! the way a person would (after ripgrep's `TestCommand`).
//!
//! ```no_run
//! let home = tapin_e2e::Home::new("maya");
//! home.ok(&["init", "--name", "Maya"]);
//! let people = home.json(&["people"]);
//! assert!(people.as_array().unwrap().is_empty());
//! ```

pub mod friends;
pub mod gates;
pub mod history;
pub mod lab;
pub mod rng;

pub use rng::Rng;

use std::net::{Ipv4Addr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use tapin_core::Id;
use tapin_core::identity::DeviceKey;
use tapin_store::{MetaKey, Store};

/// The `tapin` binary under test.
///
/// `TAPIN_BIN` overrides it; otherwise it is the `tapin` built beside this test executable
/// (`cargo test --workspace` builds it, because `cli/tests` holds integration tests), or beside
/// this package's own binary (`tapin-netlab`) when that is what runs.
pub fn tapin_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("TAPIN_BIN") {
        return PathBuf::from(bin);
    }
    let exe = std::env::current_exe().expect("test executable path");
    let file = format!("tapin{}", std::env::consts::EXE_SUFFIX);
    // target/<profile>/tapin-netlab -> target/<profile>/tapin
    let beside = exe.with_file_name(&file);
    if beside.exists() {
        return beside;
    }
    // target/<profile>/deps/<test> -> target/<profile>/tapin
    let profile_dir = exe.parent().and_then(Path::parent).expect("target dir");
    let bin = profile_dir.join(file);
    assert!(
        bin.exists(),
        "{} does not exist; run the tests with `cargo test --workspace` (which builds it) or set TAPIN_BIN",
        bin.display()
    );
    bin
}

/// A temporary home for one person. Removed when dropped.
#[derive(Debug)]
pub struct Home {
    dir: tempfile::TempDir,
    name: String,
}

/// What a finished command printed.
#[derive(Debug)]
pub struct Run {
    /// Exit code (None if killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Home {
    /// A new, empty (not initialised) home.
    pub fn new(name: &str) -> Self {
        Home {
            dir: tempfile::tempdir().expect("temp dir"),
            name: name.to_owned(),
        }
    }

    /// The home directory (`--home`).
    pub fn path(&self) -> PathBuf {
        self.dir.path().join(&self.name)
    }

    /// A scratch directory beside the home (for exports and the like).
    pub fn scratch(&self) -> &Path {
        self.dir.path()
    }

    /// A `tapin` command for this home, with a fixed clock unless the test sets another, colour
    /// off, and no editor.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(tapin_bin());
        cmd.args(args)
            .env("TAPIN_HOME", self.path())
            .env("TAPIN_NOW", NOW)
            .env("TZ", "UTC")
            .env("NO_COLOR", "1")
            .env_remove("EDITOR")
            .env_remove("VISUAL")
            .stdin(Stdio::null());
        cmd
    }

    /// Runs a command and returns what it printed, whatever its exit code.
    pub fn run(&self, args: &[&str]) -> Run {
        self.cmd(args).output().expect("spawn tapin").into()
    }

    /// Runs a command with `input` on stdin.
    pub fn run_with_input(&self, args: &[&str], input: &str) -> Run {
        use std::io::Write;
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tapin");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
        child.wait_with_output().expect("wait tapin").into()
    }

    /// Runs a command that must succeed; returns its stdout.
    #[track_caller]
    pub fn ok(&self, args: &[&str]) -> String {
        let run = self.run(args);
        assert_eq!(
            run.code,
            Some(0),
            "tapin {args:?} failed:\nstdout: {}\nstderr: {}",
            run.stdout,
            run.stderr
        );
        run.stdout
    }

    /// Runs a command with `--json` that must succeed; returns the parsed document.
    #[track_caller]
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.ok(&all);
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("tapin {args:?} printed invalid JSON ({e}):\n{out}"))
    }

    /// Runs a command that must fail; returns its stderr.
    #[track_caller]
    pub fn fails(&self, args: &[&str]) -> String {
        let run = self.run(args);
        assert_ne!(
            run.code,
            Some(0),
            "tapin {args:?} should have failed:\nstdout: {}",
            run.stdout
        );
        run.stderr
    }

    /// Every file under the home with its bytes, to prove a failed command changed nothing.
    pub fn snapshot(&self) -> Vec<(PathBuf, Vec<u8>)> {
        fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if let Ok(bytes) = std::fs::read(&path) {
                    out.push((path, bytes));
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.path(), &mut out);
        out.sort();
        out
    }
}

/// The instant every command runs at unless a test moves the clock (a Sunday, noon UTC).
pub const NOW: &str = "2026-11-22T12:00:00Z";

impl Home {
    /// A new home, initialised with `tapin init --name NAME` (the directory is NAME lowercased).
    #[track_caller]
    pub fn init(name: &str) -> Self {
        let home = Home::new(&name.to_lowercase());
        home.ok(&["init", "--name", name]);
        home
    }

    /// Runs a command with the clock at `now` (RFC 3339) and returns what it printed.
    pub fn run_at(&self, now: &str, args: &[&str]) -> Run {
        self.cmd(args)
            .env("TAPIN_NOW", now)
            .output()
            .expect("spawn tapin")
            .into()
    }

    /// Runs a command with the clock at `now` that must succeed; returns its stdout.
    #[track_caller]
    pub fn ok_at(&self, now: &str, args: &[&str]) -> String {
        let run = self.run_at(now, args);
        assert_eq!(
            run.code,
            Some(0),
            "tapin {args:?} at {now} failed:\nstdout: {}\nstderr: {}",
            run.stdout,
            run.stderr
        );
        run.stdout
    }

    /// Runs a command with `--json` and the clock at `now` that must succeed; returns the parsed
    /// document.
    #[track_caller]
    pub fn json_at(&self, now: &str, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.ok_at(now, &all);
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("tapin {args:?} printed invalid JSON ({e}):\n{out}"))
    }

    /// Runs a write command with `--json` that must succeed; returns the id it printed.
    #[track_caller]
    pub fn id(&self, args: &[&str]) -> String {
        let value = self.json(args);
        value["id"]
            .as_str()
            .unwrap_or_else(|| panic!("tapin {args:?} printed no id:\n{value:#}"))
            .to_owned()
    }

    /// The home's JSON export (`tapin export --format json`), parsed.
    #[track_caller]
    pub fn export_json(&self) -> serde_json::Value {
        let out = self.ok(&["export", "--format", "json"]);
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("the JSON export does not parse ({e}):\n{out}"))
    }

    /// Writes `export` to a file beside the home and imports it (`tapin --json import FILE`);
    /// returns the import's summary. Tests build exports with chosen ids and sizes this way.
    #[track_caller]
    pub fn import_json(&self, export: &serde_json::Value) -> serde_json::Value {
        let file = self.scratch().join(format!("import-{}.json", self.name));
        std::fs::write(&file, serde_json::to_vec(export).expect("serialise export"))
            .expect("write export");
        self.json(&["import", file.to_str().expect("UTF-8 path")])
    }

    /// Runs a command that must fail with exit code 1, the way tapin refuses bad input: nothing
    /// on stdout, an `error:` line (a JSON error with `--json`) and no panic on stderr, and every file in the home exactly as
    /// it was. Returns stderr.
    #[track_caller]
    pub fn refuses(&self, args: &[&str]) -> String {
        self.refuses_with(1, args)
    }

    /// Like [`Home::refuses`], with the exit code expected (2 for a usage error).
    #[track_caller]
    pub fn refuses_with(&self, code: i32, args: &[&str]) -> String {
        let before = self.snapshot();
        let existed = self.path().exists();
        let run = self.run(args);
        assert_eq!(
            run.code,
            Some(code),
            "tapin {args:?}: want exit code {code}\nstdout: {}\nstderr: {}",
            run.stdout,
            run.stderr
        );
        assert_eq!(
            run.stdout, "",
            "tapin {args:?} failed but printed on stdout"
        );
        // With `--json`, the error is one JSON object with an `error` field.
        assert!(
            run.stderr.starts_with("error") || run.stderr.starts_with("{\"error\":"),
            "tapin {args:?}: stderr should start with `error`:\n{}",
            run.stderr
        );
        assert!(
            !run.stderr.contains("panicked"),
            "tapin {args:?} panicked:\n{}",
            run.stderr
        );
        assert_eq!(
            self.path().exists(),
            existed,
            "tapin {args:?} created or removed the home"
        );
        let after = self.snapshot();
        if after != before {
            let sizes = |s: &[(PathBuf, Vec<u8>)]| {
                s.iter()
                    .map(|(p, b)| format!("{} ({} bytes)", p.display(), b.len()))
                    .collect::<Vec<_>>()
            };
            panic!(
                "tapin {args:?} failed but changed the home:\nbefore: {:?}\nafter:  {:?}\nstderr: {}",
                sizes(&before),
                sizes(&after),
                run.stderr
            );
        }
        run.stderr
    }
}

/// How long a test waits for a network step (a ticket printed, a pairing finished) before it
/// fails. Generous: the machines that run the tests are often busy compiling.
pub const NET_TIMEOUT: Duration = Duration::from_secs(60);

/// Polls `condition` until it holds, for at most `timeout`; panics naming `what` if it never
/// does. The bounded wait tests use instead of a bare sleep.
#[track_caller]
pub fn eventually(timeout: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return;
        }
        if Instant::now() >= deadline {
            panic!("gave up after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A UDP port on 127.0.0.1 that was free a moment ago, for a home whose port must stay the same
/// across commands (an inviter that invites twice). The kernel hands out a port no one holds.
pub fn free_udp_port() -> u16 {
    free_udp_ports::<1>()[0]
}

/// `N` distinct UDP ports on 127.0.0.1 that were free a moment ago (each socket is held until
/// all are chosen, so no port comes twice).
pub fn free_udp_ports<const N: usize>() -> [u16; N] {
    let sockets: Vec<UdpSocket> = (0..N)
        .map(|_| UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a UDP socket on 127.0.0.1"))
        .collect();
    std::array::from_fn(|i| sockets[i].local_addr().expect("local address").port())
}

/// The last JSON document in `out` (`tapin --json invite` prints its ticket line, then the
/// pairing's result).
#[track_caller]
pub fn last_json(out: &str) -> serde_json::Value {
    serde_json::Deserializer::from_str(out)
        .into_iter::<serde_json::Value>()
        .collect::<Result<Vec<_>, _>>()
        .unwrap_or_else(|e| panic!("stdout is not a sequence of JSON documents ({e}):\n{out}"))
        .pop()
        .unwrap_or_else(|| panic!("no JSON document on stdout:\n{out}"))
}

impl Home {
    /// A new home for networking tests: `tapin init --name NAME --device DEVICE --bind 127.0.0.1
    /// --port PORT --no-mdns` (port 0: any free port at each command).
    #[track_caller]
    pub fn init_net(name: &str, device: &str, port: u16) -> Self {
        let home = Home::new(&name.to_lowercase());
        let port = port.to_string();
        let run: Run = home
            .net_cmd(&[
                "init",
                "--name",
                name,
                "--device",
                device,
                "--bind",
                "127.0.0.1",
                "--port",
                &port,
                "--no-mdns",
            ])
            .output()
            .expect("spawn tapin")
            .into();
        assert_eq!(run.code, Some(0), "tapin init failed:\n{}", run.stderr);
        home
    }

    /// A `tapin` command that may touch the network: loopback only (the home's `--bind`), no
    /// relay, no mDNS, every wait as people get it (a test shortens one with `TAPIN_TIMEOUTS`,
    /// e.g. `pair_step=2s`). The clock stays [`NOW`]: an inviter judges its invitation's expiry on
    /// the clock it made it with, plus the real time since.
    pub fn net_cmd(&self, args: &[&str]) -> Command {
        let mut cmd = self.cmd(args);
        cmd.env_remove("TAPIN_BIND")
            .env_remove("TAPIN_PORT")
            .env_remove("TAPIN_TIMEOUTS")
            .env("TAPIN_MDNS", "off")
            .env("TAPIN_RELAY", "none");
        cmd
    }

    /// Starts a network command in the background (`tapin invite`), stdin closed.
    pub fn spawn(&self, args: &[&str]) -> Background {
        Background::spawn(self.net_cmd(args), None)
    }

    /// Starts a network command in the background with `input` on its stdin (an answer to the
    /// safety-code prompt).
    pub fn spawn_with_input(&self, args: &[&str], input: &str) -> Background {
        Background::spawn(self.net_cmd(args), Some(input))
    }

    /// Runs a network command to its end, within [`NET_TIMEOUT`].
    #[track_caller]
    pub fn net_run(&self, args: &[&str]) -> Run {
        self.spawn(args).wait(NET_TIMEOUT)
    }
}

/// A `tapin` command running in the background, its output collected as it comes. Killed when
/// dropped, so a failing test leaves no inviter waiting behind it.
#[derive(Debug)]
pub struct Background {
    child: Child,
    args: Vec<String>,
    lines: mpsc::Receiver<String>,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl Background {
    /// Starts `cmd` (a [`Home::net_cmd`], perhaps with another clock), with `input` on its stdin
    /// if given, else stdin closed.
    pub fn spawn(mut cmd: Command, input: Option<&str>) -> Self {
        let args = cmd
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        if input.is_some() {
            cmd.stdin(Stdio::piped());
        }
        let mut child = cmd.spawn().expect("spawn tapin");
        if let Some(input) = input {
            use std::io::Write;
            // Dropping the handle closes stdin: the command sees the end of its input.
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(input.as_bytes())
                .expect("write stdin");
        }
        let (tx, lines) = mpsc::channel();
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let readers = vec![
            collect(
                child.stdout.take().expect("stdout"),
                stdout.clone(),
                Some(tx),
            ),
            collect(child.stderr.take().expect("stderr"), stderr.clone(), None),
        ];
        Background {
            child,
            args,
            lines,
            stdout,
            stderr,
            readers,
        }
    }

    /// The next line the command prints on stdout (without its newline), waiting at most
    /// `timeout`. Panics, showing stderr, if none comes or the command ends first.
    #[track_caller]
    pub fn next_line(&mut self, timeout: Duration) -> String {
        match self.lines.recv_timeout(timeout) {
            Ok(line) => line,
            Err(mpsc::RecvTimeoutError::Timeout) => panic!(
                "tapin {:?} printed no line on stdout within {timeout:?}\nstderr: {}",
                self.args,
                self.stderr()
            ),
            Err(mpsc::RecvTimeoutError::Disconnected) => panic!(
                "tapin {:?} closed stdout before printing a line (exit {:?})\nstderr: {}",
                self.args,
                self.child.wait().ok(),
                self.stderr()
            ),
        }
    }

    /// Everything on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The command's process id (to signal it: `kill -INT`, as Ctrl-C would).
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Whether the command is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits at most `timeout` for the command to end; returns all it printed.
    #[track_caller]
    pub fn wait(mut self, timeout: Duration) -> Run {
        let args = self.args.clone();
        eventually(timeout, &format!("tapin {args:?} to finish"), || {
            !self.running()
        });
        let status = self.child.wait().expect("wait for tapin");
        for reader in std::mem::take(&mut self.readers) {
            reader.join().expect("output reader");
        }
        let take = |s: &Mutex<String>| s.lock().map(|s| s.clone()).unwrap_or_default();
        Run {
            code: status.code(),
            stdout: take(&self.stdout),
            stderr: take(&self.stderr),
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if self.running() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Copies `from` into `into` line by line, sending each line on `lines` as it arrives.
fn collect(
    from: impl std::io::Read + Send + 'static,
    into: Arc<Mutex<String>>,
    lines: Option<mpsc::Sender<String>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        use std::io::BufRead;
        let mut from = std::io::BufReader::new(from);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match from.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let text = String::from_utf8_lossy(&buf).into_owned();
            if let Ok(mut all) = into.lock() {
                all.push_str(&text);
            }
            if let Some(lines) = &lines {
                let _ = lines.send(text.trim_end_matches(['\n', '\r']).to_owned());
            }
        }
    })
}

/// Pairs two networking homes through the real binary, both answering the safety code with
/// `--yes`: `inviter` runs `tapin --json invite --yes` in the background, `joiner` runs `tapin
/// --json join TICKET --yes`. Returns the ticket and both results (`{"paired": …, "code": …}`).
#[track_caller]
pub fn pair(inviter: &Home, joiner: &Home) -> Paired {
    let mut invite = inviter.spawn(&["--json", "invite", "--yes", "--expires", "2m"]);
    let ticket = ticket_of(&invite.next_line(NET_TIMEOUT));
    let join = joiner.net_run(&["--json", "join", &ticket, "--yes"]);
    both_paired(ticket, &invite.wait(NET_TIMEOUT), &join)
}

/// The pairing `invite` and `join` (each run with `--json`) made with `ticket`: both succeeded,
/// and both people were shown the same code.
#[track_caller]
pub fn both_paired(ticket: String, invite: &Run, join: &Run) -> Paired {
    assert_eq!(join.code, Some(0), "tapin join failed:\n{}", join.stderr);
    assert_eq!(
        invite.code,
        Some(0),
        "tapin invite failed:\n{}",
        invite.stderr
    );
    let paired = Paired {
        inviter: last_json(&invite.stdout),
        joiner: last_json(&join.stdout),
        ticket,
    };
    assert_eq!(
        paired.inviter["code"], paired.joiner["code"],
        "the two codes"
    );
    paired
}

/// What [`pair`] returns.
#[derive(Debug)]
pub struct Paired {
    /// The inviter's `--json` result.
    pub inviter: serde_json::Value,
    /// The joiner's `--json` result.
    pub joiner: serde_json::Value,
    /// The ticket that was used.
    pub ticket: String,
}

/// The ticket in `tapin --json invite`'s first line, `{"ticket": "…"}`.
#[track_caller]
pub fn ticket_of(first_line: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(first_line).unwrap_or_else(|e| {
        panic!("the first line of `tapin --json invite` is not JSON ({e}): {first_line}")
    });
    value["ticket"]
        .as_str()
        .unwrap_or_else(|| panic!("no ticket in {first_line}"))
        .to_owned()
}

impl Home {
    /// Starts `tapin serve` in the background and waits until it listens (it says "Serving as
    /// NAME on ADDR" on stderr). Dropping the returned command kills it (SIGKILL), the way a
    /// crash or a pulled plug would end it.
    #[track_caller]
    pub fn start_serve(&self) -> Background {
        let mut serve = self.spawn(&["serve"]);
        eventually(NET_TIMEOUT, "`tapin serve` to listen", || {
            serve.stderr().contains("Serving as") || !serve.running()
        });
        assert!(
            serve.running(),
            "tapin serve stopped before it listened:\n{}",
            serve.stderr()
        );
        serve
    }

    /// Runs `tapin --json sync PERSON` to its end, which must succeed and reach the friend;
    /// returns the friend's row of the report (`{"name", "reached", "sent_bytes", …}`).
    #[track_caller]
    pub fn sync_with(&self, person: &str) -> serde_json::Value {
        let run = self.net_run(&["--json", "sync", person]);
        assert_eq!(
            run.code,
            Some(0),
            "tapin sync {person} failed:\nstdout: {}\nstderr: {}",
            run.stdout,
            run.stderr
        );
        let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
            panic!(
                "tapin --json sync printed invalid JSON ({e}):\n{}",
                run.stdout
            )
        });
        let friends = report["friends"].as_array().cloned().unwrap_or_default();
        assert_eq!(
            friends.len(),
            1,
            "want one friend in the report:\n{report:#}"
        );
        assert_eq!(
            friends[0]["reached"], true,
            "{person} not reached:\n{report:#}"
        );
        friends[0].clone()
    }

    /// The files under the home (the database and its `-wal` and `-shm` files included) whose
    /// bytes contain `needle`: the canary search for what must never reach a home.
    pub fn files_containing(&self, needle: &str) -> Vec<PathBuf> {
        self.snapshot()
            .into_iter()
            .filter(|(_, bytes)| contains_bytes(bytes, needle.as_bytes()))
            .map(|(path, _)| path)
            .collect()
    }
}

/// Whether `needle` (not empty) occurs in `haystack`.
pub fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// The release `tapin` for the benchmarks: `TAPIN_BIN`, or built beside the bench executable.
///
/// `cargo bench -p tapin-e2e` does not build `tapin-cli`'s binary (it is not a dependency of this
/// package), so this builds it; cargo makes that a no-op when the binary is fresh.
#[allow(clippy::print_stderr)]
pub fn release_tapin_bin() -> Result<PathBuf, Box<dyn std::error::Error + Send + Sync>> {
    if let Some(bin) = std::env::var_os("TAPIN_BIN") {
        return Ok(PathBuf::from(bin));
    }
    // target/release/deps/<bench>-<hash> -> target/release/tapin
    let exe = std::env::current_exe()?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or("the bench executable is not inside a cargo target directory")?;
    let target_dir = profile_dir
        .parent()
        .ok_or("the bench executable is not inside a cargo target directory")?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("tests/ has no parent directory")?;
    eprintln!("building the release tapin (cargo build --release -p tapin-cli) ...");
    let status = Command::new(&cargo)
        .args(["build", "--release", "-p", "tapin-cli", "--target-dir"])
        .arg(target_dir)
        .current_dir(workspace)
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("could not run {}: {e}", Path::new(&cargo).display()))?;
    if !status.success() {
        return Err(format!(
            "`cargo build --release -p tapin-cli` failed ({status}); build it yourself, or set \
             TAPIN_BIN to a tapin binary"
        )
        .into());
    }
    let bin = profile_dir.join(format!("tapin{}", std::env::consts::EXE_SUFFIX));
    if !bin.exists() {
        return Err(format!("{} is missing after the build", bin.display()).into());
    }
    Ok(bin)
}

impl Home {
    /// The home's store (opened beside any `tapin` running on it) and the device key `tapin init`
    /// stored in it.
    #[track_caller]
    pub fn store_and_key(&self) -> (Store, DeviceKey) {
        let store = Store::open(&self.path()).expect("open the store");
        let secret = store
            .get_secret(MetaKey::DeviceSecret)
            .expect("read the store's device secret")
            .expect("the home has a device secret");
        (store, DeviceKey::from_secret(secret))
    }

    /// What this home holds of `person`'s side: its replica, written only by sync (empty until
    /// the first one).
    #[track_caller]
    pub fn replica_of(&self, person: &str) -> tapin_core::model::SideRecords {
        let (store, _) = self.store_and_key();
        let rel = self.relationship(person);
        store
            .load(&tapin_core::DocId::Replica(rel))
            .expect("load the replica")
            .map(|d| tapin_core::docs::read_replica(&d, rel).expect("read the replica"))
            .unwrap_or_default()
    }

    /// The relationship this home keeps with `person`, as `tapin show` names it.
    #[track_caller]
    pub fn relationship(&self, person: &str) -> Id {
        self.json(&["show", person])["relationship"]
            .as_str()
            .expect("a relationship id")
            .parse()
            .expect("a valid relationship id")
    }
}

/// A record id as a command printed it (`Home::id`), parsed.
#[track_caller]
pub fn id_of(printed: &str) -> Id {
    printed
        .parse()
        .unwrap_or_else(|e| panic!("{printed:?} is not a record id: {e}"))
}
