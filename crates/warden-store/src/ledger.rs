//! The audit ledger: warden's audit events as a verifiable transparency log.
//!
//! Every [`AuditEvent`] becomes a leaf (`warden_ledger::leaf`, version 1) of an RFC 6962 tree
//! whose signed C2SP checkpoints are stored beside the leaves. This module is the I/O around the
//! pure math in `warden-ledger`:
//!
//! - [`Ledger`] appends with *group commit*: callers encode their leaf (canonical JSON, salts,
//!   hash) on their own thread and hand it to one writer thread over a bounded channel; the
//!   writer takes everything queued, writes it in one transaction with one fsync, and answers
//!   each caller with its index. `append` returns only once the leaf is durable, so the gateway
//!   forwards nothing that is not on the record. A *deferred* append (an outcome, recorded
//!   after the action) waits up to `defer_within` for another commit to join instead of
//!   forcing one of its own; it too resolves only once durable.
//! - The writer signs a checkpoint every `checkpoint_interval` when the tree grew, and a last
//!   one on [`Ledger::shutdown`] (also run on drop).
//! - [`Ledger::open`] rebuilds the tree from the stored leaves and refuses to start when they
//!   do not match the latest checkpoint.
//! - [`verify_store`], [`prove`], [`consistency`] and [`read_events`] are the readers behind
//!   `warden audit`.
//! - Every walk over a run of stored leaves that builds on them (the writer's rebuild and
//!   catch-up, [`tree_of`], a witness's request) reads them through one pager ([`leaf_pages`],
//!   [`row_pages`]), which checks that indices are contiguous and names a missing leaf one way.
//!   [`verify_store`] reads the rows as stored instead: a gap, a duplicate or a leaf out of
//!   order is what it reports, where the pager would end its walk.
//!
//! INVARIANT: the writer's frontier is the tree of exactly the leaves stored. Indices are
//! assigned by the store inside the append transaction, and the writer catches up on leaves
//! another process (a `warden audit redact`, a `warden tools pin`) appended in between before
//! it pushes its own, so checkpoints stay consistent with several writers on one store.

mod index;
mod key;
mod pager;
mod read;
mod witness;
mod writer;

pub use index::{Deciding, DecidingIndex, Indexed};
pub use key::{
    load_or_create_signer, load_pinned_signer, public_key_path, read_leaf_key, read_verifier,
};
pub use pager::{LeafPages, PageError, PagedLeaf, ReadPage, leaf_pages, row_pages};
pub use read::{
    Authentic, AuthenticEvents, ContentFinding, LedgerEntry, LedgerReport, MAX_FINDINGS, MacCheck,
    consistency, event_pages, prove, read_authentic_events, read_deciding_events, read_events,
    read_range, tree_of, verify_store,
};
pub use witness::{
    CheckpointSink, CommandSink, CosignedCheckpoint, CosignedRecord, FileSink, PublishedFinding,
    check_cosigned, check_published, cosigned_path, largest_opened, open_cosigned, read_cosigned,
    read_published, read_verified_cosigned, with_cosignatures, write_cosigned,
};

use crate::{NewLeaf, Store, StoreError, StoredCheckpoint, Transience};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;
use warden_core::AuditEvent;
use warden_ledger::{
    CheckpointError, CheckpointVerifier, LeafColumns, LeafError, LeafKey, RecordKey, VerifierKey,
    leaf,
};
use writer::{Reply, Request, Writer};

/// Leaves one group commit writes at most.
pub const MAX_BATCH: usize = 4096;
/// Appends that may wait for the writer before callers block on sending.
pub const QUEUE: usize = 8192;

