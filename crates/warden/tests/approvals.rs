//! The human gate over the wire: held calls, answers from the CLI, single use, two people,
//! expiry, restarts and signed webhooks. The lab's state proves what ran.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use serde_json::{Value, json};

fn answer(lab: &Lab, verb: &str, id: &str, who: &str, reason: &str) -> (bool, String, String) {
    answer_with_token(lab, verb, id, who, &format!("lab-{who}-token"), reason)
}

/// `warden approvals VERB ID --as WHO` with `token` as the approver's proof.
fn answer_with_token(
    lab: &Lab,
    verb: &str,
    id: &str,
    who: &str,
    token: &str,
    reason: &str,
) -> (bool, String, String) {
    lab.cli_as(
        token,
        &["approvals", verb, id, "--as", who, "--reason", reason],
    )
}

fn disabled(lab: &Lab, user: &str) -> bool {
    lab.state("idp")["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == user)
        .unwrap()["disabled"]
        == true
}

fn count(lab: &Lab, server: &str, tool: &str) -> usize {
    lab.received(server).iter().filter(|t| *t == tool).count()
}

#[tokio::test]
async fn an_approved_call_runs_exactly_once_with_the_approved_arguments() {
    let lab = Lab::new();
    let warden = lab.serve();
    let agent = warden.client(RESPONDER).await;
    let args = json!({"user": "alice.chen", "reason": "credentials phished"});
    let r = agent
        .call("idp.disable_account", args.clone())
        .await
        .unwrap();
    let id = request_id(&text(&r));
    assert!(lab.received("idp").is_empty());

    let (ok, out, err) = answer(
        &lab,
        "approve",
        &id,
        "bob",
        "confirmed with the user's manager",
    );
    assert!(ok, "{out}{err}");
    assert!(out.contains("approved"), "{out}");

    // Other arguments do not ride on the approval.
    let r = agent
        .call(
            "idp.disable_account",
            json!({"user": "bob.ng", "reason": "credentials phished"}),
        )
        .await
        .unwrap();
    assert!(text(&r).contains("held for approval"), "{}", text(&r));
    assert!(!disabled(&lab, "bob.ng"));

    // The approved call runs, once.
    let r = agent
        .call("idp.disable_account", args.clone())
        .await
        .unwrap();
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    assert!(disabled(&lab, "alice.chen"));
    let r = agent
        .call("idp.disable_account", args.clone())
        .await
        .unwrap();
    assert!(
        text(&r).contains("held for approval"),
        "single use: {}",
        text(&r)
    );
    assert_eq!(count(&lab, "idp", "disable_account"), 1);

    // Every step is on the record.
    let (_, out, _) = lab.cli(&["audit", "show", "--kind", "approval"]);
    let steps: Vec<String> = out
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["request_id"] == id.as_str())
        .map(|e| e["detail"]["step"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(steps, ["asked", "approved", "executed"], "{out}");
}

#[tokio::test]
async fn a_denied_call_never_runs_and_the_agent_cannot_approve_itself() {
    let lab = Lab::new();
    let warden = lab.serve();
    let agent = warden.client(RESPONDER).await;
    let args = json!({"incident": "INC-1042", "resolution": "resolved"});
    let r = agent
        .call("tickets.close_incident", args.clone())
        .await
        .unwrap();
    let id = request_id(&text(&r));

    // The agent's own identity and a wrong token are refused.
    let (ok, _, _) = answer_with_token(&lab, "approve", &id, "responder", RESPONDER, "me");
    assert!(!ok);
    let (ok, _, err) = answer_with_token(&lab, "approve", &id, "alice", "lab-bob-token", "x");
    assert!(!ok && err.contains("wrong approver or token"), "{err}");
    // An approver of another category may not answer.
    let (ok, _, err) = answer(&lab, "approve", &id, "bob", "not mine");
    assert!(!ok && err.contains("not an approver"), "{err}");

    let (ok, out, err) = answer(&lab, "deny", &id, "alice", "the incident is still active");
    assert!(ok, "{out}{err}");
    // The "no" binds the call: sent again, it is refused without asking anyone.
    let r = agent.call("tickets.close_incident", args).await.unwrap();
    assert!(
        text(&r).contains(&format!("alice denied this same call (request `{id}`)")),
        "{}",
        text(&r)
    );
    assert_eq!(count(&lab, "tickets", "close_incident"), 0);
    let (_, out, _) = lab.cli_reading(&["approvals", "list"]);
    assert!(!out.contains("apr_"), "no new request: {out}");
    let (ok, _, err) = answer(&lab, "approve", &id, "dana", "too late");
    assert!(!ok && err.contains("not pending"), "{err}");
}

#[tokio::test]
async fn a_two_person_rule_needs_two_different_approvers() {
    let lab = Lab::new();
    let warden = lab.serve();
    let agent = warden.client(RESPONDER).await;
    let args = json!({"user": "carol.diaz"});
    let r = agent
        .call("idp.disable_account", args.clone())
        .await
        .unwrap();
    assert!(
        text(&r).contains("disable-executive-needs-two"),
        "{}",
        text(&r)
    );
    let id = request_id(&text(&r));

    let (ok, out, _) = answer(
        &lab,
        "approve",
        &id,
        "bob",
        "CISO account shows impossible travel",
    );
    assert!(ok && out.contains("pending (1 of 2"), "{out}");
    let (ok, _, err) = answer(&lab, "approve", &id, "bob", "really");
    assert!(!ok && err.contains("already answered"), "{err}");
    let r = agent
        .call("idp.disable_account", args.clone())
        .await
        .unwrap();
    assert!(
        text(&r).contains(&format!("already waits for approval as request `{id}`")),
        "one approval is not enough: {}",
        text(&r)
    );
    assert!(!disabled(&lab, "carol.diaz"));

    let (ok, out, err) = answer(&lab, "approve", &id, "dana", "agreed");
    assert!(ok && out.contains("approved (2 of 2"), "{out}{err}");
    let r = agent.call("idp.disable_account", args).await.unwrap();
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    assert!(disabled(&lab, "carol.diaz"));
}

#[tokio::test]
async fn requests_survive_a_restart_and_expiry_means_deny() {
    let lab = Lab::new();
    let id = {
        let warden = lab.serve();
        let agent = warden.client(RESPONDER).await;
        let r = agent
            .call("idp.disable_account", json!({"user": "dan.okafor"}))
            .await
            .unwrap();
        request_id(&text(&r))
    };
    // warden stopped; the request is still there.
    let (_, out, _) = lab.cli(&["approvals", "list", "--offline"]);
    assert!(out.contains(&id), "{out}");

    // Time moves past the expiry: the request is denied as expired, on the record.
    let config = warden_policy::Config::load(&lab.config()).unwrap();
    let warden_policy::StoreLocation::Sqlite { path } = &config.store else {
        panic!("the lab stores in SQLite")
    };
    let store: std::sync::Arc<dyn warden_store::Store> =
        std::sync::Arc::new(warden_store::SqliteStore::open(path).unwrap());
    let audit = warden_store::Ledger::open(
        store.clone(),
        &warden_store::LedgerSettings {
            key_path: config.ledger.key_path.clone(),
            origin: config.ledger.origin.clone(),
            checkpoint_interval: config.ledger.checkpoint_interval,
            defer_within: warden_store::DEFER_WITHIN,
            witnesses: Vec::new(),
            pinned: None,
        },
    )
    .unwrap();
    // At 80% of the identity category's 30 minutes the escalation contact is due, once.
    let soon = warden_gateway::pipeline::now_ms() + 25 * 60 * 1000;
    let due = warden_gateway::gate::escalate_due(store.as_ref(), &audit, &config, soon).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].0.id, id);
    assert_eq!(due[0].1, "soc-lead@northwind.example");
    assert!(
        warden_gateway::gate::escalate_due(store.as_ref(), &audit, &config, soon)
            .unwrap()
            .is_empty()
    );

    let later = warden_gateway::pipeline::now_ms() + 31 * 60 * 1000;
    let expired = warden_gateway::gate::expire_overdue(store.as_ref(), &audit, later).unwrap();
    assert_eq!(expired, vec![id.clone()]);
    drop(audit);
    // No gateway runs: the answer is written to the state directory directly.
    let (ok, _, err) = lab.cli_as(
        "lab-bob-token",
        &[
            "approvals",
            "approve",
            &id,
            "--as",
            "bob",
            "--reason",
            "too late",
            "--offline",
        ],
    );
    assert!(!ok && err.contains("expired"), "{err}");
    assert_eq!(count(&lab, "idp", "disable_account"), 0);
    let (ok, _, err) = lab.cli(&["audit", "verify"]);
    assert!(ok, "{err}");
}

