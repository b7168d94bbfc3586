//! Interoperability: the official MCP TypeScript SDK (`@modelcontextprotocol/sdk`) lists and
//! calls tools through warden, over Streamable HTTP and over stdio.
//!
//! Needs Node.js and `npm ci --prefix tests/interop` (the test script and CI do this).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn sdk_client(args: &[&str]) -> Value {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop");
    assert!(
        dir.join("node_modules/@modelcontextprotocol/sdk").exists(),
        "the MCP TypeScript SDK is not installed: run `npm ci --prefix tests/interop`"
    );
    let out = Command::new("node")
        .arg(dir.join("client.mjs"))
        .args(args)
        .output()
        .expect("node must be installed");
    assert!(
        out.status.success(),
        "SDK client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn check(v: &Value) {
    let names: Vec<&str> = v["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"siem.get_alert"), "{names:?}");
    assert!(names.contains(&"edr.isolate_host"), "{names:?}");
    let get_alert = v["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "siem.get_alert");
    assert_eq!(
        get_alert.unwrap()["readOnly"],
        true,
        "warden's labels reach the client"
    );
    assert_eq!(v["read"]["isError"], false, "{v}");
    assert!(
        v["read"]["text"].as_str().unwrap().contains("ALR-2001"),
        "{v}"
    );
    assert_eq!(v["forbidden"]["isError"], true, "{v}");
    // forbid wins whoever asks, and the denial names it.
    let why = v["forbidden"]["text"].as_str().unwrap();
    assert!(why.contains("never-isolate-tier0"), "{v}");
    assert!(
        v["unknown"]["protocolError"]
            .as_str()
            .unwrap()
            .contains("unknown tool"),
        "{v}"
    );
}

#[test]
fn the_typescript_sdk_works_through_warden_over_http() {
    let lab = Lab::new();
    let warden = lab.serve();
    let v = sdk_client(&["http", &warden.url, RESPONDER]);
    check(&v);
    assert!(
        lab.received("edr").is_empty(),
        "the denied isolation never reached the EDR"
    );
    assert_eq!(lab.received("siem"), vec!["get_alert"]);
}

#[test]
fn the_typescript_sdk_works_through_warden_over_stdio() {
    let lab = Lab::new();
    let config = lab.config();
    let v = sdk_client(&["stdio", warden_bin(), config.to_str().unwrap()]);
    check(&v);
    assert!(lab.received("edr").is_empty());
}
