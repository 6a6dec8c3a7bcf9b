//! Length-prefixed framing (`tapin_net::frame`), fuzzed on real QUIC streams.
//!
//! `frame::read` takes an iroh `RecvStream`, not any reader, so the streams here are real: two
//! endpoints on loopback, one connection, and a unidirectional stream per case. The bytes put on
//! a stream are built from segments (frames encoded as `frame::write` encodes them; lengths over
//! the cap, up to `u32::MAX`; a zero length; a length a few bytes off; a body cut short; a body
//! of random bytes; bytes without a header), then mutated (bits flipped, bytes set, inserted,
//! removed, the stream cut). The messages are the ones the protocols read with their caps: sync
//! `Frame`s (64 MiB, and a small cap so that real frames exceed it) and the pairing messages
//! (16 KiB).
//!
//! Reading frame after frame until the first error, `frame::read` must give exactly what a
//! reader written here from docs/PROTOCOL.md gives: each message whose length is within the cap
//! and whose body decodes to exactly one message; then `TooLarge` with the announced length and the cap, `Io` for a
//! stream that ends early, or `Decode`. A length over the cap on a stream that stays open must
//! be refused at once, without waiting for (or making room for) its body. Nothing panics.
//!
//! `TAPIN_FUZZ_CASES=100000 cargo test --release -p tapin-net --test fuzz_frame`

use std::fmt::Debug;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use iroh::endpoint::Connection;
use iroh::{Endpoint, EndpointAddr, TransportAddr};
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tapin_core::identity::{DeviceKey, PersonKey};
use tapin_core::pairing::{Confirm, InviteId, JoinRequest, JoinResponse};
use tapin_core::sync::{Frame, WireDoc};
use tapin_core::time::Timestamp;
use tapin_net::endpoint::{self, Gate, NetConfig};
use tapin_net::frame::{self, FrameError};
use tapin_net::{SYNC_ALPN, pair, sync};

/// `TAPIN_FUZZ_CASES` cases, or `default`.
fn config(default: u32) -> Config {
    let cases = std::env::var("TAPIN_FUZZ_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default);
    Config::with_cases(cases)
}

/// How long a read that must finish may take.
const PROMPT: Duration = Duration::from_secs(5);

#[derive(Debug)]
struct Everyone;

impl Gate for Everyone {
    fn allow_sync(&self, _device: &[u8; 32]) -> bool {
        true
    }
    fn allow_pairing(&self) -> bool {
        true
    }
}

/// Two endpoints on loopback and one connection between them, kept for the whole test binary.
#[derive(Debug)]
struct Net {
    rt: tokio::runtime::Runtime,
    client: Connection,
    server: Connection,
    /// Held by a case while it uses the connection: tests run on parallel threads, and a stream
    /// one opens must be the one it accepts.
    turn: Mutex<()>,
    _endpoints: (Endpoint, Endpoint),
}

impl Net {
    fn turn(&self) -> MutexGuard<'_, ()> {
        // A failed case poisons the lock; the connection is still fine for the next.
        self.turn.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn net() -> &'static Net {
    static NET: OnceLock<Net> = OnceLock::new();
    NET.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let (client, server, eps) = rt.block_on(async {
            let config = NetConfig::loopback();
            let bind = |secret| {
                endpoint::bind(
                    secret,
                    &config,
                    Arc::new(Everyone),
                    vec![SYNC_ALPN.to_vec()],
                )
            };
            let server_ep = bind([1; 32]).await.expect("bind");
            let client_ep = bind([2; 32]).await.expect("bind");
            let addrs: Vec<SocketAddr> = endpoint::direct_addrs(&server_ep);
            let at =
                EndpointAddr::from_parts(server_ep.id(), addrs.into_iter().map(TransportAddr::Ip));
            let accept = async {
                server_ep
                    .accept()
                    .await
                    .expect("an incoming connection")
                    .await
                    .expect("a connection")
            };
            let (client, server) = tokio::join!(client_ep.connect(at, SYNC_ALPN), accept);
            (client.expect("connect"), server, (server_ep, client_ep))
        });
        Net {
            rt,
            client,
            server,
            turn: Mutex::new(()),
            _endpoints: eps,
        }
    })
}

