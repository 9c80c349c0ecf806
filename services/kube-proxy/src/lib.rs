//! `capstan-proxy`: the node proxy. It watches Services and Endpoints and,
//! for each service port, listens on the node and forwards every TCP
//! connection or UDP flow to a ready backend.
//!
//! # Layout
//!
//! Start at [`run`]. The pure parts come first: [`balance`] chooses a backend
//! (round-robin, random, `ClientIP` affinity) and [`model`] turns Services and
//! Endpoints into a table of [`model::PortSpec`]s. The running parts:
//! `proxier` opens and closes listeners to match the table, `tcp` and `udp`
//! forward, `port` is one service port's shared state, [`traffic`] counts (in
//! a shared `capstan_metrics` registry), `changes` traces and times each
//! reprogramming as the next step of the writes it serves, and `admin` serves health and metrics
//! through `capstan_server`'s stack. [`Proxy`] owns every task (`capstan_lifecycle`):
//! the first to fail stops the rest and is the proxy's exit status.
//!
//! # How traffic reaches the proxy
//!
//! A NodePort or LoadBalancer Service is served on `nodePort` at every
//! `--nodeport-addresses` address (default: the unspecified address, i.e.
//! every local address). Every Service's `clusterIP:port` is served by a
//! listener bound to it: [`interface`] puts each cluster IP on a dummy
//! interface the proxy owns ([`Config::cluster_ip_interface`]), so it is a
//! local address of the node and a pod routing to it through the node (its
//! default gateway) is delivered to the listener. The proxy never programs
//! iptables. With no interface, a cluster IP is served only when it is
//! already an address of this node, and skipped otherwise.

pub mod balance;
pub mod interface;
pub mod model;
pub mod traffic;

mod admin;
mod admin_rpc;
mod changes;
mod error;
mod port;
mod proxier;
mod tcp;
mod udp;

pub use balance::Algorithm;
pub use error::ProxyError;

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use capstan_client::{Client, ListParams};
use capstan_lifecycle::Tasks;
use capstan_proto::core::v1::{Endpoints, Service};
use capstan_runtime::informer::{Informer, InformerEvent, Store};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::interface::ClusterIpInterface;
use crate::model::TableConfig;
use crate::proxier::Proxier;
use crate::traffic::TrafficMetrics;

/// Everything the proxy needs; [`Config::new`] gives the defaults.
#[derive(Debug, Clone)]
pub struct Config {
    pub server: String,
    /// Who the component is to the API server (from `--kubeconfig`): TLS
    /// material and token; empty for plain `http://` without credentials.
    pub credentials: capstan_client::Credentials,
    pub node_name: String,
    pub mode: Algorithm,
    pub nodeport_addresses: Vec<IpAddr>,
    /// `grpc.health.v1` (and later the admin RPC); `None` serves none.
    pub healthz_bind_address: Option<SocketAddr>,
    /// Prometheus text metrics; `None` serves none.
    pub metrics_bind_address: Option<SocketAddr>,
    pub udp_idle_timeout: Duration,
    /// The dummy interface holding the cluster IPs, created (or adopted) at
    /// start and deleted at stop; `None` leaves the node's addresses alone.
    /// Off in [`Config::new`]: two proxies in one network namespace must not
    /// share one (the binary turns it on, as [`interface::DEFAULT_INTERFACE`]).
    pub cluster_ip_interface: Option<String>,
}

impl Config {
    pub fn new(server: impl Into<String>, node_name: impl Into<String>) -> Self {
        Config {
            server: server.into(),
            credentials: capstan_client::Credentials::default(),
            node_name: node_name.into(),
            mode: Algorithm::RoundRobin,
            nodeport_addresses: vec![IpAddr::V4(Ipv4Addr::UNSPECIFIED)],
            // loopback: the admin RPC answers anyone, and nothing authenticates yet
            healthz_bind_address: Some(SocketAddr::from(([127, 0, 0, 1], 10256))),
            metrics_bind_address: Some(SocketAddr::from(([127, 0, 0, 1], 10249))),
            udp_idle_timeout: Duration::from_secs(30),
            cluster_ip_interface: None,
        }
    }
}

