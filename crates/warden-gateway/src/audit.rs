//! The interface through which every decision reaches the audit log.
//!
//! The gateway knows only `AuditLog::append`; what sits behind it (the store's append-only table
//! today) can change without touching the pipeline. `append` returns once the event is durable,
//! and its error stops the call: nothing is forwarded without a record.

use std::sync::Arc;
use warden_core::AuditEvent;
use warden_store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
#[error("the audit log could not record the event: {0}")]
pub struct AuditError(#[from] pub StoreError);

pub trait AuditLog: Send + Sync {
    /// Makes `event` durable and returns its index in the log.
    fn append(&self, event: &AuditEvent) -> Result<u64, AuditError>;
}

/// The store's append-only event table as the audit log.
pub struct StoreAudit(pub Arc<dyn Store>);

impl AuditLog for StoreAudit {
    fn append(&self, event: &AuditEvent) -> Result<u64, AuditError> {
        Ok(self.0.append_event(event)?)
    }
}
