//! `[[grants]]` and `[[autonomy]]`: permissions given on purpose, each with a justification,
//! an approver and an expiry; autonomy grants also with an owner, and only for writes the floor
//! holds.

use super::{Resolver, is_identifier, parse_expiry, required};
use crate::config::raw::{RawAgent, RawGrant};
use crate::config::resolved::{ApprovalSettings, Grant, GrantKind, ToolSpec};
use std::collections::BTreeMap;
use std::str::FromStr;
use toml::Spanned;
use warden_core::{Principal, ToolName};

impl Resolver<'_> {
    /// `[[grants]]` (`autonomy = false`) or `[[autonomy]]` (`autonomy = true`): both need a
    /// known agent, configured tools, a justification, an approver and an expiry.
    pub(super) fn grants(
        &mut self,
        raw: &[Spanned<RawGrant>],
        autonomy: bool,
        agents: &BTreeMap<String, Spanned<RawAgent>>,
        stdio_agent: &Option<Principal>,
        tools: &BTreeMap<ToolName, ToolSpec>,
        approvals: &ApprovalSettings,
    ) -> Vec<Grant> {
        let mut out = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        let section = if autonomy { "autonomy" } else { "grants" };
        for (i, g) in raw.iter().enumerate() {
            let key = format!("{section}[{i}]");
            let before = self.errors.len();
            // A missing field is reported at the grant's table; a wrong one at its value.
            let table = g.span();
            let g = g.get_ref();
            let at = |field: &Option<Spanned<String>>| {
                field.as_ref().map_or(table.clone(), Spanned::span)
            };
            let id = g.id.get_ref();
            if !is_identifier(id) {
                self.error(
                    g.id.span(),
                    &key,
                    format!("grant id `{id}` must be letters, digits, `_` or `-`"),
                );
            }
            if !seen.insert(id.clone()) {
                self.error(
                    g.id.span(),
                    &key,
                    format!("grant id `{id}` is declared twice"),
                );
            }
            let agent = g.agent.get_ref();
            let known_agent =
                agents.contains_key(agent) || stdio_agent.as_ref().is_some_and(|p| &p.0 == agent);
            if !known_agent {
                self.error(
                    g.agent.span(),
                    &key,
                    format!("grant `{id}`: `{agent}` is not a configured agent"),
                );
            }
            if g.tools.is_empty() {
                self.error(table.clone(), &key, format!("grant `{id}` names no tools"));
            }
            let mut grant_tools = Vec::new();
            for t in &g.tools {
                match ToolName::parse(t.get_ref()) {
                    Some(tn) if tools.contains_key(&tn) => grant_tools.push((tn, t.span())),
                    _ => self.error(
                        t.span(),
                        &key,
                        format!(
                            "grant `{id}` names `{}`, which is not a configured tool",
                            t.get_ref()
                        ),
                    ),
                }
            }
            let justification = required(&g.justification).map(|(j, _)| j.to_string());
            if justification.is_none() {
                self.error(
                    at(&g.justification),
                    &key,
                    format!("grant `{id}` has no `justification`: say why it exists"),
                );
            }
            let approver = required(&g.approver);
            match &approver {
                None => self.error(
                    at(&g.approver),
                    &key,
                    format!("grant `{id}` has no `approver`: name who agreed to it"),
                ),
                Some((a, span)) if !approvals.approvers.iter().any(|x| x.id == *a) => self.error(
                    span.clone(),
                    &key,
                    format!("grant `{id}`: approver `{a}` is not in [approvers]"),
                ),
                Some(_) => {}
            }
            let approver = approver.map(|(a, _)| a.to_string());
            let expires_text = required(&g.expires);
            let expires = match &expires_text {
                None => {
                    self.error(
                        at(&g.expires),
                        &key,
                        format!("grant `{id}` has no `expires`: every grant ends"),
                    );
                    None
                }
                Some((text, span)) => parse_expiry(text).or_else(|| {
                    self.error(
                        span.clone(),
                        &key,
                        format!(
                            "grant `{id}`: `expires = \"{text}\"` is not an RFC 3339 time or a date (YYYY-MM-DD)"
                        ),
                    );
                    None
                }),
            };
            let expires_text = expires_text.map(|(text, _)| text.to_string());
            let kind = if autonomy {
                if let Some(a) = &g.approval {
                    self.error(
                        a.span(),
                        &key,
                        format!(
                            "autonomy grant `{id}`: `approval` has no meaning here (an autonomy grant lets calls run without one)"
                        ),
                    );
                }
                let owner = required(&g.owner).map(|(o, _)| o.to_string());
                if owner.is_none() {
                    self.error(
                        at(&g.owner),
                        &key,
                        format!(
                            "autonomy grant `{id}` has no `owner`: name who answers for what it lets run unattended"
                        ),
                    );
                }
                for (t, span) in &grant_tools {
                    if let Some(spec) = tools.get(t)
                        && crate::engine::floor_label(&spec.labels).is_none()
                    {
                        self.error(
                            span.clone(),
                            &key,
                            format!(
                                "autonomy grant `{id}` names `{t}`, which the floor does not hold (a read, or a low-stakes reversible write): grant nothing that is not needed"
                            ),
                        );
                    }
                }
                GrantKind::Autonomy {
                    owner: owner.unwrap_or_default(),
                }
            } else {
                if let Some(o) = &g.owner {
                    self.error(
                        o.span(),
                        &key,
                        format!(
                            "grant `{id}`: `owner` belongs to autonomy grants; a grant's decisions are owned by its tools' categories"
                        ),
                    );
                }
                GrantKind::Permission {
                    approval: g.approval.as_ref().map(|a| a.get_ref().clone()),
                }
            };
            if let Some(a) = &g.approval
                && a.get_ref() != "required"
                && a.get_ref() != "two-person"
            {
                self.error(
                    a.span(),
                    &key,
                    format!(
                        "grant `{id}`: approval `{}` must be `required` or `two-person`",
                        a.get_ref()
                    ),
                );
            }
            if let Some(w) = &g.when
                && let Err(e) = cedar_policy::Expression::from_str(w.get_ref())
            {
                self.error(
                    w.span(),
                    &key,
                    format!("grant `{id}`: `when` is not a Cedar expression: {e}"),
                );
            }
            if let (Some(justification), Some(approver), Some(expires), Some(expires_text)) =
                (justification, approver, expires, expires_text)
                && self.errors.len() == before
            {
                out.push(Grant {
                    kind,
                    id: id.clone(),
                    agent: Principal(agent.clone()),
                    tools: grant_tools.into_iter().map(|(t, _)| t).collect(),
                    when: g.when.as_ref().map(|w| w.get_ref().clone()),
                    justification,
                    approver,
                    expires,
                    expires_text,
                });
            }
        }
        out
    }
}
