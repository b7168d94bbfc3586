//! `warden review verdict INDEX --correct|--wrong --note … --as ID`: a reviewer's judgement of
//! one decision, recorded in the ledger. Only a configured approver of the decision's category,
//! presenting their token, may give one (`warden_gateway::review::record_verdict`, which the
//! console's verdict form calls too).

use crate::cmd::ConfigArg;
use std::process::ExitCode;
use std::sync::Arc;
use warden_core::Judgement;
use warden_gateway::pipeline::now_ms;
use warden_gateway::review::record_verdict;

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
    let audit = crate::cmd::open_ledger(&config, Arc::clone(&store))?;
    let judgement = if a.correct {
        Judgement::Correct
    } else {
        Judgement::Wrong
    };
    // The same rules as the console's verdict form: `record_verdict` holds them.
    let recorded = record_verdict(
        store.as_ref(),
        audit.as_ref(),
        &config,
        a.index,
        &a.reviewer,
        judgement,
        &a.note,
        now_ms(),
    );
    warden_gateway::AuditLog::shutdown(audit.as_ref())?;
    let recorded = recorded?;
    let d = &recorded.decision.event;
    crate::output::say!(
        "leaf {}: decision {} ({} {} by `{}`) judged {} by {}",
        recorded.index,
        a.index,
        d.decision.as_deref().unwrap_or_default(),
        d.tool.as_deref().unwrap_or_default(),
        d.rule.as_deref().unwrap_or_default(),
        judgement.as_str(),
        a.reviewer
    )?;
    Ok(ExitCode::SUCCESS)
}
