//! Who may try to sign in, and when: per-account lockout and separate lanes for the costly
//! password check.
//!
//! Each check costs an Argon2 verification (~19 MiB, real CPU time), so checks are limited. A
//! single global limit let four attack loops turn real approvers away. Instead:
//! - each configured approver has a lane of its own (one check at a time): guessing at one
//!   account slows only that account;
//! - every name that is not a configured approver shares one lane, so spraying made-up names
//!   never delays a real approver;
//! - an account with [`LOCK_AFTER`] failures within [`LOCK_FOR`] is locked until the oldest of
//!   them is that old: no further check runs for it, whatever the password or token. The
//!   approvers' API (the CLI's answers) checks its bearer tokens in the same lanes and counts
//!   them in the same failures, so one lock holds for both. A made-up name locks the same way, so the
//!   lock does not tell which names are approvers.
//!
//! A lane is waited for (at most [`WAIT`]) rather than refused at once, in arrival order.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Failed sign-ins that lock an account.
pub const LOCK_AFTER: usize = 5;
/// How long failures count, and so how long a lock lasts.
pub const LOCK_FOR: Duration = Duration::from_secs(15 * 60);
/// Made-up names whose failures are kept at once.
pub const MAX_STRANGERS: usize = 1024;
/// The longest a sign-in waits for its lane.
pub const WAIT: Duration = Duration::from_secs(10);

/// Why a sign-in attempt was not checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotChecked {
    /// The account is locked for about this long.
    Locked(Duration),
    /// Its lane stayed busy for [`WAIT`].
    Busy,
}

pub(crate) struct SignInGate {
    lanes: HashMap<String, Arc<Semaphore>>,
    strangers: Arc<Semaphore>,
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl SignInGate {
    pub(crate) fn new<'a>(approvers: impl Iterator<Item = &'a str>) -> Self {
        Self {
            lanes: approvers
                .map(|id| (id.to_string(), Arc::new(Semaphore::new(1))))
                .collect(),
            strangers: Arc::new(Semaphore::new(1)),
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// A permit to check one attempt for `id`, or why not.
    pub(crate) async fn admit(&self, id: &str) -> Result<OwnedSemaphorePermit, NotChecked> {
        if let Some(left) = self.locked_for(id, Instant::now()) {
            return Err(NotChecked::Locked(left));
        }
        let lane = self.lanes.get(id).unwrap_or(&self.strangers).clone();
        match tokio::time::timeout(WAIT, lane.acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(NotChecked::Busy),
        }
    }

    /// Records the outcome of a checked attempt for `id`; a success clears the failures.
    /// Made-up names are tracked and locked like configured approvers, so the lock does not
    /// tell which ids are real; at most [`MAX_STRANGERS`] of them are kept (the one whose
    /// last failure is oldest goes first), so the table cannot grow with the names sprayed.
    pub(crate) fn record(&self, id: &str, ok: bool) {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        if ok {
            failures.remove(id);
            return;
        }
        let now = Instant::now();
        let stranger = !self.lanes.contains_key(id);
        if stranger && !failures.contains_key(id) {
            let strangers = failures
                .keys()
                .filter(|k| !self.lanes.contains_key(k.as_str()))
                .count();
            if strangers >= MAX_STRANGERS {
                let stalest = failures
                    .iter()
                    .filter(|(k, _)| !self.lanes.contains_key(k.as_str()))
                    .min_by_key(|(_, times)| times.iter().max().copied())
                    .map(|(k, _)| k.clone());
                if let Some(k) = stalest {
                    failures.remove(&k);
                }
            }
        }
        let recent = failures.entry(id.to_string()).or_default();
        recent.retain(|t| now.duration_since(*t) < LOCK_FOR);
        recent.push(now);
    }

    fn locked_for(&self, id: &str, now: Instant) -> Option<Duration> {
        let failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let recent: Vec<&Instant> = failures
            .get(id)?
            .iter()
            .filter(|t| now.duration_since(**t) < LOCK_FOR)
            .collect();
        if recent.len() < LOCK_AFTER {
            return None;
        }
        let oldest = recent.iter().min()?;
        Some(LOCK_FOR.saturating_sub(now.duration_since(**oldest)))
    }
}
