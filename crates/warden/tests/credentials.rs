//! Credentials for upstreams: an HTTP upstream that needs a token gets it from warden's
//! environment or a file, never from the config text, and the token never shows up where an
//! agent, an auditor or a log reader looks — the ledger, the log, `policy check`, the agent's
//! error when the upstream refuses.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use common::*;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::json;
use std::sync::{Arc, Mutex};

const SECRET: &str = "splunk-7d1f0c2a9e4b";

/// A SIEM that answers `get_alert`, behind a check of `Authorization: Bearer SECRET`.
#[derive(Clone)]
struct Siem;

impl ServerHandler for Siem {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(vec![get_alert_tool()]))
    }

    async fn call_tool(
        &self,
        _request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        Ok(
            CallToolResult::success(vec![ContentBlock::text("alert ALR-2001: authorised read")])
                .into(),
        )
    }
}

/// Every `Authorization` value the upstream was sent; requests without the right one get 401.
type Seen = Arc<Mutex<Vec<String>>>;

async fn check_token(State(seen): State<Seen>, req: Request, next: Next) -> Response {
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    seen.lock().unwrap().push(auth.clone());
    if auth == format!("Bearer {SECRET}") {
        next.run(req).await
    } else {
        (axum::http::StatusCode::UNAUTHORIZED, "bad token").into_response()
    }
}

async fn guarded_siem() -> (String, Seen) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Seen = Arc::default();
    let service = StreamableHttpService::new(
        || Ok(Siem),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    let router = axum::Router::new().nest_service("/mcp", service).layer(
        axum::middleware::from_fn_with_state(seen.clone(), check_token),
    );
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://{addr}/mcp"), seen)
}

/// The lab with its SIEM replaced by the guarded one, `headers` written in its table.
fn lab_with_siem(url: &str, headers: &str) -> Lab {
    Lab::with_siem(&format!("url = \"{url}\"\nheaders = {headers}\n"))
}

