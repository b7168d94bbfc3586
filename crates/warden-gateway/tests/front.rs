//! The HTTP front in process, as a compromised agent meets it: the example SOC's config, a real
//! SQLite store and ledger, scripted upstreams, a manual clock, and requests sent straight to
//! the router (no sockets, no sleeps).
//!
//! An agent's token lets it send requests as fast as it likes; what it can cost warden, and
//! what it can still learn or reach once it is halted, is what these tests check.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use axum::body::Body;
use http::{Request, StatusCode};
use rmcp::model::{CallToolResult, ContentBlock, Tool};
use serde_json::{Map, Value, json};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;
use warden_gateway::upstream::UpstreamFuture;
use warden_gateway::{Clock, Gateway, GatewayParts, ManualClock, Ticket, Upstream};
use warden_ledger::{LeafKey, SealedContent, StoredLeaf};
use warden_store::ledger::read_events;
use warden_store::{
    AgentTaint, ConsoleSessionRow, EventFilter, Halt, LeafRow, Ledger, LedgerSettings, NewLeaf,
    OpenRequests, PendingRequest, RequestFilter, SqliteStore, Store, StoreError, StoredCheckpoint,
    TaintInForce, TaintRecord, WaitingAfter,
};

/// 2026-12-01T00:00:00Z: inside every grant's validity in the example.
const START_MS: i64 = 1_796_083_200_000;
/// The lab's demo tokens (`examples/soc/warden.toml`).
const TRIAGE: &str = "lab-triage-token";
const RESPONDER: &str = "lab-responder-token";

/// An upstream that offers the tools the config declares for it and answers every call with
/// `done`, counting the calls that reach it.
struct Scripted {
    name: String,
    tools: Vec<Tool>,
    calls: Arc<Mutex<Vec<String>>>,
    listings: Arc<Mutex<usize>>,
}

impl Upstream for Scripted {
    fn name(&self) -> &str {
        &self.name
    }

    fn list_tools(&self) -> UpstreamFuture<'_, Vec<Tool>> {
        *self.listings.lock().unwrap() += 1;
        let tools = self.tools.clone();
        Box::pin(async move { Ok(tools) })
    }

    fn call<'a>(&'a self, ticket: Ticket<'a>) -> UpstreamFuture<'a, CallToolResult> {
        self.calls
            .lock()
            .unwrap()
            .push(ticket.call().principal.0.clone());
        Box::pin(async move { Ok(CallToolResult::success(vec![ContentBlock::text("done")])) })
    }
}

/// The store as the database behind it fails: while `down`, every operation fails as a
/// PostgreSQL server that is stopped does (`StoreError::Unavailable`, with the connection
/// string in the message, which must never reach an agent); otherwise it is the SQLite store.
struct Flaky {
    inner: SqliteStore,
    down: std::sync::atomic::AtomicBool,
    /// While set, only the ledger's appends fail so (the connection drops mid-commit).
    appends_down: std::sync::atomic::AtomicBool,
    /// Run once, just before the next approval request is stored: what another process does
    /// meanwhile.
    before_pending: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

/// What a stopped server's pool says; the URL and password in it are what an agent must not
/// learn.
const DOWN: &str = "timed out waiting for connection: error connecting to server at \
     postgresql://warden:hunter2@db.internal:5432/warden: Connection refused (os error 111)";

impl Flaky {
    fn set_down(&self, down: bool) {
        self.down.store(down, std::sync::atomic::Ordering::SeqCst);
    }

    fn set_appends_down(&self, down: bool) {
        self.appends_down
            .store(down, std::sync::atomic::Ordering::SeqCst);
    }

    fn up(&self) -> Result<&SqliteStore, StoreError> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::Unavailable(DOWN.into()));
        }
        Ok(&self.inner)
    }
}

