//! The records a person keeps, as they are stored in automerge documents.
//!
//! Each type derives autosurgeon's [`Reconcile`] and [`Hydrate`] (to and from the document) and
//! serde (for the JSON export and `--json` output). Fields added after the first release carry
//! `#[autosurgeon(missing = ...)]` so older documents still hydrate.
//!
//! The compatibility contract (docs/FORMAT.md) shapes every type here:
//!
//! - A field is added, never changed in type or meaning. A record written by a newer tapin may
//!   hold fields this build does not know: hydrating ignores them, and writing the record back
//!   (a derived `Reconcile` puts field by field into the existing map) leaves them in place.
//! - Maps of records are [`Records`]: read one by one, so an unreadable record is skipped and
//!   counted, and written back as a patch that never touches what could not be read.
//! - Enums are open ([`crate::variant`]): a variant added by a newer tapin reads as `Unknown`,
//!   is shown by its name, and is written back unchanged.
//! - Every record [`Validate`]s: ranges when read, lengths too when written.
//!
//! Where a record lives decides who may see it, not a field on the record: the same
//! [`SideRecords`] shape is used for a relationship's shared side document and for its private
//! records inside the private document (see [`crate::docs`]).

use std::collections::BTreeMap;

use automerge::{ObjId, ObjType, Value, ValueRef};
use autosurgeon::{Hydrate, HydrateError, Prop, ReadDoc, Reconcile, Reconciler};
use serde::{Deserialize, Serialize};

use crate::identity::DeviceId;
use crate::ids::Id;
pub use crate::records::{Records, Unreadable};
use crate::time::{Day, Interval, Timestamp};
use crate::validate::{
    self, Invalid, MAX_ENTRY, MAX_ITEMS, MAX_NAME, MAX_OCCURRENCES, MAX_TAG, MAX_TEXT, MAX_TITLE,
    Mode, Validate,
};
use crate::variant::{VariantName, open_enum};

/// One relationship a person wants to nurture. It exists with or without a paired device.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Relationship {
    /// The name the person uses for them.
    pub name: String,
    /// How much it matters, 1 (a little) to 5 (most).
    pub importance: u8,
    /// How likely it is to weaken.
    pub risk: Risk,
    /// The ideal and maximum interval between contacts, if the person set one.
    pub rhythm: Option<Rhythm>,
    /// Active, archived or ended.
    pub status: RelationshipStatus,
    /// When it was added.
    pub created: Timestamp,
    /// Nudges about this relationship are quiet until this day.
    #[autosurgeon(missing = "Option::default")]
    #[serde(default)]
    pub snoozed_until: Option<Day>,
    /// The friend's identity and devices, once paired.
    #[autosurgeon(missing = "Option::default")]
    #[serde(default)]
    pub peer: Option<Peer>,
}

impl Relationship {
    /// The friend's devices allowed to connect: none unless paired and not unpaired since.
    pub fn paired_devices(&self) -> impl Iterator<Item = (&str, &PeerDevice)> {
        self.peer
            .iter()
            .filter(|p| p.is_current())
            .flat_map(|p| p.devices.iter().map(|(id, d)| (id.as_str(), d)))
    }

    /// The relationship's status for what it means here: one this build does not know (written
    /// by a newer tapin) counts as archived, so it is shown but never nagged about.
    pub fn is_active(&self) -> bool {
        self.status == RelationshipStatus::Active
    }

    /// Whether the relationship is currently paired.
    pub fn is_paired(&self) -> bool {
        self.peer.as_ref().is_some_and(Peer::is_current)
    }
}

/// The friend on the other side of a paired relationship.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Peer {
    /// Their person key, hex.
    pub person: String,
    /// Their display name, as they gave it.
    pub name: String,
    /// Their devices, by device key (hex).
    pub devices: Records<PeerDevice, String>,
    /// When the pairing happened.
    pub paired: Timestamp,
    /// When this side ended the pairing; nothing syncs after it.
    pub unpaired: Option<Timestamp>,
    /// When this side ended it with a notice: what its devices answer the friend's at their next
    /// contact, the close reason carrying the signed notice
    /// ([`crate::pairing::EndNotice::close_reason`]). `None` when it was ended quietly (`unpair
    /// --quietly`), or is not ended.
    #[autosurgeon(missing = "Option::default")]
    #[serde(default)]
    pub notice: Option<String>,
    /// When the friend ended the pairing, as their signed notice says (verified against their
    /// person key before it is stored): nothing syncs after it, and this side stops dialling.
    #[autosurgeon(missing = "Option::default")]
    #[serde(default)]
    pub ended: Option<Timestamp>,
}

