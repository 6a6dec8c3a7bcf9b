//! What makes a record valid: ranges, lengths and ids, checked the same way wherever a record
//! comes from — a command, an import, or a document read from disk or a friend.
//!
//! Two strengths ([`Mode`]):
//!
//! - [`Mode::Read`], for records read from a document: the ranges the views rely on (a rating of
//!   1–5, a monthly day of 1–31, a date between 1900 and 2199, …). A record that fails is
//!   skipped and counted, never shown half-understood. Lengths are not checked here: a long text
//!   written by an earlier release must stay readable.
//! - [`Mode::Input`], for what a person or a file asks tapin to write: everything [`Mode::Read`]
//!   checks, plus the length limits below, and no value this build could not write back exactly
//!   (a variant it does not know, where it cannot keep the fields that came with it).
//!
//! The limits are generous for people and small enough that no screen, export or sync message is
//! ever swamped by one record.

use std::fmt;

use crate::time::{Day, Interval};

/// The most characters in a name: a relationship's, or a person's own display name.
pub const MAX_NAME: usize = 100;
/// The most characters in a title: a goal's, a ritual's, a step's, a guideline.
pub const MAX_TITLE: usize = 200;
/// The most characters in a note: a thanks, a boundary, what went well, a reflection's answer.
pub const MAX_TEXT: usize = 5_000;
/// The most characters in one journal entry.
pub const MAX_ENTRY: usize = 100_000;
/// The most characters in one tag.
pub const MAX_TAG: usize = 64;
/// The most items in a list of a record (tags, guidelines, steps, reviews, …).
pub const MAX_ITEMS: usize = 200;
/// The most days a ritual records as kept (a daily ritual for 27 years).
pub const MAX_OCCURRENCES: usize = 10_000;
/// The longest interval: a rhythm or a ritual's period, in days (10 years).
pub const MAX_INTERVAL_DAYS: u32 = 3_650;
/// The earliest year a date may have.
pub const FIRST_YEAR: i32 = 1900;
/// The latest year a date may have.
pub const LAST_YEAR: i32 = 2199;

/// How strictly to check; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A record read from a document.
    Read,
    /// A record about to be written from a command or an import.
    Input,
}

/// Why a record is not valid: the field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct Invalid {
    /// The field, as named in the JSON export (`rating`, `recurrence.day`).
    pub field: String,
    /// What is wrong, in words: "99 is out of range 1–5".
    pub problem: String,
}

impl Invalid {
    /// An error about `field`.
    pub fn new(field: impl Into<String>, problem: impl fmt::Display) -> Self {
        Invalid {
            field: field.into(),
            problem: problem.to_string(),
        }
    }

    /// The same error inside `outer` (`steps.3fa2…: text: …`).
    pub fn within(self, outer: impl fmt::Display) -> Self {
        Invalid {
            field: format!("{outer}.{}", self.field),
            problem: self.problem,
        }
    }
}

/// A record that can say whether it is valid. See the module docs.
pub trait Validate {
    /// `Ok` if the record is valid for `mode`.
    fn validate(&self, mode: Mode) -> Result<(), Invalid>;
}

impl<T: Validate + ?Sized> Validate for &T {
    fn validate(&self, mode: Mode) -> Result<(), Invalid> {
        (**self).validate(mode)
    }
}

impl<T: Validate> Validate for Option<T> {
    fn validate(&self, mode: Mode) -> Result<(), Invalid> {
        self.as_ref().map_or(Ok(()), |v| v.validate(mode))
    }
}

/// `value` within `min..=max`.
pub fn range<T: PartialOrd + fmt::Display>(
    field: &str,
    value: T,
    min: T,
    max: T,
) -> Result<(), Invalid> {
    if value < min || value > max {
        return Err(Invalid::new(
            field,
            format!("{value} is out of range {min}–{max}"),
        ));
    }
    Ok(())
}

/// A text of at most `max` characters (in [`Mode::Input`] only), and not empty if `required`.
pub fn text(
    field: &str,
    value: &str,
    max: usize,
    required: bool,
    mode: Mode,
) -> Result<(), Invalid> {
    if required && value.trim().is_empty() {
        return Err(Invalid::new(field, "cannot be empty"));
    }
    if mode == Mode::Input {
        let chars = value.chars().count();
        if chars > max {
            return Err(Invalid::new(
                field,
                format!("is {chars} characters long; the limit is {max}"),
            ));
        }
    }
    Ok(())
}

/// A list of at most `max` items (in [`Mode::Input`] only).
pub fn count(field: &str, len: usize, max: usize, mode: Mode) -> Result<(), Invalid> {
    if mode == Mode::Input && len > max {
        return Err(Invalid::new(
            field,
            format!("has {len} items; the limit is {max}"),
        ));
    }
    Ok(())
}

/// A date between [`FIRST_YEAR`] and [`LAST_YEAR`].
pub fn day(field: &str, value: Day) -> Result<(), Invalid> {
    let year = chrono::Datelike::year(&value.0);
    if !(FIRST_YEAR..=LAST_YEAR).contains(&year) {
        return Err(Invalid::new(
            field,
            format!("{value} is not between {FIRST_YEAR} and {LAST_YEAR}"),
        ));
    }
    Ok(())
}

/// An interval of 1 to [`MAX_INTERVAL_DAYS`] days.
pub fn interval(field: &str, value: Interval) -> Result<(), Invalid> {
    range(field, value.days, 1, MAX_INTERVAL_DAYS)
}

/// An enum value this build can write back unchanged (every unit variant can; see
/// [`crate::variant`]). Used for values whose unknown variants carry data this build cannot
/// keep when it writes a new record.
pub fn known(field: &str, is_known: bool, mode: Mode) -> Result<(), Invalid> {
    if mode == Mode::Input && !is_known {
        return Err(Invalid::new(
            field,
            "is a kind this version of tapin cannot write",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_field_and_the_problem() {
        assert_eq!(
            range("rating", 99, 1, 5).unwrap_err().to_string(),
            "rating: 99 is out of range 1–5"
        );
        assert_eq!(
            text("text", &"x".repeat(6), 5, true, Mode::Input)
                .unwrap_err()
                .within("thanks.1a2b")
                .to_string(),
            "thanks.1a2b.text: is 6 characters long; the limit is 5"
        );
        assert!(text("text", &"x".repeat(6), 5, true, Mode::Read).is_ok());
        assert!(text("text", " ", 5, true, Mode::Read).is_err());
        assert!(day("on", Day::ymd(1899, 12, 31).unwrap()).is_err());
        assert!(day("on", Day::ymd(2026, 11, 29).unwrap()).is_ok());
    }
}
