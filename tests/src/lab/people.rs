//! People on the lab's [`Internet`]: a person's home on a site of its own, and what they do
//! there through the real binary (pair, serve, sync), plus a side grown to the size years of
//! use leave, written straight into the home's store.
//!
//! ```no_run
//! use tapin_e2e::lab::internet::{Internet, Nat};
//! use tapin_e2e::lab::people::{Person, pair};
//! let internet = Internet::start();
//! let maya = Person::new(&internet, Nat::Home, "Maya", "maya-laptop");
//! let jordan = Person::new(&internet, Nat::Home, "Jordan", "jordan-phone");
//! pair(&maya, &jordan);
//! let side = maya.grow_side("Jordan", 1_000);
//! let _serve = jordan.serve();
//! maya.sync("Jordan");
//! assert_eq!(jordan.replica_heads("Maya"), side.heads);
//! ```

use serde_json::Value;
use tapin_core::DocId;
use tapin_core::docs::Place;
use tapin_core::time::Timestamp;

use super::internet::{Internet, Nat, Site};
use crate::{Background, Home, NET_TIMEOUT, Run, both_paired, eventually, last_json, ticket_of};

/// A person's home on a site of the internet, with the internet's relay as theirs.
#[derive(Debug)]
pub struct Person<'a> {
    /// The name they go by (`tapin init --name`), which their friend's commands use.
    pub name: &'static str,
    /// Their home directory.
    pub home: Home,
    /// Where their device runs: a home namespace behind a router of kind `nat`.
    pub site: Site<'a>,
    /// The relay's URL, their `--relay`.
    pub relay: String,
    /// The relay's certificate, trusted for its QUIC address discovery (`TAPIN_RELAY_CA`).
    pub relay_ca: std::path::PathBuf,
}

/// What [`Person::grow_side`] left in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Side {
    /// Changes in the side now, all of them.
    pub changes: usize,
    /// Its heads, as strings: what a friend's replica holds once it has all of it.
    pub heads: Vec<String>,
    /// Its bytes as the store keeps them (a compacted snapshot): what a first sync sends.
    pub bytes: u64,
}

impl<'a> Person<'a> {
    /// A new site behind `nat` on `internet`, and a home for `name` on it (`tapin init` with
    /// the relay, every address of the namespace, mDNS off).
    #[track_caller]
    pub fn new(internet: &'a Internet, nat: Nat, name: &'static str, device: &str) -> Self {
        let relay = internet.relay_url();
        Person {
            name,
            home: Home::init_lab(name, device, &relay),
            site: internet.site(nat),
            relay,
            relay_ca: internet.relay_ca(),
        }
    }

    /// `tapin ARGS` in the person's home, with their relay, to run in their site's home
    /// namespace.
    pub fn cmd(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = self.home.lab_cmd(&self.relay, args);
        cmd.env("TAPIN_RELAY_CA", &self.relay_ca);
        cmd
    }

    /// `tapin serve` in the person's home namespace, listening.
    #[track_caller]
    pub fn serve(&self) -> Background {
        let mut serve = self.site.home.spawn(self.cmd(&["serve"]), None);
        eventually(NET_TIMEOUT, "`tapin serve` to listen", || {
            serve.stderr().contains("Serving as") || !serve.running()
        });
        assert!(serve.running(), "tapin serve stopped:\n{}", serve.stderr());
        serve
    }

    /// `tapin --json sync FRIEND` to its end, whatever came of it.
    #[track_caller]
    pub fn try_sync(&self, friend: &str) -> Run {
        self.site.home.run(self.cmd(&["--json", "sync", friend]))
    }

    /// `tapin --json sync FRIEND`, which must reach them; returns their row of the report.
    #[track_caller]
    pub fn sync(&self, friend: &str) -> Value {
        let run = self.try_sync(friend);
        assert_eq!(
            run.code,
            Some(0),
            "{} could not sync with {friend}:\nstdout: {}\nstderr: {}",
            self.name,
            run.stdout,
            run.stderr
        );
        let row = last_json(&run.stdout)["friends"][0].clone();
        assert_eq!(row["reached"], true, "{row:#}");
        // Nothing but tapin's own words reaches the person: no library's log line.
        assert!(
            !run.stderr.contains(" ERROR ") && !run.stderr.contains(" WARN "),
            "a log line reached {}'s terminal:\n{}",
            self.name,
            run.stderr
        );
        row
    }

