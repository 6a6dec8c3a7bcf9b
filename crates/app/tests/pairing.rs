//! Pairing as a front-end drives it through the engine: two homes in one process, real iroh
//! endpoints on loopback (no relay, no mDNS), real stores on disk.

use std::sync::Arc;
use std::time::Duration;

use tapin_app::pairing::{Confirm, Invitation, InviteEvent, InviteRequest};
use tapin_app::{Clock, Home, NetOverrides, NetSettings, NewHome};

fn home(name: &str) -> (tempfile::TempDir, Arc<Home>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name.to_lowercase());
    let new = NewHome {
        name: name.into(),
        device: "laptop".into(),
        net: NetSettings {
            port: Some(0),
            bind: [127, 0, 0, 1].into(),
            relay: "none".into(),
            mdns: tapin_app::Mdns::Off,
        },
    };
    Home::create(&path, &new, Clock::System).expect("created");
    (
        dir,
        Arc::new(Home::open(&path, Clock::System).expect("opened")),
    )
}

fn net() -> NetOverrides {
    NetOverrides {
        timeouts: Some("pair_step=10s".into()),
        ..NetOverrides::default()
    }
}

fn invitation() -> InviteRequest {
    InviteRequest {
        for_person: None,
        expires: Duration::from_secs(60),
        net: net(),
    }
}

/// `inviter` invites and `joiner` joins, at once: the open invitation and both sides' codes to
/// confirm.
async fn meet(inviter: &Arc<Home>, joiner: &Arc<Home>) -> (Invitation, Confirm, Confirm) {
    let mut invitation = inviter.invite(invitation()).await.expect("invited");
    let ticket = invitation.ticket.clone();
    let joining = tokio::spawn({
        let joiner = joiner.clone();
        async move { joiner.join(&ticket, None, &net()).await }
    });
    let InviteEvent::Joined(inviter_confirm) = invitation.next().await.expect("joined") else {
        panic!("the joiner was refused");
    };
    let joiner_confirm = joining.await.expect("task").expect("joined");
    (invitation, *inviter_confirm, joiner_confirm)
}

/// Maya invites, Jordan joins; both see one code, both accept, and each home holds the other,
/// paired.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_accept_and_each_home_holds_the_other_paired() {
    let (_a, maya) = home("Maya");
    let (_b, jordan) = home("Jordan");
    let (invitation, maya_confirm, jordan_confirm) = meet(&maya, &jordan).await;
    assert_eq!(maya_confirm.code, jordan_confirm.code);
    assert_eq!(maya_confirm.friend, "Jordan");
    assert_eq!(jordan_confirm.friend, "Maya");
    let (maya_accepted, jordan_accepted) =
        tokio::join!(maya_confirm.accept(), jordan_confirm.accept());
    let (maya_accepted, jordan_accepted) = (
        maya_accepted.expect("Maya paired"),
        jordan_accepted.expect("Jordan paired"),
    );
    assert_eq!(maya_accepted.paired.paired, "Jordan");
    assert_eq!(jordan_accepted.paired.paired, "Maya");
    assert!(
        maya_accepted.hand_over_wait().is_none(),
        "no server holds the port"
    );
    assert!(maya_accepted.hand_over().await);
    assert!(jordan_accepted.hand_over().await);
    invitation.close().await;
    for (home, friend) in [(&maya, "Jordan"), (&jordan, "Maya")] {
        let people = home.people(true).expect("people");
        let row = &people.rows[0];
        assert_eq!(row.relationship.name, friend);
        assert!(row.relationship.is_paired(), "{friend} is paired");
    }
}

/// A front-end that drops its `Confirm` without answering (the person closed the window) tells
/// the friend it cancelled: the friend's accept fails at once, saying so, and neither home
/// stores a pairing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirm_dropped_unanswered_tells_the_friend_no() {
    let (_a, maya) = home("Maya");
    let (_b, jordan) = home("Jordan");
    let (invitation, maya_confirm, jordan_confirm) = meet(&maya, &jordan).await;
    drop(jordan_confirm);
    let started = std::time::Instant::now();
    let err = maya_confirm
        .accept()
        .await
        .expect_err("Jordan never answered");
    assert!(
        err.to_string()
            .contains("Jordan cancelled the pairing; nothing was paired"),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "Maya heard no without waiting out a timeout ({:?})",
        started.elapsed()
    );
    invitation.close().await;
    assert!(maya.people(true).expect("people").rows.is_empty());
    assert!(jordan.people(true).expect("people").rows.is_empty());
}
