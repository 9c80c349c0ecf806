//! Process-wide installation. `tracing` allows one global subscriber per process, but
//! Capstan sometimes runs several components in one process (`capstan up`, tests),
//! so installation is remembered here and later callers can share it.

use std::sync::{Mutex, PoisonError};

use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;

use crate::error::TelemetryError;
use crate::subscriber::{self, Options};

/// The provider behind the subscriber this crate installed, if it installed one.
static INSTALLED: Mutex<Option<SdkTracerProvider>> = Mutex::new(None);

/// Keeps telemetry flushed: dropping it pushes buffered spans to the exporter.
///
/// Dropping does not shut the provider down, because other components in the same
/// process may still be tracing through it; export simply stops with the process.
/// With OTLP export on, drop it where a Tokio worker is free to drive the export
/// (e.g. at the end of `#[tokio::main]`, not on a blocked current-thread runtime).
#[derive(Debug)]
#[must_use = "dropping the guard flushes spans; keep it alive while the component runs"]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl TelemetryGuard {
    /// Whether the installed subscriber is this crate's (not a foreign one).
    pub(crate) fn is_ours(&self) -> bool {
        self.provider.is_some()
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            if let Err(error) = provider.force_flush() {
                tracing::warn!(%error, "could not flush trace spans on shutdown");
            }
        }
    }
}

/// Installs Capstan's telemetry for this process, naming it `service_name` in traces
/// (the OpenTelemetry `service.name` resource).
///
/// Sets the global W3C TraceContext propagator and a global `tracing` subscriber:
/// `RUST_LOG` filter (default `info`), logs to stderr, and OpenTelemetry spans — sent
/// via OTLP/gRPC (batched) to `OTEL_EXPORTER_OTLP_ENDPOINT` if that is set, otherwise
/// only created so their ids can propagate. With export on, call it inside a Tokio
/// runtime. `log` records are forwarded into `tracing` unless a `log` logger exists.
///
/// Errors with [`TelemetryError::AlreadyInitialized`] if any global subscriber is
/// already set; see [`init_or_reuse`] for processes hosting several components.
pub fn init(service_name: &str) -> Result<TelemetryGuard, TelemetryError> {
    install(service_name, Options { export: true, strict_filter: true, default_filter: "info", endpoint: None }, false)
}

/// Like [`init`], with `default_filter` instead of `info` when `RUST_LOG` is not
/// set — for a command-line tool whose output is its result, not its logs
/// (`"warn,capstan=info"`).
pub fn init_with_default_filter(
    service_name: &str,
    default_filter: &'static str,
) -> Result<TelemetryGuard, TelemetryError> {
    install(service_name, Options { export: true, strict_filter: true, default_filter, endpoint: None }, false)
}

/// Like [`init_with_default_filter`], exporting spans to `endpoint`
/// (`http://127.0.0.1:4317`) whatever `OTEL_EXPORTER_OTLP_ENDPOINT` says: for a
/// process that learns where its spans go only when it starts (`capstan up
/// --trace-sink` starts the receiver itself), without touching the environment
/// other threads read.
pub fn init_with_endpoint(
    service_name: &str,
    default_filter: &'static str,
    endpoint: &str,
) -> Result<TelemetryGuard, TelemetryError> {
    let options = Options { export: true, strict_filter: true, default_filter, endpoint: Some(endpoint.to_owned()) };
    install(service_name, options, false)
}

/// Like [`init`], but when a subscriber is already installed it returns a guard for
/// that installation instead of failing. The first caller's `service_name` then
/// names every span of the process (so `capstan up` should pass `"capstan"` first).
/// If the existing subscriber is not this crate's, spans still carry whatever
/// context it provides, and the guard does nothing.
pub fn init_or_reuse(service_name: &str) -> Result<TelemetryGuard, TelemetryError> {
    install(service_name, Options { export: true, strict_filter: true, default_filter: "info", endpoint: None }, true)
}

pub(crate) fn install(service_name: &str, options: Options, reuse: bool) -> Result<TelemetryGuard, TelemetryError> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let already = |installed: Option<&SdkTracerProvider>| {
        if reuse {
            Ok(TelemetryGuard { provider: installed.cloned() })
        } else {
            Err(TelemetryError::AlreadyInitialized)
        }
    };

    let mut installed = INSTALLED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(provider) = installed.as_ref() {
        return already(Some(provider));
    }
    if tracing::dispatcher::has_been_set() {
        return already(None);
    }

    let filter = subscriber::env_filter(options.strict_filter, options.default_filter)?;
    let provider = subscriber::tracer_provider(service_name, options)?;
    if tracing::subscriber::set_global_default(subscriber::build(filter, &provider)).is_err() {
        // Someone outside this crate installed a subscriber in the meantime.
        let _ = provider.shutdown();
        return already(None);
    }
    // Fails only if a `log` logger exists already; its owner then keeps `log` records.
    let _ = tracing_log::LogTracer::init();
    opentelemetry::global::set_tracer_provider(provider.clone());
    *installed = Some(provider.clone());
    Ok(TelemetryGuard { provider: Some(provider) })
}