/// Where the ledger's key lives, what it signs as, and how often.
#[derive(Debug, Clone)]
pub struct LedgerSettings {
    /// The Ed25519 signing key (Go `PRIVATE+KEY+…` text), created on first start with mode
    /// 0600; the verifier key is written beside it ([`public_key_path`]).
    pub key_path: PathBuf,
    /// The checkpoint origin line, which is also the key name.
    pub origin: String,
    /// How often to sign a checkpoint when the tree grew.
    pub checkpoint_interval: Duration,
    /// How long a deferred append ([`Ledger::append_deferred`]) may wait to join another
    /// commit before it is committed on its own.
    pub defer_within: Duration,
    /// Where each checkpoint this process signs is published (`witness`).
    pub witnesses: Vec<Arc<dyn CheckpointSink>>,
    /// The verifier key the configuration pins (`[ledger] verifier_key`): the key at
    /// `key_path` must be this one, and none is created ([`load_pinned_signer`]).
    pub pinned: Option<VerifierKey>,
}

/// The `defer_within` warden runs with: an outcome is durable within 10 ms of its call's
/// answer, or with the next decision, whichever is first.
pub const DEFER_WITHIN: Duration = Duration::from_millis(10);

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("ledger key `{path}`: {message}")]
    Key { path: String, message: String },
    #[error("cannot encode the event as a leaf: {0}")]
    Leaf(#[from] LeafError),
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// The stored leaves do not match the latest checkpoint.
    #[error(
        "the ledger does not match its latest checkpoint: {0}; refusing to start \
         (run `warden audit verify` for details)"
    )]
    Diverged(String),
    /// A stored leaf was not appended by a writer holding the ledger key (a row inserted
    /// into the database directly): nothing is appended or signed after it.
    #[error(
        "the ledger holds a forged leaf: {0}; refusing to sign it \
         (run `warden audit verify` for details)"
    )]
    Forged(String),
    #[error("the ledger writer could not make the event durable: {0}")]
    Write(String),
    /// An append's transaction failed; every event of its batch shares the one cause, whose
    /// [`Transience`] it keeps.
    #[error("the ledger writer could not make the event durable: {0}")]
    Unwritten(Arc<LedgerError>),
    /// An earlier failure halted the writer (leaves removed or forged, a tree that no longer
    /// matches the store): nothing is appended until someone looks.
    #[error("the ledger writer could not make the event durable: the ledger is halted: {0}")]
    Halted(String),
    #[error("the ledger is shut down")]
    Closed,
    #[error("{0}")]
    Proof(String),
}

impl LedgerError {
    /// Whether the same append or read may succeed later: only when the store it stands on
    /// failed transiently. A halted, forged or diverged ledger, a key or a checkpoint that
    /// cannot be read, and a writer that is gone all need someone to act.
    pub fn transience(&self) -> Transience {
        match self {
            Self::Store(e) => e.transience(),
            Self::Unwritten(e) => e.transience(),
            Self::Key { .. }
            | Self::Leaf(_)
            | Self::Checkpoint(_)
            | Self::Diverged(_)
            | Self::Forged(_)
            | Self::Write(_)
            | Self::Halted(_)
            | Self::Closed
            | Self::Proof(_) => Transience::Permanent,
        }
    }
}

/// The audit ledger over a store: appends with group commit, checkpoints on a timer.
pub struct Ledger {
    sender: SyncSender<Request>,
    writer: Mutex<Option<JoinHandle<()>>>,
    verifier: CheckpointVerifier,
    session_key: RecordKey,
    leaf_key: LeafKey,
    store: Arc<dyn Store>,
    /// The deciding leaves the writer read (see [`DecidingIndex`]).
    index: Arc<DecidingIndex>,
    /// Whether checkpoints are published to witnesses.
    witnessed: bool,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("origin", &self.verifier.origin())
            .finish_non_exhaustive()
    }
}

