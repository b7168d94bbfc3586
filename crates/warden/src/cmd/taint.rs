//! `warden taint list` and `warden taint clear --agent A --record N --reason … --as ID`: the
//! taint an agent carries after reading text the injection screen flagged.
//!
//! Taint is stored per agent principal, not per MCP session, so it follows the agent into a new
//! session and onto every replica sharing the store, until its window ends. Only a human clears
//! it sooner: a configured approver presenting their token (`--as ID`,
//! `WARDEN_APPROVER_TOKEN`), like `warden resume`. The clear names what the approver reviewed:
//! `--record N`, the newest record in force as `warden taint list` shows it. When the agent has
//! read something since, the clear is refused and nothing is recorded; a read recorded while
//! the clear runs is not cleared by it. The clear is recorded in the ledger before it is
//! stored, so no taint is ever cleared without a record of who did it and why. The console's
//! "Tainted agents" page clears through `warden_gateway::taint::record_and_clear` too, so both
//! fronts check and write the same event in the same order; `taint clear` asks it of the
//! running gateway's approvers' API, the same desk method as the page, unless `--offline`.

use super::ConfigArg;
use super::remote::{Api, GatewayArg};
use crate::output::{self, Format, when};
use serde::Serialize;
use std::process::ExitCode;
use warden_gateway::AuditLog;
use warden_gateway::clock::system_now_ms;
use warden_store::{TaintInForce, TaintRecord};

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Agents with taint in force: agent, level, source, session, since, until, and the
    /// newest record in force (what `taint clear --record` names)
    List {
        #[command(flatten)]
        config: ConfigArg,
        #[command(flatten)]
        format: Format,
    },
    /// Clear an agent's taint before it expires (an approver, with their token); recorded
    Clear(ClearArgs),
}

#[derive(clap::Args, Debug)]
pub struct ClearArgs {
    /// The agent principal whose taint to clear
    #[arg(long)]
    agent: String,
    /// The newest record in force as `warden taint list` showed it: the clear is refused if the
    /// agent's taint changed since, and stops no record stored after it
    #[arg(long)]
    record: TaintRecord,
    /// Why (recorded in the audit log)
    #[arg(long)]
    reason: String,
    /// Your approver id from the config
    #[arg(long = "as")]
    approver: String,
    /// Your approver token
    #[arg(long, env = "WARDEN_APPROVER_TOKEN", hide_env_values = true)]
    token: Option<String>,
    #[command(flatten)]
    config: ConfigArg,
    #[command(flatten)]
    gateway: GatewayArg,
}

pub async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::List { config, format } => list(&config, format),
        Command::Clear(args) => clear(args).await,
    }
}

fn list(config: &ConfigArg, format: Format) -> anyhow::Result<ExitCode> {
    let config = super::load_config(config)?;
    let store = super::open_store(&config.store)?;
    let now = system_now_ms();
    // Every tainted agent, read a bounded page at a time.
    let mut taints: Vec<Taint> = Vec::new();
    let mut after = None;
    loop {
        let page = warden_store::tainted_agents_page(
            store.as_ref(),
            now,
            after.as_ref(),
            warden_store::PageSize::new(warden_store::PageSize::MAX)?,
        )?;
        taints.extend(page.rows.into_iter().map(Taint::from));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    output::listing(&taints, format, "no tainted agents", |t| {
        format!(
            "{}  level {}  from {}  session {}  since {}  until {}  record {} ({} in force)",
            t.agent,
            t.level,
            t.source,
            t.session,
            when(t.at_ms, now),
            when(t.until_ms, now),
            t.record,
            t.records
        )
    })?;
    Ok(ExitCode::SUCCESS)
}

/// A taint in force, as `--json` prints it.
#[derive(Serialize)]
struct Taint {
    agent: String,
    level: i64,
    source: String,
    session: String,
    at_ms: i64,
    until_ms: i64,
    /// The newest record in force: what `taint clear --record` names.
    record: TaintRecord,
    /// How many records are in force.
    records: u32,
}

impl From<TaintInForce> for Taint {
    fn from(shown: TaintInForce) -> Self {
        let t = shown.taint;
        Self {
            agent: t.agent,
            level: t.level,
            source: t.source,
            session: t.session,
            at_ms: t.at_ms,
            until_ms: t.until_ms,
            record: shown.newest,
            records: shown.records,
        }
    }
}

/// What a clear stopped, as either path reports it.
#[derive(serde::Deserialize)]
struct Stopped {
    records: u32,
    level: i64,
    source: String,
}

/// The gateway's answer to a clear: what stopped, or nothing in force.
#[derive(serde::Deserialize)]
struct Cleared {
    cleared: Option<warden_console::TaintCleared>,
}

async fn clear(args: ClearArgs) -> anyhow::Result<ExitCode> {
    let reason = args.reason.trim();
    if reason.is_empty() {
        anyhow::bail!("give a reason");
    }
    let agent = args.agent.as_str();
    let stopped = if args.gateway.offline {
        clear_offline(&args, reason)?
    } else {
        let api = Api::new(
            &args.gateway,
            &args.config,
            &args.approver,
            args.token.as_deref(),
        )?;
        let answer: Cleared = api
            .post(
                &["taint", "clear"],
                &serde_json::json!({"agent": agent, "record": args.record, "reason": reason}),
            )
            .await?;
        answer.cleared.map(|c| Stopped {
            records: c.records,
            level: c.taint.level,
            source: c.taint.source,
        })
    };
    let Some(stopped) = stopped else {
        crate::output::say!("agent `{agent}`: no taint in force")?;
        return Ok(ExitCode::SUCCESS);
    };
    crate::output::say!(
        "agent `{agent}`: taint cleared through record {} ({} in force, the highest level {} from {})",
        args.record,
        stopped.records,
        stopped.level,
        stopped.source
    )?;
    Ok(ExitCode::SUCCESS)
}

/// The clear written to the state directory directly (`--offline`).
fn clear_offline(args: &ClearArgs, reason: &str) -> anyhow::Result<Option<Stopped>> {
    let config = super::load_config(&args.config)?;
    super::check_approver(&config, &args.approver, args.token.as_deref())?;
    let store = super::open_store(&config.store)?;
    let audit = super::open_ledger(&config, store.clone())?;
    // One instant for the check, the record and the clear: what the event shows in force is
    // what stops, and only if it is what the approver reviewed.
    let now = warden_gateway::pipeline::now_ms();
    let cleared = warden_gateway::taint::record_and_clear(
        store.as_ref(),
        audit.as_ref(),
        &args.agent,
        args.record,
        &args.approver,
        reason,
        now,
    );
    AuditLog::shutdown(audit.as_ref())?;
    Ok(cleared?.map(|c| Stopped {
        records: c.records,
        level: c.shown.taint.level,
        source: c.shown.taint.source,
    }))
}
