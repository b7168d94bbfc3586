//! `warden audit export`: OCSF records a SIEM accepts, checked against the OCSF 1.8.0 class
//! definitions (`common/ocsf_schema.rs`) on every record of a lab run that produced every kind
//! of event; and the streaming export to Splunk HEC and Elasticsearch bulk collectors that run
//! inside the test, across a killed and restarted exporter and a collector that fails.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
#[path = "common/ledger.rs"]
mod ledger_support;
#[path = "common/ocsf_schema.rs"]
mod ocsf_schema;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use common::*;
use ledger_support::interrupt;
use ocsf_schema::problems;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use warden_core::{AuditEvent, EventKind};

fn leaves(lab: &Lab) -> usize {
    let (ok, out, err) = lab.cli(&["audit", "show"]);
    assert!(ok, "{err}");
    out.lines().count()
}

/// Polls `done` every 50 ms until it holds or `secs` have passed.
fn wait_until(secs: u64, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Appends events straight to the lab's ledger, as a warden process would (warden stopped).
fn append(lab: &Lab, events: &[AuditEvent]) {
    let config = warden_policy::Config::load(&lab.config()).unwrap();
    let store: Arc<dyn warden_store::Store> = Arc::new(lab.store());
    let ledger = warden_store::Ledger::open(
        store,
        &warden_store::LedgerSettings {
            key_path: config.ledger.key_path.clone(),
            origin: config.ledger.origin.clone(),
            checkpoint_interval: Duration::from_secs(3600),
            defer_within: warden_store::DEFER_WITHIN,
            witnesses: Vec::new(),
            pinned: None,
        },
    )
    .unwrap();
    for e in events {
        ledger.append(e).unwrap();
    }
    ledger.shutdown().unwrap();
}

/// A lab run in which every kind of event happens: calls allowed, denied and held, an
/// approval, an expiry by halt, a resume, an injection finding, a taint cleared, a review
/// verdict, a policy reload and a redaction; what a short run cannot reach (a changed upstream
/// definition, a shadow policy, an overdue review, a live inventory) is appended as the
/// gateway would record it.
async fn lab_run() -> Lab {
    let lab = Lab::new();
    let mut warden = lab.serve();
    let triage = warden.client(TRIAGE).await;
    let r = triage
        .call("siem.get_alert", json!({"alert_id": "ALR-2001"}))
        .await
        .unwrap();
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    triage
        .call("mail.read_message", json!({"message_id": "MSG-3001"}))
        .await
        .unwrap();
    let responder = warden.client(RESPONDER).await;
    let r = responder
        .call("edr.isolate_host", isolate("dc01", "INC-1042"))
        .await;
    assert!(r.is_err() || r.as_ref().unwrap().is_error == Some(true));
    let (_, args) = disable_held_then_approved(&lab, &responder).await;
    let r = responder.call("idp.disable_account", args).await.unwrap();
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    // A second hold, expired by a halt of its agent.
    let r = responder
        .call(
            "idp.disable_account",
            json!({"user": "bob.ng", "reason": "suspicious sign-in"}),
        )
        .await
        .unwrap();
    assert!(text(&r).contains("held for approval"), "{}", text(&r));
    for args in [
        vec![
            "halt",
            "--agent",
            "responder",
            "--reason",
            "suspected injection",
            "--as",
            "dana",
        ],
        vec![
            "resume",
            "agent:responder",
            "--reason",
            "checked",
            "--as",
            "dana",
        ],
    ] {
        let (ok, out, err) = lab.cli_as("lab-dana-token", &args);
        assert!(ok, "{args:?}: {out}{err}");
    }
    let now = now_ms();
    let record = lab
        .taint("triage", "sess-t", 70, now - 1_000, now + 3_600_000)
        .to_string();
    let (ok, out, err) = lab.cli_as(
        "lab-dana-token",
        &[
            "taint",
            "clear",
            "--agent",
            "triage",
            "--record",
            &record,
            "--reason",
            "mail checked",
            "--as",
            "dana",
        ],
    );
    assert!(ok, "{out}{err}");
    let decision = lab.events("decision")[0]["index"]
        .as_u64()
        .unwrap()
        .to_string();
    let (ok, out, err) = lab.cli_as(
        "lab-dana-token",
        &[
            "review",
            "verdict",
            &decision,
            "--correct",
            "--note",
            "alert read",
            "--as",
            "dana",
        ],
    );
    assert!(ok, "{out}{err}");
    let hup = Command::new("kill")
        .args(["-HUP", &warden.child.id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    wait_until(20, "the policy reload", || {
        !lab.events("policy_reload").is_empty()
    });
    drop((triage, responder));
    interrupt(&mut warden.child);
    drop(warden);
    let (ok, out, err) = lab.cli_as(
        "lab-dana-token",
        &[
            "audit",
            "redact",
            &decision,
            "--reason",
            "erasure request",
            "--as",
            "dana",
            "--offline",
        ],
    );
    assert!(ok, "{out}{err}");

    let t = now_ms();
    let mut withheld = AuditEvent::new(EventKind::ToolWithheld, t);
    withheld.tool = Some("edr.get_host".into());
    withheld.detail = Some(json!({"pinned": "sha256:aa", "seen": "sha256:bb"}));
    let mut shadow = AuditEvent::new(EventKind::ShadowDiff, t);
    shadow.principal = Some("triage".into());
    shadow.tool = Some("siem.get_alert".into());
    shadow.detail = Some(json!({"enforced": "allow", "shadow": "deny",
                                "shadow_rule": "no-alert-reads", "decision_index": 0}));
    let mut tight = AuditEvent::new(EventKind::ReviewTightening, t);
    tight.category = Some("containment".into());
    tight.reason = Some("review overdue".into());
    tight.detail = Some(json!({"state": "tightened"}));
    let mut refresh = AuditEvent::new(EventKind::InventoryRefresh, t);
    refresh.detail = Some(
        json!({"source": "file:inventory.json", "digest": "sha256:bb",
                                 "entities": 12, "previous_digest": "sha256:aa"}),
    );
    append(&lab, &[withheld, shadow, tight, refresh]);
    lab
}

fn read_jsonl(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn every_record_of_a_lab_run_is_valid_ocsf_and_every_kind_has_its_class() {
    let lab = lab_run().await;
    let out = lab.dir.path().join("ocsf.jsonl");
    let (ok, _, err) = lab.cli(&[
        "audit",
        "export",
        "--format",
        "ocsf",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    // Every call's arguments and rationale, unsealed: for the exporting user alone (review 42).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the export is open to others: {mode:o}");
    }
    let records = read_jsonl(&out);
    assert_eq!(records.len(), leaves(&lab));

    let mut wrong = Vec::new();
    for r in &records {
        for p in problems(r) {
            wrong.push(format!("leaf {}: {p}", r["metadata"]["sequence"]));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // Every kind of event happened, and each has the class the docs promise (no Base Event).
    let mut classes: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
    for r in &records {
        classes
            .entry(r["metadata"]["event_code"].as_str().unwrap().to_string())
            .or_default()
            .insert(r["class_uid"].as_u64().unwrap());
    }
    let expected = |kind: EventKind| match kind {
        EventKind::Decision | EventKind::Outcome => 6003,
        EventKind::Finding | EventKind::ToolWithheld | EventKind::ShadowDiff => 2004,
        EventKind::ConfigLoaded | EventKind::PolicyReload => 6002,
        _ => 3004,
    };
    for kind in EventKind::ALL {
        assert_eq!(
            classes.get(kind.as_str()),
            Some(&BTreeSet::from([expected(kind)])),
            "{kind:?}: {classes:?}"
        );
    }
    // The steps of the human gate and the kill switch, as a SOC queries them.
    let approval = |step: &str| {
        records
            .iter()
            .find(|r| {
                r["entity"]["type"] == "Approval Request" && r["entity"]["data"]["step"] == step
            })
            .unwrap_or_else(|| panic!("no `{step}` step"))
    };
    assert_eq!(approval("asked")["activity_id"], 1);
    let approved = approval("approved");
    assert_eq!(approved["type_uid"], 300403);
    assert_eq!(approved["actor"]["user"]["uid"], "bob");
    assert_eq!(approved["entity_result"]["data"]["status"], "approved");
    assert_eq!(approval("expired")["actor"]["app_name"], "warden");
    assert_eq!(approval("executed")["activity_id"], 3);
    let halt = records
        .iter()
        .find(|r| r["metadata"]["event_code"] == "halt")
        .unwrap();
    assert_eq!(halt["activity_name"], "Suspend");
    assert_eq!(halt["entity"]["uid"], "agent:responder");
    assert_eq!(halt["actor"]["user"]["uid"], "dana");
    let pin = records
        .iter()
        .find(|r| r["metadata"]["event_code"] == "tool_pinned")
        .unwrap();
    assert_eq!(pin["entity"]["type"], "MCP Tool Definition");
    let denial = records
        .iter()
        .find(|r| r["class_uid"] == 6003 && r["disposition_id"] == 2)
        .unwrap();
    assert_eq!(denial["is_alert"], true);
    assert_eq!(denial["metadata"]["profiles"], json!(["security_control"]));

    // No secret of the lab reaches a record: agents' bearer tokens, approvers' tokens and
    // passwords.
    let text = std::fs::read_to_string(&out).unwrap();
    for secret in [
        TRIAGE,
        RESPONDER,
        "lab-alice-token",
        "lab-bob-token",
        "lab-dana-token",
        "lab-alice-password",
        "lab-bob-password",
        "lab-dana-password",
    ] {
        assert!(!text.contains(secret), "`{secret}` in the export");
    }
}

#[test]
fn the_checker_refuses_what_ocsf_refuses() {
    // The checker must fail on the mistakes the old export made: approvals as Base Event with
    // activity 99 are fine for class 0, but a request without its uid, an API Activity without
    // its source, or a profile attribute without its profile are not.
    let good = json!({
        "category_uid": 6, "class_uid": 6003, "activity_id": 2, "type_uid": 600302,
        "severity_id": 1, "time": 1, "metadata": {"version": "1.8.0", "product": {"name": "warden"},
        "profiles": ["security_control"]},
        "actor": {"user": {"uid": "a"}}, "api": {"operation": "x.y", "request": {"uid": "r"}},
        "src_endpoint": {"name": "a"}, "disposition_id": 1,
    });
    assert_eq!(problems(&good), Vec::<String>::new());
    let mut no_uid = good.clone();
    no_uid["api"]["request"] = json!({"data": {}});
    assert!(
        problems(&no_uid)
            .iter()
            .any(|p| p.contains("`uid` missing"))
    );
    let mut no_src = good.clone();
    no_src.as_object_mut().unwrap().remove("src_endpoint");
    assert!(
        problems(&no_src)
            .iter()
            .any(|p| p.contains("`src_endpoint` missing"))
    );
    let mut no_profile = good.clone();
    no_profile["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("profiles");
    assert!(
        problems(&no_profile)
            .iter()
            .any(|p| p.contains("`disposition_id` is not an attribute"))
    );
    let mut bad_type = good.clone();
    bad_type["type_uid"] = json!(600303);
    assert!(!problems(&bad_type).is_empty());
    let mut bad_activity = good;
    bad_activity["activity_id"] = json!(7);
    bad_activity["type_uid"] = json!(600307);
    assert!(
        problems(&bad_activity)
            .iter()
            .any(|p| p.contains("not in the class's enum"))
    );
}

/// What an in-test collector saw.
#[derive(Default)]
struct Seen {
    requests: usize,
    /// Records taken, in arrival order (copies included).
    records: Vec<Value>,
    /// Elastic: documents by id.
    docs: BTreeMap<String, Value>,
    /// Anything the collector found wrong with a request.
    complaints: Vec<String>,
}

#[derive(Clone)]
struct Collector {
    seen: Arc<Mutex<Seen>>,
    /// Requests answered 503 before the collector starts taking any.
    fail_first: usize,
}

async fn hec(
    State(c): State<Collector>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, axum::Json<Value>) {
    let mut seen = c.seen.lock().unwrap();
    seen.requests += 1;
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Splunk hec-test-token") {
        seen.complaints
            .push(format!("authorization: {:?}", headers.get("authorization")));
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"text": "Invalid authorization", "code": 3})),
        );
    }
    if seen.requests <= c.fail_first {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"text": "Server is busy", "code": 9})),
        );
    }
    for line in body.lines().filter(|l| !l.trim().is_empty()) {
        let event: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                seen.complaints.push(format!("not JSON: {e}: {line}"));
                return (
                    StatusCode::BAD_REQUEST,
                    axum::Json(json!({"text": "Invalid data format", "code": 6})),
                );
            }
        };
        if event["sourcetype"] != "ocsf"
            || !event["time"].is_number()
            || !event["event"].is_object()
        {
            seen.complaints.push(format!("not a HEC event: {line}"));
        }
        seen.records.push(event["event"].clone());
    }
    (
        StatusCode::OK,
        axum::Json(json!({"text": "Success", "code": 0})),
    )
}

