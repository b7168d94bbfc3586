//! C2SP tlog-proof (<https://c2sp.org/tlog-proof>): a detached, offline receipt that one leaf is
//! in the log, made of an inclusion proof and the signed checkpoint it leads to.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64>            (optional, not authenticated)
//! index <leaf index>
//! <base64 hash>             (inclusion proof, leaf sibling first)
//!
//! <signed checkpoint note>
//! ```
//!
//! Design choice: [`TlogProof`] is plain parsed data; only [`TlogProof::verify`] turns it into a
//! [`VerifiedInclusion`], after the checkpoint's signature and origin and then the inclusion
//! proof have checked out. Making a proof from a tree refuses a checkpoint whose root is not
//! that tree's, so the log never hands out a receipt that cannot verify. Witness cosignature
//! policies are not evaluated here: cosignature lines are carried and otherwise ignored.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::checkpoint::{CheckpointError, CheckpointVerifier, SignedCheckpoint};
use crate::hash::Hash;
use crate::proof::{ProofError, verify_inclusion};
use crate::tree::{MerkleTree, TreeError};

/// First line of every tlog-proof.
pub const TLOG_PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";

/// An inclusion proof in a tree of 2^64 leaves has at most this many hashes.
const MAX_PATH_LEN: usize = 64;

/// Why a tlog-proof could not be made, read or trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlogProofError {
    /// The first line is not [`TLOG_PROOF_HEADER`].
    #[error("tlog proof does not start with `{TLOG_PROOF_HEADER}`")]
    MissingHeader,
    /// The `extra` line is not base64.
    #[error("tlog proof extra data is not base64")]
    InvalidExtra,
    /// No `index <n>` line where one is required.
    #[error("tlog proof has no index line")]
    MissingIndex,
    /// The index is not a decimal number without leading zeros.
    #[error("tlog proof index `{0}` is not a decimal number")]
    InvalidIndex(String),
    /// A proof line is not the base64 of a 32-byte hash.
    #[error("tlog proof hash on line {line} is not the base64 of a 32-byte hash")]
    InvalidHash {
        /// 1-based line number in the proof text.
        line: usize,
    },
    /// More proof hashes than any tree needs.
    #[error("tlog proof has more than {MAX_PATH_LEN} hashes")]
    TooManyHashes,
    /// No blank line and checkpoint after the hashes.
    #[error("tlog proof has no checkpoint")]
    MissingCheckpoint,
    /// The embedded checkpoint does not open.
    #[error("tlog proof checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// The inclusion proof does not lead to the checkpoint's root.
    #[error("tlog proof inclusion: {0}")]
    Inclusion(#[from] ProofError),
    /// The tree cannot make the requested proof.
    #[error(transparent)]
    Tree(#[from] TreeError),
    /// The checkpoint's root is not the tree's root at that size.
    #[error("checkpoint of size {size} does not match this tree")]
    CheckpointNotOfTree {
        /// The checkpoint's size.
        size: u64,
    },
}

/// A parsed tlog-proof; trust nothing in it before [`TlogProof::verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlogProof {
    /// Opaque application data, not covered by any signature.
    pub extra: Option<Vec<u8>>,
    /// Index of the proven leaf.
    pub index: u64,
    /// Inclusion proof, leaf sibling first.
    pub path: Vec<Hash>,
    /// The signed checkpoint note the proof leads to.
    pub checkpoint: String,
}

/// A leaf proven to be in the log: what [`TlogProof::verify`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedInclusion {
    /// Index of the leaf.
    pub index: u64,
    /// The checkpoint whose tree contains the leaf.
    pub checkpoint: SignedCheckpoint,
    /// The proof's unauthenticated extra data.
    pub extra: Option<Vec<u8>>,
}

impl TlogProof {
    /// Proves leaf `index` of `tree` against `checkpoint`, which must be a checkpoint of this
    /// tree.
    pub fn for_leaf(
        tree: &MerkleTree,
        index: u64,
        checkpoint: &SignedCheckpoint,
    ) -> Result<Self, TlogProofError> {
        let size = checkpoint.size();
        if tree.root_at(size)? != *checkpoint.root() {
            return Err(TlogProofError::CheckpointNotOfTree { size });
        }
        Ok(Self {
            extra: None,
            index,
            path: tree.inclusion_proof(index, size)?,
            checkpoint: checkpoint.note().to_owned(),
        })
    }

