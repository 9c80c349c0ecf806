//! Issue 15's node half, against a real Docker Engine: a pod whose annotation
//! records a trace is started by the kubelet through the Docker shim, and
//!
//! 1. that trace holds the kubelet's `kubelet.sync_pod` span, under it the CRI
//!    client span of each runtime call that starts the pod (RunPodSandbox,
//!    PullImage, CreateContainer, StartContainer) and the pod's status write, the
//!    shim's server span of each call under its client span, and the shim's
//!    Docker Engine calls (`docker.ContainerCreate`, `docker.ContainerStart`,
//!    with `container.id`) under those;
//! 2. a resync of the running pod is a trace of its own, linked to the pod's;
//! 3. the kubelet's and the shim's `/metrics` count what the start did.
//!
//! Spans are captured in-process (`capstan_telemetry::init_for_test`); waits are
//! bounded, nothing is timed. Skipped without Docker, except under `CI=true`.

mod common;
mod docker_support;

use std::collections::{BTreeMap, HashMap};

use capstan_proto::core::v1::Pod;
use capstan_telemetry::{OpenTelemetrySpanExt, SpanData};
use capstan_test_support::{metric_sample, probe_server, ServerAddr};
use common::condition;
use docker_support::*;
use tracing::Instrument;

const START_CALLS: [&str; 4] = ["RunPodSandbox", "PullImage", "CreateContainer", "StartContainer"];

fn attribute(span: &SpanData, key: &str) -> Option<String> {
    span.attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv| kv.value.to_string())
}

/// Whether `ancestor` is `span`'s parent, or its parent's, … within `spans`.
fn descends(spans: &HashMap<String, &SpanData>, span: &SpanData, ancestor: &SpanData) -> bool {
    let mut parent = span.parent_span_id.to_string();
    while let Some(up) = spans.get(&parent) {
        if up.span_context.span_id() == ancestor.span_context.span_id() {
            return true;
        }
        parent = up.parent_span_id.to_string();
    }
    false
}

fn by_id(spans: &[SpanData]) -> HashMap<String, &SpanData> {
    spans.iter().map(|s| (s.span_context.span_id().to_string(), s)).collect()
}

fn rpc<'a>(spans: &'a [SpanData], name: &str, method: &str) -> Vec<&'a SpanData> {
    spans.iter().filter(|s| s.name == name && attribute(s, "rpc.method").as_deref() == Some(method)).collect()
}

