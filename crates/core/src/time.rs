//! Calendar days, instants and intervals as they are stored in documents.
//!
//! A [`Day`] is a local calendar date ("the 4th of the month") and is stored as an ISO string, so a
//! ritual done on the 4th stays on the 4th wherever the device travels. A [`Timestamp`] is an
//! instant (milliseconds since the Unix epoch, UTC) used for ordering records. "Now" is never read
//! here: callers pass it in.

use std::fmt;
use std::str::FromStr;

use autosurgeon::{Hydrate, HydrateError, Reconcile, Reconciler};
use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// A calendar date in the person's own time zone.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Day(pub NaiveDate);

impl Day {
    /// The day for year, month and day-of-month, if it exists.
    pub fn ymd(year: i32, month: u32, day: u32) -> Option<Self> {
        NaiveDate::from_ymd_opt(year, month, day).map(Day)
    }

    /// This day plus `n` days (saturating at the calendar's end).
    pub fn plus_days(self, n: u64) -> Self {
        Day(self
            .0
            .checked_add_days(Days::new(n))
            .unwrap_or(NaiveDate::MAX))
    }

    /// This day minus `n` days (saturating at the calendar's start).
    pub fn minus_days(self, n: u64) -> Self {
        Day(self
            .0
            .checked_sub_days(Days::new(n))
            .unwrap_or(NaiveDate::MIN))
    }

    /// Whole days from `self` to `later` (negative when `later` is earlier).
    pub fn days_until(self, later: Day) -> i64 {
        (later.0 - self.0).num_days()
    }

    /// The first day of this day's month.
    pub fn month_start(self) -> Self {
        Day(self.0.with_day(1).unwrap_or(self.0))
    }

    /// The same month `n` months later, on its first day.
    pub fn plus_months_start(self, n: u32) -> Self {
        let start = self.month_start().0;
        Day(start
            .checked_add_months(Months::new(n))
            .unwrap_or(NaiveDate::MAX))
    }

    /// The number of days in this day's month.
    pub fn days_in_month(self) -> u32 {
        let start = self.month_start();
        start.days_until(start.plus_months_start(1)) as u32
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

impl fmt::Debug for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Day({self})")
    }
}

impl FromStr for Day {
    type Err = chrono::ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").map(Day)
    }
}

impl Reconcile for Day {
    type Key<'a> = autosurgeon::reconcile::NoKey;

    fn reconcile<R: Reconciler>(&self, mut reconciler: R) -> Result<(), R::Error> {
        reconciler.str(self.to_string())
    }
}

impl Hydrate for Day {
    fn hydrate_string(s: &'_ str) -> Result<Self, HydrateError> {
        s.parse()
            .map_err(|_| HydrateError::unexpected("a date as YYYY-MM-DD", s.to_owned()))
    }
}

/// An instant, in milliseconds since the Unix epoch (UTC).
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The instant of a UTC date-time.
    pub fn from_datetime(at: DateTime<Utc>) -> Self {
        Timestamp(at.timestamp_millis())
    }

    /// The UTC date-time of this instant (the epoch if out of range).
    pub fn to_datetime(self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.0).unwrap_or_default()
    }
}

impl Reconcile for Timestamp {
    type Key<'a> = autosurgeon::reconcile::NoKey;

    fn reconcile<R: Reconciler>(&self, mut reconciler: R) -> Result<(), R::Error> {
        reconciler.timestamp(self.0)
    }
}

impl Hydrate for Timestamp {
    fn hydrate_timestamp(t: i64) -> Result<Self, HydrateError> {
        Ok(Timestamp(t))
    }

    fn hydrate_int(t: i64) -> Result<Self, HydrateError> {
        Ok(Timestamp(t))
    }
}

/// A span of whole days, as people say it: `10d`, `2w`, `3m` (months of 30 days), `1y`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Interval {
    /// Length in days.
    pub days: u32,
}

impl Interval {
    /// An interval of `days` days.
    pub fn days(days: u32) -> Self {
        Interval { days }
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.days;
        if d != 0 && d.is_multiple_of(365) {
            write!(f, "{}y", d / 365)
        } else if d != 0 && d.is_multiple_of(30) {
            write!(f, "{}m", d / 30)
        } else if d != 0 && d.is_multiple_of(7) {
            write!(f, "{}w", d / 7)
        } else {
            write!(f, "{d}d")
        }
    }
}

/// An interval that is not a number followed by `d`, `w`, `m` or `y`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid interval {0:?}: expected a number and a unit, like 10d, 2w, 3m or 1y")]
pub struct ParseIntervalError(pub String);

impl FromStr for Interval {
    type Err = ParseIntervalError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseIntervalError(s.to_owned());
        let t = s.trim().to_ascii_lowercase();
        let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?;
        let (num, unit) = t.split_at(split);
        let n: u32 = num.parse().map_err(|_| err())?;
        let per = match unit.trim() {
            "d" | "day" | "days" => 1,
            "w" | "wk" | "week" | "weeks" => 7,
            "m" | "mo" | "month" | "months" => 30,
            "y" | "yr" | "year" | "years" => 365,
            _ => return Err(err()),
        };
        let days = n.checked_mul(per).filter(|d| *d > 0).ok_or_else(err)?;
        Ok(Interval { days })
    }
}

impl Reconcile for Interval {
    type Key<'a> = autosurgeon::reconcile::NoKey;

    fn reconcile<R: Reconciler>(&self, mut reconciler: R) -> Result<(), R::Error> {
        reconciler.u64(u64::from(self.days))
    }
}

impl Hydrate for Interval {
    fn hydrate_uint(u: u64) -> Result<Self, HydrateError> {
        u32::try_from(u)
            .map(Interval::days)
            .map_err(|_| HydrateError::unexpected("a day count", u.to_string()))
    }

    fn hydrate_int(i: i64) -> Result<Self, HydrateError> {
        u32::try_from(i)
            .map(Interval::days)
            .map_err(|_| HydrateError::unexpected("a day count", i.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_parse_as_people_write_them() {
        let cases = [
            ("10d", Some(10)),
            ("2w", Some(14)),
            ("6w", Some(42)),
            ("3m", Some(90)),
            ("1y", Some(365)),
            ("2 weeks", Some(14)),
            ("0d", None),
            ("w", None),
            ("12", None),
            ("2x", None),
            ("-1d", None),
            ("99999999999d", None),
        ];
        for (input, expect) in cases {
            assert_eq!(
                input.parse::<Interval>().ok().map(|i| i.days),
                expect,
                "{input}"
            );
        }
        assert_eq!(Interval::days(14).to_string(), "2w");
    }

    #[test]
    fn month_arithmetic_handles_leap_years() {
        let feb = Day::ymd(2024, 2, 10).unwrap();
        assert_eq!(feb.days_in_month(), 29);
        assert_eq!(Day::ymd(2023, 2, 1).unwrap().days_in_month(), 28);
        assert_eq!(
            Day::ymd(2024, 12, 31).unwrap().plus_months_start(1),
            Day::ymd(2025, 1, 1).unwrap()
        );
    }
}
