//! Agents with OAuth 2.1 access tokens: warden as the protected resource. A local "identity
//! provider" (a key pair made here and its key set served on loopback) mints tokens; a real MCP
//! client presents them. Only a token signed by the issuer's key, for warden's audience, in
//! its lifetime, with the required scope and naming a configured agent gets in; every forgery
//! an attacker would try first is refused, and the refusal says where the resource's metadata
//! is (RFC 9728), as MCP clients expect.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

const AUDIENCE: &str = "https://warden.northwind.example/mcp";

/// A local identity provider: an Ed25519 key (`kid` "idp-ed-1") and the RSA test key
/// (`kid` "idp-rsa-1"), with its key set served on loopback.
struct Idp {
    issuer: String,
    ed: SigningKey,
    rsa_pem: Vec<u8>,
    fetches: Arc<AtomicUsize>,
}

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn ed_jwk(key: &SigningKey, kid: &str) -> Value {
    json!({
        "kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA", "kid": kid,
        "x": URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes()),
    })
}

impl Idp {
    async fn start() -> Self {
        let ed = SigningKey::generate(&mut rand::rngs::OsRng);
        let rsa_jwk: Value =
            serde_json::from_slice(&std::fs::read(fixture("oauth-test-rsa.jwk.json")).unwrap())
                .unwrap();
        // Beside the signing keys, what identity providers also publish: an encryption key
        // and a symmetric one, neither of which may ever check a signature.
        let set = json!({"keys": [
            ed_jwk(&ed, "idp-ed-1"),
            rsa_jwk,
            {"kty": "oct", "kid": "idp-oct", "k": URL_SAFE_NO_PAD.encode(b"shared-secret")},
            {"kty": "RSA", "kid": "idp-enc", "use": "enc", "alg": "RSA-OAEP",
             "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw",
             "e": "AQAB"},
        ]});
        let fetches = Arc::new(AtomicUsize::new(0));
        let counted = fetches.clone();
        let app = axum::Router::new().route(
            "/jwks",
            axum::routing::get(move || {
                counted.fetch_add(1, Ordering::SeqCst);
                let set = set.clone();
                async move { axum::Json(set) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            issuer: format!("http://{addr}"),
            ed,
            rsa_pem: std::fs::read(fixture("oauth-test-rsa.pem")).unwrap(),
            fetches,
        }
    }

    fn claims(&self) -> Value {
        let now = now_ms() / 1000;
        json!({
            "iss": self.issuer, "aud": AUDIENCE, "sub": "triage-client",
            "iat": now, "exp": now + 600, "scope": "openid mcp:tools",
        })
    }

    fn ed_token(&self, claims: &Value) -> String {
        let der = self.ed.to_pkcs8_der().unwrap();
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some("idp-ed-1".into());
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_der(der.as_bytes())).unwrap()
    }

    /// A token signed by the issuer's Ed25519 key with `typ` in its header (`None`: no `typ`).
    fn ed_token_typed(&self, typ: Option<&str>, claims: &Value) -> String {
        let der = self.ed.to_pkcs8_der().unwrap();
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some("idp-ed-1".into());
        header.typ = typ.map(str::to_string);
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_der(der.as_bytes())).unwrap()
    }

    fn rsa_token(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some("idp-rsa-1".into());
        jsonwebtoken::encode(
            &header,
            claims,
            &EncodingKey::from_rsa_pem(&self.rsa_pem).unwrap(),
        )
        .unwrap()
    }

    fn with(&self, change: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
        let mut claims = self.claims();
        change(claims.as_object_mut().unwrap());
        claims
    }
}

/// The example lab, its triage agent also known to the identity provider as `triage-client`.
fn lab(idp: &Idp, extra: &str) -> Lab {
    let section = format!(
        "\n[oauth]\nissuer = \"{iss}\"\naudience = \"{AUDIENCE}\"\njwks_url = \"{iss}/jwks\"\n\
         scopes = [\"mcp:tools\"]\n{extra}\n",
        iss = idp.issuer
    );
    Lab::with_config(|c| {
        let agent = "[agents.triage]\n";
        assert!(c.contains(agent));
        c.replace(
            agent,
            "[agents.triage]\noauth_subject = \"triage-client\"\n",
        ) + &section
    })
}

/// What warden answers an `initialize` carrying `token`: the status and the challenge.
async fn initialize(w: &Warden, token: Option<&str>) -> (u16, String) {
    let mut request = reqwest::Client::new()
        .post(&w.url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-06-18", "capabilities": {},
                "clientInfo": {"name": "probe", "version": "1"}}})
            .to_string(),
        );
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (response.status().as_u16(), challenge)
}

