//! `warden hook claude-code`: Claude Code's command hook. Reads one hook event on stdin, asks
//! the running warden (`POST /hooks/claude-code`, with the agent's token) and prints warden's
//! answer on stdout. Every event goes as Claude Code sent it (`PostToolUse`,
//! `PostToolUseFailure`, `Stop`, `SubagentStop`…); a `PreToolUse` gains where its paths lead.
//!
//! It fails closed: when warden cannot be reached, does not answer within the timeout, refuses
//! the token or answers something that is not a hook reply, the command says why on stderr and
//! exits 2, which Claude Code treats as a blocking error (a `PreToolUse` tool call does not run).
//! Any other exit code would let the tool run, so every failure of the command itself blocks
//! too: a panic, an unusable argument, a runtime that does not start, an event that never ends
//! (one deadline, `--timeout-secs`, covers the whole answer). What the command cannot do is
//! exit at all when it is not there: the settings name it by its absolute path and end with
//! `|| exit 2`, so the shell blocks when the binary is missing or dies by a signal.

mod real_path;

use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::Duration;

/// Exit status Claude Code reads as "block".
const BLOCK: u8 = 2;
/// The largest event read from stdin; larger ones are refused (warden's own limit is usually
/// lower and answered in the hook's terms).
const MAX_EVENT: u64 = 64 * 1024 * 1024;
/// How much of an event too large to send goes to warden all the same, so that it knows a
/// report went unread.
const UNREAD_HEAD: usize = 64 * 1024;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Answer one Claude Code hook event (stdin) from the running warden (stdout); blocks (exit
    /// 2) when warden cannot answer
    ClaudeCode(ClaudeCodeArgs),
}

#[derive(clap::Args, Debug)]
pub struct ClaudeCodeArgs {
    /// Where warden serves (its base URL)
    #[arg(long, env = "WARDEN_URL", default_value = "http://127.0.0.1:8700")]
    pub url: String,
    /// The agent's bearer token (prefer the environment variable)
    #[arg(long, env = "WARDEN_AGENT_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Seconds the whole answer may take, reading the event included (keep it below the hook's
    /// `timeout` in Claude Code's settings, past which Claude Code runs the tool)
    #[arg(long, default_value_t = 30)]
    pub timeout_secs: u64,
}

pub async fn run(command: Command) -> anyhow::Result<ExitCode> {
    let Command::ClaudeCode(args) = command;
    // One deadline for the whole answer, the event's arrival included: Claude Code runs the
    // tool when its own hook timeout passes, so warden's hook must block before then.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(args.timeout_secs);
    let answer = match tokio::time::timeout_at(deadline, ask(&args, deadline)).await {
        Ok(answer) => answer,
        Err(_) => Err(format!(
            "no answer within {} s (`--timeout-secs`)",
            args.timeout_secs
        )),
    };
    Ok(match answer {
        Ok(reply) => {
            let mut out = std::io::stdout().lock();
            match writeln!(out, "{reply}").and_then(|()| out.flush()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => block(&format!("cannot write warden's answer: {e}")),
            }
        }
        Err(why) => block(&why),
    })
}

fn block(why: &str) -> ExitCode {
    eprintln!("warden: {why}; the tool call is blocked");
    ExitCode::from(BLOCK)
}

/// warden's reply to the event on stdin, or why there is none.
async fn ask(
    args: &ClaudeCodeArgs,
    deadline: tokio::time::Instant,
) -> Result<serde_json::Value, String> {
    // Read on a thread of its own, which the deadline can leave behind (the process exits
    // without it) if the event never ends.
    let (sent, event) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut event = Vec::new();
        let read = std::io::stdin()
            .take(MAX_EVENT + 1)
            .read_to_end(&mut event)
            .map(|_| event);
        // The receiver is gone only when the deadline passed: nothing to tell.
        let _ = sent.send(read);
    });
    let event = event
        .await
        .map_err(|_| "the hook event was not read".to_string())?
        .map_err(|e| format!("cannot read the hook event: {e}"))?;
    let token = args
        .token
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or("no agent token: set `WARDEN_AGENT_TOKEN` (or give --token)")?;
    let url = format!("{}/hooks/claude-code", args.url.trim_end_matches('/'));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(args.timeout_secs))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
    if event.len() as u64 > MAX_EVENT {
        // Too large to send, yet it may carry a tool's output the model already holds: warden
        // gets its first bytes, which it cannot read either, and treats the agent as tainted
        // (the output went unscreened). The call is blocked whatever warden answers.
        let mut head = event;
        head.truncate(UNREAD_HEAD);
        let told = client
            .post(&url)
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(head)
            .send()
            .await;
        if let Err(e) = told {
            eprintln!("warden: cannot tell warden of an event too large to send: {e}");
        }
        return Err(format!("the hook event is larger than {MAX_EVENT} bytes"));
    }
    let event = prepared_within(event, deadline, FileSystem).await?;
    let response = client
        .post(&url)
        .bearer_auth(token)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(event)
        .send()
        .await
        .map_err(|e| format!("cannot reach warden at `{url}`: {e}"))?;
    let status = response.status();
    if status == reqwest::StatusCode::UNAUTHORIZED {
        return Err("warden refused the agent token".into());
    }
    if !status.is_success() {
        return Err(format!("warden answered HTTP {status}"));
    }
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("cannot read warden's answer: {e}"))?;
    match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(reply @ serde_json::Value::Object(_)) => Ok(reply),
        _ => Err("warden's answer is not a hook reply".into()),
    }
}

