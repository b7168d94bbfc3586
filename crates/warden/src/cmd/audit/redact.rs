//! `warden audit redact`: erase the sensitive content of one leaf, on the record.

use crate::cmd::ConfigArg;
use anyhow::Context;
use serde_json::json;
use std::process::ExitCode;
use warden_core::{AuditEvent, EventKind};

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
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let (config, store) = super::open(&a.config)?;
    crate::cmd::check_approver(&config, &a.approver, a.token.as_deref())?;
    let size = store.ledger_size()?;
    if a.index >= size {
        anyhow::bail!("leaf {} does not exist (the ledger has {size})", a.index);
    }
    let fields: Vec<String> = store
        .ledger_sealed(a.index, a.index + 1)?
        .into_iter()
        .map(|(_, c)| c.field)
        .collect();
    if fields.is_empty() {
        anyhow::bail!(
            "leaf {} has no sealed content (nothing sensitive, or already redacted)",
            a.index
        );
    }
    let ledger = crate::cmd::open_ledger(&config, store.clone())?;
    // Recorded first: a redaction that happened is never missing from the log.
    let mut event = AuditEvent::new(EventKind::Redaction, warden_gateway::pipeline::now_ms());
    event.reason = Some(a.reason);
    event.detail = Some(json!({"index": a.index, "fields": fields, "by": a.approver,
                               "requested_by": a.requested_by}));
    let recorded = ledger
        .append(&event)
        .context("cannot record the redaction")?;
    let removed = store.ledger_redact(a.index)?;
    ledger.shutdown().context("cannot sign a checkpoint")?;
    crate::output::say!(
        "redacted leaf {} ({}); recorded as leaf {recorded}",
        a.index,
        removed.join(", ")
    )?;
    Ok(ExitCode::SUCCESS)
}
