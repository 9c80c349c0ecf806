//! `pods/log` and `pods/exec` through the API server, as Kubernetes serves
//! them: an API server over TLS with Node,RBAC, and node-1's kubelet (the
//! in-memory runtime) behind its own TLS door, which lets in only the API
//! server's kubelet-client certificate. The user's call is authorized by the
//! API server (a 403 in Kubernetes' words for a user without `pods/exec`),
//! then relayed to the kubelet, both ways; a pod without a node, a node that
//! is not registered and a kubelet that does not answer each get an error
//! naming what is wrong.

use capstan_client::connect::ClientChannel;
use capstan_client::Client;
use capstan_kubelet::Kubelet;
use capstan_memory_shim::{MemoryConfig, MemoryRuntime};
use capstan_proto::api::v1::pod_service_client::PodServiceClient;
use capstan_proto::api::v1::ResourceRef;
use capstan_proto::core::v1::{Container, Pod};
use capstan_proto::kubelet::v1::exec_request::{Request as Part, Target};
use capstan_proto::kubelet::v1::{ExecRequest, LogsRequest};
use capstan_proto::object::parse_manifests;
use capstan_proto::runtime::v1::exec_input::Input;
use capstan_proto::runtime::v1::exec_output::Output;
use capstan_proto::runtime::v1::{ExecInput, ExecOutput};
use capstan_testkit::{node_pki, TestCluster};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;

const NODE: &str = "node-1";
const WAIT: Duration = Duration::from_secs(30);

/// A secured API server (Node,RBAC) calling kubelets with its kubelet-client
/// certificate, and node-1's kubelet serving TLS with its own.
async fn cluster() -> (TestCluster, Kubelet) {
    let cluster = node_pki::cluster_reaching_kubelets().await;
    let runtime = MemoryRuntime::new(MemoryConfig {
        node_name: Some(NODE.into()),
        preloaded_images: vec!["capstan/pause:1".into(), "capstan/test:1".into()],
        ..Default::default()
    })
    .expect("the memory runtime");
    let clients = capstan_shim_common::connect_in_process(runtime).await.expect("the memory runtime serves");
    let node = cluster.target(&format!("node-{NODE}"));
    let mut config = capstan_kubelet::Config::new(node.server, NODE, "memory://");
    config.credentials = node.credentials;
    config.runtime = Some(clients);
    config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config.node_ip = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
    config.tls = Some(node_pki::kubelet_serving(&cluster.pki(), NODE));
    let kubelet = Kubelet::start(config).await.expect("node-1's kubelet starts");
    (cluster, kubelet)
}

fn pods(client: &Client) -> PodServiceClient<ClientChannel> {
    PodServiceClient::new(client.channel())
}

async fn bind_jane_to_view(cluster: &TestCluster) {
    let binding = "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\n\
                   metadata: {name: jane-view, namespace: default}\n\
                   roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}\n\
                   subjects: [{kind: User, name: jane, apiGroup: rbac.authorization.k8s.io}]\n";
    let object = parse_manifests("binding.yaml", binding).expect("a RoleBinding").remove(0);
    let at = ResourceRef { resource: "rolebindings".into(), namespace: "default".into(), ..Default::default() };
    cluster.client.create(at, object).await.expect("the admin binds jane to view");
}

fn container(name: &str, command: &[&str]) -> Container {
    capstan_testkit::container(name, command)
}

async fn create(cluster: &TestCluster, pod: Pod) {
    cluster.client.api::<Pod>(Some("default")).create(&pod).await.expect("the admin creates the pod");
}

async fn running(cluster: &TestCluster, name: &str) {
    let api = cluster.client.api::<Pod>(Some("default"));
    let running = |p: Option<&Pod>| p.and_then(|p| p.status.as_ref()).is_some_and(|s| s.phase == "Running");
    capstan_runtime::wait_for(&api, name, WAIT, running).await.expect("the pod runs");
}

fn logs_of(pod: &str) -> LogsRequest {
    LogsRequest { namespace: "default".into(), pod: pod.into(), ..Default::default() }
}

