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

/// warden's own environment holds its secrets (a database password, a webhook secret, an
/// upstream's token): a stdio upstream it starts gets none of it, only what its `env` entries
/// name and what a program needs to run (here, `PATH` to find node's own files).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stdio_upstream_gets_nothing_of_wardens_environment_it_was_not_given() {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/interop/legacy-server.mjs")
        .canonicalize()
        .unwrap();
    let lab = Lab::with_siem(&format!(
        "command = \"node\"\nargs = [{:?}, \"stdio\"]\n",
        script.display().to_string()
    ));
    let warden = lab.serve_with_env("info", &[("SIEM_TOKEN", SECRET)]);
    let r = warden
        .client(TRIAGE)
        .await
        .call("siem.get_alert", json!({"alert_id": "ALR-2001"}))
        .await
        .unwrap();
    assert!(
        text(&r).contains("SIEM_TOKEN=unset"),
        "the child read warden's own variable: {}",
        text(&r)
    );
}

/// `warden init` against an HTTP upstream that needs a token: the token, given as `${VAR}`,
/// reaches the upstream, and the draft names the variable, never the value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_reads_a_guarded_upstream_and_writes_where_its_token_comes_from() {
    let (url, seen) = guarded_siem().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("siem.toml");
    let run = {
        let (url, out) = (url.clone(), out.clone());
        move |header: &str| {
            std::process::Command::new(warden_bin())
                .args([
                    "init", "--server", "siem", "--url", &url, "--header", header,
                ])
                .arg("--out")
                .arg(&out)
                .env("SIEM_TOKEN", SECRET)
                .env("WRONG_TOKEN", "wrong-token")
                .output()
                .unwrap()
        }
    };
    let init = tokio::task::spawn_blocking({
        let run = run.clone();
        move || run("Authorization=Bearer ${SIEM_TOKEN}")
    })
    .await
    .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    assert!(seen.lock().unwrap().contains(&format!("Bearer {SECRET}")));
    let draft = std::fs::read_to_string(&out).unwrap();
    assert!(!draft.contains(SECRET), "the token is in the draft");
    let parsed: toml::Table = toml::from_str(&draft).unwrap();
    let server = &parsed["servers"]["siem"];
    assert_eq!(server["url"].as_str(), Some(url.as_str()));
    assert_eq!(
        server["headers"]["Authorization"]["env"].as_str(),
        Some("SIEM_TOKEN")
    );
    assert_eq!(
        server["headers"]["Authorization"]["prefix"].as_str(),
        Some("Bearer ")
    );
    // get_alert says nothing of being read-only: a held write until a human relabels it.
    let tool = &server["tools"]["get_alert"];
    assert_eq!(tool["effect"].as_str(), Some("write"));
    assert_eq!(tool["args"]["alert_id"].as_str(), Some("string"));

    // A refused token fails the command, says why, writes nothing, and shows no token.
    std::fs::remove_file(&out).unwrap();
    std::fs::remove_file(dir.path().join("siem.cedar")).unwrap();
    let refused = tokio::task::spawn_blocking(move || run("Authorization=Bearer ${WRONG_TOKEN}"))
        .await
        .unwrap();
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("cannot read the tools of `siem`"), "{err}");
    assert!(
        !err.contains("wrong-token") && !err.contains(SECRET),
        "{err}"
    );
    assert!(!out.exists());
}

/// The identity provider's side of the client credentials grant: `tok-<n>` for the client
/// `warden` with the right secret in HTTP Basic, 401 otherwise. `valid` is what the upstream
/// accepts: every token issued and not revoked.
#[derive(Default)]
struct Idp {
    issued: Mutex<Vec<String>>,
    revoked: Mutex<Vec<String>>,
}

const CLIENT_SECRET: &str = "cs-5b0e9d1f77aa";

async fn idp_token(
    State(idp): State<Arc<Idp>>,
    headers: axum::http::HeaderMap,
    body: String,
) -> Response {
    use base64::Engine as _;
    let basic = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .unwrap_or_default();
    let form: Vec<(String, String)> = url_pairs(&body);
    let granted = form.contains(&("grant_type".into(), "client_credentials".into()))
        && form.contains(&("scope".into(), "siem:read".into()));
    if basic != format!("warden:{CLIENT_SECRET}").into_bytes() || !granted {
        return (
            axum::http::StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    let mut issued = idp.issued.lock().unwrap();
    let token = format!("tok-{}", issued.len() + 1);
    issued.push(token.clone());
    axum::Json(json!({"access_token": token, "token_type": "Bearer", "expires_in": 3600}))
        .into_response()
}

fn url_pairs(body: &str) -> Vec<(String, String)> {
    body.split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_string(), v.replace("%3A", ":").replace('+', " ")))
        .collect()
}

