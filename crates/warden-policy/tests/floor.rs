//! The floor under every policy: a high-stakes, critical or irreversible write is held for a
//! human whatever Cedar permits; only an autonomy grant lets one run unattended, and only for
//! the calls it covers. Every write has a budget. Attacks are written as a policy author's
//! mistakes would let them through: a permit-everything policy must still hold.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::{Map, Value, json};
use std::path::Path;
use warden_core::{Outcome, Principal, ToolName};
use warden_policy::diff::{ExpansionKind, diff};
use warden_policy::{Approval, CallState, Config, ConfigErrors, OutboundState};

const NOW: i64 = 1_767_225_600; // 2026-01-01

struct Example {
    dir: tempfile::TempDir,
}

impl Example {
    fn new(edit_toml: impl FnOnce(String) -> String, cedar: Option<&str>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/soc");
        for f in ["entities.cedarschema", "entities.json"] {
            std::fs::copy(src.join(f), dir.path().join(f)).unwrap();
        }
        std::fs::create_dir_all(dir.path().join("policies")).unwrap();
        let original = std::fs::read_to_string(src.join("policies/soc.cedar")).unwrap();
        std::fs::write(
            dir.path().join("policies/soc.cedar"),
            cedar.map_or(original, str::to_string),
        )
        .unwrap();
        let toml = std::fs::read_to_string(src.join("warden.toml")).unwrap();
        std::fs::write(dir.path().join("warden.toml"), edit_toml(toml)).unwrap();
        Self { dir }
    }
    fn load(&self) -> Result<Config, ConfigErrors> {
        Config::load(&self.dir.path().join("warden.toml"))
    }
    fn config(&self) -> Config {
        self.load().unwrap_or_else(|e| panic!("{e}"))
    }
}

fn decide_with(
    config: &Config,
    agent: &str,
    tool: &str,
    a: Value,
    state: CallState,
) -> (Outcome, String, Option<Approval>) {
    let Value::Object(m) = a else { panic!() };
    let m: Map<String, Value> = m;
    let d = config.engine.decide(
        &Principal(agent.into()),
        &ToolName::parse(tool).unwrap(),
        &m,
        "s",
        &state,
    );
    (d.outcome(), d.rule().to_string(), d.approval())
}

fn decide(
    config: &Config,
    agent: &str,
    tool: &str,
    a: Value,
) -> (Outcome, String, Option<Approval>) {
    decide_with(
        config,
        agent,
        tool,
        a,
        CallState {
            now: NOW,
            ..CallState::default()
        },
    )
}

/// A policy author who permits everything, for everyone.
const PERMIT_ALL: &str = "@id(\"anything-goes\")\npermit (principal, action, resource);\n";

#[test]
fn the_floor_holds_whatever_the_policy_permits() {
    let ex = Example::new(|t| t, Some(PERMIT_ALL));
    let c = ex.config();
    for (tool, args, rule, approval) in [
        (
            "edr.isolate_host",
            json!({"host": "ws-042", "incident": "INC-1042"}),
            "floor:high-stakes",
            Approval::Required,
        ),
        (
            "edr.release_host",
            json!({"host": "srv-web01"}),
            "floor:high-stakes",
            Approval::Required,
        ),
        (
            "idp.reset_sessions",
            json!({"user": "carol.diaz"}),
            "floor:high-stakes",
            Approval::Required,
        ),
        (
            "idp.disable_account",
            json!({"user": "bg-admin"}),
            "floor:high-stakes",
            Approval::Required,
        ),
        (
            "tickets.close_incident",
            json!({"incident": "INC-1043", "resolution": "benign"}),
            "floor:critical",
            Approval::TwoPerson,
        ),
        (
            "tickets.delete_comment",
            json!({"incident": "INC-1043", "comment_id": "C-1"}),
            "floor:critical",
            Approval::TwoPerson,
        ),
        (
            "mail.send_mail",
            json!({"to": "x@evil.example", "subject": "s", "body": "b"}),
            "floor:high-stakes",
            Approval::Required,
        ),
    ] {
        for agent in ["triage", "responder"] {
            assert_eq!(
                decide(&c, agent, tool, args.clone()),
                (Outcome::Hold, rule.to_string(), Some(approval)),
                "{agent} {tool}"
            );
        }
    }
    // Low-stakes reversible writes and reads are the policy's to allow.
    assert_eq!(
        decide(
            &c,
            "triage",
            "tickets.add_comment",
            json!({"incident": "INC-1042", "comment": "seen"})
        )
        .0,
        Outcome::Allow
    );
    assert_eq!(
        decide(&c, "triage", "siem.get_alert", json!({"alert_id": "ALR-1"})).0,
        Outcome::Allow
    );
}

