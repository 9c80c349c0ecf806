//! The `capstan-containerd-shim` binary: flags in, [`capstan_containerd_shim::run`] out.

use std::path::PathBuf;

use anyhow::Context;
use capstan_containerd_shim::{ContainerdConfig, NetworkConfig, RegistryConfig};
use capstan_shim_common::{parse_endpoint, RuntimeEndpoint};
use clap::Parser;

#[derive(Parser, Debug)]
#[command(name = "capstan-containerd-shim", about = "Capstan's runtime shim for containerd", version)]
struct Flags {
    /// Where to serve the runtime interface.
    #[arg(long, env = "CAPSTAN_LISTEN", default_value = "unix:///run/capstan/containerd-shim.sock")]
    listen: String,
    /// containerd's socket.
    #[arg(long, env = "CAPSTAN_CONTAINERD_ADDRESS", default_value = "/run/containerd/containerd.sock")]
    containerd_address: String,
    /// The containerd namespace pods live in.
    #[arg(long, env = "CAPSTAN_CONTAINERD_NAMESPACE", default_value = "capstan")]
    namespace: String,
    /// The only node this shim serves (a kubelet of another node is refused).
    /// Without it, the shim serves whichever node each kubelet names, and this
    /// machine's hostname for callers that name none.
    #[arg(long, env = "CAPSTAN_NODE_NAME")]
    node_name: Option<String>,
    /// The snapshotter images are unpacked into.
    #[arg(long, env = "CAPSTAN_SNAPSHOTTER", default_value = "overlayfs")]
    snapshotter: String,
    /// IPv4 subnet pod IPs are allocated from (CNI host-local).
    #[arg(long, env = "CAPSTAN_POD_SUBNET", default_value = "10.88.0.0/16")]
    pod_subnet: String,
    /// The Linux bridge pods are attached to.
    #[arg(long, env = "CAPSTAN_CNI_BRIDGE", default_value = "capstan0")]
    bridge: String,
    /// Where the CNI plugins are (Debian's containernetworking-plugins).
    #[arg(long, env = "CAPSTAN_CNI_BIN_DIR", default_value = "/usr/lib/cni")]
    cni_bin_dir: PathBuf,
    /// Where the shim keeps per-pod files and FIFOs.
    #[arg(long, env = "CAPSTAN_STATE_DIR", default_value = "/run/capstan/containerd-shim")]
    state_dir: PathBuf,
    /// A registry (HOST or HOST:PORT) that may be pulled from over plain HTTP when it
    /// does not speak TLS, besides the loopback; repeatable.
    #[arg(
        long = "insecure-registry",
        env = "CAPSTAN_INSECURE_REGISTRIES",
        value_delimiter = ',',
        value_name = "HOST[:PORT]"
    )]
    insecure_registries: Vec<String>,
    /// A PEM file of CA certificates to trust for registries, besides the system's; repeatable.
    #[arg(long = "registry-ca", env = "CAPSTAN_REGISTRY_CA", value_delimiter = ',', value_name = "FILE")]
    registry_ca: Vec<PathBuf>,
}

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
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    capstan_containerd_shim::run(config, &path, shutdown)
        .await
        .with_context(|| format!("serving on {}", path.display()))?;
    Ok(())
}
