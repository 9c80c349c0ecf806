//! The `capstan-docker-shim` binary: flags in, [`capstan_docker_shim::run`] out.

use anyhow::Context;
use capstan_docker_shim::DockerConfig;
use capstan_shim_common::{parse_endpoint, RuntimeEndpoint};
use clap::Parser;
use flags::Flags;

mod flags;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let flags = Flags::parse();
    let _telemetry = capstan_telemetry::init("capstan-docker-shim")?;
    let RuntimeEndpoint::Unix(path) = parse_endpoint(&flags.listen)? else {
        anyhow::bail!("--listen must be a unix:// endpoint, not {}", flags.listen);
    };
    let config = DockerConfig {
        docker_host: flags.docker_host,
        network: flags.network,
        node_name: flags.node_name,
        pause_image: flags.pause_image,
        busybox: flags.busybox,
    };
    let shutdown = capstan_lifecycle::shutdown_signal();
    capstan_docker_shim::run(config, &path, shutdown)
        .await
        .with_context(|| format!("serving on {}", path.display()))?;
    Ok(())
}
