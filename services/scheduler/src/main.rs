//! `capstan-scheduler`: parses flags, sets up telemetry and runs
//! [`capstan_scheduler::run`] until SIGTERM or Ctrl-C.

use capstan_scheduler::{Config, Profiles};
use clap::Parser;
use flags::Flags;
use std::net::SocketAddr;

mod flags;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let flags = Flags::parse();
    let _telemetry = capstan_telemetry::init_or_reuse("capstan-scheduler")?;
    let profiles = match &flags.config {
        Some(path) => Profiles::load(path)?,
        None => Profiles::default(),
    };
    let target = capstan_client::Target::resolve(flags.kubeconfig.as_deref(), flags.server.as_deref())?;
    let config = Config {
        server: target.server,
        credentials: target.credentials,
        profiles,
        listen: Some(SocketAddr::from(([0, 0, 0, 0], flags.port))),
        leader_elect: flags.leader_elect,
        ..Config::default()
    };
    capstan_scheduler::run(config, capstan_lifecycle::shutdown_signal()).await?;
    Ok(())
}
