//! The scheduler benchmark: for each node count, a fresh API server on the
//! embedded store, N Node objects (no kubelets), M pending pods; the API
//! server's rate for M plain pod updates (label patches) is measured first,
//! then the scheduler starts and pods bound per second are measured from
//! its start to the last bind, then the update rate is measured again; the
//! baseline is the mean of the two (the machine is shared, and a neighbour's
//! burst during one of them shows as a gap between them).
//!
//! The last bind is seen through the scheduler's own metrics (its
//! `scheduled` attempts count binds the API server accepted), read
//! in-process every few milliseconds, rather than through a second watch
//! on every pod: such a watch would cost the API server and this process a
//! stream of M events that the baseline does not pay. Once the count is
//! reached, and outside the measured time, a list checks that every pod
//! is bound and that no node holds more pods than it allows.

pub mod objects;

use capstan_apiserver::{ApiServer, Config as ApiConfig};
use capstan_client::{Client, ListParams};
use capstan_proto::core::v1::{Node, Pod};
use capstan_scheduler::{Config, Scheduler};
use capstan_store::StoreConfig;
use futures::{stream, StreamExt, TryStreamExt};
use std::collections::HashMap;
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
    #[error("the scheduler counted {pods} binds, but {problem}")]
    Check { pods: usize, problem: String },
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Point {
    pub nodes: usize,
    pub pods: usize,
    pub bind_rate: f64,
    /// The API server's update rate just before the scheduler ran, and just after.
    pub update_before: f64,
    pub update_after: f64,
    /// CPU time of this whole process (API server, scheduler, load) per
    /// update and per bind, in µs: unlike the rates, barely moved by what
    /// the rest of a shared machine does.
    pub cpu_per_update_us: f64,
    pub cpu_per_bind_us: f64,
    /// The scheduler's mean filtering + scoring time per pod.
    pub algorithm_us: f64,
    /// The scheduler's mean bind call.
    pub binding_ms: f64,
}

/// The sum of every sample of `name` (any labels) whose labels contain `with`.
fn metric_sum(text: &str, name: &str, with: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']) && l.contains(with))
        .filter_map(|l| l.rsplit_once(' ').and_then(|(_, v)| v.parse::<f64>().ok()))
        .sum()
}

impl Point {
    /// The baseline: the mean of the update rates before and after.
    pub fn update_rate(&self) -> f64 {
        (self.update_before + self.update_after) / 2.0
    }
}

/// CPU time (user + system) this process has used so far, from `/proc/self/stat`.
fn cpu_time() -> Duration {
    // USER_HZ: the unit of utime/stime, 100 on every Linux architecture
    const TICKS_PER_SECOND: u64 = 100;
    let ticks = std::fs::read_to_string("/proc/self/stat").ok().and_then(|text| {
        // after the ")" that closes the command name: utime is field 14, stime 15
        let rest = text.get(text.rfind(')')? + 1..)?;
        let mut fields = rest.split_whitespace().skip(11);
        let utime: u64 = fields.next()?.parse().ok()?;
        let stime: u64 = fields.next()?.parse().ok()?;
        Some(utime + stime)
    });
    Duration::from_millis(ticks.unwrap_or(0) * 1000 / TICKS_PER_SECOND)
}

/// `pods` label merge-patches, 64 in flight: updates per second, and CPU per update.
async fn update_rate(api: &capstan_client::Api<Pod>, pods: usize, label: &str) -> Result<(f64, Duration), BenchError> {
    let (started, cpu) = (Instant::now(), cpu_time());
    in_parallel(pods, |i| {
        let api = api.clone();
        async move {
            let patch = serde_json::json!({"metadata": {"labels": {"bench": label}}});
            api.patch_merge(&format!("pod-{i:05}"), patch).await?;
            Ok(())
        }
    })
    .await?;
    Ok((pods as f64 / started.elapsed().as_secs_f64(), cpu_time().saturating_sub(cpu)))
}

/// The scheduler's metrics, as a scrape would read them.
fn scrape(scheduler: &Scheduler) -> Result<String, BenchError> {
    Ok(scheduler.registry().render().map_err(capstan_scheduler::SchedulerError::from)?)
}

/// Binds the scheduler has made, from its metrics.
fn scheduled(scheduler: &Scheduler) -> Result<usize, BenchError> {
    Ok(metric_sum(&scrape(scheduler)?, "scheduler_schedule_attempts_total", "result=\"scheduled\"") as usize)
}

