//! The live inventory at run time: the team's entities re-read from their source while warden
//! runs, so that a closed incident stops scoping isolations without a restart.
//!
//! A refresh reads the configured source (`[inventory]`: a file, a command's stdout or a URL).
//! Bytes equal to the entities in force only confirm them (their age starts again). Different
//! bytes are checked against the schema by building the configuration in force again with them
//! (`Config::with_entities`: the policies stay compiled); a valid inventory is announced in the
//! ledger (`inventory_refresh`, with the digests before and after) and only then swapped in
//! whole, like a reload, so a call in flight finishes under the configuration it started with.
//! A failed read or an invalid inventory changes nothing and records nothing: the entities in
//! force keep growing older until the pipeline's staleness stage denies every call that names
//! an entity (`warden_policy::inventory`, rule `inventory-stale`).
//!
//! A SIGHUP reload builds its configuration from `[policy] entities`, the baseline; the live
//! entities are applied to it before it is put in force (`reload.rs`), and a reload they do not
//! fit is refused. Refreshes and reloads both derive a configuration from the one in force and
//! put it back; `LiveInventory::swap` keeps one from undoing the other.

use crate::pipeline::{CallError, Gateway};
use serde_json::json;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use warden_core::{AuditEvent, EventKind, sha256_hex};
use warden_policy::inventory::{MAX_INVENTORY_BYTES, stale_decision};
use warden_policy::{Config, Decision, InventorySettings, InventorySource, ToolSpec};

/// What the gateway knows about its live inventory.
pub struct LiveInventory {
    state: Mutex<State>,
    /// Held while a configuration derived from the one in force is put in force (a refresh's
    /// entities, a reload's configuration), so neither undoes the other. Held for synchronous
    /// work only, never across an `.await`.
    swap: Mutex<()>,
    /// The source, once the refresher is set up: what a write re-reads before it is decided.
    fetcher: std::sync::OnceLock<Arc<Fetcher>>,
    /// Every read of the source after the first (periodic, or before a write), one at a time:
    /// a write that waited for a read begun after it asked takes that read's result
    /// ([`Gateway::inventory_before_write`]).
    before_write: crate::flight::SingleFlight<()>,
    /// When the last read before a write failed (the gateway's clock, ms), `i64::MIN` if it
    /// did not: reads before writes wait `refresh_secs` after a failure.
    before_write_failed_ms: std::sync::atomic::AtomicI64,
}

struct State {
    /// When the entities in force were last confirmed by a successful refresh (milliseconds
    /// since the epoch); warden's start until the first one, so the baseline counts as fresh
    /// for `max_age_secs` from then.
    confirmed_ms: i64,
    /// The entities of the last successful refresh, re-applied to a reloaded configuration.
    live: Option<Live>,
}

#[derive(Clone)]
struct Live {
    origin: String,
    text: Arc<str>,
    digest: String,
}

impl LiveInventory {
    pub(crate) fn new(started_ms: i64) -> Self {
        Self {
            state: Mutex::new(State {
                confirmed_ms: started_ms,
                live: None,
            }),
            swap: Mutex::new(()),
            fetcher: std::sync::OnceLock::new(),
            before_write: crate::flight::SingleFlight::default(),
            before_write_failed_ms: std::sync::atomic::AtomicI64::new(i64::MIN),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// When the entities in force were last confirmed, in milliseconds since the epoch.
    pub fn confirmed_ms(&self) -> i64 {
        self.state().confirmed_ms
    }

    fn live(&self) -> Option<Live> {
        self.state().live.clone()
    }

    fn confirm(&self, live: Live, now_ms: i64) {
        let mut state = self.state();
        state.confirmed_ms = now_ms;
        state.live = Some(live);
    }
}

/// How long a write waits for the inventory's source to answer before it is decided with the
/// entities in force ([`Gateway::inventory_before_write`]).
pub const BEFORE_WRITE_WAIT: Duration = Duration::from_secs(2);

/// What one refresh did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refreshed {
    /// The source holds the entities in force: they are confirmed, nothing is recorded.
    Unchanged,
    /// New entities decide from ledger entry `index` on.
    Applied {
        index: u64,
        digest: String,
        entities: usize,
    },
}

/// Why a refresh changed nothing. The entities in force stay, and keep ageing.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error("cannot read the inventory from {source_name}: {why}")]
    Read { source_name: String, why: String },
    #[error("the inventory from {source_name} is not valid: {why}")]
    Invalid { source_name: String, why: String },
    #[error("the inventory refresh was not recorded, so it is not applied: {0}")]
    Record(CallError),
}

