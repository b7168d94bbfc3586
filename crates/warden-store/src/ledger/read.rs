//! Reading the ledger back: auditing it, proving leaves, showing events.

use super::LedgerError;
use crate::{EventFilter, Store, StoreError, StoredCheckpoint};
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::rc::Rc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use warden_core::AuditEvent;
use warden_ledger::leaf;
use warden_ledger::{
    CheckpointVerifier, Hash, LogReport, MerkleTree, Salt, SealedContent, SignedCheckpoint,
    StoredLeaf, TlogProof, leaf_hash, verify_consistency, verify_log,
};

/// Leaves read per query.
const PAGE: usize = 8192;

/// A problem with the content kept beside the leaves, found beside
/// `warden_ledger::verify_log`'s checks of the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentFinding {
    /// Stored sealed content is not what the leaf commits to: it was altered or moved.
    SealMismatch { index: u64, field: String },
}

impl fmt::Display for ContentFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SealMismatch { index, field } => write!(
                f,
                "leaf {index}: the stored content of `{field}` does not match the leaf's \
                 commitment (it was altered)"
            ),
        }
    }
}

/// What `verify_store` established.
#[derive(Debug, Clone)]
pub struct LedgerReport {
    /// The chain: leaf hashes, order, checkpoints and their signatures and consistency.
    pub log: LogReport,
    /// Sealed values checked against their leaves' commitments (redacted ones are gone).
    pub sealed_checked: u64,
    /// The first problem with sealed content, if any.
    pub content: Option<ContentFinding>,
}

impl LedgerReport {
    pub fn is_clean(&self) -> bool {
        self.log.is_clean() && self.content.is_none()
    }
}

/// One page of leaves and their sealed content, packed into two buffers by the reading thread.
///
/// Design choice: the verifying thread frees two allocations per page instead of several per
/// leaf. Freeing memory that another thread allocated is slow with glibc (the arenas lock
/// against each other), and that made the two-thread pipeline no faster than one thread.
struct Packed {
    /// `(index, stored hash, range in leaf_bytes)`, in index order.
    leaves: Vec<(u64, Hash, Range<usize>)>,
    leaf_bytes: Vec<u8>,
    /// In index order.
    sealed: Vec<SealedRef>,
    sealed_bytes: Vec<u8>,
}

/// `(index, field, salt, range in sealed_bytes)`.
type SealedRef = (u64, &'static str, Salt, Range<usize>);

fn read_page(store: &dyn Store, from: u64) -> Result<Option<Packed>, StoreError> {
    let leaves = store.ledger_leaves(from, PAGE)?;
    let (Some(first), Some(last)) = (leaves.first(), leaves.last()) else {
        return Ok(None);
    };
    let sealed = store.ledger_sealed(first.index, last.index.saturating_add(1))?;
    let mut packed = Packed {
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
    Ok(Some(packed))
}

/// Reads pages ahead on its own thread, so SQLite reads overlap with hashing.
fn read_pages(store: &dyn Store, pages: &SyncSender<Result<Packed, StoreError>>) {
    let mut next = 0;
    loop {
        let page = match read_page(store, next) {
            Ok(Some(page)) => page,
            Ok(None) => return,
            Err(e) => {
                let _ = pages.send(Err(e));
                return;
            }
        };
        next = page
            .leaves
            .last()
            .map_or(next, |(i, _, _)| i.saturating_add(1));
        if pages.send(Ok(page)).is_err() {
            return;
        }
    }
}

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
    content: Option<ContentFinding>,
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
            if self.state.content.is_none() && !leaf::is_committed(field, &salt, content, leaf) {
                self.state.content = Some(ContentFinding::SealMismatch {
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

/// Audits the stored ledger: `warden_ledger::verify_log` over the leaves and checkpoints, and
/// every stored sealed value against its leaf's commitment. A store error is an `Err`; a
/// problem in the data is a finding in the report.
pub fn verify_store(
    store: &dyn Store,
    verifier: &CheckpointVerifier,
) -> Result<LedgerReport, StoreError> {
    let checkpoints = store.ledger_checkpoints()?;
    let mut state = PageState::default();
    let log = std::thread::scope(|scope| {
        let (sender, receiver) = sync_channel(4);
        scope.spawn(move || read_pages(store, &sender));
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
    Ok(LedgerReport {
        log,
        sealed_checked: state.sealed_checked,
        content: state.content,
    })
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
}

fn entry(l: StoredLeaf<Vec<u8>>, sealed: &[SealedContent]) -> Result<LedgerEntry, StoreError> {
    let decoded =
        leaf::decode(&l.data).map_err(|e| StoreError::Corrupt(format!("leaf {}: {e}", l.index)))?;
    let opened = decoded.open(sealed);
    Ok(LedgerEntry {
        index: l.index,
        leaf_hash: l.leaf_hash,
        event: opened.event,
        redacted: opened.redacted,
        altered: opened.altered,
    })
}

/// Events whose columns match `filter`, oldest first.
pub fn read_events(
    store: &dyn Store,
    filter: &EventFilter,
) -> Result<Vec<LedgerEntry>, StoreError> {
    let mut out = Vec::new();
    for l in store.ledger_find(filter)? {
        let sealed: Vec<SealedContent> = store
            .ledger_sealed(l.index, l.index.saturating_add(1))?
            .into_iter()
            .map(|(_, c)| c)
            .collect();
        out.push(entry(l, &sealed)?);
    }
    Ok(out)
}

/// Up to `limit` events from index `from` on, oldest first: the pages of an export.
pub fn read_range(
    store: &dyn Store,
    from: u64,
    limit: usize,
) -> Result<Vec<LedgerEntry>, StoreError> {
    let leaves = store.ledger_leaves(from, limit)?;
    let to = leaves.last().map_or(from, |l| l.index.saturating_add(1));
    let mut sealed: BTreeMap<u64, Vec<SealedContent>> = BTreeMap::new();
    for (index, content) in store.ledger_sealed(from, to)? {
        sealed.entry(index).or_default().push(content);
    }
    leaves
        .into_iter()
        .map(|l| {
            let contents = sealed.remove(&l.index).unwrap_or_default();
            entry(l, &contents)
        })
        .collect()
}

/// The tree of the first `size` stored leaves, hashed from their bytes.
pub fn tree_of(store: &dyn Store, size: u64) -> Result<MerkleTree, LedgerError> {
    let mut tree = MerkleTree::new();
    while tree.len() < size {
        let want = usize::try_from(size - tree.len()).unwrap_or(PAGE).min(PAGE);
        let page = store.ledger_leaves(tree.len(), want)?;
        if page.is_empty() {
            break;
        }
        for l in page {
            if l.index != tree.len() {
                return Err(LedgerError::Proof(format!(
                    "leaf {} is missing from the store: run `warden audit verify`",
                    tree.len()
                )));
            }
            tree.push(leaf_hash(&l.data));
        }
    }
    if tree.len() < size {
        return Err(LedgerError::Proof(format!(
            "the store holds {} leaves, fewer than {size}: run `warden audit verify`",
            tree.len()
        )));
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
