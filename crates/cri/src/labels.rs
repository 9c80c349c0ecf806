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
/// The node whose kubelet created it; a shim lists and touches for each caller only its node's.
pub const NODE_NAME: &str = "io.capstan.node.name";
/// [`KIND_SANDBOX`] or [`KIND_CONTAINER`].
pub const KIND: &str = "io.capstan.kind";
/// The sandbox a container belongs to (on containers).
pub const SANDBOX_ID: &str = "io.capstan.sandbox.id";
/// Where the kubelet asked for the container's log (on containers).
pub const LOG_PATH: &str = "io.capstan.container.log-path";
/// Engines with only labels (Docker) store each annotation as a label under this prefix.
pub const ANNOTATION_PREFIX: &str = "io.capstan.annotation/";
/// … and each of the kubelet's labels under this one.
pub const LABEL_PREFIX: &str = "io.capstan.label/";

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

/// The keys a shim sets itself (kept as they are when stored in an engine).
pub const SHIM_KEYS: &[&str] = &[
    POD_UID,
    POD_NAME,
    POD_NAMESPACE,
    POD_ATTEMPT,
    CONTAINER_NAME,
    CONTAINER_ATTEMPT,
    NODE_NAME,
    KIND,
    SANDBOX_ID,
    LOG_PATH,
];

/// The key `key` is stored under in an engine that has only labels: the shim's own
/// keys as they are, the kubelet's under [`LABEL_PREFIX`].
pub fn stored_key(key: &str) -> String {
    if SHIM_KEYS.contains(&key) {
        key.to_string()
    } else {
        format!("{LABEL_PREFIX}{key}")
    }
}

/// Labels and annotations as one label set, for engines with only labels (Docker),
/// which also merge the image's labels into a container's: the prefixes keep the
/// kubelet's labels and annotations apart from each other and from the image's.
pub fn encode(labels: &Labels, annotations: &Labels) -> impl Iterator<Item = (String, String)> {
    let labels = labels.iter().map(|(k, v)| (stored_key(k), v.clone()));
    let annotations = annotations.iter().map(|(k, v)| (format!("{ANNOTATION_PREFIX}{k}"), v.clone()));
    labels.chain(annotations).collect::<Vec<_>>().into_iter()
}

/// Reads [`encode`]d labels back into (labels, annotations); anything else stored
/// on the object (an image's labels) is dropped.
pub fn decode(stored: impl IntoIterator<Item = (String, String)>) -> (Labels, Labels) {
    let (mut labels, mut annotations) = (Labels::new(), Labels::new());
    for (key, value) in stored {
        if let Some(annotation) = key.strip_prefix(ANNOTATION_PREFIX) {
            annotations.insert(annotation.to_string(), value);
        } else if let Some(label) = key.strip_prefix(LABEL_PREFIX) {
            labels.insert(label.to_string(), value);
        } else if SHIM_KEYS.contains(&key.as_str()) {
            labels.insert(key, value);
        }
    }
    (labels, annotations)
}

/// Where a container's log goes: the kubelet's `log_path`, relative to its sandbox's
/// `log_directory` (empty when the kubelet gave no path).
pub fn container_log_path(log_directory: &str, log_path: &str) -> String {
    match (log_directory.is_empty(), log_path.is_empty()) {
        (_, true) => String::new(),
        (true, false) => log_path.to_string(),
        (false, false) => format!("{}/{}", log_directory.trim_end_matches('/'), log_path),
    }
}

/// Whether every pair of `selector` is in `labels` (an empty selector matches all).
pub fn matches_selector(labels: &Labels, selector: &Labels) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// Whether a sandbox or container with `labels` is `node`'s.
pub fn is_of_node(labels: &Labels, node: &str) -> bool {
    labels.get(NODE_NAME).is_some_and(|of| of == node)
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
    fn log_paths_join_the_pod_directory() {
        assert_eq!(container_log_path("/var/log/pods/x/", "app/0.log"), "/var/log/pods/x/app/0.log");
        assert_eq!(container_log_path("", "app/0.log"), "app/0.log");
        assert_eq!(container_log_path("/var/log/pods/x", ""), "");
    }

    #[test]
    fn labels_and_annotations_round_trip_through_an_engine_and_image_labels_are_dropped() {
        let labels: Labels = [("app".to_string(), "web".to_string()), (NODE_NAME.to_string(), "n1".to_string())].into();
        let annotations: Labels = [("trace".to_string(), "00-abc".to_string())].into();
        let mut stored: Labels = encode(&labels, &annotations).collect();
        assert!(stored.contains_key("io.capstan.label/app") && stored.contains_key(NODE_NAME), "{stored:?}");
        stored.insert("maintainer".into(), "from the image".into());
        stored.insert("io.capstan.image".into(), "test".into());
        assert_eq!(decode(stored), (labels, annotations));
    }
}
