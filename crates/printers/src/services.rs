//! Services: NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE (wide: SELECTOR),
//! with ports as `80:30080/TCP` when a node port is allocated.

use super::age::age;
use super::{labels_string, or_none};
use capstan_proto::core::v1::{Service, ServiceSpec};
use capstan_proto::Resource;
use chrono::{DateTime, Utc};

pub fn header(wide: bool) -> Vec<&'static str> {
    let mut h = vec!["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"];
    if wide {
        h.push("SELECTOR");
    }
    h
}

pub fn row(service: &Service, wide: bool, now: DateTime<Utc>) -> Vec<String> {
    let meta = service.meta();
    let spec = service.spec.clone().unwrap_or_default();
    let kind = if spec.r#type.is_empty() { "ClusterIP".to_string() } else { spec.r#type.clone() };
    let mut r = vec![
        meta.name.clone(),
        kind,
        or_none(&spec.cluster_ip),
        external_ip(service, &spec),
        ports(&spec),
        age(meta.creation_timestamp.as_ref(), now),
    ];
    if wide {
        r.push(labels_string(&spec.selector));
    }
    r
}

/// `80:30080/TCP,443/TCP`, or `<none>`.
pub fn ports(spec: &ServiceSpec) -> String {
    let ports: Vec<String> = spec
        .ports
        .iter()
        .map(|p| {
            let protocol = if p.protocol.is_empty() { "TCP" } else { p.protocol.as_str() };
            if p.node_port != 0 {
                format!("{}:{}/{protocol}", p.port, p.node_port)
            } else {
                format!("{}/{protocol}", p.port)
            }
        })
        .collect();
    or_none(&ports.join(","))
}

fn external_ip(service: &Service, spec: &ServiceSpec) -> String {
    let mut ips = spec.external_ips.clone();
    match spec.r#type.as_str() {
        "ExternalName" => return spec.external_name.clone(),
        "LoadBalancer" => {
            let ingress =
                service.status.as_ref().and_then(|s| s.load_balancer.as_ref()).map(|lb| lb.ingress.as_slice());
            for i in ingress.unwrap_or_default() {
                ips.push(if i.ip.is_empty() { i.hostname.clone() } else { i.ip.clone() });
            }
            if ips.is_empty() {
                return "<pending>".to_string();
            }
        }
        _ => {}
    }
    or_none(&ips.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::object::parse_manifests;

    fn service(yaml: &str) -> Service {
        let obj = parse_manifests("t", &format!("apiVersion: v1\nkind: Service\nmetadata: {{name: web}}\n{yaml}"))
            .expect("service")
            .remove(0);
        Service::try_from_object(obj).expect("a service")
    }

    #[test]
    fn rows_show_type_ips_and_ports() {
        let now = DateTime::from_timestamp(0, 0).expect("time");
        let cases = [
            (
                "spec: {clusterIP: 10.96.0.10, selector: {app: web}, ports: [{port: 80, targetPort: http}]}\n",
                vec!["web", "ClusterIP", "10.96.0.10", "<none>", "80/TCP", "<unknown>", "app=web"],
            ),
            (
                "spec: {type: NodePort, clusterIP: 10.96.0.11, ports: [{port: 80, nodePort: 30080}, {port: 53, protocol: UDP}]}\n",
                vec!["web", "NodePort", "10.96.0.11", "<none>", "80:30080/TCP,53/UDP", "<unknown>", "<none>"],
            ),
            (
                "spec: {type: LoadBalancer, clusterIP: 10.96.0.12, ports: [{port: 443, nodePort: 31443}]}\n",
                vec!["web", "LoadBalancer", "10.96.0.12", "<pending>", "443:31443/TCP", "<unknown>", "<none>"],
            ),
            (
                "spec: {type: ExternalName, externalName: db.example.com}\n",
                vec!["web", "ExternalName", "<none>", "db.example.com", "<none>", "<unknown>", "<none>"],
            ),
        ];
        for (yaml, want) in cases {
            assert_eq!(row(&service(yaml), true, now), want, "{yaml}");
        }
    }
}
