//! Services found by name from inside `capstan up`'s cluster, with no step of
//! the user's: the proxy serves every cluster IP on an interface it owns, the
//! cluster DNS (`capstan-dns`, in this process) answers for the cluster's
//! zone, and the kubelets point their pods' resolvers at it.
//!
//! Pods reach the DNS the way they reach any Service: `kube-system/kube-dns`
//! (Kubernetes' name for it) holds a fixed cluster IP from the service range,
//! the proxy serves that address, and the Service's Endpoints name the DNS
//! server's own listener. That listener stays on loopback (nothing
//! unauthenticated listens off it): a `capstan up` cluster is one host, so
//! the proxy, in the host's network namespace, reaches it there. The
//! Service has no selector, so no controller rewrites its Endpoints; `up`
//! writes them at every start, since the listener's port is the one the OS
//! gave.

use crate::errors::CliError;
use capstan_client::Client;
use capstan_proto::core::v1::{
    EndpointAddress, EndpointPort, EndpointSubset, Endpoints, Service, ServicePort, ServiceSpec,
};
use capstan_proto::meta::v1::ObjectMeta;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Where Kubernetes keeps its cluster DNS Service.
pub const NAMESPACE: &str = "kube-system";
pub const SERVICE: &str = "kube-dns";

/// How the cluster's Services are addressed: the range cluster IPs come
/// from, the DNS server's address in it, the zone, and the interface the
/// proxy serves them on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceNetwork {
    /// `--service-cluster-ip-range`, as the API server takes it.
    pub range: String,
    /// The cluster IP of `kube-system/kube-dns`, which pods' resolvers name.
    pub dns_ip: Ipv4Addr,
    /// `--cluster-domain`.
    pub cluster_domain: String,
    /// The proxy's interface for cluster IPs; `None` (`--no-cluster-ip`):
    /// no cluster IP is reachable, so pods keep the node's resolvers.
    pub interface: Option<String>,
}

impl ServiceNetwork {
    /// The network of `range` (an IPv4 CIDR): the DNS at `dns_ip`, or at the
    /// range's tenth address as kubeadm places it (`10.96.0.10` in
    /// `10.96.0.0/12`).
    pub fn new(
        range: &str,
        dns_ip: Option<Ipv4Addr>,
        cluster_domain: &str,
        interface: Option<String>,
    ) -> Result<ServiceNetwork, CliError> {
        let net: ipnet::Ipv4Net = range.parse().map_err(|_| {
            CliError::Usage(format!("--service-cluster-ip-range {range:?} is not an IPv4 CIDR such as 10.96.0.0/12"))
        })?;
        let net = net.trunc();
        let dns_ip = match dns_ip {
            Some(ip) => ip,
            None => net.hosts().nth(9).ok_or_else(|| {
                CliError::Usage(format!("--service-cluster-ip-range {range} is too small to hold the cluster DNS"))
            })?,
        };
        // the network address and the first host are never handed out (the allocator's rule)
        let first_host = net.hosts().next();
        if !net.contains(&dns_ip) || Some(dns_ip) == first_host || dns_ip == net.network() || dns_ip == net.broadcast()
        {
            return Err(CliError::Usage(format!(
                "--cluster-dns-ip {dns_ip} is not an address the service range {net} can hand out"
            )));
        }
        if let Some(name) = &interface {
            if name.is_empty() || name.len() > 15 || name.contains(['/', ' ']) {
                return Err(CliError::Usage(format!(
                    "--cluster-ip-interface {name:?} is not an interface name (1 to 15 characters, no '/' or space)"
                )));
            }
        }
        Ok(ServiceNetwork { range: net.to_string(), dns_ip, cluster_domain: cluster_domain.to_string(), interface })
    }

    /// Whether pods can reach cluster IPs, and so the cluster DNS.
    pub fn serves_cluster_ips(&self) -> bool {
        self.interface.is_some()
    }
}

