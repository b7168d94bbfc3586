//! The storage story, told once and run against every backend: SQLite (a file, opened
//! several times as several processes would) and a real PostgreSQL server (a fresh database
//! per test, opened several times as several replicas would).
//!
//! PostgreSQL comes from `WARDEN_TEST_PG_URL` (a `postgres://user@host:port/db` URL of a role
//! that may create databases) and `WARDEN_TEST_PG_PASSWORD`; `./scripts/test` starts a
//! throwaway server and sets both. Without them the PostgreSQL half fails: it never skips.

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
use warden_ledger::{Hash, LeafColumns, LeafKey, NoteSigner, leaf_hash, verify_tlog_proof};
use warden_store::ledger::{
    ContentFinding, consistency, event_pages, prepare, prove, read_events, read_leaf_key,
    read_range, tree_of, verify_store,
};
use warden_store::{
    AgentTaint, ApprovalAnswer, ApprovalKind, ApprovalStatus, ConsoleSessionRow, EventFilter, Halt,
    Ledger, LedgerError, LedgerSettings, NewLeaf, OpenRequests, PendingRequest, PostgresOptions,
    PostgresStore, PostgresTls, RequestFilter, SchemaError, SqliteStore, Store, StoreError,
    StoredCheckpoint, TaintInForce, TaintRecord, Transience, Verdict, WaitingAfter,
};
use warden_store::{
    Cursor, CursorError, LeafAfter, PageSize, TaintedAgents, events_page, requests_page,
    tainted_agents_page,
};

/// Where a story runs; `open` is one more process on the same data.
enum Backend {
    Sqlite(tempfile::TempDir),
    Postgres {
        dir: tempfile::TempDir,
        options: PostgresOptions,
        _db: Box<TestDatabase>,
    },
}

impl Backend {
    fn sqlite() -> Self {
        Self::Sqlite(tempfile::tempdir().unwrap())
    }

    fn postgres() -> Self {
        let db = TestDatabase::create();
        Self::Postgres {
            dir: tempfile::tempdir().unwrap(),
            options: db.options.clone(),
            _db: Box::new(db),
        }
    }

    fn open(&self) -> Arc<dyn Store> {
        match self {
            Self::Sqlite(dir) => Arc::new(SqliteStore::open(&dir.path().join("w.db")).unwrap()),
            Self::Postgres { options, .. } => Arc::new(PostgresStore::open(options).unwrap()),
        }
    }

    fn dir(&self) -> &std::path::Path {
        match self {
            Self::Sqlite(dir) | Self::Postgres { dir, .. } => dir.path(),
        }
    }

    /// Runs `sql` directly against the database, bypassing the store: an error's text.
    fn tamper(&self, sql: &str) -> String {
        match self {
            Self::Sqlite(dir) => rusqlite::Connection::open(dir.path().join("w.db"))
                .unwrap()
                .execute_batch(sql)
                .unwrap_err()
                .to_string(),
            Self::Postgres { options, .. } => {
                let mut config: ::postgres::Config = options.url.parse().unwrap();
                config.password(options.password.as_deref().unwrap_or_default());
                let mut client = config.connect(::postgres::NoTls).unwrap();
                let e = client.batch_execute(sql).unwrap_err();
                e.as_db_error()
                    .map_or(e.to_string(), |d| d.message().to_owned())
            }
        }
    }
}

impl Backend {
    /// Runs `sql` as the server's administrator, outside the database under test.
    fn administer(&self, sql: &str) {
        let Self::Postgres { _db: db, .. } = self else {
            panic!("only a PostgreSQL backend has an administrator");
        };
        admin_client(&db.admin).batch_execute(sql).unwrap();
    }

    /// Runs `sql` as an attacker who can write the database: the append-only triggers are
    /// taken off first (SQLite: dropped; PostgreSQL: disabled, as the tables' owner may).
    fn attack(&self, sql: &str) {
        match self {
            Self::Sqlite(dir) => {
                let conn = rusqlite::Connection::open(dir.path().join("w.db")).unwrap();
                conn.execute_batch(
                    "DROP TRIGGER IF EXISTS ledger_leaves_no_update;
                     DROP TRIGGER IF EXISTS ledger_leaves_no_delete;
                     DROP TRIGGER IF EXISTS ledger_checkpoints_no_delete;",
                )
                .unwrap();
                conn.execute_batch(sql).unwrap();
            }
            Self::Postgres { options, .. } => {
                let mut config: ::postgres::Config = options.url.parse().unwrap();
                config.password(options.password.as_deref().unwrap_or_default());
                let mut client = config.connect(::postgres::NoTls).unwrap();
                client
                    .batch_execute(
                        "ALTER TABLE ledger_leaves DISABLE TRIGGER USER;
                         ALTER TABLE ledger_checkpoints DISABLE TRIGGER USER;",
                    )
                    .unwrap();
                client.batch_execute(sql).unwrap();
            }
        }
    }

    /// Runs `sql` directly against the database, which must take it.
    fn exec(&self, sql: &str) {
        match self {
            Self::Sqlite(dir) => rusqlite::Connection::open(dir.path().join("w.db"))
                .unwrap()
                .execute_batch(sql)
                .unwrap(),
            Self::Postgres { options, .. } => {
                let mut config: ::postgres::Config = options.url.parse().unwrap();
                config.password(options.password.as_deref().unwrap_or_default());
                let mut client = config.connect(::postgres::NoTls).unwrap();
                client.batch_execute(sql).unwrap();
            }
        }
    }

    /// The first column of `sql`'s rows, as text.
    fn column(&self, sql: &str) -> Vec<String> {
        match self {
            Self::Sqlite(dir) => {
                let conn = rusqlite::Connection::open(dir.path().join("w.db")).unwrap();
                let mut stmt = conn.prepare(sql).unwrap();
                stmt.query_map([], |r| {
                    Ok(match r.get::<_, rusqlite::types::Value>(0)? {
                        rusqlite::types::Value::Integer(i) => i.to_string(),
                        rusqlite::types::Value::Text(t) => t,
                        other => format!("{other:?}"),
                    })
                })
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
            }
            Self::Postgres { options, .. } => {
                let mut config: ::postgres::Config = options.url.parse().unwrap();
                config.password(options.password.as_deref().unwrap_or_default());
                let mut client = config.connect(::postgres::NoTls).unwrap();
                client
                    .simple_query(sql)
                    .unwrap()
                    .into_iter()
                    .filter_map(|m| match m {
                        ::postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
                        _ => None,
                    })
                    .collect()
            }
        }
    }

    /// The schema version as this backend keeps it.
    fn schema_version(&self) -> String {
        let sql = match self {
            Self::Sqlite(_) => "PRAGMA user_version",
            Self::Postgres { .. } => "SELECT version FROM warden_schema",
        };
        self.column(sql).concat()
    }

    /// Sets the schema version as this backend keeps it.
    fn set_schema_version(&self, version: u32) {
        self.exec(&match self {
            Self::Sqlite(_) => format!("PRAGMA user_version = {version}"),
            Self::Postgres { .. } => format!("UPDATE warden_schema SET version = {version}"),
        });
    }

    fn try_open(&self) -> Result<Arc<dyn Store>, StoreError> {
        Ok(match self {
            Self::Sqlite(dir) => Arc::new(SqliteStore::open(&dir.path().join("w.db"))?),
            Self::Postgres { options, .. } => Arc::new(PostgresStore::open(options)?),
        })
    }

    /// `bytes` as a blob literal in this backend's SQL.
    fn blob(&self, bytes: &[u8]) -> String {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        match self {
            Self::Sqlite(_) => format!("x'{hex}'"),
            Self::Postgres { .. } => format!("'\\x{hex}'::bytea"),
        }
    }
}

/// A fresh database on the test server, dropped afterwards.
struct TestDatabase {
    admin: PostgresOptions,
    name: String,
    options: PostgresOptions,
}

impl TestDatabase {
    fn create() -> Self {
        let url = std::env::var("WARDEN_TEST_PG_URL").unwrap_or_else(|_| {
            panic!(
                "the PostgreSQL story needs a server: set WARDEN_TEST_PG_URL (and \
                 WARDEN_TEST_PG_PASSWORD), or run ./scripts/test, which starts one"
            )
        });
        let admin = PostgresOptions {
            url: url.clone(),
            password: std::env::var("WARDEN_TEST_PG_PASSWORD").ok(),
            pool_size: 1,
            tls: PostgresTls::Off,
        };
        let name = format!(
            "warden_story_{}_{:016x}",
            std::process::id(),
            rand::random::<u64>()
        );
        admin_client(&admin)
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let (base, _db) = url
            .rsplit_once('/')
            .expect("WARDEN_TEST_PG_URL ends in /<database>");
        let options = PostgresOptions {
            url: format!("{base}/{name}"),
            password: admin.password.clone(),
            pool_size: 8,
            tls: PostgresTls::Off,
        };
        Self {
            admin,
            name,
            options,
        }
    }
}

