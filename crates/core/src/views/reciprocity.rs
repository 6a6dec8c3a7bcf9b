//! Reciprocity: who reaches out, who says thanks, and check-ins kept, from both sides' logs.
//!
//! It is a mirror, not a scoreboard: the view counts and describes, and never rates. There is no
//! score, and [`Reciprocity::words`] says what the logs show ("You reached out a bit more often
//! over the last 90 days") without judging either side.
//!
//! # Definitions
//!
//! **Sources.** *My* records are my shared side and my private records of the relationship; a
//! record present in both (a move between them cut short) counts once, by its id. *Their* records
//! are the replica of what the friend shares, if it ever arrived; without it the view is built
//! from my logs alone (they log both directions, so the balance is still meaningful).
//!
//! **Reach-outs.** Every interaction is logged from its author's side. From my logs, `Me` means I
//! reached out and `Them` that they did; from their logs, their `Me` means *they* reached out and
//! their `Them` that *I* did.
//!
//! **Double-logged contacts.** Both people may log the same real contact. Two logs are read as one
//! contact when they come from different sides, fall on the same day and agree on who reached
//! out. Counting is done per day and direction: with `m` such logs from my side and `t` from
//! theirs, the day counts `max(m, t)` — each of their logs pairs off with one of mine, and the
//! unpaired ones still count. This is deliberately conservative: two separate calls the same day,
//! each logged by a different person, count once; a contact the two people remember as started
//! by different sides, or log on different days, counts twice.
//!
//! **Thanks.** Given: the thanks notes in my records. Received: those in theirs (they are notes
//! they wrote me). Nothing to de-duplicate: each note is one person's act.
//!
//! **Check-ins.** Each side records its own check-ins. A check-in is usually held together, so
//! the same rule as for contacts applies: per day, `max(mine, theirs)` — a check-in each side
//! recorded on the same day counts once, as one check-in held together.
//!
//! **Days and windows.** Everything is counted by its calendar day (the `on` of an interaction,
//! a thanks note or a check-in), which is what the person logged, so clock skew between devices
//! or time zones does not move an entry between windows. A window of `n` days is the `n`
//! calendar days ending today, today included: the 30-day window on March 31 runs from March 2.
//!
//! **Entries dated in the future.** A friend in a time zone ahead (up to 26 hours) or a device
//! whose clock runs fast can date an entry after today. Entries up to
//! [`FUTURE_GRACE_DAYS`] days after today are read as today's (so they count in every window and in
//! the current week, and pair off with today's logs); entries further ahead are a typo, not skew,
//! and are left out until their day comes.
//!
//! **Trend.** Reach-outs per ISO week (Monday to Sunday) for the last [`TREND_WEEKS`] weeks, and
//! per calendar month for the last [`TREND_MONTHS`] months, oldest first, the last bucket being
//! the one containing today.
//!
//! **Words**, from the 90-day window, with the 30-day window as "lately":
//! - no reach-out logged ever: "Not much contact logged yet.";
//! - fewer than [`FEW_CONTACTS`] in 90 days: "Not much contact logged in the last 90 days.";
//! - otherwise by the share one side has of the reach-outs: at least 3/4 "… reached out more
//!   often", at least 3/5 "… reached out a bit more often", else "Fairly balanced";
//! - and, when the last 30 days hold at least [`FEW_CONTACTS`] reach-outs leaning another way
//!   (balanced, me, them), a second sentence on that: "Lately they reached out a bit more often."

use std::collections::BTreeMap;

use chrono::Datelike;

use serde::Serialize;

use crate::model::{Initiator, SideRecords};
use crate::time::Day;
use crate::views::by_id;

/// The window lengths, in days.
pub const WINDOWS: [u32; 3] = [30, 90, 365];
/// How many weeks the weekly trend covers.
pub const TREND_WEEKS: u32 = 12;
/// How many months the monthly trend covers.
pub const TREND_MONTHS: u32 = 12;
/// Entries dated up to this many days after today are read as today's (clock skew, time zones).
pub const FUTURE_GRACE_DAYS: u64 = 2;
/// Below this many reach-outs in a window, the words do not describe a balance.
pub const FEW_CONTACTS: u32 = 4;

