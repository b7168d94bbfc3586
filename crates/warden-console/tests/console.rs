#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The console driven through its router, mounted at `/console` as the gateway mounts it, over
//! an in-memory desk that records every `decide` call.

use argon2::password_hash::{PasswordHasher, SaltString};
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tower::ServiceExt;
use warden_console::{
    AnswerView, ApprovalDesk, ApproverLogin, ConsoleConfig, DecisionPage, DecisionQuery,
    DecisionView, DeskError, EvidenceView, Paged, PendingPage, PendingQuery, Redacted, RequestView,
    Resumed, ReviewView, SessionRecord, SessionTable, TaintCleared, TaintView, TargetView,
    VerdictView, router,
};
use warden_core::{ApprovalStatus, Judgement, TaintRecord, Verdict};

#[derive(Debug, Clone, PartialEq)]
struct Call {
    id: String,
    approver: String,
    approve: bool,
    reason: String,
}

/// One `clear_taint` call: (agent, the record named, approver, reason).
type Clear = (String, TaintRecord, String, String);
/// One `record_verdict` call: (decision index, reviewer, judgement, note).
type Judged = (u64, String, Judgement, String);
/// One `redact` call: (leaf, approver, reason, on whose request).
type Redaction = (u64, String, String, Option<String>);

struct FakeDesk {
    requests: Mutex<Vec<RequestView>>,
    calls: Mutex<Vec<Call>>,
    events: Vec<DecisionView>,
    taints: Mutex<Vec<TaintView>>,
    clears: Mutex<Vec<Clear>>,
    judged: Mutex<Vec<Judged>>,
    /// The queries the recent page asked for.
    queries: Mutex<Vec<DecisionQuery>>,
    /// The queries the pending page asked for.
    pending_queries: Mutex<Vec<PendingQuery>>,
    /// While set, the pending page and answers fail so (warden's store failing behind the
    /// desk).
    failing: Mutex<Option<DeskError>>,
    /// Halts in force: (scope, by, reason).
    halts: Mutex<Vec<(String, String, String)>>,
    /// Each resume: (scope, approver, reason).
    resumed: Mutex<Vec<(String, String, String)>>,
    /// Each redaction: (leaf, approver, reason, on whose request).
    redactions: Mutex<Vec<Redaction>>,
    /// Where sessions live when the test shares them (as the gateway's desk does, in its store).
    shared: Option<Arc<SharedSessions>>,
}

/// A session table in the desk's store, which can fail as the store does.
#[derive(Default)]
struct SharedSessions {
    rows: Mutex<std::collections::HashMap<[u8; 32], SessionRecord>>,
    failing: Mutex<Option<DeskError>>,
}

impl SharedSessions {
    fn up(&self) -> Result<(), DeskError> {
        self.failing.lock().unwrap().clone().map_or(Ok(()), Err)
    }
}

impl SessionTable for SharedSessions {
    fn start(
        &self,
        key: [u8; 32],
        session: &SessionRecord,
        _ttl: Duration,
    ) -> Result<(), DeskError> {
        self.up()?;
        self.rows.lock().unwrap().insert(key, session.clone());
        Ok(())
    }
    fn live(&self, key: [u8; 32]) -> Result<Option<SessionRecord>, DeskError> {
        self.up()?;
        Ok(self.rows.lock().unwrap().get(&key).cloned())
    }
    fn end(&self, key: [u8; 32]) -> Result<(), DeskError> {
        self.up()?;
        self.rows.lock().unwrap().remove(&key);
        Ok(())
    }
}

impl FakeDesk {
    fn judged(&self) -> Vec<Judged> {
        self.judged.lock().unwrap().clone()
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    fn clears(&self) -> Vec<Clear> {
        self.clears.lock().unwrap().clone()
    }
}

impl ApprovalDesk for FakeDesk {
    fn session_table(&self) -> Option<Arc<dyn SessionTable>> {
        self.shared
            .clone()
            .map(|table| table as Arc<dyn SessionTable>)
    }

    fn pending(&self, query: &PendingQuery) -> Result<PendingPage, DeskError> {
        if let Some(e) = self.failing.lock().unwrap().clone() {
            return Err(e);
        }
        self.pending_queries.lock().unwrap().push(query.clone());
        let all = self.requests.lock().unwrap();
        let waiting: Vec<&RequestView> = all
            .iter()
            .filter(|r| r.status == ApprovalStatus::Pending)
            .collect();
        let matched: Vec<RequestView> = waiting
            .iter()
            .filter(|r| query.admits(r))
            .map(|r| (*r).clone())
            .collect();
        // Pages as the gateway's desk does, with the index of the next row as its token.
        let from = match query.after.as_deref() {
            None => 0,
            Some(t) => t
                .strip_prefix("req@")
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| DeskError::BadCursor("the page link was altered".into()))?,
        };
        let next =
            (matched.len() > from + query.limit).then(|| format!("req@{}", from + query.limit));
        Ok(PendingPage {
            waiting: waiting.len(),
            matched: matched.len(),
            rows: matched.into_iter().skip(from).take(query.limit).collect(),
            next,
        })
    }

    fn request(&self, id: &str) -> Result<Option<RequestView>, DeskError> {
        Ok(self
            .requests
            .lock()
            .unwrap()
            .iter()
            .find(|r| r.id == id)
            .cloned())
    }

    fn decide(
        &self,
        id: &str,
        approver: &str,
        verdict: Verdict,
        reason: &str,
    ) -> Result<RequestView, DeskError> {
        if let Some(e) = self.failing.lock().unwrap().clone() {
            return Err(e);
        }
        let approve = verdict == Verdict::Approve;
        self.calls.lock().unwrap().push(Call {
            id: id.into(),
            approver: approver.into(),
            approve,
            reason: reason.into(),
        });
        let mut all = self.requests.lock().unwrap();
        let r = all
            .iter_mut()
            .find(|r| r.id == id)
            .ok_or(DeskError::NotFound)?;
        if r.principal == format!("Approver::\"{approver}\"") {
            return Err(DeskError::Refused("you requested this action".into()));
        }
        if r.answers.iter().any(|a| a.approver == approver) {
            return Err(DeskError::Refused(
                "a second, different approver is needed".into(),
            ));
        }
        r.answers.push(AnswerView {
            approver: approver.into(),
            verdict,
            reason: reason.into(),
            at_ms: 1,
        });
        let yes = r
            .answers
            .iter()
            .filter(|a| a.verdict == Verdict::Approve)
            .count();
        if !approve {
            r.status = ApprovalStatus::Denied;
        } else if yes >= usize::from(r.approvals_needed) {
            r.status = ApprovalStatus::Approved;
        }
        Ok(r.clone())
    }

    fn recent_decisions(&self, query: &DecisionQuery) -> Result<DecisionPage, DeskError> {
        self.queries.lock().unwrap().push(query.clone());
        let rows: Vec<DecisionView> = self
            .events
            .iter()
            // The long session is the trail tests' own.
            .filter(|e| e.session != "sess-long")
            .filter(|e| {
                query
                    .decision
                    .as_deref()
                    .is_none_or(|d| e.decision.as_deref() == Some(d))
            })
            .take(query.limit)
            .cloned()
            .collect();
        Ok(DecisionPage {
            searched: self.events.len(),
            truncated: false,
            rows,
            next: None,
        })
    }

    fn review(&self, decision_index: u64) -> Result<Option<ReviewView>, DeskError> {
        Ok(self
            .events
            .iter()
            .find(|e| e.index == decision_index)
            .map(|e| ReviewView {
                decision: e.clone(),
                verdicts: vec![],
            }))
    }

    fn record_verdict(
        &self,
        decision_index: u64,
        reviewer: &str,
        judgement: Judgement,
        note: &str,
    ) -> Result<VerdictView, DeskError> {
        self.judged
            .lock()
            .unwrap()
            .push((decision_index, reviewer.into(), judgement, note.into()));
        // As the gateway's desk: bob does not review containment.
        if reviewer == "bob" {
            return Err(DeskError::Refused(
                "`bob` does not review category `containment`".into(),
            ));
        }
        Ok(VerdictView {
            index: 99,
            reviewer: reviewer.into(),
            judgement,
            note: note.into(),
            at_ms: 1,
        })
    }

    /// Pages of two events; the token names the session and the last index shown, and a
    /// token for another session is refused, as the gateway's desk refuses one.
    fn session_trail(
        &self,
        session: &str,
        after: Option<&str>,
    ) -> Result<Paged<DecisionView>, DeskError> {
        let after = match after {
            None => None,
            Some(t) => Some(
                t.strip_prefix(&format!("{session}@"))
                    .and_then(|n| n.parse::<u64>().ok())
                    .ok_or_else(|| {
                        DeskError::BadCursor("the page link belongs to another listing".into())
                    })?,
            ),
        };
        let mut rows: Vec<DecisionView> = self
            .events
            .iter()
            .filter(|e| e.session == session && after.is_none_or(|a| e.index > a))
            .cloned()
            .collect();
        let next = (rows.len() > 2).then(|| format!("{session}@{}", rows[1].index));
        rows.truncate(2);
        Ok(Paged { rows, next })
    }

