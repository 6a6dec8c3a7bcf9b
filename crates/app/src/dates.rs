//! Dates as people type them, and the one rule every use case that takes a date follows.
//!
//! A date is either a record of something that happened ([`Sense::Happened`]: an interaction, a
//! thank-you, a check-in, a ritual kept, a boundary) or a plan ([`Sense::Planned`]: a goal's
//! deadline, a ritual's start, the end of a snooze). The sense decides two things:
//!
//! - **which way a phrase resolves** when it could mean either: "friday" is the most recent
//!   Friday for something that happened (today, if today is a Friday) and the coming one for a
//!   plan; "3 days" is three days ago or in three days; "27 november" is the last or the next
//!   27 November. Phrases that say their own direction ("last sunday", "next friday",
//!   "yesterday", "in 2 weeks", "3 days ago") mean what they say: "last sunday" said on a Sunday
//!   is a week ago, never today.
//! - **what is wrong with the day**: something that happened cannot be in the future, and is
//!   refused naming the day; a plan in the past is kept (a deadline may be set after the fact)
//!   with a warning the use case returns beside its result.
//!
//! Days are calendar days in the writer's time zone ([`Home::today`]) and are stored as such
//! (`YYYY-MM-DD`), so a friend in another zone sees the day as it was written. What cannot be
//! read is [`Error::Malformed`], naming the forms that are understood; a date that does not exist
//! says why ("February has 28 days in 2026").
//!
//! ```
//! use tapin_app::core::time::Day;
//! use tapin_app::dates::{Sense, resolve};
//!
//! let sunday = Day::ymd(2026, 11, 22).unwrap();
//! assert_eq!(resolve("friday", sunday, Sense::Happened)?, Day::ymd(2026, 11, 20).unwrap());
//! assert_eq!(resolve("friday", sunday, Sense::Planned)?, Day::ymd(2026, 11, 27).unwrap());
//! assert_eq!(resolve("last sunday", sunday, Sense::Happened)?, Day::ymd(2026, 11, 15).unwrap());
//! # Ok::<(), tapin_app::Error>(())
//! ```

use chrono::{Datelike, Months, NaiveDate, Weekday};
use tapin_core::time::Day;
use tapin_core::validate::{FIRST_YEAR, LAST_YEAR};

use crate::error::{Error, Result};
use crate::home::Home;
use crate::words::describe_day;

/// What a date stands for, which decides how a phrase resolves and what is wrong with a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sense {
    /// Something that happened: never in the future; phrases look back.
    Happened,
    /// Something planned: best in the future (a past day is kept, with a warning); phrases look
    /// ahead.
    Planned,
}

impl Sense {
    /// +1 for a plan (look ahead), -1 for what happened (look back).
    fn step(self) -> i64 {
        match self {
            Sense::Happened => -1,
            Sense::Planned => 1,
        }
    }
}

/// Resolves what a person typed to a calendar day, `today` being the writer's day: an ISO date
/// (`2026-11-27`), "today", "yesterday", "tomorrow", a weekday ("friday", "last sunday", "next
/// fri"), a count of days, weeks, months or years ("3 days ago", "in 2 weeks", "2 weeks"), "last
/// week", "next month", or a day of a month ("27 november", "nov 27 2026").
///
/// Resolving is all it does: whether the day suits the record is [`happened`]'s and
/// [`planned`]'s to say.
pub fn resolve(input: &str, today: Day, sense: Sense) -> Result<Day> {
    resolve_or(input, today, sense, "")
}

/// [`resolve`], naming `more_forms` among the forms understood when nothing matches (for a
/// use case that also takes something else, like a length).
pub(crate) fn resolve_or(input: &str, today: Day, sense: Sense, more_forms: &str) -> Result<Day> {
    let words: Vec<String> = input
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .map(|w| w.trim_end_matches('.').to_lowercase())
        .collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let day = match phrase(&words, today, sense) {
        Parsed::Day(day) => day,
        Parsed::NoSuchDay(why) => {
            return Err(Error::malformed(format!("{:?} {why}", input.trim())));
        }
        Parsed::Unknown => return Err(not_understood(input.trim(), sense, more_forms)),
    };
    let year = day.0.year();
    if !(FIRST_YEAR..=LAST_YEAR).contains(&year) {
        return Err(Error::malformed(format!(
            "{:?} is in {year}; tapin keeps dates from {FIRST_YEAR} to {LAST_YEAR}",
            input.trim()
        )));
    }
    Ok(day)
}

