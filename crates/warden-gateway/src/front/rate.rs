//! The rate at which one agent is served (`[gateway] agent_requests_per_sec`, `agent_burst`).
//!
//! An agent's token is enough to send requests as fast as a socket takes them, and each one
//! that reaches the handler does policy, store and ledger work. So every authenticated request
//! (to `/mcp` and to `/hooks/claude-code`, and each request over stdio) first takes one place
//! from its agent's token bucket, `governor`'s GCRA keyed by the agent, on the gateway's
//! injected clock. A request that finds the bucket empty is answered 429 with `Retry-After`
//! and a JSON-RPC error at once: nothing of it is read, decided or stored. Each agent has its
//! own bucket, so one that floods slows no other.
//!
//! A flood is recorded, but not once per refused request, or the refusals would grow the
//! ledger as fast as the calls would have: the first refusal of an agent records a `finding`
//! (`detector = "rate_limit"`), and later ones add to a count that the agent's next finding
//! carries, written no sooner than [`RECORD_EVERY_MS`] after the last. A flood is at most one
//! ledger leaf per agent a minute.

use crate::clock::Clock;
use crate::pipeline::Gateway;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use governor::clock::Clock as _;
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};
use serde_json::json;
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use warden_core::{AuditEvent, EventKind, Principal};
use warden_policy::AgentRate;

/// How often, at most, an agent's refused requests are recorded.
pub const RECORD_EVERY_MS: i64 = 60_000;

/// The gateway's clock as `governor` reads time: the time since the Unix epoch.
#[derive(Debug, Clone)]
struct GatewayClock(Arc<dyn Clock>);

impl governor::clock::Clock for GatewayClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        Duration::from_millis(u64::try_from(self.0.now_ms()).unwrap_or(0))
    }
}

type Limiter =
    RateLimiter<Principal, HashMapStateStore<Principal>, GatewayClock, NoOpMiddleware<Duration>>;

/// Each agent's bucket, and what is left to record of each agent's refused requests.
pub(crate) struct AgentLimiter {
    gateway: Arc<Gateway>,
    limiter: Limiter,
    clock: GatewayClock,
    rate: AgentRate,
    floods: Mutex<HashMap<Principal, Flood>>,
}

/// An agent's refused requests since its last record.
#[derive(Debug, Clone, Copy)]
struct Flood {
    /// When the last finding about this agent was recorded.
    recorded_ms: i64,
    /// Requests refused since then.
    unrecorded: u64,
}

/// A request refused for its agent's rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refused {
    /// Whole seconds until the agent's next request would be served (at least one).
    pub retry_after_secs: u64,
}

impl AgentLimiter {
    pub(crate) fn new(gateway: Arc<Gateway>) -> Arc<Self> {
        let rate = gateway.config().gateway.agent_rate;
        let one = NonZeroU32::MIN;
        let quota = Quota::per_second(NonZeroU32::new(rate.per_sec).unwrap_or(one))
            .allow_burst(NonZeroU32::new(rate.burst).unwrap_or(one));
        let clock = GatewayClock(gateway.clock());
        Arc::new(Self {
            limiter: RateLimiter::hashmap_with_clock(quota, clock.clone()),
            clock,
            gateway,
            rate,
            floods: Mutex::new(HashMap::new()),
        })
    }

    /// Takes a place for one request of `agent`, or says when to come back; a refusal is
    /// recorded as the module says.
    pub(crate) async fn admit(&self, agent: &Principal) -> Result<(), Refused> {
        let not_until = match self.limiter.check_key(agent) {
            Ok(()) => return Ok(()),
            Err(not_until) => not_until,
        };
        let wait = not_until.wait_time_from(self.clock.now());
        let refused = Refused {
            retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
        }
        .at_least_one();
        self.gateway.metrics.rate_limited(agent);
        if let Some(count) = self.due(agent) {
            self.record(agent, count).await;
        }
        Err(refused)
    }

    /// Counts one refusal of `agent`: the count to record now, when a record is due.
    fn due(&self, agent: &Principal) -> Option<u64> {
        let now = self.gateway.now();
        let mut floods = self.floods.lock().unwrap_or_else(PoisonError::into_inner);
        match floods.get_mut(agent) {
            Some(flood) if now - flood.recorded_ms < RECORD_EVERY_MS => {
                flood.unrecorded += 1;
                None
            }
            Some(flood) => {
                let count = flood.unrecorded + 1;
                *flood = Flood {
                    recorded_ms: now,
                    unrecorded: 0,
                };
                Some(count)
            }
            None => {
                floods.insert(
                    agent.clone(),
                    Flood {
                        recorded_ms: now,
                        unrecorded: 0,
                    },
                );
                Some(1)
            }
        }
    }

    /// Records a finding: `agent` sent requests past its rate, `refused` of them since the
    /// last finding about it.
    async fn record(&self, agent: &Principal, refused: u64) {
        tracing::warn!(%agent, refused, "agent over its request rate: requests refused");
        let mut ev = AuditEvent::new(EventKind::Finding, self.gateway.now());
        ev.principal = Some(agent.to_string());
        ev.reason = Some(format!(
            "rate_limit: agent `{agent}` sent requests faster than its rate of {} a second \
             (burst {}); {refused} refused since the last record",
            self.rate.per_sec, self.rate.burst
        ));
        ev.detail = Some(json!({
            "detector": "rate_limit",
            "refused": refused,
            "requests_per_sec": self.rate.per_sec,
            "burst": self.rate.burst,
            "record_every_secs": RECORD_EVERY_MS / 1000,
        }));
        if let Err(e) = self.gateway.record(ev).await {
            tracing::error!(error = %e, %agent, "the agent's refused requests were not recorded");
        }
    }
}

impl Refused {
    fn at_least_one(self) -> Self {
        Self {
            retry_after_secs: self.retry_after_secs.max(1),
        }
    }

    /// What the agent is answered: 429, `Retry-After`, and a JSON-RPC error that says why.
    pub(crate) fn response(self, agent: &Principal) -> Response {
        let mut response = super::json_rpc_error(
            StatusCode::TOO_MANY_REQUESTS,
            serde_json::Value::Null,
            -32000,
            format!(
                "agent `{agent}` is sending requests faster than `agent_requests_per_sec` \
                 allows: this request was not read; retry after {} s",
                self.retry_after_secs
            ),
        );
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(self.retry_after_secs),
        );
        response
    }

    /// The same refusal as an MCP error, for stdio.
    pub(crate) fn error(self, agent: &Principal) -> rmcp::ErrorData {
        rmcp::ErrorData::new(
            rmcp::model::ErrorCode(-32000),
            format!(
                "agent `{agent}` is sending requests faster than `agent_requests_per_sec` \
                 allows: this request was not read; retry after {} s",
                self.retry_after_secs
            ),
            None,
        )
    }
}

/// Serves an authenticated request only while its agent is within its rate.
pub(super) async fn limit_agents(
    State(limiter): State<Arc<AgentLimiter>>,
    req: Request,
    next: Next,
) -> Response {
    let Some(agent) = req
        .extensions()
        .get::<super::Authenticated>()
        .map(|a| a.0.clone())
    else {
        return next.run(req).await;
    };
    match limiter.admit(&agent).await {
        Ok(()) => next.run(req).await,
        Err(refused) => refused.response(&agent),
    }
}
