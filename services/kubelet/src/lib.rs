//! `capstan-kubelet`, the node agent: registers its Node (and keeps it alive with a
//! lease and status heartbeats), watches the pods bound to it and runs each through
//! the runtime interface, probing containers and reporting pod status, and finishes
//! graceful deletions. `capstan up` and the tests start it in-process through
//! [`Kubelet::start`] / [`run`]; `main.rs` only parses flags.
//!
//! Start reading at [`decide`]: the pure function that says, for one pod, what to
//! start, kill or wait for. [`pod_worker`] is the loop around it.
//!
//! # Layout
//! - [`config`], [`error`]: what the kubelet is told, and its one error type.
//! - [`node`], [`lease`], [`machine`]: the Node object, its lease, the machine facts.
//! - [`pods`] → [`pod_worker`] (one task per pod) → [`decide`] (pure) → [`sync`]
//!   (carry out the plan, with [`images`] and [`podconfig`]) → [`status`] (pure).
//! - [`discovery`]: what a pod is told about Services — its resolv.conf
//!   ([`dns`], pure) and its Service environment variables ([`service_env`], pure).
//! - [`relist`] → [`cache`]: one node-wide listing of the runtime per period (like
//!   Kubernetes' PLEG) keeps every pod's records; workers read them from memory and
//!   are woken when theirs change.
//! - [`metrics`]: pod start, runtime operations and what runs, on Kubernetes' names.
//! - [`backoff`]: crash-loop back-off; [`probes`]: liveness, readiness, startup.
//! - [`terminate`]: graceful deletion; [`gc`]: removing orphans of deleted pods.
//! - [`runtime`], [`model`]: the runtime calls and the plain records they yield;
//!   [`runtime_health`]: whether the runtime answers (start waits on it, every
//!   heartbeat reports it in the Ready condition).
//! - [`server`]: logs, exec and usage behind a plain API; [`grpc`]: its gRPC face,
//!   served on the port with health and `GET /metrics` through `capstan_server`
//!   (TLS and client certificates with `--client-ca-file`); [`authz`]: who may
//!   call it (the API server; the controller-manager for usage).
//!
//! # Invariants
//! - One worker per pod uid; only that worker touches the pod's containers (the
//!   garbage collector touches only pods that no longer exist).
//! - The runtime cache keeps, per pod, the read that began last, so a relist that
//!   raced a worker's action never hides that action from the worker.
//! - Every runtime read is filtered by this node's label, so kubelets sharing an
//!   engine never touch each other's containers; every runtime call names this node
//!   (`capstan-cri` sends it), so the shim labels and filters by the kubelet's name,
//!   and a shim pinned to another node (`--node-name`) makes the start fail.
//! - Neither the API server nor the runtime has to be up first: registration waits
//!   for the API server, the runtime is waited for with the node reported
//!   `Ready=False` (`ContainerRuntimeNotReady`), and a runtime that stops answering
//!   later is reported the same way until it is back.
//! - The kubelet links no shim: `memory://` is served in-process only when built
//!   with the `memory-runtime` feature (capstan enables it), or when the caller hands
//!   its own clients in [`Config::runtime`].
//! - Nothing listens off loopback without authentication: a kubelet whose
//!   address is not a loopback one refuses to start without a client CA.
//! - Pod status is written only through the status subresource, and only when it
//!   changed. Every task stops with the kubelet's cancellation token
//!   (`capstan_lifecycle::Tasks`); the first task to fail stops the rest and is
//!   the kubelet's exit status.

pub mod authz;
pub mod backoff;
pub mod cache;
pub mod config;
pub mod decide;
#[cfg(test)]
mod decide_tests;
pub mod discovery;
pub mod dns;
#[cfg(test)]
mod dns_tests;
pub mod error;
pub mod gc;
pub mod grpc;
pub mod images;
pub mod lease;
pub mod machine;
pub mod metrics;
pub mod model;
pub mod node;
pub mod pod_worker;
pub mod podconfig;
pub mod pods;
pub mod probes;
pub mod relist;
pub mod runtime;
pub mod runtime_health;
pub mod server;
pub mod service_env;
#[cfg(test)]
mod service_env_tests;
pub mod status;
#[cfg(test)]
mod status_tests;
pub mod sync;
pub mod terminate;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use capstan_client::{Client, ListParams};
use capstan_cri::{RuntimeClients, RuntimeEndpoint};
use capstan_lifecycle::Tasks;
use capstan_proto::core::v1::{Pod, Service};
use capstan_runtime::informer::{Informer, Store};
use capstan_runtime::EventRecorder;
use tokio::net::TcpListener;

