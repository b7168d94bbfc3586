//! Prometheus metrics: what a platform team graphs and alerts on.
//!
//! Counters are counted at three places only: the audit log (every event this process records
//! passes through [`Metered`], so decisions, approval steps and findings are counted exactly
//! when they become durable, and the commit's latency is measured there), the upstream call
//! (`Gateway::forward`) and the result screen (`Gateway::answer`). What is state — requests
//! pending and the age of the oldest, active halts, the ledger's size and its last checkpoint,
//! the store's pool — is read from the store when Prometheus scrapes, so it cannot drift and is
//! the same on every replica.
//!
//! Every label value comes from the configuration or from a closed set, never from what an
//! agent sends: a tool, agent, category or server the configuration does not name is
//! `unknown`, a rule it cannot produce is `other`, and a halt's rule keeps only the kind of its
//! scope (`halt:session`, not the session's id). The number of series is bounded by the
//! configuration, whatever an agent tries.

use crate::audit::{Appending, AuditError, AuditLog};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::collections::BTreeSet;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Instant;
use warden_core::{AuditEvent, EventKind};
use warden_policy::{Config, GrantKind};
use warden_store::{OpenRequests, PoolUse, StoredCheckpoint};

/// The value of a label that names something the configuration does not.
pub const UNKNOWN: &str = "unknown";
/// The value of a rule label that no configured or built-in rule has.
pub const OTHER: &str = "other";

/// Rules warden decides by itself, whatever the configuration.
const BUILTIN_RULES: &[&str] = &[
    "default-deny",
    "unknown-tool",
    "argument-check",
    "request-invalid",
    "policy-error",
    "approval-unproven",
    "pending-cap",
    "inventory-stale",
    "floor:irreversible",
    "floor:high-stakes",
    "floor:critical",
];

/// Approval steps (`detail.step` of an `approval` event).
const STEPS: &[&str] = &[
    "asked",
    "notified",
    "approved",
    "denied",
    "expired",
    "escalated",
    "executed",
];

