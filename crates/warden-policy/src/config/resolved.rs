//! The resolved configuration: what the rest of warden reads.
//!
//! Every value here has been through `resolve`: paths are absolute or relative to the config
//! file's folder, token references are read, tools are joined to their servers and the policies
//! are compiled. The settings that need no resolution (the screen's thresholds, the monitor's
//! triggers) are deserialised straight into their resolved type.

pub use super::raw::ClientAuth;
use super::secret::SecretSource;
use crate::engine::{ArgType, Engine};
use crate::inventory::InventorySettings;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use warden_core::{Principal, ToolLabels, ToolName};

use super::ConfigError;

/// The default write budget when `[floor] write_budget` is not set: 20 calls of one write tool
/// per agent per hour. Enough for an analyst's day of notes, too few for a mass action.
pub const DEFAULT_WRITE_BUDGET: (u32, u64) = (20, 3600);

/// What a monitor trigger does when it fires. Every firing is a `finding` event (and a webhook
/// when `approvals.webhook_url` is set); `halt` also sets a kill switch on the trigger's scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MonitorAction {
    Off,
    Alert,
    Halt,
}

/// The anomaly monitor (`[monitor]`): triggers evaluated after every decision. Statistical
/// signals never authorise anything: they can only alert or halt.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MonitorSettings {
    /// Off: no trigger is evaluated (halts set by humans still apply).
    pub enabled: bool,
    pub denial_burst: DenialBurst,
    pub tainted_high_stakes: TaintedHighStakes,
    pub new_category: NewCategory,
    pub rate: Rate,
}

impl Default for MonitorSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            denial_burst: DenialBurst::default(),
            tainted_high_stakes: TaintedHighStakes::default(),
            new_category: NewCategory::default(),
            rate: Rate::default(),
        }
    }
}

/// `count` or more denials of one agent, in any of its sessions, within `window_secs`: halts the
/// agent.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DenialBurst {
    pub count: u32,
    pub window_secs: u64,
    pub action: MonitorAction,
}

impl Default for DenialBurst {
    fn default() -> Self {
        Self {
            count: 5,
            window_secs: 60,
            action: MonitorAction::Halt,
        }
    }
}

/// A `high` or `critical` stakes call attempted by a tainted session. The call itself is decided
/// by policy as usual; `halt` halts the agent, from the next call on, only when policy let the
/// call through with no human (allowed, not held). A call that policy holds or denies cannot
/// run alone: it alerts instead, so text planted where an agent reads cannot halt that agent.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TaintedHighStakes {
    pub action: MonitorAction,
}

impl Default for TaintedHighStakes {
    fn default() -> Self {
        Self {
            action: MonitorAction::Halt,
        }
    }
}

/// A call in a tool category the agent did not use (in allowed calls) over the last
/// `baseline_days`; an agent with no baseline yet is skipped. Alerts once per category.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NewCategory {
    pub baseline_days: u64,
    pub action: MonitorAction,
}

impl Default for NewCategory {
    fn default() -> Self {
        Self {
            baseline_days: 14,
            action: MonitorAction::Alert,
        }
    }
}

/// More than `per_minute` calls by one agent within 60 seconds: halts the agent.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Rate {
    pub per_minute: u32,
    pub action: MonitorAction,
}

impl Default for Rate {
    fn default() -> Self {
        Self {
            per_minute: 120,
            action: MonitorAction::Halt,
        }
    }
}

/// Approvers and the rhythm of the human gate.
#[derive(Clone, Default)]
pub struct ApprovalSettings {
    pub wait: Duration,
    pub expiry: BTreeMap<String, Duration>,
    pub default_expiry: Duration,
    pub webhook_url: Option<String>,
    pub webhook_secret: Option<String>,
    pub console_url: String,
    pub approvers: Vec<ApproverSpec>,
    pub escalation: BTreeMap<String, String>,
    /// How long an answered request (denied, expired, executed) stays in the store after its
    /// expiry; then the sweeper deletes it. Open requests are never deleted.
    pub closed_retention: Duration,
    /// Requests one agent may have waiting for approvers at once: a call that would be held
    /// past it is denied (rule `pending-cap`).
    pub max_pending_per_agent: u64,
}

