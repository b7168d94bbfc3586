//! Three `warden serve` replicas on one PostgreSQL database, in front of one lab (its five
//! servers over Streamable HTTP, so every replica reaches the same upstream state). Concurrent
//! calls go through all three; one replica is killed (SIGKILL) mid-stream. Then: the ledger
//! verifies, every answered call is in it exactly once, the budget held across replicas, a halt
//! the monitor set on one replica refused calls on the others, and a call held on one replica
//! was released by an approval given in another replica's console.
//!
//! Needs `WARDEN_TEST_PG_URL` (and `WARDEN_TEST_PG_PASSWORD`); `./scripts/test` starts a
//! throwaway server and sets them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A fresh database on the test server, dropped afterwards.
struct TestDatabase {
    admin: ::postgres::Config,
    name: String,
    url: String,
}

impl TestDatabase {
    fn create() -> Self {
        let admin_url = std::env::var("WARDEN_TEST_PG_URL").unwrap_or_else(|_| {
            panic!(
                "the replica test needs a PostgreSQL server: set WARDEN_TEST_PG_URL (and \
                 WARDEN_TEST_PG_PASSWORD), or run ./scripts/test, which starts one"
            )
        });
        let mut admin: ::postgres::Config = admin_url.parse().unwrap();
        if let Ok(p) = std::env::var("WARDEN_TEST_PG_PASSWORD") {
            admin.password(p);
        }
        let name = format!(
            "warden_replicas_{}_{:08x}",
            std::process::id(),
            rand::random::<u32>()
        );
        let mut client = admin.connect(::postgres::NoTls).unwrap();
        client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .unwrap();
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let (base, _) = admin_url.rsplit_once('/').unwrap();
        Self {
            admin,
            url: format!("{base}/{name}"),
            name,
        }
    }
}

impl TestDatabase {
    /// Runs `sql` as the server's administrator (blocking: call it off the async workers).
    fn admin(&self, sql: &str) {
        let mut c = self.admin.connect(::postgres::NoTls).unwrap();
        c.batch_execute(sql).unwrap();
    }

    /// The `[store]` section for this database.
    fn store_section(&self) -> String {
        let password_env = if std::env::var("WARDEN_TEST_PG_PASSWORD").is_ok() {
            "password_env = \"WARDEN_TEST_PG_PASSWORD\"\n"
        } else {
            ""
        };
        // The test server serves TLS with a certificate from the test CA: the replicas check
        // it, name included.
        let ca = std::env::var("WARDEN_TEST_PG_TLS_CA").unwrap_or_else(|_| {
            panic!(
                "WARDEN_TEST_PG_TLS_CA (the CA of the test server's certificate) is not set: \
                 run ./scripts/test, which starts a server with TLS"
            )
        });
        format!(
            "[store]\nurl = \"{}?sslmode=verify-full&sslrootcert={ca}\"\n{password_env}pool_size = 8\n",
            self.url
        )
    }

    /// Sessions open to this database, and how many of them are encrypted (blocking).
    fn sessions(&self) -> (i64, i64) {
        let mut c = self.admin.connect(::postgres::NoTls).unwrap();
        let row = c
            .query_one(
                "SELECT count(*), count(*) FILTER (WHERE s.ssl) \
                 FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.datname = $1",
                &[&self.name],
            )
            .unwrap();
        (row.get(0), row.get(1))
    }
}

