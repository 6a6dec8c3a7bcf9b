//! Sync at realistic scale (issue 4): a first sync of a long history, a reconnect with nothing new,
//! live propagation between two running nodes, and one `tapin serve` with 150 paired friends.
//!
//! ```sh
//! cargo bench -p tapin-e2e --bench sync
//! TAPIN_BENCH_QUICK=1 cargo bench -p tapin-e2e --bench sync   # smaller sizes, a smoke run
//! TAPIN_BENCH_ONLY=hub cargo bench -p tapin-e2e --bench sync    # only the fourth, the hub
//! ```
//!
//! Everything runs on loopback (127.0.0.1), with relays and mDNS off. The first three benchmarks
//! run the library in-process: real stores in temporary homes, real iroh endpoints,
//! `tapin_net::sync::exchange` and `tapin_net::node::run` exactly as `tapin sync` and `tapin serve`
//! call them. The fourth runs the real release binary (`tapin serve`) for the hub, so its memory is
//! a process's own; it builds it first (`cargo build --release -p tapin-cli`, a no-op when fresh;
//! `TAPIN_BIN` skips the build and uses that binary).
//!
//! The machine is shared and noisy, so every time is also given as a ratio against a baseline
//! measured in the same run, interleaved with the samples, and figures are medians over
//! repetitions. Markdown tables go to stdout (for `docs/PERFORMANCE.md`), progress to stderr.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::error::Error;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use automerge::{AutoCommit, Automerge, ChangeHash};
use chrono::{DateTime, Utc};
use iroh::endpoint::Connection;
use iroh::{Endpoint, EndpointAddr, TransportAddr};
use tapin_core::docs::{self, Place};
use tapin_core::identity::{DeviceId, DeviceKey};

use tapin_core::saved::SavedDoc;
use tapin_core::sync::{Frame, Session};
use tapin_core::time::Timestamp;
use tapin_core::{DocId, Id};
use tapin_e2e::Rng;
use tapin_e2e::friends::{self, local, paired};
use tapin_e2e::gates::Anyone;
use tapin_net::endpoint::{self, Gate, NetConfig};
use tapin_net::gate::HomeGate;
use tapin_net::node;
use tapin_net::shared::SharedStore;
use tapin_net::sync::{Link, MAX_ROUNDS, SyncStats, Wire, exchange};
use tapin_net::{SYNC_ALPN, Timeouts};
use tapin_store::{MetaKey, Store};

type Result<T, E = Box<dyn Error + Send + Sync>> = std::result::Result<T, E>;

/// "Now" for the generated records.
const NOW: &str = "2026-11-22T09:00:00Z";

/// Targets from the issue.
const TARGET_INITIAL_TIME: f64 = 1.2;
const TARGET_INITIAL_BYTES: f64 = 1.1;
const TARGET_RECONNECT_BYTES: u64 = 1024;
const TARGET_LIVE: Duration = Duration::from_millis(25);
const TARGET_HUB_RSS_KB: u64 = 64 * 1024;
/// The most the hub's RSS may grow from round [`GROWTH_FROM`] to round [`GROWTH_TO`].
const TARGET_HUB_GROWTH_KB: u64 = 1024;
const GROWTH_FROM: usize = 10;
const GROWTH_TO: usize = 20;

/// Friends syncing with the hub at once in the bounded round.
const BOUNDED: usize = 8;

/// How often the live benchmark looks at the friend's store, and how long it waits at most.
const LIVE_POLL: Duration = Duration::from_millis(1);
const LIVE_TIMEOUT: Duration = Duration::from_secs(20);

/// The sizes of one run. `TAPIN_BENCH_QUICK=1` shrinks them for a smoke run.
#[derive(Debug, Clone, Copy)]
struct Scale {
    quick: bool,
    /// Changes in the long history (benchmarks 1 to 3).
    changes: usize,
    /// Repetitions of the first sync and of the reconnect.
    reps: usize,
    /// Changes in the short history of the live benchmark.
    short_history: usize,
    /// Samples per live benchmark.
    live_samples: usize,
    /// Friends of the hub.
    friends: usize,
    /// Changes on each friend's side before the first sync, and on the hub's side for each friend.
    friend_changes: usize,
    hub_changes: usize,
    /// Friends syncing alone after a change: the baseline of the all-friends sync.
    single_syncs: usize,
    /// Friends syncing with the hub at once.
    concurrency: usize,
    /// Rounds of all friends syncing at once after a change.
    hub_rounds: usize,
}

