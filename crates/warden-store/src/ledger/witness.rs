//! Publishing signed checkpoints where the store cannot reach them, and checking the store
//! against what was published.
//!
//! Whoever can write the database can delete the newest leaves together with the checkpoints
//! that cover them; what is left is a shorter log that verifies on its own. A checkpoint that
//! was also published elsewhere (a file on another volume or host, a program that forwards it
//! to a SIEM or a transparency witness) still names the larger tree: [`check_published`]
//! fails when the store's tree is smaller than, or different from, one of them.
//!
//! Design choice: sinks run on a publisher thread of their own, fed through a bounded channel,
//! so a slow or hung witness never delays an append. Only the newest checkpoint matters to a
//! witness, so when the channel is full a checkpoint is skipped (with a warning) rather than
//! waited for; the next one covers it. The thread drains on shutdown, so the last checkpoint
//! is published before the ledger closes.

use super::{LedgerError, tree_of};
use crate::{Store, StoredCheckpoint};
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use warden_ledger::CheckpointVerifier;

/// Checkpoints waiting for the publisher before newer ones are skipped.
const BACKLOG: usize = 16;

/// Somewhere a signed checkpoint is published.
pub trait CheckpointSink: Send + Sync + fmt::Debug {
    fn publish(&self, checkpoint: &StoredCheckpoint) -> Result<(), String>;
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
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("`{program}`: {e}"))?;
        // Written, then the pipe closed, then waited for, whatever the write did: a program
        // that exits without reading is reaped, and its exit status is the better error.
        let written = child.stdin.take().map_or(Ok(()), |mut stdin| {
            stdin.write_all(checkpoint.note.as_bytes())
        });
        let status = child.wait().map_err(|e| format!("`{program}`: {e}"))?;
        if !status.success() {
            return Err(format!("`{program}` exited with {status}"));
        }
        written.map_err(|e| format!("`{program}`: {e}"))
    }
}

/// The publisher thread and the channel the writer feeds it through.
pub(super) struct Publisher {
    sender: Option<SyncSender<StoredCheckpoint>>,
    handle: Option<JoinHandle<()>>,
}

impl Publisher {
    /// Starts a publisher for `sinks`; with none, publishing does nothing.
    pub(super) fn start(sinks: Vec<Arc<dyn CheckpointSink>>) -> Result<Self, LedgerError> {
        if sinks.is_empty() {
            return Ok(Self {
                sender: None,
                handle: None,
            });
        }
        let (sender, receiver) = sync_channel(BACKLOG);
        let handle = std::thread::Builder::new()
            .name("warden-witness".into())
            .spawn(move || publish_all(&sinks, &receiver))
            .map_err(|e| LedgerError::Write(format!("cannot start the publisher thread: {e}")))?;
        Ok(Self {
            sender: Some(sender),
            handle: Some(handle),
        })
    }

    /// Hands a stored checkpoint to the sinks without waiting for them.
    pub(super) fn publish(&self, checkpoint: &StoredCheckpoint) {
        let Some(sender) = &self.sender else {
            return;
        };
        match sender.try_send(checkpoint.clone()) {
            Ok(()) => {}
            Err(TrySendError::Full(c)) => tracing::warn!(
                size = c.size,
                "the witnesses are behind: checkpoint skipped, the next one covers it"
            ),
            Err(TrySendError::Disconnected(c)) => {
                tracing::error!(size = c.size, "the checkpoint publisher stopped");
            }
        }
    }

    /// Publishes what is queued and stops.
    pub(super) fn finish(&mut self) {
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

fn publish_all(sinks: &[Arc<dyn CheckpointSink>], receiver: &Receiver<StoredCheckpoint>) {
    for checkpoint in receiver {
        for sink in sinks {
            if let Err(e) = sink.publish(&checkpoint) {
                tracing::error!(witness = ?sink, size = checkpoint.size, error = %e,
                    "cannot publish a checkpoint");
            }
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
    fn the_publisher_drains_its_queue_when_it_finishes() {
        let recorder = Arc::new(Recorder::default());
        let mut publisher = Publisher::start(vec![recorder.clone()]).unwrap();
        for size in 1..=5 {
            publisher.publish(&checkpoint(size));
        }
        publisher.finish();
        assert_eq!(*recorder.0.lock().unwrap(), [1, 2, 3, 4, 5]);
    }
}
