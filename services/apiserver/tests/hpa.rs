//! The autoscaling/v2 HorizontalPodAutoscaler through the real gRPC API, on
//! both backends: a Kubernetes manifest applies unchanged and is defaulted,
//! reads back by get, list and watch (the kind's watch cache comes from the
//! kinds table), its status moves only through the status subresource, and
//! an invalid HPA is refused with every error named by its path.

mod common;

use capstan_proto::api::v1::{object::Kind, DiscoveryRequest, ListOptions, Object};
use capstan_proto::autoscaling::v2::{
    HorizontalPodAutoscaler, HorizontalPodAutoscalerCondition, HorizontalPodAutoscalerStatus, MetricStatus,
    MetricValueStatus, ResourceMetricStatus,
};
use capstan_proto::meta::v1::{Status, Time};
use capstan_proto::{ObjectExt, Resource};
use common::{name_of, next_event, TestServer};
use prost::Message;
use tonic::Code;

on_both_backends!(hpa_round_trips, invalid_hpas_are_refused_by_path);

/// As Kubernetes' docs write it; the status is the server's to set, so a
/// create drops it.
const HPA: &str = r#"
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: default}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  maxReplicas: 10
  metrics:
  - type: Resource
    resource:
      name: cpu
      target: {type: Utilization, averageUtilization: 50}
  behavior:
    scaleDown: {stabilizationWindowSeconds: 60}
status: {currentReplicas: 7, desiredReplicas: 7}
"#;

fn hpa(object: &Object) -> &HorizontalPodAutoscaler {
    HorizontalPodAutoscaler::from_object_ref(object).expect("a HorizontalPodAutoscaler")
}

