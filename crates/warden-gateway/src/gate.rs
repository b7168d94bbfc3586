//! The human gate around `approval`'s state machine: persisted requests, answers from the CLI and
//! the console, expiry, single use, notifications — and an audit event for every step.
//!
//! A held call returns at once with its request id (or waits up to `approvals.wait_secs`). Once
//! humans approve, the agent retries the *same* call in the *same* session. Before that retry
//! runs, three things must hold, in this order:
//! 1. **The ledger proves the approvals** ([`prove`]): the approval steps recorded for exactly
//!    this request — its arguments and policy version — name enough distinct approvers of the
//!    category (two for a two-person rule, whatever the stored row says), none of them the agent,
//!    and no denial. The `pending` row is working state; someone who edits it approves nothing.
//! 2. **The budgets have room**: an approval is spent only on a call that is forwarded.
//! 3. **The request is taken**, by one compare-and-swap from `approved` to `executed`, so it runs
//!    once. Only then is `executed` recorded.
//!
//! Every change to a request is one compare-and-swap on its whole row (status and answers), and
//! its ledger step is written after the change it records: two approvers answering at the same
//! moment both count, and the ledger never shows an answer that did not take effect.

use crate::approval::{self, Approvers};
use crate::audit::{AuditError, AuditLog};
use crate::notify::{HeldCall, Secret, Webhook, slack_message};
use crate::pipeline::{CallError, Gateway};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use warden_core::{
    ApprovalAnswer, ApprovalKind, ApprovalStatus, ArgsDigest, AuditEvent, EventKind, ToolCall,
    Verdict,
};
use warden_ledger::LeafKey;
use warden_policy::{Config, Decision};
use warden_store::ledger::LedgerEntry;
use warden_store::{
    EventFilter, Ledger, LedgerError, PendingRequest, RequestFilter, Store, StoreError, Transience,
};

/// How often a change to a request is re-applied after another writer changed it first.
const RETRIES: usize = 32;

/// warden could not read or change the gate's state, or record a step.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error("request `{0}` kept changing while warden updated it; try again")]
    Busy(String),
}

impl GateError {
    /// Whether trying again later may succeed (the store was unreachable or busy, the request
    /// kept changing), as opposed to a stored record or the ledger being wrong.
    pub fn transience(&self) -> Transience {
        match self {
            Self::Store(e) => e.transience(),
            Self::Audit(e) => e.transience(),
            Self::Busy(_) => Transience::Transient,
        }
    }

    pub fn is_transient(&self) -> bool {
        self.transience().is_transient()
    }
}

