//! A plain HTTP/1.1 GET over real TCP or a unix socket, for tests that scrape
//! a component's `/metrics` (served on the same port as its gRPC services).

use crate::HarnessError;
use std::net::SocketAddr;
use std::path::Path;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

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
    let url = format!("http://{addr}{path}");
    let stream = tokio::net::TcpStream::connect(addr).await.map_err(|e| failed(&url, "connect", e))?;
    get_over(stream, &addr.to_string(), path, &url).await
}

/// `GET path` on a fresh connection to the unix socket `socket` (what
/// `curl --unix-socket` does): a runtime shim's `/metrics`.
pub async fn http_get_unix(socket: &Path, path: &str) -> Result<HttpResponse, HarnessError> {
    let url = format!("unix://{}{path}", socket.display());
    let stream = tokio::net::UnixStream::connect(socket).await.map_err(|e| failed(&url, "connect", e))?;
    get_over(stream, "localhost", path, &url).await
}

fn failed(url: &str, what: &str, e: std::io::Error) -> HarnessError {
    HarnessError::Http(format!("GET {url}: {what}: {e}"))
}

async fn get_over(
    mut stream: impl AsyncRead + AsyncWrite + Unpin,
    host: &str,
    path: &str,
    url: &str,
) -> Result<HttpResponse, HarnessError> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.map_err(|e| failed(url, "send", e))?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.map_err(|e| failed(url, "read", e))?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| HarnessError::Http(format!("GET {url}: no header block in {response:?}")))?;
    let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    Ok(HttpResponse { status_line: status.to_string(), headers: headers.to_lowercase(), body: body.to_string() })
}

/// The value of the sample `series` (name with its labels exactly as
/// rendered, e.g. `x_total{result="ok"}`) in Prometheus text.
pub fn metric_sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}
