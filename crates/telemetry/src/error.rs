//! The one error type of this crate. Every variant says what went wrong and what the
//! operator can do about it, because these errors surface at process start-up.

use std::time::Duration;

/// Why telemetry could not be set up (or why a test's span wait gave up).
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// A global `tracing` subscriber exists already (installed by an earlier `init`
    /// or by some other library).
    #[error(
        "a global tracing subscriber is already installed in this process; call \
         capstan_telemetry::init once per process, or use init_or_reuse when several \
         components share one process"
    )]
    AlreadyInitialized,

    /// `RUST_LOG` could not be parsed.
    #[error(
        "RUST_LOG is not a valid filter ({0}); use directives such as \
         `info` or `info,capstan_scheduler=debug`"
    )]
    InvalidFilter(#[from] tracing_subscriber::filter::FromEnvError),

    /// OTLP/gRPC export needs a Tokio runtime to drive its connection.
    #[error(
        "OTEL_EXPORTER_OTLP_ENDPOINT is set but no Tokio runtime is running; call \
         capstan_telemetry::init from inside the runtime (e.g. in a #[tokio::main] fn), \
         or unset the variable to disable span export"
    )]
    NoTokioRuntime,

    /// The OTLP exporter rejected its configuration.
    #[error(
        "cannot build the OTLP span exporter for endpoint {endpoint:?}: {source}; check \
         the endpoint URL (e.g. http://localhost:4317)"
    )]
    Exporter {
        /// The endpoint (from OTEL_EXPORTER_OTLP_ENDPOINT, or given by the caller).
        endpoint: String,
        /// The exporter's own error.
        #[source]
        source: opentelemetry_otlp::ExporterBuildError,
    },

    /// A certificate variable of the OTLP exporter names a file that cannot be read.
    #[error("{var}={path:?}: cannot read the file: {source}")]
    TlsFile {
        /// The variable (`OTEL_EXPORTER_OTLP_CERTIFICATE`, …).
        var: &'static str,
        /// The file it names.
        path: String,
        #[source]
        source: std::io::Error,
    },

    /// One of the client certificate and its key is set without the other.
    #[error(
        "{set} is set but {missing} is not: a client certificate needs its key (and a key its \
         certificate); set both, or neither"
    )]
    TlsPair {
        /// The variable that is set.
        set: &'static str,
        /// The one missing.
        missing: &'static str,
    },

    /// `OTEL_TRACES_SAMPLER` names no sampler this SDK has.
    #[error(
        "OTEL_TRACES_SAMPLER={name:?} is not a sampler this build supports; use always_on, \
         always_off, traceidratio, parentbased_always_on (the default), \
         parentbased_always_off or parentbased_traceidratio"
    )]
    InvalidSampler {
        /// The variable's value.
        name: String,
    },

    /// `OTEL_TRACES_SAMPLER_ARG` is not a ratio.
    #[error(
        "OTEL_TRACES_SAMPLER_ARG={arg:?} is not a sampling ratio; give a number from 0 \
         (keep no trace) to 1 (keep every trace), such as 0.25"
    )]
    InvalidSamplerArg {
        /// The variable's value.
        arg: String,
    },

    /// [`InMemorySpans::wait_for`](crate::InMemorySpans::wait_for) saw no matching
    /// set of spans before its deadline.
    #[error(
        "the expected spans did not arrive within {0:?}; {1} span(s) were recorded — \
         check that the code under test runs inside the traced layers"
    )]
    SpansNotRecorded(Duration, usize),
}
