//! The `capstan-scheduler` binary's flags. A module of the binary, not of
//! the library, kept in its own file so that `services/capstan/tests/component_flags.rs`
//! can compile every component's flags side by side and check that no two
//! components read the same environment variable.

use clap::Parser;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "capstan-scheduler", about = "Binds pending pods to nodes")]
pub struct Flags {
    /// The API server's URL (default: the kubeconfig's server, else
    /// http://127.0.0.1:6443); overrides the kubeconfig's address.
    #[arg(long, env = "CAPSTAN_SCHEDULER_SERVER")]
    pub server: Option<String>,
    /// A kubeconfig: the server, its CA and this component's credentials.
    #[arg(long, env = "CAPSTAN_SCHEDULER_KUBECONFIG", value_name = "FILE")]
    pub kubeconfig: Option<std::path::PathBuf>,
    /// A YAML file of scheduling profiles (weights per schedulerName).
    #[arg(long, env = "CAPSTAN_SCHEDULER_CONFIG")]
    pub config: Option<PathBuf>,
    /// The port of the scheduler's own gRPC server (health).
    #[arg(long, env = "CAPSTAN_SCHEDULER_PORT", default_value_t = 10259)]
    pub port: u16,
    /// Schedule only while holding the kube-system/capstan-scheduler lease.
    #[arg(long, env = "CAPSTAN_SCHEDULER_LEADER_ELECT")]
    pub leader_elect: bool,
}
