//! Mutual goals: goals both sides have taken up.
//!
//! # Definitions
//!
//! Each person keeps their own side; nobody writes into the other's. Taking up a friend's goal is
//! a [`GoalJoin`] in the joiner's *own* shared side that names the goal's id in the owner's side.
//! So a goal is mutual only when two documents agree, each vouching for its own author:
//!
//! - **Mine, joined by them** ([`Owner::Me`]): one of my goals is in my *shared* side, and *their*
//!   side holds a join naming it.
//! - **Theirs, joined by me** ([`Owner::Them`]): one of their goals is in their side (the replica
//!   of what they share), and *my shared* side holds a join naming it.
//!
//! A join only counts in the joiner's own document: a join in their side naming their own goal,
//! or one in my side naming my own goal, makes nothing mutual — neither side can mark the other
//! as having joined.
//!
//! **Left joins.** A join with `left` set no longer counts. Leaving and joining again writes a new
//! join, so a goal stays mutual while any join naming it is not left; with several such joins
//! (two devices joined at once), `joined` is the earliest and the joiner's steps are those of all
//! of them.
//!
//! **Private records never make a goal mutual.** A goal in my private records was never shared, so
//! the friend cannot have taken it up (if they joined it while it was shared and I made it
//! private since, it is mine alone again). A join in my private records was never seen by the
//! friend. `mutual_goals` takes the private records only so that this rule lives here rather
//! than in every caller.
//!
//! **Not synced.** Both documents are needed: with no replica of the friend's side (`None`), no
//! goal can be shown to be mutual and the list is empty. A join naming a goal that is not (or no
//! longer) in the owner's shared side is not mutual either.
//!
//! **The joiner's part.** The goal's title, date, status and own steps are its owner's; the
//! joiner's part is their join: their own steps and, if they marked it, when their part was
//! achieved ([`MutualGoal::joiner_achieved`]). Dropping a goal one took up is leaving it.
//!
//! The goal's status is reported as it is (achieved and dropped goals stay mutual history);
//! callers filter with [`GoalStatus::is_open`] if they want only goals in play.
//!
//! **Order.** By `joined`, then owner (mine first), then goal id, so the list does not depend on
//! map order.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::ids::Id;
use crate::model::{Goal, GoalJoin, GoalStatus, Objective, SideRecords};
use crate::time::{Day, Timestamp};

/// Whose goal it is: whose side it lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Owner {
    /// My goal, which the friend took up. JSON `"me"`.
    Me,
    /// The friend's goal, which I took up. JSON `"them"`.
    Them,
}

/// Steps done out of steps set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub struct Progress {
    /// Objectives marked done.
    pub done: usize,
    /// All objectives.
    pub total: usize,
}

impl Progress {
    /// The progress of a goal's own objectives.
    pub fn of_goal(goal: &Goal) -> Self {
        let (done, total) = goal.progress();
        Progress { done, total }
    }
}

/// A goal both sides have taken up; see the module docs.
///
/// JSON: `{"goal_id": "…", "owner": "me"|"them", "title": "…",
/// "status": "active"|"adjusted"|"achieved"|"dropped", "by": "YYYY-MM-DD"|null,
/// "owner_progress": {"done": 1, "total": 3}, "joiner_progress": {"done": 0, "total": 2},
/// "joined": <ms since the epoch>, "joiner_achieved": <ms since the epoch>|null,
/// "owner_steps": [Objective], "joiner_steps": [Objective]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MutualGoal {
    /// The goal's id in its owner's side.
    pub goal_id: Id,
    /// Whose goal it is.
    pub owner: Owner,
    /// The goal's title, as its owner has it now.
    pub title: String,
    /// Where the goal stands, as its owner set it.
    pub status: GoalStatus,
    /// The end of its timeframe, if it has one.
    pub by: Option<Day>,
    /// The owner's steps: the goal's objectives.
    pub owner_progress: Progress,
    /// The joiner's own steps toward it: the join's objectives.
    pub joiner_progress: Progress,
    /// When the joiner took it up (the earliest of their joins that are not left).
    pub joined: Timestamp,
    /// When the joiner marked their part achieved (the earliest such mark among their joins that
    /// are not left), if they did. The goal's own status stays its owner's.
    pub joiner_achieved: Option<Timestamp>,
    /// The owner's steps, in the order they were added.
    pub owner_steps: Vec<Objective>,
    /// The joiner's own steps, in the order they were added.
    pub joiner_steps: Vec<Objective>,
}

