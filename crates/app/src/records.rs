//! Mistakes undone: editing and deleting any record by its id, and deleting a relationship with
//! everything that goes with it.
//!
//! Ids are the ones `history`, `journal list`, `goal list`, `ritual list` and `people` show; any
//! unique prefix of four or more characters finds a record of any kind. A delete removes the
//! record's key from its document (never a tombstone flag), so every reader, a friend's older
//! tapin included, drops it at the next sync; the cached decoded form of each document it touched
//! goes in the same transaction. What a delete cannot do is said by
//! [`DELETE_MEANS`](crate::words::DELETE_MEANS).

use serde::Serialize;
use tapin_core::docs::{self, Collection, Place, PrivateDoc};
use tapin_core::model::{
    Boundary, Channel, CheckIn, Goal, Initiator, Interaction, JournalEntry, Reason, Recurrence,
    Reflection, Relationship, Ritual, SideRecords, Thanks,
};
use tapin_core::time::{Day, Timestamp};
use tapin_core::views::journal::extract_tags;
use tapin_core::{DocId, Id};
use tapin_store::MetaKey;

use crate::error::{Error, Result, invalid};
use crate::home::{Home, checked};
use crate::reading::{Docs, Lookup, Writer, find_person};
use crate::words::describe_day;

/// The kinds of record that can be edited and deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A logged interaction.
    Interaction,
    /// A thank-you note.
    Thanks,
    /// A boundary.
    Boundary,
    /// A check-in.
    CheckIn,
    /// A goal.
    Goal,
    /// A ritual.
    Ritual,
    /// A journal entry.
    JournalEntry,
    /// A reflection.
    Reflection,
    /// A relationship (a person).
    Relationship,
}

impl Kind {
    /// The kind in words: "thanks note", "check-in", …
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Interaction => "interaction",
            Kind::Thanks => "thanks note",
            Kind::Boundary => "boundary",
            Kind::CheckIn => "check-in",
            Kind::Goal => "goal",
            Kind::Ritual => "ritual",
            Kind::JournalEntry => "journal entry",
            Kind::Reflection => "reflection",
            Kind::Relationship => "relationship",
        }
    }

    /// The collection of a relationship's records this kind lives in, if it is one.
    fn collection(self) -> Option<Collection> {
        Some(match self {
            Kind::Interaction => Collection::Interactions,
            Kind::Thanks => Collection::Thanks,
            Kind::Boundary => Collection::Boundaries,
            Kind::CheckIn => Collection::CheckIns,
            Kind::Goal => Collection::Goals,
            Kind::Ritual => Collection::Rituals,
            _ => return None,
        })
    }

    /// The edit flags that apply to this kind, as the CLI spells them.
    fn fields(self) -> &'static [&'static str] {
        match self {
            Kind::Interaction => &["--text", "--on", "--by", "--via", "--reason"],
            Kind::Thanks | Kind::Boundary => &["--text", "--on"],
            Kind::JournalEntry | Kind::Reflection | Kind::Relationship => &["--text"],
            Kind::CheckIn => &["--text", "--on", "--rating", "--to-change"],
            Kind::Goal => &["--text", "--why", "--by"],
            Kind::Ritual => &[
                "--text",
                "--monthly-on/--weekly-on/--every",
                "--minutes",
                "--guideline",
                "--start",
            ],
        }
    }
}

/// One record, as a confirmation or a result shows it.
#[derive(Debug, Clone, Serialize)]
pub struct RecordRef {
    /// What kind of record.
    pub kind: Kind,
    /// Its id.
    pub id: Id,
    /// Whom it is about (the relationship's name), if anyone.
    pub person: Option<String>,
    /// The day it is of (or was written on).
    pub day: Day,
    /// Its main text, whole: what the editor opens on.
    pub text: String,
    /// Whether it is on my shared side, so that the friend has it.
    pub shared: bool,
}

