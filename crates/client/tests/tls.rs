//! The client speaks with an identity: over TLS with a kubeconfig that
//! `capstan certs init` wrote, its client certificate presented to a server
//! that checks it against the cluster CA; with a bearer token on every call;
//! and with a kubeconfig from another CA it fails, saying why.
//!
//! The server is a small tonic server behind tokio-rustls, built here: the
//! API server's own TLS serving is not this crate's.

use capstan_client::{Client, ClientError, Target};
use capstan_pki::{init, InitOptions, Kubeconfig, Layout};
use capstan_proto::api::v1::resource_service_server::{ResourceService, ResourceServiceServer};
use capstan_proto::api::v1::*;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_stream::StreamExt;
use tonic::transport::server::Connected;
use tonic::{Request, Response, Status};

/// Who called: the client certificate's CN, and the authorization header.
type Seen = Arc<Mutex<Vec<(Option<String>, Option<String>)>>>;

/// The common name of the verified client certificate, as the server saw it.
#[derive(Clone)]
struct PeerName(Option<String>);

struct Io(tokio_rustls::server::TlsStream<TcpStream>);

impl Connected for Io {
    type ConnectInfo = PeerName;
    fn connect_info(&self) -> PeerName {
        let certs = self.0.get_ref().1.peer_certificates();
        let cn = certs
            .and_then(|c| c.first())
            .and_then(|der| capstan_pki::cert::inspect(der, "peer").ok().map(|info| info.common_name));
        PeerName(cn)
    }
}

impl AsyncRead for Io {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Io {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

struct Discovery(Seen);

#[tonic::async_trait]
impl ResourceService for Discovery {
    async fn create(&self, _: Request<CreateRequest>) -> Result<Response<Object>, Status> {
        Err(Status::unimplemented("create"))
    }
    async fn get(&self, _: Request<GetRequest>) -> Result<Response<Object>, Status> {
        Err(Status::unimplemented("get"))
    }
    async fn list(&self, _: Request<ListRequest>) -> Result<Response<ObjectList>, Status> {
        Err(Status::unimplemented("list"))
    }
    async fn update(&self, _: Request<UpdateRequest>) -> Result<Response<Object>, Status> {
        Err(Status::unimplemented("update"))
    }
    async fn patch(&self, _: Request<PatchRequest>) -> Result<Response<Object>, Status> {
        Err(Status::unimplemented("patch"))
    }
    async fn delete(&self, _: Request<DeleteRequest>) -> Result<Response<DeleteResponse>, Status> {
        Err(Status::unimplemented("delete"))
    }
    type WatchStream = tokio_stream::Empty<Result<WatchEvent, Status>>;
    async fn watch(&self, _: Request<WatchRequest>) -> Result<Response<Self::WatchStream>, Status> {
        Err(Status::unimplemented("watch"))
    }
    async fn discover(&self, request: Request<DiscoveryRequest>) -> Result<Response<DiscoveryResponse>, Status> {
        let peer = request.extensions().get::<PeerName>().and_then(|p| p.0.clone());
        let auth = request.metadata().get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string);
        self.0.lock().expect("lock").push((peer, auth));
        let pods = ApiResource { name: "pods".into(), ..Default::default() };
        Ok(Response::new(DiscoveryResponse { resources: vec![pods] }))
    }
}

/// Serves discovery over TLS with the PKI's API server certificate; a client
/// certificate is optional (tokens need none) but must be the CA's when shown.
async fn serve(pki: &Layout) -> (String, Seen) {
    let read = |p: std::path::PathBuf| std::fs::read(p).expect("pki file");
    let chain = vec![CertificateDer::from_pem_slice(&read(pki.cert("apiserver"))).expect("cert")];
    let key = PrivateKeyDer::from_pem_slice(&read(pki.key("apiserver"))).expect("key");
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_slice(&read(pki.ca_cert())).expect("ca")).expect("root");
    let provider = capstan_pki::tls::provider();
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()
        .expect("verifier");
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .expect("server config");
    config.alpn_protocols = vec![b"h2".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("https://127.0.0.1:{}", listener.local_addr().expect("addr").port());
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener)
        .filter_map(|tcp| tcp.ok())
        .then(move |tcp| {
            let acceptor = acceptor.clone();
            async move { acceptor.accept(tcp).await.map(Io) }
        })
        // a refused handshake is that client's failure, not the server's
        .filter_map(|tls| tls.ok().map(Ok::<_, std::io::Error>));
    let seen = Seen::default();
    let service = ResourceServiceServer::new(Discovery(seen.clone()));
    tokio::spawn(tonic::transport::Server::builder().add_service(service).serve_with_incoming(incoming));
    (url, seen)
}