/// A running proxy: its informers, its listeners and its two admin ports,
/// stopped together by [`Proxy::stop`] (dropping it stops it too) or by the
/// first of them to fail.
#[derive(Debug)]
pub struct Proxy {
    tasks: Tasks<ProxyError>,
    pub healthz_address: Option<SocketAddr>,
    pub metrics_address: Option<SocketAddr>,
}

impl Proxy {
    /// Binds the admin ports and makes the cluster IP interface (so their
    /// errors surface here), then runs.
    pub async fn start(config: Config) -> Result<Proxy, ProxyError> {
        let healthz = bind(config.healthz_bind_address).await?;
        let metrics = bind(config.metrics_bind_address).await?;
        let healthz_address = healthz.as_ref().and_then(|l| l.local_addr().ok());
        let metrics_address = metrics.as_ref().and_then(|l| l.local_addr().ok());
        let interface = match &config.cluster_ip_interface {
            Some(name) => Some(ClusterIpInterface::open(name).await?),
            None => None,
        };
        let tasks = start_tasks(config, healthz, metrics, interface)?;
        Ok(Proxy { tasks, healthz_address, metrics_address })
    }

    /// Completes when the proxy is stopping because one of its tasks failed
    /// (an admin port died); [`Proxy::stop`] then returns that error.
    pub async fn stopping(&self) {
        self.tasks.stopping().await
    }

    /// Stops the proxy and waits for every listener and connection to end;
    /// the first task error, if any, is the result.
    pub async fn stop(mut self) -> Result<(), ProxyError> {
        std::mem::take(&mut self.tasks).stop().await
    }

    /// [`Proxy::stop`], under the name `capstan up` calls.
    pub async fn shutdown(self) -> Result<(), ProxyError> {
        self.stop().await
    }

    /// Runs until `shutdown` completes or a task fails, then stops.
    pub async fn run_until(mut self, shutdown: impl Future<Output = ()>) -> Result<(), ProxyError> {
        std::mem::take(&mut self.tasks).run_until(shutdown).await
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.tasks.shutdown().cancel();
    }
}

async fn bind(address: Option<SocketAddr>) -> Result<Option<TcpListener>, ProxyError> {
    match address {
        Some(addr) => TcpListener::bind(addr).await.map(Some).map_err(|source| ProxyError::Bind { addr, source }),
        None => Ok(None),
    }
}

/// Runs the proxy until `shutdown` completes or one of its tasks fails.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), ProxyError> {
    Proxy::start(config).await?.run_until(shutdown).await
}

/// The proxy's tasks: two informers, the loop that reconciles listeners (and
/// the cluster IP interface) with them, and the admin and metrics ports.
fn start_tasks(
    config: Config,
    healthz: Option<TcpListener>,
    metrics_listener: Option<TcpListener>,
    interface: Option<ClusterIpInterface>,
) -> Result<Tasks<ProxyError>, ProxyError> {
    let client = Client::connect_with(&config.server, &config.credentials)
        .map_err(|source| ProxyError::Client { url: config.server.clone(), source })?;
    let services = Informer::new(client.api::<Service>(None), ListParams::default());
    let endpoints = Informer::new(client.api::<Endpoints>(None), ListParams::default());
    let (service_store, endpoint_store) = (services.store(), endpoints.store());
    let (service_events, endpoint_events) = (services.subscribe(), endpoints.subscribe());
    let mut tasks = Tasks::new();
    let root = tasks.shutdown().clone();
    let registry = capstan_metrics::Registry::new();
    let metrics = TrafficMetrics::register(&registry)?;
    // both ports count their calls in the one registry the metrics port renders
    let request_metrics = capstan_server::RequestMetrics::register(&registry)?;
    let sync_metrics = changes::SyncMetrics::register(&registry)?;
    let stopped = root.clone();
    tasks.spawn(async move {
        services.run(stopped.cancelled_owned()).await;
        Ok(())
    });
    let stopped = root.clone();
    tasks.spawn(async move {
        endpoints.run(stopped.cancelled_owned()).await;
        Ok(())
    });
    if let Some(listener) = metrics_listener {
        let server = admin::metrics_server(registry.clone(), request_metrics.clone());
        tasks.spawn(admin::serve(server, listener, root.clone()));
    }
    tracing::info!(node = %config.node_name, mode = ?config.mode, "proxy started");
    let table_config = TableConfig { mode: config.mode, nodeport_addresses: config.nodeport_addresses.clone() };
    let proxier = Proxier::new(root.clone(), metrics.clone(), config.udp_idle_timeout);
    if let Some(listener) = healthz {
        let admin = admin_rpc::AdminService::new(proxier.view(), metrics);
        let server = admin::admin_server(admin, registry, request_metrics);
        tasks.spawn(admin::serve(server, listener, root.clone()));
    }
    let stores = (service_store, endpoint_store, table_config);
    let serving = (proxier, interface);
    tasks.spawn(reconcile(serving, service_events, endpoint_events, stores, sync_metrics, root));
    Ok(tasks)
}

