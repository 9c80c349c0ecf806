//! One process, several services in traces. `capstan up` (and many tests) run the
//! API server, scheduler, controller-manager and kubelet in one process, with one
//! tracer provider — and OpenTelemetry gives a provider one resource, so every span
//! would be `service.name = capstan`. The [`ComponentRouter`] gives each span its
//! component's resource instead: it decides a span's component when the span starts
//! (its [`COMPONENT_KEY`] attribute, else its in-process parent's component, else the
//! process's own name) and, when it ends, hands it to that component's own export
//! pipeline, whose resource names the component.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use opentelemetry::trace::{SpanId, TraceContextExt};
use opentelemetry::{Context, KeyValue, Value};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
use opentelemetry_sdk::Resource;

use crate::propagation::COMPONENT_KEY;

/// The resource attribute telling two copies of one component apart.
const SERVICE_INSTANCE_ID: &str = "service.instance.id";

/// Makes the export pipeline of one component, given the resource its spans carry
/// (`service.name` = the component). `None` when nothing is exported.
pub(crate) type PipelineFactory = Box<dyn Fn(&Resource) -> Option<Box<dyn SpanProcessor>> + Send + Sync>;

/// One component's export pipeline, made once; `None` when nothing is exported.
type Pipeline = Option<Arc<dyn SpanProcessor>>;

/// Where a finished span goes besides its component's pipeline (the test tap), told
/// the component the span belongs to.
pub(crate) type Tap = Box<dyn Fn(&str, &SpanData) + Send + Sync>;

/// Whether the tap wants spans now (it is switched on later, by a test).
pub(crate) type TapActive = fn() -> bool;

/// The span processor that routes each span to its component's pipeline.
pub(crate) struct ComponentRouter {
    /// The process's own service name: a span with no component, and no parent with one.
    own: Arc<str>,
    factory: PipelineFactory,
    /// Whether `factory` makes pipelines at all: without them, and with the tap
    /// off, spans need no component and the router does nothing.
    exports: bool,
    tap: Option<(Tap, TapActive)>,
    /// The component of every span started and not yet ended.
    live: Mutex<HashMap<SpanId, Arc<str>>>,
    /// Each component's pipeline, made on its first span.
    pipelines: Mutex<HashMap<Arc<str>, Pipeline>>,
}

impl std::fmt::Debug for ComponentRouter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComponentRouter").field("own", &self.own).finish_non_exhaustive()
    }
}

impl ComponentRouter {
    /// Routes to the pipelines `factory` makes, if any (`None`: nothing is exported).
    pub(crate) fn new(own: &str, factory: Option<PipelineFactory>, tap: Option<(Tap, TapActive)>) -> Self {
        let exports = factory.is_some();
        ComponentRouter {
            own: Arc::from(own),
            factory: factory.unwrap_or_else(|| Box::new(|_| None)),
            exports,
            tap,
            live: Mutex::new(HashMap::new()),
            pipelines: Mutex::new(HashMap::new()),
        }
    }

    /// The resource a component's spans carry: the SDK's defaults (and
    /// `OTEL_RESOURCE_ATTRIBUTES`), its name, and an instance id of its own.
    pub(crate) fn resource_for(component: &str) -> Resource {
        Resource::builder()
            .with_service_name(component.to_owned())
            .with_attribute(KeyValue::new(SERVICE_INSTANCE_ID, uuid::Uuid::new_v4().to_string()))
            .build()
    }

    fn pipeline(&self, component: &Arc<str>) -> Pipeline {
        let mut pipelines = self.pipelines.lock().unwrap_or_else(PoisonError::into_inner);
        pipelines
            .entry(component.clone())
            .or_insert_with(|| (self.factory)(&Self::resource_for(component)).map(Arc::from))
            .clone()
    }

    fn all_pipelines(&self) -> Vec<Arc<dyn SpanProcessor>> {
        let pipelines = self.pipelines.lock().unwrap_or_else(PoisonError::into_inner);
        pipelines.values().flatten().cloned().collect()
    }

    fn active(&self) -> bool {
        self.exports || self.tap.as_ref().is_some_and(|(_, active)| active())
    }

