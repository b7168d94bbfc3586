//! The human gate around `approval`'s state machine: persisted requests, answers from the CLI and
//! the console, expiry, single use, notifications — and an audit event for every step.
//!
//! A held call returns at once with its request id (or waits up to `approvals.wait_secs`). Once
//! humans approve, the agent retries the *same* call in the *same* session: the pipeline finds
//! the approved request bound to that principal, session, tool, argument digest and policy
//! version, moves it to `executed` by compare-and-swap, and only then forwards. A retry with other
//! arguments, from another session, or after the policy changed, is a new request.

use crate::approval::{self, Approvers, Status, Ticket};
use crate::audit::AuditLog;
use crate::notify::{HeldCall, Secret, Webhook, slack_message};
use crate::pipeline::{CallError, Gateway, now_ms};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;
use warden_core::{ArgsDigest, AuditEvent, EventKind, ToolCall};
use warden_policy::{Config, Decision};
use warden_store::{ApprovalAnswer, PendingRequest, Store};

#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error("no request `{0}`")]
    NotFound(String),
    #[error("{0}")]
    Refused(#[from] approval::Refusal),
    #[error("the request changed while you answered; look again")]
    Conflict,
    #[error("warden could not record the answer: {0}")]
    Internal(String),
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

fn ticket(r: &PendingRequest) -> Ticket {
    Ticket {
        principal: r.principal.clone(),
        category: r.category.clone(),
        approvals_needed: r.approvals_needed.max(1),
        expires_ms: r.expires_ms,
        status: Status::parse(&r.status).unwrap_or(Status::Denied),
        answers: r
            .answers
            .iter()
            .map(|a| approval::Answer {
                approver: a.approver.clone(),
                approve: a.approve,
                reason: a.reason.clone(),
                at_ms: a.at_ms,
            })
            .collect(),
    }
}

pub(crate) fn step_event(r: &PendingRequest, step: &str, detail: serde_json::Value) -> AuditEvent {
    let mut e = AuditEvent::new(EventKind::Approval, now_ms());
    e.principal = Some(r.principal.clone());
    e.session = Some(r.session.clone());
    e.tool = Some(r.tool.clone());
    e.rule = Some(r.rule.clone());
    e.owner = Some(r.owner.clone());
    e.category = Some(r.category.clone());
    e.request_id = Some(r.id.clone());
    e.args_digest = Some(r.args_digest.clone());
    e.policy_version = Some(r.policy_version.clone());
    e.decision = Some(r.status.clone());
    let mut d = json!({"step": step});
    if let (Some(o), serde_json::Value::Object(extra)) = (d.as_object_mut(), detail) {
        o.extend(extra);
    }
    e.detail = Some(d);
    e
}

/// Records an approver's answer. Synchronous: the CLI and the console call it directly.
pub fn answer(
    store: &dyn Store,
    audit: &dyn AuditLog,
    config: &Config,
    id: &str,
    approver: &str,
    approve: bool,
    reason: &str,
) -> Result<PendingRequest, AnswerError> {
    let mut request = store
        .pending_request(id)
        .map_err(|e| AnswerError::Internal(e.to_string()))?
        .ok_or_else(|| AnswerError::NotFound(id.to_string()))?;
    let before = request.status.clone();
    let mut t = ticket(&request);
    let outcome = approval::answer(
        &mut t,
        &approvers(config),
        approver,
        approve,
        reason,
        now_ms(),
    );
    if let Err(approval::Refusal::Expired) = &outcome {
        expire_one(store, audit, &mut request, &before)?;
    }
    let status = outcome?;
    request.status = status.as_str().to_string();
    request.answers = t
        .answers
        .iter()
        .map(|a| ApprovalAnswer {
            approver: a.approver.clone(),
            approve: a.approve,
            reason: a.reason.clone(),
            at_ms: a.at_ms,
        })
        .collect();
    // The answer is on the record before it can take effect.
    let step = if approve { "approved" } else { "denied" };
    audit
        .append(&step_event(
            &request,
            step,
            json!({"approver": approver, "reason": reason.trim(),
                   "approvals": t.answers.iter().filter(|a| a.approve).count(),
                   "approvals_needed": request.approvals_needed}),
        ))
        .map_err(|e| AnswerError::Internal(e.to_string()))?;
    if !store
        .update_pending(&request, &before)
        .map_err(|e| AnswerError::Internal(e.to_string()))?
    {
        return Err(AnswerError::Conflict);
    }
    Ok(request)
}

fn expire_one(
    store: &dyn Store,
    audit: &dyn AuditLog,
    request: &mut PendingRequest,
    before: &str,
) -> Result<bool, AnswerError> {
    request.status = Status::Expired.as_str().to_string();
    if store
        .update_pending(request, before)
        .map_err(|e| AnswerError::Internal(e.to_string()))?
    {
        audit
            .append(&step_event(
                request,
                "expired",
                json!({"expires_ms": request.expires_ms}),
            ))
            .map_err(|e| AnswerError::Internal(e.to_string()))?;
        return Ok(true);
    }
    Ok(false)
}

/// Moves every overdue pending or unused approved request to `expired` (expiry means deny).
pub fn expire_overdue(
    store: &dyn Store,
    audit: &dyn AuditLog,
    now: i64,
) -> Result<Vec<String>, AnswerError> {
    let mut expired = Vec::new();
    for mut r in store
        .pending()
        .map_err(|e| AnswerError::Internal(e.to_string()))?
    {
        let mut t = ticket(&r);
        let before = r.status.clone();
        if approval::expire(&mut t, now) && expire_one(store, audit, &mut r, &before)? {
            expired.push(r.id.clone());
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
    now: i64,
) -> Result<Vec<(PendingRequest, String)>, AnswerError> {
    let mut due = Vec::new();
    for mut r in store
        .pending()
        .map_err(|e| AnswerError::Internal(e.to_string()))?
    {
        let Some(contact) = config.approvals.escalation_for(&r.category) else {
            continue;
        };
        let threshold = r.created_ms + (r.expires_ms - r.created_ms) * 4 / 5;
        if r.status != "pending" || r.escalated || now < threshold || now >= r.expires_ms {
            continue;
        }
        r.escalated = true;
        if store
            .update_pending(&r, "pending")
            .map_err(|e| AnswerError::Internal(e.to_string()))?
        {
            audit
                .append(&step_event(
                    &r,
                    "escalated",
                    json!({"contact": contact, "expires_ms": r.expires_ms}),
                ))
                .map_err(|e| AnswerError::Internal(e.to_string()))?;
            due.push((r, contact.to_string()));
        }
    }
    Ok(due)
}

impl Gateway {
    /// Tells escalation contacts about requests close to expiring (through the webhook).
    pub async fn escalate(&self, due: Vec<(PendingRequest, String)>) {
        let settings = &self.config().approvals;
        let (Some(url), Some(secret)) = (&settings.webhook_url, &settings.webhook_secret) else {
            return;
        };
        for (r, contact) in due {
            let Ok(webhook) = Webhook::new(url, Secret::new(secret.as_bytes().to_vec())) else {
                return;
            };
            let minutes = (r.expires_ms - now_ms()).max(0) / 60_000;
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

    /// The approved, unexpired, unused request for exactly this call, moved to `executed`.
    pub(crate) async fn take_approval(
        &self,
        call: &ToolCall,
        decision: &Decision,
    ) -> Result<Option<PendingRequest>, CallError> {
        let principal = call.principal.0.clone();
        let session = call.session.0.clone();
        let tool = call.tool.to_string();
        let digest = ArgsDigest::of(&call.args_value()).0;
        let version = decision.policy_version().to_string();
        self.blocking(move |store, audit| {
            let now = now_ms();
            let candidates = store.pending().map_err(|e| e.to_string())?;
            for mut r in candidates.into_iter().filter(|r| {
                r.status == "approved"
                    && r.principal == principal
                    && r.session == session
                    && r.tool == tool
                    && r.args_digest == digest
                    && r.policy_version == version
                    && now < r.expires_ms
            }) {
                r.status = "executed".into();
                if store
                    .update_pending(&r, "approved")
                    .map_err(|e| e.to_string())?
                {
                    audit
                        .append(&step_event(&r, "executed", json!({})))
                        .map_err(|e| e.to_string())?;
                    return Ok(Some(r));
                }
            }
            Ok(None)
        })
        .await
    }

    /// Waits up to `approvals.wait_secs` for a held request to be answered; the approved request
    /// (already moved to `executed`) when humans said yes in time.
    pub(crate) async fn wait_for_approval(
        &self,
        id: &str,
    ) -> Result<Option<PendingRequest>, CallError> {
        let wait = self.config().approvals.wait;
        if wait.is_zero() {
            return Ok(None);
        }
        let deadline = tokio::time::Instant::now() + wait;
        while tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let id = id.to_string();
            let taken = self
                .blocking(move |store, audit| {
                    let Some(mut r) = store.pending_request(&id).map_err(|e| e.to_string())? else {
                        return Ok(None);
                    };
                    match r.status.as_str() {
                        "approved" if now_ms() < r.expires_ms => {
                            r.status = "executed".into();
                            if store
                                .update_pending(&r, "approved")
                                .map_err(|e| e.to_string())?
                            {
                                audit
                                    .append(&step_event(&r, "executed", json!({"waited": true})))
                                    .map_err(|e| e.to_string())?;
                                return Ok(Some(Some(r)));
                            }
                            Ok(Some(None))
                        }
                        "pending" => Ok(None),
                        _ => Ok(Some(None)),
                    }
                })
                .await?;
            if let Some(answer) = taken {
                return Ok(answer);
            }
        }
        Ok(None)
    }

    /// What the session read before asking, as evidence for the approvers.
    pub(crate) async fn evidence(&self, call: &ToolCall) -> Vec<serde_json::Value> {
        self.screening
            .reads(&call.principal, &call.session)
            .into_iter()
            .map(serde_json::Value::String)
            .collect()
    }

    /// Records that a request was asked and notifies its approvers.
    pub(crate) async fn asked(&self, request: &PendingRequest) {
        let approvers = approvers(&self.config()).of(&request.category);
        let ev = step_event(
            request,
            "asked",
            json!({"approvers": approvers, "approvals_needed": request.approvals_needed,
                   "expires_ms": request.expires_ms}),
        );
        if let Err(e) = self.record(ev).await {
            tracing::error!(error = %e, "approval request not recorded");
        }
        let settings = &self.config().approvals;
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
            approvals_needed: request.approvals_needed,
            expires_ms: request.expires_ms,
            evidence: &evidence,
            rationale: request.rationale.as_deref(),
            console_url: &settings.console_url,
        });
        let r = request.clone();
        let audit = self.audit.clone();
        let client = self.http.clone();
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
            let ev = step_event(&r, step, detail);
            let _ = tokio::task::spawn_blocking(move || audit.append(&ev)).await;
        });
    }
}
