//! A plain HTTP/1.1 GET over real TCP, for tests that scrape a component's
//! `/metrics` (served on the same port as its gRPC services).

use crate::HarnessError;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An HTTP response as a test reads it.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// e.g. `HTTP/1.1 200 OK`
    pub status_line: String,
    /// the header block, lower-cased
    pub headers: String,
    pub body: String,
}

/// `GET path` on a fresh connection to `addr`, read until the server closes.
pub async fn http_get(addr: SocketAddr, path: &str) -> Result<HttpResponse, HarnessError> {
    let failed = |what: &str, e: std::io::Error| HarnessError::Http(format!("GET http://{addr}{path}: {what}: {e}"));
    let mut stream = tokio::net::TcpStream::connect(addr).await.map_err(|e| failed("connect", e))?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.map_err(|e| failed("send", e))?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.map_err(|e| failed("read", e))?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| HarnessError::Http(format!("GET http://{addr}{path}: no header block in {response:?}")))?;
    let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    Ok(HttpResponse { status_line: status.to_string(), headers: headers.to_lowercase(), body: body.to_string() })
}

/// The value of the sample `series` (name with its labels exactly as
/// rendered, e.g. `x_total{result="ok"}`) in Prometheus text.
pub fn metric_sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}
