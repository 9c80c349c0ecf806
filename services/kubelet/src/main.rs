//! The `capstan-kubelet` binary: flags (with `CAPSTAN_KUBELET_*` fallbacks), telemetry,
//! then [`capstan_kubelet::run`] until SIGTERM or Ctrl-C.

use std::net::SocketAddr;

use clap::Parser;
use flags::Flags;

mod flags;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let flags = Flags::parse();
    let _telemetry = capstan_telemetry::init("capstan-kubelet")?;
    let node_name = match flags.node_name {
        Some(name) => name,
        None => capstan_kubelet::machine::Machine::read().hostname,
    };
    anyhow::ensure!(!node_name.is_empty(), "no node name: pass --node-name or set CAPSTAN_KUBELET_NODE_NAME");
    let target = capstan_client::Target::resolve(flags.kubeconfig.as_deref(), flags.server.as_deref())?;
    let mut config = capstan_kubelet::Config::new(target.server, node_name, flags.runtime_endpoint);
    config.credentials = target.credentials;
    config.listen = SocketAddr::new(flags.address, flags.port);
    config.node_ip = flags.node_ip;
    config.dns = capstan_kubelet::dns::DnsSettings {
        cluster_dns: flags.cluster_dns,
        cluster_domain: flags.cluster_domain.trim_end_matches('.').to_string(),
        resolv_conf: match flags.resolv_conf {
            None => Some(capstan_kubelet::dns::node_resolv_conf()),
            Some(path) if path.as_os_str().is_empty() => None,
            Some(path) => Some(path),
        },
    };
    config.tls = match (flags.tls_cert_file, flags.tls_private_key_file) {
        (Some(cert), Some(key)) => Some(capstan_server::TlsFiles { cert, key, client_ca: flags.client_ca_file }),
        _ => None,
    };
    capstan_kubelet::run(config, capstan_lifecycle::shutdown_signal()).await?;
    Ok(())
}