/// The whole log of `pod`, read through the API server.
async fn read_logs(client: &Client, pod: &str) -> Result<String, tonic::Status> {
    let mut chunks = pods(client).logs(logs_of(pod)).await?.into_inner();
    let mut log = String::new();
    while let Some(chunk) = chunks.message().await? {
        log.push_str(&String::from_utf8_lossy(&chunk.data));
    }
    Ok(log)
}

fn target(pod: &str, cmd: &[&str], stdin: bool) -> ExecRequest {
    let target = Target {
        namespace: "default".into(),
        pod: pod.into(),
        cmd: cmd.iter().map(|s| s.to_string()).collect(),
        stdin,
        ..Default::default()
    };
    ExecRequest { request: Some(Part::Target(target)) }
}

fn input(part: Input) -> ExecRequest {
    ExecRequest { request: Some(Part::Input(ExecInput { input: Some(part) })) }
}

/// Runs `cmd` in `pod` through the API server, no stdin: stdout and the exit code.
async fn exec(client: &Client, pod: &str, cmd: &[&str]) -> Result<(String, i32), tonic::Status> {
    tokio::time::timeout(WAIT, exec_once(client, pod, cmd)).await.expect("the exec ends")
}

async fn exec_once(client: &Client, pod: &str, cmd: &[&str]) -> Result<(String, i32), tonic::Status> {
    let mut output = pods(client).exec(tokio_stream::iter([target(pod, cmd, false)])).await?.into_inner();
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

async fn next(output: &mut tonic::Streaming<ExecOutput>) -> Option<Output> {
    tokio::time::timeout(WAIT, output.message()).await.expect("the exec answers").expect("the exec streams")?.output
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_and_exec_reach_the_kubelet_through_the_api_server() {
    let (cluster, kubelet) = cluster().await;
    let web = capstan_testkit::pod("web").containers(vec![container("web", &["sh", "-c", "echo started; sleep 3600"])]);
    create(&cluster, web.node(NODE).build()).await;
    running(&cluster, "web").await;
    let admin = &cluster.client;

    // the container's first line may still be on its way when it is Running
    let log = tokio::time::timeout(WAIT, async {
        loop {
            let log = read_logs(admin, "web").await.expect("the admin reads logs");
            if !log.is_empty() {
                return log;
            }
        }
    })
    .await
    .expect("the log has its first line");
    assert_eq!(log, "started\n");
    assert_eq!(exec(admin, "web", &["echo", "hi"]).await.expect("the admin execs"), ("hi\n".into(), 0));
    assert_eq!(exec(admin, "web", &["sh", "-c", "exit 3"]).await.expect("an exit code").1, 3);

    // both ways, interactively: each stdin chunk comes back before the next is sent
    let (requests, outbound) = mpsc::channel(1);
    requests.send(target("web", &["cat"], true)).await.expect("the target goes out");
    let started = tokio::time::timeout(WAIT, pods(admin).exec(ReceiverStream::new(outbound))).await;
    let mut output = started.expect("cat answers").expect("cat starts").into_inner();
    requests.send(input(Input::Stdin(b"ping".to_vec()))).await.expect("stdin");
    assert_eq!(next(&mut output).await, Some(Output::Stdout(b"ping".to_vec())));
    requests.send(input(Input::Stdin(b"pong".to_vec()))).await.expect("stdin");
    assert_eq!(next(&mut output).await, Some(Output::Stdout(b"pong".to_vec())));
    requests.send(input(Input::CloseStdin(true))).await.expect("stdin closes");
    assert_eq!(next(&mut output).await, Some(Output::ExitCode(0)));
    assert_eq!(next(&mut output).await, None, "the exec ends with its command");

    // a kubelet's refusal keeps its code and words
    let two =
        capstan_testkit::pod("two").containers(vec![container("a", &["sleep", "1"]), container("b", &["sleep", "1"])]);
    create(&cluster, two.node(NODE).build()).await;
    let ambiguous = read_logs(admin, "two").await.expect_err("which container?");
    assert_eq!(
        (ambiguous.code(), ambiguous.message()),
        (Code::InvalidArgument, "a container name must be specified for pod two, choose one of: [a b]")
    );

    // the exec ended with its command though our stdin side is still open:
    // nothing holds the kubelet's connections, so it stops
    let stopped = tokio::time::timeout(WAIT, kubelet.stop()).await;
    stopped.expect("the kubelet stops: no exec is left open").expect("the kubelet stops cleanly");
    drop(requests);
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_reads_logs_but_may_not_exec() {
    let (cluster, kubelet) = cluster().await;
    create(
        &cluster,
        capstan_testkit::pod("web").containers(vec![container("web", &["sleep", "3600"])]).node(NODE).build(),
    )
    .await;
    running(&cluster, "web").await;
    let jane = cluster.jane();

    let refused = read_logs(&jane, "web").await.expect_err("jane holds no role yet");
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused}");
    assert_eq!(
        refused.message(),
        "pods \"web\" is forbidden: User \"jane\" cannot get resource \"pods/log\" in API group \"\" in the namespace \"default\""
    );

    bind_jane_to_view(&cluster).await;
    let allowed = tokio::time::timeout(WAIT, async {
        loop {
            // the binding reaches the authorizer through its watch
            match read_logs(&jane, "web").await {
                Err(status) if status.code() == Code::PermissionDenied => tokio::task::yield_now().await,
                other => return other,
            }
        }
    })
    .await
    .expect("the binding takes effect");
    allowed.expect("view reads pods/log");

    let refused = exec(&jane, "web", &["echo", "hi"]).await.expect_err("view does not exec");
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused}");
    assert_eq!(
        refused.message(),
        "pods \"web\" is forbidden: User \"jane\" cannot create resource \"pods/exec\" in API group \"\" in the namespace \"default\""
    );

    // both calls are audited with the subresource, allowed and refused
    capstan_testkit::eventually("the audit lines", WAIT, || async {
        let text = std::fs::read_to_string(cluster.audit_log()).unwrap_or_default();
        let refused_exec = text.lines().any(|l| {
            l.contains("\"subresource\":\"exec\"") && l.contains("\"username\":\"jane\"") && l.contains("\"code\":403")
        });
        let logs = text.lines().any(|l| l.contains("\"subresource\":\"log\"") && l.contains("\"code\":200"));
        (refused_exec && logs).then_some(())
    })
    .await;

    kubelet.stop().await.expect("the kubelet stops cleanly");
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_without_a_reachable_kubelet_get_errors_naming_why() {
    let (cluster, kubelet) = cluster().await;
    let admin = &cluster.client;
    let app = |name: &str| capstan_testkit::pod(name).containers(vec![container("app", &["sleep", "3600"])]);

    create(&cluster, app("pending").build()).await;
    let pending = read_logs(admin, "pending").await.expect_err("no node yet");
    assert_eq!(pending.code(), Code::InvalidArgument, "{pending}");
    assert!(pending.message().contains("pod pending does not have a host assigned"), "{pending}");
    let pending = exec(admin, "pending", &["true"]).await.expect_err("no node yet");
    assert!(pending.message().contains("not scheduled"), "{pending}");

    let absent = read_logs(admin, "absent").await.expect_err("no such pod");
    assert_eq!((absent.code(), absent.message()), (Code::NotFound, "pods \"absent\" not found"));

    create(&cluster, app("ghostly").node("ghost").build()).await;
    let ghost = read_logs(admin, "ghostly").await.expect_err("no such node");
    assert_eq!(ghost.code(), Code::Unavailable, "{ghost}");
    assert!(ghost.message().contains("node ghost, which is not registered"), "{ghost}");

    // node-1's kubelet gone: its Node still says where it was
    let address = kubelet.addr();
    create(&cluster, app("stranded").node(NODE).build()).await;
    kubelet.stop().await.expect("the kubelet stops cleanly");
    let stranded = read_logs(admin, "stranded").await.expect_err("the kubelet is gone");
    assert_eq!(stranded.code(), Code::Unavailable, "{stranded}");
    assert!(
        stranded
            .message()
            .starts_with(&format!("error dialing backend: the kubelet of node {NODE} at {address} does not answer: ")),
        "{stranded}"
    );
    cluster.stop().await;
}
