//! `warden approvals list`: calls held for a human.

use super::ConfigArg;
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// List held calls with their exact arguments
    List(ConfigArg),
}

pub async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::List(arg) => {
            let config = super::load_config(&arg)?;
            let store = super::open_store(&config.store_path)?;
            for p in store.pending()? {
                println!(
                    "{}  {}  {}  {}  {}  rule `{}`  {}",
                    p.id, p.status, p.principal, p.tool, p.args, p.rule, p.args_digest
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
