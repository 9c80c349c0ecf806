//! The harness of the proxy's integration tests: a real API server on an
//! embedded store, the proxy in-process, tiny named backends on 127.0.0.1,
//! and Service/Endpoints writers (Services have no selector, so the
//! Endpoints the tests write are kept).

#![allow(dead_code)]

pub mod backends;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use capstan_kube_proxy::{Algorithm, Config, Proxy};
use capstan_proto::core::v1::{
    ClientIpConfig, EndpointAddress, EndpointPort, EndpointSubset, Endpoints, Service, ServicePort, ServiceSpec,
    SessionAffinityConfig,
};
use capstan_proto::meta::v1::ObjectMeta;
pub use capstan_testkit::TestCluster;

pub const TIMEOUT: Duration = Duration::from_secs(20);

/// An API server and, unless a test starts its own, a proxy on it.
pub struct Cluster {
    pub api: TestCluster,
    /// `None` when a test starts its proxy itself.
    pub proxy: Option<Proxy>,
}

/// An API server and a proxy in `mode` serving node ports on 127.0.0.1.
pub async fn cluster(mode: Algorithm) -> Cluster {
    let api = TestCluster::start().await;
    let proxy = start_proxy(&api, mode).await;
    Cluster { api, proxy: Some(proxy) }
}

/// The proxy in-process, node ports on 127.0.0.1, admin ports ephemeral.
pub async fn start_proxy(api: &TestCluster, mode: Algorithm) -> Proxy {
    let target = api.target("proxy");
    let mut config = Config::new(target.server, "node-1");
    config.credentials = target.credentials;
    config.mode = mode;
    config.nodeport_addresses = vec!["127.0.0.1".parse().expect("ip")];
    config.healthz_bind_address = Some("127.0.0.1:0".parse().expect("addr"));
    config.metrics_bind_address = Some("127.0.0.1:0".parse().expect("addr"));
    config.udp_idle_timeout = Duration::from_secs(5);
    Proxy::start(config).await.expect("proxy starts")
}

/// What a test Service looks like.
pub struct ServiceOptions {
    pub protocol: &'static str,
    pub annotations: BTreeMap<String, String>,
    pub affinity_seconds: Option<i32>,
}

impl Default for ServiceOptions {
    fn default() -> Self {
        ServiceOptions { protocol: "TCP", annotations: BTreeMap::new(), affinity_seconds: None }
    }
}

impl Cluster {
    /// Creates a NodePort Service `name` with one port "p"; returns its node port address.
    pub async fn service(&self, name: &str, options: ServiceOptions) -> SocketAddr {
        let service = Service {
            metadata: Some(ObjectMeta {
                name: name.into(),
                namespace: "default".into(),
                annotations: options.annotations,
                ..Default::default()
            }),
            spec: Some(ServiceSpec {
                r#type: "NodePort".into(),
                ports: vec![ServicePort {
                    name: "p".into(),
                    protocol: options.protocol.into(),
                    port: 80,
                    ..Default::default()
                }],
                session_affinity: if options.affinity_seconds.is_some() { "ClientIP".into() } else { String::new() },
                session_affinity_config: options
                    .affinity_seconds
                    .map(|t| SessionAffinityConfig { client_ip: Some(ClientIpConfig { timeout_seconds: Some(t) }) }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let created = self.api.client.api::<Service>(Some("default")).create(&service).await.expect("service created");
        let node_port = created.spec.as_ref().and_then(|s| s.ports.first()).map(|p| p.node_port).unwrap_or_default();
        assert!(node_port >= 30000, "a node port is allocated: {created:?}");
        SocketAddr::from(([127, 0, 0, 1], u16::try_from(node_port).expect("port")))
    }

    /// Writes the Endpoints of `name`: `ready` and `not_ready` backends at port "p".
    pub async fn endpoints(&self, name: &str, protocol: &str, ready: &[SocketAddr], not_ready: &[SocketAddr]) {
        let api = self.api.client.api::<Endpoints>(Some("default"));
        let address = |a: &SocketAddr| EndpointAddress { ip: a.ip().to_string(), ..Default::default() };
        // every backend of a test listens on its own port: one subset each
        let subset = |a: &SocketAddr, ready: bool| EndpointSubset {
            addresses: if ready { vec![address(a)] } else { vec![] },
            not_ready_addresses: if ready { vec![] } else { vec![address(a)] },
            ports: vec![EndpointPort {
                name: "p".into(),
                port: i32::from(a.port()),
                protocol: protocol.into(),
                ..Default::default()
            }],
        };
        let subsets = ready.iter().map(|a| subset(a, true)).chain(not_ready.iter().map(|a| subset(a, false))).collect();
        let mut endpoints = Endpoints {
            metadata: Some(ObjectMeta { name: name.into(), namespace: "default".into(), ..Default::default() }),
            subsets,
            ..Default::default()
        };
        match api.get(name).await {
            Ok(existing) => {
                endpoints.metadata = existing.metadata;
                api.update(&endpoints).await.expect("endpoints updated");
            }
            Err(_) => {
                api.create(&endpoints).await.expect("endpoints created");
            }
        }
    }
}

/// Polls `check` until it holds, for at most [`TIMEOUT`].
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    capstan_testkit::eventually(what, TIMEOUT, || {
        let holds = check();
        async move { holds.await.then_some(()) }
    })
    .await
}
