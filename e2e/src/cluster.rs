//! The cluster's topology and its start: the PKI from `capstan certs init`,
//! the images from `scripts/images.sh --components` (over the binaries this
//! test build made), then etcd, the control plane and the two nodes, each in
//! its own container with its own identity, on the cluster's network. Inside
//! the network components find each other by role (`https://apiserver:6443`);
//! the test reaches the API server through a port published on 127.0.0.1.
//!
//! Every component exports its spans over OTLP/gRPC to the cluster's trace
//! sink (`https://trace-sink:4317`), authenticating with its own client
//! certificate; the test reads the sink through a second published port.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use capstan_test_support::{free_ports, workspace_binary};
use capstan_testkit::kubectl::Kubectl;

use crate::engine::{Engine, Spec};

/// The nodes: (name, runtime).
pub const NODES: [(&str, &str); 2] = [("docker-1", "docker"), ("containerd-1", "containerd")];
const ETCD_MEMBERS: usize = 3;
const PKI: &str = "/etc/capstan/pki";
/// The second API server's role.
pub const APISERVER_2: &str = "apiserver-2";
/// The trace sink's role (its name on the network) and OTLP/gRPC port.
pub const TRACE_SINK: &str = "trace-sink";
const TRACE_SINK_PORT: u16 = 4317;
/// The containerd node's pod subnet; the Docker node's pods are on the cluster's network.
pub const CONTAINERD_POD_SUBNET: &str = "10.244.11.0/24";
/// The cluster's service range: its own, outside `capstan up`'s default
/// (10.96.0.0/12), so a local cluster's cluster IPs on the same host (local
/// addresses of its proxy's interface) never shadow this cluster's.
pub const SERVICE_CIDR: &str = "10.254.0.0/16";
/// `kube-system/kube-dns`'s fixed cluster IP in [`SERVICE_CIDR`]: the kubelets'
/// `--cluster-dns`.
pub const CLUSTER_DNS: &str = "10.254.0.10";
/// The DNS container's role, and the port it answers on (UDP and TCP).
pub const DNS: &str = "dns";
const DNS_PORT: u16 = 53;
/// What changes the host's routes: busybox's `ip`.
const ROUTE_IMAGE: &str = "capstan/test:1";
/// Generous bounds on a shared 2-core machine; they only catch a hang.
pub const WAIT: Duration = Duration::from_secs(180);

/// A running cluster of containers; torn down on drop.
pub struct Cluster {
    pub engine: Engine,
    /// the PKI (`certs init`) and scratch files
    dir: tempfile::TempDir,
    /// `https://127.0.0.1:<port>`: the API server as the test reaches it
    pub server: String,
    /// `https://127.0.0.1:<port>`: the second API server (`apiserver-2`, on the
    /// same etcd members, with a serving certificate of its own), which no
    /// component is pointed at
    pub server_2: String,
    /// `https://localhost:<port>`: the trace sink as the test reaches it (its
    /// certificate names `localhost`)
    pub sink: String,
    capstan: PathBuf,
    /// held while the cluster runs: one cluster per engine at a time
    _lock: std::fs::File,
}

fn lock() -> std::fs::File {
    let path = std::env::temp_dir().join("capstan-e2e.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("opening {}: {e}", path.display()));
    rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)
        .unwrap_or_else(|e| panic!("locking {}: {e}", path.display()));
    file
}

