//! The `capstan-dns` binary's flags. A module of the binary, not of the
//! library, kept in its own file so that `services/capstan/tests/component_flags.rs`
//! can compile every component's flags side by side.

use std::net::SocketAddr;

use clap::Parser;

#[derive(Parser, Debug)]
#[command(name = "capstan-dns", about = "Capstan's cluster DNS server")]
pub struct Flags {
    /// The API server's URL (default: the kubeconfig's server, else
    /// http://127.0.0.1:6443); overrides the kubeconfig's address.
    #[arg(long, env = "CAPSTAN_DNS_SERVER")]
    pub server: Option<String>,
    /// A kubeconfig: the server, its CA and this component's credentials.
    #[arg(long, env = "CAPSTAN_DNS_KUBECONFIG", value_name = "FILE")]
    pub kubeconfig: Option<std::path::PathBuf>,
    /// Where DNS is served, UDP and TCP. Any address may be given: DNS is
    /// not an authenticated API, and pods reach it off loopback.
    #[arg(long, env = "CAPSTAN_DNS_LISTEN", default_value = "127.0.0.1:53")]
    pub listen: SocketAddr,
    /// The cluster's DNS zone.
    #[arg(long, env = "CAPSTAN_DNS_CLUSTER_DOMAIN", default_value = "cluster.local")]
    pub cluster_domain: String,
    /// A resolver other names are relayed to (IP:PORT; repeat for more, asked
    /// in order). Default: the nameservers of /etc/resolv.conf.
    #[arg(long, env = "CAPSTAN_DNS_UPSTREAM", value_delimiter = ',')]
    pub upstream: Vec<SocketAddr>,
    /// Port of grpc.health.v1, /readyz, /healthz and /metrics (loopback
    /// unless --health-address says otherwise).
    #[arg(long, env = "CAPSTAN_DNS_HEALTH_PORT", default_value_t = 8080)]
    pub health_port: u16,
    /// Address the health port listens on.
    #[arg(long, env = "CAPSTAN_DNS_HEALTH_ADDRESS", default_value = "127.0.0.1")]
    pub health_address: std::net::IpAddr,
}
