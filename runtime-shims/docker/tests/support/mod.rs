//! The Docker shim's test harness: the real engine, the images the tests need, and
//! a shim served in-process on a temporary unix socket, reached through the
//! kubelet's own client (`capstan_cri::connect("unix://…")`).
//!
//! Each test gets its own node name, so the shim it starts lists and touches only
//! that test's containers; tests run in parallel against one engine.

#![allow(dead_code)] // each test binary uses a different part of the harness

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

use capstan_cri::{RuntimeClients, UnixServer};
use capstan_docker_shim::{DockerConfig, DockerRuntime};
use capstan_test_support::{require_daemon, HarnessError};
use tokio::sync::{oneshot, OnceCell};
use tokio::task::JoinHandle;

pub const DOCKER_SOCKET: &str = "/var/run/docker.sock";
pub const PAUSE_IMAGE: &str = "capstan/pause:1";
pub const TEST_IMAGE: &str = "capstan/test:1";

/// Whether the Docker engine answers `GET /_ping` on its socket: `NotInstalled` when
/// there is no socket (a skip outside CI), `NotReady` when it does not answer.
/// (To move into capstan-test-support as `DockerEngine::require()`.)
fn ping_docker() -> Result<(), HarnessError> {
    let not_ready =
        |detail: String| HarnessError::NotReady { daemon: "docker", waited: Duration::from_secs(5), detail };
    let mut socket = UnixStream::connect(DOCKER_SOCKET).map_err(|error| match error.kind() {
        std::io::ErrorKind::NotFound => {
            HarnessError::NotInstalled { daemon: "docker", hint: "install Debian's docker.io and start dockerd" }
        }
        _ => not_ready(format!("connecting to {DOCKER_SOCKET}: {error}")),
    })?;
    let io = |e: std::io::Error| not_ready(format!("pinging {DOCKER_SOCKET}: {e}"));
    socket.set_read_timeout(Some(Duration::from_secs(5))).map_err(io)?;
    socket.write_all(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n").map_err(io)?;
    let mut answer = String::new();
    socket.read_to_string(&mut answer).map_err(io)?;
    if answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200") {
        Ok(())
    } else {
        Err(not_ready(format!("unexpected answer to /_ping: {answer:?}")))
    }
}

/// `Some(())` when the engine answers; `None` (after a printed skip) when there is no
/// engine outside CI; a panic in CI or when it is broken.
pub fn require_docker() -> Option<()> {
    require_daemon(ping_docker())
}

static IMAGES: OnceCell<()> = OnceCell::const_new();

/// Builds the pause and test images with `scripts/images.sh`, once per test process
/// (the script is idempotent and serialises concurrent runs with a lock file).
pub async fn ensure_images() {
    IMAGES
        .get_or_init(|| async {
            let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/images.sh");
            let output =
                tokio::process::Command::new("bash").arg(&script).output().await.expect("running scripts/images.sh");
            assert!(output.status.success(), "scripts/images.sh failed: {}", String::from_utf8_lossy(&output.stderr));
        })
        .await;
}

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
