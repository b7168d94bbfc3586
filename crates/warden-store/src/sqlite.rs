//! The SQLite backend.

use crate::migrations::{self, Backend};
use crate::queries::{self, Dialect, HALT_COLUMNS};
use crate::{
    AgentTaint, ApprovalStatus, ConsoleSessionRow, EventFilter, Halt, LeafRow, NewLeaf,
    OpenRequests, PendingRequest, RequestFilter, Store, StoreError, StoredCheckpoint, TaintInForce,
    TaintRecord, WaitingAfter, taint_sql,
};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use warden_ledger::{Hash, LeafColumns, LeafKey, LeafMac, Salt, SealedContent, StoredLeaf};

/// A shared statement as SQLite takes it.
fn sqlite_sql(sql: &str) -> String {
    Dialect::Sqlite.sql(sql).into_owned()
}

fn sql_value(v: &crate::FilterValue) -> &dyn rusqlite::ToSql {
    match v {
        crate::FilterValue::Text(t) => t,
        crate::FilterValue::Int(i) => i,
        crate::FilterValue::Bool(b) => b,
    }
}

fn halt_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Halt, String)> {
    Ok((
        Halt {
            scope: r.get(0)?,
            set_by: r.get(1)?,
            reason: r.get(2)?,
            evidence: serde_json::Value::Null,
            created_ms: r.get(4)?,
            resumed_by: r.get(5)?,
            resume_reason: r.get(6)?,
            resumed_ms: r.get(7)?,
        },
        r.get(3)?,
    ))
}

fn taint_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AgentTaint> {
    Ok(AgentTaint {
        agent: r.get(0)?,
        session: r.get(1)?,
        level: r.get(2)?,
        source: r.get(3)?,
        at_ms: r.get(4)?,
        until_ms: r.get(5)?,
    })
}

/// A row of `taint_sql::FIRST_IN_FORCE`; a count that does not fit is an error, not a guess.
fn in_force_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<TaintInForce, StoreError>> {
    let records: i64 = r.get(7)?;
    Ok(Ok(TaintInForce {
        taint: taint_row(r)?,
        newest: TaintRecord(r.get(6)?),
        records: match u32::try_from(records) {
            Ok(n) => n,
            Err(_) => {
                return Ok(Err(StoreError::Invalid(format!(
                    "`{records}` taint records in force"
                ))));
            }
        },
    }))
}

/// SQLite as the store. A file-backed store keeps a second connection for the ledger, so the
/// ledger's group commits (one fsync each) never queue behind budget and pin queries, and the
/// other way round; SQLite's own lock orders their writes.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    ledger: Option<Mutex<Connection>>,
    _checkpointer: Option<WalCheckpointer>,
    /// Set by the checkpointer when the WAL is long: the ledger writer then checkpoints after
    /// its next commit (see `WalCheckpointer`).
    restart_wal: Arc<AtomicBool>,
}

/// Copies the WAL into the database file from its own thread and connection, so the ledger's
/// group commits never pay for it. (SQLite's automatic checkpoint runs inside whichever commit
/// crosses 1,000 WAL pages: a burst of writes and an fsync on the hot path. Measured: about
/// 15% of the append cost.) The ledger connection has automatic checkpoints turned off.
struct WalCheckpointer {
    stop: Option<std::sync::mpsc::SyncSender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl WalCheckpointer {
    const EVERY: std::time::Duration = std::time::Duration::from_millis(250);
    /// WAL length (in pages) past which the writer is asked to restart it: 16 MiB of 4 KiB pages.
    const RESTART_AT_FRAMES: i64 = 4096;

    fn start(path: &Path, restart: Arc<AtomicBool>) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let (stop, stopped) = std::sync::mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("warden-wal".into())
            .spawn(move || {
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(Self::EVERY)
                {
                    let frames = conn
                        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(1));
                    match frames {
                        // Under steady load this checkpoint never finds the WAL fully copied
                        // when the next write starts (the writer has always added more), so
                        // SQLite never starts it over and it grows without bound (seen: 3 GB in
                        // two minutes, its index mapped into memory). Once it is long, the
                        // ledger writer checkpoints the little that is left itself, right
                        // after a commit, so its next commit starts the WAL from the beginning.
                        Ok(frames) if frames > Self::RESTART_AT_FRAMES => {
                            restart.store(true, Ordering::Relaxed);
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
                    }
                }
            })
            .map_err(|e| StoreError::Open {
                path: path.display().to_string(),
                message: format!("cannot start the WAL checkpointer: {e}"),
            })?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for WalCheckpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

pub(crate) fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

pub(crate) fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// `(u16 field length, field, 32-byte salt, u32 content length, content)` per sealed field,
/// lengths big-endian.
pub(crate) fn pack_sealed(sealed: &[SealedContent]) -> Vec<u8> {
    let mut out = Vec::new();
    for s in sealed {
        let field = s.field.as_bytes();
        let content = s.content.as_bytes();
        out.extend_from_slice(&u16::try_from(field.len()).unwrap_or(u16::MAX).to_be_bytes());
        out.extend_from_slice(field.get(..usize::from(u16::MAX)).unwrap_or(field));
        out.extend_from_slice(&s.salt.0);
        out.extend_from_slice(
            &u32::try_from(content.len())
                .unwrap_or(u32::MAX)
                .to_be_bytes(),
        );
        out.extend_from_slice(content);
    }
    out
}

pub(crate) fn unpack_sealed(mut packed: &[u8]) -> Option<Vec<SealedContent>> {
    fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        let (head, rest) = bytes.split_at_checked(n)?;
        *bytes = rest;
        Some(head)
    }
    let mut out = Vec::new();
    while !packed.is_empty() {
        let len = u16::from_be_bytes(take(&mut packed, 2)?.try_into().ok()?);
        let field = std::str::from_utf8(take(&mut packed, usize::from(len))?).ok()?;
        let salt = Salt::from_slice(take(&mut packed, 32)?)?;
        let len = u32::from_be_bytes(take(&mut packed, 4)?.try_into().ok()?);
        let content = std::str::from_utf8(take(&mut packed, usize::try_from(len).ok()?)?).ok()?;
        out.push(SealedContent {
            field: field.to_owned(),
            salt,
            content: content.to_owned(),
        });
    }
    Some(out)
}

type RawLeaf = (i64, Vec<u8>, Vec<u8>);

fn leaf_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawLeaf> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
}

