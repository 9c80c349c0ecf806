//! `capstan-dns`: the cluster's DNS server. It answers Kubernetes' names
//! (`<svc>.<ns>.svc.<zone>`, SRV for named ports, headless endpoints, PTR,
//! ExternalName as CNAME) from informers over Services and EndpointSlices,
//! after the Kubernetes DNS specification, and relays every other name to
//! the node's resolvers.
//!
//! # Layout
//!
//! Start at [`Dns::start`]. [`records`] is the pure part: Services and
//! EndpointSlices in, a table of records out, rebuilt whole on each burst of
//! changes and swapped in behind a lock so a query never sees half a change.
//! `handler` answers one request from the table (or upstream, through
//! [`forward`]) on `hickory-server`'s UDP and TCP listeners; `metrics` counts
//! under CoreDNS's names; `health` serves health, readiness and `/metrics`
//! through `capstan_server`'s stack. [`Dns`] owns every task
//! (`capstan_lifecycle`): the first to fail stops the rest.

pub mod forward;
pub mod records;

mod error;
mod handler;
mod health;
mod metrics;

pub use error::DnsError;
pub use health::COMPONENT;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use capstan_client::{Client, ListParams};
use capstan_lifecycle::Tasks;
use capstan_proto::core::v1::Service;
use capstan_proto::discovery::v1::EndpointSlice;
use capstan_runtime::informer::{Informer, InformerEvent, Store, Subscription};
use hickory_proto::rr::Name;
use tokio::net::{TcpListener, UdpSocket};
use tokio_util::sync::CancellationToken;

use crate::forward::Forwarder;
use crate::handler::{DnsHandler, SharedRecords};
use crate::records::Records;

/// How long a TCP client may stay silent before its connection is closed.
const TCP_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything the server needs; [`Config::new`] gives the defaults.
#[derive(Debug, Clone)]
pub struct Config {
    pub server: String,
    /// Who the server is to the API server (from `--kubeconfig`).
    pub credentials: capstan_client::Credentials,
    /// Where DNS is served, UDP and TCP on the same address.
    pub listen: SocketAddr,
    /// The cluster's zone (`cluster.local`).
    pub cluster_domain: String,
    /// The resolvers other names are relayed to, in order.
    pub upstreams: Vec<SocketAddr>,
    /// `grpc.health.v1`, `/readyz`, `/healthz` and `/metrics`; `None` serves none.
    pub health_address: Option<SocketAddr>,
}

impl Config {
    pub fn new(server: impl Into<String>) -> Self {
        Config {
            server: server.into(),
            credentials: capstan_client::Credentials::default(),
            listen: SocketAddr::from(([127, 0, 0, 1], 53)),
            cluster_domain: "cluster.local".to_owned(),
            upstreams: Vec::new(),
            health_address: Some(SocketAddr::from(([127, 0, 0, 1], 8080))),
        }
    }
}

/// `cluster.local` (or `cluster.local.`) as a fully qualified name.
pub fn zone(domain: &str) -> Result<Name, DnsError> {
    let invalid = |detail: String| DnsError::ClusterDomain { domain: domain.to_owned(), detail };
    let trimmed = domain.trim_end_matches('.');
    if trimmed.is_empty() {
        return Err(invalid("the cluster domain is empty".into()));
    }
    let mut name = Name::from_ascii(trimmed).map_err(|e| invalid(e.to_string()))?;
    name.set_fqdn(true);
    Ok(name.to_lowercase())
}

/// A running DNS server: its informers, its UDP and TCP listeners and its
/// health port, stopped together by [`Dns::stop`] (or dropping it).
#[derive(Debug)]
pub struct Dns {
    tasks: Tasks<DnsError>,
    /// Where DNS is served (the port the OS chose for port 0; UDP and TCP).
    pub dns_address: SocketAddr,
    pub health_address: Option<SocketAddr>,
}

