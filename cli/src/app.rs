//! The context every command runs in: the home, its store, the identity, and the clock.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use automerge::AutoCommit;
use chrono::{DateTime, Local, Utc};
use tapin_core::docs::{self, JournalDoc, PrivateDoc};
use tapin_core::identity::{DeviceCertificate, DeviceKey, PersonKey};
use tapin_core::model::{Relationship, SideRecords};
use tapin_core::time::{Day, Timestamp};
use tapin_core::validate::{Mode, Validate};
use tapin_core::{DocId, Id};
use tapin_store::Store;

/// Store meta keys for the identity. Documented in docs/FORMAT.md.
pub(crate) const META_PERSON_SECRET: &str = "identity.person_secret";
pub(crate) const META_DEVICE_SECRET: &str = "identity.device_secret";
pub(crate) const META_NAME: &str = "identity.name";
pub(crate) const META_DEVICE_CERT: &str = "identity.device_cert";

pub(crate) use tapin_store::DB_FILE;

/// The format of the decoded documents cached in the store's `views` table; a release that
/// changes the record types changes this, and older caches are simply decoded again. Version 2:
/// records keyed by id and read one by one (a document with unreadable records is never cached).
const VIEW_CACHE_FORMAT: &[u8] = b"tapin-view-json-2\n";
pub(crate) const META_NET_PORT: &str = "net.port";
pub(crate) const META_NET_BIND: &str = "net.bind";
pub(crate) const META_NET_RELAY: &str = "net.relay";
pub(crate) const META_NET_MDNS: &str = "net.mdns";

/// The default home: the platform's data directory (XDG on Linux), then `tapin`.
pub(crate) fn default_home() -> Result<PathBuf> {
    use etcetera::BaseStrategy;
    let base = etcetera::choose_base_strategy()
        .context("could not find your home directory; pass --home DIR or set TAPIN_HOME")?;
    Ok(base.data_dir().join("tapin"))
}

/// The clock: real time, or `TAPIN_NOW` (RFC 3339) for tests and demos.
pub(crate) fn now() -> Result<DateTime<Utc>> {
    match std::env::var("TAPIN_NOW") {
        Ok(s) => DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .with_context(|| {
                format!("TAPIN_NOW={s:?} is not an RFC 3339 time like 2026-11-22T09:00:00Z")
            }),
        Err(_) => Ok(Utc::now()),
    }
}

/// 16 fresh random bytes.
pub(crate) fn random_id() -> Result<Id> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| anyhow!("no randomness available: {e}"))?;
    Ok(Id::from_bytes(bytes))
}

/// 32 fresh random bytes for a secret key.
pub(crate) fn random_secret() -> Result<[u8; 32]> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow!("no randomness available: {e}"))?;
    Ok(bytes)
}

/// An opened, initialised home.
pub(crate) struct App {
    pub(crate) home: PathBuf,
    pub(crate) store: Store,
    pub(crate) device: DeviceKey,
    pub(crate) person: PersonKey,
    pub(crate) name: String,
    pub(crate) cert: DeviceCertificate,
    pub(crate) now: DateTime<Utc>,
    /// Decoded documents to cache once the command has succeeded (see [`App::finish`]).
    pending_views: std::cell::RefCell<Vec<PendingView>>,
}

/// A decoded document, with the version and heads it was decoded from.
type PendingView = (DocId, i64, Vec<automerge::ChangeHash>, Vec<u8>);

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("home", &self.home)
            .field("name", &self.name)
            .finish()
    }
}

fn secret_from_meta(store: &Store, key: &str, home: &Path) -> Result<[u8; 32]> {
    let bytes = store.get_meta(key)?.with_context(|| {
        format!(
            "the home at {} has no {key}; it is incomplete",
            home.display()
        )
    })?;
    bytes
        .try_into()
        .map_err(|_| anyhow!("the {key} stored in {} is damaged", home.display()))
}