/// Answered requests are kept this many days after their expiry.
pub const DEFAULT_CLOSED_RETENTION_DAYS: u64 = 30;

/// Requests one agent may have waiting at once, unless configured.
pub const DEFAULT_MAX_PENDING_PER_AGENT: u64 = 50;

impl fmt::Debug for ApprovalSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApprovalSettings")
            .field("wait", &self.wait)
            .field("approvers", &self.approvers.len())
            .field("webhook_url", &self.webhook_url.as_ref().map(|_| "<set>"))
            .finish()
    }
}

impl ApprovalSettings {
    /// The escalation contact for a category, if any.
    pub fn escalation_for(&self, category: &str) -> Option<&str> {
        self.escalation
            .get(category)
            .or_else(|| self.escalation.get("default"))
            .map(String::as_str)
    }

    pub fn expiry_for(&self, category: &str) -> Duration {
        self.expiry
            .get(category)
            .copied()
            .unwrap_or(self.default_expiry)
    }
}

#[derive(Clone)]
pub struct ApproverSpec {
    pub id: String,
    pub name: String,
    pub categories: Vec<String>,
    pub password_argon2: Option<String>,
    pub token_sha256: Option<String>,
}

impl ApproverSpec {
    /// What names this approver's configured credentials (their console password's hash and
    /// their CLI token's), recorded with each of their answers: the gateway counts an answer
    /// only when it was given under the credentials its own configuration holds for them, so
    /// an answer made with another configuration (a copy with someone else's token under their
    /// name) does not count, and changing an approver's credentials voids their unspent
    /// approvals. A digest of digests: it gives nothing a guess could be checked against
    /// without the configuration.
    pub fn credential_digest(&self) -> String {
        let named = serde_json::json!({
            "v": 1,
            "id": self.id,
            "password_argon2": self.password_argon2,
            "token_sha256": self.token_sha256,
        });
        format!(
            "sha256:{}",
            warden_core::sha256_hex(warden_core::canonical_json(&named).as_bytes())
        )
    }
}

impl fmt::Debug for ApproverSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApproverSpec")
            .field("id", &self.id)
            .field("categories", &self.categories)
            .finish_non_exhaustive()
    }
}

/// How tool results are screened for prompt injection and handed to the agent.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScreenSettings {
    /// Score (0..1) from which a text is suspicious; 0.5 is the screen's 1% false-positive point.
    pub suspicious_at: f32,
    /// Score from which a text is an injection; 0.8 is the 0.1% point.
    pub injection_at: f32,
    /// Score from which reading a text taints the session (`context.session.tainted`).
    pub taint_at: f32,
    /// Domains links and images may point at without counting as exfiltration.
    pub internal_domains: Vec<String>,
    /// Also interleave a marker in the whitespace of untrusted text (spotlighting datamarking).
    pub datamark: bool,
    /// Screen upstream tool descriptions; one flagged as an injection is withheld.
    pub descriptions: bool,
    /// How long a read that tainted an agent keeps it tainted (`context.agent.tainted`), in
    /// all its sessions and on every replica, unless a human clears it (default a day).
    pub taint_window_secs: u64,
}

impl Default for ScreenSettings {
    fn default() -> Self {
        Self {
            suspicious_at: 0.5,
            injection_at: 0.8,
            taint_at: 0.5,
            internal_domains: Vec::new(),
            datamark: false,
            descriptions: true,
            taint_window_secs: 86_400,
        }
    }
}

/// What reaches the agent of a tool's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ResultMode {
    /// Unchanged (for results warden's own operators vouch for).
    Pass,
    /// Wrapped as untrusted data with its provenance and screen summary (the default).
    #[default]
    Mark,
    /// Marked, with the spans the screen flagged blanked out.
    Redact,
    /// Marked when clean; replaced by a notice when the screen flags it.
    Withhold,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum BudgetScope {
    #[default]
    Agent,
    Session,
}

