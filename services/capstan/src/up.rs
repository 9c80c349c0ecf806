//! `capstan up`: a whole local cluster in this one process. It makes or
//! completes the cluster's PKI (see [`secure`]), starts every component
//! that exists — the API server with its embedded store over TLS with
//! Node,RBAC, then the scheduler and the controller-manager, one node (the
//! Docker or containerd shim, or the in-memory runtime, and a kubelet, see
//! [`node`]) plus any `--add-node NAME=RUNTIME` nodes, the service proxy
//! serving every cluster IP, the cluster DNS behind `kube-system/kube-dns`
//! (see [`cluster_dns`]), and the web [`dashboard`], each with its own
//! identity — writes the admin's kubeconfig as the CLI's config, and runs
//! until Ctrl-C, then stops the components in reverse order.
//!
//! [`Components`] is the list later issues extend: each new component gets a
//! config field there and a start/stop step in [`Running`].

pub mod cluster_dns;
pub mod dashboard;
pub mod node;
pub mod secure;

use crate::cli::UpRuntime;
use crate::config;
use crate::errors::CliError;
use capstan_apiserver::{ApiServer, StoreConfig};
use capstan_pki::Layout;
use cluster_dns::ServiceNetwork;
use node::{Node, NodeConfig};
use std::future::Future;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;

/// Where the local cluster keeps its data and listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpConfig {
    pub data_dir: PathBuf,
    /// the cluster's PKI (`certs init`'s layout): `~/.capstan/pki`, or
    /// `DATA_DIR/pki` when `--data-dir` is given
    pub pki_dir: PathBuf,
    pub listen: SocketAddr,
    /// the CLI config file to point at the cluster (none: leave it alone)
    pub config_path: Option<PathBuf>,
    pub runtime: UpRuntime,
    pub node_name: String,
    pub kubelet_port: u16,
    /// more nodes, by name and runtime (`--add-node`)
    pub extra_nodes: Vec<(String, UpRuntime)>,
    /// the service range, the cluster DNS's address and zone, the proxy's interface
    pub services: ServiceNetwork,
}

impl UpConfig {
    /// The flags, with `~/.capstan/data` and `~/.capstan/pki` as the
    /// defaults; `--data-dir DIR` keeps both in `DIR` (the PKI in `DIR/pki`).
    pub fn from_args(args: &crate::cli::UpArgs) -> Result<UpConfig, CliError> {
        let (data_dir, pki_dir) = match &args.data_dir {
            Some(dir) => (dir.clone(), dir.join("pki")),
            None => {
                let home = std::env::var_os("HOME")
                    .map(|home| PathBuf::from(home).join(".capstan"))
                    .ok_or_else(|| CliError::Usage("HOME is not set: pass --data-dir".to_string()))?;
                (home.join("data"), home.join("pki"))
            }
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
            pki_dir,
            listen: args.listen,
            config_path: config::default_config_path(),
            runtime: args.runtime,
            node_name,
            kubelet_port: args.kubelet_port,
            extra_nodes: args.add_nodes.clone(),
            services: ServiceNetwork::new(
                &args.service_cluster_ip_range,
                args.cluster_dns_ip,
                &args.cluster_domain,
                (!args.no_cluster_ip).then(|| args.cluster_ip_interface.clone()),
            )?,
        })
    }
}

/// Every component `capstan up` runs, in start order.
#[derive(Debug, Clone)]
pub struct Components {
    pub apiserver: capstan_apiserver::Config,
    pub node: NodeConfig,
    /// the nodes of `--add-node`
    pub extra_nodes: Vec<NodeConfig>,
    /// the service proxy's admin (health) address; node ports open on every local address
    pub proxy_healthz: SocketAddr,
    pub proxy_metrics: SocketAddr,
    /// the scheduler's own (health) service
    pub scheduler_listen: SocketAddr,
    /// every controller, serving health and metrics on its own port
    pub controller_manager: capstan_controller_manager::Config,
    /// the dashboard, on loopback (see [`dashboard`])
    pub dashboard: SocketAddr,
    /// the cluster DNS, on loopback; its server and credentials are filled
    /// in once the API server listens
    pub dns: capstan_dns::Config,
    pub services: ServiceNetwork,
}

