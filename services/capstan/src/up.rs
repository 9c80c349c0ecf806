//! `capstan up`: a whole local cluster in this one process. It starts every
//! component that exists (today the API server with its embedded store),
//! points the CLI's config file at it, and runs until Ctrl-C, then stops the
//! components in reverse order.
//!
//! [`Components`] is the list later issues extend: each new component (the
//! scheduler, the controller-manager, the kubelet, the proxy) gets a config
//! field there and a start/stop step in [`Running`].

use crate::config;
use crate::errors::CliError;
use capstan_apiserver::{ApiServer, StoreConfig};
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
        Ok(UpConfig { data_dir, listen: args.listen, config_path: config::default_config_path() })
    }
}

/// Every component `capstan up` runs, in start order.
#[derive(Debug, Clone)]
pub struct Components {
    pub apiserver: capstan_apiserver::Config,
}

impl Components {
    pub fn local(config: &UpConfig) -> Components {
        let apiserver = capstan_apiserver::Config {
            listen: config.listen,
            storage: StoreConfig::embedded(config.data_dir.join("apiserver")),
            ..Default::default()
        };
        Components { apiserver }
    }
}

/// The started components; stopped in reverse start order.
struct Running {
    apiserver: ApiServer,
}

impl Running {
    async fn start(components: Components) -> Result<Running, CliError> {
        let apiserver = ApiServer::start(components.apiserver).await?;
        Ok(Running { apiserver })
    }

    async fn stop(self) -> Result<(), CliError> {
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
        let config =
            UpConfig { data_dir: "/tmp/c".into(), listen: "127.0.0.1:0".parse().expect("addr"), config_path: None };
        let c = Components::local(&config);
        assert_eq!(c.apiserver.listen, config.listen);
        assert!(
            matches!(c.apiserver.storage, StoreConfig::Embedded { ref data_dir, .. } if data_dir == &PathBuf::from("/tmp/c/apiserver"))
        );
    }
}
