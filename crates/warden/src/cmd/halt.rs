//! `warden halt (--session A:S | --agent A | --category C | --global) --reason … --as ID` and
//! `warden halt list`: the kill switch.
//!
//! A halt is stored, so it survives restarts, and a running `warden serve` sharing the store
//! refuses calls in its scope within about a second. Setting one needs an approver's identity and
//! token (`--as ID`, `WARDEN_APPROVER_TOKEN`), like answering a held call, and is asked of the
//! running gateway's approvers' API; `--offline` writes the state directory directly.

use super::ConfigArg;
use super::remote::{Api, GatewayArg};
use crate::output::{self, Format, when};
use std::process::ExitCode;
use warden_gateway::clock::system_now_ms;
use warden_gateway::halt::{self, Scope};
use warden_store::Halt;

#[derive(clap::Args, Debug)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    group(clap::ArgGroup::new("scope").required(true).multiple(false))
)]
pub struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Halt one session of an agent
    #[arg(long, value_name = "AGENT:SESSION", group = "scope")]
    session: Option<String>,
    /// Halt every session of an agent
    #[arg(long, value_name = "AGENT", group = "scope")]
    agent: Option<String>,
    /// Halt every call to tools of a category
    #[arg(long, group = "scope")]
    category: Option<String>,
    /// Halt everything
    #[arg(long, group = "scope")]
    global: bool,
    /// Why (recorded in the audit log and shown to the agent)
    #[arg(long, required = true)]
    reason: Option<String>,
    /// Your approver id from the config
    #[arg(long = "as", required = true)]
    approver: Option<String>,
    /// Your approver token
    #[arg(long, env = "WARDEN_APPROVER_TOKEN", hide_env_values = true)]
    token: Option<String>,
    #[command(flatten)]
    config: ConfigArg,
    #[command(flatten)]
    gateway: GatewayArg,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    /// List the active halts
    List {
        #[command(flatten)]
        config: ConfigArg,
        #[command(flatten)]
        format: Format,
    },
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let Some(Command::List { config, format }) = args.command {
        let config = super::load_config(&config)?;
        let store = super::open_store(&config.store)?;
        // With the ledger key (when this user can read it), halts the ledger records count
        // too: the list shows what the gateway enforces.
        let ledger = super::open_ledger_if_readable(&config, store.clone())?;
        list(
            &warden_gateway::halt::active(
                store.as_ref(),
                ledger.as_deref(),
                &mut warden_gateway::halt::RecordedHalts::default(),
                Some(&warden_gateway::gate::credentials(&config)),
            )?,
            format,
            system_now_ms(),
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let scope = match (args.session, args.agent, args.category, args.global) {
        (Some(s), ..) => Scope::parse(&format!("session:{s}"))?,
        (_, Some(a), ..) => Scope::Agent(a),
        (_, _, Some(c), _) => Scope::Category(c),
        (.., true) => Scope::Global,
        _ => anyhow::bail!("give one of --session, --agent, --category or --global"),
    };
    let reason = args.reason.unwrap_or_default();
    let approver = args.approver.unwrap_or_default();
    let set = if args.gateway.offline {
        let config = super::load_config(&args.config)?;
        super::check_approver(&config, &approver, args.token.as_deref())?;
        scope.check(&config)?;
        let store = super::open_store(&config.store)?;
        let audit = super::open_ledger(&config, store.clone())?;
        let set = halt::set(
            store.as_ref(),
            audit.as_ref(),
            &scope,
            &approver,
            &reason,
            serde_json::json!({"cli": true}),
            warden_gateway::clock::system_now_ms(),
        );
        warden_gateway::AuditLog::shutdown(audit.as_ref())?;
        set?
    } else {
        if reason.trim().is_empty() {
            anyhow::bail!("give a reason");
        }
        let api = Api::new(
            &args.gateway,
            &args.config,
            &approver,
            args.token.as_deref(),
        )?;
        let set: Set = api
            .post(
                &["halt"],
                &serde_json::json!({"scope": scope.to_string(), "reason": reason}),
            )
            .await?;
        set.set
    };
    if set {
        crate::output::say!("{scope}: halted")?;
    } else {
        crate::output::say!("{scope}: already halted")?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The gateway's answer to a halt.
#[derive(serde::Deserialize)]
struct Set {
    /// `false`: the scope was already halted.
    set: bool,
}

/// The active halts, as of `now_ms`.
fn list(halts: &[Halt], format: Format, now_ms: i64) -> anyhow::Result<()> {
    output::listing(halts, format, "no active halts", |h| {
        format!(
            "{}  by {}  since {}  {}  evidence {}",
            h.scope,
            h.set_by,
            when(h.created_ms, now_ms),
            h.reason,
            h.evidence
        )
    })
}
