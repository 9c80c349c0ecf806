//! The Docker half of the kubelet's integration harness: a Docker shim served
//! in-process on a temporary unix socket for one node, a kubelet pointed at it
//! with short test timings, a [`Sweeper`] that removes the node's containers even
//! when a test panics, and small readers of what the engine itself holds
//! (containers by pod uid, exec events) so assertions do not trust the shim alone.

#![allow(dead_code)] // each test uses a different part of the harness

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::Stdio;
use std::time::Duration;

use capstan_client::{Client, ListParams, WatchEvent};
use capstan_cri::{labels, RuntimeClients};
use capstan_docker_shim::{DockerConfig, ServedShim};
use capstan_kubelet::{Config, Kubelet, Timings};
use capstan_proto::core::v1::{Container, ExecAction, Pod, Probe};
use capstan_proto::runtime::v1::{ExecSyncRequest, ExecSyncResponse};
use futures::StreamExt;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

use crate::common::TestCluster;

pub use capstan_test_support::{ensure_images, require_docker};

/// The bound on every wait: generous, the machine is small and shared.
pub const WAIT: Duration = Duration::from_secs(60);

/// A node name unique to one test of one process.
pub fn node_name(test: &str) -> String {
    format!("kd-{}-{}", test.replace('_', "-"), std::process::id())
}

/// Removes every container (sandboxes included) of a node when dropped, also
/// after a failed assertion.
pub struct Sweeper(capstan_test_support::DockerSweeper);

impl Sweeper {
    pub fn new(node: &str) -> Sweeper {
        Sweeper(capstan_test_support::DockerSweeper::new(labels::NODE_NAME, node))
    }
}

/// A Docker shim serving one node on a temporary unix socket.
pub struct Shim {
    pub endpoint: String,
    served: ServedShim,
    _dir: tempfile::TempDir,
}

impl Shim {
    /// A shim started with `--node-name node`: it serves that node only.
    pub async fn start(node: &str) -> Shim {
        Shim::start_in(Some(node), tempfile::tempdir().expect("a temporary directory")).await
    }

    /// A shim for `node` whose pod sandboxes join Docker network `network`
    /// (`bridge`: Docker's default, without the embedded DNS resolver).
    pub async fn start_on(node: &str, network: &str) -> Shim {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let config =
            DockerConfig { node_name: Some(node.to_string()), network: network.to_string(), ..DockerConfig::default() };
        let served = ServedShim::start(config, &Shim::socket_in(&dir)).await.expect("serving the shim on Docker");
        Shim { endpoint: served.endpoint(), served, _dir: dir }
    }

    /// A shim serving node `pinned` only, or (`None`, no `--node-name`) whichever
    /// node each kubelet names, on [`Shim::socket_in`] `dir`.
    pub async fn start_in(pinned: Option<&str>, dir: tempfile::TempDir) -> Shim {
        let config = DockerConfig { node_name: pinned.map(str::to_string), ..DockerConfig::default() };
        let served = ServedShim::start(config, &Shim::socket_in(&dir)).await.expect("serving the shim on Docker");
        Shim { endpoint: served.endpoint(), served, _dir: dir }
    }

    /// Where a shim started in `dir` serves.
    pub fn socket_in(dir: &tempfile::TempDir) -> std::path::PathBuf {
        dir.path().join("docker-shim.sock")
    }

    /// Stops serving; every client must be dropped first (the server drains).
    pub async fn stop(self) {
        let drained = tokio::time::timeout(Duration::from_secs(30), self.served.stop()).await;
        assert!(drained.is_ok(), "the shim's server did not drain within 30s");
    }
}

/// Short back-off and fast resync and GC, set through the config (never by
/// changing the defaults).
pub fn test_timings() -> Timings {
    Timings {
        backoff_base: Duration::from_secs(1),
        backoff_max: Duration::from_secs(4),
        pod_resync: Duration::from_millis(200),
        gc: Duration::from_secs(1),
        ..Timings::default()
    }
}

/// A kubelet for node `name` on the runtime at `endpoint`, on loopback.
pub fn kubelet_config(cluster: &TestCluster, name: &str, endpoint: &str, timings: Timings) -> Config {
    let target = cluster.node_target(name);
    let mut config = Config::new(target.server, name, endpoint);
    config.credentials = target.credentials;
    config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config.node_ip = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
    config.timings = timings;
    config
}

/// One node: a shim for it, a kubelet connected to the shim by its endpoint, and
/// the test's own clients to the same shim.
pub struct DockerNode {
    pub name: String,
    pub runtime: RuntimeClients,
    kubelet: Kubelet,
    shim: Shim,
}

