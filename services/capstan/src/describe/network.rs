//! Pages for services and endpoints: how traffic is addressed and where it
//! goes.

use super::doc::Doc;
use super::metadata;
use crate::printers::labels_string;
use capstan_proto::core::v1::{Endpoints, Service};
use capstan_proto::Resource;

pub fn service(doc: &mut Doc, service: &Service, endpoints: Option<&Endpoints>) {
    let meta = service.meta();
    let spec = service.spec.clone().unwrap_or_default();
    metadata(doc, meta, true);
    doc.field("Selector", labels_string(&spec.selector));
    doc.field("Type", if spec.r#type.is_empty() { "ClusterIP" } else { spec.r#type.as_str() });
    doc.field("IP", if spec.cluster_ip.is_empty() { "<none>" } else { spec.cluster_ip.as_str() });
    if !spec.external_ips.is_empty() {
        doc.field("External IPs", spec.external_ips.join(","));
    }
    for port in &spec.ports {
        let name = if port.name.is_empty() { "<unset>" } else { port.name.as_str() };
        let protocol = if port.protocol.is_empty() { "TCP" } else { port.protocol.as_str() };
        doc.field("Port", format!("{name}  {}/{protocol}", port.port));
        let target = port.target_port.as_ref().map(|t| t.to_display()).unwrap_or_else(|| port.port.to_string());
        doc.field("TargetPort", format!("{target}/{protocol}"));
        if port.node_port != 0 {
            doc.field("NodePort", format!("{name}  {}/{protocol}", port.node_port));
        }
        doc.field("Endpoints", endpoints_for(endpoints, &port.name));
    }
    doc.field(
        "Session Affinity",
        if spec.session_affinity.is_empty() { "None" } else { spec.session_affinity.as_str() },
    );
}

/// The ready `ip:port` pairs behind the service port named `name`.
fn endpoints_for(endpoints: Option<&Endpoints>, name: &str) -> String {
    let mut out = Vec::new();
    for subset in endpoints.map(|e| e.subsets.as_slice()).unwrap_or_default() {
        for port in subset.ports.iter().filter(|p| p.name == name || subset.ports.len() == 1) {
            out.extend(subset.addresses.iter().map(|a| format!("{}:{}", a.ip, port.port)));
        }
    }
    if out.is_empty() {
        "<none>".to_string()
    } else {
        out.join(",")
    }
}

pub fn endpoints(doc: &mut Doc, endpoints: &Endpoints) {
    metadata(doc, endpoints.meta(), true);
    doc.heading(0, "Subsets");
    for subset in &endpoints.subsets {
        let ips = |addresses: &[capstan_proto::core::v1::EndpointAddress]| {
            let ips: Vec<&str> = addresses.iter().map(|a| a.ip.as_str()).collect();
            if ips.is_empty() {
                "<none>".to_string()
            } else {
                ips.join(",")
            }
        };
        doc.field_at(2, "Addresses", ips(&subset.addresses));
        doc.field_at(2, "NotReadyAddresses", ips(&subset.not_ready_addresses));
        doc.heading(2, "Ports");
        let rows: Vec<Vec<String>> = subset
            .ports
            .iter()
            .map(|p| {
                let name = if p.name.is_empty() { "<unset>" } else { p.name.as_str() };
                let protocol = if p.protocol.is_empty() { "TCP" } else { p.protocol.as_str() };
                vec![name.to_string(), p.port.to_string(), protocol.to_string()]
            })
            .collect();
        doc.table(4, &["Name", "Port", "Protocol"], &rows);
    }
}

#[cfg(test)]
mod tests {
    use super::super::{page, Related};
    use capstan_proto::core::v1::Endpoints;
    use capstan_proto::object::parse_manifests;
    use capstan_proto::Resource;
    use chrono::DateTime;

    #[test]
    fn service_page_lists_ports_and_their_endpoints() {
        let objects = parse_manifests(
            "t",
            "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: default}\n\
             spec: {type: NodePort, clusterIP: 10.96.0.10, selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080, nodePort: 30080}]}\n\
             ---\napiVersion: v1\nkind: Endpoints\nmetadata: {name: web}\n\
             subsets: [{addresses: [{ip: 10.0.0.5}, {ip: 10.0.0.6}], ports: [{name: http, port: 8080}]}]\n",
        )
        .expect("service and endpoints");
        let related = Related { endpoints: Endpoints::try_from_object(objects[1].clone()), ..Default::default() };
        let text = page(&objects[0], &related, DateTime::from_timestamp(0, 0).expect("time")).render();
        for want in [
            "Type:              NodePort\n",
            "IP:                10.96.0.10\n",
            "Port:              http  80/TCP\n",
            "TargetPort:        8080/TCP\n",
            "NodePort:          http  30080/TCP\n",
            "Endpoints:         10.0.0.5:8080,10.0.0.6:8080\n",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
    }
}
