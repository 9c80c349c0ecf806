//! `Store` for the embedded backend: each operation is a traced span that either reads
//! through a redb read transaction on the blocking pool or hands a request to the writer.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;

use super::batch::{WriteOk, WriteOp};
use super::watch::Watcher;
use super::EmbeddedStore;
use crate::{KeyValue, ListResult, Revision, Store, StoreError, WatchStream};

/// The writer answers each op with its matching `WriteOk`; anything else would be a bug,
/// reported as an error rather than a panic in the API server.
fn unexpected(op: &str, path: &Path) -> StoreError {
    StoreError::Database {
        path: path.to_owned(),
        what: op.to_owned(),
        detail: "writer returned a mismatched reply".into(),
    }
}

#[async_trait::async_trait]
impl Store for EmbeddedStore {
    #[tracing::instrument(name = "store.get", skip_all, fields(backend = "embedded", key = %key))]
    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        let key = key.to_owned();
        self.blocking("get", move |db| db.get(&key)).await
    }

    #[tracing::instrument(name = "store.list", skip_all, fields(backend = "embedded", prefix = %prefix, start_after = ?start_after, limit = limit))]
    async fn list(&self, prefix: &str, start_after: Option<&str>, limit: usize) -> Result<ListResult, StoreError> {
        let (prefix, start_after) = (prefix.to_owned(), start_after.map(str::to_owned));
        self.blocking("list", move |db| db.list(&prefix, start_after.as_deref(), limit)).await
    }

    #[tracing::instrument(name = "store.create", skip_all, fields(backend = "embedded", key = %key))]
    async fn create(&self, key: &str, value: Bytes) -> Result<Revision, StoreError> {
        match self.write(WriteOp::Create { key: key.to_owned(), value }).await? {
            WriteOk::Written(revision) => Ok(revision),
            _ => Err(unexpected("create", self.path())),
        }
    }

    #[tracing::instrument(name = "store.update", skip_all, fields(backend = "embedded", key = %key, expected = ?expected))]
    async fn update(&self, key: &str, value: Bytes, expected: Revision) -> Result<Revision, StoreError> {
        match self.write(WriteOp::Update { key: key.to_owned(), value, expected }).await? {
            WriteOk::Written(revision) => Ok(revision),
            _ => Err(unexpected("update", self.path())),
        }
    }

    #[tracing::instrument(name = "store.delete", skip_all, fields(backend = "embedded", key = %key, expected = ?expected))]
    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<(Revision, KeyValue), StoreError> {
        match self.write(WriteOp::Delete { key: key.to_owned(), expected }).await? {
            WriteOk::Deleted(revision, kv) => Ok((revision, kv)),
            _ => Err(unexpected("delete", self.path())),
        }
    }

    #[tracing::instrument(name = "store.current_revision", skip_all, fields(backend = "embedded"))]
    async fn current_revision(&self) -> Result<Revision, StoreError> {
        Ok(self.revision.load(Ordering::SeqCst))
    }

    #[tracing::instrument(name = "store.watch", skip_all, fields(backend = "embedded", prefix = %prefix, after = after))]
    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream, StoreError> {
        // Subscribe before the first log read so no commit falls between replay and live.
        let watcher = Watcher {
            live: self.events.subscribe(),
            db: Arc::downgrade(&self.db),
            path: self.db.path.clone(),
            prefix: prefix.to_owned(),
            next: after.saturating_add(1).max(1),
            store_revision: self.revision.clone(),
            progress_interval: self.options.progress_interval,
        };
        Ok(watcher.into_stream())
    }

    #[tracing::instrument(name = "store.compact", skip_all, fields(backend = "embedded", revision = revision))]
    async fn compact(&self, revision: Revision) -> Result<(), StoreError> {
        match self.write(WriteOp::Compact { revision }).await? {
            WriteOk::Compacted => Ok(()),
            _ => Err(unexpected("compact", self.path())),
        }
    }
}
