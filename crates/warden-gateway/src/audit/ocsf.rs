//! Ledger events as OCSF 1.x records, one JSON object per event, for SIEMs.
//!
//! Design choice: the OCSF record is a *projection* of a ledger leaf, never the record of
//! truth. Every record carries the leaf's index (`metadata.sequence`) and hash (`metadata.uid`,
//! and again under `unmapped.warden`), so a SIEM copy can be checked against the log with
//! `warden audit prove`, and gaps show up as missing sequence numbers.
//!
//! | event kind | OCSF class |
//! |---|---|
//! | `decision`, `outcome` | API Activity (6003): actor = agent, `api.operation` = tool, the policy and authorization result |
//! | `finding`, `tool_withheld` | Detection Finding (2004), activity Create |
//! | `config_loaded` | Application Lifecycle (6002), activity Start |
//! | `tool_pinned`, `redaction`, `approval`, `halt`, `resume`, `review_verdict`, `policy_reload`, `shadow_diff`, `review_tightening` | Base Event (0), activity Other |

use serde_json::{Map, Value, json};
use warden_core::{AuditEvent, Effect, EventKind};

/// The OCSF schema version the records follow.
pub const OCSF_VERSION: &str = "1.8.0";

/// Where the records come from: the log and the product.
#[derive(Debug, Clone)]
pub struct Source<'a> {
    /// The ledger's origin, as `metadata.log_name`.
    pub log_name: &'a str,
    /// warden's version, as `metadata.product.version`.
    pub product_version: &'a str,
}

/// One ledger leaf to project.
#[derive(Debug, Clone, Copy)]
pub struct LeafRef<'a> {
    pub index: u64,
    /// Lower-case hex of the RFC 6962 leaf hash.
    pub leaf_hash: &'a str,
    pub event: &'a AuditEvent,
    /// The tool's configured effect, when the tool is still configured.
    pub effect: Option<Effect>,
}

/// The OCSF record for one leaf.
pub fn record(source: &Source<'_>, leaf: LeafRef<'_>) -> Value {
    let e = leaf.event;
    let mut r = match e.kind {
        Some(EventKind::Decision) => decision(e, leaf.effect),
        Some(EventKind::Outcome) => outcome(e, leaf.effect),
        Some(EventKind::Finding | EventKind::ToolWithheld) => finding(source, leaf),
        Some(EventKind::ConfigLoaded) => lifecycle(source, e),
        Some(
            EventKind::ToolPinned
            | EventKind::Redaction
            | EventKind::Approval
            | EventKind::Halt
            | EventKind::Resume
            | EventKind::ReviewVerdict
            | EventKind::PolicyReload
            | EventKind::ShadowDiff
            | EventKind::ReviewTightening
            | EventKind::TaintCleared
            | EventKind::InventoryRefresh,
        )
        | None => base(e),
    };
    r.insert("time".into(), json!(e.time_ms));
    r.insert("metadata".into(), metadata(source, leaf));
    r.insert("unmapped".into(), unmapped(leaf));
    Value::Object(r)
}

fn class(
    category: (u32, &str),
    class: (u32, &str),
    activity: (u32, &str),
    severity: (u32, &str),
) -> Map<String, Value> {
    let mut r = Map::new();
    r.insert("category_uid".into(), json!(category.0));
    r.insert("category_name".into(), json!(category.1));
    r.insert("class_uid".into(), json!(class.0));
    r.insert("class_name".into(), json!(class.1));
    r.insert("activity_id".into(), json!(activity.0));
    r.insert("activity_name".into(), json!(activity.1));
    r.insert("type_uid".into(), json!(class.0 * 100 + activity.0));
    r.insert(
        "type_name".into(),
        json!(format!("{}: {}", class.1, activity.1)),
    );
    r.insert("severity_id".into(), json!(severity.0));
    r.insert("severity".into(), json!(severity.1));
    r
}

const INFORMATIONAL: (u32, &str) = (1, "Informational");
const LOW: (u32, &str) = (2, "Low");
const MEDIUM: (u32, &str) = (3, "Medium");
const HIGH: (u32, &str) = (4, "High");
const CRITICAL: (u32, &str) = (5, "Critical");

/// API Activity's activity: what the tool does to its resource.
fn api_activity(effect: Option<Effect>) -> (u32, &'static str) {
    match effect {
        Some(Effect::Read) => (2, "Read"),
        Some(Effect::Write) => (3, "Update"),
        None => (99, "Other"),
    }
}