fn collect_leaves(
    rows: impl Iterator<Item = rusqlite::Result<RawLeaf>>,
) -> Result<Vec<StoredLeaf<Vec<u8>>>, StoreError> {
    let mut out = Vec::new();
    for row in rows {
        let (idx, data, hash) = row?;
        let leaf_hash = Hash::from_slice(&hash).map_err(|_| {
            StoreError::Corrupt(format!("leaf {idx}: the stored hash is not 32 bytes"))
        })?;
        out.push(StoredLeaf {
            index: to_u64(idx),
            data,
            leaf_hash,
        });
    }
    Ok(out)
}

/// A row of `queries::LEDGER_ROWS` or `queries::ledger_find`.
fn full_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<LeafRow, StoreError>> {
    let idx: i64 = r.get(0)?;
    let hash: Vec<u8> = r.get(2)?;
    let mac: Option<Vec<u8>> = r.get(3)?;
    let columns = LeafColumns {
        time_ms: r.get(4)?,
        kind: r.get(5)?,
        principal: r.get(6)?,
        session: r.get(7)?,
        tool: r.get(8)?,
        decision: r.get(9)?,
    };
    let data: Vec<u8> = r.get(1)?;
    Ok(leaf_row_of(idx, data, &hash, mac.as_deref(), columns))
}

/// A [`LeafRow`] from its stored parts; a hash or MAC of the wrong length is corrupt.
pub(crate) fn leaf_row_of(
    idx: i64,
    data: Vec<u8>,
    hash: &[u8],
    mac: Option<&[u8]>,
    columns: LeafColumns,
) -> Result<LeafRow, StoreError> {
    // warden writes leaves from index 0 up; a row below it was put there by someone else, and
    // is never read as leaf 0.
    let index = u64::try_from(idx).map_err(|_| {
        StoreError::Corrupt(format!(
            "a ledger row has index {idx}: warden never writes one below 0; the store was \
             written to by something other than warden"
        ))
    })?;
    let leaf_hash = Hash::from_slice(hash)
        .map_err(|_| StoreError::Corrupt(format!("leaf {idx}: the stored hash is not 32 bytes")))?;
    let mac = mac
        .map(|m| {
            LeafMac::from_slice(m).ok_or_else(|| {
                StoreError::Corrupt(format!("leaf {idx}: the stored MAC is not 32 bytes"))
            })
        })
        .transpose()?;
    Ok(LeafRow {
        leaf: StoredLeaf {
            index,
            data,
            leaf_hash,
        },
        mac,
        columns,
    })
}

fn checkpoint_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<StoredCheckpoint, StoreError>> {
    let size: i64 = r.get(0)?;
    let root: Vec<u8> = r.get(1)?;
    let note: String = r.get(2)?;
    let time_ms: i64 = r.get(3)?;
    Ok(Hash::from_slice(&root)
        .map_err(|_| StoreError::Corrupt(format!("checkpoint {size}: the root is not 32 bytes")))
        .map(|root| StoredCheckpoint {
            size: to_u64(size),
            root,
            note,
            time_ms,
        }))
}