/// A message as `frame::write` puts it on the wire.
fn framed<T: Serialize>(msg: &T) -> Vec<u8> {
    let body = postcard::to_stdvec(msg).expect("a message encodes");
    let mut out = (body.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(&body);
    out
}

/// What one read gives, in a form both the reader and the reference produce.
#[derive(Debug, PartialEq)]
enum Outcome<T> {
    Message(T),
    TooLarge { len: u32, cap: u32 },
    Io,
    Decode,
}

/// The reads a stream holding exactly `bytes` (and then finished) gives, by docs/PROTOCOL.md:
/// a 4-byte big-endian length, refused before its body if over `cap`, then that many bytes of
/// postcard.
fn reference<T: DeserializeOwned>(bytes: &[u8], cap: u32) -> Vec<Outcome<T>> {
    let mut out = Vec::new();
    let mut rest = bytes;
    loop {
        let Some((len, tail)) = rest.split_first_chunk::<4>() else {
            out.push(Outcome::Io);
            return out;
        };
        let len = u32::from_be_bytes(*len);
        if len > cap {
            out.push(Outcome::TooLarge { len, cap });
            return out;
        }
        if tail.len() < len as usize {
            out.push(Outcome::Io);
            return out;
        }
        let (body, tail) = tail.split_at(len as usize);
        // A body is exactly one message: bytes left over after it are refused.
        match postcard::take_from_bytes(body) {
            Ok((msg, [])) => out.push(Outcome::Message(msg)),
            _ => {
                out.push(Outcome::Decode);
                return out;
            }
        }
        rest = tail;
    }
}

/// Puts `bytes` on a fresh stream (finished unless `keep_open`) and reads frames with `cap`
/// until the first error, or `limit` reads.
fn read_all<T: DeserializeOwned + Send + 'static>(
    bytes: Vec<u8>,
    cap: u32,
    keep_open: bool,
    limit: usize,
) -> Result<Vec<Outcome<T>>, TestCaseError> {
    let n = net();
    let _turn = n.turn();
    n.rt.block_on(async {
        let mut send = in_time(n.client.open_uni()).await?;
        // The writer runs beside the reader: a stream holds more than QUIC lets through unread.
        let writer = tokio::spawn(async move {
            let _ = send.write_all(&bytes).await;
            if !keep_open {
                let _ = send.finish();
            }
            // Held (open, if so asked) until the reader is done with the stream.
            std::future::pending::<()>().await;
        });
        let mut recv = in_time(n.server.accept_uni()).await?;
        let mut got = Vec::new();
        while got.len() < limit {
            let read = tokio::time::timeout(PROMPT, frame::read::<T>(&mut recv, cap))
                .await
                .map_err(|_| TestCaseError::fail("frame::read did not return"))?;
            let outcome = match read {
                Ok(msg) => Outcome::Message(msg),
                Err(FrameError::TooLarge { len, cap }) => Outcome::TooLarge { len, cap },
                Err(FrameError::Io(_)) => Outcome::Io,
                Err(FrameError::Decode(_)) => Outcome::Decode,
                Err(e @ FrameError::Encode(_)) => {
                    return Err(TestCaseError::fail(format!("a read encodes nothing: {e}")));
                }
            };
            let end = !matches!(outcome, Outcome::Message(_));
            got.push(outcome);
            if end {
                break;
            }
        }
        let _ = recv.stop(0u32.into());
        writer.abort();
        Ok(got)
    })
}

fn fail(e: impl Debug) -> TestCaseError {
    TestCaseError::fail(format!("{e:?}"))
}

