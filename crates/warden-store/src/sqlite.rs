//! The SQLite backend.

use crate::{EventFilter, PendingRequest, Store, StoreError};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use std::sync::Mutex;
use warden_core::AuditEvent;

const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    time_ms INTEGER NOT NULL,
    kind TEXT NOT NULL,
    principal TEXT,
    session TEXT,
    tool TEXT,
    decision TEXT,
    body TEXT NOT NULL
);
CREATE INDEX events_session ON events(session);
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
CREATE TABLE pending (
    id TEXT PRIMARY KEY,
    created_ms INTEGER NOT NULL,
    status TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE budget_uses (
    budget TEXT NOT NULL,
    scope TEXT NOT NULL,
    time_ms INTEGER NOT NULL
);
CREATE INDEX budget_uses_key ON budget_uses(budget, scope, time_ms);
CREATE TABLE tool_pins (
    tool TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    pinned_by TEXT NOT NULL,
    pinned_ms INTEGER NOT NULL
);
"#];

pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Open {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
        }
        let conn = Connection::open(path)?;
        Self::init(conn)
    }

    pub fn in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<Self, StoreError> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let tx = conn.transaction()?;
        for (i, m) in MIGRATIONS.iter().enumerate() {
            let n = i64::try_from(i).unwrap_or(i64::MAX) + 1;
            if n > version {
                tx.execute_batch(m)?;
                tx.pragma_update(None, "user_version", n)?;
            }
        }
        tx.commit()?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut guard = self.conn.lock().map_err(|_| StoreError::Poisoned)?;
        f(&mut guard)
    }
}

impl Store for SqliteStore {
    fn append_event(&self, event: &AuditEvent) -> Result<u64, StoreError> {
        let body = serde_json::to_string(event)?;
        self.with(|c| {
            c.execute(
                "INSERT INTO events (seq, time_ms, kind, principal, session, tool, decision, body)
                 VALUES ((SELECT COALESCE(MAX(seq) + 1, 0) FROM events), ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    event.time_ms,
                    event.kind.map(|k| k.as_str()).unwrap_or("unknown"),
                    event.principal,
                    event.session,
                    event.tool,
                    event.decision,
                    body
                ],
            )?;
            let seq: i64 = c.query_row("SELECT MAX(seq) FROM events", [], |r| r.get(0))?;
            Ok(u64::try_from(seq).unwrap_or(0))
        })
    }

    fn events(&self, filter: &EventFilter) -> Result<Vec<(u64, AuditEvent)>, StoreError> {
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT seq, body FROM events
                 WHERE (?1 IS NULL OR session = ?1) AND (?2 IS NULL OR principal = ?2)
                   AND (?3 IS NULL OR tool = ?3) AND (?4 IS NULL OR decision = ?4)
                   AND (?5 IS NULL OR time_ms >= ?5) AND (?6 IS NULL OR time_ms <= ?6)
                 ORDER BY seq LIMIT ?7",
            )?;
            let limit = filter
                .limit
                .map_or(i64::MAX, |l| i64::try_from(l).unwrap_or(i64::MAX));
            let rows = stmt.query_map(
                params![
                    filter.session,
                    filter.principal,
                    filter.tool,
                    filter.decision,
                    filter.since_ms,
                    filter.until_ms,
                    limit
                ],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
            )?;
            let mut out = Vec::new();
            for row in rows {
                let (seq, body) = row?;
                out.push((
                    u64::try_from(seq).unwrap_or(0),
                    serde_json::from_str(&body)?,
                ));
            }
            Ok(out)
        })
    }

    fn create_pending(&self, request: &PendingRequest) -> Result<(), StoreError> {
        let body = serde_json::to_string(request)?;
        self.with(|c| {
            c.execute(
                "INSERT INTO pending (id, created_ms, status, body) VALUES (?1, ?2, ?3, ?4)",
                params![request.id, request.created_ms, request.status, body],
            )?;
            Ok(())
        })
    }

    fn pending(&self) -> Result<Vec<PendingRequest>, StoreError> {
        self.with(|c| {
            let mut stmt = c.prepare("SELECT body FROM pending ORDER BY created_ms, id")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            let mut out = Vec::new();
            for row in rows {
                out.push(serde_json::from_str(&row?)?);
            }
            Ok(out)
        })
    }

    fn budget_used(&self, budget: &str, scope: &str, since_ms: i64) -> Result<u32, StoreError> {
        self.with(|c| {
            let n: i64 = c.query_row(
                "SELECT COUNT(*) FROM budget_uses WHERE budget = ?1 AND scope = ?2 AND time_ms > ?3",
                params![budget, scope, since_ms],
                |r| r.get(0),
            )?;
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
            let n: i64 = tx.query_row(
                "SELECT COUNT(*) FROM budget_uses WHERE budget = ?1 AND scope = ?2 AND time_ms > ?3",
                params![budget, scope, since_ms],
                |r| r.get(0),
            )?;
            if n >= i64::from(limit) {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO budget_uses (budget, scope, time_ms) VALUES (?1, ?2, ?3)",
                params![budget, scope, now_ms],
            )?;
            tx.commit()?;
            Ok(true)
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_core::EventKind;

    #[test]
    fn events_are_numbered_from_zero_and_cannot_be_changed() {
        let s = SqliteStore::in_memory().unwrap();
        let mut e = AuditEvent::new(EventKind::Decision, 1);
        e.session = Some("s1".into());
        assert_eq!(s.append_event(&e).unwrap(), 0);
        assert_eq!(s.append_event(&e).unwrap(), 1);
        let got = s
            .events(&EventFilter {
                session: Some("s1".into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(got.len(), 2);
        let err = s
            .with(|c| Ok(c.execute("DELETE FROM events", [])?))
            .unwrap_err();
        assert!(err.to_string().contains("append-only"), "{err}");
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
    fn state_survives_reopening_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        {
            let s = SqliteStore::open(&path).unwrap();
            s.set_pin("edr.get_host", "sha256:aa", "test", 1).unwrap();
            s.append_event(&AuditEvent::new(EventKind::ConfigLoaded, 1))
                .unwrap();
        }
        let s = SqliteStore::open(&path).unwrap();
        assert_eq!(s.pin("edr.get_host").unwrap().as_deref(), Some("sha256:aa"));
        assert_eq!(
            s.append_event(&AuditEvent::new(EventKind::ConfigLoaded, 2))
                .unwrap(),
            1
        );
    }
}
