//! A component's server: the services it adds, the [`stack`](crate::stack)
//! around them, and the listener it serves on (TCP, a unix socket, or any
//! stream of connections, such as in-process pipes).

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use axum::response::IntoResponse;
use capstan_metrics::Registry;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, UnixListener};
use tokio_stream::wrappers::{TcpListenerStream, UnixListenerStream};
use tokio_stream::{Stream, StreamExt};
use tonic::server::NamedService;
use tonic::service::Routes;
use tonic::transport::server::Connected;
use tonic_health::server::HealthReporter;
use tonic_health::ServingStatus;
use tower::{Layer, Service};

use crate::accept::{until_fatal, Fatal};
use crate::audit::AuditLog;
use crate::authn::Authenticator;
use crate::config::ServerConfig;
use crate::error::ServerError;
use crate::http::HttpFace;
use crate::message::MessageLimits;
use crate::metrics::RequestMetrics;
use crate::stack::Door;

/// Where a server accepts connections.
#[derive(Debug)]
pub enum Listener {
    Tcp(TcpListener),
    /// The runtime shims' sockets; `curl --unix-socket` scrapes them.
    Unix(UnixListener),
}

impl From<TcpListener> for Listener {
    fn from(listener: TcpListener) -> Self {
        Listener::Tcp(listener)
    }
}

impl From<UnixListener> for Listener {
    fn from(listener: UnixListener) -> Self {
        Listener::Unix(listener)
    }
}

impl Listener {
    fn describe(&self) -> String {
        let described = match self {
            Listener::Tcp(l) => l.local_addr().map(|a| a.to_string()),
            Listener::Unix(l) => l.local_addr().map(|a| match a.as_pathname() {
                Some(path) => format!("unix://{}", path.display()),
                None => "an unnamed unix socket".into(),
            }),
        };
        described.unwrap_or_else(|_| "an unknown address".into())
    }
}

/// A server being assembled: add services, then [`serve`](Server::serve).
pub struct Server {
    config: ServerConfig,
    registry: Registry,
    metrics: RequestMetrics,
    health: HealthReporter,
    services: Routes,
    names: Vec<&'static str>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    door: Door,
    /// Plain HTTP beside gRPC on the same port (the API server's REST face).
    http: Option<HttpFace>,
}

impl Server {
    /// A server whose `GET /metrics` renders `registry`, with the request
    /// metrics registered on it. The config's TLS files, token file and
    /// audit log are read and opened here, so a server that could not
    /// serve as configured (an expired certificate, a malformed token line)
    /// refuses to start, saying which file is wrong.
    pub fn new(config: ServerConfig, registry: Registry) -> Result<Server, ServerError> {
        let metrics = RequestMetrics::register(&registry)?;
        let tls = config.tls.as_ref().map(crate::tls::acceptor).transpose()?;
        let authenticator = config.authentication.as_ref().map(Authenticator::load).transpose()?.map(Arc::new);
        let audit = config.audit.as_ref().map(|audit| AuditLog::open(audit, &registry)).transpose()?;
        let mut server = Server::with_request_metrics(config, registry, metrics);
        server.tls = tls;
        server.door = Door { authenticator, audit };
        Ok(server)
    }

    /// A server with a registry of its own, holding only the request metrics:
    /// for a component with no metrics of its own (a runtime shim).
    pub fn with_new_registry(config: ServerConfig) -> Server {
        let registry = Registry::new();
        #[allow(clippy::expect_used)]
        let metrics = RequestMetrics::register(&registry)
            .expect("the request metrics' names are valid and a new registry holds no other");
        Server::with_request_metrics(config, registry, metrics)
    }

    /// As [`Server::new`], counting calls in `metrics` already registered on
    /// `registry`: for a component with two ports and one registry.
    pub fn with_request_metrics(config: ServerConfig, registry: Registry, metrics: RequestMetrics) -> Server {
        Server {
            config,
            registry,
            metrics,
            health: HealthReporter::new(),
            services: Routes::default(),
            names: Vec::new(),
            tls: None,
            door: Door::default(),
            http: None,
        }
    }

    /// Serves `face` on the same port for every request no gRPC service
    /// claims (any path other than `/{package.Service}/{Method}`, health and
    /// `/metrics`): the API server's Kubernetes REST face. It sits inside the
    /// stack's layers as the gRPC services do (audit, authentication — the
    /// caller's `UserInfo` on each request —, limits, timeout, metrics,
    /// trace), which treat its requests as its classifier says.
    pub fn serve_http(mut self, face: HttpFace) -> Self {
        self.http = Some(face);
        self
    }

