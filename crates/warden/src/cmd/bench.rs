//! `warden bench`: the price of governance, measured end to end in one run.
//!
//! One process tree: this process plays N concurrent MCP clients; a lab SIEM server runs as a
//! child over Streamable HTTP; a `warden serve` child fronts that same server with the example
//! SOC configuration (policy, durable ledger, result screen, monitor). Each level of
//! concurrency is run twice with the same workload — (a) straight to the lab server, (b) through
//! warden — and the report puts them side by side: latency percentiles, calls per second, CPU
//! seconds per 1,000 calls of the server processes, their peak memory, and the ratio (b)/(a).
//!
//! The only change to the example configuration: the monitor's rate trigger is off, since a
//! benchmark is by design an agent calling far faster than the 120 calls a minute that trigger
//! halts. Every other guardrail runs as deployed. At the end the ledger of the run is verified
//! with `warden audit verify` and its decision events are counted, so the report also proves
//! that every measured call went through the guardrails.

mod load;
mod procstat;

use anyhow::{Context, bail};
use serde::Serialize;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::Duration;

use load::{Path as Route, Workload};
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
}

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
    let mut levels = Vec::new();
    for &clients in &args.clients {
        let work = Workload {
            clients,
            calls: args.calls.max(clients),
            warmup: args.warmup,
            rate: args.rate,
        };
        let direct = measure(&work, &direct, &[lab.pid()]).await?;
        let warden_run = measure(&work, &through, &[lab.pid(), warden.pid()]).await?;
        if !args.json {
            eprintln!("{clients:>3} clients: direct and through warden measured");
        }
        levels.push(Level::new(clients, direct, warden_run));
    }
    let soak = if args.soak_secs > 0 {
        let clients = args.clients.iter().copied().max().unwrap_or(1);
        let length = Duration::from_secs(args.soak_secs);
        Some(load::soak(&through, clients, length, warden.pid()).await?)
    } else {
        None
    };
    let warden_peak_rss_kib = ProcStat::read(warden.pid()).map(|s| s.peak_rss_kib);
    drop(warden);
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
        levels,
        warden_peak_rss_kib,
        soak,
        ledger,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.render(args.calls, args.rate));
    }
    let failed: u64 = report
        .levels
        .iter()
        .map(|l| l.direct.errors + l.warden.errors)
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
    levels: Vec<Level>,
    /// warden's peak resident memory over the whole run (`VmHWM`).
    warden_peak_rss_kib: Option<u64>,
    soak: Option<load::Soak>,
    ledger: LedgerCheck,
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
    /// CPU seconds per 1,000 calls of the server processes (the lab; the lab and warden).
    server_cpu_secs_per_1000: Option<f64>,
    /// CPU seconds per 1,000 calls of warden alone (through warden only).
    warden_cpu_secs_per_1000: Option<f64>,
    /// CPU seconds per 1,000 calls of the clients (this process).
    client_cpu_secs_per_1000: f64,
    /// The most memory the server processes held together during the run.
    server_peak_rss_kib: Option<u64>,
}

#[derive(Debug, Serialize)]
struct Level {
    clients: usize,
    direct: PathFigures,
    warden: PathFigures,
    /// (b)/(a) for each figure.
    ratio: Ratios,
    /// (b) − (a) for the latency percentiles: what warden adds to each call.
    added_us: Added,
}

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

impl Level {
    fn new(clients: usize, direct: PathFigures, warden: PathFigures) -> Level {
        let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(x), Some(y)) if x > 0.0 => Some(y / x),
            _ => None,
        };
        let added = |a: Option<f64>, b: Option<f64>| Some(b? - a?);
        Level {
            clients,
            ratio: Ratios {
                p50: ratio(direct.p50_us, warden.p50_us),
                p99: ratio(direct.p99_us, warden.p99_us),
                p999: ratio(direct.p999_us, warden.p999_us),
                calls_per_sec: ratio(Some(direct.calls_per_sec), Some(warden.calls_per_sec)),
                server_cpu_secs_per_1000: ratio(
                    direct.server_cpu_secs_per_1000,
                    warden.server_cpu_secs_per_1000,
                ),
            },
            added_us: Added {
                p50: added(direct.p50_us, warden.p50_us),
                p99: added(direct.p99_us, warden.p99_us),
                p999: added(direct.p999_us, warden.p999_us),
            },
            direct,
            warden,
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
/// the monitor's rate trigger off.
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
    std::fs::write(&path, toml::to_string(&config)?)?;
    Ok(path)
}

