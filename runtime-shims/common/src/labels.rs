//! The label vocabulary shared by the shims and the kubelet.
//!
//! Every sandbox and container a shim creates carries labels naming its node, pod and
//! container, so that a restarted kubelet or shim finds (adopts) what is running
//! instead of creating it twice, and so that several kubelets sharing one engine each
//! touch only their own node's containers. The shims build the label set here, in one
//! place, so the Docker, containerd and in-memory runtimes agree on it exactly.

use std::collections::BTreeMap;

use capstan_proto::runtime::v1::{ContainerConfig, ContainerMetadata, PodSandboxConfig, PodSandboxMetadata};

/// The pod's UID.
pub const POD_UID: &str = "io.capstan.pod.uid";
/// The pod's name.
pub const POD_NAME: &str = "io.capstan.pod.name";
/// The pod's namespace.
pub const POD_NAMESPACE: &str = "io.capstan.pod.namespace";
/// The sandbox's attempt number (on sandboxes).
pub const POD_ATTEMPT: &str = "io.capstan.pod.attempt";
/// The container's name in the pod spec (on containers).
pub const CONTAINER_NAME: &str = "io.capstan.container.name";
/// The container's attempt (restart) number (on containers).
pub const CONTAINER_ATTEMPT: &str = "io.capstan.container.attempt";
/// The node whose kubelet created it; a shim lists and touches only its own node's.
pub const NODE_NAME: &str = "io.capstan.node.name";
/// [`KIND_SANDBOX`] or [`KIND_CONTAINER`].
pub const KIND: &str = "io.capstan.kind";
/// The sandbox a container belongs to (on containers).
pub const SANDBOX_ID: &str = "io.capstan.sandbox.id";
/// Where the kubelet asked for the container's log (on containers).
pub const LOG_PATH: &str = "io.capstan.container.log-path";
/// Runtimes without annotations (Docker) store each annotation as a label under this prefix.
pub const ANNOTATION_PREFIX: &str = "io.capstan.annotation/";

/// The value of [`KIND`] on a pod sandbox.
pub const KIND_SANDBOX: &str = "sandbox";
/// The value of [`KIND`] on an app container.
pub const KIND_CONTAINER: &str = "container";

type Labels = BTreeMap<String, String>;

/// The labels of a sandbox: the kubelet's own labels plus the `io.capstan.*` ones
/// (which win over a kubelet label of the same key).
pub fn sandbox_labels(node: &str, config: &PodSandboxConfig) -> Labels {
    let meta = config.metadata.clone().unwrap_or_default();
    let mut labels = config.labels.clone();
    labels.extend([
        (KIND.to_string(), KIND_SANDBOX.to_string()),
        (NODE_NAME.to_string(), node.to_string()),
        (POD_UID.to_string(), meta.uid),
        (POD_NAME.to_string(), meta.name),
        (POD_NAMESPACE.to_string(), meta.namespace),
        (POD_ATTEMPT.to_string(), meta.attempt.to_string()),
    ]);
    labels
}

/// The labels of an app container in `sandbox_id`, whose sandbox was run with `sandbox`.
pub fn container_labels(node: &str, sandbox_id: &str, sandbox: &PodSandboxConfig, config: &ContainerConfig) -> Labels {
    let pod = sandbox.metadata.clone().unwrap_or_default();
    let meta = config.metadata.clone().unwrap_or_default();
    let mut labels = config.labels.clone();
    labels.extend([
        (KIND.to_string(), KIND_CONTAINER.to_string()),
        (NODE_NAME.to_string(), node.to_string()),
        (SANDBOX_ID.to_string(), sandbox_id.to_string()),
        (POD_UID.to_string(), pod.uid),
        (POD_NAME.to_string(), pod.name),
        (POD_NAMESPACE.to_string(), pod.namespace),
        (CONTAINER_NAME.to_string(), meta.name),
        (CONTAINER_ATTEMPT.to_string(), meta.attempt.to_string()),
    ]);
    labels
}