#[derive(Debug, Clone)]
pub struct GatewaySettings {
    pub listen: SocketAddr,
    pub max_request_bytes: usize,
    pub max_result_bytes: usize,
    pub upstream_timeout: Duration,
    pub max_concurrent_calls: usize,
    /// Of `max_concurrent_calls`, the most in flight to one upstream: an upstream that never
    /// answers holds at most these, and calls to the others go on.
    pub max_concurrent_calls_per_server: usize,
    /// How long an agent's `tools/list` is served the catalog as it stands before a new
    /// listing of the upstreams; zero: every listing refreshes (still one at a time).
    pub catalog_refresh: Duration,
    pub allowed_hosts: Vec<String>,
    /// Browser origins allowed to call `/mcp`. A request that carries any other `Origin` is
    /// refused with 403; agents that are not browsers send none.
    pub allowed_origins: Vec<String>,
    /// The connection limits of the HTTP front: what a client without a token can hold.
    pub limits: ConnectionLimits,
    /// MCP sessions one agent may hold open at once; one more is refused. rmcp closes a session
    /// idle for five minutes, which frees its place.
    pub max_sessions_per_agent: usize,
    /// How fast one agent's requests are served; past it they are refused before anything
    /// reads the store or the ledger.
    pub agent_rate: AgentRate,
}

/// The rate at which one agent's requests are served: a token bucket of `burst` requests that
/// refills at `per_sec` a second. Each agent has its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentRate {
    pub per_sec: u32,
    pub burst: u32,
}

impl Default for AgentRate {
    fn default() -> Self {
        Self {
            per_sec: DEFAULT_AGENT_REQUESTS_PER_SEC,
            burst: DEFAULT_AGENT_BURST,
        }
    }
}

/// How long a client may take over each part of a request, and how many connections are
/// served at once. A connection that has not sent a complete request holds nothing of value,
/// so these bound how long it can hold a place (see `warden_gateway::server`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// From a connection's start, or the first byte of a later request, to the end of the
    /// request's head.
    pub header_timeout: Duration,
    /// From the end of a request's head to the end of its body.
    pub body_timeout: Duration,
    /// From the end of a response to the next request's first byte.
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(DEFAULT_HEADER_TIMEOUT_SECS),
            body_timeout: Duration::from_secs(DEFAULT_BODY_TIMEOUT_SECS),
            idle_timeout: Duration::from_secs(DEFAULT_IDLE_TIMEOUT_SECS),
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

pub const DEFAULT_HEADER_TIMEOUT_SECS: u64 = 10;
/// An agent's `tools/list` starts a new listing of the upstreams at most this often.
pub const DEFAULT_CATALOG_REFRESH_SECS: u64 = 5;
pub const DEFAULT_BODY_TIMEOUT_SECS: u64 = 30;
pub const DEFAULT_IDLE_TIMEOUT_SECS: u64 = 60;
/// Below the common open-files limit of 1024 (`ulimit -n`), with room for the store, the
/// ledger and the upstreams' sockets.
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;
pub const DEFAULT_MAX_SESSIONS_PER_AGENT: usize = 64;
/// Well above what one agent's client sends (the monitor's `rate` trigger halts an agent past
/// 120 calls a minute by default), well below what it takes to load warden.
pub const DEFAULT_AGENT_REQUESTS_PER_SEC: u32 = 50;
pub const DEFAULT_AGENT_BURST: u32 = 500;

/// The audit ledger's key, origin and checkpoint rhythm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerConfig {
    /// The Ed25519 signing key; its verifier key is written beside it with extension `.pub`.
    pub key_path: PathBuf,
    /// The checkpoint origin, also the key's name.
    pub origin: String,
    pub checkpoint_interval: Duration,
    /// Where each signed checkpoint is published.
    pub witnesses: Vec<WitnessConfig>,
    /// The verifier key pinned by `[ledger] verifier_key` (`<origin>+<hex id>+<base64>`; its
    /// name checked to be the origin here, the key itself by the ledger that loads it).
    pub verifier_key: Option<String>,
}

/// A place signed checkpoints are published, outside the store's reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WitnessConfig {
    /// Appended, one JSON line (`{"size":…,"root":…,"note":…}`) per checkpoint.
    File(PathBuf),
    /// Run once per checkpoint with the signed note on its standard input.
    Command(Vec<String>),
    /// A C2SP tlog-witness, sent each checkpoint with a consistency proof; its cosignatures
    /// are checked with `key` and kept.
    Http {
        /// The submission prefix (`https://host/path`, no trailing slash); requests go to
        /// `<url>/add-checkpoint`.
        url: String,
        /// The witness's cosigning key text, `<name>+<hex id>+<base64(0x04 || key)>`; its
        /// shape is checked here, the key itself when the ledger opens.
        key: String,
        /// The limit on one request.
        timeout: Duration,
    },
}

