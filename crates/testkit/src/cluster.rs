//! A real API server for one test, on the backend the test names, torn down
//! with the value: the store's temp dir and the etcd it started go with it.

use capstan_apiserver::{ApiServer, Config, StoreConfig};
use capstan_client::Client;
use capstan_test_support::{require_daemon, EtcdServer};
use std::path::Path;
use tempfile::TempDir;

/// The store under a [`TestCluster`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded store, in the cluster's temp dir.
    Embedded,
    /// A real etcd started by the shared harness for this cluster alone.
    Etcd,
}

/// An API server on loopback, a client for it, and the state behind it.
pub struct TestCluster {
    /// `None` only inside [`TestCluster::restart`].
    server: Option<ApiServer>,
    pub client: Client,
    /// The configuration it started with: [`TestCluster::restart`] reuses it.
    pub config: Config,
    /// A scratch directory for the test (manifests, sockets); the embedded
    /// store lives in its `store` subdirectory.
    pub dir: TempDir,
    etcd: Option<EtcdServer>,
}

impl TestCluster {
    /// An API server on the embedded store.
    pub async fn start() -> TestCluster {
        Self::start_with(Backend::Embedded, |_| {}).await.expect("the embedded store needs no daemon")
    }

    /// An API server on `backend`, its configuration adjusted by `adjust`
    /// first. `None` only when etcd is missing outside CI (the harness says
    /// so; under CI a missing etcd fails the test).
    pub async fn start_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Option<TestCluster> {
        let dir = tempfile::tempdir().expect("a temp dir for the test cluster");
        let mut config = Config::ephemeral(dir.path());
        let etcd = match backend {
            Backend::Embedded => None,
            Backend::Etcd => {
                let etcd = require_daemon(EtcdServer::start().await)?;
                config.storage = StoreConfig::etcd(etcd.endpoints());
                Some(etcd)
            }
        };
        adjust(&mut config);
        let server = ApiServer::start(config.clone()).await.expect("the API server starts");
        let client = Client::connect(&server.url()).expect("a client for the API server");
        Some(TestCluster { server: Some(server), client, config, dir, etcd })
    }

    /// The running API server.
    pub fn server(&self) -> &ApiServer {
        self.server.as_ref().expect("the API server runs outside restart()")
    }

    /// The API server's URL, for components and the CLI.
    pub fn url(&self) -> String {
        self.server().url()
    }

    /// The cluster's scratch directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Whether this cluster's store is a real etcd.
    pub fn on_etcd(&self) -> bool {
        self.etcd.is_some()
    }

    /// Stops the API server; the store's state goes with the value.
    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await.expect("the API server stops cleanly");
        }
    }

    /// Stops the API server and starts a new one over the same store (on a
    /// new port); the client follows it.
    pub async fn restart(&mut self) {
        // the embedded store admits one owner at a time: the old server goes first
        if let Some(old) = self.server.take() {
            old.stop().await.expect("the API server stops cleanly");
        }
        let server = ApiServer::start(self.config.clone()).await.expect("the API server restarts");
        self.client = Client::connect(&server.url()).expect("a client for the restarted API server");
        self.server = Some(server);
    }
}