/// The counts over one window of days ending today.
///
/// JSON: `{"days": 30, "from": "YYYY-MM-DD", "i_reached_out": 3, "they_reached_out": 2,
/// "thanks_given": 1, "thanks_received": 0, "checkins": 1}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Window {
    /// Its length in days (30, 90 or 365).
    pub days: u32,
    /// Its first day; the last is today.
    pub from: Day,
    /// Contacts I started (de-duplicated across sides; see the module docs).
    pub i_reached_out: u32,
    /// Contacts they started (de-duplicated across sides).
    pub they_reached_out: u32,
    /// Thanks notes I wrote.
    pub thanks_given: u32,
    /// Thanks notes they wrote me (in what they share).
    pub thanks_received: u32,
    /// Check-ins held, by either side; a check-in both sides recorded on one day counts once.
    pub checkins: u32,
}

/// Reach-outs in one week or month of the trend.
///
/// JSON: `{"start": "YYYY-MM-DD", "i_reached_out": 1, "they_reached_out": 2}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Bucket {
    /// The first day of the week (a Monday) or month (the 1st).
    pub start: Day,
    /// Contacts I started.
    pub i_reached_out: u32,
    /// Contacts they started.
    pub they_reached_out: u32,
}

/// Reach-outs over time, oldest bucket first, for bars or a sparkline.
///
/// JSON: `{"weeks": [Bucket; 12], "months": [Bucket; 12]}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Trend {
    /// The last [`TREND_WEEKS`] ISO weeks, the last containing today.
    pub weeks: Vec<Bucket>,
    /// The last [`TREND_MONTHS`] calendar months, the last containing today.
    pub months: Vec<Bucket>,
}

/// How balanced a relationship has been; see the module docs.
///
/// JSON: `{"today": "YYYY-MM-DD", "their_side_synced": true, "windows": [Window; 3],
/// "trend": Trend, "words": "Fairly balanced over the last 90 days."}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Reciprocity {
    /// The day the windows end on.
    pub today: Day,
    /// Whether the friend's side was available. When not, everything is from my logs alone
    /// (and thanks received is 0).
    pub their_side_synced: bool,
    /// The 30-, 90- and 365-day windows, in that order.
    pub windows: Vec<Window>,
    /// Reach-outs per week and per month.
    pub trend: Trend,
    /// A sentence or two describing the balance, never judging it.
    pub words: String,
}

/// Per-day counts, after reading future dates and de-duplicating across sides.
#[derive(Default)]
struct Daily {
    i_reached_out: BTreeMap<Day, u32>,
    they_reached_out: BTreeMap<Day, u32>,
    thanks_given: BTreeMap<Day, u32>,
    thanks_received: BTreeMap<Day, u32>,
    checkins: BTreeMap<Day, u32>,
}

/// The reciprocity of a relationship as of `today`; see the module docs for the rules.
///
/// `mine` is my records of the relationship (shared side and private records, in any order);
/// `theirs` the replica of the friend's side. Every count is by calendar day, so no time zone is
/// needed.
pub fn reciprocity(mine: &[&SideRecords], theirs: Option<&SideRecords>, today: Day) -> Reciprocity {
    let daily = daily(mine, theirs, today);
    let windows: Vec<Window> = WINDOWS.iter().map(|&n| window(&daily, n, today)).collect();
    let current_week = today.minus_days(u64::from(today.0.weekday().num_days_from_monday()));
    let weeks = (0..TREND_WEEKS)
        .rev()
        .map(|back| {
            let start = current_week.minus_days(7 * u64::from(back));
            bucket(&daily, start, start.plus_days(6))
        })
        .collect();
    let this_month = today.month_start();
    let months = (0..TREND_MONTHS)
        .rev()
        .map(|back| {
            let start = month_before(this_month, back);
            let end = start.plus_days(u64::from(start.days_in_month() - 1));
            bucket(&daily, start, end)
        })
        .collect();
    let ever = !daily.i_reached_out.is_empty() || !daily.they_reached_out.is_empty();
    let words = describe(&windows, ever);
    Reciprocity {
        today,
        their_side_synced: theirs.is_some(),
        windows,
        trend: Trend { weeks, months },
        words,
    }
}