/// The default limit on one request to a tlog-witness.
pub const DEFAULT_WITNESS_TIMEOUT_MS: u64 = 5000;

pub const DEFAULT_LEDGER_ORIGIN: &str = "warden.local/ledger";

/// Where the store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// The embedded default: one SQLite file, for one gateway (and its CLI).
    Sqlite { path: PathBuf },
    /// A PostgreSQL database that several replicas share.
    Postgres(PostgresLocation),
}

pub const DEFAULT_PG_POOL_SIZE: u32 = 16;

/// A PostgreSQL database and the password to reach it.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresLocation {
    /// The connection URL, without a password.
    pub url: String,
    /// Read from `store.password_env` when the config is loaded.
    pub password: Option<String>,
    pub pool_size: u32,
    /// From the URL's `sslmode`, `sslrootcert`, `sslcert` and `sslkey`, which `url` no longer
    /// holds.
    pub tls: PostgresTls,
}

/// How warden reaches its PostgreSQL server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostgresTls {
    /// Plain TCP or a local socket: no `sslmode`, or `sslmode=disable`.
    Off,
    /// TLS, required, the server's chain always checked.
    Verified {
        /// `verify-full`: the certificate must also name the host.
        verify_name: bool,
        /// A PEM bundle of the CAs to trust; `None` for the system's.
        roots: Option<PathBuf>,
        client_identity: Option<ClientIdentity>,
    },
}

impl fmt::Debug for PostgresLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresLocation")
            .field("url", &self.url)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("pool_size", &self.pool_size)
            .field("tls", &self.tls)
            .finish()
    }
}

/// How to reach one upstream MCP server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    Stdio {
        command: String,
        args: Vec<String>,
        /// Read when the server is started, so a secret never sits in the config.
        env: BTreeMap<String, SecretSource>,
    },
    Http {
        url: String,
        /// Sent with every request; values read when warden connects.
        headers: BTreeMap<String, SecretSource>,
        /// An access token fetched with the client credentials grant, sent as
        /// `Authorization: Bearer` and refreshed before it expires.
        oauth: Option<Box<ClientCredentials>>,
        tls: UpstreamTls,
    },
}

/// The OAuth 2.1 client credentials grant warden uses for an HTTP upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCredentials {
    pub token_url: String,
    pub client_id: String,
    /// Read at each token request, never written anywhere.
    pub client_secret: SecretSource,
    pub scopes: Vec<String>,
    pub audience: Option<String>,
    pub resource: Option<String>,
    pub client_auth: ClientAuth,
}

/// TLS settings for an HTTP upstream; each file is read when warden connects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpstreamTls {
    /// Trusted instead of the system's roots.
    pub ca_file: Option<PathBuf>,
    /// A client certificate and its key, for mutual TLS.
    pub client_identity: Option<ClientIdentity>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

/// How warden opens its MCP connection to an upstream: which protocol era it speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
pub enum UpstreamProtocol {
    /// Ask `server/discover` first and speak the sessionless 2026-07-28 revision when the server
    /// offers it; fall back to the `initialize` handshake when it answers as a legacy server.
    #[serde(rename = "auto")]
    Auto,
    /// The `initialize` handshake only (revisions up to 2025-11-25). Right for a stdio server
    /// that exits on any request before `initialize`.
    #[serde(rename = "initialize")]
    Initialize,
    /// The sessionless 2026-07-28 revision only: a server that does not offer it fails to
    /// connect.
    #[serde(rename = "2026-07-28")]
    Sessionless,
}

