//! Signed webhooks: telling people that a held call is waiting for them.
//!
//! Design choices:
//! - **Signed like Stripe and Slack sign theirs.** `X-Warden-Signature: v1=<hex HMAC-SHA256>`
//!   over `"<timestamp>.<body>"`, with the Unix timestamp in `X-Warden-Timestamp`, so a receiver
//!   can check both origin and freshness (replay window) with [`verify_signature`]. Several
//!   comma-separated `v1=` values are accepted, so receivers can rotate secrets.
//! - **Each attempt is signed afresh**, so a retry an hour later is still inside a receiver's
//!   tolerance; the body bytes are serialised once and identical on every attempt.
//! - **Retry only what can succeed later:** 5xx, 429 and transport failures (connect, timeout),
//!   with exponential backoff and jitter (and `Retry-After` honoured up to the cap). Any other
//!   4xx means the request itself is wrong and is not repeated.
//! - **Only 2xx is success.** A final non-2xx is an error that carries the status and the number
//!   of attempts, so a caller cannot mistake "delivered" for "answered".
//! - **Nothing secret is printed.** The secret's and the webhook's `Debug` redact, and so do
//!   errors: webhook URLs often embed a credential (Slack incoming webhooks do), so only the
//!   host is ever shown.
//! - **Agent text is inert in Slack.** [`slack_message`] puts arguments, rationale and evidence
//!   in `plain_text` objects, where Slack parses no links, mentions (`<!channel>`) or markup;
//!   the only `mrkdwn` holds warden's own values, escaped.

use hmac::{Hmac, Mac};
use rand::Rng;
use serde_json::{Value, json};
use sha2::Sha256;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

type HmacSha256 = Hmac<Sha256>;

/// Header carrying the Unix time (seconds) the request was signed at.
pub const TIMESTAMP_HEADER: &str = "X-Warden-Timestamp";
/// Header carrying `v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub const SIGNATURE_HEADER: &str = "X-Warden-Signature";

/// Longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
const DEFAULT_MAX_ATTEMPTS: u32 = 5;
const DEFAULT_BASE_BACKOFF: Duration = Duration::from_millis(500);
/// One attempt may take this long before it counts as a transport failure.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A webhook signing secret. `Debug` never shows it.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Why a webhook was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("webhook url is not an absolute http(s) url")]
    BadUrl,
    #[error("webhook secret is empty")]
    EmptySecret,
    #[error("webhook event does not serialise: {0}")]
    Encode(#[source] serde_json::Error),
    #[error("webhook answered `{status}` after {attempts} attempt(s)")]
    Status { status: u16, attempts: u32 },
    /// The URL is stripped from `source`, as it may hold a credential.
    #[error("webhook unreachable after {attempts} attempt(s): {source}")]
    Transport {
        attempts: u32,
        #[source]
        source: reqwest::Error,
    },
}