impl MutualGoal {
    /// Whether the goal is still in play for both: open as its owner set it, and the joiner has
    /// not marked their part achieved.
    pub fn is_open(&self) -> bool {
        self.status.is_open() && self.joiner_achieved.is_none()
    }

    /// Whether its timeframe ended before `today` while it is still open for both.
    pub fn is_overdue(&self, today: Day) -> bool {
        self.is_open() && self.by.is_some_and(|by| by < today)
    }
}

/// The goals both sides have taken up; see the module docs for the rules.
///
/// `mine_shared` is my shared side, `mine_private` my private records of the same relationship,
/// and `theirs` the replica of the friend's side, if it ever arrived.
pub fn mutual_goals(
    mine_shared: &SideRecords,
    mine_private: &SideRecords,
    theirs: Option<&SideRecords>,
) -> Vec<MutualGoal> {
    // Nothing private makes a goal mutual (see the module docs).
    let _ = mine_private;
    let Some(theirs) = theirs else {
        return Vec::new();
    };
    let mine_joined_by_them = mine_shared
        .goals
        .iter()
        .filter_map(|(id, goal)| mutual(Owner::Me, *id, goal, theirs));
    let theirs_joined_by_me = theirs
        .goals
        .iter()
        .filter_map(|(id, goal)| mutual(Owner::Them, *id, goal, mine_shared));
    let mut out: Vec<MutualGoal> = mine_joined_by_them.chain(theirs_joined_by_me).collect();
    out.sort_by(|a, b| (a.joined, a.owner, &a.goal_id).cmp(&(b.joined, b.owner, &b.goal_id)));
    out
}

