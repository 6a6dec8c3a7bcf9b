//! Every key of the meta table, typed: [`MetaKey`].
//!
//! The meta table holds small settings and records of the app beside its documents (identity
//! keys, network settings, open invitations, a friend's signed heads). Their keys are part of
//! the on-disk format (docs/FORMAT.md, "Meta keys written by the app"), so each is named once,
//! here, and [`MetaKey::name`] is the one place that spells it: a home written by any release
//! reads back through the same keys. The store gives the values no meaning beyond what is
//! documented for each key; [`Store::get_secret`](crate::Store::get_secret) checks the length of
//! a secret key.

use std::borrow::Cow;
use std::fmt;

use tapin_core::Id;
use tapin_core::pairing::InviteId;

/// One key of the meta table. Each variant says how its value is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetaKey {
    /// `identity.person_secret`: the person's ed25519 secret key, 32 bytes.
    PersonSecret,
    /// `identity.device_secret`: this device's ed25519 secret key, 32 bytes (also its iroh
    /// endpoint key).
    DeviceSecret,
    /// `identity.name`: the person's display name, UTF-8. `tapin init` writes it last, so a home
    /// without it is incomplete.
    Name,
    /// `identity.device_cert`: this device's certificate, as
    /// `tapin_core::identity::DeviceCertificate::to_bytes` encodes it.
    DeviceCert,
    /// `net.port`: the UDP port to listen on, in decimal, UTF-8.
    NetPort,
    /// `net.bind`: the IP address to bind, as text (`0.0.0.0`, `127.0.0.1`, `::`), UTF-8.
    NetBind,
    /// `net.relay`: `none`, `default`, or a relay's URL, UTF-8.
    NetRelay,
    /// `net.mdns`: `on` or `off`, UTF-8.
    NetMdns,
    /// `import.restored_from`: the person keys (hex) of the exports this home was restored
    /// from, as a JSON array of strings.
    RestoredFrom,
    /// `journal.retired`: the version of the single `journal` document (decimal, UTF-8) when its
    /// entries were moved into week documents and it was retired. While the document is still
    /// at that version there is nothing more to move, which opening a home checks without
    /// loading it.
    JournalRetired,
    /// `invite.<id>`: an invitation `tapin invite` made, as JSON `{ "ticket", "used" }`; `<id>`
    /// is the invitation id in lowercase hex.
    Invite(InviteId),
    /// `replica.<id>.heads`: the friend's latest verified signed heads for relationship `<id>`
    /// (lowercase hex), as JSON `{ "signed": { "device", "heads", "signature" }, "at" }`.
    ReplicaHeads(Id),
    /// `replica.<id>.path`: how the last exchange with the friend of relationship `<id>`
    /// (lowercase hex) went, as JSON `{ "path": "direct" | "relay", "at" }`.
    ReplicaPath(Id),
    /// `replica.<id>.staged`: the bytes of the friend's snapshot of their side for relationship
    /// `<id>` (lowercase hex) that arrived, in parts, in an exchange cut short; empty when none.
    /// Opaque until complete: the next exchange asks the friend's device for the rest.
    ReplicaStaged(Id),
}

impl MetaKey {
    /// The key as stored. These strings are the format: they never change.
    pub fn name(&self) -> Cow<'static, str> {
        match self {
            MetaKey::PersonSecret => "identity.person_secret".into(),
            MetaKey::DeviceSecret => "identity.device_secret".into(),
            MetaKey::Name => "identity.name".into(),
            MetaKey::DeviceCert => "identity.device_cert".into(),
            MetaKey::NetPort => "net.port".into(),
            MetaKey::NetBind => "net.bind".into(),
            MetaKey::NetRelay => "net.relay".into(),
            MetaKey::NetMdns => "net.mdns".into(),
            MetaKey::RestoredFrom => "import.restored_from".into(),
            MetaKey::JournalRetired => "journal.retired".into(),
            MetaKey::Invite(id) => format!("invite.{id}").into(),
            MetaKey::ReplicaHeads(rel) => format!("replica.{rel}.heads").into(),
            MetaKey::ReplicaPath(rel) => format!("replica.{rel}.path").into(),
            MetaKey::ReplicaStaged(rel) => format!("replica.{rel}.staged").into(),
        }
    }
}

