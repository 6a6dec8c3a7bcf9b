//! Rituals: recurring, simple time together, and the days they were kept.

use serde::Serialize;
use tapin_core::Id;
use tapin_core::docs::{self, Collection, Place};
use tapin_core::model::{Recurrence, Ritual};
use tapin_core::time::Day;
use tapin_core::views::ritual::{RitualSchedule, schedule};

use crate::error::{Error, Result, invalid};
use crate::home::{Home, checked, random_id};
use crate::reading::{Docs, find_person, find_record};

/// A new ritual.
#[derive(Debug, Clone)]
pub struct NewRitual {
    /// The person it is with.
    pub person: String,
    /// What it is.
    pub title: String,
    /// How often.
    pub recurrence: Recurrence,
    /// About how long, in minutes.
    pub minutes: Option<u32>,
    /// How we keep it.
    pub guidelines: Vec<String>,
    /// The first day it counts from, as the person typed it (default: today; a plan, so a
    /// phrase looks ahead and a past day is kept with a warning; see [`crate::dates`]).
    pub start: Option<String>,
    /// Whether the friend sees it.
    pub share: bool,
}

/// A ritual added.
#[derive(Debug, Clone, Serialize)]
pub struct RitualAdded {
    /// Its id.
    pub id: Id,
    /// The relationship.
    pub relationship: String,
    /// What I call the person.
    #[serde(skip)]
    pub person: String,
    /// Whether it is shared.
    pub shared: bool,
    /// The ritual.
    pub ritual: Ritual,
    /// Its schedule as of today.
    pub schedule: RitualSchedule,
    /// What the person should know about the start they gave (it is already past).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// A ritual changed.
#[derive(Debug, Clone, Serialize)]
pub struct RitualSaved {
    /// Its id.
    pub id: Id,
    /// The ritual as now stored.
    pub ritual: Ritual,
    /// Its schedule as of today.
    pub schedule: RitualSchedule,
    /// Whether the change did anything (false: that day was already recorded).
    #[serde(skip)]
    pub changed: bool,
    /// The day it was marked done on, for `ritual_done`.
    #[serde(skip)]
    pub day: Option<Day>,
    /// The start it had before a backfill moved it back (`ritual_done` on a day before it).
    pub moved_start: Option<Day>,
}

/// One row of the ritual list.
#[derive(Debug, Clone, Serialize)]
pub struct RitualRow {
    /// The ritual's id.
    pub id: Id,
    /// The relationship.
    pub relationship: String,
    /// What I call the person.
    pub person: String,
    /// Whether it is shared.
    pub shared: bool,
    /// The ritual.
    #[serde(flatten)]
    pub ritual: Ritual,
    /// Its schedule as of today.
    pub schedule: RitualSchedule,
}

impl Home {
    /// Starts a ritual with someone.
    pub fn add_ritual(&self, new: &NewRitual) -> Result<RitualAdded> {
        let title = new.title.trim().to_owned();
        if title.is_empty() {
            invalid!("a ritual needs a title");
        }
        let today = self.today();
        let (start, warning) = match new.start.as_deref() {
            Some(start) => self.planned_for(start, "the ritual's start")?,
            None => (today, None),
        };
        let ritual = checked(
            "ritual",
            Ritual {
                title,
                recurrence: new.recurrence,
                minutes: new.minutes,
                guidelines: new
                    .guidelines
                    .iter()
                    .map(|g| g.trim().to_owned())
                    .filter(|g| !g.is_empty())
                    .collect(),
                start,
                occurrences: Vec::new(),
                retired: false,
            },
        )?;
        let id = random_id()?;
        self.write(|w| {
            let private = w.private()?;
            let (rel_id, rel) = find_person(&private, &new.person)?;
            let place = Place::choose(rel_id, new.share);
            w.update(place.doc(), |d| {
                Ok(docs::put_record(
                    d,
                    place,
                    Collection::Rituals,
                    id,
                    &ritual,
                )?)
            })?;
            Ok(RitualAdded {
                id,
                relationship: rel_id.to_string(),
                person: rel.name,
                shared: new.share,
                schedule: schedule(&ritual, today),
                ritual,
                warning,
            })
        })
    }

    /// Records that a ritual was kept on `day` as the person typed it (default today), which
    /// must have come. A day before the ritual's start backfills it: the ritual was evidently
    /// kept before it was written down (a years-old ritual started in tapin today), so its start
    /// moves back to that day ([`RitualSaved::moved_start`]).
    pub fn ritual_done(&self, ritual: &str, day: Option<&str>) -> Result<RitualSaved> {
        let day = self.happened_on(day, "a ritual")?;
        let mut moved = None;
        let mut saved = self.change_ritual(ritual, |r| {
            if r.occurrences.contains(&day) {
                return Ok(false);
            }
            if day < r.start {
                moved = Some(r.start);
                r.start = day;
            }
            r.occurrences.push(day);
            r.occurrences.sort();
            Ok(true)
        })?;
        saved.day = Some(day);
        saved.moved_start = moved;
        Ok(saved)
    }

    /// Takes back a day recorded by mistake (default today): it is no longer a day the ritual
    /// was kept. A day that was not recorded changes nothing.
    pub fn ritual_undone(&self, ritual: &str, day: Option<&str>) -> Result<RitualSaved> {
        let day = self.happened_on(day, "a ritual")?;
        let mut saved = self.change_ritual(ritual, |r| {
            let before = r.occurrences.len();
            r.occurrences.retain(|d| *d != day);
            Ok(r.occurrences.len() != before)
        })?;
        saved.day = Some(day);
        Ok(saved)
    }

    /// Retires a ritual; its history stays.
    pub fn retire_ritual(&self, ritual: &str) -> Result<RitualSaved> {
        self.change_ritual(ritual, |r| {
            r.retired = true;
            Ok(true)
        })
    }

    fn change_ritual(
        &self,
        ritual: &str,
        change: impl FnOnce(&mut Ritual) -> Result<bool>,
    ) -> Result<RitualSaved> {
        let today = self.today();
        self.write(|w| {
            let private = w.private()?;
            let places = w.all_records(&private)?;
            let (place, id, _) = find_record(&places, ritual, "ritual", |r| &r.rituals)?;
            let mut r: Ritual = w
                .record(place, Collection::Rituals, id)?
                .ok_or_else(|| Error::not_found(format!("ritual {ritual:?} was removed")))?;
            let changed = change(&mut r)?;
            let r = checked("ritual", r)?;
            if changed {
                w.update(place.doc(), |d| {
                    Ok(docs::put_record(d, place, Collection::Rituals, id, &r)?)
                })?;
            }
            Ok(RitualSaved {
                id,
                schedule: schedule(&r, today),
                ritual: r,
                changed,
                day: None,
                moved_start: None,
            })
        })
    }

    /// Rituals, of one person or of every active relationship, soonest due first.
    pub fn rituals(&self, person: Option<&str>) -> Result<Vec<RitualRow>> {
        let today = self.today();
        self.read(|r| {
            let private = r.private()?;
            let mut rows = Vec::new();
            for (place, rel, recs) in r.listed_records(&private, person)? {
                for (id, ritual) in recs.rituals {
                    rows.push(RitualRow {
                        id,
                        relationship: place.relationship().to_string(),
                        person: rel.name.clone(),
                        shared: place.is_shared(),
                        schedule: schedule(&ritual, today),
                        ritual,
                    });
                }
            }
            rows.sort_by_key(|r| (r.ritual.retired, r.schedule.next_due, r.person.clone()));
            Ok(rows)
        })
    }
}
