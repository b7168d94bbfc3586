//! `warden audit prove`: an inclusion receipt for one leaf; its checkpoint carries the
//! cosignatures the tlog-witnesses made on it.

use crate::cmd::ConfigArg;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The leaf index
    index: u64,
    #[command(flatten)]
    config: ConfigArg,
    /// The ledger's verifier key or a file holding it (default: beside the signing key)
    #[arg(long)]
    key: Option<String>,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let (config, store) = super::open(&a.config)?;
    let verifier = super::verifier(&config, a.key.as_deref())?;
    let mut proof = warden_store::ledger::prove(store.as_ref(), &verifier, a.index)?;
    proof.checkpoint = super::cosign(&config, &proof.checkpoint)?;
    crate::output::print(&proof.to_text())?;
    Ok(ExitCode::SUCCESS)
}