impl Peer {
    /// Whether the pairing still holds: neither side ended it.
    pub fn is_current(&self) -> bool {
        self.unpaired.is_none() && self.ended.is_none()
    }
}

/// One of the friend's devices.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct PeerDevice {
    /// What they call it.
    pub name: String,
    /// Its certificate from their person key, hex (checked when it was added).
    pub cert: String,
    /// The addresses it was last known at.
    pub addrs: Vec<String>,
    /// When it was added.
    pub added: Timestamp,
    /// The URL of its home relay, when it uses one (learned at pairing, kept current by sync).
    #[autosurgeon(missing = "Option::default")]
    #[serde(default)]
    pub relay: Option<String>,
}

open_enum! {
    /// How likely a relationship is to weaken: neglect, imbalance, distance.
    #[derive(PartialOrd, Ord)]
    pub enum Risk {
        /// Unlikely to weaken.
        Low,
        /// Could weaken.
        Medium,
        /// Likely to weaken without attention.
        High,
    }
}

open_enum! {
    /// Where a relationship stands.
    pub enum RelationshipStatus {
        /// Being nurtured.
        Active,
        /// Set aside for now; hidden from nudges.
        Archived,
        /// Ended, after open dialogue showed it is no longer right. Its history stays.
        Ended,
    }
}

/// The staying-in-touch rhythm of a relationship.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Rhythm {
    /// After this long without contact the relationship is due.
    pub ideal: Interval,
    /// After this long without contact it is overdue.
    pub max: Interval,
}

/// One of the four paired reflection questions, answered.
#[derive(Debug, Clone, PartialEq, Eq, Default, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct PairedAnswer {
    /// "A": how the other person shows up for me.
    pub about_them: String,
    /// "B": how I show up for them.
    pub about_me: String,
}

/// A reflection on one relationship: the four paired questions, answered at one time.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Reflection {
    /// The relationship reflected on.
    pub relationship: Id,
    /// When.
    pub at: Timestamp,
    /// Answers to questions 1–4, in order (always four; a missing one reads as unanswered).
    pub answers: Vec<PairedAnswer>,
    /// A free note.
    pub note: String,
}

impl Reflection {
    /// The answer to question `n` (1–4); unanswered if missing.
    pub fn answer(&self, n: usize) -> PairedAnswer {
        n.checked_sub(1)
            .and_then(|i| self.answers.get(i))
            .cloned()
            .unwrap_or_default()
    }
}

/// The four paired questions, in the words people are asked them (A about them, B about me).
pub const QUESTIONS: [(&str, &str); 4] = [
    (
        "Is this who I (want to) call when I'm deeply stressed or need attention right away?",
        "Do I make myself available to them when they are in a similar state?",
    ),
    (
        "Is their response to me typically empathetic and supportive?",
        "Am I able to respond the same way when they come to me for help?",
    ),
    (
        "Do they reach out just because — to brighten my day, or to let me know I'm on their mind?",
        "How often do I do the same for them?",
    ),
    (
        "How do I usually feel after spending time around them?",
        "What sense do I have of how they feel after spending time around me?",
    ),
];

open_enum! {
    /// What a person wants from a relationship through a goal.
    pub enum GoalKind {
        /// Emotional support.
        EmotionalSupport,
        /// Shared experiences.
        SharedExperience,
        /// Practical help.
        PracticalHelp,
        /// Anything else.
        Other,
    }
}

open_enum! {
    /// Where a goal stands after the last reassessment.
    pub enum GoalStatus {
        /// Being worked on.
        Active,
        /// Reached — worth celebrating.
        Achieved,
        /// Reworked and still being worked on.
        Adjusted,
        /// Let go.
        Dropped,
    }
}

impl GoalStatus {
    /// Whether the goal is still in play.
    pub fn is_open(self) -> bool {
        matches!(self, GoalStatus::Active | GoalStatus::Adjusted)
    }
}

