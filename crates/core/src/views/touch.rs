//! Staying in touch: when a relationship is due or overdue for contact, and which to nudge first.
//!
//! # Definitions
//!
//! **Contact** is any logged interaction (whoever reached out) and any ritual occurrence, in the
//! relationship's private records or its shared side. [`last_contact`] is the latest day of those.
//!
//! **The clock** starts at the last contact; when there never was one, at the day the
//! relationship was created, read in the person's time zone (which [`touch_status`] takes as a
//! parameter, so the core never reads the local zone itself).
//!
//! **The state**, checked in this order:
//! 1. [`TouchState::Inactive`] — the relationship is archived or ended: never nudged.
//! 2. [`TouchState::NoRhythm`] — no rhythm set: nothing is ever due.
//! 3. [`TouchState::Snoozed`] — `snoozed_until` is after today (so a snooze until the 10th is quiet
//!    through the 9th and over on the 10th).
//! 4. With `elapsed` = days from the clock's start to today: [`TouchState::Overdue`] once
//!    `elapsed >= max`, else [`TouchState::Due`] once `elapsed >= ideal`, else
//!    [`TouchState::Fine`]. "After this long without contact": with an ideal of 14 days and a last
//!    contact on the 1st, the relationship is due on the 15th. Due's `since` is the clock's start
//!    plus `ideal`, Overdue's the clock's start plus `max`; `days_over` counts from that day (0 on
//!    the day itself). A contact dated after today (a typo, a clock off) reads as Fine.
//!
//! **Nudge order** ([`nudge_order`]): only due and overdue relationships, overdue before due, then
//! the most days over, then the most important, then the highest risk; remaining ties keep the
//! caller's order.

use std::cmp::Reverse;

use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;

use crate::model::{Relationship, RelationshipStatus, SideRecords};
use crate::time::Day;

/// The local calendar day of an instant in a time zone.
///
/// The CLI passes the person's zone (`chrono::Local`, or a configured zone); tests pass fixed
/// zones.
pub fn today_in(now: DateTime<Utc>, tz: &impl TimeZone) -> Day {
    Day(now.with_timezone(tz).date_naive())
}

/// The latest contact recorded with a relationship: the latest interaction (whoever reached out)
/// or ritual occurrence, in its private records and, if given, its shared side.
///
/// To also count what the friend shared, fold their side in with `max` over a second call.
pub fn last_contact(private: &SideRecords, shared: Option<&SideRecords>) -> Option<Day> {
    std::iter::once(private)
        .chain(shared)
        .flat_map(|records| {
            let interactions = records.interactions.values().map(|i| i.on);
            let rituals = records
                .rituals
                .values()
                .flat_map(|r| r.occurrences.iter().copied());
            interactions.chain(rituals)
        })
        .max()
}

/// Where a relationship stands on staying in touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum TouchState {
    /// Archived or ended: never nudged.
    Inactive {
        /// Which.
        status: RelationshipStatus,
    },
    /// No rhythm is set, so nothing is ever due.
    NoRhythm,
    /// Quiet until this day (exclusive: on it, nudges resume).
    Snoozed {
        /// The day the snooze ends.
        until: Day,
    },
    /// Within the ideal interval.
    Fine {
        /// The day it becomes due.
        due_on: Day,
        /// Days until then (at least 1).
        in_days: u32,
    },
    /// Past the ideal interval, not yet past the maximum.
    Due {
        /// The day it became due.
        since: Day,
        /// Days since then (0 on that day).
        days_over: u32,
    },
    /// Past the maximum interval.
    Overdue {
        /// The day it became overdue.
        since: Day,
        /// Days since then (0 on that day).
        days_over: u32,
    },
}

impl TouchState {
    /// Whether this state warrants a nudge: due or overdue.
    pub fn needs_nudge(&self) -> bool {
        matches!(self, TouchState::Due { .. } | TouchState::Overdue { .. })
    }
}

