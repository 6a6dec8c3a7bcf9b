//! Every wait the network makes, in one place: how long a dial, a frame, a pairing step or a
//! person may take, how often the node looks for local writes, and how it backs off.
//!
//! Every function that waits takes a [`Timeouts`], so tests can shorten what they would otherwise
//! sit out. [`Timeouts::default`] is what people get. The CLI reads per-name overrides from
//! `TAPIN_TIMEOUTS` ([`Timeouts::with_overrides`]) — for tests only.
//!
//! ```
//! use std::time::Duration;
//! use tapin_net::Timeouts;
//!
//! let t = Timeouts::default().with_overrides("pair_step=2s, dial=500ms").unwrap();
//! assert_eq!(t.pair_step, Duration::from_secs(2));
//! assert_eq!(t.dial, Duration::from_millis(500));
//! assert_eq!(t.frame, Timeouts::default().frame);
//! assert!(Timeouts::default().with_overrides("dail=1s").is_err());
//! ```

use std::time::Duration;

/// How long the network waits for each thing. `Default` is what people get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// How long one dial of a friend's device may take (`tapin serve`, `tapin sync`).
    pub dial: Duration,
    /// The wait before dialling an unreachable friend's device again; it doubles after each
    /// failed dial, up to [`Timeouts::max_backoff`].
    pub first_backoff: Duration,
    /// The longest wait between two dials of an unreachable friend's device.
    pub max_backoff: Duration,
    /// Two connections to one device registered within this window are simultaneous dials (both
    /// nodes dialled at once), not a stale connection replaced by a new one.
    pub duplicate_window: Duration,
    /// How often the node looks for writes by other processes (a cheap `PRAGMA data_version`).
    pub poll: Duration,
    /// The longest wait for the next sync frame.
    pub frame: Duration,
    /// How long to wait for the default relays to pick this device's home relay.
    pub relay: Duration,
    /// How long each pairing step may take: reaching the inviter, each message, the close.
    pub pair_step: Duration,
    /// How long to wait for the other person to compare the safety codes.
    pub pair_confirm: Duration,
    /// How long an inviter waits for a refused joiner to read the refusal and close.
    pub pair_refused: Duration,
    /// How long a pairing command that could not take the home's port (`tapin serve` holds it)
    /// keeps its endpoint up after pairing, for the new friend's device to sync with it once:
    /// that first exchange tells this home where the friend's node listens.
    pub handover: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            dial: Duration::from_secs(5),
            first_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
            duplicate_window: Duration::from_secs(3),
            poll: Duration::from_millis(5),
            frame: Duration::from_secs(30),
            relay: Duration::from_secs(5),
            pair_step: Duration::from_secs(20),
            pair_confirm: Duration::from_secs(600),
            pair_refused: Duration::from_secs(2),
            handover: Duration::from_secs(15),
        }
    }
}

/// An override of [`Timeouts`] could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeoutsError {
    /// An entry is not `name=duration`.
    #[error("{entry:?} is not NAME=DURATION")]
    NotAnEntry {
        /// The entry.
        entry: String,
    },
    /// No timeout has this name.
    #[error("no timeout is called {name:?} (known: {})", Timeouts::NAMES.join(", "))]
    UnknownName {
        /// The name given.
        name: String,
    },
    /// The duration is not a number followed by `ms`, `s` or `m`.
    #[error("{value:?} is not a duration like 500ms, 2s or 1m")]
    BadDuration {
        /// The value given.
        value: String,
    },
}

impl Timeouts {
    /// The name of every field, as overrides spell them.
    pub const NAMES: [&'static str; 11] = [
        "dial",
        "first_backoff",
        "max_backoff",
        "duplicate_window",
        "poll",
        "frame",
        "relay",
        "pair_step",
        "pair_confirm",
        "pair_refused",
        "handover",
    ];

