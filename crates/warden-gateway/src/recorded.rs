//! Reading the ledger's own record incrementally: a [`Cursor`] remembers the first leaf not yet
//! read, so each refresh reads only the leaves appended since (the ledger only grows), and
//! what was read stays known to this process even if its row is later rewritten or deleted.
//! The leaves are found through the ledger's deciding index ([`Ledger::recorded`]), which its
//! writer built from every leaf in order, never through the store's index columns.

use warden_store::ledger::{Deciding, LedgerEntry, LedgerError, read_events};
use warden_store::{EventFilter, Ledger, Store};

/// Every event of `kind` on the record: with the ledger, those its writers appended, found
/// through its own index ([`Ledger::recorded`]); without it (a report run by someone who
/// cannot read the key), every stored row of that kind, unchecked.
pub(crate) fn every(
    store: &dyn Store,
    ledger: Option<&Ledger>,
    kind: Deciding,
) -> Result<Vec<LedgerEntry>, LedgerError> {
    match ledger {
        Some(ledger) => Ok(ledger
            .recorded(&[kind], 0, None)?
            .0
            .into_iter()
            .map(|a| a.into_entry())
            .collect()),
        None => Ok(read_events(
            store,
            &EventFilter {
                kind: Some(kind.kind().as_str().to_string()),
                ..EventFilter::default()
            },
        )?),
    }
}

/// Where the next read of the ledger starts.
#[derive(Debug, Default)]
pub(crate) struct Cursor {
    /// The first leaf not yet read; `None` before the first read.
    next: Option<u64>,
}

impl Cursor {
    /// The first leaf not yet read: every leaf below it was read.
    pub(crate) fn next(&self) -> u64 {
        self.next.unwrap_or(0)
    }

    /// The events of `kinds` appended since the last read, oldest first. The first read starts
    /// at `first_since_ms` when given (only events from then on), else at the first leaf. An
    /// error (a leaf the ledger read is gone from the store) reads nothing: the next read
    /// starts where this one did.
    pub(crate) fn read_new(
        &mut self,
        ledger: &Ledger,
        kinds: &[Deciding],
        first_since_ms: Option<i64>,
    ) -> Result<Vec<LedgerEntry>, LedgerError> {
        let since = if self.next.is_none() {
            first_since_ms
        } else {
            None
        };
        let (found, size) = ledger.recorded(kinds, self.next.unwrap_or(0), since)?;
        self.next = Some(size);
        Ok(found.into_iter().map(|a| a.into_entry()).collect())
    }
}

/// The tool pins the ledger records, as read so far: each tool's digest from its latest
/// `tool_pinned` leaf (first use or `warden tools pin`). Read on incrementally through a
/// [`Cursor`]. The `tool_pins` row is a copy for readers without the key: someone who can write
/// the database rewrites or deletes it to have a changed definition served, so with a ledger
/// the record, not the row, says what is pinned.
#[derive(Debug, Default)]
pub struct RecordedPins {
    cursor: Cursor,
    /// Each tool's pinned digest and who pinned it (`by`).
    by_tool: std::collections::BTreeMap<String, (String, String)>,
}

impl RecordedPins {
    /// The digest the ledger records pinned for `tool`, and who pinned it (`first-use` or a
    /// reviewer), after reading the leaves appended since the last read.
    pub fn pinned(
        &mut self,
        ledger: &Ledger,
        tool: &str,
    ) -> Result<Option<(String, String)>, LedgerError> {
        for entry in self
            .cursor
            .read_new(ledger, &[Deciding::ToolPinned], None)?
        {
            let e = entry.event;
            let digest = e
                .detail
                .as_ref()
                .and_then(|d| d.get("digest"))
                .and_then(serde_json::Value::as_str);
            let by = e
                .detail
                .as_ref()
                .and_then(|d| d.get("by"))
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default();
            if let (Some(tool), Some(digest)) = (e.tool, digest) {
                self.by_tool
                    .insert(tool, (digest.to_string(), by.to_string()));
            }
        }
        Ok(self.by_tool.get(tool).cloned())
    }
}
