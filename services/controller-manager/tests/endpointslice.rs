//! The EndpointSlice controller against a real API server (secured: the
//! controller-manager's RBAC role must allow every write): slices follow pod
//! readiness, named target ports resolve per pod into separate slices, a
//! deleted pod and a changed selector leave, a slice without the managed-by
//! label is never touched, and a deleted Service's slices are collected by
//! the garbage collector through their ownerReferences. Pod status is
//! written directly (no kubelet), so readiness flips exactly when the test
//! says.

mod common;

use capstan_client::{Client, DeleteParams, ListParams};
use capstan_proto::core::v1::{ContainerPort, Pod, PodCondition, PodStatus, Service, ServicePort, ServiceSpec};
use capstan_proto::discovery::v1::{Endpoint, EndpointSlice};
use capstan_proto::meta::v1::{IntOrString, ObjectMeta};
use capstan_proto::Resource;
use common::*;
use std::collections::BTreeMap;

const SERVICE_NAME: &str = "kubernetes.io/service-name";

fn service(name: &str, app: &str) -> Service {
    Service {
        metadata: Some(ObjectMeta { name: name.into(), namespace: "default".into(), ..Default::default() }),
        spec: Some(ServiceSpec {
            selector: [("app".to_string(), app.to_string())].into(),
            ports: vec![ServicePort {
                name: "http".into(),
                port: 80,
                target_port: Some(IntOrString::from_string("http")),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A pod of the web app whose container names port `http` as `port`.
async fn create_pod(client: &Client, name: &str, port: i32) {
    let mut pod = pod(name, &[("app", "web")]);
    if let Some(container) = pod.spec.as_mut().and_then(|s| s.containers.first_mut()) {
        container.ports = vec![ContainerPort {
            name: "http".into(),
            container_port: port,
            protocol: "TCP".into(),
            ..Default::default()
        }];
    }
    client.api::<Pod>(Some("default")).create(&pod).await.expect("create pod");
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

/// The slices labelled for `service`.
async fn slices(client: &Client, service: &str) -> Vec<EndpointSlice> {
    let params = ListParams::default().labels(&format!("{SERVICE_NAME}={service}"));
    client.api::<EndpointSlice>(Some("default")).list(&params).await.expect("list endpointslices").0
}

/// Each slice as (ports, [(ip, ready)]), sorted.
type Summary = Vec<(Vec<i32>, Vec<(String, bool)>)>;

fn summary(slices: &[EndpointSlice]) -> Summary {
    let endpoint = |e: &Endpoint| (e.addresses.join(","), e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(false));
    let mut out: Summary = slices
        .iter()
        .map(|s| (s.ports.iter().filter_map(|p| p.port).collect(), s.endpoints.iter().map(endpoint).collect()))
        .collect();
    out.sort();
    out
}

/// Waits until the slices of `service` say `want`, and answers them.
async fn wait_slices(client: &Client, service: &str, mut want: Summary) -> Vec<EndpointSlice> {
    want.sort();
    eventually(&format!("the slices of {service} to be {want:?}"), || {
        let want = want.clone();
        async move {
            let slices = slices(client, service).await;
            (summary(&slices) == want).then_some(slices)
        }
    })
    .await
}

fn ip(ip: &str, ready: bool) -> (String, bool) {
    (ip.to_string(), ready)
}

#[tokio::test]
async fn slices_follow_pods_and_selector_and_go_with_their_service() {
    let cluster = cluster().await;
    let client = &cluster.client;
    let services = client.api::<Service>(Some("default"));
    let slice_api = client.api::<EndpointSlice>(Some("default"));

    // a slice a user wrote for the Service, without the managed-by label
    let mut own = EndpointSlice {
        metadata: Some(ObjectMeta {
            name: "web-mine".into(),
            namespace: "default".into(),
            labels: BTreeMap::from([(SERVICE_NAME.to_string(), "web".to_string())]),
            ..Default::default()
        }),
        address_type: "IPv4".into(),
        endpoints: vec![Endpoint { addresses: vec!["192.0.2.10".into()], ..Default::default() }],
        ..Default::default()
    };
    own.set_type_meta();
    let own = slice_api.create(&own).await.expect("create the user's slice");

    let manager = start_controllers(&cluster, &["endpointslice", "garbagecollector"]).await;
    let web = services.create(&service("web", "web")).await.expect("create web");
    create_pod(client, "a", 8080).await;
    set_status(client, "a", "10.1.0.1", false).await;
    // the user's slice reads as a port-less slice with its one address
    let user = (vec![], vec![ip("192.0.2.10", false)]);
    let listed = wait_slices(client, "web", vec![user.clone(), (vec![8080], vec![ip("10.1.0.1", false)])]).await;
    let managed = listed.iter().find(|s| s.meta().name != "web-mine").expect("the managed slice");
    let meta = managed.meta();
    assert!(meta.name.starts_with("web-"), "named from generateName: {}", meta.name);
    assert_eq!(
        meta.labels.get("endpointslice.kubernetes.io/managed-by").map(String::as_str),
        Some("endpointslice-controller.k8s.io")
    );
    let owner = meta.owner_references.first().expect("owned by the Service");
    assert_eq!(
        (owner.kind.as_str(), owner.uid.as_str(), owner.controller),
        ("Service", web.meta().uid.as_str(), Some(true))
    );
    let endpoint = &managed.endpoints[0];
    assert_eq!(endpoint.target_ref.as_ref().map(|r| (r.kind.as_str(), r.name.as_str())), Some(("Pod", "a")));
    assert_eq!(endpoint.node_name, None, "an unscheduled pod names no node");
    assert_eq!(managed.ports[0].name.as_deref(), Some("http"), "the Service port's name is kept");

    // readiness reaches the slice
    set_status(client, "a", "10.1.0.1", true).await;
    wait_slices(client, "web", vec![user.clone(), (vec![8080], vec![ip("10.1.0.1", true)])]).await;

    // a pod that gives the named port another number gets its own slice
    create_pod(client, "b", 9090).await;
    set_status(client, "b", "10.1.0.2", true).await;
    wait_slices(
        client,
        "web",
        vec![user.clone(), (vec![8080], vec![ip("10.1.0.1", true)]), (vec![9090], vec![ip("10.1.0.2", true)])],
    )
    .await;

    // a deleted pod (no node: it goes at once) leaves, and so does its slice
    client.api::<Pod>(Some("default")).delete("b", &DeleteParams::default()).await.expect("delete pod");
    wait_slices(client, "web", vec![user.clone(), (vec![8080], vec![ip("10.1.0.1", true)])]).await;

    // a selector that no longer matches: the managed slice keeps the ports, with no endpoints
    let mut changed = services.get("web").await.expect("get web");
    if let Some(spec) = changed.spec.as_mut() {
        spec.selector = [("app".to_string(), "other".to_string())].into();
    }
    services.update(&changed).await.expect("change the selector");
    wait_slices(client, "web", vec![user.clone(), (vec![], vec![])]).await;

    // the user's slice was never touched
    let now = slice_api.get("web-mine").await.expect("the user's slice");
    assert_eq!(now.meta().resource_version, own.meta().resource_version, "unmanaged slice untouched");

    // a deleted Service's slices are collected through their ownerReferences
    services.delete("web", &DeleteParams::default()).await.expect("delete service");
    wait_slices(client, "web", vec![user]).await;
    manager.stop().await.expect("controller-manager stops");
    cluster.assert_no_component_refused().await;
}

/// A Service without a selector: the Endpoints its user writes are mirrored
/// into slices (labelled as Kubernetes' mirroring controller labels them),
/// follow each change, and go when the Endpoints go.
#[tokio::test]
async fn a_selectorless_services_endpoints_are_mirrored() {
    use capstan_proto::core::v1::{EndpointAddress, EndpointPort, EndpointSubset, Endpoints};
    let cluster = cluster().await;
    let client = &cluster.client;
    let manager = start_controllers(&cluster, &["endpointslice", "garbagecollector"]).await;
    let mut db = service("db", "unused");
    if let Some(spec) = db.spec.as_mut() {
        spec.selector.clear();
        spec.ports[0].target_port = Some(IntOrString::from_int(5432));
    }
    client.api::<Service>(Some("default")).create(&db).await.expect("create db");
    let address = |ip: &str| EndpointAddress { ip: ip.into(), ..Default::default() };
    let mut endpoints = Endpoints {
        metadata: Some(ObjectMeta { name: "db".into(), namespace: "default".into(), ..Default::default() }),
        subsets: vec![EndpointSubset {
            addresses: vec![address("192.0.2.1")],
            not_ready_addresses: vec![address("192.0.2.2")],
            ports: vec![EndpointPort { name: "http".into(), port: 5432, protocol: "TCP".into(), ..Default::default() }],
        }],
        ..Default::default()
    };
    let api = client.api::<Endpoints>(Some("default"));
    let written = api.create(&endpoints).await.expect("create the Endpoints");
    let listed =
        wait_slices(client, "db", vec![(vec![5432], vec![ip("192.0.2.1", true), ip("192.0.2.2", false)])]).await;
    assert_eq!(
        listed[0].meta().labels.get("endpointslice.kubernetes.io/managed-by").map(String::as_str),
        Some("endpointslicemirroring-controller.k8s.io")
    );
    endpoints.metadata = written.metadata;
    endpoints.subsets[0].not_ready_addresses.clear();
    api.update(&endpoints).await.expect("update the Endpoints");
    wait_slices(client, "db", vec![(vec![5432], vec![ip("192.0.2.1", true)])]).await;
    api.delete("db", &DeleteParams::default()).await.expect("delete the Endpoints");
    wait_slices(client, "db", vec![]).await;
    manager.stop().await.expect("controller-manager stops");
    cluster.assert_no_component_refused().await;
}
