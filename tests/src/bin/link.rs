//! `tapin-test-link`: the network lab's impaired link, in user space. It opens a TUN device
//! (layer 3, no packet-information header) and writes every packet it reads back into the same
//! device after a delay, dropping a share of them, so a namespace that routes a link's packets
//! through the device (`tapin_e2e::lab::internet`, the wire of each site) sees that link delayed
//! and lossy.
//!
//! ```text
//! tapin-test-link DEVICE     # e.g. tun0, made in the namespace it runs in
//! ```
//!
//! It prints `ready DEVICE` on stdout once the device is up, then reads commands on stdin, one
//! per line, and answers each with one line on stdout:
//!
//! ```text
//! set DELAY_MICROS LOSS_PER_10000   → set        (every packet read from now on)
//! stats                             → stats FORWARDED LOST OVERFLOWED
//! ```
//!
//! It ends when its standard input closes: the test holds it, so a test that dies leaves no link
//! behind (as `tapin-test-relay` and `tapin-test-udp` do).
//!
//! Why here and not in the kernel: `tc … netem` would do it, but some kernels (this project's
//! reference VM among them) are built without `sch_netem`, and have no NFQUEUE either; a TUN
//! device is in every kernel that runs the lab. The device comes from the `tun-rs` crate (the
//! `TUNSETIFF` ioctl, with its `unsafe`, lives there: the workspace forbids `unsafe` code).
//!
//! The queue is bounded, as a router's is: a packet that finds [`QUEUE_PACKETS`] packets
//! waiting is dropped (and counted as overflowed), so the link never holds more than about
//! 1.5 MB whatever is sent into it. One queue serves both directions, first in first out; a
//! packet leaves at its arrival plus the delay in force when it arrived, or after the packet
//! before it if a delay was shortened meanwhile (a link does not reorder).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::VecDeque;
use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tun_rs::{DeviceBuilder, SyncDevice};

/// The most packets the link holds at once; beyond it, a packet is dropped. At the lab's
/// 1500-byte MTU that is 1.5 MB: a 75 ms delay still carries 20 MB/s before it overflows.
const QUEUE_PACKETS: usize = 1000;

/// The largest packet read: the device's MTU is the lab's 1500, this leaves room to spare.
const PACKET_MAX: usize = 65_536;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(name), None) = (args.next(), args.next()) else {
        eprintln!("usage: tapin-test-link DEVICE");
        return ExitCode::from(2);
    };
    match run(&name) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tapin-test-link: {e}");
            ExitCode::FAILURE
        }
    }
}

/// What the link does to each packet, and what it has done.
#[derive(Debug)]
struct State {
    /// Packets waiting, with the instant each may leave.
    queue: VecDeque<(Instant, Vec<u8>)>,
    delay: Duration,
    /// Out of 10,000 packets, how many to drop.
    loss_per_10k: u32,
    rng: SplitMix,
    forwarded: u64,
    lost: u64,
    overflowed: u64,
}

/// The state, and the signal that the queue's head changed.
type Shared = Arc<(Mutex<State>, Condvar)>;

