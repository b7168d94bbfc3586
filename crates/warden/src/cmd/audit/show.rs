//! `warden audit show`: the events behind an incident review.

use crate::cmd::ConfigArg;
use std::process::ExitCode;
use warden_store::EventFilter;
use warden_store::ledger::{LedgerEntry, event_pages};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    config: ConfigArg,
    #[arg(long)]
    session: Option<String>,
    #[arg(long)]
    principal: Option<String>,
    #[arg(long)]
    tool: Option<String>,
    /// allow, hold or deny
    #[arg(long)]
    decision: Option<String>,
    /// decision, outcome, tool_pinned, tool_withheld, config_loaded, finding or redaction
    #[arg(long)]
    kind: Option<String>,
    /// Only events at or after this time (milliseconds since the Unix epoch)
    #[arg(long)]
    since_ms: Option<i64>,
    #[arg(long)]
    limit: Option<usize>,
}

/// Events read, and printed, at a time: the command holds one page, however long the ledger.
const PAGE: usize = 1000;

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let (_, store) = super::open(&a.config)?;
    let filter = EventFilter {
        kind: a.kind,
        session: a.session,
        principal: a.principal,
        tool: a.tool,
        decision: a.decision,
        since_ms: a.since_ms,
        until_ms: None,
        limit: a.limit,
        newest_first: false,
        index_from: None,
        index_below: None,
    };
    let mut shown = false;
    for page in event_pages(store.as_ref(), &filter, PAGE) {
        let mut text = String::new();
        for entry in page? {
            text.push_str(&crate::output::json(&line(entry)?)?);
            text.push('\n');
        }
        crate::output::print(&text)?;
        shown = true;
    }
    if !shown {
        // JSON lines on stdout stay clean for a pipe; the person at the terminal is told.
        eprintln!("no events match");
    }
    Ok(ExitCode::SUCCESS)
}

/// One event as a JSON line, with its place in the ledger and what the reader must not trust.
fn line(entry: LedgerEntry) -> anyhow::Result<serde_json::Value> {
    let mut v = serde_json::to_value(&entry.event)?;
    if let Some(o) = v.as_object_mut() {
        o.insert("index".into(), entry.index.into());
        o.insert("leaf_hash".into(), entry.leaf_hash.to_hex().into());
        // What the reader must not trust: bytes that are not the ones the tree holds,
        // columns that say something else than the leaf.
        if entry.hash_mismatch {
            o.insert("hash_mismatch".into(), true.into());
        }
        if !entry.column_mismatch.is_empty() {
            o.insert("column_mismatch".into(), entry.column_mismatch.into());
        }
    }
    Ok(v)
}
