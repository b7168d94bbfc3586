//! warden's vocabulary: the values every other crate speaks in.
//!
//! Nothing here does I/O. A tool call, the labels warden gives a tool, the three-way outcome of a
//! decision and the audit event are plain data, so the policy, ledger and screen crates can be
//! tested with values alone.

pub mod approval;
pub mod canonical;
pub mod event;
pub mod taint;
pub mod text;
pub mod tool;

pub use approval::{ApprovalAnswer, ApprovalKind, ApprovalStatus, Judgement, UnknownName, Verdict};
pub use canonical::{ArgsDigest, canonical_json, sha256_hex};
pub use event::{AuditEvent, EventKind};
pub use taint::{NotARecord, TaintRecord};
pub use tool::{Effect, Outcome, Principal, SessionId, Stakes, ToolCall, ToolLabels, ToolName};
