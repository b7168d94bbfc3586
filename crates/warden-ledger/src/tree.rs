//! Building RFC 6962 trees: batch roots, a compact frontier, and an in-memory tree that serves
//! roots, inclusion proofs and consistency proofs for any prefix size.
//!
//! Design choice: [`MerkleTree`] keeps every complete subtree hash, level by level (about two
//! hashes per leaf). Appending is amortised O(1), and any hash the RFC 6962 recursions ask for,
//! `MTH(D[a:b])`, is found in O(log n) by looking up at most one stored perfect subtree per
//! level. Proofs therefore cost O(log² n) lookups and no rehashing of leaves, which keeps a log
//! audit with many checkpoints linear in the number of leaves. [`Frontier`] is the O(log n)
//! memory alternative for a writer that only needs the running root, and for a publisher that
//! proves each new checkpoint consistent with the last one it sent (the old tree's part of a
//! consistency proof is always frontier nodes).

use crate::hash::{EMPTY_ROOT, Hash, node_hash};

/// Why a tree could not answer a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TreeError {
    /// The requested tree size is larger than the number of leaves held.
    #[error("tree size {size} exceeds the {len} leaves held")]
    SizeBeyondTree {
        /// The requested size.
        size: u64,
        /// The number of leaves held.
        len: u64,
    },
    /// A leaf index is not inside the requested tree size.
    #[error("leaf index {index} is not below tree size {size}")]
    IndexBeyondSize {
        /// The requested leaf index.
        index: u64,
        /// The requested tree size.
        size: u64,
    },
    /// A consistency proof was asked from a larger tree to a smaller one.
    #[error("old tree size {old_size} exceeds new tree size {new_size}")]
    SizesOutOfOrder {
        /// The older (smaller) size.
        old_size: u64,
        /// The newer (larger) size.
        new_size: u64,
    },
    /// A frontier's node list does not fit its size.
    #[error("a frontier of size {size} needs {expected} nodes, got {got}")]
    FrontierShape {
        /// The claimed tree size.
        size: u64,
        /// One node per set bit of the size.
        expected: u32,
        /// The nodes supplied.
        got: usize,
    },
    /// A consistency proof needed a hash of the old tree that is not one of its frontier nodes.
    #[error("the consistency proof from size {size} needs an old hash the frontier lacks")]
    NotInFrontier {
        /// The old tree size.
        size: u64,
    },
}

/// Largest power of two strictly below `n`; `n` must be at least 2.
fn split_point(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// Root of the tree whose leaf hashes are `leaves`, `EMPTY_ROOT` for none.
///
/// Hashes level by level, pairing neighbours and carrying a lone last node up unchanged, which
/// yields the same tree shape as the RFC 6962 split at the largest power of two.
#[must_use]
pub fn root_from_leaves(leaves: &[Hash]) -> Hash {
    let mut level = match leaves {
        [] => return EMPTY_ROOT,
        [only] => return *only,
        _ => reduce_level(leaves),
    };
    while level.len() > 1 {
        level = reduce_level(&level);
    }
    level.first().copied().unwrap_or(EMPTY_ROOT)
}

fn reduce_level(level: &[Hash]) -> Vec<Hash> {
    let (pairs, carried) = level.as_chunks::<2>();
    let mut next = Vec::with_capacity(pairs.len() + carried.len());
    next.extend(pairs.iter().map(|[left, right]| node_hash(left, right)));
    next.extend_from_slice(carried);
    next
}

/// The right edge of a tree: one perfect-subtree root per set bit of its size, largest first.
///
/// Enough to append leaves and compute the current root in O(log n) time and space; a writer
/// can persist `(size, nodes)` and resume with [`Frontier::from_parts`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    nodes: Vec<Hash>,
}

impl Frontier {
    /// The empty tree.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Resumes a frontier from a stored size and node list.
    pub fn from_parts(size: u64, nodes: Vec<Hash>) -> Result<Self, TreeError> {
        let expected = size.count_ones();
        if usize::try_from(expected).ok() != Some(nodes.len()) {
            return Err(TreeError::FrontierShape {
                size,
                expected,
                got: nodes.len(),
            });
        }
        Ok(Self { size, nodes })
    }

    /// Number of leaves appended.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Perfect-subtree roots, largest (leftmost) first.
    #[must_use]
    pub fn nodes(&self) -> &[Hash] {
        &self.nodes
    }

