//! The log auditor names the first tampering precisely.

// Helpers outside `#[test]` functions are test code too; clippy.toml exempts only the latter.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a broken expectation must fail the test"
)]

use ed25519_dalek::SigningKey;
use warden_ledger::{
    Checkpoint, CheckpointError, CheckpointVerifier, Finding, Hash, MerkleTree, NoteError,
    NoteSigner, StoredLeaf, leaf_hash, verify_log,
};

const ORIGIN: &str = "example.com/warden";
const LEAVES: u64 = 20;
const CHECKPOINT_SIZES: [u64; 4] = [4, 8, 13, 20];

fn signer() -> NoteSigner {
    NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[7u8; 32])).unwrap()
}

fn verifier() -> CheckpointVerifier {
    CheckpointVerifier::for_key(signer().verifier_key())
}

struct Log {
    leaves: Vec<StoredLeaf<Vec<u8>>>,
    checkpoints: Vec<String>,
}

impl Log {
    fn intact() -> Self {
        let leaves: Vec<StoredLeaf<Vec<u8>>> = (0..LEAVES)
            .map(|index| {
                let data = format!("{{\"decision\":\"allow\",\"seq\":{index}}}").into_bytes();
                StoredLeaf {
                    index,
                    leaf_hash: leaf_hash(&data),
                    data,
                }
            })
            .collect();
        let tree = MerkleTree::from_leaf_hashes(leaves.iter().map(|l| l.leaf_hash));
        let checkpoints = CHECKPOINT_SIZES
            .iter()
            .map(|&size| sign(size, tree.root_at(size).unwrap()))
            .collect();
        Self {
            leaves,
            checkpoints,
        }
    }

    fn audit(&self) -> Option<Finding> {
        verify_log(self.leaves.clone(), &self.checkpoints, &verifier()).finding
    }
}

fn sign(size: u64, root: Hash) -> String {
    Checkpoint::new(ORIGIN, size, root)
        .sign(&signer())
        .unwrap()
        .into_parts()
        .1
}

#[test]
fn an_intact_log_is_clean() {
    let log = Log::intact();
    let report = verify_log(log.leaves.clone(), &log.checkpoints, &verifier());
    assert!(report.is_clean(), "{:?}", report.finding);
    assert_eq!(report.leaves, LEAVES);
    assert_eq!(report.checkpoints, 4);
    assert_eq!(report.latest_checkpoint.as_ref().map(|c| c.size), Some(20));
    assert_eq!(report.root, report.latest_checkpoint.as_ref().unwrap().root);
    assert_eq!(report.unsigned_leaves(), 0);
}

#[test]
fn leaves_after_the_last_checkpoint_are_checked_but_unsigned() {
    let mut log = Log::intact();
    log.checkpoints.pop();
    let report = verify_log(log.leaves.clone(), &log.checkpoints, &verifier());
    assert!(report.is_clean());
    assert_eq!(report.unsigned_leaves(), 7);

    log.leaves[17].data.push(b' ');
    assert_eq!(log.audit(), Some(Finding::LeafHashMismatch { index: 17 }));
}

#[test]
fn an_empty_log_is_clean() {
    let empty: Vec<StoredLeaf<Vec<u8>>> = Vec::new();
    let report = verify_log(empty.clone(), Vec::<String>::new(), &verifier());
    assert!(report.is_clean());
    let zero = sign(0, warden_ledger::EMPTY_ROOT);
    let report = verify_log(empty, [zero], &verifier());
    assert!(report.is_clean(), "{:?}", report.finding);
    assert_eq!(report.checkpoints, 1);
}

#[test]
fn a_changed_byte_names_the_leaf() {
    let mut log = Log::intact();
    log.leaves[10].data[3] ^= 1;
    let finding = log.audit().unwrap();
    assert_eq!(finding, Finding::LeafHashMismatch { index: 10 });
    assert_eq!(
        finding.to_string(),
        "leaf 10: hash does not match its content"
    );
}

#[test]
fn a_changed_stored_hash_names_the_leaf() {
    let mut log = Log::intact();
    log.leaves[0].leaf_hash.0[31] ^= 1;
    assert_eq!(log.audit(), Some(Finding::LeafHashMismatch { index: 0 }));
}

#[test]
fn a_deleted_leaf_is_missing() {
    let mut log = Log::intact();
    log.leaves.remove(5);
    let finding = log.audit().unwrap();
    assert_eq!(finding, Finding::MissingLeaf { index: 5 });
    assert_eq!(finding.to_string(), "leaf 5: missing from the log");
}

