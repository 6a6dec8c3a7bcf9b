//! Pairing two people's devices, as sessions a front-end drives: an invitation shows its ticket
//! and waits for a friend to join; joining reaches the inviter; either way both people compare a
//! safety code, and each accepts or declines. Unpairing ends it on this side.
//!
//! A session runs the home's node (an iroh `Router` with the pairing handler) for as long as it
//! lasts, and shuts it down when it ends. A [`Confirm`] that is dropped without an answer
//! declines, so the friend hears no rather than waiting. Store work runs off the async runtime.

use std::sync::{Arc, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tapin_core::docs::{self, PrivateDoc};
use tapin_core::identity::DeviceId;
use tapin_core::identity::PersonId;
use tapin_core::model::{Peer, PeerDevice, Relationship, RelationshipStatus, Risk};
use tapin_core::pairing::{EndNotice, Invitation as Ticket, InviteId, PairedDevice, Reach};
use tapin_core::time::Timestamp;
use tapin_core::{DocId, Id};
use tapin_net::Timeouts;
use tapin_net::endpoint::{self, Advertise, Gate, Holds};
use tapin_net::gate::HomeGate;
use tapin_net::invitations::OpenInvitation;
use tapin_net::node::{Node, Options, Pairing};
use tapin_net::pair::{self, Ending, InvitationError, Invitations, PendingPairing};
use tapin_store::{MetaKey, Store};

use crate::error::{Error, Result, invalid};
use crate::home::{Home, random_id, random_secret};
use crate::net::NetOverrides;
use crate::people::refuse_taken_name;
use crate::reading::{Docs, find_person};

/// The longest an invitation may stay open.
pub const MAX_EXPIRY: Duration = Duration::from_secs(7 * 86_400);

fn net_error(what: &str) -> impl FnOnce(Box<dyn std::error::Error + Send + Sync>) -> Error + '_ {
    move |source| Error::Net {
        what: what.to_owned(),
        source,
    }
}

/// An invitation as kept in the store while it is open: its ticket, and whether it was used.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredInvite {
    ticket: String,
    used: bool,
}

/// The invitations this home has made, as the pairing protocol sees them. The node calls it on a
/// blocking thread.
#[derive(Debug)]
struct HomeInvitations {
    store: std::sync::Mutex<Store>,
    /// The clock when the invitation was made, and the real time since: expiry is judged on the
    /// same clock the invitation was made with.
    clock: Timestamp,
    started: std::time::Instant,
}

fn read_invite(store: &Store, id: &InviteId) -> Result<Option<StoredInvite>, InvitationError> {
    let bytes = store
        .get_meta(MetaKey::Invite(*id))
        .map_err(|e| InvitationError::Store(Box::new(e)))?;
    Ok(bytes.and_then(|b| serde_json::from_slice(&b).ok()))
}

