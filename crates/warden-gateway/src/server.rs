//! warden as a library server: everything `warden serve` runs — the MCP front at `/mcp`, the
//! approvers' console at `/console`, the sweeper (expiry, escalation, the review fallback), the
//! live inventory and policy reloads — behind one call, [`serve`]. The binary parses arguments,
//! binds the listener and turns signals into a [`Control`]; tests run the same server in
//! process.
//!
//! The HTTP front runs on an accept loop of warden's own (`connections`), which bounds what a
//! client without a token can hold: how long it may take to send a request, and how many
//! connections are open.

mod connections;
pub mod metrics;

pub(crate) use connections::BodyTimedOut;

use crate::Gateway;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// How often the sweeper expires overdue requests, escalates and checks the review state.
pub const SWEEP_EVERY: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot read the review state: {0}")]
    Review(String),
    #[error("console configuration: {0}")]
    Console(String),
    #[error("[oauth]: {0}")]
    OAuth(String),
    #[error("the listener has no local address: {0}")]
    Listener(std::io::Error),
    #[error("cannot close the audit log: {0}")]
    Close(String),
}

/// How the server is told to stop or to reload its configuration.
#[derive(Debug, Clone, Default)]
pub struct Control {
    /// Cancelled: stop taking connections, finish what is in flight, close the ledger.
    pub shutdown: CancellationToken,
    /// Notified: read the configuration file again and put it in force if it is valid (SIGHUP).
    pub reload: Arc<Notify>,
}

/// Serves `gateway` on `listener` until `control.shutdown` is cancelled; then waits for the
/// background work and the deferred audit appends and closes the audit log.
pub async fn serve(
    gateway: Arc<Gateway>,
    listener: TcpListener,
    control: Control,
) -> Result<(), ServerError> {
    gateway
        .review_check()
        .await
        .map_err(|e| ServerError::Review(e.to_string()))?;
    let local = listener.local_addr().map_err(ServerError::Listener)?;
    let shutdown = control.shutdown.clone();
    // The live inventory (`[inventory]`): read once before the first call, then every
    // `refresh_secs`.
    let inventory = gateway.start_inventory_refresher(shutdown.clone()).await;
    let console = console(&gateway, local)?;
    if let Some(settings) = gateway.config().oauth.clone() {
        crate::front::oauth::OAuth::new(settings, gateway.clock()).map_err(ServerError::OAuth)?;
    }
    let app = crate::router(gateway.clone(), shutdown.clone()).nest("/console", console);
    let sweeper = tokio::spawn(sweep_every(gateway.clone(), shutdown.clone()));
    // Halts set outside this process reach the live sessions' listings.
    let halts = tokio::spawn(gateway.clone().notice_halts(shutdown.clone()));
    let reloader = tokio::spawn(reload_on(gateway.clone(), control));

    let limits = gateway.config().gateway.limits;
    connections::serve(listener, app, limits, shutdown.clone()).await;
    shutdown.cancel();
    let _ = sweeper.await;
    let _ = halts.await;
    if let Some(inventory) = inventory {
        let _ = inventory.await;
    }
    gateway.flush_audit().await;
    let _ = reloader.await;
    let audit = gateway.audit.clone();
    let closed = tokio::task::spawn_blocking(move || audit.shutdown()).await;
    match closed {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(ServerError::Close(e.to_string())),
        Err(e) => Err(ServerError::Close(e.to_string())),
    }
}

/// Runs [`Gateway::sweep`] every [`SWEEP_EVERY`] until `stop`.
async fn sweep_every(gateway: Arc<Gateway>, stop: CancellationToken) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    while !stop.is_cancelled() {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.cancelled() => break,
        }
        gateway.sweep().await;
    }
}

