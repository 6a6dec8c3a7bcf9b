//! `tapin-test-udp`: the network lab's UDP probe, to check what a NAT router does to a socket's
//! address, and what an impaired link does to round trips (`tapin_e2e::lab::internet`).
//!
//! ```text
//! tapin-test-udp echo BIND_ADDR                 # answer each datagram with its sender's address
//! tapin-test-udp probe WAIT_MS BIND_ADDR TARGET...  # one datagram to each target, print each answer
//! tapin-test-udp rtt COUNT GAP_US WAIT_MS BIND_ADDR TARGET  # COUNT numbered datagrams, timed
//! ```
//!
//! `echo` prints `listening on ADDR` once bound, then runs until its standard input closes or it
//! is killed. It answers with the sender's address (followed by a newline and the datagram,
//! for `rtt`'s numbered datagrams).
//! `probe` sends from one socket to each target in turn and prints one line per target:
//! the address the target saw, or `none` when no answer came within WAIT_MS milliseconds.
//! `rtt` sends COUNT datagrams to an echo, GAP_US microseconds apart, and listens until every
//! one is answered or WAIT_MS milliseconds have passed since the last was sent; it prints
//! `sent COUNT answered N` and then each answered datagram's round trip in microseconds, in
//! the order sent, one per line.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{Read, Write};
use std::net::{SocketAddr, UdpSocket};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let addrs = |from: &[String]| -> Result<Vec<SocketAddr>, String> {
        from.iter()
            .map(|a| {
                a.parse()
                    .map_err(|e| format!("{a:?} is not an address: {e}"))
            })
            .collect()
    };
    let result = match args.split_first() {
        Some((mode, rest)) if mode == "echo" && rest.len() == 1 => {
            addrs(rest).and_then(|bind| echo(bind[0]))
        }
        Some((mode, rest)) if mode == "rtt" && rest.len() == 5 => {
            let number = |i: usize, what: &str| -> Result<u64, String> {
                rest[i]
                    .parse()
                    .map_err(|e| format!("{:?} is not {what}: {e}", rest[i]))
            };
            (|| {
                let count = number(0, "a count")?;
                let gap = Duration::from_micros(number(1, "a number of microseconds")?);
                let wait = Duration::from_millis(number(2, "a number of milliseconds")?);
                let all = addrs(&rest[3..])?;
                rtt(count, gap, wait, all[0], all[1])
            })()
        }
        Some((mode, rest)) if mode == "probe" && rest.len() >= 3 => rest[0]
            .parse()
            .map_err(|e| format!("{:?} is not a number of milliseconds: {e}", rest[0]))
            .and_then(|ms| {
                let all = addrs(&rest[1..])?;
                probe(Duration::from_millis(ms), all[0], &all[1..])
            }),
        _ => Err(
            "usage: tapin-test-udp echo BIND | probe WAIT_MS BIND TARGET... \
             | rtt COUNT GAP_US WAIT_MS BIND TARGET"
                .to_owned(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tapin-test-udp: {e}");
            ExitCode::FAILURE
        }
    }
}

fn echo(bind: SocketAddr) -> Result<(), String> {
    let socket = UdpSocket::bind(bind).map_err(|e| format!("cannot bind {bind}: {e}"))?;
    let local = socket.local_addr().map_err(|e| e.to_string())?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on {local}")
        .and_then(|()| out.flush())
        .map_err(|e| e.to_string())?;
    drop(out);
    // The end of stdin is the signal to stop: the echo cannot outlive the test that started it.
    std::thread::spawn(|| {
        let mut sink = [0u8; 64];
        let mut stdin = std::io::stdin().lock();
        while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        std::process::exit(0);
    });
    let mut buf = [0u8; 1500];
    loop {
        let (n, from) = socket.recv_from(&mut buf).map_err(|e| e.to_string())?;
        let mut answer = from.to_string().into_bytes();
        // A numbered datagram of `rtt` gets its number back; `probe`'s gets the address alone,
        // which is what a `probe` built before `rtt` existed reads.
        if buf[..n].starts_with(b"seq ") {
            answer.push(b'\n');
            answer.extend_from_slice(&buf[..n]);
        }
        let _ = socket.send_to(&answer, from);
    }
}

