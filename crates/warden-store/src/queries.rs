//! The store's reads of what grows with use, written once for both backends, and the catalogue
//! of them that the query-plan test explains against a filled database of each kind.
//!
//! Design choice: the SQL of every listing (a page of leaves, of events by filter, of waiting
//! requests, of tainted agents; the active halts; the counts a page shows) is built here, with
//! PostgreSQL's `$n` placeholders ([`Dialect::sql`] makes SQLite's `?n` of them), and both
//! backends run exactly that text. [`listing_queries`] lists the same statements, built by the
//! same code, with values to bind: `tests/query_plans.rs` fills each kind of database with rows
//! enough for its planner to care, runs `EXPLAIN` on every one and fails on a full scan of a
//! large table or a sort of one, so a listing cannot quietly lose its index.
//!
//! INVARIANT: a read the store issues for a listing is either built here and in the catalogue,
//! or reads a whole table on purpose: [`crate::Store::pending`] (every request ever made, for
//! `approvals list --all`) and [`crate::Store::ledger_checkpoints`] (every checkpoint, for the
//! audit and `audit checkpoints`).

use crate::{ApprovalStatus, EventFilter, FilterValue, RequestFilter, WaitingAfter, taint_sql};
use std::borrow::Cow;

/// Which database a statement is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// A statement written with `$n` placeholders, as this database takes it (SQLite: `?n`).
    pub fn sql(self, shared: &str) -> Cow<'_, str> {
        match self {
            Self::Sqlite => Cow::Owned(shared.replace('$', "?")),
            Self::Postgres => Cow::Borrowed(shared),
        }
    }

    /// The placeholder of the `n`-th value (from 1).
    pub(crate) fn placeholder(self, n: usize) -> String {
        match self {
            Self::Sqlite => format!("?{n}"),
            Self::Postgres => format!("${n}"),
        }
    }

    /// A request's searched fields, one row each, as `value`: read from its search column (a
    /// JSON array of strings).
    pub(crate) fn searched(self) -> &'static str {
        match self {
            Self::Sqlite => "json_each(search)",
            Self::Postgres => "json_array_elements_text(search::json) AS searched(value)",
        }
    }
}

/// The columns a full leaf row is read with.
macro_rules! row_columns {
    () => {
        "idx, leaf, leaf_hash, leaf_mac, time_ms, kind, principal, session, tool, decision"
    };
}

/// The columns a halt is read with.
macro_rules! halt_columns {
    () => {
        "scope, set_by, reason, evidence, created_ms, resumed_by, resume_reason, resumed_ms"
    };
}

pub(crate) const HALT_COLUMNS: &str = halt_columns!();

/// `$1` first index, `$2` most leaves: a page of leaves by index (export, audit, proofs).
pub(crate) const LEDGER_LEAVES: &str =
    "SELECT idx, leaf, leaf_hash FROM ledger_leaves WHERE idx >= $1 ORDER BY idx LIMIT $2";

/// `$1` first index, `$2` most rows: a page of leaf rows, MACs and columns with them.
pub(crate) const LEDGER_ROWS: &str = concat!(
    "SELECT ",
    row_columns!(),
    " FROM ledger_leaves WHERE idx >= $1 ORDER BY idx LIMIT $2"
);

/// `$1` first index, `$2` index past the last: the sealed content beside a page of leaves.
pub(crate) const LEDGER_SEALED: &str =
    "SELECT idx, sealed FROM ledger_sealed WHERE idx >= $1 AND idx < $2 ORDER BY idx";

/// The newest checkpoint.
pub(crate) const LATEST_CHECKPOINT: &str =
    "SELECT size, root, note, time_ms FROM ledger_checkpoints ORDER BY seq DESC LIMIT 1";

/// `$1` status, `$2` most requests: the first page of waiting requests, through the
/// `pending_waiting` index in its order.
pub(crate) const WAITING_FIRST: &str = "SELECT status, body, revision FROM pending \
     WHERE status = $1 ORDER BY created_ms, id LIMIT $2";

/// `$1` status, `$2` creation time and `$3` id of the last request shown, `$4` most requests:
/// a page of waiting requests after another.
pub(crate) const WAITING_AFTER: &str = "SELECT status, body, revision FROM pending \
     WHERE status = $1 AND (created_ms, id) > ($2, $3) ORDER BY created_ms, id LIMIT $4";

