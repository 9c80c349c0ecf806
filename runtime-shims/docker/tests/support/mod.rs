//! The Docker shim's test harness: the real engine, the images the tests need, and
//! a shim served in-process on a temporary unix socket, reached through the
//! kubelet's own client (`capstan_cri::connect("unix://…")`).
//!
//! Each test gets its own node name, so the shim it starts lists and touches only
//! that test's containers; tests run in parallel against one engine.

#![allow(dead_code, unused_imports)] // each test binary uses a different part of the harness

use capstan_cri::RuntimeClients;
use capstan_docker_shim::{DockerConfig, DockerRuntime, ServedShim};
pub use capstan_test_support::{ensure_images, require_docker, PAUSE_IMAGE, TEST_IMAGE};
use std::time::Duration;

/// A unique node name for one test.
pub fn node_name(test: &str) -> String {
    format!("t-{}-{}", test.replace('_', "-"), std::process::id())
}

/// Removes every container of a node when dropped — also when a test panics halfway.
pub struct Sweeper(capstan_test_support::DockerSweeper);

impl Sweeper {
    pub fn new(node: &str) -> Sweeper {
        Sweeper(capstan_test_support::DockerSweeper::new(capstan_cri::labels::NODE_NAME, node))
    }
}

/// A shim serving one node on a temporary socket.
pub struct Shim {
    served: ServedShim,
    pub runtime: DockerRuntime,
    pub endpoint: String,
    _dir: tempfile::TempDir,
}

impl Shim {
    /// Connects a shim for `node` to the engine and serves it.
    pub async fn start(node: &str) -> Shim {
        Shim::serving(Some(node)).await
    }

    /// A shim started with `--node-name pinned`, or without one (`None`): it then
    /// serves whichever node each caller names.
    pub async fn serving(pinned: Option<&str>) -> Shim {
        let config = DockerConfig { node_name: pinned.map(str::to_string), ..DockerConfig::default() };
        let dir = tempfile::tempdir().expect("a temporary directory");
        let served =
            ServedShim::start(config, &dir.path().join("docker-shim.sock")).await.expect("serving the shim on Docker");
        let (runtime, endpoint) = (served.runtime().clone(), served.endpoint());
        Shim { served, runtime, endpoint, _dir: dir }
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
