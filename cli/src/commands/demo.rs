//! `tapin demo`: two people, Maya and Jordan, each with a home of their own, pair over loopback,
//! write their sides (shared and private), sync, and see each other's shared side — then the demo
//! proves that neither private journal reached the other home.
//!
//! Every step runs this very binary as a child process, exactly as a person typing the commands
//! would. Nothing but the machine is needed (loopback only, no relays, no mDNS); everything is
//! written under one temporary directory that is removed afterwards, unless `--keep DIR`.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::output::{self, BOLD, DIM, GOOD, paint};

/// The unique strings written into each private journal, searched for in the other home.
const MAYA_SECRET: &str = "maya-private-7f3a: I worry I talk too much when we meet";
const JORDAN_SECRET: &str = "jordan-private-c91e: I miss our long walks more than I say";

struct Demo {
    exe: PathBuf,
    root: PathBuf,
    /// With `--json` the transcript is collected and printed as one document at the end.
    json: bool,
    steps: std::cell::RefCell<Vec<serde_json::Value>>,
}

/// A background child that is killed when dropped, so a failing demo leaves nothing running.
struct Background(Child);

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Demo {
    fn home(&self, who: &str) -> PathBuf {
        self.root.join(who)
    }

    fn say(&self, line: impl std::fmt::Display) -> Result<()> {
        if !self.json {
            writeln!(output::stdout(), "{line}")?;
        }
        Ok(())
    }

    fn command(&self, who: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.exe);
        // The child inherits TAPIN_NOW, so a fixed clock applies to the whole demo.
        cmd.args(args)
            .env("TAPIN_HOME", self.home(who))
            .env("TAPIN_MDNS", "off")
            .env("TAPIN_RELAY", "none")
            .env("NO_COLOR", "1");
        cmd
    }

    fn show(&self, who: &str, args: &[&str]) -> Result<String> {
        let shown: Vec<String> = args
            .iter()
            .map(|a| {
                if a.contains(' ') || a.is_empty() {
                    format!("{a:?}")
                } else {
                    (*a).to_owned()
                }
            })
            .collect();
        let command = format!("tapin {}", shown.join(" "));
        if !self.json {
            writeln!(
                output::stdout(),
                "\n{} {}",
                paint(DIM, format!("{who} $")),
                paint(BOLD, &command)
            )?;
        }
        Ok(command)
    }

    fn run(&self, who: &str, args: &[&str]) -> Result<String> {
        self.run_with(who, args, None)
    }

    fn run_with(&self, who: &str, args: &[&str], stdin: Option<&str>) -> Result<String> {
        let command = self.show(who, args)?;
        let mut cmd = self.command(who, args);
        let result = match stdin {
            Some(input) => {
                let mut child = cmd
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()?;
                child
                    .stdin
                    .take()
                    .context("no stdin")?
                    .write_all(input.as_bytes())?;
                child.wait_with_output()?
            }
            None => cmd
                .output()
                .with_context(|| format!("could not run {}", self.exe.display()))?,
        };
        let stdout = String::from_utf8_lossy(&result.stdout).into_owned();
        if self.json {
            self.steps
                .borrow_mut()
                .push(serde_json::json!({ "who": who, "command": command, "stdout": stdout }));
        } else {
            write!(output::stdout(), "{stdout}")?;
        }
        if !result.status.success() {
            bail!(
                "demo step `{command}` failed: {}",
                String::from_utf8_lossy(&result.stderr)
            );
        }
        Ok(stdout)
    }

    fn background(&self, who: &str, args: &[&str]) -> Result<Background> {
        self.show(who, args)?;
        let child = self
            .command(who, args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(Stdio::null())
            .spawn()
            .with_context(|| format!("could not start {}", self.exe.display()))?;
        Ok(Background(child))
    }
}

/// The id printed by a `--json` write command.
fn id_of(json: &str) -> Result<String> {
    let v: serde_json::Value = serde_json::from_str(json).context("demo: unexpected output")?;
    Ok(v["id"].as_str().context("demo: no id in output")?[..8].to_owned())
}

/// A UDP port free right now on loopback, for a home's stable port.
fn free_port() -> Result<String> {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").context("could not find a free port")?;
    Ok(socket.local_addr()?.port().to_string())
}

/// Whether any file under `dir` contains `needle`.
fn found_in(dir: &Path, needle: &str) -> Result<bool> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            if found_in(&path, needle)? {
                return Ok(true);
            }
        } else if std::fs::read(&path)?
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
        {
            return Ok(true);
        }
    }
    Ok(false)
}

pub(crate) fn run(keep: Option<PathBuf>, json: bool) -> Result<()> {
    let exe = std::env::current_exe().context("could not find the tapin binary")?;
    let tmp;
    let root = match keep {
        Some(dir) => dir,
        None => {
            tmp = tempfile::tempdir().context("could not create a temporary directory")?;
            tmp.path().to_owned()
        }
    };
    let demo = Demo {
        exe,
        root,
        json,
        steps: Default::default(),
    };
    script(&demo)?;
    if json {
        return output::json(&serde_json::json!({
            "homes": [demo.home("maya"), demo.home("jordan")],
            "steps": demo.steps.into_inner(),
        }));
    }
    Ok(())
}

