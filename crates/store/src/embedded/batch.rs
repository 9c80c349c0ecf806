//! Applying write requests inside one write transaction.
//!
//! Every request is validated against the state the transaction sees — including earlier
//! requests of the same batch — before anything is written, so a failed precondition leaves
//! no trace and needs no rollback; only a storage error dooms the whole batch.

use bytes::Bytes;
use redb::{ReadableTable, Table};
use tokio::sync::oneshot;

use super::codec;
use super::tables::Db;
use crate::{KeyValue, Revision, StoreError, WatchEvent};

/// One mutation a caller asked for.
pub(crate) enum WriteOp {
    Create { key: String, value: Bytes },
    Update { key: String, value: Bytes, expected: Revision },
    Delete { key: String, expected: Option<Revision> },
    Compact { revision: Revision },
}

/// What a successful mutation reports back.
pub(crate) enum WriteOk {
    Written(Revision),
    Deleted(Revision, KeyValue),
    Compacted,
}

pub(crate) type Reply = Result<WriteOk, StoreError>;

/// A mutation queued for the writer, with where to send its answer.
pub(crate) struct WriteRequest {
    pub(crate) op: WriteOp,
    pub(crate) reply: oneshot::Sender<Reply>,
}

/// The tables one batch works on, plus the counters it advances.
pub(crate) struct Batch<'t> {
    pub(crate) kv: Table<'t, &'static str, &'static [u8]>,
    pub(crate) log: Table<'t, i64, &'static [u8]>,
    pub(crate) revision: Revision,
    pub(crate) compacted: Revision,
    pub(crate) events: Vec<WatchEvent>,
    pub(crate) now_millis: i64,
}

impl Batch<'_> {
    /// Applies one request. The outer error is a storage failure that dooms the whole batch;
    /// the inner one is this request's own answer (AlreadyExists, Conflict, ...).
    pub(crate) fn apply(&mut self, db: &Db, op: &WriteOp) -> Result<Reply, StoreError> {
        match op {
            WriteOp::Create { key, value } => {
                if self.current(db, key)?.is_some() {
                    return Ok(Err(StoreError::AlreadyExists { key: key.clone() }));
                }
                self.put(db, key, value, None).map(|rev| Ok(WriteOk::Written(rev)))
            }
            WriteOp::Update { key, value, expected } => match self.current(db, key)? {
                None => Ok(Err(StoreError::NotFound { key: key.clone() })),
                Some(old) if old.mod_revision != *expected => Ok(Err(conflict(&old, *expected))),
                Some(old) => self.put(db, key, value, Some(old)).map(|rev| Ok(WriteOk::Written(rev))),
            },
            WriteOp::Delete { key, expected } => match (self.current(db, key)?, expected) {
                (None, _) => Ok(Err(StoreError::NotFound { key: key.clone() })),
                (Some(old), Some(expected)) if old.mod_revision != *expected => Ok(Err(conflict(&old, *expected))),
                (Some(old), _) => self.remove(db, old).map(Ok),
            },
            WriteOp::Compact { revision } => {
                if *revision > self.revision {
                    return Ok(Err(StoreError::FutureRevision { requested: *revision, current: self.revision }));
                }
                self.compact_to(db, *revision)?;
                Ok(Ok(WriteOk::Compacted))
            }
        }
    }

    /// The key's current value, where a corrupt record counts as a storage failure.
    fn current(&self, db: &Db, key: &str) -> Result<Option<KeyValue>, StoreError> {
        let found = self.kv.get(key).map_err(db.err(format!("read {key}")))?;
        found.map(|raw| codec::decode_value(key, raw.value())).transpose()
    }

    fn put(&mut self, db: &Db, key: &str, value: &Bytes, prev: Option<KeyValue>) -> Result<Revision, StoreError> {
        self.revision += 1;
        let kv = KeyValue {
            key: key.to_owned(),
            value: value.clone(),
            create_revision: prev.as_ref().map_or(self.revision, |p| p.create_revision),
            mod_revision: self.revision,
        };
        let what = || format!("write {key}");
        let stored = codec::encode_value(kv.create_revision, kv.mod_revision, value);
        self.kv.insert(key, stored.as_slice()).map_err(db.err(what()))?;
        let record = codec::encode_put(&kv, prev.as_ref(), self.now_millis);
        self.log.insert(self.revision, record.as_slice()).map_err(db.err(what()))?;
        self.events.push(WatchEvent::Put { kv, prev });
        Ok(self.revision)
    }

    fn remove(&mut self, db: &Db, old: KeyValue) -> Result<WriteOk, StoreError> {
        self.revision += 1;
        let what = || format!("delete {}", old.key);
        self.kv.remove(old.key.as_str()).map_err(db.err(what()))?;
        let record = codec::encode_delete(&old, self.now_millis);
        self.log.insert(self.revision, record.as_slice()).map_err(db.err(what()))?;
        let revision = self.revision;
        self.events.push(WatchEvent::Delete { key: old.key.clone(), revision, prev: old.clone() });
        Ok(WriteOk::Deleted(revision, old))
    }

    /// Drops log entries at or below `revision`; a no-op if already compacted that far.
    pub(crate) fn compact_to(&mut self, db: &Db, revision: Revision) -> Result<(), StoreError> {
        if revision <= self.compacted {
            return Ok(());
        }
        let what = format!("compact the change log to revision {revision}");
        self.log.retain_in(..=revision, |_, _| false).map_err(db.err(what))?;
        self.compacted = revision;
        Ok(())
    }
}

fn conflict(current: &KeyValue, expected: Revision) -> StoreError {
    StoreError::Conflict { key: current.key.clone(), expected, actual: current.mod_revision }
}
