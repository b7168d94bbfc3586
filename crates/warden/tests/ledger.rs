//! The audit ledger end to end: calls through a real `warden serve`, then the offline checks
//! an auditor runs — verify, prove, consistency, redact, export — and what they say when
//! someone with access to the SQLite file rewrites history.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
#[path = "common/ledger.rs"]
mod ledger_support;

use common::*;
use ledger_support::*;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use warden_ledger::{Checkpoint, CheckpointVerifier, Hash, NoteSigner, TlogProof, leaf_hash};

fn show(lab: &Lab, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["audit", "show"];
    all.extend_from_slice(args);
    let (ok, out, err) = lab.cli(&all);
    assert!(ok, "{err}");
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn verifier(lab: &Lab) -> CheckpointVerifier {
    CheckpointVerifier::parse(std::fs::read_to_string(pub_key(lab)).unwrap().trim()).unwrap()
}

/// A few allowed, denied and held calls, then a checkpoint covering them all.
async fn some_calls(lab: &Lab) -> u64 {
    let warden = lab.serve();
    let responder = warden.client(RESPONDER).await;
    let triage = warden.client(TRIAGE).await;
    for i in 0..3 {
        let r = triage
            .call(
                "siem.search_logs",
                json!({"query": format!("host:ws-{i:03}")}),
            )
            .await
            .unwrap();
        assert_ne!(r.is_error, Some(true), "{}", text(&r));
    }
    let r = responder
        .call("edr.isolate_host", isolate("dc01", "INC-1042"))
        .await
        .unwrap();
    assert!(text(&r).contains("never-isolate-tier0"));
    responder
        .call(
            "idp.disable_account",
            json!({"user": "alice.chen", "reason": "phished"}),
        )
        .await
        .unwrap();
    wait_for_checkpoint(lab)
}

#[tokio::test]
async fn calls_through_serve_verify_and_each_kind_of_tampering_is_named() {
    let lab = lab();
    let size = some_calls(&lab).await;
    assert!(size >= 9, "config, pins, decisions and outcomes: {size}");
    let (ok, out) = verify(&lab);
    assert!(ok, "{out}");
    assert!(out.starts_with(&format!("ok: {size} leaves")), "{out}");

    let pristine = snapshot(&lab);
    let signer = NoteSigner::generate("warden.local/ledger", &mut rand::rngs::OsRng).unwrap();
    let forged = Checkpoint::new("warden.local/ledger", size, Hash::sha256(b"forged"))
        .sign(&signer)
        .unwrap();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "a changed byte in a leaf",
            "UPDATE ledger_leaves SET leaf = CAST(replace(CAST(leaf AS TEXT), '\"v\":1', '\"v\":2') AS BLOB) WHERE idx = 3".into(),
            "leaf 3: hash does not match its content",
        ),
        (
            "a deleted event",
            "DELETE FROM ledger_leaves WHERE idx = 4".into(),
            "leaf 4: missing from the log",
        ),
        (
            "two events swapped",
            "UPDATE ledger_leaves SET idx = -1 WHERE idx = 2;
             UPDATE ledger_leaves SET idx = 2 WHERE idx = 3;
             UPDATE ledger_leaves SET idx = 3 WHERE idx = -1;"
                .into(),
            "root does not match the stored leaves",
        ),
        (
            "a truncated tail",
            format!("DELETE FROM ledger_leaves WHERE idx >= {}", size - 2),
            "its tail was removed",
        ),
        (
            "a replaced checkpoint",
            format!(
                "UPDATE ledger_checkpoints SET note = '{}' WHERE seq = (SELECT MAX(seq) FROM ledger_checkpoints)",
                forged.note()
            ),
            "checkpoint at position",
        ),
        (
            "a forged row inserted after the last checkpoint (a replayed leaf, no MAC)",
            format!(
                "INSERT INTO ledger_leaves (idx, leaf, leaf_hash, time_ms, kind, principal,
                                            session, tool, decision)
                 SELECT {size}, leaf, leaf_hash, time_ms, kind, principal, session, tool, decision
                 FROM ledger_leaves WHERE idx = 3"
            ),
            "it has no MAC and no checkpoint covers it",
        ),
        (
            "a forged row with a MAC copied from a real one",
            format!(
                "INSERT INTO ledger_leaves (idx, leaf, leaf_hash, time_ms, kind, principal,
                                            session, tool, decision, leaf_mac)
                 SELECT {size}, leaf, leaf_hash, time_ms, kind, principal, session, tool,
                        decision, leaf_mac
                 FROM ledger_leaves WHERE idx = 3"
            ),
            "its MAC is wrong",
        ),
        (
            "a denial's decision column rewritten",
            "UPDATE ledger_leaves SET decision = 'allow' WHERE decision = 'deny'".into(),
            "index columns (decision) do not match the leaf",
        ),
        (
            "a decision's kind column rewritten",
            "UPDATE ledger_leaves SET kind = 'outcome'
             WHERE idx = (SELECT MIN(idx) FROM ledger_leaves WHERE kind = 'decision')"
                .into(),
            "index columns (kind) do not match the leaf",
        ),
        (
            "a session column rewritten",
            "UPDATE ledger_leaves SET session = 'elsewhere'
             WHERE idx = (SELECT MIN(idx) FROM ledger_leaves WHERE session IS NOT NULL)"
                .into(),
            "index columns (session) do not match the leaf",
        ),
        (
            "sealed arguments deleted without a redaction",
            "DELETE FROM ledger_sealed WHERE idx = (SELECT MIN(idx) FROM ledger_sealed)".into(),
            "no redaction event names it",
        ),
        (
            "altered sealed arguments",
            "UPDATE ledger_sealed SET sealed = (SELECT sealed FROM ledger_sealed ORDER BY idx DESC LIMIT 1)
             WHERE idx = (SELECT MIN(idx) FROM ledger_sealed)".into(),
            "does not match the leaf's commitment",
        ),
    ];
    for (what, sql, expected) in cases {
        restore(&lab, &pristine);
        assert!(verify(&lab).0, "restored before {what}");
        tamper(&lab, &sql);
        let (ok, out) = verify(&lab);
        assert!(!ok, "{what}: verify passed:\n{out}");
        assert!(
            out.contains("FAILED") && out.contains(expected),
            "{what}: expected `{expected}` in:\n{out}"
        );
    }

    // warden refuses to start, or sign anything, on a row that no key holder appended.
    restore(&lab, &pristine);
    tamper(
        &lab,
        &format!(
            "INSERT INTO ledger_leaves (idx, leaf, leaf_hash, time_ms, kind, principal, session,
                                        tool, decision)
             SELECT {size}, leaf, leaf_hash, time_ms, kind, principal, session, tool, decision
             FROM ledger_leaves WHERE idx = 3"
        ),
    );
    let (ok, _, err) = lab.cli(&["tools", "list"]);
    assert!(!ok);
    assert!(err.contains("forged leaf"), "{err}");

    // warden itself refuses to start on a ledger that disagrees with its checkpoint.
    restore(&lab, &pristine);
    tamper(
        &lab,
        &format!("DELETE FROM ledger_leaves WHERE idx >= {}", size - 1),
    );
    let (ok, _, err) = lab.cli(&["tools", "list"]);
    assert!(!ok);
    assert!(
        err.contains("does not match its latest checkpoint"),
        "{err}"
    );
}

