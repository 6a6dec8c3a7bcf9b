//! The network settings a use case runs with: the home's own (kept by `init`), overridden by what
//! the front-end passes for one command.

use std::net::IpAddr;
use std::path::PathBuf;

use tapin_net::Timeouts;
use tapin_net::endpoint::{NetConfig, Relay, RelayRoots};

use crate::error::{Error, Result};
use tapin_store::MetaKey;

use crate::home::Home;

/// Network settings for one command, each `None` leaving the home's own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetOverrides {
    /// The address to bind.
    pub bind: Option<IpAddr>,
    /// The UDP port.
    pub port: Option<u16>,
    /// Relays: `none`, `default` or a URL.
    pub relay: Option<String>,
    /// Local-network discovery over mDNS.
    pub mdns: Option<crate::Mdns>,
    /// A PEM file of root certificates to trust for the relay's TLS, beside the public ones:
    /// for a self-hosted relay with a certificate from a private CA.
    pub relay_ca: Option<PathBuf>,
    /// Shorter waits, for tests: `name=duration,…` (`pair_step=2s,handover=1s`); the names are
    /// those of the network's timeouts (the CLI reads it from `TAPIN_TIMEOUTS`).
    pub timeouts: Option<String>,
}

impl Home {
    /// [`Home::net_config`] on a blocking thread, for async use cases.
    pub(crate) async fn net_config_off_runtime(
        self: &std::sync::Arc<Self>,
        over: &NetOverrides,
    ) -> Result<NetConfig> {
        let (home, over) = (self.clone(), over.clone());
        crate::pairing::blocking(move || home.net_config(&over)).await
    }

    /// What this home's node says of itself to friends, with `config`, telling them the
    /// addresses `advertise` says.
    pub(crate) fn local(
        &self,
        config: &NetConfig,
        advertise: tapin_net::endpoint::Advertise,
    ) -> tapin_net::node::Local {
        tapin_net::node::Local {
            name: self.name.clone(),
            relay: config.relay.clone(),
            advertise,
            mdns: config.mdns.looks(),
        }
    }

    /// The network settings: the home's, overridden by `over`.
    pub(crate) fn net_config(&self, over: &NetOverrides) -> Result<NetConfig> {
        let timeouts = match &over.timeouts {
            Some(spec) => Timeouts::default().with_overrides(spec).map_err(|e| {
                Error::invalid(format!(
                    "TAPIN_TIMEOUTS (a setting for tests) is not valid: {}",
                    crate::error::chain(&e)
                ))
            })?,
            None => Timeouts::default(),
        };
        let mut config = NetConfig {
            bind: IpAddr::from([0, 0, 0, 0]),
            port: 0,
            relay: Relay::None,
            // A home without the setting (it is written at init) looks without announcing.
            mdns: crate::Mdns::default().into(),
            timeouts,
            relay_roots: RelayRoots::default(),
        };
        let stored = self.peek(|r| {
            let store = r.store();
            let text = |key: MetaKey| -> Result<Option<String>> {
                Ok(store
                    .get_meta(key)?
                    .map(|b| String::from_utf8_lossy(&b).into_owned()))
            };
            Ok([
                text(MetaKey::NetPort)?,
                text(MetaKey::NetBind)?,
                text(MetaKey::NetRelay)?,
                text(MetaKey::NetMdns)?,
            ])
        })?;
        let damaged = |what: &str, value: &str| Error::Damaged {
            what: format!("the stored {what} {value:?} is damaged"),
        };
        let [port, bind, relay, mdns] = stored;
        if let Some(port) = port {
            config.port = port.parse().map_err(|_| damaged("port", &port))?;
        }
        if let Some(bind) = bind {
            config.bind = bind.parse().map_err(|_| damaged("bind address", &bind))?;
        }
        if let Some(relay) = relay {
            config.relay = relay
                .parse()
                .map_err(|e: String| Error::Damaged { what: e })?;
        }
        if let Some(mdns) = mdns {
            // What this build does not know (a newer setting) reads as off: it never announces
            // more than the person chose.
            config.mdns = mdns.parse().unwrap_or(tapin_net::endpoint::Mdns::Off);
        }
        if let Some(bind) = over.bind {
            config.bind = bind;
        }
        if let Some(port) = over.port {
            config.port = port;
        }
        if let Some(relay) = &over.relay {
            config.relay = relay
                .parse()
                .map_err(|e: String| Error::invalid(format!("--relay: {e}")))?;
        }
        if let Some(mdns) = over.mdns {
            config.mdns = mdns.into();
        }
        if let Some(path) = &over.relay_ca {
            config.relay_roots = relay_roots(path)?;
        }
        Ok(config)
    }
}

