//! Interoperability: the official MCP SDKs list and call tools through warden, over Streamable
//! HTTP and over stdio, each in its default mode:
//!
//! - TypeScript, the legacy line (`@modelcontextprotocol/sdk` 1.x): `initialize` and sessions;
//! - TypeScript, the current line (`@modelcontextprotocol/client` 2.x): by default the same
//!   handshake, and with `versionNegotiation: auto` the sessionless 2026-07-28 revision;
//! - Python (`mcp` 2.x), whose default probes `server/discover` and speaks 2026-07-28.
//!
//! Each client sends a `_meta.rationale` with its read, and the ledger must hold it: the reason
//! an agent gives is evidence for approvers and auditors, whichever revision carried it.
//!
//! Needs Node.js and `npm ci --prefix tests/interop`, and Python with the SDK in
//! `tests/interop-py/.venv` (`scripts/test` and CI install both).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// An official SDK client, as the scripts under `tests/` drive it.
#[derive(Clone, Copy, Debug)]
enum Sdk {
    TypeScriptV1,
    TypeScriptV2,
    TypeScriptV2Auto,
    Python,
}

impl Sdk {
    /// The revision the client ends up speaking with warden.
    fn speaks_sessionless(self) -> bool {
        matches!(self, Sdk::TypeScriptV2Auto | Sdk::Python)
    }
}

fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests")
}