impl DockerNode {
    pub async fn start(cluster: &TestCluster, name: &str, timings: Timings) -> DockerNode {
        let shim = Shim::start(name).await;
        let kubelet =
            Kubelet::start(kubelet_config(cluster, name, &shim.endpoint, timings)).await.expect("the kubelet starts");
        let runtime = capstan_cri::connect(&shim.endpoint).await.expect("connecting to the shim");
        DockerNode { name: name.to_string(), runtime, kubelet, shim }
    }

    /// Where the kubelet serves (health, `GET /metrics`).
    pub fn kubelet_addr(&self) -> SocketAddr {
        self.kubelet.addr()
    }

    /// The shim's socket (it serves `GET /metrics` there too).
    pub fn shim_socket(&self) -> std::path::PathBuf {
        self.shim.served.socket().to_path_buf()
    }

    /// Stops the kubelet, then the shim; the node's containers keep running.
    pub async fn stop(self) {
        self.kubelet.stop().await.expect("the kubelet stops cleanly");
        drop(self.runtime);
        self.shim.stop().await;
    }

    /// Runs `cmd` in a container through the runtime's ExecSync.
    pub async fn exec(&self, container_id: &str, cmd: &[&str]) -> ExecSyncResponse {
        let request = ExecSyncRequest {
            container_id: container_id.to_string(),
            cmd: cmd.iter().map(|s| s.to_string()).collect(),
            timeout: 10,
        };
        self.runtime.runtime.clone().exec_sync(request).await.expect("ExecSync").into_inner()
    }
}

/// Everything one Docker test needs; fields drop in order, so the kubelet is gone
/// before the sweeper removes the node's containers.
pub struct Env {
    node: Option<DockerNode>,
    pub node_name: String,
    timings: Timings,
    pub cluster: TestCluster,
    _sweeper: Sweeper,
}

impl Env {
    /// `None` (after a printed skip) without Docker outside CI; a panic in CI.
    pub async fn start(test: &str, timings: Timings) -> Option<Env> {
        require_docker()?;
        ensure_images().await;
        let node_name = node_name(test);
        let sweeper = Sweeper::new(&node_name);
        let cluster = crate::common::cluster().await;
        let mut env = Env { node: None, node_name, timings, cluster, _sweeper: sweeper };
        env.start_node().await;
        Some(env)
    }

    /// The running node.
    pub fn node(&self) -> &DockerNode {
        self.node.as_ref().expect("the node is running")
    }

    /// Starts a (new) shim and kubelet for this test's node.
    pub async fn start_node(&mut self) {
        assert!(self.node.is_none(), "the node is already running");
        self.node = Some(DockerNode::start(&self.cluster, &self.node_name, self.timings.clone()).await);
    }

    /// Stops the node's kubelet and shim; its containers keep running.
    pub async fn stop_node(&mut self) {
        if let Some(node) = self.node.take() {
            node.stop().await;
        }
    }

    /// Creates `pod`, already bound to this node by `spec.nodeName`.
    pub async fn create(&self, mut pod: Pod) -> Pod {
        pod.spec.get_or_insert_with(Default::default).node_name = self.node_name.clone();
        self.cluster.client.api::<Pod>(Some("default")).create(&pod).await.expect("create the pod")
    }

    /// Stops the node, then lets the sweeper run.
    pub async fn stop(mut self) {
        self.stop_node().await;
    }
}

/// A pod in `default` with `policy`; [`Env::create`] binds it.
pub fn pod(name: &str, policy: &str, containers: Vec<Container>) -> Pod {
    capstan_testkit::pod(name).restart_policy(policy).containers(containers).build()
}

/// An exec probe run every `period` seconds, failing after `failures` in a row.
pub fn exec_probe(command: &[&str], period: i32, failures: i32) -> Probe {
    Probe {
        exec: Some(ExecAction { command: command.iter().map(|s| s.to_string()).collect() }),
        period_seconds: period,
        failure_threshold: failures,
        ..Default::default()
    }
}

/// Reads pod `name`, then watches it, until `done` holds; `done` sees every
/// version in order, so it may record what it observes. Panics with the last
/// version seen after [`WAIT`], or if the pod is gone.
pub async fn watch_pod(client: &Client, name: &str, mut done: impl FnMut(&Pod) -> bool) -> Pod {
    let api = client.api::<Pod>(Some("default"));
    let params = ListParams::default().fields(&format!("metadata.name={name}"));
    let mut last = None;
    let waited = tokio::time::timeout(WAIT, async {
        loop {
            let current = api.get(name).await.unwrap_or_else(|e| panic!("get pod {name}: {e}"));
            if done(&current) {
                return current;
            }
            let version = current.metadata.as_ref().map(|m| m.resource_version.clone()).unwrap_or_default();
            last = Some(current);
            let Ok(mut changes) = api.watch(&params, &version).await else { continue };
            while let Some(Ok(event)) = changes.next().await {
                match event {
                    WatchEvent::Added(pod) | WatchEvent::Modified(pod) => {
                        if done(&pod) {
                            return pod;
                        }
                        last = Some(pod);
                    }
                    WatchEvent::Deleted(_) => panic!("pod {name} was deleted while waiting for it"),
                    WatchEvent::Bookmark { .. } => {}
                }
            }
        }
    })
    .await;
    waited.unwrap_or_else(|_| panic!("pod {name} did not get there within {WAIT:?}; last seen: {last:#?}"))
}

