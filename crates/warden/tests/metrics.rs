//! Prometheus metrics over the wire: a real `warden serve` with `[metrics]` on, real MCP
//! clients making allowed, denied and held calls, and the scrape parsed as Prometheus parses
//! it. The counts are checked against the ledger, which records every decision.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use prometheus_parse::{Sample, Scrape, Value};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

/// The lab with metrics on a port of their own, and `extra` lines in `[metrics]`.
fn lab_with_metrics(extra: &str) -> Lab {
    Lab::with_config(|c| format!("{c}\n[metrics]\nlisten = \"127.0.0.1:0\"\n{extra}"))
}

/// Where this warden serves its metrics, from its start-up lines.
fn metrics_url(warden: &Warden) -> String {
    let line = warden
        .wait_for_log("warden: metrics at ", 10)
        .expect("warden names its metrics address");
    line.trim_start_matches("warden: metrics at ").to_string()
}

async fn get(url: &str, token: Option<&str>) -> (u16, String, String) {
    let mut request = reqwest::Client::new().get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

/// One scrape, parsed by a Prometheus text-format parser.
async fn scrape(url: &str, token: Option<&str>) -> Vec<Sample> {
    let (status, content_type, body) = get(url, token).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    Scrape::parse(body.lines().map(|l| Ok(l.to_string())))
        .unwrap()
        .samples
}

fn value(s: &Sample) -> f64 {
    match &s.value {
        Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
        Value::Histogram(buckets) => buckets.iter().map(|b| b.count).fold(0.0, f64::max),
        Value::Summary(_) => panic!("no summaries here"),
    }
}

/// The sum of `metric` over the samples whose labels include every pair of `labels`.
fn sum(samples: &[Sample], metric: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.metric == metric)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(value)
        .sum()
}

fn series<'a>(samples: &'a [Sample], metric: &'a str) -> impl Iterator<Item = &'a Sample> {
    samples.iter().filter(move |s| s.metric == metric)
}

fn decisions(
    samples: &[Sample],
    outcome: &str,
    rule: &str,
    tool: &str,
    category: &str,
    agent: &str,
) -> f64 {
    sum(
        samples,
        "warden_decisions_total",
        &[
            ("outcome", outcome),
            ("rule", rule),
            ("tool", tool),
            ("category", category),
            ("agent", agent),
        ],
    )
}

