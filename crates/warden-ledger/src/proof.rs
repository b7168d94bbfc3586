//! Verifying inclusion and consistency proofs, step by step as RFC 9162 §2.1.3.2 and §2.1.4.2
//! write them.
//!
//! Design choice: the algorithms are transcribed literally (the `fn`/`sn` bit walk) rather than
//! restructured, so a reader can check them line by line against the RFC. The edge cases the
//! RFC leaves to the caller follow the Go reference verifier (`transparency-dev/merkle`,
//! `proof/verify.go`): equal sizes need an empty proof and equal roots, a proof from the empty
//! tree is refused, and a shrinking tree is refused.

use crate::hash::{Hash, node_hash};

/// Why a proof did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The leaf index is not inside the tree.
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange {
        /// The claimed leaf index.
        index: u64,
        /// The claimed tree size.
        size: u64,
    },
    /// The proof holds more hashes than the tree shape allows.
    #[error("proof has more hashes than the tree sizes allow")]
    ProofTooLong,
    /// The proof holds fewer hashes than the tree shape needs.
    #[error("proof has fewer hashes than the tree sizes need")]
    ProofTooShort,
    /// The proof is well formed but leads to a different root.
    #[error("proof leads to a different root")]
    RootMismatch,
    /// A consistency proof leads to a different old root.
    #[error("proof leads to a different old root")]
    OldRootMismatch,
    /// The new tree is smaller than the old one.
    #[error("new tree size {new_size} is smaller than old tree size {old_size}")]
    SizeDecreased {
        /// The older size.
        old_size: u64,
        /// The newer size.
        new_size: u64,
    },
    /// A consistency proof from the empty tree carries no information.
    #[error("consistency proof from the empty tree is meaningless")]
    EmptyOldTree,
    /// Two trees of the same size have nothing to prove.
    #[error("trees of equal size need an empty proof")]
    ProofForEqualSizes,
    /// A non-trivial consistency proof cannot be empty.
    #[error("consistency proof is empty")]
    EmptyProof,
}

/// Checks that `leaf_hash` is leaf `index` of the tree of `size` leaves whose root is `root`
/// (RFC 9162 §2.1.3.2). `proof` lists sibling hashes from the leaf upward.
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    // 1. The leaf must be inside the tree.
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    // 2.
    let mut f_n = index;
    let mut s_n = size - 1;
    let mut r = *leaf_hash;
    // 3.
    for p in proof {
        // a.
        if s_n == 0 {
            return Err(ProofError::ProofTooLong);
        }
        // b.
        if f_n & 1 == 1 || f_n == s_n {
            r = node_hash(p, &r);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        // c.
        f_n >>= 1;
        s_n >>= 1;
    }
    // 4.
    if s_n != 0 {
        return Err(ProofError::ProofTooShort);
    }
    if r != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Checks that the tree of `new_size` leaves with root `new_root` extends the tree of
/// `old_size` leaves with root `old_root` (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if new_size < old_size {
        return Err(ProofError::SizeDecreased { old_size, new_size });
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(ProofError::ProofForEqualSizes);
        }
        if old_root != new_root {
            return Err(ProofError::RootMismatch);
        }
        return Ok(());
    }
    if old_size == 0 {
        return Err(ProofError::EmptyOldTree);
    }
    // 1.
    if proof.is_empty() {
        return Err(ProofError::EmptyProof);
    }
    // 2. When the old tree is a complete subtree its root is the first node of the path.
    let prefix = old_size.is_power_of_two().then_some(old_root);
    let mut path = prefix.into_iter().chain(proof);
    // 3.
    let mut f_n = old_size - 1;
    let mut s_n = new_size - 1;
    // 4.
    if f_n & 1 == 1 {
        while f_n & 1 == 1 {
            f_n >>= 1;
            s_n >>= 1;
        }
    }
    // 5.
    let Some(first) = path.next() else {
        return Err(ProofError::EmptyProof);
    };
    let mut f_r = *first;
    let mut s_r = *first;
    // 6.
    for c in path {
        // a.
        if s_n == 0 {
            return Err(ProofError::ProofTooLong);
        }
        // b.
        if f_n & 1 == 1 || f_n == s_n {
            f_r = node_hash(c, &f_r);
            s_r = node_hash(c, &s_r);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            s_r = node_hash(&s_r, c);
        }
        // c.
        f_n >>= 1;
        s_n >>= 1;
    }
    // 7.
    if s_n != 0 {
        return Err(ProofError::ProofTooShort);
    }
    if f_r != *old_root {
        return Err(ProofError::OldRootMismatch);
    }
    if s_r != *new_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}
