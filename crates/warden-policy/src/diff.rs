//! What a policy change permits that the old one did not.
//!
//! Two configurations are compared by evaluating both over the same situations: every declared
//! agent × every tool × representative argument values (the ids of the team's entities, the
//! literals the policies compare arguments with, an unknown value, an absent optional argument),
//! in a clean session that has read every entity the call names and a tainted one that has read
//! none, now and just before each grant expires. Reading the policy
//! text would miss how rules combine; evaluation cannot. A situation where the new set is less
//! strict than the old one (deny → hold or allow, hold → allow, two people → one) is an
//! expansion; budgets are compared field by field.
//!
//! Every expansion must be justified: by `@justification` on the new rule that decides it (a
//! grant always carries one), or for a budget by its `justification` key — and the reason must
//! be new: one carried over unchanged from OLD argued for the old scope, not the wider one.

use crate::config::{Budget, BudgetScope, Config};
use crate::engine::{Approval, ArgType, CallState, Decision, Engine};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use warden_core::{Outcome, Principal, ToolName};

/// Situations evaluated per agent and tool at most; beyond it, an even spread of them.
pub const MAX_SITUATIONS: usize = 20_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExpansionKind {
    /// The agent could not use the tool in any situation before, and now can in some.
    GainsTool,
    /// The agent could use the tool before; now also with arguments or in situations it could not.
    ScopeWidens,
    /// A call that needed approval (or two people) now needs less.
    ApprovalDropped,
    /// A budget allows more calls: higher limit, shorter window, fewer tools, per session, gone.
    BudgetGrows,
}

impl ExpansionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ExpansionKind::GainsTool => "gains-tool",
            ExpansionKind::ScopeWidens => "scope-widens",
            ExpansionKind::ApprovalDropped => "approval-dropped",
            ExpansionKind::BudgetGrows => "budget-grows",
        }
    }
}

/// One way the new configuration permits more.
#[derive(Debug, Clone, PartialEq)]
pub struct Expansion {
    pub kind: ExpansionKind,
    /// `Agent` id and tool, or the budget id.
    pub subject: String,
    /// What changed, for a human.
    pub detail: String,
    /// One situation that shows it: arguments, taint, time.
    pub example: Option<Value>,
    /// The new rules that decide the expanded situations.
    pub rules: Vec<String>,
    /// Why, from the new configuration; `None` when something in it lacks one.
    pub justification: Option<String>,
}

impl Expansion {
    pub fn justified(&self) -> bool {
        self.justification.is_some()
    }
}

impl fmt::Display for Expansion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<17} {}: {}",
            self.kind.as_str(),
            self.subject,
            self.detail
        )?;
        if !self.rules.is_empty() {
            write!(f, " (by {})", self.rules.join(", "))?;
        }
        Ok(())
    }
}

/// The comparison of two configurations.
#[derive(Debug, Clone, Default)]
pub struct DiffReport {
    pub expansions: Vec<Expansion>,
    /// Situations where the new set is stricter.
    pub tightened: usize,
    pub situations: usize,
}

impl DiffReport {
    pub fn unjustified(&self) -> impl Iterator<Item = &Expansion> {
        self.expansions.iter().filter(|e| !e.justified())
    }
}

/// How permissive a decision is: deny < two-person hold < hold < allow.
fn rank(d: &Decision) -> u8 {
    match (d.outcome(), d.approval()) {
        (Outcome::Deny, _) => 0,
        (Outcome::Hold, Some(Approval::TwoPerson)) => 1,
        (Outcome::Hold, _) => 2,
        (Outcome::Allow, _) => 3,
    }
}

fn describe(d: &Decision) -> String {
    match (d.outcome(), d.approval()) {
        (Outcome::Hold, Some(Approval::TwoPerson)) => "hold (two people)".into(),
        (o, _) => o.as_str().into(),
    }
}

/// One evaluated situation.
#[derive(Debug, Clone)]
pub struct Situation {
    pub args: Map<String, Value>,
    pub tainted: bool,
    /// What the agent has read: in a clean situation every entity the call names (the most
    /// an agent can do), in a tainted one nothing.
    pub read: Vec<crate::engine::EntityRef>,
    pub now: i64,
}

