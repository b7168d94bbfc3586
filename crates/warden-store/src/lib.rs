//! Persistence behind one trait, so the gateway never knows which database it talks to.
//!
//! SQLite is the embedded default: one file in WAL mode with `synchronous = FULL`, so a committed
//! write survives a crash. The trait is synchronous and object-safe; the async gateway calls it
//! from blocking tasks and never holds its lock across an `.await`.

mod sqlite;

pub use sqlite::SqliteStore;

use serde::{Deserialize, Serialize};
use warden_core::AuditEvent;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("cannot encode a record: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("cannot open the store at `{path}`: {message}")]
    Open { path: String, message: String },
    #[error("the store lock is poisoned: a writer panicked")]
    Poisoned,
}

/// A held call waiting for a human, bound to the exact arguments and policy that held it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingRequest {
    pub id: String,
    pub created_ms: i64,
    pub principal: String,
    pub session: String,
    pub tool: String,
    pub args: serde_json::Value,
    pub args_digest: String,
    pub policy_version: String,
    pub rule: String,
    pub approval: String,
    pub status: String,
    pub rationale: Option<String>,
}

/// Which events `events` returns; `None` fields match everything.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub session: Option<String>,
    pub principal: Option<String>,
    pub tool: Option<String>,
    pub decision: Option<String>,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub limit: Option<usize>,
}

pub trait Store: Send + Sync {
    /// Appends an event durably and returns its sequence number (from 0). The gateway forwards
    /// nothing until this returns `Ok`.
    fn append_event(&self, event: &AuditEvent) -> Result<u64, StoreError>;
    fn events(&self, filter: &EventFilter) -> Result<Vec<(u64, AuditEvent)>, StoreError>;

    fn create_pending(&self, request: &PendingRequest) -> Result<(), StoreError>;
    fn pending(&self) -> Result<Vec<PendingRequest>, StoreError>;

    /// Calls counted against `budget` for `scope` (an agent or a session) since `since_ms`.
    fn budget_used(&self, budget: &str, scope: &str, since_ms: i64) -> Result<u32, StoreError>;
    /// Counts one call against `budget` if fewer than `limit` were counted since `since_ms`;
    /// returns whether it was counted. Check and count are one transaction.
    fn consume_budget(
        &self,
        budget: &str,
        scope: &str,
        now_ms: i64,
        since_ms: i64,
        limit: u32,
    ) -> Result<bool, StoreError>;

    fn pin(&self, tool: &str) -> Result<Option<String>, StoreError>;
    fn set_pin(&self, tool: &str, digest: &str, by: &str, now_ms: i64) -> Result<(), StoreError>;
}
