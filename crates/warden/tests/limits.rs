//! Connection and session limits over the wire (issue 19, item 5): clients without a token
//! that send half a request cannot hold warden's connections, and one agent cannot hold an
//! unbounded number of MCP sessions.
//!
//! The limits are lowered in the config (a one-second header timeout, 64 connections), so the
//! attacks are small and the waits short.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const HEADER_TIMEOUT: Duration = Duration::from_secs(1);
const IDLE_TIMEOUT: Duration = Duration::from_secs(3);
const MAX_CONNECTIONS: usize = 64;
const MAX_SESSIONS: usize = 3;

/// The example with every limit lowered.
fn limited() -> Lab {
    limited_with_body_timeout(1)
}

/// The example with every limit lowered, but the body timeout `body_timeout_secs`.
fn limited_with_body_timeout(body_timeout_secs: usize) -> Lab {
    Lab::with_config(|c| {
        let limits = [
            ("header_timeout_secs", HEADER_TIMEOUT.as_secs() as usize),
            ("body_timeout_secs", body_timeout_secs),
            ("idle_timeout_secs", IDLE_TIMEOUT.as_secs() as usize),
            ("max_connections", MAX_CONNECTIONS),
            ("max_sessions_per_agent", MAX_SESSIONS),
        ];
        limits
            .iter()
            .fold(c, |c, (key, value)| set(&c, key, *value))
    })
}

/// `text` with the line that sets `key` setting it to `value`.
fn set(text: &str, key: &str, value: usize) -> String {
    let prefix = format!("{key} = ");
    let mut found = false;
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            if line.starts_with(&prefix) {
                found = true;
                format!("{prefix}{value}")
            } else {
                line.to_string()
            }
        })
        .collect();
    assert!(found, "`{key}` is not set in the example");
    lines.join("\n") + "\n"
}

fn addr(warden: &Warden) -> String {
    warden
        .url
        .trim_start_matches("http://")
        .trim_end_matches("/mcp")
        .to_string()
}

