//! `warden audit show`: the events behind an incident review.

use super::ConfigArg;
use std::process::ExitCode;
use warden_store::EventFilter;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// List events, oldest first, as JSON lines
    Show {
        #[command(flatten)]
        config: ConfigArg,
        #[arg(long)]
        session: Option<String>,
        #[arg(long)]
        principal: Option<String>,
        #[arg(long)]
        tool: Option<String>,
        /// allow, hold or deny
        #[arg(long)]
        decision: Option<String>,
        /// Only events at or after this time (milliseconds since the Unix epoch)
        #[arg(long)]
        since_ms: Option<i64>,
        #[arg(long)]
        limit: Option<usize>,
    },
}

pub async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Show {
            config,
            session,
            principal,
            tool,
            decision,
            since_ms,
            limit,
        } => {
            let config = super::load_config(&config)?;
            let store = super::open_store(&config.store_path)?;
            let events = store.events(&EventFilter {
                session,
                principal,
                tool,
                decision,
                since_ms,
                until_ms: None,
                limit,
            })?;
            for (seq, e) in events {
                let mut v = serde_json::to_value(&e)?;
                if let Some(o) = v.as_object_mut() {
                    o.insert("index".into(), seq.into());
                }
                println!("{v}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
