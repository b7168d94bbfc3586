//! The data path of one `tools/call`, in one function.
//!
//! `Gateway::pipeline` is the whole order of stages; read it top to bottom. The only way to reach
//! an upstream is `Upstream::call(&Authorized)`, and an `Authorized` can only be made in this
//! module from an Allow decision that is already in the audit log.

mod holding;
mod refresh;
mod unscreened;
pub use unscreened::Outstanding;

use crate::audit::{AuditLog, Recorded};
use crate::catalog::{Catalog, definition_digest};
use crate::clock::{Clock, SystemClock};
use crate::failure::Failure;
use crate::gate::{Binding, Taken};
use crate::halt::{HaltCache, Scope};
use crate::monitor::{Monitor, Observation};
use crate::screening::Screening;
use crate::upstream::{McpUpstream, Upstream, UpstreamError};
use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio_util::task::TaskTracker;
use tracing::Instrument as _;
use unscreened::Unscreened;
use warden_core::{
    ApprovalKind, ApprovalStatus, ArgsDigest, AuditEvent, Effect, EventKind, Outcome, ToolCall,
    ToolName, sha256_hex,
};
use warden_policy::{ArgType, BudgetScope, CallState, Config, Decision, OutboundState};
use warden_screen::outbound::OutboundReport;
use warden_store::{
    Halt, LedgerError, PendingRequest, RequestFilter, Store, StoreError, Transience,
};

/// What the gate (steps 4–5) made of a decision: one of four, and only a hold that humans
/// approved carries the approval it will spend.
#[derive(Debug)]
pub enum Gate {
    Deny(Decision),
    /// Held for humans: a new request.
    Hold(Decision),
    /// Held, and humans approved exactly this call: the ledger proved it, the budgets counted
    /// it, and the approval is taken.
    Approved(Decision, Box<Taken>),
    Allow(Decision),
}

impl Gate {
    pub fn decision(&self) -> &Decision {
        match self {
            Self::Deny(d) | Self::Hold(d) | Self::Approved(d, _) | Self::Allow(d) => d,
        }
    }
}

/// Which front a call came through: it decides which part of the catalog it may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// An MCP `tools/call`: upstream tools, which warden forwards.
    Mcp,
    /// A Claude Code hook: the tools Claude Code runs itself (`claude.*`).
    Hook,
}

/// What humans made of a new hold while the call waited for them.
#[derive(Debug)]
pub(crate) enum Awaited {
    /// Approved in time: taken, and its execution recorded.
    Authorized(Authorized),
    /// The approval could not be used (the ledger does not back it, a budget is used up).
    Denied(Decision),
    /// No answer in time (or a refusal): the call stays held, its request pending or answered.
    StillHeld,
}

/// What stages 0–7 made of a call.
#[derive(Debug)]
pub enum Verdict {
    /// A halt covers it; recorded as a denial by `halt:<scope>`.
    Halted(Scope, Halt),
    Denied(Decision),
    /// Held for humans: request `request` is stored and its approvers asked.
    Held {
        call: ToolCall,
        spec: warden_policy::ToolSpec,
        decision: Decision,
        request: String,
    },
    /// Allowed, or approved, and recorded: the ticket.
    Authorized {
        authorized: Authorized,
        spec: warden_policy::ToolSpec,
    },
}

/// Whether the audit log is failing, as the appends the gateway awaited saw it. Each append
/// takes an attempt number before it is queued; a failure marks the log failing until an append
/// that was queued after it succeeds, so that a success of an earlier batch, whose task happens
/// to wake later, does not clear it.
#[derive(Debug, Default)]
struct LedgerHealth {
    attempts: AtomicU64,
    last_failed: AtomicU64,
    last_succeeded: AtomicU64,
}

impl LedgerHealth {
    /// The number of an append about to be queued (from 1).
    fn attempt(&self) -> u64 {
        self.attempts.fetch_add(1, Ordering::SeqCst) + 1
    }

    fn settled(&self, attempt: u64, ok: bool) {
        let mark = if ok {
            &self.last_succeeded
        } else {
            &self.last_failed
        };
        mark.fetch_max(attempt, Ordering::SeqCst);
    }

    fn failing(&self) -> bool {
        self.last_failed.load(Ordering::SeqCst) > self.last_succeeded.load(Ordering::SeqCst)
    }
}

/// What stages 0–5 made of a call.
pub(crate) enum Decided {
    /// A halt covers it; the refusal is already recorded.
    Halted(Arc<Config>, Box<(Scope, Halt)>),
    /// The gate's answer and the event that records it, not yet recorded.
    Gated(Box<Gated>),
}

pub(crate) struct Gated {
    gate: Gate,
    event: AuditEvent,
    after: AfterRecord,
}

/// What the stages after the record (7, and the verdict) need from the earlier ones.
pub(crate) struct AfterRecord {
    config: Arc<Config>,
    call: ToolCall,
    spec: warden_policy::ToolSpec,
    state: CallState,
    outbound: OutboundReport,
    shadow: Option<AuditEvent>,
    request_id: Option<String>,
    now: i64,
    /// The agent's result gate, held shared from here to the screen of the call's result when
    /// the gate let the call through (empty otherwise).
    unscreened: Unscreened,
    /// A held call's place under its agent's cap on waiting requests, until its request is
    /// stored.
    hold_slot: Option<holding::Slot>,
}

/// A read the gate allowed, whose decision is still being made durable. It may reach the
/// upstream now: a read changes nothing there, so forwarding it while the decision commits
/// only saves the agent the wait. What comes back is held until the decision is durable and
/// discarded if it cannot be made so ([`Gateway::read_ahead`] is the only place that forwards
/// one). Made only by [`ReadAhead::of`], from an Allow of a tool the configuration labels a
/// read; writes, and every call humans approved, wait for their record.
#[derive(Debug, Clone, Copy)]
pub struct ReadAhead<'a> {
    call: &'a ToolCall,
}

impl<'a> ReadAhead<'a> {
    /// `call`, when the gate allowed it and its tool is configured as a read. `call` must be
    /// the call `gate` decided (the caller passes `after`'s, or a copy of it).
    fn of(gate: &Gate, spec: &warden_policy::ToolSpec, call: &'a ToolCall) -> Option<Self> {
        let reads = spec.labels.effect == Effect::Read && spec.name == call.tool;
        match gate {
            Gate::Allow(decision) if decision.outcome() == Outcome::Allow && reads => {
                Some(Self { call })
            }
            Gate::Allow(_) | Gate::Deny(_) | Gate::Hold(_) | Gate::Approved(..) => None,
        }
    }

    pub fn call(&self) -> &ToolCall {
        self.call
    }
}

/// What lets a call reach an upstream ([`crate::Upstream::call`]); only the pipeline has one
/// to give.
#[derive(Debug, Clone, Copy)]
pub enum Ticket<'a> {
    /// A recorded allowing decision, or a proven, taken approval.
    Recorded(&'a Authorized),
    /// A read whose allowing decision is committing; its result waits for the commit.
    ReadAhead(ReadAhead<'a>),
}

impl Ticket<'_> {
    pub fn call(&self) -> &ToolCall {
        match self {
            Self::Recorded(authorized) => authorized.call(),
            Self::ReadAhead(ahead) => ahead.call(),
        }
    }

    /// The ledger index of the decision, where it is already durable.
    pub fn decision_index(&self) -> Option<u64> {
        match self {
            Self::Recorded(authorized) => Some(authorized.decision_index()),
            Self::ReadAhead(_) => None,
        }
    }
}

/// Proof that a call passed policy, or was approved by the humans it needed, and was recorded:
/// the ticket to an upstream for every call but a read forwarded ahead ([`ReadAhead`]), and the
/// only one under which an answer is released. Its fields are private and it is made only from the audit
/// log's receipt for the gate's answer ([`Recorded<Gate>`]), by `Authorized::permit` and
/// `Authorized::approved` below.
#[derive(Debug)]
pub struct Authorized {
    call: ToolCall,
    rule: String,
    decision_index: u64,
    /// Until the call's result has been screened (and this is dropped), no decision that reads
    /// the agent's taint is made ([`unscreened`]).
    unscreened: Unscreened,
}

impl Authorized {
    /// A call the recorded decision allows.
    fn permit(call: ToolCall, recorded: &Recorded<Gate>, unscreened: Unscreened) -> Option<Self> {
        match recorded.value() {
            Gate::Allow(decision) if decision.outcome() == Outcome::Allow => Some(Self {
                call,
                rule: decision.rule().to_string(),
                decision_index: recorded.index(),
                unscreened,
            }),
            _ => None,
        }
    }

    /// A held call whose recorded gate answer carries the approval taken for it, bound to these
    /// exact arguments, this policy, principal and session, and already `executed`.
    fn approved(call: ToolCall, recorded: &Recorded<Gate>, unscreened: Unscreened) -> Option<Self> {
        let Gate::Approved(decision, taken) = recorded.value() else {
            return None;
        };
        let request = taken.request();
        // Checked again here, from the call itself: the ticket is made for no other call.
        let bound = request.status == ApprovalStatus::Executed
            && Binding::of(&call, decision.policy_version()).matches(request);
        (decision.outcome() == Outcome::Hold && bound).then(|| Self {
            rule: decision.rule().to_string(),
            call,
            decision_index: recorded.index(),
            unscreened,
        })
    }

    pub fn call(&self) -> &ToolCall {
        &self.call
    }
    pub fn rule(&self) -> &str {
        &self.rule
    }
    pub fn decision_index(&self) -> u64 {
        self.decision_index
    }

    /// The call's result has been screened and any taint it raised is recorded: the agent's
    /// next decision that reads the taint may be made.
    fn screened(&mut self) {
        drop(std::mem::take(&mut self.unscreened));
    }
}

/// Why a call got no upstream answer. Each maps to one wire form in `front`.
///
/// The failures keep what failed ([`Failure`]), so the wire can say whether the same call may
/// succeed later ([`CallError::transience`]); their text is for the operator's log only.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// Unlisted, withheld or missing: deliberately indistinguishable.
    #[error("unknown tool `{0}`")]
    UnknownTool(String),
    /// warden itself failed (store, audit log): the call is refused, never forwarded.
    #[error("warden could not process this call safely, so it was not forwarded")]
    Internal(#[source] Failure),
    /// An allowed read's decision could not be recorded: the call is refused, and whatever the
    /// upstream answered (the read may have been forwarded while its decision committed) is
    /// discarded unread.
    #[error(
        "warden could not record this call's decision, so it was refused; anything the upstream answered was discarded"
    )]
    Unrecorded(#[source] Failure),
}

impl CallError {
    /// Whether warden failed, and if so whether the same call may succeed later; `None` for
    /// an unknown tool, which no retry changes.
    pub fn transience(&self) -> Option<Transience> {
        match self {
            Self::UnknownTool(_) => None,
            Self::Internal(failure) | Self::Unrecorded(failure) => Some(failure.transience()),
        }
    }

    /// What failed inside warden, for the operator's log; `None` for an unknown tool.
    pub fn failure(&self) -> Option<&Failure> {
        match self {
            Self::UnknownTool(_) => None,
            Self::Internal(failure) | Self::Unrecorded(failure) => Some(failure),
        }
    }

