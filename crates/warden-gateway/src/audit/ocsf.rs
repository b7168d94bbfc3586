//! Ledger events as OCSF 1.x records, one JSON object per event, for SIEMs.
//!
//! Design choice: the OCSF record is a *projection* of a ledger leaf, never the record of
//! truth. Every record carries the leaf's index (`metadata.sequence`) and hash (`metadata.uid`,
//! and again under `unmapped.warden`), so a SIEM copy can be checked against the log with
//! `warden audit prove`, gaps show up as missing sequence numbers, and a collector that is sent
//! a record twice (the streaming export is at-least-once) can drop the copy by `metadata.uid`.
//!
//! Every event kind has a class of its own kind of thing (OCSF 1.8.0; the reasons are in
//! `docs/operations.md`):
//!
//! | event kind | OCSF class (activity) |
//! |---|---|
//! | `decision`, `outcome` | API Activity 6003 (Read / Update / Other), profile `security_control` |
//! | `finding`, `tool_withheld`, `shadow_diff` | Detection Finding 2004 (Create) |
//! | `config_loaded`, `policy_reload` | Application Lifecycle 6002 (Start / Update) |
//! | `approval` | Entity Management 3004: the approval request (Create when asked, Update after) |
//! | `tool_pinned` | Entity Management 3004: the tool definition (Create on first use, Update) |
//! | `halt`, `resume` | Entity Management 3004: the halted scope (Suspend / Resume) |
//! | `review_verdict` | Entity Management 3004: the reviewed decision (Update) |
//! | `review_tightening` | Entity Management 3004: the category's approval requirement (Enable / Disable) |
//! | `taint_cleared` | Entity Management 3004: the agent's taint (Deactivate) |
//! | `inventory_refresh` | Entity Management 3004: the inventory (Update) |
//! | `redaction` | Entity Management 3004: the leaf's sealed content (Delete) |
//!
//! Nothing secret reaches a record: events carry no tokens or credentials (the ledger never
//! holds them), and approvers and reviewers appear by their configured id only.

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
    let mut profiles: &[&str] = &[];
    let mut r = match e.kind {
        Some(EventKind::Decision) => {
            profiles = &["security_control"];
            decision(source, leaf)
        }
        Some(EventKind::Outcome) => {
            profiles = &["security_control"];
            outcome(source, leaf)
        }
        Some(EventKind::Finding | EventKind::ToolWithheld | EventKind::ShadowDiff) => {
            finding(source, leaf)
        }
        Some(EventKind::ConfigLoaded | EventKind::PolicyReload) => lifecycle(source, e),
        Some(
            EventKind::ToolPinned
            | EventKind::Redaction
            | EventKind::Approval
            | EventKind::Halt
            | EventKind::Resume
            | EventKind::ReviewVerdict
            | EventKind::ReviewTightening
            | EventKind::TaintCleared
            | EventKind::InventoryRefresh,
        ) => entity_management(source, e),
        None => base(),
    };
    r.insert("time".into(), json!(e.time_ms));
    r.insert("metadata".into(), metadata(source, leaf, profiles));
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

const SUCCESS: (u32, &str) = (1, "Success");
const FAILURE: (u32, &str) = (2, "Failure");

fn status(r: &mut Map<String, Value>, s: (u32, &str)) {
    r.insert("status_id".into(), json!(s.0));
    r.insert("status".into(), json!(s.1));
}

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

/// The agent that made a call: an OCSF user of type Other ("AI Agent"), with its session.
fn actor(e: &AuditEvent) -> Value {
    let mut actor = Map::new();
    if let Some(p) = &e.principal {
        actor.insert(
            "user".into(),
            json!({"uid": p, "name": p, "type_id": 99, "type": "AI Agent"}),
        );
    }
    if let Some(s) = &e.session {
        actor.insert("session".into(), json!({"uid": s}));
    }
    if actor.is_empty() {
        return warden_actor();
    }
    Value::Object(actor)
}

/// warden itself, for what the gateway did on its own (an expiry, a pin on first use).
fn warden_actor() -> Value {
    json!({"app_name": "warden"})
}

/// A person named by their configured id (an approver, a reviewer), or warden itself for
/// `monitor:<trigger>` and other automatic actors.
fn human_or_warden(by: Option<&str>) -> Value {
    match by {
        Some(by) if !by.is_empty() && !by.contains(':') && by != "first-use" => {
            json!({"user": {"uid": by, "name": by, "type_id": 1, "type": "User"}})
        }
        Some(by) if !by.is_empty() => json!({"app_name": "warden", "app_uid": by}),
        _ => warden_actor(),
    }
}

