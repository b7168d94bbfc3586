//! Auditing a stored log: do the stored leaves and the stored checkpoints tell one consistent,
//! signed story?
//!
//! Design choice: one pass in log order, stopping at the first problem, which is reported as a
//! [`Finding`] naming the leaf index or checkpoint precisely. Checkpoints are taken in stored
//! order; before each is compared with the tree, the leaves it covers are read and checked
//! (index, then hash), so a damaged leaf is named as that leaf rather than as the checkpoint
//! whose root it breaks. Leaves come from an iterator and are hashed as they stream past; only
//! their 32-byte hashes are kept, in a [`MerkleTree`] that answers each checkpoint's root and
//! consistency proof without rehashing.

use crate::checkpoint::{Checkpoint, CheckpointError, CheckpointVerifier, SignedCheckpoint};
use crate::hash::{Hash, leaf_hash};
use crate::proof::verify_consistency;
use crate::tree::MerkleTree;

/// One leaf as storage holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLeaf<D> {
    /// The index the row claims.
    pub index: u64,
    /// The leaf's bytes, as hashed into the tree.
    pub data: D,
    /// The leaf hash stored beside the bytes.
    pub leaf_hash: Hash,
}

/// The first problem found in a stored log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Finding {
    /// The leaf's stored hash is not the hash of its bytes: content or hash was altered.
    #[error("leaf {index}: hash does not match its content")]
    LeafHashMismatch {
        /// The leaf index.
        index: u64,
    },
    /// No stored row has this index.
    #[error("leaf {index}: missing from the log")]
    MissingLeaf {
        /// The missing index.
        index: u64,
    },
    /// An index already seen appears again.
    #[error("leaf {index}: stored a second time, at position {position}")]
    DuplicateLeaf {
        /// The repeated index.
        index: u64,
        /// 0-based position of the repeat among the stored rows.
        position: u64,
    },
    /// The leaf is stored, but not where its index says.
    #[error("leaf {index}: stored out of order, at position {position}")]
    OutOfOrder {
        /// The displaced index.
        index: u64,
        /// 0-based position where it was found among the stored rows.
        position: u64,
    },
    /// The checkpoint is malformed, for another log, or its signature does not verify.
    #[error("checkpoint at position {position}: {error}")]
    InvalidCheckpoint {
        /// 0-based position among the stored checkpoints.
        position: usize,
        /// Why it failed to open.
        error: CheckpointError,
    },
    /// A checkpoint is smaller than one stored before it.
    #[error("checkpoint {size}: smaller than checkpoint {previous_size} stored before it")]
    CheckpointSizeDecreased {
        /// 0-based position among the stored checkpoints.
        position: usize,
        /// Its size.
        size: u64,
        /// The size of the checkpoint before it.
        previous_size: u64,
    },
    /// A checkpoint covers leaves the log no longer holds: the tail was cut off.
    #[error("checkpoint {size}: the log holds only {log_size} leaves, its tail was removed")]
    CheckpointBeyondLog {
        /// 0-based position among the stored checkpoints.
        position: usize,
        /// Its size.
        size: u64,
        /// Leaves the log holds.
        log_size: u64,
    },
    /// The checkpoint's root is not the root of the stored leaves: leaves after the previous
    /// checkpoint, or the checkpoint itself, were replaced.
    #[error(
        "checkpoint {size}: root does not match the stored leaves \
         (leaves {since}..{size} or the checkpoint were replaced)"
    )]
    CheckpointRootMismatch {
        /// 0-based position among the stored checkpoints.
        position: usize,
        /// Its size.
        size: u64,
        /// Size of the last checkpoint that matched; the change lies at or after this leaf.
        since: u64,
    },
    /// No consistency proof links the checkpoint to the one before it.
    #[error("checkpoint {size}: not consistent with checkpoint {previous_size}")]
    CheckpointInconsistent {
        /// 0-based position among the stored checkpoints.
        position: usize,
        /// Its size.
        size: u64,
        /// The size of the checkpoint before it.
        previous_size: u64,
    },
}

/// What an audit established, and the first problem if there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogReport {
    /// Leaves checked and found in order with matching hashes (a prefix of the log).
    pub leaves: u64,
    /// Root of those leaves.
    pub root: Hash,
    /// Checkpoints checked and found good.
    pub checkpoints: usize,
    /// The last good checkpoint.
    pub latest_checkpoint: Option<Checkpoint>,
    /// The first problem, `None` when the log is intact.
    pub finding: Option<Finding>,
}

impl LogReport {
    /// Whether the audit found nothing wrong.
    #[must_use]
    pub fn is_clean(&self) -> bool {
        self.finding.is_none()
    }

    /// Leaves that no checkpoint covers yet (appended since the last checkpoint).
    #[must_use]
    pub fn unsigned_leaves(&self) -> u64 {
        let signed = self.latest_checkpoint.as_ref().map_or(0, |c| c.size);
        self.leaves.saturating_sub(signed)
    }
}

