//! `warden serve`: Streamable HTTP for agents.

use super::ConfigArg;
use anyhow::Context;
use std::net::SocketAddr;
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;
use warden_gateway::catalog::Status;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Listen here instead of the config's `gateway.listen`
    #[arg(long)]
    pub listen: Option<SocketAddr>,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let gateway = super::start(&args.config).await?;
    let addr = args.listen.unwrap_or(gateway.config.gateway.listen);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    let entries = gateway.catalog.entries();
    let available = entries
        .iter()
        .filter(|e| e.status == Status::Available)
        .count();
    for e in entries.iter().filter(|e| e.status != Status::Available) {
        tracing::warn!(tool = %e.spec.name, status = ?e.status, "tool not available to agents");
    }
    tracing::info!(
        config = %gateway.config.source.display(),
        policy = %gateway.config.engine.version(),
        tools = available,
        "warden listening on http://{local}/mcp"
    );
    // The line tests and scripts wait for; stable format.
    eprintln!("warden: listening on http://{local}/mcp");
    let shutdown = CancellationToken::new();
    let app = warden_gateway::router(gateway, shutdown.clone());
    let signal = shutdown.clone();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = tokio::signal::ctrl_c().await;
            signal.cancel();
        })
        .await
        .context("the HTTP server failed")?;
    Ok(ExitCode::SUCCESS)
}
