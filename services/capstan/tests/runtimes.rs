//! A choice of runtime per node: `capstan up --runtime docker --add-node
//! NAME=containerd` runs one cluster with a node on each runtime.
//!
//! - A pod targets a runtime with a nodeSelector on the `capstan.io/runtime` label.
//! - One Deployment runs across both nodes (the scheduler's owner-spread score
//!   puts its pods on both); every pod answers HTTP on its pod IP, and `capstan
//!   get nodes -o wide` shows each node's runtime.
//! - The containerd shim and the kubelet, stopped gracefully (`up` again) or
//!   killed with SIGKILL (both run as real processes), come back to the same
//!   tasks: same containers, same PIDs, nothing added, the pod still serving.
//!
//! Needs Docker and containerd (a skip without them, a failure with `CI=true`).

mod up_harness;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use capstan::cli::UpRuntime;
use capstan_client::DeleteParams;
use capstan_proto::core::v1::{Container, ExecAction, HttpGetAction, Pod, PodSpec, Probe};
use capstan_proto::meta::v1::{IntOrString, ObjectMeta};
use capstan_test_support::{
    containerd_inventory, require_containerd, require_docker, test_image_archive, workspace_binary,
    ContainerdInventory, ContainerdSweeper, CONTAINERD_NAMESPACE, CONTAINERD_SOCKET,
};
use up_harness::two_runtimes::{TwoRuntimes, NODE_LABEL};
use up_harness::{http_get_async, node_of, pod_ip, ready, wait_pod, wait_pods, Up, WAIT};