impl App {
    /// Opens an initialised home. Never creates one: a command on a missing home changes nothing.
    pub(crate) fn open(home: &Path) -> Result<App> {
        if !home.join(DB_FILE).exists() {
            bail!(
                "no tapin home at {}; create one with `tapin init --name NAME` (or choose one with --home)",
                home.display()
            );
        }
        // An empty database file is damage (a full disk, a bad copy), not a home to set up anew:
        // the store would lay out a fresh schema in it.
        if std::fs::metadata(home.join(DB_FILE)).is_ok_and(|m| m.len() == 0) {
            bail!(
                "the database {} is empty; the home is damaged (restore it from a backup or an export)",
                home.join(DB_FILE).display()
            );
        }
        let store = Store::open(home)
            .with_context(|| format!("could not open the home at {}", home.display()))?;
        tell_tightened(store.tightened())?;
        let person = PersonKey::from_secret(secret_from_meta(&store, META_PERSON_SECRET, home)?);
        let device = DeviceKey::from_secret(secret_from_meta(&store, META_DEVICE_SECRET, home)?);
        let name = store
            .get_meta(META_NAME)?
            .and_then(|b| String::from_utf8(b).ok())
            .with_context(|| format!("the home at {} has no display name", home.display()))?;
        let cert_bytes = store
            .get_meta(META_DEVICE_CERT)?
            .with_context(|| format!("the home at {} has no device certificate", home.display()))?;
        let cert = DeviceCertificate::from_bytes(&cert_bytes)
            .context("this device's certificate is damaged")?;
        if cert.device != device.id() || cert.person != person.id() {
            bail!(
                "this device's certificate does not match its keys; the home at {} is damaged",
                home.display()
            );
        }
        Ok(App {
            home: home.to_owned(),
            store,
            device,
            person,
            name,
            cert,
            now: now()?,
            pending_views: Default::default(),
        })
    }

