//! The configuration file as written: serde structs that mirror the TOML strictly.
//!
//! Every struct denies unknown fields, so a misspelt key is an error rather than a guardrail
//! silently left out. Nothing here is checked beyond its TOML type: the values are turned into
//! [`Config`](super::Config) by `resolve`, which reports every problem at once.
//!
//! A value whose problems are reported with a place is kept `Spanned`: its byte range in the
//! file comes from the parser, so an error names the line where the value is written, not the
//! first line where its key's name happens to appear (`url` is a key of `[store]`, of every
//! `[servers.*]` and of `[inventory]`). A table is spanned where a problem belongs to it as a
//! whole (a missing key, a bad id); a field, where the problem is its value.

use super::resolved::{BudgetScope, MonitorSettings, ResultMode, ScreenSettings, UpstreamProtocol};
use super::secret::RawSecret;
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;
use warden_core::{Effect, Stakes};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub gateway: RawGateway,
    #[serde(default)]
    pub store: RawStore,
    #[serde(default)]
    pub ledger: RawLedger,
    #[serde(default)]
    pub screen: ScreenSettings,
    pub policy: RawPolicy,
    #[serde(default)]
    pub owners: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    pub agents: BTreeMap<String, Spanned<RawAgent>>,
    /// Agents authenticated with OAuth 2.1 access tokens (JWTs) from the team's identity
    /// provider, beside static tokens.
    pub oauth: Option<Spanned<RawOAuth>>,
    pub stdio: Option<RawStdio>,
    #[serde(default)]
    pub servers: BTreeMap<String, Spanned<RawServer>>,
    #[serde(default)]
    pub budgets: Vec<Spanned<RawBudget>>,
    #[serde(default)]
    pub approvals: RawApprovals,
    #[serde(default)]
    pub approvers: BTreeMap<String, Spanned<RawApprover>>,
    #[serde(default)]
    pub monitor: MonitorSettings,
    #[serde(default)]
    pub grants: Vec<Spanned<RawGrant>>,
    /// Autonomy grants: the only way a write the floor holds may run without a human.
    #[serde(default)]
    pub autonomy: Vec<Spanned<RawGrant>>,
    #[serde(default)]
    pub floor: RawFloor,
    #[serde(default)]
    pub review: RawReview,
    /// Where the team's entities come from while warden runs (`[policy] entities` is the
    /// baseline until the first successful refresh).
    pub inventory: Option<Spanned<RawInventory>>,
    /// Prometheus metrics on an address of their own; absent: none are served.
    pub metrics: Option<Spanned<RawMetrics>>,
    /// Claude Code's own tools (`claude.bash`, `claude.write`…), decided through its hooks.
    pub claude_code: Option<Spanned<RawClaudeCode>>,
    /// The ledger streamed to a SIEM as OCSF while `warden serve` runs; absent: no stream.
    pub export: Option<Spanned<RawExport>>,
}

/// `[export]`: where `warden serve` streams its ledger (OCSF JSON lines), and how.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExport {
    /// `file`, `splunk-hec` or `elastic-bulk`.
    pub to: Spanned<String>,
    /// The collector's base URL (collectors only).
    pub url: Option<Spanned<String>>,
    /// The collector's token: `{ env = "VAR" }` or `{ file = "path" }`, never a literal.
    pub token: Option<super::RawSecret>,
    /// The file records are appended to (`to = "file"`).
    pub path: Option<String>,
    /// Elasticsearch index (default `warden-ocsf`) or Splunk index (default: the token's).
    pub index: Option<String>,
    /// Where the next index to export is kept; default `export-<to>.cursor` beside the SQLite
    /// store.
    pub cursor: Option<String>,
    /// Records per batch (default 500).
    pub batch: Option<Spanned<u64>>,
}

/// `[metrics]`: where Prometheus scrapes warden.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMetrics {
    /// `host:port` of the metrics listener, apart from the agents' and approvers' address.
    pub listen: Spanned<String>,
    /// SHA-256 of the bearer token a scraper must send (`warden hash token`); absent: none.
    pub token_sha256: Option<Spanned<String>>,
}