impl Invitations for HomeInvitations {
    fn lookup(&self, id: &InviteId) -> Result<Ticket, InvitationError> {
        let store = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        let stored = read_invite(&store, id)?.ok_or(InvitationError::Unknown)?;
        if stored.used {
            return Err(InvitationError::Used);
        }
        let inv = Ticket::from_ticket(&stored.ticket)?;
        let elapsed = i64::try_from(self.started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let now = Timestamp(self.clock.0.saturating_add(elapsed));
        inv.check_fresh(now)?;
        Ok(inv)
    }

    /// Atomic: the check and the mark happen under one lock, so of two joiners proving the same
    /// secret at once (the node answers each on its own task) exactly one claims it.
    fn claim(&self, id: &InviteId) -> Result<(), InvitationError> {
        let store = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        let mut stored = read_invite(&store, id)?.ok_or(InvitationError::Unknown)?;
        if stored.used {
            return Err(InvitationError::Used);
        }
        stored.used = true;
        let bytes = serde_json::to_vec(&stored).map_err(|e| InvitationError::Store(Box::new(e)))?;
        store
            .set_meta(MetaKey::Invite(*id), &bytes)
            .map_err(|e| InvitationError::Store(Box::new(e)))
    }
}

/// The node a pairing command runs while it pairs, and which port it holds.
struct Session {
    node: Node,
    holds: Holds,
    timeouts: Timeouts,
}

impl Session {
    async fn end(self) {
        self.node.shutdown().await;
    }
}

/// A pairing made, as both front-ends show it. `--json` of `invite` and `join` is this.
#[derive(Debug, Clone, Serialize)]
pub struct Paired {
    /// What I call them.
    pub paired: String,
    /// Their own display name.
    pub friend: String,
    /// Their person key.
    pub person: String,
    /// Their device key.
    pub device: String,
    /// What they call that device.
    pub device_name: String,
    /// The safety code both compared.
    pub code: String,
    /// Whether a new relationship was added for them.
    pub new_relationship: bool,
}

/// A pairing ended on this side.
#[derive(Debug, Clone, Serialize)]
pub struct Unpaired {
    /// What I call them.
    pub unpaired: String,
    /// The relationship.
    pub id: Id,
    /// Whether the friend's devices will be told (false with `--quietly`).
    pub notice: bool,
}

/// Which relationship a pairing goes to: the chosen one, or a new one named after the friend.
/// Refuses a name already taken and a relationship paired with someone else. Pure: used both
/// before the confirmation is sent (so a pairing this side cannot store is declined, and the
/// friend stores nothing either) and again inside the write.
fn plan_pairing(
    private: &PrivateDoc,
    choice: Option<&str>,
    peer: &PairedDevice,
    now: Timestamp,
    new_id: Id,
) -> Result<(Id, Relationship, bool)> {
    let person = peer.cert.person.to_string();
    let existing = match choice {
        Some(name) => find_person(private, name).ok(),
        // Pairing again with someone paired before (or another of their devices): their
        // relationship, whatever they call themselves now.
        None => same_person(private, &person),
    };
    let (id, rel, created) = match existing {
        Some((id, rel)) => (id, rel, false),
        None => {
            let name = choice.map_or_else(|| peer.name.clone(), str::to_owned);
            refuse_taken_name(private, &name, None).map_err(|_| {
                Error::invalid(format!(
                    "you already have someone called {name:?}; choose them or another name with --for/--as"
                ))
            })?;
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
        invalid!(
            "{} is already paired with someone else ({}); choose another relationship",
            rel.name,
            p.name
        );
    }
    Ok((id, rel, created))
}

/// The relationship already paired (now or before) with the person whose key is `person`.
fn same_person(private: &PrivateDoc, person: &str) -> Option<(Id, Relationship)> {
    private
        .relationships
        .iter()
        .find(|(_, r)| r.peer.as_ref().is_some_and(|p| p.person == person))
        .map(|(id, r)| (*id, r.clone()))
}

/// A pairing's name is taken here by someone else: a relationship of that name that was never
/// paired with this friend's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Clash {
    /// The name, as the relationship here has it.
    pub name: String,
    /// Whether that relationship is paired with another person's key (it cannot be linked).
    pub paired_with_someone_else: bool,
}

impl Clash {
    /// What this side says of it.
    pub fn words(&self) -> String {
        if self.paired_with_someone_else {
            format!(
                "you already have someone called {} (paired with another person's key)",
                self.name
            )
        } else {
            format!("you already have someone called {}", self.name)
        }
    }

