//! Reading the ledger back: auditing it, proving leaves, showing events.

use super::LedgerError;
use super::pager::{PageError, leaf_pages};
use crate::{EventFilter, LeafRow, Store, StoreError, StoredCheckpoint};
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::rc::Rc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use warden_core::AuditEvent;
use warden_ledger::leaf;
use warden_ledger::{
    CheckpointVerifier, Hash, LeafColumns, LeafKey, LogReport, MerkleTree, Salt, SealedContent,
    SignedCheckpoint, StoredLeaf, TlogProof, leaf_hash, verify_consistency, verify_log,
};

/// Findings kept at most; more are counted, not kept.
pub const MAX_FINDINGS: usize = 100;

/// A problem with what is stored beside the leaves (sealed content, index columns, MACs) or
/// with what a leaf says, found beside `warden_ledger::verify_log`'s checks of the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentFinding {
    /// Stored sealed content is not what the leaf commits to: it was altered or moved.
    SealMismatch { index: u64, field: String },
    /// A sealed value the leaf commits to is gone, and no redaction event names it.
    SealedMissing { index: u64, field: String },
    /// The row's index columns say something other than its leaf: a reader filtering on them
    /// (`audit show`, the console, the gate) would miss or misfile the event.
    ColumnMismatch {
        index: u64,
        columns: Vec<&'static str>,
    },
    /// The leaf was not appended by a writer holding the ledger key.
    Forged { index: u64, why: &'static str },
    /// The leaf's bytes are not an event this build reads.
    Unreadable { index: u64, error: String },
}

impl fmt::Display for ContentFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SealMismatch { index, field } => write!(
                f,
                "leaf {index}: the stored content of `{field}` does not match the leaf's \
                 commitment (it was altered)"
            ),
            Self::SealedMissing { index, field } => write!(
                f,
                "leaf {index}: the sealed content of `{field}` is missing and no redaction \
                 event names it (it was deleted off the record)"
            ),
            Self::ColumnMismatch { index, columns } => write!(
                f,
                "leaf {index}: the stored index columns ({}) do not match the leaf (they were \
                 rewritten)",
                columns.join(", ")
            ),
            Self::Forged { index, why } => write!(
                f,
                "leaf {index}: {why}: it was not appended by a writer holding the ledger key \
                 (a forged row)"
            ),
            Self::Unreadable { index, error } => {
                write!(f, "leaf {index}: cannot be read as an event: {error}")
            }
        }
    }
}

/// Whether leaf MACs were checked, and why not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacCheck {
    /// Every MAC was checked with the key derived from the signing key.
    Checked,
    /// Only the verifier key was at hand: a leaf without a MAC that no checkpoint covers is
    /// still found, but a wrong MAC is not.
    NoSigningKey,
}

/// What `verify_store` established.
#[derive(Debug, Clone)]
pub struct LedgerReport {
    /// The chain: leaf hashes, order, checkpoints and their signatures and consistency.
    pub log: LogReport,
    /// Sealed values checked against their leaves' commitments (redacted ones are gone).
    pub sealed_checked: u64,
    /// Sealed values gone with a redaction event that names them.
    pub redacted: u64,
    /// Problems with content, columns and MACs, in leaf order, at most [`MAX_FINDINGS`].
    pub content: Vec<ContentFinding>,
    /// Problems found beyond the first [`MAX_FINDINGS`].
    pub content_left_off: u64,
    pub macs: MacCheck,
}

impl LedgerReport {
    pub fn is_clean(&self) -> bool {
        self.log.is_clean() && self.content.is_empty()
    }
}

/// A redaction event: leaf `at` says the sealed `fields` (all of them when `None`) of leaf
/// `target` were erased.
#[derive(Debug, Clone)]
struct Redaction {
    at: u64,
    target: u64,
    fields: Option<Vec<String>>,
}

