//! Connections to upstream MCP servers, as an rmcp client.
//!
//! A connection is made at start and remade on demand when its transport has closed (a crashed
//! child, a dropped HTTP session); one task reconnects at a time while calls keep using a shared,
//! cloned handle, so no lock is held across a call.

mod caller;
mod stdio;
mod token;

pub use caller::{META_AGENT, META_DECISION, META_PREFIX, caller_meta, session_digest};
pub use token::{TokenError, TokenSource, WithToken};

use crate::clock::{Clock, SystemClock};
use crate::pipeline::Ticket;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientConfig, Implementation, PaginatedRequestParams,
    ProtocolVersion, Tool,
};
use rmcp::service::{
    ClientLifecycleMode, ClientServiceExt, RoleClient, RunningService, ServiceError,
};
use rmcp::transport::{
    StreamableHttpClientTransport, streamable_http_client::StreamableHttpClientTransportConfig,
};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use warden_policy::{ServerSpec, Transport, UpstreamProtocol, UpstreamTls};

type Client = RunningService<RoleClient, ClientConfig>;

/// The name warden gives itself to every upstream: in `initialize`'s `clientInfo`, and in the
/// `io.modelcontextprotocol/clientInfo` of each request's `_meta` where the upstream speaks the
/// sessionless revision. Never rmcp's default (`rmcp`, rmcp's version): an upstream that records
/// who wrote what must be able to tell that warden forwarded it.
pub const CLIENT_NAME: &str = "warden";

/// How warden introduces itself to an upstream: [`CLIENT_NAME`] with warden's version, and the
/// capabilities (none) and protocol version rmcp would offer.
pub fn client_config() -> ClientConfig {
    let mut config = ClientConfig::default();
    config.client_info = Implementation::new(CLIENT_NAME, env!("CARGO_PKG_VERSION"));
    config
}

/// The future an [`Upstream`] method returns.
pub type UpstreamFuture<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, UpstreamError>> + Send + 'a>>;

/// An MCP server behind warden. The pipeline reaches one only through [`Upstream::call`], which
/// takes a [`Ticket`]: a value only the pipeline makes, from a recorded allowing decision, a
/// proven, taken approval, or an allowed read whose decision is committing (whose result the
/// pipeline holds until the commit is done). [`McpUpstream`] speaks MCP over stdio or Streamable HTTP; tests
/// put scripted upstreams behind the same pipeline.
pub trait Upstream: Send + Sync {
    /// The server's name in the config (`[servers.<name>]`).
    fn name(&self) -> &str;
    /// The server's current tool definitions.
    fn list_tools(&self) -> UpstreamFuture<'_, Vec<Tool>>;
    /// Forwards an authorised call.
    fn call<'a>(&'a self, ticket: Ticket<'a>) -> UpstreamFuture<'a, CallToolResult>;
}

/// Why an upstream gave no result. What warden says about it ([`UpstreamError::summary`]) is
/// kept apart from what the upstream or its transport said ([`UpstreamError::said`]): the
/// latter is untrusted text, screened and handed to the agent as data like any result.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// warden could not reach the upstream; `message` is warden's own words.
    #[error("upstream `{server}` is unavailable: {message}")]
    Unavailable { server: String, message: String },
    #[error("upstream `{server}` did not answer within {secs} s")]
    Timeout { server: String, secs: u64 },
    /// The connection or the call failed; `said` is the error as the upstream or its transport
    /// reported it.
    #[error("upstream `{server}` failed: {said}")]
    Failed { server: String, said: String },
    /// The upstream answered the call with a JSON-RPC error: its message, and its data if any.
    #[error("upstream `{server}` answered with error {code}: {said}")]
    Refused {
        server: String,
        code: i32,
        said: String,
    },
    /// The upstream's answer was a message over `limit` bytes; warden discarded it unread
    /// (a stdio upstream's connection stays open for its other calls).
    #[error("upstream `{server}` answered with a message over {limit} bytes, discarded unread")]
    TooLarge { server: String, limit: usize },
}

