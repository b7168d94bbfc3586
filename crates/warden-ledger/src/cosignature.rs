//! Witness cosignatures (C2SP tlog-cosignature, <https://c2sp.org/tlog-cosignature>) and the
//! messages of the tlog-witness protocol (<https://c2sp.org/tlog-witness>).
//!
//! A witness that has checked a checkpoint is consistent with every one it saw before adds a
//! signature line of its own to the checkpoint note: type 0x04, the signature bytes being an
//! 8-byte big-endian timestamp and an Ed25519 signature over
//! `cosignature/v1\ntime <timestamp>\n<checkpoint body>`. Its meaning: "as of this time, this
//! is the largest tree I have seen for this origin, and it extends every one I cosigned".
//!
//! Design choice: a [`Cosignature`] is only made by [`CosignerKey::verify`], after the line's
//! key name and id are this key's and its signature checks out over the note's text, so code
//! holding one never keeps or hands out a line that does not verify. Lines by other keys are
//! skipped, as the signed-note spec asks; a note with no line by this key is refused.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, VerifyingKey};

use crate::hash::Hash;
use crate::note::{KeyError, KeyId, Note, NoteError, check_name, parse_verifier_text};

/// Signature type byte of a timestamped Ed25519 cosignature.
pub const COSIGNATURE_TYPE: u8 = 0x04;

/// Most consistency-proof lines a tlog-witness request may carry.
pub const MAX_PROOF_LINES: usize = 63;

/// Media type of the body of a tlog-witness 409 answer: the witness's size and a newline.
pub const TLOG_SIZE_TYPE: &str = "text/x.tlog.size";

/// Why a witness's cosignature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CosignatureError {
    /// The note (checkpoint plus signature lines) does not parse.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// No signature line is by this witness's key (name and key id).
    #[error("no cosignature by `{key}` (the lines name {found})")]
    NotByKey {
        /// `<name>+<hex key id>` of the configured witness key.
        key: String,
        /// The keys the lines name instead.
        found: String,
    },
    /// A line by this key does not verify over the checkpoint.
    #[error("the cosignature by `{key}` does not verify")]
    Invalid {
        /// `<name>+<hex key id>` of the key.
        key: String,
    },
}

/// A witness's public cosigning key, with its name and key id (type 0x04).
///
/// Its text form is `<name>+<hex key id>+<base64(0x04 || public key)>`.
#[derive(Clone, PartialEq, Eq)]
pub struct CosignerKey {
    name: String,
    id: KeyId,
    key: VerifyingKey,
}

impl CosignerKey {
    /// Names an Ed25519 public key as a cosigner.
    pub fn new(name: &str, key: VerifyingKey) -> Result<Self, KeyError> {
        check_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            id: KeyId::of_type(name, COSIGNATURE_TYPE, &key),
            key,
        })
    }

    /// Reads the `<name>+<hex key id>+<base64(0x04 || key)>` text form.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let (name, stated, key) = parse_verifier_text(text, COSIGNATURE_TYPE)?;
        let cosigner = Self::new(name, key)?;
        if cosigner.id != stated {
            return Err(KeyError::KeyIdMismatch {
                stated,
                computed: cosigner.id,
            });
        }
        Ok(cosigner)
    }

    /// The key name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id.
    #[must_use]
    pub fn id(&self) -> KeyId {
        self.id
    }

    fn label(&self) -> String {
        format!("{}+{}", self.name, self.id)
    }

    /// The cosignatures by this key on `note`, each checked over the note's text (the
    /// checkpoint body). Lines by other keys are skipped; none by this key, or one that does
    /// not verify, is an error.
    pub fn verify(&self, note: &Note) -> Result<Vec<Cosignature>, CosignatureError> {
        let mut verified = Vec::new();
        let mut others = Vec::new();
        for line in note.signatures() {
            if line.name != self.name || line.id != self.id {
                others.push(format!("`{}+{}`", line.name, line.id));
                continue;
            }
            let invalid = || CosignatureError::Invalid { key: self.label() };
            let (time, signature) = line
                .signature
                .split_first_chunk::<8>()
                .ok_or_else(invalid)?;
            let timestamp = u64::from_be_bytes(*time);
            let signature = Signature::from_slice(signature).map_err(|_| invalid())?;
            let message = cosignature_message(note.text(), timestamp);
            self.key
                .verify_strict(message.as_bytes(), &signature)
                .map_err(|_| invalid())?;
            verified.push(Cosignature {
                timestamp,
                line: line.to_line(),
            });
        }
        if verified.is_empty() {
            return Err(CosignatureError::NotByKey {
                key: self.label(),
                found: if others.is_empty() {
                    "no key".to_owned()
                } else {
                    others.join(", ")
                },
            });
        }
        Ok(verified)
    }
}