    /// The field called `name`.
    fn field(&mut self, name: &str) -> Option<&mut Duration> {
        Some(match name {
            "dial" => &mut self.dial,
            "first_backoff" => &mut self.first_backoff,
            "max_backoff" => &mut self.max_backoff,
            "duplicate_window" => &mut self.duplicate_window,
            "poll" => &mut self.poll,
            "frame" => &mut self.frame,
            "relay" => &mut self.relay,
            "pair_step" => &mut self.pair_step,
            "pair_confirm" => &mut self.pair_confirm,
            "pair_refused" => &mut self.pair_refused,
            "handover" => &mut self.handover,
            _ => return None,
        })
    }

    /// These timeouts with the ones `spec` names replaced: comma-separated `name=duration`
    /// entries, a duration being a whole number followed by `ms`, `s` or `m` (`"pair_step=2s,
    /// dial=500ms"`). An empty `spec` changes nothing. Meant for tests, which shorten the waits
    /// they would otherwise sit out.
    pub fn with_overrides(mut self, spec: &str) -> Result<Timeouts, TimeoutsError> {
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (name, value) = entry
                .split_once('=')
                .ok_or_else(|| TimeoutsError::NotAnEntry {
                    entry: entry.to_owned(),
                })?;
            let (name, value) = (name.trim(), value.trim());
            let duration = parse_duration(value).ok_or_else(|| TimeoutsError::BadDuration {
                value: value.to_owned(),
            })?;
            *self.field(name).ok_or_else(|| TimeoutsError::UnknownName {
                name: name.to_owned(),
            })? = duration;
        }
        Ok(self)
    }
}

/// "500ms", "2s", "1m" → a duration.
fn parse_duration(s: &str) -> Option<Duration> {
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().ok()?;
    match unit {
        "ms" => Some(Duration::from_millis(n)),
        "s" => Some(Duration::from_secs(n)),
        "m" => Some(Duration::from_secs(n.checked_mul(60)?)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_a_field_and_overrides_only_what_it_names() {
        for name in Timeouts::NAMES {
            let t = Timeouts::default()
                .with_overrides(&format!("{name}=7ms"))
                .unwrap();
            let mut want = Timeouts::default();
            *want.field(name).unwrap() = Duration::from_millis(7);
            assert_eq!(t, want, "{name}");
            assert_ne!(t, Timeouts::default(), "{name}");
        }
    }

    #[test]
    fn overrides_are_read_strictly() {
        let t = Timeouts::default();
        assert_eq!(t.with_overrides("").unwrap(), t);
        assert_eq!(t.with_overrides(" , ").unwrap(), t);
        assert_eq!(
            t.with_overrides(" handover = 1m ").unwrap().handover,
            Duration::from_secs(60)
        );
        for (spec, want) in [
            (
                "handover",
                TimeoutsError::NotAnEntry {
                    entry: "handover".to_owned(),
                },
            ),
            (
                "hand_over=1s",
                TimeoutsError::UnknownName {
                    name: "hand_over".to_owned(),
                },
            ),
            (
                "dial=1",
                TimeoutsError::BadDuration {
                    value: "1".to_owned(),
                },
            ),
            (
                "dial=1h",
                TimeoutsError::BadDuration {
                    value: "1h".to_owned(),
                },
            ),
            (
                "dial=-1s",
                TimeoutsError::BadDuration {
                    value: "-1s".to_owned(),
                },
            ),
            (
                "dial=1.5s",
                TimeoutsError::BadDuration {
                    value: "1.5s".to_owned(),
                },
            ),
        ] {
            assert_eq!(t.with_overrides(spec), Err(want), "{spec}");
        }
    }

    #[test]
    fn the_defaults_are_the_documented_waits() {
        let t = Timeouts::default();
        assert_eq!(t.dial, Duration::from_secs(5));
        assert_eq!(t.first_backoff, Duration::from_millis(500));
        assert_eq!(t.max_backoff, Duration::from_secs(60));
        assert_eq!(t.poll, Duration::from_millis(5));
        assert_eq!(t.frame, Duration::from_secs(30));
        assert_eq!(t.relay, Duration::from_secs(5));
        assert_eq!(t.pair_step, Duration::from_secs(20));
        assert_eq!(t.pair_confirm, Duration::from_secs(600));
    }
}
