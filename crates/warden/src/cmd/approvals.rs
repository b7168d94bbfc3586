//! `warden approvals list | show | approve | deny`: the human gate from a terminal.
//!
//! Every subcommand asks the running gateway's approvers' API (`--gateway URL`, default the
//! console of the config's `[gateway] listen`) as the approver `--as ID`, with their token in
//! `WARDEN_APPROVER_TOKEN` (or `--token`): the gateway checks the token under the console's
//! sign-in lockout, shows a request with its answers as the ledger records them, and records an
//! answer through the same function as the console. `--offline` reads and writes the state
//! directory directly instead (it needs the state directory and the ledger's key).

use super::ConfigArg;
use super::remote::{self, Api, GatewayArg};
use crate::output::{self, Format, when};
use serde_json::json;
use std::process::ExitCode;
use warden_console::RequestView;
use warden_core::{ApprovalStatus, Verdict};
use warden_gateway::clock::system_now_ms;
use warden_gateway::gate;
use warden_store::{PendingRequest, RequestFilter};

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// List held calls (pending first), with their exact arguments
    List {
        #[command(flatten)]
        config: ConfigArg,
        /// Also show answered, expired and executed requests (read from the store: --offline)
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        format: Format,
        #[command(flatten)]
        reader: Reader,
    },
    /// Show one request in full
    Show {
        id: String,
        #[command(flatten)]
        config: ConfigArg,
        /// The request as JSON, for programs (times as Unix milliseconds)
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        reader: Reader,
    },
    /// Approve a held call
    Approve(Answer),
    /// Deny a held call
    Deny(Answer),
}

/// Who reads the requests from the gateway, or `--offline`.
#[derive(clap::Args, Debug)]
pub struct Reader {
    /// Your approver id from the config (the gateway shows requests to approvers only)
    #[arg(long = "as")]
    approver: Option<String>,
    /// Your approver token
    #[arg(long, env = "WARDEN_APPROVER_TOKEN", hide_env_values = true)]
    token: Option<String>,
    #[command(flatten)]
    gateway: GatewayArg,
}

impl Reader {
    fn api(&self, config: &ConfigArg) -> anyhow::Result<Api> {
        let Some(approver) = self.approver.as_deref() else {
            anyhow::bail!(
                "the gateway shows requests to approvers: give --as ID and set `WARDEN_APPROVER_TOKEN` (or read the store directly with --offline)"
            );
        };
        Api::new(&self.gateway, config, approver, self.token.as_deref())
    }
}

#[derive(clap::Args, Debug)]
pub struct Answer {
    id: String,
    /// Why (recorded in the audit log)
    #[arg(long)]
    reason: String,
    /// Your approver id from the config
    #[arg(long = "as")]
    approver: String,
    /// Your approver token
    #[arg(long, env = "WARDEN_APPROVER_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// The digest of the arguments you reviewed (`approvals show`): the answer is refused
    /// unless the request holds exactly those arguments
    #[arg(long, value_name = "DIGEST")]
    digest: Option<String>,
    #[command(flatten)]
    config: ConfigArg,
    #[command(flatten)]
    gateway: GatewayArg,
}

pub async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::List {
            config,
            all,
            format,
            reader,
        } => {
            let mut requests = if reader.gateway.offline {
                list_offline(&config, all)?
            } else if all {
                anyhow::bail!(
                    "`--all` lists answered requests too, which only the store keeps: add --offline to read it directly (their steps are in `warden audit show --kind approval`)"
                );
            } else {
                list_from(&reader.api(&config)?).await?
            };
            requests.sort_by_key(|r| (r.status != ApprovalStatus::Pending, r.created_ms));
            let none = if all {
                "no requests"
            } else {
                "no pending requests"
            };
            list(&requests, format, none, system_now_ms())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Show {
            id,
            config,
            json,
            reader,
        } => {
            let found = if reader.gateway.offline {
                let config = super::load_config(&config)?;
                let store = super::open_store(&config.store)?;
                store.pending_request(&id)?
            } else {
                let api = reader.api(&config)?;
                api.get::<RequestView>(&["requests", &id], &[])
                    .await?
                    .map(remote::as_stored)
            };
            let Some(r) = found else {
                anyhow::bail!("no request `{id}`");
            };
            let text = if json {
                output::json_pretty(&r)?
            } else {
                show(&r, system_now_ms())
            };
            output::print(&format!("{text}\n"))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Approve(a) => answer(a, Verdict::Approve).await,
        Command::Deny(a) => answer(a, Verdict::Deny).await,
    }
}