impl Store for Flaky {
    fn ledger_append(&self, leaves: &[NewLeaf], key: &LeafKey) -> Result<u64, StoreError> {
        if self.appends_down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::Unavailable(DOWN.into()));
        }
        self.up()?.ledger_append(leaves, key)
    }
    fn ledger_size(&self) -> Result<u64, StoreError> {
        self.up()?.ledger_size()
    }
    fn ledger_leaves(
        &self,
        from: u64,
        limit: usize,
    ) -> Result<Vec<StoredLeaf<Vec<u8>>>, StoreError> {
        self.up()?.ledger_leaves(from, limit)
    }
    fn ledger_rows(&self, from: u64, limit: usize) -> Result<Vec<LeafRow>, StoreError> {
        self.up()?.ledger_rows(from, limit)
    }
    fn ledger_find(&self, filter: &EventFilter) -> Result<Vec<LeafRow>, StoreError> {
        self.up()?.ledger_find(filter)
    }
    fn ledger_sealed(&self, from: u64, to: u64) -> Result<Vec<(u64, SealedContent)>, StoreError> {
        self.up()?.ledger_sealed(from, to)
    }
    fn ledger_redact(&self, index: u64) -> Result<Vec<String>, StoreError> {
        self.up()?.ledger_redact(index)
    }
    fn ledger_add_checkpoint(&self, c: &StoredCheckpoint) -> Result<bool, StoreError> {
        self.up()?.ledger_add_checkpoint(c)
    }
    fn ledger_checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StoreError> {
        self.up()?.ledger_checkpoints()
    }
    fn ledger_latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        self.up()?.ledger_latest_checkpoint()
    }
    fn create_pending(&self, r: &PendingRequest) -> Result<(), StoreError> {
        let meanwhile = self.before_pending.lock().unwrap().take();
        if let Some(meanwhile) = meanwhile {
            meanwhile();
        }
        self.up()?.create_pending(r)
    }
    fn pending(&self) -> Result<Vec<PendingRequest>, StoreError> {
        self.up()?.pending()
    }
    fn requests(&self, f: &RequestFilter) -> Result<Vec<PendingRequest>, StoreError> {
        self.up()?.requests(f)
    }
    fn count_requests(&self, f: &RequestFilter) -> Result<u64, StoreError> {
        self.up()?.count_requests(f)
    }
    fn open_requests(&self) -> Result<OpenRequests, StoreError> {
        self.up()?.open_requests()
    }
    fn waiting(
        &self,
        after: Option<&WaitingAfter>,
        limit: usize,
    ) -> Result<Vec<PendingRequest>, StoreError> {
        self.up()?.waiting(after, limit)
    }
    fn pending_request(&self, id: &str) -> Result<Option<PendingRequest>, StoreError> {
        self.up()?.pending_request(id)
    }
    fn update_pending(&self, r: &PendingRequest) -> Result<bool, StoreError> {
        self.up()?.update_pending(r)
    }
    fn prune_closed(&self, before_ms: i64) -> Result<u64, StoreError> {
        self.up()?.prune_closed(before_ms)
    }
    fn budget_used(&self, b: &str, scope: &str, since_ms: i64) -> Result<u32, StoreError> {
        self.up()?.budget_used(b, scope, since_ms)
    }
    fn consume_budget(
        &self,
        b: &str,
        scope: &str,
        now_ms: i64,
        since_ms: i64,
        limit: u32,
    ) -> Result<bool, StoreError> {
        self.up()?.consume_budget(b, scope, now_ms, since_ms, limit)
    }
    fn add_halt(&self, halt: &Halt) -> Result<bool, StoreError> {
        self.up()?.add_halt(halt)
    }
    fn active_halts(&self) -> Result<Vec<Halt>, StoreError> {
        self.up()?.active_halts()
    }
    fn resume_halt(
        &self,
        scope: &str,
        by: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<Option<Halt>, StoreError> {
        self.up()?.resume_halt(scope, by, reason, now_ms)
    }
    fn raise_agent_taint(&self, taint: &AgentTaint) -> Result<TaintRecord, StoreError> {
        self.up()?.raise_agent_taint(taint)
    }
    fn agent_taint(&self, agent: &str, now_ms: i64) -> Result<Option<AgentTaint>, StoreError> {
        self.up()?.agent_taint(agent, now_ms)
    }
    fn taint_in_force(&self, agent: &str, now_ms: i64) -> Result<Option<TaintInForce>, StoreError> {
        self.up()?.taint_in_force(agent, now_ms)
    }
    fn clear_agent_taint(
        &self,
        agent: &str,
        through: TaintRecord,
        now_ms: i64,
        by: &str,
        reason: &str,
    ) -> Result<u32, StoreError> {
        self.up()?
            .clear_agent_taint(agent, through, now_ms, by, reason)
    }
    fn tainted_agents(
        &self,
        now_ms: i64,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<TaintInForce>, StoreError> {
        self.up()?.tainted_agents(now_ms, after, limit)
    }
    fn pin(&self, tool: &str) -> Result<Option<String>, StoreError> {
        self.up()?.pin(tool)
    }
    fn set_pin(&self, tool: &str, d: &str, by: &str, now_ms: i64) -> Result<(), StoreError> {
        self.up()?.set_pin(tool, d, by, now_ms)
    }
    fn console_session_put(
        &self,
        session: &ConsoleSessionRow,
        now_ms: i64,
        per_approver: usize,
        max: usize,
    ) -> Result<(), StoreError> {
        self.up()?
            .console_session_put(session, now_ms, per_approver, max)
    }
    fn console_session(&self, key: &[u8; 32]) -> Result<Option<ConsoleSessionRow>, StoreError> {
        self.up()?.console_session(key)
    }
    fn console_session_delete(&self, key: &[u8; 32]) -> Result<bool, StoreError> {
        self.up()?.console_session_delete(key)
    }
}

struct Front {
    _dir: tempfile::TempDir,
    gateway: Arc<Gateway>,
    app: axum::Router,
    clock: Arc<ManualClock>,
    store: Arc<dyn Store>,
    /// The same store, to take it down and bring it back.
    flaky: Arc<Flaky>,
    /// The SQLite file behind it, for tests that write to it directly.
    db: std::path::PathBuf,
    audit: Arc<Ledger>,
    /// The agent of each call that reached an upstream.
    calls: Arc<Mutex<Vec<String>>>,
    /// Listings of the upstreams.
    listings: Arc<Mutex<usize>>,
}

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// The example SOC with `gateway_lines` (`key = value`) set in its `[gateway]` table, in
/// process.
async fn front(gateway_lines: &str) -> Front {
    front_with(gateway_lines, &[]).await
}

/// [`front`] with `edits` (text, replacement) made to the example's config.
async fn front_with(gateway_lines: &str, edits: &[(&str, &str)]) -> Front {
    let dir = tempfile::tempdir().unwrap();
    let src = repo().join("examples/soc");
    for f in [
        "entities.cedarschema",
        "entities.json",
        "policies/soc.cedar",
    ] {
        let to = dir.path().join(f);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(src.join(f), to).unwrap();
    }
    let text = std::fs::read_to_string(src.join("warden.toml")).unwrap();
    let mut text = text.replace(
        "[inventory]\nfile = \"state/lab/inventory.json\"\nrefresh_secs = 2\nmax_age_secs = 600\n",
        "",
    );
    // Each `key = value` line replaces the example's line for that key.
    for line in gateway_lines.lines() {
        let key = line.split(" = ").next().unwrap();
        let old = text
            .lines()
            .find(|l| l.starts_with(&format!("{key} = ")))
            .unwrap_or_else(|| panic!("the example does not set `{key}`"))
            .to_string();
        text = text.replacen(&old, line, 1);
    }
    for (from, to) in edits {
        assert!(text.contains(from), "the example config has no `{from}`");
        text = text.replace(from, to);
    }
    std::fs::write(dir.path().join("warden.toml"), text).unwrap();
    let config = Arc::new(warden_policy::Config::load(&dir.path().join("warden.toml")).unwrap());
    let db = dir.path().join("state/warden.db");
    let flaky = Arc::new(Flaky {
        inner: SqliteStore::open(&db).unwrap(),
        down: false.into(),
        appends_down: false.into(),
        before_pending: Mutex::new(None),
    });
    let store: Arc<dyn Store> = flaky.clone();
    let audit = Arc::new(
        Ledger::open(
            store.clone(),
            &LedgerSettings {
                key_path: dir.path().join("state/ledger.key"),
                origin: "warden.test/front".into(),
                checkpoint_interval: Duration::from_secs(3600),
                defer_within: warden_store::DEFER_WITHIN,
                witnesses: Vec::new(),
                pinned: None,
            },
        )
        .unwrap(),
    );
    let calls = Arc::new(Mutex::new(Vec::new()));
    let listings = Arc::new(Mutex::new(0));
    let upstreams: Vec<Arc<dyn Upstream>> = config
        .servers
        .keys()
        .map(|server| {
            let tools = config
                .tools
                .values()
                .filter(|t| &t.name.server == server)
                .map(|t| {
                    let schema: Map<String, Value> =
                        serde_json::from_value(json!({"type": "object"})).unwrap();
                    Tool::new(t.name.tool.clone(), "a scripted tool", Arc::new(schema))
                })
                .collect();
            Arc::new(Scripted {
                name: server.clone(),
                tools,
                calls: calls.clone(),
                listings: listings.clone(),
            }) as Arc<dyn Upstream>
        })
        .collect();
    let clock = Arc::new(ManualClock::at(START_MS));
    let gateway = Gateway::assemble(GatewayParts {
        config,
        store: store.clone(),
        audit: audit.clone(),
        clock: clock.clone(),
        upstreams: Some(upstreams),
    });
    gateway.refresh_catalog().await;
    let app = warden_gateway::router(gateway.clone(), CancellationToken::new());
    Front {
        _dir: dir,
        gateway,
        app,
        clock,
        store,
        flaky,
        db,
        audit,
        calls,
        listings,
    }
}

/// What came back to one request: its status, `Retry-After`, and the JSON-RPC message (the
/// first `data:` line of an event stream, or the body).
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    retry_after: Option<u64>,
    message: Value,
}

