//! Clearing an agent's taint: one function behind `warden taint clear` and the console's
//! "Tainted agents" page, so both fronts write the same event in the same order. A clear names
//! what the approver was shown (the newest record in force, a [`TaintRecord`]): when the
//! agent's taint changed since, it is refused, and the store clears no record stored after the
//! one named, so a taint raised while the approver was looking outlives their clear. And the
//! taints the ledger records ([`RecordedTaints`]): a read that taints an agent is a `finding`
//! whose `detail.taint` says how much, until when and which record, so a taint row deleted (or
//! a clear row inserted) in the database lifts nothing the ledger shows.

use crate::audit::{AuditError, AuditLog};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;
use warden_core::{AuditEvent, EventKind, TaintRecord};
use warden_store::ledger::Deciding;
use warden_store::{AgentTaint, Ledger, LedgerError, Store, StoreError, TaintInForce};

#[derive(Debug, thiserror::Error)]
pub enum ClearError {
    #[error("give a reason")]
    NoReason,
    /// The agent's taint in force is not what the approver was shown: a record was stored
    /// since (a new read, another tool or session) or one ended. Nothing was recorded or
    /// cleared.
    #[error(
        "the agent's taint changed since it was shown: record {named} was named, the newest \
         in force is now record {newest} ({records} in force, the highest level {level} from \
         `{source}`); review it again",
        newest = now.newest,
        records = now.records,
        level = now.taint.level,
        source = now.taint.source
    )]
    Changed {
        named: TaintRecord,
        now: Box<TaintInForce>,
    },
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a clear stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cleared {
    /// The taint in force as the clear found it: what the approver was shown.
    pub shown: TaintInForce,
    /// How many records stopped counting.
    pub records: u32,
}

/// Records that approver `by` clears `agent`'s taint as they were shown it (`named`, the
/// newest record then in force) for `reason`, then clears record `named` and the older ones;
/// `None` when the agent has no taint in force (nothing recorded, nothing changed). Refused
/// with [`ClearError::Changed`] when the newest record in force at `now_ms` is not `named`.
/// The `taint_cleared` event is durable before the store changes, so a clear that fails
/// half-way leaves a record and the taint, never a silent clear; a record stored between the
/// check and the clear is not cleared (the store clears by number, not by time). `by` must
/// already be an authorised approver (the CLI checks the token, the console the session).
pub fn record_and_clear(
    store: &dyn Store,
    audit: &dyn AuditLog,
    agent: &str,
    named: TaintRecord,
    by: &str,
    reason: &str,
    now_ms: i64,
) -> Result<Option<Cleared>, ClearError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(ClearError::NoReason);
    }
    let Some(shown) = store.taint_in_force(agent, now_ms)? else {
        return Ok(None);
    };
    if shown.newest != named {
        return Err(ClearError::Changed {
            named,
            now: Box::new(shown),
        });
    }
    let taint = &shown.taint;
    let mut event = AuditEvent::new(EventKind::TaintCleared, now_ms);
    event.principal = Some(taint.agent.clone());
    event.reason = Some(reason.to_string());
    event.detail = Some(json!({
        "by": by,
        "record": named,
        "records": shown.records,
        "level": taint.level,
        "source": taint.source,
        "session": taint.session,
        "since_ms": taint.at_ms,
        "until_ms": taint.until_ms,
    }));
    audit.append(&event)?;
    let records = store.clear_agent_taint(agent, named, now_ms, by, reason)?;
    Ok(Some(Cleared { shown, records }))
}

/// The agents' taints as the ledger records them: each `finding` with a `detail.taint`, until a
/// later `taint_cleared` for the agent names its record (or a newer one); only leaves a writer
/// holding the ledger key appended count. Kept in memory and brought up to date from the leaves
/// appended since, every [`crate::halt::REFRESH`] and on each look at an agent it shows
/// tainted: the ledger only grows, so each refresh reads only what is new.
#[derive(Debug, Default)]
pub struct RecordedTaints {
    state: Mutex<Recorded>,
}

#[derive(Debug, Default)]
struct Recorded {
    cursor: crate::recorded::Cursor,
    refreshed: Option<Instant>,
    by_agent: BTreeMap<String, AgentRecord>,
}

/// One agent's recorded taint.
#[derive(Debug, Default)]
struct AgentRecord {
    /// The reads that taint it and have not been cleared, each with the store record its
    /// finding names (findings written before records were named name none). A clear lifts
    /// only reads recorded before it in the ledger: record numbers are the store's, and a
    /// number that goes back (rows deleted, a forged row numbered high) must not make a read
    /// recorded after a clear one that it covered.
    reads: Vec<(Option<TaintRecord>, AgentTaint)>,
}

impl AgentRecord {
    /// As the store picks: of the reads not expired at `now_ms`, the highest level (ties: the
    /// latest).
    fn in_force(&self, now_ms: i64) -> Option<&AgentTaint> {
        self.reads
            .iter()
            .map(|(_, t)| t)
            .filter(|t| now_ms < t.until_ms)
            .max_by_key(|t| (t.level, t.at_ms))
    }

