//! Checkpoints published to a C2SP tlog-witness over HTTP: the witness cosigns each one with a
//! consistency proof from the last, a restart continues where it left off, a cosignature that
//! does not verify is refused, a hung witness never holds up an append, and a ledger whose tail
//! was deleted is refused by the witness and named by warden.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
#[path = "common/ledger.rs"]
mod ledger_support;
#[path = "common/witness.rs"]
mod witness_server;

use common::*;
use ledger_support::*;
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use warden_core::{AuditEvent, EventKind};
use warden_gateway::witness::HttpWitness;
use warden_ledger::{CheckpointVerifier, CosignerKey};
use warden_store::ledger::{
    CheckpointSink, FileSink, check_cosigned, cosigned_path, read_cosigned, with_cosignatures,
};
use warden_store::{Ledger, LedgerSettings, SqliteStore, Store, StoredCheckpoint};
use witness_server::{Mode, TestWitness, WITNESS_NAME};

fn settings(dir: &Path, witnesses: Vec<Arc<dyn CheckpointSink>>) -> LedgerSettings {
    LedgerSettings {
        key_path: dir.join("ledger.key"),
        origin: "warden.test/ledger".into(),
        checkpoint_interval: Duration::from_secs(3600),
        defer_within: warden_store::DEFER_WITHIN,
        witnesses,
        pinned: None,
    }
}

fn event(i: u64) -> AuditEvent {
    let mut e = AuditEvent::new(EventKind::Decision, 1_000 + i as i64);
    e.principal = Some("agent".into());
    e.tool = Some("edr.get_host".into());
    e.args = Some(json!({"host": format!("ws-{i:03}")}));
    e.decision = Some("allow".into());
    e
}

fn store(dir: &Path) -> Arc<dyn Store> {
    Arc::new(SqliteStore::open(&dir.join("w.db")).unwrap())
}

fn sink(
    witness: &TestWitness,
    dir: &Path,
    store: &Arc<dyn Store>,
    timeout: u64,
) -> Arc<HttpWitness> {
    Arc::new(
        HttpWitness::new(
            &witness.url,
            &witness.vkey,
            Duration::from_millis(timeout),
            &dir.join("ledger.key"),
            store.clone(),
        )
        .unwrap(),
    )
}

/// Appends `n` events and signs a checkpoint of them.
fn grow(ledger: &Ledger, n: u64) -> StoredCheckpoint {
    for i in 0..n {
        ledger.append(&event(i)).unwrap();
    }
    ledger.checkpoint().unwrap().unwrap()
}

fn witness_key(witness: &TestWitness) -> CosignerKey {
    CosignerKey::parse(&witness.vkey).unwrap()
}

