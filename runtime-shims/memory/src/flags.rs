//! The `capstan-memory-shim` binary's flags. A module of the binary, not of
//! the library, kept in its own file so that `services/capstan/tests/component_flags.rs`
//! can compile every component's flags side by side and check that no two
//! components read the same environment variable.

use clap::Parser;

#[derive(Parser, Debug)]
#[command(name = "capstan-memory-shim", about = "Capstan's in-memory container runtime (no processes)", version)]
pub struct Flags {
    /// Where to serve the runtime interface.
    #[arg(long, env = "CAPSTAN_MEMORY_SHIM_LISTEN", default_value = "unix:///run/capstan/memory-shim.sock")]
    pub listen: String,
    /// The only node this runtime serves; without it, whichever node each kubelet
    /// names (`memory-node` for callers that name none).
    #[arg(long, env = "CAPSTAN_MEMORY_SHIM_NODE_NAME")]
    pub node_name: Option<String>,
    /// IPv4 subnet pod IPs are allocated from.
    #[arg(long, env = "CAPSTAN_MEMORY_SHIM_POD_SUBNET", default_value = "10.88.0.0/16")]
    pub pod_subnet: String,
}
