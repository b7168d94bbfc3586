//! warden's policy: the configuration model, Cedar evaluation into Allow / Hold / Deny, and the
//! table tests that `warden policy test` runs.

pub mod argtypes;
pub mod claude_code;
pub mod config;
pub mod diff;
pub mod engine;
pub mod inventory;
pub mod own_files;
pub mod shell;
mod slice;
pub mod table;

pub use config::ArgSpec;
pub use config::{
    AgentRate, AgentSpec, ApprovalSettings, ApproverSpec, Budget, BudgetScope, CategoryReview,
    ClaudeCodeSettings, ClientAuth, ClientCredentials, ClientIdentity, Config, ConfigError,
    ConfigErrors, ConnectionLimits, ExportDestination, ExportSettings, GatewaySettings, Grant,
    GrantKind, JwksSource, JwtAlgorithm, JwtType, MetricsSettings, MonitorAction, MonitorSettings,
    OAuthSettings, OnHold, PostgresLocation, PostgresTls, ResultMode, ReviewSettings,
    ScreenSettings, Secret, SecretError, SecretSource, ServerSpec, StoreLocation, ToolSpec,
    Transport, UpstreamProtocol, UpstreamTls, WitnessConfig, default_budget_id, parse_duration,
    parse_expiry,
};
pub use engine::{
    Approval, ArgType, CallState, CheaperDoor, CommandWithLinks, Decision, Engine, EntityRef,
    FloorLabel, OutboundState, entities_named, floor_label,
};
pub use inventory::{InventorySettings, InventorySource};
