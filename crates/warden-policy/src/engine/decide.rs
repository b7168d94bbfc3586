//! Evaluating one call: arguments checked and normalised, the Cedar request built, the tool's
//! slice of the policies evaluated, then the hold rules, the floor and the autonomy grants.
//! Never fails: anything that goes wrong is a Deny naming why.

use super::decision::Verdict;
use super::schema::ArgType;
use super::{Approval, Decision, Engine};
use crate::config::ArgSpec;
use crate::slice::Slice;
use cedar_policy::{
    Context, Decision as CedarDecision, EntityUid, PolicySet, Request, RestrictedExpression, Schema,
};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use warden_core::{Principal, ToolName};

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
    /// The entities the agent has read, in any of its sessions (the entity-typed arguments of
    /// its reads that were allowed and answered without error), oldest first: `context.read`
    /// says, per entity argument of this call, whether it names one of them or an entity that
    /// holds one.
    pub read: Vec<EntityRef>,
}

/// An entity named by a tool argument: its Cedar type (`Incident`) and its canonical id (as
/// [`ArgType::normalise`] resolves it, so `inc-1042` and `INC-1042` are one entity).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntityRef {
    pub ty: String,
    pub id: String,
}

/// The entities a call's canonical arguments name: each argument declared with an entity
/// type, with its id as given (the caller normalises first), by argument name.
pub fn entities_named<'a>(
    declared: &'a BTreeMap<String, ArgSpec>,
    args: &'a Map<String, Value>,
) -> impl Iterator<Item = (&'a str, EntityRef)> + 'a {
    declared.iter().filter_map(|(name, spec)| match &spec.ty {
        ArgType::Entity(ty) => args.get(name).and_then(Value::as_str).map(|id| {
            (
                name.as_str(),
                EntityRef {
                    ty: ty.clone(),
                    id: id.to_string(),
                },
            )
        }),
        _ => None,
    })
}

/// The outbound screen's findings on a write's free text, as policy sees them
/// (`context.outbound`). All false for a call with no `text` argument.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboundState {
    /// Any finding at all.
    pub flagged: bool,
    /// A link to a host outside the internal domains.
    pub external_link: bool,
    /// An external link written live, not defanged (`hxxps://…[.]example` is not).
    pub live_external_link: bool,
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
    /// A mail address at an outside host.
    pub external_address: bool,
    /// An outside mail address written live, not defanged (`x[@]evil[.]example` is not).
    pub live_external_address: bool,
    /// Text hidden from a person reading the write (tag characters, hidden HTML).
    pub concealed: bool,
    /// More text than the screen reads: not screened in full.
    pub unread: bool,
    /// Where a payment would go: an IBAN or a named account, routing or SWIFT/BIC number.
    pub payment_details: bool,
    /// What the text is about among the subjects a write may not touch unattended:
    /// `credentials` (sign-in secrets, second factors), `payment` (moving money), in any
    /// phrasing. No finding: an analyst's note names passwords often; an unattended note may
    /// not (`context.outbound.subjects.isEmpty()`).
    pub subjects: Vec<String>,
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

impl Engine {
    fn owner_for(&self, rule: Option<&str>, category: &str) -> String {
        rule.and_then(|r| self.inner.rules.get(r))
            .and_then(|m| m.owner.clone())
            .or_else(|| self.inner.owners.get(category).cloned())
            .or_else(|| self.inner.owners.get("default").cloned())
            .unwrap_or_default()
    }

    fn deny(&self, rule: &str, category: &str, reason: String) -> Decision {
        Decision {
            verdict: Verdict::Deny,
            rule: rule.into(),
            owner: self.owner_for(Some(rule), category),
            category: category.into(),
            reason,
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
            // A command with the real paths of its writes comes only from Claude Code's hook
            // (`CommandWithLinks`); any other tool would forward an object, not the text read.
            if matches!(spec.ty, ArgType::Command(_))
                && value.is_object()
                && !crate::claude_code::is_builtin(tool)
            {
                return self.deny(
                    "argument-check",
                    category,
                    format!("argument `{name}` must be a shell command (a string)"),
                );
            }
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
        // warden's own files, whatever the policy: an agent that reads the ledger's key could
        // forge what the ledger holds.
        if crate::claude_code::is_builtin(tool)
            && let Some((name, file)) = own_file_named(&inner.own_files, &canonical, declared)
        {
            return self.deny(
                "warden-own-files",
                category,
                format!(
                    "argument `{name}` names `{file}`, one of warden's own files; no agent's \
                     tool may read or write them"
                ),
            );
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

        let call = CedarCall {
            read: self.read_args(declared, &canonical, &state.read),
            args: cedar_args,
        };
        let request = self.request(principal, tool, call, session, state, None);
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
        let (verdict, rule, reason) = match held {
            // A critical write needs two people, whatever the rule that held it asked for.
            Some((rule, Approval::Required))
                if inner.floors.get(tool) == Some(&FloorLabel::Critical) =>
            {
                let reason = format!(
                    "rule `{rule}` requires human approval, and `{tool}` is critical: the floor asks for two people"
                );
                let floor = FloorLabel::Critical;
                (Verdict::Hold(floor.approval()), floor.rule(), reason)
            }
            Some((rule, approval)) => {
                let reason = format!("rule `{rule}` requires human approval");
                (Verdict::Hold(approval), rule, reason)
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
                        (Verdict::Allow, grant, reason)
                    }
                    Ok(None) => {
                        let reason = format!(
                            "`{tool}` is a {} write: the floor holds it for a human whatever the policy permits (no autonomy grant covers this call)",
                            label.as_str()
                        );
                        (Verdict::Hold(label.approval()), label.rule(), reason)
                    }
                },
                None => {
                    let rule = reasons.first().cloned().unwrap_or_default();
                    let reason = format!("permitted by rule `{rule}`");
                    (Verdict::Allow, rule, reason)
                }
            },
        };
        let rule_category = inner
            .rules
            .get(&rule)
            .and_then(|m| m.category.clone())
            .unwrap_or_else(|| category.clone());
        Decision {
            verdict,
            permitted_by: reasons.first().cloned(),
            owner: self.owner_for(Some(&rule), &rule_category),
            rule,
            category: rule_category,
            reason,
            policy_version: self.facts.version.clone(),
        }
    }
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

    /// Whether any call of `tool` by `principal` could be permitted (or held for a human) by
    /// these policies, whatever its arguments and the session's state: Cedar evaluates the
    /// policies with the call's context unknown, and only a certain Deny (no permit that could
    /// match, or a forbid that matches every such call) answers `false`. What an agent could
    /// never be allowed, it is not shown (`tools/list`), and a call to it is answered like a
    /// call to a tool that does not exist. An evaluation that errors answers `true`: the call's
    /// own decision still decides.
    pub fn could_allow(&self, principal: &Principal, tool: &ToolName) -> bool {
        let inner = &self.inner;
        let Some((action, resource)) = inner.uids.get(tool).cloned() else {
            return false;
        };
        let id = cedar_policy::EntityId::new(&principal.0);
        let agent = EntityUid::from_type_name_and_id(inner.agent_type.clone(), id);
        let request = cedar_policy::RequestBuilder::default()
            .principal(agent)
            .action(action)
            .resource(resource)
            .build();
        let response =
            self.authorizer
                .is_authorized_partial(&request, &inner.policies, &self.facts.entities);
        response.decision() != Some(CedarDecision::Deny)
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
        call: CedarCall,
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
            ("args".into(), record(call.args)?),
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
            (
                "read".into(),
                record(
                    call.read
                        .into_iter()
                        .map(|(name, r)| (name, RestrictedExpression::new_bool(r)))
                        .collect(),
                )?,
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

    /// `context.read`: for each entity argument the tool declares, whether the call's (canonical)
    /// value names an entity the agent has read, or one that holds an entity it has read in
    /// the team's entities (`Host in Incident`: reading a host of an incident is looking at the
    /// incident). False for an argument the call leaves out.
    fn read_args(
        &self,
        declared: &BTreeMap<String, ArgSpec>,
        canonical: &Map<String, Value>,
        read: &[EntityRef],
    ) -> Vec<(String, bool)> {
        let uid = |e: &EntityRef| {
            self.inner.entity_types.get(&e.ty).map(|t| {
                EntityUid::from_type_name_and_id(t.clone(), cedar_policy::EntityId::new(&e.id))
            })
        };
        let read_uids: Vec<EntityUid> = read.iter().filter_map(uid).collect();
        let named: BTreeMap<&str, EntityRef> = entities_named(declared, canonical).collect();
        declared
            .iter()
            .filter(|(_, spec)| matches!(spec.ty, ArgType::Entity(_)))
            .map(|(name, _)| {
                let was_read = named.get(name.as_str()).is_some_and(|e| {
                    read.contains(e)
                        || uid(e).is_some_and(|target| {
                            read_uids
                                .iter()
                                .any(|r| self.facts.entities.is_ancestor_of(&target, r))
                        })
                });
                (name.clone(), was_read)
            })
            .collect()
    }

    /// Checks, for every tool, that the request a call builds fits the schema: once with every
    /// declared argument and once with only the required ones, with a value of each type.
    pub(super) fn probe(&self) -> Result<(), String> {
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
                        ArgType::Glob => json!("*"),
                        ArgType::Enum(allowed) => {
                            json!(allowed.first().cloned().unwrap_or_default())
                        }
                        ArgType::Long => json!(0),
                        ArgType::Bool => json!(false),
                        ArgType::Command(_) => json!("true"),
                        ArgType::StringSet => json!(["probe"]),
                    };
                    let v = spec
                        .ty
                        .to_cedar(&sample, &self.inner.entity_types)
                        .map_err(|e| format!("`{tool}` argument `{name}` {e}"))?;
                    args.push((name.clone(), v));
                }
                let state = CallState::default();
                let read = declared
                    .iter()
                    .filter(|(_, spec)| matches!(spec.ty, ArgType::Entity(_)))
                    .map(|(name, _)| (name.clone(), false))
                    .collect();
                self.request(
                    &Principal("probe".into()),
                    tool,
                    CedarCall { args, read },
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

/// A call's own part of its Cedar context: its converted arguments (`context.args`) and, per
/// entity argument, whether the agent has read it (`context.read`).
struct CedarCall {
    args: Vec<(String, RestrictedExpression)>,
    read: Vec<(String, bool)>,
}

/// `context.outbound` as a Cedar record.
fn outbound_record(o: &OutboundState) -> Result<RestrictedExpression, String> {
    let flag = |name: &str, v: bool| (name.to_string(), RestrictedExpression::new_bool(v));
    RestrictedExpression::new_record(vec![
        flag("flagged", o.flagged),
        flag("external_link", o.external_link),
        flag("live_external_link", o.live_external_link),
        flag("lookalike_link", o.lookalike_link),
        flag("homograph_link", o.homograph_link),
        flag("link_text_mismatch", o.link_text_mismatch),
        flag("image_link", o.image_link),
        flag("agent_instructions", o.agent_instructions),
        flag("secret", o.secret),
        flag("encoded_blob", o.encoded_blob),
        flag("external_address", o.external_address),
        flag("live_external_address", o.live_external_address),
        flag("concealed", o.concealed),
        flag("unread", o.unread),
        flag("payment_details", o.payment_details),
        (
            "subjects".to_string(),
            RestrictedExpression::new_set(
                o.subjects
                    .iter()
                    .map(|d| RestrictedExpression::new_string(d.clone())),
            ),
        ),
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
struct Matched {
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
    ) -> Matched {
        let mut v = Matched::default();
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

/// The first argument of `canonical` that names one of warden's `own` files, and the file: a
/// path argument by its value, a command by every word it holds (the words the analysis reads
/// as arguments, and the text cut at blanks, quotes and the shell's operators, which also
/// holds what a redirection reads).
fn own_file_named(
    own: &crate::own_files::OwnFiles,
    canonical: &Map<String, Value>,
    declared: &BTreeMap<String, ArgSpec>,
) -> Option<(String, String)> {
    if own.is_empty() {
        return None;
    }
    canonical.iter().find_map(|(name, value)| {
        let ty = &declared.get(name)?.ty;
        let hit = match (ty, value) {
            (ArgType::Path(_) | ArgType::Glob, Value::String(path)) => own.named_by(path),
            (ArgType::Command(_), value) => {
                let text = match value {
                    Value::String(text) => text.clone(),
                    other => {
                        serde_json::from_value::<crate::CommandWithLinks>(other.clone())
                            .ok()?
                            .text
                    }
                };
                let facts = crate::shell::analyse(&text);
                facts
                    .args
                    .iter()
                    .map(String::as_str)
                    .chain(text.split(|c: char| c.is_whitespace() || "<>|;&()'\"`".contains(c)))
                    .filter(|w| !w.is_empty())
                    .find_map(|w| own.named_by(w))
            }
            _ => None,
        }?;
        Some((name.clone(), hit))
    })
}
