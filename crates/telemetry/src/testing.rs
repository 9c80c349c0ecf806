//! Test support: capture finished spans in memory so tests anywhere in the workspace
//! can assert "these spans share one trace". Every tracer provider this crate builds
//! carries a [`TestTap`] that forwards spans to an in-memory exporter once
//! [`init_for_test`] has switched it on — so capturing works no matter whether the
//! test or the component under test initialised telemetry first.

use std::sync::OnceLock;
use std::time::Duration;

use opentelemetry::trace::TraceId;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SimpleSpanProcessor, SpanData, SpanProcessor};
use tokio::sync::watch;

use crate::error::TelemetryError;
use crate::subscriber::Options;

static SINK: OnceLock<Sink> = OnceLock::new();

struct Sink {
    exporter: InMemorySpanExporter,
    processor: SimpleSpanProcessor<InMemorySpanExporter>,
    /// Bumped after every recorded span, to wake [`InMemorySpans::wait_for`].
    recorded: watch::Sender<u64>,
}

/// Every provider's [`ComponentRouter`](crate::router::ComponentRouter) hands each
/// finished span here, told its component; inert until [`init_for_test`] runs. The
/// captured copy carries its component as [`COMPONENT_KEY`](crate::COMPONENT_KEY),
/// which [`InMemorySpans::component_of`] reads.
pub(crate) fn tap(component: &str, span: &SpanData) {
    if let Some(sink) = SINK.get() {
        let mut span = span.clone();
        span.attributes.push(crate::router::component_attribute(component));
        sink.processor.on_end(span);
        sink.recorded.send_modify(|count| *count += 1);
    }
}

/// Whether [`init_for_test`] has switched the tap on.
pub(crate) fn tapping() -> bool {
    SINK.get().is_some()
}

/// Installs telemetry for a test process (if not yet installed) and starts capturing
/// finished spans. Idempotent: call it at the top of every test.
///
/// It never exports over OTLP and falls back to `info` if `RUST_LOG` is invalid.
/// Spans are captured process-wide; under `cargo test` (tests share a process)
/// select spans by trace id rather than relying on [`InMemorySpans::clear`].
///
/// # Panics
///
/// If a `tracing` subscriber not made by this crate is already installed in the
/// process, spans cannot be captured; this panics saying so.
pub fn init_for_test() -> InMemorySpans {
    let sink = SINK.get_or_init(|| {
        let exporter = InMemorySpanExporter::default();
        Sink { processor: SimpleSpanProcessor::new(exporter.clone()), exporter, recorded: watch::Sender::new(0) }
    });
    let options = Options { export: false, strict_filter: false, default_filter: "info", endpoint: None };
    match crate::init::install("capstan-test", options, true) {
        Ok(guard) if guard.is_ours() => InMemorySpans { sink },
        Ok(_) => panic!(
            "init_for_test: a tracing subscriber not made by capstan-telemetry is already \
             installed in this process, so spans cannot be captured; call init_for_test \
             before anything else installs one"
        ),
        Err(error) => panic!("init_for_test: {error}"),
    }
}

/// Handle on the spans captured since [`init_for_test`] (or the last [`clear`]).
///
/// [`clear`]: InMemorySpans::clear
#[derive(Clone, Copy)]
pub struct InMemorySpans {
    sink: &'static Sink,
}

impl std::fmt::Debug for InMemorySpans {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMemorySpans").field("recorded", &*self.sink.recorded.borrow()).finish()
    }
}

impl InMemorySpans {
    /// All finished spans, in the order they ended.
    pub fn spans(&self) -> Vec<SpanData> {
        self.sink.exporter.get_finished_spans().unwrap_or_default()
    }

    /// Finished spans with the given name (e.g. `"grpc.server"`).
    pub fn named(&self, name: &str) -> Vec<SpanData> {
        let mut spans = self.spans();
        spans.retain(|span| span.name == name);
        spans
    }

    /// Finished spans belonging to one trace.
    pub fn in_trace(&self, trace_id: TraceId) -> Vec<SpanData> {
        let mut spans = self.spans();
        spans.retain(|span| span.span_context.trace_id() == trace_id);
        spans
    }

    /// The component `span` belongs to, as its export names it (its resource's
    /// `service.name`): its own `capstan.component`, else its in-process
    /// parent's, else the process's.
    pub fn component_of(span: &SpanData) -> Option<String> {
        span.attributes.iter().rev().find(|kv| kv.key.as_str() == crate::COMPONENT_KEY).map(|kv| kv.value.to_string())
    }

    /// Forgets every captured span (process-wide).
    pub fn clear(&self) {
        self.sink.exporter.reset();
    }

    /// Waits until `done` accepts the finished spans, and returns them. Spans end
    /// asynchronously (a server span ends after its response is sent), so assert on
    /// what this returns rather than on [`spans`](Self::spans) right after a call.
    /// `deadline` only bounds a hang; it is not part of the assertion.
    pub async fn wait_for<F>(&self, deadline: Duration, mut done: F) -> Result<Vec<SpanData>, TelemetryError>
    where
        F: FnMut(&[SpanData]) -> bool,
    {
        let mut recorded = self.sink.recorded.subscribe();
        let wait = async {
            loop {
                recorded.borrow_and_update();
                let spans = self.spans();
                if done(&spans) {
                    return spans;
                }
                if recorded.changed().await.is_err() {
                    // The sender is static and never dropped; nothing more will come.
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::time::timeout(deadline, wait)
            .await
            .map_err(|_| TelemetryError::SpansNotRecorded(deadline, self.spans().len()))
    }
}
