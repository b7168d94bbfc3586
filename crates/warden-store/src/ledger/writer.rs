//! The writer thread: group commit, catching up with other writers, timed checkpoints.

use super::index::{DecidingIndex, Read};
use super::pager::{PageError, row_pages};
use super::witness::Publisher;
use super::{LedgerError, MAX_BATCH};
use crate::{LeafRow, NewLeaf, Store, StoreError, StoredCheckpoint};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use warden_core::EventKind;
use warden_ledger::{Checkpoint, CheckpointVerifier, Frontier, LeafKey, NoteSigner, leaf_hash};

/// The leaves travel unboxed: appends are the hot path, and a box would be one more
/// allocation freed on another thread.
pub(super) enum Request {
    Append(NewLeaf, Reply),
    /// An append no caller is waiting on to act: it joins the next commit, or is committed
    /// on its own once it has waited `Writer::defer`.
    Deferred(NewLeaf, Reply),
    Checkpoint(SyncSender<Result<Option<StoredCheckpoint>, LedgerError>>),
    /// Sign a checkpoint over every leaf stored now and publish it to the witnesses; the
    /// answer comes once every witness holds it ([`super::Ledger::witness`]).
    Witness(super::witness::Witnessed),
    /// Read on to the stored head (the leaves other writers appended), so the deciding index
    /// knows every leaf stored when the request was sent.
    Sync(SyncSender<Result<(), LedgerError>>),
    Shutdown(SyncSender<Result<(), LedgerError>>),
}

/// The answer to an append, with the leaf handed back: the caller's thread allocated it and
/// frees it. (glibc frees of another thread's allocations contend on its arena lock; returning
/// the leaf made group commit markedly faster on two cores.)
pub(super) enum Reply {
    /// A thread blocked in [`super::Ledger::append`].
    Blocking(SyncSender<(Result<u64, LedgerError>, NewLeaf)>),
    /// A task awaiting [`super::Ledger::append_async`]: no thread waits.
    Task(tokio::sync::oneshot::Sender<(Result<u64, LedgerError>, NewLeaf)>),
}

impl Reply {
    fn send(self, answer: (Result<u64, LedgerError>, NewLeaf)) {
        // A caller that went away no longer needs its answer.
        match self {
            Reply::Blocking(s) => {
                let _ = s.send(answer);
            }
            Reply::Task(s) => {
                let _ = s.send(answer);
            }
        }
    }
}

/// Deferred appends waiting for a commit to join, and when they stop waiting.
#[derive(Default)]
struct Deferred {
    leaves: Vec<(NewLeaf, Reply)>,
    flush_by: Option<Instant>,
}

impl Deferred {
    /// The waiting appends, leaving none (and no deadline).
    fn take(&mut self) -> Vec<(NewLeaf, Reply)> {
        self.flush_by = None;
        std::mem::take(&mut self.leaves)
    }
}

