//! A pod's resolver configuration: what its `/etc/resolv.conf` says, composed
//! from the pod's `dnsPolicy` and `dnsConfig`, the kubelet's `--cluster-dns`,
//! `--cluster-domain` and the node's own resolv.conf (`--resolv-conf`), after
//! Kubernetes' kubelet (`pkg/kubelet/network/dns`), so that manifests written
//! for Kubernetes resolve names the same way here. The shims write the result.
//!
//! Pure (but for [`node_resolv_conf`], which picks the default file): the node's resolv.conf is passed in already parsed, and what the
//! kubelet would say about the pod (limits exceeded, no cluster DNS) comes back
//! as [`DnsWarning`]s for the caller to record as events.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use capstan_proto::core::v1::{Pod, PodDnsConfig};
use capstan_proto::runtime::v1::DnsConfig;

/// `--cluster-domain`'s default. Kubernetes' kubelet has none, but kubeadm and
/// every distribution set `cluster.local`, `capstan-dns` serves that zone by
/// default, and a kubelet given only `--cluster-dns` would otherwise give its
/// pods no search domain that the cluster DNS answers, so short Service names
/// would not resolve. `--cluster-domain ""` gives kubelet's behaviour.
pub const DEFAULT_CLUSTER_DOMAIN: &str = "cluster.local";
/// `--resolv-conf`'s default, as Kubernetes' kubelet.
pub const DEFAULT_RESOLV_CONF: &str = "/etc/resolv.conf";
/// The upstream servers of systemd-resolved, whose stub (127.0.0.53) is what
/// `/etc/resolv.conf` names on such nodes and is unreachable from a pod.
pub const SYSTEMD_RESOLVED_UPSTREAM: &str = "/run/systemd/resolve/resolv.conf";

/// The node resolver file pods copy when `--resolv-conf` is left at its
/// default: `/etc/resolv.conf`, unless it names only loopback nameservers
/// (a local stub such as systemd-resolved's 127.0.0.53, unreachable from a
/// pod) and systemd-resolved's upstream file exists, which is then used, as
/// kubeadm configures the kubelet.
pub fn node_resolv_conf() -> PathBuf {
    choose_resolv_conf(Path::new(DEFAULT_RESOLV_CONF), Path::new(SYSTEMD_RESOLVED_UPSTREAM))
}

/// [`node_resolv_conf`] over the files `default` and `upstream`.
pub fn choose_resolv_conf(default: &Path, upstream: &Path) -> PathBuf {
    let stub_only = std::fs::read_to_string(default).is_ok_and(|text| {
        let servers = parse_resolv_conf(&text).servers;
        !servers.is_empty() && servers.iter().all(|s| s.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()))
    });
    if stub_only && upstream.exists() {
        upstream.to_path_buf()
    } else {
        default.to_path_buf()
    }
}

/// The most nameservers a resolver reads (glibc's `MAXNS`); the rest are dropped.
pub const MAX_NAMESERVERS: usize = 3;
/// The most search domains Kubernetes lets a pod have.
pub const MAX_SEARCH_PATHS: usize = 32;
/// The longest search line Kubernetes lets a pod have, spaces included.
pub const MAX_SEARCH_LIST_CHARS: usize = 2048;
/// A search domain longer than a DNS name can be makes some resolvers abort
/// (glibc 2.28), so it is left out.
const MAX_DOMAIN_LENGTH: usize = 253;
/// The options a ClusterFirst pod gets: names with fewer than 5 dots are tried
/// against the search list first, so `redis-master` and `redis-master.shop`
/// resolve inside the cluster.
const CLUSTER_FIRST_OPTIONS: &[&str] = &["ndots:5"];

/// The kubelet's DNS settings (its flags).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DnsSettings {
    /// `--cluster-dns`: the cluster DNS server(s) ClusterFirst pods use
    pub cluster_dns: Vec<IpAddr>,
    /// `--cluster-domain`: the cluster's zone (`cluster.local`); empty: no
    /// cluster search domains
    pub cluster_domain: String,
    /// `--resolv-conf`: the node's resolver file Default pods copy; `None`
    /// (the flag set to ""): Default pods get a resolver that finds nothing
    /// off the node
    pub resolv_conf: Option<PathBuf>,
}