    fn meta_text(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .store
            .get_meta(key)?
            .map(|b| String::from_utf8_lossy(&b).into_owned()))
    }

    /// The network settings: the home's, overridden by the command's flags or environment.
    ///
    /// `TAPIN_TIMEOUTS` (for tests only) shortens the network's waits by name, e.g.
    /// `pair_step=2s,handover=1s` (`tapin_net::Timeouts::with_overrides`).
    pub(crate) fn net_config(
        &self,
        over: &crate::args::NetArgs,
    ) -> Result<tapin_net::endpoint::NetConfig> {
        let timeouts = match std::env::var("TAPIN_TIMEOUTS") {
            Ok(spec) => tapin_net::Timeouts::default()
                .with_overrides(&spec)
                .context("TAPIN_TIMEOUTS (a setting for tests) is not valid")?,
            Err(_) => tapin_net::Timeouts::default(),
        };
        let mut config = tapin_net::endpoint::NetConfig {
            bind: std::net::IpAddr::from([0, 0, 0, 0]),
            port: 0,
            relay: tapin_net::endpoint::Relay::None,
            mdns: true,
            timeouts,
        };
        if let Some(port) = self.meta_text(META_NET_PORT)? {
            config.port = port
                .parse()
                .with_context(|| format!("stored port {port:?} is damaged"))?;
        }
        if let Some(bind) = self.meta_text(META_NET_BIND)? {
            config.bind = bind
                .parse()
                .with_context(|| format!("stored bind address {bind:?} is damaged"))?;
        }
        if let Some(relay) = self.meta_text(META_NET_RELAY)? {
            config.relay = relay.parse().map_err(|e: String| anyhow!(e))?;
        }
        if let Some(mdns) = self.meta_text(META_NET_MDNS)? {
            config.mdns = mdns == "on";
        }
        if let Some(bind) = over.bind {
            config.bind = bind;
        }
        if let Some(port) = over.port {
            config.port = port;
        }
        if let Some(relay) = &over.relay {
            config.relay = relay.parse().map_err(|e: String| anyhow!("--relay: {e}"))?;
        }
        if let Some(mdns) = over.mdns {
            config.mdns = mdns == crate::args::OnOff::On;
        }
        Ok(config)
    }

    /// Today in the local time zone (the `TZ` environment variable applies).
    pub(crate) fn today(&self) -> Day {
        Day(self.now.with_timezone(&Local).date_naive())
    }

    /// Now, as stored in records.
    pub(crate) fn stamp(&self) -> Timestamp {
        Timestamp::from_datetime(self.now)
    }

    /// A document's decoded contents, through the store's cache of them: decoding a large
    /// automerge document into records costs far more than reading JSON, so the decoded form is
    /// kept beside the document, keyed by the document's version, and used while it is current.
    fn read<T>(
        &self,
        doc: DocId,
        decode: impl FnOnce(&automerge::Automerge) -> Result<T, docs::DocError>,
    ) -> Result<T>
    where
        T: Decoded + Default + serde::Serialize + serde::de::DeserializeOwned,
    {
        let version = self.store.doc_version(&doc)?;
        if version == 0 {
            return Ok(T::default());
        }
        if let Some(bytes) = self.store.cached_view(&doc)?
            && let Some(json) = bytes.strip_prefix(VIEW_CACHE_FORMAT)
            && let Ok(value) = serde_json::from_slice(json)
        {
            return Ok(value);
        }
        let Some((am, version)) = self
            .store
            .load_versioned(&doc)
            .with_context(|| format!("could not load document {doc}"))?
        else {
            return Ok(T::default());
        };
        let value = decode(&am)?;
        // The JSON holds the readable records only: a document with records this build could not
        // read is decoded every time, so that the count of them is never lost.
        let mut bytes = VIEW_CACHE_FORMAT.to_vec();
        if value.fully_read() && serde_json::to_writer(&mut bytes, &value).is_ok() {
            // Written by `finish`, once the command has succeeded: a failed command writes nothing,
            // not even a cache.
            let heads = am.get_heads();
            self.pending_views
                .borrow_mut()
                .push((doc, version, heads, bytes));
        }
        Ok(value)
    }

    /// Called after a command succeeded: stores the decoded documents it read, for the next one.
    pub(crate) fn finish(&self) {
        for (doc, version, heads, bytes) in self.pending_views.borrow_mut().drain(..) {
            if let Err(err) = self.store.put_view(&doc, version, &heads, &bytes) {
                // Only a cache: the next read decodes again.
                tracing::debug!("could not cache the decoded {doc}: {err}");
            }
        }
    }

    /// A document's decoded contents read from the document itself, never from the view cache:
    /// for what must fail on a damaged document rather than repeat a cached copy (an export,
    /// which people keep as their backup).
    fn read_uncached<T: Default>(
        &self,
        doc: DocId,
        decode: impl FnOnce(&automerge::Automerge) -> Result<T, docs::DocError>,
    ) -> Result<T> {
        match self
            .store
            .load(&doc)
            .with_context(|| format!("could not load document {doc}"))?
        {
            Some(am) => Ok(decode(&am)?),
            None => Ok(T::default()),
        }
    }

    /// The private document, read from the document itself (see [`App::read_uncached`]).
    pub(crate) fn private_uncached(&self) -> Result<PrivateDoc> {
        self.read_uncached(DocId::Private, docs::read_private)
    }

    /// The journal, read from the document itself.
    pub(crate) fn journal_uncached(&self) -> Result<JournalDoc> {
        self.read_uncached(DocId::Journal, docs::read_journal)
    }

    /// My shared side of one relationship, read from the document itself.
    pub(crate) fn side_uncached(&self, rel: Id) -> Result<SideRecords> {
        self.read_uncached(DocId::Side(rel), |d| docs::read_side(d, rel))
    }

    /// The private document.
    pub(crate) fn private(&self) -> Result<PrivateDoc> {
        self.read(DocId::Private, docs::read_private)
    }

    /// The journal.
    pub(crate) fn journal(&self) -> Result<JournalDoc> {
        self.read(DocId::Journal, docs::read_journal)
    }

    /// My shared side of one relationship.
    pub(crate) fn side(&self, rel: Id) -> Result<SideRecords> {
        self.read(DocId::Side(rel), |d| docs::read_side(d, rel))
    }

    /// My replica of the friend's side of one relationship (empty until synced). A replica this
    /// build cannot read at all (written under a newer schema, or damaged here) does not fail the
    /// command: it comes back empty, with the reason, and everything else still shows.
    pub(crate) fn replica(&self, rel: Id) -> Result<TheirSide> {
        match self.read(DocId::Replica(rel), |d| docs::read_replica(d, rel)) {
            Ok(records) => Ok(TheirSide {
                records,
                unreadable: None,
            }),
            Err(err) => {
                let why = match err.downcast_ref::<docs::DocError>() {
                    Some(docs::DocError::TooNew { found, .. }) => format!(
                        "their side was written by a newer tapin (document schema {found}); update tapin to read it"
                    ),
                    _ => format!("their side cannot be read on this device: {err:#}"),
                };
                tracing::warn!(relationship = %rel, "{why}");
                Ok(TheirSide {
                    records: SideRecords::default(),
                    unreadable: Some(why),
                })
            }
        }
    }

    /// Atomically edits one document and makes it durable before returning. `f` runs under the
    /// store's write lock on the latest state of the document, so read what you change inside it:
    /// a concurrent writer's edits are then never overwritten.
    pub(crate) fn update<T>(
        &self,
        doc: DocId,
        f: impl FnOnce(&mut AutoCommit) -> Result<T>,
    ) -> Result<T> {
        match self
            .store
            .update(&doc, &self.device.actor(), |d| f(d).map_err(Inner))
        {
            Ok(value) => Ok(value),
            Err(tapin_store::UpdateError::Inner(Inner(err))) => Err(err),
            Err(err) => {
                Err(anyhow::Error::new(err).context(format!("could not save to document {doc}")))
            }
        }
    }

    /// One use case's writes to several documents (and meta entries), as one SQLite
    /// transaction: all of them are written, or (on an error, or a crash) none. `f` runs under
    /// the store's write lock on the latest state, so read what you change inside it.
    pub(crate) fn transaction<T>(
        &self,
        f: impl FnOnce(&mut tapin_store::Txn<'_>) -> Result<T>,
    ) -> Result<T> {
        self.store.transaction(&self.device.actor(), f)
    }

    /// Finds a relationship by name (case-insensitive), unique name prefix, or id prefix.
    pub(crate) fn find_person(
        &self,
        private: &PrivateDoc,
        query: &str,
    ) -> Result<(Id, Relationship)> {
        find_person(private, query)
    }
}

