//! Publishing checkpoints to a C2SP tlog-witness (<https://c2sp.org/tlog-witness>) and
//! keeping what it cosigns.
//!
//! Each checkpoint the ledger signs is posted to `<url>/add-checkpoint` with a consistency
//! proof from the size the witness last cosigned (kept in a record beside the ledger key, see
//! `warden_store::ledger::CosignedRecord`). The witness checks the log's signature and the
//! proof, remembers the new size and answers with its cosignature, which is checked with the
//! configured key before it is kept; a line that does not verify, or that another key signed,
//! is refused, counted and not kept. Of the lines that verify only the newest is kept.
//!
//! Nothing the witness says is taken on trust: a `409` naming a size above the checkpoint is
//! let go only when a checkpoint signed here reaches that size, and one naming a size below
//! what the kept record verifies is an error (a rolled-back or impersonated witness), never
//! retried from. The kept record's size is read from the checkpoint the witness cosigned, and
//! a record that cannot be used is treated as absent, so the witness's answer still decides.
//! After failures in a row the witness is asked again only after 1, 3, 7, at most
//! [`MAX_SKIP`] skipped checkpoints (counted, not timed), so a refusing witness does not make
//! each checkpoint re-read the log since its last cosigned size.
//!
//! What this catches: the witness never cosigns a tree that does not extend the one it last
//! cosigned. When the ledger's tail was deleted together with the checkpoints covering it, the
//! next publish is answered `409` with a larger size than the log now has, or `422` when the
//! log grew again on a different history; both are logged as errors naming the truncation, and
//! the kept record lets `warden audit verify` show that the store is shorter than, or differs
//! from, a checkpoint the witness cosigned. Someone who can delete the state directory deletes
//! the record as well; the witness still refuses, so the publish still fails loudly, and anyone
//! holding a cosigned checkpoint can prove the truncation offline.
//!
//! Design choice: the sink runs on the ledger's publisher thread (never on the append path; a
//! hung witness only makes the publisher skip checkpoints), and drives an async `reqwest`
//! client on a current-thread runtime of its own. The consistency proof comes from the frontier
//! of the tree the witness cosigned (O(log n) hashes, kept between publishes) and the leaves
//! stored since, so each publish reads only what was appended since the last one and memory
//! does not grow with the log.

use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use warden_ledger::{
    CosignerKey, Frontier, Hash, Note, add_checkpoint_request, leaf_hash, parse_tlog_size,
};
use warden_store::ledger::{
    CheckpointSink, CosignedRecord, PageError, cosigned_path, largest_opened, leaf_pages,
    read_verified_cosigned, write_cosigned,
};
use warden_store::{Store, StoredCheckpoint};

/// The most of a witness's answer that is read.
const MAX_ANSWER: usize = 64 * 1024;

/// The most of a witness's answer that is shown in an error.
const SHOWN_ANSWER: usize = 200;

/// The most checkpoints skipped after failures in a row (the wait doubles up to it).
const MAX_SKIP: u32 = 15;

/// Why a tlog-witness sink could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    #[error("witness key `{key}`: {error}")]
    Key {
        key: String,
        error: warden_ledger::KeyError,
    },
    #[error("witness `{url}`: {error}")]
    Client { url: String, error: String },
    #[error("witness url `{url}`: {error}")]
    Url { url: String, error: String },
}

/// How many of the next checkpoints are not sent, after failures in a row: a witness that
/// refuses, times out or fails is asked again after 1, then 3, 7 and at most [`MAX_SKIP`]
/// skipped checkpoints, so a refusing witness does not make every checkpoint re-read the leaves
/// since the size it last cosigned. One answer that is kept resets it.
#[derive(Debug, Default)]
struct Backoff {
    failures: u32,
    skip: u32,
}

impl Backoff {
    /// Whether this checkpoint is skipped (and counted as waited for).
    fn skip(&mut self) -> bool {
        if self.skip == 0 {
            return false;
        }
        self.skip -= 1;
        true
    }

    fn record(&mut self, ok: bool) {
        if ok {
            *self = Self::default();
        } else {
            self.failures = self.failures.saturating_add(1);
            self.skip = 1u32
                .checked_shl(self.failures)
                .map_or(MAX_SKIP, |n| (n - 1).min(MAX_SKIP));
        }
    }
}