/// A concrete aim for one relationship.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Goal {
    /// What: "communicate more openly".
    pub title: String,
    /// Why it matters.
    pub why: String,
    /// What kind of support or time it is about.
    pub kind: GoalKind,
    /// The end of its timeframe, if it has one.
    pub by: Option<Day>,
    /// Where it stands.
    pub status: GoalStatus,
    /// Its action steps, by id.
    pub objectives: Records<Objective>,
    /// When it was set.
    pub created: Timestamp,
    /// When it was last changed.
    pub updated: Timestamp,
}

/// One action step of a goal.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Objective {
    /// "Ask how their day went".
    pub text: String,
    /// Whether it is done.
    pub done: bool,
    /// When it was added (orders the steps).
    pub created: Timestamp,
    /// When it was marked done.
    pub done_at: Option<Timestamp>,
}

impl Goal {
    /// The objectives in the order they were added.
    pub fn steps(&self) -> Vec<(Id, &Objective)> {
        let mut steps: Vec<_> = self.objectives.iter().map(|(id, o)| (*id, o)).collect();
        steps.sort_by_key(|(id, o)| (o.created, *id));
        steps
    }

    /// Whether its timeframe ended before `today` while it is still open (active or
    /// adjusted): what lists mark as overdue.
    pub fn is_overdue(&self, today: Day) -> bool {
        self.status.is_open() && self.by.is_some_and(|by| by < today)
    }

    /// (done, total) objectives.
    pub fn progress(&self) -> (usize, usize) {
        let done = self.objectives.values().filter(|o| o.done).count();
        (done, self.objectives.len())
    }
}

/// How often a ritual recurs.
///
/// Stored as a map with one key, the variant's name, holding its fields
/// (`{"MonthlyOn": {"day": 4}}`); in JSON as `{"every": "monthly-on", "day": 4}`. A variant added
/// by a newer tapin reads as [`Recurrence::Unknown`]: the ritual is still shown (without a
/// schedule), and writing the ritual back leaves the stored recurrence exactly as it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recurrence {
    /// Monthly on a day of the month (1–31); a day the month lacks falls on its last day.
    MonthlyOn {
        /// Day of the month.
        day: u8,
    },
    /// Weekly on a weekday (0 = Monday … 6 = Sunday).
    WeeklyOn {
        /// Days since Monday.
        weekday: u8,
    },
    /// Every N days from the ritual's start.
    EveryDays {
        /// Period length in days (at least 1).
        days: u32,
    },
    /// A recurrence written by a newer tapin, by its stored name; its fields stay in the
    /// document.
    Unknown(VariantName),
}

impl Recurrence {
    /// The name as stored in documents (`"MonthlyOn"`).
    pub fn stored_name(&self) -> &str {
        match self {
            Recurrence::MonthlyOn { .. } => "MonthlyOn",
            Recurrence::WeeklyOn { .. } => "WeeklyOn",
            Recurrence::EveryDays { .. } => "EveryDays",
            Recurrence::Unknown(name) => name.stored(),
        }
    }

    /// Whether this build knows the variant (and so can compute a schedule for it).
    pub fn is_known(&self) -> bool {
        !matches!(self, Recurrence::Unknown(_))
    }
}

/// The fields of a stored recurrence, as one map.
#[derive(Hydrate)]
struct RecurrenceFields {
    #[autosurgeon(missing = "Option::default")]
    day: Option<u8>,
    #[autosurgeon(missing = "Option::default")]
    weekday: Option<u8>,
    #[autosurgeon(missing = "Option::default")]
    days: Option<u32>,
}

impl Hydrate for Recurrence {
    fn hydrate_map<D: ReadDoc>(doc: &D, obj: &ObjId) -> Result<Self, HydrateError> {
        let missing = |field: &str, variant: &str| {
            HydrateError::unexpected(format!("{variant}.{field}"), "nothing".to_owned())
        };
        for known in ["MonthlyOn", "WeeklyOn", "EveryDays"] {
            if doc.get(obj, known)?.is_none() {
                continue;
            }
            let f = RecurrenceFields::hydrate(doc, obj, Prop::Key(known.into()))?;
            return match known {
                "MonthlyOn" => Ok(Recurrence::MonthlyOn {
                    day: f.day.ok_or_else(|| missing("day", known))?,
                }),
                "WeeklyOn" => Ok(Recurrence::WeeklyOn {
                    weekday: f.weekday.ok_or_else(|| missing("weekday", known))?,
                }),
                _ => Ok(Recurrence::EveryDays {
                    days: f.days.ok_or_else(|| missing("days", known))?,
                }),
            };
        }
        let first = doc
            .map_range(obj, ..)
            .next()
            .map(|item| item.key.into_owned());
        match first.as_deref().and_then(VariantName::from_stored) {
            Some(name) => Ok(Recurrence::Unknown(name)),
            None => Err(HydrateError::unexpected(
                "a recurrence",
                first.unwrap_or_else(|| "an empty map".to_owned()),
            )),
        }
    }
}

