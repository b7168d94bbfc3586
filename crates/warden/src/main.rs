//! The `warden` command: the gateway, and the tools to run it.
//!
//! One file per subcommand under `cmd/`. This binary is the only place that uses `anyhow`;
//! libraries return typed errors.

mod cmd;
mod embedded;
mod logfmt;
mod output;
#[cfg(feature = "otlp")]
mod traces;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "warden",
    version,
    about = "Governance gateway between AI agents and their MCP tools"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve agents over Streamable HTTP at /mcp (no --config: the bundled lab SOC)
    Serve(cmd::serve::Args),
    /// Serve one agent over stdin/stdout, for clients that launch their servers
    Stdio(cmd::stdio::Args),
    /// Check, test and inspect policy
    #[command(subcommand)]
    Policy(cmd::policy::Command),
    /// Inspect the tool catalog and pin upstream tool definitions
    #[command(subcommand)]
    Tools(cmd::tools::Command),
    /// Read the audit log
    #[command(subcommand)]
    Audit(cmd::audit::Command),
    /// List calls held for approval
    #[command(subcommand)]
    Approvals(cmd::approvals::Command),
    /// The store's schema: `db migrate`
    #[command(subcommand)]
    Db(cmd::db::Command),
    /// Halt a session, an agent, a tool category or everything (kill switch); `halt list`
    Halt(cmd::halt::Args),
    /// Lift a halt (an approver, with their token)
    Resume(cmd::resume::Args),
    /// Agents' taint from flagged reads: `taint list`, `taint clear` (an approver, with their token)
    #[command(subcommand)]
    Taint(cmd::taint::Command),
    /// Review sampling: draw a sample, record verdicts, report error rates
    #[command(subcommand)]
    Review(cmd::review::Command),
    /// Reports from the ledger for owners and auditors
    #[command(subcommand)]
    Report(cmd::report::Command),
    /// The anomaly monitor: inspect an agent's baseline
    #[command(subcommand)]
    Monitor(cmd::monitor::Command),
    /// Score text for prompt injection (stdin, or --jsonl FILE with a `text` field per line)
    Screen(cmd::screen::Args),
    /// Claude Code's command hook: `hook claude-code` answers one hook event (stdin) from the
    /// running warden, blocking when warden cannot answer
    #[command(subcommand)]
    Hook(cmd::hook::Command),
    /// The bundled lab: a simulated SOC of MCP servers
    #[command(subcommand)]
    Lab(cmd::lab::Command),
    /// Measure what warden adds: the same MCP calls straight to a lab server and through warden
    Bench(cmd::bench::Args),
    /// What the config stores for a secret read from stdin or a prompt: `hash token` or
    /// `hash password`
    Hash(cmd::hash::Args),
    /// Connect to an MCP server and write a draft config section for its tools and a
    /// read-only policy skeleton (never overwriting a file)
    Init(cmd::init::Args),
    /// Print a shell completion script: `warden completions bash > …`
    Completions(cmd::completions::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Claude Code runs the tool when a hook exits with anything but 2: whatever goes wrong in
    // `warden hook` (no runtime, a panic, an error, a closed stdout) blocks the call.
    let fails_closed = matches!(cli.command, Command::Hook(_));
    if fails_closed {
        std::panic::set_hook(Box::new(|info| {
            eprintln!("warden: {info}; the tool call is blocked");
            std::process::exit(2);
        }));
    }
    // SIGPIPE stays ignored (Rust's default) in every command: a closed stdout is an error
    // `output::print` ends quietly, and a write to a peer that has gone (a PostgreSQL or TLS
    // connection reset at exit, an upstream's closed pipe) is an error, never a silent kill.
    // Logs go to stderr: stdout is the MCP channel for `stdio` and the lab servers.
    // Colours only on a terminal: a log file or journal gets plain text. rmcp warns of every
    // request a peer sent that failed, quoting it: what matters of those warden logs itself.
    // Every field is escaped and cut (`logfmt`): text that is not warden's cannot forge a line.
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let logs = tracing_subscriber::fmt::layer()
        .fmt_fields(logfmt::SafeFields::default())
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_filter(
            tracing_subscriber::EnvFilter::try_from_env("WARDEN_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,rmcp=error")),
        );
    #[cfg(feature = "otlp")]
    let traces =
        match matches!(cli.command, Command::Serve(_) | Command::Stdio(_)) && traces::wanted() {
            true => match traces::provider() {
                Ok(p) => Some(p),
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::FAILURE;
                }
            },
            false => None,
        };
    #[cfg(feature = "otlp")]
    let spans = traces.as_ref().map(|p| {
        traces::layer(p).with_filter(
            tracing_subscriber::filter::Targets::new()
                .with_target("warden_gateway", tracing::Level::DEBUG),
        )
    });
    #[cfg(not(feature = "otlp"))]
    let spans: Option<tracing_subscriber::layer::Identity> = None;
    tracing_subscriber::registry().with(logs).with(spans).init();
    let failure = if fails_closed {
        ExitCode::from(2)
    } else {
        ExitCode::FAILURE
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return failure;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(a) => cmd::serve::run(a).await,
            Command::Stdio(a) => cmd::stdio::run(a).await,
            Command::Policy(c) => cmd::policy::run(c).await,
            Command::Tools(c) => cmd::tools::run(c).await,
            Command::Audit(c) => cmd::audit::run(c).await,
            Command::Approvals(c) => cmd::approvals::run(c).await,
            Command::Db(c) => cmd::db::run(c).await,
            Command::Halt(a) => cmd::halt::run(a).await,
            Command::Resume(a) => cmd::resume::run(a).await,
            Command::Taint(c) => cmd::taint::run(c).await,
            Command::Review(c) => cmd::review::run(c).await,
            Command::Report(c) => cmd::report::run(c).await,
            Command::Monitor(c) => cmd::monitor::run(c).await,
            Command::Screen(a) => cmd::screen::run(a).await,
            Command::Hook(c) => cmd::hook::run(c).await,
            Command::Lab(c) => cmd::lab::run(c).await,
            Command::Bench(a) => cmd::bench::run(a).await,
            Command::Init(a) => cmd::init::run(a).await,
            Command::Hash(a) => cmd::hash::run(a),
            Command::Completions(a) => cmd::completions::run::<Cli>(a),
        }
    });
    #[cfg(feature = "otlp")]
    if let Some(provider) = traces {
        // Sends the spans still batched.
        if let Err(e) = provider.shutdown() {
            eprintln!("warden: traces not all exported: {e}");
        }
    }
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            failure
        }
    }
}
