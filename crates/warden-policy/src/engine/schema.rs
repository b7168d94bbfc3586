//! The Cedar schema warden generates from the tool catalog, and how a tool argument's type
//! maps into it: one action per tool whose context holds that tool's declared arguments, the
//! session's state, the budgets and the time. warden's own entities (agents, tools) are made
//! here too, so the schema and the entities it checks come from one place.

use crate::argtypes::IdIndex;
use crate::config::{Budget, ToolSpec};
use cedar_policy::{EntityId, EntityTypeName, EntityUid, RestrictedExpression};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use warden_core::{Principal, ToolName};

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
    /// domain, delivered_to}`, `mailbox` being the local part without a `+tag` (where the mail
    /// is delivered) and `delivered_to` that mailbox with its domain.
    Email,
    /// A list of mail addresses, each one as `Email`: Cedar sees `{addresses, domains,
    /// delivered_to, count}` (sets of the normalised addresses, of their domains and of the
    /// mailboxes they deliver to, with domains), so a policy can ask whether
    /// every recipient is internal: `["northwind.example"].containsAll(context.args.cc.domains)`.
    EmailSet,
    /// An absolute http(s) URL (`argtypes::Url`): Cedar sees `{url, scheme, host, domain, path,
    /// query, has_query, has_fragment, query_length, data_length, longest_run, encoded}`.
    Url,
    /// A DNS host name, lower-cased ASCII (`argtypes::Hostname`).
    Hostname,
    /// An IP address: a Cedar `ipaddr`.
    Ip,
    /// A path under this root, lexically normalised (`argtypes::SafePath`).
    Path(String),
    /// A glob pattern that stays below the directory it is matched in
    /// (`argtypes::check_relative_glob`): a Cedar `String`.
    Glob,
    /// One of these values, spelt exactly so.
    Enum(Vec<String>),
    /// A shell command line (`shell::analyse`): Cedar sees `{text, programs, args, hosts,
    /// writes_paths, writes_outside, network, pipes_to_network, opaque}`, where
    /// `writes_outside` says a write goes outside every one of these roots (all writes, when
    /// there are none). Claude Code's command hook may give it as a [`CommandWithLinks`]
    /// object instead: the text, and where the writes it names really land.
    Command(Vec<String>),
}

