//! `warden audit export`: the ledger as OCSF JSON lines for a SIEM, once or as a stream.
//!
//! Once (the default): every leaf from `--from` (or the cursor) to the end, then exit. With
//! `--follow`: the same, then new leaves as they are committed, until stopped. Records go to
//! standard output, a file (appended, JSON lines), Splunk's HTTP Event Collector or
//! Elasticsearch's bulk API (`export/sink.rs`).
//!
//! Design choice: the stream reads the committed ledger from the store, either as its own
//! process beside `warden serve` or, with an `[export]` section, inside `serve` on a thread and
//! runtime of its own ([`spawn_for_serve`]). Either way a slow or dead collector never touches
//! the gateway's decisions (the pipeline does not know the exporter exists); the cost is export
//! lag, which the exporter logs with every batch and the metrics show
//! (`warden_export_lag_leaves`, `warden_export_last_delivery_age_seconds`): under `serve` on its
//! metrics listener, as its own process with `--follow --metrics-listen ADDR`. Delivery is at
//! least once: the cursor (`export/cursor.rs`)
//! moves only after the destination acknowledged a batch, so a crash between the two resends
//! that batch, and collectors drop the copies by `metadata.uid` (the leaf hash; the Elastic sink
//! uses it as the document id, so a resent record is refused as a duplicate).

mod cursor;
mod sink;

use crate::cmd::ConfigArg;
use anyhow::Context;
use cursor::Cursor;
use serde_json::Value;
use sink::{Destination, Sink};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use warden_core::ToolName;
use warden_gateway::audit::ocsf::{LeafRef, Source, record};
use warden_gateway::metrics::{ExportGauges, ExportMetrics, Metrics};
use warden_policy::{Config, ExportDestination, StoreLocation};
use warden_store::Store;
use warden_store::ledger::read_range;

#[derive(clap::ValueEnum, Debug, Clone, Copy)]
enum Format {
    /// OCSF 1.8: API Activity (6003) for decisions and outcomes, Detection Finding (2004) for
    /// findings, Entity Management (3004) for approvals, pins, halts and other governance
    /// steps, Application Lifecycle (6002) for starts and policy reloads
    Ocsf,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(long, value_enum)]
    format: Format,
    /// Where records go: `stdout`, `file` (appended; needs --out), `splunk-hec` or
    /// `elastic-bulk` (need --url). Default: `file` when --out is given, else `stdout`
    #[arg(long, value_enum)]
    to: Option<Destination>,
    /// The file to write (JSON lines). Without --to: replaced on a one-off export
    #[arg(long)]
    out: Option<PathBuf>,
    /// The collector's base URL (`https://splunk:8088`, `https://elastic:9200`); HTTPS, or HTTP
    /// to a loopback address only
    #[arg(long)]
    url: Option<String>,
    /// The environment variable that holds the collector's token (Splunk HEC token, Elastic
    /// API key)
    #[arg(long, default_value = "WARDEN_EXPORT_TOKEN")]
    token_env: String,
    /// A file that holds the collector's token, instead of --token-env
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// The Elasticsearch index (default `warden-ocsf`) or Splunk index (default: the token's)
    #[arg(long)]
    index: Option<String>,
    /// Start at this leaf index instead of the cursor's
    #[arg(long)]
    from: Option<u64>,
    /// Keep running: export new leaves as they are committed, until interrupted
    #[arg(long)]
    follow: bool,
    /// Where the next index to export is kept, written after each acknowledged batch. Default
    /// with --follow or a collector: `export-<to>.cursor` beside the SQLite store
    #[arg(long)]
    cursor: Option<PathBuf>,
    /// Records per batch (one request to a collector)
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    batch: u64,
    /// How often --follow looks for new leaves, in milliseconds
    #[arg(long, default_value_t = 500)]
    poll_ms: u64,
    /// The longest wait between two tries of a batch the destination refused
    #[arg(long, default_value_t = 30)]
    max_backoff_secs: u64,
    /// With --follow: serve `GET /metrics` on this address (`127.0.0.1:9465`) with how far the
    /// export is behind, `warden_export_lag_leaves` and
    /// `warden_export_last_delivery_age_seconds`, as `serve` does for `[export]`; behind the
    /// config's `[metrics] token_sha256` when it has one
    #[arg(long, value_name = "ADDR", requires = "follow")]
    metrics_listen: Option<std::net::SocketAddr>,
    #[command(flatten)]
    config: ConfigArg,
}