/// Builds the component images from the binaries next to this test (the test
/// build's, debug): the script is idempotent, so an unchanged build is a no-op.
async fn ensure_component_images() {
    capstan_test_support::ensure_images().await;
    let apiserver = workspace_binary("capstan-apiserver", "capstan-apiserver");
    let bin_dir = apiserver.parent().map(Path::to_path_buf).unwrap_or_default();
    let profile = if bin_dir.ends_with("release") { "release" } else { "debug" };
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/images.sh");
    let output = tokio::process::Command::new("bash")
        .arg(&script)
        .args(["--components", "--profile", profile, "--bin-dir"])
        .arg(&bin_dir)
        .output()
        .await
        .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
    assert!(
        output.status.success(),
        "scripts/images.sh --components failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

impl Cluster {
    /// Starts the whole topology and waits until both nodes are Ready.
    pub async fn start() -> Option<Cluster> {
        capstan_test_support::require_docker()?;
        let lock = tokio::task::spawn_blocking(lock).await.unwrap_or_else(|e| panic!("the lock task: {e}"));
        ensure_component_images().await;
        let id = format!("{:08x}", rand::random::<u32>());
        let engine = Engine::start(&id).await.unwrap_or_else(|e| panic!("{e}"));
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("a temp dir: {e}"));
        let ports = free_ports(3).unwrap_or_else(|e| panic!("free ports: {e}"));
        let (port, sink_port, port_2) = (ports[0], ports[1], ports[2]);
        let cluster = Cluster {
            engine,
            dir,
            server: format!("https://127.0.0.1:{port}"),
            server_2: format!("https://127.0.0.1:{port_2}"),
            sink: format!("https://localhost:{sink_port}"),
            capstan: workspace_binary("capstan", "capstan"),
            _lock: lock,
        };
        let cold = std::time::Instant::now();
        cluster.certs_init().await;
        cluster.route_service_range().await;
        cluster.start_trace_sink(sink_port).await;
        cluster.start_etcd().await;
        cluster.start_apiserver("apiserver", port).await;
        cluster.start_apiserver(APISERVER_2, port_2).await;
        for role in ["scheduler-1", "scheduler-2"] {
            cluster.start_control_loop(role, "capstan/scheduler:latest", "scheduler").await;
        }
        for role in ["controller-manager-1", "controller-manager-2"] {
            cluster.start_control_loop(role, "capstan/controller-manager:latest", "controller-manager").await;
        }
        cluster.start_dns().await;
        // containerd-1 first: docker-1 routes to its pod subnet through its address
        cluster.start_containerd_node().await;
        cluster.start_docker_node().await;
        for (node, _) in NODES {
            cluster.wait_node_ready(node).await;
        }
        eprintln!("e2e: cold start (certs init, 13 containers, both nodes Ready): {:?}", cold.elapsed());
        cluster.apply(&cluster.kube_dns_manifest()).await;
        Some(cluster)
    }

    fn pki(&self) -> PathBuf {
        self.dir.path().join("pki")
    }

    /// The PKI mounted into `role`: the cluster's, but for `apiserver-2`, whose
    /// directory holds its own serving certificate issued by the same CA.
    fn pki_of(&self, role: &str) -> PathBuf {
        match role {
            APISERVER_2 => self.dir.path().join("pki-apiserver-2"),
            _ => self.pki(),
        }
    }

    /// The admin's kubeconfig.
    pub fn admin_kubeconfig(&self) -> PathBuf {
        self.pki().join("kubeconfigs/admin.conf")
    }

    async fn certs_init(&self) {
        let mut args = vec!["--server", "https://apiserver:6443", "certs", "init", "--san", "apiserver"];
        // the service range's first address is a SAN, as kubeadm has it
        args.extend(["--service-cluster-ip-range", SERVICE_CIDR]);
        for (node, _) in NODES {
            args.extend(["--node", node]);
        }
        let pki = self.pki();
        let pki = pki.to_string_lossy().to_string();
        args.extend(["--dir", &pki]);
        let out = tokio::process::Command::new(&self.capstan)
            .args(&args)
            .output()
            .await
            .unwrap_or_else(|e| panic!("running capstan certs init: {e}"));
        assert!(out.status.success(), "capstan certs init failed: {}", String::from_utf8_lossy(&out.stderr));
        // apiserver-2's own serving certificate (SAN apiserver-2), from the same
        // CA: a directory of its own, as a second control-plane host has
        let (pki_2, ca) = (self.pki_of(APISERVER_2), self.pki());
        let out = tokio::process::Command::new(&self.capstan)
            .args(["--server", "https://apiserver-2:6443", "certs", "init", "--san", APISERVER_2])
            .args(["--service-cluster-ip-range", SERVICE_CIDR, "--dir"])
            .arg(&pki_2)
            .arg("--ca-dir")
            .arg(&ca)
            .output()
            .await
            .unwrap_or_else(|e| panic!("running capstan certs init --ca-dir: {e}"));
        assert!(out.status.success(), "capstan certs init --ca-dir failed: {}", String::from_utf8_lossy(&out.stderr));
        // the control plane runs as the non-root user 65532: let it read this throwaway PKI
        open_up(&self.pki());
        open_up(&pki_2);
    }

    /// Routes the service range, on the host that carries the cluster's network,
    /// via `docker-1`'s address. `docker-1`'s pods are sibling containers on that
    /// network, their default route the host's bridge; the cluster IPs are local
    /// addresses of the proxy inside `docker-1`, so without this route their
    /// packets to a cluster IP would leave by the host's default route. The
    /// teardown deletes it; a killed run's is replaced by the next run's
    /// (`replace`), and the kernel deletes it with its bridge when the sweep
    /// removes that run's network.
    async fn route_service_range(&self) {
        let via = self.node_address(0);
        let cmd = ["ip", "route", "replace", SERVICE_CIDR, "via", &via];
        self.engine.run_on_host("route", ROUTE_IMAGE, &cmd).await.unwrap_or_else(|e| panic!("{e}"));
    }

    /// The PKI directory on the host (the test's client certificates).
    pub fn pki_dir(&self) -> PathBuf {
        self.pki()
    }

    /// What points a component's exporter at the sink: the sink's address on
    /// the cluster's network, the CA that verifies it, and the client
    /// certificate `identity` (a file pair of `certs init`) it authenticates with.
    pub fn otel_env(identity: &str) -> Vec<String> {
        vec![
            format!("OTEL_EXPORTER_OTLP_ENDPOINT=https://{TRACE_SINK}:{TRACE_SINK_PORT}"),
            format!("OTEL_EXPORTER_OTLP_CERTIFICATE={PKI}/ca.crt"),
            format!("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE={PKI}/{identity}.crt"),
            format!("OTEL_EXPORTER_OTLP_CLIENT_KEY={PKI}/{identity}.key"),
        ]
    }

    /// The trace sink, on the network as `trace-sink`, published on 127.0.0.1.
    async fn start_trace_sink(&self, host_port: u16) {
        let spec = Spec {
            role: TRACE_SINK.into(),
            image: "capstan/trace-sink:latest".into(),
            args: vec![
                format!("--tls-cert-file={PKI}/trace-sink.crt"),
                format!("--tls-private-key-file={PKI}/trace-sink.key"),
                format!("--client-ca-file={PKI}/ca.crt"),
            ],
            binds: vec![self.pki_bind()],
            publish: Some((TRACE_SINK_PORT, host_port)),
            ..Spec::default()
        };
        self.engine.run(&spec).await.unwrap_or_else(|e| panic!("{e}"));
    }

    fn pki_bind(&self) -> String {
        format!("{}:{PKI}:ro", self.pki().display())
    }

    async fn start_etcd(&self) {
        let initial: Vec<String> = (0..ETCD_MEMBERS).map(|i| format!("etcd-{i}=http://etcd-{i}:2380")).collect();
        for i in 0..ETCD_MEMBERS {
            let role = format!("etcd-{i}");
            let args = vec![
                format!("--name={role}"),
                "--listen-client-urls=http://0.0.0.0:2379".into(),
                format!("--advertise-client-urls=http://{role}:2379"),
                "--listen-peer-urls=http://0.0.0.0:2380".into(),
                format!("--initial-advertise-peer-urls=http://{role}:2380"),
                format!("--initial-cluster={}", initial.join(",")),
                format!("--initial-cluster-token={}", self.engine.cluster),
                "--initial-cluster-state=new".into(),
            ];
            let spec = Spec { role, image: "capstan/etcd:latest".into(), args, ..Spec::default() };
            self.engine.run(&spec).await.unwrap_or_else(|e| panic!("{e}"));
        }
    }

    /// The API server's flags in the container (the image's entrypoint listens on :6443).
    pub fn apiserver_args() -> Vec<String> {
        let etcd: Vec<String> = (0..ETCD_MEMBERS).map(|i| format!("http://etcd-{i}:2379")).collect();
        vec![
            format!("--etcd-servers={}", etcd.join(",")),
            format!("--service-cluster-ip-range={SERVICE_CIDR}"),
            format!("--tls-cert-file={PKI}/apiserver.crt"),
            format!("--tls-private-key-file={PKI}/apiserver.key"),
            format!("--client-ca-file={PKI}/ca.crt"),
            format!("--kubelet-client-certificate={PKI}/apiserver-kubelet-client.crt"),
            format!("--kubelet-client-key={PKI}/apiserver-kubelet-client.key"),
            format!("--kubelet-certificate-authority={PKI}/ca.crt"),
            // a stopped node's pods move within the suite's time, not after 5 minutes
            "--default-not-ready-toleration-seconds=10".into(),
            "--default-unreachable-toleration-seconds=10".into(),
        ]
    }

    async fn start_apiserver(&self, role: &str, host_port: u16) {
        let spec = Spec {
            role: role.into(),
            image: "capstan/apiserver:latest".into(),
            args: Self::apiserver_args(),
            env: Self::otel_env("apiserver-kubelet-client"),
            binds: vec![format!("{}:{PKI}:ro", self.pki_of(role).display())],
            publish: Some((6443, host_port)),
            ..Spec::default()
        };
        self.engine.run(&spec).await.unwrap_or_else(|e| panic!("{e}"));
    }

    async fn start_control_loop(&self, role: &str, image: &str, identity: &str) {
        let mut args = vec![format!("--kubeconfig={PKI}/kubeconfigs/{identity}.conf"), "--leader-elect".into()];
        if identity == "controller-manager" {
            // a stopped node is NotReady after 20 s rather than 40 s
            args.push("--node-monitor-grace-period=20s".into());
        }
        let spec = Spec {
            role: role.into(),
            image: image.into(),
            args,
            env: Self::otel_env(identity),
            binds: vec![self.pki_bind()],
            ..Spec::default()
        };
        self.engine.run(&spec).await.unwrap_or_else(|e| panic!("{e}"));
    }

    /// The kubelet's and the proxy's processes of node `node` on the shim at `socket`.
    fn node_processes(node: &str, socket: &str) -> Vec<String> {
        let kubelet = [
            "kubelet=capstan-kubelet".to_string(),
            format!("--kubeconfig={PKI}/kubeconfigs/node-{node}.conf"),
            format!("--node-name={node}"),
            format!("--runtime-endpoint=unix://{socket}"),
            "--address=0.0.0.0".into(),
            format!("--tls-cert-file={PKI}/kubelet-{node}.crt"),
            format!("--tls-private-key-file={PKI}/kubelet-{node}.key"),
            format!("--client-ca-file={PKI}/ca.crt"),
            format!("--cluster-dns={CLUSTER_DNS}"),
            "--cluster-domain=cluster.local".into(),
        ];
        let proxy = [
            "proxy=capstan-proxy".to_string(),
            format!("--kubeconfig={PKI}/kubeconfigs/proxy.conf"),
            format!("--node-name={node}"),
            "--healthz-bind-address=0.0.0.0:10256".into(),
        ];
        vec!["--process".into(), kubelet.join(" "), "--process".into(), proxy.join(" ")]
    }

    /// The supervisor's flags of the Docker node.
    pub fn docker_node_args(node: &str, network: &str, route_via: &str) -> Vec<String> {
        let socket = "/run/capstan/docker-shim.sock";
        let mut args = vec![
            "--setup".into(),
            format!("busybox ip route add {CONTAINERD_POD_SUBNET} via {route_via}"),
            "--process".into(),
            format!("shim=capstan-docker-shim --node-name={node} --network={network} --listen=unix://{socket}"),
            "--ready".into(),
            format!("shim={socket}"),
        ];
        args.extend(Self::node_processes(node, socket));
        args
    }

    /// The supervisor's flags of the containerd node.
    pub fn containerd_node_args(node: &str) -> Vec<String> {
        let socket = "/run/capstan/containerd-shim.sock";
        let mut args = vec![
            "--setup".into(),
            "node-setup".into(),
            "--process".into(),
            "containerd=containerd --config=/etc/containerd/config.toml".into(),
            "--ready".into(),
            "containerd=/run/containerd/containerd.sock".into(),
            "--after-ready".into(),
            "containerd=import-images".into(),
            "--process".into(),
            format!(
                "shim=capstan-containerd-shim --node-name={node} --pod-subnet={CONTAINERD_POD_SUBNET} \
                 --listen=unix://{socket}"
            ),
            "--ready".into(),
            format!("shim={socket}"),
        ];
        args.extend(Self::node_processes(node, socket));
        args
    }

    /// The address of node `NODES[index]` on the cluster's network (fixed).
    pub fn node_address(&self, index: u8) -> String {
        format!("{}.{}", self.engine.prefix, 10 + index)
    }

    /// The DNS container's address on the cluster's network (fixed: kube-dns's
    /// Endpoints name it).
    pub fn dns_address(&self) -> String {
        format!("{}.20", self.engine.prefix)
    }

    /// `capstan-dns` as the cluster's DNS, with its own identity (`system:kube-dns`).
    async fn start_dns(&self) {
        let spec = Spec {
            role: DNS.into(),
            image: "capstan/dns:latest".into(),
            args: vec![format!("--kubeconfig={PKI}/kubeconfigs/dns.conf")],
            env: Self::otel_env("dns"),
            binds: vec![self.pki_bind()],
            ipv4: Some(self.dns_address()),
            ..Spec::default()
        };
        self.engine.run(&spec).await.unwrap_or_else(|e| panic!("{e}"));
    }

    /// `kube-system/kube-dns`: the fixed cluster IP the kubelets give pods as
    /// their nameserver, its Endpoints the DNS container (no selector: it is not
    /// a pod), both ports named as Kubernetes names them.
    pub fn kube_dns_manifest(&self) -> String {
        format!(
            r#"apiVersion: v1
kind: Service
metadata: {{name: kube-dns, namespace: kube-system, labels: {{k8s-app: kube-dns}}}}
spec:
  clusterIP: {CLUSTER_DNS}
  ports:
  - {{name: dns, port: 53, protocol: UDP, targetPort: {DNS_PORT}}}
  - {{name: dns-tcp, port: 53, protocol: TCP, targetPort: {DNS_PORT}}}
---
apiVersion: v1
kind: Endpoints
metadata: {{name: kube-dns, namespace: kube-system, labels: {{k8s-app: kube-dns}}}}
subsets:
- addresses: [{{ip: {address}}}]
  ports:
  - {{name: dns, port: {DNS_PORT}, protocol: UDP}}
  - {{name: dns-tcp, port: {DNS_PORT}, protocol: TCP}}
"#,
            address = self.dns_address()
        )
    }

    async fn start_docker_node(&self) {
        let spec = Spec {
            role: "docker-1".into(),
            image: "capstan/node-docker:latest".into(),
            args: Self::docker_node_args("docker-1", &self.engine.network, &self.node_address(1)),
            env: Self::otel_env("node-docker-1"),
            binds: vec![self.pki_bind(), "/var/run/docker.sock:/var/run/docker.sock".into()],
            ipv4: Some(self.node_address(0)),
            cap_add: vec!["NET_ADMIN".into()],
            ..Spec::default()
        };
        self.engine.run(&spec).await.unwrap_or_else(|e| panic!("{e}"));
    }

    async fn start_containerd_node(&self) {
        let spec = Spec {
            role: "containerd-1".into(),
            image: "capstan/node-containerd:latest".into(),
            args: Self::containerd_node_args("containerd-1"),
            env: Self::otel_env("node-containerd-1"),
            binds: vec![self.pki_bind()],
            ipv4: Some(self.node_address(1)),
            cap_add: NODE_CAPABILITIES.iter().map(|c| c.to_string()).collect(),
            security_opt: vec!["seccomp=unconfined".into(), "apparmor=unconfined".into()],
            unmask_system_paths: true,
            tmpfs: vec!["/run".into(), "/tmp".into()],
            private_cgroupns: true,
            ..Spec::default()
        };
        self.engine.run(&spec).await.unwrap_or_else(|e| panic!("{e}"));
    }

    /// `capstan` as the admin, pointed at the API server.
    pub async fn capstan(&self, args: &[&str]) -> Output {
        tokio::process::Command::new(&self.capstan)
            .arg(format!("--kubeconfig={}", self.admin_kubeconfig().display()))
            .arg(format!("--server={}", self.server))
            .args(args)
            .output()
            .await
            .unwrap_or_else(|e| panic!("running capstan: {e}"))
    }

    /// `capstan --trace ARGS` as the admin, exporting its spans to the sink
    /// with the admin's client certificate: the trace id it printed.
    pub async fn capstan_traced(&self, args: &[&str]) -> String {
        let pki = self.pki();
        let out = tokio::process::Command::new(&self.capstan)
            .arg(format!("--kubeconfig={}", self.admin_kubeconfig().display()))
            .arg(format!("--server={}", self.server))
            .arg("--trace")
            .args(args)
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", &self.sink)
            .env("OTEL_EXPORTER_OTLP_CERTIFICATE", pki.join("ca.crt"))
            .env("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", pki.join("admin.crt"))
            .env("OTEL_EXPORTER_OTLP_CLIENT_KEY", pki.join("admin.key"))
            .output()
            .await
            .unwrap_or_else(|e| panic!("running capstan: {e}"));
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "capstan --trace {args:?} failed: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
            .lines()
            .find_map(|l| l.strip_prefix("trace: "))
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("capstan --trace {args:?} printed no trace id: {stdout}"))
    }

    /// Applies `manifest` (YAML) with `capstan --trace apply -f`: its trace id.
    pub async fn apply_traced(&self, manifest: &str) -> String {
        let path = self.dir.path().join(format!("manifest-{:08x}.yaml", rand::random::<u32>()));
        std::fs::write(&path, manifest).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        self.capstan_traced(&["apply", "-f", &path.to_string_lossy()]).await
    }

    /// The sink's record of trace `id`: `capstan trace ID --sink https://… -o
    /// json` as the admin (the kubeconfig's CA verifies the sink, its client
    /// certificate authenticates the reader).
    pub async fn trace(&self, id: &str) -> Result<capstan_trace_sink::TraceRecord, String> {
        let out = self.capstan(&["trace", id, "--sink", &self.sink, "-o", "json"]).await;
        if !out.status.success() {
            return Err(format!("capstan trace {id}: {}", String::from_utf8_lossy(&out.stderr)));
        }
        serde_json::from_slice(&out.stdout).map_err(|e| format!("capstan trace {id} -o json: not a trace: {e}"))
    }

    /// stdout of a `capstan` run that must succeed.
    pub async fn capstan_ok(&self, args: &[&str]) -> String {
        let out = self.capstan(args).await;
        assert!(out.status.success(), "capstan {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Applies `manifest` (YAML) with `capstan apply -f`.
    pub async fn apply(&self, manifest: &str) {
        let path = self.dir.path().join(format!("manifest-{:08x}.yaml", rand::random::<u32>()));
        std::fs::write(&path, manifest).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        self.capstan_ok(&["apply", "-f", &path.to_string_lossy()]).await;
    }

    /// The real kubectl as the admin.
    pub fn kubectl(&self) -> Kubectl {
        Kubectl::new(self.server.clone(), self.admin_kubeconfig())
    }

    /// Waits until `capstan get node NODE` says Ready.
    pub async fn wait_node_ready(&self, node: &str) {
        capstan_test_support::eventually(&format!("node {node} Ready"), WAIT, || async {
            let out = self.capstan(&["get", "node", node]).await;
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            let ready = stdout.lines().skip(1).any(|l| l.split_whitespace().nth(1) == Some("Ready"));
            match ready {
                true => Ok(()),
                false => Err(format!("{stdout}{}", String::from_utf8_lossy(&out.stderr))),
            }
        })
        .await
    }
}

/// Every capability a containerd node adds, one by one: this engine refuses
/// `--privileged` and `--cap-add ALL`, and CAP_SYS_RESOURCE.
pub const NODE_CAPABILITIES: &[&str] = &[
    "AUDIT_CONTROL",
    "AUDIT_READ",
    "AUDIT_WRITE",
    "BLOCK_SUSPEND",
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "IPC_LOCK",
    "IPC_OWNER",
    "KILL",
    "LEASE",
    "LINUX_IMMUTABLE",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "MKNOD",
    "NET_ADMIN",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_RAW",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_CHROOT",
    "SYS_MODULE",
    "SYS_NICE",
    "SYS_PACCT",
    "SYS_PTRACE",
    "SYS_RAWIO",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "SYSLOG",
    "WAKE_ALARM",
];

/// Makes a throwaway PKI readable by any user (directories searchable).
fn open_up(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755));
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            open_up(&path);
        } else {
            let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let via = self.node_address(0);
        if let Err(error) =
            self.engine.run_on_host_blocking(ROUTE_IMAGE, &["ip", "route", "del", SERVICE_CIDR, "via", &via])
        {
            eprintln!("e2e: deleting the route for {SERVICE_CIDR}: {error}");
        }
        self.engine.teardown(std::thread::panicking());
    }
}