impl fmt::Display for CosignerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut material = Vec::with_capacity(33);
        material.push(COSIGNATURE_TYPE);
        material.extend_from_slice(self.key.as_bytes());
        write!(f, "{}+{}+{}", self.name, self.id, BASE64.encode(material))
    }
}

impl fmt::Debug for CosignerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CosignerKey({self})")
    }
}

/// One witness cosignature line that verified; only [`CosignerKey::verify`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosignature {
    timestamp: u64,
    line: String,
}

impl Cosignature {
    /// When the witness cosigned, in seconds since the Unix epoch.
    #[must_use]
    pub fn timestamp(&self) -> u64 {
        self.timestamp
    }

    /// The signature line, without its newline.
    #[must_use]
    pub fn line(&self) -> &str {
        &self.line
    }
}

/// The message a cosignature signs: `cosignature/v1\ntime <timestamp>\n` and the checkpoint
/// body (which ends with a newline).
#[must_use]
pub fn cosignature_message(body: &str, timestamp: u64) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{body}")
}

/// The body of a tlog-witness `add-checkpoint` request: `old <size>`, the consistency proof
/// from that size to the checkpoint's (one base64 hash a line), a blank line, the signed note.
#[must_use]
pub fn add_checkpoint_request(old: u64, proof: &[Hash], note: &str) -> String {
    let mut body = format!("old {old}\n");
    for hash in proof {
        body.push_str(&hash.to_base64());
        body.push('\n');
    }
    body.push('\n');
    body.push_str(note);
    body
}

/// Why an `add-checkpoint` request body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// No `old <size>` first line, or a size that is not canonical decimal.
    #[error("the request does not start with `old <size>`")]
    Old,
    /// A proof line is not the base64 of a 32-byte hash.
    #[error("proof line {0} is not the base64 of a 32-byte hash")]
    Hash(usize),
    /// More proof lines than any tree needs.
    #[error("more than {MAX_PROOF_LINES} proof lines")]
    TooLong,
    /// No blank line before the checkpoint.
    #[error("no blank line before the checkpoint")]
    NoCheckpoint,
}

/// A parsed `add-checkpoint` request, as a witness reads it; nothing in it is trusted yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size the log says the witness last cosigned.
    pub old: u64,
    /// The consistency proof from `old` to the checkpoint.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note.
    pub note: String,
}

impl AddCheckpoint {
    /// Reads a request body (the inverse of [`add_checkpoint_request`]).
    pub fn parse(body: &str) -> Result<Self, RequestError> {
        let (first, mut rest) = body.split_once('\n').ok_or(RequestError::Old)?;
        let old = first
            .strip_prefix("old ")
            .and_then(parse_decimal)
            .ok_or(RequestError::Old)?;
        let mut proof = Vec::new();
        loop {
            let (line, after) = rest.split_once('\n').ok_or(RequestError::NoCheckpoint)?;
            rest = after;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(RequestError::TooLong);
            }
            proof.push(Hash::from_base64(line).map_err(|_| RequestError::Hash(proof.len() + 1))?);
        }
        Ok(Self {
            old,
            proof,
            note: rest.to_owned(),
        })
    }
}

/// Reads the body of a 409 answer, `<size>\n`: the size the witness last cosigned.
#[must_use]
pub fn parse_tlog_size(body: &str) -> Option<u64> {
    body.strip_suffix('\n').and_then(parse_decimal)
}

