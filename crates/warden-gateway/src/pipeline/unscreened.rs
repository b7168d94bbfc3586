//! Per agent: the results warden has yet to screen, and the decisions that must wait for them.
//!
//! A result can taint the agent that called for it (`answer.rs`), and the taint is raised only
//! once the upstream has answered and the screen has read the answer. A decision that reads the
//! taint (`context.session`, `context.agent`) and is made meanwhile would read the agent as it
//! was before that result: five writes sent at once, each echoing an injection, would all read
//! "untainted" while the first was still in flight. So each agent has a gate, a fair
//! reader-writer lock:
//!
//! * every call the gate lets through to an upstream holds it *shared* ([`Unscreened`]) from its
//!   decision until its result has been screened and any taint is recorded, in the store, the
//!   ledger and with the witnesses (the guard is dropped with the call's [`Authorized`]);
//! * a decision that reads the taint takes it *exclusively* ([`Deciding`]): it waits until every
//!   allowed call of the agent has had its result screened, decides, and — when the call is
//!   allowed — turns its hold into a shared one without letting another decision in between.
//!
//! So no decision that reads the taint is made while a result that could raise it is
//! outstanding, and once a tainting result is recorded, no later decision misses it. Calls
//! whose rules do not read the taint (reads, in most policies) take the gate shared at once:
//! they run side by side, and only queue behind a decision that waits (the lock is fair, so a
//! stream of reads cannot keep a write from ever being decided).
//!
//! No call waits on itself: a call takes the gate once, before it reads the taint, and holds
//! nothing of it while it waits. A held call keeps nothing while humans answer; once approved,
//! it takes the gate shared before it is forwarded. Claude Code runs its own tools, so a call
//! decided through its hooks holds nothing past its decision. A call waits at most
//! [`Gates::wait_limit`] (twice the upstream timeout, and a margin for the screen and the
//! ledger: the longest a result can take to be screened); past it the call is refused
//! undecided, never decided on a taint that may be stale.
//!
//! [`Authorized`]: super::Authorized

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock};

/// What [`Gates::wait_limit`] allows beyond the upstream's own time: the screen, the taint's
/// record and its witnesses.
const SCREEN_MARGIN: Duration = Duration::from_secs(30);

/// One gate per agent (kept for warden's life: agents are configured).
#[derive(Default)]
pub(crate) struct Gates {
    gates: Mutex<HashMap<String, Arc<RwLock<()>>>>,
}

/// A call's result is yet to be screened: while this is held, no decision that reads the
/// agent's taint is made. Empty for a call that holds nothing (a hook's).
#[derive(Default)]
pub(crate) struct Unscreened(Option<OwnedRwLockReadGuard<()>>);

impl std::fmt::Debug for Unscreened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Unscreened")
            .field(&self.0.is_some())
            .finish()
    }
}

/// The gate as a decision holds it: exclusively when the decision reads the taint.
pub(crate) enum Deciding {
    Exclusive(OwnedRwLockWriteGuard<()>),
    Shared(OwnedRwLockReadGuard<()>),
}

impl Deciding {
    /// The call was let through: its result is now outstanding. An exclusive hold becomes a
    /// shared one at once, with no decision let in between.
    pub(crate) fn forwarding(self) -> Unscreened {
        Unscreened(Some(match self {
            Self::Exclusive(write) => OwnedRwLockWriteGuard::downgrade(write),
            Self::Shared(read) => read,
        }))
    }
}

/// A call waited past [`Gates::wait_limit`] for the results of the agent's earlier calls. It
/// was not decided; once those results are screened, the same call is decided as any other, so
/// a retry may succeed (the failure is transient).
#[derive(Debug, thiserror::Error)]
#[error(
    "the results of this agent's earlier calls were still being screened after {} s; this call \
     was not decided",
    .0.as_secs()
)]
pub struct Outstanding(pub Duration);

impl Gates {
    fn gate(&self, agent: &str) -> Arc<RwLock<()>> {
        self.gates
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(agent.to_string())
            .or_default()
            .clone()
    }

    /// How long a call waits for the gate: twice `upstream_timeout` (a call may wait that long
    /// for its place in flight, then as long for its answer) and a margin.
    pub(crate) fn wait_limit(upstream_timeout: Duration) -> Duration {
        upstream_timeout
            .saturating_mul(2)
            .saturating_add(SCREEN_MARGIN)
    }

    /// The gate for a decision of `agent`'s: exclusive when it reads the taint (it waits until
    /// every allowed call of the agent has had its result screened), else shared.
    pub(crate) async fn deciding(
        &self,
        agent: &str,
        reads_taint: bool,
        within: Duration,
    ) -> Result<Deciding, Outstanding> {
        let gate = self.gate(agent);
        let taken = async {
            match reads_taint {
                true => Deciding::Exclusive(gate.write_owned().await),
                false => Deciding::Shared(gate.read_owned().await),
            }
        };
        tokio::time::timeout(within, taken)
            .await
            .map_err(|_| Outstanding(within))
    }

    /// A shared hold for a call that is let through without a decision that took the gate (a
    /// held call, once approved).
    pub(crate) async fn forwarding(
        &self,
        agent: &str,
        within: Duration,
    ) -> Result<Unscreened, Outstanding> {
        let gate = self.gate(agent);
        tokio::time::timeout(within, gate.read_owned())
            .await
            .map(|read| Unscreened(Some(read)))
            .map_err(|_| Outstanding(within))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    /// No wait at all: a gate that is free is taken at once, one that is not gives up.
    const NOW: Duration = Duration::ZERO;

    #[tokio::test]
    async fn a_decision_that_reads_the_taint_waits_for_every_outstanding_result() {
        let gates = Gates::default();
        let outstanding = gates.deciding("a", false, NOW).await.unwrap().forwarding();
        // Another agent's decisions do not wait; the agent's reads go on beside the result.
        assert!(gates.deciding("b", true, NOW).await.is_ok());
        let read = gates.deciding("a", false, NOW).await.unwrap();
        // A decision that reads the taint is not made; past its wait it gives up, undecided.
        let refused = gates.deciding("a", true, NOW).await.err().unwrap();
        assert!(refused.to_string().contains("not decided"), "{refused}");
        // Undecided, not refused for good: once the result is screened the same call is
        // decided, so the agent is told it may send it again.
        assert_eq!(
            crate::failure::Failure::from(refused).transience(),
            warden_store::Transience::Transient
        );
        drop((read, outstanding));

        let deciding = gates.deciding("a", true, NOW).await.unwrap();
        // While it decides, nothing of the agent's is let through.
        assert!(gates.deciding("a", false, NOW).await.is_err());
        assert!(gates.forwarding("a", NOW).await.is_err());
        // Allowed: its own result is outstanding, and holds off the next such decision only.
        let own = deciding.forwarding();
        assert!(gates.deciding("a", true, NOW).await.is_err());
        assert!(gates.deciding("a", false, NOW).await.is_ok());
        assert!(gates.forwarding("a", NOW).await.is_ok());
        drop(own);
        assert!(gates.deciding("a", true, NOW).await.is_ok());
    }
}
