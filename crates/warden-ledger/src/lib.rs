//! The pure math and formats of warden's transparency log.
//!
//! Every decision warden makes becomes a leaf of an append-only RFC 6962 / RFC 9162 Merkle
//! tree; the log periodically signs a C2SP checkpoint of the tree, and anyone holding the log's
//! public key can check an inclusion receipt ([`TlogProof`]) or audit a whole stored log
//! ([`verify_log`]).
//!
//! Design choice: this crate takes values and returns values. It does no I/O, keeps no clock
//! and touches no storage, so the same code runs in the gateway, in the CLI that audits a log
//! and in tests, and storage lives behind the store crate. Results that carry trust are types
//! that only a check can make: [`VerifiedNote`], [`SignedCheckpoint`], [`VerifiedInclusion`].
//!
//! - [`hash`]: `Hash`, RFC 6962 leaf and node hashing.
//! - [`tree`]: batch roots, a compact frontier, an in-memory tree that makes proofs.
//! - [`proof`]: inclusion and consistency verification per RFC 9162.
//! - [`note`]: C2SP signed notes with Ed25519 keys.
//! - [`checkpoint`]: C2SP tlog-checkpoints.
//! - [`tlog_proof`]: C2SP tlog-proof receipts.
//! - [`audit`]: checking a stored log against its checkpoints.
//! - [`auth`]: leaf MACs, so leaves not yet checkpointed are known to come from a key holder.
//! - [`leaf`]: the versioned leaf encoding of an audit event, with salted commitments for the
//!   fields that may later be redacted.

pub mod audit;
pub mod auth;
pub mod checkpoint;
pub mod hash;
pub mod leaf;
pub mod note;
pub mod proof;
pub mod tlog_proof;
pub mod tree;

pub use audit::{Finding, LogReport, StoredLeaf, verify_log};
pub use auth::{LeafKey, LeafMac};
pub use checkpoint::{Checkpoint, CheckpointError, CheckpointVerifier, SignedCheckpoint};
pub use hash::{EMPTY_ROOT, Hash, HashParseError, leaf_hash, node_hash};
pub use leaf::{
    EncodedLeaf, LEAF_VERSION, Leaf, LeafColumns, LeafError, LeafIndex, OpenedEvent, Salt,
    SealedContent,
};
pub use note::{
    KeyError, KeyId, Note, NoteError, NoteSignature, NoteSigner, VerifiedNote, VerifierKey,
    open_note,
};
pub use proof::{ProofError, verify_consistency, verify_inclusion};
pub use tlog_proof::{TlogProof, TlogProofError, VerifiedInclusion, verify_tlog_proof};
pub use tree::{Frontier, MerkleTree, TreeError, root_from_leaves};