    /// The reporter behind `grpc.health.v1`: every added service reports
    /// SERVING once the server serves; the component may say otherwise.
    pub fn health(&self) -> HealthReporter {
        self.health.clone()
    }

    /// Adds one of the component's gRPC services, its message sizes capped
    /// by the config.
    pub fn add_service<S>(mut self, service: S) -> Self
    where
        S: MessageLimits
            + Service<http::Request<tonic::body::Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Response: IntoResponse,
        S::Future: Send + 'static,
    {
        let limits = (self.config.max_receive_message_bytes, self.config.max_send_message_bytes);
        self.services = self.services.add_service(service.limit_messages(limits.0, limits.1));
        self.names.push(S::NAME);
        self
    }

    /// Wraps the services added so far (not health, not /metrics) in `layer`,
    /// inside the shared stack: for a benchmark that times each runtime call.
    pub fn layer_services<L>(mut self, layer: L) -> Self
    where
        L: Layer<axum::routing::Route> + Clone + Send + Sync + 'static,
        L::Service: Service<axum::extract::Request> + Clone + Send + Sync + 'static,
        <L::Service as Service<axum::extract::Request>>::Response: IntoResponse + 'static,
        <L::Service as Service<axum::extract::Request>>::Error: Into<Infallible> + 'static,
        <L::Service as Service<axum::extract::Request>>::Future: Send + 'static,
    {
        self.services = self.services.into_axum_router().layer(layer).into();
        self
    }

    /// The whole stack as one service, without a listener: what the stack's
    /// own tests call directly.
    pub fn into_service(self) -> Routes {
        crate::stack(self.services, &self.health, self.registry, self.metrics, &self.config, &self.door, self.http)
            .prepare()
    }

    /// Serves on `listener` until `shutdown` completes, then drains the calls
    /// in flight; or until the listener fails for good, then with its error.
    pub async fn serve(
        self,
        listener: impl Into<Listener>,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), ServerError> {
        let listener = listener.into();
        let addr = listener.describe();
        tracing::debug!(%addr, services = ?self.names, "serving");
        let fatal = Fatal::default();
        let served = match listener {
            // small calls in both directions: Nagle's delay would only hold them back
            Listener::Tcp(l) => {
                let incoming = TcpListenerStream::new(l).map(|conn| {
                    if let Ok(stream) = &conn {
                        let _ = stream.set_nodelay(true);
                    }
                    conn
                });
                let incoming = until_fatal(incoming, fatal.clone());
                match self.tls.clone() {
                    // TLS wraps each connection before the stack sees it
                    Some(acceptor) => self.serve_incoming(crate::tls::incoming(incoming, acceptor), shutdown).await,
                    None => self.serve_incoming(incoming, shutdown).await,
                }
            }
            Listener::Unix(l) => {
                self.serve_incoming(until_fatal(UnixListenerStream::new(l), fatal.clone()), shutdown).await
            }
        };
        served.map_err(|source| ServerError::Serve { addr: addr.clone(), source })?;
        match fatal.take() {
            Some(source) => Err(ServerError::Accept { addr, source }),
            None => Ok(()),
        }
    }

    /// Serves the connections `incoming` yields until `shutdown` completes
    /// (plaintext, or already TLS: [`Server::serve`] wraps TCP connections).
    /// A server with an HTTP face is served with HTTP/1.1 upgrades
    /// ([`crate::upgrades`]), any other by tonic.
    pub async fn serve_incoming<I, IO, IE>(
        self,
        incoming: I,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), tonic::transport::Error>
    where
        I: Stream<Item = Result<IO, IE>>,
        IO: AsyncRead + AsyncWrite + Connected + Unpin + Send + 'static,
        IE: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        for name in &self.names {
            self.health.set_service_status(*name, ServingStatus::Serving).await;
        }
        if self.http.is_some() {
            // the HTTP face's WebSockets (kubectl exec) need HTTP/1.1 upgrades
            crate::upgrades::serve(self.into_service(), incoming, shutdown).await;
            return Ok(());
        }
        tonic::transport::Server::builder()
            // a Prometheus scrape is plain HTTP/1.1
            .accept_http1(true)
            .serve_with_incoming_shutdown(self.into_service(), incoming, shutdown)
            .await
    }
}
