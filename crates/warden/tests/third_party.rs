//! warden in front of an MCP server nobody here wrote: the reference filesystem server from the
//! npm registry (`@modelcontextprotocol/server-filesystem`, installed by `npm ci --prefix
//! tests/interop`), configured as `examples/filesystem/` shows — a draft from `warden init`,
//! then reviewed — and driven through warden by the official TypeScript SDK.
//!
//! The attacks are a compromised evidence collector's: read outside the evidence folder (by an
//! absolute path, by climbing out with `..`), write into it, and reach a tool the review left
//! out. Each is checked on the disk and in the ledger, not only in the answer.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{Lab, Warden, warden_bin};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;

const TOKEN: &str = "evidence-collector-demo-token";
const EXAMPLE_ROOT: &str = "/srv/evidence/logs";
const SECRET: &str = "hunter2-ledger-signing-key";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The filesystem server's executable, as npm installed it.
fn filesystem_server() -> PathBuf {
    let bin = repo().join("tests/interop/node_modules/.bin/mcp-server-filesystem");
    assert!(
        bin.exists(),
        "the reference filesystem server is not installed: run `npm ci --prefix tests/interop`"
    );
    bin
}

/// `warden init` against the filesystem server serving `root`, writing `out`.
fn init(out: &Path, root: &Path) -> (bool, String) {
    let output = Command::new(warden_bin())
        .args(["init", "--server", "evidence", "--out"])
        .arg(out)
        .arg("--command")
        .arg(filesystem_server())
        .arg("--")
        .arg(root)
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A folder of evidence: logs the collector may read, and a secret beside them it may not.
fn evidence() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("evidence/logs");
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::write(
        logs.join("auth.log"),
        "Dec  6 04:12:01 bastion sshd[811]: Failed password for root from 203.0.113.7 port 52211\n",
    )
    .unwrap();
    let secrets = dir.path().join("evidence/secrets");
    std::fs::create_dir_all(&secrets).unwrap();
    std::fs::write(secrets.join("signing.key"), SECRET).unwrap();
    (dir, logs)
}

