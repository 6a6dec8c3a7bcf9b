//! When a ritual is due, and its streak, counted in periods.
//!
//! # Definitions
//!
//! **Periods.** A ritual's time is cut into periods, and each period has one *slot*, the day the
//! ritual is meant to happen in it:
//!
//! | recurrence | period | slot |
//! |---|---|---|
//! | `MonthlyOn { day }` | a calendar month | that day, or the month's last day if the month lacks it (31 → Feb 28 or 29, Apr 30) |
//! | `WeeklyOn { weekday }` | an ISO week, Monday to Sunday | that weekday (0 = Monday … 6 = Sunday) |
//! | `EveryDays { days }` | `days` days, counted from [`Ritual::start`] | the period's first day |
//!
//! Records out of range never reach here (they do not validate, so they are not read), but the
//! arithmetic stays total anyway: a month day of 0 reads as 1 and above 31 as the last day, a
//! weekday above 6 as Sunday, and `EveryDays { days: 0 }` as every day.
//!
//! **A recurrence this build does not know** (written by a newer tapin) has no periods here: its
//! schedule is [`RitualState::Unscheduled`], with no next day due and no streak, while
//! `last_done` is still reported; it has no slots on a calendar.
//!
//! **The first period** is the one containing `start`; periods before it do not exist, and
//! occurrences before `start` are ignored. Its slot can fall before `start` (a ritual on the 4th
//! set up on the 15th): such a slot is never due — the first slot due is the first on or after
//! `start` — but an occurrence in that first period still keeps it.
//!
//! **Kept.** A period is kept if any occurrence falls inside it: doing it on the 3rd instead of
//! the 4th still keeps the month. Occurrences may be out of order or duplicated. Occurrences
//! after `today` have not happened yet and are ignored.
//!
//! **Streak.** The number of consecutive kept periods ending with the current period (the one
//! containing `today`) if it is kept, or else ending with the previous period: the current period
//! is still open, so not having kept it yet breaks nothing.
//!
//! **Next due.** If the current period is not kept, its slot — which may be past (overdue), today
//! (due today) or ahead (upcoming). If it is kept, the next period's slot. Before `start`, the
//! first slot due. Overdue lasts until the period ends; then the next period's slot takes over.
//!
//! **Retired** rituals are never due: their state is [`RitualState::Retired`] and `next_due` is
//! `None`, while `streak` and `last_done` are still reported as history.

use std::collections::BTreeSet;

use chrono::Datelike;
use serde::Serialize;

use crate::model::{Recurrence, Ritual};
use crate::time::Day;

/// One period of a ritual.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Period {
    /// Its first day.
    pub start: Day,
    /// Its last day (inclusive).
    pub end: Day,
    /// The day the ritual is meant to happen in it.
    pub slot: Day,
}

/// Where a ritual stands today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum RitualState {
    /// The next slot is ahead.
    Upcoming {
        /// Days from today to the next slot (at least 1).
        in_days: u32,
    },
    /// The slot is today.
    DueToday,
    /// This period's slot has passed and the period is not kept yet.
    Overdue {
        /// The slot that was missed.
        since: Day,
        /// Days since that slot (at least 1).
        days: u32,
    },
    /// The ritual was retired; it is never due.
    Retired,
    /// Its recurrence was written by a newer tapin, and this build cannot tell when it is due.
    Unscheduled,
}

/// A ritual's schedule as of one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RitualSchedule {
    /// The next day it is due (`None` once retired). See the module docs.
    pub next_due: Option<Day>,
    /// Upcoming, due today, overdue or retired. Flattened in JSON: `"state": "overdue"` and the
    /// variant's fields sit beside the other fields.
    #[serde(flatten)]
    pub state: RitualState,
    /// Whether the current period is already kept.
    pub kept_this_period: bool,
    /// Consecutive kept periods; see the module docs.
    pub streak: u32,
    /// The latest occurrence (on or after the start, not after today).
    pub last_done: Option<Day>,
    /// The unit the streak counts: "month", "week", "day" or "N days".
    pub period: String,
}

