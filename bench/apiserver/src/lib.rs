//! `capstan-bench-apiserver`: what the API server costs on top of its store.
//!
//! For each backend (embedded redb in a temp dir; a fresh etcd that fsyncs) it measures,
//! in one run and on one machine:
//! - the raw store's puts/s and latency at several concurrencies ([`raw`]),
//! - pod creates/s and latency through the API server's gRPC API at the same
//!   concurrencies, over another fresh store of the same kind, each right after its
//!   baseline so both see the same machine load ([`creates`]),
//! - pod creates/s through the REST face (Kubernetes JSON) at the same concurrencies, on
//!   the same server, each right after its gRPC figure, and a 1,000-pod LIST as the Table
//!   kubectl asks for beside the plain JSON list ([`rest`]),
//! - how long one change takes to reach every one of many open watches ([`watch`]),
//! - who used the CPU during each measured window ([`cpu`]): the load client, the API
//!   server (in-process, on a runtime of its own: [`server`]) and the store,
//!
//! and prints every API figure next to its same-run baseline ([`report`]). With
//! `--door`, it measures instead what TLS, authentication, Node,RBAC and audit cost ([`door`]):
//! a plaintext server and a secured one side by side at concurrency 16 and 64. With `--otlp`,
//! what exporting every span to a trace sink costs beside exporting nothing ([`otlp`]). Nothing here
//! asserts a timing: the targets are printed beside the figures, never checked.
//!
//! Start at [`run`]; `main.rs` only parses flags into [`Options`].

pub mod backend;
pub mod client;
pub mod cpu;
pub mod creates;
pub mod door;
pub mod error;
pub mod etcd;
pub mod load;
pub mod otlp;
pub mod pod;
pub mod raw;
pub mod report;
pub mod rest;
pub mod server;
pub mod watch;

pub use backend::Backend;
pub use error::BenchError;
pub use report::{BackendReport, FanoutReport, FanoutRound, LoadStats, Point, Report};

use std::time::Duration;

use creates::ApiTarget;
use raw::RawTarget;

/// What to measure and for how long.
#[derive(Debug, Clone)]
pub struct Options {
    pub backends: Vec<Backend>,
    /// Client concurrency levels (requests in flight at once).
    pub concurrencies: Vec<usize>,
    /// Measured time per (backend, concurrency, raw|api) point.
    pub duration: Duration,
    /// Unmeasured load before each point, so connections, caches and the store are warm.
    pub warmup: Duration,
    /// Open watches for the fan-out measurement (0 skips it).
    pub watchers: usize,
    /// Measured fan-out rounds (one pod create each), after one warm-up round.
    pub rounds: usize,
}

impl Default for Options {
    /// The full benchmark the issue asks for.
    fn default() -> Self {
        Options {
            backends: vec![Backend::Embedded, Backend::Etcd],
            concurrencies: vec![1, 16, 64],
            duration: Duration::from_secs(3),
            warmup: Duration::from_secs(1),
            watchers: 1000,
            rounds: 5,
        }
    }
}

impl Options {
    /// A smoke run: every code path, small counts, a second or two per backend.
    pub fn quick() -> Self {
        Options {
            backends: vec![Backend::Embedded],
            concurrencies: vec![1, 4],
            duration: Duration::from_millis(300),
            warmup: Duration::from_millis(100),
            watchers: 20,
            rounds: 2,
        }
    }
}

/// Runs every measurement `options` asks for, backend after backend, and returns the
/// figures. Progress goes to stderr; the caller prints [`Report`].
pub async fn run(options: &Options) -> Result<Report, BenchError> {
    let mut backends = Vec::new();
    for &backend in &options.backends {
        backends.push(run_backend(backend, options).await?);
    }
    Ok(Report { backends })
}

/// One backend: raw and API at each concurrency back to back (so a baseline and its
/// figure see the same machine load), then the fan-out on a fresh server.
async fn run_backend(backend: Backend, options: &Options) -> Result<BackendReport, BenchError> {
    let template = pod::template()?;
    let raw = RawTarget::start(backend, &template).await?;
    let api = ApiTarget::start(backend, &template).await?;
    let measured = measure_points(&raw, &api, &template, options).await;
    let list = match &measured {
        Ok(_) => rest::measure_list(api.url(), &template, options.rounds.max(3) * 2).await.map(Some),
        Err(_) => Ok(None),
    };
    api.stop().await?;
    drop(raw);
    let (points, rest) = measured?;
    let list = list?;
    let fanout = if options.watchers > 0 { Some(watch::measure(backend, options, &template).await?) } else { None };
    Ok(BackendReport { backend, points, fanout, rest, list })
}

/// Per concurrency: (concurrency, gRPC creates, REST creates).
type RestPoints = Vec<(usize, LoadStats, LoadStats)>;

async fn measure_points(
    raw: &RawTarget,
    api: &ApiTarget,
    template: &capstan_proto::api::v1::Object,
    options: &Options,
) -> Result<(Vec<Point>, RestPoints), BenchError> {
    let mut points = Vec::with_capacity(options.concurrencies.len());
    let mut rest_points = Vec::with_capacity(options.concurrencies.len());
    for &concurrency in &options.concurrencies {
        let raw_put = raw.measure(concurrency, options).await?;
        let create_txn = raw.measure_create_txn(concurrency, options).await?;
        let grpc = api.measure(concurrency, options).await?;
        eprintln!("REST: JSON pod creates at concurrency {concurrency} ...");
        let rest = rest::measure_creates(api.url(), template, concurrency, options, api.cpu()).await?;
        points.push(Point { concurrency, raw: raw_put, create_txn, api: grpc });
        rest_points.push((concurrency, grpc, rest));
    }
    Ok((points, rest_points))
}
