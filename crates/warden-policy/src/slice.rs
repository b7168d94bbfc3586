//! Per-tool slices of the policy set, so a decision evaluates only the rules that can match.
//!
//! Cedar evaluates every policy in the set it is given, about a microsecond and a half each.
//! With a thousand rules that is milliseconds per call, nearly all of it spent on rules whose
//! scope names another action or whose condition compares an argument with another value. At
//! load, each tool gets its own slice:
//!
//! - only the policies whose action scope can include the tool's action (`action == A`,
//!   `action in [..]` with the action or one of its groups, or no constraint);
//! - of those, the ones whose `when` condition starts with error-free `has` tests on the
//!   context followed by `context.args.X == <literal>` (either side) are filed under argument
//!   `X` and that literal. A call whose `X` has another value skips them: Cedar's `&&` stops at
//!   the false comparison, so such a rule is neither satisfied nor in error, exactly as if it
//!   had been evaluated. A call without `X` evaluates all of them, so any error they raise is
//!   still seen (and denies).
//!
//! The result of evaluating the slices is the same set of satisfied rules and errors as
//! evaluating the whole set; `slices_decide_like_the_whole_set` in `tests/slices.rs` checks that
//! on generated rules and calls.

use crate::config::ArgSpec;
use crate::engine::ArgType;
use cedar_policy::{ActionConstraint, Entities, EntityUid, Policy, PolicySet};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};

/// An argument value as the index compares it: equal keys ⇔ equal Cedar values.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Str(String),
    Long(i64),
    Bool(bool),
    Entity(String, String),
}

impl Key {
    /// The key of an agent-supplied argument that already passed its type check.
    fn of_arg(ty: &ArgType, value: &Value) -> Option<Key> {
        match (ty, value) {
            (ArgType::String | ArgType::Text, Value::String(s)) => Some(Key::Str(s.clone())),
            (ArgType::Long, Value::Number(n)) => n.as_i64().map(Key::Long),
            (ArgType::Bool, Value::Bool(b)) => Some(Key::Bool(*b)),
            (ArgType::Entity(t), Value::String(id)) => Some(Key::Entity(t.clone(), id.clone())),
            _ => None,
        }
    }

    /// The key of a literal in a policy's JSON form (`{"Value": …}`).
    fn of_literal(expr: &Value) -> Option<Key> {
        match expr.get("Value")? {
            Value::String(s) => Some(Key::Str(s.clone())),
            Value::Bool(b) => Some(Key::Bool(*b)),
            Value::Number(n) => n.as_i64().map(Key::Long),
            Value::Object(o) => {
                let e = o.get("__entity")?;
                Some(Key::Entity(
                    e.get("type")?.as_str()?.to_string(),
                    e.get("id")?.as_str()?.to_string(),
                ))
            }
            _ => None,
        }
    }
}

/// Policies filed under one argument, by the literal their guard compares it with.
#[derive(Debug, Default)]
struct Guarded {
    by_value: HashMap<Key, PolicySet>,
    /// Every policy guarded on this argument, for calls that do not pass it.
    all: PolicySet,
}

/// The policies of one set (permits and forbids, or hold rules) that can match one tool.
#[derive(Debug, Default)]
pub(crate) struct Slice {
    base: PolicySet,
    guarded: BTreeMap<String, Guarded>,
}

