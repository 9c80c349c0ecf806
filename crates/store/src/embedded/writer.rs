//! The embedded store's single writer: group commit on a dedicated thread.
//!
//! redb admits one write transaction at a time and each durable commit costs an fsync, so
//! writers queue here and the thread takes everything that queued up while the previous
//! commit was syncing, applies it in arrival order inside one write transaction and commits
//! once. Sixty-four concurrent callers thus share one fsync instead of paying sixty-four.
//! Each request is still checked on its own (a failed CAS fails only that request), and later
//! requests in a batch see the effects of earlier ones, exactly as if they ran one by one.
//!
//! After a commit the thread publishes the batch's changes to watchers (in-process broadcast)
//! and only then answers the callers. It is a plain thread, not a tokio task, because commit
//! blocks on disk I/O.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use redb::{ReadableTable, WriteTransaction};
use tokio::sync::broadcast;

use super::batch::{Batch, Reply, WriteRequest};
use super::compaction::Retention;
use super::tables::{Db, KV, LOG, META, META_COMPACTED, META_REVISION};
use super::EmbeddedOptions;
use crate::{Revision, StoreError, WatchEvent};

/// The state the writer thread owns; `run` consumes it.
pub(crate) struct Writer {
    pub(crate) db: Arc<Db>,
    pub(crate) requests: Receiver<WriteRequest>,
    pub(crate) events: broadcast::Sender<Arc<[WatchEvent]>>,
    pub(crate) revision: Arc<AtomicI64>,
    pub(crate) stats: Arc<Counters>,
    pub(crate) options: EmbeddedOptions,
}

/// What the writer has done so far, for tests and metrics.
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) commits: AtomicU64,
    pub(crate) writes: AtomicU64,
}

impl Writer {
    pub(crate) fn run(self) {
        let mut retention = Retention::new(&self.options);
        loop {
            let first = match self.requests.recv_timeout(retention.idle_wake()) {
                Ok(request) => request,
                Err(RecvTimeoutError::Timeout) => {
                    if retention.time_sweep_due(Instant::now()) {
                        self.commit(Vec::new(), &mut retention);
                    }
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => return,
            };
            let mut batch = vec![first];
            while batch.len() < self.options.max_batch.max(1) {
                match self.requests.try_recv() {
                    Ok(request) => batch.push(request),
                    Err(_) => break,
                }
            }
            self.commit(batch, &mut retention);
        }
    }

    fn commit(&self, requests: Vec<WriteRequest>, retention: &mut Retention) {
        let span = tracing::debug_span!("store.commit", backend = "embedded", batch = requests.len());
        let _entered = span.enter();
        let outcome = self.db.db.begin_write().map_err(self.db.err("begin write transaction"));
        let outcome = outcome.and_then(|txn| self.apply_all(txn, &requests, retention));
        match outcome {
            Ok((replies, events, revision)) => {
                self.revision.store(revision, Ordering::SeqCst);
                if !events.is_empty() {
                    self.stats.commits.fetch_add(1, Ordering::Relaxed);
                    self.stats.writes.fetch_add(events.len() as u64, Ordering::Relaxed);
                }
                if !events.is_empty() {
                    // No receivers just means nobody is watching.
                    let _ = self.events.send(events.into());
                }
                for (request, reply) in requests.into_iter().zip(replies) {
                    let _ = request.reply.send(reply);
                }
            }
            Err(error) => {
                tracing::error!(%error, "embedded store commit failed");
                for request in requests {
                    let _ = request.reply.send(Err(error.clone()));
                }
            }
        }
    }

    /// Applies every request in one transaction and commits it (or aborts if nothing changed).
    fn apply_all(
        &self,
        txn: WriteTransaction,
        requests: &[WriteRequest],
        retention: &mut Retention,
    ) -> Result<(Vec<Reply>, Vec<WatchEvent>, Revision), StoreError> {
        let db = &self.db;
        let (replies, events, revision, changed) = {
            let mut meta = txn.open_table(META).map_err(db.err("open meta table"))?;
            let read = |name: &str| -> Result<Revision, StoreError> {
                Ok(meta.get(name).map_err(db.err("read meta"))?.map(|v| v.value()).unwrap_or(0))
            };
            let (revision, compacted) = (read(META_REVISION)?, read(META_COMPACTED)?);
            let mut batch = Batch {
                kv: txn.open_table(KV).map_err(db.err("open kv table"))?,
                log: txn.open_table(LOG).map_err(db.err("open log table"))?,
                revision,
                compacted,
                events: Vec::new(),
                now_millis: unix_millis(),
            };
            let replies = requests.iter().map(|request| batch.apply(db, &request.op)).collect::<Result<Vec<_>, _>>()?;
            retention.enforce(db, &mut batch, Instant::now())?;
            let changed = batch.revision != revision || batch.compacted != compacted;
            if changed {
                meta.insert(META_REVISION, batch.revision).map_err(db.err("write meta revision"))?;
                meta.insert(META_COMPACTED, batch.compacted).map_err(db.err("write meta compacted"))?;
            }
            (replies, batch.events, batch.revision, changed)
        };
        if changed {
            txn.commit().map_err(db.err(format!("commit a batch of {} writes", requests.len())))?;
        } else {
            txn.abort().map_err(db.err("abort an empty batch"))?;
        }
        Ok((replies, events, revision))
    }
}

pub(crate) fn unix_millis() -> i64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}
