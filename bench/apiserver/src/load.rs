//! The closed-loop load driver shared by the raw and the API measurements.
//!
//! `concurrency` workers each issue one request, wait for it, and issue the next, so
//! exactly `concurrency` requests are in flight. Requests started during the warm-up are
//! not measured; those started in the measured window are counted and their latency goes
//! into an HdrHistogram. Throughput is counted requests over the time from the window's
//! start until the last of them finished. Using one driver for both sides is what makes
//! the raw/API ratio fair.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use hdrhistogram::Histogram;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::cpu::CpuProbe;
use crate::report::LoadStats;
use crate::BenchError;

/// One request of the load: given a sequence number unique within the run.
pub type Operation = Arc<dyn Fn(u64) -> BoxFuture<'static, Result<(), BenchError>> + Send + Sync>;

/// Latencies are recorded in microseconds, from 1 µs to a minute, to 3 significant digits.
const MAX_LATENCY_MICROS: u64 = 60_000_000;

/// How long and how hard to load.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub concurrency: usize,
    pub warmup: Duration,
    pub duration: Duration,
    /// Sampled at the window's start and end.
    pub cpu: CpuProbe,
}

/// Runs `operation` from `load.concurrency` workers for the warm-up, then the window.
pub async fn closed_loop(load: Load, operation: Operation) -> Result<LoadStats, BenchError> {
    let window_start = Instant::now() + load.warmup;
    let window = Window { start: window_start, end: window_start + load.duration };
    let probe = load.cpu;
    let cpu_start = tokio::spawn(async move {
        tokio::time::sleep_until(window_start).await;
        probe.sample()
    });
    let next = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicBool::new(false));
    let mut workers = JoinSet::new();
    for _ in 0..load.concurrency.max(1) {
        let worker = Worker { operation: operation.clone(), next: next.clone(), failed: failed.clone(), window };
        workers.spawn(worker.run());
    }
    let mut total = new_histogram()?;
    let mut last_done = window.start;
    let mut first_error = None;
    while let Some(joined) = workers.join_next().await {
        match joined {
            Ok(Ok(done)) => {
                total.add(&done.latencies).map_err(|e| BenchError::Task(format!("merging histograms: {e}")))?;
                last_done = last_done.max(done.last_done);
            }
            Ok(Err(error)) => {
                first_error.get_or_insert(error);
            }
            Err(error) => {
                first_error.get_or_insert(BenchError::Task(error.to_string()));
            }
        }
    }
    let cpu_end = probe.sample();
    if let Some(error) = first_error {
        return Err(error);
    }
    let cpu_start = cpu_start.await.map_err(|e| BenchError::Task(format!("sampling CPU: {e}")))?;
    Ok(LoadStats {
        cpu: cpu_start.until(&cpu_end),
        ops: total.len(),
        elapsed: last_done.saturating_duration_since(window.start),
        p50: micros(total.value_at_quantile(0.50)),
        p99: micros(total.value_at_quantile(0.99)),
    })
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    end: Instant,
}

struct Worker {
    operation: Operation,
    next: Arc<AtomicU64>,
    failed: Arc<AtomicBool>,
    window: Window,
}

/// What one worker measured.
struct WorkerDone {
    latencies: Histogram<u64>,
    last_done: Instant,
}

impl Worker {
    async fn run(self) -> Result<WorkerDone, BenchError> {
        let mut latencies = new_histogram()?;
        let mut last_done = self.window.start;
        loop {
            let started = Instant::now();
            if started >= self.window.end || self.failed.load(Ordering::Relaxed) {
                break;
            }
            let seq = self.next.fetch_add(1, Ordering::Relaxed);
            if let Err(error) = (self.operation)(seq).await {
                // stop the other workers early: the run has no figure to give
                self.failed.store(true, Ordering::Relaxed);
                return Err(error);
            }
            let done = Instant::now();
            if started >= self.window.start {
                let micros = (done - started).as_micros();
                latencies.saturating_record(u64::try_from(micros).unwrap_or(u64::MAX));
                last_done = done;
            }
        }
        Ok(WorkerDone { latencies, last_done })
    }
}

fn new_histogram() -> Result<Histogram<u64>, BenchError> {
    Histogram::new_with_bounds(1, MAX_LATENCY_MICROS, 3)
        .map_err(|e| BenchError::Task(format!("creating a latency histogram: {e}")))
}

fn micros(value: u64) -> Duration {
    Duration::from_micros(value)
}
