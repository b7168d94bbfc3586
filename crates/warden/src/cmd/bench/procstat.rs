//! CPU time and memory of a process, from Linux's `/proc`. Elsewhere every reading is `None`
//! and the report says "n/a".

/// The kernel reports CPU times in `USER_HZ` ticks, which Linux fixes at 100 for userspace.
const TICKS_PER_SEC: f64 = 100.0;

#[derive(Debug, Clone, Copy)]
pub struct ProcStat {
    /// User plus system CPU time of all the process's threads.
    pub cpu_secs: f64,
    /// Resident memory now.
    pub rss_kib: u64,
    /// Of which anonymous (heap, stacks): `RssAnon`.
    pub anon_kib: u64,
    /// Of which file-backed and shared (mapped files such as SQLite's WAL index): `RssFile` +
    /// `RssShmem`.
    pub file_kib: u64,
    /// The most resident memory the process has had (`VmHWM`).
    pub peak_rss_kib: u64,
}

impl ProcStat {
    pub fn read(pid: u32) -> Option<ProcStat> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The command name (field 2) is in parentheses and may hold spaces: count from after it.
        let rest = stat.rsplit_once(')')?.1;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // After the name: state is field 3, utime field 14, stime field 15.
        let utime: f64 = fields.get(11)?.parse().ok()?;
        let stime: f64 = fields.get(12)?.parse().ok()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let kib = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        };
        Some(ProcStat {
            cpu_secs: (utime + stime) / TICKS_PER_SEC,
            rss_kib: kib("VmRSS:")?,
            anon_kib: kib("RssAnon:").unwrap_or(0),
            file_kib: kib("RssFile:").unwrap_or(0) + kib("RssShmem:").unwrap_or(0),
            peak_rss_kib: kib("VmHWM:")?,
        })
    }

    /// The processes whose parent is `pid` (an nginx master's workers); none where `/proc` is
    /// absent.
    pub fn children(pid: u32) -> Vec<u32> {
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        let mut found: Vec<u32> = entries
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter(|&p| ProcStat::parent(p) == Some(pid))
            .collect();
        found.sort_unstable();
        found
    }

    /// The parent of `pid`: field 4 of `/proc/<pid>/stat`.
    fn parent(pid: u32) -> Option<u32> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat.rsplit_once(')')?
            .1
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    }

    /// The command name of `pid` (`/proc/<pid>/comm`).
    pub fn name(pid: u32) -> Option<String> {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
        Some(comm.trim_end().to_string())
    }

    /// CPU time used by this process so far.
    pub fn own_cpu_secs() -> f64 {
        ProcStat::read(std::process::id()).map_or(0.0, |s| s.cpu_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        if !cfg!(target_os = "linux") {
            return;
        }
        let start = ProcStat::read(std::process::id()).unwrap();
        // Burn some CPU so the counter moves by at least a tick.
        let mut x = 0u64;
        let t = std::time::Instant::now();
        while t.elapsed() < std::time::Duration::from_millis(100) {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        std::hint::black_box(x);
        let end = ProcStat::read(std::process::id()).unwrap();
        assert!(end.cpu_secs > start.cpu_secs, "{start:?} → {end:?}");
        assert!(end.rss_kib > 0 && end.peak_rss_kib >= end.rss_kib);
        assert!(end.anon_kib > 0 && end.anon_kib + end.file_kib <= end.rss_kib + 4);
    }

    #[test]
    fn finds_a_child_by_its_parent() {
        if !cfg!(target_os = "linux") {
            return;
        }
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let found = ProcStat::children(std::process::id());
        let _ = child.kill();
        let _ = child.wait();
        assert!(found.contains(&child.id()), "{found:?}");
        assert!(ProcStat::name(std::process::id()).is_some());
    }
}