pub use config::{Config, Timings};
pub use error::KubeletError;

use cache::RuntimeCache;
use machine::Machine;
use metrics::KubeletMetrics;
use node::{NodeFacts, RuntimeHealth};
use pod_worker::WorkerContext;
use relist::Relister;
use runtime::Runtime;
use server::KubeletApi;

/// A running kubelet: its loops and its port, stopped together by
/// [`Kubelet::stop`] or by the first of them to fail.
pub struct Kubelet {
    addr: SocketAddr,
    pods: Store<Pod>,
    api: Arc<KubeletApi>,
    tasks: Tasks<KubeletError>,
}

impl Kubelet {
    /// Connects to the API server and the runtime, registers the node and starts
    /// every loop; returns once the node is registered, the runtime answers and the
    /// port is bound. Waits (with back-off) for an API server or a runtime that is
    /// not answering yet, reporting the node NotReady meanwhile; refuses a runtime
    /// that serves another node.
    pub async fn start(config: Config) -> Result<Kubelet, KubeletError> {
        let node_name = config.node_name.clone();
        if !config.listen.ip().is_loopback() && !server::authenticates(config.tls.as_ref()) {
            return Err(KubeletError::Unauthenticated { addr: config.listen });
        }
        let client = Client::connect_with(&config.server, &config.credentials)
            .map_err(|source| KubeletError::Connect { url: config.server.clone(), source })?;
        let endpoint = config.runtime_endpoint.clone();
        let runtime_error = |source| KubeletError::Runtime { endpoint: endpoint.clone(), source };
        let registry = capstan_metrics::Registry::new();
        let metrics = KubeletMetrics::register(&registry)?;
        let clients = runtime_clients(&config)
            .await?
            .for_node(&node_name)
            .map_err(runtime_error)?
            .observed_by(Arc::new(metrics.clone()));
        // the certificates are read before anything is registered: a bad one
        // refuses the start, naming its file
        if let Some(tls) = &config.tls {
            capstan_server::tls::acceptor(tls)?;
        }
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| KubeletError::Bind { addr: config.listen, source })?;
        let addr = listener.local_addr().map_err(|source| KubeletError::Bind { addr: config.listen, source })?;
        let ip = config.node_ip.unwrap_or_else(|| machine::address_towards(&config.server));
        let mut facts =
            NodeFacts { name: node_name.clone(), machine: Machine::read(), ip, port: addr.port(), runtime: None };
        // the runtime's first answer, if it gives one at once, goes into the registration
        let health = match runtime_health::probe(&clients, &endpoint).await {
            Ok(info) => {
                facts.runtime = Some(info);
                RuntimeHealth::Up
            }
            Err(down) => RuntimeHealth::Down { message: down.to_string() },
        };
        node::register(&client, &facts, &health).await?;
        if facts.runtime.is_none() {
            facts.runtime = Some(runtime_health::wait_for_runtime(&client, &facts, &clients, &endpoint).await?);
            node::register(&client, &facts, &RuntimeHealth::Up).await?;
        }
        let runtime_name = facts.runtime.as_ref().map(|r| r.name.clone()).unwrap_or_default();
        let runtime = Runtime { clients: clients.clone(), node: node_name.clone(), name: runtime_name };