fn assert_refused(status: u16, challenge: &str, what: &str) {
    assert_eq!(status, 401, "{what}: must be refused");
    assert!(
        challenge.contains("error=\"invalid_token\""),
        "{what}: {challenge}"
    );
    assert!(
        challenge.contains("resource_metadata=\"https://warden.northwind.example/.well-known/oauth-protected-resource/mcp\""),
        "{what}: the challenge names the metadata: {challenge}"
    );
}

fn unsigned(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// `alg: HS256` signed with `secret`: the algorithm-confusion forgery, where a verifier that
/// trusts the header checks an HMAC keyed with the issuer's public key.
fn hs256(kid: &str, secret: &[u8], claims: &Value) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(kid.into());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret)).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_from_the_issuer_authenticates_the_agent_it_names() {
    let idp = Idp::start().await;
    let lab = lab(&idp, "");
    let w = lab.serve();
    for token in [idp.ed_token(&idp.claims()), idp.rsa_token(&idp.claims())] {
        let client = w.client(&token).await;
        let read = client
            .call("siem.get_alert", json!({"alert_id": "ALR-2001"}))
            .await
            .unwrap();
        assert_ne!(read.is_error, Some(true), "{}", text(&read));
    }
    // The static token of the same agent still works beside them.
    let client = w.client(TRIAGE).await;
    assert!(!client.tool_names().await.is_empty());
    let decisions = lab.events("decision");
    let reads: Vec<&Value> = decisions
        .iter()
        .filter(|e| e["tool"] == "siem.get_alert")
        .collect();
    assert_eq!(reads.len(), 2, "{decisions:?}");
    assert!(
        reads.iter().all(|e| e["principal"] == "triage"),
        "{reads:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_expired_and_misdirected_tokens_are_refused() {
    let idp = Idp::start().await;
    let lab = lab(&idp, "leeway_secs = 30");
    let w = lab.serve();
    let now = now_ms() / 1000;
    let attacker = SigningKey::generate(&mut rand::rngs::OsRng);
    let attacker_der = attacker.to_pkcs8_der().unwrap();
    let rsa_public_pem = std::fs::read(fixture("oauth-test-rsa.pub.pem")).unwrap();
    let rsa_jwk = std::fs::read(fixture("oauth-test-rsa.jwk.json")).unwrap();
    let forged_with = |kid: &str, claims: &Value| {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.into());
        jsonwebtoken::encode(
            &header,
            claims,
            &EncodingKey::from_ed_der(attacker_der.as_bytes()),
        )
        .unwrap()
    };
    let cases: Vec<(&str, String)> = vec![
        (
            "expired",
            idp.ed_token(&idp.with(|c| {
                c.insert("exp".into(), json!(now - 120));
            })),
        ),
        (
            "not valid yet",
            idp.ed_token(&idp.with(|c| {
                c.insert("nbf".into(), json!(now + 600));
            })),
        ),
        (
            "without exp",
            idp.ed_token(&idp.with(|c| drop(c.remove("exp")))),
        ),
        (
            "for another audience",
            idp.ed_token(&idp.with(|c| {
                c.insert("aud".into(), json!(["https://siem.northwind.example"]));
            })),
        ),
        (
            "from another issuer",
            idp.ed_token(&idp.with(|c| {
                c.insert("iss".into(), json!("https://evil.example"));
            })),
        ),
        (
            "signed by an unknown key",
            forged_with("attacker-key", &idp.claims()),
        ),
        (
            "signed by another key under the issuer's kid",
            forged_with("idp-ed-1", &idp.claims()),
        ),
        (
            "alg none",
            unsigned(&json!({"alg": "none", "typ": "JWT"}), &idp.claims()),
        ),
        (
            "alg none under the issuer's kid",
            unsigned(
                &json!({"alg": "none", "typ": "JWT", "kid": "idp-rsa-1"}),
                &idp.claims(),
            ),
        ),
        (
            "HS256 keyed with the RSA public key (PEM)",
            hs256("idp-rsa-1", &rsa_public_pem, &idp.claims()),
        ),
        (
            "HS256 keyed with the RSA public key (JWK)",
            hs256("idp-rsa-1", &rsa_jwk, &idp.claims()),
        ),
        (
            "HS256 keyed with the Ed25519 public key",
            hs256("idp-ed-1", idp.ed.verifying_key().as_bytes(), &idp.claims()),
        ),
        (
            "HS256 keyed with the set's symmetric key",
            hs256("idp-oct", b"shared-secret", &idp.claims()),
        ),
        ("a claim changed after signing", {
            let token = idp.ed_token(&idp.claims());
            let mut parts: Vec<&str> = token.split('.').collect();
            let tampered = URL_SAFE_NO_PAD.encode(
                idp.with(|c| {
                    c.insert("sub".into(), json!("responder-client"));
                })
                .to_string(),
            );
            parts[1] = &tampered;
            parts.join(".")
        }),
    ];
    for (what, token) in &cases {
        let (status, challenge) = initialize(&w, Some(token)).await;
        assert_refused(status, &challenge, what);
    }
    // A flood of made-up key ids fetches the key set again at most once (the cool-down):
    // the identity provider is not at an attacker's command.
    let before = idp.fetches.load(Ordering::SeqCst);
    for i in 0..20 {
        let token = forged_with(&format!("made-up-{i}"), &idp.claims());
        let (status, challenge) = initialize(&w, Some(&token)).await;
        assert_refused(status, &challenge, "made-up key id");
    }
    let after = idp.fetches.load(Ordering::SeqCst);
    assert!(after - before <= 1, "{before} → {after} fetches");
    // And the real token still works afterwards.
    let (status, _) = initialize(&w, Some(&idp.ed_token(&idp.claims()))).await;
    assert_eq!(status, 200);
    assert!(
        lab.events("decision").is_empty(),
        "nothing reached the pipeline"
    );
}

