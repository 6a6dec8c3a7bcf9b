//! tapin's networking: the iroh endpoint, the allowlist that guards it, the pairing and sync
//! protocols, and the node that serves them. Only this crate knows iroh.
//!
//! Every connection is checked right after the QUIC handshake, when the remote's endpoint id
//! (its device key) and ALPN are known and before any application byte is read: the sync ALPN
//! admits only paired devices, the pairing ALPN admits anyone only while an invitation is open in
//! the process, and any other ALPN is refused. See [`endpoint::Gate`]. Past the gate, a node
//! ([`node::Node`]) is iroh's `Router` with one protocol handler per ALPN family: sync, and
//! pairing ([`invitations::PairHandler`]).
//!
//! Every wait is bounded by a [`Timeouts`], passed to each function that waits, and no store
//! call runs on the async runtime ([`shared::SharedStore`]).
//!
//! Protocols are versioned by ALPN, and every version ever defined stays accepted: the current
//! ones are spoken, older ones either still spoken or answered with a clear "update tapin"
//! ([`version`]).
//!
//! ```no_run
//! # async fn example() -> Result<(), tapin_net::endpoint::BindError> {
//! use std::sync::Arc;
//! use tapin_net::endpoint::{self, Gate, NetConfig};
//!
//! #[derive(Debug)]
//! struct NobodyYet;
//! impl Gate for NobodyYet {
//!     fn allow_sync(&self, _device: &[u8; 32]) -> bool { false }
//!     fn allow_pairing(&self) -> bool { true }
//! }
//! let config = NetConfig::loopback();
//! let alpns = tapin_net::PAIR_ALPNS.iter().map(|a| a.to_vec()).collect();
//! let ep = endpoint::bind([7; 32], &config, Arc::new(NobodyYet), alpns).await?;
//! println!("listening on {:?}", ep.addr());
//! # Ok(()) }
//! ```
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod endpoint;
pub mod frame;
pub mod gate;
pub mod invitations;
pub mod node;
pub mod pair;
pub mod shared;
pub mod sync;
pub mod timeouts;
pub mod version;

pub use timeouts::Timeouts;

/// The pairing protocol this build speaks first. Version 2's join request carries the joiner's
/// relay.
pub const PAIR_ALPN: &[u8] = b"tapin/pair/2";

/// The pairing protocol of release c2a9253 and before, still served and offered so people on
/// either version pair with each other.
pub const PAIR_ALPN_V1: &[u8] = b"tapin/pair/1";

/// Every pairing ALPN this build speaks, newest first: what an inviter serves (the serving side's
/// order decides) and what a joiner offers.
pub const PAIR_ALPNS: [&[u8]; 2] = [PAIR_ALPN, PAIR_ALPN_V1];

/// The sync protocol this build speaks first. Version 4 opens each exchange with both sides'
/// hello (reach, and what each holds of the other's side), and sends a first sync's snapshot in
/// parts, so that one cut short resumes where it stopped.
pub const SYNC_ALPN: &[u8] = b"tapin/sync/4";

/// Version 3, still served and offered: each exchange opens with both sides' reach (direct
/// addresses and relay); a first sync's snapshot is one frame.
pub const SYNC_ALPN_V3: &[u8] = b"tapin/sync/3";

/// The sync protocol of release c2a9253, still served and offered, exactly as that release
/// speaks it.
pub const SYNC_ALPN_V2: &[u8] = b"tapin/sync/2";

/// The first sync protocol, no longer spoken. It is still served and offered, only to tell the
/// other side that its tapin is too old (close code [`version::OUTDATED`]) instead of failing
/// the handshake.
pub const SYNC_ALPN_V1: &[u8] = b"tapin/sync/1";

/// Every sync ALPN this build accepts, newest first: what `tapin serve` serves (the serving
/// side's order decides) and what a dialler offers.
pub const SYNC_ALPNS: [&[u8]; 4] = [SYNC_ALPN, SYNC_ALPN_V3, SYNC_ALPN_V2, SYNC_ALPN_V1];

pub use iroh::Endpoint;

/// An error and its causes on one line ("refused the peer's addresses: 17 addresses, …"), as a
/// log line, a close reason or an event says it.
pub(crate) use tapin_core::chain;