impl Dns {
    /// Binds every listener (so their errors surface here), then runs.
    pub async fn start(config: Config) -> Result<Dns, DnsError> {
        let zone = zone(&config.cluster_domain)?;
        let bind_error = |addr, transport| move |source| DnsError::Bind { addr, transport, source };
        let (udp, tcp, dns_address) = bind_pair(config.listen).await?;
        let health = match config.health_address {
            Some(addr) => Some(TcpListener::bind(addr).await.map_err(bind_error(addr, "tcp"))?),
            None => None,
        };
        let health_address = health.as_ref().and_then(|l| l.local_addr().ok());
        let tasks = start_tasks(config, zone, udp, tcp, health).await?;
        Ok(Dns { tasks, dns_address, health_address })
    }

    /// Completes when a task has failed; [`Dns::stop`] then returns its error.
    pub async fn stopping(&self) {
        self.tasks.stopping().await
    }

    /// Stops the server and waits for every task; the first error, if any, is the result.
    pub async fn stop(mut self) -> Result<(), DnsError> {
        std::mem::take(&mut self.tasks).stop().await
    }

    /// Runs until `shutdown` completes or a task fails, then stops.
    pub async fn run_until(mut self, shutdown: impl Future<Output = ()>) -> Result<(), DnsError> {
        std::mem::take(&mut self.tasks).run_until(shutdown).await
    }
}

impl Drop for Dns {
    fn drop(&mut self) {
        self.tasks.shutdown().cancel();
    }
}

/// UDP and TCP on one address. For port 0, TCP takes the port the OS gave
/// UDP; that number can be in use for TCP (another listener, or any
/// connection's local port), so a clash is retried with a fresh port rather
/// than failing the start.
async fn bind_pair(listen: SocketAddr) -> Result<(UdpSocket, TcpListener, SocketAddr), DnsError> {
    let bind_error = |addr, transport| move |source| DnsError::Bind { addr, transport, source };
    let mut attempts = 0;
    loop {
        let udp = UdpSocket::bind(listen).await.map_err(bind_error(listen, "udp"))?;
        let address = udp.local_addr().map_err(bind_error(listen, "udp"))?;
        match TcpListener::bind(address).await {
            Ok(tcp) => return Ok((udp, tcp, address)),
            Err(error) if listen.port() == 0 && error.kind() == std::io::ErrorKind::AddrInUse && attempts < 16 => {
                attempts += 1;
            }
            Err(error) => return Err(bind_error(address, "tcp")(error)),
        }
    }
}

/// Runs the server until `shutdown` completes or one of its tasks fails.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), DnsError> {
    Dns::start(config).await?.run_until(shutdown).await
}

async fn start_tasks(
    config: Config,
    zone: Name,
    udp: UdpSocket,
    tcp: TcpListener,
    health: Option<TcpListener>,
) -> Result<Tasks<DnsError>, DnsError> {
    let client = Client::connect_with(&config.server, &config.credentials)
        .map_err(|source| DnsError::Client { url: config.server.clone(), source })?;
    let services = Informer::new(client.api::<Service>(None), ListParams::default());
    let slices = Informer::new(client.api::<EndpointSlice>(None), ListParams::default());
    let stores = (services.store(), slices.store());
    let events = (services.subscribe(), slices.subscribe());
    let mut tasks = Tasks::new();
    let root = tasks.shutdown().clone();
    let registry = capstan_metrics::Registry::new();
    let metrics = metrics::DnsMetrics::register(&registry)?;
    let ready = Arc::new(AtomicBool::new(false));
    let records: SharedRecords = Arc::new(RwLock::new(None));

    let stopped = root.clone();
    tasks.spawn(async move {
        services.run(stopped.cancelled_owned()).await;
        Ok(())
    });
    let stopped = root.clone();
    tasks.spawn(async move {
        slices.run(stopped.cancelled_owned()).await;
        Ok(())
    });
    let mut readiness = None;
    if let Some(listener) = health {
        let server = health::server(registry, ready.clone())?;
        // not serving until the caches have synced, before the port answers anyone
        server.health().set_service_status("", tonic_health::ServingStatus::NotServing).await;
        readiness = Some(server.health());
        let stopped = root.clone();
        tasks.spawn(async move { Ok(server.serve(listener, stopped.cancelled_owned()).await?) });
    }

    let forwarder = Forwarder::new(config.upstreams.clone(), forward::UPSTREAM_TIMEOUT);
    let mut dns = hickory_server::Server::new(DnsHandler::new(records.clone(), &zone, forwarder, metrics));
    dns.register_socket(udp);
    dns.register_listener(tcp, TCP_IDLE_TIMEOUT, 64);
    let stopped = root.clone();
    tasks.spawn(async move {
        let served = tokio::select! {
            _ = stopped.cancelled() => dns.shutdown_gracefully().await,
            served = dns.block_until_done() => served,
        };
        served.map_err(|e| DnsError::Serve(e.to_string()))
    });
    tracing::info!(zone = %zone, upstreams = ?config.upstreams, "cluster DNS started");
    let flags = Readiness { ready, reporter: readiness };
    tasks.spawn(keep_current(zone, records, stores, events, flags, root));
    Ok(tasks)
}