/// What the reading thread found in one page, besides the bytes it hands over.
#[derive(Default)]
struct RowChecks {
    findings: Vec<ContentFinding>,
    /// `(index, field)`: sealed values the leaf commits to that are not stored.
    missing: Vec<(u64, String)>,
    redactions: Vec<Redaction>,
    /// The highest index of a leaf stored without a MAC.
    last_without_mac: Option<u64>,
}

/// Checks each row of a page against its own leaf: MAC, index columns, sealed values present
/// or missing, and collects redaction events. Runs on the reading thread, beside the hashing.
fn check_rows(
    rows: &[LeafRow],
    sealed: &[(u64, SealedContent)],
    key: Option<&LeafKey>,
) -> RowChecks {
    let mut checks = RowChecks::default();
    let mut stored = sealed.iter().peekable();
    for row in rows {
        let index = row.leaf.index;
        let mut present = Vec::new();
        while let Some((i, content)) = stored.peek() {
            if *i > index {
                break;
            }
            if *i == index {
                present.push(content.field.as_str());
            }
            stored.next();
        }
        match (&row.mac, key) {
            (None, _) => checks.last_without_mac = Some(index),
            (Some(mac), Some(key)) if !key.verify(index, &row.leaf.leaf_hash, mac) => {
                checks.findings.push(ContentFinding::Forged {
                    index,
                    why: "its MAC is wrong",
                });
            }
            (Some(_), _) => {}
        }
        let parsed = match leaf::index_of(&row.leaf.data) {
            Ok(parsed) => parsed,
            Err(e) => {
                checks.findings.push(ContentFinding::Unreadable {
                    index,
                    error: e.to_string(),
                });
                continue;
            }
        };
        let columns = parsed.columns.differences(&row.columns);
        if !columns.is_empty() {
            checks
                .findings
                .push(ContentFinding::ColumnMismatch { index, columns });
        }
        for field in parsed.sealed {
            if !present.contains(&field.as_str()) {
                checks.missing.push((index, field));
            }
        }
        if parsed.columns.kind == warden_core::EventKind::Redaction.as_str() {
            match redaction_of(index, &row.leaf.data) {
                Some(r) => checks.redactions.push(r),
                None => checks.findings.push(ContentFinding::Unreadable {
                    index,
                    error: "a redaction event that names no leaf index".into(),
                }),
            }
        }
    }
    checks
}

fn redaction_of(at: u64, bytes: &[u8]) -> Option<Redaction> {
    let event = leaf::decode(bytes).ok()?.event;
    let detail = event.detail?;
    let target = detail.get("index")?.as_u64()?;
    let fields = detail.get("fields").and_then(|f| {
        f.as_array().map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
    });
    Some(Redaction { at, target, fields })
}

/// One page of leaves and their sealed content, packed into two buffers by the reading thread.
///
/// Design choice: the verifying thread frees two allocations per page instead of several per
/// leaf. Freeing memory that another thread allocated is slow with glibc (the arenas lock
/// against each other), and that made the two-thread pipeline no faster than one thread.
struct Packed {
    checks: RowChecks,
    /// `(index, stored hash, range in leaf_bytes)`, in index order.
    leaves: Vec<(u64, Hash, Range<usize>)>,
    leaf_bytes: Vec<u8>,
    /// In index order.
    sealed: Vec<SealedRef>,
    sealed_bytes: Vec<u8>,
}

