//! From Service and Endpoints objects to the plain table the proxy serves:
//! one [`PortSpec`] per port of every Service.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use capstan_proto::core::v1::{Endpoints, Service, ServicePort};

use crate::balance::{affinity_timeout, Algorithm};

/// The annotation that chooses a Service's algorithm over `--mode`.
pub const LB_ANNOTATION: &str = "capstan.io/lb-algorithm";

/// TCP or UDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    Tcp,
    Udp,
}

/// `namespace/name:port-name/protocol` — one service port.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortKey {
    pub namespace: String,
    pub name: String,
    pub port: String,
    pub protocol: Protocol,
}

impl std::fmt::Display for PortKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let proto = match self.protocol {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        };
        write!(f, "{}/{}:{}/{}", self.namespace, self.name, self.port, proto)
    }
}

/// What the proxy does for one service port.
#[derive(Debug, Clone, PartialEq)]
pub struct PortSpec {
    /// Where to listen: node addresses at the nodePort, the cluster IP at the port.
    pub listen: Vec<SocketAddr>,
    /// The Service's cluster IP (`None` for a headless Service or none yet).
    pub cluster_ip: Option<IpAddr>,
    pub algorithm: Algorithm,
    /// `Some(timeout)` for `sessionAffinity: ClientIP`.
    pub affinity: Option<Duration>,
    /// Ready backends (Endpoints `addresses`, never `notReadyAddresses`).
    pub backends: Vec<SocketAddr>,
}

/// The proxy's settings that shape the table.
#[derive(Debug, Clone)]
pub struct TableConfig {
    pub mode: Algorithm,
    pub nodeport_addresses: Vec<IpAddr>,
}

/// One entry per port of every Service, given the Endpoints by namespace/name.
pub fn table(
    services: &[std::sync::Arc<Service>],
    endpoints: &dyn Fn(&str, &str) -> Option<std::sync::Arc<Endpoints>>,
    config: &TableConfig,
) -> BTreeMap<PortKey, PortSpec> {
    let mut out = BTreeMap::new();
    for service in services {
        let meta = service.metadata.clone().unwrap_or_default();
        let Some(spec) = &service.spec else { continue };
        let algorithm = meta.annotations.get(LB_ANNOTATION).and_then(|a| a.parse().ok()).unwrap_or(config.mode);
        let affinity = (spec.session_affinity == "ClientIP").then(|| {
            let seconds = spec
                .session_affinity_config
                .as_ref()
                .and_then(|c| c.client_ip.as_ref())
                .and_then(|c| c.timeout_seconds);
            affinity_timeout(seconds)
        });
        let eps = endpoints(&meta.namespace, &meta.name);
        for port in &spec.ports {
            let Some(protocol) = protocol_of(&port.protocol) else { continue };
            let key = PortKey {
                namespace: meta.namespace.clone(),
                name: meta.name.clone(),
                port: port.name.clone(),
                protocol,
            };
            let mut listen = Vec::new();
            let exposes_node_port = matches!(spec.r#type.as_str(), "NodePort" | "LoadBalancer");
            if exposes_node_port {
                if let Ok(node_port) = u16::try_from(port.node_port) {
                    if node_port != 0 {
                        listen.extend(config.nodeport_addresses.iter().map(|ip| SocketAddr::new(*ip, node_port)));
                    }
                }
            }
            let cluster_ip = spec.cluster_ip.parse::<IpAddr>().ok();
            if let (Some(ip), Ok(p)) = (cluster_ip, u16::try_from(port.port)) {
                listen.push(SocketAddr::new(ip, p));
            }
            let backends = eps.as_deref().map(|e| backends_for(e, port, protocol)).unwrap_or_default();
            out.insert(key, PortSpec { listen, cluster_ip, algorithm, affinity, backends });
        }
    }
    out
}

/// The cluster IPs `table` serves: what the proxy's interface must hold.
pub fn cluster_ips(table: &BTreeMap<PortKey, PortSpec>) -> std::collections::BTreeSet<IpAddr> {
    table.values().filter_map(|spec| spec.cluster_ip).collect()
}

fn protocol_of(text: &str) -> Option<Protocol> {
    match text {
        "" | "TCP" => Some(Protocol::Tcp),
        "UDP" => Some(Protocol::Udp),
        _ => None,
    }
}

/// The ready addresses of `endpoints` at the endpoint port named like `port`.
fn backends_for(endpoints: &Endpoints, port: &ServicePort, protocol: Protocol) -> Vec<SocketAddr> {
    let mut out = Vec::new();
    for subset in &endpoints.subsets {
        let matching = subset
            .ports
            .iter()
            .find(|p| protocol_of(&p.protocol) == Some(protocol) && (p.name == port.name || subset.ports.len() == 1));
        let Some(target) = matching.and_then(|p| u16::try_from(p.port).ok()) else { continue };
        for address in &subset.addresses {
            if let Ok(ip) = address.ip.parse::<IpAddr>() {
                out.push(SocketAddr::new(ip, target));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
