//! Policy reloads: a running gateway replaces its configuration whole (SIGHUP).
//!
//! The new configuration is loaded and resolved off the data path; only a fully valid one that
//! keeps the same upstreams, catalog, store and ledger replaces the old, and calls already in
//! flight finish under the one they started with. Every attempt — applied or refused — is a
//! `policy_reload` event with the old and new policy hashes, so the ledger says which policy
//! decided each call.

use crate::pipeline::{CallError, Gateway};
use serde_json::json;
use warden_core::{AuditEvent, EventKind};
use warden_policy::{Config, ConfigErrors};

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reloaded {
    pub old: String,
    pub new: Option<String>,
    pub applied: bool,
    /// Why it was refused.
    pub errors: Vec<String>,
    pub index: u64,
}

impl Gateway {
    /// Puts `loaded` in force if it is valid and compatible; records the attempt either way.
    pub async fn reload(
        &self,
        loaded: Result<Config, ConfigErrors>,
    ) -> Result<Reloaded, CallError> {
        let current = self.config();
        let old = current.engine.version().to_string();
        // The loaded configuration decides with the baseline `[policy] entities`; the live
        // inventory, once a refresh succeeded, replaces them (and a reload it does not fit is
        // refused), so a reload never brings back entities a refresh superseded.
        let shadow_version = |c: &Config| c.shadow.as_ref().map(|e| e.version().to_string());
        // The file read for the reload (`None` when it did not parse).
        let mut new_config_digest = None;
        let (new, errors, shadow, config) = match loaded {
            Err(e) => (
                None,
                e.0.iter().map(ToString::to_string).collect(),
                None,
                None,
            ),
            Ok(c) => {
                new_config_digest = Some(c.source_digest.clone());
                let version = Some(c.engine.version().to_string());
                let shadow = shadow_version(&c);
                match current.reload_blocker(&c) {
                    Some(why) => (version, vec![why], shadow, None),
                    None => match self.with_live_inventory(c) {
                        Ok(c) => (
                            Some(c.engine.version().to_string()),
                            Vec::new(),
                            shadow_version(&c),
                            Some(c),
                        ),
                        Err(why) => (version, vec![why], shadow, None),
                    },
                }
            }
        };
        let applied = config.is_some();
        let mut ev = AuditEvent::new(EventKind::PolicyReload, self.now());
        ev.policy_version = new.clone().or_else(|| Some(old.clone()));
        ev.detail = Some(json!({
            "old": old,
            "new": new,
            "applied": applied,
            "errors": errors,
            "shadow": shadow,
            "config": current.source.display().to_string(),
            "old_config_digest": current.source_digest,
            "new_config_digest": new_config_digest,
        }));
        // Recorded first: the new policy decides nothing that the ledger does not announce.
        let index = self.record(ev).await?;
        if let Some(c) = config {
            self.put_reloaded(c);
            // Which tools some rule could let an agent call may have changed.
            self.tool_lists_may_have_changed();
        }
        Ok(Reloaded {
            old,
            new,
            applied,
            errors,
            index,
        })
    }
}
