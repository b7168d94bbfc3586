//! What the agent talks to: an MCP server over Streamable HTTP (`/mcp`) or stdio.
//!
//! HTTP requests are authenticated before rmcp sees them: the bearer token's SHA-256 is looked
//! up among the configured agents and the principal travels in the request's extensions; no
//! token or a wrong one is a 401 and nothing reaches the pipeline. Over stdio the principal is
//! the one the config names. The handler turns wire requests into `ToolCall`s, runs the pipeline
//! and maps `CallError` to the wire in one place (`to_wire`).
//!
//! An agent holds at most `[gateway] max_sessions_per_agent` MCP sessions (`sessions`), and is
//! served at most `agent_requests_per_sec` requests a second (`rate`), checked before anything
//! else of the request is read.

mod hooks;
pub mod oauth;
mod rate;
mod sessions;

pub use rate::RECORD_EVERY_MS;

use crate::failure::{RETRY_AFTER_SECS, told};
use crate::pipeline::{CallError, Gateway};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, ErrorCode, Implementation, InitializeRequestParams,
    InitializeResult, ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::transport::streamable_http_server::{
    StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
};
use rmcp::{ErrorData, ServerHandler, ServiceExt};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::sync::{Arc, PoisonError};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;
use warden_core::{Principal, SessionId, ToolCall};
use warden_store::Transience;

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
    /// Set when this handler answered `initialize`: rmcp made it for an MCP session (its
    /// session path, which checks the `Mcp-Session-Id` of every request it routes here). A
    /// handler rmcp made for one request served statelessly never sees `initialize`, whatever
    /// protocol version that request declares.
    initialized: Arc<std::sync::atomic::AtomicBool>,
    /// Set for stdio: the agent's rate, checked by each request (over HTTP the front checks it
    /// before rmcp sees the request).
    limiter: Option<Arc<rate::AgentLimiter>>,
    /// The session's id once known, for the watcher of its listing (`listing.rs`): stdio's
    /// from the start, an HTTP session's from its first request after `initialize`.
    listed_as: Arc<std::sync::OnceLock<SessionId>>,
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
    /// Cancelled when the session ends: stops the watcher of its listing.
    stop: CancellationToken,
}

