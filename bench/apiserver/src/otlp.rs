//! What exporting traces costs: pod creates through an API server whose spans
//! go over OTLP/gRPC to a `capstan-trace-sink`, beside the same creates with
//! telemetry installed as a component installs it but exporting nothing.
//!
//! Telemetry is process-wide (one global subscriber and tracer provider), so
//! each point runs in a child process of this binary (`--otlp-point`): the
//! parent starts the sink, then at each concurrency runs an "off" child and an
//! "on" child back to back, twice, alternating which goes first, so both see
//! the same machine load. A child starts an API server on a fresh embedded
//! store in-process, measures with the same closed loop as every other point,
//! and prints one line the parent reads. Every request is a root span sampled
//! by the default parent-based sampler, so "on" exports every call: the worst
//! case. The client is not traced (its spans would be another process's cost).

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;

use crate::backend::{Backend, FreshStore};
use crate::client::{self, MAX_CREATE_CONNECTIONS};
use crate::creates::create_operation;
use crate::load::{closed_loop, Load};
use crate::report::LoadStats;
use crate::server::BenchServer;
use crate::{pod, BenchError, Options};

/// The flag that makes this binary one point's child process.
pub const POINT_FLAG: &str = "--otlp-point";

/// What a child prints: `otlp-point ops elapsed_ns p50_ns p99_ns`.
const POINT_LINE: &str = "otlp-point";

/// One concurrency's figures: export off, and on.
#[derive(Debug, Clone)]
pub struct OtlpPoint {
    pub concurrency: usize,
    pub off: Figures,
    pub on: Figures,
}

/// Creates/s and p99 of a point, summed over its runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Figures {
    pub ops: u64,
    pub elapsed: Duration,
    pub p99: Duration,
}

impl Figures {
    pub fn per_sec(&self) -> f64 {
        match self.elapsed.as_secs_f64() {
            secs if secs > 0.0 => self.ops as f64 / secs,
            _ => 0.0,
        }
    }

    fn add(&mut self, run: Figures) {
        self.ops += run.ops;
        self.elapsed += run.elapsed;
        self.p99 = self.p99.max(run.p99);
    }
}

impl OtlpPoint {
    /// Export-on creates/s over export-off creates/s.
    pub fn ratio(&self) -> f64 {
        match self.off.per_sec() {
            rate if rate > 0.0 => self.on.per_sec() / rate,
            _ => 0.0,
        }
    }
}

/// The parent: starts the sink, runs the children, returns the figures and
/// how many traces the sink holds at the end (proof that "on" exported).
pub async fn measure(options: &Options, concurrencies: &[usize]) -> Result<(Vec<OtlpPoint>, usize), BenchError> {
    let sink = capstan_trace_sink::bind(([127, 0, 0, 1], 0).into(), 100_000)
        .await
        .map_err(|e| BenchError::Task(format!("starting the trace sink: {e}")))?;
    let endpoint = format!("http://{}", sink.local_addr().map_err(|e| BenchError::Task(e.to_string()))?);
    let store = sink.store();
    let stop = tokio_util::sync::CancellationToken::new();
    let serving = tokio::spawn(sink.serve(stop.clone().cancelled_owned()));
    let mut points = Vec::new();
    let measured = async {
        for &concurrency in concurrencies {
            let mut point = OtlpPoint { concurrency, off: Figures::default(), on: Figures::default() };
            for round in 0..2 {
                let order = if round == 0 { [false, true] } else { [true, false] };
                for export in order {
                    let what = if export { "on" } else { "off" };
                    eprintln!("otlp: export {what}, creates at concurrency {concurrency} (round {}) ...", round + 1);
                    let figures = child(options, concurrency, export.then_some(endpoint.as_str())).await?;
                    if export {
                        point.on.add(figures)
                    } else {
                        point.off.add(figures)
                    }
                }
            }
            points.push(point);
        }
        Ok::<_, BenchError>(())
    };
    let result = measured.await;
    stop.cancel();
    let _ = serving.await;
    result?;
    Ok((points, store.recent().len()))
}

