//! The workload: N MCP clients (rmcp, Streamable HTTP, one session each) calling one tool as
//! fast as their answers come back, each call timed from send to answer.

use super::procstat::ProcStat;
use anyhow::Context;
use rmcp::model::{CallToolRequestParams, JsonObject};
use rmcp::service::{Peer, RoleClient, RunningService, ServiceExt};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde::Serialize;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Where the calls go: the lab server itself, or warden in front of it.
#[derive(Debug, Clone)]
pub struct Path {
    pub url: String,
    pub token: Option<String>,
    pub tool: String,
}

#[derive(Debug, Clone, Copy)]
pub struct Workload {
    pub clients: usize,
    /// Measured calls, spread evenly over the clients.
    pub calls: usize,
    /// Unmeasured calls first, to open connections and fill caches.
    pub warmup: usize,
    /// Calls per second offered by all clients together, each client on a fixed schedule;
    /// `None`: each client sends its next call as soon as the last one is answered.
    pub rate: Option<f64>,
}

pub struct Run {
    pub latencies_ns: Vec<u64>,
    pub errors: u64,
    pub wall: Duration,
    /// CPU time of this process (the clients) during the measured calls.
    pub client_cpu_secs: f64,
    /// The most resident memory the server processes had together, sampled every 20 ms.
    pub peak_rss_kib: Option<u64>,
}

/// Each call's answer must come within this; a slower one counts as an error.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

type Client = RunningService<RoleClient, ()>;

async fn connect(path: &Path) -> anyhow::Result<Client> {
    let mut config = StreamableHttpClientTransportConfig::with_uri(path.url.as_str());
    if let Some(token) = &path.token {
        config = config.auth_header(token.clone());
    }
    // A kept-alive connection, as an agent's HTTP client keeps one (rmcp's default client opens
    // a connection per call); the same client on both paths, and warden's own upstream client
    // is pooled too (`warden_gateway::upstream::http_client`).
    let http = reqwest::Client::builder()
        .tcp_nodelay(true)
        .build()
        .context("cannot build an HTTP client")?;
    let transport = StreamableHttpClientTransport::with_client(http, config);
    ().serve(transport)
        .await
        .with_context(|| format!("cannot open an MCP session with {}", path.url))
}

fn arguments() -> JsonObject {
    let Value::Object(args) = json!({"alert_id": "ALR-2001"}) else {
        return JsonObject::new();
    };
    args
}

/// One call; its latency, counted from `due` (when it should have been sent), or `None` when
/// it failed or was refused.
async fn call(
    peer: &Peer<RoleClient>,
    tool: &str,
    args: &JsonObject,
    due: Instant,
) -> Option<Duration> {
    let request = CallToolRequestParams::new(tool.to_string()).with_arguments(args.clone());
    match tokio::time::timeout(CALL_TIMEOUT, peer.call_tool(request)).await {
        Ok(Ok(result)) if result.is_error != Some(true) => Some(due.elapsed()),
        _ => None,
    }
}

