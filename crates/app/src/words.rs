//! Words every front-end shows the same way: dates, statuses, streaks, schedules.

use chrono::Weekday;
use tapin_core::model::{GoalStatus, Recurrence, RelationshipStatus, Risk};
use tapin_core::time::Day;
use tapin_core::views::ritual::RitualSchedule;

/// How a resolved date is echoed back: "2026-11-27 (Friday)".
pub fn describe_day(day: Day) -> String {
    format!("{day} ({})", day.0.format("%A"))
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

/// "monthly on day 4", "weekly on Fri", "every 10 days".
pub fn recurrence(r: Recurrence) -> String {
    match r {
        Recurrence::MonthlyOn { day } => format!("monthly on day {day}"),
        Recurrence::WeeklyOn { weekday } => {
            let name =
                Weekday::try_from(weekday).map_or_else(|_| "?".to_owned(), |w| format!("{w:?}"));
            format!("weekly on {name}")
        }
        Recurrence::EveryDays { days } => format!("every {days} days"),
        Recurrence::Unknown(name) => {
            format!("on a schedule this version of tapin does not know ({name})")
        }
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

/// A stored instant as the local day it fell on, in full: "30 November 2026".
pub fn day(at: tapin_core::time::Timestamp) -> String {
    at.to_datetime()
        .with_timezone(&chrono::Local)
        .format("%-d %B %Y")
        .to_string()
}

/// What every front-end says of a pairing the friend ended: "Maya ended the pairing on 30
/// November 2026".
pub fn they_ended(name: &str, at: tapin_core::time::Timestamp) -> String {
    format!("{name} ended the pairing on {}", day(at))
}

/// What every front-end says of a pairing this side ended: "You ended the pairing on 30 November
/// 2026".
pub fn you_ended(at: tapin_core::time::Timestamp) -> String {
    format!("You ended the pairing on {}", day(at))
}

/// What `tapin init` calls this device when not told: the machine's host name (its first label,
/// "maya-laptop" of "maya-laptop.local"), or "computer" if it has none. A friend reads it beside
/// the person's name ("Maya's maya-laptop"), so it names the machine, not "this device".
pub fn default_device_name() -> String {
    let from_env = ["HOSTNAME", "COMPUTERNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok());
    let from_file = || {
        ["/proc/sys/kernel/hostname", "/etc/hostname"]
            .iter()
            .find_map(|p| std::fs::read_to_string(p).ok())
    };
    let host = from_env.or_else(from_file).unwrap_or_default();
    let first: String = host
        .trim()
        .split('.')
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(32)
        .collect();
    if first.is_empty() || first == "localhost" {
        "computer".to_owned()
    } else {
        first
    }
}

/// A friend's devices as a short list: what they call each, except a name that says nothing to
/// anyone but its owner ("this device", the default of older tapins), which is counted instead:
/// "maya-laptop, maya-phone", "1 device".
pub fn devices(names: &[&str]) -> String {
    let named: Vec<&str> = names.iter().copied().filter(|n| !says_nothing(n)).collect();
    match (named.is_empty(), names.len()) {
        (true, n) => plural(n, "device"),
        (false, n) if n == named.len() => named.join(", "),
        (false, n) => format!(
            "{} and {}",
            named.join(", "),
            plural(n - named.len(), "other device")
        ),
    }
}

/// Whether a device name says nothing to a friend ("this device", or nothing at all).
pub fn says_nothing(device_name: &str) -> bool {
    let n = device_name.trim();
    n.is_empty() || n.eq_ignore_ascii_case("this device")
}
