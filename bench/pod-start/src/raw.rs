//! The baselines: the same image and command started without Capstan — through
//! the `docker` CLI (`docker create` then `docker start`, timed as a pair, on
//! Docker's default network and on the pod network), and
//! through bollard on the shim's own engine connection, alone and as a pause
//! container plus an app container joining its network (the two containers a
//! pod is). Every container carries the run's label and is removed by it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::Docker;
use futures::{StreamExt, TryStreamExt};

use crate::images::TEST_IMAGE;
use crate::BenchError;

/// The label every raw container carries (as the issue asks).
pub const BENCH_LABEL: &str = "capstan-bench";
/// The label naming the run, so concurrent runs remove only their own.
pub const RUN_LABEL: &str = "capstan-bench-run";
const PAUSE_IMAGE: &str = "capstan/pause:1";

/// What to start raw.
#[derive(Clone, Debug)]
pub struct RawSpec {
    pub run_id: String,
    pub command: Vec<String>,
    /// the shim's pod network, which the pause containers join
    pub network: String,
}

/// Where a raw container's network comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RawNetwork {
    /// Docker's default (`bridge`), what a plain `docker create` gets
    Default,
    /// the pod network (`--network NAME`), what a pod's sandbox gets
    Pod,
}

/// Runs `n` create+start pairs through the CLI, `parallel` at a time.
pub async fn docker_cli(
    spec: &RawSpec,
    network: RawNetwork,
    n: usize,
    parallel: usize,
) -> Result<Vec<Duration>, BenchError> {
    repeat(n, parallel, || cli_pair(spec, network)).await
}

/// Runs `n` create+start pairs through bollard.
pub async fn bollard_single(
    docker: &Docker,
    spec: &RawSpec,
    n: usize,
    parallel: usize,
) -> Result<Vec<Duration>, BenchError> {
    repeat(n, parallel, || async {
        let start = Instant::now();
        let id = create(docker, body(spec, TEST_IMAGE, spec.command.clone(), None)).await?;
        docker.start_container(&id, None).await.map_err(|source| BenchError::Engine { call: "start", source })?;
        Ok(start.elapsed())
    })
    .await
}

/// Runs `n` pause + app pairs through bollard: create+start the pause container
/// on the pod network, then create+start the app in its network namespace.
/// Returns (whole pair, pause half) per pair.
pub async fn bollard_pod_like(
    docker: &Docker,
    spec: &RawSpec,
    n: usize,
    parallel: usize,
) -> Result<Vec<(Duration, Duration)>, BenchError> {
    let pairs = futures::stream::iter(0..n).map(|_| async {
        let start = Instant::now();
        let pause = create(docker, body(spec, PAUSE_IMAGE, Vec::new(), Some(spec.network.clone()))).await?;
        docker.start_container(&pause, None).await.map_err(|source| BenchError::Engine { call: "start", source })?;
        let paused = start.elapsed();
        let app =
            create(docker, body(spec, TEST_IMAGE, spec.command.clone(), Some(format!("container:{pause}")))).await?;
        docker.start_container(&app, None).await.map_err(|source| BenchError::Engine { call: "start", source })?;
        Ok::<_, BenchError>((start.elapsed(), paused))
    });
    pairs.buffer_unordered(parallel.max(1)).try_collect().await
}

/// Force-removes every container of the run (`docker rm -f`).
pub async fn remove_all(run_id: &str) -> Result<usize, BenchError> {
    let filter = format!("label={RUN_LABEL}={run_id}");
    let listed = docker(&["ps", "-aq", "--filter", &filter]).await?;
    let ids: Vec<&str> = listed.split_whitespace().collect();
    if !ids.is_empty() {
        let mut args = vec!["rm", "-f"];
        args.extend(&ids);
        docker(&args).await?;
    }
    Ok(ids.len())
}

async fn repeat<F, Fut>(n: usize, parallel: usize, one: F) -> Result<Vec<Duration>, BenchError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<Duration, BenchError>>,
{
    futures::stream::iter(0..n).map(|_| one()).buffer_unordered(parallel.max(1)).try_collect().await
}

async fn cli_pair(spec: &RawSpec, network: RawNetwork) -> Result<Duration, BenchError> {
    let (bench, run) = (format!("{BENCH_LABEL}=1"), format!("{RUN_LABEL}={}", spec.run_id));
    let mut args = vec!["create", "--label", &bench, "--label", &run];
    if network == RawNetwork::Pod {
        args.extend(["--network", &spec.network]);
    }
    args.push(TEST_IMAGE);
    args.extend(spec.command.iter().map(String::as_str));
    let start = Instant::now();
    let id = docker(&args).await?;
    docker(&["start", id.trim()]).await?;
    Ok(start.elapsed())
}

/// Runs `docker args…` and returns its stdout.
async fn docker(args: &[&str]) -> Result<String, BenchError> {
    let output = tokio::process::Command::new("docker").args(args).output().await;
    let failed = |detail: String| BenchError::DockerCli { args: args.join(" "), detail };
    let output = output.map_err(|e| failed(e.to_string()))?;
    if !output.status.success() {
        return Err(failed(format!("{}: {}", output.status, String::from_utf8_lossy(&output.stderr).trim())));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn body(spec: &RawSpec, image: &str, cmd: Vec<String>, network_mode: Option<String>) -> ContainerCreateBody {
    let labels =
        HashMap::from([(BENCH_LABEL.to_string(), "1".to_string()), (RUN_LABEL.to_string(), spec.run_id.clone())]);
    ContainerCreateBody {
        image: Some(image.to_string()),
        cmd: (!cmd.is_empty()).then_some(cmd),
        labels: Some(labels),
        host_config: Some(HostConfig { network_mode, ..Default::default() }),
        ..Default::default()
    }
}

async fn create(docker: &Docker, body: ContainerCreateBody) -> Result<String, BenchError> {
    let created = docker.create_container(None, body).await;
    Ok(created.map_err(|source| BenchError::Engine { call: "create", source })?.id)
}