/// A command whose literal write targets pass through symbolic links, as Claude Code's command
/// hook gives it (it resolves them on the agent's machine, where the files are): the text that
/// runs, and the real paths those writes land on (`?` for one it could not resolve). The real
/// paths only add to the writes the analysis reads, so the form can make a decision stricter,
/// never looser. Only the gateway's hook handler makes it, and only for Claude Code's own tools
/// (`decide` refuses it for any other): an MCP server would be forwarded an object, not the
/// text that was read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct CommandWithLinks {
    pub text: String,
    pub writes_through_links: Vec<String>,
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
            "glob" => ArgType::Glob,
            path if path.starts_with("path:") => {
                let root = path.trim_start_matches("path:").trim();
                if !root.starts_with('/') {
                    return Err(format!(
                        "`{path}`: a path type names its absolute root, e.g. `path:/srv/reports`"
                    ));
                }
                ArgType::Path(root.to_string())
            }
            "command" => ArgType::Command(Vec::new()),
            roots if roots.starts_with("command:") => {
                let roots: Vec<String> = roots
                    .trim_start_matches("command:")
                    .split('|')
                    .map(|r| r.trim().to_string())
                    .collect();
                if roots.iter().any(|r| {
                    crate::argtypes::SafePath::parse(r, "/").map(|p| p.to_string()) != Ok(r.clone())
                }) {
                    return Err(
                        "a command type names the normalised absolute roots it may write under, e.g. `command:/cases|/tmp`".into(),
                    );
                }
                ArgType::Command(roots)
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
                    "unknown type `{other}`: expected string, text, long, bool, set<string>, email, set<email>, url, hostname, ip, path:<root>, enum:<a|b|…>, command, command:<root|…> or an entity type such as Host"
                ));
            }
        };
        Ok((ty, required))
    }

    pub(super) fn cedar(&self) -> String {
        match self {
            ArgType::String | ArgType::Text => "String".into(),
            ArgType::Long => "Long".into(),
            ArgType::Bool => "Bool".into(),
            ArgType::StringSet => "Set<String>".into(),
            ArgType::Entity(name) => name.clone(),
            ArgType::Email => "Email".into(),
            ArgType::EmailSet => "Emails".into(),
            ArgType::Url => "Url".into(),
            ArgType::Hostname | ArgType::Path(_) | ArgType::Glob | ArgType::Enum(_) => {
                "String".into()
            }
            ArgType::Ip => "ipaddr".into(),
            ArgType::Command(_) => "Command".into(),
        }
    }

    /// The argument in its one canonical form, which is what policy sees and what is
    /// forwarded: a parsed and normalised value, or why it is refused.
    pub fn normalise(
        &self,
        value: &Value,
        ids: &BTreeMap<String, IdIndex>,
    ) -> Result<Value, String> {
        use crate::argtypes::{
            Email, Hostname, SafePath, Url, check_enum, check_relative_glob, parse_ip,
        };
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
            ArgType::Glob => Value::String(check_relative_glob(text()?).map_err(e)?),
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
            // The command runs as written: policy reads its analysis, never a rewritten text.
            ArgType::Command(_) => match value {
                Value::Object(_) => {
                    let c: CommandWithLinks = serde_json::from_value(value.clone())
                        .map_err(|_| format!("must be {}", self.describe()))?;
                    serde_json::to_value(c).map_err(|e| e.to_string())?
                }
                _ => Value::String(text()?.to_string()),
            },
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
    pub(super) fn to_cedar(
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
                let mut delivered = Vec::with_capacity(items.len());
                for item in items {
                    let one = item
                        .as_str()
                        .ok_or_else(|| format!("must be {}", self.describe()))?;
                    let m = crate::argtypes::Email::parse(one).map_err(|e| e.to_string())?;
                    addresses.push(RestrictedExpression::new_string(m.address().to_string()));
                    domains.push(RestrictedExpression::new_string(m.domain().to_string()));
                    delivered.push(RestrictedExpression::new_string(delivered_to(&m)));
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
                    (
                        "delivered_to".to_string(),
                        RestrictedExpression::new_set(delivered),
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
                let long = |k: &str, n: usize| {
                    (
                        k.to_string(),
                        RestrictedExpression::new_long(i64::try_from(n).unwrap_or(i64::MAX)),
                    )
                };
                let flag = |k: &str, b: bool| (k.to_string(), RestrictedExpression::new_bool(b));
                let runs = u.data_runs();
                RestrictedExpression::new_record(vec![
                    field("url", u.as_str()),
                    field("scheme", u.scheme()),
                    field("host", u.host()),
                    field("domain", u.domain()),
                    field("path", u.path()),
                    field("query", u.query().unwrap_or_default()),
                    flag("has_query", u.query().is_some()),
                    flag("has_fragment", u.fragment().is_some()),
                    long("query_length", u.query_length()),
                    long("data_length", u.data_length()),
                    long("longest_run", runs.longest),
                    flag("encoded", runs.encoded),
                ])
                .map_err(|e| e.to_string())
            }
            (
                ArgType::Hostname | ArgType::Path(_) | ArgType::Glob | ArgType::Enum(_),
                Value::String(_),
            ) => match self.normalise(value, &BTreeMap::new())? {
                Value::String(s) => Ok(RestrictedExpression::new_string(s)),
                _ => Err(format!("must be {}", self.describe())),
            },
            (ArgType::Command(roots), Value::String(s)) => command_record(s, &[], roots),
            (ArgType::Command(roots), Value::Object(_)) => {
                let c: CommandWithLinks = serde_json::from_value(value.clone())
                    .map_err(|_| format!("must be {}", self.describe()))?;
                command_record(&c.text, &c.writes_through_links, roots)
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
            ArgType::Glob => "a glob pattern relative to the search path (a string)".into(),
            ArgType::Enum(allowed) => format!("one of {}", allowed.join(", ")),
            ArgType::Command(_) => "a shell command (a string)".into(),
        }
    }
}

/// A command line as the Cedar record of its analysis; `real_writes` are where its literal
/// write targets really land (through links), added to the writes it names.
fn command_record(
    text: &str,
    real_writes: &[String],
    roots: &[String],
) -> Result<RestrictedExpression, String> {
    let mut facts = crate::shell::analyse(text);
    facts.add_real_writes(real_writes);
    let set = |items: &std::collections::BTreeSet<String>| {
        RestrictedExpression::new_set(
            items
                .iter()
                .map(|s| RestrictedExpression::new_string(s.clone())),
        )
    };
    RestrictedExpression::new_record(vec![
        (
            "text".to_string(),
            RestrictedExpression::new_string(text.to_string()),
        ),
        ("programs".to_string(), set(&facts.programs)),
        ("args".to_string(), set(&facts.args)),
        ("hosts".to_string(), set(&facts.hosts)),
        ("writes_paths".to_string(), set(&facts.writes_paths)),
        (
            "writes_outside".to_string(),
            RestrictedExpression::new_bool(facts.writes_outside(roots)),
        ),
        (
            "network".to_string(),
            RestrictedExpression::new_bool(facts.network),
        ),
        (
            "pipes_to_network".to_string(),
            RestrictedExpression::new_bool(facts.pipes_to_network),
        ),
        (
            "opaque".to_string(),
            RestrictedExpression::new_bool(facts.opaque),
        ),
    ])
    .map_err(|e| e.to_string())
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
        field("delivered_to", &delivered_to(&m)),
    ])
    .map_err(|e| e.to_string())
}

