//! The `capstan-apiserver` binary's flags. A module of the binary, not of
//! the library, kept in its own file so that `services/capstan/tests/component_flags.rs`
//! can compile every component's flags side by side and check that no two
//! components read the same environment variable.

use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(name = "capstan-apiserver", about = "Capstan's API server", version)]
pub struct Flags {
    /// Address to serve the gRPC API on. Loopback by default: nothing
    /// authenticates requests yet, so only this machine should reach it.
    #[arg(long, env = "CAPSTAN_APISERVER_LISTEN", default_value = "127.0.0.1:6443")]
    pub listen: SocketAddr,
    /// Directory of the embedded store (the default backend).
    #[arg(long, env = "CAPSTAN_APISERVER_DATA_DIR", default_value = "/var/lib/capstan/apiserver")]
    pub data_dir: PathBuf,
    /// Comma-separated etcd endpoints; when given, etcd is the store instead of the data directory.
    #[arg(long, env = "CAPSTAN_APISERVER_ETCD_SERVERS", value_delimiter = ',')]
    pub etcd_servers: Vec<String>,
    /// CIDR that Service cluster IPs are allocated from.
    #[arg(long, env = "CAPSTAN_APISERVER_SERVICE_CLUSTER_IP_RANGE", default_value = "10.96.0.0/12")]
    pub service_cluster_ip_range: String,
    /// Inclusive range node ports are allocated from, e.g. 30000-32767.
    #[arg(long, env = "CAPSTAN_APISERVER_SERVICE_NODE_PORT_RANGE", default_value = "30000-32767")]
    pub service_node_port_range: String,
    /// tolerationSeconds new pods get for the node.kubernetes.io/not-ready:NoExecute taint.
    #[arg(long, env = "CAPSTAN_APISERVER_DEFAULT_NOT_READY_TOLERATION_SECONDS", default_value_t = 300)]
    pub default_not_ready_toleration_seconds: i64,
    /// tolerationSeconds new pods get for the node.kubernetes.io/unreachable:NoExecute taint.
    #[arg(long, env = "CAPSTAN_APISERVER_DEFAULT_UNREACHABLE_TOLERATION_SECONDS", default_value_t = 300)]
    pub default_unreachable_toleration_seconds: i64,
}
