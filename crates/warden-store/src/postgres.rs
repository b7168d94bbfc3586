//! The PostgreSQL backend, for several gateway replicas that share one ledger, one approval
//! queue and one set of halts, budgets and pins.
//!
//! It keeps the SQLite backend's guarantees across processes and machines:
//! - ledger indices are assigned inside the append transaction while it holds the row lock of
//!   `ledger_head`, so appends from every replica form one dense sequence, and a writer that
//!   gets index `n` knows every leaf below `n` is committed (its catch-up can read them);
//! - a checkpoint is stored only if it is larger than every stored one, checked and inserted
//!   under a table lock, so stored sizes never decrease; each replica signs the tree of the
//!   leaves actually stored, a prefix of the one log, so no two checkpoints conflict;
//! - a budget's check-and-count runs under a transaction-scoped advisory lock on the
//!   (budget, scope) pair, so calls spread over replicas cannot exceed it;
//! - a pending request changes only by compare-and-swap on its status, and at most one halt
//!   per scope is active (a partial unique index);
//! - triggers refuse UPDATE, DELETE and TRUNCATE on leaves and checkpoints.
//!
//! The connection is plain or TLS that is always verified ([`PostgresTls`]): `require` and
//! `verify-ca` check the server's chain, `verify-full` its name too, and a connection that asks
//! for TLS never falls back to plain TCP.
//!
//! The client is the synchronous `postgres` crate behind a bounded `r2d2` pool. That client
//! runs its own small tokio runtime per call, which tokio forbids inside an async task, so
//! every call leaves the async context first ([`off_runtime`]): the store can be called from
//! any thread, like the SQLite one. Any database error — a lost connection included — is a
//! `StoreError`, and the gateway refuses the call.

use crate::migrations::{self, Backend};
use crate::queries::{self, Dialect, HALT_COLUMNS};
use crate::sqlite::{leaf_row_of, pack_sealed, to_i64, to_u64, unpack_sealed};
use crate::{
    AgentTaint, ApprovalStatus, ConsoleSessionRow, EventFilter, Halt, LeafRow, NewLeaf,
    OpenRequests, PendingRequest, PoolUse, RequestFilter, Store, StoreError, StoredCheckpoint,
    TaintInForce, TaintRecord, WaitingAfter, taint_sql,
};
use postgres::config::SslMode;
use postgres::{Client, GenericClient, Row};
use r2d2_postgres::PostgresConnectionManager;
use r2d2_postgres::r2d2::{self, Pool};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio_postgres_rustls::MakeRustlsConnect;
use warden_ledger::{Hash, LeafColumns, LeafKey, SealedContent, StoredLeaf};

fn sql_value(v: &crate::FilterValue) -> &(dyn postgres::types::ToSql + Sync) {
    match v {
        crate::FilterValue::Text(t) => t,
        crate::FilterValue::Int(i) => i,
        crate::FilterValue::Bool(b) => b,
    }
}

mod tls;
pub use tls::{ClientCertificate, NameCheck, PostgresTls, TlsRoots};

/// Advisory lock classes (the first key of `pg_advisory_xact_lock(int, int)`).
const LOCK_MIGRATIONS: i32 = 0x5744_0001;
const LOCK_BUDGET: i32 = 0x5744_0002;
const LOCK_TAINT: i32 = 0x5744_0003;

/// How long a call waits for a pooled connection before it fails (and the gateway refuses).
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where and how to connect.
#[derive(Clone)]
pub struct PostgresOptions {
    /// A libpq-style URL (`postgres://user@host:port/db?…`) or key-value string, without the
    /// password.
    pub url: String,
    /// The password, kept out of the URL (and out of every log line and `Debug`).
    pub password: Option<String>,
    /// Connections kept open at most.
    pub pool_size: u32,
    /// Plain, or TLS with the server's certificate checked.
    pub tls: PostgresTls,
}

impl std::fmt::Debug for PostgresOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresOptions")
            .field("url", &self.url)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("pool_size", &self.pool_size)
            .field("tls", &self.tls)
            .finish()
    }
}

/// PostgreSQL as the store, shared by every replica that opens the same database.
pub struct PostgresStore {
    /// Always `Some` until dropped (see `Drop`).
    pool: Option<Pool<PostgresConnectionManager<MakeRustlsConnect>>>,
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        // Closing a connection blocks on the client's runtime too.
        if let Some(pool) = self.pool.take() {
            off_runtime(move || drop(pool));
        }
    }
}