#[tokio::test]
async fn a_proof_from_prove_verifies_offline() {
    let lab = lab();
    let size = some_calls(&lab).await;
    let verifier = verifier(&lab);
    let denial = &show(&lab, &["--decision", "deny"])[0];
    let index = denial["index"].as_u64().unwrap();
    let (ok, out, err) = lab.cli(&["audit", "prove", &index.to_string()]);
    assert!(ok, "{err}");
    assert!(out.starts_with("c2sp.org/tlog-proof@v1\n"), "{out}");
    let proof = TlogProof::parse(&out).unwrap();
    let leaf = proof.extra.clone().unwrap();
    assert_eq!(
        leaf_hash(&leaf).to_hex(),
        denial["leaf_hash"].as_str().unwrap()
    );
    let verified = proof.clone().verify(&leaf_hash(&leaf), &verifier).unwrap();
    assert_eq!(verified.index, index);
    assert_eq!(verified.checkpoint.size(), size);
    // The leaf carries commitments, not the arguments.
    let text = String::from_utf8(leaf).unwrap();
    assert!(
        text.contains("\"sealed\"") && !text.contains("dc01"),
        "{text}"
    );

    // A changed byte in the receipt fails.
    let tampered = out.replacen(
        &format!("index {index}"),
        &format!("index {}", index + 1),
        1,
    );
    assert!(
        TlogProof::parse(&tampered)
            .unwrap()
            .verify(&proof_leaf_hash(&proof), &verifier)
            .is_err()
    );
    // No receipt for a leaf that no checkpoint covers.
    let (ok, _, err) = lab.cli(&["audit", "prove", &(size + 5).to_string()]);
    assert!(!ok && err.contains("not covered by a checkpoint"), "{err}");
}

fn proof_leaf_hash(proof: &TlogProof) -> Hash {
    leaf_hash(proof.extra.as_ref().unwrap())
}

