//! One A question over UDP, for readiness and for the time until a new
//! Service resolves (dnsperf measures the load itself).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use tokio::net::UdpSocket;

use crate::error::BenchError;

/// The first A record of `name` at `server`, `None` for any other answer or
/// none within `wait`.
pub async fn resolve_a(server: SocketAddr, name: &str, wait: Duration) -> Result<Option<IpAddr>, BenchError> {
    let mut query = Message::query();
    query.metadata.recursion_desired = true;
    let name = Name::from_ascii(name).map_err(|e| BenchError::Tool { tool: "query", detail: e.to_string() })?;
    query.add_query(Query::query(name, RecordType::A));
    let bytes = query.to_vec().map_err(|e| BenchError::Tool { tool: "query", detail: e.to_string() })?;
    let socket = UdpSocket::bind("127.0.0.1:0").await.map_err(BenchError::io("a UDP socket"))?;
    socket.send_to(&bytes, server).await.map_err(BenchError::io(format!("a query to {server}")))?;
    let mut buffer = vec![0u8; 4096];
    let Ok(read) = tokio::time::timeout(wait, socket.recv(&mut buffer)).await else { return Ok(None) };
    let read = read.map_err(BenchError::io(format!("an answer from {server}")))?;
    let Ok(answer) = Message::from_vec(&buffer[..read]) else { return Ok(None) };
    if answer.metadata.id != query.metadata.id || answer.metadata.response_code != ResponseCode::NoError {
        return Ok(None);
    }
    Ok(answer.answers.iter().find_map(|r| match &r.data {
        RData::A(a) => Some(IpAddr::V4(a.0)),
        _ => None,
    }))
}

/// Waits (at most 30 s) until `server` answers `name`.
pub async fn wait_answering(target: &'static str, server: SocketAddr, name: &str) -> Result<(), BenchError> {
    for _ in 0..300 {
        if resolve_a(server, name, Duration::from_millis(100)).await?.is_some() {
            return Ok(());
        }
    }
    Err(BenchError::NotReady { target, name: name.to_owned(), address: server })
}
