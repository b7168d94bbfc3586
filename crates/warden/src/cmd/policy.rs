//! `warden policy check | test | schema | diff | unused | shadow-report`.

mod claude_settings;
mod diff;
mod shadow_report;
mod unused;

use super::ConfigArg;
use std::path::PathBuf;
use std::process::ExitCode;
use warden_policy::table;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Validate the config and its Cedar policies; every error is reported with its place
    Check(CheckArgs),
    /// Run table tests of (agent, tool, arguments) → expected decision
    Test {
        file: PathBuf,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Print the Cedar schema warden generates from the tool catalog
    Schema(ConfigArg),
    /// List every way config NEW permits more than config OLD; exits non-zero when an
    /// expansion lacks a justification
    Diff(diff::Args),
    /// List permissions (rules, grants, agent × tool) not used in the ledger window
    Unused(unused::Args),
    /// Where the shadow policy set decided differently from the enforced one
    ShadowReport(shadow_report::Args),
}

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// A Claude Code settings file whose hooks send to this warden: warns where it does not
    /// pin what the hooks rely on (every tool, the binary's absolute path and `|| exit 2`,
    /// `onFailure`, this warden's address, the token from the environment, bash)
    #[arg(long, value_name = "FILE")]
    claude_settings: Vec<PathBuf>,
    /// Exit non-zero on any warning
    #[arg(long)]
    strict: bool,
}

pub async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Check(args) => match super::load_config(&args.config) {
            Ok(c) => {
                crate::output::say!(
                    "ok: {} tools on {} servers, {} rules, {} agents, {} grants, {} autonomy grants; policy version {}",
                    c.tools.len(),
                    c.servers.len(),
                    c.engine.rule_count(),
                    c.agents.len(),
                    c.grants.iter().filter(|g| !g.is_autonomy()).count(),
                    c.grants.iter().filter(|g| g.is_autonomy()).count(),
                    c.engine.version()
                )?;
                let now = warden_gateway::pipeline::now_ms() / 1000;
                for g in c.grants.iter().filter(|g| !g.is_autonomy()) {
                    let state = if g.expires <= now {
                        "EXPIRED"
                    } else {
                        "active"
                    };
                    crate::output::say!(
                        "grant {}: {} may call {} until {} ({state}; approved by {})",
                        g.id,
                        g.agent,
                        g.tools
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", "),
                        g.expires_text,
                        g.approver
                    )?;
                }
                print_floor(&c, now)?;
                print_budgets(&c)?;
                if let Some(shadow) = &c.shadow {
                    crate::output::say!(
                        "shadow policy: {} rules, version {} (recorded, never enforced)",
                        shadow.rule_count(),
                        shadow.version()
                    )?;
                }
                let mut warned = 0;
                for door in c.engine.cheaper_doors() {
                    eprintln!("warning: {door}");
                    warned += 1;
                }
                for file in &args.claude_settings {
                    let text = std::fs::read_to_string(file)
                        .map_err(|e| anyhow::anyhow!("cannot read `{}`: {e}", file.display()))?;
                    let settings: serde_json::Value = serde_json::from_str(&text)
                        .map_err(|e| anyhow::anyhow!("`{}` is not JSON: {e}", file.display()))?;
                    for w in claude_settings::warnings(&settings, c.gateway.listen) {
                        eprintln!("warning: {}: {w}", file.display());
                        warned += 1;
                    }
                }
                if warned > 0 && args.strict {
                    eprintln!("{warned} warnings (`--strict`)");
                    return Ok(ExitCode::FAILURE);
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("{e:#}");
                Ok(ExitCode::FAILURE)
            }
        },
        Command::Test { file, config } => {
            let config = super::load_config(&config)?;
            let text = std::fs::read_to_string(&file)
                .map_err(|e| anyhow::anyhow!("cannot read `{}`: {e}", file.display()))?;
            let results = table::run(&config, &text)?;
            let mut failed = 0;
            for r in &results {
                if r.passed {
                    crate::output::say!("pass  {}", r.name)?;
                } else {
                    failed += 1;
                    crate::output::say!(
                        "FAIL  {}: expected {}, got {} by `{}` ({})",
                        r.name,
                        r.expected,
                        r.got,
                        r.rule,
                        r.reason
                    )?;
                }
            }
            crate::output::say!("{} passed, {} failed", results.len() - failed, failed)?;
            Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Schema(arg) => {
            let config = super::load_config(&arg)?;
            crate::output::print(config.engine.schema_text())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Diff(a) => diff::run(a),
        Command::Unused(a) => unused::run(a),
        Command::ShadowReport(a) => shadow_report::run(a),
    }
}

/// Every path by which a write the floor holds can run without a human: the autonomy grants
/// that cover it (nothing else can lift the floor).
fn print_floor(c: &warden_policy::Config, now: i64) -> anyhow::Result<()> {
    crate::output::say!(
        "floor: writes held for a human whatever the policy permits, and what may run them unattended:"
    )?;
    for (name, _) in c.tools.iter() {
        let Some(label) = c.engine.floor(name) else {
            continue;
        };
        let lifts: Vec<&warden_policy::Grant> = c
            .grants
            .iter()
            .filter(|g| g.is_autonomy() && g.tools.contains(name))
            .collect();
        if lifts.is_empty() {
            crate::output::say!("  {name} ({}): always held", label.as_str())?;
            continue;
        }
        crate::output::say!("  {name} ({}): held, except:", label.as_str())?;
        for g in lifts {
            let owner = match &g.kind {
                warden_policy::GrantKind::Autonomy { owner } => owner.as_str(),
                warden_policy::GrantKind::Permission { .. } => "",
            };
            let state = if g.expires <= now {
                "EXPIRED"
            } else {
                "active"
            };
            crate::output::say!(
                "    autonomy grant {}: agent {} when {} — until {} ({state}; approved by {}, owned by {owner})",
                g.id,
                g.agent,
                g.when.as_deref().unwrap_or("always"),
                g.expires_text,
                g.approver,
            )?;
        }
    }
    Ok(())
}

/// The budgets in force, the floor's defaults among them.
fn print_budgets(c: &warden_policy::Config) -> anyhow::Result<()> {
    crate::output::say!("budgets:")?;
    for b in &c.budgets {
        let per = match b.per {
            warden_policy::BudgetScope::Agent => "agent",
            warden_policy::BudgetScope::Session => "session",
        };
        crate::output::say!(
            "  {}: {} calls per {per} per {} s of {}{}",
            b.id,
            b.limit,
            b.window.as_secs(),
            b.tools
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            if b.default { " (floor default)" } else { "" }
        )?;
    }
    Ok(())
}
