//! Derived views: what the app shows, computed from the records and nothing else.
//!
//! Every function here is pure. "Today" and "now" are parameters, time zones are parameters,
//! and nothing reads a clock, a file or the network, so each view is a plain function of its
//! inputs and is tested with fixed dates. The return types derive `serde::Serialize`; they are
//! what `--json` prints, so their shape is part of the CLI's interface.
//!
//! - [`reflection`]: red flags in the answers to the four paired questions.
//! - [`ritual`]: when a ritual is next due, and its streak counted in periods.
//! - [`touch`]: staying in touch — when a relationship is due or overdue for contact, and which
//!   to nudge first.
//! - [`journal`]: `@tags` and search over the private journal.
//! - [`mutual`]: goals both sides have taken up.
//! - [`reciprocity`]: who reaches out, thanks and check-ins, from both sides' logs, over time.
//! - [`today`]: the daily glance across all relationships.
//!
//! ```
//! use tapin_core::time::Day;
//! use tapin_core::model::{Recurrence, Ritual};
//! use tapin_core::views::ritual::{schedule, RitualState};
//!
//! let day = |s: &str| s.parse::<Day>().expect("a date");
//! let ritual = Ritual {
//!     title: "One-on-one time".into(),
//!     recurrence: Recurrence::MonthlyOn { day: 31 },
//!     minutes: Some(20),
//!     guidelines: vec!["no money spent".into()],
//!     start: day("2024-01-01"),
//!     occurrences: vec![day("2024-01-31")],
//!     retired: false,
//! };
//! // February 2024 has no 31st: the ritual falls on its last day, the 29th.
//! let s = schedule(&ritual, day("2024-02-10"));
//! assert_eq!(s.next_due, Some(day("2024-02-29")));
//! assert_eq!(s.state, RitualState::Upcoming { in_days: 19 });
//! assert_eq!(s.streak, 1);
//! ```

use std::collections::BTreeMap;

use crate::Id;
use crate::model::{Records, SideRecords};

pub mod journal;
pub mod journal_index;
pub mod mutual;
pub mod reciprocity;
pub mod reflection;
pub mod ritual;
pub mod today;
pub mod touch;

/// The records of `sides` in one collection, each id once (the first side holding it wins).
pub(crate) fn by_id<'a, T>(
    sides: &[&'a SideRecords],
    pick: impl Fn(&'a SideRecords) -> &'a Records<T>,
) -> BTreeMap<Id, &'a T> {
    let mut out = BTreeMap::new();
    for side in sides {
        for (id, record) in pick(side) {
            out.entry(*id).or_insert(record);
        }
    }
    out
}