impl Ledger {
    /// Loads (or creates) the key, rebuilds the tree from the stored leaves, checks it against
    /// the latest checkpoint and starts the writer.
    pub fn open(store: Arc<dyn Store>, settings: &LedgerSettings) -> Result<Self, LedgerError> {
        let signer = match &settings.pinned {
            Some(pinned) => load_pinned_signer(&settings.key_path, &settings.origin, pinned)?,
            None => load_or_create_signer(&settings.key_path, &settings.origin)?,
        };
        // A pinned key had a ledger: an empty store under it is one deleted (with every halt,
        // taint and approval it recorded), not a new start.
        if settings.pinned.is_some() && store.ledger_size()? == 0 {
            return Err(LedgerError::Diverged(
                "the store holds no ledger, but the configuration pins the ledger's key \
                 (`[ledger] verifier_key`): the ledger that key signed is gone. Restore the \
                 store; to start a new log on purpose, remove the pin, start once, and pin again"
                    .into(),
            ));
        }
        let verifier = CheckpointVerifier::for_key(signer.verifier_key());
        let leaf_key = LeafKey::derive(&signer);
        let session_key = RecordKey::derive(&signer, warden_ledger::auth::SESSION_KEY_LABEL);
        // What the witnesses hold lives outside the store: a store that holds fewer leaves
        // than one of them, or other ones, lost its tail with the checkpoints covering it.
        let mut published = Vec::new();
        for w in &settings.witnesses {
            let latest = w.latest(&verifier).map_err(|e| {
                LedgerError::Diverged(format!("cannot read what witness {w:?} holds: {e}"))
            })?;
            if let Some((size, root)) = latest {
                published.push(writer::Published {
                    by: format!("{w:?}"),
                    size,
                    root,
                });
            }
        }
        let recovered = writer::recover(store.as_ref(), &verifier, &leaf_key, &published)?;
        let index = recovered.index.clone();
        let publisher = witness::Publisher::start(
            settings.witnesses.clone(),
            witness::Held {
                store: store.clone(),
                verifier: verifier.clone(),
            },
        )?;
        let witnessed = publisher.has_sinks();
        let (sender, receiver) = sync_channel(QUEUE);
        let writer = Writer::new(
            store.clone(),
            signer,
            recovered,
            settings.checkpoint_interval,
            settings.defer_within,
            publisher,
        );
        let handle = std::thread::Builder::new()
            .name("warden-ledger".into())
            .spawn(move || writer.run(&receiver))
            .map_err(|e| LedgerError::Write(format!("cannot start the writer thread: {e}")))?;
        Ok(Self {
            sender,
            writer: Mutex::new(Some(handle)),
            verifier,
            session_key,
            leaf_key,
            store,
            index,
            witnessed,
        })
    }

    /// Brings the deciding index to every leaf stored now: the leaves other writers (the CLI,
    /// the console, other replicas) appended since this process last read are read in order
    /// and checked as at start. Fails when leaves this process read are gone from the store,
    /// or a leaf since was not appended by a key holder: nothing may be decided then.
    pub fn sync(&self) -> Result<(), LedgerError> {
        // Read what is known first: the store only grows, so a store found smaller than that
        // lost leaves.
        let known = self.index.size();
        let stored = self.store.ledger_size()?;
        if stored < known {
            return Err(StoreError::Corrupt(format!(
                "the store holds {stored} ledger leaves, fewer than the {known} this process \
                 read: leaves were removed"
            ))
            .into());
        }
        // The newest leaf read must still be the one stored there.
        if let Some(at) = self.index.newest_replaced(self.store.as_ref())? {
            return Err(StoreError::Corrupt(format!(
                "ledger leaf {at}, which this process read, was removed or replaced in the store"
            ))
            .into());
        }
        if stored > known {
            let (reply, answer) = sync_channel(1);
            self.sender
                .send(Request::Sync(reply))
                .map_err(|_| LedgerError::Closed)?;
            answer.recv().map_err(|_| LedgerError::Closed)??;
            let read = self.index.size();
            if read < stored {
                return Err(LedgerError::Write(format!(
                    "the ledger's index reached leaf {read} of {stored}"
                )));
            }
        }
        Ok(())
    }

    /// The deciding leaves of `kinds` from index `from` on (and from `since_ms` on, when
    /// given), oldest first, as stored now ([`Ledger::sync`] first), each read back and checked
    /// against what the writer read; and the index to read on from next time.
    pub fn recorded(
        &self,
        kinds: &[Deciding],
        from: u64,
        since_ms: Option<i64>,
    ) -> Result<(Vec<Authentic>, u64), LedgerError> {
        self.sync()?;
        let (leaves, size) = self.index.of_kinds(kinds, from, since_ms);
        Ok((read::read_indexed(self.store.as_ref(), &leaves)?, size))
    }

