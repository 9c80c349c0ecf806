//! What a kubelet is told at start: who it is, where the API server and its
//! runtime are, and the timings tests shrink (back-off, heartbeats, relist, resync).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use capstan_cri::RuntimeClients;

/// How a kubelet is set up; [`Config::new`] fills Kubernetes' defaults.
#[derive(Clone, Debug)]
pub struct Config {
    /// the API server, `http://host:port`
    pub server: String,
    /// Who the component is to the API server (from `--kubeconfig`): TLS
    /// material and token; empty for plain `http://` without credentials.
    pub credentials: capstan_client::Credentials,
    pub node_name: String,
    /// `unix:///run/capstan/docker-shim.sock`, or `memory://` (served in-process
    /// with the `memory-runtime` feature)
    pub runtime_endpoint: String,
    /// a runtime the caller already connected (tests sharing one in-memory runtime
    /// across kubelet restarts); wins over `runtime_endpoint`, which then only names
    /// it; the kubelet makes its calls name this node
    pub runtime: Option<RuntimeClients>,
    /// where the kubelet's own gRPC service listens (port 0 picks a free one);
    /// off loopback only when `tls` names a client CA
    pub listen: SocketAddr,
    /// `--tls-cert-file`, `--tls-private-key-file`, `--client-ca-file`: serve
    /// TLS with the kubelet's serving certificate and, with a client CA,
    /// answer only the callers [`crate::authz`] allows
    pub tls: Option<capstan_server::TlsFiles>,
    /// the node's InternalIP; found from the route to the API server when unset
    pub node_ip: Option<IpAddr>,
    /// `--cluster-dns`, `--cluster-domain`, `--resolv-conf`: how pods resolve names
    pub dns: crate::dns::DnsSettings,
    pub timings: Timings,
}

/// Every period and delay the kubelet uses.
#[derive(Clone, Debug)]
pub struct Timings {
    /// first crash-loop delay; doubles per restart
    pub backoff_base: Duration,
    /// the longest crash-loop delay
    pub backoff_max: Duration,
    /// a container that ran this long restarts without delay
    pub backoff_reset: Duration,
    /// how often the node's lease is renewed
    pub lease_renew: Duration,
    pub lease_duration_seconds: i32,
    /// how often the node's status (heartbeat) is written
    pub node_status: Duration,
    /// how often the node's runtime is relisted (one list of sandboxes and one of
    /// containers for the whole node); pod workers wake on what changed
    pub relist: Duration,
    /// how often each pod is synced when nothing else happens (from the relist's
    /// cache: no runtime calls); a failed sync is retried after `relist`
    pub pod_resync: Duration,
    /// how often orphaned sandboxes and containers are collected
    pub gc: Duration,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            backoff_base: Duration::from_secs(10),
            backoff_max: Duration::from_secs(300),
            backoff_reset: Duration::from_secs(600),
            lease_renew: Duration::from_secs(10),
            lease_duration_seconds: 40,
            node_status: Duration::from_secs(10),
            relist: Duration::from_secs(1),
            pod_resync: Duration::from_secs(10),
            gc: Duration::from_secs(60),
        }
    }
}

impl Config {
    /// A kubelet for `node_name` against `server` and `runtime_endpoint`, serving on
    /// 127.0.0.1:10250 in plaintext (loopback: nothing authenticates its callers).
    pub fn new(server: impl Into<String>, node_name: impl Into<String>, runtime_endpoint: impl Into<String>) -> Self {
        Config {
            server: server.into(),
            credentials: capstan_client::Credentials::default(),
            node_name: node_name.into(),
            runtime_endpoint: runtime_endpoint.into(),
            runtime: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 10250)),
            tls: None,
            node_ip: None,
            dns: crate::dns::DnsSettings {
                cluster_dns: Vec::new(),
                cluster_domain: crate::dns::DEFAULT_CLUSTER_DOMAIN.to_string(),
                resolv_conf: Some(crate::dns::node_resolv_conf()),
            },
            timings: Timings::default(),
        }
    }
}
