//! Services: ports, type, session affinity, selector and cluster IP.
//!
//! The proxy opens a listener per service port and the registry allocates
//! cluster IPs and node ports; both assume what is checked here (unique
//! ports, node ports in range, a cluster IP that stays put).

use super::common::{self, check};
use super::error::{Errors, FieldError, Path};
use super::meta;
use capstan_proto::core::v1::{Service, ServicePort, ServiceSpec};
use capstan_proto::kinds::SERVICE;
use capstan_selectors::syntax;
use std::collections::BTreeSet;

pub const TYPES: &[&str] = &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
pub const NODE_PORT_RANGE: std::ops::RangeInclusive<i32> = 30000..=32767;

pub fn service(errs: &mut Errors, svc: &Service) {
    meta::object_meta(errs, svc.metadata.as_ref(), &SERVICE, meta::NameRule::Label);
    let spec = svc.spec.clone().unwrap_or_default();
    let path = Path::new("spec");
    common::one_of(errs, &path.child("type"), &spec.r#type, TYPES);
    let kind = if spec.r#type.is_empty() { "ClusterIP" } else { spec.r#type.as_str() };
    if kind == "ExternalName" {
        if spec.external_name.is_empty() {
            errs.push(FieldError::required(path.child("externalName"), ""));
        } else {
            check(
                errs,
                &path.child("externalName"),
                spec.external_name.trim_end_matches('.'),
                syntax::dns1123_subdomain,
            );
        }
        if !spec.cluster_ip.is_empty() {
            errs.push(FieldError::forbidden(path.child("clusterIP"), "may not be set for ExternalName services"));
        }
    } else if spec.ports.is_empty() {
        errs.push(FieldError::required(path.child("ports"), ""));
    }
    ports(errs, &path.child("ports"), &spec.ports, kind);
    common::labels(errs, &path.child("selector"), &spec.selector);
    cluster_ip(errs, &path, &spec, kind);
    for (i, ip) in spec.external_ips.iter().enumerate() {
        common::ipv4_address(errs, &path.child("externalIPs").index(i), ip);
    }
    session_affinity(errs, &path, &spec);
    let traffic = &["Cluster", "Local"];
    common::one_of(errs, &path.child("internalTrafficPolicy"), &spec.internal_traffic_policy, traffic);
    common::one_of(errs, &path.child("externalTrafficPolicy"), &spec.external_traffic_policy, traffic);
    if !spec.external_traffic_policy.is_empty() && !matches!(kind, "NodePort" | "LoadBalancer") {
        errs.push(FieldError::invalid(
            path.child("externalTrafficPolicy"),
            &spec.external_traffic_policy,
            "may only be set when `type` is 'NodePort' or 'LoadBalancer'",
        ));
    }
    let mut families = BTreeSet::new();
    for (i, family) in spec.ip_families.iter().enumerate() {
        let p = path.child("ipFamilies").index(i);
        common::one_of(errs, &p, family, &["IPv4", "IPv6"]);
        if !families.insert(family) {
            errs.push(FieldError::duplicate(p, family));
        }
    }
    let policies = &["SingleStack", "PreferDualStack", "RequireDualStack"];
    common::one_of(errs, &path.child("ipFamilyPolicy"), &spec.ip_family_policy, policies);
}

fn ports(errs: &mut Errors, path: &Path, ports: &[ServicePort], kind: &str) {
    let mut names = BTreeSet::new();
    let mut port_protocols = BTreeSet::new();
    let mut node_ports = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        let p = path.index(i);
        if port.name.is_empty() {
            if ports.len() > 1 {
                errs.push(FieldError::required(p.child("name"), ""));
            }
        } else {
            check(errs, &p.child("name"), &port.name, syntax::dns1123_label);
            if !names.insert(port.name.as_str()) {
                errs.push(FieldError::duplicate(p.child("name"), &port.name));
            }
        }
        common::port_number(errs, &p.child("port"), port.port);
        common::protocol(errs, &p.child("protocol"), &port.protocol);
        let protocol = if port.protocol.is_empty() { "TCP" } else { port.protocol.as_str() };
        if !port_protocols.insert((port.port, protocol)) {
            errs.push(FieldError::duplicate(&p, format!("{}/{protocol}", port.port)));
        }
        if let Some(target) = &port.target_port {
            common::port_number_or_name(errs, &p.child("targetPort"), target);
        }
        if port.node_port != 0 {
            let np = p.child("nodePort");
            if !matches!(kind, "NodePort" | "LoadBalancer") {
                errs.push(FieldError::forbidden(&np, format!("may not be used when `type` is '{kind}'")));
            } else if !NODE_PORT_RANGE.contains(&port.node_port) {
                errs.push(FieldError::invalid(
                    &np,
                    port.node_port,
                    "provided port is not in the valid range. The range of valid ports is 30000-32767",
                ));
            } else if !node_ports.insert((port.node_port, protocol)) {
                errs.push(FieldError::duplicate(&np, port.node_port));
            }
        }
    }
}

fn cluster_ip(errs: &mut Errors, path: &Path, spec: &ServiceSpec, kind: &str) {
    let p = path.child("clusterIP");
    match spec.cluster_ip.as_str() {
        "" => {}
        "None" if matches!(kind, "NodePort" | "LoadBalancer") => {
            errs.push(FieldError::invalid(&p, "None", format!("may not be set to 'None' for {kind} services")))
        }
        "None" => {}
        ip => common::ipv4_address(errs, &p, ip),
    }
    if let Some(first) = spec.cluster_ips.first() {
        if !spec.cluster_ip.is_empty() && *first != spec.cluster_ip {
            errs.push(FieldError::invalid(
                path.child("clusterIPs").index(0),
                first,
                "must be equal to `clusterIP` when both are set",
            ));
        }
    }
}

fn session_affinity(errs: &mut Errors, path: &Path, spec: &ServiceSpec) {
    common::one_of(errs, &path.child("sessionAffinity"), &spec.session_affinity, &["ClientIP", "None"]);
    let config = spec.session_affinity_config.as_ref().and_then(|c| c.client_ip.as_ref());
    if spec.session_affinity == "ClientIP" {
        if let Some(timeout) = config.and_then(|c| c.timeout_seconds) {
            if !(1..=86400).contains(&timeout) {
                errs.push(FieldError::invalid(
                    path.child("sessionAffinityConfig").child("clientIP").child("timeoutSeconds"),
                    timeout,
                    "must be greater than 0 and less than or equal to 86400",
                ));
            }
        }
    } else if config.is_some() {
        let affinity = if spec.session_affinity.is_empty() { "None" } else { spec.session_affinity.as_str() };
        errs.push(FieldError::forbidden(
            path.child("sessionAffinityConfig"),
            format!("must not be set when session affinity is {affinity}"),
        ));
    }
}

/// A cluster IP, once allocated, stays. An empty one in the update means
/// "not sent"; the registry keeps the stored value.
pub fn service_update(errs: &mut Errors, new: &Service, old: &Service) {
    let ip = |s: &Service| s.spec.as_ref().map(|s| s.cluster_ip.clone()).unwrap_or_default();
    let (new_ip, old_ip) = (ip(new), ip(old));
    if !old_ip.is_empty() && !new_ip.is_empty() && new_ip != old_ip {
        errs.push(FieldError::invalid(Path::new("spec").child("clusterIP"), &new_ip, "field is immutable"));
    }
}