impl Situation {
    fn state(&self) -> CallState {
        CallState {
            session_tainted: self.tainted,
            taint_level: if self.tainted { 100 } else { 0 },
            taint_source: if self.tainted {
                "policy-diff".into()
            } else {
                String::new()
            },
            read_untrusted: self.tainted,
            agent_tainted: self.tainted,
            agent_taint_level: if self.tainted { 100 } else { 0 },
            agent_taint_source: if self.tainted {
                "policy-diff".into()
            } else {
                String::new()
            },
            outbound: crate::engine::OutboundState::default(),
            budgets_used: BTreeMap::new(),
            now: self.now,
            read: self.read.clone(),
        }
    }

    fn example(&self) -> Value {
        json!({"args": self.args, "tainted": self.tainted, "now": self.now})
    }
}

fn principals(configs: &[&Config]) -> Vec<Principal> {
    let mut set = BTreeSet::new();
    for c in configs {
        for a in &c.agents {
            set.insert(a.principal.clone());
        }
        if let Some(p) = &c.stdio_agent {
            set.insert(p.clone());
        }
    }
    set.into_iter().collect()
}

/// Representative values for each argument type, from the engines' entities and literals.
struct Values {
    strings: Vec<String>,
    longs: Vec<i64>,
    entities: BTreeMap<String, Vec<String>>,
}

impl Values {
    fn of(engines: &[&Engine]) -> Self {
        let mut strings = BTreeSet::from(["other".to_string()]);
        let mut longs = BTreeSet::from([0_i64]);
        let mut entities: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for e in engines {
            let (s, l) = e.literals();
            strings.extend(s);
            for n in l {
                longs.extend([n.saturating_sub(1), n, n.saturating_add(1)]);
            }
            for (ty, id) in e.entity_ids() {
                entities.entry(ty).or_default().insert(id);
            }
        }
        Self {
            strings: strings.into_iter().collect(),
            longs: longs.into_iter().collect(),
            entities: entities
                .into_iter()
                .map(|(k, v)| (k, v.into_iter().collect()))
                .collect(),
        }
    }

    fn candidates(&self, ty: &ArgType, required: bool) -> Vec<Option<Value>> {
        let mut out: Vec<Option<Value>> = match ty {
            ArgType::String | ArgType::Text => {
                self.strings.iter().map(|s| Some(json!(s))).collect()
            }
            ArgType::Long => self.longs.iter().map(|n| Some(json!(n))).collect(),
            ArgType::Bool => vec![Some(json!(true)), Some(json!(false))],
            ArgType::StringSet => std::iter::once(Some(json!([])))
                .chain(self.strings.iter().map(|s| Some(json!([s]))))
                .collect(),
            ArgType::Entity(t) => match self.entities.get(t) {
                Some(ids) => ids.iter().map(|id| Some(json!(id))).collect(),
                None => vec![Some(json!("unknown"))],
            },
            // Typed strings: values built from the policies' literals (a literal domain as an
            // address or a link there), and one outside them, kept where the type accepts them.
            ArgType::Email | ArgType::EmailSet | ArgType::Url | ArgType::Hostname => {
                let hosts = self
                    .strings
                    .iter()
                    .map(String::as_str)
                    .chain(["unknown.example"]);
                let texts: Vec<String> = hosts
                    .flat_map(|h| {
                        let h = h.trim_start_matches("*@").trim_start_matches('@');
                        match ty {
                            ArgType::Url => vec![format!("https://{h}/")],
                            ArgType::Hostname => vec![h.to_string()],
                            _ => vec![format!("probe@{h}"), h.to_string()],
                        }
                    })
                    .collect();
                let none = BTreeMap::new();
                let mut seen = BTreeSet::new();
                texts
                    .into_iter()
                    .map(|t| match ty {
                        ArgType::EmailSet => json!([t]),
                        _ => json!(t),
                    })
                    .filter_map(|v| ty.normalise(&v, &none).ok())
                    .filter(|v| seen.insert(v.to_string()))
                    .map(Some)
                    .collect()
            }
            ArgType::Ip => ["192.0.2.1", "10.0.0.1", "::1"]
                .iter()
                .map(|ip| Some(json!(ip)))
                .collect(),
            ArgType::Path(root) => vec![Some(json!(root))],
            ArgType::Glob => vec![Some(json!("*"))],
            ArgType::Enum(allowed) => allowed.iter().map(|v| Some(json!(v))).collect(),
            // Commands built from the policies' literals: each as a program, and as a host
            // reached by curl, and one that cannot be read.
            ArgType::Command(_) => self
                .strings
                .iter()
                .flat_map(|s| [json!(s), json!(format!("curl -q https://{s}/"))])
                .chain([json!("ls"), json!("$X")])
                .map(Some)
                .collect(),
        };
        if !required {
            out.push(None);
        }
        out
    }
}

