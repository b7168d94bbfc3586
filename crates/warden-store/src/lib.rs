//! Persistence behind one trait, so the gateway never knows which database it talks to.
//!
//! SQLite is the embedded default: one file in WAL mode with `synchronous = FULL`, so a committed
//! write survives a crash. PostgreSQL ([`PostgresStore`]) is for several gateway replicas that
//! share one ledger, one approval queue and one set of halts and budgets; both backends pass
//! the same story tests (`tests/story.rs`). The trait is synchronous and object-safe; the async gateway calls it
//! from blocking tasks and never holds its lock across an `.await`.
//!
//! The audit ledger is stored through a handful of `ledger_*` methods that know nothing about
//! Merkle trees: leaves (bytes, hash and filter columns), the sealed content beside them, and
//! signed checkpoints. [`Ledger`] builds the transparency log on top of them, so a second
//! backend only has to store rows.
//!
//! Both backends follow one schema history: numbered SQL files under `migrations/`, one per
//! backend per step, listed once in `migrations.rs`. Both run the same text for every listing
//! (`queries.rs`), and a test explains each against a filled database of each kind, so every
//! listing reads through an index.

pub mod ledger;
mod migrations;
mod page;
mod postgres;
mod queries;
mod sqlite;

pub use ledger::{DEFER_WITHIN, Ledger, LedgerError, LedgerSettings};
pub use migrations::SchemaError;
pub use page::{
    AgentAfter, Cursor, CursorError, Keyset, LeafAfter, Listing, MAX_TOKEN_CHARS, Page, PageSize,
    TaintedAgents, events_page, requests_page, tainted_agents_page,
};
pub use postgres::{
    ClientCertificate, NameCheck, PostgresOptions, PostgresStore, PostgresTls, TlsRoots,
};
pub use queries::{Dialect, ListingQuery, Probe, listing_queries};
pub use sqlite::SqliteStore;

use serde::{Deserialize, Serialize};
pub use warden_core::{ApprovalAnswer, ApprovalKind, ApprovalStatus, TaintRecord, Verdict};
use warden_ledger::{Hash, LeafColumns, LeafKey, LeafMac, SealedContent, StoredLeaf};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("PostgreSQL: {}", postgres_detail(.0))]
    Postgres(#[from] ::postgres::Error),
    /// The PostgreSQL store cannot be set up: a bad URL, a refused login, a newer schema.
    #[error("{0}")]
    Setup(String),
    /// No connection could be had in time (the server is down or every connection is busy).
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    /// The database's schema is not one this warden can use (newer, or an applied migration
    /// differs from the shipped one); nothing was changed.
    #[error(transparent)]
    Schema(#[from] SchemaError),
    #[error("cannot encode a record: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("cannot open the store at `{path}`: {message}")]
    Open { path: String, message: String },
    #[error("the store lock is poisoned: a writer panicked")]
    Poisoned,
    #[error("the stored ledger is unreadable: {0}")]
    Corrupt(String),
    /// A record the caller built is out of range (nothing was stored).
    #[error("invalid record: {0}")]
    Invalid(String),
}

/// The server's own message when there is one (`password authentication failed …`), else the
/// client's error and its cause.
fn postgres_detail(e: &::postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => match std::error::Error::source(e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        },
    }
}

/// Whether an operation that failed may succeed if it is tried again later, unchanged.
///
/// Every store error has one, and the gateway carries it to the wire: an agent is told it may
/// retry a call refused for a transient failure, and the console and the hook endpoint answer
/// 503 with `Retry-After` instead of 500. Either way nothing was forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transience {
    /// The database could not be reached or could not serve the operation now: PostgreSQL
    /// down, every pooled connection busy, a connection reset, a serialization failure or a
    /// deadlock, SQLite busy or locked, a disk that failed or filled. Nothing stored is wrong.
    Transient,
    /// Trying again will fail the same way until someone acts: a corrupt or forged ledger, a
    /// record that cannot be read or written, a schema this warden cannot use, a bad setup.
    Permanent,
}

impl Transience {
    pub fn is_transient(self) -> bool {
        self == Self::Transient
    }
}

impl StoreError {
    /// Whether the database could not be reached or could not serve the operation now, as
    /// opposed to a stored record, the schema or the setup being wrong.
    pub fn transience(&self) -> Transience {
        let transient = match self {
            Self::Db(e) => sqlite_transient(e),
            Self::Postgres(e) => postgres_transient(e),
            Self::Unavailable(_) => true,
            Self::Setup(_)
            | Self::Schema(_)
            | Self::Encode(_)
            | Self::Open { .. }
            | Self::Poisoned
            | Self::Corrupt(_)
            | Self::Invalid(_) => false,
        };
        if transient {
            Transience::Transient
        } else {
            Transience::Permanent
        }
    }

    /// Whether trying again later may succeed ([`StoreError::transience`]).
    pub fn is_transient(&self) -> bool {
        self.transience().is_transient()
    }
}