fn server_of(tool: &str) -> &str {
    tool.split_once('.').map_or(tool, |(s, _)| s)
}

/// The API a tool call reaches; `request_uid` names the call (OCSF's request requires a uid).
fn api(e: &AuditEvent, request_uid: Option<String>) -> Value {
    let tool = e.tool.as_deref().unwrap_or("unknown");
    let mut api = Map::new();
    api.insert("operation".into(), json!(tool));
    api.insert("service".into(), json!({"name": server_of(tool)}));
    if let Some(uid) = request_uid {
        let mut request = Map::new();
        request.insert("uid".into(), json!(uid));
        if let Some(args) = &e.args {
            request.insert("data".into(), args.clone());
        }
        api.insert("request".into(), Value::Object(request));
    }
    Value::Object(api)
}

/// The policy rule that decided, when one did (OCSF's policy needs a name or uid).
fn policy(e: &AuditEvent) -> Option<Value> {
    let rule = e.rule.as_ref()?;
    let mut p = Map::new();
    p.insert("uid".into(), json!(rule));
    p.insert("name".into(), json!(rule));
    if let Some(v) = &e.policy_version {
        p.insert("version".into(), json!(v));
    }
    if let Some(reason) = e.reason_in_full() {
        p.insert("desc".into(), json!(reason));
    }
    if let Some(category) = &e.category {
        p.insert("group".into(), json!({"name": category}));
    }
    if let Some(owner) = &e.owner {
        p.insert("data".into(), json!({"owner": owner}));
    }
    p.insert("is_applied".into(), json!(true));
    Some(Value::Object(p))
}

fn endpoints(r: &mut Map<String, Value>, e: &AuditEvent) {
    let tool = e.tool.as_deref().unwrap_or("unknown");
    r.insert(
        "src_endpoint".into(),
        json!({"name": e.principal.as_deref().unwrap_or("unknown")}),
    );
    r.insert("dst_endpoint".into(), json!({"svc_name": server_of(tool)}));
}

fn decision(source: &Source<'_>, leaf: LeafRef<'_>) -> Map<String, Value> {
    let e = leaf.event;
    let verdict = e.decision.as_deref().unwrap_or("unknown");
    let (severity, action, disposition) = match verdict {
        "allow" => (INFORMATIONAL, (1, "Allowed"), (1, "Allowed")),
        "deny" => (MEDIUM, (2, "Denied"), (2, "Blocked")),
        "hold" => (LOW, (99, "Held for approval"), (14, "Delayed")),
        _ => (MEDIUM, (0, "Unknown"), (0, "Unknown")),
    };
    let mut r = api_class(leaf.effect, severity);
    r.insert("action_id".into(), json!(action.0));
    r.insert("action".into(), json!(action.1));
    r.insert("disposition_id".into(), json!(disposition.0));
    r.insert("disposition".into(), json!(disposition.1));
    r.insert("actor".into(), actor(e));
    let uid = e
        .request_id
        .clone()
        .unwrap_or_else(|| format!("{}#{}", source.log_name, leaf.index));
    r.insert("api".into(), api(e, Some(uid)));
    endpoints(&mut r, e);
    if let Some(p) = policy(e) {
        r.insert(
            "authorizations".into(),
            json!([{"decision": verdict, "policy": p.clone()}]),
        );
        r.insert("policy".into(), p);
    } else {
        r.insert("authorizations".into(), json!([{"decision": verdict}]));
    }
    // A refusal is what a SOC alerts on; an allowed call is not.
    r.insert("is_alert".into(), json!(verdict == "deny"));
    status(
        &mut r,
        if verdict == "allow" || verdict == "hold" {
            SUCCESS
        } else {
            FAILURE
        },
    );
    if let Some(reason) = e.reason_in_full() {
        r.insert("message".into(), json!(reason));
    }
    r
}

