//! The `capstan-proxy` binary: flags (with `CAPSTAN_*` fallbacks), telemetry,
//! then [`capstan_kube_proxy::run`] until Ctrl-C.

use std::net::{IpAddr, SocketAddr};

use capstan_kube_proxy::{Algorithm, Config};
use clap::Parser;

#[derive(Parser, Debug)]
#[command(name = "capstan-proxy", about = "Capstan's node proxy")]
struct Flags {
    /// the API server
    #[arg(long, env = "CAPSTAN_SERVER", default_value = "http://127.0.0.1:6443")]
    server: String,
    /// this node's name
    #[arg(long, env = "CAPSTAN_NODE_NAME", default_value = "")]
    node_name: String,
    /// how backends are chosen unless a Service's capstan.io/lb-algorithm says otherwise
    #[arg(long, env = "CAPSTAN_PROXY_MODE", default_value = "round-robin")]
    mode: Algorithm,
    /// where node ports listen (comma-separated; default every local address)
    #[arg(long, env = "CAPSTAN_NODEPORT_ADDRESSES", value_delimiter = ',', default_value = "0.0.0.0")]
    nodeport_addresses: Vec<IpAddr>,
    /// gRPC admin and grpc.health.v1
    #[arg(long, env = "CAPSTAN_HEALTHZ_BIND_ADDRESS", default_value = "0.0.0.0:10256")]
    healthz_bind_address: SocketAddr,
    /// Prometheus text metrics
    #[arg(long, env = "CAPSTAN_METRICS_BIND_ADDRESS", default_value = "127.0.0.1:10249")]
    metrics_bind_address: SocketAddr,
    /// seconds a UDP flow may stay idle before it is forgotten
    #[arg(long, env = "CAPSTAN_UDP_IDLE_TIMEOUT_SECS", default_value_t = 30)]
    udp_idle_timeout_secs: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let flags = Flags::parse();
    let _telemetry = capstan_telemetry::init_or_reuse("capstan-proxy")?;
    let mut config = Config::new(flags.server, flags.node_name);
    config.mode = flags.mode;
    config.nodeport_addresses = flags.nodeport_addresses;
    config.healthz_bind_address = Some(flags.healthz_bind_address);
    config.metrics_bind_address = Some(flags.metrics_bind_address);
    config.udp_idle_timeout = std::time::Duration::from_secs(flags.udp_idle_timeout_secs);
    capstan_kube_proxy::run(config, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