#[test]
fn each_checkpoint_is_cosigned_and_a_restart_continues_from_what_the_witness_cosigned() {
    let dir = tempfile::tempdir().unwrap();
    let witness = TestWitness::start(dir.path().join("ledger.pub"));
    let store = store(dir.path());
    let (first, second) = {
        let sink = sink(&witness, dir.path(), &store, 30_000);
        let ledger =
            Ledger::open(store.clone(), &settings(dir.path(), vec![sink.clone()])).unwrap();
        let first = grow(&ledger, 5);
        let second = grow(&ledger, 3);
        ledger.shutdown().unwrap(); // drains the publisher
        assert_eq!(sink.refused(), 0);
        (first, second)
    };
    assert_eq!(
        witness.seen(),
        [(0, first.size, 200), (first.size, second.size, 200)],
        "the second came with a proof from the first"
    );
    let key = witness_key(&witness);
    let record_path = cosigned_path(&dir.path().join("ledger.key"), &key);
    let record = read_cosigned(&record_path).unwrap().unwrap();
    assert_eq!(record.size, second.size);
    assert_eq!(check_cosigned(&record, &key).unwrap().len(), 1);
    // The checkpoint as handed out carries the cosignature and still opens with the log key.
    let handed_out = with_cosignatures(&second.note, &[(key.clone(), record.clone())]);
    assert!(handed_out.starts_with(&second.note), "{handed_out}");
    assert!(
        handed_out.contains(&format!("\u{2014} {WITNESS_NAME} ")),
        "{handed_out}"
    );
    let log = CheckpointVerifier::parse(
        std::fs::read_to_string(dir.path().join("ledger.pub"))
            .unwrap()
            .trim(),
    )
    .unwrap();
    assert_eq!(log.open(&handed_out).unwrap().size(), second.size);
    assert_eq!(
        with_cosignatures(&first.note, &[(key.clone(), record)]),
        first.note
    );

    // A restart continues from the recorded size: no 409, no extra round.
    let third = {
        let sink = sink(&witness, dir.path(), &store, 30_000);
        let ledger = Ledger::open(store.clone(), &settings(dir.path(), vec![sink])).unwrap();
        let third = grow(&ledger, 2);
        ledger.shutdown().unwrap();
        third
    };
    assert_eq!(witness.seen()[2], (second.size, third.size, 200));
    assert_eq!(witness.size(), third.size);

    // The record lost: the witness answers 409 with its size, and one retry from it succeeds.
    std::fs::remove_file(&record_path).unwrap();
    let fourth = {
        let sink = sink(&witness, dir.path(), &store, 30_000);
        let ledger = Ledger::open(store.clone(), &settings(dir.path(), vec![sink])).unwrap();
        let fourth = grow(&ledger, 2);
        ledger.shutdown().unwrap();
        fourth
    };
    // (Asked where it stands at open, from the newest stored checkpoint, first.)
    assert_eq!(
        witness.seen()[3..],
        [
            (0, third.size, 409),
            (0, fourth.size, 409),
            (third.size, fourth.size, 200)
        ]
    );
    assert_eq!(
        read_cosigned(&record_path).unwrap().unwrap().size,
        fourth.size
    );

    // An older checkpoint published after a newer one (two processes on one log) is no
    // truncation: the store holds what the witness cosigned, so it is let go, and never sent.
    let seen = witness.seen().len();
    let late = sink(&witness, dir.path(), &store, 30_000);
    late.publish(&first).unwrap();
    assert_eq!(witness.seen().len(), seen, "known to be behind: not sent");
    std::fs::remove_file(&record_path).unwrap();
    late.publish(&first).unwrap();
    assert_eq!(witness.seen()[seen..], [(0, first.size, 409)]);
    assert_eq!(witness.size(), fourth.size);
}

#[test]
fn a_cosignature_by_another_key_or_over_another_checkpoint_is_refused_and_not_kept() {
    let dir = tempfile::tempdir().unwrap();
    let witness = TestWitness::start(dir.path().join("ledger.pub"));
    let store = store(dir.path());
    let ledger = Ledger::open(store.clone(), &settings(dir.path(), Vec::new())).unwrap();
    // A sink of its own per round: after a failure a sink waits before asking again.
    let fresh = || sink(&witness, dir.path(), &store, 30_000);
    let record_path = cosigned_path(&dir.path().join("ledger.key"), &witness_key(&witness));

    witness.set_mode(Mode::WrongKey);
    let sink = fresh();
    let err = sink.publish(&grow(&ledger, 3)).unwrap_err();
    assert!(
        err.contains("cosignature refused") && err.contains("no cosignature by"),
        "{err}"
    );
    assert_eq!(sink.refused(), 1);
    assert!(!record_path.exists(), "nothing kept");

    witness.set_mode(Mode::OtherCheckpoint);
    let checkpoint = grow(&ledger, 3);
    let sink = fresh();
    let err = sink.publish(&checkpoint).unwrap_err();
    assert!(err.contains("does not verify"), "{err}");
    assert_eq!(sink.refused(), 1);
    assert!(!record_path.exists(), "nothing kept");

    witness.set_mode(Mode::BlankLine);
    let checkpoint = grow(&ledger, 1);
    let sink = fresh();
    let err = sink.publish(&checkpoint).unwrap_err();
    assert!(err.contains("not only signature lines"), "{err}");
    assert_eq!(sink.refused(), 1);
    assert!(!record_path.exists(), "nothing kept");

    witness.set_mode(Mode::Honest);
    let checkpoint = grow(&ledger, 1);
    let sink = fresh();
    sink.publish(&checkpoint).unwrap();
    assert_eq!(sink.refused(), 0);
    assert_eq!(
        read_cosigned(&record_path).unwrap().unwrap().size,
        checkpoint.size
    );
}

