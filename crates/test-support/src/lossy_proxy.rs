//! A TCP proxy that can lose a server's answers: the one way to test, deterministically,
//! what a client does when a request reached the server and was applied there, but its
//! answer never came back (a member died just after committing).
//!
//! While answers are held, bytes from the client still reach the server and the server's
//! answers are dropped; [`LossyProxy::cut`] then closes every connection, which the client
//! sees as a transport failure of the request in flight. New connections are forwarded
//! normally again after the cut.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::HarnessError;

/// A running proxy; it stops on drop.
pub struct LossyProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

struct Shared {
    holding: AtomicBool,
    /// Bumped by every cut: a connection accepted before it closes.
    cuts: watch::Sender<u64>,
}

impl LossyProxy {
    /// Forwards a fresh loopback port to `upstream` (`host:port`, or a URL such as
    /// `http://127.0.0.1:2379`).
    pub async fn start(upstream: &str) -> Result<LossyProxy, HarnessError> {
        let upstream = upstream.split_once("://").map_or(upstream, |(_, rest)| rest).trim_end_matches('/').to_owned();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|source| HarnessError::Io { what: "bind the lossy proxy".into(), source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| HarnessError::Io { what: "read the proxy's port".into(), source })?;
        let shared = Arc::new(Shared { holding: AtomicBool::new(false), cuts: watch::Sender::new(0) });
        let accepting = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(&upstream).await else { continue };
                tokio::spawn(forward(client, server, accepting.clone()));
            }
        });
        Ok(LossyProxy { addr, shared, task })
    }

    /// `http://127.0.0.1:<port>`, the URL clients use instead of the upstream's.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// From now on, the server's answers are dropped instead of forwarded.
    pub fn hold_answers(&self) {
        self.shared.holding.store(true, Ordering::SeqCst);
    }

    /// Closes every open connection (answers held so far are lost) and forwards normally
    /// again.
    pub fn cut(&self) {
        self.shared.holding.store(false, Ordering::SeqCst);
        self.shared.cuts.send_modify(|cuts| *cuts += 1);
    }
}

impl Drop for LossyProxy {
    fn drop(&mut self) {
        self.task.abort();
        self.cut();
    }
}

async fn forward(client: TcpStream, server: TcpStream, shared: Arc<Shared>) {
    let mut cuts = shared.cuts.subscribe();
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let requests = tokio::io::copy(&mut client_read, &mut server_write);
    let answers = async {
        let mut buffer = vec![0; 16 * 1024];
        loop {
            let read = server_read.read(&mut buffer).await?;
            if read == 0 {
                return Ok::<_, std::io::Error>(());
            }
            if !shared.holding.load(Ordering::SeqCst) {
                client_write.write_all(&buffer[..read]).await?;
            }
        }
    };
    // Whichever ends first ends the connection; dropping both halves closes both sockets.
    tokio::select! {
        _ = requests => {}
        _ = answers => {}
        _ = cuts.changed() => {}
    }
}