impl SessionEnd {
    fn new(gateway: Arc<Gateway>) -> Arc<Self> {
        Arc::new(Self {
            gateway,
            keys: std::sync::Mutex::new(Vec::new()),
            stop: CancellationToken::new(),
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
        self.stop.cancel();
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
    /// Over stdio: takes a place in the agent's rate for one request, or refuses it.
    async fn admit(&self) -> Result<(), ErrorData> {
        if let (Some(limiter), Some((principal, _))) = (&self.limiter, &self.fixed) {
            limiter
                .admit(principal)
                .await
                .map_err(|refused| refused.error(principal))?;
        }
        Ok(())
    }

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
        // The header names a session only on rmcp's session path, where rmcp has checked that
        // the session exists: in a handler that answered `initialize`. A request served
        // statelessly is not checked, and rmcp serves one so whenever its `_meta` carries the
        // sessionless keys, whatever version it declares there: a header it carries is the
        // client's own choice, and honouring it would let a client pick a fresh, untainted
        // (unhalted, unbudgeted) session, or name a live one whose screen state this
        // handler's end would then forget.
        let in_session = self.initialized.load(std::sync::atomic::Ordering::Acquire);
        let session = parts
            .filter(|_| in_session)
            .and_then(|p| p.headers.get("mcp-session-id"))
            .and_then(|v| v.to_str().ok());
        match session {
            Some(id) => {
                let session = SessionId(id.to_string());
                self.ended.note(&principal, &session);
                let _ = self.listed_as.set(session.clone());
                Ok((principal, session))
            }
            None => {
                let session = SessionId::sessionless(&principal);
                Ok((principal, session))
            }
        }
    }
}

/// The JSON-RPC code of a call refused because warden's store failed transiently (PostgreSQL
/// down, every pooled connection busy, a serialization failure, SQLite busy): the same call may
/// succeed later. Its `data` is `{"retryable": true, "retry_after_secs": …}`.
pub const STORE_UNAVAILABLE: ErrorCode = ErrorCode(-32001);

/// The JSON-RPC code of a call refused because warden failed in a way trying again does not
/// mend (a corrupt or halted ledger, an unreadable record): JSON-RPC's internal error, with
/// `data` `{"retryable": false}`.
pub const WARDEN_FAILED: ErrorCode = ErrorCode::INTERNAL_ERROR;

/// What the agent is told of a refusal: whether it may send the same call again, never what
/// failed (no SQL, paths or addresses); the operator's log has the whole chain.
fn to_wire(e: CallError) -> ErrorData {
    let Some(transience) = e.transience() else {
        return ErrorData::new(ErrorCode::INVALID_PARAMS, e.to_string(), None);
    };
    let cause = e.failure().map(ToString::to_string).unwrap_or_default();
    if matches!(e, CallError::Unrecorded(_)) {
        tracing::error!(%cause, ?transience, "read refused: its decision was not recorded");
    } else {
        tracing::error!(%cause, ?transience, "call refused: internal failure");
    }
    match transience {
        Transience::Transient => ErrorData::new(
            STORE_UNAVAILABLE,
            told(&e, transience),
            Some(json!({"retryable": true, "retry_after_secs": RETRY_AFTER_SECS})),
        ),
        Transience::Permanent => ErrorData::new(
            WARDEN_FAILED,
            told(&e, transience),
            Some(json!({"retryable": false})),
        ),
    }
}

impl ServerHandler for WardenServer {
    fn get_info(&self) -> ServerConfig {
        // `listChanged`: each live session is told when what it may list changes.
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tool_list_changed()
                .build(),
        )
        .with_server_info(Implementation::new("warden", env!("CARGO_PKG_VERSION")))
    }

    async fn initialize(
        &self,
        request: InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<InitializeResult, ErrorData> {
        // Once per session, as the protocol has it: a repeated `initialize` would otherwise
        // start another watcher of the listing each time, without bound.
        if self.initialized.load(std::sync::atomic::Ordering::Acquire) {
            return Err(ErrorData::invalid_request(
                "this session is already initialized",
                None,
            ));
        }
        let answer = self.negotiate_initialize(&request)?;
        if self
            .initialized
            .swap(true, std::sync::atomic::Ordering::AcqRel)
        {
            return Err(ErrorData::invalid_request(
                "this session is already initialized",
                None,
            ));
        }
        context.peer.set_peer_info(request.clone());
        // A session (stdio, or HTTP with an `Mcp-Session-Id`): its listing is watched until it
        // ends, and its client told when the listing changes.
        let principal = match &self.fixed {
            Some((principal, _)) => Some(principal.clone()),
            None => context
                .extensions
                .get::<http::request::Parts>()
                .and_then(|p| p.extensions.get::<Authenticated>())
                .map(|a| a.0.clone()),
        };
        if let Some(principal) = principal {
            self.gateway.watch_listing(
                context.peer.clone(),
                principal,
                self.listed_as.clone(),
                self.ended.stop.clone(),
            );
        }
        Ok(answer)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        self.admit().await?;
        let (principal, session) = self.identity(&context)?;
        // A halted agent (or session, or everything) is refused as its calls are, before the
        // listing can start a new listing of the upstreams; a halted category's tools are not
        // shown. Fails closed: halts that cannot be read refuse the listing.
        if let Some((halt, scope)) = self
            .gateway
            .listing_halted(&principal, &session)
            .await
            .map_err(to_wire)?
        {
            return Err(ErrorData::new(
                ErrorCode::INVALID_REQUEST,
                crate::pipeline::halt_refusal(&scope, &halt, "listing was not served"),
                None,
            ));
        }
        self.gateway.refresh_catalog_for_listing().await;
        // Only what some rule could let this agent do: the rest does not exist for it.
        let tools = match self
            .gateway
            .listable(&principal, &session)
            .await
            .map_err(to_wire)?
        {
            Ok(tools) => tools,
            Err((halt, scope)) => {
                return Err(ErrorData::new(
                    ErrorCode::INVALID_REQUEST,
                    crate::pipeline::halt_refusal(&scope, &halt, "listing was not served"),
                    None,
                ));
            }
        };
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        self.admit().await?;
        let (principal, session) = self.identity(&context)?;
        let Some(tool) = self.gateway.config().tool_called(&request.name) else {
            let refused = self
                .gateway
                .unknown_name(principal, session, request.name.to_string())
                .await;
            return Err(to_wire(refused));
        };
        let rationale = rationale(&context, &request)?;
        let asked = request.name.to_string();
        let call = ToolCall {
            principal,
            session,
            tool,
            args: request.arguments.unwrap_or_default(),
            rationale,
        };
        // A W3C `traceparent` from the agent makes this call part of the agent's trace.
        let span = context
            .extensions
            .get::<http::request::Parts>()
            .and_then(|p| self.gateway.request_span(&p.headers))
            .unwrap_or_else(tracing::Span::none);
        // An unknown tool is named as the agent named it, whichever form it used and whether
        // the tool is missing or hidden from this agent: the answers are the same.
        self.gateway
            .pipeline(call)
            .instrument(span)
            .await
            .map(Into::into)
            .map_err(|e| match e {
                CallError::UnknownTool(_) => to_wire(CallError::UnknownTool(asked)),
                other => to_wire(other),
            })
    }
}

/// The longest `_meta.rationale` warden takes, in bytes of UTF-8. The reason is kept in the
/// pending request and the ledger, so its length is the agent's to choose only up to here: a
/// longer one is refused before anything is decided or stored.
pub const MAX_RATIONALE_BYTES: usize = 4096;

/// The agent's stated reason for a call: `_meta.rationale`, a string. rmcp moves a request's
/// `_meta` into the request context before the handler runs, so it is read from there, and from
/// the params for a transport that leaves it in place. Any other shape is ignored: the reason
/// is evidence for the approver and the ledger, never an input to the decision. One longer
/// than [`MAX_RATIONALE_BYTES`] is refused with an invalid-params error that says so; the call
/// is not decided, recorded or forwarded, and the agent can send it again with a shorter one.
fn rationale(
    context: &RequestContext<RoleServer>,
    request: &CallToolRequestParams,
) -> Result<Option<String>, ErrorData> {
    let given =
        rationale_in(&context.meta).or_else(|| request.meta.as_ref().and_then(|m| rationale_in(m)));
    checked_rationale(given)
}

/// `_meta.rationale` in `meta`, when it is a string.
fn rationale_in(meta: &serde_json::Map<String, serde_json::Value>) -> Option<&str> {
    meta.get("rationale").and_then(|v| v.as_str())
}

/// `given` as the call's rationale, or the error for one over [`MAX_RATIONALE_BYTES`] or one
/// that holds a control character other than a newline or a tab. The rationale is shown to
/// approvers and sent to webhooks and SIEMs; an escape or a carriage return in it could move a
/// terminal's cursor and rewrite the arguments a human reads before approving.
fn checked_rationale(given: Option<&str>) -> Result<Option<String>, ErrorData> {
    if let Some(c) = given.and_then(|t| {
        t.chars()
            .find(|c| c.is_control() && !matches!(c, '\n' | '\t'))
    }) {
        return Err(ErrorData::new(
            ErrorCode::INVALID_PARAMS,
            format!(
                "`_meta.rationale` holds the control character U+{:04X}: the call was not made; \
                 send it again with plain text (newlines and tabs are fine)",
                u32::from(c)
            ),
            None,
        ));
    }
    match given {
        Some(text) if text.len() > MAX_RATIONALE_BYTES => Err(ErrorData::new(
            ErrorCode::INVALID_PARAMS,
            format!(
                "`_meta.rationale` is {} bytes, over the limit of {MAX_RATIONALE_BYTES}: the \
                 call was not made; send it again with a shorter reason",
                text.len()
            ),
            None,
        )),
        other => Ok(other.map(str::to_string)),
    }
}

/// Serves one agent over stdin/stdout until the client disconnects.
pub async fn serve_stdio(gateway: Arc<Gateway>, principal: Principal) -> Result<(), String> {
    let session = SessionId(format!("stdio-{}", std::process::id()));
    let listed_as = Arc::new(std::sync::OnceLock::from(session.clone()));
    // Halts set by a person or another process reach this session's listing too.
    let noticing = CancellationToken::new();
    tokio::spawn(gateway.clone().notice_halts(noticing.clone()));
    let _noticing = noticing.drop_guard();
    let server = WardenServer {
        ended: SessionEnd::new(gateway.clone()),
        limiter: Some(rate::AgentLimiter::new(gateway.clone())),
        gateway,
        fixed: Some((principal, session)),
        initialized: Arc::new(std::sync::atomic::AtomicBool::new(false)),
        listed_as,
    };
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| e.to_string())?;
    running.waiting().await.map_err(|e| e.to_string())?;
    Ok(())
}

/// What authenticates agents over HTTP: the current configuration's static tokens (so a
/// reload that removes an agent or changes its token takes effect at once) and, when
/// `[oauth]` is set, JWT access tokens from the identity provider.
#[derive(Clone)]
struct AgentAuth {
    gateway: Arc<Gateway>,
    oauth: Option<Arc<oauth::OAuth>>,
}

async fn authenticate(State(auth): State<AgentAuth>, mut req: Request, next: Next) -> Response {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    let Some(token) = presented else {
        return unauthorized(auth.oauth.as_deref(), None);
    };
    let config = auth.gateway.config();
    let digest = <[u8; 32]>::from(Sha256::digest(token.as_bytes()));
    let by_token = config
        .agents
        .iter()
        .find(|a| a.token_sha256 == Some(digest))
        .map(|a| a.principal.clone());
    let principal = match (by_token, &auth.oauth) {
        (Some(p), _) => p,
        (None, Some(oauth)) if looks_like_jwt(&token) => {
            match oauth.authenticate(&token, &config.agents).await {
                Ok(p) => p,
                Err(refusal) => {
                    tracing::info!(reason = %refusal, "refused an agent's access token");
                    return unauthorized(Some(oauth), Some(&refusal));
                }
            }
        }
        (None, oauth) => return unauthorized(oauth.as_deref(), None),
    };
    req.extensions_mut().insert(Authenticated(principal));
    next.run(req).await
}

/// A JWT is three base64url parts; anything else is a static token that matched nobody.
fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// 401 (no or a bad token) or 403 (a good token without the scope or agent it needs), with the
/// `WWW-Authenticate` challenge RFC 6750 and RFC 9728 describe: where the resource's metadata
/// is, so an MCP client can find the authorization server.
fn unauthorized(oauth: Option<&oauth::OAuth>, refusal: Option<&oauth::Refusal>) -> Response {
    use oauth::Refusal;
    let (status, error, message) = match refusal {
        None => (
            StatusCode::UNAUTHORIZED,
            None,
            "a valid bearer token is required",
        ),
        Some(Refusal::Invalid(_)) => (
            StatusCode::UNAUTHORIZED,
            Some("invalid_token"),
            "the access token is not valid for this resource",
        ),
        Some(Refusal::InsufficientScope(_)) => (
            StatusCode::FORBIDDEN,
            Some("insufficient_scope"),
            "the access token lacks a required scope",
        ),
        Some(Refusal::UnknownSubject { .. }) => (
            StatusCode::FORBIDDEN,
            Some("insufficient_scope"),
            "the access token names no agent warden knows",
        ),
    };
    let mut challenge = String::from("Bearer realm=\"warden\"");
    if let Some(oauth) = oauth {
        challenge.push_str(&format!(
            ", resource_metadata=\"{}\"",
            oauth.settings().metadata_url()
        ));
        if !oauth.settings().required_scopes.is_empty() {
            challenge.push_str(&format!(
                ", scope=\"{}\"",
                oauth.settings().required_scopes.join(" ")
            ));
        }
    }
    if let Some(error) = error {
        challenge.push_str(&format!(", error=\"{error}\""));
    }
    let mut response = (
        status,
        axum::Json(serde_json::json!({
            "error": error.unwrap_or("unauthorized"),
            "message": message
        })),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// The protected resource's metadata (RFC 9728): what it is, who issues its tokens, which
/// scopes it asks for.
fn resource_metadata(settings: &warden_policy::OAuthSettings) -> serde_json::Value {
    serde_json::json!({
        "resource": settings.resource.as_str(),
        "authorization_servers": settings.authorization_servers,
        "scopes_supported": settings.required_scopes,
        "bearer_methods_supported": ["header"],
        "resource_signing_alg_values_supported":
            settings.algorithms.iter().map(|a| a.name()).collect::<Vec<_>>(),
        "resource_name": "warden",
    })
}

/// The HTTP application: `/mcp` for agents, `/hooks/claude-code` for Claude Code's hooks,
/// `/healthz` for load balancers.
pub fn router(gateway: Arc<Gateway>, shutdown: CancellationToken) -> axum::Router {
    // `warden serve` checks the key set before it listens (`server::serve`); a failure here
    // leaves JWTs refused and static tokens working.
    let oauth = gateway.config().oauth.clone().and_then(|settings| {
        oauth::OAuth::new(settings, gateway.clock())
            .map(Arc::new)
            .inspect_err(|e| tracing::error!(error = %e, "agents' access tokens will be refused"))
            .ok()
    });
    let settings = &gateway.config().gateway;
    let auth = AgentAuth {
        gateway: gateway.clone(),
        oauth: oauth.clone(),
    };
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
                initialized: Arc::new(std::sync::atomic::AtomicBool::new(false)),
                limiter: None,
                listed_as: Arc::default(),
            })
        },
        manager,
        config,
    );
    let limit = settings.max_request_bytes;
    // One rate per agent across `/mcp` and the hooks, checked right after authentication.
    let limiter = rate::AgentLimiter::new(gateway.clone());
    // Claude Code's hooks, behind the same authentication and rate as `/mcp`; the rate is
    // checked in the handler, which answers a refusal in the hook's own terms.
    let hooks = axum::Router::new()
        .route(
            "/hooks/claude-code",
            axum::routing::post(hooks::claude_code),
        )
        .with_state((gateway.clone(), limiter.clone()))
        .layer(axum::middleware::from_fn_with_state(
            auth.clone(),
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
        .layer(axum::middleware::from_fn_with_state(
            limiter,
            rate::limit_agents,
        ))
        .layer(axum::middleware::from_fn_with_state(auth, authenticate))
        .layer(axum::extract::DefaultBodyLimit::max(
            settings.max_request_bytes,
        ));
    let mut app = axum::Router::new()
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .merge(hooks)
        .merge(mcp);
    if let Some(oauth) = oauth {
        let metadata = resource_metadata(oauth.settings());
        let serve = move || {
            let metadata = metadata.clone();
            async move { axum::Json(metadata) }
        };
        let path = oauth.settings().metadata_path();
        let root = "/.well-known/oauth-protected-resource";
        if path != root {
            app = app.route(&path, axum::routing::get(serve.clone()));
        }
        app = app.route(root, axum::routing::get(serve));
    }
    app
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
        && v.get("id").is_none_or(is_request_id)
}

/// The longest string id taken from an agent, in bytes.
const MAX_ID_BYTES: usize = 128;

/// A JSON-RPC id warden takes: a number, or a short string of printable characters. An id is
/// echoed in answers and written to logs (rmcp logs the id of every request that fails), so an
/// id of a megabyte, or one carrying line breaks or terminal escapes, is refused before rmcp
/// reads it.
fn is_request_id(id: &serde_json::Value) -> bool {
    match id {
        serde_json::Value::Number(_) => true,
        serde_json::Value::String(s) => {
            s.len() <= MAX_ID_BYTES
                && !s
                    .chars()
                    .any(|c| c.is_control() || warden_core::text::is_hidden(c))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn a_request_id_is_a_number_or_a_short_printable_string() {
        use serde_json::json;
        for ok in [
            json!(1),
            json!(-7),
            json!(1.5),
            json!("req-1"),
            json!("é".repeat(64)),
        ] {
            assert!(is_request_id(&ok), "{ok}");
        }
        for bad in [
            json!(null),
            json!(true),
            json!([1]),
            json!({"a": 1}),
            json!("a".repeat(MAX_ID_BYTES + 1)),
            json!("q\n2026-12-07T16:00:00Z  INFO warden_gateway::approval: approved"),
            json!("red \u{1b}[31m"),
            json!("\u{202e}txt.exe"),
        ] {
            assert!(!is_request_id(&bad), "{bad}");
        }
        // A message without an id (a notification) is still a message.
        assert!(is_message(
            &json!({"jsonrpc": "2.0", "method": "notifications/initialized"})
        ));
        assert!(!is_message(
            &json!({"jsonrpc": "2.0", "id": "a\rb", "method": "ping"})
        ));
    }

    #[test]
    fn a_rationale_over_the_limit_is_refused_with_the_reason() {
        let at_limit = "a".repeat(MAX_RATIONALE_BYTES);
        assert_eq!(
            checked_rationale(Some(&at_limit)).unwrap().as_deref(),
            Some(at_limit.as_str())
        );
        assert_eq!(checked_rationale(None).unwrap(), None);
        // Counted in bytes: 2,049 two-byte characters are over 4 KiB.
        let over = "é".repeat(MAX_RATIONALE_BYTES / 2 + 1);
        let err = checked_rationale(Some(&over)).unwrap_err();
        assert_eq!(err.code, ErrorCode::INVALID_PARAMS);
        assert!(
            err.message.contains("4098 bytes") && err.message.contains("limit of 4096"),
            "{}",
            err.message
        );
    }

    #[test]
    fn a_rationale_with_a_control_character_is_refused_and_lines_and_tabs_are_not() {
        let plain = "first line\n\tsecond, \u{202e} shown by every reader";
        assert_eq!(
            checked_rationale(Some(plain)).unwrap().as_deref(),
            Some(plain)
        );
        for (text, code) in [
            ("up\u{1b}[10A", "U+001B"),
            ("back\roverwritten", "U+000D"),
            ("csi\u{9b}2J", "U+009B"),
            ("del\u{7f}", "U+007F"),
        ] {
            let err = checked_rationale(Some(text)).unwrap_err();
            assert_eq!(err.code, ErrorCode::INVALID_PARAMS);
            assert!(err.message.contains(code), "{}", err.message);
        }
    }
}
