//! Cluster IPs served with no manual step: the proxy puts each Service's
//! cluster IP on its own dummy interface (real netlink, so these tests need
//! root or CAP_NET_ADMIN) and serves `clusterIP:port` — from the host, and
//! from a container on Docker's bridge, which reaches the cluster IP through
//! its default gateway, the host.
//!
//! Every test names its own interface and picks its own cluster IPs, since
//! tests share the host's network namespace.

mod common;

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use capstan_client::DeleteParams;
use capstan_kube_proxy::{Algorithm, Config, Proxy, ProxyError};
use capstan_proto::core::v1::{Service, ServicePort, ServiceSpec};
use capstan_proto::meta::v1::ObjectMeta;
use capstan_test_support::{ensure_images, require_docker, DockerSweeper, TEST_IMAGE};
use common::backends::{ask, Backends};
use common::{eventually, TestCluster};
use futures::TryStreamExt;
use rand::Rng;
use tokio::net::{TcpStream, UdpSocket};

/// Whether this process may change the host's interfaces; a printed skip when not.
fn require_net_admin() -> Option<()> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let root = status.lines().any(|line| line.starts_with("Uid:") && line.split_whitespace().nth(2) == Some("0"));
    if !root {
        eprintln!("SKIPPED: the cluster IP interface needs root (CAP_NET_ADMIN)");
    }
    root.then_some(())
}

/// Deletes a test's interface when dropped, also when an assertion fails
/// before its proxy could (blocking, as drop must be).
struct InterfaceSweeper(String);

impl Drop for InterfaceSweeper {
    fn drop(&mut self) {
        if std::path::Path::new("/sys/class/net").join(&self.0).exists() {
            let _ = std::process::Command::new("ip").args(["link", "del", &self.0]).output();
        }
    }
}

/// A fresh interface name (at most 15 bytes), its sweeper, and a cluster IP
/// base for one test.
fn unique() -> (String, InterfaceSweeper, [u8; 2]) {
    let mut rng = rand::rng();
    let name = format!("cip-{:08x}", rng.random::<u32>());
    (name.clone(), InterfaceSweeper(name), [rng.random_range(100..=110), rng.random()])
}

fn cluster_ip(base: [u8; 2], last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, base[0], base[1], last))
}

async fn start_proxy(api: &TestCluster, interface: &str) -> Result<Proxy, ProxyError> {
    let target = api.target("proxy");
    let mut config = Config::new(target.server, "node-1");
    config.credentials = target.credentials;
    config.mode = Algorithm::RoundRobin;
    config.nodeport_addresses = vec![];
    config.healthz_bind_address = None;
    config.metrics_bind_address = None;
    config.cluster_ip_interface = Some(interface.to_string());
    Proxy::start(config).await
}

/// A ClusterIP Service `name` at `ip` with port "p" (`port`, `protocol`).
async fn cluster_ip_service(api: &TestCluster, name: &str, ip: IpAddr, port: u16, protocol: &str) {
    service_with_affinity(api, name, ip, port, protocol, "").await
}

