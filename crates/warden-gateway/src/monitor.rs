//! The anomaly monitor: watches each agent's decisions and raises findings or halts.
//!
//! The core ([`Monitor::observe`]) is pure: an observation of one decision in, the triggers that
//! fired out. It keeps a short window of recent calls per agent and the agent's baseline (tool
//! categories used in allowed calls over `baseline_days`, loaded from the ledger by the glue in
//! [`Gateway::watch`]). Statistical signals never authorise anything: a firing can only alert
//! (a `finding`) or halt a scope (see `halt.rs`).
//!
//! Triggers (each configurable in `[monitor]`):
//! - `denial_burst`: `count` or more denials of one agent (in any of its sessions) within
//!   `window_secs` ⇒ halt agent;
//! - `tainted_high_stakes`: a high or critical stakes call by a tainted session ⇒ halt agent
//!   when the call passes with no human in between (policy allowed it: no hold, no approval);
//!   a call that policy holds for a human, or denies, is an alert (see below);
//! - `new_category`: a category absent from the agent's baseline (skipped with no baseline) ⇒
//!   alert, once per category;
//! - `rate`: more than `per_minute` calls by one agent within 60 s ⇒ halt agent.
//!
//! A trigger fires once, not on every call past its threshold: one that halts fires once per
//! scope while that scope is halted (a halted agent's calls are refused before the monitor
//! sees them, and one in flight as the halt was set adds no finding, halt or alert), and a
//! count trigger set to `alert` fires once per window, as does a `tainted_high_stakes` alert
//! (once a minute per agent). A flood of calls is one finding and one message to the security
//! lead, not one per call.
//!
//! Design choice: a tainted session's high-stakes call that policy holds or denies is a finding
//! and an alert, not a halt. Such a call cannot run alone: the human who answers the hold sees
//! the taint beside it, and a denial runs nothing. What taints an agent is text someone else
//! wrote (a ticket comment another agent or a customer left, a mail): were a held attempt to
//! halt, anyone able to plant suspicious text where an agent reads would halt that agent for
//! everyone, and expire the very request a human should judge. The halt is kept for the call
//! that policy let through unattended (an allow without a hold): there the monitor is the only
//! check left, and it stops the agent from the next call on.
//!
//! Design choice: what the monitor counts and halts is the agent, not the session. Any holder
//! of an agent's token opens a new session with `initialize` (and closes it, giving its place
//! under `max_sessions_per_agent` back), or sends sessionless requests: a count or a halt per
//! session would be escaped by probing, or carrying on, from another one.

use crate::halt::{self, Scope};
use crate::pipeline::{CallError, Gateway};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use warden_core::{AuditEvent, EventKind, Outcome, Stakes};
use warden_policy::{MonitorAction, MonitorSettings};
use warden_store::EventFilter;

/// Most calls kept per agent, whatever the windows (bounds memory under a flood).
const MAX_RECENT: usize = 4096;
/// Most calls quoted as evidence in one firing.
const MAX_EVIDENCE: usize = 20;
const RATE_WINDOW_MS: i64 = 60_000;

/// One decision, as the monitor sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub time_ms: i64,
    /// The decision's ledger index.
    pub index: u64,
    pub principal: String,
    pub session: String,
    pub tool: String,
    pub category: String,
    pub stakes: Stakes,
    pub outcome: Outcome,
    pub tainted: bool,
    /// The call goes to its upstream with no human's answer in between: policy allowed it
    /// (not held, not denied, not a hold that humans approved).
    pub unattended: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Trigger {
    DenialBurst,
    TaintedHighStakes,
    NewCategory,
    Rate,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::DenialBurst => "denial_burst",
            Trigger::TaintedHighStakes => "tainted_high_stakes",
            Trigger::NewCategory => "new_category",
            Trigger::Rate => "rate",
        }
    }
}

/// A trigger that fired: what to do, on which scope, why, and the calls that show it.
#[derive(Debug, Clone, PartialEq)]
pub struct Firing {
    pub trigger: Trigger,
    pub action: MonitorAction,
    pub scope: Scope,
    pub reason: String,
    /// The recent calls: `[{index, time_ms, session, tool, decision}]`.
    pub evidence: Value,
}

#[derive(Debug, Default)]
struct AgentState {
    recent: VecDeque<Observation>,
    /// Categories of allowed calls in the baseline period; `None` until loaded.
    baseline: Option<BTreeSet<String>>,
    /// Categories already alerted on (or seen allowed since), so an alert fires once.
    known: BTreeSet<String>,
    /// When each count trigger whose action is `alert` last fired: once past its count, every
    /// further call would fire it again, so it fires once per window instead.
    alerted: BTreeMap<Trigger, i64>,
}