/// Watches (bounded by [`WAIT`]) until pod `name` is gone from the API.
pub async fn wait_gone(client: &Client, name: &str) {
    let api = client.api::<Pod>(Some("default"));
    let params = ListParams::default().fields(&format!("metadata.name={name}"));
    let gone = tokio::time::timeout(WAIT, async {
        loop {
            let version = match api.get(name).await {
                Err(error) if error.is_not_found() => return,
                Err(error) => panic!("get pod {name}: {error}"),
                Ok(pod) => pod.metadata.map(|m| m.resource_version).unwrap_or_default(),
            };
            let Ok(mut changes) = api.watch(&params, &version).await else { continue };
            while let Some(Ok(event)) = changes.next().await {
                if let WatchEvent::Deleted(_) = event {
                    return;
                }
            }
        }
    });
    gone.await.unwrap_or_else(|_| panic!("pod {name} still exists after {WAIT:?}"));
}

/// `(id, state)` of every Docker container (sandboxes included, any state)
/// labelled with pod `uid`, sorted, as the engine itself reports them.
pub async fn docker_containers(uid: &str) -> Vec<(String, String)> {
    let filter = format!("label={}={uid}", labels::POD_UID);
    let output = Command::new("docker")
        .args(["ps", "-a", "--no-trunc", "--filter", &filter, "--format", "{{.ID}} {{.State}}"])
        .output()
        .await
        .expect("running docker ps");
    assert!(output.status.success(), "docker ps: {}", String::from_utf8_lossy(&output.stderr));
    let mut listed: Vec<(String, String)> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| l.split_once(' ').map(|(id, state)| (id.to_string(), state.to_string())))
        .collect();
    listed.sort();
    listed
}

/// Polls the engine (bounded by [`WAIT`]) until pod `uid` has no container left.
pub async fn wait_docker_empty(uid: &str) {
    capstan_testkit::eventually(&format!("pod {uid} to have no container left"), WAIT, || async {
        let left = docker_containers(uid).await;
        if left.is_empty() {
            Ok(())
        } else {
            Err(left)
        }
    })
    .await
}

/// A subscription to the engine's `exec_die` events of one container: each is
/// one finished exec (one probe run), counted without looking at a clock.
pub struct ExecEvents {
    lines: Lines<BufReader<ChildStdout>>,
    _child: Child,
}

impl ExecEvents {
    pub fn subscribe(container_id: &str) -> ExecEvents {
        let mut child = Command::new("docker")
            .args(["events", "--filter", &format!("container={container_id}"), "--filter", "event=exec_die"])
            .args(["--format", "{{.Status}}"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("running docker events");
        let stdout = child.stdout.take().expect("docker events' stdout");
        ExecEvents { lines: BufReader::new(stdout).lines(), _child: child }
    }

    /// Waits (bounded by [`WAIT`]) for `n` more finished execs.
    pub async fn wait(&mut self, n: usize) {
        let counted = tokio::time::timeout(WAIT, async {
            for _ in 0..n {
                let line = self.lines.next_line().await.expect("reading docker events");
                assert!(line.is_some(), "docker events ended");
            }
        });
        counted.await.unwrap_or_else(|_| panic!("fewer than {n} execs within {WAIT:?}"));
    }
}

/// The id the engine knows a container by, from a status's `docker://<id>`.
pub fn docker_id(container_id: &str) -> &str {
    container_id.strip_prefix("docker://").unwrap_or(container_id)
}

/// One HTTP/1.0 GET of `/` from the host: the whole answer.
pub async fn http_get(ip: &str, port: u16) -> String {
    let connect = tokio::net::TcpStream::connect((ip, port));
    let mut stream = tokio::time::timeout(Duration::from_secs(10), connect)
        .await
        .unwrap_or_else(|_| panic!("connecting to {ip}:{port} timed out"))
        .unwrap_or_else(|e| panic!("connecting to {ip}:{port}: {e}"));
    stream.write_all(format!("GET / HTTP/1.0\r\nHost: {ip}\r\n\r\n").as_bytes()).await.expect("send the request");
    let mut answer = String::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut answer));
    read.await.expect("the answer within 10s").expect("read the answer");
    answer
}