/// Reads the configured source, bounded in size and time.
pub struct Fetcher {
    source: InventorySource,
    timeout: Duration,
    /// For a URL source: no redirects, the refresh's timeout.
    http: reqwest::Client,
}

impl Fetcher {
    pub fn new(settings: &InventorySettings) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(settings.timeout)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            source: settings.source.clone(),
            timeout: settings.timeout,
            http,
        })
    }

    /// How the ledger and the logs name the source.
    pub fn describe(&self) -> String {
        self.source.describe()
    }

    /// The source's bytes, or why there are none.
    pub async fn fetch(&self) -> Result<Vec<u8>, String> {
        self.fetch_within(self.timeout).await
    }

    /// [`Fetcher::fetch`], given up after `limit` when that is shorter than the timeout.
    async fn fetch_within(&self, limit: Duration) -> Result<Vec<u8>, String> {
        let limit = limit.min(self.timeout);
        let read = async {
            match &self.source {
                InventorySource::File(path) => read_file(path).await,
                InventorySource::Command { program, args } => run(program, args).await,
                InventorySource::Url(url) => get(&self.http, url).await,
            }
        };
        tokio::time::timeout(limit, read)
            .await
            .map_err(|_| format!("no answer within {} ms", limit.as_millis()))?
    }
}

fn too_large() -> String {
    format!("larger than {MAX_INVENTORY_BYTES} bytes")
}

async fn read_file(path: &PathBuf) -> Result<Vec<u8>, String> {
    let meta = tokio::fs::metadata(path).await.map_err(|e| e.to_string())?;
    if meta.len() > MAX_INVENTORY_BYTES as u64 {
        return Err(too_large());
    }
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|e| e.to_string())?;
    read_bounded(file).await
}

/// Everything `reader` gives, unless it is more than the limit.
async fn read_bounded(reader: impl AsyncRead + Unpin) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_INVENTORY_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| e.to_string())?;
    if bytes.len() > MAX_INVENTORY_BYTES {
        return Err(too_large());
    }
    Ok(bytes)
}

/// The program's stdout when it exits with status 0. Its stderr is drained (a full pipe would
/// stall it) and its start quoted in the error; the child is killed if the refresh is dropped.
async fn run(program: &str, args: &[String]) -> Result<Vec<u8>, String> {
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run `{program}`: {e}"))?;
    let (Some(stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(format!("`{program}` has no output pipes"));
    };
    let drain_stderr = async {
        let mut kept = Vec::new();
        let mut chunk = [0_u8; 4096];
        while let Ok(n) = stderr.read(&mut chunk).await {
            if n == 0 {
                break;
            }
            let room = 1024_usize.saturating_sub(kept.len());
            kept.extend(chunk.iter().take(n.min(room)));
        }
        kept
    };
    let (out, err) = tokio::join!(read_bounded(stdout), drain_stderr);
    let out = out?;
    let status = child.wait().await.map_err(|e| e.to_string())?;
    if !status.success() {
        let err = String::from_utf8_lossy(&err);
        return Err(format!("`{program}` failed ({status}): {}", err.trim()));
    }
    Ok(out)
}

/// The body of a 2xx answer to a GET; anything else (a redirect included) is an error.
async fn get(http: &reqwest::Client, url: &str) -> Result<Vec<u8>, String> {
    let mut response = http.get(url).send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("HTTP {status}"));
    }
    if response
        .content_length()
        .is_some_and(|n| n > MAX_INVENTORY_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_INVENTORY_BYTES {
            return Err(too_large());
        }
    }
    Ok(bytes)
}

