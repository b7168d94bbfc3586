//! The command line as a person meets it: a pipe closed early, empty listings, times people
//! read, `--json` for programs, the lab folder it writes, the missing token, the start banner,
//! `hash` and `completions`. Each through the real binary.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

const HOUR: i64 = 3_600_000;

/// RFC 3339 of a Unix time in milliseconds, as warden prints it.
fn rfc3339(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(ms / 1000).unwrap();
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    t.format(&format).unwrap()
}

/// `warden ARGS` in `dir` with no config given: the bundled lab of that folder.
fn in_folder(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(warden_bin())
        .args(args)
        .current_dir(dir)
        .env_remove("WARDEN_CONFIG")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `warden ARGS --config lab` with `input` on stdin.
fn with_stdin(args: &[&str], input: &str) -> (bool, String, String) {
    let mut child = Command::new(warden_bin())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn halt_responder(lab: &Lab) {
    let (ok, out, err) = lab.cli_as(
        "lab-dana-token",
        &[
            "halt",
            "--agent",
            "responder",
            "--reason",
            "suspected injection",
            "--as",
            "dana",
            "--offline",
        ],
    );
    assert!(ok, "{out}{err}");
}

/// A held call, as the gate stores it, asked `asked_ago` ms ago and expiring `expires_in` ms
/// from now.
fn hold(lab: &Lab, id: &str, asked_ago: i64, expires_in: i64) {
    hold_with(
        lab,
        id,
        asked_ago,
        expires_in,
        json!({"host": "ws-042", "incident": "INC-1042"}),
        "credential theft on ws-042",
    );
}

/// [`hold`] with the agent's own arguments and rationale.
fn hold_with(lab: &Lab, id: &str, asked_ago: i64, expires_in: i64, args: Value, rationale: &str) {
    use warden_store::Store;
    let now = now_ms();
    let request: warden_store::PendingRequest = serde_json::from_value(json!({
        "id": id,
        "created_ms": now - asked_ago,
        "principal": "responder",
        "session": "sess-1",
        "tool": "edr.isolate_host",
        "args": args,
        "args_digest": "sha256:00",
        "policy_version": "v1",
        "rule": "floor:high-stakes",
        "approval": "required",
        "status": "pending",
        "rationale": rationale,
        "category": "containment",
        "stakes": "high",
        "owner": "ir-oncall@northwind.example",
        "expires_ms": now + expires_in,
    }))
    .unwrap();
    lab.store().create_pending(&request).unwrap();
}

#[test]
fn a_reader_that_closes_the_pipe_early_ends_the_output_not_in_a_panic() {
    let lab = Lab::new();
    halt_responder(&lab);
    for args in [
        vec!["audit", "show"],
        vec!["halt", "list"],
        vec!["tools", "list"],
    ] {
        let mut child = Command::new(warden_bin())
            .args(&args)
            .arg("--config")
            .arg(lab.config())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // `| head -0`: the reader is gone before warden prints anything.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(!err.contains("Broken pipe"), "{args:?}: {err}");
        // Ended quietly, with success: never killed by SIGPIPE, a signal that would also kill
        // it at any write to a PostgreSQL or TLS peer that has reset the connection.
        assert!(out.status.success(), "{args:?}: {:?} {err}", out.status);
    }
}

/// Bytes a terminal acts on, or that reorder or hide what a reader sees: ESC, CR, the C1 CSI
/// (U+009B), a right-to-left override (U+202E) and a zero-width space.
fn terminal_controls(text: &str) -> Vec<char> {
    text.chars()
        .filter(|c| matches!(c, '\u{1b}' | '\r' | '\u{9b}' | '\u{202e}' | '\u{200b}'))
        .collect()
}

/// Review 37: the agent writes the rationale and the argument values, and `approvals show`
/// printed them to the approver's terminal as they were. An escape sequence in the rationale
/// moved the cursor up and rewrote the `arguments` line, so the approver read one user's name
/// and approved the disabling of another; C1 controls and bidi overrides in the arguments went
/// through too. A row as a warden without the front's check stored it (or as a database writer
/// leaves it): every human view prints each hidden character as `⟦U+XXXX⟧`, the JSON for
/// programs keeps the exact value in JSON escapes, and the real arguments are what is read.
#[test]
fn what_an_agent_wrote_cannot_rewrite_the_approvers_terminal() {
    let lab = Lab::new();
    let forged = "\u{1b}[10A\r\u{1b}[2Karguments  {\"host\":\"ws-999\",\"incident\":\"INC-1042\"}\
                  \u{1b}[10B\r\u{1b}[2Krationale  routine\r\nanswer     dana approved";
    let args = json!({"host": "ws-042", "incident": "INC-1042 \u{9b}2J\u{202e}gnp.exe\u{200b}"});
    hold_with(&lab, "apr_forged", 60_000, 600_000, args.clone(), forged);

    let (ok, out, err) = lab.cli(&["approvals", "show", "--offline", "apr_forged"]);
    assert!(ok, "{err}");
    assert_eq!(terminal_controls(&out), Vec::<char>::new(), "{out}");
    let arguments: Vec<&str> = out.lines().filter(|l| l.starts_with("arguments")).collect();
    assert_eq!(
        arguments.len(),
        1,
        "one arguments line, the real one: {out}"
    );
    assert!(arguments[0].contains("\"host\":\"ws-042\""), "{out}");
    assert!(
        arguments[0].contains("INC-1042 ⟦U+009B⟧2J⟦U+202E⟧gnp.exe⟦U+200B⟧"),
        "{out}"
    );
    assert!(
        out.contains("rationale  ⟦U+001B⟧[10A⟦U+000D⟧⟦U+001B⟧[2Karguments"),
        "{out}"
    );
    assert!(
        !out.lines().any(|l| l.starts_with("answer")),
        "a line of the rationale is indented under it, not a field: {out}"
    );

    let (ok, out, err) = lab.cli(&["approvals", "list", "--offline"]);
    assert!(ok, "{err}");
    assert_eq!(terminal_controls(&out), Vec::<char>::new(), "{out}");
    assert!(out.contains("⟦U+202E⟧gnp.exe"), "{out}");

    for json in [
        lab.cli(&["approvals", "show", "--offline", "apr_forged", "--json"])
            .1,
        lab.cli(&["approvals", "list", "--offline", "--json"]).1,
    ] {
        assert_eq!(terminal_controls(&json), Vec::<char>::new(), "{json}");
        let r: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(r["rationale"], forged, "a program reads the exact value");
        assert_eq!(r["args"], args);
    }
}

#[test]
fn empty_listings_say_none_on_stdout_for_people_and_on_stderr_for_programs() {
    let lab = Lab::new();
    for (args, none) in [
        (vec!["halt", "list"], "no active halts"),
        (
            vec!["approvals", "list", "--offline"],
            "no pending requests",
        ),
        (
            vec!["approvals", "list", "--all", "--offline"],
            "no requests",
        ),
        (vec!["taint", "list"], "no tainted agents"),
        (vec!["audit", "checkpoints"], "no checkpoints yet"),
    ] {
        let (ok, out, err) = lab.cli(&args);
        assert!(ok, "{args:?}: {err}");
        assert_eq!(out.trim(), none, "{args:?}");
        let mut json = args.clone();
        json.push("--json");
        let (ok, out, err) = lab.cli(&json);
        assert!(ok, "{json:?}: {err}");
        assert_eq!(out, "", "{json:?}: a pipe reads nothing");
        assert!(err.contains(none), "{json:?}: {err}");
    }
    // `audit show` prints JSON lines only: an empty answer is said on stderr.
    let (ok, out, err) = lab.cli(&["audit", "show", "--tool", "nowhere.nothing"]);
    assert!(ok, "{err}");
    assert_eq!(out, "");
    assert!(err.contains("no events match"), "{err}");
}

#[test]
fn listings_print_rfc3339_times_with_how_long_ago_and_json_for_programs() {
    let lab = Lab::new();
    let now = now_ms();
    let (at, until) = (now - 3 * HOUR - HOUR / 2, now + 20 * HOUR + HOUR / 2);
    lab.taint("responder", "sess-a", 80, at, until);
    let (ok, out, err) = lab.cli(&["taint", "list"]);
    assert!(ok, "{err}");
    assert!(
        out.contains(&format!("since {} (3 h ago)", rfc3339(at))),
        "{out}"
    );
    assert!(
        out.contains(&format!("until {} (in 20 h)", rfc3339(until))),
        "{out}"
    );
    let (ok, out, err) = lab.cli(&["taint", "list", "--json"]);
    assert!(ok, "{err}");
    let t: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(t["agent"], "responder");
    assert_eq!(t["level"], 80);
    assert_eq!(t["at_ms"], at);
    assert_eq!(t["until_ms"], until);
    assert!(t["record"].as_i64().is_some_and(|r| r > 0), "{t}");
    assert_eq!(t["records"], 1);

    hold(&lab, "apr_test1", 10 * 60_000 + 30_000, 4 * 60_000 + 30_000);
    let (ok, out, err) = lab.cli(&["approvals", "list", "--offline"]);
    assert!(ok, "{err}");
    assert!(out.starts_with("apr_test1  pending"), "{out}");
    assert!(out.contains(" (10 min ago)"), "{out}");
    assert!(out.contains("expires 20"), "{out}");
    assert!(out.contains(" (in 4 min)"), "{out}");
    assert!(
        !out.contains(&now.to_string()[..6]),
        "no raw milliseconds: {out}"
    );
    let (ok, out, err) = lab.cli(&["approvals", "list", "--offline", "--json"]);
    assert!(ok, "{err}");
    let r: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(r["id"], "apr_test1");
    assert!(r["created_ms"].is_i64());

    let (ok, out, err) = lab.cli(&["approvals", "show", "--offline", "apr_test1"]);
    assert!(ok, "{err}");
    for line in [
        "request    apr_test1",
        "status     pending",
        "tool       edr.isolate_host",
        "rule       `floor:high-stakes` (required)",
        "approvals  0 of 1",
        "rationale  credential theft on ws-042",
    ] {
        assert!(out.contains(line), "{line}: {out}");
    }
    assert!(out.contains("asked      20"), "{out}");
    assert!(out.contains("(10 min ago)"), "{out}");
    assert!(!out.contains("created_ms"), "{out}");
    let (ok, out, err) = lab.cli(&["approvals", "show", "--offline", "apr_test1", "--json"]);
    assert!(ok, "{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["status"], "pending");

    halt_responder(&lab);
    let (ok, out, err) = lab.cli(&["halt", "list"]);
    assert!(ok, "{err}");
    assert!(
        out.starts_with("agent:responder  by dana  since 20"),
        "{out}"
    );
    assert!(out.contains("Z (now)") || out.contains(" s ago)"), "{out}");
    let (ok, out, err) = lab.cli(&["halt", "list", "--json"]);
    assert!(ok, "{err}");
    let h: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(h["scope"], "agent:responder");
    assert_eq!(h["set_by"], "dana");
    assert!(h["created_ms"].as_i64().unwrap() >= now);
}

#[test]
fn tools_list_json_gives_each_tool_and_its_status() {
    let lab = Lab::new();
    let (ok, out, err) = lab.cli(&["tools", "list", "--json"]);
    assert!(ok, "{err}");
    let tools: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let isolate = tools
        .iter()
        .find(|t| t["name"] == "edr.isolate_host")
        .expect("edr.isolate_host listed");
    assert_eq!(isolate["effect"], "write");
    assert_eq!(isolate["stakes"], "high");
    assert_eq!(isolate["category"], "containment");
    assert_eq!(isolate["status"], "available");
    assert!(tools.iter().all(|t| t["status"] == "available"), "{out}");
}

#[test]
fn stored_checkpoints_are_listed_with_the_sizes_consistency_takes() {
    let lab = Lab::new();
    halt_responder(&lab);
    let (ok, out, err) = lab.cli_as(
        "lab-dana-token",
        &[
            "resume",
            "agent:responder",
            "--reason",
            "cleared",
            "--as",
            "dana",
            "--offline",
        ],
    );
    assert!(ok, "{out}{err}");
    let (ok, out, err) = lab.cli(&["audit", "checkpoints", "--json"]);
    assert!(ok, "{err}");
    let checkpoints: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(checkpoints.len() >= 2, "{out}");
    let (first, last) = (&checkpoints[0], &checkpoints[checkpoints.len() - 1]);
    assert!(first["size"].as_u64().unwrap() < last["size"].as_u64().unwrap());
    assert!(last["root"].as_str().unwrap().len() >= 40);
    let (ok, out, err) = lab.cli(&["audit", "checkpoints"]);
    assert!(ok, "{err}");
    let line = out.lines().last().unwrap();
    assert!(
        line.starts_with(&format!("size {:<8} 20", last["size"].as_u64().unwrap())),
        "{line}"
    );
    assert!(line.ends_with(&format!("root {}", last["root"].as_str().unwrap())));
    let (old, new) = (first["size"].to_string(), last["size"].to_string());
    let (ok, _, err) = lab.cli(&["audit", "consistency", &old, &new]);
    assert!(ok, "{err}");
    assert!(err.contains("verified"), "{err}");
    let (ok, out, err) = lab.cli(&["audit", "checkpoints", "--last", "1"]);
    assert!(ok, "{err}");
    assert_eq!(out.lines().count(), 1, "{out}");
}

#[test]
fn the_bundled_lab_is_created_once_and_a_users_edit_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = in_folder(dir.path(), &["policy", "check"]);
    assert!(ok, "{err}");
    assert!(
        err.contains("no lab in this folder: creating a new one in `.warden/lab`"),
        "{err}"
    );
    let config = dir.path().join(".warden/lab/warden.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    // Again: nothing created, nothing said.
    let (ok, _, err) = in_folder(dir.path(), &["policy", "check"]);
    assert!(ok, "{err}");
    assert!(!err.contains("creating"), "{err}");
    assert!(!err.contains("keeping"), "{err}");

    text.push_str("\n# my own note\n");
    std::fs::write(&config, &text).unwrap();
    let (ok, _, err) = in_folder(dir.path(), &["policy", "check"]);
    assert!(ok, "{err}");
    assert!(
        err.contains("keeping your edited `.warden/lab/warden.toml`"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&config).unwrap(), text);
}

#[test]
fn a_missing_approver_token_is_named_not_called_wrong() {
    let lab = Lab::new();
    hold(&lab, "apr_test2", 60_000, 10 * 60_000);
    for args in [
        vec![
            "halt",
            "--agent",
            "responder",
            "--reason",
            "r",
            "--as",
            "dana",
        ],
        vec!["resume", "agent:responder", "--reason", "r", "--as", "dana"],
        vec![
            "approvals",
            "approve",
            "apr_test2",
            "--reason",
            "r",
            "--as",
            "alice",
        ],
        vec![
            "taint",
            "clear",
            "--agent",
            "responder",
            "--record",
            "1",
            "--reason",
            "r",
            "--as",
            "dana",
        ],
    ] {
        let mut command = Command::new(warden_bin());
        command
            .args(&args)
            .arg("--config")
            .arg(lab.config())
            .env_remove("WARDEN_APPROVER_TOKEN");
        let out = command.output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            err.contains("no approver token: set `WARDEN_APPROVER_TOKEN`"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("wrong approver"), "{args:?}: {err}");
    }
    let (ok, _, err) = lab.cli_as(
        "not-the-token",
        &[
            "halt",
            "--agent",
            "responder",
            "--reason",
            "r",
            "--as",
            "dana",
            "--offline",
        ],
    );
    assert!(!ok);
    assert!(err.contains("wrong approver or token"), "{err}");
}

#[test]
fn the_lab_banner_names_the_console_and_the_demo_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(warden_bin())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env_remove("WARDEN_CONFIG")
        .env("WARDEN_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut banner = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let done = line.contains("CLI token");
        banner.push(line);
        if done {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let banner = banner.join("\n");
    let url = banner
        .lines()
        .find_map(|l| l.strip_prefix("warden: listening on "))
        .expect("the listening line");
    let base = url.trim_end_matches("/mcp");
    assert!(
        banner.contains(&format!("warden: approvers' console at {base}/console")),
        "{banner}"
    );
    assert!(banner.contains("`lab-triage-token`"), "{banner}");
    assert!(banner.contains("`lab-responder-token`"), "{banner}");
    assert!(banner.contains("`lab-<id>-password`"), "{banner}");

    // Your own configuration: the console, never the lab's tokens.
    let lab = Lab::new();
    let warden = lab.serve_logging("warn");
    let console = format!("warden: approvers' console at {}/console", warden.base());
    assert!(warden.wait_for_log(&console, 10).is_some());
    assert!(warden.wait_for_log("lab-triage-token", 0).is_none());
}

#[tokio::test]
async fn hash_prints_what_the_config_takes_for_a_token_and_a_password() {
    let (ok, out, err) = with_stdin(&["hash", "token"], "lab-alice-token\n");
    assert!(ok, "{err}");
    let lab_config = std::fs::read_to_string(Lab::new().config()).unwrap();
    assert!(lab_config.contains(out.trim()), "{out}");

    let (ok, token_line, err) = with_stdin(&["hash", "token"], "a-fresh-token-for-alice\n");
    assert!(ok, "{err}");
    let (ok, password_line, err) = with_stdin(&["hash", "password"], "correct horse battery\n");
    assert!(ok, "{err}");
    assert!(
        password_line.starts_with("password_argon2 = \"$argon2id$"),
        "{password_line}"
    );
    let (ok, _, err) = with_stdin(&["hash", "password"], "");
    assert!(!ok);
    assert!(err.contains("no password given"), "{err}");

    // Pasted into the config, they are what the CLI and the console accept.
    let lab = Lab::with_config(|c| {
        let mut out = Vec::new();
        let mut section = "";
        for line in c.lines() {
            if line.starts_with('[') {
                section = line;
            }
            out.push(match (section, line) {
                ("[approvers.alice]", l) if l.starts_with("token_sha256") => token_line.trim(),
                ("[approvers.dana]", l) if l.starts_with("password_argon2") => password_line.trim(),
                (_, l) => l,
            });
        }
        out.join("\n")
    });
    let (ok, out, err) = lab.cli_as(
        "a-fresh-token-for-alice",
        &[
            "halt",
            "--global",
            "--reason",
            "drill",
            "--as",
            "alice",
            "--offline",
        ],
    );
    assert!(ok, "{out}{err}");

    let warden = lab.serve();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let sign_in = |password: &'static str| {
        http.post(format!("{}/console/login", warden.base()))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(format!(
                "approver=dana&password={}",
                password.replace(' ', "+")
            ))
            .send()
    };
    let signed_in = sign_in("correct horse battery").await.unwrap();
    assert_eq!(signed_in.status(), reqwest::StatusCode::SEE_OTHER);
    assert!(
        signed_in
            .headers()
            .contains_key(reqwest::header::SET_COOKIE)
    );
    let old = sign_in("lab-dana-password").await.unwrap();
    assert_eq!(old.status(), reqwest::StatusCode::UNAUTHORIZED);
}

#[test]
fn completions_are_printed_for_each_shell() {
    for (shell, mark) in [
        ("bash", "complete -F _warden"),
        ("zsh", "#compdef warden"),
        ("fish", "complete -c warden"),
    ] {
        let out = Command::new(warden_bin())
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(script.contains(mark), "{shell}: {}", &script[..200]);
        assert!(script.contains("approvals"), "{shell}");
    }
}
