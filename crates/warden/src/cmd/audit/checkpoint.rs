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
    crate::output::print(&super::cosign(&config, &latest.note)?)?;
    Ok(ExitCode::SUCCESS)
}
