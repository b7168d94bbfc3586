//! `warden audit verify`: the offline audit of a stored ledger.
//!
//! Leaf MACs are checked with the key derived from the configured signing key when this user
//! can read it; an auditor who holds only the verifier key (`--key`) still gets every other
//! check, and a leaf without a MAC beyond the last checkpoint is still found. The store is
//! compared with the checkpoints published to file witnesses and with the latest checkpoint
//! each tlog-witness cosigned (kept beside the signing key).

use crate::cmd::ConfigArg;
use std::path::PathBuf;
use std::process::ExitCode;
use warden_ledger::NoteSigner;
use warden_policy::WitnessConfig;
use warden_store::ledger::{
    MacCheck, check_published, read_leaf_key, read_published, verify_store,
};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    config: ConfigArg,
    /// The ledger's verifier key (`<name>+<id>+<key>`) or a file holding it; default the
    /// `.pub` file beside the configured signing key
    #[arg(long)]
    key: Option<String>,
    /// Checkpoints published by a file witness (one JSON line each), to compare the store
    /// with: fails when the store's tree is smaller than, or not the same as, one of them.
    /// Default: every file witness in the config
    #[arg(long)]
    published: Vec<PathBuf>,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let (config, store) = super::open(&a.config)?;
    let verifier = super::verifier(&config, a.key.as_deref())?;
    if let Some(pinned) = super::pinned_key(&config)?
        && let Ok(text) = std::fs::read_to_string(&config.ledger.key_path)
        && let Ok(signer) = NoteSigner::from_private_key(text.trim())
        && signer.verifier_key() != pinned
    {
        anyhow::bail!(
            "the signing key `{}` is `{}`, not the one the configuration pins \
             (`[ledger] verifier_key = \"{pinned}\"`): the key was replaced, and what it signed \
             is not this ledger's history",
            config.ledger.key_path.display(),
            signer.verifier_key()
        );
    }
    let leaf_key = match read_leaf_key(&config.ledger.key_path, &config.ledger.origin) {
        Ok(key) => Some(key),
        Err(e) => {
            eprintln!("note: leaf MACs are not checked without the signing key ({e})");
            None
        }
    };
    let started = std::time::Instant::now();
    let report = verify_store(store.as_ref(), &verifier, leaf_key.as_ref())?;
    // What was published outside the store catches a tail removed with its checkpoints.
    let published = if a.published.is_empty() {
        config
            .ledger
            .witnesses
            .iter()
            .filter_map(|w| match w {
                WitnessConfig::File(path) if path.exists() => Some(path.clone()),
                _ => None,
            })
            .collect()
    } else {
        a.published.clone()
    };
    let mut against_published = Vec::new();
    let mut published_checked = 0;
    for path in &published {
        let notes = read_published(path)?;
        published_checked += notes.len();
        against_published.extend(check_published(store.as_ref(), &verifier, &notes)?);
    }
    // What each tlog-witness cosigned, kept beside the key: its cosignature must verify, and
    // the store must hold that tree.
    let mut against_cosigned = Vec::new();
    let mut cosigned_checked = 0;
    for (witness, record) in super::cosigned(&config)? {
        let record = match record {
            Ok(Some(record)) => record,
            Ok(None) => continue,
            Err(e) => {
                against_cosigned.push(format!(
                    "the checkpoint kept as cosigned by witness `{}` cannot be used: {e}",
                    witness.name()
                ));
                continue;
            }
        };
        cosigned_checked += 1;
        for finding in check_published(store.as_ref(), &verifier, &[record.record().note.clone()])?
        {
            against_cosigned.push(format!(
                "cosigned by witness `{}`: {finding}",
                witness.name()
            ));
        }
    }
    // The gate's own record: every executed request had the approvals it asked for.
    let unapproved =
        warden_gateway::gate::unapproved_executions(store.as_ref(), leaf_key.as_ref())?;
    let log = &report.log;
    let latest = log.latest_checkpoint.as_ref().map_or_else(
        || "no checkpoint".to_owned(),
        |c| format!("latest checkpoint {} (root {})", c.size, c.root.to_base64()),
    );
    let macs = match report.macs {
        MacCheck::Checked => "every leaf MAC checked",
        MacCheck::NoSigningKey => "leaf MACs not checked",
    };
    let summary = format!(
        "{} leaves, {} checkpoints, {latest}, signed by `{}`, {} leaves not yet checkpointed; \
         {} sealed values match their commitments, {} redacted on the record; \
         index columns match their leaves; {macs}; {published_checked} published \
         checkpoints agree; {cosigned_checked} witness-cosigned checkpoints agree ({:.2?})",
        log.leaves,
        log.checkpoints,
        verifier.key(),
        log.unsigned_leaves(),
        report.sealed_checked,
        report.redacted,
        started.elapsed()
    );
    if report.is_clean()
        && unapproved.is_empty()
        && against_published.is_empty()
        && against_cosigned.is_empty()
    {
        crate::output::say!("ok: {summary}")?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(finding) = &log.finding {
        crate::output::say!("FAILED: {finding}")?;
    }
    for finding in &report.content {
        crate::output::say!("FAILED: {finding}")?;
    }
    if report.content_left_off > 0 {
        crate::output::say!(
            "FAILED: {} more problems not listed",
            report.content_left_off
        )?;
    }
    for finding in &against_published {
        crate::output::say!("FAILED: {finding}")?;
    }
    for finding in &against_cosigned {
        crate::output::say!("FAILED: {finding}")?;
    }
    for finding in &unapproved {
        crate::output::say!("FAILED: {finding}")?;
    }
    crate::output::say!("checked before the problem: {summary}")?;
    Ok(ExitCode::FAILURE)
}
