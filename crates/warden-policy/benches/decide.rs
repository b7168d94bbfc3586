//! A policy decision with 10, 100 and 1,000 Cedar policies, and canonical argument hashing.
//!
//! `cargo bench -p warden-policy --bench decide`. The policies are the example SOC set plus
//! generated argument-scoped rules (one per fictional host) of the same shape as the real ones,
//! so the evaluator does the work a large deployment would make it do.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use criterion::{BenchmarkId, Criterion, black_box, criterion_group, criterion_main};
use serde_json::{Map, Value, json};
use warden_core::{ArgsDigest, Principal, ToolName};
use warden_policy::{CallState, Config};

#[path = "../tests/support/mod.rs"]
mod support;

fn config_with(n: usize) -> (tempfile::TempDir, Config) {
    let base = std::fs::read_to_string(support::example_dir().join("policies/soc.cedar")).unwrap();
    let base_count = base.matches("@id(").count();
    let mut extra = String::new();
    for i in 0..n.saturating_sub(base_count) {
        extra.push_str(&format!(
            "@id(\"generated-{i}\")\nforbid (principal, action == Action::\"edr.isolate_host\", resource)\n\
             when {{ context.args has reason && context.args.reason == \"generated reason {i}\" && context.session.taint_level > {} }};\n",
            50 + i % 50
        ));
    }
    support::example_with(&extra)
}

fn args(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("decide");
    for n in [10usize, 100, 1000] {
        let (_dir, config) = config_with(n);
        let principal = Principal("responder".into());
        let tool = ToolName::new("edr", "isolate_host");
        let a =
            args(json!({"host": "ws-042", "incident": "INC-1042", "reason": "credential theft"}));
        let state = CallState {
            now: 1_767_225_600,
            ..CallState::default()
        };
        assert_eq!(
            config
                .engine
                .decide(&principal, &tool, &a, "s", &state)
                .outcome(),
            warden_core::Outcome::Allow
        );
        g.bench_with_input(
            BenchmarkId::new("isolate_host", config.engine.rule_count()),
            &n,
            |b, _| {
                b.iter(|| {
                    config
                        .engine
                        .decide(black_box(&principal), &tool, black_box(&a), "s", &state)
                })
            },
        );
    }
    g.finish();
    let a = json!({"host": "ws-042", "incident": "INC-1042", "reason": "credential theft", "note": "x".repeat(200)});
    c.bench_function("args_digest", |b| b.iter(|| ArgsDigest::of(black_box(&a))));
}

criterion_group!(benches, bench);
criterion_main!(benches);
