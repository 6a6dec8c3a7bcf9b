//! `tapin-test-relay`: a relay for the network lab, iroh's own relay server (the `iroh-relay`
//! crate, feature `server`) over plain HTTP, as `iroh-relay --dev` runs it: no TLS, no QUIC
//! address discovery, no metrics.
//!
//! ```text
//! tapin-test-relay [BIND_ADDR]        # default 127.0.0.1:0
//! ```
//!
//! It prints the address it listens on (`listening on 10.0.0.1:41234`) on stdout once it accepts
//! connections, and runs until its standard input closes or it is killed, so a test that dies
//! leaves no relay behind: the test holds the relay's stdin, and the kernel closes it with the
//! test process.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::ExitCode;

use iroh_relay::server::{RelayConfig, Server, ServerConfig};

fn main() -> ExitCode {
    let bind = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let bind: SocketAddr = match bind.parse() {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("tapin-test-relay: {bind:?} is not an address and port: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tapin-test-relay: cannot start a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let mut config = ServerConfig::default();
        config.relay = Some(RelayConfig::new(bind));
        let mut server = match Server::spawn(config).await {
            Ok(server) => server,
            Err(e) => {
                eprintln!("tapin-test-relay: cannot listen on {bind}: {e}");
                return ExitCode::FAILURE;
            }
        };
        let Some(addr) = server.http_addr() else {
            eprintln!("tapin-test-relay: the server has no HTTP address");
            return ExitCode::FAILURE;
        };
        let mut out = std::io::stdout().lock();
        if writeln!(out, "listening on {addr}")
            .and_then(|()| out.flush())
            .is_err()
        {
            return ExitCode::FAILURE;
        }
        drop(out);
        // The end of stdin is the signal to stop.
        let stdin_closed = tokio::task::spawn_blocking(|| {
            let mut sink = [0u8; 64];
            let mut stdin = std::io::stdin().lock();
            while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        });
        tokio::select! {
            _ = stdin_closed => {}
            _ = server.join() => {
                eprintln!("tapin-test-relay: the server stopped");
                return ExitCode::FAILURE;
            }
        }
        let _ = server.shutdown().await;
        ExitCode::SUCCESS
    })
}