/// The node's resolv.conf, as far as pods inherit it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostResolver {
    pub servers: Vec<String>,
    pub searches: Vec<String>,
    pub options: Vec<String>,
}

/// Something the kubelet tells about a pod's resolver (a Warning event on the pod).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DnsWarning {
    /// ClusterFirst without `--cluster-dns`: the pod got the node's resolver
    MissingClusterDns,
    /// more than [`MAX_NAMESERVERS`]; holds the nameservers kept
    NameserversTrimmed(Vec<String>),
    /// search domains over the limits; holds the domains kept
    SearchesTrimmed(Vec<String>),
}

impl DnsWarning {
    /// The event's reason, as Kubernetes' kubelet names it.
    pub fn reason(&self) -> &'static str {
        match self {
            DnsWarning::MissingClusterDns => "MissingClusterDNS",
            DnsWarning::NameserversTrimmed(_) | DnsWarning::SearchesTrimmed(_) => "DNSConfigForming",
        }
    }

    /// The event's message.
    pub fn message(&self) -> String {
        match self {
            DnsWarning::MissingClusterDns => {
                "kubelet does not have ClusterDNS IP configured (--cluster-dns) and cannot \
                 create Pod using \"ClusterFirst\" policy. Falling back to \"Default\" policy."
                    .to_string()
            }
            DnsWarning::NameserversTrimmed(kept) => format!(
                "Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line \
                 is: {}",
                kept.join(" ")
            ),
            DnsWarning::SearchesTrimmed(kept) => format!(
                "Search Line limits were exceeded, some search paths have been omitted, the applied search line \
                 is: {}",
                kept.join(" ")
            ),
        }
    }
}

/// A pod's resolver configuration and what to warn about it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PodDns {
    pub config: DnsConfig,
    pub warnings: Vec<DnsWarning>,
}

/// Reads a resolv.conf as the kubelet does: every `nameserver`, the last
/// `search` line (a later one replaces an earlier one, as in glibc), every
/// `options` word; comments and other keywords ignored.
pub fn parse_resolv_conf(text: &str) -> HostResolver {
    let mut host = HostResolver::default();
    for line in text.lines() {
        let line = line.split(['#', ';']).next().unwrap_or_default();
        let mut fields = line.split_whitespace();
        match fields.next() {
            Some("nameserver") => host.servers.extend(fields.next().map(str::to_string)),
            Some("search") => {
                host.searches = fields
                    .filter(|domain| *domain != ".")
                    .map(|domain| domain.trim_end_matches('.').to_string())
                    .collect()
            }
            Some("options") => host.options.extend(fields.map(str::to_string)),
            _ => {}
        }
    }
    host
}

/// How a pod resolves, from its policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PodDnsType {
    Cluster,
    Host,
    None,
}

fn dns_type(pod: &Pod) -> PodDnsType {
    let spec = pod.spec.as_ref();
    let host_network = spec.is_some_and(|s| s.host_network);
    match spec.map(|s| s.dns_policy.as_str()).unwrap_or_default() {
        "None" => PodDnsType::None,
        "ClusterFirstWithHostNet" => PodDnsType::Cluster,
        "Default" => PodDnsType::Host,
        // a host-network pod would reach the cluster DNS through the node's
        // own resolver settings only with ClusterFirstWithHostNet
        "ClusterFirst" | "" if host_network => PodDnsType::Host,
        // ClusterFirst, and what validation should have refused (as the kubelet does)
        _ => PodDnsType::Cluster,
    }
}

