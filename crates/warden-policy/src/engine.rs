//! Cedar evaluation for a three-way decision.
//!
//! Cedar answers Allow or Deny. warden needs three answers, so a `permit` carrying
//! `@approval("required")` (or `"two-person"`) turns an Allow into Hold. The rules:
//! - any error in Cedar's diagnostics ⇒ Deny (Cedar skips a policy that fails to evaluate, so a
//!   `forbid` that errors would otherwise vanish silently);
//! - a satisfied `forbid` ⇒ Deny, naming it;
//! - satisfied permits, one of which needs approval ⇒ Hold (the strictest permit wins);
//! - satisfied permits, none needing approval ⇒ Allow, naming the first by id;
//! - nothing satisfied ⇒ Deny by the built-in `default-deny` rule;
//! - an Allow that a *hold rule* matches ⇒ Hold. A hold rule is a `forbid` annotated with
//!   `@approval(...)`: "forbid, unless a human approves". It never denies and never permits on
//!   its own, so it can only make a decision stricter ("a tainted session needs approval for any
//!   write"). Hold rules are kept in a second policy set and evaluated only for Allows.
//!
//! The schema is generated from the tool catalog: one Cedar action per tool, whose context holds
//! that tool's declared arguments with their types, the session's state, the budgets and the
//! time. State is computed by warden and passed in, so the policies stay analysable.

use crate::argtypes::IdIndex;
use crate::config::{ArgSpec, Budget, ConfigError, ToolSpec, line_of};
use crate::slice::{BudgetReads, Slice, slice};
use cedar_policy::{
    Authorizer, Context, Decision as CedarDecision, Entities, EntityId, EntityTypeName, EntityUid,
    PolicyId, PolicySet, Request, RestrictedExpression, Schema, SchemaFragment, ValidationMode,
    Validator,
};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use warden_core::{Outcome, Principal, ToolName};

/// The Cedar type of a declared tool argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgType {
    String,
    /// Free text a write sends on (a mail body, a comment): a Cedar `String` that the outbound
    /// screen reads before policy decides (`context.outbound`).
    Text,
    Long,
    Bool,
    StringSet,
    /// A reference to an entity of this type in the team's entities, e.g. `Host`. The id is
    /// matched after case-folding and NFKC; one confusable with a different known id is refused.
    Entity(String),
    /// Exactly one mail address (`argtypes::Email`): Cedar sees `{address, local, mailbox,
    /// domain}`, `mailbox` being the local part without a `+tag` (where the mail is delivered).
    Email,
    /// A list of mail addresses, each one as `Email`: Cedar sees `{addresses, domains, count}`
    /// (sets of the normalised addresses and of their domains), so a policy can ask whether
    /// every recipient is internal: `["northwind.example"].containsAll(context.args.cc.domains)`.
    EmailSet,
    /// An absolute http(s) URL (`argtypes::Url`): Cedar sees `{url, scheme, host, domain, path}`.
    Url,
    /// A DNS host name, lower-cased ASCII (`argtypes::Hostname`).
    Hostname,
    /// An IP address: a Cedar `ipaddr`.
    Ip,
    /// A path under this root, lexically normalised (`argtypes::SafePath`).
    Path(String),
    /// One of these values, spelt exactly so.
    Enum(Vec<String>),
}

impl ArgType {
    /// Parses `string`, `long`, `bool`, `set<string>` or an entity type name; a trailing `?`
    /// makes the argument optional. Returns the type and whether the argument is required.
    pub fn parse(text: &str) -> Result<(ArgType, bool), String> {
        let text = text.trim();
        let (base, required) = match text.strip_suffix('?') {
            Some(base) => (base.trim(), false),
            None => (text, true),
        };
        let ty = match base {
            "string" => ArgType::String,
            "text" => ArgType::Text,
            "long" => ArgType::Long,
            "bool" => ArgType::Bool,
            "set<string>" => ArgType::StringSet,
            "email" => ArgType::Email,
            "set<email>" => ArgType::EmailSet,
            "url" => ArgType::Url,
            "hostname" => ArgType::Hostname,
            "ip" => ArgType::Ip,
            path if path.starts_with("path:") => {
                let root = path.trim_start_matches("path:").trim();
                if !root.starts_with('/') {
                    return Err(format!(
                        "`{path}`: a path type names its absolute root, e.g. `path:/srv/reports`"
                    ));
                }
                ArgType::Path(root.to_string())
            }
            values if values.starts_with("enum:") => {
                let allowed: Vec<String> = values
                    .trim_start_matches("enum:")
                    .split('|')
                    .map(|v| v.trim().to_string())
                    .collect();
                if allowed.iter().any(String::is_empty) {
                    return Err(format!(
                        "`{values}`: an enum lists its values, e.g. `enum:open|closed`"
                    ));
                }
                ArgType::Enum(allowed)
            }
            name if name.starts_with(|c: char| c.is_ascii_uppercase())
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') =>
            {
                ArgType::Entity(name.to_string())
            }
            other => {
                return Err(format!(
                    "unknown type `{other}`: expected string, text, long, bool, set<string>, email, set<email>, url, hostname, ip, path:<root>, enum:<a|b|…> or an entity type such as Host"
                ));
            }
        };
        Ok((ty, required))
    }

    fn cedar(&self) -> String {
        match self {
            ArgType::String | ArgType::Text => "String".into(),
            ArgType::Long => "Long".into(),
            ArgType::Bool => "Bool".into(),
            ArgType::StringSet => "Set<String>".into(),
            ArgType::Entity(name) => name.clone(),
            ArgType::Email => "Email".into(),
            ArgType::EmailSet => "Emails".into(),
            ArgType::Url => "Url".into(),
            ArgType::Hostname | ArgType::Path(_) | ArgType::Enum(_) => "String".into(),
            ArgType::Ip => "ipaddr".into(),
        }
    }

