//! Upstreams that fail: a Streamable HTTP upstream that hangs, then crashes. The agent gets an
//! error within the configured timeout, and warden keeps serving its other tools.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[tokio::test]
async fn a_hung_or_crashed_upstream_gives_an_error_and_warden_keeps_serving() {
    let state = tempfile::tempdir().unwrap();
    let mut edr = Command::new(warden_bin())
        .args([
            "lab",
            "server",
            "edr",
            "--http",
            "127.0.0.1:0",
            "--state-dir",
        ])
        .arg(state.path())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(edr.stderr.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().unwrap().unwrap();
        if let Some(rest) = line.strip_prefix("lab edr: listening on ") {
            break rest.to_string();
        }
    };
    let lab = Lab::with_config(|c| {
        let edr_stdio = "[servers.edr]\ncommand = \"@self\"\nargs = [\"lab\", \"server\", \"edr\", \"--state-dir\", \"{config_dir}/state/lab\"]\n";
        assert!(c.contains(edr_stdio));
        c.replace(edr_stdio, &format!("[servers.edr]\nurl = \"{url}\"\n"))
            .replace("upstream_timeout_secs = 30", "upstream_timeout_secs = 2")
    });
    let warden = lab.serve();
    let client = warden.client(TRIAGE).await;

    // Over HTTP, the upstream answers.
    let r = client
        .call("edr.get_host", json!({"host": "ws-042"}))
        .await
        .unwrap();
    assert_ne!(r.is_error, Some(true), "{}", text(&r));

    // Frozen upstream: an error after the timeout, not a hang.
    let pid = edr.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-STOP", &pid])
            .status()
            .unwrap()
            .success()
    );
    let started = Instant::now();
    let r = client
        .call("edr.get_host", json!({"host": "ws-017"}))
        .await
        .unwrap();
    assert_eq!(r.is_error, Some(true));
    assert!(
        text(&r).contains("did not answer within 2 s"),
        "{}",
        text(&r)
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    let r = client
        .call("siem.get_alert", json!({"alert_id": "ALR-2001"}))
        .await
        .unwrap();
    assert_ne!(
        r.is_error,
        Some(true),
        "other upstreams still work: {}",
        text(&r)
    );

    // Crashed upstream: an error, and warden is still there.
    Command::new("kill").args(["-CONT", &pid]).status().unwrap();
    edr.kill().unwrap();
    edr.wait().unwrap();
    let r = client
        .call("edr.get_host", json!({"host": "ws-042"}))
        .await
        .unwrap();
    assert_eq!(r.is_error, Some(true));
    assert!(text(&r).contains("upstream `edr`"), "{}", text(&r));
    let r = client
        .call("siem.get_alert", json!({"alert_id": "ALR-2001"}))
        .await
        .unwrap();
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
}
