//! The page models behind `show`, `report`, `today` and `history`: everything a page shows,
//! derived by `tapin_core::views` from my documents and my replica of the friend's shared side.
//! Nothing private of theirs exists on this device to be shown. `show` and the HTML report are
//! built from one model, [`RelationshipPage`].

use serde::Serialize;
use tapin_core::docs::Place;
use tapin_core::model::{
    Boundary, CheckIn, Goal, Initiator, Relationship, Ritual, SideRecords, Thanks,
};
use tapin_core::time::{Day, Timestamp};
use tapin_core::views::mutual::{MutualGoal, mutual_goals};
use tapin_core::views::reciprocity::{Reciprocity, reciprocity};
use tapin_core::views::reflection::{RedFlag, latest_reflection, red_flags};
use tapin_core::views::ritual::{RitualSchedule, schedule};
use tapin_core::views::today::{RelationshipInput, Today, today};
use tapin_core::views::touch::{self, Touch};
use tapin_core::{DocId, Id};
use tapin_store::Store;

use crate::error::Result;
use crate::home::Home;
use crate::reading::{BothSides, Docs, Reader, Unreadable, find_person};
use crate::syncing::Path;

/// Whether the friend's side is what their devices signed.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    /// Whether the replica holds exactly what one of their certified devices signed.
    pub verified: bool,
    /// The signing device.
    pub device: Option<String>,
    /// When the signed heads arrived (ms since the epoch): "as of when it was last synced".
    pub as_of: Option<i64>,
}

/// How the last exchange with a friend went.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct LastExchange {
    /// Direct, or only through a relay.
    pub path: Path,
    /// When (ms since the epoch).
    pub at: i64,
}

impl LastExchange {
    /// As this device noted it for relationship `rel`; none if it never synced with them, or
    /// the note is unreadable (it is only a note: nothing else depends on it).
    fn of(store: &Store, rel: Id) -> Result<Option<LastExchange>> {
        let stored = tapin_net::sync::StoredPath::read(store, rel)?;
        Ok(stored.map(|s| LastExchange {
            path: s.path.into(),
            at: s.at,
        }))
    }

    /// Whether only a relay carried it.
    pub fn relayed(&self) -> bool {
        self.path == Path::Relay
    }
}

/// One goal on a page, with where it lives.
#[derive(Debug, Clone, Serialize)]
pub struct GoalItem {
    /// The goal's id.
    pub id: Id,
    /// Whether it is shared.
    pub shared: bool,
    /// The goal.
    #[serde(flatten)]
    pub goal: Goal,
}

/// One ritual on a page.
#[derive(Debug, Clone, Serialize)]
pub struct RitualItem {
    /// The ritual's id.
    pub id: Id,
    /// "mine" or "theirs".
    pub whose: &'static str,
    /// Whether it is shared.
    pub shared: bool,
    /// Its title.
    pub title: String,
    /// Its schedule as of today.
    pub schedule: RitualSchedule,
    /// The last three days it was kept, newest first.
    pub recent: Vec<Day>,
    /// The whole ritual (the report draws its calendar).
    #[serde(skip)]
    pub ritual: Ritual,
}

/// A check-in on a page.
#[derive(Debug, Clone, Serialize)]
pub struct CheckInItem {
    /// "mine" or "theirs".
    pub whose: &'static str,
    /// Whether it is shared.
    pub shared: bool,
    /// The check-in.
    pub checkin: CheckIn,
}

/// A thank-you on a page.
#[derive(Debug, Clone, Serialize)]
pub struct ThanksItem {
    /// "given" or "received".
    pub direction: &'static str,
    /// The day.
    pub on: Day,
    /// The words.
    pub text: String,
}

/// A boundary on a page.
#[derive(Debug, Clone, Serialize)]
pub struct BoundaryItem {
    /// "mine" or "theirs".
    pub whose: &'static str,
    /// The day it was set, in its writer's calendar.
    pub on: Day,
    /// The words.
    pub text: String,
}