/// `(index, field, salt, range in sealed_bytes)`.
type SealedRef = (u64, &'static str, Salt, Range<usize>);

/// Packs one page of rows, and the sealed content beside them, for the verifying thread.
fn pack_page(
    store: &dyn Store,
    rows: Vec<LeafRow>,
    key: Option<&LeafKey>,
) -> Result<Packed, StoreError> {
    let (from, to) = match (rows.first(), rows.last()) {
        (Some(first), Some(last)) => (first.leaf.index, last.leaf.index.saturating_add(1)),
        _ => (0, 0),
    };
    let sealed = store.ledger_sealed(from, to)?;
    let checks = check_rows(&rows, &sealed, key);
    let leaves: Vec<StoredLeaf<Vec<u8>>> = rows.into_iter().map(|r| r.leaf).collect();
    let mut packed = Packed {
        checks,
        leaves: Vec::with_capacity(leaves.len()),
        leaf_bytes: Vec::with_capacity(leaves.iter().map(|l| l.data.len()).sum()),
        sealed: Vec::with_capacity(sealed.len()),
        sealed_bytes: Vec::with_capacity(sealed.iter().map(|(_, c)| c.content.len()).sum()),
    };
    for l in leaves {
        let start = packed.leaf_bytes.len();
        packed.leaf_bytes.extend_from_slice(&l.data);
        packed
            .leaves
            .push((l.index, l.leaf_hash, start..packed.leaf_bytes.len()));
    }
    for (index, c) in sealed {
        // A field name outside the sealed set cannot be committed: keep it, it will fail.
        let field = leaf::SEALED_FIELDS
            .iter()
            .find(|f| **f == c.field)
            .copied()
            .unwrap_or("?");
        let start = packed.sealed_bytes.len();
        packed.sealed_bytes.extend_from_slice(c.content.as_bytes());
        packed
            .sealed
            .push((index, field, c.salt, start..packed.sealed_bytes.len()));
    }
    Ok(packed)
}

/// Reads pages ahead on its own thread, so store reads overlap with hashing. The audit reads
/// the rows as stored, not through the pager: a gap, a duplicated index or a leaf out of order
/// is what `verify_log` exists to name, and the pager would end the walk at the first of them,
/// leaving every leaf after it unchecked.
fn read_pages(
    store: &dyn Store,
    key: Option<&LeafKey>,
    pages: &SyncSender<Result<Packed, StoreError>>,
) {
    let mut next = 0;
    loop {
        let rows = match store.ledger_rows(next, AUDIT_PAGE) {
            Ok(rows) if rows.is_empty() => return,
            Ok(rows) => rows,
            Err(e) => {
                let _ = pages.send(Err(e));
                return;
            }
        };
        next = rows.last().map_or(next, |r| r.leaf.index.saturating_add(1));
        let packed = pack_page(store, rows, key);
        let failed = packed.is_err();
        if pages.send(packed).is_err() || failed {
            return;
        }
    }
}

/// Rows the audit reads at a time.
const AUDIT_PAGE: usize = 8192;

/// Leaf bytes shared with their page.
struct LeafBytes {
    page: Rc<Vec<u8>>,
    range: Range<usize>,
}

impl AsRef<[u8]> for LeafBytes {
    fn as_ref(&self) -> &[u8] {
        self.page.get(self.range.clone()).unwrap_or_default()
    }
}

/// The leaves in stored order, each one's sealed content checked as it passes.
struct Pages<'a> {
    pages: Receiver<Result<Packed, StoreError>>,
    leaves: std::vec::IntoIter<(u64, Hash, Range<usize>)>,
    leaf_bytes: Rc<Vec<u8>>,
    sealed: std::iter::Peekable<std::vec::IntoIter<SealedRef>>,
    sealed_bytes: Vec<u8>,
    state: &'a mut PageState,
}

#[derive(Default)]
struct PageState {
    error: Option<StoreError>,
    sealed_checked: u64,
    /// Findings in the order found (each page's row checks, then its seal checks).
    content: Vec<ContentFinding>,
    missing: Vec<(u64, String)>,
    redactions: Vec<Redaction>,
    last_without_mac: Option<u64>,
}

impl PageState {
    fn take(&mut self, checks: RowChecks) {
        self.content.extend(checks.findings);
        self.missing.extend(checks.missing);
        self.redactions.extend(checks.redactions);
        self.last_without_mac = checks.last_without_mac.or(self.last_without_mac);
    }
}

