//! What a Service's EndpointSlices say, from its pods, as pure code: the
//! wanted slices ([`desired`]) and the writes that turn the existing ones
//! into them ([`plan`]).
//!
//! Each pod with an IP that has not finished gives one endpoint, with the
//! conditions Kubernetes' controller writes: `serving` is the pod's Ready
//! condition, `terminating` its deletion, and `ready` is serving and not
//! terminating (always true with `publishNotReadyAddresses`). Endpoints
//! are grouped by address type and by the ports their pod resolves (a pod
//! that gives a named port another number lands in another slice), then
//! cut into slices of at most [`MAX_ENDPOINTS_PER_SLICE`]. Everything is
//! sorted, so the same pods always give the same slices and an unchanged
//! slice is never rewritten.

use crate::endpoints::subsets::{is_pod_ready, labels, protocol, target_port};
use capstan_proto::core::v1::{Endpoints, ObjectReference, Pod, Service};
use capstan_proto::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use std::borrow::Borrow;
use std::collections::BTreeMap;

/// Kubernetes' default `--max-endpoints-per-slice`.
pub const MAX_ENDPOINTS_PER_SLICE: usize = 100;
/// The label naming a slice's Service; kubectl and DNS select on it.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
/// The label naming who keeps a slice.
pub const MANAGED_BY_LABEL: &str = "endpointslice.kubernetes.io/managed-by";
/// This controller's value of [`MANAGED_BY_LABEL`], as Kubernetes' own.
pub const MANAGED_BY: &str = "endpointslice-controller.k8s.io";
/// The value for slices mirrored from a selector-less Service's Endpoints,
/// as Kubernetes' endpointslicemirroring controller labels them.
pub const MANAGED_BY_MIRRORING: &str = "endpointslicemirroring-controller.k8s.io";
/// Endpoints labelled with this set to "true" are not mirrored.
pub const SKIP_MIRROR_LABEL: &str = "endpointslice.kubernetes.io/skip-mirror";
/// The node label an endpoint's zone is read from.
pub const ZONE_LABEL: &str = "topology.kubernetes.io/zone";

/// One slice as the controller wants it, without metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub address_type: String,
    pub ports: Vec<EndpointPort>,
    pub endpoints: Vec<Endpoint>,
}

/// The labels of a Service's slices: its Endpoints' labels (its own and
/// the headless mark) and the two that find them again; a selector-less
/// Service's slices are mirrored, and say so.
pub fn slice_labels(service: &Service) -> BTreeMap<String, String> {
    let mut out = labels(service);
    out.insert(SERVICE_NAME_LABEL.into(), service.metadata.as_ref().map(|m| m.name.clone()).unwrap_or_default());
    let selects = service.spec.as_ref().is_some_and(|s| !s.selector.is_empty());
    out.insert(MANAGED_BY_LABEL.into(), if selects { MANAGED_BY } else { MANAGED_BY_MIRRORING }.into());
    out
}

/// True for a slice this controller keeps (from pods, or mirrored).
pub fn is_managed(slice: &EndpointSlice) -> bool {
    slice
        .metadata
        .as_ref()
        .is_some_and(|m| m.labels.get(MANAGED_BY_LABEL).is_some_and(|v| v == MANAGED_BY || v == MANAGED_BY_MIRRORING))
}