/// Runs `f` where the synchronous client may block: directly on a plain thread, after handing
/// the worker's other tasks off on a multi-threaded tokio runtime, or on a scoped thread
/// inside a current-thread runtime.
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Err(_) => f(),
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        Ok(_) => std::thread::scope(|s| match s.spawn(f).join() {
            Ok(value) => value,
            Err(panic) => std::panic::resume_unwind(panic),
        }),
    }
}

/// `localhost` or a loopback address: a link that never leaves the machine.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn pool_error(e: r2d2::Error) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn leaf_of(r: &Row) -> Result<StoredLeaf<Vec<u8>>, StoreError> {
    let idx: i64 = r.try_get(0)?;
    let hash: &[u8] = r.try_get(2)?;
    let leaf_hash = Hash::from_slice(hash)
        .map_err(|_| StoreError::Corrupt(format!("leaf {idx}: the stored hash is not 32 bytes")))?;
    Ok(StoredLeaf {
        index: to_u64(idx),
        data: r.try_get(1)?,
        leaf_hash,
    })
}

/// A row of `queries::LEDGER_ROWS` or `queries::ledger_find`.
fn row_of(r: &Row) -> Result<LeafRow, StoreError> {
    let hash: &[u8] = r.try_get(2)?;
    let mac: Option<&[u8]> = r.try_get(3)?;
    let columns = LeafColumns {
        time_ms: r.try_get(4)?,
        kind: r.try_get(5)?,
        principal: r.try_get(6)?,
        session: r.try_get(7)?,
        tool: r.try_get(8)?,
        decision: r.try_get(9)?,
    };
    leaf_row_of(r.try_get(0)?, r.try_get(1)?, hash, mac, columns)
}

fn checkpoint_of(r: &Row) -> Result<StoredCheckpoint, StoreError> {
    let size: i64 = r.try_get(0)?;
    let root: &[u8] = r.try_get(1)?;
    Ok(StoredCheckpoint {
        size: to_u64(size),
        root: Hash::from_slice(root).map_err(|_| {
            StoreError::Corrupt(format!("checkpoint {size}: the root is not 32 bytes"))
        })?,
        note: r.try_get(2)?,
        time_ms: r.try_get(3)?,
    })
}

fn halt_of(r: &Row) -> Result<Halt, StoreError> {
    let evidence: String = r.try_get(3)?;
    Ok(Halt {
        scope: r.try_get(0)?,
        set_by: r.try_get(1)?,
        reason: r.try_get(2)?,
        evidence: serde_json::from_str(&evidence)?,
        created_ms: r.try_get(4)?,
        resumed_by: r.try_get(5)?,
        resume_reason: r.try_get(6)?,
        resumed_ms: r.try_get(7)?,
    })
}

fn taint_of(r: &Row) -> Result<AgentTaint, StoreError> {
    Ok(AgentTaint {
        agent: r.try_get(0)?,
        session: r.try_get(1)?,
        level: r.try_get(2)?,
        source: r.try_get(3)?,
        at_ms: r.try_get(4)?,
        until_ms: r.try_get(5)?,
    })
}

fn in_force_of(r: &Row) -> Result<TaintInForce, StoreError> {
    let records: i64 = r.try_get(7)?;
    Ok(TaintInForce {
        taint: taint_of(r)?,
        newest: TaintRecord(r.try_get(6)?),
        records: u32::try_from(records)
            .map_err(|_| StoreError::Invalid(format!("`{records}` taint records in force")))?,
    })
}

/// Applies the migrations this database lacks (see `migrations`), one replica at a time.
fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1, 0)", &[&LOCK_MIGRATIONS])?;
    // No "already exists, skipping" notices in the log on every start.
    tx.batch_execute("SET LOCAL client_min_messages = warning")?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS warden_schema (version INTEGER NOT NULL);
         INSERT INTO warden_schema SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM warden_schema);",
    )?;
    tx.batch_execute(migrations::DIGESTS_TABLE)?;
    let version: i32 = tx
        .query_one("SELECT version FROM warden_schema", &[])?
        .try_get(0)?;
    let version = u32::try_from(version).map_err(|_| {
        StoreError::Corrupt(format!("the schema version {version} is out of range"))
    })?;
    let recorded = tx
        .query("SELECT name, sha256 FROM warden_migrations", &[])?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<BTreeMap<String, String>, StoreError>>()?;
    let plan = migrations::plan(Backend::Postgres, version, &recorded)?;
    let record = "INSERT INTO warden_migrations (name, sha256) VALUES ($1, $2)";
    for step in &plan.record {
        tx.execute(record, &[&step.name, &step.sha256])?;
    }
    for step in &plan.run {
        tx.batch_execute(step.sql)?;
        if step.name == migrations::PENDING_SEARCH {
            fill_search(&mut tx)?;
        }
        let version = i32::try_from(step.version).map_err(|_| {
            StoreError::Invalid(format!("schema version {} is out of range", step.version))
        })?;
        tx.execute("UPDATE warden_schema SET version = $1", &[&version])?;
        tx.execute(record, &[&step.name, &step.sha256])?;
    }
    tx.commit()?;
    Ok(())
}

