//! Test harness for tapin's end-to-end tests: runs the real `tapin` binary in temporary homes,
//! the way a person would (after ripgrep's `TestCommand`).
//!
//! ```no_run
//! let home = tapin_e2e::Home::new("maya");
//! home.ok(&["init", "--name", "Maya"]);
//! let people = home.json(&["people"]);
//! assert!(people.as_array().unwrap().is_empty());
//! ```

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The `tapin` binary under test.
///
/// `TAPIN_BIN` overrides it; otherwise it is the `tapin` built beside this test executable
/// (`cargo test --workspace` builds it, because `cli/tests` holds integration tests).
pub fn tapin_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("TAPIN_BIN") {
        return PathBuf::from(bin);
    }
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> -> target/<profile>/tapin
    let profile_dir = exe.parent().and_then(Path::parent).expect("target dir");
    let bin = profile_dir.join(format!("tapin{}", std::env::consts::EXE_SUFFIX));
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
    /// on stdout, an `error:` line and no panic on stderr, and every file in the home exactly as
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
        assert!(
            run.stderr.starts_with("error"),
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