    /// warden's own failure, not the store's ([`Failure::Warden`]).
    pub(crate) fn warden(why: impl Into<String>) -> Self {
        Self::Internal(Failure::warden(why))
    }
}

impl From<Failure> for CallError {
    fn from(e: Failure) -> Self {
        Self::Internal(e)
    }
}

impl From<StoreError> for CallError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.into())
    }
}

impl From<LedgerError> for CallError {
    fn from(e: LedgerError) -> Self {
        Self::Internal(e.into())
    }
}

impl From<crate::audit::AuditError> for CallError {
    fn from(e: crate::audit::AuditError) -> Self {
        Self::Internal(e.into())
    }
}

/// The system clock, for callers outside a gateway (the CLI); a gateway reads its own
/// [`Clock`].
pub fn now_ms() -> i64 {
    crate::clock::system_now_ms()
}

/// What a gateway is made of. `Gateway::new` fills in the system clock and MCP upstreams for
/// the configured servers; tests give a manual clock and scripted upstreams.
pub struct GatewayParts {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub audit: Arc<dyn AuditLog>,
    pub clock: Arc<dyn Clock>,
    /// By server name; `None`: an [`McpUpstream`] for each configured server.
    pub upstreams: Option<Vec<Arc<dyn Upstream>>>,
}

pub struct Gateway {
    /// The configuration in force; replaced whole by a policy reload. Read with `config()`,
    /// which clones the `Arc` under a brief lock (never held across an `.await`), so one call
    /// sees one configuration from start to end.
    config: RwLock<Arc<Config>>,
    pub store: Arc<dyn Store>,
    /// The audit log, counted on its way (`metrics::Metered`).
    pub audit: Arc<dyn AuditLog>,
    pub catalog: Arc<Catalog>,
    /// Prometheus metrics (`metrics.rs`), served by `server::metrics` when configured.
    pub metrics: Arc<crate::metrics::Metrics>,
    pub screening: Arc<Screening>,
    /// For webhooks.
    pub(crate) http: reqwest::Client,
    upstreams: BTreeMap<String, Arc<dyn Upstream>>,
    in_flight: Semaphore,
    /// Calls in flight to each upstream, within `in_flight`: one that never answers holds at
    /// most `max_concurrent_calls_per_server` of them.
    in_flight_per_server: BTreeMap<String, Semaphore>,
    /// Long texts screened on the blocking pool at once: one per core.
    long_screens: Semaphore,
    /// Where every stage reads "now".
    clock: Arc<dyn Clock>,
    /// The active halts, re-read from the store at most every `halt::REFRESH`.
    pub(crate) halts: HaltCache,
    /// Bumped when what some agent may list may have changed (`listing.rs`).
    pub(crate) list_changes: crate::listing::ListChanges,
    /// The agents' taints as the ledger records them, beside the store's rows.
    pub(crate) recorded_taints: Arc<crate::taint::RecordedTaints>,
    /// The halts as the ledger records them, read on incrementally.
    pub(crate) recorded_halts: Arc<std::sync::Mutex<crate::halt::RecordedHalts>>,
    /// The tool pins the ledger records, read on incrementally.
    recorded_pins: Arc<std::sync::Mutex<crate::recorded::RecordedPins>>,
    /// The approvals this process took, refused a second time whatever the store says.
    pub(crate) taken_requests: Arc<crate::gate::TakenRequests>,
    /// Per-agent anomaly state; locked briefly, never across an `.await`.
    pub(crate) monitor: Mutex<Monitor>,
    /// Audit appends the agent's answer does not wait for (outcomes), so that
    /// [`Gateway::flush_audit`] can wait for them before the ledger closes.
    detached: TaskTracker,
    /// Categories that need approval because their review fell behind (`review_check`).
    pub(crate) tightened: crate::review::Tightened,
    /// The live inventory's age and entities (`inventory.rs`).
    pub inventory: crate::inventory::LiveInventory,
    /// Per agent: held from reading budget counts to counting the call, for tools whose policy
    /// reads a count ("a sixth comment needs a human"), so that concurrent calls cannot all
    /// decide on the same count.
    deciding: holding::AgentLocks,
    /// Per agent: the held calls whose requests are not stored yet, counted under
    /// `max_pending_per_agent` with the stored ones ([`holding`]).
    holding: holding::Holding,
    /// Per agent: the results still to be screened, which a decision that reads the taint
    /// waits for ([`unscreened`]).
    unscreened: unscreened::Gates,
    /// Makes a span the child of the trace an agent's HTTP request names (W3C `traceparent`),
    /// when the binary exports traces; unset, requests start their own traces.
    trace_parent: std::sync::OnceLock<TraceParent>,
    /// Claude Code calls warden allowed whose report has not come yet, by (agent,
    /// `tool_use_id`). Bounded (`hooks::MAX_PENDING_OUTCOMES`).
    pub(crate) hook_decisions: Mutex<crate::hooks::AllowedCalls>,
    /// Whether the ledger is failing: no read is forwarded ahead of its decision's commit while
    /// it is ([`LedgerHealth`]).
    ledger_health: LedgerHealth,
    /// Each tlog-witness client's name and its count of refused answers, for the metrics; set
    /// once, by the binary, from the ledger's sinks.
    pub(crate) witness_refusals: std::sync::OnceLock<Vec<(String, Arc<AtomicU64>)>>,
    /// Catalog refreshes, one at a time ([`Gateway::refresh_catalog`]).
    refresher: refresh::Refresher,
}

/// Sets a span's parent from an HTTP request's headers (the binary's OpenTelemetry propagator).
pub type TraceParent = Arc<dyn Fn(&tracing::Span, &http::HeaderMap) + Send + Sync>;

impl Gateway {
    pub fn new(config: Arc<Config>, store: Arc<dyn Store>, audit: Arc<dyn AuditLog>) -> Arc<Self> {
        Self::assemble(GatewayParts {
            config,
            store,
            audit,
            clock: Arc::new(SystemClock),
            upstreams: None,
        })
    }

