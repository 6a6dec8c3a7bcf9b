//! The tapin engine: the one API every front-end (the CLI, later the local web app) is built on.
//!
//! A [`Home`] is one person's home on this device: its store, its identity, its clock and its
//! randomness. It has one method per use case — people, goals, rituals, check-ins, thanks,
//! boundaries, reflections, the journal, export and import, and the page models behind `show`,
//! `today`, `history`, `people` and the report — and each use case that writes is one SQLite
//! transaction that reads what it changes inside it, however many documents it touches. Results
//! are typed and `Serialize`: a front-end's `--json` is their serialisation, and its text is its
//! own. Errors are [`Error`], with the cause kept as `source`.
//!
//! The engine owns every rule about where records go (sharing is a move between places), every
//! trust boundary (a friend's replica is read record by record, an import is checked as a command
//! would be, a cache is used only when it verifies) and every wording a person reads that is not
//! layout. It never parses command lines and never prints.
//!
//! ```
//! use tapin_app::{Clock, Home, NetSettings, NewHome, people::PersonSettings};
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("maya");
//! let new = NewHome { name: "Maya".into(), device: "laptop".into(), net: NetSettings::default() };
//! Home::create(&path, &new, Clock::System)?;
//! let home = Home::open(&path, Clock::System)?;
//! let added = home.add_person("Jordan", &PersonSettings::default())?;
//! assert_eq!(added.relationship.name, "Jordan");
//! assert_eq!(home.people(false)?.rows.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod error;
mod home;
mod net;
mod notices;
mod reading;

pub mod dates;
pub mod exchange;
pub mod goals;
pub mod journal;
pub mod notes;
pub mod pages;
pub mod pairing;
pub mod people;
pub mod records;
pub mod reflect;
pub mod report;
pub mod rituals;
pub mod syncing;
pub mod words;

pub use error::{Cause, Error, Result};
pub use home::{Clock, Created, DB_FILE, Home, NewHome, Whoami};
pub use net::NetOverrides;
pub use reading::{Unreadable, UnreadableSide};

/// The domain types results are made of: ids, days, records and derived views.
pub use tapin_core as core;

/// How a home's node binds and finds friends, as `init` keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetSettings {
    /// The UDP port friends dial (`None`: a random port, kept).
    pub port: Option<u16>,
    /// The address to bind.
    pub bind: std::net::IpAddr,
    /// Relays: `none`, `default` or a URL.
    pub relay: String,
    /// Local-network discovery over mDNS.
    pub mdns: Mdns,
}

/// Local-network discovery (mDNS): look for friends' devices on the networks this device joins,
/// and perhaps announce it. An announcement carries the device id and addresses to everyone on
/// the network, which links the device's visits (docs/NETWORK.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mdns {
    /// Neither look nor announce.
    Off,
    /// Look for friends' devices that announce themselves, never announce this one: the default
    /// for a new home.
    #[default]
    Listen,
    /// Look, and announce this device: for a network the person trusts.
    On,
}

impl From<Mdns> for tapin_net::endpoint::Mdns {
    fn from(m: Mdns) -> Self {
        match m {
            Mdns::Off => tapin_net::endpoint::Mdns::Off,
            Mdns::Listen => tapin_net::endpoint::Mdns::Listen,
            Mdns::On => tapin_net::endpoint::Mdns::Announce,
        }
    }
}

impl Default for NetSettings {
    fn default() -> Self {
        NetSettings {
            port: None,
            bind: std::net::IpAddr::from([0, 0, 0, 0]),
            relay: "none".to_owned(),
            mdns: Mdns::default(),
        }
    }
}