/// The slices that mirror `endpoints`, the Endpoints a user wrote for a
/// Service without a selector (Kubernetes' endpointslicemirroring): each
/// address an endpoint, ready (and serving) when listed in `addresses`, not
/// when in `notReadyAddresses`, with its hostname, node and target; grouped
/// by address type and the subset's ports, sorted, at most
/// [`MAX_ENDPOINTS_PER_SLICE`] a slice. Addresses that are not IPs are left
/// out (validation refuses them; this never guesses).
pub fn mirrored(endpoints: &Endpoints) -> Vec<Desired> {
    let mut groups: BTreeMap<(String, Vec<PortKey>), BTreeMap<String, Endpoint>> = BTreeMap::new();
    for subset in &endpoints.subsets {
        let mut ports: Vec<PortKey> = subset
            .ports
            .iter()
            .map(|p| (p.name.clone(), p.port, protocol(&p.protocol).to_string(), p.app_protocol.clone()))
            .collect();
        ports.sort();
        let listed =
            subset.addresses.iter().map(|a| (a, true)).chain(subset.not_ready_addresses.iter().map(|a| (a, false)));
        for (address, ready) in listed {
            let Ok(ip) = address.ip.parse::<std::net::IpAddr>() else { continue };
            let address_type = if ip.is_ipv4() { "IPv4" } else { "IPv6" };
            let endpoint = Endpoint {
                addresses: vec![address.ip.clone()],
                conditions: Some(EndpointConditions {
                    ready: Some(ready),
                    serving: Some(ready),
                    terminating: Some(false),
                }),
                hostname: (!address.hostname.is_empty()).then(|| address.hostname.clone()),
                target_ref: address.target_ref.clone(),
                node_name: address.node_name.clone().filter(|n| !n.is_empty()),
                ..Default::default()
            };
            groups.entry((address_type.to_string(), ports.clone())).or_default().insert(address.ip.clone(), endpoint);
        }
    }
    cut(groups)
}

/// The Service a slice belongs to, by its label.
pub fn service_name(slice: &EndpointSlice) -> Option<&str> {
    slice.metadata.as_ref()?.labels.get(SERVICE_NAME_LABEL).map(String::as_str)
}

/// The slices `service` wants over `pods` (already selected); `zone_of`
/// answers a node's zone.
pub fn desired(service: &Service, pods: &[impl Borrow<Pod>], zone_of: impl Fn(&str) -> Option<String>) -> Vec<Desired> {
    let spec = service.spec.clone().unwrap_or_default();
    let service_meta = service.metadata.clone().unwrap_or_default();
    // (address type, ports) -> endpoints by (address, pod uid)
    type Group = BTreeMap<(String, String), Endpoint>;
    let mut groups: BTreeMap<(String, Vec<PortKey>), Group> = BTreeMap::new();
    for pod in pods.iter().map(Borrow::borrow) {
        let meta = pod.metadata.clone().unwrap_or_default();
        let status = pod.status.clone().unwrap_or_default();
        let pod_spec = pod.spec.clone().unwrap_or_default();
        if status.pod_ip.is_empty() || status.phase == "Succeeded" || status.phase == "Failed" {
            continue;
        }
        let Ok(ip) = status.pod_ip.parse::<std::net::IpAddr>() else { continue };
        let address_type = if ip.is_ipv4() { "IPv4" } else { "IPv6" };
        let terminating = meta.deletion_timestamp.is_some();
        let serving = is_pod_ready(pod);
        let ready = spec.publish_not_ready_addresses || (serving && !terminating);
        let named = !pod_spec.hostname.is_empty()
            && pod_spec.subdomain == service_meta.name
            && meta.namespace == service_meta.namespace;
        let node = (!pod_spec.node_name.is_empty()).then(|| pod_spec.node_name.clone());
        let endpoint = Endpoint {
            addresses: vec![status.pod_ip.clone()],
            conditions: Some(EndpointConditions {
                ready: Some(ready),
                serving: Some(serving),
                terminating: Some(terminating),
            }),
            hostname: named.then(|| pod_spec.hostname.clone()),
            target_ref: Some(ObjectReference {
                kind: "Pod".into(),
                namespace: meta.namespace.clone(),
                name: meta.name.clone(),
                uid: meta.uid.clone(),
                ..Default::default()
            }),
            zone: node.as_deref().and_then(&zone_of),
            node_name: node,
        };
        // a port the pod does not have leaves that port out for this pod only
        let ports: Vec<PortKey> = spec
            .ports
            .iter()
            .filter_map(|port| {
                let number = target_port(pod, port)?;
                Some((port.name.clone(), number, protocol(&port.protocol).to_string(), port.app_protocol.clone()))
            })
            .collect();
        groups
            .entry((address_type.to_string(), ports))
            .or_default()
            .insert((status.pod_ip.clone(), meta.uid.clone()), endpoint);
    }
    let mut out = cut(groups);
    if out.is_empty() && !spec.ports.is_empty() {
        // Kubernetes keeps one empty slice with the Service's ports, so that
        // readers see a Service with no endpoints rather than no slices
        let ports = spec
            .ports
            .iter()
            .map(|p| EndpointPort {
                name: Some(p.name.clone()),
                protocol: Some(protocol(&p.protocol).to_string()),
                port: None,
                app_protocol: (!p.app_protocol.is_empty()).then(|| p.app_protocol.clone()),
            })
            .collect();
        out.push(Desired { address_type: "IPv4".into(), ports, endpoints: Vec::new() });
    }
    out
}