impl Pages<'_> {
    fn check_sealed(&mut self, index: u64, leaf: &[u8]) {
        while let Some((i, ..)) = self.sealed.peek() {
            if *i > index {
                break;
            }
            let Some((i, field, salt, range)) = self.sealed.next() else {
                break;
            };
            if i < index {
                continue; // content of a leaf that is missing: the chain check reports it
            }
            self.state.sealed_checked += 1;
            let content = self.sealed_bytes.get(range).unwrap_or_default();
            if !leaf::is_committed(field, &salt, content, leaf) {
                self.state.content.push(ContentFinding::SealMismatch {
                    index,
                    field: field.to_owned(),
                });
            }
        }
    }
}

impl Iterator for Pages<'_> {
    type Item = StoredLeaf<LeafBytes>;

    fn next(&mut self) -> Option<Self::Item> {
        let (index, leaf_hash, range) = match self.leaves.next() {
            Some(leaf) => leaf,
            None => match self.pages.recv() {
                Ok(Ok(page)) => {
                    self.state.take(page.checks);
                    self.leaves = page.leaves.into_iter();
                    self.leaf_bytes = Rc::new(page.leaf_bytes);
                    self.sealed = page.sealed.into_iter().peekable();
                    self.sealed_bytes = page.sealed_bytes;
                    self.leaves.next()?
                }
                Ok(Err(e)) => {
                    self.state.error = Some(e);
                    return None;
                }
                Err(_) => return None,
            },
        };
        let data = LeafBytes {
            page: self.leaf_bytes.clone(),
            range,
        };
        self.check_sealed(index, data.as_ref());
        Some(StoredLeaf {
            index,
            data,
            leaf_hash,
        })
    }
}

/// Audits the stored ledger: `warden_ledger::verify_log` over the leaves and checkpoints;
/// every stored sealed value against its leaf's commitment, and every missing one against the
/// redaction events; every row's index columns against its leaf; and every leaf's MAC under
/// `key` (the one derived from the signing key, when the auditor holds it), or, without it,
/// that no leaf beyond the last checkpoint lacks a MAC. A store error is an `Err`; a problem
/// in the data is a finding in the report.
pub fn verify_store(
    store: &dyn Store,
    verifier: &CheckpointVerifier,
    key: Option<&LeafKey>,
) -> Result<LedgerReport, StoreError> {
    // The pages below are read from index 0 up; a row below 0 (which warden never writes, and
    // readers that filter would otherwise meet) fails the audit here.
    store.ledger_find(&EventFilter {
        limit: Some(1),
        ..EventFilter::default()
    })?;
    let checkpoints = store.ledger_checkpoints()?;
    let mut state = PageState::default();
    let log = std::thread::scope(|scope| {
        let (sender, receiver) = sync_channel(4);
        scope.spawn(move || read_pages(store, key, &sender));
        verify_log(
            Pages {
                pages: receiver,
                leaves: Vec::new().into_iter(),
                leaf_bytes: Rc::new(Vec::new()),
                sealed: Vec::new().into_iter().peekable(),
                sealed_bytes: Vec::new(),
                state: &mut state,
            },
            checkpoints.iter().map(|c| c.note.as_str()),
            verifier,
        )
        // The receiver is dropped here, so the reader stops if the audit stopped early.
    });
    if let Some(e) = state.error {
        return Err(e);
    }
    let mut content = std::mem::take(&mut state.content);
    // A leaf without a MAC is vouched for only by a checkpoint that covers it.
    let covered = log.latest_checkpoint.as_ref().map_or(0, |c| c.size);
    if let Some(index) = state.last_without_mac
        && index >= covered
    {
        content.push(ContentFinding::Forged {
            index,
            why: "it has no MAC and no checkpoint covers it",
        });
    }
    let mut redacted = 0;
    for (index, field) in std::mem::take(&mut state.missing) {
        let named = state.redactions.iter().any(|r| {
            r.target == index
                && r.at > index
                && r.fields.as_ref().is_none_or(|f| f.contains(&field))
        });
        if named {
            redacted += 1;
        } else {
            content.push(ContentFinding::SealedMissing { index, field });
        }
    }
    content.sort_by_key(ContentFinding::index);
    let left_off = content.len().saturating_sub(MAX_FINDINGS);
    content.truncate(MAX_FINDINGS);
    Ok(LedgerReport {
        log,
        sealed_checked: state.sealed_checked,
        redacted,
        content,
        content_left_off: left_off as u64,
        macs: if key.is_some() {
            MacCheck::Checked
        } else {
            MacCheck::NoSigningKey
        },
    })
}

