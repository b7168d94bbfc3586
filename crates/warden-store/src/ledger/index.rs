//! What decides, as the ledger's writer read it: the leaves that approve, halt, resume, taint
//! and clear, found by reading every leaf in order.
//!
//! The store's index columns (`kind`, `principal`, …) are claims of a row: someone who can
//! write the database can rewrite them, or delete a row, and hide a leaf from every reader
//! that finds leaves through them. The writer reads every leaf in order, without gaps, when it
//! starts (and checks the tree against the latest signed checkpoint), when it catches up with
//! other writers and when it appends; this index is built from what it read there — the
//! leaves' own bytes, whose MACs it checked — and never from a column. A reader that decides
//! (the gate's proof, the halts, the taints) asks the index which leaves exist, after
//! [`super::Ledger::sync`] brought it to the stored head, and reads those leaves back by index;
//! a leaf the index knows that is gone or changed is an error, so the reader refuses instead of
//! deciding without it.

use crate::{Store, StoreError};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};
use warden_core::EventKind;
use warden_ledger::{Hash, leaf, leaf_hash};

/// The kinds of event that decide something later: the index keeps every leaf of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Deciding {
    /// A step of the human gate (asked, approved, denied, expired, executed).
    Approval,
    Halt,
    Resume,
    /// A detection that taints its agent (`detail.taint` set); other findings decide nothing
    /// and are not kept.
    Finding,
    TaintCleared,
    ToolPinned,
    ReviewVerdict,
}

impl Deciding {
    pub const ALL: [Deciding; 7] = [
        Deciding::Approval,
        Deciding::Halt,
        Deciding::Resume,
        Deciding::Finding,
        Deciding::TaintCleared,
        Deciding::ToolPinned,
        Deciding::ReviewVerdict,
    ];

    pub fn kind(self) -> EventKind {
        match self {
            Deciding::Approval => EventKind::Approval,
            Deciding::Halt => EventKind::Halt,
            Deciding::Resume => EventKind::Resume,
            Deciding::Finding => EventKind::Finding,
            Deciding::TaintCleared => EventKind::TaintCleared,
            Deciding::ToolPinned => EventKind::ToolPinned,
            Deciding::ReviewVerdict => EventKind::ReviewVerdict,
        }
    }

    pub fn of(kind: EventKind) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.kind() == kind)
    }
}

/// One deciding leaf as the writer read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Indexed {
    pub index: u64,
    pub kind: Deciding,
    /// The event's own time.
    pub time_ms: i64,
    /// The hash of the bytes the writer read: the leaf read back must still hash to it.
    pub hash: Hash,
}

/// The deciding leaves among the first `size` leaves of the ledger. Shared by the writer, which
/// adds to it, and the readers.
#[derive(Debug, Default)]
pub struct DecidingIndex {
    state: RwLock<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Leaves read, from index 0 without gaps.
    size: u64,
    /// The deciding ones among them, by index.
    leaves: Vec<Indexed>,
    /// Positions in `leaves` of each request's approval steps.
    by_request: HashMap<String, Vec<usize>>,
    /// The time of leaf 0: when the ledger began.
    began_ms: Option<i64>,
    /// The hash of the last leaf read (index `size - 1`).
    last: Option<Hash>,
    /// The times and leaf indexes of the decisions that counted against each budget (by
    /// budget id and scope), by time: from each allowing decision's `detail.budgets`.
    budgets: HashMap<(String, String), Vec<(i64, u64)>>,
}

/// A leaf the writer read, on its way into the index.
pub(super) struct Read<'a> {
    pub index: u64,
    pub data: &'a [u8],
    pub hash: Hash,
    /// The kind, where the writer knows it from the event it encoded itself; `None` for a leaf
    /// read from the store, whose bytes say.
    pub kind: Option<EventKind>,
}

/// The few fields the index needs, read without building the whole event.
#[derive(Deserialize)]
struct Head {
    kind: Option<String>,
    time_ms: Option<i64>,
}

impl DecidingIndex {
    /// Leaves read so far: the index knows every deciding leaf below this.
    pub fn size(&self) -> u64 {
        self.read().size
    }

    /// Leaves read so far and the hash of the last of them, read together.
    pub fn head(&self) -> (u64, Option<Hash>) {
        let state = self.read();
        (state.size, state.last)
    }

    /// The index of the newest leaf read when `store` no longer holds it there (leaves removed,
    /// and others appended in their place, leave the count as it was); `None` while it does.
    pub(super) fn newest_replaced(&self, store: &dyn Store) -> Result<Option<u64>, StoreError> {
        let (size, last) = self.head();
        let (Some(last), Some(at)) = (last, size.checked_sub(1)) else {
            return Ok(None);
        };
        let same = store
            .ledger_rows(at, 1)?
            .first()
            .is_some_and(|r| r.leaf.index == at && leaf_hash(&r.leaf.data) == last);
        Ok((!same).then_some(at))
    }