/// `calls` calls spread over `peers`, all starting together; (latencies, errors).
///
/// With a `rate`, client `i` of `n` sends its `k`-th call at `start + (k·n + i) / rate`. A call
/// whose client is behind schedule (still waiting for its previous answer) counts from when it
/// was due, so the wait is charged to the system (no coordinated omission); one on time counts
/// from when the client's timer woke, so the timer's 1 ms steps are not charged to it.
async fn drive(
    peers: &[Peer<RoleClient>],
    tool: &str,
    calls: usize,
    rate: Option<f64>,
) -> (Vec<u64>, u64) {
    let n = peers.len().max(1);
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for (i, peer) in peers.iter().enumerate() {
        let share = calls / n + usize::from(i < calls % n);
        let (peer, tool) = (peer.clone(), tool.to_string());
        tasks.push(tokio::spawn(async move {
            let args = arguments();
            let mut latencies = Vec::with_capacity(share);
            let mut errors = 0u64;
            for k in 0..share {
                let due = match rate {
                    Some(r) => {
                        let at = start + Duration::from_secs_f64((k * n + i) as f64 / r);
                        if Instant::now() < at {
                            // On time: counted from when the timer woke (it has 1 ms steps).
                            tokio::time::sleep_until(at.into()).await;
                            Instant::now()
                        } else {
                            // Behind schedule: the wait for the previous answer counts too.
                            at
                        }
                    }
                    None => Instant::now(),
                };
                match call(&peer, &tool, &args, due).await {
                    Some(d) => latencies.push(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
                    None => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let mut all = Vec::with_capacity(calls);
    let mut errors = 0;
    for task in tasks {
        match task.await {
            Ok((l, e)) => {
                all.extend(l);
                errors += e;
            }
            Err(_) => errors += 1,
        }
    }
    (all, errors)
}

/// Samples the summed resident memory of `pids` until `stop`; the largest sample.
fn sample_rss(pids: Vec<u32>, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<Option<u64>> {
    tokio::spawn(async move {
        let mut peak: Option<u64> = None;
        while !stop.load(Ordering::Relaxed) {
            let rss: Option<u64> = pids
                .iter()
                .map(|&p| ProcStat::read(p).map(|s| s.rss_kib))
                .sum();
            if let Some(r) = rss {
                peak = Some(peak.map_or(r, |p| p.max(r)));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        peak
    })
}

pub async fn run(work: &Workload, path: &Path, pids: &[u32]) -> anyhow::Result<Run> {
    let mut clients = Vec::with_capacity(work.clients);
    for _ in 0..work.clients {
        clients.push(connect(path).await?);
    }
    let peers: Vec<Peer<RoleClient>> = clients.iter().map(|c| c.peer().clone()).collect();
    let (_, warm_errors) = drive(&peers, &path.tool, work.warmup, work.rate).await;
    if warm_errors > 0 {
        anyhow::bail!(
            "{warm_errors} of {} warm-up calls to `{}` at {} failed",
            work.warmup,
            path.tool,
            path.url
        );
    }
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = sample_rss(pids.to_vec(), stop.clone());
    let cpu = ProcStat::own_cpu_secs();
    let start = Instant::now();
    let (latencies_ns, errors) = drive(&peers, &path.tool, work.calls, work.rate).await;
    let wall = start.elapsed();
    let client_cpu_secs = ProcStat::own_cpu_secs() - cpu;
    stop.store(true, Ordering::Relaxed);
    let peak_rss_kib = sampler.await.ok().flatten();
    for c in clients {
        let _ = c.cancel().await;
    }
    let mut latencies_ns = latencies_ns;
    latencies_ns.sort_unstable();
    Ok(Run {
        latencies_ns,
        errors,
        wall,
        client_cpu_secs,
        peak_rss_kib,
    })
}

/// Nearest-rank percentile `q` (0–1) of sorted nanosecond latencies, in microseconds.
pub fn percentile_us(sorted_ns: &[u64], q: f64) -> Option<f64> {
    if sorted_ns.is_empty() {
        return None;
    }
    let rank = (q * sorted_ns.len() as f64).ceil() as usize;
    let i = rank.clamp(1, sorted_ns.len()) - 1;
    sorted_ns.get(i).map(|&ns| ns as f64 / 1000.0)
}

/// A long run through warden and its memory over time.
#[derive(Debug, Serialize)]
pub struct Soak {
    pub clients: usize,
    pub seconds: f64,
    pub calls: u64,
    pub errors: u64,
    pub samples: Vec<Sample>,
}

#[derive(Debug, Serialize)]
pub struct Sample {
    pub t_secs: f64,
    pub rss_kib: u64,
    /// Of `rss_kib`: anonymous memory (heap, stacks).
    pub anon_kib: u64,
    /// Of `rss_kib`: file-backed and shared memory (mapped files).
    pub file_kib: u64,
    /// Calls answered so far.
    pub calls: u64,
}

/// Calls through `path` from `clients` clients for `length`, sampling the resident memory of
/// `pid` once a second with the number of calls answered so far.
pub async fn soak(path: &Path, clients: usize, length: Duration, pid: u32) -> anyhow::Result<Soak> {
    let mut sessions = Vec::with_capacity(clients);
    for _ in 0..clients {
        sessions.push(connect(path).await?);
    }
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + length;
    let mut tasks = Vec::with_capacity(clients);
    for s in &sessions {
        let (peer, tool) = (s.peer().clone(), path.tool.clone());
        let (done, failed) = (done.clone(), failed.clone());
        tasks.push(tokio::spawn(async move {
            let args = arguments();
            while Instant::now() < deadline {
                match call(&peer, &tool, &args, Instant::now()).await {
                    Some(_) => done.fetch_add(1, Ordering::Relaxed),
                    None => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    let start = Instant::now();
    let mut samples = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        if let Some(s) = ProcStat::read(pid) {
            samples.push(Sample {
                t_secs: start.elapsed().as_secs_f64(),
                rss_kib: s.rss_kib,
                anon_kib: s.anon_kib,
                file_kib: s.file_kib,
                calls: done.load(Ordering::Relaxed),
            });
        }
        if Instant::now() >= deadline {
            break;
        }
    }
    for t in tasks {
        let _ = t.await;
    }
    for s in sessions {
        let _ = s.cancel().await;
    }
    Ok(Soak {
        clients,
        seconds: start.elapsed().as_secs_f64(),
        calls: done.load(Ordering::Relaxed),
        errors: failed.load(Ordering::Relaxed),
        samples,
    })
}

#[cfg(test)]
mod tests {
    use super::percentile_us;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=1000).map(|i| i * 1000).collect();
        assert_eq!(percentile_us(&v, 0.50), Some(500.0));
        assert_eq!(percentile_us(&v, 0.99), Some(990.0));
        assert_eq!(percentile_us(&v, 0.999), Some(999.0));
        assert_eq!(percentile_us(&v, 1.0), Some(1000.0));
        assert_eq!(percentile_us(&[7000], 0.999), Some(7.0));
        assert_eq!(percentile_us(&[], 0.5), None);
    }
}