impl ContentFinding {
    /// The leaf the finding is about.
    pub fn index(&self) -> u64 {
        match self {
            Self::SealMismatch { index, .. }
            | Self::SealedMissing { index, .. }
            | Self::ColumnMismatch { index, .. }
            | Self::Forged { index, .. }
            | Self::Unreadable { index, .. } => *index,
        }
    }
}

/// One event read back from the ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerEntry {
    pub index: u64,
    pub leaf_hash: Hash,
    /// The event, sealed fields filled in where their content survives.
    pub event: AuditEvent,
    /// Sealed fields whose content was redacted.
    pub redacted: Vec<String>,
    /// Sealed fields whose stored content does not match the leaf.
    pub altered: Vec<String>,
    /// The leaf's bytes do not hash to its stored hash: they (or the hash) were changed, and
    /// the event shown is not the one the tree committed to.
    pub hash_mismatch: bool,
    /// Index columns of the row that say something other than its leaf.
    pub column_mismatch: Vec<&'static str>,
}

fn entry(row: LeafRow, sealed: &[SealedContent]) -> Result<LedgerEntry, StoreError> {
    let l = row.leaf;
    let decoded =
        leaf::decode(&l.data).map_err(|e| StoreError::Corrupt(format!("leaf {}: {e}", l.index)))?;
    let column_mismatch = LeafColumns::of(&decoded.event).differences(&row.columns);
    let opened = decoded.open(sealed);
    Ok(LedgerEntry {
        index: l.index,
        hash_mismatch: leaf_hash(&l.data) != l.leaf_hash,
        leaf_hash: l.leaf_hash,
        event: opened.event,
        redacted: opened.redacted,
        altered: opened.altered,
        column_mismatch,
    })
}

/// Events that match `filter`, oldest first (newest first with `newest_first`). The store finds
/// rows by their index columns; a row whose leaf does not itself match (its columns were
/// rewritten) is left out, so with a `limit` fewer may come back when rows were tampered with
/// (`audit verify` names them). For showing the ledger: what decides anything reads
/// [`read_authentic_events`].
pub fn read_events(
    store: &dyn Store,
    filter: &EventFilter,
) -> Result<Vec<LedgerEntry>, StoreError> {
    Ok(find(store, filter)?.into_iter().map(|(e, _)| e).collect())
}

/// [`read_events`] a page at a time: each item holds at most `page` events, in the filter's
/// order, and the filter's `limit` (if any) bounds them all. A reader of a long ledger (`audit
/// show` without `--limit`) holds one page, never every match at once. An empty page is never
/// handed out; the walk ends at the first error.
pub fn event_pages<'a>(
    store: &'a dyn Store,
    filter: &EventFilter,
    page: usize,
) -> impl Iterator<Item = Result<Vec<LedgerEntry>, StoreError>> + use<'a> {
    let mut next = filter.clone();
    let mut left = filter.limit;
    let page = page.max(1);
    std::iter::from_fn(move || {
        let want = left.map_or(page, |l| l.min(page));
        if want == 0 {
            return None;
        }
        next.limit = Some(want);
        let events = match read_events(store, &next) {
            Ok(events) => events,
            Err(e) => {
                left = Some(0);
                return Some(Err(e));
            }
        };
        let Some(last) = events.last().map(|e| e.index) else {
            left = Some(0);
            return None;
        };
        left = Some(if events.len() < want {
            0 // the matches ran out
        } else {
            left.map_or(usize::MAX, |l| l - events.len())
        });
        if next.newest_first {
            next.index_below = Some(last);
        } else {
            next.index_from = Some(last.saturating_add(1));
        }
        Some(Ok(events))
    })
}

