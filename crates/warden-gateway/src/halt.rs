//! Kill switches: halts on a session, an agent, a tool category or everything.
//!
//! A halt lives in the store, so it survives restarts and reaches every warden process sharing
//! it. The pipeline checks halts first, before the catalog and policy, from an in-memory copy
//! re-read from the store at most every [`REFRESH`] — so a halt set by another process (the CLI)
//! takes effect within about a second, and a halt set here at once. Setting a halt expires the
//! pending approval requests of its scope; only a human approver resumes one.
//!
//! The row is not all a halt is: the ledger records each halt before it is stored and each
//! resume after, and [`active`] is the union of the rows and the halts the ledger's own leaves
//! (MACs checked) show set and not resumed. A halt row deleted or marked resumed in the
//! database lifts nothing.

use crate::audit::AuditLog;
use crate::clock::Clock;
use crate::failure::Failure;
use crate::gate;
use serde_json::{Value, json};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use warden_core::{AuditEvent, EventKind};
use warden_store::ledger::Deciding;
use warden_store::{Halt, Ledger, LedgerError, PendingRequest, RequestFilter, Store};

/// How stale the in-memory copy of the active halts may get.
pub const REFRESH: Duration = Duration::from_millis(900);

/// What a halt covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Session { principal: String, session: String },
    Agent(String),
    Category(String),
    Global,
}

#[derive(Debug, thiserror::Error)]
pub enum HaltError {
    #[error(
        "`{0}` is not a halt scope: use `session:<agent>:<session>`, `agent:<agent>`, `category:<category>` or `global`"
    )]
    BadScope(String),
    #[error("no active halt on `{0}`")]
    NotHalted(String),
    /// A scope that names no configured agent or no category of a configured tool: it would
    /// halt nothing, and a typo must not look like a kill switch that is on.
    #[error("`{scope}` halts nothing: {why}")]
    Unknown { scope: String, why: String },
    #[error("warden could not record the halt: {0}")]
    Internal(#[from] Failure),
}

impl From<HaltError> for Failure {
    fn from(e: HaltError) -> Self {
        match e {
            HaltError::Internal(failure) => failure,
            refused => Failure::warden(refused.to_string()),
        }
    }
}

impl Scope {
    /// The open requests this scope covers, as a store lookup.
    fn open_requests(&self) -> RequestFilter {
        let open = RequestFilter::open();
        match self {
            Scope::Session { principal, session } => RequestFilter {
                principal: Some(principal.clone()),
                session: Some(session.clone()),
                ..open
            },
            Scope::Agent(principal) => RequestFilter {
                principal: Some(principal.clone()),
                ..open
            },
            Scope::Category(category) => RequestFilter {
                category: Some(category.clone()),
                ..open
            },
            Scope::Global => open,
        }
    }

    /// Checks that the scope names what `config` knows: a configured agent, a category of a
    /// configured tool.
    pub fn check(&self, config: &warden_policy::Config) -> Result<(), HaltError> {
        let agents: Vec<&str> = config
            .agents
            .iter()
            .map(|a| a.principal.0.as_str())
            .collect();
        let unknown = |why: String| HaltError::Unknown {
            scope: self.to_string(),
            why,
        };
        match self {
            Scope::Session { principal, .. } | Scope::Agent(principal)
                if !agents.contains(&principal.as_str()) =>
            {
                Err(unknown(format!(
                    "no agent `{principal}` is configured (agents: {})",
                    agents.join(", ")
                )))
            }
            Scope::Category(category)
                if !config
                    .tools
                    .values()
                    .any(|t| &t.labels.category == category) =>
            {
                let mut categories: Vec<&str> = config
                    .tools
                    .values()
                    .map(|t| t.labels.category.as_str())
                    .collect();
                categories.sort_unstable();
                categories.dedup();
                Err(unknown(format!(
                    "no tool has category `{category}` (categories: {})",
                    categories.join(", ")
                )))
            }
            _ => Ok(()),
        }
    }

    pub fn parse(s: &str) -> Result<Scope, HaltError> {
        let bad = || HaltError::BadScope(s.to_string());
        let nonempty = |x: &str| (!x.is_empty()).then(|| x.to_string()).ok_or_else(bad);
        match s.split_once(':') {
            None if s == "global" => Ok(Scope::Global),
            Some(("agent", p)) => Ok(Scope::Agent(nonempty(p)?)),
            Some(("category", c)) => Ok(Scope::Category(nonempty(c)?)),
            Some(("session", rest)) => {
                let (p, session) = rest.split_once(':').ok_or_else(bad)?;
                Ok(Scope::Session {
                    principal: nonempty(p)?,
                    session: nonempty(session)?,
                })
            }
            _ => Err(bad()),
        }
    }

