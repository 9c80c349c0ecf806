//! What exporting traces costs a pod's start: pods on a Docker-backed node
//! whose every component exports its spans over OTLP/gRPC to a
//! `capstan-trace-sink`, beside the same pods with telemetry installed but
//! exporting nothing.
//!
//! Telemetry is process-wide, so each half runs in a child process of this
//! binary (`--otlp-point`): the parent starts the sink, then runs an "off"
//! and an "on" child back to back, twice, alternating which goes first, so
//! both see the same machine load. A child runs the usual cluster (API
//! server, Docker shim, kubelet) and times `pods` pods from the create call to
//! Running; the pods are created by a traced client, so each one's start is
//! one trace through every component.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncReadExt;

use crate::cluster::Cluster;
use crate::pods::{self, PodRunner};
use crate::stats::{ms, Summary};
use crate::sweep::Sweep;
use crate::{images, BenchError, Options, CLEANUP_WAIT};

/// The flag that makes this binary one half's child process.
pub const POINT_FLAG: &str = "--otlp-point";
/// What a child prints before its latencies, one per field, in nanoseconds.
const POINT_LINE: &str = "otlp-point";

/// The two halves' pod start latencies.
#[derive(Debug, Clone, Default)]
pub struct OtlpReport {
    pub off: Vec<Duration>,
    pub on: Vec<Duration>,
    /// traces the sink held at the end (proof that "on" exported)
    pub traces: usize,
}

/// The parent: starts the sink, runs the children, collects their latencies.
pub async fn measure(options: &Options) -> Result<OtlpReport, BenchError> {
    images::ensure().await?;
    let sink = capstan_trace_sink::bind(([127, 0, 0, 1], 0).into(), 100_000)
        .await
        .map_err(|e| BenchError::Otlp(format!("starting the trace sink: {e}")))?;
    let address = sink.local_addr().map_err(|e| BenchError::Otlp(format!("the trace sink's address: {e}")))?;
    let endpoint = format!("http://{address}");
    let store = sink.store();
    let stop = tokio_util::sync::CancellationToken::new();
    let serving = tokio::spawn(sink.serve(stop.clone().cancelled_owned()));
    let mut report = OtlpReport::default();
    let measured = async {
        for round in 0..2 {
            let order = if round == 0 { [false, true] } else { [true, false] };
            for export in order {
                eprintln!(
                    "otlp: export {}, {} pods (round {}) ...",
                    if export { "on" } else { "off" },
                    options.pods,
                    round + 1
                );
                let latencies = child(options, export.then_some(endpoint.as_str())).await?;
                if export {
                    report.on.extend(latencies);
                } else {
                    report.off.extend(latencies);
                }
            }
        }
        Ok::<_, BenchError>(())
    };
    let result = measured.await;
    stop.cancel();
    let _ = serving.await;
    result?;
    report.traces = store.recent().len();
    Ok(report)
}

async fn child(options: &Options, endpoint: Option<&str>) -> Result<Vec<Duration>, BenchError> {
    let exe =
        std::env::current_exe().map_err(|source| BenchError::Io { what: "finding this binary".into(), source })?;
    let mut command = tokio::process::Command::new(exe);
    command
        .arg(POINT_FLAG)
        .arg(options.pods.max(1).to_string())
        .arg(options.network())
        .arg(endpoint.unwrap_or("-"))
        // the "off" child must not export wherever the caller's environment points
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_TRACES_SAMPLER")
        .env_remove("OTEL_TRACES_SAMPLER_ARG")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut running =
        command.spawn().map_err(|source| BenchError::Io { what: "starting a child process".into(), source })?;
    let mut out = String::new();
    if let Some(mut stdout) = running.stdout.take() {
        stdout
            .read_to_string(&mut out)
            .await
            .map_err(|source| BenchError::Io { what: "reading a child's output".into(), source })?;
    }
    let status =
        running.wait().await.map_err(|source| BenchError::Io { what: "waiting for a child".into(), source })?;
    if !status.success() {
        return Err(BenchError::Otlp(format!("a child process failed ({status}): {out}")));
    }
    parse_point(&out).ok_or_else(|| BenchError::Otlp(format!("a child printed no latencies: {out:?}")))
}

