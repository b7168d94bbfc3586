//! C2SP tlog-checkpoints (<https://c2sp.org/tlog-checkpoint>): a signed note whose text is
//! `<origin>\n<size>\n<base64 root>\n` followed by optional extension lines.
//!
//! Design choice: a [`SignedCheckpoint`] can only be had by signing ([`Checkpoint::sign`]) or by
//! opening a note with a [`CheckpointVerifier`], which checks the log's signature *and* the
//! origin; holding one means "this size and root are vouched for by the log key". The body
//! parser is strict (decimal size without leading zeros, canonical base64 root, no empty
//! lines) so that one checkpoint has exactly one text.

use crate::hash::Hash;
use crate::note::{KeyError, Note, NoteError, NoteSigner, VerifierKey};

/// A log's claim about its size and root, before or after signing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Identifies the log; by convention the name of its signing key.
    pub origin: String,
    /// Number of leaves in the tree.
    pub size: u64,
    /// RFC 6962 root of the first `size` leaves.
    pub root: Hash,
    /// Extra lines after the root. The spec advises against them: nothing audits them.
    pub extensions: Vec<String>,
}

/// Why a checkpoint could not be written, read or trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The signed note around the checkpoint is malformed or not trusted.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// The body does not end with a newline.
    #[error("checkpoint body does not end with a newline")]
    MissingFinalNewline,
    /// Origin, size and root lines are all required.
    #[error("checkpoint body has fewer than three lines")]
    TooFewLines,
    /// The origin line is empty or holds a control character.
    #[error("checkpoint origin is empty or holds a control character")]
    InvalidOrigin,
    /// The size line is not a decimal number without leading zeros.
    #[error("checkpoint size `{0}` is not a decimal number without leading zeros")]
    InvalidSize(String),
    /// The root line is not the base64 of 32 bytes.
    #[error("checkpoint root `{0}` is not the base64 of a 32-byte hash")]
    InvalidRoot(String),
    /// An extension line is empty or holds a control character.
    #[error("checkpoint extension line is empty or holds a control character")]
    InvalidExtension,
    /// The checkpoint belongs to another log.
    #[error("checkpoint origin `{found}` is not the expected `{expected}`")]
    OriginMismatch {
        /// The origin the verifier trusts.
        expected: String,
        /// The origin in the checkpoint.
        found: String,
    },
}

/// A body line is non-empty and free of control characters (which includes newlines).
fn valid_line(line: &str) -> bool {
    !line.is_empty() && !line.chars().any(char::is_control)
}

fn parse_size(text: &str) -> Result<u64, CheckpointError> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    canonical
        .then(|| text.parse::<u64>().ok())
        .flatten()
        .ok_or_else(|| CheckpointError::InvalidSize(text.to_owned()))
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    pub fn new(origin: impl Into<String>, size: u64, root: Hash) -> Self {
        Self {
            origin: origin.into(),
            size,
            root,
            extensions: Vec::new(),
        }
    }

    /// The note text: `<origin>\n<size>\n<base64 root>\n` and any extension lines.
    pub fn to_body(&self) -> Result<String, CheckpointError> {
        if !valid_line(&self.origin) {
            return Err(CheckpointError::InvalidOrigin);
        }
        if !self.extensions.iter().all(|line| valid_line(line)) {
            return Err(CheckpointError::InvalidExtension);
        }
        let mut body = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            self.root.to_base64()
        );
        for line in &self.extensions {
            body.push_str(line);
            body.push('\n');
        }
        Ok(body)
    }

    /// Reads a note text as a checkpoint body. This says nothing about who signed it.
    pub fn parse_body(body: &str) -> Result<Self, CheckpointError> {
        let body = body
            .strip_suffix('\n')
            .ok_or(CheckpointError::MissingFinalNewline)?;
        let mut lines = body.split('\n');
        let origin = lines.next().ok_or(CheckpointError::TooFewLines)?;
        let size = lines.next().ok_or(CheckpointError::TooFewLines)?;
        let root = lines.next().ok_or(CheckpointError::TooFewLines)?;
        if !valid_line(origin) {
            return Err(CheckpointError::InvalidOrigin);
        }
        let size = parse_size(size)?;
        let root =
            Hash::from_base64(root).map_err(|_| CheckpointError::InvalidRoot(root.to_owned()))?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if !extensions.iter().all(|line| valid_line(line)) {
            return Err(CheckpointError::InvalidExtension);
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }

    /// Signs the checkpoint with the log's key.
    pub fn sign(&self, signer: &NoteSigner) -> Result<SignedCheckpoint, CheckpointError> {
        let note = signer.sign(&self.to_body()?)?;
        Ok(SignedCheckpoint {
            checkpoint: self.clone(),
            note,
        })
    }
}

/// A checkpoint together with its signed note text, known to carry the log's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    checkpoint: Checkpoint,
    note: String,
}

impl SignedCheckpoint {
    /// The checkpoint.
    #[must_use]
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The full signed note, as it is published and stored.
    #[must_use]
    pub fn note(&self) -> &str {
        &self.note
    }

    /// The tree size.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.checkpoint.size
    }

    /// The tree root.
    #[must_use]
    pub fn root(&self) -> &Hash {
        &self.checkpoint.root
    }

    /// The checkpoint and its note text.
    #[must_use]
    pub fn into_parts(self) -> (Checkpoint, String) {
        (self.checkpoint, self.note)
    }
}

/// What a reader trusts about one log: its origin line and its public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointVerifier {
    origin: String,
    key: VerifierKey,
}

impl CheckpointVerifier {
    /// Trusts checkpoints for `origin` signed by `key`.
    pub fn new(origin: impl Into<String>, key: VerifierKey) -> Self {
        Self {
            origin: origin.into(),
            key,
        }
    }

    /// Trusts checkpoints signed by `key` whose origin is the key's name, as C2SP recommends.
    #[must_use]
    pub fn for_key(key: VerifierKey) -> Self {
        Self::new(key.name().to_owned(), key)
    }

    /// Reads a verifier key text and trusts it for the origin equal to its name.
    pub fn parse(vkey: &str) -> Result<Self, KeyError> {
        VerifierKey::parse(vkey).map(Self::for_key)
    }

    /// The trusted origin.
    #[must_use]
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The trusted key.
    #[must_use]
    pub fn key(&self) -> &VerifierKey {
        &self.key
    }

    /// Parses a signed checkpoint note and checks its signature and origin. Signatures by
    /// other keys, such as witness cosignatures, are ignored.
    pub fn open(&self, note: &str) -> Result<SignedCheckpoint, CheckpointError> {
        let verified = Note::parse(note)?.verify(std::slice::from_ref(&self.key))?;
        let checkpoint = Checkpoint::parse_body(verified.text())?;
        if checkpoint.origin != self.origin {
            return Err(CheckpointError::OriginMismatch {
                expected: self.origin.clone(),
                found: checkpoint.origin,
            });
        }
        Ok(SignedCheckpoint {
            checkpoint,
            note: note.to_owned(),
        })
    }
}
