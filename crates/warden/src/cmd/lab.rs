//! `warden lab server NAME`: run one simulated SOC server (what the lab config launches).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use warden_lab::LabServer;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Play a compromised agent through injection scenarios and report what got through
    Redteam(super::redteam::Args),
    /// Serve one lab MCP server over stdio (or Streamable HTTP with --http)
    Server {
        /// siem, edr, idp, tickets or mail
        name: LabServer,
        /// Where the server keeps its state
        #[arg(long, default_value = ".warden/lab/state/lab")]
        state_dir: PathBuf,
        /// Serve Streamable HTTP at this address (path /mcp) instead of stdio
        #[arg(long)]
        http: Option<SocketAddr>,
    },
}

pub async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Redteam(args) => super::redteam::run(args).await,
        Command::Server {
            name,
            state_dir,
            http,
        } => {
            std::fs::create_dir_all(&state_dir)?;
            match http {
                None => warden_lab::serve_stdio(name, &state_dir).await?,
                Some(addr) => {
                    let listener = tokio::net::TcpListener::bind(addr).await?;
                    eprintln!(
                        "lab {name}: listening on http://{}/mcp",
                        listener.local_addr()?
                    );
                    warden_lab::serve_http(name, &state_dir, listener).await?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