fn admin_client(admin: &PostgresOptions) -> ::postgres::Client {
    let mut config: ::postgres::Config = admin.url.parse().unwrap();
    if let Some(p) = &admin.password {
        config.password(p);
    }
    config.connect(::postgres::NoTls).unwrap()
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let _ = admin_client(&self.admin).batch_execute(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}

/// Each story runs once per backend: `sqlite::<story>` and `postgres::<story>`.
macro_rules! stories {
    ($($story:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $story() { super::$story(&super::Backend::sqlite()) } )*
        }
        mod postgres {
            $( #[test] fn $story() { super::$story(&super::Backend::postgres()) } )*
        }
    };
}

stories!(
    the_ledger_story,
    appends_from_many_writers_get_distinct_contiguous_indices,
    two_replicas_writing_and_checkpointing_never_sign_conflicting_trees,
    stored_checkpoints_only_grow,
    the_ledger_refuses_changes,
    a_forged_leaf_is_refused_at_open_by_the_writer_and_by_verify,
    rewritten_index_columns_are_reported_and_filtered_out,
    the_newest_events_are_read_without_reading_the_rest,
    events_are_listed_a_page_at_a_time,
    a_long_trail_is_read_page_by_page_without_repeats_or_gaps,
    requests_are_read_page_by_page_in_a_stable_order,
    tainted_agents_are_read_page_by_page,
    sealed_content_deleted_without_a_redaction_event_is_reported,
    exactly_one_answer_wins_a_pending_request,
    answered_requests_past_their_retention_are_deleted_and_open_ones_never,
    open_requests_count_only_what_waits_for_a_human,
    requests_are_looked_up_by_what_the_gateway_acts_on,
    requests_stored_before_their_lookup_columns_are_found,
    a_change_to_a_request_made_from_a_stale_read_loses,
    a_budget_is_never_exceeded_by_concurrent_callers,
    halts_are_shared_set_once_and_resumed_once,
    pins_are_shared_and_replaced,
    taint_follows_the_agent_across_sessions_and_replicas,
    the_store_can_be_called_from_async_code,
    console_sessions_are_shared_pruned_and_capped,
    the_schema_history_keeps_old_databases_and_refuses_an_edited_step,
    a_missing_leaf_is_named_the_same_way_by_every_walk,
    a_requests_steps_are_found_by_its_id_behind_any_number_of_others,
    the_text_search_of_requests_takes_the_text_literally_and_counts_in_the_store,
    requests_stored_before_their_search_column_are_found,
    a_corrupt_leaf_fails_the_same_way_every_time,
);

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

/// The leaf key of the ledger whose signing key is in `dir`, as an auditor holding it reads it.
fn leaf_key(dir: &std::path::Path) -> LeafKey {
    read_leaf_key(&dir.join("ledger.key"), "warden.test/ledger").unwrap()
}

/// A key of no ledger, for raw appends that nothing verifies.
fn test_key() -> LeafKey {
    LeafKey::derive(&NoteSigner::generate("warden.test/ledger", &mut rand::rngs::OsRng).unwrap())
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

fn raw_leaf(text: &str) -> NewLeaf {
    NewLeaf {
        bytes: text.as_bytes().to_vec(),
        hash: leaf_hash(text.as_bytes()),
        columns: LeafColumns {
            time_ms: 1,
            kind: "decision".into(),
            principal: Some("triage".into()),
            session: Some("s1".into()),
            tool: None,
            decision: None,
        },
        sealed: Vec::new(),
    }
}

/// The ledger from end to end: group commit, checkpoints, a second writer, proofs, redaction.
fn the_ledger_story(b: &Backend) {
    let store = b.open();
    let dir = b.dir();
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

    // A second writer (another process, its own connections) appends in between; both stay
    // consistent.
    let other = Ledger::open(b.open(), &settings(dir)).unwrap();
    assert_eq!(other.append(&decision(1000)).unwrap(), 400);
    assert_eq!(ledger.append(&decision(1001)).unwrap(), 401);
    other.shutdown().unwrap();
    ledger.shutdown().unwrap();
    assert!(ledger.append(&decision(1)).is_err(), "closed");

    let report = verify_store(store.as_ref(), &verifier, Some(&leaf_key(dir))).unwrap();
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
    let report = verify_store(store.as_ref(), &verifier, Some(&leaf_key(dir))).unwrap();
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

/// Raw appends from several processes and threads at once: every batch gets its own range, the
/// ranges tile 0..N with no gap, and each index holds the leaf its writer sent.
fn appends_from_many_writers_get_distinct_contiguous_indices(b: &Backend) {
    let stores = [b.open(), b.open()];
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let store = stores[t % 2].clone();
            std::thread::spawn(move || {
                (0..20)
                    .map(|i| {
                        let batch: Vec<NewLeaf> = (0..1 + (t + i) % 4)
                            .map(|k| raw_leaf(&format!("w{t}-b{i}-{k}")))
                            .collect();
                        let first = store.ledger_append(&batch, &test_key()).unwrap();
                        (first, batch)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut expected = Vec::new();
    for h in handles {
        for (first, batch) in h.join().unwrap() {
            for (i, leaf) in (first..).zip(batch) {
                expected.push((i, leaf.bytes));
            }
        }
    }
    expected.sort();
    let n = expected.len() as u64;
    let indices: Vec<u64> = expected.iter().map(|(i, _)| *i).collect();
    assert_eq!(
        indices,
        (0..n).collect::<Vec<_>>(),
        "distinct and contiguous"
    );
    assert_eq!(stores[0].ledger_size().unwrap(), n);
    assert_eq!(
        stores[1].ledger_append(&[], &test_key()).unwrap(),
        n,
        "an empty batch is the size"
    );
    let stored = b.open().ledger_leaves(0, usize::MAX >> 1).unwrap();
    let stored: Vec<(u64, Vec<u8>)> = stored.into_iter().map(|l| (l.index, l.data)).collect();
    assert_eq!(
        stored, expected,
        "each index holds what its writer appended"
    );
}

/// Two ledgers, as two replicas would run them, append and checkpoint at the same time; the
/// stored log verifies, with every checkpoint consistent with every other.
fn two_replicas_writing_and_checkpointing_never_sign_conflicting_trees(b: &Backend) {
    let dir = b.dir();
    let a = Arc::new(Ledger::open(b.open(), &settings(dir)).unwrap());
    let c = Arc::new(Ledger::open(b.open(), &settings(dir)).unwrap());
    let verifier = a.verifier().clone();
    let handles: Vec<_> = (0..6u64)
        .map(|t| {
            let ledger = if t % 2 == 0 { a.clone() } else { c.clone() };
            std::thread::spawn(move || {
                let mut got = Vec::new();
                for i in 0..60 {
                    got.push(ledger.append(&decision(t * 1000 + i)).unwrap());
                    if i % 7 == 0 {
                        ledger.checkpoint().unwrap();
                    }
                }
                got
            })
        })
        .collect();
    let indices: BTreeSet<u64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    assert_eq!(indices, (0..360).collect());
    a.shutdown().unwrap();
    c.shutdown().unwrap();
    let store = b.open();
    let checkpoints = store.ledger_checkpoints().unwrap();
    assert!(checkpoints.len() >= 2, "{} checkpoints", checkpoints.len());
    let sizes: Vec<u64> = checkpoints.iter().map(|c| c.size).collect();
    assert!(sizes.windows(2).all(|w| w[0] < w[1]), "{sizes:?}");
    assert_eq!(sizes.last(), Some(&360));
    let report = verify_store(store.as_ref(), &verifier, Some(&leaf_key(dir))).unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.log.leaves, 360);
}

/// Racing "store if larger" calls leave strictly growing sizes; a smaller or equal one is
/// refused.
fn stored_checkpoints_only_grow(b: &Backend) {
    let stores = [b.open(), b.open()];
    let handles: Vec<_> = (0..8u64)
        .map(|t| {
            let store = stores[(t % 2) as usize].clone();
            std::thread::spawn(move || {
                (0..25u64)
                    .filter(|i| {
                        let size = 1 + (i * 8 + t) % 97;
                        store
                            .ledger_add_checkpoint(&StoredCheckpoint {
                                size,
                                root: Hash([t as u8; 32]),
                                note: format!("note {size}"),
                                time_ms: 1,
                            })
                            .unwrap()
                    })
                    .count()
            })
        })
        .collect();
    let stored: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    let all = stores[0].ledger_checkpoints().unwrap();
    assert_eq!(all.len(), stored);
    let sizes: Vec<u64> = all.iter().map(|c| c.size).collect();
    assert!(sizes.windows(2).all(|w| w[0] < w[1]), "{sizes:?}");
    let latest = stores[1].ledger_latest_checkpoint().unwrap().unwrap();
    assert_eq!(Some(latest.size), sizes.last().copied());
    assert!(
        !stores[1]
            .ledger_add_checkpoint(&StoredCheckpoint {
                size: latest.size,
                root: Hash([0; 32]),
                note: "same size".into(),
                time_ms: 2,
            })
            .unwrap()
    );
}

/// Leaves and checkpoints cannot be changed or removed, even with SQL; sealed content can only
/// be deleted (redaction).
fn the_ledger_refuses_changes(b: &Backend) {
    let store = b.open();
    let ledger = Ledger::open(store.clone(), &settings(b.dir())).unwrap();
    for i in 0..3 {
        ledger.append(&decision(i)).unwrap();
    }
    ledger.shutdown().unwrap();
    for sql in [
        "UPDATE ledger_leaves SET leaf = leaf",
        "DELETE FROM ledger_leaves",
        "UPDATE ledger_checkpoints SET note = note",
        "DELETE FROM ledger_checkpoints",
        "UPDATE ledger_sealed SET sealed = sealed",
    ] {
        let err = b.tamper(sql);
        assert!(
            err.contains("append-only") || err.contains("never changed"),
            "{sql}: {err}"
        );
    }
    assert_eq!(store.ledger_size().unwrap(), 3);
    assert_eq!(store.ledger_redact(1).unwrap(), ["args", "rationale"]);
    assert_eq!(store.ledger_redact(1).unwrap(), Vec::<String>::new());
}

/// A ledger of `n` decisions, every one covered by the last checkpoint.
fn signed_ledger(b: &Backend, n: u64) -> (Arc<dyn Store>, warden_ledger::CheckpointVerifier) {
    let store = b.open();
    let ledger = Ledger::open(store.clone(), &settings(b.dir())).unwrap();
    for i in 0..n {
        ledger.append(&decision(i)).unwrap();
    }
    let verifier = ledger.verifier().clone();
    ledger.shutdown().unwrap();
    (store, verifier)
}

/// The SQL that inserts a well-formed leaf for `event` at `index`, with its true hash and
/// columns, as an attacker who can write the database but does not hold the key would; `mac`
/// is the literal stored as its MAC.
fn forged_insert(b: &Backend, index: u64, event: &AuditEvent, mac: &str) -> String {
    let leaf = warden_store::ledger::prepare(event).unwrap();
    let c = &leaf.columns;
    let text = |v: &Option<String>| v.as_ref().map_or("NULL".into(), |t| format!("'{t}'"));
    format!(
        "INSERT INTO ledger_leaves (idx, leaf, leaf_hash, time_ms, kind, principal, session,
                                    tool, decision, leaf_mac)
         VALUES ({index}, {}, {}, {}, '{}', {}, {}, {}, {}, {mac});",
        b.blob(&leaf.bytes),
        b.blob(leaf.hash.as_bytes()),
        c.time_ms,
        c.kind,
        text(&c.principal),
        text(&c.session),
        text(&c.tool),
        text(&c.decision),
    )
}

/// A row INSERTed by someone without the key, after the last checkpoint: the chain alone (what
/// `audit verify` checked before leaves carried MACs) finds nothing wrong with it, and a writer
/// would have signed it into the next checkpoint. Now warden refuses to start on it, a running
/// writer refuses to sign it (and fails every append after it), and verify names it; with or
/// without a MAC copied from a real leaf.
fn a_forged_leaf_is_refused_at_open_by_the_writer_and_by_verify(b: &Backend) {
    let (store, verifier) = signed_ledger(b, 5);
    let dir = b.dir();
    let mut forged = decision(99);
    forged.decision = Some("allow".into());
    forged.reason = Some("approved by nobody".into());
    b.attack(&forged_insert(b, 5, &forged, "NULL"));

    let report = verify_store(store.as_ref(), &verifier, Some(&leaf_key(dir))).unwrap();
    assert!(report.log.is_clean(), "the chain alone accepts it");
    assert_eq!(report.log.leaves, 6);
    // (Its sealed values are missing too: the attacker did not store any.)
    assert_eq!(
        report.content.first(),
        Some(&ContentFinding::Forged {
            index: 5,
            why: "it has no MAC and no checkpoint covers it"
        })
    );
    assert!(report.content.iter().all(|f| f.index() == 5), "{report:?}");
    // An auditor with the public key alone still finds a row without a MAC.
    let report = verify_store(store.as_ref(), &verifier, None).unwrap();
    assert!(matches!(
        report.content[0],
        ContentFinding::Forged { index: 5, .. }
    ));
    let err = Ledger::open(b.open(), &settings(dir)).unwrap_err();
    assert!(
        matches!(err, LedgerError::Forged(_)) && err.to_string().contains("leaf 5"),
        "{err}"
    );

    // A MAC copied from a genuine leaf does not fit another index or leaf.
    b.attack("DELETE FROM ledger_leaves WHERE idx = 5");
    let copied = "(SELECT leaf_mac FROM ledger_leaves WHERE idx = 4)";
    b.attack(&forged_insert(b, 5, &forged, copied));
    let report = verify_store(store.as_ref(), &verifier, Some(&leaf_key(dir))).unwrap();
    assert_eq!(
        report.content.first(),
        Some(&ContentFinding::Forged {
            index: 5,
            why: "its MAC is wrong"
        })
    );
    let err = Ledger::open(b.open(), &settings(dir)).unwrap_err();
    assert!(
        err.to_string().contains("leaf 5: its MAC is wrong"),
        "{err}"
    );

    // A running writer catches a row inserted behind its back before it signs anything.
    b.attack("DELETE FROM ledger_leaves WHERE idx = 5");
    let ledger = Ledger::open(b.open(), &settings(dir)).unwrap();
    assert_eq!(ledger.append(&decision(5)).unwrap(), 5);
    b.attack(&forged_insert(b, 6, &forged, "NULL"));
    let err = ledger.append(&decision(7)).unwrap_err();
    assert!(err.to_string().contains("forged leaf"), "{err}");
    assert!(ledger.checkpoint().is_err(), "nothing is signed after it");
    assert!(
        ledger.append(&decision(8)).is_err(),
        "the writer stays halted"
    );
    drop(ledger);
    let latest = store.ledger_latest_checkpoint().unwrap().unwrap();
    assert!(
        latest.size <= 6,
        "no checkpoint covers the forged leaf: {}",
        latest.size
    );
}

/// Index columns rewritten with SQL: the chain still verifies (the leaf is untouched), so the
/// old verify passed while `audit show --decision deny` and the console lost the denial. Now
/// verify names each rewritten column, and readers leave out a row whose leaf does not match.
fn rewritten_index_columns_are_reported_and_filtered_out(b: &Backend) {
    let (store, verifier) = signed_ledger(b, 4);
    let dir = b.dir();
    b.attack(
        "UPDATE ledger_leaves SET decision = 'deny' WHERE idx = 1;
         UPDATE ledger_leaves SET kind = 'outcome', session = 's9' WHERE idx = 2;
         UPDATE ledger_leaves SET principal = 'agent-9', tool = 'x', time_ms = 7 WHERE idx = 3;",
    );
    let report = verify_store(store.as_ref(), &verifier, Some(&leaf_key(dir))).unwrap();
    assert!(report.log.is_clean(), "the chain alone accepts it");
    assert_eq!(
        report.content,
        [
            ContentFinding::ColumnMismatch {
                index: 1,
                columns: vec!["decision"]
            },
            ContentFinding::ColumnMismatch {
                index: 2,
                columns: vec!["kind", "session"]
            },
            ContentFinding::ColumnMismatch {
                index: 3,
                columns: vec!["time_ms", "principal", "tool"]
            },
        ]
    );
    let denials = read_events(
        store.as_ref(),
        &EventFilter {
            decision: Some("deny".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(denials.is_empty(), "the leaf says allow: {denials:?}");
    let all = read_range(store.as_ref(), 0, 10).unwrap();
    assert_eq!(all[2].column_mismatch, ["kind", "session"]);
    assert!(all[0].column_mismatch.is_empty());
}

/// The console's recent decisions: the newest `limit` matches, newest first, whatever the
/// ledger's length; the oldest-first reading keeps its order.
fn the_newest_events_are_read_without_reading_the_rest(b: &Backend) {
    let (store, _) = signed_ledger(b, 12);
    let newest = |principal: Option<&str>, limit| {
        read_events(
            store.as_ref(),
            &EventFilter {
                kind: Some("decision".into()),
                principal: principal.map(str::to_owned),
                limit: Some(limit),
                newest_first: true,
                ..Default::default()
            },
        )
        .unwrap()
        .iter()
        .map(|e| e.index)
        .collect::<Vec<_>>()
    };
    assert_eq!(newest(None, 3), [11, 10, 9]);
    assert_eq!(
        newest(Some("agent-1"), 2),
        [10, 7],
        "the filter applies before the limit"
    );
    assert_eq!(newest(None, 100).len(), 12);
    let oldest = read_events(
        store.as_ref(),
        &EventFilter {
            limit: Some(2),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(oldest.iter().map(|e| e.index).collect::<Vec<_>>(), [0, 1]);

    // Rows relabelled to fill the page are left out, and the page is still full.
    b.attack("UPDATE ledger_leaves SET principal = 'agent-1' WHERE idx IN (8, 11);");
    assert_eq!(newest(Some("agent-1"), 2), [10, 7]);
    assert_eq!(newest(Some("agent-1"), 3), [10, 7, 4]);
}

/// A listing read a page at a time gets the same events as one read, in pages of at most the
/// size asked for, within the filter's limit, either way round; rows relabelled to fill a page
/// are left out without cutting the listing short.
fn events_are_listed_a_page_at_a_time(b: &Backend) {
    let (store, _) = signed_ledger(b, 12);
    let paged = |filter: EventFilter, page| {
        event_pages(store.as_ref(), &filter, page)
            .map(|p| p.unwrap().iter().map(|e| e.index).collect::<Vec<_>>())
            .collect::<Vec<_>>()
    };
    let all: Vec<u64> = (0..12).collect();
    assert_eq!(
        paged(EventFilter::default(), 5),
        [&all[..5], &all[5..10], &all[10..]]
    );
    assert_eq!(paged(EventFilter::default(), 12), [&all[..]]);
    assert_eq!(paged(EventFilter::default(), 100), [&all[..]]);
    let limited = EventFilter {
        limit: Some(7),
        ..Default::default()
    };
    assert_eq!(paged(limited, 3), [vec![0, 1, 2], vec![3, 4, 5], vec![6]]);
    let newest = EventFilter {
        principal: Some("agent-1".into()),
        newest_first: true,
        ..Default::default()
    };
    assert_eq!(paged(newest.clone(), 2), [vec![10, 7], vec![4, 1]]);
    let nobody = EventFilter {
        principal: Some("nobody".into()),
        ..Default::default()
    };
    assert!(paged(nobody, 4).is_empty(), "no empty page is handed out");

    b.attack("UPDATE ledger_leaves SET principal = 'agent-1' WHERE idx IN (8, 11);");
    assert_eq!(paged(newest, 3), [vec![10, 7, 4], vec![1]]);
}

/// Alters one hex digit of a cursor's token, as a person editing the link would.
fn altered(token: &str, at: usize) -> String {
    let mut t = token.as_bytes().to_vec();
    t[at] = if t[at] == b'0' { b'1' } else { b'0' };
    String::from_utf8(t).unwrap()
}

/// A session with more events than a page holds, stored as a flood would store them (one
/// transaction): the first page is the oldest, each cursor leads to the next page with no
/// event twice and none skipped, events appended while the reader pages on come after the
/// ones already there (in both orders), and a cursor altered or from another session is
/// refused rather than read as the first page.
fn a_long_trail_is_read_page_by_page_without_repeats_or_gaps(b: &Backend) {
    let store = b.open();
    let key = test_key();
    let event = |i: u64| {
        let mut e = decision(i);
        e.session = Some(if i.is_multiple_of(3) { "other" } else { "s1" }.into());
        e
    };
    let leaves: Vec<NewLeaf> = (0..1_200).map(|i| prepare(&event(i)).unwrap()).collect();
    store.ledger_append(&leaves, &key).unwrap();
    let trail = EventFilter {
        session: Some("s1".into()),
        ..Default::default()
    };
    let size = PageSize::new(PageSize::MAX).unwrap();
    let first = events_page(store.as_ref(), &trail, None, size).unwrap();
    let mut seen: Vec<u64> = first.rows.iter().map(|e| e.index).collect();
    assert_eq!(seen.len(), PageSize::MAX);
    assert_eq!(seen[..3], [1, 2, 4], "the first page is the oldest");
    // Two more of the session's events arrive while the approver reads the first page.
    store
        .ledger_append(
            &[prepare(&event(1)).unwrap(), prepare(&event(2)).unwrap()],
            &key,
        )
        .unwrap();
    let mut next = first.next;
    let mut pages = 1;
    while let Some(cursor) = next {
        // The cursor travels as a token and comes back checked.
        let back = Cursor::<LeafAfter>::parse(&cursor.token(), &trail).unwrap();
        let page = events_page(store.as_ref(), &trail, Some(&back), size).unwrap();
        assert!(!page.rows.is_empty() && page.rows.len() <= PageSize::MAX);
        seen.extend(page.rows.iter().map(|e| e.index));
        next = page.next;
        pages += 1;
    }
    let mut want: Vec<u64> = (0..1_200).filter(|i| i % 3 != 0).collect();
    want.extend([1_200, 1_201]);
    assert_eq!(pages, 2);
    assert_eq!(seen, want, "every event once, in log order");

    // Newest first, the same events the other way round; events appended meanwhile are
    // newer than the first page, so no later page repeats one.
    let newest = EventFilter {
        newest_first: true,
        ..trail.clone()
    };
    let first = events_page(store.as_ref(), &newest, None, size).unwrap();
    let mut seen: Vec<u64> = first.rows.iter().map(|e| e.index).collect();
    store
        .ledger_append(&[prepare(&event(4)).unwrap()], &key)
        .unwrap();
    let mut next = first.next;
    while let Some(cursor) = next {
        let page = events_page(store.as_ref(), &newest, Some(&cursor), size).unwrap();
        seen.extend(page.rows.iter().map(|e| e.index));
        next = page.next;
    }
    want.reverse();
    assert_eq!(seen, want);

    // A page link edited by hand, cut short, or from another session's trail is refused.
    let token = events_page(store.as_ref(), &trail, None, size)
        .unwrap()
        .next
        .unwrap()
        .token();
    for at in [4, 21, token.len() - 1] {
        assert_eq!(
            Cursor::<LeafAfter>::parse(&altered(&token, at), &trail),
            Err(CursorError::Altered)
        );
    }
    assert!(Cursor::<LeafAfter>::parse(&token[..token.len() - 4], &trail).is_err());
    let other = EventFilter {
        session: Some("other".into()),
        ..Default::default()
    };
    assert_eq!(
        Cursor::<LeafAfter>::parse(&token, &other),
        Err(CursorError::OtherListing)
    );
    assert_eq!(
        Cursor::<LeafAfter>::parse(&token, &newest),
        Err(CursorError::OtherListing),
        "a cursor of one order is not read in the other"
    );
}

/// Requests, many created in the same millisecond, are paged by creation time and id: the
/// store's filter narrows each page, no request is read twice or skipped, one created while
/// the reader pages on is on a later page, and a cursor from another filter is refused.
fn requests_are_read_page_by_page_in_a_stable_order(b: &Backend) {
    let store = b.open();
    let made = |i: usize| {
        let mut r = request(&format!("apr_{i:03}"));
        r.status = ApprovalStatus::Pending;
        r.created_ms = 1_000 + (i / 4) as i64;
        r.principal = if i.is_multiple_of(5) {
            "other"
        } else {
            "responder"
        }
        .into();
        r
    };
    for i in 0..120 {
        store.create_pending(&made(i)).unwrap();
    }
    let filter = RequestFilter {
        statuses: vec![ApprovalStatus::Pending],
        principal: Some("responder".into()),
        ..RequestFilter::default()
    };
    let size = PageSize::new(25).unwrap();
    let first = requests_page(store.as_ref(), &filter, None, size).unwrap();
    assert_eq!(first.rows.len(), 25);
    let mut seen: Vec<String> = first.rows.iter().map(|r| r.id.clone()).collect();
    store.create_pending(&made(121)).unwrap();
    let mut next = first.next;
    while let Some(cursor) = next {
        let back = Cursor::<WaitingAfter>::parse(&cursor.token(), &filter).unwrap();
        let page = requests_page(store.as_ref(), &filter, Some(&back), size).unwrap();
        assert!(page.rows.len() <= 25);
        seen.extend(page.rows.iter().map(|r| r.id.clone()));
        next = page.next;
    }
    let want: Vec<String> = (0..122)
        .filter(|i| i % 5 != 0 && *i != 120)
        .map(|i| format!("apr_{i:03}"))
        .collect();
    assert_eq!(seen, want);

    let token = first_token(
        &requests_page(store.as_ref(), &filter, None, size)
            .unwrap()
            .next,
    );
    let open = RequestFilter {
        principal: Some("other".into()),
        ..filter.clone()
    };
    assert_eq!(
        Cursor::<WaitingAfter>::parse(&token, &open),
        Err(CursorError::OtherListing)
    );
    assert_eq!(
        Cursor::<WaitingAfter>::parse(&altered(&token, 40), &filter),
        Err(CursorError::Altered)
    );
}

fn first_token<K: warden_store::Keyset>(next: &Option<Cursor<K>>) -> String {
    next.as_ref().expect("a next page").token()
}

/// The tainted agents are paged by name, each page counting only its own agents' records:
/// the pages hold every agent in force once, and only those.
fn tainted_agents_are_read_page_by_page(b: &Backend) {
    let store = b.open();
    for i in 0..40 {
        let agent = format!("agent-{i:02}");
        // Two reads each; every fourth agent's taint has ended by `now`.
        let until = if i % 4 == 0 { 1_500 } else { 9_000 };
        store
            .raise_agent_taint(&taint(&agent, "s1", 40, 1_000, until))
            .unwrap();
        store
            .raise_agent_taint(&taint(&agent, "s2", 70, 1_100, until))
            .unwrap();
    }
    let now = 2_000;
    let size = PageSize::new(7).unwrap();
    let mut seen = Vec::new();
    let mut next = None;
    loop {
        let page = tainted_agents_page(store.as_ref(), now, next.as_ref(), size).unwrap();
        assert!(page.rows.len() <= 7);
        for t in &page.rows {
            assert_eq!((t.taint.level, t.records), (70, 2), "{}", t.taint.agent);
        }
        seen.extend(page.rows.into_iter().map(|t| t.taint.agent));
        match page.next {
            Some(c) => {
                next = Some(Cursor::parse(&c.token(), &TaintedAgents).unwrap());
            }
            None => break,
        }
    }
    let want: Vec<String> = (0..40)
        .filter(|i| i % 4 != 0)
        .map(|i| format!("agent-{i:02}"))
        .collect();
    assert_eq!(seen, want);
    assert_eq!(
        Cursor::<LeafAfter>::parse(
            &first_token(
                &tainted_agents_page(store.as_ref(), now, None, size)
                    .unwrap()
                    .next
            ),
            &TaintedAgents
        ),
        Err(CursorError::OtherListing),
        "an agent cursor is not a leaf cursor"
    );
}

/// Sealed content is deletable (that is how redaction works), so deleting it with SQL left no
/// trace the old verify could see. Now every missing sealed value needs a redaction event that
/// names it; a real redaction still verifies.
fn sealed_content_deleted_without_a_redaction_event_is_reported(b: &Backend) {
    let (store, verifier) = signed_ledger(b, 4);
    let dir = b.dir();
    // A real redaction of leaf 1: recorded, then erased.
    let ledger = Ledger::open(b.open(), &settings(dir)).unwrap();
    let mut redaction = AuditEvent::new(EventKind::Redaction, 5_000);
    redaction.detail = Some(json!({"index": 1, "fields": ["args", "rationale"]}));
    assert_eq!(ledger.append(&redaction).unwrap(), 4);
    assert_eq!(store.ledger_redact(1).unwrap(), ["args", "rationale"]);
    // A redaction that names only `args` of leaf 3 covers only that field.
    let mut partial = AuditEvent::new(EventKind::Redaction, 5_001);
    partial.detail = Some(json!({"index": 3, "fields": ["args"]}));
    assert_eq!(ledger.append(&partial).unwrap(), 5);
    ledger.shutdown().unwrap();
    let report = verify_store(store.as_ref(), &verifier, Some(&leaf_key(dir))).unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.redacted, 2);

    b.attack("DELETE FROM ledger_sealed WHERE idx IN (2, 3)");
    let report = verify_store(store.as_ref(), &verifier, Some(&leaf_key(dir))).unwrap();
    assert!(report.log.is_clean(), "the chain alone accepts it");
    let missing = |index: u64, field: &str| ContentFinding::SealedMissing {
        index,
        field: field.into(),
    };
    assert_eq!(
        report.content,
        [
            missing(2, "args"),
            missing(2, "rationale"),
            missing(3, "rationale")
        ]
    );
    assert!(
        report.content[0]
            .to_string()
            .contains("no redaction event names it")
    );
}

fn request(id: &str) -> PendingRequest {
    PendingRequest {
        id: id.into(),
        created_ms: 1,
        principal: "responder".into(),
        session: "s1".into(),
        tool: "edr.isolate_host".into(),
        args: json!({"host": "ws-042"}),
        args_digest: "sha256:00".into(),
        policy_version: "v1".into(),
        rule: "isolate-needs-approval".into(),
        approval: ApprovalKind::Required,
        status: ApprovalStatus::Approved,
        rationale: None,
        category: "containment".into(),
        stakes: "high".into(),
        owner: "ir".into(),
        expires_ms: i64::MAX,
        answers: Vec::new(),
        evidence: Vec::new(),
        escalated: false,
        revision: 0,
    }
}

/// Many retries of one approved call, on two replicas at once: exactly one takes it.
fn exactly_one_answer_wins_a_pending_request(b: &Backend) {
    let stores = [b.open(), b.open()];
    stores[0].create_pending(&request("apr_1")).unwrap();
    assert!(
        stores[1].create_pending(&request("apr_1")).is_err(),
        "ids are unique"
    );
    let handles: Vec<_> = (0..16)
        .map(|t| {
            let store = stores[t % 2].clone();
            std::thread::spawn(move || {
                let mut r = request("apr_1");
                r.status = ApprovalStatus::Executed;
                r.rationale = Some(format!("taker {t}"));
                store.update_pending(&r).unwrap()
            })
        })
        .collect();
    let winners = handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .filter(|won| *won)
        .count();
    assert_eq!(winners, 1);
    let stored = stores[1].pending_request("apr_1").unwrap().unwrap();
    assert_eq!(stored.status, ApprovalStatus::Executed);
    assert!(stored.rationale.unwrap().starts_with("taker "));
    assert_eq!(stores[0].pending().unwrap().len(), 1);
    assert!(stores[0].pending_request("apr_2").unwrap().is_none());
}

/// Answered requests do not pile up: those that expired before the cutoff are deleted, the
/// rest kept. An open request (pending, or approved and not yet used) is never deleted,
/// however long ago it expired: until the sweeper closes it, it is what a retry, an answer or
/// a halt acts on.
fn answered_requests_past_their_retention_are_deleted_and_open_ones_never(b: &Backend) {
    let store = b.open();
    for (id, expires, status) in [
        ("apr_p1", 100, ApprovalStatus::Denied),
        ("apr_p2", 100, ApprovalStatus::Expired),
        ("apr_p3", 100, ApprovalStatus::Executed),
        ("apr_p4", 100, ApprovalStatus::Pending),
        ("apr_p5", 100, ApprovalStatus::Approved),
        ("apr_p6", 1_000, ApprovalStatus::Denied),
        ("apr_p7", 999, ApprovalStatus::Executed),
    ] {
        let mut r = request(id);
        r.expires_ms = expires;
        r.status = status;
        store.create_pending(&r).unwrap();
    }
    let ids = |store: &Arc<dyn Store>| {
        store
            .pending()
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(
        store.prune_closed(100).unwrap(),
        0,
        "none expired before 100"
    );
    assert_eq!(store.prune_closed(1_000).unwrap(), 4);
    let kept: BTreeSet<String> = ["apr_p4", "apr_p5", "apr_p6"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(ids(&store), kept);
    // Whatever the cutoff, the open ones stay; another replica sees the same.
    assert_eq!(store.prune_closed(i64::MAX).unwrap(), 1);
    let open: BTreeSet<String> = ["apr_p4", "apr_p5"].into_iter().map(String::from).collect();
    assert_eq!(ids(&b.open()), open);
    let approved = store.pending_request("apr_p5").unwrap().unwrap();
    assert_eq!(approved.status, ApprovalStatus::Approved);
}

/// What a dashboard reads at each scrape: only requests still `pending` count, the oldest of
/// them by creation time; an answered one leaves the count. The pool's use where there is one.
fn open_requests_count_only_what_waits_for_a_human(b: &Backend) {
    let store = b.open();
    assert_eq!(store.open_requests().unwrap(), OpenRequests::default());
    for (id, created, status) in [
        ("apr_o1", 300, ApprovalStatus::Pending),
        ("apr_o2", 100, ApprovalStatus::Executed),
        ("apr_o3", 200, ApprovalStatus::Pending),
        ("apr_o4", 50, ApprovalStatus::Expired),
    ] {
        let mut r = request(id);
        r.created_ms = created;
        r.status = status;
        store.create_pending(&r).unwrap();
    }
    assert_eq!(
        store.open_requests().unwrap(),
        OpenRequests {
            count: 2,
            oldest_created_ms: Some(200)
        }
    );
    // A page of waiting calls reads only those, oldest first, at most as many as asked, and
    // pages on from the last one read.
    let ids = |after: Option<&WaitingAfter>, limit| {
        store
            .waiting(after, limit)
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(None, 10), ["apr_o3", "apr_o1"]);
    assert_eq!(ids(None, 1), ["apr_o3"]);
    let first = &store.waiting(None, 1).unwrap()[0];
    assert_eq!(ids(Some(&WaitingAfter::of(first)), 10), ["apr_o1"]);
    // Requests created in the same millisecond are told apart by id: none is skipped.
    let mut twin = request("apr_o0");
    twin.created_ms = 200;
    twin.status = ApprovalStatus::Pending;
    store.create_pending(&twin).unwrap();
    let mut paged = Vec::new();
    let mut after: Option<WaitingAfter> = None;
    loop {
        let page = store.waiting(after.as_ref(), 1).unwrap();
        let Some(last) = page.last() else { break };
        after = Some(WaitingAfter::of(last));
        paged.extend(page.into_iter().map(|r| r.id));
    }
    assert_eq!(paged, ["apr_o0", "apr_o3", "apr_o1"]);
    let mut gone = store.pending_request("apr_o0").unwrap().unwrap();
    gone.status = ApprovalStatus::Expired;
    assert!(store.update_pending(&gone).unwrap());
    let mut answered = store.pending_request("apr_o3").unwrap().unwrap();
    answered.status = ApprovalStatus::Denied;
    assert!(store.update_pending(&answered).unwrap());
    assert_eq!(
        store.open_requests().unwrap(),
        OpenRequests {
            count: 1,
            oldest_created_ms: Some(300)
        }
    );
    match b {
        Backend::Sqlite(_) => assert_eq!(store.pool_use(), None),
        Backend::Postgres { .. } => {
            let pool = store
                .pool_use()
                .expect("a pooled backend says how its pool is used");
            assert!(pool.max >= 1 && pool.open <= pool.max && pool.idle <= pool.open);
        }
    }
}

/// What a held call, the sweeper and a halt look requests up by: each lookup returns the
/// requests it names, oldest first, kept current as a request changes; the answered ones are
/// not among them.
fn requests_are_looked_up_by_what_the_gateway_acts_on(b: &Backend) {
    let store = b.open();
    let ids = |filter: &RequestFilter| {
        store
            .requests(filter)
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect::<Vec<_>>()
    };
    for (id, status, session, digest, expires) in [
        ("apr_l1", ApprovalStatus::Approved, "s1", "sha256:aa", 500),
        ("apr_l2", ApprovalStatus::Approved, "s1", "sha256:bb", 500),
        ("apr_l3", ApprovalStatus::Executed, "s1", "sha256:aa", 500),
        ("apr_l4", ApprovalStatus::Pending, "s2", "sha256:aa", 100),
        ("apr_l5", ApprovalStatus::Expired, "s2", "sha256:aa", 100),
    ] {
        let mut r = request(id);
        r.status = status;
        r.session = session.into();
        r.args_digest = digest.into();
        r.expires_ms = expires;
        store.create_pending(&r).unwrap();
    }
    let approved = RequestFilter {
        statuses: vec![ApprovalStatus::Approved],
        principal: Some("responder".into()),
        session: Some("s1".into()),
        tool: Some("edr.isolate_host".into()),
        args_digest: Some("sha256:aa".into()),
        policy_version: Some("v1".into()),
        ..RequestFilter::default()
    };
    assert_eq!(ids(&approved), ["apr_l1"]);
    let overdue = |now: i64| RequestFilter {
        expired_at_ms: Some(now),
        ..RequestFilter::open()
    };
    assert_eq!(ids(&overdue(99)), Vec::<String>::new());
    assert_eq!(ids(&overdue(100)), ["apr_l4"]);
    assert_eq!(ids(&overdue(500)), ["apr_l1", "apr_l2", "apr_l4"]);
    let of_session = RequestFilter {
        principal: Some("responder".into()),
        session: Some("s2".into()),
        ..RequestFilter::open()
    };
    assert_eq!(ids(&of_session), ["apr_l4"]);
    let of_category = RequestFilter {
        category: Some("containment".into()),
        ..RequestFilter::open()
    };
    assert_eq!(ids(&of_category), ["apr_l1", "apr_l2", "apr_l4"]);
    let unescalated = RequestFilter {
        statuses: vec![ApprovalStatus::Pending],
        escalated: Some(false),
        unexpired_at_ms: Some(50),
        ..RequestFilter::default()
    };
    assert_eq!(ids(&unescalated), ["apr_l4"]);

    // A change moves the request between lookups.
    let mut r = store.pending_request("apr_l4").unwrap().unwrap();
    r.escalated = true;
    assert!(store.update_pending(&r).unwrap());
    assert_eq!(ids(&unescalated), Vec::<String>::new());
    let mut r = store.pending_request("apr_l1").unwrap().unwrap();
    r.status = ApprovalStatus::Executed;
    assert!(store.update_pending(&r).unwrap());
    assert_eq!(ids(&approved), Vec::<String>::new());
    assert_eq!(ids(&overdue(500)), ["apr_l2", "apr_l4"]);

    // A row whose columns were edited apart from its body is not returned as what it is not.
    b.attack("UPDATE pending SET status = 'approved' WHERE id = 'apr_l3';");
    assert!(matches!(
        store.requests(&approved),
        Err(StoreError::Corrupt(e)) if e.contains("apr_l3")
    ));
    b.attack("UPDATE pending SET status = 'executed' WHERE id = 'apr_l3';");
    b.attack("UPDATE pending SET args_digest = 'sha256:aa' WHERE id = 'apr_l2';");
    assert_eq!(ids(&approved), Vec::<String>::new());
}

/// Requests stored by a warden from before their lookup columns existed are found by the
/// lookups once the schema is migrated: the migration fills the columns from each body.
fn requests_stored_before_their_lookup_columns_are_found(b: &Backend) {
    let store = b.open();
    let mut r = request("apr_m1");
    r.expires_ms = 700;
    r.escalated = true;
    store.create_pending(&r).unwrap();
    drop(store);
    let undone = undo_steps_after(b, "0011_pending_lookup");
    // As the earlier warden stored it: the columns at their defaults, the step not applied.
    b.exec(
        "UPDATE pending SET principal = '', session = '', tool = '', args_digest = '',
             policy_version = '', category = '', expires_ms = 0, escalated = FALSE;
         DROP INDEX pending_binding;
         DROP INDEX pending_due;
         DELETE FROM warden_migrations WHERE name = '0011_pending_lookup';",
    );
    for column in [
        "principal",
        "session",
        "tool",
        "args_digest",
        "policy_version",
        "category",
        "expires_ms",
        "escalated",
    ] {
        b.exec(&format!("ALTER TABLE pending DROP COLUMN {column};"));
    }
    let latest = u32::try_from(applied_steps(b).len()).unwrap();
    b.set_schema_version(latest - 1 - undone);
    let store = b.open();
    assert_eq!(b.schema_version(), latest.to_string());
    let found = store
        .requests(&RequestFilter {
            statuses: vec![ApprovalStatus::Approved],
            principal: Some("responder".into()),
            session: Some("s1".into()),
            tool: Some("edr.isolate_host".into()),
            args_digest: Some("sha256:00".into()),
            policy_version: Some("v1".into()),
            category: Some("containment".into()),
            expired_at_ms: Some(700),
            escalated: Some(true),
            ..RequestFilter::default()
        })
        .unwrap();
    assert_eq!(found, [r]);
}

/// Two approvers read a two-person request at the same moment and each adds an answer: the
/// second write is from a stale read and must lose (not overwrite the first answer), and
/// applied again to what is stored now, both answers are there.
fn a_change_to_a_request_made_from_a_stale_read_loses(b: &Backend) {
    let stores = [b.open(), b.open()];
    let mut pending = request("apr_2p");
    pending.status = ApprovalStatus::Pending;
    pending.approval = ApprovalKind::TwoPerson;
    stores[0].create_pending(&pending).unwrap();
    let answer = |who: &str| ApprovalAnswer {
        approver: who.into(),
        verdict: Verdict::Approve,
        reason: "checked".into(),
        at_ms: 2,
    };
    let mut bob = stores[0].pending_request("apr_2p").unwrap().unwrap();
    let mut dana = stores[1].pending_request("apr_2p").unwrap().unwrap();
    bob.answers.push(answer("bob"));
    dana.answers.push(answer("dana"));
    assert!(stores[0].update_pending(&bob).unwrap());
    assert!(
        !stores[1].update_pending(&dana).unwrap(),
        "a write from a stale read must not overwrite bob's answer"
    );
    let mut dana = stores[1].pending_request("apr_2p").unwrap().unwrap();
    assert_eq!(dana.answers.len(), 1);
    dana.answers.push(answer("dana"));
    dana.status = ApprovalStatus::Approved;
    assert!(stores[1].update_pending(&dana).unwrap());
    let stored = stores[0].pending_request("apr_2p").unwrap().unwrap();
    assert_eq!(stored.approvals(), 2);
    assert_eq!(stored.status, ApprovalStatus::Approved);
    assert!(stored.revision > bob.revision);
}

/// Calls spread over replicas and threads never exceed a budget; another scope has its own.
fn a_budget_is_never_exceeded_by_concurrent_callers(b: &Backend) {
    let stores = [b.open(), b.open(), b.open()];
    let handles: Vec<_> = (0..12)
        .map(|t| {
            let store = stores[t % 3].clone();
            std::thread::spawn(move || {
                (0..10)
                    .filter(|i| {
                        store
                            .consume_budget("isolate", "agent:responder", 1_000 + i, 0, 25)
                            .unwrap()
                    })
                    .count()
            })
        })
        .collect();
    let counted: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(counted, 25);
    assert_eq!(
        stores[0]
            .budget_used("isolate", "agent:responder", 0)
            .unwrap(),
        25
    );
    assert!(
        stores[1]
            .consume_budget("isolate", "agent:triage", 2_000, 0, 25)
            .unwrap()
    );
    // The window slides: uses at or before `since` no longer count.
    let s = &stores[2];
    assert!(s.consume_budget("isolate", "session:s9", 10, 0, 2).unwrap());
    assert!(s.consume_budget("isolate", "session:s9", 20, 0, 2).unwrap());
    assert!(!s.consume_budget("isolate", "session:s9", 30, 0, 2).unwrap());
    assert_eq!(s.budget_used("isolate", "session:s9", 10).unwrap(), 1);
    assert!(
        s.consume_budget("isolate", "session:s9", 30, 10, 2)
            .unwrap()
    );
}

fn halt(scope: &str, by: &str) -> Halt {
    Halt {
        scope: scope.into(),
        set_by: by.into(),
        reason: "test".into(),
        evidence: json!({"calls": [1, 2]}),
        created_ms: 1,
        resumed_by: None,
        resume_reason: None,
        resumed_ms: None,
    }
}

/// A halt set on one replica is active on the others; racing setters store one; it is resumed
/// once, and can then be set again.
fn halts_are_shared_set_once_and_resumed_once(b: &Backend) {
    let stores = [b.open(), b.open()];
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let store = stores[t % 2].clone();
            std::thread::spawn(move || store.add_halt(&halt("global", &format!("p{t}"))).unwrap())
        })
        .collect();
    let set = handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .filter(|s| *s)
        .count();
    assert_eq!(set, 1);
    assert!(
        stores[0]
            .add_halt(&halt("agent:responder", "dana"))
            .unwrap()
    );
    let active = stores[1].active_halts().unwrap();
    let scopes: Vec<&str> = active.iter().map(|h| h.scope.as_str()).collect();
    assert_eq!(scopes, ["global", "agent:responder"], "oldest first");
    assert_eq!(active[1], halt("agent:responder", "dana"));

    let handles: Vec<_> = (0..4)
        .map(|t| {
            let store = stores[t % 2].clone();
            std::thread::spawn(move || {
                store
                    .resume_halt("global", "dana", "over", 5)
                    .unwrap()
                    .is_some()
            })
        })
        .collect();
    let resumed = handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .filter(|r| *r)
        .count();
    assert_eq!(resumed, 1);
    let lifted = stores[0]
        .resume_halt("agent:responder", "dana", "ok", 6)
        .unwrap()
        .unwrap();
    assert_eq!(lifted.resumed_by.as_deref(), Some("dana"));
    assert_eq!(lifted.resume_reason.as_deref(), Some("ok"));
    assert_eq!(lifted.resumed_ms, Some(6));
    assert_eq!(lifted.evidence, json!({"calls": [1, 2]}));
    assert!(stores[1].active_halts().unwrap().is_empty());
    assert!(stores[1].add_halt(&halt("global", "dana")).unwrap());
}

/// A pin set by one replica is the pin on every other; setting it again replaces it.
fn pins_are_shared_and_replaced(b: &Backend) {
    let stores = [b.open(), b.open()];
    assert_eq!(stores[0].pin("edr.get_host").unwrap(), None);
    stores[0]
        .set_pin("edr.get_host", "sha256:aa", "first-use", 1)
        .unwrap();
    assert_eq!(
        stores[1].pin("edr.get_host").unwrap().as_deref(),
        Some("sha256:aa")
    );
    stores[1]
        .set_pin("edr.get_host", "sha256:bb", "dana", 2)
        .unwrap();
    assert_eq!(
        stores[0].pin("edr.get_host").unwrap().as_deref(),
        Some("sha256:bb")
    );
    assert_eq!(
        b.open().pin("edr.get_host").unwrap().as_deref(),
        Some("sha256:bb")
    );
}

fn taint(agent: &str, session: &str, level: i64, at_ms: i64, until_ms: i64) -> AgentTaint {
    AgentTaint {
        agent: agent.into(),
        session: session.into(),
        level,
        source: "mail.read_message".into(),
        at_ms,
        until_ms,
    }
}

/// Taint raised in one session on one replica is the agent's on every replica, whatever
/// session it calls from, until it expires; the highest level wins; a human's clear stops the
/// record it names and the agent's older ones, never one stored after, and a later read taints
/// again.
fn taint_follows_the_agent_across_sessions_and_replicas(b: &Backend) {
    let stores = [b.open(), b.open()];
    assert_eq!(stores[0].agent_taint("responder", 1_000).unwrap(), None);
    assert!(
        stores[0]
            .tainted_agents(1_000, None, 100)
            .unwrap()
            .is_empty()
    );

    // Read in session A on one replica; the lookup takes no session, so any session of the
    // agent, on any replica, sees it.
    let a = taint("responder", "sess-a", 60, 1_000, 11_000);
    let first = stores[0].raise_agent_taint(&a).unwrap();
    assert_eq!(
        stores[1].agent_taint("responder", 1_500).unwrap(),
        Some(a.clone())
    );
    assert_eq!(stores[1].agent_taint("triage", 1_500).unwrap(), None);
    // It counts until `until_ms`, not at it.
    assert_eq!(
        stores[1].agent_taint("responder", 10_999).unwrap(),
        Some(a.clone())
    );
    assert_eq!(stores[1].agent_taint("responder", 11_000).unwrap(), None);

    // The highest level in force wins, whatever came later; among equals, the latest.
    let low = taint("responder", "sess-b", 30, 2_000, 20_000);
    let high = taint("responder", "sess-b", 90, 3_000, 8_000);
    let tie = taint("responder", "sess-c", 30, 5_000, 20_000);
    let numbers: Vec<TaintRecord> = [&low, &high, &tie]
        .into_iter()
        .map(|t| stores[1].raise_agent_taint(t).unwrap())
        .collect();
    // Numbered as stored, whichever replica stored them.
    assert!(numbers.windows(2).all(|w| w[0] < w[1]) && first < numbers[0]);
    let newest = numbers[2];
    let at = |now| stores[0].agent_taint("responder", now).unwrap();
    // A read stamped after `now` (a replica whose clock runs ahead) counts already: taint is
    // never ignored for a clock.
    assert_eq!(at(2_500), Some(high.clone()));
    assert_eq!(at(4_000), Some(high.clone()));
    assert_eq!(at(8_000), Some(a.clone()), "the 90 expired");
    assert_eq!(at(12_000), Some(tie.clone()), "two 30s: the later");

    let other = taint("triage", "sess-t", 40, 1_000, 9_000);
    let triage = stores[0].raise_agent_taint(&other).unwrap();
    let shown = |t: &AgentTaint, newest, records| TaintInForce {
        taint: t.clone(),
        newest,
        records,
    };
    assert_eq!(
        stores[1].tainted_agents(4_000, None, 100).unwrap(),
        [shown(&high, newest, 4), shown(&other, triage, 1)],
        "one row per agent, by agent: the record that counts, the newest, how many"
    );
    assert_eq!(
        stores[1].tainted_agents(12_000, None, 100).unwrap(),
        vec![shown(&tie, newest, 2)],
        "the expired neither count nor are the newest"
    );
    assert_eq!(
        stores[0].taint_in_force("responder", 4_000).unwrap(),
        Some(shown(&high, newest, 4))
    );
    assert_eq!(stores[0].taint_in_force("nobody", 4_000).unwrap(), None);

    // A clear stops the record it names and the agent's older ones, on every replica.
    assert_eq!(
        stores[0]
            .clear_agent_taint("responder", newest, 6_000, "dana", "mailbox cleaned")
            .unwrap(),
        4
    );
    assert_eq!(stores[1].agent_taint("responder", 6_001).unwrap(), None);
    assert_eq!(stores[1].agent_taint("responder", 12_000).unwrap(), None);
    assert_eq!(
        stores[1].agent_taint("triage", 6_001).unwrap(),
        Some(other.clone()),
        "another agent's taint stays"
    );
    assert_eq!(
        stores[1].tainted_agents(6_001, None, 100).unwrap(),
        vec![shown(&other, triage, 1)]
    );

    // A read after the clear taints again, even one stamped before it (a replica whose clock
    // runs behind): what was stored after the record named was not cleared.
    let again = taint("responder", "sess-d", 20, 5_500, 17_000);
    let again_n = stores[1].raise_agent_taint(&again).unwrap();
    assert_eq!(
        stores[0].agent_taint("responder", 7_500).unwrap(),
        Some(again.clone())
    );
    assert_eq!(
        stores[0].tainted_agents(7_500, None, 100).unwrap(),
        [shown(&again, again_n, 1), shown(&other, triage, 1)]
    );

    // The approver was shown `again`; meanwhile the agent read an injection. The clear names
    // what was shown and stops only that: the injection read while they looked still counts.
    let injection = taint("responder", "sess-e", 95, 7_600, 17_000);
    let injection_n = stores[0].raise_agent_taint(&injection).unwrap();
    assert_eq!(
        stores[1]
            .clear_agent_taint("responder", again_n, 8_000, "bob", "checked")
            .unwrap(),
        1
    );
    assert_eq!(
        stores[0].taint_in_force("responder", 8_001).unwrap(),
        Some(shown(&injection, injection_n, 1)),
        "a record stored after the one named is not cleared"
    );
    assert_eq!(
        stores[1]
            .clear_agent_taint("responder", again_n, 8_001, "bob", "again")
            .unwrap(),
        0,
        "nothing named was in force"
    );
    assert_eq!(
        stores[1]
            .clear_agent_taint("responder", injection_n, 8_002, "bob", "reviewed")
            .unwrap(),
        1
    );
    assert_eq!(stores[0].agent_taint("responder", 8_003).unwrap(), None);

    // A clear stored before clears named records (none named) keeps its meaning: the
    // records at or before its time stop.
    stores[0]
        .raise_agent_taint(&taint("legacy", "s", 50, 1_000, 20_000))
        .unwrap();
    b.exec(
        "INSERT INTO agent_taint_clears (agent, cleared_ms, cleared_by, reason)
         VALUES ('legacy', 2000, 'dana', 'before records were named')",
    );
    assert_eq!(stores[0].agent_taint("legacy", 3_000).unwrap(), None);
    let later = taint("legacy", "s", 40, 2_500, 20_000);
    stores[0].raise_agent_taint(&later).unwrap();
    assert_eq!(stores[0].agent_taint("legacy", 3_000).unwrap(), Some(later));

    // Levels are scores: 0 and 100 are stored, anything outside is refused.
    for level in [0, 100] {
        stores[0]
            .raise_agent_taint(&taint("intake", "s", level, 1, 2))
            .unwrap();
    }
    for level in [-1, 101] {
        assert!(matches!(
            stores[0].raise_agent_taint(&taint("intake", "s", level, 1, 2)),
            Err(StoreError::Invalid(_))
        ));
    }
    // The database refuses one too, should a caller get past the check.
    let err = b.tamper(
        "INSERT INTO agent_taints (agent, session, level, source, at_ms, until_ms)
         VALUES ('x', 's', 101, 't', 1, 2)",
    );
    assert!(err.to_lowercase().contains("check"), "{err}");
}

/// Commands call the store straight from async code; the store must not mind which runtime
/// (if any) drives the calling thread.
fn the_store_can_be_called_from_async_code(b: &Backend) {
    let store = b.open();
    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let s = store.clone();
    current.block_on(async move {
        s.set_pin("edr.get_host", "sha256:aa", "test", 1).unwrap();
    });
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let s = store.clone();
    let pin = multi.block_on(async move {
        let on_worker = tokio::spawn({
            let s = s.clone();
            async move { s.pin("edr.get_host").unwrap() }
        })
        .await
        .unwrap();
        let blocking = tokio::task::spawn_blocking(move || s.pin("edr.get_host").unwrap())
            .await
            .unwrap();
        assert_eq!(on_worker, blocking);
        on_worker
    });
    assert_eq!(pin.as_deref(), Some("sha256:aa"));
    drop(current);
    drop(multi);
    // Dropped inside a runtime too.
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(async move { drop(store) });
}

fn console_session(n: u8, expires_ms: i64) -> ConsoleSessionRow {
    ConsoleSessionRow {
        key: [n; 32],
        approver_id: format!("approver-{n}"),
        approver_name: format!("Approver {n}"),
        csrf: format!("csrf-{n}"),
        expires_ms,
        mac: [n.wrapping_add(1); 32],
    }
}

/// A sign-in stored by one replica is read by another; expired sessions go at the next
/// sign-in, and at the caps (per approver, then in all) the ones that expire first make room.
fn console_sessions_are_shared_pruned_and_capped(b: &Backend) {
    let (one, two) = (b.open(), b.open());
    one.console_session_put(&console_session(1, 500), 0, 10, 10)
        .unwrap();
    assert_eq!(
        two.console_session(&[1; 32]).unwrap(),
        Some(console_session(1, 500)),
        "another replica reads it, expired or not: the caller judges"
    );
    two.console_session_put(&console_session(2, 2_000), 1_000, 10, 10)
        .unwrap();
    assert_eq!(
        one.console_session(&[1; 32]).unwrap(),
        None,
        "expired at 1000: pruned"
    );
    for n in 3..=5 {
        one.console_session_put(&console_session(n, 2_000 + i64::from(n)), 1_000, 10, 3)
            .unwrap();
    }
    let left: Vec<u8> = (2..=5)
        .filter(|n| one.console_session(&[*n; 32]).unwrap().is_some())
        .collect();
    assert_eq!(left, [3, 4, 5], "at most 3, the one expiring first went");
    assert!(two.console_session_delete(&[4; 32]).unwrap());
    assert!(!one.console_session_delete(&[4; 32]).unwrap());
    assert_eq!(one.console_session(&[4; 32]).unwrap(), None);

    // One approver signing in again and again pushes out only their own sessions.
    for n in 10..20u8 {
        let mut own = console_session(n, 3_000 + i64::from(n));
        own.approver_id = "flooder".into();
        one.console_session_put(&own, 1_000, 2, 100).unwrap();
    }
    let flooder: Vec<u8> = (10..20)
        .filter(|n| one.console_session(&[*n; 32]).unwrap().is_some())
        .collect();
    assert_eq!(flooder, [18, 19], "the flooder's newest two");
    assert!(
        one.console_session(&[3; 32]).unwrap().is_some(),
        "the others stay"
    );
    assert!(one.console_session(&[5; 32]).unwrap().is_some());
}

/// The migrations each backend applies, in order: one numbered list, where PostgreSQL's first
/// schema covers SQLite's first three steps (its files for 0002 and 0003 say so).
fn applied_steps(b: &Backend) -> Vec<&'static str> {
    let mut steps = vec![
        "0001_initial",
        "0002_ledger",
        "0003_halts",
        "0004_ledger_leaves_kind",
        "0005_agent_taints",
        "0006_pending_revision",
        "0007_leaf_mac",
        "0008_console_sessions",
        "0009_pending_waiting",
        "0010_taint_clear_record",
        "0011_pending_lookup",
        "0012_ledger_session_order",
        "0013_pending_search",
        "0014_listing_indexes",
    ];
    if let Backend::Postgres { .. } = b {
        steps.retain(|s| !["0002_ledger", "0003_halts"].contains(s));
    } else {
        steps.retain(|s| *s != "0012_ledger_session_order");
    }
    steps
}

/// Undoes the steps this backend ran after `name`, as a database from before them is: their
/// changes and their records. Returns how many.
fn undo_steps_after(b: &Backend, name: &str) -> u32 {
    let later: Vec<&str> = applied_steps(b)
        .into_iter()
        .skip_while(|s| *s != name)
        .skip(1)
        .collect();
    for step in &later {
        match *step {
            "0012_ledger_session_order" => b.exec(
                "DROP INDEX ledger_leaves_session_order;
                 CREATE INDEX ledger_leaves_session ON ledger_leaves(session);",
            ),
            "0013_pending_search" => b.exec("ALTER TABLE pending DROP COLUMN search;"),
            "0014_listing_indexes" => b.exec(
                "DROP INDEX ledger_leaves_decision;
                 DROP INDEX ledger_leaves_time;
                 DROP INDEX halts_active_order;",
            ),
            other => panic!("say here how to undo step {other}"),
        }
        b.exec(&format!(
            "DELETE FROM warden_migrations WHERE name = '{step}';"
        ));
    }
    u32::try_from(later.len()).unwrap()
}

/// A database made before the migrations' digests were recorded (no `warden_migrations`), and
/// one a step or two behind, open as before and have their steps recorded; a database whose
/// recorded step differs from the shipped one, or that is newer than this build, is refused
/// and left as it was.
fn the_schema_history_keeps_old_databases_and_refuses_an_edited_step(b: &Backend) {
    let steps = applied_steps(b);
    let latest = steps.len();
    let recorded = "SELECT name FROM warden_migrations ORDER BY name";
    drop(b.open());
    assert_eq!(b.column(recorded), steps);
    assert_eq!(b.schema_version(), latest.to_string());

    // As an earlier warden left it: the steps from 0010 on not applied, no digests kept.
    let undone = undo_steps_after(b, "0011_pending_lookup");
    b.exec(
        "DROP TABLE warden_migrations;
         ALTER TABLE agent_taint_clears DROP COLUMN through_record;
         DROP INDEX pending_binding;
         DROP INDEX pending_due;",
    );
    for column in [
        "principal",
        "session",
        "tool",
        "args_digest",
        "policy_version",
        "category",
        "expires_ms",
        "escalated",
    ] {
        b.exec(&format!("ALTER TABLE pending DROP COLUMN {column};"));
    }
    b.set_schema_version(u32::try_from(latest).unwrap() - 2 - undone);
    let store = b.open();
    assert_eq!(b.schema_version(), latest.to_string());
    assert_eq!(b.column(recorded), steps, "every applied step is recorded");
    let record = store
        .raise_agent_taint(&taint("responder", "s", 50, 1, 10_000))
        .unwrap();
    assert_eq!(
        store
            .clear_agent_taint("responder", record, 2, "dana", "migrated")
            .unwrap(),
        1
    );
    drop(store);

    // An applied step that is not the shipped text.
    b.exec("UPDATE warden_migrations SET sha256 = '00' WHERE name = '0004_ledger_leaves_kind'");
    let err = b.try_open().err().expect("an edited step is refused");
    assert!(
        matches!(&err, StoreError::Schema(SchemaError::Changed { name, .. })
            if name == "0004_ledger_leaves_kind"),
        "{err}"
    );
    assert!(
        err.to_string().contains("`0004_ledger_leaves_kind`"),
        "{err}"
    );
    assert_eq!(
        b.column("SELECT sha256 FROM warden_migrations WHERE name = '0004_ledger_leaves_kind'"),
        ["00"]
    );
    b.exec("DELETE FROM warden_migrations WHERE name = '0004_ledger_leaves_kind'");
    drop(b.open());

    // A database a newer warden migrated further.
    b.set_schema_version(u32::try_from(latest).unwrap() + 1);
    let err = b.try_open().err().expect("a newer schema is refused");
    assert!(
        matches!(err, StoreError::Schema(SchemaError::Newer { .. })),
        "{err}"
    );
}

/// A leaf deleted from the middle of the ledger is found by every walk over the stored leaves
/// (one pager), and named the same way: the writer refuses to open, a proof's tree is refused,
/// and the audit reports it as a finding of the chain, where the log stops.
fn a_missing_leaf_is_named_the_same_way_by_every_walk(b: &Backend) {
    let (store, verifier) = signed_ledger(b, 10);
    b.attack("DELETE FROM ledger_leaves WHERE idx = 4;");
    let missing = "leaf 4 is missing from the store";
    let err = tree_of(store.as_ref(), 10).unwrap_err();
    assert!(
        matches!(&err, LedgerError::Proof(m) if m.contains(missing)),
        "{err}"
    );
    let err = prove(store.as_ref(), &verifier, 7).unwrap_err();
    assert!(err.to_string().contains(missing), "{err}");
    let err = Ledger::open(b.open(), &settings(b.dir())).err().unwrap();
    assert!(
        matches!(&err, LedgerError::Diverged(m) if m.contains(missing)),
        "{err}"
    );
    let report = verify_store(store.as_ref(), &verifier, Some(&leaf_key(b.dir()))).unwrap();
    assert!(!report.log.is_clean(), "{:?}", report.log);
    assert_eq!(report.log.leaves, 4, "the chain holds up to the gap");
}

/// On PostgreSQL, someone with the tables' login drops the primary key and stores a second
/// copy of a leaf past the last checkpoint (and could append forged rows after it). The audit
/// reads the rows as stored and names the duplicate, rather than ending its walk there and
/// reporting the leaves before it as a clean log.
#[test]
fn postgres_a_duplicated_leaf_is_named_by_the_audit() {
    let b = Backend::postgres();
    let (store, verifier) = signed_ledger(&b, 10);
    b.attack(
        "ALTER TABLE ledger_leaves DROP CONSTRAINT ledger_leaves_pkey;
         INSERT INTO ledger_leaves SELECT * FROM ledger_leaves WHERE idx = 9;",
    );
    let report = verify_store(store.as_ref(), &verifier, Some(&leaf_key(b.dir()))).unwrap();
    assert!(
        matches!(
            report.log.finding,
            Some(warden_ledger::audit::Finding::DuplicateLeaf { .. })
        ),
        "{:?}",
        report.log
    );
}

fn step(request: &str, step: &str) -> AuditEvent {
    let mut e = AuditEvent::new(EventKind::Approval, 2_000);
    e.principal = Some("responder".into());
    e.session = Some("s1".into());
    e.tool = Some("idp.disable_account".into());
    e.request_id = Some(request.into());
    e.detail = Some(json!({"step": step, "approver": "bob"}));
    e
}

/// A held call's steps are found by its request's id (what the console's recent page shows,
/// and what the gate proves an approval from), however many approval events of the same agent,
/// session and tool were recorded between the hold and its answer; another replica opening
/// the same store finds the same.
fn a_requests_steps_are_found_by_its_id_behind_any_number_of_others(b: &Backend) {
    let store = b.open();
    let ledger = Ledger::open(store.clone(), &settings(b.dir())).unwrap();
    let asked = ledger.append(&step("apr_first", "asked")).unwrap();
    for i in 0..300 {
        ledger
            .append(&step(&format!("apr_{i:03}"), "asked"))
            .unwrap();
    }
    let approved = ledger.append(&step("apr_first", "approved")).unwrap();
    let executed = ledger.append(&step("apr_first", "executed")).unwrap();
    let replica = Ledger::open(b.open(), &settings(b.dir())).unwrap();
    for l in [&ledger, &replica] {
        let found: Vec<(u64, String)> = l
            .recorded_steps("apr_first")
            .unwrap()
            .iter()
            .map(|a| {
                let step = a.event().detail.as_ref().unwrap()["step"].as_str().unwrap();
                (a.entry().index, step.to_string())
            })
            .collect();
        assert_eq!(
            found,
            [
                (asked, "asked".to_string()),
                (approved, "approved".to_string()),
                (executed, "executed".to_string())
            ]
        );
    }
}

fn searched(store: &dyn Store, text: &str) -> (Vec<String>, u64) {
    let filter = RequestFilter {
        statuses: vec![ApprovalStatus::Pending],
        text: Some(text.into()),
        ..RequestFilter::default()
    };
    let ids = store
        .requests(&filter)
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    (ids, store.count_requests(&filter).unwrap())
}

/// The text search of waiting requests runs in the store, the same on every backend: `%`, `_`
/// and the escape character `\` in an attacker's search text stand for themselves; case is
/// ignored beyond ASCII, as Rust lower-cases; a NUL in what an agent wrote neither breaks the
/// write nor the search; answered requests are not searched; the count is the store's and
/// agrees with what it returns, and the matches are read page by page.
fn the_text_search_of_requests_takes_the_text_literally_and_counts_in_the_store(b: &Backend) {
    let store = b.open();
    let notes = [
        "100%_done",
        "1000 done",
        "10x0d",
        r"C:\Temp\_x",
        "a_x",
        "ÉCLAIR",
        "nul \0 here",
    ];
    for (i, note) in notes.iter().enumerate() {
        let mut r = request(&format!("apr{i}"));
        r.status = ApprovalStatus::Pending;
        r.created_ms = i as i64;
        r.args = json!({"note": note});
        // The agent's own text holds the NUL as is (the arguments as JSON escape it).
        r.rationale = Some(if note.contains('\0') {
            note.to_string()
        } else {
            format!("Step {i}")
        });
        store.create_pending(&r).unwrap();
    }
    let mut answered = request("apr-answered");
    answered.status = ApprovalStatus::Denied;
    answered.args = json!({"note": "100%_done"});
    store.create_pending(&answered).unwrap();
    let one = |id: &str| (vec![id.to_string()], 1);
    assert_eq!(searched(store.as_ref(), "0%_d"), one("apr0"));
    assert_eq!(searched(store.as_ref(), "%"), one("apr0"));
    assert_eq!(searched(store.as_ref(), r"\_x"), one("apr3"));
    assert_eq!(searched(store.as_ref(), "éclair"), one("apr5"));
    assert_eq!(searched(store.as_ref(), "Éclair"), one("apr5"));
    assert_eq!(searched(store.as_ref(), "step 4"), one("apr4"));
    assert_eq!(searched(store.as_ref(), "\0"), one("apr6"));
    assert_eq!(searched(store.as_ref(), "no such text").1, 0);
    // `_` is in every tool name here: every waiting request, none answered.
    assert_eq!(searched(store.as_ref(), "_").1, notes.len() as u64);
    // Page by page, and the count wherever the page starts.
    let filter = RequestFilter {
        statuses: vec![ApprovalStatus::Pending],
        text: Some("isolate_HOST".into()),
        ..RequestFilter::default()
    };
    let first = requests_page(store.as_ref(), &filter, None, PageSize::new(4).unwrap()).unwrap();
    let second = requests_page(
        store.as_ref(),
        &filter,
        first.next.as_ref(),
        PageSize::new(4).unwrap(),
    )
    .unwrap();
    let ids: Vec<String> = first
        .rows
        .iter()
        .chain(&second.rows)
        .map(|r| r.id.clone())
        .collect();
    assert_eq!(
        ids,
        (0..notes.len())
            .map(|i| format!("apr{i}"))
            .collect::<Vec<_>>()
    );
    assert!(second.next.is_none());
    assert_eq!(
        store
            .count_requests(&RequestFilter {
                after: Some(WaitingAfter::of(&first.rows[3])),
                limit: Some(1),
                ..filter
            })
            .unwrap(),
        notes.len() as u64
    );
    // An answer rewrites the search with the request: once denied it is not found.
    let mut r = store.pending_request("apr0").unwrap().unwrap();
    r.status = ApprovalStatus::Denied;
    assert!(store.update_pending(&r).unwrap());
    assert_eq!(searched(store.as_ref(), "0%_d").1, 0);
}

/// Requests stored before the search column existed are found by the search once the schema
/// is migrated: the step fills the column from each body.
fn requests_stored_before_their_search_column_are_found(b: &Backend) {
    let store = b.open();
    let mut r = request("apr_s1");
    r.status = ApprovalStatus::Pending;
    r.rationale = Some("Host ÉCLAIR-7 beacons".into());
    store.create_pending(&r).unwrap();
    drop(store);
    // As the earlier warden stored it: no search column, the step not applied (nor any after).
    let later = undo_steps_after(b, "0013_pending_search");
    b.exec(
        "ALTER TABLE pending DROP COLUMN search;
         DELETE FROM warden_migrations WHERE name = '0013_pending_search';",
    );
    let latest = u32::try_from(applied_steps(b).len()).unwrap();
    b.set_schema_version(latest - 1 - later);
    let store = b.open();
    assert_eq!(b.schema_version(), latest.to_string());
    assert_eq!(
        searched(store.as_ref(), "éclair-7"),
        (vec!["apr_s1".to_string()], 1)
    );
}

/// Issue 18: a leaf whose stored hash was cut short is a corrupt record, not a database that
/// cannot answer: reading it fails as permanent, and again the same way.
fn a_corrupt_leaf_fails_the_same_way_every_time(b: &Backend) {
    let (store, _) = signed_ledger(b, 3);
    b.attack(&format!(
        "UPDATE ledger_leaves SET leaf_hash = {} WHERE idx = 1;",
        b.blob(&[0])
    ));
    for _ in 0..2 {
        let e = store.ledger_leaves(0, 3).unwrap_err();
        assert_eq!(e.transience(), Transience::Permanent, "{e}");
    }
    assert_eq!(
        store.ledger_size().unwrap(),
        3,
        "the rest of the store answers"
    );
}

/// Issue 18: PostgreSQL stops taking connections to warden's database and cuts the ones it
/// has (what a stopped or failing-over server looks like to a replica). The operation fails
/// as transient — the same operation may succeed later — and once connections are allowed
/// again it does, on the same store, without a restart.
#[test]
fn postgres_a_database_that_refuses_connections_fails_transiently_and_recovers() {
    let b = Backend::postgres();
    let store = b.open();
    assert!(store.active_halts().unwrap().is_empty());
    let Backend::Postgres { _db: db, .. } = &b else {
        unreachable!()
    };
    let name = db.name.clone();
    b.administer(&format!(
        "ALTER DATABASE {name} ALLOW_CONNECTIONS false;
         SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}';"
    ));
    let e = store.active_halts().unwrap_err();
    assert_eq!(e.transience(), Transience::Transient, "{e}");

    b.administer(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"));
    assert!(store.active_halts().unwrap().is_empty());
}
