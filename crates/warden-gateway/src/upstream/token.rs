//! Access tokens for an HTTP upstream, from the OAuth 2.1 client credentials grant (RFC 6749
//! section 4.4), and the rmcp HTTP client that sends them.
//!
//! One token is shared by every call to the upstream. It is refreshed before it expires — at
//! the earlier of a minute before `expires_in` and three quarters of its life — and a refresh is
//! shared: calls that find the token stale wait for the one request in flight instead of each
//! asking the token endpoint. A 401 from the upstream forgets the token, so the next call asks
//! for a new one (a token revoked early). A failure to get a token fails the call; nothing is
//! sent to the upstream without one.
//!
//! The client secret is read at each token request (a rotated secret is picked up) and the
//! token is a [`Secret`]: neither reaches a log line, an error or the ledger. Errors quote the
//! token endpoint's `error` code only, never its body.

use crate::clock::Clock;
use futures::stream::BoxStream;
use reqwest::header::{HeaderName, HeaderValue};
use rmcp::model::ClientJsonRpcMessage;
use rmcp::transport::streamable_http_client::{
    StreamableHttpClient, StreamableHttpError, StreamableHttpPostResponse,
    StreamableHttpResponseLimits,
};
use sse_stream::{Error as SseError, Sse};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use warden_policy::{ClientAuth, ClientCredentials, Secret};

/// A token is refreshed this long before it expires, or at three quarters of its life when
/// that comes first.
const REFRESH_AHEAD: Duration = Duration::from_secs(60);
/// The life assumed when the token endpoint gives no `expires_in`.
const DEFAULT_LIFE: Duration = Duration::from_secs(300);
/// A token endpoint's answer larger than this is refused.
const MAX_TOKEN_RESPONSE: usize = 64 * 1024;
/// A token is used for at least this long, whatever `expires_in` says (`0` would otherwise send
/// every call to the token endpoint); an upstream that refuses it sooner gets a new one.
const MIN_LIFE: Duration = Duration::from_secs(10);
/// After a failed request, callers get the same failure for this long instead of each asking
/// the token endpoint again.
const FAILURE_PAUSE: Duration = Duration::from_secs(1);

/// Why no access token could be had. Names the token endpoint's error code, never a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the client secret: {0}")]
    Secret(String),
    #[error("the token endpoint could not be reached: {0}")]
    Unreachable(String),
    #[error("the token endpoint refused: HTTP {status}{}", code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Refused { status: u16, code: Option<String> },
    #[error("the token endpoint's answer is not a bearer access token")]
    Malformed,
    #[error("the token endpoint did not answer within {0} s")]
    Timeout(u64),
}

#[derive(Clone)]
struct Token {
    value: Secret,
    /// When it is to be refreshed, in the clock's milliseconds.
    refresh_at_ms: i64,
}

/// The access token of one upstream: fetched, cached, refreshed once for all callers.
pub struct TokenSource {
    grant: ClientCredentials,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    /// How long one token request may take, answer included.
    timeout: Duration,
    current: RwLock<Option<Token>>,
    /// The last failure and when it happened, in the clock's milliseconds.
    failed: RwLock<Option<(i64, TokenError)>>,
    refreshing: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("token_url", &self.grant.token_url)
            .field("client_id", &self.grant.client_id)
            .finish_non_exhaustive()
    }
}

#[derive(serde::Deserialize)]
struct TokenResponse {
    access_token: String,
    token_type: String,
    expires_in: Option<u64>,
}

#[derive(serde::Deserialize)]
struct TokenErrorResponse {
    error: String,
}

