//! Issue 15's shim half on containerd: a runtime call made inside a trace reaches
//! the shim as a `grpc.server` span of that trace, and every containerd call the
//! shim makes for it is a `grpc.client` span under it, marked
//! `container.runtime=containerd` (with `container.id` where the call names one),
//! and timed in `capstan_shim_runtime_call_duration_seconds` on the shim's
//! `/metrics`. Spans are captured in-process; waits are bounded.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use capstan_proto::runtime::v1::{
    CreateContainerRequest, ImageSpec, PullImageRequest, RunPodSandboxRequest, StartContainerRequest,
};
use capstan_runtime_conformance::fixtures::{container_config, pod_config};
use capstan_telemetry::{OpenTelemetrySpanExt, SpanData};
use capstan_test_support::{metric_sample, probe_server, ServerAddr};
use support::{node_name, require_containerd, Shim, TEST_IMAGE};
use tracing::Instrument;

const WAIT: std::time::Duration = std::time::Duration::from_secs(60);

fn attribute(span: &SpanData, key: &str) -> Option<String> {
    span.attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv| kv.value.to_string())
}

fn server_span<'a>(trace: &'a [SpanData], method: &str) -> Option<&'a SpanData> {
    trace.iter().find(|s| s.name == "grpc.server" && attribute(s, "rpc.method").as_deref() == Some(method))
}

/// The containerd calls under the shim's span of runtime call `method`.
fn containerd_calls<'a>(trace: &'a [SpanData], method: &str) -> Vec<&'a SpanData> {
    let Some(server) = server_span(trace, method) else { return Vec::new() };
    let ids: HashMap<String, &SpanData> = trace.iter().map(|s| (s.span_context.span_id().to_string(), s)).collect();
    let under = |span: &SpanData| {
        let mut parent = span.parent_span_id;
        while let Some(up) = ids.get(&parent.to_string()) {
            if up.span_context.span_id() == server.span_context.span_id() {
                return true;
            }
            parent = up.parent_span_id;
        }
        false
    };
    trace
        .iter()
        .filter(|s| s.name == "grpc.client" && attribute(s, "container.runtime").as_deref() == Some("containerd"))
        .filter(|s| under(s))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shims_containerd_calls_are_children_of_its_runtime_calls_and_are_timed() {
    let spans = capstan_telemetry::init_for_test();
    let Some(()) = require_containerd() else { return };
    support::ensure_images().await;
    let node = node_name("trace");
    let _sweeper = support::sweeper(&node);
    let dir = tempfile::tempdir().expect("tempdir");
    let shim = Shim::start(&node, dir.path()).await;
    let clients = shim.clients().await;

    let root = tracing::info_span!("test.calls");
    let mut recorded = BTreeMap::new();
    capstan_telemetry::inject_context_into_map(&root.context(), &mut recorded);
    let trace_id = capstan_telemetry::trace_id_of(&recorded).expect("the test's span has a trace");
    let container_id = async {
        let config = pod_config("traced");
        let run = RunPodSandboxRequest { config: Some(config.clone()) };
        let sandbox = clients.runtime.clone().run_pod_sandbox(run).await.expect("RunPodSandbox").into_inner();
        let pull = PullImageRequest { image: Some(ImageSpec { image: TEST_IMAGE.into() }), ..Default::default() };
        clients.images.clone().pull_image(pull).await.expect("PullImage");
        let create = CreateContainerRequest {
            pod_sandbox_id: sandbox.pod_sandbox_id,
            config: Some(container_config("web", TEST_IMAGE, &["sleep", "3600"])),
            sandbox_config: Some(config),
        };
        let id = clients.runtime.clone().create_container(create).await.expect("CreateContainer").into_inner();
        let start = StartContainerRequest { container_id: id.container_id.clone() };
        clients.runtime.clone().start_container(start).await.expect("StartContainer");
        id.container_id
    }
    .instrument(root)
    .await;

    let methods = ["RunPodSandbox", "PullImage", "CreateContainer", "StartContainer"];
    let in_trace = |s: &SpanData| s.span_context.trace_id().to_string() == trace_id;
    let done = spans
        .wait_for(WAIT, |all| {
            let trace: Vec<SpanData> = all.iter().filter(|s| in_trace(s)).cloned().collect();
            methods.iter().all(|m| !containerd_calls(&trace, m).is_empty())
        })
        .await
        .expect("each runtime call's containerd calls are traced under it");
    let trace: Vec<SpanData> = done.into_iter().filter(|s| in_trace(s)).collect();
    let started = containerd_calls(&trace, "StartContainer");
    let task_start = started
        .iter()
        .find(|s| attribute(s, "rpc.method").as_deref() == Some("Start"))
        .unwrap_or_else(|| panic!("the task start is one of StartContainer's calls: {started:#?}"));
    assert_eq!(attribute(task_start, "rpc.service").as_deref(), Some("containerd.services.tasks.v1.Tasks"));
    assert_eq!(attribute(task_start, "container.id").as_deref(), Some(container_id.as_str()));

    drop(clients);
    let socket = PathBuf::from(shim.endpoint.trim_start_matches("unix://"));
    let text = probe_server(&ServerAddr::Unix(socket)).await.expect("the shim's /metrics");
    let series = "capstan_shim_runtime_call_duration_seconds_count{runtime=\"containerd\",method=\"containerd.services.tasks.v1.Tasks/Start\",result=\"ok\"}";
    assert!(metric_sample(&text, series).unwrap_or_default() >= 1.0, "{series} in:\n{text}");
    shim.stop().await;
}