/// Where and how to deliver events.
#[derive(Clone)]
pub struct Webhook {
    url: reqwest::Url,
    secret: Secret,
    /// At least 1.
    max_attempts: u32,
    /// The wait before the second attempt; it doubles each time, up to `MAX_BACKOFF`.
    base_backoff: Duration,
    timeout: Duration,
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = format!(
            "{}://{}/…",
            self.url.scheme(),
            self.url.host_str().unwrap_or("?")
        );
        f.debug_struct("Webhook")
            .field("url", &shown)
            .field("secret", &self.secret)
            .field("max_attempts", &self.max_attempts)
            .field("base_backoff", &self.base_backoff)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Webhook {
    /// A webhook with 5 attempts, 500 ms base backoff and a 10 s timeout per attempt.
    pub fn new(url: &str, secret: Secret) -> Result<Self, NotifyError> {
        let url = reqwest::Url::parse(url).map_err(|_| NotifyError::BadUrl)?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(NotifyError::BadUrl);
        }
        if secret.0.is_empty() {
            return Err(NotifyError::EmptySecret);
        }
        Ok(Self {
            url,
            secret,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            base_backoff: DEFAULT_BASE_BACKOFF,
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// Attempts in all, first included; 0 is taken as 1.
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    pub fn with_base_backoff(mut self, base: Duration) -> Self {
        self.base_backoff = base;
        self
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// POSTs `event` as JSON, signed, retrying what may succeed later. Returns the 2xx status.
    pub async fn deliver(
        &self,
        client: &reqwest::Client,
        event: &Value,
    ) -> Result<u16, NotifyError> {
        let body = serde_json::to_vec(event).map_err(NotifyError::Encode)?;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let timestamp = unix_secs(SystemTime::now());
            let sent = client
                .post(self.url.clone())
                .timeout(self.timeout)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(TIMESTAMP_HEADER, timestamp.to_string())
                .header(SIGNATURE_HEADER, sign(&self.secret, timestamp, &body))
                .body(body.clone())
                .send()
                .await;
            let retry_after = match sent {
                Ok(response) => {
                    let status = response.status();
                    if status.is_success() {
                        return Ok(status.as_u16());
                    }
                    let retryable = status.is_server_error()
                        || status == reqwest::StatusCode::TOO_MANY_REQUESTS;
                    if !retryable || attempt >= self.max_attempts {
                        return Err(NotifyError::Status {
                            status: status.as_u16(),
                            attempts: attempt,
                        });
                    }
                    tracing::warn!(
                        webhook = ?self,
                        attempt,
                        status = status.as_u16(),
                        "webhook not accepted; retrying"
                    );
                    retry_after(response.headers())
                }
                Err(e) => {
                    let e = e.without_url();
                    if e.is_builder() || attempt >= self.max_attempts {
                        return Err(NotifyError::Transport {
                            attempts: attempt,
                            source: e,
                        });
                    }
                    tracing::warn!(webhook = ?self, attempt, error = %e, "webhook unreachable; retrying");
                    None
                }
            };
            let wait = backoff(self.base_backoff, attempt);
            let wait = retry_after.map_or(wait, |r| wait.max(r.min(MAX_BACKOFF)));
            tokio::time::sleep(wait).await;
        }
    }
}

/// The wait after failed attempt `attempt` (1-based): `base · 2^(attempt-1)`, capped, then
/// jittered into its upper half so that many senders do not retry in step.
fn backoff(base: Duration, attempt: u32) -> Duration {
    let factor = 1u32
        .checked_shl(attempt.saturating_sub(1))
        .unwrap_or(u32::MAX);
    let ceiling = base.saturating_mul(factor).min(MAX_BACKOFF);
    let half = ceiling / 2;
    let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
    half + Duration::from_millis(rand::thread_rng().gen_range(0..=jitter_ms))
}

/// `Retry-After` in its seconds form; the HTTP-date form is ignored (backoff applies).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn mac(secret: &Secret, timestamp: &str, body: &[u8]) -> Option<HmacSha256> {
    // HMAC takes keys of any length, so this is `None` only in theory.
    let mut mac = HmacSha256::new_from_slice(&secret.0).ok()?;
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(mac)
}

/// The `X-Warden-Signature` value for a body sent at `timestamp` (Unix seconds).
pub fn sign(secret: &Secret, timestamp: u64, body: &[u8]) -> String {
    match mac(secret, &timestamp.to_string(), body) {
        Some(m) => format!("v1={}", hex::encode(m.finalize().into_bytes())),
        None => String::from("v1="),
    }
}

/// For receivers: true when `header` holds a `v1=` signature of `"<timestamp>.<body>"` under
/// `secret` (compared in constant time) and `timestamp` is within `tolerance` of `now`.
/// `timestamp` is the `X-Warden-Timestamp` value exactly as received.
pub fn verify_signature(
    secret: &Secret,
    timestamp: &str,
    body: &[u8],
    header: &str,
    now: SystemTime,
    tolerance: Duration,
) -> bool {
    let Ok(sent) = timestamp.parse::<u64>() else {
        return false;
    };
    if unix_secs(now).abs_diff(sent) > tolerance.as_secs() {
        return false;
    }
    let Some(expected) = mac(secret, timestamp, body) else {
        return false;
    };
    header
        .split(',')
        .filter_map(|part| part.trim().strip_prefix("v1="))
        .filter_map(|h| hex::decode(h).ok())
        .any(|candidate| expected.clone().verify_slice(&candidate).is_ok())
}

/// What a Slack message about a held call shows.
#[derive(Clone, Copy, Debug)]
pub struct HeldCall<'a> {
    pub request_id: &'a str,
    /// `<server>.<tool>`: the action that runs if approved.
    pub tool: &'a str,
    /// Exactly the arguments that would be forwarded. Untrusted.
    pub args: &'a Value,
    pub principal: &'a str,
    /// The rule that asked for approval, and its accountable owner.
    pub rule: &'a str,
    pub owner: &'a str,
    pub approvals_needed: u8,
    pub expires_ms: i64,
    /// One line per tool output the agent read before asking. Untrusted.
    pub evidence: &'a [String],
    /// The agent's stated reason. Untrusted.
    pub rationale: Option<&'a str>,
    /// The console's public address, e.g. `https://warden.example.org/console`.
    pub console_url: &'a str,
}

/// Slack limits: header text, section text, field text.
const SLACK_HEADER: usize = 150;
const SLACK_SECTION: usize = 3000;
const SLACK_FIELD: usize = 2000;

/// A Slack message (`text` for notifications, `blocks` for the body) asking for an answer.
pub fn slack_message(call: &HeldCall<'_>) -> Value {
    let link = format!(
        "{}/requests/{}",
        call.console_url.trim_end_matches('/'),
        path_segment(call.request_id)
    );
    let expires_secs = call.expires_ms.div_euclid(1000);
    let expires_plain = utc(expires_secs);
    let people = if call.approvals_needed > 1 {
        format!("{} (different people)", call.approvals_needed)
    } else {
        call.approvals_needed.to_string()
    };
    let args = serde_json::to_string_pretty(call.args).unwrap_or_else(|_| call.args.to_string());
    let evidence = if call.evidence.is_empty() {
        String::from("nothing recorded")
    } else {
        call.evidence
            .iter()
            .map(|e| format!("• {e}"))
            .collect::<Vec<_>>()
            .join("\n")
    };

    let field = |label: &str, value: String| json!({ "type": "mrkdwn", "text": cut(&format!("*{label}*\n{value}"), SLACK_FIELD) });
    let plain = |text: String| {
        json!({
            "type": "section",
            "text": { "type": "plain_text", "emoji": false, "text": cut(&text, SLACK_SECTION) }
        })
    };

    let mut blocks = vec![
        json!({
            "type": "header",
            "text": {
                "type": "plain_text",
                "emoji": false,
                "text": cut(&format!("Approval needed: {}", call.tool), SLACK_HEADER)
            }
        }),
        json!({
            "type": "section",
            "fields": [
                field("Action", format!("`{}`", slack_escape(call.tool))),
                field("Agent", format!("`{}`", slack_escape(call.principal))),
                field(
                    "Rule",
                    format!("`{}` (owner: {})", slack_escape(call.rule), slack_escape(call.owner))
                ),
                field("Approvals needed", people),
                field(
                    "Expires",
                    format!("<!date^{expires_secs}^{{date_short_pretty}} {{time}}|{expires_plain}>")
                ),
                field("Request", format!("`{}`", slack_escape(call.request_id))),
            ]
        }),
        plain(format!(
            "Arguments (written by the agent, untrusted):\n{args}"
        )),
    ];
    if let Some(r) = call.rationale {
        blocks.push(plain(format!("The agent's reason (untrusted):\n{r}")));
    }
    blocks.push(plain(format!(
        "What the agent read before asking (tool output, untrusted):\n{evidence}"
    )));
    blocks.push(json!({
        "type": "actions",
        "elements": [{
            "type": "button",
            "action_id": "warden_open_request",
            "style": "primary",
            "text": { "type": "plain_text", "text": "Review in the warden console" },
            "url": link
        }]
    }));

    json!({
        "text": cut(
            &format!(
                "warden: `{}` is waiting for approval (rule `{}`), expires {expires_plain}",
                slack_escape(call.tool),
                slack_escape(call.rule)
            ),
            SLACK_SECTION
        ),
        "unfurl_links": false,
        "unfurl_media": false,
        "blocks": blocks
    })
}

/// Slack's three control characters in `mrkdwn` and `text`.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn cut(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max_chars.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Percent-encodes one URL path segment.
fn path_segment(s: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b':') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// `2026-06-01 12:34 UTC` from Unix seconds (proleptic Gregorian, Hinnant's civil-from-days).
fn utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    const TOLERANCE: Duration = Duration::from_secs(300);

