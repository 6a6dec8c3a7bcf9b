//! `tapin demo`: a scripted walk through the app in a temporary home, run through this very
//! binary so every step is exactly what a person typing the commands would get.
//!
//! Until pairing and sync land this is the one-person, offline demo; it leaves nothing behind
//! unless `--keep DIR` is given.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::output::{self, BOLD, DIM, paint};

struct Demo {
    exe: PathBuf,
    home: PathBuf,
    /// With `--json` the transcript is collected and printed as one document at the end.
    json: bool,
    steps: std::cell::RefCell<Vec<serde_json::Value>>,
}

impl Demo {
    fn say(&self, line: impl std::fmt::Display) -> Result<()> {
        if !self.json {
            writeln!(output::stdout(), "{line}")?;
        }
        Ok(())
    }

    fn run(&self, args: &[&str]) -> Result<String> {
        self.run_with(args, None)
    }

    fn run_with(&self, args: &[&str], stdin: Option<&str>) -> Result<String> {
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
                paint(DIM, "$"),
                paint(BOLD, &command)
            )?;
        }
        let mut cmd = Command::new(&self.exe);
        // The child inherits TAPIN_NOW, so a fixed clock applies to the whole demo.
        cmd.args(args).env("TAPIN_HOME", &self.home);
        let result = if let Some(input) = stdin {
            use std::process::Stdio;
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
        } else {
            cmd.output()
                .with_context(|| format!("could not run {}", self.exe.display()))?
        };
        let stdout = String::from_utf8_lossy(&result.stdout).into_owned();
        if self.json {
            self.steps
                .borrow_mut()
                .push(serde_json::json!({ "command": command, "stdout": stdout }));
        } else {
            write!(output::stdout(), "{stdout}")?;
        }
        if !result.status.success() {
            bail!(
                "demo step `tapin {}` failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&result.stderr)
            );
        }
        Ok(stdout)
    }
}

/// The id printed by a `--json` write command.
fn id_of(json: &str) -> Result<String> {
    let v: serde_json::Value = serde_json::from_str(json).context("demo: unexpected output")?;
    Ok(v["id"].as_str().context("demo: no id in output")?[..8].to_owned())
}

pub(crate) fn run(keep: Option<PathBuf>, json: bool) -> Result<()> {
    let exe = std::env::current_exe().context("could not find the tapin binary")?;
    // Everything the demo writes goes under one root: the kept directory, or a temporary one
    // that is removed when the demo ends.
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
        home: root.join("maya"),
        json,
        steps: Default::default(),
    };
    script(&demo, &root)?;
    if json {
        return output::json(&serde_json::json!({
            "home": demo.home,
            "steps": demo.steps.into_inner(),
        }));
    }
    Ok(())
}

fn script(d: &Demo, root: &Path) -> Result<()> {
    d.say(paint(
        BOLD,
        "tapin demo — one person, offline, in a temporary home",
    ))?;
    d.run(&["init", "--name", "Maya"])?;
    d.run(&[
        "person",
        "add",
        "Jordan",
        "--importance",
        "5",
        "--risk",
        "medium",
        "--rhythm",
        "1w",
        "--max",
        "3w",
    ])?;
    d.run(&[
        "person",
        "add",
        "Ada",
        "--importance",
        "4",
        "--risk",
        "high",
        "--rhythm",
        "2w",
    ])?;
    d.run(&[
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
    ])?;
    let goal = id_of(&d.run(&[
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
    ])?)?;
    d.run(&[
        "goal",
        "add",
        "Jordan",
        "Be less defensive when we disagree",
        "--by",
        "next month",
    ])?;
    d.run(&["goal", "step", "done", &goal, "1"])?;
    let ritual = id_of(&d.run(&[
        "--json",
        "ritual",
        "add",
        "Ada",
        "One-on-one time",
        "--monthly-on",
        "31",
        "--minutes",
        "20",
        "--guideline",
        "no vehicle travel",
        "--guideline",
        "no money spent",
        "--share",
    ])?)?;
    d.run(&["ritual", "done", &ritual])?;
    d.run(&[
        "checkin",
        "Jordan",
        "--rating",
        "4",
        "--went-well",
        "We laughed a lot",
        "--to-change",
        "Call before it gets late",
        "--review",
        &format!("{goal}=active"),
        "--share",
    ])?;
    d.run(&[
        "thanks",
        "Jordan",
        "Thank you for checking on me after the move",
    ])?;
    d.run(&[
        "reflect",
        "Ada",
        "--q1a",
        "Not lately",
        "--q1b",
        "Yes",
        "--q2a",
        "Sometimes",
        "--q2b",
        "I try",
        "--q3a",
        "Rarely",
        "--q3b",
        "Monthly",
        "--q4a",
        "Drained, honestly",
        "--q4b",
        "I think she feels heard",
    ])?;
    d.run_with(
        &["journal", "add", "--about", "Jordan"],
        Some("Long talk with Jordan tonight. @grateful that we can be honest.\n"),
    )?;
    d.run(&[
        "journal",
        "add",
        "Feeling stretched thin this week @self-care",
        "--star",
    ])?;
    d.run(&["people"])?;
    d.run(&["goal", "list"])?;
    d.run(&["ritual", "list"])?;
    d.run(&["journal", "search", "@grateful"])?;
    d.run(&["history", "Jordan"])?;
    let out = root.join("export");
    d.run(&[
        "export",
        "--format",
        "automerge",
        "--out",
        &out.display().to_string(),
    ])?;
    d.say(
        paint(
            DIM,
            "\nThe shared side (side-*.automerge) is the only document that will ever sync to Jordan; private and journal never leave this home."
        )
    )?;
    Ok(())
}
