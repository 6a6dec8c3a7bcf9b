//! `tapin sync` and `tapin serve`.

use std::io::Write;
use std::sync::Arc;

use anyhow::{Result, bail};
use tapin_app::Home;
use tapin_app::syncing::{Moved, NodeEvent, Path};

use crate::args::NetArgs;
use crate::commands::pair::block_on;
use crate::output::{self, BOLD, GOOD, WARN, paint};

fn size(bytes: u64) -> String {
    if bytes < 1024 {
        format!("{bytes} B")
    } else if bytes < 1024 * 1024 {
        format!("{:.1} KB", bytes as f64 / 1024.0)
    } else {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    }
}

/// `tapin sync [PERSON]`.
pub(crate) fn sync(home: Home, person: Option<&str>, net: &NetArgs, json: bool) -> Result<()> {
    let home = Arc::new(home);
    let synced = block_on(async {
        // Progress on stderr, only on a terminal: a first sync can move a whole history.
        let spinner = std::io::IsTerminal::is_terminal(&std::io::stderr()).then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_message("syncing…");
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        let synced = home.sync_once(person, &net.overrides()).await;
        if let Some(bar) = spinner {
            bar.finish_and_clear();
        }
        Ok(synced?)
    })?;
    if json {
        output::json(&synced)?;
    } else if synced.friends.is_empty() {
        writeln!(
            output::stdout(),
            "No one is paired with you now. Pair with `tapin invite` / `tapin join`."
        )?;
    }
    let mut out = output::stdout();
    for friend in synced.friends.iter().filter(|_| !json) {
        let name = paint(BOLD, &friend.name);
        match (&friend.moved, &friend.error) {
            (Some(m), _) => writeln!(
                out,
                "{} {name}: sent {}, received {} ({} new change{}){}",
                paint(GOOD, "✓"),
                size(m.sent_bytes),
                size(m.received_bytes),
                m.received_changes,
                if m.received_changes == 1 { "" } else { "s" },
                path_words(m.path)
            )?,
            // These name the friend themselves.
            (None, Some(why)) if friend.version || friend.reason == Some("pairing-ended") => {
                writeln!(out, "{} {why}", paint(WARN, "·"))?;
            }
            (None, why) => writeln!(
                out,
                "{} {name}: {}",
                paint(WARN, "·"),
                why.as_deref().unwrap_or("not synced")
            )?,
        }
    }
    if person.is_some()
        && let [friend] = &synced.friends[..]
        && let Some(why) = &friend.error
    {
        if friend.version || friend.reason == Some("pairing-ended") {
            bail!("{why}");
        }
        bail!("could not sync with {}: {why}", friend.name);
    }
    Ok(())
}

/// `tapin serve`.
pub(crate) fn serve(home: Home, net: &NetArgs) -> Result<()> {
    let home = Arc::new(home);
    block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let reporter = tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                let line = match event {
                    NodeEvent::Connected { name } => format!("{name}: connected"),
                    NodeEvent::Synced { name, moved }
                        if moved.received_changes > 0 || moved.sent_bytes > 2048 =>
                    {
                        synced_line(&name, moved)
                    }
                    NodeEvent::Synced { .. } => continue,
                    NodeEvent::Disconnected { name, reason } => {
                        format!("{name}: disconnected ({reason})")
                    }
                    NodeEvent::Version(why) | NodeEvent::Ended(why) => why,
                };
                let _ = output::note(line);
            }
        });
        let name = home.name().to_owned();
        let started = |addrs: Vec<String>| {
            let _ = output::note(format!(
                "Serving as {name} on {}. Ctrl-C to stop.",
                addrs.join(", ")
            ));
        };
        home.serve(&net.overrides(), started, tx, shutdown_signal())
            .await?;
        reporter.abort();
        output::note("Stopped.")?;
        Ok(())
    })
}

fn synced_line(name: &str, m: Moved) -> String {
    format!(
        "{name}: synced (sent {}, received {}, {} new change{}){}",
        size(m.sent_bytes),
        size(m.received_bytes),
        m.received_changes,
        if m.received_changes == 1 { "" } else { "s" },
        path_words(m.path)
    )
}

/// How an exchange reached the friend, said after its figures: nothing when direct (what a
/// person expects), a note when only a relay carried it.
fn path_words(path: Option<Path>) -> &'static str {
    match path {
        Some(Path::Relay) => ", through a relay (no direct path to them now)",
        Some(Path::Direct) | None => "",
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
