//! Table tests of policy: (agent, tool, arguments, state) → expected decision.
//!
//! A security team changes policy with the same confidence it changes code: `warden policy test
//! FILE` runs every case against the compiled policies and reports each mismatch.

use crate::config::Config;
use crate::engine::{CallState, OutboundState};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use warden_core::{Outcome, Principal, ToolName};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestFile {
    #[serde(default, rename = "case")]
    pub cases: Vec<TestCase>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestCase {
    pub name: String,
    pub agent: String,
    pub tool: String,
    #[serde(default)]
    pub args: Map<String, Value>,
    #[serde(default)]
    pub tainted: bool,
    #[serde(default)]
    pub taint_level: i64,
    #[serde(default)]
    pub read_untrusted: bool,
    /// The agent is tainted (across its sessions): `context.agent.tainted`.
    #[serde(default)]
    pub agent_tainted: bool,
    /// What the outbound screen found in the call's free text, by name (`external_link`,
    /// `live_external_link` (with `external_link`: a link not defanged), `lookalike_link`, `homograph_link`, `link_text_mismatch`, `image_link`,
    /// `agent_instructions`, `secret`, `encoded_blob`, `external_address`,
    /// `live_external_address` (with `external_address`: an address not defanged), `concealed`,
    /// `unread`, `payment_details`): `context.outbound`.
    #[serde(default)]
    pub outbound: Vec<String>,
    /// What the call's free text is about among the subjects a write may not touch unattended
    /// (`credentials`, `payment`): `context.outbound.subjects`.
    #[serde(default)]
    pub subjects: Vec<String>,
    /// The call's entity arguments (by name) whose entity the agent has read:
    /// `context.read.<name>`. Others read as unread.
    #[serde(default)]
    pub read: Vec<String>,
    /// Budget id → calls already used in the window.
    #[serde(default)]
    pub budgets: BTreeMap<String, u32>,
    /// Seconds since the Unix epoch; defaults to a fixed instant so tests are repeatable.
    pub now: Option<i64>,
    pub expect: String,
    /// The rule that must decide, when given.
    pub rule: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseResult {
    pub name: String,
    pub expected: String,
    pub got: Outcome,
    pub rule: String,
    pub reason: String,
    pub passed: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("cannot parse the test file: {0}")]
    Parse(String),
    #[error("case `{case}`: {message}")]
    Case { case: String, message: String },
}

/// Runs every case; an unparseable file or a case naming an unknown tool is an error.
pub fn run(config: &Config, text: &str) -> Result<Vec<CaseResult>, TableError> {
    let file: TestFile = toml::from_str(text).map_err(|e| TableError::Parse(e.to_string()))?;
    let mut results = Vec::new();
    for case in file.cases {
        let expected: Outcome = case.expect.parse().map_err(|message| TableError::Case {
            case: case.name.clone(),
            message,
        })?;
        let tool = ToolName::parse(&case.tool).ok_or_else(|| TableError::Case {
            case: case.name.clone(),
            message: format!("`{}` is not a `server.tool` name", case.tool),
        })?;
        if config.tool(&tool).is_none() {
            return Err(TableError::Case {
                case: case.name,
                message: format!("tool `{tool}` is not in the configuration"),
            });
        }
        let mut outbound = outbound_state(&case.outbound).map_err(|message| TableError::Case {
            case: case.name.clone(),
            message,
        })?;
        if let Some(other) = case
            .subjects
            .iter()
            .find(|s| !["credentials", "payment"].contains(&s.as_str()))
        {
            return Err(TableError::Case {
                case: case.name,
                message: format!(
                    "`{other}` is not a subject: `credentials` or `payment` (see `context.outbound.subjects`)"
                ),
            });
        }
        outbound.subjects = case.subjects.clone();
        // The length of the free text is measured, as the gateway does.
        if let Some(spec) = config.tool(&tool) {
            let chars: usize = case
                .args
                .iter()
                .filter(|(name, _)| {
                    spec.args
                        .get(*name)
                        .is_some_and(|a| a.ty == crate::engine::ArgType::Text)
                })
                .filter_map(|(_, v)| v.as_str())
                .map(|t| t.chars().count())
                .sum();
            outbound.length = i64::try_from(chars).unwrap_or(i64::MAX);
        }
        let mut read = Vec::new();
        if let Some(spec) = config.tool(&tool) {
            let canonical = config.engine.normalise_args(&tool, &case.args);
            let named: BTreeMap<&str, crate::engine::EntityRef> =
                crate::engine::entities_named(&spec.args, &canonical).collect();
            for name in &case.read {
                let entity = named.get(name.as_str()).ok_or_else(|| TableError::Case {
                    case: case.name.clone(),
                    message: format!(
                        "`read` names `{name}`, which is not an entity argument of this call"
                    ),
                })?;
                read.push(entity.clone());
            }
        }
        let state = CallState {
            session_tainted: case.tainted,
            taint_level: case.taint_level,
            taint_source: String::new(),
            read_untrusted: case.tainted || case.read_untrusted,
            agent_tainted: case.agent_tainted,
            agent_taint_level: if case.agent_tainted { 100 } else { 0 },
            agent_taint_source: String::new(),
            outbound,
            budgets_used: case.budgets.clone(),
            now: case.now.unwrap_or(1_767_225_600),
            read,
        };
        let d = config.engine.decide(
            &Principal(case.agent.clone()),
            &tool,
            &case.args,
            "policy-test",
            &state,
        );
        let rule_ok = case.rule.as_deref().is_none_or(|r| r == d.rule());
        results.push(CaseResult {
            passed: d.outcome() == expected && rule_ok,
            expected: match &case.rule {
                Some(r) => format!("{expected} by `{r}`"),
                None => expected.to_string(),
            },
            name: case.name,
            got: d.outcome(),
            rule: d.rule().to_string(),
            reason: d.reason().to_string(),
        });
    }
    Ok(results)
}

/// The outbound findings a case names, as policy sees them.
fn outbound_state(names: &[String]) -> Result<OutboundState, String> {
    let mut o = OutboundState::default();
    for name in names {
        let flag = match name.as_str() {
            "external_link" => &mut o.external_link,
            "live_external_link" => {
                if !names.iter().any(|n| n == "external_link") {
                    return Err(
                        "`live_external_link` is an `external_link` written live: name both"
                            .to_owned(),
                    );
                }
                &mut o.live_external_link
            }
            "lookalike_link" => &mut o.lookalike_link,
            "homograph_link" => &mut o.homograph_link,
            "link_text_mismatch" => &mut o.link_text_mismatch,
            "image_link" => &mut o.image_link,
            "agent_instructions" => &mut o.agent_instructions,
            "secret" => &mut o.secret,
            "encoded_blob" => &mut o.encoded_blob,
            "external_address" => &mut o.external_address,
            "live_external_address" => {
                if !names.iter().any(|n| n == "external_address") {
                    return Err(
                        "`live_external_address` is an `external_address` written live: name both"
                            .to_owned(),
                    );
                }
                &mut o.live_external_address
            }
            "concealed" => &mut o.concealed,
            "unread" => &mut o.unread,
            "payment_details" => &mut o.payment_details,
            other => return Err(format!("`{other}` is not an outbound finding")),
        };
        *flag = true;
        o.flagged = true;
    }
    Ok(o)
}
