//! The leaf encoding: how one [`AuditEvent`] becomes the bytes the tree hashes.
//!
//! Version 1 (`docs/ledger.md` is the reference): the event's JSON form, with the sensitive
//! fields ([`SEALED_FIELDS`]) taken out and replaced by salted commitments under `"sealed"`,
//! plus `"v":1`, written as canonical JSON (keys sorted at every depth, no whitespace):
//!
//! ```text
//! {"decision":"allow",...,"sealed":{"args":"sha256:<hex>","rationale":"sha256:<hex>"},...,"v":1}
//! ```
//!
//! A commitment is `sha256:` and the hex of `SHA-256(salt || canonical JSON of the value)` with
//! a fresh 32-byte random salt per field. The value and its salt are stored beside the log, not
//! in it; deleting both (a redaction) leaves the leaf, its hash and every proof unchanged, and
//! the salt makes the commitment useless for guessing the value.
//!
//! Design choice: the encoding is JSON rather than CBOR so a leaf reads as text in a proof or a
//! SIEM copy, and it reuses [`canonical_json`], the same canonical form that binds approvals to
//! arguments. The version lives inside the leaf, so a verifier can tell encodings apart; a new
//! field of `AuditEvent` appears in the leaf without a version change, while a change to how
//! fields are sealed or written needs version 2.

use crate::hash::{Hash, leaf_hash};
use rand::{CryptoRng, RngCore};
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;
use warden_core::{AuditEvent, EventKind, canonical_json};

/// The encoding version this module writes and reads.
pub const LEAF_VERSION: u64 = 1;

/// Fields committed as salted hashes, as paths: `detail.sensitive` is the `sensitive` member of
/// `detail`.
pub const SEALED_FIELDS: [&str; 4] = ["args", "args_digest", "rationale", "detail.sensitive"];

/// What a reader sees in place of a sealed field whose content was redacted.
pub const REDACTED: &str = "[redacted]";

/// What a reader sees in place of stored content that no longer matches its commitment.
pub const ALTERED: &str = "[altered: does not match the ledger]";

/// Length of a salt in bytes.
pub const SALT_LEN: usize = 32;

/// The random bytes hashed in front of a sealed value. Whoever holds it can confirm a guess of
/// the value, so it is deleted with the value; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Salt(pub [u8; SALT_LEN]);

impl Salt {
    /// A fresh salt from a cryptographic generator.
    pub fn random(rng: &mut (impl RngCore + CryptoRng)) -> Self {
        let mut bytes = [0u8; SALT_LEN];
        rng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// A salt read back from storage.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; SALT_LEN]>::try_from(bytes).ok().map(Self)
    }
}

impl fmt::Debug for Salt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Salt(<redacted>)")
    }
}

/// `sha256:<hex>` of `salt || content`, where `content` is a value's canonical JSON.
#[must_use]
pub fn commitment(salt: &Salt, content: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(salt.0);
    hasher.update(content.as_bytes());
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

/// The content of one sealed field, kept beside the log until it is redacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedContent {
    /// The field path, one of [`SEALED_FIELDS`].
    pub field: String,
    /// The salt hashed in front of the content.
    pub salt: Salt,
    /// The value's canonical JSON.
    pub content: String,
}

impl SealedContent {
    /// The commitment the leaf holds for this content.
    #[must_use]
    pub fn commitment(&self) -> String {
        commitment(&self.salt, &self.content)
    }

    /// Whether version-1 `leaf` bytes commit to this content, checked without parsing the
    /// leaf: the bytes must contain `"<field>":"sha256:<hex>"` with this content's commitment.
    ///
    /// This is exact for leaves that are themselves authentic (their hash checked against a
    /// signed root): in canonical JSON an unescaped `"<field>":"sha256:` is a member that warden
    /// wrote (a quote inside a string is escaped), and for this digest to appear anywhere but
    /// under `sealed` would take a SHA-256 preimage. A verifier runs this a million times, so
    /// it searches bytes instead of parsing JSON.
    #[must_use]
    pub fn is_committed_in(&self, leaf: &[u8]) -> bool {
        is_committed(&self.field, &self.salt, self.content.as_bytes(), leaf)
    }
}

