//! UDP forwarding for one listener: a flow per client address, each with
//! its own connected socket towards the backend chosen for it; replies go
//! back from the service's socket; a flow idle for `idle` ends.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::port::PortState;
use crate::traffic::{BackendCounters, NO_BACKEND};

struct Flow {
    upstream: Arc<UdpSocket>,
    /// Bumped on every datagram from the client, to keep the flow alive.
    touched: watch::Sender<()>,
    counters: BackendCounters,
}

/// Relays datagrams on `socket` until `stop`; every flow ends with it.
pub async fn serve(socket: UdpSocket, port: Arc<PortState>, idle: Duration, stop: CancellationToken) {
    let socket = Arc::new(socket);
    let mut flows: HashMap<SocketAddr, Flow> = HashMap::new();
    let mut replies: JoinSet<SocketAddr> = JoinSet::new();
    let mut buf = vec![0u8; 65_536];
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            Some(Ok(client)) = replies.join_next(), if !replies.is_empty() => {
                flows.remove(&client);
            }
            received = socket.recv_from(&mut buf) => {
                let Ok((n, client)) = received else { continue };
                let flow = match flows.entry(client) {
                    Entry::Occupied(flow) => flow.into_mut(),
                    Entry::Vacant(slot) => match open(&port, client).await {
                        Some((flow, touched)) => {
                            replies.spawn(reply(client, flow.upstream.clone(), socket.clone(), idle, touched, flow.counters.clone()));
                            slot.insert(flow)
                        }
                        None => {
                            port.metrics.counters(&port.key, NO_BACKEND).errors.inc();
                            continue;
                        }
                    },
                };
                flow.touched.send_replace(());
                match flow.upstream.send(&buf[..n]).await {
                    Ok(sent) => {
                        flow.counters.bytes_to_backend.inc_by(sent as u64);
                    }
                    Err(_) => {
                        flow.counters.errors.inc();
                    }
                }
            }
        }
    }
}

/// A new flow for `client`: the balancer's first choice, a socket connected to it.
async fn open(port: &PortState, client: SocketAddr) -> Option<(Flow, watch::Receiver<()>)> {
    let backend = *port.candidates(client.ip()).first()?;
    let local: IpAddr = if backend.is_ipv4() { Ipv4Addr::UNSPECIFIED.into() } else { Ipv6Addr::UNSPECIFIED.into() };
    let upstream = UdpSocket::bind(SocketAddr::new(local, 0)).await.ok()?;
    upstream.connect(backend).await.ok()?;
    let counters = port.metrics.counters(&port.key, &backend.to_string());
    counters.connections.inc();
    let (touched, seen) = watch::channel(());
    Some((Flow { upstream: Arc::new(upstream), touched, counters }, seen))
}

/// Sends the backend's replies to `client` until the flow has been idle both
/// ways for `idle`; returns the client so the flow can be forgotten.
async fn reply(
    client: SocketAddr,
    upstream: Arc<UdpSocket>,
    socket: Arc<UdpSocket>,
    idle: Duration,
    mut touched: watch::Receiver<()>,
    counters: BackendCounters,
) -> SocketAddr {
    let mut buf = vec![0u8; 65_536];
    loop {
        tokio::select! {
            received = upstream.recv(&mut buf) => match received {
                Ok(n) => match socket.send_to(&buf[..n], client).await {
                    Ok(sent) => {
                        counters.bytes_from_backend.inc_by(sent as u64);
                    }
                    Err(_) => {
                        counters.errors.inc();
                    }
                },
                // ICMP unreachable from the backend, or the socket failed
                Err(_) => {
                    counters.errors.inc();
                    return client;
                }
            },
            changed = touched.changed() => if changed.is_err() { return client },
            _ = tokio::time::sleep(idle) => return client,
        }
    }
}
