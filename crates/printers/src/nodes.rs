//! Nodes: NAME STATUS ROLES AGE VERSION (wide: INTERNAL-IP OS-IMAGE
//! KERNEL-VERSION CONTAINER-RUNTIME). STATUS comes from the Ready
//! condition, with `SchedulingDisabled` for cordoned nodes.

use super::age::age;
use capstan_proto::core::v1::Node;
use capstan_proto::Resource;
use chrono::{DateTime, Utc};

const ROLE_PREFIX: &str = "node-role.kubernetes.io/";

pub fn header(wide: bool) -> Vec<&'static str> {
    let mut h = vec!["NAME", "STATUS", "ROLES", "AGE", "VERSION"];
    if wide {
        h.extend(["INTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"]);
    }
    h
}

pub fn row(node: &Node, wide: bool, now: DateTime<Utc>) -> Vec<String> {
    let meta = node.meta();
    let status = node.status.clone().unwrap_or_default();
    let info = status.node_info.clone().unwrap_or_default();
    let mut r = vec![
        meta.name.clone(),
        status_text(node),
        roles(node),
        age(meta.creation_timestamp.as_ref(), now),
        info.kubelet_version,
    ];
    if wide {
        let internal = status.addresses.iter().find(|a| a.r#type == "InternalIP").map(|a| a.address.clone());
        let unknown = |s: String| if s.is_empty() { "<unknown>".to_string() } else { s };
        r.extend([
            internal.unwrap_or_else(|| "<none>".to_string()),
            unknown(info.os_image),
            unknown(info.kernel_version),
            unknown(info.container_runtime_version),
        ]);
    }
    r
}

/// `Ready`, `NotReady`, `Unknown`, plus `,SchedulingDisabled`.
pub fn status_text(node: &Node) -> String {
    let conditions = node.status.as_ref().map(|s| s.conditions.as_slice()).unwrap_or_default();
    let mut text = match conditions.iter().find(|c| c.r#type == "Ready").map(|c| c.status.as_str()) {
        Some("True") => "Ready".to_string(),
        Some("False") => "NotReady".to_string(),
        _ => "Unknown".to_string(),
    };
    if node.spec.as_ref().is_some_and(|s| s.unschedulable) {
        text.push_str(",SchedulingDisabled");
    }
    text
}

/// The roles the node's labels give it, or `<none>`.
pub fn roles(node: &Node) -> String {
    let labels = &node.meta().labels;
    let mut roles: Vec<&str> = labels
        .iter()
        .filter_map(|(k, v)| match k.strip_prefix(ROLE_PREFIX) {
            Some(role) if !role.is_empty() => Some(role),
            _ if k == "kubernetes.io/role" => Some(v.as_str()),
            _ => None,
        })
        .collect();
    roles.sort_unstable();
    roles.dedup();
    if roles.is_empty() {
        "<none>".to_string()
    } else {
        roles.join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::object::parse_manifests;

    fn node(yaml: &str) -> Node {
        let obj = parse_manifests("t", &format!("apiVersion: v1\nkind: Node\n{yaml}")).expect("node").remove(0);
        Node::try_from_object(obj).expect("a node")
    }

    #[test]
    fn rows_show_readiness_roles_and_system_info() {
        let now = DateTime::from_timestamp(0, 0).expect("time");
        let n = node(
            "metadata: {name: n1, labels: {node-role.kubernetes.io/control-plane: \"\"}}\nspec: {unschedulable: true}\n\
             status: {conditions: [{type: Ready, status: \"True\"}], addresses: [{type: InternalIP, address: 172.17.0.2}], \
             nodeInfo: {kubeletVersion: v0.1.0, osImage: Debian GNU/Linux 12, kernelVersion: 6.1.0, containerRuntimeVersion: docker://20.10.24}}\n",
        );
        assert_eq!(
            row(&n, true, now),
            [
                "n1",
                "Ready,SchedulingDisabled",
                "control-plane",
                "<unknown>",
                "v0.1.0",
                "172.17.0.2",
                "Debian GNU/Linux 12",
                "6.1.0",
                "docker://20.10.24"
            ]
        );
        let bare = node("metadata: {name: n2}\nstatus: {conditions: [{type: Ready, status: \"False\"}]}\n");
        assert_eq!(
            row(&bare, true, now),
            ["n2", "NotReady", "<none>", "<unknown>", "", "<none>", "<unknown>", "<unknown>", "<unknown>"]
        );
        assert_eq!(status_text(&node("metadata: {name: n3}\n")), "Unknown");
    }
}
