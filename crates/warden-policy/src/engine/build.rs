//! Compiling the policy sets, once at load: the schema (generated and the team's), each policy
//! file parsed on its own so errors point into it, rules renamed to their `@id`, hold rules and
//! autonomy grants kept in sets of their own, everything validated against the schema, and the
//! per-tool slices cut. Every problem is reported at once, each with its place.

use super::schema::{builtin_entities, cedar_str, generated_schema};
use super::{Approval, ArgType, floor_label};
use super::{Compiled, Engine, Facts, RuleMeta};
use crate::argtypes::IdIndex;
use crate::config::{Budget, ConfigError, ToolSpec, line_of};
use crate::slice::{BudgetReads, slice};
use cedar_policy::{
    Authorizer, Entities, EntityUid, PolicyId, PolicySet, Schema, SchemaFragment, ValidationMode,
    Validator,
};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use warden_core::{Principal, ToolName};

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
    /// warden's own files, which no call of Claude Code's tools may name.
    pub own_files: crate::own_files::OwnFiles,
}

/// The team's entities (`team`: where they come from and their JSON text) with warden's own,
/// checked against the schema; the version is `policy_hasher` with the entities' text hashed on.
pub(super) fn load_facts(
    schema: &Schema,
    policy_hasher: &Sha256,
    team: Option<(String, &str)>,
    builtin: &[Value],
) -> Result<Facts, Vec<ConfigError>> {
    let mut all = Vec::new();
    let mut hasher = policy_hasher.clone();
    let mut size = 0;
    let mut digest = None;
    let team_text: Option<std::sync::Arc<str>> = team.as_ref().map(|(_, text)| (*text).into());
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
        text: team_text,
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
                own_files: src.own_files,
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
}
