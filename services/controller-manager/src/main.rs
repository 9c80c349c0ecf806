//! `capstan-controller-manager`: parses flags, sets up telemetry and runs
//! [`capstan_controller_manager::run`] until Ctrl-C.

use capstan_controller_manager::{parse_controllers, Config};
use clap::Parser;
use std::net::SocketAddr;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "capstan-controller-manager",
    about = "Runs the controllers that keep the cluster in its desired state"
)]
struct Flags {
    /// The API server's URL.
    #[arg(long, env = "CAPSTAN_SERVER", default_value = "http://127.0.0.1:6443")]
    server: String,
    /// Which controllers run: a comma-separated list; `*` is all, `-name` removes one.
    #[arg(long, env = "CAPSTAN_CONTROLLERS", default_value = "*")]
    controllers: String,
    /// The port of the controller-manager's own gRPC server (health, metrics).
    #[arg(long, env = "CAPSTAN_CONTROLLER_MANAGER_PORT", default_value_t = 10257)]
    port: u16,
    /// Run controllers only while holding the kube-system/capstan-controller-manager lease.
    #[arg(long, env = "CAPSTAN_LEADER_ELECT")]
    leader_elect: bool,
    /// Workers per controller.
    #[arg(long, env = "CAPSTAN_CONCURRENT_SYNCS", default_value_t = 5)]
    concurrent_syncs: usize,
    /// How long a node's lease may go unrenewed before the node is marked Unknown (e.g. 40s).
    #[arg(long, env = "CAPSTAN_NODE_MONITOR_GRACE_PERIOD", default_value = "40s", value_parser = humantime::parse_duration)]
    node_monitor_grace_period: Duration,
    /// How often node health is checked.
    #[arg(long, env = "CAPSTAN_NODE_MONITOR_PERIOD", default_value = "5s", value_parser = humantime::parse_duration)]
    node_monitor_period: Duration,
    /// How often each HorizontalPodAutoscaler is evaluated.
    #[arg(long, env = "CAPSTAN_HPA_SYNC_PERIOD", default_value = "15s", value_parser = humantime::parse_duration)]
    horizontal_pod_autoscaler_sync_period: Duration,
    /// How far back the autoscaler looks before scaling down.
    #[arg(long, env = "CAPSTAN_HPA_DOWNSCALE_STABILIZATION", default_value = "5m", value_parser = humantime::parse_duration)]
    horizontal_pod_autoscaler_downscale_stabilization: Duration,
    /// The kubelets' gRPC port (pod CPU usage for autoscaling).
    #[arg(long, env = "CAPSTAN_KUBELET_PORT", default_value_t = 10250)]
    kubelet_port: u16,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let flags = Flags::parse();
    let _telemetry = capstan_telemetry::init_or_reuse("capstan-controller-manager")?;
    let config = Config {
        server: flags.server,
        listen: Some(SocketAddr::from(([0, 0, 0, 0], flags.port))),
        controllers: parse_controllers(&flags.controllers)?,
        leader_elect: flags.leader_elect,
        workers: flags.concurrent_syncs,
        node_monitor_grace_period: flags.node_monitor_grace_period,
        node_monitor_period: flags.node_monitor_period,
        hpa_sync_period: flags.horizontal_pod_autoscaler_sync_period,
        hpa_downscale_stabilization: flags.horizontal_pod_autoscaler_downscale_stabilization,
        kubelet_port: flags.kubelet_port,
    };
    capstan_controller_manager::run(config, async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "waiting for Ctrl-C");
        }
    })
    .await?;
    Ok(())
}
