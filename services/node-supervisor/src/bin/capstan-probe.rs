//! The `capstan-probe` binary: flags in, [`capstan_node_supervisor::probe::check`] out;
//! exit 0 when the server serves, 1 (with the reason on stderr) when not.

use clap::Parser;
use std::path::PathBuf;

/// Asks a Capstan server whether it serves (grpc.health.v1): an image's health check.
#[derive(Parser, Debug)]
#[command(name = "capstan-probe", version)]
struct Flags {
    /// The server's address, e.g. https://127.0.0.1:6443 or http://127.0.0.1:10259.
    #[arg(long, env = "CAPSTAN_PROBE_URL")]
    url: String,
    /// The CA to trust an https:// server with.
    #[arg(long, env = "CAPSTAN_PROBE_CA_FILE")]
    ca_file: Option<PathBuf>,
    /// How long to wait for the answer.
    #[arg(long, env = "CAPSTAN_PROBE_TIMEOUT", default_value = "5s", value_parser = humantime::parse_duration)]
    timeout: std::time::Duration,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let flags = Flags::parse();
    capstan_node_supervisor::probe::check(&flags.url, flags.ca_file.as_deref(), flags.timeout).await?;
    Ok(())
}