/// A relationship's staying-in-touch status as of one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Touch {
    /// The latest contact, if there ever was one.
    pub last_contact: Option<Day>,
    /// Where the clock started: the last contact, or the day the relationship was created.
    pub clock_start: Day,
    /// The state. Flattened in JSON: `"state": "due"` and the variant's fields sit beside the
    /// other fields.
    #[serde(flatten)]
    pub state: TouchState,
}

/// The staying-in-touch status of `rel` on `today`; see the module docs for the rules.
///
/// `tz` is the person's time zone, used only to turn `rel.created` (an instant) into the day
/// the clock starts on when there was never any contact.
pub fn touch_status(
    rel: &Relationship,
    last_contact: Option<Day>,
    today: Day,
    tz: &impl TimeZone,
) -> Touch {
    let clock_start = last_contact.unwrap_or_else(|| today_in(rel.created.to_datetime(), tz));
    let snoozed_until = rel.snoozed_until.filter(|until| *until > today);
    let state = match (rel.status, rel.rhythm, snoozed_until) {
        // A status written by a newer tapin counts as inactive: shown, never nagged about.
        (
            RelationshipStatus::Archived
            | RelationshipStatus::Ended
            | RelationshipStatus::Unknown(_),
            _,
            _,
        ) => TouchState::Inactive { status: rel.status },
        (RelationshipStatus::Active, None, _) => TouchState::NoRhythm,
        (RelationshipStatus::Active, Some(_), Some(until)) => TouchState::Snoozed { until },
        (RelationshipStatus::Active, Some(rhythm), None) => {
            let elapsed = clock_start.days_until(today);
            let ideal = i64::from(rhythm.ideal.days);
            let max = i64::from(rhythm.max.days);
            let at = |days: i64| clock_start.plus_days(days.unsigned_abs());
            if elapsed >= max {
                TouchState::Overdue {
                    since: at(max),
                    days_over: saturate(elapsed - max),
                }
            } else if elapsed >= ideal {
                TouchState::Due {
                    since: at(ideal),
                    days_over: saturate(elapsed - ideal),
                }
            } else {
                TouchState::Fine {
                    due_on: at(ideal),
                    in_days: saturate(ideal - elapsed),
                }
            }
        }
    };
    Touch {
        last_contact,
        clock_start,
        state,
    }
}

/// The relationships to nudge, most pressing first: only those due or overdue; overdue before
/// due, then the most days over, the most important, the highest risk. Ties keep their order
/// in `items`, so pass them in a stable order (by name, say).
///
/// `K` is whatever the caller identifies relationships by (an id, a name).
pub fn nudge_order<'a, K>(
    items: impl IntoIterator<Item = (K, &'a Relationship, Touch)>,
) -> Vec<(K, &'a Relationship, Touch)> {
    let mut nudges: Vec<_> = items
        .into_iter()
        .filter(|(_, _, touch)| touch.state.needs_nudge())
        .collect();
    nudges.sort_by_key(|(_, rel, touch)| {
        let (tier, days_over) = match touch.state {
            TouchState::Overdue { days_over, .. } => (2, days_over),
            TouchState::Due { days_over, .. } => (1, days_over),
            _ => (0, 0),
        };
        Reverse((tier, days_over, rel.importance, rel.risk))
    });
    nudges
}

