//! The slice computation and the write plan, table-driven over pod sets.

use super::*;
use crate::endpoints::subsets::test_pod as pod;
use capstan_proto::core::v1::{ServicePort, ServiceSpec};
use capstan_proto::meta::v1::{IntOrString, ObjectMeta, Time};

fn deleting(mut pod: Pod) -> Pod {
    pod.metadata.get_or_insert_with(Default::default).deletion_timestamp = Some(Time { seconds: 1, nanos: 0 });
    pod
}

fn service(ports: Vec<ServicePort>) -> Service {
    Service {
        metadata: Some(ObjectMeta {
            name: "web".into(),
            namespace: "default".into(),
            uid: "svc-uid".into(),
            ..Default::default()
        }),
        spec: Some(ServiceSpec {
            selector: [("app".to_string(), "web".to_string())].into(),
            ports,
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn port(name: &str, port: i32, target: IntOrString) -> ServicePort {
    ServicePort { name: name.into(), port, protocol: "TCP".into(), target_port: Some(target), ..Default::default() }
}

fn zones(node: &str) -> Option<String> {
    (node == "n1").then(|| "zone-a".to_string())
}

/// A slice as (address type, "name:port" ports, "ip ready/serving/terminating" endpoints).
type Summary = Vec<(String, Vec<String>, Vec<String>)>;

fn summary(slices: &[Desired]) -> Summary {
    slices
        .iter()
        .map(|s| {
            let ports = s
                .ports
                .iter()
                .map(|p| {
                    format!("{}:{}", p.name.as_deref().unwrap_or(""), p.port.map_or("-".into(), |p| p.to_string()))
                })
                .collect();
            let endpoints = s
                .endpoints
                .iter()
                .map(|e| {
                    let c = e.conditions.unwrap_or_default();
                    let flag = |b: Option<bool>| if b == Some(true) { "t" } else { "f" };
                    format!("{} {}{}{}", e.addresses.join(","), flag(c.ready), flag(c.serving), flag(c.terminating))
                })
                .collect();
            (s.address_type.clone(), ports, endpoints)
        })
        .collect()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn slices_from_pods() {
    let by_number = port("", 80, IntOrString::from_int(8080));
    let by_name = port("http", 80, IntOrString::from_string("http"));
    let mut finished = pod("f", "10.0.0.9", false, &[]);
    if let Some(status) = finished.status.as_mut() {
        status.phase = "Failed".into();
    }
    let cases: Vec<(&str, Vec<ServicePort>, Vec<Pod>, Summary)> = vec![
        (
            "no pods: one empty slice with the Service's ports",
            vec![by_number.clone()],
            vec![],
            vec![("IPv4".into(), strings(&[":-"]), vec![])],
        ),
        ("no pods and no ports: no slice", vec![], vec![], vec![]),
        (
            "ready and not-ready pods share a slice, by condition",
            vec![by_number.clone()],
            vec![pod("b", "10.0.0.2", false, &[]), pod("a", "10.0.0.1", true, &[])],
            vec![("IPv4".into(), strings(&[":8080"]), strings(&["10.0.0.1 ttf", "10.0.0.2 fff"]))],
        ),
        (
            "a terminating pod is listed, serving but not ready; a finished or IP-less pod is not",
            vec![by_number.clone()],
            vec![deleting(pod("a", "10.0.0.1", true, &[])), finished.clone(), pod("c", "", true, &[])],
            vec![("IPv4".into(), strings(&[":8080"]), strings(&["10.0.0.1 ftt"]))],
        ),
        (
            "named ports: pods that give the name different numbers land in different slices",
            vec![by_name.clone()],
            vec![
                pod("a", "10.0.0.1", true, &[("http", 8080)]),
                pod("b", "10.0.0.2", true, &[("http", 9090)]),
                pod("c", "10.0.0.3", true, &[("http", 8080)]),
            ],
            vec![
                ("IPv4".into(), strings(&["http:8080"]), strings(&["10.0.0.1 ttf", "10.0.0.3 ttf"])),
                ("IPv4".into(), strings(&["http:9090"]), strings(&["10.0.0.2 ttf"])),
            ],
        ),
        (
            "a pod without the named port keeps the other ports",
            vec![by_name.clone(), port("metrics", 9100, IntOrString::from_int(9100))],
            vec![pod("a", "10.0.0.1", true, &[("http", 8080)]), pod("b", "10.0.0.2", true, &[])],
            vec![
                ("IPv4".into(), strings(&["http:8080", "metrics:9100"]), strings(&["10.0.0.1 ttf"])),
                ("IPv4".into(), strings(&["metrics:9100"]), strings(&["10.0.0.2 ttf"])),
            ],
        ),
        (
            "IPv6 pods get their own slice",
            vec![by_number.clone()],
            vec![pod("a", "10.0.0.1", true, &[]), pod("b", "fd00::1", true, &[])],
            vec![
                ("IPv4".into(), strings(&[":8080"]), strings(&["10.0.0.1 ttf"])),
                ("IPv6".into(), strings(&[":8080"]), strings(&["fd00::1 ttf"])),
            ],
        ),
    ];
    for (name, ports, pods, want) in cases {
        assert_eq!(summary(&desired(&service(ports), &pods, zones)), want, "{name}");
    }
}

#[test]
fn endpoints_name_their_pod_node_and_zone() {
    let mut named = pod("a", "10.0.0.1", true, &[]);
    if let Some(spec) = named.spec.as_mut() {
        spec.hostname = "a".into();
        spec.subdomain = "web".into();
    }
    let slices = desired(&service(vec![port("", 80, IntOrString::from_int(80))]), &[named], zones);
    let endpoint = &slices[0].endpoints[0];
    assert_eq!(endpoint.node_name.as_deref(), Some("n1"));
    assert_eq!(endpoint.zone.as_deref(), Some("zone-a"));
    assert_eq!(endpoint.hostname.as_deref(), Some("a"));
    let target = endpoint.target_ref.clone().unwrap_or_default();
    assert_eq!((target.kind.as_str(), target.name.as_str(), target.uid.as_str()), ("Pod", "a", "uid-a"));
    assert_eq!(slices[0].ports[0].protocol.as_deref(), Some("TCP"));
}

#[test]
fn publish_not_ready_addresses_makes_every_endpoint_ready() {
    let mut svc = service(vec![port("", 80, IntOrString::from_int(80))]);
    if let Some(spec) = svc.spec.as_mut() {
        spec.publish_not_ready_addresses = true;
    }
    let slices = desired(&svc, &[pod("a", "10.0.0.1", false, &[])], zones);
    assert_eq!(summary(&slices)[0].2, strings(&["10.0.0.1 tff"]));
}

#[test]
fn more_than_a_hundred_endpoints_are_split() {
    let pods: Vec<Pod> =
        (0..250).map(|i| pod(&format!("p{i:03}"), &format!("10.0.{}.{}", i / 200, i % 200), true, &[])).collect();
    let slices = desired(&service(vec![port("", 80, IntOrString::from_int(80))]), &pods, zones);
    let sizes: Vec<usize> = slices.iter().map(|s| s.endpoints.len()).collect();
    assert_eq!(sizes, [100, 100, 50]);
    let mut all: Vec<&str> = slices.iter().flat_map(|s| &s.endpoints).map(|e| e.addresses[0].as_str()).collect();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 250, "every pod once");
}

/// Stored slices saying what `desired` says, named `web-0`, `web-1`, ...
fn stored(slices: &[Desired]) -> Vec<EndpointSlice> {
    slices
        .iter()
        .enumerate()
        .map(|(i, d)| EndpointSlice {
            metadata: Some(ObjectMeta { name: format!("web-{i}"), ..Default::default() }),
            address_type: d.address_type.clone(),
            ports: d.ports.clone(),
            endpoints: d.endpoints.clone(),
            ..Default::default()
        })
        .collect()
}

/// A plan as (how many creates, names updated, names deleted).
type Shape = (usize, Vec<String>, Vec<String>);

fn shape(plan: &Plan) -> Shape {
    (plan.create.len(), plan.update.iter().map(|(n, _)| n.clone()).collect(), plan.delete.clone())
}

#[test]
fn plans_write_only_what_changed() {
    let svc = service(vec![port("", 80, IntOrString::from_int(80))]);
    let three = [pod("a", "10.0.0.1", true, &[]), pod("b", "10.0.0.2", true, &[]), pod("c", "10.0.0.3", false, &[])];
    let before = stored(&desired(&svc, &three, zones));
    let mut unselecting = service(vec![port("", 80, IntOrString::from_int(80))]);
    if let Some(spec) = unselecting.spec.as_mut() {
        spec.selector = [("app".to_string(), "api".to_string())].into();
    }
    let many: Vec<Pod> = (0..150).map(|i| pod(&format!("p{i:03}"), &format!("10.1.0.{i}"), true, &[])).collect();
    let cases: Vec<(&str, Vec<EndpointSlice>, Vec<Desired>, Shape)> = vec![
        ("nothing yet: create", vec![], desired(&svc, &three, zones), (1, vec![], vec![])),
        ("unchanged: nothing", before.clone(), desired(&svc, &three, zones), (0, vec![], vec![])),
        (
            "a pod deleted: the slice is updated in place",
            before.clone(),
            desired(&svc, &three[..2], zones),
            (0, strings(&["web-0"]), vec![]),
        ),
        (
            "a pod turning ready: updated in place",
            before.clone(),
            desired(&svc, &[three[0].clone(), three[1].clone(), pod("c", "10.0.0.3", true, &[])], zones),
            (0, strings(&["web-0"]), vec![]),
        ),
        (
            // the selector no longer matches the pods: the caller selects none
            "selector changed to match no pod: the slice keeps the ports and loses its endpoints",
            before.clone(),
            desired(&unselecting, &Vec::<Pod>::new(), zones),
            (0, strings(&["web-0"]), vec![]),
        ),
        ("selector removed: every slice goes", before.clone(), vec![], (0, vec![], strings(&["web-0"]))),
        (
            "growing past 100: one more slice",
            before.clone(),
            desired(&svc, &many, zones),
            (1, strings(&["web-0"]), vec![]),
        ),
        (
            "shrinking under 100: the extra slice goes",
            stored(&desired(&svc, &many, zones)),
            desired(&svc, &many[..40], zones),
            (0, strings(&["web-0"]), strings(&["web-1"])),
        ),
    ];
    for (name, existing, want, expected) in cases {
        assert_eq!(shape(&plan(&existing, want)), expected, "{name}");
    }
}

#[test]
fn slices_are_labelled_for_kubectl() {
    let labels = slice_labels(&service(vec![]));
    assert_eq!(labels.get(SERVICE_NAME_LABEL).map(String::as_str), Some("web"));
    assert_eq!(labels.get(MANAGED_BY_LABEL).map(String::as_str), Some(MANAGED_BY));
    let slice = EndpointSlice { metadata: Some(ObjectMeta { labels, ..Default::default() }), ..Default::default() };
    assert!(is_managed(&slice));
    assert_eq!(service_name(&slice), Some("web"));
    assert!(!is_managed(&EndpointSlice::default()), "a slice without the label is the user's");
}

#[test]
fn endpoints_of_a_selectorless_service_are_mirrored() {
    use capstan_proto::core::v1::{EndpointAddress, EndpointPort as CorePort, EndpointSubset};
    let address = |ip: &str| EndpointAddress { ip: ip.into(), ..Default::default() };
    let port = |name: &str, port: i32, protocol: &str| CorePort {
        name: name.into(),
        port,
        protocol: protocol.into(),
        ..Default::default()
    };
    let endpoints = Endpoints {
        subsets: vec![
            EndpointSubset {
                addresses: vec![
                    EndpointAddress { hostname: "db-0".into(), node_name: Some("n1".into()), ..address("10.0.0.2") },
                    address("10.0.0.1"),
                    address("fd00::1"),
                    address("not-an-ip"),
                ],
                not_ready_addresses: vec![address("10.0.0.3")],
                ports: vec![port("sql", 5432, "TCP"), port("", 53, "")],
            },
            EndpointSubset {
                addresses: vec![address("10.0.1.1")],
                ports: vec![port("sql", 6432, "TCP")],
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    let slices = mirrored(&endpoints);
    type Ports<'a> = Vec<(Option<&'a str>, Option<i32>, Option<&'a str>)>;
    type Shape<'a> = (&'a str, Ports<'a>, Vec<(&'a str, Option<bool>)>);
    let shape: Vec<Shape> = slices
        .iter()
        .map(|s| {
            let ports = s.ports.iter().map(|p| (p.name.as_deref(), p.port, p.protocol.as_deref())).collect();
            let endpoints = s
                .endpoints
                .iter()
                .map(|e| (e.addresses[0].as_str(), e.conditions.as_ref().and_then(|c| c.ready)))
                .collect();
            (s.address_type.as_str(), ports, endpoints)
        })
        .collect();
    let both = vec![(Some(""), Some(53), Some("TCP")), (Some("sql"), Some(5432), Some("TCP"))];
    assert_eq!(
        shape,
        vec![
            ("IPv4", both.clone(), vec![("10.0.0.1", Some(true)), ("10.0.0.2", Some(true)), ("10.0.0.3", Some(false))]),
            ("IPv4", vec![(Some("sql"), Some(6432), Some("TCP"))], vec![("10.0.1.1", Some(true))]),
            ("IPv6", both, vec![("fd00::1", Some(true))]),
        ]
    );
    let named = slices[0].endpoints.iter().find(|e| e.addresses[0] == "10.0.0.2").expect("10.0.0.2");
    assert_eq!((named.hostname.as_deref(), named.node_name.as_deref()), (Some("db-0"), Some("n1")));
    assert!(mirrored(&Endpoints::default()).is_empty());
}