#[tokio::test]
async fn consistency_between_two_checkpoints_is_proven() {
    let lab = lab();
    let first = some_calls(&lab).await;
    let second = some_calls(&lab).await;
    assert!(second > first);
    let (ok, out, err) = lab.cli(&[
        "audit",
        "consistency",
        &first.to_string(),
        &second.to_string(),
    ]);
    assert!(ok, "{err}");
    assert!(out.starts_with(&format!("old {first}\n")), "{out}");
    assert!(err.contains("verified"), "{err}");
    // A size no checkpoint has (the timer may sign at any size up to the log's, even 1).
    let never = (second + 1000).to_string();
    let (ok, _, err) = lab.cli(&["audit", "consistency", &first.to_string(), &never]);
    assert!(
        !ok && err.contains(&format!("no stored checkpoint has size {never}")),
        "{err}"
    );
    let (ok, out) = verify(&lab);
    assert!(ok, "{out}");
    // Both checkpoints the proof used are there; the timer may have signed more in between
    // (one a second), and every one of them was checked.
    let checkpoints: u64 = out
        .split_whitespace()
        .zip(out.split_whitespace().skip(1))
        .find(|(_, w)| w.trim_end_matches(',') == "checkpoints")
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or(0);
    assert!(checkpoints >= 2, "{out}");
}

#[tokio::test]
async fn redaction_removes_the_content_and_every_proof_still_verifies() {
    let lab = lab();
    some_calls(&lab).await;
    let denial = &show(&lab, &["--decision", "deny"])[0];
    assert_eq!(denial["args"]["host"], "dc01");
    let index = denial["index"].as_u64().unwrap().to_string();

    // Erasing evidence takes an approver: without a token, or with the wrong one, nothing goes.
    let redact = [
        "audit",
        "redact",
        index.as_str(),
        "--reason",
        "erasure request 2026-114",
        "--as",
        "dana",
        "--for",
        "dpo@northwind.example",
        "--offline",
    ];
    let (ok, _, err) = lab.cli(&redact);
    assert!(!ok && err.contains("no approver token"), "{err}");
    let (ok, _, err) = lab.cli_as("lab-bob-token", &redact);
    assert!(!ok && err.contains("wrong approver or token"), "{err}");
    assert_eq!(
        show(&lab, &["--decision", "deny"])[0]["args"]["host"],
        "dc01"
    );
    let (ok, out, err) = lab.cli_as("lab-dana-token", &redact);
    assert!(ok, "{err}");
    assert!(out.contains("args, args_digest"), "{out}");

    let after = &show(&lab, &["--decision", "deny"])[0];
    assert_eq!(after["args"], "[redacted]");
    assert_eq!(after["args_digest"], "[redacted]");
    assert_eq!(
        after["rule"], "never-isolate-tier0",
        "the rest stays readable"
    );
    assert_eq!(
        after["leaf_hash"], denial["leaf_hash"],
        "the leaf is unchanged"
    );
    let redactions = show(&lab, &["--kind", "redaction"]);
    assert_eq!(redactions.len(), 1);
    assert_eq!(redactions[0]["reason"], "erasure request 2026-114");
    assert_eq!(redactions[0]["detail"]["index"].to_string(), index);

    let (ok, out) = verify(&lab);
    assert!(ok, "{out}");
    assert!(out.contains("sealed values match"), "{out}");
    let (ok, out, err) = lab.cli(&["audit", "prove", &index]);
    assert!(ok, "{err}");
    let proof = TlogProof::parse(&out).unwrap();
    let hash = proof_leaf_hash(&proof);
    proof.verify(&hash, &verifier(&lab)).unwrap();

    // The value and its salt are gone from the file, not just hidden.
    let conn = rusqlite::Connection::open(db(&lab)).unwrap();
    let left: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM ledger_sealed WHERE instr(sealed, CAST('dc01' AS BLOB)) > 0",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(left, 0);
    let (ok, _, err) = lab.cli_as(
        "lab-dana-token",
        &[
            "audit",
            "redact",
            &index,
            "--reason",
            "again",
            "--as",
            "dana",
            "--offline",
        ],
    );
    assert!(!ok && err.contains("no sealed content"), "{err}");
}