fn parse_decimal(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    canonical.then(|| text.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::checkpoint::Checkpoint;
    use crate::note::NoteSigner;
    use ed25519_dalek::{Signer as _, SigningKey};
    use sha2::{Digest as _, Sha256};

    /// A cosignature line made from the spec's words alone, not from this module.
    fn cosign(name: &str, key: &SigningKey, body: &str, time: u64) -> String {
        let mut id = Sha256::new();
        id.update(name.as_bytes());
        id.update([b'\n', 0x04]);
        id.update(key.verifying_key().as_bytes());
        let id = &id.finalize()[..4];
        let message = format!("cosignature/v1\ntime {time}\n{body}");
        let signature = key.sign(message.as_bytes()).to_bytes();
        let blob = [id, &time.to_be_bytes(), &signature].concat();
        format!("\u{2014} {name} {}\n", BASE64.encode(blob))
    }

    fn vkey(name: &str, key: &SigningKey) -> String {
        let mut id = Sha256::new();
        id.update(name.as_bytes());
        id.update([b'\n', 0x04]);
        id.update(key.verifying_key().as_bytes());
        let material = [&[0x04u8][..], key.verifying_key().as_bytes()].concat();
        format!(
            "{name}+{}+{}",
            hex::encode(&id.finalize()[..4]),
            BASE64.encode(material)
        )
    }

    fn checkpoint_note() -> String {
        let log = NoteSigner::new("example.com/log", SigningKey::from_bytes(&[1; 32])).unwrap();
        Checkpoint::new("example.com/log", 7, Hash([7; 32]))
            .sign(&log)
            .unwrap()
            .note()
            .to_owned()
    }

    #[test]
    fn a_witness_cosignature_verifies_and_round_trips_its_key_text() {
        let witness = SigningKey::from_bytes(&[2; 32]);
        let text = vkey("witness.example/w", &witness);
        let key = CosignerKey::parse(&text).unwrap();
        assert_eq!(key.to_string(), text);
        let note = checkpoint_note();
        let body = note.split_once("\n\n").unwrap().0.to_owned() + "\n";
        let line = cosign("witness.example/w", &witness, &body, 1_700_000_000);
        let cosigned = Note::parse(&format!("{note}{line}")).unwrap();
        let got = key.verify(&cosigned).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].timestamp(), 1_700_000_000);
        assert_eq!(format!("{}\n", got[0].line()), line);
    }

    #[test]
    fn a_cosignature_by_another_key_or_over_other_bytes_is_refused() {
        let witness = SigningKey::from_bytes(&[2; 32]);
        let key = CosignerKey::parse(&vkey("w", &witness)).unwrap();
        let note = checkpoint_note();
        let body = note.split_once("\n\n").unwrap().0.to_owned() + "\n";
        // Only the log's own signature: nothing by the witness.
        let err = key.verify(&Note::parse(&note).unwrap()).unwrap_err();
        assert!(matches!(err, CosignatureError::NotByKey { .. }), "{err}");
        // Another key under the witness's name has another key id.
        let other = cosign("w", &SigningKey::from_bytes(&[3; 32]), &body, 5);
        let err = key
            .verify(&Note::parse(&format!("{note}{other}")).unwrap())
            .unwrap_err();
        assert!(matches!(err, CosignatureError::NotByKey { .. }), "{err}");
        // The witness's key over another checkpoint.
        let elsewhere = cosign("w", &witness, &body.replace('7', "8"), 5);
        let err = key
            .verify(&Note::parse(&format!("{note}{elsewhere}")).unwrap())
            .unwrap_err();
        assert!(matches!(err, CosignatureError::Invalid { .. }), "{err}");
        // A plain (type 0x01) signature by the same key bytes is not a cosignature.
        let plain = NoteSigner::new("w", witness.clone())
            .unwrap()
            .sign(&body)
            .unwrap();
        let plain_line = plain.split_once("\n\n").unwrap().1;
        let err = key
            .verify(&Note::parse(&format!("{note}{plain_line}")).unwrap())
            .unwrap_err();
        assert!(matches!(err, CosignatureError::NotByKey { .. }), "{err}");
        // A log key text is not a witness key.
        assert!(
            CosignerKey::parse(
                &NoteSigner::new("w", witness)
                    .unwrap()
                    .verifier_key()
                    .to_string()
            )
            .is_err()
        );
    }

    #[test]
    fn add_checkpoint_requests_round_trip_and_sizes_parse_strictly() {
        let note = checkpoint_note();
        let proof = [Hash([1; 32]), Hash([2; 32])];
        let body = add_checkpoint_request(3, &proof, &note);
        assert!(body.starts_with("old 3\n"));
        assert!(body.ends_with(&format!("\n\n{note}")));
        let parsed = AddCheckpoint::parse(&body).unwrap();
        assert_eq!(
            (parsed.old, parsed.proof.as_slice(), parsed.note.as_str()),
            (3, &proof[..], note.as_str())
        );
        assert_eq!(
            AddCheckpoint::parse(&add_checkpoint_request(0, &[], &note))
                .unwrap()
                .proof,
            []
        );
        assert!(AddCheckpoint::parse("old 03\n\nx").is_err());
        assert!(AddCheckpoint::parse("old 3\nnot-a-hash\n\nx").is_err());
        assert_eq!(parse_tlog_size("42\n"), Some(42));
        for bad in ["42", "042\n", "-1\n", "\n", "4 2\n"] {
            assert_eq!(parse_tlog_size(bad), None, "{bad:?}");
        }
    }
}