#[test]
fn a_hung_witness_never_holds_up_an_append() {
    let dir = tempfile::tempdir().unwrap();
    let witness = TestWitness::start(dir.path().join("ledger.pub"));
    witness.set_mode(Mode::Hang);
    let store = store(dir.path());
    let sink = sink(&witness, dir.path(), &store, 600_000);
    let ledger = Ledger::open(store.clone(), &settings(dir.path(), vec![sink])).unwrap();
    grow(&ledger, 1);
    witness.wait_until_entered();
    // The publisher is stuck in the witness: far more checkpoints than its queue holds, and
    // every append and checkpoint still completes.
    for round in 0..40 {
        ledger.append(&event(round)).unwrap();
        assert!(ledger.checkpoint().unwrap().is_some());
    }
    assert_eq!(store.ledger_size().unwrap(), 41);
    assert!(
        witness.seen().is_empty(),
        "the witness has answered nothing yet"
    );
    witness.release();
    ledger.shutdown().unwrap();
    assert!(witness.size() > 0, "once released, the witness cosigned");
    assert!(witness.seen().iter().all(|(_, _, status)| *status == 200));
}

/// A ledger with `n` leaves under a checkpoint, published to the honest `witness` and kept.
fn cosigned_ledger(
    witness: &TestWitness,
    dir: &Path,
    n: u64,
) -> (Arc<dyn Store>, Ledger, StoredCheckpoint) {
    let store = store(dir);
    let ledger = Ledger::open(store.clone(), &settings(dir, Vec::new())).unwrap();
    let checkpoint = grow(&ledger, n);
    sink(witness, dir, &store, 30_000)
        .publish(&checkpoint)
        .unwrap();
    assert_eq!(witness.size(), checkpoint.size);
    (store, ledger, checkpoint)
}

#[test]
fn a_conflict_naming_a_size_no_stored_checkpoint_reaches_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let witness = TestWitness::start(dir.path().join("ledger.pub"));
    let store = store(dir.path());
    let ledger = Ledger::open(store.clone(), &settings(dir.path(), Vec::new())).unwrap();
    let checkpoint = grow(&ledger, 5);
    // Leaves appended since, not yet under a checkpoint.
    for i in 0..5 {
        ledger.append(&event(i)).unwrap();
    }
    assert_eq!(store.ledger_size().unwrap(), 10);
    // Someone answers for the witness that it cosigned 8 leaves: more than this checkpoint,
    // fewer than the store holds. No checkpoint of 8 or more was ever signed, so nobody
    // could have had it cosigned: a let-go here would stop cosigning silently for good.
    witness.set_mode(Mode::Claims(8));
    let sink = sink(&witness, dir.path(), &store, 30_000);
    let err = sink.publish(&checkpoint).unwrap_err();
    assert!(
        err.contains("8 leaves") && err.contains("no checkpoint"),
        "{err}"
    );
    assert_eq!(sink.refused(), 1);
}

#[test]
fn a_conflict_below_the_kept_record_is_a_rolled_back_witness_and_not_retried() {
    let dir = tempfile::tempdir().unwrap();
    let witness = TestWitness::start(dir.path().join("ledger.pub"));
    let (store, ledger, kept) = cosigned_ledger(&witness, dir.path(), 5);
    let next = grow(&ledger, 3);
    witness.set_mode(Mode::Claims(2));
    let seen = witness.seen().len();
    let err = sink(&witness, dir.path(), &store, 30_000)
        .publish(&next)
        .unwrap_err();
    assert!(
        err.contains("rolled back") && err.contains(&format!("{} leaves", kept.size)),
        "{err}"
    );
    assert_eq!(
        witness.seen()[seen..],
        [(kept.size, next.size, 409)],
        "no retry from the smaller size"
    );
}