fn parse_point(out: &str) -> Option<Vec<Duration>> {
    let line = out.lines().find(|l| l.starts_with(POINT_LINE))?;
    let nanos: Vec<u64> = line.split_whitespace().skip(1).map(str::parse).collect::<Result<_, _>>().ok()?;
    (!nanos.is_empty()).then(|| nanos.into_iter().map(Duration::from_nanos).collect())
}

/// The child: `pods network endpoint|-` after [`POINT_FLAG`]. Installs
/// telemetry (exporting to `endpoint` when one is given), times the pods one
/// at a time after one warm-up pod, prints its line, cleans up, and flushes
/// its spans before it returns.
pub async fn run_point(args: &[String]) -> Result<(), BenchError> {
    let bad = || BenchError::Otlp(format!("{POINT_FLAG} takes pods network endpoint|-: {args:?}"));
    let [pods, network, endpoint] = args else { return Err(bad()) };
    let pods: usize = pods.parse().map_err(|_| bad())?;
    let telemetry = match endpoint.as_str() {
        "-" => capstan_telemetry::init_with_default_filter("capstan-bench-pod-start", "warn"),
        endpoint => capstan_telemetry::init_with_endpoint("capstan-bench-pod-start", "warn", endpoint),
    }
    .map_err(|e| BenchError::Otlp(format!("installing telemetry: {e}")))?;

    let pid = std::process::id();
    let (node, run_id) = (format!("bench-{pid}"), pid.to_string());
    let _sweep = Sweep::new(&node, &run_id);
    let cluster = Cluster::start(&node, network).await?;
    let measured = async {
        let runner = Arc::new(PodRunner::start(&cluster.client, &cluster.node, &run_id, &["sleep", "3600"]).await?);
        runner.measure("bench-warmup").await?;
        let names = (0..pods).map(|i| format!("bench-{i}")).collect();
        runner.measure_all(names, 1).await
    }
    .await;
    let deleted = pods::delete_all(&cluster.client, &run_id, CLEANUP_WAIT).await;
    cluster.stop().await;
    let samples = measured?;
    deleted?;
    let line: Vec<String> = samples.iter().map(|s| s.latency().as_nanos().to_string()).collect();
    println!("{POINT_LINE} {}", line.join(" "));
    drop(telemetry);
    Ok(())
}

impl OtlpReport {
    /// The table: p50 and p99 with export off and on, and the ratio of the
    /// medians against the 0.9× target (a start rate is the inverse of its
    /// latency).
    pub fn render(&self) -> String {
        let summary = |samples: &[Duration]| {
            Summary::of(samples).unwrap_or(Summary {
                n: 0,
                p50: Duration::ZERO,
                p99: Duration::ZERO,
                max: Duration::ZERO,
            })
        };
        let (off, on) = (summary(&self.off), summary(&self.on));
        let ratio = match on.p50.as_secs_f64() {
            secs if secs > 0.0 => off.p50.as_secs_f64() / secs,
            _ => 0.0,
        };
        format!(
            "pod start (Docker), telemetry exporting nothing vs every span exported to capstan-trace-sink\n\
             export   pods  p50 ms  p99 ms\n\
             off      {:>4}  {:>6}  {:>6}\n\
             on       {:>4}  {:>6}  {:>6}\n\
             starts/s on over off (p50): {ratio:.2} (target >= 0.9)\n\
             traces the sink held at the end: {}\n",
            off.n,
            ms(off.p50),
            ms(off.p99),
            on.n,
            ms(on.p50),
            ms(on.p99),
            self.traces
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_childs_line_reads_back_and_anything_else_is_refused() {
        let read = parse_point("log noise\notlp-point 1000000 2000000\n").expect("latencies");
        assert_eq!(read, vec![Duration::from_millis(1), Duration::from_millis(2)]);
        assert!(parse_point("otlp-point\n").is_none());
        assert!(parse_point("otlp-point 1 x\n").is_none());
        assert!(parse_point("").is_none());
    }
}
