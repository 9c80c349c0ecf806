//! A new connection's cost: connect, one `Connection: close` request, read
//! to the end, in a loop; the median through a proxy minus the direct one is
//! what the proxy adds.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::error::BenchError;

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nhost: bench\r\nconnection: close\r\n\r\n";

/// One connect+request+close; fails if the answer is not a 200.
pub async fn once(address: SocketAddr) -> Result<Duration, BenchError> {
    let start = Instant::now();
    let mut stream = TcpStream::connect(address).await.map_err(BenchError::io(format!("connect {address}")))?;
    let _ = stream.set_nodelay(true);
    stream.write_all(REQUEST).await.map_err(BenchError::io(format!("request to {address}")))?;
    let mut answer = Vec::with_capacity(128);
    stream.read_to_end(&mut answer).await.map_err(BenchError::io(format!("answer from {address}")))?;
    if !answer.starts_with(b"HTTP/1.1 200") {
        return Err(BenchError::Io {
            what: format!("answer from {address}"),
            source: std::io::ErrorKind::InvalidData.into(),
        });
    }
    Ok(start.elapsed())
}

/// The median of `n` sequential connections, in microseconds.
pub async fn p50_micros(address: SocketAddr, n: usize) -> Result<f64, BenchError> {
    let mut histogram = Histogram::<u64>::new(3).map_err(|e| BenchError::Api(e.to_string()))?;
    for _ in 0..n {
        let took = once(address).await?;
        let _ = histogram.record(u64::try_from(took.as_nanos()).unwrap_or(u64::MAX));
    }
    Ok(histogram.value_at_quantile(0.5) as f64 / 1000.0)
}

/// Waits until `address` answers a request, for at most ten seconds.
pub async fn ready(target: &str, address: SocketAddr) -> Result<(), BenchError> {
    for _ in 0..500 {
        if once(address).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err(BenchError::NotReady { target: target.to_string(), address })
}