impl Answer {
    fn text(&self) -> String {
        self.message.to_string()
    }
}

impl Front {
    /// One sessionless JSON-RPC request of `method` with `params` (protocol 2026-07-28: no
    /// `initialize` needed), as the agent with `token`.
    async fn send(&self, token: &str, method: &str, params: Value) -> Answer {
        let mut params = params;
        params["_meta"] = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {}});
        let body = json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params});
        let mut req = Request::post("/mcp")
            .header("host", "127.0.0.1")
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", method);
        if let Some(name) = params["name"].as_str() {
            req = req.header("mcp-name", name);
        }
        let resp = self
            .app
            .clone()
            .oneshot(req.body(Body::from(body.to_string())).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().parse().unwrap());
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&bytes).to_string();
        let json = text
            .lines()
            .find_map(|l| l.strip_prefix("data:").map(str::trim))
            .filter(|d| !d.is_empty())
            .unwrap_or(&text);
        let message = serde_json::from_str(json).unwrap_or(Value::String(text.clone()));
        Answer {
            status,
            retry_after,
            message,
        }
    }

    /// A read the example lets both agents make.
    async fn read(&self, token: &str) -> Answer {
        self.send(
            token,
            "tools/call",
            json!({"name": "siem.get_alert", "arguments": {"alert_id": "ALR-2001"}}),
        )
        .await
    }

    fn calls_by(&self, agent: &str) -> usize {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|a| *a == agent)
            .count()
    }

    fn events(&self, kind: &str) -> Vec<warden_store::ledger::LedgerEntry> {
        read_events(
            self.store.as_ref(),
            &EventFilter {
                kind: Some(kind.into()),
                ..EventFilter::default()
            },
        )
        .unwrap()
    }

    fn rate_findings(&self) -> Vec<Value> {
        self.events("finding")
            .into_iter()
            .filter_map(|e| e.event.detail)
            .filter(|d| d["detector"] == "rate_limit")
            .collect()
    }

    fn ledger_size(&self) -> u64 {
        self.store.ledger_size().unwrap()
    }

    async fn settle(&self) {
        self.gateway.flush_audit().await;
    }
}

