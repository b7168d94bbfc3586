//! The console's only view of approvals: the `ApprovalDesk` trait and the plain data it returns.
//!
//! The console renders and forwards; it never decides who may answer. Every rule about answers
//! (category approvers, requester ≠ approver, two different people for two-person requests,
//! expiry) lives behind `decide`, so there is one place that enforces them and the web layer
//! cannot drift from the CLI or any other front. The methods are synchronous because the
//! implementations are storage-backed; the console calls them on blocking tasks.
//!
//! Clearing an agent's taint follows the same rule: the console passes the signed-in approver,
//! the reason and the record the page showed to `clear_taint`, and the desk checks that record
//! is still the newest in force and records the clear in the ledger before it clears, exactly
//! as `warden taint clear` does.

use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use warden_core::{ApprovalStatus, Judgement, TaintRecord, Verdict};

/// Where held calls live. Implemented by the gateway over its store; tests use an in-memory fake.
pub trait ApprovalDesk: Send + Sync + 'static {
    /// The requests still waiting for an answer that match `query`, oldest first, at most
    /// `query.limit` after `query.after`, with how many match in all and where the next page
    /// starts. The desk searches every waiting request (page by page, each page bounded), so a
    /// match behind a long queue is found.
    fn pending(&self, query: &PendingQuery) -> Result<PendingPage, DeskError>;
    /// One request in any state; `None` when the id is unknown.
    fn request(&self, id: &str) -> Result<Option<RequestView>, DeskError>;
    /// Records an approver's answer. The desk enforces who may answer (category approvers,
    /// requester ≠ approver, two different people for two-person requests, expiry) and returns
    /// the request's new state or a refusal the console shows to the human.
    fn decide(
        &self,
        id: &str,
        approver: &str,
        verdict: Verdict,
        reason: &str,
    ) -> Result<RequestView, DeskError>;
    /// The latest decisions that match `query`, newest first, at most `query.limit`, older
    /// than `query.after` when it is set. The desk reads a bounded number of decisions per
    /// page, never the whole ledger; the page says where the next (older) one starts.
    fn recent_decisions(&self, query: &DecisionQuery) -> Result<DecisionPage, DeskError>;
    /// One decision as a reviewer judges it, with the verdicts given on it so far; `None` when
    /// the leaf is unknown or not a decision.
    fn review(&self, decision_index: u64) -> Result<Option<ReviewView>, DeskError>;
    /// Records a reviewer's verdict on the decision at leaf `decision_index`. The desk enforces
    /// who may review it (an approver of its category) with the same code as
    /// `warden review verdict`, and records it as a `review_verdict` event.
    fn record_verdict(
        &self,
        decision_index: u64,
        reviewer: &str,
        judgement: Judgement,
        note: &str,
    ) -> Result<VerdictView, DeskError>;
    /// One page of the audit events of one agent session, in log order: the first, or the
    /// one `after` (a [`Paged::next`] of this session's trail) starts.
    fn session_trail(
        &self,
        session: &str,
        after: Option<&str>,
    ) -> Result<Paged<DecisionView>, DeskError>;
    /// One page of the agents whose taint is in force now, by agent, each with the record that
    /// counts (the highest level) and the newest record in force, which a clear names: the
    /// first page, or the one `after` (a [`Paged::next`] of this listing) starts.
    fn tainted_agents(&self, after: Option<&str>) -> Result<Paged<TaintView>, DeskError>;
    /// An approver clears an agent's taint before it ends, as they were shown it: `record` is
    /// the newest record in force on the page ([`TaintView::record`]). The desk refuses when
    /// the agent's taint changed since (a newer record, one ended), and an empty reason,
    /// recording and clearing nothing; otherwise it records the clear in the audit log (who,
    /// why, what was in force, the record named) before it clears `record` and the agent's
    /// older records, never a newer one. `None` when the agent has no taint in force (nothing
    /// recorded, nothing changed).
    fn clear_taint(
        &self,
        agent: &str,
        record: TaintRecord,
        approver: &str,
        reason: &str,
    ) -> Result<Option<TaintCleared>, DeskError>;
    /// An approver halts `scope` (`session:<agent>:<session>`, `agent:<agent>`,
    /// `category:<category>` or `global`): recorded in the audit log before it is stored, and
    /// the scope's waiting requests expire, exactly as `warden halt` does. Whether it was set
    /// (`false`: the scope was already halted). A scope that halts nothing, an approver not
    /// configured now or an empty reason is refused.
    fn halt(&self, scope: &str, approver: &str, reason: &str) -> Result<bool, DeskError>;
    /// An approver lifts the halt on `scope`, recorded with the credentials the serving
    /// configuration holds for them, exactly as `warden resume` does. Refused when nothing is
    /// halted there.
    fn resume(&self, scope: &str, approver: &str, reason: &str) -> Result<Resumed, DeskError>;
    /// An approver deletes the sealed content (arguments, rationale) of leaf `index`, on the
    /// record, exactly as `warden audit redact` does: the `redaction` event (who, why, on whose
    /// request) is appended before the content goes. Refused for a leaf that does not exist or
    /// holds nothing sealed, an approver not configured now, or an empty reason.
    fn redact(
        &self,
        index: u64,
        approver: &str,
        reason: &str,
        requested_by: Option<&str>,
    ) -> Result<Redacted, DeskError>;
    /// Where sign-in sessions live when they must outlive this process or be seen by other
    /// replicas; `None` keeps them in the console's memory (a restart signs everyone out).
    fn session_table(&self) -> Option<Arc<dyn SessionTable>> {
        None
    }
}