impl From<GateError> for CallError {
    fn from(e: GateError) -> Self {
        CallError::Internal(e.into())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error("no request `{0}`")]
    NotFound(String),
    #[error("{0}")]
    Refused(#[from] approval::Refusal),
    #[error("warden could not record the answer: {0}")]
    Failed(#[from] GateError),
    #[error(
        "request `{id}` cannot be answered: {why}. The request was changed in the database \
         after warden stored it; what it shows is not what the agent asked for"
    )]
    Altered { id: String, why: &'static str },
}

impl From<StoreError> for AnswerError {
    fn from(e: StoreError) -> Self {
        Self::Failed(GateError::Store(e))
    }
}

impl From<AuditError> for AnswerError {
    fn from(e: AuditError) -> Self {
        Self::Failed(GateError::Audit(e))
    }
}

impl From<LedgerError> for AnswerError {
    fn from(e: LedgerError) -> Self {
        Self::Failed(GateError::Audit(AuditError(e)))
    }
}

/// Each approver's [`credential digest`](warden_policy::ApproverSpec::credential_digest) under
/// `config`: what an answer, or a resume, given in their name must have been given under to
/// count here.
pub fn credentials(config: &Config) -> BTreeMap<String, String> {
    config
        .approvals
        .approvers
        .iter()
        .map(|a| (a.id.clone(), a.credential_digest()))
        .collect()
}

/// `approver`'s credential digest under `config` ([`credentials`]); none for an id it does not
/// configure.
fn credential_of(config: &Config, approver: &str) -> Option<String> {
    config
        .approvals
        .approvers
        .iter()
        .find(|a| a.id == approver)
        .map(|a| a.credential_digest())
}

pub fn approvers(config: &Config) -> Approvers {
    Approvers::new(
        config
            .approvals
            .approvers
            .iter()
            .map(|a| (a.id.clone(), a.categories.clone()))
            .collect::<BTreeMap<_, _>>(),
    )
}

/// The outcome of [`swap`].
enum Swap<T> {
    /// No such request.
    Missing,
    /// `change` wanted no change.
    Kept,
    /// The request as stored now, and what `change` returned.
    Done(Box<PendingRequest>, T),
}

/// Reads request `id`, lets `change` edit it, and stores the edit only if nobody changed the
/// request meanwhile; otherwise reads it again and re-applies `change` to what is there now.
/// `change` returns `Ok(None)` to leave the request as it is.
fn swap<T, E: From<StoreError> + From<GateError>>(
    store: &dyn Store,
    id: &str,
    mut change: impl FnMut(&mut PendingRequest) -> Result<Option<T>, E>,
) -> Result<Swap<T>, E> {
    for _ in 0..RETRIES {
        let Some(mut r) = store.pending_request(id)? else {
            return Ok(Swap::Missing);
        };
        let Some(t) = change(&mut r)? else {
            return Ok(Swap::Kept);
        };
        if store.update_pending(&r)? {
            r.revision += 1;
            return Ok(Swap::Done(Box::new(r), t));
        }
    }
    Err(GateError::Busy(id.to_string()).into())
}

pub(crate) fn step_event(
    r: &PendingRequest,
    step: &str,
    detail: serde_json::Value,
    now_ms: i64,
) -> AuditEvent {
    let mut e = AuditEvent::new(EventKind::Approval, now_ms);
    e.principal = Some(r.principal.clone());
    e.session = Some(r.session.clone());
    e.tool = Some(r.tool.clone());
    e.rule = Some(r.rule.clone());
    e.owner = Some(r.owner.clone());
    e.category = Some(r.category.clone());
    e.request_id = Some(r.id.clone());
    e.args_digest = Some(r.args_digest.clone());
    e.policy_version = Some(r.policy_version.clone());
    e.decision = Some(r.status.as_str().to_string());
    let mut d = json!({"step": step});
    if let (Some(o), serde_json::Value::Object(extra)) = (d.as_object_mut(), detail) {
        o.extend(extra);
    }
    e.detail = Some(d);
    e
}

/// Whether the stored request `r` is what warden held: its arguments hash to its digest, and
/// the ledger records this call held for approval (an `asked` step a writer holding `key`
/// appended, bound to the agent, session, tool, digest and policy version). What an approver
/// is shown and answers is the row; this is what makes the row the agent's call.
pub fn check_request(
    ledger: Option<&Ledger>,
    r: &PendingRequest,
) -> Result<Result<(), &'static str>, LedgerError> {
    if ArgsDigest::of(&r.args).0 != r.args_digest {
        return Ok(Err("its arguments do not hash to its digest"));
    }
    let Some(ledger) = ledger else {
        return Ok(Err(
            "this process holds no ledger key to check it against the ledger",
        ));
    };
    let shown = shown_digest(r);
    let mut asked = None;
    for LedgerEntry { event: e, .. } in recorded_steps(ledger, r)? {
        let detail = e.detail.as_ref();
        if detail.and_then(|d| text(d, "step")) == Some("asked")
            && e.args_digest.as_deref() == Some(r.args_digest.as_str())
            && e.policy_version.as_deref() == Some(r.policy_version.as_str())
        {
            asked = Some(
                if detail.and_then(|d| text(d, "shown_digest")) != Some(shown.as_str()) {
                    Err(
                        "what it shows beside the call (the agent's rationale, what it read, \
                     warden's own warnings) is not what warden recorded when the call was held",
                    )
                } else if !labels_as_asked(&e, r) {
                    Err(
                        "its rule, owner, category, stakes, approvals needed or expiry is not what \
                     warden recorded when the call was held",
                    )
                } else {
                    Ok(())
                },
            );
        }
    }
    Ok(asked.unwrap_or(Err("the ledger records no such call held for approval")))
}

/// The gate's steps on request `r` as the ledger records them, oldest first: found through the
/// ledger's own index of every leaf, read in order by its writer ([`Ledger::recorded_steps`]),
/// so a step's row rewritten or deleted in the store is an error, never a step missed.
fn recorded_steps(ledger: &Ledger, r: &PendingRequest) -> Result<Vec<LedgerEntry>, LedgerError> {
    Ok(ledger
        .recorded_steps(&r.id)?
        .into_iter()
        .map(|a| a.into_entry())
        .filter(|LedgerEntry { event: e, .. }| {
            e.request_id.as_deref() == Some(r.id.as_str())
                && e.principal.as_deref() == Some(r.principal.as_str())
                && e.session.as_deref() == Some(r.session.as_str())
                && e.tool.as_deref() == Some(r.tool.as_str())
        })
        .collect())
}