    /// Attaches opaque extra data.
    #[must_use]
    pub fn with_extra(mut self, extra: Vec<u8>) -> Self {
        self.extra = Some(extra);
        self
    }

    /// The text form.
    #[must_use]
    pub fn to_text(&self) -> String {
        self.to_string()
    }

    /// Reads the text form, checking syntax only.
    pub fn parse(text: &str) -> Result<Self, TlogProofError> {
        let mut lines = Lines {
            rest: text,
            number: 0,
        };
        if lines.next() != Some(TLOG_PROOF_HEADER) {
            return Err(TlogProofError::MissingHeader);
        }
        let mut line = lines.next().ok_or(TlogProofError::MissingIndex)?;
        let mut extra = None;
        if let Some(encoded) = line.strip_prefix("extra ") {
            extra = Some(
                BASE64
                    .decode(encoded)
                    .map_err(|_| TlogProofError::InvalidExtra)?,
            );
            line = lines.next().ok_or(TlogProofError::MissingIndex)?;
        }
        let index = line
            .strip_prefix("index ")
            .ok_or(TlogProofError::MissingIndex)?;
        let index = parse_index(index)?;
        let mut path = Vec::new();
        loop {
            let line = lines.next().ok_or(TlogProofError::MissingCheckpoint)?;
            if line.is_empty() {
                break;
            }
            if path.len() == MAX_PATH_LEN {
                return Err(TlogProofError::TooManyHashes);
            }
            let hash = Hash::from_base64(line)
                .map_err(|_| TlogProofError::InvalidHash { line: lines.number })?;
            path.push(hash);
        }
        if lines.rest.is_empty() {
            return Err(TlogProofError::MissingCheckpoint);
        }
        Ok(Self {
            extra,
            index,
            path,
            checkpoint: lines.rest.to_owned(),
        })
    }

    /// Checks the checkpoint's signature and origin, then that `leaf_hash` is leaf
    /// [`index`](Self::index) of its tree.
    pub fn verify(
        self,
        leaf_hash: &Hash,
        verifier: &CheckpointVerifier,
    ) -> Result<VerifiedInclusion, TlogProofError> {
        let checkpoint = verifier.open(&self.checkpoint)?;
        verify_inclusion(
            leaf_hash,
            self.index,
            checkpoint.size(),
            &self.path,
            checkpoint.root(),
        )?;
        Ok(VerifiedInclusion {
            index: self.index,
            checkpoint,
            extra: self.extra,
        })
    }
}

impl fmt::Display for TlogProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{TLOG_PROOF_HEADER}")?;
        if let Some(extra) = &self.extra {
            writeln!(f, "extra {}", BASE64.encode(extra))?;
        }
        writeln!(f, "index {}", self.index)?;
        for hash in &self.path {
            writeln!(f, "{}", hash.to_base64())?;
        }
        writeln!(f)?;
        f.write_str(&self.checkpoint)
    }
}

/// Parses and verifies a tlog-proof text for the leaf with hash `leaf_hash`.
pub fn verify_tlog_proof(
    text: &str,
    leaf_hash: &Hash,
    verifier: &CheckpointVerifier,
) -> Result<VerifiedInclusion, TlogProofError> {
    TlogProof::parse(text)?.verify(leaf_hash, verifier)
}

fn parse_index(text: &str) -> Result<u64, TlogProofError> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    canonical
        .then(|| text.parse::<u64>().ok())
        .flatten()
        .ok_or_else(|| TlogProofError::InvalidIndex(text.to_owned()))
}

/// Newline-terminated lines, leaving the unread remainder in `rest`.
struct Lines<'a> {
    rest: &'a str,
    number: usize,
}

impl<'a> Lines<'a> {
    fn next(&mut self) -> Option<&'a str> {
        let (line, rest) = self.rest.split_once('\n')?;
        self.rest = rest;
        self.number += 1;
        Some(line)
    }
}
