//! `warden review sample`: a stratified random sample of decisions that anyone can re-derive.
//!
//! The checkpoint (the latest, or `--checkpoint SIZE`) is verified against the ledger's public
//! key; its size and root seed the draw, and only decisions inside it, in the window ending at
//! its time, are the population. Run it again with the same checkpoint and you get the same
//! sample.

use crate::cmd::ConfigArg;
use std::process::ExitCode;
use warden_gateway::review::{Population, sample, seed};
use warden_store::ledger::{public_key_path, read_verifier};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The window before the checkpoint, e.g. `7d` (default: `[review] every`)
    #[arg(long)]
    since: Option<String>,
    /// Decisions per stratum (default: `[review] size`)
    #[arg(long)]
    size: Option<u32>,
    /// Or this fraction of each stratum (default: `[review] rate`)
    #[arg(long)]
    rate: Option<f64>,
    /// Use the stored checkpoint of this size instead of the latest
    #[arg(long)]
    checkpoint: Option<u64>,
    /// One JSON object per sampled decision instead of text
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    config: ConfigArg,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let config = crate::cmd::load_config(&a.config)?;
    let store = crate::cmd::open_store(&config.store)?;
    let stored = match a.checkpoint {
        None => store.ledger_latest_checkpoint()?,
        Some(size) => store
            .ledger_checkpoints()?
            .into_iter()
            .find(|c| c.size == size),
    };
    let Some(stored) = stored else {
        anyhow::bail!("no such signed checkpoint yet (`warden audit checkpoint` shows the latest)");
    };
    let verifier = read_verifier(
        &public_key_path(&config.ledger.key_path)
            .display()
            .to_string(),
    )?;
    let signed = verifier
        .open(&stored.note)
        .map_err(|e| anyhow::anyhow!("the checkpoint does not verify: {e}"))?;
    let cp = signed.checkpoint();
    let window = match &a.since {
        Some(s) => warden_policy::parse_duration(s)
            .ok_or_else(|| anyhow::anyhow!("`{s}` is not a duration such as `7d`"))?,
        None => config.review.default.every,
    };
    let since = stored.time_ms - i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
    let population = Population {
        size: cp.size,
        since_ms: since,
        until_ms: stored.time_ms,
    };
    let seed = seed(cp.size, &cp.root.0);
    let size = a.size.unwrap_or(config.review.size);
    let rate = a.rate.or(config.review.rate);
    // Read a page at a time: what is held is the sample, not every decision.
    let drawn = sample(store.as_ref(), &population, &seed, size, rate)?;
    if !a.json {
        crate::output::say!(
            "checkpoint: size {} root {} signed {} ({})",
            cp.size,
            cp.root.to_hex(),
            super::when(stored.time_ms),
            cp.origin
        )?;
        crate::output::say!(
            "seed: sha256(\"warden review sample v1\\n\" || size || root) = {}",
            hex(&seed)
        )?;
        crate::output::say!(
            "population: {} decisions from {} to the checkpoint; {} per stratum",
            drawn.population,
            super::when(since),
            rate.map_or(format!("{size}"), |r| format!("{:.0}%", r * 100.0))
        )?;
    }
    for ((category, outcome), d) in &drawn.strata {
        if !a.json {
            crate::output::say!(
                "{category} / {outcome}: {} of {}",
                d.chosen.len(),
                d.population
            )?;
        }
        for i in &d.chosen {
            let Some(e) = drawn.chosen.get(i) else {
                continue;
            };
            let ev = &e.event;
            if a.json {
                let line = crate::output::json(&serde_json::json!({
                        "index": i, "category": category, "stratum": outcome,
                        "time_ms": ev.time_ms, "principal": ev.principal, "tool": ev.tool,
                        "decision": ev.decision, "rule": ev.rule, "owner": ev.owner,
                        "args": ev.args, "checkpoint_size": cp.size,
                }))?;
                crate::output::say!("{line}")?;
            } else {
                crate::output::say!(
                    "  #{i:<6} {}  {:<10} {:<24} {:<5} by {}",
                    super::when(ev.time_ms),
                    ev.principal.as_deref().unwrap_or_default(),
                    ev.tool.as_deref().unwrap_or_default(),
                    ev.decision.as_deref().unwrap_or_default(),
                    ev.rule.as_deref().unwrap_or_default(),
                )?;
            }
        }
    }
    if drawn.strata.values().all(|d| d.chosen.is_empty()) {
        // On stderr with --json: a pipe of JSON lines reads nothing.
        let none = "no decisions drawn: none were recorded in the window";
        if a.json {
            eprintln!("{none}");
        } else {
            crate::output::say!("{none}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
