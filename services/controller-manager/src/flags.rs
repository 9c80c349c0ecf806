//! The `capstan-controller-manager` binary's flags. A module of the binary,
//! not of the library, kept in its own file so that
//! `services/capstan/tests/component_flags.rs` can compile every component's flags
//! side by side and check that no two components read the same environment
//! variable.

use clap::Parser;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "capstan-controller-manager",
    about = "Runs the controllers that keep the cluster in its desired state"
)]
pub struct Flags {
    /// The API server's URL (default: the kubeconfig's server, else
    /// http://127.0.0.1:6443); overrides the kubeconfig's address.
    #[arg(long, env = "CAPSTAN_CONTROLLER_MANAGER_SERVER")]
    pub server: Option<String>,
    /// A kubeconfig: the server, its CA and this component's credentials.
    #[arg(long, env = "CAPSTAN_CONTROLLER_MANAGER_KUBECONFIG", value_name = "FILE")]
    pub kubeconfig: Option<std::path::PathBuf>,
    /// Which controllers run: a comma-separated list; `*` is all, `-name` removes one.
    #[arg(long, env = "CAPSTAN_CONTROLLER_MANAGER_CONTROLLERS", default_value = "*")]
    pub controllers: String,
    /// The port of the controller-manager's own gRPC server (health, metrics).
    #[arg(long, env = "CAPSTAN_CONTROLLER_MANAGER_PORT", default_value_t = 10257)]
    pub port: u16,
    /// Run controllers only while holding the kube-system/capstan-controller-manager lease.
    #[arg(long, env = "CAPSTAN_CONTROLLER_MANAGER_LEADER_ELECT")]
    pub leader_elect: bool,
    /// Workers per controller.
    #[arg(long, env = "CAPSTAN_CONTROLLER_MANAGER_CONCURRENT_SYNCS", default_value_t = 5)]
    pub concurrent_syncs: usize,
    /// How long a node's lease may go unrenewed before the node is marked Unknown (e.g. 40s).
    #[arg(
        long,
        env = "CAPSTAN_CONTROLLER_MANAGER_NODE_MONITOR_GRACE_PERIOD",
        default_value = "40s",
        value_parser = humantime::parse_duration
    )]
    pub node_monitor_grace_period: Duration,
    /// How often node health is checked.
    #[arg(
        long,
        env = "CAPSTAN_CONTROLLER_MANAGER_NODE_MONITOR_PERIOD",
        default_value = "5s",
        value_parser = humantime::parse_duration
    )]
    pub node_monitor_period: Duration,
    /// How often each HorizontalPodAutoscaler is evaluated.
    #[arg(
        long,
        env = "CAPSTAN_CONTROLLER_MANAGER_HPA_SYNC_PERIOD",
        default_value = "15s",
        value_parser = humantime::parse_duration
    )]
    pub horizontal_pod_autoscaler_sync_period: Duration,
    /// How far back the autoscaler looks before scaling down.
    #[arg(
        long,
        env = "CAPSTAN_CONTROLLER_MANAGER_HPA_DOWNSCALE_STABILIZATION",
        default_value = "5m",
        value_parser = humantime::parse_duration
    )]
    pub horizontal_pod_autoscaler_downscale_stabilization: Duration,
    /// The kubelets' gRPC port (pod CPU usage for autoscaling).
    #[arg(long, env = "CAPSTAN_CONTROLLER_MANAGER_KUBELET_PORT", default_value_t = 10250)]
    pub kubelet_port: u16,
}
