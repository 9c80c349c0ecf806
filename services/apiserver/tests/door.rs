//! The API server's door over real TCP: TLS, client certificates, tokens,
//! anonymous refusals, health, the audit log, and bad input (plaintext
//! against TLS, garbage, truncated frames, a 100 MB message, random
//! protobuf, a foreign or expired certificate, a malformed token file).

use capstan_apiserver::door::AuthorizationMode;
use capstan_apiserver::{ApiServer, Config};
use capstan_client::{Client, ClientError, Credentials};
use capstan_pki::issue::{Ca, Profile, Usage};
use capstan_proto::api::v1::{CreateRequest, GetRequest, Object, ResourceRef};
use capstan_proto::core::v1::Pod;
use capstan_testkit::cluster::{TOKEN, TOKEN_FILE_LINE};
use capstan_testkit::{pod, Backend, TestCluster};
use hyper_util::rt::TokioIo;
use prost::Message;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::{Channel, Endpoint, Uri};
use tonic::Code;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

/// Raw bytes in and out: the wire as a careless or hostile client writes it.
#[derive(Clone, Copy, Default)]
struct Raw;

impl Codec for Raw {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = Raw;
    type Decoder = Raw;
    fn encoder(&mut self) -> Raw {
        Raw
    }
    fn decoder(&mut self) -> Raw {
        Raw
    }
}

impl Encoder for Raw {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        bytes::BufMut::put_slice(dst, &item);
        Ok(())
    }
}

impl Decoder for Raw {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        let n = bytes::Buf::remaining(src);
        Ok(Some(bytes::Buf::copy_to_bytes(src, n).to_vec()))
    }
}

const METHODS: [&str; 7] = ["Create", "Get", "List", "Update", "Patch", "Delete", "Watch"];

/// Sends `payload` as the request message of `method`; the answer's code.
async fn raw_call(channel: Channel, method: &str, payload: Vec<u8>) -> Code {
    let mut grpc = tonic::client::Grpc::new(channel).max_encoding_message_size(usize::MAX);
    if grpc.ready().await.is_err() {
        return Code::Unavailable;
    }
    let path: tonic::codegen::http::uri::PathAndQuery =
        format!("/capstan.api.v1.ResourceService/{method}").parse().expect("a gRPC path");
    let request = tonic::Request::new(payload);
    let code = if method == "Watch" {
        grpc.server_streaming(request, path, Raw).await.map(|_| ()).err()
    } else {
        grpc.unary(request, path, Raw).await.map(|_| ()).err()
    };
    code.map_or(Code::Ok, |s| s.code())
}

/// A TLS channel trusting the cluster CA, with an optional client certificate.
fn tls_channel(addr: std::net::SocketAddr, ca: &[u8], client: Option<(&str, &str)>) -> Channel {
    let credentials = Credentials {
        ca_pem: Some(ca.to_vec()),
        client_cert_pem: client.map(|c| c.0.as_bytes().to_vec()),
        client_key_pem: client.map(|c| c.1.as_bytes().to_vec()),
        ..Credentials::default()
    };
    let config = capstan_pki::tls::client_config(&credentials).expect("a client TLS config");
    let connector = tokio_rustls::TlsConnector::from(config);
    let connect = tower::service_fn(move |_: Uri| {
        let connector = connector.clone();
        async move {
            let tcp = tokio::net::TcpStream::connect(addr).await?;
            let name = rustls_name();
            let tls = connector.connect(name, tcp).await?;
            Ok::<_, std::io::Error>(TokioIo::new(tls))
        }
    });
    Endpoint::from_shared(format!("http://{addr}")).expect("endpoint").connect_with_connector_lazy(connect)
}

fn rustls_name() -> tokio_rustls::rustls::pki_types::ServerName<'static> {
    tokio_rustls::rustls::pki_types::ServerName::try_from("localhost").expect("a server name")
}

fn ca_pem(cluster: &TestCluster) -> Vec<u8> {
    std::fs::read(capstan_pki::Layout::new(cluster.pki()).ca_cert()).expect("the CA certificate")
}

