//! `Store` for etcd: each operation is one traced request (a transaction for the
//! conditional writes), bounded by the request timeout.

use bytes::Bytes;
use etcd_client::{CompactionOptions, Compare, CompareOp, DeleteOptions, GetOptions, Txn, TxnOp, TxnOpResponse};

use super::convert::{self, key_value};
use super::{watch, EtcdStore};
use crate::keys::{list_start, prefix_end};
use crate::{KeyValue, ListResult, Revision, Store, StoreError, WatchStream};

fn conflict(key: &str, expected: Revision, current: Option<KeyValue>) -> StoreError {
    match current {
        None => StoreError::NotFound { key: key.to_owned() },
        Some(kv) => StoreError::Conflict { key: key.to_owned(), expected, actual: kv.mod_revision },
    }
}

/// "The key exists and was last modified at `expected`" (an absent key has mod_revision 0,
/// so the existence check keeps `expected == 0` from matching a missing key).
fn at_revision(key: &str, expected: Revision) -> [Compare; 2] {
    [Compare::version(key, CompareOp::Greater, 0), Compare::mod_revision(key, CompareOp::Equal, expected)]
}

#[async_trait::async_trait]
impl Store for EtcdStore {
    #[tracing::instrument(name = "store.get", skip_all, fields(backend = "etcd", key = %key))]
    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        let response = self.call(self.op("get", key), self.kv().get(key, None)).await?;
        response.kvs().first().map(key_value).transpose()
    }

    #[tracing::instrument(name = "store.list", skip_all, fields(backend = "etcd", prefix = %prefix, start_after = ?start_after, limit = limit))]
    async fn list(&self, prefix: &str, start_after: Option<&str>, limit: usize) -> Result<ListResult, StoreError> {
        let op = self.op("list", prefix);
        let mut start = list_start(prefix, start_after).into_bytes();
        if start.is_empty() {
            start.push(0); // etcd rejects an empty key; "\0" is the smallest non-empty one
        }
        // A range end of "\0" means "to the end of the key space" to etcd.
        let mut options = GetOptions::new().with_range(prefix_end(prefix.as_bytes()).unwrap_or_else(|| vec![0]));
        if limit > 0 {
            options = options.with_limit(i64::try_from(limit).unwrap_or(i64::MAX));
        }
        let response = self.call(op, self.kv().get(start, Some(options))).await?;
        let items = response.kvs().iter().map(key_value).collect::<Result<Vec<_>, _>>()?;
        Ok(ListResult { items, revision: op.revision(response.header())?, more: response.more() })
    }

    #[tracing::instrument(name = "store.create", skip_all, fields(backend = "etcd", key = %key))]
    async fn create(&self, key: &str, value: Bytes) -> Result<Revision, StoreError> {
        let op = self.op("create", key);
        let txn = Txn::new().when([Compare::create_revision(key, CompareOp::Equal, 0)]).and_then([TxnOp::put(
            key,
            Vec::from(value),
            None,
        )]);
        match self.cas(op, txn).await? {
            Ok(response) => op.revision(response.header()),
            Err(_) => Err(StoreError::AlreadyExists { key: key.to_owned() }),
        }
    }

    #[tracing::instrument(name = "store.update", skip_all, fields(backend = "etcd", key = %key, expected = expected))]
    async fn update(&self, key: &str, value: Bytes, expected: Revision) -> Result<Revision, StoreError> {
        let op = self.op("update", key);
        let txn = Txn::new()
            .when(at_revision(key, expected))
            .and_then([TxnOp::put(key, Vec::from(value), None)])
            .or_else([TxnOp::get(key, None)]);
        match self.cas(op, txn).await? {
            Ok(response) => op.revision(response.header()),
            Err(current) => Err(conflict(key, expected, current)),
        }
    }

    #[tracing::instrument(name = "store.delete", skip_all, fields(backend = "etcd", key = %key, expected = ?expected))]
    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<(Revision, KeyValue), StoreError> {
        let op = self.op("delete", key);
        let with_prev = Some(DeleteOptions::new().with_prev_key());
        let (revision, deleted) = match expected {
            None => {
                let response = self.call(op, self.kv().delete(key, with_prev)).await?;
                (op.revision(response.header())?, response.prev_kvs().first().map(key_value).transpose()?)
            }
            Some(expected) => {
                let txn = Txn::new()
                    .when(at_revision(key, expected))
                    .and_then([TxnOp::delete(key, with_prev)])
                    .or_else([TxnOp::get(key, None)]);
                let response = self.cas(op, txn).await?.map_err(|current| conflict(key, expected, current))?;
                let deleted = match response.op_responses().first() {
                    Some(TxnOpResponse::Delete(delete)) => delete.prev_kvs().first().map(key_value).transpose()?,
                    _ => None,
                };
                (op.revision(response.header())?, deleted)
            }
        };
        let deleted = deleted.ok_or_else(|| StoreError::NotFound { key: key.to_owned() })?;
        Ok((revision, deleted))
    }

    #[tracing::instrument(name = "store.current_revision", skip_all, fields(backend = "etcd"))]
    async fn current_revision(&self) -> Result<Revision, StoreError> {
        let op = self.op("read revision", "");
        let response = self.call(op, self.kv().get("\0", Some(GetOptions::new().with_count_only()))).await?;
        op.revision(response.header())
    }

    #[tracing::instrument(name = "store.watch", skip_all, fields(backend = "etcd", prefix = %prefix, after = after))]
    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream, StoreError> {
        let op = self.op("watch", prefix);
        watch::start(self.client(), op, after, self.options.progress_interval).await
    }

    #[tracing::instrument(name = "store.compact", skip_all, fields(backend = "etcd", revision = revision))]
    async fn compact(&self, revision: Revision) -> Result<(), StoreError> {
        let op = self.op("compact", "");
        let mut kv = self.kv();
        let request = kv.compact(revision, Some(CompactionOptions::new().with_physical()));
        match tokio::time::timeout(self.options.request_timeout, request).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) if convert::is_compacted(&e) => Ok(()),
            Ok(Err(e)) if convert::is_future_revision(&e) => {
                Err(StoreError::FutureRevision { requested: revision, current: self.current_revision().await? })
            }
            Ok(Err(e)) => Err(op.err(e)),
            Err(_) => Err(op.timed_out()),
        }
    }
}
