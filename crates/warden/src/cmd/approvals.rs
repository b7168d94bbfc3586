//! `warden approvals list | show | approve | deny`: the human gate from a terminal.
//!
//! Answering needs an approver's identity and proof of it: `--as ID` and the approver's token in
//! `WARDEN_APPROVER_TOKEN` (or `--token`), checked against the config's `token_sha256`.

use super::ConfigArg;
use std::process::ExitCode;
use warden_core::{ApprovalStatus, Verdict};
use warden_gateway::gate;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// List held calls (pending first), with their exact arguments
    List {
        #[command(flatten)]
        config: ConfigArg,
        /// Also show answered, expired and executed requests
        #[arg(long)]
        all: bool,
    },
    /// Show one request in full, as JSON
    Show {
        id: String,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Approve a held call
    Approve(Answer),
    /// Deny a held call
    Deny(Answer),
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
    token: String,
    #[command(flatten)]
    config: ConfigArg,
}

pub async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::List { config, all } => {
            let config = super::load_config(&config)?;
            let store = super::open_store(&config.store)?;
            let mut requests = store.pending()?;
            requests.sort_by_key(|r| (r.status != ApprovalStatus::Pending, r.created_ms));
            for p in requests
                .iter()
                .filter(|r| all || r.status == ApprovalStatus::Pending)
            {
                println!(
                    "{}  {:<8}  {}  {}  {}  rule `{}`  needs {}  {}",
                    p.id,
                    p.status,
                    p.principal,
                    p.tool,
                    p.args,
                    p.rule,
                    p.approvals_needed(),
                    p.args_digest
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Show { id, config } => {
            let config = super::load_config(&config)?;
            let store = super::open_store(&config.store)?;
            match store.pending_request(&id)? {
                Some(r) => {
                    println!("{}", serde_json::to_string_pretty(&r)?);
                    Ok(ExitCode::SUCCESS)
                }
                None => anyhow::bail!("no request `{id}`"),
            }
        }
        Command::Approve(a) => answer(a, Verdict::Approve).await,
        Command::Deny(a) => answer(a, Verdict::Deny).await,
    }
}

async fn answer(a: Answer, verdict: Verdict) -> anyhow::Result<ExitCode> {
    let config = super::load_config(&a.config)?;
    super::check_approver(&config, &a.approver, Some(&a.token))?;
    let store = super::open_store(&config.store)?;
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
    )?;
    warden_gateway::AuditLog::shutdown(audit.as_ref())?;
    println!(
        "{}: {} ({} of {} approvals)",
        r.id,
        r.status,
        r.approvals(),
        r.approvals_needed()
    );
    Ok(ExitCode::SUCCESS)
}
