//! C2SP signed notes (<https://c2sp.org/signed-note>) with Ed25519 keys, compatible with Go's
//! `golang.org/x/mod/sumdb/note`.
//!
//! Design choice: parsing and verifying are separate steps with separate types. [`Note::parse`]
//! only checks the syntax; the text of a note can be trusted only through a [`VerifiedNote`],
//! which [`Note::verify`] alone makes, after a known key's signature has checked out. As the
//! spec requires, signatures by unknown keys are ignored, a known key whose signature fails
//! rejects the whole note, and a note with no signature by a known key is rejected.
//! Verification uses Ed25519's strict rules (no small-order keys, canonical signatures).

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest as _, Sha256};

/// Signature type byte of a plain Ed25519 note signature.
pub const ED25519_TYPE: u8 = 0x01;

/// Most signature lines a note may carry; more is treated as malformed.
pub const MAX_SIGNATURES: usize = 100;

/// What starts every signature line: an em dash (U+2014) and a space.
const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// Start of the private key text form used by Go's `note` package.
const PRIVATE_KEY_PREFIX: &str = "PRIVATE+KEY+";

/// First four bytes of `SHA-256(key name || "\n" || type || public key)`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub [u8; 4]);

impl KeyId {
    /// The id of an Ed25519 key under `name`.
    #[must_use]
    pub fn ed25519(name: &str, key: &VerifyingKey) -> Self {
        Self::of_type(name, ED25519_TYPE, key)
    }

    /// The id of an Ed25519 key under `name` for signature type `key_type` (a witness's
    /// cosigning key has type 0x04, so the same key gets another id).
    #[must_use]
    pub(crate) fn of_type(name: &str, key_type: u8, key: &VerifyingKey) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(name.as_bytes());
        hasher.update([b'\n', key_type]);
        hasher.update(key.as_bytes());
        let digest: [u8; 32] = hasher.finalize().into();
        let [a, b, c, d, ..] = digest;
        Self([a, b, c, d])
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// Why a key or key text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Key names are non-empty and contain neither white space nor `+`.
    #[error("invalid key name `{0}`")]
    InvalidName(String),
    /// Not of the form `<name>+<hex key id>+<base64 key>`.
    #[error("malformed verifier key")]
    MalformedVerifierKey,
    /// Not of the form `PRIVATE+KEY+<name>+<hex key id>+<base64 key>`.
    #[error("malformed private key")]
    MalformedPrivateKey,
    /// The key is not of the expected type: Ed25519 (0x01) for a log, Ed25519 cosignature
    /// (0x04) for a witness.
    #[error("unsupported key type 0x{0:02x}")]
    UnsupportedType(u8),
    /// The stated key id is not the one the key material gives.
    #[error("key id {stated} does not match the key, which has id {computed}")]
    KeyIdMismatch {
        /// The id written in the key text.
        stated: KeyId,
        /// The id computed from name and key.
        computed: KeyId,
    },
    /// The bytes are not an Ed25519 public key.
    #[error("invalid Ed25519 public key")]
    InvalidPublicKey,
}

/// Why a note could not be signed, parsed or trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// Only `\n` may appear among the ASCII control characters.
    #[error("note contains a control character other than newline")]
    ControlCharacter,
    /// Note text must end with a newline.
    #[error("note text does not end with a newline")]
    MissingFinalNewline,
    /// No blank line separates text from signatures.
    #[error("note has no signature block after a blank line")]
    MissingSignatureBlock,
    /// A signature line is not `— <name> <base64>`.
    #[error("signature line {line} is malformed")]
    MalformedSignatureLine {
        /// 1-based position within the signature block.
        line: usize,
    },
    /// More than [`MAX_SIGNATURES`] signature lines.
    #[error("note has more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    /// No signature is by a key the verifier knows.
    #[error("note is not signed by any known key")]
    NoKnownSignature,
    /// A known key's signature does not verify.
    #[error("signature by `{key}` does not verify")]
    InvalidSignature {
        /// `<name>+<hex key id>` of the key.
        key: String,
    },
    /// Two known keys share a name and key id.
    #[error("more than one known key is `{key}`")]
    AmbiguousKey {
        /// `<name>+<hex key id>` of the keys.
        key: String,
    },
}

