//! Whether this machine can build the lab, checked once per process before its first namespace,
//! and the one way to skip the lab's tests.
//!
//! The lab needs root (or the two capabilities `ip netns` and nftables need: `CAP_NET_ADMIN`
//! and `CAP_SYS_ADMIN`), iproute2's `ip`, procps' `sysctl`, nftables' `nft`, `tcpdump`, a
//! kernel that makes network namespaces, and a TUN device (`/dev/net/tun`) for the user-space
//! link that delays and drops an uplink (`tapin-test-link`). A machine without one of them fails
//! every lab test with one message that names all that is missing and how to get it, rather
//! than with the first `ip` error halfway through building a lab.
//!
//! Setting [`SKIP_VAR`] (`TAPIN_SKIP_NETLAB=1`) skips the lab's tests instead: each lab test
//! starts with `if !lab::available() { return; }`, and [`available`] says on stderr, past the
//! test harness's capture, that the test was skipped and why. CI never sets it: there the lab
//! runs as root, as the README's test command runs it.
//!
//! The check itself is [`problems`], a pure function of what was found ([`Machine`]), so its
//! messages are tested without taking anything away from the machine.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::Ordering;

/// The environment variable that skips the lab's tests (`TAPIN_SKIP_NETLAB=1`): for a machine
/// that cannot run them, never for CI.
pub const SKIP_VAR: &str = "TAPIN_SKIP_NETLAB";

/// The programs the lab runs, and the Debian package each comes in.
const TOOLS: &[(&str, &str)] = &[
    ("ip", "iproute2"),
    ("nft", "nftables"),
    ("sysctl", "procps"),
    ("tcpdump", "tcpdump"),
];

/// Where a tool is looked for beyond `PATH`: Debian puts these tools here, and a user's `PATH`
/// often lacks them.
const SBIN: &[&str] = &["/usr/sbin", "/sbin"];

/// `CAP_NET_ADMIN` (linux/capability.h): links, addresses, routes, nftables.
const CAP_NET_ADMIN: u32 = 12;
/// `CAP_SYS_ADMIN`: `ip netns add` unshares and bind-mounts a namespace.
const CAP_SYS_ADMIN: u32 = 21;

/// What the preflight found on this machine: the input of [`problems`].
#[derive(Debug, Clone)]
pub struct Machine {
    /// The directories of `PATH`, in order: where the lab's `Command`s find their programs.
    pub path: Vec<PathBuf>,
    /// Other directories a tool may be in, though not on `PATH` (`/usr/sbin`, `/sbin`).
    pub sbin: Vec<PathBuf>,
    /// The effective user id, if known (`Uid:` in `/proc/self/status`).
    pub euid: Option<u32>,
    /// The effective capabilities, if known (`CapEff:` in `/proc/self/status`).
    pub cap_eff: Option<u64>,
    /// What making and deleting a probe namespace gave: `None` when not tried (no `ip`),
    /// else `ip`'s complaint if it failed.
    pub netns: Option<Result<(), String>>,
    /// Whether `/dev/net/tun` exists, which an impaired uplink's link opens.
    pub tun: bool,
}

/// What is missing for the lab on `machine`, one line each, saying how to get it; empty when
/// nothing is.
pub fn problems(machine: &Machine) -> Vec<String> {
    let mut problems = Vec::new();
    for (tool, package) in TOOLS {
        if find(tool, &machine.path).is_some() {
            continue;
        }
        match find(tool, &machine.sbin) {
            Some(at) => problems.push(format!(
                "`{tool}` is at {}, which is not on PATH: add {} to PATH",
                at.display(),
                at.parent().unwrap_or(Path::new("/")).display()
            )),
            None => problems.push(format!(
                "`{tool}` is not on PATH nor in {}: install Debian's `{package}` package \
                 (scripts/test installs it with apt-get)",
                SBIN.join(", ")
            )),
        }
    }
    let lacking: Vec<&str> = match machine.cap_eff {
        Some(mask) => [
            (CAP_NET_ADMIN, "CAP_NET_ADMIN"),
            (CAP_SYS_ADMIN, "CAP_SYS_ADMIN"),
        ]
        .into_iter()
        .filter(|(bit, _)| mask & (1 << bit) == 0)
        .map(|(_, name)| name)
        .collect(),
        // Without /proc, only root is known to have them.
        None if machine.euid == Some(0) => Vec::new(),
        None => vec!["CAP_NET_ADMIN", "CAP_SYS_ADMIN"],
    };
    if !lacking.is_empty() {
        let who = match machine.euid {
            Some(0) => "this process runs as root, but without",
            Some(_) => "this process is not root, and lacks",
            None => "this process lacks",
        };
        let mask = machine
            .cap_eff
            .map(|m| format!(" (CapEff {m:016x})"))
            .unwrap_or_default();
        problems.push(format!(
            "{who} {}{mask}: run the tests as root (`sudo scripts/test`), or in a container \
             started with `--cap-add NET_ADMIN --cap-add SYS_ADMIN` (or `--privileged`)",
            lacking.join(" and ")
        ));
    }
    if !machine.tun {
        problems.push(
            "there is no /dev/net/tun: the lab's user-space link (tapin-test-link) needs the \
             kernel's TUN driver (CONFIG_TUN), and in a container `--device /dev/net/tun`"
                .to_owned(),
        );
    }
    if let Some(Err(why)) = &machine.netns {
        problems.push(format!(
            "`ip netns add` cannot make a namespace ({why}): the lab needs the privileges \
             above, a writable /run/netns, and a kernel with network namespaces (CONFIG_NET_NS)"
        ));
    }
    problems
}

