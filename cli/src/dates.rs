//! Dates as people type them: ISO (`2026-12-04`) or phrases ("tomorrow", "friday", "in 2 weeks",
//! "next month"), resolved against the clock in the local time zone. A phrase that does not parse
//! is an error, never a guess.

use anyhow::{Result, bail};
use chrono::{DateTime, Local, Utc};
use tapin_app::core::time::Day;

/// Resolves a date phrase against `now` in the local time zone.
pub(crate) fn parse_day(input: &str, now: DateTime<Utc>) -> Result<Day> {
    let trimmed = input.trim();
    if let Ok(day) = trimmed.parse::<Day>() {
        return Ok(day);
    }
    let lower = trimmed.to_lowercase();
    // interim understands "2 weeks" but not the "in 2 weeks" people say.
    let phrase = lower.strip_prefix("in ").unwrap_or(&lower);
    let local = now.with_timezone(&Local);
    match interim::parse_date_string(phrase, local, interim::Dialect::Uk) {
        Ok(dt) if !phrase.is_empty() => Ok(Day(dt.date_naive())),
        _ => bail!(
            "could not understand the date {input:?}; use YYYY-MM-DD or a phrase like \"tomorrow\", \"friday\", \"in 2 weeks\" or \"next month\""
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        // A Sunday.
        DateTime::parse_from_rfc3339("2026-11-22T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn iso_and_phrases_resolve() {
        // SAFETY of the expectation: TZ is not set in tests to anything but UTC-ish zones where
        // noon UTC is still the same calendar day.
        let cases = [
            ("2026-12-04", "2026-12-04"),
            ("tomorrow", "2026-11-23"),
            ("today", "2026-11-22"),
            ("in 2 weeks", "2026-12-06"),
            ("2 weeks", "2026-12-06"),
        ];
        for (input, expect) in cases {
            assert_eq!(
                parse_day(input, now()).unwrap().to_string(),
                expect,
                "{input}"
            );
        }
    }

    #[test]
    fn nonsense_is_an_error_not_a_guess() {
        for bad in ["", "someday", "2026-13-45", "blorp 3", "the 45th"] {
            let err = parse_day(bad, now()).unwrap_err().to_string();
            assert!(
                err.contains("could not understand the date"),
                "{bad}: {err}"
            );
        }
    }
}
