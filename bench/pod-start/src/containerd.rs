//! The containerd mode (`--runtime containerd`): how long a pod bound to a
//! containerd-backed node takes from the create call until Running, beside a raw
//! `ctr run -d` of the same image and command in the same run.
//!
//! Everything runs in this process as in the Docker mode — an API server on an
//! embedded store, the containerd shim on a temp unix socket for a node of its own
//! (`bench-ctrd-<pid>`), a kubelet with its default timings — against the
//! standalone containerd `scripts/setup.sh` starts. The test image is imported
//! into the `capstan` namespace from `scripts/images.sh --save` first (no
//! registry is reachable). Pods are timed by the same [`PodRunner`] as in the
//! Docker mode.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use capstan_apiserver::{ApiServer, Config as ApiConfig, StoreConfig};
use capstan_client::Client;
use capstan_containerd_shim::{ContainerdConfig, ServedShim};
use capstan_kubelet::Kubelet;
use futures::StreamExt;

use crate::pods::{self, PodRunner};
use crate::stats::{ms, Summary};
use crate::{BenchError, Options};

/// containerd's socket and the namespace the shim (and the raw containers) use.
const ADDRESS: &str = "/run/containerd/containerd.sock";
const NAMESPACE: &str = "capstan";
/// The image as containerd names it.
const IMAGE: &str = "docker.io/capstan/test:1";
/// The label on raw containers, valued with the run's id.
const RAW_LABEL: &str = "capstan-bench-raw";
const CLEANUP_WAIT: Duration = Duration::from_secs(120);

/// The figures of one containerd run.
#[derive(Clone, Debug)]
pub struct ContainerdReport {
    pub options: Options,
    pub node: String,
    /// `ctr run -d`: container, snapshot, task create and start
    pub ctr: Summary,
    /// create pod → Running through the shim
    pub pods: Summary,
}

impl ContainerdReport {
    /// pod p50 ÷ raw `ctr run` p50.
    pub fn ratio(&self) -> f64 {
        self.pods.p50.as_secs_f64() / self.ctr.p50.as_secs_f64().max(f64::MIN_POSITIVE)
    }

    pub fn render(&self) -> String {
        let o = &self.options;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "pod-start (containerd): {} pods of capstan/test:1 `{}`, {} at a time; node {}, namespace {NAMESPACE}",
            o.pods,
            o.workload.command().join(" "),
            o.parallel,
            self.node
        );
        let _ = writeln!(out, "each line after one unmeasured warm-up; raw containers removed before the pods\n");
        let _ = writeln!(out, "{:<58} {:>4} {:>9} {:>9} {:>9}", "what", "n", "p50 ms", "p99 ms", "max ms");
        for (what, s) in [
            ("raw `ctr run -d` (container + snapshot + task)", &self.ctr),
            ("pod create → Running (containerd shim)", &self.pods),
        ] {
            let _ = writeln!(out, "{what:<58} {:>4} {:>9} {:>9} {:>9}", s.n, ms(s.p50), ms(s.p99), ms(s.max));
        }
        let _ = writeln!(out, "\npod p50 / ctr run p50 = {:.2}", self.ratio());
        out
    }
}

/// Runs the containerd mode and cleans up after it, also when it fails.
pub async fn run(options: &Options) -> Result<ContainerdReport, BenchError> {
    crate::images::ensure().await?;
    let dir = tempfile::tempdir().map_err(|source| BenchError::Io { what: "creating a temp dir".into(), source })?;
    import_images(dir.path()).await?;
    let pid = std::process::id();
    let (node, run_id) = (format!("bench-ctrd-{pid}"), format!("ctrd-{pid}"));
    let command: Vec<String> = options.workload.command().iter().map(|s| s.to_string()).collect();
    let (n, k) = (options.pods.max(1), options.parallel.max(1));

    ctr_runs(&run_id, &command, 1, 1).await?;
    let raw = ctr_runs(&run_id, &command, n, k).await;
    remove_raw(&run_id).await;
    let raw = raw?;

    let node_cluster = NodeCluster::start(&node, dir.path()).await?;
    let measured = async {
        let runner =
            Arc::new(PodRunner::start(&node_cluster.client, &node, &run_id, options.workload.command()).await?);
        runner.measure("bench-warmup").await?;
        let names = (0..n).map(|i| format!("bench-{i}")).collect();
        runner.measure_all(names, k).await
    }
    .await;
    let deleted = pods::delete_all(&node_cluster.client, &run_id, CLEANUP_WAIT).await;
    node_cluster.stop().await;
    let samples = measured?;
    deleted?;
    let latencies: Vec<Duration> = samples.iter().map(|s| s.latency()).collect();
    Ok(ContainerdReport { options: options.clone(), node, ctr: summary(&raw), pods: summary(&latencies) })
}

