//! The one server stack: every Capstan component (API server, kubelet,
//! scheduler, controller-manager, proxy, each runtime shim) serves its gRPC
//! services and `GET /metrics` through it, so a concern added here reaches
//! every server at once. The API server's door (TLS, authentication, audit,
//! split read/write limits) is here too, switched on by its [`ServerConfig`].
//!
//! ```no_run
//! # async fn demo(listener: tokio::net::TcpListener) -> Result<(), capstan_server::ServerError> {
//! use capstan_server::{Server, ServerConfig};
//! let registry = capstan_metrics::Registry::new();
//! let server = Server::new(ServerConfig::default(), registry)?; // .add_service(MyServer::new(..))
//! let _health = server.health(); // grpc.health.v1 is always there
//! server.serve(listener, std::future::pending()).await
//! # }
//! ```
//!
//! # Layout
//! - [`stack()`]: the layers, top to bottom, each with why it is there. Start here.
//! - [`server`]: [`Server`], what a component adds its services to and
//!   serves on a TCP or unix [`Listener`] (or in-process pipes).
//! - One file per layer: [`timeout`], [`limit`] (concurrency, 429 with
//!   `retry-after`), [`metrics`] (per call: `grpc_server_handled_total`,
//!   `grpc_server_handling_seconds`), [`authn`] (x509, bearer tokens,
//!   anonymous: a `UserInfo` on the request or 401), [`audit`] (one
//!   `audit.k8s.io/v1` event per call, written off the request path),
//!   [`decode`] (an undecodable or over-size message is the caller's error);
//!   [`http`]: how the layers read and refuse a request of the HTTP face
//!   (the API server's REST face), which sits inside them as gRPC does;
//!   [`message`] caps message sizes in each service's codec; [`scrape`] is
//!   `GET /metrics`. Trace propagation is `capstan_telemetry`'s layer.
//! - [`tls`]: the rustls acceptor (serving certificate, optional client
//!   certificates against the client CA) and handshakes off the accept loop;
//!   `plaintext` answers a plaintext HTTP client there in its own protocol.
//! - [`config`]: [`ServerConfig`], the limits, with defaults for Kubernetes-sized objects.
//! - `accept`: a listener that fails for good ends [`Server::serve`] with
//!   its error (tonic alone would spin on it), so the component stops.
//!
//! # Invariants
//! - `tonic::transport::Server` is built only here (tests of other crates aside).
//! - Every server answers `grpc.health.v1` and `GET /metrics`, and neither is
//!   subject to the timeout or the concurrency limit.
//! - A streaming call is timed and limited only until it answers; its
//!   messages are never cut.
//! - [`Server::serve`] returns only at shutdown or when its listener fails
//!   for good; then with that error.
//! - A server configured to authenticate runs no handler of its services
//!   for a caller it could not authenticate; health stays open.
//! - A misconfigured door (expired or unreadable certificate, malformed
//!   token line, unwritable audit log) refuses the start, naming the file.

mod accept;
pub mod audit;
pub mod authn;
pub mod config;
pub mod decode;
pub mod error;
pub mod http;
pub mod limit;
pub mod message;
pub mod metrics;
mod plaintext;
pub mod scrape;
pub mod server;
mod stack;
pub mod timeout;
pub mod tls;
mod upgrades;

pub use audit::AuditRecord;
pub use config::{AuditConfig, AuthenticationConfig, LongRunning, Methods, ServerConfig, TlsFiles};
pub use error::ServerError;
pub use http::{CallKind, Classify, HttpCall, HttpFace};
pub use message::MessageLimits;
pub use metrics::RequestMetrics;
pub use plaintext::PLAINTEXT_ON_TLS;
pub use scrape::METRICS_PATH;
pub use server::{Listener, Server};
pub use stack::{stack, Door};
pub use tls::PeerInfo;