/// The answers to request `r` as the ledger records them (who, approve or deny, why, when), not
/// as its row says: a row is the database's to edit, and a second approver must not be shown a
/// first approval nobody gave. Steps recorded under other credentials than the serving
/// configuration holds are listed all the same: they are what happened, and `prove` decides
/// what counts.
pub fn answers_on_record(
    ledger: &Ledger,
    r: &PendingRequest,
) -> Result<Vec<ApprovalAnswer>, LedgerError> {
    Ok(recorded_steps(ledger, r)?
        .into_iter()
        .filter_map(|LedgerEntry { event: e, .. }| {
            let detail = e.detail.as_ref()?;
            let verdict = match text(detail, "step")? {
                "approved" => Verdict::Approve,
                "denied" if text(detail, "approver").is_some() => Verdict::Deny,
                _ => return None,
            };
            Some(ApprovalAnswer {
                approver: text(detail, "approver")?.to_string(),
                verdict,
                reason: text(detail, "reason").unwrap_or_default().to_string(),
                at_ms: e.time_ms,
            })
        })
        .collect())
}

/// The digest of what an approver is shown beside the call: the agent's rationale and what it
/// read (with warden's own warnings), recorded in the `asked` step and checked before an answer.
/// Whether what an approver is told about request `r` beside the call (the rule that held it,
/// its owner and category, its stakes, how many approvals it needs, when it expires) is what
/// the `asked` step `e` recorded. A step recorded before warden kept the stakes there is not
/// held to them.
fn labels_as_asked(e: &AuditEvent, r: &PendingRequest) -> bool {
    let detail = e.detail.as_ref();
    let number = |key: &str| detail.and_then(|d| d.get(key)).and_then(|v| v.as_i64());
    e.rule.as_deref() == Some(r.rule.as_str())
        && e.owner.as_deref() == Some(r.owner.as_str())
        && e.category.as_deref() == Some(r.category.as_str())
        && number("approvals_needed") == Some(i64::from(r.approvals_needed()))
        && number("expires_ms") == Some(r.expires_ms)
        && detail
            .and_then(|d| text(d, "stakes"))
            .is_none_or(|stakes| stakes == r.stakes)
}

fn shown_digest(r: &PendingRequest) -> String {
    ArgsDigest::of(&json!({"rationale": r.rationale, "evidence": r.evidence})).0
}

/// Records an approver's answer at `now_ms`. Synchronous: the CLI and the console call it
/// directly. The answer and the request's new status are stored in one compare-and-swap (an
/// answer that raced another is applied again to what that one left); the ledger step follows.
#[allow(clippy::too_many_arguments)]
pub fn answer(
    store: &dyn Store,
    audit: &dyn AuditLog,
    config: &Config,
    id: &str,
    approver: &str,
    verdict: Verdict,
    reason: &str,
    now_ms: i64,
) -> Result<PendingRequest, AnswerError> {
    let approvers = approvers(config);
    // The row is checked against the ledger first; the swap then takes it only unchanged.
    let Some(stored) = store.pending_request(id)? else {
        return Err(AnswerError::NotFound(id.to_string()));
    };
    if let Err(why) = check_request(audit.ledger(), &stored)? {
        return Err(AnswerError::Altered {
            id: id.to_string(),
            why,
        });
    }
    let swapped = swap(store, id, |r| {
        if r.args != stored.args
            || r.args_digest != stored.args_digest
            || r.policy_version != stored.policy_version
        {
            return Err(AnswerError::Altered {
                id: r.id.clone(),
                why: "it changed while it was being answered",
            });
        }
        match approval::answer(r, &approvers, approver, verdict, reason, now_ms) {
            Ok(_) => Ok(Some(None)),
            // The expiry is stored (and recorded below) before the refusal is returned.
            Err(approval::Refusal::Expired) => Ok(Some(Some(approval::Refusal::Expired))),
            Err(refusal) => Err(AnswerError::Refused(refusal)),
        }
    })?;
    let request = match swapped {
        Swap::Missing | Swap::Kept => return Err(AnswerError::NotFound(id.to_string())),
        Swap::Done(r, Some(refusal)) => {
            audit.append(&step_event(
                &r,
                "expired",
                json!({"expires_ms": r.expires_ms}),
                now_ms,
            ))?;
            return Err(refusal.into());
        }
        Swap::Done(r, None) => *r,
    };
    // The credentials the answer was given under: `prove` counts it only if they are the
    // ones the serving configuration holds for this approver.
    let credential = credential_of(config, approver);
    audit.append(&step_event(
        &request,
        verdict.step(),
        json!({"approver": approver, "reason": reason.trim(),
               "approvals": request.approvals(),
               "approvals_needed": request.approvals_needed(),
               "credential": credential}),
        now_ms,
    ))?;
    Ok(request)
}