    /// The argument in its one canonical form, which is what policy sees and what is
    /// forwarded: a parsed and normalised value, or why it is refused.
    pub fn normalise(
        &self,
        value: &Value,
        ids: &BTreeMap<String, IdIndex>,
    ) -> Result<Value, String> {
        use crate::argtypes::{Email, Hostname, SafePath, Url, check_enum, parse_ip};
        let text = || {
            value
                .as_str()
                .ok_or_else(|| format!("must be {}", self.describe()))
        };
        let e = |e: crate::argtypes::ArgError| e.to_string();
        Ok(match self {
            ArgType::Email => Value::String(Email::parse(text()?).map_err(e)?.to_string()),
            ArgType::EmailSet => {
                let items = value
                    .as_array()
                    .ok_or_else(|| format!("must be {}", self.describe()))?;
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    let one = item
                        .as_str()
                        .ok_or_else(|| format!("must be {}", self.describe()))?;
                    out.push(Value::String(Email::parse(one).map_err(e)?.to_string()));
                }
                Value::Array(out)
            }
            ArgType::Url => Value::String(Url::parse(text()?).map_err(e)?.to_string()),
            ArgType::Hostname => Value::String(Hostname::parse(text()?).map_err(e)?.to_string()),
            ArgType::Ip => Value::String(parse_ip(text()?).map_err(e)?.to_string()),
            ArgType::Path(root) => {
                Value::String(SafePath::parse(text()?, root).map_err(e)?.to_string())
            }
            ArgType::Enum(allowed) => Value::String(check_enum(text()?, allowed).map_err(e)?),
            ArgType::Entity(ty) => {
                let given = text()?;
                match ids.get(ty).map(|index| index.resolve(given)) {
                    Some(Ok(known)) => Value::String(known),
                    // Unknown ids stay as given: any attribute access on them fails, which denies.
                    Some(Err(crate::argtypes::ArgError::UnknownEntity { .. })) | None => {
                        Value::String(given.to_string())
                    }
                    Some(Err(why)) => return Err(format!("names a {ty}: {why}")),
                }
            }
            ArgType::String
            | ArgType::Text
            | ArgType::Long
            | ArgType::Bool
            | ArgType::StringSet => value.clone(),
        })
    }

    /// The Cedar value of an agent-supplied argument, or why it does not fit. Built directly
    /// (not through Cedar's JSON parser, which dominated the cost of a decision); the request
    /// is still validated against the schema.
    fn to_cedar(
        &self,
        value: &Value,
        types: &BTreeMap<String, EntityTypeName>,
    ) -> Result<RestrictedExpression, String> {
        match (self, value) {
            (ArgType::String | ArgType::Text, Value::String(s)) => {
                Ok(RestrictedExpression::new_string(s.clone()))
            }
            (ArgType::Bool, Value::Bool(b)) => Ok(RestrictedExpression::new_bool(*b)),
            (ArgType::Long, Value::Number(n)) if n.is_i64() => Ok(RestrictedExpression::new_long(
                n.as_i64().unwrap_or_default(),
            )),
            (ArgType::StringSet, Value::Array(items)) if items.iter().all(Value::is_string) => Ok(
                RestrictedExpression::new_set(items.iter().filter_map(|v| {
                    v.as_str()
                        .map(|s| RestrictedExpression::new_string(s.to_string()))
                })),
            ),
            (ArgType::Entity(ty), Value::String(id)) => match types.get(ty) {
                Some(t) => Ok(RestrictedExpression::new_entity_uid(
                    EntityUid::from_type_name_and_id(t.clone(), EntityId::new(id)),
                )),
                None => Err(format!("has entity type `{ty}`, which the schema lacks")),
            },
            (ArgType::Email, Value::String(s)) => email_record(s),
            (ArgType::EmailSet, Value::Array(items)) => {
                let mut addresses = Vec::with_capacity(items.len());
                let mut domains = Vec::with_capacity(items.len());
                for item in items {
                    let one = item
                        .as_str()
                        .ok_or_else(|| format!("must be {}", self.describe()))?;
                    let m = crate::argtypes::Email::parse(one).map_err(|e| e.to_string())?;
                    addresses.push(RestrictedExpression::new_string(m.address().to_string()));
                    domains.push(RestrictedExpression::new_string(m.domain().to_string()));
                }
                let count = i64::try_from(items.len()).unwrap_or(i64::MAX);
                RestrictedExpression::new_record(vec![
                    (
                        "addresses".to_string(),
                        RestrictedExpression::new_set(addresses),
                    ),
                    (
                        "domains".to_string(),
                        RestrictedExpression::new_set(domains),
                    ),
                    ("count".to_string(), RestrictedExpression::new_long(count)),
                ])
                .map_err(|e| e.to_string())
            }
            (ArgType::Url, Value::String(s)) => {
                let u = crate::argtypes::Url::parse(s).map_err(|e| e.to_string())?;
                let field = |k: &str, v: &str| {
                    (
                        k.to_string(),
                        RestrictedExpression::new_string(v.to_string()),
                    )
                };
                RestrictedExpression::new_record(vec![
                    field("url", u.as_str()),
                    field("scheme", u.scheme()),
                    field("host", u.host()),
                    field("domain", u.domain()),
                    field("path", u.path()),
                ])
                .map_err(|e| e.to_string())
            }
            (ArgType::Hostname | ArgType::Path(_) | ArgType::Enum(_), Value::String(_)) => {
                match self.normalise(value, &BTreeMap::new())? {
                    Value::String(s) => Ok(RestrictedExpression::new_string(s)),
                    _ => Err(format!("must be {}", self.describe())),
                }
            }
            (ArgType::Ip, Value::String(s)) => {
                let ip = crate::argtypes::parse_ip(s).map_err(|e| e.to_string())?;
                Ok(RestrictedExpression::new_ip(ip.to_string()))
            }
            (ty, _) => Err(format!("must be {}", ty.describe())),
        }
    }

    fn describe(&self) -> String {
        match self {
            ArgType::String | ArgType::Text => "a string".into(),
            ArgType::Long => "an integer".into(),
            ArgType::Bool => "a boolean".into(),
            ArgType::StringSet => "a list of strings".into(),
            ArgType::Entity(ty) => format!("the id of a {ty} (a string)"),
            ArgType::Email => "one mail address (a string)".into(),
            ArgType::EmailSet => "a list of mail addresses".into(),
            ArgType::Url => "an http(s) URL (a string)".into(),
            ArgType::Hostname => "a host name (a string)".into(),
            ArgType::Ip => "an IP address (a string)".into(),
            ArgType::Path(root) => format!("a path under `{root}` (a string)"),
            ArgType::Enum(allowed) => format!("one of {}", allowed.join(", ")),
        }
    }
}

/// An address as the Cedar record `{address, local, domain}`.
fn email_record(text: &str) -> Result<RestrictedExpression, String> {
    let m = crate::argtypes::Email::parse(text).map_err(|e| e.to_string())?;
    let field = |k: &str, v: &str| {
        (
            k.to_string(),
            RestrictedExpression::new_string(v.to_string()),
        )
    };
    // The mailbox a `+tag` local part delivers to: `all-staff+q3` is `all-staff`'s.
    let mailbox = m.local().split('+').next().unwrap_or_default();
    RestrictedExpression::new_record(vec![
        field("address", m.address()),
        field("local", m.local()),
        field("mailbox", mailbox),
        field("domain", m.domain()),
    ])
    .map_err(|e| e.to_string())
}

/// What warden knows about the call's situation, handed to Cedar as context.
#[derive(Debug, Clone, Default)]
pub struct CallState {
    pub session_tainted: bool,
    /// 0 (clean) to 100: the highest screen score (×100) of anything the session has read.
    pub taint_level: i64,
    /// The tool whose output set the taint level, e.g. `mail.read_message`; empty when clean.
    pub taint_source: String,
    /// Whether the session has read any tool output at all (all of it is untrusted data).
    pub read_untrusted: bool,
    /// The agent's taint across all its sessions (and replicas), within the taint window.
    pub agent_tainted: bool,
    /// 0 (clean) to 100, as `taint_level` but for the agent.
    pub agent_taint_level: i64,
    /// The tool whose output tainted the agent; empty when clean.
    pub agent_taint_source: String,
    /// What the outbound screen found in the call's free-text (`text`) arguments.
    pub outbound: OutboundState,
    /// Budget id → calls already counted in its window (the gateway fills in only the budgets
    /// that a rule which can match the tool reads; see `Engine::reads_budget`).
    pub budgets_used: BTreeMap<String, u32>,
    /// Seconds since the Unix epoch.
    pub now: i64,
}

/// The outbound screen's findings on a write's free text, as policy sees them
/// (`context.outbound`). All false for a call with no `text` argument.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboundState {
    /// Any finding at all.
    pub flagged: bool,
    /// A link to a host outside the internal domains.
    pub external_link: bool,
    /// A link to a host that imitates an internal domain.
    pub lookalike_link: bool,
    /// A link to an internationalised or mixed-script host.
    pub homograph_link: bool,
    /// Link text that names another place than the link's target.
    pub link_text_mismatch: bool,
    /// An image that loads from an outside host when the text is rendered.
    pub image_link: bool,
    /// Text addressed to AI agents or automation, or a forged notice telling readers what to do.
    pub agent_instructions: bool,
    /// Credentials or secrets.
    pub secret: bool,
    /// A long encoded blob.
    pub encoded_blob: bool,
    /// The registered domains the links point to.
    pub domains: Vec<String>,
    /// Characters of free text the call would send, all `text` arguments together: a plain
    /// note is short; a long one may carry what the agent read.
    pub length: i64,
}

