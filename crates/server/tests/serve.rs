//! One port, two protocols: a plain HTTP/1.1 scrape of `/metrics` and a gRPC
//! health check against the same listener, over real TCP and a unix socket.

use capstan_metrics::{Counter, Family, Registry, CONTENT_TYPE};
use capstan_server::{Server, ServerConfig};
use hyper_util::rt::TokioIo;
use tonic::transport::{Channel, Endpoint, Uri};
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{health_check_response::ServingStatus, HealthCheckRequest};

fn server(registry: &Registry) -> Server {
    Server::new(ServerConfig::default(), registry.clone()).expect("request metrics register")
}

async fn check(channel: Channel, service: &str) -> Result<i32, tonic::Status> {
    let reply = HealthClient::new(channel).check(HealthCheckRequest { service: service.into() }).await?;
    Ok(reply.into_inner().status)
}

#[tokio::test]
async fn scrape_and_health_share_one_tcp_port() {
    let registry = Registry::new();
    let requests: Family<[(&str, &str); 1], Counter> =
        registry.register("demo_requests_total", "Requests by code.", Family::default()).expect("register");
    requests.get_or_create(&[("code", "200")]).inc_by(2);
    let server = server(&registry);
    server.health().set_service_status("demo.Service", tonic_health::ServingStatus::Serving).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(listener, async {
        let _ = stopped.await;
    }));

    let response = capstan_test_support::http_get(addr, "/metrics").await.expect("GET");
    assert_eq!(response.status_line, "HTTP/1.1 200 OK");
    assert!(response.headers.contains(&format!("content-type: {CONTENT_TYPE}")), "{}", response.headers);
    let want = "# HELP demo_requests_total Requests by code.\n# TYPE demo_requests_total counter\n\
                demo_requests_total{code=\"200\"} 2\n";
    assert!(response.body.contains(want), "{}", response.body);

    let channel = Endpoint::from_shared(format!("http://{addr}")).expect("endpoint").connect().await.expect("connects");
    assert_eq!(check(channel.clone(), "demo.Service").await.expect("checked"), ServingStatus::Serving as i32);
    let unknown = check(channel, "no.Such").await.err().map(|s| s.code());
    assert_eq!(unknown, Some(tonic::Code::NotFound));

    // a later scrape sees later updates, the health checks among them
    requests.get_or_create(&[("code", "500")]).inc();
    let body = capstan_test_support::http_get(addr, "/metrics").await.expect("GET").body;
    assert!(body.contains("demo_requests_total{code=\"500\"} 1\n"), "{body}");
    let checks =
        "grpc_server_handled_total{grpc_service=\"grpc.health.v1.Health\",grpc_method=\"Check\",grpc_code=\"OK\"}";
    assert_eq!(capstan_test_support::metric_sample(&body, checks), Some(1.0), "{body}");

    let _ = stop.send(());
    serving.await.expect("server task").expect("server stops cleanly");
}

#[tokio::test]
async fn scrape_and_health_share_one_unix_socket() {
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("shim.sock");
    let registry = Registry::new();
    let listener = tokio::net::UnixListener::bind(&socket).expect("bind");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server(&registry).serve(listener, async {
        let _ = stopped.await;
    }));

    let path = socket.clone();
    let connector = tower::service_fn(move |_: Uri| {
        let path = path.clone();
        async move { Ok::<_, std::io::Error>(TokioIo::new(tokio::net::UnixStream::connect(path).await?)) }
    });
    let channel =
        Endpoint::from_static("http://shim.invalid").connect_with_connector(connector).await.expect("connects");
    assert_eq!(check(channel, "").await.expect("checked"), ServingStatus::Serving as i32);
    let response = capstan_test_support::http_get_unix(&socket, "/metrics").await.expect("GET");
    assert_eq!(response.status_line, "HTTP/1.1 200 OK");
    assert!(response.body.contains("grpc_method=\"Check\",grpc_code=\"OK\"} 1\n"), "{}", response.body);

    let _ = stop.send(());
    serving.await.expect("server task").expect("server stops cleanly");
}

#[tokio::test]
async fn a_listener_that_fails_for_good_ends_serve_with_its_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let same_socket = listener.try_clone().expect("dup");
    listener.set_nonblocking(true).expect("nonblocking");
    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
    let serving = tokio::spawn(server(&Registry::new()).serve(listener, std::future::pending()));
    // the kernel refuses every accept on a listening socket shut down for reading
    socket2::SockRef::from(&same_socket).shutdown(std::net::Shutdown::Read).expect("shut down");
    let outcome = serving.await.expect("server task");
    assert!(matches!(outcome, Err(capstan_server::ServerError::Accept { .. })), "{outcome:?}");
}

/// A server with an HTTP face (the API server's REST face) upgrades an
/// HTTP/1.1 request (kubectl exec's WebSocket) on the port that still serves
/// gRPC over HTTP/2, and stops cleanly with the upgraded connection closed.
#[tokio::test]
async fn an_http_face_upgrades_http1_connections_beside_grpc() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // echoes what the client sends once the connection is upgraded
    let echo = axum::Router::new().fallback(|mut request: axum::extract::Request| async move {
        let upgrade = hyper::upgrade::on(&mut request);
        tokio::spawn(async move {
            let Ok(upgraded) = upgrade.await else { return };
            let mut io = TokioIo::new(upgraded);
            let mut word = [0u8; 4];
            if io.read_exact(&mut word).await.is_ok() {
                let _ = io.write_all(&word).await;
            }
        });
        let mut response = axum::response::Response::new(axum::body::Body::empty());
        *response.status_mut() = http::StatusCode::SWITCHING_PROTOCOLS;
        response.headers_mut().insert(http::header::CONNECTION, http::HeaderValue::from_static("upgrade"));
        response.headers_mut().insert(http::header::UPGRADE, http::HeaderValue::from_static("echo"));
        response
    });
    // an upgrade lasts as long as its user: not timed, no slot
    let classify: capstan_server::http::Classify = std::sync::Arc::new(|_, _| capstan_server::http::HttpCall {
        verb: "get",
        resource: "echo".into(),
        kind: capstan_server::http::CallKind::LongRunning,
    });
    let face = capstan_server::http::HttpFace { router: echo, classify };
    let server = server(&Registry::new()).serve_http(face);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(listener, async {
        let _ = stopped.await;
    }));

    let channel = Endpoint::from_shared(format!("http://{addr}")).expect("endpoint").connect().await.expect("connects");
    assert_eq!(check(channel, "").await.expect("checked"), ServingStatus::Serving as i32);

    let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connects");
    tcp.write_all(b"GET /echo HTTP/1.1\r\nHost: test\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
        .await
        .expect("the request");
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let byte = tcp.read_u8().await.expect("the response head");
        head.push(byte);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"), "{head}");
    tcp.write_all(b"ping").await.expect("bytes on the upgraded connection");
    let mut echoed = [0u8; 4];
    tcp.read_exact(&mut echoed).await.expect("the echo");
    assert_eq!(&echoed, b"ping");
    drop(tcp);

    let _ = stop.send(());
    serving.await.expect("server task").expect("server stops cleanly");
}
