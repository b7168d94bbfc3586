//! The interface through which every decision reaches the audit log.
//!
//! The gateway knows only `AuditLog`; what sits behind it (the store's Merkle ledger,
//! `warden_store::Ledger`) can change without touching the pipeline. `append` returns once the
//! event is durable, and its error stops the call: no write is forwarded and no result reaches
//! the agent without a record (an allowed read may be forwarded while its decision commits; the
//! pipeline holds its result until then).
//!
//! The ledger batches concurrent appends into one transaction and one fsync (group commit). The
//! pipeline uses `append_async`, which waits for that commit without holding a thread;
//! `append` is for synchronous callers (the CLI, the console's blocking handlers).

pub mod ocsf;

use std::future::Future;
use std::pin::Pin;
use warden_store::{Ledger, LedgerError, Transience};

/// The future of an [`AuditLog::append_async`].
pub type Appending<'a> = Pin<Box<dyn Future<Output = Result<u64, AuditError>> + Send + 'a>>;

#[derive(Debug, thiserror::Error)]
#[error("the audit log could not record the event: {0}")]
pub struct AuditError(#[from] pub LedgerError);

impl AuditError {
    /// Whether the same append may succeed later ([`LedgerError::transience`]).
    pub fn transience(&self) -> Transience {
        self.0.transience()
    }
}

/// A value whose event the audit log made durable, and the index it got: a receipt. Only
/// [`record`] makes one, after the append succeeded — so code that holds a `Recorded<Decision>`
/// holds proof that the decision is on the record (as rustls makes a verified certificate only
/// through its verifier).
#[derive(Debug)]
pub struct Recorded<T> {
    value: T,
    index: u64,
}

impl<T> Recorded<T> {
    pub fn value(&self) -> &T {
        &self.value
    }

    /// The event's index in the log.
    pub fn index(&self) -> u64 {
        self.index
    }
}

/// Makes `event`, which records `value`, durable; the receipt for `value` once it is.
pub async fn record<T>(
    log: &dyn AuditLog,
    event: &warden_core::AuditEvent,
    value: T,
) -> Result<Recorded<T>, AuditError> {
    let index = log.append_async(event).await?;
    Ok(Recorded { value, index })
}

pub trait AuditLog: Send + Sync {
    /// Makes `event` durable and returns its index in the log.
    fn append(&self, event: &warden_core::AuditEvent) -> Result<u64, AuditError>;

    /// [`AuditLog::append`] for async callers: resolves once `event` is durable.
    fn append_async<'a>(&'a self, event: &'a warden_core::AuditEvent) -> Appending<'a>;

    /// [`AuditLog::append_async`] for an event recorded after the action it describes (an
    /// outcome): it may wait briefly to share another append's commit. Resolves once durable.
    fn append_deferred<'a>(&'a self, event: &'a warden_core::AuditEvent) -> Appending<'a> {
        self.append_async(event)
    }

    /// Writes what is queued, signs a final checkpoint and refuses later appends. `warden serve`
    /// calls it when it stops.
    fn shutdown(&self) -> Result<(), AuditError> {
        Ok(())
    }

    /// The ledger behind this log, when it is one: what decides on the record (the gate's
    /// proof, halts, taints) reads it through the ledger's own index
    /// ([`Ledger::recorded`]). `None` where the log holds no key: then no stored event can be
    /// trusted, and nothing that needs one (a human's approval, a review) is proven.
    fn ledger(&self) -> Option<&Ledger> {
        None
    }

    /// The key that MACs console sign-in sessions stored beside this log, when the log holds
    /// a signing key; `None` keeps sessions in the console's memory.
    fn session_key(&self) -> Option<&warden_ledger::RecordKey> {
        self.ledger().map(Ledger::session_key)
    }

    /// The key that tells the leaves this log's writers appended from rows written into the
    /// store by anyone else; `None` where the log holds no key.
    fn leaf_key(&self) -> Option<&warden_ledger::LeafKey> {
        self.ledger().map(Ledger::leaf_key)
    }
}

impl AuditLog for Ledger {
    fn append(&self, event: &warden_core::AuditEvent) -> Result<u64, AuditError> {
        Ok(Ledger::append(self, event)?)
    }

    fn append_async<'a>(&'a self, event: &'a warden_core::AuditEvent) -> Appending<'a> {
        Box::pin(async move { Ok(Ledger::append_async(self, event).await?) })
    }

    fn append_deferred<'a>(&'a self, event: &'a warden_core::AuditEvent) -> Appending<'a> {
        Box::pin(async move { Ok(Ledger::append_deferred(self, event).await?) })
    }

    fn shutdown(&self) -> Result<(), AuditError> {
        Ok(Ledger::shutdown(self)?)
    }

    fn ledger(&self) -> Option<&Ledger> {
        Some(self)
    }
}