    /// Checks again up to `limit` of the deciding leaves of `kinds` that a reader already read
    /// (those below `below`, its cursor), starting at leaf `from` and wrapping round to the
    /// first: each must still be stored at its index with the bytes the writer read. Reads one
    /// row per leaf and nothing else. Returns where the next check starts; an error when a leaf
    /// was deleted or rewritten since.
    pub fn recheck(
        &self,
        kinds: &[Deciding],
        from: u64,
        below: u64,
        limit: usize,
    ) -> Result<u64, LedgerError> {
        let from = if from >= below { 0 } else { from };
        let mut leaves = self.index.some_of_kinds(kinds, from, below, limit);
        if leaves.len() < limit && from > 0 {
            let more = limit.saturating_sub(leaves.len());
            leaves.extend(self.index.some_of_kinds(kinds, 0, from, more));
        }
        read::check_indexed(self.store.as_ref(), &leaves)?;
        Ok(leaves.last().map_or(0, |l| l.index.saturating_add(1)))
    }

    /// Decisions the ledger records counted against budget `id` for `scope` from `since_ms`
    /// on (each allowing decision's `detail.budgets`), as stored now ([`Ledger::sync`] first):
    /// a floor under the store's count that no row deleted lowers.
    pub fn budget_used(&self, id: &str, scope: &str, since_ms: i64) -> Result<u32, LedgerError> {
        self.sync()?;
        Ok(self.index.budget_used(id, scope, since_ms))
    }

    /// [`Ledger::budget_used`] counting only the decisions recorded before leaf `below`.
    pub fn budget_used_below(
        &self,
        id: &str,
        scope: &str,
        since_ms: i64,
        below: u64,
    ) -> Result<u32, LedgerError> {
        self.sync()?;
        Ok(self.index.budget_used_below(id, scope, since_ms, below))
    }

    /// When the ledger began: the time of its first leaf, as the writer read it (checked as
    /// every leaf is), never a row read on its own. `None` while it is empty.
    pub fn began_ms(&self) -> Option<i64> {
        self.index.began_ms()
    }

    /// The approval steps of request `id`, oldest first, as [`Ledger::recorded`] reads them.
    pub fn recorded_steps(&self, id: &str) -> Result<Vec<Authentic>, LedgerError> {
        self.sync()?;
        let leaves = self.index.of_request(id);
        Ok(read::read_indexed(self.store.as_ref(), &leaves)?)
    }

    /// The key that signs console sign-in sessions stored beside the ledger: every replica
    /// holding the ledger's key derives the same one.
    pub fn session_key(&self) -> &RecordKey {
        &self.session_key
    }

    /// The key whose MACs tell the leaves this ledger's writers appended from rows written into
    /// the store by anyone else ([`read_authentic_events`]).
    pub fn leaf_key(&self) -> &LeafKey {
        &self.leaf_key
    }

    /// Appends `event` and returns its leaf index once the leaf is durable.
    pub fn append(&self, event: &AuditEvent) -> Result<u64, LedgerError> {
        let leaf = prepare(event)?;
        let (reply, answer) = sync_channel(1);
        self.sender
            .send(Request::Append(leaf, Reply::Blocking(reply)))
            .map_err(|_| LedgerError::Closed)?;
        let (index, _leaf) = answer.recv().map_err(|_| LedgerError::Closed)?;
        index
    }

    /// [`Ledger::append`] for async callers: the event is encoded on the caller's thread and
    /// the task waits for the group commit without holding a thread (no `spawn_blocking`, no
    /// parked thread per append). Only a full queue makes the caller's thread wait.
    pub async fn append_async(&self, event: &AuditEvent) -> Result<u64, LedgerError> {
        self.send_async(event, Request::Append).await
    }

