//! The live inventory over the wire: the lab rewrites `inventory.json` when an incident
//! changes, a running warden picks it up (an `inventory_refresh` event) and decides with it
//! without a restart, a SIGHUP reload keeps it, and an inventory nobody can refresh stops
//! scoping anything once it is older than `max_age_secs`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use serde_json::{Value, json};
use std::process::Command;
use std::time::{Duration, Instant};

/// The last decision event recorded.
fn last_decision(lab: &Lab) -> Value {
    lab.events("decision").pop().expect("a decision")
}

/// Polls the ledger until more than `before` `inventory_refresh` events are in it.
fn wait_for_refresh(lab: &Lab, before: usize, secs: u64) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let events = lab.events("inventory_refresh");
        if events.len() > before {
            return events;
        }
        assert!(
            Instant::now() < deadline,
            "no inventory_refresh within {secs} s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[tokio::test]
async fn a_closed_incident_stops_scoping_isolations_without_a_restart() {
    let lab = Lab::new();
    let warden = lab.serve();
    // The example's baseline entities are the lab's seed inventory, so warden's first read of
    // the lab's file changes nothing and records nothing.
    let responder = warden.client(RESPONDER).await;
    // INC-1042 is open and names ws-042: policy permits, the floor holds it for a human.
    let r = responder
        .call("edr.isolate_host", isolate("ws-042", "INC-1042"))
        .await
        .unwrap();
    assert!(text(&r).contains("held for approval"), "{}", text(&r));
    let held = last_decision(&lab);
    assert_eq!(held["decision"], "hold");

    // The incident is closed in the lab itself: its tracker rewrites the inventory.
    let before = lab.events("inventory_refresh").len();
    let args = json!({"incident": "INC-1042", "resolution": "false positive: no compromise"});
    let closed = warden_lab::call_tool(
        warden_lab::LabServer::Tickets,
        &lab.state_dir(),
        "close_incident",
        args.as_object().unwrap(),
        "test",
    )
    .unwrap();
    assert!(closed.is_ok(), "{closed:?}");
    let events = wait_for_refresh(&lab, before, 20);
    let refresh = events.last().unwrap();
    assert!(
        refresh["detail"]["source"]
            .as_str()
            .unwrap()
            .ends_with("state/lab/inventory.json")
    );
    assert!(refresh["detail"]["entities"].as_u64().unwrap() > 0);
    for field in ["digest", "previous_digest"] {
        assert!(
            refresh["detail"][field]
                .as_str()
                .unwrap()
                .starts_with("sha256:"),
            "{refresh}"
        );
    }
    assert_ne!(
        refresh["detail"]["digest"],
        refresh["detail"]["previous_digest"]
    );
    assert_ne!(refresh["policy_version"], held["policy_version"]);
    // What changed, not only that something did (review 42, F3): the incident, before and
    // after, sealed; how many in the clear.
    let listed = refresh["detail"]["sensitive"]["changes"]["changed"]
        .as_array()
        .unwrap();
    assert_eq!(
        refresh["detail"]["changed"]["changed"].as_u64(),
        Some(listed.len() as u64)
    );
    let changed = listed
        .iter()
        .find(|c| c["uid"] == "Incident::\"INC-1042\"")
        .expect("the incident is among the changes");
    assert_ne!(
        changed["before"]["attrs"]["status"], changed["after"]["attrs"]["status"],
        "{changed}"
    );

    // The same call is now denied: the policy asks for an open incident.
    let r = responder
        .call("edr.isolate_host", isolate("ws-042", "INC-1042"))
        .await
        .unwrap();
    assert_eq!(r.is_error, Some(true));
    assert!(text(&r).contains("denied by warden"), "{}", text(&r));
    let d = last_decision(&lab);
    assert_eq!(d["decision"], "deny");
    assert_ne!(d["rule"], "inventory-stale");
    assert_eq!(d["policy_version"], refresh["policy_version"]);
    assert!(!lab.host_isolated("ws-042"));

    // A SIGHUP reload rebuilds from `[policy] entities` (where INC-1042 is open), and keeps
    // the live inventory in force.
    let reloads = lab.events("policy_reload").len();
    let ok = Command::new("kill")
        .args(["-HUP", &warden.child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let deadline = Instant::now() + Duration::from_secs(15);
    while lab.events("policy_reload").len() == reloads {
        assert!(Instant::now() < deadline, "no policy_reload event");
        std::thread::sleep(Duration::from_millis(100));
    }
    let reload = lab.events("policy_reload").pop().unwrap();
    assert_eq!(reload["detail"]["applied"], true, "{reload}");
    assert_eq!(reload["detail"]["new"], refresh["policy_version"]);
    let r = responder
        .call("edr.isolate_host", isolate("ws-042", "INC-1042"))
        .await
        .unwrap();
    assert!(text(&r).contains("denied by warden"), "{}", text(&r));
    assert_eq!(last_decision(&lab)["decision"], "deny");
}

#[tokio::test]
async fn an_inventory_that_cannot_be_refreshed_denies_once_too_old() {
    let lab = Lab::with_config(|c| {
        let edited = c.replace(
            "file = \"state/lab/inventory.json\"\nrefresh_secs = 2\nmax_age_secs = 600",
            "command = [\"false\"]\nrefresh_secs = 1\nmax_age_secs = 2",
        );
        assert_ne!(edited, c, "the example's [inventory] section changed");
        edited
    });
    // The inventory's age counts from warden's start, which is before it answers.
    let booted = Instant::now();
    let warden = lab.serve();
    let triage = warden.client(TRIAGE).await;
    // Fresh for `max_age_secs` from warden's start: the baseline decides. (Checked only when
    // this call is answered soon enough after the process started, whatever the machine's load.)
    let r = triage
        .call("edr.get_host", json!({"host": "ws-042"}))
        .await
        .unwrap();
    if booted.elapsed() < Duration::from_millis(1500) {
        assert_ne!(r.is_error, Some(true), "{}", text(&r));
        assert_eq!(last_decision(&lab)["decision"], "allow");
    }

    // Every refresh fails (the command exits 1): after two seconds the inventory is stale.
    let deadline = Instant::now() + Duration::from_secs(20);
    let denial = loop {
        let r = triage
            .call("edr.get_host", json!({"host": "ws-042"}))
            .await
            .unwrap();
        let d = last_decision(&lab);
        if d["decision"] == "deny" {
            assert!(
                text(&r).contains("the inventory was last refreshed"),
                "{}",
                text(&r)
            );
            break d;
        }
        assert!(Instant::now() < deadline, "never stale: {d}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(denial["rule"], "inventory-stale");
    assert!(booted.elapsed() >= Duration::from_secs(2));
    // A tool that names no entity still runs.
    let r = triage.call("edr.list_hosts", json!({})).await.unwrap();
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    // A failed refresh records nothing.
    assert!(lab.events("inventory_refresh").is_empty());
}

/// An intruder sets a mailbox to forward outside, and an agent it steers mails that mailbox a
/// moment later, before the periodic refresh has read the change: the write is decided on the
/// inventory as the mail system has it now, and waits for a human.
#[tokio::test]
async fn a_write_is_decided_on_the_inventory_as_it_is_now() {
    // Refreshes minutes apart: only a read made for the write can see the new rule.
    let lab = Lab::with_config(|c| {
        let edited = c.replace(
            "file = \"state/lab/inventory.json\"\nrefresh_secs = 2\n",
            "file = \"state/lab/inventory.json\"\nrefresh_secs = 500\n",
        );
        assert_ne!(edited, c, "the example's [inventory] section changed");
        edited
    });
    let warden = lab.serve();
    let triage = warden.client(TRIAGE).await;
    let note = json!({"to": "henry.adams@northwind.example", "subject": "INC-1042",
                      "body": "Henry, INC-1042 is still open; we will update you today."});
    // A plain note to a colleague runs under the example's autonomy grant.
    let r = triage.call("mail.send_mail", note.clone()).await.unwrap();
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    assert_eq!(
        lab.events("decision").pop().unwrap()["rule"],
        "autonomy:plain-internal-notes"
    );

    // The intruder, with stolen credentials, makes the mailbox forward outside; the mail
    // system rewrites its inventory file.
    let rule = warden_lab::call_tool(
        warden_lab::LabServer::Mail,
        &lab.state_dir(),
        "create_forwarding_rule",
        json!({"mailbox": "henry.adams", "forward_to": "drop@northwlnd-payroll.example"})
            .as_object()
            .unwrap(),
        "intruder",
    )
    .unwrap();
    assert!(rule.is_ok(), "{rule:?}");
    let r = triage.call("mail.send_mail", note).await.unwrap();
    assert!(text(&r).contains("held for approval"), "{}", text(&r));
    assert_eq!(
        lab.events("decision").pop().unwrap()["rule"],
        "mail-to-forwarding-mailboxes-needs-approval"
    );
    let sent = lab.state("mail")["outbox"].as_array().unwrap().len();
    assert_eq!(sent, 1, "only the note sent before the rule left");
}
