//! `tapin invite`, `tapin join` and `tapin unpair`: pairing two people's devices.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tapin_core::DocId;
use tapin_core::docs;
use tapin_core::identity::DeviceCertificate;
use tapin_core::model::{Peer, PeerDevice, Relationship, RelationshipStatus, Risk};
use tapin_core::pairing::{Invitation, InviteId, PairedDevice, Reach};
use tapin_core::time::Timestamp;
use tapin_net::endpoint::{self, Advertise, Gate, Holds};
use tapin_net::gate::HomeGate;
use tapin_net::invitations::OpenInvitation;
use tapin_net::node::{Local, Node, Options, Pairing};
use tapin_net::pair::{self, InvitationError, Invitations, PendingPairing};
use tapin_store::Store;

use crate::app::{self, App, find_person};
use crate::args::NetArgs;
use crate::output::{self, BOLD, GOOD, paint};

const META_INVITE_PREFIX: &str = "invite.";

/// Runs a future on a fresh Tokio runtime: only the network commands need one.
pub(crate) fn block_on<T>(fut: impl Future<Output = Result<T>>) -> Result<T> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    let out = runtime.block_on(fut);
    // Store work still on a blocking thread finishes in far less than this; a prompt nobody
    // answered (`pair_confirm` passed) may be reading stdin for ever, and is left behind.
    runtime.shutdown_timeout(Duration::from_secs(1));
    out
}

/// "10m", "1h", "2d" → a duration.
fn parse_expiry(s: &str) -> Result<Duration> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: u64 = n.parse().with_context(|| {
        format!("--expires {s:?}: expected a number and a unit, like 10m or 1h")
    })?;
    let secs = match unit.trim() {
        "s" => n,
        "m" | "min" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => bail!("--expires {s:?}: the unit must be s, m, h or d"),
    };
    if secs == 0 || secs > 7 * 86_400 {
        bail!("--expires {s:?}: an invitation can last from 1 second to 7 days");
    }
    Ok(Duration::from_secs(secs))
}

/// An invitation as kept in the store while it is open: its ticket, and whether it was used.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredInvite {
    ticket: String,
    used: bool,
}

/// The invitations this home has made, as the pairing protocol sees them.
#[derive(Debug)]
struct HomeInvitations {
    store: std::sync::Mutex<Store>,
    /// The command's clock (`TAPIN_NOW` or real time) when it started, and the real time since:
    /// expiry is judged on the same clock the invitation was made with.
    clock: Timestamp,
    started: std::time::Instant,
}

impl HomeInvitations {
    fn key(id: &InviteId) -> String {
        format!("{META_INVITE_PREFIX}{id}")
    }

    fn read(&self, id: &InviteId) -> Result<Option<StoredInvite>, InvitationError> {
        let store = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        let bytes = store
            .get_meta(&Self::key(id))
            .map_err(|e| InvitationError::Store(Box::new(e)))?;
        Ok(bytes.and_then(|b| serde_json::from_slice(&b).ok()))
    }
}