fn served(a: &Answer) -> bool {
    a.status == StatusCode::OK && a.text().contains("done")
}

/// Issue 19: one agent's token floods `/mcp`. Past its burst each request is refused with 429,
/// `Retry-After` and a JSON-RPC error, before anything of it is decided, recorded or
/// forwarded; the whole flood adds one finding to the ledger, not one leaf per request. The
/// other agent is served meanwhile, and the flooding agent is served again once its bucket
/// refills on the injected clock.
#[tokio::test]
async fn a_flooding_agent_is_refused_429_before_the_pipeline_and_others_are_served() {
    let f = front("agent_requests_per_sec = 1\nagent_burst = 3").await;
    for _ in 0..3 {
        let a = f.read(TRIAGE).await;
        assert!(served(&a), "{a:?}");
    }
    f.settle().await;
    let decisions = f.events("decision").len();
    let leaves = f.ledger_size();

    for _ in 0..50 {
        let a = f.read(TRIAGE).await;
        assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{a:?}");
        assert_eq!(a.retry_after, Some(1), "{a:?}");
        assert_eq!(a.message["jsonrpc"], "2.0", "{a:?}");
        let message = a.message["error"]["message"].as_str().unwrap();
        assert!(message.contains("agent_requests_per_sec"), "{message}");
    }
    f.settle().await;
    assert_eq!(
        f.calls_by("triage"),
        3,
        "no refused call reached an upstream"
    );
    assert_eq!(f.events("decision").len(), decisions, "none was decided");
    assert_eq!(
        f.ledger_size(),
        leaves + 1,
        "fifty refusals add one leaf to the ledger"
    );
    let findings = f.rate_findings();
    assert_eq!(findings.len(), 1, "{findings:?}");
    let finding = &f.events("finding")[0].event;
    assert_eq!(finding.principal.as_deref(), Some("triage"));

    // The other agent has its own bucket.
    let a = f.read(RESPONDER).await;
    assert!(served(&a), "{a:?}");
    assert_eq!(f.calls_by("responder"), 1);

    // A second later the flooding agent has one request again; the next is refused again,
    // and within the minute adds nothing to the ledger.
    f.clock.advance(Duration::from_secs(1));
    assert!(served(&f.read(TRIAGE).await));
    assert_eq!(f.read(TRIAGE).await.status, StatusCode::TOO_MANY_REQUESTS);
    f.settle().await;
    assert_eq!(f.rate_findings().len(), 1);

    // A minute on, the flood goes on: its next finding counts every refusal since the first.
    f.clock.advance(Duration::from_secs(60));
    for _ in 0..3 {
        assert!(served(&f.read(TRIAGE).await));
    }
    assert_eq!(f.read(TRIAGE).await.status, StatusCode::TOO_MANY_REQUESTS);
    f.settle().await;
    let findings = f.rate_findings();
    assert_eq!(findings.len(), 2, "{findings:?}");
    assert_eq!(findings[0]["refused"], 1);
    assert_eq!(findings[1]["refused"], 50 - 1 + 1 + 1, "{findings:?}");
    assert_eq!(f.calls_by("triage"), 3 + 1 + 3);
}

