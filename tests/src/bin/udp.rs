//! `tapin-test-udp`: the network lab's UDP probe, to check what a NAT router does to a socket's
//! address (`tapin_e2e::lab::internet`).
//!
//! ```text
//! tapin-test-udp echo BIND_ADDR                 # answer each datagram with its sender's address
//! tapin-test-udp probe WAIT_MS BIND_ADDR TARGET...  # one datagram to each target, print each answer
//! ```
//!
//! `echo` prints `listening on ADDR` once bound, then runs until its standard input closes or it
//! is killed. `probe` sends from one socket to each target in turn and prints one line per target:
//! the address the target saw, or `none` when no answer came within WAIT_MS milliseconds.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{Read, Write};
use std::net::{SocketAddr, UdpSocket};
use std::process::ExitCode;
use std::time::Duration;

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
        Some((mode, rest)) if mode == "probe" && rest.len() >= 3 => rest[0]
            .parse()
            .map_err(|e| format!("{:?} is not a number of milliseconds: {e}", rest[0]))
            .and_then(|ms| {
                let all = addrs(&rest[1..])?;
                probe(Duration::from_millis(ms), all[0], &all[1..])
            }),
        _ => Err("usage: tapin-test-udp echo BIND | probe WAIT_MS BIND TARGET...".to_owned()),
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
        let (_, from) = socket.recv_from(&mut buf).map_err(|e| e.to_string())?;
        let _ = socket.send_to(from.to_string().as_bytes(), from);
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
                    break String::from_utf8_lossy(&buf[..n]).into_owned();
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
