//! Subcommands, one file each, and what they share: loading the config and opening the store.

pub mod approvals;
pub mod audit;
pub mod bench;
pub mod completions;
pub mod db;
pub mod halt;
pub mod hash;
pub mod hook;
pub mod init;
pub mod lab;
pub mod monitor;
pub mod policy;
pub mod redteam;
pub mod remote;
pub mod report;
pub mod resume;
pub mod review;
pub mod screen;
pub mod serve;
pub mod stdio;
pub mod taint;
pub mod tools;

use anyhow::Context;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use warden_gateway::witness::HttpWitness;
use warden_gateway::{AuditLog, Gateway};
use warden_policy::{Config, StoreLocation, WitnessConfig};
use warden_store::ledger::{CheckpointSink, CommandSink, FileSink};
use warden_store::{
    ClientCertificate, Ledger, LedgerSettings, NameCheck, PostgresOptions, PostgresStore,
    PostgresTls, SqliteStore, Store, TlsRoots,
};

#[derive(clap::Args, Debug, Clone)]
pub struct ConfigArg {
    /// The configuration file (default: the bundled lab SOC, written to .warden/lab/)
    #[arg(long, short, env = "WARDEN_CONFIG")]
    pub config: Option<PathBuf>,
}

pub fn load_config(arg: &ConfigArg) -> anyhow::Result<Config> {
    let path = crate::embedded::config_path(arg.config.clone())?;
    Config::load(&path).map_err(|e| anyhow::anyhow!("{e}"))
}

/// Checks that `approver` is a configured approver and `token` is theirs (digests compared, so
/// timing reveals nothing useful), and not a token that authenticates an agent. No token at all is the caller's mistake, not a failed
/// check, and says which variable to set.
pub fn check_approver(config: &Config, approver: &str, token: Option<&str>) -> anyhow::Result<()> {
    let Some(token) = token.filter(|t| !t.trim().is_empty()) else {
        anyhow::bail!(
            "no approver token: set `WARDEN_APPROVER_TOKEN` to the token of approver `{approver}` (or give --token)"
        );
    };
    let known = config
        .approvals
        .approvers
        .iter()
        .find(|x| x.id == approver)
        .and_then(|x| x.token_sha256.clone());
    let presented = warden_core::sha256_hex(token.trim().as_bytes());
    // The config refuses an approver token that is also an agent's; checked again here, so an
    // agent's token answers nothing whatever the config says.
    let an_agents = config
        .agents
        .iter()
        .filter_map(|a| a.token_sha256)
        .any(|t| t.iter().map(|b| format!("{b:02x}")).collect::<String>() == presented);
    if an_agents {
        anyhow::bail!("wrong approver or token");
    }
    match known {
        Some(k) if k == presented => Ok(()),
        _ => anyhow::bail!("wrong approver or token"),
    }
}

/// The configured store: opens the SQLite file or connects to PostgreSQL, applying the
/// backend's pending migrations either way.
pub fn open_store(location: &StoreLocation) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match location {
        StoreLocation::Sqlite { path } => Arc::new(
            SqliteStore::open(path)
                .with_context(|| format!("cannot open the store `{}`", path.display()))?,
        ),
        StoreLocation::Postgres(pg) => Arc::new(open_postgres(pg)?),
    })
}

pub fn open_postgres(pg: &warden_policy::PostgresLocation) -> anyhow::Result<PostgresStore> {
    let tls = match &pg.tls {
        warden_policy::PostgresTls::Off => PostgresTls::Off,
        warden_policy::PostgresTls::Verified {
            verify_name,
            roots,
            client_identity,
        } => PostgresTls::Verified {
            name: if *verify_name {
                NameCheck::ChainAndName
            } else {
                NameCheck::ChainOnly
            },
            roots: roots.clone().map_or(TlsRoots::System, TlsRoots::File),
            client: client_identity.as_ref().map(|c| ClientCertificate {
                cert_file: c.cert_file.clone(),
                key_file: c.key_file.clone(),
            }),
        },
    };
    let options = PostgresOptions {
        url: pg.url.clone(),
        password: pg.password.clone(),
        pool_size: pg.pool_size,
        tls,
    };
    PostgresStore::open(&options)
        .with_context(|| format!("cannot open the PostgreSQL store `{}`", pg.url))
}

