//! The approvers' console in a real browser (Debian's Chromium driven by playwright-core): an
//! approver signs in, approves a held isolation, and the lab's host is isolated when the agent
//! retries. A forged decision without the CSRF token, and one without a session, are refused.
//!
//! Needs `/usr/bin/chromium` (or `CHROMIUM`) and `npm ci --prefix tests/browser`; `.ci/run`
//! installs both. `WARDEN_SCREENSHOTS=DIR` saves screenshots of the console there.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

#[tokio::test]
async fn an_approver_approves_a_held_isolation_in_the_browser() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser");
    assert!(
        dir.join("node_modules/playwright-core").exists(),
        "playwright-core is not installed: run `npm ci --prefix tests/browser`"
    );
    // This test is about the console: the monitor only alerts on the tainted session's
    // high-stakes call, instead of halting the session (which would expire the request).
    let lab = Lab::with_config(|c| c + "\n[monitor.tainted_high_stakes]\naction = \"alert\"\n");
    let warden = lab.serve();
    let agent = warden.client(RESPONDER).await;

    // The agent reads a phishing email, so its session is tainted: its isolation is held.
    agent
        .call("mail.read_message", json!({"message_id": "MSG-3001"}))
        .await
        .unwrap();
    let args = isolate("ws-042", "INC-1042");
    let r = agent.call("edr.isolate_host", args.clone()).await.unwrap();
    let t = text(&r);
    assert!(t.contains("held for approval"), "{t}");
    let start = t.find("request `").unwrap() + "request `".len();
    let id = t[start..].split('`').next().unwrap().to_string();
    assert!(!lab.host_isolated("ws-042"));

    let mut cmd = Command::new("node");
    cmd.arg(dir.join("console.mjs")).arg(warden.base()).arg(&id);
    if let Ok(shots) = std::env::var("WARDEN_SCREENSHOTS") {
        cmd.arg(shots);
    }
    let out = cmd.output().expect("node must be installed");
    assert!(
        out.status.success(),
        "browser run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();

    assert!(
        seen["signedInAs"].as_str().unwrap().contains("Alice"),
        "{seen}"
    );
    assert_eq!(seen["pendingListed"], true, "{seen}");
    assert_eq!(seen["tool"], "edr.isolate_host", "{seen}");
    assert!(seen["args"].as_str().unwrap().contains("ws-042"), "{seen}");
    assert_eq!(seen["untrustedWarning"], true, "{seen}");
    assert!(
        seen["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e.as_str().unwrap().contains("mail.read_message")),
        "the approver sees what the agent read: {seen}"
    );
    assert_eq!(seen["withoutCsrf"], 403, "{seen}");
    assert_eq!(seen["withoutSession"], 401, "{seen}");
    assert_eq!(seen["status"], "approved", "{seen}");
    assert!(
        !lab.host_isolated("ws-042"),
        "refused requests changed nothing"
    );

    let r = agent.call("edr.isolate_host", args).await.unwrap();
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    assert!(lab.host_isolated("ws-042"));
    assert_eq!(
        lab.received("edr")
            .iter()
            .filter(|t| *t == "isolate_host")
            .count(),
        1
    );
}