fn api_class(effect: Option<Effect>, severity: (u32, &str)) -> Map<String, Value> {
    class(
        (6, "Application Activity"),
        (6003, "API Activity"),
        api_activity(effect),
        severity,
    )
}

fn actor(e: &AuditEvent) -> Value {
    let mut actor = Map::new();
    if let Some(p) = &e.principal {
        actor.insert(
            "user".into(),
            json!({"uid": p, "name": p, "type": "AI agent"}),
        );
    }
    if let Some(s) = &e.session {
        actor.insert("session".into(), json!({"uid": s}));
    }
    Value::Object(actor)
}

fn api(e: &AuditEvent) -> Value {
    let tool = e.tool.as_deref().unwrap_or_default();
    let server = tool.split_once('.').map_or(tool, |(s, _)| s);
    let mut request = Map::new();
    if let Some(id) = &e.request_id {
        request.insert("uid".into(), json!(id));
    }
    if let Some(args) = &e.args {
        request.insert("data".into(), args.clone());
    }
    json!({
        "operation": tool,
        "service": {"name": server},
        "request": request,
    })
}

fn policy(e: &AuditEvent) -> Value {
    let mut p = Map::new();
    if let Some(rule) = &e.rule {
        p.insert("uid".into(), json!(rule));
        p.insert("name".into(), json!(rule));
    }
    if let Some(v) = &e.policy_version {
        p.insert("version".into(), json!(v));
    }
    if let Some(reason) = &e.reason {
        p.insert("desc".into(), json!(reason));
    }
    if let Some(category) = &e.category {
        p.insert("group".into(), json!({"name": category}));
    }
    if let Some(owner) = &e.owner {
        p.insert("data".into(), json!({"owner": owner}));
    }
    p.insert("is_applied".into(), json!(true));
    Value::Object(p)
}

fn endpoints(r: &mut Map<String, Value>, e: &AuditEvent) {
    let tool = e.tool.as_deref().unwrap_or_default();
    let server = tool.split_once('.').map_or(tool, |(s, _)| s);
    r.insert(
        "src_endpoint".into(),
        json!({"name": e.principal.as_deref().unwrap_or("unknown")}),
    );
    r.insert("dst_endpoint".into(), json!({"svc_name": server}));
}

fn decision(e: &AuditEvent, effect: Option<Effect>) -> Map<String, Value> {
    let verdict = e.decision.as_deref().unwrap_or("unknown");
    let (severity, action, disposition) = match verdict {
        "allow" => (INFORMATIONAL, (1, "Allowed"), (1, "Allowed")),
        "deny" => (MEDIUM, (2, "Denied"), (2, "Blocked")),
        "hold" => (LOW, (99, "Held for approval"), (14, "Delayed")),
        _ => (MEDIUM, (0, "Unknown"), (0, "Unknown")),
    };
    let mut r = api_class(effect, severity);
    r.insert("action_id".into(), json!(action.0));
    r.insert("action".into(), json!(action.1));
    r.insert("disposition_id".into(), json!(disposition.0));
    r.insert("disposition".into(), json!(disposition.1));
    r.insert("actor".into(), actor(e));
    r.insert("api".into(), api(e));
    endpoints(&mut r, e);
    r.insert("policy".into(), policy(e));
    r.insert(
        "authorizations".into(),
        json!([{"decision": verdict, "policy": policy(e)}]),
    );
    if let Some(reason) = &e.reason {
        r.insert("message".into(), json!(reason));
    }
    r
}

fn outcome(e: &AuditEvent, effect: Option<Effect>) -> Map<String, Value> {
    let failed = e.is_error.unwrap_or(false);
    let mut r = api_class(effect, if failed { LOW } else { INFORMATIONAL });
    r.insert("status_id".into(), json!(if failed { 2 } else { 1 }));
    r.insert(
        "status".into(),
        json!(if failed { "Failure" } else { "Success" }),
    );
    r.insert("action_id".into(), json!(1));
    r.insert("action".into(), json!("Allowed"));
    r.insert("disposition_id".into(), json!(1));
    r.insert("disposition".into(), json!("Allowed"));
    r.insert("actor".into(), actor(e));
    r.insert("api".into(), api(e));
    endpoints(&mut r, e);
    r.insert("policy".into(), policy(e));
    if let Some(us) = e.latency_us {
        r.insert("duration".into(), json!(us / 1000));
    }
    r
}

