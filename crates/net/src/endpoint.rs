//! Binding the iroh endpoint with tapin's settings, and the allowlist hook.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use iroh::endpoint::{AfterHandshakeOutcome, Connection, EndpointHooks, presets};
use iroh::{Endpoint, EndpointAddr, PublicKey, RelayMode, RelayUrl, SecretKey, TransportAddr};
use tapin_core::identity::DeviceId;
use tapin_core::pairing::Reach;

use crate::Timeouts;
use crate::version::{PairVersion, SyncVersion};

/// Which relays an endpoint may use. Relays only forward encrypted packets; nothing is stored on
/// them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Relay {
    /// No relay: direct connections only (LAN, loopback, reachable addresses).
    None,
    /// iroh's public default relays, for NAT traversal across the internet.
    Default,
    /// A relay of one's own.
    Custom(String),
}

impl std::str::FromStr for Relay {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" | "" => Ok(Relay::None),
            "default" => Ok(Relay::Default),
            url if url.starts_with("https://") || url.starts_with("http://") => {
                // Friends check a relay URL with `relay_url` before they use it: refuse here what
                // they would refuse there.
                tapin_core::pairing::relay_url(url).map_err(|e| e.to_string())?;
                url.parse::<RelayUrl>()
                    .map(|_| Relay::Custom(url.to_owned()))
                    .map_err(|e| format!("invalid relay URL {url:?}: {e}"))
            }
            other => Err(format!(
                "relay must be none, default or a URL, not {other:?}"
            )),
        }
    }
}

impl std::fmt::Display for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Relay::None => f.write_str("none"),
            Relay::Default => f.write_str("default"),
            Relay::Custom(url) => f.write_str(url),
        }
    }
}

/// How a home's endpoint binds and finds peers, and how long it waits for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetConfig {
    /// The address to bind (`0.0.0.0` for every interface, `127.0.0.1` for loopback only).
    pub bind: IpAddr,
    /// The UDP port; stable per home so friends can find it again (0: any free port).
    pub port: u16,
    /// Relays.
    pub relay: Relay,
    /// Local-network discovery over mDNS.
    pub mdns: Mdns,
    /// How long every network step may take ([`Timeouts::default`] outside tests).
    pub timeouts: Timeouts,
    /// Certificates to trust for a relay's TLS beside the usual public roots.
    pub relay_roots: RelayRoots,
}

/// Local-network discovery (mDNS): whether to look for friends' devices on the networks this
/// device joins, and whether to announce this one. An announcement carries the device id (its
/// public key) and addresses to everyone on the network, so it links the device's visits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mdns {
    /// Neither look nor announce: friends are reached only at the addresses known for them, or
    /// through a relay.
    Off,
    /// Look for devices that announce themselves; never announce this one.
    Listen,
    /// Look, and announce this device.
    Announce,
}

impl Mdns {
    /// Whether it looks for friends on the local network at all.
    pub fn looks(self) -> bool {
        self != Mdns::Off
    }

    /// The setting as stored (`net.mdns`) and typed: `off`, `listen`, `on`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mdns::Off => "off",
            Mdns::Listen => "listen",
            Mdns::Announce => "on",
        }
    }
}

impl std::str::FromStr for Mdns {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "off" => Ok(Mdns::Off),
            "listen" => Ok(Mdns::Listen),
            "on" => Ok(Mdns::Announce),
            other => Err(format!(
                "{other:?} is not an mDNS setting: on (look and announce), listen (look only) or off"
            )),
        }
    }
}

/// Root certificates a relay's TLS may chain to, beside the public ones iroh embeds (Mozilla's):
/// for a self-hosted relay whose certificate comes from a private CA. iroh checks them for the
/// relay's HTTPS and for its QUIC address discovery (how a device behind a NAT learns its public
/// address, which hole punching needs). They are trusted for relays only: a friend's device is
/// always authenticated by its key, never by a certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RelayRoots(Vec<Vec<u8>>);

/// A file of relay roots that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RelayRootsError {
    /// Not PEM, or a damaged block.
    #[error("it is not a PEM file of certificates")]
    Pem(#[source] rustls_pki_types::pem::Error),
    /// PEM, but without a certificate in it.
    #[error("it holds no certificate (no \"-----BEGIN CERTIFICATE-----\" block)")]
    Empty,
}

