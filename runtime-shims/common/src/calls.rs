//! The calls a shim makes to its engine (Docker Engine, containerd), seen from
//! outside: one client span per call, a child of the `grpc.server` span of the
//! runtime call that made it, and one latency histogram for every shim, so a
//! trace runs from the kubelet's sync down to the engine and a dashboard reads
//! both shims under one name.
//!
//! Docker's calls go through bollard, which has no middleware: each call site
//! wraps its future in [`EngineCalls::call`]. containerd's are gRPC, traced by
//! `capstan_telemetry`'s client layer; its shim adds the runtime's attributes to
//! that span ([`EngineCalls::mark_current`]) and times the call
//! ([`EngineCalls::observe`]).

use std::future::Future;
use std::time::Instant;

use capstan_metrics::{Family, Histogram, MetricsError, Registry, DEFAULT_BUCKETS};
use capstan_telemetry::OpenTelemetrySpanExt;
use tracing::field::Empty;
use tracing::{Instrument, Span};

/// The histogram of engine calls, by runtime, method and result.
pub const CALL_DURATION: &str = "capstan_shim_runtime_call_duration_seconds";

type CallLabels = Vec<(&'static str, String)>;

/// How an engine call ended, as the `result` label says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallResult {
    Ok,
    /// The engine has no such object (often expected: an inspect before a pull).
    NotFound,
    Error,
}

impl CallResult {
    pub fn as_str(self) -> &'static str {
        match self {
            CallResult::Ok => "ok",
            CallResult::NotFound => "not_found",
            CallResult::Error => "error",
        }
    }
}

/// The pod a call is for, when the shim knows it.
#[derive(Clone, Copy, Debug, Default)]
pub struct PodRef<'a> {
    pub name: &'a str,
    pub namespace: &'a str,
    pub uid: &'a str,
}

/// What an engine call acts on: recorded on its span where known.
#[derive(Clone, Copy, Debug, Default)]
pub struct CallTarget<'a> {
    pub container_id: Option<&'a str>,
    pub pod: Option<PodRef<'a>>,
}

