//! The `capstan-memory-shim` binary: flags in, [`capstan_memory_shim::run`] out.

use anyhow::Context;
use capstan_memory_shim::MemoryConfig;
use capstan_shim_common::{parse_endpoint, RuntimeEndpoint};
use clap::Parser;
use flags::Flags;

mod flags;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let flags = Flags::parse();
    let _telemetry = capstan_telemetry::init("capstan-memory-shim")?;
    let RuntimeEndpoint::Unix(path) = parse_endpoint(&flags.listen)? else {
        anyhow::bail!("--listen must be a unix:// endpoint, not {}", flags.listen);
    };
    let config = MemoryConfig { node_name: flags.node_name, pod_subnet: flags.pod_subnet, ..MemoryConfig::default() };
    let shutdown = capstan_lifecycle::shutdown_signal();
    capstan_memory_shim::run(config, &path, shutdown)
        .await
        .with_context(|| format!("serving on {}", path.display()))?;
    Ok(())
}