    /// What this side tells the friend, whose tapin shows it after "…could not take the
    /// pairing:".
    pub fn told(&self, me: &str) -> String {
        format!(
            "{me} already has someone called {}, and did not say whether that is you",
            self.name
        )
    }
}

/// Whether pairing with `person` (their key, hex) who calls themselves `name` would clash with a
/// name taken here, given the relationship chosen (`choice`, from `--for`/`--as`).
fn clash_of(private: &PrivateDoc, choice: Option<&str>, person: &str, name: &str) -> Option<Clash> {
    let other = |rel: &Relationship| rel.peer.as_ref().is_some_and(|p| p.person != person);
    match choice {
        Some(chosen) => match find_person(private, chosen) {
            Ok((_, rel)) if other(&rel) => Some(Clash {
                name: rel.name,
                paired_with_someone_else: true,
            }),
            _ => None,
        },
        None => {
            if same_person(private, person).is_some() {
                return None;
            }
            let wanted = name.to_lowercase();
            private
                .relationships
                .values()
                .find(|r| r.name.to_lowercase() == wanted)
                .map(|r| Clash {
                    name: r.name.clone(),
                    paired_with_someone_else: other(r),
                })
        }
    }
}

/// A friend's device that joined (or was joined), waiting for both people to compare the code.
/// Dropping it without [`Confirm::accept`] or [`Confirm::decline`] declines.
pub struct Confirm {
    home: Arc<Home>,
    pending: Option<PendingPairing>,
    choice: Option<String>,
    new_id: Id,
    session: Option<Session>,
    /// Their display name.
    pub friend: String,
    /// The safety code both people compare.
    pub code: String,
    /// The friend's name is taken here by someone else: the front-end asks which relationship
    /// this is ([`Confirm::choose`]), or ends the pairing ([`Confirm::refuse_clash`]).
    pub clash: Option<Clash>,
}

impl std::fmt::Debug for Confirm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Confirm")
            .field("friend", &self.friend)
            .field("code", &self.code)
            .finish_non_exhaustive()
    }
}

impl Confirm {
    async fn new(
        home: Arc<Home>,
        pending: PendingPairing,
        choice: Option<String>,
        session: Session,
    ) -> Result<Confirm> {
        let new_id = random_id()?;
        let friend = pending.peer.name.clone();
        let code = pending.code.clone();
        let mut confirm = Confirm {
            home,
            pending: Some(pending),
            choice,
            new_id,
            session: Some(session),
            friend,
            code,
            clash: None,
        };
        // Decide where the pairing goes before confirming: a clash is for the person to settle;
        // anything else this side could not store ends it, so the friend stores nothing either.
        match confirm.plan().await {
            Ok(clash) => confirm.clash = clash,
            Err(err) => {
                let why = crate::error::chain(&err);
                confirm.end(Ending::CannotStore(why.clone())).await;
                return Err(Error::invalid(format!(
                    "not paired; nothing was stored on either side: {why}"
                )));
            }
        }
        Ok(confirm)
    }

    /// Checks where the pairing would go: a name clash, or an error for anything else.
    async fn plan(&self) -> Result<Option<Clash>> {
        let Some(pending) = &self.pending else {
            invalid!("this pairing was already answered");
        };
        let (home, peer, choice, new_id) = (
            self.home.clone(),
            pending.peer.clone(),
            self.choice.clone(),
            self.new_id,
        );
        blocking(move || {
            let private = home.peek(|r| r.private())?;
            let person = peer.cert.person.to_string();
            if let Some(clash) = clash_of(&private, choice.as_deref(), &person, &peer.name) {
                return Ok(Some(clash));
            }
            plan_pairing(&private, choice.as_deref(), &peer, home.stamp(), new_id)?;
            Ok(None)
        })
        .await
    }

    /// Settles a name clash: `name` is the relationship this pairing goes to, an existing person
    /// here (who is then linked to this friend) or a new name. Returns the clash still left, if
    /// `name` too is taken by someone else.
    pub async fn choose(&mut self, name: &str) -> Result<Option<Clash>> {
        self.choice = Some(name.trim().to_owned());
        let clash = self.plan().await?;
        self.clash = clash.clone();
        Ok(clash)
    }

    /// Ends the pairing because the name clash was not settled, and tells the friend so.
    pub async fn refuse_clash(mut self) {
        let told = self
            .clash
            .as_ref()
            .map(|c| c.told(self.home.name()))
            .unwrap_or_else(|| "the name is taken".to_owned());
        self.end(Ending::CannotStore(told)).await;
    }

