//! Stage 10: what the upstream returned — a result or an error — becomes the agent's answer.
//!
//! Both are untrusted text and take the same path: over-size results and error messages are
//! withheld; everything else is screened and marked as data
//! ([`Screening`](crate::screening::Screening)); a read at
//! `taint_at` or more taints the *agent* in the store (every replica, every later session)
//! before the agent sees the answer; a flagged read is a `finding` in the ledger. warden's own
//! words about a failure stay outside the data markers, the upstream's inside. A write's result
//! is screened without the verbatim echoes of the write's own `text` arguments
//! ([`Sent`](crate::screening::Sent)): they were screened on the way out, and an agent is not
//! tainted by reading back what it wrote.

use crate::pipeline::{Authorized, CallError, Gateway, digest_of};
use crate::screening::{ResultScreen, Sent, screen_sized};
use crate::upstream::UpstreamError;
use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::json;
use warden_core::{AuditEvent, EventKind, canonical_json};
use warden_policy::{Config, ResultMode};
use warden_store::{AgentTaint, StoreError};

/// Content blocks of one result warden screens at most; a result with more is withheld. Each
/// block is screened on its own and with the others, so a result cut into many tiny blocks
/// would cost many scans for no more text.
const MAX_RESULT_BLOCKS: usize = 1_000;

/// The agent's answer, with what the outcome record says about it.
pub(crate) struct Answer {
    pub result: CallToolResult,
    /// `sha256:` of the canonical JSON of what the upstream returned (its error message for an
    /// error), as the outcome and finding events record it.
    pub digest: Option<String>,
    pub is_error: bool,
    /// Whether the agent received what the upstream answered, as a result and not an error:
    /// neither withheld (too large, or flagged under `withhold`) nor failed.
    pub delivered: bool,
}

impl Gateway {
    /// Screens what the upstream returned for `authorized`, which sent `sent`, and records what
    /// the screen found.
    pub(crate) async fn answer(
        &self,
        config: &Config,
        authorized: &Authorized,
        mode: ResultMode,
        returned: Result<CallToolResult, UpstreamError>,
        sent: &Sent,
    ) -> Result<Answer, CallError> {
        let call = authorized.call();
        let delivered = returned.is_ok();
        // What the screen needs, owned: it may run on the blocking pool.
        let screened_for = (
            call.principal.clone(),
            call.session.clone(),
            call.tool.clone(),
            sent.clone(),
        );
        let (result, digest, screened) = match returned {
            Ok(r) => {
                // One canonical encoding of what the upstream said: its size is checked against
                // the limit and its digest goes into the outcome (and any finding) event.
                let canonical = serde_json::to_value(&r)
                    .map(|v| canonical_json(&v))
                    .unwrap_or_default();
                let digest = digest_of(canonical.as_bytes());
                if canonical.len() > config.gateway.max_result_bytes {
                    let msg = format!(
                        "the upstream result ({} bytes) exceeds the {} byte limit and was withheld",
                        canonical.len(),
                        config.gateway.max_result_bytes
                    );
                    return Ok(Answer {
                        result: CallToolResult::error(vec![ContentBlock::text(msg)]),
                        digest,
                        is_error: true,
                        delivered: false,
                    });
                }
                if r.content.len() > MAX_RESULT_BLOCKS {
                    let msg = format!(
                        "the upstream result ({} content blocks) exceeds the {MAX_RESULT_BLOCKS} \
                         block limit and was withheld",
                        r.content.len()
                    );
                    return Ok(Answer {
                        result: CallToolResult::error(vec![ContentBlock::text(msg)]),
                        digest,
                        is_error: true,
                        delivered: false,
                    });
                }
                let (principal, session, tool, sent) = screened_for;
                let (r, screened) = screen_sized(&self.screening, canonical.len(), move |s| {
                    s.process_for(&principal, &session, &tool, mode, r, &sent)
                })
                .await
                .map_err(|e| CallError::warden(format!("screening a result: {e}")))?;
                (r, digest, Some(screened))
            }
            Err(e) => {
                let digest = e.said().and_then(|s| digest_of(s.as_bytes()));
                // What the upstream said about its failure is bounded like a result: over the
                // limit, the agent gets warden's words only.
                if let Some(said) = e.said()
                    && said.len() > config.gateway.max_result_bytes
                {
                    let msg = format!(
                        "warden: {}. This call did not complete; what the upstream said ({} \
                         bytes) exceeds the {} byte limit and was withheld.",
                        e.summary(),
                        said.len(),
                        config.gateway.max_result_bytes
                    );
                    return Ok(Answer {
                        result: CallToolResult::error(vec![ContentBlock::text(msg)]),
                        digest,
                        is_error: true,
                        delivered: false,
                    });
                }
                let said = e.said().map_or(0, str::len);
                let (principal, session, tool, sent) = screened_for;
                let (r, screened) = screen_sized(&self.screening, said, move |s| {
                    s.process_error_for(&principal, &session, &tool, mode, &e, &sent)
                })
                .await
                .map_err(|e| CallError::warden(format!("screening an error: {e}")))?;
                (r, digest, screened)
            }
        };
        let delivered = delivered && screened.as_ref().is_some_and(|s| s.action != "withhold");
        if let Some(screened) = &screened {
            self.metrics
                .screened(&call.tool.to_string(), screened.report.verdict);
            self.taint_and_report(
                authorized.call(),
                Some(authorized.decision_index()),
                screened,
                digest.as_deref(),
            )
            .await?;
        }
        let is_error = result.is_error.unwrap_or(false);
        Ok(Answer {
            result,
            digest,
            is_error,
            delivered: delivered && !is_error,
        })
    }