impl Components {
    /// The components of `config`'s cluster, the API server's door locked
    /// with the PKI at `pki` (see [`secure::secure_apiserver`]).
    pub fn local(config: &UpConfig, pki: &Layout) -> Components {
        let mut apiserver = capstan_apiserver::Config {
            listen: config.listen,
            storage: StoreConfig::embedded(config.data_dir.join("apiserver")),
            service_cluster_ip_range: config.services.range.clone(),
            ..Default::default()
        };
        secure::secure_apiserver(&mut apiserver, pki, &config.data_dir);
        dashboard::accept_admin_token(&mut apiserver, pki);
        let node = node_config(config, &config.node_name, config.runtime, 0);
        let extra_nodes = (config.extra_nodes.iter().enumerate())
            .map(|(i, (name, runtime))| node_config(config, name, *runtime, i + 1))
            .collect();
        // an API server on an ephemeral port (tests) gets ephemeral proxy ports too
        let fixed = |port: u16| if config.listen.port() == 0 { 0 } else { port };
        let proxy_healthz = SocketAddr::new(config.listen.ip(), fixed(10256));
        let proxy_metrics = SocketAddr::new(Ipv4Addr::LOCALHOST.into(), fixed(10249));
        let scheduler_listen = SocketAddr::new(config.listen.ip(), fixed(10259));
        let controller_manager = capstan_controller_manager::Config {
            // `server` is filled in once the API server listens (`Running::start_the_rest`)
            listen: Some(SocketAddr::new(config.listen.ip(), fixed(10257))),
            ..Default::default()
        };
        let dashboard = dashboard::listen(config.listen);
        let mut dns = capstan_dns::Config::new("");
        dns.listen = SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 0);
        dns.cluster_domain = config.services.cluster_domain.clone();
        dns.upstreams = upstream_resolvers();
        dns.health_address = None;
        Components {
            apiserver,
            node,
            extra_nodes,
            proxy_healthz,
            proxy_metrics,
            scheduler_listen,
            controller_manager,
            dashboard,
            dns,
            services: config.services.clone(),
        }
    }
}

/// The `index`th node's config (0: the main node, whose files keep their plain names).
fn node_config(config: &UpConfig, name: &str, runtime: UpRuntime, index: usize) -> NodeConfig {
    let suffix = (index > 0).then_some(name);
    let port = match config.kubelet_port {
        0 => 0,
        port => port.saturating_add(u16::try_from(index).unwrap_or(u16::MAX)),
    };
    NodeConfig {
        name: name.to_string(),
        runtime,
        shim_socket: node::shim_socket(&config.data_dir, runtime, suffix),
        docker_host: std::env::var("DOCKER_HOST")
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "unix:///var/run/docker.sock".to_string()),
        containerd_address: std::env::var("CAPSTAN_CONTAINERD_ADDRESS")
            .ok()
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| "/run/containerd/containerd.sock".to_string()),
        containerd_state: config.data_dir.join("containerd-shim"),
        busybox: std::env::var_os("CAPSTAN_BUSYBOX").map(PathBuf::from).unwrap_or_else(|| "/bin/busybox".into()),
        // the kubelet listens where the API server does, on its own port
        kubelet_listen: SocketAddr::new(config.listen.ip(), port),
        // without cluster IPs no pod could reach the cluster DNS: pods keep the node's resolvers
        cluster_dns: match config.services.serves_cluster_ips() {
            true => vec![IpAddr::V4(config.services.dns_ip)],
            false => Vec::new(),
        },
        cluster_domain: config.services.cluster_domain.clone(),
    }
}

/// The resolvers the cluster DNS relays other names to: the host's own.
/// None readable leaves only the cluster's zone answered (and says so).
fn upstream_resolvers() -> Vec<SocketAddr> {
    let path = std::path::Path::new("/etc/resolv.conf");
    capstan_dns::forward::nameservers(path).unwrap_or_else(|error| {
        tracing::warn!(%error, "the cluster DNS answers only the cluster's zone");
        Vec::new()
    })
}

