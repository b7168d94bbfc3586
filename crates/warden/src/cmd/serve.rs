//! `warden serve`: Streamable HTTP for agents and the approvers' console
//! (`warden_gateway::server`); this command parses arguments, binds and handles signals.

use super::ConfigArg;
use anyhow::Context;
use std::net::SocketAddr;
use std::process::ExitCode;
use warden_gateway::catalog::Status;
use warden_gateway::server::{self, Control};

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
    #[cfg(feature = "otlp")]
    crate::traces::adopt_agents_traces(&gateway);
    let addr = args.listen.unwrap_or(gateway.config().gateway.listen);
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
        config = %gateway.config().source.display(),
        policy = %gateway.config().engine.version(),
        tools = available,
        "warden listening on http://{local}/mcp"
    );
    // Metrics on their own address (`[metrics]`), bound before the banner so that a port in
    // use stops warden instead of leaving it unobserved.
    let metrics = match gateway.config().metrics.clone() {
        Some(m) => {
            let listener = tokio::net::TcpListener::bind(m.listen)
                .await
                .with_context(|| format!("cannot listen for metrics on {}", m.listen))?;
            Some((listener.local_addr()?, listener, m.token_sha256))
        }
        None => None,
    };
    // The first line is the one tests and scripts wait for; stable format.
    eprint!("{}", banner(local, args.config.config.is_none()));

    let control = Control::default();
    // `[export]`: the ledger streamed to a SIEM, on a thread of its own.
    let export = super::audit::export::spawn_for_serve(
        gateway.config(),
        gateway.store.clone(),
        gateway.metrics.clone(),
        control.shutdown.clone(),
    )?;
    let metrics = metrics.map(|(at, listener, token)| {
        eprintln!("warden: metrics at http://{at}/metrics");
        tokio::spawn(server::metrics::serve(
            gateway.clone(),
            listener,
            token,
            control.shutdown.clone(),
        ))
    });
    // SIGINT / SIGTERM stop; SIGHUP reloads the configuration from the same file.
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot listen for SIGTERM")?;
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .context("cannot listen for SIGHUP")?;
    let signals = {
        let control = control.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => break,
                    _ = term.recv() => break,
                    _ = hup.recv() => control.reload.notify_one(),
                    _ = control.shutdown.cancelled() => break,
                }
            }
            control.shutdown.cancel();
        })
    };
    let served = server::serve(gateway, listener, control.clone()).await;
    control.shutdown.cancel();
    let _ = signals.await;
    if let Some(metrics) = metrics {
        let _ = metrics.await;
    }
    if let Some(export) = export {
        // It saw the shutdown; what it sent and did not mark is sent again next time.
        let _ = tokio::task::spawn_blocking(move || export.join()).await;
    }
    served?;
    Ok(ExitCode::SUCCESS)
}

/// What `serve` tells the person who started it: where agents and approvers go and, for the
/// bundled lab only, the demo credentials it was started with.
fn banner(local: SocketAddr, lab: bool) -> String {
    let mut text = format!(
        "warden: listening on http://{local}/mcp\nwarden: approvers' console at http://{local}/console\n"
    );
    if lab {
        text.push_str(
            "warden: the bundled lab's demo credentials (never reuse them outside the lab):\n\
             warden:   agents' bearer tokens: triage `lab-triage-token`, responder `lab-responder-token`\n\
             warden:   approvers alice, bob, dana: console password `lab-<id>-password`, CLI token `lab-<id>-token` (WARDEN_APPROVER_TOKEN)\n",
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_banner_names_the_console_and_only_the_lab_names_its_tokens() {
        let at: SocketAddr = "127.0.0.1:8700".parse().unwrap();
        let lab = banner(at, true);
        assert!(lab.starts_with("warden: listening on http://127.0.0.1:8700/mcp\n"));
        assert!(lab.contains("console at http://127.0.0.1:8700/console"));
        assert!(lab.contains("`lab-responder-token`"));
        let own = banner(at, false);
        assert!(own.contains("console at http://127.0.0.1:8700/console"));
        assert!(!own.contains("lab-"), "{own}");
    }
}
