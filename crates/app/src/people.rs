//! People: adding, editing, archiving and snoozing relationships, and the list of them.

use serde::Serialize;
use tapin_core::docs::{self, PrivateDoc};
use tapin_core::model::{Relationship, RelationshipStatus, Rhythm, Risk};
use tapin_core::time::{Day, Interval};
use tapin_core::views::reflection::{latest_reflection, red_flags};
use tapin_core::views::ritual::schedule;
use tapin_core::views::touch::{self, Touch};
use tapin_core::{DocId, Id};

use crate::error::{Result, invalid};
use crate::home::{Home, checked, random_id};
use crate::reading::{Docs, Unreadable, Writer, find_person, last_contact};

/// How a relationship is to be kept: each `None` leaves the current value (or the default for a
/// new person: importance 3, medium risk, no rhythm).
#[derive(Debug, Clone, Default)]
pub struct PersonSettings {
    /// How much this relationship matters, 1–5.
    pub importance: Option<u8>,
    /// How fragile it is.
    pub risk: Option<Risk>,
    /// How often to be in touch, ideally.
    pub rhythm: Option<Interval>,
    /// The longest gap before it is overdue (default: three times the rhythm).
    pub max: Option<Interval>,
}

impl PersonSettings {
    /// The rhythm these settings give, if they give one.
    fn rhythm(&self) -> Result<Option<Rhythm>> {
        let Some(ideal) = self.rhythm else {
            return Ok(None);
        };
        let max = self
            .max
            .unwrap_or_else(|| Interval::days(ideal.days.saturating_mul(3)));
        if max < ideal {
            invalid!(
                "--max {max} is shorter than --rhythm {ideal}; the maximum must be at least the ideal interval"
            );
        }
        Ok(Some(Rhythm { ideal, max }))
    }
}

/// A length of time as a person types it (`10d`, `2w`, `3m`, `1y`), for the flag `flag`; what
/// cannot be read is [`crate::Error::Malformed`].
pub fn parse_interval(flag: &str, text: &str) -> Result<Interval> {
    text.parse().map_err(|_| {
        crate::Error::malformed(format!(
            "{flag} {text:?} is not a length of time; use a number and a unit, like 10d, 2w, 3m or 1y"
        ))
    })
}

/// A snooze as saved: the relationship, and what the person should know about the end they
/// gave.
#[derive(Debug, Clone, Serialize)]
pub struct Snoozed {
    /// The relationship as now stored.
    #[serde(flatten)]
    pub saved: PersonSaved,
    /// The end given is not after today, so the snooze quiets nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// A change to a relationship.
#[derive(Debug, Clone, Default)]
pub struct PersonEdit {
    /// A new name.
    pub name: Option<String>,
    /// New settings.
    pub settings: PersonSettings,
    /// Remove the rhythm.
    pub no_rhythm: bool,
}

/// A relationship as saved.
#[derive(Debug, Clone, Serialize)]
pub struct PersonSaved {
    /// Its id.
    pub id: Id,
    /// It, as now stored.
    pub relationship: Relationship,
}

/// One row of the people list.
#[derive(Debug, Clone, Serialize)]
pub struct PersonRow {
    /// The relationship's id.
    pub id: Id,
    /// The relationship.
    #[serde(flatten)]
    pub relationship: Relationship,
    /// Staying in touch.
    pub touch: Touch,
    /// Whether my latest reflection on them has red flags (private: only I see my own people).
    pub red_flag: bool,
    /// The next day one of my rituals with them is due.
    pub next_ritual: Option<Day>,
    /// What of this relationship's records could not be read.
    pub unreadable: Unreadable,
}

/// Every relationship with its staying-in-touch state, most important first.
#[derive(Debug, Clone, Serialize)]
pub struct People {
    /// The rows.
    pub rows: Vec<PersonRow>,
    /// Relationships and reflections that could not be read at all, so have no row.
    pub unreadable_rows: usize,
}

fn clean_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        invalid!("a person's name cannot be empty");
    }
    Ok(name.to_owned())
}

/// Names are how people are found (whatever the case and accents), so two relationships may not
/// share one. The one place that says so: adding, renaming and pairing all ask here.
pub(crate) fn refuse_taken_name(
    private: &PrivateDoc,
    name: &str,
    except: Option<Id>,
) -> Result<()> {
    let wanted = crate::words::fold(name);
    let taken = private
        .relationships
        .iter()
        .find(|(id, r)| crate::words::fold(&r.name) == wanted && except != Some(**id));
    if let Some((_, r)) = taken {
        let name = &r.name;
        invalid!(
            "you already have someone called {name:?}; use `tapin person edit` or another name"
        );
    }
    Ok(())
}

impl Home {
    /// Adds a relationship. The name must not be taken (checked inside the write, so two
    /// processes adding the same name cannot both succeed).
    pub fn add_person(&self, name: &str, settings: &PersonSettings) -> Result<PersonSaved> {
        let name = clean_name(name)?;
        let rel = Relationship {
            name: name.clone(),
            importance: settings.importance.unwrap_or(3),
            risk: settings.risk.unwrap_or(Risk::Medium),
            rhythm: settings.rhythm()?,
            status: RelationshipStatus::Active,
            created: self.stamp(),
            snoozed_until: None,
            peer: None,
        };
        let rel = checked("person", rel)?;
        let id = random_id()?;
        self.write(|w| {
            let private = w.private()?;
            refuse_taken_name(&private, &name, None)?;
            w.update(DocId::Private, |d| Ok(docs::put_relationship(d, id, &rel)?))
        })?;
        Ok(PersonSaved {
            id,
            relationship: rel,
        })
    }

