//! `warden resume SCOPE --reason … --as ID`: lifts a halt. Only an authorised human — a
//! configured approver presenting their token — may resume; the resumption is recorded.

use super::ConfigArg;
use std::process::ExitCode;
use warden_gateway::halt::{self, Scope};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// `session:<agent>:<session>`, `agent:<agent>`, `category:<category>` or `global`
    scope: String,
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
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let scope = Scope::parse(&args.scope)?;
    let config = super::load_config(&args.config)?;
    super::check_approver(&config, &args.approver, args.token.as_deref())?;
    if args.reason.trim().is_empty() {
        anyhow::bail!("give a reason");
    }
    let store = super::open_store(&config.store)?;
    let audit = super::open_ledger(&config, store.clone())?;
    let h = halt::resume(
        store.as_ref(),
        audit.as_ref(),
        &scope,
        &args.approver,
        &warden_gateway::gate::credentials(&config),
        &args.reason,
        warden_gateway::clock::system_now_ms(),
    )?;
    warden_gateway::AuditLog::shutdown(audit.as_ref())?;
    crate::output::say!("{scope}: resumed (halted by {}: {})", h.set_by, h.reason)?;
    Ok(ExitCode::SUCCESS)
}
