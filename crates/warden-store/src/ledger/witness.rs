//! Publishing signed checkpoints where the store cannot reach them, and checking the store
//! against what was published.
//!
//! Whoever can write the database can delete the newest leaves together with the checkpoints
//! that cover them; what is left is a shorter log that verifies on its own. A checkpoint that
//! was also published elsewhere (a file on another volume or host, a program that forwards it
//! to a SIEM or a transparency witness) still names the larger tree: [`check_published`]
//! fails when the store's tree is smaller than, or different from, one of them. A C2SP
//! tlog-witness (the sink lives in `warden_gateway::witness`, beside the HTTP client) goes
//! further: it refuses to cosign a tree that does not extend the last one it cosigned, and
//! what it cosigned is kept here as a [`CosignedRecord`] beside the ledger key.
//!
//! Design choice: sinks run on a publisher thread of their own, fed through a bounded channel,
//! so a slow or hung witness never delays an append. Only the newest checkpoint matters to a
//! witness, so when the channel is full a checkpoint is skipped (with a warning) rather than
//! waited for; the next one covers it. On shutdown the thread publishes the newest queued
//! checkpoint (it covers the others) and stops, so the last checkpoint is published before the
//! ledger closes without waiting for a whole queue of slow publishes.

use super::{LedgerError, tree_of};
use crate::{Store, StoredCheckpoint};
use std::fmt;
use std::io::{Seek, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use warden_ledger::{Checkpoint, CheckpointVerifier, Cosignature, CosignerKey, Hash, Note};

/// Checkpoints waiting for the publisher before newer ones are skipped.
const BACKLOG: usize = 16;

/// Somewhere a signed checkpoint is published.
pub trait CheckpointSink: Send + Sync + fmt::Debug {
    /// Publishes `checkpoint`. A sink may skip one (a witness that failed lately is asked
    /// less often) and answer `Ok`: a later checkpoint covers it.
    fn publish(&self, checkpoint: &StoredCheckpoint) -> Result<(), String>;

    /// Publishes `checkpoint` for a caller that waits to act until the sink holds it
    /// ([`super::Ledger::witness`]): `Ok` only once it does, never skipped.
    fn publish_now(&self, checkpoint: &StoredCheckpoint) -> Result<(), String> {
        self.publish(checkpoint)
    }

    /// The largest checkpoint of this log (one `verifier` opens) that the sink holds and can
    /// read back, as its size and root: a starting ledger refuses a store that holds fewer
    /// leaves, or other ones. `None` where the sink keeps nothing to read back (a program).
    fn latest(&self, _verifier: &CheckpointVerifier) -> Result<Option<(u64, Hash)>, String> {
        Ok(None)
    }
}

/// The largest of `notes` that `verifier` opens, as its size and root. Notes of another log
/// (another origin) and notes that do not parse are left out. A checkpoint of this log's
/// origin that `verifier` does not open is an error: the witness holds a history of this log
/// signed by another key, so the key was replaced — as it is when someone deletes the key and
/// the store and lets warden start afresh, a history without its halts, taints and approvals.
/// A new key starts a new log, under an origin of its own.
pub fn largest_opened(
    verifier: &CheckpointVerifier,
    notes: &[&str],
) -> Result<Option<(u64, Hash)>, String> {
    let mut largest: Option<(u64, Hash)> = None;
    for note in notes {
        match verifier.open(note) {
            Ok(c) => {
                if largest.is_none_or(|(size, _)| c.size() > size) {
                    largest = Some((c.size(), *c.root()));
                }
            }
            Err(e) => {
                let body = Note::parse(note)
                    .ok()
                    .and_then(|n| Checkpoint::parse_body(n.text()).ok());
                if let Some(other) = body.filter(|c| c.origin == verifier.origin()) {
                    return Err(format!(
                        "it holds a checkpoint of this log (`{}`, {} leaves) that the ledger's \
                         key does not open ({e}): the log was signed by another key (or the line \
                         altered). A ledger \
                         started afresh under a new key would drop what the old one recorded; \
                         restore the ledger's key and store, or give a new log an origin of \
                         its own",
                        other.origin, other.size
                    ));
                }
            }
        }
    }
    Ok(largest)
}

/// Appends each checkpoint to a file as one JSON line `{"size":…,"root":…,"note":…}`, and
/// syncs it.
#[derive(Debug, Clone)]
pub struct FileSink(pub PathBuf);

/// One published checkpoint, as a [`FileSink`] writes it.
#[derive(serde::Serialize, serde::Deserialize)]
struct Published {
    size: u64,
    root: String,
    note: String,
}

impl CheckpointSink for FileSink {
    fn publish(&self, checkpoint: &StoredCheckpoint) -> Result<(), String> {
        let line = serde_json::to_string(&Published {
            size: checkpoint.size,
            root: checkpoint.root.to_base64(),
            note: checkpoint.note.clone(),
        })
        .map_err(|e| e.to_string())?;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.0)
            .map_err(|e| format!("`{}`: {e}", self.0.display()))?;
        file.write_all(format!("{line}\n").as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(|e| format!("`{}`: {e}", self.0.display()))
    }

    /// Refuses, before appending, a checkpoint smaller than one the file holds, or of the
    /// same size over another tree: the store this writer reads lost leaves that were
    /// published (or another writer published more since this one read the store). Sizes
    /// and roots are the lines' own claims, unverified: a forged line can only refuse.
    fn publish_now(&self, checkpoint: &StoredCheckpoint) -> Result<(), String> {
        let text = match std::fs::read_to_string(&self.0) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(format!("`{}`: {e}", self.0.display())),
        };
        let root = checkpoint.root.to_base64();
        let conflict = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Published>(l).ok())
            .find(|p| p.size > checkpoint.size || (p.size == checkpoint.size && p.root != root));
        if let Some(p) = conflict {
            return Err(format!(
                "`{}` holds a checkpoint of {} leaves that this store's {} leaves do not \
                 extend: leaves published there are gone from the store",
                self.0.display(),
                p.size,
                checkpoint.size
            ));
        }
        self.publish(checkpoint)
    }

    fn latest(&self, verifier: &CheckpointVerifier) -> Result<Option<(u64, Hash)>, String> {
        match std::fs::symlink_metadata(&self.0) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            _ => {}
        }
        let notes = read_published(&self.0).map_err(|e| e.to_string())?;
        let notes: Vec<&str> = notes.iter().map(String::as_str).collect();
        largest_opened(verifier, &notes)
    }
}