/// My latest reflection's red flags: only ever shown to me.
#[derive(Debug, Clone, Serialize)]
pub struct RedFlags {
    /// When I last reflected on them (ms since the epoch).
    pub last_reflected: Option<i64>,
    /// The red flags in it.
    pub flags: Vec<RedFlag>,
}

/// One relationship on one page — my side next to theirs, mutual goals, rituals, check-ins,
/// thanks, boundaries, reciprocity, my red flags (only ever shown to me), staying in touch, and
/// whether their side is verified. `--json` of `show` is this (schema in docs/JSON.md).
#[derive(Debug, Clone, Serialize)]
pub struct RelationshipPage {
    /// The relationship.
    pub relationship: String,
    /// What I call them.
    pub name: String,
    /// Whether we are paired.
    pub paired: bool,
    /// Their own display name, once paired.
    pub friend: Option<String>,
    /// Who ended the pairing, and when, in words ("Maya ended the pairing on 30 November 2026");
    /// `None` while paired or never paired.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pairing_ended: Option<String>,
    /// Staying in touch.
    pub touch: Touch,
    /// My goals that are not mutual, open first.
    pub my_goals: Vec<GoalItem>,
    /// Their shared goals that are not mutual, open first.
    pub their_goals: Vec<GoalItem>,
    /// Goals one of us took up from the other: each listed here only, not again among mine or
    /// theirs.
    pub mutual_goals: Vec<MutualGoal>,
    /// Rituals, mine then theirs.
    pub rituals: Vec<RitualItem>,
    /// The five latest check-ins.
    pub checkins: Vec<CheckInItem>,
    /// The six latest thanks.
    pub thanks: Vec<ThanksItem>,
    /// Boundaries, mine then theirs.
    pub boundaries: Vec<BoundaryItem>,
    /// Who reached out, over windows and weeks.
    pub reciprocity: Reciprocity,
    /// My latest reflection's red flags.
    pub red_flags: RedFlags,
    /// Whether their side is verified.
    pub their_side: Verification,
    /// How the last exchange with them went, once there was one.
    pub last_exchange: Option<LastExchange>,
    /// What could not be read.
    pub unreadable: Unreadable,
    /// My own display name.
    #[serde(skip)]
    pub me: String,
    /// The day the page is for.
    #[serde(skip)]
    pub today: Day,
}

/// What `today` shows: the glance, and what could not be read.
#[derive(Debug, Clone, Serialize)]
pub struct TodayPage {
    /// The glance.
    #[serde(flatten)]
    pub today: Today,
    /// Pairings a friend ended in the last two weeks, in words ("Maya ended the pairing on 30
    /// November 2026"): worth knowing, once, where the day is looked at.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pairings_ended: Vec<String>,
    /// What could not be read.
    pub unreadable: Unreadable,
}

/// One line of a relationship's history.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryItem {
    /// "goal", "goal-joined" (a friend's goal I took up), "ritual", "ritual-done", "checkin",
    /// "interaction", "thanks", "boundary", "reflection".
    pub kind: &'static str,
    /// The record's id.
    pub id: Id,
    /// The day it is about.
    pub day: Day,
    /// Whether it is shared.
    pub shared: bool,
    /// One line about it.
    pub summary: String,
    /// The record itself.
    pub record: serde_json::Value,
}

/// Everything recorded about one relationship, newest first.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryPage {
    /// The relationship.
    pub relationship: String,
    /// What I call them.
    pub name: String,
    /// The items.
    pub items: Vec<HistoryItem>,
    /// What could not be read.
    pub unreadable: Unreadable,
}

/// Who ended the pairing with `rel`, and when, in words.
pub fn pairing_ended(rel: &Relationship) -> Option<String> {
    let p = rel.peer.as_ref()?;
    match (p.ended, p.unpaired) {
        (Some(at), _) => Some(crate::words::they_ended(&rel.name, at)),
        (None, Some(at)) => Some(crate::words::you_ended(at)),
        (None, None) => None,
    }
}