#[test]
fn two_reordered_leaves_are_out_of_order() {
    let mut log = Log::intact();
    log.leaves.swap(6, 7);
    let finding = log.audit().unwrap();
    assert_eq!(
        finding,
        Finding::OutOfOrder {
            index: 6,
            position: 7
        }
    );
    assert_eq!(
        finding.to_string(),
        "leaf 6: stored out of order, at position 7"
    );
}

#[test]
fn a_duplicated_leaf_is_named() {
    let mut log = Log::intact();
    let copy = log.leaves[3].clone();
    log.leaves.insert(4, copy);
    assert_eq!(
        log.audit(),
        Some(Finding::DuplicateLeaf {
            index: 3,
            position: 4
        })
    );
}

#[test]
fn swapped_contents_under_kept_indices_break_the_checkpoint_root() {
    // Whoever swaps bytes and hashes but keeps the index column defeats the per-row checks;
    // the signed root still catches it, and names the range since the last good checkpoint.
    let mut log = Log::intact();
    let (a, b) = (log.leaves[9].clone(), log.leaves[11].clone());
    log.leaves[9] = StoredLeaf { index: 9, ..b };
    log.leaves[11] = StoredLeaf { index: 11, ..a };
    let finding = log.audit().unwrap();
    assert_eq!(
        finding,
        Finding::CheckpointRootMismatch {
            position: 2,
            size: 13,
            since: 8
        }
    );
    assert_eq!(
        finding.to_string(),
        "checkpoint 13: root does not match the stored leaves \
         (leaves 8..13 or the checkpoint were replaced)"
    );
}

#[test]
fn a_truncated_tail_is_named() {
    let mut log = Log::intact();
    log.leaves.truncate(17);
    let finding = log.audit().unwrap();
    assert_eq!(
        finding,
        Finding::CheckpointBeyondLog {
            position: 3,
            size: 20,
            log_size: 17
        }
    );
    assert_eq!(
        finding.to_string(),
        "checkpoint 20: the log holds only 17 leaves, its tail was removed"
    );
}

#[test]
fn a_replaced_checkpoint_is_named() {
    // Edited text, original signature.
    let mut log = Log::intact();
    let forged_root = Hash::sha256(b"forged").to_base64();
    let lines: Vec<&str> = log.checkpoints[1].split('\n').collect();
    log.checkpoints[1] = log.checkpoints[1].replacen(lines[2], &forged_root, 1);
    assert!(matches!(
        log.audit(),
        Some(Finding::InvalidCheckpoint {
            position: 1,
            error: CheckpointError::Note(NoteError::InvalidSignature { .. })
        })
    ));

    // Signed by a key the auditor does not trust.
    let mut log = Log::intact();
    let impostor = NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[2u8; 32])).unwrap();
    let tree = MerkleTree::from_leaf_hashes(log.leaves.iter().map(|l| l.leaf_hash));
    log.checkpoints[2] = Checkpoint::new(ORIGIN, 13, tree.root_at(13).unwrap())
        .sign(&impostor)
        .unwrap()
        .into_parts()
        .1;
    let finding = log.audit().unwrap();
    assert_eq!(
        finding,
        Finding::InvalidCheckpoint {
            position: 2,
            error: CheckpointError::Note(NoteError::NoKnownSignature)
        }
    );
    assert_eq!(
        finding.to_string(),
        "checkpoint at position 2: note is not signed by any known key"
    );

    // Validly signed, but for a different tree (a rewritten history).
    let mut log = Log::intact();
    log.checkpoints[2] = sign(13, Hash::sha256(b"another history"));
    assert_eq!(
        log.audit(),
        Some(Finding::CheckpointRootMismatch {
            position: 2,
            size: 13,
            since: 8
        })
    );
}

#[test]
fn reordered_checkpoints_are_named() {
    let mut log = Log::intact();
    log.checkpoints.swap(1, 2);
    let finding = log.audit().unwrap();
    assert_eq!(
        finding,
        Finding::CheckpointSizeDecreased {
            position: 2,
            size: 8,
            previous_size: 13
        }
    );
    assert_eq!(
        finding.to_string(),
        "checkpoint 8: smaller than checkpoint 13 stored before it"
    );
}

#[test]
fn the_first_problem_in_log_order_wins() {
    let mut log = Log::intact();
    log.leaves[15].data[0] ^= 1;
    log.leaves[2].data[0] ^= 1;
    assert_eq!(log.audit(), Some(Finding::LeafHashMismatch { index: 2 }));
    let report = verify_log(log.leaves.clone(), &log.checkpoints, &verifier());
    assert_eq!(report.leaves, 2);
    assert_eq!(report.checkpoints, 0);
}

#[test]
fn repeated_checkpoints_of_one_size_are_fine() {
    let mut log = Log::intact();
    let again = log.checkpoints[1].clone();
    log.checkpoints.insert(2, again);
    assert_eq!(log.audit(), None);
}