impl Invitations for HomeInvitations {
    fn lookup(&self, id: &InviteId) -> Result<Invitation, InvitationError> {
        let stored = self.read(id)?.ok_or(InvitationError::Unknown)?;
        if stored.used {
            return Err(InvitationError::Used);
        }
        let inv = Invitation::from_ticket(&stored.ticket)?;
        let elapsed = i64::try_from(self.started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let now = Timestamp(self.clock.0.saturating_add(elapsed));
        inv.check_fresh(now)?;
        Ok(inv)
    }

    fn claim(&self, id: &InviteId) -> Result<(), InvitationError> {
        let mut stored = self.read(id)?.ok_or(InvitationError::Unknown)?;
        if stored.used {
            return Err(InvitationError::Used);
        }
        stored.used = true;
        let store = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        let bytes = serde_json::to_vec(&stored).map_err(|e| InvitationError::Store(Box::new(e)))?;
        store
            .set_meta(&Self::key(id), &bytes)
            .map_err(|e| InvitationError::Store(Box::new(e)))
    }
}

/// Asks the person to compare the codes; `--yes` answers for them.
fn confirm(friend: &str, code: &str, yes: bool) -> Result<bool> {
    output::note(format!(
        "Safety code: {}  — check that {friend} sees the same code.",
        paint(BOLD, code)
    ))?;
    if yes {
        return Ok(true);
    }
    {
        // Not held while reading the answer: the rest of the command may still need to write.
        let mut err = std::io::stderr().lock();
        write!(err, "Do the codes match? [y/N] ")?;
        err.flush()?;
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(matches!(line.trim().to_lowercase().as_str(), "y" | "yes"))
}

/// Which relationship a pairing goes to: the chosen one, or a new one named after the friend.
/// Refuses a name already taken and a relationship paired with someone else. Pure: used both
/// before the confirmation is sent (so a pairing this side cannot store is declined, and the
/// friend stores nothing either) and again inside the write.
fn plan_pairing(
    private: &docs::PrivateDoc,
    choice: Option<&str>,
    peer: &PairedDevice,
    now: Timestamp,
    new_id: tapin_core::Id,
) -> Result<(tapin_core::Id, Relationship, bool)> {
    let person = peer.cert.person.to_string();
    let existing = choice.and_then(|name| find_person(private, name).ok());
    let (id, rel, created) = match existing {
        Some((id, rel)) => (id, rel, false),
        None => {
            let name = choice.map_or_else(|| peer.name.clone(), str::to_owned);
            if private
                .relationships
                .values()
                .any(|r| r.name.to_lowercase() == name.to_lowercase())
            {
                bail!(
                    "you already have someone called {name:?}; choose them or another name with --for/--as"
                );
            }
            let rel = Relationship {
                name,
                importance: 3,
                risk: Risk::Medium,
                rhythm: None,
                status: RelationshipStatus::Active,
                created: now,
                snoozed_until: None,
                peer: None,
            };
            (new_id, rel, true)
        }
    };
    if let Some(p) = &rel.peer
        && p.person != person
    {
        bail!(
            "{} is already paired with someone else ({}); choose another relationship",
            rel.name,
            p.name
        );
    }
    Ok((id, rel, created))
}

/// Records the pairing in the private document, on the planned relationship.
fn store_pairing(
    app: &App,
    choice: Option<&str>,
    peer: &PairedDevice,
    reach: &Reach,
    new_id: tapin_core::Id,
) -> Result<(String, bool)> {
    let now = app.stamp();
    let device = PeerDevice {
        name: peer.cert.device_name.clone(),
        cert: data_encoding::HEXLOWER.encode(&peer.cert.to_bytes()),
        addrs: reach.addrs.iter().map(ToString::to_string).collect(),
        added: now,
        relay: reach.relay.clone(),
    };
    app.update(DocId::Private, |d| {
        let private = docs::read_private(d)?;
        let (id, mut rel, created) = plan_pairing(&private, choice, peer, now, new_id)?;
        let mut p = rel.peer.take().unwrap_or_else(|| Peer {
            person: peer.cert.person.to_string(),
            name: peer.name.clone(),
            devices: Default::default(),
            paired: now,
            unpaired: None,
        });
        p.name = peer.name.clone();
        p.unpaired = None;
        p.devices.insert(peer.cert.device.to_string(), device);
        rel.peer = Some(p);
        docs::put_relationship(d, id, &rel)?;
        Ok((rel.name, created))
    })
}

fn print_paired(
    json: bool,
    name: &str,
    created: bool,
    peer: &PairedDevice,
    code: &str,
) -> Result<()> {
    if json {
        return output::json(&serde_json::json!({
            "paired": name, "friend": peer.name, "person": peer.cert.person.to_string(),
            "device": peer.cert.device.to_string(), "device_name": peer.cert.device_name,
            "code": code, "new_relationship": created,
        }));
    }
    writeln!(
        output::stdout(),
        "{} Paired with {} ({}'s {}). Code {code}.{}",
        paint(GOOD, "✓"),
        paint(BOLD, name),
        peer.name,
        peer.cert.device_name,
        if created {
            " A new relationship was added."
        } else {
            ""
        }
    )?;
    Ok(())
}

fn my_cert(app: &App) -> DeviceCertificate {
    app.cert.clone()
}

/// `tapin invite`.
pub(crate) fn invite(
    app: &App,
    for_person: Option<String>,
    expires: &str,
    yes: bool,
    net: &NetArgs,
    json: bool,
) -> Result<()> {
    let ttl = parse_expiry(expires)?;
    if let Some(name) = &for_person {
        // Fail now, not after the friend has joined.
        let private = app.private()?;
        if let Ok((_, rel)) = find_person(&private, name)
            && rel.is_paired()
        {
            output::note(format!(
                "{} is already paired; this adds another of their devices.",
                rel.name
            ))?;
        }
    }
    let config = app.net_config(net)?;
    let secret = app::random_secret()?;
    let expires_at = app.now + chrono::Duration::from_std(ttl)?;
    block_on(async {
        let gate = Arc::new(HomeGate::new(Store::open(&app.home)?));
        // The home's port if it is free; beside a running `tapin serve`, another one, and the
        // ticket names only what this endpoint is bound to.
        let (ep, holds) = endpoint::bind_home(
            app.device.secret(),
            &config,
            gate.clone() as Arc<dyn Gate>,
            tapin_net::PAIR_ALPNS.iter().map(|a| a.to_vec()).collect(),
        )
        .await
        .context("could not start listening for your friend")?;
        let relay = endpoint::home_relay(&ep, &config.relay, &config.timeouts).await;
        if config.relay.enabled() && relay.is_none() {
            output::note(
                "No relay answered yet: your friend can join only at this device's own addresses.",
            )?;
        }
        let inv = Invitation::new(
            &app.person,
            &app.name,
            app.cert.device,
            endpoint::direct_addrs(&ep),
            relay,
            secret,
            Timestamp::from_datetime(expires_at),
        );
        let ticket = inv.ticket().to_string();
        let stored = StoredInvite {
            ticket: ticket.clone(),
            used: false,
        };
        app.store.set_meta(
            &HomeInvitations::key(&inv.id()),
            &serde_json::to_vec(&stored)?,
        )?;
        // Open before the ticket is shown: from now on the gate lets joiners in, and the node's
        // pairing handler answers them from this home's invitations.
        let invitation = gate.invitations().open(Arc::new(HomeInvitations {
            store: std::sync::Mutex::new(Store::open(&app.home)?),
            clock: app.stamp(),
            started: std::time::Instant::now(),
        }));
        let local = Local {
            name: app.name.clone(),
            relay: config.relay.clone(),
            advertise: Advertise::Bound,
        };
        let node = Node::spawn(
            ep,
            &app.home,
            app.device.clone(),
            Options {
                pairing: Some(Pairing {
                    invitations: gate.invitations().clone(),
                    cert: my_cert(app),
                }),
                // A second endpoint also serves sync, for the friend's node to reach after
                // pairing (`hand_over`).
                accept_sync: holds == Holds::OtherPort,
                ..Options::new(local, config.timeouts)
            },
        )
        .await
        .context("could not start listening for your friend")?;
        {
            let mut out = std::io::stdout().lock();
            if json {
                writeln!(out, "{}", serde_json::json!({ "ticket": ticket }))?;
            } else {
                writeln!(out, "{ticket}")?;
                writeln!(out, "{}", qr(&ticket)?)?;
            }
            out.flush()?;
        }
        output::note(format!(
            "Waiting for your friend to run `tapin join` with this invitation (valid until {}).",
            expires_at.with_timezone(&chrono::Local).format("%H:%M")
        ))?;
        let result = async {
            let pending = wait_for_joiner(invitation, ttl).await?;
            let friend = finish(
                app,
                pending,
                for_person.as_deref(),
                yes,
                json,
                &config.timeouts,
            )
            .await?;
            hand_over(&node, holds, &friend, &config.timeouts).await
        }
        .await;
        node.shutdown().await;
        result
    })
}

/// Waits until a device joins with a pairing that checks (reporting the ones refused meanwhile),
/// or the invitation expires; then closes it, so the gate refuses joiners again.
async fn wait_for_joiner(mut invitation: OpenInvitation, ttl: Duration) -> Result<PendingPairing> {
    let spinner = spinner();
    let deadline = tokio::time::Instant::now() + ttl;
    let pending = loop {
        let joined = tokio::select! {
            joined = invitation.next() => joined,
            () = tokio::time::sleep_until(deadline) => None,
        };
        match joined {
            Some(Ok(pending)) => break pending,
            Some(Err(e)) => {
                let said = format!(
                    "A device tried to join and was refused: {:#}",
                    anyhow::Error::new(e)
                );
                if let Some(s) = &spinner {
                    s.suspend(|| output::note(&said).ok());
                } else {
                    output::note(said)?;
                }
            }
            None => {
                if let Some(s) = &spinner {
                    s.finish_and_clear();
                }
                bail!("the invitation expired before anyone joined");
            }
        }
    };
    if let Some(s) = &spinner {
        s.finish_and_clear();
    }
    drop(invitation);
    Ok(pending)
}

/// Asks the person to confirm the safety code, and stores the pairing if both did. Returns the
/// friend's device.
async fn finish(
    app: &App,
    pending: PendingPairing,
    choice: Option<&str>,
    yes: bool,
    json: bool,
    timeouts: &tapin_net::Timeouts,
) -> Result<PairedDevice> {
    let friend = pending.peer.name.clone();
    let code = pending.code.clone();
    let reach = pending.peer_reach.clone();
    let new_id = app::random_id()?;
    // Decide where the pairing goes before confirming: if this side could not store it, say no,
    // so the friend stores nothing either.
    if let Err(err) = plan_pairing(&app.private()?, choice, &pending.peer, app.stamp(), new_id) {
        let _ = pending.finish(false).await;
        return Err(err.context("not paired; nothing was stored on either side"));
    }
    let answer = {
        let (friend, code) = (friend.clone(), code.clone());
        // The person has as long as the friend waits for them (`pair_confirm`); no answer is a no.
        let asked = tokio::task::spawn_blocking(move || confirm(&friend, &code, yes));
        match tokio::time::timeout(timeouts.pair_confirm, asked).await {
            Ok(answer) => answer??,
            Err(_) => {
                output::note(format!(
                    "No answer within {:?}: the codes count as not compared.",
                    timeouts.pair_confirm
                ))?;
                false
            }
        }
    };
    let peer = pending.finish(answer).await?;
    let (name, created) = store_pairing(app, choice, &peer, &reach, new_id)?;
    print_paired(json, &name, created, &peer, &code)?;
    Ok(peer)
}

/// After pairing from a second endpoint (this home's `tapin serve` holds its port, so the friend
/// was told this endpoint's addresses): keeps it up until the friend's node has synced with it
/// once, at most `timeouts.handover`. That exchange tells this home where the friend's node
/// listens; this home's `tapin serve`, which noticed the new pairing, then dials it there and
/// tells it where it listens in turn.
async fn hand_over(
    node: &Node,
    holds: Holds,
    friend: &PairedDevice,
    timeouts: &tapin_net::Timeouts,
) -> Result<()> {
    if holds != Holds::OtherPort {
        return Ok(());
    }
    output::note(format!(
        "Your `tapin serve` holds this home's port: waiting up to {:?} for {}'s device to sync \
         once, so your server and theirs find each other…",
        timeouts.handover, friend.name
    ))?;
    if node
        .wait_for_exchange(friend.cert.device, timeouts.handover)
        .await
    {
        output::note(format!(
            "{}'s device synced; your `tapin serve` takes it from here.",
            friend.name
        ))
    } else {
        output::note(format!(
            "{}'s device did not sync in time; your `tapin serve` keeps dialling it, and tells it \
             where your server listens at their first contact.",
            friend.name
        ))
    }
}

/// `tapin join`.
pub(crate) fn join(
    app: &App,
    ticket: &str,
    as_person: Option<String>,
    yes: bool,
    net: &NetArgs,
    json: bool,
) -> Result<()> {
    let inv = Invitation::from_ticket(ticket)?;
    inv.check_fresh(app.stamp())?;
    if inv.person == app.person.id() {
        bail!("this is your own invitation; give it to the friend you want to pair with");
    }
    let config = app.net_config(net)?;
    block_on(async {
        let gate = Arc::new(HomeGate::new(Store::open(&app.home)?));
        // The home's port if it is free; beside a running `tapin serve`, another one, and the
        // inviter is told only what this endpoint is bound to.
        let (ep, holds) = endpoint::bind_home(
            app.device.secret(),
            &config,
            gate.clone() as Arc<dyn Gate>,
            vec![],
        )
        .await
        .context("could not start the network")?;
        let local = Local {
            name: app.name.clone(),
            relay: config.relay.clone(),
            advertise: Advertise::Bound,
        };
        // A second endpoint serves sync, for the friend's node to reach after pairing
        // (`hand_over`); otherwise the node serves nothing and this endpoint only dials.
        let node = Node::spawn(
            ep.clone(),
            &app.home,
            app.device.clone(),
            Options {
                accept_sync: holds == Holds::OtherPort,
                ..Options::new(local, config.timeouts)
            },
        )
        .await
        .context("could not start the network")?;
        output::note(format!("Connecting to {}'s device…", inv.name))?;
        let result = async {
            let mut reach = endpoint::my_reach(&ep, &config.relay, Advertise::Bound);
            reach.relay = endpoint::home_relay(&ep, &config.relay, &config.timeouts).await;
            let pending = pair::join(
                &ep,
                &inv,
                &app.name,
                &my_cert(app),
                reach,
                config.relay.enabled(),
                app.stamp(),
                &config.timeouts,
            )
            .await?;
            let friend = finish(
                app,
                pending,
                as_person.as_deref(),
                yes,
                json,
                &config.timeouts,
            )
            .await?;
            hand_over(&node, holds, &friend, &config.timeouts).await
        }
        .await;
        node.shutdown().await;
        result
    })
}

/// `tapin unpair`.
pub(crate) fn unpair(app: &App, person: &str, json: bool) -> Result<()> {
    let private = app.private()?;
    let (id, rel) = app.find_person(&private, person)?;
    if !rel.is_paired() {
        bail!("{} is not paired", rel.name);
    }
    let now = app.stamp();
    app.update(DocId::Private, |d| {
        let mut rel =
            docs::get_relationship(d, id)?.context("the relationship was removed meanwhile")?;
        if let Some(p) = rel.peer.as_mut() {
            p.unpaired = Some(now);
        }
        docs::put_relationship(d, id, &rel)?;
        Ok(())
    })?;
    if json {
        return output::json(&serde_json::json!({ "unpaired": rel.name, "id": id.to_string() }));
    }
    writeln!(
        output::stdout(),
        "Unpaired {}. Nothing will sync between you again; the relationship and its history stay here.\n\
         What {} already received from you stays on their devices — tapin cannot take it back.",
        paint(BOLD, &rel.name),
        rel.name
    )?;
    Ok(())
}

fn qr(ticket: &str) -> Result<String> {
    let code = qrcode::QrCode::with_error_correction_level(ticket.as_bytes(), qrcode::EcLevel::L)
        .context("the invitation is too long for a QR code")?;
    Ok(code
        .render::<qrcode::render::unicode::Dense1x2>()
        .quiet_zone(true)
        .build())
}

fn spinner() -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message("waiting for your friend…");
    bar.enable_steady_tick(Duration::from_millis(120));
    Some(bar)
}
