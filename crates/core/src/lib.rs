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

pub use ids::{DocId, Id, Week};

/// An error and its causes on one line, as `a: b: c` (what `anyhow` prints with `{:#}`): for a
/// log line, a close reason, an event, or a message that carries another error's words.
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}
