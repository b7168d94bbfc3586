//! `warden policy shadow-report`: where the shadow policy set disagreed with the enforced one.

use crate::cmd::ConfigArg;
use std::collections::BTreeMap;
use std::process::ExitCode;
use warden_core::EventKind;
use warden_gateway::pipeline::now_ms;
use warden_store::EventFilter;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The window, e.g. `7d` or `12h`
    #[arg(long, default_value = "7d")]
    since: String,
    #[command(flatten)]
    config: ConfigArg,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = crate::cmd::load_config(&args.config)?;
    let store = crate::cmd::open_store(&config.store)?;
    let window = warden_policy::parse_duration(&args.since)
        .ok_or_else(|| anyhow::anyhow!("`{}` is not a duration such as `7d`", args.since))?;
    let since = now_ms() - i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
    let events = warden_store::ledger::read_events(
        store.as_ref(),
        &EventFilter {
            kind: Some(EventKind::ShadowDiff.as_str().into()),
            since_ms: Some(since),
            ..EventFilter::default()
        },
    )?;
    let mut groups: BTreeMap<(String, String, String), (u64, u64)> = BTreeMap::new();
    for e in &events {
        let d = e.event.detail.clone().unwrap_or_default();
        let text = |k: &str| d.get(k).and_then(|v| v.as_str()).unwrap_or("?").to_string();
        let key = (
            e.event.tool.clone().unwrap_or_default(),
            format!("{} by {}", text("enforced"), text("enforced_rule")),
            format!("{} by {}", text("shadow"), text("shadow_rule")),
        );
        let g = groups.entry(key).or_insert((0, e.index));
        g.0 += 1;
    }
    match &config.shadow {
        Some(s) => crate::output::say!("shadow policy version {}", s.version()),
        None => crate::output::say!("no shadow policy configured now ([policy] shadow)"),
    }?;
    crate::output::say!("{} differences in the last {}:", events.len(), args.since)?;
    for ((tool, enforced, shadow), (n, first)) in &groups {
        crate::output::say!(
            "  {n:>5}  {tool:<24} enforced {enforced:<40} shadow {shadow}  (first: leaf {first})"
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