/// [`cluster_ip_service`] with `sessionAffinity` (`ClientIP` or none).
async fn service_with_affinity(api: &TestCluster, name: &str, ip: IpAddr, port: u16, protocol: &str, affinity: &str) {
    let service = Service {
        metadata: Some(ObjectMeta { name: name.into(), namespace: "default".into(), ..Default::default() }),
        spec: Some(ServiceSpec {
            r#type: "ClusterIP".into(),
            cluster_ip: ip.to_string(),
            session_affinity: affinity.into(),
            ports: vec![ServicePort {
                name: "p".into(),
                protocol: protocol.into(),
                port: port.into(),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    };
    let services = api.client.api::<Service>(Some("default"));
    match services.get(name).await {
        Ok(existing) => {
            let mut changed = existing;
            changed.spec = service.spec;
            services.update(&changed).await.expect("service updated");
        }
        Err(_) => {
            services.create(&service).await.expect("service created");
        }
    }
}

async fn delete_service(api: &TestCluster, name: &str) {
    api.client.api::<Service>(Some("default")).delete(name, &DeleteParams::default()).await.expect("service deleted");
}

/// The addresses on `interface`, `None` when there is no such interface.
async fn addresses_on(interface: &str) -> Option<BTreeSet<IpAddr>> {
    let (connection, handle, _) = rtnetlink::new_connection().expect("netlink");
    let connection = tokio::spawn(connection);
    let link = handle.link().get().match_name(interface.to_string()).execute().try_next().await.ok().flatten()?;
    let messages = handle.address().get().set_link_index_filter(link.header.index).execute();
    let messages: Vec<_> = messages.try_collect().await.expect("addresses");
    connection.abort();
    Some(
        messages
            .iter()
            .flat_map(|m| &m.attributes)
            .filter_map(|a| match a {
                rtnetlink::packet_route::address::AddressAttribute::Address(IpAddr::V6(ip))
                    if ip.is_unicast_link_local() =>
                {
                    None
                }
                rtnetlink::packet_route::address::AddressAttribute::Address(ip) => Some(*ip),
                _ => None,
            })
            .collect(),
    )
}

/// A dummy interface `name` holding `ips`, as a crashed proxy leaves it.
async fn leftover_interface(name: &str, ips: &[IpAddr]) {
    let (connection, handle, _) = rtnetlink::new_connection().expect("netlink");
    let connection = tokio::spawn(connection);
    // a bridge where the kernel has no dummy driver, as the proxy does
    if handle.link().add(rtnetlink::LinkDummy::new(name).build()).execute().await.is_err() {
        handle.link().add(rtnetlink::LinkBridge::new(name).build()).execute().await.expect("bridge created");
    }
    let link =
        handle.link().get().match_name(name.to_string()).execute().try_next().await.expect("link").expect("link");
    for ip in ips {
        handle.address().add(link.header.index, *ip, 32).execute().await.expect("address added");
    }
    connection.abort();
}

/// TCP round-robin across two backends at `clusterIP:port`, a port change
/// closing the old port at once, UDP answered from the cluster IP itself, a
/// deleted Service's address removed, and the interface gone with the proxy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_ips_are_served_on_the_proxys_interface_and_leave_with_it() {
    let Some(()) = require_net_admin() else { return };
    let (interface, _sweeper, base) = unique();
    let api = TestCluster::start().await;
    let proxy = start_proxy(&api, &interface).await.expect("proxy starts");
    let cluster = common::Cluster { api, proxy: None };
    let mut backends = Backends::default();
    let (a, b) = (backends.tcp("a").await, backends.tcp("b").await);
    let (web_ip, dns_ip) = (cluster_ip(base, 1), cluster_ip(base, 2));
    cluster_ip_service(&cluster.api, "web", web_ip, 80, "TCP").await;
    cluster.endpoints("web", "TCP", &[a, b], &[]).await;
    let web = SocketAddr::new(web_ip, 80);
    eventually("the cluster IP answers", || async move { ask(web).await.is_ok() }).await;
    assert_eq!(addresses_on(&interface).await, Some(BTreeSet::from([web_ip])));
    let first = ask(web).await.expect("answer");
    let answers: Vec<String> =
        [ask(web).await, ask(web).await, ask(web).await].into_iter().map(|a| a.expect("answer")).collect();
    let other = if first == "a" { "b" } else { "a" };
    assert_eq!(answers, [other, &first, other], "round-robin across both backends at the cluster IP");

    // the port changes: the old one is refused at once, the address stays
    cluster_ip_service(&cluster.api, "web", web_ip, 8080, "TCP").await;
    let moved = SocketAddr::new(web_ip, 8080);
    eventually("the new port answers", || async move { ask(moved).await.is_ok() }).await;
    let refused = TcpStream::connect(web).await.map(drop).expect_err("the old port is closed");
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused, "{refused}");

    // UDP: replies come from the cluster IP (a connected socket takes no other)
    let u = backends.udp("u").await;
    cluster_ip_service(&cluster.api, "dns", dns_ip, 53, "UDP").await;
    cluster.endpoints("dns", "UDP", &[u], &[]).await;
    let client = UdpSocket::bind("0.0.0.0:0").await.expect("bind");
    client.connect(SocketAddr::new(dns_ip, 53)).await.expect("connect");
    let answer = capstan_testkit::eventually("the UDP cluster IP answers", common::TIMEOUT, || async {
        client.send(b"ping").await.ok()?;
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(Duration::from_millis(500), client.recv(&mut buf)).await.ok()?.ok()?;
        Some(buf[..n].to_vec())
    })
    .await;
    assert_eq!(answer, b"u:ping");
    assert_eq!(addresses_on(&interface).await, Some(BTreeSet::from([web_ip, dns_ip])));

    // deleted: its address leaves the interface, the other stays
    delete_service(&cluster.api, "web").await;
    eventually("the deleted Service's cluster IP is removed", || {
        let interface = interface.clone();
        async move { addresses_on(&interface).await == Some(BTreeSet::from([dns_ip])) }
    })
    .await;

    // stopped: the interface and its addresses are gone
    proxy.stop().await.expect("proxy stops cleanly");
    assert_eq!(addresses_on(&interface).await, None, "the interface is deleted with the proxy");
}

/// A crash left the interface with a stale address: the next proxy adopts the
/// interface, keeps what is still wanted and removes the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_proxy_adopts_its_leftover_interface() {
    let Some(()) = require_net_admin() else { return };
    let (interface, _sweeper, base) = unique();
    let (kept, stale) = (cluster_ip(base, 1), cluster_ip(base, 9));
    leftover_interface(&interface, &[kept, stale]).await;
    let api = TestCluster::start().await;
    let cluster = common::Cluster { api, proxy: None };
    let mut backends = Backends::default();
    let a = backends.tcp("a").await;
    cluster_ip_service(&cluster.api, "web", kept, 80, "TCP").await;
    cluster.endpoints("web", "TCP", &[a], &[]).await;
    let proxy = start_proxy(&cluster.api, &interface).await.expect("the proxy adopts the interface");
    let web = SocketAddr::new(kept, 80);
    eventually("the kept cluster IP answers", || async move { ask(web).await.ok().as_deref() == Some("a") }).await;
    eventually("the stale address is removed", || {
        let interface = interface.clone();
        async move { addresses_on(&interface).await == Some(BTreeSet::from([kept])) }
    })
    .await;
    proxy.stop().await.expect("proxy stops cleanly");
    assert_eq!(addresses_on(&interface).await, None);
}

/// A second proxy naming a live proxy's interface is refused (it would
/// otherwise take the first one's cluster IPs away at its first sync); once
/// the first stops, the name is free again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_proxy_on_a_live_proxys_interface_is_refused() {
    let Some(()) = require_net_admin() else { return };
    let (interface, _sweeper, base) = unique();
    let api = TestCluster::start().await;
    let cluster = common::Cluster { api, proxy: None };
    let mut backends = Backends::default();
    let a = backends.tcp("a").await;
    let ip = cluster_ip(base, 1);
    cluster_ip_service(&cluster.api, "web", ip, 80, "TCP").await;
    cluster.endpoints("web", "TCP", &[a], &[]).await;
    let first = start_proxy(&cluster.api, &interface).await.expect("the first proxy");
    let web = SocketAddr::new(ip, 80);
    eventually("the cluster IP answers", || async move { ask(web).await.ok().as_deref() == Some("a") }).await;
    let other = TestCluster::start().await;
    let error = start_proxy(&other, &interface).await.expect_err("the interface is the first proxy's");
    let text = error.to_string();
    assert!(matches!(error, ProxyError::InterfaceInUse { .. }) && text.contains(&interface), "{text}");
    assert_eq!(ask(web).await.ok().as_deref(), Some("a"), "the first proxy still serves");
    assert_eq!(addresses_on(&interface).await, Some(BTreeSet::from([ip])));
    first.stop().await.expect("proxy stops cleanly");
    let second = start_proxy(&other, &interface).await.expect("the name is free once the first stopped");
    second.stop().await.expect("proxy stops cleanly");
}

