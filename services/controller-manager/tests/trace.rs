//! The control plane's half of one trace: a Deployment created inside a
//! traced call is one trace through the API server's writes, the deployment
//! controller's reconcile, the ReplicaSet it creates, the replicaset
//! controller's reconcile and pod creates, and the scheduler's filter,
//! score and bind of each pod (a real API server, controller-manager,
//! scheduler and a kubelet on the in-memory runtime, spans captured
//! in-process). The Endpoints and EndpointSlice controllers join the trace
//! of the pod changes that queue their Service. A scale and a rollout
//! restart are each one new trace reaching the replicaset controller.

mod common;

use capstan_proto::apps::v1::{Deployment, DeploymentSpec};
use capstan_proto::autoscaling::v1::{Scale, ScaleSpec};
use capstan_proto::core::v1::{Service, ServicePort, ServiceSpec};
use capstan_proto::meta::v1::ObjectMeta;
use capstan_telemetry::{SpanData, COMPONENT_KEY};
use common::*;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

const APP: &[(&str, &str)] = &[("app", "traced")];
const CONTROLLER_MANAGER: &str = "capstan-controller-manager";

fn deployment(replicas: i32) -> Deployment {
    Deployment {
        metadata: Some(ObjectMeta { name: "traced".into(), namespace: "default".into(), ..Default::default() }),
        spec: Some(DeploymentSpec {
            replicas: Some(replicas),
            selector: Some(selector(APP)),
            template: Some(template(APP, "capstan/test:1")),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn service() -> Service {
    Service {
        metadata: Some(ObjectMeta { name: "traced".into(), namespace: "default".into(), ..Default::default() }),
        spec: Some(ServiceSpec {
            selector: APP.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ports: vec![ServicePort { name: "http".into(), port: 80, ..Default::default() }],
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Runs `call` inside a new root span named `name`; gives its result and the
/// span's trace id (as the W3C text `SpanData` ids print in).
async fn traced<T>(name: &'static str, call: impl Future<Output = T>) -> (T, String) {
    let span = tracing::info_span!("test.root", call = name);
    let mut context = BTreeMap::new();
    span.in_scope(|| capstan_telemetry::inject_into_map(&mut context));
    let trace = capstan_telemetry::trace_id_of(&context).expect("a test span has a valid context");
    (tracing::Instrument::instrument(call, span).await, trace)
}

fn attr(span: &SpanData, key: &str) -> Option<String> {
    span.attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv| kv.value.as_str().into_owned())
}

fn has(span: &SpanData, key: &str, value: &str) -> bool {
    attr(span, key).as_deref() == Some(value)
}

/// The spans of one trace, and questions about them.
struct Trace<'a>(Vec<&'a SpanData>);

impl<'a> Trace<'a> {
    fn of(spans: &'a [SpanData], trace: &str) -> Trace<'a> {
        Trace(spans.iter().filter(|s| s.span_context.trace_id().to_string() == trace).collect())
    }

    fn named(&self, name: &str) -> Vec<&'a SpanData> {
        self.0.iter().copied().filter(|s| s.name == name).collect()
    }

    /// The registry's creates of `resource`, by object name.
    fn created(&self, resource: &str) -> BTreeSet<String> {
        self.named("registry.create")
            .into_iter()
            .filter(|s| has(s, "resource", resource))
            .filter_map(|s| attr(s, "name"))
            .collect()
    }

    /// The reconciles by `controller` (its component marked).
    fn reconciles(&self, controller: &str) -> Vec<&'a SpanData> {
        let mut spans = self.named("reconcile");
        spans.retain(|s| has(s, "controller", controller) && has(s, COMPONENT_KEY, CONTROLLER_MANAGER));
        spans
    }

    /// Whether a reconcile of the Service by `controller` joined this trace:
    /// in it (one pod's change queued it) or linked to it (several did).
    fn joined_by(&self, all: &[SpanData], trace: &str, controller: &str) -> bool {
        all.iter().any(|s| {
            s.name == "reconcile"
                && has(s, "controller", controller)
                && has(s, COMPONENT_KEY, CONTROLLER_MANAGER)
                && has(s, "key", "default/traced")
                && has(s, "k8s.namespace.name", "default")
                && (s.span_context.trace_id().to_string() == trace
                    || s.links.iter().any(|l| l.span_context.trace_id().to_string() == trace))
        })
    }

    fn children(&self, parent: &SpanData, name: &str) -> usize {
        self.0.iter().filter(|s| s.name == name && s.parent_span_id == parent.span_context.span_id()).count()
    }

    /// The pods scheduled in this trace: schedule_one spans with their
    /// attributes and filter, score and bind children, by pod name.
    fn scheduled(&self, node: &str) -> BTreeSet<String> {
        self.named("scheduler.schedule_one")
            .into_iter()
            .filter(|s| {
                has(s, COMPONENT_KEY, "capstan-scheduler")
                    && has(s, "k8s.namespace.name", "default")
                    && has(s, "k8s.node.name", node)
                    && attr(s, "k8s.pod.uid").is_some_and(|uid| !uid.is_empty())
                    && ["scheduler.filter", "scheduler.score", "scheduler.bind"]
                        .iter()
                        .all(|c| self.children(s, c) == 1)
            })
            .filter_map(|s| attr(s, "k8s.pod.name"))
            .collect()
    }
}

#[tokio::test]
async fn a_deployment_is_one_trace_through_the_control_plane() {
    let spans = capstan_telemetry::init_for_test();
    let cluster = cluster().await;
    let node = start_node(&cluster, "node-1").await;
    let controllers = start_controllers(&cluster, &["deployment", "replicaset", "endpoints", "endpointslice"]).await;
    let scheduler = start_scheduler(&cluster).await;
    cluster.client.api::<Service>(Some("default")).create(&service()).await.expect("create the Service");
    let api = cluster.client.api::<Deployment>(Some("default"));

    let (created, trace) = traced("apply", api.create(&deployment(2))).await;
    created.expect("create the Deployment");
    let found = spans
        .wait_for(TIMEOUT, |all| {
            let t = Trace::of(all, &trace);
            let deployment_reconciled = t
                .reconciles("deployment")
                .iter()
                .any(|s| has(s, "k8s.deployment.name", "traced") && has(s, "k8s.namespace.name", "default"));
            let replica_sets = t.created("replicasets");
            let rs_reconciled = t.reconciles("replicaset").iter().any(|s| {
                attr(s, "k8s.replicaset.name").is_some_and(|n| replica_sets.contains(&n))
                    && has(s, "k8s.namespace.name", "default")
            });
            let pods = t.created("pods");
            !t.named("test.root").is_empty()
                && t.created("deployments").contains("traced")
                && deployment_reconciled
                && replica_sets.len() == 1
                && rs_reconciled
                && pods.len() == 2
                && t.scheduled("node-1") == pods
                && t.named("registry.bind").len() == 2
                && t.joined_by(all, &trace, "endpoints")
                && t.joined_by(all, &trace, "endpointslice")
        })
        .await;
    if let Err(error) = found {
        let all = spans.spans();
        let t = Trace::of(&all, &trace);
        let names: Vec<_> = t.0.iter().map(|s| (s.name.to_string(), s.attributes.clone())).collect();
        panic!("the apply is not one trace through the control plane ({error}); the trace holds {names:#?}");
    }

    // a scale is a write to the Deployment too: one new trace, down to the
    // replicaset controller's new pod
    let scale = Scale { spec: Some(ScaleSpec { replicas: 3 }), ..Default::default() };
    let (scaled, scale_trace) = traced("scale", api.update_scale("traced", &scale)).await;
    scaled.expect("scale the Deployment");
    assert_ne!(scale_trace, trace);
    let found = spans
        .wait_for(TIMEOUT, |all| {
            let t = Trace::of(all, &scale_trace);
            !t.named("registry.scale").is_empty()
                && !t.reconciles("deployment").is_empty()
                && t.named("registry.patch").iter().any(|s| has(s, "resource", "replicasets"))
                && !t.reconciles("replicaset").is_empty()
                && t.created("pods").len() == 1
        })
        .await;
    if let Err(error) = found {
        let all = spans.spans();
        let t = Trace::of(&all, &scale_trace);
        let names: Vec<_> = t.0.iter().map(|s| (s.name.to_string(), s.attributes.clone())).collect();
        panic!("the scale is not one trace to the replicaset controller ({error}); the trace holds {names:#?}");
    }

    // so is a rollout restart (what `capstan rollout restart` writes): the
    // new ReplicaSet and its pods are in the restart's trace
    let restart = serde_json::json!({"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z"
    }}}}});
    let (restarted, restart_trace) = traced("rollout restart", api.patch_merge("traced", restart)).await;
    restarted.expect("restart the Deployment");
    let found = spans
        .wait_for(TIMEOUT, |all| {
            let t = Trace::of(all, &restart_trace);
            let replica_sets = t.created("replicasets");
            !t.named("registry.patch").is_empty()
                && !t.reconciles("deployment").is_empty()
                && replica_sets.len() == 1
                && t.reconciles("replicaset")
                    .iter()
                    .any(|s| attr(s, "k8s.replicaset.name").is_some_and(|n| replica_sets.contains(&n)))
                && !t.created("pods").is_empty()
        })
        .await;
    if let Err(error) = found {
        let all = spans.spans();
        let t = Trace::of(&all, &restart_trace);
        let names: Vec<_> = t.0.iter().map(|s| (s.name.to_string(), s.attributes.clone())).collect();
        panic!(
            "the rollout restart is not one trace to the new ReplicaSet's pods ({error}); the trace holds {names:#?}"
        );
    }
    scheduler.stop().await.expect("scheduler stops");
    controllers.stop().await.expect("controller-manager stops");
    node.kubelet.stop().await.expect("kubelet stops");
    cluster.stop().await;
}
