//! The `capstan-docker-shim` binary: flags in, [`capstan_docker_shim::run`] out.

use std::path::PathBuf;

use anyhow::Context;
use capstan_docker_shim::DockerConfig;
use capstan_shim_common::{parse_endpoint, RuntimeEndpoint};
use clap::Parser;

#[derive(Parser, Debug)]
#[command(name = "capstan-docker-shim", about = "Capstan's runtime shim for Docker Engine", version)]
struct Flags {
    /// Where to serve the runtime interface.
    #[arg(long, env = "CAPSTAN_LISTEN", default_value = "unix:///run/capstan/docker-shim.sock")]
    listen: String,
    /// The Docker Engine endpoint.
    #[arg(long, env = "DOCKER_HOST", default_value = "unix:///var/run/docker.sock")]
    docker_host: String,
    /// The bridge network pod sandboxes join (created if missing); `bridge`,
    /// Docker's default network, starts pods faster (no embedded DNS).
    #[arg(long, env = "CAPSTAN_NETWORK", default_value = "capstan")]
    network: String,
    /// The only node this shim serves (a kubelet of another node is refused).
    /// Without it, the shim serves whichever node each kubelet names, and this
    /// machine's hostname for callers that name none.
    #[arg(long, env = "CAPSTAN_NODE_NAME")]
    node_name: Option<String>,
    /// The pause image of pod sandboxes (built from --busybox if missing).
    #[arg(long, env = "CAPSTAN_PAUSE_IMAGE", default_value = "capstan/pause:1")]
    pause_image: String,
    /// A static busybox to build the pause image from.
    #[arg(long, env = "CAPSTAN_BUSYBOX", default_value = "/bin/busybox")]
    busybox: PathBuf,
}

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
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    capstan_docker_shim::run(config, &path, shutdown)
        .await
        .with_context(|| format!("serving on {}", path.display()))?;
    Ok(())
}