/// The started components; stopped in reverse start order. All but the API
/// server are `Option`s so that a start failing half-way stops exactly what
/// it had started.
struct Running {
    apiserver: ApiServer,
    /// every component's kubeconfig is read from here
    pki: Layout,
    /// the cluster DNS, and the cluster IP its Service serves on
    dns: Option<(capstan_dns::Dns, IpAddr)>,
    scheduler: Option<capstan_scheduler::Scheduler>,
    controller_manager: Option<capstan_controller_manager::ControllerManager>,
    /// the main node first, then the `--add-node` ones
    nodes: Vec<Node>,
    proxy: Option<capstan_kube_proxy::Proxy>,
    dashboard: Option<capstan_dashboard::Dashboard>,
}

impl Running {
    async fn start(components: Components, pki: Layout) -> Result<Running, CliError> {
        let apiserver = ApiServer::start(components.apiserver.clone()).await?;
        let mut running = Running {
            apiserver,
            pki,
            dns: None,
            scheduler: None,
            controller_manager: None,
            nodes: Vec::new(),
            proxy: None,
            dashboard: None,
        };
        match running.start_the_rest(components).await {
            Ok(()) => Ok(running),
            Err(error) => {
                let _ = running.stop().await;
                Err(error)
            }
        }
    }

    /// Everything after the API server, in order; what started is in `self`.
    async fn start_the_rest(&mut self, components: Components) -> Result<(), CliError> {
        // every component as itself: its kubeconfig's certificate, the port bound now
        let url = client_url(self.apiserver.addr());
        // the DNS first, so that its Service claims its fixed address before anything else asks for one
        let dns = capstan_dns::Config {
            server: url.clone(),
            credentials: secure::credentials(&self.pki, secure::DNS)?,
            ..components.dns
        };
        let dns = capstan_dns::Dns::start(dns).await?;
        let admin = capstan_client::Client::connect_with(&url, &secure::credentials(&self.pki, secure::ADMIN)?)
            .map_err(|e| CliError::from_client(e, None, &url))?;
        let published = cluster_dns::publish(&admin, &url, &components.services, dns.dns_address).await;
        let dns_ip = match published {
            Ok(ip) => ip,
            Err(error) => {
                let _ = dns.stop().await;
                return Err(error);
            }
        };
        self.dns = Some((dns, dns_ip));
        let scheduler = capstan_scheduler::Config {
            server: url.clone(),
            credentials: secure::credentials(&self.pki, secure::SCHEDULER)?,
            listen: Some(components.scheduler_listen),
            ..Default::default()
        };
        self.scheduler = Some(capstan_scheduler::Scheduler::start(scheduler).await?);
        let controllers = capstan_controller_manager::Config {
            server: url.clone(),
            credentials: secure::credentials(&self.pki, secure::CONTROLLER_MANAGER)?,
            ..components.controller_manager
        };
        self.controller_manager = Some(capstan_controller_manager::ControllerManager::start(controllers).await?);
        for config in std::iter::once(&components.node).chain(&components.extra_nodes) {
            let credentials = secure::credentials(&self.pki, &secure::node_identity(&config.name))?;
            let serving = secure::kubelet_serving(&self.pki, &config.name);
            self.nodes.push(Node::start(config, &url, &credentials, Some(serving)).await?);
        }
        let mut proxy = capstan_kube_proxy::Config::new(url.clone(), components.node.name.clone());
        proxy.credentials = secure::credentials(&self.pki, secure::PROXY)?;
        proxy.healthz_bind_address = Some(components.proxy_healthz);
        proxy.metrics_bind_address = Some(components.proxy_metrics);
        proxy.cluster_ip_interface = components.services.interface.clone();
        self.proxy = Some(capstan_kube_proxy::Proxy::start(proxy).await?);
        self.dashboard = Some(dashboard::start(&url, &self.pki, components.dashboard).await?);
        Ok(())
    }