fn outcome(source: &Source<'_>, leaf: LeafRef<'_>) -> Map<String, Value> {
    let e = leaf.event;
    let failed = e.is_error.unwrap_or(false);
    let mut r = api_class(leaf.effect, if failed { LOW } else { INFORMATIONAL });
    status(&mut r, if failed { FAILURE } else { SUCCESS });
    r.insert("action_id".into(), json!(1));
    r.insert("action".into(), json!("Allowed"));
    r.insert("disposition_id".into(), json!(1));
    r.insert("disposition".into(), json!("Allowed"));
    r.insert("actor".into(), actor(e));
    let uid = e
        .detail
        .as_ref()
        .and_then(|d| d.get("decision_index"))
        .map(|i| format!("{}#{i}", source.log_name));
    r.insert("api".into(), api(e, uid));
    endpoints(&mut r, e);
    if let Some(p) = policy(e) {
        r.insert("policy".into(), p);
    }
    if let Some(us) = e.latency_us {
        r.insert("duration".into(), json!(us / 1000));
    }
    r.insert(
        "message".into(),
        json!(format!(
            "`{}` {}",
            e.tool.as_deref().unwrap_or("unknown"),
            if failed {
                "answered with an error"
            } else {
                "answered"
            }
        )),
    );
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
        _ if e.kind == Some(EventKind::ShadowDiff) => INFORMATIONAL,
        _ => MEDIUM,
    };
    let (title, analytic, kind) = match e.kind {
        Some(EventKind::ToolWithheld) => (
            "upstream tool definition changed: tool withheld until re-pinned".to_owned(),
            "tool-pin".to_owned(),
            "Tool Definition Changed",
        ),
        Some(EventKind::ShadowDiff) => (
            format!(
                "shadow policy would {} `{}` (enforced: {})",
                detail_str(e, "shadow"),
                e.tool.as_deref().unwrap_or_default(),
                detail_str(e, "enforced")
            ),
            detail
                .and_then(|d| d.get("shadow_rule"))
                .and_then(Value::as_str)
                .unwrap_or("shadow-policy")
                .to_owned(),
            "Shadow Policy Difference",
        ),
        _ => (
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
            "Injection or Anomaly",
        ),
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
            "types": [kind],
            "analytic": {"name": analytic, "type_id": 1, "type": "Rule"},
        }),
    );
    // Finding's own status: New.
    r.insert("status_id".into(), json!(1));
    r.insert("status".into(), json!("New"));
    // A shadow difference is for the policy's owner to read, not an alert.
    r.insert(
        "is_alert".into(),
        json!(e.kind != Some(EventKind::ShadowDiff)),
    );
    let mut evidence = Map::new();
    if e.tool.is_some() {
        evidence.insert("api".into(), api(e, None));
    }
    if e.principal.is_some() {
        evidence.insert("actor".into(), actor(e));
    }
    if let Some(d) = detail {
        evidence.insert("data".into(), d.clone());
    }
    if !evidence.is_empty() {
        r.insert("evidences".into(), json!([evidence]));
    }
    r.insert("message".into(), json!(title));
    r
}

fn lifecycle(source: &Source<'_>, e: &AuditEvent) -> Map<String, Value> {
    let reload = e.kind == Some(EventKind::PolicyReload);
    let applied = e.detail.as_ref().and_then(|d| d.get("applied")) == Some(&json!(true));
    let mut r = class(
        (6, "Application Activity"),
        (6002, "Application Lifecycle"),
        if reload { (8, "Update") } else { (3, "Start") },
        if reload && !applied {
            MEDIUM
        } else {
            INFORMATIONAL
        },
    );
    r.insert(
        "app".into(),
        json!({"name": "warden", "vendor_name": "warden", "version": source.product_version}),
    );
    let message = if reload {
        status(&mut r, if applied { SUCCESS } else { FAILURE });
        format!(
            "policy reload {}: {} → {}",
            if applied { "applied" } else { "refused" },
            detail_str(e, "old"),
            detail_str(e, "new")
        )
    } else {
        status(&mut r, SUCCESS);
        format!(
            "warden started with policy {}",
            e.policy_version.as_deref().unwrap_or("unknown")
        )
    };
    r.insert("message".into(), json!(message));
    r
}