#[tokio::test]
async fn the_ocsf_export_carries_leaf_index_and_hash() {
    let lab = lab();
    some_calls(&lab).await;
    let out_file = lab.dir.path().join("export.jsonl");
    let (ok, _, err) = lab.cli(&[
        "audit",
        "export",
        "--format",
        "ocsf",
        "--out",
        out_file.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let records: Vec<Value> = std::fs::read_to_string(&out_file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let shown = show(&lab, &[]);
    assert_eq!(records.len(), shown.len());
    for (r, e) in records.iter().zip(&shown) {
        assert_eq!(r["metadata"]["sequence"], e["index"]);
        assert_eq!(r["metadata"]["uid"], e["leaf_hash"]);
        assert_eq!(r["unmapped"]["warden"]["leaf_hash"], e["leaf_hash"]);
    }
    let denial = records
        .iter()
        .find(|r| r["class_uid"] == 6003 && r["disposition_id"] == 2)
        .unwrap();
    assert_eq!(denial["api"]["operation"], "edr.isolate_host");
    assert_eq!(denial["actor"]["user"]["uid"], "responder");
    assert_eq!(denial["policy"]["uid"], "never-isolate-tier0");
    assert_eq!(denial["type_uid"], 600303);
    let read = records
        .iter()
        .find(|r| r["api"]["operation"] == "siem.search_logs")
        .unwrap();
    assert_eq!(read["activity_name"], "Read");
    assert!(
        records.iter().any(|r| r["disposition_id"] == 14),
        "a held call"
    );
}

#[tokio::test]
async fn a_graceful_stop_signs_a_final_checkpoint() {
    let lab = Lab::new(); // the default 10 s interval: only the stop can sign in time
    let mut warden = lab.serve();
    let client = warden.client(TRIAGE).await;
    client
        .call("siem.get_alert", json!({"alert_id": "ALR-2001"}))
        .await
        .unwrap();
    drop(client);
    interrupt(&mut warden.child);
    let n = leaves(&lab);
    assert_eq!(
        checkpoint_size(&lab),
        n,
        "the last checkpoint covers every leaf"
    );
    assert!(verify(&lab).0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_warden_loses_no_answered_decision() {
    let lab = lab();
    let mut warden = lab.serve();
    let answered = Arc::new(std::sync::Mutex::new(BTreeSet::new()));
    let mut tasks = Vec::new();
    for t in 0..16 {
        let client = warden.client(TRIAGE).await;
        let answered = answered.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0.. {
                let query = format!("crash-{t}-{i}");
                let call = client.0.peer().call_tool(
                    rmcp::model::CallToolRequestParams::new("siem.search_logs")
                        .with_arguments(json!({"query": query}).as_object().unwrap().clone()),
                );
                match tokio::time::timeout(Duration::from_secs(10), call).await {
                    Ok(Ok(r)) if r.is_error != Some(true) => {
                        answered.lock().unwrap().insert(query);
                    }
                    _ => break,
                }
            }
        }));
    }
    // Let the stream run, then kill warden mid-flight.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    warden.child.kill().unwrap();
    warden.child.wait().unwrap();
    for t in tasks {
        let _ = t.await;
    }
    let answered = answered.lock().unwrap().clone();
    assert!(answered.len() > 20, "the stream ran: {}", answered.len());

    // Restart: the start-up check passes, and the log verifies.
    let warden = lab.serve();
    drop(warden);
    let (ok, out) = verify(&lab);
    assert!(ok, "{out}");
    let recorded: BTreeSet<String> =
        show(&lab, &["--tool", "siem.search_logs", "--decision", "allow"])
            .iter()
            .map(|e| e["args"]["query"].as_str().unwrap().to_owned())
            .collect();
    let lost: Vec<_> = answered.difference(&recorded).collect();
    assert!(lost.is_empty(), "answered but not in the ledger: {lost:?}");
}

/// The newest leaves deleted together with the checkpoints that cover them: what is left is a
/// shorter log that verifies on its own (as the old verify said), but the checkpoints warden
/// published to its file witness still name the larger tree.
#[tokio::test]
async fn a_tail_removed_with_its_checkpoints_is_caught_by_the_published_checkpoints() {
    let lab = Lab::with_config(|c| {
        c.replace(
            "checkpoint_interval_secs = 10",
            "checkpoint_interval_secs = 1\nwitness = [{ file = \"state/published.jsonl\" }]",
        )
    });
    let size = some_calls(&lab).await;
    let published = lab.dir.path().join("state/published.jsonl");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(&published)
        .unwrap_or_default()
        .contains(&format!("\"size\":{size},"))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "checkpoint {size} was not published"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (ok, out) = verify(&lab);
    assert!(ok, "{out}");
    assert!(out.contains("published checkpoints agree"), "{out}");

    let cut = size - 3;
    tamper(
        &lab,
        &format!(
            "DELETE FROM ledger_leaves WHERE idx >= {cut};
             DELETE FROM ledger_sealed WHERE idx >= {cut};
             DELETE FROM ledger_checkpoints WHERE size > {cut};"
        ),
    );
    // Against nothing published, the shorter log passes.
    let nothing = lab.dir.path().join("nothing.jsonl");
    std::fs::write(&nothing, "").unwrap();
    let (ok, out, err) = lab.cli(&["audit", "verify", "--published", nothing.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    // Against what was published, it fails: by default (the configured file) and by path.
    let (ok, out) = verify(&lab);
    assert!(!ok, "{out}");
    assert!(
        out.contains(&format!(
            "FAILED: published checkpoint {size}: the store holds only {cut} leaves"
        )),
        "{out}"
    );
    let (ok, out, _) = lab.cli(&[
        "audit",
        "verify",
        "--published",
        published.to_str().unwrap(),
    ]);
    assert!(!ok && out.contains("its tail was removed"), "{out}");
}

/// An approval runs once, even against someone who can write the store and make warden start
/// again (a crash, a reboot): they wait for an approved call to run, kill warden before its
/// next checkpoint, delete the leaves from the retry's decision on (the `executed` step among
/// them) with the checkpoints covering them, set the request's row back to `approved`, and
/// let the agent retry (its session is the sessionless protocol's, the same after a restart). warden publishes a checkpoint over the `executed` step to the witnesses
/// before it forwards the call, so the cut store is smaller than what the witness holds and
/// warden refuses to open it.
#[tokio::test]
async fn an_approval_used_before_a_crash_cannot_be_replayed_from_a_cut_store() {
    let lab = witnessed_lab("");
    let (id, args, ran) = {
        let warden = lab.serve();
        let agent = warden.stateless_client(RESPONDER, None).await;
        let (id, args) = disable_held_then_approved(&lab, &agent).await;
        let r = agent
            .call("idp.disable_account", args.clone())
            .await
            .unwrap();
        assert_ne!(r.is_error, Some(true), "{}", text(&r));
        assert_eq!(lab.received("idp"), ["disable_account"]);
        let ran = retry_index(&lab);
        // Killed (SIGKILL) before its next checkpoint: no shutdown checkpoint either.
        drop(agent);
        drop(warden);
        (id, args, ran)
    };
    cut_from(
        &lab,
        ran,
        &format!(
            "UPDATE pending SET status = 'approved', body = json_set(body, '$.status', 'approved')
             WHERE id = '{id}';"
        ),
    );
    // Where nothing noticed the cut, the agent's retry runs the approval a second time.
    let err = refused_to_open(&lab, RESPONDER, "idp.disable_account", args, "the retry").await;
    assert!(err.contains("published.jsonl"), "{err}");
    assert_eq!(lab.received("idp"), ["disable_account"]);
}

/// The same with two gateways on one store and one witness file ([`replay_on_another_gateway`]).
#[tokio::test]
async fn an_approval_used_on_one_gateway_cannot_be_replayed_on_another_from_a_cut_store() {
    let lab = witnessed_lab("");
    replay_on_another_gateway(&lab, true, true).await;
}

/// The example lab with a checkpoint an hour (none falls in a test) and a file witness.
fn witnessed_lab(extra: &str) -> Lab {
    Lab::with_config(|c| {
        c.replace(
            "checkpoint_interval_secs = 10",
            "checkpoint_interval_secs = 3600\nwitness = [{ file = \"state/published.jsonl\" }]",
        ) + extra
    })
}

/// The error warden gives refusing to open the store as it is now. Where it opens instead, the
/// attack worked: `token`'s agent calls `tool` with `args` on a warden started over the store,
/// and the test fails naming `what` and its answer.
async fn refused_to_open(lab: &Lab, token: &str, tool: &str, args: Value, what: &str) -> String {
    let (ok, _, err) = lab.cli(&["tools", "list"]);
    if ok {
        let warden = lab.serve();
        let agent = warden.stateless_client(token, None).await;
        let answer = match agent.call(tool, args).await {
            Ok(r) => text(&r),
            Err(e) => e.to_string(),
        };
        let server = tool.split('.').next().unwrap_or(tool);
        panic!(
            "warden opened the store; {what} answered `{answer}` ({server} received {:?})",
            lab.received(server)
        );
    }
    err
}

/// The first leaf of `kind` in the store, read as someone with the state directory would (no
/// warden command runs, so nothing signs a checkpoint).
fn first_leaf(lab: &Lab, kind: &str) -> u64 {
    lab.database()
        .query_row(
            "SELECT min(idx) FROM ledger_leaves WHERE kind = ?1",
            [kind],
            |r| r.get::<_, i64>(0),
        )
        .unwrap()
        .try_into()
        .unwrap()
}

/// Cuts the store's ledger from leaf `from` on, with the checkpoints covering it, and runs
/// `rows` (the tightening's own rows deleted): a crash in the last checkpoint interval, as
/// someone with the state directory leaves it.
fn cut_from(lab: &Lab, from: u64, rows: &str) {
    tamper(
        lab,
        &format!(
            "DELETE FROM ledger_leaves WHERE idx >= {from};
             DELETE FROM ledger_sealed WHERE idx >= {from};
             DELETE FROM ledger_checkpoints WHERE size > {from};
             {rows}"
        ),
    );
}

/// A taint the agent earned just before a crash: someone with the state directory kills warden
/// before its next checkpoint, cuts the leaves from the finding that records the taint on with
/// the taint's row, and starts warden again, so that the agent acts untainted (a write the
/// taint holds for a human, a comment on an incident, would run alone). warden publishes a checkpoint
/// over the finding to the witnesses before the agent reads on, so the cut store is smaller
/// than what the witness holds and warden refuses to open it.
#[tokio::test]
async fn a_taint_earned_before_a_crash_cannot_be_cut_from_the_store() {
    // The monitor only alerts on the tainted agent's high-stakes try: the taint is the guard.
    let lab = witnessed_lab("\n[monitor.tainted_high_stakes]\naction = \"alert\"\n");
    {
        let warden = lab.serve();
        let agent = warden.stateless_client(RESPONDER, None).await;
        let r = agent
            .call("mail.read_message", json!({"message_id": "MSG-3001"}))
            .await
            .unwrap();
        assert!(text(&r).contains("UNTRUSTED-"), "{}", text(&r));
        // Killed (SIGKILL) before its next checkpoint: no shutdown checkpoint either.
        drop(agent);
        drop(warden);
    }
    let finding = first_leaf(&lab, "finding");
    cut_from(&lab, finding, "DELETE FROM agent_taints;");
    let comment = json!({"incident": "INC-1043", "comment": "mailbox reviewed"});
    let err = refused_to_open(
        &lab,
        RESPONDER,
        "tickets.add_comment",
        comment,
        "the tainted agent's comment",
    )
    .await;
    assert!(err.contains("published.jsonl"), "{err}");
}

/// The monitor's halt the same way: the agent probes for tools it is not shown until the
/// monitor halts it; someone with the state directory kills warden, cuts the leaves from the
/// monitor's finding on with the halt's row, and starts warden again, so that the agent reads
/// on. The witness holds the halt, so warden refuses to open the cut store.
#[tokio::test]
async fn a_halt_set_before_a_crash_cannot_be_cut_from_the_store() {
    let lab = witnessed_lab("");
    {
        let warden = lab.serve();
        let agent = warden.stateless_client(TRIAGE, None).await;
        for _ in 0..5 {
            let err = agent
                .call("edr.isolate_host", isolate("ws-042", "INC-1042"))
                .await
                .unwrap_err();
            assert!(err.to_string().contains("unknown tool"), "{err}");
        }
        let r = agent
            .call("siem.get_alert", json!({"alert_id": "ALR-2001"}))
            .await
            .unwrap();
        assert!(text(&r).contains("halted by warden"), "{}", text(&r));
        drop(agent);
        drop(warden);
    }
    let finding = first_leaf(&lab, "finding");
    assert!(first_leaf(&lab, "halt") > finding);
    cut_from(&lab, finding, "DELETE FROM halts;");
    let read = json!({"alert_id": "ALR-2001"});
    let err = refused_to_open(
        &lab,
        TRIAGE,
        "siem.get_alert",
        read,
        "the halted agent's read",
    )
    .await;
    assert!(err.contains("published.jsonl"), "{err}");
}

/// Someone with the state directory deletes the ledger's key and the store, and with them every
/// halt, taint, budget and approval on the record, and lets warden start afresh: a new key and
/// an empty log under the same origin. The file witness holds checkpoints of this log signed
/// by the old key, so warden refuses to start a history that drops them.
#[tokio::test]
async fn a_ledger_started_afresh_under_a_new_key_is_refused_by_its_witness() {
    let lab = witnessed_lab("");
    let (ok, out, err) = lab.cli_as(
        "lab-dana-token",
        &[
            "halt",
            "--agent",
            "triage",
            "--reason",
            "drill",
            "--as",
            "dana",
            "--offline",
        ],
    );
    assert!(ok, "{out}{err}");
    let published = lab.dir.path().join("state/published.jsonl");
    assert!(
        std::fs::read_to_string(&published).is_ok_and(|t| !t.trim().is_empty()),
        "the CLI published its last checkpoint"
    );
    for file in [
        "ledger.key",
        "ledger.pub",
        "warden.db",
        "warden.db-wal",
        "warden.db-shm",
    ] {
        let _ = std::fs::remove_file(lab.dir.path().join("state").join(file));
    }
    let read = json!({"alert_id": "ALR-2001"});
    let err = refused_to_open(
        &lab,
        TRIAGE,
        "siem.get_alert",
        read,
        "the halted agent's read",
    )
    .await;
    assert!(
        err.contains("published.jsonl") && err.contains("signed by another key"),
        "{err}"
    );
}

/// Without a witness, the configuration can pin the ledger's key (`[ledger] verifier_key`, the
/// text of `ledger.pub`): a key deleted with the store is not made anew, another key put in its
/// place is refused, and the pinned key over an empty store is refused too, so warden does not
/// start a history that drops the halts on record.
#[tokio::test]
async fn a_pinned_ledger_key_is_never_made_anew() {
    let lab = Lab::new();
    let (ok, out, err) = lab.cli_as(
        "lab-dana-token",
        &[
            "halt",
            "--agent",
            "triage",
            "--reason",
            "drill",
            "--as",
            "dana",
            "--offline",
        ],
    );
    assert!(ok, "{out}{err}");
    let state = lab.dir.path().join("state");
    let pinned = std::fs::read_to_string(state.join("ledger.pub")).unwrap();
    let config = std::fs::read_to_string(lab.config()).unwrap();
    let with_pin = config.replace(
        "checkpoint_interval_secs = 10",
        &format!(
            "checkpoint_interval_secs = 10\nverifier_key = \"{}\"",
            pinned.trim()
        ),
    );
    assert_ne!(with_pin, config);
    std::fs::write(lab.config(), with_pin).unwrap();
    let (ok, _, err) = lab.cli(&["halt", "list"]);
    assert!(ok, "the pinned key itself opens: {err}");

    let key = std::fs::read(state.join("ledger.key")).unwrap();
    for file in [
        "ledger.key",
        "ledger.pub",
        "warden.db",
        "warden.db-wal",
        "warden.db-shm",
    ] {
        let _ = std::fs::remove_file(state.join(file));
    }
    let (ok, _, err) = lab.cli(&["tools", "list"]);
    assert!(!ok && err.contains("restore that key"), "{err}");
    assert!(!state.join("ledger.key").exists(), "no key was made");

    // Another key in its place (made by a warden with nothing pinned) is refused as well.
    let other = Lab::new();
    let (ok, _, err) = other.cli(&["tools", "list"]);
    assert!(ok, "{err}");
    std::fs::copy(
        other.dir.path().join("state/ledger.key"),
        state.join("ledger.key"),
    )
    .unwrap();
    let (ok, _, err) = lab.cli(&["tools", "list"]);
    assert!(
        !ok && err.contains("not the one the configuration pins"),
        "{err}"
    );
    // The pinned key back over the deleted store: an empty ledger under a pinned key is a
    // deleted one, not a new start.
    std::fs::write(state.join("ledger.key"), key).unwrap();
    let (ok, _, err) = lab.cli(&["tools", "list"]);
    assert!(!ok && err.contains("the store holds no ledger"), "{err}");
}

/// Review 37: `serve` refused a key other than the pinned one, but the auditor's tools trusted
/// the `ledger.pub` beside the key. Whoever replaced the key and the store together (a new
/// history, under a key of their making) got `ok` from `audit verify`, and `checkpoint`, `prove`
/// and `consistency` vouched for the new history. Each now checks against the pin, and says
/// so; with the `ledger.pub` left in place and only the key and the store replaced, `verify`
/// fails as well.
#[tokio::test]
async fn offline_verification_holds_the_ledger_to_the_pinned_key() {
    let halt = |lab: &Lab, agent: &str| {
        let (ok, out, err) = lab.cli_as(
            "lab-dana-token",
            &[
                "halt",
                "--agent",
                agent,
                "--reason",
                "drill",
                "--as",
                "dana",
                "--offline",
            ],
        );
        assert!(ok, "{out}{err}");
    };
    let lab = Lab::new();
    halt(&lab, "triage");
    halt(&lab, "responder");
    let state = lab.dir.path().join("state");
    let pinned = std::fs::read_to_string(state.join("ledger.pub")).unwrap();
    let config = std::fs::read_to_string(lab.config()).unwrap();
    std::fs::write(
        lab.config(),
        config.replace(
            "checkpoint_interval_secs = 10",
            &format!(
                "checkpoint_interval_secs = 10\nverifier_key = \"{}\"",
                pinned.trim()
            ),
        ),
    )
    .unwrap();
    let (ok, out, err) = lab.cli(&["audit", "verify"]);
    assert!(ok, "the pinned ledger verifies: {out}{err}");
    assert!(
        out.starts_with("ok: ") && out.contains(pinned.trim()),
        "{out}"
    );

    // Another history, under a key of its own, with its own `ledger.pub`.
    let other = Lab::new();
    halt(&other, "triage");
    halt(&other, "responder");
    let replace = |files: &[&str]| {
        for file in ["warden.db", "warden.db-wal", "warden.db-shm"] {
            let _ = std::fs::remove_file(state.join(file));
        }
        for file in files {
            let from = other.dir.path().join("state").join(file);
            if from.exists() {
                std::fs::copy(from, state.join(file)).unwrap();
            }
        }
    };
    replace(&[
        "ledger.key",
        "ledger.pub",
        "warden.db",
        "warden.db-wal",
        "warden.db-shm",
    ]);
    for args in [
        vec!["audit", "verify"],
        vec!["audit", "checkpoint"],
        vec!["audit", "prove", "0"],
        vec!["audit", "consistency", "1", "2"],
    ] {
        let (ok, out, err) = lab.cli(&args);
        assert!(!ok, "{args:?} vouched for a replaced ledger: {out}");
        assert!(
            err.contains("not the one the configuration pins") && err.contains(pinned.trim()),
            "{args:?}: {err}"
        );
        assert!(!out.contains("ok:"), "{args:?}: {out}");
    }

    // The pinned `ledger.pub` left in place, the key and the store replaced.
    std::fs::write(state.join("ledger.pub"), &pinned).unwrap();
    replace(&["ledger.key", "warden.db", "warden.db-wal", "warden.db-shm"]);
    let (ok, out, err) = lab.cli(&["audit", "verify"]);
    assert!(!ok, "{out}");
    assert!(
        err.contains("the signing key") && err.contains("not the one the configuration pins"),
        "{err}"
    );
    let (ok, out, _) = lab.cli(&["audit", "checkpoint"]);
    assert!(!ok, "a checkpoint signed by another key: {out}");
}

/// The other half: a witness that does not take the checkpoint over the `executed` step (here
/// a program that always fails) means the approved call is not forwarded. Its approval is
/// used (the step is recorded), so running it needs a new one.
#[tokio::test]
async fn an_approved_call_the_witnesses_cannot_record_is_not_forwarded() {
    let lab = Lab::with_config(|c| {
        c.replace(
            "checkpoint_interval_secs = 10",
            "checkpoint_interval_secs = 3600\nwitness = [{ command = [\"false\"] }]",
        )
    });
    let warden = lab.serve_logging("error");
    let agent = warden.client(RESPONDER).await;
    let (_, args) = disable_held_then_approved(&lab, &agent).await;
    let refused = agent.call("idp.disable_account", args).await;
    let e = format!("{:?}", refused.unwrap_err());
    assert!(e.contains("was not forwarded"), "{e}");
    assert!(
        warden
            .wait_for_log("was not published to the ledger's witnesses", 10)
            .is_some()
    );
    assert!(lab.received("idp").is_empty(), "the call was forwarded");
}

/// A leaf whose bytes were rewritten in place: `audit show` marks it (and the column that no
/// longer matches), so a reader does not take it for the record.
#[tokio::test]
async fn show_marks_a_leaf_whose_bytes_do_not_match_its_hash() {
    let lab = lab();
    some_calls(&lab).await;
    let denial = &show(&lab, &["--decision", "deny"])[0];
    let index = denial["index"].as_u64().unwrap();
    assert!(denial.get("hash_mismatch").is_none(), "{denial}");
    tamper(
        &lab,
        &format!(
            "UPDATE ledger_leaves
             SET leaf = CAST(replace(CAST(leaf AS TEXT), '\"decision\":\"deny\"',
                                     '\"decision\":\"allow\"') AS BLOB)
             WHERE idx = {index}"
        ),
    );
    let all = show(&lab, &[]);
    let shown = all.iter().find(|e| e["index"] == index).unwrap();
    assert_eq!(shown["decision"], "allow", "{shown}");
    assert_eq!(shown["hash_mismatch"], true, "{shown}");
    assert_eq!(shown["column_mismatch"], json!(["decision"]), "{shown}");
    let others = all
        .iter()
        .filter(|e| e.get("hash_mismatch").is_some())
        .count();
    assert_eq!(others, 1, "only the rewritten leaf is marked");
}

/// Every byte of warden's own files (the store and its journal, keys, checkpoints), not the
/// lab's: where a value could still be read by someone with the state directory.
fn wardens_files(lab: &Lab) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let state = lab.dir.path().join("state");
    let mut out = Vec::new();
    let mut dirs = vec![state.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path == state.join("lab") {
                continue;
            }
            if path.is_dir() {
                dirs.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                out.push((path, bytes));
            }
        }
    }
    out
}

fn files_holding(lab: &Lab, needle: &str) -> Vec<String> {
    wardens_files(lab)
        .into_iter()
        .filter(|(_, bytes)| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
        .map(|(path, _)| path.display().to_string())
        .collect()
}

/// Erasure that erases, from the side of someone who holds the state directory after it: a
/// value redacted from the ledger is in no byte of warden's files — not in the leaf's clear
/// fields (a reason that quotes the refused argument), not in the pages the deleted sealed
/// row left behind, not in the write-ahead log.
#[tokio::test]
async fn a_redacted_value_is_in_no_byte_of_wardens_files() {
    let lab = lab();
    let host = "ws-erasure-canary-7781";
    let warden = lab.serve();
    let responder = warden.client(RESPONDER).await;
    // A host that is in no inventory: refused, and the refusal names what it refused.
    let r = responder
        .call("edr.isolate_host", isolate(host, "INC-1042"))
        .await
        .unwrap();
    assert_eq!(r.is_error, Some(true), "{}", text(&r));
    wait_for_checkpoint(&lab);
    let denials = show(&lab, &["--decision", "deny", "--principal", "responder"]);
    assert_eq!(denials.len(), 1, "{denials:?}");
    assert!(
        !files_holding(&lab, host).is_empty(),
        "the value was recorded"
    );

    for denial in &denials {
        let index = denial["index"].as_u64().unwrap().to_string();
        let (ok, _, err) = lab.cli_as(
            "lab-dana-token",
            &[
                "audit",
                "redact",
                &index,
                "--reason",
                "erasure request 2026-120",
                "--as",
                "dana",
            ],
        );
        assert!(ok, "{err}");
    }
    assert_eq!(
        files_holding(&lab, host),
        Vec::<String>::new(),
        "still in warden's files while it runs"
    );
    drop(warden);
    assert_eq!(
        files_holding(&lab, host),
        Vec::<String>::new(),
        "still in warden's files after it stopped"
    );
    let (ok, out) = verify(&lab);
    assert!(ok, "{out}");
}
