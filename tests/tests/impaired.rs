//! An impaired link (issue 12): the lab's uplinks delayed and lossy in user space
//! (`tapin_e2e::lab::internet`, `tapin-test-link`), checked against what was asked for, and
//! tapin syncing across them.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use tapin_e2e::lab::internet::{Impairment, Internet, Nat, UdpEcho, udp_rtt};

/// Datagrams in each round-trip measurement: enough that the loss measured says something
/// about the loss configured (see the bound below).
const PROBES: usize = 1_000;

/// The gap between two probes: 1,000 of them take one second to send.
const PROBE_GAP: Duration = Duration::from_millis(1);

/// The lab itself, checked before any result that depends on it: an uplink impaired with a
/// delay of 75 ms each way and 3 % loss each way makes a round trip through it of at least
/// 150 ms (and not much more), loses about 1 − 0.97² ≈ 5.9 % of round trips, and carries no
/// impairment once it is lifted.
#[test]
fn an_impaired_uplink_delays_and_drops_what_it_was_told_to() {
    let internet = Internet::start();
    let site = internet.site(Nat::Home);
    let echo = UdpEcho::start(&internet.ns, SocketAddr::from((Internet::RELAY_IP, 7001)));
    let from = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 5000));
    let measure = || {
        udp_rtt(
            &site.home,
            from,
            echo.listening,
            PROBES,
            PROBE_GAP,
            Duration::from_secs(2),
        )
    };

    let plain = measure();
    let delay = Duration::from_millis(75);
    site.impair(Impairment {
        delay,
        loss_percent: 3.0,
    });
    let impaired = measure();
    let stats = site.link_stats();
    site.unimpair();
    let lifted = measure();

    #[allow(clippy::print_stderr)]
    {
        for (what, rtts) in [
            ("plain", &plain),
            ("impaired", &impaired),
            ("lifted", &lifted),
        ] {
            eprintln!(
                "{what}: {} of {} answered ({:.1} % lost), round trip min {:.1?}, median {:.1?}, p99 {:.1?}",
                rtts.answered.len(),
                rtts.sent,
                rtts.loss() * 100.0,
                rtts.percentile(0),
                rtts.percentile(50),
                rtts.percentile(99),
            );
        }
        eprintln!("link: {stats:?}");
    }

    assert_eq!(plain.answered.len(), PROBES, "an unimpaired uplink lost");
    assert_eq!(
        lifted.answered.len(),
        PROBES,
        "a lifted impairment still lost"
    );
    let rtt = 2 * delay;
    assert!(
        impaired.percentile(0) >= rtt,
        "a round trip took less than the {rtt:?} asked for: {:?}",
        impaired.percentile(0)
    );
    // Generous, for a busy 2-core machine: the link adds microseconds, the scheduler a few
    // milliseconds at worst.
    assert!(
        impaired.percentile(50) <= rtt + Duration::from_millis(30),
        "the median round trip is far above {rtt:?}: {:?}",
        impaired.percentile(50)
    );
    assert!(
        lifted.percentile(50) < Duration::from_millis(20),
        "the delay outlived the impairment: {:?}",
        lifted.percentile(50)
    );
    // A round trip survives with 0.97² = 0.9409: over 1,000, 59 lost on average, with a
    // standard deviation of 7.5; six of them either side (15 to 104) fails once in a billion.
    let lost = PROBES - impaired.answered.len();
    assert!(
        (15..=104).contains(&lost),
        "{lost} of {PROBES} round trips lost; 3 % each way loses about 59"
    );
    assert_eq!(
        stats.overflowed, 0,
        "the link's own queue dropped packets: {stats:?}"
    );
    // Nothing else crosses this uplink: every round trip missing is a packet the link drew to
    // lose, none lost anywhere else.
    assert_eq!(stats.lost, lost as u64, "{stats:?}");
}