impl RelayRoots {
    /// The certificates of a PEM file (every `CERTIFICATE` block; other blocks are ignored).
    pub fn from_pem(pem: &[u8]) -> Result<RelayRoots, RelayRootsError> {
        use rustls_pki_types::CertificateDer;
        use rustls_pki_types::pem::PemObject;
        let certs = CertificateDer::pem_slice_iter(pem)
            .map(|cert| cert.map(|c| c.to_vec()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(RelayRootsError::Pem)?;
        if certs.is_empty() {
            return Err(RelayRootsError::Empty);
        }
        Ok(RelayRoots(certs))
    }

    /// How iroh takes them: the embedded public roots, plus these.
    fn ca_tls_config(&self) -> Option<iroh::tls::CaTlsConfig> {
        (!self.0.is_empty()).then(|| {
            iroh::tls::CaTlsConfig::embedded().with_extra_roots(
                self.0
                    .iter()
                    .map(|der| rustls_pki_types::CertificateDer::from(der.clone())),
            )
        })
    }
}

impl NetConfig {
    /// Loopback only, any port, no relay, no mDNS: what tests use.
    pub fn loopback() -> Self {
        NetConfig {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            relay: Relay::None,
            mdns: Mdns::Off,
            timeouts: Timeouts::default(),
            relay_roots: RelayRoots::default(),
        }
    }
}

/// Decides which devices may connect. Consulted after every handshake: [`Gate::allow_sync`] for
/// every sync ALPN (the outdated `tapin/sync/1` included), [`Gate::allow_pairing`] for every
/// pairing ALPN. Both are called on a blocking thread (`spawn_blocking`), never on the async
/// runtime, so they may read a store.
pub trait Gate: std::fmt::Debug + Send + Sync + 'static {
    /// Whether this device (its endpoint id) is currently paired and may sync.
    fn allow_sync(&self, device: &[u8; 32]) -> bool;
    /// Whether an invitation is open, so unknown devices may try to pair.
    fn allow_pairing(&self) -> bool;
    /// For a device refused sync: the close reason carrying the signed notice that this side
    /// ended the pairing with its person, when it did so with a notice. Answered with [`ENDED`].
    fn ended(&self, _device: &[u8; 32]) -> Option<Vec<u8>> {
        None
    }
}

/// The iroh hook that applies a [`Gate`] right after the handshake.
#[derive(Debug)]
struct GateHook(Arc<dyn Gate>);

/// What the gate is asked about a connection.
#[derive(Debug, Clone, Copy)]
enum Check {
    /// May this device sync?
    Sync,
    /// Is an invitation open?
    Pairing,
    /// Nothing: no tapin protocol, refused.
    Nothing,
}

/// QUIC application close code for a refused connection.
pub const REFUSED: u32 = 403;

/// QUIC application close code for a sync connection from a device whose person this side ended
/// the pairing with (as HTTP's 410 Gone): the reason carries the signed notice
/// (`tapin_core::pairing::EndNotice::close_reason`).
pub const ENDED: u32 = 410;

impl EndpointHooks for GateHook {
    async fn after_handshake<'a>(&'a self, conn: &'a Connection) -> AfterHandshakeOutcome {
        // Only incoming connections are gated: dialing a friend or an inviter is our own choice.
        if conn.side().is_client() {
            return AfterHandshakeOutcome::accept();
        }
        let remote = *conn.remote_id().as_bytes();
        let alpn = conn.alpn();
        // Every sync version, the outdated one included: only a paired device may learn, from
        // the "update tapin" answer, whose device this is.
        let (check, why): (Check, &[u8]) = if SyncVersion::of(alpn).is_some() {
            (Check::Sync, b"not paired")
        } else if PairVersion::of(alpn).is_some() {
            (Check::Pairing, b"no open invitation")
        } else {
            (Check::Nothing, b"unknown protocol")
        };
        // A gate may read the store: off the runtime. A check that does not finish refuses.
        let gate = self.0.clone();
        let answer = crate::shared::off_runtime(move || match check {
            Check::Sync if gate.allow_sync(&remote) => Ok(()),
            Check::Sync => Err(gate.ended(&remote)),
            Check::Pairing if gate.allow_pairing() => Ok(()),
            Check::Pairing | Check::Nothing => Err(None),
        })
        .await
        .unwrap_or(Err(None));
        let notice = match answer {
            Ok(()) => return AfterHandshakeOutcome::accept(),
            Err(notice) => notice,
        };
        if let Some(notice) = notice {
            tracing::info!(
                remote = %conn.remote_id().fmt_short(),
                "refused connection: the pairing was ended; answered with the notice"
            );
            return AfterHandshakeOutcome::Reject {
                error_code: ENDED.into(),
                reason: notice,
            };
        }
        tracing::info!(
            remote = %conn.remote_id().fmt_short(),
            alpn = %String::from_utf8_lossy(alpn),
            "refused connection: {}",
            String::from_utf8_lossy(why)
        );
        AfterHandshakeOutcome::Reject {
            error_code: REFUSED.into(),
            reason: why.to_vec(),
        }
    }
}

