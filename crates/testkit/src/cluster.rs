//! A real API server for one test, on the backend the test names, torn down
//! with the value: the store's temp dir and the etcd it started go with it.
//! By default ([`Door::Secured`]) it serves TLS, authenticates and authorizes
//! with Node,RBAC as a production server would, over a PKI made by
//! `capstan_pki::init` in its temp dir, and writes an audit log; so every
//! test that starts a component against it also checks that the component's
//! identity and bootstrap role let it do its work
//! ([`TestCluster::assert_no_component_refused`]).

use capstan_apiserver::door::AuthorizationMode;
use capstan_apiserver::{ApiServer, Config, StoreConfig};
use capstan_client::{Client, Target};
use capstan_proto::core::v1::Namespace;
use capstan_server::{AuditConfig, TlsFiles};
use capstan_test_support::eventually;
use capstan_test_support::{require_daemon, EtcdServer};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;
use tempfile::TempDir;

/// How callers reach a [`TestCluster`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    /// Plaintext, no authentication, AlwaysAllow: only for tests about the
    /// plaintext door itself.
    Open,
    /// TLS with the PKI in `DIR/pki`, client certificates against its CA,
    /// the token file [`TOKEN_FILE_LINE`], anonymous calls refused, Node,RBAC
    /// authorization, the audit log at `DIR/audit.log`. The cluster's client
    /// is the admin's (`system:masters`).
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
    /// Held while `certs init` adds a node, so two nodes added at once do
    /// not write the same files together.
    pki_lock: Mutex<()>,
}

impl TestCluster {
    /// A secured API server on the embedded store.
    pub async fn start() -> TestCluster {
        Self::start_with(Backend::Embedded, |_| {}).await.expect("the embedded store needs no daemon")
    }

    /// A secured API server on `backend`, its configuration adjusted by
    /// `adjust` last. `None` only when etcd is missing outside CI (the
    /// harness says so; under CI a missing etcd fails the test).
    pub async fn start_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Option<TestCluster> {
        Self::start_behind(backend, Door::Secured, adjust).await
    }

    /// An API server on the embedded store behind [`Door::Secured`] (what
    /// [`TestCluster::start`] starts).
    pub async fn start_secured() -> TestCluster {
        Self::start().await
    }

    /// A plaintext AlwaysAllow API server on the embedded store, for tests
    /// about the plaintext door; each caller says why it needs one.
    pub async fn start_open() -> TestCluster {
        Self::start_behind(Backend::Embedded, Door::Open, |_| {}).await.expect("the embedded store needs no daemon")
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
        Some(TestCluster { server: Some(server), client, config, dir, etcd, admin, pki_lock: Mutex::new(()) })
    }

    /// The PKI directory of a secured cluster (`certs init`'s layout).
    pub fn pki(&self) -> PathBuf {
        self.path().join("pki")
    }

