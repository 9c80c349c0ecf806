//! The cluster under the page: an in-process API server on an embedded
//! store, behind the door `capstan up` gives it (TLS from a fresh PKI, a
//! static token file, RBAC), holding the pods.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use capstan_apiserver::door::AuthorizationMode;
use capstan_apiserver::{ApiServer, Config};
use capstan_client::{Client, Credentials, ListParams};
use capstan_dashboard::Dashboard;
use capstan_proto::core::v1::{Container, Namespace, Pod, PodSpec};
use capstan_proto::meta::v1::ObjectMeta;
use capstan_store::StoreConfig;
use futures::StreamExt;

pub const NAMESPACE: &str = "bench";
/// The one token the API server knows: a member of `system:masters`.
pub const TOKEN: &str = "bench-dashboard-token";

pub struct Cluster {
    server: ApiServer,
    client: Client,
    ca: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Cluster {
    pub async fn start() -> anyhow::Result<Cluster> {
        let dir = tempfile::tempdir()?;
        let pki = dir.path().join("pki");
        capstan_pki::init(&capstan_pki::InitOptions::new(&pki))?;
        let layout = capstan_pki::Layout::new(&pki);
        let tokens = dir.path().join("tokens.csv");
        std::fs::write(&tokens, format!("{TOKEN},bench,1,\"system:masters\"\n"))?;
        let mut config = Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            storage: StoreConfig::embedded(dir.path().join("store")),
            ..Default::default()
        };
        config.security.tls = Some(capstan_server::TlsFiles {
            cert: layout.cert("apiserver"),
            key: layout.key("apiserver"),
            client_ca: Some(layout.ca_cert()),
        });
        config.security.token_file = Some(tokens);
        config.security.authorization_modes = vec![AuthorizationMode::Rbac];
        let server = ApiServer::start(config).await?;
        let credentials = Credentials {
            ca_pem: Some(std::fs::read(layout.ca_cert())?),
            token: Some(TOKEN.into()),
            ..Default::default()
        };
        let client = Client::connect_with(&server.url(), &credentials)?;
        Ok(Cluster { server, client, ca: layout.ca_cert(), _dir: dir })
    }

    /// The namespace and `count` pods in it, created 32 at a time.
    pub async fn create_pods(&self, count: usize) -> anyhow::Result<()> {
        let started = Instant::now();
        let namespace = Namespace {
            metadata: Some(ObjectMeta { name: NAMESPACE.into(), ..Default::default() }),
            ..Default::default()
        };
        self.client.api::<Namespace>(None).create(&namespace).await?;
        let pods = self.client.api::<Pod>(Some(NAMESPACE));
        let creates = futures::stream::iter(0..count)
            .map(|i| {
                let pods = pods.clone();
                async move { pods.create(&pod(i)).await }
            })
            .buffer_unordered(32)
            .collect::<Vec<_>>()
            .await;
        for created in creates {
            created?;
        }
        println!("created {count} pods in {:.1} s", started.elapsed().as_secs_f64());
        Ok(())
    }

    /// The baseline: one LIST of the namespace's pods, timed.
    pub async fn list(&self) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let (pods, _) = self.client.api::<Pod>(Some(NAMESPACE)).list(&ListParams::default()).await?;
        let took = started.elapsed();
        anyhow::ensure!(!pods.is_empty(), "the LIST found no pods");
        Ok(took)
    }

    /// The dashboard in front of the API server, trusting its CA.
    pub async fn dashboard(&self) -> anyhow::Result<Dashboard> {
        let mut config = capstan_dashboard::Config::new(self.server.url()).with_ca_file(&self.ca)?;
        config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        Ok(Dashboard::start(config).await?)
    }
}

/// A pod as a small Deployment makes them: labels, one container with
/// requests, bound to no node (the page shows it Pending).
fn pod(i: usize) -> Pod {
    let mut requests = std::collections::BTreeMap::new();
    requests.insert("cpu".to_owned(), capstan_proto::meta::v1::Quantity::new("100m"));
    requests.insert("memory".to_owned(), capstan_proto::meta::v1::Quantity::new("32Mi"));
    Pod {
        metadata: Some(ObjectMeta {
            name: format!("web-{i:05}"),
            namespace: NAMESPACE.into(),
            labels: [("app".to_owned(), "web".to_owned())].into(),
            ..Default::default()
        }),
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "web".into(),
                image: "capstan/test:1".into(),
                resources: Some(capstan_proto::core::v1::ResourceRequirements { requests, ..Default::default() }),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    }
}
