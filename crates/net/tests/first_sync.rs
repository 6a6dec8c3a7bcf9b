//! A first sync's sender answers from its stored heads: it sends its side as stored and never
//! loads it, whoever dials, and what both stores hold afterwards is what a sync that loaded it
//! leaves (the replica, the sync states that make a reconnect cheap). Real endpoints on
//! 127.0.0.1, real stores; whether the side was loaded is read from the store's own counts of
//! full loads ([`Store::cache_stats`]).

use std::sync::Arc;
use std::time::Duration;

use iroh::{Endpoint, EndpointAddr, TransportAddr};
use tapin_core::docs::{self, Collection, Place};
use tapin_core::identity::{DeviceId, DeviceKey};
use tapin_core::model::Thanks;
use tapin_core::sync::Session;
use tapin_core::time::{Day, Timestamp};
use tapin_core::{DocId, Id};
use tapin_net::endpoint::{self, Gate, NetConfig};
use tapin_net::shared::SharedStore;
use tapin_net::sync::{Link, SyncStats, Wire, exchange};
use tapin_net::{SYNC_ALPN, Timeouts};
use tapin_store::Store;

/// How long any step here may take.
const BOUND: Duration = Duration::from_secs(30);

/// Admits every device: nobody is paired here, each side is handed its link.
#[derive(Debug)]
struct Anyone;

impl Gate for Anyone {
    fn allow_sync(&self, _device: &[u8; 32]) -> bool {
        true
    }
    fn allow_pairing(&self) -> bool {
        false
    }
}

async fn bind(key: &DeviceKey) -> Endpoint {
    endpoint::bind(
        key.secret(),
        &NetConfig::loopback(),
        Arc::new(Anyone),
        vec![SYNC_ALPN.to_vec()],
    )
    .await
    .expect("bind an endpoint")
}

fn addr_of(ep: &Endpoint) -> EndpointAddr {
    EndpointAddr::from_parts(
        ep.id(),
        endpoint::direct_addrs(ep)
            .into_iter()
            .map(TransportAddr::Ip),
    )
}

/// Writes `n` thanks notes to `rel`'s side, one change each, as `tapin thanks` does.
fn write_thanks(store: &Store, author: &DeviceKey, rel: Id, from: usize, n: usize) {
    for i in from..from + n {
        let thanks = Thanks {
            on: Day::ymd(2026, 11, 22).expect("a date"),
            text: format!("Thank you for the soup ({i})"),
            created: Timestamp(1_795_000_000_000 + i as i64),
        };
        let id = Id::named(&format!("thanks-{i}"));
        store
            .update(&DocId::Side(rel), &author.actor(), |d| {
                docs::put_record(d, Place::Shared(rel), Collection::Thanks, id, &thanks)
            })
            .expect("write a thanks note");
    }
}

/// The heads the store recorded for `doc`, read without loading it.
fn heads(store: &Store, doc: DocId) -> Vec<String> {
    let (_, heads) = store
        .stored_bytes_and_heads(&doc)
        .expect("read the document")
        .expect("the document is stored");
    assert!(!heads.is_empty(), "{doc}: no heads recorded");
    heads.iter().map(ToString::to_string).collect()
}

/// One side of an exchange: a device, its store and its link to the other.
struct Party {
    key: DeviceKey,
    ep: Endpoint,
    store: SharedStore,
    link: Link,
}

impl Party {
    async fn new(seed: u8, rel: Id, friend: DeviceId, store: Store) -> Party {
        let key = DeviceKey::from_secret([seed; 32]);
        Party {
            ep: bind(&key).await,
            key,
            store: SharedStore::new(store),
            link: Link {
                rel,
                name: "friend".to_owned(),
                devices: vec![friend],
                reach: Default::default(),
            },
        }
    }
}

