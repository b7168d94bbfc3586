//! `warden bench`: the price of governance, measured end to end in one run.
//!
//! One process tree: this process plays N concurrent MCP clients; a lab SIEM server runs as a
//! child over Streamable HTTP; a `warden serve` child fronts that same server with the example
//! SOC configuration (policy, durable ledger, result screen, monitor); where nginx is installed,
//! an nginx child fronts it too as a plain keep-alive reverse proxy. Each level of concurrency
//! runs the same workload on each path in turn — (a) straight to the lab server, (c) through
//! nginx, (b) through warden — and the report puts them side by side: latency percentiles,
//! calls per second, CPU seconds per 1,000 calls of the server processes, their peak memory,
//! the ratios, and the targets, which are stated against the plain hop and this disk's
//! fsync latency (measured at each level just before the run through warden, in the folder
//! holding warden's ledger, so that both see the disk in the same state).
//!
//! The only changes to the example configuration: the monitor's rate trigger is off and the
//! agent's request rate (`[gateway] agent_requests_per_sec`, `agent_burst`) is raised out of
//! reach, since a benchmark is by design an agent calling far faster than the 120 calls a
//! minute that trigger halts and the 50 requests a second the front serves one agent. The rate
//! is still checked on every request. Every other guardrail runs as deployed. At the end the ledger of the run is verified
//! with `warden audit verify` and its decision events are counted, so the report also proves
//! that every measured call went through the guardrails.

mod fsync;
mod load;
mod nginx;
mod procstat;

use anyhow::{Context, bail};
use serde::Serialize;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::Duration;

use fsync::Fsync;
use load::{Path as Route, Workload};
use nginx::Nginx;
use procstat::ProcStat;

/// The lab tool every call uses: a benign alert, about 500 bytes of JSON.
const TOOL: &str = "get_alert";
const SERVER: &str = "siem";
const AGENT_TOKEN: &str = "lab-triage-token";

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Concurrent clients, one level each
    #[arg(long, value_delimiter = ',', default_values_t = vec![1, 16, 64])]
    pub clients: Vec<usize>,
    /// Calls measured per level and path
    #[arg(long, default_value_t = 20_000)]
    pub calls: usize,
    /// Unmeasured calls per level and path before measuring
    #[arg(long, default_value_t = 1_000)]
    pub warmup: usize,
    /// Calls per second offered by all clients together, on a fixed schedule, instead of each
    /// client calling again as soon as it is answered; latency then counts from each call's
    /// scheduled time. Below saturation this shows what warden adds to a call, not queueing
    #[arg(long)]
    pub rate: Option<f64>,
    /// Seconds of load through warden after the levels, at the largest level, sampling memory
    #[arg(long, default_value_t = 0)]
    pub soak_secs: u64,
    /// A few hundred calls per level: shows the harness works; the figures mean little
    #[arg(long)]
    pub quick: bool,
    /// Print the report as one JSON object
    #[arg(long)]
    pub json: bool,
    /// Keep the run's configuration, ledger and lab state here (default: a temporary folder)
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// The nginx binary for path (c), the plain reverse-proxy hop (default: `nginx` on `PATH`,
    /// else `/usr/sbin/nginx`; where there is none, path (c) is skipped and the report says so)
    #[arg(long, value_name = "PATH")]
    pub nginx: Option<PathBuf>,
}

/// Durable writes timed for the fsync figure (fewer with `--quick`).
const FSYNC_WRITES: usize = 2_000;

