//! What the agent talks to: an MCP server over Streamable HTTP (`/mcp`) or stdio.
//!
//! HTTP requests are authenticated before rmcp sees them: the bearer token's SHA-256 is looked
//! up among the configured agents and the principal travels in the request's extensions; no
//! token or a wrong one is a 401 and nothing reaches the pipeline. Over stdio the principal is
//! the one the config names. The handler turns wire requests into `ToolCall`s, runs the pipeline
//! and maps `CallError` to the wire in one place (`to_wire`).
//!
//! An agent holds at most `[gateway] max_sessions_per_agent` MCP sessions (`sessions`).

mod hooks;
mod sessions;

use crate::pipeline::{CallError, Gateway};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, ErrorCode, Implementation, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::transport::streamable_http_server::{
    StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
};
use rmcp::{ErrorData, ServerHandler, ServiceExt};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, PoisonError};
use tokio_util::sync::CancellationToken;
use warden_core::{Principal, SessionId, ToolCall, ToolName};

/// An agent identity established by the front, carried to the handler.
#[derive(Debug, Clone)]
struct Authenticated(Principal);

#[derive(Clone)]
pub struct WardenServer {
    gateway: Arc<Gateway>,
    /// Set for stdio: one agent, one session, for the life of the connection.
    fixed: Option<(Principal, SessionId)>,
    /// The MCP sessions this handler served, forgotten by the screen when it is dropped.
    ended: Arc<SessionEnd>,
}

/// What the screen holds for an MCP session (taint, recent reads, the data boundary) is
/// forgotten when the session ends, or it would be kept for as long as warden runs.
///
/// rmcp makes one handler per MCP session (`legacy_session_mode`, sessions with an
/// `Mcp-Session-Id`) and drops it when the session ends: closed by the client, or idle past
/// rmcp's keep-alive. Its id is refused from then on, so nothing can use the forgotten state.
/// Only ids from that header are noted: a request served statelessly (no session id, protocol
/// `2026-07-28`) gets a handler of its own, and the agent-wide key such requests share must
/// outlive it, or each request would clear the taint the previous one left.
struct SessionEnd {
    gateway: Arc<Gateway>,
    keys: std::sync::Mutex<Vec<(Principal, SessionId)>>,
}

impl SessionEnd {
    fn new(gateway: Arc<Gateway>) -> Arc<Self> {
        Arc::new(Self {
            gateway,
            keys: std::sync::Mutex::new(Vec::new()),
        })
    }

    fn note(&self, principal: &Principal, session: &SessionId) {
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        if !keys.iter().any(|(p, s)| p == principal && s == session) {
            keys.push((principal.clone(), session.clone()));
        }
    }
}

impl Drop for SessionEnd {
    fn drop(&mut self) {
        let keys = std::mem::take(self.keys.get_mut().unwrap_or_else(PoisonError::into_inner));
        if !keys.is_empty() {
            tracing::debug!(
                sessions = keys.len(),
                "MCP session ended; its screen state is forgotten"
            );
            self.gateway.screening.forget(keys);
        }
    }
}

