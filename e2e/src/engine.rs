//! The Docker engine as the suite drives it, through bollard: one network per
//! cluster, containers labelled with the cluster's id and the test process's
//! pid, and the sweeps that leave nothing behind. Teardown runs in `Drop`,
//! where nothing can be awaited, so it uses the Docker CLI through
//! `capstan_test_support::remove_docker_containers`, as `DockerSweeper` does.

use std::collections::HashMap;

use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HostConfig, HostConfigCgroupnsModeEnum, Ipam,
    IpamConfig, NetworkCreateRequest, NetworkingConfig, PortBinding,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, InspectContainerOptions, KillContainerOptionsBuilder, ListNetworksOptionsBuilder,
    LogsOptionsBuilder, RemoveContainerOptionsBuilder, RestartContainerOptionsBuilder, StopContainerOptionsBuilder,
};
use bollard::Docker;
use capstan_test_support::{docker_containers, remove_docker_containers};
use futures::StreamExt;

/// Every container and network of a cluster carries `CLUSTER_LABEL=<id>`.
pub const CLUSTER_LABEL: &str = "io.capstan.e2e.cluster";
/// ... and `PID_LABEL=<pid of the test process>`, so a later run knows it is orphaned.
pub const PID_LABEL: &str = "io.capstan.e2e.pid";

/// A container of the cluster, as the suite starts it.
#[derive(Clone, Debug, Default)]
pub struct Spec {
    /// the role, e.g. `etcd-0`, `apiserver`: its host name and its alias on the network
    pub role: String,
    pub image: String,
    pub args: Vec<String>,
    /// `NAME=value` environment variables
    pub env: Vec<String>,
    pub binds: Vec<String>,
    /// a fixed address on the network (nodes: routes to their pod subnets point at them)
    pub ipv4: Option<String>,
    /// a container port published on 127.0.0.1 at a host port
    pub publish: Option<(u16, u16)>,
    pub cap_add: Vec<String>,
    pub security_opt: Vec<String>,
    pub tmpfs: Vec<String>,
    pub private_cgroupns: bool,
    /// `--security-opt systempaths=unconfined`: the API takes it as empty masked
    /// and read-only path lists (/proc/sys writable, for the pod bridge's sysctls)
    pub unmask_system_paths: bool,
}

/// The engine, the cluster's id and its network.
pub struct Engine {
    docker: Docker,
    pub cluster: String,
    pub network: String,
    /// the network's first three octets, e.g. `172.31.7`
    pub prefix: String,
}

fn labels(cluster: &str) -> HashMap<String, String> {
    HashMap::from([
        (CLUSTER_LABEL.to_string(), cluster.to_string()),
        (PID_LABEL.to_string(), std::process::id().to_string()),
    ])
}

/// What a failed engine call says.
pub type EngineResult<T> = Result<T, String>;

impl Engine {
    /// Connects, sweeps orphaned clusters, and creates the cluster's network on a
    /// free /24 of 172.31.0.0/16 (fixed addresses below .128, Docker's own above).
    pub async fn start(cluster: &str) -> EngineResult<Engine> {
        let docker = Docker::connect_with_local_defaults().map_err(|e| format!("connecting to Docker: {e}"))?;
        sweep_orphans(&docker).await;
        let network = format!("capstan-e2e-{cluster}");
        let mut last = String::new();
        for _ in 0..16 {
            let octet: u8 = rand::random();
            let prefix = format!("172.31.{octet}");
            let request = NetworkCreateRequest {
                name: network.clone(),
                driver: Some("bridge".into()),
                labels: Some(labels(cluster)),
                ipam: Some(Ipam {
                    config: Some(vec![IpamConfig {
                        subnet: Some(format!("{prefix}.0/24")),
                        ip_range: Some(format!("{prefix}.128/25")),
                        gateway: Some(format!("{prefix}.1")),
                        ..IpamConfig::default()
                    }]),
                    ..Ipam::default()
                }),
                ..NetworkCreateRequest::default()
            };
            match docker.create_network(request).await {
                Ok(_) => return Ok(Engine { docker, cluster: cluster.to_string(), network, prefix }),
                // another network holds that subnet: try another
                Err(error) => last = error.to_string(),
            }
        }
        Err(format!("creating network {network}: {last}"))
    }

