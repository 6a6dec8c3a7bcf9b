//! `tapin init` and `tapin whoami`.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Serialize;
use tapin_core::DocId;
use tapin_core::docs;
use tapin_core::identity::{DeviceKey, PersonKey};
use tapin_core::time::Timestamp;
use tapin_store::Store;

use crate::app::{
    self, App, DB_FILE, META_DEVICE_CERT, META_DEVICE_SECRET, META_NAME, META_PERSON_SECRET,
};
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
pub(crate) fn init(
    home: &Path,
    name: &str,
    device_name: &str,
    net: &NetSettings,
    json: bool,
) -> Result<()> {
    let name = name.trim();
    if name.is_empty() {
        bail!("--name cannot be empty");
    }
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
    if home.join(DB_FILE).exists() {
        bail!(
            "{} already holds a tapin home; choose another with --home",
            home.display()
        );
    }
    let person = PersonKey::from_secret(app::random_secret()?);
    let device = DeviceKey::from_secret(app::random_secret()?);
    let cert = person.certify(
        device.id(),
        device_name,
        Timestamp::from_datetime(app::now()?),
    );
    let store = Store::open(home)
        .with_context(|| format!("could not create a home at {}", home.display()))?;
    restrict_permissions(home)?;
    // The name is written last: a home interrupted half-way is refused by `App::open` as
    // incomplete rather than silently half-initialised.
    store.set_meta(META_PERSON_SECRET, &person.secret())?;
    store.set_meta(META_DEVICE_SECRET, &device.secret())?;
    store.set_meta(META_DEVICE_CERT, &cert.to_bytes())?;
    store.set_meta(app::META_NET_PORT, port.to_string().as_bytes())?;
    store.set_meta(app::META_NET_BIND, net.bind.to_string().as_bytes())?;
    store.set_meta(app::META_NET_RELAY, relay.to_string().as_bytes())?;
    store.set_meta(app::META_NET_MDNS, if net.mdns { b"on" } else { b"off" })?;
    for doc in [DocId::Private, DocId::Journal] {
        store
            .update(&doc, &device.actor(), |d| docs::init(d, doc))
            .with_context(|| format!("could not create document {doc}"))?;
    }
    store.set_meta(META_NAME, name.as_bytes())?;
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

/// The home holds secret keys and private words: only its owner may read it.
#[cfg(unix)]
fn restrict_permissions(home: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(home, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("could not make {} private to you", home.display()))
}

#[cfg(not(unix))]
fn restrict_permissions(_home: &Path) -> Result<()> {
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