    pub fn assemble(parts: GatewayParts) -> Arc<Self> {
        let GatewayParts {
            config,
            store,
            audit,
            clock,
            upstreams,
        } = parts;
        let upstreams = upstreams
            .unwrap_or_else(|| {
                config
                    .servers
                    .values()
                    .map(|s| {
                        Arc::new(
                            McpUpstream::with_clock(
                                s.clone(),
                                config.gateway.upstream_timeout,
                                clock.clone(),
                            )
                            .with_max_result_bytes(config.gateway.max_result_bytes),
                        ) as Arc<dyn Upstream>
                    })
                    .collect()
            })
            .into_iter()
            .map(|u| (u.name().to_string(), u))
            .collect::<BTreeMap<_, _>>();
        let in_flight_per_server = upstreams
            .keys()
            .map(|name| {
                let permits = config.gateway.max_concurrent_calls_per_server;
                (name.clone(), Semaphore::new(permits))
            })
            .collect();
        let metrics = Arc::new(crate::metrics::Metrics::new(&config));
        let audit: Arc<dyn AuditLog> =
            Arc::new(crate::metrics::Metered::new(audit, metrics.clone()));
        Arc::new(Self {
            metrics,
            catalog: Arc::new(Catalog::new(config.tools.values().cloned())),
            in_flight: Semaphore::new(config.gateway.max_concurrent_calls),
            in_flight_per_server,
            long_screens: Semaphore::new(
                std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get),
            ),
            screening: Arc::new(Screening::new(config.screen.clone())),
            http: reqwest::Client::new(),
            halts: HaltCache::new(clock.clone()),
            list_changes: crate::listing::ListChanges::default(),
            recorded_taints: Arc::default(),
            recorded_halts: Arc::default(),
            recorded_pins: Arc::default(),
            taken_requests: Arc::default(),
            monitor: Mutex::new(Monitor::new(config.monitor.clone())),
            detached: TaskTracker::new(),
            config: RwLock::new(config),
            tightened: crate::review::Tightened::default(),
            deciding: holding::AgentLocks::default(),
            holding: holding::Holding::default(),
            unscreened: unscreened::Gates::default(),
            trace_parent: std::sync::OnceLock::new(),
            hook_decisions: Mutex::default(),
            witness_refusals: std::sync::OnceLock::new(),
            refresher: refresh::Refresher::default(),
            ledger_health: LedgerHealth::default(),
            inventory: crate::inventory::LiveInventory::new(clock.now_ms()),
            clock,
            store,
            audit,
            upstreams,
        })
    }

    /// The tlog-witness clients' refusal counts the metrics export; set once, by the binary.
    pub fn watch_witness_refusals(&self, refusals: Vec<(String, Arc<AtomicU64>)>) {
        let _ = self.witness_refusals.set(refusals);
    }

    /// How spans adopt the trace an agent's request names; set once, by the binary.
    pub fn set_trace_parent(&self, parent: TraceParent) {
        let _ = self.trace_parent.set(parent);
    }

    /// A span for a call that arrived with `headers`, in the agent's trace when the request
    /// names one and traces are exported; `None` otherwise.
    pub fn request_span(&self, headers: &http::HeaderMap) -> Option<tracing::Span> {
        let parent = self.trace_parent.get()?;
        headers.get("traceparent")?;
        let span = tracing::debug_span!("mcp.request");
        parent(&span, headers);
        Some(span)
    }

    /// Now, by this gateway's clock.
    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// This gateway's clock, for work that outlives a call (a webhook's delivery).
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    /// The configuration in force now.
    pub fn config(&self) -> Arc<Config> {
        self.config
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Puts `config` in force for every call that starts from now on.
    pub(crate) fn put_config(&self, config: Arc<Config>) {
        self.metrics.configure(&config);
        *self.config.write().unwrap_or_else(PoisonError::into_inner) = config;
    }

    /// Runs a blocking store or audit operation off the async workers. Its error keeps what
    /// failed ([`Failure`]), and so whether trying again may succeed.
    pub(crate) async fn blocking<T: Send + 'static, E: Into<Failure> + Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Store, &dyn AuditLog) -> Result<T, E> + Send + 'static,
    ) -> Result<T, CallError> {
        let store = self.store.clone();
        let audit = self.audit.clone();
        tokio::task::spawn_blocking(move || f(store.as_ref(), audit.as_ref()))
            .await
            .map_err(Failure::from)?
            .map_err(|e| CallError::Internal(e.into()))
    }

    pub(crate) async fn record(&self, event: AuditEvent) -> Result<u64, CallError> {
        Ok(self.tracked(self.audit.append_async(&event)).await?)
    }

    /// Where the ledger publishes to witnesses: signs a checkpoint over every leaf recorded so
    /// far and waits until each witness holds it. What the gateway must not lose to a store cut
    /// after a crash (an approval's `executed` step, a halt, a taint) is then held outside the
    /// store, and a store that lost it is one the ledger refuses to open. At once without
    /// witnesses: a store alone cannot tell that its tail was cut.
    pub(crate) async fn witness(&self, what: &str) -> Result<(), CallError> {
        let Some(ledger) = self.audit.ledger().filter(|l| l.has_witnesses()) else {
            return Ok(());
        };
        ledger.witness().await.map(|_| ()).map_err(|e| {
            tracing::error!(error = %e, "{what} was not published to the ledger's witnesses");
            CallError::from(e)
        })
    }

    /// Awaits `append`, an audit append not yet polled (so not yet queued), and tells the
    /// ledger's health how it went.
    async fn tracked<T, E>(
        &self,
        append: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let attempt = self.ledger_health.attempt();
        let appended = append.await;
        self.ledger_health.settled(attempt, appended.is_ok());
        appended
    }

    /// Appends `event` without making the caller wait until it is durable: for what is recorded
    /// after the action already happened (an outcome), where waiting protects nothing and only
    /// delays the agent's answer by one group commit. The append is deferred: it shares the
    /// next commit (within the ledger's `defer_within`) rather than paying an fsync of its own.
    /// A failure is logged as loudly as an awaited one would be; [`Gateway::flush_audit`] waits
    /// for every such append.
    fn record_detached(&self, event: AuditEvent) {
        let audit = self.audit.clone();
        self.detached.spawn(async move {
            if let Err(e) = audit.append_deferred(&event).await {
                tracing::error!(error = %e, kind = ?event.kind, "audit event not recorded");
            }
        });
    }

    /// Waits until every detached audit append is durable (or failed); later ones still run.
    /// Call before closing the audit log.
    pub async fn flush_audit(&self) {
        self.detached.close();
        self.detached.wait().await;
        self.detached.reopen();
    }

    /// One tool call, start to end. The stage order is the security argument: stages 0–5 are
    /// `decide`, then step 6 records the decision and `settle` runs stage 7 on the receipt
    /// (together they are [`Gateway::admit`], which Claude Code's hooks use); 8–10 act on the
    /// verdict. An allowed read overlaps 6–7 with its upstream call ([`Gateway::read_ahead`]).
    ///
    /// A trace's span (`tools/call`, debug level) with a child span per stage; the decision,
    /// its rule and its ledger index are recorded on it once the decision is durable.
    #[tracing::instrument(name = "tools/call", level = "debug", skip_all, fields(
        warden.tool = %call.tool,
        warden.agent = %call.principal.0,
        warden.session = %call.session.0,
        warden.decision = tracing::field::Empty,
        warden.rule = tracing::field::Empty,
        warden.ledger_index = tracing::field::Empty,
    ))]
    pub async fn pipeline(&self, call: ToolCall) -> Result<CallToolResult, CallError> {
        let (principal, tool) = (call.principal.clone(), call.tool.clone());
        // 6. Audit: the decision is durable before any effect and before any result reaches the
        //    agent. A read may be forwarded while it commits; not while the ledger is failing:
        //    then nothing is forwarded at all.
        let (config, verdict) = match self.decide(call, Via::Mcp).await? {
            Decided::Gated(gated)
                if !self.ledger_health.failing()
                    && ReadAhead::of(&gated.gate, &gated.after.spec, &gated.after.call)
                        .is_some() =>
            {
                return self.read_ahead(*gated).await;
            }
            decided => self.conclude(decided).await?,
        };
        // 8. Act on the verdict. A new hold waits (up to `approvals.wait_secs`) for humans; an
        //    approval that arrives in time passes the same gate as a retry would.
        // A tool no rule could ever let this agent call is not shown to it (`tools/list`); a
        // call to it was decided (or refused by a halt) and recorded like any other — the
        // ledger, the shadow policy and the monitor see it with its rule — and is answered as
        // if the tool did not exist, as a halt answers nothing about a missing tool either.
        match verdict {
            Verdict::Halted(..) | Verdict::Denied(_)
                if !config.engine.could_allow(&principal, &tool) =>
            {
                Err(CallError::UnknownTool(tool.to_string()))
            }
            Verdict::Halted(scope, halt) => Ok(halted(&scope, &halt)),
            Verdict::Denied(decision) => Ok(denied(&decision)),
            Verdict::Held {
                call,
                spec,
                decision,
                request,
            } => {
                self.await_humans(&config, call, &spec, decision, &request)
                    .await
            }
            // 9–10. Forward, screen, audit the outcome.
            Verdict::Authorized { authorized, spec } => {
                self.forward_and_audit(&config, &spec, authorized).await
            }
        }
    }

    /// Stages 0–7 of a call: what it may do, decided and recorded. The MCP front forwards what
    /// this authorises; Claude Code's hooks (`via` [`Via::Hook`]) answer with it, and Claude
    /// Code runs the tool itself.
    pub(crate) async fn admit(
        &self,
        call: ToolCall,
        via: Via,
    ) -> Result<(Arc<Config>, Verdict), CallError> {
        let decided = self.decide(call, via).await?;
        self.conclude(decided).await
    }

    /// The verdict on what stages 0–5 decided: a gated call's decision made durable (step 6),
    /// then stage 7 on its receipt.
    async fn conclude(&self, decided: Decided) -> Result<(Arc<Config>, Verdict), CallError> {
        match decided {
            Decided::Halted(config, halted) => {
                let (scope, halt) = *halted;
                Ok((config, Verdict::Halted(scope, halt)))
            }
            Decided::Gated(gated) => {
                let Gated { gate, event, after } = *gated;
                let recorded = self
                    .record_decision(&event, gate)
                    .instrument(tracing::debug_span!("audit"))
                    .await?;
                self.settle(after, recorded).await
            }
        }
    }

    /// Stages 0–5 of a call: what the gate made of it, with the event that records it (step 6
    /// is the caller's: [`Gateway::admit`] waits for it; a read may be forwarded meanwhile,
    /// [`Gateway::read_ahead`]).
    async fn decide(&self, mut call: ToolCall, via: Via) -> Result<Decided, CallError> {
        let config = self.config();
        // 0. Halts: a halted session, agent, category or everything is refused before anything
        //    else is looked at; the refusal is recorded, nothing is forwarded.
        let category = config
            .tools
            .get(&call.tool)
            .map(|t| t.labels.category.clone());
        if let Some((halt, scope)) = self
            .halted(&call, category.as_deref())
            .instrument(tracing::debug_span!("halt"))
            .await?
        {
            let decision = halt_decision(&config, &scope, &halt, category.unwrap_or_default());
            let index = self
                .record(halted_event(&call, &decision, self.now()))
                .await?;
            on_span(&decision, index);
            return Ok(Decided::Halted(config, Box::new((scope, halt))));
        }

        // 0a. What the agent's Claude Code hooks left unscreened: a taint owed (raising it
        //     failed), a read allowed and unreported past its due time. Raised before this call
        //     is decided, whichever front it came through; while it cannot be, nothing is.
        self.settle_unscreened(&call.principal)
            .instrument(tracing::debug_span!("unscreened_reports"))
            .await?;

        // 0b. A write is decided on the inventory as its source has it now, not as the last
        //     periodic refresh read it: a fact changed since (a mailbox made to forward
        //     outside, an incident closed) must not let a write through for up to
        //     `refresh_secs`. (After the halts: a halted agent's calls cost the source nothing.)
        let writes = config
            .tools
            .get(&call.tool)
            .is_some_and(|t| t.labels.effect == Effect::Write);
        if writes {
            self.inventory_before_write()
                .instrument(tracing::debug_span!("inventory"))
                .await;
        }
        // One configuration for the rest of the call, even if a reload lands meanwhile.
        let config = if writes { self.config() } else { config };

        // 1. Catalog: listed, pinned and unchanged — or it does not exist. Asking for a tool
        //    that does not exist (or is withheld) is recorded and watched like a denial, so an
        //    agent probing for tools leaves a trace and trips the denial burst; its answer stays
        //    "unknown tool", whichever of the three it was.
        //    MCP calls reach only upstream tools; hooks only the tools Claude Code runs itself.
        let spec = match via {
            Via::Mcp => self.catalog.callable(&call.tool),
            Via::Hook => self.catalog.client_run(&call.tool),
        };
        let Some(spec) = spec else {
            return Err(self.unknown_tool(&config, call).await);
        };

        // 1b. Arguments in their canonical forms (addresses, URLs, host names normalised;
        //     entity ids resolved to the known id they name): what policy decides on is exactly
        //     what is recorded and forwarded. A value that cannot be read one way is denied by
        //     the policy stage below.
        call.args = config.engine.normalise_args(&call.tool, &call.args);

        // 2a. Outbound: what the call would write (its `text` arguments) is screened before
        //     policy sees it, for links out or to lookalikes, instructions to agents, secrets.
        let texts: Vec<&str> = text_args(&spec, &call).collect();
        let text_length: usize = texts.iter().map(|t| t.chars().count()).sum();
        let outbound = if texts.iter().map(|t| t.len()).sum::<usize>() > OUTBOUND_INLINE_BYTES {
            // Long texts are screened on the blocking pool: scanning them would otherwise hold
            // a worker that serves other agents. At most one such screen per core at once: a
            // burst of long writes waits here rather than filling the blocking pool that store
            // and ledger work run on.
            let _screening = self
                .long_screens
                .acquire()
                .await
                .map_err(|e| CallError::warden(format!("screening a call's text: {e}")))?;
            let screening = Arc::clone(&self.screening);
            let owned: Vec<String> = texts.iter().map(|t| (*t).to_string()).collect();
            tokio::task::spawn_blocking(move || {
                screening.outbound(owned.iter().map(String::as_str))
            })
            .instrument(tracing::debug_span!("outbound"))
            .await
            .map_err(|e| CallError::warden(format!("screening a call's text: {e}")))?
        } else {
            tracing::debug_span!("outbound")
                .in_scope(|| self.screening.outbound(texts.iter().copied()))
        };

        // 2b. Context: warden's state about this call, the agent's taint across its sessions.
        //     Where the policy reads the taint, the decision waits until every result of the
        //     agent's allowed calls has been screened, and none is let through meanwhile
        //     ([`unscreened`]); a call let through holds off such decisions until its own result
        //     is screened. Where the policy reads a budget's count, the agent's calls decide one
        //     at a time until the call is counted (stage 4), so the count each decision reads is
        //     true.
        let screened = self
            .unscreened
            .deciding(
                &call.principal.0,
                config.engine.reads_taint(&call.tool),
                unscreened::Gates::wait_limit(config.gateway.upstream_timeout),
            )
            .instrument(tracing::debug_span!("unscreened"))
            .await
            .map_err(|e| {
                tracing::error!(agent = %call.principal.0, tool = %call.tool, "{e}");
                CallError::Internal(e.into())
            })?;
        let deciding = match reads_a_count(&config, &call) {
            true => Some(self.deciding.of(&call.principal.0).lock_owned().await),
            false => None,
        };
        let state = self
            .call_state(&config, &call, outbound_state(&outbound, text_length))
            .instrument(tracing::debug_span!("context"))
            .await?;

        // 3. Policy: forbid > permit-with-approval > permit > default deny; then the floor: an
        //    allowed high-stakes or irreversible write is held unless an autonomy grant covers it.
        let mut decision = tracing::debug_span!("policy").in_scope(|| {
            config.engine.decide(
                &call.principal,
                &call.tool,
                &call.args,
                &call.session.0,
                &state,
            )
        });

        // 3a. Shadow: a policy set on trial decides too; only the difference is kept (below).
        let shadow = config.shadow.as_ref().and_then(|engine| {
            let s = engine.decide(
                &call.principal,
                &call.tool,
                &call.args,
                &call.session.0,
                &state,
            );
            (s.outcome() != decision.outcome() || s.rule() != decision.rule())
                .then(|| shadow_event(&call, &decision, &s, self.now()))
        });

        // 3b. Review: in a category whose review is overdue or whose error bound exceeds its
        //     owner's tolerance (with `fallback = "approval"`), an allowed call needs a human.
        if let Some(why) = self.tightened.reason(&spec.labels.category) {
            let category = &spec.labels.category;
            decision = decision.require_approval(
                format!("review:{category}"),
                config.owners.get(category).cloned().unwrap_or_default(),
                format!("category `{category}` needs approval until it is reviewed: {why}"),
            );
        }

        // 3c. Inventory: entities no refresh confirmed within `max_age_secs` scope nothing; a
        //     call that names one is denied (`inventory-stale`), whatever policy said.
        if let Some(stale) = self.inventory_stale(&config, &spec, self.now()) {
            decision = stale;
        }

        // 4–5. The gate: budgets and approvals decided together, so that an approval is spent
        //      only on a call that is forwarded. An allowed call is counted (past a budget it is
        //      denied); a held call that humans approved — the ledger proves it, for exactly these
        //      arguments and this policy — is counted, then takes its approval, once.
        let now = self.now();
        let (gate, hold_slot) = self
            .gate(&config, &call, &spec, decision, now)
            .instrument(tracing::debug_span!("gate"))
            .await?;
        drop(deciding);
        // A call let through holds the agent's result gate until its result is screened; any
        // other answer lets the next decision in now.
        let unscreened = match &gate {
            Gate::Allow(_) | Gate::Approved(..) => screened.forwarding(),
            Gate::Deny(_) | Gate::Hold(_) => Unscreened::default(),
        };

        // The event that records the gate's answer (step 6).
        let request_id = match &gate {
            Gate::Approved(_, taken) => Some(taken.request().id.clone()),
            Gate::Hold(_) => Some(new_request_id()),
            Gate::Deny(_) | Gate::Allow(_) => None,
        };
        let mut event = decision_event(&call, gate.decision(), request_id.as_deref(), now);
        add_context_detail(&mut event, &state, &outbound);
        add_grants_detail(&mut event, &config, gate.decision());
        if matches!(gate, Gate::Allow(_) | Gate::Approved(..)) {
            add_budgets_detail(&mut event, &config, &call);
        }
        if matches!(gate, Gate::Deny(_)) {
            summarise_denied_args(&mut event);
        }
        Ok(Decided::Gated(Box::new(Gated {
            gate,
            event,
            after: AfterRecord {
                config,
                call,
                spec,
                state,
                outbound,
                shadow,
                request_id,
                now,
                unscreened,
                hold_slot,
            },
        })))
    }

    /// Stage 7 and the verdict, once the gate's answer is recorded at `recorded`.
    async fn settle(
        &self,
        after: AfterRecord,
        recorded: Recorded<Gate>,
    ) -> Result<(Arc<Config>, Verdict), CallError> {
        let AfterRecord {
            config,
            call,
            spec,
            state,
            outbound,
            shadow,
            request_id,
            now,
            unscreened,
            hold_slot,
        } = after;
        on_span(recorded.value().decision(), recorded.index());
        if matches!(recorded.value(), Gate::Allow(_) | Gate::Approved(..)) {
            self.within_budgets_on_record(&config, &call, recorded.index(), now)
                .await?;
        }
        if let Some(mut ev) = shadow {
            if let Some(d) = ev.detail.as_mut().and_then(|d| d.as_object_mut()) {
                d.insert("decision_index".into(), json!(recorded.index()));
            }
            // Recorded for comparison only: a failure here changes nothing about the call.
            if let Err(e) = self.record(ev).await {
                tracing::error!(error = %e, "shadow difference not recorded");
            }
        }
        let mut halted_meanwhile = None;
        if let (Gate::Hold(decision), Some(id)) = (recorded.value(), &request_id) {
            let evidence = context_evidence(&state, &outbound);
            halted_meanwhile = self
                .hold(
                    &config, &call, decision, id, &spec, evidence, hold_slot, now,
                )
                .instrument(tracing::debug_span!("hold"))
                .await?;
        }

        // 7. Monitor: anomaly triggers may alert or halt; a halt applies from the next call.
        //    (After the hold is stored, so a halt of this scope expires it too.)
        self.watch(Observation {
            time_ms: self.now(),
            index: recorded.index(),
            principal: call.principal.0.clone(),
            session: call.session.0.clone(),
            tool: call.tool.to_string(),
            category: spec.labels.category.clone(),
            stakes: spec.labels.stakes,
            outcome: recorded.value().decision().outcome(),
            tainted: state.session_tainted || state.agent_tainted,
            unattended: matches!(recorded.value(), Gate::Allow(_)),
        })
        .await;

        if let Some((halt, scope)) = halted_meanwhile {
            return Ok((config, Verdict::Halted(scope, halt)));
        }

        // Only an Allow, or a hold humans approved, authorises the call; the ticket is made
        // from the recorded decision.
        let authorized = match (recorded.value(), request_id) {
            (Gate::Deny(decision), _) => return Ok((config, Verdict::Denied(decision.clone()))),
            (Gate::Hold(decision), Some(request)) => {
                let decision = decision.clone();
                return Ok((
                    config,
                    Verdict::Held {
                        call,
                        spec,
                        decision,
                        request,
                    },
                ));
            }
            (Gate::Hold(_), None) => None,
            (Gate::Allow(_), _) => Authorized::permit(call, &recorded, unscreened),
            (Gate::Approved(_, taken), _) => {
                self.executed(taken, recorded.index(), false, self.now())
                    .await?;
                Authorized::approved(call, &recorded, unscreened)
            }
        };
        let Some(authorized) = authorized else {
            return Err(CallError::warden(
                "a decision did not authorise the call it was made for",
            ));
        };
        Ok((config, Verdict::Authorized { authorized, spec }))
    }

    /// A held call that waits for humans: the approval, if it comes in time, passes the gate
    /// (proof, budgets, single use) and its decision is recorded before the call is forwarded.
    async fn await_humans(
        &self,
        config: &Arc<Config>,
        call: ToolCall,
        spec: &warden_policy::ToolSpec,
        decision: Decision,
        id: &str,
    ) -> Result<CallToolResult, CallError> {
        let awaited = self
            .await_approval(config, call, spec, &decision, id, config.approvals.wait)
            .await?;
        match awaited {
            Awaited::StillHeld => Ok(held(&decision, id)),
            Awaited::Denied(decision) => Ok(denied(&decision)),
            Awaited::Authorized(authorized) => {
                self.forward_and_audit(config, spec, authorized).await
            }
        }
    }

    /// Waits up to `wait` for humans to answer new hold `id`; an approval that arrives in time
    /// passes the same gate as a retry would, is taken and its execution recorded. The MCP
    /// front forwards what this authorises; Claude Code's hooks answer `allow` with it.
    pub(crate) async fn await_approval(
        &self,
        config: &Arc<Config>,
        call: ToolCall,
        spec: &warden_policy::ToolSpec,
        decision: &Decision,
        id: &str,
        wait: Duration,
    ) -> Result<Awaited, CallError> {
        let Some(request) = self.wait_for_approval(wait, id).await? else {
            return Ok(Awaited::StillHeld);
        };
        // Approved: its result, once it runs, is outstanding like any other's. (It held nothing
        // while humans answered.)
        let unscreened = self
            .unscreened
            .forwarding(
                &call.principal.0,
                unscreened::Gates::wait_limit(config.gateway.upstream_timeout),
            )
            .await
            .map_err(|e| CallError::Internal(e.into()))?;
        let binding = Binding::of(&call, decision.policy_version());
        let gate = self
            .use_approval(
                config,
                &call,
                &binding,
                spec,
                decision.clone(),
                request,
                self.now(),
            )
            .await?;
        let mut event = decision_event(&call, gate.decision(), Some(id), self.now());
        add_grants_detail(&mut event, config, gate.decision());
        if matches!(gate, Gate::Approved(..)) {
            add_budgets_detail(&mut event, config, &call);
        }
        let recorded = match gate {
            Gate::Approved(..) | Gate::Deny(_) => self.record_decision(&event, gate).await?,
            Gate::Hold(_) | Gate::Allow(_) => return Ok(Awaited::StillHeld),
        };
        on_span(recorded.value().decision(), recorded.index());
        if matches!(recorded.value(), Gate::Approved(..)) {
            self.within_budgets_on_record(config, &call, recorded.index(), self.now())
                .await?;
        }
        let authorized = match recorded.value() {
            Gate::Approved(_, taken) => {
                self.executed(taken, recorded.index(), true, self.now())
                    .await?;
                Authorized::approved(call, &recorded, unscreened)
            }
            Gate::Deny(decision) => return Ok(Awaited::Denied(decision.clone())),
            Gate::Hold(_) | Gate::Allow(_) => None,
        };
        authorized.map(Awaited::Authorized).ok_or_else(|| {
            CallError::warden("an approval did not authorise the call it was made for")
        })
    }

    /// Steps 4–5 of the pipeline: what the call gets, budgets counted and approvals taken.
    async fn gate(
        &self,
        config: &Arc<Config>,
        call: &ToolCall,
        spec: &warden_policy::ToolSpec,
        decision: Decision,
        now: i64,
    ) -> Result<(Gate, Option<holding::Slot>), CallError> {
        match decision.outcome() {
            Outcome::Deny => Ok((Gate::Deny(decision), None)),
            Outcome::Allow => match self.consume_budgets(config, call, now).await? {
                Some(exhausted) => Ok((
                    Gate::Deny(budget_denial(config, spec, &decision, &exhausted, None)),
                    None,
                )),
                None => Ok((Gate::Allow(decision), None)),
            },
            Outcome::Hold => {
                let binding = Binding::of(call, decision.policy_version());
                let gate = match self.approved_for(&binding, now).await? {
                    Some(request) => {
                        self.use_approval(config, call, &binding, spec, decision, request, now)
                            .await?
                    }
                    None => Gate::Hold(decision),
                };
                let Gate::Hold(decision) = gate else {
                    return Ok((gate, None));
                };
                // A new request for approvers: not for a call a person has denied or that
                // already waits (a "no" binds the call's retries, and one request is all a
                // call gets), and within the agent's cap, counting the held calls whose
                // requests are not stored yet.
                let agent = &call.principal.0;
                let stored = async {
                    Ok::<_, CallError>(holding::Stored {
                        waiting: self.waiting_of(agent).await?,
                        earlier: self.earlier_request(&binding, now).await?,
                    })
                };
                let reserved = self
                    .holding
                    .reserve(
                        agent,
                        &binding.call_key(),
                        config.approvals.max_pending_per_agent,
                        stored,
                    )
                    .await?;
                match reserved {
                    holding::Reserved::Slot(slot) => Ok((Gate::Hold(decision), Some(slot))),
                    holding::Reserved::Full(waiting) => Ok((
                        Gate::Deny(pending_cap_denial(config, spec, &decision, waiting)),
                        None,
                    )),
                    holding::Reserved::InFlight => {
                        Ok((Gate::Deny(asked_again(config, spec, &decision, None)), None))
                    }
                    holding::Reserved::Earlier(earlier) => Ok((
                        Gate::Deny(asked_again(config, spec, &decision, Some(&earlier))),
                        None,
                    )),
                }
            }
        }
    }

    /// An approved request for this held call: proven by the ledger, then the budgets counted,
    /// then taken (once). Refused when the ledger does not back it or a budget is used up — the
    /// approval then stays unspent.
    #[allow(clippy::too_many_arguments)]
    async fn use_approval(
        &self,
        config: &Arc<Config>,
        call: &ToolCall,
        binding: &Binding,
        spec: &warden_policy::ToolSpec,
        decision: Decision,
        request: PendingRequest,
        now: i64,
    ) -> Result<Gate, CallError> {
        if let Err(unproven) = self.prove(config, &request, &decision, now).await? {
            tracing::error!(request = %request.id, "{unproven}");
            return Ok(Gate::Deny(Decision::builtin_deny(
                "approval-unproven",
                request.owner.clone(),
                spec.labels.category.clone(),
                unproven.to_string(),
                decision.policy_version(),
            )));
        }
        if let Some(exhausted) = self.consume_budgets(config, call, now).await? {
            return Ok(Gate::Deny(budget_denial(
                config,
                spec,
                &decision,
                &exhausted,
                Some(&request.id),
            )));
        }
        Ok(match self.take_approval(binding, &request, now).await? {
            Some(taken) => Gate::Approved(decision, Box::new(taken)),
            // Another retry took it first: this one is a new request.
            None => Gate::Hold(decision),
        })
    }

    /// Makes the decision `event` records durable: the receipt the upstream needs. A failure
    /// turns reading ahead off until a decision commits again.
    async fn record_decision(
        &self,
        event: &AuditEvent,
        gate: Gate,
    ) -> Result<Recorded<Gate>, CallError> {
        Ok(self
            .tracked(crate::audit::record(self.audit.as_ref(), event, gate))
            .await?)
    }

    /// Steps 6–9 at once for a read the gate allowed: its decision commits (then stage 7, the
    /// monitor, runs on it) while the upstream answers, and the answer is released only with
    /// the decision's receipt. The decision is queued first; a commit that fails, at once or
    /// later, drops the upstream call and what it answered, unread, and refuses the call. The
    /// read keeps its in-flight permit until the receipt, so a stalled ledger cannot pile up
    /// answers or load on the upstream beyond `max_concurrent_calls`.
    async fn read_ahead(&self, gated: Gated) -> Result<CallToolResult, CallError> {
        let Gated { gate, event, after } = gated;
        let call = after.call.clone();
        let Some(ahead) = ReadAhead::of(&gate, &after.spec, &call) else {
            return Err(CallError::warden(
                "a call was read ahead that is not an allowed read",
            ));
        };
        // The read's branch learns whether the commit succeeded, for when it must wait for it.
        let (committed, commit) = tokio::sync::oneshot::channel::<()>();
        let settled = async {
            let recorded = self
                .record_decision(&event, gate)
                .instrument(tracing::debug_span!("audit"))
                .await
                .map_err(|e| match e {
                    CallError::Internal(failure) => CallError::Unrecorded(failure),
                    other => other,
                })?;
            let _ = committed.send(());
            self.settle(after, recorded).await
        };
        // Set once the read is on its way to the upstream: a commit that fails after that
        // leaves a read the upstream may have served and the ledger does not hold.
        let sent = std::sync::atomic::AtomicBool::new(false);
        let forwarded = async {
            let server = &ahead.call().tool.server;
            let permit = match self.in_flight_permit(server).await {
                Ok(permit) => permit,
                Err(refused) => return Ok((None, Err(refused), Duration::ZERO)),
            };
            // The ledger may have started failing while this read waited for its permit: then
            // it waits for its own commit, and is dropped with it if that fails.
            if self.ledger_health.failing() && commit.await.is_err() {
                std::future::pending::<()>().await;
            }
            sent.store(true, std::sync::atomic::Ordering::Relaxed);
            let started = Instant::now();
            let result = self
                .forward_with_permit(Ticket::ReadAhead(ahead))
                .instrument(tracing::debug_span!("upstream", warden.server = %server))
                .await;
            Ok::<_, CallError>((Some(permit), result, started.elapsed()))
        };
        // Without the receipt the upstream's answer is dropped here, unread, and the agent gets
        // warden's refusal.
        let ((config, verdict), (permit, result, latency)) = match tokio::try_join!(biased; settled, forwarded)
        {
            Ok(both) => both,
            Err(e) => {
                if matches!(e, CallError::Unrecorded(_))
                    && sent.load(std::sync::atomic::Ordering::Relaxed)
                {
                    self.metrics.read_unrecorded(&call.tool.server);
                }
                return Err(e);
            }
        };
        drop(permit);
        let Verdict::Authorized { authorized, spec } = verdict else {
            return Err(CallError::warden(
                "a recorded allowing decision did not authorise its read",
            ));
        };
        self.audit_answer(&config, &spec, authorized, result, latency)
            .await
    }

    /// Steps 9–10: forwards an authorised call and audits what came back.
    async fn forward_and_audit(
        &self,
        config: &Config,
        spec: &warden_policy::ToolSpec,
        authorized: Authorized,
    ) -> Result<CallToolResult, CallError> {
        // 9. Forward, within the concurrency and time limits.
        let started = Instant::now();
        let result = self
            .forward(Ticket::Recorded(&authorized))
            .instrument(tracing::debug_span!(
                "upstream",
                warden.server = %authorized.call().tool.server
            ))
            .await;
        self.audit_answer(config, spec, authorized, result, started.elapsed())
            .await
    }

    /// Step 10 for what the upstream answered, in `latency`, a call forwarded for `authorized`.
    async fn audit_answer(
        &self,
        config: &Config,
        spec: &warden_policy::ToolSpec,
        mut authorized: Authorized,
        result: Result<CallToolResult, UpstreamError>,
        latency: Duration,
    ) -> Result<CallToolResult, CallError> {
        // 10. Screen what came back (a result or an upstream's error: untrusted text either way),
        //     taint the agent and record a finding if it reads as an injection; audit the outcome.
        // A write's own words, which its result may echo: screened on the way out, they do not
        // taint the agent on the way back.
        let sent = match spec.labels.effect {
            Effect::Write => crate::screening::Sent::of(text_args(spec, authorized.call()))
                .with_agent(&authorized.call().principal.0),
            Effect::Read => crate::screening::Sent::default(),
        };
        let answer = self
            .answer(config, &authorized, spec.results, result, &sent)
            .instrument(tracing::debug_span!("screen"))
            .await?;
        // Any taint is on the record: the agent's decisions that read it may go on.
        authorized.screened();
        let (result, digest, is_error) = (answer.result, answer.digest, answer.is_error);
        // What the agent has now read: the entities a read named, once the agent has its
        // answer (`context.read`).
        if answer.delivered && spec.labels.effect == Effect::Read {
            let call = authorized.call();
            let entities = warden_policy::entities_named(&spec.args, &call.args).map(|(_, e)| e);
            self.screening
                .record_entities_read(&call.principal, entities);
        }
        let mut outcome = AuditEvent::new(EventKind::Outcome, self.now());
        outcome.principal = Some(authorized.call().principal.0.clone());
        outcome.session = Some(authorized.call().session.0.clone());
        outcome.tool = Some(authorized.call().tool.to_string());
        outcome.rule = Some(authorized.rule().to_string());
        outcome.result_digest = digest;
        outcome.is_error = Some(is_error);
        outcome.latency_us = u64::try_from(latency.as_micros()).ok();
        outcome.detail = Some(json!({ "decision_index": authorized.decision_index() }));
        // The action already happened: the agent gets its answer without waiting for the
        // outcome's commit; a failure to record it is a loud log, as before.
        self.record_detached(outcome);
        Ok(result)
    }

    /// Records and watches a call to a tool that is not callable; the error the agent gets.
    async fn unknown_tool(&self, config: &Config, call: ToolCall) -> CallError {
        let asked = call.tool.to_string();
        // A configured tool its upstream made uncallable is refused like any other, but it is
        // not the agent's probing: not listed (down since warden started, or no longer
        // serving it), withheld (its definition changed from the pin) or flagged (its
        // definition reads as an injection). An agent shown the tool before keeps calling it;
        // counting those calls in the denial burst would let an upstream, by an outage or a
        // changed description, halt every honest agent that uses it. A name no configuration
        // knows, or one of Claude Code's own tools asked over MCP, is the agent's doing.
        use crate::catalog::Status;
        let watched = matches!(
            self.catalog.status(&call.tool),
            None | Some(Status::ClientRun | Status::Available)
        );
        self.refuse_unknown(config, call, asked, watched).await
    }

    /// A call whose tool name is not even `<server>.<tool>`: recorded and watched like a call to
    /// any tool that does not exist, so no name an agent tries is off the record. A halt that
    /// covers the agent or its session comes first, as for every other call: the call is
    /// recorded as refused by the halt and not watched, so a halted agent cannot set the
    /// monitor off again with names that parse as nothing. The answer is "unknown tool"
    /// either way, as a halt answers about a tool the agent cannot call.
    pub async fn unknown_name(
        &self,
        principal: warden_core::Principal,
        session: warden_core::SessionId,
        asked: String,
    ) -> CallError {
        let config = self.config();
        let call = ToolCall {
            principal,
            session,
            tool: ToolName::new("", ""),
            args: serde_json::Map::new(),
            rationale: None,
        };
        match self.halted(&call, None).await {
            Err(e) => e,
            Ok(Some((halt, scope))) => {
                let decision = halt_decision(&config, &scope, &halt, String::new());
                let mut event = halted_event(&call, &decision, self.now());
                event.tool = Some(asked.chars().take(KEPT_NAME_CHARS).collect());
                match self.record(event).await {
                    Ok(index) => {
                        on_span(&decision, index);
                        CallError::UnknownTool(asked)
                    }
                    Err(e) => e,
                }
            }
            Ok(None) => self.refuse_unknown(&config, call, asked, true).await,
        }
    }

    /// Records `asked` (cut to a bounded length: it is the agent's text) as a denial by the
    /// built-in `unknown-tool` rule, and, when `watched`, counts it in the monitor's denial
    /// burst.
    async fn refuse_unknown(
        &self,
        config: &Config,
        mut call: ToolCall,
        asked: String,
        watched: bool,
    ) -> CallError {
        let shown: String = asked.chars().take(KEPT_NAME_CHARS).collect();
        let decision = Decision::builtin_deny(
            "unknown-tool",
            String::new(),
            String::new(),
            format!("`{shown}` is not a tool this gateway offers"),
            config.engine.version(),
        );
        // The arguments and reason of a call to nothing are not kept.
        call.args = serde_json::Map::new();
        call.rationale = None;
        let now = self.now();
        let mut event = decision_event(&call, &decision, None, now);
        event.tool = Some(shown.clone());
        match self.record(event).await {
            Ok(index) => {
                if watched {
                    self.watch(Observation {
                        time_ms: now,
                        index,
                        principal: call.principal.0.clone(),
                        session: call.session.0.clone(),
                        tool: shown,
                        category: String::new(),
                        stakes: warden_core::Stakes::Low,
                        outcome: Outcome::Deny,
                        tainted: false,
                        unattended: false,
                    })
                    .await;
                }
                CallError::UnknownTool(asked)
            }
            Err(e) => e,
        }
    }

    /// The active halt covering this call, if any. Fails closed: an unreadable store refuses.
    async fn halted(
        &self,
        call: &ToolCall,
        category: Option<&str>,
    ) -> Result<Option<(Halt, Scope)>, CallError> {
        let halts = self.active_halts().await?;
        Ok(
            crate::halt::covering(&halts, &call.principal.0, &call.session.0, category)
                .map(|(h, s)| (h.clone(), s)),
        )
    }

    /// The active halts, from the cache while it is fresh, else from the store and the ledger.
    pub(crate) async fn active_halts(&self) -> Result<Arc<Vec<Halt>>, CallError> {
        match self.halts.fresh() {
            Some(h) => Ok(h),
            None => self.read_halts().await,
        }
    }

    /// The active halts as the store and the ledger have them now (the cache refreshed).
    async fn read_halts(&self) -> Result<Arc<Vec<Halt>>, CallError> {
        let recorded = self.recorded_halts.clone();
        let credentials = crate::gate::credentials(&self.config());
        let h = self
            .blocking(move |store, audit| {
                let mut recorded = recorded
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                crate::halt::active(store, audit.ledger(), &mut recorded, Some(&credentials))
            })
            .await?;
        let (halts, changed) = self.halts.put(h);
        if changed {
            self.tool_lists_may_have_changed();
        }
        Ok(halts)
    }

    /// The state the policy sees, under `config` — the call's own, so that the budgets looked
    /// up are the ones its engine's rules read even if a reload lands meanwhile.
    async fn call_state(
        &self,
        config: &Config,
        call: &ToolCall,
        outbound: OutboundState,
    ) -> Result<CallState, CallError> {
        let now = self.now();
        // Only the counts that a rule which can match this tool reads (in the policy or the
        // shadow policy): a read that calls no budgeted rule costs no store query.
        let budgets: Vec<(String, String, i64)> = config
            .budgets
            .iter()
            .filter(|b| {
                config.engine.reads_budget(&call.tool, &b.id)
                    || config
                        .shadow
                        .as_ref()
                        .is_some_and(|s| s.reads_budget(&call.tool, &b.id))
            })
            .map(|b| {
                let since = now - i64::try_from(b.window.as_millis()).unwrap_or(i64::MAX);
                (b.id.clone(), budget_scope(b.per, call), since)
            })
            .collect();
        // The agent's taint is read from the store on every call: it follows the agent across
        // sessions and replicas, and a human's clear takes effect at once. Unreadable ⇒ refused.
        // A taint the ledger records counts even where its row is gone.
        let agent = call.principal.0.clone();
        let recorded = self.recorded_taints.clone();
        let window_ms = i64::try_from(
            self.screening
                .settings()
                .taint_window_secs
                .saturating_mul(1000),
        )
        .unwrap_or(i64::MAX);
        let (budgets_used, agent_taint) = self
            .blocking(move |store, audit| {
                let used = budgets
                    .into_iter()
                    .map(|(id, scope, since)| {
                        let mut used = store.budget_used(&id, &scope, since)?;
                        if let Some(ledger) = audit.ledger() {
                            used = used.max(ledger.budget_used(&id, &scope, since)?);
                        }
                        Ok((id, used))
                    })
                    .collect::<Result<BTreeMap<_, _>, Failure>>()?;
                // The row and the record both count, the stronger winning: a row rewritten to
                // a lower level lowers nothing the ledger records.
                let row = store.agent_taint(&agent, now)?;
                let on_record = recorded.in_force(audit.ledger(), &agent, now, window_ms)?;
                let taint = match (row, on_record) {
                    (Some(row), Some(record)) if record.level >= row.level => Some(record),
                    (Some(row), _) => Some(row),
                    (None, record) => record,
                };
                Ok::<_, Failure>((used, taint))
            })
            .await?;
        let taint =
            self.screening
                .taint_in_force(&call.principal, &call.session, agent_taint.is_some());
        // Only a call that names an entity asks what the agent has read.
        let names_entities = config.tool(&call.tool).is_some_and(|spec| {
            warden_policy::entities_named(&spec.args, &call.args)
                .next()
                .is_some()
        });
        let read = match names_entities {
            true => self.screening.entities_read(&call.principal),
            false => Vec::new(),
        };
        Ok(CallState {
            session_tainted: taint.tainted,
            taint_level: taint.level,
            taint_source: taint.source,
            read_untrusted: taint.read_untrusted,
            agent_tainted: agent_taint.is_some(),
            agent_taint_level: agent_taint.as_ref().map_or(0, |t| t.level),
            agent_taint_source: agent_taint.map(|t| t.source).unwrap_or_default(),
            outbound,
            budgets_used,
            now: now / 1000,
            read,
        })
    }

    /// Counts the call against each budget that covers its tool; the id of the first budget
    /// that is used up, if any.
    async fn consume_budgets(
        &self,
        config: &Config,
        call: &ToolCall,
        now: i64,
    ) -> Result<Option<String>, CallError> {
        let budgets = budget_windows(config, call, now);
        if budgets.is_empty() {
            return Ok(None);
        }
        self.blocking(move |store, audit| {
            for (id, scope, since, limit) in budgets {
                // The ledger's count is a floor under the store's: rows deleted from the
                // store free nothing the ledger records counted.
                if let Some(ledger) = audit.ledger()
                    && ledger.budget_used(&id, &scope, since)? >= limit
                {
                    return Ok::<_, Failure>(Some(id));
                }
                if !store.consume_budget(&id, &scope, now, since, limit)? {
                    return Ok(Some(id));
                }
            }
            Ok(None)
        })
        .await
    }

    /// Once an allowing decision is recorded at leaf `index`: the decisions the ledger records
    /// against each of its budgets before it stay under the limit, or the call is refused. The
    /// store's count decided first; this holds the limit where the store's count was made to
    /// lag (its rows kept from counting) and many calls passed it at once.
    async fn within_budgets_on_record(
        &self,
        config: &Config,
        call: &ToolCall,
        index: u64,
        now: i64,
    ) -> Result<(), CallError> {
        let budgets = budget_windows(config, call, now);
        if budgets.is_empty() {
            return Ok(());
        }
        let over = self
            .blocking(move |_, audit| {
                let Some(ledger) = audit.ledger() else {
                    return Ok(None);
                };
                for (id, scope, since, limit) in budgets {
                    if ledger.budget_used_below(&id, &scope, since, index)? >= limit {
                        return Ok(Some(id));
                    }
                }
                Ok::<_, warden_store::LedgerError>(None)
            })
            .await?;
        match over {
            None => Ok(()),
            Some(id) => {
                tracing::error!(budget = %id, index,
                    "a call passed the store's budget count but the ledger records the budget \
                     spent before its decision: refused (the store's count lags the record)");
                Err(CallError::warden(format!(
                    "budget `{id}` is used up on the record; this call was not forwarded"
                )))
            }
        }
    }

    /// What became of an earlier request for this same call ([`Binding::same_call`]): the
    /// latest a person denied (kept as long as answered requests are), else one still waiting.
    async fn earlier_request(
        &self,
        binding: &Binding,
        now: i64,
    ) -> Result<Option<PendingRequest>, CallError> {
        let filter = RequestFilter {
            statuses: vec![ApprovalStatus::Pending, ApprovalStatus::Denied],
            ..binding.same_call()
        };
        self.blocking(move |store, _| {
            let requests = store.requests(&filter)?;
            let denied = requests
                .iter()
                .filter(|r| r.status == ApprovalStatus::Denied)
                .max_by_key(|r| r.created_ms)
                .cloned();
            Ok::<_, StoreError>(denied.or_else(|| {
                requests
                    .into_iter()
                    .find(|r| r.status == ApprovalStatus::Pending && now < r.expires_ms)
            }))
        })
        .await
    }

    /// How many of `agent`'s requests wait for approvers (counted in the store).
    async fn waiting_of(&self, agent: &str) -> Result<u64, CallError> {
        let filter = RequestFilter {
            statuses: vec![ApprovalStatus::Pending],
            principal: Some(agent.to_string()),
            ..RequestFilter::default()
        };
        self.blocking(move |store, _| store.count_requests(&filter))
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn hold(
        &self,
        config: &Config,
        call: &ToolCall,
        decision: &Decision,
        id: &str,
        spec: &warden_policy::ToolSpec,
        context: Vec<serde_json::Value>,
        slot: Option<holding::Slot>,
        now: i64,
    ) -> Result<Option<(Halt, Scope)>, CallError> {
        let mut evidence = context;
        evidence.extend(self.evidence(call).await);
        let expiry = config.approvals.expiry_for(decision.category());
        let request = PendingRequest {
            id: id.to_string(),
            created_ms: now,
            principal: call.principal.0.clone(),
            session: call.session.0.clone(),
            tool: call.tool.to_string(),
            args: call.args_value(),
            args_digest: ArgsDigest::of(&call.args_value()).0,
            policy_version: decision.policy_version().to_string(),
            rule: decision.rule().to_string(),
            approval: decision.approval().unwrap_or(ApprovalKind::Required),
            status: ApprovalStatus::Pending,
            rationale: call.rationale.clone(),
            category: decision.category().to_string(),
            stakes: spec.labels.stakes.as_str().to_string(),
            owner: decision.owner().to_string(),
            expires_ms: now + i64::try_from(expiry.as_millis()).unwrap_or(i64::MAX),
            answers: Vec::new(),
            evidence,
            escalated: false,
            revision: 0,
        };
        let stored = request.clone();
        self.holding
            .store(
                slot,
                self.blocking(move |store, _| store.create_pending(&stored)),
            )
            .await?;
        // A halt set while this call was being decided swept the open requests before this one
        // was stored: read the halts again, as they are now, and expire it here if one covers
        // it (a halt's requests are answered only by expiry, and a resume does not revive them).
        let halts = self.read_halts().await?;
        if let Some((halt, scope)) = crate::halt::covering(
            &halts,
            &request.principal,
            &request.session,
            Some(&request.category),
        ) {
            let (halt, id, covered) = (halt.clone(), request.id.clone(), scope.clone());
            self.blocking(move |store, audit| {
                crate::halt::expire_for(store, audit, &covered, &id, now)
            })
            .await?;
            return Ok(Some((halt, scope)));
        }
        self.asked(config, &request, now).await;
        Ok(None)
    }

    async fn forward(&self, ticket: Ticket<'_>) -> Result<CallToolResult, UpstreamError> {
        let _permit = self.in_flight_permit(&ticket.call().tool.server).await?;
        self.forward_with_permit(ticket).await
    }

    /// One of the `max_concurrent_calls_per_server` calls in flight to `server`, then one of
    /// the `max_concurrent_calls` to all upstreams, both waited for up to `upstream_timeout`
    /// together. The server's own comes first: calls queued behind an upstream that does not
    /// answer wait without holding a place the others need.
    async fn in_flight_permit(&self, server: &str) -> Result<InFlight<'_>, UpstreamError> {
        let both = async {
            let own = match self.in_flight_per_server.get(server) {
                Some(s) => Some(s.acquire().await.ok()?),
                None => None,
            };
            let all = self.in_flight.acquire().await.ok()?;
            Some(InFlight {
                _own: own,
                _all: all,
            })
        };
        match tokio::time::timeout(self.config().gateway.upstream_timeout, both).await {
            Ok(Some(permit)) => Ok(permit),
            _ => Err(UpstreamError::Unavailable {
                server: server.to_string(),
                message: "too many calls in flight".into(),
            }),
        }
    }

    /// [`Gateway::forward`] for a caller that holds an in-flight permit.
    async fn forward_with_permit(
        &self,
        ticket: Ticket<'_>,
    ) -> Result<CallToolResult, UpstreamError> {
        let server = &ticket.call().tool.server;
        let Some(upstream) = self.upstreams.get(server) else {
            return Err(UpstreamError::Unavailable {
                server: server.clone(),
                message: "not configured".into(),
            });
        };
        let started = Instant::now();
        let answered = upstream.call(ticket).await;
        self.metrics.upstream(
            server,
            started.elapsed().as_secs_f64(),
            answered.as_ref().err(),
        );
        answered
    }

    /// Pins configured tools to their current upstream definitions (`warden tools pin`): every
    /// one when `reviewed` is empty, else only the tools it names, each only while the upstream
    /// serves the digest the reviewer read (`tool name → sha256:…`).
    pub async fn pin_all(
        &self,
        by: &str,
        reviewed: &BTreeMap<String, String>,
    ) -> Vec<(ToolName, Result<String, String>)> {
        let mut out = Vec::new();
        for (server, upstream) in &self.upstreams {
            let tools = upstream.list_tools().await;
            for entry in self.catalog.entries() {
                if &entry.spec.name.server != server {
                    continue;
                }
                let name = entry.spec.name.clone();
                let expected = reviewed.get(&name.to_string());
                if !reviewed.is_empty() && expected.is_none() {
                    continue;
                }
                let found = match &tools {
                    Ok(t) => t
                        .iter()
                        .find(|t| t.name == name.tool.as_str())
                        .map(definition_digest),
                    Err(e) => {
                        out.push((name, Err(e.to_string())));
                        continue;
                    }
                };
                let Some(digest) = found else {
                    out.push((name, Err("not offered by the upstream".into())));
                    continue;
                };
                // The upstream answers this listing as it likes: a definition other than the
                // one the reviewer read is not pinned.
                if let Some(expected) = expected.filter(|e| **e != digest) {
                    out.push((
                        name,
                        Err(format!(
                            "the upstream now serves {digest}, not the reviewed {expected}: \
                             review it again"
                        )),
                    ));
                    continue;
                }
                let key = name.to_string();
                let by = by.to_string();
                let d = digest.clone();
                let now = self.now();
                let r = self
                    .blocking(move |store, audit| {
                        let mut ev = AuditEvent::new(EventKind::ToolPinned, now);
                        ev.tool = Some(key.clone());
                        ev.detail = Some(json!({"digest": d, "by": by}));
                        audit.append(&ev)?;
                        Ok::<_, Failure>(store.set_pin(&key, &d, &by, now)?)
                    })
                    .await;
                out.push((name, r.map(|_| digest).map_err(|e| e.to_string())));
            }
        }
        out
    }
}