/// What a redaction removed, and the leaf that records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redacted {
    /// The sealed fields deleted (`args`, `rationale`, …).
    pub removed: Vec<String>,
    /// The leaf of the `redaction` event.
    pub recorded: u64,
}

/// A halt an approver lifted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resumed {
    /// The scope resumed, as warden writes it.
    pub scope: String,
    /// Who or what had halted it (an approver, or warden's monitor).
    pub halted_by: String,
    /// Why it had been halted.
    pub halt_reason: String,
}

/// One page of a listing that can grow without bound.
#[derive(Clone, Debug, PartialEq)]
pub struct Paged<T> {
    pub rows: Vec<T>,
    /// Where the next page starts: an opaque token for the page's "next" link, which the desk
    /// checks when it comes back; `None` on the last page.
    pub next: Option<String>,
}

impl<T> Default for Paged<T> {
    fn default() -> Self {
        Self {
            rows: Vec::new(),
            next: None,
        }
    }
}

/// A sign-in session: who signed in and the CSRF token of their forms.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub approver_id: String,
    pub approver_name: String,
    pub csrf: String,
}

impl std::fmt::Debug for SessionRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionRecord")
            .field("approver_id", &self.approver_id)
            .field("approver_name", &self.approver_name)
            .field("csrf", &"<redacted>")
            .finish()
    }
}

/// Sign-in sessions shared by the replicas. Keys are the SHA-256 of the cookie value, never
/// the cookie. The methods block (they are storage-backed); the console calls them on
/// blocking tasks.
pub trait SessionTable: Send + Sync + 'static {
    /// Stores a new session under `key`, live for `ttl`.
    fn start(&self, key: [u8; 32], session: &SessionRecord, ttl: Duration)
    -> Result<(), DeskError>;
    /// The session under `key` when it is live and was written by this table's owner; `None`
    /// when it is unknown, expired, or a row nobody holding the key wrote.
    fn live(&self, key: [u8; 32]) -> Result<Option<SessionRecord>, DeskError>;
    /// Ends the session under `key`.
    fn end(&self, key: [u8; 32]) -> Result<(), DeskError>;
}

