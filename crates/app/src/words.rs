//! Words every front-end shows the same way: dates, statuses, streaks, schedules, counts.

use chrono::Weekday;
use tapin_core::model::{
    Channel, GoalStatus, Reason, Recurrence, RelationshipStatus, Rhythm, Risk,
};
use tapin_core::time::{Day, Interval};
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

/// "1 step", "3 steps": a count and a noun whose plural adds an "s". The one way every count a
/// person reads is written; [`count`] for a noun that changes otherwise.
pub fn plural(n: usize, word: &str) -> String {
    count(n, word, &format!("{word}s"))
}

/// "1 entry", "3 entries": a count with the noun's singular or plural form.
pub fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// "1 of 2 steps done", "0 of 1 step done", "no steps": a goal's progress.
pub fn steps(done: usize, total: usize) -> String {
    if total == 0 {
        "no steps".to_owned()
    } else {
        format!("{done} of {} done", plural(total, "step"))
    }
}

/// A length of time in words: "1 week", "10 days", "3 months" (a month is 30 days, as `--rhythm
/// 1m` reads).
pub fn interval(i: Interval) -> String {
    let d = i.days as usize;
    if d != 0 && d.is_multiple_of(365) {
        plural(d / 365, "year")
    } else if d != 0 && d.is_multiple_of(30) {
        plural(d / 30, "month")
    } else if d != 0 && d.is_multiple_of(7) {
        plural(d / 7, "week")
    } else {
        plural(d, "day")
    }
}

/// A rhythm in words: "every week, at most 2 weeks apart", or "no rhythm".
pub fn rhythm(r: Option<Rhythm>) -> String {
    match r {
        None => "no rhythm".to_owned(),
        Some(r) => {
            let every = match interval(r.ideal) {
                one if one.starts_with("1 ") => one[2..].to_owned(),
                many => many,
            };
            format!("every {every}, at most {} apart", interval(r.max))
        }
    }
}

/// "once", "twice", "3 times".
pub fn times(n: usize) -> String {
    match n {
        1 => "once".to_owned(),
        2 => "twice".to_owned(),
        n => format!("{n} times"),
    }
}

/// "1 day", "3 days", for a count of days of any sign's magnitude.
pub fn days(n: i64) -> String {
    if n.unsigned_abs() == 1 {
        format!("{n} day")
    } else {
        format!("{n} days")
    }
}

/// "Rebuild trust with Alex", not "Rebuild trust with Alex with Alex": `title` with `name`
/// after it, unless the title already names them.
pub fn with_person(title: &str, name: &str) -> String {
    if mentions(title, name) {
        title.to_owned()
    } else {
        format!("{title} with {name}")
    }
}

