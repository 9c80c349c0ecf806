//! Table-driven tests of [`crate::service_env`]: names, ports, which Services
//! a pod sees, and the container's own env winning.

use std::sync::Arc;

use capstan_proto::core::v1::{Pod, PodSpec, Service, ServicePort, ServiceSpec};
use capstan_proto::meta::v1::ObjectMeta;
use capstan_proto::runtime::v1::KeyValue;

use crate::service_env::{service_env, with_service_env};

fn service(namespace: &str, name: &str, cluster_ip: &str, ports: &[(&str, &str, i32)]) -> Arc<Service> {
    Arc::new(Service {
        metadata: Some(ObjectMeta { name: name.into(), namespace: namespace.into(), ..Default::default() }),
        spec: Some(ServiceSpec {
            cluster_ip: cluster_ip.into(),
            ports: ports
                .iter()
                .map(|(name, protocol, port)| ServicePort {
                    name: name.to_string(),
                    protocol: protocol.to_string(),
                    port: *port,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }),
        ..Default::default()
    })
}

fn pod(namespace: &str, links: Option<bool>) -> Pod {
    Pod {
        metadata: Some(ObjectMeta { name: "web".into(), namespace: namespace.into(), ..Default::default() }),
        spec: Some(PodSpec { enable_service_links: links, ..Default::default() }),
        ..Default::default()
    }
}

fn pairs(env: &[KeyValue]) -> Vec<(String, String)> {
    env.iter().map(|kv| (kv.key.clone(), kv.value.clone())).collect()
}

fn expected(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

const KUBERNETES: &[(&str, &str)] = &[
    ("KUBERNETES_SERVICE_HOST", "10.96.0.1"),
    ("KUBERNETES_SERVICE_PORT", "443"),
    ("KUBERNETES_SERVICE_PORT_HTTPS", "443"),
    ("KUBERNETES_PORT", "tcp://10.96.0.1:443"),
    ("KUBERNETES_PORT_443_TCP", "tcp://10.96.0.1:443"),
    ("KUBERNETES_PORT_443_TCP_PROTO", "tcp"),
    ("KUBERNETES_PORT_443_TCP_PORT", "443"),
    ("KUBERNETES_PORT_443_TCP_ADDR", "10.96.0.1"),
];

/// A row: its name, the pod, the Services known, the variables expected.
type Case<'a> = (&'a str, Pod, &'a [Arc<Service>], Vec<(&'a str, &'a str)>);

#[test]
fn a_pod_gets_its_namespaces_services_as_the_kubelet_names_them() {
    let services = vec![
        service("default", "kubernetes", "10.96.0.1", &[("https", "TCP", 443)]),
        service("shop", "redis-master", "10.96.0.20", &[("", "", 6379)]),
        service("shop", "dns", "10.96.0.30", &[("dns", "UDP", 53), ("dns-tcp", "TCP", 53)]),
        service("shop", "headless", "None", &[("", "TCP", 80)]),
        service("shop", "external", "", &[]),
        service("shop", "v6", "fd00::10", &[("", "TCP", 80)]),
        service("other", "elsewhere", "10.96.0.40", &[("", "TCP", 80)]),
    ];
    let shop = [
        ("DNS_SERVICE_HOST", "10.96.0.30"),
        ("DNS_SERVICE_PORT", "53"),
        ("DNS_SERVICE_PORT_DNS", "53"),
        ("DNS_SERVICE_PORT_DNS_TCP", "53"),
        ("DNS_PORT", "udp://10.96.0.30:53"),
        ("DNS_PORT_53_UDP", "udp://10.96.0.30:53"),
        ("DNS_PORT_53_UDP_PROTO", "udp"),
        ("DNS_PORT_53_UDP_PORT", "53"),
        ("DNS_PORT_53_UDP_ADDR", "10.96.0.30"),
        ("DNS_PORT_53_TCP", "tcp://10.96.0.30:53"),
        ("DNS_PORT_53_TCP_PROTO", "tcp"),
        ("DNS_PORT_53_TCP_PORT", "53"),
        ("DNS_PORT_53_TCP_ADDR", "10.96.0.30"),
    ];
    let redis = [
        ("REDIS_MASTER_SERVICE_HOST", "10.96.0.20"),
        ("REDIS_MASTER_SERVICE_PORT", "6379"),
        ("REDIS_MASTER_PORT", "tcp://10.96.0.20:6379"),
        ("REDIS_MASTER_PORT_6379_TCP", "tcp://10.96.0.20:6379"),
        ("REDIS_MASTER_PORT_6379_TCP_PROTO", "tcp"),
        ("REDIS_MASTER_PORT_6379_TCP_PORT", "6379"),
        ("REDIS_MASTER_PORT_6379_TCP_ADDR", "10.96.0.20"),
    ];
    let v6 = [
        ("V6_SERVICE_HOST", "fd00::10"),
        ("V6_SERVICE_PORT", "80"),
        ("V6_PORT", "tcp://[fd00::10]:80"),
        ("V6_PORT_80_TCP", "tcp://[fd00::10]:80"),
        ("V6_PORT_80_TCP_PROTO", "tcp"),
        ("V6_PORT_80_TCP_PORT", "80"),
        ("V6_PORT_80_TCP_ADDR", "fd00::10"),
    ];
    let all_of_shop = [&shop[..], KUBERNETES, &redis[..], &v6[..]].concat();
    // a Service of the pod's namespace named like a master Service wins over it
    let mut shadowing = services.clone();
    shadowing.push(service("shop", "kubernetes", "10.96.0.99", &[("", "TCP", 80)]));
    let cases: Vec<Case> = vec![
        (
            "links on by default: the namespace's Services with a cluster IP, and kubernetes",
            pod("shop", None),
            &services,
            all_of_shop.clone(),
        ),
        ("links on", pod("shop", Some(true)), &services, all_of_shop),
        ("links off: only the master Service", pod("shop", Some(false)), &services, KUBERNETES.to_vec()),
        (
            "another namespace sees its own",
            pod("other", None),
            &services,
            [
                ("ELSEWHERE_SERVICE_HOST", "10.96.0.40"),
                ("ELSEWHERE_SERVICE_PORT", "80"),
                ("ELSEWHERE_PORT", "tcp://10.96.0.40:80"),
                ("ELSEWHERE_PORT_80_TCP", "tcp://10.96.0.40:80"),
                ("ELSEWHERE_PORT_80_TCP_PROTO", "tcp"),
                ("ELSEWHERE_PORT_80_TCP_PORT", "80"),
                ("ELSEWHERE_PORT_80_TCP_ADDR", "10.96.0.40"),
            ]
            .iter()
            .chain(KUBERNETES)
            .copied()
            .collect(),
        ),
        (
            "links off: a namespace's own kubernetes is not taken, the master one is",
            pod("shop", Some(false)),
            &shadowing,
            KUBERNETES.to_vec(),
        ),
        ("no Services, no variables", pod("shop", None), &[], vec![]),
    ];
    for (name, pod, services, want) in cases {
        assert_eq!(pairs(&service_env(&pod, services)), expected(&want), "{name}");
    }
    let got = pairs(&service_env(&pod("shop", None), &shadowing));
    assert!(got.contains(&("KUBERNETES_SERVICE_HOST".into(), "10.96.0.99".into())), "{got:?}");
    assert!(!got.contains(&("KUBERNETES_SERVICE_HOST".into(), "10.96.0.1".into())), "{got:?}");
}

#[test]
fn the_containers_own_env_wins_over_a_service_variable() {
    let kv = |k: &str, v: &str| KeyValue { key: k.into(), value: v.into() };
    let services = [kv("REDIS_SERVICE_HOST", "10.96.0.20"), kv("REDIS_SERVICE_PORT", "6379")];
    let own = vec![kv("REDIS_SERVICE_HOST", "localhost"), kv("MODE", "test")];
    assert_eq!(
        pairs(&with_service_env(own, &services)),
        expected(&[("REDIS_SERVICE_PORT", "6379"), ("REDIS_SERVICE_HOST", "localhost"), ("MODE", "test")])
    );
}
