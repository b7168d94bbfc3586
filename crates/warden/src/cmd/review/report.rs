//! `warden review report`: where each category's review stands.

use crate::cmd::ConfigArg;
use std::process::ExitCode;
use warden_gateway::pipeline::now_ms;
use warden_gateway::review::read_status;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The error rate to size the sample for (default: each category's tolerance)
    #[arg(long)]
    tolerance: Option<f64>,
    #[command(flatten)]
    config: ConfigArg,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let config = crate::cmd::load_config(&a.config)?;
    let store = crate::cmd::open_store(&config.store)?;
    let now = now_ms();
    // With the ledger key (when this user can read it) the report counts what the gateway
    // counts: only verdicts warden's writers appended.
    let ledger = crate::cmd::open_ledger_if_readable(&config, store.clone())?;
    let statuses = read_status(
        store.as_ref(),
        ledger.as_deref(),
        &config.review,
        &super::categories(&config),
        now,
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let pct = |x: f64| format!("{:.1}%", x * 100.0);
    crate::output::say!(
        "{:<14} {:>8} {:>5} {:>6}  {:<17} {:>9} {:>6}  {:<21} status",
        "category",
        "reviewed",
        "wrong",
        "error",
        "95% interval",
        "tolerance",
        "needed",
        "next review due"
    )?;
    for s in &statuses {
        let tolerance = a.tolerance.unwrap_or(s.tolerance);
        let rate = if s.reviewed == 0 {
            0.0
        } else {
            s.wrong as f64 / s.reviewed as f64
        };
        let needed = warden_gateway::review::needed_sample(rate, tolerance)
            .map_or("—".to_string(), |n| n.to_string());
        let interval = s.interval.map_or("—".to_string(), |i| {
            format!("[{}, {}]", pct(i.low), pct(i.high))
        });
        let mut state = Vec::new();
        if s.overdue {
            state.push("OVERDUE".to_string());
        }
        if s.over_tolerance {
            match warden_gateway::review::needed_sample(rate, s.tolerance) {
                // The rate seen is fine; the sample is too small to show it.
                Some(n) => state.push(format!(
                    "bound over tolerance: review {} more",
                    n.saturating_sub(s.reviewed)
                )),
                None => state.push("error rate over tolerance".to_string()),
            }
        }
        if state.is_empty() {
            state.push("ok".to_string());
        }
        if s.tightened() {
            state.push("→ allowed calls need approval".to_string());
        }
        crate::output::say!(
            "{:<14} {:>8} {:>5} {:>6}  {:<17} {:>9} {:>6}  {:<21} {}",
            s.category,
            s.reviewed,
            s.wrong,
            if s.reviewed == 0 {
                "—".to_string()
            } else {
                pct(rate)
            },
            interval,
            pct(tolerance),
            needed,
            super::when(s.due_ms),
            state.join(", ")
        )?;
    }
    let overdue: Vec<&str> = statuses
        .iter()
        .filter(|s| s.overdue)
        .map(|s| s.category.as_str())
        .collect();
    if overdue.is_empty() {
        crate::output::say!("no review is overdue")?;
    } else {
        crate::output::say!("overdue: {}", overdue.join(", "))?;
    }
    Ok(ExitCode::SUCCESS)
}
