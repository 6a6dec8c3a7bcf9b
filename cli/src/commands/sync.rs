//! `tapin sync` and `tapin serve`.

use std::io::Write;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use tapin_net::endpoint::{self, Advertise, Gate, Holds};
use tapin_net::gate::HomeGate;
use tapin_net::node::{self, Event, Local, Options, Pairing, Unsynced};
use tapin_store::Store;

use crate::app::{App, find_person};
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
pub(crate) fn sync(app: &App, person: Option<&str>, net: &NetArgs, json: bool) -> Result<()> {
    let mut links =
        tapin_net::sync::links(&app.store).context("could not read who you are paired with")?;
    if let Some(p) = person {
        let private = app.private()?;
        let (id, rel) = find_person(&private, p)?;
        if !rel.is_paired() {
            bail!(
                "{} is not paired; pair first with `tapin invite` / `tapin join`",
                rel.name
            );
        }
        links.retain(|l| l.rel == id);
    }
    if links.is_empty() {
        if json {
            return output::json(&serde_json::json!({ "friends": [] }));
        }
        writeln!(
            output::stdout(),
            "No paired friends yet. Pair with `tapin invite` / `tapin join`."
        )?;
        return Ok(());
    }
    let config = app.net_config(net)?;
    let results = block_on(async {
        let gate = Arc::new(HomeGate::new(Store::open(&app.home)?));
        // The home's port if it is free (no `tapin serve` running), so friends may be told it;
        // otherwise any port. It serves nothing: a friend's node dialling it hears that nothing
        // here serves sync, and dials again later.
        let (ep, holds) =
            endpoint::bind_home(app.device.secret(), &config, gate as Arc<dyn Gate>, vec![])
                .await
                .context("could not start the network")?;
        // Friends are told only addresses this command is bound to, and only the home's port:
        // another port is gone a moment later, so they keep what they know (the server's).
        let local = Local {
            name: app.name.clone(),
            relay: config.relay.clone(),
            advertise: match holds {
                Holds::HomePort => Advertise::Bound,
                Holds::OtherPort | Holds::AnyPort => Advertise::Nothing,
            },
        };
        // Progress on stderr, only on a terminal: a first sync can move a whole history.
        let spinner = std::io::IsTerminal::is_terminal(&std::io::stderr()).then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_message(format!("syncing with {} friend(s)…", links.len()));
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        let results = node::sync_once(
            &ep,
            &app.home,
            &app.device,
            &local,
            &links,
            &config.timeouts,
        )
        .await;
        if let Some(bar) = spinner {
            bar.finish_and_clear();
        }
        ep.close().await;
        Ok(results)
    })?;
    let mut rows = Vec::new();
    let mut out = output::stdout();
    for (link, result) in &results {
        match result {
            Ok(stats) => {
                rows.push(serde_json::json!({
                    "name": link.name, "relationship": link.rel.to_string(), "reached": true,
                    "sent_bytes": stats.sent_bytes, "received_bytes": stats.received_bytes,
                    "received_changes": stats.received_changes, "rounds": stats.rounds,
                }));
                if !json {
                    writeln!(
                        out,
                        "{} {}: sent {}, received {} ({} new change{})",
                        paint(GOOD, "✓"),
                        paint(BOLD, &link.name),
                        size(stats.sent_bytes),
                        size(stats.received_bytes),
                        stats.received_changes,
                        if stats.received_changes == 1 { "" } else { "s" }
                    )?;
                }
            }
            Err(why) => {
                // The reason and its causes, as `{err:#}` prints them.
                let said = format!("{:#}", anyhow::Error::new(why.clone()));
                rows.push(serde_json::json!({
                    "name": link.name, "relationship": link.rel.to_string(), "reached": false,
                    "error": said, "reason": reason(why),
                }));
                if !json && why.is_version() {
                    writeln!(out, "{} {said}", paint(WARN, "·"))?;
                } else if !json {
                    writeln!(
                        out,
                        "{} {}: {said}",
                        paint(WARN, "·"),
                        paint(BOLD, &link.name)
                    )?;
                }
            }
        }
    }
    if json {
        output::json(&serde_json::json!({ "friends": rows }))?;
    }
    if person.is_some()
        && let [(link, Err(why))] = &results[..]
    {
        if why.is_version() {
            bail!("{why}");
        }
        return Err(
            anyhow::Error::new(why.clone()).context(format!("could not sync with {}", link.name))
        );
    }
    Ok(())
}

/// The `--json` name of why a friend was not synced with.
fn reason(why: &Unsynced) -> &'static str {
    match why {
        Unsynced::TheirsOlder { .. } => "their-tapin-is-older",
        Unsynced::TheirsNewer { .. } => "their-tapin-is-newer",
        Unsynced::RelayOff { .. } => "relay-off",
        Unsynced::NotServing => "not-serving",
        Unsynced::Unreachable { .. } => "unreachable",
        Unsynced::Failed(_) => "failed",
    }
}

/// `tapin serve`.
pub(crate) fn serve(app: &App, net: &NetArgs) -> Result<()> {
    let config = app.net_config(net)?;
    block_on(async {
        let gate = Arc::new(HomeGate::new(Store::open(&app.home)?));
        // Every protocol the node serves, from the start: a friend who dials as soon as this
        // says it is serving finds them.
        let alpns = tapin_net::SYNC_ALPNS
            .iter()
            .chain(&tapin_net::PAIR_ALPNS)
            .map(|a| a.to_vec())
            .collect();
        let ep = endpoint::bind(
            app.device.secret(),
            &config,
            gate.clone() as Arc<dyn Gate>,
            alpns,
        )
        .await
        .context("could not start listening")?;
        let addrs: Vec<String> = endpoint::direct_addrs(&ep)
            .iter()
            .map(ToString::to_string)
            .collect();
        output::note(format!(
            "Serving as {} on {}. Ctrl-C to stop.",
            app.name,
            addrs.join(", ")
        ))?;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let reporter = tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                let line = match event {
                    Event::Connected { name, .. } => format!("{name}: connected"),
                    Event::Synced { name, stats, .. }
                        if stats.received_changes > 0 || stats.sent_bytes > 2048 =>
                    {
                        format!(
                            "{name}: synced (sent {}, received {}, {} new changes)",
                            size(stats.sent_bytes),
                            size(stats.received_bytes),
                            stats.received_changes
                        )
                    }
                    Event::Synced { .. } => continue,
                    Event::Disconnected { name, reason } => {
                        format!("{name}: disconnected ({reason})")
                    }
                    Event::Version(why) => why.to_string(),
                };
                let _ = output::note(line);
            }
        });
        let local = Local {
            name: app.name.clone(),
            relay: config.relay.clone(),
            advertise: Advertise::Bound,
        };
        // The node also answers joiners for an invitation opened in this process (none, from the
        // command line: `tapin invite` runs in a process of its own).
        let options = Options {
            events: Some(tx),
            pairing: Some(Pairing {
                invitations: gate.invitations().clone(),
                cert: app.cert.clone(),
            }),
            ..Options::serve(local, config.timeouts)
        };
        node::run(
            ep,
            &app.home,
            app.device.clone(),
            options,
            shutdown_signal(),
        )
        .await
        .context("could not start serving")?;
        reporter.abort();
        output::note("Stopped.")?;
        Ok(())
    })
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