impl WardenServer {
    fn identity(
        &self,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<(Principal, SessionId), ErrorData> {
        if let Some(fixed) = &self.fixed {
            return Ok(fixed.clone());
        }
        let parts = ctx.extensions.get::<http::request::Parts>();
        let principal = parts
            .and_then(|p| p.extensions.get::<Authenticated>())
            .map(|a| a.0.clone())
            .ok_or_else(|| ErrorData::new(ErrorCode::INVALID_REQUEST, "not authenticated", None))?;
        // The header names a session only on rmcp's session path (a protocol with the
        // `initialize` handshake), where rmcp has checked that the session exists. A request
        // served statelessly (2026-07-28) is not checked: a header it carries is the client's
        // own choice, and honouring it would let a client pick a fresh, untainted session.
        let in_session = ctx.protocol_version().is_some_and(|v| v.has_initialize());
        let session = parts
            .filter(|_| in_session)
            .and_then(|p| p.headers.get("mcp-session-id"))
            .and_then(|v| v.to_str().ok());
        match session {
            Some(id) => {
                let session = SessionId(id.to_string());
                self.ended.note(&principal, &session);
                Ok((principal, session))
            }
            None => {
                let session = SessionId(format!("{principal}:stateless"));
                Ok((principal, session))
            }
        }
    }
}

fn to_wire(e: CallError) -> ErrorData {
    match e {
        CallError::UnknownTool(name) => ErrorData::new(
            ErrorCode::INVALID_PARAMS,
            format!("unknown tool `{name}`"),
            None,
        ),
        CallError::Internal(detail) => {
            tracing::error!(%detail, "call refused: internal failure");
            ErrorData::new(
                ErrorCode::INTERNAL_ERROR,
                CallError::Internal(String::new()).to_string(),
                None,
            )
        }
    }
}

impl ServerHandler for WardenServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("warden", env!("CARGO_PKG_VERSION")))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        self.identity(&context)?;
        self.gateway.refresh_catalog().await;
        Ok(ListToolsResult::with_all_items(
            self.gateway.catalog.visible(),
        ))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let (principal, session) = self.identity(&context)?;
        let Some(tool) = ToolName::parse(&request.name) else {
            let refused = self
                .gateway
                .unknown_name(principal, session, request.name.to_string())
                .await;
            return Err(to_wire(refused));
        };
        let rationale = rationale(&context, &request);
        let call = ToolCall {
            principal,
            session,
            tool,
            args: request.arguments.unwrap_or_default(),
            rationale,
        };
        self.gateway
            .pipeline(call)
            .await
            .map(Into::into)
            .map_err(to_wire)
    }
}

/// The agent's stated reason for a call: `_meta.rationale`, a string. rmcp moves a request's
/// `_meta` into the request context before the handler runs, so it is read from there, and from
/// the params for a transport that leaves it in place. Any other shape is ignored: the reason
/// is evidence for the approver and the ledger, never an input to the decision.
fn rationale(
    context: &RequestContext<RoleServer>,
    request: &CallToolRequestParams,
) -> Option<String> {
    let from = |meta: &serde_json::Map<String, serde_json::Value>| {
        meta.get("rationale")
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    from(&context.meta).or_else(|| request.meta.as_ref().and_then(|m| from(m)))
}

/// Serves one agent over stdin/stdout until the client disconnects.
pub async fn serve_stdio(gateway: Arc<Gateway>, principal: Principal) -> Result<(), String> {
    let session = SessionId(format!("stdio-{}", std::process::id()));
    let server = WardenServer {
        ended: SessionEnd::new(gateway.clone()),
        gateway,
        fixed: Some((principal, session)),
    };
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| e.to_string())?;
    running.waiting().await.map_err(|e| e.to_string())?;
    Ok(())
}

#[derive(Clone)]
struct Tokens(Arc<HashMap<[u8; 32], Principal>>);

async fn authenticate(State(tokens): State<Tokens>, mut req: Request, next: Next) -> Response {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| <[u8; 32]>::from(Sha256::digest(t.trim().as_bytes())));
    match presented.and_then(|digest| tokens.0.get(&digest)) {
        Some(principal) => {
            req.extensions_mut()
                .insert(Authenticated(principal.clone()));
            next.run(req).await
        }
        None => {
            let mut response = (
                StatusCode::UNAUTHORIZED,
                axum::Json(serde_json::json!({
                    "error": "unauthorized",
                    "message": "a valid bearer token is required"
                })),
            )
                .into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"warden\""),
            );
            response
        }
    }
}

