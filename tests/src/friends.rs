//! Friends the tests and benchmarks play in their own process: the relationship a home keeps
//! for one, as pairing writes it, without pairing, what a node on loopback says about itself, and
//! a thanks note to give them something to sync.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;

use tapin_core::docs::{self, Collection, Place};
use tapin_core::identity::{DeviceKey, PersonKey};
use tapin_core::model::{Peer, PeerDevice, Relationship, RelationshipStatus, Risk, Thanks};
use tapin_core::time::{Day, Timestamp};
use tapin_core::{DocId, Id};
use tapin_net::endpoint::{Advertise, Relay};
use tapin_net::node::Local;
use tapin_store::{Store, UpdateError};

use crate::Rng;

/// A relationship paired with one device of the friend, `friend`, known at `addrs`, as pairing
/// writes it. The friend's person key is derived from the device's id, so the same device always
/// has the same person.
pub fn paired(
    name: &str,
    friend: &DeviceKey,
    addrs: &[SocketAddr],
    now: Timestamp,
) -> Relationship {
    let person = PersonKey::from_secret(Rng(friend.id().to_bytes()[0] as u64 + 99).secret());
    let cert = person.certify(friend.id(), "device", now);
    let mut devices = BTreeMap::new();
    devices.insert(
        friend.id().to_string(),
        PeerDevice {
            name: "device".to_owned(),
            cert: hex(&cert.to_bytes()),
            addrs: addrs.iter().map(ToString::to_string).collect(),
            added: now,
            relay: None,
        },
    );
    Relationship {
        name: name.to_owned(),
        importance: 3,
        risk: Risk::Medium,
        rhythm: None,
        status: RelationshipStatus::Active,
        created: now,
        snoozed_until: None,
        peer: Some(Peer {
            person: person.id().to_string(),
            name: name.to_owned(),
            devices: devices.into(),
            paired: now,
            unpaired: None,
            notice: None,
            ended: None,
        }),
    }
}

/// What a node in a test says about itself: named `name`, on loopback, with no relay and no mDNS.
pub fn local(name: &str) -> Local {
    Local {
        name: name.to_owned(),
        relay: Relay::None,
        advertise: Advertise::Bound,
        mdns: false,
    }
}

/// Writes thanks note number `n` into `rel`'s shared side, as `tapin thanks` does: one change.
pub fn thank(
    store: &Store,
    author: &DeviceKey,
    rel: Id,
    n: usize,
) -> Result<(), UpdateError<docs::DocError>> {
    let thanks = Thanks {
        on: Day::ymd(2026, 11, 22).expect("a real day"),
        text: format!("Thank you for the soup ({n})"),
        created: Timestamp(1_795_000_000_000 + n as i64),
    };
    let id = Id::named(&format!("thanks-{n}"));
    store.update(&DocId::Side(rel), &author.actor(), |d| {
        docs::put_record(d, Place::Shared(rel), Collection::Thanks, id, &thanks)
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