/// The hooks endpoint shares the agent's rate with `/mcp`: a flood there is refused, and uses
/// up the same bucket. The refusal is in the hook's own terms (200, a reply that blocks, and
/// `Retry-After`): Claude Code runs the tool on a 429.
#[tokio::test]
async fn the_hooks_endpoint_shares_the_agents_rate() {
    let f = front("agent_requests_per_sec = 1\nagent_burst = 2").await;
    assert!(served(&f.read(TRIAGE).await));
    assert!(served(&f.read(TRIAGE).await));
    let (status, retry_after, reply) = pre_tool_use(&f, TRIAGE).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(retry_after, Some(1), "{reply}");
    let (decision, reason) = hook_decision(&reply);
    assert_eq!(decision, "deny", "{reply}");
    assert!(reason.contains("agent_requests_per_sec"), "{reason}");
    // The refused event was not read as a call: nothing decided.
    assert!(
        f.events("decision")
            .iter()
            .all(|e| e.event.tool.as_deref() != Some("claude.read")),
        "a refused hook event was decided"
    );
}

fn halt(f: &Front, scope: warden_gateway::halt::Scope) {
    assert!(
        warden_gateway::halt::set(
            f.store.as_ref(),
            f.audit.as_ref(),
            &scope,
            "dana",
            "misbehaving",
            json!(null),
            f.clock.now_ms(),
        )
        .unwrap()
    );
}