    /// The CLI's arguments that reach this cluster as its admin:
    /// `--kubeconfig ADMIN --server URL` (the kubeconfig names the port of
    /// the first start; `--server` follows restarts), or `--server URL` on
    /// an open cluster.
    pub fn cli_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if self.admin.is_some() {
            let kubeconfig = capstan_pki::Layout::new(self.pki()).kubeconfig("admin");
            args.extend(["--kubeconfig".to_string(), kubeconfig.display().to_string()]);
        }
        args.extend(["--server".to_string(), self.url()]);
        args
    }

    /// The audit log of a secured cluster.
    pub fn audit_log(&self) -> PathBuf {
        self.path().join("audit.log")
    }

    /// A target for the kubeconfig `name` of the cluster's PKI
    /// (`admin`, `scheduler`, `controller-manager`, `proxy`, `node-NAME`),
    /// pointed at the running server. On an open cluster: the URL alone.
    pub fn target(&self, kubeconfig: &str) -> Target {
        if self.admin.is_none() {
            return Target { server: self.url(), namespace: None, credentials: Default::default() };
        }
        let path = capstan_pki::Layout::new(self.pki()).kubeconfig(kubeconfig);
        let mut target = Target::from_kubeconfig(&path, None).expect("the PKI's kubeconfig reads");
        target.server = self.url();
        target
    }

    /// The kubelet identity `system:node:NAME` (its certificate issued on
    /// first use, as `certs init --node NAME` does on a live cluster).
    pub fn node_target(&self, node: &str) -> Target {
        if self.admin.is_some() {
            let _held = self.pki_lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            issue_node(&self.pki(), node);
        }
        self.target(&format!("node-{node}"))
    }

    /// A client with the identity of the kubeconfig `name` (see [`TestCluster::target`]).
    pub fn client_as(&self, kubeconfig: &str) -> Client {
        Client::connect_to(&self.target(kubeconfig)).expect("a client from the PKI's kubeconfig")
    }

    /// A client for `credentials` that trusts the cluster's CA: a token
    /// user (`token`), someone to act as (`impersonate`), a certificate.
    pub fn client_with(&self, mut credentials: capstan_client::Credentials) -> Client {
        let ca = std::fs::read(capstan_pki::Layout::new(self.pki()).ca_cert()).expect("the cluster's CA");
        credentials.ca_pem = Some(ca);
        Client::connect_with(&self.url(), &credentials).expect("a client for the test cluster")
    }

    /// jane's client: [`TOKEN`], in groups `dev` and `ops`, bound to nothing.
    pub fn jane(&self) -> Client {
        self.client_with(capstan_client::Credentials { token: Some(TOKEN.into()), ..Default::default() })
    }

    /// Every event of the audit log so far (`audit.k8s.io/v1` Events).
    pub fn audit_events(&self) -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(self.audit_log()).unwrap_or_default();
        text.lines().filter_map(|line| serde_json::from_str(line).ok()).collect()
    }

    /// Fails the test when the audit log shows a component — any `system:`
    /// user: scheduler, controller-manager, proxy, a node — refused by the
    /// authorizer (403 `… is forbidden: User "…"`), or any call refused as
    /// unauthenticated (401): in normal operation a component's bootstrap
    /// role and the Node authorizer must grant every call its code makes.
    /// Waits for the audit writer to catch up first (the events of calls
    /// answered before this one are in the log once a marker call is).
    pub async fn assert_no_component_refused(&self) {
        if self.admin.is_none() {
            return;
        }
        // one more call, answered after every call this test waited for: once
        // its event is written, theirs are too (the writer keeps their order)
        let marker = format!("audit-marker-{}", std::process::id());
        let _absent = self.client.api::<Namespace>(None).get(&marker).await;
        let events = eventually("the audit log to catch up", Duration::from_secs(10), || {
            let events = self.audit_events();
            let seen = events.iter().any(|e| e["objectRef"]["name"].as_str() == Some(marker.as_str()));
            async move { seen.then_some(events) }
        })
        .await;
        // a log with no component in it would make this check pass vacuously
        let components = events.iter().filter(|e| {
            let user = e["user"]["username"].as_str().unwrap_or_default();
            user.starts_with("system:") && user != "system:anonymous"
        });
        assert!(components.count() > 0, "no component's call is in the audit log {}", self.audit_log().display());
        let refused = refusals(&events);
        assert!(
            refused.is_empty(),
            "components were refused in normal operation (their bootstrap role or the Node authorizer \
             lacks what their code calls):\n{}",
            refused.join("\n")
        );
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

/// Adds the kubelet identity of `node` to the PKI at `pki` unless it has it
/// (`certs init --dir PKI --node NODE`, which keeps the CA).
pub fn issue_node(pki: &Path, node: &str) {
    if !capstan_pki::Layout::new(pki).kubeconfig(&format!("node-{node}")).exists() {
        let mut options = capstan_pki::InitOptions::new(pki);
        options.nodes = vec![node.to_string()];
        capstan_pki::init(&options).expect("certs init --node in the temp dir");
    }
}

/// Makes the PKI (`DIR/pki`) and the token file in `dir` and configures
/// `config`'s door as [`Door::Secured`] says; the admin's target (its
/// server still to be filled in). For tests that start an API server
/// themselves (on a port chosen in advance).
pub fn secure(config: &mut Config, dir: &Path) -> Target {
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
    config.security.authorization_modes = vec![AuthorizationMode::Node, AuthorizationMode::Rbac];
    config.security.audit = Some(AuditConfig { path: dir.join("audit.log"), max_size_mb: 100, max_backups: 1 });
    Target::from_kubeconfig(&layout.kubeconfig("admin"), None).expect("the admin kubeconfig reads")
}

/// The audit events that are a component refused by the authorizer, or any
/// caller refused as unauthenticated, as readable lines (for clusters a
/// test did not start with [`TestCluster`], such as `capstan up`'s).
pub fn refusals(events: &[serde_json::Value]) -> Vec<String> {
    events
        .iter()
        .filter(|event| {
            let user = event["user"]["username"].as_str().unwrap_or_default();
            let status = &event["responseStatus"];
            let message = status["message"].as_str().unwrap_or_default();
            match status["code"].as_u64() {
                Some(401) => true,
                // 403 is also a namespace being terminated: only the authorizer's words count
                Some(403) => user.starts_with("system:") && message.contains("User \""),
                _ => false,
            }
        })
        .map(|event| {
            let object = &event["objectRef"];
            format!(
                "{} {} {}/{} {} {}: {}",
                event["user"]["username"].as_str().unwrap_or_default(),
                event["verb"].as_str().unwrap_or_default(),
                object["resource"].as_str().unwrap_or_default(),
                object["subresource"].as_str().unwrap_or_default(),
                object["namespace"].as_str().unwrap_or_default(),
                object["name"].as_str().unwrap_or_default(),
                event["responseStatus"]["message"].as_str().unwrap_or_default(),
            )
        })
        .collect()
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
