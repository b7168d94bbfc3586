//! `warden audit redact`: erase the sensitive content of one leaf, on the record. Asked of the
//! running gateway's approvers' API (`warden_gateway::redaction::redact` behind it) unless
//! `--offline`.

use crate::cmd::ConfigArg;
use crate::cmd::remote::{Api, GatewayArg};
use std::process::ExitCode;
use warden_console::Redacted;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The leaf index
    index: u64,
    /// Why (recorded in the ledger, in the clear: do not repeat the redacted data here)
    #[arg(long)]
    reason: String,
    /// Your approver id from the config: redaction erases evidence, so it takes an approver
    #[arg(long = "as")]
    approver: String,
    /// Your approver token
    #[arg(long, env = "WARDEN_APPROVER_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// On whose request (recorded in the ledger, e.g. the data-protection officer)
    #[arg(long = "for")]
    requested_by: Option<String>,
    #[command(flatten)]
    config: ConfigArg,
    #[command(flatten)]
    gateway: GatewayArg,
}

pub async fn run(a: Args) -> anyhow::Result<ExitCode> {
    if a.reason.trim().is_empty() {
        anyhow::bail!("give a reason");
    }
    let redacted = if a.gateway.offline {
        offline(&a)?
    } else {
        let api = Api::new(&a.gateway, &a.config, &a.approver, a.token.as_deref())?;
        api.post(
            &["audit", "redact", &a.index.to_string()],
            &serde_json::json!({"reason": a.reason, "requested_by": a.requested_by}),
        )
        .await?
    };
    crate::output::say!(
        "redacted leaf {} ({}); recorded as leaf {}",
        a.index,
        redacted.removed.join(", "),
        redacted.recorded
    )?;
    Ok(ExitCode::SUCCESS)
}

/// The redaction written to the state directory directly (`--offline`).
fn offline(a: &Args) -> anyhow::Result<Redacted> {
    let (config, store) = super::open(&a.config)?;
    crate::cmd::check_approver(&config, &a.approver, a.token.as_deref())?;
    let size = store.ledger_size()?;
    if a.index >= size {
        anyhow::bail!("leaf {} does not exist (the ledger has {size})", a.index);
    }
    let ledger = crate::cmd::open_ledger(&config, store.clone())?;
    let redacted = warden_gateway::redaction::redact(
        store.as_ref(),
        ledger.as_ref(),
        a.index,
        &a.approver,
        &a.reason,
        a.requested_by.as_deref(),
        warden_gateway::pipeline::now_ms(),
    );
    warden_gateway::AuditLog::shutdown(ledger.as_ref())?;
    let r = redacted?;
    Ok(Redacted {
        removed: r.removed,
        recorded: r.recorded,
    })
}
