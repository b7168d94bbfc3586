//! `warden tools list | pin`.

use super::ConfigArg;
use std::process::ExitCode;
use warden_gateway::catalog::Status;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Show each configured tool, its labels and whether agents can use it
    List(ConfigArg),
    /// Re-approve every tool's current upstream definition (after reviewing the change)
    Pin {
        #[command(flatten)]
        config: ConfigArg,
        /// Who reviewed the definitions (recorded in the audit log)
        #[arg(long)]
        by: String,
    },
}

pub async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::List(arg) => {
            let gateway = super::start(&arg).await?;
            for e in gateway.catalog.entries() {
                let l = &e.spec.labels;
                let status = match &e.status {
                    Status::Available => "available".to_string(),
                    Status::Missing => "missing upstream".to_string(),
                    Status::Flagged { summary } => {
                        format!("WITHHELD: description flagged by the injection screen ({summary})")
                    }
                    Status::Withheld { pinned, seen } => {
                        format!("WITHHELD: definition changed (pinned {pinned}, now {seen})")
                    }
                };
                println!(
                    "{:<28} {:<5} {:<12} {:<8} {:<13} {}",
                    e.spec.name.to_string(),
                    l.effect.as_str(),
                    if l.reversible {
                        "reversible"
                    } else {
                        "irreversible"
                    },
                    l.stakes.as_str(),
                    l.category,
                    status
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Pin { config, by } => {
            let gateway = super::start(&config).await?;
            let mut failed = false;
            for (name, r) in gateway.pin_all(&by).await {
                match r {
                    Ok(digest) => println!("pinned {name} {digest}"),
                    Err(e) => {
                        failed = true;
                        println!("cannot pin {name}: {e}");
                    }
                }
            }
            Ok(if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}