/// Reloads the configuration from its file each time `control.reload` is notified, recorded
/// either way; the old policy stays in force when the new one is refused.
async fn reload_on(gateway: Arc<Gateway>, control: Control) {
    loop {
        tokio::select! {
            _ = control.reload.notified() => {}
            _ = control.shutdown.cancelled() => break,
        }
        let path = gateway.config().source.clone();
        let loaded = tokio::task::spawn_blocking(move || warden_policy::Config::load(&path)).await;
        let Ok(loaded) = loaded else { continue };
        match gateway.reload(loaded).await {
            Ok(r) if r.applied => tracing::info!(old = %r.old, new = ?r.new, "policy reloaded"),
            Ok(r) => tracing::warn!(errors = ?r.errors,
                "policy reload refused: the old policy stays in force"),
            Err(e) => tracing::error!(error = %e,
                "policy reload not recorded: the old policy stays in force"),
        }
    }
}

impl Gateway {
    /// One pass of the sweeper, at this gateway's now: overdue requests expire (expiry means
    /// deny), requests close to expiring are escalated, answered requests past their retention
    /// are deleted, and the review fallback is re-checked.
    pub async fn sweep(&self) {
        let now = self.now();
        let (store, audit) = (self.store.clone(), self.audit.clone());
        let swept = tokio::task::spawn_blocking(move || {
            crate::gate::expire_overdue(store.as_ref(), audit.as_ref(), now)
        })
        .await;
        match swept {
            Ok(Ok(ids)) => {
                for id in ids {
                    tracing::info!(request = %id, "approval request expired: denied");
                }
            }
            Ok(Err(e)) => tracing::error!(error = %e, "cannot expire overdue requests"),
            Err(e) => tracing::error!(error = %e, "the expiry sweep failed"),
        }
        let (store, audit, config) = (self.store.clone(), self.audit.clone(), self.config());
        let due = tokio::task::spawn_blocking(move || {
            crate::gate::escalate_due(store.as_ref(), audit.as_ref(), &config, now)
        })
        .await;
        match due {
            Ok(Ok(due)) if !due.is_empty() => self.escalate(due, now).await,
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "cannot escalate requests"),
            Err(e) => tracing::error!(error = %e, "the escalation sweep failed"),
        }
        // Answered requests past their retention are deleted; open ones never are.
        self.prune_closed(now).await;
        // Review fallback: categories whose review fell behind need approval.
        match self.review_check().await {
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
}

impl Gateway {
    /// Deletes the answered requests that expired more than `[approvals]
    /// closed_retention_days` before `now` (`Store::prune_closed`).
    pub async fn prune_closed(&self, now: i64) {
        let keep = self.config().approvals.closed_retention;
        let before = now.saturating_sub(i64::try_from(keep.as_millis()).unwrap_or(i64::MAX));
        let store = self.store.clone();
        match tokio::task::spawn_blocking(move || store.prune_closed(before)).await {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::info!(
                deleted = n,
                "answered requests past their retention deleted"
            ),
            Ok(Err(e)) => tracing::error!(error = %e, "cannot delete answered requests"),
            Err(e) => tracing::error!(error = %e, "the retention sweep failed"),
        }
    }
}

/// The approvers' console at `/console`. Cookies are `Secure` unless warden listens on
/// loopback (where it is plain HTTP by construction; elsewhere a TLS proxy is expected).
fn console(gateway: &Arc<Gateway>, local: SocketAddr) -> Result<axum::Router, ServerError> {
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
        agent_tokens: warden_console::AgentTokens(
            gateway
                .config()
                .agents
                .iter()
                .filter_map(|a| a.token_sha256)
                .collect(),
        ),
        secure_cookies: !local.ip().is_loopback(),
        base_path: "/console".into(),
        ..warden_console::ConsoleConfig::default()
    };
    if let Err(errors) = config.validate() {
        let lines: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        return Err(ServerError::Console(lines.join("; ")));
    }
    Ok(warden_console::router(
        Arc::new(crate::desk::Desk(gateway.clone())),
        config,
    ))
}