/// The mailbox an address delivers to, with its domain: `all-staff+q3@example.org` is
/// `all-staff@example.org`.
fn delivered_to(m: &crate::argtypes::Email) -> String {
    let mailbox = m.local().split('+').next().unwrap_or_default();
    format!("{mailbox}@{}", m.domain())
}

pub(super) fn cedar_str(s: &str) -> String {
    // Cedar string literals escape like JSON ones.
    Value::String(s.to_string()).to_string()
}

/// The generated part of the schema: agents, tools, one action per tool.
pub(super) fn generated_schema(tools: &BTreeMap<ToolName, ToolSpec>, budgets: &[Budget]) -> String {
    let mut s = String::from(
        "entity Agent;\n\
         entity Tool = { server: String, effect: String, reversible: Bool, stakes: String, category: String };\n\
         type Session = { id: String, tainted: Bool, taint_level: Long, taint_source: String, read_untrusted: Bool };\n\
         type AgentState = { id: String, tainted: Bool, taint_level: Long, taint_source: String };\n\
         type Outbound = { flagged: Bool, external_link: Bool, live_external_link: Bool, lookalike_link: Bool, homograph_link: Bool, link_text_mismatch: Bool, image_link: Bool, agent_instructions: Bool, secret: Bool, encoded_blob: Bool, external_address: Bool, live_external_address: Bool, concealed: Bool, unread: Bool, payment_details: Bool, subjects: Set<String>, domains: Set<String>, length: Long };\n\
         type Budget = { used: Long, limit: Long };\n\
         type Email = { address: String, local: String, mailbox: String, domain: String, delivered_to: String };\n\
         type Emails = { addresses: Set<String>, domains: Set<String>, delivered_to: Set<String>, count: Long };\n\
         type Url = { url: String, scheme: String, host: String, domain: String, path: String, query: String, has_query: Bool, has_fragment: Bool, query_length: Long, data_length: Long, longest_run: Long, encoded: Bool };\n\
         type Command = { text: String, programs: Set<String>, args: Set<String>, hosts: Set<String>, writes_paths: Set<String>, writes_outside: Bool, network: Bool, pipes_to_network: Bool, opaque: Bool };\n",
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
        // `context.read`: one Bool per entity argument (see `CallState::read`).
        let read: Vec<String> = t
            .args
            .iter()
            .filter(|(_, spec)| matches!(spec.ty, ArgType::Entity(_)))
            .map(|(name, _)| format!("{}: Bool", cedar_str(name)))
            .collect();
        s.push_str(&format!(
            "action {} in [{}, {}, {}, {}] appliesTo {{ principal: [Agent], resource: [Tool], context: {{ args: {{ {} }}, read: {{ {} }}, session: Session, agent: AgentState, outbound: Outbound, budgets: Budgets, now: Long }} }};\n",
            cedar_str(&t.name.to_string()),
            cedar_str(&format!("effect:{}", t.labels.effect.as_str())),
            cedar_str(&format!("category:{}", t.labels.category)),
            cedar_str(&format!("server:{}", t.name.server)),
            cedar_str(&format!("stakes:{}", t.labels.stakes.as_str())),
            args.join(", "),
            read.join(", ")
        ));
    }
    s
}

/// warden's own entities: one per agent and one per tool (with its labels).
pub(super) fn builtin_entities(
    agents: &[Principal],
    tools: &BTreeMap<ToolName, ToolSpec>,
) -> Vec<Value> {
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