pub async fn run(mut args: Args) -> anyhow::Result<ExitCode> {
    if args.quick {
        args.calls = args.calls.min(300);
        args.warmup = args.warmup.min(50);
        args.soak_secs = args.soak_secs.min(2);
    }
    if args.rate.is_some_and(|r| !(r.is_finite() && r > 0.0)) {
        bail!("`--rate` needs a number of calls per second above zero");
    }
    if args.clients.is_empty() || args.clients.contains(&0) {
        bail!("`--clients` needs one or more counts above zero");
    }
    let temp;
    let dir = match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d)
                .with_context(|| format!("cannot create `{}`", d.display()))?;
            d.clone()
        }
        None => {
            temp = tempfile::tempdir().context("cannot create a temporary folder")?;
            temp.path().to_path_buf()
        }
    };
    let exe = std::env::current_exe().context("cannot find warden's own binary")?;
    let nginx_binary = nginx::find(args.nginx.as_deref())?;
    let nginx_version = nginx_binary.as_deref().map(nginx::version).transpose()?;
    let fsync_writes = if args.quick { 200 } else { FSYNC_WRITES };

    let lab = Proc::spawn(
        Command::new(&exe)
            .args([
                "lab",
                "server",
                SERVER,
                "--http",
                "127.0.0.1:0",
                "--state-dir",
            ])
            .arg(dir.join("state/lab")),
        "listening on ",
    )
    .context("cannot start the lab server")?;
    let config = bench_config(&dir, &lab.url)?;
    let warden = Proc::spawn(
        Command::new(&exe)
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .env("WARDEN_LOG", "warn"),
        "warden: listening on ",
    )
    .context("cannot start warden")?;
    let most_clients = args.clients.iter().copied().max().unwrap_or(1);
    let proxy = match &nginx_binary {
        Some(binary) => Some(
            Nginx::start(binary, &dir.join("nginx"), &lab.url, most_clients)
                .context("cannot start nginx for path (c)")?,
        ),
        None => None,
    };

    let direct = Route {
        url: lab.url.clone(),
        token: None,
        tool: TOOL.to_string(),
    };
    let through = Route {
        url: warden.url.clone(),
        token: Some(AGENT_TOKEN.to_string()),
        tool: format!("{SERVER}.{TOOL}"),
    };
    let hop = proxy.as_ref().map(|n| Route {
        url: n.url.clone(),
        token: None,
        tool: TOOL.to_string(),
    });
    let mut levels = Vec::new();
    for &clients in &args.clients {
        let work = Workload {
            clients,
            calls: args.calls.max(clients),
            warmup: args.warmup,
            rate: args.rate,
        };
        // Interleaved per level: direct, the plain hop, warden.
        let direct = measure(&work, &direct, lab.pid(), &[]).await?;
        let plain = match (&hop, &proxy) {
            (Some(route), Some(n)) => Some(measure(&work, route, lab.pid(), &n.pids).await?),
            _ => None,
        };
        // The disk as warden's ledger is about to find it; no path is running meanwhile.
        let fsync = fsync::probe(&dir.join("state"), fsync_writes)
            .context("cannot measure this disk's fsync latency")?;
        let warden_run = measure(&work, &through, lab.pid(), &[warden.pid()]).await?;
        if !args.json {
            let paths = if plain.is_some() {
                "direct, through nginx and through warden"
            } else {
                "direct and through warden"
            };
            eprintln!("{clients:>3} clients: {paths} measured");
        }
        levels.push(Level::new(
            clients, direct, plain, warden_run, fsync, args.rate,
        ));
    }
    let soak = if args.soak_secs > 0 {
        let length = Duration::from_secs(args.soak_secs);
        Some(load::soak(&through, most_clients, length, warden.pid()).await?)
    } else {
        None
    };
    let warden_peak_rss_kib = ProcStat::read(warden.pid()).map(|s| s.peak_rss_kib);
    let nginx_processes = proxy.as_ref().map(|n| n.pids.len());
    drop(warden);
    drop(proxy);
    drop(lab);

    let ledger = check_ledger(&exe, &config)?;
    let report = Report {
        date: time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        machine: Machine::this(),
        workload: json!({
            "tool": format!("{SERVER}.{TOOL}"),
            "agent": "triage",
            "calls_per_level": args.calls,
            "offered_calls_per_sec": args.rate,
            "warmup_per_level": args.warmup,
            "transport": "Streamable HTTP on loopback",
            "quick": args.quick,
        }),
        nginx: NginxInfo {
            skipped: nginx_binary.is_none().then(|| {
                "path (c) skipped: nginx was not found on PATH or at /usr/sbin/nginx \
                 (`--nginx PATH` names one), so the plain reverse-proxy hop and the targets \
                 stated against it were not measured"
                    .to_string()
            }),
            binary: nginx_binary.map(|b| b.display().to_string()),
            version: nginx_version,
            processes: nginx_processes,
        },
        levels,
        warden_peak_rss_kib,
        soak,
        ledger,
    };
    if args.json {
        crate::output::say!("{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        crate::output::print(&report.render(args.calls, args.rate))?;
    }
    let failed: u64 = report
        .levels
        .iter()
        .map(|l| l.direct.errors + l.nginx.as_ref().map_or(0, |n| n.errors) + l.warden.errors)
        .chain(report.soak.as_ref().map(|s| s.errors))
        .sum();
    if failed > 0 {
        bail!("{failed} calls failed: the figures above do not describe a working gateway");
    }
    let through_warden: u64 = report
        .levels
        .iter()
        .map(|l| (l.warden.calls + args.warmup) as u64)
        .sum();
    if report.ledger.decisions < through_warden {
        bail!("the ledger holds fewer allowed decisions than calls made through warden");
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Serialize)]
struct Report {
    date: String,
    machine: Machine,
    workload: Value,
    /// Path (c): which nginx ran, or why it was skipped.
    nginx: NginxInfo,
    levels: Vec<Level>,
    /// warden's peak resident memory over the whole run (`VmHWM`).
    warden_peak_rss_kib: Option<u64>,
    soak: Option<load::Soak>,
    ledger: LedgerCheck,
}