#[tokio::test]
async fn allowed_denied_and_held_calls_are_counted_as_the_ledger_records_them() {
    let lab = lab_with_metrics("");
    let warden = lab.serve();
    let url = metrics_url(&warden);

    let triage = warden.client(TRIAGE).await;
    for _ in 0..3 {
        let r = triage
            .call("siem.get_alert", json!({"alert_id": "ALR-2001"}))
            .await
            .unwrap();
        assert_ne!(r.is_error, Some(true), "{}", text(&r));
    }
    // Triage is not shown the isolation: refused as unknown, counted as the denial it is.
    for _ in 0..2 {
        let err = triage
            .call("edr.isolate_host", isolate("ws-042", "INC-1042"))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("unknown tool"), "{err}");
    }
    let responder = warden.client(RESPONDER).await;
    let r = responder
        .call(
            "idp.disable_account",
            json!({"user": "alice.chen", "reason": "phished"}),
        )
        .await
        .unwrap();
    assert!(text(&r).contains("held for approval"), "{}", text(&r));

    let m = scrape(&url, None).await;
    assert_eq!(
        decisions(
            &m,
            "allow",
            "agents-may-read",
            "siem.get_alert",
            "triage",
            "triage"
        ),
        3.0
    );
    assert_eq!(
        sum(
            &m,
            "warden_decisions_total",
            &[
                ("outcome", "deny"),
                ("tool", "edr.isolate_host"),
                ("agent", "triage")
            ]
        ),
        2.0
    );
    assert_eq!(
        decisions(
            &m,
            "hold",
            "disable-account-needs-approval",
            "idp.disable_account",
            "identity",
            "responder"
        ),
        1.0
    );
    // The hold waits, asked of humans; the state gauges say so.
    assert_eq!(sum(&m, "warden_holds_pending", &[]), 1.0);
    assert!(sum(&m, "warden_holds_oldest_age_seconds", &[]) >= 0.0);
    assert_eq!(
        sum(
            &m,
            "warden_approval_steps_total",
            &[("step", "asked"), ("category", "identity")]
        ),
        1.0
    );
    assert_eq!(sum(&m, "warden_halts_active", &[]), 0.0);
    // Three forwarded reads: three upstream answers timed, three results screened.
    assert_eq!(
        sum(
            &m,
            "warden_upstream_call_seconds_count",
            &[("server", "siem")]
        ),
        3.0
    );
    assert_eq!(
        sum(
            &m,
            "warden_screen_verdicts_total",
            &[("tool", "siem.get_alert")]
        ),
        3.0
    );
    assert_eq!(sum(&m, "warden_upstream_errors_total", &[]), 0.0);
    assert!(sum(&m, "warden_ledger_commit_seconds_count", &[]) >= 6.0);

    // Every decision series is exactly what the ledger holds for its labels.
    let mut ledger: BTreeMap<(String, String, String, String, String), f64> = BTreeMap::new();
    for e in lab.events("decision") {
        let s = |k: &str| e[k].as_str().unwrap_or_default().to_string();
        *ledger
            .entry((
                s("decision"),
                s("rule"),
                s("tool"),
                s("category"),
                s("principal"),
            ))
            .or_default() += 1.0;
    }
    let counted: BTreeMap<(String, String, String, String, String), f64> =
        series(&m, "warden_decisions_total")
            .map(|s| {
                let l = |k: &str| s.labels.get(k).unwrap().to_string();
                (
                    (
                        l("outcome"),
                        l("rule"),
                        l("tool"),
                        l("category"),
                        l("agent"),
                    ),
                    value(s),
                )
            })
            .collect();
    assert_eq!(counted, ledger);

    // After the human answers, the hold is no longer pending and the answer is counted.
    let id = {
        use warden_store::Store;
        let pending = lab.store().pending().unwrap();
        assert_eq!(pending.len(), 1);
        pending[0].id.clone()
    };
    let (ok, _, err) = lab.cli_as(
        "lab-dana-token",
        &[
            "approvals",
            "deny",
            &id,
            "--reason",
            "not this one",
            "--as",
            "dana",
        ],
    );
    assert!(ok, "{err}");
    let m = scrape(&url, None).await;
    assert_eq!(sum(&m, "warden_holds_pending", &[]), 0.0);
    assert_eq!(sum(&m, "warden_holds_oldest_age_seconds", &[]), 0.0);
    // The ledger grew by every event: its size is read from the store at each scrape.
    let (ok, out, err) = lab.cli(&["audit", "show"]);
    assert!(ok, "{err}");
    assert!(sum(&m, "warden_ledger_leaves", &[]) >= out.lines().count() as f64 - 1.0);
}