/// Runs a program per checkpoint with the signed note on its standard input; a non-zero exit
/// is a failure.
#[derive(Debug, Clone)]
pub struct CommandSink(pub Vec<String>);

impl CheckpointSink for CommandSink {
    fn publish(&self, checkpoint: &StoredCheckpoint) -> Result<(), String> {
        let (program, args) = self
            .0
            .split_first()
            .ok_or_else(|| "the witness command is empty".to_owned())?;
        // The note is handed over in an unlinked temporary file, not a pipe: a program that
        // exits without reading it cannot fail the write, nor kill warden with SIGPIPE where a
        // command ends quietly on a closed stdout (the CLI's commands do): `warden approvals
        // approve` with such a witness was killed after recording the approval.
        let note = tempfile::tempfile()
            .and_then(|mut file| {
                file.write_all(checkpoint.note.as_bytes())?;
                file.seek(std::io::SeekFrom::Start(0))?;
                Ok(file)
            })
            .map_err(|e| format!("`{program}`: cannot stage the checkpoint: {e}"))?;
        let status = Command::new(program)
            .args(args)
            .stdin(Stdio::from(note))
            .stdout(Stdio::null())
            .status()
            .map_err(|e| format!("`{program}`: {e}"))?;
        if !status.success() {
            return Err(format!("`{program}` exited with {status}"));
        }
        Ok(())
    }
}

/// Told, once every sink took a checkpoint, its size; or why one did not.
pub(super) type Witnessed = tokio::sync::oneshot::Sender<Result<u64, LedgerError>>;

/// A checkpoint for the sinks, and who waits to hear that every one holds it.
struct Job {
    checkpoint: StoredCheckpoint,
    waiting: Vec<Witnessed>,
}

/// What a checkpoint someone waits on is checked against before it is published: the store's
/// leaves (this tree's root at a witness's size is hashed again from them) and the ledger's
/// verifier (what a witness holds is opened with it).
pub(super) struct Held {
    pub store: Arc<dyn Store>,
    pub verifier: CheckpointVerifier,
}

