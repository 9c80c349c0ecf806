//! Pages for cluster-level kinds: nodes (conditions, capacity, system info,
//! the pods placed on them), namespaces and leases.

use super::doc::Doc;
use super::{metadata, when};
use crate::printers::namespaces::phase;
use crate::printers::nodes::roles;
use capstan_proto::coordination::v1::Lease;
use capstan_proto::core::v1::{Namespace, Node, Pod};
use capstan_proto::meta::v1::Quantity;
use capstan_proto::Resource;
use std::collections::BTreeMap;

pub fn node(doc: &mut Doc, node: &Node, pods: &[Pod]) {
    let meta = node.meta();
    let spec = node.spec.clone().unwrap_or_default();
    let status = node.status.clone().unwrap_or_default();
    doc.field("Name", meta.name.as_str());
    doc.field("Roles", roles(node));
    doc.map_field(0, "Labels", &meta.labels);
    doc.map_field(0, "Annotations", &meta.annotations);
    doc.field("CreationTimestamp", when(meta.creation_timestamp.as_ref()));
    let taints: Vec<String> = spec
        .taints
        .iter()
        .map(|t| {
            if t.value.is_empty() {
                format!("{}:{}", t.key, t.effect)
            } else {
                format!("{}={}:{}", t.key, t.value, t.effect)
            }
        })
        .collect();
    doc.field("Taints", if taints.is_empty() { "<none>".to_string() } else { taints.join("\n") });
    doc.field("Unschedulable", spec.unschedulable.to_string());
    doc.heading(0, "Conditions");
    let rows: Vec<Vec<String>> = status
        .conditions
        .iter()
        .map(|c| {
            vec![
                c.r#type.clone(),
                c.status.clone(),
                when(c.last_heartbeat_time.as_ref()),
                c.reason.clone(),
                c.message.clone(),
            ]
        })
        .collect();
    doc.table(2, &["Type", "Status", "LastHeartbeatTime", "Reason", "Message"], &rows);
    doc.heading(0, "Addresses");
    for a in &status.addresses {
        doc.field_at(2, &a.r#type, a.address.as_str());
    }
    quantities(doc, "Capacity", &status.capacity);
    quantities(doc, "Allocatable", &status.allocatable);
    let info = status.node_info.clone().unwrap_or_default();
    doc.heading(0, "System Info");
    for (label, value) in [
        ("Machine ID", info.machine_id),
        ("Kernel Version", info.kernel_version),
        ("OS Image", info.os_image),
        ("Operating System", info.operating_system),
        ("Architecture", info.architecture),
        ("Container Runtime Version", info.container_runtime_version),
        ("Kubelet Version", info.kubelet_version),
        ("Kube-Proxy Version", info.kube_proxy_version),
    ] {
        doc.field_at(2, label, value);
    }
    if !spec.pod_cidr.is_empty() {
        doc.field("PodCIDR", spec.pod_cidr.as_str());
    }
    let running: Vec<&Pod> = pods
        .iter()
        .filter(|p| !matches!(p.status.as_ref().map(|s| s.phase.as_str()), Some("Succeeded" | "Failed")))
        .collect();
    doc.heading(0, &format!("Non-terminated Pods ({} in total)", running.len()));
    let rows: Vec<Vec<String>> =
        running.iter().map(|p| vec![p.meta().namespace.clone(), p.meta().name.clone()]).collect();
    doc.table(2, &["Namespace", "Name"], &rows);
}

fn quantities(doc: &mut Doc, label: &str, map: &BTreeMap<String, Quantity>) {
    doc.heading(0, label);
    for (k, v) in map {
        doc.field_at(2, k, v.string.as_str());
    }
}

pub fn namespace(doc: &mut Doc, namespace: &Namespace) {
    metadata(doc, namespace.meta(), false);
    doc.field("Status", phase(namespace));
}

pub fn lease(doc: &mut Doc, lease: &Lease) {
    metadata(doc, lease.meta(), true);
    let spec = lease.spec.clone().unwrap_or_default();
    let micro =
        |t: Option<capstan_proto::meta::v1::MicroTime>| t.map(|t| t.to_rfc3339()).unwrap_or_else(|| "<unset>".into());
    doc.field("Holder Identity", spec.holder_identity.unwrap_or_else(|| "<unset>".into()));
    doc.field(
        "Lease Duration Seconds",
        spec.lease_duration_seconds.map(|s| s.to_string()).unwrap_or_else(|| "<unset>".into()),
    );
    doc.field("Acquire Time", micro(spec.acquire_time));
    doc.field("Renew Time", micro(spec.renew_time));
    doc.field("Lease Transitions", spec.lease_transitions.unwrap_or(0).to_string());
}

#[cfg(test)]
mod tests {
    use super::super::{page, Related};
    use capstan_proto::object::parse_manifests;
    use chrono::DateTime;

    #[test]
    fn node_page_shows_conditions_capacity_and_pods() {
        let obj = parse_manifests(
            "t",
            "apiVersion: v1\nkind: Node\nmetadata: {name: n1}\nspec: {taints: [{key: dedicated, value: db, effect: NoSchedule}]}\n\
             status: {conditions: [{type: Ready, status: \"True\", reason: KubeletReady}], \
             addresses: [{type: InternalIP, address: 172.17.0.2}], capacity: {cpu: 4, pods: 110}}\n",
        )
        .expect("node")
        .remove(0);
        let text = page(&obj, &Related::default(), DateTime::from_timestamp(0, 0).expect("time")).render();
        for want in [
            "Roles:              <none>\n",
            "Taints:             dedicated=db:NoSchedule\n",
            "  Ready   True     <unknown>           KubeletReady\n",
            "Addresses:\n  InternalIP:  172.17.0.2\n",
            "Capacity:\n  cpu:   4\n  pods:  110\n",
            "Non-terminated Pods (0 in total):\n",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
    }

    #[test]
    fn namespace_page_shows_its_status() {
        let obj =
            parse_manifests("t", "apiVersion: v1\nkind: Namespace\nmetadata: {name: dev}\n").expect("ns").remove(0);
        let text = page(&obj, &Related::default(), DateTime::from_timestamp(0, 0).expect("time")).render();
        assert_eq!(text, "Name:         dev\nLabels:       <none>\nAnnotations:  <none>\nStatus:       Active\nEvents:       <none>\n");
    }
}