    fn halt(&self, scope: &str, approver: &str, reason: &str) -> Result<bool, DeskError> {
        let mut halts = self.halts.lock().unwrap();
        if halts.iter().any(|(s, _, _)| s == scope) {
            return Ok(false);
        }
        halts.push((scope.into(), approver.into(), reason.into()));
        Ok(true)
    }

    fn resume(&self, scope: &str, approver: &str, reason: &str) -> Result<Resumed, DeskError> {
        let mut halts = self.halts.lock().unwrap();
        let at = halts
            .iter()
            .position(|(s, _, _)| s == scope)
            .ok_or_else(|| DeskError::Refused(format!("no active halt on `{scope}`")))?;
        let (scope, by, why) = halts.remove(at);
        self.resumed
            .lock()
            .unwrap()
            .push((scope.clone(), approver.into(), reason.into()));
        Ok(Resumed {
            scope,
            halted_by: by,
            halt_reason: why,
        })
    }

    fn redact(
        &self,
        index: u64,
        approver: &str,
        reason: &str,
        requested_by: Option<&str>,
    ) -> Result<Redacted, DeskError> {
        self.redactions.lock().unwrap().push((
            index,
            approver.into(),
            reason.into(),
            requested_by.map(str::to_string),
        ));
        Ok(Redacted {
            removed: vec!["args".into()],
            recorded: 77,
        })
    }

    fn tainted_agents(&self, after: Option<&str>) -> Result<Paged<TaintView>, DeskError> {
        if after.is_some() {
            return Err(DeskError::BadCursor("the page link was altered".into()));
        }
        Ok(Paged {
            rows: self.taints.lock().unwrap().clone(),
            next: None,
        })
    }

    fn clear_taint(
        &self,
        agent: &str,
        record: TaintRecord,
        approver: &str,
        reason: &str,
    ) -> Result<Option<TaintCleared>, DeskError> {
        self.clears
            .lock()
            .unwrap()
            .push((agent.into(), record, approver.into(), reason.into()));
        let mut all = self.taints.lock().unwrap();
        let Some(at) = all.iter().position(|t| t.agent == agent) else {
            return Ok(None);
        };
        // As the gateway's desk: a clear of what is no longer the newest record is refused.
        if all[at].record != record {
            return Err(DeskError::Refused(format!(
                "the agent's taint changed since it was shown: record {record} was named, the \
                 newest in force is now record {}; review it again",
                all[at].record
            )));
        }
        Ok(Some(TaintCleared {
            taint: all.remove(at),
            records: 2,
        }))
    }
}

const SCRIPT: &str = "<script>alert('pwned')</script>";

fn held(id: &str, tool: &str, needed: u8) -> RequestView {
    RequestView {
        id: id.into(),
        created_ms: 1_780_000_000_000,
        expires_ms: 4_102_444_800_000,
        status: ApprovalStatus::Pending,
        principal: "Agent::\"responder\"".into(),
        session: "sess-7".into(),
        tool: tool.into(),
        category: "containment".into(),
        stakes: "high".into(),
        args: json!({ "host": "ws-042", "note": SCRIPT }),
        args_digest: "sha256:abc123".into(),
        rule: "containment.isolate_host.needs-approval".into(),
        owner: "soc-containment-lead".into(),
        policy_version: "sha256:policy42".into(),
        approvals_needed: needed,
        answers: vec![],
        rationale: Some(format!("ws-042 beacons to a C2 host {SCRIPT}")),
        evidence: vec![EvidenceView {
            index: 12,
            tool: "edr.get_alerts".into(),
            summary: "<img src=x onerror=alert(1)> beacon every 60 s".into(),
            findings: vec!["instruction-like text".into()],
        }],
        targets: vec![TargetView {
            argument: "host".into(),
            entity_type: "Host".into(),
            id: "ws-042".into(),
            attributes: Some(vec![
                ("owner".into(), "finance".into()),
                ("tier".into(), "2".into()),
            ]),
        }],
        reversible: Some(true),
        undo: Some("edr.release_host".into()),
        escalated: false,
    }
}

fn event(index: u64, session: &str, decision: &str) -> DecisionView {
    DecisionView {
        index,
        time_ms: 1_780_000_000_000,
        kind: "decision".into(),
        principal: "Agent::\"responder\"".into(),
        session: session.into(),
        tool: "edr.isolate_host".into(),
        decision: Some(decision.into()),
        rule: Some("rule-x".into()),
        owner: Some("owner-y".into()),
        args: json!({ "host": SCRIPT }),
        detail: String::new(),
        category: Some("containment".into()),
        steps: if decision == "hold" {
            vec!["approved".into(), "executed".into()]
        } else {
            vec![]
        },
    }
}

/// The agent names, tool and session come from agents and upstreams: a script and a
/// right-to-left override stand in for what a hostile one would send.
const HOSTILE_AGENT: &str = "evil\u{202E}<script>alert('agent')</script>";

fn tainted(agent: &str, source: &str, session: &str, level: i64) -> TaintView {
    TaintView {
        agent: agent.into(),
        level,
        source: source.into(),
        session: session.into(),
        since_ms: 1_780_000_000_000,
        until_ms: 4_102_444_800_000,
        record: TaintRecord(level + 100),
        records: 2,
    }
}

fn sha(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// A cheap Argon2id hash so tests stay fast; verification reads the cost from the string.
fn cheap_hash(password: &str) -> String {
    let params = argon2::Params::new(1024, 1, 1, None).unwrap();
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    argon
        .hash_password(
            password.as_bytes(),
            &SaltString::generate(&mut rand::rngs::OsRng),
        )
        .unwrap()
        .to_string()
}

fn config(secure: bool, ttl: Duration) -> ConsoleConfig {
    ConsoleConfig {
        approvers: vec![
            ApproverLogin {
                id: "alice".into(),
                name: "Alice Analyst".into(),
                password_argon2: Some(cheap_hash("correct horse")),
                token_sha256: Some(sha("alice-token")),
            },
            ApproverLogin {
                id: "bob".into(),
                name: "Bob".into(),
                password_argon2: None,
                token_sha256: Some(sha("bob-token")),
            },
        ],
        secure_cookies: secure,
        base_path: "/console".into(),
        session_ttl: ttl,
        agent_tokens: Default::default(),
    }
}

fn setup_with(secure: bool, ttl: Duration) -> (Router, Arc<FakeDesk>) {
    setup_sharing(secure, ttl, false)
}

/// [`setup_with`], with sign-in sessions in the desk's table when `shared`.
fn setup_sharing(secure: bool, ttl: Duration, shared: bool) -> (Router, Arc<FakeDesk>) {
    let desk = Arc::new(FakeDesk {
        requests: Mutex::new(vec![
            held("req-1", "edr.isolate_host", 1),
            held("req-2", "idp.disable_account", 2),
            RequestView {
                status: ApprovalStatus::Approved,
                ..held("req-old", "tickets.close", 1)
            },
            RequestView {
                principal: "Approver::\"alice\"".into(),
                ..held("req-self", "idp.reset", 1)
            },
        ]),
        calls: Mutex::new(vec![]),
        events: [event(40, "sess-7", "hold"), event(41, "sess-8", "deny")]
            .into_iter()
            .chain((20..25).map(|i| event(i, "sess-long", "allow")))
            .collect(),
        taints: Mutex::new(vec![
            tainted("responder", "mail.read_message", "sess-7", 80),
            tainted(
                HOSTILE_AGENT,
                "<img src=x onerror=alert(1)>.read",
                "sess-<b>9</b>",
                45,
            ),
        ]),
        clears: Mutex::new(vec![]),
        judged: Mutex::new(vec![]),
        queries: Mutex::new(vec![]),
        pending_queries: Mutex::new(vec![]),
        failing: Mutex::new(None),
        halts: Mutex::new(vec![]),
        resumed: Mutex::new(vec![]),
        redactions: Mutex::new(vec![]),
        shared: shared.then(|| Arc::new(SharedSessions::default())),
    });
    let app = Router::new().nest("/console", router(desk.clone(), config(secure, ttl)));
    (app, desk)
}

fn setup() -> (Router, Arc<FakeDesk>) {
    setup_with(false, Duration::from_secs(3600))
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

async fn send(app: &Router, req: Request<Body>) -> Reply {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

fn get(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut b = Request::get(path);
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, format!("warden_console={c}"));
    }
    b.body(Body::empty()).unwrap()
}

fn post(path: &str, cookie: Option<&str>, form: &[(&str, &str)]) -> Request<Body> {
    let body = form
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut b =
        Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, format!("warden_console={c}"));
    }
    b.body(Body::from(body)).unwrap()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn set_cookie(r: &Reply) -> Option<String> {
    r.headers
        .get(header::SET_COOKIE)
        .map(|v| v.to_str().unwrap().to_string())
}

