//! Attacks on the human gate itself: someone who can write warden's store, approvers answering
//! at the same moment, and a budget that runs out between an approval and its use. Each test is
//! an attack that succeeded once; the gate must now hold.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use serde_json::{Value, json};
use std::sync::{Arc, Barrier};
use warden_store::Store;

fn answer(lab: &Lab, verb: &str, id: &str, who: &str, reason: &str) -> (bool, String, String) {
    lab.cli_as(
        &format!("lab-{who}-token"),
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

/// The approval steps recorded for request `id`, in order.
fn steps(lab: &Lab, id: &str) -> Vec<String> {
    lab.events("approval")
        .into_iter()
        .filter(|e| e["request_id"] == id)
        .map(|e| e["detail"]["step"].as_str().unwrap().to_string())
        .collect()
}

/// Asks for `args` as the agent; the id of the request that holds it.
async fn hold(agent: &Client, args: &Value) -> String {
    let r = agent
        .call("idp.disable_account", args.clone())
        .await
        .unwrap();
    request_id(&text(&r))
}

fn sql(lab: &Lab, statement: &str, id: &str) {
    lab.database().execute(statement, [id]).unwrap();
}

/// Someone who can write `warden.db` (with `warden stdio`, the agent's own OS user) marks a
/// held two-person request approved. The retry must not run: approvals are proven by the
/// ledger, not by a row.
#[tokio::test]
async fn a_request_row_edited_to_approved_runs_nothing() {
    let lab = Lab::new();
    let warden = lab.serve();
    let agent = warden.client(RESPONDER).await;
    let args = json!({"user": "carol.diaz"});
    let id = hold(&agent, &args).await;

    // The forged approval: the status column, the body, even made-up answers.
    sql(
        &lab,
        "UPDATE pending SET status = 'approved', body = json_set(body, '$.status', 'approved', \
         '$.answers', json('[{\"approver\":\"bob\",\"approve\":true,\"reason\":\"x\",\"at_ms\":1},\
         {\"approver\":\"dana\",\"approve\":true,\"reason\":\"y\",\"at_ms\":2}]')) WHERE id = ?1",
        &id,
    );
    let r = agent
        .call("idp.disable_account", args.clone())
        .await
        .unwrap();
    assert!(!disabled(&lab, "carol.diaz"), "{}", text(&r));
    assert_eq!(lab.received("idp").len(), 0);
    assert!(
        !steps(&lab, &id).contains(&"executed".to_string()),
        "{:?}",
        steps(&lab, &id)
    );
    // The refusal names what is missing, and is on the record.
    assert!(text(&r).contains("approval"), "{}", text(&r));
    let refused = lab
        .events("decision")
        .into_iter()
        .filter(|e| e["tool"] == "idp.disable_account")
        .count();
    assert_eq!(refused, 2, "both calls decided and recorded");
    drop(warden);
    let (ok, out, err) = lab.cli(&["audit", "verify"]);
    assert!(ok, "{out}{err}");
}

/// One approval by the ledger, two needed: the same forged row, after one real approval.
#[tokio::test]
async fn one_real_approval_and_a_forged_second_runs_nothing() {
    let lab = Lab::new();
    let warden = lab.serve();
    let agent = warden.client(RESPONDER).await;
    let args = json!({"user": "carol.diaz"});
    let id = hold(&agent, &args).await;
    let (ok, out, err) = answer(&lab, "approve", &id, "bob", "impossible travel");
    assert!(ok && out.contains("1 of 2"), "{out}{err}");
    sql(
        &lab,
        "UPDATE pending SET status = 'approved', body = json_set(body, '$.status', 'approved', \
         '$.approvals_needed', 1) WHERE id = ?1",
        &id,
    );
    let r = agent.call("idp.disable_account", args).await.unwrap();
    assert!(!disabled(&lab, "carol.diaz"), "{}", text(&r));
}

/// Forges a second approval of request `id` (which bob approved) in the ledger's own table: a
/// copy of bob's approval leaf under dana's name, with a correct leaf hash and the real sealed
/// row, inserted at index `at` (with the real leaf's MAC, since the forger has no key to make
/// one), or at the tail with no MAC; then marks the request approved.
fn forge_second_approval(lab: &Lab, id: &str, at: Option<i64>) {
    let db = lab.database();
    let (real, leaf, mac): (i64, Vec<u8>, Vec<u8>) = db
        .query_row(
            "SELECT idx, leaf, leaf_mac FROM ledger_leaves WHERE kind = 'approval'
             AND instr(CAST(leaf AS TEXT), '\"approver\":\"bob\"') > 0
             AND instr(CAST(leaf AS TEXT), ?1) > 0",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    let forged = String::from_utf8(leaf)
        .unwrap()
        .replace("\"approver\":\"bob\"", "\"approver\":\"dana\"")
        .into_bytes();
    let hash = warden_ledger::leaf_hash(&forged);
    let (at, mac) = match at {
        Some(at) => (at, Some(mac)),
        None => (
            db.query_row("SELECT MAX(idx) + 1 FROM ledger_leaves", [], |r| r.get(0))
                .unwrap(),
            None,
        ),
    };
    db.execute(
        "INSERT INTO ledger_leaves (idx, leaf, leaf_hash, time_ms, kind, principal, session,
                                    tool, decision, leaf_mac)
         SELECT ?4, ?1, ?2, time_ms, kind, principal, session, tool, decision, ?5
         FROM ledger_leaves WHERE idx = ?3",
        rusqlite::params![forged, hash.as_bytes().as_slice(), real, at, mac],
    )
    .unwrap();
    db.execute(
        "INSERT INTO ledger_sealed (idx, sealed) SELECT ?2, sealed FROM ledger_sealed
         WHERE idx = ?1",
        [real, at],
    )
    .unwrap();
    sql(
        lab,
        "UPDATE pending SET status = 'approved', body = json_set(body, '$.status', 'approved')
         WHERE id = ?1",
        id,
    );
}

/// One real approval, and a forged second one INSERTed into the ledger itself: a copy of the
/// real approval leaf under another approver's name, with a correct leaf hash and the real
/// sealed row, and the request row set to approved. The gate reads that leaf, but the decision
/// that would let the call run never commits: the writer refuses to append after a leaf that no
/// holder of the ledger key wrote, so nothing is forwarded, and `audit verify` names the leaf.
#[tokio::test]
async fn a_forged_approval_leaf_runs_nothing() {
    let lab = Lab::new();
    let warden = lab.serve();
    let agent = warden.client(RESPONDER).await;
    let args = json!({"user": "carol.diaz"});
    let id = hold(&agent, &args).await;
    let (ok, out, err) = answer(&lab, "approve", &id, "bob", "impossible travel");
    assert!(ok && out.contains("1 of 2"), "{out}{err}");

    forge_second_approval(&lab, &id, None);
    // Fail closed: an error, not a result.
    let err = agent.call("idp.disable_account", args).await.unwrap_err();
    assert!(err.to_string().contains("not forwarded"), "{err}");
    assert!(!disabled(&lab, "carol.diaz"));
    assert_eq!(lab.received("idp").len(), 0);
    drop(warden);
    let (ok, out, err) = lab.cli(&["audit", "verify"]);
    assert!(!ok, "{out}{err}");
    assert!(
        out.contains("it has no MAC and no checkpoint covers it"),
        "{out}{err}"
    );
}

/// Someone who can write `warden.db` copies a real approval leaf under a second approver's
/// name with a correct hash and inserts it at a negative index, below every leaf the tree,
/// the MACs, the checkpoints and the writer look at, then marks the two-person request
/// approved. The gate must not count it: only leaves a writer holding the ledger key appended
/// prove an approval; and `audit verify` must not pass.
#[tokio::test]
async fn a_forged_approval_below_the_first_leaf_runs_nothing() {
    let lab = Lab::new();
    let warden = lab.serve();
    let agent = warden.client(RESPONDER).await;
    let args = json!({"user": "carol.diaz"});
    let id = hold(&agent, &args).await;
    let (ok, out, err) = answer(&lab, "approve", &id, "bob", "impossible travel");
    assert!(ok && out.contains("1 of 2"), "{out}{err}");

    forge_second_approval(&lab, &id, Some(-1));

    let answer = agent.call("idp.disable_account", args).await;
    assert!(!disabled(&lab, "carol.diaz"), "{answer:?}");
    assert_eq!(lab.received("idp").len(), 0);
    drop(warden);
    let (ok, out, err) = lab.cli(&["audit", "verify"]);
    assert!(!ok, "the forged row passed: {out}{err}");
    assert!(err.contains("index -1"), "{out}{err}");
}

/// Someone who can write `warden.db` changes what a held request shows the approver: the
/// arguments (keeping the digest the approval binds), or the digest with them. An approver
/// who answers it must be refused, so no human approves a call they were not shown.
#[tokio::test]
async fn a_request_altered_in_the_database_cannot_be_approved() {
    let lab = Lab::new();
    let warden = lab.serve();
    let agent = warden.client(RESPONDER).await;
    let args = json!({"user": "carol.diaz"});
    let id = hold(&agent, &args).await;
    let shown = json!({"user": "test.account"});

    // An approver answers after each edit, and is refused for the reason given.
    let refused_after = |edit: String, why: &str| {
        sql(&lab, &edit, &id);
        let (ok, out, err) = answer(&lab, "approve", &id, "bob", "looks harmless");
        assert!(!ok, "{out}{err}");
        assert!(err.contains(why), "{out}{err}");
    };
    // Harmless arguments shown; the digest of the real ones kept.
    refused_after(
        format!(
            "UPDATE pending SET body = json_set(body, '$.args', json('{shown}')) WHERE id = ?1"
        ),
        "cannot be answered",
    );
    // The digest made to match what is shown: the ledger says the agent asked for another.
    let digest = warden_core::ArgsDigest::of(&shown).0;
    refused_after(
        format!(
            "UPDATE pending SET body = json_set(body, '$.args_digest', '{digest}') WHERE id = ?1"
        ),
        "no such call held",
    );
    // The arguments put back, and what surrounds them changed: the rationale, what the agent
    // read and warden's warnings about it.
    let real = warden_core::ArgsDigest::of(&args).0;
    refused_after(
        format!(
            "UPDATE pending SET body = json_set(body, '$.args', json('{args}'), \
             '$.args_digest', '{real}', '$.rationale', 'routine offboarding', \
             '$.evidence', json('[]')) WHERE id = ?1"
        ),
        "not what warden recorded",
    );
    assert!(
        !steps(&lab, &id).contains(&"approved".to_string()),
        "{:?}",
        steps(&lab, &id)
    );
}

/// Someone who can write `warden.db` leaves the call as it was and relabels it: a critical,
/// two-person call shown as a routine, low-stakes one under a harmless rule and owner (or with
/// a later expiry). The approver must be refused: what the console tells them about a call is
/// part of what they approve.
#[tokio::test]
async fn a_request_relabelled_in_the_database_cannot_be_approved() {
    let lab = Lab::new();
    let warden = lab.serve();
    let agent = warden.client(RESPONDER).await;
    for (user, edit) in [
        ("carol.diaz", "'$.stakes', 'low'"),
        ("dan.okafor", "'$.category', 'lookups'"),
        ("erin.walsh", "'$.rule', 'read-only-lookups'"),
        ("frank.li", "'$.owner', 'nobody@northwind.example'"),
        ("henry.adams", "'$.expires_ms', 99999999999999"),
    ] {
        let id = hold(&agent, &json!({ "user": user })).await;
        sql(
            &lab,
            &format!("UPDATE pending SET body = json_set(body, {edit}) WHERE id = ?1"),
            &id,
        );
        let (ok, out, err) = answer(&lab, "approve", &id, "bob", "looks harmless");
        assert!(!ok, "{edit}: {out}{err}");
        assert!(
            err.contains("not what warden recorded"),
            "{edit}: {out}{err}"
        );
        assert!(
            !steps(&lab, &id).contains(&"approved".to_string()),
            "{edit}"
        );
    }
}

/// A halt is a kill switch: someone who can write `warden.db` deletes the halt row (or marks
/// it resumed) to let a halted agent act again. The ledger records the halt, and nothing but a
/// recorded resume by a human lifts it. (warden restarts after each edit, so the call reads
/// the halts afresh.)
#[tokio::test]
async fn a_halt_row_deleted_from_the_database_lifts_nothing() {
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
    let read = json!({"alert_id": "ALR-2001"});
    let halted = |r: &rmcp::model::CallToolResult| text(r).contains("halted by warden");
    // The last one also hides the halt's leaf from the store's index columns: the ledger's
    // own index reads the leaf's bytes.
    for tamper in [
        "UPDATE halts SET resumed_ms = 1, resumed_by = 'dana', resume_reason = 'x'",
        "DELETE FROM halts",
        "DROP TRIGGER IF EXISTS ledger_leaves_no_update;
         UPDATE ledger_leaves SET kind = 'outcome' WHERE kind = 'halt';
         DELETE FROM halts",
    ] {
        lab.tamper(tamper);
        let warden = lab.serve();
        let r = warden
            .client(TRIAGE)
            .await
            .call("siem.get_alert", read.clone())
            .await
            .unwrap();
        assert!(halted(&r), "{tamper}: {}", text(&r));
        let (ok, out, err) = lab.cli(&["halt", "list"]);
        assert!(ok && out.contains("agent:triage"), "{tamper}: {out}{err}");
    }
    assert_eq!(lab.received("siem").len(), 0);

    // A human's resume, recorded (through the running gateway), lifts it.
    let warden = lab.serve();
    let (ok, out, err) = lab.cli_as(
        "lab-dana-token",
        &[
            "resume",
            "agent:triage",
            "--reason",
            "drill over",
            "--as",
            "dana",
        ],
    );
    assert!(ok, "{out}{err}");
    let r = warden
        .client(TRIAGE)
        .await
        .call("siem.get_alert", read)
        .await
        .unwrap();
    assert!(!halted(&r), "{}", text(&r));
    let (ok, out, err) = lab.cli(&["halt", "list"]);
    assert!(ok && !out.contains("agent:triage"), "{out}{err}");
}

/// Someone who can write `warden.db` replays an approval that already ran: hides its
/// `executed` step from the ledger's index columns (the leaf's `kind` column rewritten, the
/// guard trigger dropped) and sets the request back to approved. Neither the gateway that ran
/// it, nor a second replica on the same store that never read that step, nor a gateway
/// restarted afterwards runs it again: the ledger's own index is built from the leaves' bytes,
/// read in order, never from a column. (The agent speaks MCP without sessions, so every
/// gateway sees the same session: the approval is bound to it.)
#[tokio::test]
async fn an_executed_approval_replayed_by_hiding_its_record_runs_once() {
    let lab = Lab::new();
    let warden = lab.serve();
    let replica = lab.serve();
    let agent = warden.stateless_client(RESPONDER, None).await;
    let args = json!({"user": "carol.diaz"});
    let id = hold(&agent, &args).await;
    for who in ["bob", "dana"] {
        let (ok, out, err) = answer(&lab, "approve", &id, who, "impossible travel");
        assert!(ok, "{out}{err}");
    }
    let r = agent
        .call("idp.disable_account", args.clone())
        .await
        .unwrap();
    assert!(disabled(&lab, "carol.diaz"), "{}", text(&r));
    assert_eq!(
        steps(&lab, &id).last().map(String::as_str),
        Some("executed")
    );

    let replay = || {
        let db = lab.database();
        db.execute_batch("DROP TRIGGER IF EXISTS ledger_leaves_no_update")
            .unwrap();
        db.execute(
            "UPDATE ledger_leaves SET kind = 'outcome' WHERE kind = 'approval'
             AND instr(CAST(leaf AS TEXT), '\"step\":\"executed\"') > 0
             AND instr(CAST(leaf AS TEXT), ?1) > 0",
            [&id],
        )
        .unwrap();
        drop(db);
        sql(
            &lab,
            "UPDATE pending SET status = 'approved', body = json_set(body, '$.status', 'approved')
             WHERE id = ?1",
            &id,
        );
    };
    let disables = || {
        lab.received("idp")
            .iter()
            .filter(|t| *t == "disable_account")
            .count()
    };
    replay();
    let _ = agent.call("idp.disable_account", args.clone()).await;
    assert_eq!(disables(), 1, "the gateway that ran it ran it again");
    replay();
    let r = replica
        .stateless_client(RESPONDER, None)
        .await
        .call("idp.disable_account", args.clone())
        .await
        .unwrap();
    assert_eq!(disables(), 1, "a second replica ran it again: {}", text(&r));
    drop((warden, replica));
    replay();
    let restarted = lab.serve();
    let r = restarted
        .stateless_client(RESPONDER, None)
        .await
        .call("idp.disable_account", args)
        .await
        .unwrap();
    assert_eq!(
        disables(),
        1,
        "a restarted gateway ran it again: {}",
        text(&r)
    );
}

/// An approved call whose budget ran out in the meantime is refused — and the approval is not
/// spent: the request stays approved and the ledger does not say it ran.
#[tokio::test]
async fn an_approval_refused_by_its_budget_is_not_spent() {
    let lab = Lab::with_config(|c| {
        c.replace(
            "write_budget = { limit = 10,",
            "write_budget = { limit = 1,",
        )
    });
    let warden = lab.serve();
    let agent = warden.client(RESPONDER).await;
    let first = json!({"user": "alice.chen", "reason": "credentials phished"});
    let second = json!({"user": "bob.ng", "reason": "credentials phished"});
    let a = request_id(&text(
        &agent
            .call("idp.disable_account", first.clone())
            .await
            .unwrap(),
    ));
    let b = request_id(&text(
        &agent
            .call("idp.disable_account", second.clone())
            .await
            .unwrap(),
    ));
    for id in [&a, &b] {
        let (ok, out, err) = answer(&lab, "approve", id, "bob", "phished, confirmed");
        assert!(ok, "{out}{err}");
    }
    let r = agent.call("idp.disable_account", first).await.unwrap();
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    assert!(disabled(&lab, "alice.chen"));

    // The one-an-hour budget is used: the second approved call is refused …
    let r = agent
        .call("idp.disable_account", second.clone())
        .await
        .unwrap();
    assert!(text(&r).contains("budget"), "{}", text(&r));
    assert!(!disabled(&lab, "bob.ng"));
    // … and its approval is still there, unspent, with no "executed" on the record.
    let stored = lab.store().pending_request(&b).unwrap().unwrap();
    assert_eq!(stored.status, warden_core::ApprovalStatus::Approved);
    assert_eq!(steps(&lab, &b), ["asked", "approved"]);
    assert_eq!(steps(&lab, &a), ["asked", "approved", "executed"]);
}

fn open_gate(lab: &Lab) -> (warden_policy::Config, Arc<dyn Store>, warden_store::Ledger) {
    let config = warden_policy::Config::load(&lab.config()).unwrap();
    let store: Arc<dyn Store> = Arc::new(lab.store());
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
    (config, store, audit)
}

/// Stores `request` and records it held, as the gateway does when it holds a call: the
/// `asked` step an approver's answer is checked against.
fn store_held(
    store: &dyn Store,
    audit: &warden_store::Ledger,
    request: &warden_store::PendingRequest,
) {
    store.create_pending(request).unwrap();
    let mut asked = warden_core::AuditEvent::new(warden_core::EventKind::Approval, now_ms());
    asked.principal = Some(request.principal.clone());
    asked.session = Some(request.session.clone());
    asked.tool = Some(request.tool.clone());
    asked.request_id = Some(request.id.clone());
    asked.args_digest = Some(request.args_digest.clone());
    asked.policy_version = Some(request.policy_version.clone());
    asked.rule = Some(request.rule.clone());
    asked.owner = Some(request.owner.clone());
    asked.category = Some(request.category.clone());
    let shown = json!({"rationale": request.rationale, "evidence": request.evidence});
    asked.detail = Some(json!({
        "step": "asked",
        "approvals_needed": request.approvals_needed(),
        "expires_ms": request.expires_ms,
        "shown_digest": warden_core::ArgsDigest::of(&shown).0,
    }));
    audit.append(&asked).unwrap();
}

/// A pending two-person request as the gateway stores it when it holds a call.
fn held(id: &str) -> warden_store::PendingRequest {
    serde_json::from_value(json!({
        "id": id, "created_ms": now_ms(), "principal": "responder", "session": "s1",
        "tool": "idp.disable_account", "args": {"user": "carol.diaz"},
        "args_digest": warden_core::ArgsDigest::of(&json!({"user": "carol.diaz"})).0,
        "policy_version": "v1",
        "rule": "disable-executive-needs-two", "approval": "two-person", "status": "pending",
        "rationale": null, "category": "identity", "stakes": "high",
        "owner": "iam@northwind.example", "approvals_needed": 2,
        "expires_ms": now_ms() + 3_600_000, "answers": [], "evidence": [], "escalated": false
    }))
    .unwrap()
}

/// What the ledger says each approver answered on request `id`.
fn answered_on_record(store: &dyn Store, id: &str) -> Vec<(String, String)> {
    let filter = warden_store::EventFilter {
        kind: Some("approval".into()),
        ..Default::default()
    };
    let mut out: Vec<(String, String)> = warden_store::ledger::read_events(store, &filter)
        .unwrap()
        .into_iter()
        .filter(|e| e.event.request_id.as_deref() == Some(id))
        .filter_map(|e| {
            let detail = e.event.detail.unwrap_or(Value::Null);
            let step = detail["step"].as_str()?.to_string();
            let who = detail["approver"].as_str()?.to_string();
            Some((who, step))
        })
        .collect();
    out.sort();
    out
}

/// Two approvers answer a two-person request at the same instant, many times over: both
/// answers count every time, and the ledger records exactly the answers the request holds.
#[test]
fn concurrent_approvals_are_neither_lost_nor_recorded_twice() {
    let lab = Lab::new();
    let (config, store, audit) = open_gate(&lab);
    let audit = Arc::new(audit);
    let config = Arc::new(config);
    for round in 0..12 {
        let id = format!("apr_race{round}");
        store_held(store.as_ref(), &audit, &held(&id));
        let barrier = Arc::new(Barrier::new(2));
        let handles: Vec<_> = ["bob", "dana"]
            .into_iter()
            .map(|who| {
                let (store, audit, config, barrier, id) = (
                    store.clone(),
                    audit.clone(),
                    config.clone(),
                    barrier.clone(),
                    id.clone(),
                );
                std::thread::spawn(move || {
                    barrier.wait();
                    warden_gateway::gate::answer(
                        store.as_ref(),
                        audit.as_ref(),
                        &config,
                        &id,
                        who,
                        warden_core::Verdict::Approve,
                        "impossible travel, confirmed",
                        now_ms(),
                    )
                    .map(|_| ())
                    .map_err(|e| e.to_string())
                })
            })
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), Ok(()), "round {round}");
        }
        let stored = store.pending_request(&id).unwrap().unwrap();
        assert_eq!(
            stored.status,
            warden_core::ApprovalStatus::Approved,
            "round {round}"
        );
        assert_eq!(stored.answers.len(), 2, "round {round}");
        assert_eq!(
            answered_on_record(store.as_ref(), &id),
            [
                ("bob".to_string(), "approved".to_string()),
                ("dana".to_string(), "approved".to_string())
            ],
            "round {round}"
        );
    }
}