impl TokenSource {
    /// `http` reaches the token endpoint (the upstream's TLS settings apply to it too).
    pub fn new(
        grant: ClientCredentials,
        http: reqwest::Client,
        clock: Arc<dyn Clock>,
        timeout: Duration,
    ) -> Self {
        Self {
            grant,
            http,
            clock,
            timeout,
            current: RwLock::new(None),
            failed: RwLock::new(None),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    fn recent_failure(&self) -> Option<TokenError> {
        let now = self.clock.now_ms();
        let pause = i64::try_from(FAILURE_PAUSE.as_millis()).unwrap_or(i64::MAX);
        let guard = self.failed.read().ok()?;
        guard
            .as_ref()
            .filter(|(at, _)| now >= *at && now - *at < pause)
            .map(|(_, e)| e.clone())
    }

    fn fresh(&self) -> Option<Secret> {
        let now = self.clock.now_ms();
        let guard = self.current.read().ok()?;
        guard
            .as_ref()
            .filter(|t| now < t.refresh_at_ms)
            .map(|t| t.value.clone())
    }

    /// The current token, fetching a new one when there is none or it is due for refresh.
    pub async fn bearer(&self) -> Result<Secret, TokenError> {
        if let Some(t) = self.fresh() {
            return Ok(t);
        }
        let _one_refresh = self.refreshing.lock().await;
        if let Some(t) = self.fresh() {
            return Ok(t);
        }
        if let Some(e) = self.recent_failure() {
            return Err(e);
        }
        let fetched = match tokio::time::timeout(self.timeout, self.fetch()).await {
            Ok(r) => r,
            Err(_) => Err(TokenError::Timeout(self.timeout.as_secs())),
        };
        let token = match fetched {
            Ok(t) => t,
            Err(e) => {
                if let Ok(mut guard) = self.failed.write() {
                    *guard = Some((self.clock.now_ms(), e.clone()));
                }
                return Err(e);
            }
        };
        let value = token.value.clone();
        if let Ok(mut guard) = self.current.write() {
            *guard = Some(token);
        }
        Ok(value)
    }

    /// Forgets `token` if it is still the current one: the upstream refused it.
    pub fn forget(&self, token: &Secret) {
        if let Ok(mut guard) = self.current.write()
            && guard.as_ref().is_some_and(|t| &t.value == token)
        {
            *guard = None;
        }
    }

    async fn fetch(&self) -> Result<Token, TokenError> {
        let g = &self.grant;
        let secret = g
            .client_secret
            .read()
            .map_err(|e| TokenError::Secret(e.to_string()))?;
        let mut form: Vec<(&str, &str)> = vec![("grant_type", "client_credentials")];
        let scope = g.scopes.join(" ");
        if !scope.is_empty() {
            form.push(("scope", &scope));
        }
        if let Some(a) = &g.audience {
            form.push(("audience", a));
        }
        if let Some(r) = &g.resource {
            form.push(("resource", r));
        }
        let mut request = self.http.post(&g.token_url);
        match g.client_auth {
            // RFC 6749 section 2.3.1: both parts form-urlencoded before Basic encoding.
            ClientAuth::Basic => {
                request = request.basic_auth(
                    form_encode(&g.client_id),
                    Some(form_encode(secret.expose())),
                );
            }
            ClientAuth::Post => {
                form.push(("client_id", &g.client_id));
                form.push(("client_secret", secret.expose()));
            }
        }
        let body = form_body(&form);
        let started = self.clock.now_ms();
        let response = request
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| TokenError::Unreachable(without_url(&e)))?;
        let status = response.status();
        let bytes = read_bounded(response)
            .await
            .map_err(|e| TokenError::Unreachable(without_url(&e)))?;
        let Some(bytes) = bytes else {
            return Err(TokenError::Malformed);
        };
        if !status.is_success() {
            let code = serde_json::from_slice::<TokenErrorResponse>(&bytes)
                .ok()
                .map(|e| e.error)
                .filter(|c| {
                    c.len() <= 64
                        && c.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                });
            return Err(TokenError::Refused {
                status: status.as_u16(),
                code,
            });
        }
        let answer: TokenResponse =
            serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)?;
        let usable = !answer.access_token.is_empty()
            && answer.access_token.bytes().all(|b| b.is_ascii_graphic())
            && answer.token_type.eq_ignore_ascii_case("bearer");
        if !usable {
            return Err(TokenError::Malformed);
        }
        let life = answer
            .expires_in
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_LIFE)
            .max(MIN_LIFE);
        let ahead = REFRESH_AHEAD.min(life / 4);
        let refresh_in = i64::try_from(life.saturating_sub(ahead).as_millis()).unwrap_or(i64::MAX);
        Ok(Token {
            value: Secret::new(answer.access_token),
            refresh_at_ms: started.saturating_add(refresh_in),
        })
    }
}