fn saturate(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use crate::Id;
    use chrono::FixedOffset;
    use chrono_tz::America::{Los_Angeles, New_York};
    use chrono_tz::Pacific::Auckland;

    use super::*;
    use crate::model::{Channel, Initiator, Interaction, Reason, Recurrence, Rhythm, Risk, Ritual};
    use crate::time::{Interval, Timestamp};

    fn d(s: &str) -> Day {
        s.parse().unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn rel(rhythm: Option<(u32, u32)>) -> Relationship {
        Relationship {
            name: "Sam".into(),
            importance: 3,
            risk: Risk::Medium,
            rhythm: rhythm.map(|(ideal, max)| Rhythm {
                ideal: Interval::days(ideal),
                max: Interval::days(max),
            }),
            status: RelationshipStatus::Active,
            created: Timestamp::from_datetime(utc("2026-01-01T12:00:00Z")),
            snoozed_until: None,
            peer: None,
        }
    }

    fn interaction(on: &str, by: Initiator) -> Interaction {
        Interaction {
            on: d(on),
            by,
            via: Channel::Call,
            reason: Reason::JustBecause,
            note: String::new(),
            created: Timestamp(0),
        }
    }

    #[test]
    fn the_last_contact_is_the_latest_interaction_or_ritual_in_either_place() {
        let mut private = SideRecords::default();
        let mut shared = SideRecords::default();
        assert_eq!(last_contact(&private, Some(&shared)), None);
        private
            .interactions
            .insert(Id::named("a"), interaction("2026-01-10", Initiator::Me));
        assert_eq!(last_contact(&private, None), Some(d("2026-01-10")));
        shared
            .interactions
            .insert(Id::named("b"), interaction("2026-01-20", Initiator::Them));
        assert_eq!(last_contact(&private, Some(&shared)), Some(d("2026-01-20")));
        shared.rituals.insert(
            Id::named("r"),
            Ritual {
                title: "Walk".into(),
                recurrence: Recurrence::WeeklyOn { weekday: 5 },
                minutes: None,
                guidelines: vec![],
                start: d("2026-01-01"),
                occurrences: vec![d("2026-01-24"), d("2026-01-03")],
                retired: false,
            },
        );
        assert_eq!(last_contact(&private, Some(&shared)), Some(d("2026-01-24")));
        assert_eq!(last_contact(&private, None), Some(d("2026-01-10")));
    }

    #[test]
    fn the_state_follows_the_rhythm() {
        let utc0 = FixedOffset::east_opt(0).unwrap();
        use TouchState::*;
        let cases = [
            // (rhythm, last contact, today, state)
            (None, Some("2026-01-01"), "2026-06-01", NoRhythm),
            (
                Some((14, 30)),
                Some("2026-02-01"),
                "2026-02-01",
                Fine {
                    due_on: d("2026-02-15"),
                    in_days: 14,
                },
            ),
            (
                Some((14, 30)),
                Some("2026-02-01"),
                "2026-02-14",
                Fine {
                    due_on: d("2026-02-15"),
                    in_days: 1,
                },
            ),
            (
                Some((14, 30)),
                Some("2026-02-01"),
                "2026-02-15",
                Due {
                    since: d("2026-02-15"),
                    days_over: 0,
                },
            ),
            (
                Some((14, 30)),
                Some("2026-02-01"),
                "2026-03-02",
                Due {
                    since: d("2026-02-15"),
                    days_over: 15,
                },
            ),
            (
                Some((14, 30)),
                Some("2026-02-01"),
                "2026-03-03",
                Overdue {
                    since: d("2026-03-03"),
                    days_over: 0,
                },
            ),
            (
                Some((14, 30)),
                Some("2026-02-01"),
                "2026-03-13",
                Overdue {
                    since: d("2026-03-03"),
                    days_over: 10,
                },
            ),
            // Never any contact: the clock starts on the day it was created (2026-01-01).
            (
                Some((7, 14)),
                None,
                "2026-01-05",
                Fine {
                    due_on: d("2026-01-08"),
                    in_days: 3,
                },
            ),
            (
                Some((7, 14)),
                None,
                "2026-01-20",
                Overdue {
                    since: d("2026-01-15"),
                    days_over: 5,
                },
            ),
            // A contact dated after today reads as fine.
            (
                Some((7, 14)),
                Some("2026-03-10"),
                "2026-03-01",
                Fine {
                    due_on: d("2026-03-17"),
                    in_days: 16,
                },
            ),
            // A maximum below the ideal: overdue wins.
            (
                Some((30, 10)),
                Some("2026-02-01"),
                "2026-02-12",
                Overdue {
                    since: d("2026-02-11"),
                    days_over: 1,
                },
            ),
        ];
        for (rhythm, last, today, want) in cases {
            let t = touch_status(&rel(rhythm), last.map(d), d(today), &utc0);
            assert_eq!(t.state, want, "{rhythm:?}, last {last:?}, today {today}");
            assert_eq!(t.last_contact, last.map(d));
        }
    }

    #[test]
    fn inactive_and_snoozed_relationships_are_quiet() {
        let utc0 = FixedOffset::east_opt(0).unwrap();
        let last = Some(d("2026-01-01"));
        let today = d("2026-03-01");
        for status in [RelationshipStatus::Archived, RelationshipStatus::Ended] {
            let r = Relationship {
                status,
                ..rel(Some((7, 14)))
            };
            assert_eq!(
                touch_status(&r, last, today, &utc0).state,
                TouchState::Inactive { status }
            );
        }
        let snoozed = |until: &str| Relationship {
            snoozed_until: Some(d(until)),
            ..rel(Some((7, 14)))
        };
        let state = |r: &Relationship| touch_status(r, last, today, &utc0).state;
        assert_eq!(
            state(&snoozed("2026-03-02")),
            TouchState::Snoozed {
                until: d("2026-03-02")
            }
        );
        assert!(
            matches!(state(&snoozed("2026-03-01")), TouchState::Overdue { .. }),
            "the snooze ends on its day"
        );
        assert!(matches!(
            state(&snoozed("2026-02-01")),
            TouchState::Overdue { .. }
        ));
        let no_rhythm = Relationship {
            snoozed_until: Some(d("2026-04-01")),
            ..rel(None)
        };
        assert_eq!(state(&no_rhythm), TouchState::NoRhythm);
    }

    #[test]
    fn today_is_the_local_day_of_the_instant() {
        let cases = [
            // 03:00 UTC on Mar 1 is still the evening of Feb 28 in Los Angeles (UTC-8) ...
            ("2026-03-01T03:00:00Z", Los_Angeles, "2026-02-28"),
            // ... and already midday on Mar 1 in Auckland (UTC+13 in summer).
            ("2026-02-28T12:00:00Z", Auckland, "2026-03-01"),
            ("2026-02-28T10:59:59Z", Auckland, "2026-02-28"),
            // New York springs forward on 2026-03-08 (EST, UTC-5, to EDT, UTC-4). 04:30 UTC on
            // Mar 9 is 00:30 EDT on the 9th; under EST it would still have been the 8th.
            ("2026-03-09T04:30:00Z", New_York, "2026-03-09"),
            ("2026-03-08T04:30:00Z", New_York, "2026-03-07"),
            ("2026-03-08T06:59:00Z", New_York, "2026-03-08"),
            // It falls back on 2026-11-01 (EDT to EST): 04:30 UTC is 00:30 EDT on Nov 1, and a
            // day later 23:30 EST on Nov 1 (under EDT it would have been the 2nd).
            ("2026-11-01T04:30:00Z", New_York, "2026-11-01"),
            ("2026-11-02T04:30:00Z", New_York, "2026-11-01"),
        ];
        for (now, tz, want) in cases {
            assert_eq!(today_in(utc(now), &tz), d(want), "{now} in {tz}");
        }
    }

    #[test]
    fn the_due_state_depends_on_the_persons_time_zone() {
        // Last contact Feb 14, ideal 15 days: due on Mar 1.
        let r = rel(Some((15, 30)));
        let last = Some(d("2026-02-14"));
        let now = utc("2026-03-01T03:00:00Z");
        let in_la = touch_status(&r, last, today_in(now, &Los_Angeles), &Los_Angeles);
        assert_eq!(
            in_la.state,
            TouchState::Fine {
                due_on: d("2026-03-01"),
                in_days: 1
            }
        );
        let in_utc = touch_status(&r, last, today_in(now, &Utc), &Utc);
        assert_eq!(
            in_utc.state,
            TouchState::Due {
                since: d("2026-03-01"),
                days_over: 0
            }
        );
        let in_auckland = touch_status(&r, last, today_in(now, &Auckland), &Auckland);
        assert_eq!(in_auckland.state, in_utc.state);
    }

    #[test]
    fn the_creation_day_is_read_in_the_persons_time_zone() {
        // Created at 02:00 UTC on Jan 1: still Dec 31 in Los Angeles, already Jan 1 in Auckland.
        let r = Relationship {
            created: Timestamp::from_datetime(utc("2026-01-01T02:00:00Z")),
            ..rel(Some((7, 14)))
        };
        let la = touch_status(&r, None, d("2026-01-07"), &Los_Angeles);
        assert_eq!(la.clock_start, d("2025-12-31"));
        assert_eq!(
            la.state,
            TouchState::Due {
                since: d("2026-01-07"),
                days_over: 0
            }
        );
        let nz = touch_status(&r, None, d("2026-01-07"), &Auckland);
        assert_eq!(nz.clock_start, d("2026-01-01"));
        assert_eq!(
            nz.state,
            TouchState::Fine {
                due_on: d("2026-01-08"),
                in_days: 1
            }
        );
    }

    #[test]
    fn nudges_put_the_most_pressing_first() {
        let utc0 = FixedOffset::east_opt(0).unwrap();
        let today = d("2026-03-01");
        let make = |name: &str, importance: u8, risk: Risk, last: &str| {
            let r = Relationship {
                name: name.into(),
                importance,
                risk,
                ..rel(Some((10, 20)))
            };
            let t = touch_status(&r, Some(d(last)), today, &utc0);
            (r, t)
        };
        let all = [
            make("fine", 5, Risk::High, "2026-02-25"),
            make("due-3", 2, Risk::Low, "2026-02-16"),
            make("overdue-1", 1, Risk::Low, "2026-02-08"),
            make("overdue-5", 1, Risk::Low, "2026-02-04"),
            make("due-3-important", 5, Risk::Low, "2026-02-16"),
            make("due-3-important-risky", 5, Risk::High, "2026-02-16"),
            make("due-3-again", 2, Risk::Low, "2026-02-16"),
        ];
        let order: Vec<&str> = nudge_order(all.iter().map(|(r, t)| (r.name.as_str(), r, *t)))
            .into_iter()
            .map(|(name, _, _)| name)
            .collect();
        assert_eq!(
            order,
            [
                "overdue-5",
                "overdue-1",
                "due-3-important-risky",
                "due-3-important",
                "due-3",
                "due-3-again",
            ]
        );
    }

    #[test]
    fn touch_serializes_readably() {
        let utc0 = FixedOffset::east_opt(0).unwrap();
        let t = touch_status(
            &rel(Some((14, 30))),
            Some(d("2026-02-01")),
            d("2026-02-20"),
            &utc0,
        );
        assert_eq!(
            serde_json::to_value(t).unwrap(),
            serde_json::json!({
                "last_contact": "2026-02-01",
                "clock_start": "2026-02-01",
                "state": "due",
                "since": "2026-02-15",
                "days_over": 5,
            })
        );
        let archived = Relationship {
            status: RelationshipStatus::Archived,
            ..rel(None)
        };
        let t = touch_status(&archived, None, d("2026-02-20"), &utc0);
        assert_eq!(
            serde_json::to_value(t).unwrap(),
            serde_json::json!({
                "last_contact": null,
                "clock_start": "2026-01-01",
                "state": "inactive",
                "status": "archived",
            })
        );
    }
}
