//! Identifiers of records and documents.
//!
//! Record ids are 128 random bits, written as 32 lowercase hex digits. Randomness is a parameter:
//! the caller passes the bytes in, so the core stays free of I/O and deterministic in tests.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// The id of one record: a relationship, goal, ritual, check-in, journal entry, …
///
/// Users refer to records by any unique prefix of the hex form (like git commits), so the full
/// form never has to be typed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Id([u8; 16]);

impl Id {
    /// An id from 16 random bytes supplied by the caller.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// A fixed id derived from a label: the same label always gives the same id. For tests,
    /// fixtures and examples, where a readable name is clearer than random bytes.
    pub fn named(label: &str) -> Self {
        let hash = blake3::derive_key("tapin fixed record id v1", label.as_bytes());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&hash[..16]);
        Self(bytes)
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// The short form shown to people: the first 8 hex digits.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..4])
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({self})")
    }
}

impl autosurgeon::Reconcile for Id {
    type Key<'a> = autosurgeon::reconcile::NoKey;

    fn reconcile<R: autosurgeon::Reconciler>(&self, mut reconciler: R) -> Result<(), R::Error> {
        reconciler.str(self.to_string())
    }
}

impl autosurgeon::Hydrate for Id {
    fn hydrate_string(s: &'_ str) -> Result<Self, autosurgeon::HydrateError> {
        s.parse().map_err(|_| {
            autosurgeon::HydrateError::unexpected("an id of 32 hex digits", s.to_owned())
        })
    }
}

/// An id string was not 32 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid id {0:?}: expected 32 hex digits")]
pub struct ParseIdError(pub String);

impl FromStr for Id {
    type Err = ParseIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = [0u8; 16];
        hex::decode_to_slice(s, &mut out).map_err(|_| ParseIdError(s.to_owned()))?;
        Ok(Self(out))
    }
}

impl From<Id> for String {
    fn from(id: Id) -> Self {
        id.to_string()
    }
}

impl TryFrom<String> for Id {
    type Error = ParseIdError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// Which automerge document a record lives in.
///
/// The privacy promise rests on this type: [`DocId::Side`] is the only kind of document that is
/// ever shareable, and it holds only what its owner chose to share with one friend. Everything
/// private lives in [`DocId::Private`], [`DocId::JournalWeek`] or the retired [`DocId::Journal`],
/// and there is no field or flag that turns those into something a friend may receive.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum DocId {
    /// The person's private home document: relationships and their settings, reflections, and
    /// the records of each relationship that are not shared. Never leaves the person's devices.
    Private,
    /// The journal as one document, as releases before the split kept it. Retired: a home's
    /// entries are moved into [`DocId::JournalWeek`] documents once, and this document is then
    /// marked with a newer schema so that an older tapin refuses it rather than misreads it
    /// (docs/FORMAT.md, "The journal, week by week"). Never leaves the person's devices.
    Journal,
    /// The private journal entries written in one ISO week (UTC) of their `at`. Never leaves
    /// the person's devices.
    JournalWeek(Week),
    /// The person's shared side of one relationship, keyed by the relationship's id. This is the
    /// only document a paired friend may hold (as a read-only replica).
    Side(Id),
    /// The read-only replica of the friend's side of one relationship, keyed by *my*
    /// relationship id. Written only by sync, with changes authored by the friend's devices; never
    /// sent to anyone but that friend.
    Replica(Id),
}

impl DocId {
    /// Whether this document may ever be sent to a friend. Only side documents can.
    pub fn is_shareable(&self) -> bool {
        matches!(self, DocId::Side(_))
    }

    /// The journal document an entry written at `at` lives in: the ISO week of `at`'s UTC
    /// date, so every device of a person in any time zone puts it in the same document.
    pub fn journal_for(at: Timestamp) -> DocId {
        DocId::JournalWeek(Week::of(at))
    }

    /// Whether this is one of the journal's week documents.
    pub fn is_journal_week(&self) -> bool {
        matches!(self, DocId::JournalWeek(_))
    }
}

/// A week of journal entries: an ISO 8601 week (Monday to Sunday) of a UTC date, named by its
/// ISO week-numbering year (`2026-W48`), or [`Week::UNDATED`] for entries whose time is outside
/// the years 0–9999 (a damaged record still needs a place; it is never dropped).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Week {
    /// The ISO week-numbering year (which differs from the calendar year around 1 January).
    year: u16,
    /// 1–53; 0 only in [`Week::UNDATED`].
    week: u8,
}

impl Week {
    /// Where entries with no usable date go: `journal-undated`.
    pub const UNDATED: Week = Week { year: 0, week: 0 };

    /// An ISO week, if that year has it (52 or 53 weeks) and `year` is 0–9999.
    pub fn new(year: u16, week: u8) -> Option<Week> {
        chrono::NaiveDate::from_isoywd_opt(i32::from(year), u32::from(week), chrono::Weekday::Mon)
            .filter(|_| year <= 9999 && week >= 1)
            .map(|_| Week { year, week })
    }

