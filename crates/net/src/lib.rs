//! tapin's networking: the iroh endpoint, the allowlist that guards it, and the pairing
//! protocol. Only this crate knows iroh.
//!
//! Every connection is checked right after the QUIC handshake, when the remote's endpoint id
//! (its device key) and ALPN are known and before any application byte is read: the sync ALPN
//! admits only paired devices, the pairing ALPN admits anyone only while an invitation is open,
//! and any other ALPN is refused. See [`endpoint::Gate`].
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
//! let ep = endpoint::bind([7; 32], &config, Arc::new(NobodyYet), vec![tapin_net::PAIR_ALPN.to_vec()]).await?;
//! println!("listening on {:?}", ep.addr());
//! # Ok(()) }
//! ```
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod endpoint;
pub mod frame;
pub mod gate;
pub mod node;
pub mod pair;
pub mod sync;

/// The ALPN of the pairing protocol.
pub const PAIR_ALPN: &[u8] = b"tapin/pair/1";

/// The ALPN of the sync protocol.
pub const SYNC_ALPN: &[u8] = b"tapin/sync/2";

pub use iroh::Endpoint;