/// SQLite is busy or locked (another connection held the lock past the busy timeout), or the
/// machine under it failed the operation: an I/O error, a full disk, no memory, the WAL's lock
/// protocol. These are what PostgreSQL's classes 53 and 58 are, and the ledger's writer catches
/// up after them rather than halting. Everything else SQLite reports (a value of the wrong type
/// in a row, a constraint, a corrupt or unreadable file) fails again when retried.
fn sqlite_transient(e: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode as C;
    matches!(
        e.sqlite_error_code(),
        Some(
            C::DatabaseBusy
                | C::DatabaseLocked
                | C::SystemIoFailure
                | C::DiskFull
                | C::OutOfMemory
                | C::FileLockingProtocolFailed
        )
    )
}

/// The server's SQLSTATE when it answered: a connection exception (class 08), a serialization
/// failure or deadlock (40001, 40P01), a read-only transaction (25006: a standby after a
/// failover), insufficient resources (class 53: too many connections, out of memory or disk),
/// a lock not available (55P03), a cancelled statement (57014), a server shutting down or
/// starting (57P01–57P03), a system error outside PostgreSQL (class 58: I/O). Without one, a
/// closed connection or an I/O error on it is transient; a value that cannot be converted is
/// not.
fn postgres_transient(e: &::postgres::Error) -> bool {
    if let Some(state) = e.code() {
        let code = state.code();
        return code.starts_with("08")
            || code.starts_with("53")
            || code.starts_with("58")
            || matches!(
                code,
                "25006" | "40001" | "40P01" | "55P03" | "57014" | "57P01" | "57P02" | "57P03"
            );
    }
    e.is_closed() || std::error::Error::source(e).is_some_and(|cause| cause.is::<std::io::Error>())
}

/// A held call waiting for a human, bound to the exact arguments and policy that held it.
///
/// This row is the gate's working state, not its proof: before an approved call runs, the
/// gateway finds the approvals it needs in the ledger (`warden_gateway::gate`), so a row edited
/// by someone with the database file approves nothing.
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
    pub approval: ApprovalKind,
    pub status: ApprovalStatus,
    pub rationale: Option<String>,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub stakes: String,
    #[serde(default)]
    pub owner: String,
    /// After this instant the request is denied (expiry means deny).
    #[serde(default)]
    pub expires_ms: i64,
    #[serde(default)]
    pub answers: Vec<ApprovalAnswer>,
    /// What the agent had read in the session when it asked: (ledger index, tool, screen summary).
    #[serde(default)]
    pub evidence: Vec<serde_json::Value>,
    /// Whether the escalation contact was told that this request is about to expire.
    #[serde(default)]
    pub escalated: bool,
    /// How many times the row changed: [`Store::update_pending`] swaps only the revision it
    /// read, so two answers at the same moment cannot overwrite each other. Kept in its own
    /// column, not in the body.
    #[serde(skip)]
    pub revision: i64,
}

impl PendingRequest {
    /// Distinct approvers needed: 2 for a two-person rule.
    pub fn approvals_needed(&self) -> u8 {
        self.approval.approvals_needed()
    }

    /// Approvers who said yes so far.
    pub fn approvals(&self) -> usize {
        self.answers
            .iter()
            .filter(|a| a.verdict == Verdict::Approve)
            .count()
    }

    /// Reads a stored row: the body, with the status column it must agree with. Anything
    /// warden did not write is an error, never a default.
    pub(crate) fn from_row(
        status: &str,
        body: &str,
        revision: i64,
    ) -> Result<PendingRequest, StoreError> {
        let mut r: PendingRequest = serde_json::from_str(body)
            .map_err(|e| StoreError::Corrupt(format!("a pending request: {e}")))?;
        let column: ApprovalStatus = status
            .parse()
            .map_err(|e| StoreError::Corrupt(format!("pending request `{}`: {e}", r.id)))?;
        if column != r.status {
            return Err(StoreError::Corrupt(format!(
                "pending request `{}` is `{column}` in its status column but `{}` in its record",
                r.id, r.status
            )));
        }
        r.revision = revision;
        Ok(r)
    }
}

/// Text as the search of waiting requests compares it: lower-cased as Rust's `to_lowercase`
/// does (every letter that has a lower case, not only ASCII), with NUL read as U+FFFD (a text
/// column of PostgreSQL cannot hold it).
pub fn searchable(text: &str) -> String {
    text.to_lowercase().replace('\0', "\u{FFFD}")
}

impl PendingRequest {
    /// What the text search of waiting requests reads of a request, each field on its own and
    /// [`searchable`]: the id, tool, agent, session, rule, category, the arguments as JSON and
    /// the agent's rationale. A search matches a request when one field contains it.
    pub fn search_fields(&self) -> [String; 8] {
        [
            self.id.as_str(),
            &self.tool,
            &self.principal,
            &self.session,
            &self.rule,
            &self.category,
            &self.args.to_string(),
            self.rationale.as_deref().unwrap_or_default(),
        ]
        .map(searchable)
    }

    /// Whether one of the searched fields contains `text`, case aside.
    pub fn matches_text(&self, text: &str) -> bool {
        let text = searchable(text);
        self.search_fields().iter().any(|f| f.contains(&text))
    }
}

/// The `search` column of a request: its [`PendingRequest::search_fields`] as a JSON array.
pub(crate) fn search_of(request: &PendingRequest) -> Result<String, StoreError> {
    Ok(serde_json::to_string(&request.search_fields())?)
}