/// Opens and closes listeners (adding cluster IPs before their listeners open,
/// removing them after) to match the informers' caches until `stop`, then
/// closes every listener and deletes the interface.
async fn reconcile(
    (mut proxier, mut interface): (Proxier, Option<ClusterIpInterface>),
    mut service_events: capstan_runtime::informer::Subscription<Service>,
    mut endpoint_events: capstan_runtime::informer::Subscription<Endpoints>,
    (service_store, endpoint_store, table_config): (Store<Service>, Store<Endpoints>, TableConfig),
    sync_metrics: changes::SyncMetrics,
    stop: CancellationToken,
) -> Result<(), ProxyError> {
    // Synced is tracked from the events themselves: the store's own flag may
    // turn true only after the Synced event has been delivered.
    let (mut services_synced, mut endpoints_synced) = (false, false);
    let mut changes = changes::Changes::default();
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            event = service_events.recv() => match event {
                Some(event) => {
                    services_synced |= matches!(event, InformerEvent::Synced);
                    changes.note(&event);
                }
                None => break,
            },
            event = endpoint_events.recv() => match event {
                Some(event) => {
                    endpoints_synced |= matches!(event, InformerEvent::Synced);
                    changes.note(&event);
                }
                None => break,
            },
        }
        // coalesce a burst of events into one reconciliation
        while let Some(event) = service_events.try_recv() {
            services_synced |= matches!(event, InformerEvent::Synced);
            changes.note(&event);
        }
        while let Some(event) = endpoint_events.try_recv() {
            endpoints_synced |= matches!(event, InformerEvent::Synced);
            changes.note(&event);
        }
        if services_synced && endpoints_synced {
            let served = std::mem::take(&mut changes);
            let span = served.span();
            let reprogram = async {
                let table = table(&service_store, &endpoint_store, &table_config);
                let cluster_ips = model::cluster_ips(&table);
                if let Some(interface) = &mut interface {
                    interface.add_missing(&cluster_ips).await;
                }
                proxier.apply(&table);
                if let Some(interface) = &mut interface {
                    interface.remove_unwanted(&cluster_ips).await;
                }
            };
            sync_metrics.time(reprogram.instrument(span)).await;
        }
    }
    stop.cancel();
    proxier.shutdown().await;
    match interface {
        Some(interface) => interface.delete().await,
        None => Ok(()),
    }
}

fn table(
    services: &Store<Service>,
    endpoints: &Store<Endpoints>,
    config: &TableConfig,
) -> std::collections::BTreeMap<model::PortKey, model::PortSpec> {
    model::table(&services.list(), &|namespace, name| endpoints.get(namespace, name), config)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The admin port's accept loop fails under a running proxy (its socket
    /// is shut down, as when the kernel takes it away): the proxy stops by
    /// itself and that failure is its result, the exit status of `capstan-proxy`.
    #[tokio::test]
    async fn a_proxy_whose_admin_port_fails_ends_with_that_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let same_socket = listener.try_clone().expect("dup");
        listener.set_nonblocking(true).expect("nonblocking");
        let healthz = TcpListener::from_std(listener).expect("tokio listener");
        // nothing listens on the API server's URL: the informers keep retrying
        let mut config = Config::new("http://127.0.0.1:1", "node-1");
        config.nodeport_addresses = vec![];
        let tasks = start_tasks(config, Some(healthz), None, None).expect("tasks start");
        let proxy = Proxy { tasks, healthz_address: None, metrics_address: None };

        socket2::SockRef::from(&same_socket).shutdown(std::net::Shutdown::Read).expect("shut the socket down");
        let outcome = proxy.run_until(std::future::pending()).await;
        assert!(matches!(outcome, Err(ProxyError::Server(_))), "{outcome:?}");
    }
}