/// Every pod bound, no node over its 110 pods: the run's result is real.
async fn check_placement(client: &Client, pods: usize) -> Result<(), BenchError> {
    let api = client.api::<Pod>(Some("default"));
    let mut per_node: HashMap<String, usize> = HashMap::new();
    let (mut seen, mut unbound) = (0, 0);
    let mut params = ListParams::default().limit(500);
    loop {
        let (page, meta) = api.list(&params).await?;
        for pod in page {
            seen += 1;
            match pod.spec.map(|s| s.node_name).filter(|n| !n.is_empty()) {
                Some(node) => *per_node.entry(node).or_default() += 1,
                None => unbound += 1,
            }
        }
        if meta.r#continue.is_empty() {
            break;
        }
        params = params.continue_token(&meta.r#continue);
    }
    let crowded = per_node.values().filter(|n| **n > 110).count();
    if seen != pods || unbound > 0 || crowded > 0 {
        let problem = format!("{seen} pods listed, {unbound} unbound, {crowded} nodes over 110 pods");
        return Err(BenchError::Check { pods, problem });
    }
    Ok(())
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
    let (update_before, cpu_before) = update_rate(&pod_api, pods, "before").await?;
    eprintln!("baseline: {update_before:.0} updates/s");
    let config = Config { server: server.url(), listen: None, ..Config::default() };
    let (started, cpu) = (Instant::now(), cpu_time());
    let scheduler = Scheduler::start(config).await?;
    let deadline = started + timeout;
    let mut bound = 0;
    while bound < pods && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
        bound = scheduled(&scheduler)?;
    }
    let (elapsed, cpu_binding) = (started.elapsed(), cpu_time().saturating_sub(cpu));
    let text = scrape(&scheduler)?;
    let mean = |name: &str| {
        let count = metric_sum(&text, &format!("{name}_count"), "");
        if count > 0.0 {
            metric_sum(&text, &format!("{name}_sum"), "") / count
        } else {
            0.0
        }
    };
    let algorithm_us = mean("scheduler_scheduling_algorithm_duration_seconds") * 1e6;
    let binding_ms = mean("scheduler_binding_duration_seconds") * 1e3;
    scheduler.stop().await?;
    if bound < pods {
        server.stop().await?;
        return Err(BenchError::Timeout { bound, pods, secs: timeout.as_secs() });
    }
    let checked = check_placement(&client, pods).await;
    // the baseline again, on the same (now bound) pods: the machine is shared,
    // and the mean of before and after is less sensitive to a neighbour's burst
    let update_after = match checked {
        Ok(()) => update_rate(&pod_api, pods, "after").await,
        Err(e) => Err(e),
    };
    server.stop().await?;
    let (update_after, cpu_after) = update_after?;
    let bind_rate = pods as f64 / elapsed.as_secs_f64();
    let per_pod_us = |cpu: Duration| cpu.as_secs_f64() * 1e6 / pods as f64;
    Ok(Point {
        nodes,
        pods,
        bind_rate,
        update_before,
        update_after,
        cpu_per_update_us: per_pod_us((cpu_before + cpu_after) / 2),
        cpu_per_bind_us: per_pod_us(cpu_binding),
        algorithm_us,
        binding_ms,
    })
}

/// The table, with targets printed (never asserted).
pub fn print_table(points: &[Point]) {
    println!(
        "{:>6} {:>6} {:>13} {:>20} {:>6} {:>18} {:>6} {:>8} {:>8}  target",
        "nodes", "pods", "bound pods/s", "updates/s bef/aft", "ratio", "cpu us upd/bind", "cpu r", "algo us", "bind ms"
    );
    for p in points {
        let ratio = p.bind_rate / p.update_rate();
        let met = p.bind_rate >= 1000.0 && ratio >= 0.5;
        println!(
            "{:>6} {:>6} {:>13.0} {:>20} {:>6.2} {:>18} {:>6.2} {:>8.1} {:>8.2}  >=1000/s and >=0.50: {}",
            p.nodes,
            p.pods,
            p.bind_rate,
            format!("{:.0}/{:.0}", p.update_before, p.update_after),
            ratio,
            format!("{:.0}/{:.0}", p.cpu_per_update_us, p.cpu_per_bind_us),
            p.cpu_per_update_us / p.cpu_per_bind_us,
            p.algorithm_us,
            p.binding_ms,
            if met { "met" } else { "missed" }
        );
    }
}
