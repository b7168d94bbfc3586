//! `warden audit consistency`: proof that a later checkpoint extends an earlier one.

use crate::cmd::ConfigArg;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Size of the earlier checkpoint
    old: u64,
    /// Size of the later checkpoint
    new: u64,
    #[command(flatten)]
    config: ConfigArg,
    /// The ledger's verifier key or a file holding it (default: beside the signing key)
    #[arg(long)]
    key: Option<String>,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let (config, store) = super::open(&a.config)?;
    let verifier = super::verifier(&config, a.key.as_deref())?;
    let (old, new, proof) =
        warden_store::ledger::consistency(store.as_ref(), &verifier, a.old, a.new)?;
    crate::output::say!("old {}", old.size)?;
    for hash in &proof {
        crate::output::say!("{}", hash.to_base64())?;
    }
    crate::output::say!()?;
    crate::output::print(&new.note)?;
    eprintln!(
        "verified: the checkpoint of {} leaves extends the checkpoint of {} ({} proof hashes)",
        new.size,
        old.size,
        proof.len()
    );
    Ok(ExitCode::SUCCESS)
}