/// What an Entity Management record says: the entity, what was done to it, by whom.
struct Managed {
    activity: (u32, &'static str),
    severity: (u32, &'static str),
    status: (u32, &'static str),
    actor: Value,
    entity: Value,
    result: Option<Value>,
    message: String,
}

fn managed(
    uid: impl Into<String>,
    name: impl Into<String>,
    kind: &str,
    data: Option<Value>,
) -> Value {
    let mut m = Map::new();
    m.insert("uid".into(), json!(uid.into()));
    m.insert("name".into(), json!(name.into()));
    m.insert("type".into(), json!(kind));
    if let Some(d) = data {
        m.insert("data".into(), d);
    }
    Value::Object(m)
}

fn detail_value(e: &AuditEvent, key: &str) -> Option<Value> {
    e.detail.as_ref().and_then(|d| d.get(key)).cloned()
}

fn detail_opt(e: &AuditEvent, key: &str) -> Option<String> {
    match e.detail.as_ref().and_then(|d| d.get(key)) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Null) | None => None,
        Some(v) => Some(v.to_string()),
    }
}

fn entity_management(source: &Source<'_>, e: &AuditEvent) -> Map<String, Value> {
    let m = match e.kind {
        Some(EventKind::Approval) => approval(e),
        Some(EventKind::ToolPinned) => {
            let tool = e.tool.clone().unwrap_or_default();
            let by = detail_opt(e, "by");
            let first = by.as_deref() == Some("first-use");
            Managed {
                activity: if first { (1, "Create") } else { (3, "Update") },
                severity: INFORMATIONAL,
                status: SUCCESS,
                actor: human_or_warden(by.as_deref()),
                entity: managed(
                    tool.clone(),
                    tool.clone(),
                    "MCP Tool Definition",
                    Some(json!({"digest": detail_value(e, "digest")})),
                ),
                result: None,
                message: format!(
                    "tool `{tool}` pinned to its upstream definition{}",
                    if first { " on first use" } else { "" }
                ),
            }
        }
        Some(EventKind::Halt | EventKind::Resume) => {
            let halt = e.kind == Some(EventKind::Halt);
            let scope = detail_str(e, "scope");
            let by = detail_opt(e, "by");
            Managed {
                activity: if halt {
                    (12, "Suspend")
                } else {
                    (13, "Resume")
                },
                severity: if halt { HIGH } else { LOW },
                status: SUCCESS,
                actor: human_or_warden(by.as_deref()),
                entity: managed(scope.clone(), scope.clone(), "Halt Scope", None),
                result: None,
                message: format!(
                    "{} `{scope}` by {}: {}",
                    if halt { "halted" } else { "resumed" },
                    by.as_deref().unwrap_or("?"),
                    e.reason.as_deref().unwrap_or_default()
                ),
            }
        }
        Some(EventKind::ReviewVerdict) => {
            let index = detail_str(e, "decision_index");
            let verdict = detail_str(e, "verdict");
            let reviewer = detail_opt(e, "reviewer");
            Managed {
                activity: (3, "Update"),
                severity: if verdict == "wrong" {
                    MEDIUM
                } else {
                    INFORMATIONAL
                },
                status: SUCCESS,
                actor: human_or_warden(reviewer.as_deref()),
                entity: managed(
                    format!("{}#{index}", source.log_name),
                    format!("decision {index}"),
                    "Decision",
                    None,
                ),
                result: Some(managed(
                    format!("{}#{index}", source.log_name),
                    format!("decision {index}"),
                    "Decision",
                    Some(json!({"verdict": verdict, "note": detail_value(e, "note")})),
                )),
                message: format!(
                    "review verdict `{verdict}` on decision {index} by {}",
                    reviewer.as_deref().unwrap_or("?")
                ),
            }
        }
        Some(EventKind::ReviewTightening) => {
            let category = e.category.clone().unwrap_or_default();
            let state = detail_str(e, "state");
            let tightened = state == "tightened";
            Managed {
                activity: if tightened {
                    (8, "Enable")
                } else {
                    (9, "Disable")
                },
                severity: if tightened { MEDIUM } else { INFORMATIONAL },
                status: SUCCESS,
                actor: warden_actor(),
                entity: managed(
                    format!("approval-requirement:{category}"),
                    category.clone(),
                    "Approval Requirement",
                    None,
                ),
                result: None,
                message: format!(
                    "category `{category}` {state}: {}",
                    e.reason.as_deref().unwrap_or_default()
                ),
            }
        }
        Some(EventKind::TaintCleared) => {
            let agent = e.principal.clone().unwrap_or_default();
            let by = detail_opt(e, "by");
            Managed {
                activity: (11, "Deactivate"),
                severity: LOW,
                status: SUCCESS,
                actor: human_or_warden(by.as_deref()),
                entity: managed(
                    format!("taint:{agent}"),
                    agent.clone(),
                    "Agent Taint",
                    // The record the approver was shown and cleared through, and how many
                    // were in force (absent from clears recorded before clears named one).
                    Some(json!({"level": detail_value(e, "level"),
                        "record": detail_value(e, "record"),
                        "records": detail_value(e, "records")})),
                ),
                result: None,
                message: format!(
                    "taint of agent `{agent}` cleared by {}: {}",
                    by.as_deref().unwrap_or("?"),
                    e.reason.as_deref().unwrap_or_default()
                ),
            }
        }
        Some(EventKind::InventoryRefresh) => {
            let from = detail_str(e, "source");
            Managed {
                activity: (3, "Update"),
                severity: INFORMATIONAL,
                status: SUCCESS,
                actor: warden_actor(),
                entity: managed(
                    from.clone(),
                    from.clone(),
                    "Inventory",
                    Some(json!({"digest": detail_value(e, "digest"),
                                "entities": detail_value(e, "entities")})),
                ),
                result: None,
                message: format!(
                    "inventory from {from} refreshed: {} entities, {} → {}",
                    detail_str(e, "entities"),
                    detail_str(e, "previous_digest"),
                    detail_str(e, "digest")
                ),
            }
        }
        // Redaction, and nothing else reaches here.
        _ => {
            let index = detail_str(e, "index");
            let by = detail_opt(e, "by");
            Managed {
                activity: (4, "Delete"),
                severity: LOW,
                status: SUCCESS,
                actor: human_or_warden(by.as_deref()),
                entity: managed(
                    format!("{}#{index}", source.log_name),
                    format!("leaf {index}"),
                    "Sealed Ledger Content",
                    Some(json!({"fields": detail_value(e, "fields")})),
                ),
                result: None,
                message: format!("sealed content of leaf {index} redacted"),
            }
        }
    };
    let mut r = class(
        (3, "Identity & Access Management"),
        (3004, "Entity Management"),
        m.activity,
        m.severity,
    );
    status(&mut r, m.status);
    r.insert("actor".into(), m.actor);
    r.insert("entity".into(), m.entity);
    if let Some(result) = m.result {
        r.insert("entity_result".into(), result);
    }
    if let Some(reason) = &e.reason {
        r.insert("comment".into(), json!(reason));
    }
    r.insert("message".into(), json!(m.message));
    r
}

/// A step of the human gate: the approval request is the managed entity.
fn approval(e: &AuditEvent) -> Managed {
    let step = detail_str(e, "step");
    let id = e.request_id.clone().unwrap_or_default();
    let tool = e.tool.clone().unwrap_or_default();
    let approver = detail_opt(e, "approver");
    let (activity, severity, status) = match step.as_str() {
        "asked" => ((1, "Create"), INFORMATIONAL, SUCCESS),
        "denied" | "expired" | "escalated" => ((3, "Update"), LOW, SUCCESS),
        "notify-failed" => ((3, "Update"), MEDIUM, FAILURE),
        _ => ((3, "Update"), INFORMATIONAL, SUCCESS),
    };
    let actor = match step.as_str() {
        "approved" | "denied" => human_or_warden(approver.as_deref()),
        _ => warden_actor(),
    };
    let mut data = Map::new();
    data.insert("step".into(), json!(step));
    for (key, value) in [
        ("agent", e.principal.as_ref().map(|v| json!(v))),
        ("session", e.session.as_ref().map(|v| json!(v))),
        ("rule", e.rule.as_ref().map(|v| json!(v))),
        ("category", e.category.as_ref().map(|v| json!(v))),
        ("owner", e.owner.as_ref().map(|v| json!(v))),
    ] {
        if let Some(v) = value {
            data.insert(key.into(), v);
        }
    }
    let entity = managed(
        id.clone(),
        tool.clone(),
        "Approval Request",
        Some(Value::Object(data)),
    );
    let result = e.decision.as_ref().map(|s| {
        managed(
            id.clone(),
            tool.clone(),
            "Approval Request",
            Some(json!({"status": s})),
        )
    });
    let by = match (&approver, step.as_str()) {
        (Some(a), "approved" | "denied") => format!(" by {a}"),
        _ => String::new(),
    };
    Managed {
        activity,
        severity,
        status,
        actor,
        entity,
        result,
        message: format!(
            "approval request `{id}` for `{tool}` by agent `{}`: {step}{by}",
            e.principal.as_deref().unwrap_or("?")
        ),
    }
}

/// An event of no known kind (a newer warden's leaf read by an older one).
fn base() -> Map<String, Value> {
    let mut r = class(
        (0, "Uncategorized"),
        (0, "Base Event"),
        (0, "Unknown"),
        INFORMATIONAL,
    );
    r.insert("message".into(), json!("warden event of an unknown kind"));
    r
}

/// `detail.<key>` as text (strings unquoted), `?` when absent.
fn detail_str(e: &AuditEvent, key: &str) -> String {
    detail_opt(e, key).unwrap_or_else(|| "?".into())
}

fn metadata(source: &Source<'_>, leaf: LeafRef<'_>, profiles: &[&str]) -> Value {
    let e = leaf.event;
    let mut m = Map::new();
    m.insert("version".into(), json!(OCSF_VERSION));
    m.insert(
        "product".into(),
        json!({"name": "warden", "vendor_name": "warden", "version": source.product_version}),
    );
    m.insert("uid".into(), json!(leaf.leaf_hash));
    m.insert("sequence".into(), json!(leaf.index));
    m.insert("log_name".into(), json!(source.log_name));
    if let Some(kind) = e.kind {
        m.insert("event_code".into(), json!(kind.as_str()));
    }
    if !profiles.is_empty() {
        m.insert("profiles".into(), json!(profiles));
    }
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
        Some(EventKind::Approval) => e.request_id.clone(),
        _ => None,
    };
    if let Some(c) = correlation {
        m.insert("correlation_uid".into(), json!(c));
    }
    Value::Object(m)
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

