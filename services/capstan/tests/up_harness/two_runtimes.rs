//! `capstan up` with a Docker node and a containerd node, for the tests that
//! need one cluster on both runtimes.

use super::{Up, WAIT};
use capstan::cli::UpRuntime;
use capstan_proto::core::v1::Node;
use capstan_test_support::{
    ensure_images, require_containerd, require_docker, test_image_archive, ContainerdSweeper, DockerSweeper,
};

/// The label each shim puts on what it runs for a node.
pub const NODE_LABEL: &str = "io.capstan.node.name";

/// `up` with a Docker node and a containerd node (which has loaded the test
/// images through `capstan image load`), and sweepers for both.
pub struct TwoRuntimes {
    pub up: Up,
    pub docker_node: String,
    pub containerd_node: String,
    pub dir: tempfile::TempDir,
    _sweepers: (DockerSweeper, ContainerdSweeper),
}

impl TwoRuntimes {
    /// `None` when Docker or containerd is missing (outside CI).
    pub async fn start(test: &str) -> Option<TwoRuntimes> {
        require_docker()?;
        require_containerd()?;
        ensure_images().await;
        let archive = test_image_archive().await;
        let id = std::process::id();
        let (docker_node, containerd_node) = (format!("{test}-docker-{id}"), format!("{test}-containerd-{id}"));
        let sweepers =
            (DockerSweeper::new(NODE_LABEL, &docker_node), ContainerdSweeper::new(NODE_LABEL, &containerd_node));
        let dir = tempfile::tempdir().expect("tempdir");
        let up = Up::start(capstan::up::UpConfig {
            extra_nodes: vec![(containerd_node.clone(), UpRuntime::Containerd)],
            ..super::config(dir.path(), UpRuntime::Docker, &docker_node)
        })
        .await;
        assert!(up.said.contains("containerd shim serving on"), "{}", up.said);
        // the containerd node gets the test images the way a user would
        let archive = archive.display().to_string();
        let loaded = up.capstan(&["image", "load", &archive, "--node", &containerd_node]).await;
        assert!(loaded.contains(&format!("Loaded image capstan/test:1 on node {containerd_node}")), "{loaded}");
        // both nodes take pods before a test places any
        let nodes = up.client().api::<Node>(None);
        for node in [&docker_node, &containerd_node] {
            let node_ready = |n: Option<&Node>| {
                let conditions = n.and_then(|n| n.status.as_ref()).map(|s| s.conditions.as_slice()).unwrap_or_default();
                conditions.iter().any(|c| c.r#type == "Ready" && c.status == "True")
            };
            let waited = capstan_runtime::wait_for(&nodes, node, WAIT, node_ready).await;
            assert!(matches!(waited, Ok(Some(_))), "node {node} did not become Ready: {waited:?}");
        }
        Some(TwoRuntimes { up, docker_node, containerd_node, dir, _sweepers: sweepers })
    }

    /// `capstan get nodes -o wide` names each node's runtime.
    pub async fn nodes_show_their_runtimes(&self) {
        let table = self.up.capstan(&["get", "nodes", "-o", "wide"]).await;
        let row = |node: &str| table.lines().find(|l| l.starts_with(node)).unwrap_or_default().to_string();
        assert!(row(&self.docker_node).contains("docker://"), "{table}");
        assert!(row(&self.containerd_node).contains("containerd://"), "{table}");
    }
}