/// `f`'s value, or a failure if it errs or takes longer than [`PROMPT`]: a case fails rather
/// than hangs.
async fn in_time<T, E: Debug>(
    f: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, TestCaseError> {
    tokio::time::timeout(PROMPT, f)
        .await
        .map_err(fail)?
        .map_err(fail)
}

fn frame() -> impl Strategy<Value = Frame> {
    let bytes = |max| proptest::collection::vec(any::<u8>(), 0..max);
    prop_oneof![
        Just(Frame::EndOfBatch),
        (any::<bool>(), bytes(300)).prop_map(|(s, message)| Frame::Sync {
            doc: if s {
                WireDoc::SenderSide
            } else {
                WireDoc::ReceiverSide
            },
            message,
        }),
        (
            proptest::collection::vec(any::<[u8; 32]>(), 0..4),
            bytes(70)
        )
            .prop_map(|(heads, signature)| Frame::Heads { heads, signature }),
        bytes(2000).prop_map(|bytes| Frame::Snapshot { bytes }),
        (any::<u64>(), any::<u64>(), bytes(2000)).prop_map(|(offset, total, bytes)| {
            Frame::SnapshotPart {
                offset,
                total,
                bytes,
            }
        }),
    ]
}

fn join_request() -> impl Strategy<Value = JoinRequest> {
    (
        any::<[u8; 16]>(),
        "\\PC{0,70}",
        any::<[u8; 32]>(),
        any::<[u8; 32]>(),
        proptest::collection::vec(any::<(u32, u16)>(), 0..17),
        proptest::option::of("\\PC{0,40}"),
    )
        .prop_map(|(invite, name, secret, proof, addrs, relay)| {
            let person = PersonKey::from_secret(secret);
            let device = DeviceKey::from_secret(proof).id();
            JoinRequest {
                invite: InviteId(invite),
                name,
                cert: person.certify(device, "laptop", Timestamp(1)).to_bytes(),
                proof,
                addrs: addrs
                    .into_iter()
                    .map(|(ip, port)| SocketAddr::from((ip.to_be_bytes(), port)))
                    .collect(),
                relay,
            }
        })
}

/// A `tapin/sync/4` hello: any reach a peer might claim, whatever it says it kept.
fn hello() -> impl Strategy<Value = sync::Hello> {
    (
        proptest::collection::vec(any::<(u32, u16)>(), 0..20),
        proptest::option::of("\\PC{0,300}"),
        any::<bool>(),
        any::<u64>(),
        any::<[u8; 32]>(),
    )
        .prop_map(
            |(addrs, relay, holds_yours, staged, staged_digest)| sync::Hello {
                reach: tapin_core::pairing::Reach {
                    addrs: addrs
                        .into_iter()
                        .map(|(ip, port)| SocketAddr::from((ip.to_be_bytes(), port)))
                        .collect(),
                    relay,
                },
                holds_yours,
                staged,
                staged_digest,
            },
        )
}

fn join_response() -> impl Strategy<Value = JoinResponse> {
    prop_oneof![
        (
            proptest::collection::vec(any::<u8>(), 0..200),
            any::<[u8; 32]>()
        )
            .prop_map(|(cert, proof)| JoinResponse::Welcome { cert, proof }),
        "\\PC{0,200}".prop_map(JoinResponse::Refused),
    ]
}

/// One piece of a stream.
#[derive(Debug, Clone)]
enum Segment {
    /// The i-th message, framed.
    Message(usize),
    /// A length over the cap by this much (saturating at `u32::MAX`), and no body.
    OverCap(u32),
    /// A zero length.
    Empty,
    /// The i-th message with its length off by a few bytes.
    LengthOff(usize, i8),
    /// The i-th message with its body cut by this many bytes (its length unchanged).
    Cut(usize, u16),
    /// A length and that many random bytes.
    RandomBody(Vec<u8>),
    /// Bytes with no length before them.
    Raw(Vec<u8>),
}

fn segment() -> impl Strategy<Value = Segment> {
    prop_oneof![
        6 => any::<usize>().prop_map(Segment::Message),
        1 => prop_oneof![Just(0u32), Just(1), Just(u32::MAX), any::<u32>()].prop_map(Segment::OverCap),
        1 => Just(Segment::Empty),
        1 => (any::<usize>(), -4i8..=4).prop_map(|(i, d)| Segment::LengthOff(i, d)),
        1 => (any::<usize>(), 1u16..64).prop_map(|(i, c)| Segment::Cut(i, c)),
        1 => proptest::collection::vec(any::<u8>(), 0..64).prop_map(Segment::RandomBody),
        1 => proptest::collection::vec(any::<u8>(), 1..8).prop_map(Segment::Raw),
    ]
}

/// A blind change to the whole stream.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Set(usize, u8),
    Insert(usize, Vec<u8>),
    Remove(usize, usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(a, b)| Mutation::Flip(a, b)),
        (
            any::<usize>(),
            prop_oneof![Just(0u8), Just(0xff), Just(0x80), Just(0x7f), any::<u8>()]
        )
            .prop_map(|(a, v)| Mutation::Set(a, v)),
        (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..6))
            .prop_map(|(a, b)| Mutation::Insert(a, b)),
        (any::<usize>(), 1usize..8).prop_map(|(a, n)| Mutation::Remove(a, n)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn mutate(bytes: &mut Vec<u8>, m: &Mutation) {
    let n = bytes.len();
    match m {
        Mutation::Flip(at, bit) if n > 0 => bytes[at % n] ^= 1 << bit,
        Mutation::Set(at, v) if n > 0 => bytes[at % n] = *v,
        Mutation::Insert(at, new) => {
            let at = at % (n + 1);
            bytes.splice(at..at, new.iter().copied());
        }
        Mutation::Remove(at, len) => {
            let at = at % (n + 1);
            bytes.drain(at..(at + len).min(n));
        }
        Mutation::Truncate(len) => bytes.truncate(len % (n + 1)),
        Mutation::Flip(..) | Mutation::Set(..) => {}
    }
}

/// The stream `segments` describe over `messages`.
fn stream<T: Serialize>(messages: &[T], segments: &[Segment], cap: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let pick = |i: usize| (!messages.is_empty()).then(|| framed(&messages[i % messages.len()]));
    for s in segments {
        match s {
            Segment::Message(i) => out.extend(pick(*i).unwrap_or_default()),
            Segment::OverCap(by) => {
                out.extend_from_slice(&cap.saturating_add(1).saturating_add(*by).to_be_bytes())
            }
            Segment::Empty => out.extend_from_slice(&[0; 4]),
            Segment::LengthOff(i, d) => {
                if let Some(mut f) = pick(*i) {
                    let len = u32::from_be_bytes([f[0], f[1], f[2], f[3]]);
                    f[..4].copy_from_slice(&len.saturating_add_signed(i32::from(*d)).to_be_bytes());
                    out.extend(f);
                }
            }
            Segment::Cut(i, c) => {
                if let Some(mut f) = pick(*i) {
                    f.truncate(f.len().saturating_sub(usize::from(*c)).max(4));
                    out.extend(f);
                }
            }
            Segment::RandomBody(b) => {
                out.extend_from_slice(&(b.len() as u32).to_be_bytes());
                out.extend_from_slice(b);
            }
            Segment::Raw(b) => out.extend_from_slice(b),
        }
    }
    out
}

/// Builds a stream of `T`s, mutates it, and checks `frame::read` against the reference.
fn check<T>(
    messages: &[T],
    segments: &[Segment],
    mutations: &[Mutation],
    cap: u32,
) -> Result<(), TestCaseError>
where
    T: Serialize + DeserializeOwned + PartialEq + Debug + Send + 'static,
{
    let mut bytes = stream(messages, segments, cap);
    for m in mutations {
        mutate(&mut bytes, m);
    }
    let want = reference::<T>(&bytes, cap);
    let got = read_all::<T>(bytes, cap, false, want.len() + 1)?;
    prop_assert_eq!(got, want);
    Ok(())
}

/// The caps the protocols read with, and a small one real frames exceed.
fn cap() -> impl Strategy<Value = u32> {
    prop_oneof![Just(sync::FRAME_CAP), Just(pair::FRAME_CAP), 0u32..300]
}

proptest! {
    #![proptest_config(config(64))]

    /// Frames written by `frame::write` read back as they were, in order; then the stream ends.
    #[test]
    fn fuzz_frame_write_then_read(frames in proptest::collection::vec(frame(), 0..6)) {
        let n = net();
        let _turn = n.turn();
        let want = frames.clone();
        let got = n.rt.block_on(async {
            let mut send = in_time(n.client.open_uni()).await?;
            let writer = tokio::spawn(async move {
                for f in &frames {
                    frame::write(&mut send, f).await.map_err(fail)?;
                }
                send.finish().map_err(fail)?;
                // Held until the reader is done with the stream.
                std::future::pending::<()>().await;
                Ok::<_, TestCaseError>(())
            });
            let mut recv = in_time(n.server.accept_uni()).await?;
            let mut got = Vec::new();
            for _ in 0..want.len() {
                got.push(in_time(frame::read::<Frame>(&mut recv, sync::FRAME_CAP)).await?);
            }
            let end = tokio::time::timeout(PROMPT, frame::read::<Frame>(&mut recv, sync::FRAME_CAP)).await;
            let _ = recv.stop(0u32.into());
            let failed = writer.is_finished();
            writer.abort();
            prop_assert!(matches!(end, Ok(Err(FrameError::Io(_)))), "{:?}", end);
            prop_assert!(!failed, "frame::write failed");
            Ok(got)
        })?;
        prop_assert_eq!(got, want);
    }

    /// Mutated streams of sync frames, read with the sync cap or a small one.
    #[test]
    fn fuzz_frame_sync_streams(
        frames in proptest::collection::vec(frame(), 1..4),
        segments in proptest::collection::vec(segment(), 0..6),
        mutations in proptest::collection::vec(mutation(), 0..3),
        cap in cap(),
    ) {
        check(&frames, &segments, &mutations, cap)?;
    }

    /// Mutated streams of pairing messages, read with the pairing cap.
    #[test]
    fn fuzz_frame_pairing_streams(
        requests in proptest::collection::vec(join_request(), 1..3),
        responses in proptest::collection::vec(join_response(), 1..3),
        which in 0u8..3,
        segments in proptest::collection::vec(segment(), 0..5),
        mutations in proptest::collection::vec(mutation(), 0..3),
    ) {
        match which {
            0 => check(&requests, &segments, &mutations, pair::FRAME_CAP)?,
            1 => check(&responses, &segments, &mutations, pair::FRAME_CAP)?,
            _ => {
                let confirms = [Confirm { accepted: true }, Confirm { accepted: false }];
                check(&confirms, &segments, &mutations, pair::FRAME_CAP)?
            }
        }
    }

    /// Mutated streams of `tapin/sync/4` hellos, read with the hello's cap (over-long claimed
    /// reaches among them, which the cap must refuse).
    #[test]
    fn fuzz_frame_hello_streams(
        hellos in proptest::collection::vec(hello(), 1..3),
        segments in proptest::collection::vec(segment(), 0..5),
        mutations in proptest::collection::vec(mutation(), 0..3),
    ) {
        check(&hellos, &segments, &mutations, sync::HELLO_CAP)?;
    }

    /// A length over the cap is refused as soon as it arrives, on a stream that stays open and
    /// never sends the body: the reader neither waits for it nor makes room for it.
    #[test]
    fn fuzz_frame_over_cap_refused_at_once(
        cap in cap(),
        over in prop_oneof![Just(0u32), Just(u32::MAX), any::<u32>()],
        mut before in proptest::collection::vec(frame(), 0..3),
    ) {
        let len = cap.saturating_add(1).saturating_add(over);
        before.retain(|f| framed(f).len() - 4 <= cap as usize);
        let mut bytes: Vec<u8> = before.iter().flat_map(framed).collect();
        bytes.extend_from_slice(&len.to_be_bytes());
        let got = read_all::<Frame>(bytes, cap, true, before.len() + 1)?;
        let mut want: Vec<Outcome<Frame>> = before.into_iter().map(Outcome::Message).collect();
        want.push(Outcome::TooLarge { len, cap });
        prop_assert_eq!(got, want);
    }
}
