//! `warden hook claude-code`: Claude Code's command hook. Reads one hook event on stdin, asks
//! the running warden (`POST /hooks/claude-code`, with the agent's token) and prints warden's
//! answer on stdout.
//!
//! It fails closed: when warden cannot be reached, does not answer within the timeout, refuses
//! the token or answers something that is not a hook reply, the command says why on stderr and
//! exits 2, which Claude Code treats as a blocking error (a `PreToolUse` tool call does not run).
//! Any other exit code would let the tool run.

use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::Duration;

/// Exit status Claude Code reads as "block".
const BLOCK: u8 = 2;
/// The largest event read from stdin; larger ones are refused (warden's own limit is usually
/// lower and answered in the hook's terms).
const MAX_EVENT: u64 = 64 * 1024 * 1024;

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
    /// Seconds to wait for warden's answer
    #[arg(long, default_value_t = 30)]
    pub timeout_secs: u64,
}

pub async fn run(command: Command) -> anyhow::Result<ExitCode> {
    let Command::ClaudeCode(args) = command;
    Ok(match ask(&args).await {
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
async fn ask(args: &ClaudeCodeArgs) -> Result<serde_json::Value, String> {
    let mut event = Vec::new();
    std::io::stdin()
        .take(MAX_EVENT + 1)
        .read_to_end(&mut event)
        .map_err(|e| format!("cannot read the hook event: {e}"))?;
    if event.len() as u64 > MAX_EVENT {
        return Err(format!("the hook event is larger than {MAX_EVENT} bytes"));
    }
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
