//! Clearing an agent's taint: one function behind `warden taint clear` and the console's
//! "Tainted agents" page, so both fronts write the same event in the same order.

use crate::audit::{AuditError, AuditLog};
use serde_json::json;
use warden_core::{AuditEvent, EventKind};
use warden_store::{AgentTaint, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ClearError {
    #[error("give a reason")]
    NoReason,
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Records that approver `by` clears `taint` (the agent's taint in force at `now_ms`, as
/// `Store::agent_taint` returned it) for `reason`, then clears it; how many records stopped
/// counting. The `taint_cleared` event is durable before the store changes, so a clear that
/// fails half-way leaves a record and the taint, never a silent clear. `by` must already be an
/// authorised approver (the CLI checks the token, the console the session).
pub fn record_and_clear(
    store: &dyn Store,
    audit: &dyn AuditLog,
    taint: &AgentTaint,
    by: &str,
    reason: &str,
    now_ms: i64,
) -> Result<u32, ClearError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(ClearError::NoReason);
    }
    let mut event = AuditEvent::new(EventKind::TaintCleared, now_ms);
    event.principal = Some(taint.agent.clone());
    event.reason = Some(reason.to_string());
    event.detail = Some(json!({
        "by": by,
        "level": taint.level,
        "source": taint.source,
        "session": taint.session,
        "since_ms": taint.at_ms,
        "until_ms": taint.until_ms,
    }));
    audit.append(&event)?;
    Ok(store.clear_agent_taint(&taint.agent, now_ms, by, reason)?)
}