fn finding(source: &Source<'_>, leaf: LeafRef<'_>) -> Map<String, Value> {
    let e = leaf.event;
    let detail = e.detail.as_ref();
    let severity = match detail
        .and_then(|d| d.get("severity"))
        .and_then(Value::as_str)
    {
        Some("low") => LOW,
        Some("high") => HIGH,
        Some("critical") => CRITICAL,
        _ => MEDIUM,
    };
    let (title, analytic) = if e.kind == Some(EventKind::ToolWithheld) {
        (
            "upstream tool definition changed: tool withheld until re-pinned".to_owned(),
            "tool-pin".to_owned(),
        )
    } else {
        (
            e.reason.clone().unwrap_or_else(|| "finding".into()),
            e.rule
                .clone()
                .or_else(|| {
                    detail
                        .and_then(|d| d.get("detector"))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .unwrap_or_else(|| "warden".into()),
        )
    };
    let mut r = class(
        (2, "Findings"),
        (2004, "Detection Finding"),
        (1, "Create"),
        severity,
    );
    r.insert(
        "finding_info".into(),
        json!({
            "uid": format!("{}#{}", source.log_name, leaf.index),
            "title": title,
            "analytic": {"name": analytic, "type_id": 1, "type": "Rule"},
        }),
    );
    r.insert("is_alert".into(), json!(true));
    let mut evidence = Map::new();
    if e.tool.is_some() {
        evidence.insert("api".into(), api(e));
    }
    if e.principal.is_some() {
        evidence.insert("actor".into(), actor(e));
    }
    if let Some(d) = detail {
        evidence.insert("data".into(), d.clone());
    }
    r.insert("evidences".into(), json!([evidence]));
    r.insert("message".into(), json!(title));
    r
}

fn lifecycle(source: &Source<'_>, e: &AuditEvent) -> Map<String, Value> {
    let mut r = class(
        (6, "Application Activity"),
        (6002, "Application Lifecycle"),
        (3, "Start"),
        INFORMATIONAL,
    );
    r.insert(
        "app".into(),
        json!({"name": "warden", "vendor_name": "warden", "version": source.product_version}),
    );
    r.insert(
        "message".into(),
        json!(format!(
            "warden started with policy {}",
            e.policy_version.as_deref().unwrap_or("unknown")
        )),
    );
    r
}

fn base(e: &AuditEvent) -> Map<String, Value> {
    let mut r = class(
        (0, "Uncategorized"),
        (0, "Base Event"),
        (99, "Other"),
        INFORMATIONAL,
    );
    let message = match e.kind {
        Some(EventKind::ToolPinned) => format!(
            "tool `{}` pinned to its upstream definition",
            e.tool.as_deref().unwrap_or_default()
        ),
        Some(EventKind::Redaction) => format!(
            "sealed content of leaf {} redacted",
            e.detail
                .as_ref()
                .and_then(|d| d.get("index"))
                .map_or_else(|| "?".into(), Value::to_string)
        ),
        Some(EventKind::ReviewVerdict) => format!(
            "review verdict `{}` on decision {} by {}",
            detail_str(e, "verdict"),
            detail_str(e, "decision_index"),
            detail_str(e, "reviewer")
        ),
        Some(EventKind::PolicyReload) => format!(
            "policy reload {}: {} → {}",
            if e.detail.as_ref().and_then(|d| d.get("applied")) == Some(&json!(true)) {
                "applied"
            } else {
                "refused"
            },
            detail_str(e, "old"),
            detail_str(e, "new")
        ),
        Some(EventKind::ShadowDiff) => format!(
            "shadow policy would {} `{}` (enforced: {})",
            detail_str(e, "shadow"),
            e.tool.as_deref().unwrap_or_default(),
            detail_str(e, "enforced")
        ),
        Some(EventKind::ReviewTightening) => format!(
            "category `{}` {}: {}",
            e.category.as_deref().unwrap_or_default(),
            detail_str(e, "state"),
            e.reason.as_deref().unwrap_or_default()
        ),
        Some(EventKind::TaintCleared) => format!(
            "taint of agent `{}` cleared by {}: {}",
            e.principal.as_deref().unwrap_or_default(),
            detail_str(e, "by"),
            e.reason.as_deref().unwrap_or_default()
        ),
        Some(EventKind::InventoryRefresh) => format!(
            "inventory from {} refreshed: {} entities, {} → {}",
            detail_str(e, "source"),
            detail_str(e, "entities"),
            detail_str(e, "previous_digest"),
            detail_str(e, "digest")
        ),
        _ => "warden event".into(),
    };
    r.insert("message".into(), json!(message));
    r
}

/// `detail.<key>` as text (strings unquoted), `?` when absent.
fn detail_str(e: &AuditEvent, key: &str) -> String {
    match e.detail.as_ref().and_then(|d| d.get(key)) {
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => "?".into(),
    }
}

fn metadata(source: &Source<'_>, leaf: LeafRef<'_>) -> Value {
    let e = leaf.event;
    let mut m = json!({
        "version": OCSF_VERSION,
        "product": {"name": "warden", "vendor_name": "warden", "version": source.product_version},
        "uid": leaf.leaf_hash,
        "sequence": leaf.index,
        "log_name": source.log_name,
    });
    let correlation = match e.kind {
        Some(EventKind::Outcome) => e
            .detail
            .as_ref()
            .and_then(|d| d.get("decision_index"))
            .map(|i| format!("{}#{i}", source.log_name)),
        Some(EventKind::Decision) => Some(
            e.request_id
                .clone()
                .unwrap_or_else(|| format!("{}#{}", source.log_name, leaf.index)),
        ),
        _ => None,
    };
    if let (Some(c), Some(m)) = (correlation, m.as_object_mut()) {
        m.insert("correlation_uid".into(), json!(c));
    }
    m
}

fn unmapped(leaf: LeafRef<'_>) -> Value {
    let e = leaf.event;
    let mut w = Map::new();
    w.insert("leaf_index".into(), json!(leaf.index));
    w.insert("leaf_hash".into(), json!(leaf.leaf_hash));
    w.insert(
        "event_kind".into(),
        json!(e.kind.map_or("unknown", EventKind::as_str)),
    );
    for (key, value) in [
        ("args_digest", e.args_digest.as_ref().map(|v| json!(v))),
        ("result_digest", e.result_digest.as_ref().map(|v| json!(v))),
        ("rationale", e.rationale.as_ref().map(|v| json!(v))),
        ("latency_us", e.latency_us.map(|v| json!(v))),
        ("detail", e.detail.clone()),
    ] {
        if let Some(v) = value {
            w.insert(key.into(), v);
        }
    }
    json!({ "warden": w })
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_core::EventKind;

    fn events() -> Vec<(AuditEvent, Option<Effect>)> {
        let t = 1_767_225_600_000;
        let mut allow = AuditEvent::new(EventKind::Decision, t);
        allow.principal = Some("responder".into());
        allow.session = Some("sess-1".into());
        allow.tool = Some("edr.isolate_host".into());
        allow.args = Some(json!({"host": "ws-042", "incident": "INC-1042"}));
        allow.args_digest = Some("sha256:5a1e".into());
        allow.decision = Some("allow".into());
        allow.rule = Some("isolate-incident-workstations".into());
        allow.owner = Some("ir-oncall@northwind.example".into());
        allow.category = Some("containment".into());
        allow.reason = Some("permitted by `isolate-incident-workstations`".into());
        allow.policy_version = Some("sha256:90a1".into());
        allow.rationale = Some("[redacted]".into());

        let mut deny = allow.clone();
        deny.time_ms += 1;
        deny.args = Some(json!({"host": "dc01", "incident": "INC-1042"}));
        deny.decision = Some("deny".into());
        deny.rule = Some("never-isolate-tier0".into());
        deny.owner = Some("infrastructure-lead@northwind.example".into());
        deny.reason = Some("domain controllers are never isolated by an agent".into());

        let mut hold = allow.clone();
        hold.time_ms += 2;
        hold.tool = Some("idp.disable_account".into());
        hold.args = Some(json!({"user": "alice.chen"}));
        hold.decision = Some("hold".into());
        hold.rule = Some("disable-account-needs-approval".into());
        hold.request_id = Some("apr_00000000000000aa".into());

        let mut out = AuditEvent::new(EventKind::Outcome, t + 3);
        out.principal = Some("responder".into());
        out.session = Some("sess-1".into());
        out.tool = Some("edr.isolate_host".into());
        out.rule = Some("isolate-incident-workstations".into());
        out.result_digest = Some("sha256:77ee".into());
        out.is_error = Some(false);
        out.latency_us = Some(12_345);
        out.detail = Some(json!({"decision_index": 0}));

        let mut finding = AuditEvent::new(EventKind::Finding, t + 4);
        finding.principal = Some("triage".into());
        finding.session = Some("sess-2".into());
        finding.tool = Some("mail.read_message".into());
        finding.reason = Some("instructions to the agent found in tool output".into());
        finding.detail = Some(json!({"detector": "injection.phrases", "severity": "high"}));

        let mut withheld = AuditEvent::new(EventKind::ToolWithheld, t + 5);
        withheld.tool = Some("edr.get_host".into());
        withheld.detail = Some(json!({"pinned": "sha256:aa", "seen": "sha256:bb"}));

        let mut config = AuditEvent::new(EventKind::ConfigLoaded, t + 6);
        config.policy_version = Some("sha256:90a1".into());

        let mut redaction = AuditEvent::new(EventKind::Redaction, t + 7);
        redaction.reason = Some("erasure request 2026-114".into());
        redaction.detail = Some(json!({"index": 0, "fields": ["args", "rationale"]}));

        vec![
            (allow, Some(Effect::Write)),
            (deny, Some(Effect::Write)),
            (hold, Some(Effect::Write)),
            (out, Some(Effect::Write)),
            (finding, Some(Effect::Read)),
            (withheld, None),
            (config, None),
            (redaction, None),
        ]
    }

    #[test]
    fn governance_events_are_base_events_that_say_what_happened() {
        let source = Source {
            log_name: "warden.local/ledger",
            product_version: "0.1.0",
        };
        let mut verdict = AuditEvent::new(EventKind::ReviewVerdict, 1);
        verdict.detail =
            Some(json!({"decision_index": 7, "verdict": "wrong", "reviewer": "dana", "note": "n"}));
        let mut reload = AuditEvent::new(EventKind::PolicyReload, 2);
        reload.detail = Some(json!({"old": "sha256:aa", "new": "sha256:bb", "applied": true}));
        let mut shadow = AuditEvent::new(EventKind::ShadowDiff, 3);
        shadow.tool = Some("edr.isolate_host".into());
        shadow.detail = Some(json!({"enforced": "allow", "shadow": "hold"}));
        let mut tight = AuditEvent::new(EventKind::ReviewTightening, 4);
        tight.category = Some("containment".into());
        tight.reason = Some("review overdue".into());
        tight.detail = Some(json!({"state": "tightened"}));
        let mut cleared = AuditEvent::new(EventKind::TaintCleared, 5);
        cleared.principal = Some("responder".into());
        cleared.reason = Some("mailbox cleaned".into());
        cleared.detail = Some(json!({"by": "dana", "level": 80}));
        let mut refresh = AuditEvent::new(EventKind::InventoryRefresh, 6);
        refresh.detail = Some(json!({
            "source": "file:/srv/inventory.json", "digest": "sha256:bb", "entities": 12,
            "previous_digest": "sha256:aa",
        }));
        let expected = [
            (verdict, "review verdict `wrong` on decision 7 by dana"),
            (reload, "policy reload applied: sha256:aa → sha256:bb"),
            (
                shadow,
                "shadow policy would hold `edr.isolate_host` (enforced: allow)",
            ),
            (tight, "category `containment` tightened: review overdue"),
            (
                cleared,
                "taint of agent `responder` cleared by dana: mailbox cleaned",
            ),
            (
                refresh,
                "inventory from file:/srv/inventory.json refreshed: 12 entities, sha256:aa → sha256:bb",
            ),
        ];
        for (i, (event, message)) in expected.iter().enumerate() {
            let r = record(
                &source,
                LeafRef {
                    index: i as u64,
                    leaf_hash: "00",
                    event,
                    effect: None,
                },
            );
            assert_eq!(r["class_uid"], 0);
            assert_eq!(r["message"], *message);
            assert_eq!(
                r["unmapped"]["warden"]["event_kind"],
                event.kind.unwrap().as_str()
            );
        }
    }

    #[test]
    fn ocsf_records_for_every_kind_of_event() {
        let source = Source {
            log_name: "warden.local/ledger",
            product_version: "0.1.0",
        };
        let records: Vec<Value> = events()
            .iter()
            .enumerate()
            .map(|(i, (event, effect))| {
                record(
                    &source,
                    LeafRef {
                        index: i as u64,
                        leaf_hash: &format!("{i:064x}"),
                        event,
                        effect: *effect,
                    },
                )
            })
            .collect();
        insta::assert_json_snapshot!("ocsf_records", records);
        for r in &records {
            let class = r["class_uid"].as_u64().unwrap();
            let activity = r["activity_id"].as_u64().unwrap();
            assert_eq!(r["type_uid"].as_u64().unwrap(), class * 100 + activity);
        }
    }
}