/// The search column of the requests stored without one, read from their bodies: run as the
/// step that adds the column runs. A body that does not read as a request keeps no search
/// (the search does not find it; reading it fails as it always did).
pub(crate) fn fill_search(
    mut without: impl FnMut(&str) -> Result<Vec<(String, String)>, StoreError>,
    mut set: impl FnMut(&str, &str) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut after = String::new();
    loop {
        let rows = without(&after)?;
        let Some((last, _)) = rows.last() else {
            return Ok(());
        };
        after = last.clone();
        for (id, body) in &rows {
            if let Ok(r) = serde_json::from_str::<PendingRequest>(body) {
                set(id, &search_of(&r)?)?;
            }
        }
    }
}

/// `text`, [`searchable`], as a `LIKE … ESCAPE '\'` pattern that matches a value containing
/// it: `%`, `_` and the escape character itself stand for themselves.
pub(crate) fn contains_pattern(text: &str) -> String {
    let mut out = String::from("%");
    for c in searchable(text).chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// The states a request ends in: once in one, nothing reads it to decide (see
/// [`Store::prune_closed`]).
pub fn closed_statuses() -> Vec<&'static str> {
    ApprovalStatus::ALL
        .into_iter()
        .filter(|s| !s.is_open())
        .map(ApprovalStatus::as_str)
        .collect()
}

/// Which stored requests [`Store::requests`] reads; `None` fields (and empty `statuses`)
/// match every request. Every field is a column of its own beside the request's body, and
/// the store's indexes lead with the status: a filter on open statuses reads only open
/// requests, however many answered ones are kept beside them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestFilter {
    /// Only requests in one of these states.
    pub statuses: Vec<ApprovalStatus>,
    pub principal: Option<String>,
    pub session: Option<String>,
    pub tool: Option<String>,
    pub args_digest: Option<String>,
    pub policy_version: Option<String>,
    pub category: Option<String>,
    /// Only requests that expire at or before this instant (`expires_ms <= ..`).
    pub expired_at_ms: Option<i64>,
    /// Only requests that expire after this instant (`expires_ms > ..`).
    pub unexpired_at_ms: Option<i64>,
    pub escalated: Option<bool>,
    /// Only requests one of whose searched fields contains this text, case aside
    /// ([`PendingRequest::matches_text`]): matched in the store with `LIKE` on the request's
    /// search column, every character of the text standing for itself.
    pub text: Option<String>,
    /// Only requests after this one in the order requests are read (creation time, then id):
    /// where a page starts ([`crate::requests_page`]).
    pub after: Option<WaitingAfter>,
    /// At most this many requests, the first in that order.
    pub limit: Option<usize>,
}

impl RequestFilter {
    /// The requests that can still change: pending, or approved and not yet used.
    pub fn open() -> Self {
        Self {
            statuses: ApprovalStatus::ALL
                .into_iter()
                .filter(|s| s.is_open())
                .collect(),
            ..Self::default()
        }
    }

    /// Whether `r` matches: what a lookup returned is checked against its body, which is the
    /// record (the columns are copies kept for the lookup).
    pub fn matches(&self, r: &PendingRequest) -> bool {
        let text = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        (self.statuses.is_empty() || self.statuses.contains(&r.status))
            && text(&self.principal, &r.principal)
            && text(&self.session, &r.session)
            && text(&self.tool, &r.tool)
            && text(&self.args_digest, &r.args_digest)
            && text(&self.policy_version, &r.policy_version)
            && text(&self.category, &r.category)
            && self.expired_at_ms.is_none_or(|t| r.expires_ms <= t)
            && self.unexpired_at_ms.is_none_or(|t| r.expires_ms > t)
            && self.escalated.is_none_or(|e| r.escalated == e)
            && self.text.as_deref().is_none_or(|t| r.matches_text(t))
            && self
                .after
                .as_ref()
                .is_none_or(|a| (r.created_ms, r.id.as_str()) > (a.created_ms, a.id.as_str()))
    }

    /// ` LIMIT n` for the filter's limit, or nothing: a number, never a placeholder (a
    /// statement is cached per distinct text, and pages come in a handful of sizes).
    pub(crate) fn limit_clause(&self) -> String {
        self.limit
            .map_or_else(String::new, |n| format!(" LIMIT {n}"))
    }

    /// The SQL conditions, as [`EventFilter::conditions`] makes them. `searched` is the
    /// backend's rows of a request's searched fields, each as `value`, read from its `search`
    /// column (a JSON array).
    pub(crate) fn conditions(
        &self,
        searched: &str,
        placeholder: impl Fn(usize) -> String,
    ) -> (String, Vec<FilterValue>) {
        let mut c = Conditions::new(placeholder);
        if !self.statuses.is_empty() {
            let marks: Vec<String> = self
                .statuses
                .iter()
                .map(|status| c.mark(FilterValue::Text(status.as_str().to_owned())))
                .collect();
            c.clauses.push(format!("status IN ({})", marks.join(", ")));
        }
        c.texts([
            ("principal", &self.principal),
            ("session", &self.session),
            ("tool", &self.tool),
            ("args_digest", &self.args_digest),
            ("policy_version", &self.policy_version),
            ("category", &self.category),
        ]);
        c.ints([
            ("expires_ms <=", self.expired_at_ms),
            ("expires_ms >", self.unexpired_at_ms),
        ]);
        if let Some(e) = self.escalated {
            let mark = c.mark(FilterValue::Bool(e));
            c.clauses.push(format!("escalated = {mark}"));
        }
        if let Some(text) = &self.text {
            let mark = c.mark(FilterValue::Text(contains_pattern(text)));
            c.clauses.push(format!(
                "EXISTS (SELECT 1 FROM {searched} WHERE value LIKE {mark} ESCAPE '\\')"
            ));
        }
        if let Some(after) = &self.after {
            // One row-value comparison, which both databases read through an index on
            // `(…, created_ms, id)` as a range.
            let created = c.mark(FilterValue::Int(after.created_ms));
            let id = c.mark(FilterValue::Text(after.id.clone()));
            c.clauses
                .push(format!("(created_ms, id) > ({created}, {id})"));
        }
        c.finish()
    }
}