/// The situations to evaluate for one tool of `config`.
fn situations(config: &Config, tool: &ToolName, values: &Values, times: &[i64]) -> Vec<Situation> {
    let Some(spec) = config.tools.get(tool) else {
        return Vec::new();
    };
    let axes: Vec<(&String, Vec<Option<Value>>)> = spec
        .args
        .iter()
        .map(|(name, a)| (name, values.candidates(&a.ty, a.required)))
        .collect();
    let combos = axes
        .iter()
        .try_fold(1_usize, |n, (_, c)| n.checked_mul(c.len().max(1)))
        .unwrap_or(usize::MAX);
    let per_context = (MAX_SITUATIONS / (2 * times.len().max(1))).max(1);
    let take = combos.min(per_context);
    let mut out = Vec::new();
    for k in 0..take {
        // An even spread over all combinations when there are more than we evaluate.
        let mut index = if combos > take {
            u128::try_from(k).unwrap_or_default() * u128::try_from(combos).unwrap_or_default()
                / u128::try_from(take).unwrap_or(1)
        } else {
            u128::try_from(k).unwrap_or_default()
        };
        let mut args = Map::new();
        for (name, candidates) in &axes {
            let n = u128::try_from(candidates.len().max(1)).unwrap_or(1);
            let pick = usize::try_from(index % n).unwrap_or_default();
            index /= n;
            if let Some(Some(v)) = candidates.get(pick) {
                args.insert((*name).clone(), v.clone());
            }
        }
        for &now in times {
            for tainted in [false, true] {
                let read = match tainted {
                    true => Vec::new(),
                    false => crate::engine::entities_named(&spec.args, &args)
                        .map(|(_, e)| e)
                        .collect(),
                };
                out.push(Situation {
                    args: args.clone(),
                    tainted,
                    read,
                    now,
                });
            }
        }
    }
    out
}

/// The instants worth evaluating: `now`, and just before each grant of either config expires.
fn times(configs: &[&Config], now: i64) -> Vec<i64> {
    let mut t = BTreeSet::from([now]);
    for c in configs {
        for g in &c.grants {
            if g.expires > now {
                t.insert(g.expires - 1);
            }
        }
    }
    t.into_iter().collect()
}

/// Every way `new` permits more than `old`, evaluated at `now` (Unix seconds).
pub fn diff(old: &Config, new: &Config, now: i64) -> DiffReport {
    let configs = [old, new];
    let values = Values::of(&[&old.engine, &new.engine]);
    let times = times(&configs, now);
    let mut report = DiffReport::default();
    let session = "policy-diff";
    for principal in principals(&configs) {
        for tool in new.tools.keys() {
            let mut old_permits = false;
            let mut widened: Vec<(&Situation, Decision, Decision)> = Vec::new();
            let mut dropped: Vec<(&Situation, Decision, Decision)> = Vec::new();
            let all = situations(new, tool, &values, &times);
            for s in &all {
                let state = s.state();
                let o = old
                    .engine
                    .decide(&principal, tool, &s.args, session, &state);
                let n = new
                    .engine
                    .decide(&principal, tool, &s.args, session, &state);
                report.situations += 1;
                old_permits |= o.outcome() != Outcome::Deny;
                match rank(&n).cmp(&rank(&o)) {
                    std::cmp::Ordering::Greater if o.outcome() == Outcome::Deny => {
                        widened.push((s, o, n));
                    }
                    std::cmp::Ordering::Greater => dropped.push((s, o, n)),
                    std::cmp::Ordering::Less => report.tightened += 1,
                    std::cmp::Ordering::Equal => {}
                }
            }
            let subject = format!("{principal} {tool}");
            if !widened.is_empty() {
                let kind = if old_permits {
                    ExpansionKind::ScopeWidens
                } else {
                    ExpansionKind::GainsTool
                };
                let detail = format!(
                    "{} of {} situations denied before are now {}",
                    widened.len(),
                    all.len(),
                    outcomes(widened.iter().map(|(_, _, n)| n))
                );
                report.expansions.push(expansion(
                    kind,
                    &subject,
                    detail,
                    &widened,
                    &old.engine,
                    &new.engine,
                ));
            }
            if !dropped.is_empty() {
                let detail = format!(
                    "{} situations need less approval ({})",
                    dropped.len(),
                    dropped
                        .first()
                        .map(|(_, o, n)| format!("{} → {}", describe(o), describe(n)))
                        .unwrap_or_default()
                );
                report.expansions.push(expansion(
                    ExpansionKind::ApprovalDropped,
                    &subject,
                    detail,
                    &dropped,
                    &old.engine,
                    &new.engine,
                ));
            }
        }
    }
    for b in &old.budgets {
        let found = new.budgets.iter().find(|n| n.id == b.id);
        if let Some(detail) = budget_growth(b, found) {
            report.expansions.push(Expansion {
                kind: ExpansionKind::BudgetGrows,
                subject: format!("budget `{}`", b.id),
                detail,
                example: None,
                rules: Vec::new(),
                // The reason must be new: the old one argued for the old size.
                justification: found
                    .and_then(|n| n.justification.clone())
                    .filter(|j| b.justification.as_ref() != Some(j)),
            });
        }
    }
    report
}