    /// Grows the person's shared side of `friend` by `changes` automerge changes: see
    /// [`Home::grow_side`].
    #[track_caller]
    pub fn grow_side(&self, friend: &str, changes: usize) -> Side {
        self.home.grow_side(friend, changes)
    }

    /// The heads of the person's replica of `friend`'s side (none before the first sync).
    #[track_caller]
    pub fn replica_heads(&self, friend: &str) -> Vec<String> {
        self.heads(DocId::Replica(self.home.relationship(friend)))
    }

    /// The heads of the person's own side of `friend` (none before its first record).
    #[track_caller]
    pub fn side_heads(&self, friend: &str) -> Vec<String> {
        self.heads(DocId::Side(self.home.relationship(friend)))
    }

    #[track_caller]
    fn heads(&self, doc: DocId) -> Vec<String> {
        let (store, _) = self.home.store_and_key();
        store
            .load(&doc)
            .unwrap_or_else(|e| panic!("cannot load {}'s {doc}: {e}", self.name))
            .map(|d| d.get_heads().iter().map(ToString::to_string).collect())
            .unwrap_or_default()
    }

    /// Adds a goal shared with `friend`; returns its id.
    #[track_caller]
    pub fn share_goal(&self, friend: &str, title: &str) -> String {
        self.home.id(&["goal", "add", friend, title, "--share"])
    }

    /// How the person's last exchange with `friend` went, as `tapin show --json` has it.
    #[track_caller]
    pub fn last_exchange(&self, friend: &str) -> Value {
        self.home.json(&["show", friend])["last_exchange"].clone()
    }

    /// The path of the person's last exchange with `friend`, as `tapin show` has it.
    #[track_caller]
    pub fn last_path(&self, friend: &str) -> Option<String> {
        self.last_exchange(friend)["path"]
            .as_str()
            .map(str::to_owned)
    }

    /// The person's page of `friend`, as text.
    #[track_caller]
    pub fn show_text(&self, friend: &str) -> String {
        self.home.ok(&["show", friend])
    }

    /// Whether the person's page of `friend` shows the friend's goal `id`.
    #[track_caller]
    pub fn sees_goal(&self, friend: &str, id: &str) -> bool {
        self.home.json(&["show", friend])["their_goals"]
            .to_string()
            .contains(id)
    }
}

impl Home {
    /// Grows this home's shared side of `friend` by `changes` automerge changes, written the
    /// way the CLI writes them: each change one record (six in ten log an interaction, two a
    /// thanks note, two edit an earlier interaction's note), as the home's own device, then
    /// compacted as the store compacts a long history. Written through `tapin-store` in one
    /// transaction, because ten thousand `tapin` processes would take minutes; what the side
    /// holds afterwards is what ten thousand `tapin log` and `tapin thanks` commands leave.
    /// The records come from a fixed seed.
    #[track_caller]
    pub fn grow_side(&self, friend: &str, changes: usize) -> Side {
        let rel = self.relationship(friend);
        let (store, key) = self.store_and_key();
        let doc = DocId::Side(rel);
        store
            .update(&doc, &key.actor(), |d| {
                crate::history::write_side_history(
                    d,
                    Place::Shared(rel),
                    changes,
                    Timestamp(1_700_000_000_000),
                    7,
                )
            })
            .unwrap_or_else(|e| panic!("cannot grow the side of {friend}: {e}"));
        store
            .compact(&doc)
            .unwrap_or_else(|e| panic!("cannot compact the side of {friend}: {e}"));
        let side = store
            .load(&doc)
            .expect("load the side")
            .expect("the side exists");
        Side {
            changes: side.get_changes(&[]).len(),
            heads: side.get_heads().iter().map(ToString::to_string).collect(),
            bytes: store
                .stored_bytes(&doc)
                .expect("read the side's bytes")
                .map_or(0, |b| b.len() as u64),
        }
    }
}

/// `inviter` invites with a ticket that carries the relay; `joiner` joins through it. Both
/// must end paired, shown the same code.
#[track_caller]
pub fn pair(inviter: &Person<'_>, joiner: &Person<'_>) {
    let mut invite = inviter.site.home.spawn(
        inviter.cmd(&["--json", "invite", "--yes", "--expires", "2m"]),
        None,
    );
    let ticket = ticket_of(&invite.next_line(NET_TIMEOUT));
    let join = joiner
        .site
        .home
        .run(joiner.cmd(&["--json", "join", &ticket, "--yes"]));
    both_paired(ticket, &invite.wait(NET_TIMEOUT), &join);
}