pub async fn run(a: Args) -> anyhow::Result<ExitCode> {
    let (config, store) = super::open(&a.config)?;
    let Format::Ocsf = a.format;
    let to = a.to.unwrap_or(if a.out.is_some() {
        Destination::File
    } else {
        Destination::Stdout
    });
    // A cursor when asked for, when following, and for collectors (a stream is what they take).
    let cursor = match (&a.cursor, a.follow || to.is_collector()) {
        (Some(path), _) => Some(Cursor::new(path.clone())),
        (None, true) => Some(Cursor::new(default_cursor(&config, to)?)),
        (None, false) => None,
    };
    // A one-off export to a named file replaces it, as before; a resumable one appends.
    let replace = a.to.is_none() && cursor.is_none();
    // The destination is checked before the token is read: a URL that would carry the token
    // in clear is refused whether or not one is at hand.
    let token = match (to.is_collector(), &a.url) {
        (true, Some(url)) => {
            sink::collector_url(url, to)?;
            Some(sink::read_token(&a.token_env, a.token_file.as_ref())?)
        }
        _ => None,
    };
    let sink = Sink::open(
        to,
        sink::Options {
            out: a.out.clone(),
            url: a.url.clone(),
            token,
            index: a.index.clone(),
            replace,
        },
    )?;
    let from = match (a.from, &cursor) {
        (Some(from), _) => from,
        (None, Some(c)) => c.read()?.unwrap_or(0),
        (None, None) => 0,
    };
    let stop = CancellationToken::new();
    // Its own process: the lag is in its log lines, and with --metrics-listen on a listener of
    // its own, from the same gauges `serve` exports for `[export]`.
    let progress = match a.metrics_listen {
        Some(addr) => {
            let token_sha256 = config.metrics.as_ref().and_then(|m| m.token_sha256);
            // As `serve`'s listener: off the loopback interface, only behind the token.
            if token_sha256.is_none() && !addr.ip().is_loopback() {
                anyhow::bail!(
                    "--metrics-listen {addr} is reachable from other machines: set \
                     `[metrics] token_sha256` in the config (--config) so only your scraper \
                     reads the metrics, or listen on a loopback address"
                );
            }
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("--metrics-listen: cannot listen on {addr}"))?;
            let local = listener.local_addr()?;
            let metrics = Arc::new(ExportMetrics::default());
            let gauges = metrics.gauges();
            tokio::spawn(warden_gateway::server::metrics::serve_export(
                metrics,
                Arc::clone(&store),
                Arc::new(warden_gateway::SystemClock),
                listener,
                config.gateway.limits,
                token_sha256,
                stop.clone(),
            ));
            eprintln!("export metrics on http://{local}/metrics");
            Some(gauges)
        }
        None => None,
    };
    let plan = Plan {
        sink,
        cursor,
        from,
        batch: usize::try_from(a.batch).unwrap_or(500),
        poll: Duration::from_millis(a.poll_ms.max(10)),
        max_backoff: Duration::from_secs(a.max_backoff_secs.max(1)),
        follow: a.follow,
        progress,
    };
    {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            let terminated = async {
                match term.as_mut() {
                    Some(t) => {
                        t.recv().await;
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                () = terminated => {}
            }
            stop.cancel();
        });
    }
    stream(&config, store.as_ref(), plan, &stop).await?;
    Ok(ExitCode::SUCCESS)
}

