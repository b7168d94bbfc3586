//! `warden review sample` draws from a ledger of several pages of decisions, on SQLite and on a
//! real PostgreSQL server: the streaming draw, which holds the sample and never every decision,
//! chooses exactly what the in-memory draw over every decision chooses, and the same checkpoint
//! gives the same sample after the ledger has grown.
//!
//! PostgreSQL comes from `WARDEN_TEST_PG_URL` (and `WARDEN_TEST_PG_PASSWORD`); `./scripts/test`
//! starts a throwaway server and sets both. Without them the PostgreSQL half fails: it never
//! skips.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use warden_core::{AuditEvent, EventKind};
use warden_gateway::review::{
    Candidate, Drawn, Population, SAMPLE_PAGE, Stratum, draw, sample, seed, stratum_outcome,
};
use warden_store::ledger::{prepare, read_events};
use warden_store::{
    EventFilter, Ledger, LedgerSettings, PostgresOptions, PostgresStore, PostgresTls, SqliteStore,
    Store,
};

/// A fresh database on the test server, dropped afterwards.
struct TestDatabase {
    admin: postgres::Config,
    name: String,
    options: PostgresOptions,
}

impl TestDatabase {
    fn create() -> Self {
        let url = std::env::var("WARDEN_TEST_PG_URL").unwrap_or_else(|_| {
            panic!(
                "the PostgreSQL half needs a server: set WARDEN_TEST_PG_URL (and \
                 WARDEN_TEST_PG_PASSWORD), or run ./scripts/test, which starts one"
            )
        });
        let password = std::env::var("WARDEN_TEST_PG_PASSWORD").ok();
        let mut admin: postgres::Config = url.parse().unwrap();
        if let Some(p) = &password {
            admin.password(p);
        }
        let name = format!(
            "warden_review_{}_{:016x}",
            std::process::id(),
            rand::random::<u64>()
        );
        admin
            .connect(postgres::NoTls)
            .unwrap()
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let (base, _) = url.rsplit_once('/').unwrap();
        Self {
            admin,
            options: PostgresOptions {
                url: format!("{base}/{name}"),
                password,
                pool_size: 4,
                tls: PostgresTls::Off,
            },
            name,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Ok(mut c) = self.admin.connect(postgres::NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

const CATEGORIES: [&str; 3] = ["triage", "containment", "identity"];

fn decision(i: u64, time_ms: i64) -> AuditEvent {
    let mut e = AuditEvent::new(EventKind::Decision, time_ms);
    e.principal = Some("responder".into());
    e.session = Some("s1".into());
    e.tool = Some("edr.isolate_host".into());
    e.category = Some(CATEGORIES[(i % 3) as usize].into());
    e.args = Some(json!({"host": format!("ws-{i:04}")}));
    e.decision = Some(
        match i % 7 {
            0 | 1 => "hold",
            2 => "deny",
            _ => "allow",
        }
        .into(),
    );
    if e.decision.as_deref() == Some("hold") {
        e.request_id = Some(format!("apr_{i:04}"));
    }
    e
}

fn step(request: &str, step: &str, time_ms: i64) -> AuditEvent {
    let mut e = AuditEvent::new(EventKind::Approval, time_ms);
    e.principal = Some("responder".into());
    e.session = Some("s1".into());
    e.tool = Some("edr.isolate_host".into());
    e.request_id = Some(request.into());
    e.detail = Some(json!({"step": step, "approver": "bob"}));
    e
}

/// The ledger as a long-lived deployment leaves it: decisions over several pages, held calls
/// asked, approved (and their retries run), denied, expired, left waiting; the first decisions
/// before the review window.
fn events(from: u64, to: u64) -> Vec<AuditEvent> {
    let mut out = Vec::new();
    for i in from..to {
        let time_ms = 1_000 + i as i64;
        let d = decision(i, time_ms);
        let request = d.request_id.clone();
        out.push(d);
        let Some(request) = request else { continue };
        out.push(step(&request, "asked", time_ms));
        match i % 5 {
            0 => {
                out.push(step(&request, "approved", time_ms));
                // The retry that ran: a decision on the same request, after its approval.
                let mut retry = decision(i, time_ms);
                retry.args = Some(json!({"host": format!("ws-{i:04}"), "retry": true}));
                out.push(retry);
                out.push(step(&request, "executed", time_ms));
            }
            1 => out.push(step(&request, "denied", time_ms)),
            2 => out.push(step(&request, "expired", time_ms)),
            3 => {
                out.push(step(&request, "approved", time_ms));
                out.push(step(&request, "expired", time_ms));
            }
            _ => {} // still waiting
        }
    }
    out
}

fn append(store: &dyn Store, ledger: &Ledger, events: &[AuditEvent]) {
    for batch in events.chunks(250) {
        let leaves: Vec<_> = batch.iter().map(|e| prepare(e).unwrap()).collect();
        store.ledger_append(&leaves, ledger.leaf_key()).unwrap();
    }
}

/// The draw as `warden review sample` made it before it read a page at a time: every decision
/// and every approval step into memory, then [`draw`] over them all.
fn in_memory(
    store: &dyn Store,
    population: &Population,
    seed: &[u8; 32],
    size: u32,
    rate: Option<f64>,
) -> (usize, BTreeMap<Stratum, Drawn>) {
    let decisions = read_events(
        store,
        &EventFilter {
            kind: Some(EventKind::Decision.as_str().into()),
            since_ms: Some(population.since_ms),
            until_ms: Some(population.until_ms),
            ..EventFilter::default()
        },
    )
    .unwrap();
    let answers = read_events(
        store,
        &EventFilter {
            kind: Some(EventKind::Approval.as_str().into()),
            ..EventFilter::default()
        },
    )
    .unwrap();
    let mut fate: BTreeMap<String, String> = BTreeMap::new();
    for e in answers.iter().filter(|e| e.index < population.size) {
        let step = e.event.detail.as_ref().and_then(|d| d["step"].as_str());
        if let (Some(id), Some(step @ ("approved" | "denied" | "expired"))) =
            (&e.event.request_id, step)
        {
            fate.insert(id.clone(), step.to_string());
        }
    }
    let inside: Vec<_> = decisions
        .iter()
        .filter(|e| e.index < population.size)
        .collect();
    let candidates: Vec<Candidate> = inside
        .iter()
        .map(|e| Candidate {
            index: e.index,
            stratum: (
                e.event.category.clone().unwrap_or_default(),
                stratum_outcome(
                    e.event.decision.as_deref().unwrap_or_default(),
                    e.event
                        .request_id
                        .as_ref()
                        .and_then(|r| fate.get(r))
                        .map(String::as_str),
                ),
            ),
        })
        .collect();
    (inside.len(), draw(seed, &candidates, size, rate))
}

fn the_streaming_draw_is_the_in_memory_draw(store: Arc<dyn Store>, dir: &std::path::Path) {
    let ledger = Ledger::open(
        store.clone(),
        &LedgerSettings {
            key_path: dir.join("ledger.key"),
            origin: "warden.test/review".into(),
            checkpoint_interval: Duration::from_secs(3600),
            defer_within: warden_store::DEFER_WITHIN,
            witnesses: Vec::new(),
            pinned: None,
        },
    )
    .unwrap();
    let first = events(0, 1_400);
    append(store.as_ref(), &ledger, &first);
    let cp = ledger.checkpoint().unwrap().unwrap();
    // Answers given after the checkpoint (its held calls stay `held` in its sample) and more
    // decisions, past it.
    let mut later: Vec<AuditEvent> = (0..1_400)
        .filter(|i| decision(*i, 0).request_id.is_some() && i % 5 == 4)
        .take(40)
        .map(|i| step(&format!("apr_{i:04}"), "approved", 9_000))
        .collect();
    later.extend(events(1_400, 1_700));
    append(store.as_ref(), &ledger, &later);
    assert!(ledger.checkpoint().unwrap().unwrap().size > cp.size);

    let population = Population {
        size: cp.size,
        since_ms: 1_100,
        until_ms: cp.time_ms,
    };
    let seed = seed(cp.size, &cp.root.0);
    for (size, rate) in [(5, None), (1, None), (40, None), (5, Some(0.1))] {
        let streamed = sample(store.as_ref(), &population, &seed, size, rate).unwrap();
        let (population_in_memory, drawn) =
            in_memory(store.as_ref(), &population, &seed, size, rate);
        assert_eq!(
            streamed.strata, drawn,
            "size {size} rate {rate:?}: the streaming draw chose otherwise"
        );
        assert_eq!(streamed.population, population_in_memory);
        assert!(
            streamed.population > 2 * SAMPLE_PAGE,
            "several pages of decisions"
        );
        // Every stratum is there: the fates before the checkpoint and the calls still held.
        let strata: Vec<&str> = drawn
            .keys()
            .filter(|(c, _)| c == "identity")
            .map(|(_, o)| o.as_str())
            .collect();
        assert_eq!(
            strata,
            ["allow", "approved", "denied", "deny", "expired", "held"]
        );
        // The chosen decisions come with their entries, and nothing else is held.
        let chosen: Vec<u64> = streamed
            .strata
            .values()
            .flat_map(|d| d.chosen.iter().copied())
            .collect();
        let mut sorted = chosen.clone();
        sorted.sort_unstable();
        assert_eq!(streamed.chosen.keys().copied().collect::<Vec<_>>(), sorted);
        // Reproducible: the same checkpoint, drawn again, gives the same sample.
        let again = sample(store.as_ref(), &population, &seed, size, rate).unwrap();
        assert_eq!(again.strata, streamed.strata);
    }
}

#[test]
fn sqlite_the_streaming_draw_is_the_in_memory_draw() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("w.db")).unwrap());
    the_streaming_draw_is_the_in_memory_draw(store, dir.path());
}

#[test]
fn postgres_the_streaming_draw_is_the_in_memory_draw() {
    let db = TestDatabase::create();
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(PostgresStore::open(&db.options).unwrap());
    the_streaming_draw_is_the_in_memory_draw(store, dir.path());
}