/// Moves request `id` to `expired` if it is still open; records the step. Whether it moved.
pub(crate) fn expire_request(
    store: &dyn Store,
    audit: &dyn AuditLog,
    id: &str,
    detail: serde_json::Value,
    now_ms: i64,
    due: impl Fn(&PendingRequest) -> bool,
) -> Result<bool, GateError> {
    let swapped = swap::<(), GateError>(store, id, |r| {
        Ok((r.status.is_open() && due(r)).then(|| r.status = ApprovalStatus::Expired))
    })?;
    match swapped {
        Swap::Done(r, ()) => {
            audit.append(&step_event(&r, "expired", detail, now_ms))?;
            Ok(true)
        }
        Swap::Missing | Swap::Kept => Ok(false),
    }
}

/// Moves every overdue pending or unused approved request to `expired` (expiry means deny).
pub fn expire_overdue(
    store: &dyn Store,
    audit: &dyn AuditLog,
    now_ms: i64,
) -> Result<Vec<String>, GateError> {
    let mut expired = Vec::new();
    // Only the open requests already due: the answered ones kept beside them are not read.
    let due = RequestFilter {
        expired_at_ms: Some(now_ms),
        ..RequestFilter::open()
    };
    for r in store.requests(&due)? {
        if r.status.is_open()
            && now_ms >= r.expires_ms
            && expire_request(
                store,
                audit,
                &r.id,
                json!({"expires_ms": r.expires_ms}),
                now_ms,
                |r| now_ms >= r.expires_ms,
            )?
        {
            expired.push(r.id);
        }
    }
    Ok(expired)
}

/// Requests still pending after 80% of their time, whose category has an escalation contact:
/// marked escalated (once) and recorded. Returns each with its contact, for the notification.
pub fn escalate_due(
    store: &dyn Store,
    audit: &dyn AuditLog,
    config: &Config,
    now_ms: i64,
) -> Result<Vec<(PendingRequest, String)>, GateError> {
    let due = |r: &PendingRequest| {
        let threshold = r.created_ms + (r.expires_ms - r.created_ms) * 4 / 5;
        r.status == ApprovalStatus::Pending
            && !r.escalated
            && now_ms >= threshold
            && now_ms < r.expires_ms
    };
    let mut escalated = Vec::new();
    if config.approvals.escalation.is_empty() {
        return Ok(escalated);
    }
    // Only requests still waiting, not yet escalated and not yet expired.
    let waiting = RequestFilter {
        statuses: vec![ApprovalStatus::Pending],
        escalated: Some(false),
        unexpired_at_ms: Some(now_ms),
        ..RequestFilter::default()
    };
    for r in store.requests(&waiting)? {
        let Some(contact) = config.approvals.escalation_for(&r.category) else {
            continue;
        };
        if !due(&r) {
            continue;
        }
        let swapped =
            swap::<(), GateError>(store, &r.id, |r| Ok(due(r).then(|| r.escalated = true)))?;
        if let Swap::Done(r, ()) = swapped {
            audit.append(&step_event(
                &r,
                "escalated",
                json!({"contact": contact, "expires_ms": r.expires_ms}),
                now_ms,
            ))?;
            escalated.push((*r, contact.to_string()));
        }
    }
    Ok(escalated)
}

/// A text member of an event's detail.
fn text<'a>(detail: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    detail.get(key).and_then(|v| v.as_str())
}

/// Why the ledger does not back an approved request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unproven {
    #[error(
        "request `{id}` is marked approved, but the ledger records {found} of the {needed} \
         approvals it needs; it was refused"
    )]
    TooFew {
        id: String,
        found: usize,
        needed: u8,
    },
    #[error("request `{id}` is marked approved, but the ledger records a denial; it was refused")]
    Denied { id: String },
    #[error(
        "request `{id}` is marked approved, but the ledger records that it already ran: an \
         approval is used once; it was refused"
    )]
    Used { id: String },
    #[error(
        "request `{id}` is marked approved, but the ledger records that it expired (or it is \
         past the expiry the ledger recorded when it was asked): expiry means deny; it was refused"
    )]
    Expired { id: String },
    #[error(
        "request `{id}` is marked approved, but the ledger holds no record of this call being \
         held for approval: the request was not made by warden; it was refused"
    )]
    NotAsked { id: String },
    #[error(
        "request `{id}` is marked approved, but this gateway holds no ledger key to tell \
         recorded approvals from rows written into the store; it was refused"
    )]
    NoKey { id: String },
}