impl UpstreamError {
    /// warden's account of the failure, in its own words only.
    pub fn summary(&self) -> String {
        match self {
            Self::Unavailable { server, message } => {
                format!("the upstream `{server}` is unavailable: {message}")
            }
            Self::Timeout { server, secs } => {
                format!("the upstream `{server}` did not answer within {secs} s")
            }
            Self::Failed { server, .. } => format!("the call to the upstream `{server}` failed"),
            Self::Refused { server, code, .. } => {
                format!("the upstream `{server}` answered with an error (code {code})")
            }
            Self::TooLarge { server, limit } => format!(
                "the upstream `{server}` answered with a message over {limit} bytes, which \
                 warden discarded unread"
            ),
        }
    }

    /// What the upstream or its transport said about the failure: untrusted text.
    pub fn said(&self) -> Option<&str> {
        match self {
            Self::Failed { said, .. } | Self::Refused { said, .. } => {
                Some(said.as_str()).filter(|s| !s.trim().is_empty())
            }
            Self::Unavailable { .. } | Self::Timeout { .. } | Self::TooLarge { .. } => None,
        }
    }
}

/// An upstream MCP server reached with rmcp's client, over stdio or Streamable HTTP.
pub struct McpUpstream {
    spec: ServerSpec,
    timeout: Duration,
    clock: Arc<dyn Clock>,
    /// The OAuth token source, made at the first connection and kept across reconnections so a
    /// token outlives a dropped session.
    tokens: RwLock<Option<Arc<TokenSource>>>,
    current: RwLock<Option<Arc<Client>>>,
    connecting: tokio::sync::Mutex<()>,
    /// The largest message read from the upstream ([`McpUpstream::with_max_result_bytes`]).
    max_message_bytes: usize,
}

/// The HTTP client for one Streamable HTTP upstream: kept-alive connections, no redirects.
///
/// rmcp's default client keeps no idle connection (`pool_max_idle_per_host(0)`), so every call
/// opened and closed a TCP connection: a connect on each call's path and thousands of sockets
/// in TIME-WAIT under load. rmcp does so for servers that send a stream's last chunk late
/// (Nagle's algorithm against the client's delayed ACK): rmcp delivers the answer first and
/// then reads the stream to its end (for at most 50 ms) so the connection can go back to the
/// pool. Against such a server a connection comes back late and the next call opens a new one,
/// which is what the default does on every call. Redirects are not followed: the configured URL
/// is the upstream, and a 3xx from it is an error, not a new destination.
pub fn http_client(
    timeout: Duration,
    headers: reqwest::header::HeaderMap,
) -> reqwest::Result<reqwest::Client> {
    http_builder(timeout, headers).build()
}

fn http_builder(timeout: Duration, headers: reqwest::header::HeaderMap) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .default_headers(headers)
        .pool_idle_timeout(Duration::from_secs(60))
        .tcp_nodelay(true)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
}

/// Applies an upstream's TLS settings: its CA bundle instead of the system's roots, and its
/// client certificate. Each file is read now; a message names the file, never its content.
fn with_tls(
    mut builder: reqwest::ClientBuilder,
    tls: &UpstreamTls,
) -> Result<reqwest::ClientBuilder, String> {
    let read = |path: &std::path::Path| {
        std::fs::read(path).map_err(|e| format!("cannot read `{}`: {}", path.display(), e.kind()))
    };
    if let Some(ca) = &tls.ca_file {
        let certs = reqwest::Certificate::from_pem_bundle(&read(ca)?)
            .map_err(|_| format!("`{}` is not a PEM certificate bundle", ca.display()))?;
        if certs.is_empty() {
            return Err(format!("`{}` holds no certificate", ca.display()));
        }
        builder = builder.tls_certs_only(certs);
    }
    if let Some(id) = &tls.client_identity {
        let mut pem = read(&id.cert_file)?;
        pem.push(b'\n');
        pem.extend(read(&id.key_file)?);
        let identity = reqwest::Identity::from_pem(&pem).map_err(|_| {
            format!(
                "`{}` and `{}` are not a PEM certificate and its private key",
                id.cert_file.display(),
                id.key_file.display()
            )
        })?;
        builder = builder.identity(identity);
    }
    Ok(builder)
}

/// The executable that `command = "@self"` names: warden itself (the bundled lab runs this way).
pub const SELF_COMMAND: &str = "@self";