impl Slice {
    /// The sets to evaluate for a call with these (type-checked) arguments.
    pub(crate) fn sets<'a>(
        &'a self,
        args: &Map<String, Value>,
        declared: &BTreeMap<String, ArgSpec>,
    ) -> impl Iterator<Item = &'a PolicySet> {
        std::iter::once(&self.base)
            .chain(self.guarded.iter().filter_map(|(name, g)| {
                match (args.get(name), declared.get(name)) {
                    (Some(v), Some(spec)) => match Key::of_arg(&spec.ty, v) {
                        Some(k) => g.by_value.get(&k),
                        None => Some(&g.all),
                    },
                    _ => Some(&g.all),
                }
            }))
            .filter(|s| !s.is_empty())
    }

    /// Every policy in the slice, once.
    pub(crate) fn policies(&self) -> impl Iterator<Item = &Policy> {
        self.base
            .policies()
            .chain(self.guarded.values().flat_map(|g| g.all.policies()))
    }

    /// How many policies the slice holds in all.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.base.policies().count()
            + self
                .guarded
                .values()
                .map(|g| g.all.policies().count())
                .sum::<usize>()
    }

    fn add(&mut self, policy: &Policy, guard: Option<(String, Key)>) -> Result<(), String> {
        let add = |set: &mut PolicySet| set.add(policy.clone()).map_err(|e| e.to_string());
        match guard {
            None => add(&mut self.base),
            Some((arg, key)) => {
                let g = self.guarded.entry(arg).or_default();
                add(g.by_value.entry(key).or_default())?;
                add(&mut g.all)
            }
        }
    }
}

/// Builds the slice of `set` for the tool whose action is `action` with these arguments.
/// `actions` holds the schema's action entities (for `action in <group>`).
pub(crate) fn slice(
    set: &PolicySet,
    action: &EntityUid,
    declared: &BTreeMap<String, ArgSpec>,
    actions: &Entities,
) -> Result<Slice, String> {
    let groups: Vec<&EntityUid> = actions
        .ancestors(action)
        .map(Iterator::collect)
        .unwrap_or_default();
    let mut out = Slice::default();
    for p in set.policies() {
        let applies = match p.action_constraint() {
            ActionConstraint::Any => true,
            ActionConstraint::Eq(a) => &a == action,
            ActionConstraint::In(list) => list.iter().any(|a| a == action || groups.contains(&a)),
        };
        if !applies {
            continue;
        }
        let guard = p
            .to_json()
            .ok()
            .and_then(|json| guard(&json))
            .filter(|(arg, _)| {
                declared.get(arg).is_some_and(|s| {
                    matches!(
                        s.ty,
                        ArgType::String
                            | ArgType::Text
                            | ArgType::Long
                            | ArgType::Bool
                            | ArgType::Entity(_)
                    )
                })
            });
        out.add(p, guard)?;
    }
    Ok(out)
}

/// Which budgets a set of policies reads from `context.budgets`, and whether it reads the
/// taint (`context.session` or `context.agent`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct BudgetReads {
    /// Some policy uses `context` or `context.budgets` other than as `context.budgets.<id>`.
    pub(crate) all: bool,
    pub(crate) ids: std::collections::BTreeSet<String>,
    /// Some policy uses `context.session`, `context.agent` or `context` whole: what the
    /// session or the agent has read decides.
    pub(crate) taint: bool,
}

impl BudgetReads {
    pub(crate) fn reads(&self, id: &str) -> bool {
        self.all || self.ids.contains(id)
    }

    /// Adds what `policy` reads (unreadable JSON counts as reading everything).
    pub(crate) fn add(&mut self, policy: &Policy) {
        match policy.to_json() {
            Ok(json) => self.walk(&json),
            Err(_) => {
                self.all = true;
                self.taint = true;
            }
        }
    }

    fn walk(&mut self, v: &Value) {
        match v {
            Value::Object(o) => {
                if let Some(dot) = o.get(".") {
                    let left = dot.get("left");
                    let attr = dot.get("attr").and_then(Value::as_str);
                    if left.is_some_and(is_context) {
                        // `context.args`, `context.session`, …: `budgets` and the taint.
                        match attr {
                            Some("budgets") => self.all = true,
                            Some("session" | "agent") => self.taint = true,
                            _ => {}
                        }
                        return;
                    }
                    if let (Some(l), Some(id)) = (left, attr)
                        && l.get(".").is_some_and(|d| {
                            d.get("left").is_some_and(is_context)
                                && d.get("attr").and_then(Value::as_str) == Some("budgets")
                        })
                    {
                        self.ids.insert(id.to_string());
                        return;
                    }
                }
                if is_context(v) {
                    self.all = true;
                    self.taint = true;
                    return;
                }
                o.values().for_each(|x| self.walk(x));
            }
            Value::Array(items) => items.iter().for_each(|x| self.walk(x)),
            _ => {}
        }
    }
}