fn outcomes<'a>(ds: impl Iterator<Item = &'a Decision>) -> String {
    let set: BTreeSet<String> = ds.map(describe).collect();
    set.into_iter().collect::<Vec<_>>().join(" or ")
}

fn expansion(
    kind: ExpansionKind,
    subject: &str,
    detail: String,
    cases: &[(&Situation, Decision, Decision)],
    old: &Engine,
    engine: &Engine,
) -> Expansion {
    // The permits that let the calls through, or the autonomy grants that let them run
    // without a human: they are what needs a reason.
    let rules: BTreeSet<String> = cases
        .iter()
        .map(|(_, _, n)| {
            if n.rule().starts_with("autonomy:") {
                n.rule().to_string()
            } else {
                n.permitted_by().unwrap_or(n.rule()).to_string()
            }
        })
        .collect();
    // A rule's reason counts when it is new: one carried over unchanged argued for the old scope.
    let justifications: Vec<Option<&str>> = rules
        .iter()
        .map(|r| {
            engine
                .justification(r)
                .filter(|j| old.justification(r) != Some(*j))
        })
        .collect();
    let justification = justifications.iter().all(Option::is_some).then(|| {
        justifications
            .iter()
            .flatten()
            .copied()
            .collect::<Vec<_>>()
            .join("; ")
    });
    Expansion {
        kind,
        subject: subject.to_string(),
        detail,
        example: cases.first().map(|(s, _, _)| s.example()),
        rules: rules.into_iter().collect(),
        justification,
    }
}

/// How `new` lets more calls through than `old`, if it does.
fn budget_growth(old: &Budget, new: Option<&Budget>) -> Option<String> {
    let Some(new) = new else {
        return Some("removed".into());
    };
    let mut grew = Vec::new();
    if new.limit > old.limit {
        grew.push(format!("limit {} → {}", old.limit, new.limit));
    }
    if new.window < old.window {
        grew.push(format!(
            "window {}s → {}s",
            old.window.as_secs(),
            new.window.as_secs()
        ));
    }
    let dropped: Vec<String> = old
        .tools
        .iter()
        .filter(|t| !new.tools.contains(t))
        .map(ToString::to_string)
        .collect();
    if !dropped.is_empty() {
        grew.push(format!("no longer counts {}", dropped.join(", ")));
    }
    if old.per == BudgetScope::Agent && new.per == BudgetScope::Session {
        grew.push("per agent → per session".into());
    }
    (!grew.is_empty()).then(|| grew.join(", "))
}

/// What each agent may call under `config` at `now`: (agent, tool) → the rules that permit
/// (allow or hold) it in some evaluated situation.
pub fn permissions(config: &Config, now: i64) -> BTreeMap<(Principal, ToolName), BTreeSet<String>> {
    let values = Values::of(&[&config.engine]);
    let times = times(&[config], now);
    let mut out: BTreeMap<(Principal, ToolName), BTreeSet<String>> = BTreeMap::new();
    for principal in principals(&[config]) {
        for tool in config.tools.keys() {
            for s in situations(config, tool, &values, &times) {
                let d =
                    config
                        .engine
                        .decide(&principal, tool, &s.args, "policy-unused", &s.state());
                if d.outcome() != Outcome::Deny {
                    out.entry((principal.clone(), tool.clone()))
                        .or_default()
                        .insert(d.permitted_by().unwrap_or(d.rule()).to_string());
                }
            }
        }
    }
    out
}
