//! The tapin domain.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod docs;
pub mod identity;
pub mod ids;
pub mod model;
pub mod pairing;
pub mod records;
pub mod saved;
pub mod sync;
pub mod time;
pub mod validate;
pub mod variant;
pub mod views;

pub use ids::{DocId, Id};