/// Where paths lead on this machine: the file system's answers ([`FileSystem`]). A walk can
/// take any time (a huge tree, a slow or hung mount), so it runs where the deadline can leave
/// it behind ([`prepared_within`]).
trait Walker: Send + 'static {
    fn real_path(&self, path: &str) -> Result<String, real_path::Unresolved>;
    fn links_below(
        &self,
        dir: &str,
        budget: &mut usize,
    ) -> Vec<Result<String, real_path::Unresolved>>;
    fn copied_links(
        &self,
        path: &str,
        budget: &mut usize,
    ) -> Vec<Result<String, real_path::Unresolved>>;
}

/// The file system this command runs beside.
struct FileSystem;

impl Walker for FileSystem {
    fn real_path(&self, path: &str) -> Result<String, real_path::Unresolved> {
        real_path::real_path(path)
    }
    fn links_below(
        &self,
        dir: &str,
        budget: &mut usize,
    ) -> Vec<Result<String, real_path::Unresolved>> {
        real_path::links_below(dir, budget)
    }
    fn copied_links(
        &self,
        path: &str,
        budget: &mut usize,
    ) -> Vec<Result<String, real_path::Unresolved>> {
        real_path::copied_links(path, budget)
    }
}

/// [`prepared`] on a thread of its own, awaited only until `deadline`: a walk still running
/// then is left behind (the process exits without it) and the call is blocked, instead of the
/// hook answering after Claude Code stopped waiting, which runs the tool.
async fn prepared_within(
    body: Vec<u8>,
    deadline: tokio::time::Instant,
    walker: impl Walker,
) -> Result<Vec<u8>, String> {
    let (sent, prepared_event) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        // The receiver is gone only when the deadline passed: nothing to tell.
        let _ = sent.send(prepared(body, deadline, &walker));
    });
    match tokio::time::timeout_at(deadline, prepared_event).await {
        Ok(Ok(event)) => Ok(event),
        Ok(Err(_)) => Err("where the call's paths lead was not found".into()),
        Err(_) => Err(
            "where the call's paths lead was not found within the deadline (`--timeout-secs`)"
                .into(),
        ),
    }
}