#[test]
fn an_irreversible_low_stakes_write_is_held_too() {
    let ex = Example::new(
        |t| {
            t.replace(
                "[servers.tickets.tools.add_comment]\neffect = \"write\"\nreversible = true",
                "[servers.tickets.tools.add_comment]\neffect = \"write\"\nreversible = false",
            )
        },
        Some(PERMIT_ALL),
    );
    let c = ex.config();
    assert_eq!(
        decide(
            &c,
            "triage",
            "tickets.add_comment",
            json!({"incident": "INC-1042", "comment": "seen"})
        ),
        (
            Outcome::Hold,
            "floor:irreversible".into(),
            Some(Approval::Required)
        )
    );
}

const AUTONOMY: &str = r#"
[[autonomy]]
id = "release-workstations"
agent = "responder"
tools = ["edr.release_host"]
when = "context.args.host.tier == 2 && !context.agent.tainted"
justification = "workstations reimaged by IT come back without a human (CHG-4100)"
approver = "alice"
owner = "ir-oncall@northwind.example"
expires = "2026-03-01"
"#;

#[test]
fn an_autonomy_grant_lets_only_the_calls_it_covers_run_and_names_itself() {
    let ex = Example::new(|t| t + AUTONOMY, None);
    let c = ex.config();
    let release = |host: &str| json!({"host": host});
    assert_eq!(
        decide(&c, "responder", "edr.release_host", release("ws-118")),
        (Outcome::Allow, "autonomy:release-workstations".into(), None)
    );
    // Outside its condition: a server, a tainted agent.
    assert_eq!(
        decide(&c, "responder", "edr.release_host", release("srv-db01")).1,
        "floor:high-stakes"
    );
    let tainted = CallState {
        now: NOW,
        agent_tainted: true,
        agent_taint_level: 90,
        ..CallState::default()
    };
    assert_eq!(
        decide_with(
            &c,
            "responder",
            "edr.release_host",
            release("ws-118"),
            tainted
        )
        .0,
        Outcome::Hold
    );
    // Another agent, another tool: not covered.
    assert_eq!(
        decide(
            &c,
            "responder",
            "edr.isolate_host",
            json!({"host": "ws-042", "incident": "INC-1042"})
        )
        .1,
        "floor:high-stakes"
    );
    // It ends at its expiry.
    let after = CallState {
        now: 1_772_323_200,
        ..CallState::default()
    };
    assert_eq!(
        decide_with(
            &c,
            "responder",
            "edr.release_host",
            release("ws-118"),
            after
        )
        .1,
        "floor:high-stakes"
    );
    // It grants nothing the policy does not permit: triage has no release permit.
    let ex = Example::new(
        |t| t + &AUTONOMY.replace("agent = \"responder\"", "agent = \"triage\""),
        None,
    );
    assert_eq!(
        decide(
            &ex.config(),
            "triage",
            "edr.release_host",
            release("ws-118")
        )
        .0,
        Outcome::Deny
    );
}

#[test]
fn an_autonomy_grant_never_outranks_a_hold_rule_or_a_forbid() {
    let ex = Example::new(
        |t| t + AUTONOMY.replace(" && !context.agent.tainted", "").as_str(),
        None,
    );
    let c = ex.config();
    // The example's hold rule for a tainted agent still holds, whatever the grant's condition.
    let tainted = CallState {
        now: NOW,
        agent_tainted: true,
        ..CallState::default()
    };
    assert_eq!(
        decide_with(
            &c,
            "responder",
            "edr.release_host",
            json!({"host": "ws-118"}),
            tainted
        )
        .1,
        "tainted-agent-writes-need-approval"
    );
    // Screened text in the reason holds too.
    let screened = CallState {
        now: NOW,
        outbound: OutboundState {
            flagged: true,
            agent_instructions: true,
            ..OutboundState::default()
        },
        ..CallState::default()
    };
    assert_eq!(
        decide_with(
            &c,
            "responder",
            "edr.release_host",
            json!({"host": "ws-118", "reason": "x"}),
            screened
        )
        .1,
        "screened-writes-need-approval"
    );
}

