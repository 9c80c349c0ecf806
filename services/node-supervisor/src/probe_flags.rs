//! The `capstan-probe` binary's flags, in their own file for the same reason
//! as the supervisor's (`flags.rs`).

use clap::Parser;
use std::path::PathBuf;

/// Asks a Capstan server whether it serves (grpc.health.v1): an image's health check.
#[derive(Parser, Debug)]
#[command(name = "capstan-probe", version)]
pub struct Flags {
    /// The server's address, e.g. https://127.0.0.1:6443 or http://127.0.0.1:10259.
    #[arg(long, env = "CAPSTAN_PROBE_URL")]
    pub url: String,
    /// The CA to trust an https:// server with.
    #[arg(long, env = "CAPSTAN_PROBE_CA_FILE")]
    pub ca_file: Option<PathBuf>,
    /// How long to wait for the answer.
    #[arg(long, env = "CAPSTAN_PROBE_TIMEOUT", default_value = "5s", value_parser = humantime::parse_duration)]
    pub timeout: std::time::Duration,
}
