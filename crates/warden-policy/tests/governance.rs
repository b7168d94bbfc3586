//! Governance of the policy itself: owners for everything, grants that end, and `policy diff`
//! flagging every kind of expansion while a pure tightening passes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};
use warden_core::{Outcome, Principal, ToolName};
use warden_policy::diff::{ExpansionKind, diff, permissions};
use warden_policy::{CallState, Config, ConfigErrors};

fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/soc")
}

/// The example SOC copied to a temporary folder, its config and policy edited.
struct Example {
    dir: tempfile::TempDir,
}

impl Example {
    fn new(
        edit_toml: impl FnOnce(String) -> String,
        edit_cedar: impl FnOnce(String) -> String,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let src = example_dir();
        for f in ["entities.cedarschema", "entities.json"] {
            std::fs::copy(src.join(f), dir.path().join(f)).unwrap();
        }
        std::fs::create_dir_all(dir.path().join("policies")).unwrap();
        let cedar = std::fs::read_to_string(src.join("policies/soc.cedar")).unwrap();
        std::fs::write(dir.path().join("policies/soc.cedar"), edit_cedar(cedar)).unwrap();
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

fn unchanged(s: String) -> String {
    s
}

fn messages(e: &ConfigErrors) -> String {
    e.0.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

fn args(v: Value) -> Map<String, Value> {
    let Value::Object(m) = v else { panic!() };
    m
}

/// The isolation budget's limit in the example, to change that budget and no other.
const ISOLATIONS_LIMIT: &str = "id = \"isolations\"\ntools = [\"edr.isolate_host\"]\nlimit = 5\n";

/// The engine's decision on one call at `now`, with no other state.
fn decision(
    config: &Config,
    agent: &str,
    tool: &str,
    a: Value,
    now: i64,
) -> warden_policy::Decision {
    config.engine.decide(
        &Principal(agent.into()),
        &ToolName::parse(tool).unwrap(),
        &args(a),
        "s",
        &CallState {
            now,
            ..CallState::default()
        },
    )
}

fn permitted_by(config: &Config, agent: &str, tool: &str, a: Value, now: i64) -> Option<String> {
    decision(config, agent, tool, a, now)
        .permitted_by()
        .map(str::to_string)
}

fn decide(config: &Config, agent: &str, tool: &str, a: Value, now: i64) -> (Outcome, String) {
    let d = decision(config, agent, tool, a, now);
    (d.outcome(), d.rule().to_string())
}

const NOW: i64 = 1_790_000_000; // 2026-09-21

#[test]
fn a_tool_whose_category_has_no_owner_fails_the_check() {
    let ex = Example::new(
        |t| t.replace("incident = \"soc-lead@northwind.example\"\n", ""),
        unchanged,
    );
    let e = ex.load().unwrap_err();
    let text = messages(&e);
    assert!(text.contains("category `incident` has no owner"), "{text}");
    // Both incident tools are named, each with its place in the file.
    assert!(text.contains("servers.tickets.tools.add_comment"), "{text}");
    assert!(
        text.contains("servers.tickets.tools.close_incident"),
        "{text}"
    );
}

#[test]
fn a_tool_with_a_blank_owner_fails_and_a_tool_owner_answers_for_its_decisions() {
    let ex = Example::new(
        |t| {
            t.replace(
                "category = \"communication\"\n",
                "category = \"communication\"\nowner = \"  \"\n",
            )
        },
        unchanged,
    );
    let text = messages(&ex.load().unwrap_err());
    assert!(
        text.contains("tool `mail.send_mail` has an empty owner"),
        "{text}"
    );

    let ex = Example::new(
        |t| {
            t.replace(
                "[servers.edr.tools.get_host]\n",
                "[servers.edr.tools.get_host]\nowner = \"edr-team@northwind.example\"\n",
            )
        },
        |c| {
            c.replace("@owner(\"soc-lead@northwind.example\")\npermit (principal, action in Action::\"effect:read\"", "permit (principal, action in Action::\"effect:read\"")
        },
    );
    let config = ex.config();
    let d = config.engine.decide(
        &Principal("triage".into()),
        &ToolName::parse("edr.get_host").unwrap(),
        &args(json!({"host": "ws-017"})),
        "s",
        &CallState::default(),
    );
    assert_eq!(d.outcome(), Outcome::Allow);
    assert_eq!(d.owner(), "edr-team@northwind.example");
}

#[test]
fn a_grant_without_justification_approver_or_expiry_is_refused() {
    let ex = Example::new(
        |t| {
            t + r#"
[[grants]]
id = "bare"
agent = "triage"
tools = ["edr.release_host"]

[[grants]]
id = "bad-approver"
agent = "triage"
tools = ["edr.release_host"]
justification = "because"
approver = "mallory"
expires = "next tuesday"
"#
        },
        unchanged,
    );
    let text = messages(&ex.load().unwrap_err());
    for needle in [
        "grant `bare` has no `justification`",
        "grant `bare` has no `approver`",
        "grant `bare` has no `expires`",
        "grant `bad-approver`: approver `mallory` is not in [approvers]",
        "grant `bad-approver`: `expires = \"next tuesday\"` is not an RFC 3339 time",
    ] {
        assert!(text.contains(needle), "missing `{needle}` in:\n{text}");
    }
}

fn grant(expires: &str) -> String {
    format!(
        r#"
[[grants]]
id = "triage-releases"
agent = "triage"
tools = ["edr.release_host"]
when = "context.args.host.tier > 0"
justification = "EDR tuning week: triage releases false-positive isolations (CHG-2291)"
approver = "alice"
expires = "{expires}"
"#
    )
}

#[test]
fn a_grant_permits_until_its_expiry_and_not_one_second_after() {
    let ex = Example::new(|t| t + &grant("2026-09-21T12:00:00Z"), unchanged);
    let config = ex.config();
    let expires = 1_789_992_000; // 2026-09-21T12:00:00Z
    let call = || json!({"host": "ws-103"});
    // The grant permits; releasing a host is a high-stakes write, so the floor holds it for a
    // human (no autonomy grant covers it), and the permission behind the hold is the grant's.
    assert_eq!(
        decide(&config, "triage", "edr.release_host", call(), expires - 1),
        (Outcome::Hold, "floor:high-stakes".into())
    );
    assert_eq!(
        permitted_by(&config, "triage", "edr.release_host", call(), expires - 1),
        Some("grant:triage-releases".into())
    );
    assert_eq!(
        decide(&config, "triage", "edr.release_host", call(), expires),
        (Outcome::Deny, "default-deny".into())
    );
    // A host an open incident still names needs two people, on the grant as for the responder.
    assert_eq!(
        decide(
            &config,
            "triage",
            "edr.release_host",
            json!({"host": "ws-017"}),
            expires - 1
        ),
        (
            Outcome::Hold,
            "release-host-under-open-incident-needs-two".into()
        )
    );
    // Its condition scopes it: never a tier-0 host.
    assert_eq!(
        decide(
            &config,
            "triage",
            "edr.release_host",
            json!({"host": "dc01"}),
            expires - 1
        )
        .0,
        Outcome::Deny
    );
}

#[test]
fn diff_flags_a_principal_gaining_a_tool_and_accepts_it_when_justified() {
    let old = Example::new(unchanged, unchanged);
    let new = Example::new(|t| t + &grant("2030-01-01"), unchanged);
    let report = diff(&old.config(), &new.config(), NOW);
    let gains: Vec<_> = report
        .expansions
        .iter()
        .filter(|e| e.kind == ExpansionKind::GainsTool)
        .collect();
    assert_eq!(gains.len(), 1, "{:#?}", report.expansions);
    assert_eq!(gains[0].subject, "triage edr.release_host");
    assert_eq!(gains[0].rules, vec!["grant:triage-releases".to_string()]);
    assert!(gains[0].justified());
    assert_eq!(report.expansions.len(), 1, "{:#?}", report.expansions);
    assert_eq!(report.unjustified().count(), 0);
}

#[test]
fn diff_flags_a_widened_argument_scope_without_justification() {
    let old = Example::new(unchanged, unchanged);
    // Mail may now go anywhere: the forbid on outside addresses is gone.
    let new = Example::new(unchanged, |c| {
        c.replace(
            "forbid (principal, action == Action::\"mail.send_mail\", resource)\nunless {",
            "forbid (principal, action == Action::\"mail.send_mail\", resource)\nunless { true ||",
        )
    });
    let report = diff(&old.config(), &new.config(), NOW);
    let widened: Vec<_> = report
        .expansions
        .iter()
        .filter(|e| e.kind == ExpansionKind::ScopeWidens)
        .collect();
    assert!(!widened.is_empty(), "{:#?}", report.expansions);
    assert!(
        widened
            .iter()
            .all(|e| e.subject.ends_with("mail.send_mail"))
    );
    assert!(
        widened
            .iter()
            .all(|e| e.rules == vec!["internal-mail".to_string()])
    );
    let example = widened[0].example.as_ref().unwrap();
    // Some recipient of the example is outside the company.
    let recipients: Vec<&str> = ["to", "cc", "bcc"]
        .iter()
        .flat_map(|k| match &example["args"][k] {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        })
        .collect();
    assert!(
        recipients
            .iter()
            .any(|r| !r.ends_with("@northwind.example")),
        "{example}"
    );
    assert!(report.unjustified().count() > 0);

    // The same change with a justification on the rule that now decides passes.
    let justified = Example::new(unchanged, |c| {
        c.replace(
            "forbid (principal, action == Action::\"mail.send_mail\", resource)\nunless {",
            "forbid (principal, action == Action::\"mail.send_mail\", resource)\nunless { true ||",
        )
        .replace(
            "@justification(\"agents acknowledge reports and brief colleagues inside the company\")",
            "@justification(\"partners receive incident notices (CHG-3000)\")",
        )
    });
    let report = diff(&old.config(), &justified.config(), NOW);
    assert!(!report.expansions.is_empty());
    assert_eq!(report.unjustified().count(), 0, "{:#?}", report.expansions);
}

#[test]
fn diff_flags_a_dropped_approval_requirement() {
    let old = Example::new(unchanged, unchanged);
    // Executives' accounts needed two people; now one. (Dropping an approval on a write the
    // floor holds changes nothing: see `the_floor_holds_whatever_the_policy_permits`.)
    let new = Example::new(unchanged, |c| {
        c.replace(
            "@id(\"disable-executive-needs-two\")\n@owner(\"iam-owners@northwind.example\")\n@approval(\"two-person\")",
            "@id(\"disable-executive-needs-two\")\n@owner(\"iam-owners@northwind.example\")\n@approval(\"required\")",
        )
    });
    let report = diff(&old.config(), &new.config(), NOW);
    let dropped: Vec<_> = report
        .expansions
        .iter()
        .filter(|e| e.kind == ExpansionKind::ApprovalDropped)
        .collect();
    assert_eq!(dropped.len(), 1, "{:#?}", report.expansions);
    assert_eq!(dropped[0].subject, "responder idp.disable_account");
    assert!(
        dropped[0].detail.contains("hold (two people) → hold"),
        "{}",
        dropped[0].detail
    );
    assert!(!dropped[0].justified());
}

#[test]
fn diff_flags_a_growing_budget() {
    let old = Example::new(unchanged, unchanged);
    let new = Example::new(
        |t| {
            t.replace(
                ISOLATIONS_LIMIT,
                &ISOLATIONS_LIMIT.replace("limit = 5", "limit = 50"),
            )
            .replace(
                "justification = \"a bad detection rule",
                "# was: \"a bad detection rule",
            )
        },
        unchanged,
    );
    let report = diff(&old.config(), &new.config(), NOW);
    assert_eq!(report.expansions.len(), 1, "{:#?}", report.expansions);
    let e = &report.expansions[0];
    assert_eq!(e.kind, ExpansionKind::BudgetGrows);
    assert_eq!(e.detail, "limit 5 → 50");
    assert!(!e.justified());
    // Keeping the old reason is no reason; a new one is.
    let kept = Example::new(
        |t| {
            t.replace(
                ISOLATIONS_LIMIT,
                &ISOLATIONS_LIMIT.replace("limit = 5", "limit = 50"),
            )
        },
        unchanged,
    );
    let report = diff(&old.config(), &kept.config(), NOW);
    assert!(!report.expansions[0].justified());
    let argued = Example::new(
        |t| {
            t.replace(ISOLATIONS_LIMIT, &ISOLATIONS_LIMIT.replace("limit = 5", "limit = 50")).replace(
                "justification = \"a bad detection rule",
                "justification = \"INC-1050 outbreak: IR staffed for fifty (CHG-2400); a bad detection rule",
            )
        },
        unchanged,
    );
    let report = diff(&old.config(), &argued.config(), NOW);
    assert!(report.expansions[0].justified(), "{:#?}", report.expansions);
}

#[test]
fn diff_passes_a_pure_tightening() {
    let old = Example::new(unchanged, unchanged);
    let new = Example::new(
        |t| t.replace("limit = 5\n", "limit = 3\n"),
        |c| {
            c + r#"
@id("no-release-of-tier1")
forbid (principal, action == Action::"edr.release_host", resource)
when { context.args.host.tier == 1 };

@id("comments-need-approval-when-tainted")
@approval("required")
forbid (principal, action == Action::"tickets.add_comment", resource)
when { context.session.tainted };
"#
        },
    );
    let report = diff(&old.config(), &new.config(), NOW);
    assert!(report.expansions.is_empty(), "{:#?}", report.expansions);
    assert!(report.tightened > 0);
}

#[test]
fn diff_sees_an_extended_grant_as_an_expansion() {
    let old = Example::new(|t| t + &grant("2026-10-01"), unchanged);
    let new = Example::new(|t| t + &grant("2026-12-01"), unchanged);
    let report = diff(&old.config(), &new.config(), NOW);
    assert_eq!(report.expansions.len(), 1, "{:#?}", report.expansions);
    assert_eq!(report.expansions[0].kind, ExpansionKind::ScopeWidens);
    // The old reason, carried over, does not justify the longer grant; a new one does.
    assert!(!report.expansions[0].justified());
    let renewed = Example::new(
        |t| t + &grant("2026-12-01").replace("EDR tuning week", "EDR tuning extended to November"),
        unchanged,
    );
    let report = diff(&old.config(), &renewed.config(), NOW);
    assert!(report.expansions[0].justified(), "{:#?}", report.expansions);
}

#[test]
fn permissions_list_what_each_agent_may_call() {
    let ex = Example::new(unchanged, unchanged);
    let p = permissions(&ex.config(), NOW);
    let triage_release = (
        Principal("triage".into()),
        ToolName::parse("edr.release_host").unwrap(),
    );
    assert!(!p.contains_key(&triage_release));
    let grant = (
        Principal("triage".into()),
        ToolName::parse("idp.enable_account").unwrap(),
    );
    assert!(p[&grant].contains("grant:triage-enables-after-false-positive"));
}

#[test]
fn a_reload_may_change_policy_but_not_the_catalog() {
    let ex = Example::new(unchanged, unchanged);
    let running = ex.config();
    // Another config file beside the running one, as an operator edits it before SIGHUP.
    let variant = |edit_toml: &dyn Fn(String) -> String, edit_cedar: &dyn Fn(String) -> String| {
        let dir = ex.dir.path();
        let cedar = std::fs::read_to_string(dir.join("policies/soc.cedar")).unwrap();
        std::fs::write(dir.join("policies/variant.cedar"), edit_cedar(cedar)).unwrap();
        let toml = std::fs::read_to_string(dir.join("warden.toml")).unwrap();
        let toml = edit_toml(toml.replace("policies/soc.cedar", "policies/variant.cedar"));
        std::fs::write(dir.join("variant.toml"), toml).unwrap();
        Config::load(&dir.join("variant.toml")).unwrap_or_else(|e| panic!("{e}"))
    };
    let policy_only = variant(&|t| t + &grant("2030-01-01"), &|c| {
        c.replace(
            "@id(\"agents-may-comment\")",
            "@id(\"agents-may-comment\")\n@justification(\"case notes are how the SOC hands over\")",
        )
    });
    assert_ne!(policy_only.engine.version(), running.engine.version());
    assert_eq!(running.reload_blocker(&policy_only), None);
    let new_tool = variant(
        &|t| {
            t.replace(
                "[servers.siem.tools.get_alert]",
                "[servers.siem.tools.delete_alert]\neffect = \"write\"\nreversible = false\nstakes = \"high\"\ncategory = \"triage\"\nargs = { alert_id = \"string\" }\n\n[servers.siem.tools.get_alert]",
            )
        },
        &unchanged,
    );
    let why = running.reload_blocker(&new_tool).unwrap();
    assert!(why.contains("tools changed"), "{why}");
    let screen = variant(
        &|t| t.replace("[screen]\n", "[screen]\ntaint_at = 0.9\n"),
        &unchanged,
    );
    let why = running.reload_blocker(&screen).unwrap();
    assert_eq!(why, "screen changed: restart warden to apply that");
    // The metrics listener is bound at start: turning it on (or moving it) needs a restart.
    let metrics = variant(
        &|t| t + "\n[metrics]\nlisten = \"127.0.0.1:9464\"\n",
        &unchanged,
    );
    assert_eq!(
        metrics.metrics.as_ref().map(|m| m.listen.to_string()),
        Some("127.0.0.1:9464".to_string())
    );
    assert_eq!(running.metrics, None);
    let why = running.reload_blocker(&metrics).unwrap();
    assert_eq!(why, "metrics changed: restart warden to apply that");
}

/// The approval a decision holds for, if it holds.
fn held_for(config: &Config, agent: &str, tool: &str, a: Value) -> Option<warden_policy::Approval> {
    decision(config, agent, tool, a, NOW).approval()
}

#[test]
fn a_two_person_floor_binds_every_agent_and_every_grant() {
    use warden_policy::Approval;
    let ex = Example::new(unchanged, unchanged);
    let config = ex.config();
    // The triage agent reaches `idp.enable_account` through its grant (one approver). The
    // break-glass account and an account an open incident names need two people whoever asks.
    for user in ["bg-admin", "alice.chen"] {
        for agent in ["triage", "responder"] {
            assert_eq!(
                held_for(
                    &config,
                    agent,
                    "idp.enable_account",
                    json!({ "user": user })
                ),
                Some(Approval::TwoPerson),
                "{agent} enabling {user}"
            );
        }
    }
    // An ordinary account stays one approver's call on the grant.
    assert_eq!(
        held_for(
            &config,
            "triage",
            "idp.enable_account",
            json!({ "user": "henry.adams" })
        ),
        Some(Approval::Required)
    );
    // And the shipped policy has no floor that another path walks around.
    assert_eq!(config.engine.cheaper_doors(), vec![]);
}

#[test]
fn a_floor_written_as_one_agents_permit_is_a_cheaper_door_for_another() {
    // The two-person rule as a permit for the responder only: the triage grant then reaches the
    // same account with one approver, and the check names both.
    let ex = Example::new(unchanged, |c| {
        c.replace(
            "@approval(\"two-person\")\nforbid (principal, action == Action::\"idp.enable_account\", resource)\nwhen { context.args.user.open_incident",
            "@approval(\"two-person\")\npermit (principal == Agent::\"responder\", action == Action::\"idp.enable_account\", resource)\nwhen { context.args.user.open_incident",
        )
    });
    let config = ex.config();
    assert_eq!(
        held_for(
            &config,
            "triage",
            "idp.enable_account",
            json!({ "user": "bg-admin" })
        ),
        Some(warden_policy::Approval::Required),
        "the door this check exists for"
    );
    let doors = config.engine.cheaper_doors();
    assert_eq!(doors.len(), 1, "{doors:#?}");
    let door = &doors[0];
    assert_eq!(door.rule, "enable-account-under-open-incident-needs-two");
    assert_eq!(door.agent, "responder");
    assert_eq!(door.door, "grant:triage-enables-after-false-positive");
    assert_eq!(door.other.as_deref(), Some("triage"));
    let text = door.to_string();
    assert!(
        text.contains("idp.enable_account") && text.contains("hold rule"),
        "{text}"
    );
}
