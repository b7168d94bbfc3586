//! `warden policy diff OLD NEW`: every expansion of NEW over OLD, found by evaluating both.

use std::path::PathBuf;
use std::process::ExitCode;
use warden_policy::Config;
use warden_policy::diff::diff;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The configuration in force
    old: PathBuf,
    /// The proposed configuration
    new: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let load = |p: &PathBuf| Config::load(p).map_err(|e| anyhow::anyhow!("`{}`: {e}", p.display()));
    let (old, new) = (load(&args.old)?, load(&args.new)?);
    let now = warden_gateway::pipeline::now_ms() / 1000;
    let report = diff(&old, &new, now);
    crate::output::say!(
        "{} situations evaluated (agents × tools × representative arguments, clean and tainted, now and before each grant expires)",
        report.situations
    )?;
    for e in &report.expansions {
        crate::output::say!("expansion {e}")?;
        if let Some(x) = &e.example {
            crate::output::say!("    e.g. {x}")?;
        }
        match &e.justification {
            Some(j) => crate::output::say!("    justified: {j}"),
            None => crate::output::say!(
                "    NOT JUSTIFIED: give the deciding rule a new @justification(\"…\") (a budget: a new `justification`)"
            ),
        }?;
    }
    let unjustified = report.unjustified().count();
    crate::output::say!(
        "{} expansions ({unjustified} without justification); {} situations tightened",
        report.expansions.len(),
        report.tightened
    )?;
    Ok(if unjustified == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
