//! `capstan-bench-pod-start`: how long a pod bound to a Docker-backed node takes
//! from the create call until its status says Running, beside the same image and
//! command started raw (`docker create` + `docker start`) in the same run.
//!
//! Everything runs in this process: an API server on an embedded store, the
//! Docker shim on a temp unix socket for a node of its own (`bench-<pid>`), and
//! a kubelet for that node with its default timings. `main.rs` only parses flags.
//!
//! # Layout
//! - [`cluster`]: starting and stopping the three; [`calls`]: the timing layer
//!   on the shim that records every runtime call.
//! - [`pods`]: the pods and the watch that timestamps Running; [`raw`]: the
//!   baselines; [`images`]: `scripts/images.sh`.
//! - [`stats`], [`breakdown`], [`report`]: the numbers and the printed table.
//! - [`sweep`]: removing leftovers however the run ends.
//! - [`containerd`]: the same measurement on a containerd-backed node, beside `ctr run`.
//! - [`otlp`]: pod start with every component's spans exported to a trace
//!   sink, beside exporting nothing (`--otlp`).
//!
//! Nothing here asserts a timing: targets are printed with met / not met.

pub mod breakdown;
pub mod calls;
pub mod cluster;
pub mod containerd;
mod error;
pub mod images;
pub mod otlp;
pub mod pods;
pub mod raw;
pub mod report;
pub mod stats;
pub mod sweep;

use std::sync::Arc;
use std::time::Duration;

pub use error::BenchError;
pub use report::Report;

use cluster::Cluster;
use pods::PodRunner;
use raw::{RawNetwork, RawSpec};
use stats::Summary;
use sweep::Sweep;

/// How long cleanup waits for the kubelet to finish the deleted pods.
pub(crate) const CLEANUP_WAIT: Duration = Duration::from_secs(120);

/// What the pods (and the raw containers) run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Workload {
    /// `sleep 3600`
    Sleep,
    /// busybox `httpd -f -p 8080 -h /www`
    Httpd,
}

impl Workload {
    pub fn command(self) -> &'static [&'static str] {
        match self {
            Workload::Sleep => &["sleep", "3600"],
            Workload::Httpd => &["httpd", "-f", "-p", "8080", "-h", "/www"],
        }
    }
}

/// One run's settings.
#[derive(Clone, Debug)]
pub struct Options {
    /// measured pods, and measured raw pairs of each kind
    pub pods: usize,
    /// pods (and raw pairs) started at once
    pub parallel: usize,
    pub workload: Workload,
    /// the Docker network the shim puts pod sandboxes on (and the raw pause
    /// containers join); the shim's default when `None`
    pub network: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options { pods: 30, parallel: 1, workload: Workload::Sleep, network: None }
    }
}

impl Options {
    /// The pod network this run uses.
    pub fn network(&self) -> String {
        self.network.clone().unwrap_or_else(|| capstan_docker_shim::DockerConfig::default().network)
    }

    /// The smoke settings: 3 pods, one at a time.
    pub fn quick() -> Self {
        Options { pods: 3, ..Options::default() }
    }
}

/// Runs the benchmark and cleans up after it, also when it fails.
pub async fn run(options: &Options) -> Result<Report, BenchError> {
    images::ensure().await?;
    let pid = std::process::id();
    let (node, run_id) = (format!("bench-{pid}"), pid.to_string());
    let _sweep = Sweep::new(&node, &run_id);
    let cluster = Cluster::start(&node, &options.network()).await?;
    let measured = measure(&cluster, options, &run_id).await;
    let deleted = pods::delete_all(&cluster.client, &run_id, CLEANUP_WAIT).await;
    let removed = raw::remove_all(&run_id).await;
    cluster.stop().await;
    match measured {
        Ok(report) => {
            deleted?;
            removed?;
            Ok(report)
        }
        Err(error) => {
            for cleanup in [deleted.err(), removed.err()].into_iter().flatten() {
                tracing::warn!(error = %cleanup, "cleaning up after a failed run");
            }
            Err(error)
        }
    }
}

async fn measure(cluster: &Cluster, options: &Options, run_id: &str) -> Result<Report, BenchError> {
    let (n, k) = (options.pods.max(1), options.parallel.max(1));
    let command = options.workload.command();
    let docker = cluster.engine.docker();
    let engine_version = docker.version().await.ok().and_then(|v| v.version).unwrap_or_default();
    let spec = RawSpec {
        run_id: run_id.to_string(),
        command: command.iter().map(|s| s.to_string()).collect(),
        network: options.network(),
    };
    let runner = Arc::new(PodRunner::start(&cluster.client, &cluster.node, run_id, command).await?);
    // one unmeasured warm-up of each kind; the warm-up pod also proves the watch
    // is live before anything is timed
    raw::docker_cli(&spec, RawNetwork::Default, 1, 1).await?;
    raw::docker_cli(&spec, RawNetwork::Pod, 1, 1).await?;
    raw::bollard_single(docker, &spec, 1, 1).await?;
    raw::bollard_pod_like(docker, &spec, 1, 1).await?;
    runner.measure("bench-warmup").await?;
    // rounds of `k` of each kind back to back, so a change in the machine's load
    // (it is shared) hits the baselines and the pods alike
    let (mut cli, mut cli_pod_network) = (Vec::new(), Vec::new());
    let (mut bollard, mut pod_like, mut samples) = (Vec::new(), Vec::new(), Vec::new());
    let mut next = 0;
    while next < n {
        let m = k.min(n - next);
        cli.extend(raw::docker_cli(&spec, RawNetwork::Default, m, k).await?);
        cli_pod_network.extend(raw::docker_cli(&spec, RawNetwork::Pod, m, k).await?);
        bollard.extend(raw::bollard_single(docker, &spec, m, k).await?);
        pod_like.extend(raw::bollard_pod_like(docker, &spec, m, k).await?);
        let names = (next..next + m).map(|i| format!("bench-{i}")).collect();
        samples.extend(runner.measure_all(names, k).await?);
        next += m;
    }
    let latencies: Vec<Duration> = samples.iter().map(|s| s.latency()).collect();
    let breakdown = (k == 1).then(|| breakdown::analyse(&samples, &cluster.calls));

    Ok(Report {
        options: options.clone(),
        node: cluster.node.clone(),
        engine_version,
        cli: summary(&cli),
        cli_pod_network: summary(&cli_pod_network),
        bollard: summary(&bollard),
        pod_like: summary(&pod_like.iter().map(|(pair, _)| *pair).collect::<Vec<Duration>>()),
        pause: summary(&pod_like.iter().map(|(_, pause)| *pause).collect::<Vec<Duration>>()),
        pods: summary(&latencies),
        breakdown,
    })
}

/// The summary of `samples` (all zero when there are none).
fn summary(samples: &[Duration]) -> Summary {
    Summary::of(samples).unwrap_or(Summary { n: 0, p50: Duration::ZERO, p99: Duration::ZERO, max: Duration::ZERO })
}
