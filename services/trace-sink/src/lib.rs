//! `capstan-trace-sink`: a small OpenTelemetry receiver for tests and local use.
//! Components export spans to it over OTLP/gRPC (as they would to Jaeger or an
//! OpenTelemetry Collector); it keeps the most recent traces in memory and answers
//! `GET /traces/{trace_id}` (the trace's spans, as JSON) and `GET /traces` (the
//! recent trace ids) on the same port, which is what `capstan trace ID` reads.
//!
//! Nothing listens off loopback without authentication: [`bind`] serves
//! plaintext on loopback only; [`bind_with`] serves TLS through the one server
//! stack, and with a client CA every call (an export, a `GET`) must come with
//! a client certificate that CA signed — only then may it listen on any
//! address (a cluster's components exporting from other hosts or containers).
//!
//! # Layout
//! - [`store`]: the bounded store and the JSON shapes ([`TraceRecord`], [`SpanRecord`]).
//! - `receiver`: OTLP's `TraceService`, filling the store.
//! - `face`: the HTTP routes.
//! - [`check`]: what one traced `capstan apply` must hold, for the tests that assert it.

pub mod check;
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

/// A sink bound to its address, its TLS files read, not yet serving.
pub struct BoundSink {
    listener: tokio::net::TcpListener,
    store: TraceStore,
    server: capstan_server::Server,
}

impl std::fmt::Debug for BoundSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundSink").field("listener", &self.listener).finish_non_exhaustive()
    }
}

/// Binds the sink to `addr` (plaintext), refusing an address off loopback.
pub async fn bind(addr: SocketAddr, max_traces: usize) -> Result<BoundSink, SinkError> {
    bind_with(addr, max_traces, None).await
}

/// Binds the sink to `addr`, serving TLS with `tls` when given. With a client
/// CA every caller must present a certificate it signed; without one the
/// sink authenticates nobody, so `addr` must then be on loopback.
pub async fn bind_with(
    addr: SocketAddr,
    max_traces: usize,
    tls: Option<capstan_server::TlsFiles>,
) -> Result<BoundSink, SinkError> {
    let authenticates = tls.as_ref().is_some_and(|files| files.client_ca.is_some());
    if !addr.ip().is_loopback() && !authenticates {
        return Err(SinkError::NotLoopback(addr));
    }
    if max_traces == 0 {
        return Err(SinkError::NoRoom);
    }
    let config = capstan_server::ServerConfig {
        component: Some(COMPONENT),
        tls,
        // only client certificates: no token file, no anonymous callers
        authentication: authenticates.then(capstan_server::AuthenticationConfig::default),
        ..Default::default()
    };
    // the TLS files are read here: a sink that could not serve refuses to start
    let server = capstan_server::Server::new(config, capstan_metrics::Registry::new())?;
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|source| SinkError::Bind { addr, source })?;
    Ok(BoundSink { listener, store: TraceStore::new(max_traces), server })
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
        let server = self.server.add_service(receiver::service(self.store.clone())).serve_http(face::face(self.store));
        server.serve(self.listener, shutdown).await?;
        Ok(())
    }
}