/// The mutual goal for `goal` (owned by `owner`) if `joiner_side` holds a join naming it that is
/// not left.
fn mutual(owner: Owner, id: Id, goal: &Goal, joiner_side: &SideRecords) -> Option<MutualGoal> {
    let joins: Vec<&GoalJoin> = joiner_side
        .joins
        .values()
        .filter(|j| j.goal == id && j.left.is_none())
        .collect();
    let joined = joins.iter().map(|j| j.joined).min()?;
    // Objectives are keyed by id; the same step copied into two joins counts once, done if
    // either copy is.
    let mut steps: BTreeMap<Id, Objective> = BTreeMap::new();
    for (k, o) in joins.iter().flat_map(|j| &j.objectives) {
        let step = steps.entry(*k).or_insert_with(|| o.clone());
        if o.done && !step.done {
            *step = o.clone();
        }
    }
    let mut joiner_steps: Vec<(Id, Objective)> = steps.into_iter().collect();
    joiner_steps.sort_by_key(|(id, o)| (o.created, *id));
    Some(MutualGoal {
        goal_id: id,
        owner,
        title: goal.title.clone(),
        status: goal.status,
        by: goal.by,
        owner_progress: Progress::of_goal(goal),
        joiner_progress: Progress {
            done: joiner_steps.iter().filter(|(_, o)| o.done).count(),
            total: joiner_steps.len(),
        },
        joined,
        joiner_achieved: joins.iter().filter_map(|j| j.achieved).min(),
        owner_steps: goal.steps().into_iter().map(|(_, o)| o.clone()).collect(),
        joiner_steps: joiner_steps.into_iter().map(|(_, o)| o).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::GoalKind;

    fn d(s: &str) -> Day {
        s.parse().unwrap()
    }

    fn steps(done: &[bool]) -> crate::model::Records<Objective> {
        done.iter()
            .enumerate()
            .map(|(i, done)| {
                (
                    Id::named(&format!("o{i}")),
                    Objective {
                        text: format!("step {i}"),
                        done: *done,
                        created: Timestamp(i as i64),
                        done_at: done.then_some(Timestamp(100)),
                    },
                )
            })
            .collect()
    }

    /// The steps of [`steps`], in the order they were added.
    fn in_order(done: &[bool]) -> Vec<Objective> {
        let mut all: Vec<Objective> = steps(done).into_iter().map(|(_, o)| o).collect();
        all.sort_by_key(|o| o.created);
        all
    }

    fn goal(title: &str, done: &[bool]) -> Goal {
        Goal {
            title: title.into(),
            why: String::new(),
            kind: GoalKind::SharedExperience,
            by: Some(d("2026-04-30")),
            status: GoalStatus::Active,
            objectives: steps(done),
            created: Timestamp(1),
            updated: Timestamp(1),
        }
    }

    fn join(goal: &str, joined: i64, left: Option<i64>, done: &[bool]) -> GoalJoin {
        GoalJoin {
            goal: Id::named(goal),
            title: "as it was when joined".into(),
            objectives: steps(done),
            joined: Timestamp(joined),
            left: left.map(Timestamp),
            achieved: None,
        }
    }

    fn side(goals: &[(&str, Goal)], joins: &[(&str, GoalJoin)]) -> SideRecords {
        SideRecords {
            goals: goals
                .iter()
                .map(|(k, g)| (Id::named(k), g.clone()))
                .collect(),
            joins: joins
                .iter()
                .map(|(k, j)| (Id::named(k), j.clone()))
                .collect(),
            ..SideRecords::default()
        }
    }

    fn summary(goals: &[MutualGoal]) -> Vec<(Id, Owner)> {
        goals.iter().map(|g| (g.goal_id, g.owner)).collect()
    }

    fn named(want: &[(&str, Owner)]) -> Vec<(Id, Owner)> {
        want.iter()
            .map(|(label, o)| (Id::named(label), *o))
            .collect()
    }

    #[test]
    fn a_goal_is_mutual_in_both_directions() {
        let mine = side(
            &[("g-mine", goal("Walk on Sundays", &[true, false, false]))],
            &[("j1", join("g-theirs", 20, None, &[true, true]))],
        );
        let theirs = side(
            &[("g-theirs", goal("Talk more openly", &[false]))],
            &[("j2", join("g-mine", 10, None, &[false, true]))],
        );
        let got = mutual_goals(&mine, &SideRecords::default(), Some(&theirs));
        assert_eq!(
            got,
            [
                MutualGoal {
                    goal_id: Id::named("g-mine"),
                    owner: Owner::Me,
                    title: "Walk on Sundays".into(),
                    status: GoalStatus::Active,
                    by: Some(d("2026-04-30")),
                    owner_progress: Progress { done: 1, total: 3 },
                    joiner_progress: Progress { done: 1, total: 2 },
                    joined: Timestamp(10),
                    joiner_achieved: None,
                    owner_steps: in_order(&[true, false, false]),
                    joiner_steps: in_order(&[false, true]),
                },
                MutualGoal {
                    goal_id: Id::named("g-theirs"),
                    owner: Owner::Them,
                    title: "Talk more openly".into(),
                    status: GoalStatus::Active,
                    by: Some(d("2026-04-30")),
                    owner_progress: Progress { done: 0, total: 1 },
                    joiner_progress: Progress { done: 2, total: 2 },
                    joined: Timestamp(20),
                    joiner_achieved: None,
                    owner_steps: in_order(&[false]),
                    joiner_steps: in_order(&[true, true]),
                },
            ]
        );
    }

    #[test]
    fn only_joins_that_are_shared_present_and_not_left_count() {
        let g = || goal("Walk on Sundays", &[]);
        // (case, my shared side, my private records, their side, mutual)
        type Case = (
            &'static str,
            SideRecords,
            SideRecords,
            Option<SideRecords>,
            Vec<(&'static str, Owner)>,
        );
        let cases: Vec<Case> = vec![
            (
                "they left my goal",
                side(&[("g", g())], &[]),
                SideRecords::default(),
                Some(side(&[], &[("j", join("g", 10, Some(30), &[]))])),
                vec![],
            ),
            (
                "I left their goal",
                side(&[], &[("j", join("t", 10, Some(30), &[]))]),
                SideRecords::default(),
                Some(side(&[("t", g())], &[])),
                vec![],
            ),
            (
                "left once, joined again",
                side(
                    &[],
                    &[
                        ("j1", join("t", 10, Some(30), &[])),
                        ("j2", join("t", 40, None, &[])),
                    ],
                ),
                SideRecords::default(),
                Some(side(&[("t", g())], &[])),
                vec![("t", Owner::Them)],
            ),
            (
                "their join names a goal I do not have",
                side(&[("g", g())], &[]),
                SideRecords::default(),
                Some(side(&[], &[("j", join("nope", 10, None, &[]))])),
                vec![],
            ),
            (
                "my join names a goal they no longer share",
                side(&[], &[("j", join("t", 10, None, &[]))]),
                SideRecords::default(),
                Some(side(&[], &[])),
                vec![],
            ),
            (
                "their join names my private goal",
                SideRecords::default(),
                side(&[("g", g())], &[]),
                Some(side(&[], &[("j", join("g", 10, None, &[]))])),
                vec![],
            ),
            (
                "my join is only in my private records",
                SideRecords::default(),
                side(&[], &[("j", join("t", 10, None, &[]))]),
                Some(side(&[("t", g())], &[])),
                vec![],
            ),
            (
                "their side claims I joined their goal",
                SideRecords::default(),
                SideRecords::default(),
                Some(side(&[("t", g())], &[("j", join("t", 10, None, &[]))])),
                vec![],
            ),
            (
                "my side claims they joined my goal",
                side(&[("g", g())], &[("j", join("g", 10, None, &[]))]),
                SideRecords::default(),
                Some(SideRecords::default()),
                vec![],
            ),
            (
                "their side never synced",
                side(&[("g", g())], &[("j", join("t", 10, None, &[]))]),
                SideRecords::default(),
                None,
                vec![],
            ),
        ];
        for (case, shared, private, theirs, want) in &cases {
            let got = mutual_goals(shared, private, theirs.as_ref());
            assert_eq!(summary(&got), named(want), "{case}");
        }
    }

    #[test]
    fn concurrent_joins_merge_into_one_mutual_goal() {
        let mine = side(
            &[],
            &[
                ("j1", join("t", 50, None, &[true])),
                ("j2", join("t", 40, None, &[false, false])),
            ],
        );
        let theirs = side(&[("t", goal("Talk", &[]))], &[]);
        let got = mutual_goals(&mine, &SideRecords::default(), Some(&theirs));
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].joined, Timestamp(40));
        // Both joins number their steps o0, o1: the same ids count once.
        assert_eq!(got[0].joiner_progress, Progress { done: 1, total: 2 });
    }

    #[test]
    fn the_joiners_part_achieved_closes_it_for_them_and_ends_overdue() {
        let mut achieved = join("t", 40, None, &[]);
        achieved.achieved = Some(Timestamp(60));
        let mine = side(&[], &[("j1", join("t", 50, None, &[])), ("j2", achieved)]);
        let theirs = side(&[("t", goal("Talk", &[]))], &[]);
        let got = mutual_goals(&mine, &SideRecords::default(), Some(&theirs));
        assert_eq!(got[0].joiner_achieved, Some(Timestamp(60)));
        assert!(!got[0].is_open());
        assert!(
            !got[0].is_overdue(d("2026-05-01")),
            "achieved is not overdue"
        );

        let mine = side(&[], &[("j1", join("t", 50, None, &[]))]);
        let got = mutual_goals(&mine, &SideRecords::default(), Some(&theirs));
        assert!(got[0].is_open());
        assert!(!got[0].is_overdue(d("2026-04-30")), "due today");
        assert!(got[0].is_overdue(d("2026-05-01")));
    }

    #[test]
    fn a_mutual_goal_serializes_readably() {
        let mine = side(&[("g", goal("Walk", &[true]))], &[]);
        let theirs = side(&[], &[("j", join("g", 7, None, &[]))]);
        let got = mutual_goals(&mine, &SideRecords::default(), Some(&theirs));
        assert_eq!(
            serde_json::to_value(&got).unwrap(),
            serde_json::json!([{
                "goal_id": Id::named("g").to_string(),
                "owner": "me",
                "title": "Walk",
                "status": "active",
                "by": "2026-04-30",
                "owner_progress": {"done": 1, "total": 1},
                "joiner_progress": {"done": 0, "total": 0},
                "joined": 7,
                "joiner_achieved": null,
                "owner_steps": [{"text": "step 0", "done": true, "created": 0, "done_at": 100}],
                "joiner_steps": [],
            }])
        );
    }
}
