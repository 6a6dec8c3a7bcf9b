//! The daily glance across all relationships: what is worth a moment today.
//!
//! # Definitions
//!
//! Each relationship comes in as a [`RelationshipInput`]: my records of it (shared side and
//! private records), the replica of the friend's side if any, and when I last reflected on it.
//! A record present in both of my places (a move between them cut short) counts once, by id.
//!
//! **Quiet relationships.** A relationship that is archived or ended, or snoozed
//! (`snoozed_until` after today; a snooze until the 10th is quiet through the 9th), raises no nudge
//! of any kind: the model promises that nudges about it are quiet until then.
//!
//! **Rituals** ([`Today::rituals`]): my rituals (in either place; the friend's rituals are theirs
//! to keep) that are not retired and whose [`schedule`] is due today or overdue. Most overdue
//! first, then due today; ties by importance (highest first), then name, title and id.
//!
//! **People** ([`Today::people`]): relationships past their ideal or maximum rhythm, by
//! [`touch_status`], where the last contact is the latest interaction or ritual occurrence in my
//! records *or* theirs. Overdue before due, then importance (highest first), then risk (highest
//! first), then days over (most first); ties by name, then id.
//!
//! **Goals** ([`Today::goals`]): my own open goals (active or adjusted, in either place) whose
//! `by` is at most [`GOAL_HORIZON_DAYS`] days ahead — or already past. Soonest `by` first (so the
//! longest past first); ties by importance (highest first), name, title and id. Goals of the
//! friend's that I took up are listed the same way (once, by the date they set) while they are
//! open for me: open as they set them, my part not marked achieved, not left.
//!
//! **Check-ins** ([`Today::checkins`]), whether or not the relationship is paired: a relationship
//! with *open goals* — my open goals, and the friend's goals I took up and have neither left nor
//! marked my part of achieved, unless their side shows that goal closed — whose last check-in (recorded by either side, on or before
//! today) is more than [`CHECKIN_AFTER_DAYS`] days ago. With no check-in ever, the clock starts on
//! the day the oldest of those goals was set or taken up (in the person's time zone), so a goal
//! set today does not ask for a check-in today. Longest first; ties by importance, name and id.
//!
//! **Long lost** ([`Today::long_lost`]): at most one relationship worth reflecting on. Candidates
//! are the relationships that are not quiet, whose last contact (mine or theirs) is at least
//! [`LONG_LOST_DAYS`] days ago — or, never contacted, that were added at least that long ago —
//! and that I have not reflected on in the last [`LONG_LOST_DAYS`] days (reflecting is what the
//! nudge suggests; once done, it rests). Of those: the most important, then the longest since;
//! ties by name, then id. Its hint points to the four reflection questions as a gentle way back in.
//!
//! Instants (when a relationship was added, a goal set, a reflection made) become days in the
//! person's time zone `tz`; everything else is already a calendar day.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use chrono::TimeZone;
use serde::Serialize;

use crate::ids::Id;
use crate::model::{GoalStatus, Relationship, Risk, SideRecords};
use crate::time::{Day, Timestamp};
use crate::views::by_id;
use crate::views::mutual::{Owner, Progress};
use crate::views::ritual::{RitualState, schedule};
use crate::views::touch::{Touch, TouchState, last_contact, today_in, touch_status};

/// How many days ahead a goal's `by` date starts to show.
pub const GOAL_HORIZON_DAYS: i64 = 7;
/// A relationship with open goals asks for a check-in once the last is more than this many days
/// ago.
pub const CHECKIN_AFTER_DAYS: i64 = 30;
/// How long without contact makes a relationship long lost; also how long a reflection quiets it.
pub const LONG_LOST_DAYS: i64 = 90;

/// One relationship, with everything the glance reads about it.
#[derive(Debug, Clone)]
pub struct RelationshipInput<'a> {
    /// Its id.
    pub id: Id,
    /// The relationship.
    pub rel: &'a Relationship,
    /// My records of it: the shared side and the private records, in any order.
    pub mine: Vec<&'a SideRecords>,
    /// The replica of the friend's side, if it ever arrived.
    pub theirs: Option<&'a SideRecords>,
    /// When I last reflected on it, if ever.
    pub last_reflection: Option<Timestamp>,
}

/// A ritual due today or overdue.
///
/// JSON: `{"relationship": "<id>", "name": "Sam", "ritual": "<id>", "title": "…",
/// "due": "YYYY-MM-DD", "days_overdue": 0, "minutes": 20}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RitualNudge {
    /// The relationship.
    pub relationship: Id,
    /// Its name.
    pub name: String,
    /// The ritual's id.
    pub ritual: Id,
    /// Its title.
    pub title: String,
    /// The slot it is due on (today, or the missed slot).
    pub due: Day,
    /// Days since that slot: 0 when due today.
    pub days_overdue: u32,
    /// About how long it takes, in minutes.
    pub minutes: Option<u32>,
}

/// A relationship due or overdue for contact.
///
/// JSON: `{"relationship": "<id>", "name": "Sam", "importance": 4, "risk": "high",
/// "last_contact": "YYYY-MM-DD"|null, "clock_start": "YYYY-MM-DD", "state": "due"|"overdue",
/// "since": "YYYY-MM-DD", "days_over": 3}` (the [`Touch`] fields sit beside the others).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonNudge {
    /// The relationship.
    pub relationship: Id,
    /// Its name.
    pub name: String,
    /// How much it matters, 1 to 5.
    pub importance: u8,
    /// How likely it is to weaken.
    pub risk: Risk,
    /// Its staying-in-touch status. Flattened in JSON.
    #[serde(flatten)]
    pub touch: Touch,
}