    /// A clear naming `through` (`None`: a clear written before clears named records, which
    /// stopped every read recorded before it).
    fn clear(&mut self, through: Option<TaintRecord>) {
        match through {
            Some(through) => {
                self.reads.retain(|(r, _)| r.is_some_and(|r| r > through));
            }
            None => self.reads.clear(),
        }
    }
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
                .is_some_and(|a| a.in_force(now_ms).is_some());
        if due {
            state.refresh(ledger, now_ms, window_ms)?;
        }
        Ok(state
            .by_agent
            .get(agent)
            .and_then(|a| a.in_force(now_ms))
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
            let record = |detail: Option<&serde_json::Value>| {
                detail
                    .and_then(|d| d.get("record"))
                    .and_then(serde_json::Value::as_i64)
                    .map(TaintRecord)
            };
            if e.kind == Some(EventKind::TaintCleared) {
                let through = record(e.detail.as_ref());
                self.by_agent.entry(agent).or_default().clear(through);
                continue;
            }
            let Some(taint) = e.detail.as_ref().and_then(|d| d.get("taint")) else {
                continue;
            };
            let field = |name: &str| taint.get(name).and_then(serde_json::Value::as_i64);
            let (Some(level), Some(until_ms)) = (field("level"), field("until_ms")) else {
                continue;
            };
            let read = record(Some(taint));
            let recorded = self.by_agent.entry(agent.clone()).or_default();
            recorded.reads.push((
                read,
                AgentTaint {
                    agent,
                    session: e.session.unwrap_or_default(),
                    level,
                    source: e.tool.unwrap_or_default(),
                    at_ms: e.time_ms,
                    until_ms,
                },
            ));
        }
        // What has ended is forgotten; an agent's clear mark is kept.
        for recorded in self.by_agent.values_mut() {
            recorded.reads.retain(|(_, t)| now_ms < t.until_ms);
        }
        self.refreshed = Some(Instant::now());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::sync::Arc;

    fn finding(agent: &str, level: i64, record: Option<i64>) -> AuditEvent {
        let mut e = AuditEvent::new(EventKind::Finding, 1_000);
        e.principal = Some(agent.into());
        e.tool = Some(format!("mail.read_{level}"));
        e.detail = Some(json!({"taint": {"level": level, "until_ms": 100_000, "record": record}}));
        e
    }

    fn cleared(agent: &str, record: Option<i64>) -> AuditEvent {
        let mut e = AuditEvent::new(EventKind::TaintCleared, 2_000);
        e.principal = Some(agent.into());
        e.detail = Some(match record {
            Some(r) => json!({"by": "dana", "record": r}),
            None => json!({"by": "dana"}),
        });
        e
    }

    /// The ledger's view lifts only what a clear named, among the reads recorded before it: a
    /// read numbered after the record named stays, a read recorded after the clear taints
    /// whatever its number, and a clear written before records were named lifts everything
    /// recorded before it.
    #[test]
    fn a_recorded_clear_lifts_only_the_records_it_names() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(warden_store::SqliteStore::open(&dir.path().join("w.db")).unwrap());
        let ledger = Ledger::open(
            store,
            &warden_store::LedgerSettings {
                key_path: dir.path().join("ledger.key"),
                origin: "warden.test/taint".into(),
                checkpoint_interval: std::time::Duration::from_secs(3600),
                defer_within: warden_store::DEFER_WITHIN,
                witnesses: Vec::new(),
                pinned: None,
            },
        )
        .unwrap();
        // Read as a warden starting now would: every leaf so far, in order (a running one reads
        // on only every `REFRESH` while the agent looks clean, and the store's row counts at
        // once meanwhile).
        let level = |now| {
            RecordedTaints::default()
                .in_force(Some(&ledger), "triage", now, 1_000_000)
                .unwrap()
                .map(|t| t.level)
        };
        ledger.append(&finding("triage", 30, Some(1))).unwrap();
        ledger.append(&finding("triage", 90, Some(2))).unwrap();
        assert_eq!(level(3_000), Some(90));

        // The approver was shown record 1 only (record 2's row was hidden from them).
        ledger.append(&cleared("triage", Some(1))).unwrap();
        assert_eq!(level(3_000), Some(90), "the newer read is not lifted");
        ledger.append(&cleared("triage", Some(2))).unwrap();
        assert_eq!(level(3_000), None);

        // A finding recorded after a clear taints whatever record it names: the store's
        // numbers can go back (rows deleted), or a forged row numbered high was cleared.
        ledger.append(&finding("triage", 40, Some(1))).unwrap();
        assert_eq!(
            level(3_000),
            Some(40),
            "a number that went back still taints"
        );
        ledger.append(&cleared("triage", Some(i64::MAX))).unwrap();
        assert_eq!(level(3_000), None);
        ledger.append(&finding("triage", 70, Some(2))).unwrap();
        assert_eq!(
            level(3_000),
            Some(70),
            "a clear numbered high covers no later read"
        );
        assert_eq!(level(100_000), None, "it ends when the read's window does");

        // A clear from before records were named lifts what was recorded before it.
        ledger.append(&finding("triage", 50, None)).unwrap();
        assert_eq!(level(3_000), Some(70));
        ledger.append(&cleared("triage", None)).unwrap();
        assert_eq!(level(3_000), None);
    }
}