/// `application/x-www-form-urlencoded` of one value.
fn form_encode(v: &str) -> String {
    url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

fn form_body(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// What went wrong reaching the token endpoint, in warden's words: reqwest's own text names
/// the URL, whose query could carry something private.
fn without_url(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection failed".into()
    } else {
        "request failed".into()
    }
}

/// The body, or `None` when it is larger than [`MAX_TOKEN_RESPONSE`].
async fn read_bounded(mut response: reqwest::Response) -> reqwest::Result<Option<Vec<u8>>> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > MAX_TOKEN_RESPONSE {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

/// rmcp's reqwest client with the upstream's current access token on every request.
#[derive(Clone)]
pub struct WithToken {
    pub http: reqwest::Client,
    pub tokens: Arc<TokenSource>,
}

type HttpError = StreamableHttpError<reqwest::Error>;

impl WithToken {
    /// Sends one request with the current token (`send` gets the `auth_header` rmcp's reqwest
    /// client takes) and forgets the token when the upstream refuses it, so the next call
    /// asks for a new one.
    async fn authorised<T, F>(&self, send: impl FnOnce(Option<String>) -> F) -> Result<T, HttpError>
    where
        F: std::future::Future<Output = Result<T, HttpError>>,
    {
        let token = self.tokens.bearer().await.map_err(|e| {
            StreamableHttpError::UnexpectedServerResponse(Cow::Owned(format!(
                "no access token for the upstream: {e}"
            )))
        })?;
        let result = send(Some(token.expose().to_string())).await;
        let refused = match &result {
            Err(StreamableHttpError::AuthRequired(_)) => true,
            Err(StreamableHttpError::HttpStatus(e)) => e.status == 401,
            _ => false,
        };
        if refused {
            self.tokens.forget(&token);
        }
        result
    }
}

impl StreamableHttpClient for WithToken {
    type Error = reqwest::Error;

    async fn post_message(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<StreamableHttpPostResponse, HttpError> {
        self.post_message_with_response_limits(
            uri,
            message,
            session_id,
            None,
            custom_headers,
            StreamableHttpResponseLimits::default(),
        )
        .await
    }

    async fn post_message_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<StreamableHttpPostResponse, HttpError> {
        self.authorised(|auth| {
            self.http.post_message_with_max_sse_event_size(
                uri,
                message,
                session_id,
                auth,
                custom_headers,
                max_sse_event_size,
            )
        })
        .await
    }

    async fn post_message_with_response_limits(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        limits: StreamableHttpResponseLimits,
    ) -> Result<StreamableHttpPostResponse, HttpError> {
        self.authorised(|auth| {
            self.http.post_message_with_response_limits(
                uri,
                message,
                session_id,
                auth,
                custom_headers,
                limits,
            )
        })
        .await
    }

    async fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<(), HttpError> {
        self.authorised(|auth| {
            self.http
                .delete_session(uri, session_id, auth, custom_headers)
        })
        .await
    }

    async fn get_stream(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<BoxStream<'static, Result<Sse, SseError>>, HttpError> {
        self.authorised(|auth| {
            self.http
                .get_stream(uri, session_id, last_event_id, auth, custom_headers)
        })
        .await
    }

    async fn get_stream_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<BoxStream<'static, Result<Sse, SseError>>, HttpError> {
        self.authorised(|auth| {
            self.http.get_stream_with_max_sse_event_size(
                uri,
                session_id,
                last_event_id,
                auth,
                custom_headers,
                max_sse_event_size,
            )
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::IntoResponse;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use warden_policy::SecretSource;

    const SECRET: &str = "s3cr3t&=+ value";

    /// A token endpoint: counts requests, keeps the last one, answers `tok-<n>` for a good
    /// client (or what `answer` says).
    #[derive(Default)]
    struct Endpoint {
        requests: AtomicUsize,
        last: Mutex<Option<(HeaderMap, String)>>,
        answer: Mutex<Option<(StatusCode, String)>>,
    }

    async fn token(
        State(e): State<Arc<Endpoint>>,
        headers: HeaderMap,
        body: String,
    ) -> axum::response::Response {
        let n = e.requests.fetch_add(1, Ordering::SeqCst) + 1;
        *e.last.lock().unwrap() = Some((headers, body));
        // Slow enough that concurrent callers overlap with the one request in flight.
        tokio::task::yield_now().await;
        if let Some((status, body)) = e.answer.lock().unwrap().clone() {
            return (status, body).into_response();
        }
        axum::Json(serde_json::json!({
            "access_token": format!("tok-{n}"), "token_type": "Bearer", "expires_in": 600
        }))
        .into_response()
    }

    async fn endpoint() -> (String, Arc<Endpoint>) {
        let e = Arc::new(Endpoint::default());
        let app = axum::Router::new()
            .route("/token", axum::routing::post(token))
            .with_state(e.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{addr}/token"), e)
    }

    fn grant(url: &str, auth: ClientAuth, secret_file: &std::path::Path) -> ClientCredentials {
        ClientCredentials {
            token_url: url.into(),
            client_id: "warden gw".into(),
            client_secret: SecretSource::File {
                path: secret_file.into(),
                prefix: String::new(),
            },
            scopes: vec!["mcp:tools".into(), "siem:read".into()],
            audience: Some("https://siem.example/mcp".into()),
            resource: None,
            client_auth: auth,
        }
    }

    fn secret_file() -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), format!("{SECRET}\n")).unwrap();
        f
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_calls_share_one_token_request_and_a_refresh_comes_before_expiry() {
        let (url, e) = endpoint().await;
        let secret = secret_file();
        let clock = Arc::new(ManualClock::at(1_000_000));
        let source = Arc::new(TokenSource::new(
            grant(&url, ClientAuth::Basic, secret.path()),
            reqwest::Client::new(),
            clock.clone(),
            Duration::from_secs(10),
        ));
        let calls: Vec<_> = (0..16)
            .map(|_| {
                let s = source.clone();
                tokio::spawn(async move { s.bearer().await.unwrap() })
            })
            .collect();
        for c in calls {
            assert_eq!(c.await.unwrap().expose(), "tok-1");
        }
        assert_eq!(
            e.requests.load(Ordering::SeqCst),
            1,
            "one request for 16 callers"
        );

        // The request: the grant, the scopes, the audience; the client in HTTP Basic, each
        // part form-encoded first (RFC 6749 section 2.3.1).
        let (headers, body) = e.last.lock().unwrap().clone().unwrap();
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
        assert!(pairs.contains(&("grant_type".into(), "client_credentials".into())));
        assert!(pairs.contains(&("scope".into(), "mcp:tools siem:read".into())));
        assert!(pairs.contains(&("audience".into(), "https://siem.example/mcp".into())));
        assert!(!body.contains("s3cr3t"), "the secret is in the body");
        use base64::Engine as _;
        let basic = headers["authorization"].to_str().unwrap();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(basic.strip_prefix("Basic ").unwrap())
            .unwrap();
        assert_eq!(
            String::from_utf8(decoded).unwrap(),
            format!("warden+gw:{}", form_encode(SECRET))
        );

        // 600 s of life, refreshed a minute ahead: still the same token at 539 s…
        clock.advance(Duration::from_secs(539));
        assert_eq!(source.bearer().await.unwrap().expose(), "tok-1");
        assert_eq!(e.requests.load(Ordering::SeqCst), 1);
        // …and a new one from 540 s, before the old one expires.
        clock.advance(Duration::from_secs(1));
        assert_eq!(source.bearer().await.unwrap().expose(), "tok-2");

        // A token the upstream refused is forgotten: the next call asks again.
        source.forget(&Secret::new("tok-2".into()));
        assert_eq!(source.bearer().await.unwrap().expose(), "tok-3");
        // Forgetting a token that is no longer current changes nothing.
        source.forget(&Secret::new("tok-2".into()));
        assert_eq!(source.bearer().await.unwrap().expose(), "tok-3");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn client_secret_post_sends_the_client_in_the_body() {
        let (url, e) = endpoint().await;
        let secret = secret_file();
        let source = TokenSource::new(
            grant(&url, ClientAuth::Post, secret.path()),
            reqwest::Client::new(),
            Arc::new(ManualClock::at(0)),
            Duration::from_secs(10),
        );
        source.bearer().await.unwrap();
        let (headers, body) = e.last.lock().unwrap().clone().unwrap();
        assert!(headers.get("authorization").is_none());
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
        assert!(pairs.contains(&("client_id".into(), "warden gw".into())));
        assert!(pairs.contains(&("client_secret".into(), SECRET.into())));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_refusal_or_a_strange_answer_gives_no_token_and_shows_no_secret() {
        let (url, e) = endpoint().await;
        let secret = secret_file();
        let clock = Arc::new(ManualClock::at(0));
        let source = TokenSource::new(
            grant(&url, ClientAuth::Basic, secret.path()),
            reqwest::Client::new(),
            clock.clone(),
            Duration::from_secs(10),
        );
        let cases = [
            (
                StatusCode::UNAUTHORIZED,
                format!(
                    r#"{{"error":"invalid_client","error_description":"bad secret {SECRET}"}}"#
                ),
                TokenError::Refused {
                    status: 401,
                    code: Some("invalid_client".into()),
                },
            ),
            (
                StatusCode::BAD_REQUEST,
                r#"{"error":"evil\nlog line"}"#.into(),
                TokenError::Refused {
                    status: 400,
                    code: None,
                },
            ),
            (
                StatusCode::OK,
                r#"{"access_token":"t","token_type":"mac"}"#.into(),
                TokenError::Malformed,
            ),
            (
                StatusCode::OK,
                r#"{"access_token":"t\r\nX-Injected: 1","token_type":"Bearer"}"#.into(),
                TokenError::Malformed,
            ),
            (
                StatusCode::OK,
                "x".repeat(MAX_TOKEN_RESPONSE + 1),
                TokenError::Malformed,
            ),
        ];
        for (status, body, want) in cases {
            *e.answer.lock().unwrap() = Some((status, body));
            let before = e.requests.load(Ordering::SeqCst);
            let err = source.bearer().await.unwrap_err();
            assert_eq!(err, want);
            assert!(!err.to_string().contains("s3cr3t"));
            // Within a second of a failure, callers get it again without a new request.
            assert_eq!(source.bearer().await.unwrap_err(), want);
            assert_eq!(e.requests.load(Ordering::SeqCst), before + 1);
            clock.advance(FAILURE_PAUSE);
        }

        // A missing secret file: no request is made at all.
        let before = e.requests.load(Ordering::SeqCst);
        let gone = TokenSource::new(
            grant(
                &url,
                ClientAuth::Basic,
                std::path::Path::new("/nonexistent/secret"),
            ),
            reqwest::Client::new(),
            Arc::new(ManualClock::at(0)),
            Duration::from_secs(10),
        );
        assert!(matches!(gone.bearer().await, Err(TokenError::Secret(_))));
        assert_eq!(e.requests.load(Ordering::SeqCst), before);
    }
}
