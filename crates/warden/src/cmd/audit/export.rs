//! `warden audit export`: the ledger as OCSF JSON lines for a SIEM.

use crate::cmd::ConfigArg;
use anyhow::Context;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use warden_core::ToolName;
use warden_gateway::audit::ocsf::{LeafRef, Source, record};
use warden_store::ledger::read_range;

#[derive(clap::ValueEnum, Debug, Clone, Copy)]
enum Format {
    /// OCSF 1.x: API Activity (6003) for decisions and outcomes, Detection Finding (2004) for
    /// findings
    Ocsf,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(long, value_enum)]
    format: Format,
    /// Write here instead of standard output
    #[arg(long)]
    out: Option<PathBuf>,
    /// Start at this leaf index (to resume an export)
    #[arg(long, default_value_t = 0)]
    from: u64,
    #[command(flatten)]
    config: ConfigArg,
}

const PAGE: usize = 4096;

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let (config, store) = super::open(&a.config)?;
    let Format::Ocsf = a.format;
    let mut out: Box<dyn Write> = match &a.out {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create `{}`", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let source = Source {
        log_name: &config.ledger.origin,
        product_version: env!("CARGO_PKG_VERSION"),
    };
    let mut next = a.from;
    loop {
        let page = read_range(store.as_ref(), next, PAGE)?;
        let Some(last) = page.last() else { break };
        next = last.index + 1;
        for entry in &page {
            let effect = entry
                .event
                .tool
                .as_deref()
                .and_then(ToolName::parse)
                .and_then(|t| config.tool(&t).map(|spec| spec.labels.effect));
            let r = record(
                &source,
                LeafRef {
                    index: entry.index,
                    leaf_hash: &entry.leaf_hash.to_hex(),
                    event: &entry.event,
                    effect,
                },
            );
            writeln!(out, "{r}")?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