/// A held tool call as an approver needs to judge it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequestView {
    pub id: String,
    /// Unix milliseconds.
    pub created_ms: i64,
    /// Unix milliseconds; after this the request can only expire, never be approved.
    pub expires_ms: i64,
    pub status: ApprovalStatus,
    /// The agent that asked (`Agent::"responder"`).
    pub principal: String,
    /// The agent session it asked in; links to that session's trail.
    pub session: String,
    /// `<server>.<tool>`.
    pub tool: String,
    pub category: String,
    pub stakes: String,
    /// Exactly the arguments that would be forwarded. Untrusted: written by the agent.
    pub args: serde_json::Value,
    /// Digest of the canonical arguments, so an approval is bound to these bytes.
    pub args_digest: String,
    /// The rule that asked for approval, and the person accountable for it.
    pub rule: String,
    pub owner: String,
    /// Hash of the policy set that held the call.
    pub policy_version: String,
    /// 1, or 2 for two-person requests.
    pub approvals_needed: u8,
    pub answers: Vec<AnswerView>,
    /// The agent's own reason for the call. Untrusted, and never used to decide.
    pub rationale: Option<String>,
    /// What the agent read in that session before asking. Untrusted: tool output.
    pub evidence: Vec<EvidenceView>,
    /// The entities the arguments name (a host, a user, an incident), with what the inventory
    /// says of them.
    pub targets: Vec<TargetView>,
    /// From the tool's catalog entry: whether its effect can be undone; `None` when the tool is
    /// no longer configured.
    pub reversible: Option<bool>,
    /// From the tool's catalog entry: how its effect is undone (`undo`), when it says.
    pub undo: Option<String>,
    /// Whether the escalation contact was told that it is about to expire.
    #[serde(default)]
    pub escalated: bool,
}

/// An entity an argument names, as the inventory in force describes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetView {
    /// The argument that names it (`host`).
    pub argument: String,
    /// The entity type (`Host`).
    pub entity_type: String,
    /// The id as given in the arguments. Untrusted: written by the agent.
    pub id: String,
    /// The inventory's attributes (name, value as JSON text), in name order; `None` when the
    /// inventory does not know the id.
    pub attributes: Option<Vec<(String, String)>>,
}

/// One approver's answer to a request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnswerView {
    pub approver: String,
    #[serde(rename = "approve")]
    pub verdict: Verdict,
    pub reason: String,
    pub at_ms: i64,
}

/// A tool result the agent saw before asking, as recorded in the audit log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvidenceView {
    /// Audit log index of the event that recorded it.
    pub index: u64,
    pub tool: String,
    /// Untrusted: derived from tool output.
    pub summary: String,
    /// What the screen flagged in it (suspected injection and the like).
    pub findings: Vec<String>,
}

/// One audit event, for the decisions list and session trails.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecisionView {
    /// Audit log index.
    pub index: u64,
    pub time_ms: i64,
    /// Event kind (`decision`, `outcome`, `approval`, …).
    pub kind: String,
    pub principal: String,
    pub session: String,
    pub tool: String,
    /// `allow`, `hold`, `deny`, …; `None` for events that decide nothing.
    pub decision: Option<String>,
    /// `None` for events no rule produced.
    pub rule: Option<String>,
    pub owner: Option<String>,
    /// Untrusted: written by the agent.
    pub args: serde_json::Value,
    pub detail: String,
    /// The tool's category, when the event names one.
    pub category: Option<String>,
    /// For a held call: the approval request's recorded steps after the hold, oldest first
    /// (`approved`, `executed`, `denied`, `expired`); empty while it waits or for other events.
    pub steps: Vec<String>,
}

/// What the recent-decisions page asks for. Every field but `limit` narrows; `None` matches all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DecisionQuery {
    /// The agent principal, exactly.
    pub agent: Option<String>,
    /// `<server>.<tool>`, exactly.
    pub tool: Option<String>,
    pub category: Option<String>,
    /// `allow`, `hold`, `deny`.
    pub decision: Option<String>,
    /// Case-insensitive text searched in the tool, agent, session, rule, arguments and detail.
    pub text: Option<String>,
    pub limit: usize,
    /// Only decisions older than where this token (a [`DecisionPage::next`] of the same
    /// filters) says the page before ended.
    pub after: Option<String>,
}

/// What the pending page asks for. Every field but `limit` narrows; `None` matches all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PendingQuery {
    /// The agent principal, exactly.
    pub agent: Option<String>,
    /// `<server>.<tool>`, exactly.
    pub tool: Option<String>,
    pub category: Option<String>,
    /// Case-insensitive text searched in the id, tool, agent, session, rule, category,
    /// arguments and the agent's rationale.
    pub text: Option<String>,
    /// The most requests returned.
    pub limit: usize,
    /// Only requests after where this token (a [`PendingPage::next`] of the same filters)
    /// says the page before ended.
    pub after: Option<String>,
}