/// A `PreToolUse` event with what only this command can tell warden: `warden_real_paths`,
/// where a path leads elsewhere than it is spelt (through a symbolic link on this machine) or
/// cannot be resolved (`?`) — a path argument of Claude Code's tool (`file_path`,
/// `notebook_path`, `path`), the literal absolute write targets the Bash command names, the
/// links below the directories it writes into and the links its link-keeping copies make, so
/// that warden decides on where the call lands — and `warden_answer_within_ms`, how long this
/// command still waits for the answer (a held call waits for humans only that long). Any other
/// body goes as it came (warden answers what it cannot read).
fn prepared(body: Vec<u8>, deadline: tokio::time::Instant, walker: &impl Walker) -> Vec<u8> {
    let Ok(Value::Object(mut event)) = serde_json::from_slice::<Value>(&body) else {
        return body;
    };
    if event.get("hook_event_name").and_then(Value::as_str) != Some("PreToolUse") {
        return body;
    }
    let tool_name = event
        .get("tool_name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let builtin = warden_policy::claude_code::builtin_for(tool_name);
    let real = match event.get("tool_input") {
        Some(Value::Object(input)) => real_paths(builtin, input, walker),
        _ => Map::new(),
    };
    // Only this command says these: whatever the event carried under those names goes.
    event.remove("warden_real_paths");
    if !real.is_empty() {
        event.insert("warden_real_paths".into(), Value::Object(real));
    }
    let within = deadline.saturating_duration_since(tokio::time::Instant::now());
    let within_ms = u64::try_from(within.as_millis()).unwrap_or(u64::MAX);
    event.insert("warden_answer_within_ms".into(), Value::from(within_ms));
    serde_json::to_vec(&Value::Object(event)).unwrap_or(body)
}

/// For each path argument of `builtin` in `input` whose real path differs from the path as
/// spelt: that real path (`?` where it cannot be resolved); for a command: the real paths of
/// its literal absolute write targets that differ, and where the links its writes may go
/// through lead (below a directory written into, or made again by a link-keeping copy).
fn real_paths(
    builtin: &warden_policy::claude_code::Builtin,
    input: &Map<String, Value>,
    walker: &impl Walker,
) -> Map<String, Value> {
    let unknown = warden_policy::shell::UNKNOWN;
    let resolve = |path: &str| -> Option<String> {
        match walker.real_path(path) {
            Ok(real) if real == lexical(path) => None,
            Ok(real) => Some(real),
            Err(why) => {
                eprintln!("warden: where `{path}` leads is unknown: {why}");
                Some(unknown.to_string())
            }
        }
    };
    let mut out = Map::new();
    for (name, ty) in builtin.args {
        let Some(text) = input.get(*name).and_then(Value::as_str) else {
            continue;
        };
        if ty.starts_with("path:") {
            // A relative path or one with `..` is refused by warden as spelt.
            if text.starts_with('/')
                && !text.split('/').any(|c| c == "..")
                && let Some(real) = resolve(text)
            {
                out.insert((*name).to_string(), Value::String(real));
            }
        } else if *ty == "{command}" {
            let facts = warden_policy::shell::analyse(text);
            let mut real: BTreeSet<String> = facts
                .writes_paths
                .iter()
                .filter(|p| p.starts_with('/'))
                .filter_map(|p| resolve(p))
                .collect();
            // Writes into a directory land through the links below it; a copy that keeps
            // links makes them again where it lands.
            let mut budget = real_path::MAX_ENTRIES;
            let below = facts
                .writes_into
                .iter()
                .flat_map(|d| walker.links_below(d, &mut budget))
                .collect::<Vec<_>>();
            let copied = facts
                .links_copied
                .iter()
                .flat_map(|s| walker.copied_links(s, &mut budget))
                .collect::<Vec<_>>();
            for found in below.into_iter().chain(copied) {
                real.insert(found.unwrap_or_else(|why| {
                    eprintln!("warden: where a write through a link leads is unknown: {why}");
                    unknown.to_string()
                }));
            }
            let real: Vec<Value> = real.into_iter().map(Value::String).collect();
            if !real.is_empty() {
                out.insert((*name).to_string(), Value::Array(real));
            }
        }
    }
    out
}

/// `path` with empty and `.` components dropped: how warden spells it.
fn lexical(path: &str) -> String {
    let parts: Vec<&str> = path
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]

    use super::*;
    use std::sync::Mutex;
    use std::sync::mpsc;

    /// A walk that does not end until the test lets it: a hung mount, a tree without end.
    struct Stuck(Mutex<mpsc::Receiver<()>>);

    impl Stuck {
        fn wait(&self) {
            let _ = self.0.lock().unwrap().recv();
        }
    }

    impl Walker for Stuck {
        fn real_path(&self, path: &str) -> Result<String, real_path::Unresolved> {
            self.wait();
            Ok(path.to_string())
        }
        fn links_below(
            &self,
            _: &str,
            _: &mut usize,
        ) -> Vec<Result<String, real_path::Unresolved>> {
            self.wait();
            Vec::new()
        }
        fn copied_links(
            &self,
            _: &str,
            _: &mut usize,
        ) -> Vec<Result<String, real_path::Unresolved>> {
            self.wait();
            Vec::new()
        }
    }

    fn pre(tool: &str, input: Value) -> Vec<u8> {
        serde_json::json!({
            "session_id": "s",
            "hook_event_name": "PreToolUse",
            "tool_name": tool,
            "tool_input": input,
            "tool_use_id": "t",
        })
        .to_string()
        .into_bytes()
    }

    /// A walk still running at the deadline blocks the call then: the answer does not wait
    /// for it past the hook's deadline. The walk ends only when the test lets it, after the
    /// answer: before, the answer waited for it (this test never ended).
    #[tokio::test]
    async fn a_walk_past_the_deadline_blocks_the_call_at_the_deadline() {
        for event in [
            pre(
                "Write",
                serde_json::json!({"file_path": "/cases/c-101/x", "content": "x"}),
            ),
            pre(
                "Bash",
                serde_json::json!({"command": "cp -r /srv/evidence /cases/c-101/"}),
            ),
        ] {
            let (release, stuck) = mpsc::channel::<()>();
            let deadline = tokio::time::Instant::now() + Duration::from_millis(50);
            let answer = prepared_within(event, deadline, Stuck(Mutex::new(stuck))).await;
            let why = answer.expect_err("a walk that never ends blocks the call");
            assert!(why.contains("within the deadline"), "{why}");
            assert!(tokio::time::Instant::now() >= deadline);
            drop(release);
        }
    }

    /// A walk that ends in time gives warden the real paths, as before.
    #[tokio::test]
    async fn a_walk_in_time_is_sent_with_the_event() {
        struct Elsewhere;
        impl Walker for Elsewhere {
            fn real_path(&self, _: &str) -> Result<String, real_path::Unresolved> {
                Ok("/home/analyst/.ssh/authorized_keys".into())
            }
            fn links_below(
                &self,
                _: &str,
                _: &mut usize,
            ) -> Vec<Result<String, real_path::Unresolved>> {
                Vec::new()
            }
            fn copied_links(
                &self,
                _: &str,
                _: &mut usize,
            ) -> Vec<Result<String, real_path::Unresolved>> {
                Vec::new()
            }
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let event = pre(
            "Write",
            serde_json::json!({"file_path": "/cases/c-101/k", "content": "x"}),
        );
        let body = prepared_within(event, deadline, Elsewhere).await.unwrap();
        let event: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            event["warden_real_paths"]["file_path"],
            "/home/analyst/.ssh/authorized_keys"
        );
    }
}