    /// Appends one leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        let mut node = leaf;
        let mut size = self.size;
        // Each trailing one bit of the old size is a complete subtree of the same height as
        // `node`; merging them mirrors a binary increment.
        while size & 1 == 1 {
            let Some(left) = self.nodes.pop() else { break };
            node = node_hash(&left, &node);
            size >>= 1;
        }
        self.nodes.push(node);
        self.size += 1;
    }

    /// The RFC 6962 consistency proof from this tree to this tree with `added` appended,
    /// without the old leaves: every hash the proof takes from the old tree is one of the
    /// frontier's nodes (the recursion only descends into the old part along the binary
    /// decomposition of its size), and the rest is hashed from `added`. So a publisher can
    /// keep O(log n) hashes instead of the whole tree, and read only what was appended.
    pub fn consistency_proof(&self, added: &[Hash]) -> Result<Vec<Hash>, TreeError> {
        let old = self.size;
        let new = old.saturating_add(added.len() as u64);
        let mut proof = Vec::new();
        if old > 0 && old < new {
            self.subproof(old, 0, new, true, added, &mut proof)
                .ok_or(TreeError::NotInFrontier { size: old })?;
        }
        Ok(proof)
    }

    /// The frontier node over `[start, start + width)`, if there is one.
    fn node_at(&self, start: u64, width: u64) -> Option<Hash> {
        let mut at = 0u64;
        let mut rest = self.size;
        for node in &self.nodes {
            let w = 1u64 << (63 - rest.leading_zeros());
            if at == start && w == width {
                return Some(*node);
            }
            at += w;
            rest -= w;
        }
        None
    }

    /// `MTH(D[start:end])` of the extended tree: old parts from the frontier, new parts hashed
    /// from `added`.
    fn range_hash(&self, start: u64, end: u64, added: &[Hash]) -> Option<Hash> {
        let old = self.size;
        if end <= old {
            return self.node_at(start, end - start);
        }
        if start >= old {
            let from = usize::try_from(start - old).ok()?;
            let to = usize::try_from(end - old).ok()?;
            return Some(root_from_leaves(added.get(from..to)?));
        }
        let k = split_point(end - start);
        let left = self.range_hash(start, start + k, added)?;
        let right = self.range_hash(start + k, end, added)?;
        Some(node_hash(&left, &right))
    }

    /// `SUBPROOF(m, D[start:end], complete)` over the extended tree.
    fn subproof(
        &self,
        m: u64,
        start: u64,
        end: u64,
        complete: bool,
        added: &[Hash],
        out: &mut Vec<Hash>,
    ) -> Option<()> {
        let n = end - start;
        if m == n {
            if !complete {
                out.push(self.range_hash(start, end, added)?);
            }
            return Some(());
        }
        let k = split_point(n);
        if m <= k {
            self.subproof(m, start, start + k, complete, added, out)?;
            out.push(self.range_hash(start + k, end, added)?);
        } else {
            self.subproof(m - k, start + k, end, false, added, out)?;
            out.push(self.range_hash(start, start + k, added)?);
        }
        Some(())
    }

    /// Root of the tree so far.
    #[must_use]
    pub fn root(&self) -> Hash {
        self.nodes
            .iter()
            .rev()
            .copied()
            .reduce(|right, left| node_hash(&left, &right))
            .unwrap_or(EMPTY_ROOT)
    }
}

/// An append-only tree of leaf hashes that can prove things about any of its prefixes.
#[derive(Debug, Clone, Default)]
pub struct MerkleTree {
    /// `levels[l][i]` is the root of the perfect subtree over leaves `[i·2^l, (i+1)·2^l)`;
    /// a level only holds subtrees that are already complete.
    levels: Vec<Vec<Hash>>,
}

impl MerkleTree {
    /// The empty tree.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A tree over the given leaf hashes, in order.
    pub fn from_leaf_hashes(leaves: impl IntoIterator<Item = Hash>) -> Self {
        let mut tree = Self::new();
        for leaf in leaves {
            tree.push(leaf);
        }
        tree
    }

    /// Number of leaves.
    #[must_use]
    pub fn len(&self) -> u64 {
        self.levels.first().map_or(0, |leaves| leaves.len() as u64)
    }