/// An event whose leaf a writer holding the ledger key appended: the leaf's bytes hash to its
/// stored hash and its MAC checks at its index. Made only by [`read_authentic_events`], so a
/// reader that decides on events (the gate's proof of approvals, reviews, the monitor) cannot
/// be handed a row someone wrote into the store.
#[derive(Debug, Clone, PartialEq)]
pub struct Authentic(LedgerEntry);

impl Authentic {
    pub fn entry(&self) -> &LedgerEntry {
        &self.0
    }

    pub fn event(&self) -> &AuditEvent {
        &self.0.event
    }

    pub fn into_event(self) -> AuditEvent {
        self.0.event
    }

    pub fn into_entry(self) -> LedgerEntry {
        self.0
    }
}

/// What [`read_authentic_events`] found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuthenticEvents {
    /// The events a writer holding the key appended, in the filter's order.
    pub events: Vec<Authentic>,
    /// Indexes of rows that matched the filter but that no such writer appended (inserted, or
    /// rewritten in place, without the key; or stored before leaves carried MACs): left out.
    pub rejected: Vec<u64>,
}

/// The events matching `filter` (as [`read_events`]) that a writer holding `key` appended. A
/// row whose bytes do not hash to its stored hash, whose MAC is missing or does not check at
/// its index, is left out, named in `rejected` and logged: someone with write access to the
/// store put it there, and nothing may trust it. A leaf stored before leaves carried MACs is
/// left out too: what decides (a pending approval, a review) is recent, and an old leaf cannot vouch for
/// itself without the whole tree.
pub fn read_authentic_events(
    store: &dyn Store,
    filter: &EventFilter,
    key: &LeafKey,
) -> Result<AuthenticEvents, StoreError> {
    let mut found = AuthenticEvents::default();
    for (entry, mac) in find(store, filter)? {
        let genuine = !entry.hash_mismatch
            && mac.is_some_and(|m| key.verify(entry.index, &entry.leaf_hash, &m));
        if genuine {
            found.events.push(Authentic(entry));
        } else {
            found.rejected.push(entry.index);
        }
    }
    if !found.rejected.is_empty() {
        tracing::error!(
            leaves = ?found.rejected,
            "ledger rows that no warden writer appended were found and ignored: the store was \
             written to by hand (run `warden audit verify`)"
        );
    }
    Ok(found)
}

/// The events matching `filter` that a reader decides on (review verdicts, the monitor's
/// baseline, executions checked against their approvals). With the ledger's `key`, only those
/// its writers appended ([`read_authentic_events`]); a
/// reader without the key (a report run by someone who cannot read it) gets every stored event,
/// as [`read_events`].
pub fn read_deciding_events(
    store: &dyn Store,
    filter: &EventFilter,
    key: Option<&LeafKey>,
) -> Result<Vec<LedgerEntry>, StoreError> {
    let Some(key) = key else {
        return read_events(store, filter);
    };
    let found = read_authentic_events(store, filter, key)?;
    Ok(found.events.into_iter().map(|a| a.0).collect())
}

/// The leaves the writer indexed ([`super::DecidingIndex`]), read back by index: each must still
/// be stored at its index with the bytes the writer read. A leaf gone or changed since (a row
/// deleted, or rewritten) is an error, so that no reader decides without it.
pub(super) fn read_indexed(
    store: &dyn Store,
    leaves: &[super::Indexed],
) -> Result<Vec<Authentic>, StoreError> {
    let mut out = Vec::with_capacity(leaves.len());
    for indexed in leaves {
        let row = stored_as_read(store, indexed)?;
        let index = indexed.index;
        let sealed: Vec<SealedContent> = store
            .ledger_sealed(index, index.saturating_add(1))?
            .into_iter()
            .map(|(_, c)| c)
            .collect();
        out.push(Authentic(entry(row, &sealed)?));
    }
    Ok(out)
}

