//! Every listing reads through an index, on both backends, as the store issues it.
//!
//! Each backend's database is filled with tens of thousands of leaves, requests, halts, taint
//! records and budget counts, shaped as a busy deployment's are (a few agents and tools, many
//! sessions, most requests answered, most halts resumed, most taint expired), and PostgreSQL
//! analyses it, so its planner chooses with statistics. Then every statement of
//! [`listing_queries`] (built by the code the store runs them from) is explained, and a plan
//! fails if it reads a large table from end to end (a sequential scan) or sorts one: it may
//! sort only the small set its [`ListingQuery::sorts`] names, found through an index.
//! SQLite is not analysed: warden never runs `ANALYZE` on its own database, so its plans are
//! the ones chosen without statistics.
//!
//! PostgreSQL comes from `WARDEN_TEST_PG_URL` (a `postgres://user@host:port/db` URL of a role
//! that may create databases) and `WARDEN_TEST_PG_PASSWORD`; `./scripts/test` starts a
//! throwaway server and sets both. Without them the PostgreSQL half fails: it never skips.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::Value;
use warden_store::{
    Dialect, FilterValue, ListingQuery, PostgresOptions, PostgresStore, PostgresTls, Probe,
    SqliteStore, WaitingAfter, listing_queries,
};

/// The tables that grow with use, each filled with this many rows.
const LEAVES: i64 = 60_000;
const CHECKPOINTS: i64 = 5_000;
const REQUESTS: i64 = 30_000;
/// Of the requests, the last ones are still open.
const WAITING: i64 = 100;
const APPROVED: i64 = 50;
const HALTS: i64 = 5_000;
const ACTIVE_HALTS: i64 = 5;
const TAINTS: i64 = 20_000;
const CLEARS: i64 = 20_000;
const BUDGET_USES: i64 = 60_000;

/// Every table above: a plan may not read one from end to end.
const LARGE: [&str; 8] = [
    "ledger_leaves",
    "ledger_sealed",
    "ledger_checkpoints",
    "pending",
    "halts",
    "agent_taints",
    "agent_taint_clears",
    "budget_uses",
];

/// The most rows a sort the catalogue allows may be estimated to sort: more than any page, far
/// fewer than a large table.
const SMALL_SORT: f64 = 2_000.0;

const T0: i64 = 1_700_000_000_000;

fn probe() -> Probe {
    let window_from = LEAVES * 3 / 4;
    Probe {
        agent: "agent-1".into(),
        session: format!("session-{}", LEAVES / 2 / 20),
        tool: "tool-3".into(),
        category: "cat-3".into(),
        decision: "hold".into(),
        index: u64::try_from(LEAVES / 2).unwrap(),
        size: u64::try_from(LEAVES).unwrap(),
        since_ms: T0 + window_from * 1000,
        until_ms: T0 + (window_from + 2_000) * 1000,
        now_ms: T0 + (TAINTS - 100) * 1000,
        after: WaitingAfter {
            created_ms: T0 + (REQUESTS - WAITING / 2) * 1000,
            id: format!("req-{}", REQUESTS - WAITING / 2),
        },
        text: "isolate".into(),
        budget: "b-1".into(),
        scope: "agent:agent-1".into(),
    }
}

/// `INSERT INTO table (columns) SELECT values` for `i` from 0 to `rows - 1`, in the dialect;
/// `BLOB32` in `values` is 32 zero bytes.
fn fill(dialect: Dialect, table: &str, columns: &str, values: &str, rows: i64) -> String {
    match dialect {
        Dialect::Sqlite => format!(
            "WITH RECURSIVE g(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM g WHERE i < {last}) \
             INSERT INTO {table} ({columns}) SELECT {values} FROM g;",
            last = rows - 1,
            values = values.replace("BLOB32", "zeroblob(32)"),
        ),
        Dialect::Postgres => format!(
            "INSERT INTO {table} ({columns}) SELECT {values} \
             FROM generate_series(0, {last}) AS g(i);",
            last = rows - 1,
            values = values.replace("BLOB32", "decode(repeat('00', 32), 'hex')"),
        ),
    }
}