    fn live(&self) -> std::sync::MutexGuard<'_, HashMap<SpanId, Arc<str>>> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The component a span names itself, from its attributes.
fn own_component(attributes: &[KeyValue]) -> Option<Arc<str>> {
    attributes.iter().find(|kv| kv.key.as_str() == COMPONENT_KEY).map(|kv| Arc::from(kv.value.as_str().as_ref()))
}

impl SpanProcessor for ComponentRouter {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        use opentelemetry::trace::Span as _;
        if !self.active() {
            return;
        }
        let Some(data) = span.exported_data() else { return };
        let component = own_component(&data.attributes).or_else(|| {
            let parent = cx.span();
            let parent = parent.span_context();
            // a remote parent (another process's, or a gRPC peer's in this one)
            // says nothing about this component
            (parent.is_valid() && !parent.is_remote()).then(|| self.live().get(&parent.span_id()).cloned()).flatten()
        });
        let component = component.unwrap_or_else(|| self.own.clone());
        self.live().insert(span.span_context().span_id(), component);
    }

    fn on_end(&self, mut span: SpanData) {
        // (the tap, once on, stays on: no span started active ends inactive)
        if !self.active() {
            return;
        }
        let started = self.live().remove(&span.span_context.span_id());
        let component = started.or_else(|| own_component(&span.attributes)).unwrap_or_else(|| self.own.clone());
        span.attributes.retain(|kv| kv.key.as_str() != COMPONENT_KEY);
        if let Some((tap, _)) = &self.tap {
            tap(&component, &span);
        }
        if let Some(pipeline) = self.pipeline(&component) {
            pipeline.on_end(span);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        collect(self.all_pipelines().iter().map(|pipeline| pipeline.force_flush()))
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        collect(self.all_pipelines().iter().map(|pipeline| pipeline.shutdown_with_timeout(timeout)))
    }
}

/// The first failure of several, with how many failed.
fn collect(results: impl Iterator<Item = OTelSdkResult>) -> OTelSdkResult {
    let failures: Vec<String> = results.filter_map(|result| result.err().map(|e| e.to_string())).collect();
    match failures.as_slice() {
        [] => Ok(()),
        [only] => Err(OTelSdkError::InternalFailure(only.clone())),
        [first, ..] => Err(OTelSdkError::InternalFailure(format!("{first} (and {} more)", failures.len() - 1))),
    }
}

/// The value a span records for [`COMPONENT_KEY`], for a tap that puts it back.
pub(crate) fn component_attribute(component: &str) -> KeyValue {
    KeyValue::new(COMPONENT_KEY, Value::from(component.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{Tracer as _, TracerProvider as _};
    use opentelemetry_sdk::trace::{SdkTracerProvider, SimpleSpanProcessor, SpanExporter};

    /// An exported span: the `service.name` of the pipeline that exported
    /// it, its name, its attributes' keys.
    type Exported = (String, String, Vec<String>);

    /// Every exported span.
    #[derive(Clone, Debug, Default)]
    struct Recorder(Arc<Mutex<Vec<Exported>>>);

    #[derive(Debug)]
    struct RecordingExporter {
        recorder: Recorder,
        service: String,
    }

    impl SpanExporter for RecordingExporter {
        async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
            let mut recorded = self.recorder.0.lock().unwrap_or_else(PoisonError::into_inner);
            for span in batch {
                let keys = span.attributes.iter().map(|kv| kv.key.to_string()).collect();
                recorded.push((self.service.clone(), span.name.to_string(), keys));
            }
            Ok(())
        }

        fn set_resource(&mut self, resource: &Resource) {
            self.service = resource
                .get(&opentelemetry::Key::from_static_str("service.name"))
                .map(|v| v.to_string())
                .unwrap_or_default();
        }
    }

    fn provider(recorder: &Recorder) -> SdkTracerProvider {
        let recorder = recorder.clone();
        let factory: PipelineFactory = Box::new(move |resource| {
            let mut processor =
                SimpleSpanProcessor::new(RecordingExporter { recorder: recorder.clone(), service: String::new() });
            processor.set_resource(resource);
            Some(Box::new(processor) as Box<dyn SpanProcessor>)
        });
        SdkTracerProvider::builder().with_span_processor(ComponentRouter::new("capstan", Some(factory), None)).build()
    }

    fn exported(recorder: &Recorder) -> Vec<(String, String)> {
        let recorded = recorder.0.lock().unwrap_or_else(PoisonError::into_inner);
        recorded.iter().map(|(service, name, _)| (service.clone(), name.clone())).collect()
    }

    #[test]
    fn spans_go_to_their_own_component_else_their_parents_else_the_process() {
        let recorder = Recorder::default();
        let provider = provider(&recorder);
        let tracer = provider.tracer("test");

        let root = tracer.start("cli root");
        let root_cx = Context::current_with_span(root);
        let kubelet = tracer
            .span_builder("kubelet sync")
            .with_attributes([KeyValue::new(COMPONENT_KEY, "capstan-kubelet")])
            .start_with_context(&tracer, &root_cx);
        let kubelet_cx = root_cx.with_span(kubelet);
        let runtime_call = tracer.start_with_context("RunPodSandbox", &kubelet_cx);
        drop(runtime_call);
        // a remote parent (a gRPC peer in this process) says nothing of the component
        let remote = opentelemetry::trace::SpanContext::new(
            kubelet_cx.span().span_context().trace_id(),
            SpanId::from(7),
            opentelemetry::trace::TraceFlags::SAMPLED,
            true,
            Default::default(),
        );
        let server = tracer.start_with_context("grpc.server", &Context::new().with_remote_span_context(remote));
        drop(server);
        drop(kubelet_cx);
        drop(root_cx);

        assert_eq!(
            exported(&recorder),
            [
                ("capstan-kubelet".to_owned(), "RunPodSandbox".to_owned()),
                ("capstan".to_owned(), "grpc.server".to_owned()),
                ("capstan-kubelet".to_owned(), "kubelet sync".to_owned()),
                ("capstan".to_owned(), "cli root".to_owned()),
            ]
        );
        let recorded = recorder.0.lock().unwrap_or_else(PoisonError::into_inner);
        assert!(
            recorded.iter().all(|(_, _, keys)| !keys.iter().any(|key| key == COMPONENT_KEY)),
            "the component attribute is stripped on export: {recorded:?}"
        );
    }

    #[test]
    fn each_component_has_one_pipeline_and_nothing_stays_behind() {
        let recorder = Recorder::default();
        let made = Arc::new(Mutex::new(Vec::new()));
        let made_by_factory = made.clone();
        let factory: PipelineFactory = Box::new(move |resource| {
            made_by_factory.lock().unwrap_or_else(PoisonError::into_inner).push(
                resource
                    .get(&opentelemetry::Key::from_static_str(SERVICE_INSTANCE_ID))
                    .map(|v| v.to_string())
                    .unwrap_or_default(),
            );
            let mut processor =
                SimpleSpanProcessor::new(RecordingExporter { recorder: recorder.clone(), service: String::new() });
            processor.set_resource(resource);
            Some(Box::new(processor) as Box<dyn SpanProcessor>)
        });
        let router = Arc::new(ComponentRouter::new("capstan", Some(factory), None));
        let provider = SdkTracerProvider::builder().with_span_processor(SharedRouter(router.clone())).build();
        let tracer = provider.tracer("test");
        for component in ["capstan-scheduler", "capstan-scheduler", "capstan-kubelet"] {
            let span =
                tracer.span_builder("work").with_attributes([KeyValue::new(COMPONENT_KEY, component)]).start(&tracer);
            drop(span);
        }
        let made = made.lock().unwrap_or_else(PoisonError::into_inner);
        assert_eq!(made.len(), 2, "one pipeline per component: {made:?}");
        assert_ne!(made[0], made[1], "each component is an instance of its own");
        assert!(made.iter().all(|id| uuid::Uuid::parse_str(id).is_ok()), "instance ids are uuids: {made:?}");
        assert!(router.live().is_empty(), "ended spans are forgotten");
    }

    #[test]
    fn with_nothing_to_export_and_no_tap_the_router_keeps_nothing() {
        let router = Arc::new(ComponentRouter::new("capstan", None, Some((Box::new(|_, _| {}), || false))));
        let provider = SdkTracerProvider::builder().with_span_processor(SharedRouter(router.clone())).build();
        let tracer = provider.tracer("test");
        let span = tracer.start("work");
        assert!(router.live().is_empty(), "no component is worked out for nobody");
        drop(span);
        assert!(router.pipelines.lock().unwrap_or_else(PoisonError::into_inner).is_empty());
    }

    /// Lets a test keep a handle on the router it gives the provider.
    #[derive(Debug)]
    struct SharedRouter(Arc<ComponentRouter>);

    impl SpanProcessor for SharedRouter {
        fn on_start(&self, span: &mut Span, cx: &Context) {
            self.0.on_start(span, cx);
        }
        fn on_end(&self, span: SpanData) {
            self.0.on_end(span);
        }
        fn force_flush(&self) -> OTelSdkResult {
            self.0.force_flush()
        }
        fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
            self.0.shutdown_with_timeout(timeout)
        }
    }
}
