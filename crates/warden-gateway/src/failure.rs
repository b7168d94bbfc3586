//! Why warden itself could not finish a call, kept typed from the store to the wire.
//!
//! A store error keeps its [`Transience`] on its way up: through the ledger
//! ([`warden_store::LedgerError`]), the audit log ([`AuditError`]), the gate ([`GateError`])
//! and the pipeline ([`crate::CallError`]), so that the front can tell the agent whether the
//! same call may succeed later. Either way nothing was forwarded. What the agent is told never
//! carries the error's text (SQL, paths, addresses); the operator's log does.

use crate::audit::AuditError;
use crate::gate::GateError;
use warden_store::{LedgerError, StoreError, Transience};

/// How long an agent, an approver's browser or a proxy is asked to wait before it tries again
/// after a transient failure: about how long the PostgreSQL pool waits for a connection.
pub const RETRY_AFTER_SECS: u64 = 5;

/// A failure inside warden, with where it came from.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error(transparent)]
    Gate(#[from] GateError),
    /// The agent's earlier results were still being screened when the call's wait ran out: it
    /// was not decided. Once they are, the same call is decided as any other.
    #[error(transparent)]
    Outstanding(#[from] crate::pipeline::Outstanding),
    /// Not the store's: a screen that failed, a blocking task that panicked, a check that did
    /// not hold. Trying again fails the same way.
    #[error("{0}")]
    Warden(String),
}

impl Failure {
    /// Whether the same call may succeed later, unchanged.
    pub fn transience(&self) -> Transience {
        match self {
            Self::Store(e) => e.transience(),
            Self::Ledger(e) => e.transience(),
            Self::Audit(e) => e.transience(),
            Self::Gate(e) => e.transience(),
            Self::Outstanding(_) => Transience::Transient,
            Self::Warden(_) => Transience::Permanent,
        }
    }

    /// A failure that is warden's own, not the store's.
    pub fn warden(why: impl Into<String>) -> Self {
        Self::Warden(why.into())
    }
}

impl From<tokio::task::JoinError> for Failure {
    fn from(e: tokio::task::JoinError) -> Self {
        Self::Warden(format!("a blocking task failed: {e}"))
    }
}

/// What an agent is told of a call warden refused because it failed: the refusal, and whether
/// the same call may succeed later. Never what failed: that is in the operator's log.
pub(crate) fn told(refusal: &impl std::fmt::Display, transience: Transience) -> String {
    match transience {
        Transience::Transient => format!(
            "{refusal}: warden could not decide it for now (its store unavailable, or this \
             agent's earlier results still being screened); the same call may succeed if sent \
             again in {RETRY_AFTER_SECS} s"
        ),
        Transience::Permanent => {
            format!("{refusal}: sending it again will not help until warden's operator acts")
        }
    }
}