impl AgentState {
    /// Whether an alert of `trigger` at `now_ms` is the first within the `since` window;
    /// if so it is remembered.
    fn first_alert(&mut self, trigger: Trigger, now_ms: i64, since: i64) -> bool {
        match self.alerted.get(&trigger) {
            Some(last) if *last > since => false,
            _ => {
                self.alerted.insert(trigger, now_ms);
                true
            }
        }
    }
}

/// Per-agent state and the trigger logic. Pure: no clock, no I/O.
#[derive(Debug)]
pub struct Monitor {
    settings: MonitorSettings,
    agents: BTreeMap<String, AgentState>,
}

impl Monitor {
    pub fn new(settings: MonitorSettings) -> Self {
        Self {
            settings,
            agents: BTreeMap::new(),
        }
    }

    pub fn settings(&self) -> &MonitorSettings {
        &self.settings
    }

    /// Whether the `new_category` trigger still needs this agent's baseline.
    pub fn needs_baseline(&self, principal: &str) -> bool {
        self.settings.enabled
            && self.settings.new_category.action != MonitorAction::Off
            && self
                .agents
                .get(principal)
                .is_none_or(|a| a.baseline.is_none())
    }

    /// Sets the agent's baseline categories (empty: no baseline yet, the trigger is skipped).
    pub fn set_baseline(&mut self, principal: &str, categories: BTreeSet<String>) {
        let agent = self.agents.entry(principal.to_string()).or_default();
        agent.known.extend(categories.iter().cloned());
        agent.baseline = Some(categories);
    }

    /// Records one decision and returns the triggers it fired.
    pub fn observe(&mut self, obs: Observation) -> Vec<Firing> {
        if !self.settings.enabled {
            return Vec::new();
        }
        let s = &self.settings;
        let agent = self.agents.entry(obs.principal.clone()).or_default();
        let keep_ms = RATE_WINDOW_MS.max(secs_ms(s.denial_burst.window_secs));
        while agent
            .recent
            .front()
            .is_some_and(|o| o.time_ms <= obs.time_ms - keep_ms)
            || agent.recent.len() >= MAX_RECENT
        {
            agent.recent.pop_front();
        }
        agent.recent.push_back(obs.clone());
        let session_scope = || Scope::Session {
            principal: obs.principal.clone(),
            session: obs.session.clone(),
        };
        let mut out = Vec::new();

        // (a) Denial burst of this agent, in whichever sessions.
        let burst = &s.denial_burst;
        if burst.action != MonitorAction::Off && obs.outcome == Outcome::Deny && burst.count > 0 {
            let since = obs.time_ms - secs_ms(burst.window_secs);
            let denials: Vec<&Observation> = agent
                .recent
                .iter()
                .filter(|o| o.outcome == Outcome::Deny && o.time_ms > since)
                .collect();
            if denials.len() >= usize::try_from(burst.count).unwrap_or(usize::MAX) {
                let sessions: BTreeSet<&str> = denials.iter().map(|o| o.session.as_str()).collect();
                let firing = Firing {
                    trigger: Trigger::DenialBurst,
                    action: burst.action,
                    scope: Scope::Agent(obs.principal.clone()),
                    reason: format!(
                        "{} denials of agent `{}` within {} s (in {} session{})",
                        denials.len(),
                        obs.principal,
                        burst.window_secs,
                        sessions.len(),
                        if sessions.len() == 1 { "" } else { "s" }
                    ),
                    evidence: evidence(denials.into_iter()),
                };
                if burst.action != MonitorAction::Alert
                    || agent.first_alert(Trigger::DenialBurst, obs.time_ms, since)
                {
                    out.push(firing);
                }
            }
        }

        // (b) A tainted session attempts a high-stakes call.
        let th = &s.tainted_high_stakes;
        if th.action != MonitorAction::Off && obs.tainted && obs.stakes >= Stakes::High {
            // Held for a human or denied, the call cannot run alone: an alert, never a halt
            // (see "Design choice" above).
            let (action, how) = match (th.action, obs.unattended) {
                (MonitorAction::Halt, false) => (
                    MonitorAction::Alert,
                    format!(
                        "; {} by policy, so alerted, not halted",
                        answered(obs.outcome)
                    ),
                ),
                (MonitorAction::Halt, true) => {
                    (MonitorAction::Halt, "; allowed with no human".to_string())
                }
                (action, _) => (action, String::new()),
            };
            // An agent that keeps proposing held writes is one alert a minute, not one a call:
            // each held call reaches its approvers anyway, with the taint beside it.
            let since = obs.time_ms - RATE_WINDOW_MS;
            if action != MonitorAction::Alert
                || agent.first_alert(Trigger::TaintedHighStakes, obs.time_ms, since)
            {
                out.push(Firing {
                    trigger: Trigger::TaintedHighStakes,
                    action,
                    scope: Scope::Agent(obs.principal.clone()),
                    reason: format!(
                        "tainted session `{}` attempted `{}` ({} stakes){how}",
                        obs.session,
                        obs.tool,
                        obs.stakes.as_str()
                    ),
                    evidence: evidence(agent.recent.iter().filter(|o| o.session == obs.session)),
                });
            }
        }

        // (c) First use of a category outside the baseline.
        let nc = &s.new_category;
        if nc.action != MonitorAction::Off
            && let Some(baseline) = &agent.baseline
            && !baseline.is_empty()
            && !agent.known.contains(&obs.category)
        {
            agent.known.insert(obs.category.clone());
            out.push(Firing {
                trigger: Trigger::NewCategory,
                action: nc.action,
                scope: match nc.action {
                    MonitorAction::Halt => Scope::Agent(obs.principal.clone()),
                    _ => session_scope(),
                },
                reason: format!(
                    "agent `{}` used category `{}` for the first time (baseline: {})",
                    obs.principal,
                    obs.category,
                    baseline.iter().cloned().collect::<Vec<_>>().join(", ")
                ),
                evidence: evidence(agent.recent.iter().filter(|o| o.session == obs.session)),
            });
        }

        // (d) Call rate of the agent.
        let rate = &s.rate;
        if rate.action != MonitorAction::Off {
            let since = obs.time_ms - RATE_WINDOW_MS;
            let n = agent.recent.iter().filter(|o| o.time_ms > since).count();
            if n > usize::try_from(rate.per_minute).unwrap_or(usize::MAX)
                && (rate.action != MonitorAction::Alert
                    || agent.first_alert(Trigger::Rate, obs.time_ms, since))
            {
                out.push(Firing {
                    trigger: Trigger::Rate,
                    action: rate.action,
                    scope: Scope::Agent(obs.principal.clone()),
                    reason: format!(
                        "agent `{}` made {n} calls within 60 s (limit {})",
                        obs.principal, rate.per_minute
                    ),
                    evidence: evidence(agent.recent.iter().filter(|o| o.time_ms > since)),
                });
            }
        }
        out
    }
}

