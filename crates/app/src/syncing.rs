//! Syncing with paired friends: once (`sync`), or for as long as the front-end runs a node
//! (`serve`). Only my side of each relationship and my replica of theirs ever travel; private
//! documents have no path to the network.

use std::sync::Arc;

use serde::Serialize;
use tapin_net::endpoint::{self, Advertise, Gate, Holds, NetConfig};
use tapin_net::gate::HomeGate;
use tapin_net::node::{self, Event, Options, Pairing, Unsynced};
use tapin_net::sync::SyncStats;
use tapin_store::Store;

use crate::error::{Error, Result, invalid};
use crate::home::Home;
use crate::net::NetOverrides;
use crate::pairing::blocking;
use crate::reading::{Docs, find_person};

/// Which way the packets of an exchange went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Path {
    /// Straight between the two devices: a LAN, a reachable address, or a hole punched through
    /// both NATs.
    Direct,
    /// Through a relay, which forwards the encrypted packets and sees who talks to whom, and
    /// when.
    Relay,
}

/// What moved in one exchange, or in all of a sync with one friend.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Moved {
    /// Bytes sent.
    pub sent_bytes: u64,
    /// Bytes received.
    pub received_bytes: u64,
    /// Changes newly received.
    pub received_changes: u64,
    /// Round trips.
    pub rounds: u32,
    /// The path the connection used when the exchange ended (`direct` or `relay`), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<Path>,
}

impl From<SyncStats> for Moved {
    fn from(s: SyncStats) -> Self {
        Moved {
            sent_bytes: s.sent_bytes,
            received_bytes: s.received_bytes,
            received_changes: s.received_changes,
            rounds: s.rounds,
            path: s.path.map(Path::from),
        }
    }
}

impl From<tapin_net::sync::Path> for Path {
    fn from(p: tapin_net::sync::Path) -> Self {
        match p {
            tapin_net::sync::Path::Direct => Path::Direct,
            tapin_net::sync::Path::Relay => Path::Relay,
        }
    }
}

/// One friend in a sync.
#[derive(Debug, Clone, Serialize)]
pub struct Friend {
    /// What I call them.
    pub name: String,
    /// The relationship.
    pub relationship: String,
    /// Whether one of their devices was reached and synced with.
    pub reached: bool,
    /// What moved, if reached.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub moved: Option<Moved>,
    /// Why not, if not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why not, as a stable name: `their-tapin-is-older`, `their-tapin-is-newer`, `relay-off`,
    /// `mdns-off`, `not-serving`, `unreachable`, `pairing-ended`, `failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// Whether the reason is a version difference (its message names the friend itself).
    #[serde(skip)]
    pub version: bool,
}

/// A sync with every paired friend (or one). `--json` of `sync` is this.
#[derive(Debug, Clone, Serialize)]
pub struct Synced {
    /// Each friend.
    pub friends: Vec<Friend>,
}

/// What a running node reports.
#[derive(Debug, Clone)]
pub enum NodeEvent {
    /// A friend's device connected or was dialled.
    Connected {
        /// The friend.
        name: String,
    },
    /// An exchange finished.
    Synced {
        /// The friend.
        name: String,
        /// What moved.
        moved: Moved,
    },
    /// A connection ended.
    Disconnected {
        /// The friend.
        name: String,
        /// Why.
        reason: String,
    },
    /// A friend's tapin is too old or too new to sync with this one.
    Version(String),
    /// A friend ended the pairing, and their signed notice says so: in words.
    Ended(String),
}

fn reason(why: &Unsynced) -> &'static str {
    match why {
        Unsynced::TheirsOlder { .. } => "their-tapin-is-older",
        Unsynced::TheirsNewer { .. } => "their-tapin-is-newer",
        Unsynced::RelayOff { .. } => "relay-off",
        Unsynced::NotLookedFor { .. } => "mdns-off",
        Unsynced::NotServing => "not-serving",
        Unsynced::Unreachable(_) => "unreachable",
        Unsynced::Failed(_) => "failed",
        Unsynced::Ended { .. } => "pairing-ended",
    }
}

/// Opens a second connection to the home's database, for the network's own use.
async fn open_store(home: &Home) -> Result<Store> {
    let path = home.path().to_owned();
    blocking(move || crate::pairing::open_store(&path)).await
}

fn net_error(what: &str, e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::Net {
        what: what.to_owned(),
        source: Box::new(e),
    }
}

impl Home {
    /// The relationships a sync is with: every paired one, or `person` (who must be paired).
    fn links(&self, person: Option<&str>) -> Result<Vec<tapin_net::sync::Link>> {
        self.peek(|r| {
            let mut links = tapin_net::sync::links(r.store())
                .map_err(|e| net_error("could not read your pairings", e))?;
            if let Some(p) = person {
                let (id, rel) = find_person(&r.private()?, p)?;
                if let Some(at) = rel.peer.as_ref().and_then(|p| p.ended) {
                    invalid!(
                        "{}; nothing syncs between you any more",
                        crate::words::they_ended(&rel.name, at)
                    );
                }
                if !rel.is_paired() {
                    invalid!(
                        "{} is not paired; pair first with `tapin invite` / `tapin join`",
                        rel.name
                    );
                }
                links.retain(|l| l.rel == id);
            }
            Ok(links)
        })
    }