/// `url` without its userinfo, for messages.
fn shown_url(url: &url::Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

/// A witness's answer as an error shows it: at most [`SHOWN_ANSWER`] bytes, on one line, with
/// control characters escaped, so an answer cannot forge log lines or flood the log.
fn shown_answer(answer: &str) -> String {
    let answer = answer.trim();
    let mut end = answer.len().min(SHOWN_ANSWER);
    while !answer.is_char_boundary(end) {
        end -= 1;
    }
    let cut = answer.get(..end).unwrap_or_default();
    let more = if end < answer.len() { "…" } else { "" };
    format!("{}{more}", cut.escape_debug())
}

/// A C2SP tlog-witness that the ledger's checkpoints are sent to.
pub struct HttpWitness {
    endpoint: String,
    key: CosignerKey,
    record: std::path::PathBuf,
    store: Arc<dyn Store>,
    client: reqwest::Client,
    /// `None` only while dropping (see `Drop`).
    runtime: Option<tokio::runtime::Runtime>,
    /// The frontier of the stored leaves at the size the witness last cosigned.
    frontier: Mutex<Frontier>,
    /// Shared with the metrics (`Gateway::watch_witness_refusals`).
    refused: Arc<AtomicU64>,
    backoff: Mutex<Backoff>,
}

impl fmt::Debug for HttpWitness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpWitness")
            .field("endpoint", &self.endpoint)
            .field(
                "key",
                &format_args!("{}+{}", self.key.name(), self.key.id()),
            )
            .finish_non_exhaustive()
    }
}

/// What one `add-checkpoint` request got back.
struct Answer {
    status: reqwest::StatusCode,
    body: String,
}

