//! A pod's side of service discovery, through a real kubelet on each runtime:
//! the kubelet (with `--cluster-dns 10.96.0.10 --cluster-domain cluster.local`,
//! node credentials on a secured API server, so the system:node role must let
//! it watch Services) gives a ClusterFirst pod its resolver, and a Service that
//! exists when the pod starts its environment variables. Read back from inside
//! the container (`cat /etc/resolv.conf`, `env` through the runtime's exec):
//!
//! - the in-memory runtime, which shows what the sandbox was given;
//! - Docker: the pause container's `--dns*`, whose resolv.conf the app
//!   container shares by joining its network namespace;
//! - containerd: the pod's resolv.conf written by the shim and bind-mounted.
//!
//! Docker and containerd tests are skipped without their daemon, except in CI.

mod common;
#[path = "../../../runtime-shims/containerd/tests/support/mod.rs"]
mod containerd_support;
mod docker_support;

use std::net::IpAddr;

use capstan_client::DeleteParams;
use capstan_cri::RuntimeClients;
use capstan_kubelet::dns::DnsSettings;
use capstan_kubelet::{Config, Kubelet};
use capstan_proto::core::v1::{Pod, PodDnsConfig, PodDnsConfigOption, Service, ServicePort, ServiceSpec};
use capstan_proto::meta::v1::ObjectMeta;
use capstan_proto::runtime::v1::ExecSyncRequest;
use common::{condition, container_status, TestCluster};

const CLUSTER_DNS: &str = "10.96.0.10";

fn dns_settings() -> DnsSettings {
    DnsSettings {
        cluster_dns: vec![CLUSTER_DNS.parse::<IpAddr>().expect("an IP")],
        cluster_domain: "cluster.local".into(),
        // an empty node resolver file: the pod's search list is the cluster's alone
        resolv_conf: None,
    }
}