fn is_context(v: &Value) -> bool {
    v.get("Var").and_then(Value::as_str) == Some("context")
}

/// `context.args.<X>` → `X`.
fn context_arg(expr: &Value) -> Option<&str> {
    let dot = expr.get(".")?;
    let inner = dot.get("left")?.get(".")?;
    (inner.get("left")?.get("Var")?.as_str()? == "context"
        && inner.get("attr")?.as_str()? == "args")
        .then_some(())?;
    dot.get("attr")?.as_str()
}

/// `context has …` or `context.args has …`: true or false, never an error.
fn is_safe_has(expr: &Value) -> bool {
    let Some(left) = expr.get("has").and_then(|h| h.get("left")) else {
        return false;
    };
    if left.get("Var").and_then(Value::as_str) == Some("context") {
        return true;
    }
    left.get(".").is_some_and(|d| {
        d.get("left")
            .and_then(|l| l.get("Var"))
            .and_then(Value::as_str)
            == Some("context")
            && d.get("attr").and_then(Value::as_str) == Some("args")
    })
}

/// The conjuncts of a left-nested `&&` chain, in evaluation order.
fn conjuncts<'a>(expr: &'a Value, out: &mut Vec<&'a Value>) {
    match expr.get("&&") {
        Some(and) => {
            if let (Some(l), Some(r)) = (and.get("left"), and.get("right")) {
                conjuncts(l, out);
                conjuncts(r, out);
            } else {
                out.push(expr);
            }
        }
        None => out.push(expr),
    }
}

