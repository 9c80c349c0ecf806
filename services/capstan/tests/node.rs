//! `capstan logs` and `capstan exec` end to end: an API server (embedded store in
//! a temporary directory) and a kubelet started in-process, pods bound to the
//! kubelet's node by `spec.nodeName` in their manifest, and the CLI entry point
//! reading logs and running commands through the kubelet's gRPC service.
//!
//! First against the in-memory runtime (also behind TLS, where the user's own
//! kubeconfig decides what the API server lets through), then against the local Docker Engine
//! through the Docker shim served on a temporary unix socket (skipped with a
//! notice when there is no Docker, a failure with `CI=true`). Last, `capstan up`
//! itself: every component in one process, stopped cleanly by Ctrl-C.

mod up_harness;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use capstan::CliError;
use capstan_docker_shim::{DockerConfig, ServedShim};
use capstan_kubelet::Kubelet;
use capstan_proto::core::v1::{Container, HttpGetAction, Pod, Probe};
use capstan_proto::meta::v1::IntOrString;
use capstan_test_support::{require_daemon, DockerSweeper, HarnessError};
use capstan_testkit::TestCluster;
use tempfile::TempDir;
use up_harness::{http_get_async, node_of, phase, ready, wait_pod, wait_pods, Up, WAIT};

/// An API server and one kubelet, both in this process.
struct Cluster {
    api: TestCluster,
    kubelet: Kubelet,
    node: String,
}

impl Cluster {
    async fn start(node: &str, runtime_endpoint: &str) -> Cluster {
        let api = TestCluster::start().await;
        let target = api.node_target(node);
        let mut kubelet = capstan_kubelet::Config::new(target.server, node, runtime_endpoint);
        kubelet.credentials = target.credentials;
        kubelet.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        kubelet.node_ip = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
        kubelet.timings.pod_resync = Duration::from_millis(200);
        kubelet.timings.gc = Duration::from_secs(1);
        let kubelet = Kubelet::start(kubelet).await.expect("the kubelet starts");
        Cluster { api, kubelet, node: node.to_string() }
    }

    /// Runs `capstan --kubeconfig ADMIN --server URL ARGS...`: its output and its result.
    async fn capstan(&self, args: &[&str]) -> (String, Result<(), CliError>) {
        self.capstan_as("admin", args).await
    }

    /// Runs `capstan ARGS...` with the kubeconfig `identity` of the cluster's PKI.
    async fn capstan_as(&self, identity: &str, args: &[&str]) -> (String, Result<(), CliError>) {
        let kubeconfig = capstan_pki::Layout::new(self.api.pki()).kubeconfig(identity);
        let mut full = vec!["capstan".to_string(), "--kubeconfig".to_string(), kubeconfig.display().to_string()];
        full.extend(["--server".to_string(), self.api.url()]);
        full.extend(args.iter().map(|a| a.to_string()));
        let mut out = Vec::new();
        let result = capstan::run(full, &mut out).await;
        (String::from_utf8_lossy(&out).into_owned(), result)
    }

    async fn ok(&self, args: &[&str]) -> String {
        match self.capstan(args).await {
            (out, Ok(())) => out,
            (out, Err(e)) => panic!("capstan {args:?} failed: {e}\noutput: {out}"),
        }
    }

    async fn err(&self, args: &[&str]) -> CliError {
        self.capstan(args).await.1.expect_err("the command fails")
    }

    async fn create(&self, pod: &Pod) {
        self.api.client.api::<Pod>(Some("default")).create(pod).await.expect("create the pod");
    }

    async fn stop(self) {
        self.kubelet.stop().await.expect("the kubelet stops cleanly");
        self.api.stop().await;
    }
}

