//! [`Home`]: one person's home on this device — its store, identity, clock and randomness — and
//! the two ways a use case touches it: [`Home::read`] and [`Home::write`].

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Local, Utc};
use serde::Serialize;
use tapin_core::DocId;
use tapin_core::Id;
use tapin_core::docs;
use tapin_core::identity::{DeviceCertificate, DeviceKey, MAX_DEVICE_NAME, PersonKey};
use tapin_core::time::{Day, Timestamp};
use tapin_core::validate::{self, Mode, Validate};
use tapin_store::{CreateError, MetaKey, Store, Txn};

use crate::error::{Error, Result};
use crate::reading::{Reader, Writer};

/// The file that holds a home's documents and keys.
pub const DB_FILE: &str = tapin_store::DB_FILE;

/// Where "now" comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The system clock.
    System,
    /// A fixed instant: for tests and demos (the CLI's `TAPIN_NOW`).
    Fixed(DateTime<Utc>),
}

impl Clock {
    /// The current instant by this clock.
    pub fn now(self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Fixed(at) => at,
        }
    }
}

/// 16 fresh random bytes, as a record id.
pub(crate) fn random_id() -> Result<Id> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(Error::NoRandomness)?;
    Ok(Id::from_bytes(bytes))
}

/// 32 fresh random bytes for a secret key.
pub(crate) fn random_secret() -> Result<[u8; 32]> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(Error::NoRandomness)?;
    Ok(bytes)
}

/// Who this home belongs to, as shown to its person (never the secret keys).
#[derive(Debug, Clone, Serialize)]
pub struct Whoami {
    /// The person's display name.
    pub name: String,
    /// The person's public key.
    pub person: String,
    /// This device's public key.
    pub device: String,
    /// What this device is called.
    pub device_name: String,
    /// The home directory.
    pub home: PathBuf,
}

/// What `init` asks for.
#[derive(Debug, Clone)]
pub struct NewHome {
    /// The person's display name, as friends will see it.
    pub name: String,
    /// What to call this device.
    pub device: String,
    /// The network settings the home keeps.
    pub net: crate::NetSettings,
}

/// A home just created.
#[derive(Debug, Clone, Serialize)]
pub struct Created {
    /// The home directory.
    pub home: PathBuf,
    /// The person's display name.
    pub name: String,
    /// The person's public key.
    pub person: String,
    /// This device's public key.
    pub device: String,
}

/// An opened, initialised home. `Send + Sync`: a web server's handlers and a sync node can share
/// one. Each use case takes the store for as long as it runs, so use cases on one `Home` take
/// turns; several processes on one home take turns at SQLite's write lock.
pub struct Home {
    path: PathBuf,
    /// A std mutex, not a tokio one: use cases are synchronous and never hold it across an await;
    /// async front-ends call them inside `spawn_blocking`.
    store: Mutex<Store>,
    pub(crate) device: DeviceKey,
    pub(crate) person: PersonKey,
    pub(crate) name: String,
    pub(crate) cert: DeviceCertificate,
    clock: Clock,
    notices: Vec<String>,
}