/// A kill switch on a scope (`session:<principal>:<session>`, `agent:<principal>`,
/// `category:<category>`, `global`): while active, every call it covers is refused. Stored, so it
/// survives restarts and reaches every process sharing the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Halt {
    pub scope: String,
    /// A human approver id, or `monitor:<trigger>`.
    pub set_by: String,
    pub reason: String,
    /// What made the setter halt (for the monitor: the recent calls).
    pub evidence: serde_json::Value,
    pub created_ms: i64,
    pub resumed_by: Option<String>,
    pub resume_reason: Option<String>,
    pub resumed_ms: Option<i64>,
}

/// A read that tainted an agent: it read text the injection screen flagged. Taint belongs to the
/// agent principal, not to the MCP session it read in, so a new session (or another replica)
/// starts tainted too; it lasts until `until_ms`, unless a human clears it sooner
/// ([`Store::clear_agent_taint`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentTaint {
    /// The agent principal.
    pub agent: String,
    /// The session the read happened in, kept as evidence; it does not limit the taint.
    pub session: String,
    /// The screen's score of what was read, 0 to 100.
    pub level: i64,
    /// The tool whose result was flagged, e.g. `mail.read_message`.
    pub source: String,
    /// When the agent read it (milliseconds since the Unix epoch).
    pub at_ms: i64,
    /// The taint counts while `now < until_ms`.
    pub until_ms: i64,
}

impl AgentTaint {
    /// Levels are the screen's scores.
    pub const LEVELS: std::ops::RangeInclusive<i64> = 0..=100;

    /// Refuses a level outside [`Self::LEVELS`] before it reaches the database (whose `CHECK`
    /// would refuse it too, less readably).
    pub(crate) fn check(&self) -> Result<(), StoreError> {
        if Self::LEVELS.contains(&self.level) {
            Ok(())
        } else {
            Err(StoreError::Invalid(format!(
                "taint level `{}` of agent `{}` is not within 0..=100",
                self.level, self.agent
            )))
        }
    }
}

/// An agent's taint in force as a human is shown it before clearing it: the record that counts
/// and the newest record in force, which the clear names ([`Store::clear_agent_taint`]), so a
/// record stored after the page was drawn is not cleared by it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaintInForce {
    /// The record that counts: the highest level (ties: the latest).
    pub taint: AgentTaint,
    /// The newest of the agent's records in force.
    pub newest: TaintRecord,
    /// How many of the agent's records are in force.
    pub records: u32,
}

/// The taint queries both backends share (placeholders are `?n` in SQLite, `$n` in
/// PostgreSQL, so each backend rewrites them). A record counts when it has not expired and no
/// clear of its agent stopped it: a clear names the newest record it stops
/// (`through_record`) and the records before it, among those read at or before its time; a
/// clear stored before clears named records (`through_record` NULL) stops the records at or
/// before its time. Both conditions hold for a named clear: record numbers are the store's, so
/// a number that goes back (rows deleted, a forged row with a high number) must not make a read
/// after the clear one that it stopped.
pub(crate) mod taint_sql {
    pub const COLUMNS: &str = "agent, session, level, source, at_ms, until_ms";