/// The budgets a call to this tool counts against: id, scope, the start of the window at
/// `now`, and the limit.
fn budget_windows(config: &Config, call: &ToolCall, now: i64) -> Vec<(String, String, i64, u32)> {
    config
        .budgets_for(&call.tool)
        .map(|b| {
            let since = now - i64::try_from(b.window.as_millis()).unwrap_or(i64::MAX);
            (b.id.clone(), budget_scope(b.per, call), since, b.limit)
        })
        .collect()
}

fn budget_scope(per: BudgetScope, call: &ToolCall) -> String {
    match per {
        BudgetScope::Agent => format!("agent:{}", call.principal),
        BudgetScope::Session => format!("session:{}:{}", call.principal, call.session),
    }
}

/// Whether a rule that can decide `call` reads a budget's count (`context.budgets.<id>`).
fn reads_a_count(config: &Config, call: &ToolCall) -> bool {
    config
        .budgets
        .iter()
        .any(|b| config.engine.reads_budget(&call.tool, &b.id))
}

/// The call's free-text arguments: those its tool declares as `text`.
fn text_args<'a>(
    spec: &'a warden_policy::ToolSpec,
    call: &'a ToolCall,
) -> impl Iterator<Item = &'a str> + 'a {
    call.args.iter().filter_map(|(name, value)| {
        let declared = spec.args.get(name)?;
        (declared.ty == ArgType::Text)
            .then(|| value.as_str())
            .flatten()
    })
}

