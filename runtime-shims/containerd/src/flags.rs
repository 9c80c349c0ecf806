//! The `capstan-containerd-shim` binary's flags. A module of the binary, not
//! of the library, kept in its own file so that
//! `services/capstan/tests/component_flags.rs` can compile every component's flags
//! side by side and check that no two components read the same environment
//! variable.

use std::path::PathBuf;

use clap::Parser;

#[derive(Parser, Debug)]
#[command(name = "capstan-containerd-shim", about = "Capstan's runtime shim for containerd", version)]
pub struct Flags {
    /// Where to serve the runtime interface.
    #[arg(long, env = "CAPSTAN_CONTAINERD_SHIM_LISTEN", default_value = "unix:///run/capstan/containerd-shim.sock")]
    pub listen: String,
    /// containerd's socket.
    #[arg(long, env = "CAPSTAN_CONTAINERD_SHIM_CONTAINERD_ADDRESS", default_value = "/run/containerd/containerd.sock")]
    pub containerd_address: String,
    /// The containerd namespace pods live in.
    #[arg(long, env = "CAPSTAN_CONTAINERD_SHIM_NAMESPACE", default_value = "capstan")]
    pub namespace: String,
    /// The only node this shim serves (a kubelet of another node is refused).
    /// Without it, the shim serves whichever node each kubelet names, and this
    /// machine's hostname for callers that name none.
    #[arg(long, env = "CAPSTAN_CONTAINERD_SHIM_NODE_NAME")]
    pub node_name: Option<String>,
    /// The snapshotter images are unpacked into.
    #[arg(long, env = "CAPSTAN_CONTAINERD_SHIM_SNAPSHOTTER", default_value = "overlayfs")]
    pub snapshotter: String,
    /// IPv4 subnet pod IPs are allocated from (CNI host-local).
    #[arg(long, env = "CAPSTAN_CONTAINERD_SHIM_POD_SUBNET", default_value = "10.88.0.0/16")]
    pub pod_subnet: String,
    /// The Linux bridge pods are attached to.
    #[arg(long, env = "CAPSTAN_CONTAINERD_SHIM_CNI_BRIDGE", default_value = "capstan0")]
    pub bridge: String,
    /// Where the CNI plugins are (Debian's containernetworking-plugins).
    #[arg(long, env = "CAPSTAN_CONTAINERD_SHIM_CNI_BIN_DIR", default_value = "/usr/lib/cni")]
    pub cni_bin_dir: PathBuf,
    /// Where the shim keeps per-pod files and FIFOs.
    #[arg(long, env = "CAPSTAN_CONTAINERD_SHIM_STATE_DIR", default_value = "/run/capstan/containerd-shim")]
    pub state_dir: PathBuf,
    /// A registry (HOST or HOST:PORT) that may be pulled from over plain HTTP when it
    /// does not speak TLS, besides the loopback; repeatable.
    #[arg(
        long = "insecure-registry",
        env = "CAPSTAN_CONTAINERD_SHIM_INSECURE_REGISTRIES",
        value_delimiter = ',',
        value_name = "HOST[:PORT]"
    )]
    pub insecure_registries: Vec<String>,
    /// A PEM file of CA certificates to trust for registries, besides the system's; repeatable.
    #[arg(
        long = "registry-ca",
        env = "CAPSTAN_CONTAINERD_SHIM_REGISTRY_CA",
        value_delimiter = ',',
        value_name = "FILE"
    )]
    pub registry_ca: Vec<PathBuf>,
}