/// [`SealedContent::is_committed_in`] on borrowed parts.
#[must_use]
pub fn is_committed(field: &str, salt: &Salt, content: &[u8], leaf: &[u8]) -> bool {
    let Some((_, finder)) = MEMBER_FINDERS.iter().find(|(f, _)| *f == field) else {
        return false;
    };
    let mut hasher = Sha256::new();
    hasher.update(salt.0);
    hasher.update(content);
    let digest = hasher.finalize();
    let mut expected = [0u8; 65];
    for (pair, byte) in expected.chunks_exact_mut(2).zip(digest.iter()) {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        if let [hi, lo] = pair {
            *hi = DIGITS.get(usize::from(byte >> 4)).copied().unwrap_or(b'0');
            *lo = DIGITS
                .get(usize::from(byte & 0x0f))
                .copied()
                .unwrap_or(b'0');
        }
    }
    if let Some(last) = expected.last_mut() {
        *last = b'"';
    }
    let prefix = finder.needle().len();
    finder
        .find_iter(leaf)
        .any(|at| leaf.get(at + prefix..at + prefix + expected.len()) == Some(expected.as_slice()))
}

/// `"<field>":"sha256:` for each sealed field, compiled once for [`SealedContent::is_committed_in`].
static MEMBER_FINDERS: std::sync::LazyLock<Vec<(&'static str, memchr::memmem::Finder<'static>)>> =
    std::sync::LazyLock::new(|| {
        SEALED_FIELDS
            .iter()
            .map(|field| {
                let needle = format!("\"{field}\":\"sha256:");
                (
                    *field,
                    memchr::memmem::Finder::new(needle.as_bytes()).into_owned(),
                )
            })
            .collect()
    });

/// Why bytes are not a leaf of a known version, or an event cannot become one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeafError {
    /// The bytes are not a JSON object.
    #[error("leaf is not a JSON object: {0}")]
    NotJson(String),
    /// The `v` member is missing or names a version this build does not read.
    #[error("leaf encoding version `{0}` is not supported (this build reads version 1)")]
    UnsupportedVersion(String),
    /// The JSON object does not describe an audit event.
    #[error("leaf does not hold an audit event: {0}")]
    NotAnEvent(String),
    /// `sealed` names a field that is not sealable, or its commitment is malformed.
    #[error("leaf seals `{0}`, which is not a sealed field of version 1")]
    UnknownSealedField(String),
    /// Stored content does not hash to the leaf's commitment.
    #[error("sealed field `{field}` does not match the leaf's commitment")]
    SealMismatch {
        /// The field path.
        field: String,
    },
}

/// An event encoded as a leaf: the bytes to hash and store, and the content to keep beside
/// them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedLeaf {
    /// The leaf bytes (canonical JSON, version 1).
    pub bytes: Vec<u8>,
    /// RFC 6962 leaf hash of `bytes`.
    pub hash: Hash,
    /// One entry per sealed field present in the event.
    pub sealed: Vec<SealedContent>,
}

