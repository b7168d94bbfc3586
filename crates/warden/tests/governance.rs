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
    lab.events(kind)
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
    let expires = unix_now() + 15;
    // The grant permits; an autonomy grant lets the release run unattended (the floor).
    let lab = Lab::with_config(|t| {
        t + &release_grant(&rfc3339(expires))
            + &autonomy("tests-triage-releases", "triage", &["edr.release_host"])
    });
    let warden = lab.serve();
    let triage = warden.client(TRIAGE).await;
    let release = || json!({"host": "ws-103", "reason": "false positive"});

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
    assert_eq!(rules, ["autonomy:tests-triage-releases", "default-deny"]);
    let first = decisions
        .iter()
        .find(|e| e["tool"] == "edr.release_host")
        .unwrap();
    assert_eq!(first["detail"]["permitted_by"], "grant:triage-releases");
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
    let refused = wait_for(&lab, events_via_reader, "policy_reload", 1, 10).await;
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
    let reloads = wait_for(&lab, events_via_reader, "policy_reload", 2, 10).await;
    let applied = &reloads[1];
    assert_eq!(applied["detail"]["applied"], true, "{applied}");
    assert_eq!(applied["detail"]["old"], old.as_str());
    let new = applied["detail"]["new"].as_str().unwrap();
    assert_ne!(new, old);
    // A rule that forbids every call of the tool takes it out of sight: the agent is told
    // it does not exist, and the record names the rule that denied it.
    let refused = triage
        .call("siem.get_alert", json!({"alert_id": "ALR-2001"}))
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("unknown tool"), "{refused}");
    let last = events(&lab, "decision").pop().unwrap();
    assert_eq!(last["rule"], "no-alert-reads", "{last}");
    assert_eq!(last["policy_version"], new);
}

/// Revoking an agent's token is a config edit and a reload: from then on the old token opens
/// nothing, not even the session it opened before, and the new one works.
#[tokio::test]
async fn a_reload_that_replaces_an_agents_token_revokes_the_old_one_at_once() {
    let lab = Lab::new();
    let warden = lab.serve();
    let responder = warden.client(RESPONDER).await;
    let r = responder
        .call("siem.get_alert", json!({"alert_id": "ALR-2001"}))
        .await
        .unwrap();
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    let toml = std::fs::read_to_string(lab.config()).unwrap();
    let old_hash = "172020d4d87bbddb2d3b7339f4963ec18db4b98e6d8580b1d88110de95b58499";
    assert!(toml.contains(old_hash));
    let new_token = "rotated-responder-token";
    let new_hash = hex_sha256(new_token);
    std::fs::write(lab.config(), toml.replace(old_hash, &new_hash)).unwrap();
    hup(&warden);
    let reload = wait_for(&lab, events, "policy_reload", 1, 10).await;
    assert_eq!(reload[0]["detail"]["applied"], true, "{reload:?}");
    // The policy did not change, the configuration did: the record says so, with the digest
    // of the file in force before (the one `config_loaded` recorded at start) and after.
    let detail = &reload[0]["detail"];
    assert_eq!(detail["old"], detail["new"], "{detail}");
    let loaded = events(&lab, "config_loaded");
    let digest = |text: &str| format!("sha256:{}", hex_sha256(text));
    assert_eq!(
        loaded[0]["detail"]["config_digest"],
        digest(&toml),
        "{loaded:?}"
    );
    assert_eq!(detail["old_config_digest"], digest(&toml), "{detail}");
    assert_eq!(
        detail["new_config_digest"],
        digest(&toml.replace(old_hash, &new_hash)),
        "{detail}"
    );
    let status = |token: &'static str| {
        let url = warden.url.clone();
        async move {
            reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .header("content-type", "application/json")
                .header("accept", "application/json, text/event-stream")
                .body(r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"probe","version":"1"}}}"#)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        status(RESPONDER).await,
        401,
        "the revoked token still opens a session"
    );
    assert_eq!(status(new_token).await, 200);
    let after = responder
        .call("siem.get_alert", json!({"alert_id": "ALR-2002"}))
        .await;
    assert!(
        after.is_err() || after.as_ref().unwrap().is_error == Some(true),
        "the session opened with the revoked token still calls: {after:?}"
    );
}

