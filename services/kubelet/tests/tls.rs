//! The kubelet's door, over real TLS with the cluster's PKI: it serves its
//! `kubelet-NODE` certificate, takes client certificates from the cluster
//! CA, lets the API server's kubelet client read logs, exec and read usage,
//! the controller-manager read usage only, and refuses everyone else in the
//! kubelet's words; without authentication it will not listen off loopback.

mod common;

use std::net::SocketAddr;

use capstan_client::connect::ClientChannel;
use capstan_client::Credentials;
use capstan_kubelet::{Kubelet, KubeletError};
use capstan_proto::kubelet::v1::exec_request::{Request as Part, Target};
use capstan_proto::kubelet::v1::kubelet_service_client::KubeletServiceClient;
use capstan_proto::kubelet::v1::{ExecRequest, LogsRequest, PodUsageRequest};
use capstan_proto::runtime::v1::exec_output::Output;
use capstan_testkit::node_pki;
use common::{container, kubelet_config, memory_runtime, phase, wait_pod, TestCluster, TIMEOUT};
use tonic::Code;

const NODE: &str = "node-1";

/// A secured cluster and node-1's kubelet behind its TLS door, the kubelet
/// registering with its own node identity.
async fn secured() -> (TestCluster, Kubelet) {
    let cluster = TestCluster::start_secured().await;
    let (_runtime, clients) = memory_runtime(NODE).await;
    let mut config = kubelet_config(&cluster, NODE, clients);
    let node = cluster.target(&format!("node-{NODE}"));
    config.server = node.server;
    config.credentials = node.credentials;
    config.tls = Some(node_pki::kubelet_serving(&cluster.pki(), NODE));
    let kubelet = Kubelet::start(config).await.expect("the kubelet starts with TLS");
    (cluster, kubelet)
}

/// A client of the kubelet at `addr` with `credentials`, checking the
/// kubelet's certificate against the node's name.
fn client(addr: SocketAddr, credentials: Credentials) -> KubeletServiceClient<ClientChannel> {
    let credentials = Credentials { tls_server_name: Some(NODE.to_string()), ..credentials };
    let channel = capstan_client::connect::channel(&format!("https://{addr}"), &credentials).expect("a channel");
    KubeletServiceClient::new(channel)
}

fn as_identity(cluster: &TestCluster, kubelet: &Kubelet, name: Option<&str>) -> KubeletServiceClient<ClientChannel> {
    client(kubelet.addr(), node_pki::credentials(&cluster.pki(), name))
}

fn logs_of(pod: &str) -> LogsRequest {
    LogsRequest { namespace: "default".into(), pod: pod.into(), ..Default::default() }
}

fn usage_of(pod: &str) -> PodUsageRequest {
    PodUsageRequest { namespace: "default".into(), pod: pod.into() }
}