/// Checks in the ledger that request `r` was approved as `decision` requires, at `now_ms`:
/// the ledger records this exact call held for approval (an `asked` step bound to the agent,
/// the tool, the digest of the arguments and the policy version) and not expired, and distinct
/// approvers of the decision's category (not the agent), each recorded approving exactly these
/// arguments under this policy version, at least as many as the decision's approval kind or
/// the `asked` step needs, and no denial, expiry or earlier execution. Only leaves a writer
/// holding `key` appended count ([`read_authentic_events`]): the stored row, its answers,
/// counts and expiry, and any row written into the ledger's table by hand are not trusted.
pub fn prove(
    ledger: Option<&Ledger>,
    config: &Config,
    r: &PendingRequest,
    decision: &Decision,
    now_ms: i64,
) -> Result<Result<(), Unproven>, LedgerError> {
    let Some(ledger) = ledger else {
        return Ok(Err(Unproven::NoKey { id: r.id.clone() }));
    };
    let mut needed = u64::from(
        decision
            .approval()
            .map_or(1, ApprovalKind::approvals_needed)
            .max(r.approvals_needed()),
    );
    let approvers = approvers(config);
    let mut asked = false;
    let mut approved = BTreeSet::new();
    for LedgerEntry { event: e, .. } in recorded_steps(ledger, r)? {
        let detail = e.detail.unwrap_or_default();
        let bound = e.principal.as_deref() == Some(r.principal.as_str())
            && e.tool.as_deref() == Some(r.tool.as_str())
            && e.args_digest.as_deref() == Some(r.args_digest.as_str())
            && e.policy_version.as_deref() == Some(decision.policy_version());
        // A denial, an expiry or an earlier execution of this request ends it, whatever else
        // the steps are bound to: an approval is used once, expiry means deny, and a row set
        // back to `approved` replays nothing.
        match text(&detail, "step") {
            Some("denied") => return Ok(Err(Unproven::Denied { id: r.id.clone() })),
            Some("executed") => return Ok(Err(Unproven::Used { id: r.id.clone() })),
            Some("expired") => return Ok(Err(Unproven::Expired { id: r.id.clone() })),
            Some("asked") if bound => {
                asked = true;
                if let Some(n) = detail.get("approvals_needed").and_then(|n| n.as_u64()) {
                    needed = needed.max(n);
                }
                let expires = detail.get("expires_ms").and_then(|n| n.as_i64());
                if expires.is_some_and(|at| now_ms >= at) {
                    return Ok(Err(Unproven::Expired { id: r.id.clone() }));
                }
            }
            Some("approved") => {
                let approver = text(&detail, "approver").unwrap_or_default();
                // Given under the credentials this configuration holds for the approver: an
                // answer made with a copy of the configuration that gives their name another
                // token is not theirs.
                let theirs = credential_of(config, approver)
                    .is_some_and(|c| text(&detail, "credential") == Some(c.as_str()));
                if bound
                    && theirs
                    && approver != r.principal
                    && approvers.may_answer(approver, decision.category())
                {
                    approved.insert(approver.to_string());
                }
            }
            _ => {}
        }
    }
    if !asked {
        return Ok(Err(Unproven::NotAsked { id: r.id.clone() }));
    }
    if (approved.len() as u64) < needed {
        return Ok(Err(Unproven::TooFew {
            id: r.id.clone(),
            found: approved.len(),
            needed: u8::try_from(needed).unwrap_or(u8::MAX),
        }));
    }
    Ok(Ok(()))
}

/// What an approval is bound to: the agent, its session, the tool, the digest of the exact
/// arguments and the policy version. Computed once per call; every place that matches a request
/// to a call compares the same five values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Binding {
    principal: String,
    session: String,
    tool: String,
    args_digest: String,
    policy_version: String,
}

impl Binding {
    pub(crate) fn of(call: &ToolCall, policy_version: &str) -> Self {
        Self {
            principal: call.principal.0.clone(),
            session: call.session.0.clone(),
            tool: call.tool.to_string(),
            args_digest: ArgsDigest::of(&call.args_value()).0,
            policy_version: policy_version.to_string(),
        }
    }

    /// The requests made for exactly this call, whatever their state.
    fn filter(&self) -> RequestFilter {
        RequestFilter {
            principal: Some(self.principal.clone()),
            session: Some(self.session.clone()),
            tool: Some(self.tool.clone()),
            args_digest: Some(self.args_digest.clone()),
            policy_version: Some(self.policy_version.clone()),
            ..RequestFilter::default()
        }
    }