pub(super) struct Writer {
    store: Arc<dyn Store>,
    signer: NoteSigner,
    /// Makes the MAC of every leaf this writer appends and checks those of other writers.
    leaf_key: LeafKey,
    /// The tree of every stored leaf (see the module INVARIANT).
    frontier: Frontier,
    /// The deciding leaves among them, read from the same bytes: always as large as the
    /// frontier once a batch is in.
    index: Arc<DecidingIndex>,
    /// Size of the largest stored checkpoint.
    checkpointed: u64,
    interval: Duration,
    /// How long a deferred append may wait for a commit to join.
    defer: Duration,
    /// Publishes each checkpoint this writer stores to the witnesses; dropped (and drained)
    /// when the writer stops.
    publisher: Publisher,
    /// Set when the stored ledger no longer matches the frontier: every append fails from then
    /// on, because a checkpoint signed now could vouch for a wrong tree.
    broken: Option<String>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Whether a writer holding `key` appended `row`: its MAC checks, or it has none and is one of
/// the first `covered` leaves, which a signed checkpoint vouches for (leaves stored before
/// leaves carried MACs). The MAC is over the hash of the bytes, not the stored hash.
pub(super) fn authenticate(
    key: &LeafKey,
    row: &LeafRow,
    hash: &warden_ledger::Hash,
    covered: u64,
) -> Result<(), String> {
    let index = row.leaf.index;
    match &row.mac {
        Some(mac) if key.verify(index, hash, mac) => Ok(()),
        Some(_) => Err(format!(
            "leaf {index}: its MAC is wrong: it was not appended by a writer holding the \
             ledger key"
        )),
        None if index < covered => Ok(()),
        None => Err(format!(
            "leaf {index}: it has no MAC and no checkpoint covers it: it was not appended by \
             a writer holding the ledger key"
        )),
    }
}

/// What [`recover`] read: the tree of the stored leaves, the size the latest checkpoint covers,
/// and the deciding leaves among them.
pub(super) struct Recovered {
    pub frontier: Frontier,
    pub checkpointed: u64,
    pub index: Arc<DecidingIndex>,
}

/// A checkpoint a witness holds, outside the store.
pub(super) struct Published {
    /// The witness, as a reader knows it.
    pub by: String,
    pub size: u64,
    pub root: warden_ledger::Hash,
}

/// Rebuilds the tree from the stored leaves and checks it against the latest checkpoint, the
/// checkpoints the witnesses hold (`published`), and every leaf's MAC (see [`authenticate`]),
/// indexing the deciding leaves on the way.
pub(super) fn recover(
    store: &dyn Store,
    verifier: &CheckpointVerifier,
    key: &LeafKey,
    published: &[Published],
) -> Result<Recovered, LedgerError> {
    let index = DecidingIndex::default();
    let latest = match store.ledger_latest_checkpoint()? {
        Some(stored) => {
            let signed = verifier.open(&stored.note).map_err(|e| {
                LedgerError::Diverged(format!(
                    "the latest checkpoint does not verify with this ledger's key: {e}"
                ))
            })?;
            Some((signed.size(), *signed.root()))
        }
        None => None,
    };
    let mut frontier = Frontier::new();
    let check = |frontier: &Frontier| {
        if let Some((size, root)) = latest
            && size == frontier.size()
            && root != frontier.root()
        {
            return Err(LedgerError::Diverged(format!(
                "the root of the first {size} stored leaves is not the checkpoint's root"
            )));
        }
        match published
            .iter()
            .find(|p| p.size == frontier.size() && p.root != frontier.root())
        {
            Some(p) => Err(LedgerError::Diverged(format!(
                "the first {} stored leaves are not the ones of the checkpoint witness {} \
                 holds: the ledger was rewritten",
                p.size, p.by
            ))),
            None => Ok(()),
        }
    };
    check(&frontier)?;
    let checkpointed = latest.map_or(0, |(size, _)| size);
    for page in row_pages(store, 0, None) {
        let page = page.map_err(|e| match e {
            PageError::Store(e) => LedgerError::Store(e),
            e => LedgerError::Diverged(e.to_string()),
        })?;
        let mut read = Vec::with_capacity(page.len());
        for row in &page {
            let leaf = &row.leaf;
            let hash = leaf_hash(&leaf.data);
            if hash != leaf.leaf_hash {
                return Err(LedgerError::Diverged(format!(
                    "leaf {}: hash does not match its content",
                    leaf.index
                )));
            }
            authenticate(key, row, &hash, checkpointed).map_err(LedgerError::Forged)?;
            frontier.push(hash);
            check(&frontier)?;
            read.push(Read {
                index: leaf.index,
                data: &leaf.data,
                hash,
                kind: None,
            });
        }
        index.extend(read)?;
    }
    if frontier.size() < checkpointed {
        return Err(LedgerError::Diverged(format!(
            "the store holds {} leaves but the checkpoint covers {checkpointed}: leaves were removed",
            frontier.size()
        )));
    }
    if let Some(p) = published.iter().find(|p| p.size > frontier.size()) {
        return Err(LedgerError::Diverged(format!(
            "witness {} holds a checkpoint of {} leaves, but the store holds only {}: the \
             newest leaves were removed with the checkpoints covering them",
            p.by,
            p.size,
            frontier.size()
        )));
    }
    Ok(Recovered {
        frontier,
        checkpointed,
        index: Arc::new(index),
    })
}

impl Writer {
    pub(super) fn new(
        store: Arc<dyn Store>,
        signer: NoteSigner,
        recovered: Recovered,
        interval: Duration,
        defer: Duration,
        publisher: Publisher,
    ) -> Self {
        Self {
            store,
            leaf_key: LeafKey::derive(&signer),
            signer,
            frontier: recovered.frontier,
            index: recovered.index,
            checkpointed: recovered.checkpointed,
            interval: interval.max(Duration::from_millis(10)),
            defer,
            publisher,
            broken: None,
        }
    }