impl RecordRef {
    /// Its first words, at most about 60 characters, on one line.
    pub fn first_words(&self) -> String {
        const MAX: usize = 60;
        let line = self.text.split_whitespace().collect::<Vec<_>>().join(" ");
        if line.chars().count() <= MAX {
            return line;
        }
        let cut: String = line.chars().take(MAX).collect();
        let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
        format!("{cut}…")
    }

    /// "the thanks note to Jordan of 2026-11-20 (Friday), shared with them: \"thank you…\"".
    pub fn describe(&self) -> String {
        let who = match (&self.person, self.kind) {
            (Some(p), Kind::Relationship) => format!(" {p}"),
            (Some(p), _) => format!(" about {p}"),
            (None, _) => String::new(),
        };
        let words = self.first_words();
        let words = if words.is_empty() || self.kind == Kind::Relationship {
            String::new()
        } else {
            format!(": {words:?}")
        };
        format!(
            "the {}{who} of {}, {}{words}",
            self.kind.noun(),
            describe_day(self.day),
            crate::words::shared(self.shared)
        )
    }
}

/// A record deleted.
#[derive(Debug, Clone, Serialize)]
pub struct Deleted {
    /// What it was.
    pub record: RecordRef,
    /// What deleting it means, in words.
    pub means: Vec<String>,
}

/// A record edited.
#[derive(Debug, Clone, Serialize)]
pub struct Edited {
    /// The record as now stored.
    pub record: RecordRef,
    /// Whether anything changed.
    pub changed: bool,
    /// A past deadline or start, kept as given, said beside the result (see [`crate::dates`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// A change to a ritual: each `None` leaves that field as it is.
#[derive(Debug, Clone, Default)]
pub struct RitualEdit {
    /// A new title.
    pub title: Option<String>,
    /// A new rhythm.
    pub recurrence: Option<Recurrence>,
    /// A new length, in minutes.
    pub minutes: Option<u32>,
    /// New guidelines, replacing the old ones.
    pub guidelines: Option<Vec<String>>,
    /// A new first day as the person typed it, read as a plan; it may not come after a day
    /// it was kept.
    pub start: Option<String>,
}

impl RitualEdit {
    fn is_empty(&self) -> bool {
        self.title.is_none()
            && self.recurrence.is_none()
            && self.minutes.is_none()
            && self.guidelines.is_none()
            && self.start.is_none()
    }

    /// Applies the edit, with its start already resolved; the title is checked by [`checked`]
    /// with the rest.
    fn apply(&self, start: Option<Day>, r: &mut Ritual) -> Result<()> {
        if let Some(title) = &self.title {
            r.title = nonempty("a ritual's title", title)?;
        }
        if let Some(rec) = self.recurrence {
            r.recurrence = rec;
        }
        if let Some(m) = self.minutes {
            r.minutes = Some(m);
        }
        if let Some(g) = &self.guidelines {
            r.guidelines = g
                .iter()
                .map(|g| g.trim().to_owned())
                .filter(|g| !g.is_empty())
                .collect();
        }
        if let Some(start) = start {
            if let Some(first) = r.occurrences.iter().min()
                && *first < start
            {
                invalid!(
                    "it was kept on {}, before {}; a ritual starts on or before the first day it was kept",
                    describe_day(*first),
                    describe_day(start)
                );
            }
            r.start = start;
        }
        Ok(())
    }
}

/// A change to any record: each `None` leaves that field as it is. Only the fields of the
/// record's kind may be given (see `tapin edit --help`); `text` is the kind's main text (an
/// interaction's note, a check-in's "went well", a goal's or ritual's title, a relationship's
/// name, …).
#[derive(Debug, Clone, Default)]
pub struct RecordEdit {
    /// The main text.
    pub text: Option<String>,
    /// The day it was, as the person typed it: something that happened, never in the future.
    pub on: Option<String>,
    /// Who reached out (interactions).
    pub by: Option<Initiator>,
    /// How (interactions).
    pub via: Option<Channel>,
    /// Why (interactions).
    pub reason: Option<Reason>,
    /// How it felt, 1–5 (check-ins).
    pub rating: Option<u8>,
    /// What to change (check-ins).
    pub to_change: Option<String>,
    /// Why it matters (goals).
    pub why: Option<String>,
    /// The end of its timeframe as the person typed it, read as a plan (goals).
    pub deadline: Option<String>,
    /// A ritual's fields.
    pub ritual: RitualEdit,
}

impl RecordEdit {
    /// The flags given, as the CLI spells them.
    fn given(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        let mut add = |given: bool, flag| {
            if given {
                out.push(flag);
            }
        };
        add(self.text.is_some(), "--text");
        add(self.on.is_some(), "--on");
        add(self.by.is_some() || self.deadline.is_some(), "--by");
        add(self.via.is_some(), "--via");
        add(self.reason.is_some(), "--reason");
        add(self.rating.is_some(), "--rating");
        add(self.to_change.is_some(), "--to-change");
        add(self.why.is_some(), "--why");
        add(
            self.ritual.recurrence.is_some(),
            "--monthly-on/--weekly-on/--every",
        );
        add(self.ritual.minutes.is_some(), "--minutes");
        add(self.ritual.guidelines.is_some(), "--guideline");
        add(self.ritual.start.is_some(), "--start");
        out
    }

