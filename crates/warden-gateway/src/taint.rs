//! Clearing an agent's taint: one function behind `warden taint clear` and the console's
//! "Tainted agents" page, so both fronts write the same event in the same order. And the taints
//! the ledger records ([`RecordedTaints`]): a read that taints an agent is a `finding` whose
//! `detail.taint` says how much and until when, so a taint row deleted (or a clear row
//! inserted) in the database lifts nothing the ledger shows.

use crate::audit::{AuditError, AuditLog};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;
use warden_core::{AuditEvent, EventKind};
use warden_store::ledger::Deciding;
use warden_store::{AgentTaint, Ledger, LedgerError, Store, StoreError};

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

/// The agents' taints as the ledger records them: each `finding` with a `detail.taint`, until a
/// later `taint_cleared` for the agent; only leaves a writer holding the ledger key appended
/// count. Kept in memory and brought up to date from the leaves appended since, every
/// [`crate::halt::REFRESH`] and on each look at an agent it shows tainted: the ledger only
/// grows, so each refresh reads only what is new.
#[derive(Debug, Default)]
pub struct RecordedTaints {
    state: Mutex<Recorded>,
}

#[derive(Debug, Default)]
struct Recorded {
    cursor: crate::recorded::Cursor,
    refreshed: Option<Instant>,
    by_agent: BTreeMap<String, AgentTaint>,
}

impl RecordedTaints {
    /// The taint the ledger shows on `agent` at `now_ms`, reading the leaves appended since the
    /// last refresh first when that was long enough ago. On the first read, only findings of
    /// the last `window_ms` are read. Without a ledger (no key) the record vouches for
    /// nothing: `None`.
    pub fn in_force(
        &self,
        ledger: Option<&Ledger>,
        agent: &str,
        now_ms: i64,
        window_ms: i64,
    ) -> Result<Option<AgentTaint>, LedgerError> {
        let Some(ledger) = ledger else {
            return Ok(None);
        };
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Read on when it is time, and whenever the agent looks tainted: a clear recorded
        // meanwhile (by the CLI, the console, another replica) takes effect at once.
        let due = state
            .refreshed
            .is_none_or(|at| at.elapsed() >= crate::halt::REFRESH)
            || state
                .by_agent
                .get(agent)
                .is_some_and(|t| now_ms < t.until_ms);
        if due {
            state.refresh(ledger, now_ms, window_ms)?;
        }
        Ok(state
            .by_agent
            .get(agent)
            .filter(|t| now_ms < t.until_ms)
            .cloned())
    }
}

impl Recorded {
    fn refresh(&mut self, ledger: &Ledger, now_ms: i64, window_ms: i64) -> Result<(), LedgerError> {
        let entries = self.cursor.read_new(
            ledger,
            &[Deciding::Finding, Deciding::TaintCleared],
            Some(now_ms.saturating_sub(window_ms)),
        )?;
        for entry in entries {
            let e = entry.event;
            let Some(agent) = e.principal else { continue };
            if e.kind == Some(EventKind::TaintCleared) {
                self.by_agent.remove(&agent);
                continue;
            }
            let Some(taint) = e.detail.as_ref().and_then(|d| d.get("taint")) else {
                continue;
            };
            let field = |name: &str| taint.get(name).and_then(serde_json::Value::as_i64);
            let (Some(level), Some(until_ms)) = (field("level"), field("until_ms")) else {
                continue;
            };
            match self.by_agent.get_mut(&agent) {
                // Taint only rises while it is in force: the higher level, the later end.
                Some(t) if e.time_ms < t.until_ms => {
                    if level > t.level {
                        t.level = level;
                        t.source = e.tool.unwrap_or_default();
                    }
                    t.until_ms = t.until_ms.max(until_ms);
                }
                _ => {
                    self.by_agent.insert(
                        agent.clone(),
                        AgentTaint {
                            agent,
                            session: e.session.unwrap_or_default(),
                            level,
                            source: e.tool.unwrap_or_default(),
                            at_ms: e.time_ms,
                            until_ms,
                        },
                    );
                }
            }
        }
        self.refreshed = Some(Instant::now());
        Ok(())
    }
}
