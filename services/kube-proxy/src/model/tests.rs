//! The Service/Endpoints → table translation.

use super::*;
use capstan_proto::core::v1::{
    ClientIpConfig, EndpointAddress, EndpointPort, EndpointSubset, ServiceSpec, SessionAffinityConfig,
};
use capstan_proto::meta::v1::ObjectMeta;
use std::sync::Arc;

fn service(kind: &str, annotation: Option<&str>, affinity: Option<Option<i32>>) -> Arc<Service> {
    let mut meta = ObjectMeta { name: "web".into(), namespace: "default".into(), ..Default::default() };
    if let Some(a) = annotation {
        meta.annotations.insert(LB_ANNOTATION.into(), a.into());
    }
    let spec = ServiceSpec {
        r#type: kind.into(),
        cluster_ip: "10.96.0.7".into(),
        ports: vec![
            ServicePort {
                name: "http".into(),
                protocol: "TCP".into(),
                port: 80,
                node_port: 30080,
                ..Default::default()
            },
            ServicePort {
                name: "dns".into(),
                protocol: "UDP".into(),
                port: 53,
                node_port: 30053,
                ..Default::default()
            },
        ],
        session_affinity: if affinity.is_some() { "ClientIP".into() } else { "None".into() },
        session_affinity_config: affinity
            .map(|t| SessionAffinityConfig { client_ip: Some(ClientIpConfig { timeout_seconds: t }) }),
        ..Default::default()
    };
    Arc::new(Service { metadata: Some(meta), spec: Some(spec), ..Default::default() })
}

fn endpoints() -> Arc<Endpoints> {
    let address = |ip: &str| EndpointAddress { ip: ip.into(), ..Default::default() };
    Arc::new(Endpoints {
        subsets: vec![EndpointSubset {
            addresses: vec![address("10.1.0.1"), address("10.1.0.2")],
            not_ready_addresses: vec![address("10.1.0.3")],
            ports: vec![
                EndpointPort { name: "http".into(), port: 8080, protocol: "TCP".into(), ..Default::default() },
                EndpointPort { name: "dns".into(), port: 5353, protocol: "UDP".into(), ..Default::default() },
            ],
        }],
        ..Default::default()
    })
}

fn http_spec(svc: Arc<Service>, mode: Algorithm) -> PortSpec {
    let config = TableConfig { mode, nodeport_addresses: vec![IpAddr::from([127, 0, 0, 1])] };
    let t = table(&[svc], &|_, _| Some(endpoints()), &config);
    assert_eq!(t.len(), 2);
    let key = PortKey { namespace: "default".into(), name: "web".into(), port: "http".into(), protocol: Protocol::Tcp };
    t.get(&key).cloned().unwrap_or_else(|| panic!("no http port in {t:?}"))
}

#[test]
fn table_cases() {
    let node = |p| SocketAddr::from(([127, 0, 0, 1], p));
    let cluster = SocketAddr::from(([10, 96, 0, 7], 80));
    let hour3 = Some(Duration::from_secs(10_800));
    let cases = [
        ("ClusterIP", None, None, Algorithm::RoundRobin, vec![cluster], Algorithm::RoundRobin, None),
        ("NodePort", None, None, Algorithm::RoundRobin, vec![node(30080), cluster], Algorithm::RoundRobin, None),
        (
            "LoadBalancer",
            Some("random"),
            None,
            Algorithm::RoundRobin,
            vec![node(30080), cluster],
            Algorithm::Random,
            None,
        ),
        ("NodePort", Some("bogus"), None, Algorithm::Random, vec![node(30080), cluster], Algorithm::Random, None),
        ("NodePort", None, Some(None), Algorithm::RoundRobin, vec![node(30080), cluster], Algorithm::RoundRobin, hour3),
        (
            "NodePort",
            None,
            Some(Some(60)),
            Algorithm::RoundRobin,
            vec![node(30080), cluster],
            Algorithm::RoundRobin,
            Some(Duration::from_secs(60)),
        ),
    ];
    for (kind, annotation, affinity, mode, listen, algorithm, timeout) in cases {
        let spec = http_spec(service(kind, annotation, affinity), mode);
        assert_eq!(spec.listen, listen, "{kind} {annotation:?}");
        assert_eq!(spec.algorithm, algorithm, "{kind} {annotation:?}");
        assert_eq!(spec.affinity, timeout, "{kind} {affinity:?}");
        let ready = vec![SocketAddr::from(([10, 1, 0, 1], 8080)), SocketAddr::from(([10, 1, 0, 2], 8080))];
        assert_eq!(spec.backends, ready, "not-ready addresses are never backends");
    }
}

#[test]
fn the_interface_holds_each_cluster_ip_once_and_no_headless_one() {
    let config = TableConfig { mode: Algorithm::RoundRobin, nodeport_addresses: vec![] };
    let headless = {
        let mut service = (*service("ClusterIP", None, None)).clone();
        let meta = service.metadata.get_or_insert_with(Default::default);
        meta.name = "headless".into();
        service.spec.get_or_insert_with(Default::default).cluster_ip = "None".into();
        Arc::new(service)
    };
    let services = [service("ClusterIP", None, None), headless];
    let t = table(&services, &|_, _| Some(endpoints()), &config);
    assert_eq!(t.len(), 4, "two ports of each Service");
    let ips: Vec<IpAddr> = cluster_ips(&t).into_iter().collect();
    assert_eq!(ips, [IpAddr::from([10, 96, 0, 7])], "one address for both ports; none for the headless Service");
    let headless_port = t.iter().find(|(key, _)| key.name == "headless").map(|(_, spec)| spec);
    assert!(headless_port.is_some_and(|spec| spec.listen.is_empty() && spec.cluster_ip.is_none()));
}
