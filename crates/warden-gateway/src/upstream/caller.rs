//! Who a forwarded call is for: the `_meta` warden puts on every `tools/call` it sends upstream.
//!
//! An upstream that stores what it is given (a ticket comment, a note, a message) would
//! otherwise know only that warden sent it, and could not tell one agent's text from
//! another's. The keys are warden's own (under [`META_PREFIX`]) and warden alone writes them:
//! nothing of the `_meta` an agent sends is forwarded, so an agent cannot name another agent,
//! or a person, as the author of what it writes.

use rmcp::model::{JsonObject, RequestMetaObject};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use warden_core::ToolCall;

/// The reverse-DNS prefix of the `_meta` keys warden owns on requests to upstreams.
pub const META_PREFIX: &str = "dev.warden/";

/// The acting agent: `{"name": <agent as configured>, "session": <digest>}`; `session` only
/// where the call came in an MCP session (over HTTP, or one stdio connection), not for a
/// sessionless request.
pub const META_AGENT: &str = "dev.warden/agent";

/// The ledger index of the decision that let the call through (`warden audit show`), where it
/// is durable before the call is forwarded: every write, and every call approved by a human.
/// A read forwarded while its decision commits has none.
pub const META_DECISION: &str = "dev.warden/decision";

/// Hex digits of a session's digest ([`session_digest`]).
const SESSION_DIGEST_HEX: usize = 16;

/// The `_meta` of the request warden sends upstream for `call`, `decision` being the ledger
/// index of its decision where there is one.
pub fn caller_meta(call: &ToolCall, decision: Option<u64>) -> RequestMetaObject {
    let mut agent = json!({ "name": call.principal.0 });
    if !call.session.is_sessionless(&call.principal)
        && let Value::Object(fields) = &mut agent
    {
        fields.insert(
            "session".to_owned(),
            Value::String(session_digest(&call.session.0)),
        );
    }
    let mut meta = JsonObject::new();
    meta.insert(META_AGENT.to_owned(), agent);
    if let Some(index) = decision {
        meta.insert(META_DECISION.to_owned(), Value::from(index));
    }
    RequestMetaObject::from(meta)
}

/// A session as an upstream is told it: the first 16 hex digits of the SHA-256 of the session
/// id the ledger records. Enough to tell an agent's sessions apart and to find one in the
/// ledger; not the `Mcp-Session-Id` itself, which stays between warden and the agent.
pub fn session_digest(session: &str) -> String {
    let digest = hex::encode(Sha256::digest(session.as_bytes()));
    digest
        .get(..SESSION_DIGEST_HEX)
        .unwrap_or(&digest)
        .to_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use warden_core::{Principal, SessionId, ToolName};

    fn call(session: SessionId) -> ToolCall {
        ToolCall {
            principal: Principal("triage".into()),
            session,
            tool: ToolName::new("tickets", "add_comment"),
            args: serde_json::Map::new(),
            rationale: Some("dev.warden/agent: alice.chen".into()),
        }
    }

    #[test]
    fn names_the_agent_its_session_and_the_decision_and_nothing_else() {
        let session = SessionId("0b6c2d7e-9d1a-4f7e-8a51-2f1c3e5d7a90".into());
        let meta = caller_meta(&call(session.clone()), Some(39));
        let value = serde_json::to_value(&meta).unwrap();
        assert_eq!(
            value,
            json!({
                META_AGENT: {"name": "triage", "session": session_digest(&session.0)},
                META_DECISION: 39,
            })
        );
        let digest = session_digest(&session.0);
        assert_eq!(digest.len(), 16);
        assert!(!value.to_string().contains(&session.0));
        assert!(
            value
                .as_object()
                .unwrap()
                .keys()
                .all(|k| k.starts_with(META_PREFIX))
        );
    }

    #[test]
    fn a_sessionless_call_names_no_session_and_a_read_ahead_no_decision() {
        let principal = Principal("triage".into());
        let meta = caller_meta(&call(SessionId::sessionless(&principal)), None);
        assert_eq!(
            serde_json::to_value(&meta).unwrap(),
            json!({ META_AGENT: {"name": "triage"} })
        );
    }
}