/// Gives the requests stored before the search column theirs (see `migrations`).
fn fill_search(tx: &mut postgres::Transaction<'_>) -> Result<(), StoreError> {
    let tx = std::cell::RefCell::new(tx);
    crate::fill_search(
        |after| {
            tx.borrow_mut()
                .query(
                    "SELECT id, body FROM pending WHERE search IS NULL AND id > $1 \
                     ORDER BY id LIMIT 500",
                    &[&after],
                )?
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect()
        },
        |id, search| {
            tx.borrow_mut().execute(
                "UPDATE pending SET search = $1 WHERE id = $2",
                &[&search, &id],
            )?;
            Ok(())
        },
    )
}

impl PostgresStore {
    /// Connects (failing at once when the server cannot be reached or refuses the login) and
    /// applies pending migrations.
    pub fn open(options: &PostgresOptions) -> Result<Self, StoreError> {
        let mut config: postgres::Config = options.url.parse().map_err(|e| {
            StoreError::Setup(format!(
                "`store.url` is not a PostgreSQL connection string: {e}"
            ))
        })?;
        if let Some(password) = &options.password {
            config.password(password);
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CHECKOUT_TIMEOUT);
        }
        config.application_name("warden");
        // The TLS settings decide, whatever the URL says: never `prefer`, which falls back to
        // plain TCP when the server (or whoever answers for it) declines TLS.
        if options.tls == PostgresTls::Off {
            let hosts = config.get_hosts().iter().filter_map(|h| match h {
                postgres::config::Host::Tcp(name) => Some(name.clone()),
                _ => None,
            });
            // The client connects to `hostaddr` where one is given, whatever `host` says.
            let addrs = config.get_hostaddrs().iter().map(ToString::to_string);
            for name in hosts.chain(addrs) {
                if !is_loopback(&name) {
                    tracing::warn!(
                        host = %name,
                        "the PostgreSQL store is reached over plain TCP: the ledger, approvals \
                         and login cross the network readable and changeable; add \
                         `sslmode=verify-full` to `store.url`"
                    );
                }
            }
        }
        config.ssl_mode(match options.tls {
            PostgresTls::Off => SslMode::Disable,
            PostgresTls::Verified { .. } => SslMode::Require,
        });
        let tls = MakeRustlsConnect::new(tls::client_config(&options.tls)?);
        let manager = PostgresConnectionManager::new(config, tls);
        off_runtime(move || {
            // Connect once ourselves, so a wrong password or host is reported as such rather
            // than as a pool timeout.
            let mut client = r2d2::ManageConnection::connect(&manager).map_err(|e| {
                StoreError::Setup(format!("cannot connect: {}", StoreError::from(e)))
            })?;
            let migrated = migrate(&mut client);
            drop(client);
            migrated?;
            // No idle minimum: the pool opens a connection only for a caller waiting on one.
            // With a minimum, every checkout starts a replacement on the pool's own thread,
            // and a command that ends while that thread is in its TLS handshake exits under
            // it: the TLS library frees its random generator at exit and aborts the process
            // (SIGABRT after a command had succeeded, about one run in a hundred).
            let pool = Pool::builder()
                .max_size(options.pool_size.max(1))
                .min_idle(Some(0))
                .connection_timeout(CHECKOUT_TIMEOUT)
                .build(manager)
                .map_err(|e| StoreError::Setup(format!("cannot open the connection pool: {e}")))?;
            Ok(Self { pool: Some(pool) })
        })
    }

    /// The schema version now applied.
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        self.with(|c| {
            let v: i32 = c
                .query_one("SELECT version FROM warden_schema", &[])?
                .try_get(0)?;
            Ok(u32::try_from(v).unwrap_or(0))
        })
    }

    /// Schema versions this build knows.
    pub fn latest_schema_version() -> u32 {
        migrations::latest(Backend::Postgres)
    }

    fn with<T: Send>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, StoreError> + Send,
    ) -> Result<T, StoreError> {
        off_runtime(|| {
            let pool = self.pool.as_ref().ok_or(StoreError::Poisoned)?;
            let mut conn = pool.get().map_err(pool_error)?;
            f(&mut conn)
        })
    }
}