/// Whether my replica of `rel`'s side is verified, and as of when: signed by one of the devices
/// it was paired with (a pairing since ended leaves what was verified verified, as of then).
fn verification(store: &Store, rel_id: Id, rel: &Relationship) -> Result<Verification> {
    use tapin_net::sync::StoredHeads;
    let replica = store.load(&DocId::Replica(rel_id))?;
    let stored: Option<StoredHeads> = store
        .get_meta(tapin_store::MetaKey::ReplicaHeads(rel_id))?
        .and_then(|b| serde_json::from_slice(&b).ok());
    Ok(Verification {
        verified: match (&stored, &replica) {
            (Some(s), Some(d)) => {
                s.signed.verify(d)
                    && rel
                        .peer
                        .as_ref()
                        .is_some_and(|p| p.devices.contains_key(&s.signed.device))
            }
            _ => false,
        },
        device: stored.as_ref().map(|s| s.signed.device.clone()),
        as_of: stored.as_ref().map(|s| s.at),
    })
}

fn goal_items(recs: &SideRecords, shared: bool) -> impl Iterator<Item = GoalItem> + '_ {
    recs.goals.iter().map(move |(id, goal)| GoalItem {
        id: *id,
        shared,
        goal: goal.clone(),
    })
}

/// The day a boundary was set: as its writer recorded it, or, for one written before
/// boundaries had a day, the local day of when it was written.
pub(crate) fn boundary_day(b: &Boundary) -> Day {
    b.on.unwrap_or_else(|| day_of(b.created))
}

/// The local calendar day of an instant.
fn day_of(ts: Timestamp) -> Day {
    Day(ts.to_datetime().with_timezone(&chrono::Local).date_naive())
}

impl Home {
    /// One relationship on one page: what `show` prints and the report draws.
    pub fn relationship_page(&self, person: &str) -> Result<RelationshipPage> {
        self.read(|r| self.page_of(r, person))
    }

    /// [`Home::relationship_page`], within a use case's read.
    pub(crate) fn page_of(&self, r: &mut Reader<'_>, person: &str) -> Result<RelationshipPage> {
        let today = self.today();
        let private = r.private()?;
        let both = BothSides::load(r, &private, person)?;
        let (shared, kept, replica) = (&both.shared, &both.kept, &both.replica);
        let theirs = both.theirs();
        let rel = &both.rel;

        // A mutual goal is shown once, as mutual, not again among mine or theirs.
        let mutual = mutual_goals(shared, kept, theirs);
        let is_mutual = |g: &GoalItem| mutual.iter().any(|m| m.goal_id == g.id);
        let mut my_goals: Vec<GoalItem> = goal_items(shared, true)
            .chain(goal_items(kept, false))
            .filter(|g| !is_mutual(g))
            .collect();
        my_goals.sort_by_key(|g| (!g.goal.status.is_open(), g.goal.created));
        let mut their_goals: Vec<GoalItem> = goal_items(replica, true)
            .filter(|g| !is_mutual(g))
            .collect();
        their_goals.sort_by_key(|g| (!g.goal.status.is_open(), g.goal.created));

        let places = [
            ("mine", shared, true),
            ("mine", kept, false),
            ("theirs", replica, true),
        ];
        let mut rituals = Vec::new();
        let mut checkins = Vec::new();
        let mut boundaries = Vec::new();
        for (whose, recs, is_shared) in places {
            for (rid, ritual) in &recs.rituals {
                let mut recent = ritual.occurrences.clone();
                recent.sort();
                recent.reverse();
                recent.truncate(3);
                rituals.push(RitualItem {
                    id: *rid,
                    whose,
                    shared: is_shared,
                    title: ritual.title.clone(),
                    schedule: schedule(ritual, today),
                    recent,
                    ritual: ritual.clone(),
                });
            }
            checkins.extend(recs.checkins.values().map(|c| CheckInItem {
                whose,
                shared: is_shared,
                checkin: c.clone(),
            }));
            boundaries.extend(recs.boundaries.values().map(|b: &Boundary| BoundaryItem {
                whose,
                on: boundary_day(b),
                text: b.text.clone(),
            }));
        }
        checkins.sort_by_key(|c| std::cmp::Reverse(c.checkin.on));
        checkins.truncate(5);
        let mut thanks: Vec<ThanksItem> =
            [("given", shared), ("given", kept), ("received", replica)]
                .into_iter()
                .flat_map(|(direction, recs)| {
                    recs.thanks.values().map(move |t: &Thanks| ThanksItem {
                        direction,
                        on: t.on,
                        text: t.text.clone(),
                    })
                })
                .collect();
        thanks.sort_by_key(|t| std::cmp::Reverse(t.on));
        thanks.truncate(6);

        let latest = latest_reflection(private.reflections.iter().map(|(k, r)| (*k, r)), both.id);
        Ok(RelationshipPage {
            relationship: both.id.to_string(),
            name: rel.name.clone(),
            paired: rel.is_paired(),
            friend: rel.peer.as_ref().map(|p| p.name.clone()),
            pairing_ended: pairing_ended(rel),
            touch: touch::touch_status(rel, both.last_contact(), today, &chrono::Local),
            my_goals,
            their_goals,
            mutual_goals: mutual,
            rituals,
            checkins,
            thanks,
            boundaries,
            reciprocity: reciprocity(&[shared, kept], theirs, today),
            red_flags: RedFlags {
                last_reflected: latest.map(|(_, r)| r.at.0),
                flags: latest.map(|(_, r)| red_flags(r)).unwrap_or_default(),
            },
            their_side: verification(r.store(), both.id, rel)?,
            last_exchange: LastExchange::of(r.store(), both.id)?,
            unreadable: both.unreadable(),
            me: self.name.clone(),
            today,
        })
    }