#[tokio::test]
async fn tool_names_an_agent_makes_up_add_no_series() {
    let lab = lab_with_metrics("");
    let warden = lab.serve();
    let url = metrics_url(&warden);
    let agent = warden.client(TRIAGE).await;
    let r = agent
        .call("siem.get_alert", json!({"alert_id": "ALR-2001"}))
        .await
        .unwrap();
    assert_ne!(r.is_error, Some(true), "{}", text(&r));

    let made_up: Vec<String> = (0..40)
        .map(|i| match i % 4 {
            0 => format!("edr.wipe_disk_{i}"),
            1 => format!("siem.get_alert\u{200b}{i}"),
            2 => format!("nope{i}"),
            _ => format!("edr.{}", "x".repeat(300 + i)),
        })
        .collect();
    for name in &made_up {
        // Unknown, then (after the denial burst) halted: refused either way.
        match agent.call(name, json!({"host": "ws-042"})).await {
            Ok(r) => assert!(text(&r).contains("halted by warden"), "{}", text(&r)),
            Err(e) => assert!(e.to_string().contains("unknown tool"), "{e}"),
        }
    }

    let m = scrape(&url, None).await;
    let configured: BTreeSet<String> = [
        "siem.get_alert",
        "siem.search_alerts",
        "siem.search_logs",
        "siem.update_alert",
        "edr.list_hosts",
        "edr.get_host",
        "edr.isolate_host",
        "edr.release_host",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for s in &m {
        for (name, v) in s.labels.iter() {
            assert!(
                !made_up
                    .iter()
                    .any(|n| n.contains(v.as_str()) && v.len() > 4)
                    || configured.contains(v.as_str()),
                "{} has the agent's text in `{name}`: {v}",
                s.metric
            );
            assert!(v.len() < 100, "{}: {name} = {v}", s.metric);
        }
    }
    // Forty names: one series for them all, by rule, and one for the halt of this agent.
    let refused: Vec<&Sample> = series(&m, "warden_decisions_total")
        .filter(|s| s.labels.get("tool") == Some("unknown"))
        .collect();
    assert!(
        refused.len() <= 2,
        "{:?}",
        refused.iter().map(|s| &s.labels).collect::<Vec<_>>()
    );
    assert_eq!(
        refused.iter().map(|s| value(s)).sum::<f64>(),
        made_up.len() as f64
    );
    // The denial burst halts the agent after five; the halt reaches the pipeline within its
    // refresh, so some more may be refused as unknown first.
    let unknown = decisions(&m, "deny", "unknown-tool", "unknown", "none", "triage");
    let halted = sum(
        &m,
        "warden_decisions_total",
        &[
            ("rule", "halt:agent"),
            ("tool", "unknown"),
            ("agent", "triage"),
        ],
    );
    assert!(unknown >= 5.0 && halted >= 1.0, "{unknown} {halted}");
    assert_eq!(unknown + halted, made_up.len() as f64);
    assert_eq!(sum(&m, "warden_halts_active", &[("scope", "agent")]), 1.0);
    assert!(sum(&m, "warden_findings_total", &[("detector", "monitor")]) >= 1.0);
}

#[tokio::test]
async fn the_agents_port_does_not_serve_metrics() {
    let lab = lab_with_metrics("");
    let warden = lab.serve();
    let url = metrics_url(&warden);
    let agent_port = format!("{}/metrics", warden.base());
    assert_ne!(url, agent_port);
    for token in [None, Some(TRIAGE)] {
        let (status, _, body) = get(&agent_port, token).await;
        assert!(status == 401 || status == 404, "{status}: {body}");
        assert!(!body.contains("warden_"), "{body}");
    }
    // The metrics port serves only `/metrics`.
    let other = url.replace("/metrics", "/mcp");
    let (status, _, _) = get(&other, None).await;
    assert_eq!(status, 404);
    assert!(!scrape(&url, None).await.is_empty());
}

/// What `warden hash token` prints for `token` read from stdin: `token_sha256 = "…"`.
fn hash_token(token: &str) -> String {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(warden_bin())
        .args(["hash", "token"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{token}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn with_a_token_configured_a_scrape_without_it_is_refused() {
    let lab = lab_with_metrics(&hash_token("scrape-secret"));
    let warden = lab.serve();
    let url = metrics_url(&warden);
    for token in [None, Some("wrong"), Some(TRIAGE), Some("")] {
        let (status, _, body) = get(&url, token).await;
        assert_eq!(status, 401, "{token:?}: {body}");
        assert!(!body.contains("warden_"), "{body}");
    }
    let m = scrape(&url, Some("scrape-secret")).await;
    assert_eq!(series(&m, "warden_ledger_leaves").count(), 1);
}

#[test]
fn a_bad_metrics_table_is_a_config_error_naming_the_key() {
    let lab = Lab::with_config(|c| {
        format!("{c}\n[metrics]\nlisten = \"everywhere\"\ntoken_sha256 = \"abc\"\n")
    });
    let (ok, _, err) = lab.cli(&["policy", "check"]);
    assert!(!ok);
    assert!(
        err.contains("(metrics.listen)") && err.contains("`everywhere`"),
        "{err}"
    );
    assert!(err.contains("(metrics.token_sha256)"), "{err}");
    // The digest of an empty token would let any scraper that sends `Bearer ` in.
    let lab = Lab::with_config(|c| {
        format!(
            "{c}\n[metrics]\nlisten = \"127.0.0.1:9464\"\ntoken_sha256 = \"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\"\n"
        )
    });
    let (ok, _, err) = lab.cli(&["policy", "check"]);
    assert!(!ok);
    assert!(
        err.contains("(metrics.token_sha256)") && err.contains("empty token"),
        "{err}"
    );
    // Reachable from other machines without a token: anyone on the network reads which
    // agents, tools and rules there are. Every address that is not loopback is refused.
    for listen in ["0.0.0.0:9464", "[::]:9464", "192.0.2.10:9464"] {
        let lab = Lab::with_config(|c| format!("{c}\n[metrics]\nlisten = \"{listen}\"\n"));
        let (ok, _, err) = lab.cli(&["policy", "check"]);
        assert!(!ok, "{listen}");
        assert!(
            err.contains("(metrics.listen)") && err.contains("token_sha256"),
            "{listen}: {err}"
        );
    }
    // With a token it may listen anywhere; on loopback it may go without.
    for (listen, token) in [
        ("0.0.0.0:9464", hash_token("scrape-secret")),
        ("[::1]:9464", String::new()),
    ] {
        let lab = Lab::with_config(|c| format!("{c}\n[metrics]\nlisten = \"{listen}\"\n{token}"));
        let (ok, _, err) = lab.cli(&["policy", "check"]);
        assert!(ok, "{listen}: {err}");
    }
    let lab =
        Lab::with_config(|c| format!("{c}\n[metrics]\nlisten = \"127.0.0.1:9464\"\nport = 1\n"));
    let (ok, _, err) = lab.cli(&["policy", "check"]);
    assert!(!ok);
    assert!(err.contains("port"), "{err}");
}

/// Scrapes until `done` holds of a scrape (up to 20 s), and returns that scrape.
async fn scrape_until(url: &str, what: &str, done: impl Fn(&[Sample]) -> bool) -> Vec<Sample> {
    for _ in 0..400 {
        let m = scrape(url, None).await;
        if done(&m) {
            return m;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

/// `[export]` under `serve`: how far the stream is behind the ledger's head is a gauge worked
/// out at scrape time, so an export that cannot deliver shows a lag that grows with the
/// ledger, and one that keeps up shows none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_export_lag_is_how_far_the_stream_is_behind_the_ledger() {
    // A collector that refuses every connection: nothing is delivered.
    let lab = lab_with_metrics(
        "[export]\nto = \"splunk-hec\"\nurl = \"http://127.0.0.1:9\"\ntoken = { env = \"TEST_HEC_TOKEN\" }\n",
    );
    let warden = lab.serve_with_env("warn", &[("TEST_HEC_TOKEN", "hec-test-token")]);
    let url = metrics_url(&warden);
    let triage = warden.client(TRIAGE).await;
    for alert in ["ALR-2001", "ALR-2002"] {
        triage
            .call("siem.get_alert", json!({"alert_id": alert}))
            .await
            .unwrap();
    }
    let m = scrape_until(&url, "a lag as large as the ledger", |m| {
        let leaves = sum(m, "warden_ledger_leaves", &[]);
        leaves >= 4.0 && sum(m, "warden_export_lag_leaves", &[]) == leaves
    })
    .await;
    assert_eq!(
        series(&m, "warden_export_last_delivery_age_seconds").count(),
        0,
        "nothing was ever delivered"
    );
    drop(warden);

    // To a file: every leaf delivered, no lag, and a recent delivery.
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("ocsf.jsonl");
    let lab = lab_with_metrics(&format!(
        "[export]\nto = \"file\"\npath = \"{}\"\n",
        path.display()
    ));
    let warden = lab.serve();
    let url = metrics_url(&warden);
    warden
        .client(TRIAGE)
        .await
        .call("siem.get_alert", json!({"alert_id": "ALR-2001"}))
        .await
        .unwrap();
    let m = scrape_until(&url, "the export to catch up", |m| {
        sum(m, "warden_ledger_leaves", &[]) >= 2.0
            && series(m, "warden_export_lag_leaves").count() == 1
            && sum(m, "warden_export_lag_leaves", &[]) == 0.0
            && series(m, "warden_export_last_delivery_age_seconds").count() == 1
    })
    .await;
    assert!(sum(&m, "warden_export_last_delivery_age_seconds", &[]) < 60.0);

    // Without `[export]` the series are absent: no stream, nothing to be behind.
    let lab = lab_with_metrics("");
    let warden = lab.serve();
    let m = scrape(&metrics_url(&warden), None).await;
    assert_eq!(series(&m, "warden_export_lag_leaves").count(), 0);
}

/// A `warden audit export --follow --metrics-listen 127.0.0.1:0` process, killed on drop, and
/// the address it serves its metrics on (from its start-up line).
struct FollowingExport {
    child: std::process::Child,
    url: String,
}

impl Drop for FollowingExport {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn follow_with_metrics(lab: &Lab, args: &[&str]) -> FollowingExport {
    use std::io::BufRead;
    let mut child = std::process::Command::new(warden_bin())
        .args(["audit", "export", "--format", "ocsf", "--follow"])
        .args(["--poll-ms", "50", "--max-backoff-secs", "1"])
        .args(["--metrics-listen", "127.0.0.1:0"])
        .args(args)
        .arg("--config")
        .arg(lab.config())
        .env("WARDEN_EXPORT_TOKEN", "hec-test-token")
        .env("WARDEN_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if let Some(url) = line.strip_prefix("export metrics on ") {
                let _ = tx.send(url.trim().to_string());
            }
        }
    });
    let url = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("the exporter names its metrics address");
    FollowingExport { child, url }
}

/// `warden audit export --follow` as its own process can be watched like `[export]` under
/// `serve`: `--metrics-listen` serves the same two gauges, from the same code. An exporter whose
/// collector refuses everything shows a lag that grows with the ledger and no delivery; one that
/// keeps up shows no lag and a recent delivery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_following_export_serves_its_lag_on_its_own_listener() {
    let lab = lab_with_metrics("");
    let warden = lab.serve();
    let gateway = metrics_url(&warden);
    let triage = warden.client(TRIAGE).await;
    triage
        .call("siem.get_alert", json!({"alert_id": "ALR-2001"}))
        .await
        .unwrap();

    // The collector refuses every connection.
    let stuck = follow_with_metrics(&lab, &["--to", "splunk-hec", "--url", "http://127.0.0.1:9"]);
    let m = scrape_until(&stuck.url, "a lag", |m| {
        sum(m, "warden_export_lag_leaves", &[]) >= 2.0
    })
    .await;
    let before = sum(&m, "warden_export_lag_leaves", &[]);
    assert_eq!(
        series(&m, "warden_export_last_delivery_age_seconds").count(),
        0,
        "nothing was ever delivered"
    );
    // Only the export's gauges: this process is no gateway.
    assert!(
        m.iter().all(|s| s.metric.starts_with("warden_export_")),
        "{m:?}"
    );
    // The ledger grows; the lag with it, to the ledger's size (nothing was delivered).
    for alert in ["ALR-2002", "ALR-2003"] {
        triage
            .call("siem.get_alert", json!({"alert_id": alert}))
            .await
            .unwrap();
    }
    let leaves = scrape_until(&gateway, "the outcomes", |m| {
        sum(m, "warden_ledger_leaves", &[]) >= before + 4.0
    })
    .await;
    let leaves = sum(&leaves, "warden_ledger_leaves", &[]);
    let m = scrape_until(&stuck.url, "the lag to grow", |m| {
        sum(m, "warden_export_lag_leaves", &[]) >= leaves
    })
    .await;
    assert!(sum(&m, "warden_export_lag_leaves", &[]) > before);
    drop(stuck);

    // To a file: it keeps up.
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("ocsf.jsonl");
    let path = path.to_str().unwrap();
    let live = follow_with_metrics(&lab, &["--to", "file", "--out", path]);
    let m = scrape_until(&live.url, "the export to catch up", |m| {
        series(m, "warden_export_lag_leaves").count() == 1
            && sum(m, "warden_export_lag_leaves", &[]) == 0.0
            && series(m, "warden_export_last_delivery_age_seconds").count() == 1
    })
    .await;
    assert!(sum(&m, "warden_export_last_delivery_age_seconds", &[]) < 60.0);
    assert!(std::fs::read_to_string(path).unwrap().lines().count() as f64 >= leaves);

    // Off the loopback interface without `[metrics] token_sha256`: refused before it listens.
    let (ok, _, err) = lab.cli(&[
        "audit",
        "export",
        "--format",
        "ocsf",
        "--follow",
        "--to",
        "file",
        "--out",
        path,
        "--metrics-listen",
        "0.0.0.0:0",
    ]);
    assert!(!ok && err.contains("token_sha256"), "{err}");

    // Without --follow there is no stream to watch: refused.
    let (ok, _, err) = lab.cli(&[
        "audit",
        "export",
        "--format",
        "ocsf",
        "--metrics-listen",
        "127.0.0.1:0",
    ]);
    assert!(!ok && err.contains("--follow"), "{err}");
}

/// The export's own listener is guarded as `serve`'s is: with `[metrics] token_sha256` in the
/// config it reads, a scrape without the token, or with another, gets 401 and not one metric
/// name; with the token, the export's gauges.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_following_exports_metrics_need_the_metrics_token() {
    let lab = lab_with_metrics(&hash_token("scrape-secret"));
    let warden = lab.serve();
    let triage = warden.client(TRIAGE).await;
    triage
        .call("siem.get_alert", json!({"alert_id": "ALR-2001"}))
        .await
        .unwrap();
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("ocsf.jsonl");
    let export = follow_with_metrics(&lab, &["--to", "file", "--out", path.to_str().unwrap()]);
    for token in [None, Some("wrong"), Some(TRIAGE), Some("")] {
        let (status, _, body) = get(&export.url, token).await;
        assert_eq!(status, 401, "{token:?}: {body}");
        assert!(!body.contains("warden_"), "{token:?}: {body}");
    }
    for _ in 0..400 {
        let m = scrape(&export.url, Some("scrape-secret")).await;
        if series(&m, "warden_export_lag_leaves").count() == 1 {
            assert!(
                m.iter().all(|s| s.metric.starts_with("warden_export_")),
                "{m:?}"
            );
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for the export's lag with the token");
}