impl std::fmt::Debug for Home {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Home")
            .field("path", &self.path)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

fn secret_from_meta(store: &Store, key: MetaKey, home: &Path) -> Result<[u8; 32]> {
    match store.get_secret(key) {
        Ok(Some(secret)) => Ok(secret),
        Ok(None) => Err(Error::Damaged {
            what: format!(
                "the home at {} has no {key}; it is incomplete",
                home.display()
            ),
        }),
        Err(tapin_store::StoreError::MetaLength { .. }) => Err(Error::Damaged {
            what: format!("the {key} stored in {} is damaged", home.display()),
        }),
        Err(err) => Err(err.into()),
    }
}

impl Home {
    /// Creates a home: a person key, a device key certified by it, and the empty private
    /// documents.
    ///
    /// The home is a new directory (made private to its owner) or an empty one (left as it is),
    /// and it appears whole or not at all: everything is written into a new database that only
    /// then takes its place, so of several creates racing on one home exactly one succeeds, and
    /// an interrupted one leaves nothing that looks like a home.
    pub fn create(path: &Path, new: &NewHome, clock: Clock) -> Result<Created> {
        let name = new.name.trim();
        let device_name = new.device.trim();
        validate::text("name", name, validate::MAX_NAME, true, Mode::Input)
            .map_err(|e| Error::invalid(format!("--name {}", e.problem)))?;
        validate::text("device", device_name, MAX_DEVICE_NAME, true, Mode::Input)
            .map_err(|e| Error::invalid(format!("--device {}", e.problem)))?;
        let relay: tapin_net::endpoint::Relay = new
            .net
            .relay
            .parse()
            .map_err(|e: String| Error::invalid(format!("--relay: {e}")))?;
        let port = match new.net.port {
            Some(port) => port,
            None => {
                // A random port in the dynamic range, kept for good so friends find this home again.
                let r = random_secret()?;
                49152 + (u16::from_be_bytes([r[0], r[1]]) % (65535 - 49152))
            }
        };
        let person = PersonKey::from_secret(random_secret()?);
        let device = DeviceKey::from_secret(random_secret()?);
        let cert = person.certify(
            device.id(),
            device_name,
            Timestamp::from_datetime(clock.now()),
        );
        let created = Store::create(path, |store| -> Result<()> {
            store.transaction(&device.actor(), |txn| -> Result<()> {
                txn.set_meta(MetaKey::PersonSecret, &person.secret())?;
                txn.set_meta(MetaKey::DeviceSecret, &device.secret())?;
                txn.set_meta(MetaKey::DeviceCert, &cert.to_bytes())?;
                txn.set_meta(MetaKey::NetPort, port.to_string().as_bytes())?;
                txn.set_meta(MetaKey::NetBind, new.net.bind.to_string().as_bytes())?;
                txn.set_meta(MetaKey::NetRelay, relay.to_string().as_bytes())?;
                txn.set_meta(
                    MetaKey::NetMdns,
                    tapin_net::endpoint::Mdns::from(new.net.mdns)
                        .as_str()
                        .as_bytes(),
                )?;
                // The journal's week documents are made with their first entry.
                txn.update(&DocId::Private, |d| -> Result<()> {
                    Ok(docs::init(d, DocId::Private)?)
                })?;
                txn.set_meta(MetaKey::Name, name.as_bytes())?;
                Ok(())
            })
        });
        match created {
            Ok(_) => {}
            Err(Error::Store(cause)) => {
                return Err(match cause.downcast::<CreateError>() {
                    Ok(err) => match *err {
                        CreateError::AlreadyHome { .. } => Error::invalid(format!(
                            "{} already holds a tapin home; choose another with --home",
                            path.display()
                        )),
                        CreateError::NotEmpty { .. } => Error::invalid(format!(
                            "{} is not empty and is not a tapin home; choose a new or empty directory with --home",
                            path.display()
                        )),
                        other => Error::Create {
                            path: path.to_owned(),
                            source: Box::new(other),
                        },
                    },
                    Err(source) => Error::Create {
                        path: path.to_owned(),
                        source,
                    },
                });
            }
            Err(err) => return Err(err),
        }
        Ok(Created {
            home: path.to_owned(),
            name: name.to_owned(),
            person: person.id().to_string(),
            device: device.id().to_string(),
        })
    }

