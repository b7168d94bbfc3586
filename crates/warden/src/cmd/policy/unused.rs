//! `warden policy unused --days N`: permissions nobody used in the ledger window — candidates
//! to remove. A permission is a permit rule or grant, and each (agent, tool) that the policy
//! lets through in some evaluated situation.

use crate::cmd::ConfigArg;
use std::collections::BTreeSet;
use std::process::ExitCode;
use warden_core::EventKind;
use warden_gateway::pipeline::now_ms;
use warden_store::EventFilter;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The window: decisions of the last N days
    #[arg(long, default_value_t = 30)]
    days: u64,
    #[command(flatten)]
    config: ConfigArg,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = crate::cmd::load_config(&args.config)?;
    let store = crate::cmd::open_store(&config.store)?;
    let now = now_ms();
    let since = now - i64::try_from(args.days.saturating_mul(86_400_000)).unwrap_or(i64::MAX);
    let events = warden_store::ledger::read_events(
        store.as_ref(),
        &EventFilter {
            kind: Some(EventKind::Decision.as_str().into()),
            since_ms: Some(since),
            ..EventFilter::default()
        },
    )?;
    let mut used_rules = BTreeSet::new();
    let mut used_pairs = BTreeSet::new();
    for e in &events {
        let e = &e.event;
        if matches!(e.decision.as_deref(), Some("allow" | "hold")) {
            used_rules.insert(e.rule.clone().unwrap_or_default());
            if let Some(p) = e
                .detail
                .as_ref()
                .and_then(|d| d.get("permitted_by"))
                .and_then(|v| v.as_str())
            {
                used_rules.insert(p.to_string());
            }
            used_pairs.insert((
                e.principal.clone().unwrap_or_default(),
                e.tool.clone().unwrap_or_default(),
            ));
        }
    }
    let permissions = warden_policy::diff::permissions(&config, now / 1000);
    crate::output::say!(
        "last {} days: {} decisions in the ledger",
        args.days,
        events.len()
    )?;
    crate::output::say!("permit rules and grants that decided nothing:")?;
    let mut unused_rules = 0;
    for (id, permit, _) in config.engine.rules() {
        if permit && !used_rules.contains(id) {
            unused_rules += 1;
            crate::output::say!("  {id}")?;
        }
    }
    crate::output::say!("agents' permitted tools never called (allowed or held):")?;
    let mut unused_pairs = 0;
    for ((principal, tool), rules) in &permissions {
        if !used_pairs.contains(&(principal.0.clone(), tool.to_string())) {
            unused_pairs += 1;
            let rules: Vec<&str> = rules.iter().map(String::as_str).collect();
            crate::output::say!("  {principal:<12} {tool:<24} by {}", rules.join(", "))?;
        }
    }
    crate::output::say!(
        "{unused_rules} unused rules, {unused_pairs} unused agent × tool permissions of {}",
        permissions.len()
    )?;
    Ok(ExitCode::SUCCESS)
}