/// Halt scopes by kind.
const SCOPES: &[&str] = &["global", "agent", "category", "session"];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    outcome: String,
    rule: String,
    tool: String,
    category: String,
    agent: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StepLabels {
    step: String,
    category: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AgentLabels {
    agent: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DetectorLabels {
    detector: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VerdictLabels {
    verdict: String,
    tool: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServerLabels {
    server: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UpstreamErrorLabels {
    server: String,
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WitnessLabels {
    witness: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ScopeLabels {
    scope: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

/// No labels: a gauge that is absent until it has a value (`Family` with one empty label set).
type Optional = Family<Vec<(String, String)>, Gauge<f64, AtomicU64>>;

/// The names the configuration in force gives: the only label values besides `unknown`.
#[derive(Debug, Default)]
struct Known {
    tools: BTreeSet<String>,
    servers: BTreeSet<String>,
    agents: BTreeSet<String>,
    categories: BTreeSet<String>,
    rules: BTreeSet<String>,
}

impl Known {
    fn of(config: &Config) -> Self {
        let categories: BTreeSet<String> = config
            .tools
            .values()
            .map(|t| t.labels.category.clone())
            .chain(config.owners.keys().cloned())
            .collect();
        let mut rules: BTreeSet<String> = BUILTIN_RULES.iter().map(|r| r.to_string()).collect();
        for engine in std::iter::once(&config.engine).chain(config.shadow.as_ref()) {
            rules.extend(engine.rules().map(|(id, _, _)| id.to_string()));
        }
        for g in &config.grants {
            rules.insert(match g.kind {
                GrantKind::Autonomy { .. } => format!("autonomy:{}", g.id),
                GrantKind::Permission { .. } => format!("grant:{}", g.id),
            });
        }
        rules.extend(config.budgets.iter().map(|b| format!("budget:{}", b.id)));
        rules.extend(categories.iter().map(|c| format!("review:{c}")));
        rules.extend(SCOPES.iter().map(|s| format!("halt:{s}")));
        Self {
            tools: config.tools.keys().map(ToString::to_string).collect(),
            servers: config.servers.keys().cloned().collect(),
            agents: config
                .agents
                .iter()
                .map(|a| a.principal.0.clone())
                .chain(config.stdio_agent.iter().map(|p| p.0.clone()))
                .collect(),
            categories,
            rules,
        }
    }

    fn pick(set: &BTreeSet<String>, value: Option<&str>) -> String {
        match value {
            Some(v) if set.contains(v) => v.to_string(),
            _ => UNKNOWN.to_string(),
        }
    }

    fn tool(&self, tool: Option<&str>) -> String {
        Self::pick(&self.tools, tool)
    }
    fn agent(&self, agent: Option<&str>) -> String {
        Self::pick(&self.agents, agent)
    }
    fn server(&self, server: &str) -> String {
        Self::pick(&self.servers, Some(server))
    }
    /// A decision without a category (an unknown tool, a global halt) is labelled `none`.
    fn category(&self, category: Option<&str>) -> String {
        match category {
            None | Some("") => "none".to_string(),
            c => Self::pick(&self.categories, c),
        }
    }
    fn rule(&self, rule: Option<&str>) -> String {
        let Some(rule) = rule else {
            return OTHER.to_string();
        };
        // `halt:<scope>` names the halted session or agent: keep the kind of scope only.
        let rule = match rule.strip_prefix("halt:") {
            Some(scope) => format!("halt:{}", scope.split(':').next().unwrap_or_default()),
            None => rule.to_string(),
        };
        if self.rules.contains(&rule) {
            rule
        } else {
            OTHER.to_string()
        }
    }
}

/// The metrics of one gateway. Made with the gateway; read by the metrics listener.
pub struct Metrics {
    registry: Registry,
    known: RwLock<Arc<Known>>,
    decisions: Family<DecisionLabels, Counter>,
    approvals: Family<StepLabels, Counter>,
    events: Family<KindLabels, Counter>,
    findings: Family<DetectorLabels, Counter>,
    rate_limited: Family<AgentLabels, Counter>,
    verdicts: Family<VerdictLabels, Counter>,
    upstream_seconds: Family<ServerLabels, Histogram, fn() -> Histogram>,
    upstream_errors: Family<UpstreamErrorLabels, Counter>,
    reads_unrecorded: Family<ServerLabels, Counter>,
    commit_seconds: Histogram,
    append_errors: Counter,
    holds_pending: Gauge,
    holds_oldest_age: Gauge<f64, AtomicU64>,
    halts_active: Family<ScopeLabels, Gauge>,
    ledger_leaves: Gauge,
    checkpoint_age: Optional,
    checkpoint_size: Optional,
    witness_cosigned: Family<WitnessLabels, Gauge>,
    witness_refused: Family<WitnessLabels, Counter>,
    pool_connections: Family<StateLabels, Gauge>,
    pool_max: Optional,
    scrape_errors: Counter,
    /// `[export]`'s progress.
    export: Arc<ExportGauges>,
}

/// How far a streaming export is behind the ledger: `warden_export_lag_leaves` and
/// `warden_export_last_delivery_age_seconds`. One implementation for both exports: `[export]`
/// under `serve` (registered with the gateway's [`Metrics`]) and `warden audit export --follow
/// --metrics-listen` (registered alone, [`ExportMetrics`]). The export tells where it is
/// ([`ExportGauges::observe_export`]); the lag is worked out at scrape time against the
/// ledger's size then, so an export that stalls shows a growing lag without reporting anything.
#[derive(Debug)]
pub struct ExportGauges {
    /// The first leaf the export has not yet delivered; `u64::MAX` while no export runs.
    next: std::sync::atomic::AtomicU64,
    /// When the export last had a batch acknowledged (Unix milliseconds); `i64::MIN` before.
    delivered_ms: std::sync::atomic::AtomicI64,
    lag: Optional,
    delivery_age: Optional,
}

impl ExportGauges {
    /// The two gauges, registered in `registry` (absent from its text until observed).
    fn register(registry: &mut Registry) -> Self {
        let lag = Optional::default();
        registry.register(
            "export_lag_leaves",
            "Leaves committed to the ledger that the streaming export has not yet delivered; \
             absent when no export runs",
            lag.clone(),
        );
        let delivery_age = Optional::default();
        registry.register(
            "export_last_delivery_age_seconds",
            "Time since the streaming export's destination last acknowledged a batch; absent \
             before the first",
            delivery_age.clone(),
        );
        Self {
            next: std::sync::atomic::AtomicU64::new(u64::MAX),
            delivered_ms: std::sync::atomic::AtomicI64::new(i64::MIN),
            lag,
            delivery_age,
        }
    }

    /// The export will deliver leaf `next` next: at its start (from its cursor) and after each
    /// batch its destination acknowledged (`delivered_at_ms`).
    pub fn observe_export(&self, next: u64, delivered_at_ms: Option<i64>) {
        use std::sync::atomic::Ordering;
        self.next.store(next, Ordering::Relaxed);
        if let Some(at) = delivered_at_ms {
            self.delivered_ms.store(at, Ordering::Relaxed);
        }
    }

    /// Sets the gauges for a scrape: the ledger holds `ledger_size` leaves at `now_ms`.
    fn observe_ledger(&self, ledger_size: u64, now_ms: i64) {
        use std::sync::atomic::Ordering;
        let next = self.next.load(Ordering::Relaxed);
        if next != u64::MAX {
            self.lag
                .get_or_create(&Vec::new())
                .set(ledger_size.saturating_sub(next) as f64);
        }
        let delivered = self.delivered_ms.load(Ordering::Relaxed);
        if delivered != i64::MIN {
            self.delivery_age
                .get_or_create(&Vec::new())
                .set(now_ms.saturating_sub(delivered).max(0) as f64 / 1000.0);
        }
    }
}

/// The export gauges on their own, for `warden audit export --follow --metrics-listen`: a
/// process with no gateway, whose only metrics are how far its stream is behind.
#[derive(Debug)]
pub struct ExportMetrics {
    registry: Registry,
    gauges: Arc<ExportGauges>,
}

impl Default for ExportMetrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("warden");
        let gauges = Arc::new(ExportGauges::register(&mut registry));
        Self { registry, gauges }
    }
}

impl ExportMetrics {
    /// Where the export reports its progress.
    pub fn gauges(&self) -> Arc<ExportGauges> {
        Arc::clone(&self.gauges)
    }

    /// The Prometheus text of the two gauges, the ledger holding `ledger_size` leaves at
    /// `now_ms`; `None` when the ledger's size could not be read (the gauges keep their last
    /// values).
    pub fn encode(&self, ledger_size: Option<u64>, now_ms: i64) -> Result<String, std::fmt::Error> {
        if let Some(size) = ledger_size {
            self.gauges.observe_ledger(size, now_ms);
        }
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// What the store says at scrape time.
#[derive(Debug, Clone, Default)]
pub struct StoreState {
    pub open: OpenRequests,
    /// Active halts' scopes, as stored (`agent:triage`, `global`).
    pub halts: Vec<String>,
    pub ledger_size: u64,
    pub checkpoint: Option<StoredCheckpoint>,
    /// Each tlog-witness's name and the size it last cosigned (0 before the first), from the
    /// records beside the ledger key.
    pub witnesses: Vec<(String, u64)>,
    pub pool: Option<PoolUse>,
}

impl Metrics {
    pub fn new(config: &Config) -> Self {
        let mut registry = Registry::with_prefix("warden");
        let decisions = Family::<DecisionLabels, Counter>::default();
        registry.register(
            "decisions",
            "Decisions recorded on tool calls, by outcome (allow, deny, hold), rule, tool, category and agent",
            decisions.clone(),
        );
        let approvals = Family::<StepLabels, Counter>::default();
        registry.register(
            "approval_steps",
            "Steps of the human gate recorded (asked, approved, denied, expired, escalated, executed), by category",
            approvals.clone(),
        );
        let events = Family::<KindLabels, Counter>::default();
        registry.register(
            "audit_events",
            "Events this process appended to the audit ledger, by kind",
            events.clone(),
        );
        let findings = Family::<DetectorLabels, Counter>::default();
        registry.register(
            "findings",
            "Findings recorded (prompt injection in a result, monitor anomalies), by detector",
            findings.clone(),
        );
        let rate_limited = Family::<AgentLabels, Counter>::default();
        registry.register(
            "agent_requests_refused",
            "Agents' requests refused with 429 for the agent's request rate, by agent",
            rate_limited.clone(),
        );
        let verdicts = Family::<VerdictLabels, Counter>::default();
        registry.register(
            "screen_verdicts",
            "Upstream results screened for prompt injection, by verdict (clean, suspicious, injection) and tool",
            verdicts.clone(),
        );
        let upstream_seconds =
            Family::<ServerLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                upstream_histogram,
            );
        registry.register(
            "upstream_call_seconds",
            "Time an upstream took to answer a forwarded call, by server",
            upstream_seconds.clone(),
        );
        let upstream_errors = Family::<UpstreamErrorLabels, Counter>::default();
        registry.register(
            "upstream_errors",
            "Forwarded calls that got no upstream answer, by server and kind (unavailable, timeout, failed, refused)",
            upstream_errors.clone(),
        );
        let reads_unrecorded = Family::<ServerLabels, Counter>::default();
        registry.register(
            "reads_unrecorded",
            "Reads forwarded while their decision committed whose commit then failed, by server: the upstream may have served them, the agent got nothing, the ledger holds no decision",
            reads_unrecorded.clone(),
        );
        let commit_seconds = Histogram::new(exponential_buckets(0.000_1, 2.0, 16));
        registry.register(
            "ledger_commit_seconds",
            "Time from an audit append to its durable commit (group commit included)",
            commit_seconds.clone(),
        );
        let append_errors = Counter::default();
        registry.register(
            "ledger_append_errors",
            "Audit appends that failed (each refused its call)",
            append_errors.clone(),
        );
        let holds_pending = Gauge::default();
        registry.register(
            "holds_pending",
            "Held calls waiting for a human answer (read from the store at scrape)",
            holds_pending.clone(),
        );
        let holds_oldest_age = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "holds_oldest_age_seconds",
            "Age of the oldest held call still waiting; 0 when none waits",
            holds_oldest_age.clone(),
        );
        let halts_active = Family::<ScopeLabels, Gauge>::default();
        registry.register(
            "halts_active",
            "Active halts, by kind of scope (global, agent, category, session)",
            halts_active.clone(),
        );
        let ledger_leaves = Gauge::default();
        registry.register(
            "ledger_leaves",
            "Leaves in the audit ledger (its size)",
            ledger_leaves.clone(),
        );
        let checkpoint_age = Optional::default();
        registry.register(
            "ledger_checkpoint_age_seconds",
            "Time since the latest signed checkpoint; absent before the first",
            checkpoint_age.clone(),
        );
        let checkpoint_size = Optional::default();
        registry.register(
            "ledger_checkpoint_size",
            "Leaves covered by the latest signed checkpoint; absent before the first",
            checkpoint_size.clone(),
        );
        let export = Arc::new(ExportGauges::register(&mut registry));
        let witness_cosigned = Family::<WitnessLabels, Gauge>::default();
        registry.register(
            "ledger_witness_cosigned_size",
            "Leaves covered by the latest checkpoint each tlog-witness cosigned (0 before the \
             first); above ledger_leaves, the ledger lost its tail",
            witness_cosigned.clone(),
        );
        let witness_refused = Family::<WitnessLabels, Counter>::default();
        registry.register(
            "ledger_witness_refused",
            "Answers from each tlog-witness that warden refused: a cosignature that does not \
             verify or is by another key, a size no checkpoint here reaches, a size below what \
             it cosigned before",
            witness_refused.clone(),
        );
        let pool_connections = Family::<StateLabels, Gauge>::default();
        registry.register(
            "store_pool_connections",
            "PostgreSQL pool connections by state (in_use, idle); absent for SQLite",
            pool_connections.clone(),
        );
        let pool_max = Optional::default();
        registry.register(
            "store_pool_max_connections",
            "The most connections the PostgreSQL pool opens; absent for SQLite",
            pool_max.clone(),
        );
        let scrape_errors = Counter::default();
        registry.register(
            "scrape_errors",
            "Scrapes whose store reads failed (the state gauges kept their last values)",
            scrape_errors.clone(),
        );
        Self {
            registry,
            known: RwLock::new(Arc::new(Known::of(config))),
            decisions,
            approvals,
            events,
            findings,
            verdicts,
            upstream_seconds,
            upstream_errors,
            reads_unrecorded,
            commit_seconds,
            append_errors,
            rate_limited,
            holds_pending,
            holds_oldest_age,
            halts_active,
            ledger_leaves,
            checkpoint_age,
            checkpoint_size,
            witness_cosigned,
            witness_refused,
            pool_connections,
            pool_max,
            scrape_errors,
            export,
        }
    }

    /// Where the streaming export (`[export]` under `serve`) reports its progress.
    pub fn export(&self) -> Arc<ExportGauges> {
        Arc::clone(&self.export)
    }

    /// The configuration in force changed (a reload): its names are the label values now.
    pub fn configure(&self, config: &Config) {
        *self.known.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(Known::of(config));
    }

    fn known(&self) -> Arc<Known> {
        self.known
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Counts a request of `agent` refused for its request rate.
    pub fn rate_limited(&self, agent: &warden_core::Principal) {
        let agent = self.known().agent(Some(&agent.0));
        self.rate_limited
            .get_or_create(&AgentLabels { agent })
            .inc();
    }

    /// Counts an event the audit log made durable.
    fn recorded(&self, event: &AuditEvent) {
        let known = self.known();
        self.events
            .get_or_create(&KindLabels {
                kind: event.kind.map_or(OTHER, EventKind::as_str).to_string(),
            })
            .inc();
        let detail = |key: &str| {
            event
                .detail
                .as_ref()
                .and_then(|d| d.get(key))
                .and_then(|v| v.as_str())
        };
        match event.kind {
            Some(EventKind::Decision) => {
                let outcome = match event.decision.as_deref() {
                    Some(o @ ("allow" | "deny" | "hold")) => o.to_string(),
                    _ => OTHER.to_string(),
                };
                self.decisions
                    .get_or_create(&DecisionLabels {
                        outcome,
                        rule: known.rule(event.rule.as_deref()),
                        tool: known.tool(event.tool.as_deref()),
                        category: known.category(event.category.as_deref()),
                        agent: known.agent(event.principal.as_deref()),
                    })
                    .inc();
            }
            Some(EventKind::Approval) => {
                let step = match detail("step") {
                    Some(s) if STEPS.contains(&s) => s.to_string(),
                    _ => OTHER.to_string(),
                };
                self.approvals
                    .get_or_create(&StepLabels {
                        step,
                        category: known.category(event.category.as_deref()),
                    })
                    .inc();
            }
            Some(EventKind::Finding) => {
                let detector = match detail("detector") {
                    Some(d @ ("warden-screen" | "monitor" | "rate_limit")) => d.to_string(),
                    _ => OTHER.to_string(),
                };
                self.findings
                    .get_or_create(&DetectorLabels { detector })
                    .inc();
            }
            _ => {}
        }
    }

    /// Counts a screened upstream result.
    pub(crate) fn screened(&self, tool: &str, verdict: warden_screen::Verdict) {
        let known = self.known();
        self.verdicts
            .get_or_create(&VerdictLabels {
                verdict: verdict.as_str().to_string(),
                tool: known.tool(Some(tool)),
            })
            .inc();
    }

    /// Times an upstream call; an error is counted by its kind.
    pub(crate) fn upstream(
        &self,
        server: &str,
        seconds: f64,
        error: Option<&crate::upstream::UpstreamError>,
    ) {
        use crate::upstream::UpstreamError;
        let server = self.known().server(server);
        self.upstream_seconds
            .get_or_create(&ServerLabels {
                server: server.clone(),
            })
            .observe(seconds);
        if let Some(e) = error {
            let kind = match e {
                UpstreamError::Unavailable { .. } => "unavailable",
                UpstreamError::Timeout { .. } => "timeout",
                UpstreamError::Failed { .. } => "failed",
                UpstreamError::Refused { .. } => "refused",
                UpstreamError::TooLarge { .. } => "too_large",
            };
            self.upstream_errors
                .get_or_create(&UpstreamErrorLabels {
                    server,
                    kind: kind.to_string(),
                })
                .inc();
        }
    }

    /// A read on `server` was forwarded ahead of its decision's commit, and the commit failed.
    pub(crate) fn read_unrecorded(&self, server: &str) {
        let server = self.known().server(server);
        self.reads_unrecorded
            .get_or_create(&ServerLabels { server })
            .inc();
    }

    /// Sets the state gauges from what the store says now (`now_ms`, the gateway's clock).
    /// Each tlog-witness's name and the answers refused so far by its client (which counts
    /// them): the counter catches up with it.
    pub fn observe_witness_refusals(&self, refused: &[(String, u64)]) {
        for (witness, n) in refused {
            let counter = self.witness_refused.get_or_create(&WitnessLabels {
                witness: witness.clone(),
            });
            let seen = counter.get();
            if *n > seen {
                counter.inc_by(n - seen);
            }
        }
    }

    pub fn observe_store(&self, state: &StoreState, now_ms: i64) {
        let seconds = |ms: i64| ms.max(0) as f64 / 1000.0;
        self.holds_pending
            .set(i64::try_from(state.open.count).unwrap_or(i64::MAX));
        self.holds_oldest_age.set(
            state
                .open
                .oldest_created_ms
                .map_or(0.0, |created| seconds(now_ms - created)),
        );
        for scope in SCOPES {
            let n = state
                .halts
                .iter()
                .filter(|s| s.split(':').next() == Some(scope))
                .count();
            self.halts_active
                .get_or_create(&ScopeLabels {
                    scope: (*scope).to_string(),
                })
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        self.ledger_leaves
            .set(i64::try_from(state.ledger_size).unwrap_or(i64::MAX));
        if let Some(c) = &state.checkpoint {
            self.checkpoint_age
                .get_or_create(&Vec::new())
                .set(seconds(now_ms - c.time_ms));
            self.checkpoint_size
                .get_or_create(&Vec::new())
                .set(c.size as f64);
        }
        for (witness, size) in &state.witnesses {
            self.witness_cosigned
                .get_or_create(&WitnessLabels {
                    witness: witness.clone(),
                })
                .set(i64::try_from(*size).unwrap_or(i64::MAX));
        }
        self.export.observe_ledger(state.ledger_size, now_ms);
        if let Some(pool) = state.pool {
            let in_use = pool.open.saturating_sub(pool.idle);
            for (state, n) in [("in_use", in_use), ("idle", pool.idle)] {
                self.pool_connections
                    .get_or_create(&StateLabels {
                        state: state.to_string(),
                    })
                    .set(i64::from(n));
            }
            self.pool_max
                .get_or_create(&Vec::new())
                .set(f64::from(pool.max));
        }
    }

    /// A scrape whose store reads failed.
    pub fn scrape_failed(&self) {
        self.scrape_errors.inc();
    }

    /// The Prometheus text exposition (version 0.0.4) of every metric.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// The `Content-Type` of [`Metrics::encode`]'s text.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

fn upstream_histogram() -> Histogram {
    // 1 ms to about 33 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// The audit log as the gateway uses it: every append passes to `inner`, and what became
/// durable is counted; an awaited append's time to commit is measured.
pub struct Metered {
    inner: Arc<dyn AuditLog>,
    metrics: Arc<Metrics>,
}

impl Metered {
    pub fn new(inner: Arc<dyn AuditLog>, metrics: Arc<Metrics>) -> Self {
        Self { inner, metrics }
    }

    fn counted(
        &self,
        event: &AuditEvent,
        started: Option<Instant>,
        appended: Result<u64, AuditError>,
    ) -> Result<u64, AuditError> {
        match &appended {
            Ok(_) => {
                if let Some(started) = started {
                    self.metrics
                        .commit_seconds
                        .observe(started.elapsed().as_secs_f64());
                }
                self.metrics.recorded(event);
            }
            Err(_) => {
                self.metrics.append_errors.inc();
            }
        }
        appended
    }
}

impl AuditLog for Metered {
    fn append(&self, event: &AuditEvent) -> Result<u64, AuditError> {
        let started = Instant::now();
        let appended = self.inner.append(event);
        self.counted(event, Some(started), appended)
    }

    fn append_async<'a>(&'a self, event: &'a AuditEvent) -> Appending<'a> {
        Box::pin(async move {
            let started = Instant::now();
            let appended = self.inner.append_async(event).await;
            self.counted(event, Some(started), appended)
        })
    }

    fn append_deferred<'a>(&'a self, event: &'a AuditEvent) -> Appending<'a> {
        // A deferred append waits for another's commit on purpose: not a commit latency.
        Box::pin(async move {
            let appended = self.inner.append_deferred(event).await;
            self.counted(event, None, appended)
        })
    }

    fn shutdown(&self) -> Result<(), AuditError> {
        self.inner.shutdown()
    }

    fn ledger(&self) -> Option<&warden_store::Ledger> {
        self.inner.ledger()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Known {
        Known {
            tools: ["edr.isolate_host".to_string()].into(),
            servers: ["edr".to_string()].into(),
            agents: ["triage".to_string()].into(),
            categories: ["containment".to_string()].into(),
            rules: [
                "default-deny",
                "halt:session",
                "halt:global",
                "permit-reads",
            ]
            .iter()
            .map(|r| r.to_string())
            .collect(),
        }
    }

    #[test]
    fn names_the_configuration_does_not_give_become_unknown() {
        let k = known();
        assert_eq!(k.tool(Some("edr.isolate_host")), "edr.isolate_host");
        assert_eq!(k.tool(Some("edr.isolate_host\u{200b}")), UNKNOWN);
        assert_eq!(k.tool(Some("x".repeat(5000).as_str())), UNKNOWN);
        assert_eq!(k.agent(Some("attacker")), UNKNOWN);
        assert_eq!(k.server("evil"), UNKNOWN);
        assert_eq!(k.category(Some("containment")), "containment");
        assert_eq!(k.category(Some("made-up")), UNKNOWN);
        assert_eq!(k.category(None), "none");
    }

    #[test]
    fn a_halt_rule_keeps_the_kind_of_scope_and_not_the_session() {
        let k = known();
        assert_eq!(k.rule(Some("halt:session:triage:abc-123")), "halt:session");
        assert_eq!(k.rule(Some("halt:session:triage:other")), "halt:session");
        assert_eq!(k.rule(Some("halt:global")), "halt:global");
        assert_eq!(k.rule(Some("permit-reads")), "permit-reads");
        assert_eq!(k.rule(Some("budget:nope")), OTHER);
        assert_eq!(k.rule(None), OTHER);
    }
}