    /// Resolves when the friend's side ends the pairing before it is made, with what happened
    /// in words; a front-end waits on it beside its question.
    pub fn friend_ended(&self) -> impl Future<Output = String> + Send + 'static {
        let ended = self.pending.as_ref().map(PendingPairing::friend_ended);
        async move {
            match ended {
                Some(ended) => ended.await.to_string(),
                None => std::future::pending().await,
            }
        }
    }

    /// Cancels: the friend is told at once that this person cancelled; nothing is stored.
    pub async fn cancel(mut self) {
        self.end(Ending::Cancelled).await;
    }

    async fn end(&mut self, how: Ending) {
        if let Some(pending) = self.pending.take() {
            pending.end(how).await;
        }
        if let Some(session) = self.session.take() {
            session.end().await;
        }
    }

    /// How long the friend waits for this person's answer: a front-end that asks should stop
    /// asking then, and decline.
    pub fn answer_within(&self) -> Duration {
        self.session
            .as_ref()
            .map_or(Duration::ZERO, |s| s.timeouts.pair_confirm)
    }

    /// Accepts: the pairing is stored once the friend accepted too.
    pub async fn accept(mut self) -> Result<Accepted> {
        if let Some(clash) = &self.clash {
            invalid!("{}: choose who this is first", clash.words());
        }
        let (Some(pending), Some(session)) = (self.pending.take(), self.session.take()) else {
            invalid!("this pairing was already answered");
        };
        let reach = pending.peer_reach.clone();
        let peer = match pending.finish(true).await {
            Ok(peer) => peer,
            Err(e) => {
                session.end().await;
                return Err(Error::Network(Box::new(e)));
            }
        };
        let (home, choice, new_id) = (self.home.clone(), self.choice.clone(), self.new_id);
        let stored = {
            let peer = peer.clone();
            blocking(move || store_pairing(&home, choice.as_deref(), &peer, &reach, new_id)).await
        };
        let (name, created) = match stored {
            Ok(stored) => stored,
            Err(e) => {
                session.end().await;
                return Err(e);
            }
        };
        Ok(Accepted {
            paired: Paired {
                paired: name,
                friend: peer.name.clone(),
                person: peer.cert.person.to_string(),
                device: peer.cert.device.to_string(),
                device_name: peer.cert.device_name.clone(),
                code: self.code.clone(),
                new_relationship: created,
            },
            device: peer.cert.device,
            session,
        })
    }

    /// Declines: nothing is stored on either side.
    pub async fn decline(mut self) {
        if let Some(pending) = self.pending.take() {
            let _ = pending.finish(false).await;
        }
        if let Some(session) = self.session.take() {
            session.end().await;
        }
    }
}

impl Drop for Confirm {
    fn drop(&mut self) {
        let (pending, session) = (self.pending.take(), self.session.take());
        if pending.is_none() && session.is_none() {
            return;
        }
        // Tell the friend this side stopped rather than leave them waiting, then end the node.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Some(pending) = pending {
                    pending.end(Ending::Cancelled).await;
                }
                if let Some(session) = session {
                    session.end().await;
                }
            });
        }
    }
}

/// A pairing both people accepted, stored. [`Accepted::hand_over`] ends the command's node.
pub struct Accepted {
    /// The pairing.
    pub paired: Paired,
    device: DeviceId,
    session: Session,
}

impl std::fmt::Debug for Accepted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accepted")
            .field("paired", &self.paired)
            .finish_non_exhaustive()
    }
}

impl Accepted {
    /// How long [`Accepted::hand_over`] may wait: `Some` when this command paired from a second
    /// endpoint, because this home's `tapin serve` holds its port, so the friend was told this
    /// endpoint's addresses.
    pub fn hand_over_wait(&self) -> Option<Duration> {
        (self.session.holds == Holds::OtherPort).then_some(self.session.timeouts.handover)
    }

    /// Ends the pairing command's node. After pairing from a second endpoint it first waits, at
    /// most [`Accepted::hand_over_wait`], until the friend's node has synced with it once: that
    /// exchange tells this home where the friend's node listens, and this home's `tapin serve`,
    /// which noticed the new pairing, then dials it there and tells it where it listens in turn.
    /// Whether the friend's device synced (true when there was nothing to wait for).
    pub async fn hand_over(self) -> bool {
        let synced = match self.hand_over_wait() {
            Some(wait) => self.session.node.wait_for_exchange(self.device, wait).await,
            None => true,
        };
        self.session.end().await;
        synced
    }
}