/// The HTTP application: `/mcp` for agents, `/hooks/claude-code` for Claude Code's hooks,
/// `/healthz` for load balancers.
pub fn router(gateway: Arc<Gateway>, shutdown: CancellationToken) -> axum::Router {
    let settings = &gateway.config().gateway;
    let tokens = Tokens(Arc::new(
        gateway
            .config()
            .agents
            .iter()
            .map(|a| (a.token_sha256, a.principal.clone()))
            .collect(),
    ));
    let mut hosts = vec!["localhost".to_string(), "127.0.0.1".into(), "::1".into()];
    hosts.extend(settings.allowed_hosts.iter().cloned());
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(hosts)
        .with_allowed_origins(settings.allowed_origins.iter().cloned())
        .enforce_origin_validation()
        .with_max_request_body_bytes(settings.max_request_bytes)
        .with_cancellation_token(shutdown.child_token());
    let g = gateway.clone();
    let manager = Arc::new(LocalSessionManager::default());
    let cap = sessions::SessionCap::new(settings.max_sessions_per_agent, manager.clone());
    let mcp = StreamableHttpService::new(
        move || {
            Ok(WardenServer {
                gateway: g.clone(),
                fixed: None,
                ended: SessionEnd::new(g.clone()),
            })
        },
        manager,
        config,
    );
    let limit = settings.max_request_bytes;
    // Claude Code's hooks, behind the same authentication as `/mcp`.
    let hooks = axum::Router::new()
        .route(
            "/hooks/claude-code",
            axum::routing::post(hooks::claude_code),
        )
        .with_state(gateway.clone())
        .layer(axum::middleware::from_fn_with_state(
            tokens.clone(),
            authenticate,
        ));
    let mcp = axum::Router::new()
        .nest_service("/mcp", mcp)
        .layer(axum::middleware::from_fn_with_state(
            cap,
            sessions::cap_sessions,
        ))
        .layer(axum::middleware::from_fn(move |req, next| {
            check_json_rpc(limit, req, next)
        }))
        .layer(axum::middleware::from_fn_with_state(tokens, authenticate))
        .layer(axum::extract::DefaultBodyLimit::max(
            settings.max_request_bytes,
        ));
    axum::Router::new()
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .merge(hooks)
        .merge(mcp)
}

fn json_rpc_error(
    status: StatusCode,
    id: serde_json::Value,
    code: i32,
    message: String,
) -> Response {
    (
        status,
        axum::Json(serde_json::json!({
            "jsonrpc": "2.0",
            "id": id,
            "error": {"code": code, "message": message}
        })),
    )
        .into_response()
}

/// Answers a POST body that is not JSON-RPC with a JSON-RPC error (parse error -32700, invalid
/// request -32600), as the specification asks, instead of a transport-level rejection; a body
/// that does not arrive within the body timeout is answered 408. Marks an `initialize` without
/// a session id, which makes a session, for the cap on sessions.
async fn check_json_rpc(limit: usize, req: Request, next: Next) -> Response {
    if req.method() != http::Method::POST {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(e) if timed_out(&e) => {
            return json_rpc_error(
                StatusCode::REQUEST_TIMEOUT,
                serde_json::Value::Null,
                -32600,
                e.to_string(),
            );
        }
        Err(_) => {
            return json_rpc_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                serde_json::Value::Null,
                -32600,
                format!("request larger than {limit} bytes"),
            );
        }
    };
    let message = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Err(e) => {
            return json_rpc_error(
                StatusCode::BAD_REQUEST,
                serde_json::Value::Null,
                -32700,
                format!("parse error: {e}"),
            );
        }
        Ok(message) => message,
    };
    let valid = match &message {
        serde_json::Value::Array(items) => !items.is_empty() && items.iter().all(is_message),
        v => is_message(v),
    };
    if !valid {
        return json_rpc_error(
            StatusCode::BAD_REQUEST,
            serde_json::Value::Null,
            -32600,
            "invalid request: not a JSON-RPC 2.0 message".into(),
        );
    }
    if message.get("method").and_then(|m| m.as_str()) == Some("initialize")
        && !parts.headers.contains_key("mcp-session-id")
    {
        let id = message
            .get("id")
            .cloned()
            .unwrap_or(serde_json::Value::Null);
        parts.extensions.insert(sessions::Opening(id));
    }
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

/// Whether reading a body failed because it missed the body timeout.
fn timed_out(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(e) = source {
        if e.is::<crate::server::BodyTimedOut>() {
            return true;
        }
        source = e.source();
    }
    false
}

fn is_message(v: &serde_json::Value) -> bool {
    v.get("jsonrpc").and_then(|j| j.as_str()) == Some("2.0")
        && (v.get("method").is_some_and(serde_json::Value::is_string)
            || v.get("result").is_some()
            || v.get("error").is_some())
}