/// The statements that fill a database as a busy deployment's is filled.
fn filling(d: Dialect) -> String {
    [
        // A few agents and tools, sessions of twenty leaves; nearly half the leaves are
        // decisions, one in fifty of them a hold.
        fill(
            d,
            "ledger_leaves",
            "idx, leaf, leaf_hash, time_ms, kind, principal, session, tool, decision",
            &format!(
                "i, BLOB32, BLOB32, {T0} + i * 1000,
                 CASE WHEN i % 5000 = 0 THEN 'review_tightening'
                      WHEN i % 100 < 45 THEN 'decision'
                      WHEN i % 100 < 90 THEN 'outcome'
                      WHEN i % 100 < 95 THEN 'approval'
                      WHEN i % 100 < 97 THEN 'review_verdict'
                      ELSE 'finding' END,
                 'agent-' || (i % 5), 'session-' || (i / 20), 'tool-' || (i % 20),
                 CASE WHEN i % 100 >= 45 THEN NULL
                      WHEN i % 50 = 0 THEN 'hold'
                      WHEN i % 7 = 0 THEN 'deny'
                      ELSE 'allow' END"
            ),
            LEAVES,
        ),
        fill(
            d,
            "ledger_sealed",
            "idx, sealed",
            "2 * i, BLOB32",
            LEAVES / 2,
        ),
        fill(
            d,
            "ledger_checkpoints",
            "size, root, note, time_ms",
            &format!("(i + 1) * 10, BLOB32, '', {T0} + i * 10000"),
            CHECKPOINTS,
        ),
        // Nearly every request answered long ago; the last ones open.
        fill(
            d,
            "pending",
            "id, created_ms, status, body, revision, principal, session, tool, args_digest,
             policy_version, category, expires_ms, escalated, search",
            &format!(
                "'req-' || i, {T0} + i * 1000,
                 CASE WHEN i >= {waiting_from} THEN 'pending'
                      WHEN i >= {approved_from} THEN 'approved'
                      WHEN i % 3 = 0 THEN 'denied'
                      WHEN i % 3 = 1 THEN 'executed'
                      ELSE 'expired' END,
                 '{{}}', 0, 'agent-' || (i % 5), 'session-' || (i / 3), 'tool-' || (i % 20),
                 'digest-' || i, 'v1', 'cat-' || (i % 10), {T0} + i * 1000 + 3600000, FALSE,
                 '[\"req-' || i || '\", \"tool-' || (i % 20) || '\"]'",
                waiting_from = REQUESTS - WAITING,
                approved_from = REQUESTS - WAITING - APPROVED,
            ),
            REQUESTS,
        ),
        // Halts resumed long ago, and a few in force.
        fill(
            d,
            "halts",
            "scope, set_by, reason, evidence, created_ms, resumed_by, resume_reason, resumed_ms",
            &format!(
                "'agent:agent-' || i, 'dana', 'drill', '{{}}', {T0} + i * 1000,
                 CASE WHEN i < {ACTIVE_HALTS} THEN NULL ELSE 'dana' END,
                 CASE WHEN i < {ACTIVE_HALTS} THEN NULL ELSE 'done' END,
                 CASE WHEN i < {ACTIVE_HALTS} THEN NULL ELSE {T0} + i * 1000 + 60000 END"
            ),
            HALTS,
        ),
        // Taint that lasts five minutes: a few hundred records in force at the probe's now.
        fill(
            d,
            "agent_taints",
            "agent, session, level, source, at_ms, until_ms",
            &format!(
                "'agent-' || (i % 500), 'session-' || i, i % 101, 'mail.read_message',
                 {T0} + i * 1000, {T0} + i * 1000 + 300000"
            ),
            TAINTS,
        ),
        fill(
            d,
            "agent_taint_clears",
            "agent, cleared_ms, cleared_by, reason, through_record",
            &format!("'agent-' || (i % 500), {T0} + i * 10000, 'dana', 'read', i * 10"),
            CLEARS,
        ),
        fill(
            d,
            "budget_uses",
            "budget, scope, time_ms",
            &format!("'b-' || (i % 10), 'agent:agent-' || (i % 5), {T0} + i * 1000"),
            BUDGET_USES,
        ),
    ]
    .concat()
}

/// What is wrong with one statement's plan, if anything.
fn judge(q: &ListingQuery, problems: Vec<String>) -> Option<String> {
    (!problems.is_empty()).then(|| format!("{}: {}\n  {}", q.name, problems.join("; "), q.sql))
}

/// Fails with every statement whose plan reads a large table from end to end or sorts more
/// than a small set.
fn assert_all_indexed(found: Vec<Option<String>>, plans: &[String]) {
    // Seen with `--nocapture`.
    eprintln!("{}", plans.join("\n"));
    let found: Vec<String> = found.into_iter().flatten().collect();
    assert!(
        found.is_empty(),
        "{} of {} listings are not served by an index:\n{}\n\nplans:\n{}",
        found.len(),
        plans.len(),
        found.join("\n"),
        plans.join("\n")
    );
}

mod sqlite {
    use super::*;
    use rusqlite::types::ToSqlOutput;

