//! The capstan side: an in-process API server on an embedded store holding
//! the Services, and capstan-dns as a child process (this binary's
//! `serve-dns`), so that it has a runtime of its own as unbound has its own
//! process.

use std::net::{IpAddr, SocketAddr};

use capstan_apiserver::{ApiServer, Config as ApiConfig};
use capstan_client::Client;
use capstan_proto::core::v1::{Service, ServicePort, ServiceSpec};
use capstan_proto::meta::v1::ObjectMeta;
use capstan_store::StoreConfig;
use tokio::process::{Child, Command};

use crate::error::BenchError;

pub struct Cluster {
    pub client: Client,
    _server: ApiServer,
    _dir: tempfile::TempDir,
}

impl Cluster {
    pub async fn start() -> Result<Cluster, BenchError> {
        let dir = tempfile::tempdir().map_err(BenchError::io("store temp dir"))?;
        let config = ApiConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            storage: StoreConfig::embedded(dir.path().join("store")),
            ..Default::default()
        };
        let server = ApiServer::start(config).await.map_err(|e| BenchError::Api(e.to_string()))?;
        let client = Client::connect(&server.url()).map_err(|e| BenchError::Api(e.to_string()))?;
        Ok(Cluster { client, _server: server, _dir: dir })
    }

    pub fn url(&self) -> String {
        self._server.url()
    }

    /// Creates ClusterIP Service `name` in `default`; its cluster IP.
    pub async fn service(&self, name: &str) -> Result<IpAddr, BenchError> {
        let service = Service {
            metadata: Some(ObjectMeta { name: name.into(), namespace: "default".into(), ..Default::default() }),
            spec: Some(ServiceSpec {
                ports: vec![ServicePort {
                    name: "http".into(),
                    protocol: "TCP".into(),
                    port: 80,
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        };
        let created = self
            .client
            .api::<Service>(Some("default"))
            .create(&service)
            .await
            .map_err(|e| BenchError::Api(e.to_string()))?;
        let ip = created.spec.map(|s| s.cluster_ip).unwrap_or_default();
        ip.parse().map_err(|_| BenchError::Api(format!("{name} got no cluster IP ({ip:?})")))
    }
}

/// capstan-dns as a child process on `port`: `bench_binary serve-dns`.
pub fn spawn_dns(bench_binary: &std::path::Path, server: &str, port: u16) -> Result<Child, BenchError> {
    Command::new(bench_binary)
        .arg("serve-dns")
        .arg(server)
        .arg(port.to_string())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| BenchError::Spawn { tool: "capstan-bench-dns serve-dns", package: "nothing", source })
}

/// The child process: capstan-dns on 127.0.0.1:`port` until killed; no
/// upstream (the bench asks only the cluster's names), no health port.
pub async fn serve(server: String, port: u16) -> Result<(), capstan_dns::DnsError> {
    let mut config = capstan_dns::Config::new(server);
    config.listen = SocketAddr::from(([127, 0, 0, 1], port));
    config.health_address = None;
    capstan_dns::run(config, std::future::pending()).await
}