/// The day something happened: `input` resolved looking back (default `today`), refused when it
/// is in the future. `what` names the record for the message ("an interaction").
pub fn happened(input: Option<&str>, today: Day, what: &str) -> Result<Day> {
    let Some(input) = input else {
        return Ok(today);
    };
    let day = resolve(input, today, Sense::Happened)?;
    if day > today {
        return Err(Error::invalid(format!(
            "{} is in the future (today is {}); record {what} once it has happened",
            describe_day(day),
            describe_day(today)
        )));
    }
    Ok(day)
}

/// A planned day, resolved looking ahead, and the warning to show beside the result when it is
/// already past. `what` names the plan ("the goal's deadline").
pub fn planned(input: &str, today: Day, what: &str) -> Result<(Day, Option<String>)> {
    let day = resolve(input, today, Sense::Planned)?;
    let warning = (day < today).then(|| past_plan(day, today, what));
    Ok((day, warning))
}

/// The warning for a plan set on a day that is already past.
pub fn past_plan(day: Day, today: Day, what: &str) -> String {
    let ago = today.days_until(day).unsigned_abs();
    let ago = if ago == 1 {
        "yesterday".to_owned()
    } else {
        format!("{ago} days ago")
    };
    format!(
        "{what} is {}, which is already past ({ago}); kept as you said",
        describe_day(day)
    )
}

impl Home {
    /// [`happened`] against this home's today.
    pub fn happened_on(&self, input: Option<&str>, what: &str) -> Result<Day> {
        happened(input, self.today(), what)
    }

    /// [`planned`] against this home's today.
    pub fn planned_for(&self, input: &str, what: &str) -> Result<(Day, Option<String>)> {
        planned(input, self.today(), what)
    }
}

/// The forms understood, with examples that look the way the sense looks.
fn not_understood(input: &str, sense: Sense, more_forms: &str) -> Error {
    let examples = match sense {
        Sense::Happened => {
            "\"yesterday\", \"friday\", \"last sunday\", \"3 days ago\", \"last week\" or \"27 november\""
        }
        Sense::Planned => {
            "\"tomorrow\", \"friday\", \"next sunday\", \"in 2 weeks\", \"next month\" or \"27 november\""
        }
    };
    Error::malformed(format!(
        "could not understand the date {input:?}; use YYYY-MM-DD or a phrase like {examples}{more_forms}"
    ))
}

/// What a phrase came to.
enum Parsed {
    Day(Day),
    /// It reads as a date that does not exist; the text says why, after the input.
    NoSuchDay(String),
    Unknown,
}

fn phrase(words: &[&str], today: Day, sense: Sense) -> Parsed {
    let day = |d: Option<Day>| d.map_or(Parsed::Unknown, Parsed::Day);
    match words {
        [] => Parsed::Unknown,
        // "on friday", "on 27 november": as people say it after "--on".
        ["on", rest @ ..] if !rest.is_empty() => phrase(rest, today, sense),
        [one] if one.contains('-') => iso(one),
        ["today" | "now"] => Parsed::Day(today),
        ["yesterday"] => Parsed::Day(today.minus_days(1)),
        ["tomorrow"] => Parsed::Day(today.plus_days(1)),
        ["the", "day", "before", "yesterday"] | ["day", "before", "yesterday"] => {
            Parsed::Day(today.minus_days(2))
        }
        ["the", "day", "after", "tomorrow"] | ["day", "after", "tomorrow"] => {
            Parsed::Day(today.plus_days(2))
        }
        [w] | ["this", w] if weekday(w).is_some() => {
            day(weekday(w).map(|w| nearest_weekday(today, w, sense.step(), true)))
        }
        ["last", w] if weekday(w).is_some() => {
            day(weekday(w).map(|w| nearest_weekday(today, w, -1, false)))
        }
        ["next", w] if weekday(w).is_some() => {
            day(weekday(w).map(|w| nearest_weekday(today, w, 1, false)))
        }
        ["last", u] => day(unit(u).and_then(|u| shift(today, 1, u, -1))),
        ["next", u] => day(unit(u).and_then(|u| shift(today, 1, u, 1))),
        [n, u, "ago"] => day(counted(n, u).and_then(|(n, u)| shift(today, n, u, -1))),
        ["in", n, u] => day(counted(n, u).and_then(|(n, u)| shift(today, n, u, 1))),
        [n, u, "from", "now"] => day(counted(n, u).and_then(|(n, u)| shift(today, n, u, 1))),
        [n, u] if counted(n, u).is_some() => {
            day(counted(n, u).and_then(|(n, u)| shift(today, n, u, sense.step())))
        }
        _ => day_of_month(words, today, sense),
    }
}

