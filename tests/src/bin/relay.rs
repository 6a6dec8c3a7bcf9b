//! `tapin-test-relay`: a relay for the network lab, iroh's own relay server (the `iroh-relay`
//! crate, feature `server`) over plain HTTP, as `iroh-relay --dev` runs it: no TLS, no metrics.
//! With `--qad`, it also serves QUIC address discovery, which tells each endpoint the public
//! address its NAT gave it: what hole punching needs, and what a self-hosted relay offers on
//! UDP 7842.
//!
//! ```text
//! tapin-test-relay [BIND_ADDR] [--qad HOST CERT_PEM]   # default 127.0.0.1:0
//! ```
//!
//! QUIC needs TLS, so `--qad` makes a self-signed certificate for `HOST` (the address in the
//! relay's URL, which iroh checks the certificate against) and writes it to `CERT_PEM`, for the
//! homes to trust (`TAPIN_RELAY_CA`). It listens on `BIND_ADDR`'s address, port 7842.
//!
//! It prints the address it listens on (`listening on 10.0.0.1:41234`) on stdout once it accepts
//! connections, and runs until its standard input closes or it is killed, so a test that dies
//! leaves no relay behind: the test holds the relay's stdin, and the kernel closes it with the
//! test process.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use iroh_relay::defaults::DEFAULT_RELAY_QUIC_PORT;
use iroh_relay::server::{QuicConfig, RelayConfig, Server, ServerConfig};

/// Where to serve QUIC address discovery, and for which host name.
struct Qad {
    host: String,
    cert_out: PathBuf,
}

/// The command line: `[BIND_ADDR] [--qad HOST CERT_PEM]`.
fn parse(mut args: impl Iterator<Item = String>) -> Result<(SocketAddr, Option<Qad>), String> {
    let mut bind = None;
    let mut qad = None;
    while let Some(arg) = args.next() {
        if arg == "--qad" {
            let (Some(host), Some(cert_out)) = (args.next(), args.next()) else {
                return Err("--qad takes a host and a file to write the certificate to".into());
            };
            qad = Some(Qad {
                host,
                cert_out: cert_out.into(),
            });
        } else if bind.is_none() {
            bind = Some(
                arg.parse()
                    .map_err(|e| format!("{arg:?} is not an address and port: {e}"))?,
            );
        } else {
            return Err(format!("unexpected argument {arg:?}"));
        }
    }
    Ok((
        bind.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0))),
        qad,
    ))
}

/// QUIC address discovery on `bind`'s address with a new self-signed certificate for
/// `qad.host`, written to `qad.cert_out` as PEM.
fn quic_config(bind: SocketAddr, qad: &Qad) -> Result<QuicConfig, String> {
    let cert = rcgen::generate_simple_self_signed(vec![qad.host.clone()])
        .map_err(|e| format!("cannot make a certificate for {}: {e}", qad.host))?;
    std::fs::write(&qad.cert_out, cert.cert.pem())
        .map_err(|e| format!("cannot write {}: {e}", qad.cert_out.display()))?;
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
    let server_config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])
    .map_err(|e| format!("TLS 1.3 is not available: {e}"))?
    .with_no_client_auth()
    .with_single_cert(vec![cert.cert.der().clone()], key)
    .map_err(|e| format!("the certificate is not usable: {e}"))?;
    let mut quic = QuicConfig::new(SocketAddr::new(bind.ip(), DEFAULT_RELAY_QUIC_PORT));
    quic.server_config = Some(server_config);
    Ok(quic)
}

fn main() -> ExitCode {
    let (bind, qad) = match parse(std::env::args().skip(1)) {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("tapin-test-relay: {e}");
            return ExitCode::from(2);
        }
    };
    let quic = match qad.as_ref().map(|qad| quic_config(bind, qad)).transpose() {
        Ok(quic) => quic,
        Err(e) => {
            eprintln!("tapin-test-relay: {e}");
            return ExitCode::FAILURE;
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
        config.quic = quic;
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