impl McpUpstream {
    pub fn new(spec: ServerSpec, timeout: Duration) -> Self {
        Self::with_clock(spec, timeout, Arc::new(SystemClock))
    }

    /// `clock` decides when an OAuth access token is due for refresh.
    pub fn with_clock(spec: ServerSpec, timeout: Duration, clock: Arc<dyn Clock>) -> Self {
        Self {
            spec,
            timeout,
            clock,
            tokens: RwLock::new(None),
            current: RwLock::new(None),
            connecting: tokio::sync::Mutex::new(()),
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
        }
    }

    /// Reads no message from the upstream larger than `max_result_bytes` and room for its
    /// JSON-RPC envelope: a result past `max_result_bytes` is withheld from the agent anyway,
    /// so a larger one is refused by the transport before it is held whole (a line on stdio,
    /// a response or SSE event over HTTP). A page of its tool list must fit as well.
    pub fn with_max_result_bytes(mut self, max_result_bytes: usize) -> Self {
        self.max_message_bytes = max_result_bytes.saturating_add(FRAMING_MARGIN);
        self
    }

    fn unavailable(&self, message: impl Into<String>) -> UpstreamError {
        UpstreamError::Unavailable {
            server: self.spec.name.clone(),
            message: message.into(),
        }
    }

    /// A failure reported by rmcp: its text may hold the upstream's words. The Rust types the
    /// library names (`Transport [rmcp::transport::…<reqwest::…>]`) stay in warden's log: the
    /// agent is told the kind of failure and what the upstream said, not warden's internals.
    fn failed(&self, error: impl std::fmt::Display) -> UpstreamError {
        let text = error.to_string();
        tracing::debug!(server = %self.spec.name, error = %text, "upstream failure");
        UpstreamError::Failed {
            server: self.spec.name.clone(),
            said: without_type_paths(&text),
        }
    }

    fn live(&self) -> Option<Arc<Client>> {
        let guard = self.current.read().ok()?;
        guard.as_ref().filter(|c| !c.is_transport_closed()).cloned()
    }

    async fn client(&self) -> Result<Arc<Client>, UpstreamError> {
        if let Some(c) = self.live() {
            return Ok(c);
        }
        let _one_at_a_time = self.connecting.lock().await;
        if let Some(c) = self.live() {
            return Ok(c);
        }
        let client = tokio::time::timeout(self.timeout, self.connect())
            .await
            .map_err(|_| self.unavailable("connecting timed out"))??;
        let client = Arc::new(client);
        if let Ok(mut guard) = self.current.write() {
            *guard = Some(client.clone());
        }
        Ok(client)
    }

