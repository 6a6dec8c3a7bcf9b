//! A local network without internet: a wifi whose router has no uplink, and devices on it.
//!
//! ```text
//!   router (bridge br0, 10.2.0.1/24, ip_forward=0: no route out, no relay)
//!        │                 │
//!   device 1: 10.2.0.11    device 2: 10.2.0.12     (default via 10.2.0.1)
//! ```
//!
//! Devices find each other only by their addresses or by mDNS (multicast on the bridge). A
//! device can take a new address, as a new DHCP lease gives it ([`Lan::renew`]).

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU8, Ordering};

use super::Netns;

/// The LAN's router: a namespace with the bridge every device plugs into. Deleted when dropped.
#[derive(Debug)]
pub struct Lan {
    /// The router.
    pub router: Netns,
    /// Devices plugged in so far, for their numbers.
    devices: AtomicU8,
}

impl Lan {
    /// The router's address on the LAN.
    pub const ROUTER_IP: Ipv4Addr = Ipv4Addr::new(10, 2, 0, 1);

    /// A LAN with nothing on it yet.
    #[track_caller]
    pub fn start() -> Lan {
        let router = Netns::new("lanrouter");
        router.sysctl("net.ipv4.ip_forward=0");
        router.sysctl("net.ipv6.conf.all.disable_ipv6=1");
        router.ip(&["link", "add", "br0", "type", "bridge"]);
        router.ip(&[
            "addr",
            "add",
            &format!("{}/24", Self::ROUTER_IP),
            "dev",
            "br0",
        ]);
        router.ip(&["link", "set", "br0", "up"]);
        Lan {
            router,
            devices: AtomicU8::new(0),
        }
    }

    /// A device plugged into the LAN at 10.2.0.(10+N)/24, its default route the router (which
    /// leads nowhere): as a DHCP lease on a wifi without internet leaves it.
    #[track_caller]
    pub fn device(&self) -> Netns {
        let n = self.devices.fetch_add(1, Ordering::SeqCst) + 1;
        assert!(n <= 200, "a LAN has room for 200 devices");
        let device = Netns::new(&format!("lan{n}"));
        device.sysctl("net.ipv6.conf.all.disable_ipv6=1");
        let port = format!("dev{n}");
        super::veth(&device, "eth0", &self.router, &port);
        self.router.ip(&["link", "set", &port, "master", "br0"]);
        self.router.ip(&["link", "set", &port, "up"]);
        device.ip(&["link", "set", "eth0", "up"]);
        Lan::lease(&device, Ipv4Addr::new(10, 2, 0, 10 + n));
        device
    }

    /// Gives `device` a new address, as a new DHCP lease does: the old one is gone.
    #[track_caller]
    pub fn renew(&self, device: &Netns, addr: Ipv4Addr) {
        device.ip(&["addr", "flush", "dev", "eth0"]);
        Lan::lease(device, addr);
    }

    fn lease(device: &Netns, addr: Ipv4Addr) {
        device.ip(&["addr", "add", &format!("{addr}/24"), "dev", "eth0"]);
        device.ip(&[
            "route",
            "replace",
            "default",
            "via",
            &Self::ROUTER_IP.to_string(),
        ]);
    }
}
