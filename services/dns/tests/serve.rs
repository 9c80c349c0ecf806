//! capstan-dns against a real API server (behind its real door, as
//! `system:kube-dns`), asked over real UDP and TCP: the cluster's names,
//! forwarding to a small upstream on loopback, SERVFAIL when no upstream
//! answers, readiness and metrics.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use capstan_dns::{Config, Dns};
use capstan_proto::core::v1::{Service, ServicePort, ServiceSpec};
use capstan_proto::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use capstan_proto::meta::v1::ObjectMeta;
use capstan_test_support::{http_get, metric_sample, probe_server, ServerAddr};
use capstan_testkit::TestCluster;
use hickory_proto::op::{Message, MessageType, Query, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// Bounds hangs only; nothing here is timed.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The address the fake upstream answers for `outside.example.`.
const OUTSIDE: [u8; 4] = [192, 0, 2, 7];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Transport {
    Udp,
    Tcp,
}

/// One question over `transport`, as a stub resolver asks it.
async fn ask(server: SocketAddr, transport: Transport, name: &str, qtype: RecordType) -> Message {
    let mut query = Message::query();
    query.metadata.recursion_desired = true;
    query.add_query(Query::query(Name::from_ascii(name).expect("a name"), qtype));
    let bytes = query.to_vec().expect("encodes");
    let exchange = async {
        match transport {
            Transport::Udp => {
                let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
                socket.send_to(&bytes, server).await.expect("send");
                let mut buffer = vec![0u8; 65535];
                let read = socket.recv(&mut buffer).await.expect("recv");
                buffer.truncate(read);
                buffer
            }
            Transport::Tcp => {
                let mut stream = TcpStream::connect(server).await.expect("connect");
                let length = u16::try_from(bytes.len()).expect("a short query");
                stream.write_all(&length.to_be_bytes()).await.expect("write");
                stream.write_all(&bytes).await.expect("write");
                let length = stream.read_u16().await.expect("length");
                let mut buffer = vec![0u8; usize::from(length)];
                stream.read_exact(&mut buffer).await.expect("read");
                buffer
            }
        }
    };
    let answer = tokio::time::timeout(TIMEOUT, exchange).await.expect("an answer");
    let answer = Message::from_vec(&answer).expect("a DNS message");
    assert_eq!(answer.metadata.id, query.metadata.id, "the answer is to the question");
    answer
}

/// The answer section in short, sorted, and the rcode.
fn shown(answer: &Message) -> (ResponseCode, Vec<String>) {
    let mut records: Vec<String> = answer
        .answers
        .iter()
        .map(|r| match &r.data {
            RData::A(a) => format!("A {}", a.0),
            RData::CNAME(c) => format!("CNAME {}", c.0),
            RData::PTR(p) => format!("PTR {}", p.0),
            RData::SRV(s) => format!("SRV {} {}", s.port, s.target),
            other => format!("{other:?}"),
        })
        .collect();
    records.sort();
    (answer.metadata.response_code, records)
}

/// A stand-in for the node's resolver: `outside.example.` is 192.0.2.7,
/// anything else NXDOMAIN. Over UDP, as a stub resolver is asked.
async fn fake_upstream() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind the upstream");
    let address = socket.local_addr().expect("its address");
    tokio::spawn(async move {
        let mut buffer = vec![0u8; 65535];
        while let Ok((read, from)) = socket.recv_from(&mut buffer).await {
            let Ok(query) = Message::from_vec(&buffer[..read]) else { continue };
            let mut answer = Message::response(query.metadata.id, query.metadata.op_code);
            answer.metadata.message_type = MessageType::Response;
            answer.add_queries(query.queries.clone());
            match query.queries.first() {
                Some(q) if q.name().to_ascii() == "outside.example." && q.query_type() == RecordType::A => {
                    answer.add_answer(Record::from_rdata(q.name().clone(), 60, RData::A(A(OUTSIDE.into()))));
                }
                _ => answer.metadata.response_code = ResponseCode::NXDomain,
            }
            if let Ok(bytes) = answer.to_vec() {
                let _ = socket.send_to(&bytes, from).await;
            }
        }
    });
    address
}

fn meta(name: &str) -> ObjectMeta {
    ObjectMeta { name: name.into(), namespace: "default".into(), ..Default::default() }
}

fn service(name: &str, spec: ServiceSpec) -> Service {
    Service { metadata: Some(meta(name)), spec: Some(spec), ..Default::default() }
}

fn tcp_port(name: &str, port: i32) -> ServicePort {
    ServicePort { name: name.into(), protocol: "TCP".into(), port, ..Default::default() }
}

async fn create_service(cluster: &TestCluster, service: Service) -> Service {
    cluster.client.api::<Service>(Some("default")).create(&service).await.expect("the Service is created")
}

