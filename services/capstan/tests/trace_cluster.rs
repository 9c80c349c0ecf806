//! One `capstan apply` is one trace through every service: `capstan up
//! --trace-sink` (a real process, every component exporting over OTLP/gRPC
//! to its sink under its own service.name) with a Docker node and a
//! containerd node; a Deployment of 2 replicas and a Service applied with
//! `--trace` yield ONE trace holding the CLI, the API server, the
//! controller-manager, the scheduler, the kubelet, the shim with its engine
//! calls, and the proxy's reprogramming, each span's parent in the trace, from
//! the CLI's root down to each container's start. Then every control-plane
//! component's `/metrics` counts the same work under Kubernetes' names.
//!
//! Needs Docker and containerd (a skip without them, a failure with `CI=true`).

mod up_harness;

use std::path::{Path, PathBuf};
use std::time::Duration;

use capstan_test_support::{
    ensure_images, require_containerd, require_docker, test_image_archive, ContainerdSweeper, DockerSweeper,
};
use capstan_trace_sink::check::{complete, instances, text};
use capstan_trace_sink::{SpanRecord, TraceRecord};

const NODE_LABEL: &str = "io.capstan.node.name";
/// Bounds a hang only; nothing asserts on elapsed time.
const WAIT: Duration = Duration::from_secs(240);

/// A Deployment of 2 replicas pinned to `runtime`'s node, and a Service over it.
fn manifest(name: &str, runtime: &str) -> String {
    capstan_trace_sink::check::traced_web_manifest(name, "default", ("capstan.io/runtime", runtime))
}

/// `capstan up` as a user runs it, and the CLI pointed at it.
struct TracedUp {
    process: tokio::process::Child,
    said: Vec<String>,
    api: String,
    sink: String,
    kubeconfig: PathBuf,
    home: PathBuf,
}

impl TracedUp {
    async fn start(dir: &Path, docker_node: &str, containerd_node: &str) -> TracedUp {
        let data = dir.join("data");
        let containerd = format!("{containerd_node}=containerd");
        let data_arg = data.display().to_string();
        let (process, said) = up_harness::up_process(
            &["--runtime", "docker", "--listen", "127.0.0.1:0", "--kubelet-port", "0", "--node-name", docker_node]
                .into_iter()
                .chain(["--add-node", &containerd, "--trace-sink", "--data-dir", &data_arg])
                .collect::<Vec<_>>(),
            dir,
        )
        .await;
        let api = up_harness::url_after(&said, "API server listening on ");
        let sink = up_harness::url_after(&said, "Trace sink: ");
        let kubeconfig = capstan_pki::Layout::new(data.join("pki")).kubeconfig("admin");
        TracedUp { process, said, api, sink, kubeconfig, home: dir.to_path_buf() }
    }

    /// `capstan ARGS` against the cluster as its admin; its stdout.
    async fn capstan(&self, args: &[&str]) -> String {
        let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_capstan"))
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(["--server", self.api.as_str()])
            .args(args)
            .env("HOME", &self.home)
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", &self.sink)
            .output();
        let done = tokio::time::timeout(WAIT, run).await.expect("capstan hung").expect("capstan");
        let stdout = String::from_utf8_lossy(&done.stdout).into_owned();
        assert!(done.status.success(), "capstan {args:?}: {stdout}{}", String::from_utf8_lossy(&done.stderr));
        stdout
    }

    /// `capstan --trace apply -f` of `text`; the trace id it printed.
    async fn apply_traced(&self, name: &str, text: &str) -> String {
        let path = self.home.join(format!("{name}.yaml"));
        std::fs::write(&path, text).expect("write the manifest");
        let out = self.capstan(&["--trace", "apply", "-f", &path.display().to_string()]).await;
        out.lines().find_map(|l| l.strip_prefix("trace: ")).map(str::to_owned).unwrap_or_else(|| panic!("{out}"))
    }