        let mut pinned = AuditEvent::new(EventKind::ToolPinned, t + 8);
        pinned.tool = Some("edr.get_host".into());
        pinned.detail = Some(json!({"digest": "sha256:aa", "by": "first-use"}));

        let mut approved = AuditEvent::new(EventKind::Approval, t + 9);
        approved.principal = Some("responder".into());
        approved.session = Some("sess-1".into());
        approved.tool = Some("idp.disable_account".into());
        approved.rule = Some("disable-account-needs-approval".into());
        approved.request_id = Some("apr_00000000000000aa".into());
        approved.decision = Some("approved".into());
        approved.detail = Some(json!({"step": "approved", "approver": "alice",
                                      "reason": "confirmed phishing", "approvals": 1}));

        let mut halt = AuditEvent::new(EventKind::Halt, t + 10);
        halt.principal = Some("responder".into());
        halt.reason = Some("denial burst".into());
        halt.detail = Some(json!({"scope": "agent:responder", "by": "monitor:denial-burst"}));

        let mut resume = AuditEvent::new(EventKind::Resume, t + 11);
        resume.principal = Some("responder".into());
        resume.reason = Some("checked".into());
        resume.detail = Some(json!({"scope": "agent:responder", "by": "dana"}));

        vec![
            (pinned, None),
            (approved, Some(Effect::Write)),
            (halt, None),
            (resume, None),
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
    fn governance_events_have_classes_of_their_own_and_say_what_happened() {
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
        cleared.detail = Some(json!({"by": "dana", "level": 80, "record": 41, "records": 2}));
        let mut refresh = AuditEvent::new(EventKind::InventoryRefresh, 6);
        refresh.detail = Some(json!({
            "source": "file:/srv/inventory.json", "digest": "sha256:bb", "entities": 12,
            "previous_digest": "sha256:aa",
        }));
        let expected = [
            (
                verdict,
                300403,
                "review verdict `wrong` on decision 7 by dana",
            ),
            (
                reload,
                600208,
                "policy reload applied: sha256:aa → sha256:bb",
            ),
            (
                shadow,
                200401,
                "shadow policy would hold `edr.isolate_host` (enforced: allow)",
            ),
            (
                tight,
                300408,
                "category `containment` tightened: review overdue",
            ),
            (
                cleared,
                300411,
                "taint of agent `responder` cleared by dana: mailbox cleaned",
            ),
            (
                refresh,
                300403,
                "inventory from file:/srv/inventory.json refreshed: 12 entities, sha256:aa → sha256:bb",
            ),
        ];
        for (i, (event, type_uid, message)) in expected.iter().enumerate() {
            let r = record(
                &source,
                LeafRef {
                    index: i as u64,
                    leaf_hash: "00",
                    event,
                    effect: None,
                },
            );
            assert_eq!(r["type_uid"], *type_uid, "{r:#}");
            assert_eq!(r["message"], *message);
            if *type_uid == 300411 {
                // A SIEM sees which record the approver cleared through.
                assert_eq!(r["entity"]["data"]["record"], 41, "{r:#}");
                assert_eq!(r["entity"]["data"]["records"], 2, "{r:#}");
            }
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