/// A key name is non-empty and holds neither white space nor `+`.
pub(crate) fn check_name(name: &str) -> Result<(), KeyError> {
    if name.is_empty() || name.contains('+') || name.chars().any(char::is_whitespace) {
        return Err(KeyError::InvalidName(name.to_owned()));
    }
    Ok(())
}

/// How the `<hex key id>+<base64(type || key)>` tail of a key text failed.
pub(crate) enum KeyMaterialError {
    Malformed,
    UnsupportedType(u8),
}

/// Reads `<hex key id>+<base64(type || key)>` into the id and the 32 key bytes after the type.
fn parse_id_and_key(rest: &str) -> Result<(KeyId, [u8; 32]), KeyMaterialError> {
    parse_typed_id_and_key(rest, ED25519_TYPE)
}

/// Reads a verifier key text `<name>+<hex key id>+<base64(key_type || key)>` into the name,
/// the key id it states and the Ed25519 public key; the caller checks the stated id.
pub(crate) fn parse_verifier_text(
    text: &str,
    key_type: u8,
) -> Result<(&str, KeyId, VerifyingKey), KeyError> {
    let (name, rest) = text.split_once('+').ok_or(KeyError::MalformedVerifierKey)?;
    check_name(name)?;
    let (stated, bytes) = parse_typed_id_and_key(rest, key_type).map_err(|e| match e {
        KeyMaterialError::Malformed => KeyError::MalformedVerifierKey,
        KeyMaterialError::UnsupportedType(t) => KeyError::UnsupportedType(t),
    })?;
    let key = VerifyingKey::from_bytes(&bytes).map_err(|_| KeyError::InvalidPublicKey)?;
    Ok((name, stated, key))
}

/// [`parse_id_and_key`] for keys of signature type `expected`.
pub(crate) fn parse_typed_id_and_key(
    rest: &str,
    expected: u8,
) -> Result<(KeyId, [u8; 32]), KeyMaterialError> {
    let (id_hex, key_b64) = rest.split_once('+').ok_or(KeyMaterialError::Malformed)?;
    if id_hex.len() != 8 {
        return Err(KeyMaterialError::Malformed);
    }
    let id_bytes = hex::decode(id_hex).map_err(|_| KeyMaterialError::Malformed)?;
    let id = <[u8; 4]>::try_from(id_bytes.as_slice()).map_err(|_| KeyMaterialError::Malformed)?;
    let material = BASE64
        .decode(key_b64)
        .map_err(|_| KeyMaterialError::Malformed)?;
    let (&key_type, key) = material.split_first().ok_or(KeyMaterialError::Malformed)?;
    if key_type != expected {
        return Err(KeyMaterialError::UnsupportedType(key_type));
    }
    let key = <[u8; 32]>::try_from(key).map_err(|_| KeyMaterialError::Malformed)?;
    Ok((KeyId(id), key))
}

/// A public key that verifies note signatures, with its name and key id.
///
/// Its text form is `<name>+<hex key id>+<base64(0x01 || public key)>`, as in Go's `note`.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    id: KeyId,
    key: VerifyingKey,
}

impl VerifierKey {
    /// Names an Ed25519 public key.
    pub fn new(name: &str, key: VerifyingKey) -> Result<Self, KeyError> {
        check_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            id: KeyId::ed25519(name, &key),
            key,
        })
    }

    /// Reads the `<name>+<hex key id>+<base64 key>` text form.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let (name, stated, key) = parse_verifier_text(text, ED25519_TYPE)?;
        let verifier = Self::new(name, key)?;
        if verifier.id != stated {
            return Err(KeyError::KeyIdMismatch {
                stated,
                computed: verifier.id,
            });
        }
        Ok(verifier)
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

    /// The Ed25519 public key.
    #[must_use]
    pub fn public_key(&self) -> &VerifyingKey {
        &self.key
    }

    fn verifies(&self, text: &str, signature: &[u8]) -> bool {
        let Ok(signature) = Signature::from_slice(signature) else {
            return false;
        };
        self.key.verify_strict(text.as_bytes(), &signature).is_ok()
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut material = Vec::with_capacity(33);
        material.push(ED25519_TYPE);
        material.extend_from_slice(self.key.as_bytes());
        write!(f, "{}+{}+{}", self.name, self.id, BASE64.encode(material))
    }
}