/// Whether `text` names `name` as a word of its own (case and accents aside).
pub fn mentions(text: &str, name: &str) -> bool {
    let (text, name) = (fold(text), fold(name));
    if name.is_empty() {
        return false;
    }
    text.match_indices(&name).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// A name as it is matched: lowercase, without accents ("Zoë" and "zoe" match), so that a person
/// can type a name without the accents their keyboard lacks. Accents are taken off by Unicode
/// decomposition (NFD), so a name typed decomposed ("Zoe" and a combining diaeresis, as some
/// systems send it) matches the same; the few Latin letters whose stroke does not decompose
/// (ł, ø, đ, ħ, ı, ŧ) are mapped by hand.
pub fn fold(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    use unicode_normalization::char::is_combining_mark;
    name.trim()
        .chars()
        .flat_map(char::to_lowercase)
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .map(|c| match c {
            'ł' => 'l',
            'ø' => 'o',
            'đ' => 'd',
            'ħ' => 'h',
            'ı' => 'i',
            'ŧ' => 't',
            other => other,
        })
        .collect()
}

/// Why a file could not be read or written, in words ("no such file", "permission denied"),
/// without the operating system's error number or a temporary file's name.
pub fn io_error(err: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match err.kind() {
        ErrorKind::NotFound => "no such file or folder".to_owned(),
        ErrorKind::PermissionDenied => "permission denied".to_owned(),
        ErrorKind::IsADirectory => "it is a folder".to_owned(),
        ErrorKind::NotADirectory => "part of the path is not a folder".to_owned(),
        ErrorKind::StorageFull => "the disk is full".to_owned(),
        ErrorKind::ReadOnlyFilesystem => "the disk is read-only".to_owned(),
        ErrorKind::InvalidData => "it is not text (UTF-8)".to_owned(),
        kind => kind.to_string(),
    }
}

/// How a channel reads: "in person", "call", "video" (or a newer tapin's name, in words).
pub fn channel(c: Channel) -> String {
    c.json_name().replace('-', " ")
}

/// How a reason reads: "just because", "support" (or a newer tapin's name, in words).
pub fn reason(r: Reason) -> String {
    r.json_name().replace('-', " ")
}

/// How and why an interaction came about, in words: "call, just because", "in person" ("other"
/// says nothing, so it is left out).
pub fn how(via: Channel, why: Reason) -> String {
    let parts: Vec<String> = [
        (via != Channel::Other).then(|| channel(via)),
        (why != Reason::Other).then(|| reason(why)),
    ]
    .into_iter()
    .flatten()
    .collect();
    parts.join(", ")
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

/// "streak 1 month", "streak 3 weeks", "streak 2 × 10 days": a streak in the ritual's own
/// periods, or "no streak yet" when the current period is not kept yet (a streak of zero
/// months reads as a measurement of nothing).
pub fn streak(s: &RitualSchedule) -> String {
    match (s.streak, s.period.as_str()) {
        (0, _) => "no streak yet".to_owned(),
        (1, unit) if !unit.contains(' ') => format!("streak 1 {unit}"),
        (n, unit) if !unit.contains(' ') => format!("streak {n} {unit}s"),
        (n, unit) => format!("streak {n} × {unit}"),
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
        Recurrence::EveryDays { days: 1 } => "every day".to_owned(),
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

/// What deleting a record means, said after every delete and in `tapin delete --help`: one
/// sentence per line.
pub const DELETE_MEANS: [&str; 3] = [
    "It leaves every view and export on this device.",
    "If it was shared, your friend's devices drop it the next time they sync with you.",
    "Its words remain in the document's history on the devices that had it (this one, and your \
     friend's if it was shared), and your friend may already have read them.",
];

/// What deleting this record meant, said after the delete: [`DELETE_MEANS`] for a record
/// shared with `friend` (or kept private), naming the friend rather than "if it was shared".
pub fn delete_means(shared: bool, friend: Option<&str>) -> Vec<String> {
    let friend = friend.unwrap_or("your friend");
    let mut means = vec![DELETE_MEANS[0].to_owned()];
    if shared {
        means.push(format!(
            "{}'s devices drop it the next time they sync with you.",
            capitalised(friend)
        ));
        means.push(format!(
            "Its words remain in the document's history on this device and on {friend}'s, and \
             {friend} may already have read them."
        ));
    } else {
        means.push(
            "Its words remain in the document's history on this device; it was never shared."
                .to_owned(),
        );
    }
    means
}

/// `text` with its first letter in upper case ("your friend" → "Your friend").
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// Said before and after deleting a relationship unpaired with a notice: the notice goes with
/// it, so a friend whose devices have not fetched it yet never will.
pub fn notice_goes(name: &str) -> String {
    format!(
        "The notice that you ended the pairing goes too: if {name}'s devices have not fetched it \
         yet, they never will, and yours will look offline to them, as after `unpair --quietly`."
    )
}

/// What deleting a relationship takes with it, and what stays: said before and after a
/// `person delete`.
pub const PERSON_DELETE_MEANS: [&str; 3] = [
    "Its goals, rituals, check-ins, interactions, thanks, boundaries and reflections go with it, \
     and so does everything they shared with you (their side, as synced to this device).",
    "Journal entries about them stay; only the link to them is removed from each entry.",
    "Their side and yours are removed from this device with their history; what your friend \
     received before the pairing ended stays on their devices.",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_agree_with_their_nouns() {
        assert_eq!(plural(1, "check-in"), "1 check-in");
        assert_eq!(plural(0, "check-in"), "0 check-ins");
        assert_eq!(
            count(1, "journal entry", "journal entries"),
            "1 journal entry"
        );
        assert_eq!(
            count(3, "journal entry", "journal entries"),
            "3 journal entries"
        );
        assert_eq!(times(1), "once");
        assert_eq!(times(2), "twice");
        assert_eq!(times(0), "0 times");
        assert_eq!(days(1), "1 day");
        assert_eq!(days(-1), "-1 day");
        assert_eq!(days(7), "7 days");
        assert_eq!(steps(0, 1), "0 of 1 step done");
        assert_eq!(steps(1, 2), "1 of 2 steps done");
        assert_eq!(steps(0, 0), "no steps");
    }

    #[test]
    fn a_title_that_names_the_person_is_not_followed_by_their_name() {
        assert_eq!(
            with_person("Rebuild trust with Alex", "Alex"),
            "Rebuild trust with Alex"
        );
        assert_eq!(with_person("Call zoe", "Zoë"), "Call zoe");
        assert_eq!(
            with_person("Sunday walk", "Jordan"),
            "Sunday walk with Jordan"
        );
        // A name inside another word is not a mention.
        assert_eq!(
            with_person("Alexandria trip", "Alex"),
            "Alexandria trip with Alex"
        );
    }

    #[test]
    fn a_delete_says_what_it_meant_for_that_record() {
        let shared = delete_means(true, Some("Jordan"));
        assert_eq!(
            shared[1],
            "Jordan's devices drop it the next time they sync with you."
        );
        assert!(shared[2].contains("on Jordan's, and Jordan may already have read them"));
        let private = delete_means(false, Some("Jordan"));
        assert_eq!(private.len(), 2);
        assert!(!private.join(" ").contains("Jordan"), "{private:?}");
        assert!(delete_means(true, None)[1].starts_with("Your friend's devices"));
    }

    #[test]
    fn names_fold_case_and_accents() {
        assert_eq!(fold(" Zoë "), "zoe");
        assert_eq!(fold("JOSÉ Ñúñez"), "jose nunez");
        assert_eq!(fold("Łukasz Dvořák"), "lukasz dvorak");
        assert_eq!(fold("李小龙"), "李小龙");
        // Decomposed, as some systems type it: the same name.
        assert_eq!(fold("Zoe\u{308}"), "zoe");
        assert_eq!(fold("Søren Ħal İlkay"), "soren hal ilkay");
    }

    #[test]
    fn intervals_rhythms_and_interactions_read_as_words() {
        assert_eq!(interval(Interval::days(7)), "1 week");
        assert_eq!(interval(Interval::days(10)), "10 days");
        assert_eq!(interval(Interval::days(60)), "2 months");
        let rhythm = |ideal, max| {
            super::rhythm(Some(Rhythm {
                ideal: Interval::days(ideal),
                max: Interval::days(max),
            }))
        };
        assert_eq!(rhythm(7, 21), "every week, at most 3 weeks apart");
        assert_eq!(rhythm(14, 28), "every 2 weeks, at most 4 weeks apart");
        assert_eq!(super::rhythm(None), "no rhythm");
        assert_eq!(
            how(Channel::InPerson, Reason::JustBecause),
            "in person, just because"
        );
        assert_eq!(how(Channel::Other, Reason::Support), "support");
        assert_eq!(how(Channel::Other, Reason::Other), "");
        assert_eq!(
            recurrence(Recurrence::WeeklyOn { weekday: 6 }),
            "weekly on Sunday"
        );
        assert_eq!(recurrence(Recurrence::EveryDays { days: 1 }), "every day");
    }
}
