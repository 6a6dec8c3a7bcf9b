//! Records about one relationship: check-ins (with their goal reviews), interactions, thanks and
//! boundaries.

use serde::Serialize;
use tapin_core::Id;
use tapin_core::docs::{self, Collection, Place};
use tapin_core::model::{
    Boundary, Channel, CheckIn, Goal, GoalReview, GoalStatus, Initiator, Interaction, Principle,
    Reason, Thanks,
};
use tapin_core::validate::Validate;

use crate::error::{Error, Result, invalid};
use crate::home::{Home, checked, random_id};
use crate::reading::{Docs, Writer, find_person, find_record};

/// A record written about a relationship, as `--json` shows it: `{"id", "relationship",
/// "shared", "<kind>": record}`.
#[derive(Debug, Clone, Serialize)]
pub struct Noted<T> {
    /// The record's id.
    pub id: Id,
    /// The relationship.
    pub relationship: String,
    /// Whether it is shared.
    pub shared: bool,
    /// The record, under its kind's name.
    #[serde(flatten)]
    pub record: T,
    /// What I call the person.
    #[serde(skip)]
    pub person: String,
}

/// A check-in, with what its reviews did to goals.
#[derive(Debug, Clone, Serialize)]
pub struct CheckedIn {
    /// The check-in.
    pub checkin: CheckIn,
    /// Each reviewed goal's title and new status.
    #[serde(skip)]
    pub reviewed: Vec<(String, GoalStatus)>,
}

/// An interaction, under its name.
#[derive(Debug, Clone, Serialize)]
pub struct Logged {
    /// The interaction.
    pub interaction: Interaction,
}

/// A thank-you note, under its name.
#[derive(Debug, Clone, Serialize)]
pub struct Thanked {
    /// The note.
    pub thanks: Thanks,
}

/// A boundary, under its name.
#[derive(Debug, Clone, Serialize)]
pub struct Bounded {
    /// The boundary.
    pub boundary: Boundary,
}

/// A new check-in.
#[derive(Debug, Clone)]
pub struct NewCheckIn {
    /// The person.
    pub person: String,
    /// The day it was, as the person typed it (default today; never in the future; see
    /// [`crate::dates`]).
    pub on: Option<String>,
    /// How it went, 1–5.
    pub rating: u8,
    /// What went well.
    pub went_well: String,
    /// What to change.
    pub to_change: String,
    /// Goals reviewed: an id prefix of one of this relationship's goals, and its new status.
    pub reviews: Vec<(String, GoalStatus)>,
    /// Principles it touched.
    pub principles: Vec<Principle>,
    /// Whether the friend sees it.
    pub share: bool,
}

/// A new interaction.
#[derive(Debug, Clone)]
pub struct NewInteraction {
    /// The person.
    pub person: String,
    /// The day it happened, as the person typed it (default today; never in the future; see
    /// [`crate::dates`]).
    pub on: Option<String>,
    /// Who reached out.
    pub by: Initiator,
    /// How.
    pub via: Channel,
    /// Why.
    pub reason: Reason,
    /// A note.
    pub note: String,
    /// Whether it stays private.
    pub private: bool,
}

/// A new note of thanks or a boundary.
#[derive(Debug, Clone)]
pub struct NewNote {
    /// The person.
    pub person: String,
    /// The text.
    pub text: String,
    /// The day it was given or set, as the person typed it (default today; never in the
    /// future; see [`crate::dates`]).
    pub on: Option<String>,
    /// Whether it stays private.
    pub private: bool,
}

/// A principle by its name ("listen-first", "show up", …).
pub fn parse_principle(s: &str) -> Result<Principle> {
    let wanted = s.trim().to_lowercase().replace([' ', '_'], "-");
    Principle::KNOWN
        .iter()
        .copied()
        .find(|p| p.json_name() == wanted)
        .ok_or_else(|| {
            let names: Vec<String> = Principle::KNOWN.iter().map(Principle::json_name).collect();
            Error::malformed(format!(
                "unknown principle {s:?}; choose from {}",
                names.join(", ")
            ))
        })
}

