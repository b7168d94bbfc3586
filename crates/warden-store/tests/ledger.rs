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
use warden_store::{Ledger, LedgerError, LedgerSettings, SqliteStore, Store};

fn settings(dir: &std::path::Path) -> LedgerSettings {
    LedgerSettings {
        key_path: dir.join("ledger.key"),
        origin: "warden.test/ledger".into(),
        checkpoint_interval: Duration::from_secs(3600),
        defer_within: warden_store::DEFER_WITHIN,
        witnesses: Vec::new(),
        pinned: None,
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

fn outcome(i: u64) -> AuditEvent {
    let mut e = AuditEvent::new(EventKind::Outcome, 2_000 + i as i64);
    e.principal = Some("agent-0".into());
    e.tool = Some("edr.get_host".into());
    e.is_error = Some(false);
    e
}

fn open_with_defer(dir: &std::path::Path, defer: Duration) -> (Arc<dyn Store>, Arc<Ledger>) {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.join("w.db")).unwrap());
    let mut s = settings(dir);
    s.defer_within = defer;
    let ledger = Arc::new(Ledger::open(store.clone(), &s).unwrap());
    (store, ledger)
}

/// A deferred append of an outcome, made on a task of its own.
fn defer_outcome(ledger: &Arc<Ledger>) -> tokio::task::JoinHandle<Result<u64, LedgerError>> {
    let ledger = ledger.clone();
    tokio::spawn(async move { ledger.append_deferred(&outcome(0)).await })
}

#[tokio::test]
async fn a_deferred_append_joins_the_next_commit_and_is_durable_when_it_resolves() {
    let dir = tempfile::tempdir().unwrap();
    // A window far longer than the test: only another append can commit the outcome.
    let (store, ledger) = open_with_defer(dir.path(), Duration::from_secs(600));
    let deferred = defer_outcome(&ledger);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !deferred.is_finished(),
        "a deferred append waits for a commit to join"
    );
    assert_eq!(store.ledger_size().unwrap(), 0, "nothing is written yet");

    // The next decision commits both, in the order they were made.
    let decision_index = ledger.append_async(&decision(1)).await.unwrap();
    let outcome_index = deferred.await.unwrap().unwrap();
    assert_eq!((outcome_index, decision_index), (0, 1));
    assert_eq!(store.ledger_size().unwrap(), 2);
    let kinds: Vec<Option<EventKind>> = store
        .ledger_leaves(0, 10)
        .unwrap()
        .iter()
        .map(|l| warden_ledger::leaf::decode(&l.data).unwrap().event.kind)
        .collect();
    assert_eq!(kinds, [Some(EventKind::Outcome), Some(EventKind::Decision)]);
}

#[tokio::test]
async fn a_deferred_append_alone_is_committed_once_its_window_ends() {
    let dir = tempfile::tempdir().unwrap();
    let (store, ledger) = open_with_defer(dir.path(), Duration::from_millis(50));
    let index = tokio::time::timeout(Duration::from_secs(30), ledger.append_deferred(&outcome(0)))
        .await
        .expect("committed without any other append")
        .unwrap();
    assert_eq!(index, 0);
    assert_eq!(store.ledger_size().unwrap(), 1);
}

#[tokio::test]
async fn shutdown_writes_deferred_appends_before_the_last_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (store, ledger) = open_with_defer(dir.path(), Duration::from_secs(600));
    let deferred = defer_outcome(&ledger);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let l = ledger.clone();
    tokio::task::spawn_blocking(move || l.shutdown().unwrap())
        .await
        .unwrap();
    assert_eq!(deferred.await.unwrap().unwrap(), 0);
    let checkpoint = store.ledger_latest_checkpoint().unwrap().unwrap();
    assert_eq!(
        checkpoint.size, 1,
        "the last checkpoint covers the deferred leaf"
    );
}