/// An approval racing a denial: whichever lands, the ledger records exactly the answers that
/// took effect — never a "denied" step on a request that ended approved.
#[test]
fn an_approval_racing_a_denial_leaves_a_record_that_matches_the_outcome() {
    let lab = Lab::new();
    let (config, store, audit) = open_gate(&lab);
    let audit = Arc::new(audit);
    let config = Arc::new(config);
    for round in 0..12 {
        let id = format!("apr_deny{round}");
        let mut request = held(&id);
        request.approval = serde_json::from_value(json!("required")).unwrap();
        store_held(store.as_ref(), &audit, &request);
        let barrier = Arc::new(Barrier::new(2));
        let handles: Vec<_> = [("bob", true), ("dana", false)]
            .into_iter()
            .map(|(who, approve)| {
                let (store, audit, config, barrier, id) = (
                    store.clone(),
                    audit.clone(),
                    config.clone(),
                    barrier.clone(),
                    id.clone(),
                );
                std::thread::spawn(move || {
                    barrier.wait();
                    let _ = warden_gateway::gate::answer(
                        store.as_ref(),
                        audit.as_ref(),
                        &config,
                        &id,
                        who,
                        warden_core::Verdict::from(approve),
                        "checked",
                        now_ms(),
                    );
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let stored = store.pending_request(&id).unwrap().unwrap();
        let in_state: Vec<(String, String)> = stored
            .answers
            .iter()
            .map(|a| (a.approver.clone(), a.verdict.step().to_string()))
            .collect();
        assert_eq!(in_state.len(), 1, "one answer decides: round {round}");
        assert_eq!(
            answered_on_record(store.as_ref(), &id),
            in_state,
            "round {round}"
        );
    }
}

/// A ledger that says a request ran without the approvals it needed fails `audit verify`,
/// whoever wrote it.
#[test]
fn audit_verify_reports_an_executed_request_without_its_approvals() {
    let lab = Lab::new();
    {
        let (_, _, audit) = open_gate(&lab);
        for (step, approver) in [
            ("asked", None),
            ("approved", Some("bob")),
            ("executed", None),
        ] {
            let mut e = warden_core::AuditEvent::new(warden_core::EventKind::Approval, now_ms());
            e.principal = Some("responder".into());
            e.session = Some("s1".into());
            e.tool = Some("idp.disable_account".into());
            e.category = Some("identity".into());
            e.rule = Some("disable-executive-needs-two".into());
            e.request_id = Some("apr_forged".into());
            let mut detail = json!({"step": step, "approvals_needed": 2});
            if let Some(who) = approver {
                detail["approver"] = json!(who);
            }
            e.detail = Some(detail);
            audit.append(&e).unwrap();
        }
        audit.shutdown().unwrap();
    }
    let (ok, out, err) = lab.cli(&["audit", "verify"]);
    assert!(!ok, "{out}{err}");
    assert!(
        format!("{out}{err}").contains("apr_forged"),
        "names the request: {out}{err}"
    );
}

/// warden's store and keys are readable by warden alone.
#[cfg(unix)]
#[tokio::test]
async fn the_store_and_the_ledger_key_are_private_files() {
    use std::os::unix::fs::PermissionsExt;
    let lab = Lab::new();
    let warden = lab.serve();
    let _ = warden.client(RESPONDER).await;
    let config = warden_policy::Config::load(&lab.config()).unwrap();
    let db = lab.dir.path().join("state/warden.db");
    for path in [db.clone(), config.ledger.key_path.clone()] {
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & 0o077, 0, "{} is mode {mode:o}", path.display());
    }
    let wal = lab.dir.path().join("state/warden.db-wal");
    if wal.exists() {
        let mode = std::fs::metadata(&wal).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & 0o077, 0, "the WAL is mode {mode:o}");
    }
}

/// A status warden never writes is an error wherever it is read — never read as some state,
/// not even "denied", which would hide the edit.
#[tokio::test]
async fn an_unknown_request_status_is_an_error_not_a_default() {
    let lab = Lab::new();
    let warden = lab.serve();
    let agent = warden.client(RESPONDER).await;
    let args = json!({"user": "carol.diaz"});
    let id = hold(&agent, &args).await;
    sql(
        &lab,
        "UPDATE pending SET status = 'aproved', body = json_set(body, '$.status', 'aproved') \
         WHERE id = ?1",
        &id,
    );
    let (ok, out, err) = lab.cli(&["approvals", "list", "--all", "--offline"]);
    assert!(!ok, "{out}{err}");
    assert!(err.contains("aproved"), "{err}");
    let _ = agent.call("idp.disable_account", args).await;
    assert!(!disabled(&lab, "carol.diaz"));
    assert!(lab.received("idp").is_empty());
}