    /// The daily glance across all relationships.
    pub fn today_page(&self) -> Result<TodayPage> {
        let day = self.today();
        self.read(|r| {
            let private = r.private()?;
            let mut unreadable = Unreadable {
                mine: private.unreadable(),
                ..Unreadable::default()
            };
            let mut loaded = Vec::new();
            for (&id, rel) in &private.relationships {
                let theirs = r.replica(id)?;
                unreadable.add_theirs(id, &rel.name, &theirs);
                let shared = r.side(id)?;
                unreadable.mine += shared.unreadable();
                let kept = private.records.get(&id).cloned().unwrap_or_default();
                let theirs = (!theirs.records.is_empty()).then_some(theirs.records);
                loaded.push((id, rel, shared, kept, theirs));
            }
            let inputs: Vec<RelationshipInput<'_>> = loaded
                .iter()
                .map(|(id, rel, shared, kept, theirs)| RelationshipInput {
                    id: *id,
                    rel,
                    mine: vec![shared, kept],
                    theirs: theirs.as_ref(),
                    last_reflection: private
                        .reflections
                        .values()
                        .filter(|r| r.relationship == *id)
                        .map(|r| r.at)
                        .max(),
                })
                .collect();
            let recent = self.stamp().0 - 14 * 86_400_000;
            let pairings_ended = private
                .relationships
                .values()
                .filter_map(|rel| {
                    let at = rel.peer.as_ref()?.ended?;
                    (at.0 >= recent).then(|| crate::words::they_ended(&rel.name, at))
                })
                .collect();
            Ok(TodayPage {
                today: today(&inputs, day, &chrono::Local),
                pairings_ended,
                unreadable,
            })
        })
    }