    /// Decisions the ledger records counted against budget `id` for `scope` at `since_ms` or
    /// later.
    pub fn budget_used(&self, id: &str, scope: &str, since_ms: i64) -> u32 {
        self.budget_used_below(id, scope, since_ms, u64::MAX)
    }

    /// [`DecidingIndex::budget_used`], counting only decisions at leaf indexes below `below`:
    /// the ones recorded before a given decision.
    pub fn budget_used_below(&self, id: &str, scope: &str, since_ms: i64, below: u64) -> u32 {
        let state = self.read();
        let counted = state
            .budgets
            .get(&(id.to_string(), scope.to_string()))
            .map_or(&[][..], Vec::as_slice);
        let from = counted.partition_point(|(t, _)| *t < since_ms);
        let n = counted
            .get(from..)
            .unwrap_or_default()
            .iter()
            .filter(|(_, index)| *index < below)
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// The time of the first leaf, as the writer read it: when the ledger began.
    pub fn began_ms(&self) -> Option<i64> {
        self.read().began_ms
    }

    /// Adds leaves read in order, the first at the current size. A leaf out of order is an
    /// error and adds nothing: the index would no longer know every leaf below its size.
    pub(super) fn extend<'a>(
        &self,
        leaves: impl IntoIterator<Item = Read<'a>>,
    ) -> Result<(), StoreError> {
        let mut found = Vec::new();
        let mut size = self.size();
        let mut began_ms = None;
        let mut last = None;
        for read in leaves {
            if read.index != size {
                return Err(StoreError::Corrupt(format!(
                    "leaf {} read where leaf {size} was due",
                    read.index
                )));
            }
            if read.index == 0 {
                began_ms = serde_json::from_slice::<Head>(read.data)
                    .ok()
                    .and_then(|h| h.time_ms);
            }
            size += 1;
            last = Some(read.hash);
            if let Some(entry) = deciding(&read)? {
                found.push(entry);
            }
        }
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        for entry in found {
            match entry {
                Found::Leaf(indexed, request) => {
                    if let Some(id) = request {
                        let at = state.leaves.len();
                        state.by_request.entry(id).or_default().push(at);
                    }
                    state.leaves.push(indexed);
                }
                Found::Counted(index, time_ms, budgets) => {
                    for key in budgets {
                        let counted = state.budgets.entry(key).or_default();
                        // Leaves come in index order, their times nearly so: keep them sorted.
                        let at = counted.partition_point(|(t, _)| *t <= time_ms);
                        counted.insert(at, (time_ms, index));
                    }
                }
            }
        }
        state.size = state.size.max(size);
        if began_ms.is_some() {
            state.began_ms = began_ms;
        }
        if last.is_some() {
            state.last = last;
        }
        Ok(())
    }

    /// The deciding leaves of `kinds` at index `from` or later (and at `since_ms` or later,
    /// when given), oldest first, and the size they were read to.
    pub fn of_kinds(
        &self,
        kinds: &[Deciding],
        from: u64,
        since_ms: Option<i64>,
    ) -> (Vec<Indexed>, u64) {
        let state = self.read();
        let start = state.leaves.partition_point(|l| l.index < from);
        let found = state
            .leaves
            .get(start..)
            .unwrap_or_default()
            .iter()
            .filter(|l| kinds.contains(&l.kind) && since_ms.is_none_or(|s| l.time_ms >= s))
            .copied()
            .collect();
        (found, state.size)
    }

    /// At most `limit` deciding leaves of `kinds` with an index in `from..below`, oldest first:
    /// a bounded slice of what the index knows, for a reader that checks again, a few at a
    /// time, the leaves it read before ([`super::Ledger::recheck`]).
    pub fn some_of_kinds(
        &self,
        kinds: &[Deciding],
        from: u64,
        below: u64,
        limit: usize,
    ) -> Vec<Indexed> {
        let state = self.read();
        let start = state.leaves.partition_point(|l| l.index < from);
        state
            .leaves
            .get(start..)
            .unwrap_or_default()
            .iter()
            .take_while(|l| l.index < below)
            .filter(|l| kinds.contains(&l.kind))
            .take(limit)
            .copied()
            .collect()
    }