/// Whatever a person or the agent can read of warden: the ledger, `policy check`, the log.
fn assert_nowhere(lab: &Lab, warden: &Warden, secret: &str) {
    let (ok, ledger, err) = lab.cli(&["audit", "show"]);
    assert!(ok, "{err}");
    assert!(!ledger.contains(secret), "the token is in the ledger");
    let (_, out, err) = lab.cli(&["policy", "check"]);
    assert!(!out.contains(secret) && !err.contains(secret));
    assert!(
        warden.wait_for_log(secret, 0).is_none(),
        "the token is in warden's log"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_from_a_file_reaches_the_upstream_and_nowhere_else() {
    let (url, seen) = guarded_siem().await;
    let lab = lab_with_siem(
        &url,
        r#"{ Authorization = { file = "siem.token", prefix = "Bearer " } }"#,
    );
    std::fs::write(
        lab.config().with_file_name("siem.token"),
        format!("{SECRET}\n"),
    )
    .unwrap();
    let warden = lab.serve_logging("debug");
    let r = warden
        .client(TRIAGE)
        .await
        .call("siem.get_alert", json!({"alert_id": "ALR-2001"}))
        .await
        .unwrap();
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    assert!(text(&r).contains("authorised read"), "{}", text(&r));
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .all(|a| a == &format!("Bearer {SECRET}"))
    );
    let config = std::fs::read_to_string(lab.config()).unwrap();
    assert!(!config.contains(SECRET), "the config holds no secret");
    assert_nowhere(&lab, &warden, SECRET);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_from_warden_s_environment_reaches_the_upstream() {
    let (url, seen) = guarded_siem().await;
    let lab = lab_with_siem(
        &url,
        r#"{ Authorization = { env = "WARDEN_TEST_SIEM_TOKEN", prefix = "Bearer " } }"#,
    );
    let warden = lab.serve_with_env("debug", &[("WARDEN_TEST_SIEM_TOKEN", SECRET)]);
    let r = warden
        .client(TRIAGE)
        .await
        .call("siem.get_alert", json!({"alert_id": "ALR-2001"}))
        .await
        .unwrap();
    assert!(text(&r).contains("authorised read"), "{}", text(&r));
    assert!(!seen.lock().unwrap().is_empty());
    assert_nowhere(&lab, &warden, SECRET);
}

/// A missing variable or a refused token: the agent's call fails, nothing is read, and the
/// error names where the token should come from — never a token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_refused_token_fails_the_call_without_showing_it() {
    let (url, _) = guarded_siem().await;
    let lab = lab_with_siem(
        &url,
        r#"{ Authorization = { env = "WARDEN_TEST_SIEM_TOKEN_UNSET", prefix = "Bearer " } }"#,
    );
    let warden = lab.serve();
    let r = warden
        .client(TRIAGE)
        .await
        .call("siem.get_alert", json!({"alert_id": "ALR-2001"}))
        .await;
    match r {
        Ok(r) => {
            assert_eq!(r.is_error, Some(true), "{}", text(&r));
            assert!(!text(&r).contains("authorised read"));
        }
        Err(e) => assert!(e.to_string().contains("unknown tool"), "{e}"),
    }
    assert!(
        warden
            .wait_for_log("WARDEN_TEST_SIEM_TOKEN_UNSET", 10)
            .is_some(),
        "the log names the missing variable"
    );

    let wrong = "wrong-token-5b2e";
    let lab = lab_with_siem(
        &url,
        r#"{ Authorization = { file = "siem.token", prefix = "Bearer " } }"#,
    );
    std::fs::write(lab.config().with_file_name("siem.token"), wrong).unwrap();
    let warden = lab.serve_logging("debug");
    let r = warden
        .client(TRIAGE)
        .await
        .call("siem.get_alert", json!({"alert_id": "ALR-2001"}))
        .await;
    let said = match &r {
        Ok(r) => text(r),
        Err(e) => e.to_string(),
    };
    assert!(!said.contains("authorised read"), "{said}");
    assert!(!said.contains(wrong), "{said}");
    assert_nowhere(&lab, &warden, wrong);
}

#[test]
fn a_secret_written_in_two_ways_or_a_bad_header_is_a_config_error() {
    for (headers, needle) in [
        (
            r#"{ Authorization = { env = "A", file = "b" } }"#,
            "exactly one of",
        ),
        (r#"{ "Bad Header" = "x" }"#, "not an HTTP header name"),
        (
            r#"{ Authorization = { prefix = "Bearer " } }"#,
            "exactly one of",
        ),
    ] {
        let lab = lab_with_siem("http://127.0.0.1:9/mcp", headers);
        let (ok, _, err) = lab.cli(&["policy", "check"]);
        assert!(!ok, "{headers} was accepted");
        assert!(err.contains(needle), "{headers}: {err}");
    }
}

/// A stdio upstream's environment entry read from a file: the child gets the value, the config
/// holds only where it comes from.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stdio_upstream_gets_its_environment_entry_from_a_file() {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/interop/legacy-server.mjs")
        .canonicalize()
        .unwrap();
    let lab = Lab::with_siem(&format!(
        "command = \"node\"\nargs = [{:?}, \"stdio\"]\nenv = {{ SIEM_TOKEN = {{ file = \"siem.token\" }} }}\n",
        script.display().to_string()
    ));
    std::fs::write(
        lab.config().with_file_name("siem.token"),
        format!("{SECRET}\n"),
    )
    .unwrap();
    let warden = lab.serve();
    let r = warden
        .client(TRIAGE)
        .await
        .call("siem.get_alert", json!({"alert_id": "ALR-2001"}))
        .await
        .unwrap();
    assert!(
        text(&r).contains(&format!("SIEM_TOKEN={SECRET}")),
        "the child has the value: {}",
        text(&r)
    );
    let config = std::fs::read_to_string(lab.config()).unwrap();
    assert!(!config.contains(SECRET));
}
