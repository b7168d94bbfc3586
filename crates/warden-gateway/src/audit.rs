//! The interface through which every decision reaches the audit log.
//!
//! The gateway knows only `AuditLog`; what sits behind it (the store's Merkle ledger,
//! `warden_store::Ledger`) can change without touching the pipeline. `append` returns once the
//! event is durable, and its error stops the call: nothing is forwarded without a record.
//!
//! The trait stays synchronous: the pipeline calls it from `spawn_blocking`, and the ledger
//! batches concurrent appends into one transaction and one fsync (group commit), so a blocked
//! caller costs a parked thread, not a disk write of its own.

pub mod ocsf;

use warden_store::{Ledger, LedgerError};

#[derive(Debug, thiserror::Error)]
#[error("the audit log could not record the event: {0}")]
pub struct AuditError(#[from] pub LedgerError);

pub trait AuditLog: Send + Sync {
    /// Makes `event` durable and returns its index in the log.
    fn append(&self, event: &warden_core::AuditEvent) -> Result<u64, AuditError>;

    /// Writes what is queued, signs a final checkpoint and refuses later appends. `warden serve`
    /// calls it when it stops.
    fn shutdown(&self) -> Result<(), AuditError> {
        Ok(())
    }
}

impl AuditLog for Ledger {
    fn append(&self, event: &warden_core::AuditEvent) -> Result<u64, AuditError> {
        Ok(Ledger::append(self, event)?)
    }

    fn shutdown(&self) -> Result<(), AuditError> {
        Ok(Ledger::shutdown(self)?)
    }
}