/// Checks that each of `leaves` is still stored at its index with the bytes the writer read,
/// as [`read_indexed`] does, reading only the leaf's row: no sealed content, nothing decoded.
pub(super) fn check_indexed(
    store: &dyn Store,
    leaves: &[super::Indexed],
) -> Result<(), StoreError> {
    for indexed in leaves {
        stored_as_read(store, indexed)?;
    }
    Ok(())
}

/// The row of an indexed leaf, if it is still stored at its index with the bytes the writer
/// read; an error (logged) when it was deleted or rewritten since.
fn stored_as_read(store: &dyn Store, indexed: &super::Indexed) -> Result<LeafRow, StoreError> {
    let index = indexed.index;
    let gone = |what: &str| {
        tracing::error!(
            leaf = index,
            "a ledger leaf this process read was {what} in the store since: the store was \
             written to by hand (run `warden audit verify`)"
        );
        StoreError::Corrupt(format!(
            "ledger leaf {index} ({:?}) was {what} in the store after warden read it",
            indexed.kind
        ))
    };
    let row = store
        .ledger_rows(index, 1)?
        .into_iter()
        .next()
        .filter(|r| r.leaf.index == index)
        .ok_or_else(|| gone("deleted"))?;
    if leaf_hash(&row.leaf.data) != indexed.hash {
        return Err(gone("rewritten"));
    }
    Ok(row)
}

/// [`read_events`] with each row's MAC beside its entry.
fn find(
    store: &dyn Store,
    filter: &EventFilter,
) -> Result<Vec<(LedgerEntry, Option<warden_ledger::LeafMac>)>, StoreError> {
    let mut out = Vec::new();
    let mut page = filter.clone();
    loop {
        let rows = store.ledger_find(&page)?;
        let full_page = page.limit.is_some_and(|l| rows.len() >= l);
        let last = rows.last().map(|r| r.leaf.index);
        for row in rows {
            let index = row.leaf.index;
            let sealed: Vec<SealedContent> = store
                .ledger_sealed(index, index.saturating_add(1))?
                .into_iter()
                .map(|(_, c)| c)
                .collect();
            let mac = row.mac;
            let entry = entry(row, &sealed)?;
            if filter.matches(&LeafColumns::of(&entry.event)) {
                out.push((entry, mac));
            }
        }
        // A row whose columns were rewritten took a place in the page and was left out: read
        // on past it until `limit` events match or the rows run out.
        let wanted = filter.limit.unwrap_or(usize::MAX);
        match last {
            Some(last) if full_page && out.len() < wanted => {
                page.limit = Some(wanted - out.len());
                if filter.newest_first {
                    page.index_below = Some(last);
                } else {
                    page.index_from = Some(last.saturating_add(1));
                }
            }
            _ => return Ok(out),
        }
    }
}

/// Up to `limit` events from index `from` on, oldest first: the pages of an export.
pub fn read_range(
    store: &dyn Store,
    from: u64,
    limit: usize,
) -> Result<Vec<LedgerEntry>, StoreError> {
    let rows = store.ledger_rows(from, limit)?;
    let to = rows.last().map_or(from, |r| r.leaf.index.saturating_add(1));
    let mut sealed: BTreeMap<u64, Vec<SealedContent>> = BTreeMap::new();
    for (index, content) in store.ledger_sealed(from, to)? {
        sealed.entry(index).or_default().push(content);
    }
    rows.into_iter()
        .map(|r| {
            let contents = sealed.remove(&r.leaf.index).unwrap_or_default();
            entry(r, &contents)
        })
        .collect()
}