/// The name of an interface the proxy does not own is refused, naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interface_of_another_kind_is_refused() {
    let Some(()) = require_net_admin() else { return };
    let api = TestCluster::start().await;
    let error = start_proxy(&api, "lo").await.expect_err("lo is not the proxy's");
    let text = error.to_string();
    assert!(matches!(error, ProxyError::ForeignInterface { .. }) && text.contains("lo"), "{text}");
    assert!(addresses_on("lo").await.is_some_and(|ips| ips.contains(&IpAddr::from([127, 0, 0, 1]))));
}

/// `docker exec` in `container`: the body of `GET /` from `address` (busybox
/// `nc`, since the test image's `wget` crashes), or `None` when nothing answers.
async fn get_in(container: &str, address: SocketAddr) -> Option<String> {
    let request = format!("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {} {}", address.ip(), address.port());
    let output = tokio::process::Command::new("docker")
        .args(["exec", container, "sh", "-c", &request])
        .output()
        .await
        .expect("docker exec");
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    // the status line, then the body after the blank line
    let (head, body) = text.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.").then(|| body.trim().to_string())
}

/// A container on Docker's default bridge serving its name over HTTP on 8080;
/// returns its address on the bridge.
async fn http_container(label: &str, name: &str) -> IpAddr {
    let script = format!("mkdir -p /w && echo {name} > /w/index.html && exec httpd -f -p 8080 -h /w");
    let run = tokio::process::Command::new("docker")
        .args(["run", "-d", "--name", &format!("{label}-{name}"), "--label", &format!("io.capstan.test={label}")])
        .args([TEST_IMAGE, "sh", "-c", &script])
        .output()
        .await
        .expect("docker run");
    assert!(run.status.success(), "docker run: {}", String::from_utf8_lossy(&run.stderr));
    let inspect = tokio::process::Command::new("docker")
        .args(["inspect", "-f", "{{.NetworkSettings.IPAddress}}", &format!("{label}-{name}")])
        .output()
        .await
        .expect("docker inspect");
    String::from_utf8_lossy(&inspect.stdout).trim().parse().expect("the container's bridge address")
}

