//! `capstan-scheduler`: parses flags, sets up telemetry and runs
//! [`capstan_scheduler::run`] until Ctrl-C.

use capstan_scheduler::{Config, Profiles};
use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "capstan-scheduler", about = "Binds pending pods to nodes")]
struct Flags {
    /// The API server's URL.
    #[arg(long, env = "CAPSTAN_SERVER", default_value = "http://127.0.0.1:6443")]
    server: String,
    /// A YAML file of scheduling profiles (weights per schedulerName).
    #[arg(long, env = "CAPSTAN_SCHEDULER_CONFIG")]
    config: Option<PathBuf>,
    /// The port of the scheduler's own gRPC server (health).
    #[arg(long, env = "CAPSTAN_SCHEDULER_PORT", default_value_t = 10259)]
    port: u16,
    /// Schedule only while holding the kube-system/capstan-scheduler lease.
    #[arg(long, env = "CAPSTAN_LEADER_ELECT")]
    leader_elect: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let flags = Flags::parse();
    let _telemetry = capstan_telemetry::init_or_reuse("capstan-scheduler")?;
    let profiles = match &flags.config {
        Some(path) => Profiles::load(path)?,
        None => Profiles::default(),
    };
    let config = Config {
        server: flags.server,
        profiles,
        listen: Some(SocketAddr::from(([0, 0, 0, 0], flags.port))),
        leader_elect: flags.leader_elect,
        ..Config::default()
    };
    capstan_scheduler::run(config, async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "waiting for Ctrl-C");
        }
    })
    .await?;
    Ok(())
}