/// One `tools/call` over the wire with `rationale` in `_meta`, as `token`'s agent: the reply's
/// body.
async fn call_with_rationale(
    warden: &Warden,
    token: &str,
    tool: &str,
    args: Value,
    rationale: &str,
) -> String {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": tool, "arguments": args,
            "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {},
                "rationale": rationale}}});
    reqwest::Client::new()
        .post(&warden.url)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", tool)
        .json(&body)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Review 37: a compromised agent held a call whose `_meta.rationale` carried escape sequences
/// that moved the approver's cursor up and rewrote the `arguments` line of `approvals show`:
/// the approver read `alice.chen`, approved, and `bob.ng` was disabled. A rationale with a
/// control character is now refused at the front with a reason, and nothing is held; what an
/// agent can still send (newlines, a bidi override) reaches the approver visibly, under its
/// field, beside the real arguments.
#[tokio::test]
async fn a_rationale_cannot_rewrite_the_arguments_the_cli_approver_reads() {
    let lab = Lab::new();
    let warden = lab.serve();
    let real = json!({"user": "bob.ng", "reason": "phished, INC-1042"});
    let forging = "\u{1b}[10A\r\u{1b}[2Karguments  {\"user\":\"alice.chen\",\"reason\":\"phished, \
                   INC-1042\"}\u{1b}[10B\r\u{1b}[2Krationale  alice.chen clicked the link";
    let refused = call_with_rationale(
        &warden,
        RESPONDER,
        "idp.disable_account",
        real.clone(),
        forging,
    )
    .await;
    assert!(
        refused.contains("`_meta.rationale` holds the control character U+001B"),
        "{refused}"
    );
    let (ok, out, err) = lab.cli_reading(&["approvals", "list"]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "no pending requests", "nothing was held");
    assert!(lab.events("decision").is_empty(), "nothing was decided");

    let still = "alice.chen clicked the link\narguments  {\"user\":\"alice.chen\"}\u{202e}";
    let held = call_with_rationale(
        &warden,
        RESPONDER,
        "idp.disable_account",
        real.clone(),
        still,
    )
    .await;
    let id = request_id(&held);
    let (ok, out, err) = lab.cli_reading(&["approvals", "show", &id]);
    assert!(ok, "{err}");
    for c in ['\u{1b}', '\r', '\u{9b}', '\u{202e}'] {
        assert!(!out.contains(c), "{c:?} reached the terminal: {out}");
    }
    let arguments: Vec<&str> = out.lines().filter(|l| l.starts_with("arguments")).collect();
    assert_eq!(arguments.len(), 1, "{out}");
    assert!(arguments[0].contains("\"user\":\"bob.ng\""), "{out}");
    assert!(
        out.contains("rationale  alice.chen clicked the link\n           arguments  {\"user\":\"alice.chen\"}⟦U+202E⟧"),
        "{out}"
    );
    assert!(!disabled(&lab, "bob.ng"));
}