    /// Edits a relationship's name and settings.
    pub fn edit_person(&self, person: &str, edit: &PersonEdit) -> Result<PersonSaved> {
        let name = edit.name.as_deref().map(clean_name).transpose()?;
        let rhythm = edit.settings.rhythm()?;
        self.change_person(person, |private, id, rel| {
            if let Some(name) = &name {
                refuse_taken_name(private, name, Some(id))?;
                rel.name.clone_from(name);
            }
            if let Some(i) = edit.settings.importance {
                rel.importance = i;
            }
            if let Some(r) = edit.settings.risk {
                rel.risk = r;
            }
            if edit.no_rhythm {
                rel.rhythm = None;
            } else if rhythm.is_some() {
                rel.rhythm = rhythm;
            }
            Ok(())
        })
    }

    /// Archives, ends or restores a relationship; its history stays either way.
    pub fn set_person_status(
        &self,
        person: &str,
        status: RelationshipStatus,
    ) -> Result<PersonSaved> {
        self.change_person(person, |_, _, rel| {
            rel.status = status;
            Ok(())
        })
    }

    /// Quiets nudges about someone for a while ("3d", "2w") or until a day as the person typed
    /// it (a plan: a phrase looks ahead; see [`crate::dates`]). A snooze is quiet through the
    /// day before its end, so an end that is not after today is kept with a warning that it
    /// quiets nothing (which also ends an earlier snooze).
    pub fn snooze(&self, person: &str, until: &str) -> Result<Snoozed> {
        let today = self.today();
        let until = match until.parse::<Interval>() {
            Ok(interval) => today.plus_days(u64::from(interval.days)),
            Err(_) => crate::dates::resolve_or(
                until,
                today,
                crate::dates::Sense::Planned,
                "; or a length from today, like 3d, 2w or 1m",
            )?,
        };
        let saved = self.change_person(person, |_, _, rel| {
            rel.snoozed_until = Some(until);
            Ok(())
        })?;
        let warning = (until <= today).then(|| {
            format!(
                "{} is not after today, so this snooze quiets nothing: nudges about {} carry on",
                crate::words::describe_day(until),
                saved.relationship.name
            )
        });
        Ok(Snoozed { saved, warning })
    }

    /// Lifts a snooze: nudges about them come back (in `today` too) from now on. Lifting a snooze
    /// that is not there changes nothing.
    pub fn lift_snooze(&self, person: &str) -> Result<PersonSaved> {
        self.change_person(person, |_, _, rel| {
            rel.snoozed_until = None;
            Ok(())
        })
    }

    /// Finds `person` and changes their relationship, all inside one write.
    fn change_person(
        &self,
        person: &str,
        change: impl FnOnce(&PrivateDoc, Id, &mut Relationship) -> Result<()>,
    ) -> Result<PersonSaved> {
        self.write(|w: &mut Writer<'_, '_>| {
            let private = w.private()?;
            let (id, mut rel) = find_person(&private, person)?;
            change(&private, id, &mut rel)?;
            let rel = checked("person", rel)?;
            w.update(DocId::Private, |d| Ok(docs::put_relationship(d, id, &rel)?))?;
            Ok(PersonSaved {
                id,
                relationship: rel,
            })
        })
    }

    /// Every relationship (active ones only unless `all`) with its staying-in-touch state, most
    /// important first.
    pub fn people(&self, all: bool) -> Result<People> {
        let today = self.today();
        self.read(|r| {
            let private = r.private()?;
            let mut rows = Vec::new();
            for (&rid, rel) in &private.relationships {
                if !all && !rel.is_active() {
                    continue;
                }
                let side = r.side(rid)?;
                let empty = Default::default();
                let mine = private.records.get(&rid).unwrap_or(&empty);
                let theirs = if rel.peer.is_some() {
                    Some(r.replica(rid)?)
                } else {
                    None
                };
                let mut unreadable = Unreadable {
                    mine: side.unreadable() + mine.unreadable(),
                    ..Unreadable::default()
                };
                if let Some(theirs) = &theirs {
                    unreadable.add_theirs(rid, &rel.name, theirs);
                }
                let last = last_contact(mine, &side, theirs.as_ref().map(|t| &t.records));
                let red_flag =
                    latest_reflection(private.reflections.iter().map(|(k, r)| (*k, r)), rid)
                        .is_some_and(|(_, r)| !red_flags(r).is_empty());
                let next_ritual = mine
                    .rituals
                    .values()
                    .chain(side.rituals.values())
                    .filter_map(|r| schedule(r, today).next_due)
                    .min();
                rows.push(PersonRow {
                    id: rid,
                    relationship: rel.clone(),
                    touch: touch::touch_status(rel, last, today, &chrono::Local),
                    red_flag,
                    next_ritual,
                    unreadable,
                });
            }
            rows.sort_by(|a, b| {
                b.relationship
                    .importance
                    .cmp(&a.relationship.importance)
                    .then(
                        a.relationship
                            .name
                            .to_lowercase()
                            .cmp(&b.relationship.name.to_lowercase()),
                    )
            });
            Ok(People {
                rows,
                unreadable_rows: private.relationships.unreadable().len()
                    + private.reflections.unreadable().len(),
            })
        })
    }
}
