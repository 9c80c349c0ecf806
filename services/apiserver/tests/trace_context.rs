//! Every write records the trace context of the request on the object it
//! writes (`capstan.io/trace-context`), except a status write, which keeps
//! the context of the write it reports on; a no-op update stays a no-op.

use capstan_proto::apps::v1::{Deployment, DeploymentSpec, DeploymentStatus};
use capstan_proto::autoscaling::v1::{Scale, ScaleSpec};
use capstan_proto::meta::v1::ObjectMeta;
use capstan_proto::Resource;
use capstan_telemetry::{trace_id_of, TRACE_CONTEXT_ANNOTATION};
use capstan_testkit::TestCluster;
use std::collections::BTreeMap;
use std::future::Future;

const APP: &[(&str, &str)] = &[("app", "traced")];

fn deployment() -> Deployment {
    Deployment {
        metadata: Some(ObjectMeta { name: "traced".into(), namespace: "default".into(), ..Default::default() }),
        spec: Some(DeploymentSpec {
            replicas: Some(1),
            selector: Some(capstan_testkit::selector(APP)),
            template: Some(capstan_testkit::pod("").labels(APP).template()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Runs `call` inside a new root span; gives its result and the span's trace id.
async fn traced<T>(name: &'static str, call: impl Future<Output = T>) -> (T, String) {
    let span = tracing::info_span!("test.call", call = name);
    let mut context = BTreeMap::new();
    span.in_scope(|| capstan_telemetry::inject_into_map(&mut context));
    let trace = trace_id_of(&context).expect("a test span has a valid context");
    (tracing::Instrument::instrument(call, span).await, trace)
}

fn recorded(object: &Deployment) -> Option<String> {
    trace_id_of(&object.meta().annotations)
}

#[tokio::test]
async fn writes_record_their_trace_and_status_writes_keep_it() {
    let _spans = capstan_telemetry::init_for_test();
    let cluster = TestCluster::start().await;
    let api = cluster.client.api::<Deployment>(Some("default"));

    let (created, create_trace) = traced("create", api.create(&deployment())).await;
    let created = created.expect("create");
    assert_eq!(recorded(&created).as_deref(), Some(create_trace.as_str()), "the create's answer records its trace");
    let stored = api.get("traced").await.expect("get");
    assert_eq!(recorded(&stored).as_deref(), Some(create_trace.as_str()), "the stored object records the create");

    // a controller's status report, traced on its own, keeps the user's trace
    let mut reported = stored.clone();
    reported.status = Some(DeploymentStatus { observed_generation: 1, ..Default::default() });
    let (after_status, status_trace) = traced("status", api.update_status(&reported)).await;
    let after_status = after_status.expect("status update");
    assert_ne!(status_trace, create_trace);
    assert_ne!(after_status.meta().resource_version, stored.meta().resource_version, "the status was written");
    assert_eq!(recorded(&after_status).as_deref(), Some(create_trace.as_str()), "a status write keeps the trace");

    // an update that changes nothing is no write, even from a stale copy of
    // the record or from a copy without it
    let (same, _) = traced("no-op", api.update(&after_status)).await;
    let same = same.expect("no-op update");
    assert_eq!(same.meta().resource_version, after_status.meta().resource_version, "a no-op update stays a no-op");
    let mut stripped = after_status.clone();
    stripped.metadata_mut().annotations.remove(TRACE_CONTEXT_ANNOTATION);
    let (same, _) = traced("no-op without the record", api.update(&stripped)).await;
    let same = same.expect("no-op update");
    assert_eq!(same.meta().resource_version, after_status.meta().resource_version, "still a no-op");
    assert_eq!(recorded(&same).as_deref(), Some(create_trace.as_str()), "the record is the server's");

    // a real update and a scale each record their own trace
    let mut labelled = same.clone();
    labelled.metadata_mut().labels.insert("tier".into(), "web".into());
    let (updated, update_trace) = traced("update", api.update(&labelled)).await;
    assert_eq!(recorded(&updated.expect("update")).as_deref(), Some(update_trace.as_str()));
    let scale = Scale { spec: Some(ScaleSpec { replicas: 3 }), ..Default::default() };
    let (scaled, scale_trace) = traced("scale", api.update_scale("traced", &scale)).await;
    scaled.expect("scale");
    let stored = api.get("traced").await.expect("get");
    assert_eq!(recorded(&stored).as_deref(), Some(scale_trace.as_str()), "a scale records its trace");
    assert_eq!(stored.spec.as_ref().and_then(|s| s.replicas), Some(3));
    cluster.stop().await;
}
