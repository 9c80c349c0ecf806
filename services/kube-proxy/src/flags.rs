//! The `capstan-proxy` binary's flags. A module of the binary, not of the
//! library, kept in its own file so that `services/capstan/tests/component_flags.rs`
//! can compile every component's flags side by side and check that no two
//! components read the same environment variable.

use std::net::{IpAddr, SocketAddr};

use capstan_kube_proxy::Algorithm;
use clap::Parser;

#[derive(Parser, Debug)]
#[command(name = "capstan-proxy", about = "Capstan's node proxy")]
pub struct Flags {
    /// The API server's URL (default: the kubeconfig's server, else
    /// http://127.0.0.1:6443); overrides the kubeconfig's address.
    #[arg(long, env = "CAPSTAN_PROXY_SERVER")]
    pub server: Option<String>,
    /// A kubeconfig: the server, its CA and this component's credentials.
    #[arg(long, env = "CAPSTAN_PROXY_KUBECONFIG", value_name = "FILE")]
    pub kubeconfig: Option<std::path::PathBuf>,
    /// this node's name
    #[arg(long, env = "CAPSTAN_PROXY_NODE_NAME", default_value = "")]
    pub node_name: String,
    /// how backends are chosen unless a Service's capstan.io/lb-algorithm says otherwise
    #[arg(long, env = "CAPSTAN_PROXY_MODE", default_value = "round-robin")]
    pub mode: Algorithm,
    /// where node ports listen (comma-separated; default every local address)
    #[arg(long, env = "CAPSTAN_PROXY_NODEPORT_ADDRESSES", value_delimiter = ',', default_value = "0.0.0.0")]
    pub nodeport_addresses: Vec<IpAddr>,
    /// gRPC admin and grpc.health.v1; loopback by default, since the admin RPC
    /// answers anyone and nothing authenticates yet
    #[arg(long, env = "CAPSTAN_PROXY_HEALTHZ_BIND_ADDRESS", default_value = "127.0.0.1:10256")]
    pub healthz_bind_address: SocketAddr,
    /// Prometheus text metrics
    #[arg(long, env = "CAPSTAN_PROXY_METRICS_BIND_ADDRESS", default_value = "127.0.0.1:10249")]
    pub metrics_bind_address: SocketAddr,
    /// seconds a UDP flow may stay idle before it is forgotten
    #[arg(long, env = "CAPSTAN_PROXY_UDP_IDLE_TIMEOUT_SECS", default_value_t = 30)]
    pub udp_idle_timeout_secs: u64,
    /// the dummy interface the proxy creates (or adopts), puts every Service's
    /// cluster IP on, and deletes when it stops; needs CAP_NET_ADMIN
    #[arg(long, env = "CAPSTAN_PROXY_CLUSTER_IP_INTERFACE", default_value = capstan_kube_proxy::interface::DEFAULT_INTERFACE)]
    pub cluster_ip_interface: String,
    /// serve no cluster IP that is not already an address of this node (no
    /// interface, no CAP_NET_ADMIN needed); node ports are served as ever
    #[arg(long, env = "CAPSTAN_PROXY_NO_CLUSTER_IP")]
    pub no_cluster_ip: bool,
}