fn note_text(text: &str) -> Result<String> {
    let text = text.trim();
    if text.is_empty() {
        invalid!("the note is empty");
    }
    Ok(text.to_owned())
}

/// Writes one new record about `person` into the place `share` chooses, in one write.
fn write_note<R: docs::Reconcile + Validate, T>(
    home: &Home,
    person: &str,
    share: bool,
    collection: Collection,
    what: &str,
    record: R,
    wrap: impl FnOnce(R) -> T,
) -> Result<Noted<T>> {
    let record = checked(what, record)?;
    let id = random_id()?;
    home.write(|w| {
        let private = w.private()?;
        let (rel_id, rel) = find_person(&private, person)?;
        let place = Place::choose(rel_id, share);
        w.update(place.doc(), |d| {
            Ok(docs::put_record(d, place, collection, id, &record)?)
        })?;
        Ok(Noted {
            id,
            relationship: rel_id.to_string(),
            shared: share,
            person: rel.name,
            record: wrap(record),
        })
    })
}

/// What a check-in's `--review` names: one of my goals, where it is, or a friend's goal I took
/// up (with its title), whose review sets my part of it.
enum Reviewed {
    Mine(Place, Id),
    TakenUp(Id, String),
}

impl Reviewed {
    fn goal(&self) -> Id {
        match self {
            Reviewed::Mine(_, id) | Reviewed::TakenUp(id, _) => *id,
        }
    }
}

/// The friend's goal whose id starts with `prefix` that I took up in relationship `rel` (a join
/// of mine names it and is not left), with its title as they have it; `None` if none does.
fn taken_up(
    w: &mut Writer<'_, '_>,
    rel: Id,
    prefix: &str,
    friend: &str,
) -> Result<Option<(Id, String)>> {
    let side = w.side(rel)?;
    let mut goals: Vec<(Id, String)> = side
        .joins
        .values()
        .filter(|j| j.left.is_none() && j.goal.to_string().starts_with(prefix))
        .map(|j| (j.goal, j.title.clone()))
        .collect();
    goals.sort();
    goals.dedup_by_key(|(id, _)| *id);
    match goals.len() {
        0 => Ok(None),
        1 => {
            let (id, title) = goals.remove(0);
            let replica = w.replica(rel)?.records;
            let title = replica.goals.get(&id).map_or(title, |g| g.title.clone());
            Ok(Some((id, title)))
        }
        n => invalid!("{prefix:?} names {n} of {friend}'s goals you took up; give more of the id"),
    }
}

