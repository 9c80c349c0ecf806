//! `Store` for etcd: each operation is one request (a transaction for the conditional
//! writes), routed around members that are down.
//!
//! A write whose earlier attempt failed may have been applied anyway (etcd committed it, the
//! answer was lost). Its retry is the same transaction, which is harmless if the first one
//! applied: its compare fails. Only then does the store look at what is there:
//! - create: the key's value as first created equals this create's value → it was this
//!   create (the API server's values carry a fresh uid), so it succeeded;
//! - update: the key now holds exactly this update's value, written after `expected` → it
//!   was this update;
//! - conditional delete: the key is gone (or re-created since) and the first change after
//!   `expected` was a delete of that very version → it was this delete.
//!
//! Anything else is the conflict it would have been. An unconditional delete (used only to
//! release allocations) whose retry finds the key gone reports `NotFound`.

use bytes::Bytes;
use etcd_client::{CompactionOptions, Compare, CompareOp, DeleteOptions, GetOptions, Txn, TxnOp, TxnOpResponse};

use super::convert::{self, key_value, Op};
use super::failover::Outcome;
use super::{watch, EtcdStore, Policy};
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

impl EtcdStore {
    async fn read_key(
        &self,
        op: Op<'_>,
        key: &str,
        options: Option<GetOptions>,
    ) -> Result<Option<KeyValue>, StoreError> {
        let response = self
            .request(op, |client| {
                let (mut kv, options) = (client.kv_client(), options.clone());
                async move { kv.get(key, options).await }
            })
            .await?;
        response.value.kvs().first().map(key_value).transpose()
    }

    pub(super) async fn read_revision(&self, policy: Policy) -> Result<Revision, StoreError> {
        let op = self.op("read revision", "");
        let options = GetOptions::new().with_count_only();
        let response = self
            .request_with(op, policy, |client| {
                let (mut kv, options) = (client.kv_client(), options.clone());
                async move { kv.get("\0", Some(options)).await }
            })
            .await?;
        op.revision(response.value.header())
    }

    /// Whether `current`, found after an uncertain create, was created with `value`.
    async fn created_with(&self, op: Op<'_>, current: &KeyValue, value: &[u8]) -> Result<bool, StoreError> {
        if current.mod_revision == current.create_revision {
            return Ok(current.value.as_ref() == value);
        }
        let at_creation = GetOptions::new().with_revision(current.create_revision);
        match self.read_key(op, &current.key, Some(at_creation)).await {
            Ok(created) => Ok(created.is_some_and(|kv| kv.value.as_ref() == value)),
            Err(StoreError::Etcd { detail, .. }) if detail.contains("compacted") => {
                Err(StoreError::Unavailable(format!(
                    "etcd at {}: create {}: an attempt's answer was lost and the key's first version is compacted: \
                     whether this create applied is unknown",
                    self.endpoints(),
                    current.key
                )))
            }
            Err(error) => Err(error),
        }
    }

    /// After an uncertain conditional delete found the key gone: the delete of the version at
    /// `expected`, if that is what happened next to the key.
    async fn deleted_after(
        &self,
        op: Op<'_>,
        key: &str,
        expected: Revision,
    ) -> Result<Option<(Revision, KeyValue)>, StoreError> {
        let outcome = self
            .on_members(op, self.policy(), |client, member_op| watch::first_change(client.clone(), member_op, expected))
            .await
            .map_err(|error| match error {
                StoreError::Compacted { .. } => StoreError::Unavailable(format!(
                    "etcd at {}: delete {key}: an attempt's answer was lost and the key's history is compacted: \
                     whether this delete applied is unknown",
                    self.endpoints()
                )),
                other => other,
            })?;
        Ok(match outcome.value {
            watch::Change::Deleted { revision, prev } if prev.mod_revision == expected => Some((revision, prev)),
            _ => None,
        })
    }
}

