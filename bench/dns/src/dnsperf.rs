//! `dnsperf` runs and what is read from them: queries/s from a run as fast
//! as the server answers, and latency percentiles from a run at a fixed rate
//! with every response's latency printed (`-v`), since dnsperf itself prints
//! only the mean.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use tokio::process::Command;

use crate::error::BenchError;

/// One throughput run.
pub struct Throughput {
    pub qps: f64,
    pub lost: u64,
}

/// Sends `queries` as fast as `server` answers for `duration`.
pub async fn throughput(
    server: SocketAddr,
    queries: &Path,
    duration: Duration,
    clients: u32,
) -> Result<Throughput, BenchError> {
    let output = run(server, queries, duration, &["-c", &clients.to_string()]).await?;
    let qps = field(&output, "Queries per second:")?;
    let lost = field(&output, "Queries lost:")? as u64;
    Ok(Throughput { qps, lost })
}

/// Every response's latency, in seconds, at `rate` queries/s.
pub async fn latencies(
    server: SocketAddr,
    queries: &Path,
    duration: Duration,
    rate: u32,
) -> Result<Vec<f64>, BenchError> {
    let output = run(server, queries, duration, &["-v", "-Q", &rate.to_string()]).await?;
    // "> NOERROR web-1.default.svc.cluster.local A 0.000122"
    let latencies: Vec<f64> =
        output.lines().filter(|l| l.starts_with("> ")).filter_map(|l| l.rsplit(' ').next()?.parse().ok()).collect();
    if latencies.is_empty() {
        return Err(BenchError::DnsperfOutput { what: "per-response latency", output });
    }
    Ok(latencies)
}

async fn run(server: SocketAddr, queries: &Path, duration: Duration, extra: &[&str]) -> Result<String, BenchError> {
    let output = Command::new("dnsperf")
        .arg("-s")
        .arg(server.ip().to_string())
        .arg("-p")
        .arg(server.port().to_string())
        .arg("-d")
        .arg(queries)
        .arg("-l")
        .arg(duration.as_secs().to_string())
        .args(extra)
        .output()
        .await
        .map_err(|source| BenchError::Spawn { tool: "dnsperf", package: "dnsperf", source })?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        let detail = format!("{}: {}{}", output.status, text, String::from_utf8_lossy(&output.stderr));
        return Err(BenchError::Tool { tool: "dnsperf", detail });
    }
    Ok(text)
}

/// The number after `label` ("Queries lost:         0 (0.00%)" → 0).
fn field(output: &str, label: &'static str) -> Result<f64, BenchError> {
    output
        .lines()
        .find_map(|l| l.trim().strip_prefix(label)?.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| BenchError::DnsperfOutput { what: label, output: output.to_owned() })
}

/// The `p`-th percentile (0–100) of `values`, which it sorts.
pub fn percentile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    values.get(rank.saturating_sub(1).min(values.len().saturating_sub(1))).copied().unwrap_or(f64::NAN)
}