impl UpstreamProtocol {
    /// What a server gets when its table names no `protocol`: a probe over HTTP, where a legacy
    /// server answers it with an error; the handshake over stdio, where some legacy servers
    /// exit on a request they do not know.
    pub fn default_for(transport: &Transport) -> Self {
        match transport {
            Transport::Http { .. } => Self::Auto,
            Transport::Stdio { .. } => Self::Initialize,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSpec {
    pub name: String,
    pub transport: Transport,
    pub protocol: UpstreamProtocol,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgSpec {
    pub ty: ArgType,
    pub required: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolSpec {
    pub name: ToolName,
    /// The name agents see and call it by (`[gateway] tool_names`).
    pub wire_name: String,
    pub labels: ToolLabels,
    pub args: BTreeMap<String, ArgSpec>,
    pub pin: Option<String>,
    pub description: Option<String>,
    pub results: ResultMode,
    /// The tool's own accountable owner, when it is not its category's.
    pub owner: Option<String>,
    /// How a reversible tool's effect is undone (`undo`), for the approver deciding on it.
    pub undo: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Budget {
    pub id: String,
    pub tools: Vec<ToolName>,
    pub limit: u32,
    pub window: Duration,
    pub per: BudgetScope,
    pub justification: Option<String>,
    /// Made by the floor for a write tool that no configured budget counts.
    pub default: bool,
}

/// The id of the floor's default budget for `tool`: a Cedar identifier.
pub fn default_budget_id(tool: &ToolName) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect()
    };
    format!(
        "default_{}__{}",
        clean(&tool.server),
        clean(tool.tool.as_str())
    )
}

/// What a grant gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantKind {
    /// `[[grants]]`: a permission (a Cedar permit), optionally only with human approval.
    Permission { approval: Option<String> },
    /// `[[autonomy]]`: no permission at all, but the floor's hold lifted for the calls it covers
    /// (which policy must still permit), answered for by `owner`.
    Autonomy { owner: String },
}

/// A resolved grant: who may call what, why, on whose word, until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub kind: GrantKind,
    pub id: String,
    pub agent: Principal,
    pub tools: Vec<ToolName>,
    pub when: Option<String>,
    pub justification: String,
    pub approver: String,
    /// Seconds since the Unix epoch from which the grant no longer permits.
    pub expires: i64,
    /// As written in the config.
    pub expires_text: String,
}

impl Grant {
    /// The Cedar rule id the grant's decisions name.
    pub fn rule_id(&self) -> String {
        match self.kind {
            GrantKind::Permission { .. } => format!("grant:{}", self.id),
            GrantKind::Autonomy { .. } => format!("autonomy:{}", self.id),
        }
    }

    pub fn is_autonomy(&self) -> bool {
        matches!(self.kind, GrantKind::Autonomy { .. })
    }

    /// The grant as a Cedar `permit`: it holds only while `context.now` is before the expiry.
    /// An autonomy grant's permit is evaluated in its own set, which only lifts the floor.
    pub fn cedar(&self) -> String {
        let q = |s: &str| serde_json::Value::String(s.to_string()).to_string();
        let actions: Vec<String> = self
            .tools
            .iter()
            .map(|t| format!("Action::{}", q(&t.to_string())))
            .collect();
        let mut text = format!(
            "@id({})\n@justification({})\n@approver({})\n@expires({})\n",
            q(&self.rule_id()),
            q(&self.justification),
            q(&self.approver),
            q(&self.expires_text)
        );
        match &self.kind {
            GrantKind::Permission { approval: Some(a) } => {
                text.push_str(&format!("@approval({})\n", q(a)));
            }
            GrantKind::Permission { approval: None } => {}
            GrantKind::Autonomy { owner } => text.push_str(&format!("@owner({})\n", q(owner))),
        }
        text.push_str(&format!(
            "permit (principal == Agent::{}, action in [{}], resource)\nwhen {{ context.now < {} }}",
            q(&self.agent.0),
            actions.join(", "),
            self.expires
        ));
        if let Some(w) = &self.when {
            text.push_str(&format!(" when {{ {w} }}"));
        }
        text.push_str(";\n");
        text
    }
}

/// Review sampling settings for one category.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryReview {
    /// A review older than this is overdue.
    pub every: Duration,
    /// The error rate the category's owner tolerates.
    pub tolerance: f64,
    /// Whether allowed calls fall back to needing approval while the review is overdue or the
    /// error bound exceeds the tolerance.
    pub fallback_approval: bool,
}

/// `[review]`, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewSettings {
    pub size: u32,
    pub rate: Option<f64>,
    pub default: CategoryReview,
    pub categories: BTreeMap<String, CategoryReview>,
}