/// An open goal whose timeframe ends soon or has ended.
///
/// JSON: `{"relationship": "<id>", "name": "Sam", "goal": "<id>", "owner": "me"|"them",
/// "title": "…", "by": "YYYY-MM-DD", "days_left": -2, "status": "active"|"adjusted",
/// "progress": {"done": 1, "total": 3}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GoalNudge {
    /// The relationship.
    pub relationship: Id,
    /// Its name.
    pub name: String,
    /// The goal's id.
    pub goal: Id,
    /// Whose goal it is: mine, or the friend's that I took up.
    pub owner: Owner,
    /// Its title.
    pub title: String,
    /// The end of its timeframe.
    pub by: Day,
    /// Days from today to `by`: 0 on the day, negative once past.
    pub days_left: i64,
    /// Active or adjusted.
    pub status: GoalStatus,
    /// My steps done out of all: the goal's own for mine, my part's for theirs.
    pub progress: Progress,
}

/// A relationship with open goals and no recent check-in.
///
/// JSON: `{"relationship": "<id>", "name": "Sam", "open_goals": 2,
/// "last_checkin": "YYYY-MM-DD"|null, "clock_start": "YYYY-MM-DD", "days_since": 41}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckinNudge {
    /// The relationship.
    pub relationship: Id,
    /// Its name.
    pub name: String,
    /// Open goals in play (mine, and theirs I took up).
    pub open_goals: u32,
    /// The latest check-in by either side, if any.
    pub last_checkin: Option<Day>,
    /// The last check-in, or when there was none, the day the oldest open goal was set.
    pub clock_start: Day,
    /// Days from `clock_start` to today.
    pub days_since: u32,
}

/// A relationship that has gone quiet for long, worth reflecting on.
///
/// JSON: `{"relationship": "<id>", "name": "Sam", "importance": 4,
/// "last_contact": "YYYY-MM-DD"|null, "since_days": 120, "last_reflection": "YYYY-MM-DD"|null,
/// "hint": "…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LongLost {
    /// The relationship.
    pub relationship: Id,
    /// Its name.
    pub name: String,
    /// How much it matters, 1 to 5.
    pub importance: u8,
    /// The latest contact logged by either side, if any.
    pub last_contact: Option<Day>,
    /// Days since the last contact, or since it was added if there was none.
    pub since_days: u32,
    /// The day of the latest reflection on it, if any (longer ago than [`LONG_LOST_DAYS`]).
    pub last_reflection: Option<Day>,
    /// A gentle sentence pointing to the four reflection questions.
    pub hint: String,
}

/// The daily glance; see the module docs for what each list holds and in what order.
///
/// JSON: `{"date": "YYYY-MM-DD", "rituals": [RitualNudge], "people": [PersonNudge],
/// "goals": [GoalNudge], "checkins": [CheckinNudge], "long_lost": LongLost|null}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Today {
    /// The day this glance is for.
    pub date: Day,
    /// Rituals due today or overdue.
    pub rituals: Vec<RitualNudge>,
    /// People due or overdue for contact.
    pub people: Vec<PersonNudge>,
    /// Open goals ending within a week, or past their end.
    pub goals: Vec<GoalNudge>,
    /// Relationships whose goals could use a check-in.
    pub checkins: Vec<CheckinNudge>,
    /// One long-lost relationship worth reflecting on, if any.
    pub long_lost: Option<LongLost>,
}

impl Today {
    /// Whether there is nothing to show.
    pub fn is_empty(&self) -> bool {
        self.rituals.is_empty()
            && self.people.is_empty()
            && self.goals.is_empty()
            && self.checkins.is_empty()
            && self.long_lost.is_none()
    }
}

