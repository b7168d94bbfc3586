//! `[approvers]` and `[approvals]`: the humans who answer held calls, and the rhythm of the
//! human gate.

use super::{Resolver, is_identifier};
use crate::config::raw::{RawAgent, RawApprovals, RawApprover};
use crate::config::resolved::{
    AgentSpec, ApprovalSettings, ApproverSpec, DEFAULT_CLOSED_RETENTION_DAYS,
    DEFAULT_MAX_PENDING_PER_AGENT,
};
use std::collections::BTreeMap;
use std::time::Duration;
use toml::Spanned;

impl Resolver<'_> {
    pub(super) fn approvals(
        &mut self,
        a: &RawApprovals,
        raw_approvers: &BTreeMap<String, Spanned<RawApprover>>,
        agents: &BTreeMap<String, Spanned<RawAgent>>,
        owners: &BTreeMap<String, String>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> ApprovalSettings {
        let mut approvers = Vec::new();
        for (id, ap) in raw_approvers {
            let key = format!("approvers.{id}");
            let table = ap.span();
            let ap = ap.get_ref();
            if !is_identifier(id) {
                self.error(
                    table.clone(),
                    &key,
                    format!("approver id `{id}` must be letters, digits, `_` or `-`"),
                );
            }
            if agents.contains_key(id) {
                self.error(
                    table.clone(),
                    &key,
                    format!("`{id}` is also an agent: an agent can never approve"),
                );
            }
            if ap.password_argon2.is_none() && ap.token_sha256.is_none() {
                self.error(
                    table,
                    &key,
                    "give `password_argon2` or `token_sha256` so the approver can sign in",
                );
            }
            if let Some(h) = &ap.password_argon2
                && !h.get_ref().starts_with("$argon2")
            {
                self.error(
                    h.span(),
                    &key,
                    "`password_argon2` must be an Argon2 PHC string (`$argon2id$...`)",
                );
            }
            if let Some(t) = &ap.token_sha256
                && !(t.get_ref().len() == 64 && t.get_ref().chars().all(|c| c.is_ascii_hexdigit()))
            {
                self.error(
                    t.span(),
                    &key,
                    "`token_sha256` must be 64 hex digits (a SHA-256)",
                );
            }
            for c in &ap.categories {
                if c.get_ref() != "*" && !owners.contains_key(c.get_ref()) {
                    self.error(
                        c.span(),
                        &key,
                        format!("category `{}` is not in [owners]", c.get_ref()),
                    );
                }
            }
            let text = |v: &Option<Spanned<String>>| v.as_ref().map(|v| v.get_ref().clone());
            approvers.push(ApproverSpec {
                id: id.clone(),
                name: ap.name.clone(),
                categories: ap.categories.iter().map(|c| c.get_ref().clone()).collect(),
                password_argon2: text(&ap.password_argon2),
                token_sha256: text(&ap.token_sha256),
            });
        }
        for (c, m) in &a.expiry_minutes {
            if *m.get_ref() == 0 {
                self.error(
                    m.span(),
                    &format!("approvals.expiry_minutes.{c}"),
                    format!("category `{c}`: expiry must be at least a minute"),
                );
            }
        }
        let webhook_secret = match (&a.webhook_url, &a.webhook_secret_env) {
            (Some(_), Some(var)) => match env(var.get_ref()) {
                Some(s) if !s.is_empty() => Some(s),
                _ => {
                    self.error(
                        var.span(),
                        "approvals.webhook_secret_env",
                        format!("environment variable `{}` is not set", var.get_ref()),
                    );
                    None
                }
            },
            (Some(url), None) => {
                self.error(
                    url.span(),
                    "approvals.webhook_url",
                    "a webhook needs `webhook_secret_env` to sign its deliveries",
                );
                None
            }
            _ => None,
        };
        ApprovalSettings {
            wait: Duration::from_secs(a.wait_secs.unwrap_or(0)),
            expiry: a
                .expiry_minutes
                .iter()
                .map(|(c, m)| (c.clone(), Duration::from_secs(m.get_ref() * 60)))
                .collect(),
            default_expiry: Duration::from_secs(15 * 60),
            webhook_url: a.webhook_url.as_ref().map(|u| u.get_ref().clone()),
            webhook_secret,
            console_url: a
                .console_url
                .clone()
                .unwrap_or_else(|| "http://127.0.0.1:8700/console".into()),
            approvers,
            escalation: a.escalation.clone(),
            closed_retention: Duration::from_secs(
                self.at_least_one(
                    a.closed_retention_days.clone(),
                    "approvals.closed_retention_days",
                    DEFAULT_CLOSED_RETENTION_DAYS,
                    "answered requests must be kept at least one day",
                )
                .saturating_mul(24 * 60 * 60),
            ),
            max_pending_per_agent: self.at_least_one(
                a.max_pending_per_agent.clone(),
                "approvals.max_pending_per_agent",
                DEFAULT_MAX_PENDING_PER_AGENT,
                "an agent must be able to have at least one request waiting",
            ),
        }
    }

    /// Refuses one token that authenticates two identities: an approver whose token is an
    /// agent's would let that agent sign in as the approver and answer its own held calls (the
    /// check that an agent never approves compares ids); two approvers with one token make a
    /// two-person rule one person's; two agents with one token cannot be told apart. Each error
    /// names both identities, never the secret.
    pub(super) fn distinct_tokens(
        &mut self,
        agents: &[AgentSpec],
        raw_agents: &BTreeMap<String, Spanned<RawAgent>>,
        raw_approvers: &BTreeMap<String, Spanned<RawApprover>>,
    ) {
        let mut holders: BTreeMap<[u8; 32], String> = BTreeMap::new();
        for agent in agents {
            let Some(digest) = agent.token_sha256 else {
                continue;
            };
            let id = &agent.principal.0;
            if let Some(other) = holders.insert(digest, format!("agent `{id}`")) {
                let span = raw_agents.get(id).map(Spanned::span);
                self.error(
                    span,
                    &format!("agents.{id}"),
                    format!(
                        "{other} and agent `{id}` have the same token: give each agent its own"
                    ),
                );
            }
        }
        for (id, ap) in raw_approvers {
            let Some(hex_digest) = &ap.get_ref().token_sha256 else {
                continue;
            };
            let Some(digest) = hex::decode(hex_digest.get_ref().trim())
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
            else {
                continue; // reported where the approver is read
            };
            if let Some(other) = holders.insert(digest, format!("approver `{id}`")) {
                let why = if other.starts_with("agent") {
                    "the agent could sign in as the approver and approve its own calls"
                } else {
                    "one person could answer as both"
                };
                self.error(
                    hex_digest.span(),
                    &format!("approvers.{id}.token_sha256"),
                    format!(
                        "approver `{id}` has the same token as {other}: {why}; give each its own \
                         token"
                    ),
                );
            }
        }
    }
}