/// The publisher thread and the channel the writer feeds it through.
pub(super) struct Publisher {
    sender: Option<SyncSender<Job>>,
    handle: Option<JoinHandle<()>>,
    /// Set when the ledger closes: from then on only the newest queued checkpoint is
    /// published (it covers the others), so a shutdown waits for one round, not the queue.
    closing: Arc<AtomicBool>,
}

impl Publisher {
    /// Starts a publisher for `sinks`; with none, publishing does nothing.
    pub(super) fn start(
        sinks: Vec<Arc<dyn CheckpointSink>>,
        held: Held,
    ) -> Result<Self, LedgerError> {
        if sinks.is_empty() {
            return Ok(Self {
                sender: None,
                handle: None,
                closing: Arc::new(AtomicBool::new(false)),
            });
        }
        let (sender, receiver) = sync_channel(BACKLOG);
        let closing = Arc::new(AtomicBool::new(false));
        let closed = closing.clone();
        let handle = std::thread::Builder::new()
            .name("warden-witness".into())
            .spawn(move || publish_all(&sinks, &held, &receiver, &closed))
            .map_err(|e| LedgerError::Write(format!("cannot start the publisher thread: {e}")))?;
        Ok(Self {
            sender: Some(sender),
            handle: Some(handle),
            closing,
        })
    }

    /// Whether there are sinks to publish to.
    pub(super) fn has_sinks(&self) -> bool {
        self.sender.is_some()
    }

