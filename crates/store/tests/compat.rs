//! Compatibility across versions: homes written by release c2a9253 open, migrate and load, and
//! what the migration adds is safe for that release to meet.
//!
//! The fixtures in `tests/fixtures/homes/c2a9253` were written by the release binary; they are
//! copied before opening and never modified.

use std::fs;
use std::path::{Path, PathBuf};

use automerge::transaction::Transactable;
use automerge::{ActorId, ROOT};
use rusqlite::{Connection, params};
use tapin_core::pairing::InviteId;
use tapin_core::{DocId, Id};
use tapin_store::{DB_FILE, FORMAT_VERSION, LoadError, MetaKey, Store};

/// Release c2a9253's schema, exactly as its `crates/store/src/schema.rs` created it.
const C2A9253_SCHEMA: &str = "
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL
) STRICT;
CREATE TABLE snapshots (
    doc         TEXT PRIMARY KEY NOT NULL,
    bytes       BLOB NOT NULL,
    covers_upto INTEGER NOT NULL
) STRICT;
CREATE TABLE chunks (
    id    INTEGER PRIMARY KEY AUTOINCREMENT,
    doc   TEXT NOT NULL,
    bytes BLOB NOT NULL
) STRICT;
CREATE INDEX chunks_by_doc ON chunks (doc, id);
CREATE TABLE sync_states (
    doc   TEXT NOT NULL,
    peer  BLOB NOT NULL,
    state BLOB NOT NULL,
    PRIMARY KEY (doc, peer)
) STRICT;
CREATE TABLE views (
    doc     TEXT PRIMARY KEY NOT NULL,
    version INTEGER NOT NULL,
    bytes   BLOB NOT NULL
) STRICT;
";

/// Release c2a9253's `Store::cached_view` query, verbatim.
const C2A9253_CACHED_VIEW: &str = "SELECT bytes FROM views WHERE doc = ?1 AND version = ?2";

/// Release c2a9253's `Store::put_view` statement, verbatim.
const C2A9253_PUT_VIEW: &str = "INSERT INTO views (doc, version, bytes) VALUES (?1, ?2, ?3)
                 ON CONFLICT (doc) DO UPDATE SET version = excluded.version, bytes = excluded.bytes
                 WHERE excluded.version >= views.version";

fn fixture(who: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/homes/c2a9253")
        .join(who)
}

/// A copy of a fixture home in a temporary directory: the database and whatever `-wal` and
/// `-shm` files the release left beside it.
fn copy_of(who: &str) -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let from = fixture(who).join(format!("{DB_FILE}{suffix}"));
        if from.exists() {
            fs::copy(&from, home.path().join(format!("{DB_FILE}{suffix}"))).unwrap();
        }
    }
    home
}

