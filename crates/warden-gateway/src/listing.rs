//! What an agent sees in `tools/list`, and `notifications/tools/list_changed` to each live MCP
//! session when that changes.
//!
//! What an agent may list depends on the catalog (upstream definitions, pins, the screen), the
//! configuration (which tools some rule could let this agent call) and the halts (a halted
//! agent lists nothing; a halted category's tools are not shown). Each of these changes while
//! sessions are open: a catalog refresh, a pin, a reload, a halt or resume by a person, the
//! monitor or another replica. Whatever may have changed bumps one counter ([`ListChanges`]);
//! each live session (Streamable HTTP with an `Mcp-Session-Id`, or stdio) has a watcher that
//! then works out its own listing again and, only when its digest differs from the last one it
//! saw, tells its client. A session whose listing did not change is not told, and a session
//! that ended stops its watcher.
//!
//! Halts set elsewhere (the CLI, the console of another process, another replica) are found by
//! reading the halts again every [`crate::halt::REFRESH`] ([`Gateway::notice_halts`]), through
//! the same cache the calls use.

use crate::halt::Scope;
use crate::pipeline::{CallError, Gateway};
use rmcp::model::Tool;
use rmcp::service::{Peer, RoleServer};
use std::sync::{Arc, OnceLock};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use warden_core::{Principal, SessionId, canonical_json, sha256_hex};
use warden_store::Halt;

/// Counts the changes that may have changed some agent's listing.
#[derive(Debug)]
pub(crate) struct ListChanges(watch::Sender<u64>);

impl Default for ListChanges {
    fn default() -> Self {
        Self(watch::Sender::new(0))
    }
}

impl ListChanges {
    fn bump(&self) {
        self.0.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// What one agent may list now: the tools, or the halt that refuses its listing.
pub(crate) type Listable = Result<Vec<Tool>, (Halt, Scope)>;

impl Gateway {
    /// The tools `principal` may list in `session`: only what some rule could let this agent
    /// do (the rest does not exist for it), without a halted category's tools; or the halt
    /// that covers the agent or session. Fails closed: halts that cannot be read are an error.
    pub(crate) async fn listable(
        &self,
        principal: &Principal,
        session: &SessionId,
    ) -> Result<Listable, CallError> {
        if let Some(halted) = self.listing_halted(principal, session).await? {
            return Ok(Err(halted));
        }
        let halts = self.active_halts().await?;
        let config = self.config();
        Ok(Ok(self
            .catalog
            .visible()
            .into_iter()
            .filter(|t| {
                config.tool_called(&t.name).is_some_and(|n| {
                    let category = config.tool(&n).map(|spec| spec.labels.category.as_str());
                    config.engine.could_allow(principal, &n)
                        && crate::halt::covering(&halts, &principal.0, &session.0, category)
                            .is_none()
                })
            })
            .collect()))
    }

    /// The halt that refuses `principal`'s listing in `session` (one of the agent, the session
    /// or everything), if any. Fails closed: halts that cannot be read are an error.
    pub(crate) async fn listing_halted(
        &self,
        principal: &Principal,
        session: &SessionId,
    ) -> Result<Option<(Halt, Scope)>, CallError> {
        let halts = self.active_halts().await?;
        Ok(
            crate::halt::covering(&halts, &principal.0, &session.0, None)
                .map(|(halt, scope)| (halt.clone(), scope)),
        )
    }

    /// Tells every live session's watcher that its listing may have changed.
    pub(crate) fn tool_lists_may_have_changed(&self) {
        self.list_changes.bump();
    }

    /// Reads the active halts every [`crate::halt::REFRESH`] until `stop`, so that a halt set
    /// or resumed outside this process reaches the listings of live sessions without waiting
    /// for a call to read it.
    pub async fn notice_halts(self: Arc<Self>, stop: CancellationToken) {
        let mut tick = tokio::time::interval(crate::halt::REFRESH);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.cancelled() => break,
            }
            // Only while some session listens.
            if self.list_changes.0.receiver_count() > 0
                && let Err(e) = self.active_halts().await
            {
                tracing::warn!(error = %e, "cannot read the halts for the live sessions' listings");
            }
        }
    }

    /// Watches one live session's listing until `stop` (the session ended) or its client is
    /// gone, sending `notifications/tools/list_changed` each time the listing changes.
    /// `session` is filled in once the session's id is known (an HTTP session's first request
    /// after `initialize`); until then, halts of single sessions do not change its listing.
    pub(crate) fn watch_listing(
        self: &Arc<Self>,
        peer: Peer<RoleServer>,
        principal: Principal,
        session: Arc<OnceLock<SessionId>>,
        stop: CancellationToken,
    ) {
        let gateway = self.clone();
        let mut changes = self.list_changes.0.subscribe();
        tokio::spawn(async move {
            let digest = |gateway: Arc<Gateway>| {
                let (principal, session) = (principal.clone(), session.clone());
                async move {
                    let unknown = SessionId(String::new());
                    let session = session.get().unwrap_or(&unknown);
                    match gateway.listable(&principal, session).await {
                        Ok(listable) => Some(listing_digest(&listable)),
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot work out a live session's listing");
                            None
                        }
                    }
                }
            };
            let mut seen = digest(gateway.clone()).await;
            loop {
                tokio::select! {
                    changed = changes.changed() => if changed.is_err() { break },
                    _ = stop.cancelled() => break,
                }
                let Some(now) = digest(gateway.clone()).await else {
                    continue;
                };
                if seen.as_ref() == Some(&now) {
                    continue;
                }
                seen = Some(now);
                if let Err(e) = peer.notify_tool_list_changed().await {
                    tracing::debug!(error = %e, "a session's client is gone: its listing is no longer watched");
                    break;
                }
            }
        });
    }
}

/// A digest of what a listing shows: every tool as listed, or the halt's scope.
fn listing_digest(listable: &Listable) -> String {
    let value = match listable {
        Ok(tools) => serde_json::to_value(tools).unwrap_or_default(),
        Err((_, scope)) => serde_json::json!({"halted": scope.to_string()}),
    };
    sha256_hex(canonical_json(&value).as_bytes())
}