fn tool_names(a: &Answer) -> Vec<String> {
    a.message["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("no tools in {a:?}"))
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

/// Issue 19: a halted agent's calls are refused, and so is its `tools/list`: it learns nothing
/// more of the upstreams and cannot make warden list them again. Another agent still lists,
/// without the tools of a halted category.
#[tokio::test]
async fn a_halted_agent_is_refused_its_tool_listing() {
    let f = front("").await;
    // Past `catalog_refresh_secs`: a listing served now would list the upstreams again.
    f.clock.advance(Duration::from_secs(10));
    // Halted before anything reads the halts (the gateway re-reads them at most every
    // `halt::REFRESH` of real time).
    halt(&f, warden_gateway::halt::Scope::Agent("triage".into()));
    halt(&f, warden_gateway::halt::Scope::Category("identity".into()));
    let listings = *f.listings.lock().unwrap();

    let listed = f.send(TRIAGE, "tools/list", json!({})).await;
    let text = listed.text();
    assert!(listed.message.get("result").is_none(), "{text}");
    assert!(
        text.contains("halted by warden") && text.contains("agent:triage"),
        "{text}"
    );
    assert!(!text.contains("siem"), "{text}");
    assert_eq!(
        *f.listings.lock().unwrap(),
        listings,
        "the refused listing listed no upstream"
    );
    let called = f.read(TRIAGE).await;
    assert!(called.text().contains("halted by warden"), "{called:?}");

    // The other agent lists, without the halted category's tools.
    let other = tool_names(&f.send(RESPONDER, "tools/list", json!({})).await);
    assert!(other.iter().any(|n| n.contains("get_user")), "{other:?}");
    assert!(
        !other.iter().any(|n| n.contains("disable_account")),
        "{other:?}"
    );
}

/// The responder's comment on the incident it has read (the example lets it run unattended).
async fn comment(f: &Front) -> Answer {
    f.send(
        RESPONDER,
        "tools/call",
        json!({"name": "tickets.add_comment",
               "arguments": {"incident": "INC-1042", "comment": "contained"}}),
    )
    .await
}

/// The responder reads a host of the incident it will comment on, as the example requires.
async fn read_before_writing(f: &Front) {
    let a = f
        .send(
            RESPONDER,
            "tools/call",
            json!({"name": "edr.get_host", "arguments": {"host": "ws-042"}}),
        )
        .await;
    assert!(served(&a), "{a:?}");
}

/// What an agent must never learn of warden's store from a refusal.
fn tells_nothing_of_the_store(a: &Answer) {
    let text = a.text();
    for secret in [
        "postgresql",
        "hunter2",
        "db.internal",
        "5432",
        "refused",
        "agent_taints",
        "at_ms",
        "sqlite",
        "warden.db",
        "column",
    ] {
        assert!(
            !text.to_lowercase().contains(secret),
            "the refusal names `{secret}`: {text}"
        );
    }
}

/// The JSON-RPC error of a refused call: its code and whether it says the call may be sent
/// again.
fn refusal(a: &Answer) -> (i64, Value) {
    let error = &a.message["error"];
    assert!(error.is_object(), "not an error: {a:?}");
    (error["code"].as_i64().unwrap(), error["data"].clone())
}

/// Issue 18: PostgreSQL stops mid-run (every store operation fails as a stopped server's pool
/// does). warden fails closed — the write reaches no upstream — and tells the agent, in the
/// error's code and data, that the same call may succeed later, without a word of the
/// connection string. Once the store is back, the same call runs.
#[tokio::test]
async fn a_call_while_the_store_is_down_is_refused_as_retryable_and_runs_once_it_is_back() {
    let f = front("").await;
    read_before_writing(&f).await;
    assert_eq!(f.calls_by("responder"), 1);

    f.flaky.set_down(true);
    for _ in 0..3 {
        let a = comment(&f).await;
        let (code, data) = refusal(&a);
        assert_eq!(code, -32001, "{a:?}");
        assert_eq!(data["retryable"], true, "{a:?}");
        assert_eq!(data["retry_after_secs"], 5, "{a:?}");
        tells_nothing_of_the_store(&a);
        f.clock.advance(Duration::from_secs(5));
    }
    assert_eq!(f.calls_by("responder"), 1, "nothing was forwarded");

    f.flaky.set_down(false);
    let a = comment(&f).await;
    assert!(served(&a), "{a:?}");
    assert_eq!(f.calls_by("responder"), 2);
}

/// Issue 18: the connection drops while the decision commits (the ledger's append fails, the
/// reads before it succeeded). The write is not forwarded, the agent is told it may retry,
/// and the ledger takes appends again once the store is back: the same call runs.
#[tokio::test]
async fn a_decision_that_cannot_commit_for_now_is_refused_as_retryable() {
    let f = front("").await;
    read_before_writing(&f).await;
    f.settle().await;
    let decisions = f.events("decision").len();

    f.flaky.set_appends_down(true);
    let a = comment(&f).await;
    let (code, data) = refusal(&a);
    assert_eq!(code, -32001, "{a:?}");
    assert_eq!(data["retryable"], true, "{a:?}");
    tells_nothing_of_the_store(&a);
    assert_eq!(f.calls_by("responder"), 1, "nothing was forwarded");

    f.flaky.set_appends_down(false);
    let a = comment(&f).await;
    assert!(served(&a), "{a:?}");
    assert_eq!(f.calls_by("responder"), 2);
    f.settle().await;
    assert_eq!(
        f.events("decision").len(),
        decisions + 1,
        "the refused call left no decision; the one that ran did"
    );
}

/// A row of the agent's taint that no warden wrote (a value of the wrong type where a time
/// belongs): reading it fails the same way every time.
fn corrupt_the_taint_of(f: &Front, agent: &str) {
    let db = rusqlite::Connection::open(&f.db).unwrap();
    db.execute(
        "INSERT INTO agent_taints (agent, session, level, source, at_ms, until_ms)
         VALUES (?1, 's', 10, 'x', 'not a time', 9223372036854775807)",
        [agent],
    )
    .unwrap();
}

/// Issue 18: a corrupt record is not a store that is down: the call is refused, not forwarded,
/// and the agent is told that sending it again will not help (JSON-RPC's internal error,
/// `retryable: false`) — and indeed it does not.
#[tokio::test]
async fn a_corrupt_record_refuses_the_call_as_not_retryable() {
    let f = front("").await;
    read_before_writing(&f).await;
    corrupt_the_taint_of(&f, "responder");
    for _ in 0..2 {
        let a = comment(&f).await;
        let (code, data) = refusal(&a);
        assert_eq!(code, -32603, "{a:?}");
        assert_eq!(data["retryable"], false, "{a:?}");
        tells_nothing_of_the_store(&a);
        f.clock.advance(Duration::from_secs(5));
    }
    assert_eq!(f.calls_by("responder"), 1, "nothing was forwarded");
}

/// A Claude Code `PreToolUse` for `Read`, as the agent with `token`.
async fn pre_tool_use(f: &Front, token: &str) -> (StatusCode, Option<u64>, Value) {
    let event = json!({
        "session_id": "cc-1",
        "hook_event_name": "PreToolUse",
        "tool_name": "Read",
        "tool_input": {"file_path": "/cases/notes.md"},
        "tool_use_id": "toolu_1",
    });
    let resp = f
        .app
        .clone()
        .oneshot(
            Request::post("/hooks/claude-code")
                .header("host", "127.0.0.1")
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/json")
                .body(Body::from(event.to_string()))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = resp.status();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, retry_after, serde_json::from_slice(&bytes).unwrap())
}

fn hook_decision(reply: &Value) -> (&str, &str) {
    let out = &reply["hookSpecificOutput"];
    (
        out["permissionDecision"].as_str().unwrap_or_default(),
        out["permissionDecisionReason"].as_str().unwrap_or_default(),
    )
}

/// Issue 18: the Claude Code hook while the store is down, then with a corrupt record. It
/// denies both, with status 200 — Claude Code runs the tool on any other status, so a 503
/// would let it through — and says which may pass: `Retry-After` and "may succeed" for the
/// store that is down, neither for the corrupt record. Nothing of the store is in the reason.
#[tokio::test]
async fn the_hook_denies_while_the_store_fails_and_says_whether_to_retry() {
    let f = front_with(
        "",
        &[
            (
                "[owners]\n",
                "[owners]\nclaude-code = \"soc-lead@northwind.example\"\n",
            ),
            (
                "[stdio]\n",
                "[claude_code]\nwrite_roots = [\"/cases\"]\n\n[stdio]\n",
            ),
        ],
    )
    .await;

    f.flaky.set_down(true);
    let (status, retry_after, reply) = pre_tool_use(&f, TRIAGE).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(retry_after, Some(5), "{reply}");
    let (decision, reason) = hook_decision(&reply);
    assert_eq!(decision, "deny", "{reply}");
    assert!(reason.contains("may succeed if sent again"), "{reason}");
    assert!(!reason.to_lowercase().contains("postgresql"), "{reason}");
    assert!(!reason.contains("hunter2"), "{reason}");

    f.flaky.set_down(false);
    corrupt_the_taint_of(&f, "triage");
    let (status, retry_after, reply) = pre_tool_use(&f, TRIAGE).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(retry_after, None, "{reply}");
    let (decision, reason) = hook_decision(&reply);
    assert_eq!(decision, "deny", "{reply}");
    assert!(reason.contains("will not help"), "{reason}");
    assert!(!reason.contains("not a time"), "{reason}");
}

/// A compromised agent floods the approvers with held calls (each one different, each a
/// plausible request), to bury the one that matters or to tire them into approving in bulk.
/// Past `[approvals] max_pending_per_agent` requests waiting, a call that would be held is
/// denied (rule `pending-cap`), recorded, and not put before the approvers; another agent's
/// calls are still held; once a request is answered, the agent may be held again.
#[tokio::test]
async fn an_agent_cannot_bury_the_approvers_in_held_calls() {
    let f = front_with(
        "",
        &[("[approvals]\n", "[approvals]\nmax_pending_per_agent = 3\n")],
    )
    .await;
    let mut held = Vec::new();
    for n in 0..3 {
        let a = disable(&f, n).await;
        assert!(a.text().contains("held for approval"), "{a:?}");
        held.push(a);
    }
    // Two past the cap (five denials in a minute would halt the agent: the monitor's
    // `denial_burst`, which a flood past the cap sets off).
    for n in 3..5 {
        let a = disable(&f, n).await;
        assert!(!a.text().contains("held for approval"), "{a:?}");
        assert!(
            a.text().contains("max_pending_per_agent") && a.text().contains("denied"),
            "{a:?}"
        );
    }
    f.settle().await;
    let waiting = f.store.open_requests().unwrap();
    assert_eq!(waiting.count, 3, "{waiting:?}");
    let capped = f
        .events("decision")
        .into_iter()
        .filter(|e| e.event.rule.as_deref() == Some("pending-cap"))
        .count();
    assert_eq!(capped, 2, "each refusal is recorded");
    assert_eq!(f.calls_by("responder"), 0, "nothing was forwarded");

    // The cap is the agent's: the triage agent's call is still held.
    let a = f
        .send(
            TRIAGE,
            "tools/call",
            json!({"name": "tickets.close_incident",
                   "arguments": {"incident": "INC-1042", "resolution": "done"}}),
        )
        .await;
    assert!(!a.text().contains("max_pending_per_agent"), "{a:?}");

    // One of the responder's requests expires: it may be held again.
    f.clock.advance(Duration::from_secs(31 * 60));
    f.settle().await;
    f.gateway.sweep().await;
    let a = disable(&f, 11).await;
    assert!(a.text().contains("held for approval"), "{a:?}");
}

/// The cap holds against a wave: calls sent together all pass a count of the stored requests
/// before any of theirs is stored, so the count alone let a wave of held calls file far more
/// requests than the cap. Sent all at once, no more than the cap are held; the rest are
/// refused, each recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_wave_of_held_calls_sent_together_stays_within_the_cap() {
    let f = front_with(
        "",
        &[("[approvals]\n", "[approvals]\nmax_pending_per_agent = 3\n")],
    )
    .await;
    // Seven: four refused stay under the monitor's `denial_burst` (five denials in a minute
    // halt the agent, which would expire what was held).
    let answers = futures::future::join_all((0..7).map(|n| disable(&f, n))).await;
    let held = answers
        .iter()
        .filter(|a| a.text().contains("held for approval"))
        .count();
    let refused = answers
        .iter()
        .filter(|a| a.text().contains("max_pending_per_agent"))
        .count();
    f.settle().await;
    assert_eq!((held, refused), (3, 4), "{answers:?}");
    let waiting = f.store.open_requests().unwrap();
    assert_eq!(waiting.count, 3, "{waiting:?}");
    assert_eq!(f.calls_by("responder"), 0, "nothing was forwarded");
}

/// A halt expires the open requests of its scope; a call being held while the halt is set
/// (decided before it, its request stored after the halt swept) must not outlive it as a
/// request an approver can grant once the halt is lifted. It is expired as it is stored, and
/// the agent is told it is halted.
#[tokio::test]
async fn a_call_held_while_a_halt_is_set_does_not_outlive_it() {
    let f = front("").await;
    let (store, audit, now) = (f.store.clone(), f.audit.clone(), f.clock.now_ms());
    *f.flaky.before_pending.lock().unwrap() = Some(Box::new(move || {
        assert!(
            warden_gateway::halt::set(
                store.as_ref(),
                audit.as_ref(),
                &warden_gateway::halt::Scope::Agent("responder".into()),
                "dana",
                "misbehaving",
                json!(null),
                now,
            )
            .unwrap()
        );
    }));
    let a = disable(&f, 0).await;
    assert!(a.text().contains("halted by warden"), "{a:?}");
    f.settle().await;
    let waiting = f.store.open_requests().unwrap();
    assert_eq!(waiting.count, 0, "{waiting:?}");
    // Lifted: nothing of the halted agent's is left for an approver to grant.
    warden_gateway::halt::resume(
        f.store.as_ref(),
        f.audit.as_ref(),
        &warden_gateway::halt::Scope::Agent("responder".into()),
        "dana",
        &warden_gateway::gate::credentials(&f.gateway.config()),
        "checked",
        f.clock.now_ms(),
    )
    .unwrap();
    let waiting = f.store.open_requests().unwrap();
    assert_eq!(waiting.count, 0, "{waiting:?}");
    assert_eq!(f.calls_by("responder"), 0, "nothing was forwarded");
}

/// The responder's request to disable bob.ng, the `n`th of its kind (each reason different):
/// a call the example holds for a human.
async fn disable(f: &Front, n: usize) -> Answer {
    f.send(
        RESPONDER,
        "tools/call",
        json!({"name": "idp.disable_account",
               "arguments": {"user": "bob.ng", "reason": format!("suspicious sign-in {n}")}}),
    )
    .await
}