/// The daily glance over `input` on `today`; see the module docs for the rules.
///
/// `tz` is the person's time zone, used to read instants (when a relationship was added, a goal
/// set or taken up, a reflection made) as days.
pub fn today(input: &[RelationshipInput<'_>], today: Day, tz: &impl TimeZone) -> Today {
    let awake: Vec<&RelationshipInput<'_>> =
        input.iter().filter(|r| !is_quiet(r.rel, today)).collect();
    Today {
        date: today,
        rituals: rituals(&awake, today),
        people: people(&awake, today, tz),
        goals: goals(&awake, today),
        checkins: checkins(&awake, today, tz),
        long_lost: long_lost(&awake, today, tz),
    }
}

fn is_quiet(rel: &Relationship, today: Day) -> bool {
    !rel.is_active() || rel.snoozed_until.is_some_and(|u| u > today)
}

fn rituals(input: &[&RelationshipInput<'_>], today: Day) -> Vec<RitualNudge> {
    let mut out: Vec<(u8, RitualNudge)> = Vec::new();
    for r in input {
        for (id, ritual) in by_id(&r.mine, |s| &s.rituals) {
            let s = schedule(ritual, today);
            let (due, days_overdue) = match s.state {
                RitualState::DueToday => (today, 0),
                RitualState::Overdue { since, days } => (since, days),
                RitualState::Upcoming { .. } | RitualState::Retired | RitualState::Unscheduled => {
                    continue;
                }
            };
            out.push((
                r.rel.importance,
                RitualNudge {
                    relationship: r.id,
                    name: r.rel.name.clone(),
                    ritual: id,
                    title: ritual.title.clone(),
                    due,
                    days_overdue,
                    minutes: ritual.minutes,
                },
            ));
        }
    }
    out.sort_by(|(ia, a), (ib, b)| {
        (
            Reverse(a.days_overdue),
            Reverse(ia),
            &a.name,
            &a.title,
            &a.ritual,
        )
            .cmp(&(
                Reverse(b.days_overdue),
                Reverse(ib),
                &b.name,
                &b.title,
                &b.ritual,
            ))
    });
    out.into_iter().map(|(_, n)| n).collect()
}

/// The latest contact with a relationship, from my records and theirs.
fn contact(r: &RelationshipInput<'_>) -> Option<Day> {
    r.mine
        .iter()
        .copied()
        .chain(r.theirs)
        .filter_map(|side| last_contact(side, None))
        .max()
}

fn people(input: &[&RelationshipInput<'_>], today: Day, tz: &impl TimeZone) -> Vec<PersonNudge> {
    let mut out: Vec<PersonNudge> = input
        .iter()
        .map(|r| PersonNudge {
            relationship: r.id,
            name: r.rel.name.clone(),
            importance: r.rel.importance,
            risk: r.rel.risk,
            touch: touch_status(r.rel, contact(r), today, tz),
        })
        .filter(|n| n.touch.state.needs_nudge())
        .collect();
    let key = |n: &PersonNudge| {
        let (overdue, days_over) = match n.touch.state {
            TouchState::Overdue { days_over, .. } => (true, days_over),
            TouchState::Due { days_over, .. } => (false, days_over),
            _ => (false, 0),
        };
        (
            Reverse((overdue, n.importance, n.risk, days_over)),
            n.name.clone(),
            n.relationship,
        )
    };
    out.sort_by_key(key);
    out
}

fn goals(input: &[&RelationshipInput<'_>], today: Day) -> Vec<GoalNudge> {
    let horizon = today.plus_days(GOAL_HORIZON_DAYS.unsigned_abs());
    let mut out: Vec<(u8, GoalNudge)> = Vec::new();
    for r in input {
        for (id, goal) in by_id(&r.mine, |s| &s.goals) {
            let Some(by) = goal.by.filter(|by| *by <= horizon) else {
                continue;
            };
            if !goal.status.is_open() {
                continue;
            }
            out.push((
                r.rel.importance,
                GoalNudge {
                    relationship: r.id,
                    name: r.rel.name.clone(),
                    goal: id,
                    owner: Owner::Me,
                    title: goal.title.clone(),
                    by,
                    days_left: today.days_until(by),
                    status: goal.status,
                    progress: Progress::of_goal(goal),
                },
            ));
        }
        // The friend's goals I took up, dated by them and open for me; each once, however many
        // of my joins name it (their steps merged by id, as the mutual view counts them).
        let Some(theirs) = r.theirs else {
            continue;
        };
        let mut taken: BTreeMap<Id, (bool, BTreeMap<Id, bool>)> = BTreeMap::new();
        for j in by_id(&r.mine, |s| &s.joins).into_values() {
            if j.left.is_some() {
                continue;
            }
            let (achieved, steps) = taken.entry(j.goal).or_default();
            *achieved |= j.achieved.is_some();
            for (k, o) in &j.objectives {
                *steps.entry(*k).or_default() |= o.done;
            }
        }
        for (gid, (achieved, steps)) in taken {
            let Some(goal) = theirs.goals.get(&gid) else {
                continue;
            };
            let Some(by) = goal.by.filter(|by| *by <= horizon) else {
                continue;
            };
            if achieved || !goal.status.is_open() {
                continue;
            }
            out.push((
                r.rel.importance,
                GoalNudge {
                    relationship: r.id,
                    name: r.rel.name.clone(),
                    goal: gid,
                    owner: Owner::Them,
                    title: goal.title.clone(),
                    by,
                    days_left: today.days_until(by),
                    status: goal.status,
                    progress: Progress {
                        done: steps.values().filter(|done| **done).count(),
                        total: steps.len(),
                    },
                },
            ));
        }
    }
    out.sort_by(|(ia, a), (ib, b)| {
        (a.by, Reverse(ia), &a.name, &a.title, &a.goal).cmp(&(
            b.by,
            Reverse(ib),
            &b.name,
            &b.title,
            &b.goal,
        ))
    });
    out.into_iter().map(|(_, n)| n).collect()
}

fn checkins(input: &[&RelationshipInput<'_>], today: Day, tz: &impl TimeZone) -> Vec<CheckinNudge> {
    let day = |t: Timestamp| today_in(t.to_datetime(), tz);
    let mut out: Vec<(u8, CheckinNudge)> = Vec::new();
    for r in input {
        // When each open goal in play was set or taken up.
        let mut open: Vec<Timestamp> = by_id(&r.mine, |s| &s.goals)
            .into_values()
            .filter(|g| g.status.is_open())
            .map(|g| g.created)
            .collect();
        let mut joined: BTreeMap<Id, Timestamp> = BTreeMap::new();
        for j in by_id(&r.mine, |s| &s.joins).into_values() {
            let closed = r
                .theirs
                .and_then(|t| t.goals.get(&j.goal))
                .is_some_and(|g| !g.status.is_open());
            if j.left.is_none() && j.achieved.is_none() && !closed {
                let at = joined.entry(j.goal).or_insert(j.joined);
                *at = (*at).min(j.joined);
            }
        }
        open.extend(joined.into_values());
        let Some(oldest) = open.iter().min().copied() else {
            continue;
        };
        let last_checkin = r
            .mine
            .iter()
            .copied()
            .chain(r.theirs)
            .flat_map(|s| s.checkins.values().map(|c| c.on))
            .filter(|on| *on <= today)
            .max();
        let clock_start = last_checkin.unwrap_or_else(|| day(oldest));
        let days_since = clock_start.days_until(today);
        if days_since <= CHECKIN_AFTER_DAYS {
            continue;
        }
        out.push((
            r.rel.importance,
            CheckinNudge {
                relationship: r.id,
                name: r.rel.name.clone(),
                open_goals: u32::try_from(open.len()).unwrap_or(u32::MAX),
                last_checkin,
                clock_start,
                days_since: saturate(days_since),
            },
        ));
    }
    out.sort_by(|(ia, a), (ib, b)| {
        (Reverse(a.days_since), Reverse(ia), &a.name, a.relationship).cmp(&(
            Reverse(b.days_since),
            Reverse(ib),
            &b.name,
            b.relationship,
        ))
    });
    out.into_iter().map(|(_, n)| n).collect()
}

fn long_lost(input: &[&RelationshipInput<'_>], today: Day, tz: &impl TimeZone) -> Option<LongLost> {
    let day = |t: Timestamp| today_in(t.to_datetime(), tz);
    input
        .iter()
        .filter_map(|r| {
            let last_contact = contact(r);
            let since = last_contact
                .unwrap_or_else(|| day(r.rel.created))
                .days_until(today);
            let last_reflection = r.last_reflection.map(day);
            let reflected_lately =
                last_reflection.is_some_and(|d| d.days_until(today) < LONG_LOST_DAYS);
            (since >= LONG_LOST_DAYS && !reflected_lately).then(|| LongLost {
                relationship: r.id,
                name: r.rel.name.clone(),
                importance: r.rel.importance,
                last_contact,
                since_days: saturate(since),
                last_reflection,
                hint: hint(&r.rel.name, last_contact.is_some(), since),
            })
        })
        .min_by(|a, b| {
            (
                Reverse(a.importance),
                Reverse(a.since_days),
                &a.name,
                a.relationship,
            )
                .cmp(&(
                    Reverse(b.importance),
                    Reverse(b.since_days),
                    &b.name,
                    b.relationship,
                ))
        })
}

fn hint(name: &str, contacted: bool, days: i64) -> String {
    let span = span(days);
    let opening = if contacted {
        format!("It has been {span} since you last logged contact with {name}.")
    } else {
        format!("You haven't logged any contact with {name} since adding them {span} ago.")
    };
    format!(
        "{opening} The four reflection questions are a gentle way back in: \
         run through them, and if the answers feel right, reach out."
    )
}

/// A length of time as people say it: "45 days" under two months, then months, then years.
fn span(days: i64) -> String {
    match days {
        ..60 => format!("{days} days"),
        60..365 => format!("about {} months", days / 30),
        365..730 => "about a year".to_owned(),
        _ => format!("about {} years", days / 365),
    }
}

fn saturate(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use chrono::{FixedOffset, Utc};

    use super::*;
    use crate::model::{
        Channel, CheckIn, Goal, GoalJoin, GoalKind, Initiator, Interaction, Objective, Reason,
        Recurrence, RelationshipStatus, Rhythm, Ritual,
    };
    use crate::time::Interval;

    fn d(s: &str) -> Day {
        s.parse().unwrap()
    }

    /// Noon UTC on a day, as an instant.
    fn at(s: &str) -> Timestamp {
        Timestamp::from_datetime(format!("{s}T12:00:00Z").parse().unwrap())
    }

    fn id(n: u8) -> Id {
        Id::from_bytes([n; 16])
    }

    fn rel(name: &str, importance: u8, risk: Risk, rhythm: Option<(u32, u32)>) -> Relationship {
        Relationship {
            name: name.into(),
            importance,
            risk,
            rhythm: rhythm.map(|(ideal, max)| Rhythm {
                ideal: Interval::days(ideal),
                max: Interval::days(max),
            }),
            status: RelationshipStatus::Active,
            created: at("2025-01-01"),
            snoozed_until: None,
            peer: None,
        }
    }

    fn contact(on: &str) -> Interaction {
        Interaction {
            on: d(on),
            by: Initiator::Me,
            via: Channel::InPerson,
            reason: Reason::Plan,
            note: String::new(),
            created: Timestamp(0),
        }
    }

    fn contacted(on: &str) -> SideRecords {
        let mut s = SideRecords::default();
        s.interactions.insert(Id::named("i"), contact(on));
        s
    }

    fn ritual(title: &str, recurrence: Recurrence, done: &[&str]) -> Ritual {
        Ritual {
            title: title.into(),
            recurrence,
            minutes: Some(20),
            guidelines: vec![],
            start: d("2025-01-01"),
            occurrences: done.iter().map(|s| d(s)).collect(),
            retired: false,
        }
    }

    fn goal(title: &str, by: Option<&str>, status: GoalStatus, created: &str) -> Goal {
        Goal {
            title: title.into(),
            why: String::new(),
            kind: GoalKind::Other,
            by: by.map(d),
            status,
            objectives: Default::default(),
            created: at(created),
            updated: at(created),
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

    fn input<'a>(n: u8, rel: &'a Relationship, mine: &'a [SideRecords]) -> RelationshipInput<'a> {
        RelationshipInput {
            id: id(n),
            rel,
            mine: mine.iter().collect(),
            theirs: None,
            last_reflection: None,
        }
    }

    fn utc() -> FixedOffset {
        FixedOffset::east_opt(0).unwrap()
    }

    #[test]
    fn no_relationships_nothing_to_do() {
        let t = today(&[], d("2026-02-28"), &utc());
        assert!(t.is_empty());
        assert_eq!(
            serde_json::to_value(&t).unwrap(),
            serde_json::json!({
                "date": "2026-02-28",
                "rituals": [],
                "people": [],
                "goals": [],
                "checkins": [],
                "long_lost": null,
            })
        );
    }

    #[test]
    fn people_overdue_first_then_importance_risk_and_days_over() {
        let today_ = d("2026-03-01");
        // Rhythm 10/20 days: due from 10 days after the last contact, overdue from 20.
        let r =
            |name: &str, importance: u8, risk: Risk| rel(name, importance, risk, Some((10, 20)));
        let rels = [
            (r("fine", 5, Risk::High), "2026-02-25"),
            (r("due, 1, low, 5 over", 1, Risk::Low), "2026-02-14"),
            (r("due, 4, low", 4, Risk::Low), "2026-02-18"),
            (r("due, 4, high", 4, Risk::High), "2026-02-19"),
            (r("overdue, 1, low", 1, Risk::Low), "2026-01-01"),
            (r("overdue, 3, low, 0 over", 3, Risk::Low), "2026-02-09"),
            (r("overdue, 3, low, 2 over", 3, Risk::Low), "2026-02-07"),
        ];
        let sides: Vec<[SideRecords; 1]> = rels.iter().map(|(_, on)| [contacted(on)]).collect();
        let inputs: Vec<_> = rels
            .iter()
            .zip(&sides)
            .enumerate()
            .map(|(n, ((rel, _), mine))| input(n as u8, rel, mine))
            .collect();
        let t = today(&inputs, today_, &utc());
        let names: Vec<&str> = t.people.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "overdue, 3, low, 2 over",
                "overdue, 3, low, 0 over",
                "overdue, 1, low",
                "due, 4, high",
                "due, 4, low",
                "due, 1, low, 5 over",
            ]
        );
    }

    #[test]
    fn the_friends_logs_count_as_contact() {
        let r = rel("Sam", 3, Risk::Medium, Some((10, 20)));
        let mine = [contacted("2026-01-01")];
        let theirs = contacted("2026-02-25");
        let mut i = input(1, &r, &mine);
        assert_eq!(today(&[i.clone()], d("2026-03-01"), &utc()).people.len(), 1);
        i.theirs = Some(&theirs);
        assert!(today(&[i], d("2026-03-01"), &utc()).people.is_empty());
    }

    #[test]
    fn snoozed_and_inactive_relationships_raise_no_nudge() {
        let today_ = d("2026-03-10");
        let mut loud = SideRecords::default();
        loud.rituals.insert(
            Id::named("r"),
            ritual("Walk", Recurrence::MonthlyOn { day: 1 }, &[]),
        );
        loud.goals.insert(
            Id::named("g"),
            goal(
                "Plan the trip",
                Some("2026-03-12"),
                GoalStatus::Active,
                "2025-06-01",
            ),
        );
        let mine = [loud];
        let base = rel("Sam", 5, Risk::High, Some((7, 14)));
        // (case, relationship, nudged)
        let cases = [
            ("active", base.clone(), true),
            (
                "snoozed past today",
                Relationship {
                    snoozed_until: Some(d("2026-03-11")),
                    ..base.clone()
                },
                false,
            ),
            (
                "snooze ends today",
                Relationship {
                    snoozed_until: Some(d("2026-03-10")),
                    ..base.clone()
                },
                true,
            ),
            (
                "archived",
                Relationship {
                    status: RelationshipStatus::Archived,
                    ..base.clone()
                },
                false,
            ),
            (
                "ended",
                Relationship {
                    status: RelationshipStatus::Ended,
                    ..base.clone()
                },
                false,
            ),
        ];
        for (case, r, nudged) in cases {
            let t = today(&[input(1, &r, &mine)], today_, &utc());
            let counts = [
                t.rituals.len(),
                t.people.len(),
                t.goals.len(),
                t.checkins.len(),
                usize::from(t.long_lost.is_some()),
            ];
            let want = if nudged { [1; 5] } else { [0; 5] };
            assert_eq!(counts, want, "{case}");
        }
    }

    #[test]
    fn rituals_due_today_or_overdue_most_overdue_first() {
        // Feb 28 2026: the last day of February, so a ritual on the 31st falls due today.
        let today_ = d("2026-02-28");
        let mut a = SideRecords::default();
        let mut a_private = SideRecords::default();
        a.rituals.insert(
            Id::named("r31"),
            ritual("Month-end call", Recurrence::MonthlyOn { day: 31 }, &[]),
        );
        a.rituals.insert(
            Id::named("r4"),
            ritual("One-on-one", Recurrence::MonthlyOn { day: 4 }, &[]),
        );
        a.rituals.insert(
            Id::named("kept"),
            ritual("Kept", Recurrence::MonthlyOn { day: 4 }, &["2026-02-03"]),
        );
        let mut retired = ritual("Retired", Recurrence::MonthlyOn { day: 4 }, &[]);
        retired.retired = true;
        a.rituals.insert(Id::named("retired"), retired);
        // The same ritual in both places (a move cut short) is listed once.
        a_private.rituals.insert(
            Id::named("r4"),
            ritual("One-on-one", Recurrence::MonthlyOn { day: 4 }, &[]),
        );
        let mut b = SideRecords::default();
        b.rituals.insert(
            Id::named("w"),
            // Weekly on Monday: Feb 23 missed, 5 days ago.
            ritual("Walk", Recurrence::WeeklyOn { weekday: 0 }, &[]),
        );
        b.rituals.insert(
            Id::named("s"),
            // Weekly on Sunday: tomorrow.
            ritual("Sunday lunch", Recurrence::WeeklyOn { weekday: 6 }, &[]),
        );
        let ra = rel("Alex", 2, Risk::Low, None);
        let rb = rel("Bo", 4, Risk::Low, None);
        let ma = [a, a_private];
        let mb = [b];
        let t = today(&[input(1, &ra, &ma), input(2, &rb, &mb)], today_, &utc());
        let got: Vec<(&str, Day, u32)> = t
            .rituals
            .iter()
            .map(|r| (r.title.as_str(), r.due, r.days_overdue))
            .collect();
        assert_eq!(
            got,
            [
                ("One-on-one", d("2026-02-04"), 24),
                ("Walk", d("2026-02-23"), 5),
                ("Month-end call", d("2026-02-28"), 0),
            ]
        );
        assert_eq!(t.rituals[1].relationship, id(2));
        assert_eq!(
            serde_json::to_value(&t.rituals[2]).unwrap(),
            serde_json::json!({
                "relationship": id(1).to_string(),
                "name": "Alex",
                "ritual": Id::named("r31").to_string(),
                "title": "Month-end call",
                "due": "2026-02-28",
                "days_overdue": 0,
                "minutes": 20,
            })
        );
    }

    #[test]
    fn a_goal_i_took_up_ends_soon_once_while_it_is_open_for_me() {
        let today_ = d("2026-02-26");
        let r = rel("Sam", 3, Risk::Medium, None);
        let mut theirs = SideRecords::default();
        theirs.goals.insert(
            Id::named("t"),
            goal(
                "Their goal",
                Some("2026-02-24"),
                GoalStatus::Active,
                "2026-02-01",
            ),
        );
        let step = |done| Objective {
            text: "mine".into(),
            done,
            created: Timestamp(1),
            done_at: None,
        };
        let join = |left: Option<&str>, achieved: Option<&str>, done: bool| GoalJoin {
            goal: Id::named("t"),
            title: "Their goal".into(),
            objectives: [(Id::named("s"), step(done))].into_iter().collect(),
            joined: at("2026-02-02"),
            left: left.map(at),
            achieved: achieved.map(at),
        };
        // (case, my joins, listed)
        let cases = [
            (
                "taken up twice",
                vec![join(None, None, true), join(None, None, false)],
                true,
            ),
            (
                "my part achieved",
                vec![join(None, Some("2026-02-20"), false)],
                false,
            ),
            ("left", vec![join(Some("2026-02-20"), None, false)], false),
            ("not taken up", vec![], false),
        ];
        for (case, joins, listed) in cases {
            let mut mine = SideRecords::default();
            for (n, j) in joins.into_iter().enumerate() {
                mine.joins.insert(Id::named(&format!("j{n}")), j);
            }
            let mine = [mine];
            let mut i = input(1, &r, &mine);
            i.theirs = Some(&theirs);
            let t = today(&[i], today_, &utc());
            let got: Vec<_> = t
                .goals
                .iter()
                .map(|g| (g.title.as_str(), g.owner, g.days_left, g.progress))
                .collect();
            let want = if listed {
                vec![(
                    "Their goal",
                    Owner::Them,
                    -2,
                    Progress { done: 1, total: 1 },
                )]
            } else {
                vec![]
            };
            assert_eq!(got, want, "{case}");
        }
    }

    #[test]
    fn goals_within_a_week_or_past_soonest_first() {
        // Feb 26 2026: a week ahead crosses into March.
        let today_ = d("2026-02-26");
        let mut shared = SideRecords::default();
        let mut private = SideRecords::default();
        let g = |title: &str, by: Option<&str>, status| goal(title, by, status, "2026-02-01");
        shared.goals.insert(
            Id::named("a"),
            g("a week ahead", Some("2026-03-05"), GoalStatus::Active),
        );
        shared.goals.insert(
            Id::named("b"),
            g("eight days ahead", Some("2026-03-06"), GoalStatus::Active),
        );
        shared.goals.insert(
            Id::named("c"),
            g("past", Some("2026-02-20"), GoalStatus::Adjusted),
        );
        shared
            .goals
            .insert(Id::named("d"), g("no date", None, GoalStatus::Active));
        shared.goals.insert(
            Id::named("e"),
            g("achieved", Some("2026-02-27"), GoalStatus::Achieved),
        );
        shared.goals.insert(
            Id::named("f"),
            g("dropped", Some("2026-02-27"), GoalStatus::Dropped),
        );
        private.goals.insert(
            Id::named("p"),
            g("private, today", Some("2026-02-26"), GoalStatus::Active),
        );
        let mut other = SideRecords::default();
        other.goals.insert(
            Id::named("o"),
            g("other, today", Some("2026-02-26"), GoalStatus::Active),
        );
        let ra = rel("Alex", 2, Risk::Low, None);
        let rb = rel("Bo", 5, Risk::Low, None);
        let ma = [shared, private];
        let mb = [other];
        let t = today(&[input(1, &ra, &ma), input(2, &rb, &mb)], today_, &utc());
        let got: Vec<(&str, i64)> = t
            .goals
            .iter()
            .map(|g| (g.title.as_str(), g.days_left))
            .collect();
        assert_eq!(
            got,
            [
                ("past", -6),
                ("other, today", 0),
                ("private, today", 0),
                ("a week ahead", 7),
            ]
        );
    }

    #[test]
    fn checkins_are_asked_for_when_open_goals_wait_too_long() {
        let today_ = d("2026-03-31");
        let r = rel("Sam", 3, Risk::Medium, None);
        let open = |created: &str| goal("Talk more", None, GoalStatus::Active, created);
        let with = |goals: &[(&str, GoalStatus, &str)], checkins: &[&str]| {
            let mut s = SideRecords::default();
            for (n, (id, status, created)) in goals.iter().enumerate() {
                let mut g = open(created);
                g.status = *status;
                s.goals.insert(Id::named(&format!("{id}{n}")), g);
            }
            for (n, on) in checkins.iter().enumerate() {
                s.checkins.insert(Id::named(&format!("c{n}")), checkin(on));
            }
            s
        };
        use GoalStatus::{Achieved, Active};
        // (case, mine, theirs, last check-in and days since if nudged)
        type Case = (
            &'static str,
            SideRecords,
            Option<SideRecords>,
            Option<(Option<&'static str>, u32)>,
        );
        let cases: Vec<Case> = vec![
            (
                "31 days since the last check-in",
                with(&[("g", Active, "2025-06-01")], &["2026-02-28"]),
                None,
                Some((Some("2026-02-28"), 31)),
            ),
            (
                "30 days: not yet",
                with(&[("g", Active, "2025-06-01")], &["2026-03-01"]),
                None,
                None,
            ),
            (
                "their check-in counts too",
                with(&[("g", Active, "2025-06-01")], &["2026-01-01"]),
                Some(with(&[], &["2026-03-20"])),
                None,
            ),
            (
                "never, goal set 40 days ago",
                with(&[("g", Active, "2026-02-19")], &[]),
                None,
                Some((None, 40)),
            ),
            (
                "never, goal set 10 days ago",
                with(&[("g", Active, "2026-03-21")], &[]),
                None,
                None,
            ),
            (
                "no open goals",
                with(&[("g", Achieved, "2025-06-01")], &["2025-12-01"]),
                None,
                None,
            ),
            (
                "a check-in dated after today is not the last one",
                with(
                    &[("g", Active, "2025-06-01")],
                    &["2026-01-01", "2026-04-05"],
                ),
                None,
                Some((Some("2026-01-01"), 89)),
            ),
        ];
        for (case, mine, theirs, want) in cases {
            let mine = [mine];
            let mut i = input(1, &r, &mine);
            i.theirs = theirs.as_ref();
            let t = today(&[i], today_, &utc());
            let got = t.checkins.first().map(|c| (c.last_checkin, c.days_since));
            let want = want.map(|(last, days)| (last.map(d), days));
            assert_eq!(got, want, "{case}");
        }
    }

    #[test]
    fn a_goal_i_took_up_asks_for_check_ins_until_left_achieved_or_closed() {
        let today_ = d("2026-03-31");
        let r = rel("Sam", 3, Risk::Medium, None);
        let join = |left: Option<Timestamp>, achieved: Option<Timestamp>| GoalJoin {
            goal: Id::named("t"),
            title: "Their goal".into(),
            objectives: Default::default(),
            joined: at("2026-01-31"),
            left,
            achieved,
        };
        let their = |status| {
            let mut s = SideRecords::default();
            s.goals.insert(
                Id::named("t"),
                goal("Their goal", None, status, "2026-01-01"),
            );
            s
        };
        // (case, my join left, my part achieved, their goal's status if synced, nudged)
        let cases = [
            ("joined, not synced", None, None, None, true),
            ("joined, open", None, None, Some(GoalStatus::Active), true),
            (
                "joined, achieved",
                None,
                None,
                Some(GoalStatus::Achieved),
                false,
            ),
            (
                "my part achieved",
                None,
                Some(at("2026-02-01")),
                Some(GoalStatus::Active),
                false,
            ),
            (
                "left",
                Some(at("2026-02-01")),
                None,
                Some(GoalStatus::Active),
                false,
            ),
        ];
        for (case, left, achieved, status, nudged) in cases {
            let mut mine = SideRecords::default();
            mine.joins.insert(Id::named("j"), join(left, achieved));
            let mine = [mine];
            let theirs = status.map(their);
            let mut i = input(1, &r, &mine);
            i.theirs = theirs.as_ref();
            let t = today(&[i], today_, &utc());
            assert_eq!(t.checkins.len(), usize::from(nudged), "{case}");
            if nudged {
                assert_eq!(t.checkins[0].clock_start, d("2026-01-31"), "{case}");
                assert_eq!(t.checkins[0].days_since, 59, "{case}");
                assert_eq!(t.checkins[0].open_goals, 1, "{case}");
            }
        }
    }

    #[test]
    fn one_long_lost_relationship_most_important_then_longest() {
        let today_ = d("2026-06-30");
        let r = |name: &str, importance: u8| rel(name, importance, Risk::Low, None);
        // (relationship, last contact, last reflection)
        let rels = [
            (r("recent", 5), Some("2026-06-01"), None),
            (r("long, 3", 3), Some("2025-06-01"), None),
            (r("89 days, 5", 5), Some("2026-04-02"), None),
            (r("90 days, 4", 4), Some("2026-04-01"), None),
            (r("100 days, 4", 4), Some("2026-03-22"), None),
            (
                r("reflected lately, 5", 5),
                Some("2025-01-01"),
                Some("2026-05-01"),
            ),
        ];
        let sides: Vec<Vec<SideRecords>> = rels
            .iter()
            .map(|(_, on, _)| on.iter().map(|on| contacted(on)).collect())
            .collect();
        let inputs: Vec<_> = rels
            .iter()
            .zip(&sides)
            .enumerate()
            .map(|(n, ((rel, _, reflected), mine))| RelationshipInput {
                last_reflection: reflected.map(at),
                ..input(n as u8, rel, mine)
            })
            .collect();
        let t = today(&inputs, today_, &utc());
        let lost = t.long_lost.expect("a long-lost relationship");
        assert_eq!(lost.name, "100 days, 4");
        assert_eq!(lost.since_days, 100);
        assert_eq!(lost.last_contact, Some(d("2026-03-22")));
        assert_eq!(
            lost.hint,
            "It has been about 3 months since you last logged contact with 100 days, 4. \
             The four reflection questions are a gentle way back in: run through them, \
             and if the answers feel right, reach out."
        );
        // Without the important ones, the longest of the rest.
        let t = today(&inputs[..2], today_, &utc());
        assert_eq!(
            t.long_lost.map(|l| (l.name, l.since_days)),
            Some(("long, 3".into(), 394))
        );
        // A reflection more than 90 days ago no longer quiets it.
        let old = RelationshipInput {
            last_reflection: Some(at("2026-03-01")),
            ..inputs[5].clone()
        };
        let t = today(&[old], today_, &utc());
        assert_eq!(
            t.long_lost.map(|l| l.last_reflection),
            Some(Some(d("2026-03-01")))
        );
    }

    #[test]
    fn never_contacted_counts_from_the_day_it_was_added() {
        let today_ = d("2026-03-31");
        let added = |day: &str| Relationship {
            created: at(day),
            ..rel("Kim", 3, Risk::Low, None)
        };
        let none: [SideRecords; 0] = [];
        let r = added("2025-12-31");
        let t = today(&[input(1, &r, &none)], today_, &utc());
        let lost = t.long_lost.expect("90 days since it was added");
        assert_eq!((lost.last_contact, lost.since_days), (None, 90));
        assert!(lost.hint.starts_with(
            "You haven't logged any contact with Kim since adding them about 3 months ago."
        ));
        let r = added("2026-01-01");
        assert_eq!(
            today(&[input(1, &r, &none)], today_, &utc()).long_lost,
            None
        );
    }

    #[test]
    fn instants_become_days_in_the_persons_time_zone() {
        // Added at 02:00 UTC on Jan 1: still Dec 31 in UTC-8, so 90 days have passed there on
        // Mar 31 but only 89 in UTC.
        let r = Relationship {
            created: Timestamp::from_datetime("2026-01-01T02:00:00Z".parse().unwrap()),
            ..rel("Kim", 3, Risk::Low, None)
        };
        let none: [SideRecords; 0] = [];
        let west = FixedOffset::west_opt(8 * 3600).unwrap();
        let today_ = d("2026-03-31");
        assert!(
            today(&[input(1, &r, &none)], today_, &west)
                .long_lost
                .is_some()
        );
        assert!(
            today(&[input(1, &r, &none)], today_, &Utc)
                .long_lost
                .is_none()
        );
    }

    #[test]
    fn a_person_nudge_serializes_flat() {
        let r = rel("Sam", 4, Risk::High, Some((14, 30)));
        let mine = [contacted("2026-02-01")];
        let t = today(&[input(1, &r, &mine)], d("2026-02-20"), &utc());
        assert_eq!(
            serde_json::to_value(&t.people).unwrap(),
            serde_json::json!([{
                "relationship": id(1).to_string(),
                "name": "Sam",
                "importance": 4,
                "risk": "high",
                "last_contact": "2026-02-01",
                "clock_start": "2026-02-01",
                "state": "due",
                "since": "2026-02-15",
                "days_over": 5,
            }])
        );
    }
}