impl<'a> CallTarget<'a> {
    /// A call on no one object (a list, a version).
    pub fn none() -> CallTarget<'a> {
        CallTarget::default()
    }

    /// A call on container (or sandbox) `id`.
    pub fn container(id: &'a str) -> CallTarget<'a> {
        CallTarget { container_id: Some(id), pod: None }
    }

    /// A call for `pod`, whose container has no id yet (a create).
    pub fn pod(pod: PodRef<'a>) -> CallTarget<'a> {
        CallTarget { container_id: None, pod: Some(pod) }
    }

    fn record(&self, span: &Span) {
        if let Some(id) = self.container_id.filter(|id| !id.is_empty()) {
            span.record("container.id", id);
        }
        if let Some(pod) = self.pod {
            for (field, value) in
                [("k8s.pod.name", pod.name), ("k8s.namespace.name", pod.namespace), ("k8s.pod.uid", pod.uid)]
            {
                if !value.is_empty() {
                    span.record(field, value);
                }
            }
        }
    }
}

/// One shim's view of its engine: which runtime it is, where the engine is, and
/// the histogram its calls are timed in. Cheap to clone.
#[derive(Clone, Debug)]
pub struct EngineCalls {
    runtime: &'static str,
    server_address: String,
    duration: Family<CallLabels, Histogram>,
}

impl EngineCalls {
    /// Registers [`CALL_DURATION`] in `registry` for `runtime` (`docker`,
    /// `containerd`) reached at `server_address` (its socket).
    pub fn register(
        registry: &Registry,
        runtime: &'static str,
        server_address: &str,
    ) -> Result<EngineCalls, MetricsError> {
        let duration = registry.register(
            CALL_DURATION,
            "Latency in seconds of the calls a runtime shim makes to its container engine, by runtime, \
             method and result.",
            Family::<CallLabels, Histogram>::new_with_constructor(|| Histogram::new(DEFAULT_BUCKETS)),
        )?;
        Ok(EngineCalls { runtime, server_address: server_address.to_string(), duration })
    }

    pub fn runtime(&self) -> &'static str {
        self.runtime
    }

    /// Counts one call of `method` that took `seconds` and ended as `result`.
    pub fn observe(&self, method: &str, result: CallResult, seconds: f64) {
        let labels = vec![
            ("runtime", self.runtime.to_string()),
            ("method", method.to_string()),
            ("result", result.as_str().to_string()),
        ];
        self.duration.get_or_create(&labels).observe(seconds);
    }

    /// The client span of one call of `method` (`<runtime>.<method>`), a child
    /// of the current span, not yet entered.
    pub fn span(&self, method: &str, target: CallTarget<'_>) -> Span {
        let span = tracing::info_span!(
            "engine.call",
            otel.name = format!("{}.{method}", self.runtime),
            otel.kind = "client",
            otel.status_code = Empty,
            container.runtime = self.runtime,
            peer.service = self.runtime,
            server.address = %self.server_address,
            container.id = Empty,
            k8s.pod.name = Empty,
            k8s.namespace.name = Empty,
            k8s.pod.uid = Empty,
        );
        target.record(&span);
        span
    }

    /// Runs one engine call in its span ([`EngineCalls::span`]) and times it;
    /// `result_of` says how a failure counts.
    pub async fn call<T, E, F>(
        &self,
        method: &'static str,
        target: CallTarget<'_>,
        result_of: impl FnOnce(&E) -> CallResult,
        call: F,
    ) -> Result<T, E>
    where
        F: Future<Output = Result<T, E>>,
    {
        self.call_in(self.span(method, target), method, result_of, call).await
    }

    /// As [`EngineCalls::call`], in a span the caller made with
    /// [`EngineCalls::span`] and keeps (to record a created container's id on it).
    pub async fn call_in<T, E, F>(
        &self,
        span: Span,
        method: &'static str,
        result_of: impl FnOnce(&E) -> CallResult,
        call: F,
    ) -> Result<T, E>
    where
        F: Future<Output = Result<T, E>>,
    {
        let started = Instant::now();
        let outcome = call.instrument(span.clone()).await;
        let result = match &outcome {
            Ok(_) => CallResult::Ok,
            Err(error) => result_of(error),
        };
        if result != CallResult::Ok {
            span.record("otel.status_code", "error");
        }
        self.observe(method, result, started.elapsed().as_secs_f64());
        outcome
    }

    /// Gives the current span (a gRPC client span opened by the engine
    /// channel's trace layer) this runtime's attributes, and the id of the
    /// container the call acts on when it names one.
    pub fn mark_current(&self, container_id: Option<&str>) {
        let span = Span::current();
        span.set_attribute("container.runtime", self.runtime);
        span.set_attribute("peer.service", self.runtime);
        span.set_attribute("server.address", self.server_address.clone());
        if let Some(id) = container_id.filter(|id| !id.is_empty()) {
            span.set_attribute("container.id", id.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_call_is_timed_by_runtime_method_and_result() -> Result<(), MetricsError> {
        let registry = Registry::new();
        let calls = EngineCalls::register(&registry, "docker", "unix:///var/run/docker.sock")?;
        let ok: Result<u8, &str> =
            calls.call("ContainerStart", CallTarget::container("c1"), |_| CallResult::Error, async { Ok(1) }).await;
        assert_eq!(ok, Ok(1));
        let missing: Result<u8, &str> =
            calls.call("ContainerInspect", CallTarget::none(), |_| CallResult::NotFound, async { Err("404") }).await;
        assert_eq!(missing, Err("404"));
        let scraped = registry.render()?;
        for series in [
            r#"capstan_shim_runtime_call_duration_seconds_count{runtime="docker",method="ContainerStart",result="ok"} 1"#,
            r#"capstan_shim_runtime_call_duration_seconds_count{runtime="docker",method="ContainerInspect",result="not_found"} 1"#,
        ] {
            assert!(scraped.contains(series), "{series} in:\n{scraped}");
        }
        Ok(())
    }

    #[test]
    fn a_second_shim_in_one_registry_is_refused() -> Result<(), MetricsError> {
        let registry = Registry::new();
        EngineCalls::register(&registry, "docker", "a")?;
        assert!(matches!(EngineCalls::register(&registry, "containerd", "b"), Err(MetricsError::Duplicate(_))));
        Ok(())
    }
}
