//! `capstan-apiserver`: the only door to cluster state.
//!
//! A request arrives at the generic `ResourceService` ([`grpc`]), which hands
//! it to the [`registry`]: defaulting ([`defaults`]), validation
//! ([`validation`]), namespace admission, address allocation for services
//! ([`allocator`]) and optimistic concurrency against the [`Store`]. Watches
//! are served from one [`watch_cache`] per kind, never from a store watch per
//! client. Start reading at [`ApiServer::start`]. The port (the API,
//! `grpc.health.v1` and `GET /metrics` with per-call request metrics, on
//! kube-apiserver's names too, and the store's latency, [`store_metrics`]) is
//! served through `capstan_server`'s stack, which also serves TLS,
//! authenticates, limits and audits as [`door::Security`] configures it;
//! every resource call is then authorized in one place, [`authorize`],
//! before its handler runs, as the user it acts as ([`impersonate`]:
//! `impersonate-user`/`impersonate-group` metadata, allowed by the
//! `impersonate` verb). [`authz`] holds the request's attributes and the
//! bootstrap RBAC policy, reconciled at every start. [`review`] answers
//! `SelfSubjectReview` and `SelfSubjectAccessReview` (who am I, may I) with
//! the same authorizer, storing nothing.
//! [`pods`] serves `pods/log` and `pods/exec` through the same hook, then
//! relays them to the pod's kubelet, dialled by [`node_proxy`] with the API
//! server's own kubelet-client certificate.
//!
//! # Invariants
//! - Only this crate writes to the store; every other component goes through
//!   the gRPC API.
//! - `resourceVersion` is the store's revision; it is never stored in the
//!   object body, always filled in from the revision on read.

pub mod allocator;
pub mod authorize;
pub mod authz;
pub mod defaults;
pub mod door;
pub mod error;
pub mod grpc;
pub mod impersonate;
pub mod keys;
pub mod managed_fields;
pub mod node_proxy;
pub mod pod_target;
pub mod pods;
pub mod registry;
pub mod rest;
pub mod review;
pub mod store_metrics;
pub mod validation;
pub mod watch_cache;

pub use capstan_store::StoreConfig;
pub use error::ApiError;

use allocator::Allocator;
use capstan_proto::api::v1::pod_service_server::PodServiceServer;
use capstan_proto::api::v1::resource_service_server::ResourceServiceServer;
use capstan_proto::api::v1::review_service_server::ReviewServiceServer;
use capstan_server::Server;
use capstan_store::{open_store, Store};
use registry::Registry;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use watch_cache::CacheOptions;

/// Large lists (thousands of pods) exceed gRPC's 4 MiB default.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024 * 1024;

/// Everything the API server needs; `Default` gives a working local server.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub storage: StoreConfig,
    /// the range cluster IPs come from
    pub service_cluster_ip_range: String,
    /// the range node ports come from, inclusive
    pub service_node_port_range: (u16, u16),
    pub cache: CacheOptions,
    /// `tolerationSeconds` new pods get for `node.kubernetes.io/not-ready:NoExecute`
    /// unless they tolerate it themselves.
    pub default_not_ready_toleration_seconds: i64,
    /// `tolerationSeconds` new pods get for `node.kubernetes.io/unreachable:NoExecute`
    /// unless they tolerate it themselves.
    pub default_unreachable_toleration_seconds: i64,
    /// TLS, authentication, authorization, limits and audit.
    pub security: door::Security,
    /// How the API server calls kubelets for `pods/log` and `pods/exec`
    /// (`--kubelet-client-certificate`, `--kubelet-client-key`,
    /// `--kubelet-certificate-authority`); `None`: plaintext.
    pub kubelet_client: Option<node_proxy::KubeletClientFiles>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 6443)),
            storage: StoreConfig::embedded("/var/lib/capstan/apiserver"),
            service_cluster_ip_range: "10.96.0.0/12".into(),
            service_node_port_range: (30000, 32767),
            cache: CacheOptions::default(),
            default_not_ready_toleration_seconds: defaults::DEFAULT_TOLERATION_SECONDS,
            default_unreachable_toleration_seconds: defaults::DEFAULT_TOLERATION_SECONDS,
            security: door::Security::default(),
            kubelet_client: None,
        }
    }
}

