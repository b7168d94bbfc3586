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
    reserved: Arc<Mutex<HashMap<String, u64>>>,
}

/// A held call's place under its agent's cap, from its gate until its request is stored.
#[derive(Debug)]
pub(crate) struct Slot {
    reserved: Arc<Mutex<HashMap<String, u64>>>,
    agent: String,
}

impl Holding {
    /// A slot for one more held call of `agent` when `stored` (what the store counts, read
    /// under the check) and the slots already taken stay under `cap`; else the number waiting.
    pub(crate) async fn reserve<F, E>(
        &self,
        agent: &str,
        cap: u64,
        stored: F,
    ) -> Result<Result<Slot, u64>, E>
    where
        F: std::future::Future<Output = Result<u64, E>>,
    {
        let checking = self.checking.of(agent);
        let _checking = checking.lock().await;
        let stored = stored.await?;
        let mut reserved = self.reserved.lock().unwrap_or_else(PoisonError::into_inner);
        let taken = reserved.get(agent).copied().unwrap_or(0);
        let waiting = stored.saturating_add(taken);
        if waiting >= cap {
            return Ok(Err(waiting));
        }
        reserved.insert(agent.to_string(), taken.saturating_add(1));
        Ok(Ok(Slot {
            reserved: Arc::clone(&self.reserved),
            agent: agent.to_string(),
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
        if let Some(n) = reserved.get_mut(&self.agent) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                reserved.remove(&self.agent);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    async fn stored(n: u64) -> Result<u64, ()> {
        Ok(n)
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
                h.reserve("triage", 5, async {
                    Ok::<_, ()>(answered.await.unwrap_or(0))
                })
                .await
            })
        };
        // The slow check is under way, its lock taken.
        for _ in 0..16 {
            tokio::task::yield_now().await;
        }
        let mut other = Box::pin(h.reserve("responder", 5, stored(0)));
        assert!(
            futures::poll!(&mut other).is_ready(),
            "another agent's check waited"
        );
        answer.send(0).unwrap();
        assert!(slow.await.unwrap().unwrap().is_ok());
    }

    #[tokio::test]
    async fn slots_count_until_given_back() {
        let h = Holding::default();
        let a = h.reserve("triage", 2, stored(0)).await.unwrap().unwrap();
        let _b = h.reserve("triage", 2, stored(0)).await.unwrap().unwrap();
        // Two taken: a third is refused, though the store counts none yet.
        assert_eq!(
            h.reserve("triage", 2, stored(0))
                .await
                .unwrap()
                .unwrap_err(),
            2
        );
        // Another agent has its own.
        assert!(h.reserve("responder", 2, stored(0)).await.unwrap().is_ok());
        drop(a);
        // One given back (its request stored: the store counts it now).
        assert_eq!(
            h.reserve("triage", 2, stored(1))
                .await
                .unwrap()
                .unwrap_err(),
            2
        );
        assert!(h.reserve("triage", 3, stored(1)).await.unwrap().is_ok());
    }
}