    /// Whether nothing is to change.
    pub fn is_empty(&self) -> bool {
        self.given().is_empty() && self.ritual.is_empty()
    }
}

fn nonempty(what: &str, text: &str) -> Result<String> {
    let text = text.trim();
    if text.is_empty() {
        invalid!("{what} cannot be empty");
    }
    Ok(text.to_owned())
}

fn day_of(ts: Timestamp) -> Day {
    Day(ts.to_datetime().with_timezone(&chrono::Local).date_naive())
}

/// Where a record found by id lives.
#[derive(Debug, Clone, Copy)]
enum Location {
    /// A relationship's record, in its place.
    Record(Place),
    /// The journal, in this week document.
    Journal(DocId),
    /// The private document's reflections.
    Reflection,
    /// The private document's relationships.
    Relationship,
}

/// One record found by id, and where.
#[derive(Debug, Clone)]
struct Found {
    at: Location,
    summary: RecordRef,
}

fn interaction_text(i: &Interaction) -> String {
    i.note.clone()
}

/// Every record of a relationship's place, summarised, whose id starts with `prefix`.
fn candidates_in(
    place: Place,
    person: &str,
    recs: &SideRecords,
    prefix: &str,
    out: &mut Vec<Found>,
) {
    let shared = place.is_shared();
    let mut push = |kind, id: &Id, day, text: String| {
        if id.to_string().starts_with(prefix) {
            out.push(Found {
                at: Location::Record(place),
                summary: RecordRef {
                    kind,
                    id: *id,
                    person: Some(person.to_owned()),
                    day,
                    text,
                    shared,
                },
            });
        }
    };
    for (id, r) in &recs.interactions {
        push(Kind::Interaction, id, r.on, interaction_text(r));
    }
    for (id, r) in &recs.thanks {
        push(Kind::Thanks, id, r.on, r.text.clone());
    }
    for (id, r) in &recs.boundaries {
        push(
            Kind::Boundary,
            id,
            crate::pages::boundary_day(r),
            r.text.clone(),
        );
    }
    for (id, r) in &recs.checkins {
        push(Kind::CheckIn, id, r.on, r.went_well.clone());
    }
    for (id, r) in &recs.goals {
        push(Kind::Goal, id, day_of(r.created), r.title.clone());
    }
    for (id, r) in &recs.rituals {
        push(Kind::Ritual, id, r.start, r.title.clone());
    }
}

/// The record whose id starts with `query`, of any kind, mine to change. A record of a friend's
/// side (their replica) is refused, naming whose it is.
fn locate(docs: &mut impl Docs, query: &str) -> Result<Found> {
    let prefix = query.trim().to_lowercase();
    if prefix.is_empty() || !prefix.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Error::malformed(format!(
            "{query:?} is not a record id; ids are hexadecimal, as `tapin history PERSON` shows them"
        )));
    }
    if prefix.len() < 4 {
        return Err(Error::malformed(format!(
            "id {query:?} is too short; give at least 4 characters of the id"
        )));
    }
    let private = docs.private()?;
    let mut found = Vec::new();
    for (&rel, r) in &private.relationships {
        if rel.to_string().starts_with(&prefix) {
            found.push(Found {
                at: Location::Relationship,
                summary: RecordRef {
                    kind: Kind::Relationship,
                    id: rel,
                    person: Some(r.name.clone()),
                    day: day_of(r.created),
                    text: r.name.clone(),
                    shared: false,
                },
            });
        }
        if let Some(kept) = private.records.get(&rel) {
            candidates_in(Place::Private(rel), &r.name, kept, &prefix, &mut found);
        }
        let side = docs.side(rel)?;
        candidates_in(Place::Shared(rel), &r.name, &side, &prefix, &mut found);
    }
    for (&id, r) in &private.reflections {
        if id.to_string().starts_with(&prefix) {
            let person = private
                .relationships
                .get(&r.relationship)
                .map(|p| p.name.clone());
            found.push(Found {
                at: Location::Reflection,
                summary: RecordRef {
                    kind: Kind::Reflection,
                    id,
                    person,
                    day: day_of(r.at),
                    text: r.note.clone(),
                    shared: false,
                },
            });
        }
    }
    for (id, doc, e) in docs.journal_lookup(&Lookup::Prefix(prefix.clone()))? {
        found.push(Found {
            at: Location::Journal(doc),
            summary: RecordRef {
                kind: Kind::JournalEntry,
                id,
                person: None,
                day: day_of(e.at),
                text: e.text,
                shared: false,
            },
        });
    }
    match found.len() {
        1 => return Ok(found.remove(0)),
        0 => {}
        n => {
            return Err(Error::not_found(format!(
                "id {query:?} is ambiguous: it matches {n} records; give more characters"
            )));
        }
    }
    // Not mine: perhaps a record a friend shared, which only they can change.
    for (&rel, r) in &private.relationships {
        let theirs = docs.replica(rel)?.records;
        let mut of_theirs = Vec::new();
        candidates_in(
            Place::Shared(rel),
            &r.name,
            &theirs,
            &prefix,
            &mut of_theirs,
        );
        if let Some(f) = of_theirs.first() {
            return Err(Error::invalid(format!(
                "{} is a {} {} shared with you; only they can change or delete it",
                f.summary.id.short(),
                f.summary.kind.noun(),
                r.name
            )));
        }
    }
    Err(Error::not_found(format!(
        "nothing has the id {query:?}; ids are shown by `tapin history PERSON`, `tapin journal \
         list`, `tapin goal list`, `tapin ritual list` and `tapin people`"
    )))
}