/// Encodes `event` with fresh random salts.
pub fn encode(
    event: &AuditEvent,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<EncodedLeaf, LeafError> {
    encode_with_salts(event, |_| Salt::random(rng))
}

/// Encodes `event`, asking `salt_for` for the salt of each sealed field present. Use [`encode`]
/// outside tests: a predictable salt lets anyone confirm a guessed value.
pub fn encode_with_salts(
    event: &AuditEvent,
    mut salt_for: impl FnMut(&str) -> Salt,
) -> Result<EncodedLeaf, LeafError> {
    let Value::Object(mut object) =
        serde_json::to_value(event).map_err(|e| LeafError::NotAnEvent(e.to_string()))?
    else {
        return Err(LeafError::NotAnEvent("not an object".into()));
    };
    let mut sealed = Vec::new();
    let mut commitments = Map::new();
    for field in SEALED_FIELDS {
        let Some(value) = take_path(&mut object, field) else {
            continue;
        };
        let content = SealedContent {
            field: field.to_owned(),
            salt: salt_for(field),
            content: canonical_json(&value),
        };
        commitments.insert(field.to_owned(), Value::String(content.commitment()));
        sealed.push(content);
    }
    if !commitments.is_empty() {
        object.insert("sealed".into(), Value::Object(commitments));
    }
    object.insert("v".into(), Value::from(LEAF_VERSION));
    let bytes = canonical_json(&Value::Object(object)).into_bytes();
    Ok(EncodedLeaf {
        hash: leaf_hash(&bytes),
        bytes,
        sealed,
    })
}

/// A leaf read back: the event without its sealed fields, and their commitments.
#[derive(Debug, Clone, PartialEq)]
pub struct Leaf {
    /// The event as the leaf states it; sealed fields are absent.
    pub event: AuditEvent,
    /// Commitment per sealed field path.
    pub sealed: BTreeMap<String, String>,
}

/// The event with its sealed fields filled in as far as their content survives.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenedEvent {
    /// The event; a redacted field reads [`REDACTED`], an altered one [`ALTERED`].
    pub event: AuditEvent,
    /// Sealed fields whose content was redacted.
    pub redacted: Vec<String>,
    /// Sealed fields whose stored content does not match the commitment.
    pub altered: Vec<String>,
}

/// Reads version-1 leaf bytes.
pub fn decode(bytes: &[u8]) -> Result<Leaf, LeafError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| LeafError::NotJson(e.to_string()))?;
    let Value::Object(mut object) = value else {
        return Err(LeafError::NotJson("not an object".into()));
    };
    match object.remove("v") {
        Some(v) if v.as_u64() == Some(LEAF_VERSION) => {}
        other => {
            return Err(LeafError::UnsupportedVersion(
                other.map_or_else(|| "none".into(), |v| v.to_string()),
            ));
        }
    }
    let sealed = match object.remove("sealed") {
        None => BTreeMap::new(),
        Some(Value::Object(map)) => {
            let mut sealed = BTreeMap::new();
            for (field, commitment) in map {
                match commitment {
                    Value::String(c) if SEALED_FIELDS.contains(&field.as_str()) => {
                        sealed.insert(field, c);
                    }
                    _ => return Err(LeafError::UnknownSealedField(field)),
                }
            }
            sealed
        }
        Some(_) => return Err(LeafError::UnknownSealedField("sealed".into())),
    };
    let event = serde_json::from_value(Value::Object(object))
        .map_err(|e| LeafError::NotAnEvent(e.to_string()))?;
    Ok(Leaf { event, sealed })
}

/// Only the commitments of version-1 leaf bytes, without building the event: what a verifier
/// needs to check stored content, read quickly.
pub fn commitments(bytes: &[u8]) -> Result<BTreeMap<String, String>, LeafError> {
    #[derive(Deserialize)]
    struct Head {
        v: Option<Value>,
        #[serde(default)]
        sealed: BTreeMap<String, String>,
    }
    let head: Head =
        serde_json::from_slice(bytes).map_err(|e| LeafError::NotJson(e.to_string()))?;
    match head.v {
        Some(v) if v.as_u64() == Some(LEAF_VERSION) => Ok(head.sealed),
        other => Err(LeafError::UnsupportedVersion(
            other.map_or_else(|| "none".into(), |v| v.to_string()),
        )),
    }
}

/// The values of an event that storage copies into index columns, so readers can filter
/// without parsing every leaf. They are copies, never the record: a verifier derives them again
/// from the leaf ([`index_of`]) and reports a row whose columns say otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafColumns {
    pub time_ms: i64,
    /// The event kind's name, `unknown` for an event without one.
    pub kind: String,
    pub principal: Option<String>,
    pub session: Option<String>,
    pub tool: Option<String>,
    pub decision: Option<String>,
}

