//! warden's runtime: the MCP front, the pipeline, the catalog and the upstream connections.

mod answer;
pub mod approval;
pub mod audit;
pub mod catalog;
pub mod clock;
pub mod desk;
pub mod failure;
mod flight;
pub mod front;
pub mod gate;
pub mod halt;
pub mod hooks;
pub mod inventory;
mod listing;
pub mod metrics;
pub mod monitor;
pub mod notify;
pub mod pipeline;
mod recorded;
pub mod redaction;
pub mod reload;
pub mod review;
pub mod screening;
pub mod server;
pub mod taint;
pub mod upstream;
pub mod witness;

pub use audit::{AuditError, AuditLog};
pub use clock::{Clock, ManualClock, SystemClock};
pub use failure::Failure;
pub use front::{router, serve_stdio};
pub use pipeline::{Authorized, CallError, Gateway, GatewayParts, ReadAhead, Ticket, Verdict, Via};
pub use upstream::{McpUpstream, Upstream, UpstreamError};
