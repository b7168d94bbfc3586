//! `warden bench` in its short mode: the harness runs end to end, every call through warden is
//! an allowed, recorded decision, and the report has each figure for each path — path (c), the
//! plain nginx hop, where nginx is installed (`scripts/test` installs it), and a note that it was
//! skipped where it is not. Timings are not asserted: they depend on the machine;
//! `docs/benchmarks.md` records measured ones.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

/// The nginx the bench looks for: `nginx` on `PATH`, else Debian's `/usr/sbin/nginx`.
fn nginx() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("nginx"))
        .chain([PathBuf::from("/usr/sbin/nginx")])
        .find(|p| p.is_file())
}

/// Figures every measured path has.
fn assert_path_figures(path: &str, p: &Value, calls: u64) {
    assert_eq!(p["calls"], calls, "{path}: {p}");
    assert_eq!(p["errors"], 0, "{path}: {p}");
    let (p50, p99, p999) = (
        p["p50_us"].as_f64().unwrap(),
        p["p99_us"].as_f64().unwrap(),
        p["p999_us"].as_f64().unwrap(),
    );
    assert!(0.0 < p50 && p50 <= p99 && p99 <= p999, "{path}: {p}");
    assert!(p["calls_per_sec"].as_f64().unwrap() > 0.0, "{path}: {p}");
    assert!(
        p["server_cpu_secs_per_1000"].as_f64().unwrap() >= 0.0,
        "{path}: {p}"
    );
    assert!(
        p["server_peak_rss_kib"].as_u64().unwrap() > 0,
        "{path}: {p}"
    );
}

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
fn short_bench_reports_each_path_and_records_every_call() {
    let report = bench_json(&["--clients", "1,8", "--calls", "120", "--warmup", "10"]);

    let levels = report["levels"].as_array().unwrap();
    assert_eq!(
        levels
            .iter()
            .map(|l| l["clients"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [1, 8]
    );
    let nginx = nginx();
    for level in levels {
        for path in ["direct", "warden"] {
            assert_path_figures(path, &level[path], 120);
        }
        // The hop's own CPU is counted on the hops only.
        assert!(level["direct"]["hop_cpu_secs_per_1000"].is_null());
        assert!(level["warden"]["hop_cpu_secs_per_1000"].as_f64().unwrap() >= 0.0);
        // warden's memory is counted on its path only, so its peak is above the lab's alone.
        assert!(
            level["warden"]["server_peak_rss_kib"].as_u64()
                > level["direct"]["server_peak_rss_kib"].as_u64()
        );
        assert!(level["ratio"]["p50"].as_f64().unwrap() > 0.0);
        let targets = level["targets"].as_array().unwrap();
        if nginx.is_some() {
            // Path (c) ran: every call through nginx answered, with its figures, and the
            // targets stated against it are computed and judged.
            let p = &level["nginx"];
            assert_path_figures("nginx", p, 120);
            assert!(p["hop_cpu_secs_per_1000"].as_f64().unwrap() >= 0.0, "{p}");
            assert!(level["nginx_added_us"]["p50"].is_f64(), "{level}");
            assert!(level["nginx_ratio"]["calls_per_sec"].as_f64().unwrap() > 0.0);
            let names: Vec<&str> = targets
                .iter()
                .map(|t| t["name"].as_str().unwrap())
                .collect();
            assert_eq!(
                names,
                ["added_p50", "throughput", "cpu_per_call"],
                "{level}"
            );
            for t in targets {
                assert!(t["limit"].is_f64(), "{t}");
                // CPU is read in clock ticks (10 ms): over 120 calls nginx may use none, and a
                // ratio to nothing is left unjudged, never guessed.
                if t["name"] == "cpu_per_call" && p["hop_cpu_secs_per_1000"].as_f64() == Some(0.0) {
                    assert!(t["value"].is_null() && t["met"].is_null(), "{t}");
                    continue;
                }
                assert!(t["value"].is_f64(), "{t}");
                assert!(t["met"].is_boolean(), "{t}");
            }
            // The p50 allowance is nginx's added p50 + the run's fsync p50 + 150 µs.
            let allowed = level["nginx_added_us"]["p50"].as_f64().unwrap()
                + level["fsync"]["p50_us"].as_f64().unwrap()
                + 150.0;
            assert!((targets[0]["limit"].as_f64().unwrap() - allowed).abs() < 1e-6);
        } else {
            assert!(level["nginx"].is_null(), "{level}");
            assert!(targets.is_empty(), "{level}");
        }
    }
    if let Some(binary) = &nginx {
        assert!(report["nginx"]["skipped"].is_null(), "{}", report["nginx"]);
        assert_eq!(report["nginx"]["binary"], binary.display().to_string());
        let version = report["nginx"]["version"].as_str().unwrap();
        assert!(version.starts_with("nginx/"), "{version}");
        // The master and at least one worker.
        assert!(report["nginx"]["processes"].as_u64().unwrap() >= 2);
    } else {
        let why = report["nginx"]["skipped"].as_str().unwrap();
        assert!(why.contains("path (c)") && why.contains("skipped"), "{why}");
    }
    // The disk's durable-write latency, measured at each level.
    for level in levels {
        let fsync = &level["fsync"];
        assert_eq!(fsync["writes"], 200);
        let (p50, p99) = (
            fsync["p50_us"].as_f64().unwrap(),
            fsync["p99_us"].as_f64().unwrap(),
        );
        assert!(0.0 < p50 && p50 <= p99, "{fsync}");
    }
    // Every measured and warm-up call through warden is an allowed decision with an outcome,
    // and the ledger of the run verifies.
    let ledger = &report["ledger"];
    assert_eq!(ledger["verified"], true);
    assert_eq!(ledger["decisions"], 2 * (120 + 10));
    assert_eq!(ledger["outcomes"], 2 * (120 + 10));
}

#[test]
fn the_text_report_shows_each_path_and_says_when_nginx_was_skipped() {
    let out = Command::new(common::warden_bin())
        .args(["bench", "--quick", "--clients", "2", "--calls", "40"])
        .args(["--warmup", "5"])
        .env("WARDEN_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for row in [
        "| 2 | (a) direct |",
        "| 2 | (b) warden |",
        "fsync at 2 clients: 200 writes",
    ] {
        assert!(stdout.contains(row), "no `{row}` in\n{stdout}");
    }
    if nginx().is_some() {
        for row in [
            "| 2 | (c) nginx |",
            "| 2 | warden's calls/s ≥ 0.8 × nginx's |",
        ] {
            assert!(stdout.contains(row), "no `{row}` in\n{stdout}");
        }
    } else {
        assert!(stdout.contains("path (c) skipped"), "{stdout}");
        assert!(!stdout.contains("(c) nginx"), "{stdout}");
    }
}

#[test]
fn bench_refuses_an_nginx_that_is_not_there() {
    let out = Command::new(common::warden_bin())
        .args(["bench", "--quick", "--nginx", "/nonexistent/nginx"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("`--nginx`"), "{stderr}");
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
    // At a paced rate the p99 target is judged too.
    let targets = report["levels"][0]["targets"].as_array().unwrap();
    let paced = targets
        .iter()
        .find(|t| t["name"] == "added_p99_paced")
        .unwrap();
    assert_eq!(paced["limit"], 2000.0);
    assert!(paced["met"].is_boolean(), "{paced}");
    // Paced, every path delivers the offered rate: throughput is not judged.
    assert!(
        targets.iter().all(|t| t["name"] != "throughput"),
        "{targets:?}"
    );
    let paths: &[&str] = if nginx().is_some() {
        &["direct", "nginx", "warden"]
    } else {
        &["direct", "warden"]
    };
    for &path in paths {
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
