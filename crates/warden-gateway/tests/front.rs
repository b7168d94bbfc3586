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
use warden_store::ledger::read_events;
use warden_store::{EventFilter, Ledger, LedgerSettings, SqliteStore, Store};

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

struct Front {
    _dir: tempfile::TempDir,
    gateway: Arc<Gateway>,
    app: axum::Router,
    clock: Arc<ManualClock>,
    store: Arc<dyn Store>,
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
    std::fs::write(dir.path().join("warden.toml"), text).unwrap();
    let config = Arc::new(warden_policy::Config::load(&dir.path().join("warden.toml")).unwrap());
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.path().join("state/warden.db")).unwrap());
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

/// The hooks endpoint shares the agent's rate with `/mcp`: a flood there is refused the same
/// way, and uses up the same bucket.
#[tokio::test]
async fn the_hooks_endpoint_shares_the_agents_rate() {
    let f = front("agent_requests_per_sec = 1\nagent_burst = 2").await;
    assert!(served(&f.read(TRIAGE).await));
    assert!(served(&f.read(TRIAGE).await));
    let resp = f
        .app
        .clone()
        .oneshot(
            Request::post("/hooks/claude-code")
                .header("host", "127.0.0.1")
                .header("authorization", format!("Bearer {TRIAGE}"))
                .header("content-type", "application/json")
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().contains_key("retry-after"));
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