impl fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifierKey({self})")
    }
}

impl FromStr for VerifierKey {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// An Ed25519 signing key with the name it signs under.
///
/// Its `Debug` output never shows the secret.
#[derive(Clone)]
pub struct NoteSigner {
    name: String,
    id: KeyId,
    key: SigningKey,
}

impl NoteSigner {
    /// Names an Ed25519 signing key.
    pub fn new(name: &str, key: SigningKey) -> Result<Self, KeyError> {
        check_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            id: KeyId::ed25519(name, &key.verifying_key()),
            key,
        })
    }

    /// A fresh key from `rng`, for example `rand::rngs::OsRng`.
    pub fn generate(
        name: &str,
        rng: &mut (impl rand::CryptoRng + rand::RngCore),
    ) -> Result<Self, KeyError> {
        Self::new(name, SigningKey::generate(rng))
    }

    /// Reads Go's private key text, `PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || seed)>`.
    pub fn from_private_key(text: &str) -> Result<Self, KeyError> {
        let rest = text
            .strip_prefix(PRIVATE_KEY_PREFIX)
            .ok_or(KeyError::MalformedPrivateKey)?;
        let (name, rest) = rest.split_once('+').ok_or(KeyError::MalformedPrivateKey)?;
        check_name(name)?;
        let (stated, seed) = parse_id_and_key(rest).map_err(|e| match e {
            KeyMaterialError::Malformed => KeyError::MalformedPrivateKey,
            KeyMaterialError::UnsupportedType(t) => KeyError::UnsupportedType(t),
        })?;
        let signer = Self::new(name, SigningKey::from_bytes(&seed))?;
        if signer.id != stated {
            return Err(KeyError::KeyIdMismatch {
                stated,
                computed: signer.id,
            });
        }
        Ok(signer)
    }

    /// Go's private key text for this key. It holds the secret: store it as one.
    #[must_use]
    pub fn private_key_text(&self) -> String {
        let mut material = Vec::with_capacity(33);
        material.push(ED25519_TYPE);
        material.extend_from_slice(self.key.as_bytes());
        format!(
            "{PRIVATE_KEY_PREFIX}{}+{}+{}",
            self.name,
            self.id,
            BASE64.encode(material)
        )
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

    /// A 32-byte secret for another purpose, derived from this key's seed and `label`
    /// (HMAC-SHA-256 keyed by the seed, as HKDF-Expand does with a uniform key): whoever holds
    /// the signing key can recompute it, nobody else can, and it reveals nothing of the seed.
    #[must_use]
    pub fn derive_secret(&self, label: &str) -> [u8; 32] {
        use hmac::Mac as _;
        let mut mac = crate::auth::hmac_sha256(self.key.as_bytes());
        mac.update(label.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The matching verifier key.
    #[must_use]
    pub fn verifier_key(&self) -> VerifierKey {
        VerifierKey {
            name: self.name.clone(),
            id: self.id,
            key: self.key.verifying_key(),
        }
    }

    /// Signs `text` and returns the whole note: the text, a blank line, one signature line.
    pub fn sign(&self, text: &str) -> Result<String, NoteError> {
        check_text(text)?;
        let signature = self.key.sign(text.as_bytes());
        let mut blob = Vec::with_capacity(4 + 64);
        blob.extend_from_slice(&self.id.0);
        blob.extend_from_slice(&signature.to_bytes());
        Ok(format!(
            "{text}\n{SIGNATURE_PREFIX}{} {}\n",
            self.name,
            BASE64.encode(blob)
        ))
    }
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("id", &self.id)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// Note text is newline-terminated and free of other control characters.
fn check_text(text: &str) -> Result<(), NoteError> {
    if has_bad_control(text) {
        return Err(NoteError::ControlCharacter);
    }
    if !text.ends_with('\n') {
        return Err(NoteError::MissingFinalNewline);
    }
    Ok(())
}

fn has_bad_control(text: &str) -> bool {
    text.chars().any(|c| c.is_ascii_control() && c != '\n')
}

/// One signature line of a note, not yet checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name on the line.
    pub name: String,
    /// The key id, the first four bytes of the decoded blob.
    pub id: KeyId,
    /// The signature bytes after the key id.
    pub signature: Vec<u8>,
}

impl NoteSignature {
    fn key_label(&self) -> String {
        format!("{}+{}", self.name, self.id)
    }

    /// The signature line, `— <name> <base64(key id || signature)>`, without its newline.
    #[must_use]
    pub fn to_line(&self) -> String {
        let mut blob = Vec::with_capacity(4 + self.signature.len());
        blob.extend_from_slice(&self.id.0);
        blob.extend_from_slice(&self.signature);
        format!("{SIGNATURE_PREFIX}{} {}", self.name, BASE64.encode(blob))
    }
}

/// A note that parsed but whose signatures are not checked: its text is not yet to be trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl Note {
    /// Splits a note into text and signature lines, checking only the syntax.
    pub fn parse(message: &str) -> Result<Self, NoteError> {
        if has_bad_control(message) {
            return Err(NoteError::ControlCharacter);
        }
        // The text ends at the last blank line; the signatures follow it.
        let split = message
            .rfind("\n\n")
            .ok_or(NoteError::MissingSignatureBlock)?;
        let text = message.get(..=split);
        let block = message.get(split + 2..).and_then(|b| b.strip_suffix('\n'));
        let (Some(text), Some(block)) = (text, block) else {
            return Err(NoteError::MissingSignatureBlock);
        };
        let mut signatures = Vec::new();
        for (n, line) in block.split('\n').enumerate() {
            if n >= MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures);
            }
            let malformed = NoteError::MalformedSignatureLine { line: n + 1 };
            signatures.push(parse_signature_line(line).ok_or(malformed)?);
        }
        Ok(Self {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The text, signatures excluded, with its final newline.
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines, in order.
    #[must_use]
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Checks the signatures against the `known` keys.
    pub fn verify(self, known: &[VerifierKey]) -> Result<VerifiedNote, NoteError> {
        let mut verified_by: Vec<VerifierKey> = Vec::new();
        for signature in &self.signatures {
            let mut matching = known
                .iter()
                .filter(|k| k.name == signature.name && k.id == signature.id);
            let Some(key) = matching.next() else {
                continue; // Unknown keys are ignored.
            };
            if matching.next().is_some() {
                return Err(NoteError::AmbiguousKey {
                    key: signature.key_label(),
                });
            }
            if verified_by.iter().any(|k| k == key) {
                continue; // A repeated signature by one key counts once.
            }
            if !key.verifies(&self.text, &signature.signature) {
                return Err(NoteError::InvalidSignature {
                    key: signature.key_label(),
                });
            }
            verified_by.push(key.clone());
        }
        if verified_by.is_empty() {
            return Err(NoteError::NoKnownSignature);
        }
        Ok(VerifiedNote {
            note: self,
            verified_by,
        })
    }
}

fn parse_signature_line(line: &str) -> Option<NoteSignature> {
    let rest = line.strip_prefix(SIGNATURE_PREFIX)?;
    let (name, b64) = rest.split_once(' ')?;
    check_name(name).ok()?;
    let blob = BASE64.decode(b64).ok()?;
    let (id, signature) = blob.split_first_chunk::<4>()?;
    if signature.is_empty() {
        return None;
    }
    Some(NoteSignature {
        name: name.to_owned(),
        id: KeyId(*id),
        signature: signature.to_vec(),
    })
}

/// A note with at least one valid signature by a known key; only [`Note::verify`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedNote {
    note: Note,
    verified_by: Vec<VerifierKey>,
}

impl VerifiedNote {
    /// The signed text.
    #[must_use]
    pub fn text(&self) -> &str {
        &self.note.text
    }

    /// The known keys whose signatures verified.
    #[must_use]
    pub fn verified_by(&self) -> &[VerifierKey] {
        &self.verified_by
    }

    /// Every signature line, verified or not, in order.
    #[must_use]
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.note.signatures
    }
}

/// Parses `message` and checks it against the `known` keys.
pub fn open_note(message: &str, known: &[VerifierKey]) -> Result<VerifiedNote, NoteError> {
    Note::parse(message)?.verify(known)
}