    /// Whether a call by `principal` in `session` to a tool of `category` is covered.
    pub fn covers(&self, principal: &str, session: &str, category: Option<&str>) -> bool {
        match self {
            Scope::Global => true,
            Scope::Agent(p) => p == principal,
            Scope::Session {
                principal: p,
                session: s,
            } => p == principal && s == session,
            Scope::Category(c) => Some(c.as_str()) == category,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Session { principal, session } => write!(f, "session:{principal}:{session}"),
            Scope::Agent(p) => write!(f, "agent:{p}"),
            Scope::Category(c) => write!(f, "category:{c}"),
            Scope::Global => f.write_str("global"),
        }
    }
}

/// The active halts, re-read from the store when older than [`REFRESH`] by the gateway's
/// clock (a test moves that clock; nothing here reads the real time).
#[derive(Debug)]
pub struct HaltCache {
    clock: Arc<dyn Clock>,
    /// When the halts were read, in the clock's milliseconds, and what they were.
    state: Mutex<Option<(i64, Arc<Vec<Halt>>)>>,
    /// The scopes of the halts read last, kept when the cache is invalidated: what a read
    /// changed.
    scopes: Mutex<Vec<String>>,
}

impl HaltCache {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            state: Mutex::new(None),
            scopes: Mutex::new(Vec::new()),
        }
    }

    /// The cached halts if fresh enough. A clock set back before the read makes them stale:
    /// a halt is re-read too often rather than missed.
    pub fn fresh(&self) -> Option<Arc<Vec<Halt>>> {
        let guard = self.state.lock().ok()?;
        let refresh = i64::try_from(REFRESH.as_millis()).unwrap_or(i64::MAX);
        match guard.as_ref() {
            Some((at, halts))
                if (0..refresh).contains(&self.clock.now_ms().saturating_sub(*at)) =>
            {
                Some(halts.clone())
            }
            _ => None,
        }
    }

    /// Keeps `halts`, just read; and whether their scopes differ from the last read's (a halt
    /// set or resumed meanwhile).
    pub fn put(&self, halts: Vec<Halt>) -> (Arc<Vec<Halt>>, bool) {
        let mut scopes: Vec<String> = halts.iter().map(|h| h.scope.clone()).collect();
        scopes.sort();
        let halts = Arc::new(halts);
        if let Ok(mut guard) = self.state.lock() {
            *guard = Some((self.clock.now_ms(), halts.clone()));
        }
        let changed = match self.scopes.lock() {
            Ok(mut last) if *last != scopes => {
                *last = scopes;
                true
            }
            _ => false,
        };
        (halts, changed)
    }

    /// Forces the next check to re-read the store.
    pub fn invalidate(&self) {
        if let Ok(mut guard) = self.state.lock() {
            *guard = None;
        }
    }
}

/// The active halts: every halt row not resumed, and every halt the ledger records set and not
/// since resumed (read through the ledger's own index, [`Ledger::recorded`]; `recorded` keeps
/// what was read, and reads on from there), one per scope. A row deleted or marked resumed by
/// someone writing the database, or a halt leaf's index columns rewritten, does not lift a
/// halt the ledger records; a halt leaf deleted from the store is an error.
pub fn active(
    store: &dyn Store,
    ledger: Option<&Ledger>,
    recorded: &mut RecordedHalts,
    credentials: Option<&std::collections::BTreeMap<String, String>>,
) -> Result<Vec<Halt>, LedgerError> {
    let mut halts = store.active_halts()?;
    for halt in recorded.refresh(ledger, credentials)? {
        if !halts.iter().any(|h| h.scope == halt.scope) {
            halts.push(halt);
        }
    }
    Ok(halts)
}

/// The halts the ledger records, as read so far: each scope's last halt or resume. Read on
/// incrementally, so a refresh costs only the leaves appended since the last, and a halt read
/// once stays known to this process whatever later happens to its row.
#[derive(Debug, Default)]
pub struct RecordedHalts {
    cursor: crate::recorded::Cursor,
    by_scope: std::collections::BTreeMap<String, Option<Halt>>,
}