impl ReviewSettings {
    pub fn for_category(&self, category: &str) -> &CategoryReview {
        self.categories.get(category).unwrap_or(&self.default)
    }
}

/// An agent's credential: only the SHA-256 of its bearer token is kept.
#[derive(Clone)]
pub struct AgentSpec {
    pub principal: Principal,
    /// The SHA-256 of the agent's static bearer token, when it has one.
    pub token_sha256: Option<[u8; 32]>,
    /// The value of `[oauth] principal_claim` in the access tokens that authenticate it.
    pub oauth_subject: Option<String>,
}

impl fmt::Debug for AgentSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentSpec")
            .field("principal", &self.principal)
            .field("token_sha256", &self.token_sha256.map(|_| "<redacted>"))
            .field("oauth_subject", &self.oauth_subject)
            .finish()
    }
}

/// Where the issuer's signing keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksSource {
    /// Fetched at start and every `jwks_refresh`, and again (at most once per refresh
    /// interval's tenth) when a token names a key the cached set lacks.
    Url(url::Url),
    /// Read once at start.
    File(PathBuf),
}

/// A JWT signature algorithm warden accepts. Only asymmetric ones exist here: with a shared
/// secret, anyone who can check a token could mint one, and `none` is no signature at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JwtAlgorithm {
    Rs256,
    Rs384,
    Rs512,
    Ps256,
    Ps384,
    Ps512,
    Es256,
    Es384,
    EdDsa,
}

impl JwtAlgorithm {
    pub const ALL: [Self; 9] = [
        Self::Rs256,
        Self::Rs384,
        Self::Rs512,
        Self::Ps256,
        Self::Ps384,
        Self::Ps512,
        Self::Es256,
        Self::Es384,
        Self::EdDsa,
    ];

    /// The JOSE name (`alg`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Rs384 => "RS384",
            Self::Rs512 => "RS512",
            Self::Ps256 => "PS256",
            Self::Ps384 => "PS384",
            Self::Ps512 => "PS512",
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::EdDsa => "EdDSA",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }
}

/// A JWT header's `typ`, as RFC 7515 compares it: a media type without its `application/`
/// prefix (which may be left out when the type has no other `/`), in lower case. `at+jwt` is
/// RFC 9068's access token; an identity provider signs ID tokens (`JWT`, or no `typ`) and
/// others with the same key, and only the `typ` tells them apart.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JwtType(String);

impl JwtType {
    /// The type `text` names, or `None` when it names none (empty, or with a space, a
    /// parameter or a `/` other than the `application/` prefix).
    pub fn parse(text: &str) -> Option<Self> {
        let lower = text.trim().to_ascii_lowercase();
        let bare = lower.strip_prefix("application/").unwrap_or(&lower);
        let ok = !bare.is_empty()
            && bare
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c));
        ok.then(|| Self(bare.to_string()))
    }

    /// Whether a header's `typ` (if any) is this type.
    pub fn matches(&self, typ: Option<&str>) -> bool {
        typ.and_then(Self::parse).is_some_and(|t| t == *self)
    }

    /// The short form, as RFC 7515 recommends writing it (`at+jwt`).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `[oauth]`: agents that present a JWT access token from the team's identity provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthSettings {
    pub issuer: String,
    pub audience: String,
    /// This protected resource's identifier (RFC 9728 `resource`).
    pub resource: url::Url,
    pub authorization_servers: Vec<String>,
    pub jwks: JwksSource,
    pub principal_claim: String,
    pub required_scopes: Vec<String>,
    pub algorithms: Vec<JwtAlgorithm>,
    /// The header `typ` every token must carry (`None`: any, or none). Set it to `at+jwt` where
    /// the identity provider signs ID tokens with the key that signs access tokens, so that an
    /// ID token cannot pass for an access token.
    pub required_typ: Option<JwtType>,
    pub leeway: Duration,
    pub jwks_refresh: Duration,
}

impl OAuthSettings {
    /// Where the RFC 9728 metadata for `resource` is served: the well-known path inserted
    /// between the host and the resource's path.
    pub fn metadata_url(&self) -> String {
        let mut origin = self.resource.clone();
        origin.set_query(None);
        origin.set_fragment(None);
        let path = self.resource.path().trim_end_matches('/').to_string();
        origin.set_path(&format!("/.well-known/oauth-protected-resource{path}"));
        origin.to_string()
    }

