//! `warden tools list | pin`.

use super::ConfigArg;
use crate::output::{self, Format};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;
use warden_gateway::catalog::{Entry, Status};

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Show each configured tool, its labels and whether agents can use it
    List {
        #[command(flatten)]
        config: ConfigArg,
        #[command(flatten)]
        format: Format,
    },
    /// Re-approve tools' current upstream definitions (after reviewing the change)
    Pin {
        #[command(flatten)]
        config: ConfigArg,
        /// Who reviewed the definitions (recorded in the audit log)
        #[arg(long, value_parser = reviewer)]
        by: String,
        /// The definitions reviewed, as `SERVER.TOOL=sha256:…` (the digest `tools list` shows
        /// after "now"): only these tools are pinned, each only if the upstream still serves
        /// that digest. Without any, every tool is pinned to what the upstream serves now
        #[arg(value_name = "TOOL=DIGEST", value_parser = reviewed_definition)]
        reviewed: Vec<(String, String)>,
    },
}

/// A catalog entry, as `--json` prints it.
#[derive(Serialize)]
struct Tool {
    name: String,
    effect: &'static str,
    reversible: bool,
    stakes: &'static str,
    category: String,
    /// `available`, `missing`, `flagged` or `changed`: only `available` tools reach agents.
    status: &'static str,
    /// Why a tool is withheld: the screen's summary, or the pinned and seen digests.
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
}

impl Tool {
    fn of(e: &Entry) -> Self {
        let l = &e.spec.labels;
        let (status, detail) = match &e.status {
            Status::Available => ("available", None),
            Status::Missing => ("missing", None),
            Status::ClientRun => (
                "claude-code",
                Some("run by Claude Code, decided through its hooks".into()),
            ),
            // The digest too: a human who reads the definition pins exactly it
            // (`warden tools pin --by ID SERVER.TOOL=sha256:…`), and nothing else.
            Status::Flagged { summary } => (
                "flagged",
                Some(match &e.digest {
                    Some(seen) => format!("{summary}; now {seen}"),
                    None => summary.clone(),
                }),
            ),
            Status::Withheld { pinned, seen } => {
                ("changed", Some(format!("pinned {pinned}, now {seen}")))
            }
        };
        Self {
            name: e.spec.name.to_string(),
            effect: l.effect.as_str(),
            reversible: l.reversible,
            stakes: l.stakes.as_str(),
            category: l.category.clone(),
            status,
            detail,
        }
    }

    fn human(&self) -> String {
        let status = match (self.status, &self.detail) {
            ("missing", _) => "missing upstream".to_string(),
            ("claude-code", _) => "run by Claude Code, decided through its hooks".to_string(),
            ("flagged", Some(summary)) => {
                format!("WITHHELD: definition flagged by the injection screen ({summary})")
            }
            ("changed", Some(detail)) => format!("WITHHELD: definition changed ({detail})"),
            (status, _) => status.to_string(),
        };
        format!(
            "{:<28} {:<5} {:<12} {:<8} {:<13} {}",
            self.name,
            self.effect,
            if self.reversible {
                "reversible"
            } else {
                "irreversible"
            },
            self.stakes,
            self.category,
            status
        )
    }
}

pub async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::List { config, format } => {
            let gateway = super::start(&config).await?;
            let tools: Vec<Tool> = gateway.catalog.entries().iter().map(Tool::of).collect();
            output::listing(&tools, format, "no tools configured", Tool::human)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Pin {
            config,
            by,
            reviewed,
        } => {
            let gateway = super::start(&config).await?;
            let named = reviewed.len();
            let reviewed: BTreeMap<String, String> = reviewed.into_iter().collect();
            if reviewed.len() != named {
                anyhow::bail!("a tool is named twice: give each reviewed definition once");
            }
            let known: BTreeSet<String> = gateway
                .catalog
                .entries()
                .iter()
                .map(|e| e.spec.name.to_string())
                .collect();
            if let Some(unknown) = reviewed.keys().find(|t| !known.contains(*t)) {
                anyhow::bail!("`{unknown}` is not a configured tool");
            }
            let mut failed = false;
            let mut text = String::new();
            let pinned = gateway.pin_all(&by, &reviewed).await;
            // A reviewed tool whose upstream was not reached has no answer: that is a failure too.
            for tool in reviewed.keys() {
                if !pinned.iter().any(|(name, _)| name.to_string() == *tool) {
                    failed = true;
                    text.push_str(&format!("cannot pin {tool}: its upstream is not reached\n"));
                }
            }
            for (name, r) in pinned {
                match r {
                    Ok(digest) => text.push_str(&format!("pinned {name} {digest}\n")),
                    Err(e) => {
                        failed = true;
                        text.push_str(&format!("cannot pin {name}: {e}\n"));
                    }
                }
            }
            output::print(&text)?;
            Ok(if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}

/// `SERVER.TOOL=sha256:<64 hex digits>`, a definition as reviewed.
fn reviewed_definition(text: &str) -> Result<(String, String), String> {
    let (tool, digest) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not TOOL=DIGEST"))?;
    let hex = digest
        .strip_prefix("sha256:")
        .filter(|h| h.len() == 64 && h.chars().all(|c| c.is_ascii_hexdigit()))
        .ok_or_else(|| format!("`{digest}` is not a definition digest (sha256:<64 hex digits>)"))?;
    Ok((
        tool.to_string(),
        format!("sha256:{}", hex.to_ascii_lowercase()),
    ))
}

/// `--by`: a person, named. Empty, or the name warden records for its own first-use pins, says
/// no one read the definition.
fn reviewer(by: &str) -> Result<String, String> {
    let by = by.trim();
    if by.is_empty() || by == "first-use" {
        return Err("name who reviewed the definitions".into());
    }
    Ok(by.to_string())
}
