//! `[gateway] tool_names`: the names agents see. Model APIs accept only some tool names (the
//! Anthropic Messages API and OpenAI's: `^[a-zA-Z0-9_-]{1,64}$`), so the default joins server
//! and tool with `__`, and any other character an upstream's tool name carries becomes `_`.
//! Two tools that would get the same name, or a name that is another tool's qualified name,
//! stop the configuration: an agent's call must name exactly one tool.
//!
//! A client may put its own prefix before each name before the model sees it (Claude Code
//! offers a tool as `mcp__<server>__<tool>`), and the model API checks that longer name: a name
//! that fits 64 characters alone can break such a client mid-session. `max_tool_name_chars`
//! leaves room for the prefix, so the config stops at load instead.

use super::Resolver;
use crate::config::resolved::{DEFAULT_TOOL_NAMES, ToolSpec};
use std::collections::BTreeMap;
use toml::Spanned;
use warden_core::ToolName;

/// The longest tool name model APIs accept.
const MAX_LEN: usize = 64;

impl Resolver<'_> {
    pub(super) fn wire_names(
        &mut self,
        template: Option<&Spanned<String>>,
        max_chars: Option<&Spanned<usize>>,
        tools: &mut BTreeMap<ToolName, ToolSpec>,
    ) -> BTreeMap<String, ToolName> {
        let (max, why) = match max_chars {
            None => (MAX_LEN, "model APIs accept"),
            Some(m) if (1..=MAX_LEN).contains(m.get_ref()) => {
                (*m.get_ref(), "`[gateway] max_tool_name_chars` allows")
            }
            Some(m) => {
                self.error(
                    m.span(),
                    "gateway.max_tool_name_chars",
                    format!(
                        "`{}` must be between 1 and {MAX_LEN} (the longest name model APIs \
                         accept)",
                        m.get_ref()
                    ),
                );
                return BTreeMap::new();
            }
        };
        let span = template.map(Spanned::span);
        let template = template.map_or(DEFAULT_TOOL_NAMES, |t| t.get_ref().as_str());
        let literal = template.replace("{server}", "").replace("{tool}", "");
        if !template.contains("{tool}")
            || literal.contains(['{', '}'])
            || !literal.chars().all(allowed_literal)
        {
            self.error(
                span,
                "gateway.tool_names",
                format!(
                    "`{template}` must contain `{{tool}}` (and may contain `{{server}}`), with \
                     only letters, digits, `_`, `-` or `.` around them"
                ),
            );
            return BTreeMap::new();
        }
        let mut names: BTreeMap<String, ToolName> = BTreeMap::new();
        for (qualified, spec) in tools.iter_mut() {
            let wire = template
                .replace("{server}", &clean(&qualified.server))
                .replace("{tool}", &clean(&qualified.tool));
            let key = format!("servers.{}.tools.{}", qualified.server, qualified.tool);
            let chars = wire.chars().count();
            if chars > max {
                self.error(
                    span.clone(),
                    &key,
                    format!(
                        "`{qualified}` would be called `{wire}` ({chars} characters), longer \
                         than the {max} characters {why}; shorten the server's name or change \
                         `[gateway] tool_names`"
                    ),
                );
                continue;
            }
            if let Some(other) = names.get(&wire) {
                self.error(
                    span.clone(),
                    &key,
                    format!(
                        "`{qualified}` and `{other}` would both be called `{wire}`; change \
                         `[gateway] tool_names` or a server's name"
                    ),
                );
                continue;
            }
            names.insert(wire.clone(), qualified.clone());
            spec.wire_name = wire;
        }
        // A name on the wire must not be another tool's qualified name: both forms are
        // accepted, and each must name one tool.
        for (wire, tool) in &names {
            if let Some(other) = ToolName::parse(wire)
                && other != *tool
                && tools.contains_key(&other)
            {
                self.error(
                    span.clone(),
                    "gateway.tool_names",
                    format!("`{tool}` would be called `{wire}`, which is `{other}`'s own name"),
                );
            }
        }
        names
    }
}

fn allowed_literal(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// `s` with every character a model API refuses in a tool name made `_`.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