/// Why a relationship cannot be deleted now, if it cannot.
fn refuse_paired(rel: &Relationship) -> Result<()> {
    if rel.is_paired() {
        invalid!(
            "you are paired with {name}; end the pairing first with `tapin unpair {name:?}`, then delete",
            name = rel.name
        );
    }
    Ok(())
}

/// What deleting a relationship takes with it.
#[derive(Debug, Clone, Serialize)]
pub struct PersonDeleted {
    /// The relationship.
    pub id: Id,
    /// What I call them.
    pub name: String,
    /// My records of this relationship (both places), by kind: goals, rituals, check-ins,
    /// interactions, thanks and boundaries.
    pub records: usize,
    /// My reflections on them.
    pub reflections: usize,
    /// Records they shared with me (my replica of their side).
    pub theirs: usize,
    /// Journal entries about them: they stay, without the link to them.
    pub journal_mentions: usize,
    /// The notice that I ended the pairing, kept for their devices' next contact, goes too: if
    /// they have not fetched it yet, they never will, and my devices look offline to theirs (as
    /// after `unpair --quietly`). Said before deleting, so it is a choice.
    pub notice_goes: bool,
    /// What it means, in words.
    pub means: Vec<String>,
}

fn count(recs: &SideRecords) -> usize {
    recs.goals.len()
        + recs.rituals.len()
        + recs.checkins.len()
        + recs.interactions.len()
        + recs.thanks.len()
        + recs.boundaries.len()
        + recs.joins.len()
}

