//! This disk's durable-write latency, measured where warden's ledger lives: the targets allow
//! warden the fsync p50 of the same run on top of what a plain hop adds, since a decision is
//! durable before its call is forwarded.
//!
//! Each write appends 4 KiB to a file and waits for `fdatasync` (what SQLite does on Linux for
//! each commit in WAL mode with `synchronous = FULL`); the file is removed afterwards.

use anyhow::Context;
use serde::Serialize;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use super::load::percentile_us;

#[derive(Debug, Serialize)]
pub struct Fsync {
    /// The folder written to: the one holding warden's ledger.
    pub folder: String,
    pub writes: usize,
    pub bytes_per_write: usize,
    pub p50_us: Option<f64>,
    pub p99_us: Option<f64>,
}

const BLOCK: usize = 4096;

/// `writes` appends of 4 KiB to a file in `folder`, each followed by `fdatasync` and timed
/// together with it.
pub fn probe(folder: &Path, writes: usize) -> anyhow::Result<Fsync> {
    std::fs::create_dir_all(folder)
        .with_context(|| format!("cannot create `{}`", folder.display()))?;
    let path = folder.join("fsync-probe");
    let mut file = std::fs::File::create(&path)
        .with_context(|| format!("cannot create `{}`", path.display()))?;
    let block = [0xa5u8; BLOCK];
    let mut times = Vec::with_capacity(writes);
    for _ in 0..writes {
        let start = Instant::now();
        file.write_all(&block)?;
        file.sync_data()?;
        times.push(u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX));
    }
    drop(file);
    std::fs::remove_file(&path).with_context(|| format!("cannot remove `{}`", path.display()))?;
    times.sort_unstable();
    Ok(Fsync {
        folder: folder.display().to_string(),
        writes,
        bytes_per_write: BLOCK,
        p50_us: percentile_us(&times, 0.50),
        p99_us: percentile_us(&times, 0.99),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_every_write_and_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = probe(dir.path(), 20).unwrap();
        assert_eq!(f.writes, 20);
        let (p50, p99) = (f.p50_us.unwrap(), f.p99_us.unwrap());
        assert!(0.0 < p50 && p50 <= p99, "{f:?}");
        assert!(!dir.path().join("fsync-probe").exists());
    }
}