impl Gateway {
    /// The `inventory-stale` denial of a call of `tool` under `config` at `now_ms`, when the
    /// entities in force were not confirmed within `max_age_secs` and the tool names one.
    pub(crate) fn inventory_stale(
        &self,
        config: &Config,
        tool: &ToolSpec,
        now_ms: i64,
    ) -> Option<Decision> {
        stale_decision(config, tool, self.inventory.confirmed_ms(), now_ms)
    }

    /// One refresh from `fetcher`'s source (see the module's header).
    pub async fn refresh_inventory(&self, fetcher: &Fetcher) -> Result<Refreshed, RefreshError> {
        self.refresh_inventory_within(fetcher, fetcher.timeout)
            .await
    }

    /// [`Gateway::refresh_inventory`] with the source given at most `limit` to answer.
    async fn refresh_inventory_within(
        &self,
        fetcher: &Fetcher,
        limit: Duration,
    ) -> Result<Refreshed, RefreshError> {
        let source_name = fetcher.describe();
        let bytes = fetcher
            .fetch_within(limit)
            .await
            .map_err(|why| RefreshError::Read {
                source_name: source_name.clone(),
                why,
            })?;
        let digest = format!("sha256:{}", sha256_hex(&bytes));
        let invalid = |why: String| RefreshError::Invalid {
            source_name: source_name.clone(),
            why,
        };
        let text: Arc<str> = String::from_utf8(bytes)
            .map_err(|_| invalid("not UTF-8 text".into()))?
            .into();
        let live = Live {
            origin: source_name.clone(),
            text,
            digest: digest.clone(),
        };
        let base = self.config();
        if base.engine.inventory_digest() == Some(digest.as_str()) {
            self.inventory.confirm(live, self.now());
            return Ok(Refreshed::Unchanged);
        }
        let joined = |errors: Vec<warden_policy::ConfigError>| {
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        };
        let candidate = base
            .with_entities(&source_name, &live.text)
            .map_err(|e| invalid(joined(e)))?;
        let entities = candidate.engine.inventory_size();

        // Recorded first: the new entities decide nothing that the ledger does not announce,
        // and the announcement says what changed, not only that something did.
        let (counts, changes) = entity_changes(base.engine.inventory_text(), &live.text);
        let mut ev = AuditEvent::new(EventKind::InventoryRefresh, self.now());
        ev.policy_version = Some(candidate.engine.version().to_string());
        ev.detail = Some(json!({
            "source": source_name,
            "digest": digest,
            "entities": entities,
            "previous_digest": base.engine.inventory_digest(),
            "changed": counts,
            "sensitive": {"changes": changes},
        }));
        let index = self.record(ev).await.map_err(RefreshError::Record)?;

        let _swap = self
            .inventory
            .swap
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let now = self.config();
        let config = if Arc::ptr_eq(&now, &base) {
            candidate
        } else {
            // A reload landed meanwhile: the new entities go onto its configuration.
            now.with_entities(&source_name, &live.text)
                .map_err(|e| invalid(joined(e)))?
        };
        self.inventory.confirm(live, self.now());
        self.put_config(Arc::new(config));
        Ok(Refreshed::Applied {
            index,
            digest,
            entities,
        })
    }

    /// `config` (a reload's, built from the baseline entities) with the live entities in
    /// place of the baseline, when a refresh has succeeded; why not, when they do not fit it.
    pub(crate) fn with_live_inventory(&self, config: Config) -> Result<Config, String> {
        let Some(live) = self.inventory.live() else {
            return Ok(config);
        };
        config
            .with_entities(&live.origin, &live.text)
            .map_err(|errors| {
                let why: Vec<String> = errors.iter().map(ToString::to_string).collect();
                format!(
                    "the live inventory does not fit the new configuration: {}",
                    why.join("; ")
                )
            })
    }

