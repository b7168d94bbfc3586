//! `warden review verdict INDEX --correct|--wrong --note … --as ID`: a reviewer's judgement of
//! one decision, recorded in the ledger. Only a configured approver of the decision's category,
//! presenting their token, may give one (`warden_gateway::review::record_verdict`, which the
//! console's verdict form calls too). Asked of the running gateway's approvers' API unless
//! `--offline`.

use crate::cmd::ConfigArg;
use crate::cmd::remote::{Api, GatewayArg};
use std::process::ExitCode;
use std::sync::Arc;
use warden_console::DecisionView;
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
    #[command(flatten)]
    gateway: GatewayArg,
}

/// A recorded verdict, as the gateway answers it.
#[derive(serde::Deserialize)]
struct Recorded {
    /// The verdict's leaf.
    index: u64,
    decision: Option<DecisionView>,
}

pub async fn run(a: Args) -> anyhow::Result<ExitCode> {
    if a.note.trim().is_empty() {
        anyhow::bail!("give a note: what did you check?");
    }
    let judgement = if a.correct {
        Judgement::Correct
    } else {
        Judgement::Wrong
    };
    let (leaf, decision, tool, rule) = if a.gateway.offline {
        offline(&a, judgement)?
    } else {
        let api = Api::new(&a.gateway, &a.config, &a.reviewer, a.token.as_deref())?;
        let recorded: Recorded = api
            .post(
                &["review", &a.index.to_string()],
                &serde_json::json!({"verdict": judgement.as_str(), "note": a.note}),
            )
            .await?;
        let d = recorded.decision.unwrap_or_else(|| DecisionView {
            index: a.index,
            time_ms: 0,
            kind: String::new(),
            principal: String::new(),
            session: String::new(),
            tool: String::new(),
            decision: None,
            rule: None,
            owner: None,
            args: serde_json::Value::Null,
            detail: String::new(),
            category: None,
            steps: Vec::new(),
        });
        (
            recorded.index,
            d.decision.unwrap_or_default(),
            d.tool,
            d.rule.unwrap_or_default(),
        )
    };
    crate::output::say!(
        "leaf {leaf}: decision {} ({decision} {tool} by `{rule}`) judged {} by {}",
        a.index,
        judgement.as_str(),
        a.reviewer
    )?;
    Ok(ExitCode::SUCCESS)
}

/// The verdict written to the state directory directly (`--offline`): its leaf, and the
/// decision's outcome, tool and rule.
fn offline(a: &Args, judgement: Judgement) -> anyhow::Result<(u64, String, String, String)> {
    let config = crate::cmd::load_config(&a.config)?;
    crate::cmd::check_approver(&config, &a.reviewer, a.token.as_deref())?;
    let store = crate::cmd::open_store(&config.store)?;
    let audit = crate::cmd::open_ledger(&config, Arc::clone(&store))?;
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
    Ok((
        recorded.index,
        d.decision.clone().unwrap_or_default(),
        d.tool.clone().unwrap_or_default(),
        d.rule.clone().unwrap_or_default(),
    ))
}