/// How policy answered a call that did not run unattended.
fn answered(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Deny => "denied",
        Outcome::Hold | Outcome::Allow => "held for a human",
    }
}

fn secs_ms(secs: u64) -> i64 {
    i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX)
}

/// The last `MAX_EVIDENCE` of `calls`, oldest first.
fn evidence<'a>(calls: impl DoubleEndedIterator<Item = &'a Observation>) -> Value {
    let mut last: Vec<Value> = calls
        .rev()
        .take(MAX_EVIDENCE)
        .map(|o| {
            json!({"index": o.index, "time_ms": o.time_ms, "session": o.session,
                   "tool": o.tool, "decision": o.outcome.as_str()})
        })
        .collect();
    last.reverse();
    Value::Array(last)
}

/// Categories of the agent's allowed calls since `since_ms`, in ledger leaves before
/// `before_index` (the decision being observed is not its own baseline).
/// With the ledger's `key`, only decisions its writers appended count: allowed calls written
/// into the store by hand do not make a new category look usual.
pub fn baseline(
    store: &dyn warden_store::Store,
    key: Option<&warden_ledger::LeafKey>,
    principal: &str,
    since_ms: i64,
    before_index: u64,
) -> Result<BTreeSet<String>, warden_store::StoreError> {
    let events = warden_store::ledger::read_deciding_events(
        store,
        &EventFilter {
            kind: Some(EventKind::Decision.as_str().into()),
            principal: Some(principal.into()),
            decision: Some(Outcome::Allow.as_str().into()),
            since_ms: Some(since_ms),
            ..EventFilter::default()
        },
        key,
    )?;
    Ok(events
        .into_iter()
        .filter(|e| e.index < before_index)
        .filter_map(|e| e.event.category)
        .collect())
}

