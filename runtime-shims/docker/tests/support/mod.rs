//! The Docker shim's test harness: the real engine, the images the tests need, and
//! a shim served in-process on a temporary unix socket, reached through the
//! kubelet's own client (`capstan_cri::connect("unix://…")`).
//!
//! Each test gets its own node name, so the shim it starts lists and touches only
//! that test's containers; tests run in parallel against one engine.

#![allow(dead_code)] // each test binary uses a different part of the harness

use capstan_cri::{RuntimeClients, UnixServer};
use capstan_docker_shim::{DockerConfig, DockerRuntime};
pub use capstan_test_support::{ensure_images, require_docker, PAUSE_IMAGE, TEST_IMAGE};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A unique node name for one test.
pub fn node_name(test: &str) -> String {
    format!("t-{}-{}", test.replace('_', "-"), std::process::id())
}

/// Removes every container of a node when dropped — also when a test panics halfway —
/// with the Docker CLI (blocking, as drop must be).
pub struct Sweeper(String);

impl Sweeper {
    pub fn new(node: &str) -> Sweeper {
        Sweeper(node.to_string())
    }
}

impl Drop for Sweeper {
    fn drop(&mut self) {
        let filter = format!("label={}={}", capstan_cri::labels::NODE_NAME, self.0);
        let Ok(listed) = std::process::Command::new("docker").args(["ps", "-aq", "--filter", &filter]).output() else {
            return;
        };
        let ids: Vec<String> = String::from_utf8_lossy(&listed.stdout).split_whitespace().map(String::from).collect();
        if !ids.is_empty() {
            eprintln!("sweeping {} leftover container(s) of node {}", ids.len(), self.0);
            let _ = std::process::Command::new("docker").args(["rm", "-f"]).args(&ids).output();
        }
    }
}

/// A shim serving one node on a temporary socket.
pub struct Shim {
    pub runtime: DockerRuntime,
    pub endpoint: String,
    stop: Option<oneshot::Sender<()>>,
    server: JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Shim {
    /// Connects a shim for `node` to the engine and serves it.
    pub async fn start(node: &str) -> Shim {
        let config = DockerConfig { node_name: node.to_string(), ..DockerConfig::default() };
        let runtime = DockerRuntime::connect(config).await.expect("connecting the shim to Docker");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let server = UnixServer::bind(dir.path().join("docker-shim.sock")).await.expect("binding the shim's socket");
        let endpoint = format!("unix://{}", server.path().display());
        let (stop, stopped) = oneshot::channel::<()>();
        let served = runtime.clone();
        let server = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(error) = server.serve(served.clone(), served, shutdown).await {
                eprintln!("the shim stopped: {error}");
            }
        });
        Shim { runtime, endpoint, stop: Some(stop), server, _dir: dir }
    }

    /// The kubelet's clients for this shim.
    pub async fn clients(&self) -> RuntimeClients {
        capstan_cri::connect(&self.endpoint).await.expect("connecting to the shim")
    }

    /// Stops serving (drop every client first: the server drains open connections).
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let drained = tokio::time::timeout(Duration::from_secs(30), &mut self.server).await;
        assert!(drained.is_ok(), "the shim's server did not drain within 30s");
    }
}
