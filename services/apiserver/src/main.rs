//! The `capstan-apiserver` binary: flags in, [`capstan_apiserver::run`] out.

use anyhow::Context;
use capstan_apiserver::door::Security;
use capstan_apiserver::node_proxy::KubeletClientFiles;
use capstan_apiserver::{Config, StoreConfig};
use capstan_server::{AuditConfig, TlsFiles};
use clap::Parser;
use flags::Flags;

mod flags;

/// glibc's allocator spends a large share of the API server's CPU under load
/// trimming and re-faulting pages (seen with perf in bench/apiserver).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn port_range(text: &str) -> anyhow::Result<(u16, u16)> {
    let (low, high) = text.split_once('-').context("expected LOW-HIGH, e.g. 30000-32767")?;
    let (low, high): (u16, u16) = (low.trim().parse()?, high.trim().parse()?);
    anyhow::ensure!(low <= high, "the range {text} is empty");
    Ok((low, high))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let flags = Flags::parse();
    let _telemetry = capstan_telemetry::init("capstan-apiserver")?;
    let storage = if flags.etcd_servers.is_empty() {
        StoreConfig::embedded(flags.data_dir)
    } else {
        StoreConfig::etcd(flags.etcd_servers)
    };
    let config = Config {
        listen: flags.listen,
        storage,
        service_cluster_ip_range: flags.service_cluster_ip_range,
        service_node_port_range: port_range(&flags.service_node_port_range).context("--service-node-port-range")?,
        default_not_ready_toleration_seconds: flags.default_not_ready_toleration_seconds,
        default_unreachable_toleration_seconds: flags.default_unreachable_toleration_seconds,
        security: Security {
            tls: match (flags.tls_cert_file, flags.tls_private_key_file) {
                (Some(cert), Some(key)) => Some(TlsFiles { cert, key, client_ca: flags.client_ca_file }),
                _ => None,
            },
            token_file: flags.token_auth_file,
            anonymous: flags.anonymous_auth,
            authorization_modes: flags.authorization_mode,
            max_requests_inflight: flags.max_requests_inflight,
            max_mutating_requests_inflight: flags.max_mutating_requests_inflight,
            request_timeout: std::time::Duration::from_secs(flags.request_timeout),
            audit: flags.audit_log_path.map(|path| AuditConfig {
                path,
                max_size_mb: flags.audit_log_maxsize,
                max_backups: flags.audit_log_maxbackup,
            }),
        },
        kubelet_client: match (flags.kubelet_client_certificate, flags.kubelet_client_key) {
            (Some(cert), Some(key)) => {
                Some(KubeletClientFiles { cert, key, certificate_authority: flags.kubelet_certificate_authority })
            }
            _ => None,
        },
        ..Config::default()
    };
    capstan_apiserver::run(config, capstan_lifecycle::shutdown_signal()).await?;
    Ok(())
}