    /// Whether a clear stopped record `t`.
    macro_rules! not_cleared {
        () => {
            "NOT EXISTS (SELECT 1 FROM agent_taint_clears c
                         WHERE c.agent = t.agent
                           AND c.cleared_ms >= t.at_ms
                           AND (c.through_record >= t.id OR c.through_record IS NULL))"
        };
    }

    /// `$1` agent, `$2` now.
    pub const IN_FORCE: &str = concat!(
        "SELECT agent, session, level, source, at_ms, until_ms
        FROM agent_taints t
        WHERE agent = $1 AND until_ms > $2 AND ",
        not_cleared!(),
        " ORDER BY level DESC, at_ms DESC, id DESC
        LIMIT 1"
    );

    /// `$1` agent, `$2` through record, `$3` now: the records in force that a clear naming
    /// `$2` stops.
    pub const COUNT_CLEARED: &str = concat!(
        "SELECT COUNT(*) FROM agent_taints t
        WHERE agent = $1 AND id <= $2 AND at_ms <= $3 AND until_ms > $3 AND ",
        not_cleared!()
    );

    /// The agents' records in force at `$1`, each with the one that counts (`pick` 1), the
    /// agent's newest and its count; the caller adds the agent filter.
    macro_rules! picked {
        ($($filter:tt)*) => {
            concat!(
                "SELECT agent, session, level, source, at_ms, until_ms, newest, records
                FROM (SELECT agent, session, level, source, at_ms, until_ms,
                             ROW_NUMBER() OVER (PARTITION BY agent
                                                ORDER BY level DESC, at_ms DESC, id DESC) AS pick,
                             MAX(id) OVER (PARTITION BY agent) AS newest,
                             COUNT(*) OVER (PARTITION BY agent) AS records
                      FROM agent_taints t
                      WHERE until_ms > $1 ",
                $($filter)*,
                " AND ",
                not_cleared!(),
                ") AS f
                WHERE pick = 1
                ORDER BY agent"
            )
        };
    }

    /// The first `$2` agents by name with a record in force at `$1` (after `$3`, with
    /// `$after`): a page of agents is chosen first, walking the index on `(agent, until_ms)`
    /// in name order, and only their records are counted, so a page reads a page of agents
    /// however many are tainted.
    macro_rules! page_of_agents {
        ($after:literal) => {
            concat!(
                "AND agent IN (SELECT agent FROM agent_taints t WHERE until_ms > $1 ",
                $after,
                " AND ",
                not_cleared!(),
                " GROUP BY agent ORDER BY agent LIMIT $2)"
            )
        };
    }

    /// `$1` now, `$2` most agents: per agent, the record `IN_FORCE` would pick, the newest
    /// and the count, for the first agents by name.
    pub const FIRST_IN_FORCE: &str = picked!(page_of_agents!(""));

    /// `$1` now, `$2` most agents, `$3` agent: as [`FIRST_IN_FORCE`], for the agents after
    /// `$3` by name.
    pub const AFTER_IN_FORCE: &str = picked!(page_of_agents!("AND agent > $3"));

    /// `$1` now, `$2` agent: as [`FIRST_IN_FORCE`], for one agent.
    pub const AGENT_IN_FORCE: &str = picked!("AND agent = $2");
}

/// A console sign-in session as stored, so that every replica sharing the store knows it.
/// The row is a claim: whoever writes it must hold the MAC key (see the gateway's desk), or
/// the console ignores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSessionRow {
    /// SHA-256 of the cookie value; the cookie itself is never stored.
    pub key: [u8; 32],
    pub approver_id: String,
    pub approver_name: String,
    pub csrf: String,
    pub expires_ms: i64,
    /// HMAC over every other field, under a key derived from the ledger's signing key.
    pub mac: [u8; 32],
}

/// A stored session row: (key, approver id, approver name, csrf, expiry, mac).
type SessionColumns = (Vec<u8>, String, String, String, i64, Vec<u8>);

fn console_session_of(
    (key, approver_id, approver_name, csrf, expires_ms, mac): SessionColumns,
) -> Result<ConsoleSessionRow, StoreError> {
    let bytes = |v: Vec<u8>, what: &str| {
        <[u8; 32]>::try_from(v)
            .map_err(|_| StoreError::Corrupt(format!("a console session's {what} is not 32 bytes")))
    };
    Ok(ConsoleSessionRow {
        key: bytes(key, "key")?,
        approver_id,
        approver_name,
        csrf,
        expires_ms,
        mac: bytes(mac, "MAC")?,
    })
}

/// Which ledger leaves `ledger_find` returns; `None` fields match everything.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// An `EventKind` name, e.g. `decision`.
    pub kind: Option<String>,
    pub session: Option<String>,
    pub principal: Option<String>,
    pub tool: Option<String>,
    pub decision: Option<String>,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub limit: Option<usize>,
    /// Newest first, so `limit` keeps the latest matches instead of the earliest: a page of
    /// recent events reads `limit` rows, however long the ledger has grown.
    pub newest_first: bool,
    /// Only leaves at this index or later.
    pub index_from: Option<u64>,
    /// Only leaves before this index.
    pub index_below: Option<u64>,
}

impl EventFilter {
    /// Whether an event with these columns matches (the filter's `limit` aside).
    pub fn matches(&self, columns: &LeafColumns) -> bool {
        let text = |want: &Option<String>, have: Option<&str>| {
            want.as_deref().is_none_or(|w| have == Some(w))
        };
        text(&self.kind, Some(columns.kind.as_str()))
            && text(&self.session, columns.session.as_deref())
            && text(&self.principal, columns.principal.as_deref())
            && text(&self.tool, columns.tool.as_deref())
            && text(&self.decision, columns.decision.as_deref())
            && self.since_ms.is_none_or(|s| columns.time_ms >= s)
            && self.until_ms.is_none_or(|u| columns.time_ms <= u)
    }
}

/// A value a filter condition compares with: what a statement of the store binds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterValue {
    Text(String),
    Int(i64),
    Bool(bool),
}