impl HttpWitness {
    /// A witness at submission prefix `url` whose cosignatures verify with `key`; what it
    /// cosigns is recorded beside the ledger key at `key_path`.
    pub fn new(
        url: &str,
        key: &str,
        timeout: Duration,
        key_path: &Path,
        store: Arc<dyn Store>,
    ) -> Result<Self, WitnessError> {
        // The URL shows up in logs and errors: credentials have no place in it.
        let parsed = url::Url::parse(url).map_err(|e| WitnessError::Url {
            url: "(not shown)".to_owned(),
            error: e.to_string(),
        })?;
        let url = shown_url(&parsed);
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(WitnessError::Url {
                url,
                error: "a witness url carries no user or password".to_owned(),
            });
        }
        let url = url.as_str();
        let key = CosignerKey::parse(key).map_err(|error| WitnessError::Key {
            key: key.to_owned(),
            error,
        })?;
        let client_error = |error: String| WitnessError::Client {
            url: url.to_owned(),
            error,
        };
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| client_error(e.to_string()))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| client_error(e.to_string()))?;
        Ok(Self {
            endpoint: format!("{}/add-checkpoint", url.trim_end_matches('/')),
            record: cosigned_path(key_path, &key),
            key,
            store,
            client,
            runtime: Some(runtime),
            frontier: Mutex::new(Frontier::new()),
            refused: Arc::new(AtomicU64::new(0)),
            backoff: Mutex::new(Backoff::default()),
        })
    }

    /// Answers refused so far: cosignatures that do not verify or are by another key, and
    /// sizes the witness names that no checkpoint here reaches or that are below what it
    /// cosigned before.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// The witness's name and its refusal count, shared, for the metrics.
    pub fn refusals(&self) -> (String, Arc<AtomicU64>) {
        (self.key.name().to_owned(), self.refused.clone())
    }

    /// Where what this witness cosigned is recorded.
    pub fn record_path(&self) -> &Path {
        &self.record
    }

    fn post(&self, body: String) -> Result<Answer, String> {
        let runtime = self
            .runtime
            .as_ref()
            .ok_or_else(|| "the witness client is shut down".to_owned())?;
        runtime.block_on(async {
            let mut response = self
                .client
                .post(&self.endpoint)
                .header(reqwest::header::CONTENT_TYPE, "text/plain; charset=utf-8")
                .body(body)
                .send()
                .await
                .map_err(|e| format!("`{}`: {e}", self.endpoint))?;
            let status = response.status();
            let mut bytes = Vec::new();
            while let Some(chunk) = response
                .chunk()
                .await
                .map_err(|e| format!("`{}`: {e}", self.endpoint))?
            {
                bytes.extend_from_slice(&chunk);
                if bytes.len() > MAX_ANSWER {
                    return Err(format!(
                        "`{}`: the answer is longer than {MAX_ANSWER} bytes",
                        self.endpoint
                    ));
                }
            }
            Ok(Answer {
                status,
                body: String::from_utf8_lossy(&bytes).into_owned(),
            })
        })
    }

    /// The frontier of the first `from` stored leaves (extended from `cached` when it is not
    /// larger) and the stored leaf hashes from `from` to `to`.
    fn parts(
        &self,
        cached: &Frontier,
        from: u64,
        to: u64,
    ) -> Result<(Frontier, Vec<Hash>), String> {
        let mut base = if cached.size() <= from {
            cached.clone()
        } else {
            Frontier::new()
        };
        let start = base.size();
        read_leaves(self.store.as_ref(), start, from, |h| base.push(h))?;
        let mut added = Vec::new();
        read_leaves(self.store.as_ref(), from, to, |h| added.push(h))?;
        Ok((base, added))
    }

    /// [`Self::parts`] for `checkpoint`, checked against its root; rebuilt from the first leaf
    /// once when the kept frontier disagrees.
    fn parts_for(
        &self,
        cached: &Frontier,
        from: u64,
        checkpoint: &StoredCheckpoint,
    ) -> Result<(Frontier, Vec<Hash>, Frontier), String> {
        for start in [cached, &Frontier::new()] {
            let (base, added) = self.parts(start, from, checkpoint.size)?;
            let mut full = base.clone();
            for h in &added {
                full.push(*h);
            }
            if full.root() == checkpoint.root {
                return Ok((base, added, full));
            }
        }
        Err(format!(
            "the first {} stored leaves do not have the root of the checkpoint being published",
            checkpoint.size
        ))
    }

    /// The witness has cosigned `cosigned` leaves, more than this checkpoint's `size`: an
    /// older checkpoint when a checkpoint signed here covers that many (another process
    /// published a newer one first, which covers this one), a truncated ledger when the store
    /// holds fewer leaves, and otherwise a size nobody could have had cosigned (a ledger
    /// truncated that grew again, or an answer that is not the witness's). Only the first is
    /// let go: a size merely below the store's leaf count would let whoever answers for the
    /// witness stop the cosigning for good without a word.
    fn behind(&self, cosigned: u64, size: u64) -> Result<(), String> {
        let signed = self
            .store
            .ledger_latest_checkpoint()
            .map_err(|e| e.to_string())?
            .map_or(0, |c| c.size);
        if signed >= cosigned {
            tracing::debug!(witness = %self.key.name(), cosigned, size,
                "the witness already cosigned a newer checkpoint");
            return Ok(());
        }
        let stored = self.store.ledger_size().map_err(|e| e.to_string())?;
        // The publisher logs it as an error.
        if stored < cosigned {
            return Err(format!(
                "the witness `{}` has cosigned a tree of {cosigned} leaves, but the store holds \
                 only {stored}: the ledger was truncated (its tail deleted with the checkpoints \
                 covering it); run `warden audit verify`",
                self.key.name()
            ));
        }
        Err(self.refuse(format!(
            "the witness `{}` names a cosigned tree of {cosigned} leaves, but no checkpoint \
             here reaches it (the latest covers {signed}): the ledger was truncated and grew \
             again, or the answer is not the witness's; run `warden audit verify`",
            self.key.name()
        )))
    }

    /// The witness names `cosigned`, below the `kept` size it cosigned before: a witness does
    /// not forget, so it was rolled back or someone else answers for it. Not retried: a
    /// retry from the smaller size would have it cosign over its own earlier cosignature.
    fn rolled_back(&self, cosigned: u64, kept: u64) -> String {
        self.refuse(format!(
            "the witness `{}` names a cosigned tree of {cosigned} leaves, but it cosigned \
             {kept} leaves before: it was rolled back or the answer is not the witness's",
            self.key.name()
        ))
    }

    fn inconsistent(&self, old: u64, size: u64, answer: &str) -> String {
        format!(
            "the witness `{}` refuses checkpoint {size}: it is not consistent with the tree of \
             {old} leaves the witness cosigned (`{}`): the ledger was rewritten or truncated and \
             grew again; run `warden audit verify`",
            self.key.name(),
            shown_answer(answer)
        )
    }

    fn refuse(&self, why: String) -> String {
        self.refused.fetch_add(1, Ordering::Relaxed);
        format!("cosignature refused, nothing kept: {why}")
    }

    /// Checks the witness's answer with its key and records the cosigned checkpoint.
    fn keep(&self, checkpoint: &StoredCheckpoint, answer: &str) -> Result<(), String> {
        if answer.is_empty() || !answer.ends_with('\n') {
            return Err(self.refuse("the witness answered no signature lines".into()));
        }
        let note = Note::parse(&format!("{}{answer}", checkpoint.note))
            .map_err(|e| self.refuse(format!("the witness's answer: {e}")))?;
        // A blank line in the answer would make the lines after it sign something other than
        // the checkpoint: the signed text must be the checkpoint's.
        let body = Note::parse(&checkpoint.note).map_err(|e| e.to_string())?;
        if note.text() != body.text() {
            return Err(self.refuse("the witness's answer is not only signature lines".into()));
        }
        // Only the witness's own lines count: the log's line is already in the note.
        let cosignatures = self
            .key
            .verify(&note)
            .map_err(|e| self.refuse(e.to_string()))?;
        // One line per witness, the newest: more would only grow every receipt handed out,
        // past what a verifier opens.
        let newest = cosignatures
            .iter()
            .max_by_key(|c| c.timestamp())
            .ok_or_else(|| self.refuse("the witness answered no signature lines".into()))?;
        let mut kept = checkpoint.note.clone();
        kept.push_str(newest.line());
        kept.push('\n');
        write_cosigned(
            &self.record,
            &CosignedRecord {
                witness: self.key.to_string(),
                size: checkpoint.size,
                note: kept,
            },
        )
        .map_err(|e| e.to_string())
    }
}

