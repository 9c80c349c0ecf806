//! One port, two protocols: a plain HTTP/1.1 scrape of `/metrics` and a
//! gRPC health check against the same listener over real TCP.

use capstan_metrics::{serve, Registry, CONTENT_TYPE};
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{health_check_response::ServingStatus, HealthCheckRequest};

/// `GET path`: (status line, headers, body), through the shared harness.
async fn http_get(addr: std::net::SocketAddr, path: &str) -> (String, String, String) {
    let response = capstan_test_support::http_get(addr, path).await.expect("GET");
    (response.status_line, response.headers, response.body)
}

#[tokio::test]
async fn scrape_and_health_share_one_port() {
    let registry = Registry::new();
    let requests = registry.counter_vec("demo_requests_total", "Requests by code.", ["code"]).expect("register");
    requests.with(["200"]).inc_by(2);
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter.set_service_status("demo.Service", tonic_health::ServingStatus::Serving).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, tonic::service::Routes::new(health), registry.clone(), async {
        let _ = stopped.await;
    }));

    let (status, headers, body) = http_get(addr, "/metrics").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(headers.contains(&format!("content-type: {CONTENT_TYPE}")), "{headers}");
    let want = "# HELP demo_requests_total Requests by code.\n# TYPE demo_requests_total counter\n\
                demo_requests_total{code=\"200\"} 2\n";
    assert_eq!(body, want);

    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .connect()
        .await
        .expect("gRPC connects");
    let mut client = HealthClient::new(channel);
    let check = |service: &str| HealthCheckRequest { service: service.into() };
    let reply = client.check(check("demo.Service")).await.expect("health check").into_inner();
    assert_eq!(reply.status, ServingStatus::Serving as i32);
    let unknown = client.check(check("no.Such")).await.err().map(|s| s.code());
    assert_eq!(unknown, Some(tonic::Code::NotFound));

    // a later scrape sees later updates: the text is rendered per request
    requests.with(["500"]).inc();
    let (_, _, body) = http_get(addr, "/metrics").await;
    assert!(body.contains("demo_requests_total{code=\"500\"} 1\n"), "{body}");

    let _ = stop.send(());
    server.await.expect("server task").expect("server stops cleanly");
}
