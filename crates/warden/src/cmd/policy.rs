//! `warden policy check | test | schema`.

use super::ConfigArg;
use std::path::PathBuf;
use std::process::ExitCode;
use warden_policy::table;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Validate the config and its Cedar policies; every error is reported with its place
    Check(ConfigArg),
    /// Run table tests of (agent, tool, arguments) → expected decision
    Test {
        file: PathBuf,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Print the Cedar schema warden generates from the tool catalog
    Schema(ConfigArg),
}

pub async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Check(arg) => match super::load_config(&arg) {
            Ok(c) => {
                println!(
                    "ok: {} tools on {} servers, {} rules, {} agents; policy version {}",
                    c.tools.len(),
                    c.servers.len(),
                    c.engine.rule_count(),
                    c.agents.len(),
                    c.engine.version()
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("{e:#}");
                Ok(ExitCode::FAILURE)
            }
        },
        Command::Test { file, config } => {
            let config = super::load_config(&config)?;
            let text = std::fs::read_to_string(&file)
                .map_err(|e| anyhow::anyhow!("cannot read `{}`: {e}", file.display()))?;
            let results = table::run(&config, &text)?;
            let mut failed = 0;
            for r in &results {
                if r.passed {
                    println!("pass  {}", r.name);
                } else {
                    failed += 1;
                    println!(
                        "FAIL  {}: expected {}, got {} by `{}` ({})",
                        r.name, r.expected, r.got, r.rule, r.reason
                    );
                }
            }
            println!("{} passed, {} failed", results.len() - failed, failed);
            Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Schema(arg) => {
            let config = super::load_config(&arg)?;
            print!("{}", config.engine.schema_text());
            Ok(ExitCode::SUCCESS)
        }
    }
}
