//! Service defaults: type, protocol, target port from port, IP family and
//! traffic policies, and ClientIP affinity's timeout.

use super::set_if_empty;
use capstan_proto::core::v1::{ClientIpConfig, Service, SessionAffinityConfig};
use capstan_proto::meta::v1::IntOrString;

/// ClientIP session affinity's default stickiness: three hours.
pub const DEFAULT_CLIENT_IP_TIMEOUT: i32 = 10800;

pub(super) fn service(svc: &mut Service) {
    let spec = svc.spec.get_or_insert_with(Default::default);
    set_if_empty(&mut spec.r#type, "ClusterIP");
    set_if_empty(&mut spec.session_affinity, "None");
    if spec.session_affinity == "ClientIP" {
        let config = spec.session_affinity_config.get_or_insert_with(SessionAffinityConfig::default);
        let client_ip = config.client_ip.get_or_insert_with(ClientIpConfig::default);
        client_ip.timeout_seconds.get_or_insert(DEFAULT_CLIENT_IP_TIMEOUT);
    }
    for port in &mut spec.ports {
        set_if_empty(&mut port.protocol, "TCP");
        let unset = match &port.target_port {
            None => true,
            Some(t) if t.is_string() => t.str_val.is_empty(),
            Some(t) => t.int_val == 0,
        };
        if unset {
            port.target_port = Some(IntOrString::from_int(port.port));
        }
    }
    let kind = spec.r#type.clone();
    if kind != "ExternalName" {
        set_if_empty(&mut spec.internal_traffic_policy, "Cluster");
        if spec.ip_families.is_empty() {
            spec.ip_families.push("IPv4".to_string());
        }
        set_if_empty(&mut spec.ip_family_policy, "SingleStack");
        if !spec.cluster_ip.is_empty() && spec.cluster_ips.is_empty() {
            spec.cluster_ips.push(spec.cluster_ip.clone());
        }
    }
    if kind == "NodePort" || kind == "LoadBalancer" {
        set_if_empty(&mut spec.external_traffic_policy, "Cluster");
    }
    if kind == "LoadBalancer" {
        spec.allocate_load_balancer_node_ports.get_or_insert(true);
    }
}
