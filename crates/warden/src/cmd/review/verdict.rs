//! `warden review verdict INDEX --correct|--wrong --note … --as ID`: a reviewer's judgement of
//! one decision, recorded in the ledger. Only a configured approver of the decision's category,
//! presenting their token, may give one.

use crate::cmd::ConfigArg;
use serde_json::json;
use std::process::ExitCode;
use warden_core::{AuditEvent, EventKind};
use warden_gateway::pipeline::now_ms;
use warden_store::ledger::read_range;

#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("verdict").required(true).args(["correct", "wrong"])))]
pub struct Args {
    /// The decision's leaf index (from `warden review sample`)
    index: u64,
    /// The decision was right
    #[arg(long)]
    correct: bool,
    /// The decision was wrong (too strict or too loose): say how in the note
    #[arg(long)]
    wrong: bool,
    /// What the reviewer saw (recorded)
    #[arg(long)]
    note: String,
    /// Your approver id from the config
    #[arg(long = "as")]
    reviewer: String,
    /// Your approver token
    #[arg(long, env = "WARDEN_APPROVER_TOKEN", hide_env_values = true)]
    token: Option<String>,
    #[command(flatten)]
    config: ConfigArg,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let config = crate::cmd::load_config(&a.config)?;
    crate::cmd::check_approver(&config, &a.reviewer, a.token.as_deref())?;
    if a.note.trim().is_empty() {
        anyhow::bail!("give a note: what did you check?");
    }
    let store = crate::cmd::open_store(&config.store)?;
    let Some(entry) = read_range(store.as_ref(), a.index, 1)?
        .into_iter()
        .find(|e| e.index == a.index)
    else {
        anyhow::bail!("the ledger has no leaf {}", a.index);
    };
    let d = &entry.event;
    if d.kind != Some(EventKind::Decision) {
        anyhow::bail!(
            "leaf {} is a `{}` event, not a decision",
            a.index,
            d.kind.map_or("unknown", EventKind::as_str)
        );
    }
    let category = d.category.clone().unwrap_or_default();
    let may = config
        .approvals
        .approvers
        .iter()
        .find(|x| x.id == a.reviewer)
        .is_some_and(|x| x.categories.iter().any(|c| c == "*" || *c == category));
    if !may {
        anyhow::bail!("`{}` does not review category `{category}`", a.reviewer);
    }
    let verdict = if a.correct { "correct" } else { "wrong" };
    let mut ev = AuditEvent::new(EventKind::ReviewVerdict, now_ms());
    ev.principal = d.principal.clone();
    ev.session = d.session.clone();
    ev.tool = d.tool.clone();
    ev.decision = d.decision.clone();
    ev.rule = d.rule.clone();
    ev.owner = d.owner.clone();
    ev.category = d.category.clone();
    ev.policy_version = d.policy_version.clone();
    ev.reason = Some(a.note.trim().to_string());
    ev.detail = Some(json!({
        "decision_index": a.index,
        "verdict": verdict,
        "note": a.note.trim(),
        "reviewer": a.reviewer,
    }));
    let audit = crate::cmd::open_ledger(&config, store)?;
    let index = warden_gateway::AuditLog::append(audit.as_ref(), &ev)?;
    warden_gateway::AuditLog::shutdown(audit.as_ref())?;
    println!(
        "leaf {index}: decision {} ({} {} by `{}`) judged {verdict} by {}",
        a.index,
        d.decision.as_deref().unwrap_or_default(),
        d.tool.as_deref().unwrap_or_default(),
        d.rule.as_deref().unwrap_or_default(),
        a.reviewer
    );
    Ok(ExitCode::SUCCESS)
}
