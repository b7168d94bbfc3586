//! `warden audit checkpoints`: every stored signed checkpoint (size, time, root), oldest first,
//! so `audit consistency A B` and `audit prove` name sizes that exist.

use crate::cmd::ConfigArg;
use crate::output::{self, Format, when};
use serde::Serialize;
use std::process::ExitCode;
use warden_gateway::clock::system_now_ms;
use warden_store::StoredCheckpoint;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    config: ConfigArg,
    /// Only the latest N checkpoints
    #[arg(long, value_name = "N")]
    last: Option<usize>,
    #[command(flatten)]
    format: Format,
}

/// A checkpoint, as `--json` prints it.
#[derive(Serialize)]
struct Checkpoint {
    /// Leaves the checkpoint covers: what `audit consistency` and `audit prove` take.
    size: u64,
    time_ms: i64,
    /// The tree's root hash, base64 as in the signed note.
    root: String,
}

impl From<&StoredCheckpoint> for Checkpoint {
    fn from(c: &StoredCheckpoint) -> Self {
        Self {
            size: c.size,
            time_ms: c.time_ms,
            root: c.root.to_base64(),
        }
    }
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let (_, store) = super::open(&a.config)?;
    let stored = store.ledger_checkpoints()?;
    let skip = a.last.map_or(0, |n| stored.len().saturating_sub(n));
    let checkpoints: Vec<Checkpoint> = stored.iter().skip(skip).map(Checkpoint::from).collect();
    let now = system_now_ms();
    output::listing(&checkpoints, a.format, "no checkpoints yet", |c| {
        format!(
            "size {:<8} {}  root {}",
            c.size,
            when(c.time_ms, now),
            c.root
        )
    })?;
    Ok(ExitCode::SUCCESS)
}
