//! Tiny backends on 127.0.0.1 that answer with their own name.

use std::net::SocketAddr;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::JoinSet;

/// TCP and UDP backends; dropping this stops them all.
#[derive(Default)]
pub struct Backends {
    tasks: JoinSet<()>,
}

impl Backends {
    /// A TCP backend: writes `name\n`, then echoes until the client closes.
    pub async fn tcp(&mut self, name: &str) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind backend");
        let address = listener.local_addr().expect("addr");
        let name = name.to_string();
        self.tasks.spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((mut stream, _)) = listener.accept().await {
                let name = name.clone();
                connections.spawn(async move {
                    if stream.write_all(format!("{name}\n").as_bytes()).await.is_err() {
                        return;
                    }
                    let (mut read, mut write) = stream.split();
                    let _ = tokio::io::copy(&mut read, &mut write).await;
                });
                while connections.try_join_next().is_some() {}
            }
        });
        address
    }

    /// A UDP backend: answers each datagram with `name:` and the datagram.
    pub async fn udp(&mut self, name: &str) -> SocketAddr {
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind udp backend");
        let address = socket.local_addr().expect("addr");
        let name = name.to_string();
        self.tasks.spawn(async move {
            let mut buf = [0u8; 2048];
            while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
                let mut answer = format!("{name}:").into_bytes();
                answer.extend_from_slice(&buf[..n]);
                let _ = socket.send_to(&answer, peer).await;
            }
        });
        address
    }
}

/// A port on 127.0.0.1 where nothing listens (bound, then closed).
pub async fn refusing() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().expect("addr")
}

/// Connects to `address`, reads the backend's name, closes.
///
/// Bounded: an address asked before the proxy made it local leaves by the
/// default route, where a connect can wait minutes for an answer.
pub async fn ask(address: SocketAddr) -> std::io::Result<String> {
    let asked = async {
        let mut stream = TcpStream::connect(address).await?;
        let name = read_name(&mut stream).await?;
        stream.shutdown().await?;
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest).await?;
        Ok(name)
    };
    tokio::time::timeout(std::time::Duration::from_secs(5), asked)
        .await
        .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()))
}

/// Reads the `name\n` greeting from an open connection.
pub async fn read_name(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut line = String::new();
    let mut reader = BufReader::new(stream);
    reader.read_line(&mut line).await?;
    if line.is_empty() {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    Ok(line.trim_end().to_string())
}
