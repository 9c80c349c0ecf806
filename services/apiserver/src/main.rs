//! The `capstan-apiserver` binary: flags in, [`capstan_apiserver::run`] out.

use anyhow::Context;
use capstan_apiserver::{Config, StoreConfig};
use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;

/// glibc's allocator spends a large share of the API server's CPU under load
/// trimming and re-faulting pages (seen with perf in bench/apiserver).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(name = "capstan-apiserver", about = "Capstan's API server", version)]
struct Flags {
    /// Address to serve the gRPC API on.
    #[arg(long, env = "CAPSTAN_LISTEN", default_value = "0.0.0.0:6443")]
    listen: SocketAddr,
    /// Directory of the embedded store (the default backend).
    #[arg(long, env = "CAPSTAN_DATA_DIR", default_value = "/var/lib/capstan/apiserver")]
    data_dir: PathBuf,
    /// Comma-separated etcd endpoints; when given, etcd is the store instead of the data directory.
    #[arg(long, env = "CAPSTAN_ETCD_SERVERS", value_delimiter = ',')]
    etcd_servers: Vec<String>,
    /// CIDR that Service cluster IPs are allocated from.
    #[arg(long, env = "CAPSTAN_SERVICE_CLUSTER_IP_RANGE", default_value = "10.96.0.0/12")]
    service_cluster_ip_range: String,
    /// Inclusive range node ports are allocated from, e.g. 30000-32767.
    #[arg(long, env = "CAPSTAN_SERVICE_NODE_PORT_RANGE", default_value = "30000-32767")]
    service_node_port_range: String,
    /// tolerationSeconds new pods get for the node.kubernetes.io/not-ready:NoExecute taint.
    #[arg(long, env = "CAPSTAN_DEFAULT_NOT_READY_TOLERATION_SECONDS", default_value_t = 300)]
    default_not_ready_toleration_seconds: i64,
    /// tolerationSeconds new pods get for the node.kubernetes.io/unreachable:NoExecute taint.
    #[arg(long, env = "CAPSTAN_DEFAULT_UNREACHABLE_TOLERATION_SECONDS", default_value_t = 300)]
    default_unreachable_toleration_seconds: i64,
}

fn port_range(text: &str) -> anyhow::Result<(u16, u16)> {
    let (low, high) = text.split_once('-').context("expected LOW-HIGH, e.g. 30000-32767")?;
    let (low, high): (u16, u16) = (low.trim().parse()?, high.trim().parse()?);
    anyhow::ensure!(low <= high, "the range {text} is empty");
    Ok((low, high))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let flags = Flags::parse();
    let _telemetry = capstan_telemetry::init("capstan-apiserver")?;
    let storage = if flags.etcd_servers.is_empty() {
        StoreConfig::embedded(flags.data_dir)
    } else {
        StoreConfig::etcd(flags.etcd_servers)
    };
    let config = Config {
        listen: flags.listen,
        storage,
        service_cluster_ip_range: flags.service_cluster_ip_range,
        service_node_port_range: port_range(&flags.service_node_port_range).context("--service-node-port-range")?,
        default_not_ready_toleration_seconds: flags.default_not_ready_toleration_seconds,
        default_unreachable_toleration_seconds: flags.default_unreachable_toleration_seconds,
        ..Config::default()
    };
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    capstan_apiserver::run(config, shutdown).await?;
    Ok(())
}
