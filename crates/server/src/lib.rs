//! The one server stack: every Capstan component (API server, kubelet,
//! scheduler, controller-manager, proxy, each runtime shim) serves its gRPC
//! services and `GET /metrics` through it, so a concern added here (the next
//! issue's TLS and authentication) reaches every server at once.
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
//! - One file per layer: [`timeout`], [`limit`] (concurrency), [`metrics`]
//!   (per call: `grpc_server_handled_total`, `grpc_server_handling_seconds`);
//!   [`message`] caps message sizes in each service's codec; [`scrape`] is
//!   `GET /metrics`. Trace propagation is `capstan_telemetry`'s layer.
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

mod accept;
pub mod config;
pub mod error;
pub mod limit;
pub mod message;
pub mod metrics;
pub mod scrape;
pub mod server;
mod stack;
pub mod timeout;

pub use config::{LongRunning, ServerConfig};
pub use error::ServerError;
pub use message::MessageLimits;
pub use metrics::RequestMetrics;
pub use scrape::METRICS_PATH;
pub use server::{Listener, Server};
pub use stack::stack;