fn container(name: &str, command: &[&str]) -> Container {
    Container {
        name: name.to_string(),
        image: "capstan/test:1".to_string(),
        command: command.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

/// A pod in `default`, bound to `node` by its manifest (`None`: unscheduled).
fn pod(name: &str, node: Option<&str>, containers: Vec<Container>) -> Pod {
    let mut pod = capstan_testkit::pod(name).containers(containers).grace_period(1);
    if let Some(node) = node {
        pod = pod.node(node);
    }
    pod.build()
}

/// Reads `capstan logs` until its output holds `want` (a container's first lines
/// may still be on their way when it is Running).
async fn logs_until(cluster: &Cluster, args: &[&str], want: &str) -> String {
    let waited = tokio::time::timeout(WAIT, async {
        loop {
            let out = cluster.ok(args).await;
            if out.contains(want) {
                return out;
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
    waited.unwrap_or_else(|_| panic!("capstan {args:?} never printed {want:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_and_exec_reach_a_pod_through_its_kubelet() {
    let cluster = Cluster::start("memory-node", "memory://").await;
    let node = cluster.node.clone();
    cluster.create(&pod("web", Some(&node), vec![container("web", &["sh", "-c", "echo started; sleep 3600"])])).await;
    wait_pod(&cluster.api.client, "web", |p| phase(p) == "Running").await;

    let out = logs_until(&cluster, &["logs", "web"], "started").await;
    assert_eq!(out, "started\n");
    assert_eq!(cluster.ok(&["logs", "web", "-c", "web", "--tail", "1"]).await, "started\n");

    assert_eq!(cluster.ok(&["exec", "web", "--", "echo", "hello"]).await, "hello\n");
    let failed = cluster.err(&["exec", "web", "--", "sh", "-c", "echo partial; exit 3"]).await;
    assert!(matches!(failed, CliError::CommandTerminated { code: 3 }), "{failed:?}");
    assert_eq!(failed.to_string(), "command terminated with exit code 3");
    assert_eq!(failed.exit_code(), 3);

    let missing = cluster.err(&["exec", "web", "-c", "nope", "--", "true"]).await.to_string();
    assert!(missing.contains("nope"), "{missing}");
    let absent = cluster.err(&["logs", "absent"]).await.to_string();
    assert_eq!(absent, r#"Error from server (NotFound): pods "absent" not found"#);
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unscheduled_and_ambiguous_pods_get_clear_errors() {
    let cluster = Cluster::start("memory-node-2", "memory://").await;
    cluster.create(&pod("pending", None, vec![container("app", &["sleep", "3600"])])).await;
    let pending = cluster.err(&["logs", "pending"]).await.to_string();
    assert!(pending.contains("pod pending") && pending.contains("not scheduled"), "{pending}");

    let node = cluster.node.clone();
    let two = vec![container("a", &["sleep", "3600"]), container("b", &["sleep", "3600"])];
    cluster.create(&pod("two", Some(&node), two)).await;
    wait_pod(&cluster.api.client, "two", |p| phase(p) == "Running").await;
    let ambiguous = cluster.err(&["logs", "two"]).await.to_string();
    assert_eq!(ambiguous, "error: a container name must be specified for pod two, choose one of: [a b]");
    assert_eq!(cluster.ok(&["exec", "two", "-c", "b", "--", "echo", "b"]).await, "b\n");
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_and_exec_go_through_the_api_server_as_the_user() {
    use capstan_apiserver::door::AuthorizationMode;
    use capstan_testkit::{node_pki, Backend, Door};
    let api = TestCluster::start_behind(Backend::Embedded, Door::Secured, |config| {
        config.security.authorization_modes = vec![AuthorizationMode::Node, AuthorizationMode::Rbac];
        let ca = config.security.tls.as_ref().and_then(|t| t.client_ca.clone()).expect("a secured door has a CA");
        config.kubelet_client = Some(node_pki::kubelet_client(ca.parent().expect("the PKI directory")));
    })
    .await
    .expect("the embedded store needs no daemon");
    let node = api.target("node-node-1");
    let mut config = capstan_kubelet::Config::new(node.server, "node-1", "memory://");
    config.credentials = node.credentials;
    config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config.node_ip = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
    config.tls = Some(node_pki::kubelet_serving(&api.pki(), "node-1"));
    let kubelet = Kubelet::start(config).await.expect("node-1's kubelet starts with TLS");
    let cluster = Cluster { api, kubelet, node: "node-1".into() };
    cluster
        .create(&pod("web", Some("node-1"), vec![container("web", &["sh", "-c", "echo started; sleep 3600"])]))
        .await;
    wait_pod(&cluster.api.client, "web", |p| phase(p) == "Running").await;

    assert_eq!(cluster.ok(&["exec", "web", "--", "echo", "hello"]).await, "hello\n");
    assert_eq!(logs_until(&cluster, &["logs", "web"], "started").await, "started\n");

    // a kubelet's identity may not exec, even into its own node's pod
    let (_, refused) = cluster.capstan_as("node-node-1", &["exec", "web", "--", "true"]).await;
    let refused = refused.expect_err("a node may not exec").to_string();
    assert!(
        refused.starts_with(
            "Error from server (Forbidden): pods \"web\" is forbidden: User \"system:node:node-1\" cannot create \
             resource \"pods/exec\" in API group \"\" in the namespace \"default\""
        ),
        "{refused}"
    );
    cluster.stop().await;
}

// ---- against the local Docker Engine ----

const DOCKER_HOST: &str = "unix:///var/run/docker.sock";

/// The Docker shim for `node`, served on a unix socket in `dir`: `NotInstalled`
/// (a skip outside CI) when there is no engine, any other failure as a failure.
async fn docker_shim(node: &str, dir: &TempDir) -> Result<ServedShim, HarnessError> {
    capstan_test_support::ping_docker()?;
    let config =
        DockerConfig { docker_host: DOCKER_HOST.to_string(), node_name: Some(node.to_string()), ..Default::default() };
    ServedShim::start(config, &dir.path().join("docker-shim.sock"))
        .await
        .map_err(|e| HarnessError::StartFailed { daemon: "docker shim", detail: e.to_string() })
}

/// Removes the node's containers when dropped, also after a failed assertion.
fn sweep(node: &str) -> DockerSweeper {
    DockerSweeper::new(capstan_shim_common::labels::NODE_NAME, node)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_docker_pod_becomes_ready_and_answers_on_its_ip() {
    let node = format!("capstan-cli-node-{}", std::process::id());
    let dir = tempfile::tempdir().expect("tempdir");
    build_images_if_docker().await;
    let Some(shim) = require_daemon(docker_shim(&node, &dir).await) else { return };
    let _sweep = sweep(&node);
    let cluster = Cluster::start(&node, &shim.endpoint()).await;

    let script =
        "mkdir -p /www && echo hello-from-pod > /www/index.html && echo serving && exec httpd -f -p 8080 -h /www";
    let mut web = container("web", &["sh", "-c", script]);
    web.readiness_probe = Some(Probe {
        http_get: Some(HttpGetAction {
            path: "/".to_string(),
            port: Some(IntOrString::from_int(8080)),
            ..Default::default()
        }),
        period_seconds: 1,
        ..Default::default()
    });
    cluster.create(&pod("web", Some(&node), vec![web])).await;
    let running = wait_pod(&cluster.api.client, "web", ready).await;
    let ip = running.status.as_ref().map(|s| s.pod_ip.clone()).unwrap_or_default();
    assert!(!ip.is_empty(), "a ready pod has an IP: {running:#?}");

    let answer = http_get_async(&ip, 8080).await.expect("the pod answers HTTP on its IP from the host");
    assert!(answer.starts_with("HTTP/1.") && answer.contains("hello-from-pod"), "{answer}");

    let out = logs_until(&cluster, &["logs", "web"], "serving").await;
    assert_eq!(out, "serving\n");
    assert_eq!(cluster.ok(&["exec", "web", "--", "cat", "/www/index.html"]).await, "hello-from-pod\n");
    let failed = cluster.err(&["exec", "web", "--", "sh", "-c", "exit 5"]).await;
    assert!(matches!(failed, CliError::CommandTerminated { code: 5 }), "{failed:?}");

    cluster.stop().await;
    shim.stop().await;
}

/// Builds the images when an engine is there to build them into.
async fn build_images_if_docker() {
    if capstan_test_support::ping_docker().is_ok() {
        capstan_test_support::ensure_images().await;
    }
}

// ---- `capstan up` ----

/// A ReplicaSet of two sleepers, for the controller-manager `up` runs.
const SLEEPERS: &str = "apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: sleepers, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: sleepers}}
  template:
    metadata: {labels: {app: sleepers}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{name: app, image: capstan/test:1, command: [sleep, '3600']}]
";

/// Runs `capstan up` with `runtime` until its startup message ends; then a pod
/// bound by its manifest runs and answers exec, the controller-manager's
/// ReplicaSet controller and the scheduler run a ReplicaSet's pods on the node,
/// and Ctrl-C (here: a cancellation) stops every component cleanly. The CLI's
/// config then holds the admin's credentials beside the user's other
/// contexts, and a second `up` keeps the PKI.
async fn up_runs_a_one_node_cluster(runtime: capstan::cli::UpRuntime, node: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let cli_config = dir.path().join("config");
    let theirs = "apiVersion: v1\nkind: Config\nclusters: [{name: prod, cluster: {server: 'https://prod:6443'}}]\n\
                  users: [{name: me, user: {token: t}}]\ncontexts: [{name: prod, context: {cluster: prod, user: me}}]\n\
                  current-context: prod\n";
    std::fs::write(&cli_config, theirs).expect("the user's own config");
    let config = capstan::up::UpConfig {
        config_path: Some(cli_config.clone()),
        ..up_harness::config(dir.path(), runtime, node)
    };
    let up = Up::start(config.clone()).await;
    assert!(up.said.contains(&format!("Kubelet of node {node} listening on")), "{}", up.said);
    assert!(up.said.contains("Controller-manager: health and metrics on 127.0.0.1:"), "{}", up.said);

    let client = up.client();
    client
        .api::<Pod>(Some("default"))
        .create(&pod("hello", Some(node), vec![container("app", &["sleep", "3600"])]))
        .await
        .expect("create");
    wait_pod(&client, "hello", |p| phase(p) == "Running").await;
    assert_eq!(up.capstan(&["exec", "hello", "--", "echo", "hi"]).await, "hi\n");
    // the dashboard up printed, signed in to with the admin token up made
    let (dashboard, token) = dashboard_of(&up.said);
    let nodes = dashboard_get(dashboard, "/nodes", &token).await;
    assert!(nodes.contains(&format!("data-key=\"{node}\"")), "{nodes}");
    let pods = dashboard_get(dashboard, "/workloads?namespace=default", &token).await;
    assert!(pods.contains("data-key=\"default/hello\""), "{pods}");

    let manifest = dir.path().join("sleepers.yaml");
    std::fs::write(&manifest, SLEEPERS).expect("write the manifest");
    up.capstan(&["apply", "-f", &manifest.display().to_string()]).await;
    let running = |pods: &[Pod]| pods.len() == 2 && pods.iter().all(|p| phase(p) == "Running");
    let pods = wait_pods(&client, "app=sleepers", running).await;
    assert!(pods.iter().all(|p| node_of(p) == node), "the scheduler placed them on the one node: {pods:#?}");
    up.capstan(&["delete", "replicaset", "sleepers"]).await;

    // the CLI's config alone reaches the cluster, as its admin, over TLS
    let path = cli_config.display().to_string();
    let mut out = Vec::new();
    capstan::run(["capstan", "--kubeconfig", path.as_str(), "get", "nodes"], &mut out).await.expect("get nodes");
    let nodes = String::from_utf8_lossy(&out).into_owned();
    assert!(nodes.contains(node), "{nodes}");
    let written = std::fs::read_to_string(&cli_config).expect("the config");
    assert!(written.contains("name: prod") && written.contains("current-context: capstan-local"), "{written}");
    assert!(written.contains("client-certificate-data") && written.contains("https://"), "{written}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&cli_config).expect("the config").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the config holds a key");
    up.stop().await;

    // a second up keeps the CA: the certificates issued by the first stay good
    let ca = std::fs::read(capstan_pki::Layout::new(&config.pki_dir).ca_cert()).expect("the CA");
    let again = Up::start(config.clone()).await;
    assert_eq!(std::fs::read(capstan_pki::Layout::new(&config.pki_dir).ca_cert()).expect("the CA"), ca);
    again.client().api::<Pod>(Some("default")).get("hello").await.expect("the admin reads on");
    let (dashboard, kept) = dashboard_of(&again.said);
    assert_eq!(kept, token, "the dashboard's admin token is kept across restarts");
    dashboard_get(dashboard, "/workloads", &kept).await;
    again.stop().await;
}

/// The dashboard's address and the admin token from `up`'s line
/// `Dashboard: http://ADDR/ (sign in with the token in FILE)`.
fn dashboard_of(said: &str) -> (std::net::SocketAddr, String) {
    let line = said.lines().find_map(|l| l.strip_prefix("Dashboard: http://")).expect("up prints the dashboard's line");
    let (addr, rest) = line.split_once("/ (sign in with the token in ").expect("the line's shape");
    let file = rest.strip_suffix(')').expect("the line's shape");
    let token = std::fs::read_to_string(file).expect("the token file").trim().to_string();
    (addr.parse().expect("the dashboard's address"), token)
}

/// A page of the dashboard, signed in with `token`: its HTML (200 asserted).
async fn dashboard_get(addr: std::net::SocketAddr, path: &str, token: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("the dashboard accepts");
    let request = format!("GET {path} HTTP/1.0\r\nCookie: capstan_dashboard_token={token}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("sent");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("read");
    assert_eq!(answer.split(' ').nth(1), Some("200"), "GET {path}: {answer}");
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_with_the_memory_runtime() {
    up_runs_a_one_node_cluster(capstan::cli::UpRuntime::Memory, "up-memory-node").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_with_docker() {
    build_images_if_docker().await;
    let probe = tempfile::tempdir().expect("tempdir");
    let node = format!("capstan-up-node-{}", std::process::id());
    // the same policy as the shim test: no engine is a skip, outside CI
    let Some(shim) = require_daemon(docker_shim(&node, &probe).await) else { return };
    shim.stop().await;
    let _sweep = sweep(&node);
    up_runs_a_one_node_cluster(capstan::cli::UpRuntime::Docker, &node).await;
}

#[tokio::test]
async fn up_says_so_when_docker_is_unreachable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = capstan::up::node::NodeConfig {
        name: "n1".to_string(),
        runtime: capstan::cli::UpRuntime::Docker,
        shim_socket: dir.path().join("docker-shim.sock"),
        docker_host: format!("unix://{}", dir.path().join("no-docker.sock").display()),
        containerd_address: dir.path().join("no-containerd.sock").display().to_string(),
        containerd_state: dir.path().join("containerd-shim"),
        busybox: "/bin/busybox".into(),
        kubelet_listen: "127.0.0.1:0".parse().expect("addr"),
        cluster_dns: Vec::new(),
        cluster_domain: "cluster.local".into(),
    };
    let Err(error) = capstan::up::node::Node::start(&config, "http://127.0.0.1:1", &Default::default(), None).await
    else {
        panic!("a node without Docker must not start");
    };
    let text = error.to_string();
    assert!(text.starts_with("error: Docker is not reachable at unix://"), "{text}");
    assert!(text.contains("capstan up --runtime memory"), "{text}");
}