/// The outbound screen's report as policy sees it (`context.outbound`).
fn outbound_state(r: &OutboundReport, length: usize) -> OutboundState {
    let length = i64::try_from(length).unwrap_or(i64::MAX);
    let mut domains: Vec<String> = r
        .links
        .iter()
        .map(|l| l.registered_domain.clone())
        .collect();
    domains.sort();
    domains.dedup();
    OutboundState {
        flagged: r.flagged(),
        external_link: r.external_link,
        live_external_link: r.live_external_link,
        lookalike_link: r.lookalike_link,
        homograph_link: r.homograph_link,
        link_text_mismatch: r.link_text_mismatch,
        image_link: r.image_link,
        agent_instructions: r.agent_instructions,
        secret: r.secret,
        encoded_blob: r.encoded_blob,
        external_address: r.external_address,
        live_external_address: r.live_external_address,
        concealed: r.concealed,
        unread: r.unread,
        payment_details: r.payment_details,
        subjects: r.subjects.iter().map(|s| s.as_str().to_owned()).collect(),
        domains,
        length,
    }
}

/// What the decision saw beyond the arguments, on its ledger record: the outbound screen's
/// findings and the agent's taint.
/// Names in an allowing decision's `detail.budgets` the budgets it counted against (id and
/// scope): the ledger's own count of each budget ([`warden_store::Ledger::budget_used`]).
fn add_budgets_detail(event: &mut AuditEvent, config: &Config, call: &ToolCall) {
    let counted: Vec<serde_json::Value> = config
        .budgets_for(&call.tool)
        .map(|b| json!({"id": b.id, "scope": budget_scope(b.per, call)}))
        .collect();
    if !counted.is_empty() {
        insert_detail(event, "budgets", serde_json::Value::Array(counted));
    }
}

