//! The metrics address, scraped over real TCP: label values are escaped as
//! the Prometheus text format requires, and the counters move with traffic.

mod common;

use capstan_kube_proxy::Algorithm;
use capstan_proto::core::v1::{Service, ServicePort, ServiceSpec};
use capstan_proto::meta::v1::ObjectMeta;
use capstan_test_support::{http_get, metric_sample};
use common::backends::{ask, refusing, Backends};
use common::{cluster, eventually};
use prost::Message;

/// A port name with every character the format escapes in a label value.
const ODD_PORT: &str = "quote\"backslash\\newline\nend";
/// The same, as it must appear between a label's quotes.
const ODD_PORT_ESCAPED: &str = r#"quote\"backslash\\newline\nend"#;

async fn scrape(address: std::net::SocketAddr) -> String {
    let response = http_get(address, "/metrics").await.expect("metrics scrape");
    assert_eq!(response.status_line, "HTTP/1.1 200 OK");
    assert!(response.headers.contains("content-type: text/plain; version=0.0.4"), "{}", response.headers);
    response.body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn label_values_are_escaped_in_the_scrape() {
    let cluster = cluster(Algorithm::RoundRobin).await;
    let mut backends = Backends::default();
    let a = backends.tcp("a").await;
    let node_port = refusing().await;
    // The API server's validation refuses such a port name, so the Service
    // is written to its store directly: the proxy must cope with whatever
    // its watch delivers.
    let service = Service {
        metadata: Some(ObjectMeta { name: "odd".into(), namespace: "default".into(), ..Default::default() }),
        spec: Some(ServiceSpec {
            r#type: "NodePort".into(),
            ports: vec![ServicePort {
                name: ODD_PORT.into(),
                protocol: "TCP".into(),
                port: 80,
                node_port: i32::from(node_port.port()),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    };
    cluster.endpoints("odd", "TCP", &[a], &[]).await;
    let store = cluster.api.server().store();
    store.create("/registry/services/default/odd", service.encode_to_vec().into()).await.expect("service stored");
    eventually("the node port answers", || async move { ask(node_port).await.ok().as_deref() == Some("a") }).await;

    let metrics = cluster.proxy.as_ref().and_then(|p| p.metrics_address).expect("metrics address");
    let series =
        format!("capstan_proxy_connections_total{{service=\"default/odd:{ODD_PORT_ESCAPED}/tcp\",backend=\"{a}\"}}");
    let before = scrape(metrics).await;
    let counted = metric_sample(&before, &series).unwrap_or_else(|| panic!("no {series} in\n{before}"));
    assert!(counted >= 1.0, "{before}");
    // the connection is counted before the backend's greeting reaches the client
    assert_eq!(ask(node_port).await.expect("answer through the proxy"), "a");
    let after = scrape(metrics).await;
    assert_eq!(metric_sample(&after, &series), Some(counted + 1.0), "{after}");
    let reprogrammed = metric_sample(&after, "kubeproxy_sync_proxy_rules_duration_seconds_count");
    assert!(reprogrammed.unwrap_or_default() >= 1.0, "the service's programming is counted: {after}");
    // the raw newline split no line: each is a comment or one of the proxy's samples
    for line in after.lines() {
        let sample = ["capstan_proxy_", "kubeproxy_"].iter().any(|name| line.starts_with(name));
        assert!(line.starts_with("# ") || sample, "malformed line {line:?} in\n{after}");
    }
}
