//! `warden report`: answers for auditors, from the ledger.

mod accountability;

use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// For each decision: who was responsible, which rule decided, who approved, which review
    /// covered it
    Accountability(accountability::Args),
}

pub async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Accountability(a) => accountability::run(a),
    }
}