#[test]
fn a_damaged_record_does_not_stop_publishing_and_its_size_field_is_not_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let witness = TestWitness::start(dir.path().join("ledger.pub"));
    let (store, ledger, first) = cosigned_ledger(&witness, dir.path(), 5);
    let record_path = cosigned_path(&dir.path().join("ledger.key"), &witness_key(&witness));

    // The size field edited: `old` comes from the checkpoint the witness cosigned.
    let mut record = read_cosigned(&record_path).unwrap().unwrap();
    record.size = 1;
    std::fs::write(&record_path, serde_json::to_string(&record).unwrap()).unwrap();
    let second = grow(&ledger, 2);
    let seen = witness.seen().len();
    sink(&witness, dir.path(), &store, 30_000)
        .publish(&second)
        .unwrap();
    assert_eq!(witness.seen()[seen..], [(first.size, second.size, 200)]);

    // A record that does not parse: sent from 0, and the witness's 409 tells the truth.
    std::fs::write(&record_path, "{not json").unwrap();
    let third = grow(&ledger, 2);
    let seen = witness.seen().len();
    sink(&witness, dir.path(), &store, 30_000)
        .publish(&third)
        .unwrap();
    assert_eq!(
        witness.seen()[seen..],
        [(0, third.size, 409), (second.size, third.size, 200)]
    );
    assert_eq!(
        read_cosigned(&record_path).unwrap().unwrap().size,
        third.size
    );
}

#[test]
fn many_valid_lines_from_the_witness_keep_one() {
    let dir = tempfile::tempdir().unwrap();
    let witness = TestWitness::start(dir.path().join("ledger.pub"));
    witness.set_mode(Mode::ManyLines);
    let (_store, _ledger, checkpoint) = cosigned_ledger(&witness, dir.path(), 3);
    let key = witness_key(&witness);
    let record = read_cosigned(&cosigned_path(&dir.path().join("ledger.key"), &key))
        .unwrap()
        .unwrap();
    let kept = check_cosigned(&record, &key).unwrap();
    assert_eq!(kept.len(), 1, "{}", record.note);
    assert_eq!(kept[0].timestamp(), 1_800_000_000 + 98, "the newest");
    // Handed out, the checkpoint carries that one line.
    let handed_out = with_cosignatures(&checkpoint.note, &[(key, record)]);
    assert_eq!(
        handed_out.lines().count(),
        checkpoint.note.lines().count() + 1
    );
}

#[test]
fn a_witness_answer_reaches_the_error_cut_short_on_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let witness = TestWitness::start(dir.path().join("ledger.pub"));
    witness.set_mode(Mode::Noisy);
    let store = store(dir.path());
    let ledger = Ledger::open(store.clone(), &settings(dir.path(), Vec::new())).unwrap();
    let err = sink(&witness, dir.path(), &store, 30_000)
        .publish(&grow(&ledger, 2))
        .unwrap_err();
    assert!(err.contains("500"), "{err}");
    assert!(!err.contains('\n'), "{err}");
    assert!(err.contains("ERROR forged log line\\n"), "{err}");
    assert!(err.len() < 600, "{} bytes: {err}", err.len());
}

#[test]
fn a_failing_witness_is_asked_less_often_until_it_answers() {
    let dir = tempfile::tempdir().unwrap();
    let witness = TestWitness::start(dir.path().join("ledger.pub"));
    witness.set_mode(Mode::Noisy);
    let store = store(dir.path());
    let ledger = Ledger::open(store.clone(), &settings(dir.path(), Vec::new())).unwrap();
    let sink = sink(&witness, dir.path(), &store, 30_000);
    // Which of 12 checkpoints in a row reach the witness while it fails each time.
    let mut asked = Vec::new();
    for round in 0..12 {
        let before = witness.seen().len();
        let _ = sink.publish(&grow(&ledger, 1));
        if witness.seen().len() > before {
            asked.push(round);
        }
    }
    assert_eq!(asked, [0, 2, 6], "waiting 1, then 3, then 7 checkpoints");
    // Once it answers again, every checkpoint is sent.
    witness.set_mode(Mode::Honest);
    let mut answered = 0;
    for _ in 0..20 {
        let before = witness.seen().len();
        sink.publish(&grow(&ledger, 1)).unwrap();
        if witness.seen().len() > before {
            answered += 1;
        }
    }
    assert_eq!(answered, 18, "after the 2 left of the last wait");
    let before = witness.seen().len();
    sink.publish(&grow(&ledger, 1)).unwrap();
    sink.publish(&grow(&ledger, 1)).unwrap();
    assert_eq!(witness.seen().len(), before + 2);
}