impl Reconcile for Recurrence {
    type Key<'a> = autosurgeon::reconcile::NoKey;

    fn reconcile<R: Reconciler>(&self, mut reconciler: R) -> Result<(), R::Error> {
        use autosurgeon::reconcile::MapReconciler;
        // An unknown recurrence is left exactly as stored: this build cannot write its fields.
        if let Recurrence::Unknown(_) = self {
            return Ok(());
        }
        let name = self.stored_name();
        let mut map = reconciler.map()?;
        map.retain(|key, _| key == name)?;
        match *self {
            Recurrence::MonthlyOn { day } => map.put(name, FieldU64("day", u64::from(day))),
            Recurrence::WeeklyOn { weekday } => {
                map.put(name, FieldU64("weekday", u64::from(weekday)))
            }
            Recurrence::EveryDays { days } => map.put(name, FieldU64("days", u64::from(days))),
            Recurrence::Unknown(_) => Ok(()),
        }
    }
}

/// A map of one unsigned field, as a known recurrence's fields are stored.
struct FieldU64(&'static str, u64);

impl Reconcile for FieldU64 {
    type Key<'a> = autosurgeon::reconcile::NoKey;

    fn reconcile<R: Reconciler>(&self, mut reconciler: R) -> Result<(), R::Error> {
        use autosurgeon::reconcile::MapReconciler;
        let mut map = reconciler.map()?;
        map.put(self.0, self.1)
    }
}

/// Recurrence as JSON: `{"every": "monthly-on", "day": 4}`.
#[derive(Serialize, Deserialize)]
struct RecurrenceJson {
    every: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    day: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    weekday: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    days: Option<u32>,
}

impl Serialize for Recurrence {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut json = RecurrenceJson {
            every: crate::variant::to_kebab(self.stored_name()),
            day: None,
            weekday: None,
            days: None,
        };
        match *self {
            Recurrence::MonthlyOn { day } => json.day = Some(day),
            Recurrence::WeeklyOn { weekday } => json.weekday = Some(weekday),
            Recurrence::EveryDays { days } => json.days = Some(days),
            Recurrence::Unknown(_) => {}
        }
        json.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Recurrence {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;

        fn need<T, E: serde::de::Error>(v: Option<T>, every: &str, field: &str) -> Result<T, E> {
            v.ok_or_else(|| E::custom(format!("a {every} recurrence needs {field:?}")))
        }
        let json = RecurrenceJson::deserialize(d)?;
        let every = json.every.as_str();
        match every {
            "monthly-on" => Ok(Recurrence::MonthlyOn {
                day: need(json.day, every, "day")?,
            }),
            "weekly-on" => Ok(Recurrence::WeeklyOn {
                weekday: need(json.weekday, every, "weekday")?,
            }),
            "every-days" => Ok(Recurrence::EveryDays {
                days: need(json.days, every, "days")?,
            }),
            other => VariantName::from_json(other)
                .map(Recurrence::Unknown)
                .ok_or_else(|| {
                    D::Error::custom(format!(
                        "{:?} is not a recurrence (expected monthly-on, weekly-on or every-days)",
                        other.chars().take(40).collect::<String>()
                    ))
                }),
        }
    }
}

/// Recurring, deliberately simple time together.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Ritual {
    /// "One-on-one time".
    pub title: String,
    /// How often.
    pub recurrence: Recurrence,
    /// About how long, in minutes.
    pub minutes: Option<u32>,
    /// What keeps it easy: "no vehicle travel", "no money spent".
    pub guidelines: Vec<String>,
    /// The first day it applies.
    pub start: Day,
    /// The days it happened.
    pub occurrences: Vec<Day>,
    /// Whether it was retired.
    pub retired: bool,
}

