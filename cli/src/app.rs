//! The context every command runs in: the home, its store, the identity, and the clock.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use automerge::AutoCommit;
use chrono::{DateTime, Utc};
use tapin_core::docs::{self, PrivateDoc};
use tapin_core::identity::{DeviceCertificate, DeviceKey, PersonKey};
use tapin_core::model::Relationship;
use tapin_core::time::Timestamp;
use tapin_core::{DocId, Id};
use tapin_store::Store;

/// Store meta keys for the identity. Documented in docs/FORMAT.md.
pub(crate) const META_PERSON_SECRET: &str = "identity.person_secret";
pub(crate) const META_DEVICE_SECRET: &str = "identity.device_secret";
pub(crate) const META_NAME: &str = "identity.name";
pub(crate) const META_DEVICE_CERT: &str = "identity.device_cert";

pub(crate) use tapin_store::DB_FILE;

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
}

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
        })
    }

    fn meta_text(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .store
            .get_meta(key)?
            .map(|b| String::from_utf8_lossy(&b).into_owned()))
    }

    /// The network settings: the home's, overridden by the command's flags or environment.
    pub(crate) fn net_config(
        &self,
        over: &crate::args::NetArgs,
    ) -> Result<tapin_net::endpoint::NetConfig> {
        let mut config = tapin_net::endpoint::NetConfig {
            bind: std::net::IpAddr::from([0, 0, 0, 0]),
            port: 0,
            relay: tapin_net::endpoint::Relay::None,
            mdns: true,
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

    /// Now, as stored in records.
    pub(crate) fn stamp(&self) -> Timestamp {
        Timestamp::from_datetime(self.now)
    }

    /// The private document, read from the document itself.
    pub(crate) fn private(&self) -> Result<PrivateDoc> {
        match self
            .store
            .load(&DocId::Private)
            .context("could not load document private")?
        {
            Some(am) => Ok(docs::read_private(&am)?),
            None => Ok(PrivateDoc::default()),
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

    /// Finds a relationship by name (case-insensitive), unique name prefix, or id prefix.
    pub(crate) fn find_person(
        &self,
        private: &PrivateDoc,
        query: &str,
    ) -> Result<(Id, Relationship)> {
        find_person(private, query)
    }
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