#[async_trait::async_trait]
impl Store for EtcdStore {
    #[tracing::instrument(name = "store.get", skip_all, fields(backend = "etcd", key = %key))]
    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        self.read_key(self.op("get", key), key, None).await
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
        let response = self
            .request(op, |client| {
                let (mut kv, start, options) = (client.kv_client(), start.clone(), options.clone());
                async move { kv.get(start, Some(options)).await }
            })
            .await?
            .value;
        let items = response.kvs().iter().map(key_value).collect::<Result<Vec<_>, _>>()?;
        Ok(ListResult { items, revision: op.revision(response.header())?, more: response.more() })
    }

    #[tracing::instrument(name = "store.create", skip_all, fields(backend = "etcd", key = %key))]
    async fn create(&self, key: &str, value: Bytes) -> Result<Revision, StoreError> {
        let op = self.op("create", key);
        let txn = Txn::new()
            .when([Compare::create_revision(key, CompareOp::Equal, 0)])
            .and_then([TxnOp::put(key, value.to_vec(), None)])
            .or_else([TxnOp::get(key, None)]);
        let Outcome { value: result, uncertain } = self.cas(op, txn).await?;
        match result {
            Ok(response) => op.revision(response.header()),
            Err(Some(current)) if uncertain && self.created_with(op, &current, &value).await? => {
                tracing::info!(key, "an earlier attempt of this create applied; its answer was lost");
                Ok(current.create_revision)
            }
            Err(_) => Err(StoreError::AlreadyExists { key: key.to_owned() }),
        }
    }

    #[tracing::instrument(name = "store.update", skip_all, fields(backend = "etcd", key = %key, expected = expected))]
    async fn update(&self, key: &str, value: Bytes, expected: Revision) -> Result<Revision, StoreError> {
        let op = self.op("update", key);
        let txn = Txn::new()
            .when(at_revision(key, expected))
            .and_then([TxnOp::put(key, value.to_vec(), None)])
            .or_else([TxnOp::get(key, None)]);
        let Outcome { value: result, uncertain } = self.cas(op, txn).await?;
        match result {
            Ok(response) => op.revision(response.header()),
            Err(Some(current)) if uncertain && current.mod_revision > expected && current.value == value => {
                tracing::info!(key, "an earlier attempt of this update applied; its answer was lost");
                Ok(current.mod_revision)
            }
            Err(current) => Err(conflict(key, expected, current)),
        }
    }

    #[tracing::instrument(name = "store.delete", skip_all, fields(backend = "etcd", key = %key, expected = ?expected))]
    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<(Revision, KeyValue), StoreError> {
        let op = self.op("delete", key);
        let with_prev = DeleteOptions::new().with_prev_key();
        let (revision, deleted) = match expected {
            None => {
                let response = self
                    .request(op, |client| {
                        let (mut kv, options) = (client.kv_client(), with_prev.clone());
                        async move { kv.delete(key, Some(options)).await }
                    })
                    .await?
                    .value;
                (op.revision(response.header())?, response.prev_kvs().first().map(key_value).transpose()?)
            }
            Some(expected) => {
                let txn = Txn::new()
                    .when(at_revision(key, expected))
                    .and_then([TxnOp::delete(key, Some(with_prev))])
                    .or_else([TxnOp::get(key, None)]);
                let Outcome { value: result, uncertain } = self.cas(op, txn).await?;
                let response = match result {
                    Ok(response) => response,
                    Err(current) if uncertain && current.as_ref().is_none_or(|kv| kv.create_revision > expected) => {
                        return match self.deleted_after(op, key, expected).await? {
                            Some(deleted) => {
                                tracing::info!(key, "an earlier attempt of this delete applied; its answer was lost");
                                Ok(deleted)
                            }
                            None => Err(conflict(key, expected, current)),
                        };
                    }
                    Err(current) => return Err(conflict(key, expected, current)),
                };
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
        self.read_revision(self.policy()).await
    }

    #[tracing::instrument(name = "store.watch", skip_all, fields(backend = "etcd", prefix = %prefix, after = after))]
    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream, StoreError> {
        let op = self.op("watch", prefix);
        let interval = self.options.progress_interval;
        let outcome = self
            .on_members(op, self.policy(), |client, member_op| watch::start(client.clone(), member_op, after, interval))
            .await?;
        Ok(outcome.value)
    }

    #[tracing::instrument(name = "store.compact", skip_all, fields(backend = "etcd", revision = revision))]
    async fn compact(&self, revision: Revision) -> Result<(), StoreError> {
        let op = self.op("compact", "");
        let outcome = self
            .request(op, |client| {
                let mut kv = client.kv_client();
                async move {
                    // Compacting twice is harmless, so a retry after a lost answer lands here.
                    match kv.compact(revision, Some(CompactionOptions::new().with_physical())).await {
                        Ok(_) => Ok(Ok(())),
                        Err(e) if convert::is_compacted(&e) => Ok(Ok(())),
                        Err(e) if convert::is_future_revision(&e) => Ok(Err(())),
                        Err(e) => Err(e),
                    }
                }
            })
            .await?;
        match outcome.value {
            Ok(()) => Ok(()),
            Err(()) => Err(StoreError::FutureRevision { requested: revision, current: self.current_revision().await? }),
        }
    }
}