/// One goal reviewed in a check-in.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct GoalReview {
    /// The goal reviewed.
    pub goal: Id,
    /// The status it was given.
    pub status: GoalStatus,
    /// A note.
    pub note: String,
}

/// A regular check-in: evaluate progress, celebrate, reassess.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct CheckIn {
    /// The day it took place.
    pub on: Day,
    /// How it felt, 1 to 5.
    pub rating: u8,
    /// What went well.
    pub went_well: String,
    /// What to change.
    pub to_change: String,
    /// Goals reviewed.
    pub reviews: Vec<GoalReview>,
    /// Principles it refers to.
    pub principles: Vec<Principle>,
    /// When it was recorded.
    pub created: Timestamp,
}

open_enum! {
    /// Who reached out.
    pub enum Initiator {
        /// I reached out.
        Me,
        /// They reached out.
        Them,
    }
}

open_enum! {
    /// How an interaction happened.
    pub enum Channel {
        /// A phone or voice call.
        Call,
        /// A video call.
        Video,
        /// A text or chat message.
        Text,
        /// Time in person.
        InPerson,
        /// A letter, card or email.
        Letter,
        /// Anything else.
        Other,
    }
}

open_enum! {
    /// Why someone reached out.
    pub enum Reason {
        /// To brighten their day.
        JustBecause,
        /// Support in a hard moment.
        Support,
        /// Making a plan.
        Plan,
        /// A celebration.
        Celebration,
        /// Anything else.
        Other,
    }
}

/// One contact, logged from the author's side.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Interaction {
    /// The day.
    pub on: Day,
    /// Who reached out.
    pub by: Initiator,
    /// How.
    pub via: Channel,
    /// Why.
    pub reason: Reason,
    /// A note.
    pub note: String,
    /// When it was logged.
    pub created: Timestamp,
}

/// An appreciation note: "thank you for …".
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Thanks {
    /// The day.
    pub on: Day,
    /// What for.
    pub text: String,
    /// When it was written.
    pub created: Timestamp,
}

/// A boundary the person wants the other to know.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Boundary {
    /// The day it was set, in the writer's calendar. Added in issue 13: absent in boundaries
    /// written before, whose day is that of `created`.
    #[autosurgeon(missing = "Option::default")]
    #[serde(default)]
    pub on: Option<Day>,
    /// The boundary, in the person's words.
    pub text: String,
    /// When it was written.
    pub created: Timestamp,
}

open_enum! {
    /// A principle that check-ins and journal entries can refer to.
    #[derive(PartialOrd, Ord)]
    pub enum Principle {
        /// Authenticity.
        Authenticity,
        /// Active listening and empathy.
        ActiveListening,
        /// Honest, respectful communication.
        HonestCommunication,
        /// Appreciation and gratitude.
        Appreciation,
        /// Support and encouragement.
        Support,
        /// Flexibility and compromise.
        Flexibility,
        /// Respect for boundaries.
        Boundaries,
        /// Investing time and effort.
        Investment,
        /// Accepting imperfection.
        AcceptingImperfection,
        /// Welcoming vulnerability.
        Vulnerability,
        /// Celebrating diversity.
        Diversity,
        /// Active positivity.
        Positivity,
        /// Trust and reliability (keeping commitments).
        Trust,
    }
}

/// An entry in the private journal.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct JournalEntry {
    /// When it was written.
    pub at: Timestamp,
    /// The entry.
    pub text: String,
    /// Tags, without the `@`, lowercase.
    pub tags: Vec<String>,
    /// The relationships it is about.
    pub about: Vec<Id>,
    /// Starred entries stand out.
    pub starred: bool,
    /// Principles it refers to.
    #[autosurgeon(missing = "Vec::new")]
    #[serde(default)]
    pub principles: Vec<Principle>,
}