/// One Service port as a pod resolves it: name, number, protocol, appProtocol.
type PortKey = (String, i32, String, String);

/// Endpoints grouped by address type and ports, each group's endpoints keyed
/// (and so sorted) by what identifies them, cut into slices of at most
/// [`MAX_ENDPOINTS_PER_SLICE`].
fn cut<K>(groups: BTreeMap<(String, Vec<PortKey>), BTreeMap<K, Endpoint>>) -> Vec<Desired> {
    let mut out = Vec::new();
    for ((address_type, ports), endpoints) in groups {
        let ports: Vec<EndpointPort> = ports
            .into_iter()
            .map(|(name, port, protocol, app_protocol)| EndpointPort {
                name: Some(name),
                protocol: Some(protocol),
                port: Some(port),
                app_protocol: (!app_protocol.is_empty()).then_some(app_protocol),
            })
            .collect();
        let endpoints: Vec<Endpoint> = endpoints.into_values().collect();
        for chunk in endpoints.chunks(MAX_ENDPOINTS_PER_SLICE) {
            out.push(Desired { address_type: address_type.clone(), ports: ports.clone(), endpoints: chunk.to_vec() });
        }
    }
    out
}

/// The writes that turn `existing` (this Service's managed slices) into
/// `desired`.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    pub create: Vec<Desired>,
    /// an existing slice (by name) and what it should say
    pub update: Vec<(String, Desired)>,
    pub delete: Vec<String>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.create.is_empty() && self.update.is_empty() && self.delete.is_empty()
    }
}

/// What an existing slice says, to compare with what is wanted.
pub fn says(slice: &EndpointSlice) -> Desired {
    Desired { address_type: slice.address_type.clone(), ports: slice.ports.clone(), endpoints: slice.endpoints.clone() }
}

/// Slices that already say what is wanted stay; the rest of the wanted
/// slices reuse, in name order, the leftover slices of the same address
/// type and ports, then any leftover slice of the same address type
/// (its type cannot change), and are created when none is left; what
/// remains is deleted. So an unchanged Service writes nothing, and a pod
/// coming or going rewrites one slice, not all.
pub fn plan(existing: &[impl Borrow<EndpointSlice>], desired: Vec<Desired>) -> Plan {
    let mut left: BTreeMap<String, Desired> = existing
        .iter()
        .map(Borrow::borrow)
        .map(|s| (s.metadata.as_ref().map(|m| m.name.clone()).unwrap_or_default(), says(s)))
        .collect();
    let mut wanted = Vec::new();
    for want in desired {
        match left.iter().find(|(_, has)| **has == want).map(|(name, _)| name.clone()) {
            Some(name) => {
                left.remove(&name);
            }
            None => wanted.push(want),
        }
    }
    let mut plan = Plan::default();
    for want in wanted {
        let same_ports = |has: &Desired| has.address_type == want.address_type && has.ports == want.ports;
        let same_type = |has: &Desired| has.address_type == want.address_type;
        let reuse = left
            .iter()
            .find(|(_, has)| same_ports(has))
            .or_else(|| left.iter().find(|(_, has)| same_type(has)))
            .map(|(name, _)| name.clone());
        match reuse {
            Some(name) => {
                left.remove(&name);
                plan.update.push((name, want));
            }
            None => plan.create.push(want),
        }
    }
    plan.delete = left.into_keys().collect();
    plan
}

#[cfg(test)]
mod tests;
