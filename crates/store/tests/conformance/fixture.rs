//! One store under test, of either backend, that a case can also "reopen".
//!
//! Every test gets a fresh store: a new temp directory, or its own etcd server. Nothing is
//! shared between tests, so they stay independent and run in parallel.

use std::sync::Arc;
use std::time::Duration;

use capstan_store::{EmbeddedOptions, EmbeddedStore, EtcdOptions, EtcdStore, Store};
use capstan_test_support::{require_daemon, EtcdServer};

/// Short enough that "progress while idle" cases finish quickly; no case times it.
pub const PROGRESS_INTERVAL: Duration = Duration::from_millis(200);

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Embedded,
    Etcd,
}

enum Kind {
    Embedded(tempfile::TempDir),
    Etcd(EtcdServer),
}

pub struct Fixture {
    store: Option<Arc<dyn Store>>,
    kind: Kind,
}

impl Fixture {
    /// A fresh store, or `None` when the backend's daemon is missing outside CI (skipped).
    pub async fn new(backend: Backend) -> Option<Fixture> {
        let kind = match backend {
            Backend::Embedded => Kind::Embedded(tempfile::tempdir().expect("create a temp dir")),
            Backend::Etcd => Kind::Etcd(require_daemon(EtcdServer::start().await)?),
        };
        let mut fixture = Fixture { store: None, kind };
        fixture.store = Some(fixture.open().await);
        Some(fixture)
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_deref().expect("the fixture always holds a store")
    }

    /// A shared handle, for cases that spawn concurrent tasks.
    pub fn shared(&self) -> Arc<dyn Store> {
        self.store.clone().expect("the fixture always holds a store")
    }

    /// Closes the store and opens it again from scratch: the embedded store from its
    /// directory (so every byte must have reached the file), etcd through a new client.
    pub async fn reopen(&mut self) {
        let old = self.store.take().expect("the fixture always holds a store");
        assert_eq!(Arc::strong_count(&old), 1, "a case still holds the store it wants reopened");
        drop(old);
        self.store = Some(self.open().await);
    }

    async fn open(&self) -> Arc<dyn Store> {
        match &self.kind {
            Kind::Embedded(dir) => {
                let options = EmbeddedOptions { progress_interval: PROGRESS_INTERVAL, ..EmbeddedOptions::default() };
                Arc::new(EmbeddedStore::open(dir.path(), options).expect("open the embedded store"))
            }
            Kind::Etcd(server) => {
                let options = EtcdOptions { progress_interval: PROGRESS_INTERVAL, ..EtcdOptions::default() };
                Arc::new(EtcdStore::connect(&server.endpoints(), options).await.expect("connect to etcd"))
            }
        }
    }
}