    fn bind(v: &FilterValue) -> ToSqlOutput<'_> {
        match v {
            FilterValue::Text(t) => ToSqlOutput::from(t.as_str()),
            FilterValue::Int(i) => ToSqlOutput::from(*i),
            FilterValue::Bool(b) => ToSqlOutput::from(*b),
        }
    }

    /// The lines of SQLite's plan of `q`.
    fn plan(c: &rusqlite::Connection, q: &ListingQuery) -> Vec<String> {
        let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {}", q.sql)).unwrap();
        let values: Vec<ToSqlOutput<'_>> = q.values.iter().map(bind).collect();
        stmt.query_map(rusqlite::params_from_iter(values), |r| {
            r.get::<_, String>(3)
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
    }

    /// `SCAN t` or `SEARCH t` with no index reads the table from end to end, unless it walks
    /// the table in its key's order to a limit; `USE TEMP B-TREE` sorts.
    fn problems(q: &ListingQuery, plan: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        for line in plan {
            // `SEARCH t` with no index named is the walk that reads a lowest or highest key.
            let scanned = line
                .strip_prefix("SCAN ")
                .or_else(|| line.strip_prefix("SEARCH "))
                .map(|rest| rest.split_whitespace().next().unwrap_or_default());
            if let Some(table) = scanned
                && LARGE.contains(&table)
                && !line.contains(" USING ")
                && !q.walks_in_key_order
            {
                out.push(format!("scans {table}"));
            }
            if line.contains("USE TEMP B-TREE") && q.sorts.is_none() {
                out.push(format!("sorts ({line})"));
            }
        }
        out
    }

    fn filled() -> (tempfile::TempDir, rusqlite::Connection) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        drop(SqliteStore::open(&path).unwrap());
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(&format!("BEGIN; {} COMMIT;", filling(Dialect::Sqlite)))
            .unwrap();
        let leaves: i64 = c
            .query_row("SELECT COUNT(*) FROM ledger_leaves", [], |r| r.get(0))
            .unwrap();
        assert_eq!(leaves, LEAVES);
        (dir, c)
    }

    #[test]
    fn every_listing_reads_through_an_index() {
        let (_dir, c) = filled();
        let queries = listing_queries(Dialect::Sqlite, &probe());
        let mut plans = Vec::new();
        let found = queries
            .iter()
            .map(|q| {
                let p = plan(&c, q);
                plans.push(format!("{}: {}", q.name, p.join("; ")));
                judge(q, problems(q, &p))
            })
            .collect();
        assert_all_indexed(found, &plans);
    }

    /// The check can fail: without the index that serves the waiting requests, their pages
    /// scan the requests, answered ones and all.
    #[test]
    fn a_listing_without_its_index_fails_the_check() {
        let (_dir, c) = filled();
        c.execute_batch(
            "DROP INDEX pending_waiting; DROP INDEX pending_binding; DROP INDEX pending_due;",
        )
        .unwrap();
        let queries = listing_queries(Dialect::Sqlite, &probe());
        let waiting = queries
            .iter()
            .find(|q| {
                q.name
                    .starts_with("console: a page of waiting requests, the first")
            })
            .unwrap();
        let p = plan(&c, waiting);
        assert!(
            problems(waiting, &p).iter().any(|p| p == "scans pending"),
            "{p:?}"
        );
    }
}

mod postgres {
    use super::*;
    use ::postgres::types::{FromSql, ToSql, Type};

    /// A fresh database on the test server, dropped afterwards.
    struct TestDatabase {
        admin: ::postgres::Config,
        name: String,
        options: PostgresOptions,
    }

    impl TestDatabase {
        fn create() -> Self {
            let url = std::env::var("WARDEN_TEST_PG_URL").unwrap_or_else(|_| {
                panic!(
                    "the PostgreSQL query plans need a server: set WARDEN_TEST_PG_URL (and \
                     WARDEN_TEST_PG_PASSWORD), or run ./scripts/test, which starts one"
                )
            });
            let password = std::env::var("WARDEN_TEST_PG_PASSWORD").ok();
            let mut admin: ::postgres::Config = url.parse().unwrap();
            if let Some(p) = &password {
                admin.password(p);
            }
            let name = format!(
                "warden_plans_{}_{:016x}",
                std::process::id(),
                rand::random::<u64>()
            );
            admin
                .connect(::postgres::NoTls)
                .unwrap()
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .unwrap();
            let (base, _db) = url
                .rsplit_once('/')
                .expect("WARDEN_TEST_PG_URL ends in /<database>");
            let options = PostgresOptions {
                url: format!("{base}/{name}"),
                password,
                pool_size: 1,
                tls: PostgresTls::Off,
            };
            Self {
                admin,
                name,
                options,
            }
        }

