//! `capstan-controller-manager`: parses flags, sets up telemetry and runs
//! [`capstan_controller_manager::run`] until SIGTERM or Ctrl-C.

use capstan_controller_manager::{parse_controllers, Config};
use clap::Parser;
use flags::Flags;
use std::net::SocketAddr;

mod flags;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let flags = Flags::parse();
    let _telemetry = capstan_telemetry::init_or_reuse("capstan-controller-manager")?;
    let target = capstan_client::Target::resolve(flags.kubeconfig.as_deref(), flags.server.as_deref())?;
    let config = Config {
        server: target.server,
        credentials: target.credentials,
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
    capstan_controller_manager::run(config, capstan_lifecycle::shutdown_signal()).await?;
    Ok(())
}