impl Home {
    /// Records a check-in, and each goal review in it: the check-in and every goal it reviews are
    /// written in one transaction, all of them or none. A review that names no goal of this
    /// relationship fails the whole check-in.
    pub fn check_in(&self, new: &NewCheckIn) -> Result<Noted<CheckedIn>> {
        let on = self.happened_on(new.on.as_deref(), "a check-in")?;
        let updated = self.stamp();
        let id = random_id()?;
        self.write(|w: &mut Writer<'_, '_>| {
            let private = w.private()?;
            let (rel_id, rel) = find_person(&private, &new.person)?;
            let places = w.all_records(&private)?;
            let mut reviews = Vec::new();
            let mut targets = Vec::new();
            for (goal, status) in &new.reviews {
                let review = format!("{goal}={}", crate::words::goal_status(*status));
                let target = match find_record(&places, goal.trim(), "goal", |r| &r.goals) {
                    Ok((place, goal_id, g)) => {
                        if place.relationship() != rel_id {
                            invalid!(
                                "--review {review:?}: goal {:?} belongs to another relationship",
                                g.title
                            );
                        }
                        Reviewed::Mine(place, goal_id)
                    }
                    // A goal of theirs I took up: the review sets my part of it, as `goal
                    // status` does.
                    Err(Error::NotFound(not_mine)) => {
                        let Some((goal_id, title)) = taken_up(w, rel_id, goal.trim(), &rel.name)?
                        else {
                            return Err(Error::NotFound(not_mine));
                        };
                        if !matches!(
                            status,
                            GoalStatus::Active | GoalStatus::Achieved | GoalStatus::Dropped
                        ) {
                            invalid!(
                                "--review {review:?}: {title:?} is {}'s goal; your part of it can \
                                 be active, achieved or dropped (left)",
                                rel.name
                            );
                        }
                        Reviewed::TakenUp(goal_id, title)
                    }
                    Err(other) => return Err(other),
                };
                reviews.push(GoalReview {
                    goal: target.goal(),
                    status: *status,
                    note: String::new(),
                });
                targets.push(target);
            }
            let record = checked(
                "check-in",
                CheckIn {
                    on,
                    rating: new.rating,
                    went_well: new.went_well.clone(),
                    to_change: new.to_change.clone(),
                    reviews,
                    principles: new.principles.clone(),
                    created: updated,
                },
            )?;
            let place = Place::choose(rel_id, new.share);
            w.update(place.doc(), |d| {
                Ok(docs::put_record(
                    d,
                    place,
                    Collection::CheckIns,
                    id,
                    &record,
                )?)
            })?;
            let mut reviewed = Vec::new();
            for (target, review) in targets.iter().zip(&record.reviews) {
                let (goal_place, goal_id) = match target {
                    Reviewed::Mine(place, id) => (place, id),
                    Reviewed::TakenUp(goal, title) => {
                        crate::goals::set_my_part(w, rel_id, *goal, review.status, updated)?;
                        reviewed.push((title.clone(), review.status));
                        continue;
                    }
                };
                let title = w.update(goal_place.doc(), |d| {
                    let mut g: Goal =
                        docs::get_record(d, *goal_place, Collection::Goals, *goal_id)?.ok_or_else(
                            || Error::not_found(format!("goal {goal_id} was removed")),
                        )?;
                    g.status = review.status;
                    g.updated = updated;
                    docs::put_record(d, *goal_place, Collection::Goals, *goal_id, &g)?;
                    Ok(g.title)
                })?;
                reviewed.push((title, review.status));
            }
            Ok(Noted {
                id,
                relationship: rel_id.to_string(),
                shared: new.share,
                person: rel.name,
                record: CheckedIn {
                    checkin: record,
                    reviewed,
                },
            })
        })
    }

    /// Logs who reached out to whom, and how.
    pub fn log_interaction(&self, new: &NewInteraction) -> Result<Noted<Logged>> {
        let on = self.happened_on(new.on.as_deref(), "an interaction")?;
        let record = Interaction {
            on,
            by: new.by,
            via: new.via,
            reason: new.reason,
            note: new.note.clone(),
            created: self.stamp(),
        };
        write_note(
            self,
            &new.person,
            !new.private,
            Collection::Interactions,
            "note",
            record,
            |interaction| Logged { interaction },
        )
    }

    /// Writes down a thank-you.
    pub fn thank(&self, new: &NewNote) -> Result<Noted<Thanked>> {
        let record = Thanks {
            on: self.happened_on(new.on.as_deref(), "a thank-you")?,
            text: note_text(&new.text)?,
            created: self.stamp(),
        };
        write_note(
            self,
            &new.person,
            !new.private,
            Collection::Thanks,
            "thank-you note",
            record,
            |thanks| Thanked { thanks },
        )
    }

    /// Notes a boundary.
    pub fn add_boundary(&self, new: &NewNote) -> Result<Noted<Bounded>> {
        let record = Boundary {
            on: Some(self.happened_on(new.on.as_deref(), "a boundary")?),
            text: note_text(&new.text)?,
            created: self.stamp(),
        };
        write_note(
            self,
            &new.person,
            !new.private,
            Collection::Boundaries,
            "boundary",
            record,
            |boundary| Bounded { boundary },
        )
    }
}