impl LeafColumns {
    /// The columns of `event`.
    #[must_use]
    pub fn of(event: &AuditEvent) -> Self {
        Self {
            time_ms: event.time_ms,
            kind: kind_name(event.kind).to_owned(),
            principal: event.principal.clone(),
            session: event.session.clone(),
            tool: event.tool.clone(),
            decision: event.decision.clone(),
        }
    }

    /// The names of the columns whose values differ from `other`'s.
    #[must_use]
    pub fn differences(&self, other: &Self) -> Vec<&'static str> {
        [
            ("time_ms", self.time_ms == other.time_ms),
            ("kind", self.kind == other.kind),
            ("principal", self.principal == other.principal),
            ("session", self.session == other.session),
            ("tool", self.tool == other.tool),
            ("decision", self.decision == other.decision),
        ]
        .into_iter()
        .filter(|(_, same)| !same)
        .map(|(name, _)| name)
        .collect()
    }
}

fn kind_name(kind: Option<EventKind>) -> &'static str {
    kind.map_or("unknown", EventKind::as_str)
}

/// What a verifier needs from each leaf besides its hash: the index columns it implies and the
/// fields it seals, read without building the whole event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafIndex {
    pub columns: LeafColumns,
    /// The sealed field paths the leaf commits to.
    pub sealed: Vec<String>,
}

/// Reads the [`LeafIndex`] of version-1 leaf bytes.
pub fn index_of(bytes: &[u8]) -> Result<LeafIndex, LeafError> {
    #[derive(Deserialize)]
    struct Head {
        v: Option<Value>,
        kind: Option<EventKind>,
        time_ms: i64,
        principal: Option<String>,
        session: Option<String>,
        tool: Option<String>,
        decision: Option<String>,
        #[serde(default)]
        sealed: BTreeMap<String, serde::de::IgnoredAny>,
    }
    let head: Head =
        serde_json::from_slice(bytes).map_err(|e| LeafError::NotAnEvent(e.to_string()))?;
    match head.v {
        Some(v) if v.as_u64() == Some(LEAF_VERSION) => {}
        other => {
            return Err(LeafError::UnsupportedVersion(
                other.map_or_else(|| "none".into(), |v| v.to_string()),
            ));
        }
    }
    Ok(LeafIndex {
        columns: LeafColumns {
            time_ms: head.time_ms,
            kind: kind_name(head.kind).to_owned(),
            principal: head.principal,
            session: head.session,
            tool: head.tool,
            decision: head.decision,
        },
        sealed: head.sealed.into_keys().collect(),
    })
}

/// Checks stored contents against the commitments of a leaf: each must be for a field the
/// leaf seals, and hash to its commitment.
pub fn check_sealed(
    commitments: &BTreeMap<String, String>,
    contents: &[SealedContent],
) -> Result<(), LeafError> {
    for content in contents {
        match commitments.get(&content.field) {
            Some(c) if *c == content.commitment() => {}
            _ => {
                return Err(LeafError::SealMismatch {
                    field: content.field.clone(),
                });
            }
        }
    }
    Ok(())
}

impl Leaf {
    /// Fills each sealed field from `contents` when its content is there and matches the
    /// commitment; otherwise with [`REDACTED`] or [`ALTERED`].
    #[must_use]
    pub fn open(&self, contents: &[SealedContent]) -> OpenedEvent {
        let mut object = match serde_json::to_value(&self.event) {
            Ok(Value::Object(object)) => object,
            _ => Map::new(),
        };
        let mut redacted = Vec::new();
        let mut altered = Vec::new();
        for (field, commitment) in &self.sealed {
            let found = contents.iter().find(|c| c.field == *field);
            let value = match found {
                None => {
                    redacted.push(field.clone());
                    Value::String(REDACTED.into())
                }
                Some(c) if c.commitment() == *commitment => serde_json::from_str(&c.content)
                    .unwrap_or_else(|_| Value::String(ALTERED.into())),
                Some(_) => {
                    altered.push(field.clone());
                    Value::String(ALTERED.into())
                }
            };
            put_path(&mut object, field, value);
        }
        // A redacted `args_digest` or `rationale` is a string, an `args` marker a string where
        // an object stood: `AuditEvent` holds `args` as any JSON value, so this always fits.
        let event =
            serde_json::from_value(Value::Object(object)).unwrap_or_else(|_| self.event.clone());
        OpenedEvent {
            event,
            redacted,
            altered,
        }
    }
}

