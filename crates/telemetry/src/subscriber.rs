//! Assembles the process-wide `tracing` subscriber: `RUST_LOG` filter, human-readable
//! logs on stderr, and an OpenTelemetry layer. The OpenTelemetry layer is always
//! present — even with nothing to export — because trace ids must exist for context
//! to propagate through a component that does not export spans itself.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::{BatchSpanProcessor, SdkTracerProvider, SpanProcessor};
use tracing_subscriber::filter::{EnvFilter, LevelFilter};
use tracing_subscriber::layer::SubscriberExt;

use crate::error::TelemetryError;
use crate::router::{ComponentRouter, PipelineFactory, Tap, TapActive};

/// The variable whose presence switches OTLP span export on.
pub(crate) const OTLP_ENDPOINT_VAR: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

/// How strictly to treat the environment.
#[derive(Clone, Debug)]
pub(crate) struct Options {
    /// Export over OTLP when [`OTLP_ENDPOINT_VAR`] is set (off for tests).
    pub export: bool,
    /// Reject an invalid `RUST_LOG` instead of falling back to `info`.
    pub strict_filter: bool,
    /// The filter when `RUST_LOG` is not set.
    pub default_filter: &'static str,
    /// Export here, whatever [`OTLP_ENDPOINT_VAR`] says (`capstan up --trace-sink`).
    pub endpoint: Option<String>,
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

/// The tracer provider: the sampler `OTEL_TRACES_SAMPLER` asks for (parent-based
/// always-on by default), and a [`ComponentRouter`] that exports each component's
/// spans over OTLP (batched) under its own `service.name` when export is requested
/// and an endpoint is known, and feeds the test tap.
pub(crate) fn tracer_provider(service_name: &str, options: Options) -> Result<SdkTracerProvider, TelemetryError> {
    let sampler = crate::sampler::from_env()?;
    let endpoint =
        options.endpoint.or_else(|| std::env::var(OTLP_ENDPOINT_VAR).ok()).filter(|value| !value.trim().is_empty());
    let factory: Option<PipelineFactory> = match (options.export, endpoint) {
        (true, Some(endpoint)) => {
            // The tonic exporter spawns its connection onto a runtime; a component's
            // pipeline is made on its first span, wherever that ends.
            let runtime = tokio::runtime::Handle::try_current().map_err(|_| TelemetryError::NoTokioRuntime)?;
            // Refuse a bad endpoint now, not at some component's first span.
            otlp_exporter(&endpoint, &runtime)
                .map_err(|source| TelemetryError::Exporter { endpoint: endpoint.clone(), source })?;
            Some(Box::new(move |resource| match otlp_exporter(&endpoint, &runtime) {
                Ok(exporter) => {
                    let mut processor = BatchSpanProcessor::builder(exporter).build();
                    processor.set_resource(resource);
                    Some(Box::new(processor) as Box<dyn SpanProcessor>)
                }
                Err(error) => {
                    tracing::warn!(%error, endpoint, "cannot export this component's spans");
                    None
                }
            }))
        }
        _ => None,
    };
    let tap: (Tap, TapActive) = (Box::new(crate::testing::tap), crate::testing::tapping);
    let router = ComponentRouter::new(service_name, factory, Some(tap));
    Ok(SdkTracerProvider::builder()
        .with_resource(ComponentRouter::resource_for(service_name))
        .with_sampler(sampler)
        .with_span_processor(router)
        .build())
}

fn otlp_exporter(
    endpoint: &str,
    runtime: &tokio::runtime::Handle,
) -> Result<opentelemetry_otlp::SpanExporter, opentelemetry_otlp::ExporterBuildError> {
    let _entered = runtime.enter();
    opentelemetry_otlp::SpanExporter::builder().with_tonic().with_endpoint(endpoint).build()
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
