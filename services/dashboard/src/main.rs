//! `capstan-dashboard`: parses flags and serves until SIGTERM or Ctrl-C.

use clap::Parser;
use flags::Flags;

mod flags;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let flags = Flags::parse();
    let _telemetry = capstan_telemetry::init(capstan_dashboard::COMPONENT)?;
    let dashboard = capstan_dashboard::Dashboard::start(flags.config()?).await?;
    tracing::info!(url = %dashboard.url(), "sign in with a bearer token the API server accepts");
    dashboard.run_until(capstan_lifecycle::shutdown_signal()).await?;
    Ok(())
}