impl Gateway {
    /// The monitor's glue: observe one recorded decision, then record, notify and halt for
    /// each trigger that fired. Failures are logged: the monitor never blocks a call.
    pub(crate) async fn watch(&self, obs: Observation) {
        let needs = self
            .monitor
            .lock()
            .is_ok_and(|m| m.settings().enabled && m.needs_baseline(&obs.principal));
        if needs {
            let days = self.config().monitor.new_category.baseline_days;
            let since = obs.time_ms - secs_ms(days.saturating_mul(86_400));
            let (principal, before) = (obs.principal.clone(), obs.index);
            let loaded = self
                .blocking(move |store, audit| {
                    baseline(store, audit.leaf_key(), &principal, since, before)
                })
                .await;
            match loaded {
                Ok(b) => {
                    if let Ok(mut m) = self.monitor.lock() {
                        m.set_baseline(&obs.principal, b);
                    }
                }
                Err(e) => tracing::error!(error = %e, "monitor baseline not loaded"),
            }
        }
        let firings = match self.monitor.lock() {
            Ok(mut m) => m.observe(obs.clone()),
            Err(_) => return,
        };
        for f in firings {
            if let Err(e) = self.fire(&obs, f).await {
                tracing::error!(error = %e, "monitor finding not recorded");
            }
        }
    }

    async fn fire(&self, obs: &Observation, f: Firing) -> Result<(), CallError> {
        tracing::warn!(trigger = f.trigger.as_str(), scope = %f.scope, reason = %f.reason,
            "monitor fired");
        let mut ev = AuditEvent::new(EventKind::Finding, self.now());
        ev.principal = Some(obs.principal.clone());
        ev.session = Some(obs.session.clone());
        ev.tool = Some(obs.tool.clone());
        ev.category = Some(obs.category.clone());
        ev.reason = Some(format!("monitor: {}", f.reason));
        let action = match f.action {
            MonitorAction::Halt => "halt",
            MonitorAction::Alert => "alert",
            MonitorAction::Off => "off",
        };
        let detail = json!({
            "detector": "monitor",
            "trigger": f.trigger.as_str(),
            "action": action,
            "scope": f.scope.to_string(),
            "evidence": f.evidence,
            "decision_index": obs.index,
        });
        ev.detail = Some(detail.clone());
        // A trigger that halts fires once per scope while the scope is halted: a call that
        // reaches the monitor meanwhile (one in flight as the halt was set) adds no finding,
        // no second halt and no alert.
        if f.action == MonitorAction::Halt && self.halted_exactly(&f.scope).await? {
            return Ok(());
        }
        self.record(ev).await?;
        if f.action == MonitorAction::Halt {
            let set_by = format!("monitor:{}", f.trigger.as_str());
            let set = self
                .set_halt(&f.scope, &set_by, &f.reason, f.evidence.clone())
                .await?;
            if !set {
                // Another call's firing set it first, and alerted.
                return Ok(());
            }
        }
        self.alert_security_lead(&f.reason, detail);
        Ok(())
    }

    /// Whether `scope` itself has an active halt, as the store says now (not the cache: a
    /// halt set by a person or another replica a moment ago counts). Read only when a trigger
    /// fires, never per call.
    async fn halted_exactly(&self, scope: &Scope) -> Result<bool, CallError> {
        let scope = scope.to_string();
        self.blocking(move |store, _| {
            store
                .active_halts()
                .map(|halts| halts.iter().any(|h| h.scope == scope))
        })
        .await
    }

    /// A signed webhook to `approvals.webhook_url`, when configured. Fire and forget.
    fn alert_security_lead(&self, reason: &str, detail: Value) {
        let settings = &self.config().approvals;
        let (Some(url), Some(secret)) = (&settings.webhook_url, &settings.webhook_secret) else {
            return;
        };
        let webhook = match crate::notify::Webhook::new(
            url,
            crate::notify::Secret::new(secret.as_bytes().to_vec()),
        ) {
            Ok(w) => w,
            Err(e) => {
                tracing::error!(error = %e, "monitor webhook misconfigured");
                return;
            }
        };
        let message = json!({
            "text": format!("warden monitor: {reason}"),
            "warden": {"kind": "finding", "detail": detail},
        });
        let client = self.http.clone();
        tokio::spawn(async move {
            if let Err(e) = webhook.deliver(&client, &message).await {
                tracing::error!(error = %e, "monitor webhook not delivered");
            }
        });
    }