/// Whether the trace holds the whole start: see the module docs.
fn start_traced(trace: &[SpanData]) -> bool {
    let engine = ["docker.ContainerCreate", "docker.ContainerStart"];
    trace.iter().any(|s| s.name == "kubelet.sync_pod")
        && START_CALLS
            .iter()
            .all(|m| !rpc(trace, "grpc.client", m).is_empty() && !rpc(trace, "grpc.server", m).is_empty())
        && engine.iter().all(|name| trace.iter().any(|s| s.name == *name))
        && !rpc(trace, "grpc.client", "Update").is_empty()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_start_is_one_trace_from_the_sync_to_the_docker_calls_and_is_counted() {
    let spans = capstan_telemetry::init_for_test();
    let Some(env) = Env::start("trace", test_timings()).await else { return };
    let root = tracing::info_span!("test.apply");
    let mut annotations = BTreeMap::new();
    capstan_telemetry::inject_context_into_map(&root.context(), &mut annotations);
    let trace_id = capstan_telemetry::trace_id_of(&annotations).expect("the test's span has a trace");
    let mut web = common::container("web", &["sleep", "3600"]);
    web.image_pull_policy = "Always".into();
    let mut traced = pod("traced", "Always", vec![web]);
    traced.metadata.get_or_insert_with(Default::default).annotations = annotations;
    env.create(traced).instrument(root).await;

    let running =
        watch_pod(&env.cluster.client, "traced", |p: &Pod| condition(p, "Ready").as_deref() == Some("True")).await;
    let uid = running.metadata.clone().unwrap_or_default().uid;
    let done = spans
        .wait_for(WAIT, |all| {
            let trace: Vec<SpanData> =
                all.iter().filter(|s| s.span_context.trace_id().to_string() == trace_id).cloned().collect();
            start_traced(&trace)
        })
        .await
        .expect("the pod's start is traced");
    let trace: Vec<SpanData> = done.into_iter().filter(|s| s.span_context.trace_id().to_string() == trace_id).collect();
    let ids = by_id(&trace);

    let syncs: Vec<&SpanData> = trace.iter().filter(|s| s.name == "kubelet.sync_pod").collect();
    let sync = syncs
        .iter()
        .find(|s| rpc(&trace, "grpc.client", "RunPodSandbox").iter().any(|c| descends(&ids, c, s)))
        .expect("the sync that ran the sandbox is in the trace");
    for (key, want) in [
        ("capstan.component", "capstan-kubelet"),
        ("k8s.pod.name", "traced"),
        ("k8s.namespace.name", "default"),
        ("k8s.pod.uid", uid.as_str()),
        ("k8s.node.name", env.node_name.as_str()),
    ] {
        assert_eq!(attribute(sync, key).as_deref(), Some(want), "{key} of {sync:#?}");
    }
    for method in START_CALLS {
        let client = rpc(&trace, "grpc.client", method)
            .into_iter()
            .find(|c| descends(&ids, c, sync))
            .unwrap_or_else(|| panic!("{method}'s client span is under sync_pod"));
        assert!(
            rpc(&trace, "grpc.server", method)
                .iter()
                .any(|server| server.parent_span_id == client.span_context.span_id()),
            "{method}'s server span is the child of its client span"
        );
    }
    assert!(
        rpc(&trace, "grpc.client", "Update").iter().any(|write| descends(&ids, write, sync)),
        "the status write is part of the sync"
    );
    for (engine, call) in [("docker.ContainerCreate", "CreateContainer"), ("docker.ContainerStart", "StartContainer")] {
        let server = rpc(&trace, "grpc.server", call);
        let span = trace
            .iter()
            .find(|s| s.name == engine && server.iter().any(|server| descends(&ids, s, server)))
            .unwrap_or_else(|| panic!("{engine} under the shim's {call}"));
        assert_eq!(attribute(span, "container.runtime").as_deref(), Some("docker"));
        assert_eq!(attribute(span, "peer.service").as_deref(), Some("docker"));
        let id = attribute(span, "container.id").unwrap_or_default();
        assert!(!id.is_empty(), "{engine} names its container: {span:#?}");
    }

    // a resync of the running pod runs for the kubelet's own reasons: its own
    // trace, linked to the pod's
    let in_pods_trace = |s: &SpanData| s.span_context.trace_id().to_string() == trace_id;
    spans
        .wait_for(WAIT, |all| {
            all.iter().any(|s| {
                s.name == "kubelet.sync_pod"
                    && !in_pods_trace(s)
                    && attribute(s, "k8s.pod.uid").as_deref() == Some(uid.as_str())
                    && s.links.links.iter().any(|l| l.span_context.trace_id().to_string() == trace_id)
            })
        })
        .await
        .expect("a resync links to the pod's trace");

    // the relist counts what runs some time after the start: scrape until it has
    let node = env.node();
    let kubelet = tokio::time::timeout(WAIT, async {
        loop {
            let text = probe_server(&ServerAddr::Tcp(node.kubelet_addr())).await.expect("the kubelet's /metrics");
            if metric_sample(&text, "kubelet_running_pods").unwrap_or_default() >= 1.0 {
                return text;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the relist counts the running pod");
    for series in [
        "kubelet_pod_start_duration_seconds_count",
        "kubelet_runtime_operations_duration_seconds_count{operation_type=\"run_podsandbox\"}",
        "kubelet_runtime_operations_duration_seconds_count{operation_type=\"pull_image\"}",
        "kubelet_runtime_operations_duration_seconds_count{operation_type=\"create_container\"}",
        "kubelet_runtime_operations_duration_seconds_count{operation_type=\"start_container\"}",
        "kubelet_running_containers{container_state=\"running\"}",
    ] {
        assert!(metric_sample(&kubelet, series).unwrap_or_default() >= 1.0, "{series} in:\n{kubelet}");
    }
    let shim = probe_server(&ServerAddr::Unix(node.shim_socket())).await.expect("the shim's /metrics");
    for method in ["ContainerCreate", "ContainerStart", "ImageInspect"] {
        let series = format!(
            "capstan_shim_runtime_call_duration_seconds_count{{runtime=\"docker\",method=\"{method}\",result=\"ok\"}}"
        );
        assert!(metric_sample(&shim, &series).unwrap_or_default() >= 1.0, "{series} in:\n{shim}");
    }
    env.stop().await;
}
