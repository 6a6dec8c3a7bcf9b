//! What a serving node keeps in memory does not grow with its friends: its store keeps the
//! documents of the exchanges that may run at once (`node::DOCUMENTS_KEPT`), not one per friend,
//! and every friend still gets and gives their whole side. Real endpoints on 127.0.0.1, the node
//! `tapin serve` runs, real stores on disk; each friend syncs as `tapin sync` does.

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use automerge::ChangeHash;
use tapin_core::docs;
use tapin_core::identity::DeviceKey;
use tapin_core::time::Timestamp;
use tapin_core::{DocId, Id};
use tapin_e2e::Rng;
use tapin_e2e::friends::{self, local, paired};
use tapin_e2e::gates::Nobody;
use tapin_net::endpoint::{self, Gate, NetConfig};
use tapin_net::gate::HomeGate;
use tapin_net::node::{self, DOCUMENTS_KEPT, Node, Options};
use tapin_net::{Endpoint, Timeouts};
use tapin_store::Store;

/// How long any step here may take.
const BOUND: Duration = Duration::from_secs(60);

/// More friends than the node keeps documents for: each has a side and a replica there.
const FRIENDS: usize = DOCUMENTS_KEPT;

/// Writes the thanks notes numbered `notes` into `rel`'s shared side, one change each.
fn thank(store: &Store, author: &DeviceKey, rel: Id, notes: Range<usize>) {
    for n in notes {
        friends::thank(store, author, rel, n).expect("write a thanks note");
    }
}

fn heads(store: &Store, doc: &DocId) -> Vec<ChangeHash> {
    store
        .load(doc)
        .expect("load a document")
        .map(|d| d.get_heads())
        .unwrap_or_default()
}

struct Friend {
    home: tempfile::TempDir,
    key: DeviceKey,
    ep: Endpoint,
    /// Their relationship with the hub, in their home.
    rel: Id,
    /// The hub's relationship with them, in the hub's home.
    hub_rel: Id,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_keeps_the_documents_of_its_exchanges_not_one_per_friend() {
    let now = Timestamp(1_795_000_000_000);
    let hub_home = tempfile::tempdir().expect("a temporary home");
    let hub = DeviceKey::from_secret(Rng(1).secret());
    let hub_ep = endpoint::bind(
        hub.secret(),
        &NetConfig::loopback(),
        Arc::new(HomeGate::new(
            Store::open(hub_home.path()).expect("open the hub's store"),
        )) as Arc<dyn Gate>,
        vec![],
    )
    .await
    .expect("bind the hub's endpoint");
    let hub_addrs = endpoint::direct_addrs(&hub_ep);

    let hub_store = Store::open(hub_home.path()).expect("open the hub's store");
    let mut friends = Vec::new();
    for i in 0..FRIENDS {
        let key = DeviceKey::from_secret(Rng(100 + i as u64).secret());
        let home = tempfile::tempdir().expect("a temporary home");
        let (rel, hub_rel) = (Rng(200 + i as u64).id(), Rng(300 + i as u64).id());
        let store = Store::open(home.path()).expect("open a friend's store");
        store
            .update(&DocId::Private, &key.actor(), |d| {
                docs::put_relationship(d, rel, &paired("Hub", &hub, &hub_addrs, now))
            })
            .expect("pair the friend with the hub");
        thank(&store, &key, rel, 0..3);
        // Dialling only, as `tapin sync` binds: the hub's own dials to it are refused.
        let ep = endpoint::bind(
            key.secret(),
            &NetConfig::loopback(),
            Arc::new(Nobody),
            vec![],
        )
        .await
        .expect("bind a friend's endpoint");
        hub_store
            .update(&DocId::Private, &hub.actor(), |d| {
                docs::put_relationship(d, hub_rel, &paired(&format!("Friend {i}"), &key, &[], now))
            })
            .expect("pair the hub with a friend");
        thank(&hub_store, &hub, hub_rel, 0..2);
        friends.push(Friend {
            home,
            key,
            ep,
            rel,
            hub_rel,
        });
    }

    let node = Node::spawn(
        hub_ep,
        hub_home.path(),
        hub.clone(),
        Options::serve(local("Hub"), Timeouts::default()),
    )
    .await
    .expect("start the hub's node");

    // Every friend syncs with the hub, four at a time.
    for round in 0..2 {
        for batch in friends.chunks(4) {
            let mut syncs = tokio::task::JoinSet::new();
            for f in batch {
                let (home, key, ep, rel) =
                    (f.home.path().to_owned(), f.key.clone(), f.ep.clone(), f.rel);
                syncs.spawn(async move {
                    let store = Store::open(&home).expect("open a friend's store");
                    if round == 1 {
                        // The second time, with something new to give.
                        thank(&store, &key, rel, 3..4);
                    }
                    let links = tapin_net::sync::links(&store).expect("read the friend's links");
                    drop(store);
                    let results = node::sync_once(
                        &ep,
                        &home,
                        &key,
                        &local("Friend"),
                        &links,
                        &Timeouts::default(),
                    )
                    .await;
                    assert_eq!(results.len(), 1, "one link, to the hub");
                    for (_, result) in results {
                        result.expect("the friend synced with the hub");
                    }
                });
            }
            tokio::time::timeout(BOUND, syncs.join_all())
                .await
                .expect("the syncs took too long");
        }
    }

    let stats = node.cache_stats().await.expect("read the node's cache");
    assert_eq!(stats.max_documents, DOCUMENTS_KEPT);
    assert!(
        stats.documents <= DOCUMENTS_KEPT,
        "the node keeps {} documents, more than {DOCUMENTS_KEPT}",
        stats.documents
    );
    assert!(
        stats.evictions > 0,
        "{FRIENDS} friends' sides and replicas are more than the node keeps: {stats:?}"
    );
    assert!(
        stats.hits > 0,
        "an exchange's write finds the replica its session read: {stats:?}"
    );

    // Nothing was lost to what the node let go: each side arrived whole, both ways.
    let hub_store = Store::open(hub_home.path()).expect("open the hub's store");
    for f in &friends {
        let store = Store::open(f.home.path()).expect("open a friend's store");
        let theirs = heads(&store, &DocId::Side(f.rel));
        assert_eq!(theirs.len(), 1);
        assert_eq!(heads(&hub_store, &DocId::Replica(f.hub_rel)), theirs);
        assert_eq!(
            heads(&store, &DocId::Replica(f.rel)),
            heads(&hub_store, &DocId::Side(f.hub_rel))
        );
    }
    node.shutdown().await;
}
