//! `tapin init` and `tapin whoami`.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;
use tapin_core::DocId;
use tapin_core::docs;
use tapin_core::identity::{DeviceKey, MAX_DEVICE_NAME, PersonKey};
use tapin_core::time::Timestamp;
use tapin_core::validate::{self, Mode};
use tapin_store::{CreateError, MetaKey, Store};

use crate::app::{self, App};
use crate::output::{self, BOLD, DIM, paint};

/// Network settings chosen at init.
#[derive(Debug)]
pub(crate) struct NetSettings {
    pub(crate) port: Option<u16>,
    pub(crate) bind: std::net::IpAddr,
    pub(crate) relay: String,
    pub(crate) mdns: bool,
}

/// Creates a home: a person key, a device key certified by it, and the empty private documents.
///
/// The home is a new directory (made private to its owner) or an empty one (left as it is), and
/// it appears whole or not at all: everything is written into a new database that only then
/// takes its place ([`Store::create`]), so of several `init`s racing on one home exactly one
/// succeeds, and an interrupted one leaves nothing that looks like a home.
pub(crate) fn init(
    home: &Path,
    name: &str,
    device_name: &str,
    net: &NetSettings,
    json: bool,
) -> Result<()> {
    let name = name.trim();
    let device_name = device_name.trim();
    validate::text("name", name, validate::MAX_NAME, true, Mode::Input)
        .map_err(|e| anyhow::anyhow!("--name {}", e.problem))?;
    validate::text("device", device_name, MAX_DEVICE_NAME, true, Mode::Input)
        .map_err(|e| anyhow::anyhow!("--device {}", e.problem))?;
    let relay: tapin_net::endpoint::Relay = net
        .relay
        .parse()
        .map_err(|e: String| anyhow::anyhow!("--relay: {e}"))?;
    let port = match net.port {
        Some(port) => port,
        None => {
            // A random port in the dynamic range, kept for good so friends find this home again.
            let r = app::random_secret()?;
            49152 + (u16::from_be_bytes([r[0], r[1]]) % (65535 - 49152))
        }
    };
    let person = PersonKey::from_secret(app::random_secret()?);
    let device = DeviceKey::from_secret(app::random_secret()?);
    let cert = person.certify(
        device.id(),
        device_name,
        Timestamp::from_datetime(app::now()?),
    );
    Store::create(home, |store| -> Result<()> {
        store.transaction(&device.actor(), |txn| -> Result<()> {
            txn.set_meta(MetaKey::PersonSecret, &person.secret())?;
            txn.set_meta(MetaKey::DeviceSecret, &device.secret())?;
            txn.set_meta(MetaKey::DeviceCert, &cert.to_bytes())?;
            txn.set_meta(MetaKey::NetPort, port.to_string().as_bytes())?;
            txn.set_meta(MetaKey::NetBind, net.bind.to_string().as_bytes())?;
            txn.set_meta(MetaKey::NetRelay, relay.to_string().as_bytes())?;
            txn.set_meta(MetaKey::NetMdns, if net.mdns { b"on" } else { b"off" })?;
            for doc in [DocId::Private, DocId::Journal] {
                txn.update(&doc, |d| -> Result<()> { Ok(docs::init(d, doc)?) })
                    .with_context(|| format!("could not create document {doc}"))?;
            }
            txn.set_meta(MetaKey::Name, name.as_bytes())?;
            Ok(())
        })
    })
    .map_err(|err| match err.downcast_ref::<CreateError>() {
        Some(CreateError::AlreadyHome { .. }) => anyhow::anyhow!(
            "{} already holds a tapin home; choose another with --home",
            home.display()
        ),
        Some(CreateError::NotEmpty { .. }) => anyhow::anyhow!(
            "{} is not empty and is not a tapin home; choose a new or empty directory with --home",
            home.display()
        ),
        _ => err.context(format!("could not create a home at {}", home.display())),
    })?;
    if json {
        return output::json(&serde_json::json!({
            "home": home, "name": name, "person": person.id().to_string(), "device": device.id().to_string(),
        }));
    }
    let mut out = output::stdout();
    writeln!(
        out,
        "Welcome, {}. Your home is {}.",
        paint(BOLD, name),
        home.display()
    )?;
    writeln!(
        out,
        "{}",
        paint(
            DIM,
            format!(
                "person {}  device {}",
                person.id().short(),
                device.id().short()
            )
        )
    )?;
    writeln!(
        out,
        "Next: `tapin person add NAME` for someone you want to nurture a relationship with."
    )?;
    Ok(())
}

#[derive(Serialize)]
struct Whoami<'a> {
    name: &'a str,
    person: String,
    device: String,
    device_name: &'a str,
    home: &'a Path,
}

/// Shows the identity of this home.
pub(crate) fn whoami(app: &App, json: bool) -> Result<()> {
    let me = Whoami {
        name: &app.name,
        person: app.person.id().to_string(),
        device: app.device.id().to_string(),
        device_name: &app.cert.device_name,
        home: &app.home,
    };
    if json {
        return output::json(&me);
    }
    let mut out = output::stdout();
    writeln!(out, "{}", paint(BOLD, me.name))?;
    writeln!(out, "person  {}", me.person)?;
    writeln!(out, "device  {} ({})", me.device, me.device_name)?;
    writeln!(out, "home    {}", me.home.display())?;
    Ok(())
}