fn daily(mine: &[&SideRecords], theirs: Option<&SideRecords>, today: Day) -> Daily {
    let on = |day: Day| read_day(day, today);
    let mut out = Daily::default();

    // Per side, per day: (I reached out, they reached out), from my point of view.
    let mut my_logs: BTreeMap<Day, (u32, u32)> = BTreeMap::new();
    for i in by_id(mine, |s| &s.interactions).into_values() {
        if let Some(day) = on(i.on) {
            let e = my_logs.entry(day).or_default();
            match i.by {
                Initiator::Me => e.0 += 1,
                Initiator::Them => e.1 += 1,
                // Written by a newer tapin: who reached out is not known here.
                Initiator::Unknown(_) => {}
            }
        }
    }
    let mut their_logs: BTreeMap<Day, (u32, u32)> = BTreeMap::new();
    for i in theirs.iter().flat_map(|s| s.interactions.values()) {
        if let Some(day) = on(i.on) {
            let e = their_logs.entry(day).or_default();
            match i.by {
                Initiator::Me => e.1 += 1,   // they reached out
                Initiator::Them => e.0 += 1, // I reached out
                Initiator::Unknown(_) => {}
            }
        }
    }
    for (day, (i, they)) in pair_off(&my_logs, &their_logs) {
        out.i_reached_out.insert(day, i);
        out.they_reached_out.insert(day, they);
    }

    let count = |days: &mut BTreeMap<Day, u32>, day: Option<Day>| {
        if let Some(day) = day {
            *days.entry(day).or_default() += 1;
        }
    };
    for t in by_id(mine, |s| &s.thanks).into_values() {
        count(&mut out.thanks_given, on(t.on));
    }
    for t in theirs.iter().flat_map(|s| s.thanks.values()) {
        count(&mut out.thanks_received, on(t.on));
    }

    let mut my_checkins: BTreeMap<Day, (u32, u32)> = BTreeMap::new();
    for c in by_id(mine, |s| &s.checkins).into_values() {
        if let Some(day) = on(c.on) {
            my_checkins.entry(day).or_default().0 += 1;
        }
    }
    let mut their_checkins: BTreeMap<Day, (u32, u32)> = BTreeMap::new();
    for c in theirs.iter().flat_map(|s| s.checkins.values()) {
        if let Some(day) = on(c.on) {
            their_checkins.entry(day).or_default().0 += 1;
        }
    }
    for (day, (n, _)) in pair_off(&my_checkins, &their_checkins) {
        out.checkins.insert(day, n);
    }
    out
}

/// Per day, the larger of the two sides' counts in each position: each log from one side pairs
/// off with one from the other.
fn pair_off(
    mine: &BTreeMap<Day, (u32, u32)>,
    theirs: &BTreeMap<Day, (u32, u32)>,
) -> BTreeMap<Day, (u32, u32)> {
    let mut out = mine.clone();
    for (day, (a, b)) in theirs {
        let e = out.entry(*day).or_default();
        e.0 = e.0.max(*a);
        e.1 = e.1.max(*b);
    }
    out
}

/// The day an entry counts on: its own, or today for one dated within the grace after today;
/// `None` for one further ahead.
fn read_day(on: Day, today: Day) -> Option<Day> {
    if on <= today {
        Some(on)
    } else if on <= today.plus_days(FUTURE_GRACE_DAYS) {
        Some(today)
    } else {
        None
    }
}

fn sum(days: &BTreeMap<Day, u32>, from: Day, to: Day) -> u32 {
    days.range(from..=to).map(|(_, n)| *n).sum()
}

fn window(daily: &Daily, days: u32, today: Day) -> Window {
    let from = today.minus_days(u64::from(days.saturating_sub(1)));
    Window {
        days,
        from,
        i_reached_out: sum(&daily.i_reached_out, from, today),
        they_reached_out: sum(&daily.they_reached_out, from, today),
        thanks_given: sum(&daily.thanks_given, from, today),
        thanks_received: sum(&daily.thanks_received, from, today),
        checkins: sum(&daily.checkins, from, today),
    }
}

