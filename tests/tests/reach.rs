//! The network lab itself (`tapin_e2e::lab`): two homes' namespaces that reach a hub running
//! iroh's relay server and never each other, as two homes behind two NATs would.

use std::net::SocketAddr;

use tapin_e2e::lab::{RelayLab, TestRelay};

#[test]
fn the_lab_keeps_its_two_sides_apart_and_both_reach_the_relay() {
    let lab = RelayLab::start();
    let relay = SocketAddr::from((RelayLab::RELAY_IP, lab.relay_port()));
    assert!(
        RelayLab::connects(&lab.a, relay),
        "a cannot reach the relay"
    );
    assert!(
        RelayLab::connects(&lab.b, relay),
        "b cannot reach the relay"
    );
    // Something listening on b's own address: b reaches it, a does not.
    let on_b = SocketAddr::from((RelayLab::B_IP, 3341));
    let _listener = TestRelay::start(&lab.b, on_b);
    assert!(RelayLab::connects(&lab.b, on_b), "b cannot reach itself");
    assert!(!RelayLab::connects(&lab.a, on_b), "a reaches b directly");
    let on_a = SocketAddr::from((RelayLab::A_IP, 3341));
    let _listener = TestRelay::start(&lab.a, on_a);
    assert!(!RelayLab::connects(&lab.b, on_a), "b reaches a directly");
}