impl RecordedHalts {
    /// Reads the halt and resume leaves appended since the last read; the halts the ledger
    /// records set and not since resumed, oldest first. Without a ledger (no key) the record
    /// vouches for nothing: none.
    ///
    /// With `credentials` (each approver's, as the serving configuration holds them), a resume
    /// counts only when it was given under its approver's: a resume made with a copy of the
    /// configuration that gives a colleague's name another token lifts nothing.
    pub fn refresh(
        &mut self,
        ledger: Option<&Ledger>,
        credentials: Option<&std::collections::BTreeMap<String, String>>,
    ) -> Result<Vec<Halt>, LedgerError> {
        let Some(ledger) = ledger else {
            return Ok(Vec::new());
        };
        for entry in self
            .cursor
            .read_new(ledger, &[Deciding::Halt, Deciding::Resume], None)?
        {
            let e = entry.event;
            let detail = e.detail.unwrap_or_default();
            let Some(scope) = detail.get("scope").and_then(Value::as_str) else {
                continue;
            };
            if e.kind == Some(EventKind::Resume)
                && let Some(credentials) = credentials
            {
                // A resume an earlier warden recorded names no credentials: it stands (the
                // halts it lifted stay lifted after an upgrade).
                let by = detail.get("by").and_then(Value::as_str).unwrap_or_default();
                let given = detail.get("credential").and_then(Value::as_str);
                if given.is_some() && given != credentials.get(by).map(String::as_str) {
                    tracing::error!(
                        scope,
                        by,
                        "a resume not given under its approver's credentials lifts nothing"
                    );
                    continue;
                }
            }
            let halt = (e.kind == Some(EventKind::Halt)).then(|| Halt {
                scope: scope.to_string(),
                set_by: detail
                    .get("by")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                reason: e.reason.unwrap_or_default(),
                evidence: detail.get("evidence").cloned().unwrap_or(Value::Null),
                created_ms: e.time_ms,
                resumed_by: None,
                resume_reason: None,
                resumed_ms: None,
            });
            self.by_scope.insert(scope.to_string(), halt);
        }
        let mut halts: Vec<Halt> = self.by_scope.values().flatten().cloned().collect();
        halts.sort_by_key(|h| h.created_ms);
        Ok(halts)
    }
}

/// The halts the ledger records set and not since resumed, read from the first leaf.
fn recorded(ledger: Option<&Ledger>) -> Result<Vec<Halt>, LedgerError> {
    RecordedHalts::default().refresh(ledger, None)
}

/// The first active halt that covers the call.
pub fn covering<'a>(
    halts: &'a [Halt],
    principal: &str,
    session: &str,
    category: Option<&str>,
) -> Option<(&'a Halt, Scope)> {
    halts.iter().find_map(|h| {
        let scope = Scope::parse(&h.scope).ok()?;
        scope
            .covers(principal, session, category)
            .then_some((h, scope))
    })
}

fn halt_event(
    kind: EventKind,
    scope: &Scope,
    by: &str,
    reason: &str,
    detail: Value,
    now: i64,
) -> AuditEvent {
    let mut e = AuditEvent::new(kind, now);
    match scope {
        Scope::Session { principal, session } => {
            e.principal = Some(principal.clone());
            e.session = Some(session.clone());
        }
        Scope::Agent(p) => e.principal = Some(p.clone()),
        Scope::Category(c) => e.category = Some(c.clone()),
        Scope::Global => {}
    }
    e.reason = Some(reason.trim().to_string());
    let mut d = json!({"scope": scope.to_string(), "by": by});
    if let (Some(o), Value::Object(extra)) = (d.as_object_mut(), detail) {
        o.extend(extra);
    }
    e.detail = Some(d);
    e
}

fn in_scope(scope: &Scope, r: &PendingRequest) -> bool {
    r.status.is_open() && scope.covers(&r.principal, &r.session, Some(&r.category))
}