/// Annotations as labels under [`ANNOTATION_PREFIX`], for runtimes without annotations.
pub fn annotations_as_labels(annotations: &Labels) -> impl Iterator<Item = (String, String)> + '_ {
    annotations.iter().map(|(k, v)| (format!("{ANNOTATION_PREFIX}{k}"), v.clone()))
}

/// Splits labels stored by a runtime without annotations back into (labels, annotations).
pub fn split_annotations(stored: impl IntoIterator<Item = (String, String)>) -> (Labels, Labels) {
    let (mut labels, mut annotations) = (Labels::new(), Labels::new());
    for (key, value) in stored {
        match key.strip_prefix(ANNOTATION_PREFIX) {
            Some(annotation) => annotations.insert(annotation.to_string(), value),
            None => labels.insert(key, value),
        };
    }
    (labels, annotations)
}

/// Whether every pair of `selector` is in `labels` (an empty selector matches all).
pub fn matches_selector(labels: &Labels, selector: &Labels) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// A sandbox's metadata, read back from its labels.
pub fn sandbox_metadata(labels: &Labels) -> PodSandboxMetadata {
    PodSandboxMetadata {
        name: get(labels, POD_NAME),
        uid: get(labels, POD_UID),
        namespace: get(labels, POD_NAMESPACE),
        attempt: get(labels, POD_ATTEMPT).parse().unwrap_or_default(),
    }
}

/// A container's metadata, read back from its labels.
pub fn container_metadata(labels: &Labels) -> ContainerMetadata {
    ContainerMetadata {
        name: get(labels, CONTAINER_NAME),
        attempt: get(labels, CONTAINER_ATTEMPT).parse().unwrap_or_default(),
    }
}

fn get(labels: &Labels, key: &str) -> String {
    labels.get(key).cloned().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod() -> PodSandboxConfig {
        PodSandboxConfig {
            metadata: Some(PodSandboxMetadata {
                name: "web".into(),
                uid: "u1".into(),
                namespace: "ns".into(),
                attempt: 2,
            }),
            labels: [("app".to_string(), "web".to_string()), (NODE_NAME.to_string(), "forged".to_string())].into(),
            ..Default::default()
        }
    }

    #[test]
    fn sandbox_labels_carry_the_pod_and_node_and_win_over_the_kubelets() {
        let labels = sandbox_labels("node-a", &pod());
        assert_eq!(labels.get("app").map(String::as_str), Some("web"));
        assert_eq!(labels.get(NODE_NAME).map(String::as_str), Some("node-a"));
        assert_eq!(labels.get(KIND).map(String::as_str), Some(KIND_SANDBOX));
        assert_eq!(sandbox_metadata(&labels), pod().metadata.unwrap_or_default());
    }

    #[test]
    fn container_labels_name_the_sandbox_and_the_container() {
        let config = ContainerConfig {
            metadata: Some(ContainerMetadata { name: "nginx".into(), attempt: 3 }),
            ..Default::default()
        };
        let labels = container_labels("node-a", "sb1", &pod(), &config);
        assert_eq!(labels.get(SANDBOX_ID).map(String::as_str), Some("sb1"));
        assert_eq!(labels.get(POD_UID).map(String::as_str), Some("u1"));
        assert_eq!(container_metadata(&labels), config.metadata.unwrap_or_default());
        assert!(matches_selector(&labels, &[(KIND.to_string(), KIND_CONTAINER.to_string())].into()));
        assert!(!matches_selector(&labels, &[("app".to_string(), "db".to_string())].into()));
    }

    #[test]
    fn annotations_round_trip_through_labels() {
        let annotations: Labels = [("trace".to_string(), "00-abc".to_string())].into();
        let mut stored: Labels = annotations_as_labels(&annotations).collect();
        stored.insert("app".into(), "web".into());
        let (labels, back) = split_annotations(stored);
        assert_eq!(back, annotations);
        assert_eq!(labels.len(), 1);
    }
}