fn summary(samples: &[Duration]) -> Summary {
    Summary::of(samples).unwrap_or(Summary { n: 0, p50: Duration::ZERO, p99: Duration::ZERO, max: Duration::ZERO })
}

/// Saves the test images from Docker and imports them into containerd.
async fn import_images(dir: &Path) -> Result<(), BenchError> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/images.sh");
    let output = tokio::process::Command::new("bash")
        .arg(&script)
        .arg("--save")
        .arg(dir)
        .output()
        .await
        .map_err(|source| BenchError::Io { what: format!("running {}", script.display()), source })?;
    if !output.status.success() {
        return Err(BenchError::Images {
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    capstan_containerd_shim::import_archive(ADDRESS, NAMESPACE, &dir.join("capstan-images.tar"))
        .await
        .map_err(|e| BenchError::Containerd(e.to_string()))?;
    Ok(())
}

async fn ctr(args: &[&str]) -> Result<std::process::Output, BenchError> {
    tokio::process::Command::new("ctr")
        .args(["--address", ADDRESS, "-n", NAMESPACE])
        .args(args)
        .output()
        .await
        .map_err(|source| BenchError::Io { what: format!("running ctr {}", args.join(" ")), source })
}

/// `n` timed `ctr run -d` of the image, `k` at a time.
async fn ctr_runs(run_id: &str, command: &[String], n: usize, k: usize) -> Result<Vec<Duration>, BenchError> {
    let label = format!("{RAW_LABEL}={run_id}");
    let runs = futures::stream::iter(0..n)
        .map(|_| {
            let name = format!("raw-{run_id}-{}", uuid_like());
            let label = label.clone();
            async move {
                let mut args = vec!["run", "-d", "--label", &label, IMAGE, &name];
                args.extend(command.iter().map(String::as_str));
                let started = Instant::now();
                let output = ctr(&args).await?;
                let took = started.elapsed();
                if !output.status.success() {
                    return Err(BenchError::Containerd(format!(
                        "ctr run failed: {}",
                        String::from_utf8_lossy(&output.stderr).trim()
                    )));
                }
                Ok(took)
            }
        })
        .buffer_unordered(k);
    runs.collect::<Vec<_>>().await.into_iter().collect()
}

/// A name part unique within the process.
fn uuid_like() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed).to_string()
}

/// Kills and removes this run's raw containers (best effort: reported, not raised).
async fn remove_raw(run_id: &str) {
    let filter = format!("labels.\"{RAW_LABEL}\"==\"{run_id}\"");
    let Ok(listed) = ctr(&["containers", "ls", "-q", &filter]).await else { return };
    for id in String::from_utf8_lossy(&listed.stdout).split_whitespace() {
        for args in [
            vec!["tasks", "kill", "-a", "-s", "SIGKILL", id],
            vec!["tasks", "rm", "-f", id],
            vec!["containers", "rm", id],
        ] {
            if let Ok(output) = ctr(&args).await {
                if !output.status.success() && args[0] == "containers" {
                    tracing::warn!(container = %id, "removing a raw container: {}", String::from_utf8_lossy(&output.stderr));
                }
            }
        }
    }
}

/// The API server, the containerd shim and a kubelet for one node.
struct NodeCluster {
    client: Client,
    server: ApiServer,
    shim: ServedShim,
    kubelet: Kubelet,
}

impl NodeCluster {
    async fn start(node: &str, dir: &Path) -> Result<NodeCluster, BenchError> {
        let config = ApiConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            storage: StoreConfig::embedded(dir.join("store")),
            ..Default::default()
        };
        let server = ApiServer::start(config).await.map_err(|e| BenchError::ApiServer(e.to_string()))?;
        let client = Client::connect(&server.url()).map_err(BenchError::api("connect"))?;
        let shim_config = ContainerdConfig {
            node_name: Some(node.to_string()),
            state_dir: dir.join("shim"),
            log_dir: dir.join("logs"),
            ..ContainerdConfig::default()
        };
        let shim = ServedShim::start(shim_config, &dir.join("containerd-shim.sock"))
            .await
            .map_err(|e| BenchError::Containerd(e.to_string()))?;
        let mut config = capstan_kubelet::Config::new(server.url(), node, shim.endpoint());
        config.listen = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        config.node_ip = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let kubelet = match Kubelet::start(config).await {
            Ok(kubelet) => kubelet,
            Err(error) => {
                shim.stop().await;
                return Err(BenchError::Kubelet(error.to_string()));
            }
        };
        Ok(NodeCluster { client, server, shim, kubelet })
    }

    async fn stop(self) {
        if let Err(error) = self.kubelet.stop().await {
            tracing::warn!(%error, "stopping the kubelet");
        }
        self.shim.stop().await;
        if let Err(error) = self.server.stop().await {
            tracing::warn!(%error, "stopping the API server");
        }
    }
}