/// `kube-system/kube-dns`: DNS over UDP and TCP on port 53 of `dns_ip`,
/// with no selector (its Endpoints are [`endpoints`]).
pub fn service(dns_ip: Ipv4Addr) -> Service {
    let port = |name: &str, protocol: &str| ServicePort {
        name: name.to_string(),
        protocol: protocol.to_string(),
        port: 53,
        target_port: Some(capstan_proto::meta::v1::IntOrString::from_int(53)),
        ..Default::default()
    };
    Service {
        metadata: Some(meta()),
        spec: Some(ServiceSpec {
            r#type: "ClusterIP".to_string(),
            cluster_ip: dns_ip.to_string(),
            ports: vec![port("dns", "UDP"), port("dns-tcp", "TCP")],
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The Endpoints of `kube-dns`: the DNS server's listener, both protocols.
pub fn endpoints(listener: SocketAddr) -> Endpoints {
    let port = |name: &str, protocol: &str| EndpointPort {
        name: name.to_string(),
        protocol: protocol.to_string(),
        port: i32::from(listener.port()),
        ..Default::default()
    };
    Endpoints {
        metadata: Some(meta()),
        subsets: vec![EndpointSubset {
            addresses: vec![EndpointAddress { ip: listener.ip().to_string(), ..Default::default() }],
            ports: vec![port("dns", "UDP"), port("dns-tcp", "TCP")],
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn meta() -> ObjectMeta {
    ObjectMeta {
        name: SERVICE.to_string(),
        namespace: NAMESPACE.to_string(),
        labels: [("k8s-app", "kube-dns"), ("kubernetes.io/name", "CoreDNS")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    }
}

/// Makes `kube-dns` name the DNS server at `listener`: the Service is created
/// once (an existing one keeps its address: a cluster started with another
/// `--cluster-dns-ip` says so rather than move it), the Endpoints written at
/// every start. Returns the Service's cluster IP.
pub async fn publish(
    client: &Client,
    server: &str,
    network: &ServiceNetwork,
    listener: SocketAddr,
) -> Result<IpAddr, CliError> {
    let failed = |error| CliError::from_client(error, None, server);
    let services = client.api::<Service>(Some(NAMESPACE));
    let existing = match services.get(SERVICE).await {
        Ok(service) => service,
        Err(error) if error.is_not_found() => services.create(&service(network.dns_ip)).await.map_err(failed)?,
        Err(error) => return Err(failed(error)),
    };
    let cluster_ip = existing.spec.as_ref().map(|s| s.cluster_ip.as_str()).unwrap_or_default();
    let cluster_ip: IpAddr = cluster_ip.parse().map_err(|_| {
        CliError::Usage(format!("{NAMESPACE}/{SERVICE} has no cluster IP ({cluster_ip:?}): delete it and start again"))
    })?;
    if cluster_ip != IpAddr::V4(network.dns_ip) {
        return Err(CliError::Usage(format!(
            "{NAMESPACE}/{SERVICE} already serves on {cluster_ip}, not --cluster-dns-ip {}: \
             start with --cluster-dns-ip {cluster_ip}, or delete the Service",
            network.dns_ip
        )));
    }
    let endpoints_api = client.api::<Endpoints>(Some(NAMESPACE));
    let mut wanted = endpoints(listener);
    match endpoints_api.get(SERVICE).await {
        Ok(current) if current.subsets == wanted.subsets => {}
        Ok(current) => {
            wanted.metadata = current.metadata;
            endpoints_api.update(&wanted).await.map_err(failed)?;
        }
        Err(error) if error.is_not_found() => {
            endpoints_api.create(&wanted).await.map_err(failed)?;
        }
        Err(error) => return Err(failed(error)),
    }
    Ok(cluster_ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dns_takes_the_tenth_address_unless_told() {
        let cases: &[(&str, Option<&str>, Result<&str, &str>)] = &[
            ("10.96.0.0/12", None, Ok("10.96.0.10")),
            ("10.200.7.0/24", None, Ok("10.200.7.10")),
            // a range written from a host address is its network
            ("10.96.3.4/12", None, Ok("10.96.0.10")),
            ("10.96.0.0/12", Some("10.96.0.53"), Ok("10.96.0.53")),
            ("10.96.0.0/12", Some("10.97.0.10"), Ok("10.97.0.10")),
            ("10.96.0.0/12", Some("10.112.0.10"), Err("not an address the service range")),
            ("10.96.0.0/12", Some("10.96.0.1"), Err("not an address the service range")),
            ("10.96.0.0/12", Some("10.96.0.0"), Err("not an address the service range")),
            ("10.96.0.0/29", None, Err("too small")),
            ("10.96.0.0", None, Err("not an IPv4 CIDR")),
            ("fd00::/108", None, Err("not an IPv4 CIDR")),
        ];
        for (range, dns, want) in cases {
            let dns = dns.map(|d| d.parse().expect("test address"));
            let got = ServiceNetwork::new(range, dns, "cluster.local", None);
            match (got, want) {
                (Ok(network), Ok(ip)) => assert_eq!(network.dns_ip.to_string(), *ip, "{range} {dns:?}"),
                (Err(error), Err(text)) => assert!(error.to_string().contains(text), "{range} {dns:?}: {error}"),
                (got, want) => panic!("{range} {dns:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn interface_names_fit_the_kernel() {
        let with = |name: &str| ServiceNetwork::new("10.96.0.0/12", None, "cluster.local", Some(name.to_string()));
        assert!(with("capstan-svc0").is_ok());
        assert!(with("capstan-svc0-too-long").is_err_and(|e| e.to_string().contains("1 to 15")));
        assert!(with("").is_err());
        assert!(with("a/b").is_err());
    }

    #[test]
    fn kube_dns_names_the_listener_on_both_protocols() {
        let service = service("10.96.0.10".parse().expect("ip"));
        let spec = service.spec.expect("spec");
        assert_eq!(spec.cluster_ip, "10.96.0.10");
        let ports: Vec<_> = spec.ports.iter().map(|p| (p.name.as_str(), p.protocol.as_str(), p.port)).collect();
        assert_eq!(ports, [("dns", "UDP", 53), ("dns-tcp", "TCP", 53)]);
        assert!(spec.selector.is_empty(), "a selector would let the endpoints controller empty the Endpoints");
        let endpoints = endpoints("127.0.0.1:40053".parse().expect("addr"));
        let subset = &endpoints.subsets[0];
        assert_eq!(subset.addresses[0].ip, "127.0.0.1");
        let ports: Vec<_> = subset.ports.iter().map(|p| (p.name.as_str(), p.protocol.as_str(), p.port)).collect();
        assert_eq!(ports, [("dns", "UDP", 40053), ("dns-tcp", "TCP", 40053)]);
    }
}
