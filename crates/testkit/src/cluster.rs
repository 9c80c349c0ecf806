//! A real API server for one test, on the backend the test names, torn down
//! with the value: the store's temp dir and the etcd it started go with it.
//! With [`Door::Secured`] it serves TLS and authenticates as a production
//! server would, over a PKI made by `capstan_pki::init` in its temp dir.

use capstan_apiserver::door::AuthorizationMode;
use capstan_apiserver::{ApiServer, Config, StoreConfig};
use capstan_client::{Client, Target};
use capstan_server::{AuditConfig, TlsFiles};
use capstan_test_support::{require_daemon, EtcdServer};
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// How callers reach a [`TestCluster`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    /// Plaintext, no authentication, AlwaysAllow: today's loopback server.
    Open,
    /// TLS with the PKI in `DIR/pki`, client certificates against its CA,
    /// the token file [`TOKEN_FILE_LINE`], anonymous calls refused, the
    /// audit log at `DIR/audit.log`; authorization AlwaysAllow until the
    /// Node and RBAC authorizers land. The cluster's client is the admin's.
    Secured,
}

/// The token file of a secured cluster: `jane` in groups `dev` and `ops`.
pub const TOKEN_FILE_LINE: &str = "jane-token,jane,1001,\"dev,ops\"";
/// jane's token.
pub const TOKEN: &str = "jane-token";

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
    /// The admin's kubeconfig target on a secured cluster (its server follows restarts).
    admin: Option<Target>,
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
        Self::start_behind(backend, Door::Open, adjust).await
    }

    /// An API server on the embedded store behind [`Door::Secured`].
    pub async fn start_secured() -> TestCluster {
        Self::start_behind(Backend::Embedded, Door::Secured, |_| {}).await.expect("the embedded store needs no daemon")
    }

    /// An API server on `backend` behind `door`, its configuration adjusted
    /// by `adjust` last.
    pub async fn start_behind(backend: Backend, door: Door, adjust: impl FnOnce(&mut Config)) -> Option<TestCluster> {
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
        let admin = match door {
            Door::Open => None,
            Door::Secured => Some(secure(&mut config, dir.path())),
        };
        adjust(&mut config);
        let server = ApiServer::start(config.clone()).await.expect("the API server starts");
        let client = connect(&server, admin.as_ref());
        Some(TestCluster { server: Some(server), client, config, dir, etcd, admin })
    }

    /// The PKI directory of a secured cluster (`certs init`'s layout).
    pub fn pki(&self) -> PathBuf {
        self.path().join("pki")
    }

    /// The audit log of a secured cluster.
    pub fn audit_log(&self) -> PathBuf {
        self.path().join("audit.log")
    }

    /// A target for the kubeconfig `name` of the cluster's PKI
    /// (`admin`, `scheduler`, `node-NAME`…), pointed at the running server.
    pub fn target(&self, kubeconfig: &str) -> Target {
        let path = capstan_pki::Layout::new(self.pki()).kubeconfig(kubeconfig);
        let mut target = Target::from_kubeconfig(&path, None).expect("the PKI's kubeconfig reads");
        target.server = self.url();
        target
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
        self.client = connect(&server, self.admin.as_ref());
        self.server = Some(server);
    }
}

/// Makes the PKI and the token file in `dir` and configures the door; the
/// admin's target (its server still to be filled in).
fn secure(config: &mut Config, dir: &Path) -> Target {
    let pki = dir.join("pki");
    let mut options = capstan_pki::InitOptions::new(&pki);
    options.nodes = vec!["node-1".to_string()];
    capstan_pki::init(&options).expect("certs init in the temp dir");
    let layout = capstan_pki::Layout::new(&pki);
    let tokens = dir.join("tokens.csv");
    std::fs::write(&tokens, format!("{TOKEN_FILE_LINE}\n")).expect("the token file");
    config.security.tls = Some(TlsFiles {
        cert: layout.cert("apiserver"),
        key: layout.key("apiserver"),
        client_ca: Some(layout.ca_cert()),
    });
    config.security.token_file = Some(tokens);
    config.security.authorization_modes = vec![AuthorizationMode::AlwaysAllow];
    config.security.audit = Some(AuditConfig { path: dir.join("audit.log"), max_size_mb: 100, max_backups: 1 });
    Target::from_kubeconfig(&layout.kubeconfig("admin"), None).expect("the admin kubeconfig reads")
}

/// The cluster's client: the admin's credentials on a secured cluster.
fn connect(server: &ApiServer, admin: Option<&Target>) -> Client {
    match admin {
        None => Client::connect(&server.url()).expect("a client for the API server"),
        Some(admin) => {
            let target = Target { server: server.url(), ..admin.clone() };
            Client::connect_to(&target).expect("an admin client for the API server")
        }
    }
}
