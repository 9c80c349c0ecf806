//! The `capstan-probe` binary: flags in, [`capstan_node_supervisor::probe::check`] out;
//! exit 0 when the server serves, 1 (with the reason on stderr) when not.

use clap::Parser;
use probe_flags::Flags;

#[path = "../probe_flags.rs"]
mod probe_flags;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let flags = Flags::parse();
    capstan_node_supervisor::probe::check(&flags.url, flags.ca_file.as_deref(), flags.timeout).await?;
    Ok(())
}