    /// Stops every started component, the last started first; the API
    /// server's error, if any, is the answer (the others are logged).
    async fn stop(self) -> Result<(), CliError> {
        if let Some(dashboard) = self.dashboard {
            if let Err(error) = dashboard.stop().await {
                tracing::warn!(%error, "stopping the dashboard");
            }
        }
        if let Some(proxy) = self.proxy {
            if let Err(error) = proxy.shutdown().await {
                tracing::warn!(%error, "stopping the service proxy");
            }
        }
        for node in self.nodes.into_iter().rev() {
            node.stop().await;
        }
        if let Some(controller_manager) = self.controller_manager {
            if let Err(error) = controller_manager.stop().await {
                tracing::warn!(%error, "stopping the controller-manager");
            }
        }
        if let Some(scheduler) = self.scheduler {
            if let Err(error) = scheduler.stop().await {
                tracing::warn!(%error, "stopping the scheduler");
            }
        }
        if let Some((dns, _)) = self.dns {
            if let Err(error) = dns.stop().await {
                tracing::warn!(%error, "stopping the cluster DNS");
            }
        }
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
    up_with_sink(config, None, shutdown, out).await
}

/// As [`up`], serving `sink` (`--trace-sink`) beside the cluster for as long
/// as it runs. Where the components' spans go is the process's telemetry's
/// business: `main` points it at the sink before anything starts.
pub async fn up_with_sink(
    config: UpConfig,
    sink: Option<capstan_trace_sink::BoundSink>,
    shutdown: impl Future<Output = ()>,
    out: &mut (dyn Write + Send + Sync),
) -> Result<(), CliError> {
    let stop_sink = tokio_util::sync::CancellationToken::new();
    let sink = match sink {
        Some(sink) => {
            let addr = sink.local_addr()?;
            let serving = tokio::spawn(sink.serve(stop_sink.clone().cancelled_owned()));
            Some((addr, serving))
        }
        None => None,
    };
    let ran = run_cluster(config, sink.as_ref().map(|(addr, _)| *addr), shutdown, out).await;
    stop_sink.cancel();
    if let Some((_, serving)) = sink {
        match serving.await {
            Ok(served) => served?,
            Err(e) => return Err(CliError::Usage(format!("the trace sink's task failed: {e}"))),
        }
    }
    ran
}

async fn run_cluster(
    config: UpConfig,
    sink: Option<SocketAddr>,
    shutdown: impl Future<Output = ()>,
    out: &mut (dyn Write + Send + Sync),
) -> Result<(), CliError> {
    std::fs::create_dir_all(&config.data_dir).map_err(|e| CliError::io(&config.data_dir, e))?;
    let nodes: Vec<String> =
        std::iter::once(config.node_name.clone()).chain(config.extra_nodes.iter().map(|(n, _)| n.clone())).collect();
    let pki = secure::ensure_pki(&config.pki_dir, &nodes, config.listen.ip())?;
    dashboard::ensure_admin_token(&pki)?;
    let running = Running::start(Components::local(&config, &pki), pki).await?;
    // whatever happens after the start, the components are stopped
    let served = announce(&running, &config, sink, out).map(|()| shutdown);
    let served = match served {
        Ok(shutdown) => {
            shutdown.await;
            writeln!(out, "Shutting down.").map_err(CliError::from)
        }
        Err(error) => Err(error),
    };
    let stopped = running.stop().await;
    served.and(stopped)
}

/// Tells the user where everything listens, and points the CLI at the cluster.
fn announce(
    running: &Running,
    config: &UpConfig,
    sink: Option<SocketAddr>,
    out: &mut (dyn Write + Send + Sync),
) -> Result<(), CliError> {
    let url = client_url(running.apiserver.addr());
    writeln!(out, "API server listening on {url} (data in {})", config.data_dir.display())?;
    writeln!(
        out,
        "TLS and Node,RBAC: certificates in {}, audit log {}",
        config.pki_dir.display(),
        secure::audit_log(&config.data_dir).display()
    )?;
    if let Some(addr) = running.scheduler.as_ref().and_then(|s| s.addr()) {
        writeln!(out, "Scheduler: health and metrics on {addr}")?;
    }
    if let Some(addr) = running.controller_manager.as_ref().and_then(|c| c.addr()) {
        writeln!(out, "Controller-manager: health and metrics on {addr}")?;
    }
    if let Some(admin) = running.proxy.as_ref().and_then(|p| p.healthz_address) {
        match &config.services.interface {
            Some(interface) => writeln!(
                out,
                "Service proxy: cluster IPs ({}) on interface {interface}, node ports on every local address, admin on {admin}",
                config.services.range
            )?,
            None => writeln!(out, "Service proxy: node ports on every local address (no cluster IPs), admin on {admin}")?,
        }
    }
    if let Some((dns, ip)) = &running.dns {
        let zone = &config.services.cluster_domain;
        match config.services.serves_cluster_ips() {
            true => writeln!(
                out,
                "Cluster DNS: {}/{} on {ip}:53 for {zone} (served on {}); pods resolve Services by name",
                cluster_dns::NAMESPACE,
                cluster_dns::SERVICE,
                dns.dns_address
            )?,
            false => writeln!(
                out,
                "Cluster DNS: {zone} on {} only (no cluster IPs: pods keep the node's resolvers)",
                dns.dns_address
            )?,
        }
    }
    if let Some(board) = &running.dashboard {
        writeln!(out, "{}", dashboard::line(&board.url(), &running.pki.dir().join(dashboard::TOKEN_FILE)))?;
    }
    for note in running.nodes.iter().flat_map(|n| &n.notes) {
        writeln!(out, "{note}")?;
    }
    let admin = running.pki.kubeconfig(secure::ADMIN);
    if let Some(path) = &config.config_path {
        let mut file = config::load(path)?.unwrap_or_else(capstan_pki::Kubeconfig::empty);
        config::point_at_cluster(&mut file, &url, &admin)?;
        config::save(path, &file)?;
        writeln!(out, "CLI configured in {} (as admin, in system:masters)", path.display())?;
    }
    writeln!(out, "kubectl: {}", kubectl_line(config.config_path.as_deref(), &admin, &url))?;
    if let Some(sink) = sink {
        for line in trace_sink_lines(sink) {
            writeln!(out, "{line}")?;
        }
    }
    writeln!(out, "Press Ctrl-C to stop.")?;
    out.flush()?;
    Ok(())
}

/// The `kubectl` command that reaches the cluster as its admin, as it is:
/// the CLI's config `up` just pointed at the cluster (its current context
/// holds the bound URL, the CA and the admin's certificate inline), or, when
/// `up` writes none, the PKI's admin kubeconfig with the bound URL (the
/// kubeconfig names `certs init`'s default address, which `--listen` may
/// have changed).
pub fn kubectl_line(config: Option<&std::path::Path>, admin: &std::path::Path, url: &str) -> String {
    match config {
        Some(path) => format!("kubectl --kubeconfig {} get nodes", path.display()),
        None => format!("kubectl --kubeconfig {} --server {url} get nodes", admin.display()),
    }
}

/// Where `--trace-sink` listens, and how to see one command's trace in it.
pub fn trace_sink_lines(sink: SocketAddr) -> [String; 2] {
    let url = format!("http://{sink}");
    [
        format!("Trace sink: OTLP/gRPC and GET /traces/ID on {url} (every component exports to it)"),
        format!(
            "Traces: OTEL_EXPORTER_OTLP_ENDPOINT={url} capstan --trace apply -f FILE, then capstan trace ID --sink {url}"
        ),
    ]
}

/// The URL clients use for the API server's listener (TLS): a wildcard
/// address means loopback.
pub fn client_url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("https://{}", SocketAddr::new(ip, addr.port()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_listeners_are_reached_on_loopback() {
        assert_eq!(client_url("0.0.0.0:6443".parse().expect("addr")), "https://127.0.0.1:6443");
        assert_eq!(client_url("[::]:6443".parse().expect("addr")), "https://[::1]:6443");
        assert_eq!(client_url("10.0.0.1:7000".parse().expect("addr")), "https://10.0.0.1:7000");
    }

    #[test]
    fn the_kubectl_line_names_a_kubeconfig_that_reaches_the_bound_port() {
        let admin = PathBuf::from("/home/u/.capstan/pki/kubeconfigs/admin.conf");
        let config = PathBuf::from("/home/u/.capstan/config");
        assert_eq!(
            kubectl_line(Some(&config), &admin, "https://127.0.0.1:7443"),
            "kubectl --kubeconfig /home/u/.capstan/config get nodes"
        );
        assert_eq!(
            kubectl_line(None, &admin, "https://127.0.0.1:7443"),
            "kubectl --kubeconfig /home/u/.capstan/pki/kubeconfigs/admin.conf --server https://127.0.0.1:7443 get nodes"
        );
    }

    #[test]
    fn components_keep_data_under_the_data_dir() {
        let config = UpConfig {
            data_dir: "/tmp/c".into(),
            pki_dir: "/tmp/c/pki".into(),
            listen: "127.0.0.1:0".parse().expect("addr"),
            config_path: None,
            runtime: UpRuntime::Docker,
            node_name: "n1".into(),
            kubelet_port: 10250,
            extra_nodes: vec![("n2".into(), UpRuntime::Containerd)],
            services: ServiceNetwork::new("10.96.0.0/12", None, "cluster.local", Some("capstan-svc0".into()))
                .expect("network"),
        };
        let pki = Layout::new(&config.pki_dir);
        let c = Components::local(&config, &pki);
        assert_eq!(c.apiserver.listen, config.listen);
        assert_eq!(c.node.shim_socket, PathBuf::from("/tmp/c/docker-shim.sock"));
        assert_eq!(c.node.kubelet_listen, "127.0.0.1:10250".parse().expect("addr"));
        let extra = &c.extra_nodes[0];
        assert_eq!((extra.name.as_str(), extra.runtime), ("n2", UpRuntime::Containerd));
        assert_eq!(extra.shim_socket, PathBuf::from("/tmp/c/containerd-shim-n2.sock"));
        assert_eq!(extra.kubelet_listen, "127.0.0.1:10251".parse().expect("addr"));
        // every kubelet points pods at the cluster DNS's Service, the API server hands out the range
        let dns: IpAddr = "10.96.0.10".parse().expect("ip");
        assert_eq!((c.node.cluster_dns.as_slice(), extra.cluster_dns.as_slice()), ([dns].as_slice(), [dns].as_slice()));
        assert_eq!(c.apiserver.service_cluster_ip_range, "10.96.0.0/12");
        assert_eq!(c.dns.listen, "127.0.0.1:0".parse().expect("addr"), "DNS listens on loopback only");
        let without = ServiceNetwork { interface: None, ..config.services.clone() };
        let c2 = Components::local(&UpConfig { services: without, ..config.clone() }, &pki);
        assert!(c2.node.cluster_dns.is_empty(), "no cluster IPs: no pod could reach the cluster DNS");
        // ephemeral ports beside an ephemeral API server port, the usual ones beside a fixed one
        assert_eq!(c.controller_manager.listen, Some("127.0.0.1:0".parse().expect("addr")));
        assert_eq!(c.scheduler_listen, "127.0.0.1:0".parse().expect("addr"));
        let fixed =
            Components::local(&UpConfig { listen: "127.0.0.1:6443".parse().expect("addr"), ..config.clone() }, &pki);
        assert_eq!(fixed.controller_manager.listen, Some("127.0.0.1:10257".parse().expect("addr")));
        assert_eq!(fixed.scheduler_listen, "127.0.0.1:10259".parse().expect("addr"));
        assert_eq!(fixed.dashboard, "127.0.0.1:10280".parse().expect("addr"));
        assert_eq!(
            c.apiserver.security.token_file,
            Some("/tmp/c/pki/tokens.csv".into()),
            "the dashboard's admin token"
        );
        assert!(
            matches!(c.apiserver.storage, StoreConfig::Embedded { ref data_dir, .. } if data_dir == &PathBuf::from("/tmp/c/apiserver"))
        );
        // the door: the PKI's serving certificate and CA, Node,RBAC, the audit log beside the data
        let tls = c.apiserver.security.tls.as_ref().expect("TLS");
        assert_eq!(tls.cert, PathBuf::from("/tmp/c/pki/apiserver.crt"));
        assert_eq!(tls.client_ca.as_deref(), Some(std::path::Path::new("/tmp/c/pki/ca.crt")));
        assert_eq!(
            c.apiserver.security.authorization_modes,
            [capstan_apiserver::door::AuthorizationMode::Node, capstan_apiserver::door::AuthorizationMode::Rbac]
        );
        assert_eq!(c.apiserver.security.audit.as_ref().map(|a| a.path.clone()), Some("/tmp/c/audit.log".into()));
    }
}
