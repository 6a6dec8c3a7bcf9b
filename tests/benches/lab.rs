//! Reaching a friend across the lab's simulated internet (issue 12): connect time and first-sync
//! time of a 10,000-change side, over loopback (the baseline, in the same run), through the
//! lab's relay between two home NATs, and the same under 150 ms RTT and 3 % loss; and the bytes
//! the relay carried.
//!
//! ```sh
//! cargo bench -p tapin-e2e --bench lab
//! TAPIN_BENCH_QUICK=1 cargo bench -p tapin-e2e --bench lab   # one repetition, a smoke run
//! ```
//!
//! Needs root, `ip` and `nft`, as the lab tests do. Every figure is the real release `tapin`:
//! Maya's home gets a side of 10,000 changes (written through the store as the CLI writes
//! them: `tapin_e2e::lab::people`), Jordan's home runs `tapin serve`, and each sample is one
//! `tapin --json sync Jordan` process in Maya's home, timed from spawn to exit. Its connect
//! and exchange times are read from iroh's own connection events in that process's log
//! (`TAPIN_LOG=iroh::_events::conn=debug`): connect from `connecting` to `connected`, the
//! exchange from `connected` to `closed` (both sides' store writes included). Each repetition
//! builds each setting afresh (new homes, new pairing, empty replica: a first sync every
//! time), and the settings take turns, so a noisy moment of the shared machine falls on all of
//! them alike. Figures are medians; ratios are against the loopback medians of the same run.
//!
//! The loopback baseline runs both homes in one namespace of their own (`Netns::loopback`),
//! through `ip netns exec` like the lab's, on 127.0.0.1 with no relay. The lab's settings are
//! `tapin_e2e::lab::internet`: two `Nat::Home` routers, the relay on the internet between them.
//! A markdown report goes to stdout (for `docs/PERFORMANCE.md`), progress to stderr.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::error::Error;
use std::fmt::Write as _;
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::Value;
use tapin_e2e::lab::Netns;
use tapin_e2e::lab::internet::{Carried, Impairment, Internet, Nat};
use tapin_e2e::lab::people::{Person, pair};
use tapin_e2e::{Home, NET_TIMEOUT, eventually, last_json, ticket_of};

type Result<T, E = Box<dyn Error + Send + Sync>> = std::result::Result<T, E>;

/// Changes on Maya's side.
const CHANGES: usize = 10_000;

/// Each home's share of a 150 ms, 3 % link between the two (as `tests/tests/impaired.rs`).
const HALF_THE_LINK: Impairment = Impairment {
    delay: Duration::from_micros(37_500),
    loss_percent: 1.5,
};

/// What the sync process logs: iroh's connection events, besides the CLI's default filter.
const LOG: &str = "warn,automerge=off,iroh::protocol=error,iroh::_events::conn=debug";

/// The settings, in the order each repetition runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setting {
    Loopback,
    Relay,
    Impaired,
}

impl Setting {
    const ALL: [Setting; 3] = [Setting::Loopback, Setting::Relay, Setting::Impaired];

    fn label(self) -> &'static str {
        match self {
            Setting::Loopback => "loopback, 127.0.0.1, no relay (baseline)",
            Setting::Relay => "two home NATs, through the lab's relay",
            Setting::Impaired => "the same, 150 ms RTT and 3 % loss",
        }
    }
}

/// One first sync.
#[derive(Debug, Clone)]
struct Sample {
    setting: Setting,
    /// Spawn to exit of `tapin sync`.
    wall: Duration,
    /// iroh's `connecting` to `connected`.
    connect: Duration,
    /// iroh's `connected` to `closed`: the exchange itself, the stores' writes included.
    exchange: Duration,
    /// `closed` to the process's exit: the endpoint's shutdown.
    after_close: Duration,
    /// The path `tapin sync` reported.
    path: String,
    /// Frame bytes `tapin sync` reported sending.
    sent_bytes: u64,
    /// The side's stored bytes.
    side_bytes: u64,
    /// What Maya's uplink carried during the sync (lab settings only).
    uplink: Option<Carried>,
    /// What the relay carried during the sync, in and out (lab settings only).
    relay_bytes: Option<u64>,
    /// UDP packets the routers let in from each other during the sync (lab settings only).
    direct_packets: Option<u64>,
}