#[derive(Debug, Serialize)]
struct NginxInfo {
    binary: Option<String>,
    version: Option<String>,
    /// The master and its workers.
    processes: Option<usize>,
    /// Why path (c) did not run; `None` when it did.
    skipped: Option<String>,
}

/// One path at one level of concurrency.
#[derive(Debug, Serialize)]
struct PathFigures {
    calls: usize,
    errors: u64,
    seconds: f64,
    calls_per_sec: f64,
    p50_us: Option<f64>,
    p99_us: Option<f64>,
    p999_us: Option<f64>,
    /// CPU seconds per 1,000 calls of the server processes: the lab, plus the hop's.
    server_cpu_secs_per_1000: Option<f64>,
    /// CPU seconds per 1,000 calls of the hop's processes alone: warden, or nginx's master and
    /// workers (`None` on the direct path).
    hop_cpu_secs_per_1000: Option<f64>,
    /// CPU seconds per 1,000 calls of the clients (this process).
    client_cpu_secs_per_1000: f64,
    /// The most memory the server processes held together during the run.
    server_peak_rss_kib: Option<u64>,
}

#[derive(Debug, Serialize)]
struct Level {
    clients: usize,
    direct: PathFigures,
    /// Through nginx; `None` where path (c) was skipped.
    nginx: Option<PathFigures>,
    warden: PathFigures,
    /// This disk's durable-write latency, measured just before the run through warden.
    fsync: Fsync,
    /// warden ÷ direct for each figure.
    ratio: Ratios,
    /// warden − direct for the latency percentiles: what warden adds to each call.
    added_us: Added,
    /// nginx ÷ direct.
    nginx_ratio: Option<Ratios>,
    /// nginx − direct: what a plain hop adds to each call.
    nginx_added_us: Option<Added>,
    /// The targets, computed from this level's figures.
    targets: Vec<Target>,
}

/// A target the issue states, checked against this run's figures.
#[derive(Debug, Serialize)]
struct Target {
    name: &'static str,
    /// The rule, in words.
    rule: &'static str,
    value: Option<f64>,
    limit: Option<f64>,
    /// `None` when a figure it needs is missing.
    met: Option<bool>,
}

impl Target {
    fn at_most(
        name: &'static str,
        rule: &'static str,
        value: Option<f64>,
        limit: Option<f64>,
    ) -> Target {
        let met = match (value, limit) {
            (Some(v), Some(l)) => Some(v <= l),
            _ => None,
        };
        Target {
            name,
            rule,
            value,
            limit,
            met,
        }
    }

    fn at_least(name: &'static str, rule: &'static str, value: Option<f64>, limit: f64) -> Target {
        Target {
            name,
            rule,
            value,
            limit: Some(limit),
            met: value.map(|v| v >= limit),
        }
    }
}