    /// Raises the taint of `call`'s agent to `level` (0 to 100) for the taint window, in the
    /// store: the `taint` a finding records for it (level, end, the store's record number), and
    /// whether it is higher than the taint in force before.
    pub(crate) async fn raise_taint(
        &self,
        call: &warden_core::ToolCall,
        level: i64,
    ) -> Result<(serde_json::Value, bool), CallError> {
        let settings = self.screening.settings();
        let now = self.now();
        let window =
            i64::try_from(settings.taint_window_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        let taint = AgentTaint {
            agent: call.principal.0.clone(),
            session: call.session.0.clone(),
            level,
            source: call.tool.to_string(),
            at_ms: now,
            until_ms: now.saturating_add(window),
        };
        let until_ms = taint.until_ms;
        let (record, higher) = self
            .blocking(move |store, _| {
                let before = store.agent_taint(&taint.agent, taint.at_ms)?;
                let record = store.raise_agent_taint(&taint)?;
                Ok::<_, StoreError>((record, before.is_none_or(|b| b.level < taint.level)))
            })
            .await?;
        // The store's record number too: a clear names the records it stops by number.
        Ok((
            json!({"level": level, "until_ms": until_ms, "record": record}),
            higher,
        ))
    }

    /// A read at `taint_at` or more taints the agent, durably, before it sees the answer; a
    /// flagged read is recorded as a finding (naming the decision that let the call run, when
    /// warden knows it).
    pub(crate) async fn taint_and_report(
        &self,
        call: &warden_core::ToolCall,
        decision_index: Option<u64>,
        screened: &ResultScreen,
        digest: Option<&str>,
    ) -> Result<(), CallError> {
        let settings = self.screening.settings();
        let mut raised = None;
        // Whether this read raised the agent's taint above what was in force: only then is
        // there something new for the witnesses to hold.
        let mut higher = false;
        if screened.report.score >= settings.taint_at {
            let level = (f64::from(screened.report.score) * 100.0).round() as i64;
            let (taint, was_higher) = self.raise_taint(call, level).await?;
            raised = Some(taint);
            higher = was_higher;
        }
        if raised.is_some() || screened.report.verdict >= warden_screen::Verdict::Suspicious {
            let mut ev = AuditEvent::new(EventKind::Finding, self.now());
            ev.principal = Some(call.principal.0.clone());
            ev.session = Some(call.session.0.clone());
            ev.tool = Some(call.tool.to_string());
            ev.result_digest = digest.map(str::to_owned);
            ev.reason = Some(format!(
                "prompt injection screen: {}",
                screened.report.summary()
            ));
            ev.detail = Some(json!({
                "detector": "warden-screen",
                "score": screened.report.score,
                "verdict": screened.report.verdict.as_str(),
                "action": screened.action,
                "findings": screened.report.findings.iter().map(|f| json!({
                    "kind": f.kind.as_str(), "detail": f.detail,
                    "span": [f.span.start, f.span.end], "score": f.score,
                })).collect::<Vec<_>>(),
                "decision_index": decision_index,
                // The taint this read raised: the ledger's own record of it, which a row
                // deleted from the store does not lift (`taint::RecordedTaints`).
                "taint": raised,
            }));
            match self.record(ev).await {
                // A taint is on the record before the agent reads on.
                Err(e) if raised.is_some() => return Err(e),
                Err(e) => tracing::error!(error = %e, "screen finding not recorded"),
                Ok(_) => {}
            }
            // And with the witnesses, where there are any, so that a store cut after a crash
            // cannot lift it unseen: the agent reads on only once they hold it. A read that
            // raises nothing above the taint in force (held since it was raised) waits for
            // nothing: hostile content read again and again costs no checkpoint each.
            if higher {
                self.witness(&format!("the taint of agent `{}`", call.principal.0))
                    .await?;
            }
        }
        Ok(())
    }
}