/// One run of `work` on `route`, with CPU and memory of the server processes `pids`; the last
/// of them is warden when the route goes through it.
async fn measure(work: &Workload, route: &Route, pids: &[u32]) -> anyhow::Result<PathFigures> {
    let before: Vec<ProcStat> = pids.iter().filter_map(|&p| ProcStat::read(p)).collect();
    let run = load::run(work, route, pids).await?;
    let after: Vec<ProcStat> = pids.iter().filter_map(|&p| ProcStat::read(p)).collect();
    let complete = before.len() == pids.len() && after.len() == pids.len();
    let used: Vec<f64> = after
        .iter()
        .zip(&before)
        .map(|(a, b)| a.cpu_secs - b.cpu_secs)
        .collect();
    let calls = run.latencies_ns.len() as f64;
    let per_1000 = |cpu: f64| cpu * 1000.0 / calls.max(1.0);
    Ok(PathFigures {
        calls: run.latencies_ns.len(),
        errors: run.errors,
        seconds: run.wall.as_secs_f64(),
        calls_per_sec: calls / run.wall.as_secs_f64().max(1e-9),
        p50_us: load::percentile_us(&run.latencies_ns, 0.50),
        p99_us: load::percentile_us(&run.latencies_ns, 0.99),
        p999_us: load::percentile_us(&run.latencies_ns, 0.999),
        server_cpu_secs_per_1000: complete.then(|| per_1000(used.iter().sum())),
        warden_cpu_secs_per_1000: (complete && pids.len() > 1)
            .then(|| used.last().copied().map(per_1000))
            .flatten(),
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
        let _ = writeln!(
            s,
            "| clients | path | p50 µs | p99 µs | p999 µs | calls/s | server CPU s/1k calls | of which warden | client CPU s/1k | server peak RSS MiB |"
        );
        let _ = writeln!(s, "|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|");
        for l in &self.levels {
            for (name, p) in [("(a) direct", &l.direct), ("(b) warden", &l.warden)] {
                let _ = writeln!(
                    s,
                    "| {} | {name} | {} | {} | {} | {} | {} | {} | {} | {} |",
                    l.clients,
                    num(p.p50_us, 0),
                    num(p.p99_us, 0),
                    num(p.p999_us, 0),
                    num(Some(p.calls_per_sec), 0),
                    num(p.server_cpu_secs_per_1000, 3),
                    num(p.warden_cpu_secs_per_1000, 3),
                    num(Some(p.client_cpu_secs_per_1000), 3),
                    mib(p.server_peak_rss_kib),
                );
            }
            let q = &l.ratio;
            let _ = writeln!(
                s,
                "| {} | (b)/(a) | {} | {} | {} | {} | {} | | | |",
                l.clients,
                num(q.p50, 2),
                num(q.p99, 2),
                num(q.p999, 2),
                num(q.calls_per_sec, 2),
                num(q.server_cpu_secs_per_1000, 2),
            );
        }
        let _ = writeln!(s);
        for l in &self.levels {
            let a = &l.added_us;
            let _ = writeln!(
                s,
                "added by warden at {} clients: p50 {} µs, p99 {} µs, p999 {} µs",
                l.clients,
                num(a.p50, 0),
                num(a.p99, 0),
                num(a.p999, 0)
            );
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
        // SIGTERM first, so warden signs its last checkpoint; then make sure.
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
