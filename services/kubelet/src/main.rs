//! The `capstan-kubelet` binary: flags (with `CAPSTAN_*` fallbacks), telemetry,
//! then [`capstan_kubelet::run`] until Ctrl-C.

use std::net::{IpAddr, SocketAddr};

use clap::Parser;

#[derive(Parser, Debug)]
#[command(name = "capstan-kubelet", about = "Capstan's node agent")]
struct Flags {
    /// the API server
    #[arg(long, env = "CAPSTAN_SERVER", default_value = "http://127.0.0.1:6443")]
    server: String,
    /// this node's name (default: the hostname)
    #[arg(long, env = "CAPSTAN_NODE_NAME")]
    node_name: Option<String>,
    /// the runtime: unix:///run/capstan/docker-shim.sock, or memory:// (only in a
    /// kubelet built with the memory-runtime feature); waited for if not serving yet
    #[arg(long, env = "CAPSTAN_RUNTIME_ENDPOINT", default_value = "unix:///run/capstan/docker-shim.sock")]
    runtime_endpoint: String,
    /// the port of the kubelet's own gRPC service
    #[arg(long, env = "CAPSTAN_PORT", default_value_t = 10250)]
    port: u16,
    /// the node's InternalIP (default: the address towards the API server)
    #[arg(long, env = "CAPSTAN_NODE_IP")]
    node_ip: Option<IpAddr>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let flags = Flags::parse();
    let _telemetry = capstan_telemetry::init("capstan-kubelet")?;
    let node_name = match flags.node_name {
        Some(name) => name,
        None => capstan_kubelet::machine::Machine::read().hostname,
    };
    anyhow::ensure!(!node_name.is_empty(), "no node name: pass --node-name or set CAPSTAN_NODE_NAME");
    let mut config = capstan_kubelet::Config::new(flags.server, node_name, flags.runtime_endpoint);
    config.listen = SocketAddr::from(([0, 0, 0, 0], flags.port));
    config.node_ip = flags.node_ip;
    capstan_kubelet::run(config, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
