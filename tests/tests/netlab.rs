//! The lab by hand (`scripts/netlab`, which runs `tapin-netlab`): its demo brings the lab up,
//! pairs two homes through the relay, syncs a shared goal from one to the other, and takes the
//! lab down, leaving no namespace behind.

use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use tapin_e2e::lab::relay_bin;
use tapin_e2e::tapin_bin;

/// Longer than the demo's few seconds, and than any one of its steps may take.
const DEMO_TIMEOUT: Duration = Duration::from_secs(150);

#[test]
fn the_netlab_demo_pairs_two_homes_through_the_relay_syncs_a_goal_and_leaves_no_namespace() {
    if !tapin_e2e::lab::available() {
        return;
    }
    let child = Command::new(env!("CARGO_BIN_EXE_tapin-netlab"))
        .arg("demo")
        .env("TAPIN_BIN", tapin_bin())
        .env("TAPIN_TEST_RELAY", relay_bin())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tapin-netlab demo");
    // Its namespaces are named after its pid.
    let pid = child.id();
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || done.send(child.wait_with_output()));
    let out = finished.recv_timeout(DEMO_TIMEOUT).unwrap_or_else(|_| {
        // SIGTERM: it still takes its lab down.
        let _ = Command::new("kill").arg(pid.to_string()).status();
        panic!("tapin-netlab demo did not finish within {DEMO_TIMEOUT:?}")
    });
    let out = out.expect("wait for tapin-netlab demo");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success(),
        "tapin-netlab demo failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    for said in [
        // The pairing went through the relay, across the two NATs...
        "✓ Paired with Maya (device maya-laptop).",
        // ...then the sync reached Jordan (through the relay, or direct once a hole was
        // punched: nat.rs checks which, truly)...
        "✓ Jordan: sent",
        // ...and the goal arrived.
        "The goal Maya shared reached Jordan's home",
        &format!("The lab is down: no namespace tapin-{pid}-* is left."),
    ] {
        assert!(stdout.contains(said), "{said:?} in:\n{stdout}\n{stderr}");
    }

    let list = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("run ip netns list");
    let prefix = format!("tapin-{pid}-");
    let left: Vec<_> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .filter(|line| line.starts_with(&prefix))
        .map(str::to_owned)
        .collect();
    assert!(left.is_empty(), "tapin-netlab left namespaces: {left:?}");
}
