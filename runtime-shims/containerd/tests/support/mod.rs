//! The containerd shim's test harness: the real containerd (the standalone one
//! `scripts/setup.sh` starts), the test images imported into the `capstan`
//! namespace through the shim's own archive import, and a shim served in-process on
//! a temporary unix socket, reached through the kubelet's own client.
//!
//! Each test gets its own node name, so the shim it starts lists and touches only
//! that test's containers, and its sweeper removes them whatever happens.

#![allow(dead_code, unused_imports)] // each test binary uses a different part of the harness

use std::time::Duration;

use capstan_containerd_shim::{ContainerdConfig, ContainerdRuntime, ServedShim};
use capstan_cri::RuntimeClients;
pub use capstan_test_support::{require_containerd, PAUSE_IMAGE, TEST_IMAGE};
use capstan_test_support::{test_image_archive, ContainerdSweeper, CONTAINERD_NAMESPACE, CONTAINERD_SOCKET};
use tokio::sync::OnceCell;

/// A unique node name for one test.
pub fn node_name(test: &str) -> String {
    format!("t-{}-{}", test.replace('_', "-"), std::process::id())
}

/// Removes every containerd container of a node when dropped.
pub fn sweeper(node: &str) -> ContainerdSweeper {
    ContainerdSweeper::new(capstan_cri::labels::NODE_NAME, node)
}

static IMPORTED: OnceCell<Vec<String>> = OnceCell::const_new();

/// Imports the test images (once per test process) with the shim's own import.
pub async fn ensure_images() -> Vec<String> {
    IMPORTED
        .get_or_init(|| async {
            let archive = test_image_archive().await;
            capstan_containerd_shim::import_archive(CONTAINERD_SOCKET, CONTAINERD_NAMESPACE, &archive)
                .await
                .expect("importing the test images into containerd")
        })
        .await
        .clone()
}

/// The shim's configuration for `node`, with its state in `dir`.
pub fn config(node: &str, dir: &std::path::Path) -> ContainerdConfig {
    ContainerdConfig {
        node_name: Some(node.to_string()),
        state_dir: dir.join("state"),
        log_dir: dir.join("logs"),
        ..ContainerdConfig::default()
    }
}

/// A shim serving one node on a temporary socket.
pub struct Shim {
    served: ServedShim,
    pub runtime: ContainerdRuntime,
    pub endpoint: String,
}

impl Shim {
    /// Connects a shim for `node` to containerd and serves it; state lives in `dir`.
    pub async fn start(node: &str, dir: &std::path::Path) -> Shim {
        Shim::start_with(config(node, dir), dir).await
    }

    /// A shim started without `--node-name`: it serves whichever node each caller names.
    pub async fn unpinned(dir: &std::path::Path) -> Shim {
        Shim::start_with(ContainerdConfig { node_name: None, ..config("", dir) }, dir).await
    }

    async fn start_with(config: ContainerdConfig, dir: &std::path::Path) -> Shim {
        let served =
            ServedShim::start(config, &dir.join("containerd-shim.sock")).await.expect("serving the shim on containerd");
        let (runtime, endpoint) = (served.runtime().clone(), served.endpoint());
        Shim { served, runtime, endpoint }
    }

    /// The kubelet's clients for this shim.
    pub async fn clients(&self) -> RuntimeClients {
        capstan_cri::connect(&self.endpoint).await.expect("connecting to the shim")
    }

    /// Stops serving (drop every client first: the server drains open connections).
    pub async fn stop(self) {
        let drained = tokio::time::timeout(Duration::from_secs(30), self.served.stop()).await;
        assert!(drained.is_ok(), "the shim's server did not drain within 30s");
    }
}