fn bucket(daily: &Daily, start: Day, end: Day) -> Bucket {
    Bucket {
        start,
        i_reached_out: sum(&daily.i_reached_out, start, end),
        they_reached_out: sum(&daily.they_reached_out, start, end),
    }
}

/// The first day of the month `back` months before the month starting on `start`.
fn month_before(start: Day, back: u32) -> Day {
    let months = start.0.year() * 12 + start.0.month0() as i32 - back as i32;
    Day::ymd(months.div_euclid(12), months.rem_euclid(12) as u32 + 1, 1).unwrap_or(start)
}

/// Which way reach-outs lean in one window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lean {
    Few,
    Balanced,
    Me { strongly: bool },
    Them { strongly: bool },
}

impl Lean {
    fn of(w: &Window) -> Lean {
        let (me, them) = (w.i_reached_out, w.they_reached_out);
        let total = me + them;
        let at_least = |n: u32, num: u32, den: u32| n * den >= total * num;
        if total < FEW_CONTACTS {
            Lean::Few
        } else if at_least(me, 3, 5) {
            Lean::Me {
                strongly: at_least(me, 3, 4),
            }
        } else if at_least(them, 3, 5) {
            Lean::Them {
                strongly: at_least(them, 3, 4),
            }
        } else {
            Lean::Balanced
        }
    }

    /// Balanced, me or them, ignoring how strongly.
    fn way(self) -> u8 {
        match self {
            Lean::Few => 0,
            Lean::Balanced => 1,
            Lean::Me { .. } => 2,
            Lean::Them { .. } => 3,
        }
    }
}

fn more_often(strongly: bool) -> &'static str {
    if strongly {
        "more often"
    } else {
        "a bit more often"
    }
}

