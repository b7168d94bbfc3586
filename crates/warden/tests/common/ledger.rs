//! Ledger helpers for the integration tests: fast checkpoints, the store file, tampering.
#![allow(dead_code)]

use super::Lab;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// The example lab with a checkpoint every second.
pub fn lab() -> Lab {
    Lab::with_config(|c| {
        let fast = c.replace(
            "checkpoint_interval_secs = 10",
            "checkpoint_interval_secs = 1",
        );
        assert_ne!(fast, c, "the example config sets the checkpoint interval");
        fast
    })
}

pub fn db(lab: &Lab) -> PathBuf {
    lab.dir.path().join("state/warden.db")
}

pub fn pub_key(lab: &Lab) -> PathBuf {
    lab.dir.path().join("state/ledger.pub")
}

/// Size of the latest checkpoint, 0 when there is none.
pub fn checkpoint_size(lab: &Lab) -> u64 {
    let (ok, out, _) = lab.cli(&["audit", "checkpoint"]);
    if !ok {
        return 0;
    }
    out.lines().nth(1).and_then(|l| l.parse().ok()).unwrap_or(0)
}

/// Number of leaves in the ledger.
pub fn leaves(lab: &Lab) -> u64 {
    let (ok, out, err) = lab.cli(&["audit", "show"]);
    assert!(ok, "{err}");
    out.lines().count() as u64
}

/// Waits until a checkpoint covers every leaf stored.
pub fn wait_for_checkpoint(lab: &Lab) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let n = leaves(lab);
        let size = checkpoint_size(lab);
        if n > 0 && size == n {
            return size;
        }
        assert!(Instant::now() < deadline, "no checkpoint covers {n} leaves");
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// `warden audit verify`: (passed, stdout).
pub fn verify(lab: &Lab) -> (bool, String) {
    let (ok, out, err) = lab.cli(&["audit", "verify"]);
    (ok, format!("{out}{err}"))
}

/// Runs SQL on the store as an attacker with file access would: triggers first dropped.
pub fn tamper(lab: &Lab, sql: &str) {
    let conn = rusqlite::Connection::open(db(lab)).unwrap();
    conn.execute_batch(
        "DROP TRIGGER IF EXISTS ledger_leaves_no_update;
         DROP TRIGGER IF EXISTS ledger_leaves_no_delete;
         DROP TRIGGER IF EXISTS ledger_sealed_no_update;
         DROP TRIGGER IF EXISTS ledger_checkpoints_no_update;
         DROP TRIGGER IF EXISTS ledger_checkpoints_no_delete;",
    )
    .unwrap();
    conn.execute_batch(sql).unwrap();
}

/// A consistent copy of the store, to restore between tampering cases.
pub fn snapshot(lab: &Lab) -> PathBuf {
    let copy = lab.dir.path().join("pristine.db");
    let _ = std::fs::remove_file(&copy);
    let conn = rusqlite::Connection::open(db(lab)).unwrap();
    conn.execute("VACUUM INTO ?1", [copy.to_str().unwrap()])
        .unwrap();
    copy
}

pub fn restore(lab: &Lab, copy: &PathBuf) {
    let db = db(lab);
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    std::fs::copy(copy, &db).unwrap();
}

/// Asks a running `warden serve` to stop (SIGINT, like Ctrl-C) and waits for it.
pub fn interrupt(child: &mut std::process::Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "warden did not stop on SIGINT");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The leaf of the newest decision on `idp.disable_account`, read from the store as someone
/// with the state directory would (no warden command runs, so nothing signs a checkpoint).
pub fn retry_index(lab: &Lab) -> u64 {
    lab.database()
        .query_row(
            "SELECT max(idx) FROM ledger_leaves
             WHERE kind = 'decision' AND tool = 'idp.disable_account'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .unwrap()
        .try_into()
        .unwrap()
}

/// Two gateways on one store (and whatever witnesses `lab` configures): an approved call runs
/// on one; someone with the state directory cuts the leaves from its retry's decision on (the
/// `executed` step among them) and, with `cut_checkpoints`, the checkpoints covering them, and
/// sets the request's row back to `approved`; with `grow`, the agent makes a few reads on the
/// other gateway, so that its tree grows past what the witnesses hold; and it retries there. That gateway either
/// read the cut leaves already (and refuses: leaves were removed) or finds, publishing its own
/// `executed` step, that a witness holds a tree its store does not extend: either way the
/// approval does not run twice.
pub async fn replay_on_another_gateway(lab: &Lab, cut_checkpoints: bool, grow: bool) {
    use super::{RESPONDER, disable_held_then_approved, text};
    use serde_json::json;
    let one = lab.serve();
    let other = lab.serve();
    let agent = one.stateless_client(RESPONDER, None).await;
    let (id, args) = disable_held_then_approved(lab, &agent).await;
    let elsewhere = other.stateless_client(RESPONDER, None).await;
    let r = agent
        .call("idp.disable_account", args.clone())
        .await
        .unwrap();
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    assert_eq!(lab.received("idp"), ["disable_account"]);
    let ran = retry_index(lab);
    let checkpoints = if cut_checkpoints {
        format!("DELETE FROM ledger_checkpoints WHERE size > {ran};")
    } else {
        String::new()
    };
    tamper(
        lab,
        &format!(
            "DELETE FROM ledger_leaves WHERE idx >= {ran};
         DELETE FROM ledger_sealed WHERE idx >= {ran};
         {checkpoints}
         UPDATE pending SET status = 'approved', body = json_set(body, '$.status', 'approved')
         WHERE id = '{id}';"
        ),
    );
    for _ in 0..if grow { 4 } else { 0 } {
        let _ = elsewhere
            .call("siem.get_alert", json!({"alert_id": "ALR-2001"}))
            .await;
    }
    let r = elsewhere.call("idp.disable_account", args).await;
    assert_eq!(
        lab.received("idp"),
        ["disable_account"],
        "the approval ran twice: {r:?}"
    );
}