    /// Sets a halt from inside the gateway and makes it effective here at once.
    pub(crate) async fn set_halt(
        &self,
        scope: &Scope,
        set_by: &str,
        reason: &str,
        evidence: Value,
    ) -> Result<bool, CallError> {
        let (scope_s, set_by, reason) = (scope.clone(), set_by.to_string(), reason.to_string());
        let now = self.now();
        let set = self
            .blocking(move |store, audit| {
                halt::set(store, audit, &scope_s, &set_by, &reason, evidence, now)
            })
            .await?;
        // Only a halt that was not in force already changes what the cache holds: a firing on
        // a scope already halted leaves every agent's cached halts as they are.
        if set {
            self.halts.invalidate();
            self.tool_lists_may_have_changed();
        }
        // A halt recorded since the last checkpoint is what someone who can write the store
        // and crash warden would cut first. Held by the witnesses, it cannot be cut unseen.
        // The halt is in force either way: a witness that does not take it is logged as the
        // error it is, and the alert still goes out.
        if set
            && self
                .witness(&format!("the halt of `{scope}`"))
                .await
                .is_err()
        {
            tracing::error!(scope = %scope, "the halt stands, unwitnessed");
        }
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn obs(t: i64, session: &str, tool: &str, outcome: Outcome) -> Observation {
        Observation {
            time_ms: t,
            index: u64::try_from(t).unwrap(),
            principal: "triage".into(),
            session: session.into(),
            tool: tool.into(),
            category: "triage".into(),
            stakes: Stakes::Low,
            outcome,
            tainted: false,
            unattended: outcome == Outcome::Allow,
        }
    }

    fn triggers(f: &[Firing]) -> Vec<Trigger> {
        f.iter().map(|f| f.trigger).collect()
    }

    #[test]
    fn a_normal_session_fires_nothing() {
        let mut m = Monitor::new(MonitorSettings::default());
        for i in 0..100 {
            assert!(
                m.observe(obs(i * 1000, "s1", "siem.get_alert", Outcome::Allow))
                    .is_empty()
            );
        }
    }

    #[test]
    fn five_denials_in_a_minute_halt_the_agent_whichever_sessions_they_came_from() {
        let mut m = Monitor::new(MonitorSettings::default());
        // Probing from a new session each time counts all the same.
        for i in 0..4 {
            let session = format!("s{i}");
            assert!(
                m.observe(obs(i * 1000, &session, "edr.isolate_host", Outcome::Deny))
                    .is_empty()
            );
        }
        let f = m.observe(obs(5000, "s9", "edr.isolate_host", Outcome::Deny));
        assert_eq!(triggers(&f), [Trigger::DenialBurst]);
        assert_eq!(f[0].action, MonitorAction::Halt);
        assert_eq!(f[0].scope.to_string(), "agent:triage");
        assert_eq!(f[0].evidence.as_array().unwrap().len(), 5);
        assert!(f[0].reason.contains("in 5 sessions"), "{}", f[0].reason);
    }

    #[test]
    fn denials_spread_beyond_the_window_do_not_fire() {
        let mut m = Monitor::new(MonitorSettings::default());
        for i in 0..10 {
            let f = m.observe(obs(i * 20_000, "s1", "edr.isolate_host", Outcome::Deny));
            assert!(f.is_empty(), "{f:?}");
        }
    }

    #[test]
    fn a_tainted_session_whose_high_stakes_call_runs_unattended_is_halted() {
        let mut m = Monitor::new(MonitorSettings::default());
        let mut o = obs(0, "s1", "edr.isolate_host", Outcome::Allow);
        o.stakes = Stakes::High;
        assert!(m.observe(o.clone()).is_empty());
        o.tainted = true;
        let f = m.observe(o);
        assert_eq!(triggers(&f), [Trigger::TaintedHighStakes]);
        assert_eq!(f[0].action, MonitorAction::Halt);
        assert_eq!(f[0].scope.to_string(), "agent:triage");
    }

    /// Held for a human, denied, or a hold that humans approved: the call cannot run alone, so
    /// text someone planted where the agent reads does not halt it. An alert, once a minute.
    #[test]
    fn a_tainted_high_stakes_call_that_a_human_answers_or_policy_denies_only_alerts() {
        // (A hold that humans approved is observed as the hold it was.)
        for outcome in [Outcome::Hold, Outcome::Deny] {
            let mut m = Monitor::new(MonitorSettings::default());
            let attempt = |t: i64| {
                let mut o = obs(t, "s1", "edr.isolate_host", outcome);
                o.stakes = Stakes::Critical;
                o.tainted = true;
                o
            };
            let tainted = |f: Vec<Firing>| -> Vec<Firing> {
                // (Denials also count towards the denial burst, which is not this test's.)
                f.into_iter()
                    .filter(|f| f.trigger == Trigger::TaintedHighStakes)
                    .collect()
            };
            let f = tainted(m.observe(attempt(0)));
            assert_eq!(f.len(), 1);
            assert_eq!(f[0].action, MonitorAction::Alert, "{}", f[0].reason);
            // More attempts within the minute are the same alert.
            for t in 1..30 {
                assert!(
                    tainted(m.observe(attempt(t * 1000))).is_empty(),
                    "{outcome:?}"
                );
            }
            assert_eq!(tainted(m.observe(attempt(61_000))).len(), 1);
            // One that would run unattended halts, whatever was alerted before.
            let mut run = attempt(62_000);
            run.outcome = Outcome::Allow;
            run.unattended = true;
            let f = tainted(m.observe(run));
            assert_eq!(f[0].action, MonitorAction::Halt);
        }
    }

    #[test]
    fn a_new_category_alerts_once_and_only_with_a_baseline() {
        let mut m = Monitor::new(MonitorSettings::default());
        let mut o = obs(0, "s1", "mail.send_mail", Outcome::Allow);
        o.category = "communication".into();
        m.set_baseline("triage", BTreeSet::new());
        assert!(m.observe(o.clone()).is_empty(), "no baseline: skipped");
        let mut m = Monitor::new(MonitorSettings::default());
        m.set_baseline("triage", BTreeSet::from(["triage".to_string()]));
        assert!(
            m.observe(obs(0, "s1", "siem.get_alert", Outcome::Allow))
                .is_empty()
        );
        let f = m.observe(o.clone());
        assert_eq!(triggers(&f), [Trigger::NewCategory]);
        assert_eq!(f[0].action, MonitorAction::Alert);
        assert!(m.observe(o).is_empty(), "once per category");
    }

    #[test]
    fn more_than_the_rate_halts_the_agent() {
        let mut m = Monitor::new(MonitorSettings::default());
        for i in 0..120 {
            let s = format!("s{}", i % 7);
            assert!(
                m.observe(obs(i * 100, &s, "siem.get_alert", Outcome::Allow))
                    .is_empty()
            );
        }
        let f = m.observe(obs(12_000, "s0", "siem.get_alert", Outcome::Allow));
        assert_eq!(triggers(&f), [Trigger::Rate]);
        assert_eq!(f[0].scope.to_string(), "agent:triage");
        // A minute later the window is clear again.
        assert!(
            m.observe(obs(80_000, "s0", "siem.get_alert", Outcome::Allow))
                .is_empty()
        );
    }

    /// Past the count, every further denial or call would fire again: set to alert, a count
    /// trigger fires once per window, and again once the window has passed.
    #[test]
    fn an_alerting_count_trigger_fires_once_per_window_not_once_per_call() {
        let mut s = MonitorSettings::default();
        s.denial_burst.action = MonitorAction::Alert;
        s.rate.action = MonitorAction::Alert;
        s.rate.per_minute = 10;
        let mut m = Monitor::new(s);
        let mut fired = Vec::new();
        for i in 0..50 {
            fired.extend(triggers(&m.observe(obs(
                i * 100,
                "s1",
                "edr.isolate_host",
                Outcome::Deny,
            ))));
        }
        fired.sort_by_key(|t| t.as_str());
        assert_eq!(fired, [Trigger::DenialBurst, Trigger::Rate]);
        // A window later, the flood still going on is reported again, once.
        let mut later = Vec::new();
        for i in 0..50 {
            later.extend(triggers(&m.observe(obs(
                70_000 + i * 100,
                "s1",
                "edr.isolate_host",
                Outcome::Deny,
            ))));
        }
        later.sort_by_key(|t| t.as_str());
        assert_eq!(later, [Trigger::DenialBurst, Trigger::Rate]);
    }

    #[test]
    fn off_and_disabled_fire_nothing() {
        let mut s = MonitorSettings::default();
        s.denial_burst.action = MonitorAction::Off;
        let mut m = Monitor::new(s);
        for i in 0..10 {
            assert!(m.observe(obs(i, "s1", "x.y", Outcome::Deny)).is_empty());
        }
        let mut m = Monitor::new(MonitorSettings {
            enabled: false,
            ..MonitorSettings::default()
        });
        for i in 0..10 {
            assert!(m.observe(obs(i, "s1", "x.y", Outcome::Deny)).is_empty());
        }
    }
}