/// `$1` status: how many requests wait, and since when.
pub(crate) const OPEN_REQUESTS: &str =
    "SELECT COUNT(*), MIN(created_ms) FROM pending WHERE status = $1";

/// The halts not yet resumed, oldest first.
pub(crate) const ACTIVE_HALTS: &str = concat!(
    "SELECT ",
    halt_columns!(),
    " FROM halts WHERE resumed_ms IS NULL ORDER BY id"
);

/// `$1` budget, `$2` scope, `$3` start of the window: the calls counted in it.
pub(crate) const BUDGET_USED: &str =
    "SELECT COUNT(*) FROM budget_uses WHERE budget = $1 AND scope = $2 AND time_ms > $3";

/// `Store::ledger_find`'s statement for `filter`, and its values (the limit last).
pub(crate) fn ledger_find(filter: &EventFilter, dialect: Dialect) -> (String, Vec<FilterValue>) {
    // Only the filters given become conditions, so the planner can use their indexes (`x IS
    // NULL OR x = ?` defeats every index and scans the whole ledger).
    let (conditions, mut values) = filter.conditions(|n| dialect.placeholder(n));
    let limit = filter
        .limit
        .map_or(i64::MAX, |l| i64::try_from(l).unwrap_or(i64::MAX));
    values.push(FilterValue::Int(limit));
    let sql = format!(
        "SELECT {} FROM ledger_leaves WHERE {conditions} ORDER BY {} LIMIT {}",
        row_columns!(),
        filter.order(),
        dialect.placeholder(values.len())
    );
    (sql, values)
}

/// `Store::requests`'s statement for `filter`, and its values.
pub(crate) fn requests(filter: &RequestFilter, dialect: Dialect) -> (String, Vec<FilterValue>) {
    let (conditions, values) = filter.conditions(dialect.searched(), |n| dialect.placeholder(n));
    let sql = format!(
        "SELECT status, body, revision FROM pending WHERE {conditions} ORDER BY created_ms, id{}",
        filter.limit_clause()
    );
    (sql, values)
}

/// `Store::count_requests`'s statement for `filter` (its page's `after` and `limit` aside),
/// and its values.
pub(crate) fn count_requests(
    filter: &RequestFilter,
    dialect: Dialect,
) -> (String, Vec<FilterValue>) {
    let all = RequestFilter {
        after: None,
        limit: None,
        ..filter.clone()
    };
    let (conditions, values) = all.conditions(dialect.searched(), |n| dialect.placeholder(n));
    (
        format!("SELECT COUNT(*) FROM pending WHERE {conditions}"),
        values,
    )
}

/// A read the store issues to list (or count for a listing) what grows with use, as the store
/// issues it, with values to bind.
#[derive(Debug, Clone)]
pub struct ListingQuery {
    /// Who lists with it, and what.
    pub name: &'static str,
    /// The statement, as the store prepares it for the dialect.
    pub sql: String,
    pub values: Vec<FilterValue>,
    /// Where the statement sorts rows an index found, because no index holds them in the
    /// order asked: why that set stays small whatever the tables hold. `None`: it sorts
    /// nothing.
    pub sorts: Option<&'static str>,
    /// The statement walks the whole table in its key's order with no condition, stopping at
    /// its limit: a scan that reads a page of rows (SQLite's plan says `SCAN` for it).
    pub walks_in_key_order: bool,
}

/// The values the catalogue binds: rows a filled test database holds, so that the planner
/// estimates with the selectivity a real one would see.
#[derive(Debug, Clone)]
pub struct Probe {
    /// An agent with leaves, requests and taint records.
    pub agent: String,
    /// A session with leaves.
    pub session: String,
    pub tool: String,
    pub category: String,
    /// A decision outcome that few decisions have (`hold`).
    pub decision: String,
    /// A leaf index inside the ledger, where a next page starts.
    pub index: u64,
    /// The ledger's size.
    pub size: u64,
    /// A window of time inside the ledger's.
    pub since_ms: i64,
    pub until_ms: i64,
    pub now_ms: i64,
    /// A request to page on from.
    pub after: WaitingAfter,
    /// Text the console's search looks for.
    pub text: String,
    pub budget: String,
    pub scope: String,
}