    /// Everything recorded about one relationship, newest first, at most `limit` items.
    pub fn history(&self, person: &str, limit: usize) -> Result<HistoryPage> {
        self.read(|r| {
            let private = r.private()?;
            let (rel_id, rel) = find_person(&private, person)?;
            let side = r.side(rel_id)?;
            let mut unreadable = Unreadable {
                mine: side.unreadable(),
                ..Unreadable::default()
            };
            let mut items = Vec::new();
            if let Some(recs) = private.records.get(&rel_id) {
                unreadable.mine += recs.unreadable();
                items_of(Place::Private(rel_id), recs, &mut items);
            }
            items_of(Place::Shared(rel_id), &side, &mut items);
            for (id, reflection) in private
                .reflections
                .iter()
                .filter(|(_, r)| r.relationship == rel_id)
            {
                let flags = red_flags(reflection).len();
                let summary = match flags {
                    0 => "reflection".to_owned(),
                    1 => "reflection (1 red flag)".to_owned(),
                    n => format!("reflection ({n} red flags)"),
                };
                items.push(HistoryItem {
                    kind: "reflection",
                    id: *id,
                    day: day_of(reflection.at),
                    shared: false,
                    summary,
                    record: json(reflection),
                });
            }
            items.sort_by(|a, b| b.day.cmp(&a.day).then(a.kind.cmp(b.kind)));
            items.truncate(limit);
            Ok(HistoryPage {
                relationship: rel_id.to_string(),
                name: rel.name,
                items,
                unreadable,
            })
        })
    }
}

/// A record as JSON; records are plain data, so this cannot fail in practice.
fn json(value: &impl Serialize) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

fn items_of(place: Place, recs: &SideRecords, out: &mut Vec<HistoryItem>) {
    let shared = place.is_shared();
    let mut push = |kind, id: &Id, day, summary: String, record: serde_json::Value| {
        out.push(HistoryItem {
            kind,
            id: *id,
            day,
            shared,
            summary,
            record,
        });
    };
    for (id, g) in &recs.goals {
        let (d, t) = g.progress();
        let status = crate::words::goal_status(g.status);
        let summary = format!(
            "goal {:?} ({status}, {})",
            g.title,
            crate::words::steps(d, t)
        );
        push("goal", id, day_of(g.created), summary, json(g));
    }
    for (id, j) in &recs.joins {
        let (d, t) = (
            j.objectives.values().filter(|o| o.done).count(),
            j.objectives.len(),
        );
        let mut summary = format!("took up their goal {:?} ({d}/{t} of your steps", j.title);
        if j.left.is_some() {
            summary += ", left";
        } else if j.achieved.is_some() {
            summary += ", your part achieved";
        }
        summary += ")";
        push("goal-joined", id, day_of(j.joined), summary, json(j));
    }
    for (id, r) in &recs.rituals {
        let started = format!("ritual {:?} started", r.title);
        push("ritual", id, r.start, started, json(r));
        for day in &r.occurrences {
            let kept = format!("ritual {:?} kept", r.title);
            push("ritual-done", id, *day, kept, serde_json::Value::Null);
        }
    }
    for (id, c) in &recs.checkins {
        let mut s = format!("check-in, rated {}/5", c.rating);
        if !c.went_well.is_empty() {
            s += &format!("; went well: {}", c.went_well);
        }
        if !c.to_change.is_empty() {
            s += &format!("; to change: {}", c.to_change);
        }
        push("checkin", id, c.on, s, json(c));
    }
    for (id, i) in &recs.interactions {
        let mut summary = match &i.by {
            Initiator::Me => "you reached out".to_owned(),
            Initiator::Them => "they reached out".to_owned(),
            other => format!("reached out ({})", other.json_name().replace('-', " ")),
        };
        let how = crate::words::how(i.via, i.reason);
        if !how.is_empty() {
            summary += &format!(" ({how})");
        }
        if !i.note.is_empty() {
            summary += &format!(": {}", i.note);
        }
        push("interaction", id, i.on, summary, json(i));
    }
    for (id, t) in &recs.thanks {
        push("thanks", id, t.on, format!("thanks: {}", t.text), json(t));
    }
    for (id, b) in &recs.boundaries {
        let summary = format!("boundary: {}", b.text);
        push("boundary", id, boundary_day(b), summary, json(b));
    }
}