async fn bulk(
    State(c): State<Collector>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, axum::Json<Value>) {
    let mut seen = c.seen.lock().unwrap();
    seen.requests += 1;
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("ApiKey es-test-key") {
        seen.complaints
            .push(format!("authorization: {:?}", headers.get("authorization")));
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": "unauthorized"})),
        );
    }
    if headers.get("content-type").and_then(|v| v.to_str().ok()) != Some("application/x-ndjson") {
        seen.complaints.push("content type".into());
    }
    if seen.requests <= c.fail_first {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            axum::Json(json!({"error": "busy"})),
        );
    }
    let lines: Vec<&str> = body.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut items = Vec::new();
    let mut errors = false;
    for pair in lines.chunks(2) {
        let action: Value = serde_json::from_str(pair[0]).unwrap();
        let doc: Value = serde_json::from_str(pair[1]).unwrap();
        let id = action["create"]["_id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if action["create"]["_index"] != "warden-ocsf" || id != doc["metadata"]["uid"] {
            seen.complaints
                .push(format!("action {action} for {}", doc["metadata"]["uid"]));
        }
        seen.records.push(doc.clone());
        if seen.docs.contains_key(&id) {
            errors = true;
            items.push(json!({"create": {"_id": id, "status": 409,
                "error": {"type": "version_conflict_engine_exception"}}}));
        } else {
            seen.docs.insert(id.clone(), doc);
            items.push(json!({"create": {"_id": id, "status": 201, "result": "created"}}));
        }
    }
    (
        StatusCode::OK,
        axum::Json(json!({"took": 1, "errors": errors, "items": items})),
    )
}