/// What deleting `person` would take, refused while they are paired.
fn person_deletion(
    docs: &mut impl Docs,
    private: &PrivateDoc,
    person: &str,
) -> Result<PersonDeleted> {
    let (id, rel) = find_person(private, person)?;
    refuse_paired(&rel)?;
    let kept = private.records.get(&id).map_or(0, count);
    let shared = count(&docs.side(id)?);
    let theirs = count(&docs.replica(id)?.records);
    let mentions = docs.journal_lookup(&Lookup::About(id))?.len();
    let notice_goes = rel.peer.as_ref().is_some_and(|p| p.notice.is_some());
    let mut means: Vec<String> = crate::words::PERSON_DELETE_MEANS
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    if notice_goes {
        means.push(crate::words::notice_goes(&rel.name));
    }
    Ok(PersonDeleted {
        id,
        name: rel.name,
        records: kept + shared,
        reflections: private
            .reflections
            .values()
            .filter(|r| r.relationship == id)
            .count(),
        theirs,
        journal_mentions: mentions,
        notice_goes,
        means,
    })
}

/// Deletes a relationship inside `w`: see [`Home::delete_person`].
fn delete_person_in(w: &mut Writer<'_, '_>, person: &str) -> Result<PersonDeleted> {
    let private = w.private()?;
    let gone = person_deletion(w, &private, person)?;
    let id = gone.id;
    let reflections: Vec<Id> = private
        .reflections
        .iter()
        .filter(|(_, r)| r.relationship == id)
        .map(|(k, _)| *k)
        .collect();
    w.update(DocId::Private, |d| {
        docs::delete_relationship(d, id)?;
        for r in &reflections {
            docs::delete_reflection(d, *r)?;
        }
        Ok(())
    })?;
    for (k, doc, mut e) in w.journal_lookup(&Lookup::About(id))? {
        e.about.retain(|a| *a != id);
        w.update(doc, |d| Ok(docs::put_entry(d, k, &e)?))?;
    }
    let txn = w.txn();
    for doc in [DocId::Side(id), DocId::Replica(id)] {
        txn.remove_document(&doc)?;
    }
    for key in [
        MetaKey::ReplicaHeads(id),
        MetaKey::ReplicaPath(id),
        MetaKey::ReplicaStaged(id),
    ] {
        txn.delete_meta(key)?;
    }
    txn.drop_view(&DocId::Private)?;
    Ok(gone)
}

/// Refuses the flags that do not apply to `kind`.
fn refuse_other_fields(kind: Kind, edit: &RecordEdit) -> Result<()> {
    let allowed = kind.fields();
    let wrong: Vec<&str> = edit
        .given()
        .into_iter()
        .filter(|f| !allowed.contains(f))
        .collect();
    if !wrong.is_empty() {
        invalid!(
            "{} {} not apply to a {}; it has {}",
            wrong.join(", "),
            if wrong.len() == 1 { "does" } else { "do" },
            kind.noun(),
            allowed.join(", ")
        );
    }
    Ok(())
}

/// Reads, changes and writes back one record of a relationship's place; `changed` says whether
/// the change made any difference (nothing is written if it made none).
fn edit_in_place<R>(
    w: &mut Writer<'_, '_>,
    place: Place,
    (collection, what): (Collection, &str),
    id: Id,
    changed: &mut bool,
    change: impl FnOnce(&mut R) -> Result<()>,
) -> Result<R>
where
    R: docs::Hydrate + docs::Reconcile + tapin_core::validate::Validate + Clone + PartialEq,
{
    let before: R = w
        .record(place, collection, id)?
        .ok_or_else(|| Error::not_found(format!("{what} {} was removed", id.short())))?;
    let mut r = before.clone();
    change(&mut r)?;
    let r = checked(what, r)?;
    *changed = r != before;
    if *changed {
        w.update(place.doc(), |d| {
            Ok(docs::put_record(d, place, collection, id, &r)?)
        })?;
    }
    Ok(r)
}