    fn secret() -> Secret {
        Secret::new("whsec-test")
    }

    #[test]
    fn signature_round_trip() {
        let body = br#"{"event":"held","id":"req-1"}"#;
        let now = SystemTime::now();
        let ts = unix_secs(now);
        let header = sign(&secret(), ts, body);
        assert!(header.starts_with("v1="));
        assert_eq!(header.len(), 3 + 64);
        assert!(verify_signature(
            &secret(),
            &ts.to_string(),
            body,
            &header,
            now,
            TOLERANCE
        ));
        // Rotation: any one matching signature is enough.
        let rotated = format!("v1={}, {header}", "00".repeat(32));
        assert!(verify_signature(
            &secret(),
            &ts.to_string(),
            body,
            &rotated,
            now,
            TOLERANCE
        ));
    }

    #[test]
    fn tampering_is_rejected() {
        let body = br#"{"approve":false}"#;
        let now = SystemTime::now();
        let ts = unix_secs(now);
        let t = ts.to_string();
        let header = sign(&secret(), ts, body);
        let ok = |secret: &Secret, t: &str, body: &[u8], header: &str| {
            verify_signature(secret, t, body, header, now, TOLERANCE)
        };
        assert!(
            !ok(&secret(), &t, br#"{"approve":true}"#, &header),
            "body changed"
        );
        assert!(
            !ok(&secret(), &(ts - 1).to_string(), body, &header),
            "timestamp changed"
        );
        assert!(
            !ok(&Secret::new("other"), &t, body, &header),
            "wrong secret"
        );
        assert!(
            !ok(&secret(), &t, body, &header.replacen("v1=", "v0=", 1)),
            "unknown scheme"
        );
        assert!(
            !ok(&secret(), &t, body, &header[..header.len() - 2]),
            "truncated"
        );
        assert!(!ok(&secret(), &t, body, "v1=zz"), "not hex");
        assert!(!ok(&secret(), &t, body, ""), "missing");
        assert!(!ok(&secret(), " 1", body, &header), "malformed timestamp");

        let old = ts - 301;
        let stale = sign(&secret(), old, body);
        assert!(
            !ok(&secret(), &old.to_string(), body, &stale),
            "outside the window"
        );
        let future = ts + 301;
        let early = sign(&secret(), future, body);
        assert!(
            !ok(&secret(), &future.to_string(), body, &early),
            "from the future"
        );
    }

    #[test]
    fn debug_hides_secret_and_url_path() {
        let hook = Webhook::new(
            "https://hooks.slack.com/services/T000/B000/XXXXSECRET",
            Secret::new("whsec-very-secret"),
        )
        .unwrap();
        let shown = format!("{hook:?}");
        assert!(shown.contains("hooks.slack.com"));
        assert!(!shown.contains("XXXXSECRET"));
        assert!(!shown.contains("very-secret"));
        assert!(matches!(
            Webhook::new("ftp://x/y", secret()),
            Err(NotifyError::BadUrl)
        ));
        assert!(matches!(
            Webhook::new("not a url", secret()),
            Err(NotifyError::BadUrl)
        ));
        assert!(matches!(
            Webhook::new("https://x/y", Secret::new("")),
            Err(NotifyError::EmptySecret)
        ));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let base = Duration::from_millis(100);
        for (attempt, ceiling) in [(1, 100), (2, 200), (3, 400), (4, 800)] {
            let d = backoff(base, attempt);
            assert!(d >= Duration::from_millis(ceiling / 2) && d <= Duration::from_millis(ceiling));
        }
        assert!(backoff(base, 40) <= MAX_BACKOFF);
        assert!(backoff(base, u32::MAX) <= MAX_BACKOFF);
    }

    /// A receiver on 127.0.0.1:0 that checks every signature and answers `answer(hit)`.
    struct Receiver {
        hits: AtomicU32,
        bad_signatures: AtomicU32,
        answer: fn(u32) -> StatusCode,
    }

    async fn receive(
        State(rx): State<Arc<Receiver>>,
        headers: HeaderMap,
        body: axum::body::Bytes,
    ) -> StatusCode {
        let hit = rx.hits.fetch_add(1, Ordering::SeqCst) + 1;
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
        };
        let signed = verify_signature(
            &secret(),
            header(TIMESTAMP_HEADER),
            &body,
            header(SIGNATURE_HEADER),
            SystemTime::now(),
            TOLERANCE,
        );
        if !signed || header("content-type") != "application/json" {
            rx.bad_signatures.fetch_add(1, Ordering::SeqCst);
            return StatusCode::UNAUTHORIZED;
        }
        (rx.answer)(hit)
    }