impl EventFilter {
    /// `ORDER BY` for `ledger_find`.
    pub(crate) fn order(&self) -> &'static str {
        if self.newest_first { "idx DESC" } else { "idx" }
    }

    /// The SQL conditions for the fields that are set, joined with `AND` (`TRUE` when none
    /// is), with `placeholder(n)` for the n-th value (from 1), and the values in order.
    pub(crate) fn conditions(
        &self,
        placeholder: impl Fn(usize) -> String,
    ) -> (String, Vec<FilterValue>) {
        let mut c = Conditions::new(placeholder);
        c.texts([
            ("kind", &self.kind),
            ("session", &self.session),
            ("principal", &self.principal),
            ("tool", &self.tool),
            ("decision", &self.decision),
        ]);
        let index = |i: Option<u64>| i.map(|i| i64::try_from(i).unwrap_or(i64::MAX));
        c.ints([
            ("time_ms >=", self.since_ms),
            ("time_ms <=", self.until_ms),
            ("idx >=", index(self.index_from)),
            ("idx <", index(self.index_below)),
        ]);
        // No index keeps the leaves in log order by time: read alone, `time_ms >= ..` walks
        // the ledger from its first leaf to the first one stamped late enough. Every leaf it
        // matches is at or after the lowest index among them, found through the index on the
        // time, so the walk starts there. (`+idx`, not `idx`: the lowest of a plain column is
        // read by walking the table in that column's order, the very walk this avoids.) A
        // next page starts after the last leaf shown (`index_from`), past that bound already.
        if let (Some(since), None) = (self.since_ms, self.index_from) {
            let mark = c.mark(FilterValue::Int(since));
            c.clauses.push(format!(
                "idx >= (SELECT MIN(+idx) FROM ledger_leaves WHERE time_ms >= {mark})"
            ));
        }
        c.finish()
    }
}

/// The SQL conditions of a filter as they are built: each value added gets the next
/// placeholder; [`Conditions::finish`] joins the clauses with `AND` (`TRUE` when there is none).
struct Conditions<P> {
    placeholder: P,
    clauses: Vec<String>,
    values: Vec<FilterValue>,
}

impl<P: Fn(usize) -> String> Conditions<P> {
    fn new(placeholder: P) -> Self {
        Self {
            placeholder,
            clauses: Vec::new(),
            values: Vec::new(),
        }
    }

    /// Adds `value` and returns its placeholder.
    fn mark(&mut self, value: FilterValue) -> String {
        self.values.push(value);
        (self.placeholder)(self.values.len())
    }

    /// `column = value` for each value that is set.
    fn texts<'a>(&mut self, columns: impl IntoIterator<Item = (&'static str, &'a Option<String>)>) {
        for (column, value) in columns {
            if let Some(v) = value {
                let mark = self.mark(FilterValue::Text(v.clone()));
                self.clauses.push(format!("{column} = {mark}"));
            }
        }
    }

    /// `condition value` (`time_ms >=`, …) for each value that is set.
    fn ints(&mut self, conditions: impl IntoIterator<Item = (&'static str, Option<i64>)>) {
        for (condition, value) in conditions {
            if let Some(v) = value {
                let mark = self.mark(FilterValue::Int(v));
                self.clauses.push(format!("{condition} {mark}"));
            }
        }
    }

    fn finish(self) -> (String, Vec<FilterValue>) {
        if self.clauses.is_empty() {
            ("TRUE".into(), self.values)
        } else {
            (self.clauses.join(" AND "), self.values)
        }
    }
}

/// One leaf to append: its bytes and hash, the columns readers filter on, and the content of
/// its sealed fields, which lives beside the log until it is redacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLeaf {
    pub bytes: Vec<u8>,
    pub hash: Hash,
    /// The index columns stored beside the leaf, copied from its event.
    pub columns: LeafColumns,
    pub sealed: Vec<SealedContent>,
}

/// A stored leaf with everything stored beside it: the MAC of the writer that appended it and
/// the index columns readers filter on. Both are claims of the row, checked by a verifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafRow {
    pub leaf: StoredLeaf<Vec<u8>>,
    /// `None` for a leaf stored before leaves carried MACs (or whose MAC was removed).
    pub mac: Option<LeafMac>,
    pub columns: LeafColumns,
}

/// A signed checkpoint as stored: the note is the record, size and root are copies for queries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub size: u64,
    pub root: Hash,
    /// The C2SP signed note.
    pub note: String,
    pub time_ms: i64,
}

/// The requests that wait for a human, as a count and the creation time of the oldest: what a
/// dashboard shows without reading every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OpenRequests {
    pub count: u64,
    pub oldest_created_ms: Option<i64>,
}

/// Where a page of waiting requests starts: after the request created at `created_ms` with
/// id `id`, in the order waiting requests are read (creation time, then id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingAfter {
    pub created_ms: i64,
    pub id: String,
}

impl WaitingAfter {
    /// The place just after `request`.
    pub fn of(request: &PendingRequest) -> Self {
        Self {
            created_ms: request.created_ms,
            id: request.id.clone(),
        }
    }
}

/// How a pooled backend's connections are used right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUse {
    /// Open connections, idle or lent out.
    pub open: u32,
    /// Open connections not lent out.
    pub idle: u32,
    /// The most the pool opens.
    pub max: u32,
}