fn probe(wait: Duration, bind: SocketAddr, targets: &[SocketAddr]) -> Result<(), String> {
    let socket = UdpSocket::bind(bind).map_err(|e| format!("cannot bind {bind}: {e}"))?;
    socket
        .set_read_timeout(Some(wait))
        .map_err(|e| e.to_string())?;
    let mut out = std::io::stdout().lock();
    let mut buf = [0u8; 1500];
    for target in targets {
        socket
            .send_to(b"probe", target)
            .map_err(|e| format!("cannot send to {target}: {e}"))?;
        let seen = loop {
            match socket.recv_from(&mut buf) {
                Ok((n, from)) if from == *target => {
                    // The echo's first line: the address it saw.
                    let answer = String::from_utf8_lossy(&buf[..n]);
                    break answer.lines().next().unwrap_or_default().to_owned();
                }
                // A stray datagram from elsewhere: not this target's answer.
                Ok(_) => continue,
                Err(_) => break "none".to_owned(),
            }
        };
        writeln!(out, "{seen}").map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())
}

fn rtt(
    count: u64,
    gap: Duration,
    wait: Duration,
    bind: SocketAddr,
    target: SocketAddr,
) -> Result<(), String> {
    let socket = UdpSocket::bind(bind).map_err(|e| format!("cannot bind {bind}: {e}"))?;
    // Short reads, so the listener notices when to stop.
    socket
        .set_read_timeout(Some(Duration::from_millis(10)))
        .map_err(|e| e.to_string())?;
    let listener = socket.try_clone().map_err(|e| e.to_string())?;
    let count = usize::try_from(count).map_err(|e| e.to_string())?;
    let sent: Arc<Mutex<Vec<Option<Instant>>>> = Arc::new(Mutex::new(vec![None; count]));
    let last_sent: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    let listen = {
        let (sent, last_sent) = (sent.clone(), last_sent.clone());
        std::thread::spawn(move || {
            let mut rtts: Vec<Option<Duration>> = vec![None; count];
            let mut answered = 0;
            let mut buf = [0u8; 1500];
            while answered < count {
                let done = last_sent
                    .lock()
                    .map_or(true, |l| l.is_some_and(|l| l.elapsed() >= wait));
                if done {
                    break;
                }
                let Ok((n, from)) = listener.recv_from(&mut buf) else {
                    continue;
                };
                let arrived = Instant::now();
                // The echo's answer: the address it saw, then our datagram, `seq N`.
                let seq = String::from_utf8_lossy(&buf[..n])
                    .lines()
                    .nth(1)
                    .and_then(|l| l.strip_prefix("seq ")?.parse::<usize>().ok());
                let (Some(seq), true) = (seq, from == target) else {
                    continue;
                };
                let at = sent.lock().ok().and_then(|s| s.get(seq).copied().flatten());
                if let (Some(at), Some(slot @ None)) = (at, rtts.get_mut(seq)) {
                    *slot = Some(arrived - at);
                    answered += 1;
                }
            }
            rtts
        })
    };
    let start = Instant::now();
    for seq in 0..count {
        // Paced against the start, so a late wake-up does not push every later datagram back.
        let due = start + gap * u32::try_from(seq).unwrap_or(u32::MAX);
        if let Some(ahead) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(ahead);
        }
        if let Ok(mut sent) = sent.lock() {
            sent[seq] = Some(Instant::now());
        }
        socket
            .send_to(format!("seq {seq}").as_bytes(), target)
            .map_err(|e| format!("cannot send to {target}: {e}"))?;
    }
    if let Ok(mut last) = last_sent.lock() {
        *last = Some(Instant::now());
    }
    let rtts = listen
        .join()
        .map_err(|_| "the listening thread panicked".to_owned())?;
    let mut out = std::io::stdout().lock();
    let answered = rtts.iter().flatten().count();
    writeln!(out, "sent {count} answered {answered}").map_err(|e| e.to_string())?;
    for rtt in rtts.iter().flatten() {
        writeln!(out, "{}", rtt.as_micros()).map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())
}