/// Binding failed.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// The address is malformed or unusable.
    #[error("cannot bind {addr}")]
    Addr {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The endpoint could not start (the port may be in use).
    #[error("cannot listen on {addr} (is the port in use?)")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// A dial did not connect.
#[derive(Debug, thiserror::Error)]
pub enum DialError {
    /// Nothing to dial: no address, and no relay this endpoint can use.
    #[error("no known address")]
    NoAddress,
    /// The device id is not a valid endpoint id (a damaged record).
    #[error("{device} is not a valid endpoint id")]
    NotAnEndpoint {
        /// The device, as stored.
        device: String,
    },
    /// Nothing answered in time.
    #[error("timed out after {0:?}")]
    TimedOut(std::time::Duration),
    /// The connection failed (refused, closed, or the handshake failed). Boxed: iroh's error is
    /// large, and this travels in every `Result` of a dial.
    #[error(transparent)]
    Connect(Box<iroh::endpoint::ConnectError>),
}

impl From<iroh::endpoint::ConnectError> for DialError {
    fn from(err: iroh::endpoint::ConnectError) -> Self {
        DialError::Connect(Box::new(err))
    }
}

/// Binds an endpoint with the device's secret key, guarded by `gate`, accepting `alpns`.
pub async fn bind(
    device_secret: [u8; 32],
    config: &NetConfig,
    gate: Arc<dyn Gate>,
    alpns: Vec<Vec<u8>>,
) -> Result<Endpoint, BindError> {
    let addr = SocketAddr::new(config.bind, config.port);
    let relay_mode = match &config.relay {
        Relay::None => RelayMode::Disabled,
        Relay::Default => RelayMode::Default,
        Relay::Custom(url) => {
            let url: RelayUrl = url.parse().map_err(|e| BindError::Addr {
                addr,
                source: Box::new(e),
            })?;
            RelayMode::custom([url])
        }
    };
    let mut builder = Endpoint::builder(presets::Minimal)
        .secret_key(SecretKey::from_bytes(&device_secret))
        .alpns(alpns)
        .relay_mode(relay_mode)
        .clear_ip_transports()
        .bind_addr(addr)
        .map_err(|e| BindError::Addr {
            addr,
            source: Box::new(e),
        })?
        .hooks(GateHook(gate));
    if let Some(ca) = config.relay_roots.ca_tls_config() {
        builder = builder.ca_tls_config(ca);
    }
    if config.mdns.looks() {
        // Addresses only: the relay's URL (which may name a self-hosted relay's owner) is for
        // friends, who learn it at each exchange, not for everyone on the network.
        builder = builder.address_lookup(
            iroh_mdns_address_lookup::MdnsAddressLookup::builder()
                .advertise(config.mdns == Mdns::Announce)
                .addr_filter(iroh::address_lookup::AddrFilter::ip_only()),
        );
    }
    builder.bind().await.map_err(|e| BindError::Bind {
        addr,
        source: Box::new(e),
    })
}

/// The direct addresses an endpoint listens on, for tickets and for friends to dial.
pub fn direct_addrs(ep: &Endpoint) -> Vec<SocketAddr> {
    let mut addrs: Vec<SocketAddr> = ep.addr().ip_addrs().copied().collect();
    if addrs.is_empty() {
        addrs = ep.bound_sockets();
    }
    addrs.sort();
    addrs.dedup();
    addrs
}

impl Relay {
    /// Whether the endpoint has a relay transport at all: with `none`, iroh cannot use a
    /// friend's relay either.
    pub fn enabled(&self) -> bool {
        *self != Relay::None
    }
}

/// The relay friends should dial this device through: the configured one, or with the default
/// relays the one iroh chose as home (waiting up to `timeouts.relay` for it); `None` without a
/// relay, or when the default relays cannot be reached. Canonical ([`tapin_core::pairing::relay_url`]).
pub async fn home_relay(ep: &Endpoint, relay: &Relay, timeouts: &Timeouts) -> Option<String> {
    let url = match relay {
        Relay::None => return None,
        Relay::Custom(url) => url.clone(),
        Relay::Default => {
            let _ = tokio::time::timeout(timeouts.relay, ep.online()).await;
            ep.addr().relay_urls().next()?.to_string()
        }
    };
    tapin_core::pairing::relay_url(&url).ok()
}

/// Which direct addresses a device tells its friends to dial. Only addresses it is bound to:
/// a command whose endpoint is not where the home's node listens (`tapin join` or `tapin invite`
/// beside a running `tapin serve`) gives its own, and the node corrects the friend's copy at its
/// first exchange with them (see docs/PROTOCOL.md, "Reach").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advertise {
    /// The addresses the endpoint listens on.
    Bound,
    /// None: the friend keeps the addresses it knows (`tapin sync` on a port other than the
    /// home's, which it gives up a moment later).
    Nothing,
}