/// What turns ready once the caches have synced.
struct Readiness {
    ready: Arc<AtomicBool>,
    reporter: Option<tonic_health::server::HealthReporter>,
}

/// Rebuilds the table on each burst of informer events, once both have
/// synced, and marks the server ready after the first table is in place.
async fn keep_current(
    zone: Name,
    records: SharedRecords,
    (service_store, slice_store): (Store<Service>, Store<EndpointSlice>),
    (mut service_events, mut slice_events): (Subscription<Service>, Subscription<EndpointSlice>),
    readiness: Readiness,
    stop: CancellationToken,
) -> Result<(), DnsError> {
    // synced is read from the events: the store's own flag may turn true
    // only after the Synced event has been delivered
    let (mut services_synced, mut slices_synced) = (false, false);
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            event = service_events.recv() => match event {
                Some(event) => services_synced |= matches!(event, InformerEvent::Synced),
                None => break,
            },
            event = slice_events.recv() => match event {
                Some(event) => slices_synced |= matches!(event, InformerEvent::Synced),
                None => break,
            },
        }
        // coalesce a burst of events into one rebuild
        while let Some(event) = service_events.try_recv() {
            services_synced |= matches!(event, InformerEvent::Synced);
        }
        while let Some(event) = slice_events.try_recv() {
            slices_synced |= matches!(event, InformerEvent::Synced);
        }
        if !(services_synced && slices_synced) {
            continue;
        }
        let services = service_store.list();
        let slices = slice_store.list();
        let services: Vec<&Service> = services.iter().map(AsRef::as_ref).collect();
        let slices: Vec<&EndpointSlice> = slices.iter().map(AsRef::as_ref).collect();
        let table = Arc::new(Records::build(&zone, &services, &slices));
        tracing::debug!(names = table.len(), "cluster DNS table rebuilt");
        *records.write().unwrap_or_else(|p| p.into_inner()) = Some(table);
        if !readiness.ready.swap(true, Ordering::AcqRel) {
            tracing::info!("Service and EndpointSlice caches synced: ready");
            if let Some(reporter) = &readiness.reporter {
                reporter.set_service_status("", tonic_health::ServingStatus::Serving).await;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn port_zero_gives_one_port_for_udp_and_tcp() {
        for _ in 0..50 {
            let (udp, tcp, address) = bind_pair("127.0.0.1:0".parse().expect("addr")).await.expect("a pair");
            assert_eq!(udp.local_addr().ok(), Some(address));
            assert_eq!(tcp.local_addr().ok(), Some(address));
        }
    }

    #[tokio::test]
    async fn a_fixed_port_taken_for_tcp_is_an_error_naming_tcp() {
        let taken = TcpListener::bind("127.0.0.1:0").await.expect("a listener");
        let address = taken.local_addr().expect("its address");
        // UDP on the same number is free, TCP is not: a fixed address is never moved
        let Err(error) = bind_pair(address).await else { panic!("bound a taken TCP port") };
        let text = error.to_string();
        assert!(text.contains("tcp") && text.contains(&address.to_string()), "{text}");
    }
}
