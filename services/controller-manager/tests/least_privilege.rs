//! Every component's identity and bootstrap role against its code, end to
//! end: one namespace, a Deployment, a NodePort Service and an HPA, with the
//! scheduler, the controller-manager (every controller, both electing their
//! leader through a Lease), two kubelets on the in-memory runtime and the
//! service proxy, each speaking with its own kubeconfig to an API server
//! with Node,RBAC. Then the audit log must show no component refused
//! anything: a role that lacks a call its component makes fails here, and a
//! rule added "just in case" is caught by the role's comment naming no call.

mod common;

use capstan_controller_manager::{Config, ControllerManager};
use capstan_kube_proxy::{Config as ProxyConfig, Proxy};
use capstan_proto::apps::v1::{Deployment, DeploymentSpec};
use capstan_proto::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec,
};
use capstan_proto::coordination::v1::Lease;
use capstan_proto::core::v1::{
    Endpoints, Event, Namespace, Pod, ResourceRequirements, Service, ServicePort, ServiceSpec,
};
use capstan_proto::meta::v1::{ObjectMeta, Quantity};
use capstan_scheduler::Scheduler;
use common::*;
use std::time::Duration;

const NS: &str = "shop";
const APP: &[(&str, &str)] = &[("app", "web")];

fn meta(name: &str) -> Option<ObjectMeta> {
    Some(ObjectMeta { name: name.into(), namespace: NS.into(), ..Default::default() })
}

fn deployment() -> Deployment {
    let mut template = template(APP, "capstan/test:1");
    if let Some(container) = template.spec.as_mut().and_then(|s| s.containers.first_mut()) {
        container.resources = Some(ResourceRequirements {
            requests: [("cpu".to_string(), Quantity::new("100m"))].into_iter().collect(),
            ..Default::default()
        });
    }
    Deployment {
        metadata: meta("web"),
        spec: Some(DeploymentSpec {
            replicas: Some(2),
            selector: Some(selector(APP)),
            template: Some(template),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn service() -> Service {
    Service {
        metadata: meta("web"),
        spec: Some(ServiceSpec {
            r#type: "NodePort".into(),
            selector: APP.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ports: vec![ServicePort { name: "http".into(), port: 80, protocol: "TCP".into(), ..Default::default() }],
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn hpa() -> HorizontalPodAutoscaler {
    HorizontalPodAutoscaler {
        metadata: meta("web"),
        spec: Some(HorizontalPodAutoscalerSpec {
            scale_target_ref: Some(CrossVersionObjectReference {
                kind: "Deployment".into(),
                name: "web".into(),
                api_version: "apps/v1".into(),
            }),
            min_replicas: Some(2),
            max_replicas: 3,
            ..Default::default()
        }),
        ..Default::default()
    }
}

async fn has_event(cluster: &TestCluster, reason: &str) -> Option<()> {
    let (events, _) = cluster.client.api::<Event>(Some(NS)).list(&Default::default()).await.ok()?;
    events.iter().any(|e| e.reason == reason).then_some(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_component_is_refused_anything_running_a_deployment_service_and_hpa() {
    let cluster = cluster().await;
    let nodes = [start_node(&cluster, "node-1").await, start_node(&cluster, "node-2").await];
    let scheduler = Scheduler::start(capstan_scheduler::Config { leader_elect: true, ..scheduler_config(&cluster) })
        .await
        .expect("the scheduler starts");
    let manager = ControllerManager::start(Config {
        leader_elect: true,
        hpa_sync_period: Duration::from_secs(1),
        node_monitor_period: Duration::from_millis(500),
        ..controller_config(&cluster, capstan_controller_manager::CONTROLLERS)
    })
    .await
    .expect("the controller-manager starts");
    let proxy_target = cluster.target("proxy");
    let mut proxy = ProxyConfig::new(proxy_target.server, "node-1");
    proxy.credentials = proxy_target.credentials;
    proxy.nodeport_addresses = vec!["127.0.0.1".parse().expect("ip")];
    proxy.healthz_bind_address = Some("127.0.0.1:0".parse().expect("addr"));
    proxy.metrics_bind_address = Some("127.0.0.1:0".parse().expect("addr"));
    let proxy = Proxy::start(proxy).await.expect("the proxy starts");

    let client = &cluster.client;
    let namespace =
        Namespace { metadata: Some(ObjectMeta { name: NS.into(), ..Default::default() }), ..Default::default() };
    client.api::<Namespace>(None).create(&namespace).await.expect("create the namespace");
    client.api::<Deployment>(Some(NS)).create(&deployment()).await.expect("create the deployment");
    let service = client.api::<Service>(Some(NS)).create(&service()).await.expect("create the service");
    client.api::<HorizontalPodAutoscaler>(Some(NS)).create(&hpa()).await.expect("create the hpa");

    // deployment → replica set → pods scheduled → kubelets run them
    eventually("two ready pods", || async {
        let ready = pods(client, NS, "app=web").await.iter().filter(|p| is_ready(p)).count();
        (ready == 2).then_some(())
    })
    .await;
    // the endpoints controller, then the proxy serving the node port
    wait_object(client, Some(NS), "web", |e: Option<&Endpoints>| {
        e.is_some_and(|e| e.subsets.iter().map(|s| s.addresses.len()).sum::<usize>() == 2)
    })
    .await;
    let node_port = service.spec.as_ref().and_then(|s| s.ports.first()).map(|p| p.node_port).unwrap_or_default();
    eventually("the proxy listening on the node port", || async {
        tokio::net::TcpStream::connect(("127.0.0.1", u16::try_from(node_port).ok()?)).await.ok().map(drop)
    })
    .await;
    // the autoscaler reads the target's scale and writes its status
    wait_object(client, Some(NS), "web", |h: Option<&HorizontalPodAutoscaler>| {
        h.and_then(|h| h.status.as_ref()).is_some_and(|s| s.current_replicas == 2 && !s.conditions.is_empty())
    })
    .await;
    // both leaders hold their lease; the node lifecycle controller has seen both nodes' leases
    for lease in ["capstan-scheduler", "capstan-controller-manager"] {
        wait_object(client, Some("kube-system"), lease, |l: Option<&Lease>| l.is_some()).await;
    }
    // a deleted pod: the kubelet stops it and deletes it for good, the replica set replaces it
    // (the kubelet's own Events, for probes, are checked in its probe tests)
    let victim = pods(client, NS, "app=web").await.remove(0);
    let victim_name = victim.metadata.as_ref().map(|m| m.name.clone()).unwrap_or_default();
    client.api::<Pod>(Some(NS)).delete(&victim_name, &Default::default()).await.expect("delete a pod");
    wait_object(client, Some(NS), &victim_name, |p: Option<&Pod>| p.is_none()).await;
    for reason in ["Scheduled", "ScalingReplicaSet", "SuccessfulCreate"] {
        eventually(&format!("a {reason} event"), || has_event(&cluster, reason)).await;
    }
    eventually("two ready pods again", || async {
        let ready = pods(client, NS, "app=web").await.iter().filter(|p| is_ready(p)).count();
        (ready == 2).then_some(())
    })
    .await;

    cluster.assert_no_component_refused().await;
    proxy.shutdown().await.expect("the proxy stops");
    manager.stop().await.expect("the controller-manager stops");
    scheduler.stop().await.expect("the scheduler stops");
    for node in nodes {
        node.kubelet.stop().await.expect("a kubelet stops");
    }
}