    async fn connect(&self) -> Result<Client, UpstreamError> {
        match &self.spec.transport {
            Transport::Stdio { command, args, env } => {
                let program = if command == SELF_COMMAND {
                    std::env::current_exe().map_err(|e| self.unavailable(e.to_string()))?
                } else {
                    command.into()
                };
                let mut cmd = tokio::process::Command::new(program);
                cmd.args(args).kill_on_drop(true).env_clear();
                cmd.envs(std::env::vars_os().filter(|(name, _)| passed_to_children(name)));
                for (name, source) in env {
                    let value = source.read().map_err(|e| {
                        self.unavailable(format!("environment entry `{name}`: {e}"))
                    })?;
                    cmd.env(name, value.expose());
                }
                cmd.stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped());
                let (transport, stderr) = stdio::ChildTransport::spawn(cmd, self.max_message_bytes)
                    .map_err(|e| self.unavailable(format!("cannot start `{command}`: {e}")))?;
                if let Some(stderr) = stderr {
                    tokio::spawn(relay_stderr(self.spec.name.clone(), stderr));
                }
                self.open(transport).await
            }
            Transport::Http {
                url,
                headers,
                oauth,
                tls,
            } => {
                let mut sent = reqwest::header::HeaderMap::new();
                for (name, source) in headers {
                    let value = source
                        .read()
                        .map_err(|e| self.unavailable(format!("header `{name}`: {e}")))?;
                    let (Ok(name), Ok(mut value)) = (
                        reqwest::header::HeaderName::try_from(name.as_str()),
                        reqwest::header::HeaderValue::from_str(value.expose()),
                    ) else {
                        return Err(self.unavailable(format!(
                            "header `{name}` from {} is not a valid header",
                            source.describe()
                        )));
                    };
                    // Kept out of hyper's debug output and marked for HTTP/2 header compression.
                    value.set_sensitive(true);
                    sent.insert(name, value);
                }
                let builder = with_tls(http_builder(self.timeout, sent), tls)
                    .map_err(|e| self.unavailable(format!("TLS: {e}")))?;
                let http = builder
                    .build()
                    .map_err(|e| self.unavailable(format!("cannot build an HTTP client: {e}")))?;
                let mut config = StreamableHttpClientTransportConfig::with_uri(url.as_str());
                config.max_sse_event_size = self.max_message_bytes;
                config.max_json_response_size = self.max_message_bytes;
                match oauth {
                    None => {
                        self.open(StreamableHttpClientTransport::with_client(http, config))
                            .await
                    }
                    Some(grant) => {
                        let tokens = self.token_source(grant, tls)?;
                        let client = WithToken { http, tokens };
                        self.open(StreamableHttpClientTransport::with_client(client, config))
                            .await
                    }
                }
            }
        }
    }

    /// The upstream's token source, made once: reconnecting keeps the token it holds.
    fn token_source(
        &self,
        grant: &warden_policy::ClientCredentials,
        tls: &UpstreamTls,
    ) -> Result<Arc<TokenSource>, UpstreamError> {
        if let Ok(guard) = self.tokens.read()
            && let Some(t) = guard.as_ref()
        {
            return Ok(t.clone());
        }
        // The token endpoint gets no default headers of the upstream's: a header meant for
        // the MCP server is not the identity provider's business. Its requests are bounded
        // as a whole, answer included.
        let plain = with_tls(http_builder(self.timeout, Default::default()), tls)
            .and_then(|b| b.timeout(self.timeout).build().map_err(|e| e.to_string()))
            .map_err(|e| self.unavailable(format!("the token endpoint's client: {e}")))?;
        let source = Arc::new(TokenSource::new(
            grant.clone(),
            plain,
            self.clock.clone(),
            self.timeout,
        ));
        if let Ok(mut guard) = self.tokens.write() {
            *guard = Some(source.clone());
        }
        Ok(source)
    }

    /// Opens the MCP connection in the server's protocol era ([`UpstreamProtocol`]).
    async fn open<T, E, A>(&self, transport: T) -> Result<Client, UpstreamError>
    where
        T: rmcp::transport::IntoTransport<RoleClient, E, A>,
        E: std::error::Error + Send + Sync + 'static,
    {
        let modern = vec![ProtocolVersion::V_2026_07_28];
        let lifecycle = match self.spec.protocol {
            UpstreamProtocol::Initialize => ClientLifecycleMode::Initialize,
            UpstreamProtocol::Sessionless => ClientLifecycleMode::Discover {
                preferred_versions: modern,
            },
            UpstreamProtocol::Auto => ClientLifecycleMode::Auto {
                preferred_versions: modern,
                legacy_version: None,
            },
        };
        client_config()
            .serve_with_lifecycle(transport, lifecycle)
            .await
            .map_err(|e| self.failed(e))
    }

    async fn tools(&self) -> Result<Vec<Tool>, UpstreamError> {
        let client = self.client().await?;
        match tokio::time::timeout(self.timeout, self.all_pages(&client)).await {
            Ok(listed) => listed,
            Err(_) => Err(UpstreamError::Timeout {
                server: self.spec.name.clone(),
                secs: self.timeout.as_secs(),
            }),
        }
    }

    /// Every page of the upstream's tool list, up to [`MAX_TOOL_PAGES`] pages, [`MAX_TOOLS`]
    /// tools and [`MAX_LISTING_BYTES`] of definitions: an upstream that pages on without end,
    /// or lists more tools or more text than anyone reviews, is refused rather than followed
    /// until warden runs out of memory.
    async fn all_pages(&self, client: &Client) -> Result<Vec<Tool>, UpstreamError> {
        let mut tools = Vec::new();
        let mut bytes = 0usize;
        let mut cursor = None;
        for _ in 0..MAX_TOOL_PAGES {
            let page = client
                .peer()
                .list_tools(Some(PaginatedRequestParams::default().with_cursor(cursor)))
                .await
                .map_err(|e| self.failed(e))?;
            bytes = page.tools.iter().fold(bytes, |sum, t| {
                sum.saturating_add(serde_json::to_vec(t).map_or(usize::MAX, |v| v.len()))
            });
            if bytes > MAX_LISTING_BYTES {
                return Err(self.unavailable(format!(
                    "its tool definitions run past {MAX_LISTING_BYTES} bytes; none is taken"
                )));
            }
            tools.extend(page.tools);
            if tools.len() > MAX_TOOLS {
                return Err(self.unavailable(format!(
                    "it lists more than {MAX_TOOLS} tools; none is taken"
                )));
            }
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(tools),
            }
        }
        Err(self.unavailable(format!(
            "its tool list runs past {MAX_TOOL_PAGES} pages; none is taken"
        )))
    }

    async fn forward(&self, ticket: Ticket<'_>) -> Result<CallToolResult, UpstreamError> {
        let client = self.client().await?;
        let call = ticket.call();
        // The tool, its arguments and who the call is for, in warden's own words: nothing else
        // the agent sent (its `_meta`, a `requestState`) goes upstream.
        let mut params =
            CallToolRequestParams::new(call.tool.tool.clone()).with_arguments(call.args.clone());
        params.meta = Some(caller_meta(call, ticket.decision_index()));
        match tokio::time::timeout(self.timeout, client.peer().call_tool(params)).await {
            Ok(Ok(result)) => Ok(result),
            // What `stdio::LineCapped` puts in place of an answer over the limit. (An upstream
            // that sends the same error itself gets the same words: it failed its own call.)
            Ok(Err(ServiceError::McpError(e)))
                if stdio::is_discarded(&e, self.max_message_bytes) =>
            {
                Err(UpstreamError::TooLarge {
                    server: self.spec.name.clone(),
                    limit: self.max_message_bytes,
                })
            }
            Ok(Err(ServiceError::McpError(e))) => Err(UpstreamError::Refused {
                server: self.spec.name.clone(),
                code: e.code.0,
                said: match &e.data {
                    Some(data) => format!("{}\n{data}", e.message),
                    None => e.message.to_string(),
                },
            }),
            Ok(Err(e)) => Err(self.failed(e)),
            Err(_) => Err(UpstreamError::Timeout {
                server: self.spec.name.clone(),
                secs: self.timeout.as_secs(),
            }),
        }
    }
}

