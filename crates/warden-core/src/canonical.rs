//! Canonical JSON for arguments and events.
//!
//! An approval is bound to "these exact arguments" and a ledger leaf must hash the same on every
//! machine, so both need one byte encoding of a JSON value. We use the JSON Canonicalization
//! Scheme's structural rules (RFC 8785: object members sorted by key, no insignificant
//! whitespace, UTF-8) with serde_json's number formatting, which agrees with RFC 8785 for the
//! integers and strings that tool arguments carry.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// The canonical encoding of `value`: keys sorted at every depth, compact.
pub fn canonical_json(value: &Value) -> String {
    let mut out = Vec::with_capacity(256);
    write_canonical(value, &mut out);
    // serde_json writes only UTF-8 (strings come from `String`s, escapes are ASCII), so this is
    // the same bytes without a copy; the lossy branch cannot be taken.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Writes straight into one buffer: members sorted as (key, value) pairs, so no lookup by key
/// and no string built per key or scalar (this runs for every ledger leaf and every call's
/// arguments).
fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            // Keys are unique, so an unstable sort gives the one order: bytewise, as `str`'s Ord.
            members.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (i, (key, v)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_scalar(key.as_str(), out);
                out.push(b':');
                write_canonical(v, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        other => write_scalar(other, out),
    }
}

/// serde_json's compact encoding of a string, number, bool or null.
fn write_scalar<T: serde::Serialize + ?Sized>(v: &T, out: &mut Vec<u8>) {
    // Writing into a `Vec` cannot fail, nor can serialising these (a `Value` number is finite).
    let _ = serde_json::to_writer(&mut *out, v);
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The digest that binds a decision or an approval to one set of arguments.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct ArgsDigest(pub String);

impl ArgsDigest {
    pub fn of(args: &Value) -> Self {
        Self(format!(
            "sha256:{}",
            sha256_hex(canonical_json(args).as_bytes())
        ))
    }
}

impl std::fmt::Display for ArgsDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn key_order_does_not_change_the_encoding() {
        let a = json!({"b": 1, "a": {"y": [1, "x"], "x": null}});
        let b: Value = serde_json::from_str(r#"{"a":{"x":null,"y":[1,"x"]},"b":1}"#).unwrap();
        assert_eq!(canonical_json(&a), r#"{"a":{"x":null,"y":[1,"x"]},"b":1}"#);
        assert_eq!(ArgsDigest::of(&a), ArgsDigest::of(&b));
    }

    #[test]
    fn different_arguments_have_different_digests() {
        assert_ne!(
            ArgsDigest::of(&json!({"host": "ws-042"})),
            ArgsDigest::of(&json!({"host": "dc01"}))
        );
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            ".*".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(".{0,8}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// The encoder as first written (and as every stored digest and leaf was made): a key
    /// looked up per member, a string built per key and scalar. Kept to hold the faster one to it.
    fn reference(value: &Value, out: &mut String) {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push('{');
                for (i, key) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(key.clone()).to_string());
                    out.push(':');
                    if let Some(v) = map.get(key) {
                        reference(v, out);
                    }
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    reference(item, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }

    #[test]
    fn escapes_and_numbers_as_before() {
        let v = json!({
            "\u{e9}t\u{e9}": "line\nbreak \"quoted\" \\ tab\t \u{1} \u{2028} \u{1F600}",
            "Z": [1.5, -0.0, 1e300, u64::MAX, i64::MIN, true, null],
            "": {},
            "a": [],
        });
        let mut expected = String::new();
        reference(&v, &mut expected);
        assert_eq!(canonical_json(&v), expected);
        assert_eq!(
            canonical_json(&v),
            "{\"\":{},\"Z\":[1.5,-0.0,1e+300,18446744073709551615,-9223372036854775808,true,null],\
             \"a\":[],\"\u{e9}t\u{e9}\":\"line\\nbreak \\\"quoted\\\" \\\\ tab\\t \\u0001 \u{2028} \u{1F600}\"}"
        );
    }

    fn arb_json_with_floats() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<u64>().prop_map(|n| json!(n)),
            any::<f64>().prop_map(|f| json!(f)),
            any::<String>().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::vec((any::<String>(), inner), 0..8)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn encoding_is_the_one_stored_digests_were_made_with(v in arb_json_with_floats()) {
            let mut expected = String::new();
            reference(&v, &mut expected);
            prop_assert_eq!(canonical_json(&v), expected);
        }

        #[test]
        fn canonical_form_round_trips(v in arb_json()) {
            let text = canonical_json(&v);
            let back: Value = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(&back, &v);
            prop_assert_eq!(canonical_json(&back), text);
        }
    }
}