/// The key as stored ([`MetaKey::name`]).
impl fmt::Display for MetaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// The length of a secret key's value.
pub(crate) const SECRET_LEN: usize = 32;

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key, spelled as docs/FORMAT.md documents it: the exact string, and the form its
    /// table shows (with `<id>` for an id).
    fn every_key() -> Vec<(MetaKey, &'static str, &'static str)> {
        let invite = InviteId([0xab; 16]);
        let rel = Id::from_bytes([0x0c; 16]);
        let table = vec![
            (
                MetaKey::PersonSecret,
                "identity.person_secret",
                "identity.person_secret",
            ),
            (
                MetaKey::DeviceSecret,
                "identity.device_secret",
                "identity.device_secret",
            ),
            (MetaKey::Name, "identity.name", "identity.name"),
            (
                MetaKey::DeviceCert,
                "identity.device_cert",
                "identity.device_cert",
            ),
            (MetaKey::NetPort, "net.port", "net.port"),
            (MetaKey::NetBind, "net.bind", "net.bind"),
            (MetaKey::NetRelay, "net.relay", "net.relay"),
            (MetaKey::NetMdns, "net.mdns", "net.mdns"),
            (
                MetaKey::JournalRetired,
                "journal.retired",
                "journal.retired",
            ),
            (
                MetaKey::RestoredFrom,
                "import.restored_from",
                "import.restored_from",
            ),
            (
                MetaKey::Invite(invite),
                "invite.abababababababababababababababab",
                "invite.<id>",
            ),
            (
                MetaKey::ReplicaHeads(rel),
                "replica.0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c.heads",
                "replica.<id>.heads",
            ),
            (
                MetaKey::ReplicaPath(rel),
                "replica.0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c.path",
                "replica.<id>.path",
            ),
            (
                MetaKey::ReplicaStaged(rel),
                "replica.0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c.staged",
                "replica.<id>.staged",
            ),
        ];
        for (key, _, _) in &table {
            // A new variant fails to compile here until it is in the table above.
            match key {
                MetaKey::PersonSecret
                | MetaKey::DeviceSecret
                | MetaKey::Name
                | MetaKey::DeviceCert
                | MetaKey::NetPort
                | MetaKey::NetBind
                | MetaKey::NetRelay
                | MetaKey::NetMdns
                | MetaKey::RestoredFrom
                | MetaKey::JournalRetired
                | MetaKey::Invite(_)
                | MetaKey::ReplicaHeads(_)
                | MetaKey::ReplicaPath(_)
                | MetaKey::ReplicaStaged(_) => {}
            }
        }
        table
    }

    #[test]
    fn every_key_is_spelled_as_documented() {
        let table = every_key();
        assert_eq!(table.len(), 14, "one row per variant");
        for (key, stored, _) in &table {
            assert_eq!(key.name(), *stored);
            assert_eq!(key.to_string(), *stored);
        }
    }

    /// docs/FORMAT.md lists every key the app writes, and only keys the store names.
    #[test]
    fn format_md_lists_every_key() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/FORMAT.md");
        let format = std::fs::read_to_string(path).expect("docs/FORMAT.md");
        let start = format
            .find("## Meta keys written by the app")
            .expect("the section");
        let section = &format[start..];
        let section = &section[..section[3..]
            .find("\n## ")
            .map_or(section.len(), |end| end + 3)];
        let mut documented: Vec<&str> = section
            .lines()
            .filter_map(|line| line.strip_prefix("| `"))
            .filter_map(|line| line.split_once('`'))
            .map(|(key, _)| key)
            .collect();
        documented.sort_unstable();
        let mut named: Vec<&str> = every_key().iter().map(|(_, _, form)| *form).collect();
        named.sort_unstable();
        assert_eq!(documented, named);
    }
}