impl Upstream for McpUpstream {
    fn name(&self) -> &str {
        &self.spec.name
    }

    fn list_tools(&self) -> UpstreamFuture<'_, Vec<Tool>> {
        Box::pin(self.tools())
    }

    fn call<'a>(&'a self, ticket: Ticket<'a>) -> UpstreamFuture<'a, CallToolResult> {
        Box::pin(self.forward(ticket))
    }
}

/// Whether a variable of warden's own environment reaches a stdio upstream it starts: only
/// what a program needs to find itself and its user's files (search path, home, user, locale,
/// time zone, temporary and per-user folders). Everything else, warden's secrets among it (a
/// database password, a webhook secret, an upstream's token), stays with warden; a server that
/// needs a variable gets it from its `env` entry, by name.
fn passed_to_children(name: &std::ffi::OsStr) -> bool {
    const NAMES: &[&str] = &[
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "SHELL",
        "LANG",
        "LANGUAGE",
        "TZ",
        "TMPDIR",
        "TEMP",
        "TMP",
        "TERM",
        "XDG_RUNTIME_DIR",
        "XDG_CONFIG_HOME",
        "XDG_CACHE_HOME",
        "XDG_DATA_HOME",
        "SYSTEMROOT",
        "WINDIR",
        "COMSPEC",
        "PATHEXT",
        "APPDATA",
        "LOCALAPPDATA",
        "USERPROFILE",
        "PROGRAMDATA",
    ];
    name.to_str()
        .is_some_and(|n| NAMES.contains(&n) || n.starts_with("LC_"))
}

