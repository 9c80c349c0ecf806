//! Endpoint changes, refused backends, UDP, a renamed port and Service
//! deletion, through a real API server and the proxy's node port.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use capstan_client::DeleteParams;
use capstan_kube_proxy::Algorithm;
use capstan_proto::core::v1::{Endpoints, Service};
use common::backends::{ask, read_name, refusing, Backends};
use common::{cluster, eventually, ServiceOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_backend_gets_no_new_connection_but_finishes_its_transfer() {
    let cluster = cluster(Algorithm::RoundRobin).await;
    let mut backends = Backends::default();
    let (a, b) = (backends.tcp("a").await, backends.tcp("b").await);
    let node_port = cluster.service("web", ServiceOptions::default()).await;
    cluster.endpoints("web", "TCP", &[a, b], &[]).await;
    eventually("the node port answers", || async move { ask(node_port).await.is_ok() }).await;

    // hold a connection open to b
    let mut in_flight = loop {
        let mut stream = TcpStream::connect(node_port).await.expect("connect");
        if read_name(&mut stream).await.expect("greeting") == "b" {
            break stream;
        }
    };
    // b goes to notReadyAddresses: new connections only reach a
    cluster.endpoints("web", "TCP", &[a], &[b]).await;
    // four answers from a in a row: no connection opened after the change reached b
    let only_a = std::cell::Cell::new(0);
    eventually("b leaves the rotation", || async {
        let name = ask(node_port).await.unwrap_or_default();
        only_a.set(if name == "a" { only_a.get() + 1 } else { 0 });
        only_a.get() >= 4
    })
    .await;
    for _ in 0..10 {
        assert_eq!(ask(node_port).await.expect("answer"), "a");
    }
    // the established connection to b still carries data both ways
    in_flight.write_all(b"still here").await.expect("write");
    in_flight.shutdown().await.expect("half-close");
    let mut echoed = Vec::new();
    in_flight.read_to_end(&mut echoed).await.expect("read until the backend closes");
    assert_eq!(echoed, b"still here");

    // removed entirely: same for new connections
    cluster.endpoints("web", "TCP", &[b], &[]).await;
    eventually("only b answers", || async move { ask(node_port).await.ok().as_deref() == Some("b") }).await;
}

/// A proxy and Service `web` whose node port answers from one backend, "a":
/// (cluster, the backends to keep, the node port, a's address).
async fn web_with_one_backend() -> (common::Cluster, Backends, SocketAddr, SocketAddr) {
    let cluster = cluster(Algorithm::RoundRobin).await;
    let mut backends = Backends::default();
    let a = backends.tcp("a").await;
    let node_port = cluster.service("web", ServiceOptions::default()).await;
    cluster.endpoints("web", "TCP", &[a], &[]).await;
    eventually("the node port answers", || async move { ask(node_port).await.is_ok() }).await;
    (cluster, backends, node_port, a)
}

/// Renaming a port keeps its node port, so the listener of the new service port
/// takes the address over from the old one's in one change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renamed_port_keeps_its_node_port_open() {
    let (cluster, _backends, node_port, _) = web_with_one_backend().await;

    let (services, endpoints) =
        (cluster.api.client.api::<Service>(Some("default")), cluster.api.client.api::<Endpoints>(Some("default")));
    let mut renamed = endpoints.get("web").await.expect("endpoints");
    for port in renamed.subsets.iter_mut().flat_map(|s| s.ports.iter_mut()) {
        port.name = "renamed".into();
    }
    endpoints.update(&renamed).await.expect("endpoints renamed");
    let mut service = services.get("web").await.expect("service");
    let port = service.spec.as_mut().and_then(|s| s.ports.first_mut()).expect("a port");
    port.name = "renamed".into();
    let kept = port.node_port;
    let updated = services.update(&service).await.expect("service renamed");
    assert_eq!(updated.spec.and_then(|s| s.ports.first().map(|p| p.node_port)), Some(kept), "the node port is kept");

    eventually(
        "the renamed port's listener answers",
        || async move { ask(node_port).await.ok().as_deref() == Some("a") },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_backend_is_skipped() {
    let cluster = cluster(Algorithm::RoundRobin).await;
    let mut backends = Backends::default();
    let (dead, a) = (refusing().await, backends.tcp("a").await);
    let node_port = cluster.service("web", ServiceOptions::default()).await;
    cluster.endpoints("web", "TCP", &[dead, a], &[]).await;
    eventually("the node port answers", || async move { ask(node_port).await.is_ok() }).await;
    for _ in 0..10 {
        assert_eq!(ask(node_port).await.expect("every connection reaches a"), "a");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_echo_through_the_proxy() {
    let cluster = cluster(Algorithm::RoundRobin).await;
    let mut backends = Backends::default();
    let echo = backends.udp("u").await;
    let options = ServiceOptions { protocol: "UDP", ..Default::default() };
    let node_port = cluster.service("dns", options).await;
    cluster.endpoints("dns", "UDP", &[echo], &[]).await;
    let client = UdpSocket::bind("127.0.0.1:0").await.expect("client socket");
    eventually("a reply through the proxy", || async {
        let mut buf = [0u8; 2048];
        client.send_to(b"ping", node_port).await.expect("send");
        match tokio::time::timeout(Duration::from_millis(200), client.recv_from(&mut buf)).await {
            Ok(Ok((n, from))) => {
                assert_eq!(from, node_port, "the reply comes from the service's address");
                assert_eq!(&buf[..n], b"u:ping");
                true
            }
            _ => false,
        }
    })
    .await;
    let mut buf = [0u8; 2048];
    // the same flow carries the next datagram
    client.send_to(b"again", node_port).await.expect("send");
    let (n, _) = client.recv_from(&mut buf).await.expect("reply");
    assert_eq!(&buf[..n], b"u:again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_service_closes_its_listener() {
    let (cluster, _backends, node_port, a) = web_with_one_backend().await;
    let metrics = cluster.proxy.as_ref().and_then(|p| p.metrics_address).expect("metrics address");
    let text = capstan_test_support::http_get(metrics, "/metrics").await.expect("metrics scrape").body;
    assert!(
        text.contains(&format!("capstan_proxy_connections_total{{service=\"default/web:p/tcp\",backend=\"{a}\"}}")),
        "{text}"
    );

    let api = cluster.api.client.api::<Service>(Some("default"));
    api.delete("web", &DeleteParams::default()).await.expect("service deleted");
    eventually("the node port refuses", || async move {
        matches!(TcpStream::connect(node_port).await, Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused)
    })
    .await;
}
