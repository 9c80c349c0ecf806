//! TCP forwarding for one listener: accept, choose a backend (the next one
//! when it refuses), then copy both ways until both sides have closed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::port::PortState;
use crate::traffic::NO_BACKEND;
use crate::ProxyError;

/// How long a backend may take to accept before the next one is tried.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Accepts on `listener` until `stop`; then closes the listener at once and
/// lets established connections finish, unless the whole proxy stops (`root`).
pub async fn serve(listener: TcpListener, port: Arc<PortState>, stop: CancellationToken, root: CancellationToken) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((client, peer)) => {
                    connections.spawn(forward(client, peer, port.clone()));
                }
                Err(error) => {
                    // EMFILE and friends: back off briefly rather than spin
                    tracing::warn!(service = %port.key, %error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    loop {
        tokio::select! {
            _ = root.cancelled() => break,
            next = connections.join_next() => if next.is_none() { break },
        }
    }
}

/// One client connection, from backend choice to the last byte.
async fn forward(mut client: TcpStream, peer: SocketAddr, port: Arc<PortState>) {
    let _ = client.set_nodelay(true);
    let (mut backend, address) = match connect(&port, peer).await {
        Ok(found) => found,
        Err(error) => {
            tracing::debug!(service = %port.key, %peer, %error, "no backend");
            port.metrics.counters(&port.key, NO_BACKEND).errors.inc();
            return;
        }
    };
    let counters = port.metrics.counters(&port.key, &address.to_string());
    counters.connections.inc();
    match tokio::io::copy_bidirectional(&mut client, &mut backend).await {
        Ok((up, down)) => {
            counters.bytes_to_backend.inc_by(up);
            counters.bytes_from_backend.inc_by(down);
        }
        Err(error) => {
            tracing::debug!(service = %port.key, %peer, backend = %address, %error, "connection failed");
            counters.errors.inc();
        }
    }
}

/// Connects to the first backend that accepts, in the balancer's order.
async fn connect(port: &PortState, peer: SocketAddr) -> Result<(TcpStream, SocketAddr), ProxyError> {
    let candidates = port.candidates(peer.ip());
    let mut last_error = None;
    for (i, address) in candidates.iter().enumerate() {
        let attempt = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address)).await;
        match attempt.unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into())) {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                if i > 0 {
                    port.repin(peer.ip(), *address);
                }
                return Ok((stream, *address));
            }
            Err(error) => {
                tracing::debug!(service = %port.key, backend = %address, %error, "backend refused, trying the next");
                port.metrics.counters(&port.key, &address.to_string()).errors.inc();
                last_error = Some(error);
            }
        }
    }
    let service = port.key.to_string();
    Err(match last_error {
        Some(source) => ProxyError::AllBackendsFailed { service, source },
        None => ProxyError::NoBackend { service },
    })
}