#[test]
fn a_witness_url_with_credentials_is_refused_without_showing_them() {
    let dir = tempfile::tempdir().unwrap();
    let witness = TestWitness::start(dir.path().join("ledger.pub"));
    let store = store(dir.path());
    let err = HttpWitness::new(
        &witness.url.replace("http://", "http://user:s3cret@"),
        &witness.vkey,
        Duration::from_secs(1),
        &dir.path().join("ledger.key"),
        store,
    )
    .unwrap_err()
    .to_string();
    assert!(!err.contains("s3cret"), "{err}");
    assert!(err.contains("user or password"), "{err}");
}

/// Deletes the leaves from `cut` on and the checkpoints covering them, as someone with the
/// database file would.
fn truncate(db: &Path, cut: u64) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch(&format!(
        "DROP TRIGGER IF EXISTS ledger_leaves_no_delete;
         DROP TRIGGER IF EXISTS ledger_checkpoints_no_delete;
         DELETE FROM ledger_leaves WHERE idx >= {cut};
         DELETE FROM ledger_sealed WHERE idx >= {cut};
         DELETE FROM ledger_checkpoints WHERE size > {cut};"
    ))
    .unwrap();
}

#[test]
fn a_truncated_ledger_is_refused_by_the_witness_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let witness = TestWitness::start(dir.path().join("ledger.pub"));
    let key_path = dir.path().join("ledger.key");
    let record_path = cosigned_path(&key_path, &witness_key(&witness));
    let cosigned = {
        let store = store(dir.path());
        let ledger = Ledger::open(store.clone(), &settings(dir.path(), Vec::new())).unwrap();
        let checkpoint = grow(&ledger, 10);
        sink(&witness, dir.path(), &store, 30_000)
            .publish(&checkpoint)
            .unwrap();
        checkpoint.size
    };
    assert_eq!(witness.size(), cosigned);

    truncate(&dir.path().join("w.db"), 6);
    let store = store(dir.path());
    // The shorter log opens: nothing in the store remembers the tail.
    let ledger = Ledger::open(store.clone(), &settings(dir.path(), Vec::new())).unwrap();
    let shorter = grow(&ledger, 1);
    assert_eq!(shorter.size, 7);

    // With the record beside the key, warden knows before asking.
    let err = sink(&witness, dir.path(), &store, 30_000)
        .publish(&shorter)
        .unwrap_err();
    assert!(
        err.contains(&format!("has cosigned a tree of {cosigned} leaves"))
            && err.contains("the store holds only 7: the ledger was truncated"),
        "{err}"
    );
    // With the record deleted as well, the witness still remembers and refuses (409).
    std::fs::remove_file(&record_path).unwrap();
    let err = sink(&witness, dir.path(), &store, 30_000)
        .publish(&shorter)
        .unwrap_err();
    assert!(err.contains("the ledger was truncated"), "{err}");
    assert_eq!(witness.seen().last(), Some(&(0, 7, 409)));

    // Grown past the cosigned size on the rewritten history: the proof fails (422).
    let regrown = grow(&ledger, 8);
    assert!(regrown.size > cosigned);
    let err = sink(&witness, dir.path(), &store, 30_000)
        .publish(&regrown)
        .unwrap_err();
    assert!(err.contains("is not consistent with the tree of"), "{err}");
    let seen = witness.seen();
    assert_eq!(
        seen[seen.len() - 2..],
        [(0, regrown.size, 409), (cosigned, regrown.size, 422)]
    );
    assert_eq!(
        witness.size(),
        cosigned,
        "the witness never cosigned the other history"
    );
    assert!(!record_path.exists());
}

