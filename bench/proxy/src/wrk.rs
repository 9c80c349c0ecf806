//! Runs Debian's `wrk` against one address and reads its figures.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::process::Command;

use crate::error::BenchError;

/// One wrk run's figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WrkResult {
    pub requests_per_sec: f64,
    pub p50: Duration,
    pub p99: Duration,
}

/// `wrk -t threads -c connections -d duration --latency http://address/`.
pub async fn run(
    address: SocketAddr,
    threads: u32,
    connections: u32,
    duration: Duration,
) -> Result<WrkResult, BenchError> {
    let output = Command::new("wrk")
        .arg(format!("-t{threads}"))
        .arg(format!("-c{connections}"))
        .arg(format!("-d{}s", duration.as_secs().max(1)))
        .arg("--latency")
        .arg(format!("http://{address}/"))
        .output()
        .await
        .map_err(|source| BenchError::Spawn { tool: "wrk", source })?;
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    if !output.status.success() {
        let detail = format!("{}: {}{}", output.status, text, String::from_utf8_lossy(&output.stderr));
        return Err(BenchError::Tool { tool: "wrk", detail });
    }
    parse(&text)
}

/// Reads `Requests/sec:` and the 50% / 99% lines of `--latency`.
pub fn parse(text: &str) -> Result<WrkResult, BenchError> {
    let missing = |what| BenchError::WrkOutput { what, output: text.to_string() };
    let field = |prefix: &str| {
        text.lines().map(str::trim).find_map(|l| l.strip_prefix(prefix)).and_then(|rest| rest.split_whitespace().next())
    };
    let requests_per_sec =
        field("Requests/sec:").and_then(|v| v.parse().ok()).ok_or_else(|| missing("Requests/sec"))?;
    let p50 = field("50%").and_then(duration).ok_or_else(|| missing("50% latency"))?;
    let p99 = field("99%").and_then(duration).ok_or_else(|| missing("99% latency"))?;
    Ok(WrkResult { requests_per_sec, p50, p99 })
}

/// wrk's `812.00us`, `1.23ms`, `2.00s`.
fn duration(text: &str) -> Option<Duration> {
    let (number, scale) = if let Some(n) = text.strip_suffix("us") {
        (n, 1e-6)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60.0)
    } else {
        (text.strip_suffix('s')?, 1.0)
    };
    let value: f64 = number.parse().ok()?;
    Some(Duration::from_secs_f64(value * scale))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_wrk_latency_output() {
        let text = "Running 5s test @ http://127.0.0.1:1/\n  1 threads and 32 connections\n  Latency Distribution\n     50%  812.00us\n     75%    1.01ms\n     90%    1.20ms\n     99%    2.50ms\n  100 requests in 5.00s, 9.00KB read\nRequests/sec:  41234.56\nTransfer/sec:      3.00MB\n";
        let result = parse(text).expect("parses");
        assert_eq!(result.requests_per_sec, 41234.56);
        assert_eq!(result.p50, Duration::from_micros(812));
        assert_eq!(result.p99, Duration::from_micros(2500));
        assert!(parse("nothing").is_err());
    }
}