/// The size a witness's `409` answer names: the tree it has cosigned.
fn conflict_size(body: &str) -> Result<u64, String> {
    parse_tlog_size(body).ok_or_else(|| {
        format!(
            "the witness answered 409 without its size (`{}`)",
            shown_answer(body)
        )
    })
}

/// Hands the hashes of stored leaves `from..to` to `each`, in order.
fn read_leaves(
    store: &dyn Store,
    from: u64,
    to: u64,
    mut each: impl FnMut(Hash),
) -> Result<(), String> {
    for page in leaf_pages(store, from, Some(to)) {
        let page = page.map_err(|e| match e {
            PageError::Short { held, wanted } => {
                format!("the store holds {held} leaves, fewer than the checkpoint's {wanted}")
            }
            e => e.to_string(),
        })?;
        for leaf in page {
            each(leaf_hash(&leaf.data));
        }
    }
    Ok(())
}

impl HttpWitness {
    /// The size the witness cosigned, from the kept record checked with its key; `None`
    /// without a record, or with one that cannot be read or does not verify (logged): then
    /// the request goes from 0 and the witness's answer says where it stands, so a damaged
    /// record never hides a refusal.
    fn kept(&self) -> Option<u64> {
        match read_verified_cosigned(&self.record, &self.key) {
            Ok(kept) => kept.map(|k| k.size()),
            Err(e) => {
                tracing::warn!(witness = %self.key.name(), error = %e,
                    "the kept cosigned checkpoint is unusable: sending from size 0");
                None
            }
        }
    }

    /// [`Self::add_checkpoint`], its answer counted by the backoff.
    fn sent(&self, checkpoint: &StoredCheckpoint, waited: bool) -> Result<(), String> {
        let result = self.add_checkpoint(checkpoint, waited);
        if let Ok(mut backoff) = self.backoff.lock() {
            backoff.record(result.is_ok());
        }
        result
    }