/// The records of one relationship that a person keeps on one side of the privacy line.
///
/// A relationship has two of these: the shared side (its own document, the only thing a paired
/// friend may ever receive) and the private records (inside the private document). Which one a
/// record is written to is the whole of "sharing".
///
/// Read with [`Hydrate`], collection by collection, each a [`Records`]. A collection this build
/// does not know (a kind of record added by a newer tapin) is not read, only counted in
/// [`SideRecords::other_kinds`]. There is deliberately no `Reconcile`: records are written one by
/// one ([`crate::docs::put_record`]), never by replacing a whole collection.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SideRecords {
    /// Goals, by id.
    #[serde(default)]
    pub goals: Records<Goal>,
    /// Rituals, by id.
    #[serde(default)]
    pub rituals: Records<Ritual>,
    /// Check-ins, by id.
    #[serde(default)]
    pub checkins: Records<CheckIn>,
    /// Interactions, by id.
    #[serde(default)]
    pub interactions: Records<Interaction>,
    /// Thanks notes, by id.
    #[serde(default)]
    pub thanks: Records<Thanks>,
    /// Boundaries, by id.
    #[serde(default)]
    pub boundaries: Records<Boundary>,
    /// Goals of the friend's that this person took up, by id.
    #[serde(default)]
    pub joins: Records<GoalJoin>,
    /// Collections of a kind this build does not know, by name, with how many records each
    /// holds. Not exported: the automerge export keeps them.
    #[serde(skip)]
    pub other_kinds: BTreeMap<String, usize>,
}

/// The keys of a side's root (or of a relationship's private records) that are not collections.
const SIDE_FIELDS: [&str; 2] = ["schema", "relationship"];

impl Hydrate for SideRecords {
    fn hydrate_map<D: ReadDoc>(doc: &D, obj: &ObjId) -> Result<Self, HydrateError> {
        fn read<D: ReadDoc, T: Hydrate + Default>(
            doc: &D,
            obj: &ObjId,
            key: &str,
        ) -> Result<T, HydrateError> {
            match doc.get(obj, key)? {
                Some((Value::Object(ObjType::Map), _)) => {
                    T::hydrate(doc, obj, Prop::Key(key.to_owned().into()))
                }
                // Absent (a collection added after the document was laid out), or not a map:
                // nothing this build can read.
                _ => Ok(T::default()),
            }
        }
        let mut records = SideRecords {
            goals: read(doc, obj, "goals")?,
            rituals: read(doc, obj, "rituals")?,
            checkins: read(doc, obj, "checkins")?,
            interactions: read(doc, obj, "interactions")?,
            thanks: read(doc, obj, "thanks")?,
            boundaries: read(doc, obj, "boundaries")?,
            joins: read(doc, obj, "joins")?,
            other_kinds: BTreeMap::new(),
        };
        let known = crate::docs::Collection::ALL.map(|c| c.key());
        for item in doc.map_range(obj, ..) {
            let key = item.key.as_ref();
            if known.contains(&key) || SIDE_FIELDS.contains(&key) {
                continue;
            }
            if let ValueRef::Object(ObjType::Map) = item.value {
                let n = doc.length(item.id());
                records
                    .other_kinds
                    .insert(key.chars().take(64).collect(), n);
            }
        }
        Ok(records)
    }
}

/// Taking up a goal the friend shared: a record in *my* side that refers to *their* goal. The
/// goal becomes mutual once both sides are synced; neither side ever writes the other's document.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct GoalJoin {
    /// The id of the friend's goal, in their side.
    pub goal: Id,
    /// Its title when joined (so the join reads well even before their side syncs).
    pub title: String,
    /// My own steps toward it.
    pub objectives: Records<Objective>,
    /// When I took it up.
    pub joined: Timestamp,
    /// When I left it, if I did.
    pub left: Option<Timestamp>,
    /// When I marked my part of it achieved, if I did (the goal itself is the friend's to
    /// reassess). Added in issue 13: absent in older documents and read as null; an older tapin
    /// does not read it and keeps it when it writes the join back.
    #[autosurgeon(missing = "Option::default")]
    #[serde(default)]
    pub achieved: Option<Timestamp>,
}

impl SideRecords {
    /// Whether nothing is recorded (that this build can read).
    pub fn is_empty(&self) -> bool {
        self.goals.is_empty()
            && self.rituals.is_empty()
            && self.checkins.is_empty()
            && self.interactions.is_empty()
            && self.thanks.is_empty()
            && self.boundaries.is_empty()
            && self.joins.is_empty()
    }

    /// How many records these hold that this build could not read: unreadable records in the
    /// known collections, and every record of a kind it does not know.
    pub fn unreadable(&self) -> usize {
        self.goals.unreadable().len()
            + self.rituals.unreadable().len()
            + self.checkins.unreadable().len()
            + self.interactions.unreadable().len()
            + self.thanks.unreadable().len()
            + self.boundaries.unreadable().len()
            + self.joins.unreadable().len()
            + self.other_kinds.values().sum::<usize>()
    }
}