    /// Puts a reloaded configuration in force, with the live entities of a refresh that
    /// landed after [`Gateway::with_live_inventory`] applied the previous ones.
    pub(crate) fn put_reloaded(&self, config: Config) {
        let _swap = self
            .inventory
            .swap
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let config = match self.inventory.live() {
            Some(live) if config.engine.inventory_digest() != Some(live.digest.as_str()) => {
                match config.with_entities(&live.origin, &live.text) {
                    Ok(c) => c,
                    Err(errors) => {
                        tracing::error!(
                            errors = ?errors.iter().map(ToString::to_string).collect::<Vec<_>>(),
                            "the newest live inventory does not fit the reloaded configuration: it decides with the previous one"
                        );
                        config
                    }
                }
            }
            _ => config,
        };
        self.put_config(Arc::new(config));
    }

    /// Before a write is decided: the inventory read again from its source, so that a fact
    /// changed since the last periodic refresh (a mailbox given a rule that forwards outside,
    /// an incident closed) decides the write, not the fact as it was up to `refresh_secs` ago.
    /// One read at a time; a write that waited for a read begun after it asked takes that
    /// read's result. The source gets [`BEFORE_WRITE_WAIT`] to answer. A read that fails (or
    /// does not answer in time) leaves the entities in force (they keep ageing toward
    /// `max_age_secs`, as with any failed refresh), and writes do not read again until
    /// `refresh_secs` has passed: a failing source is not hammered once per write.
    pub(crate) async fn inventory_before_write(&self) {
        let Some(fetcher) = self.inventory.fetcher.get().cloned() else {
            return;
        };
        let refresh = self
            .config()
            .inventory
            .as_ref()
            .map_or(Duration::ZERO, |i| i.refresh);
        let failed = self
            .inventory
            .before_write_failed_ms
            .load(std::sync::atomic::Ordering::Relaxed);
        let backing_off = failed != i64::MIN
            && u128::try_from(self.now().saturating_sub(failed)).unwrap_or(0) < refresh.as_millis();
        if backing_off {
            return;
        }
        let Some(turn) = self.inventory.before_write.turn().await else {
            return;
        };
        match self
            .refresh_inventory_within(&fetcher, BEFORE_WRITE_WAIT)
            .await
        {
            Ok(_) => self
                .inventory
                .before_write_failed_ms
                .store(i64::MIN, std::sync::atomic::Ordering::Relaxed),
            Err(e) => {
                tracing::warn!(error = %e, "the inventory could not be read before a write: writes are decided with the entities in force until `refresh_secs` has passed");
                self.inventory
                    .before_write_failed_ms
                    .store(self.now(), std::sync::atomic::Ordering::Relaxed);
            }
        }
        turn.done();
    }

    /// Refreshes the inventory once, then every `refresh_secs` until `stop`, when the
    /// configuration has an `[inventory]`. The first refresh is awaited, so the live entities
    /// (when their source can be read) are in force before warden takes its first call.
    pub async fn start_inventory_refresher(
        self: &Arc<Self>,
        stop: CancellationToken,
    ) -> Option<JoinHandle<()>> {
        let settings = self.config().inventory.clone()?;
        let fetcher = match Fetcher::new(&settings) {
            Ok(f) => Arc::new(f),
            Err(e) => {
                tracing::error!(error = %e, "cannot set up the inventory refresh: the inventory will go stale");
                return None;
            }
        };
        // Logged once per streak of failures, not every few seconds.
        let mut failing = false;
        log_refresh(
            &fetcher,
            self.refresh_inventory(&fetcher).await,
            &mut failing,
        );
        let _ = self.inventory.fetcher.set(fetcher.clone());
        let gateway = self.clone();
        Some(tokio::spawn(async move {
            let start = tokio::time::Instant::now() + settings.refresh;
            let mut tick = tokio::time::interval_at(start, settings.refresh);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stop.cancelled() => break,
                }
                // One read at a time, with the reads before writes: a write waiting for a read
                // takes this one's, and a read before a write that began since this tick is
                // this tick's.
                let result = tokio::select! {
                    r = async {
                        let turn = gateway.inventory.before_write.turn().await?;
                        let result = gateway.refresh_inventory(&fetcher).await;
                        turn.done();
                        Some(result)
                    } => r,
                    _ = stop.cancelled() => break,
                };
                if let Some(result) = result {
                    log_refresh(&fetcher, result, &mut failing);
                }
            }
        }))
    }
}