/// Why the floor holds a tool's calls for a human whatever the policy permits. The strictest
/// label of a tool names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FloorLabel {
    /// `reversible = false`.
    Irreversible,
    /// `stakes = "high"`.
    HighStakes,
    /// `stakes = "critical"`: two people.
    Critical,
}

impl FloorLabel {
    pub fn as_str(self) -> &'static str {
        match self {
            FloorLabel::Irreversible => "irreversible",
            FloorLabel::HighStakes => "high-stakes",
            FloorLabel::Critical => "critical",
        }
    }
    /// The rule id of a decision the floor holds: `floor:<label>`.
    pub fn rule(self) -> String {
        format!("floor:{}", self.as_str())
    }
    pub fn approval(self) -> Approval {
        match self {
            FloorLabel::Critical => Approval::TwoPerson,
            _ => Approval::Required,
        }
    }
}

/// The floor's label for a tool: a write that is high or critical stakes or irreversible.
pub fn floor_label(labels: &warden_core::ToolLabels) -> Option<FloorLabel> {
    if labels.effect != warden_core::Effect::Write {
        return None;
    }
    match labels.stakes {
        warden_core::Stakes::Critical => Some(FloorLabel::Critical),
        warden_core::Stakes::High => Some(FloorLabel::HighStakes),
        warden_core::Stakes::Low if !labels.reversible => Some(FloorLabel::Irreversible),
        warden_core::Stakes::Low => None,
    }
}

/// How many distinct humans must approve a held call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Approval {
    Required,
    TwoPerson,
}

/// A decision and the rule that made it. Only this crate can make one, so a value of this type
/// always comes from policy evaluation (or a built-in denial).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    outcome: Outcome,
    rule: String,
    owner: String,
    category: String,
    reason: String,
    approval: Option<Approval>,
    policy_version: String,
    /// The permit that let the call through (for a hold, the permit beneath the hold rule).
    permitted_by: Option<String>,
}

impl Decision {
    /// A denial by one of warden's built-in checks (budget, argument check, halt, …), which
    /// never needs Cedar to say no.
    pub fn builtin_deny(
        rule: impl Into<String>,
        owner: impl Into<String>,
        category: impl Into<String>,
        reason: impl Into<String>,
        policy_version: impl Into<String>,
    ) -> Self {
        Self {
            outcome: Outcome::Deny,
            rule: rule.into(),
            owner: owner.into(),
            category: category.into(),
            reason: reason.into(),
            approval: None,
            policy_version: policy_version.into(),
            permitted_by: None,
        }
    }
    /// This decision made stricter by one of warden's own rules: an Allow becomes a Hold that
    /// needs one approver (a category whose review fell behind). Anything else is returned as
    /// it was, so this can never loosen a decision.
    pub fn require_approval(
        self,
        rule: impl Into<String>,
        owner: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        if self.outcome != Outcome::Allow {
            return self;
        }
        Self {
            outcome: Outcome::Hold,
            rule: rule.into(),
            owner: owner.into(),
            reason: reason.into(),
            approval: Some(Approval::Required),
            ..self
        }
    }

    pub fn outcome(&self) -> Outcome {
        self.outcome
    }
    pub fn rule(&self) -> &str {
        &self.rule
    }
    pub fn owner(&self) -> &str {
        &self.owner
    }
    pub fn category(&self) -> &str {
        &self.category
    }
    pub fn reason(&self) -> &str {
        &self.reason
    }
    pub fn approval(&self) -> Option<Approval> {
        self.approval
    }
    pub fn policy_version(&self) -> &str {
        &self.policy_version
    }
    /// The permit rule that allowed the call, when one did (also when a hold rule then held it).
    pub fn permitted_by(&self) -> Option<&str> {
        self.permitted_by.as_deref()
    }
}

#[derive(Debug, Clone)]
struct RuleMeta {
    owner: Option<String>,
    category: Option<String>,
    approval: Option<Approval>,
    /// `@justification("…")`: why the permission exists (grants always carry one).
    justification: Option<String>,
    /// Whether the rule is a `permit` (a permission) rather than a `forbid`.
    permit: bool,
}

struct Compiled {
    schema: Schema,
    policies: PolicySet,
    hold_rules: PolicySet,
    /// Autonomy grants: evaluated only for an Allow the floor would hold; a satisfied one lets
    /// the call run unattended, naming it.
    autonomy: PolicySet,
    /// Tools the floor holds, with why.
    floors: BTreeMap<ToolName, FloorLabel>,
    /// The hash of the schema and the policy files, before the entities: an inventory swapped
    /// in (`Engine::with_entities`) is hashed onto it, so the version is the one `build` gives.
    policy_hasher: Sha256,
    /// warden's own entities (one per agent and per tool), added to every inventory.
    builtin_entities: Vec<Value>,
    rules: BTreeMap<String, RuleMeta>,
    owners: BTreeMap<String, String>,
    categories: BTreeMap<ToolName, String>,
    /// Tools with an owner of their own.
    tool_owners: BTreeMap<ToolName, String>,
    args: BTreeMap<ToolName, BTreeMap<String, ArgSpec>>,
    budget_ids: Vec<(String, u32)>,
    schema_text: String,
    agent_type: cedar_policy::EntityTypeName,
    /// Entity types that tool arguments refer to, parsed once.
    entity_types: BTreeMap<String, EntityTypeName>,
    /// Per tool: its action and its resource.
    uids: BTreeMap<ToolName, (EntityUid, EntityUid)>,
    /// Per tool: the policies and the hold rules that can match it (see `slice`).
    slices: BTreeMap<ToolName, (Slice, Slice)>,
    /// Per tool: the budgets its rules read.
    budget_reads: BTreeMap<ToolName, BudgetReads>,
}

/// The team's entities an engine decides with: the part of an engine that a live inventory
/// replaces (`Engine::with_entities`) while the compiled policies stay shared.
struct Facts {
    entities: Entities,
    /// Per entity type, the known ids: an argument's id is resolved against them.
    ids: BTreeMap<String, IdIndex>,
    /// The hash of everything that decides: schema, policy files, entities.
    version: String,
    /// How many entities the team's inventory holds (warden's own agents and tools aside).
    size: usize,
    /// `sha256:<hex>` of the inventory's bytes, when there is one.
    digest: Option<String>,
}

/// Compiled, validated policies, ready to decide. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Compiled>,
    facts: Arc<Facts>,
    authorizer: Arc<Authorizer>,
    /// Whether decisions evaluate per-tool slices (always, except in [`Engine::unsliced`]).
    sliced: bool,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("version", &self.facts.version)
            .field("rules", &self.inner.rules.len())
            .finish()
    }
}

pub struct EngineSources<'a> {
    pub policy_files: Vec<(PathBuf, String)>,
    /// The autonomy grants, compiled to permits (`Grant::cedar`).
    pub autonomy_files: Vec<(PathBuf, String)>,
    pub user_schema: Option<(PathBuf, String)>,
    pub entities: Option<(PathBuf, String)>,
    pub tools: &'a BTreeMap<ToolName, ToolSpec>,
    pub budgets: &'a [Budget],
    pub agents: Vec<Principal>,
    pub owners: &'a BTreeMap<String, String>,
}

fn cedar_str(s: &str) -> String {
    // Cedar string literals escape like JSON ones.
    Value::String(s.to_string()).to_string()
}

