//! Ledger throughput on a real SQLite file: durable appends per second with group commit, and
//! the time to verify a ledger of 1,000,000 events.
//!
//! `cargo bench -p warden-store --bench ledger`. The store lives in a temporary folder
//! (`WARDEN_BENCH_DIR` to choose the disk); `WARDEN_BENCH_VERIFY_EVENTS` sets the size of the
//! verified ledger (default 1,000,000). With `WARDEN_BENCH_PG_URL` (an empty database; the
//! password in `WARDEN_BENCH_PG_PASSWORD`) the appends run on PostgreSQL instead:
//! `cargo bench -p warden-store --bench ledger -- ledger_durable_append` (the verify benchmark
//! needs a database of its own). `WARDEN_BENCH_WITHOUT_LISTING_INDEXES=1` drops the two ledger
//! indexes that only listings read (`ledger_leaves_decision`, `ledger_leaves_time`) before the
//! SQLite appends, to measure what they cost each write.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use warden_core::{AuditEvent, EventKind};
use warden_store::ledger::{prepare, verify_store};
use warden_store::{Ledger, LedgerSettings, PostgresOptions, PostgresStore, SqliteStore, Store};

fn bench_dir() -> tempfile::TempDir {
    match std::env::var_os("WARDEN_BENCH_DIR") {
        Some(dir) => tempfile::tempdir_in(dir).unwrap(),
        None => tempfile::tempdir().unwrap(),
    }
}

/// A decision as the pipeline writes it: sealed arguments and rationale, policy fields.
fn decision(i: u64) -> AuditEvent {
    let mut e = AuditEvent::new(EventKind::Decision, 1_767_225_600_000 + i as i64);
    e.principal = Some(format!("agent-{}", i % 8));
    e.session = Some(format!("sess-{}", i % 64));
    e.tool = Some("edr.isolate_host".into());
    let args = json!({"host": format!("ws-{:03}", i % 500), "incident": "INC-1042"});
    e.args_digest = Some(warden_core::ArgsDigest::of(&args).0);
    e.args = Some(args);
    e.decision = Some("allow".into());
    e.rule = Some("isolate-hosts-in-open-incident".into());
    e.owner = Some("ir-oncall@northwind.example".into());
    e.category = Some("containment".into());
    e.reason = Some("permitted by `isolate-hosts-in-open-incident`".into());
    e.policy_version =
        Some("sha256:4f1d2a9b6c0e8f7a1b2c3d4e5f60718293a4b5c6d7e8f90112233445566778899".into());
    e.rationale = Some("alert ALR-2001 shows beaconing from this host".into());
    e
}

fn open(dir: &std::path::Path) -> (Arc<dyn Store>, Ledger) {
    let store: Arc<dyn Store> = match std::env::var("WARDEN_BENCH_PG_URL") {
        Ok(url) => Arc::new(
            PostgresStore::open(&PostgresOptions {
                url,
                password: std::env::var("WARDEN_BENCH_PG_PASSWORD").ok(),
                pool_size: 4,
                tls: warden_store::PostgresTls::Off,
            })
            .unwrap(),
        ),
        Err(_) => {
            let store = SqliteStore::open(&dir.join("bench.db")).unwrap();
            if std::env::var_os("WARDEN_BENCH_WITHOUT_LISTING_INDEXES").is_some() {
                // The write cost of the two ledger indexes the listings read through
                // (migration 0014): the same appends without them, to compare.
                rusqlite::Connection::open(dir.join("bench.db"))
                    .unwrap()
                    .execute_batch(
                        "DROP INDEX ledger_leaves_decision; DROP INDEX ledger_leaves_time;",
                    )
                    .unwrap();
            }
            Arc::new(store)
        }
    };
    let ledger = Ledger::open(
        store.clone(),
        &LedgerSettings {
            key_path: dir.join("ledger.key"),
            origin: "bench.warden/ledger".into(),
            checkpoint_interval: Duration::from_secs(10),
            defer_within: warden_store::DEFER_WITHIN,
            witnesses: Vec::new(),
            pinned: None,
        },
    )
    .unwrap();
    (store, ledger)
}

/// Durable appends from `appenders` threads at once; criterion reports appends per second.
fn appends(c: &mut Criterion) {
    let dir = bench_dir();
    let (_store, ledger) = open(dir.path());
    let ledger = Arc::new(ledger);
    let mut group = c.benchmark_group("ledger_durable_append");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    for appenders in [1u64, 16, 64, 256] {
        group.bench_with_input(
            BenchmarkId::new("appenders", appenders),
            &appenders,
            |b, &appenders| {
                b.iter_custom(|iters| {
                    let per = iters.div_ceil(appenders);
                    let started = Instant::now();
                    let threads: Vec<_> = (0..appenders)
                        .map(|t| {
                            let ledger = ledger.clone();
                            std::thread::spawn(move || {
                                for i in 0..per {
                                    ledger.append(&decision(t * per + i)).unwrap();
                                }
                            })
                        })
                        .collect();
                    for t in threads {
                        t.join().unwrap();
                    }
                    // Scale to the requested count: `per * appenders` may exceed `iters`.
                    started
                        .elapsed()
                        .mul_f64(iters as f64 / (per * appenders) as f64)
                });
            },
        );
    }
    group.finish();
    ledger.shutdown().unwrap();
}

/// `warden audit verify` on a ledger of 1,000,000 events with a checkpoint every 10,000.
fn verify(c: &mut Criterion) {
    let events: u64 = std::env::var("WARDEN_BENCH_VERIFY_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = bench_dir();
    let (store, ledger) = open(dir.path());
    let key =
        warden_store::ledger::read_leaf_key(&dir.path().join("ledger.key"), "bench.warden/ledger")
            .unwrap();
    let started = Instant::now();
    const BATCH: u64 = 10_000;
    let mut next = 0;
    while next < events {
        let n = BATCH.min(events - next);
        let leaves: Vec<_> = (next..next + n)
            .map(|i| prepare(&decision(i)).unwrap())
            .collect();
        store.ledger_append(&leaves, &key).unwrap();
        ledger.checkpoint().unwrap();
        next += n;
    }
    ledger.shutdown().unwrap();
    eprintln!(
        "filled a ledger of {events} events in {:.1?}",
        started.elapsed()
    );
    let verifier = ledger.verifier().clone();
    let mut group = c.benchmark_group("ledger_verify");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.throughput(Throughput::Elements(events));
    group.bench_function(BenchmarkId::new("events", events), |b| {
        b.iter(|| {
            let report = verify_store(store.as_ref(), &verifier, Some(&key)).unwrap();
            assert!(report.is_clean());
            assert_eq!(report.log.leaves, events);
        });
    });
    group.finish();
}

criterion_group!(benches, appends, verify);
criterion_main!(benches);