/// `record` if it is valid as input ([`Mode::Input`]: ranges and length limits), else an error
/// naming `what` and the field.
pub(crate) fn checked<T: Validate>(what: &str, record: T) -> Result<T> {
    record.validate(Mode::Input).map_err(|e| {
        anyhow!(
            "the {what}'s {} {}",
            e.field.replace(['.', '_'], " "),
            e.problem
        )
    })?;
    Ok(record)
}

/// Tells the person which of the home's files the store made private to them, one line per
/// change of mode ("tapin.db and tapin.db-wal were open to other users …").
fn tell_tightened(fixed: &[tapin_store::Tightened]) -> Result<()> {
    let mut by_mode: std::collections::BTreeMap<(u32, u32), Vec<String>> = Default::default();
    for f in fixed {
        let name = f.path.file_name().map_or_else(
            || f.path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        by_mode.entry((f.before, f.after)).or_default().push(name);
    }
    for ((before, after), mut names) in by_mode {
        // SQLite makes the log files beside the database with its mode: they are the database's.
        let db = tapin_store::DB_FILE;
        let siblings: Vec<String> = names
            .iter()
            .filter_map(|n| {
                n.strip_prefix(db)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
            })
            .collect();
        if names.iter().any(|n| n == db) && !siblings.is_empty() {
            names.retain(|n| !n.starts_with(db) || n == db);
            let files = if siblings.len() == 1 { "file" } else { "files" };
            let with = format!("{db} (with its {} {files})", siblings.join(" and "));
            names
                .iter_mut()
                .filter(|n| *n == db)
                .for_each(|n| *n = with.clone());
        }
        let (names, were, they) = match names.as_slice() {
            [one] => (one.clone(), "was", "it is"),
            [rest @ .., last] => (
                format!("{} and {last}", rest.join(", ")),
                "were",
                "they are",
            ),
            [] => continue,
        };
        crate::output::note(format!(
            "{names} {were} open to other users of this computer (mode {before:03o}); {they} now \
             private to you ({after:03o})."
        ))?;
    }
    Ok(())
}

/// Carries a command's own error through the store's transaction, which rolls back on it.
#[derive(Debug)]
struct Inner(anyhow::Error);

impl std::fmt::Display for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl std::error::Error for Inner {}

/// A decoded document, as the view cache keeps it.
pub(crate) trait Decoded {
    /// Whether every record of the document was read: only then may it be cached.
    fn fully_read(&self) -> bool;
}

impl Decoded for PrivateDoc {
    fn fully_read(&self) -> bool {
        self.unreadable() == 0
    }
}

impl Decoded for JournalDoc {
    fn fully_read(&self) -> bool {
        self.entries.unreadable().is_empty()
    }
}

impl Decoded for SideRecords {
    fn fully_read(&self) -> bool {
        self.unreadable() == 0
    }
}

/// My replica of a friend's side, as the views read it.
#[derive(Debug, Default)]
pub(crate) struct TheirSide {
    /// What of it this build could read (empty until it first arrives).
    pub(crate) records: SideRecords,
    /// Why none of it could be read, when the whole document could not be.
    pub(crate) unreadable: Option<String>,
}

/// What a page could not read: records of mine and of friends' sides that this build could not
/// read (written by a newer tapin, or damaged), and friends' sides it could not read at all. Part
/// of every page's `--json`, and said in words under it.
#[derive(Debug, Default, serde::Serialize)]
pub(crate) struct Unreadable {
    /// My records that could not be read.
    pub(crate) mine: usize,
    /// Records of friends' sides that could not be read.
    pub(crate) theirs: usize,
    /// Friends' sides that could not be read at all.
    pub(crate) sides: Vec<UnreadableSide>,
}

/// A friend's side this build could not read at all.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct UnreadableSide {
    /// My relationship with them.
    pub(crate) relationship: Id,
    /// What I call them.
    pub(crate) name: String,
    /// Why.
    pub(crate) why: String,
}