/// A web pod pinned to the nodes of `runtime` by a nodeSelector, ready once it serves.
fn web_pod(name: &str, runtime: &str) -> Pod {
    let script =
        format!("mkdir -p /www && echo hello from {runtime} > /www/index.html && exec httpd -f -p 8080 -h /www");
    let web = Container {
        name: "web".to_string(),
        image: "capstan/test:1".to_string(),
        command: vec!["sh".into(), "-c".into(), script],
        readiness_probe: Some(Probe {
            http_get: Some(HttpGetAction {
                path: "/".to_string(),
                port: Some(IntOrString::from_int(8080)),
                ..Default::default()
            }),
            period_seconds: 1,
            ..Default::default()
        }),
        ..Default::default()
    };
    Pod {
        metadata: Some(ObjectMeta { name: name.to_string(), namespace: "default".to_string(), ..Default::default() }),
        spec: Some(PodSpec {
            containers: vec![web],
            node_selector: [("capstan.io/runtime".to_string(), runtime.to_string())].into(),
            termination_grace_period_seconds: Some(1),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_docker_node_and_a_containerd_node_run_pods_chosen_by_runtime() {
    let Some(cluster) = TwoRuntimes::start("rt-select").await else { return };
    let up = &cluster.up;
    let mut out = Vec::new();
    let archive = test_image_archive().await.display().to_string();
    let admin = up.admin.display().to_string();
    let refused = capstan::run(
        [
            "capstan",
            "--kubeconfig",
            &admin,
            "--server",
            &up.url,
            "image",
            "load",
            &archive,
            "--node",
            &cluster.docker_node,
        ],
        &mut out,
    )
    .await
    .expect_err("Docker loads archives itself");
    assert!(refused.to_string().contains("docker load -i"), "{refused}");

    let client = up.client();
    let pods = client.api::<Pod>(Some("default"));
    for (name, runtime, node) in
        [("web-docker", "docker", &cluster.docker_node), ("web-containerd", "containerd", &cluster.containerd_node)]
    {
        pods.create(&web_pod(name, runtime)).await.expect("create");
        let pod = wait_pod(&client, name, ready).await;
        assert_eq!(&node_of(&pod), node, "the nodeSelector on capstan.io/runtime={runtime} picks its node");
        let ip = pod_ip(&pod);
        assert!(!ip.is_empty(), "a ready pod has an IP: {pod:#?}");
        let answer = http_get_async(&ip, 8080).await.expect("the pod answers HTTP on its IP from the host");
        assert!(answer.contains(&format!("hello from {runtime}")), "{answer}");
    }
    cluster.nodes_show_their_runtimes().await;

    for name in ["web-docker", "web-containerd"] {
        pods.delete(name, &DeleteParams::default()).await.expect("delete");
    }
    cluster.up.stop().await;
}

/// Four web pods, each serving its own name; nothing pins them to a node.
const WEB_DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 4
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: capstan/test:1
        command: [sh, -c, 'mkdir -p /www && echo \"hello from $(hostname)\" > /www/index.html && exec httpd -f -p 8080 -h /www']
        readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 1}
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_deployment_runs_across_a_docker_node_and_a_containerd_node() {
    let Some(cluster) = TwoRuntimes::start("rt-deploy").await else { return };
    let up = &cluster.up;
    let manifest = cluster.dir.path().join("web.yaml");
    std::fs::write(&manifest, WEB_DEPLOYMENT).expect("write the manifest");
    up.capstan(&["apply", "-f", &manifest.display().to_string()]).await;

    let client = up.client();
    let all_ready = |pods: &[Pod]| pods.len() == 4 && pods.iter().all(ready);
    let pods = wait_pods(&client, "app=web", all_ready).await;
    // no requests and identical nodes: the owner-spread score decides, two each
    for node in [&cluster.docker_node, &cluster.containerd_node] {
        let here = pods.iter().filter(|p| &node_of(p) == node).count();
        assert_eq!(here, 2, "the scheduler spreads the Deployment's pods over both nodes: {pods:#?}");
    }
    for pod in &pods {
        let name = pod.metadata.as_ref().map(|m| m.name.clone()).unwrap_or_default();
        let ip = pod_ip(pod);
        let answer = http_get_async(&ip, 8080).await;
        let answer = answer.unwrap_or_else(|e| panic!("pod {name} on {} answers on {ip}: {e}", node_of(pod)));
        assert!(answer.contains(&format!("hello from {name}")), "pod {name} at {ip}: {answer}");
    }
    cluster.nodes_show_their_runtimes().await;
    let rollout = up.capstan(&["rollout", "status", "deployment/web"]).await;
    assert!(rollout.contains("successfully rolled out"), "{rollout}");

    up.capstan(&["delete", "deployment", "web"]).await;
    cluster.up.stop().await;
}

/// The running containers the containerd shim at `endpoint` lists.
async fn running_containers(endpoint: &str) -> Vec<String> {
    use capstan_proto::runtime::v1::{ContainerFilter, ContainerState, ListContainersRequest};
    let clients = capstan_cri::connect(endpoint).await.expect("connecting to the shim");
    let filter = ContainerFilter { state: Some(ContainerState::ContainerRunning as i32), ..Default::default() };
    let listed = clients.runtime.clone().list_containers(ListContainersRequest { filter: Some(filter) }).await;
    let mut ids: Vec<String> = listed.expect("list").into_inner().containers.into_iter().map(|c| c.id).collect();
    ids.sort();
    ids
}

/// Imports the test images into containerd's `capstan` namespace.
async fn import_test_images() {
    capstan_containerd_shim::import_archive(CONTAINERD_SOCKET, CONTAINERD_NAMESPACE, &test_image_archive().await)
        .await
        .expect("importing the test images into containerd");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarting_the_containerd_shim_and_kubelet_adopts_the_running_tasks() {
    let Some(()) = require_docker() else { return };
    let Some(()) = require_containerd() else { return };
    import_test_images().await;
    let node = format!("rt-restart-{}", std::process::id());
    let _sweep = ContainerdSweeper::new(NODE_LABEL, &node);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = up_harness::config(dir.path(), UpRuntime::Containerd, &node);
    let endpoint = format!("unix://{}", dir.path().join("data/containerd-shim.sock").display());

    let up = Up::start(config.clone()).await;
    let client = up.client();
    client.api::<Pod>(Some("default")).create(&web_pod("web", "containerd")).await.expect("create");
    let before = wait_pod(&client, "web", ready).await;
    let started = running_containers(&endpoint).await;
    assert_eq!(started.len(), 1, "one container runs: {started:?}");
    let tasks = containerd_inventory(NODE_LABEL, &node);
    up.stop().await;

    // the tasks outlive the shim and the kubelet …
    let up = Up::start(config).await;
    let client = up.client();
    let after = wait_pod(&client, "web", ready).await;
    let uid = |pod: &Pod| pod.metadata.as_ref().map(|m| m.uid.clone()).unwrap_or_default();
    assert_eq!(uid(&after), uid(&before));
    // … and the restarted ones adopt them: the same task, no second one
    let readopted = running_containers(&endpoint).await;
    assert_eq!(readopted, started, "the same tasks run after the restart, none added");
    assert_eq!(containerd_inventory(NODE_LABEL, &node), tasks, "the same containers and task PIDs");
    let answer = http_get_async(&pod_ip(&after), 8080).await;
    assert!(answer.expect("the adopted pod still answers").contains("hello from containerd"));
    let statuses = after.status.as_ref().map(|s| s.container_statuses.clone()).unwrap_or_default();
    assert_eq!(statuses.iter().map(|c| c.restart_count).collect::<Vec<_>>(), [0], "nothing was restarted");

    client.api::<Pod>(Some("default")).delete("web", &DeleteParams::default()).await.expect("delete");
    up.stop().await;
}

// ---- SIGKILL: the shim and the kubelet as real processes ----

/// A component run as a child process; killed with SIGKILL on drop.
struct Process {
    name: &'static str,
    child: tokio::process::Child,
}

impl Process {
    fn spawn(package: &str, name: &'static str, args: &[String], log: &Path) -> Process {
        let binary = workspace_binary(package, name);
        let log = std::fs::OpenOptions::new().create(true).append(true).open(log).expect("the process's log file");
        let child = tokio::process::Command::new(&binary)
            .args(args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        Process { name, child }
    }

    /// SIGKILL (no chance to clean up), then reap it.
    async fn kill(mut self) {
        self.child.start_kill().unwrap_or_else(|e| panic!("killing {}: {e}", self.name));
        let status = self.child.wait().await.expect("reaping the process");
        assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(9), "{} died of SIGKILL", self.name);
    }
}

/// The containerd shim and the kubelet of one node, each its own process.
struct NodeProcesses {
    shim: Process,
    kubelet: Process,
}

impl NodeProcesses {
    /// The kubelet speaks to `server` as itself, with `kubeconfig`.
    async fn start(server: &str, kubeconfig: &Path, node: &str, dir: &Path) -> NodeProcesses {
        let socket = dir.join("containerd-shim.sock");
        let endpoint = format!("unix://{}", socket.display());
        let shim_args = [
            format!("--listen={endpoint}"),
            format!("--node-name={node}"),
            format!("--state-dir={}", dir.join("state").display()),
        ];
        let shim = Process::spawn("capstan-containerd-shim", "capstan-containerd-shim", &shim_args, &dir.join("log"));
        wait_for_shim(&endpoint, &dir.join("log")).await;
        let kubelet_args = [
            format!("--server={server}"),
            format!("--kubeconfig={}", kubeconfig.display()),
            format!("--node-name={node}"),
            format!("--runtime-endpoint={endpoint}"),
            "--port=0".to_string(),
            "--node-ip=127.0.0.1".to_string(),
        ];
        let kubelet = Process::spawn("capstan-kubelet", "capstan-kubelet", &kubelet_args, &dir.join("log"));
        NodeProcesses { shim, kubelet }
    }

    async fn kill(self) {
        self.kubelet.kill().await;
        self.shim.kill().await;
    }
}

/// Waits until the shim answers on `endpoint` (it adopts before it serves).
async fn wait_for_shim(endpoint: &str, log: &Path) {
    let answered = tokio::time::timeout(WAIT, async {
        loop {
            if let Ok(clients) = capstan_cri::connect(endpoint).await {
                let version =
                    clients.runtime.clone().version(capstan_proto::runtime::v1::VersionRequest::default()).await;
                if version.is_ok() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    let said = || std::fs::read_to_string(log).unwrap_or_default();
    assert!(answered.is_ok(), "the shim did not answer on {endpoint}; its log:\n{}", said());
}

/// A web pod bound to `node`, whose readiness probe (an exec, through the
/// kubelet and the shim) fetches the page and counts itself in /probes.
fn counted_web_pod(node: &str) -> Pod {
    let mut pod = web_pod("web", "containerd");
    let spec = pod.spec.as_mut().expect("spec");
    spec.node_selector.clear();
    spec.node_name = node.to_string();
    spec.containers[0].readiness_probe = Some(Probe {
        exec: Some(ExecAction {
            command: ["sh", "-c", "wget -q -O /dev/null http://127.0.0.1:8080/ && echo . >> /probes"]
                .map(String::from)
                .to_vec(),
        }),
        period_seconds: 1,
        ..Default::default()
    });
    pod
}

/// How many probes have run in the pod `web` (read through the runtime, not the kubelet).
async fn probes_counted(endpoint: &str, container: &str) -> usize {
    use capstan_proto::runtime::v1::ExecSyncRequest;
    let clients = capstan_cri::connect(endpoint).await.expect("connecting to the shim");
    let request =
        ExecSyncRequest { container_id: container.to_string(), cmd: vec!["cat".into(), "/probes".into()], timeout: 10 };
    let reply = clients.runtime.clone().exec_sync(request).await.expect("exec in the container").into_inner();
    String::from_utf8_lossy(&reply.stdout).lines().count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_containerd_shim_and_kubelet_leaves_the_same_tasks_running() {
    let Some(()) = require_docker() else { return };
    let Some(()) = require_containerd() else { return };
    import_test_images().await;
    let node = format!("rt-kill-{}", std::process::id());
    let _sweep = ContainerdSweeper::new(NODE_LABEL, &node);
    let cluster = up_harness::ApiOnly::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let endpoint = format!("unix://{}", dir.path().join("containerd-shim.sock").display());
    let log: PathBuf = dir.path().join("log");

    let processes = NodeProcesses::start(&cluster.url, &cluster.node_kubeconfig(&node), &node, dir.path()).await;
    let client = cluster.client();
    client.api::<Pod>(Some("default")).create(&counted_web_pod(&node)).await.expect("create");
    let before = wait_pod(&client, "web", ready).await;
    let started: ContainerdInventory = containerd_inventory(NODE_LABEL, &node);
    assert_eq!((started.containers.len(), started.tasks.len()), (2, 1), "a sandbox and one task: {started:?}");
    let container = started.tasks.keys().next().cloned().unwrap_or_default();

    processes.kill().await;
    // the task runs on without its shim and kubelet
    assert_eq!(containerd_inventory(NODE_LABEL, &node), started, "killing them left the tasks alone");
    let answer = http_get_async(&pod_ip(&before), 8080).await;
    assert!(answer.expect("the pod serves with its shim and kubelet dead").contains("hello from containerd"));

    let processes = NodeProcesses::start(&cluster.url, &cluster.node_kubeconfig(&node), &node, dir.path()).await;
    // the new kubelet has synced the pod once its prober runs against the adopted task
    let counted = probes_counted(&endpoint, &container).await;
    let probed = tokio::time::timeout(WAIT, async {
        while probes_counted(&endpoint, &container).await <= counted {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    let said = || std::fs::read_to_string(&log).unwrap_or_default();
    assert!(probed.is_ok(), "the restarted kubelet never probed the adopted container; logs:\n{}", said());
    assert_eq!(containerd_inventory(NODE_LABEL, &node), started, "the same containers and task PIDs, none added");
    let after = wait_pod(&client, "web", ready).await;
    let statuses = after.status.as_ref().map(|s| s.container_statuses.clone()).unwrap_or_default();
    assert_eq!(statuses.iter().map(|c| c.restart_count).collect::<Vec<_>>(), [0], "nothing was restarted");
    assert!(statuses[0].container_id.ends_with(&container), "the status names the adopted task: {statuses:?}");
    let answer = http_get_async(&pod_ip(&after), 8080).await;
    assert!(answer.expect("the adopted pod still answers").contains("hello from containerd"));

    // the adopted task is the one the new kubelet stops
    client.api::<Pod>(Some("default")).delete("web", &DeleteParams::default()).await.expect("delete");
    let gone = capstan_runtime::wait_for(&client.api::<Pod>(Some("default")), "web", WAIT, |p| p.is_none()).await;
    assert!(gone.is_ok(), "the pod was not deleted: {gone:?}; logs:\n{}", said());
    assert!(containerd_inventory(NODE_LABEL, &node).tasks.is_empty(), "the adopted task was stopped");
    processes.kill().await;
    cluster.stop().await;
}
