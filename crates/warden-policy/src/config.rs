//! warden's configuration, in two stages.
//!
//! `RawConfig` mirrors the TOML file strictly (`deny_unknown_fields`: a misspelt key is an
//! error, not a silently ignored guardrail). `Config::load` resolves it: paths against the config
//! file's folder, token references against the environment, tools against their servers, and the
//! Cedar policies compiled and validated against a schema generated from the tool catalog. Every
//! problem found is reported at once, each with the place it comes from.
//!
//! The stages live apart: `raw` is the file as written, `resolved` is what the rest of warden
//! reads, and `resolve` turns the one into the other. Their types are re-exported here, so a
//! reader names `config::Config` whichever stage holds it.

mod error;
mod raw;
mod resolve;
mod resolved;
mod secret;

pub(crate) use error::line_of;
pub use error::{ConfigError, ConfigErrors};
pub use raw::{
    RawAgent, RawApprovals, RawApprover, RawBudget, RawBuiltinLabels, RawCategoryReview,
    RawClaudeCode, RawConfig, RawDefaultBudget, RawExport, RawFloor, RawGateway, RawGrant,
    RawInventory, RawLedger, RawMetrics, RawOAuth, RawPolicy, RawReview, RawServer, RawStdio,
    RawStore, RawTool,
};
pub use resolve::{parse_duration, parse_expiry};
pub use resolved::{
    AgentRate, AgentSpec, ApprovalSettings, ApproverSpec, ArgSpec, Budget, BudgetScope,
    CategoryReview, ClaudeCodeSettings, ClientAuth, ClientCredentials, ClientIdentity, Config,
    ConnectionLimits, DEFAULT_LEDGER_ORIGIN, DEFAULT_LISTEN, DEFAULT_PG_POOL_SIZE,
    DEFAULT_WRITE_BUDGET, DenialBurst, ExportDestination, ExportSettings, GatewaySettings, Grant,
    GrantKind, JwksSource, JwtAlgorithm, JwtType, LedgerConfig, MetricsSettings, MonitorAction,
    MonitorSettings, NewCategory, OAuthSettings, OnHold, PostgresLocation, PostgresTls, Rate,
    ResultMode, ReviewSettings, ScreenSettings, ServerSpec, StoreLocation, TaintedHighStakes,
    ToolSpec, Transport, UpstreamProtocol, UpstreamTls, WitnessConfig, default_budget_id,
};
pub use secret::{RawSecret, RawSecretFrom, Secret, SecretError, SecretSource};
