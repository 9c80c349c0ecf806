//! The scheduler benchmark: for each node count, a fresh API server on the
//! embedded store, N Node objects (no kubelets), M pending pods; the API
//! server's rate for M plain pod updates (label patches) is measured first,
//! then the scheduler starts and pods bound per second are measured from
//! its start to the last bind.

pub mod objects;

use capstan_apiserver::{ApiServer, Config as ApiConfig};
use capstan_client::informer::{Informer, InformerEvent};
use capstan_client::{Client, ListParams};
use capstan_proto::core::v1::{Node, Pod};
use capstan_scheduler::{Config, Scheduler};
use capstan_store::StoreConfig;
use futures::{stream, StreamExt, TryStreamExt};
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// How many API calls the set-up and the baseline keep in flight.
const CONCURRENCY: usize = 64;

/// What went wrong in a benchmark run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("starting the API server: {0}")]
    ApiServer(#[from] capstan_apiserver::ApiServerError),
    #[error("API call failed: {0}")]
    Client(#[from] capstan_client::ClientError),
    #[error("scheduler: {0}")]
    Scheduler(#[from] capstan_scheduler::SchedulerError),
    #[error("temp dir: {0}")]
    Io(#[from] std::io::Error),
    #[error("only {bound} of {pods} pods bound within {secs} s")]
    Timeout { bound: usize, pods: usize, secs: u64 },
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Point {
    pub nodes: usize,
    pub pods: usize,
    pub bind_rate: f64,
    pub update_rate: f64,
}

async fn in_parallel<F, Fut>(count: usize, call: F) -> Result<(), BenchError>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Result<(), BenchError>>,
{
    stream::iter((0..count).map(call)).buffer_unordered(CONCURRENCY).try_collect::<Vec<()>>().await?;
    Ok(())
}

/// Measure one point: `nodes` nodes, `pods` pods.
pub async fn run_point(nodes: usize, pods: usize, timeout: Duration) -> Result<Point, BenchError> {
    let dir = tempfile::tempdir()?;
    let config = ApiConfig {
        listen: "127.0.0.1:0".parse().map_err(std::io::Error::other)?,
        storage: StoreConfig::embedded(dir.path().join("store")),
        ..Default::default()
    };
    let server = ApiServer::start(config).await?;
    let client = Client::connect(&server.url())?;
    let node_api = client.api::<Node>(None);
    in_parallel(nodes, |i| {
        let api = node_api.clone();
        async move {
            let created = api.create(&objects::node(&format!("node-{i:05}"))).await?;
            api.update_status(&objects::node_status(created)).await?;
            Ok(())
        }
    })
    .await?;
    eprintln!("{nodes} nodes created");
    let pod_api = client.api::<Pod>(Some("default"));
    in_parallel(pods, |i| {
        let api = pod_api.clone();
        async move {
            api.create(&objects::pod(&format!("pod-{i:05}"))).await?;
            Ok(())
        }
    })
    .await?;

    eprintln!("{pods} pods created");
    let started = Instant::now();
    in_parallel(pods, |i| {
        let api = pod_api.clone();
        async move {
            let patch = serde_json::json!({"metadata": {"labels": {"bench": "updated"}}});
            api.patch_merge(&format!("pod-{i:05}"), patch).await?;
            Ok(())
        }
    })
    .await?;
    let update_rate = pods as f64 / started.elapsed().as_secs_f64();

    eprintln!("baseline: {update_rate:.0} updates/s");
    let informer = Informer::new(pod_api.clone(), ListParams::default().limit(500));
    let mut events = informer.subscribe();
    let handle = informer.handle();
    let (stop_watch, watch_stopped) = tokio::sync::oneshot::channel::<()>();
    let watcher = tokio::spawn(informer.run(async move {
        let _ = watch_stopped.await;
    }));
    handle.wait_synced().await;
    while events.try_recv().is_some() {}

    let config = Config { server: server.url(), listen: None, ..Config::default() };
    let started = Instant::now();
    let scheduler = Scheduler::start(config).await?;
    let mut bound = HashSet::new();
    let mut last = started;
    let deadline = tokio::time::Instant::now() + timeout;
    while bound.len() < pods {
        let event = tokio::select! {
            e = events.recv() => e,
            _ = tokio::time::sleep_until(deadline) => None,
        };
        let Some(event) = event else { break };
        if let InformerEvent::Modified { new, .. } | InformerEvent::Added(new) = event {
            if new.spec.as_ref().is_some_and(|s| !s.node_name.is_empty()) {
                let name = new.metadata.as_ref().map(|m| m.name.clone()).unwrap_or_default();
                if bound.insert(name) {
                    last = Instant::now();
                }
            }
        }
    }
    scheduler.stop().await?;
    let _ = stop_watch.send(());
    let _ = watcher.await;
    server.stop().await?;
    if bound.len() < pods {
        return Err(BenchError::Timeout { bound: bound.len(), pods, secs: timeout.as_secs() });
    }
    let bind_rate = pods as f64 / (last - started).as_secs_f64();
    Ok(Point { nodes, pods, bind_rate, update_rate })
}

/// The table, with targets printed (never asserted).
pub fn print_table(points: &[Point]) {
    println!("{:>6} {:>6} {:>14} {:>16} {:>7}  target", "nodes", "pods", "bound pods/s", "api updates/s", "ratio");
    for p in points {
        let ratio = p.bind_rate / p.update_rate;
        let met = p.bind_rate >= 1000.0 && ratio >= 0.5;
        println!(
            "{:>6} {:>6} {:>14.0} {:>16.0} {:>7.2}  >=1000/s and >=0.50: {}",
            p.nodes,
            p.pods,
            p.bind_rate,
            p.update_rate,
            ratio,
            if met { "met" } else { "missed" }
        );
    }
}
