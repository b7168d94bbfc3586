//! What the SQLite ledger does when its file was tampered with. The ledger's story itself runs
//! on both backends in `story.rs`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use warden_core::{AuditEvent, EventKind};
use warden_store::{Ledger, LedgerSettings, SqliteStore, Store};

fn settings(dir: &std::path::Path) -> LedgerSettings {
    LedgerSettings {
        key_path: dir.join("ledger.key"),
        origin: "warden.test/ledger".into(),
        checkpoint_interval: Duration::from_secs(3600),
    }
}

fn decision(i: u64) -> AuditEvent {
    let mut e = AuditEvent::new(EventKind::Decision, 1_000 + i as i64);
    e.principal = Some(format!("agent-{}", i % 3));
    e.session = Some("s1".into());
    e.tool = Some("edr.get_host".into());
    e.args = Some(json!({"host": format!("ws-{i:03}")}));
    e.decision = Some("allow".into());
    e.rationale = Some(format!("looking at host {i}"));
    e
}

#[test]
fn a_ledger_that_does_not_match_its_checkpoint_refuses_to_open() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("w.db");
    {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&db).unwrap());
        let ledger = Ledger::open(store, &settings(dir.path())).unwrap();
        for i in 0..10 {
            ledger.append(&decision(i)).unwrap();
        }
    } // dropped: the last checkpoint is written
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "DROP TRIGGER ledger_leaves_no_delete;
         DELETE FROM ledger_leaves WHERE idx = 9;",
    )
    .unwrap();
    drop(conn);
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&db).unwrap());
    let err = Ledger::open(store, &settings(dir.path())).unwrap_err();
    assert!(
        err.to_string()
            .contains("does not match its latest checkpoint")
            && err.to_string().contains("leaves were removed"),
        "{err}"
    );

    // Another key (a lost or swapped key file) is refused too.
    std::fs::remove_file(dir.path().join("ledger.key")).unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&db).unwrap());
    let err = Ledger::open(store, &settings(dir.path())).unwrap_err();
    assert!(
        err.to_string()
            .contains("does not verify with this ledger's key"),
        "{err}"
    );
}