impl Scale {
    fn from_env() -> Scale {
        let quick = std::env::var("TAPIN_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
        if quick {
            Scale {
                quick,
                changes: 1_000,
                reps: 3,
                short_history: 100,
                live_samples: 20,
                friends: 30,
                friend_changes: 10,
                hub_changes: 3,
                single_syncs: 5,
                concurrency: 30,
                hub_rounds: 12,
            }
        } else {
            Scale {
                quick,
                changes: 10_000,
                reps: 12,
                short_history: 100,
                live_samples: 60,
                friends: 150,
                friend_changes: 30,
                hub_changes: 3,
                single_syncs: 10,
                concurrency: 150,
                hub_rounds: GROWTH_TO,
            }
        }
    }
}

fn main() -> Result<()> {
    let scale = Scale::from_env();
    // `TAPIN_BENCH_ONLY=first,reconnect,live,hub` (any of them, comma-separated) runs only those
    // parts; `first` and `reconnect` run together (a reconnect follows each first sync).
    let only = std::env::var("TAPIN_BENCH_ONLY").unwrap_or_default();
    let runs = |part: &str| only.is_empty() || only.split(',').any(|p| p.trim() == part);
    let now: DateTime<Utc> = NOW.parse()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let started = Instant::now();

    let maya = DeviceKey::from_secret(Rng(1).secret());
    let mrel = Rng(2).id();
    eprintln!("building Maya's side with {} changes ...", scale.changes);
    let t = Instant::now();
    let history = side_history(&maya, mrel, scale.changes, now, 7)?;
    eprintln!("  built in {:.1} s", t.elapsed().as_secs_f64());

    let mut initial = None;
    if runs("first") || runs("reconnect") {
        eprintln!(
            "1-2. first sync and reconnect, {} repetitions ...",
            scale.reps
        );
        initial = Some(rt.block_on(initial_sync(&maya, mrel, &history, scale.reps))?);
    }

    let mut live = Vec::new();
    if runs("live") {
        for (label, bytes) in [
            (
                "short",
                side_history(&maya, mrel, scale.short_history, now, 8)?.save(),
            ),
            ("long", history.save()),
        ] {
            eprintln!(
                "3. live propagation under serve, {label} history, {} samples ...",
                scale.live_samples
            );
            live.push(live_propagation(
                &rt,
                &maya,
                mrel,
                &bytes,
                scale.live_samples,
                now,
            )?);
        }
    }

    let mut hub_run = None;
    if runs("hub") {
        let bin = tapin_bin()?;
        eprintln!("4. one tapin serve with {} friends ...", scale.friends);
        hub_run = Some(hub(&rt, &bin, &scale, now)?);
    }

    print!(
        "{}",
        report(
            &scale,
            initial.as_ref(),
            &live,
            hub_run.as_ref(),
            started.elapsed()
        )
    );
    rt.shutdown_timeout(Duration::from_secs(5));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Data.

/// A side written the way the CLI writes it: one automerge change per command, as `author`'s
/// device. Six in ten changes log an interaction, two write a thanks note, two edit the note of
/// an earlier interaction.
fn side_history(
    author: &DeviceKey,
    rel: Id,
    changes: usize,
    now: DateTime<Utc>,
    seed: u64,
) -> Result<Automerge> {
    let mut doc = AutoCommit::new().with_actor(author.actor());
    let start = Timestamp(now.timestamp_millis() - 3 * 365 * 86_400_000);
    tapin_e2e::history::write_side_history(&mut doc, Place::Shared(rel), changes, start, seed)?;
    let made = doc.get_changes(&[]).len();
    if made != changes {
        return Err(format!("made {made} changes, wanted {changes}").into());
    }
    Ok(doc.document().clone())
}

/// One thanks note, as `tapin thanks` writes it.
fn write_thanks(store: &Store, author: &DeviceKey, rel: Id, n: usize) -> Result<()> {
    friends::thank(store, author, rel, n).map_err(|e| format!("writing a thanks note: {e}"))?;
    Ok(())
}

fn heads_of(store: &Store, doc: &DocId) -> Result<Vec<ChangeHash>> {
    Ok(store
        .load(doc)
        .map_err(|e| format!("loading {doc}: {e}"))?
        .map(|d| d.get_heads())
        .unwrap_or_default())
}

// ---------------------------------------------------------------------------------------------
// Endpoints.

async fn bind(key: &DeviceKey, gate: Arc<dyn Gate>, alpns: Vec<Vec<u8>>) -> Result<Endpoint> {
    Ok(endpoint::bind(key.secret(), &NetConfig::loopback(), gate, alpns).await?)
}

fn addr_of(ep: &Endpoint) -> EndpointAddr {
    EndpointAddr::from_parts(
        ep.id(),
        endpoint::direct_addrs(ep)
            .into_iter()
            .map(TransportAddr::Ip),
    )
}

/// UDP payload bytes of a connection so far, both directions (QUIC headers, encryption, acks
/// and the handshake included).
fn udp_bytes(conn: &Connection) -> u64 {
    let s = conn.stats();
    s.udp_tx.bytes + s.udp_rx.bytes
}

/// The wire of `tapin/sync/4`, the version the bench's endpoints speak (`SYNC_ALPN`), with
/// nothing to say about where this device listens: the endpoints are on loopback.
fn v4() -> Wire {
    Wire::V4 {
        mine: Default::default(),
    }
}

/// Accepts one connection and answers one exchange on it, as `tapin serve` does.
async fn respond_once(
    ep: Endpoint,
    store: SharedStore,
    me: DeviceKey,
    link: Link,
    peer: DeviceId,
) -> Result<(SyncStats, Instant, Connection)> {
    let incoming = ep.accept().await.ok_or("the endpoint closed")?;
    let conn = incoming.await?;
    let (mut send, mut recv) = conn.accept_bi().await?;
    let stats = exchange(
        &store,
        &me,
        &link,
        peer,
        &mut send,
        &mut recv,
        false,
        &v4(),
        None,
        &Timeouts::default(),
    )
    .await?;
    let done = Instant::now();
    let _ = send.finish();
    Ok((stats, done, conn))
}

// ---------------------------------------------------------------------------------------------
// 1-2. First sync of a long history to an empty replica, then a reconnect with nothing new.

#[derive(Default)]
struct InitialSync {
    changes: usize,
    save_bytes: u64,
    /// Baseline: `Automerge::load(&save)`, twice per repetition: just before and just after
    /// its first sync.
    load: Vec<Duration>,
    /// Each repetition's first sync ÷ the mean of its two baseline loads, in order, with the
    /// repetition's way of syncing (an index into `by_mode`).
    ratios: Vec<(usize, f64)>,
    connect: Vec<Duration>,
    sync: Vec<Duration>,
    /// The same, split by who dials and the sender's store: Maya dials with her store freshly
    /// opened (a `tapin sync` process), Maya dials with her store holding the side from earlier
    /// exchanges (a running `tapin serve`), and Jordan dials Maya's serving store.
    by_mode: [Vec<Duration>; 3],
    /// Frame bytes (length prefix included): Maya to Jordan, and both directions.
    wire_out: Vec<u64>,
    wire_total: Vec<u64>,
    /// UDP payload bytes during the exchange, both directions.
    udp: Vec<u64>,
    rounds: Vec<u32>,
    /// What the exchange is made of, timed apart from it, once per repetition.
    parts: BTreeMap<&'static str, Vec<Duration>>,
    replica_snapshot: u64,
    replica_chunks: u64,
    reconnect_connect: Vec<Duration>,
    reconnect_time: Vec<Duration>,
    reconnect_wire: Vec<u64>,
    reconnect_udp_exchange: Vec<u64>,
    reconnect_udp_total: Vec<u64>,
    reconnect_rounds: Vec<u32>,
}

async fn initial_sync(
    maya: &DeviceKey,
    mrel: Id,
    history: &Automerge,
    reps: usize,
) -> Result<InitialSync> {
    let save = history.save();
    let heads = history.get_heads();
    let maya_home = tempfile::tempdir()?;
    let maya_store = Store::open(maya_home.path())?;
    maya_store
        .apply_changes(&DocId::Side(mrel), &save)
        .map_err(|e| format!("storing Maya's side: {e}"))?;
    let mut maya_store = SharedStore::new(maya_store);
    let maya_home_path = maya_home.path().to_owned();
    let maya_ep = bind(maya, Arc::new(Anyone), vec![SYNC_ALPN.to_vec()]).await?;
    let mut out = InitialSync {
        changes: history.get_changes(&[]).len(),
        save_bytes: save.len() as u64,
        ..Default::default()
    };

    let timed = |parts: &mut BTreeMap<&'static str, Vec<Duration>>, name, t: Instant| {
        parts.entry(name).or_default().push(t.elapsed());
    };

    for rep in 0..reps {
        // A fresh, empty replica: a new home and a new device for Jordan.
        let jordan = DeviceKey::from_secret(Rng(1_000 + rep as u64).secret());
        let jrel = Rng(2_000 + rep as u64).id();
        let jordan_home = tempfile::tempdir()?;
        let jordan_store = SharedStore::new(Store::open(jordan_home.path())?);
        let jordan_ep = bind(&jordan, Arc::new(Anyone), vec![SYNC_ALPN.to_vec()]).await?;
        let maya_link = Link {
            rel: mrel,
            name: "Jordan".to_owned(),
            devices: vec![jordan.id()],
            reach: Default::default(),
        };
        let jordan_link = Link {
            rel: jrel,
            name: "Maya".to_owned(),
            devices: vec![maya.id()],
            reach: Default::default(),
        };
        let responder = || {
            tokio::spawn(respond_once(
                jordan_ep.clone(),
                jordan_store.clone(),
                jordan.clone(),
                jordan_link.clone(),
                maya.id(),
            ))
        };

        // The first sync, three ways in turn: Maya dials with her store opened afresh, as a
        // `tapin sync` process opens it; Maya dials with her store holding her side from the
        // previous exchanges, as a running `tapin serve` does; Jordan dials Maya's serving store.
        let mode = rep % 3;
        if mode == 0 {
            maya_store = SharedStore::new(Store::open(&maya_home_path)?);
        }
        let (
            dialler,
            dialler_store,
            dialler_key,
            dialler_link,
            answerer,
            answerer_store,
            answerer_key,
            answerer_link,
        ) = if mode < 2 {
            (
                &maya_ep,
                &maya_store,
                maya,
                &maya_link,
                &jordan_ep,
                &jordan_store,
                &jordan,
                &jordan_link,
            )
        } else {
            (
                &jordan_ep,
                &jordan_store,
                &jordan,
                &jordan_link,
                &maya_ep,
                &maya_store,
                maya,
                &maya_link,
            )
        };
        let answering = tokio::spawn(respond_once(
            answerer.clone(),
            answerer_store.clone(),
            answerer_key.clone(),
            answerer_link.clone(),
            dialler_key.id(),
        ));
        // The baseline, just before the first sync and again just after it, so that each
        // repetition's ratio compares times taken under the same load of the machine.
        let t = Instant::now();
        Automerge::load(&save)?;
        let load_before = t.elapsed();
        let t = Instant::now();
        let conn = dialler.connect(addr_of(answerer), SYNC_ALPN).await?;
        out.connect.push(t.elapsed());
        let udp_before = udp_bytes(&conn);
        let start = Instant::now();
        let (mut send, mut recv) = conn.open_bi().await?;
        let dialled = exchange(
            dialler_store,
            dialler_key,
            dialler_link,
            answerer_key.id(),
            &mut send,
            &mut recv,
            true,
            &v4(),
            None,
            &Timeouts::default(),
        )
        .await?;
        let dialler_done = Instant::now();
        let (answered, answerer_done, answerer_conn) = answering.await??;
        let took = dialler_done.max(answerer_done).duration_since(start);
        let t = Instant::now();
        Automerge::load(&save)?;
        let load_after = t.elapsed();
        out.load.extend([load_before, load_after]);
        out.ratios
            .push((mode, ms(took) / ((ms(load_before) + ms(load_after)) / 2.0)));
        out.sync.push(took);
        out.by_mode[mode].push(took);
        let _ = send.finish();
        // Maya's and Jordan's view of the exchange.
        let (sent, answered) = if mode < 2 {
            (dialled, answered)
        } else {
            (answered, dialled)
        };
        out.wire_out.push(sent.sent_bytes);
        out.wire_total.push(sent.sent_bytes + sent.received_bytes);
        out.udp.push(udp_bytes(&conn) - udp_before);
        out.rounds.push(sent.rounds);
        if answered.received_bytes != sent.sent_bytes
            || answered.received_changes as usize != out.changes
        {
            return Err(
                format!("Jordan's view of the exchange differs: {answered:?} vs {sent:?}").into(),
            );
        }
        {
            let (replica_heads, stats) = jordan_store
                .run(move |store| -> Result<_> {
                    Ok((heads_of(store, &DocId::Replica(jrel))?, store.stats()?))
                })
                .await??;
            if replica_heads != heads {
                return Err("Jordan's replica does not hold Maya's side".into());
            }
            if let Some(doc) = stats
                .documents
                .iter()
                .find(|d| d.doc == DocId::Replica(jrel))
            {
                out.replica_snapshot = doc.snapshot_bytes;
                out.replica_chunks = doc.chunk_bytes;
            }
        }
        conn.close(0u32.into(), b"done");
        drop(answerer_conn);

        // A reconnect with nothing new: the sync states were stored at the end of the exchange.
        let answering = responder();
        let t = Instant::now();
        let conn = maya_ep.connect(addr_of(&jordan_ep), SYNC_ALPN).await?;
        out.reconnect_connect.push(t.elapsed());
        let udp_before = udp_bytes(&conn);
        let start = Instant::now();
        let (mut send, mut recv) = conn.open_bi().await?;
        let again = exchange(
            &maya_store,
            maya,
            &maya_link,
            jordan.id(),
            &mut send,
            &mut recv,
            true,
            &v4(),
            None,
            &Timeouts::default(),
        )
        .await?;
        let maya_done = Instant::now();
        let (_, jordan_done, jordan_conn) = answering.await??;
        out.reconnect_time
            .push(maya_done.max(jordan_done).duration_since(start));
        let _ = send.finish();
        out.reconnect_wire
            .push(again.sent_bytes + again.received_bytes);
        out.reconnect_udp_exchange
            .push(udp_bytes(&conn) - udp_before);
        out.reconnect_udp_total.push(udp_bytes(&conn));
        out.reconnect_rounds.push(again.rounds);
        if again.received_changes != 0 {
            return Err("the reconnect moved changes".into());
        }
        conn.close(0u32.into(), b"done");
        drop(jordan_conn);
        jordan_ep.close().await;

        // The parts of the exchange, timed one by one.
        let t = Instant::now();
        let cold_store = Store::open(&maya_home_path)?;
        let loaded = cold_store
            .load(&DocId::Side(mrel))?
            .ok_or("Maya's side is missing")?;
        timed(
            &mut out.parts,
            "sender: Store::load of the side, freshly opened store",
            t,
        );
        let t = Instant::now();
        cold_store.load(&DocId::Side(mrel))?;
        timed(
            &mut out.parts,
            "sender: Store::load of the side, held in memory",
            t,
        );
        let t = Instant::now();
        let whole = cold_store
            .stored_bytes(&DocId::Side(mrel))?
            .ok_or("Maya's side is missing")?;
        timed(
            &mut out.parts,
            "sender: Store::stored_bytes (the snapshot it sends, read without loading)",
            t,
        );
        let t = Instant::now();
        loaded.save();
        timed(
            &mut out.parts,
            "(not on the path any more) save(): what automerge would send to an empty peer",
            t,
        );
        let t = Instant::now();
        let mut saved = SavedDoc::load(whole)?;
        let checked = saved.check_authors(|actor| *actor == maya.actor());
        timed(
            &mut out.parts,
            "receiver: SavedDoc::load and check_authors (the one load, and who wrote it)",
            t,
        );
        if checked != Ok(out.changes) {
            return Err(format!("the authorship check said {checked:?}").into());
        }
        // The protocol alone: both sessions in memory, batches handed across directly.
        let t = Instant::now();
        sessions_in_memory(maya, &jordan, history, &save)?;
        timed(
            &mut out.parts,
            "both sessions in memory, without network or store (the protocol's own cost)",
            t,
        );
        let scratch = tempfile::tempdir()?;
        let scratch_store = Store::open(scratch.path())?;
        let t = Instant::now();
        scratch_store
            .apply_saved(&DocId::Replica(jrel), saved)
            .map_err(|e| format!("{e}"))?;
        timed(
            &mut out.parts,
            "receiver: Store::apply_saved into the empty replica (stored as it came)",
            t,
        );

        eprintln!(
            "  rep {}: sync {:.0} ms (loads {:.0} and {:.0} ms, ratio {:.2}), {} bytes out, \
             reconnect {} bytes",
            rep + 1,
            ms(took),
            ms(load_before),
            ms(load_after),
            out.ratios.last().map_or(f64::NAN, |r| r.1),
            sent.sent_bytes,
            out.reconnect_wire.last().unwrap_or(&0)
        );
    }
    maya_ep.close().await;
    Ok(out)
}

/// A first sync between two [`Session`]s in memory, to convergence, Maya's first batch opening
/// with her side as stored (`stored`), as `exchange` sends it.
fn sessions_in_memory(
    maya: &DeviceKey,
    jordan: &DeviceKey,
    side: &Automerge,
    stored: &[u8],
) -> Result<()> {
    let mut m = Session::new(
        side.clone(),
        Automerge::new(),
        &[],
        &[],
        [jordan.id()],
        jordan.id(),
    );
    let mut j = Session::new(
        Automerge::new(),
        Automerge::new(),
        &[],
        &[],
        [maya.id()],
        maya.id(),
    );
    m.snapshot_sent();
    j.receive(Frame::Snapshot {
        bytes: stored.to_vec(),
    })?;
    for _ in 0..MAX_ROUNDS {
        let from_m = m.batch(maya);
        let m_empty = from_m.len() == 1;
        for f in from_m {
            j.receive(f)?;
        }
        let from_j = j.batch(jordan);
        let j_empty = from_j.len() == 1;
        for f in from_j {
            m.receive(f)?;
        }
        if m_empty && j_empty {
            return if j.theirs().get_heads() == side.get_heads() {
                Ok(())
            } else {
                Err("the in-memory sessions did not converge".into())
            };
        }
    }
    Err("the in-memory sessions did not settle".into())
}

// ---------------------------------------------------------------------------------------------
// 3. Live propagation between two running nodes.

struct Live {
    history: usize,
    initial: Duration,
    latency: Vec<Duration>,
    commit: Vec<Duration>,
}

fn live_propagation(
    rt: &tokio::runtime::Runtime,
    maya: &DeviceKey,
    mrel: Id,
    side: &[u8],
    samples: usize,
    now: DateTime<Utc>,
) -> Result<Live> {
    let now = Timestamp::from_datetime(now);
    let jordan = DeviceKey::from_secret(Rng(3_000).secret());
    let jrel = Rng(3_001).id();
    let maya_home = tempfile::tempdir()?;
    let jordan_home = tempfile::tempdir()?;
    let maya_store = Store::open(maya_home.path())?;
    let jordan_store = Store::open(jordan_home.path())?;
    maya_store
        .apply_changes(&DocId::Side(mrel), side)
        .map_err(|e| format!("storing Maya's side: {e}"))?;
    let history = Automerge::load(side)?.get_changes(&[]).len();

    let (maya_ep, jordan_ep) = rt.block_on(async {
        let m = bind(
            maya,
            Arc::new(HomeGate::new(Store::open(maya_home.path())?)),
            vec![SYNC_ALPN.to_vec()],
        )
        .await?;
        let j = bind(
            &jordan,
            Arc::new(HomeGate::new(Store::open(jordan_home.path())?)),
            vec![SYNC_ALPN.to_vec()],
        )
        .await?;
        Ok::<_, Box<dyn Error + Send + Sync>>((m, j))
    })?;
    let pair =
        |store: &Store, me: &DeviceKey, rel: Id, name: &str, friend: &DeviceKey, ep: &Endpoint| {
            let rel_doc = paired(name, friend, &endpoint::direct_addrs(ep), now);
            store
                .update(&DocId::Private, &me.actor(), |d| {
                    docs::put_relationship(d, rel, &rel_doc)
                })
                .map_err(|e| format!("pairing: {e}"))
        };
    pair(&maya_store, maya, mrel, "Jordan", &jordan, &jordan_ep)?;
    pair(&jordan_store, &jordan, jrel, "Maya", maya, &maya_ep)?;

    let mut stops = Vec::new();
    let mut nodes = Vec::new();
    for (ep, home, key) in [
        (maya_ep, maya_home.path().to_owned(), maya.clone()),
        (jordan_ep, jordan_home.path().to_owned(), jordan.clone()),
    ] {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        stops.push(stop);
        nodes.push(rt.spawn(async move {
            node::run(
                ep,
                &home,
                key,
                node::Options::serve(local("Bench"), Timeouts::default()),
                async {
                    let _ = stopped.await;
                },
            )
            .await
        }));
    }

    // The nodes dial each other and sync the history first.
    let target = heads_of(&maya_store, &DocId::Side(mrel))?;
    let t = Instant::now();
    while heads_of(&jordan_store, &DocId::Replica(jrel))? != target {
        if t.elapsed() > Duration::from_secs(300) {
            return Err("the nodes did not sync the history".into());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let initial = t.elapsed();
    std::thread::sleep(Duration::from_millis(300));

    // Maya writes as a CLI process does, through a store opened for the write; Jordan's store is
    // watched from another connection.
    let watcher = Store::open(jordan_home.path())?;
    let mut rng = Rng(3_002);
    let mut out = Live {
        history,
        initial,
        latency: Vec::new(),
        commit: Vec::new(),
    };
    for n in 0..samples {
        // Writes land at a random phase of the nodes' 5 ms poll.
        std::thread::sleep(Duration::from_micros(20_000 + rng.below(10_000) as u64));
        let before = watcher.doc_version(&DocId::Replica(jrel))?;
        let t = Instant::now();
        let writer = Store::open(maya_home.path())?;
        write_thanks(&writer, maya, mrel, n)?;
        let committed = Instant::now();
        out.commit.push(committed - t);
        while watcher.doc_version(&DocId::Replica(jrel))? == before {
            if committed.elapsed() > LIVE_TIMEOUT {
                return Err(format!("sample {n}: the change did not arrive").into());
            }
            std::thread::sleep(LIVE_POLL);
        }
        out.latency.push(committed.elapsed());
    }
    let target = heads_of(&maya_store, &DocId::Side(mrel))?;
    let t = Instant::now();
    while heads_of(&jordan_store, &DocId::Replica(jrel))? != target {
        if t.elapsed() > LIVE_TIMEOUT {
            return Err("Jordan's replica does not end up equal to Maya's side".into());
        }
        std::thread::sleep(Duration::from_millis(5));
    }

    for stop in stops {
        let _ = stop.send(());
    }
    rt.block_on(async {
        for node in nodes {
            let _ = tokio::time::timeout(Duration::from_secs(10), node).await;
        }
    });
    eprintln!(
        "  {} changes: median {:.1} ms, commit {:.1} ms",
        out.history,
        ms(median(&out.latency)),
        ms(median(&out.commit))
    );
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// 4. One `tapin serve` with many paired friends.

/// The release `tapin`: `TAPIN_BIN`, or built beside this bench executable.
fn tapin_bin() -> Result<PathBuf> {
    tapin_e2e::release_tapin_bin()
}

fn tapin(bin: &Path, home: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .env("TAPIN_HOME", home)
        .env("TAPIN_MDNS", "off")
        .env("TAPIN_RELAY", "none")
        .env("NO_COLOR", "1")
        .env_remove("TAPIN_BIND")
        .env_remove("TAPIN_PORT")
        .env_remove("TAPIN_LOG")
        .env_remove("TAPIN_NOW")
        .stdin(Stdio::null());
    cmd
}

/// `tapin init` on a stable loopback port; returns the port.
fn init_home(bin: &Path, home: &Path, name: &str) -> Result<u16> {
    let port = UdpSocket::bind("127.0.0.1:0")?.local_addr()?.port();
    let out = tapin(bin, home, &[])
        .args(["init", "--name", name, "--device", "server"])
        .args([
            "--bind",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--no-mdns",
        ])
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "tapin init failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(port)
}

/// A running `tapin serve`, killed (by its pid) when dropped.
struct Serve {
    child: Child,
    stderr: Arc<Mutex<Vec<String>>>,
}

/// What the serve's log line about its store cache says (`tapin_net::node::STATS`).
const CACHE_LINE: &str = "store cache hit rate";

/// The serve's store cache, as its log line says: cumulative since it started.
#[derive(Debug, Clone, Copy, Default)]
struct Cache {
    hits: u64,
    misses: u64,
    documents: u64,
    bytes: u64,
    budget: u64,
    evictions: u64,
}

impl Cache {
    /// Reads the `name=value` fields of the line.
    fn parse(line: &str) -> Option<Cache> {
        let field = |name: &str| -> Option<u64> {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(name)?.strip_prefix('='))
                .and_then(|v| v.trim_end_matches(',').parse().ok())
        };
        Some(Cache {
            hits: field("hits")?,
            misses: field("misses")?,
            documents: field("documents")?,
            bytes: field("bytes")?,
            budget: field("budget")?,
            evictions: field("evictions")?,
        })
    }

    /// Hits ÷ reads since `before`, in percent.
    fn rate_since(&self, before: &Cache) -> f64 {
        let hits = self.hits.saturating_sub(before.hits);
        let reads = hits + self.misses.saturating_sub(before.misses);
        ratio(hits as f64, reads as f64) * 100.0
    }
}

/// Memory of a process, from `/proc/<pid>/status`, in KiB.
#[derive(Debug, Clone, Copy, Default)]
struct Mem {
    rss: u64,
    hwm: u64,
}

impl Serve {
    fn start(bin: &Path, home: &Path) -> Result<Serve> {
        let mut child = tapin(bin, home, &["serve"])
            // Only the line a node logs when its last exchange ends: its store cache's figures.
            .env("TAPIN_LOG", format!("{}=info", node::STATS))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let pipe = child.stderr.take().ok_or("no stderr")?;
        let lines = stderr.clone();
        // Drained all along: the serve logs a line per connection and must never block on it.
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(|l| l.ok()) {
                if let Ok(mut lines) = lines.lock() {
                    lines.push(line);
                }
            }
        });
        let serve = Serve { child, stderr };
        let t = Instant::now();
        while !serve.said("Serving as") {
            if t.elapsed() > Duration::from_secs(30) {
                return Err(format!("tapin serve did not start: {:?}", serve.lines()).into());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(serve)
    }

    fn lines(&self) -> Vec<String> {
        self.stderr.lock().map(|l| l.clone()).unwrap_or_default()
    }

    fn said(&self, what: &str) -> bool {
        self.lines().iter().any(|l| l.contains(what))
    }

    /// The store cache lines the serve logged so far (one each time its last exchange ended).
    fn cache_lines(&self) -> Vec<String> {
        self.lines()
            .into_iter()
            .filter(|l| l.contains(CACHE_LINE))
            .collect()
    }

    /// The serve's store cache figures once it logged its line after the `seen`-th: waits for
    /// it at most a few seconds, then takes the last one it has.
    fn cache_after(&self, seen: usize) -> Option<Cache> {
        let t = Instant::now();
        while self.cache_lines().len() <= seen && t.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.cache_lines().last().and_then(|l| Cache::parse(l))
    }

    fn mem(&self) -> Result<Mem> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let field = |name: &str| -> Result<u64> {
            let line = status
                .lines()
                .find(|l| l.starts_with(name))
                .ok_or_else(|| format!("no {name} in /proc/PID/status"))?;
            Ok(line
                .split_whitespace()
                .nth(1)
                .ok_or("bad status line")?
                .parse()?)
        };
        Ok(Mem {
            rss: field("VmRSS:")?,
            hwm: field("VmHWM:")?,
        })
    }

    /// User plus system CPU time so far, from `/proc/<pid>/stat`.
    fn cpu(&self) -> Result<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))?;
        let after = stat.rsplit_once(')').ok_or("bad /proc/PID/stat")?.1;
        let fields: Vec<&str> = after.split_whitespace().collect();
        // Fields 14 and 15 of stat(5); `after` starts at field 3.
        let ticks: u64 = fields.get(11).ok_or("short stat")?.parse::<u64>()?
            + fields.get(12).ok_or("short stat")?.parse::<u64>()?;
        Ok(Duration::from_secs_f64(ticks as f64 / clock_ticks() as f64))
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn clock_ticks() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

struct Friend {
    home: PathBuf,
    key: DeviceKey,
    /// The friend's id for the hub relationship, and the hub's id for the friend.
    frel: Id,
    hrel: Id,
    ep: Endpoint,
    links: Vec<Link>,
    store: Store,
}

/// One round of every friend syncing with the hub after a change.
struct Round {
    concurrency: usize,
    took: Duration,
    each: Vec<Duration>,
    failures: usize,
    reasons: Vec<String>,
    /// Hub CPU time during the round.
    cpu: Duration,
    /// Hub memory half a second after the round.
    mem: Mem,
    /// The hub's store cache after the round.
    cache: Option<Cache>,
}

#[derive(Default)]
struct Hub {
    friends: usize,
    idle_mem: Mem,
    start_mem: Mem,
    after_first_mem: Mem,
    after_first_cache: Option<Cache>,
    idle_cpu_empty: Duration,
    idle_cpu_hub: Duration,
    idle_window: Duration,
    /// `tapin_net::sync::links` on the hub's home: load and hydrate the private document.
    links: Vec<Duration>,
    private_bytes: u64,
    first_sync: Duration,
    first_failures: usize,
    first_reasons: Vec<String>,
    single: Vec<Duration>,
    rounds: Vec<Round>,
    replicas_ok: usize,
    friends_ok: usize,
}

/// Every friend runs `node::sync_once` with the hub, `concurrency` at a time; returns the time
/// until all are done, each one's time and how many failed.
fn sync_all(
    rt: &tokio::runtime::Runtime,
    friends: &[Friend],
    concurrency: usize,
) -> (Duration, Vec<Duration>, usize, Vec<String>) {
    let gate = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let start = Instant::now();
    let tasks: Vec<_> = friends
        .iter()
        .map(|f| {
            let (ep, home, key, links) =
                (f.ep.clone(), f.home.clone(), f.key.clone(), f.links.clone());
            let gate = gate.clone();
            rt.spawn(async move {
                let _permit = gate.acquire_owned().await;
                let t = Instant::now();
                let results = node::sync_once(
                    &ep,
                    &home,
                    &key,
                    &local("Bench"),
                    &links,
                    &Timeouts::default(),
                )
                .await;
                let errors: Vec<String> = results
                    .into_iter()
                    .filter_map(|(_, r)| r.err().map(|e| e.to_string()))
                    .collect();
                (t.elapsed(), errors)
            })
        })
        .collect();
    let mut each = Vec::new();
    let mut failures = 0;
    let mut reasons = Vec::new();
    rt.block_on(async {
        for task in tasks {
            match task.await {
                Ok((took, errors)) => {
                    each.push(took);
                    if !errors.is_empty() {
                        failures += 1;
                        reasons.extend(errors);
                    }
                }
                Err(e) => {
                    failures += 1;
                    reasons.push(e.to_string());
                }
            }
        }
    });
    (start.elapsed(), each, failures, reasons)
}

fn hub(rt: &tokio::runtime::Runtime, bin: &Path, scale: &Scale, now: DateTime<Utc>) -> Result<Hub> {
    let stamp = Timestamp::from_datetime(now);
    let temp = tempfile::tempdir()?;
    let mut out = Hub {
        friends: scale.friends,
        idle_window: Duration::from_secs(if scale.quick { 2 } else { 5 }),
        ..Default::default()
    };

    // Baseline: an idle serve with no friend at all.
    let empty_home = temp.path().join("empty");
    init_home(bin, &empty_home, "Nobody")?;
    {
        let serve = Serve::start(bin, &empty_home)?;
        std::thread::sleep(Duration::from_secs(1));
        let cpu = serve.cpu()?;
        std::thread::sleep(out.idle_window);
        out.idle_cpu_empty = serve.cpu()? - cpu;
        out.idle_mem = serve.mem()?;
    }

    // The hub and its friends.
    let hub_home = temp.path().join("hub");
    let hub_port = init_home(bin, &hub_home, "Hub")?;
    let hub_addr = SocketAddr::from(([127, 0, 0, 1], hub_port));
    let hub_store = Store::open(&hub_home)?;
    let hub_key = DeviceKey::from_secret(
        hub_store
            .get_secret(MetaKey::DeviceSecret)?
            .ok_or("the hub has no device secret")?,
    );
    eprintln!("  setting up {} friends ...", scale.friends);
    let t = Instant::now();
    let mut friends = Vec::new();
    let mut rels = Vec::new();
    for i in 0..scale.friends {
        let key = DeviceKey::from_secret(Rng(10_000 + i as u64).secret());
        let (frel, hrel) = (Rng(20_000 + i as u64).id(), Rng(30_000 + i as u64).id());
        let home = temp.path().join(format!("friend-{i}"));
        let store = Store::open(&home)?;
        // Bound the way `tapin sync` binds: dials out, accepts nothing.
        let ep = rt.block_on(bind(&key, Arc::new(Anyone), vec![]))?;
        let rel = paired("Hub", &hub_key, &[hub_addr], stamp);
        store
            .update(&DocId::Private, &key.actor(), |d| {
                docs::put_relationship(d, frel, &rel)
            })
            .map_err(|e| format!("{e}"))?;
        let side = side_history(&key, frel, scale.friend_changes, now, 40_000 + i as u64)?;
        store
            .apply_changes(&DocId::Side(frel), &side.save())
            .map_err(|e| format!("{e}"))?;
        let links = tapin_net::sync::links(&store)?;
        rels.push((
            hrel,
            paired(
                &format!("Friend {i}"),
                &key,
                &endpoint::direct_addrs(&ep),
                stamp,
            ),
        ));
        friends.push(Friend {
            home,
            key,
            frel,
            hrel,
            ep,
            links,
            store,
        });
    }
    hub_store
        .update(&DocId::Private, &hub_key.actor(), |d| {
            rels.iter()
                .try_for_each(|(id, rel)| docs::put_relationship(d, *id, rel))
        })
        .map_err(|e| format!("{e}"))?;
    for f in &friends {
        let side = side_history(&hub_key, f.hrel, scale.hub_changes, now, 50_000)?;
        hub_store
            .apply_changes(&DocId::Side(f.hrel), &side.save())
            .map_err(|e| format!("{e}"))?;
    }
    eprintln!("  set up in {:.1} s", t.elapsed().as_secs_f64());
    for _ in 0..20 {
        let t = Instant::now();
        let links = tapin_net::sync::links(&hub_store)?;
        out.links.push(t.elapsed());
        if links.len() != scale.friends {
            return Err(format!("the hub has {} links", links.len()).into());
        }
    }
    out.private_bytes = hub_store
        .stats()?
        .documents
        .iter()
        .filter(|d| d.doc == DocId::Private)
        .map(|d| d.snapshot_bytes + d.chunk_bytes)
        .sum();

    let serve = Serve::start(bin, &hub_home)?;
    std::thread::sleep(Duration::from_secs(1));
    out.start_mem = serve.mem()?;

    // First sync of every friend.
    let (took, _, failures, reasons) = sync_all(rt, &friends, scale.concurrency);
    out.first_sync = took;
    out.first_failures = failures;
    out.first_reasons = reasons;
    out.after_first_cache = serve.cache_after(0);
    std::thread::sleep(Duration::from_millis(500));
    out.after_first_mem = serve.mem()?;

    // Idle with every friend paired and none connected, right after they all disconnected.
    let cpu = serve.cpu()?;
    std::thread::sleep(out.idle_window);
    out.idle_cpu_hub = serve.cpu()? - cpu;

    // Baseline: one friend syncs alone after one change.
    for (n, f) in friends.iter().take(scale.single_syncs).enumerate() {
        write_thanks(&f.store, &f.key, f.frel, 100 + n)?;
        let (took, _, failures, reasons) = sync_all(rt, std::slice::from_ref(f), 1);
        if failures > 0 {
            return Err(format!("a single sync failed: {reasons:?}").into());
        }
        out.single.push(took);
    }

    // Every friend changes its side, then all sync: rounds all at once (is the memory a
    // plateau? `GROWTH_FROM` to `GROWTH_TO` say), then one round a few at a time.
    let mut plan = vec![scale.concurrency; scale.hub_rounds];
    plan.push(BOUNDED);
    for (r, concurrency) in plan.into_iter().enumerate() {
        for (n, f) in friends.iter().enumerate() {
            write_thanks(&f.store, &f.key, f.frel, 1_000 * (r + 1) + n)?;
        }
        let cpu = serve.cpu()?;
        let seen = serve.cache_lines().len();
        let (took, each, failures, reasons) = sync_all(rt, &friends, concurrency);
        let cpu = serve.cpu()? - cpu;
        let cache = serve.cache_after(seen);
        std::thread::sleep(Duration::from_millis(500));
        let mem = serve.mem()?;
        eprintln!(
            "  round {}: {} friends, {} at a time, {:.1} s, {} failed, hub VmRSS {} KiB, VmHWM {} \
             KiB, cache {:?}",
            r + 1,
            friends.len(),
            concurrency,
            took.as_secs_f64(),
            failures,
            mem.rss,
            mem.hwm,
            cache
        );
        out.rounds.push(Round {
            concurrency,
            took,
            each,
            failures,
            reasons,
            cpu,
            mem,
            cache,
        });
    }

    // The hub stored every friend's side, and every friend the hub's.
    let check = Store::open(&hub_home)?;
    for f in &friends {
        if heads_of(&check, &DocId::Replica(f.hrel))? == heads_of(&f.store, &DocId::Side(f.frel))? {
            out.replicas_ok += 1;
        }
        if heads_of(&f.store, &DocId::Replica(f.frel))? == heads_of(&check, &DocId::Side(f.hrel))? {
            out.friends_ok += 1;
        }
    }
    drop(serve);
    rt.block_on(async {
        for f in &friends {
            f.ep.close().await;
        }
    });
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Statistics and the report.

fn median<T: Copy + Ord + Default>(samples: &[T]) -> T {
    let mut s = samples.to_vec();
    s.sort();
    if s.is_empty() {
        return T::default();
    }
    s[s.len() / 2]
}

/// Nearest-rank percentile.
fn percentile<T: Copy + Ord + Default>(samples: &[T], p: usize) -> T {
    let mut s = samples.to_vec();
    s.sort();
    if s.is_empty() {
        return T::default();
    }
    s[(p * s.len()).div_ceil(100).max(1) - 1]
}

/// The median of ratios (the upper one of an even count, as [`median`]).
fn median_f64(samples: &[f64]) -> f64 {
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    s.get(s.len() / 2).copied().unwrap_or(f64::NAN)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 { f64::NAN } else { a / b }
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "**not met**" }
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn report(
    scale: &Scale,
    initial: Option<&InitialSync>,
    live: &[Live],
    hub: Option<&Hub>,
    took: Duration,
) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Run: `cargo bench -p tapin-e2e --bench sync`{}, {:.0} s in all, on {} cores.\n",
        if scale.quick {
            " with TAPIN_BENCH_QUICK=1 (reduced sizes)"
        } else {
            ""
        },
        took.as_secs_f64(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    if let Some(initial) = initial {
        report_initial(&mut s, initial);
    }
    if !live.is_empty() {
        report_live(&mut s, live);
    }
    if let Some(hub) = hub {
        report_hub(&mut s, scale, hub);
    }
    s
}

/// Sections 1 and 2: the first sync and the reconnect.
fn report_initial(s: &mut String, initial: &InitialSync) {
    // 1.
    let load = median(&initial.load);
    let _ = writeln!(
        s,
        "### 1. First sync of a side with {} changes to an empty replica\n\n\
         {} repetitions, each with a fresh replica (new home, new device). The time runs from \
         the first frame to both sides done, and includes what each side does with its store: \
         loading the side, persisting (fsynced) the replica and both sync states. Baseline: \
         `Automerge::load(&doc.save())` of the same document, timed just before and just after \
         each first sync; a repetition's ratio is its first sync ÷ the mean of those two loads, \
         and the ratio column is the median of the repetitions' ratios. `save()` is {} bytes.\n",
        initial.changes,
        initial.sync.len(),
        initial.save_bytes
    );
    let _ = writeln!(
        s,
        "| measure | median | p90 | baseline (median) | ratio (median of runs) | runs within target | target |\n|---|---|---|---|---|---|---|"
    );
    for (label, mode, samples) in [
        ("time, first frame to both done, all", None, &initial.sync),
        (
            "… Maya dials, her store freshly opened (`tapin sync`)",
            Some(0),
            &initial.by_mode[0],
        ),
        (
            "… Maya dials, her store holding the side (`tapin serve`)",
            Some(1),
            &initial.by_mode[1],
        ),
        (
            "… Jordan dials Maya's `tapin serve`",
            Some(2),
            &initial.by_mode[2],
        ),
    ] {
        let ratios: Vec<f64> = initial
            .ratios
            .iter()
            .filter(|(m, _)| mode.is_none_or(|mode| mode == *m))
            .map(|(_, r)| *r)
            .collect();
        let r = median_f64(&ratios);
        let _ = writeln!(
            s,
            "| {label} ({} runs) | {:.0} ms | {:.0} ms | load {:.0} ms | {:.2} | {} of {} | ≤ {} ({}) |",
            samples.len(),
            ms(median(samples)),
            ms(percentile(samples, 90)),
            ms(load),
            r,
            ratios.iter().filter(|r| **r <= TARGET_INITIAL_TIME).count(),
            ratios.len(),
            TARGET_INITIAL_TIME,
            met(r <= TARGET_INITIAL_TIME)
        );
    }
    let total = median(&initial.wire_total);
    let r = ratio(total as f64, initial.save_bytes as f64);
    let _ = writeln!(
        s,
        "| frame bytes, both directions | {} | {} | save() {} | {:.3} | ≤ {} ({}) |",
        total,
        percentile(&initial.wire_total, 90),
        initial.save_bytes,
        r,
        TARGET_INITIAL_BYTES,
        met(r <= TARGET_INITIAL_BYTES)
    );
    let out_bytes = median(&initial.wire_out);
    let _ = writeln!(
        s,
        "| frame bytes, sender to receiver | {} | {} | save() {} | {:.3} | |",
        out_bytes,
        percentile(&initial.wire_out, 90),
        initial.save_bytes,
        ratio(out_bytes as f64, initial.save_bytes as f64)
    );
    let udp = median(&initial.udp);
    let _ = writeln!(
        s,
        "| UDP payload bytes (QUIC), both directions | {} | {} | save() {} | {:.3} | |",
        udp,
        percentile(&initial.udp, 90),
        initial.save_bytes,
        ratio(udp as f64, initial.save_bytes as f64)
    );
    let _ = writeln!(
        s,
        "| connection setup (dial to connected), apart | {:.1} ms | {:.1} ms | | | |",
        ms(median(&initial.connect)),
        ms(percentile(&initial.connect, 90))
    );
    let _ = writeln!(
        s,
        "\nEvery run's ratio, in order (the ways of syncing take turns: `tapin sync`, `tapin \
         serve` dialling, dialled): {}.",
        initial
            .ratios
            .iter()
            .map(|(_, r)| format!("{r:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        s,
        "\nRound trips: {}. The receiver's store afterwards: snapshot {} bytes, chunks {} bytes.\n",
        median(&initial.rounds),
        initial.replica_snapshot,
        initial.replica_chunks
    );
    let _ = writeln!(
        s,
        "Where the time goes (each step timed on its own, medians):\n\n\
         | step | median | ÷ load |\n|---|---|---|"
    );
    for (name, samples) in &initial.parts {
        let _ = writeln!(
            s,
            "| {} | {:.0} ms | {:.2} |",
            name,
            ms(median(samples)),
            ratio(ms(median(samples)), ms(load))
        );
    }

    // 2.
    let wire = median(&initial.reconnect_wire);
    let _ = writeln!(
        s,
        "\n### 2. Reconnect with nothing new, at {} changes of history\n\n\
         After each first sync (sync states stored), a new connection and one exchange; {} \
         samples.\n\n| measure | median | p90 | target |\n|---|---|---|---|",
        initial.changes,
        initial.reconnect_wire.len()
    );
    let _ = writeln!(
        s,
        "| frame bytes, both directions | {} | {} | ≤ {} ({}) |",
        wire,
        percentile(&initial.reconnect_wire, 90),
        TARGET_RECONNECT_BYTES,
        met(wire <= TARGET_RECONNECT_BYTES)
    );
    let _ = writeln!(
        s,
        "| UDP payload bytes of the exchange (QUIC) | {} | {} | |",
        median(&initial.reconnect_udp_exchange),
        percentile(&initial.reconnect_udp_exchange, 90)
    );
    let _ = writeln!(
        s,
        "| UDP payload bytes, handshake included | {} | {} | |",
        median(&initial.reconnect_udp_total),
        percentile(&initial.reconnect_udp_total, 90)
    );
    let _ = writeln!(
        s,
        "| time of the exchange | {:.1} ms ({:.2} × load) | {:.1} ms | |",
        ms(median(&initial.reconnect_time)),
        ratio(ms(median(&initial.reconnect_time)), ms(load)),
        ms(percentile(&initial.reconnect_time, 90))
    );
    let _ = writeln!(
        s,
        "| connection setup, apart | {:.1} ms | {:.1} ms | |",
        ms(median(&initial.reconnect_connect)),
        ms(percentile(&initial.reconnect_connect, 90))
    );
    let _ = writeln!(s, "\nRound trips: {}.", median(&initial.reconnect_rounds));
}

/// Section 3: live propagation.
fn report_live(s: &mut String, live: &[Live]) {
    // 3.
    let _ = writeln!(
        s,
        "\n### 3. Live propagation under `node::run` (both homes serving, in one process)\n\n\
         Maya's write is a `Store::update` of one thanks note through a store opened for it, as a \
         CLI process writes; the time runs from that commit until Jordan's store (read from \
         another connection, every {} ms) has the change durably. Baseline: the CLI write \
         itself (open, load, commit), timed in the same samples and not part of the latency.\n\n\
         | history | samples | median | p90 | baseline: the CLI write (median) | ratio | target |\n\
         |---|---|---|---|---|---|---|",
        LIVE_POLL.as_millis()
    );
    for l in live {
        let m = median(&l.latency);
        let _ = writeln!(
            s,
            "| {} changes | {} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} | ≤ {} ms ({}) |",
            l.history,
            l.latency.len(),
            ms(m),
            ms(percentile(&l.latency, 90)),
            ms(median(&l.commit)),
            ratio(ms(m), ms(median(&l.commit))),
            TARGET_LIVE.as_millis(),
            met(m <= TARGET_LIVE)
        );
    }
    let _ = writeln!(
        s,
        "\nThe history reached the fresh replica first, through the nodes' own dial and push: {}.",
        live.iter()
            .map(|l| format!("{} changes in {:.0} ms", l.history, ms(l.initial)))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

/// Section 4: the hub.
fn report_hub(s: &mut String, scale: &Scale, hub: &Hub) {
    // 4.
    let _ = writeln!(
        s,
        "\n### 4. One `tapin serve` with {} paired friends\n\n\
         The real release binary serves the hub; its private document holds {} paired \
         relationships, each with one friend device. The friends run in the bench process, each \
         with its own home, device key and endpoint (bound the way `tapin sync` binds: dialling \
         out, accepting nothing, so the hub's own dials to them are refused and back off), and \
         sync with `node::sync_once`, as `tapin sync` does. Each friend's side starts with {} \
         changes, the hub's side for each friend with {}; in each round every friend first \
         writes one thanks note.\n",
        hub.friends, hub.friends, scale.friend_changes, scale.hub_changes
    );
    let _ = writeln!(
        s,
        "| memory of the serve process | VmRSS | VmHWM | ÷ idle, 0 friends (RSS) | store cache: documents, stored bytes | hit rate (that step) | target |\n\
         |---|---|---|---|---|---|---|"
    );
    let cache_words = |c: &Option<Cache>| match c {
        Some(c) => format!(
            "{}, {} of {} KiB",
            c.documents,
            c.bytes / 1024,
            c.budget / 1024
        ),
        None => String::new(),
    };
    let mut rows = vec![
        (
            "idle, 0 friends (baseline)".to_owned(),
            hub.idle_mem,
            None,
            String::new(),
            false,
        ),
        (
            format!("started, {} friends paired, none synced", hub.friends),
            hub.start_mem,
            None,
            String::new(),
            false,
        ),
        (
            "after every friend's first sync".to_owned(),
            hub.after_first_mem,
            hub.after_first_cache,
            hub.after_first_cache
                .map(|c| format!("{:.0}%", c.rate_since(&Cache::default())))
                .unwrap_or_default(),
            true,
        ),
    ];
    let mut before = hub.after_first_cache;
    for (i, r) in hub.rounds.iter().enumerate() {
        let rate = match (r.cache, before) {
            (Some(c), Some(b)) => format!("{:.0}%", c.rate_since(&b)),
            _ => String::new(),
        };
        before = r.cache.or(before);
        rows.push((
            format!(
                "after round {} (every friend changed and synced, {} at a time)",
                i + 1,
                r.concurrency
            ),
            r.mem,
            r.cache,
            rate,
            true,
        ));
    }
    for (label, mem, cache, rate, target) in rows {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {:.2} | {} | {} | {} |",
            label,
            mib(mem.rss),
            mib(mem.hwm),
            ratio(mem.rss as f64, hub.idle_mem.rss as f64),
            cache_words(&cache),
            rate,
            if target {
                format!(
                    "≤ {} MiB ({})",
                    TARGET_HUB_RSS_KB / 1024,
                    met(mem.rss.max(mem.hwm) <= TARGET_HUB_RSS_KB)
                )
            } else {
                String::new()
            }
        );
    }
    let (from, to) = (
        hub.rounds.get(GROWTH_FROM - 1),
        hub.rounds.get(GROWTH_TO.min(hub.rounds.len()) - 1),
    );
    if let (Some(from), Some(to)) = (from, to)
        && to.concurrency == from.concurrency
    {
        let last = GROWTH_TO.min(hub.rounds.len());
        let grew = to.mem.rss as i64 - from.mem.rss as i64;
        let peak = hub
            .rounds
            .iter()
            .map(|r| r.mem.hwm)
            .chain([hub.after_first_mem.hwm])
            .max()
            .unwrap_or(0);
        let _ = writeln!(
            s,
            "\nVmRSS from round {GROWTH_FROM} to round {last}: {:+.1} MiB (target: less than {} \
             MiB in all, {}). The highest VmHWM: {} (target ≤ {} MiB, {}).",
            grew as f64 / 1024.0,
            TARGET_HUB_GROWTH_KB / 1024,
            met(grew < TARGET_HUB_GROWTH_KB as i64),
            mib(peak),
            TARGET_HUB_RSS_KB / 1024,
            met(peak <= TARGET_HUB_RSS_KB)
        );
    }
    if let Some(c) = hub.rounds.last().and_then(|r| r.cache) {
        let _ = writeln!(
            s,
            "\nThe hub's store cache over the whole run (`{}` at INFO, logged whenever its last \
             exchange ends): {} hits, {} misses ({:.1}% of reads from memory), {} evictions; it \
             keeps {} documents, {} KiB stored of its {} KiB budget.",
            node::STATS,
            c.hits,
            c.misses,
            c.rate_since(&Cache::default()),
            c.evictions,
            c.documents,
            c.bytes / 1024,
            c.budget / 1024
        );
    }
    let single = median(&hub.single);
    let _ = writeln!(
        s,
        "\n| time to sync every friend | total | one friend's sync within it, median / p90 | failed | hub CPU | baseline: one friend alone (median of {}) | ratio | ratio ÷ {} friends |\n\
         |---|---|---|---|---|---|---|---|",
        hub.single.len(),
        hub.friends
    );
    let _ = writeln!(
        s,
        "| first sync, {} at a time | {:.1} s | | {} | | {:.0} ms | {:.0} | {:.2} |",
        scale.concurrency,
        hub.first_sync.as_secs_f64(),
        hub.first_failures,
        ms(single),
        ratio(ms(hub.first_sync), ms(single)),
        ratio(ms(hub.first_sync), ms(single)) / hub.friends as f64
    );
    for (i, r) in hub.rounds.iter().enumerate() {
        let x = ratio(ms(r.took), ms(single));
        let _ = writeln!(
            s,
            "| round {}: all changed, {} at a time | {:.1} s | {:.0} / {:.0} ms | {} | {:.1} s | {:.0} ms | {:.0} | {:.2} |",
            i + 1,
            r.concurrency,
            r.took.as_secs_f64(),
            ms(median(&r.each)),
            ms(percentile(&r.each, 90)),
            r.failures,
            r.cpu.as_secs_f64(),
            ms(single),
            x,
            x / hub.friends as f64
        );
    }
    let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
    for reason in hub
        .first_reasons
        .iter()
        .chain(hub.rounds.iter().flat_map(|r| r.reasons.iter()))
    {
        *reasons.entry(reason.as_str()).or_default() += 1;
    }
    if !reasons.is_empty() {
        let _ = writeln!(
            s,
            "\nFailures, by reason: {}.",
            reasons
                .iter()
                .map(|(r, n)| format!("{n} × \"{r}\""))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let _ = writeln!(
        s,
        "\nThe hub stored {}/{} friends' sides exactly (replica heads = the friend's heads), and \
         {}/{} friends stored the hub's side. Loading and hydrating the hub's private document \
         ({} bytes, {} relationships: `tapin_net::sync::links`) takes {:.1} ms (median of {}, \
         in the bench process). Hub CPU over the {:.0} s right after every friend disconnected: \
         {:.2} s; an idle serve with no friend: {:.2} s.",
        hub.replicas_ok,
        hub.friends,
        hub.friends_ok,
        hub.friends,
        hub.private_bytes,
        hub.friends,
        ms(median(&hub.links)),
        hub.links.len(),
        hub.idle_window.as_secs_f64(),
        hub.idle_cpu_hub.as_secs_f64(),
        hub.idle_cpu_empty.as_secs_f64()
    );
}
