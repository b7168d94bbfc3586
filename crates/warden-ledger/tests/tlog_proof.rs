//! C2SP tlog-proof receipts: made from a tree, read back, verified, and refused when altered.

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
    Checkpoint, CheckpointError, CheckpointVerifier, Hash, MerkleTree, NoteError, NoteSigner,
    ProofError, SignedCheckpoint, TlogProof, TlogProofError, leaf_hash, verify_tlog_proof,
};

const ORIGIN: &str = "example.com/warden";

fn signer() -> NoteSigner {
    NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[7u8; 32])).unwrap()
}

fn verifier() -> CheckpointVerifier {
    CheckpointVerifier::for_key(signer().verifier_key())
}

fn entry(i: u64) -> Vec<u8> {
    format!("decision {i}").into_bytes()
}

fn log(size: u64) -> (MerkleTree, SignedCheckpoint) {
    let tree = MerkleTree::from_leaf_hashes((0..size).map(|i| leaf_hash(&entry(i))));
    let checkpoint = Checkpoint::new(ORIGIN, size, tree.root())
        .sign(&signer())
        .unwrap();
    (tree, checkpoint)
}

#[test]
fn every_leaf_gets_a_receipt_that_verifies() {
    let (tree, checkpoint) = log(13);
    for index in 0..13 {
        let text = TlogProof::for_leaf(&tree, index, &checkpoint)
            .unwrap()
            .to_text();
        let proven = verify_tlog_proof(&text, &leaf_hash(&entry(index)), &verifier()).unwrap();
        assert_eq!(proven.index, index);
        assert_eq!(proven.checkpoint, checkpoint);
        assert_eq!(proven.extra, None);
        // The same receipt does not prove another leaf.
        let other = leaf_hash(&entry(index + 1));
        assert!(matches!(
            verify_tlog_proof(&text, &other, &verifier()),
            Err(TlogProofError::Inclusion(_))
        ));
    }
}

#[test]
fn receipt_golden_text() {
    let (tree, checkpoint) = log(5);
    let proof = TlogProof::for_leaf(&tree, 2, &checkpoint)
        .unwrap()
        .with_extra(b"ticket 42".to_vec());
    insta::assert_snapshot!(proof.to_text(), @r"
    c2sp.org/tlog-proof@v1
    extra dGlja2V0IDQy
    index 2
    YA4nHRuoWAmmq7oQWlAqa11pob9d1XybjeJ5Bo3P9Qw=
    oO0JZOT7aE8BAEDwOeSQ9FrdTSgSuYbNXwJyq8gh958=
    j+w5StP2DObgK+D4hDZRSPrTv9osMABxJPX5Hy5jhVc=

    example.com/warden
    5
    YMI/F1XSziDjMYBZllKGgFzohimy1Pj5vfv/t5wLues=

    — example.com/warden 60FWLzMI91bUfG21X3UyGvT3E9jA5zht/xyn9IwpxQjOMFN8kD7yUy+gTfhP83jRUkvr/zVl/REZWHT9+zfrrTSasAU=
    ");
    let parsed = TlogProof::parse(&proof.to_text()).unwrap();
    assert_eq!(parsed, proof);
    let proven = parsed.verify(&leaf_hash(&entry(2)), &verifier()).unwrap();
    assert_eq!(proven.extra.as_deref(), Some(&b"ticket 42"[..]));
}

#[test]
fn single_leaf_tree_has_an_empty_path() {
    let (tree, checkpoint) = log(1);
    let text = TlogProof::for_leaf(&tree, 0, &checkpoint)
        .unwrap()
        .to_text();
    assert!(text.starts_with("c2sp.org/tlog-proof@v1\nindex 0\n\nexample.com/warden\n1\n"));
    assert!(verify_tlog_proof(&text, &leaf_hash(&entry(0)), &verifier()).is_ok());
}

#[test]
fn altered_receipts_are_refused() {
    let (tree, checkpoint) = log(9);
    let leaf = leaf_hash(&entry(4));
    let proof = TlogProof::for_leaf(&tree, 4, &checkpoint).unwrap();

    let mut wrong_index = proof.clone();
    wrong_index.index = 5;
    assert!(matches!(
        wrong_index.verify(&leaf, &verifier()),
        Err(TlogProofError::Inclusion(ProofError::RootMismatch))
    ));

    let mut wrong_hash = proof.clone();
    wrong_hash.path[1].0[3] ^= 0x40;
    assert!(matches!(
        wrong_hash.verify(&leaf, &verifier()),
        Err(TlogProofError::Inclusion(_))
    ));

    let mut short = proof.clone();
    short.path.pop();
    assert!(matches!(
        short.verify(&leaf, &verifier()),
        Err(TlogProofError::Inclusion(ProofError::ProofTooShort))
    ));

    let mut bigger = proof.clone();
    bigger.checkpoint = bigger.checkpoint.replacen("\n9\n", "\n10\n", 1);
    assert!(matches!(
        bigger.verify(&leaf, &verifier()),
        Err(TlogProofError::Checkpoint(CheckpointError::Note(
            NoteError::InvalidSignature { .. }
        )))
    ));

    let stranger = NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[1u8; 32])).unwrap();
    assert!(matches!(
        proof
            .clone()
            .verify(&leaf, &CheckpointVerifier::for_key(stranger.verifier_key())),
        Err(TlogProofError::Checkpoint(CheckpointError::Note(
            NoteError::NoKnownSignature
        )))
    ));
}