impl Config {
    /// A server on a free loopback port over an embedded store in
    /// `data_dir`: what every in-process test cluster and bench starts.
    pub fn ephemeral(data_dir: &std::path::Path) -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            storage: StoreConfig::embedded(data_dir.join("store")),
            ..Config::default()
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiServerError {
    #[error("opening the store: {0}")]
    Store(#[from] capstan_store::StoreError),
    #[error("listening on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error(transparent)]
    Range(#[from] allocator::RangeError),
    #[error("starting the watch caches: {0}")]
    Startup(#[from] ApiError),
    #[error("serving the API: {0}")]
    Serve(#[from] capstan_server::ServerError),
    #[error(
        "the kubelet client (--kubelet-client-certificate, --kubelet-client-key, --kubelet-certificate-authority): {0}"
    )]
    KubeletClient(#[source] capstan_pki::PkiError),
    #[error("the server task failed: {0}")]
    Task(String),
}

/// How long [`ApiServer::stop`] waits for its background tasks to let go of
/// the store (they do within milliseconds of the shutdown).
const STORE_RELEASE: std::time::Duration = std::time::Duration::from_secs(10);

/// A running API server.
pub struct ApiServer {
    addr: SocketAddr,
    scheme: &'static str,
    shutdown: CancellationToken,
    task: JoinHandle<Result<(), ApiServerError>>,
    store: Arc<dyn Store>,
}

impl ApiServer {
    /// Opens the store, starts the watch caches and begins serving; returns
    /// once the listener is bound (port 0 picks a free port).
    pub async fn start(config: Config) -> Result<ApiServer, ApiServerError> {
        let store = open_store(&config.storage).await?;
        Self::start_with_store(config, store).await
    }

    /// As [`ApiServer::start`], over a store the caller opened.
    pub async fn start_with_store(config: Config, store: Arc<dyn Store>) -> Result<ApiServer, ApiServerError> {
        // one registry for the request metrics and the store's: the port's GET /metrics
        let metrics = capstan_metrics::Registry::new();
        let raw_store = store;
        let store = store_metrics::metered(raw_store.clone(), &metrics).map_err(capstan_server::ServerError::from)?;
        let authorizers = authz::Authorizers::default();
        let authorizer = config.security.authorizer(&authorizers);
        let admission = config.security.admission(&authorizers, authorizer.clone());
        // the door's files (certificates, token file, audit log) are read
        // here, before the registry starts anything that would need stopping
        let server = Server::new(config.security.server_config(), metrics)?;
        // so are the kubelet client's
        let kubelet_credentials = node_proxy::NodeProxy::credentials(config.kubelet_client.as_ref())
            .map_err(ApiServerError::KubeletClient)?;
        let shutdown = CancellationToken::new();
        let allocator =
            Allocator::new(store.clone(), &config.service_cluster_ip_range, config.service_node_port_range)?;
        let toleration_seconds = defaults::TolerationSeconds {
            not_ready: config.default_not_ready_toleration_seconds,
            unreachable: config.default_unreachable_toleration_seconds,
        };
        let registry = Arc::new(
            Registry::start(store.clone(), allocator, config.cache.clone(), shutdown.clone())
                .await?
                .with_toleration_seconds(toleration_seconds),
        );
        let listening = async {
            registry.bootstrap().await?;
            authz::reconcile_bootstrap_policy(&registry).await?;
            // no request is judged by a policy that is still loading
            authorizers.start_feeds(&registry).await?;
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .map_err(|source| ApiServerError::Bind { addr: config.listen, source })?;
            let addr = listener.local_addr().map_err(|source| ApiServerError::Bind { addr: config.listen, source })?;
            Ok::<_, ApiServerError>((listener, addr))
        };
        let (listener, addr) = match listening.await {
            Ok(listening) => listening,
            Err(error) => {
                // the watch caches stop and let go of the store
                shutdown.cancel();
                return Err(error);
            }
        };

        let reviews = Arc::new(review::Reviews::new(authorizer.clone()));
        let pods = Arc::new(pods::PodApi::new(
            node_proxy::NodeProxy::new(registry.clone(), kubelet_credentials),
            authorizer.clone(),
        ));
        let api = Arc::new(authorize::Authorized::new(grpc::ResourceApi::new(registry, admission), authorizer));
        // the Kubernetes REST face: every path no gRPC service claims
        let rest = rest::Rest::new(api.clone(), reviews.clone()).with_pods(pods.clone());
        let server = server
            .add_service(ResourceServiceServer::from_arc(api))
            .add_service(ReviewServiceServer::from_arc(reviews))
            .add_service(PodServiceServer::from_arc(pods))
            .serve_http(rest.face());
        let token = shutdown.clone();
        let task = tokio::spawn(async move { Ok(server.serve(listener, token.cancelled_owned()).await?) });
        let modes: Vec<String> = config.security.modes().iter().map(ToString::to_string).collect();
        tracing::info!(%addr, backend = config.storage.backend(), tls = config.security.tls.is_some(), authorization = %modes.join(","), "API server listening");
        let scheme = if config.security.tls.is_some() { "https" } else { "http" };
        // the caller's store, not the metered wrapper: `stop` waits for every other holder to let go
        Ok(ApiServer { addr, scheme, shutdown, task, store: raw_store })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://addr` (`https://` when serving TLS), for clients.
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Stops serving and waits for the server to finish.
    pub async fn stop(self) -> Result<(), ApiServerError> {
        self.shutdown.cancel();
        let served = self.task.await.map_err(|e| ApiServerError::Task(e.to_string()))?;
        // the watch caches' followers and the authorizers' feeds are tasks of
        // their own that let go of the store once they see the shutdown; wait
        // for them, so the store is closed when this returns (an embedded
        // store's file is locked while open: `capstan up` run again in the
        // same process, or a restart over the same directory, opens it next)
        let deadline = tokio::time::Instant::now() + STORE_RELEASE;
        while Arc::strong_count(&self.store) > 1 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        if Arc::strong_count(&self.store) > 1 {
            tracing::warn!("a task still holds the store {STORE_RELEASE:?} after the shutdown");
        }
        served
    }
}

/// Serves until `shutdown` completes, or until the port fails (its listener
/// died): then with that error, the binary's exit status.
pub async fn run(config: Config, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), ApiServerError> {
    let mut server = ApiServer::start(config).await?;
    tokio::select! {
        () = shutdown => {}
        served = &mut server.task => {
            server.shutdown.cancel();
            return served.map_err(|e| ApiServerError::Task(e.to_string()))?;
        }
    }
    tracing::info!("API server shutting down");
    server.stop().await
}
