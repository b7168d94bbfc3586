//! `warden audit`: read, verify, prove, redact and export the audit ledger.
//!
//! One file per subcommand under `audit/`. Readers open the store without starting a ledger
//! writer; only `redact`, which records a new leaf, asks the running gateway (or, with `--offline`,
//! opens the ledger itself).

mod checkpoint;
mod checkpoints;
mod consistency;
pub(crate) mod export;
mod prove;
mod redact;
mod show;
mod verify;

use super::ConfigArg;
use std::process::ExitCode;
use std::sync::Arc;
use warden_ledger::{CheckpointVerifier, CosignerKey, VerifierKey};
use warden_policy::{Config, WitnessConfig};
use warden_store::Store;
use warden_store::ledger::{
    CosignedCheckpoint, cosigned_path, public_key_path, read_verified_cosigned, read_verifier,
};

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// List events, oldest first, as JSON lines (redacted content reads "[redacted]"; a leaf
    /// whose bytes do not match its hash carries `"hash_mismatch": true`, a row whose index
    /// columns disagree with its leaf `"column_mismatch"`)
    Show(show::Args),
    /// Check the whole ledger: leaf hashes and order, checkpoint signatures and consistency,
    /// sealed content against its commitments and missing content against redaction events,
    /// index columns against their leaves, leaf MACs. Exits non-zero on any problem
    Verify(verify::Args),
    /// Print a C2SP tlog-proof that leaf N is in the log, against the latest checkpoint (with
    /// the cosignatures the tlog-witnesses made on it)
    Prove(prove::Args),
    /// Print and check a consistency proof between the stored checkpoints of sizes A and B
    Consistency(consistency::Args),
    /// Print the latest signed checkpoint, with the cosignatures the tlog-witnesses made on it
    Checkpoint(checkpoint::Args),
    /// List the stored checkpoints: size, time, root (the sizes `consistency` takes)
    Checkpoints(checkpoints::Args),
    /// Delete the sealed content (arguments, rationale) of leaf N; the leaf and all proofs stay
    /// valid, and the redaction is itself recorded
    Redact(redact::Args),
    /// Export the ledger for a SIEM as OCSF JSON lines: once, or with --follow as a stream to
    /// standard output, a file, Splunk HEC or Elasticsearch, resuming from its cursor
    Export(export::Args),
}

pub async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Show(a) => show::run(a),
        Command::Verify(a) => verify::run(a),
        Command::Prove(a) => prove::run(a),
        Command::Consistency(a) => consistency::run(a),
        Command::Checkpoint(a) => checkpoint::run(a),
        Command::Checkpoints(a) => checkpoints::run(a),
        Command::Redact(a) => redact::run(a).await,
        Command::Export(a) => export::run(a).await,
    }
}

/// The config and its store, for readers.
fn open(arg: &ConfigArg) -> anyhow::Result<(Config, Arc<dyn Store>)> {
    let config = super::load_config(arg)?;
    let store = super::open_store(&config.store)?;
    Ok((config, store))
}

/// The key that checkpoints must verify with. When the configuration pins the ledger's key
/// (`[ledger] verifier_key`), the pinned key: `--key` or the `.pub` file beside the signing key
/// naming another is an error, because a state directory whose key and store were replaced
/// together holds a new history that verifies under its own key, which is what the pin is for.
/// Without a pin, `--key` (a verifier key or a file holding one), else the `.pub` file.
fn verifier(config: &Config, key: Option<&str>) -> anyhow::Result<CheckpointVerifier> {
    let default = public_key_path(&config.ledger.key_path);
    let Some(pinned) = pinned_key(config)? else {
        let source = key.map_or_else(|| default.display().to_string(), str::to_owned);
        return Ok(read_verifier(&source)?);
    };
    let found = match key {
        Some(k) => Some(("`--key`".to_owned(), read_verifier(k)?)),
        None if default.exists() => Some((
            format!("`{}`", default.display()),
            read_verifier(&default.display().to_string())?,
        )),
        None => None,
    };
    if let Some((source, found)) = found
        && *found.key() != pinned
    {
        anyhow::bail!(
            "{source} is the key `{}`, not the one the configuration pins \
             (`[ledger] verifier_key = \"{pinned}\"`): this ledger was not signed by the pinned \
             key, or its key file was replaced",
            found.key()
        );
    }
    Ok(CheckpointVerifier::for_key(pinned))
}

/// The ledger key the configuration pins (`[ledger] verifier_key`), if any.
fn pinned_key(config: &Config) -> anyhow::Result<Option<VerifierKey>> {
    config
        .ledger
        .verifier_key
        .as_deref()
        .map(VerifierKey::parse)
        .transpose()
        .map_err(|e| anyhow::anyhow!("[ledger] verifier_key is not a verifier key: {e}"))
}

/// What a witness cosigned as kept beside the key, checked, or why it cannot be used.
type KeptRecord = Result<Option<CosignedCheckpoint>, String>;

/// Each configured tlog-witness's key and the record of what it last cosigned, checked with
/// that key: `Ok(None)` when it has cosigned nothing yet, an error (for the caller to report)
/// when the record cannot be read or does not verify.
fn cosigned(config: &Config) -> anyhow::Result<Vec<(CosignerKey, KeptRecord)>> {
    config
        .ledger
        .witnesses
        .iter()
        .filter_map(|w| match w {
            WitnessConfig::Http { key, .. } => Some(key),
            _ => None,
        })
        .map(|key| {
            let key =
                CosignerKey::parse(key).map_err(|e| anyhow::anyhow!("witness key `{key}`: {e}"))?;
            let record =
                read_verified_cosigned(&cosigned_path(&config.ledger.key_path, &key), &key)
                    .map_err(|e| e.to_string());
            Ok((key, record))
        })
        .collect()
}

/// `note` with the cosignatures the configured witnesses made on that same checkpoint; a
/// record that cannot be used is left out with a warning (`audit verify` reports it).
fn cosign(config: &Config, note: &str) -> anyhow::Result<String> {
    let records: Vec<_> = cosigned(config)?
        .into_iter()
        .filter_map(|(key, record)| match record {
            Ok(record) => Some((key, record?.record().clone())),
            Err(e) => {
                eprintln!("warning: {e}: its cosignature is left out");
                None
            }
        })
        .collect();
    Ok(warden_store::ledger::with_cosignatures(note, &records))
}