    async fn receiver(answer: fn(u32) -> StatusCode) -> (String, Arc<Receiver>) {
        let rx = Arc::new(Receiver {
            hits: AtomicU32::new(0),
            bad_signatures: AtomicU32::new(0),
            answer,
        });
        let app = axum::Router::new()
            .route("/hook/{token}", axum::routing::post(receive))
            .with_state(rx.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{addr}/hook/path-secret"), rx)
    }

    fn hook(url: &str, attempts: u32) -> Webhook {
        Webhook::new(url, secret())
            .unwrap()
            .with_max_attempts(attempts)
            .with_base_backoff(Duration::from_millis(5))
    }

    fn event() -> Value {
        json!({ "event": "approval.requested", "id": "req-1" })
    }

    #[tokio::test]
    async fn retries_on_500_then_succeeds() {
        let (url, rx) = receiver(|hit| {
            if hit < 3 {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::OK
            }
        })
        .await;
        let status = hook(&url, 5)
            .deliver(&reqwest::Client::new(), &event())
            .await
            .unwrap();
        assert_eq!(status, 200);
        assert_eq!(rx.hits.load(Ordering::SeqCst), 3);
        assert_eq!(rx.bad_signatures.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn no_retry_on_400() {
        let (url, rx) = receiver(|_| StatusCode::BAD_REQUEST).await;
        let err = hook(&url, 5)
            .deliver(&reqwest::Client::new(), &event())
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                NotifyError::Status {
                    status: 400,
                    attempts: 1
                }
            ),
            "{err:?}"
        );
        assert_eq!(rx.hits.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn gives_up_on_429_after_max_attempts() {
        let (url, rx) = receiver(|_| StatusCode::TOO_MANY_REQUESTS).await;
        let err = hook(&url, 3)
            .deliver(&reqwest::Client::new(), &event())
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                NotifyError::Status {
                    status: 429,
                    attempts: 3
                }
            ),
            "{err:?}"
        );
        assert_eq!(rx.hits.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn connection_errors_are_retried_and_hide_the_url() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let url = format!("http://{addr}/hook/path-secret");
        let err = hook(&url, 2)
            .deliver(&reqwest::Client::new(), &event())
            .await
            .unwrap_err();
        assert!(
            matches!(err, NotifyError::Transport { attempts: 2, .. }),
            "{err:?}"
        );
        assert!(!err.to_string().contains("path-secret"), "{err}");
        assert!(!format!("{err:?}").contains("path-secret"), "{err:?}");
    }

    #[test]
    fn slack_message_shows_the_call_and_keeps_agent_text_inert() {
        let args =
            json!({ "host": "ws-042", "note": "<!channel> <https://evil.example|click> *now*" });
        let evidence = vec![String::from("edr.get_alerts: beacon every 60 s <@U123>")];
        let call = HeldCall {
            request_id: "req 1/2",
            tool: "edr.isolate_host",
            args: &args,
            principal: "Agent::\"responder\"",
            rule: "containment.isolate_host.needs-approval",
            owner: "soc-containment-lead",
            approvals_needed: 2,
            expires_ms: 1_780_000_000_000,
            evidence: &evidence,
            rationale: Some("C2 traffic"),
            console_url: "https://warden.example.org/console/",
        };
        let msg = slack_message(&call);
        let text = msg["text"].as_str().unwrap();
        assert!(text.contains("edr.isolate_host") && text.contains("2026-05-28 20:26 UTC"));
        let blocks = msg["blocks"].as_array().unwrap();
        assert_eq!(blocks[0]["type"], "header");

        // Agent text appears only inside plain_text objects.
        for block in blocks {
            let rendered = block.to_string();
            if rendered.contains("<!channel>") || rendered.contains("<@U123>") {
                assert_eq!(block["text"]["type"], "plain_text", "{rendered}");
            }
        }
        let all = msg.to_string();
        assert!(
            all.contains("ws-042")
                && all.contains("beacon every 60 s")
                && all.contains("C2 traffic")
        );
        assert!(all.contains("containment.isolate_host.needs-approval"));
        assert!(all.contains("soc-containment-lead"));
        assert!(all.contains("2 (different people)"));
        assert!(all.contains("<!date^1780000000^"));
        let button = &blocks.last().unwrap()["elements"][0];
        assert_eq!(
            button["url"],
            "https://warden.example.org/console/requests/req%201%2F2"
        );
    }

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(utc(-60), "1969-12-31 23:59 UTC");
    }
}
