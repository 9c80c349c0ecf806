//! How the shim names and labels what it creates in Docker.
//!
//! Names make a kubelet's retry of the same attempt collide (Docker refuses a second
//! container of the same name, which the shim reports as AlreadyExists) and make
//! `docker ps` readable; labels are what the shim finds things by. Docker has no
//! annotations and merges an image's labels into its containers', so the kubelet's
//! labels and annotations are stored under prefixes (`capstan_shim_common::labels::encode`).

use std::collections::{BTreeMap, HashMap};

use capstan_proto::runtime::v1::{ContainerMetadata, PodSandboxMetadata};
use capstan_shim_common::labels;

/// `capstan_<node>_<namespace>_<pod>_<uid>_<attempt>_pause`.
pub fn sandbox_name(node: &str, pod: &PodSandboxMetadata) -> String {
    let parts = [node, &pod.namespace, &pod.name, &pod.uid, &pod.attempt.to_string()];
    format!("capstan_{}_pause", parts.map(sanitize).join("_"))
}

/// `capstan_<node>_<namespace>_<pod>_<container>_<uid>_<attempt>`.
pub fn container_name(node: &str, pod: &PodSandboxMetadata, container: &ContainerMetadata) -> String {
    let parts = [node, &pod.namespace, &pod.name, &container.name, &pod.uid, &container.attempt.to_string()];
    format!("capstan_{}", parts.map(sanitize).join("_"))
}

/// Keeps what Docker allows in names (`[a-zA-Z0-9_.-]`), replacing the rest with `-`.
fn sanitize(part: &str) -> String {
    part.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '-' }).collect()
}

/// Labels and annotations as one Docker label map (see [`labels::encode`]).
pub fn docker_labels(
    labels: &BTreeMap<String, String>,
    annotations: &BTreeMap<String, String>,
) -> HashMap<String, String> {
    labels::encode(labels, annotations).collect()
}

/// The list filter selecting this node's objects of `kind` (sandbox or container),
/// with every pair of `selector` required too.
pub fn label_filters(node: &str, kind: &str, selector: &BTreeMap<String, String>) -> HashMap<String, Vec<String>> {
    let mut wanted = vec![format!("{}={node}", labels::NODE_NAME), format!("{}={kind}", labels::KIND)];
    wanted.extend(selector.iter().map(|(k, v)| format!("{}={v}", labels::stored_key(k))));
    HashMap::from([("label".to_string(), wanted)])
}

/// Whether Docker labels mark an object of `kind` belonging to `node`.
pub fn owned(labels: Option<&HashMap<String, String>>, node: &str, kind: &str) -> bool {
    labels.is_some_and(|l| {
        l.get(labels::NODE_NAME).map(String::as_str) == Some(node)
            && l.get(labels::KIND).map(String::as_str) == Some(kind)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_docker_safe_and_unique_per_attempt() {
        let pod =
            PodSandboxMetadata { name: "web".into(), uid: "1234".into(), namespace: "default".into(), attempt: 1 };
        assert_eq!(sandbox_name("node/a", &pod), "capstan_node-a_default_web_1234_1_pause");
        let container = ContainerMetadata { name: "nginx".into(), attempt: 3 };
        assert_eq!(container_name("n1", &pod, &container), "capstan_n1_default_web_nginx_1234_3");
    }

    #[test]
    fn filters_select_the_node_and_kind() {
        let filters = label_filters("n1", "sandbox", &[("app".to_string(), "web".to_string())].into());
        assert_eq!(
            filters["label"],
            ["io.capstan.node.name=n1", "io.capstan.kind=sandbox", "io.capstan.label/app=web"]
        );
        let mine = HashMap::from([
            (labels::NODE_NAME.to_string(), "n1".to_string()),
            (labels::KIND.to_string(), "sandbox".to_string()),
        ]);
        assert!(owned(Some(&mine), "n1", "sandbox"));
        assert!(!owned(Some(&mine), "n2", "sandbox"));
        assert!(!owned(Some(&mine), "n1", "container"));
        assert!(!owned(None, "n1", "sandbox"));
    }
}
