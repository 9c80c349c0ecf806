//! capstan-proxy under load: an in-process API server holds two NodePort
//! Services over the same backends (`capstan.io/lb-algorithm` round-robin and
//! random); the proxy itself runs as a child process (this binary's `serve-proxy`),
//! so that it has its own runtime as haproxy has its own process.

use std::net::SocketAddr;

use capstan_apiserver::{ApiServer, Config as ApiConfig};
use capstan_client::Client;
use capstan_kube_proxy::model::LB_ANNOTATION;
use capstan_proto::core::v1::{
    EndpointAddress, EndpointPort, EndpointSubset, Endpoints, Service, ServicePort, ServiceSpec,
};
use capstan_proto::meta::v1::ObjectMeta;
use capstan_store::StoreConfig;
use tokio::process::{Child, Command};

use crate::error::BenchError;

/// The API server, the proxy process, the two node port addresses and the
/// round-robin Service's `clusterIP:port`.
pub struct CapstanProxy {
    pub round_robin: SocketAddr,
    pub round_robin_cluster_ip: SocketAddr,
    pub random: SocketAddr,
    _child: Child,
    _server: ApiServer,
    _dir: tempfile::TempDir,
}

impl CapstanProxy {
    pub async fn start(
        backends: &[SocketAddr],
        cluster_ip_interface: Option<&str>,
    ) -> Result<CapstanProxy, BenchError> {
        let dir = tempfile::tempdir().map_err(BenchError::io("store temp dir"))?;
        let config = ApiConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            storage: StoreConfig::embedded(dir.path().join("store")),
            ..Default::default()
        };
        let server = ApiServer::start(config).await.map_err(|e| BenchError::Api(e.to_string()))?;
        let client = Client::connect(&server.url()).map_err(|e| BenchError::Api(e.to_string()))?;
        let (round_robin, round_robin_cluster_ip) = service(&client, "web-rr", "round-robin", backends).await?;
        let (random, _) = service(&client, "web-random", "random", backends).await?;
        let exe = std::env::current_exe().map_err(BenchError::io("this binary's path"))?;
        let mut command = Command::new(exe);
        command.arg("serve-proxy").arg(server.url());
        if let Some(name) = cluster_ip_interface {
            command.arg("--cluster-ip-interface").arg(name);
        }
        let child =
            command.kill_on_drop(true).spawn().map_err(|source| BenchError::Spawn { tool: "capstan-proxy", source })?;
        Ok(CapstanProxy { round_robin, round_robin_cluster_ip, random, _child: child, _server: server, _dir: dir })
    }
}

/// The child process: the proxy on 127.0.0.1 until killed (killed, it leaves
/// its interface behind: the next run adopts it).
pub async fn serve(server: String, cluster_ip_interface: Option<String>) -> Result<(), capstan_kube_proxy::ProxyError> {
    let mut config = capstan_kube_proxy::Config::new(server, "bench");
    config.nodeport_addresses = vec![std::net::IpAddr::from([127, 0, 0, 1])];
    config.healthz_bind_address = None;
    config.metrics_bind_address = None;
    config.cluster_ip_interface = cluster_ip_interface;
    capstan_kube_proxy::run(config, std::future::pending()).await
}

async fn service(
    client: &Client,
    name: &str,
    algorithm: &str,
    backends: &[SocketAddr],
) -> Result<(SocketAddr, SocketAddr), BenchError> {
    let meta = ObjectMeta {
        name: name.into(),
        namespace: "default".into(),
        annotations: [(LB_ANNOTATION.to_string(), algorithm.to_string())].into(),
        ..Default::default()
    };
    let spec = ServiceSpec {
        r#type: "NodePort".into(),
        ports: vec![ServicePort { name: "http".into(), protocol: "TCP".into(), port: 80, ..Default::default() }],
        ..Default::default()
    };
    let service = Service { metadata: Some(meta.clone()), spec: Some(spec), ..Default::default() };
    let created =
        client.api::<Service>(Some("default")).create(&service).await.map_err(|e| BenchError::Api(e.to_string()))?;
    let spec = created.spec.unwrap_or_default();
    let node_port = spec.ports.first().map(|p| p.node_port).unwrap_or_default();
    let cluster_ip = spec.cluster_ip.parse().map_err(|_| BenchError::Api(format!("no cluster IP on {name}")))?;
    let subsets = backends
        .iter()
        .map(|b| EndpointSubset {
            addresses: vec![EndpointAddress { ip: b.ip().to_string(), ..Default::default() }],
            ports: vec![EndpointPort {
                name: "http".into(),
                port: i32::from(b.port()),
                protocol: "TCP".into(),
                ..Default::default()
            }],
            ..Default::default()
        })
        .collect();
    let endpoints = Endpoints { metadata: Some(meta), subsets, ..Default::default() };
    client.api::<Endpoints>(Some("default")).create(&endpoints).await.map_err(|e| BenchError::Api(e.to_string()))?;
    let port = u16::try_from(node_port).map_err(|_| BenchError::Api(format!("no node port on {name}")))?;
    Ok((SocketAddr::from(([127, 0, 0, 1], port)), SocketAddr::new(cluster_ip, 80)))
}