/// One export: where to, from where, how.
pub(crate) struct Plan {
    sink: Sink,
    cursor: Option<Cursor>,
    /// The first leaf index to export.
    from: u64,
    batch: usize,
    poll: Duration,
    max_backoff: Duration,
    /// Keep looking for new leaves once the end is reached.
    follow: bool,
    /// Where the metrics learn how far the export has come (`warden_export_lag_leaves`):
    /// `serve`'s for `[export]`, or the export's own with `--metrics-listen`.
    progress: Option<Arc<ExportGauges>>,
}

/// Exports leaves from `plan.from` on, batch by batch, each batch sent until the destination
/// takes it and only then marked in the cursor; with `plan.follow`, until `stop`.
pub(crate) async fn stream(
    config: &Config,
    store: &dyn Store,
    mut plan: Plan,
    stop: &CancellationToken,
) -> anyhow::Result<()> {
    let source = Source {
        log_name: &config.ledger.origin,
        product_version: env!("CARGO_PKG_VERSION"),
    };
    let mut next = plan.from;
    // A cursor (or --from) beyond the ledger's end would wait, silently, for leaves that already
    // exist below it: a tampered or foreign cursor is an error, not a quiet gap.
    let size = store.ledger_size()?;
    if next > size {
        anyhow::bail!(
            "the export would start at leaf {next}, but the ledger has {size}: the cursor is not this ledger's; remove it (or give --from) to export from the start"
        );
    }
    if let Some(m) = &plan.progress {
        m.observe_export(next, None);
    }
    loop {
        let page = match read_range(store, next, plan.batch) {
            Ok(page) => page,
            Err(e) if plan.follow => {
                tracing::warn!(error = %e, "cannot read the ledger; trying again");
                if pause(stop, plan.poll).await {
                    break;
                }
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let Some(last) = page.last().map(|e| e.index) else {
            if !plan.follow || pause(stop, plan.poll).await {
                break;
            }
            continue;
        };
        if let Some(first) = page.first().filter(|e| e.index != next) {
            anyhow::bail!(
                "leaf {next} is missing from the store (the next one is {}): run `warden audit verify`",
                first.index
            );
        }
        let records: Vec<Value> = page
            .iter()
            .map(|entry| {
                let effect = entry
                    .event
                    .tool
                    .as_deref()
                    .and_then(ToolName::parse)
                    .and_then(|t| config.tool(&t).map(|spec| spec.labels.effect));
                record(
                    &source,
                    LeafRef {
                        index: entry.index,
                        leaf_hash: &entry.leaf_hash.to_hex(),
                        event: &entry.event,
                        effect,
                    },
                )
            })
            .collect();
        // The same batch again until the destination takes it; the cursor stays put meanwhile.
        let mut wait = Duration::from_millis(200);
        loop {
            // A stop ends a request in flight: it was not acknowledged, so it is sent again
            // next time. (File and stdout writes have no await point: never cut mid-line.)
            let delivered = tokio::select! {
                r = plan.sink.deliver(&records) => r,
                () = stop.cancelled() => return Ok(()),
            };
            match delivered {
                Ok(()) => break,
                Err(e) => {
                    tracing::warn!(
                        error = %format!("{e:#}"),
                        first = next,
                        last,
                        retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                        "the export destination did not take the batch"
                    );
                    if pause(stop, wait).await {
                        return Ok(());
                    }
                    wait = (wait * 2).min(plan.max_backoff);
                }
            }
        }
        next = last.saturating_add(1);
        if let Some(c) = &plan.cursor {
            c.write(next)?;
        }
        if let Some(m) = &plan.progress {
            m.observe_export(next, Some(warden_gateway::pipeline::now_ms()));
        }
        let lag = lag(store, next);
        tracing::info!(
            exported = records.len(),
            next,
            lag,
            "exported up to leaf {last}"
        );
    }
    plan.sink.finish()?;
    Ok(())
}

/// `[export]` under `warden serve`: the stream runs on a thread and runtime of its own, so a
/// slow collector, a fsync or a store read never takes a thread the gateway decides on. It
/// stops with `stop`; an error (a gap in the store, a cursor that cannot be written) is logged
/// and the stream starts again from its cursor a little later. `None` without `[export]`.
pub(crate) fn spawn_for_serve(
    config: Arc<Config>,
    store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
    stop: CancellationToken,
) -> anyhow::Result<Option<std::thread::JoinHandle<()>>> {
    let Some(settings) = config.export.clone() else {
        return Ok(None);
    };
    let (to, out, url, token) = match &settings.to {
        ExportDestination::File(path) => (Destination::File, Some(path.clone()), None, None),
        ExportDestination::SplunkHec { url, token } => {
            (Destination::SplunkHec, None, Some(url.clone()), Some(token))
        }
        ExportDestination::ElasticBulk { url, token } => (
            Destination::ElasticBulk,
            None,
            Some(url.clone()),
            Some(token),
        ),
    };
    // Read now, so a missing variable or file stops `serve` with a clear error.
    let token = match token {
        Some(source) => Some(
            source
                .read()
                .map_err(|e| anyhow::anyhow!("[export] token: {e}"))?
                .expose()
                .to_owned(),
        ),
        None => None,
    };
    let options = move || sink::Options {
        out: out.clone(),
        url: url.clone(),
        token: token.clone(),
        index: settings.index.clone(),
        replace: false,
    };
    // Checked now too: a bad destination stops `serve` before it listens.
    Sink::open(to, options())?;
    let cursor_path = settings.cursor.clone();
    let batch = settings.batch;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let thread = std::thread::Builder::new()
        .name("warden-export".into())
        .spawn(move || {
            runtime.block_on(async move {
                loop {
                    let cursor = Cursor::new(cursor_path.clone());
                    let attempt = async {
                        let from = cursor.read()?.unwrap_or(0);
                        let plan = Plan {
                            sink: Sink::open(to, options())?,
                            cursor: Some(cursor),
                            from,
                            batch,
                            poll: Duration::from_millis(250),
                            max_backoff: Duration::from_secs(30),
                            follow: true,
                            progress: Some(metrics.export()),
                        };
                        stream(&config, store.as_ref(), plan, &stop).await
                    };
                    match attempt.await {
                        Ok(()) => break,
                        Err(e) => {
                            tracing::error!(error = %format!("{e:#}"), "the export stopped; starting again from its cursor in 30 s");
                            if pause(&stop, Duration::from_secs(30)).await {
                                break;
                            }
                        }
                    }
                }
            });
        })?;
    Ok(Some(thread))
}

/// Leaves committed but not yet exported (0 when the store cannot say).
fn lag(store: &dyn Store, next: u64) -> u64 {
    store
        .ledger_size()
        .map(|size| size.saturating_sub(next))
        .unwrap_or(0)
}

/// Waits `d`; whether the export was asked to stop meanwhile.
async fn pause(stop: &CancellationToken, d: Duration) -> bool {
    tokio::select! {
        () = stop.cancelled() => true,
        () = tokio::time::sleep(d) => false,
    }
}

/// `export-<to>.cursor` beside the SQLite store; PostgreSQL has no folder to put it in.
fn default_cursor(config: &Config, to: Destination) -> anyhow::Result<PathBuf> {
    match &config.store {
        StoreLocation::Sqlite { path } => {
            let dir = path
                .parent()
                .context("the store path has no folder for the export cursor")?;
            Ok(dir.join(format!("export-{}.cursor", to.name())))
        }
        StoreLocation::Postgres(_) => {
            anyhow::bail!("with a PostgreSQL store, give --cursor: where to keep the export cursor")
        }
    }
}
