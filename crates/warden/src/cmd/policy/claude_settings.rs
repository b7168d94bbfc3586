//! `warden policy check --claude-settings FILE`: whether Claude Code's settings pin what
//! warden's hooks rely on.
//!
//! warden decides Claude Code's own tools only when Claude Code asks it, and Claude Code runs a
//! tool whenever its hook does not block: a hook that is missing, matches only some tools,
//! names a binary that is not where it says or reaches a warden that is not there lets the tool
//! run unseen. The settings must pin each of these: every tool (`"*"`) before and after it
//! runs and after it fails, the hook command by its absolute path ending `|| exit 2`,
//! `onFailure: "block"`, the
//! warden it reaches (this config's listen address), the agent's token taken from the
//! environment (never written in the settings, which the agent may read), a hook deadline
//! inside Claude Code's, and bash as the shell Bash runs in. `Stop` and `SubagentStop` reach
//! warden too, so that a read whose report never came taints its agent when the session stops
//! (without them, only once it is overdue).

use serde_json::Value;
use std::net::SocketAddr;

/// The command hook's own `--timeout-secs` default and Claude Code's hook `timeout` default.
const HOOK_DEADLINE_SECS: u64 = 30;
const CLAUDE_TIMEOUT_SECS: u64 = 60;
/// The command hook's `--url` default.
const DEFAULT_URL: &str = "http://127.0.0.1:8700";

/// Every way `settings` fails to pin warden's hooks, for a warden listening on `listen`.
pub fn warnings(settings: &Value, listen: SocketAddr) -> Vec<String> {
    let mut out = Vec::new();
    if settings.get("disableAllHooks") == Some(&Value::Bool(true)) {
        out.push("`disableAllHooks` is true: no hook runs, so no tool reaches warden".into());
    }
    let env = settings.get("env");
    let env_var = |name: &str| env.and_then(|e| e.get(name)).and_then(Value::as_str);
    if !env_var("CLAUDE_CODE_SHELL").is_some_and(|s| s.starts_with('/') && s.ends_with("/bash")) {
        out.push(
            "`env.CLAUDE_CODE_SHELL` does not pin bash (`/bin/bash`): warden reads Bash commands as bash does, and Claude Code may run them in zsh"
                .into(),
        );
    }
    for event in ["Stop", "SubagentStop"] {
        let sent = settings
            .get("hooks")
            .and_then(|h| h.get(event))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|g| g.get("hooks").and_then(Value::as_array))
            .flatten()
            .any(is_wardens);
        if !sent {
            out.push(format!(
                "`hooks.{event}` does not reach warden: a read whose report never comes (Claude Code killed mid-call) taints its agent only once it is overdue, not when the session stops"
            ));
        }
    }
    for event in ["PreToolUse", "PostToolUse", "PostToolUseFailure"] {
        let groups = settings
            .get("hooks")
            .and_then(|h| h.get(event))
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut every_tool = false;
        for (g, group) in groups.iter().enumerate() {
            let all = group
                .get("matcher")
                .and_then(Value::as_str)
                .is_none_or(|m| m.is_empty() || m == "*");
            let hooks = group
                .get("hooks")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default();
            for (i, hook) in hooks.iter().enumerate() {
                if !is_wardens(hook) {
                    continue;
                }
                every_tool |= all;
                let at = format!("`hooks.{event}[{g}].hooks[{i}]`");
                hook_warnings(hook, &at, env_var("WARDEN_URL"), listen, &mut out);
            }
        }
        if !every_tool {
            out.push(format!(
                "`hooks.{event}` sends not every tool to warden: add a group with `\"matcher\": \"*\"` and warden's hook (a list of names lets any other tool run unseen)"
            ));
        }
    }
    out
}

/// Whether `hook` is warden's: `warden hook claude-code` or its HTTP endpoint.
fn is_wardens(hook: &Value) -> bool {
    let text = |k: &str| hook.get(k).and_then(Value::as_str).unwrap_or_default();
    text("command").contains("hook claude-code") || text("url").contains("/hooks/claude-code")
}