/// The generated part of the schema: agents, tools, one action per tool.
fn generated_schema(tools: &BTreeMap<ToolName, ToolSpec>, budgets: &[Budget]) -> String {
    let mut s = String::from(
        "entity Agent;\n\
         entity Tool = { server: String, effect: String, reversible: Bool, stakes: String, category: String };\n\
         type Session = { id: String, tainted: Bool, taint_level: Long, taint_source: String, read_untrusted: Bool };\n\
         type AgentState = { id: String, tainted: Bool, taint_level: Long, taint_source: String };\n\
         type Outbound = { flagged: Bool, external_link: Bool, lookalike_link: Bool, homograph_link: Bool, link_text_mismatch: Bool, image_link: Bool, agent_instructions: Bool, secret: Bool, encoded_blob: Bool, domains: Set<String>, length: Long };\n\
         type Budget = { used: Long, limit: Long };\n\
         type Email = { address: String, local: String, mailbox: String, domain: String };\n\
         type Emails = { addresses: Set<String>, domains: Set<String>, count: Long };\n\
         type Url = { url: String, scheme: String, host: String, domain: String, path: String };\n",
    );
    s.push_str("type Budgets = {");
    for (i, b) in budgets.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!(" {}: Budget", b.id));
    }
    s.push_str(" };\n");
    let mut groups = std::collections::BTreeSet::new();
    for t in tools.values() {
        groups.insert(format!("effect:{}", t.labels.effect.as_str()));
        groups.insert(format!("category:{}", t.labels.category));
        groups.insert(format!("server:{}", t.name.server));
        groups.insert(format!("stakes:{}", t.labels.stakes.as_str()));
    }
    for g in &groups {
        s.push_str(&format!("action {};\n", cedar_str(g)));
    }
    for t in tools.values() {
        let args: Vec<String> = t
            .args
            .iter()
            .map(|(name, spec)| {
                format!(
                    "{}{}: {}",
                    cedar_str(name),
                    if spec.required { "" } else { "?" },
                    spec.ty.cedar()
                )
            })
            .collect();
        s.push_str(&format!(
            "action {} in [{}, {}, {}, {}] appliesTo {{ principal: [Agent], resource: [Tool], context: {{ args: {{ {} }}, session: Session, agent: AgentState, outbound: Outbound, budgets: Budgets, now: Long }} }};\n",
            cedar_str(&t.name.to_string()),
            cedar_str(&format!("effect:{}", t.labels.effect.as_str())),
            cedar_str(&format!("category:{}", t.labels.category)),
            cedar_str(&format!("server:{}", t.name.server)),
            cedar_str(&format!("stakes:{}", t.labels.stakes.as_str())),
            args.join(", ")
        ));
    }
    s
}

/// warden's own entities: one per agent and one per tool (with its labels).
fn builtin_entities(agents: &[Principal], tools: &BTreeMap<ToolName, ToolSpec>) -> Vec<Value> {
    let mut agents = agents.to_vec();
    agents.sort();
    agents.dedup();
    let mut all = Vec::with_capacity(agents.len() + tools.len());
    for a in &agents {
        all.push(json!({"uid": {"type": "Agent", "id": a.0}, "attrs": {}, "parents": []}));
    }
    for t in tools.values() {
        all.push(json!({
            "uid": {"type": "Tool", "id": t.name.to_string()},
            "attrs": {
                "server": t.name.server,
                "effect": t.labels.effect.as_str(),
                "reversible": t.labels.reversible,
                "stakes": t.labels.stakes.as_str(),
                "category": t.labels.category,
            },
            "parents": []
        }));
    }
    all
}

/// The team's entities (`team`: where they come from and their JSON text) with warden's own,
/// checked against the schema; the version is `policy_hasher` with the entities' text hashed on.
fn load_facts(
    schema: &Schema,
    policy_hasher: &Sha256,
    team: Option<(String, &str)>,
    builtin: &[Value],
) -> Result<Facts, Vec<ConfigError>> {
    let mut all = Vec::new();
    let mut hasher = policy_hasher.clone();
    let mut size = 0;
    let mut digest = None;
    if let Some((origin, text)) = &team {
        hasher.update(text.as_bytes());
        digest = Some(format!(
            "sha256:{}",
            hex::encode(Sha256::digest(text.as_bytes()))
        ));
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Array(items)) => {
                size = items.len();
                all.extend(items);
            }
            Ok(_) => {
                return Err(vec![ConfigError {
                    location: origin.clone(),
                    message: "entities must be a JSON array of Cedar entities".into(),
                }]);
            }
            Err(e) => {
                return Err(vec![ConfigError {
                    location: format!("{origin}:{}", e.line()),
                    message: e.to_string(),
                }]);
            }
        }
    }
    all.extend(builtin.iter().cloned());
    let mut known_ids: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in &all {
        if let (Some(ty), Some(id)) = (
            e.pointer("/uid/type").and_then(Value::as_str),
            e.pointer("/uid/id").and_then(Value::as_str),
        ) {
            known_ids
                .entry(ty.to_string())
                .or_default()
                .push(id.to_string());
        }
    }
    let entities = Entities::from_json_value(Value::Array(all), Some(schema)).map_err(|e| {
        vec![ConfigError {
            location: team.map_or_else(|| "entities".into(), |(origin, _)| origin),
            message: diag_message(&e, &e),
        }]
    })?;
    Ok(Facts {
        entities,
        ids: known_ids
            .into_iter()
            .map(|(ty, ids)| (ty, IdIndex::new(ids)))
            .collect(),
        version: format!("sha256:{}", hex::encode(hasher.finalize())),
        size,
        digest,
    })
}

fn diag_location(path: &std::path::Path, text: &str, diag: &dyn miette::Diagnostic) -> String {
    let offset = diag
        .labels()
        .and_then(|mut labels| labels.next())
        .map(|l| l.offset());
    match offset {
        Some(o) => format!("{}:{}", path.display(), line_of(text, o)),
        None => path.display().to_string(),
    }
}

fn diag_message(diag: &dyn miette::Diagnostic, err: &dyn std::error::Error) -> String {
    let mut message = err.to_string();
    if let Some(help) = diag.help() {
        message.push_str(&format!(" (help: {help})"));
    }
    message
}