/// Serves `collector` on loopback; its base URL.
async fn start_collector(collector: Collector) -> String {
    let app = axum::Router::new()
        .route("/services/collector/event", post(hec))
        .route("/_bulk", post(bulk))
        .with_state(collector);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// A running exporter, killed (SIGKILL) on drop.
struct Exporter(Child);

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn exporter(lab: &Lab, args: &[&str], token: (&str, &str)) -> Exporter {
    Exporter(
        Command::new(warden_bin())
            .args(["audit", "export", "--format", "ocsf"])
            .args(args)
            .arg("--config")
            .arg(lab.config())
            .env(token.0, token.1)
            .env("WARDEN_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

fn sequences(records: &[Value]) -> Vec<u64> {
    records
        .iter()
        .map(|r| r["metadata"]["sequence"].as_u64().unwrap())
        .collect()
}

/// `n` reads by triage, returned once their outcomes are in the ledger too (an outcome is
/// committed shortly after its answer).
async fn some_calls(lab: &Lab, warden: &Warden, n: usize) {
    let before = lab.events("outcome").len();
    let triage = warden.client(TRIAGE).await;
    for i in 0..n {
        let alert = format!("ALR-200{}", 1 + i % 3);
        triage
            .call("siem.get_alert", json!({"alert_id": alert}))
            .await
            .unwrap();
    }
    wait_until(30, "the outcomes", || {
        lab.events("outcome").len() >= before + n
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_splunk_stream_survives_a_killed_exporter_and_a_busy_collector_with_no_gap() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let url = start_collector(Collector {
        seen: seen.clone(),
        fail_first: 2,
    })
    .await;
    let lab = Lab::new();
    let warden = lab.serve();
    some_calls(&lab, &warden, 3).await;
    let follow = [
        "--follow",
        "--to",
        "splunk-hec",
        "--url",
        &url,
        "--batch",
        "4",
        "--poll-ms",
        "50",
        "--max-backoff-secs",
        "1",
    ];
    let token = ("WARDEN_EXPORT_TOKEN", "hec-test-token");
    let first = exporter(&lab, &follow, token);
    let n = leaves(&lab);
    wait_until(30, "the first leaves at the collector", || {
        seen.lock().unwrap().records.len() >= n
    });
    // The collector refused the first two tries; the exporter came back with the same batch.
    assert!(seen.lock().unwrap().requests >= 3);
    drop(first); // SIGKILL: no goodbye, no final cursor write

    some_calls(&lab, &warden, 4).await;
    let _second = exporter(&lab, &follow, token);
    let total = leaves(&lab);
    assert!(total > n);
    wait_until(30, "every leaf at the collector", || {
        let got: BTreeSet<u64> = sequences(&seen.lock().unwrap().records)
            .into_iter()
            .collect();
        got.len() == total
    });
    let seen = seen.lock().unwrap();
    assert!(seen.complaints.is_empty(), "{:?}", seen.complaints);
    let got = sequences(&seen.records);
    let distinct: BTreeSet<u64> = got.iter().copied().collect();
    // No gap: every index from 0, each record valid OCSF.
    assert_eq!(distinct, (0..total as u64).collect::<BTreeSet<_>>());
    for r in &seen.records {
        assert_eq!(problems(r), Vec::<String>::new());
    }
    // At least once, and copies only within one batch: what was sent before the kill and not
    // yet marked in the cursor.
    assert!(got.len() - distinct.len() <= 4, "{got:?}");
    drop(seen);
    // The cursor sits beside the store, at the next index to export. It is written once the
    // exporter has the collector's answer, a moment after the collector has the records.
    let path = lab.dir.path().join("state/export-splunk-hec.cursor");
    wait_until(30, "the cursor at the ledger's end", || {
        std::fs::read_to_string(&path).is_ok_and(|c| c.trim() == total.to_string())
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_elastic_export_resumes_from_its_cursor_and_a_lost_cursor_only_makes_duplicates() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let url = start_collector(Collector {
        seen: seen.clone(),
        fail_first: 1,
    })
    .await;
    let lab = Lab::new();
    let warden = lab.serve();
    some_calls(&lab, &warden, 2).await;
    let key_file = lab.dir.path().join("es.key");
    std::fs::write(&key_file, "es-test-key\n").unwrap();
    let cursor = lab.dir.path().join("es.cursor");
    let args = [
        "--to",
        "elastic-bulk",
        "--url",
        &url,
        "--token-file",
        key_file.to_str().unwrap(),
        "--cursor",
        cursor.to_str().unwrap(),
        "--batch",
        "3",
        "--max-backoff-secs",
        "1",
    ];
    let run = |lab: &Lab| {
        let mut command = Command::new(warden_bin());
        command
            .args(["audit", "export", "--format", "ocsf"])
            .args(args)
            .arg("--config")
            .arg(lab.config());
        let out = command.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    // Without a key the exporter says so and sends nothing.
    let out = Command::new(warden_bin())
        .args([
            "audit",
            "export",
            "--format",
            "ocsf",
            "--to",
            "elastic-bulk",
            "--url",
            &url,
        ])
        .arg("--config")
        .arg(lab.config())
        .env_remove("WARDEN_EXPORT_TOKEN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no collector token"));
    assert_eq!(seen.lock().unwrap().requests, 0);

    run(&lab);
    let n = leaves(&lab);
    assert_eq!(seen.lock().unwrap().docs.len(), n);
    assert_eq!(
        std::fs::read_to_string(&cursor).unwrap().trim(),
        n.to_string()
    );

    // New leaves only, from the cursor.
    some_calls(&lab, &warden, 2).await;
    let sent_before = seen.lock().unwrap().records.len();
    run(&lab);
    let total = leaves(&lab);
    {
        let seen = seen.lock().unwrap();
        assert_eq!(
            seen.records.len() - sent_before,
            total - n,
            "only the new leaves"
        );
        assert_eq!(seen.docs.len(), total);
    }
    // A lost cursor resends everything; the index keeps one document per leaf.
    std::fs::remove_file(&cursor).unwrap();
    run(&lab);
    let seen = seen.lock().unwrap();
    assert!(seen.complaints.is_empty(), "{:?}", seen.complaints);
    assert_eq!(seen.docs.len(), total);
    let ids: BTreeSet<u64> = sequences(&seen.docs.values().cloned().collect::<Vec<_>>())
        .into_iter()
        .collect();
    assert_eq!(ids, (0..total as u64).collect::<BTreeSet<_>>());
    drop(warden);
}

#[tokio::test]
async fn a_file_stream_appends_from_its_cursor() {
    let lab = Lab::new();
    let warden = lab.serve();
    some_calls(&lab, &warden, 1).await;
    let file = lab.dir.path().join("siem.jsonl");
    let cursor = lab.dir.path().join("file.cursor");
    let args = [
        "audit",
        "export",
        "--format",
        "ocsf",
        "--to",
        "file",
        "--out",
        file.to_str().unwrap(),
        "--cursor",
        cursor.to_str().unwrap(),
    ];
    let (ok, _, err) = lab.cli(&args);
    assert!(ok, "{err}");
    some_calls(&lab, &warden, 2).await;
    let (ok, _, err) = lab.cli(&args);
    assert!(ok, "{err}");
    let records = read_jsonl(&file);
    let total = leaves(&lab) as u64;
    assert_eq!(sequences(&records), (0..total).collect::<Vec<_>>());
    // A cursor moved past the ledger's end (a tampered or foreign one) would wait silently for
    // leaves that are never coming: it is an error, and nothing is written.
    std::fs::write(&cursor, "999999999\n").unwrap();
    let (ok, _, err) = lab.cli(&args);
    assert!(!ok && err.contains("not this ledger's"), "{err}");
    assert_eq!(read_jsonl(&file).len(), records.len());
    // A collector URL over plain HTTP to another host is refused: the token would travel in
    // clear.
    let (ok, _, err) = lab.cli(&[
        "audit",
        "export",
        "--format",
        "ocsf",
        "--to",
        "splunk-hec",
        "--url",
        "http://splunk.example:8088",
        "--cursor",
        cursor.to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("plain HTTP"), "{err}");
}

/// The exporter's own view of what arrived: distinct indexes and how many records in all.
fn arrived(seen: &Mutex<Seen>) -> (BTreeSet<u64>, usize) {
    let seen = seen.lock().unwrap();
    let all = sequences(&seen.records);
    (all.iter().copied().collect(), all.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_streams_its_ledger_to_splunk_and_resumes_after_being_killed() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let url = start_collector(Collector {
        seen: seen.clone(),
        fail_first: 1,
    })
    .await;
    let lab = Lab::with_config(|c| {
        c + &format!(
            "\n[export]\nto = \"splunk-hec\"\nurl = \"{url}\"\ntoken = {{ env = \"TEST_HEC_TOKEN\" }}\nbatch = 3\n"
        )
    });
    let vars = [("TEST_HEC_TOKEN", "hec-test-token")];
    let warden = lab.serve_with_env("warn", &vars);
    some_calls(&lab, &warden, 3).await;
    let n = leaves(&lab);
    wait_until(30, "the first leaves at the collector", || {
        arrived(&seen).0.len() >= n
    });
    drop(warden); // SIGKILL, the stream with it

    let warden = lab.serve_with_env("warn", &vars);
    some_calls(&lab, &warden, 2).await;
    wait_until(30, "every leaf at the collector", || {
        arrived(&seen).0.len() == leaves(&lab)
    });
    let total = leaves(&lab) as u64;
    let (distinct, all) = arrived(&seen);
    assert_eq!(distinct, (0..total).collect::<BTreeSet<_>>(), "no gap");
    assert!(all - distinct.len() <= 3, "copies only within one batch");
    assert!(seen.lock().unwrap().complaints.is_empty());
    // The cursor follows the collector's answer, a moment after the records arrived.
    let path = lab.dir.path().join("state/export-splunk-hec.cursor");
    wait_until(30, "the cursor at the ledger's end", || {
        std::fs::read_to_string(&path).is_ok_and(|c| c.trim() == total.to_string())
    });
    drop(warden);
}

#[test]
fn an_export_section_that_would_leak_its_token_is_refused() {
    for (section, says) in [
        (
            "[export]\nto = \"splunk-hec\"\nurl = \"https://splunk.example:8088\"\ntoken = \"hec-literal\"\n",
            "must not be written in the config",
        ),
        (
            "[export]\nto = \"elastic-bulk\"\nurl = \"http://elastic.example:9200\"\ntoken = { env = \"ES_KEY\" }\n",
            "in clear",
        ),
        (
            "[export]\nto = \"splunk-hec\"\nurl = \"https://splunk.example:8088\"\n",
            "needs `token",
        ),
        ("[export]\nto = \"kafka\"\n", "not a destination"),
    ] {
        let lab = Lab::with_config(|c| c + "\n" + section);
        let (ok, out, err) = lab.cli(&["policy", "check"]);
        assert!(!ok && err.contains(says), "{section}: {out}{err}");
    }
}

/// A collector that takes the connection and never answers.
async fn start_hanging_collector() -> String {
    let app = axum::Router::new().route(
        "/services/collector/event",
        post(|| async { std::future::pending::<StatusCode>().await }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_that_never_answers_never_holds_up_a_decision() {
    let url = start_hanging_collector().await;
    let lab = Lab::with_config(|c| {
        c + &format!(
            "\n[export]\nto = \"splunk-hec\"\nurl = \"{url}\"\ntoken = {{ env = \"TEST_HEC_TOKEN\" }}\nbatch = 1\n"
        )
    });
    let warden = lab.serve_with_env("warn", &[("TEST_HEC_TOKEN", "hec-test-token")]);
    // Every call is decided and answered while the export waits on the collector.
    some_calls(&lab, &warden, 5).await;
    let r = warden
        .client(RESPONDER)
        .await
        .call("edr.isolate_host", isolate("dc01", "INC-1042"))
        .await;
    assert!(r.is_err() || r.unwrap().is_error == Some(true), "denied");
    // Nothing was acknowledged, so nothing is marked as exported.
    assert!(
        !lab.dir
            .path()
            .join("state/export-splunk-hec.cursor")
            .exists()
    );
    // A graceful stop does not wait on the collector either.
    let mut warden = warden;
    interrupt(&mut warden.child);
}

/// Agents and upstreams write much of what the ledger holds. Exported to a terminal (stdout),
/// a reason that moves the cursor or reverses the text would act on the reader's screen; every
/// hidden character leaves as a JSON escape, so the terminal sees none of them and a program
/// still reads the exact value.
#[test]
fn an_export_to_stdout_carries_no_character_a_terminal_acts_on() {
    let lab = Lab::new();
    let forged = "ok\u{1b}[2K\r\u{9b}2Jdeny\u{202e}gnp.exe\u{200b}\u{E0041}";
    let mut tight = AuditEvent::new(EventKind::ReviewTightening, now_ms());
    tight.category = Some("containment".into());
    tight.reason = Some(forged.into());
    append(&lab, &[tight]);
    let out = Command::new(warden_bin())
        .args(["audit", "export", "--format", "ocsf", "--config"])
        .arg(lab.config())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for c in [
        '\u{1b}',
        '\r',
        '\u{9b}',
        '\u{202e}',
        '\u{200b}',
        '\u{E0041}',
    ] {
        assert!(!text.contains(c), "U+{:04X} reached the terminal", c as u32);
    }
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    fn strings(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|v| strings(v, out)),
            Value::Object(o) => o.values().for_each(|v| strings(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    records.iter().for_each(|r| strings(r, &mut all));
    assert!(
        all.iter().any(|s| s.contains(forged)),
        "the exact value is kept: {text}"
    );
}