fn pki(dir: &Path) -> Layout {
    init(&InitOptions { hostname: "box".into(), ..InitOptions::new(dir) }).expect("certs init");
    Layout::new(dir)
}

#[tokio::test]
async fn the_admin_kubeconfig_connects_with_its_certificate() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let pki = pki(&scratch.path().join("pki"));
    let (url, seen) = serve(&pki).await;
    // the kubeconfig says https://127.0.0.1:6443; --server overrides the address only
    let client = Client::from_kubeconfig(&pki.kubeconfig("admin"), Some(&url)).expect("client");
    let resources = client.discover().await.expect("an answer over TLS");
    assert_eq!(resources[0].name, "pods");
    assert_eq!(seen.lock().expect("lock").as_slice(), &[(Some("admin".to_string()), None)]);
}

#[tokio::test]
async fn a_token_is_sent_on_every_call() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let pki = pki(&scratch.path().join("pki"));
    let (url, seen) = serve(&pki).await;
    let path = pki.kubeconfig("admin");
    let mut config = Kubeconfig::load(&path).expect("load");
    config.users[0].user.client_certificate_data = None;
    config.users[0].user.client_key_data = None;
    config.users[0].user.token = Some("s3cret.token".into());
    let token_path = scratch.path().join("token.conf");
    config.save(&token_path).expect("save");
    let target = Target::resolve(Some(&token_path), Some(&url)).expect("target");
    let client = Client::connect_to(&target).expect("client");
    client.discover().await.expect("first");
    client.discover().await.expect("second");
    let want = (None, Some("Bearer s3cret.token".to_string()));
    assert_eq!(seen.lock().expect("lock").as_slice(), &[want.clone(), want]);
}

#[tokio::test]
async fn a_kubeconfig_of_another_ca_is_refused_with_a_clear_error() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let pki = pki(&scratch.path().join("pki"));
    let other = self::pki(&scratch.path().join("other"));
    let (url, seen) = serve(&pki).await;

    let client = Client::from_kubeconfig(&other.kubeconfig("admin"), Some(&url)).expect("client");
    let err = client.discover().await.expect_err("the server is not the other CA's");
    let text = err.to_string();
    assert!(matches!(err, ClientError::Unavailable { .. }), "{err:?}");
    assert!(text.contains("TLS handshake") && text.contains("invalid peer certificate: UnknownIssuer"), "{text}");
    assert!(text.contains(&other.kubeconfig("admin").display().to_string()), "names the kubeconfig: {text}");

    // the right CA, but a client certificate the server's CA did not issue
    let mut mixed = Kubeconfig::load(&pki.kubeconfig("admin")).expect("load");
    let foreign = Kubeconfig::load(&other.kubeconfig("admin")).expect("load");
    mixed.users = foreign.users;
    let mixed_path = scratch.path().join("mixed.conf");
    mixed.save(&mixed_path).expect("save");
    let client = Client::from_kubeconfig(&mixed_path, Some(&url)).expect("client");
    let err = client.discover().await.expect_err("the server refuses the certificate");
    let text = err.to_string();
    assert!(text.contains("UnknownCA") && text.contains("the server refused the TLS connection"), "{text}");
    assert!(seen.lock().expect("lock").is_empty(), "no call reached the service");
}
