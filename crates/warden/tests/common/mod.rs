//! Test harness: a copy of the example SOC in a temporary folder, a real `warden` process in
//! front of it, and real MCP clients talking to it over the wire.
#![allow(dead_code)]

use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{RoleClient, RunningService, ServiceExt};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const TRIAGE: &str = "lab-triage-token";
pub const RESPONDER: &str = "lab-responder-token";

/// Milliseconds since the Unix epoch, as warden reads time.
pub fn now_ms() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(since.as_millis()).unwrap()
}

/// The request id a held call's answer names (``request `apr_…` ``).
pub fn request_id(text: &str) -> String {
    let start = text.find("request `").expect("a request id") + "request `".len();
    text[start..].split('`').next().unwrap().to_string()
}

/// The responder's disable of `alice.chen`, held by the example's policy, then approved by bob
/// with his token: (the request id, the call's arguments), for the agent to retry.
pub async fn disable_held_then_approved(lab: &Lab, agent: &Client) -> (String, Value) {
    let args = json!({"user": "alice.chen", "reason": "credentials phished"});
    let r = agent
        .call("idp.disable_account", args.clone())
        .await
        .unwrap();
    let id = request_id(&text(&r));
    let (ok, out, err) = lab.cli_as(
        "lab-bob-token",
        &[
            "approvals",
            "approve",
            &id,
            "--as",
            "bob",
            "--reason",
            "manager confirmed",
        ],
    );
    assert!(ok, "{out}{err}");
    (id, args)
}

pub fn warden_bin() -> &'static str {
    env!("CARGO_BIN_EXE_warden")
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A private copy of `examples/soc`, so each test has its own store and lab state.
pub struct Lab {
    pub dir: tempfile::TempDir,
    /// The console of the gateway this lab last served, which the CLI's answers ask
    /// (`WARDEN_GATEWAY`).
    gateway: std::sync::Mutex<Option<String>>,
}

/// An autonomy grant for `agent` on `tools`, for tests that exercise what happens to a write
/// that runs (budgets, the ledger, reviews, replicas): the example holds every high-stakes write
/// for a human (the floor), and only an autonomy grant lets one run unattended.
pub fn autonomy(id: &str, agent: &str, tools: &[&str]) -> String {
    let tools: Vec<String> = tools.iter().map(|t| format!("\"{t}\"")).collect();
    format!(
        r#"
[[autonomy]]
id = "{id}"
agent = "{agent}"
tools = [{}]
justification = "test: what happens to a write that runs unattended"
approver = "dana"
owner = "ir-oncall@northwind.example"
expires = "2099-01-01"
"#,
        tools.join(", ")
    )
}

impl Lab {
    pub fn new() -> Self {
        Self::with_config(|c| c)
    }

    /// The example with the responder's isolations running unattended (an autonomy grant);
    /// the policy still decides which isolations are permitted.
    pub fn with_unattended_isolations() -> Self {
        Self::with_config(|c| c + &autonomy("tests-isolations", "responder", &["edr.isolate_host"]))
    }

    /// The example with every agent `tools/list` reading the upstreams afresh
    /// (`catalog_refresh_secs = 0`): for tests that change a definition and list again at once.
    pub fn listing_afresh() -> Self {
        const EVERY: &str = "catalog_refresh_secs = 5";
        Self::with_config(|c| {
            assert!(c.contains(EVERY), "the example's catalog refresh changed");
            c.replace(EVERY, "catalog_refresh_secs = 0")
        })
    }

    /// Copies the example, letting the test edit the config text.
    pub fn with_config(edit: impl FnOnce(String) -> String) -> Self {
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
        std::fs::write(dir.path().join("warden.toml"), edit(text)).unwrap();
        Self {
            dir,
            gateway: Default::default(),
        }
    }

