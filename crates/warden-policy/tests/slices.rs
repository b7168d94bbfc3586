//! Per-tool policy slices must decide exactly as Cedar does over the whole policy set: the same
//! outcome, rule, owner and reason for every call, including calls on which a rule errors.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use proptest::prelude::*;
use serde_json::{Map, Value, json};
mod support;

use warden_core::{Principal, ToolName};
use warden_policy::{CallState, Config};

const HOSTS: [&str; 5] = ["ws-042", "ws-017", "dc01", "srv-db01", "ws-103"];
const REASONS: [&str; 3] = ["r0", "r1", "r2"];

/// One generated rule: effect, guard shape and what follows the guard.
#[derive(Debug, Clone)]
struct Rule {
    forbid: bool,
    hold: bool,
    /// 0: `reason == …` after `has`; 1: `host == Host::…`; 2: literal on the left;
    /// 3: no guard (a comparison that cannot be indexed).
    shape: u8,
    value: usize,
    /// 0: nothing; 1: a taint threshold; 2: an expression that overflows (an error) when the
    /// session's taint level is 2 or more.
    tail: u8,
    threshold: i64,
    action: u8,
}

fn rule_text(i: usize, r: &Rule) -> String {
    let effect = if r.forbid { "forbid" } else { "permit" };
    let action = match r.action {
        0 => r#"action == Action::"edr.isolate_host""#.to_string(),
        1 => r#"action in [Action::"edr.isolate_host", Action::"edr.release_host"]"#.into(),
        // Unconstrained only over the session (other tools lack these arguments).
        2 if r.shape == 3 => "action".into(),
        2 => r#"action in [Action::"edr.isolate_host", Action::"edr.release_host"]"#.into(),
        _ => r#"action == Action::"edr.release_host""#.into(),
    };
    let guard = match r.shape {
        0 => format!(
            r#"context.args has reason && context.args.reason == "{}""#,
            REASONS[r.value % REASONS.len()]
        ),
        1 => format!(
            r#"context.args.host == Host::"{}""#,
            HOSTS[r.value % HOSTS.len()]
        ),
        2 => format!(
            r#"Host::"{}" == context.args.host"#,
            HOSTS[r.value % HOSTS.len()]
        ),
        _ => format!("context.session.taint_level != {}", r.value),
    };
    let tail = match r.tail {
        0 => String::new(),
        1 => format!(" && context.session.taint_level > {}", r.threshold),
        _ => " && context.session.taint_level * 9223372036854775807 > 0".into(),
    };
    let hold = if r.hold {
        "@approval(\"required\")\n"
    } else {
        ""
    };
    format!(
        "@id(\"gen-{i}\")\n{hold}{effect} (principal, {action}, resource)\nwhen {{ {guard}{tail} }};\n"
    )
}

fn config_with(rules: &[Rule]) -> (tempfile::TempDir, Config) {
    let text: String = rules
        .iter()
        .enumerate()
        .map(|(i, r)| rule_text(i, r))
        .collect();
    support::example_with(&text)
}

fn rule() -> impl Strategy<Value = Rule> {
    (
        any::<bool>(),
        prop::bool::weighted(0.2),
        0u8..4,
        0usize..5,
        0u8..3,
        0i64..4,
        0u8..4,
    )
        .prop_map(
            |(forbid, hold, shape, value, tail, threshold, action)| Rule {
                forbid: forbid || hold,
                hold,
                shape,
                value,
                tail,
                threshold,
                action,
            },
        )
}

/// A call: tool (isolate or release), host, reason (or none), taint level.
fn call() -> impl Strategy<Value = (bool, usize, Option<usize>, i64)> {
    (
        any::<bool>(),
        0usize..HOSTS.len(),
        prop::option::of(0usize..REASONS.len() + 1),
        0i64..4,
    )
}

fn decide_both(config: &Config, call: &(bool, usize, Option<usize>, i64)) -> (String, String) {
    let (isolate, host, reason, taint) = *call;
    let tool = if isolate {
        ToolName::new("edr", "isolate_host")
    } else {
        ToolName::new("edr", "release_host")
    };
    let mut args: Map<String, Value> = Map::new();
    args.insert("host".into(), json!(HOSTS[host]));
    if isolate {
        args.insert("incident".into(), json!("INC-1042"));
    }
    if let Some(r) = reason {
        // One value no rule names.
        let v = REASONS.get(r).copied().unwrap_or("unnamed");
        args.insert("reason".into(), json!(v));
    }
    let state = CallState {
        now: 1_767_225_600,
        taint_level: taint,
        session_tainted: taint >= 2,
        ..CallState::default()
    };
    let principal = Principal("responder".into());
    let sliced = config.engine.decide(&principal, &tool, &args, "s", &state);
    let whole = config
        .engine
        .unsliced()
        .decide(&principal, &tool, &args, "s", &state);
    (format!("{sliced:?}"), format!("{whole:?}"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn slices_decide_like_the_whole_set(
        rules in prop::collection::vec(rule(), 0..40),
        calls in prop::collection::vec(call(), 1..12),
    ) {
        let (_dir, config) = config_with(&rules);
        for c in &calls {
            let (sliced, whole) = decide_both(&config, c);
            prop_assert_eq!(sliced, whole, "call {:?}", c);
        }
    }
}

#[test]
fn a_guarded_rule_that_errors_still_denies_when_its_argument_is_absent_or_matches() {
    let rules = [Rule {
        forbid: false,
        hold: false,
        shape: 0,
        value: 1,
        tail: 2,
        threshold: 0,
        action: 0,
    }];
    let (_dir, config) = config_with(&rules);
    // reason "r1" matches the guard; taint 3 overflows: the rule errors, so the call is denied.
    let (sliced, whole) = decide_both(&config, &(true, 0, Some(1), 3));
    assert_eq!(sliced, whole);
    assert!(sliced.contains("policy-error"), "{sliced}");
    // Another reason: the guard is false before the overflow, Cedar never reaches it.
    let (sliced, whole) = decide_both(&config, &(true, 0, Some(0), 3));
    assert_eq!(sliced, whole);
    assert!(!sliced.contains("policy-error"), "{sliced}");
}
