//! Reading the ledger's own record incrementally: a [`Cursor`] remembers the first leaf not yet
//! read, so each refresh reads only the leaves appended since (the ledger only grows), and
//! what was read stays known to this process even if its row is later rewritten or deleted.

use warden_core::EventKind;
use warden_store::ledger::LedgerEntry;
use warden_store::{EventFilter, Store, StoreError};

/// Where the next read of the ledger starts.
#[derive(Debug, Default)]
pub(crate) struct Cursor {
    /// The first leaf not yet read; `None` before the first read.
    next: Option<u64>,
}

impl Cursor {
    /// The events of `kinds` appended since the last read, oldest first, that a writer holding
    /// `key` appended (the others are logged and left out). The first read starts at
    /// `first_since_ms` when given (only events from then on), else at the first leaf.
    pub(crate) fn read_new(
        &mut self,
        store: &dyn Store,
        key: &warden_ledger::LeafKey,
        kinds: &[EventKind],
        first_since_ms: Option<i64>,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        let mut entries = Vec::new();
        for kind in kinds {
            let filter = EventFilter {
                kind: Some(kind.as_str().to_string()),
                index_from: self.next,
                since_ms: if self.next.is_none() {
                    first_since_ms
                } else {
                    None
                },
                ..EventFilter::default()
            };
            entries.extend(warden_store::ledger::read_deciding_events(
                store,
                &filter,
                Some(key),
            )?);
        }
        entries.sort_by_key(|e| e.index);
        let next = entries
            .last()
            .map(|e| e.index.saturating_add(1))
            .into_iter()
            .chain(self.next)
            .max()
            .unwrap_or(0);
        self.next = Some(next);
        Ok(entries)
    }
}