        fn client(&self) -> ::postgres::Client {
            let mut config: ::postgres::Config = self.options.url.parse().unwrap();
            if let Some(p) = &self.options.password {
                config.password(p);
            }
            config.connect(::postgres::NoTls).unwrap()
        }
    }

    impl Drop for TestDatabase {
        fn drop(&mut self) {
            if let Ok(mut admin) = self.admin.connect(::postgres::NoTls) {
                let _ = admin.batch_execute(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                ));
            }
        }
    }

    /// `EXPLAIN (FORMAT JSON)`'s one value, as text.
    struct Json(String);

    impl<'a> FromSql<'a> for Json {
        fn from_sql(
            _: &Type,
            raw: &'a [u8],
        ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
            Ok(Self(std::str::from_utf8(raw)?.to_owned()))
        }

        fn accepts(ty: &Type) -> bool {
            *ty == Type::JSON
        }
    }

    fn bind(v: &FilterValue) -> &(dyn ToSql + Sync) {
        match v {
            FilterValue::Text(t) => t,
            FilterValue::Int(i) => i,
            FilterValue::Bool(b) => b,
        }
    }

    /// PostgreSQL's plan of `q` with its values bound, as the store runs it.
    fn plan(c: &mut ::postgres::Client, q: &ListingQuery) -> Value {
        let values: Vec<&(dyn ToSql + Sync)> = q.values.iter().map(bind).collect();
        let row = c
            .query_one(&format!("EXPLAIN (FORMAT JSON) {}", q.sql), &values)
            .unwrap_or_else(|e| panic!("{}: {e}\n{}", q.name, q.sql));
        let Json(text) = row.get(0);
        let plan: Value = serde_json::from_str(&text).unwrap();
        plan[0]["Plan"].clone()
    }

    /// A sequential scan of a large table reads it from end to end; a sort that the planner
    /// expects to take more than a small set sorts a large part of a table. (PostgreSQL
    /// estimates rows from the statistics, so a sort of a few rows an index found, the rows
    /// of one session, is allowed here whether or not the catalogue names it.)
    fn problems(node: &Value, out: &mut Vec<String>) {
        let kind = node["Node Type"].as_str().unwrap_or_default();
        let relation = node["Relation Name"].as_str().unwrap_or_default();
        if kind == "Seq Scan" && LARGE.contains(&relation) {
            out.push(format!("scans {relation}"));
        }
        if kind.ends_with("Sort") {
            let rows = node["Plan Rows"].as_f64().unwrap_or(f64::MAX);
            if rows > SMALL_SORT {
                out.push(format!("sorts {rows} rows ({kind})"));
            }
        }
        for child in node["Plans"].as_array().into_iter().flatten() {
            problems(child, out);
        }
    }

    /// A filled, analysed database and a client of it.
    fn filled() -> (TestDatabase, ::postgres::Client) {
        let db = TestDatabase::create();
        drop(PostgresStore::open(&db.options).unwrap());
        let mut c = db.client();
        c.batch_execute(&format!(
            "BEGIN; {} COMMIT; ANALYZE;",
            filling(Dialect::Postgres)
        ))
        .unwrap();
        let leaves: i64 = c
            .query_one("SELECT COUNT(*) FROM ledger_leaves", &[])
            .unwrap()
            .get(0);
        assert_eq!(leaves, LEAVES);
        (db, c)
    }

    #[test]
    fn every_listing_reads_through_an_index() {
        let (_db, mut c) = filled();
        let queries = listing_queries(Dialect::Postgres, &probe());
        let mut plans = Vec::new();
        let found = queries
            .iter()
            .map(|q| {
                let p = plan(&mut c, q);
                plans.push(format!("{}: {p}", q.name));
                let mut out = Vec::new();
                problems(&p, &mut out);
                judge(q, out)
            })
            .collect();
        assert_all_indexed(found, &plans);
    }

    /// The check can fail: without the index that serves the waiting requests, their pages
    /// read every request, answered ones and all.
    #[test]
    fn a_listing_without_its_index_fails_the_check() {
        let (_db, mut c) = filled();
        c.batch_execute(
            "DROP INDEX pending_waiting; DROP INDEX pending_binding; DROP INDEX pending_due; \
             ANALYZE pending;",
        )
        .unwrap();
        let queries = listing_queries(Dialect::Postgres, &probe());
        let waiting = queries
            .iter()
            .find(|q| {
                q.name
                    .starts_with("console: a page of waiting requests, the first")
            })
            .unwrap();
        let mut out = Vec::new();
        problems(&plan(&mut c, waiting), &mut out);
        assert!(out.iter().any(|p| p == "scans pending"), "{out:?}");
    }
}
