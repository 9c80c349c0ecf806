//! Assembles the process-wide `tracing` subscriber: `RUST_LOG` filter, human-readable
//! logs on stderr, and an OpenTelemetry layer. The OpenTelemetry layer is always
//! present — even with nothing to export — because trace ids must exist for context
//! to propagate through a component that does not export spans itself.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use tracing_subscriber::filter::{EnvFilter, LevelFilter};
use tracing_subscriber::layer::SubscriberExt;

use crate::error::TelemetryError;

/// The variable whose presence switches OTLP span export on.
pub(crate) const OTLP_ENDPOINT_VAR: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

/// How strictly to treat the environment.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Options {
    /// Export over OTLP when [`OTLP_ENDPOINT_VAR`] is set (off for tests).
    pub export: bool,
    /// Reject an invalid `RUST_LOG` instead of falling back to `info`.
    pub strict_filter: bool,
    /// The filter when `RUST_LOG` is not set.
    pub default_filter: &'static str,
}

/// `RUST_LOG` (else `default`), with this crate's call spans always enabled: without
/// them there is no trace context to hand from client to server.
pub(crate) fn env_filter(strict: bool, default: &str) -> Result<EnvFilter, TelemetryError> {
    let filter = if std::env::var_os(EnvFilter::DEFAULT_ENV).is_none() {
        EnvFilter::new(default)
    } else {
        match EnvFilter::builder().with_default_directive(LevelFilter::INFO.into()).from_env() {
            Ok(filter) => filter,
            Err(error) if strict => return Err(error.into()),
            Err(_) => EnvFilter::new(default),
        }
    };
    Ok(match "capstan_telemetry=info".parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    })
}

/// The tracer provider: always-on sampling by default (the SDK's parent-based
/// sampler), OTLP batch export when requested and configured, and the test tap.
pub(crate) fn tracer_provider(service_name: &str, options: Options) -> Result<SdkTracerProvider, TelemetryError> {
    let resource = Resource::builder().with_service_name(service_name.to_owned()).build();
    let mut builder = SdkTracerProvider::builder().with_resource(resource).with_span_processor(crate::testing::TestTap);
    let endpoint = std::env::var(OTLP_ENDPOINT_VAR).ok().filter(|value| !value.trim().is_empty());
    if let (true, Some(endpoint)) = (options.export, endpoint) {
        // The tonic exporter spawns its connection onto the current runtime.
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(TelemetryError::NoTokioRuntime);
        }
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .build()
            .map_err(|source| TelemetryError::Exporter { endpoint, source })?;
        builder = builder.with_batch_exporter(exporter);
    }
    Ok(builder.build())
}

/// The full subscriber, ready to become the global default.
pub(crate) fn build(
    filter: EnvFilter,
    provider: &SdkTracerProvider,
) -> impl tracing::Subscriber + Send + Sync + 'static {
    let otel = tracing_opentelemetry::layer().with_tracer(provider.tracer("capstan"));
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    tracing_subscriber::registry().with(filter).with(fmt).with(otel)
}
