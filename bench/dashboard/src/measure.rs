//! Timing one page load over a fresh HTTP/1.1 connection, as a browser's
//! first visit makes it: from the request written to the first byte of the
//! answer, and to its last.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One page load.
pub struct Timed {
    pub first_byte: Duration,
    pub whole: Duration,
    pub body: String,
}

pub async fn page(addr: SocketAddr, path: &str, token: &str) -> anyhow::Result<Timed> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: capstan_dashboard_token={token}\r\nConnection: close\r\n\r\n"
    );
    let started = Instant::now();
    stream.write_all(request.as_bytes()).await?;
    let mut bytes = vec![0u8; 1];
    stream.read_exact(&mut bytes).await?;
    let first_byte = started.elapsed();
    stream.read_to_end(&mut bytes).await?;
    let whole = started.elapsed();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    anyhow::ensure!(text.starts_with("HTTP/1.1 200"), "GET {path}: {}", text.lines().next().unwrap_or_default());
    Ok(Timed { first_byte, whole, body: text })
}

/// The `q` quantile of sorted `samples` (nearest rank).
pub fn percentile(samples: &[Duration], q: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let rank = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len().max(1));
    sorted.get(rank - 1).copied().unwrap_or_default()
}