/// The argument and literal a policy's condition must match before anything else can fail.
fn guard(policy: &Value) -> Option<(String, Key)> {
    let conditions = policy.get("conditions")?.as_array()?;
    let [only] = conditions.as_slice() else {
        return None;
    };
    if only.get("kind")?.as_str()? != "when" {
        return None;
    }
    let mut parts = Vec::new();
    conjuncts(only.get("body")?, &mut parts);
    for part in parts {
        if is_safe_has(part) {
            continue;
        }
        let eq = part.get("==")?;
        let (l, r) = (eq.get("left")?, eq.get("right")?);
        return match (context_arg(l), context_arg(r)) {
            (Some(arg), None) => Some((arg.to_string(), Key::of_literal(r)?)),
            (None, Some(arg)) => Some((arg.to_string(), Key::of_literal(l)?)),
            _ => None,
        };
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn policy(text: &str) -> Value {
        PolicySet::from_str(text)
            .unwrap()
            .policies()
            .next()
            .unwrap()
            .to_json()
            .unwrap()
    }

    #[test]
    fn guards_are_found_only_where_skipping_is_exact() {
        let g = |t: &str| guard(&policy(t));
        assert_eq!(
            g(
                r#"forbid (principal, action, resource) when { context.args has reason && context.args.reason == "x" && context.session.taint_level > 3 };"#
            ),
            Some(("reason".into(), Key::Str("x".into())))
        );
        assert_eq!(
            g(
                r#"permit (principal, action, resource) when { Host::"dc01" == context.args.host };"#
            ),
            Some(("host".into(), Key::Entity("Host".into(), "dc01".into())))
        );
        assert_eq!(
            g(r#"permit (principal, action, resource) when { context.args.limit == 5 };"#),
            Some(("limit".into(), Key::Long(5)))
        );
        // Something that may fail or is not an equality comes first: no guard.
        assert_eq!(
            g(
                r#"permit (principal, action, resource) when { context.args.n > 3 && context.args.reason == "x" };"#
            ),
            None
        );
        assert_eq!(
            g(r#"permit (principal, action, resource) when { context.args.reason != "x" };"#),
            None
        );
        // Two clauses, or an `unless`: not indexed.
        assert_eq!(
            g(
                r#"permit (principal, action, resource) when { context.args.reason == "x" } when { true };"#
            ),
            None
        );
        assert_eq!(
            g(r#"permit (principal, action, resource) unless { context.args.reason == "x" };"#),
            None
        );
        // Comparing two arguments, or an argument of the session: not indexed.
        assert_eq!(
            g(r#"permit (principal, action, resource) when { context.args.a == context.args.b };"#),
            None
        );
        assert_eq!(
            g(r#"permit (principal, action, resource) when { context.session.id == "x" };"#),
            None
        );
    }

    #[test]
    fn budget_reads_are_found() {
        let reads = |t: &str| {
            let mut r = BudgetReads::default();
            for p in PolicySet::from_str(t).unwrap().policies() {
                r.add(p);
            }
            r
        };
        let r = reads(
            r#"permit (principal, action, resource) when { context.budgets.isolations.used < 3 && context.args.n == 1 };
               permit (principal, action, resource) when { context.session.tainted };"#,
        );
        assert!(!r.all);
        assert!(r.reads("isolations") && !r.reads("other"));
        assert!(
            reads(r#"permit (principal, action, resource) when { context.budgets has x };"#).all
        );
        assert!(reads(r#"permit (principal, action, resource) when { context has budgets };"#).all);
        let none = reads(r#"permit (principal, action, resource);"#);
        assert!(!none.all && none.ids.is_empty() && !none.taint);
    }

    #[test]
    fn taint_reads_are_found() {
        let reads = |t: &str| {
            let mut r = BudgetReads::default();
            for p in PolicySet::from_str(t).unwrap().policies() {
                r.add(p);
            }
            r.taint
        };
        assert!(reads(
            r#"forbid (principal, action, resource) when { context.session.tainted };"#
        ));
        assert!(reads(
            r#"forbid (principal, action, resource) when { context.agent.taint_level > 50 };"#
        ));
        assert!(reads(
            r#"forbid (principal, action, resource) when { context has agent };"#
        ));
        assert!(!reads(
            r#"permit (principal, action, resource) when { context.budgets.mail.used < 3 && context.args.n == 1 };"#
        ));
    }

    #[test]
    fn a_slice_holds_only_rules_for_its_action() {
        let set = PolicySet::from_str(
            r#"
            @id("a") permit (principal, action == Action::"edr.isolate_host", resource);
            @id("b") permit (principal, action == Action::"edr.release_host", resource);
            @id("c") permit (principal, action, resource);
            @id("d") forbid (principal, action in [Action::"edr.isolate_host"], resource);
            @id("e") forbid (principal, action == Action::"edr.isolate_host", resource) when { context.args.reason == "x" };
            "#,
        )
        .unwrap();
        let action = EntityUid::from_str(r#"Action::"edr.isolate_host""#).unwrap();
        let declared = BTreeMap::from([(
            "reason".to_string(),
            ArgSpec {
                ty: ArgType::String,
                required: true,
            },
        )]);
        let s = slice(&set, &action, &declared, &Entities::empty()).unwrap();
        assert_eq!(s.len(), 4);
        let args = |r: &str| {
            serde_json::json!({ "reason": r })
                .as_object()
                .unwrap()
                .clone()
        };
        let count = |a: &Map<String, Value>| {
            s.sets(a, &declared)
                .map(|p| p.policies().count())
                .sum::<usize>()
        };
        assert_eq!(count(&args("x")), 4);
        assert_eq!(count(&args("y")), 3);
        assert_eq!(count(&Map::new()), 4);
    }
}