/// Runs `cmd` in `pod` through `client`: stdout and the exit code.
async fn exec(
    client: &mut KubeletServiceClient<ClientChannel>,
    pod: &str,
    cmd: &[&str],
) -> Result<(String, i32), tonic::Status> {
    let target = Target {
        namespace: "default".into(),
        pod: pod.into(),
        cmd: cmd.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    };
    let first = ExecRequest { request: Some(Part::Target(target)) };
    let mut output = client.exec(tokio_stream::iter([first])).await?.into_inner();
    let mut stdout = String::new();
    while let Some(message) = output.message().await? {
        match message.output {
            Some(Output::Stdout(data)) => stdout.push_str(&String::from_utf8_lossy(&data)),
            Some(Output::ExitCode(code)) => return Ok((stdout, code)),
            _ => {}
        }
    }
    panic!("the exec ended without an exit code; stdout so far: {stdout:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_api_server_and_the_controller_manager_get_in() {
    let (cluster, kubelet) = secured().await;
    let web = capstan_testkit::pod("web").containers(vec![container("web", &["sh", "-c", "echo started; sleep 3600"])]);
    cluster.client.api(Some("default")).create(&web.node(NODE).build()).await.expect("create the pod");
    wait_pod(&cluster.client, "web", |p| phase(p) == "Running").await;

    // the API server's kubelet client: logs, exec and usage
    let mut apiserver = as_identity(&cluster, &kubelet, Some("apiserver-kubelet-client"));
    // the container's first line may still be on its way when it is Running
    let log = tokio::time::timeout(TIMEOUT, async {
        loop {
            let mut chunks =
                apiserver.clone().logs(logs_of("web")).await.expect("the API server reads logs").into_inner();
            let mut log = String::new();
            while let Some(chunk) = chunks.message().await.expect("a log chunk") {
                log.push_str(&String::from_utf8_lossy(&chunk.data));
            }
            if !log.is_empty() {
                return log;
            }
        }
    })
    .await
    .expect("the log has its first line");
    assert_eq!(log, "started\n");
    assert_eq!(exec(&mut apiserver, "web", &["echo", "hi"]).await.expect("the API server execs"), ("hi\n".into(), 0));
    apiserver.pod_usage(usage_of("web")).await.expect("the API server reads usage");

    // the controller-manager: usage, and nothing else
    let mut cm = as_identity(&cluster, &kubelet, Some("controller-manager"));
    cm.pod_usage(usage_of("web")).await.expect("the controller-manager reads usage");
    let refused = cm.logs(logs_of("web")).await.expect_err("no logs for the controller-manager");
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused}");
    assert_eq!(
        refused.message(),
        "Forbidden (user=system:kube-controller-manager, verb=get, resource=nodes, subresource=proxy)"
    );
    let refused = exec(&mut cm, "web", &["true"]).await.expect_err("no exec for the controller-manager");
    assert_eq!(
        (refused.code(), refused.message()),
        (
            Code::PermissionDenied,
            "Forbidden (user=system:kube-controller-manager, verb=create, resource=nodes, subresource=proxy)"
        )
    );

    // a node's own identity, even this node's, is no caller of its kubelet
    let mut node = as_identity(&cluster, &kubelet, Some(&format!("node-{NODE}")));
    let refused = exec(&mut node, "web", &["true"]).await.expect_err("no exec for a node");
    assert_eq!(
        (refused.code(), refused.message()),
        (Code::PermissionDenied, "Forbidden (user=system:node:node-1, verb=create, resource=nodes, subresource=proxy)")
    );
    let refused = node.pod_usage(usage_of("web")).await.expect_err("no usage for a node");
    assert_eq!(refused.message(), "Forbidden (user=system:node:node-1, verb=get, resource=nodes, subresource=stats)");

    kubelet.stop().await.expect("the kubelet stops cleanly");
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_without_a_certificate_of_the_cluster_ca_are_refused() {
    let (cluster, kubelet) = secured().await;

    // no certificate: the handshake passes, authentication does not
    let refused = as_identity(&cluster, &kubelet, None).pod_usage(usage_of("web")).await.expect_err("no identity");
    assert_eq!((refused.code(), refused.message()), (Code::Unauthenticated, "Unauthorized"));

    // the API server's kubelet-client identity, but signed by another CA
    let other = tempfile::tempdir().expect("a temp dir");
    capstan_pki::init(&capstan_pki::InitOptions::new(other.path())).expect("another PKI");
    let forged = Credentials {
        ca_pem: node_pki::credentials(&cluster.pki(), None).ca_pem,
        ..node_pki::credentials(other.path(), Some("apiserver-kubelet-client"))
    };
    let refused = client(kubelet.addr(), forged).pod_usage(usage_of("web")).await.expect_err("another CA");
    // rustls refuses the certificate in the handshake. Under TLS 1.3 the
    // client finishes its side of the handshake first, so it reads the
    // server's alert, or, when its request raced the close, a broken pipe or
    // a closed connection: a transport failure (one with a source), never an
    // answer of the service (those carry none)
    assert!(std::error::Error::source(&refused).is_some(), "not refused in the handshake: {refused:?}");
    assert!(!matches!(refused.code(), Code::Unauthenticated | Code::PermissionDenied), "{refused:?}");

    // plaintext against the TLS port
    let mut plain = KubeletServiceClient::connect(format!("http://{}", kubelet.addr())).await.expect("TCP connects");
    plain.pod_usage(usage_of("web")).await.expect_err("plaintext is not TLS");

    kubelet.stop().await.expect("the kubelet stops cleanly");
    cluster.stop().await;
}

#[tokio::test]
async fn nothing_listens_off_loopback_without_authentication() {
    let cluster = TestCluster::start().await;
    let (_runtime, clients) = memory_runtime("open-node").await;
    let mut config = kubelet_config(&cluster, "open-node", clients);
    config.listen = SocketAddr::from(([0, 0, 0, 0], 0));
    let refused = Kubelet::start(config.clone()).await.err().expect("no kubelet on 0.0.0.0 without a client CA");
    assert!(matches!(refused, KubeletError::Unauthenticated { .. }), "{refused}");
    assert!(refused.to_string().contains("--client-ca-file"), "{refused}");

    // TLS alone authenticates no one either
    let pki = tempfile::tempdir().expect("a temp dir");
    let mut options = capstan_pki::InitOptions::new(pki.path());
    options.nodes = vec!["open-node".into()];
    capstan_pki::init(&options).expect("a PKI");
    config.tls =
        Some(capstan_server::TlsFiles { client_ca: None, ..node_pki::kubelet_serving(pki.path(), "open-node") });
    let refused = Kubelet::start(config).await.err().expect("no kubelet on 0.0.0.0 without a client CA");
    assert!(matches!(refused, KubeletError::Unauthenticated { .. }), "{refused}");
    cluster.stop().await;
}
