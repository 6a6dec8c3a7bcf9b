//! tapin's networking: the iroh endpoint, the pairing and sync protocols, and the node that wires
//! the store and sync sessions to connections.
//!
//! Nothing lives here yet: the offline app needs no network. Pairing (`tapin/pair/1`) and sync
//! (`tapin/sync/1`) land here, and this crate will be the only one that knows iroh. The ALPN
//! names are fixed now so the on-disk and wire documentation can refer to them.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

/// The ALPN of the pairing protocol.
pub const PAIR_ALPN: &[u8] = b"tapin/pair/1";

/// The ALPN of the sync protocol.
pub const SYNC_ALPN: &[u8] = b"tapin/sync/1";