    /// [`Ledger::append_async`] for an event nothing waits on before acting (a call's outcome,
    /// recorded after the action): it is written with the next commit, or on its own once it
    /// has waited `defer_within`, so a call costs one commit and one fsync, not two. It
    /// resolves once the event is durable, like every append.
    pub async fn append_deferred(&self, event: &AuditEvent) -> Result<u64, LedgerError> {
        self.send_async(event, Request::Deferred).await
    }

    async fn send_async(
        &self,
        event: &AuditEvent,
        request: fn(NewLeaf, Reply) -> Request,
    ) -> Result<u64, LedgerError> {
        let leaf = prepare(event)?;
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.enqueue(request(leaf, Reply::Task(reply))).await?;
        // The leaf comes back to be freed here (see `writer::Reply`).
        let (index, _leaf) = answer.await.map_err(|_| LedgerError::Closed)?;
        index
    }

    /// Whether checkpoints are published to witnesses ([`LedgerSettings::witnesses`]).
    pub fn has_witnesses(&self) -> bool {
        self.witnessed
    }

    /// Signs a checkpoint over every leaf appended so far (stored, if the tree grew) and
    /// resolves once every witness holds it, with its size; at once where none is configured.
    /// An error means some witness does not hold it: a caller that must not act on a leaf the
    /// store alone could lose (an approval's `executed` step) does not act.
    pub async fn witness(&self) -> Result<u64, LedgerError> {
        let (witnessed, answer) = tokio::sync::oneshot::channel();
        self.enqueue(Request::Witness(witnessed)).await?;
        answer.await.map_err(|_| LedgerError::Closed)?
    }

    /// Hands `request` to the writer from a task: at once while the queue has room; else on a
    /// blocking thread, so that no runtime thread waits for the writer.
    async fn enqueue(&self, request: Request) -> Result<(), LedgerError> {
        match self.sender.try_send(request) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(request)) => {
                let sender = self.sender.clone();
                tokio::task::spawn_blocking(move || sender.send(request).map_err(|_| ()))
                    .await
                    .map_err(|_| LedgerError::Closed)?
                    .map_err(|_| LedgerError::Closed)
            }
            Err(TrySendError::Disconnected(_)) => Err(LedgerError::Closed),
        }
    }

    /// Signs and stores a checkpoint now if the tree grew since the last one.
    pub fn checkpoint(&self) -> Result<Option<StoredCheckpoint>, LedgerError> {
        let (reply, answer) = sync_channel(1);
        self.sender
            .send(Request::Checkpoint(reply))
            .map_err(|_| LedgerError::Closed)?;
        answer.recv().map_err(|_| LedgerError::Closed)?
    }

    /// Writes what is queued, signs a last checkpoint and stops the writer; later appends fail.
    /// Idempotent. `warden serve` calls it on shutdown; dropping the ledger calls it too.
    pub fn shutdown(&self) -> Result<(), LedgerError> {
        let Some(handle) = self.writer.lock().map_err(|_| LedgerError::Closed)?.take() else {
            return Ok(());
        };
        let (reply, answer) = sync_channel(1);
        let result = match self.sender.send(Request::Shutdown(reply)) {
            Ok(()) => answer.recv().unwrap_or(Err(LedgerError::Closed)),
            Err(_) => Err(LedgerError::Closed),
        };
        let _ = handle.join();
        result
    }

    /// The verifier for this ledger's checkpoints (origin and public key).
    pub fn verifier(&self) -> &CheckpointVerifier {
        &self.verifier
    }
}

impl Drop for Ledger {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// Encodes `event` as a leaf with fresh salts, with the columns readers filter on.
pub fn prepare(event: &AuditEvent) -> Result<NewLeaf, LeafError> {
    let encoded = leaf::encode(event, &mut rand::thread_rng())?;
    Ok(NewLeaf {
        bytes: encoded.bytes,
        hash: encoded.hash,
        columns: LeafColumns::of(event),
        sealed: encoded.sealed,
    })
}