impl Engine {
    pub(crate) fn build(src: EngineSources<'_>) -> Result<Engine, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let schema_text = generated_schema(src.tools, src.budgets);
        let mut fragments = Vec::new();
        match SchemaFragment::from_cedarschema_str(&schema_text) {
            Ok((f, _)) => fragments.push(f),
            Err(e) => errors.push(ConfigError {
                location: "generated schema".into(),
                message: format!("{e}: check tool argument names and budget ids"),
            }),
        }
        if let Some((path, text)) = &src.user_schema {
            match SchemaFragment::from_cedarschema_str(text) {
                Ok((f, _)) => fragments.push(f),
                Err(e) => errors.push(ConfigError {
                    location: diag_location(path, text, &e),
                    message: diag_message(&e, &e),
                }),
            }
        }
        let schema = match Schema::from_schema_fragments(fragments) {
            Ok(s) => Some(s),
            Err(e) => {
                errors.push(ConfigError {
                    location: src
                        .user_schema
                        .as_ref()
                        .map_or("schema".into(), |(p, _)| p.display().to_string()),
                    message: format!(
                        "{}: every entity type used as an argument type must be declared in the schema",
                        diag_message(&e, &e)
                    ),
                });
                None
            }
        };

        // Policies: each file parsed on its own so errors point into the right file; each policy
        // renamed to its `@id` so decisions name rules people wrote.
        let mut policies = PolicySet::new();
        let mut hold_rules = PolicySet::new();
        let mut autonomy = PolicySet::new();
        let mut rules = BTreeMap::new();
        let mut hasher = Sha256::new();
        hasher.update(schema_text.as_bytes());
        let mut origin: BTreeMap<String, String> = BTreeMap::new();
        let files = src
            .policy_files
            .iter()
            .map(|f| (f, false))
            .chain(src.autonomy_files.iter().map(|f| (f, true)));
        for ((path, text), is_autonomy) in files {
            hasher.update(
                path.file_name()
                    .map(|n| n.as_encoded_bytes())
                    .unwrap_or_default(),
            );
            hasher.update(text.as_bytes());
            let set = match PolicySet::from_str(text) {
                Ok(set) => set,
                Err(e) => {
                    for err in e.iter() {
                        errors.push(ConfigError {
                            location: diag_location(path, text, err),
                            message: diag_message(err, err),
                        });
                    }
                    continue;
                }
            };
            for p in set.policies() {
                let id = p.annotation("id").map(str::to_string);
                // Cedar keeps no source offsets on parsed policies: find the rule by its `@id`.
                let line = id
                    .as_deref()
                    .and_then(|id| text.find(&format!("@id({})", cedar_str(id))))
                    .map_or(1, |o| line_of(text, o));
                let here = format!("{}:{line}", path.display());
                let Some(id) = id else {
                    errors.push(ConfigError {
                        location: here,
                        message: "policy has no `@id(\"…\")` annotation: every rule needs a name"
                            .into(),
                    });
                    continue;
                };
                if let Some(first) = origin.insert(id.clone(), here.clone()) {
                    errors.push(ConfigError {
                        location: here,
                        message: format!("policy id `{id}` is already used at {first}"),
                    });
                    continue;
                }
                let approval = match p.annotation("approval") {
                    None => None,
                    Some("required") => Some(Approval::Required),
                    Some("two-person") => Some(Approval::TwoPerson),
                    Some(other) => {
                        errors.push(ConfigError {
                            location: here.clone(),
                            message: format!(
                                "policy `{id}`: `@approval(\"{other}\")` must be \"required\" or \"two-person\""
                            ),
                        });
                        None
                    }
                };
                let is_hold_rule = approval.is_some() && p.effect() == cedar_policy::Effect::Forbid;
                let category = p.annotation("category").map(str::to_string);
                if let Some(c) = &category
                    && !src.owners.contains_key(c)
                {
                    errors.push(ConfigError {
                        location: here.clone(),
                        message: format!("policy `{id}`: category `{c}` has no owner in [owners]"),
                    });
                }
                rules.insert(
                    id.clone(),
                    RuleMeta {
                        owner: p.annotation("owner").map(str::to_string),
                        category,
                        approval,
                        justification: p.annotation("justification").map(str::to_string),
                        permit: p.effect() == cedar_policy::Effect::Permit,
                    },
                );
                let target = if is_autonomy {
                    &mut autonomy
                } else if is_hold_rule {
                    &mut hold_rules
                } else {
                    &mut policies
                };
                if let Err(e) = target.add(p.new_id(PolicyId::new(&id))) {
                    errors.push(ConfigError {
                        location: here,
                        message: e.to_string(),
                    });
                }
            }
        }

        let builtin_entities = builtin_entities(&src.agents, src.tools);
        // The version hashes the entities last, so a live inventory can be hashed onto this.
        let policy_hasher = hasher.clone();
        let mut facts = None;
        if let Some(schema) = &schema {
            let validator = Validator::new(schema.clone());
            let result = validator.validate(&policies, ValidationMode::Strict);
            let holds = validator.validate(&hold_rules, ValidationMode::Strict);
            let lifts = validator.validate(&autonomy, ValidationMode::Strict);
            for e in result
                .validation_errors()
                .chain(holds.validation_errors())
                .chain(lifts.validation_errors())
            {
                let id = e.policy_id().to_string();
                errors.push(ConfigError {
                    location: origin
                        .get(&id)
                        .cloned()
                        .unwrap_or_else(|| "policies".into()),
                    message: format!("policy `{id}`: {e}"),
                });
            }

            // Entities: the team's own, plus one per agent and per tool.
            let team = src
                .entities
                .as_ref()
                .map(|(path, text)| (path.display().to_string(), text.as_str()));
            match load_facts(schema, &policy_hasher, team, &builtin_entities) {
                Ok(f) => facts = Some(f),
                Err(e) => errors.extend(e),
            }
        }

        if !src.owners.contains_key("default") {
            errors.push(ConfigError {
                location: "owners".into(),
                message: "no `default` owner: the built-in default-deny rule needs one".into(),
            });
        }

        let (Some(schema), Some(facts)) = (schema, facts) else {
            return Err(errors);
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let type_name = |name: &str| {
            cedar_policy::EntityTypeName::from_str(name).map_err(|e| {
                vec![ConfigError {
                    location: "generated schema".into(),
                    message: e.to_string(),
                }]
            })
        };
        let agent_type = type_name("Agent")?;
        let mut entity_types = BTreeMap::new();
        for spec in src.tools.values().flat_map(|t| t.args.values()) {
            if let ArgType::Entity(ty) = &spec.ty
                && !entity_types.contains_key(ty)
            {
                entity_types.insert(ty.clone(), type_name(ty)?);
            }
        }
        let action_type = type_name("Action")?;
        let tool_type = type_name("Tool")?;
        let uids = src
            .tools
            .keys()
            .map(|t| {
                let id = || cedar_policy::EntityId::new(t.to_string());
                (
                    t.clone(),
                    (
                        EntityUid::from_type_name_and_id(action_type.clone(), id()),
                        EntityUid::from_type_name_and_id(tool_type.clone(), id()),
                    ),
                )
            })
            .collect::<BTreeMap<_, _>>();
        let actions = schema.action_entities().map_err(|e| {
            vec![ConfigError {
                location: "generated schema".into(),
                message: e.to_string(),
            }]
        })?;
        let mut slices = BTreeMap::new();
        let mut budget_reads = BTreeMap::new();
        for (tool, (action, _)) in &uids {
            let declared = src.tools.get(tool).map(|t| &t.args);
            let empty = BTreeMap::new();
            let declared = declared.unwrap_or(&empty);
            let both = slice(&policies, action, declared, &actions)
                .and_then(|p| Ok((p, slice(&hold_rules, action, declared, &actions)?)));
            match both {
                Ok(both) => {
                    let mut reads = BudgetReads::default();
                    // Autonomy grants are evaluated whole (there are few): whatever budget one
                    // reads must be looked up for each tool it names, or its condition sees 0.
                    both.0
                        .policies()
                        .chain(both.1.policies())
                        .chain(autonomy.policies().filter(|p| {
                            match p.action_constraint() {
                                cedar_policy::ActionConstraint::Any => true,
                                cedar_policy::ActionConstraint::Eq(a) => &a == action,
                                // A group (not a tool's own action) may hold this tool.
                                cedar_policy::ActionConstraint::In(list) => list
                                    .iter()
                                    .any(|a| a == action || !uids.values().any(|(t, _)| t == a)),
                            }
                        }))
                        .for_each(|p| reads.add(p));
                    budget_reads.insert(tool.clone(), reads);
                    slices.insert(tool.clone(), both);
                }
                Err(message) => {
                    return Err(vec![ConfigError {
                        location: format!("policies for `{tool}`"),
                        message,
                    }]);
                }
            }
        }
        let engine = Engine {
            inner: Arc::new(Compiled {
                schema,
                policies,
                hold_rules,
                autonomy,
                floors: src
                    .tools
                    .iter()
                    .filter_map(|(k, t)| floor_label(&t.labels).map(|l| (k.clone(), l)))
                    .collect(),
                policy_hasher,
                builtin_entities,
                rules,
                owners: src.owners.clone(),
                categories: src
                    .tools
                    .iter()
                    .map(|(k, t)| (k.clone(), t.labels.category.clone()))
                    .collect(),
                tool_owners: src
                    .tools
                    .iter()
                    .filter_map(|(k, t)| t.owner.clone().map(|o| (k.clone(), o)))
                    .collect(),
                args: src
                    .tools
                    .iter()
                    .map(|(k, t)| (k.clone(), t.args.clone()))
                    .collect(),
                budget_ids: src
                    .budgets
                    .iter()
                    .map(|b| (b.id.clone(), b.limit))
                    .collect(),
                schema_text,
                agent_type,
                entity_types,
                uids,
                slices,
                budget_reads,
            }),
            facts: Arc::new(facts),
            authorizer: Arc::new(Authorizer::new()),
            sliced: true,
        };
        engine.probe().map_err(|message| {
            vec![ConfigError {
                location: "generated schema".into(),
                message: format!("a call's request would not fit the schema: {message}"),
            }]
        })?;
        Ok(engine)
    }

    /// The same policies deciding with another inventory: `text` (a JSON array of Cedar
    /// entities, checked against the schema) replaces the team's entities. The policies, the
    /// schema and the per-tool slices are shared, not rebuilt. The version is the one
    /// [`Engine::build`] gives for these entities: it hashes everything that decides, so an
    /// approval given under one inventory is not taken under another.
    pub fn with_entities(&self, origin: &str, text: &str) -> Result<Engine, Vec<ConfigError>> {
        let facts = load_facts(
            &self.inner.schema,
            &self.inner.policy_hasher,
            Some((origin.to_string(), text)),
            &self.inner.builtin_entities,
        )?;
        Ok(Engine {
            facts: Arc::new(facts),
            ..self.clone()
        })
    }

    /// How many of the team's entities this engine decides with (its agents and tools aside).
    pub fn inventory_size(&self) -> usize {
        self.facts.size
    }

    /// `sha256:<hex>` of the entities' JSON text this engine decides with; `None` without any.
    pub fn inventory_digest(&self) -> Option<&str> {
        self.facts.digest.as_deref()
    }

    /// The same engine evaluating the whole policy set on every call, as Cedar alone would:
    /// the reference that the per-tool slices are checked against.
    pub fn unsliced(&self) -> Engine {
        Engine {
            sliced: false,
            ..self.clone()
        }
    }

    /// Whether a rule that can match `tool` reads budget `id` (`context.budgets.<id>`). The
    /// gateway looks up only those counts; the others reach the context as 0, which no rule
    /// that could match the call reads.
    pub fn reads_budget(&self, tool: &ToolName, id: &str) -> bool {
        self.inner
            .budget_reads
            .get(tool)
            .is_none_or(|r| r.reads(id))
    }

    /// The hash of everything that decides: generated schema, policy files, entities.
    pub fn version(&self) -> &str {
        &self.facts.version
    }

    pub fn schema_text(&self) -> &str {
        &self.inner.schema_text
    }

    pub fn rule_count(&self) -> usize {
        self.inner.rules.len()
    }

    fn owner_for(&self, rule: Option<&str>, category: &str) -> String {
        rule.and_then(|r| self.inner.rules.get(r))
            .and_then(|m| m.owner.clone())
            .or_else(|| self.inner.owners.get(category).cloned())
            .or_else(|| self.inner.owners.get("default").cloned())
            .unwrap_or_default()
    }

    /// The rule ids, each with whether it is a permit and its justification.
    pub fn rules(&self) -> impl Iterator<Item = (&str, bool, Option<&str>)> {
        self.inner
            .rules
            .iter()
            .map(|(id, m)| (id.as_str(), m.permit, m.justification.as_deref()))
    }

    /// `@justification` of rule `id`, if it has one.
    pub fn justification(&self, id: &str) -> Option<&str> {
        self.inner.rules.get(id)?.justification.as_deref()
    }

    /// The team's entities, as (type, id) pairs.
    pub fn entity_ids(&self) -> Vec<(String, String)> {
        self.facts
            .entities
            .iter()
            .map(|e| {
                (
                    e.uid().type_name().to_string(),
                    e.uid().id().unescaped().to_string(),
                )
            })
            .collect()
    }

    /// Literal strings and integers the policies compare arguments with; `like` patterns give
    /// a string that matches them. Representative argument values for `policy diff`.
    pub fn literals(&self) -> (Vec<String>, Vec<i64>) {
        let mut strings = std::collections::BTreeSet::new();
        let mut longs = std::collections::BTreeSet::new();
        for set in [&self.inner.policies, &self.inner.hold_rules] {
            for p in set.policies() {
                if let Ok(est) = p.to_json() {
                    collect_literals(&est, &mut strings, &mut longs);
                }
            }
        }
        (strings.into_iter().collect(), longs.into_iter().collect())
    }

    /// The call's arguments in their canonical forms (addresses, URLs and host names
    /// normalised, entity ids resolved to the known id they name): what policy sees and what is
    /// forwarded. An argument that is refused is left as given; `decide` then denies the call
    /// with the reason.
    pub fn normalise_args(&self, tool: &ToolName, args: &Map<String, Value>) -> Map<String, Value> {
        let Some(declared) = self.inner.args.get(tool) else {
            return args.clone();
        };
        args.iter()
            .map(|(name, value)| {
                let v = declared
                    .get(name)
                    .and_then(|spec| spec.ty.normalise(value, &self.facts.ids).ok())
                    .unwrap_or_else(|| value.clone());
                (name.clone(), v)
            })
            .collect()
    }

    /// The declared arguments of `tool`.
    pub fn tool_args(&self, tool: &ToolName) -> Option<&BTreeMap<String, ArgSpec>> {
        self.inner.args.get(tool)
    }

    fn deny(&self, rule: &str, category: &str, reason: String) -> Decision {
        Decision {
            outcome: Outcome::Deny,
            rule: rule.into(),
            owner: self.owner_for(Some(rule), category),
            category: category.into(),
            reason,
            approval: None,
            policy_version: self.facts.version.clone(),
            permitted_by: None,
        }
    }

    /// Decides one call. Never fails: anything that goes wrong is a Deny naming why.
    pub fn decide(
        &self,
        principal: &Principal,
        tool: &ToolName,
        args: &Map<String, Value>,
        session: &str,
        state: &CallState,
    ) -> Decision {
        let mut d = self.evaluate(principal, tool, args, session, state);
        // A tool's own owner answers for its decisions unless the deciding rule names one.
        let rule_owner = self.inner.rules.get(&d.rule).and_then(|m| m.owner.as_ref());
        if rule_owner.is_none()
            && let Some(owner) = self.inner.tool_owners.get(tool)
        {
            d.owner = owner.clone();
        }
        d
    }

    fn evaluate(
        &self,
        principal: &Principal,
        tool: &ToolName,
        args: &Map<String, Value>,
        session: &str,
        state: &CallState,
    ) -> Decision {
        let inner = &self.inner;
        let Some(category) = inner.categories.get(tool) else {
            return self.deny(
                "unknown-tool",
                "default",
                format!("`{tool}` is not in the catalog"),
            );
        };
        let Some(declared) = inner.args.get(tool) else {
            return self.deny(
                "unknown-tool",
                category,
                format!("`{tool}` is not in the catalog"),
            );
        };

        // Arguments: every one declared and well-typed, so policy sees all that is forwarded.
        let mut cedar_args: Vec<(String, RestrictedExpression)> = Vec::new();
        // The canonical arguments: what Cedar sees, and what the slices must select rules by
        // (a rule filed under `Host::"dc01"` must not be skipped for an agent's `DC01`).
        let mut canonical = Map::new();
        for (name, value) in args {
            let Some(spec) = declared.get(name) else {
                return self.deny(
                    "argument-check",
                    category,
                    format!("argument `{name}` is not declared for `{tool}`"),
                );
            };
            let converted = spec.ty.normalise(value, &self.facts.ids).and_then(|v| {
                let c = spec.ty.to_cedar(&v, &inner.entity_types)?;
                Ok((v, c))
            });
            match converted {
                Ok((v, c)) => {
                    cedar_args.push((name.clone(), c));
                    canonical.insert(name.clone(), v);
                }
                Err(why) => {
                    return self.deny(
                        "argument-check",
                        category,
                        format!("argument `{name}` {why}"),
                    );
                }
            }
        }
        for (name, spec) in declared {
            if spec.required && !args.contains_key(name) {
                return self.deny(
                    "argument-check",
                    category,
                    format!("required argument `{name}` is missing"),
                );
            }
        }

        let request = self.request(principal, tool, cedar_args, session, state, None);
        let request = match request {
            Ok(r) => r,
            Err(why) => {
                return self.deny(
                    "request-invalid",
                    category,
                    format!("the request does not fit the schema: {why}"),
                );
            }
        };

        let slices = inner.slices.get(tool).filter(|_| self.sliced);
        let verdict = self.authorize(
            &request,
            slices.map(|(p, _)| p),
            &inner.policies,
            &canonical,
            declared,
        );
        if !verdict.errors.is_empty() {
            return self.deny(
                "policy-error",
                category,
                format!(
                    "policy evaluation failed, so the call is denied: {}",
                    verdict.errors.join("; ")
                ),
            );
        }
        if let Some(rule) = verdict.forbids.first() {
            return self.deny(rule, category, format!("forbidden by rule `{rule}`"));
        }
        let reasons = verdict.permits;
        if reasons.is_empty() {
            return self.deny("default-deny", category, "no rule permits this call".into());
        }
        // Hold rules that match this call (only evaluated when there are any).
        let mut holds = Vec::new();
        if !inner.hold_rules.is_empty() {
            let r = self.authorize(
                &request,
                slices.map(|(_, h)| h),
                &inner.hold_rules,
                &canonical,
                declared,
            );
            if !r.errors.is_empty() {
                return self.deny(
                    "policy-error",
                    category,
                    format!(
                        "a hold rule failed to evaluate, so the call is denied: {}",
                        r.errors.join("; ")
                    ),
                );
            }
            holds = r.forbids;
        }
        // The strictest approval decides: two-person over one approver.
        let held = reasons
            .iter()
            .chain(holds.iter())
            .filter_map(|r| {
                inner
                    .rules
                    .get(r)
                    .and_then(|m| m.approval.map(|a| (r.clone(), a)))
            })
            .max_by_key(|(_, a)| *a == Approval::TwoPerson);
        let (outcome, rule, approval, reason) = match held {
            // A critical write needs two people, whatever the rule that held it asked for.
            Some((rule, Approval::Required))
                if inner.floors.get(tool) == Some(&FloorLabel::Critical) =>
            {
                let reason = format!(
                    "rule `{rule}` requires human approval, and `{tool}` is critical: the floor asks for two people"
                );
                let floor = FloorLabel::Critical;
                (Outcome::Hold, floor.rule(), Some(floor.approval()), reason)
            }
            Some((rule, approval)) => {
                let reason = format!("rule `{rule}` requires human approval");
                (Outcome::Hold, rule, Some(approval), reason)
            }
            None => match inner.floors.get(tool) {
                // The floor: whatever the policy permits, a high-stakes or irreversible write
                // runs unattended only under an autonomy grant that covers this very call.
                Some(label) => match self.autonomy_for(&request) {
                    Err(errors) => {
                        return self.deny(
                            "policy-error",
                            category,
                            format!(
                                "an autonomy grant failed to evaluate, so the call is denied: {}",
                                errors.join("; ")
                            ),
                        );
                    }
                    Ok(Some(grant)) => {
                        let reason = format!(
                            "permitted by rule `{}`; runs without a human under autonomy grant `{grant}`",
                            reasons.first().map_or("", String::as_str)
                        );
                        (Outcome::Allow, grant, None, reason)
                    }
                    Ok(None) => {
                        let reason = format!(
                            "`{tool}` is a {} write: the floor holds it for a human whatever the policy permits (no autonomy grant covers this call)",
                            label.as_str()
                        );
                        (Outcome::Hold, label.rule(), Some(label.approval()), reason)
                    }
                },
                None => {
                    let rule = reasons.first().cloned().unwrap_or_default();
                    let reason = format!("permitted by rule `{rule}`");
                    (Outcome::Allow, rule, None, reason)
                }
            },
        };
        let rule_category = inner
            .rules
            .get(&rule)
            .and_then(|m| m.category.clone())
            .unwrap_or_else(|| category.clone());
        Decision {
            outcome,
            permitted_by: reasons.first().cloned(),
            owner: self.owner_for(Some(&rule), &rule_category),
            rule,
            category: rule_category,
            reason,
            approval,
            policy_version: self.facts.version.clone(),
        }
    }
}

impl Engine {
    /// The autonomy grant that covers this request, if any (the first by id); Cedar's errors
    /// when one failed to evaluate (an erroring grant never lifts the floor).
    fn autonomy_for(&self, request: &Request) -> Result<Option<String>, Vec<String>> {
        let inner = &self.inner;
        if inner.autonomy.is_empty() {
            return Ok(None);
        }
        let response =
            self.authorizer
                .is_authorized(request, &inner.autonomy, &self.facts.entities);
        let mut errors: Vec<String> = response
            .diagnostics()
            .errors()
            .map(|e| e.to_string())
            .collect();
        if !errors.is_empty() {
            errors.sort();
            return Err(errors);
        }
        if response.decision() != CedarDecision::Allow {
            return Ok(None);
        }
        let mut ids: Vec<String> = response
            .diagnostics()
            .reason()
            .map(|id| id.to_string())
            .collect();
        ids.sort();
        Ok(ids.into_iter().next())
    }