/// Every read the store issues to list or count what grows with use, in the dialect, with the
/// filters its callers give (the console, the CLI, the gateway's lookups, review sampling):
/// the statements `tests/query_plans.rs` explains.
pub fn listing_queries(dialect: Dialect, probe: &Probe) -> Vec<ListingQuery> {
    let text = |v: &str| Some(v.to_owned());
    let int = |n: u64| FilterValue::Int(i64::try_from(n).unwrap_or(i64::MAX));
    let fixed = |name, sql: &str, values, sorts| ListingQuery {
        name,
        sql: dialect.sql(sql).into_owned(),
        values,
        sorts,
        walks_in_key_order: false,
    };
    let pending = || FilterValue::Text(ApprovalStatus::Pending.as_str().to_owned());
    let in_force = "the agents' taint records in force, of one agent or of a page of agents: \
                    each record lasts a taint's hours, and a clear stops them";
    let mut out = vec![
        fixed(
            "ledger: a page of leaves (audit export, proofs, verify)",
            LEDGER_LEAVES,
            vec![int(probe.index), FilterValue::Int(1000)],
            None,
        ),
        fixed(
            "ledger: a page of rows (audit verify)",
            LEDGER_ROWS,
            vec![int(probe.index), FilterValue::Int(1000)],
            None,
        ),
        fixed(
            "ledger: the sealed content of a page",
            LEDGER_SEALED,
            vec![int(probe.index), int(probe.index.saturating_add(1000))],
            None,
        ),
        ListingQuery {
            walks_in_key_order: true,
            ..fixed(
                "ledger: the latest checkpoint (metrics, every append)",
                LATEST_CHECKPOINT,
                vec![],
                None,
            )
        },
        fixed(
            "console: a page of waiting requests, the first",
            WAITING_FIRST,
            vec![pending(), FilterValue::Int(51)],
            None,
        ),
        fixed(
            "console: a page of waiting requests after another",
            WAITING_AFTER,
            vec![
                pending(),
                FilterValue::Int(probe.after.created_ms),
                FilterValue::Text(probe.after.id.clone()),
                FilterValue::Int(51),
            ],
            None,
        ),
        fixed(
            "console, metrics: how many requests wait, since when",
            OPEN_REQUESTS,
            vec![pending()],
            None,
        ),
        fixed(
            "halts: the active ones (every call, console, `halt list`)",
            ACTIVE_HALTS,
            vec![],
            None,
        ),
        fixed(
            "budgets: the calls counted in a window (every counted call)",
            BUDGET_USED,
            vec![
                FilterValue::Text(probe.budget.clone()),
                FilterValue::Text(probe.scope.clone()),
                FilterValue::Int(probe.since_ms),
            ],
            None,
        ),
        fixed(
            "taint: an agent's taint in force (every call)",
            taint_sql::IN_FORCE,
            vec![
                FilterValue::Text(probe.agent.clone()),
                FilterValue::Int(probe.now_ms),
            ],
            Some(in_force),
        ),
        fixed(
            "taint: an agent's taint as a human is shown it",
            taint_sql::AGENT_IN_FORCE,
            vec![
                FilterValue::Int(probe.now_ms),
                FilterValue::Text(probe.agent.clone()),
            ],
            Some(in_force),
        ),
        fixed(
            "console, `taint list`: the first page of tainted agents",
            taint_sql::FIRST_IN_FORCE,
            vec![FilterValue::Int(probe.now_ms), FilterValue::Int(51)],
            Some(in_force),
        ),
        fixed(
            "console, `taint list`: a page of tainted agents after another",
            taint_sql::AFTER_IN_FORCE,
            vec![
                FilterValue::Int(probe.now_ms),
                FilterValue::Int(51),
                FilterValue::Text(probe.agent.clone()),
            ],
            Some(in_force),
        ),
    ];

    let decision = || text(warden_core::EventKind::Decision.as_str());
    let events = [
        (
            "audit show: the first page",
            EventFilter {
                limit: Some(1000),
                ..EventFilter::default()
            },
            true,
        ),
        (
            "audit verify: the lowest row",
            EventFilter {
                limit: Some(1),
                ..EventFilter::default()
            },
            true,
        ),
        (
            "audit show: a next page",
            EventFilter {
                index_from: Some(probe.index),
                limit: Some(1000),
                ..EventFilter::default()
            },
            false,
        ),
        (
            "audit show --kind: a next page",
            EventFilter {
                kind: decision(),
                index_from: Some(probe.index),
                limit: Some(1000),
                ..EventFilter::default()
            },
            false,
        ),
        (
            "audit show --session",
            EventFilter {
                session: text(&probe.session),
                limit: Some(1000),
                ..EventFilter::default()
            },
            false,
        ),
        (
            "audit show --principal",
            EventFilter {
                principal: text(&probe.agent),
                limit: Some(1000),
                ..EventFilter::default()
            },
            false,
        ),
        (
            "audit show --tool",
            EventFilter {
                tool: text(&probe.tool),
                limit: Some(1000),
                ..EventFilter::default()
            },
            false,
        ),
        (
            "audit show --decision",
            EventFilter {
                decision: text(&probe.decision),
                limit: Some(1000),
                ..EventFilter::default()
            },
            false,
        ),
        (
            "audit show --since",
            EventFilter {
                since_ms: Some(probe.since_ms),
                limit: Some(1000),
                ..EventFilter::default()
            },
            false,
        ),
        (
            "console: recent decisions, the first page",
            EventFilter {
                kind: decision(),
                limit: Some(51),
                newest_first: true,
                ..EventFilter::default()
            },
            false,
        ),
        (
            "console: recent decisions, an older page",
            EventFilter {
                kind: decision(),
                index_below: Some(probe.index),
                limit: Some(51),
                newest_first: true,
                ..EventFilter::default()
            },
            false,
        ),
        (
            "console: recent decisions of one agent",
            EventFilter {
                kind: decision(),
                principal: text(&probe.agent),
                limit: Some(51),
                newest_first: true,
                ..EventFilter::default()
            },
            false,
        ),
        (
            "console: recent decisions on one tool",
            EventFilter {
                kind: decision(),
                tool: text(&probe.tool),
                limit: Some(51),
                newest_first: true,
                ..EventFilter::default()
            },
            false,
        ),
        (
            "console: recent decisions with one outcome",
            EventFilter {
                kind: decision(),
                decision: text(&probe.decision),
                index_below: Some(probe.size),
                limit: Some(51),
                newest_first: true,
                ..EventFilter::default()
            },
            false,
        ),
        (
            "console: a session's trail, a next page",
            EventFilter {
                session: text(&probe.session),
                index_from: Some(probe.index),
                limit: Some(51),
                ..EventFilter::default()
            },
            false,
        ),
        (
            "console: a decision's review verdicts",
            EventFilter {
                kind: text(warden_core::EventKind::ReviewVerdict.as_str()),
                principal: text(&probe.agent),
                session: text(&probe.session),
                tool: text(&probe.tool),
                index_from: Some(probe.index),
                ..EventFilter::default()
            },
            false,
        ),
        (
            "review sample: a page of the decisions in the window",
            EventFilter {
                kind: decision(),
                since_ms: Some(probe.since_ms),
                until_ms: Some(probe.until_ms),
                index_from: Some(probe.index),
                index_below: Some(probe.size),
                limit: Some(500),
                ..EventFilter::default()
            },
            false,
        ),
        (
            "review sample: a page of the holds in the window",
            EventFilter {
                kind: decision(),
                decision: text(&probe.decision),
                since_ms: Some(probe.since_ms),
                until_ms: Some(probe.until_ms),
                index_below: Some(probe.size),
                limit: Some(500),
                ..EventFilter::default()
            },
            false,
        ),
        (
            "review sample, the gate's proof: a page of approval steps",
            EventFilter {
                kind: text(warden_core::EventKind::Approval.as_str()),
                index_from: Some(probe.index),
                index_below: Some(probe.size),
                limit: Some(500),
                ..EventFilter::default()
            },
            false,
        ),
        (
            "monitor: an agent's allowed decisions since a time",
            EventFilter {
                kind: decision(),
                principal: text(&probe.agent),
                decision: text("allow"),
                since_ms: Some(probe.since_ms),
                ..EventFilter::default()
            },
            false,
        ),
        (
            "review: the tightenings since the last read",
            EventFilter {
                kind: text(warden_core::EventKind::ReviewTightening.as_str()),
                index_from: Some(probe.index),
                ..EventFilter::default()
            },
            false,
        ),
        (
            "review: one decision's leaf",
            EventFilter {
                index_from: Some(probe.index),
                index_below: Some(probe.index.saturating_add(1)),
                ..EventFilter::default()
            },
            false,
        ),
    ];
    for (name, filter, walks_in_key_order) in events {
        let (sql, values) = ledger_find(&filter, dialect);
        out.push(ListingQuery {
            name,
            sql,
            values,
            sorts: None,
            walks_in_key_order,
        });
    }

    let open = "the open requests: pending, or approved and not yet used; each closes by its \
                expiry at the latest";
    let statuses = |s: &[ApprovalStatus]| s.to_vec();
    let waiting = || statuses(&[ApprovalStatus::Pending]);
    let page_after = Some(probe.after.clone());
    let requests = [
        (
            "gate: the approval bound to a held call's retry",
            RequestFilter {
                statuses: statuses(&[ApprovalStatus::Approved]),
                principal: text(&probe.agent),
                session: text(&probe.session),
                tool: text(&probe.tool),
                args_digest: text("digest"),
                policy_version: text("v1"),
                unexpired_at_ms: Some(probe.now_ms),
                ..RequestFilter::default()
            },
            Some(open),
        ),
        (
            "sweeper: the overdue open requests",
            RequestFilter {
                expired_at_ms: Some(probe.now_ms),
                ..RequestFilter::open()
            },
            Some(open),
        ),
        (
            "sweeper: the waiting requests about to expire",
            RequestFilter {
                statuses: waiting(),
                escalated: Some(false),
                unexpired_at_ms: Some(probe.now_ms),
                ..RequestFilter::default()
            },
            Some(open),
        ),
        (
            "halt: a session's open requests",
            RequestFilter {
                principal: text(&probe.agent),
                session: text(&probe.session),
                ..RequestFilter::open()
            },
            Some(open),
        ),
        (
            "halt: an agent's open requests",
            RequestFilter {
                principal: text(&probe.agent),
                ..RequestFilter::open()
            },
            Some(open),
        ),
        (
            "halt: a category's open requests",
            RequestFilter {
                category: text(&probe.category),
                ..RequestFilter::open()
            },
            Some(open),
        ),
        (
            "halt: every open request",
            RequestFilter::open(),
            Some(open),
        ),
        (
            "`approvals list`: a page of waiting requests",
            RequestFilter {
                statuses: waiting(),
                after: page_after.clone(),
                limit: Some(501),
                ..RequestFilter::default()
            },
            None,
        ),
        (
            "console: a page of the pending search",
            RequestFilter {
                statuses: waiting(),
                text: text(&probe.text),
                after: page_after.clone(),
                limit: Some(51),
                ..RequestFilter::default()
            },
            None,
        ),
        (
            "console: a page of one agent's waiting requests",
            RequestFilter {
                statuses: waiting(),
                principal: text(&probe.agent),
                limit: Some(51),
                ..RequestFilter::default()
            },
            None,
        ),
        (
            "console: a page of one tool's waiting requests",
            RequestFilter {
                statuses: waiting(),
                tool: text(&probe.tool),
                after: page_after,
                limit: Some(51),
                ..RequestFilter::default()
            },
            None,
        ),
        (
            "console: a page of one category's waiting requests",
            RequestFilter {
                statuses: waiting(),
                category: text(&probe.category),
                limit: Some(51),
                ..RequestFilter::default()
            },
            None,
        ),
    ];
    for (name, filter, sorts) in requests {
        let (sql, values) = self::requests(&filter, dialect);
        out.push(ListingQuery {
            name,
            sql,
            values,
            sorts,
            walks_in_key_order: false,
        });
    }
    let (sql, values) = count_requests(
        &RequestFilter {
            statuses: waiting(),
            text: text(&probe.text),
            ..RequestFilter::default()
        },
        dialect,
    );
    out.push(ListingQuery {
        name: "console: how many waiting requests the search matches",
        sql,
        values,
        sorts: None,
        walks_in_key_order: false,
    });
    out
}