    /// Syncs once with every paired friend that can be reached now (or only `person`, who must
    /// be paired): dial, one exchange, close. Who was not reached, and why, is in the result.
    pub async fn sync_once(
        self: &Arc<Self>,
        person: Option<&str>,
        net: &NetOverrides,
    ) -> Result<Synced> {
        let home = self.clone();
        let who = person.map(str::to_owned);
        let links = blocking(move || home.links(who.as_deref())).await?;
        if links.is_empty() {
            return Ok(Synced {
                friends: Vec::new(),
            });
        }
        let config = self.net_config_off_runtime(net).await?;
        let gate = Arc::new(HomeGate::new(open_store(self).await?));
        // The home's port if it is free (no `tapin serve` running), so friends may be told it;
        // otherwise any port. It serves nothing: a friend's node dialling it hears that nothing
        // here serves sync, and dials again later.
        let (ep, holds) =
            endpoint::bind_home(self.device.secret(), &config, gate as Arc<dyn Gate>, vec![])
                .await
                .map_err(|e| net_error("could not start the network", e))?;
        // Friends are told only addresses this command is bound to, and only the home's port:
        // another port is gone a moment later, so they keep what they know (the server's).
        let local = self.local(
            &config,
            match holds {
                Holds::HomePort => Advertise::Bound,
                Holds::OtherPort | Holds::AnyPort => Advertise::Nothing,
            },
        );
        let results = node::sync_once(
            &ep,
            self.path(),
            &self.device,
            &local,
            &links,
            &config.timeouts,
        )
        .await;
        ep.close().await;
        let mut friends = Vec::new();
        for (link, result) in &results {
            let friend = match result {
                Ok(stats) => Friend {
                    name: link.name.clone(),
                    relationship: link.rel.to_string(),
                    reached: true,
                    moved: Some((*stats).into()),
                    error: None,
                    reason: None,
                    version: false,
                },
                Err(Unsynced::Ended { reason: said, .. }) => Friend {
                    name: link.name.clone(),
                    relationship: link.rel.to_string(),
                    reached: false,
                    moved: None,
                    error: Some(self.ended(link.rel, &link.name, said.clone()).await),
                    reason: Some("pairing-ended"),
                    version: false,
                },
                Err(why) => Friend {
                    name: link.name.clone(),
                    relationship: link.rel.to_string(),
                    reached: false,
                    moved: None,
                    error: Some(crate::error::chain(why)),
                    reason: Some(reason(why)),
                    version: why.is_version(),
                },
            };
            friends.push(friend);
        }
        Ok(Synced { friends })
    }

    /// Records that the friend of `link` ended the pairing, from the close reason their device
    /// answered with, and says it in words.
    async fn ended(
        self: &Arc<Self>,
        rel: tapin_core::Id,
        name: &str,
        said: Arc<Vec<u8>>,
    ) -> String {
        let home = self.clone();
        match blocking(move || home.record_ended(rel, &said)).await {
            Ok(Some(at)) => format!(
                "{}; nothing syncs between you any more. What you have of them stays here.",
                crate::words::they_ended(name, at)
            ),
            Ok(None) => "their device says the pairing ended, but its notice does not check                          against their key; nothing was changed here"
                .to_owned(),
            Err(e) => format!(
                "their device says the pairing ended, but it could not be recorded: {}",
                crate::error::chain(&e)
            ),
        }
    }

    /// Runs this home's node until `shutdown` resolves: accepts paired devices, dials friends,
    /// and pushes local changes as they happen. `on_start` gets the addresses it listens on;
    /// `events` what happens.
    pub async fn serve(
        self: &Arc<Self>,
        net: &NetOverrides,
        on_start: impl FnOnce(Vec<String>),
        events: tokio::sync::mpsc::UnboundedSender<NodeEvent>,
        shutdown: impl Future<Output = ()>,
    ) -> Result<()> {
        let config: NetConfig = self.net_config_off_runtime(net).await?;
        let gate = Arc::new(HomeGate::new(open_store(self).await?));
        // Every protocol the node serves, from the start: a friend who dials as soon as this
        // says it is serving finds them.
        let alpns = tapin_net::SYNC_ALPNS
            .iter()
            .chain(&tapin_net::PAIR_ALPNS)
            .map(|a| a.to_vec())
            .collect();
        let ep = endpoint::bind(
            self.device.secret(),
            &config,
            gate.clone() as Arc<dyn Gate>,
            alpns,
        )
        .await
        .map_err(|e| net_error("could not start listening", e))?;
        on_start(
            endpoint::direct_addrs(&ep)
                .iter()
                .map(ToString::to_string)
                .collect(),
        );
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let home = self.clone();
        let forward = tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                let event = match event {
                    Event::Connected { name, .. } => NodeEvent::Connected { name },
                    Event::Synced { name, stats, .. } => NodeEvent::Synced {
                        name,
                        moved: stats.into(),
                    },
                    Event::Disconnected { name, reason } => {
                        NodeEvent::Disconnected { name, reason }
                    }
                    Event::Version(why) => NodeEvent::Version(why.to_string()),
                    Event::Ended { rel, name, reason } => {
                        NodeEvent::Ended(home.ended(rel, &name, reason).await)
                    }
                };
                if events.send(event).is_err() {
                    break;
                }
            }
        });
        let local = self.local(&config, Advertise::Bound);
        // The node also answers joiners for an invitation opened in this process (a front-end
        // that runs its node and invites through it, like a web app; `tapin invite` runs in a
        // process of its own).
        let options = Options {
            events: Some(tx),
            pairing: Some(Pairing {
                invitations: gate.invitations().clone(),
                cert: self.cert.clone(),
            }),
            ..Options::serve(local, config.timeouts)
        };
        let ran = node::run(ep, self.path(), self.device.clone(), options, shutdown).await;
        forward.abort();
        ran.map_err(|e| net_error("the node stopped", e))
    }
}