/// The period of `r` containing `day`.
///
/// For `EveryDays` periods are counted from `r.start`; for a day before the start this
/// extrapolates backwards, to periods that do not exist for the ritual (see the module docs).
pub fn period_of(r: &Ritual, day: Day) -> Period {
    match r.recurrence {
        Recurrence::MonthlyOn { day: on } => {
            let start = day.month_start();
            let len = start.days_in_month();
            let on = u32::from(on).clamp(1, len);
            Period {
                start,
                end: start.plus_days(u64::from(len - 1)),
                slot: start.plus_days(u64::from(on - 1)),
            }
        }
        Recurrence::WeeklyOn { weekday } => {
            let start = day.minus_days(u64::from(day.0.weekday().num_days_from_monday()));
            Period {
                start,
                end: start.plus_days(6),
                slot: start.plus_days(u64::from(weekday.min(6))),
            }
        }
        Recurrence::EveryDays { days } => {
            let len = i64::from(days.max(1));
            let index = r.start.days_until(day).div_euclid(len);
            let start = shift(r.start, index.saturating_mul(len));
            Period {
                start,
                end: shift(start, len - 1),
                slot: start,
            }
        }
        // No periods are known; a day of its own keeps this function total.
        Recurrence::Unknown(_) => Period {
            start: day,
            end: day,
            slot: day,
        },
    }
}

/// The slots of `r` from `from` to `to` (both inclusive), in order, for a calendar view. Only
/// slots on or after `r.start` are included; retirement is not considered (callers decide
/// whether a retired ritual belongs on their calendar).
pub fn slots_between(r: &Ritual, from: Day, to: Day) -> Vec<Day> {
    let from = from.max(r.start);
    let mut slots = Vec::new();
    if from > to || !r.recurrence.is_known() {
        return slots;
    }
    let mut p = period_of(r, from);
    loop {
        if p.slot >= from && p.slot <= to {
            slots.push(p.slot);
        }
        if p.end >= to {
            break;
        }
        let n = next(r, p);
        if n.start <= p.start {
            break; // the calendar's end: no further period
        }
        p = n;
    }
    slots
}

/// The schedule of `r` as of `today`; see the module docs for the definitions.
pub fn schedule(r: &Ritual, today: Day) -> RitualSchedule {
    let happened = || {
        r.occurrences
            .iter()
            .copied()
            .filter(move |d| *d >= r.start && *d <= today)
    };
    let last_done = happened().max();
    if !r.recurrence.is_known() {
        return RitualSchedule {
            next_due: None,
            state: if r.retired {
                RitualState::Retired
            } else {
                RitualState::Unscheduled
            },
            kept_this_period: false,
            streak: 0,
            last_done,
            period: period_word(r.recurrence),
        };
    }
    let kept: BTreeSet<Day> = happened().map(|d| period_of(r, d).start).collect();

    let (due, kept_this_period, streak) = if today < r.start {
        (first_slot(r), false, 0)
    } else {
        let current = period_of(r, today);
        let kept_now = kept.contains(&current.start);
        let due = if kept_now || current.slot < r.start {
            next(r, current).slot
        } else {
            current.slot
        };
        let mut streak = 0u32;
        let mut p = if kept_now {
            current
        } else {
            previous(r, current)
        };
        while kept.contains(&p.start) {
            streak += 1;
            let before = previous(r, p);
            if before.start >= p.start {
                break; // the calendar's start
            }
            p = before;
        }
        (due, kept_now, streak)
    };

    let state = if r.retired {
        RitualState::Retired
    } else {
        let ahead = today.days_until(due);
        match ahead {
            0 => RitualState::DueToday,
            1.. => RitualState::Upcoming {
                in_days: saturate(ahead),
            },
            _ => RitualState::Overdue {
                since: due,
                days: saturate(-ahead),
            },
        }
    };
    RitualSchedule {
        next_due: (!r.retired).then_some(due),
        state,
        kept_this_period,
        streak,
        last_done,
        period: period_word(r.recurrence),
    }
}

/// The unit a streak of this recurrence counts: "month", "week", "day" or "N days".
pub fn period_word(recurrence: Recurrence) -> String {
    match recurrence {
        Recurrence::MonthlyOn { .. } => "month".to_owned(),
        Recurrence::WeeklyOn { .. } => "week".to_owned(),
        Recurrence::EveryDays { days: 0 | 1 } => "day".to_owned(),
        Recurrence::EveryDays { days } => format!("{days} days"),
        Recurrence::Unknown(_) => "period".to_owned(),
    }
}

/// The first slot on or after the ritual's start.
fn first_slot(r: &Ritual) -> Day {
    let first = period_of(r, r.start);
    if first.slot >= r.start {
        first.slot
    } else {
        next(r, first).slot
    }
}