impl PendingQuery {
    /// Whether any field narrows.
    pub fn narrows(&self) -> bool {
        self.agent.is_some()
            || self.tool.is_some()
            || self.category.is_some()
            || self.text.is_some()
    }

    /// Whether a request passes every field that narrows.
    pub fn admits(&self, r: &RequestView) -> bool {
        let exact = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        exact(&self.agent, &r.principal)
            && exact(&self.tool, &r.tool)
            && exact(&self.category, &r.category)
            && self.text.as_deref().is_none_or(|t| {
                let t = t.to_lowercase();
                [
                    r.id.as_str(),
                    &r.tool,
                    &r.principal,
                    &r.session,
                    &r.rule,
                    &r.category,
                    &r.args.to_string(),
                    r.rationale.as_deref().unwrap_or_default(),
                ]
                .iter()
                .any(|field| field.to_lowercase().contains(&t))
            })
    }
}

/// The waiting requests found for a [`PendingQuery`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PendingPage {
    /// The oldest matches, at most the query's limit.
    pub rows: Vec<RequestView>,
    /// How many waiting requests match, the ones not returned included.
    pub matched: usize,
    /// How many requests wait in all.
    pub waiting: usize,
    /// Where the next page of matches starts; `None` on the last.
    pub next: Option<String>,
}

/// The decisions found for a query.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DecisionPage {
    pub rows: Vec<DecisionView>,
    /// How many of the newest decisions were read to find them.
    pub searched: usize,
    /// Whether the search stopped at its bound with older decisions left unread.
    pub truncated: bool,
    /// Where the next (older) page starts: after the last decision shown, or after the last
    /// one searched when the search stopped at its bound; `None` when no older one is left.
    pub next: Option<String>,
}

/// A decision under review.
#[derive(Clone, Debug, PartialEq)]
pub struct ReviewView {
    pub decision: DecisionView,
    /// Verdicts already given on it, oldest first.
    pub verdicts: Vec<VerdictView>,
}

/// A reviewer's recorded verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerdictView {
    /// The `review_verdict` event's leaf index.
    pub index: u64,
    pub reviewer: String,
    pub judgement: Judgement,
    pub note: String,
    pub at_ms: i64,
}

/// An agent's taint in force: it read text the injection screen flagged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaintView {
    /// The agent principal. Untrusted: names come from the agent's credentials, not a person.
    pub agent: String,
    /// The screen's score of what it read, 0 to 100.
    pub level: i64,
    /// The tool whose output was flagged. Untrusted: named by an upstream.
    pub source: String,
    /// The agent session it read in, kept as evidence. Untrusted.
    pub session: String,
    /// When it read it (Unix milliseconds).
    pub since_ms: i64,
    /// When the taint ends unless cleared (Unix milliseconds).
    pub until_ms: i64,
    /// The newest of the agent's records in force: what a clear from this view names, so a
    /// read recorded after the view was drawn is not cleared by it.
    pub record: TaintRecord,
    /// How many of the agent's records are in force.
    pub records: u32,
}

/// What a clear stopped.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaintCleared {
    /// The record that counted when it was cleared.
    pub taint: TaintView,
    /// How many of the agent's records were in force and stopped counting.
    pub records: u32,
}

/// Why the desk did not do what was asked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DeskError {
    #[error("no such request")]
    NotFound,
    /// The answer breaks a rule; the text is shown to the approver as is (escaped).
    #[error("{0}")]
    Refused(String),
    /// A failure inside warden that trying again does not mend (a corrupt ledger, a record
    /// that cannot be read): 500. Logged, never shown.
    #[error("approval desk failure: {0}")]
    Internal(String),
    /// warden's store is unavailable for now (PostgreSQL down, every connection busy, a
    /// serialization failure, SQLite busy): 503 with `Retry-After`. Logged, never shown.
    #[error("approval desk unavailable: {0}")]
    Unavailable(String),
    /// A page link (`after`) that is not one the desk made for this listing: altered, cut
    /// short, or from other filters. Nothing is read; the text is shown as is.
    #[error("{0}")]
    BadCursor(String),
}