const SQLITE_STORE: &str = "[store]\npath = \"state/warden.db\"   # relative to this file\n";

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Ok(mut c) = self.admin.connect(::postgres::NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// One lab server over Streamable HTTP, killed on drop.
struct LabServer(Child);

impl LabServer {
    fn start(name: &str, state: &std::path::Path) -> (Self, String) {
        let mut child = Command::new(warden_bin())
            .args([
                "lab",
                "server",
                name,
                "--http",
                "127.0.0.1:0",
                "--state-dir",
            ])
            .arg(state)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let prefix = format!("lab {name}: listening on ");
        let url = loop {
            let line = lines.next().expect("the lab server exited").unwrap();
            if let Some(rest) = line.strip_prefix(&prefix) {
                break rest.to_string();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        (Self(child), url)
    }
}

impl Drop for LabServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const SERVERS: [&str; 5] = ["siem", "edr", "idp", "tickets", "mail"];

/// One answered call: which replica, the tool, the unique tag in its arguments, the answer.
#[derive(Debug, Clone)]
struct Answered {
    replica: usize,
    tool: String,
    tag: String,
    text: String,
    is_error: bool,
}

/// A call with a deadline: `None` when the replica did not answer (it was killed).
async fn try_call(client: &Client, tool: &str, args: Value) -> Option<(String, bool)> {
    let Value::Object(args) = args else {
        unreachable!()
    };
    let call = client
        .0
        .peer()
        .call_tool(rmcp::model::CallToolRequestParams::new(tool.to_string()).with_arguments(args));
    match tokio::time::timeout(Duration::from_secs(20), call).await {
        Ok(Ok(r)) => Some((text(&r), r.is_error == Some(true))),
        _ => None,
    }
}

/// Every decision event in the ledger.
fn decisions(lab: &Lab) -> Vec<Value> {
    let (ok, out, err) = lab.cli(&["audit", "show", "--kind", "decision"]);
    assert!(ok, "{err}");
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn three_replicas_share_one_ledger_budgets_halts_and_approvals() {
    // The database is made and dropped outside the runtime: the synchronous client blocks.
    let db = TestDatabase::create();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap()
        .block_on(replicas_story(&db));
}

async fn replicas_story(db: &TestDatabase) {
    let lab_state = tempfile::tempdir().unwrap();
    let mut lab_servers = Vec::new();
    let mut urls = BTreeMap::new();
    for name in SERVERS {
        let (server, url) = LabServer::start(name, lab_state.path());
        lab_servers.push(server);
        urls.insert(name, url);
    }
    let lab = Lab::with_config(|mut c| {
        assert!(c.contains(SQLITE_STORE));
        c = c.replace(SQLITE_STORE, &db.store_section());
        for name in SERVERS {
            let stdio = format!(
                "[servers.{name}]\ncommand = \"@self\"\nargs = [\"lab\", \"server\", \"{name}\", \"--state-dir\", \"{{config_dir}}/state/lab\"]\n"
            );
            assert!(c.contains(&stdio), "{stdio}");
            c = c.replace(
                &stdio,
                &format!("[servers.{name}]\nurl = \"{}\"\n", urls[name]),
            );
        }
        assert!(c.contains("wait_secs = 0"));
        c = c.replace("wait_secs = 0", "wait_secs = 30");
        // Isolations run unattended here (an autonomy grant): this test is about what several
        // replicas do with calls that run. Comments count per session, so the policy's hold on
        // a sixth comment in an hour does not make these sessions wait for a human.
        let comments = "id = \"comments\"\ntools = [\"tickets.add_comment\"]\nlimit = 30\nwindow_secs = 3600\nper = \"agent\"";
        assert!(c.contains(comments));
        c = c.replace(
            comments,
            &comments.replace("per = \"agent\"", "per = \"session\""),
        );
        c += &autonomy("tests-isolations", "responder", &["edr.isolate_host"]);
        // Only the rate trigger: it is what halts an agent on one replica below.
        c + "\n[monitor.denial_burst]\naction = \"off\"\n[monitor.tainted_high_stakes]\naction = \"off\"\n\
             [monitor.new_category]\naction = \"off\"\n[monitor.rate]\nper_minute = 40\naction = \"halt\"\n"
    });
    // The three start at once on the empty database: one applies the migrations while the
    // others wait, and they agree on one ledger key (the same config folder).
    let config = lab.config();
    let starting: Vec<_> = (0..3)
        .map(|_| {
            let config = config.clone();
            std::thread::spawn(move || Warden::start(&config))
        })
        .collect();
    let mut replicas: Vec<Warden> = starting.into_iter().map(|t| t.join().unwrap()).collect();
    // The CLI's answers and listings ask the first replica's approvers' API.
    let first = replicas.remove(0);
    replicas.insert(0, lab.serving(first));
    let (open, encrypted) = tokio::task::block_in_place(|| db.sessions());
    assert!(open >= 3, "each replica keeps a connection: {open}");
    assert_eq!(open, encrypted, "every replica's session runs over TLS");
    let (ok, out, err) = lab.cli(&["db", "migrate"]);
    // Already migrated by the replicas: the database is at the version this binary knows.
    let version = |after: &str, until: char| {
        out.split_once(after)
            .and_then(|(_, rest)| rest.split(until).next())
            .map(str::to_owned)
    };
    assert!(ok && out.contains("PostgreSQL"), "{out}{err}");
    assert!(
        version("schema version ", ' ').is_some()
            && version("schema version ", ' ') == version("knows ", ')'),
        "{out}{err}"
    );

    // Concurrent calls through all three: per replica two responder sessions (isolations,
    // counted by the per-agent budget of 5, and reads) and one triage session.
    let answered = Arc::new(std::sync::Mutex::new(Vec::<Answered>::new()));
    let on_c = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for (r, warden) in replicas.iter().enumerate() {
        for s in 0..3 {
            let token = if s < 2 { RESPONDER } else { TRIAGE };
            let client = warden.client(token).await;
            if s < 2 {
                // The responder looks at a host of the incident it comments on: what an agent
                // has read is kept by the replica that served the read.
                client
                    .call("edr.get_host", json!({"host": "ws-042"}))
                    .await
                    .unwrap();
            }
            let answered = answered.clone();
            let on_c = on_c.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..8 {
                    let tag = format!("r{r}-s{s}-c{i}");
                    let (tool, args) = match (s, i % 2) {
                        (2, _) => ("siem.search_alerts", json!({"query": tag})),
                        (_, 0) => (
                            "edr.isolate_host",
                            json!({"host": if i % 4 == 0 { "ws-042" } else { "ws-017" },
                                   "incident": "INC-1042", "reason": tag}),
                        ),
                        _ => (
                            "tickets.add_comment",
                            json!({"incident": "INC-1042", "comment": tag}),
                        ),
                    };
                    let Some((text, is_error)) = try_call(&client, tool, args).await else {
                        break;
                    };
                    if r == 2 {
                        on_c.fetch_add(1, Ordering::SeqCst);
                    }
                    answered.lock().unwrap().push(Answered {
                        replica: r,
                        tool: tool.to_string(),
                        tag,
                        text,
                        is_error,
                    });
                }
            }));
        }
    }
    // Kill replica C once it has answered a few calls, while the others go on.
    let deadline = Instant::now() + Duration::from_secs(60);
    while on_c.load(Ordering::SeqCst) < 6 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut killed = replicas.pop().unwrap();
    killed.child.kill().unwrap(); // SIGKILL
    killed.child.wait().unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    let answered = answered.lock().unwrap().clone();
    let by_replica = |r: usize| answered.iter().filter(|a| a.replica == r).count();
    assert_eq!(by_replica(0), 24, "replica A answered all its calls");
    assert_eq!(by_replica(1), 24, "replica B answered all its calls");
    assert!(
        by_replica(2) >= 6 && by_replica(2) < 24,
        "C died mid-stream: {}",
        by_replica(2)
    );

    // The ledger verifies, written by three processes, one of them killed.
    let (ok, out, err) = lab.cli(&["audit", "verify"]);
    assert!(ok && out.starts_with("ok:"), "{out}{err}");

    // Every answered call is in it exactly once.
    let events = decisions(&lab);
    for a in &answered {
        let field = match a.tool.as_str() {
            "siem.search_alerts" => "query",
            "edr.isolate_host" => "reason",
            _ => "comment",
        };
        let n = events
            .iter()
            .filter(|e| e["tool"] == a.tool.as_str() && e["args"][field] == a.tag.as_str())
            .count();
        assert_eq!(n, 1, "{a:?}");
    }

    // No budget was exceeded: five isolations per agent per hour, over all replicas.
    let allowed_isolations = events
        .iter()
        .filter(|e| e["tool"] == "edr.isolate_host" && e["decision"] == "allow")
        .count();
    assert!(
        allowed_isolations <= 5,
        "{allowed_isolations} isolations allowed"
    );
    let reached = lab_received(lab_state.path(), "edr", "isolate_host");
    assert!(
        (1..=5).contains(&reached),
        "{reached} isolations reached the EDR"
    );
    let over_budget = answered
        .iter()
        .filter(|a| a.is_error && a.text.contains("budget `isolations`"))
        .count();
    assert!(over_budget >= 1, "the budget refused calls on some replica");
    for a in answered
        .iter()
        .filter(|a| a.tool == "edr.isolate_host" && !a.is_error)
    {
        assert!(!a.text.contains("denied"), "{a:?}");
    }

    // A halt set on one replica refuses calls on the others: the triage agent floods replica
    // A until A's monitor halts it...
    let (a, b) = (&replicas[0], &replicas[1]);
    let on_a = a.client(TRIAGE).await;
    let on_b = b.client(TRIAGE).await;
    let mut halted_on_a = false;
    for i in 0..80 {
        let (text, _) = try_call(
            &on_a,
            "siem.search_alerts",
            json!({"query": format!("flood-{i}")}),
        )
        .await
        .unwrap();
        if text.contains("halted by warden") {
            halted_on_a = true;
            break;
        }
    }
    assert!(halted_on_a, "the rate trigger fired on replica A");
    // ...and within about a second replica B refuses the same agent.
    let set = Instant::now();
    let refused_on_b = loop {
        let (text, is_error) = try_call(&on_b, "siem.get_alert", json!({"alert_id": "ALR-2001"}))
            .await
            .unwrap();
        if is_error && text.contains("halted by warden") {
            break set.elapsed();
        }
        assert!(
            set.elapsed() < Duration::from_secs(3),
            "B still serves: {text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        refused_on_b < Duration::from_millis(2_000),
        "{refused_on_b:?}"
    );
    eprintln!(
        "answered by A, B, C: {}, {}, {}; isolations allowed {allowed_isolations}, reached \
         {reached}, refused by the budget {over_budget}; halt seen on B after {refused_on_b:?}",
        by_replica(0),
        by_replica(1),
        by_replica(2)
    );
    let (ok, out, _) = lab.cli(&["halt", "list"]);
    assert!(
        ok && out.contains("agent:triage") && out.contains("monitor:rate"),
        "{out}"
    );

    // A call held on replica B waits; an approval given in replica A's console releases it.
    let responder_b = b.client(RESPONDER).await;
    let held = tokio::spawn(async move {
        try_call(
            &responder_b,
            "idp.disable_account",
            json!({"user": "alice.chen", "reason": "credentials phished"}),
        )
        .await
    });
    let id = loop {
        let (_, out, _) = lab.cli_reading(&["approvals", "list"]);
        if let Some(line) = out.lines().find(|l| l.contains("idp.disable_account")) {
            break line.split_whitespace().next().unwrap().to_string();
        }
        assert!(
            !held.is_finished(),
            "the held call returned before any answer"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // Bob signs in on replica B; the load balancer sends his next requests to A: the session
    // is in the store, so A knows him.
    approve_in_console(
        &b.base(),
        &a.base(),
        &id,
        "bob",
        "confirmed with the manager",
    )
    .await;
    let (text, is_error) = held.await.unwrap().expect("B answered the held call");
    assert!(!is_error, "{text}");
    assert_eq!(lab_received(lab_state.path(), "idp", "disable_account"), 1);

    drop(replicas);
    let (ok, out, err) = lab.cli(&["audit", "verify"]);
    assert!(ok && out.starts_with("ok:"), "{out}{err}");
}

const FORM: &str = "application/x-www-form-urlencoded";

/// An `application/x-www-form-urlencoded` body.
fn form(pairs: &[(&str, &str)]) -> String {
    let encode = |v: &str| {
        v.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Signs in to the console at `sign_in` as `approver` and approves request `id` in the console
/// at `base`, as a browser would: the session cookie from the sign-in, the CSRF token from the
/// request's page.
async fn approve_in_console(sign_in: &str, base: &str, id: &str, approver: &str, reason: &str) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let password = format!("lab-{approver}-password");
    let signed_in = http
        .post(format!("{sign_in}/console/login"))
        .header(reqwest::header::CONTENT_TYPE, FORM)
        .body(form(&[
            ("approver", approver),
            ("password", password.as_str()),
        ]))
        .send()
        .await
        .unwrap();
    let cookie = signed_in
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .expect("signed in")
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let page = http
        .get(format!("{base}/console/requests/{id}"))
        .header(reqwest::header::COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let marker = "name=\"csrf\" value=\"";
    let at = page.find(marker).expect("a CSRF token on the page") + marker.len();
    let csrf = page[at..].split('"').next().unwrap().to_string();
    let answered = http
        .post(format!("{base}/console/requests/{id}/decide"))
        .header(reqwest::header::COOKIE, &cookie)
        .header(reqwest::header::CONTENT_TYPE, FORM)
        .body(form(&[
            ("csrf", csrf.as_str()),
            ("decision", "approve"),
            ("reason", reason),
        ]))
        .send()
        .await
        .unwrap();
    assert!(
        answered.status().is_success() || answered.status().is_redirection(),
        "{}",
        answered.status()
    );
}

/// How many `tool` calls the lab server `server` with state in `state` received.
fn lab_received(state: &std::path::Path, server: &str, tool: &str) -> usize {
    let s: warden_lab::LabServer = server.parse().unwrap();
    warden_lab::received_calls(s, state)
        .unwrap()
        .into_iter()
        .filter(|c| c.tool == tool)
        .count()
}

/// Runs `story` on a fresh database, on a runtime of two workers. The database is made and
/// dropped outside the runtime: the synchronous client blocks.
fn on_fresh_database<F: std::future::Future<Output = ()>>(
    story: impl FnOnce(Arc<TestDatabase>) -> F,
) {
    let db = Arc::new(TestDatabase::create());
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(story(db.clone()));
}

/// The example lab on `db`, the responder's isolations running unattended.
fn lab_on(db: &TestDatabase) -> Lab {
    Lab::with_config(|c| {
        assert!(c.contains(SQLITE_STORE));
        c.replace(SQLITE_STORE, &db.store_section())
            + &autonomy("tests-isolations", "responder", &["edr.isolate_host"])
    })
}

#[test]
fn while_postgresql_is_unreachable_calls_are_refused_and_service_resumes_after() {
    on_fresh_database(outage_story);
}

async fn outage_story(db: Arc<TestDatabase>) {
    let lab = lab_on(&db);
    let warden = lab.serve();
    let agent = warden.client(RESPONDER).await;
    let call = |host: &'static str| {
        let args = isolate(host, "INC-1042");
        let Value::Object(args) = args else {
            unreachable!()
        };
        agent.0.peer().call_tool(
            rmcp::model::CallToolRequestParams::new("edr.isolate_host").with_arguments(args),
        )
    };
    let r = call("ws-042").await.unwrap();
    assert_ne!(r.is_error, Some(true), "{}", text(&r));

    // The database goes away: connections cut, new ones refused.
    let name = db.name.clone();
    let admin = db.clone();
    tokio::task::spawn_blocking(move || {
        admin.admin(&format!(
            "ALTER DATABASE {name} ALLOW_CONNECTIONS false;
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}';"
        ))
    })
    .await
    .unwrap();
    let started = Instant::now();
    let err = call("ws-017").await.unwrap_err();
    assert!(err.to_string().contains("not forwarded"), "{err}");
    eprintln!("refused after {:?} without the database", started.elapsed());
    assert!(started.elapsed() < Duration::from_secs(15));
    assert!(!lab.host_isolated("ws-017"), "nothing reached the EDR");
    assert_eq!(
        lab.received("edr")
            .iter()
            .filter(|t| *t == "isolate_host")
            .count(),
        1
    );

    // It comes back: the pool reconnects and the ledger writer catches up.
    let name = db.name.clone();
    let admin = db.clone();
    tokio::task::spawn_blocking(move || {
        admin.admin(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
    })
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match call("ws-017").await {
            Ok(r) => {
                assert_ne!(r.is_error, Some(true), "{}", text(&r));
                break;
            }
            Err(e) => assert!(Instant::now() < deadline, "still refused: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(lab.host_isolated("ws-017"));
    drop(agent);
    drop(warden);
    let (ok, out, err) = lab.cli(&["audit", "verify"]);
    assert!(ok && out.starts_with("ok:"), "{out}{err}");
}

/// Issue 18: PostgreSQL stops taking warden's connections mid-run. The agent's call is refused
/// as one it may send again — JSON-RPC error -32001, `data.retryable` true — and the refusal
/// names nothing of the database (its name, host or user); nothing reaches the upstream. Once
/// the database takes connections again, the same call runs.
#[test]
fn while_postgresql_is_unreachable_the_agent_is_told_it_may_retry() {
    on_fresh_database(retryable_story);
}

async fn retryable_story(db: Arc<TestDatabase>) {
    let lab = lab_on(&db);
    let warden = lab.serve();
    let agent = warden.client(RESPONDER).await;
    let call = |host: &'static str| {
        let args = isolate(host, "INC-1042");
        let Value::Object(args) = args else {
            unreachable!()
        };
        agent.0.peer().call_tool(
            rmcp::model::CallToolRequestParams::new("edr.isolate_host").with_arguments(args),
        )
    };
    let r = call("ws-042").await.unwrap();
    assert_ne!(r.is_error, Some(true), "{}", text(&r));

    let name = db.name.clone();
    let admin = db.clone();
    tokio::task::spawn_blocking(move || {
        admin.admin(&format!(
            "ALTER DATABASE {name} ALLOW_CONNECTIONS false;
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}';"
        ))
    })
    .await
    .unwrap();
    let refused = call("ws-017").await.unwrap_err();
    let rmcp::service::ServiceError::McpError(error) = &refused else {
        panic!("not a JSON-RPC error: {refused}");
    };
    assert_eq!(error.code.0, -32001, "{error:?}");
    let data = error.data.clone().unwrap_or_default();
    assert_eq!(data["retryable"], true, "{error:?}");
    let told = format!("{error:?}").to_lowercase();
    for secret in [
        db.name.as_str(),
        "postgres",
        "127.0.0.1",
        "password",
        "select",
    ] {
        assert!(
            !told.contains(secret),
            "the refusal names `{secret}`: {told}"
        );
    }
    assert!(!lab.host_isolated("ws-017"), "nothing reached the EDR");

    let name = db.name.clone();
    let admin = db.clone();
    tokio::task::spawn_blocking(move || {
        admin.admin(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
    })
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match call("ws-017").await {
            Ok(r) => {
                assert_ne!(r.is_error, Some(true), "{}", text(&r));
                break;
            }
            Err(e) => assert!(Instant::now() < deadline, "still refused: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(lab.host_isolated("ws-017"));
}

/// An exclusive lock on the ledger's leaves, held by another session of the database until
/// dropped: every append waits for it; reading the ledger does not.
struct LedgerLock {
    release: Option<std::sync::mpsc::Sender<()>>,
    holder: Option<std::thread::JoinHandle<()>>,
}

impl LedgerLock {
    /// Blocking: call it off the async workers.
    fn take(db: &TestDatabase) -> Self {
        let mut config: ::postgres::Config = db.url.parse().unwrap();
        if let Ok(p) = std::env::var("WARDEN_TEST_PG_PASSWORD") {
            config.password(p);
        }
        let mut client = config.connect(::postgres::NoTls).unwrap();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let (locked, is_locked) = std::sync::mpsc::channel::<()>();
        let holder = std::thread::spawn(move || {
            let mut tx = client.transaction().unwrap();
            tx.batch_execute("LOCK TABLE ledger_leaves IN EXCLUSIVE MODE")
                .unwrap();
            locked.send(()).unwrap();
            let _ = released.recv();
            tx.rollback().unwrap();
        });
        is_locked.recv().unwrap();
        Self {
            release: Some(release),
            holder: Some(holder),
        }
    }
}

impl Drop for LedgerLock {
    fn drop(&mut self) {
        drop(self.release.take());
        if let Some(h) = self.holder.take() {
            let _ = h.join();
        }
    }
}

/// The attack on the read-ahead rule: warden dies after forwarding an allowed read and before
/// its decision commits. The upstream served the read, but the agent never sees the result and
/// the ledger holds no record of it; a write sent just before it, also waiting for its commit,
/// never reaches its upstream at all.
#[test]
fn a_crash_between_forwarding_a_read_and_its_commit_gives_the_agent_nothing() {
    on_fresh_database(crash_story);
}

async fn crash_story(db: Arc<TestDatabase>) {
    let lab = lab_on(&db);
    let mut warden = lab.serve();
    let triage = Arc::new(warden.client(TRIAGE).await);
    let responder = Arc::new(warden.client(RESPONDER).await);
    // Both paths work before the ledger stalls.
    let (read, is_error) = try_call(&triage, "siem.get_alert", json!({"alert_id": "ALR-2001"}))
        .await
        .unwrap();
    assert!(!is_error && read.contains("ALR-2001"), "{read}");
    let reads_before = lab_received(&lab.state_dir(), "siem", "get_alert");
    let before = decisions(&lab).len();

    let lock = {
        let db = db.clone();
        tokio::task::spawn_blocking(move || LedgerLock::take(&db))
            .await
            .unwrap()
    };
    let write = {
        let responder = responder.clone();
        tokio::spawn(async move {
            try_call(
                &responder,
                "edr.isolate_host",
                isolate("ws-042", "INC-1042"),
            )
            .await
        })
    };
    let read = {
        let triage = triage.clone();
        tokio::spawn(async move {
            try_call(&triage, "siem.get_alert", json!({"alert_id": "ALR-2001"})).await
        })
    };
    // The read reaches the SIEM while its decision waits on the lock.
    let deadline = Instant::now() + Duration::from_secs(20);
    while lab_received(&lab.state_dir(), "siem", "get_alert") == reads_before {
        assert!(
            Instant::now() < deadline,
            "the allowed read was not forwarded while its decision waited to commit"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        !read.is_finished() && !write.is_finished(),
        "a call was answered while the ledger could not commit"
    );

    // warden dies before either decision commits.
    warden.child.kill().unwrap();
    warden.child.wait().unwrap();
    assert_eq!(
        read.await.unwrap(),
        None,
        "the read's result reached the agent without a recorded decision"
    );
    assert_eq!(write.await.unwrap(), None);
    assert!(!lab.host_isolated("ws-042"), "the write ran unrecorded");
    assert_eq!(lab_received(&lab.state_dir(), "edr", "isolate_host"), 0);
    drop(lock);

    // The ledger verifies and holds neither decision: the transaction died with warden.
    let (ok, out, err) = lab.cli(&["audit", "verify"]);
    assert!(ok && out.starts_with("ok:"), "{out}{err}");
    assert_eq!(decisions(&lab).len(), before);
}