/// Sets a halt (recorded before it is stored) and expires the scope's open approval requests.
/// Whether it was set: `false` when the scope was already halted. `now` is the caller's clock.
pub fn set(
    store: &dyn Store,
    audit: &dyn AuditLog,
    scope: &Scope,
    set_by: &str,
    reason: &str,
    evidence: Value,
    now: i64,
) -> Result<bool, HaltError> {
    let already = store
        .active_halts()
        .map_err(Failure::from)?
        .iter()
        .any(|h| h.scope == scope.to_string());
    if already {
        return Ok(false);
    }
    // Still halted on the record (its row gone): stored again, not recorded twice.
    let on_record = recorded(audit.ledger())
        .map_err(Failure::from)?
        .into_iter()
        .find(|h| h.scope == scope.to_string());
    if let Some(halt) = on_record {
        store.add_halt(&halt).map_err(Failure::from)?;
        return Ok(false);
    }
    audit
        .append(&halt_event(
            EventKind::Halt,
            scope,
            set_by,
            reason,
            json!({"evidence": evidence}),
            now,
        ))
        .map_err(Failure::from)?;
    let halt = Halt {
        scope: scope.to_string(),
        set_by: set_by.to_string(),
        reason: reason.trim().to_string(),
        evidence,
        created_ms: now,
        resumed_by: None,
        resume_reason: None,
        resumed_ms: None,
    };
    let set = store.add_halt(&halt).map_err(Failure::from)?;
    // Each open request in scope moves to `expired` by compare-and-swap; one answered
    // meanwhile is looked at again as it is now.
    for r in store
        .requests(&scope.open_requests())
        .map_err(Failure::from)?
        .into_iter()
        .filter(|r| in_scope(scope, r))
    {
        expire_for(store, audit, scope, &r.id, now).map_err(Failure::from)?;
    }
    Ok(set)
}

/// Expires request `id` for the halt of `scope` (by compare-and-swap: a request answered
/// meanwhile is looked at again as it is now). Whether it was expired.
pub(crate) fn expire_for(
    store: &dyn Store,
    audit: &dyn AuditLog,
    scope: &Scope,
    id: &str,
    now: i64,
) -> Result<bool, gate::GateError> {
    gate::expire_request(
        store,
        audit,
        id,
        json!({"reason": "halted", "scope": scope.to_string()}),
        now,
        |r| in_scope(scope, r),
    )
}

/// Resumes a halted scope. `by` must already be an authorised human (checked by the caller)
/// under the configuration whose approvers' credentials are `credentials`
/// ([`crate::gate::credentials`]): the resume records `by`'s, and a gateway counts it only if
/// they are the ones its own configuration holds for `by`. `now` is the caller's clock.
pub fn resume(
    store: &dyn Store,
    audit: &dyn AuditLog,
    scope: &Scope,
    by: &str,
    credentials: &std::collections::BTreeMap<String, String>,
    reason: &str,
    now: i64,
) -> Result<Halt, HaltError> {
    let stored = store
        .resume_halt(&scope.to_string(), by, reason.trim(), now)
        .map_err(Failure::from)?;
    // A halt the ledger records but whose row is gone (or was resumed without its record)
    // is resumed on the record.
    let halt = match stored {
        Some(halt) => halt,
        None => RecordedHalts::default()
            .refresh(audit.ledger(), Some(credentials))
            .map_err(Failure::from)?
            .into_iter()
            .find(|h| h.scope == scope.to_string())
            .ok_or_else(|| HaltError::NotHalted(scope.to_string()))?,
    };
    audit
        .append(&halt_event(
            EventKind::Resume,
            scope,
            by,
            reason,
            json!({"halted_by": halt.set_by, "halted_ms": halt.created_ms,
                   // Always a string: a resume naming no credentials is an earlier
                   // warden's.
                   "credential": credentials.get(by).map_or("none", String::as_str)}),
            now,
        ))
        .map_err(Failure::from)?;
    Ok(halt)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn scopes_parse_print_and_cover() {
        for s in [
            "global",
            "agent:responder",
            "category:identity",
            "session:triage:abc",
        ] {
            assert_eq!(Scope::parse(s).unwrap().to_string(), s);
        }
        for s in [
            "",
            "agent:",
            "session:triage",
            "session::x",
            "host:x",
            "globally",
        ] {
            assert!(Scope::parse(s).is_err(), "{s}");
        }
        let session = Scope::parse("session:triage:abc").unwrap();
        assert!(session.covers("triage", "abc", None));
        assert!(!session.covers("triage", "abd", None));
        assert!(!session.covers("responder", "abc", None));
        assert!(Scope::Agent("triage".into()).covers("triage", "x", Some("identity")));
        assert!(Scope::Category("identity".into()).covers("x", "y", Some("identity")));
        assert!(!Scope::Category("identity".into()).covers("x", "y", None));
        assert!(Scope::Global.covers("x", "y", None));
    }
}