    /// The floor's label of `tool`, when the floor holds its calls.
    pub fn floor(&self, tool: &ToolName) -> Option<FloorLabel> {
        self.inner.floors.get(tool).copied()
    }

    /// The Cedar request for a call whose arguments are already converted (`ArgType::to_cedar`).
    ///
    /// Per call it is built without Cedar's schema check of the request (a third of a
    /// decision's time): the context's shape is fixed per tool by the generated schema and the
    /// argument types, and [`Engine::probe`] checks every tool's shape against the schema at
    /// load, with all of its arguments and with only the required ones.
    fn request(
        &self,
        principal: &Principal,
        tool: &ToolName,
        cedar_args: Vec<(String, RestrictedExpression)>,
        session: &str,
        state: &CallState,
        schema: Option<&Schema>,
    ) -> Result<Request, String> {
        let inner = &self.inner;
        let record = |fields: Vec<(String, RestrictedExpression)>| {
            RestrictedExpression::new_record(fields).map_err(|e| e.to_string())
        };
        let budgets = inner
            .budget_ids
            .iter()
            .map(|(id, limit)| {
                let used = state.budgets_used.get(id).copied().unwrap_or(0);
                let b = record(vec![
                    (
                        "used".into(),
                        RestrictedExpression::new_long(i64::from(used)),
                    ),
                    (
                        "limit".into(),
                        RestrictedExpression::new_long(i64::from(*limit)),
                    ),
                ])?;
                Ok((id.clone(), b))
            })
            .collect::<Result<Vec<_>, String>>()?;
        let context = vec![
            ("args".into(), record(cedar_args)?),
            (
                "session".into(),
                record(vec![
                    (
                        "id".into(),
                        RestrictedExpression::new_string(session.to_string()),
                    ),
                    (
                        "tainted".into(),
                        RestrictedExpression::new_bool(state.session_tainted),
                    ),
                    (
                        "taint_level".into(),
                        RestrictedExpression::new_long(state.taint_level),
                    ),
                    (
                        "taint_source".into(),
                        RestrictedExpression::new_string(state.taint_source.clone()),
                    ),
                    (
                        "read_untrusted".into(),
                        RestrictedExpression::new_bool(state.read_untrusted),
                    ),
                ])?,
            ),
            (
                "agent".into(),
                record(vec![
                    (
                        "id".into(),
                        RestrictedExpression::new_string(principal.0.clone()),
                    ),
                    (
                        "tainted".into(),
                        RestrictedExpression::new_bool(state.agent_tainted),
                    ),
                    (
                        "taint_level".into(),
                        RestrictedExpression::new_long(state.agent_taint_level),
                    ),
                    (
                        "taint_source".into(),
                        RestrictedExpression::new_string(state.agent_taint_source.clone()),
                    ),
                ])?,
            ),
            ("outbound".into(), outbound_record(&state.outbound)?),
            ("budgets".into(), record(budgets)?),
            ("now".into(), RestrictedExpression::new_long(state.now)),
        ];
        // Type names and the tool's action and resource ids are parsed once, at load.
        let Some((a, r)) = inner.uids.get(tool).cloned() else {
            return Err(format!("`{tool}` has no Cedar action"));
        };
        let p = EntityUid::from_type_name_and_id(
            inner.agent_type.clone(),
            principal.0.parse().map_err(|e| format!("{e}"))?,
        );
        let ctx = Context::from_pairs(context).map_err(|e| e.to_string())?;
        Request::new(p, a, r, ctx, schema).map_err(|e| e.to_string())
    }

