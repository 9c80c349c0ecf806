//! The `capstan-dns` binary: flags (with `CAPSTAN_DNS_*` fallbacks), telemetry,
//! then [`capstan_dns::run`] until SIGTERM or Ctrl-C.

use std::path::Path;

use anyhow::Context;
use capstan_dns::Config;
use clap::Parser;
use flags::Flags;

mod flags;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let flags = Flags::parse();
    // hickory-server logs every query at info: a busy resolver's log would be nothing else
    let _telemetry = capstan_telemetry::init_with_default_filter("capstan-dns", "info,hickory_server=warn")?;
    let target = capstan_client::Target::resolve(flags.kubeconfig.as_deref(), flags.server.as_deref())?;
    let mut config = Config::new(target.server);
    config.credentials = target.credentials;
    config.listen = flags.listen;
    config.cluster_domain = flags.cluster_domain;
    config.upstreams = if flags.upstream.is_empty() {
        capstan_dns::forward::nameservers(Path::new("/etc/resolv.conf")).context("no --upstream given")?
    } else {
        flags.upstream
    };
    config.health_address = Some(std::net::SocketAddr::new(flags.health_address, flags.health_port));
    capstan_dns::run(config, capstan_lifecycle::shutdown_signal()).await?;
    Ok(())
}