/// What the issue allows warden to add at p50 beyond a plain hop and a durable write.
const ADDED_P50_ALLOWANCE_US: f64 = 150.0;
/// The most warden may add at p99 at a paced rate below saturation.
const ADDED_P99_PACED_US: f64 = 2_000.0;
/// warden's throughput as a share of the plain hop's, at least.
const THROUGHPUT_SHARE: f64 = 0.8;
/// warden's CPU per call as a multiple of the plain hop's, at most.
const CPU_MULTIPLE: f64 = 2.0;

#[derive(Debug, Serialize)]
struct Ratios {
    p50: Option<f64>,
    p99: Option<f64>,
    p999: Option<f64>,
    calls_per_sec: Option<f64>,
    server_cpu_secs_per_1000: Option<f64>,
}

#[derive(Debug, Serialize)]
struct Added {
    p50: Option<f64>,
    p99: Option<f64>,
    p999: Option<f64>,
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) if x > 0.0 => Some(y / x),
        _ => None,
    }
}

impl Ratios {
    /// `b` ÷ `a` for each figure.
    fn of(a: &PathFigures, b: &PathFigures) -> Ratios {
        Ratios {
            p50: ratio(a.p50_us, b.p50_us),
            p99: ratio(a.p99_us, b.p99_us),
            p999: ratio(a.p999_us, b.p999_us),
            calls_per_sec: ratio(Some(a.calls_per_sec), Some(b.calls_per_sec)),
            server_cpu_secs_per_1000: ratio(a.server_cpu_secs_per_1000, b.server_cpu_secs_per_1000),
        }
    }
}

impl Added {
    /// `b` − `a` for each latency percentile.
    fn of(a: &PathFigures, b: &PathFigures) -> Added {
        let minus = |x: Option<f64>, y: Option<f64>| Some(y? - x?);
        Added {
            p50: minus(a.p50_us, b.p50_us),
            p99: minus(a.p99_us, b.p99_us),
            p999: minus(a.p999_us, b.p999_us),
        }
    }
}

impl Level {
    fn new(
        clients: usize,
        direct: PathFigures,
        nginx: Option<PathFigures>,
        warden: PathFigures,
        fsync: Fsync,
        rate: Option<f64>,
    ) -> Level {
        let added_us = Added::of(&direct, &warden);
        let nginx_added_us = nginx.as_ref().map(|n| Added::of(&direct, n));
        let mut targets = Vec::new();
        if let (Some(n), Some(hop)) = (&nginx, &nginx_added_us) {
            let allowed = || Some(hop.p50? + fsync.p50_us? + ADDED_P50_ALLOWANCE_US);
            targets.push(Target::at_most(
                "added_p50",
                "warden's added p50 ≤ nginx's added p50 + fsync p50 + 150 µs",
                added_us.p50,
                allowed(),
            ));
            // At a paced rate every path that keeps up delivers the rate offered: throughput
            // is a target only where each client calls as fast as it is answered.
            if rate.is_none() {
                targets.push(Target::at_least(
                    "throughput",
                    "warden's calls/s ≥ 0.8 × nginx's",
                    ratio(Some(n.calls_per_sec), Some(warden.calls_per_sec)),
                    THROUGHPUT_SHARE,
                ));
            }
            targets.push(Target::at_most(
                "cpu_per_call",
                "warden's CPU per call ≤ 2 × nginx's (the hop's own processes)",
                ratio(n.hop_cpu_secs_per_1000, warden.hop_cpu_secs_per_1000),
                Some(CPU_MULTIPLE),
            ));
        }
        if rate.is_some() {
            targets.push(Target::at_most(
                "added_p99_paced",
                "warden's added p99 at a paced rate below saturation ≤ 2 ms",
                added_us.p99,
                Some(ADDED_P99_PACED_US),
            ));
        }
        Level {
            clients,
            ratio: Ratios::of(&direct, &warden),
            added_us,
            nginx_ratio: nginx.as_ref().map(|n| Ratios::of(&direct, n)),
            nginx_added_us,
            targets,
            direct,
            nginx,
            warden,
            fsync,
        }
    }
}