#[test]
fn an_autonomy_grant_needs_every_field_and_a_floor_tool() {
    let bad = r#"
[[autonomy]]
id = "everything"
agent = "responder"
tools = ["siem.get_alert", "edr.release_host"]
approval = "required"
justification = "because"
approver = "alice"
expires = "2027-01-01"
"#;
    let ex = Example::new(|t| t + bad, None);
    let text: String = ex
        .load()
        .unwrap_err()
        .0
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    for needle in [
        "autonomy grant `everything` has no `owner`",
        "autonomy grant `everything`: `approval` has no meaning here",
        "autonomy grant `everything` names `siem.get_alert`, which the floor does not hold",
    ] {
        assert!(text.contains(needle), "missing `{needle}` in:\n{text}");
    }
}

#[test]
fn diff_flags_a_new_autonomy_grant_as_a_dropped_approval() {
    let old = Example::new(|t| t, None);
    let new = Example::new(
        |t| t + AUTONOMY.replace("2026-03-01", "2030-01-01").as_str(),
        None,
    );
    let report = diff(&old.config(), &new.config(), NOW);
    let dropped: Vec<_> = report
        .expansions
        .iter()
        .filter(|e| e.kind == ExpansionKind::ApprovalDropped)
        .collect();
    assert_eq!(dropped.len(), 1, "{:#?}", report.expansions);
    assert_eq!(dropped[0].subject, "responder edr.release_host");
    assert_eq!(
        dropped[0].rules,
        vec!["autonomy:release-workstations".to_string()]
    );
    assert!(dropped[0].justified());

    // Widening it (servers too) is flagged again, and needs a new reason.
    let wider = Example::new(
        |t| {
            t + AUTONOMY
                .replace("2026-03-01", "2030-01-01")
                .replace("context.args.host.tier == 2", "context.args.host.tier >= 1")
                .as_str()
        },
        None,
    );
    let report = diff(&new.config(), &wider.config(), NOW);
    assert!(
        report
            .expansions
            .iter()
            .any(|e| e.kind == ExpansionKind::ApprovalDropped && !e.justified()),
        "{:#?}",
        report.expansions
    );
}

#[test]
fn every_write_has_a_budget_and_the_default_is_configurable() {
    let c = Example::new(|t| t, None).config();
    for (name, spec) in &c.tools {
        let counted = c.budgets.iter().any(|b| b.tools.contains(name));
        assert_eq!(
            counted,
            spec.labels.effect == warden_core::Effect::Write,
            "{name}"
        );
    }
    let comment = c
        .budgets
        .iter()
        .find(|b| b.tools == [ToolName::new("tickets", "edit_comment")])
        .unwrap();
    assert!(comment.default);
    assert_eq!((comment.limit, comment.window.as_secs()), (10, 3600));
    // Configured budgets stay as written, and a tool they count gets no default.
    let mail = c.budgets.iter().find(|b| b.id == "mail").unwrap();
    assert!(!mail.default);
    let comments = ToolName::new("tickets", "add_comment");
    assert_eq!(
        c.budgets
            .iter()
            .filter(|b| b.tools.contains(&comments))
            .count(),
        1
    );
    // Policy reads it like any budget (the gateway's budget stage counts and enforces it).
    assert!(
        c.engine
            .schema_text()
            .contains("default_tickets__edit_comment: Budget")
    );
}

#[test]
fn a_budget_an_autonomy_grant_reads_is_looked_up_for_its_tools() {
    // The example's mail grant runs only the first three notes an hour unattended: the gateway
    // must fetch that count, or the grant's condition would see 0 and never stop.
    let c = Example::new(|t| t, None).config();
    let mail = ToolName::new("mail", "send_mail");
    assert!(c.engine.reads_budget(&mail, "mail"));
    let mut used = std::collections::BTreeMap::new();
    used.insert("mail".to_string(), 3);
    let note = json!({"to": "henry.adams@northwind.example", "subject": "s", "body": "b"});
    assert_eq!(
        decide(&c, "triage", "mail.send_mail", note.clone()).1,
        "autonomy:plain-internal-notes"
    );
    assert_eq!(
        decide_with(
            &c,
            "triage",
            "mail.send_mail",
            note,
            CallState {
                now: NOW,
                budgets_used: used,
                ..CallState::default()
            }
        )
        .1,
        "floor:high-stakes"
    );
}