    /// The metadata's path on warden itself.
    pub fn metadata_path(&self) -> String {
        let path = self.resource.path().trim_end_matches('/');
        format!("/.well-known/oauth-protected-resource{path}")
    }
}

/// The resolved configuration: everything warden needs, already checked.
#[derive(Debug, Clone)]
pub struct Config {
    pub source: PathBuf,
    /// `sha256:` and the hex SHA-256 of the config file's text as it was read: what
    /// `config_loaded` and `policy_reload` record, so that an edit that changes no policy (an
    /// approver, a token, a budget) still shows on the record.
    pub source_digest: String,
    pub gateway: GatewaySettings,
    pub store: StoreLocation,
    pub screen: ScreenSettings,
    pub ledger: LedgerConfig,
    pub owners: BTreeMap<String, String>,
    pub agents: Vec<AgentSpec>,
    /// Agents may also authenticate with JWT access tokens (`None`: static tokens only).
    pub oauth: Option<OAuthSettings>,
    pub stdio_agent: Option<Principal>,
    pub servers: BTreeMap<String, ServerSpec>,
    pub tools: BTreeMap<ToolName, ToolSpec>,
    /// Each tool's name on the wire, to the tool.
    pub wire_names: BTreeMap<String, ToolName>,
    pub budgets: Vec<Budget>,
    pub approvals: ApprovalSettings,
    pub monitor: MonitorSettings,
    /// Permission grants and autonomy grants (`Grant::kind`).
    pub grants: Vec<Grant>,
    pub review: ReviewSettings,
    pub engine: Engine,
    /// Policies evaluated beside `engine` whose differences are recorded, never enforced.
    pub shadow: Option<Engine>,
    /// The live inventory's source and ages; `None`: the baseline entities are final.
    pub inventory: Option<InventorySettings>,
    /// `[metrics]`: where Prometheus metrics are served; `None`: they are not.
    pub metrics: Option<MetricsSettings>,
    /// `[claude_code]`: Claude Code's built-in tools are in the catalog (as `claude.*`).
    pub claude_code: Option<ClaudeCodeSettings>,
    /// `[export]`: the ledger streamed to a SIEM while warden serves; `None`: no stream.
    pub export: Option<ExportSettings>,
}

/// Where `warden serve` streams its ledger as OCSF JSON lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportDestination {
    /// Appended to a file, fsynced per batch.
    File(PathBuf),
    /// Splunk's HTTP Event Collector: base URL and token.
    SplunkHec { url: String, token: SecretSource },
    /// Elasticsearch's bulk API: base URL and API key.
    ElasticBulk { url: String, token: SecretSource },
}

/// `[export]`, resolved: the destination, where the cursor is kept, the batch size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSettings {
    pub to: ExportDestination,
    pub index: Option<String>,
    /// The next leaf index to export, written after each acknowledged batch.
    pub cursor: PathBuf,
    pub batch: usize,
}

/// Where warden serves its Prometheus metrics, and the token a scraper must send.
#[derive(Clone, PartialEq, Eq)]
pub struct MetricsSettings {
    pub listen: SocketAddr,
    /// SHA-256 of the scraper's bearer token; `None`: the listener is open to whoever reaches
    /// it (keep it on loopback or a private network).
    pub token_sha256: Option<[u8; 32]>,
}

impl fmt::Debug for MetricsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsSettings")
            .field("listen", &self.listen)
            .field("token_sha256", &self.token_sha256.map(|_| "<redacted>"))
            .finish()
    }
}

/// How warden answers Claude Code's hooks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaudeCodeSettings {
    pub on_hold: OnHold,
    pub write_roots: Vec<String>,
}

/// What a `PreToolUse` hook answers for a held call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnHold {
    /// `deny`, naming the pending request: the agent retries after approval.
    #[default]
    Deny,
    /// `ask`: Claude Code asks whoever is at its prompt; warden's approvers are bypassed for
    /// this call (the hold is still recorded).
    DangerAskLocalUser,
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8700";