/// The grants that decided (the decision's rule, or the permission beneath it) and who
/// approved each, as `detail.grants`: who answers for the decision stays on the record when
/// the grant is later removed from the config (a reviewer may not judge their own grant's
/// decisions: `review::record_verdict`).
fn add_grants_detail(event: &mut AuditEvent, config: &Config, decision: &Decision) {
    let grants: Vec<serde_json::Value> = config
        .grants_deciding(Some(decision.rule()), decision.permitted_by())
        .map(|g| json!({"id": g.id, "approver": g.approver}))
        .collect();
    if !grants.is_empty() {
        insert_detail(event, "grants", serde_json::Value::Array(grants));
    }
}

/// Sets `key` in the event's `detail` object (made if there is none).
fn insert_detail(event: &mut AuditEvent, key: &str, value: serde_json::Value) {
    let mut detail = match event.detail.take() {
        Some(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    detail.insert(key.into(), value);
    event.detail = Some(serde_json::Value::Object(detail));
}

/// Sets `key` in the event's `detail.sensitive` object, which the ledger seals like the
/// arguments: what quotes the arguments is erased with them (`audit redact`).
fn insert_sensitive(event: &mut AuditEvent, key: &str, value: serde_json::Value) {
    let mut sensitive = match event
        .detail
        .as_mut()
        .and_then(|d| d.as_object_mut())
        .and_then(|d| d.remove("sensitive"))
    {
        Some(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    sensitive.insert(key.into(), value);
    insert_detail(event, "sensitive", serde_json::Value::Object(sensitive));
}

/// The reason a decision's leaf shows in the clear: its outcome and rule, never a word of what
/// the call carried. The decision's own reason can quote the arguments (a refused value, a
/// command, a halt's note), so it is sealed with them (`detail.sensitive.reason`) when it says
/// more than this.
fn clear_reason(d: &Decision) -> String {
    match d.outcome() {
        Outcome::Allow => format!("permitted by rule `{}`", d.rule()),
        Outcome::Hold => format!("rule `{}` requires human approval", d.rule()),
        Outcome::Deny => format!("denied by rule `{}`", d.rule()),
    }
}

fn add_context_detail(event: &mut AuditEvent, state: &CallState, outbound: &OutboundReport) {
    if outbound.flagged() {
        // The flags in the clear; what the screen found, which quotes the text, sealed.
        insert_detail(
            event,
            "outbound",
            json!({
                "findings": outbound.findings.iter().map(|f| json!({
                    "kind": f.kind.as_str(),
                })).collect::<Vec<_>>(),
            }),
        );
        insert_sensitive(
            event,
            "outbound",
            json!({
                "summary": outbound.summary(),
                "findings": outbound.findings.iter().map(|f| json!({
                    "kind": f.kind.as_str(), "detail": f.detail,
                })).collect::<Vec<_>>(),
            }),
        );
    }
    if state.agent_tainted {
        insert_detail(
            event,
            "agent_taint",
            json!({"level": state.agent_taint_level, "source": state.agent_taint_source}),
        );
    }
}

/// The same, for the humans who answer a held call.
fn context_evidence(state: &CallState, outbound: &OutboundReport) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    if outbound.flagged() {
        out.push(json!(format!(
            "outbound screen of this call's text: {}",
            outbound.summary()
        )));
    }
    if state.agent_tainted {
        out.push(json!(format!(
            "the agent is tainted (level {}) since reading `{}`",
            state.agent_taint_level, state.agent_taint_source
        )));
    }
    out
}

/// The decision on the call's trace span, once it is durable at `index`.
fn on_span(decision: &Decision, index: u64) {
    let span = tracing::Span::current();
    span.record("warden.decision", decision.outcome().as_str());
    span.record("warden.rule", decision.rule());
    // An integer attribute (a u64 would be exported as text).
    span.record(
        "warden.ledger_index",
        i64::try_from(index).unwrap_or(i64::MAX),
    );
}

pub(crate) fn digest_of(bytes: &[u8]) -> Option<String> {
    Some(format!("sha256:{}", sha256_hex(bytes)))
}

fn new_request_id() -> String {
    use rand::Rng;
    let n: u64 = rand::thread_rng().r#gen();
    format!("apr_{n:016x}")
}

/// Longer tool names are cut in the record of a refused call: the name is the agent's text.
const KEPT_NAME_CHARS: usize = 128;
/// How much of a halted call's rationale its record keeps.
const KEPT_RATIONALE_CHARS: usize = 128;

/// The built-in denial of a call that `scope`'s `halt` covers.
fn halt_decision(config: &Config, scope: &Scope, halt: &Halt, category: String) -> Decision {
    Decision::builtin_deny(
        format!("halt:{scope}"),
        halt.set_by.clone(),
        category,
        format!("`{scope}` is halted: {}", halt.reason),
        config.engine.version(),
    )
}

/// A denied call's record keeps its arguments up to this size (their canonical JSON, in
/// bytes); larger ones are recorded as their digest and each argument's name and size.
pub const DENIED_ARGS_KEPT_BYTES: usize = 4096;
/// Most argument names a denied call's record lists.
const SUMMARISED_ARGS: usize = 64;
/// How much of a denied call's reason its record keeps.
const KEPT_REASON_CHARS: usize = 1024;

/// The record of a denied call whose arguments are over [`DENIED_ARGS_KEPT_BYTES`]: the
/// (sealed) digest stays, and `detail` gets `args_bytes`, `arg_count` and `arg_sizes` (the
/// first [`SUMMARISED_ARGS`] names, each cut to [`KEPT_NAME_CHARS`], with the size of its
/// value) instead of the values; a reason longer than [`KEPT_REASON_CHARS`] (one that quotes a
/// refused value) is cut, its size in `detail.reason_bytes`. Nothing runs on a denied call and no approval is bound to its
/// arguments, so the values decide nothing later; kept whole, they would let an agent grow the
/// ledger by a request's size with every call it knows will be denied. A held call keeps its
/// arguments exactly: its approval is bound to them.
fn summarise_denied_args(e: &mut AuditEvent) {
    // The reason may quote a value it refused (an entity that does not exist): cut too.
    let sealed_reason = e
        .detail
        .as_ref()
        .and_then(|d| d.pointer("/sensitive/reason"))
        .and_then(|r| r.as_str())
        .map(str::to_owned);
    if let Some(reason) = sealed_reason
        && reason.chars().count() > KEPT_REASON_CHARS
    {
        insert_detail(e, "reason_bytes", json!(reason.len()));
        let mut cut: String = reason.chars().take(KEPT_REASON_CHARS).collect();
        cut.push('…');
        insert_sensitive(e, "reason", json!(cut));
    }
    let Some(args) = e.args.as_ref() else {
        return;
    };
    let size = |v: &serde_json::Value| serde_json::to_vec(v).map_or(0, |b| b.len());
    let bytes = size(args);
    if bytes <= DENIED_ARGS_KEPT_BYTES {
        return;
    }
    let (count, sizes) = match args {
        serde_json::Value::Object(map) => (
            map.len(),
            map.iter()
                .take(SUMMARISED_ARGS)
                .map(|(name, value)| {
                    (
                        name.chars().take(KEPT_NAME_CHARS).collect::<String>(),
                        json!(size(value)),
                    )
                })
                .collect::<serde_json::Map<_, _>>(),
        ),
        _ => (0, serde_json::Map::new()),
    };
    e.args = None;
    insert_detail(e, "args_bytes", json!(bytes));
    insert_detail(e, "arg_count", json!(count));
    insert_detail(e, "arg_sizes", serde_json::Value::Object(sizes));
}

/// The record of a call refused by a halt. A halted agent can go on calling, and nothing it
/// sends is decided or forwarded, so its record keeps the (sealed) digest and the size of the
/// arguments instead of the arguments, the rationale's size and its first
/// [`KEPT_RATIONALE_CHARS`] characters, and the tool name cut to [`KEPT_NAME_CHARS`]: each
/// refusal adds a small, bounded leaf however large the requests, and the ledger's disk is not
/// the agent's to fill. Decisions on calls that are looked at keep everything.
fn halted_event(call: &ToolCall, d: &Decision, time_ms: i64) -> AuditEvent {
    let mut e = decision_event(call, d, None, time_ms);
    let args_bytes = e
        .args
        .take()
        .map_or(0, |a| serde_json::to_vec(&a).map_or(0, |v| v.len()));
    let mut detail = serde_json::Map::new();
    detail.insert("args_bytes".into(), json!(args_bytes));
    if let Some(rationale) = e.rationale.take() {
        detail.insert("rationale_bytes".into(), json!(rationale.len()));
        e.rationale = Some(rationale.chars().take(KEPT_RATIONALE_CHARS).collect());
    }
    if let Some(serde_json::Value::Object(extra)) = e.detail.take() {
        detail.extend(extra);
    }
    e.detail = Some(serde_json::Value::Object(detail));
    e.tool = e.tool.map(|t| t.chars().take(KEPT_NAME_CHARS).collect());
    e
}

fn decision_event(
    call: &ToolCall,
    d: &Decision,
    request_id: Option<&str>,
    time_ms: i64,
) -> AuditEvent {
    let args = call.args_value();
    let mut e = AuditEvent::new(EventKind::Decision, time_ms);
    e.principal = Some(call.principal.0.clone());
    e.session = Some(call.session.0.clone());
    e.tool = Some(call.tool.to_string());
    e.args_digest = Some(ArgsDigest::of(&args).0);
    e.args = Some(args);
    e.decision = Some(d.outcome().as_str().to_string());
    e.rule = Some(d.rule().to_string());
    e.owner = Some(d.owner().to_string());
    e.category = Some(d.category().to_string());
    let clear = clear_reason(d);
    if d.reason() != clear {
        insert_sensitive(&mut e, "reason", json!(d.reason()));
    }
    e.reason = Some(clear);
    e.policy_version = Some(d.policy_version().to_string());
    e.request_id = request_id.map(str::to_string);
    e.rationale = call.rationale.clone();
    if let Some(p) = d.permitted_by().filter(|p| *p != d.rule()) {
        insert_detail(&mut e, "permitted_by", json!(p));
    }
    e
}

/// Where the shadow policy set decided differently from the enforced one.
fn shadow_event(
    call: &ToolCall,
    enforced: &Decision,
    shadow: &Decision,
    time_ms: i64,
) -> AuditEvent {
    let mut e = AuditEvent::new(EventKind::ShadowDiff, time_ms);
    e.principal = Some(call.principal.0.clone());
    e.session = Some(call.session.0.clone());
    e.tool = Some(call.tool.to_string());
    e.args_digest = Some(ArgsDigest::of(&call.args_value()).0);
    // No `decision` column: filtering the ledger by decision finds decisions, not comparisons.
    e.rule = Some(enforced.rule().to_string());
    e.category = Some(enforced.category().to_string());
    e.policy_version = Some(enforced.policy_version().to_string());
    e.reason = Some(shadow.reason().to_string());
    e.detail = Some(json!({
        "enforced": enforced.outcome().as_str(),
        "enforced_rule": enforced.rule(),
        "shadow": shadow.outcome().as_str(),
        "shadow_rule": shadow.rule(),
        "shadow_version": shadow.policy_version(),
    }));
    e
}

/// A denial because budget `exhausted` is used up; for a held call, `approval` names the
/// request whose approval stays unspent.
fn budget_denial(
    config: &Config,
    spec: &warden_policy::ToolSpec,
    decision: &Decision,
    exhausted: &str,
    approval: Option<&str>,
) -> Decision {
    let category = &spec.labels.category;
    let unspent = approval.map_or_else(String::new, |id| {
        format!(" (approval `{id}` not used; it stays valid until it expires)")
    });
    Decision::builtin_deny(
        format!("budget:{exhausted}"),
        config.owners.get(category).cloned().unwrap_or_default(),
        category.clone(),
        format!("budget `{exhausted}` is used up for this window{unspent}"),
        decision.policy_version(),
    )
}

/// A call that would be held while its agent already has `waiting` requests before approvers,
/// as many as `[approvals] max_pending_per_agent` allows: denied, so that a flood of held calls
/// cannot bury the one an approver must not miss.
fn pending_cap_denial(
    config: &Config,
    spec: &warden_policy::ToolSpec,
    decision: &Decision,
    waiting: u64,
) -> Decision {
    refused_hold(
        config,
        spec,
        decision,
        "pending-cap",
        format!(
            "this call needs a human's approval, and the agent already has {waiting} requests \
             waiting for approvers (`[approvals] max_pending_per_agent`); it was not held. \
             Send it again once some are answered"
        ),
    )
}

/// A call the policy holds, refused instead of held (`rule`, `reason`): owned by its category's
/// owner, under the decision's policy version.
fn refused_hold(
    config: &Config,
    spec: &warden_policy::ToolSpec,
    decision: &Decision,
    rule: &str,
    reason: String,
) -> Decision {
    let category = &spec.labels.category;
    Decision::builtin_deny(
        rule,
        config.owners.get(category).cloned().unwrap_or_default(),
        category.clone(),
        reason,
        decision.policy_version(),
    )
}

/// A held call sent again after a person denied the same call, or while a request for it
/// waits (`earlier`), or while it is being held (`None`): refused, with the request named.
fn asked_again(
    config: &Config,
    spec: &warden_policy::ToolSpec,
    decision: &Decision,
    earlier: Option<&PendingRequest>,
) -> Decision {
    let (rule, reason) = match earlier {
        Some(r) if r.status == ApprovalStatus::Denied => {
            let by = r
                .answers
                .iter()
                .rev()
                .find(|a| a.verdict == warden_core::Verdict::Deny)
                .map_or("an approver", |a| a.approver.as_str());
            (
                "approval-denied",
                format!(
                    "{by} denied this same call (request `{}`): it is not put to approvers \
                     again. Only a different call is a new request",
                    r.id
                ),
            )
        }
        Some(r) => (
            "approval-pending",
            format!(
                "this same call already waits for approval as request `{}`; it was not held \
                 again. Send it once that request is approved",
                r.id
            ),
        ),
        None => (
            "approval-pending",
            "this same call is being held for approval right now; it was not held twice. Send \
             it once its request is approved"
                .to_string(),
        ),
    };
    refused_hold(config, spec, decision, rule, reason)
}

fn denied(d: &Decision) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(format!(
        "denied by warden: {} (owner: {}). This call was not executed.",
        d.reason(),
        d.owner()
    ))])
}