/// A connection that sends half of a request head and nothing more.
async fn half_sent(addr: &str) -> Option<TcpStream> {
    let mut tcp = TcpStream::connect(addr).await.ok()?;
    tcp.write_all(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
        .await
        .ok()?;
    Some(tcp)
}

/// How long until warden closes `tcp` (reads until end of stream or an error), or `None` if it
/// is still open after `within`.
async fn closed_after(tcp: &mut TcpStream, within: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout_at((start + within).into(), tcp.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(start.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

fn initialize_body() -> String {
    serde_json::json!({
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "limits-test", "version": "1"}
        }
    })
    .to_string()
}

/// Opens an MCP session for the agent with `token` by a raw `initialize`.
async fn initialize(http: &reqwest::Client, url: &str, token: &str) -> reqwest::Response {
    http.post(url)
        .bearer_auth(token)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(initialize_body())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn half_sent_requests_neither_hold_connections_nor_starve_health_and_agents() {
    let lab = limited();
    let warden = lab.serve();
    let addr = addr(&warden);

    // The attack: far more half-sent requests than warden takes connections, kept up while the
    // checks below run (each one closed is opened again).
    let stop = tokio_util::sync::CancellationToken::new();
    let attack = {
        let (addr, stop) = (addr.clone(), stop.clone());
        tokio::spawn(async move {
            let mut open: Vec<TcpStream> = Vec::new();
            while !stop.is_cancelled() {
                while open.len() < 5 * MAX_CONNECTIONS {
                    match half_sent(&addr).await {
                        Some(tcp) => open.push(tcp),
                        None => break,
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                // Forget the ones warden closed.
                let mut buf = [0u8; 64];
                open.retain(|tcp| {
                    matches!(tcp.try_read(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
                });
            }
            open.len()
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    still_served(&warden, TRIAGE).await;

    stop.cancel();
    let left = attack.await.unwrap();
    assert!(left > 0);

    // A half-sent request, with no attack around it, is closed after the header timeout.
    tokio::time::sleep(HEADER_TIMEOUT * 2).await;
    let mut tcp = half_sent(&addr).await.unwrap();
    let closed = closed_after(&mut tcp, HEADER_TIMEOUT * 4)
        .await
        .expect("a half-sent request must be closed after the header timeout");
    assert!(
        closed >= HEADER_TIMEOUT - Duration::from_millis(200),
        "closed too early: {closed:?}"
    );
}

/// What every test of a flood checks while it goes on: `/healthz` answers promptly, again and
/// again, on fresh connections; the agent with `token` initialises and lists its tools; the
/// console's login page answers.
async fn still_served(warden: &Warden, token: &str) {
    for _ in 0..5 {
        let http = reqwest::Client::new();
        let start = Instant::now();
        let r = tokio::time::timeout(
            Duration::from_secs(2),
            http.get(format!("{}/healthz", warden.base())).send(),
        )
        .await
        .expect("/healthz must answer during the attack")
        .unwrap();
        assert_eq!(r.status(), 200);
        assert!(start.elapsed() < Duration::from_secs(2));
    }

    // An agent with a token initialises and lists its tools.
    let names = tokio::time::timeout(Duration::from_secs(10), async {
        let client = warden.client(token).await;
        client.tool_names().await
    })
    .await
    .expect("an agent must be served during the attack");
    assert!(names.contains(&"edr__get_host".to_string()), "{names:?}");

    // The console's login page too.
    let r = tokio::time::timeout(
        Duration::from_secs(2),
        reqwest::Client::new()
            .get(format!("{}/console/login", warden.base()))
            .send(),
    )
    .await
    .expect("the console must answer during the attack")
    .unwrap();
    assert_eq!(r.status(), 200);
}

/// A complete request head, for a route anyone may post to without a token (the console's
/// sign-in form), whose body never comes.
async fn bodiless_login(addr: &str) -> Option<TcpStream> {
    let mut tcp = TcpStream::connect(addr).await.ok()?;
    tcp.write_all(
        b"POST /console/login HTTP/1.1\r\nHost: 127.0.0.1\r\n\
          Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n",
    )
    .await
    .ok()?;
    Some(tcp)
}

/// Without a token: heads sent whole and bodies never sent. Each such connection would hold its
/// place for the body timeout (30 s here, the default), so a dozen new ones a second kept
/// every place taken; they are closed to make room as half-sent heads are.
#[tokio::test]
async fn bodies_that_never_come_do_not_hold_connections() {
    let lab = limited_with_body_timeout(30);
    let warden = lab.serve();
    let addr = addr(&warden);
    let mut open = Vec::new();
    while open.len() < 2 * MAX_CONNECTIONS {
        match bodiless_login(&addr).await {
            Some(tcp) => open.push(tcp),
            None => break,
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    still_served(&warden, TRIAGE).await;
    drop(open);
}

/// With its own token, one agent opens an MCP session's event stream again and again (rmcp
/// takes up to 33 `GET /mcp` streams a session), in every session its cap allows: far more
/// streams than warden takes connections, each of which lives as long as its session. They
/// neither keep out another agent nor the console: an idle stream is closed to make room.
#[tokio::test]
async fn an_agents_idle_event_streams_do_not_hold_every_connection() {
    let lab = limited();
    let warden = lab.serve();
    let http = reqwest::Client::new();
    let mut streams = Vec::new();
    for _ in 0..MAX_SESSIONS {
        let r = initialize(&http, &warden.url, TRIAGE).await;
        assert_eq!(r.status(), 200);
        let session = r.headers()["mcp-session-id"].to_str().unwrap().to_string();
        let r = http
            .post(&warden.url)
            .bearer_auth(TRIAGE)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .header("mcp-session-id", &session)
            .header("mcp-protocol-version", "2025-06-18")
            .body(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        for _ in 0..33 {
            let opened = tokio::time::timeout(
                Duration::from_secs(5),
                http.get(&warden.url)
                    .bearer_auth(TRIAGE)
                    .header("accept", "text/event-stream")
                    .header("mcp-session-id", &session)
                    .header("mcp-protocol-version", "2025-06-18")
                    .send(),
            )
            .await;
            if let Ok(Ok(r)) = opened
                && r.status().is_success()
            {
                streams.push(r);
            }
        }
    }
    assert!(
        streams.len() >= MAX_CONNECTIONS,
        "the attack needs more streams than connections: {}",
        streams.len()
    );
    still_served(&warden, RESPONDER).await;
    drop(streams);
}

/// A raw request on `tcp` with the triage agent's token and a body of `body` bytes of which
/// only `sent` are sent.
async fn partial_post(tcp: &mut TcpStream, body: usize, sent: usize) {
    let head = format!(
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TRIAGE}\r\n\
         Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n\
         Content-Length: {body}\r\n\r\n"
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    tcp.write_all(&vec![b' '; sent]).await.unwrap();
}

#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_is_answered_408_and_its_connection_closed() {
    let lab = limited();
    let warden = lab.serve();
    let mut tcp = TcpStream::connect(addr(&warden)).await.unwrap();
    let start = Instant::now();
    partial_post(&mut tcp, 100, 10).await;
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut answer))
        .await
        .expect("warden must answer and close a late body")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("did not arrive"), "{answer}");
    assert!(start.elapsed() >= Duration::from_millis(900));
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let lab = limited();
    let warden = lab.serve();
    let mut tcp = TcpStream::connect(addr(&warden)).await.unwrap();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = tcp.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    // Kept open past the header timeout (the idle timeout is longer), then closed.
    let closed = closed_after(&mut tcp, IDLE_TIMEOUT * 3)
        .await
        .expect("an idle connection must be closed after the idle timeout");
    assert!(
        closed >= IDLE_TIMEOUT - Duration::from_millis(200),
        "closed after {closed:?}, before the idle timeout"
    );
}

#[tokio::test]
async fn an_agent_opens_at_most_its_cap_of_sessions_and_others_are_not_counted() {
    let lab = limited();
    let warden = lab.serve();
    let http = reqwest::Client::new();
    let mut sessions = Vec::new();
    for _ in 0..MAX_SESSIONS {
        let r = initialize(&http, &warden.url, TRIAGE).await;
        assert_eq!(r.status(), 200);
        let id = r.headers()["mcp-session-id"].to_str().unwrap().to_string();
        sessions.push(id);
    }
    // One more is refused, with the cap named.
    let r = initialize(&http, &warden.url, TRIAGE).await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("mcp-session-id").is_none());
    let error: serde_json::Value = r.json().await.unwrap();
    assert_eq!(error["id"], 1, "{error}");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("{MAX_SESSIONS} MCP sessions"))
            && message.contains("max_sessions_per_agent"),
        "{message}"
    );
    // Nor does an `Mcp-Session-Id` that is not visible ASCII open one past the cap: rmcp
    // reads such a header as absent (and would open a session), the cap as present.
    let r = http
        .post(&warden.url)
        .bearer_auth(TRIAGE)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header(
            "mcp-session-id",
            reqwest::header::HeaderValue::from_bytes(b"\x80\xff").unwrap(),
        )
        .body(initialize_body())
        .send()
        .await
        .unwrap();
    assert!(
        r.headers().get("mcp-session-id").is_none(),
        "a session was opened past the cap ({})",
        r.status()
    );
    assert_eq!(r.status(), 400);
    // Another agent is not counted with it.
    let r = initialize(&http, &warden.url, RESPONDER).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("mcp-session-id"));
    // A session closed by its client gives its place back.
    let r = http
        .delete(&warden.url)
        .bearer_auth(TRIAGE)
        .header("mcp-session-id", &sessions[0])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let r = initialize(&http, &warden.url, TRIAGE).await;
    assert_eq!(r.status(), 200);
}

/// One agent's token cannot close, read or write to another agent's session: a session id it
/// did not open is answered as if it did not exist, and the session lives on for its agent.
#[tokio::test]
async fn an_agent_cannot_touch_another_agents_session() {
    let lab = limited();
    let warden = lab.serve();
    let http = reqwest::Client::new();
    let r = initialize(&http, &warden.url, RESPONDER).await;
    assert_eq!(r.status(), 200);
    let theirs = r.headers()["mcp-session-id"].to_str().unwrap().to_string();

    let r = http
        .delete(&warden.url)
        .bearer_auth(TRIAGE)
        .header("mcp-session-id", &theirs)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = http
        .get(&warden.url)
        .bearer_auth(TRIAGE)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", &theirs)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "no reading another agent's stream");
    let r = http
        .post(&warden.url)
        .bearer_auth(TRIAGE)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("mcp-session-id", &theirs)
        .body(r#"{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // The owner's session is still there: it can close it itself.
    let r = http
        .delete(&warden.url)
        .bearer_auth(RESPONDER)
        .header("mcp-session-id", &theirs)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
}

/// Without a token, connecting costs nothing: a flood of bare connections (nothing sent) makes
/// room among its own connections, and does not close an agent's event stream, which carries
/// its server notifications.
#[tokio::test]
async fn bare_connections_do_not_close_an_agents_event_stream() {
    let lab = limited();
    let warden = lab.serve();
    let addr = addr(&warden);
    let http = reqwest::Client::new();
    let r = initialize(&http, &warden.url, TRIAGE).await;
    let session = r.headers()["mcp-session-id"].to_str().unwrap().to_string();
    let r = http
        .post(&warden.url)
        .bearer_auth(TRIAGE)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", "2025-06-18")
        .body(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let mut stream = http
        .get(&warden.url)
        .bearer_auth(TRIAGE)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", "2025-06-18")
        .send()
        .await
        .unwrap();
    assert!(stream.status().is_success(), "{}", stream.status());
    // What the stream sends at once (a priming event) is read first, so that what is read
    // after the flood tells whether it is still open.
    while let Ok(Ok(Some(_))) =
        tokio::time::timeout(Duration::from_millis(300), stream.chunk()).await
    {}
    let mut bare = Vec::new();
    for _ in 0..3 * MAX_CONNECTIONS {
        if let Ok(tcp) = TcpStream::connect(&addr).await {
            bare.push(tcp);
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let closed = match tokio::time::timeout(Duration::from_millis(500), stream.chunk()).await {
        Err(_) | Ok(Ok(Some(_))) => false,
        Ok(Ok(None) | Err(_)) => true,
    };
    assert!(
        !closed,
        "the agent's event stream was closed for bare connections"
    );
    drop(bare);
}