/// The relay roots in the PEM file at `path`, or an error naming the file and what is wrong.
fn relay_roots(path: &std::path::Path) -> Result<RelayRoots> {
    let bad = |why: String| Error::invalid(format!("--relay-ca {}: {why}", path.display()));
    let pem = std::fs::read(path).map_err(|e| bad(format!("cannot read it: {e}")))?;
    RelayRoots::from_pem(&pem).map_err(|e| bad(crate::error::chain(&e)))
}

#[cfg(test)]
mod tests {
    use tapin_net::endpoint::Mdns;

    use super::*;
    use crate::{Clock, NetSettings, NewHome};

    fn home(mdns: crate::Mdns) -> (tempfile::TempDir, Home) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("maya");
        let new = NewHome {
            name: "Maya".into(),
            device: "laptop".into(),
            net: NetSettings {
                mdns,
                ..NetSettings::default()
            },
        };
        let at = "2026-11-22T12:00:00Z".parse().expect("a time");
        Home::create(&path, &new, Clock::Fixed(at)).expect("created");
        (dir, Home::open(&path, Clock::Fixed(at)).expect("opened"))
    }

    /// A new home listens without announcing; `on` announces; a command can override either.
    #[test]
    fn mdns_is_kept_as_init_chose_it_and_a_command_overrides_it() {
        let (_dir, listening) = home(crate::Mdns::default());
        let none = NetOverrides::default();
        assert_eq!(
            listening.net_config(&none).expect("config").mdns,
            Mdns::Listen
        );
        let (_dir, announcing) = home(crate::Mdns::On);
        assert_eq!(
            announcing.net_config(&none).expect("config").mdns,
            Mdns::Announce
        );
        let off = NetOverrides {
            mdns: Some(crate::Mdns::Off),
            ..NetOverrides::default()
        };
        assert_eq!(announcing.net_config(&off).expect("config").mdns, Mdns::Off);
    }

    /// A stored value this build does not know (a newer tapin's) never announces.
    #[test]
    fn an_unknown_stored_mdns_setting_reads_as_off() {
        let (_dir, home) = home(crate::Mdns::On);
        home.peek(|r| Ok(r.store().set_meta(MetaKey::NetMdns, b"only-on-tuesdays")?))
            .expect("written");
        let config = home.net_config(&NetOverrides::default()).expect("config");
        assert_eq!(config.mdns, Mdns::Off);
    }

    /// A relay CA file that is missing or holds no certificate is refused, naming the file.
    #[test]
    fn a_relay_ca_file_that_cannot_be_used_is_refused_naming_it() {
        let (dir, home) = home(crate::Mdns::Off);
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").expect("written");
        for (path, why) in [
            (dir.path().join("missing.pem"), "cannot read it"),
            (empty, "no certificate"),
        ] {
            let over = NetOverrides {
                relay_ca: Some(path.clone()),
                ..NetOverrides::default()
            };
            let err = home.net_config(&over).expect_err("refused").to_string();
            assert!(
                err.contains(&format!("--relay-ca {}", path.display())),
                "{err}"
            );
            assert!(err.contains(why), "{err}");
        }
    }
}