/// Records the pairing in the private document, on the planned relationship, in one write.
fn store_pairing(
    home: &Home,
    choice: Option<&str>,
    peer: &PairedDevice,
    reach: &Reach,
    new_id: Id,
) -> Result<(String, bool)> {
    let now = home.stamp();
    let device = PeerDevice {
        name: peer.cert.device_name.clone(),
        cert: data_encoding::HEXLOWER.encode(&peer.cert.to_bytes()),
        addrs: reach.addrs.iter().map(ToString::to_string).collect(),
        added: now,
        relay: reach.relay.clone(),
    };
    home.write(|w| {
        let private = w.private()?;
        let (id, mut rel, created) = plan_pairing(&private, choice, peer, now, new_id)?;
        let mut p = rel.peer.take().unwrap_or_else(|| Peer {
            person: peer.cert.person.to_string(),
            name: peer.name.clone(),
            devices: Default::default(),
            paired: now,
            unpaired: None,
            notice: None,
            ended: None,
        });
        p.name = peer.name.clone();
        p.unpaired = None;
        p.notice = None;
        p.ended = None;
        // A pairing again: it counts from now, so a notice that ended the last one ends no more.
        p.paired = now;
        p.devices.insert(peer.cert.device.to_string(), device);
        rel.peer = Some(p);
        w.update(DocId::Private, |d| Ok(docs::put_relationship(d, id, &rel)?))?;
        Ok((rel.name, created))
    })
}

/// Opens another connection to the home's database (call it on a blocking thread).
pub(crate) fn open_store(path: &std::path::Path) -> Result<Store> {
    Store::open(path).map_err(|e| Error::Open {
        path: path.to_owned(),
        source: Box::new(e),
    })
}

/// Runs store work off the async runtime.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| net_error("a store task failed")(Box::new(e)))?
}

/// What to invite with.
#[derive(Debug, Clone)]
pub struct InviteRequest {
    /// The relationship to pair (an existing person, or the name for a new one).
    pub for_person: Option<String>,
    /// How long the invitation stays open (1 second to 7 days).
    pub expires: Duration,
    /// Network settings for this command.
    pub net: NetOverrides,
}

/// What an open invitation reports while it waits.
#[derive(Debug)]
pub enum InviteEvent {
    /// A device tried to join and was refused (a wrong secret, an expired ticket…).
    Refused(String),
    /// A device joined: compare the code.
    Joined(Box<Confirm>),
}

/// An open invitation: its ticket, and a wait for the friend. While it is open, the gate lets
/// joiners in and the node's pairing handler answers them.
pub struct Invitation {
    home: Arc<Home>,
    open: Option<OpenInvitation>,
    session: Option<Session>,
    deadline: tokio::time::Instant,
    choice: Option<String>,
    /// The ticket to give the friend.
    pub ticket: String,
    /// The same invitation in the compact form for a QR code (ticket version 2, which a tapin
    /// from before it does not read).
    pub qr: Option<String>,
    /// When it stops being valid.
    pub valid_until: DateTime<Utc>,
    /// What the person should know about it (a friend already paired; no relay answered).
    pub notes: Vec<String>,
}

impl std::fmt::Debug for Invitation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invitation")
            .field("valid_until", &self.valid_until)
            .finish_non_exhaustive()
    }
}

impl Invitation {
    /// Waits for the next device to try to join, until the invitation expires. Once one joins
    /// with a pairing that checks, the invitation is closed and the [`Confirm`] carries on.
    pub async fn next(&mut self) -> Result<InviteEvent> {
        let Some(open) = self.open.as_mut() else {
            invalid!("the invitation is closed");
        };
        let joined = tokio::select! {
            joined = open.next() => joined,
            () = tokio::time::sleep_until(self.deadline) => None,
        };
        match joined {
            Some(Ok(pending)) => {
                // Closed: the gate refuses joiners again.
                self.open = None;
                let Some(session) = self.session.take() else {
                    invalid!("the invitation is closed");
                };
                let confirm =
                    Confirm::new(self.home.clone(), pending, self.choice.clone(), session).await?;
                Ok(InviteEvent::Joined(Box::new(confirm)))
            }
            Some(Err(why)) => Ok(InviteEvent::Refused(crate::error::chain(&*why))),
            None => invalid!("the invitation expired before anyone joined"),
        }
    }