/// Entities of each kind of change a refresh's record lists; past it, only counted.
const CHANGES_LISTED: usize = 64;

/// What a refresh changes, entity by entity (by uid): how many were added, removed and changed
/// (recorded in the clear), and the first [`CHANGES_LISTED`] of each in full — an added or
/// removed entity, a changed one before and after — sealed like arguments, since an inventory
/// names people. An executive made an ordinary user, a break-glass account no longer one, an
/// incident closed: the ledger shows which, not only that the digest moved.
fn entity_changes(before: Option<&str>, after: &str) -> (serde_json::Value, serde_json::Value) {
    fn by_uid(text: Option<&str>) -> std::collections::BTreeMap<String, serde_json::Value> {
        let items = text
            .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok())
            .and_then(|v| match v {
                serde_json::Value::Array(items) => Some(items),
                _ => None,
            })
            .unwrap_or_default();
        items
            .into_iter()
            .filter_map(|e| {
                let ty = e.pointer("/uid/type")?.as_str()?.to_string();
                let id = e.pointer("/uid/id")?.as_str()?.to_string();
                Some((format!("{ty}::{}", serde_json::Value::String(id)), e))
            })
            .collect()
    }
    let (old, new) = (by_uid(before), by_uid(Some(after)));
    let added: Vec<&serde_json::Value> = new
        .iter()
        .filter(|(uid, _)| !old.contains_key(*uid))
        .map(|(_, e)| e)
        .collect();
    let removed: Vec<&serde_json::Value> = old
        .iter()
        .filter(|(uid, _)| !new.contains_key(*uid))
        .map(|(_, e)| e)
        .collect();
    let changed: Vec<serde_json::Value> = new
        .iter()
        .filter_map(|(uid, e)| {
            let was = old.get(uid)?;
            (warden_core::canonical_json(was) != warden_core::canonical_json(e))
                .then(|| json!({"uid": uid, "before": was, "after": e}))
        })
        .collect();
    let counts = json!({"added": added.len(), "removed": removed.len(), "changed": changed.len()});
    let changes = json!({
        "added": added.into_iter().take(CHANGES_LISTED).collect::<Vec<_>>(),
        "removed": removed.into_iter().take(CHANGES_LISTED).collect::<Vec<_>>(),
        "changed": changed.into_iter().take(CHANGES_LISTED).collect::<Vec<_>>(),
    });
    (counts, changes)
}

fn log_refresh(fetcher: &Fetcher, result: Result<Refreshed, RefreshError>, failing: &mut bool) {
    match result {
        Ok(refreshed) => {
            if *failing {
                tracing::info!(source = %fetcher.describe(), "inventory refresh works again");
            }
            *failing = false;
            if let Refreshed::Applied {
                index,
                digest,
                entities,
            } = refreshed
            {
                tracing::info!(index, %digest, entities, "inventory refreshed");
            }
        }
        Err(e) if *failing => tracing::debug!(error = %e, "inventory refresh failed"),
        Err(e) => {
            *failing = true;
            tracing::warn!(error = %e, "inventory refresh failed: the entities in force stay and grow older");
        }
    }
}