fn hex_sha256(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

/// Stops warden as an operator would (SIGTERM), so it signs a last checkpoint.
fn stop(mut warden: Warden) {
    let ok = Command::new("kill")
        .args(["-TERM", &warden.child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    assert!(warden.child.wait().unwrap().success());
}

fn hup(warden: &Warden) {
    let ok = Command::new("kill")
        .args(["-HUP", &warden.child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

/// The events of `kind`, read with `read`, once there are at least `n` (waits up to `secs`).
async fn wait_for(
    lab: &Lab,
    read: fn(&Lab, &str) -> Vec<Value>,
    kind: &str,
    n: usize,
    secs: u64,
) -> Vec<Value> {
    for _ in 0..secs * 10 {
        let e = read(lab, kind);
        if e.len() >= n {
            return e;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("fewer than {n} `{kind}` events after {secs} s");
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
    // An idle autonomy grant is a permission nobody needed: reported like the others.
    assert!(rules.contains("autonomy:plain-internal-notes"), "{out}");
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

/// `warden review verdict INDEX --correct|--wrong` as `who`, with their lab token.
fn verdict(lab: &Lab, index: u64, flag: &str, who: &str, token: &str) -> (bool, String, String) {
    let index = index.to_string();
    lab.cli_as(
        token,
        &[
            "review",
            "verdict",
            &index,
            flag,
            "--note",
            "checked the incident and the host",
            "--as",
            who,
        ],
    )
}

#[tokio::test]
async fn an_overdue_review_tightens_its_category_until_it_is_reviewed() {
    let lab = Lab::with_config(|t| {
        t.replace(
            "tolerance = 0.10\nfallback = \"approval\"",
            "tolerance = 0.9\nevery = \"15s\"\nfallback = \"approval\"",
        ) + &autonomy(
            "tests-containment",
            "responder",
            &["edr.isolate_host", "edr.release_host"],
        )
    });
    let warden = lab.serve();
    let responder = warden.client(RESPONDER).await;
    let r = responder
        .call("edr.isolate_host", isolate("ws-017", "INC-1042"))
        .await
        .unwrap();
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    assert_eq!(lab.received("edr"), ["isolate_host"]);

    // Never reviewed, and a period has passed since the ledger began: containment tightens.
    let tightened = wait_for(&lab, events, "review_tightening", 1, 30).await;
    assert_eq!(tightened[0]["category"], "containment");
    assert_eq!(tightened[0]["detail"]["state"], "tightened");
    assert_eq!(tightened[0]["detail"]["overdue"], true);
    let r = responder
        .call("edr.isolate_host", isolate("ws-042", "INC-1042"))
        .await
        .unwrap();
    assert_eq!(r.is_error, Some(true));
    let t = text(&r);
    assert!(t.contains("held for approval"), "{t}");
    assert!(
        t.contains("needs approval until it is reviewed: its review is overdue"),
        "{t}"
    );
    assert_eq!(
        lab.received("edr"),
        ["isolate_host"],
        "a tightened call ran"
    );
    let held = events(&lab, "decision").pop().unwrap();
    assert_eq!(held["decision"], "hold");
    assert_eq!(held["rule"], "review:containment");
    assert_eq!(held["owner"], "ir-oncall@northwind.example");
    // Other categories are untouched.
    let r = responder
        .call("siem.get_alert", json!({"alert_id": "ALR-2001"}))
        .await
        .unwrap();
    assert_ne!(r.is_error, Some(true), "{}", text(&r));

    // A reviewer outside containment, or with the wrong token, cannot record a verdict.
    let first = events(&lab, "decision")[0]["index"].as_u64().unwrap();
    let (ok, _, err) = verdict(&lab, first, "--correct", "bob", "lab-bob-token");
    assert!(
        !ok && err.contains("does not review category `containment`"),
        "{err}"
    );
    let (ok, _, err) = verdict(&lab, first, "--correct", "alice", "lab-bob-token");
    assert!(!ok && err.contains("wrong approver or token"), "{err}");
    assert!(events(&lab, "review_verdict").is_empty());

    // Alice reviews: the category relaxes, recorded, and policy decides alone again.
    let (ok, out, err) = verdict(&lab, first, "--correct", "alice", "lab-alice-token");
    assert!(ok, "{err}");
    assert!(out.contains("judged correct by alice"), "{out}");
    let changes = wait_for(&lab, events, "review_tightening", 2, 10).await;
    assert_eq!(changes[1]["detail"]["state"], "relaxed");
    let r = responder
        .call("edr.isolate_host", isolate("ws-042", "INC-1042"))
        .await
        .unwrap();
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    assert_eq!(lab.received("edr"), ["isolate_host", "isolate_host"]);

    // Someone who can write `warden.db` deletes the verdict's leaf. The review state can no
    // longer be read from the record, so every category with the approval fallback needs
    // approval until it can: nothing relaxes on a record that cannot be read.
    lab.tamper(
        "DROP TRIGGER IF EXISTS ledger_leaves_no_delete;
         DELETE FROM ledger_leaves WHERE kind = 'review_verdict'",
    );
    assert!(
        warden
            .wait_for_log("cannot check the review state", 15)
            .is_some()
    );
    let r = responder
        .call("edr.isolate_host", isolate("ws-017", "INC-1042"))
        .await
        .unwrap();
    let t = text(&r);
    assert!(t.contains("held for approval"), "{t}");
    assert!(t.contains("its review state cannot be read"), "{t}");
    assert_eq!(lab.received("edr"), ["isolate_host", "isolate_host"]);
}

/// A review is a second pair of eyes: nobody judges a decision they made themselves. An
/// approver who answered the held call (approving or denying it), or who approved the grant
/// that let it run unattended, cannot record a verdict on it — not on the hold, not on the
/// approved retry that ran; another approver of the category can.
#[tokio::test]
async fn nobody_reviews_a_decision_they_answered_or_granted() {
    let lab = Lab::with_unattended_isolations();
    let warden = lab.serve();
    let responder = warden.client(RESPONDER).await;
    // Unattended under the autonomy grant dana approved.
    let r = responder
        .call("edr.isolate_host", isolate("ws-017", "INC-1042"))
        .await
        .unwrap();
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    // Held; bob approves; the retry runs.
    let (id, args) = disable_held_then_approved(&lab, &responder).await;
    let r = responder.call("idp.disable_account", args).await.unwrap();
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    assert_eq!(lab.received("idp"), ["disable_account"]);

    let decisions = events(&lab, "decision");
    let index_of = |tool: &str, decision: &str| {
        decisions
            .iter()
            .find(|d| d["tool"] == tool && d["decision"] == decision)
            .unwrap()["index"]
            .as_u64()
            .unwrap()
    };
    let isolation = index_of("edr.isolate_host", "allow");
    let hold = index_of("idp.disable_account", "hold");
    let ran = decisions
        .iter()
        .filter(|d| d["tool"] == "idp.disable_account")
        .map(|d| d["index"].as_u64().unwrap())
        .max()
        .unwrap();
    assert_ne!(ran, hold);

    for (index, who) in [(hold, "bob"), (ran, "bob"), (isolation, "dana")] {
        let (ok, _, err) = verdict(&lab, index, "--correct", who, &format!("lab-{who}-token"));
        assert!(
            !ok,
            "{who} judged decision {index}, which they made themselves"
        );
        assert!(err.contains("their own"), "{err}");
    }
    // The grant removed from the config since: the decision recorded who approved it.
    let config = std::fs::read_to_string(lab.config()).unwrap();
    let start = config
        .find("[[autonomy]]\nid = \"tests-isolations\"")
        .unwrap();
    let end = config[start..].find("expires = ").unwrap() + start;
    let end = config[end..].find('\n').unwrap() + end;
    std::fs::write(
        lab.config(),
        format!("{}{}", &config[..start], &config[end..]),
    )
    .unwrap();
    let (ok, _, err) = verdict(&lab, isolation, "--correct", "dana", "lab-dana-token");
    assert!(!ok && err.contains("grant `tests-isolations`"), "{err}");
    assert!(events(&lab, "review_verdict").is_empty());
    // Others may.
    for (index, who) in [(hold, "dana"), (ran, "dana"), (isolation, "alice")] {
        let (ok, _, err) = verdict(&lab, index, "--correct", who, &format!("lab-{who}-token"));
        assert!(ok, "{who} on {index}: {err}");
    }
    assert_eq!(events(&lab, "review_verdict").len(), 3);
    // Someone who can write the database takes the request off the decision's leaf to pass
    // as another reviewer of their own answer: the leaf is no longer what warden appended.
    lab.tamper(&format!(
        "DROP TRIGGER IF EXISTS ledger_leaves_no_update;
         UPDATE ledger_leaves
         SET leaf = CAST(replace(CAST(leaf AS TEXT), '\"request_id\":\"{id}\",', '') AS BLOB)
         WHERE idx = {ran}"
    ));
    let (ok, _, err) = verdict(&lab, ran, "--wrong", "bob", "lab-bob-token");
    // The gateway refuses the leaf and tells the reviewer only that it failed (the operator's
    // log says why).
    assert!(
        !ok && err.contains("the approval desk failed; tell the warden operator"),
        "{err}"
    );
    assert!(
        warden
            .wait_for_log("not stored as warden appended it", 10)
            .is_some(),
        "{:?}",
        warden.log_lines()
    );
    let verdicts: i64 = lab
        .database()
        .query_row(
            "SELECT count(*) FROM ledger_leaves WHERE kind = 'review_verdict'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(verdicts, 3);
}

#[tokio::test]
async fn the_sample_is_reproducible_from_its_checkpoint_and_verdicts_reach_the_reports() {
    // Decisions to sample, not halts: triage reads a flagged alert before its refused
    // isolation, which the monitor would answer by halting it.
    let lab = Lab::with_config(|c| {
        c + &autonomy("tests-isolations", "responder", &["edr.isolate_host"])
            + "\n[monitor.tainted_high_stakes]\naction = \"alert\"\n"
    });
    {
        let warden = lab.serve();
        let triage = warden.client(TRIAGE).await;
        let responder = warden.client(RESPONDER).await;
        for i in 0..12 {
            let id = format!("ALR-20{:02}", i % 10 + 1);
            triage
                .call("siem.get_alert", json!({"alert_id": id}))
                .await
                .unwrap();
        }
        for host in ["ws-017", "dc01"] {
            responder
                .call("edr.isolate_host", isolate(host, "INC-1042"))
                .await
                .unwrap();
        }
        // A tool triage is not shown: refused as unknown, and recorded as a denial.
        let refused = triage
            .call("edr.isolate_host", isolate("ws-017", "INC-1042"))
            .await;
        assert!(refused.is_err(), "{refused:?}");
        // Stopping signs a last checkpoint over everything.
        stop(warden);
    }
    let sample = |extra: &[&str]| {
        let mut args = vec!["review", "sample", "--size", "3"];
        args.extend_from_slice(extra);
        let (ok, out, err) = lab.cli(&args);
        assert!(ok, "{err}");
        out
    };
    let first = sample(&[]);
    assert_eq!(
        first,
        sample(&[]),
        "the same checkpoint must give the same sample"
    );
    let size: u64 = first
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .nth(2)
        .unwrap()
        .parse()
        .unwrap();
    // Stratified: reads, allowed containment and both kinds of denial each get their own draw.
    assert!(first.contains("triage / allow: 3 of 12"), "{first}");
    assert!(first.contains("containment / allow: 1 of 1"), "{first}");
    assert!(first.contains("containment / deny: 2 of 2"), "{first}");

    // More decisions make a new checkpoint and a new population; the old one still re-derives.
    {
        let warden = lab.serve();
        let triage = warden.client(TRIAGE).await;
        triage
            .call("siem.get_alert", json!({"alert_id": "ALR-2001"}))
            .await
            .unwrap();
        stop(warden);
    }
    let latest = sample(&[]);
    assert_ne!(latest, first);
    assert!(latest.contains("triage / allow: 3 of 13"), "{latest}");
    assert_eq!(sample(&["--checkpoint", &size.to_string()]), first);

    // A wrong verdict on the allowed isolation shows in the review and accountability reports.
    let (_, json_out, _) = lab.cli(&["review", "sample", "--json"]);
    let allowed: Value = json_out
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["category"] == "containment" && v["decision"] == "allow")
        .unwrap();
    let index = allowed["index"].as_u64().unwrap();
    // No gateway runs now: the verdict is written to the state directory directly.
    let (ok, _, err) = lab.cli_as(
        "lab-alice-token",
        &[
            "review",
            "verdict",
            &index.to_string(),
            "--wrong",
            "--note",
            "checked the incident and the host",
            "--as",
            "alice",
            "--offline",
        ],
    );
    assert!(ok, "{err}");
    let (ok, report, err) = lab.cli(&["review", "report"]);
    assert!(ok, "{err}");
    let line = report
        .lines()
        .find(|l| l.starts_with("containment"))
        .unwrap();
    // 1 wrong of 1: Wilson [20.7%, 100.0%], far over the 10% tolerated.
    assert!(line.contains("[20.7%, 100.0%]"), "{line}");
    assert!(line.contains("error rate over tolerance"), "{line}");
    assert!(line.contains("→ allowed calls need approval"), "{line}");
    let (ok, acc, err) = lab.cli(&["report", "accountability", "--since", "1d"]);
    assert!(ok, "{err}");
    let at = acc
        .lines()
        .position(|l| l.starts_with(&format!("#{index} ")))
        .unwrap();
    let lines: Vec<&str> = acc.lines().collect();
    // The autonomy grant decided that the isolation could run unattended: it answers for it.
    assert!(
        lines[at].contains("rule autonomy:tests-isolations"),
        "{}",
        lines[at]
    );
    assert!(
        lines[at].contains("owner ir-oncall@northwind.example"),
        "{}",
        lines[at]
    );
    assert!(
        lines[at + 1].contains("review: WRONG by alice"),
        "{}",
        lines[at + 1]
    );
    // Verdicts are ordinary leaves: the whole ledger still verifies.
    let (ok, out, err) = lab.cli(&["audit", "verify"]);
    assert!(ok, "{out}{err}");
}

#[tokio::test]
async fn a_shadow_policy_is_recorded_and_never_changes_a_decision() {
    let lab = Lab::with_config(|t| {
        t.replace(
            "files = [\"policies/soc.cedar\"]",
            "files = [\"policies/soc.cedar\"]\nshadow = [\"policies/next.cedar\"]",
        ) + &autonomy("tests-triage-isolations", "triage", &["edr.isolate_host"])
    });
    let enforced = std::fs::read_to_string(lab.dir.path().join("policies/soc.cedar")).unwrap();
    // The trial set: alert reads are forbidden, and triage may isolate.
    std::fs::write(
        lab.dir.path().join("policies/next.cedar"),
        format!(
            "{enforced}\n@id(\"no-alert-reads\")\nforbid (principal, action == Action::\"siem.get_alert\", resource);\n\
             @id(\"triage-isolates\")\npermit (principal == Agent::\"triage\", action == Action::\"edr.isolate_host\", resource);\n"
        ),
    )
    .unwrap();
    let (ok, out, err) = lab.cli(&["policy", "check"]);
    assert!(ok, "{err}");
    // The shadow set is the enforced one and two more rules.
    let count = |prefix: &str| -> usize {
        let at = out.find(prefix).unwrap() + prefix.len();
        out[at..]
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let enforced_rules = out
        .lines()
        .next()
        .unwrap()
        .split(" rules")
        .next()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .parse::<usize>()
        .unwrap();
    assert_eq!(count("shadow policy: "), enforced_rules + 2, "{out}");
    let warden = lab.serve();
    let triage = warden.client(TRIAGE).await;

    let r = triage
        .call("siem.get_alert", json!({"alert_id": "ALR-2001"}))
        .await
        .unwrap();
    assert_ne!(
        r.is_error,
        Some(true),
        "the shadow's forbid was enforced: {}",
        text(&r)
    );
    let r = triage
        .call("edr.isolate_host", isolate("ws-017", "INC-1042"))
        .await;
    assert!(r.is_err(), "the shadow's permit was enforced: {r:?}");
    assert!(!lab.received("edr").contains(&"isolate_host".to_string()));
    // Where both agree nothing is recorded.
    let r = triage
        .call("siem.search_alerts", json!({"query": "x"}))
        .await
        .unwrap();
    assert_ne!(r.is_error, Some(true), "{}", text(&r));

    let diffs = events(&lab, "shadow_diff");
    assert_eq!(diffs.len(), 2, "{diffs:#?}");
    assert_eq!(diffs[0]["tool"], "siem.get_alert");
    assert_eq!(diffs[0]["detail"]["enforced"], "allow");
    assert_eq!(diffs[0]["detail"]["shadow"], "deny");
    assert_eq!(diffs[0]["detail"]["shadow_rule"], "no-alert-reads");
    assert_eq!(diffs[1]["detail"]["enforced"], "deny");
    assert_eq!(diffs[1]["detail"]["shadow"], "allow");
    // The shadow's permit would let triage isolate, unattended under the autonomy grant.
    assert_eq!(
        diffs[1]["detail"]["shadow_rule"],
        "autonomy:tests-triage-isolations"
    );
    // Each names the decision it shadows.
    let decisions = events(&lab, "decision");
    let shadowed = diffs[1]["detail"]["decision_index"].as_u64().unwrap();
    let d = decisions.iter().find(|d| d["index"] == shadowed).unwrap();
    assert_eq!(d["tool"], "edr.isolate_host");
    assert_eq!(d["decision"], "deny");

    let (ok, report, err) = lab.cli(&["policy", "shadow-report", "--since", "1h"]);
    assert!(ok, "{err}");
    assert!(report.contains("2 differences"), "{report}");
    assert!(report.contains("edr.isolate_host"), "{report}");
    assert!(
        report.contains("shadow allow by autonomy:tests-triage-isolations"),
        "{report}"
    );
    drop(warden);
    let (ok, out, err) = lab.cli(&["audit", "verify"]);
    assert!(ok, "{out}{err}");
    let (ok, out, err) = lab.cli(&["audit", "export", "--format", "ocsf"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("shadow policy would allow `edr.isolate_host` (enforced: deny)"),
        "{out}"
    );
}