pub trait Store: Send + Sync {
    /// Appends `leaves` in one durable transaction at the end of the ledger and returns the
    /// index of the first. Indices are assigned inside the transaction, so several writers
    /// (processes) never collide; each leaf is stored with its MAC under `key` at the index it
    /// got. An empty batch returns the current size.
    fn ledger_append(&self, leaves: &[NewLeaf], key: &LeafKey) -> Result<u64, StoreError>;
    /// Number of leaves stored (one more than the highest index).
    fn ledger_size(&self) -> Result<u64, StoreError>;
    /// Up to `limit` leaves with index `from` or more, by index.
    fn ledger_leaves(
        &self,
        from: u64,
        limit: usize,
    ) -> Result<Vec<StoredLeaf<Vec<u8>>>, StoreError>;
    /// Up to `limit` leaves with index `from` or more, by index, with their MACs and columns.
    fn ledger_rows(&self, from: u64, limit: usize) -> Result<Vec<LeafRow>, StoreError>;
    /// Leaves whose columns match `filter`, by index.
    fn ledger_find(&self, filter: &EventFilter) -> Result<Vec<LeafRow>, StoreError>;
    /// Sealed content of leaves with index in `from..to`, by index then field.
    fn ledger_sealed(&self, from: u64, to: u64) -> Result<Vec<(u64, SealedContent)>, StoreError>;
    /// Deletes the sealed content (values and salts) of leaf `index`; the fields it removed.
    fn ledger_redact(&self, index: u64) -> Result<Vec<String>, StoreError>;
    /// Stores a checkpoint if it is larger than every stored one; whether it was stored. Check
    /// and insert are one transaction, so stored sizes never decrease.
    fn ledger_add_checkpoint(&self, checkpoint: &StoredCheckpoint) -> Result<bool, StoreError>;
    /// Every stored checkpoint, in stored order.
    fn ledger_checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StoreError>;
    fn ledger_latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError>;

    fn create_pending(&self, request: &PendingRequest) -> Result<(), StoreError>;
    /// Every request ever made, answered or not, oldest first: what a listing of them all
    /// shows. Reads the whole table, which only grows; a held call or a sweep reads
    /// [`Store::requests`] instead.
    fn pending(&self) -> Result<Vec<PendingRequest>, StoreError>;
    /// The requests `filter` matches, oldest first (by creation time, then id), at most its
    /// `limit` after its `after`, read through the index on their status. Each returned request matches `filter` in its body too: a
    /// row whose columns were edited apart from its body is not returned.
    fn requests(&self, filter: &RequestFilter) -> Result<Vec<PendingRequest>, StoreError>;
    /// How many requests `filter` matches, wherever its page would start (`after` and `limit`
    /// aside): counted in the store, never by reading them.
    fn count_requests(&self, filter: &RequestFilter) -> Result<u64, StoreError>;
    /// The requests still `pending` (counted by the store, no request read).
    fn open_requests(&self) -> Result<OpenRequests, StoreError>;
    /// At most `limit` requests still `pending`, oldest first (by creation time, then id),
    /// after the one `after` names: a page of waiting calls, read through the index on status
    /// and that order, however many requests wait or were answered. Pages on from the last
    /// request of the page before.
    fn waiting(
        &self,
        after: Option<&WaitingAfter>,
        limit: usize,
    ) -> Result<Vec<PendingRequest>, StoreError>;
    fn pending_request(&self, id: &str) -> Result<Option<PendingRequest>, StoreError>;
    /// Replaces a request only if it is still at the revision it was read at (compare and swap
    /// on the whole row: status, answers and all), so two answers or two retries cannot both
    /// win and neither can overwrite the other; returns whether it was replaced.
    fn update_pending(&self, request: &PendingRequest) -> Result<bool, StoreError>;
    /// Deletes the answered requests ([`closed_statuses`]: denied, expired, executed) that
    /// expired before `expired_before_ms`; returns how many. An open request (pending, or
    /// approved and not yet used) is never deleted, whatever its age. Every request is closed
    /// by its expiry at the latest (an approval is used only before it), so a request whose
    /// expiry is that far behind has been closed at least that long. The ledger keeps each
    /// step of it.
    fn prune_closed(&self, expired_before_ms: i64) -> Result<u64, StoreError>;

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

