//! The tool catalog: what the agent may see, and whether each tool is still what was reviewed.
//!
//! Only tools named in the config exist. Each is pinned to a digest of its upstream definition
//! (name, description, input schema): from the config's `pin`, or else from the store, where the
//! first definition seen is pinned (trust on first use, recorded in the audit log). A definition
//! that no longer matches its pin is withheld — invisible and uncallable — until a human re-pins
//! it with `warden tools pin`. The agent sees warden's labels as annotations, never the server's.

use rmcp::model::{Tool, ToolAnnotations};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::RwLock;
use warden_core::{Effect, ToolName, canonical_json, sha256_hex};
use warden_policy::ToolSpec;

/// `sha256:<hex>` over the parts of an upstream definition a reviewer approved.
pub fn definition_digest(tool: &Tool) -> String {
    let value = json!({
        "name": tool.name,
        "description": tool.description,
        "inputSchema": tool.input_schema.as_ref(),
    });
    format!("sha256:{}", sha256_hex(canonical_json(&value).as_bytes()))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Not (yet) seen upstream.
    Missing,
    Available,
    Withheld {
        pinned: String,
        seen: String,
    },
    /// The upstream description reads as instructions to the model (prompt injection).
    Flagged {
        summary: String,
    },
    /// One of Claude Code's own tools (`claude.*`): it has no upstream, Claude Code runs it
    /// after warden's hook answers `allow`. Never listed or callable over MCP.
    ClientRun,
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub spec: ToolSpec,
    pub upstream: Option<Tool>,
    pub digest: Option<String>,
    pub status: Status,
}

#[derive(Default)]
pub struct Catalog {
    entries: RwLock<BTreeMap<ToolName, Entry>>,
}

impl Catalog {
    pub fn new(specs: impl IntoIterator<Item = ToolSpec>) -> Self {
        let entries = specs
            .into_iter()
            .map(|spec| {
                let status = if warden_policy::claude_code::is_builtin(&spec.name) {
                    Status::ClientRun
                } else {
                    Status::Missing
                };
                (
                    spec.name.clone(),
                    Entry {
                        spec,
                        upstream: None,
                        digest: None,
                        status,
                    },
                )
            })
            .collect();
        Self {
            entries: RwLock::new(entries),
        }
    }

    /// The entry for a callable tool; `None` for unknown, missing and withheld tools alike, so
    /// the agent cannot tell them apart.
    pub fn callable(&self, name: &ToolName) -> Option<ToolSpec> {
        let guard = self.entries.read().ok()?;
        let e = guard.get(name)?;
        (e.status == Status::Available).then(|| e.spec.clone())
    }

    /// The entry for one of Claude Code's own tools, for its hooks; `None` for any other.
    pub fn client_run(&self, name: &ToolName) -> Option<ToolSpec> {
        let guard = self.entries.read().ok()?;
        let e = guard.get(name)?;
        (e.status == Status::ClientRun).then(|| e.spec.clone())
    }

    pub fn entries(&self) -> Vec<Entry> {
        self.entries
            .read()
            .map(|g| g.values().cloned().collect())
            .unwrap_or_default()
    }

    pub fn set(
        &self,
        name: &ToolName,
        upstream: Option<Tool>,
        digest: Option<String>,
        status: Status,
    ) {
        if let Ok(mut guard) = self.entries.write()
            && let Some(e) = guard.get_mut(name)
        {
            e.upstream = upstream;
            e.digest = digest;
            e.status = status;
        }
    }

    pub fn status(&self, name: &ToolName) -> Option<Status> {
        self.entries
            .read()
            .ok()?
            .get(name)
            .map(|e| e.status.clone())
    }

    /// The tools the agent sees, as MCP definitions under their namespaced names.
    pub fn visible(&self) -> Vec<Tool> {
        let Ok(guard) = self.entries.read() else {
            return Vec::new();
        };
        guard
            .values()
            .filter(|e| e.status == Status::Available)
            .filter_map(|e| e.upstream.as_ref().map(|u| present(&e.spec, u)))
            .collect()
    }
}

/// An upstream definition as warden presents it: namespaced, labelled by warden, and made only
/// of what the pin covers ([`definition_digest`]: the description and the input schema). The
/// upstream's title, annotations, icons, output schema and `_meta` — or any field a later MCP
/// revision adds — are not passed on: an upstream could change them after the pin.
fn present(spec: &ToolSpec, upstream: &Tool) -> Tool {
    let labels = &spec.labels;
    let mut annotations = ToolAnnotations::default();
    annotations.read_only_hint = Some(labels.effect == Effect::Read);
    annotations.destructive_hint = Some(labels.effect == Effect::Write && !labels.reversible);
    annotations.open_world_hint = Some(labels.effect == Effect::Write);
    let description = spec
        .description
        .clone()
        .or_else(|| upstream.description.as_ref().map(|d| d.to_string()))
        .unwrap_or_default();
    let mut tool = Tool::new(
        spec.wire_name.clone(),
        String::new(),
        upstream.input_schema.clone(),
    );
    tool.description = Some(
        format!(
            "{description}\n[warden: server `{}`, {} {}, stakes {}, category {}]",
            spec.name.server,
            if labels.reversible {
                "reversible"
            } else {
                "irreversible"
            },
            labels.effect.as_str(),
            labels.stakes.as_str(),
            labels.category
        )
        .into(),
    );
    tool.annotations = Some(annotations);
    // Structured content reaches the agent only as marked text (`screening`), so a client must
    // not expect (and validate) a structured result: no output schema either.
    tool
}