fn size_of(c: &mut impl GenericClient) -> Result<u64, StoreError> {
    let n: i64 = c
        .query_one("SELECT COALESCE(MAX(idx) + 1, 0) FROM ledger_leaves", &[])?
        .try_get(0)?;
    Ok(to_u64(n))
}

impl Store for PostgresStore {
    fn ledger_append(&self, leaves: &[NewLeaf], key: &LeafKey) -> Result<u64, StoreError> {
        self.with(|c| {
            let mut tx = c.transaction()?;
            // The sequencer: appends from every replica queue here, one transaction at a time.
            tx.execute("SELECT one FROM ledger_head FOR UPDATE", &[])?;
            let first = size_of(&mut tx)?;
            if leaves.is_empty() {
                return Ok(first);
            }
            let first_i = to_i64(first);
            let mut idx = Vec::with_capacity(leaves.len());
            let mut bytes = Vec::with_capacity(leaves.len());
            let mut hashes = Vec::with_capacity(leaves.len());
            let mut times = Vec::with_capacity(leaves.len());
            let mut kinds = Vec::with_capacity(leaves.len());
            let mut principals = Vec::with_capacity(leaves.len());
            let mut sessions = Vec::with_capacity(leaves.len());
            let mut tools = Vec::with_capacity(leaves.len());
            let mut decisions = Vec::with_capacity(leaves.len());
            let mut macs = Vec::with_capacity(leaves.len());
            let mut sealed_idx = Vec::new();
            let mut sealed = Vec::new();
            for (i, l) in (first_i..).zip(leaves) {
                idx.push(i);
                bytes.push(l.bytes.as_slice());
                hashes.push(l.hash.as_bytes().as_slice());
                let c = &l.columns;
                times.push(c.time_ms);
                kinds.push(c.kind.as_str());
                principals.push(c.principal.as_deref());
                sessions.push(c.session.as_deref());
                tools.push(c.tool.as_deref());
                decisions.push(c.decision.as_deref());
                macs.push(key.mac(to_u64(i), &l.hash).as_bytes().to_vec());
                if !l.sealed.is_empty() {
                    sealed_idx.push(i);
                    sealed.push(pack_sealed(&l.sealed));
                }
            }
            // One statement per table for the whole batch.
            tx.execute(
                "INSERT INTO ledger_leaves
                 (idx, leaf, leaf_hash, time_ms, kind, principal, session, tool, decision,
                  leaf_mac)
                 SELECT * FROM UNNEST($1::bigint[], $2::bytea[], $3::bytea[], $4::bigint[],
                                      $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                                      $10::bytea[])",
                &[
                    &idx,
                    &bytes,
                    &hashes,
                    &times,
                    &kinds,
                    &principals,
                    &sessions,
                    &tools,
                    &decisions,
                    &macs,
                ],
            )?;
            if !sealed.is_empty() {
                tx.execute(
                    "INSERT INTO ledger_sealed (idx, sealed)
                     SELECT * FROM UNNEST($1::bigint[], $2::bytea[])",
                    &[&sealed_idx, &sealed],
                )?;
            }
            tx.commit()?;
            Ok(first)
        })
    }

    fn ledger_size(&self) -> Result<u64, StoreError> {
        self.with(size_of)
    }

    fn ledger_leaves(
        &self,
        from: u64,
        limit: usize,
    ) -> Result<Vec<StoredLeaf<Vec<u8>>>, StoreError> {
        self.with(|c| {
            c.query(
                queries::LEDGER_LEAVES,
                &[&to_i64(from), &to_i64(limit as u64)],
            )?
            .iter()
            .map(leaf_of)
            .collect()
        })
    }

    fn ledger_rows(&self, from: u64, limit: usize) -> Result<Vec<LeafRow>, StoreError> {
        self.with(|c| {
            c.query(
                queries::LEDGER_ROWS,
                &[&to_i64(from), &to_i64(limit as u64)],
            )?
            .iter()
            .map(row_of)
            .collect()
        })
    }