    /// Closes the invitation: no one can join with it any more.
    pub async fn close(mut self) {
        self.open = None;
        if let Some(session) = self.session.take() {
            session.end().await;
        }
    }
}

impl Home {
    /// Opens an invitation: runs this home's node with the pairing handler, and returns a ticket
    /// that names this device, where to reach it, and a secret.
    pub async fn invite(self: &Arc<Self>, req: InviteRequest) -> Result<Invitation> {
        if req.expires.is_zero() || req.expires > MAX_EXPIRY {
            invalid!("--expires: an invitation can last from 1 second to 7 days");
        }
        let mut notes = Vec::new();
        if let Some(name) = &req.for_person {
            // Say it now, not after the friend has joined.
            let home = self.clone();
            let name = name.clone();
            if let Ok((_, rel)) = blocking(move || home.find_person(&name)).await
                && rel.is_paired()
            {
                notes.push(format!(
                    "{} is already paired; this adds another of their devices.",
                    rel.name
                ));
            }
        }
        let config = self.net_config_off_runtime(&req.net).await?;
        let timeouts = config.timeouts;
        // Random in its first half only, so the QR code can carry the short form of the ticket.
        let mut secret = random_secret()?;
        secret[tapin_core::pairing::COMPACT_SECRET..].fill(0);
        let valid_until = self.now()
            + chrono::Duration::from_std(req.expires)
                .map_err(|e| Error::invalid(format!("--expires: {e}")))?;
        let (gate_store, invitations_store) = {
            let path = self.path().to_owned();
            blocking(move || Ok((open_store(&path)?, open_store(&path)?))).await?
        };
        let gate = Arc::new(HomeGate::new(gate_store));
        // The home's port if it is free; beside a running `tapin serve`, another one, and the
        // ticket names only what this endpoint is bound to.
        let (ep, holds) = endpoint::bind_home(
            self.device.secret(),
            &config,
            gate.clone() as Arc<dyn Gate>,
            tapin_net::PAIR_ALPNS.iter().map(|a| a.to_vec()).collect(),
        )
        .await
        .map_err(|e| net_error("could not start listening for your friend")(Box::new(e)))?;
        let relay = endpoint::home_relay(&ep, &config.relay, &timeouts).await;
        if config.relay.enabled() && relay.is_none() {
            notes.push(
                "No relay answered yet: your friend can join only at this device's own addresses."
                    .to_owned(),
            );
        }
        let inv = Ticket::new(
            &self.person,
            &self.name,
            self.cert.device,
            endpoint::direct_addrs(&ep),
            relay,
            secret,
            Timestamp::from_datetime(valid_until),
        );
        let ticket = inv.ticket().to_string();
        let qr = inv.compact_ticket().map(|t| t.to_string());
        let stored = serde_json::to_vec(&StoredInvite {
            ticket: ticket.clone(),
            used: false,
        })
        .map_err(|e| Error::Encode {
            what: "the invitation",
            source: Box::new(e),
        })?;
        let key = MetaKey::Invite(inv.id());
        let home = self.clone();
        blocking(move || home.write(|w| Ok(w.txn().set_meta(key, &stored)?))).await?;
        // Open before the ticket is shown: from now on the gate lets joiners in, and the node's
        // pairing handler answers them from this home's invitations.
        let open = gate.invitations().open(Arc::new(HomeInvitations {
            store: std::sync::Mutex::new(invitations_store),
            clock: self.stamp(),
            started: std::time::Instant::now(),
        }));
        let local = self.local(&config, Advertise::Bound);
        let options = Options {
            pairing: Some(Pairing {
                invitations: gate.invitations().clone(),
                cert: self.cert.clone(),
            }),
            // A second endpoint also serves sync, for the friend's node to reach after pairing
            // (`Accepted::hand_over`).
            accept_sync: holds == Holds::OtherPort,
            ..Options::new(local, timeouts)
        };
        let node = Node::spawn(ep, self.path(), self.device.clone(), options)
            .await
            .map_err(|e| net_error("could not start listening for your friend")(Box::new(e)))?;
        Ok(Invitation {
            home: self.clone(),
            open: Some(open),
            session: Some(Session {
                node,
                holds,
                timeouts,
            }),
            deadline: tokio::time::Instant::now() + req.expires,
            choice: req.for_person,
            ticket,
            qr,
            valid_until,
            notes,
        })
    }