    /// The requests made for this call by its agent in any session and under any policy
    /// version: a person's answer is to the call, not to the session that sent it.
    pub(crate) fn same_call(&self) -> RequestFilter {
        RequestFilter {
            principal: Some(self.principal.clone()),
            tool: Some(self.tool.clone()),
            args_digest: Some(self.args_digest.clone()),
            ..RequestFilter::default()
        }
    }

    /// What names the call (its tool and arguments) among one agent's held calls.
    pub(crate) fn call_key(&self) -> String {
        format!("{}\n{}", self.tool, self.args_digest)
    }

    /// Whether request `r` was made for exactly this call.
    pub(crate) fn matches(&self, r: &PendingRequest) -> bool {
        r.principal == self.principal
            && r.session == self.session
            && r.tool == self.tool
            && r.args_digest == self.args_digest
            && r.policy_version == self.policy_version
    }
}

/// The requests this process took (approved → executed), for its lifetime: a request taken
/// once is refused again whatever the store and the ledger's index columns are later made to
/// say. (Across restarts and replicas the ledger's `executed` step refuses it.)
#[derive(Debug, Default)]
pub(crate) struct TakenRequests(std::sync::Mutex<std::collections::HashSet<String>>);

impl TakenRequests {
    fn contains(&self, id: &str) -> bool {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(id)
    }

    fn insert(&self, id: &str) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id.to_string());
    }
}

/// An approved request, proven by the ledger and moved to `executed` for exactly one call. Made
/// only by [`Gateway::take_approval`]; the one way to an upstream for a held call.
#[derive(Debug)]
pub struct Taken {
    request: PendingRequest,
}

impl Taken {
    pub fn request(&self) -> &PendingRequest {
        &self.request
    }
}

/// A request the ledger shows as executed without the approvals it asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnapprovedExecution {
    pub request_id: String,
    pub index: u64,
    pub approvals: usize,
    pub needed: u64,
    /// The request had already executed: its approval was used twice.
    pub again: bool,
}

impl std::fmt::Display for UnapprovedExecution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.again {
            return write!(
                f,
                "leaf {}: request `{}` executed a second time on one approval",
                self.index, self.request_id
            );
        }
        write!(
            f,
            "leaf {}: request `{}` executed with {} of the {} approvals it needed",
            self.index, self.request_id, self.approvals, self.needed
        )
    }
}

/// Every request the ledger shows executed without its approvals: fewer distinct approvers
/// recorded before the `executed` step than its `asked` step needed (an `executed` with no
/// `asked` needed at least one), a recorded denial, or an execution before (used twice). With
/// the ledger's `key`, only leaves its writers appended count as approvals, so an approval
/// written into the store by hand leaves its execution unapproved here.
pub fn unapproved_executions(
    store: &dyn Store,
    key: Option<&LeafKey>,
) -> Result<Vec<UnapprovedExecution>, StoreError> {
    #[derive(Default)]
    struct Seen {
        needed: Option<u64>,
        approvers: BTreeSet<String>,
        denied: bool,
        executed: bool,
    }
    let filter = EventFilter {
        kind: Some(EventKind::Approval.as_str().to_string()),
        ..EventFilter::default()
    };
    let mut requests: BTreeMap<String, Seen> = BTreeMap::new();
    let mut found = Vec::new();
    for entry in warden_store::ledger::read_deciding_events(store, &filter, key)? {
        let Some(id) = entry.event.request_id.clone() else {
            continue;
        };
        let detail = entry.event.detail.unwrap_or_default();
        let seen = requests.entry(id.clone()).or_default();
        match text(&detail, "step") {
            Some("asked") => {
                seen.needed = detail.get("approvals_needed").and_then(|n| n.as_u64());
            }
            Some("approved") => {
                if let Some(who) = text(&detail, "approver") {
                    seen.approvers.insert(who.to_string());
                }
            }
            Some("denied") => seen.denied = true,
            Some("executed") => {
                let needed = seen.needed.unwrap_or(1).max(1);
                let approvals = seen.approvers.len();
                let again = std::mem::replace(&mut seen.executed, true);
                if again || seen.denied || (approvals as u64) < needed {
                    found.push(UnapprovedExecution {
                        request_id: id,
                        index: entry.index,
                        approvals,
                        needed,
                        again,
                    });
                }
            }
            _ => {}
        }
    }
    Ok(found)
}