/// `[claude_code]`: the built-in tool catalog is in force, and how its calls are answered.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawClaudeCode {
    /// The built-in tools' category (default `claude-code`); it needs an owner.
    pub category: Option<Spanned<String>>,
    /// Folders a Bash command may write under without `writes_outside` (normalised absolute).
    #[serde(default)]
    pub write_roots: Vec<Spanned<String>>,
    /// A held call's answer: `deny` naming the request (default), or `danger-ask-local-user`,
    /// which lets whoever sits at Claude Code's prompt answer instead of warden's approvers.
    pub on_hold: Option<Spanned<String>>,
    /// Labels replacing a built-in tool's, by warden's tool name (`bash`, `web_fetch`…).
    #[serde(default)]
    pub tools: BTreeMap<String, Spanned<RawBuiltinLabels>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawBuiltinLabels {
    pub effect: Option<Effect>,
    pub reversible: Option<bool>,
    pub stakes: Option<Stakes>,
    pub category: Option<Spanned<String>>,
    pub owner: Option<Spanned<String>>,
}

/// `[floor]`: what warden enforces under every policy.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawFloor {
    /// The budget every write tool without a configured one gets.
    pub write_budget: Option<RawDefaultBudget>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDefaultBudget {
    pub limit: u32,
    pub window_secs: Spanned<u64>,
    #[serde(default)]
    pub per: BudgetScope,
}

/// A permission given on purpose, for a time: compiled to a Cedar `permit` that holds only while
/// `context.now` is before its expiry, so an expired grant stops permitting at that instant.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGrant {
    pub id: Spanned<String>,
    /// The agent it is granted to.
    pub agent: Spanned<String>,
    /// Tools it permits, `<server>.<tool>`.
    pub tools: Vec<Spanned<String>>,
    /// An optional Cedar condition that scopes it (`context.args.host.tier > 0`).
    pub when: Option<Spanned<String>>,
    /// `required` or `two-person`: the grant permits only with human approval (permission
    /// grants only).
    pub approval: Option<Spanned<String>>,
    /// Who answers for the calls it lets run unattended (autonomy grants only; required there).
    pub owner: Option<Spanned<String>>,
    /// Why this permission exists (required).
    pub justification: Option<Spanned<String>>,
    /// The configured approver who agreed to it (required).
    pub approver: Option<Spanned<String>>,
    /// When it stops permitting (required): RFC 3339 (`2027-03-31T17:00:00Z`) or a date
    /// (`2027-03-31`, the start of that day in UTC).
    pub expires: Option<Spanned<String>>,
}

