//! `warden audit checkpoint`: the latest signed tree head, with the cosignature lines of the
//! tlog-witnesses that cosigned it.

use crate::cmd::ConfigArg;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    config: ConfigArg,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let (config, store) = super::open(&a.config)?;
    let Some(latest) = store.ledger_latest_checkpoint()? else {
        anyhow::bail!("the ledger has no checkpoint yet");
    };
    // Printed only once it verifies under the ledger's key (the pinned one when pinned): a
    // checkpoint is what others hold the log to, so one signed by another key is not vouched for.
    super::verifier(&config, None)?
        .open(&latest.note)
        .map_err(|e| anyhow::anyhow!("the latest checkpoint does not verify: {e}"))?;
    crate::output::print(&super::cosign(&config, &latest.note)?)?;
    Ok(ExitCode::SUCCESS)
}
