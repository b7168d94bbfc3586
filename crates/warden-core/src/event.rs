//! Audit events: what warden hands its ledger.
//!
//! One flat structure for every kind of event keeps the leaf encoding simple to document and to
//! verify: fields that do not apply are absent, never empty strings. The ledger's leaf encoding
//! (`warden_ledger::leaf`, `docs/ledger.md`) is this structure's canonical JSON with the sensitive
//! fields (`args`, `args_digest`, `rationale`, `detail.sensitive`) replaced by salted hashes.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A tool call and warden's decision on it, written before anything is forwarded.
    Decision,
    /// What the upstream answered to an authorised call.
    Outcome,
    /// A tool was pinned (first sight or `warden tools pin`).
    ToolPinned,
    /// A tool's upstream definition no longer matches its pin: withheld.
    ToolWithheld,
    /// warden started with this configuration and policy.
    ConfigLoaded,
    /// A detection: injected text in a result, an anomaly, a guardrail hit. Exported to a SIEM
    /// as an OCSF Detection Finding; `detail` carries the detector's own fields.
    Finding,
    /// The sealed content of an earlier leaf (`detail.index`) was deleted; the leaf and every
    /// proof over it stay valid, only the readable content is gone.
    Redaction,
    /// A step of the human gate on a held call: asked, notified, approved, denied, expired,
    /// executed (`detail.step`), with who and why.
    Approval,
    /// A kill switch was set on a scope (`detail.scope`), by a human or `monitor:<trigger>`,
    /// with the evidence that made it.
    Halt,
    /// A halted scope was resumed by an authorised human, with why.
    Resume,
    /// A reviewer's verdict on a sampled decision (`detail.decision_index`, `detail.verdict`
    /// = `correct` / `wrong`, `detail.note`, `detail.reviewer`).
    ReviewVerdict,
    /// The running gateway reloaded its policy (SIGHUP): `detail.old` and `detail.new` policy
    /// hashes, `detail.applied`, and the errors when it was refused.
    PolicyReload,
    /// The shadow policy set decided a call differently from the enforced one (recorded only;
    /// the enforced decision stands).
    ShadowDiff,
    /// A category's allowed calls started (`detail.state = "tightened"`) or stopped
    /// (`"relaxed"`) needing approval because its review is overdue or its error bound is over
    /// its owner's tolerance.
    ReviewTightening,
    /// An authorised human cleared an agent's taint (`principal`) before it expired, with
    /// why (`reason`); `detail.by`, and the taint that was in force: `level`, `source`,
    /// `session`, `since_ms`, `until_ms`.
    TaintCleared,
    /// The live inventory changed and its entities decide from here on: `detail.source`,
    /// `detail.digest` (SHA-256 of the bytes read), `detail.entities` (how many),
    /// `detail.previous_digest` (of the entities in force before); `policy_version` is the
    /// version that now decides.
    InventoryRefresh,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Decision => "decision",
            EventKind::Outcome => "outcome",
            EventKind::ToolPinned => "tool_pinned",
            EventKind::ToolWithheld => "tool_withheld",
            EventKind::ConfigLoaded => "config_loaded",
            EventKind::Finding => "finding",
            EventKind::Redaction => "redaction",
            EventKind::Approval => "approval",
            EventKind::Halt => "halt",
            EventKind::Resume => "resume",
            EventKind::ReviewVerdict => "review_verdict",
            EventKind::PolicyReload => "policy_reload",
            EventKind::ShadowDiff => "shadow_diff",
            EventKind::ReviewTightening => "review_tightening",
            EventKind::TaintCleared => "taint_cleared",
            EventKind::InventoryRefresh => "inventory_refresh",
        }
    }

    /// Every kind, in declaration order.
    pub const ALL: [EventKind; 16] = [
        EventKind::Decision,
        EventKind::Outcome,
        EventKind::ToolPinned,
        EventKind::ToolWithheld,
        EventKind::ConfigLoaded,
        EventKind::Finding,
        EventKind::Redaction,
        EventKind::Approval,
        EventKind::Halt,
        EventKind::Resume,
        EventKind::ReviewVerdict,
        EventKind::PolicyReload,
        EventKind::ShadowDiff,
        EventKind::ReviewTightening,
        EventKind::TaintCleared,
        EventKind::InventoryRefresh,
    ];

    /// The kind named `name` (as `as_str` writes it).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AuditEvent {
    pub kind: Option<EventKind>,
    /// Milliseconds since the Unix epoch.
    pub time_ms: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// The canonical arguments (see `canonical_json`). Sealed in the ledger: the leaf commits to
    /// a salted hash, so the arguments can later be redacted without breaking any proof.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args: Option<Value>,
    /// `sha256:<hex>` of the canonical arguments. Sealed like `args`: an unsalted hash of
    /// guessable arguments would reveal them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args_digest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_version: Option<String>,
    /// The pending request a held call became.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The agent's own words for why it made the call. Sealed: it may quote personal data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rationale: Option<String>,
    /// `sha256:<hex>` of the canonical upstream result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_digest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_error: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_us: Option<u64>,
    /// Kind-specific fields. A `sensitive` member, if any, is sealed like `args`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<Value>,
}

impl AuditEvent {
    pub fn new(kind: EventKind, time_ms: i64) -> Self {
        Self {
            kind: Some(kind),
            time_ms,
            ..Self::default()
        }
    }

    /// The reason as the decision gave it: `detail.sensitive.reason` where the leaf sealed it
    /// (a reason that quotes what the call carried), else the reason in the clear. After a
    /// redaction, only the clear one is left.
    pub fn reason_in_full(&self) -> Option<&str> {
        self.detail
            .as_ref()
            .and_then(|d| d.pointer("/sensitive/reason"))
            .and_then(|r| r.as_str())
            .or(self.reason.as_deref())
    }
}