#[derive(Debug, Serialize)]
struct LedgerCheck {
    verified: bool,
    events: u64,
    /// Allowed decisions: one per call that went through warden.
    decisions: u64,
    outcomes: u64,
}

#[derive(Debug, Serialize)]
struct Machine {
    cpus: usize,
    cpu: String,
    os: &'static str,
    profile: &'static str,
}

impl Machine {
    fn this() -> Machine {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|t| {
                t.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split(':').nth(1))
                    .map(|s| s.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        Machine {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu,
            os: std::env::consts::OS,
            profile: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            },
        }
    }
}

/// The example SOC configuration, with the SIEM reached over Streamable HTTP at `lab_url` and
/// the monitor's rate trigger off and the agent's request rate out of reach.
fn bench_config(dir: &Path, lab_url: &str) -> anyhow::Result<PathBuf> {
    let path = crate::embedded::materialise(dir)?;
    let text = std::fs::read_to_string(&path)?;
    let mut config: toml::Table = text.parse().context("the bundled config does not parse")?;
    let siem = config
        .get_mut("servers")
        .and_then(|s| s.get_mut(SERVER))
        .and_then(|s| s.as_table_mut())
        .context("the bundled config has no `servers.siem`")?;
    siem.remove("command");
    siem.remove("args");
    siem.insert("url".into(), toml::Value::String(lab_url.to_string()));
    let monitor = config
        .entry("monitor")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    let Some(monitor) = monitor.as_table_mut() else {
        bail!("`monitor` in the bundled config is not a table");
    };
    let mut rate = toml::Table::new();
    rate.insert("action".into(), toml::Value::String("off".into()));
    monitor.insert("rate".into(), toml::Value::Table(rate));
    let Some(gateway) = config.get_mut("gateway").and_then(|g| g.as_table_mut()) else {
        bail!("the bundled config has no `gateway` table");
    };
    for key in ["agent_requests_per_sec", "agent_burst"] {
        gateway.insert(key.into(), toml::Value::Integer(i64::from(u32::MAX)));
    }
    std::fs::write(&path, toml::to_string(&config)?)?;
    Ok(path)
}

/// One run of `work` on `route`, with CPU and memory of the server processes: the lab and the
/// hop's processes (none on the direct path; warden; nginx's master and workers).
async fn measure(
    work: &Workload,
    route: &Route,
    lab: u32,
    hop: &[u32],
) -> anyhow::Result<PathFigures> {
    let pids: Vec<u32> = std::iter::once(lab).chain(hop.iter().copied()).collect();
    let before: Vec<ProcStat> = pids.iter().filter_map(|&p| ProcStat::read(p)).collect();
    let run = load::run(work, route, &pids).await?;
    let after: Vec<ProcStat> = pids.iter().filter_map(|&p| ProcStat::read(p)).collect();
    let complete = before.len() == pids.len() && after.len() == pids.len();
    // The first is the lab's; the rest are the hop's.
    let used: Vec<f64> = after
        .iter()
        .zip(&before)
        .map(|(a, b)| a.cpu_secs - b.cpu_secs)
        .collect();
    let calls = run.latencies_ns.len() as f64;
    let per_1000 = |cpu: f64| cpu * 1000.0 / calls.max(1.0);
    let hop_used: f64 = used.iter().skip(1).sum();
    Ok(PathFigures {
        calls: run.latencies_ns.len(),
        errors: run.errors,
        seconds: run.wall.as_secs_f64(),
        calls_per_sec: calls / run.wall.as_secs_f64().max(1e-9),
        p50_us: load::percentile_us(&run.latencies_ns, 0.50),
        p99_us: load::percentile_us(&run.latencies_ns, 0.99),
        p999_us: load::percentile_us(&run.latencies_ns, 0.999),
        server_cpu_secs_per_1000: complete.then(|| per_1000(used.iter().sum())),
        hop_cpu_secs_per_1000: (complete && !hop.is_empty()).then(|| per_1000(hop_used)),
        client_cpu_secs_per_1000: per_1000(run.client_cpu_secs),
        server_peak_rss_kib: run.peak_rss_kib,
    })
}