    /// The approval steps recorded for request `id`, oldest first.
    pub fn of_request(&self, id: &str) -> Vec<Indexed> {
        let state = self.read();
        state
            .by_request
            .get(id)
            .into_iter()
            .flatten()
            .filter_map(|&at| state.leaves.get(at).copied())
            .collect()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What one leaf adds to the index.
enum Found {
    /// A deciding leaf, with the request its approval step is about.
    Leaf(Indexed, Option<String>),
    /// A decision (its leaf index and time) that counted against budgets (id, scope).
    Counted(u64, i64, Vec<(String, String)>),
}

/// What a leaf adds to the index; `None` for most. A leaf the writer authenticated but cannot
/// read is an error: it may be one that decides.
fn deciding(read: &Read<'_>) -> Result<Option<Found>, StoreError> {
    let unreadable = |e: &dyn std::fmt::Display| {
        StoreError::Corrupt(format!(
            "leaf {}: appended by a writer holding the key, but unreadable: {e}",
            read.index
        ))
    };
    let kind = match read.kind {
        Some(kind) => Some(kind),
        None => serde_json::from_slice::<Head>(read.data)
            .map_err(|e| unreadable(&e))?
            .kind
            .as_deref()
            .and_then(EventKind::parse),
    };
    if kind == Some(EventKind::Decision) {
        // Only a decision that counted against a budget says `"budgets":` outside a string
        // (the arguments and the rationale are sealed, so not in the bytes): the others are
        // not parsed.
        if memchr::memmem::find(read.data, b"\"budgets\":").is_none() {
            return Ok(None);
        }
        let event = leaf::decode(read.data).map_err(|e| unreadable(&e))?.event;
        let budgets: Vec<(String, String)> = event
            .detail
            .as_ref()
            .and_then(|d| d.get("budgets"))
            .and_then(serde_json::Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|b| {
                let text = |k: &str| b.get(k).and_then(serde_json::Value::as_str);
                Some((text("id")?.to_string(), text("scope")?.to_string()))
            })
            .collect();
        return Ok((!budgets.is_empty()).then_some(Found::Counted(
            read.index,
            event.time_ms,
            budgets,
        )));
    }
    let Some(kind) = kind.and_then(Deciding::of) else {
        return Ok(None);
    };
    let event = leaf::decode(read.data).map_err(|e| unreadable(&e))?.event;
    if kind == Deciding::Finding && event.detail.as_ref().and_then(|d| d.get("taint")).is_none() {
        return Ok(None);
    }
    let request = match kind {
        Deciding::Approval => event.request_id,
        _ => None,
    };
    Ok(Some(Found::Leaf(
        Indexed {
            index: read.index,
            kind,
            time_ms: event.time_ms,
            hash: read.hash,
        },
        request,
    )))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use warden_core::AuditEvent;

    fn leaf_of(event: &AuditEvent) -> (Vec<u8>, Hash) {
        let encoded = leaf::encode(event, &mut rand::thread_rng()).unwrap();
        (encoded.bytes, encoded.hash)
    }

    #[test]
    fn keeps_deciding_leaves_read_from_their_bytes_and_refuses_a_gap() {
        let mut step = AuditEvent::new(EventKind::Approval, 5);
        step.request_id = Some("r1".into());
        let events = [
            AuditEvent::new(EventKind::Decision, 1),
            step,
            AuditEvent::new(EventKind::Halt, 7),
        ];
        let leaves: Vec<_> = events.iter().map(leaf_of).collect();
        let index = DecidingIndex::default();
        index
            .extend(leaves.iter().enumerate().map(|(i, (data, hash))| Read {
                index: i as u64,
                data,
                hash: *hash,
                kind: None,
            }))
            .unwrap();
        assert_eq!(index.size(), 3);
        assert_eq!(index.began_ms(), Some(1));
        let (halts, size) = index.of_kinds(&[Deciding::Halt], 0, None);
        assert_eq!((halts.len(), halts[0].index, size), (1, 2, 3));
        assert_eq!(index.of_request("r1")[0].index, 1);
        assert!(index.of_kinds(&[Deciding::Approval], 2, None).0.is_empty());
        assert!(index.of_kinds(&[Deciding::Halt], 0, Some(8)).0.is_empty());

        let (data, hash) = &leaves[0];
        let gap = index.extend([Read {
            index: 4,
            data,
            hash: *hash,
            kind: None,
        }]);
        assert!(gap.is_err());
        assert_eq!(index.size(), 3);
    }

    #[test]
    fn counts_the_decisions_that_name_a_budget() {
        let mut counted = AuditEvent::new(EventKind::Decision, 10);
        counted.detail =
            Some(serde_json::json!({"budgets": [{"id": "isolations", "scope": "agent:r"}]}));
        // Text that only mentions budgets inside a string counts nothing.
        let mut mention = AuditEvent::new(EventKind::Decision, 20);
        mention.reason = Some("over \"budgets\": none".into());
        let index = DecidingIndex::default();
        let leaves: Vec<_> = [counted.clone(), mention, counted]
            .iter()
            .map(leaf_of)
            .collect();
        index
            .extend(leaves.iter().enumerate().map(|(i, (data, hash))| Read {
                index: i as u64,
                data,
                hash: *hash,
                kind: Some(EventKind::Decision),
            }))
            .unwrap();
        assert_eq!(index.budget_used("isolations", "agent:r", 0), 2);
        assert_eq!(index.budget_used("isolations", "agent:r", 11), 0);
        assert_eq!(index.budget_used("isolations", "agent:other", 0), 0);
        assert_eq!(index.budget_used_below("isolations", "agent:r", 0, 2), 1);
    }
}