/// `YYYY-MM-DD`, with a precise reason when the numbers are not a day of the calendar.
fn iso(text: &str) -> Parsed {
    let parts: Vec<&str> = text.split('-').collect();
    let [y, m, d] = parts[..] else {
        return Parsed::Unknown;
    };
    let number = |s: &str, max_len| {
        (!s.is_empty() && s.len() <= max_len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u32>().ok())
            .flatten()
    };
    if y.len() != 4 {
        return Parsed::Unknown;
    }
    let (Some(year), Some(month), Some(day)) = (number(y, 4), number(m, 2), number(d, 2)) else {
        return Parsed::Unknown;
    };
    // Four digits always fit.
    let year = year as i32;
    check_day(year, month, day)
}

/// The day `year`-`month`-`day`, or why it does not exist.
fn check_day(year: i32, month: u32, day: u32) -> Parsed {
    let Some(first) = NaiveDate::from_ymd_opt(year, month, 1) else {
        return Parsed::NoSuchDay(format!(
            "is not a date: there is no month {month} (months run from 1 to 12)"
        ));
    };
    let length = Day(first).days_in_month();
    match NaiveDate::from_ymd_opt(year, month, day) {
        Some(date) => Parsed::Day(Day(date)),
        None => Parsed::NoSuchDay(format!(
            "is not a date: {} has {length} days in {year}",
            first.format("%B")
        )),
    }
}

