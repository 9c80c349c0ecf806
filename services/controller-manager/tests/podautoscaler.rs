//! The horizontal pod autoscaler end to end: a Deployment (with the
//! Deployment and ReplicaSet controllers, the scheduler and a kubelet on the
//! in-memory runtime) whose pods burn a whole core for a while
//! (`burn-cpu`, see capstan-memory-shim's `script`) against a request of
//! half a core, then idle at a tenth of a core. The HPA, reading usage from
//! the kubelet, scales the Deployment up to its max, then, once the pods are
//! idle and the (shortened) stabilization window has passed, back to its min.

mod common;

use capstan_client::{Client, ListParams};
use capstan_controller_manager::{Config, ControllerManager};
use capstan_proto::apps::v1::{Deployment, DeploymentSpec};
use capstan_proto::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec,
};
use capstan_proto::core::v1::{Event, ResourceRequirements};
use capstan_proto::meta::v1::{ObjectMeta, Quantity};
use common::*;
use std::time::Duration;

const NS: &str = "default";
const APP: &[(&str, &str)] = &[("app", "burner")];
/// Busy for this long after each pod starts, long enough for two HPA syncs
/// to read a rate; idle afterwards.
const BURN: &str = "burn-cpu 1000 10; sleep infinity";

fn burner() -> Deployment {
    let mut template = template(APP, "capstan/test:1");
    if let Some(container) = template.spec.as_mut().and_then(|s| s.containers.first_mut()) {
        container.command = vec!["sh".into(), "-c".into(), BURN.into()];
        container.resources = Some(ResourceRequirements {
            requests: [("cpu".to_string(), Quantity::new("500m"))].into_iter().collect(),
            ..Default::default()
        });
    }
    Deployment {
        metadata: Some(ObjectMeta { name: "burner".into(), namespace: NS.into(), ..Default::default() }),
        spec: Some(DeploymentSpec {
            replicas: Some(1),
            selector: Some(selector(APP)),
            template: Some(template),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Min 1, max 3, the default target (80 % of the CPU request).
fn hpa() -> HorizontalPodAutoscaler {
    HorizontalPodAutoscaler {
        metadata: Some(ObjectMeta { name: "burner".into(), namespace: NS.into(), ..Default::default() }),
        spec: Some(HorizontalPodAutoscalerSpec {
            scale_target_ref: Some(CrossVersionObjectReference {
                kind: "Deployment".into(),
                name: "burner".into(),
                api_version: "apps/v1".into(),
            }),
            min_replicas: Some(1),
            max_replicas: 3,
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn spec_replicas(d: Option<&Deployment>) -> Option<i32> {
    d.and_then(|d| d.spec.as_ref()).and_then(|s| s.replicas)
}

/// Waits for the SuccessfulRescale Event with `message` (written just after the scale).
async fn rescaled_with(client: &Client, message: &str) {
    eventually(&format!("a SuccessfulRescale event {message:?}"), || async {
        let (events, _) = client.api::<Event>(Some(NS)).list(&ListParams::default()).await.ok()?;
        events.iter().any(|e| e.reason == "SuccessfulRescale" && e.message == message).then_some(())
    })
    .await;
}

#[tokio::test]
async fn scales_a_deployment_up_while_its_pods_burn_cpu_and_back_down_after_the_window() {
    let cluster = cluster().await;
    let client = &cluster.client;
    let _node = start_node(&cluster, "node-1").await;
    let scheduler = start_scheduler(&cluster).await;
    let config = Config {
        hpa_sync_period: Duration::from_secs(1),
        hpa_downscale_stabilization: Duration::from_secs(3),
        ..controller_config(&cluster, &["deployment", "replicaset", "horizontalpodautoscaling"])
    };
    let manager = ControllerManager::start(config).await.expect("controller-manager starts");
    client.api::<Deployment>(Some(NS)).create(&burner()).await.expect("create deployment");
    client.api::<HorizontalPodAutoscaler>(Some(NS)).create(&hpa()).await.expect("create hpa");

    wait_object(client, Some(NS), "burner", |d: Option<&Deployment>| spec_replicas(d) == Some(3)).await;
    let scaled: HorizontalPodAutoscaler =
        wait_object(client, Some(NS), "burner", |h: Option<&HorizontalPodAutoscaler>| {
            h.and_then(|h| h.status.as_ref()).is_some_and(|s| s.desired_replicas == 3 && s.last_scale_time.is_some())
        })
        .await
        .expect("hpa");
    let status = scaled.status.unwrap_or_default();
    let cpu = status.current_metrics.iter().filter_map(|m| m.resource.as_ref()).find(|r| r.name == "cpu");
    let utilization = cpu.and_then(|r| r.current.as_ref()).and_then(|c| c.average_utilization);
    assert!(utilization.is_some_and(|u| u > 80), "burning pods are above the target: {:?}", status.current_metrics);
    let active = status.conditions.iter().find(|c| c.r#type == "ScalingActive");
    assert_eq!(active.map(|c| (c.status.as_str(), c.reason.as_str())), Some(("True", "ValidMetricFound")));
    rescaled_with(client, "New size: 3; reason: cpu resource utilization (percentage of request) above target").await;

    // the burns end; after the window the HPA goes back to its minimum
    wait_object(client, Some(NS), "burner", |d: Option<&Deployment>| spec_replicas(d) == Some(1)).await;
    rescaled_with(client, "New size: 1; reason: All metrics below target").await;
    let hpa: HorizontalPodAutoscaler =
        client.api::<HorizontalPodAutoscaler>(Some(NS)).get("burner").await.expect("get hpa");
    let limited = hpa.status.unwrap_or_default().conditions.into_iter().find(|c| c.r#type == "ScalingLimited");
    assert!(limited.is_some(), "the HPA reports whether min/max limited it");

    manager.stop().await.expect("stop controllers");
    drop(scheduler);
    cluster.assert_no_component_refused().await;
}