fn cluster_ip(service: &Service) -> IpAddr {
    service.spec.as_ref().map(|s| s.cluster_ip.as_str()).unwrap_or_default().parse().expect("a cluster IP")
}

async fn start_dns(cluster: &TestCluster, upstreams: Vec<SocketAddr>) -> Dns {
    let target = cluster.target("dns");
    let mut config = Config::new(target.server);
    config.credentials = target.credentials;
    config.listen = "127.0.0.1:0".parse().expect("addr");
    config.upstreams = upstreams;
    config.health_address = Some("127.0.0.1:0".parse().expect("addr"));
    Dns::start(config).await.expect("capstan-dns starts")
}

async fn wait_ready(dns: &Dns) -> SocketAddr {
    let health = dns.health_address.expect("a health port");
    capstan_testkit::eventually("capstan-dns reports SERVING once synced", TIMEOUT, || async move {
        probe_server(&ServerAddr::Tcp(health)).await.ok()
    })
    .await;
    health
}

#[tokio::test]
async fn answers_the_cluster_names_over_udp_and_tcp_and_forwards_the_rest() {
    let cluster = TestCluster::start().await;
    let web = create_service(
        &cluster,
        service("web", ServiceSpec { ports: vec![tcp_port("http", 80)], ..Default::default() }),
    )
    .await;
    let web_ip = cluster_ip(&web);
    create_service(
        &cluster,
        service(
            "db",
            ServiceSpec { cluster_ip: "None".into(), ports: vec![tcp_port("pg", 5432)], ..Default::default() },
        ),
    )
    .await;
    let mut slice_meta = meta("db-1");
    slice_meta.labels.insert("kubernetes.io/service-name".into(), "db".into());
    let endpoint = |ip: &str, hostname: Option<&str>, ready: bool| Endpoint {
        addresses: vec![ip.into()],
        hostname: hostname.map(Into::into),
        conditions: Some(EndpointConditions { ready: Some(ready), ..Default::default() }),
        ..Default::default()
    };
    let slice = EndpointSlice {
        metadata: Some(slice_meta),
        address_type: "IPv4".into(),
        endpoints: vec![
            endpoint("10.1.0.5", Some("db-0"), true),
            endpoint("10.1.0.6", None, true),
            endpoint("10.1.0.7", None, false),
        ],
        ports: vec![EndpointPort {
            name: Some("pg".into()),
            protocol: Some("TCP".into()),
            port: Some(5432),
            ..Default::default()
        }],
        ..Default::default()
    };
    cluster.client.api::<EndpointSlice>(Some("default")).create(&slice).await.expect("the EndpointSlice is created");
    create_service(
        &cluster,
        service(
            "search",
            ServiceSpec {
                r#type: "ExternalName".into(),
                external_name: "search.example.com".into(),
                ..Default::default()
            },
        ),
    )
    .await;

    let upstream = fake_upstream().await;
    let dns = start_dns(&cluster, vec![upstream]).await;
    let health = wait_ready(&dns).await;
    let readyz = http_get(health, "/readyz").await.expect("GET /readyz");
    assert_eq!(readyz.status_line, "HTTP/1.1 200 OK", "ready once synced: {}", readyz.body);

    let server = dns.dns_address;
    let zone = "default.svc.cluster.local.";
    let reverse = Name::from(web_ip).to_ascii();
    let rows: Vec<(String, RecordType, ResponseCode, Vec<String>)> = vec![
        (format!("web.{zone}"), RecordType::A, ResponseCode::NoError, vec![format!("A {web_ip}")]),
        (format!("_http._tcp.web.{zone}"), RecordType::SRV, ResponseCode::NoError, vec![format!("SRV 80 web.{zone}")]),
        (reverse, RecordType::PTR, ResponseCode::NoError, vec![format!("PTR web.{zone}")]),
        (format!("db.{zone}"), RecordType::A, ResponseCode::NoError, vec!["A 10.1.0.5".into(), "A 10.1.0.6".into()]),
        (format!("db-0.db.{zone}"), RecordType::A, ResponseCode::NoError, vec!["A 10.1.0.5".into()]),
        (
            format!("_pg._tcp.db.{zone}"),
            RecordType::SRV,
            ResponseCode::NoError,
            vec![format!("SRV 5432 10-1-0-6.db.{zone}"), format!("SRV 5432 db-0.db.{zone}")],
        ),
        (format!("search.{zone}"), RecordType::A, ResponseCode::NoError, vec!["CNAME search.example.com.".into()]),
        (format!("missing.{zone}"), RecordType::A, ResponseCode::NXDomain, vec![]),
        (format!("web.{zone}"), RecordType::AAAA, ResponseCode::NoError, vec![]),
        ("outside.example.".into(), RecordType::A, ResponseCode::NoError, vec!["A 192.0.2.7".into()]),
        ("nowhere.example.".into(), RecordType::A, ResponseCode::NXDomain, vec![]),
    ];
    for transport in [Transport::Udp, Transport::Tcp] {
        for (name, qtype, code, records) in &rows {
            let answer = ask(server, transport, name, *qtype).await;
            assert_eq!(shown(&answer), (*code, records.clone()), "{transport:?} {name} {qtype}");
            if name.ends_with("cluster.local.") {
                assert!(answer.answers.iter().all(|r| r.ttl == 5), "TTL 5 s: {answer:?}");
            }
        }
    }
    // a negative answer carries the zone's SOA, for negative caching
    let answer = ask(server, Transport::Udp, &format!("missing.{zone}"), RecordType::A).await;
    assert!(answer.authorities.iter().any(|r| r.record_type() == RecordType::SOA), "{answer:?}");
    // an SRV answer carries its targets' addresses
    let answer = ask(server, Transport::Udp, &format!("_pg._tcp.db.{zone}"), RecordType::SRV).await;
    assert_eq!(answer.additionals.iter().filter(|r| r.record_type() == RecordType::A).count(), 2, "{answer:?}");

    // a Service created now becomes resolvable
    let late = create_service(
        &cluster,
        service("late", ServiceSpec { ports: vec![tcp_port("http", 80)], ..Default::default() }),
    )
    .await;
    let expected = vec![format!("A {}", cluster_ip(&late))];
    let name = format!("late.{zone}");
    capstan_testkit::eventually("a new Service resolves", TIMEOUT, || {
        let (name, expected) = (name.clone(), expected.clone());
        async move { (shown(&ask(server, Transport::Udp, &name, RecordType::A).await).1 == expected).then_some(()) }
    })
    .await;

    let metrics = http_get(health, "/metrics").await.expect("GET /metrics");
    let nxdomain = metric_sample(&metrics.body, r#"coredns_dns_responses_total{rcode="NXDOMAIN",plugin="kubernetes"}"#);
    assert!(nxdomain.unwrap_or_default() >= 3.0, "the NXDOMAIN answers are counted:\n{}", metrics.body);
    let forwarded = metric_sample(&metrics.body, r#"coredns_dns_responses_total{rcode="NOERROR",plugin="forward"}"#);
    assert_eq!(forwarded, Some(2.0), "the forwarded answers are counted:\n{}", metrics.body);

    dns.stop().await.expect("stops cleanly");
    cluster.assert_no_component_refused().await;
}

#[tokio::test]
async fn no_upstream_answering_is_servfail() {
    let cluster = TestCluster::start().await;
    // an upstream that reads and never answers
    let silent = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let dns = start_dns(&cluster, vec![silent.local_addr().expect("addr")]).await;
    wait_ready(&dns).await;
    let answer = ask(dns.dns_address, Transport::Udp, "outside.example.", RecordType::A).await;
    assert_eq!(answer.metadata.response_code, ResponseCode::ServFail, "{answer:?}");
    // the cluster's own names still answer
    let answer = ask(dns.dns_address, Transport::Tcp, "missing.default.svc.cluster.local.", RecordType::A).await;
    assert_eq!(answer.metadata.response_code, ResponseCode::NXDomain, "{answer:?}");
    dns.stop().await.expect("stops cleanly");
}

#[tokio::test]
async fn not_ready_and_no_cluster_answers_before_the_caches_sync() {
    let cluster = TestCluster::start().await;
    let mut target = cluster.target("dns");
    // an API server that is not there: the informers never sync
    let unreachable = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = unreachable.local_addr().expect("addr").port();
    drop(unreachable);
    target.server = format!("https://127.0.0.1:{port}");
    let mut config = Config::new(target.server);
    config.credentials = target.credentials;
    config.listen = "127.0.0.1:0".parse().expect("addr");
    config.health_address = Some("127.0.0.1:0".parse().expect("addr"));
    let dns = Dns::start(config).await.expect("starts without the API server");
    let health = dns.health_address.expect("a health port");
    let readyz = http_get(health, "/readyz").await.expect("GET /readyz");
    assert_eq!(readyz.status_line, "HTTP/1.1 503 Service Unavailable", "{}", readyz.body);
    assert!(probe_server(&ServerAddr::Tcp(health)).await.is_err(), "grpc.health says NOT_SERVING");
    let answer = ask(dns.dns_address, Transport::Udp, "web.default.svc.cluster.local.", RecordType::A).await;
    assert_eq!(answer.metadata.response_code, ResponseCode::ServFail, "no NXDOMAIN before sync: {answer:?}");
    dns.stop().await.expect("stops cleanly");
}
