//! Work that runs one at a time, each run serving every caller that asked before it began.

use std::sync::atomic::{AtomicU64, Ordering};

/// Runs of some costly work (a catalog refresh, an inventory read), one at a time. A caller
/// that waited while a run begun after it asked went on takes that run's result instead of
/// starting another, so a crowd of callers costs one run, not one each. `S` is what the runs
/// keep between them, reached only by the caller whose turn it is.
pub(crate) struct SingleFlight<S> {
    /// Callers that asked for a run, since start.
    asked: AtomicU64,
    runs: tokio::sync::Mutex<Runs<S>>,
}

struct Runs<S> {
    /// Callers served by the runs done so far (the value of `asked` when the last one began).
    served: u64,
    state: S,
}

/// The right to run once, held by one caller at a time.
pub(crate) struct Turn<'a, S> {
    runs: tokio::sync::MutexGuard<'a, Runs<S>>,
    /// The callers this run serves once done: every one that asked before it began.
    serves: u64,
}

impl<S: Default> Default for SingleFlight<S> {
    fn default() -> Self {
        Self::new(S::default())
    }
}

impl<S> SingleFlight<S> {
    pub(crate) fn new(state: S) -> Self {
        Self {
            asked: AtomicU64::new(0),
            runs: tokio::sync::Mutex::new(Runs { served: 0, state }),
        }
    }

    /// Waits for this caller's turn to run. `None`: while it waited, a run that began after it
    /// asked was done, and that run's result is this caller's.
    pub(crate) async fn turn(&self) -> Option<Turn<'_, S>> {
        let asked = self.asked.fetch_add(1, Ordering::SeqCst) + 1;
        let runs = self.runs.lock().await;
        if runs.served >= asked {
            return None;
        }
        let serves = self.asked.load(Ordering::SeqCst);
        Some(Turn { runs, serves })
    }
}

impl<S> Turn<'_, S> {
    /// What the runs keep between them.
    pub(crate) fn state(&mut self) -> &mut S {
        &mut self.runs.state
    }

    /// The run is done: every caller that asked before it began takes its result. A turn
    /// dropped without `done` (the caller found nothing to do) serves no one.
    pub(crate) fn done(mut self) {
        self.runs.served = self.serves;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn callers_waiting_behind_a_run_share_the_next_one() {
        let flight = Arc::new(SingleFlight::<u32>::default());
        // A run under way, begun before the others asked.
        let mut first = flight.turn().await.unwrap();
        *first.state() += 1;
        let waiting: Vec<_> = (0..3)
            .map(|_| {
                let flight = Arc::clone(&flight);
                tokio::spawn(async move {
                    match flight.turn().await {
                        Some(mut turn) => {
                            *turn.state() += 1;
                            turn.done();
                            true
                        }
                        None => false,
                    }
                })
            })
            .collect();
        tokio::task::yield_now().await;
        first.done();
        let mut ran = 0;
        for w in waiting {
            ran += usize::from(w.await.unwrap());
        }
        // The first run began before they asked, so it serves none of them; one more run
        // serves all three.
        assert_eq!(ran, 1);
        assert_eq!(*flight.turn().await.unwrap().state(), 2);
    }

    #[tokio::test]
    async fn a_turn_given_up_serves_no_one() {
        let flight = SingleFlight::<()>::default();
        drop(flight.turn().await.unwrap());
        assert!(flight.turn().await.is_some());
    }
}
