//! Start-up wiring: the health and metrics port, leader election, the shared caches and
//! the chosen controllers, all owned by one [`ControllerManager`] and
//! stopped together.

use crate::config::Config;
use crate::context::Context;
use crate::error::ControllerError;
use crate::{
    deployment, endpoints, endpointslice, garbagecollector, namespace, nodelifecycle, podautoscaler, replicaset,
};
use capstan_client::Client;
use capstan_lifecycle::Tasks;
use capstan_runtime::QueueMetrics;
use capstan_runtime::{LeaderElector, LeaseConfig};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// The Lease (in `kube-system`) that controller-managers campaign for.
pub const LEASE_NAME: &str = "capstan-controller-manager";

/// A running controller-manager.
pub struct ControllerManager {
    addr: Option<SocketAddr>,
    leading: Arc<AtomicBool>,
    tasks: Tasks<ControllerError>,
}

impl ControllerManager {
    /// Connect, bind the health port and start the controllers (or campaign
    /// for the lease first).
    pub async fn start(config: Config) -> Result<ControllerManager, ControllerError> {
        let client = Client::connect_with(&config.server, &config.credentials)
            .map_err(ControllerError::api(format!("connect to {}", config.server)))?;
        let mut tasks = Tasks::new();
        let registry = capstan_metrics::Registry::new();
        let queue_metrics = QueueMetrics::register(&registry)?;
        let mut addr = None;
        if let Some(listen) = config.listen {
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .map_err(|source| ControllerError::Serve { addr: listen.to_string(), source })?;
            addr = listener.local_addr().ok();
            tasks.spawn(crate::server::serve(listener, registry.clone(), tasks.shutdown().clone().cancelled_owned()));
        }
        let elector = config.leader_elect.then(|| LeaderElector::new(&client, LeaseConfig::new(LEASE_NAME)));
        let work = {
            let metrics = (registry, queue_metrics);
            move |term| run_term(client.clone(), config.clone(), metrics.clone(), term)
        };
        let leading = tasks.spawn_work(elector, work);
        Ok(ControllerManager { addr, leading, tasks })
    }

    /// The health port's address, when serving one.
    pub fn addr(&self) -> Option<SocketAddr> {
        self.addr
    }

    /// Whether this instance's controllers run now.
    pub fn is_leader(&self) -> bool {
        self.leading.load(Ordering::SeqCst)
    }

    /// Completes when the controller-manager is stopping because a task
    /// failed (its port died); [`ControllerManager::stop`] then returns that error.
    pub async fn stopping(&self) {
        self.tasks.stopping().await
    }

    /// Stop everything and wait for it; the first error wins.
    pub async fn stop(self) -> Result<(), ControllerError> {
        self.tasks.stop().await
    }
}

/// Run until `shutdown` completes or a task fails (the binary's entry
/// point); the first error is the result.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), ControllerError> {
    ControllerManager::start(config).await?.tasks.run_until(shutdown).await
}

/// One leadership term: fill the caches, then run every chosen controller
/// until `stop` (which the term's end cancels, see [`Tasks::spawn_work`]).
async fn run_term(
    client: Client,
    config: Config,
    metrics: (capstan_metrics::Registry, QueueMetrics),
    stop: CancellationToken,
) {
    let mut tasks = JoinSet::new();
    let context = Context::start(client, config, metrics, &mut tasks, &stop);
    if !context.wait_synced().await {
        return;
    }
    tracing::info!(controllers = ?context.config.controllers, "caches synced, starting controllers");
    for name in context.config.controllers.clone() {
        let (ctx, stop) = (context.clone(), stop.clone());
        match name.as_str() {
            "replicaset" => tasks.spawn(replicaset::run(ctx, stop)),
            "deployment" => tasks.spawn(deployment::run(ctx, stop)),
            "nodelifecycle" => tasks.spawn(nodelifecycle::run(ctx, stop)),
            "endpoints" => tasks.spawn(endpoints::run(ctx, stop)),
            "endpointslice" => tasks.spawn(endpointslice::run(ctx, stop)),
            "garbagecollector" => tasks.spawn(garbagecollector::run(ctx, stop)),
            "namespace" => tasks.spawn(namespace::run(ctx, stop)),
            "horizontalpodautoscaling" => tasks.spawn(podautoscaler::run(ctx, stop)),
            other => {
                tracing::error!(controller = other, "unknown controller");
                continue;
            }
        };
    }
    while tasks.join_next().await.is_some() {}
}