fn cookie_value(set_cookie: &str) -> String {
    let first = set_cookie.split(';').next().unwrap();
    first.strip_prefix("warden_console=").unwrap().to_string()
}

fn csrf_in(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("a csrf field") + marker.len();
    let end = html[start..].find('"').unwrap();
    html[start..start + end].to_string()
}

struct Session {
    cookie: String,
    csrf: String,
}

async fn sign_in(app: &Router, approver: &str, secret: &str) -> Session {
    let r = send(
        app,
        post(
            "/console/login",
            None,
            &[("approver", approver), ("password", secret)],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let cookie = cookie_value(&set_cookie(&r).unwrap());
    let page = send(app, get("/console", Some(&cookie))).await;
    assert_eq!(page.status, StatusCode::OK);
    Session {
        csrf: csrf_in(&page.body),
        cookie,
    }
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[tokio::test]
async fn login_with_password_or_token_sets_a_hardened_cookie() {
    let (app, _) = setup_with(true, Duration::from_secs(600));
    let form = get("/console/login", None);
    let r = send(&app, form).await;
    assert_eq!(r.status, StatusCode::OK);
    for id in [
        "login-form",
        "login-approver",
        "login-password",
        "login-submit",
    ] {
        assert!(r.body.contains(&format!("data-testid=\"{id}\"")), "{id}");
    }

    for (who, secret) in [
        ("alice", "correct horse"),
        ("alice", "alice-token"),
        ("bob", "bob-token"),
    ] {
        let r = send(
            &app,
            post(
                "/console/login",
                None,
                &[("approver", who), ("password", secret)],
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{who}");
        assert_eq!(r.headers[header::LOCATION], "/console");
        let c = set_cookie(&r).unwrap();
        assert!(c.contains("HttpOnly"));
        assert!(c.contains("SameSite=Strict"));
        assert!(c.contains("Path=/console;"));
        assert!(c.contains("Max-Age=600"));
        assert!(c.ends_with("; Secure"));
        assert_eq!(cookie_value(&c).len(), 64, "256-bit id in hex");
    }
}

#[tokio::test]
async fn cookie_is_not_secure_unless_configured() {
    let (app, _) = setup();
    let r = send(
        &app,
        post(
            "/console/login",
            None,
            &[("approver", "bob"), ("password", "bob-token")],
        ),
    )
    .await;
    assert!(!set_cookie(&r).unwrap().contains("Secure"));
}

#[tokio::test]
async fn wrong_password_unknown_approver_and_empty_secret_read_the_same() {
    let (app, _) = setup();
    let mut bodies = vec![];
    for (who, secret) in [
        ("alice", "wrong horse"),
        ("mallory", "correct horse"),
        ("bob", "alice-token"),
        ("alice", ""),
    ] {
        let r = send(
            &app,
            post(
                "/console/login",
                None,
                &[("approver", who), ("password", secret)],
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{who}");
        assert!(set_cookie(&r).is_none());
        assert!(r.body.contains("wrong approver or password"));
        assert!(r.body.contains("data-testid=\"login-error\""));
        bodies.push(r.body);
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "one uniform answer"
    );
}

#[tokio::test]
async fn pages_without_a_session_redirect_to_login() {
    let (app, _) = setup();
    for path in [
        "/console",
        "/console/requests/req-1",
        "/console/decisions",
        "/console/sessions/sess-7",
        "/console/taint",
    ] {
        let r = send(&app, get(path, None)).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(r.headers[header::LOCATION], "/console/login");
        let r = send(&app, get(path, Some(&"0".repeat(64)))).await;
        assert_eq!(
            r.status,
            StatusCode::SEE_OTHER,
            "{path} with a made-up cookie"
        );
    }
}

#[tokio::test]
async fn pending_page_lists_pending_requests() {
    let (app, _) = setup();
    let s = sign_in(&app, "alice", "alice-token").await;
    let r = send(&app, get("/console", Some(&s.cookie))).await;
    assert_eq!(count(&r.body, "data-testid=\"pending-row\""), 3);
    assert!(r.body.contains("data-request-id=\"req-1\""));
    assert!(r.body.contains("href=\"/console/requests/req-2\""));
    assert!(
        !r.body.contains("req-old"),
        "answered requests are not pending"
    );
    assert!(r.body.contains("Alice Analyst"));
    assert!(r.body.contains("0 of 2"));
}

#[tokio::test]
async fn request_page_shows_the_raw_call_and_the_evidence() {
    let (app, _) = setup();
    let s = sign_in(&app, "alice", "alice-token").await;
    let r = send(&app, get("/console/requests/req-1", Some(&s.cookie))).await;
    assert_eq!(r.status, StatusCode::OK);
    for needle in [
        "data-testid=\"request-status\" data-status=\"pending\"",
        "edr.isolate_host",
        "sha256:abc123",
        "sha256:policy42",
        "containment.isolate_host.needs-approval",
        "soc-containment-lead",
        "&quot;host&quot;: &quot;ws-042&quot;",
        // Every argument is named before any value, and the values are not cut to a box.
        "2 argument(s): <code>host</code> (8 characters), <code>note</code>",
        "<pre class=\"whole\" data-testid=\"request-args\">",
        "data-testid=\"evidence-item\"",
        "instruction-like text",
        "came from the agent",
        "data-testid=\"reason\"",
        "data-testid=\"approve\"",
        "data-testid=\"deny\"",
        "action=\"/console/requests/req-1/decide\"",
    ] {
        assert!(r.body.contains(needle), "missing {needle}");
    }
    let r = send(&app, get("/console/requests/req-old", Some(&s.cookie))).await;
    assert!(
        !r.body.contains("data-testid=\"approve\""),
        "no form once answered"
    );
    let r = send(&app, get("/console/requests/nope", Some(&s.cookie))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn agent_text_is_escaped_everywhere() {
    let (app, _) = setup();
    let s = sign_in(&app, "alice", "alice-token").await;
    for path in [
        "/console",
        "/console/requests/req-1",
        "/console/decisions",
        "/console/sessions/sess-7",
        "/console/taint",
    ] {
        let r = send(&app, get(path, Some(&s.cookie))).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert!(!r.body.contains("<script"), "{path} has a raw script tag");
        assert!(!r.body.contains("<img"), "{path} has a raw img tag");
        let csp = r.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("default-src 'none'") && !csp.contains("script-src"));
    }
    let r = send(&app, get("/console/requests/req-1", Some(&s.cookie))).await;
    assert!(
        r.body
            .contains("&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;")
    );
    assert!(r.body.contains("&lt;img src=x onerror=alert(1)&gt;"));
}

#[tokio::test]
async fn decide_without_csrf_is_forbidden_and_the_desk_sees_nothing() {
    let (app, desk) = setup();
    let s = sign_in(&app, "alice", "alice-token").await;
    let path = "/console/requests/req-1/decide";
    let missing = send(
        &app,
        post(
            path,
            Some(&s.cookie),
            &[("decision", "approve"), ("reason", "ok")],
        ),
    )
    .await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    let wrong = [("csrf", "0000"), ("decision", "approve"), ("reason", "ok")];
    assert_eq!(
        send(&app, post(path, Some(&s.cookie), &wrong)).await.status,
        StatusCode::FORBIDDEN
    );
    // Another session's token is wrong too.
    let other = sign_in(&app, "bob", "bob-token").await;
    let borrowed = [
        ("csrf", other.csrf.as_str()),
        ("decision", "approve"),
        ("reason", "ok"),
    ];
    assert_eq!(
        send(&app, post(path, Some(&s.cookie), &borrowed))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert!(desk.calls().is_empty());
}

#[tokio::test]
async fn decide_without_session_is_unauthorized() {
    let (app, desk) = setup();
    let s = sign_in(&app, "alice", "alice-token").await;
    let form = [
        ("csrf", s.csrf.as_str()),
        ("decision", "approve"),
        ("reason", "ok"),
    ];
    let r = send(&app, post("/console/requests/req-1/decide", None, &form)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = send(
        &app,
        post("/console/logout", None, &[("csrf", s.csrf.as_str())]),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(desk.calls().is_empty());
}

#[tokio::test]
async fn approve_with_csrf_and_reason_reaches_the_desk_as_the_approver() {
    let (app, desk) = setup();
    let s = sign_in(&app, "alice", "alice-token").await;
    let form = [
        ("csrf", s.csrf.as_str()),
        ("decision", "approve"),
        ("reason", "  C2 beacon confirmed  "),
    ];
    let r = send(
        &app,
        post("/console/requests/req-1/decide", Some(&s.cookie), &form),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        desk.calls(),
        vec![Call {
            id: "req-1".into(),
            approver: "alice".into(),
            approve: true,
            reason: "C2 beacon confirmed".into()
        }]
    );
    assert!(r.body.contains("data-testid=\"notice\""));
    assert!(r.body.contains("data-status=\"approved\""));
    assert_eq!(count(&r.body, "data-testid=\"answer-row\""), 1);

    let deny = [
        ("csrf", s.csrf.as_str()),
        ("decision", "deny"),
        ("reason", "not this host"),
    ];
    send(
        &app,
        post("/console/requests/req-2/decide", Some(&s.cookie), &deny),
    )
    .await;
    assert!(!desk.calls()[1].approve);
}

#[tokio::test]
async fn empty_reason_or_no_choice_is_refused_before_the_desk() {
    let (app, desk) = setup();
    let s = sign_in(&app, "alice", "alice-token").await;
    let path = "/console/requests/req-1/decide";
    for form in [
        vec![
            ("csrf", s.csrf.as_str()),
            ("decision", "approve"),
            ("reason", ""),
        ],
        vec![
            ("csrf", s.csrf.as_str()),
            ("decision", "approve"),
            ("reason", " \n\t "),
        ],
        vec![("csrf", s.csrf.as_str()), ("decision", "approve")],
        vec![
            ("csrf", s.csrf.as_str()),
            ("decision", "maybe"),
            ("reason", "why not"),
        ],
    ] {
        let r = send(&app, post(path, Some(&s.cookie), &form)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body.contains("data-testid=\"refusal\""));
    }
    let long = "x".repeat(2001);
    let form = [
        ("csrf", s.csrf.as_str()),
        ("decision", "deny"),
        ("reason", long.as_str()),
    ];
    assert_eq!(
        send(&app, post(path, Some(&s.cookie), &form)).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert!(desk.calls().is_empty());
}

#[tokio::test]
async fn desk_refusals_are_shown_to_the_approver() {
    let (app, desk) = setup();
    let s = sign_in(&app, "alice", "alice-token").await;
    let form = [
        ("csrf", s.csrf.as_str()),
        ("decision", "approve"),
        ("reason", "fine"),
    ];
    let r = send(
        &app,
        post("/console/requests/req-self/decide", Some(&s.cookie), &form),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("data-testid=\"refusal\""));
    assert!(r.body.contains("you requested this action"));
    assert!(
        r.body.contains(">fine</textarea>"),
        "the reason is kept for another try"
    );

    let path = "/console/requests/req-2/decide";
    let first = send(&app, post(path, Some(&s.cookie), &form)).await;
    assert!(
        first.body.contains("data-status=\"pending\""),
        "two-person: one approval is not enough"
    );
    let again = send(&app, post(path, Some(&s.cookie), &form)).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(
        again
            .body
            .contains("a second, different approver is needed")
    );
    assert_eq!(desk.calls().len(), 3);
}

#[tokio::test]
async fn logout_needs_csrf_and_ends_the_session() {
    let (app, _) = setup();
    let s = sign_in(&app, "alice", "alice-token").await;
    let r = send(
        &app,
        post("/console/logout", Some(&s.cookie), &[("csrf", "nope")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        send(&app, get("/console", Some(&s.cookie))).await.status,
        StatusCode::OK
    );

    let r = send(
        &app,
        post(
            "/console/logout",
            Some(&s.cookie),
            &[("csrf", s.csrf.as_str())],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers[header::LOCATION], "/console/login");
    assert!(set_cookie(&r).unwrap().contains("Max-Age=0"));
    assert_eq!(
        send(&app, get("/console", Some(&s.cookie))).await.status,
        StatusCode::SEE_OTHER
    );
    let form = [
        ("csrf", s.csrf.as_str()),
        ("decision", "approve"),
        ("reason", "late"),
    ];
    let r = send(
        &app,
        post("/console/requests/req-1/decide", Some(&s.cookie), &form),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn sessions_expire() {
    let (app, _) = setup_with(false, Duration::from_millis(200));
    let s = sign_in(&app, "bob", "bob-token").await;
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(
        send(&app, get("/console", Some(&s.cookie))).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn decisions_and_session_trail() {
    let (app, _) = setup();
    let s = sign_in(&app, "alice", "alice-token").await;
    let r = send(&app, get("/console/decisions", Some(&s.cookie))).await;
    assert_eq!(count(&r.body, "data-testid=\"decision-row\""), 2);
    let r = send(&app, get("/console/decisions?limit=1", Some(&s.cookie))).await;
    assert_eq!(count(&r.body, "data-testid=\"decision-row\""), 1);
    let r = send(&app, get("/console/sessions/sess-8", Some(&s.cookie))).await;
    assert_eq!(count(&r.body, "data-testid=\"trail-row\""), 1);
    assert!(r.body.contains("owner-y"));
    assert!(
        !r.body.contains("data-testid=\"next-page\""),
        "one page only"
    );
}

/// The href of the page's "next" link, as a browser would follow it (`&amp;` is `&`).
fn next_href(body: &str) -> Option<String> {
    let at = body.find("data-testid=\"next-page\"")?;
    let rest = &body[at..];
    let start = rest.find("href=\"")? + 6;
    let end = start + rest[start..].find('"')?;
    Some(rest[start..end].replace("&amp;", "&"))
}

#[tokio::test]
async fn a_long_trail_is_shown_a_page_at_a_time_and_a_bad_page_link_is_refused() {
    let (app, _) = setup();
    let s = sign_in(&app, "alice", "alice-token").await;
    let first = send(&app, get("/console/sessions/sess-long", Some(&s.cookie))).await;
    assert_eq!(first.status, StatusCode::OK);
    let indices = |body: &str| -> Vec<String> {
        body.match_indices("data-testid=\"trail-row\" data-index=\"")
            .map(|(at, m)| {
                let rest = &body[at + m.len()..];
                rest[..rest.find('"').unwrap()].to_string()
            })
            .collect()
    };
    let mut seen = indices(&first.body);
    assert_eq!(seen, ["20", "21"]);
    let mut href = next_href(&first.body);
    let mut pages = 1;
    while let Some(next) = href {
        assert!(
            next.starts_with("/console/sessions/sess-long?after="),
            "{next}"
        );
        let page = send(&app, get(&next, Some(&s.cookie))).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("data-testid=\"first-page\""));
        seen.extend(indices(&page.body));
        href = next_href(&page.body);
        pages += 1;
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ["20", "21", "22", "23", "24"]);

    // A link the desk refuses (altered, from another session) is a 400 that says so: never
    // the first page again, never a 500.
    for bad in [
        "/console/sessions/sess-long?after=sess-8%4021",
        "/console/sessions/sess-long?after=%3Cscript%3E",
        "/console/taint?after=00ff",
    ] {
        let r = send(&app, get(bad, Some(&s.cookie))).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(r.body.contains("data-testid=\"problem\""), "{bad}");
        assert!(!r.body.contains("trail-row"), "{bad}");
        assert!(!r.body.contains("<script>"), "{bad}");
    }
}

#[tokio::test]
async fn the_pending_pages_next_link_keeps_the_filters() {
    let (app, desk) = setup();
    for i in 0..(warden_console_max_pending() + 3) {
        let mut r = desk.requests.lock().unwrap()[0].clone();
        r.id = format!("req-many-{i:03}");
        r.status = ApprovalStatus::Pending;
        desk.requests.lock().unwrap().push(r);
    }
    let s = sign_in(&app, "alice", "alice-token").await;
    let tool = desk.requests.lock().unwrap()[0].tool.clone();
    let first = send(
        &app,
        get(&format!("/console?tool={tool}&q=req-many"), Some(&s.cookie)),
    )
    .await;
    assert_eq!(
        count(&first.body, "data-testid=\"pending-row\""),
        warden_console_max_pending()
    );
    let next = next_href(&first.body).expect("a next link");
    assert!(next.starts_with("/console?"), "{next}");
    assert!(next.contains(&format!("tool={tool}")), "{next}");
    assert!(next.contains("q=req-many"), "{next}");
    let second = send(&app, get(&next, Some(&s.cookie))).await;
    assert_eq!(count(&second.body, "data-testid=\"pending-row\""), 3);
    assert!(second.body.contains("req-many-202"));
    assert!(!second.body.contains("req-many-000"));
    let last = desk
        .pending_queries
        .lock()
        .unwrap()
        .last()
        .cloned()
        .unwrap();
    assert_eq!(last.tool.as_deref(), Some(tool.as_str()));
    assert!(last.after.is_some());
}

/// The console's page of pending requests.
fn warden_console_max_pending() -> usize {
    200
}

#[test]
fn config_debug_redacts_secrets_and_validate_reports_everything() {
    let c = config(true, Duration::from_secs(60));
    let shown = format!("{c:?}");
    assert!(!shown.contains(&sha("alice-token")));
    assert!(!shown.contains("argon2id"));
    assert!(shown.contains("<redacted>"));
    assert!(c.validate().is_ok());

    let mut bad = c.clone();
    bad.base_path = "console/".into();
    bad.approvers.push(ApproverLogin {
        id: "bob".into(),
        name: "B".into(),
        password_argon2: None,
        token_sha256: None,
    });
    bad.approvers.push(ApproverLogin {
        id: "carol".into(),
        name: "C".into(),
        password_argon2: Some("plaintext".into()),
        token_sha256: Some("abc".into()),
    });
    assert_eq!(bad.validate().unwrap_err().len(), 5);
}

#[test]
fn hash_password_makes_a_verifiable_argon2id_string() {
    let phc = warden_console::hash_password("s3cret");
    assert!(phc.starts_with("$argon2id$"));
    let mut c = config(false, Duration::from_secs(60));
    c.approvers[0].password_argon2 = Some(phc);
    assert!(c.validate().is_ok());
}

#[tokio::test]
async fn taint_page_lists_tainted_agents_as_untrusted_text() {
    let (app, desk) = setup();
    let s = sign_in(&app, "alice", "alice-token").await;
    let home = send(&app, get("/console", Some(&s.cookie))).await;
    assert!(
        home.body
            .contains("data-testid=\"nav-taint\" href=\"/console/taint\""),
        "linked from the navigation"
    );

    let r = send(&app, get("/console/taint", Some(&s.cookie))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(count(&r.body, "data-testid=\"taint-row\""), 2);
    assert_eq!(count(&r.body, "data-testid=\"taint-clear-form\""), 2);
    assert_eq!(
        count(&r.body, "action=\"/console/taint/clear\""),
        2,
        "one form per agent"
    );
    for needle in [
        "data-agent=\"responder\"",
        "<code data-testid=\"taint-agent\">responder</code>",
        "<td data-testid=\"taint-level\">80</td>",
        "mail.read_message",
        "href=\"/console/sessions/sess-7\"",
        "2026-",
        "name=\"agent\" value=\"responder\"",
        "name=\"record\" value=\"180\"",
        "<td data-testid=\"taint-records\">2 (newest: record 180)</td>",
        "data-testid=\"taint-reason\"",
        "Agent <span class=\"label\">untrusted</span>",
        "Source tool <span class=\"label\">untrusted</span>",
        "Session <span class=\"label\">untrusted</span>",
    ] {
        assert!(r.body.contains(needle), "missing {needle}");
    }
    // Hostile names are escaped, and the shown one reveals its hidden override.
    assert!(!r.body.contains("<script"), "a raw script tag");
    assert!(!r.body.contains("<img"), "a raw img tag");
    assert!(!r.body.contains("<b>9"), "a raw b tag");
    assert!(
        r.body
            .contains("evil⟦U+202E⟧&lt;script&gt;alert(&#39;agent&#39;)&lt;/script&gt;</code>")
    );
    assert!(r.body.contains("&lt;img src=x onerror=alert(1)&gt;.read"));
    assert!(r.body.contains("sess-&lt;b&gt;9&lt;/b&gt;"));
    // The form carries the exact name (escaped in the attribute), so it clears that agent.
    assert!(r.body.contains(
        "name=\"agent\" value=\"evil\u{202E}&lt;script&gt;alert(&#39;agent&#39;)&lt;/script&gt;\""
    ));
    assert!(desk.clears().is_empty(), "viewing clears nothing");

    desk.taints.lock().unwrap().clear();
    let r = send(&app, get("/console/taint", Some(&s.cookie))).await;
    assert!(r.body.contains("data-testid=\"taint-empty\""));
    assert!(!r.body.contains("data-testid=\"taint-table\""));
}

#[tokio::test]
async fn clearing_taint_without_csrf_or_session_is_refused_and_the_desk_sees_nothing() {
    let (app, desk) = setup();
    let s = sign_in(&app, "alice", "alice-token").await;
    let other = sign_in(&app, "bob", "bob-token").await;
    let path = "/console/taint/clear";
    for form in [
        vec![("agent", "responder"), ("reason", "dealt with")],
        vec![
            ("csrf", "0000"),
            ("agent", "responder"),
            ("reason", "dealt with"),
        ],
        vec![
            ("csrf", other.csrf.as_str()),
            ("agent", "responder"),
            ("reason", "dealt with"),
        ],
    ] {
        let r = send(&app, post(path, Some(&s.cookie), &form)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{form:?}");
    }
    let form = [
        ("csrf", s.csrf.as_str()),
        ("agent", "responder"),
        ("reason", "dealt with"),
    ];
    let r = send(&app, post(path, None, &form)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(desk.clears().is_empty());
    assert_eq!(desk.taints.lock().unwrap().len(), 2, "nothing changed");
}

#[tokio::test]
async fn clearing_taint_needs_a_reason_and_an_agent() {
    let (app, desk) = setup();
    let s = sign_in(&app, "alice", "alice-token").await;
    let path = "/console/taint/clear";
    for form in [
        vec![("csrf", s.csrf.as_str()), ("agent", "responder")],
        vec![
            ("csrf", s.csrf.as_str()),
            ("agent", "responder"),
            ("reason", ""),
        ],
        vec![
            ("csrf", s.csrf.as_str()),
            ("agent", "responder"),
            ("reason", " \n\t "),
        ],
    ] {
        let r = send(&app, post(path, Some(&s.cookie), &form)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{form:?}");
        assert!(r.body.contains("data-testid=\"refusal\""));
        assert!(
            r.body
                .contains("a reason is required to clear an agent&#39;s taint"),
            "{}",
            r.body
        );
        assert_eq!(
            count(&r.body, "data-testid=\"taint-row\""),
            2,
            "still listed"
        );
    }
    let no_agent = [("csrf", s.csrf.as_str()), ("reason", "dealt with")];
    let r = send(&app, post(path, Some(&s.cookie), &no_agent)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("choose an agent whose taint to clear"));
    let long = "x".repeat(2001);
    let form = [
        ("csrf", s.csrf.as_str()),
        ("agent", "responder"),
        ("reason", long.as_str()),
    ];
    let r = send(&app, post(path, Some(&s.cookie), &form)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains(&format!(">{long}</textarea>")),
        "the draft is kept for another try"
    );
    assert!(desk.clears().is_empty());
    assert_eq!(desk.taints.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn clearing_taint_reaches_the_desk_as_the_signed_in_approver() {
    let (app, desk) = setup();
    let s = sign_in(&app, "bob", "bob-token").await;
    // A forged `approver` field changes nothing: the approver is the session's.
    let form = [
        ("csrf", s.csrf.as_str()),
        ("agent", "responder"),
        ("record", "180"),
        ("reason", "  mailbox cleaned, credentials rotated  "),
        ("approver", "alice"),
    ];
    let r = send(&app, post("/console/taint/clear", Some(&s.cookie), &form)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        desk.clears(),
        vec![(
            "responder".to_string(),
            TaintRecord(180),
            "bob".to_string(),
            "mailbox cleaned, credentials rotated".to_string()
        )]
    );
    assert!(r.body.contains("data-testid=\"notice\""));
    assert!(r.body.contains(
        "Taint of agent <code>responder</code> cleared through record 180 (2 in force, the highest level 80 from <code>mail.read_message</code>)"
    ));
    assert_eq!(count(&r.body, "data-testid=\"taint-row\""), 1);
    assert!(!r.body.contains("data-agent=\"responder\""));

    // Again: the desk finds nothing in force, and the page says so.
    let r = send(&app, post("/console/taint/clear", Some(&s.cookie), &form)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body
            .contains("has no taint in force; nothing was cleared")
    );
    assert_eq!(desk.clears().len(), 2);

    // The hostile agent is cleared by its exact name, which the page shows escaped.
    let form = [
        ("csrf", s.csrf.as_str()),
        ("agent", HOSTILE_AGENT),
        ("record", "145"),
        ("reason", "false positive"),
    ];
    let r = send(&app, post("/console/taint/clear", Some(&s.cookie), &form)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!r.body.contains("<script"));
    assert_eq!(desk.clears()[2].0, HOSTILE_AGENT);
    assert!(r.body.contains("data-testid=\"taint-empty\""));
}

/// The clear names the record the page showed. A form without it (or with something else) is
/// refused before the desk; a record the desk no longer finds newest (the agent read something
/// after the page was drawn) is refused by the desk, and the page shows the refusal, the new
/// record to review and the reason as drafted.
#[tokio::test]
async fn clearing_taint_names_the_record_shown_and_a_stale_one_is_refused() {
    let (app, desk) = setup();
    let s = sign_in(&app, "alice", "alice-token").await;
    let path = "/console/taint/clear";
    for record in [None, Some(""), Some("latest"), Some("0"), Some("-1")] {
        let mut form = vec![
            ("csrf", s.csrf.as_str()),
            ("agent", "responder"),
            ("reason", "dealt with"),
        ];
        form.extend(record.map(|r| ("record", r)));
        let r = send(&app, post(path, Some(&s.cookie), &form)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{form:?}");
        assert!(
            r.body
                .contains("the form does not name the taint record shown; review the agent again"),
            "{}",
            r.body
        );
        assert!(
            r.body.contains(">dealt with</textarea>"),
            "the draft is kept"
        );
    }
    assert!(desk.clears().is_empty(), "nothing reached the desk");

    // The page showed record 180; the agent reads an injection before the click.
    let shown = send(&app, get("/console/taint", Some(&s.cookie))).await;
    assert!(shown.body.contains("name=\"record\" value=\"180\""));
    desk.taints.lock().unwrap()[0].record = TaintRecord(181);
    let form = [
        ("csrf", s.csrf.as_str()),
        ("agent", "responder"),
        ("record", "180"),
        ("reason", "looked harmless"),
    ];
    let r = send(&app, post(path, Some(&s.cookie), &form)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(
        r.body
            .contains("the agent&#39;s taint changed since it was shown: record 180 was named"),
        "{}",
        r.body
    );
    assert!(r.body.contains("review it again"));
    assert!(r.body.contains(">looked harmless</textarea>"));
    assert!(
        r.body.contains("name=\"record\" value=\"181\""),
        "the page now shows the new record to review"
    );
    assert_eq!(count(&r.body, "data-testid=\"taint-row\""), 2);
    assert_eq!(desk.clears().len(), 1);
    assert_eq!(desk.taints.lock().unwrap().len(), 2, "nothing cleared");
}

/// Guessing at one approver's password locks that account after five failures — the right
/// password included — while attackers spraying made-up names at the same moment never keep a
/// real approver from signing in.
#[tokio::test]
async fn guessing_locks_the_account_and_spraying_names_does_not_lock_out_others() {
    let (app, _) = setup();
    let attempt = move |who: &'static str, secret: &'static str| {
        let app = app.clone();
        async move {
            send(
                &app,
                post(
                    "/console/login",
                    None,
                    &[("approver", who), ("password", secret)],
                ),
            )
            .await
        }
    };
    // Four attack loops on made-up names, running while bob signs in.
    let spray: Vec<_> = (0..4)
        .map(|_| {
            let attempt = attempt.clone();
            tokio::spawn(async move {
                for _ in 0..3 {
                    attempt("mallory", "guess").await;
                }
            })
        })
        .collect();
    for _ in 0..3 {
        let r = attempt("bob", "bob-token").await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    }
    for s in spray {
        s.await.unwrap();
    }
    // Five wrong guesses at alice: the sixth attempt is refused unchecked, right password or not.
    for _ in 0..5 {
        let r = attempt("alice", "wrong horse").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = attempt("alice", "correct horse").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert!(r.body.contains("locked"), "{}", r.body);
    assert!(set_cookie(&r).is_none());
    // Other accounts are not affected.
    let r = attempt("bob", "bob-token").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

/// Review 42 (F7): the lock must not tell a configured approver from a made-up name. Before,
/// five wrong passwords locked a real id (429) and never a made-up one (always 401), so anyone
/// could list the approvers without signing in. Now a made-up name locks the same way.
#[tokio::test]
async fn the_lock_does_not_tell_an_approver_from_a_made_up_name() {
    let (app, _) = setup();
    let mut answers = Vec::new();
    for who in ["alice", "no-such-approver"] {
        for _ in 0..5 {
            let r = send(
                &app,
                post(
                    "/console/login",
                    None,
                    &[("approver", who), ("password", "wrong horse")],
                ),
            )
            .await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        }
        let r = send(
            &app,
            post(
                "/console/login",
                None,
                &[("approver", who), ("password", "wrong horse")],
            ),
        )
        .await;
        answers.push((r.status, r.body.replace(who, "WHO")));
    }
    assert_eq!(answers[0].0, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(answers[0], answers[1], "the answers differ");
}

/// Review 42 (F6): someone who can set a cookie for the console's host (a sibling subdomain)
/// plants their own valid session under a narrower path, which the browser sends first;
/// the console took the first cookie, so a colleague's answers were recorded under the
/// planter's name. Two session cookies at once are no session.
#[tokio::test]
async fn two_session_cookies_at_once_are_no_session() {
    let (app, _) = setup();
    let mallory = sign_in(&app, "bob", "bob-token").await;
    let victim = sign_in(&app, "alice", "correct horse").await;
    // The browser sends the narrower path's cookie first.
    let both = format!("{}; warden_console={}", mallory.cookie, victim.cookie);
    let r = send(&app, get("/console", Some(&both))).await;
    assert_ne!(r.status, StatusCode::OK, "{}", r.body);
    // Each alone is still a session.
    let r = send(&app, get("/console", Some(&victim.cookie))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[tokio::test]
async fn a_verdict_without_a_session_or_csrf_reaches_nothing() {
    let (app, desk) = setup();
    let form = [("verdict", "correct"), ("note", "checked the EDR alert")];
    // Not signed in: 401, whatever the form carries.
    let mut with_token = form.to_vec();
    with_token.push(("csrf", "x"));
    let r = send(&app, post("/console/review/40", None, &with_token)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = send(&app, get("/console/review/40", None)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // Signed in, without the CSRF token, with a wrong one, with another session's.
    let s = sign_in(&app, "alice", "alice-token").await;
    let other = sign_in(&app, "bob", "bob-token").await;
    for csrf in [None, Some("0000"), Some(other.csrf.as_str())] {
        let mut f = form.to_vec();
        if let Some(c) = csrf {
            f.push(("csrf", c));
        }
        let r = send(&app, post("/console/review/40", Some(&s.cookie), &f)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{csrf:?}");
    }
    assert!(desk.judged().is_empty(), "{:?}", desk.judged());
}

#[tokio::test]
async fn a_verdict_needs_a_choice_and_a_note_and_goes_to_the_desk_as_the_signed_in_reviewer() {
    let (app, desk) = setup();
    let s = sign_in(&app, "alice", "alice-token").await;
    let page = send(&app, get("/console/review/40", Some(&s.cookie))).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("data-testid=\"verdict-form\""));
    assert!(page.body.contains("action=\"/console/review/40\""));
    let csrf = s.csrf.as_str();
    for bad in [
        vec![("csrf", csrf), ("verdict", "maybe"), ("note", "x")],
        vec![("csrf", csrf), ("verdict", "correct"), ("note", "   ")],
    ] {
        let r = send(&app, post("/console/review/40", Some(&s.cookie), &bad)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    assert!(desk.judged().is_empty());
    // The form cannot name the reviewer: an extra field is ignored.
    let ok = [
        ("csrf", csrf),
        ("verdict", "wrong"),
        ("note", " should have been allowed "),
        ("reviewer", "dana"),
    ];
    let r = send(&app, post("/console/review/40", Some(&s.cookie), &ok)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("recorded in the audit log as leaf 99"));
    assert_eq!(
        desk.judged(),
        vec![(
            40,
            "alice".to_string(),
            Judgement::Wrong,
            "should have been allowed".to_string()
        )]
    );
    // A desk refusal (not this reviewer's category) is shown, with the note kept.
    let bob = sign_in(&app, "bob", "bob-token").await;
    let r = send(
        &app,
        post(
            "/console/review/40",
            Some(&bob.cookie),
            &[
                ("csrf", &bob.csrf),
                ("verdict", "correct"),
                ("note", "looked fine"),
            ],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("does not review category"), "{}", r.body);
    assert!(r.body.contains(">looked fine</textarea>"), "{}", r.body);
}

#[tokio::test]
async fn filters_narrow_the_pending_and_recent_pages() {
    let (app, desk) = setup();
    let s = sign_in(&app, "alice", "alice-token").await;
    let r = send(
        &app,
        get("/console?tool=idp.disable_account&agent=", Some(&s.cookie)),
    )
    .await;
    assert_eq!(
        count(&r.body, "data-testid=\"pending-row\""),
        1,
        "{}",
        r.body
    );
    assert!(r.body.contains("data-request-id=\"req-2\""));
    assert!(
        r.body.contains("value=\"idp.disable_account\""),
        "the form keeps the filter"
    );
    let r = send(&app, get("/console?q=REQ-SELF", Some(&s.cookie))).await;
    assert_eq!(count(&r.body, "data-testid=\"pending-row\""), 1);
    let r = send(&app, get("/console?category=identity", Some(&s.cookie))).await;
    assert!(
        r.body.contains("data-testid=\"pending-none-match\""),
        "{}",
        r.body
    );
    // The filters go to the desk, which searches every waiting request; each page lists a
    // bounded number of them.
    let queries = desk.pending_queries.lock().unwrap().clone();
    assert!(
        !queries.is_empty() && queries.iter().all(|q| q.limit == 200),
        "{queries:?}"
    );
    assert!(
        queries
            .iter()
            .any(|q| q.text.as_deref() == Some("REQ-SELF") && q.agent.is_none()),
        "{queries:?}"
    );

    let r = send(
        &app,
        get(
            "/console/decisions?decision=hold&category=containment&q=ws-042&agent=%20&limit=5000",
            Some(&s.cookie),
        ),
    )
    .await;
    assert_eq!(
        count(&r.body, "data-testid=\"decision-row\""),
        1,
        "{}",
        r.body
    );
    let asked = desk.queries.lock().unwrap().last().cloned().unwrap();
    assert_eq!(
        asked,
        DecisionQuery {
            agent: None,
            tool: None,
            category: Some("containment".into()),
            decision: Some("hold".into()),
            text: Some("ws-042".into()),
            limit: 1000,
            after: None,
        },
        "blank filters are none and the limit is bounded"
    );
}

#[tokio::test]
async fn a_held_call_shows_what_became_of_it_and_a_request_shows_its_target() {
    let (app, _) = setup();
    let s = sign_in(&app, "alice", "alice-token").await;
    let r = send(&app, get("/console/decisions", Some(&s.cookie))).await;
    let fate = r
        .body
        .find("data-testid=\"decision-fate\"")
        .expect("a fate");
    let fate = &r.body[fate..fate + 300];
    assert!(
        fate.contains(">approved<") && fate.contains(">executed<"),
        "{fate}"
    );
    assert!(r.body.contains("href=\"/console/review/40\""));

    let r = send(&app, get("/console/requests/req-1", Some(&s.cookie))).await;
    for needle in [
        "data-testid=\"request-target\" data-argument=\"host\"",
        "data-name=\"owner\"",
        "finance",
        "data-reversible=\"yes\"",
        "Undo: edr.release_host",
    ] {
        assert!(r.body.contains(needle), "missing {needle}");
    }
}

/// Issue 18: warden's store fails behind the desk. A store that is down for now (PostgreSQL
/// stopped, every connection busy) is 503 with `Retry-After`, for the page and for an answer;
/// a failure that trying again does not mend is 500 without it. Neither page shows what
/// failed.
#[tokio::test]
async fn a_store_that_is_down_is_503_with_retry_after_and_a_lasting_failure_500() {
    let (app, desk) = setup();
    let s = sign_in(&app, "alice", "alice-token").await;
    let detail = "error connecting to postgresql://warden:hunter2@db.internal:5432/warden";
    let decide = || {
        post(
            "/console/requests/req-1/decide",
            Some(&s.cookie),
            &[
                ("csrf", s.csrf.as_str()),
                ("decision", "approve"),
                ("reason", "host confirmed"),
            ],
        )
    };

    *desk.failing.lock().unwrap() = Some(DeskError::Unavailable(detail.into()));
    for r in [
        send(&app, get("/console", Some(&s.cookie))).await,
        send(&app, decide()).await,
    ] {
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
        assert_eq!(r.headers[header::RETRY_AFTER], "5");
        assert!(r.body.contains("Try again in 5 s"), "{}", r.body);
        assert!(!r.body.contains("hunter2") && !r.body.contains("postgresql"));
    }

    *desk.failing.lock().unwrap() = Some(DeskError::Internal(detail.into()));
    for r in [
        send(&app, get("/console", Some(&s.cookie))).await,
        send(&app, decide()).await,
    ] {
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", r.body);
        assert!(!r.headers.contains_key(header::RETRY_AFTER));
        assert!(!r.body.contains("hunter2") && !r.body.contains("postgresql"));
    }

    *desk.failing.lock().unwrap() = None;
    let r = send(&app, get("/console", Some(&s.cookie))).await;
    assert_eq!(r.status, StatusCode::OK);
}

/// Issue 18: sign-in sessions live in warden's store (as with several replicas), and the store
/// goes down. A signed-in approver's page and answer are 503 with `Retry-After`, not a
/// sign-in page nor a 401 (the session is fine; the store cannot say so for now), and nothing
/// reaches the desk; a lasting failure is 500. Once the store is back the same session works.
#[tokio::test]
async fn a_session_table_that_is_down_is_503_not_a_sign_in_page() {
    let (app, desk) = setup_sharing(false, Duration::from_secs(3600), true);
    let s = sign_in(&app, "alice", "alice-token").await;
    let table = desk.shared.clone().unwrap();
    let decide = || {
        post(
            "/console/requests/req-1/decide",
            Some(&s.cookie),
            &[
                ("csrf", s.csrf.as_str()),
                ("decision", "approve"),
                ("reason", "host confirmed"),
            ],
        )
    };

    *table.failing.lock().unwrap() = Some(DeskError::Unavailable("connection refused".into()));
    for r in [
        send(&app, get("/console", Some(&s.cookie))).await,
        send(&app, decide()).await,
    ] {
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
        assert_eq!(r.headers[header::RETRY_AFTER], "5");
        assert!(!r.body.contains("connection refused"), "{}", r.body);
    }
    *table.failing.lock().unwrap() = Some(DeskError::Internal("a row that does not verify".into()));
    let r = send(&app, get("/console", Some(&s.cookie))).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", r.body);
    assert!(!r.headers.contains_key(header::RETRY_AFTER));
    assert!(desk.calls().is_empty(), "nothing reached the desk");

    *table.failing.lock().unwrap() = None;
    let r = send(&app, get("/console", Some(&s.cookie))).await;
    assert_eq!(r.status, StatusCode::OK);
}

// The approvers' API (`/console/api`): the approver's bearer token, JSON in and out.

/// A JSON request to the API, with the approver's token and name when given.
fn api(
    method: &str,
    path: &str,
    auth: Option<(&str, &str)>,
    body: Option<serde_json::Value>,
) -> Request<Body> {
    let mut b = Request::builder()
        .method(method)
        .uri(format!("/console/api{path}"));
    if let Some((who, token)) = auth {
        b = b
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header("warden-approver", who);
    }
    match body {
        Some(v) => b
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(v.to_string()))
            .unwrap(),
        None => b.body(Body::empty()).unwrap(),
    }
}

fn json_of(r: &Reply) -> serde_json::Value {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", r.body))
}

fn approve_body() -> serde_json::Value {
    json!({"verdict": "approve", "reason": "checked with the host owner"})
}

#[tokio::test]
async fn the_api_reads_no_cookie_only_the_bearer_token() {
    let (app, desk) = setup();
    let alice = sign_in(&app, "alice", "correct horse").await;
    let mut req = api("POST", "/requests/req-1/answer", None, Some(approve_body()));
    req.headers_mut().insert(
        header::COOKIE,
        format!("warden_console={}", alice.cookie).parse().unwrap(),
    );
    req.headers_mut()
        .insert("warden-approver", "alice".parse().unwrap());
    let r = send(&app, req).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    assert!(json_of(&r)["error"].as_str().unwrap().contains("Bearer"));
    assert!(r.headers.contains_key(header::WWW_AUTHENTICATE));
    let mut list = api("GET", "/requests", None, None);
    list.headers_mut().insert(
        header::COOKIE,
        format!("warden_console={}", alice.cookie).parse().unwrap(),
    );
    assert_eq!(send(&app, list).await.status, StatusCode::UNAUTHORIZED);
    assert!(desk.calls().is_empty());
}

#[tokio::test]
async fn a_token_answers_only_as_the_approver_it_belongs_to() {
    let (app, desk) = setup();
    // Bob's token, naming alice.
    let r = send(
        &app,
        api(
            "POST",
            "/requests/req-1/answer",
            Some(("alice", "bob-token")),
            Some(approve_body()),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    assert_eq!(json_of(&r)["error"], "wrong approver or token");
    // No approver named at all: the token alone does not pick one.
    let mut req = api("POST", "/requests/req-1/answer", None, Some(approve_body()));
    req.headers_mut()
        .insert(header::AUTHORIZATION, "Bearer bob-token".parse().unwrap());
    assert_eq!(send(&app, req).await.status, StatusCode::UNAUTHORIZED);
    // Who answers is not the body's to say.
    let r = send(
        &app,
        api(
            "POST",
            "/requests/req-1/answer",
            Some(("bob", "bob-token")),
            Some(json!({"verdict": "approve", "reason": "ok", "approver": "alice"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(desk.calls().is_empty());
    // Bob's token as bob: recorded as bob's.
    let r = send(
        &app,
        api(
            "POST",
            "/requests/req-1/answer",
            Some(("bob", "bob-token")),
            Some(approve_body()),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(json_of(&r)["status"], "approved");
    let calls = desk.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].approver, "bob");
}

#[tokio::test]
async fn an_agents_token_answers_nothing_on_the_api() {
    let desk_app = |agent_tokens: Vec<[u8; 32]>| {
        let (_, desk) = setup();
        let config = ConsoleConfig {
            agent_tokens: warden_console::AgentTokens(agent_tokens),
            ..config(false, Duration::from_secs(60))
        };
        let app = Router::new().nest("/console", router(desk.clone(), config));
        (app, desk)
    };
    let digest = |s: &str| -> [u8; 32] { Sha256::digest(s.as_bytes()).into() };
    // The agent's own token, and an approver's token that also authenticates an agent.
    let (app, desk) = desk_app(vec![digest("agent-token"), digest("bob-token")]);
    for (who, token) in [("alice", "agent-token"), ("bob", "bob-token")] {
        let r = send(
            &app,
            api(
                "POST",
                "/requests/req-1/answer",
                Some((who, token)),
                Some(approve_body()),
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{who}: {}", r.body);
        let r = send(&app, api("GET", "/requests", Some((who, token)), None)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{who}: {}", r.body);
    }
    assert!(desk.calls().is_empty());
}

/// Wrong tokens on the API and wrong passwords on the sign-in page count in one lock, which
/// stops the guessing; the right token passes through it (review 43, F4: a lock on tokens let
/// anyone who reaches the console keep every approver from the gate).
#[tokio::test]
async fn wrong_tokens_and_passwords_share_one_lock_that_the_right_token_passes() {
    let (app, desk) = setup();
    for _ in 0..5 {
        let r = send(
            &app,
            api("GET", "/requests", Some(("alice", "guess")), None),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    }
    // Guessing goes on being refused unchecked, on every endpoint.
    let r = send(
        &app,
        api(
            "POST",
            "/requests/req-1/answer",
            Some(("alice", "another guess")),
            Some(approve_body()),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert!(json_of(&r)["error"].as_str().unwrap().contains("locked"));
    assert!(r.headers.contains_key(header::RETRY_AFTER));
    assert!(desk.calls().is_empty());
    // And so is the password on the sign-in page: one lock.
    let r = send(
        &app,
        post(
            "/console/login",
            None,
            &[("approver", "alice"), ("password", "correct horse")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert!(set_cookie(&r).is_none());
    // The right token answers all the same.
    let r = send(
        &app,
        api(
            "POST",
            "/requests/req-1/answer",
            Some(("alice", "alice-token")),
            Some(approve_body()),
        ),
    )
    .await;
    assert_ne!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert_ne!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    assert!(!desk.calls().is_empty());

    // The other way round: wrong passwords on the sign-in page lock bob's guesses on the API.
    for _ in 0..5 {
        let r = send(
            &app,
            post(
                "/console/login",
                None,
                &[("approver", "bob"), ("password", "guess")],
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = send(&app, api("GET", "/requests", Some(("bob", "guess")), None)).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    let r = send(
        &app,
        api("GET", "/requests", Some(("bob", "bob-token")), None),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[tokio::test]
async fn a_huge_or_malformed_body_is_refused_as_json_and_decides_nothing() {
    let (app, desk) = setup();
    let reason = "x".repeat(warden_console::API_MAX_BODY * 4);
    let r = send(
        &app,
        api(
            "POST",
            "/requests/req-1/answer",
            Some(("alice", "alice-token")),
            Some(json!({"verdict": "approve", "reason": reason})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    assert!(json_of(&r)["error"].as_str().unwrap().contains("larger"));
    // Not JSON, a verdict that is neither, a reason over 2000 characters, none at all.
    for body in [
        json!("approve"),
        json!({"verdict": "maybe", "reason": "r"}),
        json!({"verdict": "approve", "reason": "y".repeat(2001)}),
        json!({"verdict": "approve", "reason": "   "}),
    ] {
        let r = send(
            &app,
            api(
                "POST",
                "/requests/req-1/answer",
                Some(("alice", "alice-token")),
                Some(body.clone()),
            ),
        )
        .await;
        assert!(r.status.is_client_error(), "{body}: {}", r.status);
        assert!(json_of(&r)["error"].is_string(), "{}", r.body);
    }
    // An unauthenticated huge body is refused before it is read.
    let r = send(
        &app,
        api(
            "POST",
            "/requests/req-1/answer",
            None,
            Some(json!({"reason": "x".repeat(1 << 20)})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(desk.calls().is_empty());
}

#[tokio::test]
async fn an_answer_for_other_arguments_than_the_ones_reviewed_is_refused() {
    let (app, desk) = setup();
    let r = send(
        &app,
        api(
            "POST",
            "/requests/req-1/answer",
            Some(("alice", "alice-token")),
            Some(json!({"verdict": "approve", "reason": "ok", "args_digest": "sha256:other"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(
        json_of(&r)["error"]
            .as_str()
            .unwrap()
            .contains("other arguments"),
        "{}",
        r.body
    );
    assert!(desk.calls().is_empty());
    let r = send(
        &app,
        api(
            "POST",
            "/requests/req-1/answer",
            Some(("alice", "alice-token")),
            Some(json!({"verdict": "approve", "reason": "ok", "args_digest": "sha256:abc123"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(desk.calls().len(), 1);
    // The desk's own refusals come back as JSON: the requester answering its own request.
    let r = send(
        &app,
        api(
            "POST",
            "/requests/req-self/answer",
            Some(("alice", "alice-token")),
            Some(approve_body()),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(json_of(&r)["error"], "you requested this action");
}

#[tokio::test]
async fn the_api_lists_shows_halts_resumes_clears_and_judges_through_the_desk() {
    let (app, desk) = setup();
    let alice = Some(("alice", "alice-token"));
    let r = send(
        &app,
        api("GET", "/requests?tool=edr.isolate_host", alice, None),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let page = json_of(&r);
    assert_eq!(page["matched"], 1);
    assert_eq!(page["rows"][0]["id"], "req-1");
    assert_eq!(page["rows"][0]["args"]["note"], SCRIPT, "exact, as JSON");
    let r = send(&app, api("GET", "/requests/req-2", alice, None)).await;
    assert_eq!(json_of(&r)["approvals_needed"], 2);
    let r = send(&app, api("GET", "/requests/nope", alice, None)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(json_of(&r)["error"], "no such request");

    let halt = json!({"scope": "agent:responder", "reason": "beaconing"});
    let r = send(&app, api("POST", "/halt", alice, Some(halt.clone()))).await;
    assert_eq!(json_of(&r)["set"], true, "{}", r.body);
    let r = send(&app, api("POST", "/halt", alice, Some(halt))).await;
    assert_eq!(json_of(&r)["set"], false, "{}", r.body);
    let resume = json!({"scope": "agent:responder", "reason": "contained"});
    let r = send(
        &app,
        api(
            "POST",
            "/resume",
            Some(("bob", "bob-token")),
            Some(resume.clone()),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(json_of(&r)["halted_by"], "alice");
    assert_eq!(
        desk.resumed.lock().unwrap().clone(),
        [(
            "agent:responder".to_string(),
            "bob".to_string(),
            "contained".to_string()
        )]
    );
    let r = send(&app, api("POST", "/resume", alice, Some(resume))).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);

    let clear = json!({"agent": "responder", "record": 180, "reason": "read was benign"});
    let r = send(&app, api("POST", "/taint/clear", alice, Some(clear))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(json_of(&r)["cleared"]["records"], 2, "{}", r.body);
    assert_eq!(desk.clears()[0].2, "alice");

    let r = send(
        &app,
        api(
            "POST",
            "/review/40",
            alice,
            Some(json!({"verdict": "correct", "note": "the host was beaconing"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(json_of(&r)["index"], 99);
    assert_eq!(json_of(&r)["decision"]["tool"], "edr.isolate_host");
    let r = send(
        &app,
        api(
            "POST",
            "/review/40",
            Some(("bob", "bob-token")),
            Some(json!({"verdict": "wrong", "note": "n"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(desk.judged().len(), 2);

    let r = send(
        &app,
        api(
            "POST",
            "/audit/redact/12",
            alice,
            Some(json!({"reason": "erasure request", "requested_by": "dpo"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(json_of(&r)["recorded"], 77);
    assert_eq!(
        desk.redactions.lock().unwrap().clone(),
        [(
            12,
            "alice".to_string(),
            "erasure request".to_string(),
            Some("dpo".to_string())
        )]
    );
}

/// Review 43 (F4): five wrong passwords from anyone who reaches the console (the agent it
/// contains included) locked an approver out for 15 minutes, their token too, so a few
/// requests every quarter hour kept every approver from the gate. The lock guards passwords;
/// a token cannot be guessed, and its holder signs in through any lock.
#[tokio::test]
async fn a_locked_account_still_signs_in_with_its_token() {
    let (app, _) = setup();
    let attempt = |secret: &'static str| {
        let app = app.clone();
        async move {
            send(
                &app,
                post(
                    "/console/login",
                    None,
                    &[("approver", "bob"), ("password", secret)],
                ),
            )
            .await
        }
    };
    for _ in 0..5 {
        assert_eq!(
            attempt("wrong horse").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    // Guessing goes on being refused unchecked…
    let r = attempt("another guess").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    // …while the token signs in, and its session works.
    let r = attempt("bob-token").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let cookie = cookie_value(&set_cookie(&r).unwrap());
    assert_eq!(
        send(&app, get("/console", Some(&cookie))).await.status,
        StatusCode::OK
    );
}

/// Review 43 (F2): the sign-in form took bodies up to the framework's 2 MB default before its
/// own 1 KiB check, so 500 connections without any credential held a gigabyte of warden's
/// memory. A form larger than what it can carry is refused before it is read.
#[tokio::test]
async fn oversized_forms_are_refused_before_they_are_read() {
    let (app, _) = setup();
    let huge = "a".repeat(1 << 20);
    let r = send(
        &app,
        post(
            "/console/login",
            None,
            &[("approver", "alice"), ("password", &huge)],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    // A signed-in form is bounded too: a reason far past the longest one taken.
    let s = sign_in(&app, "alice", "correct horse").await;
    let r = send(
        &app,
        post(
            "/console/logout",
            Some(&s.cookie),
            &[("csrf", &s.csrf), ("padding", &"b".repeat(256 * 1024))],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    // What a real sign-in sends still passes.
    sign_in(&app, "bob", "bob-token").await;
}