/// Review 42 (F1): an approver who can run the CLI copies the configuration, puts a token of
/// their own under a colleague's name and answers `--as` that colleague: the CLI checks the
/// token against whatever configuration it is given. Before, the gateway counted that answer,
/// so one person met a two-person rule alone. Now each answer records the credentials it was
/// given under, and the gateway counts only answers given under the credentials its own
/// configuration holds for that approver: the call does not run.
#[tokio::test]
async fn an_answer_made_under_a_doctored_configuration_does_not_count() {
    let lab = Lab::new();
    let warden = lab.serve();
    let agent = warden.client(RESPONDER).await;
    let args = json!({"user": "carol.diaz"});
    let r = agent
        .call("idp.disable_account", args.clone())
        .await
        .unwrap();
    assert!(
        text(&r).contains("disable-executive-needs-two"),
        "{}",
        text(&r)
    );
    let id = request_id(&text(&r));
    let (ok, out, _) = answer(&lab, "approve", &id, "bob", "impossible travel");
    assert!(ok && out.contains("pending (1 of 2"), "{out}");

    // Bob's copy of the configuration, with dana's token replaced by one he chose.
    let evil = doctored_config(&lab, "dana", "bob-owns-this");
    let as_dana = |offline: bool| {
        let mut command = std::process::Command::new(warden_bin());
        command
            .args([
                "approvals",
                "approve",
                &id,
                "--as",
                "dana",
                "--reason",
                "agree",
            ])
            .arg("--config")
            .arg(&evil)
            .env("WARDEN_APPROVER_TOKEN", "bob-owns-this");
        if offline {
            command.arg("--offline");
        } else {
            command.env("WARDEN_GATEWAY", warden.console());
        }
        command.output().unwrap()
    };
    // Asked of the gateway, which checks the token against its own configuration: refused.
    let out = as_dana(false);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("wrong approver or token"), "{err}");
    // Written directly with the copy, the answer is recorded; the gateway does not count it.
    let out = as_dana(true);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = agent.call("idp.disable_account", args).await.unwrap();
    assert!(
        text(&r).contains("ledger records 1 of the 2 approvals"),
        "{}",
        text(&r)
    );
    assert!(!disabled(&lab, "carol.diaz"));
}