    /// A private copy of `examples/<name>`: its `warden.toml`, edited by the test, and `files`.
    pub fn from_example(name: &str, files: &[&str], edit: impl FnOnce(String) -> String) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let src = repo().join("examples").join(name);
        for f in files {
            let to = dir.path().join(f);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(src.join(f), to).unwrap();
        }
        let text = std::fs::read_to_string(src.join("warden.toml")).unwrap();
        std::fs::write(dir.path().join("warden.toml"), edit(text)).unwrap();
        Self {
            dir,
            gateway: Default::default(),
        }
    }

    /// A private copy of `examples/claude-code`: an investigator whose Claude Code tools are
    /// decided through its hooks.
    pub fn claude_code() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let src = repo().join("examples/claude-code");
        for f in ["warden.toml", "policies/investigator.cedar"] {
            let to = dir.path().join(f);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(src.join(f), to).unwrap();
        }
        Self {
            dir,
            gateway: Default::default(),
        }
    }

    /// [`Lab::claude_code`] with its case and evidence folders moved under `root` (a real
    /// directory the test lays out): `/cases` is `<root>/cases` in the config and the policy.
    pub fn claude_code_rooted(root: &Path) -> Self {
        let lab = Self::claude_code();
        let root = root.to_str().unwrap();
        for f in ["warden.toml", "policies/investigator.cedar"] {
            let path = lab.dir.path().join(f);
            let text = std::fs::read_to_string(&path).unwrap();
            let moved = text
                .replace("\"/cases", &format!("\"{root}/cases"))
                .replace("\"/srv/evidence", &format!("\"{root}/srv/evidence"));
            std::fs::write(&path, moved).unwrap();
        }
        lab
    }

    /// The example with its SIEM served by something else: `table` is what follows the
    /// `[servers.siem]` header (`url = "…"`, or a `command` with its `args` and `env`).
    pub fn with_siem(table: &str) -> Self {
        Self::with_siem_and(table, "")
    }

    /// [`Lab::with_siem`] with `extra` appended to the config.
    pub fn with_siem_and(table: &str, extra: &str) -> Self {
        const LAB_SIEM: &str = "[servers.siem]\ncommand = \"@self\"\nargs = [\"lab\", \"server\", \"siem\", \"--state-dir\", \"{config_dir}/state/lab\"]\n";
        Self::with_config(|c| {
            assert!(c.contains(LAB_SIEM), "the example's SIEM table changed");
            c.replace(LAB_SIEM, &format!("[servers.siem]\n{table}")) + extra
        })
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("warden.toml")
    }

    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state/lab")
    }

    /// Every tools/call the lab server `server` received, by tool name.
    pub fn received(&self, server: &str) -> Vec<String> {
        let s: warden_lab::LabServer = server.parse().unwrap();
        warden_lab::received_calls(s, &self.state_dir())
            .unwrap()
            .into_iter()
            .map(|c| c.tool)
            .collect()
    }

    /// The lab's warden store (`[store] path` of the example), opened as another process would.
    pub fn store(&self) -> warden_store::SqliteStore {
        warden_store::SqliteStore::open(&self.dir.path().join("state/warden.db")).unwrap()
    }

    /// `warden.db` opened as someone with the state directory would, waiting out warden's own
    /// writes.
    pub fn database(&self) -> rusqlite::Connection {
        let db = rusqlite::Connection::open(self.dir.path().join("state/warden.db")).unwrap();
        db.busy_timeout(Duration::from_secs(5)).unwrap();
        db
    }

    /// Runs `sql` on `warden.db` as someone with the state directory would ([`Lab::database`]).
    pub fn tamper(&self, sql: &str) {
        self.database().execute_batch(sql).unwrap();
    }

    /// Records that `agent` read a flagged text, as the gateway does, straight into the store;
    /// the record's number.
    pub fn taint(
        &self,
        agent: &str,
        session: &str,
        level: i64,
        at_ms: i64,
        until_ms: i64,
    ) -> warden_store::TaintRecord {
        use warden_store::Store;
        self.store()
            .raise_agent_taint(&warden_store::AgentTaint {
                agent: agent.into(),
                session: session.into(),
                level,
                source: "mail.read_message".into(),
                at_ms,
                until_ms,
            })
            .unwrap()
    }

    /// The newest record in force of `agent` as `warden taint list --json` shows it: what
    /// `warden taint clear --record` names.
    pub fn taint_record(&self, agent: &str) -> String {
        let (ok, out, err) = self.cli(&["taint", "list", "--json"]);
        assert!(ok, "{err}");
        out.lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .find(|t| t["agent"] == agent)
            .unwrap_or_else(|| panic!("`{agent}` is not tainted: {out}"))["record"]
            .to_string()
    }

    pub fn state(&self, server: &str) -> Value {
        let s: warden_lab::LabServer = server.parse().unwrap();
        warden_lab::read_state(s, &self.state_dir()).unwrap()
    }

    pub fn host_isolated(&self, host: &str) -> bool {
        self.state("edr")["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["id"] == host)
            .unwrap()["isolated"]
            .as_bool()
            .unwrap()
    }

    pub fn serve(&self) -> Warden {
        self.serving(Warden::start(&self.config()))
    }

    /// `serve` with `WARDEN_LOG` set to `filter`; its log lines are kept ([`Warden::wait_for_log`]).
    /// Serves with `vars` added to warden's environment (and `filter` as its log level).
    pub fn serve_with_env(&self, filter: &str, vars: &[(&str, &str)]) -> Warden {
        self.serving(Warden::start_with_env(&self.config(), filter, vars))
    }

    pub fn serve_logging(&self, filter: &str) -> Warden {
        self.serving(Warden::start_logging(&self.config(), filter))
    }

    /// `serve` on a given address (for a config that must name warden's own URL).
    pub fn serve_at(&self, listen: &str) -> Warden {
        self.serving(Warden::start_at(&self.config(), "warn", &[], listen))
    }

    /// Remembers `warden` as the gateway the CLI's answers go to from now on.
    pub fn serving(&self, warden: Warden) -> Warden {
        *self.gateway.lock().unwrap() = Some(warden.console());
        warden
    }

    /// Runs a `warden` subcommand against this lab's config; (status ok, stdout, stderr).
    pub fn cli(&self, args: &[&str]) -> (bool, String, String) {
        self.run_cli(args, None)
    }

    /// Runs `warden approvals list|show …` as approver dana, whom every example configures: the
    /// gateway shows requests to approvers only.
    pub fn cli_reading(&self, args: &[&str]) -> (bool, String, String) {
        let mut args = args.to_vec();
        args.extend(["--as", "dana"]);
        self.cli_as("lab-dana-token", &args)
    }

    /// Runs a `warden` subcommand with an approver's token in `WARDEN_APPROVER_TOKEN`.
    pub fn cli_as(&self, token: &str, args: &[&str]) -> (bool, String, String) {
        self.run_cli(args, Some(token))
    }

    fn run_cli(&self, args: &[&str], token: Option<&str>) -> (bool, String, String) {
        let mut command = Command::new(warden_bin());
        command.args(args).arg("--config").arg(self.config());
        command.env_remove("WARDEN_GATEWAY");
        if let Some(console) = self.gateway.lock().unwrap().as_deref() {
            command.env("WARDEN_GATEWAY", console);
        }
        if let Some(token) = token {
            command.env("WARDEN_APPROVER_TOKEN", token);
        }
        let out = command.output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// The audit events of `kind`, as `warden audit show --kind` prints them.
    pub fn events(&self, kind: &str) -> Vec<Value> {
        let (ok, out, err) = self.cli(&["audit", "show", "--kind", kind]);
        assert!(ok, "{err}");
        out.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// A running `warden serve`, killed on drop.
pub struct Warden {
    pub child: Child,
    pub url: String,
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Warden {
    pub fn start(config: &Path) -> Self {
        Self::start_logging(config, "warn")
    }

    pub fn start_logging(config: &Path, filter: &str) -> Self {
        Self::start_with_env(config, filter, &[])
    }

    /// Starts warden with `vars` added to its environment.
    pub fn start_with_env(config: &Path, filter: &str, vars: &[(&str, &str)]) -> Self {
        Self::start_at(config, filter, vars, "127.0.0.1:0")
    }

    pub fn start_at(config: &Path, filter: &str, vars: &[(&str, &str)], listen: &str) -> Self {
        let mut child = Command::new(warden_bin())
            .args(["serve", "--listen", listen, "--config"])
            .arg(config)
            .env("WARDEN_LOG", filter)
            .envs(vars.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let mut before = Vec::new();
        let url = loop {
            let line = lines
                .next()
                .expect("warden exited before listening")
                .unwrap();
            if let Some(url) = line.strip_prefix("warden: listening on ") {
                break url.to_string();
            }
            before.push(line);
        };
        // Keep draining stderr so warden never blocks on a full pipe; every line is kept.
        let log = std::sync::Arc::new(std::sync::Mutex::new(before));
        let kept = log.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                kept.lock().unwrap().push(line);
            }
        });
        Self { child, url, log }
    }

    /// A log line that contains `needle`, looked for now and then until `secs` have passed.
    pub fn wait_for_log(&self, needle: &str, secs: u64) -> Option<String> {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(line) = self.log.lock().unwrap().iter().find(|l| l.contains(needle)) {
                return Some(line.clone());
            }
            if std::time::Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The log lines so far.
    pub fn log_lines(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// How many log lines so far contain `needle`.
    pub fn log_count(&self, needle: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(needle))
            .count()
    }

    pub fn base(&self) -> String {
        self.url.trim_end_matches("/mcp").to_string()
    }

    /// The approvers' console, whose API the CLI's answers ask.
    pub fn console(&self) -> String {
        format!("{}/console", self.base())
    }

    pub async fn client(&self, token: &str) -> Client {
        let transport = StreamableHttpClientTransport::from_config(
            StreamableHttpClientTransportConfig::with_uri(self.url.as_str()).auth_header(token),
        );
        Client(().serve(transport).await.unwrap())
    }

    /// A client of the sessionless protocol (2026-07-28: `server/discover`, each request
    /// self-contained), optionally sending an `Mcp-Session-Id` header of its own choosing.
    pub async fn stateless_client(&self, token: &str, session_header: Option<&str>) -> Client {
        self.stateless_client_speaking(
            token,
            session_header,
            rmcp::model::ProtocolVersion::V_2026_07_28,
        )
        .await
    }

    /// [`Warden::stateless_client`] declaring `version` in each request's `_meta`: rmcp serves
    /// such a request statelessly whatever the version says.
    pub async fn stateless_client_speaking(
        &self,
        token: &str,
        session_header: Option<&str>,
        version: rmcp::model::ProtocolVersion,
    ) -> Client {
        use rmcp::service::{ClientLifecycleMode, ClientServiceExt};
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(id) = session_header {
            headers.insert("mcp-session-id", id.parse().unwrap());
        }
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .unwrap();
        let transport = StreamableHttpClientTransport::with_client(
            http,
            StreamableHttpClientTransportConfig::with_uri(self.url.as_str()).auth_header(token),
        );
        let lifecycle = ClientLifecycleMode::Discover {
            preferred_versions: vec![version],
        };
        Client(().serve_with_lifecycle(transport, lifecycle).await.unwrap())
    }
}

impl Drop for Warden {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Client(pub RunningService<RoleClient, ()>);

impl Client {
    pub async fn tool_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .0
            .peer()
            .list_all_tools()
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.name.to_string())
            .collect();
        names.sort();
        names
    }

    pub async fn call(
        &self,
        tool: &str,
        args: Value,
    ) -> Result<CallToolResult, rmcp::ServiceError> {
        let Value::Object(args) = args else {
            panic!("arguments must be an object")
        };
        let call = self
            .0
            .peer()
            .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(args));
        tokio::time::timeout(Duration::from_secs(60), call)
            .await
            .expect("warden must answer")
    }
}

pub fn text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `get_alert` as an in-test SIEM lists it: the name and argument the lab's config declares.
pub fn get_alert_tool() -> rmcp::model::Tool {
    let Value::Object(schema) = json!({"type": "object",
        "properties": {"alert_id": {"type": "string"}}, "required": ["alert_id"]})
    else {
        unreachable!()
    };
    rmcp::model::Tool::new("get_alert", "One SIEM alert by id.", schema)
}

/// `update_alert` as an in-test SIEM lists it: the name and arguments the lab's config declares.
pub fn update_alert_tool() -> rmcp::model::Tool {
    let Value::Object(schema) = json!({"type": "object",
        "properties": {"alert_id": {"type": "string"},
            "status": {"type": "string", "enum": ["open", "closed", "suppressed"]},
            "note": {"type": "string"}},
        "required": ["alert_id", "status"]})
    else {
        unreachable!()
    };
    rmcp::model::Tool::new("update_alert", "Sets one SIEM alert's status.", schema)
}

pub fn isolate(host: &str, incident: &str) -> Value {
    json!({"host": host, "incident": incident, "reason": "test"})
}