    /// The ISO week of an instant's UTC date; [`Week::UNDATED`] outside the years 0–9999.
    pub fn of(at: Timestamp) -> Week {
        use chrono::Datelike;
        chrono::DateTime::from_timestamp_millis(at.0)
            .and_then(|t| {
                let iso = t.iso_week();
                Week::new(
                    u16::try_from(iso.year()).ok()?,
                    u8::try_from(iso.week()).ok()?,
                )
            })
            .unwrap_or(Week::UNDATED)
    }
}

impl fmt::Display for Week {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Week::UNDATED {
            f.write_str("undated")
        } else {
            write!(f, "{:04}-W{:02}", self.year, self.week)
        }
    }
}

impl FromStr for Week {
    type Err = ();

    /// `YYYY-Www` exactly (four digits, `-W`, two digits), or `undated`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "undated" {
            return Ok(Week::UNDATED);
        }
        let b = s.as_bytes();
        let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
        if b.len() != 8 || &b[4..6] != b"-W" || !digits(0..4) || !digits(6..8) {
            return Err(());
        }
        let year = s[..4].parse().map_err(drop)?;
        let week = s[6..].parse().map_err(drop)?;
        Week::new(year, week).ok_or(())
    }
}

impl fmt::Display for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DocId::Private => f.write_str("private"),
            DocId::Journal => f.write_str("journal"),
            DocId::JournalWeek(week) => write!(f, "journal-{week}"),
            DocId::Side(id) => write!(f, "side-{id}"),
            DocId::Replica(id) => write!(f, "replica-{id}"),
        }
    }
}

/// A document name that tapin does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown document name {0:?}")]
pub struct ParseDocIdError(pub String);

impl FromStr for DocId {
    type Err = ParseDocIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "private" => Ok(DocId::Private),
            "journal" => Ok(DocId::Journal),
            _ => {
                let parse = |prefix: &str| s.strip_prefix(prefix).and_then(|hex| hex.parse().ok());
                parse("side-")
                    .map(DocId::Side)
                    .or_else(|| parse("replica-").map(DocId::Replica))
                    .or_else(|| {
                        let week = s.strip_prefix("journal-")?.parse().ok()?;
                        Some(DocId::JournalWeek(week))
                    })
                    .ok_or_else(|| ParseDocIdError(s.to_owned()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_ids_round_trip_through_their_names() {
        let side = DocId::Side(Id::from_bytes([7; 16]));
        for doc in [
            DocId::Private,
            DocId::Journal,
            DocId::JournalWeek(Week::new(2026, 48).unwrap()),
            DocId::JournalWeek(Week::new(2026, 53).unwrap()),
            DocId::JournalWeek(Week::UNDATED),
            side,
            DocId::Replica(Id::from_bytes([8; 16])),
        ] {
            assert_eq!(doc.to_string().parse::<DocId>(), Ok(doc));
        }
        assert_eq!(side.to_string(), "side-07070707070707070707070707070707");
    }

    #[test]
    fn an_entry_lives_in_the_iso_week_of_its_utc_date() {
        let at = |s: &str| {
            Timestamp(
                chrono::DateTime::parse_from_rfc3339(s)
                    .unwrap()
                    .timestamp_millis(),
            )
        };
        let name = |s| DocId::journal_for(at(s)).to_string();
        // Sunday 29 November 2026 ends week 48; Monday 30 November starts week 49.
        assert_eq!(name("2026-11-29T23:59:59.999Z"), "journal-2026-W48");
        assert_eq!(name("2026-11-30T00:00:00Z"), "journal-2026-W49");
        // A time zone does not move an entry: 00:30 on Monday in Berlin is Sunday in UTC.
        assert_eq!(name("2026-11-30T00:30:00+01:00"), "journal-2026-W48");
        // Around 1 January the ISO year is the week's: 1 January 2027 is in 2026's week 53.
        assert_eq!(name("2027-01-01T12:00:00Z"), "journal-2026-W53");
        assert_eq!(name("1969-12-31T23:59:59Z"), "journal-1970-W01");
        assert_eq!(
            DocId::journal_for(Timestamp(i64::MAX)).to_string(),
            "journal-undated"
        );
        assert_eq!(
            DocId::journal_for(Timestamp(i64::MIN)).to_string(),
            "journal-undated"
        );
    }

    #[test]
    fn only_sides_are_shareable() {
        assert!(!DocId::Private.is_shareable());
        assert!(!DocId::Journal.is_shareable());
        assert!(!DocId::journal_for(Timestamp(0)).is_shareable());
        assert!(DocId::Side(Id::from_bytes([1; 16])).is_shareable());
    }

    #[test]
    fn malformed_names_are_refused() {
        for bad in [
            "",
            "side-",
            "side-xyz",
            "Private",
            "side-0707",
            "journal-",
            "journal-2026-11",
            "journal-2026-W00",
            "journal-2025-W53",
            "journal-2026-W54",
            "journal-2026-W1",
            "journal-+026-W01",
            "journal-2026-w01",
            "journal-2026-W01 ",
        ] {
            assert!(bad.parse::<DocId>().is_err(), "{bad} parsed");
        }
    }
}