async fn check_issued(State(idp): State<Arc<Idp>>, req: Request, next: Next) -> Response {
    let token = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_string();
    let ok = idp.issued.lock().unwrap().contains(&token)
        && !idp.revoked.lock().unwrap().contains(&token);
    if ok {
        next.run(req).await
    } else {
        (
            axum::http::StatusCode::UNAUTHORIZED,
            [("www-authenticate", "Bearer error=\"invalid_token\"")],
            "bad token",
        )
            .into_response()
    }
}

/// A token endpoint at `/token` and a SIEM at `/mcp` that accepts only the tokens it issued.
async fn idp_and_siem() -> (String, Arc<Idp>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let idp = Arc::new(Idp::default());
    let service = StreamableHttpService::new(
        || Ok(Siem),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    let mcp = axum::Router::new().nest_service("/mcp", service).layer(
        axum::middleware::from_fn_with_state(idp.clone(), check_issued),
    );
    let router = axum::Router::new()
        .route("/token", axum::routing::post(idp_token))
        .with_state(idp.clone())
        .merge(mcp);
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://{addr}"), idp)
}

/// The lab with its SIEM at `base`, reached with a token from `base`'s token endpoint; the
/// client secret in `SIEM_CLIENT_SECRET`.
fn lab_behind_oauth(base: &str) -> Lab {
    Lab::with_siem(&format!(
        "url = \"{base}/mcp\"\n\
         oauth = {{ token_url = \"{base}/token\", client_id = \"warden\", \
         client_secret = {{ env = \"SIEM_CLIENT_SECRET\" }}, scopes = [\"siem:read\"] }}\n"
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_behind_oauth_gets_one_token_for_many_calls_and_a_new_one_when_revoked() {
    let (base, idp) = idp_and_siem().await;
    let lab = lab_behind_oauth(&base);
    let warden = lab.serve_with_env("info", &[("SIEM_CLIENT_SECRET", CLIENT_SECRET)]);
    let client = warden.client(TRIAGE).await;
    for _ in 0..3 {
        let r = client
            .call("siem.get_alert", json!({"alert_id": "ALR-2001"}))
            .await;
        assert!(text(&r.unwrap()).contains("authorised read"));
    }
    assert_eq!(
        idp.issued.lock().unwrap().len(),
        1,
        "one token for the connection and every call"
    );

    // The identity provider revokes the token: the call that meets the 401 fails, and the
    // next one fetches a new token and goes through.
    idp.revoked.lock().unwrap().push("tok-1".into());
    let mut answered = false;
    for _ in 0..3 {
        if let Ok(r) = client
            .call("siem.get_alert", json!({"alert_id": "ALR-2001"}))
            .await
            && text(&r).contains("authorised read")
        {
            answered = true;
            break;
        }
    }
    assert!(answered, "no call went through with a new token");
    assert_eq!(idp.issued.lock().unwrap().len(), 2);

    drop(client);
    assert_nowhere(&lab, &warden, CLIENT_SECRET);
    assert_nowhere(&lab, &warden, "tok-2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_client_secret_fails_the_call_and_never_reaches_the_upstream() {
    let (base, idp) = idp_and_siem().await;
    let lab = lab_behind_oauth(&base);
    let warden = lab.serve_with_env("info", &[("SIEM_CLIENT_SECRET", "wrong-secret-71")]);
    let client = warden.client(TRIAGE).await;
    let r = client
        .call("siem.get_alert", json!({"alert_id": "ALR-2001"}))
        .await;
    let shown = match &r {
        Ok(r) => text(r),
        Err(e) => e.to_string(),
    };
    assert!(!shown.contains("authorised read"), "{shown}");
    assert!(idp.issued.lock().unwrap().is_empty());
    drop(client);
    assert_nowhere(&lab, &warden, "wrong-secret-71");
}

#[test]
fn a_client_secret_written_in_the_config_or_a_token_endpoint_over_plain_http_is_refused() {
    for (oauth, says) in [
        (
            r#"oauth = { token_url = "https://idp.example/token", client_id = "w", client_secret = "in-the-file" }"#,
            "must not be written in the config",
        ),
        (
            r#"oauth = { token_url = "http://idp.example/token", client_id = "w", client_secret = { env = "S" } }"#,
            "plain HTTP",
        ),
        (
            r#"tls = { client_cert = "c.pem" }"#,
            "give both `client_cert` and `client_key`",
        ),
    ] {
        let lab = Lab::with_siem(&format!("url = \"https://siem.example/mcp\"\n{oauth}\n"));
        let (ok, _, err) = lab.cli(&["policy", "check"]);
        assert!(!ok);
        assert!(err.contains(says), "{err}");
        assert!(
            !err.contains("in-the-file"),
            "the secret is repeated: {err}"
        );
    }
    // A bearer token never goes to an upstream in clear, and TLS settings on a plain-HTTP URL
    // are refused rather than silently unused.
    for (table, says) in [
        (
            r#"oauth = { token_url = "https://idp.example/token", client_id = "w", client_secret = { env = "S" } }"#,
            "plain HTTP",
        ),
        (
            r#"tls = { ca_file = "ca.pem" }"#,
            "`tls` needs an https URL",
        ),
    ] {
        let lab = Lab::with_siem(&format!("url = \"http://siem.example/mcp\"\n{table}\n"));
        let (ok, _, err) = lab.cli(&["policy", "check"]);
        assert!(!ok);
        assert!(err.contains(says), "{err}");
        assert!(
            !err.contains("in-the-file"),
            "the secret is repeated: {err}"
        );
    }
}

fn tls_fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

/// The SIEM over TLS with the fixture server certificate, asking for a client certificate
/// issued by the fixture CA. Returns its URL and the subjects of the client certificates it saw.
async fn siem_over_mutual_tls() -> (String, Seen) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(tls_fixture("ca.pem")).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let chain: Vec<CertificateDer> = CertificateDer::pem_file_iter(tls_fixture("server.pem"))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(tls_fixture("server.key")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Seen = Arc::default();
    let service = StreamableHttpService::new(
        || Ok(Siem),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    let router = axum::Router::new().nest_service("/mcp", service);
    let clients = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, router, clients) = (acceptor.clone(), router.clone(), clients.clone());
            tokio::spawn(async move {
                // A client without an acceptable certificate fails here, in the handshake.
                let Ok(tls) = acceptor.accept(tcp).await else {
                    clients.lock().unwrap().push("handshake refused".into());
                    return;
                };
                let subject = tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .map(|c| format!("client certificate of {} bytes", c[0].len()))
                    .unwrap_or_default();
                clients.lock().unwrap().push(subject);
                let service = hyper_util::service::TowerToHyperService::new(router);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    (format!("https://127.0.0.1:{}/mcp", addr.port()), seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_reaches_an_upstream_that_trusts_only_its_own_ca() {
    let (url, seen) = siem_over_mutual_tls().await;
    let file = |n: &str| tls_fixture(n).display().to_string();
    let with_tls = |tls: String| Lab::with_siem(&format!("url = \"{url}\"\ntls = {tls}\n"));

    // The upstream's CA trusted, warden's client certificate presented: the call goes through.
    let lab = with_tls(format!(
        "{{ ca_file = {:?}, client_cert = {:?}, client_key = {:?} }}",
        file("ca.pem"),
        file("client.pem"),
        file("client.key")
    ));
    let warden = lab.serve();
    let client = warden.client(TRIAGE).await;
    let r = client
        .call("siem.get_alert", json!({"alert_id": "ALR-2001"}))
        .await
        .unwrap();
    assert!(text(&r).contains("authorised read"), "{}", text(&r));
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .any(|s| s.starts_with("client certificate")),
        "{:?}",
        seen.lock().unwrap()
    );
    drop(client);
    drop(warden);

    // Without a client certificate the upstream refuses the handshake; trusting another CA,
    // warden refuses the upstream (a man in the middle with some other certificate); with the
    // system's roots alone it refuses it too. No call goes through.
    for tls in [
        format!("{{ ca_file = {:?} }}", file("ca.pem")),
        format!(
            "{{ ca_file = {:?}, client_cert = {:?}, client_key = {:?} }}",
            file("other-ca.pem"),
            file("client.pem"),
            file("client.key")
        ),
        format!(
            "{{ client_cert = {:?}, client_key = {:?} }}",
            file("client.pem"),
            file("client.key")
        ),
    ] {
        let lab = with_tls(tls.clone());
        let warden = lab.serve();
        let client = warden.client(TRIAGE).await;
        let r = client
            .call("siem.get_alert", json!({"alert_id": "ALR-2001"}))
            .await;
        let shown = match &r {
            Ok(r) => text(r),
            Err(e) => e.to_string(),
        };
        assert!(!shown.contains("authorised read"), "{tls}: {shown}");
    }
}
