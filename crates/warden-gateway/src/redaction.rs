//! Redacting a leaf's sealed content on the record: the function behind `warden audit redact`
//! and the approvers' API, so both check the same things and write the same event in the same
//! order (the `redaction` event first, then the content goes).

use crate::audit::{AuditError, AuditLog};
use serde_json::json;
use warden_core::{AuditEvent, EventKind};
use warden_store::{Store, StoreError};

/// Why a redaction was not made.
#[derive(Debug, thiserror::Error)]
pub enum RedactError {
    #[error("leaf {index} does not exist (the ledger has {size})")]
    NoLeaf { index: u64, size: u64 },
    #[error("leaf {0} has no sealed content (nothing sensitive, or already redacted)")]
    NothingSealed(u64),
    #[error("give a reason")]
    NoReason,
    #[error("cannot read or redact the ledger: {0}")]
    Store(#[from] StoreError),
    #[error("cannot record the redaction: {0}")]
    Audit(#[from] AuditError),
}

/// What a redaction removed and where it is recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted {
    /// The sealed fields deleted (`args`, `rationale`, …).
    pub removed: Vec<String>,
    /// The leaf of the `redaction` event.
    pub recorded: u64,
}

/// Deletes the sealed content of leaf `index` at `now`, for approver `by` (checked by the
/// caller), recorded first: a redaction that happened is never missing from the log. The leaf
/// and every proof stay valid.
pub fn redact(
    store: &dyn Store,
    audit: &dyn AuditLog,
    index: u64,
    by: &str,
    reason: &str,
    requested_by: Option<&str>,
    now: i64,
) -> Result<Redacted, RedactError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(RedactError::NoReason);
    }
    let size = store.ledger_size()?;
    if index >= size {
        return Err(RedactError::NoLeaf { index, size });
    }
    let fields: Vec<String> = store
        .ledger_sealed(index, index.saturating_add(1))?
        .into_iter()
        .map(|(_, c)| c.field)
        .collect();
    if fields.is_empty() {
        return Err(RedactError::NothingSealed(index));
    }
    let mut event = AuditEvent::new(EventKind::Redaction, now);
    event.reason = Some(reason.to_string());
    event.detail = Some(json!({"index": index, "fields": fields, "by": by,
                               "requested_by": requested_by}));
    let recorded = audit.append(&event)?;
    let removed = store.ledger_redact(index)?;
    Ok(Redacted { removed, recorded })
}