    /// Joins a friend's invitation: reaches their device and returns the code to compare.
    pub async fn join(
        self: &Arc<Self>,
        ticket: &str,
        as_person: Option<String>,
        net: &NetOverrides,
    ) -> Result<Confirm> {
        let inv = self.ticket(ticket)?;
        let config = self.net_config_off_runtime(net).await?;
        let timeouts = config.timeouts;
        let gate_store = {
            let path = self.path().to_owned();
            blocking(move || open_store(&path)).await?
        };
        let gate = Arc::new(HomeGate::new(gate_store));
        // The home's port if it is free; beside a running `tapin serve`, another one, and the
        // inviter is told only what this endpoint is bound to.
        let (ep, holds) =
            endpoint::bind_home(self.device.secret(), &config, gate as Arc<dyn Gate>, vec![])
                .await
                .map_err(|e| net_error("could not start the network")(Box::new(e)))?;
        let local = self.local(&config, Advertise::Bound);
        // A second endpoint serves sync, for the friend's node to reach after pairing
        // (`Accepted::hand_over`); otherwise the node serves nothing and this endpoint only dials.
        let options = Options {
            accept_sync: holds == Holds::OtherPort,
            ..Options::new(local, timeouts)
        };
        let node = Node::spawn(ep.clone(), self.path(), self.device.clone(), options)
            .await
            .map_err(|e| net_error("could not start the network")(Box::new(e)))?;
        let session = Session {
            node,
            holds,
            timeouts,
        };
        let mut reach = endpoint::my_reach(&ep, &config.relay, Advertise::Bound);
        reach.relay = endpoint::home_relay(&ep, &config.relay, &timeouts).await;
        let joined = pair::join(
            &ep,
            &inv,
            &self.name,
            &self.cert,
            reach,
            config.relay.enabled(),
            self.stamp(),
            &timeouts,
        )
        .await;
        match joined {
            Ok(pending) => Confirm::new(self.clone(), pending, as_person, session).await,
            Err(e) => {
                session.end().await;
                Err(Error::Network(Box::new(e)))
            }
        }
    }

    /// Checks a ticket before it is used (well-formed, not expired, not my own) and returns the
    /// inviter's name, to say who is being reached before it is.
    pub fn check_ticket(&self, ticket: &str) -> Result<String> {
        Ok(self.ticket(ticket)?.name)
    }

    /// Whether joining this ticket would clash with a name taken here, given the relationship
    /// chosen with `--as`: asked before connecting, so the inviter is not left comparing a code
    /// for a pairing this side cannot store. The ticket names the inviter and carries their key,
    /// so someone paired with that key before is no clash (the pairing goes to them).
    pub fn join_clash(&self, ticket: &str, as_person: Option<&str>) -> Result<Option<Clash>> {
        let inv = self.ticket(ticket)?;
        // A compact ticket (a QR code's) names no person key: whether they were paired before
        // is known only from their certificate, so the clash is settled once connected.
        let Some(person) = inv.person else {
            return Ok(None);
        };
        let private = self.peek(|r| r.private())?;
        Ok(clash_of(
            &private,
            as_person,
            &person.to_string(),
            &inv.name,
        ))
    }

    fn ticket(&self, ticket: &str) -> Result<Ticket> {
        let inv =
            Ticket::from_ticket(ticket).map_err(|e| Error::invalid(crate::error::chain(&e)))?;
        inv.check_fresh(self.stamp())
            .map_err(|e| Error::invalid(crate::error::chain(&e)))?;
        if inv.person == Some(self.person.id()) || inv.endpoint == self.cert.device {
            invalid!("this is your own invitation; give it to the friend you want to pair with");
        }
        Ok(inv)
    }

