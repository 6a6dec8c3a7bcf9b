//! A device that changes networks: the home of one [`Site`] joins another site's router, as a
//! laptop leaves the wifi for a phone's hotspot, and its traffic leaves through that router from
//! then on: a new local address, a new NAT, a new public address.
//!
//! ```text
//!   router 1 ── lan ── home 1 (eth0 10.0.1.2, down after the switch)
//!                        └── eth1 10.1.3.2 ── lan2 ── router 3 (10.1.3.1) ── internet
//! ```

use super::internet::Site;

impl Site<'_> {
    /// Moves this site's home onto `other`'s router: a new interface `eth1` on a LAN of its own
    /// there (10.1.N.2/24, N being `other`'s number), the old interface down, the default route
    /// through `other`. Processes in the home keep running, as on a laptop that roams.
    #[track_caller]
    pub fn roam_to(&self, other: &Site<'_>) {
        let n = other.lan.octets()[2];
        let (gateway, addr) = (format!("10.1.{n}.1"), format!("10.1.{n}.2"));
        super::veth(&self.home, "eth1", &other.router, "lan2");
        other
            .router
            .ip(&["addr", "add", &format!("{gateway}/24"), "dev", "lan2"]);
        other.router.ip(&["link", "set", "lan2", "up"]);
        self.home
            .ip(&["addr", "add", &format!("{addr}/24"), "dev", "eth1"]);
        self.home.ip(&["link", "set", "eth1", "up"]);
        // The wifi goes away: its address with it, as when the laptop leaves its range.
        self.home.ip(&["addr", "flush", "dev", "eth0"]);
        self.home.ip(&["link", "set", "eth0", "down"]);
        self.home.ip(&[
            "route", "replace", "default", "via", &gateway, "dev", "eth1",
        ]);
    }

    /// The packets the home sent through `other`'s router since it roamed there.
    #[track_caller]
    pub fn packets_through(&self, other: &Site<'_>) -> u64 {
        let out = other
            .router
            .command("cat")
            .arg("/sys/class/net/lan2/statistics/rx_packets")
            .stdin(std::process::Stdio::null())
            .output()
            .expect("read lan2's statistics");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or_else(|_| {
                panic!(
                    "{} has not roamed to {}",
                    self.home.name(),
                    other.router.name()
                )
            })
    }
}