    /// Whether the tree has no leaves.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends a leaf hash and returns its index.
    pub fn push(&mut self, leaf: Hash) -> u64 {
        let index = self.len();
        let mut node = leaf;
        let mut level = 0;
        loop {
            let Some(row) = self.levels.get_mut(level) else {
                self.levels.push(Vec::new());
                continue;
            };
            row.push(node);
            // An even row length means the last two nodes just became siblings.
            match row.as_slice() {
                [.., left, right] if row.len().is_multiple_of(2) => node = node_hash(left, right),
                _ => break,
            }
            level += 1;
        }
        index
    }

    /// The stored hash of leaf `index`.
    #[must_use]
    pub fn leaf_hash(&self, index: u64) -> Option<Hash> {
        self.node(0, index)
    }

    /// Root of the whole tree.
    #[must_use]
    pub fn root(&self) -> Hash {
        self.range_hash(0, self.len()).unwrap_or(EMPTY_ROOT)
    }

    /// Root of the first `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash, TreeError> {
        self.check_size(size)?;
        if size == 0 {
            return Ok(EMPTY_ROOT);
        }
        self.range_hash(0, size).ok_or(self.beyond(size))
    }

    /// Inclusion proof (audit path, leaf sibling first) for leaf `index` in the tree of `size`
    /// leaves, per RFC 6962 §2.1.1.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, TreeError> {
        self.check_size(size)?;
        if index >= size {
            return Err(TreeError::IndexBeyondSize { index, size });
        }
        let mut proof = Vec::new();
        self.path(index, 0, size, &mut proof)
            .ok_or(self.beyond(size))?;
        Ok(proof)
    }

    /// Consistency proof from the tree of `old_size` leaves to the tree of `new_size` leaves,
    /// per RFC 6962 §2.1.2. Empty when the sizes are equal or `old_size` is 0.
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<Vec<Hash>, TreeError> {
        self.check_size(new_size)?;
        if old_size > new_size {
            return Err(TreeError::SizesOutOfOrder { old_size, new_size });
        }
        let mut proof = Vec::new();
        if old_size > 0 && old_size < new_size {
            self.subproof(old_size, 0, new_size, true, &mut proof)
                .ok_or(self.beyond(new_size))?;
        }
        Ok(proof)
    }

    fn check_size(&self, size: u64) -> Result<(), TreeError> {
        if size > self.len() {
            return Err(self.beyond(size));
        }
        Ok(())
    }

    fn beyond(&self, size: u64) -> TreeError {
        TreeError::SizeBeyondTree {
            size,
            len: self.len(),
        }
    }

    fn node(&self, level: u32, index: u64) -> Option<Hash> {
        let row = self.levels.get(usize::try_from(level).ok()?)?;
        row.get(usize::try_from(index).ok()?).copied()
    }

    /// `MTH(D[start:end])` for `start < end <= len`. In the RFC recursions `start` is always a
    /// multiple of the power of two at or above the width, so every left part is one stored node.
    fn range_hash(&self, start: u64, end: u64) -> Option<Hash> {
        let width = end.checked_sub(start).filter(|w| *w > 0)?;
        if width.is_power_of_two() && start.is_multiple_of(width) {
            let level = width.trailing_zeros();
            return self.node(level, start >> level);
        }
        let k = split_point(width);
        let left = self.range_hash(start, start + k)?;
        let right = self.range_hash(start + k, end)?;
        Some(node_hash(&left, &right))
    }

    /// `PATH(m, D[start:end])`.
    fn path(&self, m: u64, start: u64, end: u64, out: &mut Vec<Hash>) -> Option<()> {
        let n = end - start;
        if n <= 1 {
            return Some(());
        }
        let k = split_point(n);
        if m < k {
            self.path(m, start, start + k, out)?;
            out.push(self.range_hash(start + k, end)?);
        } else {
            self.path(m - k, start + k, end, out)?;
            out.push(self.range_hash(start, start + k)?);
        }
        Some(())
    }

    /// `SUBPROOF(m, D[start:end], complete)`.
    fn subproof(
        &self,
        m: u64,
        start: u64,
        end: u64,
        complete: bool,
        out: &mut Vec<Hash>,
    ) -> Option<()> {
        let n = end - start;
        if m == n {
            if !complete {
                out.push(self.range_hash(start, end)?);
            }
            return Some(());
        }
        let k = split_point(n);
        if m <= k {
            self.subproof(m, start, start + k, complete, out)?;
            out.push(self.range_hash(start + k, end)?);
        } else {
            self.subproof(m - k, start + k, end, false, out)?;
            out.push(self.range_hash(start, start + k)?);
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;

    /// RFC 6962 `MTH`, written as the definition reads.
    fn reference_root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => EMPTY_ROOT,
            1 => leaves[0],
            n => {
                let k = split_point(n as u64) as usize;
                node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
            }
        }
    }

    #[test]
    fn split_point_is_largest_power_below() {
        for (n, k) in [
            (2, 1),
            (3, 2),
            (4, 2),
            (5, 4),
            (8, 4),
            (9, 8),
            (28937, 16384),
        ] {
            assert_eq!(split_point(n), k, "n = {n}");
        }
    }

    #[test]
    fn all_root_paths_agree_with_the_definition() {
        let leaves: Vec<Hash> = (0..70u32).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut tree = MerkleTree::new();
        let mut frontier = Frontier::new();
        for size in 0..=leaves.len() {
            let want = reference_root(&leaves[..size]);
            assert_eq!(
                root_from_leaves(&leaves[..size]),
                want,
                "batch, size {size}"
            );
            assert_eq!(tree.root(), want, "tree, size {size}");
            assert_eq!(frontier.root(), want, "frontier, size {size}");
            for prefix in 0..=size {
                assert_eq!(
                    tree.root_at(prefix as u64),
                    Ok(reference_root(&leaves[..prefix]))
                );
            }
            if let Some(leaf) = leaves.get(size) {
                tree.push(*leaf);
                frontier.push(*leaf);
            }
        }
        let resumed = Frontier::from_parts(frontier.size(), frontier.nodes().to_vec()).unwrap();
        assert_eq!(resumed.root(), tree.root());
        assert!(Frontier::from_parts(3, vec![EMPTY_ROOT]).is_err());
    }

    #[test]
    fn a_frontier_proves_consistency_like_the_whole_tree() {
        let leaves: Vec<Hash> = (0..140u32).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let tree = MerkleTree::from_leaf_hashes(leaves.iter().copied());
        for old in 0..=leaves.len() {
            let frontier = Frontier::from_parts(
                old as u64,
                Frontier::new().tap_all(&leaves[..old]).nodes().to_vec(),
            )
            .unwrap();
            for new in old..=leaves.len() {
                assert_eq!(
                    frontier.consistency_proof(&leaves[old..new]),
                    tree.consistency_proof(old as u64, new as u64),
                    "{old} -> {new}"
                );
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        #[test]
        fn a_frontier_proof_matches_the_tree_for_larger_sizes(
            old in 0usize..3000,
            more in 0usize..3000,
        ) {
            let leaves: Vec<Hash> =
                (0..(old + more) as u32).map(|i| leaf_hash(&i.to_be_bytes())).collect();
            let tree = MerkleTree::from_leaf_hashes(leaves.iter().copied());
            let frontier = Frontier::new().tap_all(&leaves[..old]);
            proptest::prop_assert_eq!(
                frontier.consistency_proof(&leaves[old..]),
                tree.consistency_proof(old as u64, (old + more) as u64)
            );
        }
    }

    impl Frontier {
        fn tap_all(mut self, leaves: &[Hash]) -> Self {
            for leaf in leaves {
                self.push(*leaf);
            }
            self
        }
    }

    #[test]
    fn requests_outside_the_tree_are_errors() {
        let tree = MerkleTree::from_leaf_hashes((0..5u8).map(|i| leaf_hash(&[i])));
        assert_eq!(
            tree.root_at(6),
            Err(TreeError::SizeBeyondTree { size: 6, len: 5 })
        );
        assert_eq!(
            tree.inclusion_proof(5, 5),
            Err(TreeError::IndexBeyondSize { index: 5, size: 5 })
        );
        assert_eq!(
            tree.consistency_proof(4, 3),
            Err(TreeError::SizesOutOfOrder {
                old_size: 4,
                new_size: 3
            })
        );
        assert_eq!(tree.consistency_proof(0, 5), Ok(vec![]));
        assert_eq!(tree.consistency_proof(5, 5), Ok(vec![]));
        assert_eq!(tree.leaf_hash(5), None);
    }
}
