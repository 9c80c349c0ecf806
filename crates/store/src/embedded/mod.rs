//! The embedded backend: a redb database in the API server's data directory.
//!
//! It is the single-machine default, so it must need nothing else running and must stay small
//! forever. Reads go straight to redb read transactions (on the blocking pool, since redb is
//! synchronous); writes go through one group-committing writer thread (`writer`); watches
//! replay the change log and then follow an in-process broadcast (`watch`); the log is trimmed
//! automatically (`compaction`).

mod api;
mod batch;
mod codec;
mod compaction;
mod tables;
mod watch;
mod writer;

use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

use redb::ReadableDatabase;
use tokio::sync::{broadcast, oneshot};

use crate::StoreError;
use batch::{WriteOk, WriteOp, WriteRequest};
use tables::Db;
use writer::{Counters, Writer};

/// The database file inside the data directory.
const DB_FILE: &str = "capstan.redb";
/// Committed batches buffered per watcher before it falls back to re-reading the log.
const BROADCAST_BATCHES: usize = 1024;

/// Tuning for [`EmbeddedStore`]; `Default` is what the API server uses.
#[derive(Debug, Clone)]
pub struct EmbeddedOptions {
    /// Keep at most this many changes in the watch log (`None`: no count limit).
    pub retain_revisions: Option<u64>,
    /// Drop changes older than this from the watch log (`None`: no age limit).
    pub retain_for: Option<Duration>,
    /// How often an idle watch emits `Progress`.
    pub progress_interval: Duration,
    /// Most writes committed together in one transaction (one fsync).
    pub max_batch: usize,
}

impl Default for EmbeddedOptions {
    fn default() -> Self {
        EmbeddedOptions {
            retain_revisions: Some(10_000),
            retain_for: Some(Duration::from_secs(10 * 60)),
            progress_interval: Duration::from_secs(5),
            max_batch: 1024,
        }
    }
}

/// A [`Store`] in one redb file under a data directory.
pub struct EmbeddedStore {
    db: Arc<Db>,
    writer: WriterThread,
    events: broadcast::Sender<Arc<[crate::WatchEvent]>>,
    revision: Arc<AtomicI64>,
    stats: Arc<Counters>,
    options: EmbeddedOptions,
}

/// Counters of the embedded writer since open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbeddedStats {
    /// Write transactions committed (each one fsync).
    pub commits: u64,
    /// Successful writes (creates, updates, deletes) inside them.
    pub writes: u64,
}

/// Owns the writer thread; dropping it stops the thread and waits for it, so the database
/// file is closed (and can be reopened) once the store is dropped.
struct WriterThread {
    requests: Option<mpsc::Sender<WriteRequest>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for WriterThread {
    fn drop(&mut self) {
        drop(self.requests.take());
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("embedded store writer thread panicked");
            }
        }
    }
}

impl EmbeddedStore {
    /// Opens (creating if needed) the store in `dir`. Durable: every acknowledged write has
    /// been fsynced, and reopening the directory after a drop or crash loses nothing.
    pub fn open(dir: &Path, options: EmbeddedOptions) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Database {
            path: dir.to_owned(),
            what: "create the data directory".into(),
            detail: e.to_string(),
        })?;
        let db = Arc::new(Db::open(&dir.join(DB_FILE))?);
        let txn = db.db.begin_read().map_err(db.err("read the revision"))?;
        let (revision, _) = db.meta(&txn)?;
        drop(txn);
        let revision = Arc::new(AtomicI64::new(revision));
        let (events, _) = broadcast::channel(BROADCAST_BATCHES);
        let (requests, receiver) = mpsc::channel();
        let stats = Arc::new(Counters::default());
        let writer = Writer {
            db: db.clone(),
            requests: receiver,
            events: events.clone(),
            revision: revision.clone(),
            stats: stats.clone(),
            options: options.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("capstan-store-writer".into())
            .spawn(move || writer.run())
            .map_err(|e| StoreError::Database {
                path: db.path.clone(),
                what: "start the writer thread".into(),
                detail: e.to_string(),
            })?;
        let writer = WriterThread { requests: Some(requests), thread: Some(thread) };
        Ok(EmbeddedStore { db, writer, events, revision, stats, options })
    }

    /// The database file's path.
    pub fn path(&self) -> &Path {
        &self.db.path
    }

    /// How many changes the watch log currently holds (bounded by the retention options).
    pub async fn log_len(&self) -> Result<u64, StoreError> {
        self.blocking("log length", |db| db.log_len()).await
    }

    /// Commits and writes so far: writes / commits is the group-commit batching factor.
    pub fn stats(&self) -> EmbeddedStats {
        EmbeddedStats {
            commits: self.stats.commits.load(Ordering::Relaxed),
            writes: self.stats.writes.load(Ordering::Relaxed),
        }
    }

    /// Queues a mutation for the writer and awaits its answer. Like a request already sent to
    /// a remote store, the write may still commit if the caller stops waiting.
    async fn write(&self, op: WriteOp) -> Result<WriteOk, StoreError> {
        let (reply, answer) = oneshot::channel();
        let sent = self.writer.requests.as_ref().map(|tx| tx.send(WriteRequest { op, reply }));
        if !matches!(sent, Some(Ok(()))) {
            return Err(self.stopped());
        }
        answer.await.map_err(|_| self.stopped())?
    }

    async fn blocking<T: Send + 'static>(
        &self,
        what: &str,
        read: impl FnOnce(&Db) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || read(&db))
            .await
            .map_err(|e| StoreError::Unavailable(format!("{what} on {} failed: {e}", self.db.path.display())))?
    }

    fn stopped(&self) -> StoreError {
        StoreError::Unavailable(format!("embedded store writer for {} has stopped", self.db.path.display()))
    }
}