/// Someone with the database deletes the newest leaves together with the checkpoints that
/// cover them: an `executed` approval step or a `halt` among them would be undone for a
/// gateway that starts on the shorter log, which verifies on its own. A ledger whose witnesses
/// hold a larger checkpoint — a file on another volume, or the record of what a tlog-witness
/// cosigned — refuses to open instead.
#[test]
fn a_ledger_truncated_below_what_its_witnesses_hold_refuses_to_open() {
    let dir = tempfile::tempdir().unwrap();
    let published = dir.path().join("published.jsonl");
    let file = || -> Vec<Arc<dyn CheckpointSink>> { vec![Arc::new(FileSink(published.clone()))] };
    {
        let ledger = Ledger::open(store(dir.path()), &settings(dir.path(), file())).unwrap();
        grow(&ledger, 10);
        ledger.shutdown().unwrap();
    }
    truncate(&dir.path().join("w.db"), 6);
    let err = Ledger::open(store(dir.path()), &settings(dir.path(), file()))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("holds a checkpoint of 10 leaves, but the store holds only 6"),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let witness = TestWitness::start(dir.path().join("ledger.pub"));
    {
        let store = store(dir.path());
        let ledger = Ledger::open(store.clone(), &settings(dir.path(), Vec::new())).unwrap();
        grow(&ledger, 4);
        let checkpoint = grow(&ledger, 6);
        sink(&witness, dir.path(), &store, 30_000)
            .publish(&checkpoint)
            .unwrap();
    }
    truncate(&dir.path().join("w.db"), 6);
    let store = store(dir.path());
    let tlog: Arc<dyn CheckpointSink> = sink(&witness, dir.path(), &store, 30_000);
    let err = Ledger::open(store.clone(), &settings(dir.path(), vec![tlog]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("holds a checkpoint of 10 leaves, but the store holds only 6"),
        "{err}"
    );

    // The record of what the witness cosigned deleted too: the witness is asked where it
    // stands (with the checkpoint of 4 the cut left), and its answer names the 10.
    std::fs::remove_file(cosigned_path(
        &dir.path().join("ledger.key"),
        &witness_key(&witness),
    ))
    .unwrap();
    let tlog: Arc<dyn CheckpointSink> = sink(&witness, dir.path(), &store, 30_000);
    let err = Ledger::open(store.clone(), &settings(dir.path(), vec![tlog]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("has cosigned a tree of 10 leaves, but the store holds only 6"),
        "{err}"
    );
    assert_eq!(witness.seen().last(), Some(&(0, 4, 409)));
}

/// Someone who can write the database removes the newest leaves while warden runs, and another
/// writer (a second gateway, the CLI) appends in their place, so the count looks as before. The
/// running ledger notices that the leaf it read last is no longer stored there: it neither
/// hands its readers a record that lost leaves nor signs a tree that is not the store's.
#[test]
fn newest_leaves_replaced_under_a_running_ledger_are_noticed() {
    let dir = tempfile::tempdir().unwrap();
    let running = Ledger::open(store(dir.path()), &settings(dir.path(), Vec::new())).unwrap();
    for i in 0..10 {
        running.append(&event(i)).unwrap();
    }
    running.sync().unwrap();
    truncate(&dir.path().join("w.db"), 8);
    {
        let other = Ledger::open(store(dir.path()), &settings(dir.path(), Vec::new())).unwrap();
        for i in 100..103 {
            other.append(&event(i)).unwrap();
        }
        other.shutdown().unwrap();
    }
    let err = running.sync().unwrap_err().to_string();
    assert!(err.contains("leaf 9"), "{err}");
    let err = running.checkpoint().unwrap_err().to_string();
    assert!(err.contains("removed or replaced"), "{err}");
    assert!(
        running.append(&event(11)).is_err(),
        "a halted ledger appends nothing"
    );
}

/// Until the witness has cosigned a checkpoint covering every stored leaf.
fn wait_for_cosigned(lab: &Lab, witness: &TestWitness) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let n = leaves(lab);
        if witness.size() == n {
            return n;
        }
        assert!(
            Instant::now() < deadline,
            "the witness cosigned {} of {n}",
            witness.size()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// An approval cannot be replayed on another gateway from a cut store when the witness is a
/// tlog-witness and the checkpoints stay in the store. The other gateway refuses: its ledger
/// finds a stored checkpoint over leaves the store no longer holds, what the witness cosigned
/// (the record kept beside the key) is larger than its tree, and a witness answering that it
/// cosigned a larger tree is an error to a gateway waiting on its own checkpoint, not a newer
/// checkpoint that covers it.
#[tokio::test]
async fn an_approval_cannot_be_replayed_on_another_gateway_past_a_tlog_witness() {
    let witness = TestWitness::start(std::path::PathBuf::new());
    let lab = Lab::with_config(|c| {
        c.replace(
            "checkpoint_interval_secs = 10",
            &format!(
                "checkpoint_interval_secs = 3600\nwitness = [{{ url = \"{}\", key = \"{}\" }}]",
                witness.url, witness.vkey
            ),
        )
    });
    witness.trust(pub_key(&lab));
    replay_on_another_gateway(&lab, false, false).await;
}

/// Through the real binary: `warden serve` publishes to the witness, `audit checkpoint` and
/// `audit prove` hand out the cosigned checkpoint, and a tail deleted with its checkpoints is
/// named by `audit verify` and refused by the witness at the next start.
#[tokio::test]
async fn serve_publishes_to_a_tlog_witness_and_a_truncated_ledger_is_caught() {
    let witness = TestWitness::start(std::path::PathBuf::new());
    let lab = Lab::with_config(|c| {
        let c = c.replace(
            "checkpoint_interval_secs = 10",
            &format!(
                "checkpoint_interval_secs = 1\nwitness = [{{ url = \"{}\", key = \"{}\" }}]",
                witness.url, witness.vkey
            ),
        );
        format!("{c}\n[metrics]\nlisten = \"127.0.0.1:0\"\n")
    });
    witness.trust(pub_key(&lab));
    {
        let mut warden = lab.serve();
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
        wait_for_cosigned(&lab, &witness);
        // What the witness cosigned is a gauge beside the ledger's size.
        let metrics = warden
            .wait_for_log("warden: metrics at ", 10)
            .unwrap()
            .trim_start_matches("warden: metrics at ")
            .to_owned();
        let text = reqwest::get(&metrics).await.unwrap().text().await.unwrap();
        let gauge = format!("warden_ledger_witness_cosigned_size{{witness=\"{WITNESS_NAME}\"}} ");
        let cosigned: u64 = text
            .lines()
            .find_map(|l| l.strip_prefix(&gauge))
            .unwrap_or_else(|| panic!("{text}"))
            .parse()
            .unwrap();
        assert!(cosigned > 0 && cosigned <= leaves(&lab), "{text}");
        // Beside it, the answers refused: none from an honest witness, one counted once it
        // signs with another key.
        let refused = format!("warden_ledger_witness_refused_total{{witness=\"{WITNESS_NAME}\"}} ");
        let count = |text: &str| -> u64 {
            text.lines()
                .find_map(|l| l.strip_prefix(&refused))
                .unwrap_or_else(|| panic!("{text}"))
                .parse()
                .unwrap()
        };
        assert_eq!(count(&text), 0, "{text}");
        witness.set_mode(Mode::WrongKey);
        let before = witness.seen().len();
        triage
            .call("siem.search_logs", json!({"query": "host:ws-100"}))
            .await
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while witness.seen().len() == before {
            assert!(Instant::now() < deadline, "nothing published");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        witness.set_mode(Mode::Honest);
        loop {
            let text = reqwest::get(&metrics).await.unwrap().text().await.unwrap();
            if count(&text) >= 1 {
                break;
            }
            assert!(Instant::now() < deadline, "no refusal counted: {text}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        // After the failure the witness is asked again a checkpoint later: new events until
        // it has cosigned them all.
        for i in 0.. {
            triage
                .call(
                    "siem.search_logs",
                    json!({"query": format!("host:ws-{}", 101 + i)}),
                )
                .await
                .unwrap();
            let round = Instant::now() + Duration::from_secs(5);
            while witness.size() != leaves(&lab) && Instant::now() < round {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            if witness.size() == leaves(&lab) {
                break;
            }
            assert!(
                i < 10,
                "the witness cosigned {} of {}",
                witness.size(),
                leaves(&lab)
            );
        }
        interrupt(&mut warden.child);
    }
    // Stopped cleanly: its last checkpoint was published before it exited.
    let size = checkpoint_size(&lab);
    assert_eq!(witness.size(), size);
    // One 409 at most: the round after the refused cosignature, which the witness counted as
    // cosigned and warden did not keep.
    let seen = witness.seen();
    assert!(
        seen.iter()
            .all(|(_, _, status)| [200, 409].contains(status))
            && seen.iter().filter(|(_, _, status)| *status == 409).count() <= 1,
        "{seen:?}"
    );
    let cosignature = format!("\u{2014} {WITNESS_NAME} ");
    let (ok, checkpoint, err) = lab.cli(&["audit", "checkpoint"]);
    assert!(ok && checkpoint.contains(&cosignature), "{checkpoint}{err}");
    let (ok, receipt, err) = lab.cli(&["audit", "prove", "1"]);
    assert!(ok && receipt.ends_with(&checkpoint), "{receipt}{err}");
    let (ok, out) = verify(&lab);
    assert!(
        ok && out.contains("1 witness-cosigned checkpoints agree"),
        "{out}"
    );

    // A damaged record: `audit checkpoint` and `audit prove` still answer (without its
    // cosignature, with a warning), and `audit verify` names it instead of stopping.
    let record_path = cosigned_path(
        &lab.dir.path().join("state/ledger.key"),
        &witness_key(&witness),
    );
    let kept = std::fs::read(&record_path).unwrap();
    std::fs::write(&record_path, "{not json").unwrap();
    let (ok, plain, err) = lab.cli(&["audit", "checkpoint"]);
    assert!(
        ok && !plain.contains(&cosignature) && err.contains("left out"),
        "{plain}{err}"
    );
    let (ok, _, err) = lab.cli(&["audit", "prove", "1"]);
    assert!(ok, "{err}");
    let (ok, out) = verify(&lab);
    assert!(
        !ok && out.contains(&format!(
            "FAILED: the checkpoint kept as cosigned by witness `{WITNESS_NAME}` cannot be used"
        )),
        "{out}"
    );
    std::fs::write(&record_path, kept).unwrap();

    // The tail deleted with the checkpoints covering it: the store alone verifies, but not
    // against the checkpoint the witness cosigned.
    let cut = size - 3;
    tamper(
        &lab,
        &format!(
            "DELETE FROM ledger_leaves WHERE idx >= {cut};
             DELETE FROM ledger_sealed WHERE idx >= {cut};
             DELETE FROM ledger_checkpoints WHERE size > {cut};"
        ),
    );
    let (ok, out) = verify(&lab);
    assert!(!ok, "{out}");
    assert!(
        out.contains(&format!(
            "FAILED: cosigned by witness `{WITNESS_NAME}`: published checkpoint {size}: the \
             store holds only {cut} leaves: its tail was removed"
        )),
        "{out}"
    );

    // Whoever holds the state directory deletes warden's record too. The store alone looks
    // whole, but warden asks the witness where it stands before it starts: the witness still
    // remembers, and warden refuses to start on the shorter log, saying why.
    let record = cosigned_path(
        &lab.dir.path().join("state/ledger.key"),
        &witness_key(&witness),
    );
    std::fs::remove_file(&record).unwrap();
    let (ok, out) = verify(&lab);
    assert!(ok, "without the record the store looks whole: {out}");
    let before = witness.seen().len();
    let (ok, _, err) = lab.cli(&["tools", "list"]);
    assert!(!ok, "warden opened the cut store");
    assert!(
        err.contains(&format!(
            "the witness `{WITNESS_NAME}` has cosigned a tree of {size} leaves, but the store \
             holds only {cut}"
        )),
        "{err}"
    );
    let refused = &witness.seen()[before..];
    assert!(
        refused
            .first()
            .is_some_and(|(old, _, status)| *old == 0 && *status == 409),
        "{refused:?}"
    );
    assert_eq!(
        witness.size(),
        size,
        "the witness cosigned nothing shorter or different"
    );
}