/// The words for the windows; `ever` is whether any reach-out was logged at all.
fn describe(windows: &[Window], ever: bool) -> String {
    let pick = |days: u32| windows.iter().find(|w| w.days == days);
    let (Some(w30), Some(w90)) = (pick(30), pick(90)) else {
        return String::new();
    };
    if !ever {
        return "Not much contact logged yet.".to_owned();
    }
    let long = Lean::of(w90);
    let mut words = match long {
        Lean::Few => return "Not much contact logged in the last 90 days.".to_owned(),
        Lean::Balanced => "Fairly balanced over the last 90 days.".to_owned(),
        Lean::Me { strongly } => {
            format!(
                "You reached out {} over the last 90 days.",
                more_often(strongly)
            )
        }
        Lean::Them { strongly } => format!(
            "They reached out {} over the last 90 days.",
            more_often(strongly)
        ),
    };
    let lately = Lean::of(w30);
    if lately != Lean::Few && lately.way() != long.way() {
        words.push(' ');
        words.push_str(&match lately {
            Lean::Me { strongly } => format!("Lately you reached out {}.", more_often(strongly)),
            Lean::Them { strongly } => {
                format!("Lately they reached out {}.", more_often(strongly))
            }
            _ => "Lately it has been fairly balanced.".to_owned(),
        });
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Id;
    use crate::model::{Channel, CheckIn, Interaction, Reason, Thanks};
    use crate::time::Timestamp;

    fn d(s: &str) -> Day {
        s.parse().unwrap()
    }

    fn interaction(on: &str, by: Initiator) -> Interaction {
        Interaction {
            on: d(on),
            by,
            via: Channel::Text,
            reason: Reason::JustBecause,
            note: String::new(),
            created: Timestamp(0),
        }
    }

    fn thanks(on: &str) -> Thanks {
        Thanks {
            on: d(on),
            text: "for the soup".into(),
            created: Timestamp(0),
        }
    }

    fn checkin(on: &str) -> CheckIn {
        CheckIn {
            on: d(on),
            rating: 4,
            went_well: String::new(),
            to_change: String::new(),
            reviews: vec![],
            principles: vec![],
            created: Timestamp(0),
        }
    }

    /// A side logging `log`: (day, who reached out from this side's point of view).
    fn logs(prefix: &str, log: &[(&str, Initiator)]) -> SideRecords {
        SideRecords {
            interactions: log
                .iter()
                .enumerate()
                .map(|(n, (on, by))| (Id::named(&format!("{prefix}{n}")), interaction(on, *by)))
                .collect(),
            ..SideRecords::default()
        }
    }

    const TODAY: &str = "2026-03-31";
    use Initiator::{Me, Them};

    /// (i reached out, they reached out) in the 30-, 90- and 365-day windows.
    fn reach(r: &Reciprocity) -> Vec<(u32, u32)> {
        r.windows
            .iter()
            .map(|w| (w.i_reached_out, w.they_reached_out))
            .collect()
    }

    #[test]
    fn windows_end_today_and_include_their_first_day() {
        let r = reciprocity(&[], None, d(TODAY));
        let firsts: Vec<(u32, Day)> = r.windows.iter().map(|w| (w.days, w.from)).collect();
        assert_eq!(
            firsts,
            [
                (30, d("2026-03-02")),
                (90, d("2026-01-01")),
                (365, d("2025-04-01")),
            ]
        );
        // (day logged, counted in 30, in 90, in 365)
        let cases = [
            ("2026-03-31", true, true, true),
            ("2026-03-02", true, true, true),
            ("2026-03-01", false, true, true),
            ("2026-01-01", false, true, true),
            ("2025-12-31", false, false, true),
            ("2025-04-01", false, false, true),
            ("2025-03-31", false, false, false),
            // Clock skew: a day or two ahead reads as today ...
            ("2026-04-01", true, true, true),
            ("2026-04-02", true, true, true),
            // ... further ahead is a typo, left out until its day comes.
            ("2026-04-03", false, false, false),
        ];
        for (on, in30, in90, in365) in cases {
            let mine = logs("m", &[(on, Me)]);
            let r = reciprocity(&[&mine], None, d(TODAY));
            let got: Vec<bool> = r.windows.iter().map(|w| w.i_reached_out == 1).collect();
            assert_eq!(got, [in30, in90, in365], "logged on {on}");
        }
    }

    #[test]
    fn reach_outs_are_read_from_each_sides_point_of_view() {
        // (case, my logs, their logs, synced, expected (mine, theirs) per window)
        type Case = (
            &'static str,
            Vec<(&'static str, Initiator)>,
            Option<Vec<(&'static str, Initiator)>>,
            [(u32, u32); 3],
        );
        let cases: Vec<Case> = vec![
            ("nothing logged", vec![], Some(vec![]), [(0, 0); 3]),
            ("not synced, nothing logged", vec![], None, [(0, 0); 3]),
            (
                "only I log",
                vec![("2026-03-30", Me), ("2026-03-01", Them), ("2025-06-01", Me)],
                Some(vec![]),
                [(1, 0), (1, 1), (2, 1)],
            ),
            (
                "only they log: their me is them",
                vec![],
                Some(vec![
                    ("2026-03-30", Me),
                    ("2026-03-20", Me),
                    ("2026-02-01", Them),
                ]),
                [(0, 2), (1, 2), (1, 2)],
            ),
            (
                "their side not synced: my logs alone",
                vec![("2026-03-30", Me), ("2026-03-29", Them)],
                None,
                [(1, 1); 3],
            ),
            (
                "the same call logged by both sides counts once",
                vec![("2026-03-30", Me)],
                Some(vec![("2026-03-30", Them)]),
                [(1, 0); 3],
            ),
            (
                "logged on different days: counted twice",
                vec![("2026-03-30", Me)],
                Some(vec![("2026-03-29", Them)]),
                [(2, 0); 3],
            ),
            (
                "same day, different direction: counted twice",
                vec![("2026-03-30", Me)],
                Some(vec![("2026-03-30", Me)]),
                [(1, 1); 3],
            ),
            (
                "two of mine and one of theirs the same day: two",
                vec![("2026-03-30", Me), ("2026-03-30", Me)],
                Some(vec![("2026-03-30", Them)]),
                [(2, 0); 3],
            ),
            (
                "two calls I logged once each: the same day pairs off",
                vec![("2026-03-30", Them), ("2026-03-30", Them)],
                Some(vec![("2026-03-30", Me), ("2026-03-30", Me)]),
                [(0, 2); 3],
            ),
            (
                "a friend a day ahead logs the call I log today: once",
                vec![("2026-03-31", Me)],
                Some(vec![("2026-04-01", Them)]),
                [(1, 0); 3],
            ),
        ];
        for (case, mine, theirs, want) in cases {
            let mine = logs("m", &mine);
            let theirs = theirs.map(|t| logs("t", &t));
            let r = reciprocity(&[&mine], theirs.as_ref(), d(TODAY));
            assert_eq!(reach(&r), want, "{case}");
            assert_eq!(r.their_side_synced, theirs.is_some(), "{case}");
        }
    }

    #[test]
    fn a_record_in_both_of_my_places_counts_once() {
        let shared = logs("x", &[("2026-03-30", Me)]);
        let private = logs("x", &[("2026-03-30", Me)]);
        let other = logs("y", &[("2026-03-30", Me)]);
        assert_eq!(
            reach(&reciprocity(&[&shared, &private], None, d(TODAY))),
            [(1, 0); 3]
        );
        assert_eq!(
            reach(&reciprocity(&[&shared, &other], None, d(TODAY))),
            [(2, 0); 3],
            "two logs of my own on one day are two contacts"
        );
    }

    #[test]
    fn thanks_and_checkins() {
        let mut mine = SideRecords::default();
        let mut theirs = SideRecords::default();
        for (id, on) in [("a", "2026-03-30"), ("b", "2026-02-10")] {
            mine.thanks.insert(Id::named(id), thanks(on));
        }
        theirs.thanks.insert(Id::named("c"), thanks("2026-03-05"));
        // Check-ins: the 20th held together (both recorded it), the 10th only by me, Dec 1 only
        // by them.
        for (id, on) in [("a", "2026-03-20"), ("b", "2026-03-10")] {
            mine.checkins.insert(Id::named(id), checkin(on));
        }
        for (id, on) in [("c", "2026-03-20"), ("d", "2025-12-01")] {
            theirs.checkins.insert(Id::named(id), checkin(on));
        }
        let r = reciprocity(&[&mine], Some(&theirs), d(TODAY));
        let got: Vec<(u32, u32, u32)> = r
            .windows
            .iter()
            .map(|w| (w.thanks_given, w.thanks_received, w.checkins))
            .collect();
        assert_eq!(got, [(1, 1, 2), (2, 1, 2), (2, 1, 3)]);
        let unsynced = reciprocity(&[&mine], None, d(TODAY));
        assert_eq!(
            unsynced.windows[2],
            Window {
                days: 365,
                from: d("2025-04-01"),
                i_reached_out: 0,
                they_reached_out: 0,
                thanks_given: 2,
                thanks_received: 0,
                checkins: 2,
            }
        );
    }

    #[test]
    fn the_trend_has_twelve_weeks_and_twelve_months_oldest_first() {
        // 2026-03-31 is a Tuesday: the current week started Monday 2026-03-30.
        let mine = logs(
            "m",
            &[
                ("2026-03-30", Me),
                ("2026-03-29", Them),
                ("2026-01-12", Me),
                ("2026-01-11", Me),
                ("2025-04-30", Them),
                ("2025-03-31", Me),
            ],
        );
        let r = reciprocity(&[&mine], None, d(TODAY));
        let weeks = &r.trend.weeks;
        assert_eq!(weeks.len(), 12);
        assert_eq!(weeks[11].start, d("2026-03-30"));
        assert_eq!(weeks[0].start, d("2026-01-12"));
        assert_eq!(
            (weeks[11].i_reached_out, weeks[11].they_reached_out),
            (1, 0)
        );
        assert_eq!(
            (weeks[10].i_reached_out, weeks[10].they_reached_out),
            (0, 1)
        );
        assert_eq!(
            (weeks[0].i_reached_out, weeks[0].they_reached_out),
            (1, 0),
            "Jan 11, a Sunday, is in the week before"
        );
        let months = &r.trend.months;
        let starts: Vec<Day> = months.iter().map(|m| m.start).collect();
        assert_eq!(starts.len(), 12);
        assert_eq!(starts[0], d("2025-04-01"));
        assert_eq!(starts[9], d("2026-01-01"));
        assert_eq!(starts[11], d("2026-03-01"));
        assert_eq!(
            (months[0].i_reached_out, months[0].they_reached_out),
            (0, 1)
        );
        assert_eq!(
            (months[9].i_reached_out, months[9].they_reached_out),
            (2, 0)
        );
        assert_eq!(
            (months[11].i_reached_out, months[11].they_reached_out),
            (1, 1)
        );
    }

    #[test]
    fn the_words_describe_without_judging() {
        // Days within the last 30 days and 31–90 days back.
        let recent = [
            "2026-03-28",
            "2026-03-25",
            "2026-03-20",
            "2026-03-15",
            "2026-03-10",
        ];
        let older = [
            "2026-02-20",
            "2026-02-10",
            "2026-01-30",
            "2026-01-20",
            "2026-01-10",
        ];
        let log = |days: &[&'static str], by: Initiator| -> Vec<(&'static str, Initiator)> {
            days.iter().map(|d| (*d, by)).collect()
        };
        let cases: Vec<(Vec<(&'static str, Initiator)>, &str)> = vec![
            (vec![], "Not much contact logged yet."),
            (
                log(&["2025-06-01"], Me),
                "Not much contact logged in the last 90 days.",
            ),
            (
                log(&["2023-06-01"], Them),
                "Not much contact logged in the last 90 days.",
            ),
            (
                log(&recent[..3], Me),
                "Not much contact logged in the last 90 days.",
            ),
            (
                [log(&recent[..2], Me), log(&recent[2..4], Them)].concat(),
                "Fairly balanced over the last 90 days.",
            ),
            (
                [log(&recent[..3], Me), log(&recent[3..5], Them)].concat(),
                "You reached out a bit more often over the last 90 days.",
            ),
            (
                [log(&recent, Them), log(&older[..1], Me)].concat(),
                "They reached out more often over the last 90 days.",
            ),
            (
                // Balanced over 90 days, but lately mostly me.
                [
                    log(&recent[..4], Me),
                    log(&older, Them),
                    log(&older[..1], Me),
                ]
                .concat(),
                "Fairly balanced over the last 90 days. Lately you reached out more often.",
            ),
            (
                // Them over 90 days; lately balanced.
                [
                    log(&recent[..2], Me),
                    log(&recent[2..4], Them),
                    log(&older, Them),
                ]
                .concat(),
                "They reached out more often over the last 90 days. \
                 Lately it has been fairly balanced.",
            ),
        ];
        for (log, want) in cases {
            let mine = logs("m", &log);
            let r = reciprocity(&[&mine], None, d(TODAY));
            assert_eq!(r.words, want, "{log:?}");
            for word in ["fail", "score", "should", "bad", "never"] {
                assert!(!r.words.to_lowercase().contains(word), "{}", r.words);
            }
        }
    }

    #[test]
    fn reciprocity_serializes_readably() {
        let mine = logs("m", &[("2026-03-30", Me)]);
        let json = serde_json::to_value(reciprocity(&[&mine], None, d(TODAY))).unwrap();
        assert_eq!(json["today"], "2026-03-31");
        assert_eq!(json["their_side_synced"], false);
        assert_eq!(
            json["windows"][0],
            serde_json::json!({
                "days": 30,
                "from": "2026-03-02",
                "i_reached_out": 1,
                "they_reached_out": 0,
                "thanks_given": 0,
                "thanks_received": 0,
                "checkins": 0,
            })
        );
        assert_eq!(
            json["trend"]["weeks"][11],
            serde_json::json!({"start": "2026-03-30", "i_reached_out": 1, "they_reached_out": 0})
        );
        assert_eq!(json["trend"]["months"].as_array().unwrap().len(), 12);
        assert_eq!(
            json["words"],
            "Not much contact logged in the last 90 days."
        );
    }
}