/// The one message a machine that cannot run the lab fails with: every problem, then the way
/// to skip.
pub fn message(problems: &[String]) -> String {
    let mut message = String::from("the network lab (tapin_e2e::lab) cannot run on this machine:");
    for problem in problems {
        message.push_str("\n  - ");
        message.push_str(problem);
    }
    message.push_str(&format!(
        "\nFix these, or set {SKIP_VAR}=1 to skip the lab's tests (each then says on stderr \
         that it was skipped). CI never sets it."
    ));
    message
}

/// The first executable file named `tool` in `dirs`.
fn find(tool: &str, dirs: &[PathBuf]) -> Option<PathBuf> {
    dirs.iter().map(|dir| dir.join(tool)).find(|file| {
        file.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

/// The effective uid and capabilities in a `/proc/<pid>/status` text.
fn identity(status: &str) -> (Option<u32>, Option<u64>) {
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
            .map(str::trim)
    };
    // `Uid:` lists the real, effective, saved and filesystem ids.
    let euid = field("Uid")
        .and_then(|ids| ids.split_whitespace().nth(1))
        .and_then(|id| id.parse().ok());
    let cap_eff = field("CapEff").and_then(|hex| u64::from_str_radix(hex, 16).ok());
    (euid, cap_eff)
}

/// Makes and deletes one namespace, as the lab would: `ip`'s complaint if that fails.
fn probe_netns() -> Result<(), String> {
    let n = super::MADE.fetch_add(1, Ordering::SeqCst);
    let name = format!("tapin-{}-{n}-probe", std::process::id());
    let ip = |args: &[&str]| {
        Command::new("ip")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run ip: {e}"))
            .and_then(|out| {
                if out.status.success() {
                    Ok(())
                } else {
                    Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
                }
            })
    };
    ip(&["netns", "add", &name])?;
    ip(&["netns", "del", &name])
}

/// This machine, as [`problems`] takes it: the probe namespace is tried only when `ip` is
/// where the lab runs it from.
fn this_machine() -> Machine {
    let path: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let (euid, cap_eff) = identity(&status);
    let netns = find("ip", &path).map(|_| probe_netns());
    Machine {
        path,
        sbin: SBIN.iter().map(PathBuf::from).collect(),
        euid,
        cap_eff,
        netns,
        tun: Path::new("/dev/net/tun").exists(),
    }
}

/// Whether this machine can run the lab, checked once per process: `Err` holds the
/// [`message`] naming everything missing.
pub fn check_machine() -> Result<(), String> {
    static CHECKED: OnceLock<Result<(), String>> = OnceLock::new();
    CHECKED
        .get_or_init(|| {
            let problems = problems(&this_machine());
            if problems.is_empty() {
                Ok(())
            } else {
                Err(message(&problems))
            }
        })
        .clone()
}

/// Panics with [`check_machine`]'s message if this machine cannot run the lab; run before
/// every namespace the lab makes.
#[track_caller]
pub fn preflight() {
    if let Err(message) = check_machine() {
        panic!("{message}");
    }
}

/// Whether [`SKIP_VAR`] is set (to anything but empty or `0`).
pub fn skipping() -> bool {
    std::env::var_os(SKIP_VAR).is_some_and(|v| !v.is_empty() && v != "0")
}

/// Whether this test may use the lab. `false` when [`SKIP_VAR`] is set, after saying on stderr
/// that the test is skipped (written past the test harness's capture, so the skip shows);
/// otherwise runs the [`preflight`], which panics naming what is missing. Every lab test starts
/// with `if !lab::available() { return; }`.
#[must_use]
#[track_caller]
pub fn available() -> bool {
    if skipping() {
        // The test harness names each test's thread after the test.
        let thread = std::thread::current();
        let test = thread
            .name()
            .filter(|n| *n != "main")
            .unwrap_or("a lab test");
        let _ = writeln!(std::io::stderr(), "SKIPPED ({SKIP_VAR} is set): {test}");
        return false;
    }
    preflight();
    true
}

/// Run before each namespace: a test that builds a lab while [`SKIP_VAR`] is set did not ask
/// [`available`] first, which would turn the skip into a failure far from its cause.
#[track_caller]
pub(super) fn before_namespace() {
    assert!(
        !skipping(),
        "{SKIP_VAR} is set, but this builds a lab without asking `lab::available()` first: \
         start the test with `if !tapin_e2e::lab::available() {{ return; }}`"
    );
    preflight();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory holding an executable file for each of `tools`.
    fn bin_dir(tools: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        for tool in tools {
            let file = dir.path().join(tool);
            std::fs::write(&file, "#!/bin/sh\n").expect("write a fake tool");
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755))
                .expect("make it executable");
        }
        dir
    }

    /// A root machine with every capability whose `PATH` is `path`, nothing in sbin, and a
    /// working namespace probe.
    fn root_with(path: Vec<PathBuf>) -> Machine {
        Machine {
            path,
            sbin: Vec::new(),
            euid: Some(0),
            cap_eff: Some(0x1ff_ffff_ffff),
            netns: Some(Ok(())),
            tun: true,
        }
    }

    #[test]
    fn a_machine_with_everything_has_no_problem() {
        let bin = bin_dir(&["ip", "nft", "sysctl", "tcpdump"]);
        assert_eq!(
            problems(&root_with(vec![bin.path().to_owned()])),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_path_without_nft_fails_naming_nft_its_package_and_the_skip_variable() {
        let bin = bin_dir(&["ip", "sysctl", "tcpdump"]);
        let found = problems(&root_with(vec![bin.path().to_owned()]));
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].contains("`nft`"), "{}", found[0]);
        assert!(found[0].contains("`nftables` package"), "{}", found[0]);
        let message = message(&found);
        assert!(message.contains(&found[0]), "{message}");
        assert!(message.contains("TAPIN_SKIP_NETLAB=1"), "{message}");
    }

    #[test]
    fn a_tool_only_in_sbin_is_named_with_where_it_is() {
        let bin = bin_dir(&["ip", "sysctl", "tcpdump"]);
        let sbin = bin_dir(&["nft"]);
        let mut machine = root_with(vec![bin.path().to_owned()]);
        machine.sbin = vec![sbin.path().to_owned()];
        let found = problems(&machine);
        assert_eq!(
            found,
            [format!(
                "`nft` is at {}, which is not on PATH: add {} to PATH",
                sbin.path().join("nft").display(),
                sbin.path().display()
            )]
        );
    }

    #[test]
    fn a_file_that_is_not_executable_is_not_the_tool() {
        let bin = bin_dir(&["ip", "sysctl", "tcpdump"]);
        std::fs::write(bin.path().join("nft"), "").expect("write");
        let found = problems(&root_with(vec![bin.path().to_owned()]));
        assert!(found.iter().any(|p| p.contains("`nft`")), "{found:#?}");
    }

    #[test]
    fn every_missing_thing_is_named_in_one_message() {
        let machine = Machine {
            path: Vec::new(),
            sbin: Vec::new(),
            euid: Some(1000),
            cap_eff: Some(0),
            netns: None,
            tun: false,
        };
        let message = message(&problems(&machine));
        for needed in [
            "`ip`",
            "/dev/net/tun",
            "`nft`",
            "`sysctl`",
            "`tcpdump`",
            "`iproute2`",
            "`nftables`",
            "`procps`",
            "not root",
            "CAP_NET_ADMIN and CAP_SYS_ADMIN",
            "sudo scripts/test",
            "TAPIN_SKIP_NETLAB=1",
        ] {
            assert!(message.contains(needed), "{needed} in:\n{message}");
        }
    }

    #[test]
    fn root_without_the_capabilities_is_told_so_and_a_failed_probe_says_why() {
        let bin = bin_dir(&["ip", "nft", "sysctl", "tcpdump"]);
        let mut machine = root_with(vec![bin.path().to_owned()]);
        // A container's root: everything but CAP_SYS_ADMIN.
        machine.cap_eff = Some(!(1 << CAP_SYS_ADMIN) & 0x1ff_ffff_ffff);
        machine.netns = Some(Err("mount --make-shared /run/netns failed".to_owned()));
        let found = problems(&machine);
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(
            found[0].starts_with("this process runs as root, but without CAP_SYS_ADMIN ("),
            "{}",
            found[0]
        );
        assert!(
            found[1].contains("(mount --make-shared /run/netns failed)"),
            "{}",
            found[1]
        );
    }

    #[test]
    fn the_effective_uid_and_capabilities_are_read_from_proc_status() {
        let status = "Name:\ttest\nUid:\t1000\t0\t0\t0\nGid:\t0\t0\t0\t0\n\
                      CapInh:\t0000000000000000\nCapEff:\t000001fffeffffff\n";
        assert_eq!(identity(status), (Some(0), Some(0x1ff_feff_ffff)));
        assert_eq!(identity(""), (None, None));
    }
}
