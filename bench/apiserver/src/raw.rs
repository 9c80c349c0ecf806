//! The baseline: the backend's own write rate, with no API server in the way.
//!
//! - etcd: `EtcdStore::raw_put`, a plain unconditional put over the same client pool the
//!   API server uses (so the baseline has the same number of connections to etcd).
//! - embedded: `Store::create` of distinct keys on an `EmbeddedStore` opened in-process,
//!   which is the embedded backend's only write path (group commit, one fsync per batch).
//!
//! The value is the template pod's protobuf body, the same size the API server stores.
//!
//! etcd has a second baseline: `Store::create`, the compare-then-put transaction every
//! correct create needs (`create_revision == 0`), so the report can tell what etcd's own
//! transaction costs from what the API server adds on top of it.

use std::sync::Arc;

use bytes::Bytes;
use capstan_proto::api::v1::Object;
use capstan_store::{EmbeddedStore, EtcdStore, Store, StoreConfig};
use futures::FutureExt;

use crate::backend::{Backend, FreshStore};
use crate::cpu::CpuProbe;
use crate::load::{closed_loop, Load, Operation};
use crate::report::LoadStats;
use crate::{pod, BenchError, Options};

/// A fresh store of one backend, opened for raw puts.
pub struct RawTarget {
    backend: Backend,
    store: Arc<RawStore>,
    value: Bytes,
    cpu: CpuProbe,
    // last: the store is closed before its directory or etcd goes away
    _fresh: FreshStore,
}

impl RawTarget {
    /// Starts a fresh store; puts will carry `template`'s stored body.
    pub async fn start(backend: Backend, template: &Object) -> Result<RawTarget, BenchError> {
        let fresh = FreshStore::start(backend).await?;
        let store = Arc::new(RawStore::open(&fresh.storage).await?);
        Ok(RawTarget { backend, store, value: pod::stored_body(template), cpu: fresh.cpu_probe(), _fresh: fresh })
    }

    /// Puts of new keys at `concurrency`.
    pub async fn measure(&self, concurrency: usize, options: &Options) -> Result<LoadStats, BenchError> {
        eprintln!("{}: raw puts at concurrency {concurrency} ...", self.backend);
        let operation = put_operation(self.store.clone(), self.value.clone(), concurrency, Write::Put);
        let load = Load { concurrency, warmup: options.warmup, duration: options.duration, cpu: self.cpu };
        closed_loop(load, operation).await
    }

    /// etcd only: the store's create transaction at `concurrency` (on the embedded
    /// backend a raw put already is `Store::create`).
    pub async fn measure_create_txn(
        &self,
        concurrency: usize,
        options: &Options,
    ) -> Result<Option<LoadStats>, BenchError> {
        if !matches!(*self.store, RawStore::Etcd(_)) {
            return Ok(None);
        }
        eprintln!("{}: store create transactions at concurrency {concurrency} ...", self.backend);
        let operation = put_operation(self.store.clone(), self.value.clone(), concurrency, Write::CreateTxn);
        let load = Load { concurrency, warmup: options.warmup, duration: options.duration, cpu: self.cpu };
        closed_loop(load, operation).await.map(Some)
    }
}

/// A store opened for raw writes.
enum RawStore {
    Embedded(EmbeddedStore),
    Etcd(EtcdStore),
}

impl RawStore {
    async fn open(storage: &StoreConfig) -> Result<RawStore, BenchError> {
        match storage {
            StoreConfig::Embedded { data_dir, options } => {
                let (dir, options) = (data_dir.clone(), options.clone());
                // opening creates and fsyncs the database file: off the async workers
                let store = tokio::task::spawn_blocking(move || EmbeddedStore::open(&dir, options))
                    .await
                    .map_err(|e| BenchError::Task(format!("opening the embedded store: {e}")))??;
                Ok(RawStore::Embedded(store))
            }
            StoreConfig::Etcd { endpoints, options } => {
                Ok(RawStore::Etcd(EtcdStore::connect(endpoints, options.clone()).await?))
            }
        }
    }

    async fn put(&self, key: &str, value: Bytes, write: Write) -> Result<(), BenchError> {
        match (self, write) {
            (RawStore::Embedded(store), _) => store.create(key, value).await?,
            (RawStore::Etcd(store), Write::Put) => store.raw_put(key, value).await?,
            (RawStore::Etcd(store), Write::CreateTxn) => store.create(key, value).await?,
        };
        Ok(())
    }
}

/// Which write a baseline measures.
#[derive(Debug, Clone, Copy)]
enum Write {
    Put,
    CreateTxn,
}

/// Puts of distinct keys under the pods prefix; the concurrency is in the key so that
/// every point writes new keys.
fn put_operation(store: Arc<RawStore>, value: Bytes, concurrency: usize, write: Write) -> Operation {
    Arc::new(move |seq| {
        let (store, value) = (store.clone(), value.clone());
        async move {
            let key = format!("/registry/pods/{}/raw-{write:?}-c{concurrency}-{seq}", pod::NAMESPACE);
            store.put(&key, value, write).await
        }
        .boxed()
    })
}