fn run(name: &str) -> Result<(), String> {
    let device = DeviceBuilder::new()
        .name(name)
        .mtu(1500)
        .enable(true)
        .build_sync()
        .map_err(|e| format!("cannot open the TUN device {name}: {e}"))?;
    let device = Arc::new(device);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
        ^ u64::from(std::process::id());
    let shared: Shared = Arc::new((
        Mutex::new(State {
            queue: VecDeque::with_capacity(QUEUE_PACKETS),
            delay: Duration::ZERO,
            loss_per_10k: 0,
            rng: SplitMix(seed),
            forwarded: 0,
            lost: 0,
            overflowed: 0,
        }),
        Condvar::new(),
    ));
    {
        let (device, shared) = (device.clone(), shared.clone());
        std::thread::spawn(move || fail_on(read_packets(&device, &shared)));
    }
    {
        let (device, shared) = (device.clone(), shared.clone());
        std::thread::spawn(move || fail_on(write_packets(&device, &shared)));
    }
    let mut out = std::io::stdout().lock();
    let say = |out: &mut std::io::StdoutLock<'_>, line: &str| {
        writeln!(out, "{line}")
            .and_then(|()| out.flush())
            .map_err(|e| format!("cannot write to stdout: {e}"))
    };
    say(&mut out, &format!("ready {name}"))?;
    // The end of stdin is the signal to stop; each line is a command.
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(|e| format!("cannot read stdin: {e}"))?;
        let words: Vec<&str> = line.split_whitespace().collect();
        let mut state = shared.0.lock().unwrap_or_else(PoisonError::into_inner);
        match words.as_slice() {
            ["set", delay, loss] => {
                let delay: u64 = delay
                    .parse()
                    .map_err(|e| format!("{delay:?} is not a delay in microseconds: {e}"))?;
                let loss: u32 = loss
                    .parse()
                    .ok()
                    .filter(|l| *l <= 10_000)
                    .ok_or_else(|| format!("{loss:?} is not a loss out of 10000"))?;
                state.delay = Duration::from_micros(delay);
                state.loss_per_10k = loss;
                drop(state);
                say(&mut out, "set")?;
            }
            ["stats"] => {
                let stats = format!(
                    "stats {} {} {}",
                    state.forwarded, state.lost, state.overflowed
                );
                drop(state);
                say(&mut out, &stats)?;
            }
            _ => return Err(format!("unknown command {line:?}")),
        }
    }
    Ok(())
}

/// Ends the process when a packet thread fails: a link that stopped carrying must not look
/// alive to the test.
fn fail_on(result: Result<(), String>) {
    if let Err(e) = result {
        eprintln!("tapin-test-link: {e}");
        std::process::exit(1);
    }
}

/// Reads each packet the kernel routes into the device, and queues it or drops it.
fn read_packets(device: &SyncDevice, shared: &Shared) -> Result<(), String> {
    let mut buf = vec![0u8; PACKET_MAX];
    loop {
        let n = device
            .recv(&mut buf)
            .map_err(|e| format!("cannot read from the TUN device: {e}"))?;
        let arrived = Instant::now();
        let (lock, wake) = &**shared;
        let mut state = lock.lock().unwrap_or_else(PoisonError::into_inner);
        let draw = (state.rng.next() % 10_000) as u32;
        if draw < state.loss_per_10k {
            state.lost += 1;
        } else if state.queue.len() >= QUEUE_PACKETS {
            state.overflowed += 1;
        } else {
            let leaves = arrived + state.delay;
            let was_empty = state.queue.is_empty();
            state.queue.push_back((leaves, buf[..n].to_vec()));
            if was_empty {
                wake.notify_one();
            }
        }
    }
}

/// Writes each queued packet back into the device when its time comes: the kernel then routes
/// it on as if it had just arrived on the device.
fn write_packets(device: &SyncDevice, shared: &Shared) -> Result<(), String> {
    let (lock, wake) = &**shared;
    let mut state = lock.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        let now = Instant::now();
        match state.queue.front() {
            None => {
                state = wake.wait(state).unwrap_or_else(PoisonError::into_inner);
            }
            Some((leaves, _)) if *leaves > now => {
                let wait = *leaves - now;
                state = wake
                    .wait_timeout(state, wait)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
            Some(_) => {
                let Some((_, packet)) = state.queue.pop_front() else {
                    continue;
                };
                state.forwarded += 1;
                // Not under the lock: the reader keeps queueing while this one writes.
                drop(state);
                device
                    .send(&packet)
                    .map_err(|e| format!("cannot write to the TUN device: {e}"))?;
                state = lock.lock().unwrap_or_else(PoisonError::into_inner);
            }
        }
    }
}

/// A small, fast generator for the loss draws (SplitMix64): the draws need to be uniform, not
/// unpredictable.
#[derive(Debug)]
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}
