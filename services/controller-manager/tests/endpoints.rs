//! The Endpoints controller against a real API server: Endpoints follow pod
//! readiness within a second, named target ports resolve per pod, a
//! Service without a selector keeps the Endpoints its user wrote, and a
//! deleted Service takes its Endpoints along. Pod status is written
//! directly (no kubelet), so readiness flips exactly when the test says.

mod common;

use capstan_client::{Client, DeleteParams};
use capstan_proto::core::v1::{
    ContainerPort, EndpointAddress, EndpointPort, EndpointSubset, Endpoints, Pod, PodCondition, PodStatus, Service,
    ServicePort, ServiceSpec,
};
use capstan_proto::meta::v1::{IntOrString, ObjectMeta};
use capstan_proto::Resource;
use capstan_runtime::wait_for;
use common::*;
use std::time::Duration;

/// How long the Endpoints may lag a readiness change.
const FOLLOW: Duration = Duration::from_secs(1);

fn service(name: &str, selector: &[(&str, &str)], target: IntOrString) -> Service {
    Service {
        metadata: Some(ObjectMeta { name: name.into(), namespace: "default".into(), ..Default::default() }),
        spec: Some(ServiceSpec {
            selector: selector.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ports: vec![ServicePort { name: "http".into(), port: 80, target_port: Some(target), ..Default::default() }],
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A pod of the web app whose container names port `http` as `port`.
async fn create_pod(client: &Client, name: &str, port: i32) -> Pod {
    let mut pod = pod(name, &[("app", "web")]);
    if let Some(container) = pod.spec.as_mut().and_then(|s| s.containers.first_mut()) {
        container.ports = vec![ContainerPort {
            name: "http".into(),
            container_port: port,
            protocol: "TCP".into(),
            ..Default::default()
        }];
    }
    client.api::<Pod>(Some("default")).create(&pod).await.expect("create pod")
}

/// Writes the pod's status as a kubelet would: running at `ip`, ready or not.
async fn set_status(client: &Client, name: &str, ip: &str, ready: bool) {
    let api = client.api::<Pod>(Some("default"));
    let mut pod = api.get(name).await.expect("get pod");
    pod.status = Some(PodStatus {
        phase: "Running".into(),
        pod_ip: ip.into(),
        conditions: vec![PodCondition {
            r#type: "Ready".into(),
            status: if ready { "True" } else { "False" }.into(),
            ..Default::default()
        }],
        ..Default::default()
    });
    api.update_status(&pod).await.expect("update pod status");
}

/// (ready IPs, not-ready IPs, ports) of each subset.
fn summary(endpoints: Option<&Endpoints>) -> Vec<(Vec<String>, Vec<String>, Vec<i32>)> {
    let ips = |addresses: &[EndpointAddress]| addresses.iter().map(|a| a.ip.clone()).collect::<Vec<_>>();
    endpoints
        .map(|e| e.subsets.iter())
        .into_iter()
        .flatten()
        .map(|s| (ips(&s.addresses), ips(&s.not_ready_addresses), s.ports.iter().map(|p| p.port).collect()))
        .collect()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Watches the Endpoints `name` until they say `want`, for at most `bound`.
async fn wait_endpoints(
    client: &Client,
    name: &str,
    bound: Duration,
    want: Vec<(Vec<String>, Vec<String>, Vec<i32>)>,
) -> Endpoints {
    let api = client.api::<Endpoints>(Some("default"));
    match wait_for(&api, name, bound, |e| summary(e) == want).await {
        Ok(Some(endpoints)) => endpoints,
        Ok(None) => panic!("Endpoints {name} are gone"),
        Err(error) => panic!("Endpoints {name} did not become {want:?} within {bound:?}: {error:?}"),
    }
}

#[tokio::test]
async fn endpoints_follow_readiness_resolve_named_ports_and_leave_selectorless_services_alone() {
    let cluster = cluster().await;
    let client = &cluster.client;
    let services = client.api::<Service>(Some("default"));

    // a Service without a selector, with Endpoints its user wrote
    services.create(&service("manual", &[], IntOrString::from_int(9999))).await.expect("create manual service");
    let manual = Endpoints {
        metadata: Some(ObjectMeta { name: "manual".into(), namespace: "default".into(), ..Default::default() }),
        subsets: vec![EndpointSubset {
            addresses: vec![EndpointAddress { ip: "192.0.2.10".into(), ..Default::default() }],
            ports: vec![EndpointPort { name: "http".into(), port: 9999, protocol: "TCP".into(), ..Default::default() }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let manual = client.api::<Endpoints>(Some("default")).create(&manual).await.expect("create manual endpoints");

    let manager = start_controllers(&cluster, &["endpoints"]).await;
    services.create(&service("web", &[("app", "web")], IntOrString::from_string("http"))).await.expect("create web");
    create_pod(client, "a", 8080).await;
    set_status(client, "a", "10.1.0.1", false).await;
    let endpoints = wait_endpoints(client, "web", TIMEOUT, vec![(vec![], strings(&["10.1.0.1"]), vec![8080])]).await;
    let address = &endpoints.subsets[0].not_ready_addresses[0];
    assert_eq!(address.target_ref.as_ref().map(|r| (r.kind.as_str(), r.name.as_str())), Some(("Pod", "a")));
    assert_eq!(endpoints.subsets[0].ports[0].name, "http", "the Service port's name is kept");

    // readiness flips are in the Endpoints within a second
    set_status(client, "a", "10.1.0.1", true).await;
    wait_endpoints(client, "web", FOLLOW, vec![(strings(&["10.1.0.1"]), vec![], vec![8080])]).await;
    set_status(client, "a", "10.1.0.1", false).await;
    wait_endpoints(client, "web", FOLLOW, vec![(vec![], strings(&["10.1.0.1"]), vec![8080])]).await;
    set_status(client, "a", "10.1.0.1", true).await;
    wait_endpoints(client, "web", FOLLOW, vec![(strings(&["10.1.0.1"]), vec![], vec![8080])]).await;

    // a pod that gives the named port another number forms its own subset
    create_pod(client, "b", 9090).await;
    set_status(client, "b", "10.1.0.2", true).await;
    wait_endpoints(
        client,
        "web",
        FOLLOW,
        vec![(strings(&["10.1.0.1"]), vec![], vec![8080]), (strings(&["10.1.0.2"]), vec![], vec![9090])],
    )
    .await;

    // a deleted pod (no node: it goes at once) leaves
    client.api::<Pod>(Some("default")).delete("b", &DeleteParams::default()).await.expect("delete pod");
    wait_endpoints(client, "web", FOLLOW, vec![(strings(&["10.1.0.1"]), vec![], vec![8080])]).await;

    // the user's Endpoints were never touched
    let now = client.api::<Endpoints>(Some("default")).get("manual").await.expect("manual endpoints");
    assert_eq!(now.meta().resource_version, manual.meta().resource_version, "selectorless Endpoints untouched");
    assert_eq!(now.subsets, manual.subsets);

    // a deleted Service takes its Endpoints along
    services.delete("web", &DeleteParams::default()).await.expect("delete service");
    wait_object::<Endpoints>(client, Some("default"), "web", |e| e.is_none()).await;
    manager.stop().await.expect("controller-manager stops");
    cluster.assert_no_component_refused().await;
}