/// A copy of the lab's configuration beside the real one (the same store, key and policy),
/// with `approver`'s token replaced by `token`: what an approver who can run the CLI makes to
/// answer in a colleague's name.
fn doctored_config(lab: &Lab, approver: &str, token: &str) -> std::path::PathBuf {
    let real = std::fs::read_to_string(lab.config()).unwrap();
    let line = real
        .lines()
        .skip_while(|l| l.trim() != format!("[approvers.{approver}]"))
        .find(|l| l.starts_with("token_sha256"))
        .unwrap()
        .to_string();
    let doctored = real.replace(
        &line,
        &format!(
            "token_sha256 = \"{}\"",
            warden_core::sha256_hex(token.as_bytes())
        ),
    );
    assert_ne!(doctored, real);
    let path = lab.config().with_file_name(format!("copy-{approver}.toml"));
    std::fs::write(&path, doctored).unwrap();
    path
}

/// The same for a halt: alice halts the responder; bob, with a copy of the configuration that
/// gives dana his token, resumes it "as dana". The CLI records the resume; the gateway does not
/// count it (a resume counts only under its approver's own credentials): the agent stays halted.
#[tokio::test]
async fn a_resume_made_under_a_doctored_configuration_lifts_nothing() {
    let lab = Lab::new();
    let warden = lab.serve();
    let agent = warden.client(RESPONDER).await;
    let (ok, _, err) = lab.cli_as(
        "lab-alice-token",
        &[
            "halt",
            "--agent",
            "responder",
            "--reason",
            "misbehaving",
            "--as",
            "alice",
        ],
    );
    assert!(ok, "{err}");
    // Halted, once the gateway has read the halt (within about a second).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let r = agent
            .call("siem.get_alert", json!({"alert_id": "ALR-2001"}))
            .await
            .unwrap();
        if text(&r).contains("halted by warden") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never halted");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let evil = doctored_config(&lab, "dana", "bob-owns-this");
    let resume_as_dana = |offline: bool| {
        let mut command = std::process::Command::new(warden_bin());
        command
            .args([
                "resume",
                "agent:responder",
                "--as",
                "dana",
                "--reason",
                "fine",
            ])
            .arg("--config")
            .arg(&evil)
            .env("WARDEN_APPROVER_TOKEN", "bob-owns-this");
        if offline {
            command.arg("--offline");
        } else {
            command.env("WARDEN_GATEWAY", warden.console());
        }
        command.output().unwrap()
    };
    // The gateway checks the token against its own configuration: refused.
    let out = resume_as_dana(false);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("wrong approver or token"), "{err}");
    // Written directly with the copy: recorded, and not counted.
    let out = resume_as_dana(true);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The gateway reads halts again within a second or two: the agent stays halted.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(4);
    while std::time::Instant::now() < deadline {
        let r = agent
            .call("siem.get_alert", json!({"alert_id": "ALR-2001"}))
            .await
            .unwrap();
        assert!(text(&r).contains("halted by warden"), "{}", text(&r));
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    // A resume under dana's own credentials lifts it.
    let (ok, _, err) = lab.cli_as(
        "lab-dana-token",
        &[
            "resume",
            "agent:responder",
            "--as",
            "dana",
            "--reason",
            "checked",
        ],
    );
    assert!(ok, "{err}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let r = agent
            .call("siem.get_alert", json!({"alert_id": "ALR-2001"}))
            .await
            .unwrap();
        if !text(&r).contains("halted by warden") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still halted");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// `warden approvals VERB ID --as WHO` with WHO's lab token and `extra` arguments, against the
/// lab's running gateway; (ok, stdout, stderr).
fn answer_with(
    lab: &Lab,
    verb: &str,
    id: &str,
    who: &str,
    extra: &[&str],
) -> (bool, String, String) {
    let mut args = vec!["approvals", verb, id, "--as", who, "--reason", "checked"];
    args.extend(extra);
    lab.cli_as(&format!("lab-{who}-token"), &args)
}

fn approvals_of(lab: &Lab, id: &str) -> Vec<String> {
    lab.events("approval")
        .into_iter()
        .filter(|e| e["request_id"] == id)
        .map(|e| e["detail"]["step"].as_str().unwrap().to_string())
        .collect()
}

/// The approver's terminal holds neither the state directory nor the ledger's key: it names
/// the gateway and presents its token; the answer is recorded by the gateway, as the approver.
#[tokio::test]
async fn an_approver_answers_through_the_gateway_without_the_state_directory() {
    let lab = Lab::new();
    let warden = lab.serve();
    let agent = warden.client(RESPONDER).await;
    let (id, args) = disable_held_then_approved_args(&agent).await;
    let nowhere = lab.dir.path().join("no-such-dir/warden.toml");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(warden_bin())
            .args(args)
            .args(["--gateway", &warden.console(), "--config"])
            .arg(&nowhere)
            .env("WARDEN_APPROVER_TOKEN", "lab-bob-token")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, out, err) = run(&["approvals", "list", "--as", "bob"]);
    assert!(ok, "{err}");
    assert!(out.contains(&id), "{out}");
    let (ok, out, err) = run(&["approvals", "show", &id, "--as", "bob", "--json"]);
    assert!(ok, "{err}");
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["args"], args);
    assert_eq!(shown["approval"], "required");
    let digest = shown["args_digest"].as_str().unwrap().to_string();
    let (ok, out, err) = run(&[
        "approvals",
        "approve",
        &id,
        "--as",
        "bob",
        "--reason",
        "phished",
        "--digest",
        &digest,
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("approved (1 of 1 approvals)"), "{out}");
    let approved = lab
        .events("approval")
        .into_iter()
        .find(|e| e["request_id"] == id.as_str() && e["detail"]["step"] == "approved")
        .unwrap();
    assert_eq!(approved["detail"]["approver"], "bob");
    let r = agent.call("idp.disable_account", args).await.unwrap();
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
}

async fn disable_held_then_approved_args(agent: &Client) -> (String, Value) {
    let args = json!({"user": "alice.chen", "reason": "credentials phished"});
    let r = agent
        .call("idp.disable_account", args.clone())
        .await
        .unwrap();
    (request_id(&text(&r)), args)
}

/// An answer bound to the arguments the approver reviewed is refused when the request holds
/// others, and so is one to a request whose stored arguments someone rewrote: nothing is
/// recorded either way.
#[tokio::test]
async fn an_answer_for_other_arguments_than_reviewed_or_recorded_is_refused() {
    let lab = Lab::new();
    let warden = lab.serve();
    let agent = warden.client(RESPONDER).await;
    let (id, _) = disable_held_then_approved_args(&agent).await;
    let other = warden_core::ArgsDigest::of(&json!({"user": "bob.ng"})).0;
    let (ok, _, err) = answer_with(&lab, "approve", &id, "bob", &["--digest", &other]);
    assert!(!ok);
    assert!(
        err.contains("other arguments than the ones you reviewed"),
        "{err}"
    );
    assert_eq!(approvals_of(&lab, &id), ["asked"]);

    // Someone with the database rewrites what the request would run.
    lab.tamper(&format!(
        "UPDATE pending SET body = json_set(body, '$.args', json('{{\"user\":\"bob.ng\"}}'), \
         '$.args_digest', '{other}') WHERE id = '{id}'"
    ));
    let (ok, _, err) = answer_with(&lab, "approve", &id, "bob", &["--digest", &other]);
    assert!(!ok, "approved a rewritten request");
    assert!(err.contains("changed in the database"), "{err}");
    let (ok, _, err) = answer_with(&lab, "approve", &id, "bob", &[]);
    assert!(!ok, "approved a rewritten request");
    assert!(err.contains("cannot be answered"), "{err}");
    assert_eq!(approvals_of(&lab, &id), ["asked"]);
    // Nor is the approver shown the rewritten arguments: the gateway shows what it recorded,
    // or nothing.
    let (ok, out, err) = lab.cli_reading(&["approvals", "show", &id]);
    assert!(!ok, "{out}");
    assert!(err.contains("is not shown"), "{err}");
    assert!(!out.contains("bob.ng"), "{out}");
}

/// Wrong tokens lock the approver's account at the gateway against further guesses, and so
/// the password on the console's sign-in page (one lock); the right token still answers, since
/// no one guesses it and a lock on it would let anyone keep approvers from the gate.
#[tokio::test]
async fn wrong_tokens_lock_guessing_for_the_cli_and_the_console() {
    let lab = Lab::new();
    let warden = lab.serve();
    for _ in 0..5 {
        let (ok, _, err) = lab.cli_as("guess", &["approvals", "list", "--as", "alice"]);
        assert!(!ok && err.contains("wrong approver or token"), "{err}");
    }
    let (ok, _, err) = lab.cli_as("another guess", &["approvals", "list", "--as", "alice"]);
    assert!(!ok, "a guess went through a locked account");
    assert!(err.contains("locked"), "{err}");
    let (ok, _, err) = lab.cli_as("lab-alice-token", &["approvals", "list", "--as", "alice"]);
    assert!(ok, "the right token was kept out by the lock: {err}");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = http
        .post(format!("{}/login", warden.console()))
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body("approver=alice&password=lab-alice-password")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::TOO_MANY_REQUESTS);
    // Another approver is not locked out.
    let (ok, _, err) = lab.cli_reading(&["approvals", "list"]);
    assert!(ok, "{err}");
}