fn sdk_client(sdk: Sdk, args: &[&str]) -> Value {
    let dir = tests_dir();
    let mut command = match sdk {
        Sdk::Python => {
            let python = dir.join("interop-py/.venv/bin/python");
            assert!(
                python.exists(),
                "the MCP Python SDK is not installed: run ./scripts/test, or \
                 `python3 -m venv tests/interop-py/.venv && \
                 tests/interop-py/.venv/bin/pip install -r tests/interop-py/requirements.txt`"
            );
            let mut c = Command::new(python);
            c.arg(dir.join("interop-py/client.py"));
            c
        }
        ts => {
            let package = match ts {
                Sdk::TypeScriptV1 => "sdk",
                _ => "client",
            };
            assert!(
                dir.join("interop/node_modules/@modelcontextprotocol")
                    .join(package)
                    .exists(),
                "the MCP TypeScript SDK is not installed: run `npm ci --prefix tests/interop`"
            );
            let mut c = Command::new("node");
            c.arg(dir.join("interop/client.mjs")).arg(match ts {
                Sdk::TypeScriptV1 => "v1",
                Sdk::TypeScriptV2 => "v2",
                _ => "v2-auto",
            });
            c
        }
    };
    let out = command
        .args(args)
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("the SDK's runtime must be installed");
    assert!(
        out.status.success(),
        "{sdk:?} client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn check(sdk: Sdk, v: &Value) {
    let protocol = v["protocol"].as_str().unwrap_or_default();
    assert_eq!(
        protocol == "2026-07-28",
        sdk.speaks_sessionless(),
        "{sdk:?} spoke {protocol}"
    );
    let names: Vec<&str> = v["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"siem__get_alert"), "{names:?}");
    assert!(names.contains(&"edr__isolate_host"), "{names:?}");
    let get_alert = v["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "siem__get_alert");
    assert_eq!(
        get_alert.unwrap()["readOnly"],
        true,
        "warden's labels reach the client"
    );
    // The client accepted the result (a result without the revision's `resultType` is
    // rejected by the 2026-07-28 clients after the upstream has already run the call).
    assert_eq!(v["read"]["isError"], false, "{sdk:?}: {v}");
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

/// The read's decision in the ledger carries the rationale the client sent in `_meta`.
fn rationale_recorded(lab: &Lab, sdk: Sdk) {
    let read = lab
        .events("decision")
        .into_iter()
        .find(|e| e["tool"] == "siem.get_alert")
        .expect("the read was decided");
    assert_eq!(
        read["rationale"], "triage of ALR-2001",
        "{sdk:?}: the agent's reason reaches the ledger: {read}"
    );
}

fn over_http(sdk: Sdk) {
    let lab = Lab::new();
    let warden = lab.serve();
    let v = sdk_client(sdk, &["http", &warden.url, RESPONDER]);
    check(sdk, &v);
    rationale_recorded(&lab, sdk);
    assert!(
        lab.received("edr").is_empty(),
        "the denied isolation never reached the EDR"
    );
    assert_eq!(lab.received("siem"), vec!["get_alert"]);
}

fn over_stdio(sdk: Sdk) {
    // The responder, as over HTTP: the agent that may ask to isolate, and so sees the tool.
    let lab = Lab::with_config(|c| {
        assert!(c.contains("[stdio]\nagent = \"triage\""));
        c.replace(
            "[stdio]\nagent = \"triage\"",
            "[stdio]\nagent = \"responder\"",
        )
    });
    let config = lab.config();
    let v = sdk_client(sdk, &["stdio", warden_bin(), config.to_str().unwrap()]);
    check(sdk, &v);
    rationale_recorded(&lab, sdk);
    assert!(lab.received("edr").is_empty());
}

#[test]
fn the_legacy_typescript_sdk_works_through_warden_over_http() {
    over_http(Sdk::TypeScriptV1);
}

#[test]
fn the_legacy_typescript_sdk_works_through_warden_over_stdio() {
    over_stdio(Sdk::TypeScriptV1);
}

#[test]
fn the_current_typescript_sdk_works_through_warden_over_http() {
    over_http(Sdk::TypeScriptV2);
}

#[test]
fn the_current_typescript_sdk_speaks_the_sessionless_revision_through_warden() {
    over_http(Sdk::TypeScriptV2Auto);
}

#[test]
fn the_current_typescript_sdk_works_through_warden_over_stdio() {
    over_stdio(Sdk::TypeScriptV2);
}

#[test]
fn the_python_sdk_works_through_warden_over_http() {
    over_http(Sdk::Python);
}

#[test]
fn the_python_sdk_works_through_warden_over_stdio() {
    over_stdio(Sdk::Python);
}

/// A legacy-line MCP server (`@modelcontextprotocol/sdk` 1.x over Streamable HTTP), running
/// until dropped; its URL.
struct LegacyServer {
    child: std::process::Child,
    url: String,
}

impl LegacyServer {
    fn start() -> Self {
        use std::io::BufRead;
        let dir = tests_dir().join("interop");
        let mut child = Command::new("node")
            .arg(dir.join("legacy-server.mjs"))
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("node must be installed");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        Self {
            child,
            url: line.trim().to_string(),
        }
    }
}

impl Drop for LegacyServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn lab_with_siem_at(url: &str, protocol: Option<&str>) -> Lab {
    let protocol = protocol.map_or(String::new(), |p| format!("protocol = \"{p}\"\n"));
    Lab::with_siem(&format!("url = \"{url}\"\n{protocol}"))
}

/// warden probes an HTTP upstream for the sessionless revision and falls back to the handshake
/// when the server knows only that: a legacy server behind warden keeps working.
#[tokio::test]
async fn a_legacy_http_upstream_is_reached_through_the_handshake() {
    let legacy = LegacyServer::start();
    let lab = lab_with_siem_at(&legacy.url, None);
    let warden = lab.serve();
    let agent = warden.client(RESPONDER).await;
    let r = agent
        .call(
            "siem.get_alert",
            serde_json::json!({"alert_id": "ALR-2001"}),
        )
        .await
        .unwrap();
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    assert!(
        text(&r).contains("Alert ALR-2001 from a legacy server"),
        "{}",
        text(&r)
    );
}

/// `protocol = "2026-07-28"` pins the sessionless revision: a server that does not offer it is
/// not connected to, and the agent gets an error rather than a call in another era.
#[tokio::test]
async fn an_upstream_pinned_to_the_sessionless_revision_must_offer_it() {
    let legacy = LegacyServer::start();
    let lab = lab_with_siem_at(&legacy.url, Some("2026-07-28"));
    let warden = lab.serve();
    let agent = warden.client(RESPONDER).await;
    let r = agent
        .call(
            "siem.get_alert",
            serde_json::json!({"alert_id": "ALR-2001"}),
        )
        .await;
    let refused = match &r {
        Err(_) => true,
        Ok(r) => r.is_error == Some(true),
    };
    assert!(refused, "{r:?}");
}