/// Audits a stored log: `leaves` in stored order, `checkpoints` (signed note texts) in stored
/// order, against the log's `verifier`.
///
/// Checks that every leaf hash recomputes from its bytes; that indices run 0, 1, 2, … with none
/// missing, repeated or moved; that every checkpoint opens (signature, origin, syntax); that
/// sizes never decrease; that each checkpoint's root is the root of the leaves up to its size;
/// and that each checkpoint is consistent with the one before it.
pub fn verify_log<D, L, C>(leaves: L, checkpoints: C, verifier: &CheckpointVerifier) -> LogReport
where
    D: AsRef<[u8]>,
    L: IntoIterator<Item = StoredLeaf<D>>,
    C: IntoIterator,
    C::Item: AsRef<str>,
{
    let mut audit = Audit {
        leaves: leaves.into_iter(),
        tree: MerkleTree::new(),
        latest: None,
        checkpoints: 0,
    };
    let finding = audit.run(checkpoints, verifier).err();
    LogReport {
        leaves: audit.tree.len(),
        root: audit.tree.root(),
        checkpoints: audit.checkpoints,
        latest_checkpoint: audit.latest.map(|c| c.into_parts().0),
        finding,
    }
}

struct Audit<I> {
    leaves: I,
    tree: MerkleTree,
    latest: Option<SignedCheckpoint>,
    checkpoints: usize,
}

/// Whether the leaves reached the wanted size.
enum Advance {
    Reached,
    EndOfLog,
}

impl<D, I> Audit<I>
where
    D: AsRef<[u8]>,
    I: Iterator<Item = StoredLeaf<D>>,
{
    fn run<C>(&mut self, checkpoints: C, verifier: &CheckpointVerifier) -> Result<(), Finding>
    where
        C: IntoIterator,
        C::Item: AsRef<str>,
    {
        for (position, note) in checkpoints.into_iter().enumerate() {
            let checkpoint = verifier
                .open(note.as_ref())
                .map_err(|error| Finding::InvalidCheckpoint { position, error })?;
            self.check_checkpoint(position, &checkpoint)?;
            self.latest = Some(checkpoint);
            self.checkpoints += 1;
        }
        // Leaves after the last checkpoint are not signed yet, but must still be well formed.
        self.advance_to(u64::MAX)?;
        Ok(())
    }

    fn check_checkpoint(
        &mut self,
        position: usize,
        checkpoint: &SignedCheckpoint,
    ) -> Result<(), Finding> {
        let size = checkpoint.size();
        let previous = self.latest.as_ref().map(|c| (c.size(), *c.root()));
        if let Some((previous_size, _)) = previous
            && size < previous_size
        {
            return Err(Finding::CheckpointSizeDecreased {
                position,
                size,
                previous_size,
            });
        }
        let beyond = |log_size| Finding::CheckpointBeyondLog {
            position,
            size,
            log_size,
        };
        if let Advance::EndOfLog = self.advance_to(size)? {
            return Err(beyond(self.tree.len()));
        }
        let root = self
            .tree
            .root_at(size)
            .map_err(|_| beyond(self.tree.len()))?;
        if root != *checkpoint.root() {
            return Err(Finding::CheckpointRootMismatch {
                position,
                size,
                since: previous.map_or(0, |(previous_size, _)| previous_size),
            });
        }
        if let Some((previous_size, previous_root)) = previous
            && previous_size > 0
        {
            let inconsistent = Finding::CheckpointInconsistent {
                position,
                size,
                previous_size,
            };
            let proof = self
                .tree
                .consistency_proof(previous_size, size)
                .map_err(|_| inconsistent.clone())?;
            verify_consistency(
                previous_size,
                size,
                &previous_root,
                checkpoint.root(),
                &proof,
            )
            .map_err(|_| inconsistent)?;
        }
        Ok(())
    }

    /// Reads and checks leaves until the tree holds `size` of them or the log ends.
    fn advance_to(&mut self, size: u64) -> Result<Advance, Finding> {
        while self.tree.len() < size {
            let Some(leaf) = self.leaves.next() else {
                return Ok(Advance::EndOfLog);
            };
            self.check_leaf(&leaf)?;
        }
        Ok(Advance::Reached)
    }

    fn check_leaf(&mut self, leaf: &StoredLeaf<D>) -> Result<(), Finding> {
        let expected = self.tree.len();
        if leaf.index != expected {
            return Err(self.misplaced(expected, leaf.index));
        }
        let computed = leaf_hash(leaf.data.as_ref());
        if computed != leaf.leaf_hash {
            return Err(Finding::LeafHashMismatch { index: expected });
        }
        self.tree.push(computed);
        Ok(())
    }

    /// Names the problem when the row at position `expected` claims index `found`.
    fn misplaced(&mut self, expected: u64, found: u64) -> Finding {
        if found < expected {
            // Every index below `expected` was already seen, in place.
            return Finding::DuplicateLeaf {
                index: found,
                position: expected,
            };
        }
        // Either `expected` is stored further on (moved) or nowhere (deleted).
        match self.leaves.by_ref().position(|leaf| leaf.index == expected) {
            Some(offset) => Finding::OutOfOrder {
                index: expected,
                position: expected + 1 + offset as u64,
            },
            None => Finding::MissingLeaf { index: expected },
        }
    }
}
