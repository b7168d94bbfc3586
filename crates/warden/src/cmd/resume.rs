//! `warden resume SCOPE --reason … --as ID`: lifts a halt. Only an authorised human — a
//! configured approver presenting their token — may resume; the resumption is recorded. Asked
//! of the running gateway's approvers' API, which checks the token and records the resume with
//! the credentials it holds for the approver; `--offline` writes the state directory directly.

use super::ConfigArg;
use super::remote::{Api, GatewayArg};
use std::process::ExitCode;
use warden_console::Resumed;
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
    #[command(flatten)]
    gateway: GatewayArg,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let scope = Scope::parse(&args.scope)?;
    if args.reason.trim().is_empty() {
        anyhow::bail!("give a reason");
    }
    let resumed = if args.gateway.offline {
        offline(&args, &scope)?
    } else {
        let api = Api::new(
            &args.gateway,
            &args.config,
            &args.approver,
            args.token.as_deref(),
        )?;
        api.post(
            &["resume"],
            &serde_json::json!({"scope": scope.to_string(), "reason": args.reason}),
        )
        .await?
    };
    crate::output::say!(
        "{scope}: resumed (halted by {}: {})",
        resumed.halted_by,
        resumed.halt_reason
    )?;
    Ok(ExitCode::SUCCESS)
}

/// The resume written to the state directory directly (`--offline`).
fn offline(args: &Args, scope: &Scope) -> anyhow::Result<Resumed> {
    let config = super::load_config(&args.config)?;
    super::check_approver(&config, &args.approver, args.token.as_deref())?;
    let store = super::open_store(&config.store)?;
    let audit = super::open_ledger(&config, store.clone())?;
    let h = halt::resume(
        store.as_ref(),
        audit.as_ref(),
        scope,
        &args.approver,
        &warden_gateway::gate::credentials(&config),
        &args.reason,
        warden_gateway::clock::system_now_ms(),
    );
    warden_gateway::AuditLog::shutdown(audit.as_ref())?;
    let h = h?;
    Ok(Resumed {
        scope: scope.to_string(),
        halted_by: h.set_by,
        halt_reason: h.reason,
    })
}