impl Home {
    /// The record (of any kind) whose id starts with `id`: for a confirmation, or to open an
    /// editor on its text.
    pub fn find_any(&self, id: &str) -> Result<RecordRef> {
        self.peek(|r| locate(r, id).map(|f| f.summary))
    }

    /// Deletes the record whose id starts with `id`, of any kind, in one transaction: its key
    /// goes from its document, and the cached decoded form of that document with it. A
    /// relationship goes as [`Home::delete_person`] says.
    pub fn delete(&self, id: &str) -> Result<Deleted> {
        self.write(|w| {
            let found = locate(w, id)?;
            let rid = found.summary.id;
            let doc = match found.at {
                Location::Record(place) => {
                    let collection = found
                        .summary
                        .kind
                        .collection()
                        .ok_or_else(|| Error::invalid("not a relationship's record"))?;
                    w.update(place.doc(), |d| {
                        Ok(docs::delete_record(d, place, collection, rid)?)
                    })?;
                    place.doc()
                }
                Location::Journal(doc) => {
                    w.update(doc, |d| Ok(docs::delete_entry(d, doc, rid)?))?;
                    doc
                }
                Location::Reflection => {
                    w.update(DocId::Private, |d| Ok(docs::delete_reflection(d, rid)?))?;
                    DocId::Private
                }
                Location::Relationship => {
                    let gone = delete_person_in(w, &rid.to_string())?;
                    return Ok(Deleted {
                        record: found.summary,
                        means: gone.means,
                    });
                }
            };
            w.txn().drop_view(&doc)?;
            let means =
                crate::words::delete_means(found.summary.shared, found.summary.person.as_deref());
            Ok(Deleted {
                record: found.summary,
                means,
            })
        })
    }

    /// What deleting `person` would take with it; refused while they are paired.
    pub fn person_deletion(&self, person: &str) -> Result<PersonDeleted> {
        self.peek(|r| {
            let private = r.private()?;
            person_deletion(r, &private, person)
        })
    }

    /// Deletes a relationship, in one transaction: it, its private records, its reflections, my
    /// shared side and my replica of theirs (whole documents, with their history on this device)
    /// and what the store kept about that replica; journal entries about them stay, without the
    /// link to them. Refused while paired: unpair first, so that nothing syncs them back.
    pub fn delete_person(&self, person: &str) -> Result<PersonDeleted> {
        self.write(|w| delete_person_in(w, person))
    }