    /// Checks, for every tool, that the request a call builds fits the schema: once with every
    /// declared argument and once with only the required ones, with a value of each type.
    fn probe(&self) -> Result<(), String> {
        for (tool, declared) in &self.inner.args {
            for all in [true, false] {
                let mut args = Vec::new();
                for (name, spec) in declared {
                    if !all && !spec.required {
                        continue;
                    }
                    let sample = match &spec.ty {
                        ArgType::String | ArgType::Text | ArgType::Entity(_) => json!("probe"),
                        ArgType::Email => json!("probe@probe.example"),
                        ArgType::EmailSet => json!(["probe@probe.example"]),
                        ArgType::Url => json!("https://probe.example/"),
                        ArgType::Hostname => json!("probe.example"),
                        ArgType::Ip => json!("192.0.2.1"),
                        ArgType::Path(root) => json!(root),
                        ArgType::Enum(allowed) => {
                            json!(allowed.first().cloned().unwrap_or_default())
                        }
                        ArgType::Long => json!(0),
                        ArgType::Bool => json!(false),
                        ArgType::StringSet => json!(["probe"]),
                    };
                    let v = spec
                        .ty
                        .to_cedar(&sample, &self.inner.entity_types)
                        .map_err(|e| format!("`{tool}` argument `{name}` {e}"))?;
                    args.push((name.clone(), v));
                }
                let state = CallState::default();
                self.request(
                    &Principal("probe".into()),
                    tool,
                    args,
                    "probe",
                    &state,
                    Some(&self.inner.schema),
                )
                .map_err(|e| format!("`{tool}`: {e}"))?;
            }
        }
        Ok(())
    }
}

/// `context.outbound` as a Cedar record.
fn outbound_record(o: &OutboundState) -> Result<RestrictedExpression, String> {
    let flag = |name: &str, v: bool| (name.to_string(), RestrictedExpression::new_bool(v));
    RestrictedExpression::new_record(vec![
        flag("flagged", o.flagged),
        flag("external_link", o.external_link),
        flag("lookalike_link", o.lookalike_link),
        flag("homograph_link", o.homograph_link),
        flag("link_text_mismatch", o.link_text_mismatch),
        flag("image_link", o.image_link),
        flag("agent_instructions", o.agent_instructions),
        flag("secret", o.secret),
        flag("encoded_blob", o.encoded_blob),
        (
            "domains".to_string(),
            RestrictedExpression::new_set(
                o.domains
                    .iter()
                    .map(|d| RestrictedExpression::new_string(d.clone())),
            ),
        ),
        (
            "length".to_string(),
            RestrictedExpression::new_long(o.length),
        ),
    ])
    .map_err(|e| e.to_string())
}

/// What Cedar found across the sets evaluated for one call: the satisfied rules by effect
/// (each sorted) and every evaluation error.
#[derive(Debug, Default)]
struct Verdict {
    permits: Vec<String>,
    forbids: Vec<String>,
    errors: Vec<String>,
}

impl Engine {
    /// Evaluates the tool's slice of a policy set (or the whole set when the tool has none):
    /// the same satisfied rules and errors as the whole set, in less time (see `slice`).
    fn authorize(
        &self,
        request: &Request,
        slice: Option<&Slice>,
        whole: &PolicySet,
        args: &Map<String, Value>,
        declared: &BTreeMap<String, ArgSpec>,
    ) -> Verdict {
        let mut v = Verdict::default();
        let mut one = |set: &PolicySet| {
            let response = self
                .authorizer
                .is_authorized(request, set, &self.facts.entities);
            v.errors
                .extend(response.diagnostics().errors().map(|e| e.to_string()));
            let to = match response.decision() {
                CedarDecision::Allow => &mut v.permits,
                // A Deny names the forbids that matched, or nothing.
                CedarDecision::Deny => &mut v.forbids,
            };
            to.extend(response.diagnostics().reason().map(|id| id.to_string()));
        };
        match slice {
            Some(s) => s.sets(args, declared).for_each(&mut one),
            None => one(whole),
        }
        v.permits.sort();
        v.forbids.sort();
        // Cedar reports errors in no fixed order; the reason text should not vary.
        v.errors.sort();
        v
    }
}

/// Walks a policy's JSON form for literal values (`{"Value": …}`) and `like` patterns.
fn collect_literals(
    v: &Value,
    strings: &mut std::collections::BTreeSet<String>,
    longs: &mut std::collections::BTreeSet<i64>,
) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("Value", Value::String(s)) => {
                        strings.insert(s.clone());
                    }
                    ("Value", Value::Number(n)) => {
                        if let Some(n) = n.as_i64() {
                            longs.insert(n);
                        }
                    }
                    ("pattern", Value::Array(parts)) => {
                        let sample: String = parts
                            .iter()
                            .map(|p| match p {
                                Value::Object(o) => o
                                    .get("Literal")
                                    .and_then(Value::as_str)
                                    .unwrap_or_default()
                                    .to_string(),
                                _ => "x".to_string(),
                            })
                            .collect();
                        strings.insert(sample);
                    }
                    _ => collect_literals(x, strings, longs),
                }
            }
        }
        Value::Array(items) => {
            for x in items {
                collect_literals(x, strings, longs);
            }
        }
        _ => {}
    }
}