    /// Opens an initialised home. Never creates one: a use case on a missing home changes
    /// nothing.
    pub fn open(path: &Path, clock: Clock) -> Result<Home> {
        let db = path.join(DB_FILE);
        if !db.exists() {
            return Err(Error::NoHome(path.to_owned()));
        }
        // An empty database file is damage (a full disk, a bad copy), not a home to set up anew:
        // the store would lay out a fresh schema in it.
        if std::fs::metadata(&db).is_ok_and(|m| m.len() == 0) {
            return Err(Error::Damaged {
                what: format!(
                    "the database {} is empty; the home is damaged (restore it from a backup or an export)",
                    db.display()
                ),
            });
        }
        let store = Store::open(path).map_err(|e| Error::Open {
            path: path.to_owned(),
            source: Box::new(e),
        })?;
        let notices = crate::notices::tightened(store.tightened());
        let person = PersonKey::from_secret(secret_from_meta(&store, MetaKey::PersonSecret, path)?);
        let device = DeviceKey::from_secret(secret_from_meta(&store, MetaKey::DeviceSecret, path)?);
        let damaged = |what: &str| Error::Damaged {
            what: format!("the home at {} has no {what}", path.display()),
        };
        let name = store
            .get_meta(MetaKey::Name)?
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| damaged("display name"))?;
        let cert_bytes = store
            .get_meta(MetaKey::DeviceCert)?
            .ok_or_else(|| damaged("device certificate"))?;
        let cert = DeviceCertificate::from_bytes(&cert_bytes).map_err(|e| Error::Damaged {
            what: format!("this device's certificate is damaged: {e}"),
        })?;
        if cert.device != device.id() || cert.person != person.id() {
            return Err(Error::Damaged {
                what: format!(
                    "this device's certificate does not match its keys; the home at {} is damaged",
                    path.display()
                ),
            });
        }
        crate::journal::split_journal(&store, &device.actor())?;
        Ok(Home {
            path: path.to_owned(),
            store: Mutex::new(store),
            device,
            person,
            name,
            cert,
            clock,
            notices,
        })
    }

    /// The home directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What opening the home changed and the person should know (files made private to them).
    pub fn notices(&self) -> &[String] {
        &self.notices
    }

    /// Who this home belongs to.
    pub fn whoami(&self) -> Whoami {
        Whoami {
            name: self.name.clone(),
            person: self.person.id().to_string(),
            device: self.device.id().to_string(),
            device_name: self.cert.device_name.clone(),
            home: self.path.clone(),
        }
    }

    /// The person's display name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Now, by the home's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Today in the local time zone (the `TZ` environment variable applies).
    pub fn today(&self) -> Day {
        Day(self.now().with_timezone(&Local).date_naive())
    }

    /// Now, as stored in records.
    pub(crate) fn stamp(&self) -> Timestamp {
        Timestamp::from_datetime(self.now())
    }

    /// The store, for as long as the guard lives. A panic in another use case does not poison
    /// the home: the store's own transactions roll back on a panic, so what it holds is whole.
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs a use case that only reads. Decoded documents it read are cached for the next one
    /// only if it succeeds.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&mut Reader<'_>) -> Result<T>) -> Result<T> {
        let store = self.store();
        let mut reader = Reader::new(&store);
        let value = f(&mut reader)?;
        reader.finish();
        Ok(value)
    }

    /// Reads without caching what it decoded: for lookups that lead to another use case.
    pub(crate) fn peek<T>(&self, f: impl FnOnce(&mut Reader<'_>) -> Result<T>) -> Result<T> {
        let store = self.store();
        f(&mut Reader::new(&store))
    }

    /// Runs a use case that writes, as one SQLite transaction over every document it touches:
    /// all of it is written, or (on an error, a panic or a killed process) none of it. `f` runs
    /// under the store's write lock on the latest state, so it reads what it changes.
    /// What it decoded is cached once it has committed (and only if nothing it wrote made that
    /// stale).
    pub(crate) fn write<T>(&self, f: impl FnOnce(&mut Writer<'_, '_>) -> Result<T>) -> Result<T> {
        let store = self.store();
        let mut decoded = Vec::new();
        let value = store.transaction(&self.device.actor(), |txn: &mut Txn<'_>| {
            let mut writer = Writer::new(txn);
            let value = f(&mut writer)?;
            decoded = writer.decoded();
            Ok::<_, Error>(value)
        })?;
        crate::reading::keep(&store, decoded);
        Ok(value)
    }
}

/// `record` if it is valid as input ([`Mode::Input`]: ranges and length limits), else an error
/// naming `what` and the field.
pub(crate) fn checked<T: Validate>(what: &str, record: T) -> Result<T> {
    record.validate(Mode::Input).map_err(|e| {
        Error::invalid(format!(
            "the {what}'s {} {}",
            e.field.replace(['.', '_'], " "),
            e.problem
        ))
    })?;
    Ok(record)
}