/// From a container on Docker's bridge, `clusterIP:port` reaches two other
/// containers in turn; a container reaches a Service whose only backend is
/// itself (hairpin); a deleted Service no longer answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_on_dockers_bridge_reaches_cluster_ips() {
    let Some(()) = require_net_admin() else { return };
    let Some(()) = require_docker() else { return };
    ensure_images().await;
    let (interface, _sweeper, base) = unique();
    let label = interface.clone();
    let _containers = DockerSweeper::new("io.capstan.test", &label);
    let api = TestCluster::start().await;
    let proxy = start_proxy(&api, &interface).await.expect("proxy starts");
    let cluster = common::Cluster { api, proxy: Some(proxy) };
    let (a, b, _) =
        (http_container(&label, "a").await, http_container(&label, "b").await, http_container(&label, "client").await);
    let (web_ip, self_ip) = (cluster_ip(base, 1), cluster_ip(base, 2));
    cluster_ip_service(&cluster.api, "web", web_ip, 80, "TCP").await;
    cluster.endpoints("web", "TCP", &[SocketAddr::new(a, 8080), SocketAddr::new(b, 8080)], &[]).await;
    cluster_ip_service(&cluster.api, "itself", self_ip, 80, "TCP").await;
    cluster.endpoints("itself", "TCP", &[SocketAddr::new(a, 8080)], &[]).await;

    let (client, a_name) = (format!("{label}-client"), format!("{label}-a"));
    let web = SocketAddr::new(web_ip, 80);
    eventually("the cluster IP answers inside the container", || async { get_in(&client, web).await.is_some() }).await;
    let mut answers = Vec::new();
    for _ in 0..4 {
        answers.push(get_in(&client, web).await.expect("an answer through the cluster IP"));
    }
    assert_eq!(answers[0], answers[2], "{answers:?}");
    assert_eq!(answers[1], answers[3], "{answers:?}");
    assert_eq!(BTreeSet::from([answers[0].as_str(), answers[1].as_str()]), BTreeSet::from(["a", "b"]));

    let itself = SocketAddr::new(self_ip, 80);
    eventually("a reaches itself through its Service", || async {
        get_in(&a_name, itself).await.as_deref() == Some("a")
    })
    .await;

    delete_service(&cluster.api, "web").await;
    eventually("the deleted Service no longer answers", || async { get_in(&client, web).await.is_none() }).await;
    assert_eq!(get_in(&a_name, itself).await.as_deref(), Some("a"), "the other Service is still served");
    let common::Cluster { proxy, .. } = cluster;
    proxy.expect("started").stop().await.expect("proxy stops cleanly");
    assert_eq!(addresses_on(&interface).await, None);
}

/// `sessionAffinity: ClientIP` at the cluster IP: the node port's balancer,
/// so one client keeps its backend where round-robin would alternate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_ip_affinity_holds_at_the_cluster_ip() {
    let Some(()) = require_net_admin() else { return };
    let (interface, _sweeper, base) = unique();
    let api = TestCluster::start().await;
    let proxy = start_proxy(&api, &interface).await.expect("proxy starts");
    let cluster = common::Cluster { api, proxy: Some(proxy) };
    let mut backends = Backends::default();
    let (a, b) = (backends.tcp("a").await, backends.tcp("b").await);
    let ip = cluster_ip(base, 1);
    service_with_affinity(&cluster.api, "sticky", ip, 80, "TCP", "ClientIP").await;
    cluster.endpoints("sticky", "TCP", &[a, b], &[]).await;
    let address = SocketAddr::new(ip, 80);
    eventually("the cluster IP answers", || async move { ask(address).await.is_ok() }).await;
    let first = ask(address).await.expect("answer");
    for _ in 0..6 {
        assert_eq!(ask(address).await.expect("answer"), first, "one client keeps its backend");
    }
    let common::Cluster { proxy, .. } = cluster;
    proxy.expect("started").stop().await.expect("proxy stops cleanly");
}