fn halted(scope: &Scope, h: &Halt) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(halt_refusal(
        scope,
        h,
        "call was not executed",
    ))])
}

/// What a halted agent is told, for a call or any other request (`what` says what was not
/// done).
pub(crate) fn halt_refusal(scope: &Scope, h: &Halt, what: &str) -> String {
    format!(
        "halted by warden: `{scope}` was halted by {} ({}). This {what}; \
         nothing in this scope runs until a human resumes it.",
        h.set_by, h.reason
    )
}

fn held(d: &Decision, id: &str) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(format!(
        "held for approval by warden: request `{id}` waits for a human approver ({}). \
         This call was not executed; do not retry it until it is approved.",
        d.reason()
    ))])
}

/// The most text (bytes, all of a call's `text` arguments) the outbound screen reads on the
/// worker that serves the call; more is read on the blocking pool.
const OUTBOUND_INLINE_BYTES: usize = 16 * 1024;

/// A call's places in flight: its upstream's and the gateway's, given back when dropped.
struct InFlight<'a> {
    _own: Option<tokio::sync::SemaphorePermit<'a>>,
    _all: tokio::sync::SemaphorePermit<'a>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::LedgerHealth;

    #[test]
    fn ledger_health_follows_the_order_appends_were_queued_in() {
        let health = LedgerHealth::default();
        assert!(!health.failing());
        let (earlier, failed) = (health.attempt(), health.attempt());
        health.settled(failed, false);
        assert!(health.failing());
        // A success queued before the failure, whose task woke later, clears nothing.
        health.settled(earlier, true);
        assert!(health.failing());
        // One queued after it does.
        let later = health.attempt();
        health.settled(later, true);
        assert!(!health.failing());
        // And a failure queued before that success, reported late, does not set it again.
        let (stale, newer) = (health.attempt(), health.attempt());
        health.settled(newer, true);
        health.settled(stale, false);
        assert!(!health.failing());
    }
}
