//! warden's policy: the configuration model, Cedar evaluation into Allow / Hold / Deny, and the
//! table tests that `warden policy test` runs.

pub mod config;
pub mod engine;
pub mod table;

pub use config::{
    AgentSpec, ApprovalSettings, ApproverSpec, Budget, BudgetScope, Config, ConfigError,
    ConfigErrors, GatewaySettings, MonitorAction, MonitorSettings, PostgresLocation, ResultMode,
    ScreenSettings, ServerSpec, StoreLocation, ToolSpec, Transport,
};
pub use engine::{Approval, ArgType, CallState, Decision, Engine};
