//! `capstan-trace-sink`: a small OpenTelemetry receiver for tests and local use.
//! Components export spans to it over OTLP/gRPC (as they would to Jaeger or an
//! OpenTelemetry Collector); it keeps the most recent traces in memory and answers
//! `GET /traces/{trace_id}` (the trace's spans, as JSON) and `GET /traces` (the
//! recent trace ids) on the same port, which is what `capstan trace ID` reads.
//!
//! It has no authentication, so it listens on loopback only ([`bind`] refuses any
//! other address).
//!
//! # Layout
//! - [`store`]: the bounded store and the JSON shapes ([`TraceRecord`], [`SpanRecord`]).
//! - `receiver`: OTLP's `TraceService`, filling the store.
//! - `face`: the HTTP routes.

mod error;
mod face;
mod receiver;
pub mod store;

use std::future::Future;
use std::net::SocketAddr;

pub use error::SinkError;
pub use store::{LinkRecord, SpanRecord, TraceRecord, TraceStore, TraceSummary};

/// The component name of the sink's own server spans.
pub const COMPONENT: &str = "capstan-trace-sink";
/// The OTLP/gRPC port, the sink's default (OpenTelemetry's too).
pub const DEFAULT_PORT: u16 = 4317;
/// How many traces the sink keeps by default.
pub const DEFAULT_MAX_TRACES: usize = 1000;

/// A sink bound to its loopback address, not yet serving.
#[derive(Debug)]
pub struct BoundSink {
    listener: tokio::net::TcpListener,
    store: TraceStore,
}

/// Binds the sink to `addr`, refusing an address off loopback.
pub async fn bind(addr: SocketAddr, max_traces: usize) -> Result<BoundSink, SinkError> {
    if !addr.ip().is_loopback() {
        return Err(SinkError::NotLoopback(addr));
    }
    if max_traces == 0 {
        return Err(SinkError::NoRoom);
    }
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|source| SinkError::Bind { addr, source })?;
    Ok(BoundSink { listener, store: TraceStore::new(max_traces) })
}

impl BoundSink {
    /// Where the sink listens (the port the OS chose for port 0).
    pub fn local_addr(&self) -> Result<SocketAddr, SinkError> {
        self.listener
            .local_addr()
            .map_err(|source| SinkError::Bind { addr: SocketAddr::from(([127, 0, 0, 1], 0)), source })
    }

    /// The store the sink fills (to read traces in-process).
    pub fn store(&self) -> TraceStore {
        self.store.clone()
    }

    /// Serves OTLP/gRPC and the HTTP face until `shutdown` completes.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) -> Result<(), SinkError> {
        let config = capstan_server::ServerConfig { component: Some(COMPONENT), ..Default::default() };
        let server = capstan_server::Server::with_new_registry(config)
            .add_service(receiver::service(self.store.clone()))
            .serve_http(face::face(self.store));
        server.serve(self.listener, shutdown).await?;
        Ok(())
    }
}
