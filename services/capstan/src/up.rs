//! `capstan up`: a whole local cluster in this one process. It starts every
//! component that exists — the API server with its embedded store, then one
//! the scheduler, one node: the Docker shim (or the in-memory runtime) and a
//! kubelet, see [`node`], and the service proxy — points the CLI's config file at it, and
//! runs until Ctrl-C, then
//! stops the components in reverse order.
//!
//! [`Components`] is the list later issues extend: each new component (the
//! scheduler, the controller-manager, the proxy) gets a config field there and
//! a start/stop step in [`Running`].

pub mod node;

use crate::cli::UpRuntime;
use crate::config;
use crate::errors::CliError;
use capstan_apiserver::{ApiServer, StoreConfig};
use node::{Node, NodeConfig};
use std::future::Future;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;

/// Where the local cluster keeps its data and listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpConfig {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// the CLI config file to point at the cluster (none: leave it alone)
    pub config_path: Option<PathBuf>,
    pub runtime: UpRuntime,
    pub node_name: String,
    pub kubelet_port: u16,
}

impl UpConfig {
    /// The flags, with `~/.capstan/data` as the default data directory.
    pub fn from_args(args: &crate::cli::UpArgs) -> Result<UpConfig, CliError> {
        let data_dir = match &args.data_dir {
            Some(dir) => dir.clone(),
            None => std::env::var_os("HOME")
                .map(|home| PathBuf::from(home).join(".capstan").join("data"))
                .ok_or_else(|| CliError::Usage("HOME is not set: pass --data-dir".to_string()))?,
        };
        let node_name = match &args.node_name {
            Some(name) => name.clone(),
            None => capstan_kubelet::machine::Machine::read().hostname,
        };
        if node_name.is_empty() {
            return Err(CliError::Usage("cannot read the hostname: pass --node-name".to_string()));
        }
        Ok(UpConfig {
            data_dir,
            listen: args.listen,
            config_path: config::default_config_path(),
            runtime: args.runtime,
            node_name,
            kubelet_port: args.kubelet_port,
        })
    }
}

/// Every component `capstan up` runs, in start order.
#[derive(Debug, Clone)]
pub struct Components {
    pub apiserver: capstan_apiserver::Config,
    pub node: NodeConfig,
    /// the service proxy's admin (health) address; node ports open on every local address
    pub proxy_healthz: SocketAddr,
    pub proxy_metrics: SocketAddr,
    /// the scheduler's own (health) service
    pub scheduler_listen: SocketAddr,
}

impl Components {
    pub fn local(config: &UpConfig) -> Components {
        let apiserver = capstan_apiserver::Config {
            listen: config.listen,
            storage: StoreConfig::embedded(config.data_dir.join("apiserver")),
            ..Default::default()
        };
        let node = NodeConfig {
            name: config.node_name.clone(),
            runtime: config.runtime,
            shim_socket: node::shim_socket(&config.data_dir),
            docker_host: std::env::var("DOCKER_HOST")
                .ok()
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| "unix:///var/run/docker.sock".to_string()),
            busybox: std::env::var_os("CAPSTAN_BUSYBOX").map(PathBuf::from).unwrap_or_else(|| "/bin/busybox".into()),
            // the kubelet listens where the API server does, on its own port
            kubelet_listen: SocketAddr::new(config.listen.ip(), config.kubelet_port),
        };
        // an API server on an ephemeral port (tests) gets ephemeral proxy ports too
        let fixed = |port: u16| if config.listen.port() == 0 { 0 } else { port };
        let proxy_healthz = SocketAddr::new(config.listen.ip(), fixed(10256));
        let proxy_metrics = SocketAddr::new(Ipv4Addr::LOCALHOST.into(), fixed(10249));
        let scheduler_listen = SocketAddr::new(config.listen.ip(), fixed(10259));
        Components { apiserver, node, proxy_healthz, proxy_metrics, scheduler_listen }
    }
}

/// The started components; stopped in reverse start order.
struct Running {
    apiserver: ApiServer,
    scheduler: capstan_scheduler::Scheduler,
    node: Node,
    proxy: capstan_kube_proxy::Proxy,
}

