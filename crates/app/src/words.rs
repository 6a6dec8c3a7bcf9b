//! Words every front-end shows the same way: dates, statuses, streaks, schedules.

use chrono::Weekday;
use tapin_core::model::{GoalStatus, Recurrence, RelationshipStatus, Risk};
use tapin_core::time::Day;
use tapin_core::views::ritual::RitualSchedule;

/// A day as every page and message says it: "Friday 27 November 2026". The weekday is what a
/// person checks a resolved phrase against, and the year keeps a day from last year or next
/// year from reading as this year's.
pub fn describe_day(day: Day) -> String {
    day.0.format("%A %-d %B %Y").to_string()
}

/// A stored instant (ms since the epoch) as a local date and time to the minute:
/// "2026-11-22 09:30".
pub fn local_minute(ms: i64) -> String {
    tapin_core::time::Timestamp(ms)
        .to_datetime()
        .with_timezone(&chrono::Local)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// What a page says when the last sync with a friend went only through a relay; followed by
/// [`RELAY_SEES`].
pub fn relayed_last(at_ms: i64) -> String {
    format!(
        "The last sync with them ({}) went through a relay: no direct path to them was found.",
        local_minute(at_ms)
    )
}

/// What a relay learns, said wherever a page says a relay carried a sync.
pub const RELAY_SEES: &str =
    "The relay cannot read what you share, but it sees that your devices talk, and when.";

/// "1 step", "3 steps".
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// How a goal status reads: "active", "achieved", … (a status written by a newer tapin reads as
/// its own name).
pub fn goal_status(s: GoalStatus) -> String {
    s.json_name()
}

/// How a relationship status reads: "active", "archived", "ended" (or a newer tapin's name).
pub fn person_status(s: RelationshipStatus) -> String {
    s.json_name()
}

/// How a risk reads: "low", "medium", "high" (or the name a newer tapin gave it).
pub fn risk(r: Risk) -> String {
    r.json_name()
}

/// "1 month", "3 weeks", "2 × 10 days": a streak in the ritual's own periods.
pub fn streak(s: &RitualSchedule) -> String {
    match (s.streak, s.period.as_str()) {
        (1, unit) => format!("1 {unit}"),
        (n, unit) if !unit.contains(' ') => format!("{n} {unit}s"),
        (n, unit) => format!("{n} × {unit}"),
    }
}

/// "monthly on day 4", "weekly on Friday", "every 10 days".
pub fn recurrence(r: Recurrence) -> String {
    match r {
        Recurrence::MonthlyOn { day } => format!("monthly on day {day}"),
        Recurrence::WeeklyOn { weekday } => {
            // A weekday is spelt out, as in every day's wording ([`describe_day`]).
            let name = Weekday::try_from(weekday)
                .map_or_else(|_| "?".to_owned(), |w| weekday_name(w).to_owned());
            format!("weekly on {name}")
        }
        Recurrence::EveryDays { days } => format!("every {days} days"),
        Recurrence::Unknown(name) => {
            format!("on a schedule this version of tapin does not know ({name})")
        }
    }
}

/// A weekday's name: "Monday" … "Sunday".
fn weekday_name(w: Weekday) -> &'static str {
    match w {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

/// A record's place in words: "shared with them" or "private".
pub fn shared(shared: bool) -> &'static str {
    if shared {
        "shared with them"
    } else {
        "private"
    }
}

/// What deleting a record means, said after every delete and in `tapin delete --help`: one
/// sentence per line.
pub const DELETE_MEANS: [&str; 3] = [
    "It leaves every view and export on this device.",
    "If it was shared, your friend's devices drop it the next time they sync with you.",
    "Its words remain in the document's history on the devices that had it (this one, and your \
     friend's if it was shared), and your friend may already have read them.",
];

/// What deleting a relationship takes with it, and what stays: said before and after a
/// `person delete`.
pub const PERSON_DELETE_MEANS: [&str; 3] = [
    "Its goals, rituals, check-ins, interactions, thanks, boundaries and reflections go with it, \
     and so does everything they shared with you (their side, as synced to this device).",
    "Journal entries about them stay; only the link to them is removed from each entry.",
    "Their side and yours are removed from this device with their history; what your friend \
     received before the pairing ended stays on their devices.",
];