/// Tool names agents see: `siem__get_alert`, valid for the Anthropic and OpenAI APIs
/// (`^[a-zA-Z0-9_-]{1,64}$`).
pub const DEFAULT_TOOL_NAMES: &str = "{server}__{tool}";

impl Config {
    /// The grants whose rule decided a call: the decision's `rule`, or the permission beneath
    /// it (`permitted_by`: the permit an autonomy grant or a hold stood on).
    pub fn grants_deciding<'a>(
        &'a self,
        rule: Option<&'a str>,
        permitted_by: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Grant> + 'a {
        self.grants.iter().filter(move |g| {
            let id = g.rule_id();
            rule == Some(id.as_str()) || permitted_by == Some(id.as_str())
        })
    }

    /// Why `new` cannot replace this configuration in a running warden, if it cannot: the
    /// upstreams, the tool catalog, the store, the ledger, the screen, the monitor, the
    /// inventory's source and rhythm, the listen address and the concurrency limit are fixed
    /// at start.
    pub fn reload_blocker(&self, new: &Config) -> Option<String> {
        let mut changed = Vec::new();
        if self.servers.len() != new.servers.len()
            || self
                .servers
                .iter()
                .zip(&new.servers)
                .any(|((a, x), (b, y))| a != b || x.transport != y.transport)
        {
            changed.push("servers");
        }
        if self.tools != new.tools {
            changed.push("tools");
        }
        if self.store != new.store {
            changed.push("store");
        }
        if self.ledger != new.ledger {
            changed.push("ledger");
        }
        if self.screen != new.screen {
            changed.push("screen");
        }
        if self.monitor != new.monitor {
            changed.push("monitor");
        }
        if self.inventory != new.inventory {
            changed.push("inventory");
        }
        if self.oauth != new.oauth {
            changed.push("oauth");
        }
        if self.metrics != new.metrics {
            changed.push("metrics");
        }
        if self.export != new.export {
            changed.push("export");
        }
        if self.gateway.listen != new.gateway.listen
            || self.gateway.max_concurrent_calls != new.gateway.max_concurrent_calls
            || self.gateway.max_concurrent_calls_per_server
                != new.gateway.max_concurrent_calls_per_server
            || self.gateway.limits != new.gateway.limits
            || self.gateway.max_sessions_per_agent != new.gateway.max_sessions_per_agent
            || self.gateway.agent_rate != new.gateway.agent_rate
        {
            changed.push("gateway listen, max_concurrent_calls, connection limits or agent rate");
        }
        (!changed.is_empty()).then(|| {
            format!(
                "{} changed: restart warden to apply that",
                changed.join(", ")
            )
        })
    }

    pub fn tool(&self, name: &ToolName) -> Option<&ToolSpec> {
        self.tools.get(name)
    }

    /// The tool an agent means by `name`: its name on the wire, or its qualified name
    /// `<server>.<tool>` (what policies, the ledger and the console call it). `None` when
    /// `name` is neither form; a well-formed name of a tool that does not exist is returned
    /// as such, and the catalog refuses it.
    pub fn tool_called(&self, name: &str) -> Option<ToolName> {
        self.wire_names
            .get(name)
            .cloned()
            .or_else(|| ToolName::parse(name))
    }

    /// This configuration deciding with the entities `text` (a live inventory, named `origin`
    /// in errors) instead of its own: the enforced and the shadow engine both get them, the
    /// policies stay compiled. Everything else is cloned.
    pub fn with_entities(&self, origin: &str, text: &str) -> Result<Config, Vec<ConfigError>> {
        let engine = self.engine.with_entities(origin, text)?;
        let shadow = match &self.shadow {
            Some(s) => Some(s.with_entities(origin, text).map_err(|errors| {
                errors
                    .into_iter()
                    .map(|e| ConfigError {
                        message: format!("shadow policy: {}", e.message),
                        ..e
                    })
                    .collect::<Vec<_>>()
            })?),
            None => None,
        };
        Ok(Config {
            engine,
            shadow,
            ..self.clone()
        })
    }

    /// Budgets that count calls of `tool`.
    pub fn budgets_for<'a>(&'a self, tool: &'a ToolName) -> impl Iterator<Item = &'a Budget> {
        self.budgets.iter().filter(move |b| b.tools.contains(tool))
    }
}
