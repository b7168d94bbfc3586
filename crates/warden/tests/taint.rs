//! `warden taint list` and `warden taint clear` against the store a running warden would use:
//! taint seeded straight into the lab's SQLite file (as the gateway records it when a read is
//! flagged), then listed, refused to a wrong token, cleared by an approver and recorded.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;

fn list(lab: &Lab) -> Vec<String> {
    let (ok, out, err) = lab.cli(&["taint", "list"]);
    assert!(ok, "{err}");
    out.lines().map(str::to_owned).collect()
}

#[test]
fn an_approver_clears_an_agents_taint_and_the_clear_is_recorded() {
    let lab = Lab::new();
    let now = now_ms();
    lab.taint("responder", "sess-a", 45, now - 60_000, now + 3_600_000);
    let newest = lab.taint("responder", "sess-b", 80, now - 1_000, now + 3_600_000);
    lab.taint("triage", "sess-t", 70, now - 1_000, now + 3_600_000);
    // Expired: not listed, not counted.
    lab.taint("intake", "sess-i", 90, now - 7_200_000, now - 1);

    let listed = list(&lab);
    assert_eq!(listed.len(), 2, "{listed:?}");
    let responder = &listed[0];
    assert!(
        responder.starts_with("responder  level 80  "),
        "{responder}"
    );
    let shown = format!("record {newest} (2 in force)");
    for part in [
        "from mail.read_message",
        "session sess-b",
        "since 2",
        "until 2",
        shown.as_str(),
    ] {
        assert!(responder.contains(part), "{part}: {responder}");
    }
    assert!(listed[1].starts_with("triage  level 70  "), "{listed:?}");

    // Clearing needs an approver's token: nothing is cleared or recorded without one.
    let record = newest.to_string();
    let clear = [
        "taint",
        "clear",
        "--agent",
        "responder",
        "--record",
        &record,
        "--reason",
        "mailbox cleaned, credentials rotated",
        "--as",
        "dana",
        "--offline",
    ];
    let (ok, _, err) = lab.cli_as("lab-bob-token", &clear);
    assert!(!ok && err.contains("wrong approver or token"), "{err}");
    let (ok, _, err) = lab.cli(&clear);
    assert!(!ok && err.contains("no approver token"), "{err}");
    assert_eq!(list(&lab).len(), 2);
    assert!(lab.events("taint_cleared").is_empty());

    let (ok, out, err) = lab.cli_as("lab-dana-token", &clear);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains(&format!(
            "agent `responder`: taint cleared through record {newest} (2 in force"
        )),
        "{out}"
    );
    let listed = list(&lab);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert!(
        listed[0].starts_with("triage  "),
        "another agent's taint stays"
    );

    let events = lab.events("taint_cleared");
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert_eq!(e["principal"], "responder");
    assert_eq!(e["reason"], "mailbox cleaned, credentials rotated");
    assert_eq!(e["detail"]["by"], "dana");
    assert_eq!(e["detail"]["level"], 80);
    assert_eq!(e["detail"]["source"], "mail.read_message");
    assert_eq!(e["detail"]["session"], "sess-b");
    assert_eq!(e["detail"]["since_ms"], now - 1_000);
    assert_eq!(e["detail"]["record"], newest.0);
    assert_eq!(e["detail"]["records"], 2);

    // Nothing left to clear: said so, and nothing more recorded.
    let (ok, out, err) = lab.cli_as("lab-dana-token", &clear);
    assert!(ok, "{out}{err}");
    assert!(out.contains("no taint in force"), "{out}");
    assert_eq!(lab.events("taint_cleared").len(), 1);

    // A read after the clear taints the agent again, in whatever session.
    lab.taint("responder", "sess-c", 30, now_ms() + 1, now + 3_600_000);
    assert!(
        list(&lab)
            .iter()
            .any(|l| l.starts_with("responder  level 30  ")),
        "{:?}",
        list(&lab)
    );

    let (ok, out, err) = lab.cli(&["audit", "verify"]);
    assert!(ok, "{out}{err}");
}

#[test]
fn a_clear_needs_a_reason() {
    let lab = Lab::new();
    let (ok, _, err) = lab.cli_as(
        "lab-dana-token",
        &[
            "taint",
            "clear",
            "--agent",
            "responder",
            "--record",
            "1",
            "--reason",
            " ",
            "--as",
            "dana",
        ],
    );
    assert!(!ok && err.contains("give a reason"), "{err}");
}

/// The attack: the approver lists the taints and sees `responder` tainted a little by a
/// harmless-looking read; before they clear it, the agent reads a real injection (another
/// session, another record). The clear names what was listed, so it is refused: nothing is
/// recorded, nothing cleared, and the injection keeps the agent tainted. Listed again, the
/// clear names the new record and goes through.
#[test]
fn a_clear_of_what_was_listed_is_refused_once_the_agent_read_more() {
    let lab = Lab::new();
    let now = now_ms();
    let listed = lab.taint("responder", "sess-a", 20, now - 60_000, now + 3_600_000);
    assert!(
        list(&lab)[0].ends_with(&format!("record {listed} (1 in force)")),
        "{:?}",
        list(&lab)
    );

    let injection = lab.taint("responder", "sess-b", 95, now_ms(), now + 3_600_000);
    let clear = |record: String| {
        lab.cli_as(
            "lab-dana-token",
            &[
                "taint",
                "clear",
                "--agent",
                "responder",
                "--record",
                &record,
                "--reason",
                "a newsletter, harmless",
                "--as",
                "dana",
                "--offline",
            ],
        )
    };
    let (ok, out, err) = clear(listed.to_string());
    assert!(!ok, "{out}{err}");
    assert!(
        err.contains(&format!(
            "the agent's taint changed since it was shown: record {listed} was named, the \
             newest in force is now record {injection} (2 in force, the highest level 95 from \
             `mail.read_message`); review it again"
        )),
        "{err}"
    );
    assert!(lab.events("taint_cleared").is_empty(), "nothing recorded");
    let now_listed = list(&lab);
    assert_eq!(now_listed.len(), 1, "{now_listed:?}");
    assert!(
        now_listed[0].starts_with("responder  level 95  ")
            && now_listed[0].ends_with(&format!("record {injection} (2 in force)")),
        "the injection still taints the agent: {now_listed:?}"
    );

    // Naming a record that never was shown (a guess past the newest) is refused the same way.
    let (ok, _, err) = clear((injection.0 + 5).to_string());
    assert!(!ok && err.contains("review it again"), "{err}");

    // A record number is a number.
    let (ok, _, err) = clear("latest".into());
    assert!(
        !ok && err.contains("`latest` is not a taint record number"),
        "{err}"
    );

    let (ok, out, err) = clear(injection.to_string());
    assert!(ok, "{out}{err}");
    assert_eq!(list(&lab), ["no tainted agents"]);
    let events = lab.events("taint_cleared");
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["detail"]["record"], injection.0);
    assert_eq!(events[0]["detail"]["level"], 95);
}