    /// `kubectl get --raw PATH` as the admin.
    async fn kubectl_raw(&self, path: &str) -> String {
        let cache = self.home.join("kube-cache");
        let run = tokio::process::Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&cache)
            .args(["--server", self.api.as_str(), "get", "--raw", path])
            .output();
        let done = tokio::time::timeout(WAIT, run).await.expect("kubectl hung").expect("kubectl");
        assert!(done.status.success(), "kubectl get --raw {path}: {}", String::from_utf8_lossy(&done.stderr));
        String::from_utf8_lossy(&done.stdout).into_owned()
    }

    /// The address `up` printed after `prefix` (`Scheduler: health and metrics on `).
    fn address_after(&self, prefix: &str) -> String {
        self.said
            .iter()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|rest| rest.split_whitespace().next())
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no {prefix:?} line in {:#?}", self.said))
    }
}

/// Waits (bounded) until the sink holds the trace `id` whole.
async fn whole_trace(sink: &str, id: &str, shim: &str, services: &[&str]) -> TraceRecord {
    capstan_test_support::eventually(&format!("trace {id} whole in the sink"), WAIT, || async {
        let trace = capstan::trace::fetch(sink, id).await.map_err(|e| e.to_string())?;
        complete(&trace, shim, services)?;
        Ok::<_, String>(trace)
    })
    .await
}

/// The attributes OpenTelemetry's conventions name, on the spans that carry them.
fn check_attributes(trace: &TraceRecord, shim: &str, runtime: &str, node: &str) {
    let named = |service: &str, name: &str| -> Vec<&SpanRecord> {
        trace.spans.iter().filter(|s| s.service == service && s.name == name).collect()
    };
    let syncs = named("capstan-kubelet", "kubelet.sync_pod");
    assert!(syncs.len() >= 2, "two pods' syncs: {syncs:#?}");
    for sync in &syncs {
        for key in ["k8s.pod.name", "k8s.namespace.name", "k8s.pod.uid"] {
            assert!(text(sync, key).is_some_and(|v| !v.is_empty()), "{key} on {sync:#?}");
        }
        assert_eq!(text(sync, "k8s.node.name").as_deref(), Some(node), "{sync:#?}");
    }
    let placed = named("capstan-scheduler", "scheduler.schedule_one");
    assert!(placed.iter().all(|s| text(s, "k8s.node.name").as_deref() == Some(node)), "{placed:#?}");
    let reconciles = named("capstan-controller-manager", "reconcile");
    assert!(reconciles.iter().any(|s| text(s, "k8s.deployment.name").is_some()), "{reconciles:#?}");
    assert!(reconciles.iter().any(|s| text(s, "k8s.replicaset.name").is_some()), "{reconciles:#?}");
    let served = named("capstan-apiserver", "grpc.server");
    assert!(
        served.iter().any(|s| text(s, "rpc.system").as_deref() == Some("grpc")
            && text(s, "rpc.service").is_some()
            && text(s, "rpc.method").is_some()
            && s.attributes.contains_key("rpc.grpc.status_code")),
        "{served:#?}"
    );
    assert!(
        trace.spans.iter().any(|s| s.service == shim && text(s, "container.runtime").as_deref() == Some(runtime)),
        "{shim}'s engine calls carry container.runtime={runtime}"
    );
    // each component exports under its own instance
    let instances = instances(trace);
    assert!(instances.values().all(|ids| ids.len() == 1), "one service.instance.id per service: {instances:#?}");
}

/// A metric family's samples (`name{labels} value`) with a non-zero value.
fn counted(exposition: &str, name: &str) -> bool {
    exposition.lines().filter(|l| !l.starts_with('#')).any(|line| {
        let (series, value) = line.rsplit_once(' ').unwrap_or((line, "0"));
        let family = series.split('{').next().unwrap_or_default();
        (family == name || family == format!("{name}_count") || family == format!("{name}_total"))
            && value.parse::<f64>().is_ok_and(|v| v > 0.0)
    })
}

