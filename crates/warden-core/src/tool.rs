//! Tool calls and the labels warden itself gives each tool.
//!
//! Upstream servers annotate their tools (`readOnlyHint`, `destructiveHint`), but those are hints
//! from a party we do not trust. The labels here come from warden's config and are the only ones
//! that decide anything.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// An authenticated agent, as Cedar's `Agent::"<id>"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Principal(pub String);

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One agent session: an MCP session over HTTP, or one stdio connection.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SessionId(pub String);

impl SessionId {
    /// The session of a request that has none (the sessionless 2026-07-28 revision): the agent
    /// itself, so what binds to a session binds to the agent.
    pub fn sessionless(principal: &Principal) -> Self {
        Self(format!("{principal}{SESSIONLESS_SUFFIX}"))
    }

    /// Whether this is `principal`'s [`SessionId::sessionless`]: no session of its own.
    pub fn is_sessionless(&self, principal: &Principal) -> bool {
        self.0
            .strip_suffix(SESSIONLESS_SUFFIX)
            .is_some_and(|agent| agent == principal.0)
    }
}

/// What follows the agent's name in [`SessionId::sessionless`].
const SESSIONLESS_SUFFIX: &str = ":stateless";

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A tool as the agent sees it: `<server>.<tool>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ToolName {
    pub server: String,
    pub tool: String,
}

impl ToolName {
    pub fn new(server: impl Into<String>, tool: impl Into<String>) -> Self {
        Self {
            server: server.into(),
            tool: tool.into(),
        }
    }

    /// Splits `edr.isolate_host` at the first `.`; server names never contain one.
    pub fn parse(qualified: &str) -> Option<Self> {
        let (server, tool) = qualified.split_once('.')?;
        if server.is_empty() || tool.is_empty() {
            return None;
        }
        Some(Self::new(server, tool))
    }
}

impl fmt::Display for ToolName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.server, self.tool)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    Read,
    Write,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Read => "read",
            Effect::Write => "write",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stakes {
    Low,
    High,
    Critical,
}

impl Stakes {
    pub fn as_str(self) -> &'static str {
        match self {
            Stakes::Low => "low",
            Stakes::High => "high",
            Stakes::Critical => "critical",
        }
    }
}

/// warden's own classification of a tool; see the module header for why it ignores the server's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolLabels {
    pub effect: Effect,
    pub reversible: bool,
    pub stakes: Stakes,
    pub category: String,
}

/// A proposed `tools/call`, after authentication, before any decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    pub principal: Principal,
    pub session: SessionId,
    pub tool: ToolName,
    pub args: Map<String, Value>,
    /// What the agent said it was doing, when its client sends `_meta.rationale`. Evidence
    /// for reviewers, never an input to the decision.
    pub rationale: Option<String>,
}

impl ToolCall {
    pub fn args_value(&self) -> Value {
        Value::Object(self.args.clone())
    }
}

/// The three answers a decision can give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Allow,
    Hold,
    Deny,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allow => "allow",
            Outcome::Hold => "hold",
            Outcome::Deny => "deny",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Outcome {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "allow" => Ok(Outcome::Allow),
            "hold" => Ok(Outcome::Hold),
            "deny" => Ok(Outcome::Deny),
            other => Err(format!(
                "unknown decision `{other}`: expected allow, hold or deny"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_names_split_at_the_first_dot() {
        let t = ToolName::parse("edr.isolate_host").unwrap();
        assert_eq!(t, ToolName::new("edr", "isolate_host"));
        assert_eq!(t.to_string(), "edr.isolate_host");
        assert_eq!(
            ToolName::parse("siem.logs.search").unwrap().tool,
            "logs.search"
        );
        assert!(ToolName::parse("isolate_host").is_none());
        assert!(ToolName::parse(".x").is_none());
    }
}