#[test]
fn a_receipt_is_only_made_for_a_checkpoint_of_the_tree() {
    let (tree, _) = log(9);
    let foreign = Checkpoint::new(ORIGIN, 9, Hash::sha256(b"other"))
        .sign(&signer())
        .unwrap();
    assert_eq!(
        TlogProof::for_leaf(&tree, 1, &foreign),
        Err(TlogProofError::CheckpointNotOfTree { size: 9 })
    );
    let (_, larger) = log(10);
    assert!(matches!(
        TlogProof::for_leaf(&tree, 1, &larger),
        Err(TlogProofError::Tree(_))
    ));
}

#[test]
fn malformed_receipts_are_refused() {
    let (tree, checkpoint) = log(4);
    let good = TlogProof::for_leaf(&tree, 1, &checkpoint)
        .unwrap()
        .to_text();
    let hash_line = good.lines().nth(2).unwrap().to_owned();
    let cases: Vec<(String, TlogProofError)> = vec![
        (String::new(), TlogProofError::MissingHeader),
        (
            good.replacen("@v1", "@v2", 1),
            TlogProofError::MissingHeader,
        ),
        (
            good.replacen("index 1", "extra !!\nindex 1", 1),
            TlogProofError::InvalidExtra,
        ),
        (
            good.replacen("index 1", "idx 1", 1),
            TlogProofError::MissingIndex,
        ),
        (
            good.replacen("index 1", "index 01", 1),
            TlogProofError::InvalidIndex("01".into()),
        ),
        (
            good.replacen("index 1", "index -1", 1),
            TlogProofError::InvalidIndex("-1".into()),
        ),
        (
            good.replacen(&hash_line, "AAAA", 1),
            TlogProofError::InvalidHash { line: 3 },
        ),
        (
            good.split("\n\n").next().unwrap().to_owned() + "\n",
            TlogProofError::MissingCheckpoint,
        ),
        (
            good.split("\n\n").next().unwrap().to_owned() + "\n\n",
            TlogProofError::MissingCheckpoint,
        ),
        (
            good.replacen(
                &format!("{hash_line}\n"),
                &format!("{hash_line}\n").repeat(65),
                1,
            ),
            TlogProofError::TooManyHashes,
        ),
    ];
    for (text, want) in cases {
        assert_eq!(TlogProof::parse(&text), Err(want), "{text:?}");
    }
}