/// Creates `dir` (and its parents) readable by this user only; an existing folder is left as
/// it is (it may be shared on purpose).
fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// The database and its WAL and shared-memory files are readable and writable by warden's user
/// alone: they hold every held call's arguments and the gate's state. A new database is created
/// so (SQLite gives its WAL the database's mode); one created more openly by an earlier version
/// is tightened.
fn private_file(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
        for suffix in ["", "-wal", "-shm"] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            let file = Path::new(&name);
            match std::fs::metadata(file) {
                Ok(m) if m.permissions().mode() & 0o077 != 0 => std::fs::set_permissions(
                    file,
                    std::fs::Permissions::from_mode(m.permissions().mode() & 0o700),
                )?,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let open_error = |e: std::io::Error| StoreError::Open {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            private_dir(dir).map_err(open_error)?;
        }
        private_file(path).map_err(open_error)?;
        let conn = Connection::open(path)?;
        let mut store = Self::init(conn)?;
        let ledger = Connection::open(path)?;
        Self::configure(&ledger)?;
        ledger.pragma_update(None, "wal_autocheckpoint", 0)?;
        // After a restart, the WAL file is cut back to this size rather than kept at its peak.
        ledger.pragma_update(None, "journal_size_limit", 16 * 1024 * 1024)?;
        store.ledger = Some(Mutex::new(ledger));
        store._checkpointer = Some(WalCheckpointer::start(path, store.restart_wal.clone())?);
        Ok(store)
    }

    /// The schema version now applied (SQLite's `user_version`).
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        self.with(|c| {
            let v: i64 = c.pragma_query_value(None, "user_version", |r| r.get(0))?;
            Ok(u32::try_from(v).unwrap_or(0))
        })
    }

    /// Schema versions this build knows.
    pub fn latest_schema_version() -> u32 {
        migrations::latest(Backend::Sqlite)
    }

    pub fn in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn configure(conn: &Connection) -> Result<(), StoreError> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // What is deleted is overwritten, not left in free space for anyone with the file to
        // read: a redacted value, an answered request past its retention.
        conn.pragma_update(None, "secure_delete", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(())
    }

    fn init(mut conn: Connection) -> Result<Self, StoreError> {
        Self::configure(&conn)?;
        Self::migrate(&mut conn)?;
        Ok(Self {
            conn: Mutex::new(conn),
            ledger: None,
            _checkpointer: None,
            restart_wal: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Applies the migrations this database lacks (see `migrations`), in one transaction that
    /// holds the write lock from the start, so processes opening it together do not race.
    fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
        // Up to date (the usual open: every CLI command, every replica's start): checked in a
        // read transaction, so a command opening a store busy with writes does not queue for
        // the write lock. Otherwise the write lock is taken and everything is read again.
        let read = conn.transaction()?;
        let plan = Self::schema_plan(&read)?;
        read.finish()?;
        if plan.record.is_empty() && plan.run.is_empty() {
            return Ok(());
        }
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(migrations::DIGESTS_TABLE)?;
        let plan = Self::schema_plan(&tx)?;
        let record = "INSERT INTO warden_migrations (name, sha256) VALUES (?1, ?2)";
        for step in &plan.record {
            tx.execute(record, params![step.name, step.sha256])?;
        }
        for step in &plan.run {
            tx.execute_batch(step.sql)?;
            if step.name == migrations::PENDING_SEARCH {
                crate::fill_search(
                    |after| {
                        let mut stmt = tx.prepare(
                            "SELECT id, body FROM pending WHERE search IS NULL AND id > ?1 \
                             ORDER BY id LIMIT 500",
                        )?;
                        let rows = stmt.query_map([after], |r| Ok((r.get(0)?, r.get(1)?)))?;
                        Ok(rows.collect::<Result<Vec<_>, _>>()?)
                    },
                    |id, search| {
                        tx.execute(
                            "UPDATE pending SET search = ?1 WHERE id = ?2",
                            params![search, id],
                        )?;
                        Ok(())
                    },
                )?;
            }
            tx.pragma_update(None, "user_version", i64::from(step.version))?;
            tx.execute(record, params![step.name, step.sha256])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// What opening must do to the schema, read in `tx`: the version and the recorded digests
    /// (none where the table of them is not there yet).
    fn schema_plan(tx: &rusqlite::Transaction<'_>) -> Result<migrations::Plan, StoreError> {
        let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let version = u32::try_from(version).map_err(|_| {
            StoreError::Corrupt(format!("the schema version {version} is out of range"))
        })?;
        let kept: i64 = tx.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'warden_migrations'",
            [],
            |r| r.get(0),
        )?;
        let recorded: BTreeMap<String, String> = if kept == 0 {
            BTreeMap::new()
        } else {
            let mut stmt = tx.prepare("SELECT name, sha256 FROM warden_migrations")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        Ok(migrations::plan(Backend::Sqlite, version, &recorded)?)
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut guard = self.conn.lock().map_err(|_| StoreError::Poisoned)?;
        f(&mut guard)
    }

    /// Runs `f` on the ledger's connection (the only one for an in-memory store).
    fn with_ledger<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let lock = self.ledger.as_ref().unwrap_or(&self.conn);
        let mut guard = lock.lock().map_err(|_| StoreError::Poisoned)?;
        f(&mut guard)
    }
}

/// After a redaction: the write-ahead log copied into the database and cut to nothing, so the
/// frames that carried the sealed row when it was written are gone from the disk too
/// (`secure_delete` has overwritten the row in the database's pages). A reader holding the
/// log open makes SQLite wait (the busy timeout); one that still holds it after a few tries
/// leaves the redaction refused as incomplete, with the values already deleted.
fn clear_journal(c: &Connection) -> Result<(), StoreError> {
    for _ in 0..5 {
        // (busy, frames in the log, frames copied): busy 0 means the log was cut.
        let busy: i64 = c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
        if busy == 0 {
            return Ok(());
        }
    }
    Err(StoreError::Unavailable(
        "the sealed values are deleted, but readers kept the write-ahead log from being cleared: a copy may remain in it until warden stops".into(),
    ))
}

impl Store for SqliteStore {
    fn ledger_append(&self, leaves: &[NewLeaf], key: &LeafKey) -> Result<u64, StoreError> {
        self.with_ledger(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let first: i64 = tx
                .prepare_cached("SELECT COALESCE(MAX(idx) + 1, 0) FROM ledger_leaves")?
                .query_row([], |r| r.get(0))?;
            {
                let mut leaf = tx.prepare_cached(
                    "INSERT INTO ledger_leaves
                     (idx, leaf, leaf_hash, time_ms, kind, principal, session, tool, decision,
                      leaf_mac)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )?;
                let mut sealed =
                    tx.prepare_cached("INSERT INTO ledger_sealed (idx, sealed) VALUES (?1, ?2)")?;
                for (idx, l) in (first..).zip(leaves) {
                    leaf.execute(params![
                        idx,
                        l.bytes,
                        l.hash.as_bytes().as_slice(),
                        l.columns.time_ms,
                        l.columns.kind,
                        l.columns.principal,
                        l.columns.session,
                        l.columns.tool,
                        l.columns.decision,
                        key.mac(to_u64(idx), &l.hash).as_bytes().as_slice()
                    ])?;
                    if !l.sealed.is_empty() {
                        sealed.execute(params![idx, pack_sealed(&l.sealed)])?;
                    }
                }
            }
            tx.commit()?;
            if self.restart_wal.swap(false, Ordering::Relaxed)
                && let Err(e) = c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
            {
                tracing::warn!(error = %e, "WAL checkpoint before restart failed");
            }
            Ok(to_u64(first))
        })
    }

    fn ledger_size(&self) -> Result<u64, StoreError> {
        self.with_ledger(|c| {
            let n: i64 = c
                .prepare_cached("SELECT COALESCE(MAX(idx) + 1, 0) FROM ledger_leaves")?
                .query_row([], |r| r.get(0))?;
            Ok(to_u64(n))
        })
    }

    fn ledger_leaves(
        &self,
        from: u64,
        limit: usize,
    ) -> Result<Vec<StoredLeaf<Vec<u8>>>, StoreError> {
        self.with_ledger(|c| {
            let mut stmt = c.prepare_cached(&sqlite_sql(queries::LEDGER_LEAVES))?;
            let rows = stmt.query_map(params![to_i64(from), to_i64(limit as u64)], leaf_row)?;
            collect_leaves(rows)
        })
    }

    fn ledger_rows(&self, from: u64, limit: usize) -> Result<Vec<LeafRow>, StoreError> {
        self.with_ledger(|c| {
            let mut stmt = c.prepare_cached(&sqlite_sql(queries::LEDGER_ROWS))?;
            let rows = stmt.query_map(params![to_i64(from), to_i64(limit as u64)], full_row)?;
            rows.map(|r| r?).collect()
        })
    }

    fn ledger_find(&self, filter: &EventFilter) -> Result<Vec<LeafRow>, StoreError> {
        let (sql, values) = queries::ledger_find(filter, Dialect::Sqlite);
        self.with_ledger(|c| {
            let mut stmt = c.prepare_cached(&sql)?;
            let params: Vec<&dyn rusqlite::ToSql> = values.iter().map(sql_value).collect();
            let rows = stmt.query_map(params.as_slice(), full_row)?;
            rows.map(|r| r?).collect()
        })
    }

    fn ledger_sealed(&self, from: u64, to: u64) -> Result<Vec<(u64, SealedContent)>, StoreError> {
        self.with_ledger(|c| {
            let mut stmt = c.prepare_cached(&sqlite_sql(queries::LEDGER_SEALED))?;
            let mut rows = stmt.query(params![to_i64(from), to_i64(to)])?;
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                let idx = to_u64(row.get(0)?);
                let packed = row.get_ref(1)?.as_blob().map_err(|_| {
                    StoreError::Corrupt(format!("leaf {idx}: sealed content is not a blob"))
                })?;
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
        self.with_ledger(|c| {
            let packed: Option<Vec<u8>> = c
                .query_row(
                    "DELETE FROM ledger_sealed WHERE idx = ?1 RETURNING sealed",
                    params![to_i64(index)],
                    |r| r.get(0),
                )
                .optional()?;
            if packed.is_some() {
                clear_journal(c)?;
            }
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
        self.with_ledger(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let largest: Option<i64> =
                tx.query_row("SELECT MAX(size) FROM ledger_checkpoints", [], |r| r.get(0))?;
            if largest.is_some_and(|l| to_u64(l) >= checkpoint.size) {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO ledger_checkpoints (size, root, note, time_ms) VALUES (?1, ?2, ?3, ?4)",
                params![
                    to_i64(checkpoint.size),
                    checkpoint.root.as_bytes().as_slice(),
                    checkpoint.note,
                    checkpoint.time_ms
                ],
            )?;
            tx.commit()?;
            Ok(true)
        })
    }

    fn ledger_checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StoreError> {
        self.with_ledger(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT size, root, note, time_ms FROM ledger_checkpoints ORDER BY seq",
            )?;
            let rows = stmt.query_map([], checkpoint_row)?;
            let mut out = Vec::new();
            for row in rows {
                out.push(row??);
            }
            Ok(out)
        })
    }

    fn ledger_latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        self.with_ledger(|c| {
            c.query_row(&sqlite_sql(queries::LATEST_CHECKPOINT), [], checkpoint_row)
                .optional()?
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
                 VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                params![
                    request.id,
                    request.created_ms,
                    request.status.as_str(),
                    body,
                    request.principal,
                    request.session,
                    request.tool,
                    request.args_digest,
                    request.policy_version,
                    request.category,
                    request.expires_ms,
                    request.escalated,
                    search,
                ],
            )?;
            Ok(())
        })
    }

    fn open_requests(&self) -> Result<OpenRequests, StoreError> {
        let (count, oldest): (i64, Option<i64>) = self.with(|c| {
            Ok(c.query_row(
                &sqlite_sql(queries::OPEN_REQUESTS),
                [ApprovalStatus::Pending.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?)
        })?;
        Ok(OpenRequests {
            count: to_u64(count),
            oldest_created_ms: oldest,
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
            let row = |r: &rusqlite::Row<'_>| Ok((r.get(0)?, r.get(1)?, r.get(2)?));
            let rows = match after {
                None => c
                    .prepare_cached(&sqlite_sql(queries::WAITING_FIRST))?
                    .query_map(params![status, limit], row)?
                    .collect::<Result<Vec<_>, _>>()?,
                Some(after) => c
                    .prepare_cached(&sqlite_sql(queries::WAITING_AFTER))?
                    .query_map(params![status, after.created_ms, after.id, limit], row)?
                    .collect::<Result<Vec<_>, _>>()?,
            };
            Ok(rows)
        })?;
        rows.iter()
            .map(|(status, body, revision)| PendingRequest::from_row(status, body, *revision))
            .collect()
    }

    fn pending(&self) -> Result<Vec<PendingRequest>, StoreError> {
        let rows: Vec<(String, String, i64)> = self.with(|c| {
            let mut stmt =
                c.prepare("SELECT status, body, revision FROM pending ORDER BY created_ms, id")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })?;
        rows.iter()
            .map(|(status, body, revision)| PendingRequest::from_row(status, body, *revision))
            .collect()
    }

    fn requests(&self, filter: &RequestFilter) -> Result<Vec<PendingRequest>, StoreError> {
        let (sql, values) = queries::requests(filter, Dialect::Sqlite);
        let rows: Vec<(String, String, i64)> = self.with(|c| {
            let mut stmt = c.prepare_cached(&sql)?;
            let params: Vec<&dyn rusqlite::ToSql> = values.iter().map(sql_value).collect();
            let rows =
                stmt.query_map(params.as_slice(), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
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
        let (sql, values) = queries::count_requests(filter, Dialect::Sqlite);
        let n: i64 = self.with(|c| {
            let mut stmt = c.prepare_cached(&sql)?;
            let params: Vec<&dyn rusqlite::ToSql> = values.iter().map(sql_value).collect();
            Ok(stmt.query_row(params.as_slice(), |r| r.get(0))?)
        })?;
        Ok(to_u64(n))
    }

    fn pending_request(&self, id: &str) -> Result<Option<PendingRequest>, StoreError> {
        let row: Option<(String, String, i64)> = self.with(|c| {
            Ok(c.query_row(
                "SELECT status, body, revision FROM pending WHERE id = ?1",
                params![id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?)
        })?;
        row.map(|(status, body, revision)| PendingRequest::from_row(&status, &body, revision))
            .transpose()
    }

    fn update_pending(&self, request: &PendingRequest) -> Result<bool, StoreError> {
        let body = serde_json::to_string(request)?;
        let search = crate::search_of(request)?;
        self.with(|c| {
            let n = c.execute(
                "UPDATE pending SET status = ?1, body = ?2, revision = revision + 1,
                     principal = ?5, session = ?6, tool = ?7, args_digest = ?8,
                     policy_version = ?9, category = ?10, expires_ms = ?11, escalated = ?12,
                     search = ?13
                 WHERE id = ?3 AND revision = ?4",
                params![
                    request.status.as_str(),
                    body,
                    request.id,
                    request.revision,
                    request.principal,
                    request.session,
                    request.tool,
                    request.args_digest,
                    request.policy_version,
                    request.category,
                    request.expires_ms,
                    request.escalated,
                    search,
                ],
            )?;
            Ok(n == 1)
        })
    }

    fn prune_closed(&self, expired_before_ms: i64) -> Result<u64, StoreError> {
        let closed = crate::closed_statuses();
        let marks: Vec<String> = (1..=closed.len()).map(|i| format!("?{i}")).collect();
        let sql = format!(
            "DELETE FROM pending WHERE status IN ({}) AND expires_ms < ?{}",
            marks.join(", "),
            closed.len() + 1
        );
        let mut values: Vec<&dyn rusqlite::ToSql> =
            closed.iter().map(|s| s as &dyn rusqlite::ToSql).collect();
        values.push(&expired_before_ms);
        self.with(|c| Ok(u64::try_from(c.execute(&sql, values.as_slice())?).unwrap_or(u64::MAX)))
    }

    fn budget_used(&self, budget: &str, scope: &str, since_ms: i64) -> Result<u32, StoreError> {
        self.with(|c| {
            let n: i64 = c
                .prepare_cached(&sqlite_sql(queries::BUDGET_USED))?
                .query_row(params![budget, scope, since_ms], |r| r.get(0))?;
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
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let n: i64 = tx
                .prepare_cached(&sqlite_sql(queries::BUDGET_USED))?
                .query_row(params![budget, scope, since_ms], |r| r.get(0))?;
            if n >= i64::from(limit) {
                return Ok(false);
            }
            tx.prepare_cached(
                "INSERT INTO budget_uses (budget, scope, time_ms) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![budget, scope, now_ms])?;
            tx.commit()?;
            Ok(true)
        })
    }

    fn add_halt(&self, halt: &Halt) -> Result<bool, StoreError> {
        let evidence = serde_json::to_string(&halt.evidence)?;
        self.with(|c| {
            let n = c.execute(
                "INSERT OR IGNORE INTO halts (scope, set_by, reason, evidence, created_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    halt.scope,
                    halt.set_by,
                    halt.reason,
                    evidence,
                    halt.created_ms
                ],
            )?;
            Ok(n == 1)
        })
    }

    fn active_halts(&self) -> Result<Vec<Halt>, StoreError> {
        let rows = self.with(|c| {
            let mut stmt = c.prepare_cached(&sqlite_sql(queries::ACTIVE_HALTS))?;
            let rows = stmt
                .query_map([], halt_row)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })?;
        rows.into_iter()
            .map(|(mut h, evidence)| {
                h.evidence = serde_json::from_str(&evidence)?;
                Ok(h)
            })
            .collect()
    }

    fn resume_halt(
        &self,
        scope: &str,
        by: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<Option<Halt>, StoreError> {
        let row = self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let row = tx
                .query_row(
                    &format!(
                        "SELECT {HALT_COLUMNS} FROM halts WHERE scope = ?1 AND resumed_ms IS NULL"
                    ),
                    params![scope],
                    halt_row,
                )
                .optional()?;
            if row.is_some() {
                tx.execute(
                    "UPDATE halts SET resumed_by = ?2, resume_reason = ?3, resumed_ms = ?4
                     WHERE scope = ?1 AND resumed_ms IS NULL",
                    params![scope, by, reason, now_ms],
                )?;
            }
            tx.commit()?;
            Ok(row)
        })?;
        let Some((mut h, evidence)) = row else {
            return Ok(None);
        };
        h.evidence = serde_json::from_str(&evidence)?;
        h.resumed_by = Some(by.to_string());
        h.resume_reason = Some(reason.to_string());
        h.resumed_ms = Some(now_ms);
        Ok(Some(h))
    }

    fn raise_agent_taint(&self, taint: &AgentTaint) -> Result<TaintRecord, StoreError> {
        taint.check()?;
        self.with(|c| {
            // One writer at a time: a record's number is the highest yet, and it is stored
            // (visible) before a later one is numbered.
            let id: i64 = c
                .prepare_cached(&format!(
                    "INSERT INTO agent_taints ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
                    taint_sql::COLUMNS
                ))?
                .query_row(
                    params![
                        taint.agent,
                        taint.session,
                        taint.level,
                        taint.source,
                        taint.at_ms,
                        taint.until_ms
                    ],
                    |r| r.get(0),
                )?;
            Ok(TaintRecord(id))
        })
    }

    fn agent_taint(&self, agent: &str, now_ms: i64) -> Result<Option<AgentTaint>, StoreError> {
        self.with(|c| {
            Ok(c.prepare_cached(&sqlite_sql(taint_sql::IN_FORCE))?
                .query_row(params![agent, now_ms], taint_row)
                .optional()?)
        })
    }

    fn taint_in_force(&self, agent: &str, now_ms: i64) -> Result<Option<TaintInForce>, StoreError> {
        self.with(|c| {
            c.prepare_cached(&sqlite_sql(taint_sql::AGENT_IN_FORCE))?
                .query_row(params![now_ms, agent], in_force_row)
                .optional()?
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
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let n: i64 = tx
                .prepare_cached(&sqlite_sql(taint_sql::COUNT_CLEARED))?
                .query_row(params![agent, through.0, now_ms], |r| r.get(0))?;
            tx.prepare_cached(
                "INSERT INTO agent_taint_clears (agent, cleared_ms, cleared_by, reason,
                                                 through_record)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![agent, now_ms, by, reason, through.0])?;
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
        self.with(|c| match after {
            None => {
                let mut stmt = c.prepare_cached(&sqlite_sql(taint_sql::FIRST_IN_FORCE))?;
                let rows = stmt.query_map(params![now_ms, limit], in_force_row)?;
                rows.collect::<Result<Result<Vec<_>, _>, _>>()?
            }
            Some(after) => {
                let mut stmt = c.prepare_cached(&sqlite_sql(taint_sql::AFTER_IN_FORCE))?;
                let rows = stmt.query_map(params![now_ms, limit, after], in_force_row)?;
                rows.collect::<Result<Result<Vec<_>, _>, _>>()?
            }
        })
    }

    fn pin(&self, tool: &str) -> Result<Option<String>, StoreError> {
        self.with(|c| {
            Ok(c.query_row(
                "SELECT digest FROM tool_pins WHERE tool = ?1",
                params![tool],
                |r| r.get(0),
            )
            .optional()?)
        })
    }

    fn set_pin(&self, tool: &str, digest: &str, by: &str, now_ms: i64) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO tool_pins (tool, digest, pinned_by, pinned_ms) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(tool) DO UPDATE SET digest = ?2, pinned_by = ?3, pinned_ms = ?4",
                params![tool, digest, by, now_ms],
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
            let tx = c.transaction()?;
            tx.execute(
                "DELETE FROM console_sessions WHERE expires_ms <= ?1",
                params![now_ms],
            )?;
            tx.execute(
                "DELETE FROM console_sessions WHERE approver_id = ?1 AND key NOT IN \
                 (SELECT key FROM console_sessions WHERE approver_id = ?1 \
                  ORDER BY expires_ms DESC LIMIT ?2)",
                params![session.approver_id, keep_own],
            )?;
            tx.execute(
                "DELETE FROM console_sessions WHERE key NOT IN \
                 (SELECT key FROM console_sessions ORDER BY expires_ms DESC LIMIT ?1)",
                params![keep],
            )?;
            tx.execute(
                "INSERT INTO console_sessions \
                 (key, approver_id, approver_name, csrf, expires_ms, mac) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    key,
                    session.approver_id,
                    session.approver_name,
                    session.csrf,
                    session.expires_ms,
                    mac
                ],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    fn console_session(&self, key: &[u8; 32]) -> Result<Option<ConsoleSessionRow>, StoreError> {
        let key = key.as_slice();
        self.with(|c| {
            let row = c
                .query_row(
                    "SELECT key, approver_id, approver_name, csrf, expires_ms, mac \
                     FROM console_sessions WHERE key = ?1",
                    params![key],
                    |r| {
                        Ok((
                            r.get::<_, Vec<u8>>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, i64>(4)?,
                            r.get::<_, Vec<u8>>(5)?,
                        ))
                    },
                )
                .optional()?;
            row.map(crate::console_session_of).transpose()
        })
    }

    fn console_session_delete(&self, key: &[u8; 32]) -> Result<bool, StoreError> {
        let key = key.as_slice();
        self.with(|c| {
            Ok(c.execute("DELETE FROM console_sessions WHERE key = ?1", params![key])? > 0)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_ledger::{NoteSigner, leaf_hash};

    fn key() -> LeafKey {
        LeafKey::derive(
            &NoteSigner::generate("warden.test/ledger", &mut rand::rngs::OsRng).unwrap(),
        )
    }

    fn leaf(text: &str) -> NewLeaf {
        NewLeaf {
            bytes: text.as_bytes().to_vec(),
            hash: leaf_hash(text.as_bytes()),
            columns: LeafColumns {
                time_ms: 1,
                kind: "decision".into(),
                principal: None,
                session: Some("s1".into()),
                tool: None,
                decision: None,
            },
            sealed: vec![SealedContent {
                field: "args".into(),
                salt: Salt([7; 32]),
                content: "{}".into(),
            }],
        }
    }

    #[test]
    fn waiting_requests_are_read_through_their_index_in_its_order() {
        let s = SqliteStore::in_memory().unwrap();
        for sql in [queries::WAITING_FIRST, queries::WAITING_AFTER].map(sqlite_sql) {
            let plan: Vec<String> = s
                .with(|c| {
                    let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
                    let rows = stmt.query_map(
                        rusqlite::params_from_iter(
                            std::iter::repeat_n(0_i64, 4).take(stmt.parameter_count()),
                        ),
                        |r| r.get::<_, String>(3),
                    )?;
                    Ok(rows.collect::<Result<Vec<_>, _>>()?)
                })
                .unwrap();
            let plan = plan.join("; ");
            assert!(
                plan.contains("USING INDEX pending_waiting"),
                "{sql}: {plan}"
            );
            assert!(!plan.contains("TEMP B-TREE"), "{sql} sorts: {plan}");
        }
    }

    fn plan_of(s: &SqliteStore, sql: &str) -> String {
        s.with(|c| {
            let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
            let rows = stmt.query_map(
                rusqlite::params_from_iter(
                    std::iter::repeat_n(1_i64, 8).take(stmt.parameter_count()),
                ),
                |r| r.get::<_, String>(3),
            )?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .unwrap()
        .join("; ")
    }

    /// A page of a session's trail walks the index on the session in log order from the
    /// cursor on: it reads a page of rows, however many the session has, and sorts nothing.
    #[test]
    fn a_page_of_a_trail_walks_an_index_in_log_order() {
        let s = SqliteStore::in_memory().unwrap();
        for newest_first in [false, true] {
            let filter = EventFilter {
                session: Some("s1".into()),
                index_from: Some(5),
                index_below: Some(500),
                newest_first,
                limit: Some(101),
                ..EventFilter::default()
            };
            let (sql, _) = queries::ledger_find(&filter, Dialect::Sqlite);
            let plan = plan_of(&s, &sql);
            assert!(plan.contains("INDEX ledger_leaves_session"), "{plan}");
            assert!(!plan.contains("TEMP B-TREE"), "{sql} sorts: {plan}");
        }
    }

    /// A page of tainted agents is chosen by walking the index on the agent in name order.
    #[test]
    fn a_page_of_tainted_agents_walks_the_agent_index() {
        let s = SqliteStore::in_memory().unwrap();
        for sql in [taint_sql::FIRST_IN_FORCE, taint_sql::AFTER_IN_FORCE] {
            let plan = plan_of(&s, &sqlite_sql(sql));
            assert!(plan.contains("INDEX agent_taints_agent"), "{plan}");
        }
    }

    /// Every lookup the gateway makes on a call or a sweep searches an index that leads with
    /// the status: none scans the table, so none reads the answered requests.
    #[test]
    fn the_gateways_request_lookups_search_an_index() {
        let s = SqliteStore::in_memory().unwrap();
        let text = |v: &str| Some(v.to_owned());
        let lookups = [
            RequestFilter {
                statuses: vec![ApprovalStatus::Approved],
                principal: text("a"),
                session: text("s"),
                tool: text("t.x"),
                args_digest: text("d"),
                policy_version: text("v"),
                unexpired_at_ms: Some(1),
                ..RequestFilter::default()
            },
            RequestFilter {
                expired_at_ms: Some(1),
                ..RequestFilter::open()
            },
            RequestFilter {
                statuses: vec![ApprovalStatus::Pending],
                escalated: Some(false),
                unexpired_at_ms: Some(1),
                ..RequestFilter::default()
            },
            RequestFilter {
                principal: text("a"),
                session: text("s"),
                ..RequestFilter::open()
            },
            RequestFilter {
                principal: text("a"),
                ..RequestFilter::open()
            },
            RequestFilter {
                category: text("c"),
                ..RequestFilter::open()
            },
            RequestFilter::open(),
            // The console's pending search: the waiting requests only, through their index.
            RequestFilter {
                statuses: vec![ApprovalStatus::Pending],
                text: text("50%_off"),
                after: Some(crate::WaitingAfter {
                    created_ms: 1,
                    id: "a".into(),
                }),
                limit: Some(201),
                ..RequestFilter::default()
            },
        ];
        for filter in lookups {
            let (sql, values) = queries::requests(&filter, Dialect::Sqlite);
            let plan: Vec<String> = s
                .with(|c| {
                    let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
                    let params: Vec<&dyn rusqlite::ToSql> = values.iter().map(sql_value).collect();
                    let rows = stmt.query_map(params.as_slice(), |r| r.get::<_, String>(3))?;
                    Ok(rows.collect::<Result<Vec<_>, _>>()?)
                })
                .unwrap();
            let plan = plan.join("; ");
            assert!(plan.contains("SEARCH pending USING"), "{sql}: {plan}");
            assert!(!plan.contains("SCAN pending"), "{sql}: {plan}");
        }
    }

    #[test]
    fn leaves_are_numbered_from_zero_and_cannot_be_changed() {
        let s = SqliteStore::in_memory().unwrap();
        assert_eq!(s.ledger_append(&[leaf("a")], &key()).unwrap(), 0);
        assert_eq!(s.ledger_append(&[leaf("b"), leaf("c")], &key()).unwrap(), 1);
        assert_eq!(s.ledger_size().unwrap(), 3);
        let got = s
            .ledger_find(&EventFilter {
                session: Some("s1".into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(got.len(), 3);
        for sql in [
            "DELETE FROM ledger_leaves",
            "UPDATE ledger_leaves SET leaf = x'00'",
            "UPDATE ledger_sealed SET sealed = x'00'",
        ] {
            let err = s.with(|c| Ok(c.execute(sql, [])?)).unwrap_err();
            assert!(
                err.to_string().contains("append-only") || err.to_string().contains("never"),
                "{err}"
            );
        }
        // Redaction deletes sealed content, and only that.
        assert_eq!(s.ledger_redact(1).unwrap(), ["args"]);
        assert_eq!(s.ledger_sealed(0, 3).unwrap().len(), 2);
        assert_eq!(s.ledger_sealed(0, 3).unwrap()[0].1.content, "{}");
        assert_eq!(s.ledger_size().unwrap(), 3);
    }

    #[test]
    fn a_budget_counts_up_to_its_limit_within_the_window() {
        let s = SqliteStore::in_memory().unwrap();
        for i in 0..3 {
            assert!(s.consume_budget("iso", "agent:a", 1000 + i, 0, 3).unwrap());
        }
        assert!(!s.consume_budget("iso", "agent:a", 1010, 0, 3).unwrap());
        // Another agent has its own count; an old window has none.
        assert!(s.consume_budget("iso", "agent:b", 1010, 0, 3).unwrap());
        assert!(s.consume_budget("iso", "agent:a", 5000, 1500, 3).unwrap());
        assert_eq!(s.budget_used("iso", "agent:a", 0).unwrap(), 4);
    }

    #[test]
    fn one_active_halt_per_scope_until_resumed() {
        let s = SqliteStore::in_memory().unwrap();
        let halt = Halt {
            scope: "agent:responder".into(),
            set_by: "dana".into(),
            reason: "test".into(),
            evidence: serde_json::json!({"calls": [1, 2]}),
            created_ms: 1,
            resumed_by: None,
            resume_reason: None,
            resumed_ms: None,
        };
        assert!(s.add_halt(&halt).unwrap());
        assert!(!s.add_halt(&halt).unwrap());
        assert_eq!(s.active_halts().unwrap(), vec![halt.clone()]);
        let resumed = s
            .resume_halt("agent:responder", "dana", "ok", 5)
            .unwrap()
            .unwrap();
        assert_eq!(resumed.resumed_by.as_deref(), Some("dana"));
        assert!(s.active_halts().unwrap().is_empty());
        assert!(
            s.resume_halt("agent:responder", "dana", "ok", 6)
                .unwrap()
                .is_none()
        );
        assert!(s.add_halt(&halt).unwrap());
    }

    #[test]
    fn state_survives_reopening_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        {
            let s = SqliteStore::open(&path).unwrap();
            s.set_pin("edr.get_host", "sha256:aa", "test", 1).unwrap();
            s.ledger_append(&[leaf("a")], &key()).unwrap();
        }
        let s = SqliteStore::open(&path).unwrap();
        assert_eq!(s.pin("edr.get_host").unwrap().as_deref(), Some("sha256:aa"));
        assert_eq!(s.ledger_append(&[leaf("b")], &key()).unwrap(), 1);
    }
}
