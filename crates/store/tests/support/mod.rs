//! What the store's integration tests share.
//!
//! A `mod.rs` rather than `tests/support.rs`: Cargo builds every file directly in `tests/` as a
//! test binary of its own, and this module has no tests.

use automerge::{Automerge, ROOT, ReadDoc, ScalarValue, Value};

/// The integer at `key` in the root of `doc`, if there is one.
pub(crate) fn get(doc: &Automerge, key: &str) -> Option<i64> {
    match doc.get(ROOT, key).ok()?? {
        (Value::Scalar(scalar), _) => match scalar.as_ref() {
            ScalarValue::Int(n) => Some(*n),
            _ => None,
        },
        _ => None,
    }
}
