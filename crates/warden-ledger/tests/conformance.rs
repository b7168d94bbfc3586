//! RFC 6962 conformance vectors.
//!
//! The leaves, node hashes and roots are copied from `transparency-dev/merkle`,
//! `testonly/constants.go`; the inclusion and consistency proofs from the same repository's
//! `testonly/reference_test.go` and `proof/verify_test.go` (the proofs also appear in
//! certificate-transparency-go's `merkle` tests). The corruption probes mirror
//! `corruptInclusionProof` / `corruptConsistencyProof` in `proof/verify_test.go`, which generate
//! that repository's `testdata/{inclusion,consistency}/*.json` mutation cases.

// Helpers outside `#[test]` functions are test code too; clippy.toml exempts only the latter.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a broken expectation must fail the test"
)]

use warden_ledger::{
    EMPTY_ROOT, Hash, MerkleTree, ProofError, leaf_hash, node_hash, root_from_leaves,
    verify_consistency, verify_inclusion,
};

fn h(hex: &str) -> Hash {
    Hash::from_hex(hex).unwrap()
}

/// `testonly.LeafInputs()`.
fn leaf_inputs() -> Vec<Vec<u8>> {
    [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
    .iter()
    .map(|x| hex::decode(x).unwrap())
    .collect()
}

/// `testonly.NodeHashes()`: level, then index within the level.
fn node_hashes() -> Vec<Vec<Hash>> {
    vec![
        vec![
            h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7"),
            h("07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658"),
            h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            h("46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"),
        ],
        vec![
            h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
        ],
        vec![
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
        vec![h(
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        )],
    ]
}

/// `testonly.RootHashes()`, indexed by tree size.
fn root_hashes() -> Vec<Hash> {
    vec![
        h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
        h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
        h("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
        h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        h("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
        h("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
        h("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
        h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
    ]
}

/// `(leaf index, tree size, proof)` from `reference_test.go` (`TestRefInclusionProof`) and
/// `verify_test.go` (`inclusionProofs`, whose 1-based leaf numbers are made 0-based here).
fn inclusion_vectors() -> Vec<(u64, u64, Vec<Hash>)> {
    vec![
        (0, 1, vec![]),
        (
            0,
            2,
            vec![h(
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            )],
        ),
        (
            1,
            2,
            vec![h(
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            )],
        ),
        (
            2,
            3,
            vec![h(
                "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            )],
        ),
        (
            1,
            5,
            vec![
                h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
        (
            0,
            8,
            vec![
                h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            5,
            8,
            vec![
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
        (
            2,
            3,
            vec![h(
                "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            )],
        ),
        (
            1,
            5,
            vec![
                h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
    ]
}

/// `(old size, new size, proof)` from `reference_test.go` (`TestRefConsistencyProof`) and
/// `verify_test.go` (`consistencyProofs`).
fn consistency_vectors() -> Vec<(u64, u64, Vec<Hash>)> {
    vec![
        (1, 1, vec![]),
        (
            1,
            8,
            vec![
                h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            6,
            8,
            vec![
                h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
        (
            2,
            5,
            vec![
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
        (
            6,
            7,
            vec![
                h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
    ]
}

/// `sha256SomeHash` in `verify_test.go`.
fn some_hash() -> Hash {
    h("abacaba000000000000000000000000000000000000000000060061e00123456")
}

fn reference_tree() -> MerkleTree {
    MerkleTree::from_leaf_hashes(leaf_inputs().iter().map(|d| leaf_hash(d)))
}

#[test]
fn leaf_and_node_hashes_match() {
    let nodes = node_hashes();
    let leaves: Vec<Hash> = leaf_inputs().iter().map(|d| leaf_hash(d)).collect();
    assert_eq!(leaves, nodes[0]);
    for level in 1..nodes.len() {
        for (i, node) in nodes[level].iter().enumerate() {
            let below = &nodes[level - 1];
            assert_eq!(
                node_hash(&below[2 * i], &below[2 * i + 1]),
                *node,
                "level {level} index {i}"
            );
        }
    }
}

#[test]
fn roots_of_every_prefix_match() {
    let leaves: Vec<Hash> = leaf_inputs().iter().map(|d| leaf_hash(d)).collect();
    let tree = reference_tree();
    for (size, want) in root_hashes().iter().enumerate() {
        assert_eq!(root_from_leaves(&leaves[..size]), *want, "size {size}");
        assert_eq!(tree.root_at(size as u64).unwrap(), *want, "size {size}");
    }
    assert_eq!(root_hashes()[0], EMPTY_ROOT);
}

#[test]
fn inclusion_proofs_are_generated_exactly() {
    let tree = reference_tree();
    for (index, size, want) in inclusion_vectors() {
        assert_eq!(
            tree.inclusion_proof(index, size).unwrap(),
            want,
            "{index}:{size}"
        );
    }
}

#[test]
fn consistency_proofs_are_generated_exactly() {
    let tree = reference_tree();
    for (old, new, want) in consistency_vectors() {
        assert_eq!(
            tree.consistency_proof(old, new).unwrap(),
            want,
            "{old}:{new}"
        );
    }
}

/// Probes from `corruptInclusionProof`; every one must be refused.
fn corrupt_inclusion(
    index: u64,
    size: u64,
    proof: &[Hash],
    root: Hash,
    leaf: Hash,
) -> Vec<(String, u64, u64, Vec<Hash>, Hash, Hash)> {
    let p = proof.to_vec();
    let with = |mut v: Vec<Hash>, back: Hash| {
        v.push(back);
        v
    };
    let front = |v: &[Hash], first: Hash| [vec![first], v.to_vec()].concat();
    let mut probes = vec![
        (
            "leafIndex - 1".to_owned(),
            index.wrapping_sub(1),
            size,
            p.clone(),
            root,
            leaf,
        ),
        (
            "leafIndex + 1".into(),
            index + 1,
            size,
            p.clone(),
            root,
            leaf,
        ),
        (
            "leafIndex ^ 2".into(),
            index ^ 2,
            size,
            p.clone(),
            root,
            leaf,
        ),
        (
            "treeSize * 2".into(),
            index,
            size * 2,
            p.clone(),
            root,
            leaf,
        ),
        (
            "treeSize / 2".into(),
            index,
            size / 2,
            p.clone(),
            root,
            leaf,
        ),
        (
            "wrong leaf".into(),
            index,
            size,
            p.clone(),
            root,
            Hash::sha256(b"WrongLeaf"),
        ),
        (
            "empty root".into(),
            index,
            size,
            p.clone(),
            EMPTY_ROOT,
            leaf,
        ),
        (
            "random root".into(),
            index,
            size,
            p.clone(),
            some_hash(),
            leaf,
        ),
        (
            "trailing garbage".into(),
            index,
            size,
            with(p.clone(), Hash::default()),
            root,
            leaf,
        ),
        (
            "trailing root".into(),
            index,
            size,
            with(p.clone(), root),
            root,
            leaf,
        ),
        (
            "preceding garbage".into(),
            index,
            size,
            front(&p, Hash::default()),
            root,
            leaf,
        ),
        (
            "preceding root".into(),
            index,
            size,
            front(&p, root),
            root,
            leaf,
        ),
    ];
    for i in 0..p.len() {
        let mut wrong = p.clone();
        wrong[i].0[0] ^= 8;
        probes.push((
            format!("modified proof[{i}] bit 3"),
            index,
            size,
            wrong,
            root,
            leaf,
        ));
    }
    if !p.is_empty() {
        let removed = p[..p.len() - 1].to_vec();
        probes.push(("removed component".into(), index, size, removed, root, leaf));
    }
    if p.len() > 1 {
        let inserted = [vec![p[0], some_hash()], p[1..].to_vec()].concat();
        probes.push((
            "inserted component".into(),
            index,
            size,
            inserted,
            root,
            leaf,
        ));
    }
    probes
}

#[test]
fn inclusion_vectors_verify_and_corruptions_fail() {
    let roots = root_hashes();
    let leaves = leaf_inputs();
    for (index, size, proof) in inclusion_vectors() {
        let root = roots[size as usize];
        let leaf = leaf_hash(&leaves[index as usize]);
        verify_inclusion(&leaf, index, size, &proof, &root)
            .unwrap_or_else(|e| panic!("{index}:{size}: {e}"));
        for (desc, i, s, p, r, l) in corrupt_inclusion(index, size, &proof, root, leaf) {
            assert!(
                verify_inclusion(&l, i, s, &p, &r).is_err(),
                "{index}:{size} accepted corruption `{desc}`"
            );
        }
    }
}

#[test]
fn inclusion_edge_cases_from_go() {
    // TestVerifyInclusionSingleEntry: the root of a 1-leaf tree is its leaf hash.
    let leaf = leaf_hash(b"data");
    assert_eq!(verify_inclusion(&leaf, 0, 1, &[], &leaf), Ok(()));
    assert_eq!(
        verify_inclusion(&leaf, 0, 1, &[], &EMPTY_ROOT),
        Err(ProofError::RootMismatch)
    );
    // TestVerifyInclusion: impossible index/size pairs with an empty proof.
    for (index, size) in [(0, 0), (0, 1), (1, 0), (2, 1)] {
        assert!(verify_inclusion(&some_hash(), index, size, &[], &EMPTY_ROOT).is_err());
    }
    assert_eq!(
        verify_inclusion(&leaf, 1, 1, &[], &leaf),
        Err(ProofError::IndexOutOfRange { index: 1, size: 1 })
    );
}

/// Probes from `corruptConsistencyProof`; every one must be refused.
fn corrupt_consistency(
    old: u64,
    new: u64,
    root1: Hash,
    root2: Hash,
    proof: &[Hash],
) -> Vec<(String, u64, u64, Hash, Hash, Vec<Hash>)> {
    let p = proof.to_vec();
    let with = |mut v: Vec<Hash>, back: Hash| {
        v.push(back);
        v
    };
    let front = |v: &[Hash], first: Hash| [vec![first], v.to_vec()].concat();
    let wrong = Hash::sha256(b"WrongRoot");
    let mut probes = vec![
        (
            "size1 - 1".to_owned(),
            old - 1,
            new,
            root1,
            root2,
            p.clone(),
        ),
        ("size1 + 1".into(), old + 1, new, root1, root2, p.clone()),
        ("size1 ^ 2".into(), old ^ 2, new, root1, root2, p.clone()),
        ("size2 * 2".into(), old, new * 2, root1, root2, p.clone()),
        ("size2 / 2".into(), old, new / 2, root1, root2, p.clone()),
        ("wrong root1".into(), old, new, wrong, root2, p.clone()),
        ("wrong root2".into(), old, new, root1, wrong, p.clone()),
        ("swapped roots".into(), old, new, root2, root1, p.clone()),
        ("empty proof".into(), old, new, root1, root2, vec![]),
        (
            "trailing garbage".into(),
            old,
            new,
            root1,
            root2,
            with(p.clone(), Hash::default()),
        ),
        (
            "trailing root1".into(),
            old,
            new,
            root1,
            root2,
            with(p.clone(), root1),
        ),
        (
            "trailing root2".into(),
            old,
            new,
            root1,
            root2,
            with(p.clone(), root2),
        ),
        (
            "preceding garbage".into(),
            old,
            new,
            root1,
            root2,
            front(&p, Hash::default()),
        ),
        (
            "preceding root1".into(),
            old,
            new,
            root1,
            root2,
            front(&p, root1),
        ),
        (
            "preceding root2".into(),
            old,
            new,
            root1,
            root2,
            front(&p, root2),
        ),
        (
            "preceding proof[0]".into(),
            old,
            new,
            root1,
            root2,
            front(&p, p[0]),
        ),
        (
            "truncated proof".into(),
            old,
            new,
            root1,
            root2,
            p[..p.len() - 1].to_vec(),
        ),
    ];
    for i in 0..p.len() {
        let mut wrong = p.clone();
        wrong[i].0[0] ^= 16;
        probes.push((
            format!("modified proof[{i}] bit 4"),
            old,
            new,
            root1,
            root2,
            wrong,
        ));
    }
    probes
}

#[test]
fn consistency_vectors_verify_and_corruptions_fail() {
    let roots = root_hashes();
    for (old, new, proof) in consistency_vectors() {
        let (root1, root2) = (roots[old as usize], roots[new as usize]);
        verify_consistency(old, new, &root1, &root2, &proof)
            .unwrap_or_else(|e| panic!("{old}:{new}: {e}"));
        if proof.is_empty() {
            continue; // As in Go, only non-trivial proofs are corrupted.
        }
        for (desc, o, n, r1, r2, p) in corrupt_consistency(old, new, root1, root2, &proof) {
            assert!(
                verify_consistency(o, n, &r1, &r2, &p).is_err(),
                "{old}:{new} accepted corruption `{desc}`"
            );
        }
    }
}

#[test]
fn consistency_edge_cases_from_go() {
    // TestVerifyConsistency's table, with Go's current rule that a proof from size 0 is refused.
    let root1 = Hash::sha256(b"don't care 1");
    let root2 = Hash::sha256(b"don't care 2");
    let cases: Vec<(u64, u64, Hash, Hash, Vec<Hash>, bool)> = vec![
        (0, 0, root1, root2, vec![], false),
        (1, 1, root1, root2, vec![], false),
        (0, 0, root1, root1, vec![], true),
        (1, 1, root2, root2, vec![], true),
        (1, 0, root1, root2, vec![], false),
        (2, 1, root1, root2, vec![], false),
        (1, 2, root1, root2, vec![], false),
        (0, 0, EMPTY_ROOT, root2, vec![], false),
        (1, 1, EMPTY_ROOT, root2, vec![], false),
        (0, 0, EMPTY_ROOT, EMPTY_ROOT, vec![EMPTY_ROOT], false),
        (0, 1, EMPTY_ROOT, EMPTY_ROOT, vec![EMPTY_ROOT], false),
        (1, 1, EMPTY_ROOT, EMPTY_ROOT, vec![EMPTY_ROOT], false),
        (0, 1, root1, root2, vec![], false),
    ];
    for (i, (old, new, r1, r2, proof, ok)) in cases.into_iter().enumerate() {
        assert_eq!(
            verify_consistency(old, new, &r1, &r2, &proof).is_ok(),
            ok,
            "case {i}: {old}:{new}"
        );
    }
    assert_eq!(
        verify_consistency(0, 1, &root1, &root2, &[]),
        Err(ProofError::EmptyOldTree)
    );
    assert_eq!(
        verify_consistency(2, 1, &root1, &root2, &[]),
        Err(ProofError::SizeDecreased {
            old_size: 2,
            new_size: 1
        })
    );
}