/// Runs one point in a child process and reads its line.
async fn child(options: &Options, concurrency: usize, endpoint: Option<&str>) -> Result<Figures, BenchError> {
    let exe = std::env::current_exe().map_err(|e| BenchError::io("finding this benchmark's binary", e))?;
    let mut command = tokio::process::Command::new(exe);
    command
        .arg(POINT_FLAG)
        .arg(concurrency.to_string())
        .arg(options.duration.as_nanos().to_string())
        .arg(options.warmup.as_nanos().to_string())
        .arg(endpoint.unwrap_or("-"))
        // the "off" child must not export wherever the caller's environment points
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_TRACES_SAMPLER")
        .env_remove("OTEL_TRACES_SAMPLER_ARG")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut running = command.spawn().map_err(|e| BenchError::io("starting a point's child process", e))?;
    let mut out = String::new();
    if let Some(mut stdout) = running.stdout.take() {
        stdout.read_to_string(&mut out).await.map_err(|e| BenchError::io("reading a point's output", e))?;
    }
    let status = running.wait().await.map_err(|e| BenchError::io("waiting for a point's child process", e))?;
    if !status.success() {
        return Err(BenchError::Task(format!("a point's child process failed ({status}): {out}")));
    }
    parse_point(&out).ok_or_else(|| BenchError::Task(format!("a point's child printed no figures: {out:?}")))
}

fn parse_point(out: &str) -> Option<Figures> {
    let line = out.lines().find(|l| l.starts_with(POINT_LINE))?;
    let numbers: Vec<u64> = line.split_whitespace().skip(1).map(str::parse).collect::<Result<_, _>>().ok()?;
    match numbers.as_slice() {
        [ops, elapsed, _p50, p99] => {
            Some(Figures { ops: *ops, elapsed: Duration::from_nanos(*elapsed), p99: Duration::from_nanos(*p99) })
        }
        _ => None,
    }
}

/// The child: `concurrency duration_ns warmup_ns endpoint|-` after
/// [`POINT_FLAG`]. Installs telemetry (exporting to `endpoint` when one is
/// given), measures, prints its line, and flushes its spans before it returns.
pub async fn run_point(args: &[String]) -> Result<(), BenchError> {
    let bad = || BenchError::Task(format!("{POINT_FLAG} takes concurrency duration_ns warmup_ns endpoint|-: {args:?}"));
    let [concurrency, duration, warmup, endpoint] = args else { return Err(bad()) };
    let concurrency: usize = concurrency.parse().map_err(|_| bad())?;
    let duration = Duration::from_nanos(duration.parse().map_err(|_| bad())?);
    let warmup = Duration::from_nanos(warmup.parse().map_err(|_| bad())?);
    let telemetry = match endpoint.as_str() {
        "-" => capstan_telemetry::init_with_default_filter("capstan-apiserver", "warn"),
        endpoint => capstan_telemetry::init_with_endpoint("capstan-apiserver", "warn", endpoint),
    }
    .map_err(|e| BenchError::Task(format!("installing telemetry: {e}")))?;

    let template = pod::template()?;
    let store = FreshStore::start(Backend::Embedded).await?;
    let server = BenchServer::start(&store).await?;
    let clients = client::connect(server.url(), concurrency.clamp(1, MAX_CREATE_CONNECTIONS)).await?;
    let load = Load { concurrency, warmup, duration, cpu: store.cpu_probe() };
    let stats: LoadStats = closed_loop(load, create_operation(clients, template, concurrency)).await?;
    println!(
        "{POINT_LINE} {} {} {} {}",
        stats.ops,
        stats.elapsed.as_nanos(),
        stats.p50.as_nanos(),
        stats.p99.as_nanos()
    );
    server.stop().await?;
    drop(telemetry);
    Ok(())
}

/// The table: creates/s and p99 with export off and on, and the ratio
/// against the 0.9× target.
pub fn render(points: &[OtlpPoint], traces: usize) -> String {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mut out = String::from(
        "OTLP export (embedded, plaintext): telemetry installed exporting nothing vs every span exported to capstan-trace-sink\n\
         concurrency  off creates/s  off p99 ms  on creates/s  on p99 ms  ratio (target >= 0.9)\n",
    );
    for p in points {
        out.push_str(&format!(
            "{:>11}  {:>13.0}  {:>10.2}  {:>12.0}  {:>9.2}  {:>5.2}\n",
            p.concurrency,
            p.off.per_sec(),
            ms(p.off.p99),
            p.on.per_sec(),
            ms(p.on.p99),
            p.ratio()
        ));
    }
    out.push_str(&format!("traces the sink held at the end: {traces}\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_childs_line_reads_back_and_anything_else_is_refused() {
        let figures = parse_point("noise\notlp-point 300 3000000000 1000000 9000000\n").expect("a point");
        assert_eq!(figures.ops, 300);
        assert_eq!(figures.per_sec(), 100.0);
        assert_eq!(figures.p99, Duration::from_millis(9));
        assert!(parse_point("otlp-point 1 2 3\n").is_none());
        assert!(parse_point("otlp-point a b c d\n").is_none());
        assert!(parse_point("").is_none());
    }
}
