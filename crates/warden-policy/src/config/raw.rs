//! The configuration file as written: serde structs that mirror the TOML strictly.
//!
//! Every struct denies unknown fields, so a misspelt key is an error rather than a guardrail
//! silently left out. Nothing here is checked beyond its TOML type: the values are turned into
//! [`Config`](super::Config) by `resolve`, which reports every problem at once.

use super::resolved::{BudgetScope, MonitorSettings, ResultMode, ScreenSettings};
use crate::inventory::RawInventory;
use serde::Deserialize;
use std::collections::BTreeMap;
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
    pub owners: BTreeMap<String, String>,
    #[serde(default)]
    pub agents: BTreeMap<String, RawAgent>,
    pub stdio: Option<RawStdio>,
    #[serde(default)]
    pub servers: BTreeMap<String, RawServer>,
    #[serde(default)]
    pub budgets: Vec<RawBudget>,
    #[serde(default)]
    pub approvals: RawApprovals,
    #[serde(default)]
    pub approvers: BTreeMap<String, RawApprover>,
    #[serde(default)]
    pub monitor: MonitorSettings,
    #[serde(default)]
    pub grants: Vec<RawGrant>,
    /// Autonomy grants: the only way a write the floor holds may run without a human.
    #[serde(default)]
    pub autonomy: Vec<RawGrant>,
    #[serde(default)]
    pub floor: RawFloor,
    #[serde(default)]
    pub review: RawReview,
    /// Where the team's entities come from while warden runs (`[policy] entities` is the
    /// baseline until the first successful refresh).
    pub inventory: Option<RawInventory>,
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
    pub window_secs: u64,
    #[serde(default)]
    pub per: BudgetScope,
}

/// A permission given on purpose, for a time: compiled to a Cedar `permit` that holds only while
/// `context.now` is before its expiry, so an expired grant stops permitting at that instant.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGrant {
    pub id: String,
    /// The agent it is granted to.
    pub agent: String,
    /// Tools it permits, `<server>.<tool>`.
    pub tools: Vec<String>,
    /// An optional Cedar condition that scopes it (`context.args.host.tier > 0`).
    pub when: Option<String>,
    /// `required` or `two-person`: the grant permits only with human approval (permission
    /// grants only).
    pub approval: Option<String>,
    /// Who answers for the calls it lets run unattended (autonomy grants only; required there).
    pub owner: Option<String>,
    /// Why this permission exists (required).
    pub justification: Option<String>,
    /// The configured approver who agreed to it (required).
    pub approver: Option<String>,
    /// When it stops permitting (required): RFC 3339 (`2027-03-31T17:00:00Z`) or a date
    /// (`2027-03-31`, the start of that day in UTC).
    pub expires: Option<String>,
}

/// Review sampling and what happens when a category's review falls behind (`[review]`).
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawReview {
    /// How often each category is reviewed, e.g. `7d` (default).
    pub every: Option<String>,
    /// Decisions drawn per stratum (category × outcome); default 5.
    pub size: Option<u32>,
    /// Or: this fraction of each stratum (0 < rate ≤ 1), at least one decision.
    pub rate: Option<f64>,
    /// The error rate an owner tolerates, default 0.05.
    pub tolerance: Option<f64>,
    /// Per category: `every`, `tolerance`, `fallback`.
    #[serde(default)]
    pub categories: BTreeMap<String, RawCategoryReview>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawCategoryReview {
    pub every: Option<String>,
    pub tolerance: Option<f64>,
    /// `approval`: while the review is overdue or the error bound exceeds the tolerance, calls
    /// policy allows in this category need a human approval. Default `none`.
    pub fallback: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawApprovals {
    /// How long a held call waits for an answer before it returns "pending" (default 0: at once).
    pub wait_secs: Option<u64>,
    /// Minutes before a request expires (expiry means deny), per category; default 15.
    #[serde(default)]
    pub expiry_minutes: BTreeMap<String, u64>,
    /// Webhook for approval requests and their outcomes (Slack-compatible, HMAC-signed).
    pub webhook_url: Option<String>,
    /// Environment variable holding the webhook's signing secret.
    pub webhook_secret_env: Option<String>,
    /// Where the console is reachable, for links in notifications.
    pub console_url: Option<String>,
    /// Who is told when a request is about to expire unanswered, per category (`default` for
    /// the rest); notified through the webhook once 80% of the expiry time has passed.
    #[serde(default)]
    pub escalation: BTreeMap<String, String>,
}

/// A human who may answer held calls.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApprover {
    pub name: String,
    /// Categories this person answers for (`"*"`: all).
    pub categories: Vec<String>,
    /// Argon2 PHC string of the console password.
    pub password_argon2: Option<String>,
    /// Hex SHA-256 of a console / CLI token.
    pub token_sha256: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawGateway {
    pub listen: Option<String>,
    pub max_request_bytes: Option<usize>,
    pub max_result_bytes: Option<usize>,
    pub upstream_timeout_secs: Option<u64>,
    pub max_concurrent_calls: Option<usize>,
    /// Extra `Host` header values to accept besides loopback (DNS-rebinding protection).
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawStore {
    /// The SQLite database file (the default: `warden.db`).
    pub path: Option<String>,
    /// Or: a PostgreSQL database (`postgres://user@host:port/db`), shared by replicas.
    pub url: Option<String>,
    /// The environment variable that holds the PostgreSQL password (never in the file).
    pub password_env: Option<String>,
    /// PostgreSQL connections each process keeps at most (default 16).
    pub pool_size: Option<u32>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawLedger {
    /// The checkpoint signing key; default `ledger.key` beside the SQLite store (with
    /// PostgreSQL: beside the config file).
    pub key: Option<String>,
    /// The checkpoint origin and key name; default `warden.local/ledger`.
    pub origin: Option<String>,
    /// Seconds between checkpoints (only when the log grew); default 10.
    pub checkpoint_interval_secs: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    pub files: Vec<String>,
    /// Policy files evaluated beside the enforced ones; differences are recorded, never applied.
    #[serde(default)]
    pub shadow: Vec<String>,
    /// A Cedar schema fragment declaring the team's own entity types (hosts, incidents, users).
    pub schema: Option<String>,
    /// Cedar entities (JSON) for those types.
    pub entities: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAgent {
    /// Hex SHA-256 of the agent's bearer token.
    pub token_sha256: Option<String>,
    /// Name of an environment variable holding the bearer token itself.
    pub token_env: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStdio {
    pub agent: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    pub command: Option<String>,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    pub url: Option<String>,
    #[serde(default)]
    pub tools: BTreeMap<String, RawTool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTool {
    pub effect: Effect,
    pub reversible: bool,
    pub stakes: Stakes,
    pub category: String,
    #[serde(default)]
    pub args: BTreeMap<String, String>,
    /// `sha256:<hex>` of the upstream definition this tool was reviewed at.
    pub pin: Option<String>,
    /// Replaces the upstream description shown to the agent.
    pub description: Option<String>,
    /// What reaches the agent of this tool's results.
    #[serde(default)]
    pub results: ResultMode,
    /// Who is accountable for this tool's decisions, instead of its category's owner.
    pub owner: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBudget {
    pub id: String,
    pub tools: Vec<String>,
    pub limit: u32,
    pub window_secs: u64,
    #[serde(default)]
    pub per: BudgetScope,
    /// Why the budget is as large as it is (`warden policy diff` asks for one when it grows).
    pub justification: Option<String>,
}
