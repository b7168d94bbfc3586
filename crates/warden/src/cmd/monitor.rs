//! `warden monitor baseline AGENT`: what the anomaly monitor counts as normal for an agent —
//! the categories and tools of its allowed calls over `monitor.new_category.baseline_days`, and
//! its call rate — read from the ledger.

use super::ConfigArg;
use std::collections::BTreeMap;
use std::process::ExitCode;
use warden_core::EventKind;
use warden_gateway::pipeline::now_ms;
use warden_store::EventFilter;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Print an agent's baseline: categories and tools used, call rate
    Baseline {
        agent: String,
        #[command(flatten)]
        config: ConfigArg,
    },
}

pub async fn run(command: Command) -> anyhow::Result<ExitCode> {
    let Command::Baseline { agent, config } = command;
    let config = super::load_config(&config)?;
    let store = super::open_store(&config.store)?;
    let days = config.monitor.new_category.baseline_days;
    let now = now_ms();
    let since = now - i64::try_from(days.saturating_mul(86_400_000)).unwrap_or(i64::MAX);
    let events = warden_store::ledger::read_events(
        store.as_ref(),
        &EventFilter {
            kind: Some(EventKind::Decision.as_str().into()),
            principal: Some(agent.clone()),
            since_ms: Some(since),
            ..EventFilter::default()
        },
    )?;
    let mut categories: BTreeMap<String, u64> = BTreeMap::new();
    let mut tools: BTreeMap<String, u64> = BTreeMap::new();
    let mut per_minute: BTreeMap<i64, u64> = BTreeMap::new();
    let mut decisions: BTreeMap<String, u64> = BTreeMap::new();
    for e in &events {
        let e = &e.event;
        *per_minute.entry(e.time_ms / 60_000).or_default() += 1;
        *decisions
            .entry(e.decision.clone().unwrap_or_default())
            .or_default() += 1;
        if e.decision.as_deref() == Some("allow") {
            *categories
                .entry(e.category.clone().unwrap_or_default())
                .or_default() += 1;
            *tools.entry(e.tool.clone().unwrap_or_default()).or_default() += 1;
        }
    }
    crate::output::say!(
        "agent `{agent}`, last {days} days: {} decisions",
        events.len()
    )?;
    if categories.is_empty() {
        crate::output::say!("no baseline yet: the new-category trigger is skipped for this agent")?;
    }
    crate::output::say!("decisions:")?;
    for (d, n) in &decisions {
        crate::output::say!("  {d:<10} {n}")?;
    }
    crate::output::say!("categories (allowed calls):")?;
    for (c, n) in &categories {
        crate::output::say!("  {c:<16} {n}")?;
    }
    crate::output::say!("tools (allowed calls):")?;
    for (t, n) in &tools {
        crate::output::say!("  {t:<28} {n}")?;
    }
    let active = per_minute.len();
    let peak = per_minute.values().max().copied().unwrap_or(0);
    let mean = if active == 0 {
        0.0
    } else {
        events.len() as f64 / active as f64
    };
    crate::output::say!(
        "call rate: {mean:.1} per active minute on average, peak {peak} per minute \
         ({active} active minutes; halt above {})",
        config.monitor.rate.per_minute
    )?;
    Ok(ExitCode::SUCCESS)
}