/// A day of a month by name, with or without a year: "27 november", "november 27th",
/// "27 nov 2026". Without a year it is the nearest such day in the sense's direction (today
/// included).
fn day_of_month(words: &[&str], today: Day, sense: Sense) -> Parsed {
    let (dom, month, year) = match words {
        [a, b] => match (ordinal(a), month(b), month(a), ordinal(b)) {
            (Some(d), Some(m), _, _) | (_, _, Some(m), Some(d)) => (d, m, None),
            _ => return Parsed::Unknown,
        },
        [a, b, y] => match (ordinal(a), month(b), month(a), ordinal(b), year(y)) {
            (Some(d), Some(m), _, _, Some(y)) | (_, _, Some(m), Some(d), Some(y)) => {
                (d, m, Some(y))
            }
            _ => return Parsed::Unknown,
        },
        _ => return Parsed::Unknown,
    };
    if let Some(year) = year {
        return check_day(year, month, dom);
    }
    let name = NaiveDate::from_ymd_opt(2000, month, 1)
        .map_or_else(String::new, |d| d.format("%B").to_string());
    if dom == 0
        || dom > 31
        || (month == 2 && dom > 29)
        || (dom == 31 && [4, 6, 9, 11].contains(&month))
    {
        let most = match month {
            2 => 29,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        return Parsed::NoSuchDay(format!("is not a date: {name} has at most {most} days"));
    }
    // The nearest year in the sense's direction whose `month` has the day (29 February comes
    // every four years, or eight across a century that is not a leap year).
    let mut year = today.0.year();
    for _ in 0..=8 {
        if let Some(date) = NaiveDate::from_ymd_opt(year, month, dom).map(Day) {
            let fits = match sense {
                Sense::Happened => date <= today,
                Sense::Planned => date >= today,
            };
            if fits {
                return Parsed::Day(date);
            }
        }
        year += sense.step() as i32;
    }
    Parsed::Unknown
}

/// The nearest `weekday` from `today` in direction `step` (±1), today included when
/// `include_today`.
fn nearest_weekday(today: Day, weekday: Weekday, step: i64, include_today: bool) -> Day {
    let from = today.0.weekday().num_days_from_monday() as i64;
    let to = weekday.num_days_from_monday() as i64;
    let mut days = ((to - from) * step).rem_euclid(7);
    if days == 0 && !include_today {
        days = 7;
    }
    if step > 0 {
        today.plus_days(days as u64)
    } else {
        today.minus_days(days as u64)
    }
}

#[derive(Debug, Clone, Copy)]
enum Unit {
    Day,
    Week,
    Month,
    Year,
}

/// `today` moved `n` units in direction `step` (±1). Months and years keep the day of the
/// month where it exists and take the month's last day where it does not (31 January plus a
/// month is the end of February).
fn shift(today: Day, n: u32, unit: Unit, step: i64) -> Option<Day> {
    let months = match unit {
        Unit::Day => return Some(move_days(today, u64::from(n), step)),
        Unit::Week => return Some(move_days(today, u64::from(n) * 7, step)),
        Unit::Month => n,
        Unit::Year => n.checked_mul(12)?,
    };
    let months = Months::new(months);
    if step > 0 {
        today.0.checked_add_months(months)
    } else {
        today.0.checked_sub_months(months)
    }
    .map(Day)
}

fn move_days(today: Day, n: u64, step: i64) -> Day {
    if step > 0 {
        today.plus_days(n)
    } else {
        today.minus_days(n)
    }
}

/// A count and its unit: "3 days", "a week", "two months", "10d".
fn counted(n: &str, unit_word: &str) -> Option<(u32, Unit)> {
    let n = match n {
        "a" | "an" | "one" => 1,
        "two" => 2,
        "three" => 3,
        "four" => 4,
        "five" => 5,
        "six" => 6,
        "seven" => 7,
        "eight" => 8,
        "nine" => 9,
        "ten" => 10,
        "eleven" => 11,
        "twelve" => 12,
        digits if !digits.is_empty() && digits.len() <= 5 => digits.parse().ok()?,
        _ => return None,
    };
    Some((n, unit(unit_word)?))
}

fn unit(word: &str) -> Option<Unit> {
    Some(match word {
        "d" | "day" | "days" => Unit::Day,
        "w" | "wk" | "wks" | "week" | "weeks" => Unit::Week,
        "mo" | "month" | "months" => Unit::Month,
        "y" | "yr" | "yrs" | "year" | "years" => Unit::Year,
        _ => return None,
    })
}

fn weekday(word: &str) -> Option<Weekday> {
    Some(match word {
        "monday" | "mon" => Weekday::Mon,
        "tuesday" | "tue" | "tues" => Weekday::Tue,
        "wednesday" | "wed" => Weekday::Wed,
        "thursday" | "thu" | "thur" | "thurs" => Weekday::Thu,
        "friday" | "fri" => Weekday::Fri,
        "saturday" | "sat" => Weekday::Sat,
        "sunday" | "sun" => Weekday::Sun,
        _ => return None,
    })
}

fn month(word: &str) -> Option<u32> {
    const NAMES: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    NAMES
        .iter()
        .position(|name| *name == word || (word.len() >= 3 && name.starts_with(word)))
        .map(|i| i as u32 + 1)
}

/// A day of the month as written: "27", "27th", "1st", "2nd", "3rd".
fn ordinal(word: &str) -> Option<u32> {
    let digits = word
        .strip_suffix("st")
        .or_else(|| word.strip_suffix("nd"))
        .or_else(|| word.strip_suffix("rd"))
        .or_else(|| word.strip_suffix("th"))
        .unwrap_or(word);
    (!digits.is_empty() && digits.len() <= 2 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

fn year(word: &str) -> Option<i32> {
    (word.len() == 4 && word.bytes().all(|b| b.is_ascii_digit()))
        .then(|| word.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Day {
        s.parse().unwrap()
    }

    /// Each phrase, said on `today`, with the day it means for something that happened and
    /// for a plan.
    fn check(today: &str, cases: &[(&str, &str, &str)]) {
        let today = d(today);
        for (phrase, happened, planned) in cases {
            for (sense, want) in [(Sense::Happened, happened), (Sense::Planned, planned)] {
                let got = resolve(phrase, today, sense)
                    .unwrap_or_else(|e| panic!("{phrase:?} on {today} ({sense:?}): {e}"));
                assert_eq!(got, d(want), "{phrase:?} on {today} ({sense:?})");
            }
        }
    }

    #[test]
    fn phrases_on_a_sunday() {
        // Sunday 22 November 2026.
        check(
            "2026-11-22",
            &[
                ("today", "2026-11-22", "2026-11-22"),
                ("yesterday", "2026-11-21", "2026-11-21"),
                ("tomorrow", "2026-11-23", "2026-11-23"),
                ("Sunday", "2026-11-22", "2026-11-22"),
                ("last sunday", "2026-11-15", "2026-11-15"),
                ("next sunday", "2026-11-29", "2026-11-29"),
                ("this sunday", "2026-11-22", "2026-11-22"),
                ("friday", "2026-11-20", "2026-11-27"),
                ("fri", "2026-11-20", "2026-11-27"),
                ("on friday", "2026-11-20", "2026-11-27"),
                ("last friday", "2026-11-20", "2026-11-20"),
                ("next friday", "2026-11-27", "2026-11-27"),
                ("saturday", "2026-11-21", "2026-11-28"),
                ("monday", "2026-11-16", "2026-11-23"),
                ("3 days ago", "2026-11-19", "2026-11-19"),
                ("a week ago", "2026-11-15", "2026-11-15"),
                ("two weeks ago", "2026-11-08", "2026-11-08"),
                ("in 2 weeks", "2026-12-06", "2026-12-06"),
                ("2 weeks", "2026-11-08", "2026-12-06"),
                ("3 days", "2026-11-19", "2026-11-25"),
                ("last week", "2026-11-15", "2026-11-15"),
                ("next week", "2026-11-29", "2026-11-29"),
                ("last month", "2026-10-22", "2026-10-22"),
                ("next month", "2026-12-22", "2026-12-22"),
                ("the day before yesterday", "2026-11-20", "2026-11-20"),
                ("27 november", "2025-11-27", "2026-11-27"),
                ("november 20th", "2026-11-20", "2027-11-20"),
                ("22 nov", "2026-11-22", "2026-11-22"),
                ("1 jan 2027", "2027-01-01", "2027-01-01"),
                ("on 27 November", "2025-11-27", "2026-11-27"),
                ("Fri.", "2026-11-20", "2026-11-27"),
                ("in a week", "2026-11-29", "2026-11-29"),
                ("2 days from now", "2026-11-24", "2026-11-24"),
                ("2026-12-04", "2026-12-04", "2026-12-04"),
                ("  2026-11-01 ", "2026-11-01", "2026-11-01"),
            ],
        );
    }

    #[test]
    fn phrases_at_a_month_end() {
        // Saturday 31 January 2026: a month on is the end of February.
        check(
            "2026-01-31",
            &[
                ("today", "2026-01-31", "2026-01-31"),
                ("tomorrow", "2026-02-01", "2026-02-01"),
                ("next month", "2026-02-28", "2026-02-28"),
                ("in 1 month", "2026-02-28", "2026-02-28"),
                ("a month ago", "2025-12-31", "2025-12-31"),
                ("last month", "2025-12-31", "2025-12-31"),
                ("saturday", "2026-01-31", "2026-01-31"),
                ("last saturday", "2026-01-24", "2026-01-24"),
                ("sunday", "2026-01-25", "2026-02-01"),
                ("in 3 days", "2026-02-03", "2026-02-03"),
                ("31 december", "2025-12-31", "2026-12-31"),
                ("1 february", "2025-02-01", "2026-02-01"),
            ],
        );
    }

    #[test]
    fn phrases_on_a_leap_day() {
        // Tuesday 29 February 2028.
        check(
            "2028-02-29",
            &[
                ("today", "2028-02-29", "2028-02-29"),
                ("yesterday", "2028-02-28", "2028-02-28"),
                ("tomorrow", "2028-03-01", "2028-03-01"),
                ("tuesday", "2028-02-29", "2028-02-29"),
                ("last tuesday", "2028-02-22", "2028-02-22"),
                ("wednesday", "2028-02-23", "2028-03-01"),
                ("a year ago", "2027-02-28", "2027-02-28"),
                ("next year", "2029-02-28", "2029-02-28"),
                ("next month", "2028-03-29", "2028-03-29"),
                ("29 february", "2028-02-29", "2028-02-29"),
                ("2 days", "2028-02-27", "2028-03-02"),
                ("last week", "2028-02-22", "2028-02-22"),
            ],
        );
        // Said on 1 March 2027, 29 February is the last leap day or the next one.
        check("2027-03-01", &[("feb 29", "2024-02-29", "2028-02-29")]);
    }

    #[test]
    fn days_that_do_not_exist_say_why() {
        let today = d("2026-11-22");
        let cases = [
            ("2026-02-30", "February has 28 days in 2026"),
            ("2028-02-30", "February has 29 days in 2028"),
            ("2026-04-31", "April has 30 days in 2026"),
            ("2026-02-00", "February has 28 days in 2026"),
            ("2026-13-01", "there is no month 13"),
            ("2026-00-10", "there is no month 0"),
            ("30 february", "February has at most 29 days"),
            ("31 april", "April has at most 30 days"),
            ("30 feb 2026", "February has 28 days in 2026"),
            ("3026-01-01", "tapin keeps dates from 1900 to 2199"),
        ];
        for (input, want) in cases {
            for sense in [Sense::Happened, Sense::Planned] {
                let err = resolve(input, today, sense).unwrap_err();
                assert!(err.is_usage(), "{input}: {err:?}");
                assert!(err.to_string().contains(want), "{input}: {err}");
            }
        }
    }

    #[test]
    fn nonsense_is_malformed_not_a_guess() {
        let today = d("2026-11-22");
        for bad in [
            "",
            "someday",
            "blorp 3",
            "the 45th",
            "last",
            "in weeks",
            "2026-1",
            "26-11-22",
            "next blursday",
            "3 fortnights ago",
            "2026-11-22-1",
        ] {
            let err = resolve(bad, today, Sense::Happened).unwrap_err();
            assert!(err.is_usage(), "{bad}: {err:?}");
            let text = err.to_string();
            assert!(
                text.contains("could not understand the date") && text.contains("YYYY-MM-DD"),
                "{bad}: {text}"
            );
        }
    }

    #[test]
    fn the_rule_refuses_the_future_for_what_happened_and_warns_on_a_past_plan() {
        let today = d("2026-11-22");
        assert_eq!(happened(None, today, "an interaction").unwrap(), today);
        assert_eq!(
            happened(Some("friday"), today, "an interaction").unwrap(),
            d("2026-11-20")
        );
        let err = happened(Some("next friday"), today, "an interaction").unwrap_err();
        assert!(!err.is_usage(), "a future day is understood, and refused");
        assert!(
            err.to_string()
                .contains("Friday 27 November 2026 is in the future"),
            "{err}"
        );

        let (day, warning) = planned("friday", today, "the deadline").unwrap();
        assert_eq!((day, warning), (d("2026-11-27"), None));
        let (day, warning) = planned("last friday", today, "the deadline").unwrap();
        assert_eq!(day, d("2026-11-20"));
        let warning = warning.expect("a past plan is warned about");
        assert!(
            warning.contains("Friday 20 November 2026") && warning.contains("2 days ago"),
            "{warning}"
        );
        assert_eq!(planned("today", today, "the deadline").unwrap().1, None);
    }
}