    /// The container name of `role`.
    pub fn name(&self, role: &str) -> String {
        format!("capstan-e2e-{}-{role}", self.cluster)
    }

    /// Creates and starts a container.
    pub async fn run(&self, spec: &Spec) -> EngineResult<()> {
        let name = self.name(&spec.role);
        let endpoint = EndpointSettings {
            aliases: Some(vec![spec.role.clone()]),
            ipam_config: spec
                .ipv4
                .as_ref()
                .map(|ip| EndpointIpamConfig { ipv4_address: Some(ip.clone()), ..EndpointIpamConfig::default() }),
            ..EndpointSettings::default()
        };
        let port_bindings = spec.publish.map(|(port, host_port)| {
            HashMap::from([(
                format!("{port}/tcp"),
                Some(vec![PortBinding { host_ip: Some("127.0.0.1".into()), host_port: Some(host_port.to_string()) }]),
            )])
        });
        let host_config = HostConfig {
            binds: Some(spec.binds.clone()),
            network_mode: Some(self.network.clone()),
            port_bindings,
            cap_add: Some(spec.cap_add.clone()),
            security_opt: Some(spec.security_opt.clone()),
            tmpfs: Some(spec.tmpfs.iter().map(|path| (path.clone(), String::new())).collect()),
            cgroupns_mode: spec.private_cgroupns.then_some(HostConfigCgroupnsModeEnum::PRIVATE),
            masked_paths: spec.unmask_system_paths.then(Vec::new),
            readonly_paths: spec.unmask_system_paths.then(Vec::new),
            ..HostConfig::default()
        };
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            hostname: Some(spec.role.clone()),
            cmd: Some(spec.args.clone()),
            env: Some(spec.env.clone()),
            labels: Some(labels(&self.cluster)),
            exposed_ports: spec.publish.map(|(port, _)| vec![format!("{port}/tcp")]),
            host_config: Some(host_config),
            networking_config: Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(self.network.clone(), endpoint)])),
            }),
            ..ContainerCreateBody::default()
        };
        let options = CreateContainerOptionsBuilder::default().name(&name).build();
        self.docker.create_container(Some(options), body).await.map_err(|e| format!("creating {name}: {e}"))?;
        self.start_container(&spec.role).await
    }

    /// Runs `cmd` once in the engine's own network namespace (`--network host`,
    /// CAP_NET_ADMIN) from `image`, waits for it and removes it: how the suite
    /// changes the routes of the host whose bridges carry the cluster's network,
    /// with no privilege but the engine's socket, wherever the test process runs.
    pub async fn run_on_host(&self, role: &str, image: &str, cmd: &[&str]) -> EngineResult<()> {
        let name = self.name(role);
        let body = ContainerCreateBody {
            image: Some(image.into()),
            cmd: Some(cmd.iter().map(|c| c.to_string()).collect()),
            labels: Some(labels(&self.cluster)),
            host_config: Some(HostConfig {
                network_mode: Some("host".into()),
                cap_add: Some(vec!["NET_ADMIN".into()]),
                ..HostConfig::default()
            }),
            ..ContainerCreateBody::default()
        };
        let options = CreateContainerOptionsBuilder::default().name(&name).build();
        self.docker.create_container(Some(options), body).await.map_err(|e| format!("creating {name}: {e}"))?;
        let waited = match self.docker.start_container(&name, None).await {
            // a non-zero exit is the stream's error (bollard's DockerContainerWaitError)
            Ok(()) => self.docker.wait_container(&name, None).next().await.map(|r| r.map(|_| ())),
            Err(e) => Some(Err(e)),
        };
        let mut said = String::new();
        let mut logs = self.docker.logs(&name, Some(LogsOptionsBuilder::default().stdout(true).stderr(true).build()));
        while let Some(Ok(frame)) = logs.next().await {
            said.push_str(&String::from_utf8_lossy(&frame.into_bytes()));
        }
        let remove = RemoveContainerOptionsBuilder::default().force(true).build();
        let removed = self.docker.remove_container(&name, Some(remove)).await;
        match waited {
            Some(Ok(())) => removed.map_err(|e| format!("removing {name}: {e}")),
            Some(Err(e)) => Err(format!("{cmd:?} on the host ({name}): {e}: {said}")),
            None => Err(format!("{cmd:?} on the host ({name}): no exit status")),
        }
    }

    /// [`Engine::run_on_host`] with the Docker CLI, blocking: for `Drop`.
    pub fn run_on_host_blocking(&self, image: &str, cmd: &[&str]) -> EngineResult<()> {
        let out = std::process::Command::new("docker")
            .args(["run", "--rm", "--network", "host", "--cap-add", "NET_ADMIN", "--label"])
            .arg(format!("{CLUSTER_LABEL}={}", self.cluster))
            .arg("--label")
            .arg(format!("{PID_LABEL}={}", std::process::id()))
            .arg(image)
            .args(cmd)
            .output()
            .map_err(|e| format!("docker run {cmd:?}: {e}"))?;
        match out.status.success() {
            true => Ok(()),
            false => Err(format!("{cmd:?} on the host: {}", String::from_utf8_lossy(&out.stderr).trim())),
        }
    }

    pub async fn start_container(&self, role: &str) -> EngineResult<()> {
        let name = self.name(role);
        self.docker.start_container(&name, None).await.map_err(|e| format!("starting {name}: {e}"))
    }

    /// `docker stop` (the image's stop signal, then SIGKILL after `seconds`).
    pub async fn stop(&self, role: &str, seconds: i32) -> EngineResult<()> {
        let name = self.name(role);
        let options = StopContainerOptionsBuilder::default().t(seconds).build();
        self.docker.stop_container(&name, Some(options)).await.map_err(|e| format!("stopping {name}: {e}"))
    }

    /// `docker restart`.
    pub async fn restart(&self, role: &str, seconds: i32) -> EngineResult<()> {
        let name = self.name(role);
        let options = RestartContainerOptionsBuilder::default().t(seconds).build();
        self.docker.restart_container(&name, Some(options)).await.map_err(|e| format!("restarting {name}: {e}"))
    }

    /// `docker kill` (SIGKILL): a crash.
    pub async fn kill(&self, role: &str) -> EngineResult<()> {
        let name = self.name(role);
        let options = KillContainerOptionsBuilder::default().signal("KILL").build();
        self.docker.kill_container(&name, Some(options)).await.map_err(|e| format!("killing {name}: {e}"))
    }

    /// Runs `cmd` in `role`'s container (`docker exec`): its exit code and output.
    pub async fn exec(&self, role: &str, cmd: &[&str]) -> EngineResult<(i64, String)> {
        let name = self.name(role);
        let failed = |e: bollard::errors::Error| format!("exec {cmd:?} in {name}: {e}");
        let options = CreateExecOptions {
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            cmd: Some(cmd.iter().map(|c| c.to_string()).collect()),
            ..Default::default()
        };
        let exec = self.docker.create_exec(&name, options).await.map_err(failed)?;
        let start = StartExecOptions { detach: false, tty: false, output_capacity: None };
        let mut text = String::new();
        if let StartExecResults::Attached { mut output, .. } =
            self.docker.start_exec(&exec.id, Some(start)).await.map_err(failed)?
        {
            while let Some(frame) = output.next().await {
                match frame.map_err(failed)? {
                    LogOutput::StdOut { message } | LogOutput::StdErr { message } | LogOutput::Console { message } => {
                        text.push_str(&String::from_utf8_lossy(&message))
                    }
                    LogOutput::StdIn { .. } => {}
                }
            }
        }
        let inspected = self.docker.inspect_exec(&exec.id).await.map_err(failed)?;
        Ok((inspected.exit_code.unwrap_or(-1), text))
    }

    /// `role`'s container state, as Docker inspects it.
    async fn state(&self, role: &str) -> EngineResult<Option<bollard::models::ContainerState>> {
        let name = self.name(role);
        let inspected = self
            .docker
            .inspect_container(&name, None::<InspectContainerOptions>)
            .await
            .map_err(|e| format!("inspecting {name}: {e}"))?;
        Ok(inspected.state)
    }

    /// `role`'s health as Docker's HEALTHCHECK reports it (`healthy`, `starting`, …).
    pub async fn health(&self, role: &str) -> EngineResult<String> {
        let status = self.state(role).await?.and_then(|s| s.health).and_then(|h| h.status);
        Ok(status.map(|s| s.to_string()).unwrap_or_else(|| "no health check".into()))
    }

    /// Whether `role` is running.
    pub async fn running(&self, role: &str) -> EngineResult<bool> {
        Ok(self.state(role).await?.and_then(|s| s.running).unwrap_or(false))
    }

    /// `docker stats --no-stream` of the cluster's containers: name and memory, one a line.
    pub fn memory(&self) -> String {
        let names = docker_containers(&format!("label={CLUSTER_LABEL}={}", self.cluster));
        let out = std::process::Command::new("docker")
            .args(["stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}}"])
            .args(&names)
            .output();
        out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default()
    }

    /// Every container of the cluster, the pods the Docker shim started on its
    /// network included, then the network, with the Docker CLI (blocking: for `Drop`).
    pub fn teardown(&self, dump_logs: bool) {
        if dump_logs {
            dump_logs_of(&format!("label={CLUSTER_LABEL}={}", self.cluster));
        }
        remove_cluster(&self.cluster, &self.network);
    }
}