/// The tree of the first `size` stored leaves, hashed from their bytes.
pub fn tree_of(store: &dyn Store, size: u64) -> Result<MerkleTree, LedgerError> {
    let mut tree = MerkleTree::new();
    for page in leaf_pages(store, 0, Some(size)) {
        let page = page.map_err(|e| match e {
            PageError::Store(e) => LedgerError::Store(e),
            e => LedgerError::Proof(format!("{e}: run `warden audit verify`")),
        })?;
        for l in page {
            tree.push(leaf_hash(&l.data));
        }
    }
    Ok(tree)
}

fn latest_signed(
    store: &dyn Store,
    verifier: &CheckpointVerifier,
) -> Result<SignedCheckpoint, LedgerError> {
    let stored = store
        .ledger_latest_checkpoint()?
        .ok_or_else(|| LedgerError::Proof("the ledger has no checkpoint yet".into()))?;
    Ok(verifier.open(&stored.note)?)
}

/// A C2SP tlog-proof for leaf `index` against the latest checkpoint; its `extra` line carries
/// the leaf bytes, so the receipt alone lets anyone recompute the leaf hash.
pub fn prove(
    store: &dyn Store,
    verifier: &CheckpointVerifier,
    index: u64,
) -> Result<TlogProof, LedgerError> {
    let checkpoint = latest_signed(store, verifier)?;
    if index >= checkpoint.size() {
        return Err(LedgerError::Proof(format!(
            "leaf {index} is not covered by a checkpoint yet (the latest covers {} leaves)",
            checkpoint.size()
        )));
    }
    let tree = tree_of(store, checkpoint.size())?;
    let bytes = store
        .ledger_leaves(index, 1)?
        .into_iter()
        .find(|l| l.index == index)
        .map(|l| l.data)
        .ok_or_else(|| LedgerError::Proof(format!("leaf {index} is missing")))?;
    let proof = TlogProof::for_leaf(&tree, index, &checkpoint)
        .map_err(|e| LedgerError::Proof(e.to_string()))?;
    Ok(proof.with_extra(bytes))
}

/// A consistency proof between the stored checkpoints of sizes `old` and `new`, checked
/// against both signed roots before it is returned.
pub fn consistency(
    store: &dyn Store,
    verifier: &CheckpointVerifier,
    old: u64,
    new: u64,
) -> Result<(StoredCheckpoint, StoredCheckpoint, Vec<Hash>), LedgerError> {
    let checkpoints = store.ledger_checkpoints()?;
    let find = |size: u64| -> Result<(StoredCheckpoint, SignedCheckpoint), LedgerError> {
        let stored = checkpoints
            .iter()
            .find(|c| c.size == size)
            .cloned()
            .ok_or_else(|| LedgerError::Proof(format!("no stored checkpoint has size {size}")))?;
        let signed = verifier.open(&stored.note)?;
        Ok((stored, signed))
    };
    if old > new {
        return Err(LedgerError::Proof(format!(
            "the first size ({old}) must not exceed the second ({new})"
        )));
    }
    let (old_stored, old_signed) = find(old)?;
    let (new_stored, new_signed) = find(new)?;
    let tree = tree_of(store, new)?;
    let proof = tree
        .consistency_proof(old, new)
        .map_err(|e| LedgerError::Proof(e.to_string()))?;
    if old > 0 && old < new {
        verify_consistency(old, new, old_signed.root(), new_signed.root(), &proof).map_err(
            |e| {
                LedgerError::Proof(format!(
                    "checkpoints {old} and {new} are NOT consistent: {e}"
                ))
            },
        )?;
    } else if old == new && old_signed.root() != new_signed.root() {
        return Err(LedgerError::Proof(format!(
            "two checkpoints of size {old} have different roots"
        )));
    }
    Ok((old_stored, new_stored, proof))
}