impl Unreadable {
    /// Counts what of `theirs`, the side of the friend I call `name`, could not be read.
    pub(crate) fn add_theirs(&mut self, relationship: Id, name: &str, theirs: &TheirSide) {
        self.theirs += theirs.records.unreadable();
        if let Some(why) = &theirs.unreadable {
            self.sides.push(UnreadableSide {
                relationship,
                name: name.to_owned(),
                why: why.clone(),
            });
        }
    }

    /// The same in words, one line each (none when everything was read).
    pub(crate) fn lines(&self) -> Vec<String> {
        let records = |n: usize| {
            if n == 1 {
                "1 record".to_owned()
            } else {
                format!("{n} records")
            }
        };
        let mut out = Vec::new();
        if self.mine > 0 {
            out.push(format!(
                "{} of yours could not be read by this version of tapin (written by a newer \
                 version, or damaged); they are kept as they are.",
                records(self.mine)
            ));
        }
        if self.theirs > 0 {
            out.push(format!(
                "{} shared with you could not be read by this version of tapin (written by a \
                 newer version, or damaged); they are kept as they are.",
                records(self.theirs)
            ));
        }
        for side in &self.sides {
            out.push(format!("{}: {}.", side.name, side.why));
        }
        out
    }
}

/// Finds a relationship by exact name (case-insensitive), then unique name prefix, then id prefix.
pub(crate) fn find_person(private: &PrivateDoc, query: &str) -> Result<(Id, Relationship)> {
    let q = query.trim().to_lowercase();
    if q.is_empty() {
        bail!("no person given");
    }
    let all: Vec<(Id, &Relationship)> = private
        .relationships
        .iter()
        .map(|(id, r)| (*id, r))
        .collect();
    let pick = |matches: Vec<(Id, &Relationship)>| -> Option<Result<(Id, Relationship)>> {
        match matches.len() {
            0 => None,
            1 => Some(Ok((matches[0].0, matches[0].1.clone()))),
            _ => {
                let names: Vec<String> = matches
                    .iter()
                    .map(|(id, r)| format!("{} ({})", r.name, id.short()))
                    .collect();
                Some(Err(anyhow!(
                    "{query:?} matches several people: {}; be more specific or use the id",
                    names.join(", ")
                )))
            }
        }
    };
    let exact = all
        .iter()
        .filter(|(_, r)| r.name.to_lowercase() == q)
        .copied()
        .collect();
    if let Some(found) = pick(exact) {
        return found;
    }
    let prefix = all
        .iter()
        .filter(|(_, r)| r.name.to_lowercase().starts_with(&q))
        .copied()
        .collect();
    if let Some(found) = pick(prefix) {
        return found;
    }
    let by_id = all
        .iter()
        .filter(|(id, _)| id.to_string().starts_with(&q))
        .copied()
        .collect();
    if let Some(found) = pick(by_id) {
        return found;
    }
    bail!(
        "no person called {query:?}; see `tapin people`, or add them with `tapin person add {query:?}`"
    )
}

/// Picks the one id that starts with `prefix` from `ids`, naming `what` in errors.
pub(crate) fn unique_prefix(ids: impl Iterator<Item = Id>, prefix: &str, what: &str) -> Result<Id> {
    let p = prefix.trim().to_lowercase();
    if p.len() < 4 {
        bail!("{what} id {prefix:?} is too short; give at least 4 characters of the id");
    }
    let mut found: Vec<Id> = ids.filter(|id| id.to_string().starts_with(&p)).collect();
    found.sort();
    found.dedup();
    match found.as_slice() {
        [one] => Ok(*one),
        [] => bail!("no {what} with id {prefix:?}"),
        _ => bail!(
            "{what} id {prefix:?} is ambiguous: it matches {} ids; give more characters",
            found.len()
        ),
    }
}

