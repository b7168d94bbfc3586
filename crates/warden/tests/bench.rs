//! `warden bench` in its short mode: the harness runs end to end, every call through warden is
//! an allowed, recorded decision, and the report has each figure for each path. Timings are not
//! asserted: they depend on the machine; `docs/benchmarks.md` records measured ones.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use serde_json::Value;
use std::process::Command;

/// `warden bench --quick --json` with `args`: the report, once the run succeeded.
fn bench_json(args: &[&str]) -> Value {
    let out = Command::new(common::warden_bin())
        .args(["bench", "--quick", "--json"])
        .args(args)
        .env("WARDEN_LOG", "warn")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "bench failed: {stderr}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn short_bench_reports_both_paths_and_records_every_call() {
    let report = bench_json(&["--clients", "1,8", "--calls", "120", "--warmup", "10"]);

    let levels = report["levels"].as_array().unwrap();
    assert_eq!(
        levels
            .iter()
            .map(|l| l["clients"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [1, 8]
    );
    for level in levels {
        for path in ["direct", "warden"] {
            let p = &level[path];
            assert_eq!(p["calls"], 120, "{path}: {p}");
            assert_eq!(p["errors"], 0, "{path}: {p}");
            let (p50, p99, p999) = (
                p["p50_us"].as_f64().unwrap(),
                p["p99_us"].as_f64().unwrap(),
                p["p999_us"].as_f64().unwrap(),
            );
            assert!(0.0 < p50 && p50 <= p99 && p99 <= p999, "{path}: {p}");
            assert!(p["calls_per_sec"].as_f64().unwrap() > 0.0);
            assert!(p["server_cpu_secs_per_1000"].as_f64().unwrap() >= 0.0);
            assert!(p["server_peak_rss_kib"].as_u64().unwrap() > 0);
        }
        // warden's memory is counted on its path only, so its peak is above the lab's alone.
        assert!(
            level["warden"]["server_peak_rss_kib"].as_u64()
                > level["direct"]["server_peak_rss_kib"].as_u64()
        );
        assert!(level["ratio"]["p50"].as_f64().unwrap() > 0.0);
    }
    // Every measured and warm-up call through warden is an allowed decision with an outcome,
    // and the ledger of the run verifies.
    let ledger = &report["ledger"];
    assert_eq!(ledger["verified"], true);
    assert_eq!(ledger["decisions"], 2 * (120 + 10));
    assert_eq!(ledger["outcomes"], 2 * (120 + 10));
}

#[test]
fn bench_refuses_zero_clients() {
    let out = Command::new(common::warden_bin())
        .args(["bench", "--quick", "--clients", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("`--clients`"));
}

#[test]
fn a_paced_bench_offers_the_rate_asked_for() {
    let report = bench_json(&[
        "--clients",
        "4",
        "--calls",
        "100",
        "--warmup",
        "10",
        "--rate",
        "200",
    ]);
    assert_eq!(report["workload"]["offered_calls_per_sec"], 200.0);
    for path in ["direct", "warden"] {
        let p = &report["levels"][0][path];
        assert_eq!(p["errors"], 0, "{path}: {p}");
        // 100 calls at 200 a second: the last one is due after 0.495 s, however fast the path.
        assert!(p["seconds"].as_f64().unwrap() >= 0.49, "{path}: {p}");
        assert!(p["calls_per_sec"].as_f64().unwrap() <= 205.0, "{path}: {p}");
    }
}

#[test]
fn bench_refuses_a_rate_of_zero() {
    let out = Command::new(common::warden_bin())
        .args(["bench", "--quick", "--rate", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("`--rate`"));
}