fn hook_warnings(
    hook: &Value,
    at: &str,
    env_url: Option<&str>,
    listen: SocketAddr,
    out: &mut Vec<String>,
) {
    if hook.get("onFailure").and_then(Value::as_str) != Some("block") {
        out.push(format!(
            "{at} has no `\"onFailure\": \"block\"`: a hook that cannot start or times out lets the tool run"
        ));
    }
    let timeout = hook
        .get("timeout")
        .and_then(Value::as_u64)
        .unwrap_or(CLAUDE_TIMEOUT_SECS);
    if let Some(command) = hook.get("command").and_then(Value::as_str) {
        let words: Vec<&str> = command.split_whitespace().collect();
        if !words.first().is_some_and(|w| w.starts_with('/')) {
            out.push(format!(
                "{at} does not name warden by its absolute path: it is looked up on Claude Code's `PATH`, where a directory the agent can write could shadow it"
            ));
        }
        if !command.trim_end().ends_with("|| exit 2") {
            out.push(format!(
                "{at} does not end with `|| exit 2`: a missing or killed binary does not block the call"
            ));
        }
        if option(&words, "--token").is_some() {
            out.push(format!(
                "{at} writes the agent's token in the settings: give it in `WARDEN_AGENT_TOKEN` instead"
            ));
        }
        let url = option(&words, "--url").or(env_url).unwrap_or(DEFAULT_URL);
        url_warning(at, url, listen, out);
        let deadline = option(&words, "--timeout-secs")
            .and_then(|s| s.parse().ok())
            .unwrap_or(HOOK_DEADLINE_SECS);
        if deadline >= timeout {
            out.push(format!(
                "{at}: the hook's `--timeout-secs` ({deadline} s) is not below Claude Code's `timeout` ({timeout} s): past that, Claude Code stops waiting before warden's answer blocks"
            ));
        }
    } else if let Some(url) = hook.get("url").and_then(Value::as_str) {
        url_warning(at, url, listen, out);
        let header = hook
            .get("headers")
            .and_then(|h| h.get("Authorization"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let var = header
            .strip_prefix("Bearer $")
            .map(|v| v.trim_start_matches('{').trim_end_matches('}'));
        let allowed = hook
            .get("allowedEnvVars")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|v| v.as_str().is_some() && v.as_str() == var));
        if header.starts_with("Bearer ") && var.is_none() {
            out.push(format!(
                "{at} writes the agent's token in the settings: use `Bearer $WARDEN_AGENT_TOKEN` and `allowedEnvVars`"
            ));
        } else if !allowed {
            out.push(format!(
                "{at} sends no agent token (`\"Authorization\": \"Bearer $WARDEN_AGENT_TOKEN\"` with the variable in `allowedEnvVars`): warden answers 401"
            ));
        }
    }
}

/// The value of `--name VALUE` or `--name=VALUE` among `words`.
fn option<'a>(words: &[&'a str], name: &str) -> Option<&'a str> {
    words.iter().enumerate().find_map(|(i, w)| {
        if *w == name {
            words.get(i + 1).copied()
        } else {
            w.strip_prefix(name).and_then(|r| r.strip_prefix('='))
        }
    })
}

fn url_warning(at: &str, url: &str, listen: SocketAddr, out: &mut Vec<String>) {
    if !reaches(url, listen) {
        out.push(format!(
            "{at} reaches warden at `{url}`, but this config listens on `{listen}`: every call would be blocked, or answered by whatever listens there"
        ));
    }
}

/// Whether `url` (`http://host:port/…`) names the address warden listens on.
fn reaches(url: &str, listen: SocketAddr) -> bool {
    let (rest, default_port) = if let Some(r) = url.strip_prefix("http://") {
        (r, 80)
    } else if let Some(r) = url.strip_prefix("https://") {
        (r, 443)
    } else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') => (h, p.parse().ok()),
        _ => (authority, Some(default_port)),
    };
    if port != Some(listen.port()) {
        return false;
    }
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let ip = if host.eq_ignore_ascii_case("localhost") {
        None
    } else {
        match host.parse::<std::net::IpAddr>() {
            Ok(ip) => Some(ip),
            Err(_) => return false,
        }
    };
    match ip {
        Some(ip) => ip == listen.ip() || (listen.ip().is_unspecified() && ip.is_loopback()),
        None => listen.ip().is_loopback() || listen.ip().is_unspecified(),
    }
}