/// One relationship's three record sets, as the views that show both sides read them.
pub(crate) struct BothSides {
    pub(crate) id: Id,
    pub(crate) rel: Relationship,
    /// My shared side.
    pub(crate) shared: SideRecords,
    /// My private records.
    pub(crate) kept: SideRecords,
    /// My replica of their shared side (empty until it arrives).
    pub(crate) replica: SideRecords,
    /// Why their side could not be read at all, if it could not.
    pub(crate) replica_unreadable: Option<String>,
}

impl BothSides {
    /// Loads `person`'s relationship and its records from both places and the replica.
    pub(crate) fn load(app: &App, private: &PrivateDoc, person: &str) -> Result<Self> {
        let (id, rel) = find_person(private, person)?;
        let theirs = app.replica(id)?;
        Ok(BothSides {
            id,
            rel,
            shared: app.side(id)?,
            kept: private.records.get(&id).cloned().unwrap_or_default(),
            replica: theirs.records,
            replica_unreadable: theirs.unreadable,
        })
    }

    /// What of this relationship's records could not be read.
    pub(crate) fn unreadable(&self) -> Unreadable {
        let mut u = Unreadable {
            mine: self.shared.unreadable() + self.kept.unreadable(),
            ..Unreadable::default()
        };
        u.theirs = self.replica.unreadable();
        if let Some(why) = &self.replica_unreadable {
            u.sides.push(UnreadableSide {
                relationship: self.id,
                name: self.rel.name.clone(),
                why: why.clone(),
            });
        }
        u
    }

    /// Their side, if anything of it ever arrived: views then read from my logs alone.
    pub(crate) fn theirs(&self) -> Option<&SideRecords> {
        (!self.replica.is_empty()).then_some(&self.replica)
    }

    /// The last contact either side logged (interactions and kept rituals).
    pub(crate) fn last_contact(&self) -> Option<tapin_core::time::Day> {
        use tapin_core::views::touch::last_contact;
        last_contact(&self.kept, Some(&self.shared))
            .max(self.theirs().and_then(|t| last_contact(t, None)))
    }
}

/// The records of every relationship, from both places: `(place, records)` for the private
/// records and for the shared side of each relationship.
pub(crate) fn all_records(
    app: &App,
    private: &PrivateDoc,
) -> Result<Vec<(tapin_core::docs::Place, SideRecords)>> {
    use tapin_core::docs::Place;
    let mut out = Vec::new();
    for (&rel, recs) in &private.records {
        out.push((Place::Private(rel), recs.clone()));
        out.push((Place::Shared(rel), app.side(rel)?));
    }
    Ok(out)
}

/// The records to list: those of `person` if given (whatever its status), else of every active
/// relationship; from both places, each with its relationship.
pub(crate) fn listed_records(
    app: &App,
    private: &PrivateDoc,
    person: Option<&str>,
) -> Result<Vec<(tapin_core::docs::Place, Relationship, SideRecords)>> {
    use tapin_core::docs::Place;
    let only = person.map(|p| find_person(private, p)).transpose()?;
    let mut out = Vec::new();
    for (&id, rel) in &private.relationships {
        let wanted = match &only {
            Some((only, _)) => *only == id,
            None => rel.is_active(),
        };
        if !wanted {
            continue;
        }
        let mine = private.records.get(&id).cloned().unwrap_or_default();
        out.push((Place::Private(id), rel.clone(), mine));
        out.push((Place::Shared(id), rel.clone(), app.side(id)?));
    }
    Ok(out)
}

/// Finds one record by id prefix across every place, with `pick` choosing the collection.
pub(crate) fn find_record<T: Clone>(
    places: &[(tapin_core::docs::Place, SideRecords)],
    prefix: &str,
    what: &str,
    pick: impl Fn(&SideRecords) -> &tapin_core::model::Records<T>,
) -> Result<(tapin_core::docs::Place, Id, T)> {
    let ids = places
        .iter()
        .flat_map(|(_, recs)| pick(recs).keys().copied());
    let id = unique_prefix(ids, prefix, what)?;
    for (place, recs) in places {
        if let Some(found) = pick(recs).get(&id) {
            return Ok((*place, id, found.clone()));
        }
    }
    bail!("no {what} with id {prefix:?}")
}