/// Review sampling and what happens when a category's review falls behind (`[review]`).
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawReview {
    /// How often each category is reviewed, e.g. `7d` (default).
    pub every: Option<Spanned<String>>,
    /// Decisions drawn per stratum (category × outcome); default 5.
    pub size: Option<Spanned<u32>>,
    /// Or: this fraction of each stratum (0 < rate ≤ 1), at least one decision.
    pub rate: Option<Spanned<f64>>,
    /// The error rate an owner tolerates, default 0.05.
    pub tolerance: Option<Spanned<f64>>,
    /// Per category: `every`, `tolerance`, `fallback`.
    #[serde(default)]
    pub categories: BTreeMap<String, Spanned<RawCategoryReview>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawCategoryReview {
    pub every: Option<Spanned<String>>,
    pub tolerance: Option<Spanned<f64>>,
    /// `approval`: while the review is overdue or the error bound exceeds the tolerance, calls
    /// policy allows in this category need a human approval. Default `none`.
    pub fallback: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawApprovals {
    /// How long a held call waits for an answer before it returns "pending" (default 0: at once).
    pub wait_secs: Option<u64>,
    /// Minutes before a request expires (expiry means deny), per category; default 15.
    #[serde(default)]
    pub expiry_minutes: BTreeMap<String, Spanned<u64>>,
    /// Webhook for approval requests and their outcomes (Slack-compatible, HMAC-signed).
    pub webhook_url: Option<Spanned<String>>,
    /// Environment variable holding the webhook's signing secret.
    pub webhook_secret_env: Option<Spanned<String>>,
    /// Where the console is reachable, for links in notifications.
    pub console_url: Option<String>,
    /// Who is told when a request is about to expire unanswered, per category (`default` for
    /// the rest); notified through the webhook once 80% of the expiry time has passed.
    #[serde(default)]
    pub escalation: BTreeMap<String, String>,
    /// Days an answered request (denied, expired, executed) is kept in the store after its
    /// expiry before the sweeper deletes it (default 30); the ledger keeps its history.
    pub closed_retention_days: Option<Spanned<u64>>,
    /// Requests one agent may have waiting for approvers at once (default 50); a call held
    /// past it is denied, so a flood of held calls cannot bury the one that matters.
    pub max_pending_per_agent: Option<Spanned<u64>>,
}

/// A human who may answer held calls.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApprover {
    pub name: String,
    /// Categories this person answers for (`"*"`: all).
    pub categories: Vec<Spanned<String>>,
    /// Argon2 PHC string of the console password.
    pub password_argon2: Option<Spanned<String>>,
    /// Hex SHA-256 of a console / CLI token.
    pub token_sha256: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawGateway {
    pub listen: Option<Spanned<String>>,
    /// How tools are named to agents: a template with `{server}` and `{tool}` (default
    /// `{server}__{tool}`, valid for every model API).
    pub tool_names: Option<Spanned<String>>,
    /// The longest name `tool_names` may give a tool (default and most 64, what model APIs
    /// accept): a client that prefixes names needs room for its prefix (Claude Code's
    /// `mcp__<server>__`).
    pub max_tool_name_chars: Option<Spanned<usize>>,
    pub max_request_bytes: Option<usize>,
    pub max_result_bytes: Option<usize>,
    pub upstream_timeout_secs: Option<u64>,
    pub max_concurrent_calls: Option<usize>,
    /// Of those, calls in flight to any one upstream (default half of `max_concurrent_calls`).
    pub max_concurrent_calls_per_server: Option<usize>,
    /// Seconds an agent's `tools/list` is served the catalog as it stands before it starts a
    /// new listing of the upstreams (default 5; 0: every listing, still one at a time).
    pub catalog_refresh_secs: Option<u64>,
    /// Extra `Host` header values to accept besides loopback (DNS-rebinding protection).
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// Browser origins (`scheme://host[:port]`) allowed to call `/mcp`; a request with any
    /// other `Origin` header is refused (DNS-rebinding and cross-site protection).
    #[serde(default)]
    pub allowed_origins: Vec<Spanned<String>>,
    /// Seconds a connection has to send a complete request head (default 10).
    pub header_timeout_secs: Option<Spanned<u64>>,
    /// Seconds a request has to send its whole body once its head is in (default 30).
    pub body_timeout_secs: Option<Spanned<u64>>,
    /// Seconds a keep-alive connection may wait between requests (default 60).
    pub idle_timeout_secs: Option<Spanned<u64>>,
    /// Connections served at once (default 512).
    pub max_connections: Option<Spanned<usize>>,
    /// MCP sessions one agent may hold open at once (default 64).
    pub max_sessions_per_agent: Option<Spanned<usize>>,
    /// Requests per second one agent is served, sustained (default 50).
    pub agent_requests_per_sec: Option<Spanned<u32>>,
    /// Requests one agent may send at once above its sustained rate (default 500).
    pub agent_burst: Option<Spanned<u32>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawStore {
    /// The SQLite database file (the default: `warden.db`).
    pub path: Option<String>,
    /// Or: a PostgreSQL database (`postgres://user@host:port/db`), shared by replicas.
    pub url: Option<Spanned<String>>,
    /// The environment variable that holds the PostgreSQL password (never in the file).
    pub password_env: Option<Spanned<String>>,
    /// PostgreSQL connections each process keeps at most (default 16).
    pub pool_size: Option<Spanned<u32>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawLedger {
    /// The checkpoint signing key; default `ledger.key` beside the SQLite store (with
    /// PostgreSQL: beside the config file).
    pub key: Option<String>,
    /// The checkpoint origin and key name; default `warden.local/ledger`.
    pub origin: Option<Spanned<String>>,
    /// Seconds between checkpoints (only when the log grew); default 10.
    pub checkpoint_interval_secs: Option<Spanned<u64>>,
    /// The ledger's verifier key (`<origin>+<hex id>+<base64>`, the text of `ledger.pub`),
    /// pinned: warden then starts only with that signing key and never makes a new one.
    pub verifier_key: Option<Spanned<String>>,
    /// Where each signed checkpoint is published, so a removed tail can be caught by
    /// comparing the store with what was published.
    #[serde(default)]
    pub witness: Vec<Spanned<RawWitness>>,
}

/// One place checkpoints are published: exactly one of `file`, `command` and `url`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWitness {
    /// A file each signed checkpoint is appended to (one JSON line each).
    pub file: Option<String>,
    /// A program (and its arguments) given each signed checkpoint on its standard input.
    pub command: Option<Vec<String>>,
    /// A C2SP tlog-witness's submission prefix: checkpoints are posted to
    /// `<url>/add-checkpoint` with a consistency proof, and the witness cosigns them.
    pub url: Option<String>,
    /// The witness's cosigning key (`<name>+<hex id>+<base64>`, type 0x04); with `url` only.
    pub key: Option<String>,
    /// How long one request to the witness may take, in milliseconds (default 5000); with
    /// `url` only.
    pub timeout_ms: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    pub files: Spanned<Vec<Spanned<String>>>,
    /// Policy files evaluated beside the enforced ones; differences are recorded, never applied.
    #[serde(default)]
    pub shadow: Vec<Spanned<String>>,
    /// A Cedar schema fragment declaring the team's own entity types (hosts, incidents, users).
    pub schema: Option<Spanned<String>>,
    /// Cedar entities (JSON) for those types.
    pub entities: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAgent {
    /// Hex SHA-256 of the agent's bearer token.
    pub token_sha256: Option<Spanned<String>>,
    /// Name of an environment variable holding the bearer token itself.
    pub token_env: Option<Spanned<String>>,
    /// The value of `[oauth] principal_claim` in access tokens that authenticate this agent.
    pub oauth_subject: Option<Spanned<String>>,
}

/// `[oauth]`: warden as an OAuth 2.1 protected resource (RFC 9728) for its agents.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOAuth {
    /// The authorization server's issuer identifier; a token's `iss` must equal it.
    pub issuer: Spanned<String>,
    /// A token's `aud` must contain this (warden's resource identifier at the IdP).
    pub audience: Spanned<String>,
    /// This resource's URL as agents reach it (RFC 9728 `resource`); default: `audience`.
    pub resource: Option<Spanned<String>>,
    /// Authorization servers named in the metadata; default: the issuer.
    #[serde(default)]
    pub authorization_servers: Vec<Spanned<String>>,
    /// Where the issuer's signing keys are published (JWKS), fetched and cached.
    pub jwks_url: Option<Spanned<String>>,
    /// Or: a JWKS file, read at start.
    pub jwks_file: Option<Spanned<String>>,
    /// The claim that names the agent (default `sub`).
    pub principal_claim: Option<Spanned<String>>,
    /// Scopes every token must carry (in `scope` or `scp`).
    #[serde(default)]
    pub scopes: Vec<Spanned<String>>,
    /// Signature algorithms accepted (default: every asymmetric one warden knows).
    #[serde(default)]
    pub algorithms: Vec<Spanned<String>>,
    /// The header `typ` every token must carry, e.g. `at+jwt` (RFC 9068); default: any.
    pub require_typ: Option<Spanned<String>>,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds (default 60).
    pub leeway_secs: Option<Spanned<u64>>,
    /// Seconds between fetches of `jwks_url` (default 300).
    pub jwks_refresh_secs: Option<Spanned<u64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStdio {
    pub agent: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    pub command: Option<String>,
    #[serde(default)]
    pub args: Vec<String>,
    /// The stdio server's environment: each value written here, or `{ env = "VAR" }` /
    /// `{ file = "path" }` to keep secrets out of the file.
    #[serde(default)]
    pub env: BTreeMap<String, RawSecret>,
    pub url: Option<Spanned<String>>,
    /// HTTP headers sent to an HTTP server, each value as `env` takes it
    /// (`Authorization = { env = "SPLUNK_TOKEN", prefix = "Bearer " }`).
    pub headers: Option<Spanned<BTreeMap<String, RawSecret>>>,
    /// OAuth 2.1 client credentials for an HTTP server: warden fetches the access token from the
    /// token endpoint and refreshes it before it expires.
    pub oauth: Option<Spanned<RawUpstreamOAuth>>,
    /// TLS for an HTTP server: a CA bundle trusted instead of the system's roots, and a client
    /// certificate for mutual TLS.
    pub tls: Option<Spanned<RawUpstreamTls>>,
    /// How warden opens its MCP connection to this server (default: `auto` over HTTP,
    /// `initialize` over stdio).
    pub protocol: Option<UpstreamProtocol>,
    #[serde(default)]
    pub tools: BTreeMap<String, Spanned<RawTool>>,
}

/// `[servers.<name>.oauth]` as written: the client credentials grant (RFC 6749 section 4.4).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpstreamOAuth {
    /// The authorization server's token endpoint (https, or http to loopback).
    pub token_url: Spanned<String>,
    pub client_id: Spanned<String>,
    /// `{ env = "VAR" }` or `{ file = "path" }`; a literal secret in the file is refused.
    pub client_secret: Spanned<RawSecret>,
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Sent as `audience` (the form several identity providers use for the API's identifier).
    pub audience: Option<String>,
    /// Sent as `resource` (RFC 8707): the MCP server's canonical URL.
    pub resource: Option<String>,
    /// How the client authenticates at the token endpoint: `basic` (HTTP Basic, the default)
    /// or `post` (in the form body).
    #[serde(default)]
    pub client_auth: ClientAuth,
}

/// How warden authenticates at a token endpoint (RFC 6749 section 2.3.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientAuth {
    /// `client_secret_basic`.
    #[default]
    Basic,
    /// `client_secret_post`.
    Post,
}

/// `[servers.<name>.tls]` as written. Paths are relative to the config's folder.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpstreamTls {
    /// PEM certificates trusted for this server instead of the system's roots.
    pub ca_file: Option<String>,
    /// PEM client certificate (chain) for mutual TLS, with its key in `client_key`.
    pub client_cert: Option<String>,
    /// PEM private key of `client_cert`.
    pub client_key: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTool {
    pub effect: Effect,
    pub reversible: bool,
    pub stakes: Stakes,
    pub category: Spanned<String>,
    #[serde(default)]
    pub args: BTreeMap<String, Spanned<String>>,
    /// `sha256:<hex>` of the upstream definition this tool was reviewed at.
    pub pin: Option<Spanned<String>>,
    /// Replaces the upstream description shown to the agent.
    pub description: Option<String>,
    /// What reaches the agent of this tool's results.
    #[serde(default)]
    pub results: ResultMode,
    /// Who is accountable for this tool's decisions, instead of its category's owner.
    pub owner: Option<Spanned<String>>,
    /// How its effect is undone, shown to approvers: the tool that reverses it
    /// (`idp.enable_account`) or a sentence. Only for a `reversible` tool.
    pub undo: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBudget {
    pub id: Spanned<String>,
    pub tools: Vec<Spanned<String>>,
    pub limit: u32,
    pub window_secs: Spanned<u64>,
    #[serde(default)]
    pub per: BudgetScope,
    /// Why the budget is as large as it is (`warden policy diff` asks for one when it grows).
    pub justification: Option<String>,
}

/// `[inventory]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInventory {
    /// A JSON file of Cedar entities, re-read when its content changes.
    pub file: Option<String>,
    /// Or: a program and its arguments, run every `refresh_secs`; its stdout is the entities.
    pub command: Option<Spanned<Vec<String>>>,
    /// Or: an http(s) URL polled every `refresh_secs` (redirects are not followed).
    pub url: Option<Spanned<String>>,
    /// Seconds between two refreshes (default 5).
    pub refresh_secs: Option<Spanned<u64>>,
    /// Entities not confirmed by a refresh for this long decide nothing (default 300).
    pub max_age_secs: Option<Spanned<u64>>,
    /// How long a command or a URL may take before the refresh counts as failed (default 10).
    pub timeout_secs: Option<Spanned<u64>>,
}