fn main() -> Result<()> {
    let quick = std::env::var("TAPIN_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let reps = if quick { 1 } else { 5 };
    // Builds the release binary when it is stale; `Home` then runs the one beside this bench
    // (or `TAPIN_BIN`), and the lab's helpers beside it.
    let bin = tapin_e2e::release_tapin_bin()?;
    eprintln!("tapin: {}", bin.display());
    let started = Instant::now();
    let mut samples = Vec::new();
    for rep in 0..reps {
        for setting in Setting::ALL {
            eprintln!("repetition {}/{reps}: {} ...", rep + 1, setting.label());
            let sample = match setting {
                Setting::Loopback => loopback()?,
                Setting::Relay => lab(None)?,
                Setting::Impaired => lab(Some(HALF_THE_LINK))?,
            };
            eprintln!(
                "  connect {:.1?}, exchange {:.1?}, tapin sync {:.1?}, path {}",
                sample.connect, sample.exchange, sample.wall, sample.path
            );
            samples.push(sample);
        }
    }
    print!("{}", report(&samples, reps, started.elapsed()));
    Ok(())
}

/// The baseline: Maya and Jordan on 127.0.0.1 in a namespace of their own, no relay.
fn loopback() -> Result<Sample> {
    let ns = Netns::loopback();
    let maya = Home::init_net("Maya", "maya-laptop", 4433);
    let jordan = Home::init_net("Jordan", "jordan-phone", 4434);
    let mut invite = ns.spawn(
        maya.net_cmd(&["--json", "invite", "--yes", "--expires", "2m"]),
        None,
    );
    let ticket = ticket_of(&invite.next_line(NET_TIMEOUT));
    let join = ns.run(jordan.net_cmd(&["--json", "join", &ticket, "--yes"]));
    tapin_e2e::both_paired(ticket, &invite.wait(NET_TIMEOUT), &join);
    let side = maya.grow_side("Jordan", CHANGES);
    let mut serve = ns.spawn(jordan.net_cmd(&["serve"]), None);
    eventually(NET_TIMEOUT, "`tapin serve` to listen", || {
        serve.stderr().contains("Serving as") || !serve.running()
    });
    let mut sync = maya.net_cmd(&["--json", "sync", "Jordan"]);
    sync.env("TAPIN_LOG", LOG);
    let timed = timed(ns.wrap(&sync))?;
    Ok(Sample {
        setting: Setting::Loopback,
        side_bytes: side.bytes,
        uplink: None,
        relay_bytes: None,
        direct_packets: None,
        ..timed
    })
}

/// Maya and Jordan behind two home NATs, through the relay; both uplinks impaired by `how`.
fn lab(how: Option<Impairment>) -> Result<Sample> {
    let internet = Internet::start();
    let maya = Person::new(&internet, Nat::Home, "Maya", "maya-laptop");
    let jordan = Person::new(&internet, Nat::Home, "Jordan", "jordan-phone");
    if let Some(how) = how {
        for person in [&maya, &jordan] {
            person.site.impair(how);
        }
    }
    pair(&maya, &jordan);
    let side = maya.grow_side("Jordan", CHANGES);
    let _serve = jordan.serve();
    let direct = || maya.site.direct_packets_in() + jordan.site.direct_packets_in();
    let (uplink, relay, direct_before) =
        (maya.site.uplink_bytes(), internet.relay_bytes(), direct());
    let mut sync = maya.cmd(&["--json", "sync", "Jordan"]);
    sync.env("TAPIN_LOG", LOG);
    let timed = timed(maya.site.home.wrap(&sync))?;
    let converged = jordan.replica_heads("Maya") == side.heads;
    if !converged {
        return Err("Jordan's replica is not all of Maya's side after the sync".into());
    }
    Ok(Sample {
        setting: if how.is_some() {
            Setting::Impaired
        } else {
            Setting::Relay
        },
        side_bytes: side.bytes,
        uplink: Some(maya.site.uplink_bytes() - uplink),
        relay_bytes: Some(internet.relay_bytes() - relay),
        direct_packets: Some(direct() - direct_before),
        ..timed
    })
}

/// Runs `tapin --json sync` to its end and times it; the setting and the lab's figures are
/// left for the caller.
fn timed(mut cmd: Command) -> Result<Sample> {
    let spawned = Utc::now();
    let clock = Instant::now();
    let out = cmd.output()?;
    let wall = clock.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("tapin sync failed ({}):\n{stdout}\n{stderr}", out.status).into());
    }
    let row: Value = last_json(&stdout)["friends"][0].clone();
    if row["reached"] != true {
        return Err(format!("tapin sync did not reach Jordan: {row}").into());
    }
    let event = |name: &str| -> Result<DateTime<Utc>> {
        stderr
            .lines()
            .filter(|l| l.contains(name))
            .find_map(|l| l.split_whitespace().next()?.parse().ok())
            .ok_or_else(|| format!("no {name} event in the sync's log:\n{stderr}").into())
    };
    let connecting = event("iroh::_events::conn::connecting")?;
    let connected = event("iroh::_events::conn::connected")?;
    let closed = event("iroh::_events::conn::closed")?;
    let since = |from: DateTime<Utc>, to: DateTime<Utc>| (to - from).to_std().unwrap_or_default();
    Ok(Sample {
        setting: Setting::Loopback,
        wall,
        connect: since(connecting, connected),
        exchange: since(connected, closed),
        after_close: wall.saturating_sub(since(spawned, closed)),
        path: row["path"].as_str().unwrap_or("?").to_owned(),
        sent_bytes: row["sent_bytes"].as_u64().unwrap_or_default(),
        side_bytes: 0,
        uplink: None,
        relay_bytes: None,
        direct_packets: None,
    })
}