impl Gateway {
    /// Tells escalation contacts about requests close to expiring (through the webhook).
    pub async fn escalate(&self, due: Vec<(PendingRequest, String)>, now_ms: i64) {
        let settings = &self.config().approvals;
        let (Some(url), Some(secret)) = (&settings.webhook_url, &settings.webhook_secret) else {
            return;
        };
        for (r, contact) in due {
            let Ok(webhook) = Webhook::new(url, Secret::new(secret.as_bytes().to_vec())) else {
                return;
            };
            let minutes = (r.expires_ms - now_ms).max(0) / 60_000;
            let text = format!(
                "Escalation to {contact}: `{}` by `{}` (request {}) expires unanswered in {minutes} min; expiry means deny. {}/requests/{}",
                r.tool,
                r.principal,
                r.id,
                settings.console_url.trim_end_matches('/'),
                r.id
            );
            let message =
                json!({"text": text, "escalation": {"contact": contact, "request": r.id}});
            if let Err(e) = webhook.deliver(&self.http, &message).await {
                tracing::warn!(request = %r.id, error = %e, "escalation not delivered");
            }
        }
    }

    /// The approved, unexpired request bound to exactly this call — principal, session, tool,
    /// argument digest and policy version — if there is one. Nothing changes yet.
    pub(crate) async fn approved_for(
        &self,
        binding: &Binding,
        now_ms: i64,
    ) -> Result<Option<PendingRequest>, CallError> {
        let binding = binding.clone();
        // Only the approved requests bound to this call, through the store's index: a held
        // call costs the same however many requests were answered before it.
        let approved = RequestFilter {
            statuses: vec![ApprovalStatus::Approved],
            unexpired_at_ms: Some(now_ms),
            ..binding.filter()
        };
        self.blocking(move |store, _| {
            Ok::<_, StoreError>(store.requests(&approved)?.into_iter().find(|r| {
                r.status == ApprovalStatus::Approved && binding.matches(r) && now_ms < r.expires_ms
            }))
        })
        .await
    }

    /// Checks request `r` against the ledger ([`prove`]) under `config` at `now_ms`.
    pub(crate) async fn prove(
        &self,
        config: &std::sync::Arc<Config>,
        r: &PendingRequest,
        decision: &Decision,
        now_ms: i64,
    ) -> Result<Result<(), Unproven>, CallError> {
        // This process took it once already: whatever the store and the ledger's index
        // columns say now (a row set back to `approved`, an `executed` leaf hidden), it ran.
        if self.taken_requests.contains(&r.id) {
            return Ok(Err(Unproven::Used { id: r.id.clone() }));
        }
        let (config, r, decision) = (config.clone(), r.clone(), decision.clone());
        self.blocking(move |_, audit| prove(audit.ledger(), &config, &r, &decision, now_ms))
            .await
    }

    /// Moves approved request `r` to `executed` by compare-and-swap, if it is still approved,
    /// bound to this call and unexpired: exactly one retry gets it. The caller proved it and
    /// counted the budgets; the `executed` step is recorded by [`Gateway::executed`].
    pub(crate) async fn take_approval(
        &self,
        binding: &Binding,
        r: &PendingRequest,
        now_ms: i64,
    ) -> Result<Option<Taken>, CallError> {
        let id = r.id.clone();
        let binding = binding.clone();
        let taken = self.taken_requests.clone();
        self.blocking(move |store, _| {
            let swapped = swap::<(), GateError>(store, &id, |r| {
                let bound = r.status == ApprovalStatus::Approved
                    && binding.matches(r)
                    && now_ms < r.expires_ms;
                Ok(bound.then(|| r.status = ApprovalStatus::Executed))
            })?;
            Ok::<_, GateError>(match swapped {
                Swap::Done(request, ()) => {
                    taken.insert(&request.id);
                    Some(Taken { request: *request })
                }
                Swap::Missing | Swap::Kept => None,
            })
        })
        .await
    }

    /// Records that the taken approval runs now. The call is forwarded only once this is durable.
    pub(crate) async fn executed(
        &self,
        taken: &Taken,
        decision_index: u64,
        waited: bool,
        now_ms: i64,
    ) -> Result<(), CallError> {
        let index = self
            .record(step_event(
                &taken.request,
                "executed",
                json!({"decision_index": decision_index, "waited": waited}),
                now_ms,
            ))
            .await?;
        // Another replica on the same store may have taken the same approval at the same
        // moment: the row's compare-and-swap is the store's, and someone who can write the
        // store can undo it, so both proofs may have passed. Of the `executed` steps the
        // ledger records for the request, only the first runs.
        let r = taken.request.clone();
        let first = self
            .blocking(move |_, audit| {
                let Some(ledger) = audit.ledger() else {
                    return Ok(None);
                };
                Ok::<_, LedgerError>(
                    recorded_steps(ledger, &r)?
                        .into_iter()
                        .find(|e| {
                            e.event
                                .detail
                                .as_ref()
                                .and_then(|d| text(d, "step"))
                                .is_some_and(|s| s == "executed")
                        })
                        .map(|e| e.index),
                )
            })
            .await?;
        if first != Some(index) {
            tracing::error!(request = %taken.request.id, ?first, index,
                "an approval was taken twice: another gateway on this store ran it first");
            return Err(CallError::warden(format!(
                "request `{}` ran already: the ledger records an earlier execution; this call \
                 was not forwarded",
                taken.request.id
            )));
        }
        // Someone who can write the store, and make warden start again, could delete this
        // step with the leaves and checkpoints after it and have the approval run once more.
        // The witnesses hold what the store cannot take back: the call is forwarded only once
        // every one of them holds a checkpoint over its `executed` step. A witness that does
        // not answer denies the call; its approval stays used.
        let what = format!("the execution of request `{}`", taken.request.id);
        if let Err(e) = self.witness(&what).await {
            return Err(CallError::warden(format!(
                "request `{}` was not run: {e}; it needs a new approval",
                taken.request.id
            )));
        }
        Ok(())
    }