// Validation: what every record must satisfy (see `crate::validate` for the two modes).

impl Validate for Relationship {
    fn validate(&self, mode: Mode) -> Result<(), Invalid> {
        validate::text("name", &self.name, MAX_NAME, true, mode)?;
        validate::range("importance", self.importance, 1, 5)?;
        self.rhythm.validate(mode)?;
        if let Some(day) = self.snoozed_until {
            validate::day("snoozed_until", day)?;
        }
        self.peer.validate(mode).map_err(|e| e.within("peer"))
    }
}

impl Validate for Rhythm {
    fn validate(&self, _mode: Mode) -> Result<(), Invalid> {
        validate::interval("rhythm.ideal", self.ideal)?;
        validate::interval("rhythm.max", self.max)?;
        if self.max < self.ideal {
            return Err(Invalid::new(
                "rhythm.max",
                format!("{} is shorter than the ideal {}", self.max, self.ideal),
            ));
        }
        Ok(())
    }
}

impl Validate for Peer {
    fn validate(&self, mode: Mode) -> Result<(), Invalid> {
        self.person
            .parse::<crate::identity::PersonId>()
            .map_err(|e| Invalid::new("person", e))?;
        validate::text("name", &self.name, MAX_NAME, false, mode)?;
        if let Some(notice) = &self.notice {
            validate::text(
                "notice",
                notice,
                crate::pairing::MAX_CLOSE_REASON,
                false,
                mode,
            )?;
        }
        for (key, device) in self.devices.iter() {
            key.parse::<DeviceId>()
                .map_err(|e| Invalid::new(format!("devices.{key}"), e))?;
            device
                .validate(mode)
                .map_err(|e| e.within(format_args!("devices.{key}")))?;
        }
        Ok(())
    }
}

impl Validate for PeerDevice {
    fn validate(&self, mode: Mode) -> Result<(), Invalid> {
        validate::text("name", &self.name, MAX_NAME, false, mode)?;
        validate::count("addrs", self.addrs.len(), MAX_ITEMS, mode)?;
        if mode == Mode::Input {
            for addr in &self.addrs {
                addr.parse::<std::net::SocketAddr>()
                    .map_err(|_| Invalid::new("addrs", format!("{addr:?} is not an address")))?;
            }
        }
        Ok(())
    }
}

impl Validate for Reflection {
    fn validate(&self, mode: Mode) -> Result<(), Invalid> {
        validate::count("answers", self.answers.len(), QUESTIONS.len(), mode)?;
        for (n, answer) in self.answers.iter().enumerate() {
            validate::text(
                &format!("answers.{n}.about_them"),
                &answer.about_them,
                MAX_TEXT,
                false,
                mode,
            )?;
            validate::text(
                &format!("answers.{n}.about_me"),
                &answer.about_me,
                MAX_TEXT,
                false,
                mode,
            )?;
        }
        validate::text("note", &self.note, MAX_TEXT, false, mode)
    }
}

impl Validate for Goal {
    fn validate(&self, mode: Mode) -> Result<(), Invalid> {
        validate::text("title", &self.title, MAX_TITLE, true, mode)?;
        validate::text("why", &self.why, MAX_TEXT, false, mode)?;
        if let Some(by) = self.by {
            validate::day("by", by)?;
        }
        validate::count("objectives", self.objectives.len(), MAX_ITEMS, mode)?;
        for (id, o) in self.objectives.iter() {
            o.validate(mode)
                .map_err(|e| e.within(format_args!("objectives.{id}")))?;
        }
        Ok(())
    }
}

impl Validate for Objective {
    fn validate(&self, mode: Mode) -> Result<(), Invalid> {
        validate::text("text", &self.text, MAX_TITLE, true, mode)
    }
}

impl Validate for Recurrence {
    fn validate(&self, mode: Mode) -> Result<(), Invalid> {
        match *self {
            Recurrence::MonthlyOn { day } => validate::range("recurrence.day", day, 1, 31),
            Recurrence::WeeklyOn { weekday } => {
                validate::range("recurrence.weekday", weekday, 0, 6)
            }
            Recurrence::EveryDays { days } => {
                validate::range("recurrence.days", days, 1, validate::MAX_INTERVAL_DAYS)
            }
            Recurrence::Unknown(_) => validate::known("recurrence", false, mode),
        }
    }
}

