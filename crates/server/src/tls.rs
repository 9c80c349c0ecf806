//! TLS on a server's TCP listener: the serving certificate and key read with
//! `capstan-pki` (so an expired certificate refuses the start, naming its
//! file), client certificates verified against the client CA when a caller
//! presents one, and each handshake done in a task of its own so that a slow
//! or garbage-speaking client never holds up the accept loop.
//!
//! A client that speaks plaintext HTTP where the ClientHello belongs is
//! answered in its own protocol first ([`crate::plaintext`]).
//!
//! A client certificate is optional at the TLS level: token clients, the
//! health check and a Prometheus scrape connect without one, and
//! authentication ([`crate::authn`]) decides what a caller without one may do.
//! A certificate that the client CA did not sign, or that has expired, fails
//! the handshake (rustls answers with an alert the client reports). The
//! verified certificate's subject is read once per connection, into
//! [`PeerInfo`], which tonic puts on every request of the connection.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use capstan_auth::UserInfo;
use capstan_pki::cert;
use rustls::server::WebPkiClientVerifier;
use rustls::RootCertStore;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tonic::transport::server::Connected;

use crate::config::TlsFiles;
use crate::error::ServerError;

/// How long a client may take to finish its handshake before it is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What a TLS connection says about its peer, on every request of it.
#[derive(Clone, Debug)]
pub struct PeerInfo {
    pub remote_addr: Option<SocketAddr>,
    /// The user a verified client certificate names (CN the user, each O a
    /// group, plus `system:authenticated`); `None` when none was presented.
    pub client: Option<Arc<UserInfo>>,
}

/// The rustls acceptor for `files`: refuses a missing, unreadable, expired or
/// mismatched certificate, key or client CA, naming the file.
pub fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, ServerError> {
    let now = cert::unix_now();
    let serving = cert::load_certificate(&files.cert, now)?;
    let chain = cert::parse_pem_certs(serving.pem.as_bytes(), &files.cert.display().to_string())?;
    let key_pem = std::fs::read(&files.key).map_err(|source| ServerError::Read { path: files.key.clone(), source })?;
    let key = cert::parse_pem_key(&key_pem, &files.key.display().to_string())?;
    let provider = capstan_pki::tls::provider();
    let tls = |path: &Path, message: String| ServerError::Tls { path: path.to_path_buf(), message };
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls(&files.cert, e.to_string()))?;
    let builder = match &files.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca_path) => {
            let ca = cert::load_certificate(ca_path, now)?;
            let mut roots = RootCertStore::empty();
            for der in cert::parse_pem_certs(ca.pem.as_bytes(), &ca_path.display().to_string())? {
                roots.add(der).map_err(|e| tls(ca_path, e.to_string()))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated()
                .build()
                .map_err(|e| tls(ca_path, e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|e| tls(&files.key, format!("the key does not go with {}: {e}", files.cert.display())))?;
    // h2 for gRPC; http/1.1 for a scrape of GET /metrics
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// A server-side TLS connection and what its handshake established.
pub struct TlsConn {
    stream: tokio_rustls::server::TlsStream<TcpStream>,
    peer: PeerInfo,
}

impl TlsConn {
    fn new(stream: tokio_rustls::server::TlsStream<TcpStream>, remote_addr: Option<SocketAddr>) -> TlsConn {
        let client = stream.get_ref().1.peer_certificates().and_then(|certs| certs.first()).and_then(|der| {
            // rustls has verified it against the client CA; reading it back
            // can only fail on an extension x509-parser does not know
            match cert::inspect(der, "the client certificate") {
                Ok(info) => Some(Arc::new(UserInfo::authenticated(info.common_name, "", info.organizations))),
                Err(error) => {
                    tracing::warn!(%error, ?remote_addr, "a verified client certificate could not be read");
                    None
                }
            }
        });
        TlsConn { stream, peer: PeerInfo { remote_addr, client } }
    }
}

impl Connected for TlsConn {
    type ConnectInfo = PeerInfo;

    fn connect_info(&self) -> PeerInfo {
        self.peer.clone()
    }
}

impl AsyncRead for TlsConn {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsConn {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// The TLS connections of `tcp`: each accepted socket's handshake runs in a
/// task of its own (bounded by [`HANDSHAKE_TIMEOUT`]); a failed handshake is
/// logged with its peer and cause and the socket closed. The stream ends when
/// `tcp` does (its listener failed for good) or when the server stops reading it.
pub(crate) fn incoming<S>(tcp: S, acceptor: TlsAcceptor) -> impl Stream<Item = io::Result<TlsConn>>
where
    S: Stream<Item = io::Result<TcpStream>> + Send + 'static,
{
    let (tx, rx) = mpsc::channel::<io::Result<TlsConn>>(64);
    tokio::spawn(async move {
        let mut tcp = std::pin::pin!(tcp);
        loop {
            let accepted = tokio::select! {
                () = tx.closed() => break,
                accepted = tcp.next() => accepted,
            };
            let stream = match accepted {
                None => break,
                // one connection's error: the listener is still good
                Some(Err(error)) => {
                    tracing::debug!(%error, "accepting a connection failed");
                    continue;
                }
                Some(Ok(stream)) => stream,
            };
            let (acceptor, tx) = (acceptor.clone(), tx.clone());
            tokio::spawn(async move {
                let mut stream = stream;
                let peer = stream.peer_addr().ok();
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, crate::plaintext::answer_plaintext(&mut stream)).await {
                    Ok(false) => {}
                    Ok(true) => return tracing::info!(?peer, "a plaintext client on the TLS port was told to use TLS"),
                    Err(_) => return tracing::info!(?peer, "no TLS handshake began in time; closed"),
                }
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                    Ok(Ok(tls)) => {
                        let _ = tx.send(Ok(TlsConn::new(tls, peer))).await;
                    }
                    Ok(Err(error)) => tracing::info!(?peer, %error, "TLS handshake refused"),
                    Err(_) => tracing::info!(?peer, "TLS handshake not finished in time; closed"),
                }
            });
        }
    });
    ReceiverStream::new(rx)
}