    /// Hands a stored checkpoint to the sinks without waiting for them.
    pub(super) fn publish(&self, checkpoint: &StoredCheckpoint) {
        let Some(sender) = &self.sender else {
            return;
        };
        let job = Job {
            checkpoint: checkpoint.clone(),
            waiting: Vec::new(),
        };
        match sender.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(j)) => tracing::warn!(
                size = j.checkpoint.size,
                "the witnesses are behind: checkpoint skipped, the next one covers it"
            ),
            Err(TrySendError::Disconnected(j)) => {
                tracing::error!(size = j.checkpoint.size, "the checkpoint publisher stopped");
            }
        }
    }

    /// Hands `checkpoint` to the sinks and tells `witnessed` once every one holds it (each
    /// through [`CheckpointSink::publish_now`], after [`check_held`]), or why one does not.
    /// The writer never waits: a full queue is an answer too.
    pub(super) fn publish_waited(&self, checkpoint: StoredCheckpoint, witnessed: Witnessed) {
        let size = checkpoint.size;
        let Some(sender) = &self.sender else {
            let _ = witnessed.send(Ok(size));
            return;
        };
        let job = Job {
            checkpoint,
            waiting: vec![witnessed],
        };
        let refused = |job: Job, why: &str| {
            for w in job.waiting {
                let _ = w.send(Err(LedgerError::Write(format!(
                    "checkpoint {size} was not published: {why}"
                ))));
            }
        };
        match sender.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(job)) => refused(job, "the witnesses are behind"),
            Err(TrySendError::Disconnected(job)) => refused(job, "the publisher stopped"),
        }
    }

    /// Publishes the newest queued checkpoint and stops.
    pub(super) fn finish(&mut self) {
        self.closing.store(true, Ordering::SeqCst);
        self.sender = None;
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Refuses `checkpoint` where a witness holds what the store's tree does not extend: a larger
/// tree (leaves it covers are gone from the store, or another writer appended and published
/// since this one read), or another tree at a size this one has (leaves rewritten, or cut and
/// appended again). What a sink holds is read back and its signature checked
/// ([`CheckpointSink::latest`]); the tree's root at that size is hashed again from the stored
/// leaves, once per checkpoint someone waits on, here on the publisher's thread so that the
/// writer's appends never wait for it.
fn check_held(
    sinks: &[Arc<dyn CheckpointSink>],
    held: &Held,
    checkpoint: &StoredCheckpoint,
) -> Result<(), LedgerError> {
    for sink in sinks {
        let latest = sink.latest(&held.verifier).map_err(|e| {
            LedgerError::Write(format!("cannot read what witness {sink:?} holds: {e}"))
        })?;
        let Some((size, root)) = latest else {
            continue;
        };
        if size > checkpoint.size {
            return Err(LedgerError::Proof(format!(
                "witness {sink:?} holds a checkpoint of {size} leaves, the store's tree only {}: \
                 leaves the witness covers are not in this store",
                checkpoint.size
            )));
        }
        let ours = if size == checkpoint.size {
            checkpoint.root
        } else {
            tree_of(held.store.as_ref(), size)?.root()
        };
        if ours != root {
            return Err(LedgerError::Proof(format!(
                "witness {sink:?} holds a checkpoint of {size} leaves over another tree than the \
                 store's first {size} leaves"
            )));
        }
    }
    Ok(())
}

fn publish_all(
    sinks: &[Arc<dyn CheckpointSink>],
    held: &Held,
    receiver: &Receiver<Job>,
    closing: &AtomicBool,
) {
    while let Ok(mut job) = receiver.recv() {
        if closing.load(Ordering::SeqCst) {
            // Shutting down: the newest queued checkpoint covers the others (and whoever
            // waits on them).
            while let Ok(newer) = receiver.try_recv() {
                let mut waiting = std::mem::take(&mut job.waiting);
                job = newer;
                job.waiting.append(&mut waiting);
            }
        }
        let checkpoint = &job.checkpoint;
        let waited = !job.waiting.is_empty();
        if waited && let Err(e) = check_held(sinks, held, checkpoint) {
            tracing::error!(size = checkpoint.size, error = %e,
                "a checkpoint the gateway waits on was not published");
            let why = e.to_string();
            for w in job.waiting {
                let _ = w.send(Err(LedgerError::Proof(why.clone())));
            }
            continue;
        }
        let mut failed = None;
        for sink in sinks {
            let published = if waited {
                sink.publish_now(checkpoint)
            } else {
                sink.publish(checkpoint)
            };
            if let Err(e) = published {
                tracing::error!(witness = ?sink, size = checkpoint.size, error = %e,
                    "cannot publish a checkpoint");
                failed.get_or_insert(format!("witness {sink:?}: {e}"));
            }
        }
        for w in job.waiting {
            let _ = w.send(match &failed {
                None => Ok(checkpoint.size),
                Some(why) => Err(LedgerError::Write(format!(
                    "checkpoint {} was not published: {why}",
                    checkpoint.size
                ))),
            });
        }
    }
}

/// The checkpoint notes a [`FileSink`] wrote to `path`, in order.
pub fn read_published(path: &Path) -> Result<Vec<String>, LedgerError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        LedgerError::Proof(format!("published checkpoints `{}`: {e}", path.display()))
    })?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(n, line)| {
            serde_json::from_str::<Published>(line)
                .map(|p| p.note)
                .map_err(|e| {
                    LedgerError::Proof(format!(
                        "published checkpoints `{}`, entry {}: {e}",
                        path.display(),
                        n + 1
                    ))
                })
        })
        .collect()
}

/// The latest checkpoint a tlog-witness cosigned, kept beside the ledger key: where a
/// restarted publisher continues from, what `audit verify` compares the store with, and the
/// cosignature lines a handed-out checkpoint carries.
///
/// Design choice: a file beside the signing key rather than a table in the store. Whoever
/// can rewrite the database (a PostgreSQL login, a copied SQLite file) cannot reach it; whoever
/// holds the state directory can delete it too, but not what the witness remembers: its next
/// answer still names the size it cosigned.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CosignedRecord {
    /// The witness's cosigning key text.
    pub witness: String,
    /// The size of the cosigned checkpoint.
    pub size: u64,
    /// The log's signed checkpoint note followed by the witness's verified cosignature lines.
    pub note: String,
}

/// Where the record of what `witness` cosigned lives: `<key>.witness-<key id>.json`, beside
/// the ledger's signing key.
#[must_use]
pub fn cosigned_path(key_path: &Path, witness: &CosignerKey) -> PathBuf {
    key_path.with_extension(format!("witness-{}.json", witness.id()))
}

/// The record at `path`; `None` when there is none yet.
pub fn read_cosigned(path: &Path) -> Result<Option<CosignedRecord>, LedgerError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(LedgerError::Proof(format!(
                "cosigned checkpoint `{}`: {e}",
                path.display()
            )));
        }
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| LedgerError::Proof(format!("cosigned checkpoint `{}`: {e}", path.display())))
}

