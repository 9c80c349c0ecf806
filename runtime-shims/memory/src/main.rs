//! The `capstan-memory-shim` binary: flags in, [`capstan_memory_shim::run`] out.

use anyhow::Context;
use capstan_memory_shim::MemoryConfig;
use capstan_shim_common::{parse_endpoint, RuntimeEndpoint};
use clap::Parser;

#[derive(Parser, Debug)]
#[command(name = "capstan-memory-shim", about = "Capstan's in-memory container runtime (no processes)", version)]
struct Flags {
    /// Where to serve the runtime interface.
    #[arg(long, env = "CAPSTAN_LISTEN", default_value = "unix:///run/capstan/memory-shim.sock")]
    listen: String,
    /// The only node this runtime serves; without it, whichever node each kubelet
    /// names (`memory-node` for callers that name none).
    #[arg(long, env = "CAPSTAN_NODE_NAME")]
    node_name: Option<String>,
    /// IPv4 subnet pod IPs are allocated from.
    #[arg(long, env = "CAPSTAN_POD_SUBNET", default_value = "10.88.0.0/16")]
    pod_subnet: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let flags = Flags::parse();
    let _telemetry = capstan_telemetry::init("capstan-memory-shim")?;
    let RuntimeEndpoint::Unix(path) = parse_endpoint(&flags.listen)? else {
        anyhow::bail!("--listen must be a unix:// endpoint, not {}", flags.listen);
    };
    let config = MemoryConfig { node_name: flags.node_name, pod_subnet: flags.pod_subnet, ..MemoryConfig::default() };
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    capstan_memory_shim::run(config, &path, shutdown)
        .await
        .with_context(|| format!("serving on {}", path.display()))?;
    Ok(())
}
