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
//!
//! The engine is built in parts that follow a call's life: `schema` generates the Cedar schema
//! from the catalog (and maps argument types into it), `build` compiles and checks the policy
//! sets once at load, `decide` evaluates one call (the floor and autonomy grants included), and
//! `decision` is the answer it gives.

mod build;
mod decide;
mod decision;
mod schema;

pub use build::EngineSources;
pub use decide::{CallState, EntityRef, FloorLabel, OutboundState, entities_named, floor_label};
pub use decision::{Approval, Decision};
pub use schema::{ArgType, CommandWithLinks};

use crate::argtypes::IdIndex;
use crate::config::{ArgSpec, ConfigError};
use crate::slice::{BudgetReads, Slice};
use build::load_facts;
use cedar_policy::{Authorizer, Entities, EntityTypeName, EntityUid, PolicySet, Schema};
use serde_json::{Map, Value};
use sha2::Sha256;
use std::collections::BTreeMap;
use std::sync::Arc;
use warden_core::ToolName;

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
    /// Per tool: the budgets its rules read, and whether they read the taint.
    budget_reads: BTreeMap<ToolName, BudgetReads>,
    /// Files no call of Claude Code's own tools may name (`own_files`).
    own_files: crate::own_files::OwnFiles,
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
    /// The inventory's JSON text, when there is one: what a refresh that replaces it is
    /// compared with.
    text: Option<Arc<str>>,
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

impl Engine {
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

    /// The entities' JSON text this engine decides with; `None` without any.
    pub fn inventory_text(&self) -> Option<&str> {
        self.facts.text.as_deref()
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

    /// Whether a rule that can match `tool` reads the taint (`context.session` or
    /// `context.agent`). The gateway decides such a call only once every result of the agent's
    /// earlier calls has been screened, so that the taint it reads is complete.
    pub fn reads_taint(&self, tool: &ToolName) -> bool {
        self.inner.budget_reads.get(tool).is_none_or(|r| r.taint)
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

    /// What the team's inventory says of the entity `id` of type `ty` (a `Host`, a `User`):
    /// its attributes as (name, value as JSON text), in name order. `None` when the type is not
    /// one that tool arguments name, or the inventory does not know the id. For the approver's
    /// view of a call's target; deciding reads the entities through Cedar, not through this.
    pub fn entity_attributes(&self, ty: &str, id: &str) -> Option<Vec<(String, String)>> {
        let type_name = self.inner.entity_types.get(ty)?;
        let uid =
            EntityUid::from_type_name_and_id(type_name.clone(), cedar_policy::EntityId::new(id));
        let entity = self.facts.entities.get(&uid)?;
        let json = entity.to_json_value().ok()?;
        let attrs = json.get("attrs")?.as_object()?;
        let mut out: Vec<(String, String)> = attrs
            .iter()
            .map(|(name, value)| {
                let text = match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (name.clone(), text)
            })
            .collect();
        out.sort();
        Some(out)
    }

    /// The declared arguments of `tool`.
    pub fn tool_args(&self, tool: &ToolName) -> Option<&BTreeMap<String, ArgSpec>> {
        self.inner.args.get(tool)
    }

    /// Approval floors that bind one agent only while another path reaches the same tool for
    /// less. A permit with `@approval` raises the approval only for the calls it permits
    /// itself: written for one agent (`principal == Agent::"x"`), it leaves any other permit of
    /// the tool, or a grant to another agent, with the approval that path asks for. A floor
    /// meant for every caller is a hold rule (a `forbid` with `@approval`), which binds every
    /// permit and grant; each pair found here is one where the floor is not that.
    pub fn cheaper_doors(&self) -> Vec<CheaperDoor> {
        let rank = |a: Option<Approval>| match a {
            None => 0,
            Some(Approval::Required) => 1,
            Some(Approval::TwoPerson) => 2,
        };
        let mut doors = Vec::new();
        for (tool, (policies, _)) in &self.inner.slices {
            let permits: Vec<(String, Option<String>, Option<Approval>)> = policies
                .policies()
                .filter(|p| p.effect() == cedar_policy::Effect::Permit)
                .filter_map(|p| {
                    let id = p.annotation("id")?.to_string();
                    let agent = match p.principal_constraint() {
                        cedar_policy::PrincipalConstraint::Eq(uid) => {
                            Some(uid.id().unescaped().to_string())
                        }
                        // A principal of a group or of a type is no one agent: counted as any.
                        _ => None,
                    };
                    let approval = self.inner.rules.get(&id)?.approval;
                    Some((id, agent, approval))
                })
                .collect();
            for (rule, agent, approval) in &permits {
                let (Some(agent), Some(approval)) = (agent, approval) else {
                    continue;
                };
                for (door, other, door_approval) in &permits {
                    if other.as_ref() != Some(agent) && rank(*door_approval) < rank(Some(*approval))
                    {
                        doors.push(CheaperDoor {
                            tool: tool.clone(),
                            rule: rule.clone(),
                            agent: agent.clone(),
                            approval: *approval,
                            door: door.clone(),
                            other: other.clone(),
                            door_approval: *door_approval,
                        });
                    }
                }
            }
        }
        doors
    }
}

/// A path to a tool that asks for less approval than a floor written for one agent
/// ([`Engine::cheaper_doors`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheaperDoor {
    pub tool: ToolName,
    /// The permit with `@approval`, for `agent` only.
    pub rule: String,
    pub agent: String,
    pub approval: Approval,
    /// Another permit of the tool (a grant's among them): for `other`, or any agent (`None`).
    pub door: String,
    pub other: Option<String>,
    /// What it asks for: `None`, no approval of its own (warden's floor may still hold it).
    pub door_approval: Option<Approval>,
}

impl std::fmt::Display for CheaperDoor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let asks = |a: Option<Approval>| match a {
            None => "no approval of its own",
            Some(Approval::Required) => "one approver",
            Some(Approval::TwoPerson) => "two approvers",
        };
        write!(
            f,
            "rule `{}` asks {} for {} only when agent `{}` calls it; `{}` lets {} ask for it with {}: \
             a floor meant for every caller is a hold rule (a `forbid` with `@approval`)",
            self.rule,
            asks(Some(self.approval)),
            self.tool,
            self.agent,
            self.door,
            self.other
                .as_ref()
                .map_or("any agent".to_string(), |o| format!("agent `{o}`")),
            asks(self.door_approval),
        )
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