    /// Edits the record whose id starts with `id`: the fields `edit` gives, which must be fields
    /// of its kind. An edit of a shared record reaches the friend at the next sync.
    pub fn edit(&self, id: &str, edit: &RecordEdit) -> Result<Edited> {
        if edit.is_empty() {
            invalid!("nothing to change; give the fields to change (see `tapin edit --help`)");
        }
        let today = self.today();
        let now = self.stamp();
        self.write(|w| {
            let found = locate(w, id)?;
            let kind = found.summary.kind;
            refuse_other_fields(kind, edit)?;
            let noun = format!("the {}", kind.noun());
            let on = edit
                .on
                .as_deref()
                .map(|on| crate::dates::happened(Some(on), today, &noun))
                .transpose()?;
            let mut warning = None;
            let mut plan = |typed: &Option<String>, what: &str| -> Result<Option<Day>> {
                let Some(typed) = typed else { return Ok(None) };
                let (day, past) = crate::dates::planned(typed, today, what)?;
                warning = warning.take().or(past);
                Ok(Some(day))
            };
            let deadline = plan(&edit.deadline, "the deadline")?;
            let start = plan(&edit.ritual.start, "the ritual's start")?;
            let before = found.summary.clone();
            let rid = before.id;
            let mut after = before.clone();
            let mut changed = false;
            match found.at {
                Location::Record(place) => {
                    let c = kind
                        .collection()
                        .ok_or_else(|| Error::invalid("not a relationship's record"))?;
                    match kind {
                        Kind::Interaction => {
                            let r = edit_in_place(
                                w,
                                place,
                                (c, kind.noun()),
                                rid,
                                &mut changed,
                                |r: &mut Interaction| {
                                    if let Some(t) = &edit.text {
                                        r.note = t.trim().to_owned();
                                    }
                                    r.on = on.unwrap_or(r.on);
                                    r.by = edit.by.unwrap_or(r.by);
                                    r.via = edit.via.unwrap_or(r.via);
                                    r.reason = edit.reason.unwrap_or(r.reason);
                                    Ok(())
                                },
                            )?;
                            (after.day, after.text) = (r.on, interaction_text(&r));
                        }
                        Kind::Thanks => {
                            let r = edit_in_place(
                                w,
                                place,
                                (c, kind.noun()),
                                rid,
                                &mut changed,
                                |r: &mut Thanks| {
                                    if let Some(t) = &edit.text {
                                        r.text = nonempty("a thanks note", t)?;
                                    }
                                    r.on = on.unwrap_or(r.on);
                                    Ok(())
                                },
                            )?;
                            (after.day, after.text) = (r.on, r.text);
                        }
                        Kind::Boundary => {
                            let r = edit_in_place(
                                w,
                                place,
                                (c, kind.noun()),
                                rid,
                                &mut changed,
                                |r: &mut Boundary| {
                                    if let Some(t) = &edit.text {
                                        r.text = nonempty("a boundary", t)?;
                                    }
                                    if on.is_some() {
                                        r.on = on;
                                    }
                                    Ok(())
                                },
                            )?;
                            (after.day, after.text) = (crate::pages::boundary_day(&r), r.text);
                        }
                        Kind::CheckIn => {
                            let r = edit_in_place(
                                w,
                                place,
                                (c, kind.noun()),
                                rid,
                                &mut changed,
                                |r: &mut CheckIn| {
                                    if let Some(t) = &edit.text {
                                        r.went_well = t.trim().to_owned();
                                    }
                                    if let Some(t) = &edit.to_change {
                                        r.to_change = t.trim().to_owned();
                                    }
                                    r.on = on.unwrap_or(r.on);
                                    r.rating = edit.rating.unwrap_or(r.rating);
                                    Ok(())
                                },
                            )?;
                            (after.day, after.text) = (r.on, r.went_well);
                        }
                        Kind::Goal => {
                            let r = edit_in_place(
                                w,
                                place,
                                (c, kind.noun()),
                                rid,
                                &mut changed,
                                |r: &mut Goal| {
                                    let before_goal = r.clone();
                                    if let Some(t) = &edit.text {
                                        r.title = nonempty("a goal's title", t)?;
                                    }
                                    if let Some(why) = &edit.why {
                                        r.why = why.trim().to_owned();
                                    }
                                    if deadline.is_some() {
                                        r.by = deadline;
                                    }
                                    if r.title != before_goal.title
                                        || r.why != before_goal.why
                                        || r.by != before_goal.by
                                    {
                                        r.updated = now;
                                    }
                                    Ok(())
                                },
                            )?;
                            after.text = r.title;
                        }
                        Kind::Ritual => {
                            let mut change = edit.ritual.clone();
                            if edit.text.is_some() {
                                change.title.clone_from(&edit.text);
                            }
                            let r = edit_in_place(
                                w,
                                place,
                                (c, kind.noun()),
                                rid,
                                &mut changed,
                                |r: &mut Ritual| change.apply(start, r),
                            )?;
                            (after.day, after.text) = (r.start, r.title);
                        }
                        _ => invalid!("not a relationship's record"),
                    }
                }
                Location::Journal(doc) => {
                    let text = edit.text.as_deref().unwrap_or_default();
                    let text = nonempty("a journal entry", text)?;
                    w.update(doc, |d| {
                        let mut e: JournalEntry =
                            docs::get_entry(d, doc, rid)?.ok_or_else(|| {
                                Error::not_found(format!(
                                    "journal entry {} was removed",
                                    rid.short()
                                ))
                            })?;
                        // Tags written as @words follow the text; tags given apart stay.
                        let old_inline = extract_tags(&e.text);
                        let mut tags = extract_tags(&text);
                        for t in &e.tags {
                            if !old_inline.contains(t) && !tags.contains(t) {
                                tags.push(t.clone());
                            }
                        }
                        tags.sort();
                        e.text.clone_from(&text);
                        e.tags = tags;
                        let e = checked("journal entry", e)?;
                        Ok(docs::put_entry(d, rid, &e)?)
                    })?;
                    changed = text != before.text;
                    after.text = text;
                }
                Location::Reflection => {
                    let note = edit.text.as_deref().unwrap_or_default().trim().to_owned();
                    w.update(DocId::Private, |d| {
                        let private = docs::read_private(d)?;
                        let mut r: Reflection =
                            private.reflections.get(&rid).cloned().ok_or_else(|| {
                                Error::not_found(format!("reflection {} was removed", rid.short()))
                            })?;
                        r.note.clone_from(&note);
                        let r = checked("reflection", r)?;
                        Ok(docs::put_reflection(d, rid, &r)?)
                    })?;
                    changed = note != before.text;
                    after.text = note;
                }
                Location::Relationship => {
                    let name = nonempty("a person's name", edit.text.as_deref().unwrap_or(""))?;
                    let private = w.private()?;
                    crate::people::refuse_taken_name(&private, &name, Some(rid))?;
                    let (_, mut rel) = find_person(&private, &rid.to_string())?;
                    rel.name.clone_from(&name);
                    let rel = checked("person", rel)?;
                    w.update(DocId::Private, |d| {
                        Ok(docs::put_relationship(d, rid, &rel)?)
                    })?;
                    changed = name != before.text;
                    (after.text, after.person) = (name.clone(), Some(name));
                }
            }
            Ok(Edited {
                changed,
                record: after,
                warning,
            })
        })
    }