fn pod_ref(namespace: &str, name: &str) -> ResourceRef {
    ResourceRef { resource: "pods".into(), namespace: namespace.into(), name: name.into(), subresource: String::new() }
}

fn pod_object(name: &str) -> Object {
    let built: Pod = pod(name).build();
    Object { kind: Some(capstan_proto::api::v1::object::Kind::Pod(built)) }
}

fn code_of(error: &ClientError) -> String {
    format!("{error:?}")
}

async fn audit_lines(cluster: &TestCluster, want: usize) -> Vec<serde_json::Value> {
    capstan_testkit::eventually("the audit lines", Duration::from_secs(5), || async {
        let text = std::fs::read_to_string(cluster.audit_log()).unwrap_or_default();
        let lines: Vec<serde_json::Value> =
            text.lines().map(|l| serde_json::from_str(l).expect("each audit line is JSON")).collect();
        (lines.len() >= want).then_some(lines)
    })
    .await
}

#[tokio::test]
async fn a_secured_server_authenticates_every_call_and_audits_it() {
    let cluster = TestCluster::start_secured().await;
    let addr = cluster.server().addr();
    let ca = ca_pem(&cluster);

    // the admin's kubeconfig: a client certificate in system:masters
    let created = cluster.client.create(pod_ref("default", ""), pod_object("web")).await.expect("admin creates");
    assert_eq!(capstan_proto::ObjectExt::meta(&created).name, "web");
    cluster.client.get(pod_ref("default", "web")).await.expect("admin reads");

    // jane's token from the token file, over TLS without a client certificate
    let jane = Credentials { ca_pem: Some(ca.clone()), token: Some(TOKEN.into()), ..Credentials::default() };
    let jane = Client::connect_with(&cluster.url(), &jane).expect("jane's client");
    // authenticated (her name in the answer), then refused by RBAC: she is bound to nothing
    match jane.get(pod_ref("default", "web")).await {
        Err(ClientError::Forbidden { message }) => assert!(message.contains("User \"jane\""), "{message}"),
        other => panic!("jane is authenticated, then forbidden: {other:?}"),
    }

    // a wrong token, and no credentials at all: 401 Unauthorized
    let wrong = Credentials { ca_pem: Some(ca.clone()), token: Some("guess".into()), ..Credentials::default() };
    let nobody = Credentials { ca_pem: Some(ca.clone()), ..Credentials::default() };
    for credentials in [wrong, nobody] {
        let client = Client::connect_with(&cluster.url(), &credentials).expect("a client");
        let refused = client.get(pod_ref("default", "web")).await.expect_err("refused");
        let text = code_of(&refused);
        assert!(text.contains("Unauthorized"), "{text}");
    }
    let mut raw =
        capstan_proto::api::v1::resource_service_client::ResourceServiceClient::new(tls_channel(addr, &ca, None));
    let status = raw.get(GetRequest { r#ref: Some(pod_ref("default", "web")) }).await.expect_err("anonymous");
    assert_eq!((status.code(), status.message()), (Code::Unauthenticated, "Unauthorized"));

    // health stays open to a caller with no credentials
    let mut health = HealthClient::new(tls_channel(addr, &ca, None));
    health.check(HealthCheckRequest::default()).await.expect("health answers anyone");

    // a certificate from another CA, and an expired one from ours, fail the handshake
    let now = time::OffsetDateTime::now_utc();
    let profile = Profile {
        common_name: "mallory".into(),
        group: Some("system:masters".into()),
        sans: vec![],
        usage: Usage::Client,
    };
    let other_ca = Ca::generate(now).expect("another CA");
    let foreign = other_ca.issue(&profile, now).expect("a foreign certificate");
    let layout = capstan_pki::Layout::new(cluster.pki());
    let ours = Ca::from_pem(
        &std::fs::read_to_string(layout.ca_cert()).expect("ca.crt"),
        &std::fs::read_to_string(layout.ca_key()).expect("ca.key"),
    )
    .expect("our CA");
    let expired = ours
        .issue_valid(&profile, now - time::Duration::days(30), now - time::Duration::days(1))
        .expect("an expired certificate");
    for (what, issued) in [("another CA's", &foreign), ("an expired", &expired)] {
        let mut client = capstan_proto::api::v1::resource_service_client::ResourceServiceClient::new(tls_channel(
            addr,
            &ca,
            Some((&issued.cert_pem, &issued.key_pem)),
        ));
        let refused = client.get(GetRequest { r#ref: Some(pod_ref("default", "web")) }).await.expect_err(what);
        assert!(matches!(refused.code(), Code::Unavailable | Code::Unknown), "{what}: {refused:?}");
        let text = format!("{refused:?}");
        assert!(
            text.contains("alert") || text.contains("certificate") || text.contains("Certificate"),
            "{what}: {text}"
        );
    }

    // the audit log: the admin's create (201) and the anonymous refusal (401)
    let lines = audit_lines(&cluster, 6).await;
    let create = lines.iter().find(|l| l["verb"] == "create").expect("the create is audited");
    assert_eq!(create["kind"], "Event");
    assert_eq!(create["apiVersion"], "audit.k8s.io/v1");
    assert_eq!(create["user"]["username"], "admin");
    assert_eq!(create["objectRef"]["resource"], "pods");
    assert_eq!(create["objectRef"]["namespace"], "default");
    assert_eq!(create["responseStatus"]["code"], 201);
    assert_eq!(create["sourceIPs"][0], "127.0.0.1");
    let refused = lines.iter().find(|l| l["responseStatus"]["code"] == 401).expect("a 401 is audited");
    assert_eq!(refused["responseStatus"]["message"], "Unauthorized");
    let jane_line = lines.iter().find(|l| l["user"]["username"] == "jane").expect("jane's call is audited");
    assert_eq!(jane_line["user"]["uid"], "1001");
    assert_eq!(jane_line["objectRef"]["name"], "web");
    cluster.stop().await;
}

#[tokio::test]
async fn bad_bytes_on_the_tls_port_are_refused_and_the_server_keeps_serving() {
    let cluster = TestCluster::start_secured().await;
    let addr = cluster.server().addr();

    // a plaintext gRPC client against the TLS port
    let plain = Client::connect(&format!("http://{addr}")).expect("a plaintext client");
    let refused = plain.get(pod_ref("default", "x")).await.expect_err("plaintext is not TLS");
    assert!(refused.to_string().contains(capstan_server::PLAINTEXT_ON_TLS), "{refused}");

    // an HTTP/1 request gets Kubernetes' (Go's) words
    let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connects");
    tcp.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await.expect("writes");
    let mut answer = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut tcp, &mut answer).await.expect("an answer");
    assert!(answer.starts_with("HTTP/1.0 400 Bad Request"), "{answer}");
    assert!(answer.ends_with("Client sent an HTTP request to an HTTPS server.\n"), "{answer}");

    // garbage instead of a ClientHello, and a ClientHello cut short
    for bytes in [&b"\x00\xff garbage"[..], &[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00][..]] {
        let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connects");
        tcp.write_all(bytes).await.expect("writes");
        drop(tcp);
    }

    // still serving, and nothing was written
    let pods = cluster.client.list(pod_ref("", ""), Default::default()).await.expect("the server still answers");
    assert!(pods.items.is_empty());
    cluster.stop().await;
}

#[tokio::test]
async fn a_misconfigured_door_refuses_the_start_naming_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tokens = dir.path().join("tokens.csv");
    std::fs::write(&tokens, format!("{TOKEN_FILE_LINE}\nbroken-line-without-user\n")).expect("token file");
    let mut config = Config::ephemeral(dir.path());
    config.security.token_file = Some(tokens.clone());
    config.security.authorization_modes = vec![AuthorizationMode::AlwaysAllow];
    let error = ApiServer::start(config.clone()).await.err().expect("a malformed token file refuses the start");
    let text = error.to_string();
    assert!(text.contains(&format!("{} line 2", tokens.display())), "{text}");

    // an expired serving certificate
    let now = time::OffsetDateTime::now_utc();
    let ca = Ca::generate(now).expect("a CA");
    let profile = Profile { common_name: "kube-apiserver".into(), group: None, sans: vec![], usage: Usage::Server };
    let old = ca.issue_valid(&profile, now - time::Duration::days(30), now - time::Duration::days(1)).expect("issued");
    let (cert, key) = (dir.path().join("old.crt"), dir.path().join("old.key"));
    std::fs::write(&cert, &old.cert_pem).expect("cert");
    std::fs::write(&key, &old.key_pem).expect("key");
    config.security.token_file = None;
    config.security.tls = Some(capstan_server::TlsFiles { cert: cert.clone(), key, client_ca: None });
    let error = ApiServer::start(config).await.err().expect("an expired certificate refuses the start").to_string();
    assert!(error.contains(&cert.display().to_string()) && error.contains("expired"), "{error}");
}

#[tokio::test]
async fn random_protobuf_is_the_clients_error_never_internal() {
    let cluster = TestCluster::start_with(Backend::Embedded, |_| {}).await.expect("embedded");
    // the admin's certificate: every payload gets past the door to the decoder
    let channel = cluster.target("admin").channel().expect("the admin's channel");
    let mut rng = rand::rngs::StdRng::seed_from_u64(12);
    let mut codes: BTreeMap<String, usize> = BTreeMap::new();
    for i in 0..3000 {
        let len = rng.random_range(0..256);
        let payload: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        let code = raw_call(channel.clone(), METHODS[i % METHODS.len()], payload).await;
        *codes.entry(format!("{code:?}")).or_default() += 1;
    }
    eprintln!("3000 random payloads: {codes:?}");
    assert!(!codes.contains_key("Internal") && !codes.contains_key("Unknown"), "{codes:?}");
    // a request that decodes but is wrong is still the client's error
    let code = raw_call(channel.clone(), "Create", CreateRequest::default().encode_to_vec()).await;
    assert_eq!(code, Code::InvalidArgument);
    cluster.stop().await;
}

fn rss_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the process' status");
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .expect("a memory figure")
}

#[tokio::test]
async fn a_100_mb_message_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_capstan-apiserver"))
        .args(["--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir.path())
        .kill_on_drop(true)
        .spawn()
        .expect("the API server binary starts");
    let pid = child.id().expect("a pid");
    let url = format!("http://127.0.0.1:{port}");
    let channel = capstan_testkit::eventually("the API server binary serving", Duration::from_secs(20), || async {
        Endpoint::from_shared(url.clone()).ok()?.connect().await.ok()
    })
    .await;
    // warm up: one ordinary call
    let _ = raw_call(channel.clone(), "Get", GetRequest { r#ref: Some(pod_ref("default", "x")) }.encode_to_vec()).await;
    let before = rss_kib(pid, "VmHWM:");
    let huge =
        CreateRequest { r#ref: Some(pod_ref("default", "")), object: None, dry_run: false, ..Default::default() }
            .encode_to_vec();
    let mut payload = huge;
    payload.resize(100 * 1024 * 1024, 0);
    let mut grpc = tonic::client::Grpc::new(channel.clone()).max_encoding_message_size(usize::MAX);
    grpc.ready().await.expect("ready");
    let path: tonic::codegen::http::uri::PathAndQuery = "/capstan.api.v1.ResourceService/Create".parse().expect("path");
    let refused = grpc.unary(tonic::Request::new(payload), path, Raw).await.expect_err("too large");
    let after = rss_kib(pid, "VmHWM:");
    eprintln!(
        "100 MB message: {:?} {:?}; API server peak RSS {} MiB before, {} MiB after",
        refused.code(),
        refused.message(),
        before / 1024,
        after / 1024
    );
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(refused.message().contains("too large"), "{refused:?}");
    assert!(after < before + 20 * 1024, "the server read the body: {before} KiB → {after} KiB");
    let code = raw_call(channel, "Get", GetRequest { r#ref: Some(pod_ref("default", "x")) }.encode_to_vec()).await;
    assert_eq!(code, Code::NotFound, "the server still answers");
    let _ = child.kill().await;
}