    pub(super) fn run(mut self, requests: &Receiver<Request>) {
        let mut next_checkpoint = Instant::now() + self.interval;
        let mut deferred = Deferred::default();
        loop {
            let until = deferred
                .flush_by
                .map_or(next_checkpoint, |f| f.min(next_checkpoint));
            let wait = until.saturating_duration_since(Instant::now());
            match requests.recv_timeout(wait) {
                Ok(Request::Append(leaf, reply)) => {
                    // Group commit: what is deferred and everything already queued goes into
                    // this transaction, in the order it arrived.
                    let mut batch = deferred.take();
                    batch.push((leaf, reply));
                    let mut control = None;
                    while batch.len() < MAX_BATCH {
                        match requests.try_recv() {
                            Ok(Request::Append(leaf, reply) | Request::Deferred(leaf, reply)) => {
                                batch.push((leaf, reply));
                            }
                            Ok(other) => {
                                control = Some(other);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    self.commit(batch);
                    if let Some(request) = control
                        && self.control(request)
                    {
                        return;
                    }
                }
                Ok(Request::Deferred(leaf, reply)) => {
                    deferred.leaves.push((leaf, reply));
                    deferred
                        .flush_by
                        .get_or_insert_with(|| Instant::now() + self.defer);
                    if deferred.leaves.len() >= MAX_BATCH {
                        self.flush(&mut deferred);
                    }
                }
                Ok(request) => {
                    // A checkpoint or shutdown covers every append made before it.
                    self.flush(&mut deferred);
                    if self.control(request) {
                        return;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    self.flush(&mut deferred);
                    self.checkpoint_logged();
                    return;
                }
            }
            if deferred.flush_by.is_some_and(|f| Instant::now() >= f) {
                self.flush(&mut deferred);
            }
            if Instant::now() >= next_checkpoint {
                self.checkpoint_logged();
                next_checkpoint = Instant::now() + self.interval;
            }
        }
    }

    /// Commits the deferred appends, if there are any.
    fn flush(&mut self, deferred: &mut Deferred) {
        let batch = deferred.take();
        if !batch.is_empty() {
            self.commit(batch);
        }
    }

    /// Answers a checkpoint or shutdown request; whether to stop.
    fn control(&mut self, request: Request) -> bool {
        match request {
            Request::Checkpoint(reply) => {
                let _ = reply.send(self.checkpoint());
                false
            }
            Request::Sync(reply) => {
                let _ = reply.send(self.sync());
                false
            }
            Request::Witness(witnessed) => {
                match self.signed_head() {
                    Ok(checkpoint) => self.publisher.publish_waited(checkpoint, witnessed),
                    Err(e) => {
                        let _ = witnessed.send(Err(e));
                    }
                }
                false
            }
            Request::Shutdown(reply) => {
                let _ = reply.send(self.checkpoint().map(|_| ()));
                true
            }
            Request::Append(leaf, reply) | Request::Deferred(leaf, reply) => {
                self.commit(vec![(leaf, reply)]);
                false
            }
        }
    }

    fn commit(&mut self, batch: Vec<(NewLeaf, Reply)>) {
        let (leaves, replies): (Vec<NewLeaf>, Vec<Reply>) = batch.into_iter().unzip();
        if let Some(why) = &self.broken {
            for (reply, leaf) in replies.into_iter().zip(leaves) {
                reply.send((Err(LedgerError::Halted(why.clone())), leaf));
            }
            return;
        }
        let outcome = self
            .store
            .ledger_append(&leaves, &self.leaf_key)
            .map_err(LedgerError::Store);
        // The store numbered the batch below leaves already read: leaves were removed, and the
        // tree no longer matches the store. Nothing is appended or signed from here on.
        if let Ok(first) = outcome
            && first < self.frontier.size()
        {
            self.broken = Some(format!(
                "the store numbered a new leaf {first}, below the {} leaves already read: \
                 leaves were removed from the store",
                self.frontier.size()
            ));
        }
        let outcome = outcome.and_then(|first| {
            self.catch_up(first)?;
            for leaf in &leaves {
                self.frontier.push(leaf.hash);
            }
            self.index
                .extend((first..).zip(&leaves).map(|(index, leaf)| Read {
                    index,
                    data: &leaf.bytes,
                    hash: leaf.hash,
                    kind: EventKind::parse(&leaf.columns.kind),
                }))?;
            Ok(first)
        });
        match outcome {
            Ok(first) => {
                for ((i, reply), leaf) in (0u64..).zip(replies).zip(leaves) {
                    reply.send((Ok(first + i), leaf));
                }
            }
            Err(failed) => {
                // The transaction failed (or its leaves cannot be placed): nobody may treat
                // these events as recorded. Re-read what is stored, so the tree stays right
                // whether or not the write landed.
                tracing::error!(error = %failed, "ledger append failed");
                match self.resync() {
                    Ok(()) => {}
                    // The store cannot be read right now (a lost connection): the tree is still
                    // a prefix of what is stored, and the next append or checkpoint catches up
                    // from the store before it adds anything.
                    Err(LedgerError::Store(e)) if e.is_transient() => {
                        tracing::warn!(error = %e, "cannot re-read the ledger; will catch up later");
                    }
                    Err(e) => self.broken = Some(e.to_string()),
                }
                let failed = Arc::new(failed);
                for (reply, leaf) in replies.into_iter().zip(leaves) {
                    reply.send((Err(LedgerError::Unwritten(failed.clone())), leaf));
                }
            }
        }
    }

    /// Pushes the leaves stored by others up to index `to` (exclusive), each of which must
    /// carry a good MAC: a leaf that no key holder appended is never signed.
    fn catch_up(&mut self, to: u64) -> Result<(), LedgerError> {
        if to < self.frontier.size() {
            return Err(LedgerError::Write(format!(
                "the store holds {to} leaves, fewer than the {} already in the tree",
                self.frontier.size()
            )));
        }
        if self.frontier.size() < to {
            self.check_newest()?;
        }
        for page in row_pages(self.store.as_ref(), self.frontier.size(), Some(to)) {
            let page = page.map_err(|e| match e {
                PageError::Store(e) => e,
                PageError::Short { held, wanted } => {
                    StoreError::Corrupt(format!("leaves {held}..{wanted} vanished"))
                }
                e @ PageError::Missing { .. } => StoreError::Corrupt(e.to_string()),
            })?;
            let mut read = Vec::with_capacity(page.len());
            for row in &page {
                let index = row.leaf.index;
                let hash = leaf_hash(&row.leaf.data);
                // Only what the store held at start-up predates MACs; every leaf since has one.
                authenticate(&self.leaf_key, row, &hash, 0).map_err(LedgerError::Forged)?;
                self.frontier.push(hash);
                read.push(Read {
                    index,
                    data: &row.leaf.data,
                    hash,
                    kind: None,
                });
            }
            self.index.extend(read)?;
        }
        Ok(())
    }

    /// Answers [`Request::Sync`]: reads on to the stored head. A leaf no key holder appended,
    /// or one gone, halts the ledger as an append would.
    fn sync(&mut self) -> Result<(), LedgerError> {
        if let Some(why) = &self.broken {
            return Err(LedgerError::Halted(why.clone()));
        }
        match self.resync() {
            Ok(()) => Ok(()),
            Err(LedgerError::Store(e)) if e.is_transient() => Err(LedgerError::Store(e)),
            Err(e) => {
                self.broken = Some(e.to_string());
                Err(e)
            }
        }
    }

    /// The newest leaf this writer read must still be the one stored at its index: leaves
    /// removed and others appended in their place leave the count as it was, and a tree signed
    /// over what was read would no longer be the store's.
    fn check_newest(&self) -> Result<(), LedgerError> {
        if self.index.size() != self.frontier.size() {
            return Ok(());
        }
        match self.index.newest_replaced(self.store.as_ref())? {
            None => Ok(()),
            Some(at) => Err(LedgerError::Diverged(format!(
                "leaf {at}, which this writer read, was removed or replaced in the store"
            ))),
        }
    }

    fn resync(&mut self) -> Result<(), LedgerError> {
        let size = self.store.ledger_size()?;
        self.catch_up(size)
    }

    fn checkpoint_logged(&mut self) {
        if let Err(e) = self.checkpoint() {
            tracing::error!(error = %e, "cannot write a ledger checkpoint");
        }
    }

    /// Signs and stores a checkpoint of the whole stored tree if it grew, and hands it to the
    /// witnesses.
    fn checkpoint(&mut self) -> Result<Option<StoredCheckpoint>, LedgerError> {
        let stored = self.store_checkpoint()?;
        if let Some(c) = &stored {
            self.publisher.publish(c);
        }
        Ok(stored)
    }

    /// A signed checkpoint of every leaf stored now, for the witnesses: the one stored now if
    /// the tree grew, else a note over the same tree the latest stored one (this writer's or
    /// another's) covers part or all of.
    fn signed_head(&mut self) -> Result<StoredCheckpoint, LedgerError> {
        if let Some(stored) = self.store_checkpoint()? {
            return Ok(stored);
        }
        let (size, root) = (self.frontier.size(), self.frontier.root());
        let signed = Checkpoint::new(self.signer.name(), size, root).sign(&self.signer)?;
        Ok(StoredCheckpoint {
            size,
            root,
            note: signed.note().to_owned(),
            time_ms: now_ms(),
        })
    }

    /// Signs and stores a checkpoint of the whole stored tree if it grew.
    fn store_checkpoint(&mut self) -> Result<Option<StoredCheckpoint>, LedgerError> {
        if let Some(why) = &self.broken {
            return Err(LedgerError::Halted(why.clone()));
        }
        self.resync()?;
        let size = self.frontier.size();
        if size <= self.checkpointed {
            return Ok(None);
        }
        if let Err(e) = self.check_newest() {
            if !matches!(&e, LedgerError::Store(s) if s.is_transient()) {
                self.broken = Some(e.to_string());
            }
            return Err(e);
        }
        let root = self.frontier.root();
        let signed = Checkpoint::new(self.signer.name(), size, root).sign(&self.signer)?;
        let stored = StoredCheckpoint {
            size,
            root,
            note: signed.note().to_owned(),
            time_ms: now_ms(),
        };
        if self.store.ledger_add_checkpoint(&stored)? {
            self.checkpointed = size;
            Ok(Some(stored))
        } else {
            // Another writer stored a larger one first.
            self.checkpointed = self
                .store
                .ledger_latest_checkpoint()?
                .map_or(size, |c| c.size.max(size));
            Ok(None)
        }
    }
}
