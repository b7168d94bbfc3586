#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! warden's own files, named by a call of Claude Code's tools, are denied whatever the policy
//! says, however the config was named when warden started.

use serde_json::{Map, Value, json};
use std::path::Path;
use warden_core::{Principal, ToolName};
use warden_policy::{CallState, Config};

fn decide(config: &Config, command: &str) -> String {
    let args: Map<String, Value> = json!({ "command": command }).as_object().cloned().unwrap();
    let d = config.engine.decide(
        &Principal("investigator".into()),
        &ToolName::parse("claude.bash").unwrap(),
        &args,
        "s1",
        &CallState::default(),
    );
    d.rule().to_string()
}

/// The example started as its README says, `--config examples/claude-code/warden.toml`: a
/// relative path, from which every file of warden's is found once (not under the config's
/// folder twice).
#[test]
fn a_config_named_by_a_relative_path_protects_its_files() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let relative = Path::new("../../examples/claude-code/warden.toml");
    assert!(relative.exists(), "the tests run in the crate's folder");
    let config = Config::load(relative).unwrap();
    let state = std::path::absolute(repo.join("examples/claude-code/state"))
        .unwrap()
        .to_string_lossy()
        .replace("/crates/warden-policy/../..", "");
    for command in [
        format!("cat {state}/ledger.key"),
        format!("grep -ra token {state}/.."),
        format!("cat /proc/self/root{state}/ledger.key"),
        "cat /proc/3*/environ".to_string(),
        "strings /proc/*/fd/*".to_string(),
    ] {
        assert_eq!(decide(&config, &command), "warden-own-files", "{command}");
    }
    assert_ne!(
        decide(&config, "cat /cases/c-101/notes.md"),
        "warden-own-files"
    );
}