/// Replaces the record at `path` whole: written to a new file beside it, synced, renamed over
/// it.
///
/// The file is named afresh for each write (process id and a random number) and created with
/// `create_new`, which refuses any existing name, a symlink included: someone who can create
/// files beside the key cannot make this write through a link into another file, and two
/// processes never share one. It is removed again when the write fails.
pub fn write_cosigned(path: &Path, record: &CosignedRecord) -> Result<(), LedgerError> {
    let error = |e: &dyn fmt::Display| {
        LedgerError::Write(format!("cosigned checkpoint `{}`: {e}", path.display()))
    };
    let text = serde_json::to_string(record).map_err(|e| error(&e))?;
    let name = path
        .file_name()
        .ok_or_else(|| error(&"not a file name"))?
        .to_string_lossy();
    let partial = path.with_file_name(format!(
        ".{name}.{}-{:016x}.partial",
        std::process::id(),
        rand::random::<u64>()
    ));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&partial)
        .map_err(|e| error(&e))?;
    let written = file
        .write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::rename(&partial, path));
    drop(file);
    if let Err(e) = written {
        // Ours: made by `create_new` above.
        let _ = std::fs::remove_file(&partial);
        return Err(error(&e));
    }
    // The rename is durable once the directory is.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| error(&e))?;
    }
    Ok(())
}

/// The witness's cosignatures on a record's note, checked with its key: a record edited by
/// hand, or kept for another key, is an error.
pub fn check_cosigned(
    record: &CosignedRecord,
    witness: &CosignerKey,
) -> Result<Vec<Cosignature>, LedgerError> {
    let note = Note::parse(&record.note).map_err(|e| LedgerError::Proof(e.to_string()))?;
    witness
        .verify(&note)
        .map_err(|e| LedgerError::Proof(e.to_string()))
}

/// A kept record whose cosignature verified with its witness's key, and the size of the
/// checkpoint that the witness signed. Only [`open_cosigned`] makes one: the size is read from
/// the signed checkpoint text, never from the record's own `size` field, which nothing signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CosignedCheckpoint {
    size: u64,
    record: CosignedRecord,
}

impl CosignedCheckpoint {
    /// The size of the checkpoint the witness cosigned.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The record as read.
    #[must_use]
    pub fn record(&self) -> &CosignedRecord {
        &self.record
    }
}

/// Checks `record`'s cosignature with `witness` and reads the size from the checkpoint it
/// signed.
pub fn open_cosigned(
    record: CosignedRecord,
    witness: &CosignerKey,
) -> Result<CosignedCheckpoint, LedgerError> {
    check_cosigned(&record, witness)?;
    let note = Note::parse(&record.note).map_err(|e| LedgerError::Proof(e.to_string()))?;
    let checkpoint = warden_ledger::Checkpoint::parse_body(note.text())
        .map_err(|e| LedgerError::Proof(format!("the cosigned checkpoint: {e}")))?;
    Ok(CosignedCheckpoint {
        size: checkpoint.size,
        record,
    })
}

/// The record at `path`, read and checked with `witness`'s key: `None` when there is none
/// yet, an error when it cannot be read, does not parse or does not verify.
pub fn read_verified_cosigned(
    path: &Path,
    witness: &CosignerKey,
) -> Result<Option<CosignedCheckpoint>, LedgerError> {
    read_cosigned(path)?
        .map(|record| open_cosigned(record, witness))
        .transpose()
        .map_err(|e| LedgerError::Proof(format!("cosigned checkpoint `{}`: {e}", path.display())))
}

/// `note` with the cosignature lines of every record that cosigned the same checkpoint text
/// appended: the checkpoint as a C2SP tlog-proof or an auditor takes it. Each record's lines
/// are checked with its witness's key first; a line that does not verify is left out, and of
/// the lines that do, only the newest per witness is added (a record holding many lines would
/// otherwise push the note past what a verifier opens).
#[must_use]
pub fn with_cosignatures(note: &str, records: &[(CosignerKey, CosignedRecord)]) -> String {
    let Ok(parsed) = Note::parse(note) else {
        return note.to_owned();
    };
    let mut out = note.to_owned();
    for (witness, record) in records {
        let same_text = Note::parse(&record.note).is_ok_and(|r| r.text() == parsed.text());
        if !same_text {
            continue;
        }
        let newest = check_cosigned(record, witness)
            .ok()
            .and_then(|c| c.into_iter().max_by_key(Cosignature::timestamp));
        if let Some(c) = newest
            && !out.lines().any(|l| l == c.line())
        {
            out.push_str(c.line());
            out.push('\n');
        }
    }
    out
}