    fn ledger_find(&self, filter: &EventFilter) -> Result<Vec<LeafRow>, StoreError> {
        let (sql, values) = queries::ledger_find(filter, Dialect::Postgres);
        self.with(move |c| {
            let params: Vec<&(dyn postgres::types::ToSql + Sync)> =
                values.iter().map(sql_value).collect();
            c.query(sql.as_str(), &params)?.iter().map(row_of).collect()
        })
    }

    fn ledger_sealed(&self, from: u64, to: u64) -> Result<Vec<(u64, SealedContent)>, StoreError> {
        self.with(|c| {
            let rows = c.query(queries::LEDGER_SEALED, &[&to_i64(from), &to_i64(to)])?;
            let mut out = Vec::new();
            for row in rows {
                let idx = to_u64(row.try_get(0)?);
                let packed: &[u8] = row.try_get(1)?;
                for content in unpack_sealed(packed).ok_or_else(|| {
                    StoreError::Corrupt(format!("leaf {idx}: sealed content is malformed"))
                })? {
                    out.push((idx, content));
                }
            }
            Ok(out)
        })
    }

    fn ledger_redact(&self, index: u64) -> Result<Vec<String>, StoreError> {
        self.with(|c| {
            let packed: Option<Vec<u8>> = c
                .query_opt(
                    "DELETE FROM ledger_sealed WHERE idx = $1 RETURNING sealed",
                    &[&to_i64(index)],
                )?
                .map(|r| r.try_get(0))
                .transpose()?;
            let mut fields: Vec<String> = packed
                .as_deref()
                .and_then(unpack_sealed)
                .unwrap_or_default()
                .into_iter()
                .map(|c| c.field)
                .collect();
            fields.sort();
            Ok(fields)
        })
    }

    fn ledger_add_checkpoint(&self, checkpoint: &StoredCheckpoint) -> Result<bool, StoreError> {
        self.with(|c| {
            let mut tx = c.transaction()?;
            // Readers go on; a second replica's check-and-insert waits for this one.
            tx.batch_execute("LOCK TABLE ledger_checkpoints IN SHARE ROW EXCLUSIVE MODE")?;
            let largest: Option<i64> = tx
                .query_one("SELECT MAX(size) FROM ledger_checkpoints", &[])?
                .try_get(0)?;
            if largest.is_some_and(|l| to_u64(l) >= checkpoint.size) {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO ledger_checkpoints (size, root, note, time_ms) VALUES ($1, $2, $3, $4)",
                &[
                    &to_i64(checkpoint.size),
                    &checkpoint.root.as_bytes().as_slice(),
                    &checkpoint.note,
                    &checkpoint.time_ms,
                ],
            )?;
            tx.commit()?;
            Ok(true)
        })
    }

    fn ledger_checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StoreError> {
        self.with(|c| {
            c.query(
                "SELECT size, root, note, time_ms FROM ledger_checkpoints ORDER BY seq",
                &[],
            )?
            .iter()
            .map(checkpoint_of)
            .collect()
        })
    }

