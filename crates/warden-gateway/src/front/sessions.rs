//! The cap on MCP sessions per agent (`[gateway] max_sessions_per_agent`): each session holds
//! a worker, its channels and its screen state, so an agent that opens sessions without end
//! (3,000 in a second cost 180 MB) exhausts warden's memory for every other agent.
//!
//! rmcp makes a session for each `initialize` sent without a session id, and knows nothing of
//! agents, so the count is kept here, around it: such an `initialize` goes through only while
//! its agent holds fewer sessions than the cap, and the session id rmcp answers with is noted as
//! the agent's. A session ends when its client deletes it or when rmcp closes it after five
//! minutes idle (its keep-alive); rather than be told, the count asks rmcp's session manager
//! which of an agent's noted sessions still exist whenever the agent is at its cap. An
//! `initialize` holds a place while it runs, so two at once cannot both take the last one. One
//! agent's sessions never count against another's.

use super::Authenticated;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use warden_core::Principal;

/// Marks a POST to `/mcp` that is an `initialize` without a session id: one that makes a
/// session. Carries the request's JSON-RPC id, for the error that refuses it.
#[derive(Debug, Clone)]
pub(super) struct Opening(pub serde_json::Value);

pub(super) struct SessionCap {
    max: usize,
    manager: Arc<LocalSessionManager>,
    agents: Mutex<HashMap<Principal, Held>>,
}

#[derive(Default)]
struct Held {
    /// Sessions rmcp made for the agent; some may have ended since.
    noted: Vec<Arc<str>>,
    /// `initialize` requests of the agent in flight.
    opening: usize,
}

impl Held {
    fn count(&self) -> usize {
        self.noted.len() + self.opening
    }
}

impl SessionCap {
    pub(super) fn new(max: usize, manager: Arc<LocalSessionManager>) -> Arc<Self> {
        Arc::new(Self {
            max,
            manager,
            agents: Mutex::new(HashMap::new()),
        })
    }

    fn agents(&self) -> std::sync::MutexGuard<'_, HashMap<Principal, Held>> {
        self.agents.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `session` is one rmcp made for `agent`.
    fn owns(&self, agent: &Principal, session: &str) -> bool {
        self.agents()
            .get(agent)
            .is_some_and(|held| held.noted.iter().any(|id| id.as_ref() == session))
    }

    /// Whether rmcp holds a session with this id (of any agent).
    async fn exists(&self, session: &str) -> bool {
        self.manager.sessions.read().await.contains_key(session)
    }

    /// A place for one more session of `agent`, or `None` when it holds the cap.
    async fn reserve(self: &Arc<Self>, agent: &Principal) -> Option<Place> {
        let noted = {
            let agents = self.agents();
            match agents.get(agent) {
                Some(held) if held.count() >= self.max => held.noted.clone(),
                _ => Vec::new(),
            }
        };
        // At the cap: forget the sessions rmcp has closed (asked without holding our lock).
        let ended: HashSet<Arc<str>> = if noted.is_empty() {
            HashSet::new()
        } else {
            let live = self.manager.sessions.read().await;
            noted
                .into_iter()
                .filter(|id| !live.contains_key(id))
                .collect()
        };
        let mut agents = self.agents();
        let held = agents.entry(agent.clone()).or_default();
        held.noted.retain(|id| !ended.contains(id));
        if held.count() >= self.max {
            return None;
        }
        held.opening += 1;
        Some(Place {
            cap: self.clone(),
            agent: agent.clone(),
        })
    }
}

/// A session being opened; dropped, it gives its place back unless the session was made.
struct Place {
    cap: Arc<SessionCap>,
    agent: Principal,
}

impl Place {
    fn opened(self, session: &str) {
        if let Some(held) = self.cap.agents().get_mut(&self.agent) {
            held.noted.push(Arc::from(session));
        }
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        if let Some(held) = self.cap.agents().get_mut(&self.agent) {
            held.opening = held.opening.saturating_sub(1);
        }
    }
}

/// Lets an `initialize` without a session id through only while its agent holds fewer
/// sessions than the cap; one more is answered 429 with a JSON-RPC error that names the cap.
///
/// A request that names a live session (`Mcp-Session-Id`: a call, the event stream, a DELETE)
/// goes through only if that session was opened by the same agent; another agent's session is
/// answered 404, as rmcp answers one that does not exist: a token opens its own sessions, never
/// reads, writes to or closes another agent's. (A name that is no live session is left to
/// rmcp: refused on the session path, ignored by a stateless request.)
pub(super) async fn cap_sessions(
    State(cap): State<Arc<SessionCap>>,
    req: Request,
    next: Next,
) -> Response {
    let opening = req.extensions().get::<Opening>().cloned();
    let agent = req.extensions().get::<Authenticated>().map(|a| a.0.clone());
    // A header that is not visible ASCII names no session rmcp knows: rmcp reads it as
    // absent and opens a session for an `initialize`, which the cap (counting only an
    // `initialize` without the header) would never count. Refused, so every reader of the
    // header sees the same thing.
    let named = match req.headers().get("mcp-session-id").map(|v| v.to_str()) {
        None => None,
        Some(Ok(name)) => Some(name.to_string()),
        Some(Err(_)) => {
            return (
                StatusCode::BAD_REQUEST,
                "Mcp-Session-Id is not visible ASCII",
            )
                .into_response();
        }
    };
    if let (Some(session), Some(agent)) = (&named, &agent)
        && !cap.owns(agent, session)
        && cap.exists(session).await
    {
        tracing::warn!(%agent, "a request named a session this agent did not open: refused");
        return (StatusCode::NOT_FOUND, "session not found").into_response();
    }
    let (Some(Opening(id)), Some(agent)) = (opening, agent) else {
        return next.run(req).await;
    };
    let Some(place) = cap.reserve(&agent).await else {
        tracing::warn!(%agent, max_sessions_per_agent = cap.max, "MCP session refused: the agent is at its cap");
        return super::json_rpc_error(
            StatusCode::TOO_MANY_REQUESTS,
            id,
            -32000,
            format!(
                "agent `{agent}` already has {} MCP sessions open, the most that \
                 `max_sessions_per_agent` allows: close one or let one expire",
                cap.max
            ),
        );
    };
    let response = next.run(req).await;
    if let Some(session) = response
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
    {
        place.opened(session);
    }
    response
}