/// The resolver configuration of `pod` on a node whose resolv.conf is `host`
/// (ignored when `settings.resolv_conf` is `None`) and whose addresses are
/// `node_ips`.
pub fn pod_dns(pod: &Pod, settings: &DnsSettings, host: &HostResolver, node_ips: &[IpAddr]) -> PodDns {
    let mut warnings = Vec::new();
    let host_network = pod.spec.as_ref().is_some_and(|s| s.host_network);
    // A loopback nameserver of the node (a local stub: systemd-resolved's
    // 127.0.0.53, Docker's 127.0.0.11 when the kubelet runs in a container) is
    // nothing in a pod's own network namespace, so only host-network pods keep
    // it; without any left the runtime's default applies (Docker's own choice,
    // which skips such servers too). Kubernetes' kubelet copies them as they are.
    let host_config = || DnsConfig {
        servers: host
            .servers
            .iter()
            .filter(|server| host_network || !server.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()))
            .cloned()
            .collect(),
        searches: host.searches.clone(),
        options: host.options.clone(),
    };
    let mut config = match dns_type(pod) {
        PodDnsType::None => DnsConfig::default(),
        PodDnsType::Cluster if !settings.cluster_dns.is_empty() => DnsConfig {
            servers: settings.cluster_dns.iter().map(IpAddr::to_string).collect(),
            searches: cluster_searches(pod, &settings.cluster_domain, &host.searches),
            options: CLUSTER_FIRST_OPTIONS.iter().map(|o| o.to_string()).collect(),
        },
        kind => {
            if kind == PodDnsType::Cluster {
                warnings.push(DnsWarning::MissingClusterDns);
            }
            if settings.resolv_conf.is_some() {
                host_config()
            } else {
                // no node resolver: only the node itself, and no search
                // domains, so lookups find nothing off the node
                let mut servers: Vec<String> =
                    node_ips.iter().map(|ip| if ip.is_ipv6() { "::1" } else { "127.0.0.1" }.to_string()).collect();
                servers.dedup();
                if servers.is_empty() {
                    servers.push("127.0.0.1".into());
                }
                DnsConfig { servers, searches: vec![".".into()], options: host.options.clone() }
            }
        }
    };
    if let Some(extra) = pod.spec.as_ref().and_then(|s| s.dns_config.as_ref()) {
        merge(&mut config, extra);
    }
    if config.servers.len() > MAX_NAMESERVERS {
        config.servers.truncate(MAX_NAMESERVERS);
        warnings.push(DnsWarning::NameserversTrimmed(config.servers.clone()));
    }
    if fit_searches(&mut config.searches) {
        warnings.push(DnsWarning::SearchesTrimmed(config.searches.clone()));
    }
    PodDns { config, warnings }
}

/// `<ns>.svc.<zone> svc.<zone> <zone>` then the node's own search domains.
fn cluster_searches(pod: &Pod, zone: &str, host_searches: &[String]) -> Vec<String> {
    if zone.is_empty() {
        return host_searches.to_vec();
    }
    let namespace = pod.metadata.as_ref().map(|m| m.namespace.as_str()).unwrap_or_default();
    let cluster = [format!("{namespace}.svc.{zone}"), format!("svc.{zone}"), zone.to_string()];
    without_duplicates(cluster.into_iter().chain(host_searches.iter().cloned()))
}

/// The pod's `dnsConfig` after what its policy gave: nameservers and search
/// domains appended without repeats, options by name (the pod's value wins).
fn merge(config: &mut DnsConfig, extra: &PodDnsConfig) {
    config.servers = without_duplicates(config.servers.drain(..).chain(extra.nameservers.iter().cloned()));
    config.searches = without_duplicates(config.searches.drain(..).chain(extra.searches.iter().cloned()));
    let mut options: Vec<(String, String)> = Vec::new();
    let mut set = |name: &str, value: &str| match options.iter_mut().find(|(n, _)| n == name) {
        Some(existing) => existing.1 = value.to_string(),
        None => options.push((name.to_string(), value.to_string())),
    };
    for option in &config.options {
        let (name, value) = option.split_once(':').unwrap_or((option, ""));
        set(name, value);
    }
    for option in &extra.options {
        set(&option.name, option.value.as_deref().unwrap_or_default());
    }
    config.options = options
        .into_iter()
        .map(|(name, value)| if value.is_empty() { name } else { format!("{name}:{value}") })
        .collect();
}

fn without_duplicates(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut kept: Vec<String> = Vec::new();
    for item in items {
        if !kept.contains(&item) {
            kept.push(item);
        }
    }
    kept
}

/// Trims `searches` to Kubernetes' limits: the first [`MAX_SEARCH_PATHS`],
/// none longer than a DNS name, then whole domains off the end until the line
/// fits [`MAX_SEARCH_LIST_CHARS`]. Returns whether anything was dropped.
fn fit_searches(searches: &mut Vec<String>) -> bool {
    let before = searches.len();
    searches.truncate(MAX_SEARCH_PATHS);
    searches.retain(|domain| domain.len() <= MAX_DOMAIN_LENGTH);
    while searches.join(" ").len() > MAX_SEARCH_LIST_CHARS {
        searches.pop();
    }
    searches.len() != before
}