    /// Posts `checkpoint` to the witness. `waited`: the caller acts only once the witness holds
    /// it, so a witness that already holds a larger tree is an error here (that tree is not
    /// this writer's to vouch for), not a newer checkpoint that covers this one.
    fn add_checkpoint(&self, checkpoint: &StoredCheckpoint, waited: bool) -> Result<(), String> {
        let size = checkpoint.size;
        let behind = |cosigned: u64| {
            if waited {
                Err(format!(
                    "the witness `{}` holds a tree of {cosigned} leaves, larger than this \
                     writer's {size}: leaves it covers are not in this store (removed, or \
                     appended by another writer since this one read it)",
                    self.key.name()
                ))
            } else {
                self.behind(cosigned, size)
            }
        };
        let kept = self.kept();
        let mut old = kept.unwrap_or(0);
        if old > size {
            return behind(old);
        }
        let cached = self
            .frontier
            .lock()
            .map_err(|_| "the witness frontier lock is poisoned".to_owned())?
            .clone();
        let (mut base, mut added, full) = self.parts_for(&cached, old, checkpoint)?;
        // Once as recorded, and once more from the size a 409 names.
        for retry in [false, true] {
            let proof = base.consistency_proof(&added).map_err(|e| e.to_string())?;
            let answer = self.post(add_checkpoint_request(old, &proof, &checkpoint.note))?;
            match answer.status.as_u16() {
                200 => {
                    self.keep(checkpoint, &answer.body)?;
                    if let Ok(mut kept) = self.frontier.lock() {
                        *kept = full;
                    }
                    return Ok(());
                }
                409 => {
                    let cosigned = conflict_size(&answer.body)?;
                    if let Some(kept) = kept
                        && cosigned < kept
                    {
                        return Err(self.rolled_back(cosigned, kept));
                    }
                    if cosigned > size {
                        return behind(cosigned);
                    }
                    if retry {
                        return Err(format!(
                            "the witness answered 409 twice (it names size {cosigned})"
                        ));
                    }
                    old = cosigned;
                    (base, added) = self.parts(&base, old, size)?;
                }
                422 => return Err(self.inconsistent(old, size, &answer.body)),
                status => {
                    return Err(format!(
                        "the witness answered {status}: `{}`",
                        shown_answer(&answer.body)
                    ));
                }
            }
        }
        Err("the witness answered 409 twice".into())
    }
}

impl CheckpointSink for HttpWitness {
    fn publish(&self, checkpoint: &StoredCheckpoint) -> Result<(), String> {
        let skip = self
            .backoff
            .lock()
            .map_err(|_| "the witness backoff lock is poisoned".to_owned())?
            .skip();
        if skip {
            tracing::debug!(witness = %self.key.name(), size = checkpoint.size,
                "the witness failed lately: checkpoint not sent, a later one covers it");
            return Ok(());
        }
        self.sent(checkpoint, false)
    }

    /// Sent whatever the backoff says: the caller waits for this witness's cosignature.
    fn publish_now(&self, checkpoint: &StoredCheckpoint) -> Result<(), String> {
        self.sent(checkpoint, true)
    }

    /// The checkpoint the witness last cosigned, from the record kept beside the key. Without
    /// a usable record (deleted with a cut tail, say) the witness itself is asked where it
    /// stands: the newest stored checkpoint is posted from size 0, and a `409` naming more
    /// leaves than the store holds refuses the start, as the record would have. (With no
    /// stored checkpoint there is nothing signed to ask with; a witness that cannot be asked
    /// refuses the start too.)
    fn latest(
        &self,
        verifier: &warden_ledger::CheckpointVerifier,
    ) -> Result<Option<(u64, warden_ledger::Hash)>, String> {
        if let Some(kept) = read_verified_cosigned(&self.record, &self.key)
            .ok()
            .flatten()
        {
            return largest_opened(verifier, &[kept.record().note.as_str()]);
        }
        let Some(stored) = self
            .store
            .ledger_latest_checkpoint()
            .map_err(|e| e.to_string())?
        else {
            return Ok(None);
        };
        // Opening runs on an async task in `serve`: the witness client's own runtime is
        // driven from a thread of its own.
        let request = add_checkpoint_request(0, &[], &stored.note);
        let answer = std::thread::scope(|scope| {
            scope
                .spawn(|| self.post(request))
                .join()
                .map_err(|_| "the witness client panicked".to_owned())
        })??;
        match answer.status.as_u16() {
            200 => {
                self.keep(&stored, &answer.body)?;
                Ok(Some((stored.size, stored.root)))
            }
            409 => {
                let cosigned = conflict_size(&answer.body)?;
                let held = self.store.ledger_size().map_err(|e| e.to_string())?;
                if cosigned > held {
                    return Err(format!(
                        "the witness `{}` has cosigned a tree of {cosigned} leaves, but the \
                         store holds only {held}: the ledger was truncated (its tail deleted \
                         with the checkpoints covering it, and the record of what the witness \
                         cosigned with them)",
                        self.key.name()
                    ));
                }
                Ok(None)
            }
            status => Err(format!(
                "asked where it stands (no record of what it cosigned is kept), the witness \
                 answered {status}: `{}`",
                shown_answer(&answer.body)
            )),
        }
    }
}

impl Drop for HttpWitness {
    fn drop(&mut self) {
        // Dropping a runtime inside another runtime's task panics; this never blocks.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
