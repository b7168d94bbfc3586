//! Property tests: proofs from random trees verify and break under any one changed byte; the
//! tree agrees with the RFC 6962 definition; parsers never panic.

// Helpers outside `#[test]` functions are test code too; clippy.toml exempts only the latter.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a broken expectation must fail the test"
)]

use proptest::prelude::*;
use proptest::sample::Index;
use warden_ledger::{
    Checkpoint, EMPTY_ROOT, Hash, MerkleTree, Note, NoteSigner, TlogProof, VerifierKey, leaf_hash,
    node_hash, root_from_leaves, verify_consistency, verify_inclusion,
};

/// RFC 6962 `MTH`, as the definition reads.
fn reference_root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => EMPTY_ROOT,
        1 => leaves[0],
        n => {
            let k = n.next_power_of_two() / 2;
            node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
        }
    }
}

fn tree_leaves() -> impl Strategy<Value = Vec<Hash>> {
    prop::collection::vec(prop::collection::vec(any::<u8>(), 0..24), 1..300)
        .prop_map(|entries| entries.iter().map(|e| leaf_hash(e)).collect())
}

/// One changed byte: which byte, and a non-zero mask to XOR into it.
fn byte_change() -> impl Strategy<Value = (usize, u8)> {
    (0..32usize, 1..=255u8)
}

fn changed(hash: Hash, (at, mask): (usize, u8)) -> Hash {
    let mut bytes = hash.0;
    bytes[at] ^= mask;
    Hash(bytes)
}

proptest! {
    #[test]
    fn tree_roots_match_the_definition(leaves in tree_leaves(), pick in any::<Index>()) {
        let tree = MerkleTree::from_leaf_hashes(leaves.iter().copied());
        let size = pick.index(leaves.len()) + 1;
        let want = reference_root(&leaves[..size]);
        prop_assert_eq!(tree.root_at(size as u64).unwrap(), want);
        prop_assert_eq!(root_from_leaves(&leaves[..size]), want);
    }

    #[test]
    fn inclusion_proofs_verify_and_break_on_any_changed_byte(
        leaves in tree_leaves(),
        size_pick in any::<Index>(),
        index_pick in any::<Index>(),
        change in byte_change(),
    ) {
        let tree = MerkleTree::from_leaf_hashes(leaves.iter().copied());
        let size = size_pick.index(leaves.len()) as u64 + 1;
        let root = tree.root_at(size).unwrap();
        for index in 0..size {
            let proof = tree.inclusion_proof(index, size).unwrap();
            let leaf = leaves[index as usize];
            prop_assert_eq!(verify_inclusion(&leaf, index, size, &proof, &root), Ok(()));
        }
        let index = index_pick.index(size as usize) as u64;
        let proof = tree.inclusion_proof(index, size).unwrap();
        let leaf = leaves[index as usize];
        for i in 0..proof.len() {
            let mut bad = proof.clone();
            bad[i] = changed(bad[i], change);
            prop_assert!(verify_inclusion(&leaf, index, size, &bad, &root).is_err());
        }
        prop_assert!(verify_inclusion(&leaf, index, size, &proof, &changed(root, change)).is_err());
        prop_assert!(verify_inclusion(&changed(leaf, change), index, size, &proof, &root).is_err());
    }

    #[test]
    fn consistency_proofs_verify_and_break_on_any_changed_byte(
        leaves in tree_leaves(),
        new_pick in any::<Index>(),
        old_pick in any::<Index>(),
        change in byte_change(),
    ) {
        let tree = MerkleTree::from_leaf_hashes(leaves.iter().copied());
        let new = new_pick.index(leaves.len()) as u64 + 1;
        let new_root = tree.root_at(new).unwrap();
        for old in 1..=new {
            let proof = tree.consistency_proof(old, new).unwrap();
            let old_root = tree.root_at(old).unwrap();
            prop_assert_eq!(verify_consistency(old, new, &old_root, &new_root, &proof), Ok(()));
        }
        let old = old_pick.index(new as usize) as u64 + 1;
        let proof = tree.consistency_proof(old, new).unwrap();
        let old_root = tree.root_at(old).unwrap();
        for i in 0..proof.len() {
            let mut bad = proof.clone();
            bad[i] = changed(bad[i], change);
            prop_assert!(verify_consistency(old, new, &old_root, &new_root, &bad).is_err());
        }
        prop_assert!(
            verify_consistency(old, new, &changed(old_root, change), &new_root, &proof).is_err()
        );
        prop_assert!(
            verify_consistency(old, new, &old_root, &changed(new_root, change), &proof).is_err()
        );
    }

    #[test]
    fn parsers_never_panic(text in "(?s).{0,300}") {
        let _ = Note::parse(&text);
        let _ = Checkpoint::parse_body(&text);
        let _ = TlogProof::parse(&text);
        let _ = VerifierKey::parse(&text);
        let _ = NoteSigner::from_private_key(&text);
        let _ = Hash::from_base64(&text);
        let _ = Hash::from_hex(&text);
    }

    #[test]
    fn parsers_never_panic_on_near_misses(
        text in "(c2sp.org/tlog-proof@v1\n|index [0-9]{1,3}\n|extra [A-Za-z0-9+/=]{0,8}\n|\
                  [A-Za-z0-9+/]{43}=\n|\n|\u{2014} [a-z+]{0,4} [A-Za-z0-9+/=]{0,12}\n|\
                  [a-z.]{1,6}\n|[0-9]{1,4}\n|PRIVATE\\+KEY\\+|[0-9a-f]{8}\\+){0,12}"
    ) {
        let _ = Note::parse(&text);
        let _ = Checkpoint::parse_body(&text);
        let _ = TlogProof::parse(&text);
        let _ = VerifierKey::parse(&text);
        let _ = NoteSigner::from_private_key(&text);
    }
}
