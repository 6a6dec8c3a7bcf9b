//! `tapin`: the command-line app. Arguments, configuration and output live here; every piece of
//! domain logic is in `tapin-core`, every byte on disk goes through `tapin-store`.
#![allow(clippy::print_stdout)]

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use tapin_app::{Clock, Home, NetSettings, NewHome};

mod args;
mod commands;
mod editor;
mod output;

use args::{Cli, Command};

/// Exit codes, documented in the README.
mod exit {
    /// A command failed: bad input, a missing person, a damaged store.
    pub(crate) const FAILURE: u8 = 1;
    /// The command line itself was wrong (clap's convention).
    pub(crate) const USAGE: u8 = 2;
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TAPIN_LOG")
                // By default only tapin's own warnings: what a person can act on, in tapin's
                // words. Libraries log their internals (iroh an ERROR whenever a relayed
                // connection closes, noq a WARN when a peer vanishes, automerge an ERROR when the
                // store test-loads a chunk of changes on its own), and tapin reports what matters
                // of them itself. `TAPIN_LOG` turns any of it on. A directive's target matches
                // by prefix, so `tapin` covers every tapin crate.
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off,tapin=warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .init();

    // automerge panics on some crafted input; the engine catches those panics at the boundary
    // (`tapin_app::core::saved::guard`) and reports them as errors, so their messages stay out of the
    // person's terminal. Any other panic is a bug, and says so as usual.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if tapin_app::core::saved::guarded() {
            tracing::debug!("automerge panicked on untrusted input; refused it: {info}");
        } else {
            default_hook(info);
        }
    }));

    // Known before parsing, so that a command line clap refuses is answered in JSON too.
    let json = std::env::args_os()
        .take_while(|a| a != "--")
        .any(|a| a == "--json");
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) if err.use_stderr() && json => {
            // clap's message is "error: WHAT", then usage and a hint: the first line says it.
            let rendered = err.render().to_string();
            let first = rendered.lines().next().unwrap_or_default();
            let message = first.strip_prefix("error: ").unwrap_or(first);
            json_error(message, "usage");
            return ExitCode::from(exit::USAGE);
        }
        Err(err) => {
            let code = if err.use_stderr() { exit::USAGE } else { 0 };
            // Printing help to a closed pipe is not an error worth reporting.
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) if json => {
            json_error(&format!("{err:#}"), kind(&err));
            ExitCode::from(exit_code(&err))
        }
        Err(err) => {
            let mut stderr = anstream::stderr();
            let _ = std::io::Write::write_fmt(
                &mut stderr,
                format_args!("{}: {err:#}\n", output::paint(output::BAD.bold(), "error")),
            );
            ExitCode::from(exit_code(&err))
        }
    }
}

/// A failure under `--json`: one JSON object on stderr, `{"error": MESSAGE, "kind": KIND}`, so a
/// script reads it as it reads results; stdout stays empty.
fn json_error(message: &str, kind: &str) {
    let value = serde_json::json!({ "error": message, "kind": kind });
    let _ = std::io::Write::write_fmt(&mut std::io::stderr().lock(), format_args!("{value}\n"));
}

/// The engine's word for what went wrong ([`tapin_app::Error::kind`]), "failed" for a failure
/// outside the engine (reading a file the person named, a terminal).
fn kind(err: &anyhow::Error) -> &'static str {
    err.chain()
        .find_map(|cause| cause.downcast_ref::<tapin_app::Error>())
        .map_or("failed", tapin_app::Error::kind)
}

/// Exit 2 when the command itself was malformed (a value that cannot be read), 1 when it was
/// understood but failed.
fn exit_code(err: &anyhow::Error) -> u8 {
    let usage = err.chain().any(|cause| {
        cause
            .downcast_ref::<tapin_app::Error>()
            .is_some_and(tapin_app::Error::is_usage)
    });
    if usage { exit::USAGE } else { exit::FAILURE }
}

/// A reader that closed the pipe (`tapin journal list | head -1`) is not a failure.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            || cause
                .downcast_ref::<serde_json::Error>()
                .and_then(|e| e.io_error_kind())
                .is_some_and(|k| k == std::io::ErrorKind::BrokenPipe)
    })
}

/// The default home: the platform's data directory (XDG on Linux), then `tapin`.
fn default_home() -> Result<std::path::PathBuf> {
    use etcetera::BaseStrategy;
    let base = etcetera::choose_base_strategy()
        .context("could not find your home directory; pass --home DIR or set TAPIN_HOME")?;
    Ok(base.data_dir().join("tapin"))
}

/// The clock: real time, or `TAPIN_NOW` (RFC 3339) for tests and demos.
fn clock() -> Result<Clock> {
    match std::env::var("TAPIN_NOW") {
        Ok(s) => chrono::DateTime::parse_from_rfc3339(&s)
            .map(|t| Clock::Fixed(t.with_timezone(&chrono::Utc)))
            .with_context(|| {
                format!("TAPIN_NOW={s:?} is not an RFC 3339 time like 2026-11-22T09:00:00Z")
            }),
        Err(_) => Ok(Clock::System),
    }
}

fn run(cli: Cli) -> Result<()> {
    let home = match cli.home.clone() {
        Some(home) => home,
        None => default_home()?,
    };
    let json = cli.json;
    match cli.command {
        Command::Init {
            name,
            device,
            port,
            bind,
            relay,
            mdns,
            no_mdns,
        } => {
            let net = NetSettings {
                port,
                bind,
                relay,
                mdns: if no_mdns {
                    tapin_app::Mdns::Off
                } else {
                    mdns.into()
                },
            };
            let device = device.unwrap_or_else(tapin_app::words::default_device_name);
            let new = NewHome { name, device, net };
            commands::identity::init(&home, &new, clock()?, json)
        }
        Command::Completions { shell } => {
            // clap_complete panics when its writer fails (a closed pipe, `| head -1`): write the
            // script into memory first, then out like any output, where a closed pipe is no error.
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut cmd, "tapin", &mut script);
            std::io::Write::write_all(&mut std::io::stdout().lock(), &script)?;
            Ok(())
        }
        Command::Demo { keep } => commands::demo::run(keep, json),
        command => {
            let home = Home::open(&home, clock()?)?;
            for notice in home.notices() {
                output::note(notice)?;
            }
            commands::dispatch(home, command, json)
        }
    }
}