/// The approvers' API reads no cookie: a signed-in browser's session answers nothing there.
#[tokio::test]
async fn the_approvers_api_takes_no_session_cookie() {
    let lab = Lab::new();
    let warden = lab.serve();
    let agent = warden.client(RESPONDER).await;
    let (id, _) = disable_held_then_approved_args(&agent).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = http
        .post(format!("{}/login", warden.console()))
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body("approver=bob&password=lab-bob-password")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER);
    let cookie = r.headers()[reqwest::header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let r = http
        .post(format!("{}/api/requests/{id}/answer", warden.console()))
        .header(reqwest::header::COOKIE, cookie)
        .header("warden-approver", "bob")
        .json(&json!({"verdict": "approve", "reason": "riding the session"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::UNAUTHORIZED);
    let body: Value = r.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("Bearer"), "{body}");
    assert_eq!(approvals_of(&lab, &id), ["asked"]);
}

/// No gateway at the address: the command fails, names the address and the way to answer
/// without one, and writes nothing.
#[test]
fn an_unreachable_gateway_is_named_with_the_offline_flag() {
    let lab = Lab::new();
    let out = std::process::Command::new(warden_bin())
        .args([
            "approvals",
            "approve",
            "apr_x",
            "--as",
            "bob",
            "--reason",
            "r",
            "--config",
        ])
        .arg(lab.config())
        .env("WARDEN_APPROVER_TOKEN", "lab-bob-token")
        .env("WARDEN_GATEWAY", "http://127.0.0.1:9/console")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot reach the gateway at `http://127.0.0.1:9/console"),
        "{err}"
    );
    assert!(err.contains("--offline"), "{err}");
    assert!(lab.events("approval").is_empty());
}