/// `GET /metrics` of a component serving plain HTTP on loopback at `address`.
async fn scrape(address: &str) -> String {
    let addr: std::net::SocketAddr = address.parse().unwrap_or_else(|_| panic!("an address: {address}"));
    let (ip, port) = (addr.ip().to_string(), addr.port());
    let answer = tokio::task::spawn_blocking(move || up_harness::http_get_path(&ip, port, "/metrics"))
        .await
        .expect("the scrape's task")
        .unwrap_or_else(|e| panic!("GET http://{address}/metrics: {e}"));
    assert!(answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200"), "{answer}");
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_apply_is_one_trace_through_every_service_on_both_runtimes() {
    let (Some(()), Some(())) = (require_docker(), require_containerd()) else { return };
    ensure_images().await;
    let archive = test_image_archive().await;
    let id = std::process::id();
    let (docker_node, containerd_node) = (format!("traced-docker-{id}"), format!("traced-containerd-{id}"));
    let _sweepers =
        (DockerSweeper::new(NODE_LABEL, &docker_node), ContainerdSweeper::new(NODE_LABEL, &containerd_node));
    let dir = tempfile::tempdir().expect("tempdir");
    let up = TracedUp::start(dir.path(), &docker_node, &containerd_node).await;
    let loaded = up.capstan(&["image", "load", &archive.display().to_string(), "--node", &containerd_node]).await;
    assert!(loaded.contains("Loaded image capstan/test:1"), "{loaded}");

    let services = [
        "capstan",
        "capstan-apiserver",
        "capstan-controller-manager",
        "capstan-scheduler",
        "capstan-kubelet",
        "capstan-docker-shim",
        "capstan-proxy",
    ];
    let on_docker = up.apply_traced("on-docker", &manifest("on-docker", "docker")).await;
    let trace = whole_trace(&up.sink, &on_docker, "capstan-docker-shim", &services).await;
    check_attributes(&trace, "capstan-docker-shim", "docker", &docker_node);
    // the proxy's reprogramming for the Service's endpoints is part of it
    assert!(trace.spans.iter().any(|s| s.service == "capstan-proxy" && s.name == "proxy.sync_proxy_rules"));

    let mut on_containerd = services.to_vec();
    on_containerd.retain(|s| *s != "capstan-docker-shim");
    on_containerd.push("capstan-containerd-shim");
    let id = up.apply_traced("on-containerd", &manifest("on-containerd", "containerd")).await;
    let trace = whole_trace(&up.sink, &id, "capstan-containerd-shim", &on_containerd).await;
    check_attributes(&trace, "capstan-containerd-shim", "containerd", &containerd_node);

    // `capstan trace ID` prints the same tree, one service per line's start
    let tree = up.capstan(&["trace", &on_docker, "--sink", &up.sink]).await;
    for service in services {
        assert!(tree.contains(service), "{service} in\n{tree}");
    }

    // the same work, counted under Kubernetes' names
    let apiserver = up.kubectl_raw("/metrics").await;
    for name in ["apiserver_request_total", "apiserver_request_duration_seconds", "etcd_request_duration_seconds"] {
        assert!(counted(&apiserver, name), "{name} in the API server's /metrics");
    }
    let scheduler = scrape(&up.address_after("Scheduler: health and metrics on ")).await;
    for name in ["scheduler_schedule_attempts_total", "scheduler_scheduling_algorithm_duration_seconds"] {
        assert!(counted(&scheduler, name), "{name} in the scheduler's /metrics");
    }
    let controllers = scrape(&up.address_after("Controller-manager: health and metrics on ")).await;
    assert!(counted(&controllers, "capstan_controller_reconcile_total"), "the controller-manager's /metrics");

    up.capstan(&["delete", "deployment", "on-docker"]).await;
    up.capstan(&["delete", "deployment", "on-containerd"]).await;
    let mut process = up.process;
    let _ = process.kill().await;
}