    /// Edits a ritual (by id prefix): its title, rhythm, length, guidelines or first day.
    pub fn edit_ritual(&self, ritual: &str, edit: &RitualEdit) -> Result<Edited> {
        let found = self.find_any(ritual)?;
        if found.kind != Kind::Ritual {
            invalid!(
                "{} is a {}, not a ritual; edit it with `tapin edit {}`",
                found.id.short(),
                found.kind.noun(),
                found.id.short()
            );
        }
        self.edit(
            ritual,
            &RecordEdit {
                ritual: edit.clone(),
                ..RecordEdit::default()
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_words_cut_at_a_word_and_stay_on_one_line() {
        let r = |text: &str| RecordRef {
            kind: Kind::Thanks,
            id: Id::named("x"),
            person: None,
            day: Day::ymd(2026, 1, 1).unwrap(),
            text: text.to_owned(),
            shared: false,
        };
        assert_eq!(
            r("thank you\nfor dinner").first_words(),
            "thank you for dinner"
        );
        let long = "word ".repeat(30);
        let cut = r(&long).first_words();
        assert!(cut.ends_with("word…"), "{cut}");
        assert!(cut.chars().count() <= 61, "{cut}");
    }

    #[test]
    fn only_the_fields_of_a_kind_are_accepted() {
        let edit = RecordEdit {
            rating: Some(3),
            ..RecordEdit::default()
        };
        let err = refuse_other_fields(Kind::Thanks, &edit).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--rating does not apply to a thanks note; it has --text, --on"
        );
        refuse_other_fields(Kind::CheckIn, &edit).unwrap();
    }
}
