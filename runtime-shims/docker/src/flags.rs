//! The `capstan-docker-shim` binary's flags. A module of the binary, not of
//! the library, kept in its own file so that `services/capstan/tests/component_flags.rs`
//! can compile every component's flags side by side and check that no two
//! components read the same environment variable.

use std::path::PathBuf;

use clap::Parser;

#[derive(Parser, Debug)]
#[command(name = "capstan-docker-shim", about = "Capstan's runtime shim for Docker Engine", version)]
pub struct Flags {
    /// Where to serve the runtime interface.
    #[arg(long, env = "CAPSTAN_DOCKER_SHIM_LISTEN", default_value = "unix:///run/capstan/docker-shim.sock")]
    pub listen: String,
    /// The Docker Engine endpoint (Docker's own variable, as the docker CLI reads it).
    #[arg(long, env = "DOCKER_HOST", default_value = "unix:///var/run/docker.sock")]
    pub docker_host: String,
    /// The bridge network pod sandboxes join (created if missing); `bridge`,
    /// Docker's default network, starts pods faster (no embedded DNS).
    #[arg(long, env = "CAPSTAN_DOCKER_SHIM_NETWORK", default_value = "capstan")]
    pub network: String,
    /// The only node this shim serves (a kubelet of another node is refused).
    /// Without it, the shim serves whichever node each kubelet names, and this
    /// machine's hostname for callers that name none.
    #[arg(long, env = "CAPSTAN_DOCKER_SHIM_NODE_NAME")]
    pub node_name: Option<String>,
    /// The pause image of pod sandboxes (built from --busybox if missing).
    #[arg(long, env = "CAPSTAN_DOCKER_SHIM_PAUSE_IMAGE", default_value = "capstan/pause:1")]
    pub pause_image: String,
    /// A static busybox to build the pause image from.
    #[arg(long, env = "CAPSTAN_DOCKER_SHIM_BUSYBOX", default_value = "/bin/busybox")]
    pub busybox: PathBuf,
}