fn median<T: Copy + Ord + Default>(mut values: Vec<T>) -> T {
    values.sort();
    values.get(values.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn report(samples: &[Sample], reps: usize, total: Duration) -> String {
    let of = |setting: Setting| -> Vec<&Sample> {
        samples.iter().filter(|s| s.setting == setting).collect()
    };
    let med = |setting: Setting, f: &dyn Fn(&Sample) -> Duration| {
        median(of(setting).into_iter().map(f).collect())
    };
    let base_connect = med(Setting::Loopback, &|s| s.connect);
    let base_exchange = med(Setting::Loopback, &|s| s.exchange);
    let base_wall = med(Setting::Loopback, &|s| s.wall);
    let ratio = |d: Duration, base: Duration| d.as_secs_f64() / base.as_secs_f64().max(1e-9);
    let side_bytes = median(samples.iter().map(|s| s.side_bytes).collect());
    let mut out = String::new();
    let _ = writeln!(
        out,
        "#### First sync of a side with {CHANGES} changes ({side_bytes} bytes stored), \
         {reps} repetitions per setting (medians)\n"
    );
    let _ = writeln!(
        out,
        "| setting | path | connect | × loopback | exchange (connected to closed) | × loopback | \
         `tapin sync`, spawn to exit | × loopback | of which after the close | frame bytes sent \
         | Maya's uplink, up / down | relay, in + out |"
    );
    let _ = writeln!(out, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    for setting in Setting::ALL {
        let these = of(setting);
        if these.is_empty() {
            continue;
        }
        let connect = med(setting, &|s| s.connect);
        let wall = med(setting, &|s| s.wall);
        let exchange = med(setting, &|s| s.exchange);
        let after = med(setting, &|s| s.after_close);
        let mut paths: Vec<&str> = these.iter().map(|s| s.path.as_str()).collect();
        paths.sort();
        paths.dedup();
        let sent = median(these.iter().map(|s| s.sent_bytes).collect());
        let uplink = these
            .iter()
            .filter_map(|s| s.uplink)
            .map(|c| (c.up, c.down))
            .collect::<Vec<_>>();
        let uplink = if uplink.is_empty() {
            "".to_owned()
        } else {
            format!(
                "{} / {}",
                median(uplink.iter().map(|u| u.0).collect()),
                median(uplink.iter().map(|u| u.1).collect())
            )
        };
        let relay: Vec<u64> = these.iter().filter_map(|s| s.relay_bytes).collect();
        let relay = if relay.is_empty() {
            "".to_owned()
        } else {
            median(relay).to_string()
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.1} | {} | {:.1} | {} | {:.1} | {} | {sent} | {uplink} | {relay} |",
            setting.label(),
            paths.join(", "),
            ms(connect),
            ratio(connect, base_connect),
            ms(exchange),
            ratio(exchange, base_exchange),
            ms(wall),
            ratio(wall, base_wall),
            ms(after),
        );
    }
    let direct: u64 = samples.iter().filter_map(|s| s.direct_packets).sum();
    let _ = writeln!(
        out,
        "\nUDP packets the routers let in from each other (a hole-punched path) during all the \
         lab's syncs: {direct}. Every sample (L loopback, R relay, I impaired), connect / exchange / \
         whole command: {}.\n\nRun: {:.0} s in all.",
        samples
            .iter()
            .map(|s| format!(
                "{} {} / {} / {}",
                match s.setting {
                    Setting::Loopback => "L",
                    Setting::Relay => "R",
                    Setting::Impaired => "I",
                },
                ms(s.connect),
                ms(s.exchange),
                ms(s.wall)
            ))
            .collect::<Vec<_>>()
            .join(", "),
        total.as_secs_f64()
    );
    out
}