/// `redis-master` in `default`, port 6379 named `redis`, and a second port.
async fn create_service(cluster: &TestCluster) -> Service {
    let service = Service {
        metadata: Some(ObjectMeta { name: "redis-master".into(), namespace: "default".into(), ..Default::default() }),
        spec: Some(ServiceSpec {
            ports: vec![
                ServicePort { name: "redis".into(), port: 6379, ..Default::default() },
                ServicePort { name: "metrics".into(), protocol: "UDP".into(), port: 9121, ..Default::default() },
            ],
            selector: [("app".to_string(), "redis".to_string())].into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    cluster.client.api::<Service>(Some("default")).create(&service).await.expect("create the Service")
}

/// A ClusterFirst pod bound to `node`, with a dnsConfig option and an env
/// variable that a Service variable would otherwise set.
fn client_pod(node: &str) -> Pod {
    let mut app = common::container("app", &["sleep", "3600"]);
    app.env.push(capstan_proto::core::v1::EnvVar {
        name: "REDIS_MASTER_SERVICE_PORT".into(),
        value: "overridden".into(),
        ..Default::default()
    });
    let mut pod = capstan_testkit::pod("client").containers(vec![app]).node(node).grace_period(0).build();
    let spec = pod.spec.get_or_insert_with(Default::default);
    spec.dns_config = Some(PodDnsConfig {
        options: vec![PodDnsConfigOption { name: "edns0".into(), value: None }],
        ..Default::default()
    });
    pod
}

/// Runs `cmd` in the pod's `app` container through the runtime; its stdout.
async fn exec(runtime: &RuntimeClients, pod: &Pod, cmd: &[&str]) -> String {
    let status = container_status(pod, "app").unwrap_or_else(|| panic!("no status for app: {pod:#?}"));
    let id = status.container_id.split_once("://").map_or(status.container_id.as_str(), |(_, id)| id);
    let request =
        ExecSyncRequest { container_id: id.to_string(), cmd: cmd.iter().map(|s| s.to_string()).collect(), timeout: 10 };
    let reply = runtime.runtime.clone().exec_sync(request).await.expect("ExecSync").into_inner();
    assert_eq!(reply.exit_code, 0, "{cmd:?}: {}", String::from_utf8_lossy(&reply.stderr));
    String::from_utf8_lossy(&reply.stdout).into_owned()
}

/// Starts a kubelet with `config`, runs the client pod and checks what it
/// sees: `nameserver` in its resolv.conf, the cluster's search domains and
/// options, the Service's variables. Returns the kubelet and the running pod.
async fn pod_finds_the_service(
    cluster: &TestCluster,
    mut config: Config,
    runtime: &RuntimeClients,
    nameserver: &str,
) -> (Kubelet, Pod) {
    config.dns = dns_settings();
    let node = config.node_name.clone();
    let service = create_service(cluster).await;
    let ip = service.spec.as_ref().map(|s| s.cluster_ip.clone()).unwrap_or_default();
    assert!(!ip.is_empty() && ip != "None", "the Service got a cluster IP: {service:#?}");
    let kubelet = Kubelet::start(config).await.expect("the kubelet starts");
    cluster.client.api::<Pod>(Some("default")).create(&client_pod(&node)).await.expect("create the pod");
    let pod = common::wait_pod(&cluster.client, "client", |p| condition(p, "Ready").as_deref() == Some("True")).await;

    let resolv = exec(runtime, &pod, &["cat", "/etc/resolv.conf"]).await;
    let lines: Vec<&str> = resolv.lines().map(str::trim).filter(|l| !l.starts_with('#') && !l.is_empty()).collect();
    assert!(lines.contains(&"search default.svc.cluster.local svc.cluster.local cluster.local"), "{resolv}");
    assert!(lines.contains(&"options ndots:5 edns0"), "{resolv}");
    let servers: Vec<&str> = lines.iter().filter_map(|l| l.strip_prefix("nameserver ")).collect();
    assert_eq!(servers, [nameserver], "{resolv}");

    let env = exec(runtime, &pod, &["env"]).await;
    let vars: Vec<&str> = env.lines().collect();
    for expected in [
        format!("REDIS_MASTER_SERVICE_HOST={ip}"),
        "REDIS_MASTER_SERVICE_PORT=overridden".to_string(),
        "REDIS_MASTER_SERVICE_PORT_REDIS=6379".to_string(),
        "REDIS_MASTER_SERVICE_PORT_METRICS=9121".to_string(),
        format!("REDIS_MASTER_PORT=tcp://{ip}:6379"),
        format!("REDIS_MASTER_PORT_6379_TCP=tcp://{ip}:6379"),
        "REDIS_MASTER_PORT_6379_TCP_PROTO=tcp".to_string(),
        "REDIS_MASTER_PORT_6379_TCP_PORT=6379".to_string(),
        format!("REDIS_MASTER_PORT_6379_TCP_ADDR={ip}"),
        format!("REDIS_MASTER_PORT_9121_UDP=udp://{ip}:9121"),
    ] {
        assert!(vars.contains(&expected.as_str()), "{expected} missing from the container's env:\n{env}");
    }
    assert!(!vars.contains(&"REDIS_MASTER_SERVICE_PORT=6379"), "the container's own value wins:\n{env}");
    (kubelet, pod)
}

/// Deletes the client pod and stops the kubelet.
async fn finish(cluster: &TestCluster, kubelet: Kubelet) {
    let api = cluster.client.api::<Pod>(Some("default"));
    api.delete("client", &DeleteParams::default().grace_period(0)).await.expect("delete the pod");
    common::wait_for::<Pod>(&cluster.client, Some("default"), "client", |p| p.is_none()).await;
    kubelet.stop().await.expect("the kubelet stops cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_memory_runtime_a_pod_gets_its_resolver_and_service_variables() {
    let cluster = common::cluster().await;
    let node = "sd-memory";
    let (_runtime, clients) = common::memory_runtime(node).await;
    let config = common::kubelet_config(&cluster, node, clients.clone());
    let (kubelet, _) = pod_finds_the_service(&cluster, config, &clients, CLUSTER_DNS).await;
    finish(&cluster, kubelet).await;
}

/// Docker's default `bridge` network: the pause container's resolv.conf, which
/// the app container shares, names the cluster DNS itself.
/// A kubelet without `--cluster-dns` gives a ClusterFirst pod the node's
/// resolver (here none: the node itself, searching nothing) and says so in a
/// `MissingClusterDNS` event on the pod, as Kubernetes' kubelet does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_cluster_dns_a_cluster_first_pod_falls_back_with_a_warning() {
    let cluster = common::cluster().await;
    let node = "sd-no-dns";
    let (_runtime, clients) = common::memory_runtime(node).await;
    let mut config = common::kubelet_config(&cluster, node, clients.clone());
    config.dns = DnsSettings { cluster_dns: vec![], ..dns_settings() };
    let kubelet = Kubelet::start(config).await.expect("the kubelet starts");
    let pod = capstan_testkit::pod("client").containers(vec![common::container("app", &["sleep", "3600"])]).node(node);
    cluster.client.api::<Pod>(Some("default")).create(&pod.build()).await.expect("create the pod");
    let pod = common::wait_pod(&cluster.client, "client", |p| condition(p, "Ready").as_deref() == Some("True")).await;
    assert_eq!(exec(&clients, &pod, &["cat", "/etc/resolv.conf"]).await, "search .\nnameserver 127.0.0.1\n");
    let events = cluster.client.api::<capstan_proto::core::v1::Event>(Some("default"));
    let warning = capstan_test_support::eventually("the MissingClusterDNS event", common::TIMEOUT, || async {
        let (listed, _) = events.list(&Default::default()).await.ok()?;
        listed.into_iter().find(|e| e.reason == "MissingClusterDNS")
    })
    .await;
    assert_eq!(warning.r#type, "Warning");
    assert_eq!(warning.involved_object.map(|o| o.name).as_deref(), Some("client"));
    assert!(warning.message.contains("--cluster-dns"), "{}", warning.message);
    finish(&cluster, kubelet).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_docker_a_pod_gets_its_resolver_and_service_variables() {
    let Some(()) = docker_support::require_docker() else { return };
    docker_support::ensure_images().await;
    let node = docker_support::node_name("service-discovery");
    let _sweeper = docker_support::Sweeper::new(&node);
    let cluster = common::cluster().await;
    let shim = docker_support::Shim::start_on(&node, "bridge").await;
    let config = docker_support::kubelet_config(&cluster, &node, &shim.endpoint, docker_support::test_timings());
    let clients = capstan_cri::connect(&shim.endpoint).await.expect("connecting to the shim");
    let (kubelet, _) = pod_finds_the_service(&cluster, config, &clients, CLUSTER_DNS).await;
    finish(&cluster, kubelet).await;
    drop(clients);
    shim.stop().await;
}

/// The shim's own (user-defined) network: Docker's embedded resolver stands in
/// the file and forwards to the servers the pause container was given.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_docker_network_the_embedded_resolver_forwards_to_the_cluster_dns() {
    let Some(()) = docker_support::require_docker() else { return };
    docker_support::ensure_images().await;
    let node = docker_support::node_name("service-discovery-net");
    let _sweeper = docker_support::Sweeper::new(&node);
    let cluster = common::cluster().await;
    let shim = docker_support::Shim::start(&node).await;
    let config = docker_support::kubelet_config(&cluster, &node, &shim.endpoint, docker_support::test_timings());
    let clients = capstan_cri::connect(&shim.endpoint).await.expect("connecting to the shim");
    let (kubelet, pod) = pod_finds_the_service(&cluster, config, &clients, "127.0.0.11").await;
    let uid = pod.metadata.as_ref().map(|m| m.uid.clone()).unwrap_or_default();
    let ids: Vec<String> = docker_support::docker_containers(&uid).await.into_iter().map(|(id, _)| id).collect();
    let output = tokio::process::Command::new("docker")
        .args(["inspect", "--format", "{{.HostConfig.NetworkMode}} {{json .HostConfig.Dns}}"])
        .args(&ids)
        .output()
        .await
        .expect("running docker inspect");
    let inspected = String::from_utf8_lossy(&output.stdout).into_owned();
    let sandboxes: Vec<&str> = inspected.lines().filter(|l| !l.starts_with("container:")).collect();
    assert_eq!(sandboxes.len(), 1, "one pause container among {inspected}");
    assert!(sandboxes[0].ends_with(r#" ["10.96.0.10"]"#), "the pause container's DNS servers: {inspected}");
    finish(&cluster, kubelet).await;
    drop(clients);
    shim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_containerd_a_pod_gets_its_resolver_and_service_variables() {
    let Some(()) = containerd_support::require_containerd() else { return };
    containerd_support::ensure_images().await;
    let node = containerd_support::node_name("service-discovery");
    let _sweeper = containerd_support::sweeper(&node);
    let dir = tempfile::tempdir().expect("tempdir");
    let cluster = common::cluster().await;
    let shim = containerd_support::Shim::start(&node, dir.path()).await;
    let config = docker_support::kubelet_config(&cluster, &node, &shim.endpoint, docker_support::test_timings());
    let clients = shim.clients().await;
    let (kubelet, _) = pod_finds_the_service(&cluster, config, &clients, CLUSTER_DNS).await;
    finish(&cluster, kubelet).await;
    drop(clients);
    shim.stop().await;
}