/// One exchange, `dialler` dialling `answerer`: (the dialler's stats, the answerer's).
async fn sync(dialler: &Party, answerer: &Party) -> (SyncStats, SyncStats) {
    let answering = async {
        let conn = answerer
            .ep
            .accept()
            .await
            .expect("an incoming connection")
            .await
            .expect("the connection");
        let (mut send, mut recv) = conn.accept_bi().await.expect("a stream");
        let stats = Box::pin(exchange(
            &answerer.store,
            &answerer.key,
            &answerer.link,
            dialler.key.id(),
            &mut send,
            &mut recv,
            false,
            &Wire::V4 {
                mine: Default::default(),
            },
            None,
            &Timeouts::default(),
        ))
        .await
        .expect("the answerer's exchange");
        let _ = send.finish();
        // Until the dialler has read everything.
        let _ = tokio::time::timeout(BOUND, conn.closed()).await;
        stats
    };
    let dialling = async {
        let conn = dialler
            .ep
            .connect(addr_of(&answerer.ep), SYNC_ALPN)
            .await
            .expect("connect");
        let (mut send, mut recv) = conn.open_bi().await.expect("a stream");
        let stats = Box::pin(exchange(
            &dialler.store,
            &dialler.key,
            &dialler.link,
            answerer.key.id(),
            &mut send,
            &mut recv,
            true,
            &Wire::V4 {
                mine: Default::default(),
            },
            None,
            &Timeouts::default(),
        ))
        .await
        .expect("the dialler's exchange");
        conn.close(0u32.into(), b"done");
        stats
    };
    tokio::time::timeout(
        BOUND,
        Box::pin(async { tokio::join!(Box::pin(dialling), Box::pin(answering)) }),
    )
    .await
    .expect("the exchange took too long")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_sync_sends_my_side_as_stored_without_loading_it() {
    let maya_key = DeviceKey::from_secret([1; 32]);
    let jordan_key = DeviceKey::from_secret([2; 32]);
    for maya_dials in [true, false] {
        // A new relationship each time, so each is a first sync.
        let mrel = Id::named(&format!("maya's relationship {maya_dials}"));
        let jrel = Id::named(&format!("jordan's {maya_dials}"));
        let maya_home = tempfile::tempdir().expect("a home");
        write_thanks(
            &Store::open(maya_home.path()).expect("open Maya's store"),
            &maya_key,
            mrel,
            0,
            300,
        );
        let jordan_home = tempfile::tempdir().expect("a home");
        let jordan_store = Store::open(jordan_home.path()).expect("open Jordan's store");
        write_thanks(&jordan_store, &jordan_key, jrel, 0, 3);
        // Maya's store opened afresh, as a `tapin sync` process opens it: nothing in memory.
        let maya_store = Store::open(maya_home.path()).expect("open Maya's store");
        let maya = Party::new(1, mrel, jordan_key.id(), maya_store).await;
        let jordan = Party::new(2, jrel, maya_key.id(), jordan_store).await;
        let (m, j) = if maya_dials {
            sync(&maya, &jordan).await
        } else {
            let (j, m) = sync(&jordan, &maya).await;
            (m, j)
        };
        assert_eq!(m.received_changes, 3, "Jordan's side reached Maya");
        assert_eq!(j.received_changes, 300, "Maya's side reached Jordan");
        assert!(
            m.sent_bytes < 1024 * 1024 && j.sent_bytes < 1024 * 1024,
            "{m:?} {j:?}"
        );
        let jordan_id = jordan_key.id();
        let (loads, mine_state, sent) = maya
            .store
            .run(move |s| {
                let state = s
                    .get_sync_state(&DocId::Side(mrel), &jordan_id.to_bytes())
                    .expect("read the sync state")
                    .expect("a sync state was stored");
                (s.cache_stats().misses, state, heads(s, DocId::Side(mrel)))
            })
            .await
            .expect("Maya's store");
        assert_eq!(
            loads, 0,
            "Maya's side was loaded (maya dials: {maya_dials})"
        );
        assert!(
            !Session::offers_snapshot(&mine_state),
            "Maya's sync state does not record that Jordan holds her side"
        );
        let (got, jordan_heads) = jordan
            .store
            .run(move |s| (heads(s, DocId::Replica(jrel)), heads(s, DocId::Side(jrel))))
            .await
            .expect("Jordan's store");
        assert_eq!(got, sent, "Jordan's replica holds Maya's side");
        let maya_replica = maya
            .store
            .run(move |s| heads(s, DocId::Replica(mrel)))
            .await
            .expect("Maya's store");
        assert_eq!(maya_replica, jordan_heads);

        // A reconnect with nothing new: well under a kilobyte either way.
        let (m, j) = sync(&maya, &jordan).await;
        assert!(
            m.sent_bytes + m.received_bytes < 1024,
            "a reconnect cost {m:?}"
        );
        assert_eq!(m.received_changes + j.received_changes, 0);
        // Then new notes on Maya's side: they reach Jordan.
        let author = maya_key.clone();
        maya.store
            .run(move |s| write_thanks(s, &author, mrel, 1_000, 2))
            .await
            .expect("Maya's store");
        let (j, _) = sync(&jordan, &maya).await;
        assert_eq!(j.received_changes, 2);
        let sent = maya
            .store
            .run(move |s| heads(s, DocId::Side(mrel)))
            .await
            .expect("Maya's store");
        let got = jordan
            .store
            .run(move |s| heads(s, DocId::Replica(jrel)))
            .await
            .expect("Jordan's store");
        assert_eq!(got, sent);
    }
}