/// An identity provider signs its ID tokens with the key that signs its access tokens, and an
/// ID token for the same client can carry warden's audience (OpenID Connect sets `aud` to the
/// client id, and some providers let it be chosen). Only the header's `typ` tells an RFC 9068
/// access token (`at+jwt`) from it; with `require_typ`, warden refuses anything else.
#[tokio::test(flavor = "multi_thread")]
async fn an_id_token_is_not_an_access_token_where_the_type_is_required() {
    let idp = Idp::start().await;
    let id_token_claims = idp.with(|c| {
        c.insert("nonce".into(), json!("n-0S6_WzA2Mj"));
        c.insert("auth_time".into(), json!(now_ms() / 1000 - 5));
    });
    let id_token = idp.ed_token_typed(Some("JWT"), &id_token_claims);
    let untyped = idp.ed_token_typed(None, &idp.claims());
    let access = idp.ed_token_typed(Some("at+jwt"), &idp.claims());

    // Not required: the ID token with warden's audience passes, as any JWT from the issuer.
    let open = lab(&idp, "");
    let w = open.serve();
    assert_eq!(initialize(&w, Some(&id_token)).await.0, 200);
    assert_eq!(initialize(&w, Some(&access)).await.0, 200);
    drop(w);

    let strict = lab(&idp, "require_typ = \"at+jwt\"");
    let w = strict.serve();
    for (what, token) in [
        ("an ID token (typ JWT)", &id_token),
        ("a token without typ", &untyped),
        (
            "a token typed as a logout token",
            &idp.ed_token_typed(Some("logout+jwt"), &idp.claims()),
        ),
        (
            "another media type whose subtype is at+jwt",
            &idp.ed_token_typed(Some("text/at+jwt"), &idp.claims()),
        ),
    ] {
        let (status, challenge) = initialize(&w, Some(token)).await;
        assert_refused(status, &challenge, what);
    }
    // The type compares as RFC 7515 says: case-insensitive, `application/` prefix optional.
    for typ in [
        "at+jwt",
        "AT+JWT",
        "application/at+jwt",
        "Application/AT+JWT",
    ] {
        let token = idp.ed_token_typed(Some(typ), &idp.claims());
        assert_eq!(initialize(&w, Some(&token)).await.0, 200, "typ {typ}");
    }
    // And an access token through a real client reaches the tool.
    let client = w.client(&access).await;
    let read = client
        .call("siem.get_alert", json!({"alert_id": "ALR-2001"}))
        .await
        .unwrap();
    assert_ne!(read.is_error, Some(true), "{}", text(&read));
    let reads: Vec<Value> = strict
        .events("decision")
        .into_iter()
        .filter(|e| e["tool"] == "siem.get_alert")
        .collect();
    assert_eq!(reads.len(), 1, "{reads:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_good_token_without_the_scope_or_the_agent_is_forbidden() {
    let idp = Idp::start().await;
    let lab = lab(&idp, "");
    let w = lab.serve();
    let no_scope = idp.ed_token(&idp.with(|c| {
        c.insert("scope".into(), json!("openid profile"));
    }));
    let (status, challenge) = initialize(&w, Some(&no_scope)).await;
    assert_eq!(status, 403);
    assert!(
        challenge.contains("error=\"insufficient_scope\"")
            && challenge.contains("scope=\"mcp:tools\""),
        "{challenge}"
    );
    // `scp` as a list (as some identity providers write it) carries the scope too.
    let scp = idp.ed_token(&idp.with(|c| {
        c.remove("scope");
        c.insert("scp".into(), json!(["mcp:tools"]));
    }));
    assert_eq!(initialize(&w, Some(&scp)).await.0, 200);
    // A valid token for a subject no agent is configured with.
    let stranger = idp.ed_token(&idp.with(|c| {
        c.insert("sub".into(), json!("someone-else"));
    }));
    let (status, challenge) = initialize(&w, Some(&stranger)).await;
    assert_eq!(status, 403, "{challenge}");
    // No token at all: told where to find the authorization server.
    let (status, challenge) = initialize(&w, None).await;
    assert_eq!(status, 401);
    assert!(challenge.contains("resource_metadata="), "{challenge}");
    assert!(!challenge.contains("error="), "{challenge}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_protected_resource_metadata_names_the_issuer() {
    let idp = Idp::start().await;
    let lab = lab(&idp, "");
    let w = lab.serve();
    for path in [
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
    ] {
        let response = reqwest::get(format!("{}{path}", w.base())).await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let metadata: Value = response.json().await.unwrap();
        assert_eq!(metadata["resource"], AUDIENCE);
        assert_eq!(metadata["authorization_servers"], json!([idp.issuer]));
        assert_eq!(metadata["scopes_supported"], json!(["mcp:tools"]));
        assert_eq!(metadata["bearer_methods_supported"], json!(["header"]));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unsafe_oauth_settings_are_refused_at_load() {
    let idp = Idp::start().await;
    for (extra, expected) in [
        (
            "algorithms = [\"HS256\"]",
            "symmetric algorithms are refused",
        ),
        ("algorithms = [\"none\"]", "no signature at all"),
        ("require_typ = \"\"", "is not a JWT type"),
        ("require_typ = \"text/at+jwt\"", "is not a JWT type"),
    ] {
        let lab = lab(&idp, extra);
        let (ok, _, err) = lab.cli(&["policy", "check"]);
        assert!(!ok && err.contains(expected), "{extra}: {err}");
    }
    let lab = Lab::with_config(|c| {
        c + "\n[oauth]\nissuer = \"https://idp.example\"\naudience = \"https://w.example/mcp\"\n\
             jwks_url = \"http://idp.example/jwks\"\n"
    });
    let (ok, _, err) = lab.cli(&["policy", "check"]);
    assert!(!ok && err.contains("plain HTTP"), "{err}");
    let lab = Lab::with_config(|c| {
        c.replace(
            "[agents.triage]\n",
            "[agents.triage]\noauth_subject = \"triage-client\"\n",
        )
    });
    let (ok, _, err) = lab.cli(&["policy", "check"]);
    assert!(!ok && err.contains("needs an `[oauth]` section"), "{err}");
}

/// The official Python SDK, as an agent holding a token from its identity provider uses it:
/// the SDK's streamable-HTTP client with an `Authorization` header. `tests/interop-py/client.py`
/// prints what the SDK saw, or the first HTTP error it got and its challenge, exiting with 3.
fn python_sdk(url: &str, token: &str) -> (Option<i32>, Value) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop-py");
    let python = dir.join(".venv/bin/python");
    assert!(
        python.exists(),
        "the MCP Python SDK is not installed: run ./scripts/test, or \
         `python3 -m venv tests/interop-py/.venv && \
         tests/interop-py/.venv/bin/pip install -r tests/interop-py/requirements.txt`"
    );
    let out = std::process::Command::new(python)
        .arg(dir.join("client.py"))
        .args(["http", url, token])
        .output()
        .unwrap();
    let printed = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), printed)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_python_sdk_calls_with_a_token_from_the_issuer_and_is_refused_an_expired_one() {
    let idp = Idp::start().await;
    let lab = lab(&idp, "");
    let w = lab.serve();
    let url = w.url.clone();
    let valid = idp.ed_token(&idp.claims());
    let now = now_ms() / 1000;
    let expired = idp.ed_token(&idp.with(|c| {
        c.insert("iat".into(), json!(now - 900));
        c.insert("exp".into(), json!(now - 300));
    }));
    let (code, v) = {
        let url = url.clone();
        tokio::task::spawn_blocking(move || python_sdk(&url, &valid))
            .await
            .unwrap()
    };
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["read"]["isError"], false, "{v}");
    assert!(
        v["forbidden"]["protocolError"]
            .as_str()
            .is_some_and(|e| e.contains("unknown tool")),
        "triage is not shown the isolation: {v}"
    );
    let reads: Vec<Value> = lab
        .events("decision")
        .into_iter()
        .filter(|e| e["tool"] == "siem.get_alert")
        .collect();
    assert_eq!(reads.len(), 1, "{reads:?}");
    assert_eq!(reads[0]["principal"], "triage");

    let (code, v) = tokio::task::spawn_blocking(move || python_sdk(&url, &expired))
        .await
        .unwrap();
    assert_eq!(code, Some(3), "the SDK got in with an expired token: {v}");
    let refused = &v["refused"];
    assert_eq!(refused["status"], 401, "{v}");
    assert_refused(
        401,
        refused["challenge"].as_str().unwrap_or_default(),
        "an expired token through the Python SDK",
    );
    assert!(
        refused["challenge"]
            .as_str()
            .is_some_and(|c| c.starts_with("Bearer ")),
        "{v}"
    );
    let after: Vec<Value> = lab
        .events("decision")
        .into_iter()
        .filter(|e| e["tool"] == "siem.get_alert")
        .collect();
    assert_eq!(after.len(), 1, "the expired token reached the pipeline");
}

/// The official TypeScript SDK's client-credentials flow, end to end: the SDK meets warden's
/// 401, reads the resource metadata it names, finds the authorization server's metadata, gets
/// a token for warden's resource (RFC 8707 `resource`) and calls through warden with it.
#[tokio::test(flavor = "multi_thread")]
async fn the_typescript_sdk_finds_the_issuer_and_authenticates_with_client_credentials() {
    let interop = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop");
    assert!(
        interop
            .join("node_modules/@modelcontextprotocol/sdk")
            .exists(),
        "the MCP TypeScript SDK is not installed: run `npm ci --prefix tests/interop`"
    );
    // warden's own URL must be known to its config (it is the resource the token is for).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let resource = format!("http://127.0.0.1:{port}/mcp");
    let ed = SigningKey::generate(&mut rand::rngs::OsRng);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let requested: Arc<std::sync::Mutex<Vec<Value>>> = Arc::default();
    let app = {
        let (issuer, ed, requested) = (issuer.clone(), ed.clone(), requested.clone());
        let metadata = json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/authorize"),
            "token_endpoint": format!("{issuer}/token"),
            "jwks_uri": format!("{issuer}/jwks"),
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "response_types_supported": ["token"],
        });
        let jwks = json!({"keys": [ed_jwk(&ed, "idp-ed-1")]});
        axum::Router::new()
            .route(
                "/.well-known/oauth-authorization-server",
                axum::routing::get(move || {
                    let m = metadata.clone();
                    async move { axum::Json(m) }
                }),
            )
            .route(
                "/jwks",
                axum::routing::get(move || {
                    let j = jwks.clone();
                    async move { axum::Json(j) }
                }),
            )
            .route(
                "/token",
                axum::routing::post(
                    move |headers: axum::http::HeaderMap,
                          axum::Form(form): axum::Form<
                        std::collections::HashMap<String, String>,
                    >| {
                        let (issuer, ed, requested) =
                            (issuer.clone(), ed.clone(), requested.clone());
                        async move {
                            requested.lock().unwrap().push(json!(form));
                            let basic = headers
                                .get("authorization")
                                .and_then(|v| v.to_str().ok())
                                .and_then(|v| v.strip_prefix("Basic "))
                                .and_then(|b| {
                                    base64::engine::general_purpose::STANDARD.decode(b).ok()
                                })
                                .map(|b| String::from_utf8(b).unwrap());
                            if basic.as_deref() != Some("triage-client:s3cret")
                                || form.get("grant_type").map(String::as_str)
                                    != Some("client_credentials")
                            {
                                return (
                                    axum::http::StatusCode::UNAUTHORIZED,
                                    axum::Json(json!({"error": "invalid_client"})),
                                );
                            }
                            let now = now_ms() / 1000;
                            let claims = json!({
                                "iss": issuer, "sub": "triage-client", "iat": now,
                                "exp": now + 600, "scope": "mcp:tools",
                                // The audience is the resource the client asked for.
                                "aud": form.get("resource").cloned().unwrap_or_default(),
                            });
                            let mut header = Header::new(Algorithm::EdDSA);
                            header.kid = Some("idp-ed-1".into());
                            let der = ed.to_pkcs8_der().unwrap();
                            let token = jsonwebtoken::encode(
                                &header,
                                &claims,
                                &EncodingKey::from_ed_der(der.as_bytes()),
                            )
                            .unwrap();
                            (
                                axum::http::StatusCode::OK,
                                axum::Json(json!({"access_token": token,
                                                  "token_type": "Bearer", "expires_in": 600})),
                            )
                        }
                    },
                ),
            )
    };
    tokio::spawn(async move { axum::serve(listener, app).await });
    let lab = Lab::with_config(|c| {
        c.replace(
            "[agents.triage]\n",
            "[agents.triage]\noauth_subject = \"triage-client\"\n",
        ) + &format!(
            "\n[oauth]\nissuer = \"{issuer}\"\naudience = \"{resource}\"\n\
             jwks_url = \"{issuer}/jwks\"\nscopes = [\"mcp:tools\"]\n"
        )
    });
    let w = lab.serve_at(&format!("127.0.0.1:{port}"));
    assert_eq!(w.url, resource);
    let issuer_arg = issuer.clone();
    let out = tokio::task::spawn_blocking(move || {
        let issuer = issuer_arg;
        std::process::Command::new("node")
            .arg(interop.join("client.mjs"))
            .args(["v1", "oauth", &resource, "triage-client:s3cret", &issuer])
            .output()
            .expect("node must be installed")
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["read"]["isError"], false, "{v}");
    // Triage is not shown the isolation at all.
    assert!(
        v["forbidden"]["protocolError"]
            .as_str()
            .is_some_and(|e| e.contains("unknown tool")),
        "{v}"
    );
    let requested = requested.lock().unwrap().clone();
    assert_eq!(requested.len(), 1, "{requested:?}");
    assert_eq!(requested[0]["resource"], w.url.as_str(), "{requested:?}");
    let reads: Vec<Value> = lab
        .events("decision")
        .into_iter()
        .filter(|e| e["tool"] == "siem.get_alert")
        .collect();
    assert_eq!(reads.len(), 1);
    assert_eq!(reads[0]["principal"], "triage");
}