/// The waiting requests, or every request with `all`, read from the store.
fn list_offline(config: &ConfigArg, all: bool) -> anyhow::Result<Vec<PendingRequest>> {
    let config = super::load_config(config)?;
    let store = super::open_store(&config.store)?;
    if all {
        return Ok(store.pending()?);
    }
    // The waiting requests only, through their index, a bounded page at a time: never every
    // request ever answered.
    let waiting = RequestFilter {
        statuses: vec![ApprovalStatus::Pending],
        ..RequestFilter::default()
    };
    let mut found = Vec::new();
    let mut after = None;
    loop {
        let page = warden_store::requests_page(
            store.as_ref(),
            &waiting,
            after.as_ref(),
            warden_store::PageSize::clamped(warden_store::PageSize::MAX),
        )?;
        found.extend(page.rows);
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    Ok(found)
}

/// One page of the gateway's waiting requests.
#[derive(serde::Deserialize)]
struct Page {
    rows: Vec<RequestView>,
    next: Option<String>,
}

/// The waiting requests as the gateway lists them, page by page.
async fn list_from(api: &Api) -> anyhow::Result<Vec<PendingRequest>> {
    let mut found = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let query: Vec<(&str, &str)> = after.iter().map(|a| ("after", a.as_str())).collect();
        let Some(page) = api.get::<Page>(&["requests"], &query).await? else {
            anyhow::bail!("the gateway has no approvers' API (is it warden?)");
        };
        found.extend(page.rows.into_iter().map(remote::as_stored));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    Ok(found)
}

async fn answer(a: Answer, verdict: Verdict) -> anyhow::Result<ExitCode> {
    let r = if a.gateway.offline {
        answer_offline(&a, verdict)?
    } else {
        let api = Api::new(&a.gateway, &a.config, &a.approver, a.token.as_deref())?;
        let verb = match verdict {
            Verdict::Approve => "approve",
            Verdict::Deny => "deny",
        };
        let body = json!({"verdict": verb, "reason": a.reason, "args_digest": a.digest});
        let view: RequestView = api.post(&["requests", &a.id, "answer"], &body).await?;
        remote::as_stored(view)
    };
    output::say!(
        "{}: {} ({} of {} approvals)",
        r.id,
        r.status,
        r.approvals(),
        r.approvals_needed()
    )?;
    Ok(ExitCode::SUCCESS)
}

/// The answer written to the state directory directly (`--offline`).
fn answer_offline(a: &Answer, verdict: Verdict) -> anyhow::Result<PendingRequest> {
    let config = super::load_config(&a.config)?;
    super::check_approver(&config, &a.approver, a.token.as_deref())?;
    let store = super::open_store(&config.store)?;
    if let Some(digest) = &a.digest {
        let held = store
            .pending_request(&a.id)?
            .ok_or_else(|| anyhow::anyhow!("no request `{}`", a.id))?;
        if held.args_digest != digest.trim() {
            anyhow::bail!(
                "request `{}` holds other arguments than the ones you reviewed (their digest is \
                 `{}`); nothing was recorded",
                a.id,
                held.args_digest
            );
        }
    }
    let audit = super::open_ledger(&config, store.clone())?;
    let r = gate::answer(
        store.as_ref(),
        audit.as_ref(),
        &config,
        &a.id,
        &a.approver,
        verdict,
        &a.reason,
        warden_gateway::pipeline::now_ms(),
    );
    warden_gateway::AuditLog::shutdown(audit.as_ref())?;
    Ok(r?)
}

/// One line per request, times relative to `now_ms`.
fn list(
    requests: &[PendingRequest],
    format: Format,
    none: &str,
    now_ms: i64,
) -> anyhow::Result<()> {
    output::listing(requests, format, none, |p| {
        format!(
            "{}  {:<8}  {}  {}  {}  rule `{}`  needs {}  asked {}  expires {}  {}",
            p.id,
            p.status,
            p.principal,
            p.tool,
            p.args,
            p.rule,
            p.approvals_needed(),
            when(p.created_ms, now_ms),
            when(p.expires_ms, now_ms),
            p.args_digest
        )
    })
}

/// A held Bash call as warden read it: every program it runs, nested ones included (`sh -c`,
/// `find -exec`, `xargs`, `eval`, `$(…)`), and the hosts it reaches, so the approver judges
/// what would run rather than the program the text starts with (`?`: not known until it runs).
fn bash_facts(r: &PendingRequest) -> Option<warden_policy::shell::CommandFacts> {
    let name = format!(
        "{}.{}",
        warden_policy::claude_code::SERVER,
        warden_policy::claude_code::BUILTINS
            .iter()
            .find(|b| b.claude == "Bash")?
            .tool
    );
    if r.tool != name {
        return None;
    }
    let command = r.args.get("command")?;
    let text = command
        .as_str()
        .or_else(|| command.get("text").and_then(|t| t.as_str()))?;
    Some(warden_policy::shell::analyse(text))
}

/// A request for an approver to read, times relative to `now_ms`. The agent writes the
/// arguments and the rationale: a value that spans lines is indented under its field, and
/// [`output::print`] shows any character that could move the cursor or hide text, so what the
/// approver reads is what is stored.
fn show(r: &PendingRequest, now_ms: i64) -> String {
    let mut text = String::new();
    let mut field = |name: &str, value: &dyn std::fmt::Display| {
        let value = output::block(&value.to_string(), 11);
        text.push_str(&format!("{name:<10} {value}\n"));
    };
    field("request", &r.id);
    field("status", &r.status);
    field("agent", &r.principal);
    field("session", &r.session);
    field("tool", &r.tool);
    field("arguments", &r.args);
    if let Some(facts) = bash_facts(r) {
        let joined = |items: &std::collections::BTreeSet<String>| {
            items.iter().cloned().collect::<Vec<_>>().join(", ")
        };
        field("runs", &joined(&facts.programs));
        if !facts.hosts.is_empty() {
            field("reaches", &joined(&facts.hosts));
        }
        if !facts.writes_paths.is_empty() {
            field("writes", &joined(&facts.writes_paths));
        }
        if facts.pipes_to_network {
            field("sends", &"local data to the network");
        }
        if facts.opaque {
            field("unread", &facts.reasons.join("; "));
        }
    }
    field("digest", &r.args_digest);
    field(
        "rule",
        &format_args!("`{}` ({})", r.rule, r.approval.as_str()),
    );
    field("category", &r.category);
    field("stakes", &r.stakes);
    field("owner", &r.owner);
    field("policy", &r.policy_version);
    field(
        "approvals",
        &format_args!("{} of {}", r.approvals(), r.approvals_needed()),
    );
    field("asked", &when(r.created_ms, now_ms));
    let expires = if r.status == ApprovalStatus::Pending {
        "expires"
    } else {
        "expiry"
    };
    field(expires, &when(r.expires_ms, now_ms));
    if let Some(rationale) = &r.rationale {
        field("rationale", rationale);
    }
    for a in &r.answers {
        field(
            "answer",
            &format_args!(
                "{} {} at {}: {}",
                a.approver,
                a.verdict.step(),
                when(a.at_ms, now_ms),
                a.reason
            ),
        );
    }
    for e in &r.evidence {
        field("evidence", e);
    }
    text.trim_end().to_string()
}
