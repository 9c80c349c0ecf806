//! The `capstan-containerd-shim` binary: flags in, [`capstan_containerd_shim::run`] out.

use anyhow::Context;
use capstan_containerd_shim::{ContainerdConfig, NetworkConfig, RegistryConfig};
use capstan_shim_common::{parse_endpoint, RuntimeEndpoint};
use clap::Parser;
use flags::Flags;

mod flags;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let flags = Flags::parse();
    let _telemetry = capstan_telemetry::init("capstan-containerd-shim")?;
    let RuntimeEndpoint::Unix(path) = parse_endpoint(&flags.listen)? else {
        anyhow::bail!("--listen must be a unix:// endpoint, not {}", flags.listen);
    };
    let config = ContainerdConfig {
        address: flags.containerd_address,
        namespace: flags.namespace,
        node_name: flags.node_name,
        snapshotter: flags.snapshotter,
        state_dir: flags.state_dir,
        network: NetworkConfig {
            cni_bin_dir: flags.cni_bin_dir,
            bridge: flags.bridge,
            pod_subnet: flags.pod_subnet,
            ..NetworkConfig::default()
        },
        registries: RegistryConfig { insecure: flags.insecure_registries, ca_files: flags.registry_ca },
        ..ContainerdConfig::default()
    };
    let shutdown = capstan_lifecycle::shutdown_signal();
    capstan_containerd_shim::run(config, &path, shutdown)
        .await
        .with_context(|| format!("serving on {}", path.display()))?;
    Ok(())
}
