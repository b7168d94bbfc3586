//! The console's `ApprovalDesk`, backed by the store, the ledger and the gate's rules.
//!
//! Every answer goes through `gate::answer`, the same function the CLI uses, so
//! the web console cannot enforce different rules from the terminal. Likewise a taint cleared in
//! the console goes through `taint::record_and_clear`, the function behind
//! `warden taint clear`: the same `taint_cleared` event, written before the store changes.

use crate::gate::{self, AnswerError};
use crate::{AuditLog, Gateway};
use std::sync::Arc;
use warden_console::{
    AnswerView, ApprovalDesk, DecisionView, DeskError, EvidenceView, RequestView, TaintCleared,
    TaintView,
};
use warden_core::{ApprovalStatus, Verdict};
use warden_store::ledger::read_events;
use warden_store::{AgentTaint, EventFilter, PendingRequest};

pub struct Desk(pub Arc<Gateway>);

fn view(r: PendingRequest) -> RequestView {
    let approvals_needed = r.approvals_needed();
    RequestView {
        evidence: r
            .evidence
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.as_str().map(|s| (i, s.to_string())))
            .map(|(i, s)| {
                let (tool, summary) = s.split_once(" — ").unwrap_or((s.as_str(), ""));
                EvidenceView {
                    index: u64::try_from(i).unwrap_or(0),
                    tool: tool.to_string(),
                    summary: summary.to_string(),
                    // The screen's summary is the first line; a flagged passage follows.
                    findings: summary
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .split_once(": ")
                        .map(|(_, k)| k.split(", ").map(str::to_string).collect())
                        .unwrap_or_default(),
                }
            })
            .collect(),
        answers: r
            .answers
            .iter()
            .map(|a| AnswerView {
                approver: a.approver.clone(),
                verdict: a.verdict,
                reason: a.reason.clone(),
                at_ms: a.at_ms,
            })
            .collect(),
        id: r.id,
        created_ms: r.created_ms,
        expires_ms: r.expires_ms,
        status: r.status,
        principal: r.principal,
        session: r.session,
        tool: r.tool,
        category: r.category,
        stakes: r.stakes,
        args: r.args,
        args_digest: r.args_digest,
        rule: r.rule,
        owner: r.owner,
        policy_version: r.policy_version,
        approvals_needed,
        rationale: r.rationale,
    }
}

fn taint_view(t: AgentTaint) -> TaintView {
    TaintView {
        agent: t.agent,
        level: t.level,
        source: t.source,
        session: t.session,
        since_ms: t.at_ms,
        until_ms: t.until_ms,
    }
}

fn internal(e: impl std::fmt::Display) -> DeskError {
    DeskError::Internal(e.to_string())
}

impl Desk {
    fn events(&self, filter: EventFilter) -> Result<Vec<DecisionView>, DeskError> {
        let entries = read_events(self.0.store.as_ref(), &filter).map_err(internal)?;
        Ok(entries
            .into_iter()
            .map(|entry| {
                let e = entry.event;
                DecisionView {
                    index: entry.index,
                    time_ms: e.time_ms,
                    kind: e.kind.map(|k| k.as_str().to_string()).unwrap_or_default(),
                    principal: e.principal.unwrap_or_default(),
                    session: e.session.unwrap_or_default(),
                    tool: e.tool.unwrap_or_default(),
                    decision: e.decision,
                    rule: e.rule,
                    owner: e.owner,
                    args: e.args.unwrap_or(serde_json::Value::Null),
                    detail: e
                        .reason
                        .or_else(|| e.detail.map(|d| d.to_string()))
                        .unwrap_or_default(),
                }
            })
            .collect())
    }
}

impl ApprovalDesk for Desk {
    fn pending(&self) -> Result<Vec<RequestView>, DeskError> {
        let mut all = self.0.store.pending().map_err(internal)?;
        all.retain(|r| r.status == ApprovalStatus::Pending);
        Ok(all.into_iter().map(view).collect())
    }

    fn request(&self, id: &str) -> Result<Option<RequestView>, DeskError> {
        Ok(self
            .0
            .store
            .pending_request(id)
            .map_err(internal)?
            .map(view))
    }

    fn decide(
        &self,
        id: &str,
        approver: &str,
        verdict: Verdict,
        reason: &str,
    ) -> Result<RequestView, DeskError> {
        let g = &self.0;
        let audit: &dyn AuditLog = g.audit.as_ref();
        match gate::answer(
            g.store.as_ref(),
            audit,
            &g.config(),
            id,
            approver,
            verdict,
            reason,
            self.0.now(),
        ) {
            Ok(r) => Ok(view(r)),
            Err(AnswerError::NotFound(_)) => Err(DeskError::NotFound),
            Err(e @ AnswerError::Refused(_)) => Err(DeskError::Refused(e.to_string())),
            Err(AnswerError::Failed(e)) => Err(DeskError::Internal(e.to_string())),
        }
    }

    fn recent_decisions(&self, limit: usize) -> Result<Vec<DecisionView>, DeskError> {
        let mut all = self.events(EventFilter {
            kind: Some("decision".into()),
            ..EventFilter::default()
        })?;
        let keep = all.len().saturating_sub(limit);
        let mut recent = all.split_off(keep);
        recent.reverse();
        Ok(recent)
    }

    fn session_trail(&self, session: &str) -> Result<Vec<DecisionView>, DeskError> {
        self.events(EventFilter {
            session: Some(session.to_string()),
            ..EventFilter::default()
        })
    }

    fn tainted_agents(&self) -> Result<Vec<TaintView>, DeskError> {
        let now = self.0.now();
        let all = self.0.store.tainted_agents(now).map_err(internal)?;
        Ok(all.into_iter().map(taint_view).collect())
    }

    fn clear_taint(
        &self,
        agent: &str,
        approver: &str,
        reason: &str,
    ) -> Result<Option<TaintCleared>, DeskError> {
        let g = &self.0;
        // As `warden taint clear`: any configured approver may clear, whatever their
        // categories. Checked against the configuration in force, so an approver removed by a
        // reload cannot clear from a session that outlived them.
        if !g
            .config()
            .approvals
            .approvers
            .iter()
            .any(|a| a.id == approver)
        {
            return Err(DeskError::Refused(format!(
                "`{approver}` is not a configured approver"
            )));
        }
        if reason.trim().is_empty() {
            return Err(DeskError::Refused("give a reason".into()));
        }
        // One instant for the record and the clear: what the event shows in force is what stops.
        let now = self.0.now();
        let Some(taint) = g.store.agent_taint(agent, now).map_err(internal)? else {
            return Ok(None);
        };
        let records = crate::taint::record_and_clear(
            g.store.as_ref(),
            g.audit.as_ref(),
            &taint,
            approver,
            reason,
            now,
        )
        .map_err(|e| internal(format!("{e:#}")))?;
        Ok(Some(TaintCleared {
            taint: taint_view(taint),
            records,
        }))
    }
}
