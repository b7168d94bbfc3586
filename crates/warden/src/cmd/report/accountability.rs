//! `warden report accountability --since 7d`: every decision with its owner, its rule, the
//! humans who answered it and the review verdicts on it.

use crate::cmd::ConfigArg;
use std::collections::BTreeMap;
use std::process::ExitCode;
use warden_core::EventKind;
use warden_gateway::pipeline::now_ms;
use warden_store::EventFilter;
use warden_store::ledger::read_events;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The window, e.g. `7d` or `12h`
    #[arg(long, default_value = "7d")]
    since: String,
    /// Only decisions with this outcome (`allow`, `hold`, `deny`)
    #[arg(long)]
    decision: Option<String>,
    /// JSON lines instead of text
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    config: ConfigArg,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let config = crate::cmd::load_config(&a.config)?;
    let store = crate::cmd::open_store(&config.store)?;
    let window = warden_policy::parse_duration(&a.since)
        .ok_or_else(|| anyhow::anyhow!("`{}` is not a duration such as `7d`", a.since))?;
    let since = now_ms() - i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
    let of = |kind: EventKind| {
        read_events(
            store.as_ref(),
            &EventFilter {
                kind: Some(kind.as_str().into()),
                since_ms: (kind == EventKind::Decision).then_some(since),
                decision: if kind == EventKind::Decision {
                    a.decision.clone()
                } else {
                    None
                },
                ..EventFilter::default()
            },
        )
    };
    let decisions = of(EventKind::Decision)?;
    // Who answered each held request, in order.
    let mut answers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in of(EventKind::Approval)? {
        let d = e.event.detail.clone().unwrap_or_default();
        let step = d.get("step").and_then(|s| s.as_str()).unwrap_or_default();
        let who = d.get("approver").and_then(|s| s.as_str());
        if let (Some(id), Some(who), "approved" | "denied") = (&e.event.request_id, who, step) {
            answers
                .entry(id.clone())
                .or_default()
                .push(format!("{step} by {who}"));
        }
    }
    let mut reviews: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for v in of(EventKind::ReviewVerdict)?
        .iter()
        .filter_map(warden_gateway::review::Verdict::from_entry)
    {
        reviews.entry(v.decision_index).or_default().push(format!(
            "{} by {} at leaf {} ({})",
            if v.correct { "correct" } else { "WRONG" },
            v.reviewer,
            v.index,
            v.note
        ));
    }
    let mut by_owner: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for e in &decisions {
        let ev = &e.event;
        let owner = ev.owner.clone().unwrap_or_default();
        let approved = ev
            .request_id
            .as_ref()
            .and_then(|r| answers.get(r))
            .cloned()
            .unwrap_or_default();
        let reviewed = reviews.get(&e.index).cloned().unwrap_or_default();
        let o = by_owner.entry(owner.clone()).or_default();
        o.0 += 1;
        o.1 += u64::from(!reviewed.is_empty());
        if a.json {
            crate::output::say!(
                "{}",
                serde_json::json!({
                    "index": e.index, "time_ms": ev.time_ms, "principal": ev.principal,
                    "tool": ev.tool, "decision": ev.decision, "rule": ev.rule,
                    "owner": owner, "category": ev.category, "request_id": ev.request_id,
                    "answers": approved, "reviews": reviewed,
                    "policy_version": ev.policy_version,
                })
            )?;
            continue;
        }
        crate::output::say!(
            "#{:<6} {}  {:<10} {:<24} {:<5} rule {} · owner {}",
            e.index,
            crate::cmd::review::when(ev.time_ms),
            ev.principal.as_deref().unwrap_or_default(),
            ev.tool.as_deref().unwrap_or_default(),
            ev.decision.as_deref().unwrap_or_default(),
            ev.rule.as_deref().unwrap_or_default(),
            owner
        )?;
        if !approved.is_empty() {
            crate::output::say!("        answered: {}", approved.join("; "))?;
        }
        for r in &reviewed {
            crate::output::say!("        review: {r}")?;
        }
    }
    if a.json && decisions.is_empty() {
        // Said on stderr: a pipe of JSON lines reads nothing.
        eprintln!("no decisions since {}", crate::cmd::review::when(since));
    }
    if !a.json {
        crate::output::say!(
            "{} decisions since {}",
            decisions.len(),
            crate::cmd::review::when(since)
        )?;
        for (owner, (n, reviewed)) in &by_owner {
            crate::output::say!("  {owner:<40} {n:>5} decisions, {reviewed} reviewed")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
