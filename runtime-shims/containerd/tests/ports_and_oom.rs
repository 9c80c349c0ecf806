//! Two things Kubernetes users rely on beyond the conformance suite:
//!
//! - hostPort: a pod sandbox with a port mapping gets the portmap plugin's DNAT
//!   rules, so its server answers on the node's port (here 127.0.0.1, which the
//!   plugin's SNAT makes reachable from the node itself); removing the sandbox
//!   removes the rules.
//! - OOMKilled: a container killed by the OOM killer at its memory limit exits
//!   with reason `OOMKilled`; one that fails on its own says `Error`.

mod support;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use capstan_proto::runtime::v1::runtime_service_client::RuntimeServiceClient;
use capstan_proto::runtime::v1::{
    ContainerConfig, ContainerState, ContainerStatusRequest, CreateContainerRequest, LinuxResources, PodSandboxConfig,
    PortMapping, RemovePodSandboxRequest, RunPodSandboxRequest, StartContainerRequest,
};
use capstan_runtime_conformance::fixtures::{container_config, eventually, pod_config};
use support::{ensure_images, node_name, require_containerd, sweeper, Shim, TEST_IMAGE};

/// One HTTP GET over plain TCP.
fn http_get(addr: SocketAddr) -> std::io::Result<String> {
    let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    Ok(answer)
}

/// The node's NAT rules that name `sandbox` (portmap tags its chains with the container ID).
fn nat_rules_of(sandbox: &str) -> Vec<String> {
    let output = std::process::Command::new("iptables-save").args(["-t", "nat"]).output().expect("iptables-save");
    assert!(output.status.success(), "iptables-save: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).lines().filter(|l| l.contains(sandbox)).map(str::to_string).collect()
}

/// A shim serving one test's node, with the kubelet's runtime client.
struct Node {
    shim: Shim,
    runtime: RuntimeServiceClient<capstan_cri::RuntimeChannel>,
    _dir: tempfile::TempDir,
    _sweeper: capstan_test_support::ContainerdSweeper,
}

impl Node {
    async fn start(test: &str) -> Node {
        ensure_images().await;
        let node = node_name(test);
        let sweeper = sweeper(&node);
        let dir = tempfile::tempdir().expect("tempdir");
        let shim = Shim::start(&node, dir.path()).await;
        let runtime = shim.clients().await.runtime.clone();
        Node { shim, runtime, _dir: dir, _sweeper: sweeper }
    }

    async fn run_sandbox(&mut self, config: &PodSandboxConfig) -> String {
        let request = RunPodSandboxRequest { config: Some(config.clone()) };
        self.runtime.run_pod_sandbox(request).await.expect("run the sandbox").into_inner().pod_sandbox_id
    }

    /// Creates and starts `container` in `sandbox`; its ID.
    async fn start_container(&mut self, sandbox: &str, pod: &PodSandboxConfig, container: ContainerConfig) -> String {
        let request = CreateContainerRequest {
            pod_sandbox_id: sandbox.to_string(),
            config: Some(container),
            sandbox_config: Some(pod.clone()),
        };
        let id = self.runtime.create_container(request).await.expect("create the container").into_inner().container_id;
        self.runtime.start_container(StartContainerRequest { container_id: id.clone() }).await.expect("start");
        id
    }

    async fn remove_sandbox(&mut self, sandbox: &str) {
        let request = RemovePodSandboxRequest { pod_sandbox_id: sandbox.to_string() };
        self.runtime.remove_pod_sandbox(request).await.expect("remove the sandbox");
    }

    async fn stop(self) {
        drop(self.runtime);
        self.shim.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_port_reaches_the_pod_until_the_sandbox_is_removed() {
    let Some(()) = require_containerd() else { return };
    let mut node = Node::start("host-port").await;
    let host_port = capstan_test_support::free_ports(1).expect("a free port")[0];
    let mut config = pod_config("web");
    config.port_mappings = vec![PortMapping {
        protocol: "TCP".into(),
        container_port: 8080,
        host_port: i32::from(host_port),
        host_ip: String::new(),
    }];
    let sandbox = node.run_sandbox(&config).await;
    let script = "mkdir -p /www && echo hello via hostPort > /www/index.html && exec httpd -f -p 8080 -h /www";
    node.start_container(&sandbox, &config, container_config("web", TEST_IMAGE, &["sh", "-c", script])).await;
    assert!(!nat_rules_of(&sandbox).is_empty(), "portmap wrote the sandbox's DNAT rules");

    let addr = SocketAddr::from(([127, 0, 0, 1], host_port));
    let answer = eventually("the pod answers on its hostPort", || async move {
        let answer = tokio::task::spawn_blocking(move || http_get(addr)).await.map_err(|e| e.to_string())?;
        answer.map_err(|e| e.to_string()).and_then(|a| if a.contains("hello via hostPort") { Ok(a) } else { Err(a) })
    })
    .await;
    assert!(answer.starts_with("HTTP/1."), "{answer}");

    node.remove_sandbox(&sandbox).await;
    assert_eq!(nat_rules_of(&sandbox), Vec::<String>::new(), "removing the sandbox removed its rules");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_over_its_memory_limit_is_oom_killed() {
    let Some(()) = require_containerd() else { return };
    let mut node = Node::start("oom").await;
    let config = pod_config("oom");
    let sandbox = node.run_sandbox(&config).await;
    // dd's one 64 MiB block does not fit under a 16 MiB limit; `false` fails on its own
    let cases = [
        ("hog", vec!["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"], "OOMKilled"),
        ("fails", vec!["false"], "Error"),
    ];
    for (name, argv, reason) in cases {
        let mut container = container_config(name, TEST_IMAGE, &argv);
        container.resources = Some(LinuxResources { memory_limit_bytes: 16 << 20, ..Default::default() });
        let id = node.start_container(&sandbox, &config, container).await;
        let status = eventually(&format!("container {name} exits"), || {
            let mut runtime = node.runtime.clone();
            let id = id.clone();
            async move {
                let status = runtime
                    .container_status(ContainerStatusRequest { container_id: id })
                    .await
                    .map_err(|e| e.to_string())?
                    .into_inner()
                    .status
                    .unwrap_or_default();
                if status.state == ContainerState::ContainerExited as i32 {
                    Ok(status)
                } else {
                    Err(format!("{status:?}"))
                }
            }
        })
        .await;
        assert_eq!(status.reason, reason, "{name}: {status:#?}");
        if reason == "OOMKilled" {
            assert_eq!(status.exit_code, 137, "killed by SIGKILL: {status:#?}");
        }
    }

    node.remove_sandbox(&sandbox).await;
    node.stop().await;
}