/// Pages of an upstream's tool list warden follows at most ([`McpUpstream::all_pages`]).
const MAX_TOOL_PAGES: usize = 100;
/// Tools warden takes from one upstream at most.
const MAX_TOOLS: usize = 10_000;
/// Bytes of tool definitions (as JSON) warden takes from one upstream's listing at most.
pub const MAX_LISTING_BYTES: usize = 8 << 20;
/// The largest message read from an upstream unless [`McpUpstream::with_max_result_bytes`]
/// says otherwise: rmcp's own limit.
const DEFAULT_MAX_MESSAGE_BYTES: usize = 16 << 20;
/// Room for a result's JSON-RPC envelope beyond `max_result_bytes`.
const FRAMING_MARGIN: usize = 64 << 10;

/// The longest piece of a stdio upstream's stderr line relayed as one event; a longer line
/// is relayed in pieces.
const MAX_STDERR_LINE: usize = 4096;

/// Stderr lines of one stdio upstream relayed per second at most; the rest are counted.
const MAX_STDERR_LINES_PER_SEC: u32 = 50;

/// Relays what a stdio upstream writes to its standard error into warden's log, one event per
/// line, as a field of its own (quoted and escaped, so a line cannot pass for warden's own log
/// lines or break them), in pieces of at most [`MAX_STDERR_LINE`] bytes, and at most
/// [`MAX_STDERR_LINES_PER_SEC`] a second: a flood is read (the upstream never blocks on it)
/// and counted, not logged, so it cannot drown warden's own errors.
async fn relay_stderr(server: String, stderr: tokio::process::ChildStderr) {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt};
    let mut reader = tokio::io::BufReader::new(stderr);
    let mut line = Vec::new();
    let mut window = tokio::time::Instant::now();
    let (mut relayed, mut dropped) = (0u32, 0u64);
    loop {
        line.clear();
        let read = (&mut reader)
            .take(MAX_STDERR_LINE as u64)
            .read_until(b'\n', &mut line)
            .await;
        match read {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let now = tokio::time::Instant::now();
                if now.duration_since(window) >= std::time::Duration::from_secs(1) {
                    if dropped > 0 {
                        tracing::warn!(upstream = %server, dropped,
                            "upstream stderr lines dropped in the last second");
                    }
                    (window, relayed, dropped) = (now, 0, 0);
                }
                if relayed >= MAX_STDERR_LINES_PER_SEC {
                    if dropped == 0 {
                        tracing::warn!(upstream = %server,
                            "upstream stderr lines dropped: more than {MAX_STDERR_LINES_PER_SEC} a second");
                    }
                    dropped += 1;
                    continue;
                }
                relayed += 1;
                let text = String::from_utf8_lossy(&line);
                let text = text.trim_end_matches(['\n', '\r']);
                if !text.is_empty() {
                    tracing::info!(upstream = %server, stderr = ?text, "upstream stderr");
                }
            }
        }
    }
}

/// `text` without the bracketed Rust type paths an error names (`[a::B<c::D>]`, brackets
/// nested), and without the space before each.
fn without_type_paths(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        let (before, group) = rest.split_at(open);
        out.push_str(before);
        let mut depth = 0usize;
        let close = group.char_indices().find_map(|(i, c)| {
            match c {
                '[' => depth += 1,
                ']' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return Some(i);
                    }
                }
                _ => {}
            }
            None
        });
        let Some(close) = close else {
            out.push_str(group);
            return out;
        };
        let (inside, after) = group.split_at(close + 1);
        if inside.contains("::") {
            if out.ends_with(' ') {
                out.pop();
            }
        } else {
            out.push_str(inside);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    /// Review 43 (F5): a transport failure told the agent the Rust types of warden's HTTP
    /// client, which names the library and its version family to an attacker.
    #[test]
    fn an_upstream_failure_names_no_type_of_wardens() {
        let rmcp = "Transport send error: Transport [rmcp::transport::worker::WorkerTransport<rmcp::transport::streamable_http_client::StreamableHttpClientWorker<reqwest::async_impl::client::Client>>] error: unexpected server response: HTTP 307 Temporary Redirect";
        assert_eq!(
            super::without_type_paths(rmcp),
            "Transport send error: Transport error: unexpected server response: HTTP 307 \
             Temporary Redirect"
        );
        // Brackets of the upstream's own words stay; an unclosed one is kept as it is.
        assert_eq!(
            super::without_type_paths("field [name] is [required"),
            "field [name] is [required"
        );
    }
}
