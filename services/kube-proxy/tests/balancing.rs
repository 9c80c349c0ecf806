//! Through a real API server and the proxy's node port: round-robin is an
//! exact cycle, random is uniform, ClientIP affinity pins a client.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use capstan_kube_proxy::Algorithm;
use common::backends::{ask, Backends};
use common::{cluster, eventually, ServiceOptions};

/// Starts `mode`, three backends a, b, c and Service `web`; waits until all three answer.
async fn three_backends(mode: Algorithm, options: ServiceOptions) -> (common::Cluster, Backends, std::net::SocketAddr) {
    let cluster = cluster(mode).await;
    let mut backends = Backends::default();
    let ready = [backends.tcp("a").await, backends.tcp("b").await, backends.tcp("c").await];
    let node_port = cluster.service("web", options).await;
    cluster.endpoints("web", "TCP", &ready, &[]).await;
    (cluster, backends, node_port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_robin_is_an_exact_cycle() {
    let (_cluster, _backends, node_port) = three_backends(Algorithm::RoundRobin, ServiceOptions::default()).await;
    let seen = std::cell::RefCell::new(BTreeSet::new());
    eventually("all three backends behind the node port", || async {
        if let Ok(name) = ask(node_port).await {
            seen.borrow_mut().insert(name);
        }
        seen.borrow().len() == 3
    })
    .await;
    let mut names = Vec::new();
    for _ in 0..30 {
        names.push(ask(node_port).await.expect("answer through the proxy"));
    }
    let cycle: BTreeSet<_> = names[..3].iter().cloned().collect();
    assert_eq!(cycle.len(), 3, "the first three are distinct: {names:?}");
    for (i, name) in names.iter().enumerate() {
        assert_eq!(name, &names[i % 3], "connection {i} breaks the cycle: {names:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_shares_are_uniform() {
    let (_cluster, _backends, node_port) = three_backends(Algorithm::Random, ServiceOptions::default()).await;
    eventually("the node port answers", || async move { ask(node_port).await.is_ok() }).await;
    let n = 300;
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for _ in 0..n {
        *counts.entry(ask(node_port).await.expect("answer")).or_default() += 1;
    }
    assert_eq!(counts.len(), 3, "every backend is chosen: {counts:?}");
    let expected = n as f64 / 3.0;
    let chi2: f64 = counts.values().map(|c| (*c as f64 - expected).powi(2) / expected).sum();
    // 2 degrees of freedom: p = 0.0001 is at 18.4
    assert!(chi2 < 18.4, "chi-square {chi2} for {counts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn annotation_overrides_the_mode() {
    let mut options = ServiceOptions::default();
    options.annotations.insert("capstan.io/lb-algorithm".into(), "round-robin".into());
    let (_cluster, _backends, node_port) = three_backends(Algorithm::Random, options).await;
    eventually("the node port answers", || async move { ask(node_port).await.is_ok() }).await;
    let mut names = Vec::new();
    for _ in 0..12 {
        names.push(ask(node_port).await.expect("answer"));
    }
    for (i, name) in names.iter().enumerate() {
        assert_eq!(name, &names[i % 3], "round-robin despite --mode random: {names:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_ip_affinity_pins_a_client() {
    let options = ServiceOptions { affinity_seconds: Some(600), ..Default::default() };
    let (_cluster, _backends, node_port) = three_backends(Algorithm::RoundRobin, options).await;
    eventually("the node port answers", || async move { ask(node_port).await.is_ok() }).await;
    let first = ask(node_port).await.expect("answer");
    for _ in 0..20 {
        assert_eq!(ask(node_port).await.expect("answer"), first, "127.0.0.1 stays on one backend");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_rpc_lists_backends_and_counters() {
    use capstan_proto::proxy::v1::{proxy_admin_client::ProxyAdminClient, ListServicePortsRequest};
    let (cluster, _backends, node_port) = three_backends(Algorithm::RoundRobin, ServiceOptions::default()).await;
    eventually("the node port answers", || async move { ask(node_port).await.is_ok() }).await;
    for _ in 0..30 {
        ask(node_port).await.expect("answer through the proxy");
    }
    let admin = cluster.proxy.as_ref().and_then(|p| p.healthz_address).expect("admin address");
    let mut client = ProxyAdminClient::connect(format!("http://{admin}")).await.expect("admin connects");
    let request = ListServicePortsRequest { namespace: String::new(), name: "web".into() };
    let ports = client.list_service_ports(request).await.expect("admin answers").into_inner().ports;
    assert_eq!(ports.len(), 1, "{ports:?}");
    let port = &ports[0];
    assert_eq!(port.key.as_ref().map(|k| (k.name.as_str(), k.protocol.as_str())), Some(("web", "tcp")));
    assert_eq!(port.algorithm, "round-robin");
    assert!(port.listening.contains(&node_port.to_string()), "{port:?}");
    assert_eq!(port.backends.len(), 3, "{port:?}");
    // the 30 counted connections rotate exactly, on top of the warm-up ones
    let total: u64 = port.backends.iter().map(|b| b.connections).sum();
    assert!(total >= 30, "{port:?}");
    for backend in &port.backends {
        assert!(backend.connections >= 10, "{port:?}");
        assert!(backend.bytes_from_backend > 0 && backend.errors == 0, "{port:?}");
    }
}