async fn hpa_round_trips(mut s: TestServer) {
    let discovered = s.client.discover(DiscoveryRequest {}).await.expect("discover").into_inner();
    let served = discovered.resources.iter().find(|r| r.kind == "HorizontalPodAutoscaler").expect("served");
    assert_eq!(
        (served.name.as_str(), served.short_names.clone(), served.api_version.as_str(), served.namespaced),
        ("horizontalpodautoscalers", vec!["hpa".to_string()], "autoscaling/v2", true)
    );

    let mut watch = s.watch("hpa", "default", ListOptions::default()).await.expect("watch");
    let created = s.apply(HPA).await.expect("a Kubernetes HPA manifest applies");
    let h = hpa(&created);
    let spec = h.spec.as_ref().expect("spec");
    assert_eq!(spec.min_replicas, Some(1), "minReplicas defaults to 1");
    let scale_down = spec.behavior.as_ref().and_then(|b| b.scale_down.as_ref()).expect("scaleDown");
    assert_eq!(scale_down.stabilization_window_seconds, Some(60));
    assert_eq!(scale_down.select_policy.as_deref(), Some("Max"), "behavior is filled in");
    assert_eq!(h.status, None, "a create starts with no status");
    assert_eq!(created.meta().generation, 1);

    let added = next_event(&mut watch).await;
    assert_eq!((added.r#type.as_str(), name_of(&added).as_str()), ("ADDED", "web"));
    assert_eq!(added.object.as_ref().map(hpa), Some(h));

    let got = s.get("horizontalpodautoscalers", "default", "web").await.expect("get");
    assert_eq!(got, created);
    let listed = s.list("hpa", "default", ListOptions::default()).await.expect("list");
    assert_eq!(listed.items, vec![created.clone()]);
    let json = got.to_json();
    assert_eq!(json["apiVersion"], "autoscaling/v2");
    assert_eq!(json["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"], 50);
    assert_eq!(json["spec"]["scaleTargetRef"]["apiVersion"], "apps/v1");

    // the autoscaler's write: status only, generation unchanged
    let mut with_status = hpa(&got).clone();
    with_status.status = Some(HorizontalPodAutoscalerStatus {
        observed_generation: Some(1),
        last_scale_time: Some(Time { seconds: 1_700_000_000, nanos: 0 }),
        current_replicas: 2,
        desired_replicas: 3,
        current_metrics: vec![MetricStatus {
            r#type: "Resource".into(),
            resource: Some(ResourceMetricStatus {
                name: "cpu".into(),
                current: Some(MetricValueStatus { average_utilization: Some(12), ..Default::default() }),
            }),
        }],
        conditions: vec![HorizontalPodAutoscalerCondition {
            r#type: "ScalingActive".into(),
            status: "True".into(),
            reason: "ValidMetricFound".into(),
            ..Default::default()
        }],
    });
    let updated = s.update_status("horizontalpodautoscalers", with_status.clone().into_object()).await.expect("status");
    assert_eq!(hpa(&updated).status, with_status.status);
    assert_eq!(updated.meta().generation, 1, "status is not spec");
    let modified = next_event(&mut watch).await;
    assert_eq!(modified.r#type, "MODIFIED");
    assert_eq!(modified.object.as_ref().and_then(|o| hpa(o).status.clone()), with_status.status);
    let json = updated.to_json();
    assert_eq!(json["status"]["currentMetrics"][0]["resource"]["current"]["averageUtilization"], 12);
    assert_eq!(json["status"]["lastScaleTime"], "2023-11-14T22:13:20Z");

    // a main update changes the spec, bumps generation, and keeps the status
    let mut rescaled = hpa(&updated).clone();
    rescaled.spec.as_mut().expect("spec").max_replicas = 20;
    rescaled.status = None;
    let rescaled = s.update("horizontalpodautoscalers", rescaled.into_object()).await.expect("update");
    assert_eq!(rescaled.meta().generation, 2);
    assert_eq!(hpa(&rescaled).spec.as_ref().map(|s| s.max_replicas), Some(20));
    assert_eq!(hpa(&rescaled).status, with_status.status, "status kept from the store");

    s.delete("hpa", "default", "web", None, "").await.expect("delete");
    let modified = next_event(&mut watch).await;
    assert_eq!(modified.r#type, "MODIFIED", "the spec change");
    let deleted = next_event(&mut watch).await;
    assert_eq!((deleted.r#type.as_str(), name_of(&deleted).as_str()), ("DELETED", "web"));
    let gone = s.get("hpa", "default", "web").await.expect_err("deleted");
    assert_eq!(gone.code(), Code::NotFound);
}

async fn invalid_hpas_are_refused_by_path(mut s: TestServer) {
    let bad = r#"
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: bad, namespace: default}
spec:
  scaleTargetRef: {kind: Deployment}
  minReplicas: 0
  maxReplicas: 0
  metrics:
  - type: Resource
    resource: {name: gpu, target: {type: Utilization, averageUtilization: 0}}
"#;
    let err = s.apply(bad).await.expect_err("invalid");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().starts_with("HorizontalPodAutoscaler.autoscaling \"bad\" is invalid: ["),
        "{}",
        err.message()
    );
    let status = Status::decode(err.details()).expect("errors carry a meta.v1.Status");
    let mut fields: Vec<String> = status.details.expect("details").causes.into_iter().map(|c| c.field).collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "spec.maxReplicas",
            "spec.metrics[0].resource.name",
            "spec.metrics[0].resource.target.averageUtilization",
            "spec.minReplicas",
            "spec.scaleTargetRef.name",
        ]
    );
    assert!(err.message().contains("spec.minReplicas: Invalid value: 0: must be greater than or equal to 1"));

    // an update is held to the same rules
    let good =
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: good, namespace: default}\n\
                spec: {scaleTargetRef: {kind: Deployment, name: web}, maxReplicas: 3}\n";
    s.apply(good).await.expect("a valid HPA is created");
    let err = s
        .patch("hpa", "default", "good", serde_json::json!({"spec": {"minReplicas": 4}}))
        .await
        .expect_err("min above max");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err
        .message()
        .contains("spec.maxReplicas: Invalid value: 3: must be greater than or equal to `minReplicas`"));
    let Some(Kind::HorizontalPodAutoscaler(kept)) = s.get("hpa", "default", "good").await.expect("get").kind else {
        panic!("an HPA")
    };
    assert_eq!(kept.spec.and_then(|s| s.min_replicas), Some(1), "the refused patch wrote nothing");
}