fn script(d: &Demo) -> Result<()> {
    d.say(paint(
        BOLD,
        "tapin demo — Maya and Jordan pair their devices over loopback, then sync",
    ))?;
    // Both homes are on this machine, so each device gets a name of its own rather than the
    // machine's host name twice.
    for (who, name, device) in [
        ("maya", "Maya", "maya-laptop"),
        ("jordan", "Jordan", "jordan-phone"),
    ] {
        let port = free_port()?;
        d.run(
            who,
            &[
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
            ],
        )?;
    }

    // Pairing: Maya invites, Jordan joins with the ticket from the invitation's first line.
    let mut invite = d.background("maya", &["invite", "--yes", "--expires", "2m"])?;
    let stdout = invite.0.stdout.take().context("no stdout from invite")?;
    let mut lines = BufReader::new(stdout).lines();
    let ticket = lines.next().context("the invitation printed nothing")??;
    d.say(format!("{}…", &ticket[..ticket.len().min(48)]))?;
    d.run("jordan", &["join", &ticket, "--yes"])?;
    let paired = lines
        .map_while(Result::ok)
        .find(|l| l.contains("Paired"))
        .unwrap_or_default();
    d.say(paired)?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while invite.0.try_wait()?.is_none() {
        if Instant::now() > deadline {
            bail!("the invitation did not finish after pairing");
        }
        std::thread::sleep(Duration::from_millis(20));
    }

    // Maya's side.
    d.run(
        "maya",
        &[
            "person",
            "edit",
            "Jordan",
            "--importance",
            "5",
            "--rhythm",
            "1w",
            "--max",
            "3w",
        ],
    )?;
    d.run(
        "maya",
        &[
            "log",
            "Jordan",
            "--by",
            "them",
            "--via",
            "call",
            "--reason",
            "just-because",
            "--on",
            "yesterday",
        ],
    )?;
    let goal = id_of(&d.run(
        "maya",
        &[
            "--json",
            "goal",
            "add",
            "Jordan",
            "Communicate more openly",
            "--kind",
            "emotional-support",
            "--by",
            "in 4 weeks",
            "--step",
            "Ask how their week really went",
            "--step",
            "Share one worry of mine",
            "--share",
        ],
    )?)?;
    d.run("maya", &["goal", "step", "done", &goal, "1"])?;
    d.run(
        "maya",
        &[
            "goal",
            "add",
            "Jordan",
            "Be less defensive when we disagree",
        ],
    )?;
    d.run(
        "maya",
        &[
            "ritual",
            "add",
            "Jordan",
            "Walk by the river",
            "--monthly-on",
            "4",
            "--minutes",
            "45",
            "--guideline",
            "no money spent",
            "--share",
        ],
    )?;
    d.run(
        "maya",
        &[
            "checkin",
            "Jordan",
            "--rating",
            "4",
            "--went-well",
            "We laughed a lot",
            "--to-change",
            "Call before it gets late",
            "--share",
        ],
    )?;
    d.run(
        "maya",
        &[
            "thanks",
            "Jordan",
            "Thank you for checking on me after the move",
        ],
    )?;
    d.run_with(
        "maya",
        &["journal", "add", "--about", "Jordan"],
        Some(MAYA_SECRET),
    )?;

    // Jordan's side.
    d.run(
        "jordan",
        &[
            "goal",
            "add",
            "Maya",
            "Plan one weekend trip",
            "--kind",
            "shared-experience",
            "--share",
            "--step",
            "Pick three dates",
        ],
    )?;
    d.run(
        "jordan",
        &["thanks", "Maya", "Thanks for the soup when I was ill"],
    )?;
    d.run(
        "jordan",
        &[
            "checkin",
            "Maya",
            "--rating",
            "5",
            "--went-well",
            "Honest talk",
            "--share",
        ],
    )?;
    d.run_with(
        "jordan",
        &["journal", "add", "--about", "Maya"],
        Some(JORDAN_SECRET),
    )?;

    // Sync: Jordan stays online; Maya syncs once.
    let mut serve = d.background("jordan", &["serve"])?;
    // `serve` says "Serving as …" on stderr once it listens.
    let stderr = serve.0.stderr.take().context("no stderr from serve")?;
    let ready = BufReader::new(stderr)
        .lines()
        .map_while(Result::ok)
        .any(|l| l.starts_with("Serving as"));
    if !ready {
        bail!("Jordan's device did not come online");
    }
    d.run("maya", &["sync"])?;

    // Jordan takes up Maya's shared goal: a record in his own side that refers to hers.
    let shown: serde_json::Value = serde_json::from_str(
        &d.command("jordan", &["--json", "show", "Maya"])
            .output()?
            .stdout
            .iter()
            .map(|&b| b as char)
            .collect::<String>(),
    )
    .context("demo: unexpected show output")?;
    let goal = shown["their_goals"]
        .as_array()
        .and_then(|goals| {
            goals
                .iter()
                .find(|g| g["title"] == "Communicate more openly")
        })
        .and_then(|g| g["id"].as_str())
        .context("demo: Maya's shared goal did not reach Jordan")?
        .chars()
        .take(8)
        .collect::<String>();
    d.run("jordan", &["goal", "join", &goal])?;
    d.run("maya", &["sync"])?;
    drop(serve);

    d.run("maya", &["show", "Jordan"])?;
    d.run("jordan", &["show", "Maya"])?;
    d.run("maya", &["people"])?;
    d.run("maya", &["today"])?;

    // The privacy proof.
    d.say(format!("\n{}", paint(BOLD, "Privacy check")))?;
    for (writer, secret, reader) in [
        ("maya", MAYA_SECRET, "jordan"),
        ("jordan", JORDAN_SECRET, "maya"),
    ] {
        let marker = &secret[..secret.find(':').unwrap_or(secret.len())];
        if !found_in(&d.home(writer), marker)? {
            bail!(
                "the demo could not find {writer}'s own journal marker; the check would prove nothing"
            );
        }
        if found_in(&d.home(reader), marker)? {
            bail!("{writer}'s private journal reached {reader}'s home");
        }
        d.say(format!(
            "{} {writer}'s private journal entry ({marker}) is in no file of {reader}'s home.",
            paint(GOOD, "✓")
        ))?;
    }
    Ok(())
}