        let params = ListParams::default().fields(&format!("spec.nodeName={node_name}"));
        let informer = Informer::new(client.api::<Pod>(None), params);
        let (pods, events) = (informer.store(), informer.subscribe());
        // every namespace's Services, for the pods' Service environment variables
        let services = Informer::new(client.api::<Service>(None), ListParams::default());
        let discovery =
            discovery::Discovery { dns: config.dns.clone(), services: services.store(), node_ips: vec![ip] };
        let api = Arc::new(KubeletApi::new(runtime.clone(), pods.clone()));
        let mut tasks = Tasks::new();
        let shutdown = tasks.shutdown().clone();
        let timings = config.timings.clone();
        // the first relist fills the cache before any worker reads it: a restarted
        // kubelet's workers see what is running and adopt it
        let cache = Arc::new(RuntimeCache::default());
        let mut relister = Relister::new(runtime.clone(), cache.clone()).reporting_to(metrics.clone());
        if let Err(error) = relister.relist().await {
            tracing::warn!(%error, "the first relist failed; workers read their pods themselves until one succeeds");
        }
        let ctx = Arc::new(WorkerContext {
            runtime: runtime.clone(),
            client: client.clone(),
            events: EventRecorder::new(client.clone(), "kubelet", &node_name),
            cache,
            host_ip: ip.to_string(),
            discovery,
            timings: timings.clone(),
            metrics,
        });
        tasks.spawn_loop(informer.run(shutdown.clone().cancelled_owned()));
        tasks.spawn_loop(services.run(shutdown.clone().cancelled_owned()));
        tasks.spawn_loop(relist::run(relister, timings.relist, shutdown.clone()));
        tasks.spawn_loop(pods::dispatch(ctx, events, shutdown.clone()));
        tasks.spawn_loop(lease::keep_alive(
            client.clone(),
            node_name.clone(),
            timings.lease_renew,
            timings.lease_duration_seconds,
            shutdown.clone(),
        ));
        tasks.spawn_loop(node::heartbeat(client, facts, clients, endpoint, timings.node_status, shutdown.clone()));
        tasks.spawn_loop(gc::run(runtime, pods.clone(), timings.gc, shutdown.clone()));
        // the port failing stops the kubelet: a node whose kubelet cannot be
        // reached for logs, exec or usage must not go on looking healthy
        tasks.spawn(server::serve(listener, api.clone(), node_name.clone(), config.tls.clone(), registry, shutdown));
        tracing::info!(node = %node_name, %addr, "kubelet started");
        Ok(Kubelet { addr, pods, api, tasks })
    }

    /// Where the kubelet's service listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The kubelet's cache of the pods bound to its node.
    pub fn pods(&self) -> &Store<Pod> {
        &self.pods
    }

    /// The logs / exec / usage logic behind the service.
    pub fn api(&self) -> Arc<KubeletApi> {
        self.api.clone()
    }

    /// Completes when the kubelet is stopping because a task failed (its
    /// port died); [`Kubelet::stop`] then returns that error.
    pub async fn stopping(&self) {
        self.tasks.stopping().await
    }

    /// Stops every loop and waits for them; containers keep running (a restarted
    /// kubelet adopts them). The first task error, if any, is the result.
    pub async fn stop(self) -> Result<(), KubeletError> {
        self.tasks.stop().await
    }
}

/// The clients of the runtime `config` names (not yet naming this node): the
/// caller's own, an in-process in-memory runtime, or a unix socket connected on
/// first use, so a shim that is not serving yet is waited for rather than fatal.
async fn runtime_clients(config: &Config) -> Result<RuntimeClients, KubeletError> {
    let endpoint = &config.runtime_endpoint;
    let runtime_error = |source| KubeletError::Runtime { endpoint: endpoint.clone(), source };
    if let Some(clients) = &config.runtime {
        return Ok(clients.clone());
    }
    match capstan_cri::parse_endpoint(endpoint).map_err(runtime_error)? {
        RuntimeEndpoint::Unix(_) => capstan_cri::connect_lazy(endpoint).map_err(runtime_error),
        RuntimeEndpoint::Memory => in_memory_runtime(&config.node_name).await,
    }
}

/// The in-memory runtime, served in-process for `memory://`.
#[cfg(feature = "memory-runtime")]
async fn in_memory_runtime(node_name: &str) -> Result<RuntimeClients, KubeletError> {
    use capstan_memory_shim::{MemoryConfig, MemoryRuntime};
    let config = MemoryConfig { node_name: Some(node_name.to_string()), ..MemoryConfig::default() };
    let runtime = MemoryRuntime::new(config).map_err(|error| KubeletError::MemoryRuntime(error.to_string()))?;
    capstan_shim_common::connect_in_process(runtime)
        .await
        .map_err(|error| KubeletError::MemoryRuntime(error.to_string()))
}

#[cfg(not(feature = "memory-runtime"))]
async fn in_memory_runtime(_node_name: &str) -> Result<RuntimeClients, KubeletError> {
    Err(KubeletError::NoMemoryRuntime)
}

/// Runs a kubelet until `shutdown` completes or a task fails; the first error
/// is the result.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), KubeletError> {
    let kubelet = Kubelet::start(config).await?;
    let stopped = kubelet.tasks.run_until(shutdown).await;
    tracing::info!("kubelet stopped");
    stopped
}