fn schema_objects(home: &Path) -> Vec<(String, String)> {
    let conn = Connection::open(home.join(DB_FILE)).unwrap();
    let mut statement = conn
        .prepare(
            "SELECT type, name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .unwrap();
    statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// What release c2a9253 does with `views` on a migrated file: its query finds nothing (so it
/// decodes the document itself) and its insert fails (which it logs and ignores).
fn check_old_views_statements(home: &Path, doc: &DocId, version: i64) {
    let conn = Connection::open(home.join(DB_FILE)).unwrap();
    let mut statement = conn.prepare(C2A9253_CACHED_VIEW).unwrap();
    let found: Vec<Vec<u8>> = statement
        .query_map(params![doc.to_string(), version], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(found.is_empty(), "release c2a9253 would read a cache row");
    let put = conn.execute(
        C2A9253_PUT_VIEW,
        params![doc.to_string(), version, b"tapin-view-json-1\n{}".to_vec()],
    );
    assert!(
        put.is_err(),
        "release c2a9253 could write a cache row nothing checks"
    );
}

#[test]
fn fixture_homes_open_migrate_and_load_every_document() {
    for who in ["maya", "jordan"] {
        let home = copy_of(who);
        let before = schema_objects(home.path());
        assert!(
            before.contains(&("table".into(), "views".into())),
            "{who}: {before:?}"
        );

        let store = Store::open(home.path()).unwrap();
        let documents = store.documents().unwrap();
        assert!(documents.len() >= 4, "{who}: {documents:?}");
        for doc in &documents {
            let (loaded, version) = store
                .load_versioned(doc)
                .unwrap_or_else(|err| panic!("{who}: {doc}: {err}"))
                .unwrap();
            assert!(!loaded.get_heads().is_empty(), "{who}: {doc}");
            // The migration's strict load recorded them, in the file: a fresh store knows them.
            let fresh = Store::open(home.path()).unwrap();
            assert_eq!(
                fresh.heads(doc).unwrap(),
                Some(loaded.get_heads()),
                "{who}: {doc}"
            );
            check_old_views_statements(home.path(), doc, version);
        }
        for key in [MetaKey::PersonSecret, MetaKey::DeviceSecret, MetaKey::Name] {
            assert!(store.get_meta(key).unwrap().is_some(), "{who}: {key}");
        }

        let after = schema_objects(home.path());
        for object in [
            ("table", "doc_heads"),
            ("table", "view_cache"),
            ("view", "views"),
        ] {
            assert!(
                after.contains(&(object.0.into(), object.1.into())),
                "{who}: {object:?} missing from {after:?}"
            );
        }
        let conn = Connection::open(home.path().join(DB_FILE)).unwrap();
        let version: u32 = conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .unwrap();
        assert_eq!(version, FORMAT_VERSION);
        assert_eq!(FORMAT_VERSION, 1, "the additions keep format 1");

        // It keeps working as a home: a write, and a cached view of it.
        let device = ActorId::from(b"after the migration".as_slice());
        store
            .update(&DocId::Journal, &device, |d| d.put(ROOT, "migrated", true))
            .unwrap();
        let (journal, version) = store.load_versioned(&DocId::Journal).unwrap().unwrap();
        assert!(
            store
                .put_view(&DocId::Journal, version, &journal.get_heads(), b"view")
                .unwrap()
        );
        assert!(
            Store::open(home.path())
                .unwrap()
                .cached_view(&DocId::Journal)
                .unwrap()
                .is_some()
        );
        // Opening again changes nothing more.
        assert_eq!(schema_objects(home.path()), after);
    }
}

/// A format-1 file as release c2a9253 wrote it, with a damaged document and cache rows: the
/// migration drops the old cache, records heads for the documents that load, and none for the
/// damaged one, which still reports its damage.
/// The `MetaKey` a key string written by the app names, if any: the inverse of
/// `MetaKey::name`, for the keys with an id in them too.
fn typed(key: &str) -> Option<MetaKey> {
    let id = |hex: &str| hex.parse::<Id>().ok();
    let fixed = [
        MetaKey::PersonSecret,
        MetaKey::DeviceSecret,
        MetaKey::Name,
        MetaKey::DeviceCert,
        MetaKey::NetPort,
        MetaKey::NetBind,
        MetaKey::NetRelay,
        MetaKey::NetMdns,
        MetaKey::RestoredFrom,
    ];
    let found = if let Some(known) = fixed.into_iter().find(|k| k.name() == key) {
        known
    } else if let Some(hex) = key.strip_prefix("invite.") {
        MetaKey::Invite(InviteId(*id(hex)?.as_bytes()))
    } else {
        MetaKey::ReplicaHeads(id(key.strip_prefix("replica.")?.strip_suffix(".heads")?)?)
    };
    // Exactly the same string, not merely the same id (upper-case hex, say).
    (found.name() == key).then_some(found)
}

/// Every meta key a released tapin wrote into a home is a `MetaKey`, and reads back through the
/// typed API as it is stored, secrets as their 32 bytes.
#[test]
fn fixture_homes_meta_keys_read_back_typed() {
    for who in ["maya", "jordan"] {
        let home = copy_of(who);
        let rows: Vec<(String, Vec<u8>)> = {
            let conn = Connection::open(home.path().join(DB_FILE)).unwrap();
            let mut statement = conn
                .prepare("SELECT key, value FROM meta ORDER BY key")
                .unwrap();
            statement
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        let store = Store::open(home.path()).unwrap();
        let mut kinds = std::collections::HashSet::new();
        for (name, value) in rows {
            let key = typed(&name).unwrap_or_else(|| panic!("{who}: {name} is not a MetaKey"));
            assert_eq!(store.get_meta(key).unwrap(), Some(value.clone()), "{name}");
            if matches!(key, MetaKey::PersonSecret | MetaKey::DeviceSecret) {
                assert_eq!(store.get_secret(key).unwrap().map(Vec::from), Some(value));
            }
            kinds.insert(std::mem::discriminant(&key));
        }
        // Every kind of key but `import.restored_from` (neither home was restored), and no
        // open invitation in Jordan's.
        let expected = if who == "maya" { 10 } else { 9 };
        assert_eq!(kinds.len(), expected, "{who}: kinds of key");
    }
}

#[test]
fn migration_records_no_heads_for_a_damaged_document() {
    let home = tempfile::tempdir().unwrap();
    let healthy = {
        let scratch = tempfile::tempdir().unwrap();
        let store = Store::open(scratch.path()).unwrap();
        let device = ActorId::from(b"scratch".as_slice());
        store
            .update(&DocId::Journal, &device, |d| d.put(ROOT, "a", 1))
            .unwrap();
        store.stored_bytes(&DocId::Journal).unwrap().unwrap()
    };
    let damaged = DocId::Side(Id::from_bytes([6; 16]));
    {
        let conn = Connection::open(home.path().join(DB_FILE)).unwrap();
        conn.execute_batch(C2A9253_SCHEMA).unwrap();
        conn.pragma_update(None, "application_id", 0x7461_706e)
            .unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute(
            "INSERT INTO chunks (doc, bytes) VALUES ('journal', ?1)",
            [&healthy],
        )
        .unwrap();
        let mut broken = healthy.clone();
        let middle = broken.len() / 2;
        broken[middle] ^= 0x01;
        conn.execute(
            "INSERT INTO chunks (doc, bytes) VALUES (?1, ?2)",
            params![damaged.to_string(), broken],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO views (doc, version, bytes) VALUES ('journal', 1, x'00')",
            [],
        )
        .unwrap();
    }

    let store = Store::open(home.path()).unwrap();
    assert!(store.heads(&DocId::Journal).unwrap().is_some());
    assert_eq!(store.heads(&damaged).unwrap(), None);
    let err = store.load(&damaged).unwrap_err();
    assert!(
        matches!(&err, LoadError::Corrupt { doc, .. } if *doc == damaged),
        "{err:?}"
    );
    assert_eq!(store.cached_view(&DocId::Journal).unwrap(), None);
    let views: i64 = Connection::open(home.path().join(DB_FILE))
        .unwrap()
        .query_row("SELECT count(*) FROM views", [], |row| row.get(0))
        .unwrap();
    assert_eq!(views, 0);
}

/// Several processes opening an old home at once: one migrates it, the others find it done.
#[test]
fn simultaneous_opens_of_an_old_home_all_succeed() {
    let home = copy_of("maya");
    let barrier = std::sync::Barrier::new(4);
    std::thread::scope(|scope| {
        for _ in 0..4 {
            let (home, barrier) = (home.path(), &barrier);
            scope.spawn(move || {
                barrier.wait();
                let store = Store::open(home).unwrap();
                for doc in store.documents().unwrap() {
                    store.load(&doc).unwrap().unwrap();
                    assert!(store.heads(&doc).unwrap().is_some(), "{doc}");
                }
            });
        }
    });
}