    fn ledger_latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        self.with(|c| {
            c.query_opt(queries::LATEST_CHECKPOINT, &[])?
                .as_ref()
                .map(checkpoint_of)
                .transpose()
        })
    }

    fn create_pending(&self, request: &PendingRequest) -> Result<(), StoreError> {
        let body = serde_json::to_string(request)?;
        let search = crate::search_of(request)?;
        self.with(|c| {
            c.execute(
                "INSERT INTO pending (id, created_ms, status, body, revision, principal, session,
                     tool, args_digest, policy_version, category, expires_ms, escalated, search)
                 VALUES ($1, $2, $3, $4, 0, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                &[
                    &request.id,
                    &request.created_ms,
                    &request.status.as_str(),
                    &body,
                    &request.principal,
                    &request.session,
                    &request.tool,
                    &request.args_digest,
                    &request.policy_version,
                    &request.category,
                    &request.expires_ms,
                    &request.escalated,
                    &search,
                ],
            )?;
            Ok(())
        })
    }

    fn open_requests(&self) -> Result<OpenRequests, StoreError> {
        let (count, oldest): (i64, Option<i64>) = self.with(|c| {
            let row = c.query_one(queries::OPEN_REQUESTS, &[&ApprovalStatus::Pending.as_str()])?;
            Ok((row.try_get(0)?, row.try_get(1)?))
        })?;
        Ok(OpenRequests {
            count: to_u64(count),
            oldest_created_ms: oldest,
        })
    }

    fn pool_use(&self) -> Option<PoolUse> {
        let pool = self.pool.as_ref()?;
        let state = pool.state();
        Some(PoolUse {
            open: state.connections,
            idle: state.idle_connections,
            max: pool.max_size(),
        })
    }

    fn waiting(
        &self,
        after: Option<&WaitingAfter>,
        limit: usize,
    ) -> Result<Vec<PendingRequest>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let status = ApprovalStatus::Pending.as_str();
        let rows: Vec<(String, String, i64)> = self.with(|c| {
            let rows = match after {
                None => c.query(queries::WAITING_FIRST, &[&status, &limit])?,
                Some(after) => c.query(
                    queries::WAITING_AFTER,
                    &[&status, &after.created_ms, &after.id, &limit],
                )?,
            };
            rows.iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
                .collect()
        })?;
        rows.iter()
            .map(|(status, body, revision)| PendingRequest::from_row(status, body, *revision))
            .collect()
    }

    fn pending(&self) -> Result<Vec<PendingRequest>, StoreError> {
        let rows: Vec<(String, String, i64)> = self.with(|c| {
            c.query(
                "SELECT status, body, revision FROM pending ORDER BY created_ms, id",
                &[],
            )?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect()
        })?;
        rows.iter()
            .map(|(status, body, revision)| PendingRequest::from_row(status, body, *revision))
            .collect()
    }

    fn requests(&self, filter: &RequestFilter) -> Result<Vec<PendingRequest>, StoreError> {
        let (sql, values) = queries::requests(filter, Dialect::Postgres);
        let rows: Vec<(String, String, i64)> = self.with(|c| {
            let params: Vec<&(dyn postgres::types::ToSql + Sync)> =
                values.iter().map(sql_value).collect();
            c.query(sql.as_str(), &params)?
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
                .collect()
        })?;
        let mut found = Vec::with_capacity(rows.len());
        for (status, body, revision) in &rows {
            let r = PendingRequest::from_row(status, body, *revision)?;
            if filter.matches(&r) {
                found.push(r);
            }
        }
        Ok(found)
    }

    fn count_requests(&self, filter: &RequestFilter) -> Result<u64, StoreError> {
        let (sql, values) = queries::count_requests(filter, Dialect::Postgres);
        let n: i64 = self.with(|c| {
            let params: Vec<&(dyn postgres::types::ToSql + Sync)> =
                values.iter().map(sql_value).collect();
            Ok(c.query_one(sql.as_str(), &params)?.try_get(0)?)
        })?;
        Ok(to_u64(n))
    }

    fn pending_request(&self, id: &str) -> Result<Option<PendingRequest>, StoreError> {
        let row: Option<(String, String, i64)> = self.with(|c| {
            c.query_opt(
                "SELECT status, body, revision FROM pending WHERE id = $1",
                &[&id],
            )?
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .transpose()
        })?;
        row.map(|(status, body, revision)| PendingRequest::from_row(&status, &body, revision))
            .transpose()
    }

    fn update_pending(&self, request: &PendingRequest) -> Result<bool, StoreError> {
        let body = serde_json::to_string(request)?;
        let search = crate::search_of(request)?;
        self.with(|c| {
            // READ COMMITTED re-checks the WHERE clause on the row a concurrent update left,
            // so of two racing swaps from the same revision exactly one matches.
            let n = c.execute(
                "UPDATE pending SET status = $1, body = $2, revision = revision + 1,
                     principal = $5, session = $6, tool = $7, args_digest = $8,
                     policy_version = $9, category = $10, expires_ms = $11, escalated = $12,
                     search = $13
                 WHERE id = $3 AND revision = $4",
                &[
                    &request.status.as_str(),
                    &body,
                    &request.id,
                    &request.revision,
                    &request.principal,
                    &request.session,
                    &request.tool,
                    &request.args_digest,
                    &request.policy_version,
                    &request.category,
                    &request.expires_ms,
                    &request.escalated,
                    &search,
                ],
            )?;
            Ok(n == 1)
        })
    }

    fn prune_closed(&self, expired_before_ms: i64) -> Result<u64, StoreError> {
        let closed = crate::closed_statuses();
        self.with(|c| {
            Ok(c.execute(
                "DELETE FROM pending WHERE status = ANY($1) AND expires_ms < $2",
                &[&closed, &expired_before_ms],
            )?)
        })
    }

    fn budget_used(&self, budget: &str, scope: &str, since_ms: i64) -> Result<u32, StoreError> {
        self.with(|c| {
            let n: i64 = c
                .query_one(queries::BUDGET_USED, &[&budget, &scope, &since_ms])?
                .try_get(0)?;
            Ok(u32::try_from(n).unwrap_or(u32::MAX))
        })
    }

    fn consume_budget(
        &self,
        budget: &str,
        scope: &str,
        now_ms: i64,
        since_ms: i64,
        limit: u32,
    ) -> Result<bool, StoreError> {
        self.with(|c| {
            let mut tx = c.transaction()?;
            // Every replica counting against this (budget, scope) waits here; the lock ends
            // with the transaction.
            tx.execute(
                "SELECT pg_advisory_xact_lock($1, hashtext($2 || chr(31) || $3))",
                &[&LOCK_BUDGET, &budget, &scope],
            )?;
            let n: i64 = tx
                .query_one(queries::BUDGET_USED, &[&budget, &scope, &since_ms])?
                .try_get(0)?;
            if n >= i64::from(limit) {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO budget_uses (budget, scope, time_ms) VALUES ($1, $2, $3)",
                &[&budget, &scope, &now_ms],
            )?;
            tx.commit()?;
            Ok(true)
        })
    }

    fn add_halt(&self, halt: &Halt) -> Result<bool, StoreError> {
        let evidence = serde_json::to_string(&halt.evidence)?;
        self.with(|c| {
            let n = c.execute(
                "INSERT INTO halts (scope, set_by, reason, evidence, created_ms)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                &[
                    &halt.scope,
                    &halt.set_by,
                    &halt.reason,
                    &evidence,
                    &halt.created_ms,
                ],
            )?;
            Ok(n == 1)
        })
    }

    fn active_halts(&self) -> Result<Vec<Halt>, StoreError> {
        self.with(|c| {
            c.query(queries::ACTIVE_HALTS, &[])?
                .iter()
                .map(halt_of)
                .collect()
        })
    }

    fn resume_halt(
        &self,
        scope: &str,
        by: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<Option<Halt>, StoreError> {
        self.with(|c| {
            c.query_opt(
                &format!(
                    "UPDATE halts SET resumed_by = $2, resume_reason = $3, resumed_ms = $4
                     WHERE scope = $1 AND resumed_ms IS NULL RETURNING {HALT_COLUMNS}"
                ),
                &[&scope, &by, &reason, &now_ms],
            )?
            .as_ref()
            .map(halt_of)
            .transpose()
        })
    }

    fn raise_agent_taint(&self, taint: &AgentTaint) -> Result<TaintRecord, StoreError> {
        taint.check()?;
        self.with(|c| {
            let mut tx = c.transaction()?;
            // One record of an agent at a time, every replica: a number is taken and committed
            // before the next record of the agent takes its own, so a clear naming the newest
            // record it was shown cannot stop an older one that was not yet visible.
            tx.execute(
                "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                &[&LOCK_TAINT, &taint.agent],
            )?;
            let id: i64 = tx
                .query_one(
                    &format!(
                        "INSERT INTO agent_taints ({}) VALUES ($1, $2, $3, $4, $5, $6)
                         RETURNING id",
                        taint_sql::COLUMNS
                    ),
                    &[
                        &taint.agent,
                        &taint.session,
                        &taint.level,
                        &taint.source,
                        &taint.at_ms,
                        &taint.until_ms,
                    ],
                )?
                .try_get(0)?;
            tx.commit()?;
            Ok(TaintRecord(id))
        })
    }

    fn agent_taint(&self, agent: &str, now_ms: i64) -> Result<Option<AgentTaint>, StoreError> {
        self.with(|c| {
            c.query_opt(taint_sql::IN_FORCE, &[&agent, &now_ms])?
                .as_ref()
                .map(taint_of)
                .transpose()
        })
    }

    fn taint_in_force(&self, agent: &str, now_ms: i64) -> Result<Option<TaintInForce>, StoreError> {
        self.with(|c| {
            c.query_opt(taint_sql::AGENT_IN_FORCE, &[&now_ms, &agent])?
                .as_ref()
                .map(in_force_of)
                .transpose()
        })
    }

    fn clear_agent_taint(
        &self,
        agent: &str,
        through: TaintRecord,
        now_ms: i64,
        by: &str,
        reason: &str,
    ) -> Result<u32, StoreError> {
        self.with(|c| {
            // Whether a record counts is decided by its number against the stored clear, so a
            // read another replica records meanwhile needs no lock: numbered after `through`,
            // it still counts.
            let mut tx = c.transaction()?;
            let n: i64 = tx
                .query_one(taint_sql::COUNT_CLEARED, &[&agent, &through.0, &now_ms])?
                .try_get(0)?;
            tx.execute(
                "INSERT INTO agent_taint_clears (agent, cleared_ms, cleared_by, reason,
                                                 through_record)
                 VALUES ($1, $2, $3, $4, $5)",
                &[&agent, &now_ms, &by, &reason, &through.0],
            )?;
            tx.commit()?;
            Ok(u32::try_from(n).unwrap_or(u32::MAX))
        })
    }

    fn tainted_agents(
        &self,
        now_ms: i64,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<TaintInForce>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with(|c| {
            let rows = match after {
                None => c.query(taint_sql::FIRST_IN_FORCE, &[&now_ms, &limit])?,
                Some(after) => c.query(taint_sql::AFTER_IN_FORCE, &[&now_ms, &limit, &after])?,
            };
            rows.iter().map(in_force_of).collect()
        })
    }

    fn pin(&self, tool: &str) -> Result<Option<String>, StoreError> {
        self.with(|c| {
            Ok(
                c.query_opt("SELECT digest FROM tool_pins WHERE tool = $1", &[&tool])?
                    .map(|r| r.try_get(0))
                    .transpose()?,
            )
        })
    }

    fn set_pin(&self, tool: &str, digest: &str, by: &str, now_ms: i64) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO tool_pins (tool, digest, pinned_by, pinned_ms) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (tool) DO UPDATE
                 SET digest = EXCLUDED.digest, pinned_by = EXCLUDED.pinned_by,
                     pinned_ms = EXCLUDED.pinned_ms",
                &[&tool, &digest, &by, &now_ms],
            )?;
            Ok(())
        })
    }

    fn console_session_put(
        &self,
        session: &ConsoleSessionRow,
        now_ms: i64,
        per_approver: usize,
        max: usize,
    ) -> Result<(), StoreError> {
        let keep = i64::try_from(max.saturating_sub(1)).unwrap_or(i64::MAX);
        let keep_own = i64::try_from(per_approver.saturating_sub(1)).unwrap_or(i64::MAX);
        let key = session.key.as_slice();
        let mac = session.mac.as_slice();
        self.with(|c| {
            let mut tx = c.transaction()?;
            tx.execute(
                "DELETE FROM console_sessions WHERE expires_ms <= $1",
                &[&now_ms],
            )?;
            tx.execute(
                "DELETE FROM console_sessions WHERE approver_id = $1 AND key NOT IN \
                 (SELECT key FROM console_sessions WHERE approver_id = $1 \
                  ORDER BY expires_ms DESC LIMIT $2)",
                &[&session.approver_id, &keep_own],
            )?;
            tx.execute(
                "DELETE FROM console_sessions WHERE key NOT IN \
                 (SELECT key FROM console_sessions ORDER BY expires_ms DESC LIMIT $1)",
                &[&keep],
            )?;
            tx.execute(
                "INSERT INTO console_sessions \
                 (key, approver_id, approver_name, csrf, expires_ms, mac) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &key,
                    &session.approver_id,
                    &session.approver_name,
                    &session.csrf,
                    &session.expires_ms,
                    &mac,
                ],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    fn console_session(&self, key: &[u8; 32]) -> Result<Option<ConsoleSessionRow>, StoreError> {
        let key = key.as_slice();
        self.with(|c| {
            let row = c.query_opt(
                "SELECT key, approver_id, approver_name, csrf, expires_ms, mac \
                 FROM console_sessions WHERE key = $1",
                &[&key],
            )?;
            row.map(|r| -> Result<_, StoreError> {
                Ok((
                    r.try_get::<_, Vec<u8>>(0)?,
                    r.try_get::<_, String>(1)?,
                    r.try_get::<_, String>(2)?,
                    r.try_get::<_, String>(3)?,
                    r.try_get::<_, i64>(4)?,
                    r.try_get::<_, Vec<u8>>(5)?,
                ))
            })
            .transpose()?
            .map(crate::console_session_of)
            .transpose()
        })
    }

    fn console_session_delete(&self, key: &[u8; 32]) -> Result<bool, StoreError> {
        let key = key.as_slice();
        self.with(|c| Ok(c.execute("DELETE FROM console_sessions WHERE key = $1", &[&key])? > 0))
    }
}
