//! Throughput of leaf hashing, tree building and log auditing at one million leaves, and the
//! cost of encoding one decision as a leaf (what every governed call pays before its append).
//!
//! The target: hashing and building the tree of 1,000,000 leaves in well under two seconds.

#![expect(
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "benchmark setup on fixed data: a failure must stop the run"
)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::SigningKey;
use serde_json::json;
use warden_core::event::{AuditEvent, EventKind};
use warden_ledger::{
    Checkpoint, CheckpointVerifier, Hash, MerkleTree, NoteSigner, StoredLeaf, leaf_hash,
    root_from_leaves, verify_inclusion, verify_log,
};

const LEAVES: usize = 1_000_000;
/// A typical encoded audit record is a few hundred bytes.
const ENTRY_LEN: usize = 256;
const CHECKPOINT_EVERY: usize = 10_000;

fn entries() -> Vec<Vec<u8>> {
    (0..LEAVES)
        .map(|i| {
            let mut entry = vec![0u8; ENTRY_LEN];
            for (j, byte) in entry.iter_mut().enumerate() {
                *byte = (i.wrapping_mul(31).wrapping_add(j * 7) & 0xff) as u8;
            }
            entry
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let entries = entries();
    let hashes: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();

    let mut group = c.benchmark_group("1M leaves");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(LEAVES as u64));

    group.bench_function("leaf_hash (256-byte entries)", |b| {
        b.iter(|| {
            entries
                .iter()
                .map(|e| leaf_hash(black_box(e)))
                .collect::<Vec<_>>()
        });
    });
    group.bench_function("root_from_leaves", |b| {
        b.iter(|| root_from_leaves(black_box(&hashes)));
    });
    group.bench_function("hash leaves + root_from_leaves", |b| {
        b.iter(|| {
            let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(black_box(e))).collect();
            root_from_leaves(&leaves)
        });
    });
    group.bench_function("MerkleTree::push all", |b| {
        b.iter(|| MerkleTree::from_leaf_hashes(black_box(&hashes).iter().copied()).root());
    });

    let signer = NoteSigner::new("bench.example/log", SigningKey::from_bytes(&[7u8; 32]))
        .expect("fixed benchmark data");
    let tree = MerkleTree::from_leaf_hashes(hashes.iter().copied());
    let checkpoints: Vec<String> = (1..=LEAVES / CHECKPOINT_EVERY)
        .map(|n| {
            let size = (n * CHECKPOINT_EVERY) as u64;
            let root = tree.root_at(size).expect("fixed benchmark data");
            Checkpoint::new("bench.example/log", size, root)
                .sign(&signer)
                .expect("fixed benchmark data")
                .into_parts()
                .1
        })
        .collect();
    let verifier = CheckpointVerifier::for_key(signer.verifier_key());
    group.bench_function("verify_log (100 checkpoints)", |b| {
        b.iter(|| {
            let leaves = entries
                .iter()
                .zip(&hashes)
                .enumerate()
                .map(|(i, (e, h))| StoredLeaf {
                    index: i as u64,
                    data: e.as_slice(),
                    leaf_hash: *h,
                });
            let report = verify_log(leaves, &checkpoints, &verifier);
            assert!(report.is_clean());
            report
        });
    });
    group.finish();

    let size = LEAVES as u64;
    let root = tree.root();
    let proof = tree
        .inclusion_proof(123_456, size)
        .expect("fixed benchmark data");
    let leaf = hashes[123_456];
    c.bench_function("verify_inclusion (1M-leaf tree)", |b| {
        b.iter(|| verify_inclusion(black_box(&leaf), 123_456, size, &proof, &root));
    });
    c.bench_function("inclusion_proof (1M-leaf tree)", |b| {
        b.iter(|| tree.inclusion_proof(black_box(123_456), size));
    });
}

/// An allowed decision as the pipeline records it: the call's arguments (sealed), their digest,
/// the matched rule and its owner.
fn decision() -> AuditEvent {
    let args = json!({"alert_id": "ALR-1001", "fields": ["host", "user", "severity"]});
    let mut e = AuditEvent::new(EventKind::Decision, 1_764_700_000_000);
    e.principal = Some("triage".into());
    e.session = Some("5f0c7e1a-2b9d-4c3e-8a61-0d2f4b7c9e15".into());
    e.tool = Some("siem.get_alert".into());
    e.args_digest = Some(warden_core::ArgsDigest::of(&args).0);
    e.args = Some(args);
    e.decision = Some("allow".into());
    e.rule = Some("read-only-tools".into());
    e.owner = Some("soc-lead@example.org".into());
    e.category = Some("read".into());
    e.reason = Some("permitted by read-only-tools".into());
    e.policy_version = Some("sha256:3b8e0c1d".into());
    e.rationale = Some("triaging the alert the analyst assigned".into());
    e
}

fn encode(c: &mut Criterion) {
    let event = decision();
    let mut rng = rand::thread_rng();
    c.bench_function("leaf encode (a decision)", |b| {
        b.iter(|| warden_ledger::leaf::encode(black_box(&event), &mut rng));
    });
}

criterion_group!(benches, bench, encode);
criterion_main!(benches);