impl Validate for Ritual {
    fn validate(&self, mode: Mode) -> Result<(), Invalid> {
        validate::text("title", &self.title, MAX_TITLE, true, mode)?;
        self.recurrence.validate(mode)?;
        if let Some(minutes) = self.minutes {
            validate::range("minutes", minutes, 1, 1440)?;
        }
        validate::count("guidelines", self.guidelines.len(), MAX_ITEMS, mode)?;
        for g in &self.guidelines {
            validate::text("guidelines", g, MAX_TITLE, true, mode)?;
        }
        validate::day("start", self.start)?;
        validate::count("occurrences", self.occurrences.len(), MAX_OCCURRENCES, mode)?;
        for day in &self.occurrences {
            validate::day("occurrences", *day)?;
        }
        Ok(())
    }
}

impl Validate for CheckIn {
    fn validate(&self, mode: Mode) -> Result<(), Invalid> {
        validate::day("on", self.on)?;
        validate::range("rating", self.rating, 1, 5)?;
        validate::text("went_well", &self.went_well, MAX_TEXT, false, mode)?;
        validate::text("to_change", &self.to_change, MAX_TEXT, false, mode)?;
        validate::count("reviews", self.reviews.len(), MAX_ITEMS, mode)?;
        for review in &self.reviews {
            validate::text("reviews.note", &review.note, MAX_TEXT, false, mode)?;
        }
        validate::count("principles", self.principles.len(), MAX_ITEMS, mode)
    }
}

impl Validate for Interaction {
    fn validate(&self, mode: Mode) -> Result<(), Invalid> {
        validate::day("on", self.on)?;
        validate::text("note", &self.note, MAX_TEXT, false, mode)
    }
}

impl Validate for Thanks {
    fn validate(&self, mode: Mode) -> Result<(), Invalid> {
        validate::day("on", self.on)?;
        validate::text("text", &self.text, MAX_TEXT, true, mode)
    }
}

impl Validate for Boundary {
    fn validate(&self, mode: Mode) -> Result<(), Invalid> {
        if let Some(on) = self.on {
            validate::day("on", on)?;
        }
        validate::text("text", &self.text, MAX_TEXT, true, mode)
    }
}

impl Validate for JournalEntry {
    fn validate(&self, mode: Mode) -> Result<(), Invalid> {
        validate::text("text", &self.text, MAX_ENTRY, true, mode)?;
        validate::count("tags", self.tags.len(), MAX_ITEMS, mode)?;
        for tag in &self.tags {
            validate::text("tags", tag, MAX_TAG, true, mode)?;
        }
        validate::count("about", self.about.len(), MAX_ITEMS, mode)?;
        validate::count("principles", self.principles.len(), MAX_ITEMS, mode)
    }
}

impl Validate for GoalJoin {
    fn validate(&self, mode: Mode) -> Result<(), Invalid> {
        validate::text("title", &self.title, MAX_TITLE, false, mode)?;
        validate::count("objectives", self.objectives.len(), MAX_ITEMS, mode)?;
        for (id, o) in self.objectives.iter() {
            o.validate(mode)
                .map_err(|e| e.within(format_args!("objectives.{id}")))?;
        }
        Ok(())
    }
}

impl Validate for SideRecords {
    fn validate(&self, mode: Mode) -> Result<(), Invalid> {
        // Read one by one, each record has already been checked.
        if mode == Mode::Read {
            return Ok(());
        }
        fn all<T: Validate>(name: &str, records: &Records<T>, mode: Mode) -> Result<(), Invalid> {
            for (id, r) in records.iter() {
                r.validate(mode)
                    .map_err(|e| e.within(format_args!("{name}.{id}")))?;
            }
            Ok(())
        }
        all("goals", &self.goals, mode)?;
        all("rituals", &self.rituals, mode)?;
        all("checkins", &self.checkins, mode)?;
        all("interactions", &self.interactions, mode)?;
        all("thanks", &self.thanks, mode)?;
        all("boundaries", &self.boundaries, mode)?;
        all("joins", &self.joins, mode)
    }
}