    /// Stores an active halt unless its scope already has one; whether it was stored.
    fn add_halt(&self, halt: &Halt) -> Result<bool, StoreError>;
    /// The halts not yet resumed, oldest first.
    fn active_halts(&self) -> Result<Vec<Halt>, StoreError>;
    /// Marks the active halt of `scope` resumed; the halt as resumed, or `None` if none was
    /// active.
    fn resume_halt(
        &self,
        scope: &str,
        by: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<Option<Halt>, StoreError>;

    /// Records a read that tainted `taint.agent`. Records are kept; none replaces another.
    /// Returns the record's number: higher than every record of the agent stored before.
    fn raise_agent_taint(&self, taint: &AgentTaint) -> Result<TaintRecord, StoreError>;
    /// The agent's taint in force at `now_ms`: of its records with `until_ms > now_ms` that
    /// no clear stopped, the one with the highest level (ties: the latest), or `None`.
    /// Whichever session or replica raised it; a record stamped after `now_ms` (another
    /// replica's clock runs ahead) counts already.
    fn agent_taint(&self, agent: &str, now_ms: i64) -> Result<Option<AgentTaint>, StoreError>;
    /// The agent's taint in force at `now_ms` as a human is shown it before clearing: the
    /// record [`Store::agent_taint`] returns, the newest record in force and their count, read
    /// together.
    fn taint_in_force(&self, agent: &str, now_ms: i64) -> Result<Option<TaintInForce>, StoreError>;
    /// A human clears the agent's taint as shown: record `through` and every older record of
    /// the agent stop counting; a record stored after `through` (a read while the human was
    /// looking) still counts, as does every later read. The clear is stored beside the
    /// records, which stay as history. Returns how many records were in force and stopped
    /// counting. `by` must already be an authorised human (checked by the caller), and the
    /// caller checks that `through` is what was shown ([`crate::TaintInForce::newest`]).
    fn clear_agent_taint(
        &self,
        agent: &str,
        through: TaintRecord,
        now_ms: i64,
        by: &str,
        reason: &str,
    ) -> Result<u32, StoreError>;
    /// The agents with taint in force at `now_ms`, as [`Store::taint_in_force`] reads them,
    /// by agent: at most `limit`, the first by name after `after` (from the first without).
    /// [`crate::tainted_agents_page`] pages through them.
    fn tainted_agents(
        &self,
        now_ms: i64,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<TaintInForce>, StoreError>;

    fn pin(&self, tool: &str) -> Result<Option<String>, StoreError>;
    fn set_pin(&self, tool: &str, digest: &str, by: &str, now_ms: i64) -> Result<(), StoreError>;

    /// Stores a console sign-in session, after removing every session expired at `now_ms`
    /// and, so that at most `per_approver` of its approver's and `max` in all are stored with
    /// it, the ones that expire first (the approver's own first).
    fn console_session_put(
        &self,
        session: &ConsoleSessionRow,
        now_ms: i64,
        per_approver: usize,
        max: usize,
    ) -> Result<(), StoreError>;
    /// The session stored under `key` (the SHA-256 of its cookie), expired or not.
    fn console_session(&self, key: &[u8; 32]) -> Result<Option<ConsoleSessionRow>, StoreError>;
    /// Ends a session; `false` when there was none.
    fn console_session_delete(&self, key: &[u8; 32]) -> Result<bool, StoreError>;

    /// The connection pool's use, for a backend that pools connections; `None` otherwise.
    fn pool_use(&self) -> Option<PoolUse> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite(code: std::ffi::c_int) -> StoreError {
        StoreError::Db(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(code),
            None,
        ))
    }

    #[test]
    fn a_store_that_cannot_answer_now_is_transient_and_a_wrong_record_is_not() {
        use Transience::{Permanent, Transient};
        for (e, expected) in [
            (sqlite(rusqlite::ffi::SQLITE_BUSY), Transient),
            (sqlite(rusqlite::ffi::SQLITE_LOCKED), Transient),
            (sqlite(rusqlite::ffi::SQLITE_IOERR), Transient),
            (sqlite(rusqlite::ffi::SQLITE_FULL), Transient),
            (StoreError::Unavailable("pool timed out".into()), Transient),
            (sqlite(rusqlite::ffi::SQLITE_CORRUPT), Permanent),
            (sqlite(rusqlite::ffi::SQLITE_CONSTRAINT), Permanent),
            (
                StoreError::Db(rusqlite::Error::InvalidColumnType(
                    0,
                    "at_ms".into(),
                    rusqlite::types::Type::Text,
                )),
                Permanent,
            ),
            (StoreError::Corrupt("a short hash".into()), Permanent),
            (StoreError::Invalid("a negative time".into()), Permanent),
            (StoreError::Setup("a bad URL".into()), Permanent),
            (StoreError::Poisoned, Permanent),
        ] {
            assert_eq!(e.transience(), expected, "{e}");
            assert_eq!(e.is_transient(), expected == Transient, "{e}");
        }
    }

    #[test]
    fn a_ledger_error_keeps_the_transience_of_the_store_under_it() {
        let down = || StoreError::Unavailable("pool timed out".into());
        let unwritten = LedgerError::Unwritten(std::sync::Arc::new(LedgerError::Store(down())));
        assert_eq!(unwritten.transience(), Transience::Transient);
        assert_eq!(
            LedgerError::Store(down()).transience(),
            Transience::Transient
        );
        for e in [
            LedgerError::Halted("leaves were removed from the store".into()),
            LedgerError::Forged("leaf 3".into()),
            LedgerError::Diverged("leaf 3".into()),
            LedgerError::Unwritten(std::sync::Arc::new(LedgerError::Store(
                StoreError::Corrupt("leaf 3".into()),
            ))),
            LedgerError::Closed,
        ] {
            assert_eq!(e.transience(), Transience::Permanent, "{e}");
        }
    }

    #[test]
    fn only_the_filters_given_become_conditions() {
        let none = EventFilter::default();
        assert_eq!(
            none.conditions(|n| format!("?{n}")),
            ("TRUE".into(), vec![])
        );
        let some = EventFilter {
            kind: Some("decision".into()),
            tool: Some("edr.isolate_host".into()),
            since_ms: Some(5),
            ..EventFilter::default()
        };
        assert_eq!(
            some.conditions(|n| format!("${n}")),
            (
                "kind = $1 AND tool = $2 AND time_ms >= $3 \
                 AND idx >= (SELECT MIN(+idx) FROM ledger_leaves WHERE time_ms >= $4)"
                    .into(),
                vec![
                    FilterValue::Text("decision".into()),
                    FilterValue::Text("edr.isolate_host".into()),
                    FilterValue::Int(5),
                    FilterValue::Int(5),
                ]
            )
        );
        // A next page starts after the last leaf shown, past the first leaf of the time.
        let next = EventFilter {
            index_from: Some(9),
            ..some
        };
        assert_eq!(
            next.conditions(|n| format!("${n}")).0,
            "kind = $1 AND tool = $2 AND time_ms >= $3 AND idx >= $4"
        );
    }
}