/// Why the store disagrees with a published checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishedFinding {
    /// The entry does not open with the ledger's key: it proves nothing either way.
    Unverifiable { entry: usize, error: String },
    /// The store holds fewer leaves than a published checkpoint covers.
    TailRemoved { size: u64, stored: u64 },
    /// The first `size` stored leaves do not have the published root.
    RootMismatch { size: u64 },
}

impl fmt::Display for PublishedFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unverifiable { entry, error } => write!(
                f,
                "published checkpoint {entry} does not verify with this ledger's key: {error}"
            ),
            Self::TailRemoved { size, stored } => write!(
                f,
                "published checkpoint {size}: the store holds only {stored} leaves: its tail \
                 was removed"
            ),
            Self::RootMismatch { size } => write!(
                f,
                "published checkpoint {size}: the root of the first {size} stored leaves is \
                 not the published root (the log was rewritten)"
            ),
        }
    }
}

/// Checks the stored leaves against published checkpoint `notes`: each must verify, cover no
/// more leaves than are stored, and have the root of the first leaves of its size.
pub fn check_published(
    store: &dyn Store,
    verifier: &CheckpointVerifier,
    notes: &[String],
) -> Result<Vec<PublishedFinding>, LedgerError> {
    let mut findings = Vec::new();
    let mut checkpoints = Vec::new();
    for (n, note) in notes.iter().enumerate() {
        match verifier.open(note) {
            Ok(c) => checkpoints.push(c),
            Err(e) => findings.push(PublishedFinding::Unverifiable {
                entry: n + 1,
                error: e.to_string(),
            }),
        }
    }
    let stored = store.ledger_size()?;
    let largest = checkpoints.iter().map(|c| c.size()).max().unwrap_or(0);
    if largest > stored {
        findings.push(PublishedFinding::TailRemoved {
            size: largest,
            stored,
        });
    }
    let within = largest.min(stored);
    let tree = tree_of(store, within)?;
    for c in checkpoints.iter().filter(|c| c.size() <= within) {
        if tree.root_at(c.size()).ok().as_ref() != Some(c.root()) {
            findings.push(PublishedFinding::RootMismatch { size: c.size() });
        }
    }
    Ok(findings)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use warden_ledger::Hash;

    fn held() -> Held {
        let signer =
            warden_ledger::NoteSigner::generate("warden.test/ledger", &mut rand::rngs::OsRng)
                .unwrap();
        Held {
            store: Arc::new(crate::SqliteStore::in_memory().unwrap()),
            verifier: CheckpointVerifier::for_key(signer.verifier_key()),
        }
    }

    fn checkpoint(size: u64) -> StoredCheckpoint {
        StoredCheckpoint {
            size,
            root: Hash([size as u8; 32]),
            note: format!("warden.test/ledger\n{size}\nroot\n\n— sig\n"),
            time_ms: 1,
        }
    }

    #[test]
    fn a_file_witness_appends_one_line_per_checkpoint_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("published.jsonl");
        let sink = FileSink(path.clone());
        sink.publish(&checkpoint(3)).unwrap();
        sink.publish(&checkpoint(5)).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 2);
        assert_eq!(
            read_published(&path).unwrap(),
            [checkpoint(3).note, checkpoint(5).note]
        );
        std::fs::write(&path, "not json\n").unwrap();
        assert!(read_published(&path).is_err(), "a damaged file is an error");
    }

    #[test]
    fn a_command_witness_gets_the_note_on_stdin_and_a_failure_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("got");
        let sink = CommandSink(vec![
            "sh".into(),
            "-c".into(),
            format!("cat > '{}'", out.display()),
        ]);
        sink.publish(&checkpoint(7)).unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), checkpoint(7).note);
        let failing = CommandSink(vec!["sh".into(), "-c".into(), "exit 3".into()]);
        assert!(
            failing
                .publish(&checkpoint(8))
                .unwrap_err()
                .contains("exited")
        );
        assert!(CommandSink(Vec::new()).publish(&checkpoint(9)).is_err());
    }

    #[derive(Debug, Default)]
    struct Recorder(std::sync::Mutex<Vec<u64>>);

    impl CheckpointSink for Recorder {
        fn publish(&self, checkpoint: &StoredCheckpoint) -> Result<(), String> {
            self.0.lock().unwrap().push(checkpoint.size);
            Ok(())
        }
    }

    #[test]
    fn the_publisher_publishes_the_newest_checkpoint_before_it_finishes() {
        let recorder = Arc::new(Recorder::default());
        let mut publisher = Publisher::start(vec![recorder.clone()], held()).unwrap();
        for size in 1..=5 {
            publisher.publish(&checkpoint(size));
        }
        publisher.finish();
        let seen = recorder.0.lock().unwrap().clone();
        assert_eq!(seen.last(), Some(&5), "{seen:?}");
        assert!(seen.is_sorted(), "{seen:?}");
    }

    /// Blocks in its first publish until `release` says so, then records.
    #[derive(Debug)]
    struct Gate {
        entered: std::sync::Mutex<std::sync::mpsc::Sender<()>>,
        release: std::sync::Mutex<std::sync::mpsc::Receiver<()>>,
        seen: std::sync::Mutex<Vec<u64>>,
    }

    impl CheckpointSink for Gate {
        fn publish(&self, checkpoint: &StoredCheckpoint) -> Result<(), String> {
            let first = self.seen.lock().unwrap().is_empty();
            if first {
                self.entered.lock().unwrap().send(()).unwrap();
                self.release.lock().unwrap().recv().unwrap();
            }
            self.seen.lock().unwrap().push(checkpoint.size);
            Ok(())
        }
    }

    #[test]
    fn finishing_publishes_only_the_newest_queued_checkpoint() {
        let (entered_tx, entered) = std::sync::mpsc::channel();
        let (release, release_rx) = std::sync::mpsc::channel();
        let gate = Arc::new(Gate {
            entered: std::sync::Mutex::new(entered_tx),
            release: std::sync::Mutex::new(release_rx),
            seen: std::sync::Mutex::new(Vec::new()),
        });
        let mut publisher = Publisher::start(vec![gate.clone()], held()).unwrap();
        publisher.publish(&checkpoint(1));
        entered.recv().unwrap();
        // The sink is busy with 1; 2..=5 wait in the queue when the ledger shuts down.
        for size in 2..=5 {
            publisher.publish(&checkpoint(size));
        }
        let closing = publisher.closing.clone();
        let finished = std::thread::spawn(move || publisher.finish());
        while !closing.load(std::sync::atomic::Ordering::SeqCst) {
            std::thread::yield_now();
        }
        release.send(()).unwrap();
        finished.join().unwrap();
        assert_eq!(
            *gate.seen.lock().unwrap(),
            [1, 5],
            "a shutdown waits for the newest checkpoint only: it covers the others"
        );
    }

    fn record(path: &Path) -> CosignedRecord {
        CosignedRecord {
            witness: "w".into(),
            size: 3,
            note: format!("{}", path.display()),
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_planted_symlink_beside_the_record_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("checkpoints.jsonl");
        std::fs::write(&victim, "precious\n").unwrap();
        let path = dir.path().join("ledger.witness-0a0b0c0d.json");
        // Whoever can create files beside the key plants the names a writer might use.
        std::os::unix::fs::symlink(&victim, path.with_extension("json.partial")).unwrap();
        write_cosigned(&path, &record(&path)).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
        assert_eq!(read_cosigned(&path).unwrap().unwrap(), record(&path));
        assert!(
            std::fs::symlink_metadata(&path)
                .unwrap()
                .file_type()
                .is_file(),
            "the record is a file of its own"
        );
        // Nothing of the writer's is left behind.
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.contains("partial") && !n.ends_with(".json.partial"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn a_failed_record_write_leaves_no_partial_file() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the record goes: the rename over it fails.
        let path = dir.path().join("ledger.witness-0a0b0c0d.json");
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("keep"), "x").unwrap();
        assert!(write_cosigned(&path, &record(&path)).is_err());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["ledger.witness-0a0b0c0d.json"], "{names:?}");
    }
}
