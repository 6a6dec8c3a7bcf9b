//! The one-shot sync behind `tapin sync`: dial each device of the friends asked for, run one
//! exchange, close.

use std::path::Path;
use std::sync::Arc;

use iroh::Endpoint;
use tapin_core::identity::DeviceKey;

use super::{Dialled, Local, Unsynced, closed_as_newer, closed_as_unpaired, dial_device};
use crate::Timeouts;
use crate::endpoint::{self, DialError};
use crate::frame::FrameError;
use crate::shared::SharedStore;
use crate::sync::{self, Link, SyncError, SyncStats, Wire};

/// Syncs once with every device of the given links that can be reached (the `tapin sync`
/// command): dial, one exchange, close. Returns per link the stats, or why it was not synced.
/// Every wait is bounded by `timeouts`.
pub async fn sync_once(
    ep: &Endpoint,
    home: &Path,
    me: &DeviceKey,
    local: &Local,
    links: &[Link],
    timeouts: &Timeouts,
) -> Vec<(Link, Result<SyncStats, Unsynced>)> {
    let store = match SharedStore::open(home).await {
        Ok(store) => store,
        Err(e) => {
            let failed = Arc::new(SyncError::from(e));
            return links
                .iter()
                .map(|l| (l.clone(), Err(Unsynced::Failed(failed.clone()))))
                .collect();
        }
    };
    let mut out = Vec::new();
    for link in links {
        let mut total: Option<SyncStats> = None;
        let mut worst: Option<Unsynced> = None;
        for device in &link.devices {
            let (conn, version) = match dial_device(
                ep,
                local,
                &link.name,
                *device,
                &link.reach_of(*device),
                timeouts,
            )
            .await
            {
                Dialled::Connected(conn, version) => (conn, version),
                Dialled::Not(why) => {
                    keep_worst(&mut worst, why);
                    continue;
                }
            };
            let wire = Wire::of(version, || {
                endpoint::my_reach(ep, &local.relay, local.advertise)
            })
            .unwrap_or(Wire::V2);
            let result = async {
                let (mut send, mut recv) = conn.open_bi().await.map_err(FrameError::from)?;
                let stats = sync::exchange(
                    &store, me, link, *device, &mut send, &mut recv, true, &wire, None, timeouts,
                )
                .await?;
                let _ = send.finish();
                Ok::<_, SyncError>(stats)
            }
            .await;
            match result {
                Ok(stats) => {
                    // Before the close, which ends every path.
                    let path = sync::path_of(&conn);
                    conn.close(0u32.into(), b"done");
                    let t = total.get_or_insert_with(SyncStats::default);
                    t.sent_bytes += stats.sent_bytes;
                    t.received_bytes += stats.received_bytes;
                    t.received_changes += stats.received_changes;
                    t.rounds += stats.rounds;
                    t.learned_reach |= stats.learned_reach;
                    // Of several devices, a direct path to any of them is what matters.
                    t.path = match (t.path, path) {
                        (Some(sync::Path::Direct), _) => Some(sync::Path::Direct),
                        (_, now) => now.or(t.path),
                    };
                }
                Err(_) if conn.close_reason().is_some() && !closed_as_newer(&conn) => {
                    let reach = link.reach_of(*device);
                    match closed_as_unpaired(&conn, &link.name, local, &reach, timeouts) {
                        Some(why) => keep_worst(&mut worst, why),
                        None => keep_worst(
                            &mut worst,
                            Unsynced::Failed(Arc::new(SyncError::Closed(super::closed_words(
                                &conn
                                    .close_reason()
                                    .unwrap_or(iroh::endpoint::ConnectionError::LocallyClosed),
                            )))),
                        ),
                    }
                }
                Err(_) if closed_as_newer(&conn) => keep_worst(
                    &mut worst,
                    Unsynced::TheirsNewer {
                        name: link.name.clone(),
                    },
                ),
                Err(err) => {
                    sync::refuse(&conn, &err);
                    keep_worst(&mut worst, Unsynced::Failed(Arc::new(err)));
                }
            }
        }
        if let Some(path) = total.and_then(|t| t.path) {
            sync::remember_path(&store, link.rel, path).await;
        }
        let result = total.ok_or_else(|| {
            worst.unwrap_or_else(|| Unsynced::Unreachable(Arc::new(DialError::NoAddress)))
        });
        out.push((link.clone(), result));
    }
    out
}

/// Keeps, of the reasons a friend's devices were not synced with, the one that says most.
fn keep_worst(worst: &mut Option<Unsynced>, why: Unsynced) {
    if worst.as_ref().is_none_or(|w| why.rank() >= w.rank()) {
        *worst = Some(why);
    }
}