impl Running {
    async fn start(components: Components) -> Result<Running, CliError> {
        let apiserver = ApiServer::start(components.apiserver).await?;
        let url = client_url(apiserver.addr());
        let scheduler_config = capstan_scheduler::Config {
            server: url.clone(),
            listen: Some(components.scheduler_listen),
            ..Default::default()
        };
        let scheduler = match capstan_scheduler::Scheduler::start(scheduler_config).await {
            Ok(scheduler) => scheduler,
            Err(error) => {
                let _ = apiserver.stop().await;
                return Err(error.into());
            }
        };
        let node = match Node::start(&components.node, &url).await {
            Ok(node) => node,
            Err(error) => {
                let _ = scheduler.stop().await;
                let _ = apiserver.stop().await;
                return Err(error);
            }
        };
        let mut proxy_config = capstan_kube_proxy::Config::new(url, components.node.name.clone());
        proxy_config.healthz_bind_address = Some(components.proxy_healthz);
        proxy_config.metrics_bind_address = Some(components.proxy_metrics);
        let proxy = match capstan_kube_proxy::Proxy::start(proxy_config).await {
            Ok(proxy) => proxy,
            Err(error) => {
                node.stop().await;
                let _ = scheduler.stop().await;
                let _ = apiserver.stop().await;
                return Err(error.into());
            }
        };
        Ok(Running { apiserver, scheduler, node, proxy })
    }

    async fn stop(self) -> Result<(), CliError> {
        let _ = self.proxy.shutdown().await;
        self.node.stop().await;
        let _ = self.scheduler.stop().await;
        self.apiserver.stop().await?;
        Ok(())
    }
}

/// Runs the local cluster until `shutdown` completes.
pub async fn up(
    config: UpConfig,
    shutdown: impl Future<Output = ()>,
    out: &mut (dyn Write + Send + Sync),
) -> Result<(), CliError> {
    std::fs::create_dir_all(&config.data_dir).map_err(|e| CliError::io(&config.data_dir, e))?;
    let running = Running::start(Components::local(&config)).await?;
    let url = client_url(running.apiserver.addr());
    writeln!(out, "API server listening on {url} (data in {})", config.data_dir.display())?;
    if let Some(admin) = running.proxy.healthz_address {
        writeln!(out, "Service proxy: node ports on every local address, admin on {admin}")?;
    }
    for note in &running.node.notes {
        writeln!(out, "{note}")?;
    }
    if let Some(path) = &config.config_path {
        let mut file = config::load(path)?.unwrap_or_default();
        file.server = Some(url.clone());
        config::save(path, &file)?;
        writeln!(out, "CLI configured in {}", path.display())?;
    }
    writeln!(out, "Press Ctrl-C to stop.")?;
    out.flush()?;
    shutdown.await;
    writeln!(out, "Shutting down.")?;
    running.stop().await
}

/// The URL clients use for a listener: a wildcard address means loopback.
pub fn client_url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_listeners_are_reached_on_loopback() {
        assert_eq!(client_url("0.0.0.0:6443".parse().expect("addr")), "http://127.0.0.1:6443");
        assert_eq!(client_url("[::]:6443".parse().expect("addr")), "http://[::1]:6443");
        assert_eq!(client_url("10.0.0.1:7000".parse().expect("addr")), "http://10.0.0.1:7000");
    }

    #[test]
    fn components_keep_data_under_the_data_dir() {
        let config = UpConfig {
            data_dir: "/tmp/c".into(),
            listen: "127.0.0.1:0".parse().expect("addr"),
            config_path: None,
            runtime: UpRuntime::Docker,
            node_name: "n1".into(),
            kubelet_port: 10250,
        };
        let c = Components::local(&config);
        assert_eq!(c.apiserver.listen, config.listen);
        assert_eq!(c.node.shim_socket, PathBuf::from("/tmp/c/docker-shim.sock"));
        assert_eq!(c.node.kubelet_listen, "127.0.0.1:10250".parse().expect("addr"));
        assert!(
            matches!(c.apiserver.storage, StoreConfig::Embedded { ref data_dir, .. } if data_dir == &PathBuf::from("/tmp/c/apiserver"))
        );
    }
}
