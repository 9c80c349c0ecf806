//! Assembles the process-wide `tracing` subscriber: `RUST_LOG` filter, human-readable
//! logs on stderr, and an OpenTelemetry layer. The OpenTelemetry layer is always
//! present — even with nothing to export — because trace ids must exist for context
//! to propagate through a component that does not export spans itself.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::tonic_types::transport::{Certificate, ClientTlsConfig, Identity};
use opentelemetry_otlp::{WithExportConfig, WithTonicConfig};
use opentelemetry_sdk::trace::{BatchSpanProcessor, SdkTracerProvider, SpanProcessor};
use tracing_subscriber::filter::{EnvFilter, LevelFilter};
use tracing_subscriber::layer::SubscriberExt;

use crate::error::TelemetryError;
use crate::router::{ComponentRouter, PipelineFactory, Tap, TapActive};

/// The variable whose presence switches OTLP span export on.
pub(crate) const OTLP_ENDPOINT_VAR: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

/// The OTLP exporter's certificate variables, as the OpenTelemetry
/// specification names them: the CA that verifies the receiver, and the
/// client certificate and key the exporter authenticates with (PEM files).
pub const OTLP_CERTIFICATE_VAR: &str = "OTEL_EXPORTER_OTLP_CERTIFICATE";
/// See [`OTLP_CERTIFICATE_VAR`].
pub const OTLP_CLIENT_CERTIFICATE_VAR: &str = "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE";
/// See [`OTLP_CERTIFICATE_VAR`].
pub const OTLP_CLIENT_KEY_VAR: &str = "OTEL_EXPORTER_OTLP_CLIENT_KEY";

/// The exporter's TLS settings from its certificate variables, looked up with
/// `var` (the process environment in a component): `None` when none is set,
/// so an `https://` endpoint then gets tonic's default. opentelemetry-otlp
/// 0.33 does not read these variables itself, hence this.
pub fn otlp_tls(var: impl Fn(&str) -> Option<String>) -> Result<Option<ClientTlsConfig>, TelemetryError> {
    let read = |name: &'static str| -> Result<Option<Vec<u8>>, TelemetryError> {
        match var(name).filter(|path| !path.trim().is_empty()) {
            None => Ok(None),
            Some(path) => {
                std::fs::read(&path).map(Some).map_err(|source| TelemetryError::TlsFile { var: name, path, source })
            }
        }
    };
    let ca = read(OTLP_CERTIFICATE_VAR)?;
    let identity = match (read(OTLP_CLIENT_CERTIFICATE_VAR)?, read(OTLP_CLIENT_KEY_VAR)?) {
        (Some(cert), Some(key)) => Some(Identity::from_pem(cert, key)),
        (None, None) => None,
        (Some(_), None) => {
            return Err(TelemetryError::TlsPair { set: OTLP_CLIENT_CERTIFICATE_VAR, missing: OTLP_CLIENT_KEY_VAR })
        }
        (None, Some(_)) => {
            return Err(TelemetryError::TlsPair { set: OTLP_CLIENT_KEY_VAR, missing: OTLP_CLIENT_CERTIFICATE_VAR })
        }
    };
    if ca.is_none() && identity.is_none() {
        return Ok(None);
    }
    let mut config = ClientTlsConfig::new();
    if let Some(ca) = ca {
        config = config.ca_certificate(Certificate::from_pem(ca));
    }
    if let Some(identity) = identity {
        config = config.identity(identity);
    }
    Ok(Some(config))
}

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
            let tls = otlp_tls(|name| std::env::var(name).ok())?;
            // Refuse a bad endpoint now, not at some component's first span.
            otlp_exporter(&endpoint, tls.clone(), &runtime)
                .map_err(|source| TelemetryError::Exporter { endpoint: endpoint.clone(), source })?;
            Some(Box::new(move |resource| match otlp_exporter(&endpoint, tls.clone(), &runtime) {
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
    tls: Option<ClientTlsConfig>,
    runtime: &tokio::runtime::Handle,
) -> Result<opentelemetry_otlp::SpanExporter, opentelemetry_otlp::ExporterBuildError> {
    let _entered = runtime.enter();
    let builder = opentelemetry_otlp::SpanExporter::builder().with_tonic().with_endpoint(endpoint);
    match tls {
        Some(tls) => builder.with_tls_config(tls).build(),
        None => builder.build(),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn tls_with(vars: &[(&str, &str)]) -> Result<Option<ClientTlsConfig>, TelemetryError> {
        otlp_tls(|name| vars.iter().find(|(key, _)| *key == name).map(|(_, value)| (*value).to_owned()))
    }

    #[test]
    fn certificate_variables_are_read_or_named_in_the_error() {
        assert!(matches!(tls_with(&[]), Ok(None)));
        let missing = "/nonexistent/capstan/ca.crt";
        let error = tls_with(&[(OTLP_CERTIFICATE_VAR, missing)]).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains(OTLP_CERTIFICATE_VAR) && error.contains(missing), "{error}");
        let error = tls_with(&[(OTLP_CLIENT_CERTIFICATE_VAR, concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))])
            .err()
            .map(|e| e.to_string());
        assert!(error.is_some_and(|e| e.contains(OTLP_CLIENT_KEY_VAR)), "a certificate without its key");
        let error = tls_with(&[(OTLP_CLIENT_KEY_VAR, concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))])
            .err()
            .map(|e| e.to_string());
        assert!(error.is_some_and(|e| e.contains(OTLP_CLIENT_CERTIFICATE_VAR)), "a key without its certificate");
    }
}