/// Where this device can be dialled now: its direct addresses (as `advertise` says) and, unless
/// the relay is off, its home relay (the configured one, or with the default relays the one iroh
/// chose, if it has chosen yet). Cut to what a message may carry.
pub fn my_reach(ep: &Endpoint, relay: &Relay, advertise: Advertise) -> Reach {
    let addrs = match advertise {
        Advertise::Bound => direct_addrs(ep),
        Advertise::Nothing => Vec::new(),
    };
    let relay = match relay {
        Relay::None => None,
        Relay::Custom(url) => Some(url.clone()),
        Relay::Default => ep.addr().relay_urls().next().map(ToString::to_string),
    };
    Reach { addrs, relay }.capped()
}

/// Which port an endpoint bound with [`bind_home`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holds {
    /// The home's stable port, where friends dial this device.
    HomePort,
    /// Another port: something else holds the home's (its `tapin serve`, usually). This endpoint
    /// is a second one for the same device, reachable only at its own addresses.
    OtherPort,
    /// The home has no stable port (port 0): any port, as every command of that home.
    AnyPort,
}

/// Binds like [`bind`] on the home's stable port; if that fails (a `tapin serve` holds it), on
/// any free port instead. Says which it holds.
pub async fn bind_home(
    device_secret: [u8; 32],
    config: &NetConfig,
    gate: Arc<dyn Gate>,
    alpns: Vec<Vec<u8>>,
) -> Result<(Endpoint, Holds), BindError> {
    if config.port == 0 {
        let ep = bind(device_secret, config, gate, alpns).await?;
        return Ok((ep, Holds::AnyPort));
    }
    match bind(device_secret, config, gate.clone(), alpns.clone()).await {
        Ok(ep) => Ok((ep, Holds::HomePort)),
        Err(err) => {
            tracing::debug!(
                port = config.port,
                "the home's port is taken, binding another: {}",
                crate::chain(&err)
            );
            let any = NetConfig {
                port: 0,
                ..config.clone()
            };
            let ep = bind(device_secret, &any, gate, alpns).await?;
            Ok((ep, Holds::OtherPort))
        }
    }
}

/// Where to dial a device known at `reach`: its direct addresses, and its relay when this
/// endpoint has a relay transport (`relay_enabled`) and the URL parses; iroh tries them all and
/// keeps what works. `None` if the device id is not a valid endpoint id.
pub fn dial_addr(device: DeviceId, reach: &Reach, relay_enabled: bool) -> Option<EndpointAddr> {
    let id = PublicKey::from_bytes(&device.to_bytes()).ok()?;
    let relay = reach
        .relay
        .as_deref()
        .filter(|_| relay_enabled)
        .and_then(|r| r.parse::<RelayUrl>().ok())
        .map(TransportAddr::Relay);
    Some(EndpointAddr::from_parts(
        id,
        reach
            .addrs
            .iter()
            .copied()
            .map(TransportAddr::Ip)
            .chain(relay),
    ))
}

#[cfg(test)]
mod relay_roots_tests {
    use super::{RelayRoots, RelayRootsError};

    #[test]
    fn a_file_without_a_certificate_is_refused_saying_so() {
        for pem in [
            &b""[..],
            b"not pem at all",
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        ] {
            let err = RelayRoots::from_pem(pem).expect_err("no certificate");
            assert!(matches!(err, RelayRootsError::Empty), "{err:?}");
            assert!(err.to_string().contains("no certificate"), "{err}");
        }
    }

    #[test]
    fn a_damaged_certificate_block_is_refused() {
        let pem = b"-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----\n";
        let err = RelayRoots::from_pem(pem).expect_err("damaged");
        assert!(matches!(err, RelayRootsError::Pem(_)), "{err:?}");
    }

    #[test]
    fn every_certificate_of_a_file_is_kept() {
        let block = "-----BEGIN CERTIFICATE-----\nAQID\n-----END CERTIFICATE-----\n";
        let roots = RelayRoots::from_pem(format!("{block}{block}").as_bytes()).expect("two");
        assert_eq!(roots.0, vec![vec![1, 2, 3], vec![1, 2, 3]]);
        assert!(roots.ca_tls_config().is_some());
        assert!(RelayRoots::default().ca_tls_config().is_none());
    }
}
