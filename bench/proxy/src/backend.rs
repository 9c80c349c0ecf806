//! A small HTTP/1.1 keep-alive responder: every request gets a tiny 200.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::error::BenchError;

const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok";

/// Starts `n` responders on 127.0.0.1 in `tasks`; they stop with `stop`.
pub async fn start(n: usize, tasks: &mut JoinSet<()>, stop: &CancellationToken) -> Result<Vec<SocketAddr>, BenchError> {
    let mut addresses = Vec::new();
    for _ in 0..n {
        let listener = TcpListener::bind("127.0.0.1:0").await.map_err(BenchError::io("backend bind"))?;
        addresses.push(listener.local_addr().map_err(BenchError::io("backend address"))?);
        tasks.spawn(accept(listener, stop.clone()));
    }
    Ok(addresses)
}

async fn accept(listener: TcpListener, stop: CancellationToken) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => if let Ok((stream, _)) = accepted {
                let _ = stream.set_nodelay(true);
                connections.spawn(serve(stream));
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Answers each request (counted by its blank line); closes after a
/// `Connection: close` request or when the client does.
async fn serve(mut stream: TcpStream) {
    let mut buf = vec![0u8; 8192];
    let mut pending = Vec::new();
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        pending.extend_from_slice(&buf[..n]);
        while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            let request: Vec<u8> = pending.drain(..end + 4).collect();
            if stream.write_all(RESPONSE).await.is_err() {
                return;
            }
            let close = String::from_utf8_lossy(&request).to_ascii_lowercase().contains("connection: close");
            if close {
                let _ = stream.shutdown().await;
                return;
            }
        }
    }
}
