//! Governance over the wire: grants that expire while warden runs, policy reloads on SIGHUP,
//! unused permissions, review sampling and verdicts, auto-tightening and shadow policy.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use serde_json::{Value, json};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .try_into()
        .unwrap()
}

fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn events(lab: &Lab, kind: &str) -> Vec<Value> {
    let (ok, out, err) = lab.cli(&["audit", "show", "--kind", kind]);
    assert!(ok, "{err}");
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Events of `kind` read through `reader.toml`: the lab's config with the original policy, so
/// the audit log stays readable while a test breaks the served policy file.
fn events_via_reader(lab: &Lab, kind: &str) -> Vec<Value> {
    let out = Command::new(warden_bin())
        .args(["audit", "show", "--kind", kind, "--config"])
        .arg(lab.dir.path().join("reader.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn release_grant(expires: &str) -> String {
    format!(
        r#"
[[grants]]
id = "triage-releases"
agent = "triage"
tools = ["edr.release_host"]
justification = "EDR tuning week: triage releases false-positive isolations (CHG-2291)"
approver = "alice"
expires = "{expires}"
"#
    )
}

#[tokio::test]
async fn an_expired_grant_stops_permitting_without_a_restart() {
    let expires = unix_now() + 6;
    let lab = Lab::with_config(|t| t + &release_grant(&rfc3339(expires)));
    let warden = lab.serve();
    let triage = warden.client(TRIAGE).await;
    let release = || json!({"host": "ws-017", "reason": "false positive"});

    let r = triage.call("edr.release_host", release()).await.unwrap();
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    assert_eq!(
        lab.received("edr")
            .iter()
            .filter(|t| *t == "release_host")
            .count(),
        1
    );

    // Same process, same session: past the expiry the grant no longer permits.
    while unix_now() <= expires {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let r = triage.call("edr.release_host", release()).await.unwrap();
    assert_eq!(r.is_error, Some(true));
    assert!(
        text(&r).contains("no rule permits this call"),
        "{}",
        text(&r)
    );
    assert_eq!(
        lab.received("edr")
            .iter()
            .filter(|t| *t == "release_host")
            .count(),
        1,
        "the expired grant let a call through"
    );
    let decisions = events(&lab, "decision");
    let rules: Vec<&str> = decisions
        .iter()
        .filter(|e| e["tool"] == "edr.release_host")
        .map(|e| e["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["grant:triage-releases", "default-deny"]);
}

#[tokio::test]
async fn sighup_reloads_the_policy_and_records_both_hashes() {
    let lab = Lab::new();
    let warden = lab.serve();
    let triage = warden.client(TRIAGE).await;
    let r = triage
        .call("siem.get_alert", json!({"alert_id": "ALR-2001"}))
        .await
        .unwrap();
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    let (_, before, _) = lab.cli(&["policy", "check"]);
    let old = before.lines().next().unwrap();
    let old = old
        .split("policy version ")
        .nth(1)
        .unwrap()
        .trim()
        .to_string();

    // A broken file is refused and the old policy stays in force.
    let policy = lab.dir.path().join("policies/soc.cedar");
    let original = std::fs::read_to_string(&policy).unwrap();
    std::fs::write(lab.dir.path().join("policies/reader.cedar"), &original).unwrap();
    let toml = std::fs::read_to_string(lab.config()).unwrap();
    std::fs::write(
        lab.dir.path().join("reader.toml"),
        toml.replace("policies/soc.cedar", "policies/reader.cedar"),
    )
    .unwrap();
    std::fs::write(&policy, format!("{original}\nthis is not cedar")).unwrap();
    hup(&warden);
    let refused = wait_for(&lab, "policy_reload", 1).await;
    assert_eq!(refused[0]["detail"]["applied"], false);
    assert_eq!(refused[0]["detail"]["old"], old.as_str());
    let r = triage
        .call("siem.get_alert", json!({"alert_id": "ALR-2001"}))
        .await
        .unwrap();
    assert_ne!(r.is_error, Some(true), "{}", text(&r));

    // A valid change applies to the next call of the same session.
    std::fs::write(
        &policy,
        format!(
            "{original}\n@id(\"no-alert-reads\")\nforbid (principal, action == Action::\"siem.get_alert\", resource);\n"
        ),
    )
    .unwrap();
    hup(&warden);
    let reloads = wait_for(&lab, "policy_reload", 2).await;
    let applied = &reloads[1];
    assert_eq!(applied["detail"]["applied"], true, "{applied}");
    assert_eq!(applied["detail"]["old"], old.as_str());
    let new = applied["detail"]["new"].as_str().unwrap();
    assert_ne!(new, old);
    let r = triage
        .call("siem.get_alert", json!({"alert_id": "ALR-2001"}))
        .await
        .unwrap();
    assert_eq!(r.is_error, Some(true));
    assert!(text(&r).contains("no-alert-reads"), "{}", text(&r));
    let last = events(&lab, "decision").pop().unwrap();
    assert_eq!(last["policy_version"], new);
}

fn hup(warden: &Warden) {
    let ok = Command::new("kill")
        .args(["-HUP", &warden.child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

/// The events of `kind` once there are at least `n` (waits up to ten seconds).
async fn wait_for(lab: &Lab, kind: &str, n: usize) -> Vec<Value> {
    for _ in 0..100 {
        let e = events_via_reader(lab, kind);
        if e.len() >= n {
            return e;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("fewer than {n} `{kind}` events");
}

#[tokio::test]
async fn unused_permissions_are_listed() {
    let lab = Lab::new();
    {
        let warden = lab.serve();
        let triage = warden.client(TRIAGE).await;
        let r = triage
            .call("siem.search_alerts", json!({"query": "phishing"}))
            .await
            .unwrap();
        assert_ne!(r.is_error, Some(true), "{}", text(&r));
    }
    let (ok, out, err) = lab.cli(&["policy", "unused", "--days", "30"]);
    assert!(ok, "{err}");
    let (rules, pairs) = out.split_once("agents' permitted tools").unwrap();
    // The grant and the containment rules were never used; reading was.
    assert!(
        rules.contains("grant:triage-enables-after-false-positive"),
        "{out}"
    );
    assert!(rules.contains("isolate-hosts-in-open-incident"), "{out}");
    assert!(!rules.contains("agents-may-read"), "{out}");
    let pair = |agent: &str, tool: &str| {
        pairs
            .lines()
            .any(|l| l.split_whitespace().take(2).eq([agent, tool]))
    };
    assert!(!pair("triage", "siem.search_alerts"), "{out}");
    assert!(pair("triage", "siem.get_alert"), "{out}");
    assert!(pair("triage", "idp.enable_account"), "{out}");
    assert!(pair("responder", "edr.isolate_host"), "{out}");
    assert!(!pair("triage", "edr.isolate_host"), "{out}");
}
