//! The ledger's story over a real store: group-committed appends, checkpoints, reopening,
//! redaction, proofs, and a second writer on the same file. Written against `&dyn Store` so a
//! second backend runs the same story.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use warden_core::{AuditEvent, EventKind};
use warden_ledger::leaf::REDACTED;
use warden_ledger::verify_tlog_proof;
use warden_store::ledger::{consistency, prove, read_events, read_range, verify_store};
use warden_store::{EventFilter, Ledger, LedgerSettings, SqliteStore, Store};

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

fn story(store: Arc<dyn Store>, dir: &std::path::Path) {
    let ledger = Arc::new(Ledger::open(store.clone(), &settings(dir)).unwrap());
    // Concurrent appenders get distinct, dense indices.
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let ledger = ledger.clone();
            std::thread::spawn(move || {
                (0..50)
                    .map(|i| ledger.append(&decision(t * 50 + i)).unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let indices: BTreeSet<u64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    assert_eq!(indices, (0..400).collect());
    let first = ledger.checkpoint().unwrap().unwrap();
    assert_eq!(first.size, 400);
    assert!(
        ledger.checkpoint().unwrap().is_none(),
        "nothing new to sign"
    );
    let verifier = ledger.verifier().clone();

    // A second writer (another process) appends in between; both stay consistent.
    let other = Ledger::open(store.clone(), &settings(dir)).unwrap();
    assert_eq!(other.append(&decision(1000)).unwrap(), 400);
    assert_eq!(ledger.append(&decision(1001)).unwrap(), 401);
    other.shutdown().unwrap();
    ledger.shutdown().unwrap();
    assert!(ledger.append(&decision(1)).is_err(), "closed");

    let report = verify_store(store.as_ref(), &verifier).unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.log.leaves, 402);
    assert_eq!(report.log.latest_checkpoint.as_ref().unwrap().size, 402);
    assert_eq!(report.sealed_checked, 402 * 2);

    // Proofs.
    let proof = prove(store.as_ref(), &verifier, 17).unwrap();
    let bytes = proof.extra.clone().unwrap();
    let verified = verify_tlog_proof(
        &proof.to_text(),
        &warden_ledger::leaf_hash(&bytes),
        &verifier,
    )
    .unwrap();
    assert_eq!(verified.index, 17);
    let sizes: Vec<u64> = store
        .ledger_checkpoints()
        .unwrap()
        .iter()
        .map(|c| c.size)
        .collect();
    assert_eq!(sizes.first(), Some(&400));
    let (a, b, path) = consistency(store.as_ref(), &verifier, 400, 402).unwrap();
    assert_eq!((a.size, b.size), (400, 402));
    assert!(!path.is_empty());

    // Redaction removes the content and nothing else.
    let ledger = Ledger::open(store.clone(), &settings(dir)).unwrap();
    assert_eq!(store.ledger_redact(5).unwrap(), ["args", "rationale"]);
    let mut redaction = AuditEvent::new(EventKind::Redaction, 5_000);
    redaction.detail = Some(json!({"index": 5}));
    assert_eq!(ledger.append(&redaction).unwrap(), 402);
    ledger.shutdown().unwrap();
    let shown = read_range(store.as_ref(), 5, 1).unwrap();
    assert_eq!(shown[0].index, 5);
    assert_eq!(shown[0].event.args, Some(json!(REDACTED)));
    assert_eq!(shown[0].event.rationale.as_deref(), Some(REDACTED));
    assert_eq!(shown[0].redacted, ["args", "rationale"]);
    let redactions = read_events(
        store.as_ref(),
        &EventFilter {
            kind: Some("redaction".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(redactions.len(), 1);
    assert_eq!(redactions[0].event.detail, Some(json!({"index": 5})));
    let report = verify_store(store.as_ref(), &verifier).unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.sealed_checked, 402 * 2 - 2);
    let proof = prove(store.as_ref(), &verifier, 5).unwrap();
    verify_tlog_proof(
        &proof.to_text(),
        &warden_ledger::leaf_hash(proof.extra.as_ref().unwrap()),
        &verifier,
    )
    .unwrap();
}

#[test]
fn the_ledger_story_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("w.db")).unwrap());
    story(store, dir.path());
}

#[test]
fn the_ledger_story_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
    story(store, dir.path());
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
