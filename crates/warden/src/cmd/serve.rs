//! `warden serve`: Streamable HTTP for agents.

use super::ConfigArg;
use anyhow::Context;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use warden_gateway::Gateway;
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
    if let Err(e) = gateway.review_check().await {
        anyhow::bail!("cannot read the review state: {e}");
    }
    let addr = args.listen.unwrap_or(gateway.config().gateway.listen);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    let shutdown = CancellationToken::new();
    // The live inventory (`[inventory]`): read once before the first call, then every
    // `refresh_secs`.
    let inventory = gateway.start_inventory_refresher(shutdown.clone()).await;
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
    // The line tests and scripts wait for; stable format.
    eprintln!("warden: listening on http://{local}/mcp");
    let console = console(&gateway, local)?;
    let app = warden_gateway::router(gateway.clone(), shutdown.clone()).nest("/console", console);

    // Expiry means deny: overdue requests are expired (and recorded) every few seconds.
    let sweeper = {
        let g = gateway.clone();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(2));
            while !stop.is_cancelled() {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stop.cancelled() => break,
                }
                let (store, audit) = (g.store.clone(), g.audit.clone());
                let now = warden_gateway::pipeline::now_ms();
                let swept = tokio::task::spawn_blocking(move || {
                    warden_gateway::gate::expire_overdue(store.as_ref(), audit.as_ref(), now)
                })
                .await;
                if let Ok(Ok(ids)) = swept {
                    for id in ids {
                        tracing::info!(request = %id, "approval request expired: denied");
                    }
                }
                let (store, audit, config) = (g.store.clone(), g.audit.clone(), g.config().clone());
                let due = tokio::task::spawn_blocking(move || {
                    warden_gateway::gate::escalate_due(store.as_ref(), audit.as_ref(), &config, now)
                })
                .await;
                if let Ok(Ok(due)) = due
                    && !due.is_empty()
                {
                    g.escalate(due, now).await;
                }
                // Review fallback: categories whose review fell behind need approval.
                match g.review_check().await {
                    Ok(changes) => {
                        for (category, tightened) in changes {
                            if tightened {
                                tracing::warn!(%category, "review behind: allowed calls now need approval");
                            } else {
                                tracing::info!(%category, "review current: policy decides alone again");
                            }
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "cannot check the review state"),
                }
            }
        })
    };

    // SIGHUP: reload the configuration and policies from the same file, recorded either way.
    let reloader = {
        let g = gateway.clone();
        let stop = shutdown.clone();
        let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .context("cannot listen for SIGHUP")?;
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = hup.recv() => {}
                    _ = stop.cancelled() => break,
                }
                let path = g.config().source.clone();
                let loaded =
                    tokio::task::spawn_blocking(move || warden_policy::Config::load(&path)).await;
                let Ok(loaded) = loaded else { continue };
                match g.reload(loaded).await {
                    Ok(r) if r.applied => {
                        tracing::info!(old = %r.old, new = ?r.new, "policy reloaded")
                    }
                    Ok(r) => {
                        tracing::warn!(errors = ?r.errors, "policy reload refused: the old policy stays in force")
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "policy reload not recorded: the old policy stays in force")
                    }
                }
            }
        })
    };

    let signal = shutdown.clone();
    // TCP_NODELAY: a response stream's last chunk is a small segment written after the answer;
    // with Nagle's algorithm it waited for the client's delayed ACK (about 40 ms) before the
    // stream ended and the connection could carry the next call.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY on a connection");
        }
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {}
            }
            signal.cancel();
        })
        .await
        .context("the HTTP server failed")?;
    shutdown.cancel();
    let _ = sweeper.await;
    if let Some(inventory) = inventory {
        let _ = inventory.await;
    }
    gateway.flush_audit().await;
    let _ = reloader.await;
    let audit = gateway.audit.clone();
    tokio::task::spawn_blocking(move || audit.shutdown())
        .await?
        .context("cannot close the audit log")?;
    Ok(ExitCode::SUCCESS)
}

/// The approvers' console at `/console`. Cookies are `Secure` unless warden listens on
/// loopback (where it is plain HTTP by construction; elsewhere a TLS proxy is expected).
fn console(gateway: &Arc<Gateway>, local: SocketAddr) -> anyhow::Result<axum::Router> {
    let config = warden_console::ConsoleConfig {
        approvers: gateway
            .config()
            .approvals
            .approvers
            .iter()
            .map(|a| warden_console::ApproverLogin {
                id: a.id.clone(),
                name: a.name.clone(),
                password_argon2: a.password_argon2.clone(),
                token_sha256: a.token_sha256.clone(),
            })
            .collect(),
        secure_cookies: !local.ip().is_loopback(),
        base_path: "/console".into(),
        ..warden_console::ConsoleConfig::default()
    };
    if let Err(errors) = config.validate() {
        let lines: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        anyhow::bail!("console configuration: {}", lines.join("; "));
    }
    Ok(warden_console::router(
        Arc::new(crate::desk::Desk(gateway.clone())),
        config,
    ))
}