/// The audit ledger over `store`: loads or creates the signing key, rebuilds the tree and
/// checks it against the latest checkpoint (an error when they disagree).
pub fn open_ledger(config: &Config, store: Arc<dyn Store>) -> anyhow::Result<Arc<Ledger>> {
    Ok(open_ledger_watched(config, store)?.0)
}

/// [`open_ledger`] for a report that reads the record: the ledger when this user can read its
/// key (so the report counts what the gateway counts), `None` otherwise (no key is created).
pub fn open_ledger_if_readable(
    config: &Config,
    store: Arc<dyn Store>,
) -> anyhow::Result<Option<Arc<Ledger>>> {
    if warden_store::ledger::read_leaf_key(&config.ledger.key_path, &config.ledger.origin).is_err()
    {
        return Ok(None);
    }
    match open_ledger(config, store) {
        Ok(ledger) => Ok(Some(ledger)),
        Err(e) => {
            eprintln!(
                "warning: {e:#}; showing the store's rows only, unchecked against the ledger \
                 (run `warden audit verify`)"
            );
            Ok(None)
        }
    }
}

/// Each tlog-witness client's name and its count of refused answers.
type Refusals = Vec<(String, Arc<AtomicU64>)>;

/// [`open_ledger`], and the refusal counts of its tlog-witness clients for the metrics.
fn open_ledger_watched(
    config: &Config,
    store: Arc<dyn Store>,
) -> anyhow::Result<(Arc<Ledger>, Refusals)> {
    let mut refusals = Vec::new();
    let mut witnesses: Vec<Arc<dyn CheckpointSink>> = Vec::new();
    for w in &config.ledger.witnesses {
        match w {
            WitnessConfig::File(path) => witnesses.push(Arc::new(FileSink(path.clone()))),
            WitnessConfig::Command(command) => {
                witnesses.push(Arc::new(CommandSink(command.clone())));
            }
            WitnessConfig::Http { url, key, timeout } => {
                let witness = Arc::new(HttpWitness::new(
                    url,
                    key,
                    *timeout,
                    &config.ledger.key_path,
                    store.clone(),
                )?);
                refusals.push(witness.refusals());
                witnesses.push(witness);
            }
        }
    }
    let settings = LedgerSettings {
        key_path: config.ledger.key_path.clone(),
        origin: config.ledger.origin.clone(),
        checkpoint_interval: config.ledger.checkpoint_interval,
        defer_within: warden_store::DEFER_WITHIN,
        witnesses,
        pinned: config
            .ledger
            .verifier_key
            .as_deref()
            .map(warden_ledger::VerifierKey::parse)
            .transpose()
            .context("[ledger] verifier_key is not a verifier key")?,
    };
    let ledger = Ledger::open(store, &settings).context("cannot open the audit ledger")?;
    Ok((Arc::new(ledger), refusals))
}

/// Config, store and gateway, with the catalog checked against the upstreams once. The
/// gateway's `audit` is the ledger: call `gateway.audit.shutdown()` when stopping, so the last
/// events are signed into a checkpoint.
pub async fn start(arg: &ConfigArg) -> anyhow::Result<Arc<Gateway>> {
    let config = Arc::new(load_config(arg)?);
    let store = open_store(&config.store)?;
    let (ledger, refusals) = open_ledger_watched(&config, store.clone())?;
    let audit: Arc<dyn AuditLog> = ledger;
    let mut ev = warden_core::AuditEvent::new(
        warden_core::EventKind::ConfigLoaded,
        warden_gateway::pipeline::now_ms(),
    );
    ev.policy_version = Some(config.engine.version().to_string());
    ev.detail = Some(serde_json::json!({
        "config": config.source.display().to_string(),
        "config_digest": config.source_digest,
    }));
    warden_gateway::AuditLog::append(audit.as_ref(), &ev).context("cannot write the audit log")?;
    let gateway = Gateway::new(config, store, audit);
    gateway.watch_witness_refusals(refusals);
    gateway.refresh_catalog().await;
    Ok(gateway)
}