/// Removes the value at a one- or two-segment path.
fn take_path(object: &mut Map<String, Value>, path: &str) -> Option<Value> {
    match path.split_once('.') {
        None => object.remove(path),
        Some((outer, inner)) => object.get_mut(outer)?.as_object_mut()?.remove(inner),
    }
}

/// Sets the value at a one- or two-segment path, creating the outer object if needed.
fn put_path(object: &mut Map<String, Value>, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            object.insert(path.to_owned(), value);
        }
        Some((outer, inner)) => {
            let slot = object
                .entry(outer.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            if let Some(map) = slot.as_object_mut() {
                map.insert(inner.to_owned(), value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use warden_core::EventKind;

    fn decision() -> AuditEvent {
        let mut e = AuditEvent::new(EventKind::Decision, 1_767_225_600_000);
        e.principal = Some("responder".into());
        e.session = Some("sess-1".into());
        e.tool = Some("edr.isolate_host".into());
        e.args = Some(json!({"host": "ws-042", "incident": "INC-1042"}));
        e.args_digest = Some("sha256:00ff".into());
        e.decision = Some("allow".into());
        e.rule = Some("isolate-incident-workstations".into());
        e.owner = Some("ir-oncall@northwind.example".into());
        e.category = Some("containment".into());
        e.reason = Some("permitted by `isolate-incident-workstations`".into());
        e.policy_version = Some("sha256:abcd".into());
        e.rationale = Some("alert ALR-2001 shows beaconing from ws-042".into());
        e.detail = Some(json!({"sensitive": {"mailbox": "alice.chen"}, "note": "kept clear"}));
        e
    }

    fn fixed_salts(field: &str) -> Salt {
        let mut bytes = [0u8; SALT_LEN];
        for (b, f) in bytes.iter_mut().zip(field.bytes().cycle()) {
            *b = f;
        }
        Salt(bytes)
    }

    #[test]
    fn version_1_encoding_of_a_decision() {
        let leaf = encode_with_salts(&decision(), fixed_salts).unwrap();
        let text = String::from_utf8(leaf.bytes.clone()).unwrap();
        insta::assert_snapshot!("leaf_v1_decision", text);
        insta::assert_snapshot!("leaf_v1_decision_hash", leaf.hash.to_hex());
        let fields: Vec<_> = leaf.sealed.iter().map(|s| s.field.as_str()).collect();
        assert_eq!(
            fields,
            ["args", "args_digest", "rationale", "detail.sensitive"]
        );
    }

    #[test]
    fn version_1_encoding_of_an_event_without_sealed_fields() {
        let mut e = AuditEvent::new(EventKind::ToolPinned, 1_767_225_600_000);
        e.tool = Some("edr.get_host".into());
        e.detail = Some(json!({"digest": "sha256:aa", "by": "first-use"}));
        let leaf = encode_with_salts(&e, fixed_salts).unwrap();
        insta::assert_snapshot!(
            "leaf_v1_tool_pinned",
            String::from_utf8(leaf.bytes).unwrap()
        );
        assert!(leaf.sealed.is_empty());
    }

    #[test]
    fn a_leaf_opens_to_the_event_it_encodes() {
        let event = decision();
        let leaf = encode(&event, &mut rand::thread_rng()).unwrap();
        let decoded = decode(&leaf.bytes).unwrap();
        assert_eq!(
            decoded.event.args, None,
            "sealed fields are not in the clear"
        );
        assert_eq!(decoded.event.rationale, None);
        let opened = decoded.open(&leaf.sealed);
        assert_eq!(opened.event, event);
        assert!(opened.redacted.is_empty() && opened.altered.is_empty());
        assert_eq!(
            commitments(&leaf.bytes).unwrap(),
            decoded.sealed,
            "the quick reader agrees"
        );
        check_sealed(&decoded.sealed, &leaf.sealed).unwrap();
        for content in &leaf.sealed {
            assert!(content.is_committed_in(&leaf.bytes), "{}", content.field);
            let mut changed = content.clone();
            changed.content.push(' ');
            assert!(!changed.is_committed_in(&leaf.bytes));
            let mut moved = content.clone();
            moved.field = "rationale".into();
            assert_eq!(
                moved.is_committed_in(&leaf.bytes),
                content.field == "rationale"
            );
        }
    }

    #[test]
    fn redacted_and_altered_content_is_marked() {
        let leaf = encode(&decision(), &mut rand::thread_rng()).unwrap();
        let decoded = decode(&leaf.bytes).unwrap();
        let mut kept: Vec<SealedContent> = leaf
            .sealed
            .iter()
            .filter(|s| s.field != "args")
            .cloned()
            .collect();
        if let Some(r) = kept.iter_mut().find(|s| s.field == "rationale") {
            r.content = "\"something else\"".into();
        }
        let opened = decoded.open(&kept);
        assert_eq!(opened.event.args, Some(json!(REDACTED)));
        assert_eq!(opened.event.rationale.as_deref(), Some(ALTERED));
        assert_eq!(opened.redacted, ["args"]);
        assert_eq!(opened.altered, ["rationale"]);
        assert_eq!(
            opened.event.detail,
            Some(json!({"sensitive": {"mailbox": "alice.chen"}, "note": "kept clear"}))
        );
        assert_eq!(
            check_sealed(&decoded.sealed, &kept),
            Err(LeafError::SealMismatch {
                field: "rationale".into()
            })
        );
    }

    #[test]
    fn the_index_of_a_leaf_is_the_columns_of_its_event() {
        let event = decision();
        let leaf = encode(&event, &mut rand::rngs::OsRng).unwrap();
        let index = index_of(&leaf.bytes).unwrap();
        assert_eq!(index.columns, LeafColumns::of(&event));
        assert_eq!(
            index.sealed,
            ["args", "args_digest", "detail.sensitive", "rationale"]
        );
        let bare = AuditEvent {
            time_ms: 5,
            ..Default::default()
        };
        let index = index_of(&encode(&bare, &mut rand::rngs::OsRng).unwrap().bytes).unwrap();
        assert_eq!(index.columns, LeafColumns::of(&bare));
        assert_eq!(index.columns.kind, "unknown");
        assert!(index.sealed.is_empty());
        let mut moved = LeafColumns::of(&event);
        moved.decision = Some("rewritten".into());
        moved.session = None;
        assert_eq!(
            moved.differences(&LeafColumns::of(&event)),
            ["session", "decision"]
        );
        assert!(index_of(b"{\"v\":2,\"time_ms\":1}").is_err());
    }

    #[test]
    fn the_same_value_under_two_salts_gives_two_commitments() {
        let a = encode(&decision(), &mut rand::thread_rng()).unwrap();
        let b = encode(&decision(), &mut rand::thread_rng()).unwrap();
        assert_ne!(a.hash, b.hash);
        assert!(!String::from_utf8_lossy(&a.bytes).contains("ws-042"));
    }

    #[test]
    fn other_versions_and_garbage_are_refused() {
        assert!(matches!(
            decode(br#"{"v":2,"kind":"decision","time_ms":1}"#),
            Err(LeafError::UnsupportedVersion(_))
        ));
        assert!(matches!(
            decode(br#"{"kind":"decision","time_ms":1}"#),
            Err(LeafError::UnsupportedVersion(_))
        ));
        assert!(matches!(decode(b"\xff"), Err(LeafError::NotJson(_))));
        assert!(matches!(
            decode(br#"{"v":1,"kind":"decision","time_ms":1,"sealed":{"reason":"sha256:00"}}"#),
            Err(LeafError::UnknownSealedField(_))
        ));
    }
}