fn next(r: &Ritual, p: Period) -> Period {
    period_of(r, p.end.plus_days(1))
}

fn previous(r: &Ritual, p: Period) -> Period {
    period_of(r, p.start.minus_days(1))
}

fn shift(day: Day, days: i64) -> Day {
    if days >= 0 {
        day.plus_days(days.unsigned_abs())
    } else {
        day.minus_days(days.unsigned_abs())
    }
}

fn saturate(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Day {
        s.parse().unwrap()
    }

    fn ritual(recurrence: Recurrence, start: &str, done: &[&str]) -> Ritual {
        Ritual {
            title: "One-on-one time".into(),
            recurrence,
            minutes: Some(20),
            guidelines: vec!["no vehicle travel".into()],
            start: d(start),
            occurrences: done.iter().map(|s| d(s)).collect(),
            retired: false,
        }
    }

    const MONTHLY_31: Recurrence = Recurrence::MonthlyOn { day: 31 };
    const MONTHLY_4: Recurrence = Recurrence::MonthlyOn { day: 4 };

    #[test]
    fn a_monthly_slot_the_month_lacks_falls_on_its_last_day() {
        let cases = [
            (MONTHLY_31, "2024-02-10", "2024-02-29"), // leap year
            (MONTHLY_31, "2023-02-10", "2023-02-28"),
            (MONTHLY_31, "2024-04-01", "2024-04-30"),
            (MONTHLY_31, "2024-05-01", "2024-05-31"),
            (
                Recurrence::MonthlyOn { day: 30 },
                "2025-02-01",
                "2025-02-28",
            ),
            (
                Recurrence::MonthlyOn { day: 29 },
                "2024-02-01",
                "2024-02-29",
            ),
            (
                Recurrence::MonthlyOn { day: 29 },
                "2025-02-01",
                "2025-02-28",
            ),
            (Recurrence::MonthlyOn { day: 0 }, "2025-03-09", "2025-03-01"),
            (
                Recurrence::MonthlyOn { day: 200 },
                "2025-06-09",
                "2025-06-30",
            ),
        ];
        for (rec, day, slot) in cases {
            let r = ritual(rec, "2020-01-01", &[]);
            assert_eq!(period_of(&r, d(day)).slot, d(slot), "{rec:?} in {day}");
        }
    }

    #[test]
    fn next_due_and_state_follow_the_current_period() {
        use RitualState::*;
        // (recurrence, start, occurrences, today, next due, state)
        type Case = (
            Recurrence,
            &'static str,
            &'static [&'static str],
            &'static str,
            &'static str,
            RitualState,
        );
        let cases: &[Case] = &[
            (
                MONTHLY_4,
                "2026-01-01",
                &[],
                "2026-03-01",
                "2026-03-04",
                Upcoming { in_days: 3 },
            ),
            (
                MONTHLY_4,
                "2026-01-01",
                &[],
                "2026-03-04",
                "2026-03-04",
                DueToday,
            ),
            (
                MONTHLY_4,
                "2026-01-01",
                &[],
                "2026-03-10",
                "2026-03-04",
                Overdue {
                    since: d("2026-03-04"),
                    days: 6,
                },
            ),
            // Kept on the 3rd instead of the 4th: the month is kept, April is next.
            (
                MONTHLY_4,
                "2026-01-01",
                &["2026-03-03"],
                "2026-03-04",
                "2026-04-04",
                Upcoming { in_days: 31 },
            ),
            // Kept late in the month: still kept.
            (
                MONTHLY_4,
                "2026-01-01",
                &["2026-03-28"],
                "2026-03-30",
                "2026-04-04",
                Upcoming { in_days: 5 },
            ),
            // Overdue ends with the month; a new month brings a new slot.
            (
                MONTHLY_4,
                "2026-01-01",
                &[],
                "2026-04-01",
                "2026-04-04",
                Upcoming { in_days: 3 },
            ),
            // Year boundary: December kept, January next.
            (
                MONTHLY_31,
                "2025-01-01",
                &["2025-12-31"],
                "2025-12-31",
                "2026-01-31",
                Upcoming { in_days: 31 },
            ),
            (
                MONTHLY_31,
                "2025-01-01",
                &["2025-12-31"],
                "2026-01-02",
                "2026-01-31",
                Upcoming { in_days: 29 },
            ),
            // The 31st in February of a leap year, and not.
            (
                MONTHLY_31,
                "2024-01-01",
                &[],
                "2024-02-29",
                "2024-02-29",
                DueToday,
            ),
            (
                MONTHLY_31,
                "2023-01-01",
                &[],
                "2023-02-28",
                "2023-02-28",
                DueToday,
            ),
            (
                MONTHLY_31,
                "2023-01-01",
                &["2023-02-28"],
                "2023-02-28",
                "2023-03-31",
                Upcoming { in_days: 31 },
            ),
            // April has 30 days.
            (
                MONTHLY_31,
                "2024-01-01",
                &[],
                "2024-04-30",
                "2024-04-30",
                DueToday,
            ),
            // A first slot before the start is never due: set up on the 15th for the 4th.
            (
                MONTHLY_4,
                "2026-03-15",
                &[],
                "2026-03-15",
                "2026-04-04",
                Upcoming { in_days: 20 },
            ),
            (
                MONTHLY_4,
                "2026-03-15",
                &[],
                "2026-03-31",
                "2026-04-04",
                Upcoming { in_days: 4 },
            ),
            // Before the start, the first slot is next.
            (
                MONTHLY_4,
                "2026-03-15",
                &[],
                "2026-01-10",
                "2026-04-04",
                Upcoming { in_days: 84 },
            ),
            (
                MONTHLY_4,
                "2026-03-04",
                &[],
                "2026-03-01",
                "2026-03-04",
                Upcoming { in_days: 3 },
            ),
            // Weekly on Sunday, across the ISO week boundary (2026-W01 runs Dec 29 – Jan 4).
            (
                Recurrence::WeeklyOn { weekday: 6 },
                "2025-12-01",
                &["2025-12-28"],
                "2025-12-29",
                "2026-01-04",
                Upcoming { in_days: 6 },
            ),
            (
                Recurrence::WeeklyOn { weekday: 6 },
                "2025-12-01",
                &["2025-12-28"],
                "2025-12-28",
                "2026-01-04",
                Upcoming { in_days: 7 },
            ),
            (
                Recurrence::WeeklyOn { weekday: 0 },
                "2025-12-01",
                &[],
                "2026-01-01",
                "2025-12-29",
                Overdue {
                    since: d("2025-12-29"),
                    days: 3,
                },
            ),
            // Every 10 days from the start; slots are the first day of each period.
            (
                Recurrence::EveryDays { days: 10 },
                "2026-01-01",
                &["2026-01-12"],
                "2026-01-15",
                "2026-01-21",
                Upcoming { in_days: 6 },
            ),
            (
                Recurrence::EveryDays { days: 10 },
                "2026-01-01",
                &[],
                "2026-01-15",
                "2026-01-11",
                Overdue {
                    since: d("2026-01-11"),
                    days: 4,
                },
            ),
            // Every 7 days from a leap day.
            (
                Recurrence::EveryDays { days: 7 },
                "2024-02-29",
                &["2024-02-29"],
                "2024-03-01",
                "2024-03-07",
                Upcoming { in_days: 6 },
            ),
            // Every 30 days across Feb 29: Feb 1 + 30 days is Mar 2 in a leap year, Mar 3 in 2023.
            (
                Recurrence::EveryDays { days: 30 },
                "2024-02-01",
                &["2024-02-01"],
                "2024-02-29",
                "2024-03-02",
                Upcoming { in_days: 2 },
            ),
            (
                Recurrence::EveryDays { days: 30 },
                "2023-02-01",
                &["2023-02-01"],
                "2023-02-28",
                "2023-03-03",
                Upcoming { in_days: 3 },
            ),
        ];
        for (rec, start, done, today, next_due, state) in cases {
            let s = schedule(&ritual(*rec, start, done), d(today));
            assert_eq!(
                (s.next_due, s.state),
                (Some(d(next_due)), *state),
                "{rec:?} from {start}, done {done:?}, today {today}"
            );
        }
    }

    #[test]
    fn a_ritual_on_a_leap_day_keeps_its_day_where_it_can() {
        // Started on Feb 29 2024, monthly on the 29th: February 2025 falls on the 28th.
        let r = ritual(
            Recurrence::MonthlyOn { day: 29 },
            "2024-02-29",
            &["2024-02-29", "2025-01-29"],
        );
        let slots = slots_between(&r, d("2024-01-01"), d("2025-03-31"));
        assert_eq!(slots.first(), Some(&d("2024-02-29")));
        assert!(slots.contains(&d("2025-02-28")));
        assert_eq!(slots.len(), 14);
        let s = schedule(&r, d("2025-02-27"));
        assert_eq!(s.next_due, Some(d("2025-02-28")));
        assert_eq!(s.state, RitualState::Upcoming { in_days: 1 });
        assert_eq!(s.streak, 1, "January kept, December and before missed");
    }

    #[test]
    fn streaks_count_periods() {
        let cases: &[(Recurrence, &str, &[&str], &str, u32)] = &[
            // (recurrence, start, occurrences, today, streak)
            (MONTHLY_4, "2025-01-01", &[], "2025-06-10", 0),
            (
                MONTHLY_4,
                "2025-01-01",
                &["2025-04-04", "2025-05-02"],
                "2025-06-10",
                2,
            ),
            // The current month counts only once kept.
            (
                MONTHLY_4,
                "2025-01-01",
                &["2025-04-04", "2025-05-02", "2025-06-05"],
                "2025-06-10",
                3,
            ),
            (
                MONTHLY_4,
                "2025-01-01",
                &["2025-04-04", "2025-05-02"],
                "2025-06-04",
                2,
            ),
            // A missed month breaks it.
            (
                MONTHLY_4,
                "2025-01-01",
                &["2025-02-04", "2025-04-04", "2025-05-04"],
                "2025-05-20",
                2,
            ),
            (
                MONTHLY_4,
                "2025-01-01",
                &["2025-02-04", "2025-03-04", "2025-05-04"],
                "2025-05-20",
                1,
            ),
            // The previous month missed, the current one open: nothing to count.
            (MONTHLY_4, "2025-01-01", &["2025-03-04"], "2025-05-01", 0),
            // Across a year boundary.
            (
                MONTHLY_31,
                "2024-01-01",
                &["2024-11-30", "2024-12-31", "2025-01-31"],
                "2025-02-01",
                3,
            ),
            // Out of order and duplicated occurrences count once per period.
            (
                MONTHLY_4,
                "2025-01-01",
                &[
                    "2025-05-04",
                    "2025-03-04",
                    "2025-04-04",
                    "2025-04-05",
                    "2025-05-04",
                ],
                "2025-05-20",
                3,
            ),
            // Occurrences before the start are ignored.
            (
                MONTHLY_4,
                "2025-03-01",
                &["2025-01-04", "2025-02-04", "2025-03-04"],
                "2025-03-20",
                1,
            ),
            // Occurrences after today have not happened yet.
            (
                MONTHLY_4,
                "2025-01-01",
                &["2025-03-04", "2025-04-04"],
                "2025-03-20",
                1,
            ),
            // Weekly on Sunday across the ISO week boundary: W52 of 2025, W01 and W02 of 2026.
            (
                Recurrence::WeeklyOn { weekday: 6 },
                "2025-12-01",
                &["2025-12-28", "2026-01-04", "2026-01-10"],
                "2026-01-11",
                3,
            ),
            // Every 7 days from a leap day.
            (
                Recurrence::EveryDays { days: 7 },
                "2024-02-29",
                &["2024-02-29", "2024-03-07", "2024-03-14"],
                "2024-03-15",
                3,
            ),
            (
                Recurrence::EveryDays { days: 7 },
                "2024-02-29",
                &["2024-02-29", "2024-03-14"],
                "2024-03-15",
                1,
            ),
            (
                Recurrence::EveryDays { days: 7 },
                "2024-02-29",
                &["2024-02-29", "2024-03-13"],
                "2024-03-15",
                2,
            ),
        ];
        for (rec, start, done, today, streak) in cases {
            let s = schedule(&ritual(*rec, start, done), d(today));
            assert_eq!(
                s.streak, *streak,
                "{rec:?} from {start}, done {done:?}, today {today}"
            );
        }
    }

    #[test]
    fn last_done_and_the_period_word() {
        let r = ritual(
            MONTHLY_4,
            "2025-01-01",
            &["2025-03-04", "2024-12-04", "2025-02-04", "2025-09-04"],
        );
        let s = schedule(&r, d("2025-03-20"));
        assert_eq!(s.last_done, Some(d("2025-03-04")));
        assert!(s.kept_this_period);
        assert_eq!(s.period, "month");
        assert_eq!(period_word(Recurrence::WeeklyOn { weekday: 2 }), "week");
        assert_eq!(period_word(Recurrence::EveryDays { days: 1 }), "day");
        assert_eq!(period_word(Recurrence::EveryDays { days: 10 }), "10 days");
    }

    #[test]
    fn a_retired_ritual_is_never_due_but_keeps_its_history() {
        let mut r = ritual(MONTHLY_4, "2025-01-01", &["2025-02-04", "2025-03-04"]);
        r.retired = true;
        let s = schedule(&r, d("2025-03-20"));
        assert_eq!(s.state, RitualState::Retired);
        assert_eq!(s.next_due, None);
        assert_eq!(s.streak, 2);
        assert_eq!(s.last_done, Some(d("2025-03-04")));
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["state"], "retired");
    }

    #[test]
    fn periods_are_calendar_months_iso_weeks_or_n_days_from_the_start() {
        let weekly = ritual(Recurrence::WeeklyOn { weekday: 6 }, "2025-12-01", &[]);
        let p = period_of(&weekly, d("2026-01-01"));
        assert_eq!(
            (p.start, p.end, p.slot),
            (d("2025-12-29"), d("2026-01-04"), d("2026-01-04"))
        );
        let p = period_of(&weekly, d("2026-01-04"));
        assert_eq!(p.start, d("2025-12-29"), "Sunday ends the ISO week");
        let monthly = ritual(MONTHLY_4, "2020-01-01", &[]);
        let p = period_of(&monthly, d("2024-02-15"));
        assert_eq!((p.start, p.end), (d("2024-02-01"), d("2024-02-29")));
        let every = ritual(Recurrence::EveryDays { days: 10 }, "2026-01-05", &[]);
        let p = period_of(&every, d("2026-01-24"));
        assert_eq!(
            (p.start, p.end, p.slot),
            (d("2026-01-15"), d("2026-01-24"), d("2026-01-15"))
        );
        let p = period_of(&every, d("2026-01-04"));
        assert_eq!(p.start, d("2025-12-26"), "extrapolated before the start");
        let daily = ritual(Recurrence::EveryDays { days: 0 }, "2026-01-05", &[]);
        let p = period_of(&daily, d("2026-01-09"));
        assert_eq!((p.start, p.end), (d("2026-01-09"), d("2026-01-09")));
    }

    #[test]
    fn slots_between_lists_the_calendar() {
        let cases: &[(Recurrence, &str, &str, &str, &[&str])] = &[
            // (recurrence, start, from, to, slots)
            (
                MONTHLY_31,
                "2020-01-01",
                "2023-12-15",
                "2024-04-30",
                &[
                    "2023-12-31",
                    "2024-01-31",
                    "2024-02-29",
                    "2024-03-31",
                    "2024-04-30",
                ],
            ),
            (
                Recurrence::WeeklyOn { weekday: 6 },
                "2025-12-01",
                "2025-12-22",
                "2026-01-10",
                &["2025-12-28", "2026-01-04"],
            ),
            // Nothing before the start, even in the first period.
            (
                MONTHLY_4,
                "2026-03-15",
                "2026-01-01",
                "2026-05-31",
                &["2026-04-04", "2026-05-04"],
            ),
            (
                Recurrence::EveryDays { days: 10 },
                "2026-01-01",
                "2026-01-05",
                "2026-01-31",
                &["2026-01-11", "2026-01-21", "2026-01-31"],
            ),
            (MONTHLY_4, "2026-01-01", "2026-05-01", "2026-04-01", &[]),
            (MONTHLY_4, "2026-01-01", "2026-05-05", "2026-05-31", &[]),
        ];
        for (rec, start, from, to, want) in cases {
            let got = slots_between(&ritual(*rec, start, &[]), d(from), d(to));
            let want: Vec<Day> = want.iter().map(|s| d(s)).collect();
            assert_eq!(got, want, "{rec:?} from {start}, {from}..={to}");
        }
    }

    #[test]
    fn the_schedule_serializes_readably() {
        let r = ritual(MONTHLY_4, "2026-01-01", &["2026-02-04"]);
        let json = serde_json::to_value(schedule(&r, d("2026-03-10"))).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "next_due": "2026-03-04",
                "state": "overdue",
                "since": "2026-03-04",
                "days": 6,
                "kept_this_period": false,
                "streak": 1,
                "last_done": "2026-02-04",
                "period": "month",
            })
        );
    }
}
