//! The cap on one agent's requests waiting for approvers (`[approvals] max_pending_per_agent`),
//! made to hold under concurrency.
//!
//! A held call's request is stored only after its decision is recorded, so counting the stored
//! requests alone lets every call in flight between the two pass the same count: a wave of
//! concurrent held calls filed far more requests than the cap. Each held call therefore takes a
//! [`Slot`] at its gate, counted with the stored requests, one check at a time, and
//! keeps it until its request is stored (or the call ends without one). The request is stored,
//! and its slot given back, under the same lock as the check: a count sees each held call once,
//! as a slot or as a stored request. The lock is the agent's: one agent's held calls (or a slow
//! store under them) never wait on another's.
//!
//! The slots are this process's: replicas sharing a store each check their own, so together
//! they may exceed the cap by the calls the others have in flight.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// One async lock per agent, made on first use and kept for warden's life (agents are
/// configured). The map is locked briefly; an agent's lock may be held across `.await`s.
#[derive(Debug, Default)]
pub(crate) struct AgentLocks(Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

impl AgentLocks {
    /// `agent`'s lock.
    pub(crate) fn of(&self, agent: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(agent.to_string())
            .or_default()
            .clone()
    }
}

/// The held calls of each agent whose requests are not yet stored.
#[derive(Debug, Default)]
pub(crate) struct Holding {
    /// Per agent: one count and reservation at a time (async: the count reads the store).
    checking: AgentLocks,
    /// Per agent, the calls (by [`Slot`] key: tool and arguments) held and not yet stored.
    reserved: Arc<Mutex<HashMap<String, Vec<String>>>>,
}

/// A held call's place under its agent's cap, from its gate until its request is stored.
#[derive(Debug)]
pub(crate) struct Slot {
    reserved: Arc<Mutex<HashMap<String, Vec<String>>>>,
    agent: String,
    key: String,
}

/// What the store knows, read under the agent's check: how many of its requests wait, and
/// what became of an earlier request for the same call.
pub(crate) struct Stored<R> {
    pub(crate) waiting: u64,
    pub(crate) earlier: Option<R>,
}

/// The answer to [`Holding::reserve`].
pub(crate) enum Reserved<R> {
    /// The call may be held: its slot.
    Slot(Slot),
    /// The agent already has this many requests waiting: over the cap.
    Full(u64),
    /// The same call is being held right now (its request not stored yet).
    InFlight,
    /// An earlier request for the same call, as the store has it.
    Earlier(R),
}

impl Holding {
    /// A slot for one more held call of `agent` — the call `key` names (its tool and
    /// arguments) — unless the same call is held already, in flight here or earlier in the
    /// store (`stored`, read under the check, says), or the stored and taken slots reach `cap`.
    pub(crate) async fn reserve<F, E, R>(
        &self,
        agent: &str,
        key: &str,
        cap: u64,
        stored: F,
    ) -> Result<Reserved<R>, E>
    where
        F: std::future::Future<Output = Result<Stored<R>, E>>,
    {
        let checking = self.checking.of(agent);
        let _checking = checking.lock().await;
        let stored = stored.await?;
        if let Some(earlier) = stored.earlier {
            return Ok(Reserved::Earlier(earlier));
        }
        let mut reserved = self.reserved.lock().unwrap_or_else(PoisonError::into_inner);
        let taken = reserved.entry(agent.to_string()).or_default();
        if taken.iter().any(|k| k == key) {
            return Ok(Reserved::InFlight);
        }
        let waiting = stored
            .waiting
            .saturating_add(u64::try_from(taken.len()).unwrap_or(u64::MAX));
        if waiting >= cap {
            return Ok(Reserved::Full(waiting));
        }
        taken.push(key.to_string());
        Ok(Reserved::Slot(Slot {
            reserved: Arc::clone(&self.reserved),
            agent: agent.to_string(),
            key: key.to_string(),
        }))
    }

    /// Stores a held call's request (`store`) and gives back its slot, under the check's lock.
    pub(crate) async fn store<F, T>(&self, slot: Option<Slot>, store: F) -> T
    where
        F: std::future::Future<Output = T>,
    {
        let Some(slot) = slot else {
            return store.await;
        };
        let checking = self.checking.of(&slot.agent);
        let _checking = checking.lock().await;
        let stored = store.await;
        drop(slot);
        stored
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut reserved = self.reserved.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(taken) = reserved.get_mut(&self.agent) {
            if let Some(at) = taken.iter().position(|k| *k == self.key) {
                taken.swap_remove(at);
            }
            if taken.is_empty() {
                reserved.remove(&self.agent);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    async fn stored(n: u64) -> Result<Stored<()>, ()> {
        Ok(Stored {
            waiting: n,
            earlier: None,
        })
    }

    fn slot(r: Reserved<()>) -> Option<Slot> {
        match r {
            Reserved::Slot(s) => Some(s),
            _ => None,
        }
    }

    fn full(r: Reserved<()>) -> Option<u64> {
        match r {
            Reserved::Full(n) => Some(n),
            _ => None,
        }
    }

    /// One agent's check (its count read from a store that is slow to answer) holds up no
    /// other agent's.
    #[tokio::test]
    async fn one_agents_check_does_not_wait_on_anothers() {
        let h = Arc::new(Holding::default());
        let (answer, answered) = tokio::sync::oneshot::channel::<u64>();
        let slow = {
            let h = Arc::clone(&h);
            tokio::spawn(async move {
                h.reserve("triage", "a", 5, async {
                    stored(answered.await.unwrap_or(0)).await
                })
                .await
            })
        };
        // The slow check is under way, its lock taken.
        for _ in 0..16 {
            tokio::task::yield_now().await;
        }
        let mut other = Box::pin(h.reserve("responder", "a", 5, stored(0)));
        assert!(
            futures::poll!(&mut other).is_ready(),
            "another agent's check waited"
        );
        answer.send(0).unwrap();
        assert!(slot(slow.await.unwrap().unwrap()).is_some());
    }

    #[tokio::test]
    async fn slots_count_until_given_back() {
        let h = Holding::default();
        let a = slot(h.reserve("triage", "a", 2, stored(0)).await.unwrap()).unwrap();
        let _b = slot(h.reserve("triage", "b", 2, stored(0)).await.unwrap()).unwrap();
        // Two taken: a third is refused, though the store counts none yet.
        assert_eq!(
            full(h.reserve("triage", "c", 2, stored(0)).await.unwrap()),
            Some(2)
        );
        // Another agent has its own.
        assert!(slot(h.reserve("responder", "a", 2, stored(0)).await.unwrap()).is_some());
        drop(a);
        // One given back (its request stored: the store counts it now).
        assert_eq!(
            full(h.reserve("triage", "c", 2, stored(1)).await.unwrap()),
            Some(2)
        );
        assert!(slot(h.reserve("triage", "c", 3, stored(1)).await.unwrap()).is_some());
    }

    /// The same call sent again while it is being held is not held twice; once its slot is
    /// given back it may be held again.
    #[tokio::test]
    async fn the_same_call_in_flight_is_held_once() {
        let h = Holding::default();
        let a = slot(h.reserve("triage", "a", 5, stored(0)).await.unwrap()).unwrap();
        assert!(matches!(
            h.reserve("triage", "a", 5, stored(0)).await.unwrap(),
            Reserved::InFlight
        ));
        assert!(slot(h.reserve("responder", "a", 5, stored(0)).await.unwrap()).is_some());
        drop(a);
        assert!(slot(h.reserve("triage", "a", 5, stored(0)).await.unwrap()).is_some());
    }
}
