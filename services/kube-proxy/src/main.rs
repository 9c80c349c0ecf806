//! The `capstan-proxy` binary: flags (with `CAPSTAN_PROXY_*` fallbacks), telemetry,
//! then [`capstan_kube_proxy::run`] until SIGTERM or Ctrl-C.

use capstan_kube_proxy::Config;
use clap::Parser;
use flags::Flags;

mod flags;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let flags = Flags::parse();
    let _telemetry = capstan_telemetry::init_or_reuse("capstan-proxy")?;
    let target = capstan_client::Target::resolve(flags.kubeconfig.as_deref(), flags.server.as_deref())?;
    let mut config = Config::new(target.server, flags.node_name);
    config.credentials = target.credentials;
    config.mode = flags.mode;
    config.nodeport_addresses = flags.nodeport_addresses;
    config.healthz_bind_address = Some(flags.healthz_bind_address);
    config.metrics_bind_address = Some(flags.metrics_bind_address);
    config.udp_idle_timeout = std::time::Duration::from_secs(flags.udp_idle_timeout_secs);
    config.cluster_ip_interface = (!flags.no_cluster_ip).then_some(flags.cluster_ip_interface);
    capstan_kube_proxy::run(config, capstan_lifecycle::shutdown_signal()).await?;
    Ok(())
}
