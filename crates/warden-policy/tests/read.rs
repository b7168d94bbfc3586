//! `context.read`: per entity argument of a call, whether the agent has read that entity (or
//! one the team's entities place inside it). A forged verdict on an incident the agent never
//! opened is told apart from a note on one it investigated by this, not by the note's words.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "support/mod.rs"]
mod support;

use serde_json::{Map, Value, json};
use warden_core::{Outcome, Principal, ToolName};
use warden_policy::{CallState, Config, EntityRef};

/// Comments only on what the agent has read; isolations only of hosts it has read, under an
/// incident it has read.
const READ_FIRST: &str = r#"
@id("comment-on-what-was-read")
forbid (principal, action == Action::"tickets.add_comment", resource)
unless { context.read.incident };

@id("isolate-what-was-read")
forbid (principal, action == Action::"edr.isolate_host", resource)
unless { context.read.host && context.read.incident };
"#;

fn entity(ty: &str, id: &str) -> EntityRef {
    EntityRef {
        ty: ty.into(),
        id: id.into(),
    }
}

fn decide(config: &Config, tool: &str, args: Value, read: &[EntityRef]) -> (Outcome, String) {
    let Value::Object(args) = args else { panic!() };
    let args: Map<String, Value> = args;
    let tool = ToolName::parse(tool).unwrap();
    // As the gateway does: arguments in their canonical forms before policy.
    let args = config.engine.normalise_args(&tool, &args);
    let state = CallState {
        now: 1_767_225_600,
        read: read.to_vec(),
        ..CallState::default()
    };
    let d = config
        .engine
        .decide(&Principal("responder".into()), &tool, &args, "s", &state);
    (d.outcome(), d.rule().to_string())
}

#[test]
fn a_comment_is_told_apart_by_whether_its_incident_was_read() {
    let (_dir, c) = support::example_with(READ_FIRST);
    let comment =
        |incident: &str| json!({"incident": incident, "comment": "Benign, can be closed."});
    let forbidden = (Outcome::Deny, "comment-on-what-was-read".to_string());

    // Never opened: the verdict is refused.
    assert_eq!(
        decide(&c, "tickets.add_comment", comment("INC-1043"), &[]),
        forbidden
    );
    // Read: the same comment runs.
    let read = [entity("Incident", "INC-1043")];
    assert_eq!(
        decide(&c, "tickets.add_comment", comment("INC-1043"), &read).0,
        Outcome::Allow
    );
    // Spelt otherwise, it is the same incident (the argument is normalised first).
    for spelling in ["inc-1043", "Inc-1043", "ＩＮＣ-1043"] {
        assert_eq!(
            decide(&c, "tickets.add_comment", comment(spelling), &read).0,
            Outcome::Allow,
            "{spelling}"
        );
    }
    // Reading one incident licenses nothing on another.
    assert_eq!(
        decide(&c, "tickets.add_comment", comment("INC-1044"), &read),
        forbidden
    );
    // An entity of another type with the same id is not the incident.
    assert_eq!(
        decide(
            &c,
            "tickets.add_comment",
            comment("INC-1043"),
            &[entity("Host", "INC-1043")]
        ),
        forbidden
    );
}

#[test]
fn reading_what_an_incident_holds_is_reading_the_incident() {
    let (_dir, c) = support::example_with(READ_FIRST);
    let comment = |incident: &str| json!({"incident": incident, "comment": "ws-042 beacons out."});
    // ws-042 is a host of INC-1042 (`Host in Incident`), not of INC-1043.
    let host = [entity("Host", "ws-042")];
    assert_eq!(
        decide(&c, "tickets.add_comment", comment("INC-1042"), &host).0,
        Outcome::Allow
    );
    assert_eq!(
        decide(&c, "tickets.add_comment", comment("INC-1043"), &host).0,
        Outcome::Deny
    );
    // So is reading one of its alerts or accounts, and reading an alert of another incident
    // is not.
    for read in [entity("Alert", "ALR-2003"), entity("User", "alice.chen")] {
        assert_eq!(
            decide(
                &c,
                "tickets.add_comment",
                comment("INC-1042"),
                std::slice::from_ref(&read)
            )
            .0,
            Outcome::Allow,
            "{read:?}"
        );
    }
    assert_eq!(
        decide(
            &c,
            "tickets.add_comment",
            comment("INC-1042"),
            &[entity("Alert", "ALR-2006")]
        )
        .0,
        Outcome::Deny
    );
    // The other way round, an incident read is not a read of each of its hosts.
    let isolate = json!({"host": "ws-042", "incident": "INC-1042"});
    assert_eq!(
        decide(
            &c,
            "edr.isolate_host",
            isolate.clone(),
            &[entity("Incident", "INC-1042")]
        ),
        (Outcome::Deny, "isolate-what-was-read".to_string())
    );
    assert_eq!(
        decide(&c, "edr.isolate_host", isolate, &host).0,
        Outcome::Hold,
        "both arguments read (the host is in the incident): the floor holds it"
    );
}