/// Verifies the run's ledger with the real verifier and counts its events.
fn check_ledger(exe: &Path, config: &Path) -> anyhow::Result<LedgerCheck> {
    let out = Command::new(exe)
        .args(["audit", "verify", "--config"])
        .arg(config)
        .env("WARDEN_LOG", "warn")
        .output()
        .context("cannot run `warden audit verify`")?;
    if !out.status.success() {
        bail!(
            "the run's ledger does not verify: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let cfg = warden_policy::Config::load(config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let store = super::open_store(&cfg.store)?;
    let count = |kind: &str, decision: Option<&str>| -> anyhow::Result<u64> {
        let found = store.ledger_find(&warden_store::EventFilter {
            kind: Some(kind.into()),
            decision: decision.map(Into::into),
            ..Default::default()
        })?;
        Ok(found.len() as u64)
    };
    Ok(LedgerCheck {
        verified: true,
        events: store.ledger_size()?,
        decisions: count("decision", Some("allow"))?,
        outcomes: count("outcome", None)?,
    })
}

impl Report {
    /// The report as Markdown tables, as `docs/benchmarks.md` shows them.
    fn render(&self, calls: usize, rate: Option<f64>) -> String {
        use std::fmt::Write;
        let num = |v: Option<f64>, d: usize| v.map_or_else(|| "n/a".into(), |x| format!("{x:.d$}"));
        let mib = |k: Option<u64>| num(k.map(|k| k as f64 / 1024.0), 1);
        let mut s = String::new();
        let m = &self.machine;
        let pace = rate.map_or_else(
            || "each client calling as soon as it is answered".to_string(),
            |r| format!("{r} calls/s offered, latency from each call's scheduled time"),
        );
        let _ = writeln!(
            s,
            "warden bench — {calls} calls of {SERVER}.{TOOL} per level and path, {pace}; {} build, {} cpus ({}), {}\n",
            m.profile, m.cpus, m.cpu, self.date
        );
        let n = &self.nginx;
        match (&n.skipped, &n.binary) {
            (Some(why), _) => {
                let _ = writeln!(s, "{why}\n");
            }
            (None, Some(binary)) => {
                let _ = writeln!(
                    s,
                    "path (c): {} ({}) as a keep-alive reverse proxy, {} processes (master and workers)\n",
                    binary,
                    n.version.as_deref().unwrap_or("version unknown"),
                    n.processes.map_or_else(|| "n/a".into(), |p| p.to_string()),
                );
            }
            (None, None) => {}
        }
        let _ = writeln!(
            s,
            "| clients | path | p50 µs | p99 µs | p999 µs | calls/s | server CPU s/1k calls | of which the hop | client CPU s/1k | server peak RSS MiB |"
        );
        let _ = writeln!(s, "|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|");
        for l in &self.levels {
            let paths = [
                Some(("(a) direct", &l.direct)),
                l.nginx.as_ref().map(|p| ("(c) nginx", p)),
                Some(("(b) warden", &l.warden)),
            ];
            for (name, p) in paths.into_iter().flatten() {
                let _ = writeln!(
                    s,
                    "| {} | {name} | {} | {} | {} | {} | {} | {} | {} | {} |",
                    l.clients,
                    num(p.p50_us, 0),
                    num(p.p99_us, 0),
                    num(p.p999_us, 0),
                    num(Some(p.calls_per_sec), 0),
                    num(p.server_cpu_secs_per_1000, 3),
                    num(p.hop_cpu_secs_per_1000, 3),
                    num(Some(p.client_cpu_secs_per_1000), 3),
                    mib(p.server_peak_rss_kib),
                );
            }
            let ratios = [
                l.nginx_ratio.as_ref().map(|q| ("(c)/(a)", q)),
                Some(("(b)/(a)", &l.ratio)),
            ];
            for (name, q) in ratios.into_iter().flatten() {
                let _ = writeln!(
                    s,
                    "| {} | {name} | {} | {} | {} | {} | {} | | | |",
                    l.clients,
                    num(q.p50, 2),
                    num(q.p99, 2),
                    num(q.p999, 2),
                    num(q.calls_per_sec, 2),
                    num(q.server_cpu_secs_per_1000, 2),
                );
            }
        }
        let _ = writeln!(s);
        for l in &self.levels {
            let f = &l.fsync;
            let _ = writeln!(
                s,
                "fsync at {} clients: {} writes of {} bytes + fdatasync in the ledger's folder, just before the run through warden: p50 {} µs, p99 {} µs",
                l.clients,
                f.writes,
                f.bytes_per_write,
                num(f.p50_us, 0),
                num(f.p99_us, 0)
            );
        }
        for l in &self.levels {
            let mut line = String::new();
            if let Some(a) = &l.nginx_added_us {
                let _ = write!(
                    line,
                    "nginx p50 {} µs, p99 {} µs, p999 {} µs; ",
                    num(a.p50, 0),
                    num(a.p99, 0),
                    num(a.p999, 0)
                );
            }
            let a = &l.added_us;
            let _ = writeln!(
                s,
                "added at {} clients: {line}warden p50 {} µs, p99 {} µs, p999 {} µs",
                l.clients,
                num(a.p50, 0),
                num(a.p99, 0),
                num(a.p999, 0)
            );
        }
        let targets: Vec<_> = self
            .levels
            .iter()
            .flat_map(|l| l.targets.iter().map(move |t| (l.clients, t)))
            .collect();
        if !targets.is_empty() {
            let _ = writeln!(s, "\n| clients | target | value | limit | met |");
            let _ = writeln!(s, "|--:|---|--:|--:|---|");
            for (clients, t) in targets {
                // The latency targets are in µs; the others are ratios.
                let digits = if t.name.starts_with("added") { 0 } else { 2 };
                let _ = writeln!(
                    s,
                    "| {clients} | {} | {} | {} | {} |",
                    t.rule,
                    num(t.value, digits),
                    num(t.limit, digits),
                    match t.met {
                        Some(true) => "met",
                        Some(false) => "not met",
                        None => "n/a",
                    }
                );
            }
        }
        if let Some(soak) = &self.soak {
            let _ = writeln!(
                s,
                "\nsoak: {} clients through warden for {:.0} s, {} calls, {} errors; warden's memory:",
                soak.clients, soak.seconds, soak.calls, soak.errors
            );
            let step = (soak.samples.len() / 20).max(1);
            for x in soak.samples.iter().step_by(step) {
                let _ = writeln!(
                    s,
                    "  {:>6.0} s  {:>8} MiB (anonymous {:>6}, mapped files {:>6})  {:>9} calls",
                    x.t_secs,
                    mib(Some(x.rss_kib)),
                    mib(Some(x.anon_kib)),
                    mib(Some(x.file_kib)),
                    x.calls
                );
            }
        }
        let l = &self.ledger;
        let _ = writeln!(
            s,
            "\nwarden peak RSS {} MiB; ledger: {} events ({} allowed decisions, {} outcomes), verified: {}",
            mib(self.warden_peak_rss_kib),
            l.events,
            l.decisions,
            l.outcomes,
            l.verified
        );
        s
    }
}

/// A child process that prints its address on stderr, killed when dropped.
struct Proc {
    child: Child,
    url: String,
}

impl Proc {
    fn spawn(command: &mut Command, marker: &str) -> anyhow::Result<Proc> {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let mut lines = match child.stderr.take() {
            Some(e) => BufReader::new(e).lines(),
            None => bail!("no stderr from the child"),
        };
        let url = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some((_, url)) = line.split_once(marker) {
                        break url.trim().to_string();
                    }
                }
                _ => {
                    let _ = child.kill();
                    bail!("it exited before listening");
                }
            }
        };
        // Keep draining stderr so the child never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Ok(Proc { child, url })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        // SIGTERM first, so warden signs its last checkpoint.
        terminate(&mut self.child);
    }
}

/// Stops `child`: SIGTERM, up to 5 s for it to exit, then SIGKILL. Whether it had to be killed.
fn terminate(child: &mut Child) -> bool {
    let pid = child.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    for _ in 0..50 {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    true
}