    /// Ends the pairing with `person` on this side: nothing syncs between us again. The
    /// relationship and its history stay.
    ///
    /// Unless `quietly`, a notice signed by this person's key is kept with the relationship, and
    /// this home's devices answer the friend's next sync with it, so their home says the pairing
    /// ended and stops dialling. Quietly, the friend's devices are refused like any device this
    /// home does not know, which their tapin shows as this device not being reachable.
    pub fn unpair(&self, person: &str, quietly: bool) -> Result<Unpaired> {
        let now = self.stamp();
        self.write(|w| {
            let private = w.private()?;
            let (id, mut rel) = find_person(&private, person)?;
            if let Some(p) = rel.peer.as_ref().filter(|p| p.ended.is_some()) {
                invalid!(
                    "{} already ended the pairing with you (on {}); there is nothing to unpair",
                    rel.name,
                    crate::words::day(p.ended.unwrap_or(now))
                );
            }
            if !rel.is_paired() {
                invalid!("{} is not paired", rel.name);
            }
            if let Some(p) = rel.peer.as_mut() {
                p.unpaired = Some(now);
                p.notice = if quietly {
                    None
                } else {
                    let friend = p.person.parse::<PersonId>().map_err(|e| {
                        Error::invalid(format!("{}'s person key is damaged: {e}", rel.name))
                    })?;
                    Some(EndNotice::new(&self.person, friend, now).close_reason(&self.name))
                };
            }
            w.update(DocId::Private, |d| Ok(docs::put_relationship(d, id, &rel)?))?;
            Ok(Unpaired {
                unpaired: rel.name,
                id,
                notice: !quietly,
            })
        })
    }

    /// Records that the friend of relationship `rel` ended the pairing, from the close reason
    /// their device answered with, once the notice in it checks against their person key (the
    /// one learned when pairing) and names this person. Returns when they ended it; `None` if
    /// the reason carries no notice, or one that does not check (then nothing is stored).
    pub fn record_ended(&self, rel: Id, reason: &[u8]) -> Result<Option<Timestamp>> {
        let Some(Ok(notice)) = EndNotice::from_close_reason(reason) else {
            return Ok(None);
        };
        let me = self.person.id();
        self.write(|w| {
            let private = w.private()?;
            let Some(mut r) = private.relationships.get(&rel).cloned() else {
                return Ok(None);
            };
            let Some(p) = r.peer.as_mut() else {
                return Ok(None);
            };
            let Ok(friend) = p.person.parse::<PersonId>() else {
                return Ok(None);
            };
            if notice.verify(&friend, &me).is_err() {
                tracing::info!(relationship = %rel, "a notice that the pairing ended does not check; ignored");
                return Ok(None);
            }
            // A notice from before the latest pairing with them ends an earlier pairing.
            if notice.at < p.paired {
                return Ok(None);
            }
            if p.ended.is_some() {
                return Ok(p.ended);
            }
            p.ended = Some(notice.at);
            w.update(DocId::Private, |d| Ok(docs::put_relationship(d, rel, &r)?))?;
            Ok(Some(notice.at))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An invitation is used up by the first joiner who proves its secret: a second claim, and
    /// any lookup after it, is told it was used. (Two claims at once cannot both pass: `claim`
    /// checks and marks under one lock.)
    #[test]
    fn an_invitation_is_claimed_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path()).expect("store");
        let id = InviteId([7; 16]);
        let stored = StoredInvite {
            ticket: "not read by claim".to_owned(),
            used: false,
        };
        let bytes = serde_json::to_vec(&stored).expect("JSON");
        store.set_meta(MetaKey::Invite(id), &bytes).expect("stored");
        let invitations = HomeInvitations {
            store: std::sync::Mutex::new(store),
            clock: Timestamp(0),
            started: std::time::Instant::now(),
        };
        invitations.claim(&id).expect("the first claim");
        assert!(matches!(invitations.claim(&id), Err(InvitationError::Used)));
        assert!(matches!(
            invitations.lookup(&id),
            Err(InvitationError::Used)
        ));
        let other = InviteId([8; 16]);
        assert!(matches!(
            invitations.claim(&other),
            Err(InvitationError::Unknown)
        ));
    }
}
