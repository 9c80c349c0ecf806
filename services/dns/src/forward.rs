//! Names outside the cluster go to the node's resolvers: the query's own
//! bytes are relayed to each upstream in turn (UDP, then TCP when the answer
//! was truncated) and the first answer returned as it came. No cache: the
//! upstream resolver has one, and a relay never answers staler than it.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use hickory_proto::op::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use crate::DnsError;

/// How long one upstream has to answer before the next is asked.
pub const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(2);

/// The upstream resolvers, asked in order.
#[derive(Debug, Clone)]
pub struct Forwarder {
    upstreams: Vec<SocketAddr>,
    timeout: Duration,
}

/// Why no upstream answered, for the log beside the SERVFAIL.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    #[error("no upstream resolver is configured")]
    NoUpstream,
    #[error("no upstream answered: {0}")]
    AllFailed(String),
}

impl Forwarder {
    pub fn new(upstreams: Vec<SocketAddr>, timeout: Duration) -> Forwarder {
        Forwarder { upstreams, timeout }
    }

    pub fn upstreams(&self) -> &[SocketAddr] {
        &self.upstreams
    }

    /// Relays `query` (a whole DNS message) to each upstream until one answers.
    pub async fn forward(&self, query: &[u8]) -> Result<Message, ForwardError> {
        if self.upstreams.is_empty() {
            return Err(ForwardError::NoUpstream);
        }
        let mut failures = Vec::new();
        for upstream in &self.upstreams {
            match tokio::time::timeout(self.timeout, exchange(*upstream, query)).await {
                Ok(Ok(answer)) => return Ok(answer),
                Ok(Err(error)) => failures.push(format!("{upstream}: {error}")),
                Err(_) => failures.push(format!("{upstream}: no answer within {:?}", self.timeout)),
            }
        }
        Err(ForwardError::AllFailed(failures.join("; ")))
    }
}

/// One upstream, UDP first; a truncated answer is asked again over TCP.
async fn exchange(upstream: SocketAddr, query: &[u8]) -> std::io::Result<Message> {
    let id = query.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]])).unwrap_or_default();
    let local: SocketAddr = if upstream.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { ([0u16; 8], 0).into() };
    let socket = UdpSocket::bind(local).await?;
    socket.connect(upstream).await?;
    socket.send(query).await?;
    let mut buffer = vec![0u8; 65535];
    let answer = loop {
        let read = socket.recv(&mut buffer).await?;
        match Message::from_vec(&buffer[..read]) {
            // a stray or late datagram for another query is not the answer
            Ok(answer) if answer.metadata.id == id => break answer,
            _ => continue,
        }
    };
    if !answer.metadata.truncation {
        return Ok(answer);
    }
    let mut stream = TcpStream::connect(upstream).await?;
    let length = u16::try_from(query.len()).map_err(|_| std::io::Error::other("query longer than 65535 bytes"))?;
    stream.write_all(&length.to_be_bytes()).await?;
    stream.write_all(query).await?;
    let length = stream.read_u16().await?;
    let mut buffer = vec![0u8; usize::from(length)];
    stream.read_exact(&mut buffer).await?;
    Message::from_vec(&buffer).map_err(|e| std::io::Error::other(format!("a malformed answer over TCP: {e}")))
}

/// The `nameserver` lines of a resolv.conf, on port 53; a line that does not
/// parse is an error naming the file and line.
pub fn nameservers(path: &Path) -> Result<Vec<SocketAddr>, DnsError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| DnsError::ResolvConf { path: path.to_owned(), detail: source.to_string() })?;
    parse_nameservers(&text).map_err(|detail| DnsError::ResolvConf { path: path.to_owned(), detail })
}

fn parse_nameservers(text: &str) -> Result<Vec<SocketAddr>, String> {
    let mut found = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let mut words = line.split_whitespace();
        if words.next() != Some("nameserver") {
            continue;
        }
        let Some(address) = words.next() else {
            return Err(format!("line {}: a nameserver line without an address", number + 1));
        };
        // a scoped IPv6 address (fe80::1%eth0) keeps only the address
        let address = address.split('%').next().unwrap_or(address);
        let ip = address
            .parse::<std::net::IpAddr>()
            .map_err(|_| format!("line {}: {address:?} is not an IP address", number + 1))?;
        found.push(SocketAddr::new(ip, 53));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_nameservers_in_order_on_port_53() {
        let text = "# comment\nsearch example.com\nnameserver 10.0.0.2\nnameserver fe80::1%eth0\noptions ndots:1\n";
        let found = parse_nameservers(text).expect("parses");
        assert_eq!(found, vec!["10.0.0.2:53".parse().expect("addr"), "[fe80::1]:53".parse().expect("addr")]);
    }

    #[test]
    fn a_bad_nameserver_line_is_named() {
        let error = parse_nameservers("nameserver 10.0.0.2\nnameserver not-an-ip\n").expect_err("refused");
        assert!(error.contains("line 2") && error.contains("not-an-ip"), "{error}");
        let error = parse_nameservers("nameserver\n").expect_err("refused");
        assert!(error.contains("line 1"), "{error}");
    }
}
