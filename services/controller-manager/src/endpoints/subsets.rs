//! What a Service's Endpoints say, from its pods, as pure code.
//!
//! Each pod with an IP that is not terminating gives one address — under
//! `addresses` when its Ready condition is True, else under
//! `notReadyAddresses` — for every Service port whose `targetPort` resolves
//! on it (a number, or a container port found by name and protocol). Then,
//! as Kubernetes' `RepackSubsets` does, ports served by the same set of
//! addresses share a subset: pods that give one named port different
//! numbers land in different subsets. Everything is sorted, so the same
//! pods always give the same object and an unchanged one is never
//! rewritten.

use capstan_proto::core::v1::{
    EndpointAddress, EndpointPort, EndpointSubset, ObjectReference, Pod, Service, ServicePort,
};
use std::borrow::Borrow;
use std::collections::BTreeMap;

/// The label Kubernetes puts on the Endpoints of a headless Service.
pub const HEADLESS_LABEL: &str = "service.kubernetes.io/headless";

/// Whether a Service's selector (non-empty) selects pods with `labels`.
pub fn selects(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// The labels of a Service's Endpoints: the Service's own, plus the
/// headless mark.
pub fn labels(service: &Service) -> BTreeMap<String, String> {
    let mut labels = service.metadata.as_ref().map(|m| m.labels.clone()).unwrap_or_default();
    if service.spec.as_ref().is_some_and(|s| s.cluster_ip == "None") {
        labels.insert(HEADLESS_LABEL.to_string(), String::new());
    }
    labels
}

pub fn is_pod_ready(pod: &Pod) -> bool {
    pod.status.as_ref().is_some_and(|s| s.conditions.iter().any(|c| c.r#type == "Ready" && c.status == "True"))
}

/// A Service or container port's protocol, TCP when left out.
pub fn protocol(text: &str) -> &str {
    if text.is_empty() {
        "TCP"
    } else {
        text
    }
}

/// The pod port a Service port sends to, if the pod has it.
pub fn target_port(pod: &Pod, port: &ServicePort) -> Option<i32> {
    match &port.target_port {
        Some(target) if target.is_string() => pod
            .spec
            .as_ref()?
            .containers
            .iter()
            .flat_map(|c| &c.ports)
            .find(|p| p.name == target.str_val && protocol(&p.protocol) == protocol(&port.protocol))
            .map(|p| p.container_port),
        Some(target) if target.int_val != 0 => Some(target.int_val),
        _ => Some(port.port),
    }
}

/// One address as a sortable key: IP, then the pod's uid.
type AddressKey = (String, String);
/// One endpoint port as a sortable key: name, number, protocol, appProtocol.
type PortKey = (String, i32, String, String);

/// The Endpoints subsets of `service` over `pods` (already selected).
pub fn subsets(service: &Service, pods: &[impl Borrow<Pod>]) -> Vec<EndpointSubset> {
    let spec = service.spec.clone().unwrap_or_default();
    let service_meta = service.metadata.clone().unwrap_or_default();
    let mut addresses: BTreeMap<AddressKey, EndpointAddress> = BTreeMap::new();
    // which addresses (and whether ready) serve each port; `None` stands for
    // "no ports" (a headless Service without any)
    let mut by_port: BTreeMap<Option<PortKey>, BTreeMap<AddressKey, bool>> = BTreeMap::new();
    for pod in pods.iter().map(Borrow::borrow) {
        let meta = pod.metadata.clone().unwrap_or_default();
        let status = pod.status.clone().unwrap_or_default();
        let pod_spec = pod.spec.clone().unwrap_or_default();
        let terminal = status.phase == "Succeeded" || status.phase == "Failed";
        if status.pod_ip.is_empty()
            || terminal
            || (meta.deletion_timestamp.is_some() && !spec.publish_not_ready_addresses)
        {
            continue;
        }
        let ready = spec.publish_not_ready_addresses || is_pod_ready(pod);
        let key = (status.pod_ip.clone(), meta.uid.clone());
        let named = !pod_spec.hostname.is_empty()
            && pod_spec.subdomain == service_meta.name
            && meta.namespace == service_meta.namespace;
        let address = EndpointAddress {
            ip: status.pod_ip.clone(),
            hostname: if named { pod_spec.hostname.clone() } else { String::new() },
            node_name: (!pod_spec.node_name.is_empty()).then(|| pod_spec.node_name.clone()),
            target_ref: Some(ObjectReference {
                kind: "Pod".into(),
                namespace: meta.namespace.clone(),
                name: meta.name.clone(),
                uid: meta.uid.clone(),
                ..Default::default()
            }),
        };
        if spec.ports.is_empty() {
            by_port.entry(None).or_default().insert(key.clone(), ready);
        }
        for port in &spec.ports {
            // a port the pod does not have leaves the pod out of that port only
            let Some(number) = target_port(pod, port) else { continue };
            let port_key = (port.name.clone(), number, protocol(&port.protocol).to_string(), port.app_protocol.clone());
            by_port.entry(Some(port_key)).or_default().insert(key.clone(), ready);
        }
        addresses.insert(key, address);
    }
    // ports served by exactly the same addresses share a subset
    let mut groups: BTreeMap<Vec<(AddressKey, bool)>, Vec<EndpointPort>> = BTreeMap::new();
    for (port, serving) in by_port {
        let ports = groups.entry(serving.into_iter().collect()).or_default();
        if let Some((name, port, protocol, app_protocol)) = port {
            ports.push(EndpointPort { name, port, protocol, app_protocol });
        }
    }
    groups
        .into_iter()
        .map(|(serving, ports)| {
            let mut subset = EndpointSubset { ports, ..Default::default() };
            for (key, ready) in serving {
                let Some(address) = addresses.get(&key).cloned() else { continue };
                if ready {
                    subset.addresses.push(address);
                } else {
                    subset.not_ready_addresses.push(address);
                }
            }
            subset
        })
        .collect()
}

/// Whether a pod changed in a way its Endpoints can see.
pub fn relevant_change(old: &Pod, new: &Pod) -> bool {
    let view = |pod: &Pod| {
        let meta = pod.metadata.clone().unwrap_or_default();
        let spec = pod.spec.clone().unwrap_or_default();
        let status = pod.status.clone().unwrap_or_default();
        let ports: Vec<_> = spec.containers.iter().flat_map(|c| c.ports.clone()).collect();
        (
            meta.labels,
            meta.deletion_timestamp.is_some(),
            status.pod_ip,
            status.phase,
            is_pod_ready(pod),
            spec.node_name,
            spec.hostname,
            spec.subdomain,
            ports,
        )
    };
    view(old) != view(new)
}

/// A running pod of the tests here and of the EndpointSlice controller's:
/// labelled `app=web`, on node `n1`, with one container's named ports.
#[cfg(test)]
pub(crate) fn test_pod(name: &str, ip: &str, ready: bool, ports: &[(&str, i32)]) -> Pod {
    let ports = ports
        .iter()
        .map(|(name, number)| capstan_proto::core::v1::ContainerPort {
            name: name.to_string(),
            container_port: *number,
            protocol: "TCP".into(),
            ..Default::default()
        })
        .collect();
    Pod {
        metadata: Some(capstan_proto::meta::v1::ObjectMeta {
            name: name.into(),
            namespace: "default".into(),
            uid: format!("uid-{name}"),
            labels: [("app".to_string(), "web".to_string())].into(),
            ..Default::default()
        }),
        spec: Some(capstan_proto::core::v1::PodSpec {
            node_name: "n1".into(),
            containers: vec![capstan_proto::core::v1::Container { name: "app".into(), ports, ..Default::default() }],
            ..Default::default()
        }),
        status: Some(capstan_proto::core::v1::PodStatus {
            phase: "Running".into(),
            pod_ip: ip.into(),
            conditions: vec![capstan_proto::core::v1::PodCondition {
                r#type: "Ready".into(),
                status: if ready { "True" } else { "False" }.into(),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::test_pod as pod;
    use super::*;
    use capstan_proto::core::v1::{ContainerPort, ServiceSpec};
    use capstan_proto::meta::v1::{IntOrString, ObjectMeta, Time};

    fn service(ports: Vec<ServicePort>) -> Service {
        Service {
            metadata: Some(ObjectMeta { name: "web".into(), namespace: "default".into(), ..Default::default() }),
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

    /// A subset as (ready IPs, not-ready IPs, "name:port" ports).
    fn summary(subsets: &[EndpointSubset]) -> Vec<(Vec<String>, Vec<String>, Vec<String>)> {
        subsets
            .iter()
            .map(|s| {
                (
                    s.addresses.iter().map(|a| a.ip.clone()).collect(),
                    s.not_ready_addresses.iter().map(|a| a.ip.clone()).collect(),
                    s.ports.iter().map(|p| format!("{}:{}", p.name, p.port)).collect(),
                )
            })
            .collect()
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn subsets_by_readiness_and_target_port() {
        let http_by_name = port("http", 80, IntOrString::from_string("http"));
        let by_number = port("", 80, IntOrString::from_int(8080));
        let mut terminating = pod("d", "10.0.0.4", true, &[("http", 8080)]);
        if let Some(meta) = terminating.metadata.as_mut() {
            meta.deletion_timestamp = Some(Time { seconds: 1, nanos: 0 });
        }
        let mut finished = pod("f", "10.0.0.6", false, &[("http", 8080)]);
        if let Some(status) = finished.status.as_mut() {
            status.phase = "Succeeded".into();
        }
        let cases = vec![
            (
                "ready and not ready, a numeric target port",
                vec![by_number.clone()],
                vec![pod("a", "10.0.0.1", true, &[]), pod("b", "10.0.0.2", false, &[])],
                vec![(strings(&["10.0.0.1"]), strings(&["10.0.0.2"]), strings(&[":8080"]))],
            ),
            (
                "no IP, terminating or finished: left out",
                vec![by_number.clone()],
                vec![pod("a", "10.0.0.1", true, &[]), pod("c", "", true, &[]), terminating.clone(), finished],
                vec![(strings(&["10.0.0.1"]), vec![], strings(&[":8080"]))],
            ),
            (
                "a named port with different numbers makes two subsets; a pod without it is left out",
                vec![http_by_name.clone()],
                vec![
                    pod("a", "10.0.0.1", true, &[("http", 8080)]),
                    pod("b", "10.0.0.2", false, &[("http", 8080)]),
                    pod("c", "10.0.0.3", true, &[("http", 9090)]),
                    pod("e", "10.0.0.5", true, &[("metrics", 9100)]),
                ],
                vec![
                    (strings(&["10.0.0.1"]), strings(&["10.0.0.2"]), strings(&["http:8080"])),
                    (strings(&["10.0.0.3"]), vec![], strings(&["http:9090"])),
                ],
            ),
            (
                "ports served by the same pods share a subset",
                vec![http_by_name.clone(), port("metrics", 9100, IntOrString::from_string("metrics"))],
                vec![
                    pod("a", "10.0.0.1", true, &[("http", 8080), ("metrics", 9100)]),
                    pod("b", "10.0.0.2", true, &[("http", 8080), ("metrics", 9100)]),
                    pod("c", "10.0.0.3", true, &[("http", 8080)]),
                ],
                vec![
                    (strings(&["10.0.0.1", "10.0.0.2"]), vec![], strings(&["metrics:9100"])),
                    (strings(&["10.0.0.1", "10.0.0.2", "10.0.0.3"]), vec![], strings(&["http:8080"])),
                ],
            ),
            ("no pods, no subsets", vec![by_number.clone()], vec![], vec![]),
        ];
        for (what, ports, pods, want) in cases {
            assert_eq!(summary(&subsets(&service(ports), &pods)), want, "{what}");
        }
    }

    #[test]
    fn addresses_name_their_pod_and_ports_keep_name_and_protocol() {
        let mut udp = port("dns", 53, IntOrString::from_string("dns"));
        udp.protocol = "UDP".into();
        let mut p = pod("a", "10.0.0.1", true, &[]);
        if let Some(container) = p.spec.as_mut().and_then(|s| s.containers.first_mut()) {
            container.ports = vec![
                ContainerPort {
                    name: "dns".into(),
                    container_port: 5353,
                    protocol: "UDP".into(),
                    ..Default::default()
                },
                ContainerPort {
                    name: "dns".into(),
                    container_port: 5300,
                    protocol: "TCP".into(),
                    ..Default::default()
                },
            ];
        }
        let got = subsets(&service(vec![udp]), &[p]);
        assert_eq!(got.len(), 1);
        let port = &got[0].ports[0];
        assert_eq!(
            (port.name.as_str(), port.port, port.protocol.as_str()),
            ("dns", 5353, "UDP"),
            "matched by protocol"
        );
        let address = &got[0].addresses[0];
        assert_eq!(address.node_name.as_deref(), Some("n1"));
        let target = address.target_ref.clone().unwrap_or_default();
        assert_eq!((target.kind.as_str(), target.name.as_str(), target.uid.as_str()), ("Pod", "a", "uid-a"));
    }

    #[test]
    fn publish_not_ready_addresses_counts_every_pod_ready() {
        let mut svc = service(vec![port("", 80, IntOrString::from_int(80))]);
        if let Some(spec) = svc.spec.as_mut() {
            spec.publish_not_ready_addresses = true;
        }
        let got = subsets(&svc, &[pod("b", "10.0.0.2", false, &[])]);
        assert_eq!(summary(&got), vec![(strings(&["10.0.0.2"]), vec![], strings(&[":80"]))]);
    }

    #[test]
    fn selection_and_changes() {
        let selector: BTreeMap<String, String> = [("app".to_string(), "web".to_string())].into();
        let pod_labels: BTreeMap<String, String> =
            [("app".to_string(), "web".to_string()), ("tier".to_string(), "front".to_string())].into();
        assert!(selects(&selector, &pod_labels));
        assert!(!selects(&selector, &BTreeMap::new()));
        assert!(!selects(&BTreeMap::new(), &pod_labels), "an empty selector selects nothing");
        let a = pod("a", "10.0.0.1", false, &[]);
        assert!(!relevant_change(&a, &a.clone()));
        assert!(relevant_change(&a, &pod("a", "10.0.0.1", true, &[])), "readiness");
        assert!(relevant_change(&a, &pod("a", "10.0.0.9", false, &[])), "IP");
        let mut restarted = a.clone();
        if let Some(status) = restarted.status.as_mut() {
            status.start_time = Some(Time { seconds: 5, nanos: 0 });
        }
        assert!(!relevant_change(&a, &restarted), "a status detail the Endpoints do not show");
        let mut headless = service(vec![]);
        if let Some(spec) = headless.spec.as_mut() {
            spec.cluster_ip = "None".into();
        }
        assert_eq!(labels(&headless).get(HEADLESS_LABEL).map(String::as_str), Some(""));
    }
}
