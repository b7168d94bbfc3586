//! `warden audit verify`: the offline audit of a stored ledger.

use crate::cmd::ConfigArg;
use std::process::ExitCode;
use warden_store::ledger::verify_store;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    config: ConfigArg,
    /// The ledger's verifier key (`<name>+<id>+<key>`) or a file holding it; default the
    /// `.pub` file beside the configured signing key
    #[arg(long)]
    key: Option<String>,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let (config, store) = super::open(&a.config)?;
    let verifier = super::verifier(&config, a.key.as_deref())?;
    let started = std::time::Instant::now();
    let report = verify_store(store.as_ref(), &verifier)?;
    // The gate's own record: every executed request had the approvals it asked for.
    let unapproved = warden_gateway::gate::unapproved_executions(store.as_ref())?;
    let log = &report.log;
    let latest = log.latest_checkpoint.as_ref().map_or_else(
        || "no checkpoint".to_owned(),
        |c| format!("latest checkpoint {} (root {})", c.size, c.root.to_base64()),
    );
    let summary = format!(
        "{} leaves, {} checkpoints, {latest}, {} leaves not yet checkpointed; \
         {} sealed values match their commitments ({:.2?})",
        log.leaves,
        log.checkpoints,
        log.unsigned_leaves(),
        report.sealed_checked,
        started.elapsed()
    );
    if report.is_clean() && unapproved.is_empty() {
        println!("ok: {summary}");
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(finding) = &log.finding {
        println!("FAILED: {finding}");
    }
    if let Some(finding) = &report.content {
        println!("FAILED: {finding}");
    }
    for finding in &unapproved {
        println!("FAILED: {finding}");
    }
    println!("checked before the problem: {summary}");
    Ok(ExitCode::FAILURE)
}