    /// Waits up to `wait` (`approvals.wait_secs`, or less where the caller must answer
    /// sooner) for a held request to be answered; the request once humans approved it in time
    /// (still `approved`: the caller proves and takes it). Time is tokio's, which tests pause.
    pub(crate) async fn wait_for_approval(
        &self,
        wait: Duration,
        id: &str,
    ) -> Result<Option<PendingRequest>, CallError> {
        if wait.is_zero() {
            return Ok(None);
        }
        let deadline = tokio::time::Instant::now() + wait;
        while tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let id = id.to_string();
            let request = self
                .blocking(move |store, _| store.pending_request(&id))
                .await?;
            match request {
                Some(r) if r.status == ApprovalStatus::Approved => return Ok(Some(r)),
                Some(r) if r.status == ApprovalStatus::Pending => {}
                _ => return Ok(None),
            }
        }
        Ok(None)
    }

    /// What the session read before asking, as evidence for the approvers; and what the agent
    /// read flagged in its other sessions (the taint is the agent's: a compromised agent asks
    /// from a clean session, and its approvers still see the passage that tainted it).
    pub(crate) async fn evidence(&self, call: &ToolCall) -> Vec<serde_json::Value> {
        let mut reads = self.screening.reads(&call.principal, &call.session);
        for (session, read) in self.screening.flagged_reads(&call.principal) {
            if session != call.session {
                reads.push(format!("read in another session of this agent: {read}"));
            }
        }
        reads.into_iter().map(serde_json::Value::String).collect()
    }

    /// Records that a request was asked and notifies its approvers.
    pub(crate) async fn asked(&self, config: &Config, request: &PendingRequest, now_ms: i64) {
        let approvers = approvers(config).of(&request.category);
        let ev = step_event(
            request,
            "asked",
            json!({"approvers": approvers, "approvals_needed": request.approvals_needed(),
                   "expires_ms": request.expires_ms, "stakes": request.stakes,
                   "shown_digest": shown_digest(request)}),
            now_ms,
        );
        if let Err(e) = self.record(ev).await {
            tracing::error!(error = %e, "approval request not recorded");
        }
        let settings = &config.approvals;
        let (Some(url), Some(secret)) = (&settings.webhook_url, &settings.webhook_secret) else {
            return;
        };
        let webhook = match Webhook::new(url, Secret::new(secret.as_bytes().to_vec())) {
            Ok(w) => w,
            Err(e) => {
                tracing::error!(error = %e, "approval webhook misconfigured");
                return;
            }
        };
        let evidence: Vec<String> = request
            .evidence
            .iter()
            .filter_map(|e| e.as_str().map(str::to_string))
            .collect();
        let message = slack_message(&HeldCall {
            request_id: &request.id,
            tool: &request.tool,
            args: &request.args,
            principal: &request.principal,
            rule: &request.rule,
            owner: &request.owner,
            approvals_needed: request.approvals_needed(),
            expires_ms: request.expires_ms,
            evidence: &evidence,
            rationale: request.rationale.as_deref(),
            console_url: &settings.console_url,
        });
        let r = request.clone();
        let audit = self.audit.clone();
        let client = self.http.clone();
        let clock = self.clock();
        tokio::spawn(async move {
            let result = webhook.deliver(&client, &message).await;
            let detail = match &result {
                Ok(status) => json!({"status": status}),
                Err(e) => json!({"error": e.to_string()}),
            };
            let step = if result.is_ok() {
                "notified"
            } else {
                "notify-failed"
            };
            let ev = step_event(&r, step, detail, clock.now_ms());
            let _ = tokio::task::spawn_blocking(move || audit.append(&ev)).await;
        });
    }
}