#[test]
fn init_drafts_a_conservative_config_from_a_server_it_has_never_seen() {
    let (dir, logs) = evidence();
    let out = dir.path().join("evidence.toml");
    let (ok, err) = init(&out, &logs);
    assert!(ok, "warden init failed: {err}");
    let text = std::fs::read_to_string(&out).unwrap();
    let draft: toml::Table = toml::from_str(&text).unwrap();
    let tools = draft["servers"]["evidence"]["tools"].as_table().unwrap();
    let tool = |name: &str| tools[name].as_table().unwrap().clone();

    // The server says read_text_file is read-only and its name agrees: a read.
    let read = tool("read_text_file");
    assert_eq!(read["effect"].as_str(), Some("read"));
    assert_eq!(read["args"]["path"].as_str(), Some("string"));
    assert_eq!(read["args"]["head"].as_str(), Some("long?"));
    assert!(read["pin"].as_str().unwrap().starts_with("sha256:"));
    // Everything else is held as a high-stakes, irreversible write until a human edits it:
    // a write, and a tool the server calls read-only whose name names no read.
    for name in [
        "write_file",
        "move_file",
        "create_directory",
        "directory_tree",
    ] {
        let t = tool(name);
        assert_eq!(t["effect"].as_str(), Some("write"), "{name}");
        assert_eq!(t["stakes"].as_str(), Some("high"), "{name}");
        assert_eq!(t["reversible"].as_bool(), Some(false), "{name}");
    }
    // An argument warden has no type for is left out (so refused), and says so.
    assert!(tool("edit_file")["args"].get("edits").is_none());
    assert!(text.contains("`edits` is not declared"));

    // The skeleton permits this server's reads and nothing else.
    let cedar = std::fs::read_to_string(dir.path().join("evidence.cedar")).unwrap();
    let (permits, _) = cedar.split_once("// Not permitted").unwrap();
    assert!(permits.contains("Action::\"evidence.read_text_file\""));
    for write in ["write_file", "edit_file", "move_file", "directory_tree"] {
        assert!(!permits.contains(&format!("evidence.{write}\"")), "{write}");
    }

    // Never overwrites: a second run fails and leaves the reviewed file as it was.
    std::fs::write(&out, "# reviewed by hand\n").unwrap();
    let (ok, err) = init(&out, &logs);
    assert!(!ok);
    assert!(err.contains("never overwrites"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "# reviewed by hand\n"
    );

    // The draft and its skeleton, as they are, make a config warden accepts.
    std::fs::write(&out, &text).unwrap();
    let base = std::fs::read_to_string(repo().join("examples/filesystem/warden.toml")).unwrap();
    let (base, _) = base.split_once("[servers.evidence]").unwrap();
    let config = dir.path().join("warden.toml");
    std::fs::write(
        &config,
        base.replace("policies/evidence.cedar", "evidence.cedar") + &text,
    )
    .unwrap();
    let check = Command::new(warden_bin())
        .args(["policy", "check", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

/// `examples/filesystem` with its evidence folder at `logs` and the server as npm installed it.
fn example_at(logs: &Path) -> Lab {
    Lab::from_example("filesystem", &["policies/evidence.cedar"], |c| {
        let npx = "command = \"npx\"\nargs = [\"-y\", \"@modelcontextprotocol/server-filesystem@2026.8.31\", \"/srv/evidence/logs\"]";
        assert!(c.contains(npx), "the example's server table changed");
        c.replace(
            npx,
            &format!(
                "command = {}\nargs = [{}]",
                json!(filesystem_server()),
                json!(logs)
            ),
        )
        .replace(EXAMPLE_ROOT, logs.to_str().unwrap())
    })
}

/// The official TypeScript SDK lists the tools and makes `calls` through warden.
fn agent(warden: &Warden, calls: Value) -> Value {
    let out = Command::new("node")
        .arg(repo().join("tests/interop/calls.mjs"))
        .args([&warden.url, TOKEN, &calls.to_string()])
        .output()
        .expect("node must be installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_collector_reads_the_evidence_folder_through_warden_and_nothing_else() {
    let (dir, logs) = evidence();
    let lab = example_at(&logs);
    let warden = Warden::start(&lab.config());
    let secret = dir.path().join("evidence/secrets/signing.key");
    let climbing = logs.join("../secrets/signing.key");
    let planted = logs.join("planted.txt");
    let v = agent(
        &warden,
        json!([
            {"name": "evidence__read_text_file", "arguments": {"path": logs.join("auth.log")}},
            {"name": "evidence__read_text_file", "arguments": {"path": secret}},
            {"name": "evidence__read_text_file", "arguments": {"path": climbing}},
            {"name": "evidence__write_file", "arguments": {"path": planted, "content": "rm -rf /"}},
            {"name": "evidence__read_multiple_files", "arguments": {"paths": [secret]}},
            {"name": "evidence__get_file_info", "arguments": {"path": logs.join("auth.log"), "extra": 1}},
        ]),
    );
    let tools: Vec<&str> = v["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    let results = v["results"].as_array().unwrap();

    // The read inside the folder reaches the server and comes back.
    assert!(tools.contains(&"evidence__read_text_file"), "{tools:?}");
    assert_eq!(results[0]["isError"], json!(false), "{}", results[0]);
    assert!(
        results[0]["text"]
            .as_str()
            .unwrap()
            .contains("Failed password")
    );
    // Outside it, directly or by climbing: refused, and the secret never comes back.
    for (i, what) in [(1, "absolute"), (2, "climbing")] {
        assert!(
            results[i]["isError"] == json!(true) || results[i].get("protocolError").is_some(),
            "{what}: {}",
            results[i]
        );
        assert!(!results[i].to_string().contains(SECRET), "{what}");
    }
    // Writes are not shown and not run: the file is not there.
    assert!(!tools.contains(&"evidence__write_file"), "{tools:?}");
    assert!(!results[3].to_string().contains("Successfully"));
    assert!(!planted.exists(), "a write reached the server");
    // The tool the review left out does not exist for the agent.
    assert!(!tools.contains(&"evidence__read_multiple_files"));
    assert!(!results[4].to_string().contains(SECRET));
    // An argument the config does not declare is refused, not passed on.
    assert!(
        results[5]["isError"] == json!(true) || results[5].get("protocolError").is_some(),
        "{}",
        results[5]
    );

    // The ledger: one allow (the first read), and a refusal for each attack.
    drop(warden);
    let decisions = lab.events("decision");
    let outcome = |tool: &str| -> Vec<String> {
        decisions
            .iter()
            .filter(|e| e["tool"] == json!(tool))
            .map(|e| e["decision"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(
        outcome("evidence.read_text_file")[0],
        "allow",
        "{decisions:?}"
    );
    assert!(
        outcome("evidence.read_text_file")[1..]
            .iter()
            .all(|o| o == "deny"),
        "{decisions:?}"
    );
    assert_eq!(outcome("evidence.write_file"), ["deny"], "{decisions:?}");
}