/// Removes the clusters whose test process is gone (a run killed before its drop).
async fn sweep_orphans(docker: &Docker) {
    let filters = HashMap::from([("label", vec![PID_LABEL])]);
    let options = ListNetworksOptionsBuilder::default().filters(&filters).build();
    let Ok(networks) = docker.list_networks(Some(options)).await else { return };
    for network in networks {
        let labels = network.labels.unwrap_or_default();
        let (Some(pid), Some(cluster), Some(name)) = (labels.get(PID_LABEL), labels.get(CLUSTER_LABEL), network.name)
        else {
            continue;
        };
        if std::path::Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        eprintln!("e2e: sweeping cluster {cluster} left by process {pid}");
        remove_cluster(cluster, &name);
    }
}

/// Removes a cluster's containers: its components, the Docker node's pods (their
/// sandboxes are on the network; app containers share a sandbox's network
/// namespace, so they are found by the sandbox label the shim gives them), and
/// then the network. A pod the Docker node started while it was being removed
/// can still hold the network, so pods and network are removed in a few rounds;
/// a network that stays is said, and swept by the next run.
fn remove_cluster(cluster: &str, network: &str) {
    remove_docker_containers(&format!("label={CLUSTER_LABEL}={cluster}"));
    let mut refusal = String::new();
    for _ in 0..5 {
        for sandbox in docker_containers(&format!("network={network}")) {
            remove_docker_containers(&format!("label={SANDBOX_LABEL}={sandbox}"));
        }
        remove_docker_containers(&format!("network={network}"));
        match std::process::Command::new("docker").args(["network", "rm", network]).output() {
            Ok(out) if out.status.success() => return,
            Ok(out) => refusal = String::from_utf8_lossy(&out.stderr).trim().to_string(),
            Err(error) => refusal = error.to_string(),
        }
        if refusal.contains("not found") {
            return;
        }
    }
    eprintln!("e2e: the network {network} stays (the next run sweeps it): {refusal}");
}

/// The Docker shim's label naming an app container's sandbox (its full ID).
const SANDBOX_LABEL: &str = "io.capstan.sandbox.id";

/// Prints `docker logs` of every container matching `filter` (a failed test's evidence).
fn dump_logs_of(filter: &str) {
    for id in docker_containers(filter) {
        let name = std::process::Command::new("docker")
            .args(["inspect", "--format", "{{.Name}}", &id])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default();
        eprintln!("===== docker logs {name} =====");
        if let Ok(out) = std::process::Command::new("docker").args(["logs", "--tail", "300", &id]).output() {
            eprintln!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        }
    }
}
